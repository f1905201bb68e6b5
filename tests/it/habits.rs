//! Small habits of the command line, through the real binary: a closed stdout is an error
//! (exit 2), never a panic; shell completions; `--quiet`; the `-o` summary line; defaults in
//! `--help`.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::support::bin::depdash;
use crate::support::site_packages::real_site_packages;

/// Run with stdout a real pipe whose reading end is closed before the child starts.
///
/// Other tests spawn processes concurrently: a child forked in the instant the reading end
/// exists holds a copy until it execs, and on a loaded machine that can outlast our child's
/// write, which then succeeds. That outcome (exit 0, silent) says nothing about depdash, so it
/// is retried; any other outcome is returned as is.
fn with_stdout_closed(command: &mut Command) -> Output {
    for _ in 0..5 {
        let (reader, writer) = std::io::pipe().expect("a pipe");
        drop(reader);
        let output = command
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .expect("run depdash");
        if !(output.status.success() && output.stderr.is_empty()) {
            return output;
        }
    }
    panic!("stdout was never seen closed: another process kept the pipe open every time");
}

/// An offline check of the real fixture environment, with its cache under `dir`.
fn offline_check(dir: &Path) -> Command {
    let mut command = crate::support::bin::offline_check(&dir.join("cache"));
    command.arg(real_site_packages());
    command
}

fn assert_closed_stdout_error(output: &Output) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.contains("depdash: error: stdout was closed before all the output was written"),
        "{stderr}"
    );
}

#[test]
fn a_closed_stdout_is_exit_2_with_a_message_never_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let cache = cache.to_str().unwrap();
    assert_closed_stdout_error(&with_stdout_closed(&mut depdash(&[
        "cache",
        "stats",
        "--cache-dir",
        cache,
    ])));
    assert_closed_stdout_error(&with_stdout_closed(&mut offline_check(dir.path())));
    assert_closed_stdout_error(&with_stdout_closed(&mut depdash(&["completions", "bash"])));
}

#[test]
fn completions_for_every_shell() {
    for (shell, marker) in [
        ("bash", "complete -F _depdash"),
        ("zsh", "#compdef depdash"),
        ("fish", "complete -c depdash"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let output = depdash(&["completions", shell]).output().unwrap();
        assert!(output.status.success(), "{shell}");
        let script = String::from_utf8(output.stdout).unwrap();
        assert!(script.contains(marker), "{shell}: {script}");
        // Subcommands and their flags are completed, not just the top level.
        assert!(script.contains("completions"), "{shell}");
        assert!(script.contains("no-vulnerabilities"), "{shell}");
    }
    let output = depdash(&["completions", "tcsh"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn output_file_prints_one_summary_line_and_quiet_prints_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("r.json");
    let to_file = || {
        let mut command = offline_check(dir.path());
        command.args(["--format", "json", "-o"]).arg(&report);
        command
    };
    let output = to_file().output().unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let packages = json["summary"]["packages"].as_u64().unwrap();
    assert!(packages > 0);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("depdash: ")
            && stderr.contains(&format!("({packages} packages,"))
            && stderr
                .trim_end()
                .ends_with(&format!("report written to {}", report.display())),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());

    std::fs::remove_file(&report).unwrap();
    let output = to_file().arg("--quiet").output().unwrap();
    assert!(report.is_file(), "the report is still written");
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
    assert_eq!(
        output.status.code(),
        Some(json["summary"]["exit_code"].as_i64().unwrap() as i32)
    );
}

#[test]
fn help_shows_the_defaults() {
    let output = depdash(&["check", "--help"]).output().unwrap();
    let help = String::from_utf8(output.stdout).unwrap();
    let http = depdash::sources::http::HttpConfig::default();
    for default in [
        format!(
            "[default: {} on HTTP/1.1, {} on HTTP/2]",
            http.concurrency, http.concurrency_http2
        ),
        format!("[default: {}s]", http.request_timeout.as_secs()),
        format!("[default: {}]", http.retries),
        format!("[default: {}s]", http.stall_timeout.as_secs()),
        format!("[default: {}s]", http.connect_timeout.as_secs()),
        format!("[default: {}s]", http.fetch_deadline.as_secs()),
        format!("[default: {}]", depdash::settings::DEFAULT_OSV_URL),
        "[default: text]".to_string(),
        "[default: auto]".to_string(),
    ] {
        assert!(help.contains(&default), "missing {default} in\n{help}");
    }
    assert!(help.contains("-q, --quiet"), "{help}");
}
