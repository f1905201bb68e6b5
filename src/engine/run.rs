//! One run: inventory → licenses → vulnerabilities and registry facts (cache first, then the
//! network or the offline database) → policy evaluation → report, with events and a metrics
//! snapshot published along the way.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::watch;

use super::cache_writer::CacheWriter;
use super::evaluate::{self, Facts};
use super::events::{EngineEvent, EventSink, MetricsSnapshot, Stage};
use super::index_license;
use super::indexes::Index;
use super::reuse;
use super::revalidate;
use super::snapshot;
use crate::cache::{CacheKey, TieredCache};
use crate::error::{Error, Result};
use crate::fingerprint::Fingerprinter;
use crate::inventory::{self, InventorySource};
use crate::model::{Distribution, RegistryInfo, Report, Summary, TargetInfo};
use crate::perf::{HistoryOptions, RunMetrics};
use crate::settings::{Settings, Target};
use crate::sources::revalidate::Revalidated;
use crate::sources::{HttpClient, HttpConfig, Validators};
use crate::telemetry::counters::REPORT_LEVEL;
use crate::telemetry::tracker::{Milestone, Tracker};
use crate::telemetry::{CacheCounters, LevelCounters};

/// What we know (or why we don't) about one package's vulnerabilities.
pub(super) type VulnAnswer = std::result::Result<Vec<crate::model::Vulnerability>, String>;
/// What we know (or why we don't) about one package's registry facts.
pub(super) type RegistryAnswer = std::result::Result<RegistryInfo, String>;

/// Tasks alive at once while fetching advisories or registry facts. The HTTP client's
/// semaphore is the real bound on requests in flight; this only caps futures in memory.
pub(super) const FETCH_TASKS: usize = 256;

/// Metrics snapshots are published this often while a run fetches (the dashboard's frame rate;
/// a snapshot reads every histogram, ~10 µs each).
const PUBLISH_EVERY_MS: u64 = 50;

/// Everything a run needs, built once per run.
pub(super) struct RunContext<'a> {
    pub(super) settings: &'a Settings,
    pub(super) events: &'a EventSink,
    pub(super) metrics: &'a watch::Sender<MetricsSnapshot>,
    pub(super) tracker: Arc<Tracker>,
    pub(super) cache: Option<TieredCache>,
    /// Where answers go to be cached, off the async workers (see `cache_writer`).
    pub(super) writer: Option<CacheWriter>,
    pub(super) http: Option<HttpClient>,
    pub(super) started: Instant,
    pub(super) run: u64,
    pub(super) total: usize,
    pub(super) packages_done: AtomicUsize,
    /// Per package, the sources whose answer came from an expired cache entry.
    pub(super) stale: std::sync::Mutex<HashMap<String, Vec<&'static str>>>,
}

impl RunContext<'_> {
    /// Publish the latest metrics (the faces read it at their own frame rate).
    pub(super) fn publish(&self, finished: bool) {
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

    pub(super) fn measure(&self) -> RunMetrics {
        RunMetrics {
            operations: self.tracker.snapshot(),
            milestones: self.tracker.milestones_since(self.started),
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

    /// Runs `work` and publishes the metrics on a clock meanwhile (also while every request is
    /// out and no package ends: the faces see the requests go).
    pub(super) async fn publishing_while<T>(&self, work: impl Future<Output = T>) -> T {
        tokio::pin!(work);
        let every = Duration::from_millis(PUBLISH_EVERY_MS);
        let mut clock = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        clock.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                done = &mut work => return done,
                _ = clock.tick() => self.publish(false),
            }
        }
    }

    /// One more package has its registry answer (published with the next snapshot).
    pub(super) fn package_done(&self) {
        self.packages_done.fetch_add(1, Ordering::Relaxed);
    }

    /// A cached answer about `package` from `source`; an expired entry served offline is
    /// remembered so the report can say the answer is stale.
    pub(super) async fn cached_for<T: serde::de::DeserializeOwned>(
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
    pub(super) async fn fetch_cached<T, F, Fut>(
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

    pub(super) fn note_stale(&self, package: &str, source: &'static str) {
        self.stale
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(package.to_string())
            .or_default()
            .push(source);
    }

    pub(super) async fn store<T: Serialize>(&self, key: &CacheKey, value: &T, ttl: Duration) {
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
    settings_parts(settings, &mut f);
    f.finish()
}

/// The parts of [`run_fingerprint`] that are the settings: policy, sources and checks.
pub(super) fn settings_parts(settings: &Settings, f: &mut Fingerprinter) {
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
    let served = Served {
        settings,
        events,
        metrics,
        tracker: tracker.clone(),
        started,
        run,
    };
    let source = inventory_source(&settings.target);
    let blocking_tracker = tracker.clone();
    let snapshot_cache = cache.clone();
    let plan = tokio::task::spawn_blocking(move || inventory::plan(&source, &blocking_tracker))
        .await
        .map_err(|e| Error::Engine(format!("inventory task failed: {e}")))??;
    // The last report on this target is read while the inventory is taken and this run's
    // inputs are worked out: when nothing it was judged from has changed, it is the report.
    let reusable = cache.as_ref().filter(|_| reuse::applies(settings));
    let (inventory_sent, inventory_received) = std::sync::mpsc::sync_channel(1);
    let (inputs_sent, inputs_received) = std::sync::mpsc::sync_channel(1);
    let mut told = Some(reuse::Told {
        inventory: inventory_received,
        inputs: inputs_received,
    });
    // Taken before the inventory is read: a guess that the stored report holds.
    let likely = (plan.target().filter(|_| reusable.is_some()))
        .and_then(|target| reuse::likely(settings, &target, &plan.located_issues()));
    // The policy file's name, for a served report.
    let policy_name = (settings.policy.path.as_ref()).map(|p| p.display().to_string());
    // An environment whose every path is as when its report was stored is not read again.
    let environment_urls = settings.network.index_urls(&Default::default());
    // What the attempt read of the expected target's entry, for the reader not to read it again.
    let mut preread = None;
    if let (Some(cache), Some(expected), Some(likely)) = (reusable, plan.target(), &likely) {
        let settings_inputs = reuse::settings_inputs(settings, &environment_urls.urls);
        let (cache, likely, tracker) = (cache.clone(), likely.clone(), tracker.clone());
        let policy = policy_name.clone();
        let unread = tokio::task::spawn_blocking(move || {
            reuse::read_unscanned(
                &cache,
                &expected,
                &likely,
                &settings_inputs,
                policy,
                &tracker,
            )
        })
        .await
        .map_err(|e| Error::Engine(format!("report read: {e}")))?;
        match unread {
            reuse::Unread::Served(unscanned) => {
                let told = Told {
                    packages: unscanned.packages,
                    issues: unscanned.issues,
                    index_urls: &environment_urls,
                    fingerprint: &unscanned.fingerprint,
                };
                return Ok(served.reused(*unscanned.report, told).await);
            }
            reuse::Unread::Not { read, warning } => {
                if let Some(warning) = warning {
                    events.emit(EngineEvent::Warning(warning)).await;
                }
                preread = read;
            }
        }
    }
    // A stored report the attempt read and could not serve is not parsed ahead: its
    // inventory, settings or clock already differ.
    let speculate = likely.clone().filter(|_| preread.is_none());
    let mut read_stored = |expected: TargetInfo, preread| {
        let (cache, tracker) = (reusable?.clone(), tracker.clone());
        let (told, likely) = (told.take()?, speculate.clone());
        Some(tokio::task::spawn_blocking(move || {
            reuse::read(&cache, &expected, preread, likely.as_ref(), told, &tracker)
        }))
    };
    let early = plan
        .target()
        .and_then(|target| read_stored(target, preread));
    let blocking_tracker = tracker.clone();
    let inventory = tokio::task::spawn_blocking(move || plan.take(&blocking_tracker))
        .await
        .map_err(|e| Error::Engine(format!("inventory task failed: {e}")))??;
    let inventory = Arc::new(inventory);
    tracker.reached(Milestone::InventoryTaken);
    let stored = early.or_else(|| read_stored(inventory.target.clone(), None));
    // The reader may have stopped at a missing entry: then nobody needs what it is told.
    let _ = inventory_sent.send(inventory.clone());
    let index_urls = settings.network.index_urls(&inventory.indexes);
    let fingerprint = run_fingerprint(settings, &inventory.distributions);
    let inputs = reusable.map(|_| {
        let settings_inputs = reuse::settings_inputs(settings, &index_urls.urls);
        reuse::inputs(settings_inputs, &inventory)
    });
    if let Some(inputs) = &inputs {
        let _ = inputs_sent.send((inputs.clone(), policy_name));
    }
    drop((inventory_sent, inputs_sent));
    let read = match stored {
        Some(stored) => (stored.await).map_err(|e| Error::Engine(format!("report read: {e}")))?,
        None => reuse::Read::Missed,
    };
    match read {
        reuse::Read::Reused(report) => {
            let told = Told {
                packages: inventory.distributions.len(),
                issues: inventory.issues.len(),
                index_urls: &index_urls,
                fingerprint: &fingerprint,
            };
            return Ok(served.reused(*report, told).await);
        }
        reuse::Read::Rejected(warning) => events.emit(EngineEvent::Warning(warning)).await,
        reuse::Read::Missed => {}
    }
    // The bundle of answers and the run snapshot are both keyed by the target: each is read and
    // verified on a thread of its own (at 10,000 packages 7 MB and 3 MB, ~25 and ~17 ms).
    let bundle_opened =
        (cache.as_ref()).map(|c| snapshot::open_bundle(c, &inventory.target, &tracker));
    let (snapshot_target, snapshot_tracker) = (inventory.target.clone(), tracker.clone());
    let loaded = tokio::task::spawn_blocking(move || {
        snapshot::load(snapshot_cache.as_ref(), &snapshot_target, &snapshot_tracker)
    })
    .await
    .map_err(|e| Error::Engine(format!("snapshot task failed: {e}")))?;
    for warning in loaded.rejected {
        events.emit(EngineEvent::Warning(warning)).await;
    }
    let previous = loaded.previous;
    // On a first run licenses are resolved beside the fetches (≈50 ms for 180 packages, once
    // the whole wait before the first request): the fetches read a package's resolved license
    // only to decide on its core metadata file, after its release document has come.
    let (needs, resolving, licenses_start) =
        index_license::Needs::resolve(&inventory, previous, &tracker)
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

    index_warnings(settings, events, &index_urls).await;
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
    // A first run's license texts are identified once the network has started (see
    // `LicenseStart`); without a client there is nothing to wait for.
    let licenses_started = match &http {
        Some(http) => {
            let (burst_sent, start) = (http.first_burst_sent(), licenses_start.clone());
            Some(tokio::spawn(async move {
                burst_sent.await;
                start.now();
            }))
        }
        None => {
            licenses_start.now();
            None
        }
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
    let stages = async {
        tokio::join!(
            super::vulnerabilities::vulnerabilities(&ctx, &inventory.distributions, vulnerable),
            super::registry::registry(
                &ctx,
                &inventory.distributions,
                &needs,
                &indexes,
                &vulnerable_known
            ),
        )
    };
    let (vulns, registry) = ctx.publishing_while(stages).await;
    // Every answer is in (or none needed a connection): the licenses wait no longer.
    licenses_start.now();
    if let Some(waiting) = licenses_started {
        waiting.abort();
    }
    let snapshot::Resolved {
        licenses,
        file_stamps,
        changed: snapshot,
    } = resolving
        .finish()
        .await
        .map_err(|e| Error::Engine(format!("license resolution failed: {e}")))?;
    let super::vulnerabilities::VulnStage {
        answers: vulns,
        run_unknowns,
        database,
    } = vulns?;
    // Every answer is in: the queued writes and then the bundle are written on other threads
    // while this one evaluates.
    let drained = (ctx.writer.take()).map(|writer| writer.finish(tracker.clone()));
    let bundle_stored =
        (ctx.cache.as_ref()).map(|cache| snapshot::store_bundle(cache, &inventory.target, drained));

    events
        .emit(EngineEvent::StageStarted {
            stage: Stage::Evaluate,
            total,
        })
        .await;
    let stale = std::mem::take(&mut *ctx.stale.lock().unwrap_or_else(|p| p.into_inner()));
    let network = (ctx.http.as_ref()).map(HttpClient::network_counters);
    let answered_from_cache = stale.is_empty()
        && run_unknowns.is_empty()
        && network.is_none_or(|n| n.requests == 0 && n.failures == 0)
        && vulns.values().all(Result::is_ok)
        && registry.values().all(Result::is_ok);
    let facts = Facts {
        licenses,
        vulnerabilities: vulns,
        registry,
        run_unknowns,
        stale,
    };
    let now = time::OffsetDateTime::now_utc();
    let mut report = tracker.time("policy.evaluate", || {
        evaluate::build_report(settings, &inventory, facts, now)
    });
    tracker.reached(Milestone::Evaluated);
    report.vulnerability_database = database;

    // What the report was judged from, to serve it again while that holds (see `reuse`).
    // A thread that failed may have been storing a bundle: no seal is known then, and the
    // loaded bundle's must not stand for answers it lacked.
    let bundle_stored = match bundle_stored {
        Some(stored) => stored.await.unwrap_or(Some(None)),
        None => None,
    };
    let used = (ctx.cache.as_ref()).and_then(TieredCache::bundle_use);
    let bundle = match bundle_stored {
        Some(seal) => seal,
        None => used.and_then(|(loaded, _)| loaded),
    };
    let stored_report = inputs.as_ref().and_then(|inputs| {
        let provenance = reuse::Provenance {
            answered_from_cache: answered_from_cache && used.is_some(),
            license_files: file_stamps.and_then(|stamps| {
                (stamps.into_iter())
                    .map(|(i, stamp)| {
                        let dir = inventory.distributions.get(i)?.location.clone()?;
                        Some((dir, stamp))
                    })
                    .collect()
            }),
            bundle,
            answers_fresh_until: used.and_then(|(_, until)| until),
            judged_until: evaluate::holds_until(&settings.policy.health, &report.packages, now),
        };
        reuse::judged(
            inputs,
            likely.as_ref(),
            provenance,
            &inventory,
            &fingerprint,
        )
    });
    let report = served.finish(report, || ctx.measure(), &fingerprint);
    if let Some(cache) = &ctx.cache {
        snapshot::store(cache, &inventory.target, snapshot.as_ref()).await;
        if let Some(judged) = stored_report {
            reuse::store(cache, &inventory.target, judged, &report).await;
        }
    }
    ctx.packages_done.store(total, Ordering::Relaxed);
    ctx.publish(true);
    Ok(report)
}

/// The warnings about the configured indexes (only when the registry is checked).
async fn index_warnings(
    settings: &Settings,
    events: &EventSink,
    index_urls: &crate::settings::IndexUrls,
) {
    let warnings = (index_urls.ignored.iter()).chain(&settings.network.index_warnings);
    for warning in warnings.filter(|_| settings.check_registry) {
        events.emit(EngineEvent::Warning(warning.clone())).await;
    }
}

/// What the faces and the run history are told of a served report's inventory.
struct Told<'a> {
    packages: usize,
    issues: usize,
    index_urls: &'a crate::settings::IndexUrls,
    fingerprint: &'a str,
}

/// The end of a run, shared by a judged report and a reused one.
struct Served<'a> {
    settings: &'a Settings,
    events: &'a EventSink,
    metrics: &'a watch::Sender<MetricsSnapshot>,
    tracker: Arc<Tracker>,
    started: Instant,
    run: u64,
}

impl Served<'_> {
    /// Metrics, history and summary on `report`.
    fn finish(
        &self,
        mut report: Report,
        measure: impl FnOnce() -> RunMetrics,
        fingerprint: &str,
    ) -> Report {
        self.tracker.record("run.total", self.started.elapsed());
        let measured = &measure();
        let history = HistoryOptions {
            file: self.settings.history_file.as_deref(),
            policy: &self.settings.run.performance,
            fail_on_regression: self.settings.fail_on_regression,
        };
        crate::perf::finish_report(&mut report, measured, fingerprint, &history);
        report.summary = Summary::compute(&report.packages, &report.findings, &report.unknowns);
        report
    }

    /// A stored report served again: the faces hear the run's stages as they happened (the
    /// inventory, then straight to judging) and get the report with this run's metrics.
    async fn reused(self, report: Report, told: Told<'_>) -> Report {
        let total = told.packages;
        self.events
            .emit(EngineEvent::InventoryDone {
                packages: total,
                issues: told.issues,
                elapsed: self.started.elapsed(),
            })
            .await;
        index_warnings(self.settings, self.events, told.index_urls).await;
        self.events
            .emit(EngineEvent::StageStarted {
                stage: Stage::Evaluate,
                total,
            })
            .await;
        // One lookup, the stored report, answered everything (cache state `served`).
        let served_whole = LevelCounters {
            lookups: 1,
            hits: 1,
            ..LevelCounters::default()
        };
        let measure = || RunMetrics {
            operations: self.tracker.snapshot(),
            milestones: self.tracker.milestones_since(self.started),
            cache: CacheCounters {
                lookups: 1,
                hits: 1,
                stale_served: 0,
                levels: [(REPORT_LEVEL.to_string(), served_whole.clone())].into(),
            },
            cache_enabled: true,
            total: self.started.elapsed(),
            ..RunMetrics::default()
        };
        let report = self.finish(report, measure, told.fingerprint);
        self.metrics.send_replace(MetricsSnapshot {
            run: self.run,
            packages_total: total,
            packages_done: total,
            elapsed: self.started.elapsed(),
            operations: self.tracker.snapshot(),
            finished: true,
            ..MetricsSnapshot::default()
        });
        report
    }
}

pub(super) fn offline_reason(what: &str) -> String {
    format!("offline: no cached {what} (run once online, or use --osv-db for vulnerabilities)")
}
