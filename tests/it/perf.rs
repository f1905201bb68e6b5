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
    // Requests 50 % slower: p95 regression on http.pypi and on the total.
    match end_of_run(&path, &finished_run(5, "warm", 60, 1300.0), &policy) {
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
            assert!((regressions[0].ratio - 1.5).abs() < 0.01);
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
