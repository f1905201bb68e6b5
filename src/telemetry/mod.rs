//! Telemetry: the vocabulary every layer uses to say what it did — request and breaker events,
//! cache and network counters, source kinds, and the per-operation timing tracker.
//!
//! It sits at the bottom of the crate (it imports nothing from it), so `sources`, `cache`,
//! `inventory` and `perf` report without knowing who listens: the engine forwards these events
//! into its own stream, tests and benchmarks read them directly.

pub mod counters;
pub mod events;
pub mod metrics;
pub mod tracker;

pub use counters::{CacheCounters, LevelCounters, NetworkCounters, hit_rate};
pub use events::{
    AttemptEvent, AttemptPhase, BreakerState, EventSink, RequestEvent, RequestOutcome, SourceKind,
    TelemetryEvent,
};
pub use metrics::{
    BaselineVerdict, CacheMetrics, CacheState, LevelMetrics, Metrics, RegressedMetric, Regression,
};
pub use tracker::{Milestone, OperationStats, Tracker};
