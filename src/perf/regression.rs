//! Regression detection with noise-aware statistics: a run is compared with the distribution of
//! recent comparable runs, not with a fixed ratio.
//!
//! Comparable means same fingerprint (same target inventory, policy and sources) and same cache
//! state (a cold run is never judged against warm ones). For each metric the baseline is the
//! median of the last `baseline_runs` comparable runs and its spread the scaled median absolute
//! deviation (MAD × 1.4826, a standard-deviation estimate that one outlier cannot inflate; at
//! least [`SPREAD_FLOOR`] of the median). A metric regresses only when it exceeds the baseline
//! by all three of:
//! - [`SPREAD_FACTOR`] spreads (statistically unlike the baseline's own noise),
//! - `regression_threshold` of the median (big enough to matter),
//! - [`MIN_ABSOLUTE_MS`] (timer noise: 0.2 → 0.4 ms is +100 % and means nothing).
//!
//! One-sample operations (e.g. `osv.querybatch` once per run, and the run's total) have no
//! percentile of their own to lean on: their single value is judged against the distribution of
//! their past values, the same median and spread, which is what a noisy machine widens.

use crate::perf::config::PerfPolicy;
use crate::perf::history::RunRecord;
use crate::telemetry::{BaselineVerdict, RegressedMetric, Regression};

/// Differences smaller than this are noise, whatever the ratio: on a loaded machine the
/// scheduler stalls any operation for several time slices (measured on steady runs with a CPU
/// hog: `inventory.scan` 0.9 → 5.1 ms, 0.9 → 12.9 ms, and 0.8 → 41.2 ms while the whole test
/// suite ran). A slower small operation still shows in the run's total.
pub const MIN_ABSOLUTE_MS: f64 = 50.0;

/// The spread is at least this fraction of the median: with a handful of runs the MAD can come
/// out near zero, yet on a busy machine a whole run is sometimes starved at once (measured on
/// loopback with a CPU hog, tests/it/perf.rs: a steady run's request p95 at 2.6× its median).
/// With [`SPREAD_FACTOR`] this means a single run must be about twice its baseline to be
/// flagged unless the baseline is itself steadier in absolute terms.
pub const SPREAD_FLOOR: f64 = 0.25;

/// How many spreads above the median a value must be to count as unlike the baseline.
pub const SPREAD_FACTOR: f64 = 4.0;

/// MAD × this estimates the standard deviation of normally distributed values.
const MAD_SCALE: f64 = 1.4826;

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

/// The baseline of one metric: median and spread (scaled MAD).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Baseline {
    median: f64,
    spread: f64,
    runs: usize,
}

impl Baseline {
    fn of(values: &[f64]) -> Option<Baseline> {
        let median = median(values.to_vec())?;
        let deviations = values.iter().map(|v| (v - median).abs()).collect();
        Some(Baseline {
            median,
            spread: (median_or_zero(deviations) * MAD_SCALE).max(median * SPREAD_FLOOR),
            runs: values.len(),
        })
    }
}

fn median_or_zero(values: Vec<f64>) -> f64 {
    median(values).unwrap_or(0.0)
}

/// The regression of `current_ms` against `base`, if it is one.
fn check(
    operation: &str,
    metric: RegressedMetric,
    base: Baseline,
    current_ms: f64,
    threshold: f64,
) -> Option<Regression> {
    if base.median <= 0.0 {
        return None;
    }
    let limit = (base.median + SPREAD_FACTOR * base.spread)
        .max(base.median * (1.0 + threshold))
        .max(base.median + MIN_ABSOLUTE_MS);
    (current_ms > limit).then(|| Regression {
        operation: operation.to_string(),
        metric,
        baseline_ms: base.median,
        current_ms,
        ratio: current_ms / base.median,
        spread_ms: base.spread,
        limit_ms: limit,
        baseline_runs: base.runs,
    })
}

/// Whether `earlier` is a run `current` compares with: same fingerprint, cache state and target
/// (records from before targets were recorded have none), and not `current` itself.
pub fn comparable(current: &RunRecord, earlier: &RunRecord) -> bool {
    earlier.fingerprint == current.fingerprint
        && earlier.cache_state == current.cache_state
        && (earlier.target.is_empty() || earlier.target == current.target)
        && !(earlier.at == current.at && earlier == current)
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
    let comparable: Vec<&RunRecord> = history.iter().filter(|r| comparable(current, r)).collect();
    let baseline = &comparable[comparable.len().saturating_sub(window)..];
    if baseline.len() < needed {
        return BaselineVerdict::NoBaseline {
            runs: baseline.len(),
            needed,
        };
    }

    let threshold = policy.regression_threshold;
    let mut regressions = Vec::new();
    let totals: Vec<f64> = baseline.iter().map(|r| r.total_ms).collect();
    if let Some(base) = Baseline::of(&totals) {
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
        if let Some(base) = Baseline::of(&values) {
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
    fn flags_a_doubling_of_a_steady_baseline_not_a_bad_minute() {
        let history = baseline(&[100.0, 100.0, 100.0]);
        let found = regressions(compare(&run(9, 210.0, 40.0), &history, &policy()));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].operation, "total");
        assert_eq!(found[0].metric, RegressedMetric::Total);
        assert_eq!(found[0].baseline_ms, 100.0);
        assert!((found[0].ratio - 2.1).abs() < 1e-9);
        // The spread floor: 25 % of the median, times four, is the limit.
        assert!((found[0].limit_ms - 200.0).abs() < 1e-9, "{:?}", found[0]);
        // +90 % is within four floors of spread: one starved run on a shared machine.
        assert!(regressions(compare(&run(9, 190.0, 40.0), &history, &policy())).is_empty());
    }

    #[test]
    fn a_noisy_baseline_widens_the_limit_and_a_4x_rise_still_shows() {
        // A busy machine: totals scatter ±50 %. A run 2.5× the median is within that noise.
        let history = baseline(&[500.0, 500.0, 100.0, 150.0, 70.0, 130.0, 60.0]);
        assert!(regressions(compare(&run(9, 250.0, 40.0), &history, &policy())).is_empty());
        let found = regressions(compare(&run(9, 400.0, 40.0), &history, &policy()));
        assert_eq!(found.len(), 1, "{found:?}");
        let r = &found[0];
        assert_eq!(r.baseline_ms, 100.0);
        // MAD of the last 5 runs (median 100): deviations 0, 50, 30, 30, 40 → 30.
        assert!((r.spread_ms - 30.0 * MAD_SCALE).abs() < 1e-9, "{r:?}");
        assert_eq!(r.baseline_runs, 5);
        assert!(r.limit_ms > 250.0 && r.limit_ms < 400.0, "{r:?}");
        assert!(r.why().contains("flagged above"), "{}", r.why());
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
        let found = regressions(compare(&run(9, 210.0, 100.0), &history, &policy()));
        assert_eq!(found.len(), 2);
        assert_eq!(
            (found[0].operation.as_str(), found[0].metric),
            ("http.pypi", RegressedMetric::P95)
        );
        assert!((found[0].ratio - 2.5).abs() < 1e-9);
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
        // The mean of this baseline is 180 ms (210 would look fine); the median is 100 ms.
        let history = baseline(&[100.0, 100.0, 500.0, 100.0, 100.0]);
        let found = regressions(compare(&run(9, 210.0, 40.0), &history, &policy()));
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
        let found = regressions(compare(&run(9, 250.0, 40.0), &history, &policy()));
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
