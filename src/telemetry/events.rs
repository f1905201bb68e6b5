//! Events the lower layers report while they work, and the sink they report through.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

/// Which remote source a request went to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    /// The index's JSON API (`/pypi/...`).
    Pypi,
    /// The index's Simple API (`/simple/...`, PEP 503/691).
    PypiSimple,
    Osv,
    /// A release's core metadata file (PEP 658/714, `<file-url>.metadata`).
    CoreMetadata,
    /// Ranges of a wheel (its license files, read as pip's lazy wheel reads).
    Wheel,
}

impl SourceKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            SourceKind::Pypi => "pypi",
            SourceKind::PypiSimple => "pypi-simple",
            SourceKind::Osv => "osv",
            SourceKind::CoreMetadata => "core-metadata",
            SourceKind::Wheel => "wheel",
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
    /// Body bytes received over all attempts.
    #[serde(default)]
    pub bytes: u64,
}

/// Where one request stands while it is not finished, for the live per-host view: a hanging
/// host shows as requests in flight for long, before any of them ends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AttemptPhase {
    /// Waiting for a connection slot (the concurrency bound).
    Queued,
    /// Sent; `attempt` of `of` (1-based).
    InFlight { attempt: u32, of: u32 },
    /// Attempt `attempt` of `of` failed (`reason`); the next starts after `retry_in`.
    Retrying {
        attempt: u32,
        of: u32,
        retry_in: Duration,
        reason: String,
    },
}

/// A request changed phase; its end is a [`RequestEvent`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptEvent {
    pub source: SourceKind,
    pub host: String,
    pub subject: String,
    pub phase: AttemptPhase,
}

/// Circuit breaker state of one host.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

/// What a lower layer reports while it works.
#[derive(Clone, Debug, PartialEq)]
pub enum TelemetryEvent {
    Attempt(AttemptEvent),
    Request(RequestEvent),
    Breaker {
        host: String,
        state: BreakerState,
    },
    /// Worth telling the user, neither a finding nor an unknown (e.g. "Redis unreachable").
    Warning(String),
}

/// Where events go: any channel whose item can be made from a [`TelemetryEvent`] (the engine's
/// own event type, or `TelemetryEvent` itself), so the reporting layer never names its listener.
trait Forward: Send + Sync {
    fn send(&self, event: TelemetryEvent) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

impl<E: From<TelemetryEvent> + Send + 'static> Forward for mpsc::Sender<E> {
    fn send(&self, event: TelemetryEvent) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            let _ = mpsc::Sender::send(self, E::from(event)).await;
        })
    }
}

/// The sending side of an event channel, cloned into every task that reports.
#[derive(Clone, Default)]
pub struct EventSink {
    forward: Option<Arc<dyn Forward>>,
    /// Whether [`TelemetryEvent::Attempt`] and [`TelemetryEvent::Request`] are forwarded: a
    /// listener that shows no requests is not woken ~3 times per request (a headless check
    /// sent ~500 such events through its channel on a 165-request run).
    requests: bool,
}

impl fmt::Debug for EventSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventSink")
            .field("connected", &self.forward.is_some())
            .finish()
    }
}

impl EventSink {
    pub fn new<E: From<TelemetryEvent> + Send + 'static>(sender: mpsc::Sender<E>) -> Self {
        EventSink {
            forward: Some(Arc::new(sender)),
            requests: true,
        }
    }

    /// A sink that drops everything (tests, benchmarks).
    pub fn none() -> Self {
        EventSink::default()
    }

    /// The same sink without the per-request events (attempts and requests).
    pub fn without_requests(self) -> Self {
        EventSink {
            requests: false,
            ..self
        }
    }

    /// Whether per-request events go anywhere: when not, they need not even be made.
    pub fn wants_requests(&self) -> bool {
        self.forward.is_some() && self.requests
    }

    /// Send an event; waits when the channel is full (back-pressure), ignores a closed receiver.
    pub async fn emit(&self, event: TelemetryEvent) {
        let per_request = matches!(
            event,
            TelemetryEvent::Attempt(_) | TelemetryEvent::Request(_)
        );
        if per_request && !self.requests {
            return;
        }
        if let Some(forward) = &self.forward {
            forward.send(event).await;
        }
    }
}
