//! Counters of the cache levels and the network, summed over a run.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::events::SourceKind;

/// Cache counters of one level.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LevelCounters {
    pub lookups: u64,
    pub hits: u64,
    pub misses: u64,
    pub writes: u64,
    pub bytes_read: u64,
    pub bytes_written: u64,
    pub corrupt_repaired: u64,
    pub errors: u64,
}

/// The level a served run's one lookup, its stored report, is counted at.
pub const REPORT_LEVEL: &str = "report";

/// `hits / lookups`, 0 when nothing was looked up.
pub fn hit_rate(hits: u64, lookups: u64) -> f64 {
    if lookups == 0 {
        0.0
    } else {
        hits as f64 / lookups as f64
    }
}

impl LevelCounters {
    pub fn hit_rate(&self) -> f64 {
        hit_rate(self.hits, self.lookups)
    }
}

/// Cache counters across levels (`memory`, `file`, `redis`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CacheCounters {
    /// Lookups made by the engine (each walks the levels).
    pub lookups: u64,
    /// Lookups answered by any level.
    pub hits: u64,
    pub stale_served: u64,
    pub levels: BTreeMap<String, LevelCounters>,
}

impl CacheCounters {
    pub fn hit_rate(&self) -> f64 {
        hit_rate(self.hits, self.lookups)
    }
}

/// Network counters.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NetworkCounters {
    pub requests: u64,
    pub retries: u64,
    pub failures: u64,
    pub bytes: u64,
    /// `bytes` per source.
    #[serde(default)]
    pub bytes_by_source: BTreeMap<SourceKind, u64>,
    pub in_flight: u64,
    pub max_in_flight: u64,
    pub breaker_trips: u64,
    /// Answers `304 Not Modified`: expired cache entries renewed without a body.
    #[serde(default)]
    pub revalidated: u64,
}
