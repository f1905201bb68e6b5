//! What the engine tells its faces: discrete events over a bounded channel, and the latest
//! metrics snapshot over a `watch` channel. Plain data; no terminal code.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::model::Report;
use crate::telemetry::{
    self, AttemptEvent, BreakerState, CacheCounters, NetworkCounters, OperationStats, RequestEvent,
    TelemetryEvent,
};

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

#[derive(Debug)]
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
    /// A request is queued, sent, or waiting to retry (live per-host state).
    Attempt(AttemptEvent),
    Request(RequestEvent),
    Breaker {
        host: String,
        state: BreakerState,
    },
    /// Watch mode: inputs changed on disk (`what`, one description each) and the coming run
    /// re-checks because of them.
    InputsChanged {
        what: Vec<String>,
        at: time::OffsetDateTime,
    },
    /// The policy changed on disk and the coming run uses this one.
    PolicyReloaded(Box<crate::policy::Policy>),
    /// Something worth telling the user that is neither a finding nor an unknown
    /// (e.g. "Redis unreachable: shared cache skipped").
    Warning(String),
    Finished(Box<Report>),
    /// The run failed; the error keeps its type for the command layer to judge.
    Failed(Box<crate::error::Error>),
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

/// The engine's side of the event channel. Lower layers get it as a
/// [`telemetry::EventSink`] (`into()`), which forwards their
/// [`TelemetryEvent`]s into this stream.
#[derive(Clone, Debug)]
pub struct EventSink {
    sender: Option<mpsc::Sender<EngineEvent>>,
    /// Whether the lower layers' per-request events are wanted (see `EngineOptions`).
    requests: bool,
}

impl EventSink {
    pub fn new(sender: mpsc::Sender<EngineEvent>) -> Self {
        EventSink {
            sender: Some(sender),
            requests: true,
        }
    }

    /// The same sink without the lower layers' per-request events.
    pub fn without_requests(self) -> Self {
        EventSink {
            requests: false,
            ..self
        }
    }

    /// A sink that drops everything (tests, benchmarks).
    pub fn none() -> Self {
        EventSink {
            sender: None,
            requests: false,
        }
    }

    /// Send an event; waits when the channel is full (back-pressure), ignores a closed receiver.
    pub async fn emit(&self, event: EngineEvent) {
        if let Some(sender) = &self.sender {
            let _ = sender.send(event).await;
        }
    }
}

impl From<EventSink> for telemetry::EventSink {
    fn from(sink: EventSink) -> Self {
        match sink.sender {
            None => telemetry::EventSink::none(),
            Some(sender) if sink.requests => telemetry::EventSink::new(sender),
            Some(sender) => telemetry::EventSink::new(sender).without_requests(),
        }
    }
}

impl From<TelemetryEvent> for EngineEvent {
    fn from(event: TelemetryEvent) -> Self {
        match event {
            TelemetryEvent::Attempt(a) => EngineEvent::Attempt(a),
            TelemetryEvent::Request(r) => EngineEvent::Request(r),
            TelemetryEvent::Breaker { host, state } => EngineEvent::Breaker { host, state },
            TelemetryEvent::Warning(w) => EngineEvent::Warning(w),
        }
    }
}
