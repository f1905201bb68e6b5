//! License files shipped in a distribution's metadata directory: found (from `License-File`
//! entries, or by name), read (bounded), and identified. Only ever called when the metadata
//! fields could not give a specific answer.
//!
//! PEP 639 puts `License-File` paths under `<dist-info>/licenses/`; older wheels put them
//! directly in the dist-info directory. Without `License-File` entries, files named
//! `LICENSE*`, `LICENCE*`, `COPYING*`, `COPYRIGHT*` and `NOTICE*` are used (in that order);
//! `AUTHORS` files are not: they list people, not terms. When the metadata directory holds no
//! license file at all, the license files RECORD lists in the package directory are read
//! (rule 7), never outside site-packages and never through a symlink.

use std::io::Read;
use std::path::{Component, Path, PathBuf};

use super::text::{TextReport, identify};

/// At most this many bytes of one file are read; license statements come first.
const MAX_FILE_BYTES: u64 = 256 * 1024;
/// At most this many files are read per distribution.
const MAX_FILES: usize = 16;

/// One license file and what it contains.
#[derive(Clone, Debug)]
pub(crate) struct LicenseFile {
    /// Path relative to the metadata directory, for evidence and notes.
    pub name: String,
    pub report: TextReport,
    /// The licenses of bundled third-party code ("LICENSES.third-party", "LICENSE-3RD-PARTY",
    /// a `_vendor/` path), not the package's own.
    pub bundled: bool,
}

/// Whether a license file's path says it is about bundled third-party components.
pub(crate) fn is_bundled(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [
        "third-party",
        "third_party",
        "thirdparty",
        "3rd-party",
        "3rdparty",
        "bundled",
        "vendor",
    ]
    .iter()
    .any(|m| lower.contains(m))
}

/// Rank of a file name as a license file (lower first), `None` if it is not one.
fn rank(file_name: &str) -> Option<u8> {
    let upper = file_name.to_ascii_uppercase();
    ["LICENSE", "LICENCE", "COPYING", "COPYRIGHT", "NOTICE"]
        .iter()
        .position(|p| upper.starts_with(p))
        .map(|p| p as u8)
        .or_else(|| (upper.contains("LICENSE") || upper.contains("LICENCE")).then_some(5))
}

/// A `License-File` entry is relative and stays inside the directory.
fn safe_relative(entry: &str) -> Option<PathBuf> {
    let path = Path::new(entry);
    path.components()
        .all(|c| matches!(c, Component::Normal(_)))
        .then(|| path.to_path_buf())
        .filter(|p| p.components().next().is_some())
}

/// Where the license files of a distribution are.
fn locate(listed: &[String], dir: &Path, notes: &mut Vec<String>) -> Vec<(String, PathBuf)> {
    locate_seen(listed, dir, notes, &mut Vec::new())
}

/// [`locate`], also naming in `seen` every path whose state decided the answer (directories
/// listed, RECORD, each candidate looked at, present or not), before it is looked at.
fn locate_seen(
    listed: &[String],
    dir: &Path,
    notes: &mut Vec<String>,
    seen: &mut Vec<PathBuf>,
) -> Vec<(String, PathBuf)> {
    let mut found = Vec::new();
    if !listed.is_empty() {
        for entry in listed {
            let Some(rel) = safe_relative(entry) else {
                notes.push(format!(
                    "License-File `{entry}` ignored: not a relative path inside the metadata directory"
                ));
                continue;
            };
            let pep639 = dir.join("licenses").join(&rel);
            let legacy = dir.join(&rel);
            // `legacy` decides only when `pep639` is not a file.
            seen.push(pep639.clone());
            if pep639.is_file() {
                found.push((format!("licenses/{}", rel.display()), pep639));
                continue;
            }
            seen.push(legacy.clone());
            if legacy.is_file() {
                found.push((rel.display().to_string(), legacy));
            } else {
                notes.push(format!(
                    "License-File `{entry}` is listed in the metadata but not present"
                ));
            }
        }
        return found;
    }
    let mut candidates: Vec<(u8, String, PathBuf)> = Vec::new();
    for (prefix, sub) in [("", dir.to_path_buf()), ("licenses/", dir.join("licenses"))] {
        // A directory's identity changes when an entry is added, removed or renamed.
        seen.push(sub.clone());
        let Ok(entries) = std::fs::read_dir(&sub) else {
            continue;
        };
        for entry in entries.flatten() {
            let file_name = entry.file_name();
            let Some(name) = file_name.to_str() else {
                continue;
            };
            if let Some(r) = rank(name)
                && entry.file_type().is_ok_and(|t| t.is_file())
            {
                candidates.push((r, format!("{prefix}{name}"), entry.path()));
            }
        }
    }
    candidates.sort();
    seen.extend(candidates.iter().map(|(_, _, path)| path.clone()));
    found.extend(candidates.into_iter().map(|(_, name, path)| (name, path)));
    if found.is_empty() {
        found = from_record(dir, notes, seen);
    }
    found
}

/// Read at most `max` bytes of `path` into `buffer`, only if it is a regular file
/// ([`crate::safe_fs::open_regular`]: a FIFO or device is refused rather than read).
fn read_regular(path: &Path, max: u64, buffer: &mut Vec<u8>) -> std::io::Result<()> {
    crate::safe_fs::open_regular(path)
        .map_err(std::io::Error::from)
        .and_then(|f| f.take(max).read_to_end(buffer))
        .map(|_| ())
}

/// Most bytes of one license file copied into a notice: whole texts, but bounded.
const MAX_NOTICE_BYTES: u64 = 1024 * 1024;

/// One license file's full text, for a notice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LicenseText {
    /// Path relative to the metadata directory.
    pub name: String,
    pub text: String,
    /// The file was longer than the bound and was cut.
    pub truncated: bool,
}

/// The full texts of a distribution's license files (the `License-File` entries, else the files
/// the resolver would use), regular files only, each bounded. Problems become notes.
pub fn texts(listed: &[String], dir: &Path, notes: &mut Vec<String>) -> Vec<LicenseText> {
    let mut out = Vec::new();
    for (name, path) in locate(listed, dir, notes).into_iter().take(MAX_FILES) {
        let mut buffer = Vec::new();
        match read_regular(&path, MAX_NOTICE_BYTES + 1, &mut buffer) {
            Ok(()) => {
                let truncated = buffer.len() as u64 > MAX_NOTICE_BYTES;
                buffer.truncate(MAX_NOTICE_BYTES as usize);
                out.push(LicenseText {
                    name,
                    text: String::from_utf8_lossy(&buffer).into_owned(),
                    truncated,
                });
            }
            Err(e) => notes.push(format!("license file {name} could not be read: {e}")),
        }
    }
    out
}

/// Most bytes of RECORD read when looking for license files in the package directory.
const MAX_RECORD_BYTES: u64 = 4 * 1024 * 1024;
/// License files listed in RECORD deeper than this (relative to site-packages) are vendored
/// components' own, not the package's.
const MAX_RECORD_DEPTH: usize = 2;

/// License files that RECORD lists outside the metadata directory (a `LICENSE` inside the
/// package directory, where some build backends put it). RECORD paths are relative to the
/// directory holding the `.dist-info` (site-packages); a path that is absolute, climbs out with
/// `..`, or is not a regular file (symlinks are not followed) is skipped.
fn from_record(
    dir: &Path,
    notes: &mut Vec<String>,
    seen: &mut Vec<PathBuf>,
) -> Vec<(String, PathBuf)> {
    let Some(root) = dir.parent() else {
        return Vec::new();
    };
    seen.push(dir.join("RECORD"));
    let mut record = String::new();
    let Ok(file) = std::fs::File::open(dir.join("RECORD")) else {
        return Vec::new();
    };
    if file
        .take(MAX_RECORD_BYTES)
        .read_to_string(&mut record)
        .is_err()
    {
        notes.push(
            "RECORD is not UTF-8 text; package-directory license files not looked for".into(),
        );
        return Vec::new();
    }
    let own = dir.file_name();
    let mut candidates: Vec<(u8, String, PathBuf)> = Vec::new();
    for line in record.lines() {
        // `path,hash,size`; a path with a comma is quoted.
        let entry = match line.strip_prefix('"') {
            Some(quoted) => quoted.split('"').next().unwrap_or(""),
            None => line.split(',').next().unwrap_or(""),
        };
        let Some(rel) = safe_relative(entry) else {
            continue;
        };
        let depth = rel.components().count();
        let in_own_dir = rel.components().next().map(|c| c.as_os_str()) == own;
        let Some(name) = rel.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if in_own_dir || depth > MAX_RECORD_DEPTH {
            continue;
        }
        let Some(r) = rank(name) else { continue };
        let path = root.join(&rel);
        seen.push(path.clone());
        if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_file()) {
            candidates.push((r, rel.display().to_string(), path));
        }
    }
    candidates.sort();
    if !candidates.is_empty() {
        notes.push(format!(
            "no license file in the metadata directory; read {} listed in RECORD",
            candidates
                .iter()
                .map(|(_, n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    candidates
        .into_iter()
        .take(MAX_FILES)
        .map(|(_, name, path)| (format!("../{name}"), path))
        .collect()
}

/// Read and identify the license files of a distribution. Unreadable files become notes.
/// Also returns the [`digest`] of what was read, so a stored answer can be checked against the
/// files later without identifying them again.
pub(crate) fn read(
    listed: &[String],
    dir: &Path,
    notes: &mut Vec<String>,
) -> (Vec<LicenseFile>, String) {
    let mut out = Vec::new();
    let digest = each_file(listed, dir, notes, |name, bytes| {
        out.push(LicenseFile {
            report: identify(bytes),
            bundled: is_bundled(name),
            name: name.to_string(),
        })
    });
    (out, digest)
}

/// Fingerprint of the license files [`read`] would read for a distribution: which files (by
/// name), and their bytes or why they could not be read. Equal digests mean `read` sees the
/// same input; reading and hashing costs a small fraction of identifying the texts.
pub(crate) fn digest(listed: &[String], dir: &Path) -> String {
    each_file(listed, dir, &mut Vec::new(), |_, _| {})
}

/// What [`digest`] depended on, by identity: every path `locate` looked at (relative to the
/// metadata directory) and a hash of their identities (device, inode, size, mtime and ctime to
/// the nanosecond, mode, owner; or absent). While [`FilesStamp::holds`], the digest is the same
/// without reading a file: a directory's identity changes when an entry is added, removed or
/// renamed, a file's when it is written (ctime cannot be set back).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FilesStamp {
    paths: Vec<String>,
    identity: String,
}

impl FilesStamp {
    /// Whether every path still has the identity it had when the stamp was taken.
    pub fn holds(&self, dir: &Path) -> bool {
        // `..` lexically, as `from_record` joined them (not through a symlinked `dir`).
        // The metadata directory itself is `""` (`dir.join("")` would add a slash, which a
        // single-file `.egg-info` refuses).
        let absolute = |p: &String| match p.strip_prefix("../") {
            Some(rel) => dir.parent().map(|root| root.join(rel)),
            None if p.is_empty() => Some(dir.to_path_buf()),
            None => Some(dir.join(p)),
        };
        let paths: Option<Vec<PathBuf>> = self.paths.iter().map(absolute).collect();
        paths
            .and_then(|paths| crate::fingerprint::identities(&paths))
            .is_some_and(|identity| identity == self.identity)
    }
}

/// The [`FilesStamp`] of the license files [`digest`] would read, or `None` when a stamp cannot
/// vouch for them: a path that is a symlink, not under `dir`, not UTF-8 or unreadable, or one
/// changed within the racy margin of now. Take it *before* reading the files, so a change
/// during the read leaves a stamp that no longer holds.
pub(crate) fn stamp(listed: &[String], dir: &Path) -> Option<FilesStamp> {
    let mut seen = Vec::new();
    locate_seen(listed, dir, &mut Vec::new(), &mut seen);
    let identity = crate::fingerprint::identities(&seen)?;
    let paths = (seen.iter())
        .map(|p| relative_to(p, dir))
        .collect::<Option<Vec<String>>>()?;
    Some(FilesStamp { paths, identity })
}

/// `path` relative to `dir` (`..` for RECORD's paths beside it), as UTF-8.
fn relative_to(path: &Path, dir: &Path) -> Option<String> {
    if let Ok(rel) = path.strip_prefix(dir) {
        return rel.to_str().map(str::to_string);
    }
    let rel = path.strip_prefix(dir.parent()?).ok()?;
    Some(format!("../{}", rel.to_str()?))
}

/// Locate, read (bounded) and hand each license file to `each`; unreadable ones become notes.
/// Returns their digest.
fn each_file(
    listed: &[String],
    dir: &Path,
    notes: &mut Vec<String>,
    mut each: impl FnMut(&str, &[u8]),
) -> String {
    let located = locate(listed, dir, notes);
    if located.len() > MAX_FILES {
        notes.push(format!(
            "{} license files; only the first {MAX_FILES} were read",
            located.len()
        ));
    }
    let mut fingerprint = crate::fingerprint::Fingerprinter::new();
    fingerprint.part(located.len().to_le_bytes());
    let mut buffer = Vec::new();
    for (name, path) in located.into_iter().take(MAX_FILES) {
        buffer.clear();
        fingerprint.part(&name);
        match read_regular(&path, MAX_FILE_BYTES, &mut buffer) {
            Ok(()) => {
                fingerprint.part([1]).part(&buffer);
                each(&name, &buffer);
            }
            Err(e) => {
                fingerprint.part([0]).part(e.to_string());
                notes.push(format!(
                    "license file {} could not be read: {e}",
                    path.display()
                ));
            }
        }
    }
    fingerprint.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_license_files_and_skips_others() {
        assert_eq!(rank("LICENSE"), Some(0));
        assert_eq!(rank("LICENSE.APACHE"), Some(0));
        assert_eq!(rank("licence.txt"), Some(1));
        assert_eq!(rank("COPYING.rst"), Some(2));
        assert_eq!(rank("NOTICE"), Some(4));
        assert_eq!(rank("MIT-LICENSE.txt"), Some(5));
        assert_eq!(rank("AUTHORS.md"), None);
        assert_eq!(rank("METADATA"), None);
        assert_eq!(rank("RECORD"), None);
    }

    #[test]
    fn a_single_file_egg_info_is_stamped_and_its_rewrite_breaks_the_stamp() {
        let site = tempfile::tempdir().unwrap();
        let egg_info = site.path().join("pkg-1.0-py3.11.egg-info");
        std::fs::write(&egg_info, "Metadata-Version: 1.1\nName: pkg\n").unwrap();
        // Past the racy margin: a file changed within it is never vouched for.
        std::thread::sleep(
            crate::fingerprint::RACY_MARGIN_FINE + std::time::Duration::from_millis(50),
        );
        let stamp = stamp(&[], &egg_info).expect("an egg-info file is stamped like a directory");
        assert!(stamp.holds(&egg_info));
        std::fs::write(
            &egg_info,
            "Metadata-Version: 1.1\nName: pkg\nLicense: MIT\n",
        )
        .unwrap();
        assert!(
            !stamp.holds(&egg_info),
            "a rewritten egg-info file changes its identity"
        );
    }

    #[test]
    fn license_file_entries_cannot_escape_the_directory() {
        assert!(safe_relative("LICENSE").is_some());
        assert!(safe_relative("licenses/LICENSE.BSD").is_some());
        assert!(safe_relative("../../etc/passwd").is_none());
        assert!(safe_relative("/etc/passwd").is_none());
        assert!(safe_relative("").is_none());
    }

    #[test]
    fn record_listed_license_files_in_the_package_directory_are_found_safely() {
        let site = tempfile::tempdir().unwrap();
        let dist_info = site.path().join("pkg-1.0.dist-info");
        std::fs::create_dir_all(&dist_info).unwrap();
        std::fs::create_dir_all(site.path().join("pkg/_vendor/dep")).unwrap();
        std::fs::write(site.path().join("pkg/LICENSE.txt"), "MIT").unwrap();
        std::fs::write(site.path().join("pkg/_vendor/dep/LICENSE"), "deep").unwrap();
        std::fs::write(site.path().join("outside-LICENSE"), "x").unwrap();
        std::fs::write(
            dist_info.join("RECORD"),
            "pkg/__init__.py,sha256=x,1\npkg/LICENSE.txt,sha256=y,3\npkg/_vendor/dep/LICENSE,,\n../outside-LICENSE,,\n/etc/LICENSE,,\npkg-1.0.dist-info/RECORD,,\n\"pkg/NOTICE,odd\",,\n",
        )
        .unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink("/etc/hostname", site.path().join("pkg/COPYING")).unwrap();
        std::fs::write(
            dist_info.join("RECORD"),
            format!(
                "{}pkg/COPYING,,\n",
                std::fs::read_to_string(dist_info.join("RECORD")).unwrap()
            ),
        )
        .unwrap();
        let mut notes = Vec::new();
        let found = locate(&[], &dist_info, &mut notes);
        let names: Vec<&str> = found.iter().map(|(n, _)| n.as_str()).collect();
        // Not the vendored one (too deep), not the escapes, not the symlink, not a missing file.
        assert_eq!(names, ["../pkg/LICENSE.txt"], "{notes:?}");
        assert!(notes.iter().any(|n| n.contains("RECORD")), "{notes:?}");
        // A license file in the metadata directory means RECORD is not consulted.
        std::fs::write(dist_info.join("LICENSE"), "BSD").unwrap();
        let found = locate(&[], &dist_info, &mut notes);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, "LICENSE");
    }

    #[test]
    fn finds_files_both_in_licenses_dir_and_directly() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("licenses")).unwrap();
        std::fs::write(dir.path().join("licenses/LICENSE"), "x").unwrap();
        std::fs::write(dir.path().join("COPYING"), "y").unwrap();
        std::fs::write(dir.path().join("AUTHORS"), "z").unwrap();
        std::fs::write(dir.path().join("METADATA"), "m").unwrap();
        let mut notes = Vec::new();
        let found = locate(&[], dir.path(), &mut notes);
        let names: Vec<&str> = found.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["licenses/LICENSE", "COPYING"]);
        let listed = vec![
            "LICENSE".to_string(),
            "COPYING".into(),
            "GONE".into(),
            "../x".into(),
        ];
        let found = locate(&listed, dir.path(), &mut notes);
        let names: Vec<&str> = found.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["licenses/LICENSE", "COPYING"]);
        assert_eq!(notes.len(), 2, "{notes:?}");
    }

    #[cfg(unix)]
    #[test]
    fn notice_texts_are_whole_bounded_and_never_from_special_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("licenses")).unwrap();
        std::fs::write(
            dir.path().join("licenses/LICENSE"),
            "MIT License\n\nfull text",
        )
        .unwrap();
        let big = "x".repeat(MAX_NOTICE_BYTES as usize + 10);
        std::fs::write(dir.path().join("COPYING"), &big).unwrap();
        let fifo = dir.path().join("NOTICE");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        std::os::unix::fs::symlink("/dev/zero", dir.path().join("LICENSE.zero")).unwrap();
        let mut notes = Vec::new();
        let listed = vec![
            "LICENSE".to_string(),
            "COPYING".into(),
            "NOTICE".into(),
            "LICENSE.zero".into(),
        ];
        let found = texts(&listed, dir.path(), &mut notes);
        assert_eq!(found[0].name, "licenses/LICENSE");
        assert_eq!(found[0].text, "MIT License\n\nfull text");
        assert!(!found[0].truncated);
        assert_eq!(found[1].text.len(), MAX_NOTICE_BYTES as usize);
        assert!(found[1].truncated);
        // The FIFO and the device are refused (listed but not regular files), without blocking.
        assert_eq!(found.len(), 2);
        assert_eq!(notes.len(), 2, "{notes:?}");
    }
}
