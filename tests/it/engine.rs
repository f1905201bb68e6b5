//! The engine on its own, as both faces drive it: events, re-runs, and a policy that changes
//! between runs.

use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use depdash::engine::{self, Command, EngineEvent, EngineHandle};
use depdash::model::{Code, Report};
use depdash::settings::Settings;

use crate::support::site_packages::{copy_tree, real_site_packages};

async fn next_report(handle: &mut EngineHandle, seen: &mut Vec<String>) -> Report {
    loop {
        let event = tokio::time::timeout(Duration::from_secs(30), handle.events.recv())
            .await
            .expect("engine answered in time")
            .expect("engine still running");
        match event {
            EngineEvent::Finished(report) => return *report,
            EngineEvent::Failed(e) => panic!("run failed: {e}"),
            EngineEvent::RunStarted { run, .. } => seen.push(format!("started {run}")),
            EngineEvent::InventoryDone { packages, .. } => {
                seen.push(format!("inventory {packages}"))
            }
            EngineEvent::Warning(w) => seen.push(format!("warning {w}")),
            EngineEvent::PolicyReloaded(policy) => seen.push(format!(
                "policy reloaded with {} license exceptions",
                policy.licenses.exceptions.len()
            )),
            _ => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rerun_applies_the_policy_as_edited_since() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site-packages");
    copy_tree(&real_site_packages(), &site);
    let policy = dir.path().join("depdash.toml");
    std::fs::write(
        &policy,
        "[licenses]\ndeny = [\"MPL-2.0\"]\nunknown = \"allow\"\n",
    )
    .unwrap();
    let cli = depdash::cli::Cli::parse_from([
        "depdash",
        site.to_str().unwrap(),
        "--config",
        policy.to_str().unwrap(),
        "--offline",
        "--no-vulnerabilities",
        "--no-registry",
        "--no-history",
    ]);
    let settings = Arc::new(Settings::resolve(&cli.run).unwrap());
    let mut handle = engine::spawn(settings);
    let mut seen = Vec::new();

    let first = next_report(&mut handle, &mut seen).await;
    assert_eq!(first.summary.exit_code, 1);
    assert!(
        first
            .findings
            .iter()
            .any(|f| f.code == Code::LicenseDenied && f.package.as_deref() == Some("certifi"))
    );
    assert_eq!(
        seen[..2],
        ["started 1".to_string(), "inventory 34".to_string()]
    );

    // The exception the dashboard's `e` would write; then `r`.
    let mut text = std::fs::read_to_string(&policy).unwrap();
    text.push_str("[[licenses.exceptions]]\nname = \"certifi\"\nallow = [\"MPL-2.0\"]\nreason = \"reviewed\"\n");
    std::fs::write(&policy, text).unwrap();
    handle.send(Command::Run { refresh: false });
    let second = next_report(&mut handle, &mut seen).await;
    assert_eq!(second.summary.exit_code, 0, "{:?}", second.findings);
    assert!(
        seen.contains(&"policy reloaded with 1 license exceptions".to_string()),
        "{seen:?}"
    );

    // A broken edit keeps the last good policy and says so.
    std::fs::write(&policy, "[licenses]\ndeny = [\"MPL-2.0\"\n").unwrap();
    handle.send(Command::Run { refresh: false });
    let third = next_report(&mut handle, &mut seen).await;
    assert_eq!(third.summary.exit_code, 0);
    assert!(
        seen.iter()
            .any(|s| s.starts_with("warning policy not reloaded") && s.contains("depdash.toml:")),
        "{seen:?}"
    );
    handle.shutdown().await;
}
