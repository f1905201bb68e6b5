//! The registry stage: each release's facts from every package index (cache first), with the
//! core metadata file's license where local metadata leaves it unknown, and whole-project facts
//! (latest version, status, fix candidates) when the policy or the dashboard reads them.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use futures_util::StreamExt;
use futures_util::future::join_all;
use tokio::sync::watch;

use super::events::{EngineEvent, Stage};
use super::index_license;
use super::indexes::{self, Flag, Index};
use super::run::{FETCH_TASKS, RegistryAnswer, RunContext, offline_reason};
use crate::cache::CacheKey;
use crate::model::{Distribution, PackageKey, RegistryInfo};
use crate::sources::{ProjectFacts, Validators};

/// The packages OSV named, published once by the vulnerability stage (`None` until then).
type Vulnerable = watch::Receiver<Option<Arc<HashSet<PackageKey>>>>;

/// Registry facts per normalised name.
pub(super) async fn registry(
    ctx: &RunContext<'_>,
    dists: &[Distribution],
    needs: &index_license::Needs,
    indexes: &[Index],
    vulnerable: &Vulnerable,
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
    mut vulnerable: Vulnerable,
) -> (PackageKey, RegistryAnswer) {
    // A package OSV names before its release document has come gets its fix candidates
    // fetched beside that document, not a round after it (see `fix_candidates_early`).
    let released = Flag::default();
    let releases = async {
        let answers = join_all(
            indexes
                .iter()
                .map(|index| release_facts(ctx, index, d, &need)),
        )
        .await;
        released.set();
        answers
    };
    let early = fix_candidates_early(ctx, indexes, d, vulnerable.clone(), &released);
    let (answers, early) = futures_util::future::join(releases, early).await;
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
        let facts = match early {
            Early::Fetched(facts) => Some(facts),
            Early::Named => Some(all_project_facts(ctx, indexes, d).await),
            Early::NotAsked if named(&mut vulnerable, d).await => {
                Some(all_project_facts(ctx, indexes, d).await)
            }
            Early::NotAsked | Early::NotNamed => None,
        };
        match facts {
            Some(Ok(facts)) => {
                if let Ok(info) = &mut answer {
                    info.newer_versions =
                        crate::sources::simple::newer_versions(&facts.available, &d.version);
                }
            }
            Some(Err(reason)) => ctx.events.emit(EngineEvent::Warning(reason)).await,
            None => {}
        }
    }
    ctx.package_done();
    (d.key(), answer)
}

/// Whether OSV named `d` (waits for the vulnerability stage to publish the packages it named).
async fn named(vulnerable: &mut Vulnerable, d: &Distribution) -> bool {
    match vulnerable.wait_for(Option::is_some).await {
        Ok(set) => set.as_ref().is_some_and(|set| set.contains(&d.key())),
        Err(_) => false,
    }
}

/// What [`fix_candidates_early`] found out, so that the caller asks OSV's answer only once.
enum Early {
    /// Not looked at: project facts are fetched anyway, or vulnerabilities are not checked.
    NotAsked,
    NotNamed,
    /// Named, but its release came first: the caller decides with the answer in hand.
    Named,
    Fetched(std::result::Result<ProjectFacts, String>),
}

/// The fix candidates of a package OSV names while its release document is still on its way,
/// fetched beside it; not when they cannot be asked for early without risk of asking twice
/// (project facts are wanted anyway, or an index has not yet been seen to serve release
/// documents: its Simple page may be the release fallback's; the wait for that ends with the
/// release itself).
async fn fix_candidates_early(
    ctx: &RunContext<'_>,
    indexes: &[Index],
    d: &Distribution,
    mut vulnerable: Vulnerable,
    released: &Flag,
) -> Early {
    if !ctx.settings.check_vulnerabilities || ctx.settings.project_facts {
        return Early::NotAsked;
    }
    if !named(&mut vulnerable, d).await {
        return Early::NotNamed;
    }
    let all_serve_json = join_all(indexes.iter().map(|i| i.serves_json.wait()));
    tokio::select! {
        biased;
        _ = released.wait() => return Early::Named,
        _ = all_serve_json => {}
    }
    Early::Fetched(all_project_facts(ctx, indexes, d).await)
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
    let serves_json = &index.serves_json;
    let fetch = |prior: Option<Validators>| async move {
        let client = client.ok_or_else(|| offline_reason("registry answer"))?;
        let (answer, found) = (client.release_if(&d.normalized, &d.version, prior.as_ref()))
            .await
            .map_err(|e| format!("package index: {e}"))?;
        if found.is_none() {
            serves_json.set();
        }
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
