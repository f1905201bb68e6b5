//! What a run measured, as the report carries it (`metrics` in the JSON report, documented in
//! `assets/report.schema.json`): timings per operation, cache and network counters, and the
//! verdict against earlier runs. Faces read these fields; nothing parses JSON back.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{LevelCounters, NetworkCounters, OperationStats};

/// How much the cache answered; only runs in the same state are compared for regressions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CacheState {
    /// The cache was off (`--no-cache`).
    #[default]
    NoCache,
    /// At least 95 % of lookups answered.
    Warm,
    /// No lookup answered.
    Cold,
    Partial,
    /// A stored report answered the whole run ([`super::counters::REPORT_LEVEL`]): nothing
    /// was looked up or judged, so it is compared only with runs served the same way.
    Served,
}

impl CacheState {
    /// `no-cache`, `served` (the stored report answered), `warm` (≥ 95 % of lookups
    /// answered), `cold` (none answered) or `partial`.
    pub fn of(enabled: bool, counters: &super::CacheCounters) -> Self {
        let (lookups, hits) = (counters.lookups, counters.hits);
        if !enabled {
            CacheState::NoCache
        } else if counters.levels.contains_key(super::counters::REPORT_LEVEL) {
            CacheState::Served
        } else if lookups > 0 && super::hit_rate(hits, lookups) >= 0.95 {
            CacheState::Warm
        } else if hits == 0 {
            CacheState::Cold
        } else {
            CacheState::Partial
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CacheState::NoCache => "no-cache",
            CacheState::Warm => "warm",
            CacheState::Cold => "cold",
            CacheState::Served => "served",
            CacheState::Partial => "partial",
        }
    }
}

/// One cache level's counters and hit rate.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LevelMetrics {
    #[serde(flatten)]
    pub counters: LevelCounters,
    pub hit_rate: f64,
}

/// The cache over the run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CacheMetrics {
    pub enabled: bool,
    pub state: CacheState,
    pub lookups: u64,
    pub hits: u64,
    pub hit_rate: f64,
    pub stale_served: u64,
    pub levels: BTreeMap<String, LevelMetrics>,
}

/// Which number of an operation regressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RegressedMetric {
    /// The 95th percentile of an operation.
    P95,
    /// The run's wall time.
    Total,
}

impl RegressedMetric {
    pub fn as_str(self) -> &'static str {
        match self {
            RegressedMetric::P95 => "p95",
            RegressedMetric::Total => "total",
        }
    }
}

/// One metric that got slower.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Regression {
    /// Operation name (e.g. `http.pypi`) or `"total"`.
    pub operation: String,
    pub metric: RegressedMetric,
    pub baseline_ms: f64,
    pub current_ms: f64,
    /// `current_ms / baseline_ms`.
    pub ratio: f64,
    /// The baseline's spread (scaled median absolute deviation), in ms.
    #[serde(default)]
    pub spread_ms: f64,
    /// The value above which this metric counts as regressed, in ms.
    #[serde(default)]
    pub limit_ms: f64,
    /// Comparable runs in the baseline of this metric.
    #[serde(default)]
    pub baseline_runs: usize,
}

impl Regression {
    /// Why it was flagged, in words: `80.0 ms vs baseline 20.0 ms ± 1.2 ms (8 runs); limit 25.0 ms`.
    pub fn why(&self) -> String {
        format!(
            "{:.1} ms vs baseline {:.1} ms ± {:.1} ms ({} runs); flagged above {:.1} ms",
            self.current_ms, self.baseline_ms, self.spread_ms, self.baseline_runs, self.limit_ms
        )
    }
}

/// The run judged against earlier comparable runs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "verdict")]
pub enum BaselineVerdict {
    /// No run history (`--no-history`): nothing recorded, nothing compared.
    #[default]
    NotRecorded,
    /// Too few comparable runs to judge (`runs` of the `needed`).
    NoBaseline { runs: usize, needed: usize },
    /// Judged against the median of `baseline_runs` runs; regressions worst first.
    Compared {
        baseline_runs: usize,
        regressions: Vec<Regression>,
    },
}

impl BaselineVerdict {
    /// The verdict in words, for people.
    pub fn describe(&self) -> String {
        match self {
            BaselineVerdict::Compared { baseline_runs, .. } => {
                format!("compared with the median and spread of {baseline_runs} comparable runs")
            }
            BaselineVerdict::NoBaseline { runs, needed } => {
                format!("no baseline yet: {runs} of {needed} comparable runs recorded")
            }
            BaselineVerdict::NotRecorded => {
                "run history is off: nothing to compare with".to_string()
            }
        }
    }

    /// The regressions found (none unless compared).
    pub fn regressions(&self) -> &[Regression] {
        match self {
            BaselineVerdict::Compared { regressions, .. } => regressions,
            _ => &[],
        }
    }
}

/// Everything a run measured, as reported.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Wall time of the run.
    pub total_ms: f64,
    /// Peak resident set size (Linux `VmHWM`); absent where the platform does not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_rss_bytes: Option<u64>,
    pub operations: BTreeMap<String, OperationStats>,
    /// Milliseconds from the run's start to each milestone it reached.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub milestones: BTreeMap<super::Milestone, f64>,
    pub cache: CacheMetrics,
    pub network: NetworkCounters,
    pub baseline: BaselineVerdict,
    /// The baseline's regressions again, at the top level for easy reading.
    pub regressions: Vec<Regression>,
}

impl From<&CacheMetrics> for super::CacheCounters {
    fn from(m: &CacheMetrics) -> Self {
        super::CacheCounters {
            lookups: m.lookups,
            hits: m.hits,
            stale_served: m.stale_served,
            levels: m
                .levels
                .iter()
                .map(|(name, level)| (name.clone(), level.counters.clone()))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::{CacheCounters, LevelCounters};

    #[test]
    fn a_run_answered_by_its_stored_report_is_served_not_warm() {
        let counted = |lookups, hits| CacheCounters {
            lookups,
            hits,
            ..CacheCounters::default()
        };
        assert_eq!(CacheState::of(true, &counted(100, 96)), CacheState::Warm);
        assert_eq!(CacheState::of(true, &counted(100, 0)), CacheState::Cold);
        assert_eq!(CacheState::of(true, &counted(100, 50)), CacheState::Partial);
        assert_eq!(CacheState::of(false, &counted(1, 1)), CacheState::NoCache);
        let mut served = counted(1, 1);
        served.levels.insert(
            crate::telemetry::counters::REPORT_LEVEL.into(),
            LevelCounters::default(),
        );
        assert_eq!(CacheState::of(true, &served), CacheState::Served);
        assert_eq!(CacheState::Served.as_str(), "served");
    }
}
