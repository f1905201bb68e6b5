//! The data store: what the engine told us about the run in progress and the last finished
//! report, as events, metrics snapshots and the report arrive.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::{Duration, Instant};

use crate::engine::events::{EngineEvent, MetricsSnapshot, Stage};
use crate::model::{
    Check, LicenseSource, Outcome, PackageReport, PackageStatus, Report, Unknown, normalize_name,
};
use crate::telemetry::{
    AttemptEvent, AttemptPhase, BreakerState, CacheCounters, Metrics, RequestEvent, RequestOutcome,
    SourceKind,
};

use super::view_state::paths_for;
use super::*;

/// Where the current run stands.
#[derive(Clone, Debug, PartialEq)]
pub enum Phase {
    /// Nothing heard from the engine yet.
    Starting,
    Running,
    Finished(Outcome),
    Failed(String),
}

/// Requests to one host during the current run.
#[derive(Clone, Debug, PartialEq)]
pub struct SourceStats {
    pub source: SourceKind,
    pub requests: u64,
    pub failures: u64,
    pub retries: u64,
    pub last_failure: Option<String>,
    /// Body bytes received.
    pub bytes: u64,
    /// Requests not finished yet, by subject (from attempt events, so a hanging host shows
    /// before any of its requests ends).
    pub pending: BTreeMap<String, Pending>,
}

/// Where an unfinished request stands.
#[derive(Clone, Debug, PartialEq)]
pub enum Pending {
    Queued,
    InFlight {
        since: Instant,
        attempt: u32,
        of: u32,
    },
    Retrying {
        attempt: u32,
        of: u32,
        at: Instant,
    },
}

/// A host's unfinished requests, summed up for the live view.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LiveHost {
    pub queued: usize,
    pub in_flight: usize,
    /// How long the oldest request in flight has been waiting.
    pub oldest: Option<Duration>,
    /// The retry due soonest: (attempt that failed, of, next try in).
    pub retry: Option<(u32, u32, Duration)>,
    pub retrying: usize,
}

impl SourceStats {
    fn new(source: SourceKind) -> Self {
        SourceStats {
            source,
            requests: 0,
            failures: 0,
            retries: 0,
            last_failure: None,
            bytes: 0,
            pending: BTreeMap::new(),
        }
    }

    /// The live state as of `now`.
    pub fn live(&self, now: Instant) -> LiveHost {
        let mut live = LiveHost::default();
        for pending in self.pending.values() {
            match pending {
                Pending::Queued => live.queued += 1,
                Pending::InFlight { since, .. } => {
                    live.in_flight += 1;
                    let age = now.saturating_duration_since(*since);
                    live.oldest = Some(live.oldest.map_or(age, |o| o.max(age)));
                }
                Pending::Retrying { attempt, of, at } => {
                    live.retrying += 1;
                    let wait = at.saturating_duration_since(now);
                    if live.retry.is_none_or(|(_, _, w)| wait < w) {
                        live.retry = Some((*attempt, *of, wait));
                    }
                }
            }
        }
        live
    }
}

/// Registry health of one package, worst last (for sorting).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Health {
    /// Not known yet (the run has not got that far).
    Pending,
    Ok,
    /// Registry facts missing (not checked, or the lookup failed).
    Unknown,
    Outdated(String),
    NotOnIndex,
    Yanked,
}

impl Health {
    pub fn of(package: &PackageReport) -> Health {
        let Some(registry) = &package.registry else {
            return Health::Unknown;
        };
        if registry.yanked {
            return Health::Yanked;
        }
        if !registry.on_index {
            return Health::NotOnIndex;
        }
        if let Some(latest) = &registry.latest_version {
            let newer = match (
                pep440_rs::Version::from_str(latest),
                pep440_rs::Version::from_str(&package.version),
            ) {
                (Ok(latest), Ok(installed)) => latest > installed,
                _ => latest != &package.version,
            };
            if newer {
                return Health::Outdated(latest.clone());
            }
        }
        Health::Ok
    }

    pub fn label(&self) -> &'static str {
        match self {
            Health::Pending => "…",
            Health::Ok => "ok",
            Health::Unknown => "?",
            Health::Outdated(_) => "outdated",
            Health::NotOnIndex => "not on index",
            Health::Yanked => "yanked",
        }
    }
}

/// One row of the packages table.
#[derive(Clone, Debug, PartialEq)]
pub struct PackageRow {
    pub name: String,
    pub normalized: String,
    pub version: String,
    pub license: Option<String>,
    pub license_source: Option<LicenseSource>,
    pub vulnerabilities: VulnCount,
    pub health: Health,
    pub status: PackageStatus,
    /// Why some of this package's data is unknown (`check: reason`), shown on selection.
    pub unknowns: Vec<String>,
}

/// The vulnerabilities cell: an unknown status is never shown as a count of zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum VulnCount {
    /// Not known yet (the run has not got that far).
    Pending,
    Known(usize),
    /// The lookup failed: the package may have advisories (sorts above every count).
    Unknown,
}

impl PackageRow {
    pub(super) fn from_report(p: &PackageReport, unknowns: &[Unknown]) -> Self {
        let mine: Vec<&Unknown> = unknowns
            .iter()
            .filter(|u| u.package.as_deref().map(normalize_name).as_deref() == Some(&p.normalized))
            .collect();
        let vulnerabilities = if mine.iter().any(|u| u.check == Check::Vulnerabilities) {
            VulnCount::Unknown
        } else {
            VulnCount::Known(p.vulnerabilities.len())
        };
        PackageRow {
            name: p.name.clone(),
            normalized: p.normalized.clone(),
            version: p.version.clone(),
            license: p.license.expression.clone(),
            license_source: Some(p.license.source.clone()),
            vulnerabilities,
            health: Health::of(p),
            status: p.status,
            unknowns: mine
                .iter()
                .map(|u| format!("{}: {}", u.check.as_str(), u.reason))
                .collect(),
        }
    }
}

/// What events have told us about the run in progress (or the last one).
#[derive(Clone, Debug, Default)]
pub(super) struct LiveRun {
    pub(super) run: u64,
    pub(super) inventory: Option<(usize, usize)>,
    pub(super) stage: Option<(Stage, usize)>,
    pub(super) sources: BTreeMap<String, SourceStats>,
    pub(super) breakers: BTreeMap<String, BreakerState>,
    pub(super) started: Option<Instant>,
}

impl App {
    // ---- engine input --------------------------------------------------------------------

    /// Advance the wall clock of a run in progress; marks the screen dirty only when the
    /// displayed tenth of a second changes.
    pub fn tick(&mut self, now: Instant) {
        if self.phase != Phase::Running {
            return;
        }
        if let Some(started) = self.live.started {
            let clock = now.saturating_duration_since(started);
            if clock.as_millis() / 100 != self.clock.as_millis() / 100 {
                self.dirty = true;
            }
            self.clock = clock;
        }
    }

    pub fn apply_metrics(&mut self, snapshot: MetricsSnapshot) {
        // The initial default snapshot (run 0) and stale ones from an earlier run say nothing.
        if snapshot.run == 0 || snapshot.run < self.live.run {
            return;
        }
        if self.metrics.as_ref() != Some(&snapshot) {
            self.metrics = Some(snapshot);
            self.dirty = true;
        }
    }

    pub fn apply_event(&mut self, event: EngineEvent) {
        self.dirty = true;
        match event {
            EngineEvent::InputsChanged { what, at } => {
                let shown = match what.as_slice() {
                    [one] => one.clone(),
                    [first, rest @ ..] => format!("{first} (+{} more)", rest.len()),
                    [] => "inputs changed".to_string(),
                };
                let clock = format!("{:02}:{:02}:{:02}", at.hour(), at.minute(), at.second());
                self.last_change = Some((shown, clock));
            }
            EngineEvent::PolicyReloaded(policy) => {
                // Drill-downs explain findings against the policy the run used.
                if policy.path.is_some() {
                    self.policy_path = policy.path.clone();
                }
                self.policy = *policy;
            }
            EngineEvent::RunStarted { run, target } => {
                // The engine knows the resolved target (e.g. the venv it found).
                if !target.is_empty() {
                    self.target = target;
                }
                self.live = LiveRun {
                    run,
                    started: Some(Instant::now()),
                    ..LiveRun::default()
                };
                self.clock = Duration::ZERO;
                self.metrics = self.metrics.take().filter(|m| m.run >= run);
                self.phase = Phase::Running;
                self.pending_rerun = None;
                if self.report.is_none() {
                    self.rebuild_rows();
                    self.rebuild_violations();
                }
            }
            EngineEvent::InventoryDone {
                packages, issues, ..
            } => {
                self.ensure_running();
                self.live.inventory = Some((packages, issues));
            }
            EngineEvent::StageStarted { stage, total } => {
                self.ensure_running();
                self.live.stage = Some((stage, total));
            }
            EngineEvent::Request(request) => {
                self.ensure_running();
                self.record_request(request);
            }
            EngineEvent::Attempt(attempt) => {
                self.ensure_running();
                self.record_attempt(attempt);
            }
            EngineEvent::Breaker { host, state } => {
                self.live.breakers.insert(host, state);
            }
            EngineEvent::Warning(text) => {
                self.warnings.push(text);
                let excess = self.warnings.len().saturating_sub(WARNINGS_LIMIT);
                self.warnings.drain(..excess);
            }
            EngineEvent::Finished(report) => self.finish(*report),
            EngineEvent::Failed(reason) => {
                self.phase = Phase::Failed(reason.to_string());
                self.pending_rerun = None;
            }
        }
    }

    /// Events of a run whose start we missed still mean a run is going on.
    pub(super) fn ensure_running(&mut self) {
        if self.phase == Phase::Starting {
            self.phase = Phase::Running;
        }
    }

    pub(super) fn record_request(&mut self, request: RequestEvent) {
        let stats = self
            .live
            .sources
            .entry(request.host.clone())
            .or_insert_with(|| SourceStats::new(request.source));
        stats.pending.remove(&request.subject);
        stats.bytes += request.bytes;
        stats.requests += 1;
        stats.retries += u64::from(request.retries);
        if let RequestOutcome::Failed { reason } = request.outcome {
            stats.failures += 1;
            stats.last_failure = Some(format!("{}: {reason}", request.subject));
        }
    }

    pub(super) fn record_attempt(&mut self, attempt: AttemptEvent) {
        let now = Instant::now();
        let pending = match attempt.phase {
            AttemptPhase::Queued => Pending::Queued,
            AttemptPhase::InFlight { attempt, of } => Pending::InFlight {
                since: now,
                attempt,
                of,
            },
            AttemptPhase::Retrying {
                attempt,
                of,
                retry_in,
                ..
            } => Pending::Retrying {
                attempt,
                of,
                at: now + retry_in,
            },
        };
        self.live
            .sources
            .entry(attempt.host)
            .or_insert_with(|| SourceStats::new(attempt.source))
            .pending
            .insert(attempt.subject, pending);
    }

    pub(super) fn finish(&mut self, report: Report) {
        let outcome = report.summary.outcome;
        self.regressions = report.metrics.regressions.clone();
        self.baseline_note = Some(report.metrics.baseline.describe());
        self.report_metrics = Some(metrics_from_report(&report.metrics, self.live.run));
        let total_ms = report.metrics.total_ms;
        let run = self.run_number();
        self.apply_past_runs(&report.target.path);
        self.history.push((format!("run {run}"), total_ms));
        self.trim_history();
        self.report = Some(report);
        self.phase = Phase::Finished(outcome);
        self.rebuild_rows();
        self.rebuild_violations();
        // An open drill-down keeps its subject but recomputes its paths from the new report.
        let packages: Vec<PackageReport> = self
            .report
            .as_ref()
            .map(|r| r.packages.clone())
            .unwrap_or_default();
        for overlay in &mut self.overlays {
            if let Overlay::Detail(detail) = overlay {
                detail.paths = paths_for(&packages, &detail.subject);
            }
        }
    }
}

/// A snapshot standing in for the live one once a run finished: the report's metrics.
pub(super) fn metrics_from_report(metrics: &Metrics, run: u64) -> MetricsSnapshot {
    MetricsSnapshot {
        run,
        operations: metrics.operations.clone(),
        cache: CacheCounters::from(&metrics.cache),
        network: metrics.network.clone(),
        elapsed: Duration::from_secs_f64(metrics.total_ms.max(0.0) / 1000.0),
        finished: true,
        ..MetricsSnapshot::default()
    }
}
