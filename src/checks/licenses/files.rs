//! License files shipped in a distribution's metadata directory: found (from `License-File`
//! entries, or by name), read (bounded), and identified. Only ever called when the metadata
//! fields could not give a specific answer.
//!
//! PEP 639 puts `License-File` paths under `<dist-info>/licenses/`; older wheels put them
//! directly in the dist-info directory. Without `License-File` entries, files named
//! `LICENSE*`, `LICENCE*`, `COPYING*`, `COPYRIGHT*` and `NOTICE*` are used (in that order);
//! `AUTHORS` files are not: they list people, not terms.

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
            if pep639.is_file() {
                found.push((format!("licenses/{}", rel.display()), pep639));
            } else if legacy.is_file() {
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
    found.extend(candidates.into_iter().map(|(_, name, path)| (name, path)));
    found
}

/// Read and identify the license files of a distribution. Unreadable files become notes.
pub(crate) fn read(listed: &[String], dir: &Path, notes: &mut Vec<String>) -> Vec<LicenseFile> {
    let located = locate(listed, dir, notes);
    if located.len() > MAX_FILES {
        notes.push(format!(
            "{} license files; only the first {MAX_FILES} were read",
            located.len()
        ));
    }
    let mut out = Vec::new();
    let mut buffer = Vec::new();
    for (name, path) in located.into_iter().take(MAX_FILES) {
        buffer.clear();
        let read = crate::safe_fs::open_regular(&path)
            .map_err(std::io::Error::from)
            .and_then(|f| f.take(MAX_FILE_BYTES).read_to_end(&mut buffer));
        if let Err(e) = read {
            notes.push(format!(
                "license file {} could not be read: {e}",
                path.display()
            ));
            continue;
        }
        out.push(LicenseFile {
            report: identify(&buffer),
            name,
        });
    }
    out
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
    fn license_file_entries_cannot_escape_the_directory() {
        assert!(safe_relative("LICENSE").is_some());
        assert!(safe_relative("licenses/LICENSE.BSD").is_some());
        assert!(safe_relative("../../etc/passwd").is_none());
        assert!(safe_relative("/etc/passwd").is_none());
        assert!(safe_relative("").is_none());
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
}
