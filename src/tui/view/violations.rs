//! Violations: findings grouped by check, then the unknowns with their reasons. Enter drills
//! down; `e` starts an exception for the selected license or vulnerability finding.
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
            ViolationRow::Finding(i) => {
                let f = &findings[*i];
                ListItem::new(Line::from(vec![
                    severity_marker(f.severity, theme),
                    Span::raw(" "),
                    Span::raw(label(package_label(
                        f.package.as_deref(),
                        f.version.as_deref(),
                    ))),
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
    use crate::tui::app::Screen;
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
