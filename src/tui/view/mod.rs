//! Rendering: one module per screen or panel, all drawing from `&App` (no state changes here).
//!
//! ```text
//! ┌ header: product, screen tabs, run state ─────────────────────────────┐  1 row
//! │                                                                      │
//! │ the current screen (overview, packages, violations, performance)    │  the rest
//! │ with overlays on top (drill-down, exception prompt, help)           │
//! │                                                                      │
//! └ footer: key hints, search field, or the last message ────────────────┘  1 row
//! ```

mod detail;
mod header;
mod help;
mod overview;
mod packages;
mod performance;
mod violations;

use std::time::Duration;

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, BorderType, Clear, Padding, Paragraph};

use super::app::{App, Overlay, Screen};
use super::theme::Theme;

/// Smallest size the layout is designed for; below it a notice asks for more room.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 16;

/// Draw the whole dashboard.
pub fn draw(frame: &mut Frame, app: &App, theme: &Theme) {
    draw_views(frame, app, theme);
    neutralise_unsafe_text(frame.buffer_mut());
}

/// The one choke point for everything drawn: ratatui already drops control characters (C0,
/// DEL, C1), but not bidirectional overrides or zero-width characters, which package metadata,
/// advisories and index answers may carry to reorder or hide what is shown.
fn neutralise_unsafe_text(buffer: &mut ratatui::buffer::Buffer) {
    for cell in buffer.content.iter_mut() {
        if cell.symbol().chars().any(crate::term_text::is_unsafe) {
            let kept: String = cell
                .symbol()
                .chars()
                .filter(|c| !crate::term_text::is_unsafe(*c))
                .collect();
            cell.set_symbol(if kept.is_empty() { "�" } else { &kept });
        }
    }
}

fn draw_views(frame: &mut Frame, app: &App, theme: &Theme) {
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let notice = Paragraph::new(vec![
            Line::styled("depdash", theme.title()),
            Line::from(format!(
                "needs at least {MIN_WIDTH}×{MIN_HEIGHT}; this terminal is {}×{}",
                area.width, area.height
            )),
            Line::styled("q quits", theme.muted()),
        ])
        .alignment(Alignment::Center)
        .wrap(ratatui::widgets::Wrap { trim: true });
        frame.render_widget(notice, area);
        return;
    }
    let [top, body, bottom] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    header::render_header(frame, top, app, theme);
    match app.screen {
        Screen::Overview => overview::render(frame, body, app, theme),
        Screen::Packages => packages::render(frame, body, app, theme),
        Screen::Violations => violations::render(frame, body, app, theme),
        Screen::Performance => performance::render(frame, body, app, theme),
    }
    for overlay in &app.overlays {
        match overlay {
            Overlay::Help => help::render(frame, body, app, theme),
            Overlay::Detail(d) => detail::render(frame, body, app, d, theme),
            Overlay::Prompt(p) => detail::render_prompt(frame, body, app, p, theme),
        }
    }
    header::render_footer(frame, bottom, app, theme);
}

/// A bordered panel with a title and a column of padding on each side.
fn panel<'a>(title: impl Into<Line<'a>>, theme: &Theme) -> Block<'a> {
    flush_panel(title, theme).padding(Padding::horizontal(1))
}

/// A bordered panel without padding, for lists whose selection marker makes the margin.
fn flush_panel<'a>(title: impl Into<Line<'a>>, theme: &Theme) -> Block<'a> {
    Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(theme.border())
        .title(title.into().style(theme.title()))
}

/// A panel drawn over others: clears what is below first.
/// The run's operations, most total time first; when there are none yet, draws the panel's
/// placeholder ("starting…" / "no timings yet") and returns `None`.
fn operations_by_total<'a>(
    frame: &mut Frame,
    area: Rect,
    app: &'a App,
    block: Block<'_>,
    theme: &Theme,
) -> Option<Vec<(&'a String, &'a crate::telemetry::tracker::OperationStats)>> {
    let Some(operations) = app.operations() else {
        let text = match app.phase() {
            super::app::Phase::Starting => "starting…",
            _ => "no timings yet",
        };
        frame.render_widget(
            Paragraph::new(Span::styled(text, theme.muted())).block(block),
            area,
        );
        return None;
    };
    let mut ops: Vec<_> = operations.iter().collect();
    ops.sort_by(|a, b| b.1.total_ms.total_cmp(&a.1.total_ms).then(a.0.cmp(b.0)));
    Some(ops)
}

fn popup(frame: &mut Frame, area: Rect) {
    frame.render_widget(Clear, area);
}

/// `area` shrunk to at most `width`×`height`, centered.
fn centered(area: Rect, width: u16, height: u16) -> Rect {
    area.centered(
        Constraint::Length(width.min(area.width)),
        Constraint::Length(height.min(area.height)),
    )
}

/// Right-aligned cell text (numbers), so digits never shift as values change.
fn right<'a>(text: impl Into<String>) -> Text<'a> {
    Text::from(text.into()).alignment(Alignment::Right)
}

fn right_styled<'a>(text: impl Into<String>, style: ratatui::style::Style) -> Text<'a> {
    Text::from(Span::styled(text.into(), style)).alignment(Alignment::Right)
}

/// Milliseconds with a precision that keeps about three significant digits.
pub fn fmt_ms(ms: f64) -> String {
    if !ms.is_finite() {
        "—".into()
    } else if ms < 10.0 {
        format!("{ms:.2}ms")
    } else if ms < 1000.0 {
        format!("{ms:.1}ms")
    } else {
        format!("{:.2}s", ms / 1000.0)
    }
}

/// Wall time for humans: `12.3s`, `4m 05s`, `1h 02m`.
pub fn fmt_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 60.0 {
        format!("{secs:.1}s")
    } else if secs < 3600.0 {
        format!("{}m {:02}s", d.as_secs() / 60, d.as_secs() % 60)
    } else {
        format!("{}h {:02}m", d.as_secs() / 3600, (d.as_secs() / 60) % 60)
    }
}

/// A rate as a percentage, or `—` when nothing was counted (0 lookups is not 0 %).
pub fn fmt_rate(hits: u64, lookups: u64) -> String {
    if lookups == 0 {
        "—".into()
    } else {
        format!("{:.1}%", hits as f64 * 100.0 / lookups as f64)
    }
}

/// `n thing` / `n things` (`advisory` → `advisories`).
pub fn plural(n: usize, thing: &str) -> String {
    if n == 1 {
        return format!("{n} {thing}");
    }
    match thing.strip_suffix('y') {
        Some(stem) if !stem.ends_with(['a', 'e', 'o', 'u']) => format!("{n} {stem}ies"),
        _ => format!("{n} {thing}s"),
    }
}

/// Cut `text` to `width` characters, marking the cut with `…`.
pub fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut out: String = text.chars().take(width - 1).collect();
    out.push('…');
    out
}

/// Greedy word wrap to `width` characters (long words are cut), for hanging-indent fields.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    for paragraph in text.lines() {
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            let mut word = word.to_string();
            while word.chars().count() > width {
                if !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                }
                let head: String = word.chars().take(width).collect();
                word = word.chars().skip(width).collect();
                lines.push(head);
            }
            let needed = if line.is_empty() {
                word.chars().count()
            } else {
                line.chars().count() + 1 + word.chars().count()
            };
            if needed > width && !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(&word);
        }
        lines.push(line);
    }
    if lines.is_empty() {
        lines.push(String::new());
    }
    lines
}

#[cfg(test)]
pub(crate) mod test_support {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use ratatui::buffer::Buffer;

    use super::super::app::App;
    use super::super::theme::Theme;

    /// Render `app` at `width`×`height` and return the buffer.
    pub fn render_with(app: &mut App, width: u16, height: u16, theme: Theme) -> Buffer {
        app.set_viewport(width, height);
        let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test backend");
        terminal
            .draw(|frame| super::draw(frame, app, &theme))
            .expect("test backend draws");
        terminal.backend().buffer().clone()
    }

    pub fn render(app: &mut App, width: u16, height: u16) -> Buffer {
        render_with(app, width, height, Theme::colored())
    }

    /// The buffer as lines of text (trailing spaces trimmed).
    pub fn text(buffer: &Buffer) -> String {
        let area = buffer.area;
        let mut out = String::new();
        for y in 0..area.height {
            let mut line = String::new();
            for x in 0..area.width {
                line.push_str(buffer[(x, y)].symbol());
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }

    pub fn screen(app: &mut App, width: u16, height: u16) -> String {
        text(&render(app, width, height))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_formatted_for_humans() {
        assert_eq!(fmt_ms(0.4), "0.40ms");
        assert_eq!(fmt_ms(210.0), "210.0ms");
        assert_eq!(fmt_ms(11_000.0), "11.00s");
        assert_eq!(fmt_duration(Duration::from_millis(12_345)), "12.3s");
        assert_eq!(fmt_duration(Duration::from_secs(245)), "4m 05s");
        assert_eq!(fmt_duration(Duration::from_secs(3720)), "1h 02m");
        assert_eq!(fmt_rate(190, 200), "95.0%");
        assert_eq!(fmt_rate(0, 0), "—");
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
        assert_eq!(plural(1, "advisory"), "1 advisory");
        assert_eq!(plural(2, "advisory"), "2 advisories");
        assert_eq!(plural(0, "violation"), "0 violations");
    }

    #[test]
    fn every_screen_and_overlay_renders_at_any_size() {
        use super::test_support::screen;
        use crate::tui::action::Action;
        use crate::tui::testdata;

        let sizes = [
            (10, 5),
            (59, 30),
            (60, 16),
            (80, 24),
            (97, 31),
            (120, 40),
            (240, 70),
        ];
        for (w, h) in sizes {
            let mut apps = vec![
                testdata::new_app(),
                testdata::running_app(),
                testdata::finished_app(testdata::report()),
            ];
            for app in &mut apps {
                for screen_kind in Screen::ALL {
                    app.update(Action::GoTo(screen_kind));
                    let text = screen(app, w, h);
                    if w < MIN_WIDTH || h < MIN_HEIGHT {
                        assert!(text.contains("depdash"), "{w}x{h}:\n{text}");
                        continue;
                    }
                    assert!(
                        text.contains(screen_kind.title()) || w < 70,
                        "{w}x{h}:\n{text}"
                    );
                    app.update(Action::Select);
                    screen(app, w, h);
                    app.update(Action::Exception);
                    screen(app, w, h);
                    app.update(Action::Cancel);
                    app.update(Action::Back);
                    app.update(Action::ToggleHelp);
                    screen(app, w, h);
                    app.update(Action::Back);
                    assert!(app.overlays.is_empty(), "{:?}", app.overlays);
                }
            }
        }
    }

    #[test]
    fn wrap_breaks_on_words_and_cuts_long_ones() {
        assert_eq!(wrap("one two three", 7), vec!["one two", "three"]);
        assert_eq!(wrap("abcdefghij", 4), vec!["abcd", "efgh", "ij"]);
        assert_eq!(wrap("", 4), vec![""]);
    }
}
