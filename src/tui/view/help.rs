//! Help overlay: every key binding (from `keymap::KEY_HELP`) and where the log file is.
//!
//! ```text
//!        ╭ Keys ────────────────────────────────────────────────╮
//!        │ Tab / Shift-Tab   next / previous screen              │
//!        │ …                                                     │
//!        │ Log file: /home/me/.local/state/depdash/tui.log       │
//!        ╰───────────────────────────────────────── Esc close ───╯
//! ```

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::super::app::App;
use super::super::keymap::KEY_HELP;
use super::super::theme::Theme;
use super::{centered, panel, popup, truncate};

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let key_width = KEY_HELP
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0)
        + 2;
    let text_width = KEY_HELP
        .iter()
        .map(|(_, d)| d.chars().count())
        .max()
        .unwrap_or(0);
    let log = match &app.log_file {
        Some(path) => format!("Log file: {}", path.display()),
        None => "Log file: none (logs are not kept for this session)".to_string(),
    };
    let width = ((key_width + text_width).max(log.chars().count()) + 4) as u16;
    let height = KEY_HELP.len() as u16 + 4;
    let area = centered(area, width, height);
    popup(frame, area);
    let room = area.width.saturating_sub(4) as usize;
    let mut lines: Vec<Line> = KEY_HELP
        .iter()
        .map(|(keys, what)| {
            Line::from(vec![
                Span::styled(format!("{keys:<key_width$}"), theme.key()),
                Span::raw(truncate(what, room.saturating_sub(key_width))),
            ])
        })
        .collect();
    lines.push(Line::raw(""));
    lines.push(Line::styled(truncate(&log, room), theme.muted()));
    let block = panel(" Keys ", theme)
        .title_bottom(Line::styled(" Esc close ", theme.muted()).right_aligned());
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

#[cfg(test)]
mod tests {
    use super::super::test_support::screen;
    use crate::tui::action::Action;
    use crate::tui::keymap::KEY_HELP;
    use crate::tui::testdata;

    #[test]
    fn help_lists_every_key_and_the_log_file() {
        let mut app = testdata::running_app();
        app.set_log_file(Some("/tmp/depdash-tui.log".into()));
        app.update(Action::ToggleHelp);
        for (w, h) in [(80, 24), (120, 40)] {
            let text = screen(&mut app, w, h);
            for (keys, _) in KEY_HELP {
                assert!(text.contains(keys), "{keys} missing at {w}x{h}:\n{text}");
            }
            assert!(text.contains("Log file: /tmp/depdash-tui.log"), "{text}");
        }
        app.update(Action::Back);
        assert!(!screen(&mut app, 80, 24).contains("Log file"));
    }
}
