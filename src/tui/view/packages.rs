//! Packages: every package with its license, vulnerabilities, registry health and verdict;
//! sortable, filterable by text and by status. Columns give way on narrow terminals (source
//! first, then health, then vulnerabilities).
//!
//! ```text
//! ╭ Packages  14 of 14 · sort status ↓ · show all ────────────────────────────╮
//! │   name              version    license           vulns  health   status   │
//! │ ▶ gpl-widget        0.4.1      GPL-3.0-only          0  ok       violation│
//! │   urllib3           1.26.5     MIT                   2  outdated violation│
//! │   …                                                                       │
//! ╰───────────────────────────────────────────────────────────────────────────╯
//! ```

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table, TableState};

use crate::model::{LicenseSource, PackageStatus};

use super::super::app::{App, Health, Phase, SortColumn, StatusFilter, VulnCount};
use super::super::theme::Theme;
use super::{flush_panel, right, right_styled, truncate};

fn status_label(status: PackageStatus) -> &'static str {
    match status {
        PackageStatus::Ok => "ok",
        PackageStatus::Warning => "warning",
        PackageStatus::Unknown => "unknown",
        PackageStatus::Violation => "violation",
    }
}

fn source_label(source: &LicenseSource) -> &'static str {
    match source {
        LicenseSource::LicenseExpression => "expression",
        LicenseSource::Classifier => "classifier",
        LicenseSource::LicenseField => "License field",
        LicenseSource::LicenseFile => "license file",
        LicenseSource::Pypi => "PyPI",
        LicenseSource::Unknown => "—",
    }
}

fn health_style(health: &Health, theme: &Theme) -> ratatui::style::Style {
    match health {
        Health::Pending => theme.muted(),
        Health::Ok => theme.ok(),
        Health::Unknown => theme.unknown(),
        Health::Outdated(_) => theme.muted(),
        Health::NotOnIndex | Health::Yanked => theme.warning(),
    }
}

fn title(app: &App) -> String {
    let view = &app.packages_view;
    let arrow = if view.reverse { "↑" } else { "↓" };
    let mut title = format!(
        " Packages  {} of {} · sort {} {arrow} · show {}",
        view.visible.len(),
        app.rows().len(),
        view.sort.label(),
        view.status_filter.label()
    );
    if !view.filter.is_empty() {
        title.push_str(&format!(" · “{}”", view.filter));
    }
    if app.showing_previous_run() {
        title.push_str(" · previous run (new run in progress)");
    }
    title.push(' ');
    title
}

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let view = &app.packages_view;
    let block = flush_panel(title(app), theme);
    if view.visible.is_empty() {
        let message = if !app.rows().is_empty() {
            let mut m = String::from("no packages match");
            if !view.filter.is_empty() {
                m.push_str(&format!(" “{}”", view.filter));
            }
            if view.status_filter != StatusFilter::All {
                m.push_str(&format!(" with status {}", view.status_filter.label()));
            }
            m.push_str(" · Esc clears the search, f cycles the status filter");
            m
        } else {
            match app.phase() {
                Phase::Starting | Phase::Running => "starting… packages appear as they are checked",
                Phase::Failed(_) => "the run failed before any package was checked",
                Phase::Finished(_) => "no packages found in the target",
            }
            .to_string()
        };
        frame.render_widget(
            Paragraph::new(Span::styled(message, theme.muted())).block(block),
            area,
        );
        return;
    }

    let width = area.width;
    let show_vulns = width >= 60;
    let show_health = width >= 76;
    let show_source = width >= 100;
    let license_width: u16 = if width >= 120 { 28 } else { 18 };

    // Every column but the name has a fixed width; the name takes the rest, so cells can be
    // cut with an ellipsis instead of silently clipped.
    let mut fixed = vec![10, license_width];
    let mut header = vec![Line::styled("version", theme.table_header())];
    header.push(header_cell(
        "license",
        SortColumn::License,
        view.sort,
        theme,
    ));
    if show_source {
        fixed.push(13);
        header.push(Line::styled("source", theme.table_header()));
    }
    if show_vulns {
        fixed.push(5);
        header.push(
            header_cell("vulns", SortColumn::Vulnerabilities, view.sort, theme).right_aligned(),
        );
    }
    let health_width: u16 = if width >= 100 { 12 } else { 9 };
    if show_health {
        fixed.push(health_width);
        header.push(header_cell("health", SortColumn::Health, view.sort, theme));
    }
    fixed.push(9);
    header.push(header_cell("status", SortColumn::Status, view.sort, theme));
    header.insert(0, header_cell("name", SortColumn::Name, view.sort, theme));
    // Borders, the selection marker, one space between columns.
    let chrome = 2 + 2 + fixed.len() as u16;
    let name_width = width
        .saturating_sub(chrome + fixed.iter().sum::<u16>())
        .max(8);
    let widths: Vec<Constraint> = std::iter::once(name_width)
        .chain(fixed)
        .map(Constraint::Length)
        .collect();
    let cut = |text: &str, w: u16| truncate(text, w as usize);

    let rows: Vec<Row> = view
        .visible
        .iter()
        .filter_map(|&i| app.rows().get(i))
        .map(|row| {
            let mut cells = vec![
                Line::raw(cut(&row.name, name_width)).into(),
                Line::styled(cut(&row.version, 10), theme.muted()).into(),
            ];
            cells.push(match &row.license {
                Some(expression) => Line::raw(cut(expression, license_width)).into(),
                None if row.license_source.is_none() => Line::styled("…", theme.muted()).into(),
                None => Line::styled("unknown", theme.unknown()).into(),
            });
            if show_source {
                let source = row.license_source.as_ref().map_or("", source_label);
                cells.push(Line::styled(source, theme.muted()).into());
            }
            if show_vulns {
                cells.push(match row.vulnerabilities {
                    VulnCount::Known(n) => {
                        right_styled(n.to_string(), theme.count(n, theme.violation()))
                    }
                    VulnCount::Unknown => right_styled("?".to_string(), theme.unknown()),
                    VulnCount::Pending => right("…"),
                });
            }
            if show_health {
                let label = match &row.health {
                    Health::Outdated(latest) if width >= 110 => {
                        cut(&format!("→ {latest}"), health_width)
                    }
                    Health::NotOnIndex if health_width < 12 => "no index".to_string(),
                    other => other.label().to_string(),
                };
                cells.push(Line::styled(label, health_style(&row.health, theme)).into());
            }
            cells.push(Line::styled(status_label(row.status), theme.status(row.status)).into());
            Row::new(cells)
        })
        .collect();

    // Unknown cells say why on selection: the reason sits on the panel's bottom border.
    let selected_unknowns = view
        .visible
        .get(view.selected)
        .and_then(|&i| app.rows().get(i))
        .map(|row| row.unknowns.join(" · "))
        .filter(|text| !text.is_empty());
    let block = match selected_unknowns {
        Some(text) => block.title_bottom(Line::styled(
            format!(" ? {} ", truncate(&text, width.saturating_sub(8) as usize)),
            theme.unknown(),
        )),
        None => block,
    };
    let table = Table::new(rows, widths)
        .header(Row::new(header))
        .block(block)
        .row_highlight_style(theme.selected())
        .highlight_symbol("▶ ");
    let mut state = TableState::new()
        .with_offset(view.offset)
        .with_selected(Some(view.selected));
    frame.render_stateful_widget(table, area, &mut state);
}

/// A column header, marked when it is the sort column.
fn header_cell<'a>(name: &'a str, column: SortColumn, sort: SortColumn, theme: &Theme) -> Line<'a> {
    if column == sort {
        Line::from(vec![
            Span::styled(name, theme.accent()),
            Span::styled("*", theme.accent()),
        ])
    } else {
        Line::styled(name, theme.table_header())
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{render_with, screen, text};
    use crate::tui::action::Action;
    use crate::tui::app::Screen;
    use crate::tui::testdata;
    use crate::tui::theme::Theme;
    use ratatui::style::Color;

    #[test]
    fn unknown_vulnerabilities_show_a_question_mark_and_the_reason_on_selection() {
        let mut app = packages_app();
        // Search narrows to the one package whose vulnerability lookup failed.
        app.update(Action::StartSearch);
        for c in "internal".chars() {
            app.update(Action::Input(c));
        }
        app.update(Action::Submit);
        let text = screen(&mut app, 120, 40);
        let row = text
            .lines()
            .find(|l| l.contains("internal-pkg"))
            .expect("row shown");
        assert!(
            row.trim_end_matches('│').trim_end().ends_with("unknown"),
            "{row}"
        );
        assert!(
            row.contains(" ? "),
            "unknown count must be `?`, not 0: {row}"
        );
        assert!(!row.contains(" 0 "), "{row}");
        assert!(
            text.contains("? vulnerabilities: OSV querybatch failed"),
            "{text}"
        );
    }

    fn packages_app() -> crate::tui::app::App {
        let mut app = testdata::finished_app(testdata::report());
        app.update(Action::GoTo(Screen::Packages));
        app
    }

    #[test]
    fn table_fits_80_columns_and_grows_at_120() {
        let mut app = packages_app();
        let small = screen(&mut app, 80, 24);
        for needle in [
            "urllib3",
            "1.26.5",
            "GPL-3.0-only",
            "violation",
            "yanked",
            "14 of 14",
            "LicenseRef-Public…",
            "charset-normalizer",
        ] {
            assert!(
                small.contains(needle),
                "{needle} missing at 80x24:\n{small}"
            );
        }
        // The source column needs room: only at 120 columns.
        assert!(!small.contains("License field"), "{small}");
        let large = screen(&mut app, 120, 40);
        assert!(large.contains("License field"), "{large}");
        assert!(
            large.contains("→ 2.2.1"),
            "latest version of urllib3:\n{large}"
        );
    }

    #[test]
    fn worst_first_by_default_and_sort_cycles() {
        let mut app = packages_app();
        let text = screen(&mut app, 80, 24);
        let at = |name: &str| {
            text.find(&format!(" {name} "))
                .unwrap_or_else(|| panic!("{name}:\n{text}"))
        };
        // Violations, then unknown, then warnings, then ok.
        assert!(at("gpl-widget") < at("internal-pkg"), "{text}");
        assert!(at("internal-pkg") < at("six"), "{text}");
        assert!(at("six") < at("boto3"), "{text}");
        app.update(Action::CycleSort); // name
        let text = screen(&mut app, 80, 24);
        let boto = text.find("boto3").unwrap();
        let urllib = text.find("urllib3").unwrap();
        assert!(boto < urllib, "{text}");
        assert!(text.contains("sort name ↓"), "{text}");
        app.update(Action::ReverseSort);
        let text = screen(&mut app, 80, 24);
        assert!(
            text.find("boto3").unwrap() > text.find("urllib3").unwrap(),
            "{text}"
        );
    }

    #[test]
    fn no_color_uses_no_colors_at_all() {
        let mut app = packages_app();
        let buffer = render_with(&mut app, 80, 24, Theme::plain());
        let colored = buffer
            .content()
            .iter()
            .filter(|c| c.fg != Color::Reset || c.bg != Color::Reset)
            .count();
        assert_eq!(colored, 0, "{}", text(&buffer));
        // The selection is still visible: reversed.
        assert!(
            buffer
                .content()
                .iter()
                .any(|c| c.modifier.contains(ratatui::style::Modifier::REVERSED))
        );
    }
}
