//! Dashboard state and its transitions. Pure: no terminal, no I/O. Engine events and metrics
//! snapshots come in through `apply_event`/`apply_metrics`; user actions through `update`, which
//! returns an `Intent` when the outside world must act (re-run, quit, write an exception).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::{Duration, Instant};

use crate::engine::events::{EngineEvent, MetricsSnapshot, Stage};
use crate::model::{
    Check, Finding, LicenseSource, Outcome, PackageReport, PackageStatus, Report, Severity,
    Unknown, normalize_name,
};
use crate::policy::Policy;
use crate::telemetry::tracker::OperationStats;
use crate::telemetry::{
    BreakerState, CacheCounters, Metrics, NetworkCounters, Regression, RequestEvent,
    RequestOutcome, SourceKind,
};

use super::action::Action;
use super::exceptions::{ExceptionKind, PolicyException, license_ids};
use super::keymap::InputMode;
use crate::analysis::dependency_paths;

/// Dependency paths shown in a drill-down.
pub const MAX_PATHS: usize = 5;
/// Runs kept for the sparkline.
const HISTORY_LIMIT: usize = 120;
/// Non-finding warnings kept (the newest are shown).
const WARNINGS_LIMIT: usize = 50;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Screen {
    Overview,
    Packages,
    Violations,
    Performance,
}

impl Screen {
    pub const ALL: [Screen; 4] = [
        Screen::Overview,
        Screen::Packages,
        Screen::Violations,
        Screen::Performance,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Screen::Overview => "Overview",
            Screen::Packages => "Packages",
            Screen::Violations => "Violations",
            Screen::Performance => "Performance",
        }
    }

    fn index(self) -> usize {
        Screen::ALL.iter().position(|s| *s == self).unwrap_or(0)
    }

    fn offset(self, by: isize) -> Screen {
        let n = Screen::ALL.len() as isize;
        Screen::ALL[(self.index() as isize + by).rem_euclid(n) as usize]
    }
}

/// What the outside world must do after an action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Intent {
    Rerun { refresh: bool },
    Quit,
    WriteException(PolicyException),
}

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
    /// `None` until known.
    pub vulnerabilities: Option<usize>,
    pub health: Health,
    pub status: PackageStatus,
}

impl PackageRow {
    fn from_report(p: &PackageReport) -> Self {
        PackageRow {
            name: p.name.clone(),
            normalized: p.normalized.clone(),
            version: p.version.clone(),
            license: p.license.expression.clone(),
            license_source: Some(p.license.source.clone()),
            vulnerabilities: Some(p.vulnerabilities.len()),
            health: Health::of(p),
            status: p.status,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortColumn {
    Status,
    Name,
    License,
    Vulnerabilities,
    Health,
}

impl SortColumn {
    fn next(self) -> SortColumn {
        match self {
            SortColumn::Status => SortColumn::Name,
            SortColumn::Name => SortColumn::License,
            SortColumn::License => SortColumn::Vulnerabilities,
            SortColumn::Vulnerabilities => SortColumn::Health,
            SortColumn::Health => SortColumn::Status,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            SortColumn::Status => "status",
            SortColumn::Name => "name",
            SortColumn::License => "license",
            SortColumn::Vulnerabilities => "vulns",
            SortColumn::Health => "health",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusFilter {
    All,
    Violations,
    Warnings,
    Unknown,
    Ok,
}

impl StatusFilter {
    fn next(self) -> StatusFilter {
        match self {
            StatusFilter::All => StatusFilter::Violations,
            StatusFilter::Violations => StatusFilter::Warnings,
            StatusFilter::Warnings => StatusFilter::Unknown,
            StatusFilter::Unknown => StatusFilter::Ok,
            StatusFilter::Ok => StatusFilter::All,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            StatusFilter::All => "all",
            StatusFilter::Violations => "violations",
            StatusFilter::Warnings => "warnings",
            StatusFilter::Unknown => "unknown",
            StatusFilter::Ok => "ok",
        }
    }

    fn admits(self, status: PackageStatus) -> bool {
        match self {
            StatusFilter::All => true,
            StatusFilter::Violations => status == PackageStatus::Violation,
            StatusFilter::Warnings => status == PackageStatus::Warning,
            StatusFilter::Unknown => status == PackageStatus::Unknown,
            StatusFilter::Ok => status == PackageStatus::Ok,
        }
    }
}

/// Groups of the violations screen, in display order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Group {
    Licenses,
    Packages,
    Vulnerabilities,
    Health,
    Other,
    Unknowns,
}

impl Group {
    fn of(check: Check) -> Group {
        match check {
            Check::Licenses => Group::Licenses,
            Check::Packages => Group::Packages,
            Check::Vulnerabilities => Group::Vulnerabilities,
            Check::Health => Group::Health,
            Check::Inventory | Check::Policy | Check::Performance => Group::Other,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Group::Licenses => "licenses",
            Group::Packages => "packages",
            Group::Vulnerabilities => "vulnerabilities",
            Group::Health => "health",
            Group::Other => "other",
            Group::Unknowns => "unknowns",
        }
    }
}

/// One line of the violations screen.
#[derive(Clone, Debug, PartialEq)]
pub enum ViolationRow {
    Group {
        group: Group,
        errors: usize,
        warnings: usize,
        notes: usize,
        /// Unknowns group only: how many fail the run.
        blocking: usize,
    },
    /// Index into `App::findings()`.
    Finding(usize),
    /// Index into `App::unknowns()`.
    Unknown(usize),
}

/// What a drill-down shows.
#[derive(Clone, Debug, PartialEq)]
pub enum DetailSubject {
    Finding(Finding),
    Unknown(Unknown),
    Package(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Detail {
    pub subject: DetailSubject,
    /// Why the package is installed (empty when unknown or not about a package).
    pub paths: Vec<Vec<String>>,
    pub scroll: u16,
}

/// The reason prompt before an exception is written.
#[derive(Clone, Debug, PartialEq)]
pub struct Prompt {
    pub exception: PolicyException,
    pub input: String,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Overlay {
    Help,
    Detail(Detail),
    Prompt(Prompt),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageKind {
    Info,
    Error,
}

/// A one-line message in the footer, cleared by the next key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusMessage {
    pub kind: MessageKind,
    pub text: String,
}

/// Packages screen state.
#[derive(Clone, Debug, PartialEq)]
pub struct PackagesView {
    pub sort: SortColumn,
    pub reverse: bool,
    pub status_filter: StatusFilter,
    pub filter: String,
    /// The search field has focus.
    pub searching: bool,
    /// Index into `visible`.
    pub selected: usize,
    pub offset: usize,
    /// Indices into `App::rows`, filtered and sorted.
    pub visible: Vec<usize>,
    /// The package the user last moved to: selected again whenever a filter or sort shows it,
    /// even after filters that hid it.
    anchor: Option<String>,
}

/// Violations screen state.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ViolationsView {
    pub rows: Vec<ViolationRow>,
    /// Indices into `rows` that can be selected (not group headers).
    pub selectable: Vec<usize>,
    /// Index into `selectable`.
    pub selected: usize,
    pub offset: usize,
}

/// What events have told us about the run in progress (or the last one).
#[derive(Clone, Debug, Default)]
struct LiveRun {
    run: u64,
    inventory: Option<(usize, usize)>,
    stage: Option<(Stage, usize)>,
    sources: BTreeMap<String, SourceStats>,
    breakers: BTreeMap<String, BreakerState>,
    started: Option<Instant>,
}

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
    regressions: Vec<Regression>,
    /// What the baseline comparison said, in words (from `metrics.baseline`).
    baseline_note: Option<String>,
    /// A re-run was asked for while a run was in progress (`Some(refresh)`).
    pending_rerun: Option<bool>,
    /// Wall clock of the run in progress, advanced by `tick`.
    clock: Duration,
    viewport: (u16, u16),
    /// Derived rows wait for `sync` after events, so a burst costs one rebuild.
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
            regressions: Vec::new(),
            baseline_note: None,
            pending_rerun: None,
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

    pub fn set_regressions(&mut self, regressions: Vec<Regression>) {
        self.regressions = regressions;
        self.dirty = true;
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
    fn ensure_running(&mut self) {
        if self.phase == Phase::Starting {
            self.phase = Phase::Running;
        }
    }

    fn record_request(&mut self, request: RequestEvent) {
        let stats = self
            .live
            .sources
            .entry(request.host.clone())
            .or_insert_with(|| SourceStats {
                source: request.source,
                requests: 0,
                failures: 0,
                retries: 0,
                last_failure: None,
            });
        stats.requests += 1;
        stats.retries += u64::from(request.retries);
        if let RequestOutcome::Failed { reason } = request.outcome {
            stats.failures += 1;
            stats.last_failure = Some(format!("{}: {reason}", request.subject));
        }
    }

    fn finish(&mut self, report: Report) {
        let outcome = report.summary.outcome;
        self.regressions = report.metrics.regressions.clone();
        self.baseline_note = Some(report.metrics.baseline.describe());
        self.report_metrics = Some(metrics_from_report(&report.metrics, self.live.run));
        let total_ms = report.metrics.total_ms;
        let run = self.run_number();
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

    // ---- derived rows --------------------------------------------------------------------

    fn rebuild_rows(&mut self) {
        self.rows = match &self.report {
            Some(r) => r.packages.iter().map(PackageRow::from_report).collect(),
            None => Vec::new(),
        };
        self.refilter();
    }

    /// Recompute the visible package rows, keeping the selected package selected if it is
    /// still visible.
    fn refilter(&mut self) {
        let view = &self.packages_view;
        let previously = view.anchor.clone().or_else(|| {
            view.visible
                .get(view.selected)
                .and_then(|&i| self.rows.get(i))
                .map(|r| r.normalized.clone())
        });
        let needle = view.filter.to_lowercase();
        let mut visible: Vec<usize> = self
            .rows
            .iter()
            .enumerate()
            .filter(|(_, r)| view.status_filter.admits(r.status))
            .filter(|(_, r)| {
                needle.is_empty()
                    || r.name.to_lowercase().contains(&needle)
                    || r.license
                        .as_deref()
                        .is_some_and(|l| l.to_lowercase().contains(&needle))
            })
            .map(|(i, _)| i)
            .collect();
        let rows = &self.rows;
        let sort = view.sort;
        visible.sort_by(|&a, &b| {
            let (a, b) = (&rows[a], &rows[b]);
            let primary = match sort {
                SortColumn::Name => std::cmp::Ordering::Equal,
                SortColumn::Status => b.status.cmp(&a.status),
                SortColumn::License => match (&a.license, &b.license) {
                    (Some(x), Some(y)) => x.to_lowercase().cmp(&y.to_lowercase()),
                    (Some(_), None) => std::cmp::Ordering::Less,
                    (None, Some(_)) => std::cmp::Ordering::Greater,
                    (None, None) => std::cmp::Ordering::Equal,
                },
                SortColumn::Vulnerabilities => b.vulnerabilities.cmp(&a.vulnerabilities),
                SortColumn::Health => b.health.cmp(&a.health),
            };
            primary.then_with(|| a.normalized.cmp(&b.normalized))
        });
        if view.reverse {
            visible.reverse();
        }
        let selected = previously
            .and_then(|name| {
                visible
                    .iter()
                    .position(|&i| self.rows[i].normalized == name)
            })
            .unwrap_or(self.packages_view.selected)
            .min(visible.len().saturating_sub(1));
        self.packages_view.visible = visible;
        self.packages_view.selected = selected;
        self.clamp_offset_packages();
    }

    fn rebuild_violations(&mut self) {
        let findings = self.findings();
        let unknowns = self.unknowns();
        let mut by_group: BTreeMap<Group, Vec<usize>> = BTreeMap::new();
        for (i, f) in findings.iter().enumerate() {
            by_group.entry(Group::of(f.check)).or_default().push(i);
        }
        let mut rows = Vec::new();
        for (group, mut members) in by_group {
            members.sort_by(|&a, &b| {
                let (a, b) = (&findings[a], &findings[b]);
                b.severity
                    .cmp(&a.severity)
                    .then_with(|| a.package.cmp(&b.package))
                    .then_with(|| a.code.cmp(&b.code))
            });
            let count = |s: Severity| {
                members
                    .iter()
                    .filter(|&&i| findings[i].severity == s)
                    .count()
            };
            rows.push(ViolationRow::Group {
                group,
                errors: count(Severity::Error),
                warnings: count(Severity::Warning),
                notes: count(Severity::Note),
                blocking: 0,
            });
            rows.extend(members.into_iter().map(ViolationRow::Finding));
        }
        if !unknowns.is_empty() {
            let mut members: Vec<usize> = (0..unknowns.len()).collect();
            members.sort_by(|&a, &b| {
                let (a, b) = (&unknowns[a], &unknowns[b]);
                b.fails_run
                    .cmp(&a.fails_run)
                    .then_with(|| a.package.cmp(&b.package))
                    .then_with(|| a.check.cmp(&b.check))
            });
            rows.push(ViolationRow::Group {
                group: Group::Unknowns,
                errors: 0,
                warnings: 0,
                notes: 0,
                blocking: unknowns.iter().filter(|u| u.fails_run).count(),
            });
            rows.extend(members.into_iter().map(ViolationRow::Unknown));
        }
        let view = &mut self.violations_view;
        view.selectable = rows
            .iter()
            .enumerate()
            .filter(|(_, r)| !matches!(r, ViolationRow::Group { .. }))
            .map(|(i, _)| i)
            .collect();
        view.rows = rows;
        view.selected = view.selected.min(view.selectable.len().saturating_sub(1));
        self.clamp_offset_violations();
    }

    fn clamp_offset_packages(&mut self) {
        let page = self.page();
        let view = &mut self.packages_view;
        view.offset = clamp_offset(view.offset, view.selected, page);
    }

    fn clamp_offset_violations(&mut self) {
        let page = self.page();
        let view = &mut self.violations_view;
        let row = view.selectable.get(view.selected).copied().unwrap_or(0);
        view.offset = clamp_offset(view.offset, row, page);
    }

    /// The selected row of the violations screen.
    pub fn selected_violation(&self) -> Option<&ViolationRow> {
        let view = &self.violations_view;
        view.rows.get(*view.selectable.get(view.selected)?)
    }

    /// The selected row of the packages screen.
    pub fn selected_package(&self) -> Option<&PackageRow> {
        let view = &self.packages_view;
        self.rows.get(*view.visible.get(view.selected)?)
    }

    // ---- exceptions ----------------------------------------------------------------------

    /// The exception that would permit `finding` (reason left empty), or why there is none.
    pub fn exception_for(&self, finding: &Finding) -> Result<PolicyException, String> {
        let package = finding
            .package
            .clone()
            .ok_or("this finding is not about one package")?;
        let kind = match finding.check {
            Check::Licenses => {
                let report = self
                    .package(&package)
                    .ok_or("the package's license is known once the run finishes")?;
                let expression = report.license.expression.as_deref().ok_or(
                    "the license is unresolved: fix the metadata or the resolution, an exception needs a license id",
                )?;
                let ids = license_ids(expression)
                    .filter(|ids| !ids.is_empty())
                    .ok_or_else(|| format!("`{expression}` is not an SPDX expression"))?;
                ExceptionKind::License { ids }
            }
            Check::Vulnerabilities => ExceptionKind::Vulnerability {
                id: finding
                    .advisory
                    .clone()
                    .ok_or("this finding names no advisory")?,
            },
            _ => return Err("exceptions exist for license and vulnerability findings".into()),
        };
        Ok(PolicyException {
            package,
            kind,
            reason: String::new(),
        })
    }

    // ---- user input ----------------------------------------------------------------------

    /// Apply a user action. Returns what the outside world must do, if anything.
    pub fn update(&mut self, action: Action) -> Option<Intent> {
        self.dirty = true;
        if let Action::Resize(w, h) = action {
            self.set_viewport(w, h);
            self.clamp_offset_packages();
            self.clamp_offset_violations();
            return None;
        }
        self.status = None;
        if action == Action::Quit {
            return Some(Intent::Quit);
        }
        if self.input_mode() == InputMode::Text {
            return self.update_text(action);
        }
        match self.overlays.last() {
            Some(Overlay::Help) => {
                if matches!(action, Action::Back | Action::ToggleHelp) {
                    self.overlays.pop();
                    return None;
                }
            }
            Some(Overlay::Detail(_)) => return self.update_detail(action),
            _ => {}
        }
        match action {
            Action::NextScreen => self.screen = self.screen.offset(1),
            Action::PrevScreen => self.screen = self.screen.offset(-1),
            Action::GoTo(screen) => self.screen = screen,
            Action::ToggleHelp => self.overlays.push(Overlay::Help),
            Action::Rerun => return Some(self.rerun(false)),
            Action::Refresh => return Some(self.rerun(true)),
            Action::Up => self.move_selection(-1),
            Action::Down => self.move_selection(1),
            Action::PageUp => self.move_selection(-(self.page() as isize)),
            Action::PageDown => self.move_selection(self.page() as isize),
            Action::Top => self.move_selection(isize::MIN / 2),
            Action::Bottom => self.move_selection(isize::MAX / 2),
            Action::StartSearch => {
                self.overlays.clear();
                self.screen = Screen::Packages;
                self.packages_view.searching = true;
            }
            Action::CycleSort if self.screen == Screen::Packages => {
                self.packages_view.sort = self.packages_view.sort.next();
                self.packages_view.reverse = false;
                self.refilter();
            }
            Action::ReverseSort if self.screen == Screen::Packages => {
                self.packages_view.reverse = !self.packages_view.reverse;
                self.refilter();
            }
            Action::CycleStatusFilter if self.screen == Screen::Packages => {
                self.packages_view.status_filter = self.packages_view.status_filter.next();
                self.refilter();
            }
            Action::Select => self.open_detail(),
            Action::Exception => {
                if let Some(ViolationRow::Finding(i)) = self
                    .selected_violation()
                    .filter(|_| self.screen == Screen::Violations)
                {
                    let finding = self.findings()[*i].clone();
                    self.start_prompt(&finding);
                } else {
                    self.set_status(
                        MessageKind::Info,
                        "select a license or vulnerability finding (Violations, 3) to write an exception",
                    );
                }
            }
            // Overlays were handled above: here Esc clears a kept search filter.
            Action::Back
                if self.screen == Screen::Packages && !self.packages_view.filter.is_empty() =>
            {
                self.packages_view.filter.clear();
                self.refilter();
            }
            _ => {}
        }
        None
    }

    fn rerun(&mut self, refresh: bool) -> Intent {
        if self.phase == Phase::Running {
            self.pending_rerun = Some(refresh);
        }
        let what = if refresh {
            "re-run with refresh"
        } else {
            "re-run"
        };
        let text = if self.phase == Phase::Running {
            format!("{what} queued: starts when this run finishes")
        } else {
            format!("{what} requested")
        };
        self.set_status(MessageKind::Info, text);
        Intent::Rerun { refresh }
    }

    fn update_text(&mut self, action: Action) -> Option<Intent> {
        if let Some(Overlay::Prompt(prompt)) = self.overlays.last_mut() {
            match action {
                Action::Input(c) => prompt.input.push(c),
                Action::Backspace => {
                    prompt.input.pop();
                }
                Action::Cancel => {
                    self.overlays.pop();
                }
                Action::Submit => {
                    let mut exception = prompt.exception.clone();
                    exception.reason = prompt.input.trim().to_string();
                    self.overlays.pop();
                    return Some(Intent::WriteException(exception));
                }
                _ => {}
            }
            return None;
        }
        let view = &mut self.packages_view;
        match action {
            Action::Input(c) => view.filter.push(c),
            Action::Backspace => {
                view.filter.pop();
            }
            Action::Submit => view.searching = false,
            Action::Cancel => {
                view.searching = false;
                view.filter.clear();
            }
            _ => return None,
        }
        self.refilter();
        None
    }

    fn update_detail(&mut self, action: Action) -> Option<Intent> {
        let page = self.page() as u16;
        let Some(Overlay::Detail(detail)) = self.overlays.last_mut() else {
            return None;
        };
        match action {
            Action::Back | Action::Select => {
                self.overlays.pop();
            }
            Action::Up => detail.scroll = detail.scroll.saturating_sub(1),
            Action::Down => detail.scroll = detail.scroll.saturating_add(1),
            Action::PageUp => detail.scroll = detail.scroll.saturating_sub(page),
            Action::PageDown => detail.scroll = detail.scroll.saturating_add(page),
            Action::Top => detail.scroll = 0,
            Action::ToggleHelp => self.overlays.push(Overlay::Help),
            Action::Exception => {
                if let DetailSubject::Finding(finding) = &detail.subject {
                    let finding = finding.clone();
                    self.start_prompt(&finding);
                } else {
                    self.set_status(
                        MessageKind::Info,
                        "exceptions are written for findings (Violations, 3)",
                    );
                }
            }
            Action::Rerun => return Some(self.rerun(false)),
            Action::Refresh => return Some(self.rerun(true)),
            _ => {}
        }
        None
    }

    fn start_prompt(&mut self, finding: &Finding) {
        match self.exception_for(finding) {
            Ok(exception) => self.overlays.push(Overlay::Prompt(Prompt {
                exception,
                input: String::new(),
            })),
            Err(why) => self.set_status(MessageKind::Error, format!("no exception: {why}")),
        }
    }

    fn move_selection(&mut self, by: isize) {
        let step = |current: usize, len: usize| -> usize {
            if len == 0 {
                return 0;
            }
            (current as isize)
                .saturating_add(by)
                .clamp(0, len as isize - 1) as usize
        };
        match self.screen {
            Screen::Packages => {
                let view = &mut self.packages_view;
                view.selected = step(view.selected, view.visible.len());
                view.anchor = view
                    .visible
                    .get(view.selected)
                    .and_then(|&i| self.rows.get(i))
                    .map(|r| r.normalized.clone());
                self.clamp_offset_packages();
            }
            Screen::Violations => {
                let view = &mut self.violations_view;
                view.selected = step(view.selected, view.selectable.len());
                self.clamp_offset_violations();
            }
            Screen::Overview | Screen::Performance => {}
        }
    }

    fn open_detail(&mut self) {
        let subject = match self.screen {
            Screen::Violations => match self.selected_violation() {
                Some(ViolationRow::Finding(i)) => {
                    DetailSubject::Finding(self.findings()[*i].clone())
                }
                Some(ViolationRow::Unknown(i)) => {
                    DetailSubject::Unknown(self.unknowns()[*i].clone())
                }
                _ => return,
            },
            Screen::Packages => match self.selected_package() {
                Some(row) => DetailSubject::Package(row.normalized.clone()),
                None => return,
            },
            Screen::Overview | Screen::Performance => return,
        };
        let packages = self.report.as_ref().map_or(&[][..], |r| &r.packages[..]);
        let paths = paths_for(packages, &subject);
        self.overlays.push(Overlay::Detail(Detail {
            subject,
            paths,
            scroll: 0,
        }));
    }
}

/// The package a drill-down subject is about, if any.
pub fn subject_package(subject: &DetailSubject) -> Option<&str> {
    match subject {
        DetailSubject::Finding(f) => f.package.as_deref(),
        DetailSubject::Unknown(u) => u.package.as_deref(),
        DetailSubject::Package(name) => Some(name),
    }
}

fn paths_for(packages: &[PackageReport], subject: &DetailSubject) -> Vec<Vec<String>> {
    subject_package(subject)
        .map(|name| dependency_paths(packages, name, MAX_PATHS))
        .unwrap_or_default()
}

/// Keep `selected` inside a window of `page` rows starting at the returned offset, moving the
/// window as little as possible (so the view does not jump while moving inside it).
fn clamp_offset(offset: usize, selected: usize, page: usize) -> usize {
    if selected < offset {
        selected
    } else if selected >= offset + page {
        selected + 1 - page
    } else {
        offset
    }
}

/// A snapshot standing in for the live one once a run finished: the report's metrics.
fn metrics_from_report(metrics: &Metrics, run: u64) -> MetricsSnapshot {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::keymap::action_for;
    use crate::tui::testdata;
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    /// Press a key the way the event loop does: keymap (mode-aware), then update.
    fn press(app: &mut App, code: KeyCode) -> Option<Intent> {
        let modifiers = match code {
            KeyCode::Char(c) if c.is_ascii_uppercase() => KeyModifiers::SHIFT,
            KeyCode::BackTab => KeyModifiers::SHIFT,
            _ => KeyModifiers::NONE,
        };
        let action = action_for(KeyEvent::new(code, modifiers), app.input_mode())?;
        app.update(action)
    }

    fn typed(app: &mut App, text: &str) {
        for c in text.chars() {
            press(app, KeyCode::Char(c));
        }
    }

    fn visible_names(app: &App) -> Vec<String> {
        app.packages_view
            .visible
            .iter()
            .map(|&i| app.rows()[i].normalized.clone())
            .collect()
    }

    #[test]
    fn tab_and_digits_switch_screens() {
        let mut app = testdata::finished_app(testdata::report());
        assert_eq!(app.screen, Screen::Overview);
        let mut seen = Vec::new();
        for _ in 0..4 {
            press(&mut app, KeyCode::Tab);
            seen.push(app.screen);
        }
        assert_eq!(
            seen,
            vec![
                Screen::Packages,
                Screen::Violations,
                Screen::Performance,
                Screen::Overview
            ]
        );
        press(&mut app, KeyCode::BackTab);
        assert_eq!(app.screen, Screen::Performance);
        press(&mut app, KeyCode::Char('3'));
        assert_eq!(app.screen, Screen::Violations);
    }

    #[test]
    fn quit_and_rerun_intents() {
        let mut app = testdata::finished_app(testdata::report());
        assert_eq!(
            press(&mut app, KeyCode::Char('r')),
            Some(Intent::Rerun { refresh: false })
        );
        assert_eq!(
            press(&mut app, KeyCode::Char('R')),
            Some(Intent::Rerun { refresh: true })
        );
        assert_eq!(press(&mut app, KeyCode::Char('q')), Some(Intent::Quit));
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(
            app.update(action_for(ctrl_c, app.input_mode()).unwrap()),
            Some(Intent::Quit)
        );
    }

    #[test]
    fn rerun_during_a_run_is_queued_until_the_next_run_starts() {
        let mut app = testdata::running_app();
        press(&mut app, KeyCode::Char('R'));
        assert_eq!(app.pending_rerun(), Some(true));
        assert!(app.status.as_ref().unwrap().text.contains("queued"));
        app.apply_event(EngineEvent::Finished(Box::new(testdata::report())));
        app.apply_event(EngineEvent::RunStarted {
            run: 2,
            target: "/project/.venv".into(),
        });
        assert_eq!(app.pending_rerun(), None);
        assert_eq!(app.phase(), &Phase::Running);
        // The finished report stays on the packages screen while run 2 goes on.
        assert!(app.showing_previous_run());
        assert_eq!(app.rows().len(), testdata::packages().len());
    }

    #[test]
    fn slash_searches_and_typed_characters_filter() {
        let mut app = testdata::finished_app(testdata::report());
        press(&mut app, KeyCode::Char('/'));
        assert_eq!(app.screen, Screen::Packages);
        assert_eq!(app.input_mode(), InputMode::Text);
        // In search mode, letters are text, not commands: q does not quit.
        typed(&mut app, "url");
        assert_eq!(visible_names(&app), vec!["urllib3"]);
        press(&mut app, KeyCode::Backspace);
        press(&mut app, KeyCode::Backspace);
        assert!(visible_names(&app).contains(&"requests".to_string()));
        typed(&mut app, "rl");
        press(&mut app, KeyCode::Enter);
        assert_eq!(app.input_mode(), InputMode::Normal);
        assert_eq!(
            visible_names(&app),
            vec!["urllib3"],
            "Enter keeps the filter"
        );
        // Esc in normal mode clears a kept filter.
        press(&mut app, KeyCode::Esc);
        assert_eq!(visible_names(&app).len(), testdata::packages().len());

        // Esc while typing clears and leaves search.
        press(&mut app, KeyCode::Char('/'));
        typed(&mut app, "mit");
        let by_license = visible_names(&app);
        assert!(!by_license.contains(&"idna".to_string()));
        assert!(
            by_license.contains(&"six".to_string()),
            "license text matches"
        );
        press(&mut app, KeyCode::Esc);
        assert_eq!(app.input_mode(), InputMode::Normal);
        assert!(app.packages_view.filter.is_empty());
        assert_eq!(press(&mut app, KeyCode::Char('q')), Some(Intent::Quit));
    }

    #[test]
    fn status_filter_sort_and_selection_follow_the_package() {
        let mut app = testdata::finished_app(testdata::report());
        press(&mut app, KeyCode::Char('2'));
        press(&mut app, KeyCode::Char('f'));
        assert_eq!(app.packages_view.status_filter, StatusFilter::Violations);
        assert_eq!(
            visible_names(&app),
            vec!["gpl-widget", "pycrypto", "urllib3"]
        );
        press(&mut app, KeyCode::Char('j'));
        assert_eq!(app.selected_package().unwrap().name, "pycrypto");
        // Showing everything again keeps pycrypto selected, wherever it now is.
        for _ in 0..4 {
            press(&mut app, KeyCode::Char('f'));
        }
        assert_eq!(app.packages_view.status_filter, StatusFilter::All);
        assert_eq!(app.selected_package().unwrap().name, "pycrypto");
        press(&mut app, KeyCode::Char('s')); // name
        assert_eq!(visible_names(&app)[0], "boto3");
        press(&mut app, KeyCode::Char('s')); // license
        assert_eq!(
            visible_names(&app)[0],
            "boto3",
            "Apache-2.0 first, then name"
        );
        assert_eq!(
            app.rows()[app.packages_view.visible.last().copied().unwrap()].name,
            "mystery-lib"
        );
        press(&mut app, KeyCode::Char('s')); // vulns
        assert_eq!(visible_names(&app)[0], "urllib3");
        press(&mut app, KeyCode::Char('S'));
        assert_eq!(visible_names(&app).last().unwrap(), "urllib3");
        press(&mut app, KeyCode::End);
        assert_eq!(
            app.packages_view.selected,
            app.packages_view.visible.len() - 1
        );
        press(&mut app, KeyCode::Home);
        assert_eq!(app.packages_view.selected, 0);
        press(&mut app, KeyCode::PageDown);
        assert!(app.packages_view.selected > 1);
    }

    #[test]
    fn enter_on_a_violation_opens_its_drill_down_and_esc_closes_it() {
        let mut app = testdata::finished_app(testdata::report());
        press(&mut app, KeyCode::Char('3'));
        // Group headers are skipped: the first selectable row is the first finding.
        assert!(matches!(
            app.selected_violation(),
            Some(ViolationRow::Finding(_))
        ));
        press(&mut app, KeyCode::Char('j'));
        press(&mut app, KeyCode::Char('j'));
        press(&mut app, KeyCode::Enter);
        let Some(Overlay::Detail(detail)) = app.overlays.last() else {
            panic!("no drill-down: {:?}", app.overlays);
        };
        let DetailSubject::Finding(finding) = &detail.subject else {
            panic!("{:?}", detail.subject);
        };
        assert_eq!(finding.package.as_deref(), Some("pycrypto"));
        assert_eq!(detail.paths, vec![vec!["pycrypto".to_string()]]);
        // Keys scroll the drill-down, not the list underneath.
        press(&mut app, KeyCode::Char('j'));
        assert_eq!(app.violations_view.selected, 2);
        press(&mut app, KeyCode::Esc);
        assert!(app.overlays.is_empty());
    }

    #[test]
    fn exception_prompt_yields_a_write_intent_with_the_reason() {
        let mut app = testdata::finished_app(testdata::report());
        press(&mut app, KeyCode::Char('3'));
        press(&mut app, KeyCode::Char('e'));
        assert_eq!(app.input_mode(), InputMode::Text);
        typed(&mut app, "legal ok'd ");
        let intent = press(&mut app, KeyCode::Enter);
        assert_eq!(
            intent,
            Some(Intent::WriteException(PolicyException {
                package: "gpl-widget".into(),
                kind: ExceptionKind::License {
                    ids: vec!["GPL-3.0-only".into()]
                },
                reason: "legal ok'd".into(),
            }))
        );
        assert!(app.overlays.is_empty());

        // From a vulnerability drill-down: an ignore for that advisory; Esc cancels.
        press(&mut app, KeyCode::Char('j'));
        press(&mut app, KeyCode::Char('j'));
        press(&mut app, KeyCode::Char('j'));
        press(&mut app, KeyCode::Enter);
        press(&mut app, KeyCode::Char('e'));
        let Some(Overlay::Prompt(prompt)) = app.overlays.last() else {
            panic!("{:?}", app.overlays);
        };
        assert_eq!(
            prompt.exception.kind,
            ExceptionKind::Vulnerability {
                id: "GHSA-v845-jxx5-vc9f".into()
            }
        );
        press(&mut app, KeyCode::Esc);
        assert!(matches!(app.overlays.last(), Some(Overlay::Detail(_))));

        // Findings that cannot be excepted say why instead.
        let unknown_license = &testdata::findings()[1];
        let err = app.exception_for(unknown_license).unwrap_err();
        assert!(err.contains("unresolved"), "{err}");
        let denied_package = &testdata::findings()[4];
        assert!(app.exception_for(denied_package).is_err());
    }

    #[test]
    fn stale_and_initial_metrics_are_ignored() {
        let mut app = testdata::new_app();
        app.apply_metrics(MetricsSnapshot::default());
        assert!(app.metrics().is_none());
        app.apply_event(EngineEvent::RunStarted {
            run: 2,
            target: "/venv".into(),
        });
        app.apply_metrics(testdata::snapshot(1, 10, 10));
        assert!(
            app.metrics().is_none(),
            "a snapshot of run 1 says nothing about run 2"
        );
        app.apply_metrics(testdata::snapshot(2, 3, 10));
        assert_eq!(app.progress(), Some((3, 10)));
        assert!(app.take_dirty());
        app.apply_metrics(testdata::snapshot(2, 3, 10));
        assert!(!app.take_dirty(), "an identical snapshot needs no redraw");
    }

    #[test]
    fn report_metrics_stand_in_when_no_snapshot_arrived() {
        let mut report = testdata::clean_report();
        // The layout `perf::finish_report` writes, as JSON: a report read back is typed.
        report.metrics = serde_json::from_value(serde_json::json!({
            "total_ms": 1500.0,
            "operations": { "http.osv": {
                "count": 2, "total_ms": 30.0, "mean_ms": 15.0, "min_ms": 10.0,
                "p50_ms": 10.0, "p95_ms": 20.0, "p99_ms": 20.0, "max_ms": 20.0 } },
            "cache": { "enabled": true, "state": "warm", "lookups": 8, "hits": 6,
                "hit_rate": 0.75, "stale_served": 0,
                "levels": { "file": { "lookups": 8, "hits": 6, "misses": 2, "writes": 0,
                    "bytes_read": 0, "bytes_written": 0, "corrupt_repaired": 0, "errors": 0,
                    "hit_rate": 0.75 } } },
            "network": { "requests": 2, "retries": 0, "failures": 0, "bytes": 10,
                "in_flight": 0, "max_in_flight": 1, "breaker_trips": 0 },
            "baseline": { "verdict": "not-recorded" },
            "regressions": []
        }))
        .unwrap();
        let mut app = testdata::new_app();
        app.apply_event(EngineEvent::Finished(Box::new(report)));
        let cache = app.cache().expect("cache counters from the report");
        assert_eq!((cache.hits, cache.lookups), (6, 8));
        assert_eq!(cache.levels["file"].hits, 6);
        assert_eq!(app.operations().unwrap()["http.osv"].p95_ms, 20.0);
        assert_eq!(app.elapsed(), Duration::from_millis(1500));
        assert!(app.baseline_note().unwrap().contains("history is off"));
    }

    #[test]
    fn health_compares_versions_by_pep440() {
        let mut p = testdata::package("x", "1.10.0");
        p.registry.as_mut().unwrap().latest_version = Some("1.9.0".into());
        assert_eq!(Health::of(&p), Health::Ok);
        p.registry.as_mut().unwrap().latest_version = Some("1.10.1".into());
        assert_eq!(Health::of(&p), Health::Outdated("1.10.1".into()));
        p.registry = None;
        assert_eq!(Health::of(&p), Health::Unknown);
    }
}
