//! Cache entry files found by the kind in their key (the key is in each entry's header), for
//! tests that corrupt or remove one.

use std::fs;
use std::path::{Path, PathBuf};

/// The entry files in `cache` whose key names `kind` (e.g. `run-report`).
pub fn of_kind(cache: &Path, kind: &str) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(cache) else {
        return Vec::new();
    };
    let needle = format!(":{kind}:");
    let mut found: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            fs::read(p).is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle.as_bytes()))
        })
        .collect();
    found.sort();
    found
}

/// Removes the stored report of every target in `cache`: the next run judges its report
/// again (tests of what a judging run does).
pub fn forget_stored_reports(cache: &Path) {
    for file in of_kind(cache, "run-report") {
        fs::remove_file(&file).unwrap();
    }
}
