//! The files that make depdash a Python-ecosystem tool: `pyproject.toml` (maturin builds the
//! binary into a wheel) and `.pre-commit-hooks.yaml`. The wheel itself is built, installed and run
//! by `.ci/run`; these tests keep the files' contents honest.

use std::path::{Path, PathBuf};

fn repo_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(name)
}

#[test]
fn pyproject_builds_the_binary_with_maturin_and_is_not_a_policy() {
    let text = std::fs::read_to_string(repo_file("pyproject.toml")).unwrap();
    let doc: toml::Table = text.parse().unwrap();
    assert_eq!(
        doc["build-system"]["build-backend"].as_str(),
        Some("maturin")
    );
    assert_eq!(doc["tool"]["maturin"]["bindings"].as_str(), Some("bin"));
    assert_eq!(doc["project"]["name"].as_str(), Some("depdash"));
    // The version comes from Cargo.toml, so the wheel and `--version` cannot disagree.
    let dynamic = doc["project"]["dynamic"].as_array().unwrap();
    assert!(dynamic.iter().any(|v| v.as_str() == Some("version")));
    assert!(doc["project"].get("version").is_none());
    // Running depdash in its own checkout must not find a policy there.
    assert!(!doc["tool"].as_table().unwrap().contains_key("depdash"));
    assert_eq!(
        depdash::policy::discover(Path::new(env!("CARGO_MANIFEST_DIR"))),
        None
    );
}

/// The single hook of `.pre-commit-hooks.yaml`, as YAML.
fn hook() -> yaml_rust2::Yaml {
    let text = std::fs::read_to_string(repo_file(".pre-commit-hooks.yaml")).unwrap();
    let mut docs = yaml_rust2::YamlLoader::load_from_str(&text).unwrap();
    let hooks = docs.remove(0).into_vec().expect("a list of hooks");
    assert_eq!(hooks.len(), 1);
    hooks.into_iter().next().unwrap()
}

#[test]
fn pre_commit_hook_runs_check_without_filenames_on_dependency_files() {
    let hook = hook();
    assert_eq!(hook["id"].as_str(), Some("depdash"));
    assert_eq!(hook["entry"].as_str(), Some("depdash check"));
    assert_eq!(hook["language"].as_str(), Some("python"));
    assert_eq!(hook["pass_filenames"].as_bool(), Some(false));
    // pre-commit activates its own venv: the project is named so that venv is not checked.
    let args: Vec<&str> = hook["args"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(args, ["."]);
    // pre-commit applies `files` with Python's re.search to repository-relative paths.
    let files = regex::Regex::new(hook["files"].as_str().unwrap()).unwrap();
    for path in [
        "requirements.txt",
        "requirements-dev.txt",
        "requirements.in",
        "requirements/prod.txt",
        "constraints.txt",
        "sub/project/uv.lock",
        "poetry.lock",
        "Pipfile",
        "Pipfile.lock",
        "pylock.toml",
        "pylock.docs.toml",
        "pyproject.toml",
        "services/api/pyproject.toml",
        "depdash.toml",
    ] {
        assert!(files.is_match(path), "{path} should trigger the hook");
    }
    for path in [
        "setup.py",
        "src/requirements.py",
        "requirements.txt.bak",
        "mypyproject.toml",
        "README.md",
        "docs/uv.lock.md",
        "poetry.lock.orig",
        "my-depdash.toml",
        "Pipfile.lock~",
        "pylock.toml.j2",
        "Cargo.lock",
    ] {
        assert!(!files.is_match(path), "{path} should not trigger the hook");
    }
}
