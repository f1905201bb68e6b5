//! Drill-down of a finding, an unknown or a package, and the exception reason prompt.
//!
//! ```text
//! ╭ gpl-widget 0.4.1 · license-denied ──────────────────────────────────────────╮
//! │ GPL-3.0-only is denied by policy                                            │
//! │                                                                             │
//! │ License     GPL-3.0-only                                                    │
//! │ Source      License field — License: GPLv3                                  │
//! │ Notes       classifier says GPLv2+; License field wins                      │
//! │ Rule        licenses.deny — denied: GPL-3.0-only                            │
//! │ Why here    report-kit → gpl-widget                                         │
//! │ Exception   e appends to /project/depdash.toml:                             │
//! │               [[licenses.exceptions]]                                       │
//! │               name = "gpl-widget"                                           │
//! ╰──────────────────────────────────────────────── lines 1–20 of 24 ───────────╯
//! ```

use ratatui::Frame;
use ratatui::layout::{Margin, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::model::{Check, Finding, PackageReport, Severity, Unknown};

use super::super::app::{App, Detail, DetailSubject, Health, Prompt, PromptField};
use super::super::exceptions::{ExceptionKind, PolicyException};
use super::super::theme::Theme;
use super::violations::severity_marker;
use super::{centered, panel, popup, wrap};
use crate::analysis::upgrade_advice;

/// Width of the label column.
const LABEL: usize = 12;

/// Lines of a drill-down, wrapped to a width.
struct Sheet<'t> {
    lines: Vec<Line<'static>>,
    width: usize,
    theme: &'t Theme,
}

impl<'t> Sheet<'t> {
    fn new(width: usize, theme: &'t Theme) -> Self {
        Sheet {
            lines: Vec::new(),
            width,
            theme,
        }
    }

    fn blank(&mut self) {
        self.lines.push(Line::raw(""));
    }

    fn text(&mut self, text: &str, style: Style) {
        for line in wrap(text, self.width) {
            self.lines.push(Line::styled(line, style));
        }
    }

    /// `Label       value`, the value wrapped with a hanging indent.
    fn field(&mut self, label: &str, value: &str, style: Style) {
        let room = self.width.saturating_sub(LABEL).max(10);
        for (i, line) in wrap(value, room).into_iter().enumerate() {
            let head = if i == 0 {
                format!("{label:<LABEL$}")
            } else {
                " ".repeat(LABEL)
            };
            self.lines.push(Line::from(vec![
                Span::styled(head, self.theme.muted()),
                Span::styled(line, style),
            ]));
        }
    }

    /// Several values under one label, one per line.
    fn list(&mut self, label: &str, values: &[String], style: Style) {
        for (i, value) in values.iter().enumerate() {
            self.field(if i == 0 { label } else { "" }, value, style);
        }
    }

    /// A block of code (TOML), indented under the label column, never wrapped.
    fn code(&mut self, text: &str) {
        for line in text.lines() {
            self.lines.push(Line::from(vec![
                Span::raw(" ".repeat(LABEL + 2)),
                Span::styled(line.to_string(), self.theme.accent()),
            ]));
        }
    }
}

fn severity_word(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "violation",
        Severity::Warning => "warning",
        Severity::Note => "note",
    }
}

fn license_section(sheet: &mut Sheet, package: &PackageReport) {
    let theme = sheet.theme;
    let license = &package.license;
    match &license.expression {
        Some(expression) => sheet.field("License", expression, theme.text()),
        None => sheet.field("License", "unresolved", theme.unknown()),
    }
    let mut source = license.source.label().to_string();
    if let Some(evidence) = &license.evidence {
        source.push_str(&format!(" — {evidence}"));
    }
    sheet.field("Source", &source, theme.text());
    if let Some(reason) = &license.unknown_reason {
        sheet.field("Why unknown", reason, theme.unknown());
    }
    sheet.list("Notes", &license.notes, theme.warning());
}

fn vulnerability_section(sheet: &mut Sheet, package: &PackageReport, advisory: &str) {
    let theme = sheet.theme;
    let Some(v) = package
        .vulnerabilities
        .iter()
        .find(|v| v.id == advisory || v.aliases.iter().any(|a| a == advisory))
    else {
        sheet.field("Advisory", advisory, theme.text());
        return;
    };
    let mut id = v.id.clone();
    if !v.aliases.is_empty() {
        id.push_str(&format!("  ({})", v.aliases.join(", ")));
    }
    sheet.field("Advisory", &id, theme.violation());
    sheet.field("Summary", &v.summary, theme.text());
    let severities: Vec<String> = v
        .severity
        .iter()
        .map(|s| match s.score {
            Some(score) => format!("{} {score:.1} · {}", s.kind, s.vector),
            None => format!("{} · {}", s.kind, s.vector),
        })
        .collect();
    if severities.is_empty() {
        sheet.field("Severity", "not scored", theme.muted());
    } else {
        sheet.list("Severity", &severities, theme.text());
    }
    if v.fixed_in.is_empty() {
        sheet.field("Fixed in", "no fixed version published", theme.warning());
    } else {
        sheet.field("Fixed in", &v.fixed_in.join(", "), theme.text());
    }
    if let Some(modified) = &v.modified {
        sheet.field("Modified", modified, theme.muted());
    }
    if let Some((text, fixable)) = upgrade_advice(package) {
        let style = if fixable { theme.ok() } else { theme.warning() };
        sheet.field("Upgrade", &text, style);
    }
}

fn paths_section(sheet: &mut Sheet, app: &App, detail: &Detail, package: Option<&str>) {
    let theme = sheet.theme;
    let Some(name) = package else { return };
    if app.package(name).is_none() {
        let text = if app.report().is_none() {
            "known when the run finishes"
        } else {
            "not in the inventory"
        };
        sheet.field("Why here", text, theme.muted());
        return;
    }
    match detail.paths.as_slice() {
        [] => sheet.field("Why here", "no dependency path found", theme.muted()),
        [only] if only.len() == 1 => sheet.field(
            "Why here",
            "top-level: nothing installed requires it",
            theme.text(),
        ),
        paths => {
            let lines: Vec<String> = paths.iter().map(|p| p.join(" → ")).collect();
            sheet.list("Why here", &lines, theme.text());
        }
    }
}

fn exception_section(sheet: &mut Sheet, app: &App, finding: &Finding) {
    let theme = sheet.theme;
    let label = if finding.check == Check::Vulnerabilities {
        "Ignore"
    } else {
        "Exception"
    };
    match app.exception_for(finding) {
        Ok(exception) => {
            let path = app.policy_path.as_ref().map_or_else(
                || "the policy file".to_string(),
                |p| p.display().to_string(),
            );
            sheet.field(label, &format!("e appends this to {path}:"), theme.muted());
            sheet.code(&exception.to_toml(table_prefix(app)));
        }
        Err(why) => sheet.field(label, &format!("none: {why}"), theme.muted()),
    }
}

/// `tool.depdash.` when the policy lives in `pyproject.toml`.
fn table_prefix(app: &App) -> &'static str {
    match &app.policy_path {
        Some(p) if p.file_name().is_some_and(|n| n == "pyproject.toml") => "tool.depdash.",
        _ => "",
    }
}

fn finding_sheet(sheet: &mut Sheet, app: &App, detail: &Detail, finding: &Finding) {
    let theme = sheet.theme;
    sheet.text(&finding.message, theme.severity(finding.severity));
    sheet.blank();
    sheet.field(
        "Check",
        &format!(
            "{} · {} · {}",
            finding.check.as_str(),
            finding.code,
            severity_word(finding.severity)
        ),
        theme.text(),
    );
    let package = finding.package.as_deref().and_then(|p| app.package(p));
    match (finding.check, package) {
        (Check::Licenses, Some(p)) => license_section(sheet, p),
        (Check::Vulnerabilities, Some(p)) => {
            if let Some(advisory) = &finding.advisory {
                vulnerability_section(sheet, p, advisory);
            }
        }
        _ => {}
    }
    if let Some(rule) = finding.rule {
        sheet.field("Rule", &app.policy.describe_rule(rule), theme.text());
    }
    paths_section(sheet, app, detail, finding.package.as_deref());
    if matches!(finding.check, Check::Licenses | Check::Vulnerabilities) {
        exception_section(sheet, app, finding);
    }
}

fn unknown_sheet(sheet: &mut Sheet, app: &App, detail: &Detail, unknown: &Unknown) {
    let theme = sheet.theme;
    sheet.text(&unknown.reason, theme.unknown());
    sheet.blank();
    sheet.field("Check", unknown.check.as_str(), theme.text());
    if unknown.fails_run {
        sheet.field(
            "Effect",
            "blocks a verdict: the run is incomplete (exit 3) until this is answered",
            theme.unknown(),
        );
    } else {
        sheet.field(
            "Effect",
            "reported only: policy does not fail the run on this unknown — it is still not a pass",
            theme.warning(),
        );
    }
    paths_section(sheet, app, detail, unknown.package.as_deref());
}

fn package_sheet(sheet: &mut Sheet, app: &App, detail: &Detail, name: &str) {
    let theme = sheet.theme;
    let Some(package) = app.package(name) else {
        sheet.text("details are known when the run finishes", theme.muted());
        return;
    };
    sheet.field(
        "Status",
        &format!("{:?}", package.status).to_lowercase(),
        theme.status(package.status),
    );
    if let Some(location) = &package.location {
        sheet.field("Location", location, theme.muted());
    }
    license_section(sheet, package);
    let health = match (Health::of(package), &package.registry) {
        (Health::Yanked, Some(r)) => format!(
            "yanked{}",
            r.yanked_reason
                .as_ref()
                .map(|why| format!(": {why}"))
                .unwrap_or_default()
        ),
        (Health::Outdated(latest), _) => format!("outdated: {latest} is available"),
        (Health::NotOnIndex, _) => "not on the package index".to_string(),
        (Health::Unknown, _) => "unknown: no registry facts".to_string(),
        (Health::Ok, _) => "current release".to_string(),
        (other, _) => other.label().to_string(),
    };
    sheet.field("Health", &health, theme.text());
    let vulns: Vec<String> = package
        .vulnerabilities
        .iter()
        .map(|v| {
            let fixed = if v.fixed_in.is_empty() {
                "no fix".to_string()
            } else {
                format!("fixed in {}", v.fixed_in.join(", "))
            };
            format!("{} — {fixed}", v.id)
        })
        .collect();
    if vulns.is_empty() {
        sheet.field("Advisories", "none known", theme.muted());
    } else {
        sheet.list("Advisories", &vulns, theme.violation());
    }
    if let Some((text, fixable)) = upgrade_advice(package) {
        sheet.field(
            "Upgrade",
            &text,
            if fixable { theme.ok() } else { theme.warning() },
        );
    }
    let findings: Vec<&Finding> = app
        .findings()
        .iter()
        .filter(|f| {
            f.package.as_deref().map(crate::model::normalize_name)
                == Some(package.normalized.clone())
        })
        .collect();
    for (i, f) in findings.iter().enumerate() {
        let label = if i == 0 { "Findings" } else { "" };
        let room = sheet.width.saturating_sub(LABEL + 2).max(10);
        for (j, line) in wrap(&format!("{}: {}", f.check.as_str(), f.message), room)
            .into_iter()
            .enumerate()
        {
            let head = if j == 0 {
                format!("{label:<LABEL$}")
            } else {
                " ".repeat(LABEL)
            };
            let marker = if j == 0 {
                severity_marker(f.severity, theme)
            } else {
                Span::raw(" ")
            };
            sheet.lines.push(Line::from(vec![
                Span::styled(head, theme.muted()),
                marker,
                Span::raw(" "),
                Span::raw(line),
            ]));
        }
    }
    let unknowns: Vec<String> = app
        .unknowns()
        .iter()
        .filter(|u| {
            u.package.as_deref().map(crate::model::normalize_name)
                == Some(package.normalized.clone())
        })
        .map(|u| format!("{}: {}", u.check.as_str(), u.reason))
        .collect();
    sheet.list("Unknowns", &unknowns, theme.unknown());
    paths_section(sheet, app, detail, Some(name));
}

pub fn render(frame: &mut Frame, area: Rect, app: &App, detail: &Detail, theme: &Theme) {
    let area = if area.width >= 100 {
        area.inner(Margin::new(4, 1))
    } else {
        area
    };
    popup(frame, area);
    // Borders and padding.
    let width = area.width.saturating_sub(4) as usize;
    let mut sheet = Sheet::new(width, theme);
    let title = match &detail.subject {
        DetailSubject::Finding(f) => {
            finding_sheet(&mut sheet, app, detail, f);
            let who = f
                .package
                .as_ref()
                .map(|p| {
                    format!("{p} {}", f.version.as_deref().unwrap_or(""))
                        .trim_end()
                        .to_string()
                })
                .unwrap_or_else(|| "whole run".into());
            format!(" {who} · {} ", f.code)
        }
        DetailSubject::Unknown(u) => {
            unknown_sheet(&mut sheet, app, detail, u);
            let who = u.package.as_deref().unwrap_or("whole run");
            format!(" {who} · unknown ({}) ", u.check.as_str())
        }
        DetailSubject::Package(name) => {
            package_sheet(&mut sheet, app, detail, name);
            let shown = app
                .package(name)
                .map(|p| format!("{} {}", p.name, p.version))
                .unwrap_or_else(|| name.clone());
            format!(" {shown} ")
        }
    };
    let inner_height = area.height.saturating_sub(2) as usize;
    let total = sheet.lines.len();
    let max_scroll = total.saturating_sub(inner_height);
    let scroll = (detail.scroll as usize).min(max_scroll);
    let mut block = panel(title, theme);
    if total > inner_height {
        block = block.title_bottom(
            Line::styled(
                format!(
                    " lines {}–{} of {total} · j/k scroll ",
                    scroll + 1,
                    (scroll + inner_height).min(total)
                ),
                theme.muted(),
            )
            .right_aligned(),
        );
    }
    let paragraph = Paragraph::new(sheet.lines)
        .block(block)
        .scroll((scroll as u16, 0));
    frame.render_widget(paragraph, area);
}

fn describe(exception: &PolicyException) -> String {
    match &exception.kind {
        ExceptionKind::License { ids } => {
            format!("allow {} for {}", ids.join(", "), exception.package)
        }
        ExceptionKind::Vulnerability { id } => {
            format!("ignore {id} (found in {})", exception.package)
        }
    }
}

pub fn render_prompt(frame: &mut Frame, area: Rect, app: &App, prompt: &Prompt, theme: &Theme) {
    let area = centered(area, 72, 9);
    popup(frame, area);
    let width = area.width.saturating_sub(4) as usize;
    let path = app.policy_path.as_ref().map_or_else(
        || "the policy file".to_string(),
        |p| p.display().to_string(),
    );
    let mut lines: Vec<Line> = wrap(&describe(&prompt.exception), width)
        .into_iter()
        .map(|l| Line::styled(l, theme.text()))
        .collect();
    lines.extend(
        wrap(&format!("in {path}"), width)
            .into_iter()
            .map(|l| Line::styled(l, theme.muted())),
    );
    lines.push(Line::raw(""));
    let cursor = |on: bool| Span::styled(if on { "█" } else { "" }, theme.accent());
    lines.push(Line::from(vec![
        Span::styled("Reason: ", theme.key()),
        Span::raw(prompt.input.clone()),
        cursor(prompt.field == PromptField::Reason),
    ]));
    lines.push(Line::from(vec![
        Span::styled("Until:  ", theme.key()),
        Span::raw(prompt.until.clone()),
        cursor(prompt.field == PromptField::Until),
        Span::styled("  YYYY-MM-DD, last day it holds", theme.muted()),
    ]));
    let block = panel(" Write exception ", theme).title_bottom(
        Line::styled(" Enter next / write · Esc cancel ", theme.muted()).right_aligned(),
    );
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

#[cfg(test)]
mod tests {
    use super::super::test_support::screen;
    use crate::tui::action::Action;
    use crate::tui::app::{App, Screen, ViolationRow};
    use crate::tui::testdata;

    /// Open the drill-down of the first finding whose package is `package`.
    fn open(app: &mut App, package: &str) {
        app.update(Action::GoTo(Screen::Violations));
        app.update(Action::Top);
        for _ in 0..app.findings().len() * 2 {
            // A package with several findings is one line until it is expanded.
            if let Some(ViolationRow::Package {
                package: name,
                expanded: false,
                ..
            }) = app.selected_violation()
                && name == package
            {
                app.update(Action::Expand);
            }
            if let Some(ViolationRow::Finding(i)) = app.selected_violation()
                && app.findings()[*i].package.as_deref() == Some(package)
            {
                app.update(Action::Select);
                return;
            }
            app.update(Action::Down);
        }
        panic!("no finding for {package}");
    }

    #[test]
    fn vulnerability_drill_down_shows_path_upgrade_and_ignore_stub() {
        let mut app = testdata::finished_app(testdata::report());
        open(&mut app, "urllib3");
        let text = screen(&mut app, 120, 40);
        assert!(text.contains("requests → urllib3"), "{text}");
        assert!(text.contains("boto3 → botocore → urllib3"), "{text}");
        assert!(text.contains("CVE-2023-43804"), "{text}");
        assert!(text.contains("CVSS_V3 5.9"), "{text}");
        assert!(text.contains("Fixed in    1.26.17, 2.0.6"), "{text}");
        assert!(
            text.contains("urllib3 ≥ 1.26.18 clears all 2 advisories"),
            "{text}"
        );
        assert!(text.contains("[[vulnerabilities.ignore]]"), "{text}");
        // At 80×24 the essentials are still on the first page.
        let small = screen(&mut app, 80, 24);
        assert!(small.contains("requests → urllib3"), "{small}");
        assert!(small.contains("1.26.18"), "{small}");
    }

    #[test]
    fn license_drill_down_explains_rule_source_and_exception() {
        let mut app = testdata::finished_app(testdata::report());
        open(&mut app, "gpl-widget");
        let text = screen(&mut app, 120, 40);
        assert!(text.contains("License     GPL-3.0-only"), "{text}");
        assert!(text.contains("License field — License: GPLv3"), "{text}");
        assert!(text.contains("classifier says GPLv2+"), "{text}");
        assert!(
            text.contains(r#"licenses.deny[0] = "GPL-3.0-only""#),
            "{text}"
        );
        assert!(text.contains("report-kit → gpl-widget"), "{text}");
        assert!(text.contains("[[licenses.exceptions]]"), "{text}");
        assert!(text.contains("allow = [\"GPL-3.0-only\"]"), "{text}");
        assert!(text.contains("/project/depdash.toml"), "{text}");
    }

    #[test]
    fn long_drill_downs_scroll() {
        let mut app = testdata::finished_app(testdata::report());
        open(&mut app, "urllib3");
        let before = screen(&mut app, 80, 16);
        assert!(before.contains("lines 1–"), "{before}");
        assert!(!before.contains("[[vulnerabilities.ignore]]"), "{before}");
        for _ in 0..50 {
            app.update(Action::Down);
        }
        let after = screen(&mut app, 80, 16);
        assert!(after.contains("[[vulnerabilities.ignore]]"), "{after}");
        assert_ne!(before, after);
    }

    #[test]
    fn unknown_and_package_drill_downs() {
        let mut app = testdata::finished_app(testdata::report());
        app.update(Action::GoTo(Screen::Violations));
        app.update(Action::Bottom);
        app.update(Action::Select);
        let text = screen(&mut app, 80, 24);
        assert!(text.contains("blocks a verdict"), "{text}");
        assert!(
            text.contains("top-level: nothing installed requires it"),
            "{text}"
        );
        app.update(Action::Back);

        app.update(Action::GoTo(Screen::Packages));
        app.update(Action::StartSearch);
        for c in "urllib3".chars() {
            app.update(Action::Input(c));
        }
        app.update(Action::Submit);
        app.update(Action::Select);
        let text = screen(&mut app, 120, 40);
        assert!(
            text.contains("GHSA-v845-jxx5-vc9f — fixed in 1.26.17, 2.0.6"),
            "{text}"
        );
        assert!(text.contains("outdated: 2.2.1 is available"), "{text}");
        assert!(text.contains("requests → urllib3"), "{text}");
    }
}
