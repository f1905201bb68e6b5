//! Live request state for the dashboard: one request's way through the HTTP client (queued,
//! in flight, waiting to retry) as telemetry events, so a hanging host shows before any of its
//! requests ends.

use std::time::Duration;

use crate::telemetry::{AttemptEvent, AttemptPhase, EventSink, SourceKind, TelemetryEvent};

/// One request's announcer: where it is, `of` attempts at most.
pub(super) struct LiveRequest<'a> {
    events: &'a EventSink,
    source: SourceKind,
    host: &'a str,
    subject: &'a str,
    of: u32,
}

impl<'a> LiveRequest<'a> {
    /// A request allowed `retries` retries.
    pub fn new(
        events: &'a EventSink,
        source: SourceKind,
        host: &'a str,
        subject: &'a str,
        retries: u32,
    ) -> Self {
        LiveRequest {
            events,
            source,
            host,
            subject,
            of: retries + 1,
        }
    }

    async fn emit(&self, phase: AttemptPhase) {
        if !self.events.wants_requests() {
            return;
        }
        self.events
            .emit(TelemetryEvent::Attempt(AttemptEvent {
                source: self.source,
                host: self.host.to_string(),
                subject: self.subject.to_string(),
                phase,
            }))
            .await;
    }

    /// Waiting for a connection slot.
    pub async fn queued(&self) {
        self.emit(AttemptPhase::Queued).await;
    }

    /// Attempt `attempt` (1-based) is being sent.
    pub async fn in_flight(&self, attempt: u32) {
        let of = self.of;
        self.emit(AttemptPhase::InFlight { attempt, of }).await;
    }

    /// Attempt `attempt` failed for `reason`; the next starts after `retry_in`.
    pub async fn retrying(&self, attempt: u32, retry_in: Duration, reason: String) {
        let of = self.of;
        let phase = AttemptPhase::Retrying {
            attempt,
            of,
            retry_in,
            reason,
        };
        self.emit(phase).await;
    }
}
