//! The vulnerability stage: OSV's answers for every package (cache first, one querybatch for
//! the misses, each named advisory's record once) or the offline database's.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::events::{EngineEvent, Stage};
use super::revalidate;
use super::run::{FETCH_TASKS, RunContext, VulnAnswer, offline_reason};
use crate::cache::CacheKey;
use crate::error::{Error, Result};
use crate::model::{Check, DatabaseInfo, Distribution, PackageKey, Unknown};
use crate::sources::osv::{AdvisoryRef, OsvRecord};
use crate::sources::{OsvClient, OsvDatabase, Validators};

/// The cached answer of OSV's querybatch for one package version.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct CachedAdvisories {
    advisories: Vec<AdvisoryRef>,
}

/// What the vulnerability stage found: answers per package and version, run-level unknowns (e.g. a
/// stale database), and the offline database used, if any.
#[derive(Default)]
pub(super) struct VulnStage {
    pub(super) answers: HashMap<PackageKey, VulnAnswer>,
    pub(super) run_unknowns: Vec<Unknown>,
    pub(super) database: Option<DatabaseInfo>,
}

/// The packages OSV names (by advisory id, before the records are read), published once so
/// the registry stage can fetch their fix candidates without waiting for the whole stage. A
/// sender dropped unpublished (the stage failed or was off) reads as "none".
pub(super) type Vulnerable = watch::Sender<Option<Arc<HashSet<PackageKey>>>>;

pub(super) async fn vulnerabilities(
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
