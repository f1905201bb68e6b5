//! Scanning site-packages directories for installed distributions, with pip's semantics.
//!
//! What `pip list` shows (pip's `importlib` backend, the default on Python 3.11+), and so what
//! this scan reproduces:
//! - Locations are searched in `sys.path` order: each site-packages directory, then the
//!   targets of its `*.egg-link` files, then the directories its `*.pth` files add (pth files in
//!   name order, lines in file order; `import` lines are code and are not run).
//! - In one directory every `*.dist-info` and `*.egg-info` (directory, or a single file written
//!   by distutils) counts. Identity is the PEP 503 form of the name in the directory name
//!   (`name-version.dist-info`, `name-version-pyX.Y.egg-info`), falling back to `Name:` only
//!   when the directory has no name; a `Name:` that disagrees is reported and not used.
//! - When two entries share a name, the first one found wins: the earlier location, and within
//!   one directory the earlier entry in directory (readdir) order — `importlib.metadata` groups
//!   a directory's entries by name in `os.listdir` order and pip keeps the first of each name.
//!   The shadowed ones are reported as issues, and still listed and checked: a vulnerable
//!   copy on disk is a finding even when pip would not show it.
//! - For `*.dist-info` the version in the directory name wins over `Version:` (pip reads it
//!   there); a disagreement is reported. Versions are shown in PEP 440 normal form when valid.
//! - Names pip refuses (`~umpy-1.0.dist-info` leftovers) and the names pip treats as standard
//!   library (`python`, `wsgiref`, `argparse`) are not listed; each one becomes an issue.
//! - A `*.dist-info` whose metadata is missing or unusable is still listed from its directory
//!   name (pip lists it too), with an issue; without a name and version it is left out, with an
//!   issue.

use std::collections::{HashMap, HashSet};
use std::ffi::OsStr;
use std::fs::{self, FileType};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Instant;

use pep440_rs::Version;

use super::core_metadata::{self, CoreMetadata, MAX_HEADER_BYTES, MetadataError};
use super::{Inventory, InventoryIssue};
use crate::model::{Distribution, LicenseMetadata, Origin, TargetInfo, normalize_name};
use crate::safe_fs::{self, limits};
use crate::telemetry::tracker::Tracker;

/// Names `pip list` never shows (pip's `stdlib_pkgs`).
const PIP_STDLIB_NAMES: [&str; 3] = ["python", "wsgiref", "argparse"];

/// First read of a metadata file; headers longer than this are read in growing chunks. 95 % of
/// real headers are under 4 KiB (the body after them is often tens of KiB and is never read).
const FIRST_READ_BYTES: usize = 4 * 1024;

/// From this many metadata files on, reads are split over the available cores. Measured on the
/// 2-core target (`scan_*_threads` benches, and a real 187-package venv): with the second core
/// free, two threads are up to ~30 % faster (5,000 generated: 33 vs 50 ms best case); with it
/// busy they are as often slower. Measured as a whole `depdash check` process on a real
/// 173-package venv (hyperfine, 60 runs): 9.6 ms with one reader thread, 8.0 ms with two, so
/// from a hundred files on the split pays for its thread start.
const PARALLEL_MIN_FILES: usize = 100;

/// Scan site-packages directories (in `sys.path` order) for installed distributions. Never
/// fails: unreadable directories and broken metadata become issues.
pub fn scan_site_packages(dirs: &[PathBuf], tracker: &Tracker) -> Inventory {
    scan_site_packages_with_threads(dirs, tracker, None)
}

/// [`scan_site_packages`] with a fixed number of reader threads (`None`: chosen by size).
/// For benchmarks comparing one thread with several.
#[doc(hidden)]
pub fn scan_site_packages_with_threads(
    dirs: &[PathBuf],
    tracker: &Tracker,
    threads: Option<usize>,
) -> Inventory {
    let _timer = tracker.start("inventory.scan");
    let mut issues = Vec::new();
    let mut listing = Listing::default();
    for dir in dirs {
        listing.visit(dir, LocationKind::SitePackages, &mut issues);
    }
    let threads = threads.unwrap_or_else(|| reader_threads(listing.candidates.len()));
    let read = read_all(&listing.candidates, tracker, threads);

    let mut winners: HashMap<String, usize> = HashMap::new();
    let mut distributions: Vec<Distribution> = Vec::new();
    for (candidate, read) in listing.candidates.iter().zip(read) {
        let Some((key, mut dist)) = build(candidate, read, &mut issues) else {
            continue;
        };
        if !is_valid_project_name(&key) {
            issues.push(
                InventoryIssue::new(
                    &candidate.path,
                    "not listed: not a valid project name (pip ignores it too; a `~` prefix is \
                     left by an interrupted pip run)",
                )
                .for_package(&dist.name),
            );
            continue;
        }
        if PIP_STDLIB_NAMES.contains(&key.as_str()) {
            issues.push(
                InventoryIssue::new(
                    &candidate.path,
                    "not listed: pip treats this name as part of the standard library and \
                     hides it from `pip list`",
                )
                .for_package(&dist.name),
            );
            continue;
        }
        // A shadowed copy is still on disk and importable by whatever puts its directory
        // first: it is listed and checked too (a vulnerable shadowed copy is a finding).
        if let Some(&kept) = winners.get(&key) {
            let winner: &Distribution = &distributions[kept];
            issues.push(
                InventoryIssue::new(
                    &candidate.path,
                    format!(
                        "duplicate installation of {} {}: shadowed by {} at {}, which comes first \
                         on sys.path (or in directory order) and is the one pip lists; both \
                         copies are checked",
                        dist.name,
                        dist.version,
                        winner.version,
                        location_text(winner)
                    ),
                )
                .for_package(&dist.name),
            );
            dist.shadowed = true;
        } else {
            winners.insert(key, distributions.len());
        }
        distributions.push(dist);
    }
    let distributions = sorted_by_name(distributions);
    let mut followed = std::mem::take(&mut listing.followed);
    for candidate in &listing.candidates {
        followed.push(candidate.path.clone());
        followed.extend(metadata_files(candidate));
    }
    Inventory {
        distributions,
        issues,
        followed,
        target: TargetInfo {
            path: dirs
                .first()
                .map(|d| d.display().to_string())
                .unwrap_or_default(),
            ..environment_target(&listing.scanned)
        },
        ..Inventory::default()
    }
}

/// The target of an environment whose scanned directories are `scanned` (its path is set by
/// the caller).
pub(super) fn environment_target(scanned: &[PathBuf]) -> TargetInfo {
    TargetInfo {
        kind: "environment".to_string(),
        path: String::new(),
        site_packages: scanned.iter().map(|d| d.display().to_string()).collect(),
    }
}

/// `distributions` by normalised name, then location. The order is worked out on indices and
/// each distribution moved once: sorting the values themselves moved every one (hundreds of
/// bytes) at each step of the sort, a fifth of a 10,000-package scan's CPU time.
fn sorted_by_name(distributions: Vec<Distribution>) -> Vec<Distribution> {
    let mut order: Vec<usize> = (0..distributions.len()).collect();
    order.sort_by(|&a, &b| {
        let (a, b) = (&distributions[a], &distributions[b]);
        (a.normalized.cmp(&b.normalized)).then_with(|| a.location.cmp(&b.location))
    });
    let mut slots: Vec<Option<Distribution>> = distributions.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| slots[i].take()).collect()
}

fn location_text(dist: &Distribution) -> String {
    dist.location
        .as_deref()
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum InfoKind {
    DistInfo,
    EggInfo,
}

/// One `*.dist-info` / `*.egg-info` entry of a scanned directory.
struct Candidate {
    path: PathBuf,
    file_name: String,
    kind: InfoKind,
    file_type: Option<FileType>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum LocationKind {
    /// A site-packages directory: its `.pth` files add locations.
    SitePackages,
    /// Added by a `.pth` file or an `.egg-link`: scanned for distributions only.
    Added,
}

#[derive(Default)]
struct Listing {
    seen: HashSet<PathBuf>,
    scanned: Vec<PathBuf>,
    candidates: Vec<Candidate>,
    /// Directories listed, `.pth` and `.egg-link` files read and the paths they name.
    followed: Vec<PathBuf>,
}

impl Listing {
    fn visit(&mut self, dir: &Path, kind: LocationKind, issues: &mut Vec<InventoryIssue>) {
        // Canonical paths make `lib64 -> lib` and repeated sys.path entries count once, and a
        // symlink loop fails here (ELOOP) instead of recursing.
        let canonical = match fs::canonicalize(dir) {
            Ok(canonical) => canonical,
            Err(err) => {
                if kind == LocationKind::SitePackages {
                    issues.push(
                        InventoryIssue::new(
                            dir,
                            format!("cannot open site-packages directory: {err}"),
                        )
                        .blocking(),
                    );
                }
                return;
            }
        };
        if !self.seen.insert(canonical) {
            return;
        }
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(err) => {
                issues.push(
                    InventoryIssue::new(dir, format!("cannot list directory: {err}")).blocking(),
                );
                return;
            }
        };
        self.scanned.push(dir.to_path_buf());
        self.followed.push(dir.to_path_buf());
        let mut pth_files = Vec::new();
        let mut egg_links = Vec::new();
        for entry in entries {
            let entry = match entry {
                Ok(entry) => entry,
                Err(err) => {
                    issues.push(
                        InventoryIssue::new(dir, format!("error while listing directory: {err}"))
                            .blocking(),
                    );
                    break;
                }
            };
            let name = entry.file_name();
            let bytes = name.as_encoded_bytes();
            let kind = if ends_with_ignore_case(bytes, b".dist-info") {
                InfoKind::DistInfo
            } else if ends_with_ignore_case(bytes, b".egg-info") {
                InfoKind::EggInfo
            } else {
                if bytes.ends_with(b".pth") {
                    pth_files.push(entry.path());
                } else if bytes.ends_with(b".egg-link") {
                    egg_links.push(entry.path());
                }
                continue;
            };
            self.candidates.push(Candidate {
                path: entry.path(),
                file_name: name.to_string_lossy().into_owned(),
                kind,
                file_type: entry.file_type().ok(),
            });
        }
        for link in egg_links {
            self.followed.push(link.clone());
            if let Some(target) = egg_link_target(dir, &link) {
                self.followed.push(target.clone());
                self.visit(&target, LocationKind::Added, issues);
            }
        }
        if kind == LocationKind::SitePackages {
            pth_files.sort();
            for pth in pth_files {
                self.followed.push(pth.clone());
                for added in pth_directories(dir, &pth, issues) {
                    // Named, whether or not it exists now.
                    self.followed.push(added.clone());
                    if added.is_dir() {
                        self.visit(&added, LocationKind::Added, issues);
                    }
                }
            }
        }
    }
}

fn ends_with_ignore_case(name: &[u8], suffix: &[u8]) -> bool {
    name.len() > suffix.len() && name[name.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
}

/// The directories a `.pth` file names, as `site.addpackage` reads it: every line that is not
/// blank, a comment or an `import` statement is a path relative to the site directory (added
/// when it is a directory).
fn pth_directories(site_dir: &Path, pth: &Path, issues: &mut Vec<InventoryIssue>) -> Vec<PathBuf> {
    let text = match safe_fs::read_regular_text(pth, limits::INPUT_FILE) {
        Ok((text, _)) => text,
        Err(err) => {
            issues
                .push(InventoryIssue::new(pth, format!("cannot read .pth file: {err}")).blocking());
            return Vec::new();
        }
    };
    text.lines()
        .filter(|line| {
            !line.starts_with('#')
                && !line.trim().is_empty()
                && !line.starts_with("import ")
                && !line.starts_with("import\t")
        })
        .map(|line| site_dir.join(line.trim_end()))
        .collect()
}

/// The directory a legacy `.egg-link` points at (first non-blank line, relative to its dir).
fn egg_link_target(site_dir: &Path, link: &Path) -> Option<PathBuf> {
    let (text, _) = safe_fs::read_regular_text(link, limits::SMALL_FILE).ok()?;
    let target = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    Some(site_dir.join(target))
}

/// Every file [`read_candidate`] may read for `candidate` (present or not).
fn metadata_files(candidate: &Candidate) -> Vec<PathBuf> {
    match candidate.kind {
        InfoKind::DistInfo => vec![candidate.path.join("METADATA")],
        InfoKind::EggInfo if candidate.file_type.is_some_and(|t| t.is_file()) => Vec::new(),
        InfoKind::EggInfo => vec![
            candidate.path.join("PKG-INFO"),
            candidate.path.join("requires.txt"),
        ],
    }
}

/// What reading one candidate's metadata produced.
struct ReadOutcome {
    metadata_path: PathBuf,
    metadata: Result<CoreMetadata, ReadProblem>,
    /// The header did not end within [`MAX_HEADER_BYTES`].
    capped: bool,
    /// `requires.txt` of an egg-info directory, read when `Requires-Dist` is absent.
    egg_requires: Option<Vec<String>>,
}

enum ReadProblem {
    Missing,
    Io(io::Error),
    Parse(MetadataError),
}

fn reader_threads(files: usize) -> usize {
    if files < PARALLEL_MIN_FILES {
        return 1;
    }
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(files / (PARALLEL_MIN_FILES / 2))
        .max(1)
}

fn read_all(candidates: &[Candidate], tracker: &Tracker, threads: usize) -> Vec<ReadOutcome> {
    if threads <= 1 || candidates.len() < 2 {
        let mut buf = Vec::new();
        return candidates
            .iter()
            .map(|c| read_candidate(c, &mut buf, tracker))
            .collect();
    }
    let chunk = candidates.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = candidates
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    let mut buf = Vec::new();
                    part.iter()
                        .map(|c| read_candidate(c, &mut buf, tracker))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut out = Vec::with_capacity(candidates.len());
        for (handle, part) in handles.into_iter().zip(candidates.chunks(chunk)) {
            match handle.join() {
                Ok(results) => out.extend(results),
                // A panic in a reader thread is a bug; keep the inventory honest anyway.
                Err(_) => out.extend(part.iter().map(|c| ReadOutcome {
                    metadata_path: c.path.clone(),
                    metadata: Err(ReadProblem::Io(io::Error::other("reader thread panicked"))),
                    capped: false,
                    egg_requires: None,
                })),
            }
        }
        out
    })
}

fn read_candidate(candidate: &Candidate, buf: &mut Vec<u8>, tracker: &Tracker) -> ReadOutcome {
    let started = Instant::now();
    let (metadata_path, read) = match candidate.kind {
        InfoKind::DistInfo => {
            let path = candidate.path.join("METADATA");
            let read = read_header(&path, buf);
            (path, read)
        }
        InfoKind::EggInfo if candidate.file_type.is_some_and(|t| t.is_file()) => {
            (candidate.path.clone(), read_header(&candidate.path, buf))
        }
        InfoKind::EggInfo => {
            let path = candidate.path.join("PKG-INFO");
            match read_header(&path, buf) {
                // A symlinked single-file egg-info: the link's target is the metadata itself.
                Err(err) if err.kind() == io::ErrorKind::NotADirectory => {
                    (candidate.path.clone(), read_header(&candidate.path, buf))
                }
                other => (path, other),
            }
        }
    };
    let (metadata, capped) = match read {
        Ok(capped) => (
            core_metadata::parse(buf).map_err(ReadProblem::Parse),
            capped,
        ),
        Err(err) if err.kind() == io::ErrorKind::NotFound => (Err(ReadProblem::Missing), false),
        Err(err) => (Err(ReadProblem::Io(err)), false),
    };
    tracker.record("metadata.parse", started.elapsed());
    let egg_requires = match (&metadata, candidate.kind) {
        (Ok(meta), InfoKind::EggInfo)
            if meta.requires_dist.is_empty() && metadata_path != candidate.path =>
        {
            safe_fs::read_regular_text(&candidate.path.join("requires.txt"), limits::INPUT_FILE)
                .ok()
                .map(|(text, _)| egg_info_requires(&text))
        }
        _ => None,
    };
    ReadOutcome {
        metadata_path,
        metadata,
        capped,
        egg_requires,
    }
}

/// Read the start of a metadata file into `buf`, up to the blank line ending its header (or
/// EOF). Returns whether the header was cut at [`MAX_HEADER_BYTES`].
fn read_header(path: &Path, buf: &mut Vec<u8>) -> io::Result<bool> {
    buf.clear();
    let mut file = safe_fs::open_regular(path).map_err(io::Error::from)?;
    loop {
        let start = buf.len();
        let want = FIRST_READ_BYTES.max(start).min(MAX_HEADER_BYTES - start);
        buf.resize(start + want, 0);
        let read = loop {
            match file.read(&mut buf[start..]) {
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        let read = match read {
            Ok(read) => read,
            Err(err) => {
                buf.truncate(start);
                return Err(err);
            }
        };
        buf.truncate(start + read);
        if read == 0 {
            return Ok(false);
        }
        if let Some(end) = core_metadata::header_end(buf, start) {
            buf.truncate(end);
            return Ok(false);
        }
        if buf.len() >= MAX_HEADER_BYTES {
            return Ok(true);
        }
    }
}

/// `requires.txt` of an egg-info as `Requires-Dist` strings, the way pip converts it.
fn egg_info_requires(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (mut extra, mut marker) = (String::new(), String::new());
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let (e, m) = section.split_once(':').unwrap_or((section, ""));
            extra = normalize_name(e);
            marker = m.trim().to_string();
            continue;
        }
        out.push(match (extra.is_empty(), marker.is_empty()) {
            (true, true) => line.to_string(),
            (true, false) => format!("{line} ; {marker}"),
            (false, true) => format!("{line} ; extra == \"{extra}\""),
            (false, false) => format!("{line} ; ({marker}) and extra == \"{extra}\""),
        });
    }
    out
}

/// Name and version as pip reads them from the metadata directory's name.
fn names_from_file_name(file_name: &str, kind: InfoKind) -> (Option<&str>, Option<&str>) {
    let stem = &file_name[..file_name.len() - if kind == InfoKind::DistInfo { 10 } else { 9 }];
    match kind {
        InfoKind::DistInfo => match stem.split_once('-') {
            Some((name, version)) => (non_empty(name), non_empty(version)),
            None => (None, None),
        },
        InfoKind::EggInfo => (non_empty(stem.split('-').next().unwrap_or("")), None),
    }
}

fn non_empty(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

/// Turn a candidate and its metadata into a distribution (and its identity key), recording
/// every problem on the way.
fn build(
    candidate: &Candidate,
    read: ReadOutcome,
    issues: &mut Vec<InventoryIssue>,
) -> Option<(String, Distribution)> {
    let (dir_name, dir_version) = names_from_file_name(&candidate.file_name, candidate.kind);
    let what = match candidate.kind {
        InfoKind::DistInfo => "dist-info",
        InfoKind::EggInfo => "egg-info",
    };
    let mut local_issues = Vec::new();
    let meta = match read.metadata {
        Ok(meta) => {
            for defect in &meta.defects {
                local_issues.push(InventoryIssue::new(&read.metadata_path, defect.to_string()));
            }
            meta
        }
        Err(problem) => {
            let message = match problem {
                ReadProblem::Missing => format!(
                    "{what} has no {} file",
                    read.metadata_path
                        .file_name()
                        .and_then(OsStr::to_str)
                        .unwrap_or("metadata")
                ),
                ReadProblem::Io(err) => format!("cannot read metadata: {err}"),
                ReadProblem::Parse(err) => err.to_string(),
            };
            local_issues.push(InventoryIssue::new(&read.metadata_path, message));
            CoreMetadata::default()
        }
    };
    if read.capped {
        local_issues.push(InventoryIssue::new(
            &read.metadata_path,
            format!(
                "metadata header does not end within {} MiB; only that much was read",
                MAX_HEADER_BYTES / (1024 * 1024)
            ),
        ));
    }

    let name = match (&meta.name, dir_name) {
        (Some(name), _) => name.trim().to_string(),
        (None, Some(dir_name)) => {
            local_issues.push(InventoryIssue::new(
                &read.metadata_path,
                "no Name in metadata; name taken from the directory name",
            ));
            dir_name.to_string()
        }
        (None, None) => {
            local_issues.push(
                InventoryIssue::new(
                    &candidate.path,
                    format!("not listed: {what} has no readable name"),
                )
                .blocking(),
            );
            flush(issues, local_issues, None);
            return None;
        }
    };
    // The directory's name is the identity (pip's): a METADATA edited, truncated or garbled
    // must not turn a package into another one, nor hide it from the advisory lookup.
    let key = normalize_name(dir_name.unwrap_or(&name));
    let name = if normalize_name(&name) != key {
        local_issues.push(InventoryIssue::new(
            &read.metadata_path,
            format!(
                "Name `{}` does not match the directory name `{}`; identified (and checked) as \
                 `{}`, from the directory name, as pip does",
                name.escape_debug(),
                candidate.file_name,
                dir_name.unwrap_or(&name)
            ),
        ));
        dir_name.unwrap_or(&name).to_string()
    } else {
        name
    };
    let normalized = key.clone();

    let version = match (dir_version, meta.version.as_deref()) {
        (Some(from_dir), Some(from_meta)) => {
            let shown = pip_version(from_dir, Some(from_meta));
            if pip_version(from_meta, None) != shown {
                local_issues.push(InventoryIssue::new(
                    &read.metadata_path,
                    format!(
                        "Version `{from_meta}` disagrees with the directory name `{}`; pip \
                         shows the directory's",
                        candidate.file_name
                    ),
                ));
            }
            shown
        }
        (None, Some(from_meta)) => pip_version(from_meta, None),
        (Some(from_dir), None) => {
            local_issues.push(InventoryIssue::new(
                &read.metadata_path,
                "no Version in metadata; version taken from the directory name",
            ));
            pip_version(from_dir, None)
        }
        (None, None) => {
            local_issues.push(
                InventoryIssue::new(
                    &candidate.path,
                    format!("not listed: {what} has no readable version"),
                )
                .blocking(),
            );
            flush(issues, local_issues, Some(&name));
            return None;
        }
    };

    let license_files = resolve_license_files(&meta, candidate.kind);
    let requires_dist = match read.egg_requires {
        Some(requires) => requires,
        None => meta.requires_dist,
    };
    flush(issues, local_issues, Some(&name));
    Some((
        key,
        Distribution {
            name,
            normalized,
            version,
            requires_dist,
            license: LicenseMetadata {
                expression: meta.license_expression,
                license_field: meta.license,
                classifiers: meta.license_classifiers,
                license_files,
            },
            location: Some(candidate.path.clone()),
            origin: match candidate.kind {
                InfoKind::DistInfo => Origin::DistInfo,
                InfoKind::EggInfo => Origin::EggInfo,
            },
            line: None,
            hashes: Vec::new(),
            shadowed: false,
        },
    ))
}

fn flush(issues: &mut Vec<InventoryIssue>, local: Vec<InventoryIssue>, package: Option<&str>) {
    issues.extend(local.into_iter().map(|mut issue| {
        if issue.package.is_none() {
            issue.package = package.map(str::to_string);
        }
        issue
    }));
}

/// The version string pip shows: PEP 440 normal form of `candidate`, or, when that is not a
/// valid version, the raw `Version:` field (`fallback`) or the candidate itself.
fn pip_version(candidate: &str, fallback: Option<&str>) -> String {
    let candidate = candidate.trim();
    if is_plain_release(candidate) {
        return candidate.to_string();
    }
    match Version::from_str(candidate) {
        Ok(version) => {
            let normal = version.to_string();
            if normal == candidate {
                candidate.to_string()
            } else {
                normal
            }
        }
        Err(_) => fallback.unwrap_or(candidate).trim().to_string(),
    }
}

/// Whether `version` is a release of dot-separated numbers without leading zeros (`2.10.3`):
/// already in PEP 440 normal form, which most versions are, so nothing to parse.
fn is_plain_release(version: &str) -> bool {
    !version.is_empty()
        && version.split('.').all(|part| {
            // At most 18 digits: a number that fits the parser's integers (a longer one does
            // not parse, and the fallback decides as before).
            let digits = (1..=18).contains(&part.len()) && part.bytes().all(|b| b.is_ascii_digit());
            digits && (part == "0" || !part.starts_with('0'))
        })
}

/// `License-File` paths relative to the metadata directory: PEP 639 (Metadata 2.4+) wheels
/// store them under `licenses/`, older wheels at the top of `*.dist-info`. An egg-info does
/// not carry the files; its entries are kept as written.
fn resolve_license_files(meta: &CoreMetadata, kind: InfoKind) -> Vec<String> {
    let pep639 = meta.metadata_version_number().is_some_and(|v| v >= (2, 4));
    if kind == InfoKind::DistInfo && pep639 {
        meta.license_files
            .iter()
            .map(|f| format!("licenses/{f}"))
            .collect()
    } else {
        meta.license_files.clone()
    }
}

/// pip's check of a normalized project name (PEP 508 name pattern).
fn is_valid_project_name(normalized: &str) -> bool {
    let bytes = normalized.as_bytes();
    let alnum = |b: &u8| b.is_ascii_alphanumeric();
    match bytes {
        [] => false,
        [only] => alnum(only),
        [first, middle @ .., last] => {
            alnum(first) && alnum(last) && middle.iter().all(|b| alnum(b) || b"._-".contains(b))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_split_like_pip() {
        use InfoKind::*;
        assert_eq!(
            names_from_file_name("typing_extensions-4.16.0.dist-info", DistInfo),
            (Some("typing_extensions"), Some("4.16.0"))
        );
        assert_eq!(
            names_from_file_name("foo.dist-info", DistInfo),
            (None, None)
        );
        assert_eq!(
            names_from_file_name("docopt-0.6.2-py3.11.egg-info", EggInfo),
            (Some("docopt"), None)
        );
        assert_eq!(
            names_from_file_name("tiny_legacy.util-1.0.post1-py3.11.egg-info", EggInfo),
            (Some("tiny_legacy.util"), None)
        );
        assert_eq!(
            names_from_file_name("Foo.egg-info", EggInfo),
            (Some("Foo"), None)
        );
    }

    #[test]
    fn requires_txt_sections_become_markers() {
        let got = egg_info_requires(
            "idna<4,>=2.5\n\n[security]\n\n[Socks_Extra]\nPySocks!=1.5.7\n[:python_version < \"3\"]\nfoo\n[tls:sys_platform == \"win32\"]\nbar\n",
        );
        assert_eq!(
            got,
            [
                "idna<4,>=2.5",
                "PySocks!=1.5.7 ; extra == \"socks-extra\"",
                "foo ; python_version < \"3\"",
                "bar ; (sys_platform == \"win32\") and extra == \"tls\""
            ]
        );
    }

    #[test]
    fn distributions_come_out_by_name_then_location() {
        let dist = |normalized: &str, location: &str| Distribution {
            name: normalized.to_uppercase(),
            normalized: normalized.to_string(),
            version: "1".to_string(),
            requires_dist: Vec::new(),
            license: Default::default(),
            location: Some(PathBuf::from(location)),
            origin: crate::model::Origin::DistInfo,
            line: None,
            hashes: Vec::new(),
            shadowed: false,
        };
        let input = vec![
            dist("b", "/z"),
            dist("a", "/y"),
            dist("b", "/a"),
            dist("c", "/b"),
            dist("a", "/x"),
        ];
        let got: Vec<(String, String)> = sorted_by_name(input)
            .into_iter()
            .map(|d| (d.name, d.location.unwrap().display().to_string()))
            .collect();
        let want = [
            ("A", "/x"),
            ("A", "/y"),
            ("B", "/a"),
            ("B", "/z"),
            ("C", "/b"),
        ];
        let want: Vec<(String, String)> = (want.iter())
            .map(|(n, l)| (n.to_string(), l.to_string()))
            .collect();
        assert_eq!(got, want);
        assert!(sorted_by_name(Vec::new()).is_empty());
    }

    #[test]
    fn plain_releases_are_taken_as_written_and_only_they() {
        for plain in ["0", "1.0", "2.10.3", "2024.12.1", "10.0.0"] {
            assert!(is_plain_release(plain), "{plain}");
            assert_eq!(pip_version(plain, None), plain);
            let normal = Version::from_str(plain).unwrap().to_string();
            assert_eq!(normal, plain, "really the normal form");
        }
        for other in [
            "",
            "1.",
            ".1",
            "01.2",
            "1..2",
            "1.0a1",
            "v1",
            "1.0.post1",
            "1.00",
        ] {
            assert!(!is_plain_release(other), "{other}");
        }
        // Too large for the parser: not taken as written, the fallback decides as before.
        let huge = "1234567890123456789012345";
        assert!(!is_plain_release(huge));
        assert!(Version::from_str(huge).is_err());
        assert_eq!(pip_version(huge, Some("2.0")), "2.0");
        assert_eq!(pip_version("1.00", None), "1.0");
        assert_eq!(pip_version("01.2", None), "1.2");
    }

    #[test]
    fn versions_are_shown_in_normal_form() {
        assert_eq!(pip_version("1.0.0", None), "1.0.0");
        assert_eq!(pip_version("1.0-ALPHA1", None), "1.0a1");
        assert_eq!(pip_version("v2.0", None), "2.0");
        assert_eq!(pip_version("not a version", Some("raw")), "raw");
        assert_eq!(pip_version("not a version", None), "not a version");
    }

    #[test]
    fn project_names_are_checked_like_pip() {
        assert!(is_valid_project_name("a"));
        assert!(is_valid_project_name("zope-interface"));
        assert!(!is_valid_project_name("~umpy"));
        assert!(!is_valid_project_name("-x"));
        assert!(!is_valid_project_name(""));
    }
}
