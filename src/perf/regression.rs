//! Regression detection: compares a run with the median of recent comparable runs.
//!
//! Comparable means same fingerprint (same inventory, policy and sources) and same cache state
//! (a cold run is never judged against warm ones). The baseline of each metric is the median
//! over the last `baseline_runs` comparable runs, so one slow outlier (a busy machine, a GC'd
//! CI runner) neither raises nor lowers it. A metric regresses when it is worse than the
//! baseline by more than `regression_threshold` *and* by at least [`MIN_ABSOLUTE_MS`]: an
//! operation going from 0.2 ms to 0.4 ms is +100 % but pure timer noise.

use crate::perf::config::PerfPolicy;
use crate::perf::history::RunRecord;
use crate::telemetry::{BaselineVerdict, RegressedMetric, Regression};

/// Differences smaller than this are noise, whatever the ratio.
pub const MIN_ABSOLUTE_MS: f64 = 1.0;

/// Median of `values` (mean of the middle two for an even count); `None` when empty.
fn median(mut values: Vec<f64>) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len().is_multiple_of(2) {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    })
}

fn check(
    operation: &str,
    metric: RegressedMetric,
    baseline_ms: f64,
    current_ms: f64,
    threshold: f64,
) -> Option<Regression> {
    if baseline_ms <= 0.0 || current_ms - baseline_ms < MIN_ABSOLUTE_MS {
        return None;
    }
    let ratio = current_ms / baseline_ms;
    (ratio > 1.0 + threshold).then(|| Regression {
        operation: operation.to_string(),
        metric,
        baseline_ms,
        current_ms,
        ratio,
    })
}

/// Judges `current` against `history` (all records; non-comparable ones are ignored, and so is
/// `current` itself should it already have been appended).
///
/// The window is the last `max(baseline_runs, min_baseline_runs)` comparable runs; with fewer
/// than `min_baseline_runs` there is no verdict. An operation is judged only if at least
/// `min_baseline_runs` baseline runs recorded it (a new operation has no baseline).
pub fn compare(current: &RunRecord, history: &[RunRecord], policy: &PerfPolicy) -> BaselineVerdict {
    let needed = policy.min_baseline_runs.max(1);
    let window = policy.baseline_runs.max(needed);
    let comparable: Vec<&RunRecord> = history
        .iter()
        .filter(|r| r.fingerprint == current.fingerprint && r.cache_state == current.cache_state)
        .filter(|r| !(r.at == current.at && *r == current))
        .collect();
    let baseline = &comparable[comparable.len().saturating_sub(window)..];
    if baseline.len() < needed {
        return BaselineVerdict::NoBaseline {
            runs: baseline.len(),
            needed,
        };
    }

    let threshold = policy.regression_threshold;
    let mut regressions = Vec::new();
    if let Some(base) = median(baseline.iter().map(|r| r.total_ms).collect()) {
        regressions.extend(check(
            "total",
            RegressedMetric::Total,
            base,
            current.total_ms,
            threshold,
        ));
    }
    for (operation, summary) in &current.operations {
        let values: Vec<f64> = baseline
            .iter()
            .filter_map(|r| r.operations.get(operation).map(|s| s.p95_ms))
            .collect();
        if values.len() < needed {
            continue;
        }
        if let Some(base) = median(values) {
            regressions.extend(check(
                operation,
                RegressedMetric::P95,
                base,
                summary.p95_ms,
                threshold,
            ));
        }
    }
    regressions.sort_by(|a, b| b.ratio.total_cmp(&a.ratio));
    BaselineVerdict::Compared {
        baseline_runs: baseline.len(),
        regressions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perf::history::OpSummary;

    fn policy() -> PerfPolicy {
        PerfPolicy {
            regression_threshold: 0.20,
            baseline_runs: 5,
            min_baseline_runs: 3,
            history_limit: 500,
        }
    }

    fn run(n: usize, total_ms: f64, fetch_p95: f64) -> RunRecord {
        RunRecord {
            at: format!("2026-01-01T00:00:{n:02}Z"),
            fingerprint: "fp".into(),
            cache_state: "warm".into(),
            total_ms,
            operations: [(
                "http.pypi".to_string(),
                OpSummary {
                    count: 10,
                    p50_ms: fetch_p95 / 2.0,
                    p95_ms: fetch_p95,
                },
            )]
            .into(),
            ..RunRecord::default()
        }
    }

    fn baseline(totals: &[f64]) -> Vec<RunRecord> {
        totals
            .iter()
            .enumerate()
            .map(|(i, &t)| run(i, t, 40.0))
            .collect()
    }

    fn regressions(verdict: BaselineVerdict) -> Vec<Regression> {
        match verdict {
            BaselineVerdict::Compared { regressions, .. } => regressions,
            other => panic!("expected a comparison, got {other:?}"),
        }
    }

    #[test]
    fn flags_a_25_percent_slowdown() {
        let history = baseline(&[100.0, 100.0, 100.0]);
        let found = regressions(compare(&run(9, 125.0, 40.0), &history, &policy()));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].operation, "total");
        assert_eq!(found[0].metric, RegressedMetric::Total);
        assert_eq!(found[0].baseline_ms, 100.0);
        assert!((found[0].ratio - 1.25).abs() < 1e-9);
    }

    #[test]
    fn ignores_a_10_percent_slowdown() {
        let history = baseline(&[100.0, 100.0, 100.0]);
        let found = regressions(compare(&run(9, 110.0, 44.0), &history, &policy()));
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn operation_p95_regression_is_reported_worst_first() {
        let history = baseline(&[100.0, 100.0, 100.0, 100.0]);
        let found = regressions(compare(&run(9, 130.0, 80.0), &history, &policy()));
        assert_eq!(found.len(), 2);
        assert_eq!(
            (found[0].operation.as_str(), found[0].metric),
            ("http.pypi", RegressedMetric::P95)
        );
        assert!((found[0].ratio - 2.0).abs() < 1e-9);
        assert_eq!(found[1].operation, "total");
    }

    #[test]
    fn no_baseline_with_one_run() {
        let history = baseline(&[100.0]);
        assert_eq!(
            compare(&run(9, 500.0, 40.0), &history, &policy()),
            BaselineVerdict::NoBaseline { runs: 1, needed: 3 }
        );
    }

    #[test]
    fn median_ignores_one_outlier() {
        // The mean of this baseline is 180 ms (125 would look fine); the median is 100 ms.
        let history = baseline(&[100.0, 100.0, 500.0, 100.0, 100.0]);
        let found = regressions(compare(&run(9, 125.0, 40.0), &history, &policy()));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].baseline_ms, 100.0);
        // And a single fast outlier does not make a normal run look slow.
        let history = baseline(&[100.0, 100.0, 10.0, 100.0, 100.0]);
        assert!(regressions(compare(&run(9, 105.0, 40.0), &history, &policy())).is_empty());
    }

    #[test]
    fn only_the_last_baseline_runs_count() {
        // Old slow runs fall out of the window of 5.
        let mut history = baseline(&[200.0, 200.0, 200.0]);
        history.extend(baseline(&[100.0; 5]));
        let found = regressions(compare(&run(9, 150.0, 40.0), &history, &policy()));
        assert_eq!(found[0].baseline_ms, 100.0);
    }

    #[test]
    fn non_comparable_runs_are_ignored() {
        let mut history = Vec::new();
        for i in 0..5 {
            history.push(RunRecord {
                fingerprint: "other-inventory".into(),
                ..run(i, 10.0, 1.0)
            });
            history.push(RunRecord {
                cache_state: "cold".into(),
                ..run(i, 10.0, 1.0)
            });
        }
        assert_eq!(
            compare(&run(9, 100.0, 40.0), &history, &policy()),
            BaselineVerdict::NoBaseline { runs: 0, needed: 3 }
        );
        history.extend(baseline(&[100.0, 100.0, 100.0]));
        let verdict = compare(&run(9, 100.0, 40.0), &history, &policy());
        assert_eq!(
            verdict,
            BaselineVerdict::Compared {
                baseline_runs: 3,
                regressions: vec![]
            }
        );
    }

    #[test]
    fn tiny_absolute_differences_are_noise() {
        let mut history = Vec::new();
        for i in 0..3 {
            history.push(run(i, 0.5, 0.2));
        }
        // +100 % on both, but under a millisecond.
        assert!(regressions(compare(&run(9, 1.0, 0.4), &history, &policy())).is_empty());
    }

    #[test]
    fn new_operations_have_no_baseline() {
        let history = baseline(&[100.0, 100.0, 100.0]);
        let mut current = run(9, 100.0, 40.0);
        current.operations.insert(
            "cache.get.redis".into(),
            OpSummary {
                count: 1,
                p50_ms: 300.0,
                p95_ms: 300.0,
            },
        );
        assert!(regressions(compare(&current, &history, &policy())).is_empty());
    }

    #[test]
    fn the_current_run_already_in_history_is_not_its_own_baseline() {
        let mut history = baseline(&[100.0, 100.0]);
        let current = run(9, 100.0, 40.0);
        history.push(current.clone());
        assert_eq!(
            compare(&current, &history, &policy()),
            BaselineVerdict::NoBaseline { runs: 2, needed: 3 }
        );
    }

    #[test]
    fn median_of_even_and_odd_counts() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(vec![]), None);
    }
}
