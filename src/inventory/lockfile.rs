//! Lockfiles as an inventory source: `uv.lock`, `poetry.lock`, PEP 751 `pylock.toml`, and
//! `Pipfile.lock` (JSON, in `pipfile`). The TOML three are lists of packages with exact versions; the format is told by the file name
//! (`uv.lock`, `poetry.lock`, `pylock.toml` / `pylock.<name>.toml`), else by its top-level keys.
//! Dependencies between packages are kept as `Requires-Dist`-style names, so "why is this
//! package here" works as for an installed environment.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::groups::GroupSelection;
use super::{Inventory, InventoryError, InventoryIssue};
use crate::model::{Distribution, LicenseMetadata, Origin, normalize_name};
use crate::safe_fs::{self, limits};
use crate::telemetry::tracker::Tracker;
use crate::units::line_col;

/// uv and PEP 751 list dependencies as tables with a `name`.
#[derive(Deserialize)]
struct NamedDependency {
    name: String,
}

#[derive(Deserialize)]
struct UvPackage {
    name: String,
    version: Option<String>,
    #[serde(default)]
    source: BTreeMap<String, toml::Value>,
    #[serde(default)]
    dependencies: Vec<NamedDependency>,
}

#[derive(Deserialize)]
struct PoetryPackage {
    name: String,
    version: Option<String>,
    #[serde(default)]
    dependencies: BTreeMap<String, toml::Value>,
}

#[derive(Deserialize)]
struct LockDocument {
    /// uv and Poetry.
    #[serde(default)]
    package: Vec<toml::Spanned<toml::Value>>,
    /// PEP 751.
    #[serde(default)]
    packages: Vec<toml::Spanned<toml::Value>>,
}

/// One locked package, whatever the format.
pub(super) struct Locked {
    pub name: String,
    pub version: Option<String>,
    pub dependencies: Vec<String>,
    /// The project itself (uv's `editable`/`virtual` source): not a dependency.
    pub is_project: bool,
    /// Artifact hashes, `algorithm:hexdigest`.
    pub hashes: Vec<String>,
    /// Byte offset of the package's entry in the file (for its line), where the format keeps it.
    pub offset: Option<usize>,
}

/// Artifact hashes of one locked package, whichever format: uv's `sdist`/`wheels` and Poetry's
/// `files` carry `hash = "algo:digest"`; PEP 751's carry `hashes = { algo = "digest" }`.
fn artifact_hashes(package: &toml::Value) -> Vec<String> {
    let artifacts = ["sdist", "wheels", "files"]
        .into_iter()
        .filter_map(|key| package.get(key))
        .flat_map(|v| match v {
            toml::Value::Array(items) => items.iter().collect::<Vec<_>>(),
            other => vec![other],
        });
    let mut hashes: Vec<String> = Vec::new();
    for artifact in artifacts {
        if let Some(hash) = artifact.get("hash").and_then(toml::Value::as_str) {
            hashes.push(hash.to_string());
        }
        if let Some(table) = artifact.get("hashes").and_then(toml::Value::as_table) {
            for (algorithm, digest) in table {
                if let Some(digest) = digest.as_str() {
                    hashes.push(format!("{algorithm}:{digest}"));
                }
            }
        }
    }
    hashes.dedup();
    hashes
}

/// The three formats, told by file name, else by the top-level keys only they have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Uv,
    Poetry,
    Pylock,
}

fn format_of(path: &Path, doc: &toml::Table) -> Option<Format> {
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let has = |key: &str| doc.contains_key(key);
    let poetry_metadata = doc
        .get("metadata")
        .and_then(toml::Value::as_table)
        .is_some_and(|m| m.contains_key("lock-version") || m.contains_key("content-hash"));
    if file_name == "poetry.lock" || poetry_metadata {
        Some(Format::Poetry)
    } else if (file_name.starts_with("pylock.") && file_name.ends_with(".toml"))
        || (has("lock-version") && has("packages"))
    {
        Some(Format::Pylock)
    } else if file_name == "uv.lock" || has("requires-python") {
        Some(Format::Uv)
    } else {
        None
    }
}

fn entries(format: Format, doc: LockDocument) -> Result<Vec<Locked>, String> {
    let values = match format {
        Format::Pylock => doc.packages,
        Format::Uv | Format::Poetry => doc.package,
    };
    values
        .into_iter()
        .enumerate()
        .map(|(i, spanned)| {
            let offset = spanned.span().start;
            let value = spanned.into_inner();
            let hashes = artifact_hashes(&value);
            let entry = if format == Format::Poetry {
                let p: PoetryPackage = value
                    .try_into()
                    .map_err(|e| format!("package {}: {e}", i + 1))?;
                Locked {
                    name: p.name,
                    version: p.version,
                    dependencies: p.dependencies.into_keys().collect(),
                    is_project: false,
                    hashes,
                    offset: Some(offset),
                }
            } else {
                let p: UvPackage = value
                    .try_into()
                    .map_err(|e| format!("package {}: {e}", i + 1))?;
                Locked {
                    name: p.name,
                    version: p.version,
                    dependencies: p.dependencies.into_iter().map(|d| d.name).collect(),
                    is_project: p.source.contains_key("editable")
                        || p.source.contains_key("virtual"),
                    hashes,
                    offset: Some(offset),
                }
            };
            Ok(entry)
        })
        .collect()
}

/// Read one lockfile into distributions (origin `lockfile`) and issues. A file that is not one
/// of the four formats, or that locks no package, is an error: it cannot vouch for anything.
pub fn parse_file(path: &Path) -> Result<(Vec<Distribution>, Vec<InventoryIssue>), InventoryError> {
    parse_file_selected(path, &GroupSelection::default())
}

/// Read one lockfile, keeping the packages of the selected dependency groups.
pub fn parse_file_selected(
    path: &Path,
    selection: &GroupSelection,
) -> Result<(Vec<Distribution>, Vec<InventoryIssue>), InventoryError> {
    let (text, _) = safe_fs::read_regular_text(path, limits::INPUT_FILE).map_err(|e| {
        InventoryError::RequirementsUnreadable {
            path: path.to_path_buf(),
            source: e.into(),
        }
    })?;
    parse_text_selected(path, &text, selection)
}

/// [`parse_file`] on text already read (`path` names the format and the errors).
pub fn parse_text(
    path: &Path,
    text: &str,
) -> Result<(Vec<Distribution>, Vec<InventoryIssue>), InventoryError> {
    parse_text_selected(path, text, &GroupSelection::default())
}

fn parse_text_selected(
    path: &Path,
    text: &str,
    selection: &GroupSelection,
) -> Result<(Vec<Distribution>, Vec<InventoryIssue>), InventoryError> {
    let error = |line: usize, column: usize, message: String| InventoryError::Lockfile {
        path: path.to_path_buf(),
        line,
        column,
        message,
    };
    // TOML cannot start with `{`: JSON is a Pipfile.lock (or not a lockfile at all); a file named
    // Pipfile.lock is read as one whatever it holds, so an empty one is an error, not empty.
    let pipfile = path.file_name().is_some_and(|n| n == "Pipfile.lock");
    let (locked, entries_name) = if pipfile || text.trim_start().starts_with('{') {
        let locked = super::pipfile::entries(path, text, selection)
            .map_err(|e| error(e.line, e.column, e.message))?;
        (locked, "package entries")
    } else {
        let table: toml::Table = toml::from_str(text).map_err(|e| {
            let (line, column) = line_col(text, e.span().map_or(0, |s| s.start));
            error(line, column, e.message().trim().to_string())
        })?;
        let format = format_of(path, &table).ok_or_else(|| {
            error(
                1,
                1,
                "not a uv.lock, poetry.lock, pylock.toml or Pipfile.lock: the file name is none \
                 of those and it has none of their top-level keys (`requires-python`, \
                 `[metadata]` with `lock-version`, `lock-version` with `[[packages]]`)"
                    .to_string(),
            )
        })?;
        // Parsed again from the text, not converted from the table: only the text has the
        // spans that give each package its line.
        let doc: LockDocument = toml::from_str(text).map_err(|e| {
            let (line, column) = line_col(text, e.span().map_or(0, |s| s.start));
            error(line, column, e.message().trim().to_string())
        })?;
        let locked = entries(format, doc).map_err(|message| error(0, 0, message))?;
        let locked = if selection.is_all() {
            locked
        } else {
            let kept = super::groups::select_toml(path, text, selection)
                .map_err(|message| error(0, 0, message))?;
            locked
                .into_iter()
                .filter(|l| kept.contains(&normalize_name(&l.name)))
                .collect()
        };
        let table_name = if format == Format::Pylock {
            "[[packages]] entries"
        } else {
            "[[package]] entries"
        };
        (locked, table_name)
    };
    let mut distributions = Vec::new();
    let mut issues = Vec::new();
    let mut projects = 0;
    for entry in locked {
        if entry.is_project {
            projects += 1;
            continue;
        }
        let Some(version) = entry.version.filter(|v| !v.trim().is_empty()) else {
            issues.push(
                InventoryIssue::new(path, "locked without a version: cannot be checked")
                    .for_package(&entry.name)
                    .blocking(),
            );
            continue;
        };
        distributions.push(Distribution {
            normalized: normalize_name(&entry.name),
            name: entry.name,
            version,
            requires_dist: entry.dependencies,
            license: LicenseMetadata::default(),
            location: Some(path.to_path_buf()),
            origin: Origin::Lockfile,
            line: entry.offset.map(|offset| line_col(text, offset).0),
            hashes: entry.hashes,
            shadowed: false,
        });
    }
    if distributions.is_empty() && issues.is_empty() {
        let what = if projects > 0 {
            format!("only the project itself ({projects} editable/virtual entries)")
        } else if selection.is_all() {
            format!("no {entries_name}")
        } else {
            format!("no {entries_name} in the selected groups")
        };
        return Err(error(
            0,
            0,
            format!("locks no packages: {what}; nothing could be checked"),
        ));
    }
    Ok((distributions, issues))
}

/// Inventory of lockfiles. Several files are merged; one name locked at several versions
/// (several files, or a lockfile's forks per platform) is listed, and checked, at each.
pub(super) fn load(
    files: &[PathBuf],
    selection: &GroupSelection,
    tracker: &Tracker,
) -> Result<Inventory, InventoryError> {
    let mut distributions: Vec<Distribution> = Vec::new();
    let mut issues = Vec::new();
    for file in files {
        let (found, mut file_issues) =
            tracker.time("lockfile.parse", || parse_file_selected(file, selection))?;
        issues.append(&mut file_issues);
        for dist in found {
            let mut same_name = distributions
                .iter()
                .filter(|d| d.normalized == dist.normalized);
            if same_name.clone().any(|d| d.version == dist.version) {
                continue;
            }
            if let Some(kept) = same_name.next_back() {
                issues.push(
                    InventoryIssue::new(
                        file,
                        format!(
                            "{} {} is also locked at {}; both versions are checked",
                            dist.name, dist.version, kept.version
                        ),
                    )
                    .for_package(&dist.name),
                );
            }
            distributions.push(dist);
        }
    }
    distributions.sort_by(|a, b| {
        a.normalized
            .cmp(&b.normalized)
            .then_with(|| a.version.cmp(&b.version))
    });
    Ok(Inventory {
        distributions,
        issues,
        target: super::files_target("lockfile", files),
        ..Inventory::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn uv_lock_skips_the_project_and_keeps_dependencies() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "uv.lock",
            r#"version = 1
requires-python = ">=3.11"

[[package]]
name = "myapp"
version = "0.1.0"
source = { editable = "." }
dependencies = [{ name = "requests" }]

[[package]]
name = "requests"
version = "2.32.3"
source = { registry = "https://index.example/simple" }
dependencies = [{ name = "certifi" }, { name = "urllib3" }]

[[package]]
name = "Certifi"
version = "2024.8.30"
source = { registry = "https://index.example/simple" }
sdist = { url = "https://f/certifi.tar.gz", hash = "sha256:bec9", size = 1 }
wheels = [{ url = "https://f/certifi.whl", hash = "sha256:922e", size = 2 }]
"#,
        );
        let inventory = load(&[path], &GroupSelection::default(), &Tracker::new()).unwrap();
        let names: Vec<(&str, &str)> = inventory
            .distributions
            .iter()
            .map(|d| (d.normalized.as_str(), d.version.as_str()))
            .collect();
        assert_eq!(names, [("certifi", "2024.8.30"), ("requests", "2.32.3")]);
        assert_eq!(
            inventory.distributions[1].requires_dist,
            ["certifi", "urllib3"]
        );
        assert_eq!(
            inventory.distributions[0].hashes,
            ["sha256:bec9", "sha256:922e"]
        );
        assert_eq!(inventory.target.kind, "lockfile");
        assert!(inventory.issues.is_empty());
        // Each package points at its own `[[package]]` table, for SARIF locations.
        assert_eq!(inventory.distributions[0].line, Some(16));
        assert_eq!(inventory.distributions[1].line, Some(10));
    }

    #[test]
    fn poetry_lock_and_pylock_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let poetry = write(
            dir.path(),
            "poetry.lock",
            r#"[[package]]
name = "requests"
version = "2.31.0"
description = "Python HTTP for Humans."
optional = false
python-versions = ">=3.7"
files = [{ file = "requests-2.31.0-py3-none-any.whl", hash = "sha256:00" }]

[package.dependencies]
certifi = ">=2017.4.17"
idna = ">=2.5,<4"

[metadata]
lock-version = "2.0"
"#,
        );
        let pylock = write(
            dir.path(),
            "pylock.toml",
            r#"lock-version = "1.0"
created-by = "pip"

[[packages]]
name = "idna"
version = "3.7"
wheels = [{ name = "idna-3.7-py3-none-any.whl", hashes = { sha256 = "82fe" } }]

[[packages]]
name = "requests"
version = "2.32.0"
"#,
        );
        let inventory = load(
            &[poetry, pylock],
            &GroupSelection::default(),
            &Tracker::new(),
        )
        .unwrap();
        let requests = &inventory.distributions[1];
        assert_eq!(
            (requests.name.as_str(), requests.version.as_str()),
            ("requests", "2.31.0")
        );
        assert_eq!(requests.requires_dist, ["certifi", "idna"]);
        assert_eq!(requests.hashes, ["sha256:00"]);
        assert_eq!(inventory.distributions[0].version, "3.7");
        assert_eq!(inventory.distributions[0].hashes, ["sha256:82fe"]);
        // The second file locks requests differently: reported, and both are checked.
        assert_eq!(inventory.distributions[2].version, "2.32.0");
        assert_eq!(inventory.issues.len(), 1);
        assert!(
            inventory.issues[0]
                .message
                .contains("2.32.0 is also locked at 2.31.0; both versions are checked")
        );
    }

    #[test]
    fn broken_lockfiles_are_errors_with_a_position_and_missing_versions_block() {
        let dir = tempfile::tempdir().unwrap();
        let bad = write(
            dir.path(),
            "uv.lock",
            "version = 1\n[[package]\nname = \"x\"\n",
        );
        match parse_file(&bad) {
            Err(InventoryError::Lockfile { line, .. }) => assert_eq!(line, 2),
            other => panic!(
                "expected a lockfile error, got {:?}",
                other.map(|r| r.0.len())
            ),
        }
        let wrong = write(dir.path(), "pylock.toml", "[[packages]]\nversion = \"1\"\n");
        assert!(matches!(
            parse_file(&wrong),
            Err(InventoryError::Lockfile { .. })
        ));
        let unversioned = write(dir.path(), "uv.lock", "[[package]]\nname = \"git-dep\"\n");
        let (dists, issues) = parse_file(&unversioned).unwrap();
        assert!(dists.is_empty());
        assert!(issues[0].blocking && issues[0].message.contains("without a version"));
    }
}
