//! The last report on a target, served again whole while everything it was judged from is
//! unchanged: the inventory, the policy and settings, this build, the bundle of the sources'
//! answers (by its seal), the license files read (by their identity stamps), and the clock
//! (no answer it used has turned stale, no date or age the policy judges has moved). A warm
//! run then costs one read, the stamps and the report's rendering, and not even the
//! inventory scan when every path the stored inventory followed from kept its identity
//! ([`read_unscanned`]); at 10,000 packages looking up 20,000 answers and judging them again
//! took two thirds of the run, the scan most of the rest.
//!
//! Only a report that leaves nothing to a later run is stored: judged from cached answers
//! alone (no request made, nothing served stale), every source answered, licenses vouched for
//! by stamps, and no offline vulnerability database (its files are not stamped). Anything
//! else, and any doubt on reading (a key, seal, stamp or clock that differs, a stored entry
//! that does not verify or parse), is the full run; a stored report that is rejected is
//! reported and the full run stores a new one.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::snapshot;
use crate::cache::{CacheKey, LocalLookup, LocalPayload, Seal, TieredCache};
use crate::checks::licenses::FilesStamp;
use crate::fingerprint::Fingerprinter;
use crate::inventory::Inventory;
use crate::model::{Finding, PackageReport, Report, TargetInfo, Unknown};
use crate::settings::Settings;
use crate::telemetry::tracker::Tracker;

/// Cache key kind of the stored report.
const KIND: &str = "run-report";
/// Layout of [`Head`] and [`Body`]; bump on any change to them.
const FORMAT: u32 = 2;
/// A stored report holds at most until the next midnight UTC ([`super::evaluate::holds_until`]).
const TTL: Duration = Duration::from_secs(86_400);
/// Operation names in the run's metrics: the stored report read (its head parsed, the license
/// files' stamps checked); its body parsed.
const OP_READ: &str = "report.read";
const OP_PARSE: &str = "report.parse";
/// Distributions hashed as one part of the [`Inputs`] (the parts are hashed across the cores).
const DISTRIBUTIONS_PER_HASH: usize = 1_024;
/// Below this many stamps to check, a second thread costs more than it saves.
const STAMPS_PARALLEL_FROM: usize = 1_000;

/// What a report is judged from besides the answers, the license files and the clock: this
/// build and the settings (policy, sources, index URLs), and the whole inventory, each
/// fingerprinted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Inputs {
    pub settings: SettingsInputs,
    inventory: String,
}

/// The settings' part of the [`Inputs`], known before the inventory is read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct SettingsInputs(String);

/// Whether a run with `settings` may store and reuse reports: not with an offline
/// vulnerability database (its files are not stamped).
pub(super) fn applies(settings: &Settings) -> bool {
    settings.network.osv_db.is_none()
}

/// The settings' part of the [`Inputs`] (`index_urls`: the indexes asked, credentials not
/// part of it).
pub(super) fn settings_inputs(settings: &Settings, index_urls: &[String]) -> SettingsInputs {
    let shown = |url: &String| crate::sources::credentials::without_credentials(url);
    let mut f = Fingerprinter::new();
    f.part(FORMAT.to_le_bytes())
        .part(env!("CARGO_PKG_VERSION"))
        .part(crate::checks::licenses::RESOLVER_BUILD)
        .part(this_build())
        .part(format!("{:?}", settings.policy.path))
        .part(format!("{:?}", settings.run.cache))
        .part(index_urls.iter().map(shown).collect::<Vec<_>>().join(" "));
    super::run::settings_parts(settings, &mut f);
    SettingsInputs(f.finish())
}

/// The [`Inputs`] of a run: `settings` and a fingerprint of the whole inventory.
pub(super) fn inputs(settings: SettingsInputs, inventory: &Inventory) -> Inputs {
    let mut f = Fingerprinter::new();
    f.serialized(&inventory.issues)
        .serialized(&inventory.target)
        .serialized(&inventory.indexes);
    // The distributions in fixed runs, hashed across the cores (~20 ms at 10,000 on one).
    let runs: Vec<&[crate::model::Distribution]> = inventory
        .distributions
        .chunks(DISTRIBUTIONS_PER_HASH)
        .collect();
    let digests = crate::parallel::map_chunks(&runs, 2, |part| {
        (part.iter())
            .map(|run| Fingerprinter::new().serialized(run).finish())
            .collect()
    });
    f.part(inventory.distributions.len().to_le_bytes());
    for digest in digests {
        f.part(digest);
    }
    Inputs {
        settings,
        inventory: f.finish(),
    }
}

/// Identity stamps of the paths an environment's inventory followed from
/// ([`Inventory::followed`]), in runs of [`PATHS_PER_STAMP`] stamped across the cores: while
/// every one holds, the inventory is the one stored and need not be read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Followed {
    paths: Vec<PathBuf>,
    identities: Vec<String>,
}

/// Paths per identity hash of [`Followed`].
const PATHS_PER_STAMP: usize = 1_024;

impl Followed {
    /// The stamps of `paths`; `None` when one cannot vouch (a symlink, an unreadable path, a
    /// change within the racy margin) or there are none.
    fn of(paths: &[PathBuf]) -> Option<Followed> {
        Some(Followed {
            identities: Followed::identities(paths)?,
            paths: paths.to_vec(),
        })
    }

    fn holds(&self) -> bool {
        Followed::identities(&self.paths).is_some_and(|now| now == self.identities)
    }

    /// The identity hash of each run of `paths`; `None` as for [`Followed::of`].
    fn identities(paths: &[PathBuf]) -> Option<Vec<String>> {
        if paths.is_empty() {
            return None;
        }
        let runs: Vec<&[PathBuf]> = paths.chunks(PATHS_PER_STAMP).collect();
        let identities = crate::parallel::map_chunks(&runs, 2, |part| {
            part.iter()
                .map(|run| crate::fingerprint::identities(run))
                .collect()
        });
        identities.into_iter().collect()
    }
}

/// A guess, from what is known before the inventory is read, that a stored report will hold:
/// this build, the policy and the identities of the environment's site-packages directories
/// (installing or removing a distribution adds or removes an entry there). When it matches,
/// the stored report is parsed while the inventory is read instead of after; whether it holds
/// is still decided by the [`Inputs`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Likely(String);

/// The [`Likely`] of a run on `target` (an environment's; `None` for files, or directories
/// whose identity cannot vouch: unreadable, a symlink, changed a moment ago).
pub(super) fn likely(
    settings: &Settings,
    target: &TargetInfo,
    located_issues: &[String],
) -> Option<Likely> {
    if target.site_packages.is_empty() {
        return None;
    }
    let dirs: Vec<PathBuf> = target.site_packages.iter().map(PathBuf::from).collect();
    let mut f = Fingerprinter::new();
    f.part(FORMAT.to_le_bytes())
        .part(this_build())
        .part(&settings.policy.fingerprint)
        .serialized(located_issues)
        .serialized(&target.site_packages)
        .part(crate::fingerprint::identities(&dirs)?);
    Some(Likely(f.finish()))
}

/// This executable's identity (path, device, inode, size, mtime): a rebuilt depdash of the same
/// version may judge differently.
fn this_build() -> String {
    use std::os::unix::fs::MetadataExt;
    let Ok(exe) = std::env::current_exe() else {
        return String::new();
    };
    match std::fs::metadata(&exe) {
        Ok(m) => format!(
            "{} {} {} {} {}.{}",
            exe.display(),
            m.dev(),
            m.ino(),
            m.size(),
            m.mtime(),
            m.mtime_nsec()
        ),
        Err(_) => exe.display().to_string(),
    }
}

/// The stored report's key for an inventory target.
fn key(target: &TargetInfo) -> CacheKey {
    snapshot::target_key(KIND, target, FORMAT.to_string())
}

/// What a stored report was judged from: read, and compared, before its body is parsed.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Head {
    /// [`Likely`] of the run that judged it; first, so that it can be peeked at.
    likely: Option<String>,
    /// The run's [`Inputs`].
    settings: String,
    inventory: String,
    /// The stamps that vouch for the inventory (`None`: none could).
    followed: Option<Followed>,
    /// What the faces are told of the inventory and the run history's fingerprint, for a
    /// report served without reading the inventory.
    packages: usize,
    issues: usize,
    fingerprint: String,
    /// Seal of the bundle of answers it was judged from (`None`: no answer was used).
    bundle: Option<String>,
    /// Unix seconds: from then on the same facts may be judged differently, or an answer used
    /// has turned stale.
    holds_until: i64,
    /// The metadata directories whose license files were read, with the stamps that vouch
    /// for those files. (Which directories follows from the inventory, in the inputs.)
    license_files: Vec<(PathBuf, FilesStamp)>,
}

/// The judged report, without what every run sets anew (time, metrics, summary).
#[derive(Serialize, Deserialize)]
struct Body {
    packages: Vec<PackageReport>,
    findings: Vec<Finding>,
    unknowns: Vec<Unknown>,
}

/// [`Body`] borrowed from a report, to store it without a copy.
#[derive(Serialize)]
struct BodyRef<'a> {
    packages: &'a [PackageReport],
    findings: &'a [Finding],
    unknowns: &'a [Unknown],
}

/// What [`read`] found.
pub(super) enum Read {
    /// The stored report, with this run's time (metrics and summary are the caller's).
    Reused(Box<Report>),
    /// None stored (or the cache is refreshing), or one that no longer holds.
    Missed,
    /// A stored report that does not verify or parse (the warning to give).
    Rejected(String),
}

/// What the run tells [`read`]: its inventory as soon as it is taken, then its [`Inputs`] and
/// the policy file's name for the report.
pub(super) struct Told {
    pub inventory: std::sync::mpsc::Receiver<std::sync::Arc<Inventory>>,
    pub inputs: std::sync::mpsc::Receiver<(Inputs, Option<String>)>,
}

/// The stored report of the target the run expects (`expected`, known before its inventory is
/// read), if it was judged from the run's [`Inputs`] and still holds: the answers it used are
/// fresh and in the same bundle, the license files it read unchanged, and no date or age the
/// policy judges has moved.
///
/// Made to run beside the run: the entry is read and its stamps checked while the inventory
/// is taken (file I/O), its body parsed while the run works out its inputs when [`Likely`]
/// says it will hold (the run hashes, allocating nothing: the two do not contend for the
/// allocator), and a target other than `expected` is read once the inventory names it.
/// Blocking file I/O.
pub(super) fn read(
    cache: &TieredCache,
    expected: &TargetInfo,
    preread: Option<Preread>,
    likely: Option<&Likely>,
    told: Told,
    tracker: &Tracker,
) -> Read {
    let mut stored = match preread {
        Some(Preread(stored)) => stored,
        None => tracker.time(OP_READ, || read_head(cache, expected)),
    };
    let Ok(inventory) = told.inventory.recv() else {
        return Read::Missed;
    };
    let target = &inventory.target;
    if target != expected {
        stored = tracker.time(OP_READ, || read_head(cache, target));
    }
    let (head, payload, body_at) = match stored {
        Ok(Some(Stored::Holding(head, payload, at))) => (head, payload, at),
        Ok(Some(Stored::Changed) | None) => return Read::Missed,
        Err(reason) => return rejected(&reason),
    };
    let parse = || {
        tracker.time(OP_PARSE, || {
            serde_json::from_slice::<Body>(&payload[body_at..])
        })
    };
    let early = (likely.is_some_and(|likely| head.likely.as_ref() == Some(&likely.0))).then(parse);
    let Ok((inputs, policy)) = told.inputs.recv() else {
        return Read::Missed;
    };
    if head.settings != inputs.settings.0
        || head.inventory != inputs.inventory
        || !head.holds(cache, target)
    {
        return Read::Missed;
    }
    let body = match early.unwrap_or_else(parse) {
        Ok(body) => body,
        Err(e) => return rejected(&format!("its body does not parse: {e}")),
    };
    if body.packages.len() != inventory.distributions.len() {
        return Read::Missed;
    }
    Read::Reused(Box::new(Report::new(
        target.clone(),
        policy,
        body.packages,
        body.findings,
        body.unknowns,
    )))
}

/// A report served without reading the inventory ([`read_unscanned`]), with what the faces
/// and the run history are told of that inventory.
pub(super) struct Unscanned {
    pub report: Box<Report>,
    pub packages: usize,
    pub issues: usize,
    pub fingerprint: String,
}

/// What [`read_unscanned`] found: the report served, or what it read for [`read`] to go on
/// from (not read twice) and the warning for a stored report it rejected.
pub(super) enum Unread {
    Served(Unscanned),
    Not {
        read: Option<Preread>,
        warning: Option<String>,
    },
}

/// The stored entry of the expected target as [`read_unscanned`] read it.
pub(super) struct Preread(Result<Option<Stored>, String>);

/// The stored report of `expected`, served without reading the inventory at all when its
/// [`Likely`] and settings are the run's and every path the stored inventory followed from
/// has kept its identity (and the report still holds, as for [`read`]). Tried before the
/// inventory is read, only when the unverified start of the entry names the same `likely`
/// (a peek: no cost when it does not). Otherwise the run goes on as usual. Blocking file I/O.
pub(super) fn read_unscanned(
    cache: &TieredCache,
    expected: &TargetInfo,
    likely: &Likely,
    settings: &SettingsInputs,
    policy: Option<String>,
    tracker: &Tracker,
) -> Unread {
    let not_served = |read, warning| Unread::Not { read, warning };
    let named = format!("{{\"likely\":\"{}\"", likely.0);
    let peeked = cache.peek_local(&key(expected), named.len());
    if peeked.as_deref() != Some(named.as_bytes()) {
        return not_served(None, None);
    }
    let (head, payload, body_at) = match tracker.time(OP_READ, || read_head(cache, expected)) {
        Ok(Some(Stored::Holding(head, payload, at))) => (head, payload, at),
        // Warned once, here; the run then judges as with none stored.
        Err(reason) => return not_served(Some(Preread(Ok(None))), Some(rejected_because(&reason))),
        other => return not_served(Some(Preread(other)), None),
    };
    let holds = head.settings == settings.0
        && head.holds(cache, expected)
        && head.followed.as_ref().is_some_and(Followed::holds);
    if !holds {
        let read = Preread(Ok(Some(Stored::Holding(head, payload, body_at))));
        return not_served(Some(read), None);
    }
    let body = tracker.time(OP_PARSE, || {
        serde_json::from_slice::<Body>(&payload[body_at..])
    });
    match body {
        Ok(body) if body.packages.len() == head.packages => {
            let report = Report::new(
                expected.clone(),
                policy,
                body.packages,
                body.findings,
                body.unknowns,
            );
            Unread::Served(Unscanned {
                report: Box::new(report),
                packages: head.packages,
                issues: head.issues,
                fingerprint: head.fingerprint,
            })
        }
        Ok(_) => not_served(Some(Preread(Ok(None))), None),
        Err(e) => {
            let warning = rejected_because(&format!("its body does not parse: {e}"));
            not_served(Some(Preread(Ok(None))), Some(warning))
        }
    }
}

impl Head {
    /// Whether what the report was judged from besides the inputs still holds: no answer it
    /// used has turned stale, no judged date or age moved, and the bundle of answers of
    /// `target` is the one it was judged from (by the seal in the bundle's header).
    fn holds(&self, cache: &TieredCache, target: &TargetInfo) -> bool {
        let bundle_now = cache.local_seal(&snapshot::facts_key(target));
        OffsetDateTime::now_utc().unix_timestamp() < self.holds_until
            && self.bundle == bundle_now.map(Seal::to_hex)
    }
}

/// A stored report as read, its head parsed and its stamps checked.
enum Stored {
    /// The license files it read are unchanged: the head, the entry's payload and where the
    /// body starts in it.
    Holding(Box<Head>, LocalPayload, usize),
    /// A license file it read changed.
    Changed,
}

/// The stored entry of `target`, `None` when none is stored, or why it is rejected.
fn read_head(cache: &TieredCache, target: &TargetInfo) -> Result<Option<Stored>, String> {
    let payload = match cache.get_local(&key(target)) {
        LocalLookup::Fresh(payload) => payload,
        LocalLookup::Miss => return Ok(None),
        LocalLookup::Invalid(reason) => return Err(reason),
    };
    let split = (payload.iter().position(|&b| b == b'\n')).ok_or("it has no head line")?;
    let head: Head = serde_json::from_slice(&payload[..split])
        .map_err(|e| format!("its head does not parse: {e}"))?;
    Ok(Some(match stamps_hold(&head.license_files) {
        true => Stored::Holding(Box::new(head), payload, split + 1),
        false => Stored::Changed,
    }))
}

fn rejected(reason: &str) -> Read {
    Read::Rejected(rejected_because(reason))
}

/// The warning for a stored report that does not verify or parse.
fn rejected_because(reason: &str) -> String {
    format!("stored report ignored ({reason}); every answer looked up and judged again")
}

/// Whether every stamp still vouches for the license files of its metadata directory.
fn stamps_hold(stamps: &[(PathBuf, FilesStamp)]) -> bool {
    let held = crate::parallel::map_chunks(stamps, STAMPS_PARALLEL_FROM, |part| {
        vec![part.iter().all(|(dir, stamp)| stamp.holds(dir))]
    });
    held.into_iter().all(|holds| holds)
}

/// What a finished run's report was judged from, for [`store`].
pub(super) struct Provenance {
    /// Every answer came from the cache, fresh, and every source answered.
    pub answered_from_cache: bool,
    /// The stamps of the license files read, by metadata directory (`None`: some are not
    /// vouched for).
    pub license_files: Option<Vec<(PathBuf, FilesStamp)>>,
    /// The bundle of answers as the run used or stored it, and when the first answer the run
    /// used turns stale (`None`: it used none).
    pub bundle: Option<Seal>,
    pub answers_fresh_until: Option<u64>,
    /// From [`super::evaluate::holds_until`].
    pub judged_until: OffsetDateTime,
}

/// What to store `report` with, as judged from `inputs` and `provenance` (see [`store`]), or
/// `None` when it must not be reused (see the module doc).
pub(super) fn judged(
    inputs: &Inputs,
    likely: Option<&Likely>,
    provenance: Provenance,
    inventory: &Inventory,
    fingerprint: &str,
) -> Option<Judged> {
    if !provenance.answered_from_cache {
        return None;
    }
    let answers_until =
        (provenance.answers_fresh_until).map_or(i64::MAX, |t| i64::try_from(t).unwrap_or(i64::MAX));
    Some(Judged(Head {
        likely: likely.map(|l| l.0.clone()),
        settings: inputs.settings.0.clone(),
        inventory: inputs.inventory.clone(),
        followed: Followed::of(&inventory.followed),
        packages: inventory.distributions.len(),
        issues: inventory.issues.len(),
        fingerprint: fingerprint.to_string(),
        bundle: provenance.bundle.map(Seal::to_hex),
        holds_until: answers_until.min(provenance.judged_until.unix_timestamp()),
        license_files: provenance.license_files?,
    }))
}

/// What a report to store was judged from ([`judged`]).
pub(super) struct Judged(Head);

/// Stores `report`, judged as `judged` says, as the target's: serialised once to count its
/// bytes, then again straight into the cache file (at 10,000 packages 8 MB that are never
/// held in memory on top of the report: the first warm run after a change peaked 10 MB
/// higher with a buffer).
pub(super) async fn store(
    cache: &TieredCache,
    target: &TargetInfo,
    judged: Judged,
    report: &Report,
) {
    let body = BodyRef {
        packages: &report.packages,
        findings: &report.findings,
        unknowns: &report.unknowns,
    };
    let write = |out: &mut dyn std::io::Write| {
        serde_json::to_writer(&mut *out, &judged.0)?;
        out.write_all(b"\n")?;
        Ok(serde_json::to_writer(&mut *out, &body)?)
    };
    let mut counted = Counted(0);
    if let Err(e) = write(&mut counted) {
        tracing::warn!(error = %e, "stored report not serialised");
        return;
    }
    cache
        .put_local_streamed(&key(target), TTL, counted.0, write)
        .await;
}

/// A writer that only counts.
struct Counted(u64);

impl std::io::Write for Counted {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0 += bytes.len() as u64;
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provenance(answers_fresh_until: Option<u64>, judged_until: i64) -> Provenance {
        Provenance {
            answered_from_cache: true,
            license_files: Some(Vec::new()),
            bundle: Some(Seal([7; 32])),
            answers_fresh_until,
            judged_until: OffsetDateTime::from_unix_timestamp(judged_until).unwrap(),
        }
    }

    #[test]
    fn a_report_holds_until_its_first_answer_turns_stale_or_its_judgment_ages() {
        let inventory = Inventory::default();
        let inputs = inputs(SettingsInputs("settings".into()), &inventory);
        let holds =
            |p| judged(&inputs, None, p, &inventory, "").map(|Judged(head)| head.holds_until);
        assert_eq!(holds(provenance(Some(2_000), 3_000)), Some(2_000));
        assert_eq!(holds(provenance(Some(4_000), 3_000)), Some(3_000));
        // No answer used (registry and vulnerabilities off): the judgment alone.
        assert_eq!(holds(provenance(None, 3_000)), Some(3_000));
        let Some(Judged(head)) = judged(&inputs, None, provenance(None, 3_000), &inventory, "")
        else {
            panic!("stored");
        };
        assert_eq!(head.bundle, Some(Seal([7; 32]).to_hex()));
    }

    #[test]
    fn a_report_left_to_the_network_or_to_unstamped_files_is_not_stored() {
        let inventory = Inventory::default();
        let inputs = inputs(SettingsInputs("settings".into()), &inventory);
        let asked = Provenance {
            answered_from_cache: false,
            ..provenance(None, 3_000)
        };
        assert!(judged(&inputs, None, asked, &inventory, "").is_none());
        let unstamped = Provenance {
            license_files: None,
            ..provenance(None, 3_000)
        };
        assert!(judged(&inputs, None, unstamped, &inventory, "").is_none());
    }
}
