//! One run: inventory → licenses → vulnerabilities and registry facts (cache first, then the
//! network or the offline database) → policy evaluation → report, with events and a metrics
//! snapshot published along the way.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::future::join_all;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::cache_writer::CacheWriter;
use super::evaluate::{self, Facts};
use super::events::{EngineEvent, EventSink, MetricsSnapshot, Stage};
use super::index_license;
use super::indexes::{self, Index};
use super::revalidate;
use super::snapshot;
use crate::cache::{CacheKey, TieredCache};
use crate::error::{Error, Result};
use crate::fingerprint::Fingerprinter;
use crate::inventory::{self, InventorySource};
use crate::model::{
    Check, DatabaseInfo, Distribution, PackageKey, RegistryInfo, Report, Summary, Unknown,
};
use crate::perf::{HistoryOptions, RunMetrics};
use crate::settings::{Settings, Target};
use crate::sources::osv::{AdvisoryRef, OsvRecord};
use crate::sources::revalidate::Revalidated;
use crate::sources::{HttpClient, HttpConfig, OsvClient, OsvDatabase, ProjectFacts, Validators};
use crate::telemetry::tracker::Tracker;

/// What we know (or why we don't) about one package's vulnerabilities.
pub(super) type VulnAnswer = std::result::Result<Vec<crate::model::Vulnerability>, String>;
/// What we know (or why we don't) about one package's registry facts.
pub(super) type RegistryAnswer = std::result::Result<RegistryInfo, String>;

/// The cached answer of OSV's querybatch for one package version.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct CachedAdvisories {
    advisories: Vec<AdvisoryRef>,
}

/// Tasks alive at once while fetching advisories or registry facts. The HTTP client's
/// semaphore is the real bound on requests in flight; this only caps futures in memory.
const FETCH_TASKS: usize = 256;

/// Metrics snapshots during a run are published at most this often (the dashboard's frame rate).
const PUBLISH_EVERY_MS: u64 = 50;

/// Everything a run needs, built once per run.
struct RunContext<'a> {
    settings: &'a Settings,
    events: &'a EventSink,
    metrics: &'a watch::Sender<MetricsSnapshot>,
    tracker: Arc<Tracker>,
    cache: Option<TieredCache>,
    /// Where answers go to be cached, off the async workers (see `cache_writer`).
    writer: Option<CacheWriter>,
    http: Option<HttpClient>,
    started: Instant,
    run: u64,
    total: usize,
    packages_done: AtomicUsize,
    /// When the last snapshot was published, in ms since the run started.
    last_publish_ms: std::sync::atomic::AtomicU64,
    /// Per package, the sources whose answer came from an expired cache entry.
    stale: std::sync::Mutex<HashMap<String, Vec<&'static str>>>,
}

impl RunContext<'_> {
    /// Publish the latest metrics (the faces read it at their own frame rate).
    fn publish(&self, finished: bool) {
        let measured = self.measure();
        self.metrics.send_replace(MetricsSnapshot {
            run: self.run,
            packages_total: self.total,
            packages_done: self.packages_done.load(Ordering::Relaxed),
            elapsed: self.started.elapsed(),
            operations: measured.operations,
            cache: measured.cache,
            network: measured.network,
            breakers: self
                .http
                .as_ref()
                .map(HttpClient::breaker_states)
                .unwrap_or_default(),
            finished,
        });
    }

    fn measure(&self) -> RunMetrics {
        RunMetrics {
            operations: self.tracker.snapshot(),
            cache: self
                .cache
                .as_ref()
                .map(TieredCache::counters)
                .unwrap_or_default(),
            network: self
                .http
                .as_ref()
                .map(HttpClient::network_counters)
                .unwrap_or_default(),
            cache_enabled: self.cache.is_some(),
            total: self.started.elapsed(),
        }
    }

    fn package_done(&self) {
        self.packages_done.fetch_add(1, Ordering::Relaxed);
        // A snapshot reads every histogram (~10 µs each): publish at the faces' frame rate,
        // not per package.
        let now_ms = self.started.elapsed().as_millis() as u64;
        let last = self.last_publish_ms.load(Ordering::Relaxed);
        if now_ms >= last + PUBLISH_EVERY_MS
            && self
                .last_publish_ms
                .compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.publish(false);
        }
    }

    /// A cached answer about `package` from `source`; an expired entry served offline is
    /// remembered so the report can say the answer is stale.
    async fn cached_for<T: serde::de::DeserializeOwned>(
        &self,
        key: &CacheKey,
        package: &str,
        source: &'static str,
    ) -> Option<T> {
        let cache = self.cache.as_ref()?;
        let (value, stale) = cache.get_json::<T>(key).await?;
        if stale {
            self.note_stale(package, source);
        }
        Some(value)
    }

    /// [`revalidate::cached_or_fetch`] with the metadata TTL; an expired answer served offline
    /// is remembered so the report can say it is stale.
    async fn fetch_cached<T, F, Fut>(
        &self,
        key: &CacheKey,
        package: &str,
        source: &'static str,
        fetch: F,
    ) -> std::result::Result<T, String>
    where
        T: Serialize + serde::de::DeserializeOwned,
        F: FnOnce(Option<Validators>) -> Fut,
        Fut: std::future::Future<Output = std::result::Result<Revalidated<T>, String>>,
    {
        let ttl = self.settings.run.cache.metadata_ttl;
        let online = self.http.is_some();
        let (value, origin) = revalidate::cached_or_fetch(
            self.cache.as_ref(),
            self.writer.as_ref(),
            key,
            ttl,
            online,
            fetch,
        )
        .await?;
        if origin == revalidate::Origin::Stale {
            self.note_stale(package, source);
        }
        Ok(value)
    }

    fn note_stale(&self, package: &str, source: &'static str) {
        self.stale
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(package.to_string())
            .or_default()
            .push(source);
    }

    async fn store<T: Serialize>(&self, key: &CacheKey, value: &T, ttl: Duration) {
        if let Some(writer) = &self.writer {
            writer.put_json(key, value, ttl);
        }
    }
}

fn inventory_source(target: &Target) -> InventorySource {
    match target {
        Target::Path(p) => InventorySource::Path(p.clone()),
        Target::Python(p) => InventorySource::Python(p.clone()),
        Target::Requirements(files) => InventorySource::Requirements(files.clone()),
        Target::Lockfiles(files, groups) => {
            InventorySource::Lockfiles(files.clone(), groups.clone())
        }
        Target::Default => inventory::default_source(),
    }
}

/// Fingerprint of what makes a run's answers what they are: inventory, policy, sources.
fn run_fingerprint(settings: &Settings, dists: &[Distribution]) -> String {
    let mut f = Fingerprinter::new();
    for d in dists {
        f.part(&d.normalized).part(&d.version);
    }
    let n = &settings.network;
    let shown = |url: &str| crate::sources::credentials::without_credentials(url);
    f.part(&settings.policy.fingerprint)
        .part(shown(n.pypi_url.as_deref().unwrap_or("-")))
        .part(
            n.extra_index_urls
                .iter()
                .map(|u| shown(u))
                .collect::<Vec<_>>()
                .join(" "),
        )
        .part(&n.osv_url)
        .part(
            n.osv_db
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        )
        .part([
            u8::from(n.offline),
            u8::from(settings.check_vulnerabilities),
            u8::from(settings.check_registry),
            u8::from(settings.project_facts),
        ]);
    f.finish()
}

/// Run the checks once and build the report.
pub async fn run_once(
    settings: &Settings,
    events: &EventSink,
    metrics: &watch::Sender<MetricsSnapshot>,
    run: u64,
    refresh: bool,
) -> Result<Report> {
    // The first run's clock starts with the process (start-up and argument parsing are part of
    // what a user waits for); a re-run from the dashboard starts its own.
    let started = match crate::perf::process_start() {
        Some(process) if run <= 1 => process,
        _ => Instant::now(),
    };
    let tracker = Arc::new(Tracker::new());
    events
        .emit(EngineEvent::RunStarted {
            run,
            target: settings.target_label(),
        })
        .await;

    // Inventory and license resolution are file-system work: keep them off the async threads.
    // Licenses are reused from the run snapshot where their inputs are unchanged.
    let cache = super::cache_writer::open(settings, events, &tracker, refresh).await;
    let source = inventory_source(&settings.target);
    let blocking_tracker = tracker.clone();
    let snapshot_cache = cache.clone();
    let (inventory, rejected, previous) = tokio::task::spawn_blocking(move || {
        let inventory = inventory::load(&source, &blocking_tracker)?;
        let loaded = snapshot::load(
            snapshot_cache.as_ref(),
            &inventory.target,
            &blocking_tracker,
        );
        Ok::<_, Error>((Arc::new(inventory), loaded.rejected, loaded.previous))
    })
    .await
    .map_err(|e| Error::Engine(format!("inventory task failed: {e}")))??;
    for warning in rejected {
        events.emit(EngineEvent::Warning(warning)).await;
    }
    let bundle_opened =
        (cache.as_ref()).map(|c| snapshot::open_bundle(c, &inventory.target, &tracker));
    // On a first run licenses are resolved beside the fetches (≈50 ms for 180 packages, once
    // the whole wait before the first request): the fetches read a package's resolved license
    // only to decide on its core metadata file, after its release document has come.
    let (needs, resolving) = index_license::Needs::resolve(&inventory, previous, &tracker)
        .await
        .map_err(|e| Error::Engine(format!("license resolution failed: {e}")))?;
    if let Some(opened) = bundle_opened
        && let Some(warning) = opened
            .await
            .map_err(|e| Error::Engine(format!("cache: {e}")))?
    {
        events.emit(EngineEvent::Warning(warning)).await;
    }
    let total = inventory.distributions.len();
    events
        .emit(EngineEvent::InventoryDone {
            packages: total,
            issues: inventory.issues.len(),
            elapsed: started.elapsed(),
        })
        .await;

    let index_urls = settings.network.index_urls(&inventory.indexes);
    let warnings = index_urls
        .ignored
        .iter()
        .chain(&settings.network.index_warnings);
    for warning in warnings.filter(|_| settings.check_registry) {
        events.emit(EngineEvent::Warning(warning.clone())).await;
    }
    let wants_registry = settings.check_registry && !index_urls.urls.is_empty();
    let wants_osv = settings.check_vulnerabilities && settings.network.osv_db.is_none();
    let needs_network = !settings.network.offline && (wants_registry || wants_osv) && total > 0;
    let http = if needs_network {
        let mut config = HttpConfig {
            ca_bundle: settings.network.ca_bundle.as_ref().map(|b| b.pem.clone()),
            ..HttpConfig::default()
        };
        if let Some(n) = settings.network.concurrency {
            (config.concurrency, config.concurrency_http2) = (n, n);
        }
        if let Some(t) = settings.network.timeout {
            config.request_timeout = t;
        }
        if let Some(r) = settings.network.retries {
            config.retries = r;
        }
        if let Some(t) = settings.network.stall_timeout {
            config.stall_timeout = t;
        }
        if let Some(t) = settings.network.connect_timeout {
            config.connect_timeout = t;
        }
        if let Some(t) = settings.network.fetch_deadline {
            config.fetch_deadline = t;
        }
        Some(
            HttpClient::new(config, events.clone(), tracker.clone())
                .map_err(|e| Error::Engine(format!("HTTP client: {e}")))?,
        )
    } else {
        None
    };
    let mut ctx = RunContext {
        settings,
        events,
        metrics,
        tracker: tracker.clone(),
        writer: cache.clone().map(CacheWriter::start),
        cache,
        http,
        started,
        run,
        total,
        packages_done: AtomicUsize::new(0),
        last_publish_ms: Default::default(),
        stale: Default::default(),
    };
    ctx.publish(false);
    let indexes: Vec<Index> = (index_urls.urls.iter())
        .map(|url| Index::new(url, ctx.http.as_ref()))
        .collect();

    // Vulnerabilities and registry facts side by side, one pipeline under the one in-flight
    // bound: a package's fix candidates (its Simple page) are fetched as soon as OSV has named it
    // and its release document has come, not in a round after both stages.
    let (vulnerable, vulnerable_known) = watch::channel(None);
    let (vulns, registry) = tokio::join!(
        vulnerabilities(&ctx, &inventory.distributions, vulnerable),
        registry(
            &ctx,
            &inventory.distributions,
            &needs,
            &indexes,
            &vulnerable_known
        ),
    );
    let snapshot::Resolved {
        licenses,
        changed: snapshot,
    } = resolving
        .finish()
        .await
        .map_err(|e| Error::Engine(format!("license resolution failed: {e}")))?;
    let VulnStage {
        answers: vulns,
        run_unknowns,
        database,
    } = vulns?;
    // Every answer is in and, once the queued writes are (they note what the bundle lacked),
    // the bundle is let go of and written (if it changed) while the run evaluates.
    if let Some(writer) = ctx.writer.take() {
        writer.finish(&tracker).await;
    }
    let bundle_stored =
        (ctx.cache.as_ref()).and_then(|c| snapshot::store_bundle(c, &inventory.target));

    events
        .emit(EngineEvent::StageStarted {
            stage: Stage::Evaluate,
            total,
        })
        .await;
    let facts = Facts {
        licenses,
        vulnerabilities: vulns,
        registry,
        run_unknowns,
        stale: std::mem::take(&mut *ctx.stale.lock().unwrap_or_else(|p| p.into_inner())),
    };
    let mut report = tracker.time("policy.evaluate", || {
        evaluate::build_report(settings, &inventory, facts)
    });
    report.vulnerability_database = database;

    tracker.record("run.total", started.elapsed());
    let history = HistoryOptions {
        file: settings.history_file.as_deref(),
        policy: &settings.run.performance,
        fail_on_regression: settings.fail_on_regression,
    };
    let fingerprint = run_fingerprint(settings, &inventory.distributions);
    crate::perf::finish_report(&mut report, &ctx.measure(), &fingerprint, &history);
    report.summary = Summary::compute(&report.packages, &report.findings, &report.unknowns);
    if let Some(cache) = &ctx.cache {
        snapshot::store(cache, &inventory.target, snapshot.as_ref()).await;
    }
    if let Some(stored) = bundle_stored {
        let _ = stored.await;
    }
    ctx.packages_done.store(total, Ordering::Relaxed);
    ctx.publish(true);
    Ok(report)
}

/// What the vulnerability stage found: answers per package and version, run-level unknowns (e.g. a
/// stale database), and the offline database used, if any.
#[derive(Default)]
struct VulnStage {
    answers: HashMap<PackageKey, VulnAnswer>,
    run_unknowns: Vec<Unknown>,
    database: Option<DatabaseInfo>,
}

/// The packages OSV names (by advisory id, before the records are read), published once so
/// the registry stage can fetch their fix candidates without waiting for the whole stage. A
/// sender dropped unpublished (the stage failed or was off) reads as "none".
type Vulnerable = watch::Sender<Option<Arc<HashSet<PackageKey>>>>;

async fn vulnerabilities(
    ctx: &RunContext<'_>,
    dists: &[Distribution],
    vulnerable: Vulnerable,
) -> Result<VulnStage> {
    if !ctx.settings.check_vulnerabilities || dists.is_empty() {
        return Ok(VulnStage::default());
    }
    ctx.events
        .emit(EngineEvent::StageStarted {
            stage: Stage::Vulnerabilities,
            total: dists.len(),
        })
        .await;
    match &ctx.settings.network.osv_db {
        Some(path) => {
            let stage = offline_vulnerabilities(ctx, dists, path).await?;
            let named = (stage.answers.iter()).filter(|(_, a)| matches!(a, Ok(v) if !v.is_empty()));
            vulnerable.send_replace(Some(Arc::new(named.map(|(k, _)| k.clone()).collect())));
            Ok(stage)
        }
        None => Ok(VulnStage {
            answers: online_vulnerabilities(ctx, dists, &vulnerable).await,
            ..VulnStage::default()
        }),
    }
}

/// Match against an offline OSV database: no network at all.
async fn offline_vulnerabilities(
    ctx: &RunContext<'_>,
    dists: &[Distribution],
    path: &std::path::Path,
) -> Result<VulnStage> {
    let owned_path = path.to_path_buf();
    let tracker = ctx.tracker.clone();
    let db = tokio::task::spawn_blocking(move || {
        tracker.time("osv.db.open", || OsvDatabase::open(&owned_path))
    })
    .await
    .map_err(|e| Error::Engine(format!("OSV database task failed: {e}")))?
    .map_err(|e| Error::Input {
        path: path.to_path_buf(),
        line: None,
        message: format!("offline OSV database: {e}"),
    })?;
    let mut run_unknowns = Vec::new();
    if let Some(max_age) = ctx.settings.policy.vulnerabilities.max_db_age {
        let reason = match db.age() {
            Some(age) if age > max_age => Some(format!(
                "offline OSV database {} is {} old, older than vulnerabilities.max_db_age ({})",
                path.display(),
                crate::units::approx_duration(age),
                crate::units::approx_duration(max_age)
            )),
            Some(_) => None,
            None => Some(format!(
                "offline OSV database {} has no dated records: its age cannot be checked against vulnerabilities.max_db_age",
                path.display()
            )),
        };
        if let Some(reason) = reason {
            run_unknowns.push(Unknown {
                package: None,
                version: None,
                check: Check::Vulnerabilities,
                reason,
                fails_run: true,
            });
        }
    }
    let mut answers = HashMap::with_capacity(dists.len());
    for d in dists {
        let answer = pep440_version(d).map(|version| {
            ctx.tracker.time("osv.db.query", || {
                db.query(&d.normalized, &version)
                    .into_iter()
                    .filter_map(|r| crate::sources::to_vulnerability(r, &d.normalized))
                    .collect()
            })
        });
        answers.insert(d.key(), answer);
    }
    let database = DatabaseInfo {
        source: path.display().to_string(),
        records: db.len(),
        pypi_records: db.pypi_records(),
        newest_modified: db.newest_modified().and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        }),
        age_seconds: db.age().map(|a| a.as_secs()),
        downloaded: crate::sources::osv_download::read_info(path).map(|info| {
            crate::model::Downloaded {
                url: info.url,
                at: info.downloaded_at,
            }
        }),
    };
    Ok(VulnStage {
        answers,
        run_unknowns,
        database: Some(database),
    })
}

/// The installed version as PEP 440, or why OSV ranges cannot be matched against it. Online and
/// offline give the same answer: OSV's own matching of a non-PEP 440 version is not ours to
/// trust as "no advisories".
fn pep440_version(d: &Distribution) -> std::result::Result<pep440_rs::Version, String> {
    d.version.parse::<pep440_rs::Version>().map_err(|e| {
        format!(
            "version `{}` is not PEP 440 ({e}): cannot match OSV ranges",
            d.version
        )
    })
}

/// An advisory OSV named for a package but whose record could not be read: still a violation
/// (unscored, so at or above any severity threshold), never an unknown that policy may wave
/// through, since the advisory's existence is already known.
fn details_unavailable(advisory: &AdvisoryRef, reason: &str) -> crate::model::Vulnerability {
    crate::model::Vulnerability {
        id: advisory.id.clone(),
        aliases: Vec::new(),
        summary: format!("details unavailable ({reason})"),
        fixed_in: Vec::new(),
        severity: Vec::new(),
        modified: Some(advisory.modified.clone()).filter(|m| !m.is_empty()),
    }
}

/// Cached querybatch answers first, one querybatch for the misses, then each unique advisory
/// once (cached by id + modified).
async fn online_vulnerabilities(
    ctx: &RunContext<'_>,
    dists: &[Distribution],
    vulnerable: &Vulnerable,
) -> HashMap<PackageKey, VulnAnswer> {
    let osv_url = ctx.settings.network.osv_url.as_str();
    let mut answers = HashMap::with_capacity(dists.len());
    let mut refs_by_package: HashMap<PackageKey, Vec<AdvisoryRef>> = HashMap::new();
    let mut misses: Vec<&Distribution> = Vec::new();
    for d in dists {
        if let Err(reason) = pep440_version(d) {
            answers.insert(d.key(), Err(reason));
            continue;
        }
        let key = CacheKey::osv(osv_url, &d.normalized, &d.version);
        match ctx
            .cached_for::<CachedAdvisories>(&key, &d.normalized, "osv")
            .await
        {
            Some(cached) => {
                refs_by_package.insert(d.key(), cached.advisories);
            }
            None => misses.push(d),
        }
    }
    if !misses.is_empty() {
        match &ctx.http {
            None => {
                for d in &misses {
                    answers.insert(d.key(), Err(offline_reason("OSV answer")));
                }
            }
            Some(http) => {
                let client = OsvClient::new(http.clone(), osv_url);
                let queries: Vec<(String, String)> = misses
                    .iter()
                    .map(|d| (d.normalized.clone(), d.version.clone()))
                    .collect();
                let results = ctx
                    .tracker
                    .time_async("osv.querybatch", client.query_batch(&queries))
                    .await;
                for (d, result) in misses.iter().zip(results) {
                    match result {
                        Ok(advisories) => {
                            let key = CacheKey::osv(osv_url, &d.normalized, &d.version);
                            let value = CachedAdvisories {
                                advisories: advisories.clone(),
                            };
                            ctx.store(&key, &value, ctx.settings.run.cache.vulnerability_ttl)
                                .await;
                            refs_by_package.insert(d.key(), advisories);
                        }
                        Err(e) => {
                            answers.insert(d.key(), Err(format!("OSV: {e}")));
                        }
                    }
                }
            }
        }
    }

    let named = refs_by_package.iter().filter(|(_, refs)| !refs.is_empty());
    vulnerable.send_replace(Some(Arc::new(named.map(|(k, _)| k.clone()).collect())));

    let mut unique: Vec<&AdvisoryRef> = refs_by_package.values().flatten().collect();
    unique.sort();
    unique.dedup();
    let fetches: Vec<_> = unique
        .into_iter()
        .map(|advisory| fetch_advisory(ctx, advisory))
        .collect();
    let records: HashMap<String, std::result::Result<OsvRecord, String>> =
        futures_util::stream::iter(fetches)
            .buffer_unordered(FETCH_TASKS)
            .collect()
            .await;

    for (key, refs) in refs_by_package {
        let mut vulns = Vec::with_capacity(refs.len());
        for advisory in &refs {
            match records.get(&advisory.id) {
                Some(Ok(record)) => {
                    if let Some(v) = crate::sources::to_vulnerability(record, &key.0) {
                        vulns.push(v);
                    }
                }
                Some(Err(e)) => vulns.push(details_unavailable(advisory, e)),
                None => vulns.push(details_unavailable(advisory, "not fetched")),
            }
        }
        answers.insert(key, Ok(vulns));
    }
    answers
}

async fn fetch_advisory(
    ctx: &RunContext<'_>,
    advisory: &AdvisoryRef,
) -> (String, std::result::Result<OsvRecord, String>) {
    let osv_url = ctx.settings.network.osv_url.as_str();
    let key = CacheKey::advisory(osv_url, &advisory.id, &advisory.modified);
    let id = advisory.id.as_str();
    let fetch = |prior: Option<Validators>| async move {
        let Some(http) = &ctx.http else {
            return Err(offline_reason(&format!("advisory {id}")));
        };
        let client = OsvClient::new(http.clone(), osv_url);
        let answer = client.vuln_if(id, prior.as_ref());
        (ctx.tracker.time_async("osv.advisory", answer).await)
            .map_err(|e| format!("OSV advisory {id}: {e}"))
    };
    let ttl = ctx.settings.run.cache.metadata_ttl;
    let online = ctx.http.is_some();
    let (cache, writer) = (ctx.cache.as_ref(), ctx.writer.as_ref());
    let answer = revalidate::cached_or_fetch(cache, writer, &key, ttl, online, fetch).await;
    (advisory.id.clone(), answer.map(|(record, _)| record))
}

/// Registry facts per normalised name.
async fn registry(
    ctx: &RunContext<'_>,
    dists: &[Distribution],
    needs: &index_license::Needs,
    indexes: &[Index],
    vulnerable: &watch::Receiver<Option<Arc<HashSet<PackageKey>>>>,
) -> HashMap<PackageKey, RegistryAnswer> {
    if !ctx.settings.check_registry {
        return HashMap::new();
    }
    if indexes.is_empty() {
        let reason = "package index turned off (empty --pypi-url): yanked, outdated and \
                      stale are not known"
            .to_string();
        return dists
            .iter()
            .map(|d| (d.key(), Err(reason.clone())))
            .collect();
    };
    ctx.events
        .emit(EngineEvent::StageStarted {
            stage: Stage::Registry,
            total: dists.len(),
        })
        .await;
    // A license local metadata leaves unknown is looked for in the release's core metadata file.
    let fetches: Vec<_> = (dists.iter().enumerate())
        .map(|(i, d)| registry_answer(ctx, indexes, d, needs.of(i), vulnerable.clone()))
        .collect();
    // Sized up front: 10,000 answers in a growing map briefly held two tables of them.
    let answers = HashMap::with_capacity(dists.len());
    futures_util::stream::iter(fetches)
        .buffer_unordered(FETCH_TASKS)
        .fold(answers, |mut answers, (key, answer)| {
            answers.insert(key, answer);
            std::future::ready(answers)
        })
        .await
}

async fn registry_answer(
    ctx: &RunContext<'_>,
    indexes: &[Index],
    d: &Distribution,
    need: index_license::NeedOf<'_>,
    mut vulnerable: watch::Receiver<Option<Arc<HashSet<PackageKey>>>>,
) -> (PackageKey, RegistryAnswer) {
    let answers = join_all(
        indexes
            .iter()
            .map(|index| release_facts(ctx, index, d, &need)),
    )
    .await;
    let mut answer = indexes::merge_releases(indexes, answers);
    // Whole-project facts only when the policy or the dashboard reads them, and not already
    // read with the release (Simple API fallback; with several indexes, from each): one more
    // request per index.
    if ctx.settings.project_facts
        && let Ok(info) = &mut answer
        && info.on_index
        && (info.latest_version.is_none() || indexes.len() > 1)
    {
        match all_project_facts(ctx, indexes, d).await {
            Ok(facts) => {
                info.newer_versions =
                    crate::sources::simple::newer_versions(&facts.available, &d.version);
                info.latest_version = facts.latest_version;
                info.project_status = facts.status.or(info.project_status.take());
            }
            Err(reason) => ctx.events.emit(EngineEvent::Warning(reason)).await,
        }
    }
    // Fix candidates: the releases above a vulnerable package, from its Simple page (each
    // index's), fetched the moment OSV has named the package (no round after the vulnerability
    // stage).
    if let Ok(info) = &answer
        && info.on_index
        && info.newer_versions.is_none()
        && ctx.settings.check_vulnerabilities
    {
        let named = match vulnerable.wait_for(Option::is_some).await {
            Ok(set) => set.as_ref().is_some_and(|set| set.contains(&d.key())),
            Err(_) => false,
        };
        if named {
            match all_project_facts(ctx, indexes, d).await {
                Ok(facts) => {
                    if let Ok(info) = &mut answer {
                        info.newer_versions =
                            crate::sources::simple::newer_versions(&facts.available, &d.version);
                    }
                }
                Err(reason) => ctx.events.emit(EngineEvent::Warning(reason)).await,
            }
        }
    }
    ctx.package_done();
    (d.key(), answer)
}

/// Whole-project facts from every index, merged.
async fn all_project_facts(
    ctx: &RunContext<'_>,
    indexes: &[Index],
    d: &Distribution,
) -> std::result::Result<ProjectFacts, String> {
    let answers = join_all(indexes.iter().map(|index| project_facts(ctx, index, d))).await;
    indexes::merge_projects(answers)
}

/// The release's own facts (per-release document, Simple API fallback), cache first; with its
/// core metadata file's license (and the wheel's license files) as `need` says.
async fn release_facts(
    ctx: &RunContext<'_>,
    index: &Index,
    d: &Distribution,
    need: &index_license::NeedOf<'_>,
) -> RegistryAnswer {
    let key = CacheKey::pypi(&index.key, &d.normalized, &d.version);
    let client = index.client.as_ref();
    // The Simple page's files, when the fallback read it (for the core metadata file).
    let files = std::sync::Mutex::new(None);
    let slot = &files;
    let fetch = |prior: Option<Validators>| async move {
        let client = client.ok_or_else(|| offline_reason("registry answer"))?;
        let (answer, found) = (client.release_if(&d.normalized, &d.version, prior.as_ref()))
            .await
            .map_err(|e| format!("package index: {e}"))?;
        *slot.lock().unwrap_or_else(|p| p.into_inner()) = found;
        Ok(answer)
    };
    let mut info: RegistryInfo = ctx.fetch_cached(&key, &d.normalized, "pypi", fetch).await?;
    let files = files.into_inner().unwrap_or_else(|p| p.into_inner());
    with_core_metadata(ctx, index, d, need, files, &mut info).await;
    Ok(info)
}

/// The core metadata outcome of a release whose license is still unknown (cached on its own
/// key: the release's facts keep their validators), asked for when not cached.
async fn with_core_metadata(
    ctx: &RunContext<'_>,
    index: &Index,
    d: &Distribution,
    need: &index_license::NeedOf<'_>,
    files: Option<Vec<crate::sources::simple::DistFile>>,
    info: &mut RegistryInfo,
) {
    // Most releases are settled by their document: only the others wait for the local license.
    if !index_license::may_want(info) {
        return;
    }
    let need = need.get().await;
    if !index_license::wanted(info, need) {
        return;
    }
    let key = CacheKey::new("core-metadata", &index.key, &d.normalized, &d.version);
    info.core_metadata = ctx.cached_for(&key, &d.normalized, "pypi").await;
    if let Some(client) = index.client.as_ref()
        && index_license::wanted(info, need)
    {
        let release = (d.normalized.as_str(), d.version.as_str());
        if index_license::complete(client, release, files, need, info).await
            && let Some(found) = &info.core_metadata
        {
            ctx.store(&key, found, ctx.settings.run.cache.metadata_ttl)
                .await;
        }
    }
}

/// Latest version and PEP 792 status from the Simple API, cache first.
async fn project_facts(
    ctx: &RunContext<'_>,
    index: &Index,
    d: &Distribution,
) -> std::result::Result<ProjectFacts, String> {
    let key = CacheKey::pypi_project(&index.key, &d.normalized);
    let client = index.client.as_ref();
    let fetch = |prior: Option<Validators>| async move {
        let client = client.ok_or_else(|| offline_reason("latest version"))?;
        match client
            .simple()
            .project_if(&d.normalized, prior.as_ref())
            .await
        {
            Ok(facts) => Ok(facts.map(Option::unwrap_or_default)),
            Err(e) => Err(format!("{}: latest version: package index: {e}", d.name)),
        }
    };
    ctx.fetch_cached(&key, &d.normalized, "pypi", fetch).await
}

fn offline_reason(what: &str) -> String {
    format!("offline: no cached {what} (run once online, or use --osv-db for vulnerabilities)")
}
