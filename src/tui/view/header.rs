//! The header (product, screen tabs, run state) and the footer (key hints, the search field, or
//! the last message).
//!
//! ```text
//!  depdash  1 Overview  2 Packages  3 Violations  4 Performance     ● run 2  12.3s
//!  …screen…
//!  q quit  r re-run  R refresh  / search  ? help            s sort  f filter
//! ```

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::super::app::{App, MessageKind, Overlay, Phase, Screen};
use super::super::keymap::InputMode;
use super::super::theme::Theme;
use super::{fmt_duration, truncate};

/// Short tab titles for narrow terminals.
fn short_title(screen: Screen) -> &'static str {
    match screen {
        Screen::Overview => "Overview",
        Screen::Packages => "Pkgs",
        Screen::Violations => "Viol",
        Screen::Performance => "Perf",
    }
}

/// `● run 2  12.3s` and friends: the run state in a few fixed-width words (the run number
/// only when there is room).
fn run_state<'a>(app: &App, theme: &Theme, wide: bool) -> Vec<Span<'a>> {
    let run = app.run_number();
    let label = if run > 0 && wide {
        format!("run {run} ")
    } else {
        String::new()
    };
    // Fixed width ("4m 05s" is the longest form) so the header never shifts.
    let elapsed = format!("{:>6}", fmt_duration(app.elapsed()));
    match app.phase() {
        Phase::Starting => vec![Span::styled("starting…", theme.muted())],
        Phase::Running => vec![
            Span::styled("● ", theme.accent()),
            Span::styled(label, theme.muted()),
            Span::raw(elapsed),
        ],
        Phase::Finished(outcome) => vec![
            Span::styled("■ ", theme.outcome(*outcome)),
            Span::styled(label, theme.muted()),
            Span::raw(elapsed),
        ],
        Phase::Failed(_) => vec![
            Span::styled("✗ ", theme.violation()),
            Span::styled(label, theme.muted()),
            Span::styled("failed", theme.violation()),
        ],
    }
}

pub fn render_header(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let state = Line::from(run_state(app, theme, area.width >= 90));
    let state_width = state.width() as u16 + 1;
    let [left, right] =
        Layout::horizontal([Constraint::Min(0), Constraint::Length(state_width)]).areas(area);

    // " depdash " plus each tab as " n Title " and a gap.
    let long_width: usize = 10
        + Screen::ALL
            .iter()
            .map(|s| s.title().chars().count() + 5)
            .sum::<usize>();
    let long = left.width as usize >= long_width;
    let mut spans = vec![Span::styled(" depdash ", theme.title()), Span::raw(" ")];
    for (i, screen) in Screen::ALL.iter().enumerate() {
        let title = if long {
            screen.title()
        } else {
            short_title(*screen)
        };
        let style = if *screen == app.screen {
            theme.tab_active()
        } else {
            theme.muted()
        };
        spans.push(Span::styled(format!(" {} {title} ", i + 1), style));
        spans.push(Span::raw(" "));
    }
    let tabs = Line::from(spans);
    // Watch mode: what changed on disk and when, between the tabs and the run state.
    let tabs_width = (tabs.width() as u16).min(left.width);
    let [tabs_area, change_area] =
        Layout::horizontal([Constraint::Length(tabs_width), Constraint::Min(0)]).areas(left);
    frame.render_widget(Paragraph::new(tabs), tabs_area);
    if let Some((what, at)) = app.last_change() {
        let room = change_area.width.saturating_sub(1) as usize;
        let text = format!("↻ {at} {what}");
        frame.render_widget(
            Paragraph::new(Span::styled(truncate(&text, room), theme.accent()))
                .alignment(Alignment::Right),
            change_area,
        );
    }
    frame.render_widget(Paragraph::new(state).alignment(Alignment::Right), right);
}

fn hint<'a>(key: &'a str, what: &'a str, theme: &Theme) -> Vec<Span<'a>> {
    vec![
        Span::styled(key, theme.key()),
        Span::styled(format!(" {what}  "), theme.muted()),
    ]
}

pub fn render_footer(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    if let Some(message) = &app.status {
        let style = match message.kind {
            MessageKind::Info => theme.accent(),
            MessageKind::Error => theme.violation(),
        };
        frame.render_widget(
            Paragraph::new(Line::styled(format!(" {}", message.text), style)),
            area,
        );
        return;
    }
    if app.input_mode() == InputMode::Text && app.overlays.is_empty() {
        let line = Line::from(vec![
            Span::styled(" / ", theme.key()),
            Span::raw(app.packages_view.filter.clone()),
            Span::styled("█", theme.accent()),
            Span::styled("   Enter keep · Esc clear", theme.muted()),
        ]);
        frame.render_widget(Paragraph::new(line), area);
        return;
    }

    let mut left = vec![Span::raw(" ")];
    let mut right = Vec::new();
    match app.overlays.last() {
        Some(Overlay::Help) => left.extend(hint("Esc", "close help", theme)),
        Some(Overlay::Detail(_)) => {
            left.extend(hint("Esc", "back", theme));
            left.extend(hint("j/k", "scroll", theme));
            left.extend(hint("e", "exception", theme));
        }
        Some(Overlay::Prompt(_)) => {
            left.extend(hint("Enter", "write", theme));
            left.extend(hint("Esc", "cancel", theme));
        }
        None => {
            left.extend(hint("q", "quit", theme));
            left.extend(hint("r", "re-run", theme));
            left.extend(hint("R", "refresh", theme));
            left.extend(hint("?", "help", theme));
            match app.screen {
                Screen::Packages => {
                    right.extend(hint("/", "search", theme));
                    right.extend(hint("s", "sort", theme));
                    right.extend(hint("f", "filter", theme));
                    right.extend(hint("⏎", "details", theme));
                }
                Screen::Violations => {
                    right.extend(hint("⏎", "details", theme));
                    right.extend(hint("e", "exception", theme));
                }
                Screen::Overview | Screen::Performance => {
                    right.extend(hint("Tab", "next screen", theme));
                }
            }
        }
    }
    let right = Line::from(right);
    let right_width = (right.width() as u16).min(area.width / 2);
    let [l, r] =
        Layout::horizontal([Constraint::Min(0), Constraint::Length(right_width)]).areas(area);
    frame.render_widget(Paragraph::new(Line::from(left)), l);
    frame.render_widget(Paragraph::new(right), r);
}
