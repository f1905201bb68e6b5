//! Pipfile.lock (pipenv) as an inventory source: a JSON object whose `_meta` says it is one and
//! whose other keys are categories (`default`, `develop`, custom ones) mapping package names to
//! `{"version": "==x", …}`. pipenv records no edges between packages.
//!
//! Anything that is not clearly a Pipfile.lock — not JSON, no `_meta.pipfile-spec`, a category
//! that is not an object, no packages at all — is an error: "clean, 0 packages" from a file that
//! was not understood would be a false pass.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::groups::{GroupSelection, select_categories};
use super::lockfile::Locked;

#[derive(Deserialize)]
struct Meta {
    #[serde(rename = "pipfile-spec")]
    pipfile_spec: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Entry {
    version: Option<String>,
    /// `sha256:…` digests of the locked artifacts.
    #[serde(default)]
    hashes: Vec<String>,
}

/// Where a problem is: 1-based line and column, 0 when not known.
pub(super) struct PipfileError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

fn error(message: impl Into<String>) -> PipfileError {
    PipfileError {
        line: 0,
        column: 0,
        message: message.into(),
    }
}

/// The packages of the selected categories. A package in several categories is listed once
/// (pipenv pins it to one version across them).
pub(super) fn entries(
    path: &Path,
    text: &str,
    selection: &GroupSelection,
) -> Result<Vec<Locked>, PipfileError> {
    let doc: BTreeMap<String, serde_json::Value> =
        serde_json::from_str(text).map_err(|e| PipfileError {
            line: e.line(),
            column: e.column(),
            message: format!("not a Pipfile.lock (JSON): {e}"),
        })?;
    let meta: Meta = doc
        .get("_meta")
        .cloned()
        .ok_or_else(|| error("not a Pipfile.lock: no `_meta` object"))
        .and_then(|m| {
            serde_json::from_value(m).map_err(|e| error(format!("not a Pipfile.lock: _meta: {e}")))
        })?;
    if meta.pipfile_spec.is_none() {
        return Err(error("not a Pipfile.lock: `_meta` has no `pipfile-spec`"));
    }
    if !doc.contains_key("default") {
        return Err(error("not a Pipfile.lock: no `default` category"));
    }
    let mut categories: BTreeMap<&str, BTreeMap<String, Entry>> = BTreeMap::new();
    for (name, value) in doc.iter().filter(|(k, _)| k.as_str() != "_meta") {
        let packages: BTreeMap<String, Entry> = serde_json::from_value(value.clone())
            .map_err(|e| error(format!("category `{name}`: {e}")))?;
        categories.insert(name, packages);
    }
    if categories.values().all(BTreeMap::is_empty) {
        return Err(error(
            "the Pipfile.lock locks no packages: nothing to check",
        ));
    }
    let selected = select_categories(path, categories.keys().copied(), selection).map_err(error)?;
    let mut locked: BTreeMap<String, Locked> = BTreeMap::new();
    for (category, packages) in categories {
        if !selected.contains(category) {
            continue;
        }
        for (name, entry) in packages {
            // `==1.2` and `===1.2` pin; git, path and editable entries have no version.
            let version = entry.version.as_deref().and_then(|v| {
                let v = v.trim();
                v.strip_prefix("===")
                    .or_else(|| v.strip_prefix("=="))
                    .map(|pinned| pinned.trim().to_string())
            });
            locked
                .entry(crate::model::normalize_name(&name))
                .or_insert(Locked {
                    name,
                    version,
                    dependencies: Vec::new(),
                    is_project: false,
                    hashes: entry.hashes,
                    // serde_json keeps no spans: the package's line is not known.
                    offset: None,
                });
        }
    }
    Ok(locked.into_values().collect())
}
