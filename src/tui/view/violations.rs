//! Violations: findings grouped by check, then by package (a package with several findings is
//! one line with the engine's fix, expanded by Enter/→ and collapsed by Enter/←), then the
//! unknowns with their reasons. Enter on a finding drills down; `e` starts an exception for the
//! selected license or vulnerability finding.
//!
//! ```text
//! ╭ Violations  4 violations · 2 warnings · 1 unknown (1 blocking) ──────────────╮
//! │ licenses  1 violation · 1 warning                                            │
//! │ ▶ ✗ gpl-widget 0.4.1        GPL-3.0-only is denied by policy                 │
//! │   ! mystery-lib 0.1.0       license could not be resolved                    │
//! │ unknowns  1 · 1 blocks the verdict                                           │
//! │   ? internal-pkg 0.9.0      vulnerabilities: OSV querybatch failed: …        │
//! ╰──────────────────────────────────────────────────────────────────────────────╯
//! ```

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{HighlightSpacing, List, ListItem, ListState, Paragraph};

use crate::model::{Outcome, Severity};

use super::super::app::{App, Phase, ViolationRow};
use super::super::theme::Theme;
use super::{flush_panel, plural, truncate};

/// Marker and style for a severity; the symbol carries the meaning without color.
pub(super) fn severity_marker(severity: Severity, theme: &Theme) -> Span<'static> {
    match severity {
        Severity::Error => Span::styled("✗", theme.violation()),
        Severity::Warning => Span::styled("!", theme.warning()),
        Severity::Note => Span::styled("·", theme.muted()),
    }
}

fn title(app: &App) -> String {
    let findings = app.findings();
    let errors = findings.iter().filter(|f| f.is_violation()).count();
    let warnings = findings
        .iter()
        .filter(|f| f.severity == Severity::Warning)
        .count();
    let unknowns = app.unknowns();
    let blocking = unknowns.iter().filter(|u| u.fails_run).count();
    let mut title = format!(
        " Violations  {} · {} · {}",
        plural(errors, "violation"),
        plural(warnings, "warning"),
        plural(unknowns.len(), "unknown")
    );
    if blocking > 0 {
        title.push_str(&format!(" ({blocking} blocking)"));
    }
    if app.showing_previous_run() {
        title.push_str(" · previous run");
    }
    title.push(' ');
    title
}

fn package_label(package: Option<&str>, version: Option<&str>) -> String {
    match (package, version) {
        (Some(p), Some(v)) => format!("{p} {v}"),
        (Some(p), None) => p.to_string(),
        (None, _) => "(whole run)".to_string(),
    }
}

/// One line for a package's findings: how many, and what clears them — the engine's
/// [`crate::model::Fix`], the same the headless report and `depdash fix` print.
fn package_summary(app: &App, members: &[usize]) -> String {
    let findings = app.findings();
    let advisories: Vec<&str> = members
        .iter()
        .filter_map(|&i| findings[i].advisory.as_deref())
        .collect();
    let mut text = if advisories.len() == members.len() {
        plural(members.len(), "advisory")
    } else {
        plural(members.len(), "finding")
    };
    let fix = findings[members[0]]
        .package
        .as_deref()
        .and_then(|name| app.package(name))
        .and_then(|p| p.fix.as_ref());
    if let Some(fix) = fix.filter(|_| !advisories.is_empty()) {
        match &fix.version {
            Some(version) => {
                let cleared = advisories
                    .iter()
                    .filter(|a| fix.clears.iter().any(|c| c == *a))
                    .count();
                let what = if cleared == advisories.len() {
                    "all".to_string()
                } else {
                    format!("{cleared} of {}", advisories.len())
                };
                text.push_str(&format!(" · upgrade to {version} clears {what}"));
            }
            None => text.push_str(&format!(" · no fix: {}", fix.reason)),
        }
    }
    text
}

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let view = &app.violations_view;
    let block = flush_panel(title(app), theme);
    if view.rows.is_empty() {
        let (text, style) = match app.phase() {
            Phase::Finished(Outcome::Clean) => (
                "✓ no findings and nothing unknown: this run is clean".to_string(),
                theme.ok(),
            ),
            Phase::Finished(_) => ("no findings".to_string(), theme.muted()),
            Phase::Starting => ("starting…".to_string(), theme.muted()),
            Phase::Running => (
                "findings come with the report · the run is still in progress".to_string(),
                theme.muted(),
            ),
            Phase::Failed(reason) => (format!("the run failed: {reason}"), theme.violation()),
        };
        frame.render_widget(Paragraph::new(Span::styled(text, style)).block(block), area);
        return;
    }

    // Inside the borders, after the two-column selection marker: marker, label, message.
    let inner_width = area.width.saturating_sub(2 + 2) as usize;
    let label_width = if area.width >= 110 { 30 } else { 24 };
    // Marker, a space, the label, two spaces.
    let message_width = inner_width.saturating_sub(label_width + 4);
    let findings = app.findings();
    let unknowns = app.unknowns();
    let label = |text: String| format!("{:<label_width$}", truncate(&text, label_width));
    let items: Vec<ListItem> = view
        .rows
        .iter()
        .map(|row| match row {
            ViolationRow::Group {
                group,
                errors,
                warnings,
                notes,
                blocking,
            } => {
                let mut parts = Vec::new();
                if *errors > 0 {
                    parts.push(plural(*errors, "violation"));
                }
                if *warnings > 0 {
                    parts.push(plural(*warnings, "warning"));
                }
                if *notes > 0 {
                    parts.push(plural(*notes, "note"));
                }
                let mut spans = vec![Span::styled(group.title(), theme.title())];
                if *blocking > 0 {
                    spans.push(Span::styled(
                        format!("  {blocking} blocking: the run is incomplete"),
                        theme.unknown(),
                    ));
                } else if !parts.is_empty() {
                    spans.push(Span::styled(
                        format!("  {}", parts.join(" · ")),
                        theme.muted(),
                    ));
                }
                ListItem::new(Line::from(spans))
            }
            ViolationRow::Package {
                members, expanded, ..
            } => {
                let first = &findings[members[0]];
                let worst = members.iter().map(|&i| findings[i].severity).max();
                let fold = if *expanded { "▾" } else { "▸" };
                ListItem::new(Line::from(vec![
                    severity_marker(worst.unwrap_or(Severity::Note), theme),
                    Span::raw(" "),
                    Span::raw(label(format!(
                        "{fold} {}",
                        package_label(first.package.as_deref(), first.version.as_deref())
                    ))),
                    Span::raw("  "),
                    Span::raw(truncate(&package_summary(app, members), message_width)),
                ]))
            }
            ViolationRow::Finding(i) => {
                let f = &findings[*i];
                // Inside an expanded package: indented under its line.
                let nested = view.rows.iter().any(|r| {
                    matches!(r, ViolationRow::Package { members, expanded: true, .. } if members.contains(i))
                });
                let text = package_label(f.package.as_deref(), f.version.as_deref());
                let text = if nested {
                    format!("  {}", f.advisory.as_deref().unwrap_or(&text))
                } else {
                    text
                };
                ListItem::new(Line::from(vec![
                    severity_marker(f.severity, theme),
                    Span::raw(" "),
                    Span::raw(label(text)),
                    Span::raw("  "),
                    Span::raw(truncate(&f.message, message_width)),
                ]))
            }
            ViolationRow::Unknown(i) => {
                let u = &unknowns[*i];
                let style = if u.fails_run {
                    theme.unknown()
                } else {
                    theme.warning()
                };
                ListItem::new(Line::from(vec![
                    Span::styled("?", style),
                    Span::raw(" "),
                    Span::raw(label(package_label(
                        u.package.as_deref(),
                        u.version.as_deref(),
                    ))),
                    Span::raw("  "),
                    Span::raw(truncate(
                        &format!("{}: {}", u.check.as_str(), u.reason),
                        message_width,
                    )),
                ]))
            }
        })
        .collect();

    let list = List::new(items)
        .block(block)
        .highlight_style(theme.selected())
        .highlight_symbol("▶ ")
        .highlight_spacing(HighlightSpacing::Always);
    let selected_row = view.selectable.get(view.selected).copied();
    let mut state = ListState::default()
        .with_offset(view.offset)
        .with_selected(selected_row);
    frame.render_stateful_widget(list, area, &mut state);
}

#[cfg(test)]
mod tests {
    use super::super::test_support::screen;
    use crate::tui::action::Action;
    use crate::tui::app::{Screen, ViolationRow};
    use crate::tui::testdata;

    #[test]
    fn groups_by_check_with_unknowns_last() {
        let mut app = testdata::finished_app(testdata::report());
        app.update(Action::GoTo(Screen::Violations));
        for (w, h) in [(80, 24), (120, 40)] {
            let text = screen(&mut app, w, h);
            let order: Vec<usize> = [
                "licenses",
                "packages",
                "vulnerabilities",
                "health",
                "unknowns",
            ]
            .iter()
            .map(|g| {
                text.find(&format!("│  {g}"))
                    .unwrap_or_else(|| panic!("{g}:\n{text}"))
            })
            .collect();
            assert!(order.windows(2).all(|w| w[0] < w[1]), "{text}");
            assert!(text.contains("1 blocking: the run is incomplete"), "{text}");
            assert!(text.contains("OSV querybatch failed"), "{text}");
            assert!(
                text.contains("▶ ✗ gpl-widget 0.4.1"),
                "first finding selected:\n{text}"
            );
            assert!(text.contains("licenses  1 violation · 1 warning"), "{text}");
        }
    }

    /// The violations screen with urllib3's fix set to `fix`, urllib3's line selected.
    fn urllib3_app(fix: Option<crate::model::Fix>) -> crate::tui::app::App {
        let mut report = testdata::report();
        let urllib3 = report.packages.iter_mut().find(|p| p.name == "urllib3");
        urllib3.expect("urllib3 is in the test report").fix = fix;
        let mut app = testdata::finished_app(report);
        app.update(Action::GoTo(Screen::Violations));
        while !matches!(
            app.selected_violation(),
            Some(ViolationRow::Package { package, .. }) if package == "urllib3"
        ) {
            let before = app.violations_view.selected;
            app.update(Action::Down);
            assert_ne!(before, app.violations_view.selected, "no urllib3 line");
        }
        app
    }

    #[test]
    fn a_package_with_several_advisories_is_one_line_with_the_engines_fix() {
        let mut app = urllib3_app(Some(crate::model::Fix {
            version: Some("1.26.18".into()),
            clears: vec!["GHSA-v845-jxx5-vc9f".into(), "GHSA-g4mx-q9vg-27p4".into()],
            reason: "smallest release clearing both".into(),
        }));
        let text = screen(&mut app, 120, 40);
        assert!(
            text.contains("▶ ✗ ▸ urllib3 1.26.5"),
            "collapsed and selected:\n{text}"
        );
        assert!(
            text.contains("2 advisories · upgrade to 1.26.18 clears all"),
            "{text}"
        );
        assert!(!text.contains("GHSA-v845"), "collapsed:\n{text}");

        // Enter expands (the advisories appear under it), ← collapses from inside.
        app.update(Action::Select);
        let text = screen(&mut app, 120, 40);
        assert!(text.contains("▾ urllib3 1.26.5"), "{text}");
        let cookie = text.find("GHSA-v845-jxx5-vc9f").expect("expanded");
        let body = text.find("GHSA-g4mx-q9vg-27p4").expect("expanded");
        assert!(cookie < body, "engine order:\n{text}");
        app.update(Action::Down);
        assert!(matches!(
            app.selected_violation(),
            Some(ViolationRow::Finding(_))
        ));
        app.update(Action::Collapse);
        assert!(matches!(
            app.selected_violation(),
            Some(ViolationRow::Package {
                expanded: false,
                ..
            })
        ));
        assert!(!screen(&mut app, 80, 24).contains("GHSA-v845"));
        app.update(Action::Expand);
        assert!(screen(&mut app, 80, 24).contains("GHSA-v845"));
        app.update(Action::Select);
        assert!(
            !screen(&mut app, 80, 24).contains("GHSA-v845"),
            "Enter toggles"
        );
    }

    #[test]
    fn a_partial_or_missing_fix_is_said_so() {
        let mut app = urllib3_app(Some(crate::model::Fix {
            version: Some("1.26.17".into()),
            clears: vec!["GHSA-v845-jxx5-vc9f".into()],
            reason: "pinned below 1.26.18 by requests".into(),
        }));
        let text = screen(&mut app, 120, 40);
        assert!(text.contains("upgrade to 1.26.17 clears 1 of 2"), "{text}");

        let mut app = urllib3_app(Some(crate::model::Fix {
            version: None,
            clears: vec![],
            reason: "requests pins urllib3<1.27".into(),
        }));
        let text = screen(&mut app, 120, 40);
        assert!(
            text.contains("2 advisories · no fix: requests pins urllib3<1.27"),
            "{text}"
        );
    }

    #[test]
    fn empty_list_only_says_clean_for_a_clean_finished_run() {
        let mut app = testdata::finished_app(testdata::clean_report());
        app.update(Action::GoTo(Screen::Violations));
        assert!(screen(&mut app, 80, 24).contains("this run is clean"));

        let mut app = testdata::new_app();
        app.apply_event(crate::engine::events::EngineEvent::RunStarted {
            run: 1,
            target: "x".into(),
        });
        app.update(Action::GoTo(Screen::Violations));
        let text = screen(&mut app, 80, 24);
        assert!(text.contains("findings come with the report"), "{text}");
        assert!(!text.contains("clean"), "{text}");
    }
}
