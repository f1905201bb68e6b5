//! Run history on a real file across "runs", fed from a real Tracker, judged by `compare`.

use std::path::Path;
use std::time::Duration;

use depdash::perf::config::PerfPolicy;
use depdash::perf::history::{History, RunRecord};
use depdash::perf::regression::compare;
use depdash::telemetry::BaselineVerdict;
use depdash::telemetry::tracker::Tracker;

/// A finished run whose `http.pypi` requests took `fetch_ms` each (recorded, not slept).
fn finished_run(n: usize, cache_state: &str, fetch_ms: u64, total_ms: f64) -> RunRecord {
    let tracker = Tracker::new();
    for _ in 0..50 {
        tracker.record("http.pypi", Duration::from_millis(fetch_ms));
        tracker.record("cache.get.file", Duration::from_micros(6));
    }
    RunRecord {
        at: format!("2026-03-01T10:{n:02}:00Z"),
        fingerprint: "inventory+policy".into(),
        cache_state: cache_state.into(),
        packages: 180,
        total_ms,
        hit_rate: 0.9,
        operations: RunRecord::summarize(&tracker.snapshot()),
        ..RunRecord::default()
    }
}

/// What the CLI does at the end of a run: load, judge, append.
fn end_of_run(path: &Path, run: &RunRecord, policy: &PerfPolicy) -> BaselineVerdict {
    let mut history = History::open(path).unwrap();
    let verdict = compare(run, history.records(), policy);
    history.append(run, policy.history_limit).unwrap();
    verdict
}

#[test]
fn runs_build_a_baseline_then_a_slow_run_is_flagged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data").join("history.jsonl");
    let policy = PerfPolicy::default();

    for n in 0..3 {
        let verdict = end_of_run(&path, &finished_run(n, "warm", 40, 900.0), &policy);
        assert_eq!(
            verdict,
            BaselineVerdict::NoBaseline {
                runs: n,
                needed: policy.min_baseline_runs
            }
        );
    }
    // A cold run has no comparable history at all.
    assert!(matches!(
        end_of_run(&path, &finished_run(3, "cold", 300, 4000.0), &policy),
        BaselineVerdict::NoBaseline { runs: 0, .. }
    ));
    // Same speed: compared, clean.
    assert_eq!(
        end_of_run(&path, &finished_run(4, "warm", 40, 920.0), &policy),
        BaselineVerdict::Compared {
            baseline_runs: 3,
            regressions: vec![]
        }
    );
    // Requests 2.5× slower: p95 regression on http.pypi and on the total.
    match end_of_run(&path, &finished_run(5, "warm", 100, 2100.0), &policy) {
        BaselineVerdict::Compared {
            baseline_runs,
            regressions,
        } => {
            assert_eq!(baseline_runs, 4);
            let names: Vec<_> = regressions
                .iter()
                .map(|r| (r.operation.as_str(), r.metric.as_str()))
                .collect();
            assert_eq!(names, vec![("http.pypi", "p95"), ("total", "total")]);
            assert!((regressions[0].ratio - 2.5).abs() < 0.05);
        }
        other => panic!("{other:?}"),
    }
    let history = History::open(&path).unwrap();
    assert_eq!(history.records().len(), 6);
    assert_eq!(history.corrupt_lines(), 0);
    assert_eq!(history.comparable("inventory+policy", "warm").len(), 5);
}

#[test]
fn concurrent_appends_from_two_writers_keep_every_line_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.jsonl");
    let writers: Vec<_> = ["warm", "cold"]
        .into_iter()
        .map(|state| {
            let path = path.clone();
            std::thread::spawn(move || {
                let mut history = History::open(&path).unwrap();
                for n in 0..50 {
                    history
                        .append(&finished_run(n, state, 40, 900.0), 1000)
                        .unwrap();
                }
            })
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }
    let history = History::open(&path).unwrap();
    assert_eq!(history.corrupt_lines(), 0);
    assert_eq!(history.records().len(), 100);
    assert_eq!(history.comparable("inventory+policy", "cold").len(), 50);
}

/// A CPU hog on the machine while the runs happen: the noise the detector must tolerate.
/// Killed (by its own pid) on drop.
struct Busy(std::process::Child);

impl Busy {
    fn start() -> Busy {
        Busy(
            std::process::Command::new("sh")
                .args(["-c", "while :; do :; done"])
                .spawn()
                .expect("start a busy loop"),
        )
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One headless run of the binary without cache (every run makes the same requests), recording
/// into `history`; returns the JSON report.
async fn measured_run(site: &Path, url: &str, history: &Path, out: &Path) -> serde_json::Value {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_depdash"));
    command
        .arg("check")
        .arg(site)
        .args([
            "--pypi-url",
            url,
            "--osv-url",
            url,
            "--no-cache",
            "--progress",
            "never",
        ])
        .arg("--history-file")
        .arg(history)
        .args(["--format", "json", "-o"])
        .arg(out);
    for (key, _) in std::env::vars() {
        if key.starts_with("DEPDASH_") {
            command.env_remove(key);
        }
    }
    let output = command.output().await.expect("run depdash");
    assert!(
        output.status.code().is_some_and(|c| c <= 1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(&std::fs::read_to_string(out).unwrap()).unwrap()
}

/// `operation metric: current vs baseline ± spread (limit)` for each flagged metric.
fn flagged(report: &serde_json::Value) -> Vec<String> {
    report["metrics"]["regressions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{} {}: {:.1} ms vs {:.1} ± {:.1} ms (limit {:.1})",
                r["operation"].as_str().unwrap(),
                r["metric"].as_str().unwrap(),
                r["current_ms"].as_f64().unwrap(),
                r["baseline_ms"].as_f64().unwrap(),
                r["spread_ms"].as_f64().unwrap(),
                r["limit_ms"].as_f64().unwrap()
            )
        })
        .collect()
}

/// `count` packages (`prefix-N` 1.0, MIT) installed in `dir/site-packages`, and a loopback index
/// that knows them, answering each request after `latency`.
async fn site_and_index(
    dir: &Path,
    prefix: &str,
    count: usize,
    latency: Duration,
) -> (std::path::PathBuf, crate::support::registry::RegistryServer) {
    use crate::support::registry::{Faults, RegistryServer, dataset_for};
    let site = dir.join("site-packages");
    let packages: Vec<(String, String)> = (0..count)
        .map(|i| (format!("{prefix}-{i}"), "1.0".to_string()))
        .collect();
    for (name, version) in &packages {
        crate::support::site_packages::dist_info(
            &site,
            &format!("{}-{version}.dist-info", name.replace('-', "_")),
            format!(
                "Metadata-Version: 2.4\nName: {name}\nVersion: {version}\nLicense-Expression: MIT\n"
            )
            .as_bytes(),
        );
    }
    let server = RegistryServer::start(dataset_for(&packages, 0)).await;
    server.set_faults(Faults {
        latency,
        ..Faults::default()
    });
    (site, server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steady_runs_on_a_busy_machine_flag_nothing_and_a_4x_latency_rise_is_flagged() {
    let dir = tempfile::tempdir().unwrap();
    let (site, server) = site_and_index(dir.path(), "steady", 12, Duration::from_millis(50)).await;
    let history = dir.path().join("history.jsonl");
    let url = server.url();

    let busy = Busy::start();
    for n in 0..6 {
        let report = measured_run(
            &site,
            &url,
            &history,
            &dir.path().join(format!("r{n}.json")),
        )
        .await;
        println!(
            "steady run {n}: total {:.1} ms · {}",
            report["metrics"]["total_ms"].as_f64().unwrap(),
            report["metrics"]["baseline"]
        );
        assert_eq!(
            flagged(&report),
            Vec::<String>::new(),
            "steady run {n} flagged"
        );
        if n >= 3 {
            assert_eq!(
                report["metrics"]["baseline"]["verdict"], "compared",
                "run {n}"
            );
        }
    }

    server.update_faults(|f| f.latency = Duration::from_millis(200));
    let report = measured_run(&site, &url, &history, &dir.path().join("slow.json")).await;
    drop(busy);
    let found = flagged(&report);
    println!("4x latency: {found:#?}");
    assert!(
        found.iter().any(|f| f.starts_with("http.pypi p95")),
        "the slower index is flagged: {found:?}"
    );
    assert!(
        found.iter().any(|f| f.starts_with("http.osv p95")),
        "and so is the slower OSV service: {found:?}"
    );
    // The total grows far less than 4× (requests overlap); whether it is flagged depends on the
    // busy baseline's spread, so it is printed, not asserted.
    println!(
        "slow run total {:.1} ms",
        report["metrics"]["total_ms"].as_f64().unwrap()
    );
}

/// A run's timeline (`metrics.milestones`): a cold run against an index 50 ms away reaches its
/// milestones in order, its first answer at least one latency after its first request, all
/// within the run's total; an offline run makes no request and says so by their absence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn milestones_place_a_cold_run_s_rounds_on_its_timeline() {
    let dir = tempfile::tempdir().unwrap();
    let latency = Duration::from_millis(50);
    let (site, server) = site_and_index(dir.path(), "timed", 8, latency).await;
    let history = dir.path().join("history.jsonl");
    let report = measured_run(&site, &server.url(), &history, &dir.path().join("r.json")).await;
    let metrics = &report["metrics"];
    let at = |name: &str| {
        metrics["milestones"][name]
            .as_f64()
            .unwrap_or_else(|| panic!("milestone {name} missing: {metrics}"))
    };
    let order = [
        "inventory-taken",
        "first-request",
        "first-connection",
        "first-answer",
        "last-answer",
        "evaluated",
    ];
    for pair in order.windows(2) {
        assert!(at(pair[0]) <= at(pair[1]), "{pair:?}: {metrics}");
    }
    assert!(at("inventory-taken") > 0.0);
    let first_round = at("first-answer") - at("first-request");
    assert!(
        first_round >= latency.as_secs_f64() * 1000.0,
        "an answer comes a latency after its request: {first_round} ms"
    );
    assert!(at("evaluated") <= metrics["total_ms"].as_f64().unwrap());
    crate::schema::assert_matches_schema(&report);

    let offline = tokio::process::Command::new(env!("CARGO_BIN_EXE_depdash"))
        .arg("check")
        .arg(&site)
        .args([
            "--offline",
            "--no-cache",
            "--no-history",
            "--progress",
            "never",
        ])
        .args(["--format", "json"])
        .output()
        .await
        .unwrap();
    let offline: serde_json::Value = serde_json::from_slice(&offline.stdout).unwrap();
    let reached = offline["metrics"]["milestones"].as_object().unwrap();
    let names: Vec<&str> = reached.keys().map(String::as_str).collect();
    assert_eq!(names, ["evaluated", "inventory-taken"], "{reached:?}");
}
