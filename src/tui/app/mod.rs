//! Dashboard state and its transitions. Pure: no terminal, no I/O. Engine events and metrics
//! snapshots come in through `apply_event`/`apply_metrics`; user actions through `update`, which
//! returns an `Intent` when the outside world must act (re-run, quit, write an exception).
//!
//! Three rooms around the one [`App`]: `store` holds what the run told us (events, metrics,
//! the report) and how it arrives; `view_state` holds what the user looks at (screens,
//! overlays, sorted and filtered rows); `update` turns user actions into state changes and
//! intents. This file has the struct and read access for the views.

mod store;
#[cfg(test)]
mod tests;
mod update;
mod view_state;

use store::LiveRun;
pub use store::{Health, PackageRow, Phase, SourceStats, VulnCount};
pub use update::Intent;
pub use view_state::{
    Detail, DetailSubject, Group, MessageKind, Overlay, PackagesView, Prompt, Screen, SortColumn,
    StatusFilter, StatusMessage, ViolationRow, ViolationsView, subject_package,
};

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::engine::events::{MetricsSnapshot, Stage};
use crate::model::{Finding, PackageReport, Report, Unknown, normalize_name};
use crate::policy::Policy;
use crate::telemetry::tracker::OperationStats;
use crate::telemetry::{BreakerState, CacheCounters, NetworkCounters, Regression};

use super::keymap::InputMode;

/// Dependency paths shown in a drill-down.
pub const MAX_PATHS: usize = 5;
/// Runs kept for the sparkline.
const HISTORY_LIMIT: usize = 120;
/// Non-finding warnings kept (the newest are shown).
const WARNINGS_LIMIT: usize = 50;

pub struct App {
    pub screen: Screen,
    pub overlays: Vec<Overlay>,
    pub packages_view: PackagesView,
    pub violations_view: ViolationsView,
    pub status: Option<StatusMessage>,
    pub log_file: Option<PathBuf>,
    /// Where exceptions are written.
    pub policy_path: Option<PathBuf>,
    pub policy: Policy,
    pub target: String,
    phase: Phase,
    live: LiveRun,
    /// The latest snapshot of the current run (`None` until one arrives).
    metrics: Option<MetricsSnapshot>,
    /// Metrics carried by the last finished report, for when no live snapshot exists.
    report_metrics: Option<MetricsSnapshot>,
    report: Option<Report>,
    rows: Vec<PackageRow>,
    warnings: Vec<String>,
    history: Vec<(String, f64)>,
    /// Recorded runs of every target (target, label, total ms) until the first report says
    /// which target this is; then `history` keeps that target's only.
    past_runs: Option<Vec<(String, String, f64)>>,
    regressions: Vec<Regression>,
    /// What the baseline comparison said, in words (from `metrics.baseline`).
    baseline_note: Option<String>,
    /// A re-run was asked for while a run was in progress (`Some(refresh)`).
    pending_rerun: Option<bool>,
    /// Watch mode: what changed on disk last, and when (`HH:MM:SS`, UTC).
    last_change: Option<(String, String)>,
    /// Wall clock of the run in progress, advanced by `tick`.
    clock: Duration,
    viewport: (u16, u16),
    /// Something changed since the last frame: redraw.
    dirty: bool,
}

impl App {
    pub fn new(target: impl Into<String>, policy: Policy) -> Self {
        App {
            screen: Screen::Overview,
            overlays: Vec::new(),
            packages_view: PackagesView {
                sort: SortColumn::Status,
                reverse: false,
                status_filter: StatusFilter::All,
                filter: String::new(),
                searching: false,
                selected: 0,
                offset: 0,
                visible: Vec::new(),
                anchor: None,
            },
            violations_view: ViolationsView::default(),
            status: None,
            log_file: None,
            policy_path: policy.path.clone(),
            policy,
            target: target.into(),
            phase: Phase::Starting,
            live: LiveRun::default(),
            metrics: None,
            report_metrics: None,
            report: None,
            rows: Vec::new(),
            warnings: Vec::new(),
            history: Vec::new(),
            past_runs: None,
            regressions: Vec::new(),
            baseline_note: None,
            pending_rerun: None,
            last_change: None,
            clock: Duration::ZERO,
            viewport: (80, 24),
            dirty: true,
        }
    }

    // ---- read access for the views -------------------------------------------------------

    pub fn phase(&self) -> &Phase {
        &self.phase
    }

    /// The run number being shown (0 before the first run started).
    pub fn run_number(&self) -> u64 {
        self.live
            .run
            .max(self.metrics.as_ref().map_or(0, |m| m.run))
    }

    pub fn report(&self) -> Option<&Report> {
        self.report.as_ref()
    }

    /// The last finished report, if any run finished.
    pub fn into_report(self) -> Option<Report> {
        self.report
    }

    /// The latest metrics: the live snapshot, else (once finished) the report's.
    pub fn metrics(&self) -> Option<&MetricsSnapshot> {
        match (&self.metrics, &self.phase) {
            (Some(m), _) => Some(m),
            (None, Phase::Finished(_)) => self.report_metrics.as_ref(),
            (None, _) => None,
        }
    }

    /// Packages (done, total), when anything is known about them.
    pub fn progress(&self) -> Option<(usize, usize)> {
        if let Some(m) = &self.metrics
            && m.packages_total > 0
        {
            return Some((m.packages_done.min(m.packages_total), m.packages_total));
        }
        if let Some((total, _)) = self.live.inventory {
            return Some((0, total));
        }
        match (&self.phase, &self.report) {
            (Phase::Finished(_), Some(r)) => Some((r.packages.len(), r.packages.len())),
            _ => None,
        }
    }

    pub fn stage(&self) -> Option<(Stage, usize)> {
        self.live.stage
    }

    pub fn inventory_issues(&self) -> Option<usize> {
        self.live.inventory.map(|(_, issues)| issues)
    }

    /// Wall time of the current (or last) run.
    pub fn elapsed(&self) -> Duration {
        let reported = self.metrics().map_or(Duration::ZERO, |m| m.elapsed);
        match self.phase {
            Phase::Running => reported.max(self.clock),
            _ => reported,
        }
    }

    pub fn sources(&self) -> &BTreeMap<String, SourceStats> {
        &self.live.sources
    }

    /// Breaker state per host: the snapshot's view, updated by breaker events.
    pub fn breakers(&self) -> BTreeMap<String, BreakerState> {
        let mut all = self
            .metrics()
            .map(|m| m.breakers.clone())
            .unwrap_or_default();
        all.extend(self.live.breakers.iter().map(|(h, s)| (h.clone(), *s)));
        all
    }

    pub fn network(&self) -> Option<&NetworkCounters> {
        self.metrics().map(|m| &m.network)
    }

    pub fn cache(&self) -> Option<&CacheCounters> {
        self.metrics().map(|m| &m.cache)
    }

    pub fn operations(&self) -> Option<&BTreeMap<String, OperationStats>> {
        self.metrics()
            .map(|m| &m.operations)
            .filter(|ops| !ops.is_empty())
    }

    /// Findings of the current run: known once it finished (events carry progress only).
    pub fn live_findings(&self) -> &[Finding] {
        match (&self.phase, &self.report) {
            (Phase::Finished(_), Some(r)) => &r.findings,
            _ => &[],
        }
    }

    pub fn live_unknowns(&self) -> &[Unknown] {
        match (&self.phase, &self.report) {
            (Phase::Finished(_), Some(r)) => &r.unknowns,
            _ => &[],
        }
    }

    /// True when the packages/violations screens show a finished report while a newer run is
    /// in progress.
    pub fn showing_previous_run(&self) -> bool {
        self.report.is_some() && !matches!(self.phase, Phase::Finished(_))
    }

    /// Findings behind the violations screen: the last finished report's, else the live ones.
    pub fn findings(&self) -> &[Finding] {
        self.report.as_ref().map_or(&[], |r| &r.findings)
    }

    pub fn unknowns(&self) -> &[Unknown] {
        self.report.as_ref().map_or(&[], |r| &r.unknowns)
    }

    /// Watch mode: what changed on disk last (descriptions joined), and when.
    pub fn last_change(&self) -> Option<(&str, &str)> {
        self.last_change
            .as_ref()
            .map(|(what, at)| (what.as_str(), at.as_str()))
    }

    pub fn rows(&self) -> &[PackageRow] {
        &self.rows
    }

    pub fn package(&self, name: &str) -> Option<&PackageReport> {
        let wanted = normalize_name(name);
        self.report
            .as_ref()?
            .packages
            .iter()
            .find(|p| p.normalized == wanted)
    }

    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    pub fn history(&self) -> &[(String, f64)] {
        &self.history
    }

    pub fn regressions(&self) -> &[Regression] {
        &self.regressions
    }

    pub fn baseline_note(&self) -> Option<&str> {
        self.baseline_note.as_deref()
    }

    pub fn pending_rerun(&self) -> Option<bool> {
        self.pending_rerun
    }

    pub fn input_mode(&self) -> InputMode {
        match self.overlays.last() {
            Some(Overlay::Prompt(_)) => InputMode::Text,
            Some(_) => InputMode::Normal,
            None if self.screen == Screen::Packages && self.packages_view.searching => {
                InputMode::Text
            }
            None => InputMode::Normal,
        }
    }

    /// Rows a page moves (the table height minus chrome, at least one).
    fn page(&self) -> usize {
        (self.viewport.1 as usize).saturating_sub(7).max(1)
    }

    /// True once since the last call if anything visible changed.
    pub fn take_dirty(&mut self) -> bool {
        std::mem::replace(&mut self.dirty, false)
    }

    // ---- configuration -------------------------------------------------------------------

    pub fn set_log_file(&mut self, path: Option<PathBuf>) {
        self.log_file = path;
        self.dirty = true;
    }

    /// Earlier runs' totals for the sparkline, oldest first: (label, total milliseconds).
    pub fn set_history(&mut self, history: Vec<(String, f64)>) {
        self.history = history;
        self.trim_history();
        self.dirty = true;
    }

    /// Recorded runs from the history file, oldest first: (target, label, total ms). The chart
    /// shows those of the target the first report names (and unlabelled old records).
    pub fn set_past_runs(&mut self, runs: Vec<(String, String, f64)>) {
        self.past_runs = Some(runs);
    }

    /// Keep the recorded runs of `target` in the chart (once, at the first report).
    pub(super) fn apply_past_runs(&mut self, target: &str) {
        if let Some(runs) = self.past_runs.take() {
            let mut history: Vec<(String, f64)> = runs
                .into_iter()
                .filter(|(t, _, _)| t.is_empty() || t == target)
                .map(|(_, label, total)| (label, total))
                .collect();
            history.append(&mut self.history);
            self.history = history;
            self.trim_history();
        }
    }

    pub fn set_viewport(&mut self, width: u16, height: u16) {
        self.viewport = (width, height);
        self.dirty = true;
    }

    pub fn set_status(&mut self, kind: MessageKind, text: impl Into<String>) {
        self.status = Some(StatusMessage {
            kind,
            text: text.into(),
        });
        self.dirty = true;
    }

    fn trim_history(&mut self) {
        let excess = self.history.len().saturating_sub(HISTORY_LIMIT);
        self.history.drain(..excess);
    }
}
