//! The dashboard end to end: the real binary in a real terminal (tmux), driven with keys, against
//! a loopback registry. Skips with a printed reason where tmux is not installed.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::registry::{Faults, RegistryServer, dataset_for};

/// A private tmux server (its own socket), killed on drop.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(width: u16, height: u16, command: &str) -> Option<Tmux> {
        if Command::new("tmux").arg("-V").output().is_err() {
            return None;
        }
        // One server per test: tests run in parallel in one process, and a shared socket would
        // let one test's kill-server end another's session.
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmux = Tmux {
            socket: format!("depdash-test-{}-{width}-{n}", std::process::id()),
        };
        let status = tmux
            .cmd()
            .args(["new-session", "-d", "-s", "t", "-x", &width.to_string()])
            .args(["-y", &height.to_string(), command])
            .status()
            .expect("start tmux");
        assert!(status.success());
        // Keep the pane after the program exits, to inspect the restored terminal.
        let _ = tmux
            .cmd()
            .args(["set-option", "-t", "t", "remain-on-exit", "on"])
            .status();
        Some(tmux)
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new("tmux");
        c.args(["-L", &self.socket]);
        c
    }

    fn keys(&self, keys: &[&str]) {
        let status = self
            .cmd()
            .args(["send-keys", "-t", "t"])
            .args(keys)
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn screen(&self) -> String {
        let out = self
            .cmd()
            .args(["capture-pane", "-p", "-t", "t"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn pane_flag(&self, format: &str) -> String {
        let out = self
            .cmd()
            .args(["display-message", "-p", "-t", "t", format])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Wait until the screen satisfies `pred`; panics with the last screen after `timeout`.
    async fn wait_for(&self, what: &str, timeout: Duration, pred: impl Fn(&str) -> bool) -> String {
        let started = Instant::now();
        loop {
            let screen = self.screen();
            if pred(&screen) {
                return screen;
            }
            if started.elapsed() > timeout {
                panic!("timed out waiting for {what}; screen:\n{screen}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd().arg("kill-server").status();
    }
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

struct Setup {
    dir: tempfile::TempDir,
    server: RegistryServer,
}

impl Setup {
    async fn new(latency: Duration) -> Setup {
        let dir = crate::support::site_packages::real_project_denying_mpl();
        let packages = crate::support::site_packages::real_packages();
        let server = RegistryServer::start(dataset_for(&packages, 0)).await;
        server.set_faults(Faults {
            latency,
            ..Faults::default()
        });
        Setup { dir, server }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Arguments shared by the dashboard and the headless run.
    fn args(&self, report: &Path) -> Vec<String> {
        let mut args = crate::watch::run_args(self.dir.path(), &self.server.url());
        let output = ["--format", "json", "--output"].map(String::from);
        args.extend(output);
        args.push(report.display().to_string());
        args
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_shows_live_progress_drills_down_and_restores_the_terminal() {
    let setup = Setup::new(Duration::from_millis(150)).await;
    let report_path = setup.path("tui.json");
    let exit_file = setup.path("exit-code");
    let mut command = vec![shell_quote(env!("CARGO_BIN_EXE_depdash")), "tui".into()];
    command.extend(setup.args(&report_path).iter().map(|a| shell_quote(a)));
    let script = format!(
        "{}; echo $? > {}; sleep 30",
        command.join(" "),
        shell_quote(&exit_file.display().to_string())
    );
    let Some(tmux) = Tmux::start(120, 40, &format!("sh -c {}", shell_quote(&script))) else {
        crate::support::skip::skip("tmux not found on PATH");
        return;
    };

    // Live: the gauge counts packages while the 150 ms requests are in flight.
    let live = tmux
        .wait_for("the live gauge", Duration::from_secs(20), |s| {
            s.contains("packages") && s.contains("/34")
        })
        .await;
    assert_eq!(
        tmux.pane_flag("#{alternate_on}"),
        "1",
        "dashboard uses the alternate screen"
    );
    let finished = tmux
        .wait_for("the finished run", Duration::from_secs(30), |s| {
            s.contains("VIOLATIONS")
        })
        .await;
    assert!(
        finished.contains("hit") || finished.contains("Cache"),
        "{finished}"
    );
    println!("live screen:\n{live}\nfinished screen:\n{finished}");

    // Violations screen, drill into the license violation: rule, source and why it is here.
    tmux.keys(&["3"]);
    tmux.wait_for("the violations screen", Duration::from_secs(5), |s| {
        s.contains("certifi")
    })
    .await;
    tmux.keys(&["Enter"]);
    let detail = tmux
        .wait_for("the drill-down", Duration::from_secs(5), |s| {
            s.contains("requests → certifi")
        })
        .await;
    assert!(detail.contains("MPL-2.0"), "{detail}");
    assert!(detail.contains("licenses.deny"), "{detail}");
    println!("drill-down:\n{detail}");

    // A re-run with the cache: everything answered from it.
    // Escape and the next key sent together would read as Alt+key: send them apart.
    tmux.keys(&["Escape"]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    tmux.keys(&["r"]);
    tmux.wait_for("the second run", Duration::from_secs(30), |s| {
        s.contains("run 2")
    })
    .await;
    tmux.keys(&["1"]);
    tmux.wait_for("the second run to finish", Duration::from_secs(30), |s| {
        s.contains("Run 2") && s.contains("VIOLATIONS")
    })
    .await;

    tmux.keys(&["q"]);
    let started = Instant::now();
    while !exit_file.exists()
        || std::fs::read_to_string(&exit_file)
            .unwrap()
            .trim()
            .is_empty()
    {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "depdash did not exit after q:\n{}",
            tmux.screen()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(std::fs::read_to_string(&exit_file).unwrap().trim(), "1");
    // The shell lives on (sleep) so the pane's own state is inspected, not a dead pane's.
    // tmux reads the pty on its own schedule: give it a moment to apply the last bytes.
    let started = Instant::now();
    let restored = loop {
        let flags = (
            tmux.pane_flag("#{alternate_on}"),
            tmux.pane_flag("#{cursor_flag}"),
        );
        if flags == ("0".into(), "1".into()) || started.elapsed() > Duration::from_secs(5) {
            break flags;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        restored,
        ("0".to_string(), "1".to_string()),
        "alternate screen left and cursor shown again"
    );

    // The same engine headless gives the same answers as the dashboard's last run.
    let headless_path = setup.path("headless.json");
    let mut headless = Command::new(env!("CARGO_BIN_EXE_depdash"));
    headless.arg("check").args(setup.args(&headless_path));
    let status = tokio::task::spawn_blocking(move || headless.status().unwrap())
        .await
        .unwrap();
    assert_eq!(status.code(), Some(1));
    let tui: Value = serde_json::from_str(&std::fs::read_to_string(&report_path).unwrap()).unwrap();
    let cli: Value =
        serde_json::from_str(&std::fs::read_to_string(&headless_path).unwrap()).unwrap();
    for field in ["packages", "findings", "unknowns", "summary"] {
        assert_eq!(tui[field], cli[field], "{field} differs between the faces");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_re_checks_by_itself_on_install_and_policy_edit() {
    let setup = crate::watch::WatchSetup::new().await;
    let mut command = vec![shell_quote(env!("CARGO_BIN_EXE_depdash")), "tui".into()];
    command.extend(setup.args().iter().map(|a| shell_quote(a)));
    // Logs and state stay in the test's directory, never the user's.
    let env: Vec<String> = setup
        .private_env()
        .iter()
        .map(|(k, v)| format!("{k}={}", shell_quote(&v.display().to_string())))
        .collect();
    let script = format!(
        "env -u DEPDASH_CACHE_DIR {} {}",
        env.join(" "),
        command.join(" ")
    );
    let Some(tmux) = Tmux::start(120, 40, &format!("sh -c {}", shell_quote(&script))) else {
        crate::support::skip::skip("tmux not found on PATH");
        return;
    };
    tmux.wait_for("the first run", Duration::from_secs(30), |s| {
        s.contains("CLEAN")
    })
    .await;
    tmux.keys(&["2"]);
    tmux.wait_for("the packages screen", Duration::from_secs(5), |s| {
        s.contains("gamma") && s.contains("3 of 3")
    })
    .await;

    // No key press from here on: the copied-in distribution appears by itself, and the header
    // says what changed.
    let copied = Instant::now();
    setup.install_watchme();
    let screen = tmux
        .wait_for("the new distribution", Duration::from_secs(5), |s| {
            s.contains("watchme") && s.contains("4 of 4")
        })
        .await;
    println!("shown {:?} after the copy:\n{screen}", copied.elapsed());
    assert!(
        screen.contains("watchme 1.0 installed"),
        "the header says what changed:\n{screen}"
    );

    setup.deny_watchme_license();
    let screen = tmux
        .wait_for("the re-judged package", Duration::from_secs(5), |s| {
            s.lines()
                .any(|l| l.contains("watchme") && l.contains("violation"))
        })
        .await;
    assert!(
        screen.contains("policy depdash.toml edited"),
        "the header says what changed:\n{screen}"
    );
    tmux.keys(&["q"]);
}
