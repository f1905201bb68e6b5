//! View state: screens, overlays, drill-downs and the sorted, filtered rows each screen shows.

use std::collections::BTreeMap;

use crate::model::{Check, Finding, PackageReport, PackageStatus, Severity, Unknown};

use super::*;
use crate::analysis::dependency_paths;
use crate::tui::exceptions::PolicyException;

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

    pub(super) fn index(self) -> usize {
        Screen::ALL.iter().position(|s| *s == self).unwrap_or(0)
    }

    pub(super) fn offset(self, by: isize) -> Screen {
        let n = Screen::ALL.len() as isize;
        Screen::ALL[(self.index() as isize + by).rem_euclid(n) as usize]
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
    pub(super) fn next(self) -> SortColumn {
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
    pub(super) fn next(self) -> StatusFilter {
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

    pub(super) fn admits(self, status: PackageStatus) -> bool {
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
    pub(super) fn of(check: Check) -> Group {
        match check {
            Check::Licenses => Group::Licenses,
            Check::Packages => Group::Packages,
            Check::Vulnerabilities => Group::Vulnerabilities,
            Check::Health => Group::Health,
            Check::Inventory | Check::Performance => Group::Other,
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
    pub(super) anchor: Option<String>,
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

impl App {
    // ---- derived rows --------------------------------------------------------------------

    pub(super) fn rebuild_rows(&mut self) {
        self.rows = match &self.report {
            Some(r) => r
                .packages
                .iter()
                .map(|p| PackageRow::from_report(p, &r.unknowns))
                .collect(),
            None => Vec::new(),
        };
        self.refilter();
    }

    /// Recompute the visible package rows, keeping the selected package selected if it is
    /// still visible.
    pub(super) fn refilter(&mut self) {
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

    pub(super) fn rebuild_violations(&mut self) {
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
                    .then_with(|| by_name(&a.package, &b.package))
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
                    .then_with(|| by_name(&a.package, &b.package))
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

    pub(super) fn clamp_offset_packages(&mut self) {
        let page = self.page();
        let view = &mut self.packages_view;
        view.offset = clamp_offset(view.offset, view.selected, page);
    }

    pub(super) fn clamp_offset_violations(&mut self) {
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
}

/// The package a drill-down subject is about, if any.
pub fn subject_package(subject: &DetailSubject) -> Option<&str> {
    match subject {
        DetailSubject::Finding(f) => f.package.as_deref(),
        DetailSubject::Unknown(u) => u.package.as_deref(),
        DetailSubject::Package(name) => Some(name),
    }
}

pub(super) fn paths_for(packages: &[PackageReport], subject: &DetailSubject) -> Vec<Vec<String>> {
    subject_package(subject)
        .map(|name| dependency_paths(packages, name, MAX_PATHS))
        .unwrap_or_default()
}

/// Keep `selected` inside a window of `page` rows starting at the returned offset, moving the
/// window as little as possible (so the view does not jump while moving inside it).
pub(super) fn clamp_offset(offset: usize, selected: usize, page: usize) -> usize {
    if selected < offset {
        selected
    } else if selected >= offset + page {
        selected + 1 - page
    } else {
        offset
    }
}

/// Package names in order as people read them: case-insensitive (PEP 503 normalised), so
/// `Django` sorts among the d's, not before every lower-case name.
pub(super) fn by_name(a: &Option<String>, b: &Option<String>) -> std::cmp::Ordering {
    let key = |n: &Option<String>| n.as_deref().map(crate::model::normalize_name);
    key(a).cmp(&key(b))
}
