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
