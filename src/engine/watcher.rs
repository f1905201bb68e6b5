//! Watch mode: the inputs a run read (site-packages directories, requirements and lock files, the
//! policy file), watched with `notify` and debounced, so the engine re-checks by itself when a
//! distribution is installed, upgraded or removed, or a file is edited.
//!
//! Directories are watched non-recursively: installing or removing a distribution creates or
//! deletes its `*.dist-info` entry at the top of site-packages, and a recursive watch of a large
//! environment would exhaust inotify watches. Files are watched through their directory, because
//! editors replace a file by renaming a new one over it, which ends a watch on the file itself.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc;

use crate::model::Report;
use crate::settings::Settings;

/// Quiet time after the last change before re-checking: `pip install` touches an environment
/// for a while, and one re-check should follow it, not one per file.
pub const DEBOUNCE: Duration = Duration::from_millis(400);

/// What kind of input a watched path is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum InputKind {
    /// A site-packages directory: only distribution entries matter.
    Environment,
    /// A requirements file or lockfile the run read.
    InputFile,
    /// The policy file.
    Policy,
}

/// One watched input: a directory, and the one file in it that matters (`None`: the whole
/// directory's distribution entries).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Input {
    pub kind: InputKind,
    pub dir: PathBuf,
    pub file: Option<PathBuf>,
}

impl Input {
    fn file(kind: InputKind, path: &Path) -> Option<Input> {
        let path = std::path::absolute(path).ok()?;
        let dir = path.parent()?.to_path_buf();
        Some(Input {
            kind,
            dir,
            file: Some(path),
        })
    }

    /// A human description of a change at `path`, or `None` when it does not concern this input.
    fn describe(&self, path: &Path) -> Option<String> {
        match (&self.file, self.kind) {
            (Some(file), kind) => (path == file).then(|| {
                let name = file.file_name().map_or_else(
                    || file.display().to_string(),
                    |n| n.to_string_lossy().into_owned(),
                );
                match kind {
                    InputKind::Policy => format!("policy {name} edited"),
                    _ => format!("{name} edited"),
                }
            }),
            (None, _) => {
                if path.parent() != Some(self.dir.as_path()) {
                    return None;
                }
                let name = path.file_name()?.to_string_lossy().into_owned();
                // `requests-2.32.3.dist-info` reads as `requests 2.32.3`.
                let distribution = [".dist-info", ".egg-info"]
                    .iter()
                    .find_map(|suffix| name.strip_suffix(suffix))
                    .map(|stem| stem.replacen('-', " ", 1));
                let shown = match distribution {
                    Some(shown) => shown,
                    None if name.ends_with(".pth") || name.ends_with(".egg-link") => name,
                    None => return None,
                };
                let how = if path.exists() {
                    "installed"
                } else {
                    "removed"
                };
                Some(format!("{shown} {how}"))
            }
        }
    }
}

/// The inputs of a run with these settings that produced `report`.
pub fn inputs(settings: &Settings, report: &Report) -> BTreeSet<Input> {
    let mut inputs = BTreeSet::new();
    for dir in &report.target.site_packages {
        if let Ok(dir) = std::path::absolute(dir) {
            inputs.insert(Input {
                kind: InputKind::Environment,
                dir,
                file: None,
            });
        }
    }
    let files: Vec<PathBuf> = match &settings.target {
        crate::settings::Target::Requirements(files)
        | crate::settings::Target::Lockfiles(files, _) => files.clone(),
        crate::settings::Target::Path(path) if path.is_file() => vec![path.clone()],
        _ => Vec::new(),
    };
    inputs.extend(
        files
            .iter()
            .filter_map(|f| Input::file(InputKind::InputFile, f)),
    );
    if let Some(policy) = &settings.policy.path {
        inputs.extend(Input::file(InputKind::Policy, policy));
    }
    inputs
}

/// A running watch over a set of inputs; dropping it stops watching.
pub struct InputWatcher {
    inputs: BTreeSet<Input>,
    _watcher: RecommendedWatcher,
}

/// Why a watch could not be set up (e.g. out of inotify watches).
#[derive(Debug, thiserror::Error)]
#[error("cannot watch {}: {source}", path.display())]
pub struct WatchError {
    path: PathBuf,
    #[source]
    source: notify::Error,
}

impl InputWatcher {
    /// Watch `inputs`; each event with relevant changes is sent as descriptions (the engine
    /// debounces them into one re-run). Reads are ignored: every run reads the policy file,
    /// and an open counted as a change would re-run forever.
    pub fn start(
        inputs: BTreeSet<Input>,
        changes: mpsc::UnboundedSender<Vec<String>>,
    ) -> Result<InputWatcher, WatchError> {
        let watched = inputs.clone();
        let handler = move |result: notify::Result<Event>| {
            let event = match result {
                Ok(event) if matches!(event.kind, EventKind::Access(_)) => return,
                Ok(event) => event,
                Err(_) => {
                    // A watcher error (e.g. queue overflow) may have lost a change: re-check.
                    let _ = changes.send(vec!["watched files (watch error)".to_string()]);
                    return;
                }
            };
            let what: Vec<String> = event
                .paths
                .iter()
                .flat_map(|path| watched.iter().filter_map(|i| i.describe(path)))
                .collect();
            if !what.is_empty() {
                let _ = changes.send(what);
            }
        };
        let mut watcher = notify::recommended_watcher(handler).map_err(|source| WatchError {
            path: PathBuf::new(),
            source,
        })?;
        let dirs: BTreeSet<&PathBuf> = inputs.iter().map(|i| &i.dir).collect();
        for dir in dirs {
            watcher
                .watch(dir, RecursiveMode::NonRecursive)
                .map_err(|source| WatchError {
                    path: dir.clone(),
                    source,
                })?;
        }
        Ok(InputWatcher {
            inputs,
            _watcher: watcher,
        })
    }

    pub fn inputs(&self) -> &BTreeSet<Input> {
        &self.inputs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_distribution_entries_and_the_named_files_count() {
        let env = Input {
            kind: InputKind::Environment,
            dir: PathBuf::from("/v/site-packages"),
            file: None,
        };
        assert_eq!(
            env.describe(Path::new("/v/site-packages/requests-2.32.3.dist-info"))
                .as_deref(),
            Some("requests 2.32.3 removed"),
            "the path does not exist here, so it was removed"
        );
        assert_eq!(env.describe(Path::new("/v/site-packages/requests")), None);
        assert_eq!(
            env.describe(Path::new("/v/site-packages/x.dist-info/METADATA")),
            None
        );
        let policy = Input::file(InputKind::Policy, Path::new("/p/depdash.toml")).unwrap();
        assert_eq!(
            policy.describe(Path::new("/p/depdash.toml")).as_deref(),
            Some("policy depdash.toml edited")
        );
        assert_eq!(policy.describe(Path::new("/p/other.toml")), None);
    }
}
