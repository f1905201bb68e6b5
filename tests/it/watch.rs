//! Watch mode end to end: the real binary on a small environment against a loopback registry,
//! re-checking by itself when a distribution is copied in and when the policy file is edited,
//! from the cache (request counts at the registry prove one changed package costs one package).

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;

use crate::support::registry::{RegistryServer, dataset_for};
use crate::support::site_packages::dist_info;

/// A small environment (three MIT distributions), a policy, and a registry that also knows the
/// `watchme` distribution the tests copy in later.
pub struct WatchSetup {
    pub dir: tempfile::TempDir,
    pub server: RegistryServer,
}

fn metadata(name: &str, version: &str, license: &str) -> Vec<u8> {
    format!(
        "Metadata-Version: 2.4\nName: {name}\nVersion: {version}\nLicense-Expression: {license}\n"
    )
    .into_bytes()
}

impl WatchSetup {
    pub async fn new() -> WatchSetup {
        let dir = tempfile::tempdir().unwrap();
        let site = dir.path().join("site-packages");
        let packages = [("alpha", "1.0"), ("beta", "2.0"), ("gamma", "3.0")];
        for (name, version) in packages {
            dist_info(
                &site,
                &format!("{name}-{version}.dist-info"),
                &metadata(name, version, "MIT"),
            );
        }
        std::fs::write(
            dir.path().join("depdash.toml"),
            "[licenses]\ndeny = [\"GPL-3.0-only\"]\n",
        )
        .unwrap();
        let mut known: Vec<(String, String)> = packages
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        known.push(("watchme".into(), "1.0".into()));
        let server = RegistryServer::start(dataset_for(&known, 0)).await;
        WatchSetup { dir, server }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Copy a new distribution in the way an installer finishes: built aside, renamed in.
    pub fn install_watchme(&self) {
        let staging = self.path("staging");
        let built = dist_info(
            &staging,
            "watchme-1.0.dist-info",
            &metadata("watchme", "1.0", "0BSD"),
        );
        std::fs::rename(built, self.path("site-packages/watchme-1.0.dist-info")).unwrap();
    }

    /// Deny the license of `watchme`: the next run must judge it a violation.
    pub fn deny_watchme_license(&self) {
        std::fs::write(
            self.path("depdash.toml"),
            "[licenses]\ndeny = [\"GPL-3.0-only\", \"0BSD\"]\n",
        )
        .unwrap();
    }

    /// Arguments for a run over the environment; every state directory is inside the temp dir.
    pub fn args(&self) -> Vec<String> {
        run_args(self.dir.path(), &self.server.url())
    }

    /// Environment variables that keep depdash's logs and state out of the user's directories.
    pub fn private_env(&self) -> Vec<(String, PathBuf)> {
        let home = self.path("home");
        std::fs::create_dir_all(&home).unwrap();
        [
            "HOME",
            "XDG_STATE_HOME",
            "XDG_DATA_HOME",
            "XDG_CACHE_HOME",
            "XDG_CONFIG_HOME",
        ]
        .iter()
        .map(|k| (k.to_string(), home.clone()))
        .collect()
    }
}

/// A run over `dir`'s `site-packages` with its `depdash.toml` and its own `cache`, both sources
/// at `url`, no history.
pub fn run_args(dir: &std::path::Path, url: &str) -> Vec<String> {
    let path = |rel: &str| dir.join(rel).display().to_string();
    [
        path("site-packages"),
        "--config".into(),
        path("depdash.toml"),
        "--pypi-url".into(),
        url.into(),
        "--osv-url".into(),
        url.into(),
        "--cache-dir".into(),
        path("cache"),
        "--no-history".into(),
    ]
    .into()
}

/// Poll `text` until `pred` holds; panics with the text after `timeout`.
async fn wait_until(
    text: &Arc<Mutex<String>>,
    what: &str,
    timeout: Duration,
    pred: impl Fn(&str) -> bool,
) {
    let started = Instant::now();
    loop {
        if pred(&text.lock().unwrap()) {
            return;
        }
        assert!(
            started.elapsed() < timeout,
            "timed out waiting for {what}; output:\n{}",
            text.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn count(text: &str, needle: &str) -> usize {
    text.matches(needle).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_watch_re_checks_from_the_cache_on_install_and_policy_edit() {
    let setup = WatchSetup::new().await;
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_depdash"));
    command
        .arg("check")
        .args(setup.args())
        .args(["--watch", "--progress", "never"])
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (key, _) in std::env::vars() {
        if key.starts_with("DEPDASH_") {
            command.env_remove(key);
        }
    }
    command.envs(setup.private_env());
    let mut child = command.spawn().expect("start depdash check --watch");
    let output = Arc::new(Mutex::new(String::new()));
    let mut stdout = child.stdout.take().unwrap();
    let sink = output.clone();
    tokio::spawn(async move {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf).await {
            if n == 0 {
                break;
            }
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });

    wait_until(&output, "the first report", Duration::from_secs(30), |t| {
        t.contains("3 packages")
    })
    .await;
    let first = setup.server.stats();
    assert!(first.total > 0, "the first run asks the registry");
    setup.server.reset_stats();

    // A distribution copied in: re-checked by itself, the new package alone costs requests.
    setup.install_watchme();
    wait_until(
        &output,
        "the re-check after the install",
        Duration::from_secs(15),
        |t| t.contains("re-checking: watchme 1.0 installed") && t.contains("4 packages"),
    )
    .await;
    let second = setup.server.stats();
    assert_eq!(
        second.querybatch_sizes,
        vec![1],
        "only watchme is asked of OSV: {second:?}"
    );
    assert!(
        second.pypi_project + second.pypi_version <= 2
            && second.pypi_project + second.pypi_version >= 1,
        "one package's registry requests: {second:?}"
    );
    assert!(second.total < first.total, "{second:?} vs {first:?}");
    setup.server.reset_stats();

    // The policy edited: re-judged (the new package's license is now denied).
    setup.deny_watchme_license();
    wait_until(
        &output,
        "the re-check after the policy edit",
        Duration::from_secs(15),
        |t| {
            t.split("re-checking: policy depdash.toml edited")
                .nth(1)
                .is_some_and(|after| {
                    after.contains("0BSD") && after.contains("4 packages, 1 violations")
                })
        },
    )
    .await;
    let third = setup.server.stats();
    assert_eq!(third.total, 0, "a policy edit needs no request: {third:?}");
    let text = output.lock().unwrap().clone();
    assert_eq!(
        count(&text, "re-checking:"),
        2,
        "one re-check per change:\n{text}"
    );

    // Ctrl-C ends it, with the last report's exit code (a violation: 1).
    let pid = child.id().expect("running").to_string();
    let status = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("exits after Ctrl-C")
        .unwrap();
    assert_eq!(exit.code(), Some(1), "output:\n{text}");
}
