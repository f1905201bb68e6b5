//! Exact-release licenses from the index's core metadata file (PEP 658/714): asked for only when
//! local metadata names no license (a pinned requirement has none) and the index's release
//! document names none either (or the index has no JSON API). The file is found and verified by
//! `sources::core_metadata`, parsed with the inventory's own core metadata parser; when its
//! fields name no license either, the wheel's license files are read with range requests
//! (`sources::lazy_wheel`) and identified by the same resolver as installed ones. The outcome is
//! kept in the release's `RegistryInfo` (so a cached answer keeps it).
//!
//! On a first run local licenses are resolved beside the fetches ([`Needs::resolve`]): a
//! release waits for its package's resolved license only when its document names none.

use std::path::{Component, Path};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::{JoinError, JoinHandle};

use crate::checks;
use crate::inventory::{Inventory, core_metadata};
use crate::model::{
    Distribution, IndexCoreMetadata, LicenseMetadata, Origin, RegistryInfo, ResolvedLicense,
};
use crate::sources::PypiClient;
use crate::sources::core_metadata::CoreMetadataFile;
use crate::sources::lazy_wheel::{WheelFile, WheelLicenses};
use crate::sources::simple::DistFile;
use crate::telemetry::tracker::Tracker;

use super::snapshot::{self, Resolved, Snapshot};

/// What the index is asked for a license local metadata leaves unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum LicenseNeed {
    /// Local metadata names it.
    Nothing,
    /// The core metadata file only: an installed wheel's own license files were already read
    /// (the index's copies are the same files).
    Metadata,
    /// The core metadata file, then the wheel's license files (pins, lockfiles, egg-info).
    MetadataAndFiles,
}

/// What `d` needs from the index, given what its local metadata resolved to.
pub(super) fn need(d: &Distribution, local: &ResolvedLicense) -> LicenseNeed {
    match (&local.expression, &d.origin) {
        (Some(_), _) => LicenseNeed::Nothing,
        (None, Origin::DistInfo) => LicenseNeed::Metadata,
        (None, _) => LicenseNeed::MetadataAndFiles,
    }
}

/// Each package's [`LicenseNeed`] (in inventory order), published when the local licenses are
/// resolved.
pub(super) struct Needs(watch::Receiver<Option<Arc<[LicenseNeed]>>>, LicenseStart);

/// When a first run starts identifying its license texts. Identification takes both cores for
/// tens of milliseconds (136 packages: ~25 ms of CPU), and beside the run's first TLS handshake
/// and first burst of requests it slowed them (the handshake took 5–13 ms instead of 4–5; the
/// run's last answer came ~10 ms later; started at the first connect, it still spread that
/// burst's sends over ~13 ms instead of ~3): it waits for the first burst of requests to be
/// out (`HttpClient::first_burst_sent`), for a release to need a license, for the fetches to
/// end, or for [`LICENSES_WAIT_AT_MOST`], whichever comes first. The answers take a latency to
/// come; the licenses fit in it.
#[derive(Clone)]
pub(super) struct LicenseStart(Arc<Mutex<Option<Sender<()>>>>);

/// The longest a first run's license identification waits (a connection still not made by
/// then is slow enough for the licenses not to matter beside it).
const LICENSES_WAIT_AT_MOST: Duration = Duration::from_millis(250);

impl LicenseStart {
    fn new() -> (Self, Receiver<()>) {
        let (go, wait) = std::sync::mpsc::channel();
        (LicenseStart(Arc::new(Mutex::new(Some(go)))), wait)
    }

    /// Start now (if not yet): the waiting thread wakes as the sender goes.
    pub(super) fn now(&self) {
        drop(self.0.lock().unwrap_or_else(|p| p.into_inner()).take());
    }
}

impl Needs {
    /// Resolves `inventory`'s licenses, reusing `previous` where it can. Without a previous
    /// snapshot (a first run: every license identified, tens of milliseconds) on a blocking
    /// thread beside the fetches; with one (mostly reuse checks, on threads that would only
    /// compete with the cache lookups for the cores: a warm 10,000-package run measured 80 ms
    /// slower) before them, as before.
    pub(super) async fn resolve(
        inventory: &Arc<Inventory>,
        previous: Snapshot,
        tracker: &Arc<Tracker>,
    ) -> Result<(Needs, Resolving, LicenseStart), JoinError> {
        let beside = previous == Snapshot::default();
        let (publish, needs) = watch::channel(None);
        let (inventory, tracker) = (inventory.clone(), tracker.clone());
        let (start, wait) = LicenseStart::new();
        // With a snapshot they are resolved before the fetches: nothing to wait for.
        if !beside {
            start.now();
        }
        let task = tokio::task::spawn_blocking(move || {
            if beside {
                let waiting = Instant::now();
                let _ = wait.recv_timeout(LICENSES_WAIT_AT_MOST);
                tracker.record("license.wait", waiting.elapsed());
            }
            let dists = &inventory.distributions;
            let resolved = snapshot::resolve_licenses(dists, &previous, &tracker);
            let found = dists.iter().zip(&resolved.licenses);
            publish.send_replace(Some(found.map(|(d, l)| need(d, l)).collect()));
            resolved
        });
        let resolving = if beside {
            Resolving::Beside(task)
        } else {
            Resolving::Done(task.await?)
        };
        Ok((Needs(needs, start.clone()), resolving, start))
    }

    /// The need of the `index`th package, awaited only when asked.
    pub(super) fn of(&self, index: usize) -> NeedOf<'_> {
        NeedOf { needs: self, index }
    }
}

/// The local licenses, resolved or being resolved beside the fetches.
pub(super) enum Resolving {
    Done(Resolved),
    Beside(JoinHandle<Resolved>),
}

impl Resolving {
    pub(super) async fn finish(self) -> Result<Resolved, JoinError> {
        match self {
            Resolving::Done(resolved) => Ok(resolved),
            Resolving::Beside(task) => task.await,
        }
    }
}

/// One package's place in [`Needs`].
pub(super) struct NeedOf<'a> {
    needs: &'a Needs,
    index: usize,
}

impl NeedOf<'_> {
    /// Waits for the resolution. If it failed (the run then ends with its error), nothing is
    /// asked of the index.
    pub(super) async fn get(&self) -> LicenseNeed {
        self.needs.1.now();
        let mut needs = self.needs.0.clone();
        let need = match needs.wait_for(Option::is_some).await {
            Ok(all) => (all.as_ref()).and_then(|all| all.get(self.index).copied()),
            Err(_) => None,
        };
        need.unwrap_or(LicenseNeed::Nothing)
    }
}

/// Whether the index could be worth asking whatever the local license: the release is on the
/// index and its document names no license ([`wanted`] decides with the need).
pub(super) fn may_want(info: &RegistryInfo) -> bool {
    info.on_index && super::evaluate::index_document_license(info).is_err()
}

/// Whether the index is worth asking: the release is on the index, its release document names
/// no license, and what `need` asks for was not asked before (a cached answer without the
/// wheel's files is asked again when they are needed now).
pub(super) fn wanted(info: &RegistryInfo, need: LicenseNeed) -> bool {
    let asked = match &info.core_metadata {
        None => false,
        Some(IndexCoreMetadata::Read {
            license_files: None,
            file,
            license,
        }) if need == LicenseNeed::MetadataAndFiles => !wheel_wanted(file, license),
        Some(_) => true,
    };
    need != LicenseNeed::Nothing && !asked && may_want(info)
}

/// The wheel's license files can add something: the file is a wheel and the fields are vague.
fn wheel_wanted(file: &str, license: &LicenseMetadata) -> bool {
    file.ends_with(".whl")
        && checks::licenses::resolve(license, None)
            .expression
            .is_none()
}

/// Ask for the core metadata file (and the wheel's license files when needed) and record what
/// they gave in `info`. Returns whether the outcome is the index's answer (worth caching)
/// rather than a failure to reach it.
pub(super) async fn complete(
    client: &PypiClient,
    (name, version): (&str, &str),
    files: Option<Vec<DistFile>>,
    need: LicenseNeed,
    info: &mut RegistryInfo,
) -> bool {
    let subject = format!("{name} {version}");
    let (outcome, cacheable) = match client.core_metadata(name, version, files).await {
        Ok(CoreMetadataFile::Read {
            filename,
            url,
            bytes,
        }) => {
            let mut outcome = read(filename, &bytes);
            let mut cacheable = true;
            if let IndexCoreMetadata::Read {
                file,
                license,
                license_files,
            } = &mut outcome
                && need == LicenseNeed::MetadataAndFiles
                && wheel_wanted(file, license)
            {
                let (found, answered) = from_wheel(client, &url, &subject, license).await;
                *license_files = Some(found);
                cacheable = answered;
            }
            (outcome, cacheable)
        }
        Ok(CoreMetadataFile::Unavailable(reason)) => {
            (IndexCoreMetadata::Unavailable { reason }, true)
        }
        Err(e) => {
            let reason = format!("could not be fetched ({e})");
            (IndexCoreMetadata::Unavailable { reason }, false)
        }
    };
    info.core_metadata = Some(outcome);
    cacheable
}

fn read(file: String, bytes: &[u8]) -> IndexCoreMetadata {
    match core_metadata::parse(bytes) {
        Ok(meta) => IndexCoreMetadata::Read {
            file,
            license: LicenseMetadata {
                expression: meta.license_expression,
                license_field: meta.license,
                classifiers: meta.license_classifiers,
                license_files: meta.license_files,
            },
            license_files: None,
        },
        Err(e) => IndexCoreMetadata::Unavailable {
            reason: format!("the file of {file} is not readable core metadata ({e})"),
        },
    }
}

/// The license as the metadata fields and the wheel's license files tell it, and whether the
/// index answered (a transport failure is not cached).
async fn from_wheel(
    client: &PypiClient,
    url: &str,
    subject: &str,
    license: &LicenseMetadata,
) -> (ResolvedLicense, bool) {
    let listed = &license.license_files;
    match client.wheel_license_files(url, subject, listed).await {
        Ok(WheelLicenses::Read(files)) => (resolve_with_files(license, &files), true),
        Ok(WheelLicenses::Unavailable(why)) => (unread(&why), true),
        Err(e) => (unread(&format!("could not be fetched: {e}")), false),
    }
}

fn unread(why: &str) -> ResolvedLicense {
    ResolvedLicense::unknown(format!("the wheel's license files were not read ({why})"))
}

/// Resolve as for an installed distribution: the files laid out as in the wheel's `.dist-info`
/// directory (a private temporary one), so the local license-file rules and bounds apply.
fn resolve_with_files(license: &LicenseMetadata, files: &[WheelFile]) -> ResolvedLicense {
    let dir = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(e) => return unread(&format!("no temporary directory: {e}")),
    };
    let mut written = Vec::new();
    for file in files {
        if let Some(path) = safe_join(dir.path(), &file.path)
            && let Some(parent) = path.parent()
            && std::fs::create_dir_all(parent).is_ok()
            && std::fs::write(&path, &file.bytes).is_ok()
        {
            written.push(file.path.clone());
        }
    }
    if written.is_empty() {
        return ResolvedLicense::unknown("the wheel has no license file in its .dist-info");
    }
    let mut meta = license.clone();
    if meta.license_files.is_empty() {
        meta.license_files = written;
    }
    checks::licenses::resolve(&meta, Some(dir.path()))
}

/// `relative` under `dir`, when it is plain path components only (from the wheel: untrusted).
fn safe_join(dir: &Path, relative: &str) -> Option<std::path::PathBuf> {
    let path = Path::new(relative);
    let plain = path.components().all(|c| matches!(c, Component::Normal(_)));
    (plain && !relative.is_empty()).then(|| dir.join(path))
}

#[cfg(test)]
mod tests {
    use futures_util::FutureExt;

    use super::*;

    #[tokio::test]
    async fn a_need_is_awaited_until_the_licenses_are_resolved() {
        let (publish, needs) = watch::channel(None);
        let needs = Needs(needs, LicenseStart::new().0);
        let second = needs.of(1);
        let waiting = second.get();
        tokio::pin!(waiting);
        assert!((&mut waiting).now_or_never().is_none(), "not resolved yet");
        let all: Arc<[LicenseNeed]> = Arc::new([LicenseNeed::Nothing, LicenseNeed::Metadata]);
        publish.send_replace(Some(all));
        assert_eq!(waiting.await, LicenseNeed::Metadata);
        // Asked again once published: answered at once.
        assert_eq!(needs.of(0).get().now_or_never(), Some(LicenseNeed::Nothing));
    }

    #[tokio::test]
    async fn a_failed_resolution_asks_nothing_of_the_index() {
        let (publish, needs) = watch::channel(None);
        drop(publish);
        assert_eq!(
            Needs(needs, LicenseStart::new().0).of(0).get().await,
            LicenseNeed::Nothing
        );
    }

    /// The waiting side as the resolution thread waits: `true` when it was started, `false`
    /// when it would have waited the whole (here: very long) bound.
    fn started_within_a_minute(wait: Receiver<()>) -> std::thread::JoinHandle<bool> {
        std::thread::spawn(move || {
            matches!(
                wait.recv_timeout(Duration::from_secs(60)),
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected)
            )
        })
    }

    #[tokio::test]
    async fn a_release_needing_a_license_starts_the_identification() {
        let (start, wait) = LicenseStart::new();
        let waiter = started_within_a_minute(wait);
        let (publish, needs) = watch::channel(None);
        let needs = Needs(needs, start);
        let asking = needs.of(0);
        let asked = asking.get();
        tokio::pin!(asked);
        // Asking starts the identification, and waits for it.
        assert!((&mut asked).now_or_never().is_none());
        assert!(
            waiter.join().unwrap(),
            "started by the need, not by the bound"
        );
        publish.send_replace(Some(Arc::new([LicenseNeed::Metadata])));
        assert_eq!(asked.await, LicenseNeed::Metadata);
    }

    #[test]
    fn any_copy_starts_it_once_and_again_is_harmless() {
        let (start, wait) = LicenseStart::new();
        let waiter = started_within_a_minute(wait);
        let copy = start.clone();
        copy.now();
        assert!(waiter.join().unwrap());
        start.now();
        copy.now();
    }
}
