//! The run snapshot: what earlier runs on the same target worked out locally, kept in one entry
//! of the file cache so that a warm or offline run reuses it instead of working it out again.
//!
//! It holds each distribution's resolved license (identifying license texts against the SPDX
//! templates is most of an offline run's work), keyed by a fingerprint of that distribution's
//! license metadata and metadata directory. An entry whose resolution read license files also
//! keeps their digest, re-checked (read and hashed, not identified) before reuse; so an edited
//! METADATA or license file re-resolves that distribution alone. Policy is not in it: the policy
//! is applied to the facts at every run. Nothing in it has a source TTL (a license follows from
//! the bytes it was read from), so the entry lives [`TTL`] and is rewritten whenever it changes.
//!
//! The snapshot is untrusted input like any cache entry: the file cache's envelope rejects a
//! corrupt, truncated or foreign-format file, the key names this build's license resolver
//! ([`crate::checks::licenses::RESOLVER_BUILD`]) and the snapshot format, and a payload that
//! does not parse is rejected too. A rejected snapshot is reported and the run resolves every
//! license again; it is never read as an answer.

use std::collections::HashMap;
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
const FORMAT: u32 = 1;
/// How long an unchanged snapshot is kept: licenses do not expire, but a target not checked
/// for this long need not occupy the cache.
pub(super) const TTL: Duration = Duration::from_secs(30 * 86_400);

/// Operation names in the run's metrics: a license resolved, a license reused from the snapshot.
pub(super) const OP_RESOLVE: &str = "license.resolve";
pub(super) const OP_REUSE: &str = "license.reuse";
const OP_LOAD: &str = "snapshot.load";

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct Snapshot {
    /// By [`license_inputs`].
    licenses: HashMap<String, LicenseEntry>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct LicenseEntry {
    /// Digest of the license files the resolution read; `None`: it read none.
    files: Option<String>,
    license: ResolvedLicense,
}

/// The snapshot's key for an inventory target.
fn key(target: &TargetInfo) -> CacheKey {
    let mut site_packages = Fingerprinter::new();
    for dir in &target.site_packages {
        site_packages.part(dir);
    }
    CacheKey::new(
        KIND,
        "",
        format!("{}:{}:{}", target.kind, target.path, site_packages.finish()),
        format!("{}:{FORMAT}", licenses::RESOLVER_BUILD),
    )
}

/// What a snapshot load found.
pub(super) struct Loaded {
    pub previous: Snapshot,
    /// Why a stored snapshot was rejected, when one was.
    pub rejected: Option<String>,
}

/// The target's snapshot, or an empty one (none stored, cache off, `--refresh`, or rejected).
pub(super) fn load(cache: Option<&TieredCache>, target: &TargetInfo, tracker: &Tracker) -> Loaded {
    let empty = |rejected| Loaded {
        previous: Snapshot::default(),
        rejected,
    };
    let Some(cache) = cache else {
        return empty(None);
    };
    let _timer = tracker.start(OP_LOAD);
    match cache.get_local(&key(target)) {
        LocalLookup::Fresh(bytes) => match serde_json::from_slice(&bytes) {
            Ok(previous) => Loaded {
                previous,
                rejected: None,
            },
            Err(e) => empty(Some(format!("its contents do not parse: {e}"))),
        },
        LocalLookup::Miss => empty(None),
        LocalLookup::Invalid(reason) => empty(Some(reason)),
    }
}

/// Stores `snapshot` as the target's.
pub(super) async fn store(cache: &TieredCache, target: &TargetInfo, snapshot: &Snapshot) {
    match serde_json::to_vec(snapshot) {
        Ok(bytes) => cache.put_local(&key(target), &bytes, TTL).await,
        Err(e) => tracing::warn!(error = %e, "run snapshot not serialised"),
    }
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
    /// The snapshot to store, when it differs from the one loaded.
    pub changed: Option<Snapshot>,
}

/// The snapshot's entry for `d` while its inputs are unchanged (license files re-read and
/// hashed, not identified).
fn reuse(
    d: &Distribution,
    inputs: &str,
    previous: &Snapshot,
    tracker: &Tracker,
) -> Option<LicenseEntry> {
    let entry = previous.licenses.get(inputs)?;
    let started = std::time::Instant::now();
    let reusable = match (&entry.files, &d.location) {
        (None, _) => true,
        (Some(digest), Some(dir)) => {
            licenses::license_files_digest(&d.license.license_files, dir) == *digest
        }
        (Some(_), None) => false,
    };
    reusable.then(|| {
        tracker.record(OP_REUSE, started.elapsed());
        entry.clone()
    })
}

fn resolve(d: &Distribution, tracker: &Tracker) -> LicenseEntry {
    let (license, files) = tracker.time(OP_RESOLVE, || {
        licenses::resolve_traced(&d.license, d.location.as_deref())
    });
    LicenseEntry { files, license }
}

/// Below this many licenses to resolve a second thread costs more than it saves.
const PARALLEL_FROM: usize = 64;

/// Resolve every license, reusing `previous` where the inputs are unchanged. Reuse is checked
/// on this thread (a warm run starts no thread); what is left to resolve is split across the
/// cores when there is enough of it, since identifying license texts dominates (tens of
/// microseconds to milliseconds each against ~2 µs for metadata-only answers).
pub(super) fn resolve_licenses(
    dists: &[Distribution],
    previous: &Snapshot,
    tracker: &Tracker,
) -> Resolved {
    let mut entries: Vec<(String, Option<LicenseEntry>)> = dists
        .iter()
        .map(|d| {
            let inputs = license_inputs(d);
            let reused = reuse(d, &inputs, previous, tracker);
            (inputs, reused)
        })
        .collect();
    let missing: Vec<usize> = (0..dists.len())
        .filter(|&i| entries[i].1.is_none())
        .collect();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    let resolved: Vec<LicenseEntry> = if threads < 2 || missing.len() < PARALLEL_FROM {
        missing
            .iter()
            .map(|&i| resolve(&dists[i], tracker))
            .collect()
    } else {
        let chunk = missing.len().div_ceil(threads);
        std::thread::scope(|scope| {
            let parts: Vec<_> = missing
                .chunks(chunk)
                .map(|part| {
                    scope.spawn(move || {
                        part.iter()
                            .map(|&i| resolve(&dists[i], tracker))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            parts
                .into_iter()
                .flat_map(|part| part.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        })
    };
    let changed = !missing.is_empty();
    for (i, entry) in missing.into_iter().zip(resolved) {
        entries[i].1 = Some(entry);
    }
    let mut licenses = Vec::with_capacity(dists.len());
    let mut next = Snapshot::default();
    for ((inputs, entry), d) in entries.into_iter().zip(dists) {
        // Every entry was filled above; resolving is the safe answer if one were not.
        let entry = entry.unwrap_or_else(|| resolve(d, tracker));
        licenses.push(entry.license.clone());
        next.licenses.insert(inputs, entry);
    }
    // Unchanged when every answer was reused and no distribution went away.
    let changed = (changed || next.licenses.len() != previous.licenses.len()).then_some(next);
    Resolved { licenses, changed }
}
