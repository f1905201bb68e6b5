//! The stored report (issue 10, warm runs at the limit): a run judged from cached answers alone
//! stores its report, and the next run on the same target serves it while nothing it was judged
//! from has changed: same inventory, policy and build, the same bundle of answers, the same
//! license files. Every change, and a stored report that does not verify, is judged again; a
//! report with a source that did not answer is never stored.

use std::fs;
use std::path::PathBuf;

use serde_json::Value;

use crate::cli::{Project, code, run};
use crate::support::bin::offline_check;
use crate::support::cache_entries;
use crate::support::license_fixtures;
use crate::support::registry::{RegistryServer, dataset_for};
use crate::support::site_packages::copy_tree;

/// Whether the run served a stored report (it parsed one and judged nothing).
fn served(report: &Value) -> bool {
    let operations = &report["metrics"]["operations"];
    operations.get("report.parse").is_some() && operations.get("policy.evaluate").is_none()
}

/// What a report says about the packages, without what every run sets anew (time, metrics).
fn verdict(report: &Value) -> Value {
    let mut report = report.clone();
    let fields = report.as_object_mut().unwrap();
    fields.remove("metrics");
    fields.remove("generated_at");
    report
}

/// The name and metadata directory of a package whose license was read from a license file.
fn with_license_file(report: &Value) -> (String, PathBuf) {
    let package = (report["packages"].as_array().unwrap().iter())
        .find(|p| p["license"]["source"] == "license-file")
        .expect("a fixture licensed by its license file");
    (
        package["name"].as_str().unwrap().to_string(),
        PathBuf::from(package["location"].as_str().unwrap()),
    )
}

/// Until the wall clock's second has changed.
async fn next_second() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    let into = std::time::Duration::from_nanos(u64::from(now.subsec_nanos()));
    tokio::time::sleep(
        std::time::Duration::from_secs(1) - into + std::time::Duration::from_millis(5),
    )
    .await;
}

/// A project and its loopback index (every fifth package vulnerable), after [`stored`]:
/// the project, the server, its URL and the warm report.
async fn stored_project() -> (Project, RegistryServer, String, Value) {
    let p = Project::new();
    let server = RegistryServer::start(dataset_for(&p.packages(), 5)).await;
    let url = server.url();
    let warm = stored(&p, &url).await;
    (p, server, url, warm)
}

/// A cold run (it fetches: nothing stored), then a warm one (judged from the cache alone: its
/// report is stored); returns the warm report.
async fn stored(p: &Project, url: &str) -> Value {
    let (_, cold) = run(p, url, "cold.json", &[]).await;
    assert!(cold["metrics"]["network"]["requests"].as_u64().unwrap() > 0);
    assert!(!served(&cold));
    // Past the racy margin (100 ms) since the project was written: a path changed within it is
    // not vouched for by its stamp, and the next run would read it again. A cold run can now
    // end within 100 ms of the project's creation, which made the tests built on this flaky.
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    let (_, warm) = run(p, url, "warm.json", &[]).await;
    assert_eq!(warm["metrics"]["network"]["requests"], 0);
    assert!(
        !served(&warm),
        "the first warm run judges (and stores) its report"
    );
    warm
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unchanged_target_is_served_its_last_report_without_a_request() {
    let (p, server, url, warm) = stored_project().await;
    let asked = server.stats().total;
    let (out, again) = run(&p, &url, "again.json", &[]).await;
    assert!(served(&again), "{}", again["metrics"]["operations"]);
    // Every path the inventory followed from kept its identity: it was not read again.
    assert!(
        again["metrics"]["operations"]
            .get("inventory.scan")
            .is_none()
    );
    // One lookup, the stored report, answered everything.
    let cache = &again["metrics"]["cache"];
    // Compared for regressions only with runs served the same way.
    assert_eq!(cache["state"], "served", "{cache}");
    assert_eq!(cache["hit_rate"], 1.0, "{cache}");
    assert_eq!(cache["levels"]["report"]["hits"], 1, "{cache}");
    assert_eq!(server.stats().total, asked, "a served report asks nothing");
    assert_eq!(code(&out), 1, "vulnerable packages still fail the run");
    assert_eq!(verdict(&again), verdict(&warm));
    assert_ne!(again["generated_at"], warm["generated_at"]);
    // Offline too: nothing it was judged from is fetched anyway.
    drop(server);
    let (_, offline) = run(&p, &url, "offline.json", &["--offline"]).await;
    assert_eq!(verdict(&offline)["packages"], verdict(&warm)["packages"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edited_license_file_metadata_or_policy_is_judged_again() {
    let (p, _server, url, warm) = stored_project().await;

    // A license file rewritten: its stamp no longer holds.
    let (name, dir) = with_license_file(&warm);
    let license = (fs::read_dir(dir.join("licenses")).unwrap().flatten())
        .map(|e| e.path())
        .find(|p| p.is_file())
        .expect("a license file");
    let mut text = fs::read_to_string(&license).unwrap();
    text.push_str("\nAn extra line.\n");
    fs::write(&license, text).unwrap();
    // Past the racy margin (100 ms): a file changed within it is not vouched for by its stamp,
    // and a report judged from it is not stored.
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    let (_, edited) = run(&p, &url, "license.json", &[]).await;
    assert!(!served(&edited), "an edited license file is read again");
    let (_, again) = run(&p, &url, "license-again.json", &[]).await;
    assert!(served(&again), "the report judged after the edit is stored");

    // METADATA of one distribution changed (a new requirement): the inventory differs, and
    // the report says so. (A field depdash does not read, e.g. `Summary`, changes nothing.)
    let metadata = dir.join("METADATA");
    let text = fs::read_to_string(&metadata).unwrap();
    let summary = text.lines().find(|l| l.starts_with("Summary:")).unwrap();
    let required = format!("{summary}\nRequires-Dist: six");
    fs::write(&metadata, text.replacen(summary, &required, 1)).unwrap();
    let (_, edited) = run(&p, &url, "metadata.json", &[]).await;
    assert!(!served(&edited), "an edited METADATA is read again");
    // The site-packages directory did not change: the stored report was read to try serving
    // it without the scan, and that one read is what the judging run went on from.
    let operations = &edited["metrics"]["operations"];
    assert_eq!(operations["report.read"]["count"], 1, "{operations}");
    // Nor was its body parsed ahead: what it was judged from had already changed.
    assert!(operations.get("report.parse").is_none(), "{operations}");
    let six = (edited["packages"].as_array().unwrap().iter())
        .find(|p| p["normalized"] == "six")
        .unwrap();
    let paths = six["required_by"].as_array().unwrap();
    assert!(
        paths.iter().any(|path| path[0] == name.as_str()),
        "{paths:?}"
    );

    // Another policy: the same answers, judged again.
    let policy = p.write("depdash.toml", "[licenses]\nallow = [\"MIT\"]\n");
    let config = policy.display().to_string();
    let (_, stricter) = run(&p, &url, "policy.json", &["--config", &config]).await;
    assert!(!served(&stricter), "another policy judges again");
    assert!(stricter["summary"]["violations"].as_u64().unwrap() > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_uninstalled_distribution_is_judged_again_without_it() {
    let (p, _server, url, warm) = stored_project().await;
    let six = |report: &Value| {
        (report["packages"].as_array().unwrap().iter()).any(|p| p["normalized"] == "six")
    };
    assert!(six(&warm));
    fs::remove_dir_all(p.site().join("six-1.17.0.dist-info")).unwrap();
    let (_, after) = run(&p, &url, "after.json", &[]).await;
    assert!(!served(&after));
    assert!(
        !six(&after),
        "the uninstalled package is gone from the report"
    );
    assert_eq!(
        after["summary"]["packages"].as_u64(),
        warm["summary"]["packages"].as_u64().map(|n| n - 1)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_bundle_of_answers_is_judged_again() {
    let (p, _server, url, _) = stored_project().await;
    // `--refresh` fetches every answer again and stores a new bundle; it stores no report,
    // having asked the network.
    // Answers are stamped with their fetch time in whole seconds: in the same second the
    // refreshed bundle would be byte for byte the stored one (and the report rightly served).
    next_second().await;
    let (_, refreshed) = run(&p, &url, "refresh.json", &["--refresh"]).await;
    assert!(!served(&refreshed));
    assert!(
        refreshed["metrics"]["network"]["requests"]
            .as_u64()
            .unwrap()
            > 0
    );
    let (_, after) = run(&p, &url, "after.json", &[]).await;
    assert!(
        !served(&after),
        "the stored report names the bundle it was judged from"
    );
    let (_, again) = run(&p, &url, "again.json", &[]).await;
    assert!(served(&again));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_with_unanswered_sources_is_never_stored() {
    let p = Project::new();
    // Offline with an empty cache: no advisory and no index answer, every package unknown.
    let (_, first) = run(&p, "http://127.0.0.1:9", "first.json", &["--offline"]).await;
    assert!(first["summary"]["unknowns"].as_u64().unwrap() > 0);
    let (_, second) = run(&p, "http://127.0.0.1:9", "second.json", &["--offline"]).await;
    assert!(
        !served(&second),
        "unknown answers are asked again, never served"
    );
    assert_eq!(verdict(&second), verdict(&first));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_stored_report_is_reported_and_judged_again() {
    let (p, _server, url, warm) = stored_project().await;
    let files = cache_entries::of_kind(&p.path("cache"), "run-report");
    assert_eq!(files.len(), 1, "one stored report: {files:?}");
    let file = &files[0];
    let mut bytes = fs::read(file).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x20;
    fs::write(file, &bytes).unwrap();
    let (out, again) = run(&p, &url, "again.json", &[]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!served(&again));
    assert!(stderr.contains("stored report ignored"), "{stderr}");
    assert_eq!(verdict(&again), verdict(&warm));
    // Judged again from the cache alone: stored anew, then served.
    let (_, next) = run(&p, &url, "next.json", &[]).await;
    assert!(served(&next));
}

#[test]
fn a_directory_added_by_a_pth_file_is_part_of_the_target_and_served_too() {
    let root = tempfile::tempdir().unwrap();
    let site = root.path().join("site-packages");
    let src = root.path().join("src");
    copy_tree(
        &license_fixtures::dist_info("click-8.1.7"),
        &site.join("click-8.1.7.dist-info"),
    );
    let editable = src.join("editable-0.1.dist-info");
    fs::create_dir_all(&editable).unwrap();
    fs::write(
        editable.join("METADATA"),
        "Name: editable\nVersion: 0.1\nLicense-Expression: MIT\n",
    )
    .unwrap();
    fs::write(
        site.join("__editable__.editable-0.1.pth"),
        format!("{}\n", src.display()),
    )
    .unwrap();
    let cache = root.path().join("cache");
    let check = || {
        let out = offline_check(&cache)
            .arg(&site)
            .args(["--format", "json"])
            .output()
            .unwrap();
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        report
    };
    let first = check();
    let names: Vec<&str> = (first["packages"].as_array().unwrap().iter())
        .map(|p| p["normalized"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["click", "editable"]);
    assert_eq!(
        first["target"]["site_packages"].as_array().unwrap().len(),
        2
    );
    assert!(!served(&first));
    // The directory the .pth file adds is known only once site-packages is read: the stored
    // report is read again under the target the inventory names.
    let second = check();
    assert!(served(&second), "{}", second["metrics"]["operations"]);
    assert_eq!(verdict(&second), verdict(&first));
}
