//! depdash measuring itself: per-operation timings, run history and regression detection.

pub mod history;
pub mod regression;
pub mod tracker;

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::json;

use crate::engine::events::{CacheCounters, NetworkCounters};
use crate::model::{Check, Finding, Report, Severity};
use crate::policy::PerfPolicy;
use history::{History, RunRecord};
use regression::BaselineVerdict;
use tracker::OperationStats;

/// Everything measured during one run, gathered at its end.
#[derive(Clone, Debug, Default)]
pub struct RunMetrics {
    pub operations: BTreeMap<String, OperationStats>,
    pub cache: CacheCounters,
    pub network: NetworkCounters,
    pub cache_enabled: bool,
    pub total: Duration,
}

impl RunMetrics {
    /// `no-cache`, `warm` (≥ 95 % of lookups answered), `cold` (none answered) or `partial`:
    /// only runs in the same state are compared for regressions.
    pub fn cache_state(&self) -> &'static str {
        if !self.cache_enabled {
            "no-cache"
        } else if self.cache.lookups > 0 && self.cache.hit_rate() >= 0.95 {
            "warm"
        } else if self.cache.hits == 0 {
            "cold"
        } else {
            "partial"
        }
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
        fingerprint: fingerprint.to_string(),
        cache_state: metrics.cache_state().to_string(),
        packages: report.packages.len(),
        findings: report.findings.len(),
        unknowns: report.unknowns.len(),
        total_ms: metrics.total.as_secs_f64() * 1000.0,
        hit_rate: metrics.cache.hit_rate(),
        operations: RunRecord::summarize(&metrics.operations),
    };
    let verdict = history.file.and_then(|path| {
        let mut file = match History::open(path) {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!("run history {}: {e}", path.display());
                return None;
            }
        };
        let verdict = regression::compare(&record, file.records(), history.policy);
        if let Err(e) = file.append(&record, history.policy.history_limit) {
            tracing::warn!("run history {}: {e}", path.display());
        }
        Some(verdict)
    });
    if let Some(BaselineVerdict::Compared {
        baseline_runs,
        regressions,
    }) = &verdict
    {
        let severity = if history.fail_on_regression {
            Severity::Error
        } else {
            Severity::Warning
        };
        for r in regressions {
            report.findings.push(
                Finding::new(
                    Check::Performance,
                    "performance-regression",
                    severity,
                    format!(
                        "{} {} {:.1} ms vs baseline {:.1} ms ({:+.0}%, median of {baseline_runs} comparable runs)",
                        r.operation,
                        r.metric,
                        r.current_ms,
                        r.baseline_ms,
                        (r.ratio - 1.0) * 100.0
                    ),
                )
                .with_rule("performance.regression_threshold"),
            );
        }
    }
    let levels: serde_json::Map<String, serde_json::Value> = metrics
        .cache
        .levels
        .iter()
        .map(|(name, c)| {
            let mut v = serde_json::to_value(c).unwrap_or_default();
            v["hit_rate"] = json!(c.hit_rate());
            (name.clone(), v)
        })
        .collect();
    let regressions = match &verdict {
        Some(BaselineVerdict::Compared { regressions, .. }) => json!(regressions),
        _ => json!([]),
    };
    report.metrics = json!({
        "total_ms": record.total_ms,
        "peak_rss_bytes": peak_rss_bytes(),
        "operations": metrics.operations,
        "cache": {
            "enabled": metrics.cache_enabled,
            "state": record.cache_state,
            "lookups": metrics.cache.lookups,
            "hits": metrics.cache.hits,
            "hit_rate": metrics.cache.hit_rate(),
            "stale_served": metrics.cache.stale_served,
            "levels": levels,
        },
        "network": metrics.network,
        "baseline": verdict.as_ref().map_or(json!({"verdict": "not-recorded"}), |v| json!(v)),
        "regressions": regressions,
    });
}

/// Peak resident set size of this process so far (Linux `VmHWM`), in bytes.
/// When the process started, as `main` marked it (`None` when depdash runs as a library).
static PROCESS_START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

/// Mark now as the process start (first call wins); `run.total` of the first run counts from it.
pub fn mark_process_start() {
    PROCESS_START.get_or_init(std::time::Instant::now);
}

pub fn process_start() -> Option<std::time::Instant> {
    PROCESS_START.get().copied()
}

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
        let t = tracker::Tracker::new();
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
            assert_eq!(first.metrics["baseline"]["verdict"], "no-baseline");
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
            assert_eq!(regression.code, "performance-regression");
            let expected = if fail {
                Severity::Error
            } else {
                Severity::Warning
            };
            assert_eq!(regression.severity, expected);
            assert_eq!(slow.metrics["cache"]["state"], "no-cache");
            assert!(
                slow.metrics["operations"]["http.pypi"]["p95_ms"]
                    .as_f64()
                    .unwrap()
                    > 190.0
            );
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
