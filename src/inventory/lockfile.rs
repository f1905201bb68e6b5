//! Lockfiles as an inventory source: `uv.lock`, `poetry.lock` and PEP 751 `pylock.toml`. All
//! three are TOML lists of packages with exact versions; the format is told by the file name
//! (`uv.lock`, `poetry.lock`, `pylock.toml` / `pylock.<name>.toml`), else by its top-level keys.
//! Dependencies between packages are kept as `Requires-Dist`-style names, so "why is this
//! package here" works as for an installed environment.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{Inventory, InventoryError, InventoryIssue};
use crate::model::{Distribution, LicenseMetadata, Origin, normalize_name};
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
struct Locked {
    name: String,
    version: Option<String>,
    dependencies: Vec<String>,
    /// The project itself (uv's `editable`/`virtual` source): not a dependency.
    is_project: bool,
    /// Artifact hashes, `algorithm:hexdigest`.
    hashes: Vec<String>,
    /// Byte offset of the package's table in the file (for its line).
    offset: usize,
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

fn entries(path: &Path, doc: LockDocument) -> Result<Vec<Locked>, String> {
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let poetry = file_name == "poetry.lock";
    let values = if doc.packages.is_empty() {
        doc.package
    } else {
        doc.packages
    };
    values
        .into_iter()
        .enumerate()
        .map(|(i, spanned)| {
            let offset = spanned.span().start;
            let value = spanned.into_inner();
            let hashes = artifact_hashes(&value);
            let entry = if poetry {
                let p: PoetryPackage = value
                    .try_into()
                    .map_err(|e| format!("package {}: {e}", i + 1))?;
                Locked {
                    name: p.name,
                    version: p.version,
                    dependencies: p.dependencies.into_keys().collect(),
                    is_project: false,
                    hashes,
                    offset,
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
                    offset,
                }
            };
            Ok(entry)
        })
        .collect()
}

/// Read one lockfile into distributions (origin `lockfile`) and issues.
pub fn parse_file(path: &Path) -> Result<(Vec<Distribution>, Vec<InventoryIssue>), InventoryError> {
    let text =
        std::fs::read_to_string(path).map_err(|source| InventoryError::RequirementsUnreadable {
            path: path.to_path_buf(),
            source,
        })?;
    let doc: LockDocument = toml::from_str(&text).map_err(|e| {
        let (line, column) = line_col(&text, e.span().map_or(0, |s| s.start));
        InventoryError::Lockfile {
            path: path.to_path_buf(),
            line,
            column,
            message: e.message().trim().to_string(),
        }
    })?;
    let locked = entries(path, doc).map_err(|message| InventoryError::Lockfile {
        path: path.to_path_buf(),
        line: 0,
        column: 0,
        message,
    })?;
    let mut distributions = Vec::new();
    let mut issues = Vec::new();
    for entry in locked {
        if entry.is_project {
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
            line: Some(line_col(&text, entry.offset).0),
            hashes: entry.hashes,
        });
    }
    Ok((distributions, issues))
}

/// Inventory of lockfiles (several are merged; the first mention of a name wins).
pub(super) fn load(files: &[PathBuf], tracker: &Tracker) -> Result<Inventory, InventoryError> {
    let mut distributions: Vec<Distribution> = Vec::new();
    let mut issues = Vec::new();
    for file in files {
        let (found, mut file_issues) = tracker.time("lockfile.parse", || parse_file(file))?;
        issues.append(&mut file_issues);
        for dist in found {
            match distributions
                .iter()
                .find(|d| d.normalized == dist.normalized)
            {
                Some(kept) if kept.version != dist.version => issues.push(
                    InventoryIssue::new(
                        file,
                        format!(
                            "{} {} conflicts with {} locked earlier; the first is checked",
                            dist.name, dist.version, kept.version
                        ),
                    )
                    .for_package(&dist.name),
                ),
                Some(_) => {}
                None => distributions.push(dist),
            }
        }
    }
    distributions.sort_by(|a, b| a.normalized.cmp(&b.normalized));
    Ok(Inventory {
        distributions,
        issues,
        target: super::files_target("lockfile", files),
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
        let inventory = load(&[path], &Tracker::new()).unwrap();
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
        let inventory = load(&[poetry, pylock], &Tracker::new()).unwrap();
        let requests = &inventory.distributions[1];
        assert_eq!(
            (requests.name.as_str(), requests.version.as_str()),
            ("requests", "2.31.0")
        );
        assert_eq!(requests.requires_dist, ["certifi", "idna"]);
        assert_eq!(requests.hashes, ["sha256:00"]);
        assert_eq!(inventory.distributions[0].version, "3.7");
        assert_eq!(inventory.distributions[0].hashes, ["sha256:82fe"]);
        // The second file locks requests differently: reported, the first kept.
        assert_eq!(inventory.issues.len(), 1);
        assert!(
            inventory.issues[0]
                .message
                .contains("2.32.0 conflicts with 2.31.0")
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
