//! Pipfile.lock as an input and dependency-group selection (`--group`, `--no-dev`) over real
//! lockfiles written by uv, Poetry and pipenv (tests/fixtures/lockfiles/, see its README).

use std::path::{Path, PathBuf};

use depdash::inventory::GroupSelection;
use depdash::inventory::lockfile::parse_file_selected;

use crate::support::site_packages::fixture;

fn lockfile(rel: &str) -> PathBuf {
    fixture(&format!("lockfiles/{rel}"))
}

fn select(only: &[&str], no_dev: bool) -> GroupSelection {
    GroupSelection {
        only: only.iter().map(|s| s.to_string()).collect(),
        no_dev,
    }
}

/// Normalised names of the packages kept, sorted.
fn names(path: &Path, selection: &GroupSelection) -> Vec<String> {
    let (dists, issues) =
        parse_file_selected(path, selection).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(issues.is_empty(), "{issues:?}");
    let mut names: Vec<String> = dists.into_iter().map(|d| d.normalized).collect();
    names.sort();
    names
}

fn error(path: &Path, selection: &GroupSelection) -> String {
    match parse_file_selected(path, selection) {
        Err(e) => e.to_string(),
        Ok((dists, _)) => panic!(
            "{}: expected an error, got {} packages",
            path.display(),
            dists.len()
        ),
    }
}

const MAIN: [&str; 5] = [
    "certifi",
    "charset-normalizer",
    "idna",
    "requests",
    "urllib3",
];
const DEV: [&str; 5] = ["colorama", "iniconfig", "packaging", "pluggy", "pytest"];

fn with(extra: &[&str]) -> Vec<String> {
    let mut all: Vec<String> = MAIN.iter().chain(extra).map(|s| s.to_string()).collect();
    all.sort();
    all
}

#[test]
fn uv_lock_groups_follow_the_project_and_pep735_includes() {
    let uv = lockfile("uv/uv.lock");
    let all = [DEV.as_slice(), &["pyflakes", "six"]].concat();
    assert_eq!(names(&uv, &GroupSelection::default()), with(&all));
    // --no-dev leaves out `dev` only; docs and lint stay.
    assert_eq!(names(&uv, &select(&[], true)), with(&["pyflakes", "six"]));
    assert_eq!(names(&uv, &select(&["lint"], false)), with(&["pyflakes"]));
    assert_eq!(
        names(&uv, &select(&["Docs", "lint"], false)),
        with(&["pyflakes", "six"])
    );
    assert_eq!(
        names(&uv, &select(&["dev"], false)),
        with(&[DEV.as_slice(), &["pyflakes"]].concat())
    );
    let unknown = error(&uv, &select(&["typo"], false));
    assert!(
        unknown.contains("no dependency group `typo` (groups it records: dev, docs, lint)"),
        "{unknown}"
    );
    assert!(error(&uv, &select(&["dev"], true)).contains("contradicts --no-dev"));
}

#[test]
fn a_group_declared_in_pyproject_but_not_locked_means_a_stale_lockfile() {
    let dir = tempfile::tempdir().unwrap();
    let pyproject = std::fs::read_to_string(lockfile("uv/pyproject.toml")).unwrap();
    std::fs::write(
        dir.path().join("pyproject.toml"),
        pyproject + "typing = [\"mypy\"]\n",
    )
    .unwrap();
    let uv = dir.path().join("uv.lock");
    std::fs::copy(lockfile("uv/uv.lock"), &uv).unwrap();
    let stale = error(&uv, &select(&["typing"], false));
    assert!(
        stale.contains("declared in pyproject.toml but not in this lockfile"),
        "{stale}"
    );
}

#[test]
fn poetry_lock_groups_come_from_each_package() {
    let poetry = lockfile("poetry/poetry.lock");
    assert_eq!(
        names(&poetry, &GroupSelection::default()),
        with(&[DEV.as_slice(), &["six"]].concat())
    );
    assert_eq!(names(&poetry, &select(&[], true)), with(&["six"]));
    assert_eq!(names(&poetry, &select(&["docs"], false)), with(&["six"]));
    assert_eq!(names(&poetry, &select(&["dev"], false)), with(&DEV));
}

#[test]
fn pylock_groups_come_from_markers_and_a_flattened_export_cannot_select() {
    let grouped = lockfile("uv/pylock.grouped.toml");
    assert_eq!(
        names(&grouped, &select(&[], true)),
        with(&["pyflakes", "six"])
    );
    assert_eq!(
        names(&grouped, &select(&["lint"], false)),
        with(&["pyflakes"])
    );
    // `dev` includes `lint` in pyproject.toml.
    assert_eq!(
        names(&grouped, &select(&["dev"], false)),
        with(&[DEV.as_slice(), &["pyflakes"]].concat())
    );
    let flat = lockfile("uv/pylock.toml");
    assert_eq!(names(&flat, &GroupSelection::default()).len(), 12);
    assert!(error(&flat, &select(&[], true)).contains("records no dependency groups"));
}

#[test]
fn pipfile_lock_default_and_develop() {
    let pipfile = lockfile("pipenv/Pipfile.lock");
    let pipenv_dev = ["iniconfig", "packaging", "pluggy", "pytest"];
    assert_eq!(
        names(&pipfile, &GroupSelection::default()),
        with(&pipenv_dev)
    );
    assert_eq!(names(&pipfile, &select(&[], true)), with(&[]));
    // `dev` names pipenv's `develop`.
    assert_eq!(names(&pipfile, &select(&["dev"], false)), with(&pipenv_dev));
    assert!(error(&pipfile, &select(&["docs"], false)).contains("no dependency group `docs`"));
    let (dists, _) = parse_file_selected(&pipfile, &GroupSelection::default()).unwrap();
    let requests = dists.iter().find(|d| d.normalized == "requests").unwrap();
    assert_eq!(
        requests.version, "2.32.3",
        "the == of the lock is not part of the version"
    );
}

#[test]
fn hostile_empty_or_foreign_pipfile_locks_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let meta = r#""_meta": {"pipfile-spec": 6, "requires": {}, "sources": []}"#;
    for (text, expected) in [
        ("", "not a Pipfile.lock (JSON)"),
        ("{}", "no `_meta`"),
        (r#"{"_meta": {}, "default": {}}"#, "no `pipfile-spec`"),
        (
            r#"{"name": "app", "dependencies": {"left-pad": "1.0"}}"#,
            "no `_meta`",
        ),
        (&format!("{{{meta}, \"develop\": {{}}}}"), "no `default`"),
        (
            &format!("{{{meta}, \"default\": {{}}, \"develop\": {{}}}}"),
            "locks no packages",
        ),
        (
            &format!("{{{meta}, \"default\": []}}"),
            "category `default`",
        ),
        (
            &format!("{{{meta}, \"default\": {{\"x\": {{\"version\": 3}}}}}}"),
            "category `default`",
        ),
        ("{\"_meta\": ", "not a Pipfile.lock (JSON)"),
    ] {
        let path = dir.path().join("Pipfile.lock");
        std::fs::write(&path, text).unwrap();
        let message = error(&path, &GroupSelection::default());
        assert!(message.contains(expected), "{text:?}: {message}");
    }
    // Unpinned entries (git, path, a range) cannot be checked: blocking, never dropped.
    let path = dir.path().join("Pipfile.lock");
    std::fs::write(
        &path,
        format!(
            r#"{{{meta}, "default": {{"six": {{"version": "==1.16.0"}}, "mylib": {{"git": "https://example.invalid/x.git", "ref": "abc"}}, "loose": {{"version": ">=1"}}}}}}"#
        ),
    )
    .unwrap();
    let (dists, issues) = parse_file_selected(&path, &GroupSelection::default()).unwrap();
    assert_eq!(dists.len(), 1);
    assert_eq!(issues.len(), 2);
    assert!(
        issues
            .iter()
            .all(|i| i.blocking && i.message.contains("without a version"))
    );
}

#[test]
fn cli_selects_groups_and_rejects_a_bad_pipfile_lock_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let run = |args: &[&str]| {
        crate::support::bin::offline_check(&cache)
            .args(["--format", "json"])
            .args(args)
            .output()
            .unwrap()
    };
    let pipfile = lockfile("pipenv/Pipfile.lock");
    let output = run(&["--lock", pipfile.to_str().unwrap(), "--no-dev"]);
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        report["summary"]["packages"],
        5,
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let bad = dir.path().join("Pipfile.lock");
    std::fs::write(&bad, "{}").unwrap();
    let output = run(&["--lock", bad.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no `_meta`"));
    // --group needs a lockfile.
    let output = run(&["--group", "dev", "."]);
    assert_eq!(output.status.code(), Some(2));
}
