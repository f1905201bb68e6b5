//! A real Python, when the machine has one: finding it, making venvs, asking pip.

use std::path::{Path, PathBuf};
use std::process::Command;

/// `python3` (or `python`) from PATH if it runs; `None` lets a test skip with a printed reason.
pub fn python3() -> Option<PathBuf> {
    ["python3", "python"].into_iter().find_map(|name| {
        let ok = Command::new(name)
            .args(["-c", "import sys; assert sys.version_info >= (3, 8)"])
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| PathBuf::from(name))
    })
}

/// Run a command and return its stdout, or a description of what went wrong.
pub fn run(command: &mut Command) -> Result<String, String> {
    let output = command
        .output()
        .map_err(|e| format!("{command:?}: cannot start: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "{command:?}: {}\nstdout: {}\nstderr: {}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// `python -m pip list --format=json [extra...]`, run from `cwd` (pip also lists what is in
/// the working directory, so callers pass an empty one), as sorted (name, version) pairs.
pub fn pip_list(
    python: &Path,
    extra: &[&str],
    cwd: &Path,
) -> Result<Vec<(String, String)>, String> {
    let stdout = run(Command::new(python)
        .args([
            "-m",
            "pip",
            "list",
            "--format=json",
            "--disable-pip-version-check",
        ])
        .args(extra)
        .current_dir(cwd)
        .env("PIP_NO_INPUT", "1")
        .env_remove("PYTHONPATH"))?;
    let listed: Vec<serde_json::Value> = serde_json::from_str(stdout.trim())
        .map_err(|e| format!("pip list output: {e}: {stdout}"))?;
    let mut pairs: Vec<(String, String)> = listed
        .iter()
        .map(|entry| {
            (
                entry["name"].as_str().unwrap_or_default().to_string(),
                entry["version"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    pairs.sort();
    Ok(pairs)
}

/// Where a venv keeps its interpreter.
pub fn venv_python(venv: &Path) -> PathBuf {
    if cfg!(windows) {
        venv.join("Scripts").join("python.exe")
    } else {
        venv.join("bin").join("python")
    }
}
