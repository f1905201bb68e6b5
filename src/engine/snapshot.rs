//! The run snapshot: what earlier runs on the same target worked out locally, kept in one entry
//! of the file cache so that a warm or offline run reuses it instead of working it out again.
//!
//! It holds each distribution's resolved license (identifying license texts against the SPDX
//! templates is most of an offline run's work), keyed by a fingerprint of that distribution's
//! license metadata and metadata directory. An entry whose resolution read license files also
//! keeps their digest and an identity stamp of them (device, inode, size, mtime and ctime to the
//! nanosecond, as git's index and uv's cache judge files): while the stamp is unchanged the
//! files are not read; when it changed, or none vouches for them, they are re-read and hashed
//! (not identified) before reuse; so an edited METADATA or license file re-resolves that
//! distribution alone. Policy is not in it: the policy
//! is applied to the facts at every run. Nothing in it has a source TTL (a license follows from
//! the bytes it was read from), so the entry lives [`TTL`] and is rewritten whenever it changes.
//!
//! The snapshot is untrusted input like any cache entry: the file cache's envelope rejects a
//! corrupt, truncated or foreign-format file, the key names this build's license resolver
//! ([`crate::checks::licenses::RESOLVER_BUILD`]) and the snapshot format, and a payload that
//! does not parse is rejected too. A rejected snapshot is reported and the run resolves every
//! license again; it is never read as an answer.

use std::borrow::Cow;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::cache::{CacheKey, LocalLookup, TieredCache};
use crate::checks::licenses;
use crate::fingerprint::Fingerprinter;
use crate::model::{Distribution, ResolvedLicense, TargetInfo};
use crate::telemetry::tracker::Tracker;

/// Cache key kind of the snapshot.
const KIND: &str = "run-snapshot";
/// Layout of [`Snapshot`]; bump on any change to it.
const FORMAT: u32 = 2;
/// How long an unchanged snapshot is kept: licenses do not expire, but a target not checked
/// for this long need not occupy the cache.
pub(super) const TTL: Duration = Duration::from_secs(30 * 86_400);

/// Operation names in the run's metrics: a license resolved, a license reused from the snapshot.
pub(super) const OP_RESOLVE: &str = "license.resolve";
pub(super) const OP_REUSE: &str = "license.reuse";
/// A reuse check that had to read and hash license files (their identity stamp changed or
/// none vouched for them).
pub(super) const OP_VERIFY: &str = "license.verify";
const OP_LOAD: &str = "snapshot.load";
const OP_OPEN_BUNDLE: &str = "bundle.open";

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct Snapshot {
    /// By [`license_inputs`].
    licenses: HashMap<String, LicenseEntry>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct LicenseEntry {
    /// Digest of the license files the resolution read; `None`: it read none.
    files: Option<String>,
    /// [`licenses::license_files_stamp`] of those files, taken before they were read: while
    /// it is equal the files are not read again. `None`: no stamp vouches for them.
    stamp: Option<licenses::FilesStamp>,
    license: ResolvedLicense,
}

/// The snapshot's key for an inventory target.
fn key(target: &TargetInfo) -> CacheKey {
    target_key(
        KIND,
        target,
        format!("{}:{FORMAT}", licenses::RESOLVER_BUILD),
    )
}

/// A key of `kind` naming `target` (its kind, path and site-packages directories).
pub(super) fn target_key(kind: &'static str, target: &TargetInfo, version: String) -> CacheKey {
    let mut site_packages = Fingerprinter::new();
    for dir in &target.site_packages {
        site_packages.part(dir);
    }
    CacheKey::new(
        kind,
        "",
        format!("{}:{}:{}", target.kind, target.path, site_packages.finish()),
        version,
    )
}

/// Key of the target's bundle of the sources' answers ([`TieredCache::open_bundle`]): the
/// records the last run on this target read or stored, each with its own TTL, so that a warm
/// run reads one file. Which answers are needed follows from the inventory and the sources
/// (the records' keys), so the key names only the target.
pub(super) fn facts_key(target: &TargetInfo) -> CacheKey {
    target_key(FACTS_KIND, target, FACTS_FORMAT.to_string())
}

/// Cache key kind of the bundle of the sources' answers, and its layout's version.
const FACTS_KIND: &str = "run-facts";
const FACTS_FORMAT: u32 = 1;

/// What a snapshot load found.
pub(super) struct Loaded {
    pub previous: Snapshot,
    /// Warnings for the user: a stored snapshot that was rejected, and why.
    pub rejected: Vec<String>,
}

/// The target's snapshot, or an empty one (none stored, cache off, `--refresh`, or rejected).
pub(super) fn load(cache: Option<&TieredCache>, target: &TargetInfo, tracker: &Tracker) -> Loaded {
    let mut loaded = Loaded {
        previous: Snapshot::default(),
        rejected: Vec::new(),
    };
    let Some(cache) = cache else {
        return loaded;
    };
    let _timer = tracker.start(OP_LOAD);
    let rejected = match cache.get_local(&key(target)) {
        LocalLookup::Fresh(bytes) => match serde_json::from_slice(&bytes) {
            Ok(previous) => {
                loaded.previous = previous;
                None
            }
            Err(e) => Some(format!("its contents do not parse: {e}")),
        },
        LocalLookup::Miss => None,
        LocalLookup::Invalid(reason) => Some(reason),
    };
    loaded
        .rejected
        .extend(rejected.map(|reason| {
            format!("run snapshot ignored ({reason}); every license resolved again")
        }));
    loaded
}

/// Opens the target's bundle of the sources' answers in `cache` on a blocking thread of its
/// own (file I/O and a digest of megabytes at 10,000 packages): the run works out licenses
/// meanwhile, and only the fetch stage needs the bundle. Yields the warning for a stored
/// bundle that was rejected.
pub(super) fn open_bundle(
    cache: &TieredCache,
    target: &TargetInfo,
    tracker: &Arc<Tracker>,
) -> tokio::task::JoinHandle<Option<String>> {
    let (cache, key, tracker) = (cache.clone(), facts_key(target), tracker.clone());
    tokio::task::spawn_blocking(move || {
        let _timer = tracker.start(OP_OPEN_BUNDLE);
        let rejected = cache.open_bundle(&key)?;
        Some(format!(
            "bundle of cached answers ignored ({rejected}); answers read one by one"
        ))
    })
}

/// Stores `snapshot` (when it changed) as the target's.
pub(super) async fn store(cache: &TieredCache, target: &TargetInfo, snapshot: Option<&Snapshot>) {
    match snapshot.map(serde_json::to_vec) {
        Some(Ok(bytes)) => {
            cache.put_local(&key(target), &bytes, TTL).await;
        }
        Some(Err(e)) => tracing::warn!(error = %e, "run snapshot not serialised"),
        None => {}
    }
}

/// Once `drained` (the cache writer's last writes: they note what the bundle lacked) is over,
/// closes the bundle of the sources' answers (its memory is freed then) and stores it as the
/// target's when the run used answers it lacked, all on a blocking thread of its own: call it
/// once every answer has been looked up; the run goes on evaluating meanwhile, and awaits the
/// handle before it ends. The handle yields the seal of the bundle written, `None` when none
/// was.
pub(super) fn store_bundle(
    cache: &TieredCache,
    target: &TargetInfo,
    drained: Option<impl Future<Output = ()> + Send + 'static>,
) -> tokio::task::JoinHandle<Option<Option<crate::cache::Seal>>> {
    let (cache, key) = (cache.clone(), facts_key(target));
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        if let Some(drained) = drained {
            runtime.block_on(drained);
        }
        let payload = cache.close_bundle()?;
        Some(runtime.block_on(cache.put_local(&key, &payload, TTL)))
    })
}

/// Fingerprint of what a distribution's license resolution reads besides its license files.
fn license_inputs(d: &Distribution) -> String {
    let meta = &d.license;
    let mut f = Fingerprinter::new();
    let optional = |f: &mut Fingerprinter, value: Option<&str>| {
        match value {
            Some(v) => f.part([1]).part(v),
            None => f.part([0]),
        };
    };
    match &d.location {
        Some(path) => {
            use std::os::unix::ffi::OsStrExt;
            f.part([1]).part(path.as_os_str().as_bytes())
        }
        None => f.part([0]),
    };
    optional(&mut f, meta.expression.as_deref());
    optional(&mut f, meta.license_field.as_deref());
    f.part(meta.classifiers.len().to_le_bytes());
    for c in &meta.classifiers {
        f.part(c);
    }
    f.part(meta.license_files.len().to_le_bytes());
    for l in &meta.license_files {
        f.part(l);
    }
    f.finish()
}

/// Every distribution's license, in inventory order.
pub(super) struct Resolved {
    pub licenses: Vec<ResolvedLicense>,
    /// The identity stamps that vouch for every license file read, by distribution index;
    /// `None` when some read files no stamp vouches for.
    pub file_stamps: Option<Vec<(usize, licenses::FilesStamp)>>,
    /// The snapshot to store, when it differs from the one loaded.
    pub changed: Option<Snapshot>,
}

/// The snapshot's entry for `d` while its inputs are unchanged: license files whose identity
/// stamp is unchanged are taken as they were (borrowed: a warm run copies nothing it does not
/// store); otherwise they are re-read and hashed (not identified), and a matching digest gets
/// the new stamp (owned: the snapshot changed).
fn reuse<'a>(
    d: &Distribution,
    inputs: &str,
    previous: &'a Snapshot,
    tracker: &Tracker,
) -> Option<Cow<'a, LicenseEntry>> {
    let entry = previous.licenses.get(inputs)?;
    let started = std::time::Instant::now();
    let reused = match (&entry.files, &d.location) {
        (None, _) => Some(Cow::Borrowed(entry)),
        (Some(digest), Some(dir)) => {
            let listed = &d.license.license_files;
            if entry.stamp.as_ref().is_some_and(|s| s.holds(dir)) {
                Some(Cow::Borrowed(entry))
            } else {
                tracker.time(OP_VERIFY, || {
                    // Before the digest, so that a change while hashing leaves a stale stamp.
                    let stamp = licenses::license_files_stamp(listed, dir);
                    (licenses::license_files_digest(listed, dir) == *digest).then(|| {
                        if stamp == entry.stamp {
                            Cow::Borrowed(entry)
                        } else {
                            Cow::Owned(LicenseEntry {
                                stamp,
                                ..entry.clone()
                            })
                        }
                    })
                })
            }
        }
        (Some(_), None) => None,
    };
    if reused.is_some() {
        tracker.record(OP_REUSE, started.elapsed());
    }
    reused
}

fn resolve(d: &Distribution, tracker: &Tracker) -> LicenseEntry {
    let (license, files, stamp) = tracker.time(OP_RESOLVE, || {
        let stamp = (d.location.as_deref())
            .and_then(|dir| licenses::license_files_stamp(&d.license.license_files, dir));
        let (license, files) = licenses::resolve_traced(&d.license, d.location.as_deref());
        let stamp = files.as_ref().and(stamp);
        (license, files, stamp)
    });
    LicenseEntry {
        files,
        stamp,
        license,
    }
}

/// Below this many licenses to resolve a second thread costs more than it saves.
const PARALLEL_FROM: usize = 64;
/// Below this many reuse checks (~5 µs each: license files read and hashed) likewise.
const REUSE_PARALLEL_FROM: usize = 1_000;

/// `f` over `items`, in order; split across the cores from `from` items on.
fn par_map<T: Sync, R: Send>(items: &[T], from: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    crate::parallel::map_chunks(items, from, |part| part.iter().map(&f).collect())
}

/// Resolve every license, reusing `previous` where the inputs are unchanged. Reuse is checked
/// on this thread for a usual environment (a warm run of 136 packages starts no thread), and
/// split across the cores for thousands; what is left to resolve is split across the cores
/// when there is enough of it, since identifying license texts dominates (tens of
/// microseconds to milliseconds each against ~2 µs for metadata-only answers).
pub(super) fn resolve_licenses(
    dists: &[Distribution],
    previous: &Snapshot,
    tracker: &Tracker,
) -> Resolved {
    let mut entries: Vec<(String, Option<Cow<'_, LicenseEntry>>)> =
        par_map(dists, REUSE_PARALLEL_FROM, |d| {
            let inputs = license_inputs(d);
            let reused = reuse(d, &inputs, previous, tracker);
            (inputs, reused)
        });
    let missing: Vec<usize> = (0..dists.len())
        .filter(|&i| entries[i].1.is_none())
        .collect();
    let resolved = par_map(&missing, PARALLEL_FROM, |&i| resolve(&dists[i], tracker));
    for (i, entry) in missing.into_iter().zip(resolved) {
        entries[i].1 = Some(Cow::Owned(entry));
    }
    // Every entry was filled above; resolving is the safe answer if one were not.
    let entries: Vec<(String, Cow<'_, LicenseEntry>)> = (entries.into_iter().zip(dists))
        .map(|((inputs, entry), d)| {
            (
                inputs,
                entry.unwrap_or_else(|| Cow::Owned(resolve(d, tracker))),
            )
        })
        .collect();
    let licenses = (entries.iter())
        .map(|(_, entry)| entry.license.clone())
        .collect();
    let file_stamps = (entries.iter().enumerate())
        .filter(|(_, (_, entry))| entry.files.is_some())
        .map(|(i, (_, entry))| Some((i, entry.stamp.clone()?)))
        .collect();
    // Unchanged when every answer was reused as stored and no distribution went away (two
    // distributions with the same inputs share one entry).
    let unchanged = entries
        .iter()
        .all(|(_, entry)| matches!(entry, Cow::Borrowed(_)))
        && previous.licenses.len() == distinct(entries.iter().map(|(inputs, _)| inputs));
    let changed = (!unchanged).then(|| Snapshot {
        licenses: (entries.into_iter())
            .map(|(inputs, entry)| (inputs, entry.into_owned()))
            .collect(),
    });
    Resolved {
        licenses,
        file_stamps,
        changed,
    }
}

/// How many different strings `items` holds.
fn distinct<'a>(items: impl Iterator<Item = &'a String>) -> usize {
    let mut seen: Vec<&String> = items.collect();
    seen.sort_unstable();
    seen.dedup();
    seen.len()
}
