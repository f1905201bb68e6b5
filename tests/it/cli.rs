//! The real `depdash` binary end to end: real fixture environments, a real loopback registry
//! (PyPI JSON API + OSV API) with injected faults, real exit codes and JSON reports.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::redis::RedisServer;
use crate::support::registry::{self, Faults, RegistryServer, dataset_for, unused_port};
use crate::support::site_packages::{copy_tree, real_site_packages};

/// A throwaway project: a copy of the real site-packages fixtures, a cache dir, a history file.
pub(super) struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    pub(super) fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        copy_tree(&real_site_packages(), &dir.path().join("site-packages"));
        Project { dir }
    }

    pub(super) fn site(&self) -> PathBuf {
        self.dir.path().join("site-packages")
    }

    pub(super) fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub(super) fn write(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.path(rel);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// `(name, version)` of every fixture distribution, as `pip list` recorded them.
    pub(super) fn packages(&self) -> Vec<(String, String)> {
        crate::support::site_packages::real_packages()
    }
}

/// Run the binary; never inherits the developer's depdash environment variables.
async fn depdash(args: &[&str]) -> Output {
    depdash_with_env(args, &[]).await
}

/// [`depdash`] with these environment variables set (and no inherited proxy settings).
async fn depdash_with_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_depdash"));
    command.args(args).env("NO_COLOR", "1");
    for (key, _) in std::env::vars() {
        let proxy = key.to_ascii_lowercase().ends_with("_proxy");
        if key.starts_with("DEPDASH_") || key.starts_with("PIP_") || proxy {
            command.env_remove(key);
        }
    }
    command.envs(env.iter().copied());
    // The fleet secret a shared Redis needs; without `--redis-url` it changes nothing.
    command.env("DEPDASH_REDIS_KEY", "test-fleet-secret");
    command.output().await.expect("run depdash")
}

pub(super) fn code(output: &Output) -> i32 {
    output.status.code().expect("exit code")
}

pub(super) fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn json_report(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("report written"))
        .expect("report is JSON")
}

/// Common arguments of a headless run against `url` with a private cache and history.
fn run_args(p: &Project, url: &str, report: &str) -> Vec<String> {
    run_args_with_cache(p, url, report, "cache")
}

fn run_args_with_cache(p: &Project, url: &str, report: &str, cache: &str) -> Vec<String> {
    vec![
        "check".into(),
        p.site().display().to_string(),
        "--pypi-url".into(),
        url.into(),
        "--osv-url".into(),
        url.into(),
        "--cache-dir".into(),
        p.path(cache).display().to_string(),
        "--history-file".into(),
        p.path("history.jsonl").display().to_string(),
        "--format".into(),
        "json".into(),
        "--output".into(),
        p.path(report).display().to_string(),
        "--progress".into(),
        "never".into(),
    ]
}

pub(super) async fn run(p: &Project, url: &str, report: &str, extra: &[&str]) -> (Output, Value) {
    run_with_cache(p, url, report, "cache", extra).await
}

async fn run_with_cache(
    p: &Project,
    url: &str,
    report: &str,
    cache: &str,
    extra: &[&str],
) -> (Output, Value) {
    let mut args = run_args_with_cache(p, url, report, cache);
    args.extend(extra.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = depdash(&refs).await;
    let json = json_report(&p.path(report));
    (output, json)
}

/// A run whose target is files (`-r FILE` or `--lock FILE`) instead of the site-packages copy.
pub(super) async fn run_on_file(
    p: &Project,
    url: &str,
    flag: &str,
    file: &Path,
) -> (Output, Value) {
    let mut args = run_args(p, url, "r.json");
    args[1] = flag.into();
    args.insert(2, file.display().to_string());
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = depdash(&refs).await;
    let report = json_report(&p.path("r.json"));
    (output, report)
}

pub(super) fn package<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["normalized"] == name)
        .unwrap_or_else(|| panic!("{name} in report"))
}

fn unknown_for(report: &Value, name: &str, check: &str) -> bool {
    report["unknowns"].as_array().unwrap().iter().any(|u| {
        u["check"] == check
            && u["package"]
                .as_str()
                .map(depdash::model::normalize_name)
                .as_deref()
                == Some(name)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vulnerable_environment_reports_json_and_exits_1() {
    let p = Project::new();
    let server = RegistryServer::start(dataset_for(&p.packages(), 7)).await;
    let url = server.url();
    let (output, report) = run(&p, &url, "r.json", &[]).await;
    assert_eq!(code(&output), 1, "{}", stderr(&output));

    assert_eq!(report["schema_version"], 1);
    assert_eq!(
        report["summary"]["packages"].as_u64().unwrap() as usize,
        p.packages().len()
    );
    // Every 7th package has an advisory: each is a finding and on its package.
    let advised: Vec<String> = p
        .packages()
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 7 == 0)
        .map(|(_, (n, _))| depdash::model::normalize_name(n))
        .collect();
    for name in &advised {
        let pkg = package(&report, name);
        let vulns = pkg["vulnerabilities"].as_array().unwrap();
        assert_eq!(vulns.len(), 1, "{name}");
        assert_eq!(vulns[0]["fixed_in"], serde_json::json!(["999.0"]));
        assert!((vulns[0]["severity"][0]["score"].as_f64().unwrap() - 7.5).abs() < 1e-9);
        assert!(report["findings"].as_array().unwrap().iter().any(|f| {
            f["check"] == "vulnerabilities"
                && f["package"]
                    .as_str()
                    .map(depdash::model::normalize_name)
                    .as_deref()
                    == Some(name.as_str())
        }));
    }
    assert_eq!(
        report["summary"]["vulnerabilities"].as_u64().unwrap() as usize,
        advised.len()
    );
    // License provenance and requirements are in the report.
    let requests = package(&report, "requests");
    assert!(requests["license"]["expression"].is_string());
    assert!(requests["license"]["source"].is_string());
    assert!(
        requests["requires"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r.as_str().unwrap().starts_with("urllib3"))
    );
    // One querybatch, one request per advisory, one per package for the index.
    let stats = server.stats();
    assert_eq!(stats.querybatch, 1);
    assert_eq!(stats.vulns as usize, advised.len());
    assert_eq!(stats.pypi_version as usize, p.packages().len());
    assert_eq!(
        (stats.pypi_project, stats.pypi_simple as usize),
        (0, advised.len()),
        "default policy: release facts, plus the fix candidates of each vulnerable package"
    );
    assert_eq!(
        report["metrics"]["network"]["requests"].as_u64().unwrap(),
        stats.total
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_progress_line_is_redrawn_while_requests_are_out_and_cleared_at_the_end() {
    let p = Project::new();
    let server = RegistryServer::start(dataset_for(&p.packages(), 7)).await;
    // Slow enough for several redraws (every 80 ms) while the answers are awaited.
    server.set_faults(Faults {
        latency: Duration::from_millis(400),
        ..Faults::default()
    });
    let mut args = run_args(&p, &server.url(), "r.json");
    *args.last_mut().unwrap() = "always".into();
    let output = depdash(&args.iter().map(String::as_str).collect::<Vec<_>>()).await;
    let report = json_report(&p.path("r.json"));
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    let err = stderr(&output);
    let total = p.packages().len();
    let lines: Vec<&str> = (err.split("\r\x1b[2K"))
        .filter(|line| line.contains(" packages · "))
        .collect();
    assert!(
        lines.len() >= 2,
        "redrawn on a clock while the requests are out: {err:?}"
    );
    assert!(
        lines
            .iter()
            .all(|l| l.contains(&format!("/{total} packages · "))),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.contains("in flight")
            && !l.contains(" 0 requests (")
            && !l.contains("(0 in flight)")),
        "the requests out are shown: {lines:?}"
    );
    // Cleared before the verdict line: the last thing drawn is the erase sequence.
    let verdict = err.rfind("depdash: ").expect("verdict line");
    assert!(err[..verdict].ends_with("\r\x1b[2K"), "{err:?}");
    assert!(report["summary"]["packages"].as_u64().unwrap() as usize == total);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warm_run_makes_no_requests_and_offline_serves_the_cache() {
    let p = Project::new();
    let server = RegistryServer::start(dataset_for(&p.packages(), 5)).await;
    let url = server.url();
    let (cold_out, cold) = run(&p, &url, "cold.json", &[]).await;
    let after_cold = server.stats().total;
    let (warm_out, warm) = run(&p, &url, "warm.json", &[]).await;
    assert_eq!(code(&cold_out), code(&warm_out));
    assert_eq!(
        server.stats().total,
        after_cold,
        "warm run asked the server"
    );
    assert_eq!(warm["metrics"]["network"]["requests"], 0);
    assert!(warm["metrics"]["cache"]["hit_rate"].as_f64().unwrap() >= 0.95);
    assert_eq!(cold["packages"], warm["packages"]);
    assert_eq!(cold["findings"], warm["findings"]);

    // Offline, with the server gone: the cache answers everything.
    drop(server);
    let (offline_out, offline) = run(&p, &url, "offline.json", &["--offline"]).await;
    assert_eq!(
        code(&offline_out),
        code(&cold_out),
        "{}",
        stderr(&offline_out)
    );
    assert_eq!(offline["packages"], cold["packages"]);
    // --refresh bypasses the cache: with the server gone, everything is unknown, never clean.
    let (refresh_out, refreshed) = run(&p, &url, "refresh.json", &["--refresh"]).await;
    assert_eq!(code(&refresh_out), 3, "{}", stderr(&refresh_out));
    assert!(unknown_for(&refreshed, "requests", "vulnerabilities"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_listening_ends_incomplete_quickly() {
    let p = Project::new();
    let url = format!("http://127.0.0.1:{}", unused_port());
    let started = Instant::now();
    let (output, report) = run(&p, &url, "r.json", &["--no-cache"]).await;
    let elapsed = started.elapsed();
    println!("nothing listening: finished in {elapsed:?}");
    assert_eq!(code(&output), 3, "{}", stderr(&output));
    assert_eq!(report["summary"]["outcome"], "incomplete");
    for (name, _) in p.packages() {
        let name = depdash::model::normalize_name(&name);
        assert!(unknown_for(&report, &name, "vulnerabilities"), "{name}");
        assert!(unknown_for(&report, &name, "health"), "{name}");
    }
    assert!(
        report["metrics"]["network"]["breaker_trips"]
            .as_u64()
            .unwrap()
            >= 1
    );
    // A hang guard, not a benchmark: the breaker must stop the retries.
    assert!(elapsed < Duration::from_secs(60), "{elapsed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_the_requests_failing_gives_correct_or_unknown_never_wrong() {
    let p = Project::new();
    let clean_server = RegistryServer::start(dataset_for(&p.packages(), 3)).await;
    let clean_url = clean_server.url();
    let (_, clean) = run(&p, &clean_url, "clean.json", &["--no-cache"]).await;

    let flaky = RegistryServer::start(dataset_for(&p.packages(), 3)).await;
    flaky.set_faults(Faults {
        fail_rate: 0.5,
        seed: 7,
        ..Faults::default()
    });
    let flaky_url = flaky.url();
    let (output, report) = run(
        &p,
        &flaky_url,
        "flaky.json",
        &["--no-cache", "--retries", "1"],
    )
    .await;
    assert!(flaky.stats().faults_injected > 0);
    assert!(matches!(code(&output), 1 | 3), "{}", stderr(&output));
    let mut correct = 0;
    for (name, _) in p.packages() {
        let name = depdash::model::normalize_name(&name);
        let got = package(&report, &name);
        let want = package(&clean, &name);
        if unknown_for(&report, &name, "vulnerabilities") {
            assert!(got["vulnerabilities"].as_array().unwrap().is_empty());
        } else {
            // The same advisories; one whose record could not be fetched is still there, as
            // "details unavailable" (a violation), never dropped.
            let ids = |r: &Value| -> Vec<Value> {
                r["vulnerabilities"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v["id"].clone())
                    .collect()
            };
            assert_eq!(ids(got), ids(want), "{name}");
            for (g, w) in got["vulnerabilities"]
                .as_array()
                .unwrap()
                .iter()
                .zip(want["vulnerabilities"].as_array().unwrap())
            {
                let unavailable = g["summary"]
                    .as_str()
                    .is_some_and(|s| s.starts_with("details unavailable"));
                assert!(unavailable || g == w, "{name}: {g} vs {w}");
            }
            correct += 1;
        }
        if !unknown_for(&report, &name, "health") {
            // Fix candidates whose fetch failed are absent (not known), never different.
            let mut got_registry = got["registry"].clone();
            let mut want_registry = want["registry"].clone();
            if got_registry.get("newer_versions").is_none() {
                want_registry
                    .as_object_mut()
                    .unwrap()
                    .remove("newer_versions");
            }
            assert_eq!(got_registry.take(), want_registry, "{name}");
        }
    }
    println!("50% of requests failing: {correct} packages with a vulnerability answer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn license_policy_violations_and_exceptions() {
    let p = Project::new();
    let policy = p.write(
        "depdash.toml",
        "[licenses]\ndeny = [\"LGPL-2.1-only\", \"LGPL-2.1-or-later\", \"LGPL-3.0-only\", \"LGPL-3.0-or-later\"]\nunknown = \"allow\"\n",
    );
    let policy_arg = policy.display().to_string();
    let offline = [
        "--offline",
        "--no-vulnerabilities",
        "--no-registry",
        "--config",
        policy_arg.as_str(),
    ];
    let (output, report) = run(&p, "http://127.0.0.1:9", "r.json", &offline).await;
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    let denied: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "license-denied")
        .map(|f| f["package"].as_str().unwrap().to_string())
        .collect();
    assert!(
        denied.iter().any(|n| n == "paramiko"),
        "paramiko is LGPL: {denied:?}"
    );

    // An exception per denied package clears the run; an unused one is a warning.
    let mut text = std::fs::read_to_string(&policy).unwrap();
    for name in &denied {
        let license =
            package(&report, &depdash::model::normalize_name(name))["license"]["expression"]
                .as_str()
                .unwrap()
                .to_string();
        let ids: Vec<String> = license
            .split([' ', '(', ')'])
            .filter(|t| t.starts_with("LGPL"))
            .map(|t| format!("\"{t}\""))
            .collect();
        text.push_str(&format!(
            "[[licenses.exceptions]]\nname = \"{name}\"\nallow = [{}]\nreason = \"reviewed\"\n",
            ids.join(", ")
        ));
    }
    text.push_str(
        "[[licenses.exceptions]]\nname = \"not-installed\"\nallow = [\"GPL-3.0-only\"]\n",
    );
    std::fs::write(&policy, text).unwrap();
    let (output, report) = run(&p, "http://127.0.0.1:9", "r2.json", &offline).await;
    assert_eq!(code(&output), 0, "{}\n{report}", stderr(&output));
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "license-exception-unused")
    );
}

/// `depdash check --offline` of a fresh project with `policy_text` as its policy file: the
/// exit code 2 and no report are checked; returns stderr and the policy's path.
async fn check_with_invalid_policy(policy_text: &str) -> (String, PathBuf) {
    let p = Project::new();
    let policy = p.write("depdash.toml", policy_text);
    let output = depdash(&[
        "check",
        p.site().to_str().unwrap(),
        "--config",
        policy.to_str().unwrap(),
        "--offline",
    ])
    .await;
    assert_eq!(code(&output), 2, "{}", stderr(&output));
    assert!(output.stdout.is_empty(), "no report on a usage error");
    (stderr(&output), policy)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_policy_exits_2_pointing_at_line_and_column() {
    let (err, policy) =
        check_with_invalid_policy("[licenses]\nallow = [\"MIT\"]\nallowed = []\n").await;
    assert!(err.contains(&format!("{}:3:1:", policy.display())), "{err}");
    assert!(err.contains("allowed"), "{err}");
}

/// A policy file with several mistakes gets them all in one run, each at its line:column, the
/// run settings' sections included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_mistake_of_a_policy_file_is_reported_at_once() {
    let (err, policy) = check_with_invalid_policy(
        "[licenses]\ndeny = [\"Nope\"]\n[cache]\nmax_size = \"huge\"\n[health]\nmax_age = \"old\"\n",
    )
    .await;
    for (at, what) in [("2:9", "Nope"), ("4:12", "huge"), ("6:11", "old")] {
        let at = format!("{}:{at}:", policy.display());
        assert!(
            err.contains(&at) && err.contains(what),
            "{at} {what}:\n{err}"
        );
    }
}

/// A run that fails on its own is not the user's input error: exit 4, not 2. Without a terminal
/// the dashboard cannot start (stdin and stdout are pipes here).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_run_is_exit_4_not_a_usage_error() {
    let p = Project::new();
    let output = depdash(&[
        "tui",
        p.site().to_str().unwrap(),
        "--offline",
        "--no-history",
    ])
    .await;
    let err = stderr(&output);
    assert_eq!(code(&output), 4, "{err}");
    assert!(err.contains("terminal"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_environment_is_a_clear_usage_error() {
    let output = depdash(&["check", "/definitely/not/here", "--offline"]).await;
    assert_eq!(code(&output), 2);
    assert!(stderr(&output).contains("/definitely/not/here"));
    let empty = tempfile::tempdir().unwrap();
    let output = depdash(&["check", empty.path().to_str().unwrap(), "--offline"]).await;
    assert_eq!(code(&output), 2, "{}", stderr(&output));
    assert!(
        stderr(&output).contains("no Python environment"),
        "{}",
        stderr(&output)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_database_gives_the_online_answers_and_can_be_stale() {
    let p = Project::new();
    let dataset = dataset_for(&p.packages(), 4);
    let db = p.path("osv-db");
    std::fs::create_dir_all(&db).unwrap();
    for record in dataset.osv_records() {
        let id = record["id"].as_str().unwrap();
        std::fs::write(db.join(format!("{id}.json")), record.to_string()).unwrap();
    }
    let server = RegistryServer::start(dataset).await;
    let url = server.url();
    let (_, online) = run(&p, &url, "online.json", &["--no-cache", "--no-registry"]).await;
    let db_arg = db.display().to_string();
    let (output, offline) = run(
        &p,
        "http://127.0.0.1:9",
        "offline.json",
        &["--offline", "--no-registry", "--osv-db", &db_arg],
    )
    .await;
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    for (name, _) in p.packages() {
        let name = depdash::model::normalize_name(&name);
        assert_eq!(
            package(&offline, &name)["vulnerabilities"],
            package(&online, &name)["vulnerabilities"],
            "{name}"
        );
    }
    // The records were modified in January 2026: a one-day limit makes the database stale.
    let policy = p.write(
        "stale.toml",
        "[vulnerabilities]\nmax_db_age = \"1d\"\nignore = []\n",
    );
    let policy_arg = policy.display().to_string();
    let (_, stale) = run(
        &p,
        "http://127.0.0.1:9",
        "stale.json",
        &[
            "--offline",
            "--no-registry",
            "--osv-db",
            &db_arg,
            "--config",
            &policy_arg,
        ],
    )
    .await;
    assert!(
        stale["unknowns"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["fails_run"] == true
                && u["reason"].as_str().unwrap().contains("max_db_age")),
        "{}",
        stale["unknowns"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fourfold_latency_is_flagged_as_a_network_regression() {
    let p = Project::new();
    let server = RegistryServer::start(dataset_for(&p.packages(), 0)).await;
    let url = server.url();
    let policy = p.write(
        "perf.toml",
        "[performance]\nbaseline_runs = 2\nmin_baseline_runs = 2\n",
    );
    let policy_arg = policy.display().to_string();
    // Few requests in flight, so server latency (not scheduling on a busy machine) dominates.
    let args = [
        "--no-cache",
        "--concurrency",
        "8",
        "--config",
        policy_arg.as_str(),
    ];
    // Latencies well above scheduling stalls: the detector's floors (25 % spread, 25 ms) keep a
    // starved run on a loaded machine from being flagged, so the signal must stand above them.
    server.set_faults(Faults {
        latency: Duration::from_millis(50),
        ..Faults::default()
    });
    for i in 0..2 {
        let (_, report) = run(&p, &url, &format!("base{i}.json"), &args).await;
        assert!(
            report["metrics"]["regressions"]
                .as_array()
                .unwrap()
                .is_empty()
        );
    }
    server.set_faults(Faults {
        latency: Duration::from_millis(200),
        ..Faults::default()
    });
    let mut strict = args.to_vec();
    strict.push("--fail-on-regression");
    let (output, report) = run(&p, &url, "slow.json", &strict).await;
    let regressed: Vec<String> = report["metrics"]["regressions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["operation"].as_str().unwrap().to_string())
        .collect();
    assert!(
        regressed
            .iter()
            .any(|op| op == "http.pypi" || op == "http.osv"),
        "{regressed:?}; p95: {}",
        report["metrics"]["operations"]["http.pypi"]["p95_ms"]
    );
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "performance-regression" && f["severity"] == "error")
    );
    assert_eq!(code(&output), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runners_share_answers_through_redis() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let p = Project::new();
    let server = RegistryServer::start(dataset_for(&p.packages(), 6)).await;
    let url = server.url();
    let redis_url = redis.url();
    let (_, first) = run(&p, &url, "a.json", &["--redis-url", &redis_url]).await;
    let after_first = server.stats().total;
    // A second runner: its own empty file cache, the same Redis.
    let (_, second) =
        run_with_cache(&p, &url, "b.json", "cache-b", &["--redis-url", &redis_url]).await;
    assert_eq!(
        server.stats().total,
        after_first,
        "second runner asked the network"
    );
    assert_eq!(first["packages"], second["packages"]);
    assert!(
        second["metrics"]["cache"]["levels"]["redis"]["hits"]
            .as_u64()
            .unwrap()
            > 0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pinned_requirements_are_an_inventory_source() {
    let p = Project::new();
    let server = RegistryServer::start(dataset_for(
        &[
            ("requests".into(), "2.31.0".into()),
            ("idna".into(), "3.7".into()),
        ],
        1,
    ))
    .await;
    let url = server.url();
    p.write("base.txt", "idna==3.7 \\\n    --hash=sha256:0000\n");
    let req = p.write(
        "requirements.txt",
        "# pinned\n-r base.txt\nrequests==2.31.0 ; python_version >= \"3.8\"\nflask>=2\n",
    );
    let (output, report) = run_on_file(&p, &url, "-r", &req).await;
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    assert_eq!(report["target"]["kind"], "requirements");
    assert_eq!(
        package(&report, "requests")["vulnerabilities"][0]["id"],
        "GHSA-bench-0000"
    );
    assert_eq!(package(&report, "idna")["version"], "3.7");
    // The unpinned line is reported, not silently dropped.
    assert!(
        report["unknowns"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["reason"].as_str().unwrap().contains("flask")),
        "{}",
        report["unknowns"]
    );
    let _ = registry::normalize("x");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inventory_problems_block_only_when_something_may_be_missing() {
    let p = Project::new();
    let leftover = p.site().join("~ip-26.3.dist-info");
    std::fs::create_dir_all(&leftover).unwrap();
    std::fs::write(
        leftover.join("METADATA"),
        "Metadata-Version: 2.1\nName: ~ip\nVersion: 26.3\n",
    )
    .unwrap();
    let broken = p.site().join("broken.egg-info");
    std::fs::create_dir_all(&broken).unwrap();
    std::fs::write(
        broken.join("PKG-INFO"),
        "Metadata-Version: 1.0\nName: broken\n",
    )
    .unwrap();
    let local = ["--offline", "--no-vulnerabilities", "--no-registry"];

    let (output, report) = run(&p, "http://127.0.0.1:9", "r1.json", &local).await;
    assert_eq!(code(&output), 3, "{}", stderr(&output));
    let blocking: Vec<&Value> = report["unknowns"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["check"] == "inventory" && u["fails_run"] == true)
        .collect();
    assert_eq!(blocking.len(), 1, "{blocking:?}");
    assert!(
        blocking[0]["reason"]
            .as_str()
            .unwrap()
            .contains("broken.egg-info")
    );

    std::fs::remove_dir_all(&broken).unwrap();
    let (output, report) = run(&p, "http://127.0.0.1:9", "r2.json", &local).await;
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(report["findings"].as_array().unwrap().iter().any(|f| {
        f["code"] == "inventory-issue"
            && f["message"]
                .as_str()
                .unwrap()
                .contains("~ip-26.3.dist-info")
    }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_serves_expired_entries_marked_stale() {
    let p = Project::new();
    let server = RegistryServer::start(dataset_for(&p.packages(), 5)).await;
    let url = server.url();
    let policy = p.write(
        "ttl.toml",
        "[cache]\nvulnerability_ttl = \"1s\"\nmetadata_ttl = \"1s\"\n",
    );
    let policy_arg = policy.display().to_string();
    let (_, fresh) = run(&p, &url, "fresh.json", &["--config", &policy_arg]).await;
    assert!(
        fresh["packages"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p.get("stale").is_none())
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    drop(server);
    let (output, stale) = run(
        &p,
        &url,
        "stale.json",
        &["--config", &policy_arg, "--offline"],
    )
    .await;
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    let requests = package(&stale, "requests");
    assert_eq!(requests["stale"], serde_json::json!(["osv", "pypi"]));
    assert_eq!(
        requests["vulnerabilities"],
        package(&fresh, "requests")["vulnerabilities"]
    );
    assert!(stale["metrics"]["cache"]["stale_served"].as_u64().unwrap() > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn junit_report_for_ci_test_views() {
    let p = Project::new();
    let policy = p.write(
        "depdash.toml",
        "[licenses]\ndeny = [\"MPL-2.0\"]\nunknown = \"allow\"\n",
    );
    let xml_path = p.path("report.xml");
    let output = depdash(&[
        "check",
        p.site().to_str().unwrap(),
        "--config",
        policy.to_str().unwrap(),
        "--offline",
        "--no-vulnerabilities",
        "--no-registry",
        "--no-history",
        "--format",
        "junit",
        "--output",
        xml_path.to_str().unwrap(),
    ])
    .await;
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    let xml = std::fs::read_to_string(&xml_path).unwrap();
    assert!(xml.starts_with("<?xml"));
    assert!(
        xml.contains(r#"<testsuite name="licenses" tests="34" failures="1""#),
        "{xml}"
    );
    assert!(xml.contains(r#"<failure type="license-denied""#));
    assert!(xml.trim_end().ends_with("</testsuites>"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lockfiles_are_an_inventory_source_and_broken_ones_exit_2() {
    let p = Project::new();
    let server = RegistryServer::start(dataset_for(
        &[
            ("requests".into(), "2.31.0".into()),
            ("certifi".into(), "2024.8.30".into()),
        ],
        1,
    ))
    .await;
    let url = server.url();
    let lock = p.write(
        "uv.lock",
        "version = 1\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\nsource = { virtual = \".\" }\n\n[[package]]\nname = \"requests\"\nversion = \"2.31.0\"\ndependencies = [{ name = \"certifi\" }]\n\n[[package]]\nname = \"certifi\"\nversion = \"2024.8.30\"\n",
    );
    let (output, report) = run_on_file(&p, &url, "--lock", &lock).await;
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    assert_eq!(report["target"]["kind"], "lockfile");
    assert_eq!(
        report["summary"]["packages"], 2,
        "the project itself is not a dependency"
    );
    assert_eq!(package(&report, "requests")["origin"], "lockfile");
    assert_eq!(
        package(&report, "certifi")["vulnerabilities"][0]["id"],
        "GHSA-bench-0001"
    );

    let broken = p.write("poetry.lock", "[[package]]\nname = \"x\"\nversion = \n");
    let output = depdash(&["check", "--lock", broken.to_str().unwrap(), "--offline"]).await;
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains(&format!("{}:3:", broken.display())),
        "{}",
        stderr(&output)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_and_history_subcommands() {
    let p = Project::new();
    let server = RegistryServer::start(dataset_for(&p.packages(), 9)).await;
    let url = server.url();
    for i in 0..2 {
        run(&p, &url, &format!("r{i}.json"), &[]).await;
    }
    let cache_dir = p.path("cache").display().to_string();
    let history = p.path("history.jsonl").display().to_string();

    let stats = depdash(&[
        "cache",
        "stats",
        "--cache-dir",
        &cache_dir,
        "--history-file",
        &history,
    ])
    .await;
    assert_eq!(code(&stats), 0, "{}", stderr(&stats));
    let text = String::from_utf8_lossy(&stats.stdout).into_owned();
    // One release document and one OSV answer per package, plus each advisory and the project
    // facts (fix candidates) of each vulnerable package, and the target's run snapshot, bundle
    // of answers and stored report.
    let packages = p.packages().len();
    let advisories = packages.div_ceil(9);
    assert!(
        text.contains(&format!(
            "entries    {} ",
            2 * packages + 2 * advisories + 3
        )),
        "{text}"
    );
    for kind in ["run-snapshot", "run-facts", "run-report"] {
        let line = format!("  {kind:<12} 1\n");
        assert!(text.contains(&line), "{line:?} in {text}");
    }
    assert!(text.contains("hit rate   last 2 runs: 0% 100%"), "{text}");

    let listed = depdash(&["history", "--history-file", &history, "--format", "json"]).await;
    let runs: Value = serde_json::from_slice(&listed.stdout).unwrap();
    let states: Vec<&str> = runs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["cache_state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["cold", "warm"]);
    let table = depdash(&["history", "--history-file", &history]).await;
    assert!(String::from_utf8_lossy(&table.stdout).lines().count() == 3);

    let prune = depdash(&["cache", "prune", "--cache-dir", &cache_dir]).await;
    assert_eq!(code(&prune), 0);
    assert!(
        String::from_utf8_lossy(&prune.stdout).contains("0 expired"),
        "nothing expired yet"
    );
    let clear = depdash(&["cache", "clear", "--cache-dir", &cache_dir]).await;
    assert_eq!(code(&clear), 0);
    assert!(String::from_utf8_lossy(&clear.stdout).contains("0 entries (0.0 MiB) remain"));
}

/// Whole-project facts cost one Simple API request per package, and only when the policy reads
/// them; a quarantined project is an error finding by default (exit 1).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn project_facts_are_fetched_only_when_the_policy_reads_them() {
    let p = Project::new();
    let packages = p.packages();
    let mut data = dataset_for(&packages, 0);
    let (quarantined, _) = &packages[0];
    data.project_status(quarantined, "quarantined", Some("malware"));
    let server = RegistryServer::start(data).await;
    let url = server.url();

    let (output, report) = run(&p, &url, "plain.json", &["--no-cache"]).await;
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    let stats = server.stats();
    let n = packages.len() as u64;
    // The quarantined release's document is gone: its Simple page is the one extra request.
    assert_eq!(
        (stats.pypi_version, stats.pypi_simple, stats.pypi_project),
        (n, 1, 0)
    );
    let findings = report["findings"].as_array().unwrap();
    assert!(
        findings
            .iter()
            .any(|f| f["code"] == "project-quarantined" && f["severity"] == "error")
    );
    assert!(!findings.iter().any(|f| f["code"] == "outdated"));
    let network = &report["metrics"]["network"];
    assert_eq!(
        network["bytes_by_source"]["pypi"].as_u64().unwrap(),
        stats.bytes_sent["pypi-version"]
    );

    server.reset_stats();
    let policy = p.write("depdash.toml", "[health]\noutdated = \"warn\"\n");
    let (_, report) = run(
        &p,
        &url,
        "outdated.json",
        &["--no-cache", "--config", policy.to_str().unwrap()],
    )
    .await;
    let stats = server.stats();
    assert_eq!(
        (stats.pypi_version, stats.pypi_simple, stats.pypi_project),
        (n, n, 0)
    );
    let outdated = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "outdated")
        .count();
    // 999.0 is on the index for every package: each older PEP 440 version is outdated.
    let older = packages
        .iter()
        .filter(|(_, v)| {
            v.parse::<pep440_rs::Version>()
                .is_ok_and(|v| v < "999.0".parse().unwrap())
        })
        .count();
    assert!(older > 20, "{older}");
    assert_eq!(outdated, older);
}

/// A pinned requirements file has no local metadata: every license comes from the index's
/// document of exactly that release (old pins included). Corpus: per-release documents made
/// from the real METADATA of the fixtures.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pinned_requirements_get_exact_release_licenses_from_the_index() {
    let p = Project::new();
    let documents = crate::support::release_corpus::release_documents();
    let mut data = registry::Dataset::new();
    let mut pins = String::new();
    for doc in &documents {
        data.add_version_json(doc.clone());
        pins.push_str(&format!(
            "{}=={}\n",
            doc["info"]["name"].as_str().unwrap(),
            doc["info"]["version"].as_str().unwrap()
        ));
    }
    pins.push_str("private-only==1.0\n");
    let requirements = p.write("requirements.txt", &pins);
    let server = RegistryServer::start(data).await;
    let (output, report) = run_on_file(&p, &server.url(), "-r", &requirements).await;
    // Exit 3: unknowns remain (the private package's license among them).
    assert!(
        matches!(code(&output), 0 | 1 | 3),
        "{}: {}",
        code(&output),
        stderr(&output)
    );

    let unknown: Vec<&Value> = report["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|pkg| pkg["license"]["expression"].is_null() && pkg["name"] != "private-only")
        .collect();
    let n = documents.len();
    eprintln!("{} of {n} pinned licenses unknown", unknown.len());
    assert!(n >= 30, "{n}");
    // Each pin gets exactly what its release's metadata fields say (expression, `License ::`
    // classifiers, License field; no license files, which the index does not serve): the
    // index was read for every one, and what stays unknown is what those fields leave vague.
    for doc in &documents {
        let info = &doc["info"];
        let text = |key: &str| info[key].as_str().map(str::to_string);
        let meta = depdash::model::LicenseMetadata {
            expression: text("license_expression"),
            license_field: text("license"),
            classifiers: info["classifiers"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|c| c.as_str())
                .filter(|c| c.starts_with("License ::"))
                .map(str::to_string)
                .collect(),
            license_files: Vec::new(),
        };
        let expected = depdash::checks::licenses::resolve(&meta, None).expression;
        let name = info["name"].as_str().unwrap();
        let pkg = report["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name && p["version"] == info["version"])
            .unwrap();
        assert_eq!(
            pkg["license"]["expression"].as_str(),
            expected.as_deref(),
            "{name}"
        );
        if expected.is_none() {
            let reason = pkg["license"]["unknown_reason"].as_str().unwrap();
            assert!(
                reason.contains("the index's release document states no specific license"),
                "{reason}"
            );
        }
    }
    // Old pins get their own release's license: requests 2.31.0 (legacy field + classifier).
    let requests = report["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|pkg| pkg["name"] == "requests" && pkg["version"] == "2.31.0")
        .unwrap();
    assert_eq!(requests["license"]["expression"], "Apache-2.0");
    assert_eq!(requests["license"]["source"], "pypi");
    // The unknown reason names the index as tried.
    let private = package(&report, "private-only");
    let reason = private["license"]["unknown_reason"].as_str().unwrap();
    assert!(
        reason.contains("the index does not know the package"),
        "{reason}"
    );
    // One per-release request per pin; the private one also tries the Simple API, and so does
    // each pin still unknown (for its core metadata file, which this index does not have).
    let stats = server.stats();
    assert_eq!(stats.pypi_version as usize, n + 1);
    let unknown_pins = unknown.len();
    assert_eq!(
        (stats.pypi_project, stats.pypi_simple as usize),
        (0, 1 + unknown_pins)
    );
    for pkg in &unknown {
        let reason = pkg["license"]["unknown_reason"].as_str().unwrap();
        assert!(
            reason.contains("core metadata file: the project page is not on the index"),
            "{reason}"
        );
    }
}

/// `HTTP_PROXY`/`HTTPS_PROXY` are honoured as pip honours them, and `NO_PROXY` exempts hosts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_variables_route_requests_and_no_proxy_exempts_hosts() {
    let p = Project::new();
    let server = RegistryServer::start(dataset_for(&p.packages(), 0)).await;
    let (port, seen) = crate::support::proxy::start(server.addr()).await;
    let proxy = format!("http://127.0.0.1:{port}");
    let args = run_args(&p, &server.url(), "proxied.json");
    let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
    args.push("--no-cache");
    let output = depdash_with_env(&args, &[("HTTP_PROXY", &proxy)]).await;
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    // A connection opened and closed unused (the pool's spare) sends nothing.
    let heads: Vec<String> = (seen.lock().unwrap().iter())
        .filter(|h| !h.is_empty())
        .cloned()
        .collect();
    assert!(!heads.is_empty(), "nothing went through the proxy");
    let absolute = format!("http://{}/", server.addr());
    assert!(
        heads.iter().all(|h| h
            .split_whitespace()
            .nth(1)
            .is_some_and(|uri| uri.starts_with(&absolute))),
        "{heads:?}"
    );
    assert_eq!(server.stats().pypi_version as usize, p.packages().len());

    seen.lock().unwrap().clear();
    let output =
        depdash_with_env(&args, &[("HTTP_PROXY", &proxy), ("NO_PROXY", "127.0.0.1")]).await;
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(
        seen.lock().unwrap().is_empty(),
        "NO_PROXY host went through the proxy"
    );
}
