//! The built `depdash` binary as a `std::process::Command`, without the developer's depdash or
//! pip environment variables (so a test sees only what it sets).

use std::process::Command;

pub fn depdash(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_depdash"));
    command.args(args).env("NO_COLOR", "1");
    for (key, _) in std::env::vars() {
        if key.starts_with("DEPDASH_") || key.starts_with("PIP_") {
            command.env_remove(key);
        }
    }
    command
}

/// `depdash check` that reads only local files: no network, no history, no progress, its own
/// cache directory. Add the target (and any format) with `.arg`/`.args`.
pub fn offline_check(cache_dir: &std::path::Path) -> Command {
    let mut command = depdash(&[
        "check",
        "--offline",
        "--no-vulnerabilities",
        "--no-registry",
        "--no-history",
        "--progress",
        "never",
    ]);
    command.arg("--cache-dir").arg(cache_dir);
    command
}
