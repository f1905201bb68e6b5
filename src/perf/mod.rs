//! depdash measuring itself: per-operation timings, run history and regression detection.

pub mod config;
pub mod history;
pub mod regression;

use std::collections::BTreeMap;
use std::time::Duration;

use crate::model::{Code, Finding, Report, RuleKey, Severity};
use crate::telemetry::OperationStats;
use crate::telemetry::{
    BaselineVerdict, CacheCounters, CacheMetrics, CacheState, LevelMetrics, Metrics,
    NetworkCounters,
};
use config::PerfPolicy;
use history::{History, RunRecord};

/// Everything measured during one run, gathered at its end.
#[derive(Clone, Debug, Default)]
pub struct RunMetrics {
    pub operations: BTreeMap<String, OperationStats>,
    pub milestones: BTreeMap<crate::telemetry::Milestone, Duration>,
    pub cache: CacheCounters,
    pub network: NetworkCounters,
    pub cache_enabled: bool,
    pub total: Duration,
}

impl RunMetrics {
    /// Only runs in the same cache state are compared for regressions.
    pub fn cache_state(&self) -> CacheState {
        CacheState::of(self.cache_enabled, &self.cache)
    }
}

/// Where and how to remember runs.
pub struct HistoryOptions<'a> {
    /// `None`: do not record or compare.
    pub file: Option<&'a std::path::Path>,
    pub policy: &'a PerfPolicy,
    /// Regressions are violations (exit 1) instead of warnings.
    pub fail_on_regression: bool,
}

/// Fill `report.metrics`, compare the run with its baseline, record it in the history, and add
/// a finding per regression.
pub fn finish_report(
    report: &mut Report,
    metrics: &RunMetrics,
    fingerprint: &str,
    history: &HistoryOptions<'_>,
) {
    let record = RunRecord {
        at: RunRecord::now(),
        target: report.target.path.clone(),
        fingerprint: fingerprint.to_string(),
        cache_state: metrics.cache_state().as_str().to_string(),
        packages: report.packages.len(),
        findings: report.findings.len(),
        unknowns: report.unknowns.len(),
        total_ms: metrics.total.as_secs_f64() * 1000.0,
        hit_rate: metrics.cache.hit_rate(),
        operations: RunRecord::summarize(&metrics.operations),
    };
    let verdict = history.file.map_or(BaselineVerdict::NotRecorded, |path| {
        // Only the baseline is read (the newest comparable runs, from the end of the file),
        // and the record is appended as one line: a full history costs a run almost nothing.
        let policy = history.policy;
        let window = policy.baseline_runs.max(policy.min_baseline_runs).max(1);
        let baseline = match History::newest(path, fingerprint, window, |r| {
            regression::comparable(&record, r)
        }) {
            Ok(baseline) => baseline,
            Err(e) => {
                tracing::warn!("run history {}: {e}", path.display());
                return BaselineVerdict::NotRecorded;
            }
        };
        let verdict = regression::compare(&record, &baseline, policy);
        if let Err(e) = History::append_run(path, &record, policy.history_limit) {
            tracing::warn!("run history {}: {e}", path.display());
        }
        verdict
    });
    if let BaselineVerdict::Compared { regressions, .. } = &verdict {
        let severity = if history.fail_on_regression {
            Severity::Error
        } else {
            Severity::Warning
        };
        for r in regressions {
            report.findings.push(
                Finding::new(
                    Code::PerformanceRegression,
                    severity,
                    format!(
                        "{} {} {:+.0}%: {}",
                        r.operation,
                        r.metric.as_str(),
                        (r.ratio - 1.0) * 100.0,
                        r.why()
                    ),
                )
                .with_rule(RuleKey::PerformanceRegressionThreshold),
            );
        }
    }
    let levels = metrics
        .cache
        .levels
        .iter()
        .map(|(name, c)| {
            let level = LevelMetrics {
                counters: c.clone(),
                hit_rate: c.hit_rate(),
            };
            (name.clone(), level)
        })
        .collect();
    report.metrics = Metrics {
        total_ms: record.total_ms,
        peak_rss_bytes: peak_rss_bytes(),
        operations: metrics.operations.clone(),
        milestones: (metrics.milestones.iter())
            .map(|(m, after)| (*m, after.as_secs_f64() * 1000.0))
            .collect(),
        cache: CacheMetrics {
            enabled: metrics.cache_enabled,
            state: metrics.cache_state(),
            lookups: metrics.cache.lookups,
            hits: metrics.cache.hits,
            hit_rate: metrics.cache.hit_rate(),
            stale_served: metrics.cache.stale_served,
            levels,
        },
        network: metrics.network.clone(),
        regressions: verdict.regressions().to_vec(),
        baseline: verdict,
    };
}

/// When the process started, as `main` marked it (`None` when depdash runs as a library).
static PROCESS_START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

/// Mark now as the process start (first call wins); `run.total` of the first run counts from it.
pub fn mark_process_start() {
    PROCESS_START.get_or_init(std::time::Instant::now);
}

/// The process start `main` marked, if it did.
pub fn process_start() -> Option<std::time::Instant> {
    PROCESS_START.get().copied()
}

/// Peak resident set size of this process so far (Linux `VmHWM`), in bytes.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn empty_report() -> Report {
        Report::new(Default::default(), None, vec![], vec![], vec![])
    }

    fn metrics_with_pypi_p95(ms: u64) -> RunMetrics {
        let t = crate::telemetry::Tracker::new();
        for _ in 0..50 {
            t.record("http.pypi", Duration::from_millis(ms));
        }
        RunMetrics {
            operations: t.snapshot(),
            cache_enabled: false,
            total: Duration::from_millis(ms * 2),
            ..Default::default()
        }
    }

    #[test]
    fn fourfold_slower_run_is_flagged_and_fails_only_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("history.jsonl");
        let policy = PerfPolicy::default();
        for fail in [false, true] {
            let _ = std::fs::remove_file(&file);
            let opts = HistoryOptions {
                file: Some(&file),
                policy: &policy,
                fail_on_regression: fail,
            };
            let mut first = empty_report();
            finish_report(&mut first, &metrics_with_pypi_p95(50), "fp", &opts);
            assert!(matches!(
                first.metrics.baseline,
                BaselineVerdict::NoBaseline { .. }
            ));
            for _ in 0..3 {
                finish_report(&mut empty_report(), &metrics_with_pypi_p95(50), "fp", &opts);
            }
            let mut slow = empty_report();
            finish_report(&mut slow, &metrics_with_pypi_p95(200), "fp", &opts);
            let regression = slow
                .findings
                .iter()
                .find(|f| f.message.starts_with("http.pypi p95"))
                .expect("http.pypi regression reported");
            assert_eq!(regression.code, Code::PerformanceRegression);
            let expected = if fail {
                Severity::Error
            } else {
                Severity::Warning
            };
            assert_eq!(regression.severity, expected);
            assert_eq!(slow.metrics.cache.state, CacheState::NoCache);
            assert!(slow.metrics.operations["http.pypi"].p95_ms > 190.0);
            // A different fingerprint has no baseline: nothing to compare, nothing flagged.
            let mut other = empty_report();
            finish_report(&mut other, &metrics_with_pypi_p95(400), "other", &opts);
            assert!(other.findings.is_empty());
        }
    }

    #[test]
    fn peak_rss_is_read_on_linux() {
        if cfg!(target_os = "linux") {
            let rss = peak_rss_bytes().expect("VmHWM present on Linux");
            // A running test binary has at least a megabyte resident.
            assert!(rss > 1 << 20, "{rss}");
        }
    }
}
