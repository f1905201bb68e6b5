//! What the engine tells its faces: discrete events over a bounded channel, and the latest
//! metrics snapshot over a `watch` channel. Plain data; no terminal code.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::model::{Finding, PackageStatus, Report, Unknown};
use crate::perf::tracker::OperationStats;

/// Which remote source a request went to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    Pypi,
    Osv,
}

impl SourceKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            SourceKind::Pypi => "pypi",
            SourceKind::Osv => "osv",
        }
    }
}

/// How one HTTP request ended (after its retries).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RequestOutcome {
    Ok {
        status: u16,
    },
    /// 404: the index does not know this package/version (not an error).
    NotFound,
    /// Gave up: retries exhausted, breaker open, timeout, malformed answer...
    Failed {
        reason: String,
    },
}

/// One request outcome, for live progress.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestEvent {
    pub source: SourceKind,
    pub host: String,
    /// What the request was for (a package, `querybatch`, an advisory id).
    pub subject: String,
    pub duration: Duration,
    pub retries: u32,
    pub outcome: RequestOutcome,
}

/// Circuit breaker state of one host.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

/// Stages of a run, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    Inventory,
    Licenses,
    Vulnerabilities,
    Registry,
    Evaluate,
}

#[derive(Clone, Debug)]
pub enum EngineEvent {
    RunStarted {
        run: u64,
        target: String,
    },
    InventoryDone {
        packages: usize,
        issues: usize,
        elapsed: Duration,
    },
    StageStarted {
        stage: Stage,
        total: usize,
    },
    PackageChecked {
        name: String,
        version: String,
        status: PackageStatus,
    },
    Request(RequestEvent),
    Breaker {
        host: String,
        state: BreakerState,
    },
    Finding(Finding),
    Unknown(Unknown),
    /// The policy changed on disk and the coming run uses this one.
    PolicyReloaded(Box<crate::policy::Policy>),
    /// Something worth telling the user that is neither a finding nor an unknown
    /// (e.g. "Redis unreachable: shared cache skipped").
    Warning(String),
    Finished(Box<Report>),
    Failed(String),
}

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

/// `hits / lookups`, 0 when nothing was looked up.
fn hit_rate(hits: u64, lookups: u64) -> f64 {
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
    pub in_flight: u64,
    pub max_in_flight: u64,
    pub breaker_trips: u64,
}

/// The latest state of a run, published through `watch` for frame-rate rendering.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricsSnapshot {
    pub run: u64,
    pub packages_total: usize,
    pub packages_done: usize,
    pub elapsed: Duration,
    pub operations: BTreeMap<String, OperationStats>,
    pub cache: CacheCounters,
    pub network: NetworkCounters,
    pub breakers: BTreeMap<String, BreakerState>,
    pub finished: bool,
}

/// The sending side of the event channel, cloned into every task that reports.
#[derive(Clone, Debug)]
pub struct EventSink {
    sender: Option<mpsc::Sender<EngineEvent>>,
}

impl EventSink {
    pub fn new(sender: mpsc::Sender<EngineEvent>) -> Self {
        EventSink {
            sender: Some(sender),
        }
    }

    /// A sink that drops everything (tests, benchmarks).
    pub fn none() -> Self {
        EventSink { sender: None }
    }

    /// Send an event; waits when the channel is full (back-pressure), ignores a closed receiver.
    pub async fn emit(&self, event: EngineEvent) {
        if let Some(sender) = &self.sender {
            let _ = sender.send(event).await;
        }
    }

    /// Send without waiting, for synchronous contexts; drops the event only if the channel is
    /// full or closed.
    pub fn try_emit(&self, event: EngineEvent) {
        if let Some(sender) = &self.sender {
            let _ = sender.try_send(event);
        }
    }
}
