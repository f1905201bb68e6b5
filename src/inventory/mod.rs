//! Inventory: which distributions are installed (site-packages) or pinned (requirements files).
//!
//! Installed distributions are read natively from `*.dist-info` / `*.egg-info` metadata, the
//! same set `pip list` shows for that environment, without starting Python (except once, for an
//! interpreter outside any venv, to learn its `sys.path`). Problems with single packages become
//! [`InventoryIssue`]s and never stop the inventory; only "nothing could be inventoried" is an
//! [`InventoryError`].

pub mod core_metadata;
pub mod groups;
mod locate;
pub mod lockfile;
mod pipfile;
pub mod requirements;
mod scan;
pub mod synthetic;

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::model::{Distribution, TargetInfo};
use crate::telemetry::tracker::Tracker;

pub use groups::GroupSelection;
pub use locate::{Located, default_source, locate, locate_detailed};
pub use scan::{scan_site_packages, scan_site_packages_with_threads};

/// A problem with one file, line or package that did not stop the inventory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryIssue {
    /// The file or directory concerned.
    pub path: PathBuf,
    /// 1-based line, for requirements files.
    pub line: Option<usize>,
    /// The package concerned, when known (as named in the file).
    pub package: Option<String>,
    pub message: String,
    /// True when something may be missing from the inventory because of it (an unreadable
    /// directory, a distribution that could not be listed, an unpinned requirement): the run
    /// cannot vouch for what it did not see. False for oddities reported for completeness.
    #[serde(default)]
    pub blocking: bool,
}

impl InventoryIssue {
    pub fn new(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        InventoryIssue {
            path: path.into(),
            line: None,
            package: None,
            message: message.into(),
            blocking: false,
        }
    }

    /// Mark the issue as hiding something from the inventory.
    pub fn blocking(mut self) -> Self {
        self.blocking = true;
        self
    }

    pub fn at_line(mut self, line: usize) -> Self {
        self.line = Some(line);
        self
    }

    pub fn for_package(mut self, package: impl Into<String>) -> Self {
        self.package = Some(package.into());
        self
    }
}

impl fmt::Display for InventoryIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(package) = &self.package {
            write!(f, ": {package}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// What is installed or pinned.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inventory {
    /// Sorted by normalized name.
    pub distributions: Vec<Distribution>,
    pub issues: Vec<InventoryIssue>,
    pub target: TargetInfo,
    /// Index options the input files name (requirements files' `--index-url`, ...).
    #[serde(default, skip_serializing_if = "IndexOptions::is_empty")]
    pub indexes: IndexOptions,
    /// Every path an environment's inventory followed from (directories listed, `.pth` and
    /// `.egg-link` files and the paths they name, each distribution's metadata directory and
    /// files, present or not): while their identities are unchanged, so is the inventory.
    /// Empty for files (requirements, lockfiles).
    #[serde(skip)]
    pub followed: Vec<PathBuf>,
}

/// `-i/--index-url` and `--extra-index-url` lines of requirements files, as written (pip's
/// `.../simple` form): pip uses them for the install, so the index checks follow them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexOptions {
    /// The last `--index-url` read (it replaces the configured index, as in pip).
    pub index_url: Option<String>,
    /// Every `--extra-index-url`, in the order read.
    pub extra_index_urls: Vec<String>,
}

impl IndexOptions {
    pub fn is_empty(&self) -> bool {
        self.index_url.is_none() && self.extra_index_urls.is_empty()
    }
}

/// What to inventory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InventorySource {
    /// A project directory (its `.venv/` or `venv/`), a venv directory, or a site-packages dir.
    Path(PathBuf),
    /// A Python interpreter (`--python EXE`).
    Python(PathBuf),
    /// Pinned requirements files (`-r`/`-c` includes followed).
    Requirements(Vec<PathBuf>),
    /// Lockfiles: `uv.lock`, `poetry.lock`, `pylock.toml`, `Pipfile.lock`; the dependency groups
    /// to check.
    Lockfiles(Vec<PathBuf>, GroupSelection),
}

/// Nothing could be inventoried. Everything less than that is an [`InventoryIssue`].
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    #[error("{}: no Python environment found: {reason}", path.display())]
    NoEnvironment { path: PathBuf, reason: String },

    #[error("python interpreter {}: {message}", path.display())]
    Interpreter { path: PathBuf, message: String },

    #[error("requirements file {}: {source}", path.display())]
    RequirementsUnreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{}:{line}:{column}: not a lockfile depdash can read: {message}", path.display())]
    Lockfile {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },

    #[error("no requirements file given")]
    NoRequirementsFiles,

    #[error("{}: requirements files are not an environment with site-packages", path.display())]
    NotAnEnvironment { path: PathBuf },

    /// The input was read but yields no package: an empty or foreign file, an empty
    /// environment. Nothing was checked, which must never read as "clean".
    #[error("{target}: {what}; nothing to check (an input with no packages is never clean)")]
    Empty { target: String, what: String },
}

/// Inventory `source`: locate its site-packages and scan them, or read requirements files.
/// An input that yields no package, and no blocking issue saying why, is
/// [`InventoryError::Empty`].
pub fn load(source: &InventorySource, tracker: &Tracker) -> Result<Inventory, InventoryError> {
    plan(source, tracker)?.take(tracker)
}

/// An inventory about to be taken: its environment located (for an environment), nothing read.
pub struct Plan {
    source: InventorySource,
    located: Option<Located>,
}

/// Locate what `source` names (an environment's site-packages; files are found when read).
pub fn plan(source: &InventorySource, tracker: &Tracker) -> Result<Plan, InventoryError> {
    let located = match source {
        InventorySource::Requirements(_) | InventorySource::Lockfiles(..) => None,
        InventorySource::Path(_) | InventorySource::Python(_) => {
            Some(locate_detailed(source, tracker)?)
        }
    };
    Ok(Plan {
        source: source.clone(),
        located,
    })
}

impl Plan {
    /// The target the inventory will name, as far as it is known before anything is read: an
    /// environment's (directories that `.pth` files add are found while reading, and then
    /// named too); `None` for files.
    pub fn target(&self) -> Option<TargetInfo> {
        let located = self.located.as_ref()?;
        let (InventorySource::Path(path) | InventorySource::Python(path)) = &self.source else {
            return None;
        };
        Some(TargetInfo {
            path: display_path(path),
            ..scan::environment_target(&located.site_packages)
        })
    }

    /// What locating the environment found wrong (part of the inventory's issues), as told.
    pub fn located_issues(&self) -> Vec<String> {
        (self.located.iter())
            .flat_map(|located| located.issues.iter().map(ToString::to_string))
            .collect()
    }

    /// Read the inventory.
    pub fn take(self, tracker: &Tracker) -> Result<Inventory, InventoryError> {
        let inventory = match (&self.source, self.located) {
            (InventorySource::Requirements(files), _) => requirements::load(files, tracker)?,
            (InventorySource::Lockfiles(files, groups), _) => {
                lockfile::load(files, groups, tracker)?
            }
            (InventorySource::Path(path) | InventorySource::Python(path), located) => {
                let located = match located {
                    Some(located) => located,
                    None => locate_detailed(&self.source, tracker)?,
                };
                let mut inventory = scan_site_packages(&located.site_packages, tracker);
                let mut issues = located.issues;
                issues.append(&mut inventory.issues);
                inventory.issues = issues;
                inventory.target.path = display_path(path);
                inventory
            }
        };
        // Blocking issues already fail the run with their reasons (e.g. every line unpinned).
        if inventory.distributions.is_empty() && !inventory.issues.iter().any(|i| i.blocking) {
            return Err(empty_error(&self.source, &inventory));
        }
        Ok(inventory)
    }
}

fn empty_error(source: &InventorySource, inventory: &Inventory) -> InventoryError {
    let hidden = match inventory.issues.as_slice() {
        [] => String::new(),
        [only] => format!(" ({only})"),
        [first, rest @ ..] => format!(" ({first}; and {} more)", rest.len()),
    };
    let what = match source {
        InventorySource::Requirements(_) => format!(
            "no requirement found: the file is empty or holds only comments and options{hidden}"
        ),
        InventorySource::Lockfiles(..) => format!("no package locked{hidden}"),
        InventorySource::Path(_) | InventorySource::Python(_) => format!(
            "no installed distribution (*.dist-info or *.egg-info) in {}{hidden}",
            if inventory.target.site_packages.is_empty() {
                inventory.target.path.clone()
            } else {
                inventory.target.site_packages.join(", ")
            }
        ),
    };
    InventoryError::Empty {
        target: inventory.target.path.clone(),
        what,
    }
}

/// The files a run was given, as one line: `a.txt, b.txt`.
pub fn join_paths(files: &[PathBuf]) -> String {
    files
        .iter()
        .map(|f| f.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The target of a run over files rather than an environment.
fn files_target(kind: &str, files: &[PathBuf]) -> TargetInfo {
    TargetInfo {
        kind: kind.to_string(),
        path: join_paths(files),
        site_packages: Vec::new(),
    }
}

fn display_path(path: &Path) -> String {
    path.display().to_string()
}
