//! Dependency-group selection for lockfiles (`--group NAME`, `--no-dev`): which locked packages
//! the chosen groups need. uv.lock is walked from the project through its dependency edges;
//! poetry.lock and Pipfile.lock label each package with its groups; pylock.toml (PEP 751) says it
//! in markers (`'dev' in dependency_groups`). PEP 735 `[dependency-groups]` in the
//! `pyproject.toml` next to the lockfile adds the groups a chosen group includes
//! (`{include-group = "…"}`) and tells a stale lockfile from a misspelt name.
//!
//! A selection that cannot be honoured (a group the file does not record, a file that records
//! no groups) is an error: checking a different set than asked is never a pass.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Deserialize;

use crate::model::normalize_name;

/// The groups a run checks. Default: every locked package.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupSelection {
    /// `--group`: the main dependencies plus only these groups (names as given).
    pub only: Vec<String>,
    /// `--no-dev`: leave out the development group (`dev`, Pipfile's `develop`).
    pub no_dev: bool,
}

/// Group names as PEP 735 compares them (the PEP 503 normalisation).
pub fn normalize_group(name: &str) -> String {
    normalize_name(name)
}

/// `dev` and Pipfile's `develop` are the same idea: the development group.
fn is_dev(normalized: &str) -> bool {
    matches!(normalized, "dev" | "develop")
}

impl GroupSelection {
    /// True when every locked package is checked (no `--group`, no `--no-dev`).
    pub fn is_all(&self) -> bool {
        self.only.is_empty() && !self.no_dev
    }

    /// Whether a (non-main) group is checked. `only` holds normalised names here.
    fn selects(&self, only: &BTreeSet<String>, group: &str) -> bool {
        let group = normalize_group(group);
        if !only.is_empty() {
            only.contains(&group) || (is_dev(&group) && only.iter().any(|g| is_dev(g)))
        } else {
            !(self.no_dev && is_dev(&group))
        }
    }

    /// The requested names, normalised, each checked against the groups the lockfile records,
    /// and extended with the groups they include per `pyproject.toml`.
    fn resolve(
        &self,
        lockfile: &Path,
        recorded: &BTreeSet<String>,
    ) -> Result<BTreeSet<String>, String> {
        if recorded.is_empty() {
            return Err(
                "this lockfile records no dependency groups, so --group/--no-dev cannot select \
                 from it (lock or export it with its groups kept)"
                    .to_string(),
            );
        }
        let declared = pyproject_groups(lockfile)?;
        let mut only = BTreeSet::new();
        for name in &self.only {
            let wanted = normalize_group(name);
            if self.no_dev && is_dev(&wanted) {
                return Err(format!("--group {name} contradicts --no-dev"));
            }
            let known = |g: &String| {
                recorded.contains(g) || (is_dev(g) && recorded.iter().any(|r| is_dev(r)))
            };
            if !known(&wanted) {
                let listed = recorded.iter().cloned().collect::<Vec<_>>().join(", ");
                return Err(if declared.contains_key(&wanted) {
                    format!(
                        "group `{name}` is declared in pyproject.toml but not in this lockfile: \
                         the lockfile is out of date (groups it records: {listed})"
                    )
                } else {
                    format!("no dependency group `{name}` (groups it records: {listed})")
                });
            }
            only.insert(wanted.clone());
            // PEP 735 includes: selecting `dev` that includes `lint` selects `lint` too.
            for included in includes(&declared, &wanted) {
                if recorded.contains(&included) {
                    only.insert(included);
                }
            }
        }
        Ok(only)
    }
}

/// One entry of a PEP 735 group: a requirement string or `{include-group = "name"}`.
#[derive(Deserialize)]
#[serde(untagged)]
enum GroupEntry {
    Requirement(#[allow(dead_code)] String),
    Include {
        #[serde(rename = "include-group")]
        include_group: String,
    },
}

#[derive(Deserialize)]
struct Pyproject {
    #[serde(default, rename = "dependency-groups")]
    dependency_groups: BTreeMap<String, Vec<GroupEntry>>,
}

/// `[dependency-groups]` of the `pyproject.toml` beside `lockfile` (normalised name → the
/// groups it includes directly); empty when there is no such file.
fn pyproject_groups(lockfile: &Path) -> Result<BTreeMap<String, Vec<String>>, String> {
    let Some(path) = lockfile.parent().map(|d| d.join("pyproject.toml")) else {
        return Ok(BTreeMap::new());
    };
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(BTreeMap::new());
    };
    let doc: Pyproject = toml::from_str(&text).map_err(|e| {
        format!(
            "{}: [dependency-groups]: {}",
            path.display(),
            e.message().trim()
        )
    })?;
    Ok(doc
        .dependency_groups
        .into_iter()
        .map(|(name, entries)| {
            let included = entries
                .into_iter()
                .filter_map(|e| match e {
                    GroupEntry::Include { include_group } => Some(normalize_group(&include_group)),
                    GroupEntry::Requirement(_) => None,
                })
                .collect();
            (normalize_group(&name), included)
        })
        .collect())
}

/// Every group `group` includes, directly or not (cycles, which PEP 735 forbids, end the walk).
fn includes(declared: &BTreeMap<String, Vec<String>>, group: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut stack: Vec<&str> = vec![group];
    while let Some(g) = stack.pop() {
        for included in declared.get(g).into_iter().flatten() {
            if included != group && seen.insert(included.clone()) {
                stack.push(included);
            }
        }
    }
    seen
}

// --- uv.lock -------------------------------------------------------------------------------

#[derive(Deserialize)]
struct UvDependency {
    name: String,
    #[serde(default)]
    extra: Vec<String>,
}

#[derive(Deserialize)]
struct UvPackage {
    name: String,
    #[serde(default)]
    source: BTreeMap<String, toml::Value>,
    #[serde(default)]
    dependencies: Vec<UvDependency>,
    #[serde(default, rename = "optional-dependencies")]
    optional_dependencies: BTreeMap<String, Vec<UvDependency>>,
    #[serde(default, rename = "dev-dependencies")]
    dev_dependencies: BTreeMap<String, Vec<UvDependency>>,
}

/// uv.lock: everything reachable from the project's dependencies (all its extras) and the
/// selected groups, following extras along the way.
fn uv_selected(
    path: &Path,
    packages: Vec<UvPackage>,
    selection: &GroupSelection,
) -> Result<BTreeSet<String>, String> {
    let is_project =
        |p: &UvPackage| p.source.contains_key("editable") || p.source.contains_key("virtual");
    let recorded: BTreeSet<String> = packages
        .iter()
        .filter(|p| is_project(p))
        .flat_map(|p| p.dev_dependencies.keys().map(|g| normalize_group(g)))
        .collect();
    if !packages.iter().any(is_project) {
        return Err("no project package (editable or virtual source) to select groups from".into());
    }
    let only = selection.resolve(path, &recorded)?;
    let mut by_name: BTreeMap<String, Vec<&UvPackage>> = BTreeMap::new();
    for p in &packages {
        by_name.entry(normalize_name(&p.name)).or_default().push(p);
    }
    let mut queue: Vec<&UvDependency> = Vec::new();
    for project in packages.iter().filter(|p| is_project(p)) {
        queue.extend(project.dependencies.iter());
        queue.extend(project.optional_dependencies.values().flatten());
        for (group, deps) in &project.dev_dependencies {
            if selection.selects(&only, group) {
                queue.extend(deps);
            }
        }
    }
    let mut kept = BTreeSet::new();
    let mut expanded: BTreeSet<(String, String)> = BTreeSet::new();
    while let Some(dep) = queue.pop() {
        let name = normalize_name(&dep.name);
        let first_visit = kept.insert(name.clone());
        for p in by_name.get(&name).into_iter().flatten() {
            if first_visit {
                queue.extend(p.dependencies.iter());
            }
            for extra in &dep.extra {
                if expanded.insert((name.clone(), extra.clone())) {
                    queue.extend(p.optional_dependencies.get(extra).into_iter().flatten());
                }
            }
        }
    }
    Ok(kept)
}

// --- poetry.lock ---------------------------------------------------------------------------

#[derive(Deserialize)]
struct PoetryPackage {
    name: String,
    /// Poetry ≥ 1.2 with lock-version 2.1.
    groups: Option<Vec<String>>,
    /// Poetry before 1.5.
    category: Option<String>,
}

fn poetry_selected(
    path: &Path,
    packages: Vec<PoetryPackage>,
    selection: &GroupSelection,
) -> Result<BTreeSet<String>, String> {
    let labelled: Vec<(String, Vec<String>)> = packages
        .into_iter()
        .map(|p| {
            let groups = p.groups.or(p.category.map(|c| vec![c])).unwrap_or_default();
            (
                normalize_name(&p.name),
                groups.iter().map(|g| normalize_group(g)).collect(),
            )
        })
        .collect();
    let recorded: BTreeSet<String> = labelled
        .iter()
        .flat_map(|(_, groups)| groups.iter().cloned())
        .filter(|g| g != "main")
        .collect();
    if labelled.iter().any(|(_, groups)| groups.is_empty()) {
        return Err("a package has no `groups` (Poetry before lock-version 2.1): re-lock with Poetry 2 to select groups".into());
    }
    let only = selection.resolve(path, &recorded)?;
    Ok(labelled
        .into_iter()
        .filter(|(_, groups)| {
            groups
                .iter()
                .any(|g| g == "main" || selection.selects(&only, g))
        })
        .map(|(name, _)| name)
        .collect())
}

// --- pylock.toml ---------------------------------------------------------------------------

#[derive(Deserialize)]
struct PylockPackage {
    name: String,
    marker: Option<String>,
}

/// The groups a PEP 751 marker names with `'g' in dependency_groups`; `None` when the marker does
/// not mention groups, or mentions them in a form not read here (then the package is kept).
fn marker_groups(marker: &str) -> Option<Vec<String>> {
    if !marker.contains("dependency_groups") {
        return None;
    }
    let mut groups = Vec::new();
    let mut rest = marker;
    while let Some(at) = rest.find("in dependency_groups") {
        let before = rest[..at].trim_end();
        if before.ends_with("not") {
            return None;
        }
        let quote = before.chars().last()?;
        if !matches!(quote, '\'' | '"') {
            return None;
        }
        let body = &before[..before.len() - 1];
        let start = body.rfind(quote)?;
        groups.push(normalize_group(&body[start + 1..]));
        rest = &rest[at + "in dependency_groups".len()..];
    }
    Some(groups)
}

fn pylock_selected(
    path: &Path,
    declared: Vec<String>,
    packages: Vec<PylockPackage>,
    selection: &GroupSelection,
) -> Result<BTreeSet<String>, String> {
    let recorded: BTreeSet<String> = declared.iter().map(|g| normalize_group(g)).collect();
    let only = selection.resolve(path, &recorded)?;
    Ok(packages
        .into_iter()
        .filter(|p| match p.marker.as_deref().and_then(marker_groups) {
            None => true,
            Some(groups) => groups.iter().any(|g| selection.selects(&only, g)),
        })
        .map(|p| normalize_name(&p.name))
        .collect())
}

#[derive(Deserialize)]
struct TomlLock {
    #[serde(default)]
    package: Vec<toml::Value>,
    #[serde(default)]
    packages: Vec<PylockPackage>,
    #[serde(default, rename = "dependency-groups")]
    dependency_groups: Vec<String>,
}

fn packages_as<T: for<'de> Deserialize<'de>>(values: Vec<toml::Value>) -> Result<Vec<T>, String> {
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| v.try_into().map_err(|e| format!("package {}: {e}", i + 1)))
        .collect()
}

/// The normalised names of the packages of a TOML lockfile (`uv.lock`, `poetry.lock`,
/// `pylock.toml`) that `selection` keeps.
pub(super) fn select_toml(
    path: &Path,
    text: &str,
    selection: &GroupSelection,
) -> Result<BTreeSet<String>, String> {
    let doc: TomlLock = toml::from_str(text).map_err(|e| e.message().trim().to_string())?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !doc.packages.is_empty() {
        pylock_selected(path, doc.dependency_groups, doc.packages, selection)
    } else if file_name == "poetry.lock" {
        poetry_selected(path, packages_as(doc.package)?, selection)
    } else {
        uv_selected(path, packages_as(doc.package)?, selection)
    }
}

/// Pipfile.lock: keep the `default` category and the selected others (`develop`, custom ones).
pub(super) fn select_categories<'a>(
    path: &Path,
    categories: impl Iterator<Item = &'a str>,
    selection: &GroupSelection,
) -> Result<BTreeSet<String>, String> {
    let categories: Vec<&str> = categories.collect();
    if selection.is_all() {
        return Ok(categories.iter().map(|c| c.to_string()).collect());
    }
    let recorded: BTreeSet<String> = categories
        .iter()
        .filter(|c| **c != "default")
        .map(|c| normalize_group(c))
        .collect();
    let only = selection.resolve(path, &recorded)?;
    Ok(categories
        .into_iter()
        .filter(|c| *c == "default" || selection.selects(&only, c))
        .map(str::to_string)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pep751_markers_name_their_groups() {
        assert_eq!(
            marker_groups("'dev' in dependency_groups"),
            Some(vec!["dev".to_string()])
        );
        assert_eq!(
            marker_groups("\"Docs\" in dependency_groups or 'lint' in dependency_groups"),
            Some(vec!["docs".to_string(), "lint".to_string()])
        );
        assert_eq!(marker_groups("sys_platform == 'win32'"), None);
        // Forms not read here keep the package (checking more is safe, less is not).
        assert_eq!(marker_groups("'dev' not in dependency_groups"), None);
    }

    #[test]
    fn includes_follow_chains_and_survive_cycles() {
        let declared: BTreeMap<String, Vec<String>> = [
            ("dev".to_string(), vec!["lint".to_string()]),
            (
                "lint".to_string(),
                vec!["types".to_string(), "dev".to_string()],
            ),
            ("types".to_string(), vec![]),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            includes(&declared, "dev").into_iter().collect::<Vec<_>>(),
            ["lint", "types"]
        );
    }

    #[test]
    fn selection_rules() {
        let none = BTreeSet::new();
        let no_dev = GroupSelection {
            only: vec![],
            no_dev: true,
        };
        assert!(!no_dev.selects(&none, "dev") && !no_dev.selects(&none, "develop"));
        assert!(no_dev.selects(&none, "docs"));
        let only: BTreeSet<String> = ["docs".to_string()].into();
        let docs = GroupSelection {
            only: vec!["Docs".into()],
            no_dev: false,
        };
        assert!(docs.selects(&only, "DOCS") && !docs.selects(&only, "dev"));
        let dev: BTreeSet<String> = ["dev".to_string()].into();
        assert!(
            docs.selects(&dev, "develop"),
            "dev and develop are one group"
        );
    }
}
