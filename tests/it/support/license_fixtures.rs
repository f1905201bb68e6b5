//! Real license fixtures (`tests/fixtures/licenses/<dist>/<name>.dist-info/`): the license
//! headers of their `METADATA`, and the metadata directory for license files.
//!
//! Only the four license headers are read here (with RFC 822 continuation lines); full
//! `METADATA` parsing belongs to the inventory.

use std::path::{Path, PathBuf};

use depdash::model::LicenseMetadata;

/// `tests/fixtures/licenses`.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/licenses")
}

/// The `.dist-info` directory of fixture `dist` (e.g. `requests-2.31.0`).
pub fn dist_info(dist: &str) -> PathBuf {
    dist_info_in(&root().join(dist))
}

/// The one `.dist-info` directory directly inside `dir`.
pub fn dist_info_in(dir: &Path) -> PathBuf {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("fixture {}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "dist-info"))
        .unwrap_or_else(|| panic!("no .dist-info in {}", dir.display()))
}

/// The license headers of a fixture's `METADATA`.
pub fn license_metadata(dist: &str) -> LicenseMetadata {
    let path = dist_info(dist).join("METADATA");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = headers.last_mut() {
                value.push('\n');
                value.push_str(line.trim_start());
            }
        } else if let Some((key, value)) = line.split_once(':') {
            headers.push((key.trim().to_string(), value.trim().to_string()));
        }
    }
    let get = |key: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.clone())
    };
    LicenseMetadata {
        expression: get("License-Expression"),
        license_field: get("License"),
        classifiers: headers
            .iter()
            .filter(|(k, v)| k == "Classifier" && v.starts_with("License ::"))
            .map(|(_, v)| v.clone())
            .collect(),
        license_files: headers
            .iter()
            .filter(|(k, _)| k == "License-File")
            .map(|(_, v)| v.clone())
            .collect(),
    }
}
