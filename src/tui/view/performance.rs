//! Performance: every timed operation with its percentiles, cache hit rates per level, the
//! totals of recent runs as a sparkline, and regressions against the baseline.
//!
//! ```text
//! ╭ Operations (by total time) ─────────────────────────────────────────────────╮
//! │ operation            count      p50      p95      p99     total              │
//! │ http.pypi              120   80.0ms  210.0ms  400.0ms    11.00s              │
//! ╰──────────────────────────────────────────────────────────────────────────────╯
//! ╭ Recent runs (total time) ──────────────────────╮╭ Cache ────────────────────╮
//! │ ▂▃▅▂▁▇█                                         ││ level     hit  lookups    │
//! │ last 4.20s · best 3.10s · worst 6.00s           ││ overall 95.0%      200    │
//! ╰─────────────────────────────────────────────────╯╰───────────────────────────╯
//! ╭ Regressions ─────────────────────────────────────────────────────────────────╮
//! │ http.pypi  p95  120.0ms → 210.0ms  ×1.75                                     │
//! ╰──────────────────────────────────────────────────────────────────────────────╯
//! ```

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Sparkline, Table};

use super::super::app::{App, Phase};
use super::super::theme::Theme;
use super::overview::render_cache;
use super::{fmt_ms, operations_by_total, panel, right, truncate};

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let regressions = app.regressions().len() as u16;
    let regressions_height = regressions.clamp(1, 5) + 2;
    let [ops, middle, bottom] = Layout::vertical([
        Constraint::Min(5),
        Constraint::Length(8),
        Constraint::Length(regressions_height),
    ])
    .areas(area);
    render_operations(frame, ops, app, theme);
    let cache_width = if middle.width >= 100 { 34 } else { 28 };
    let [history, cache] =
        Layout::horizontal([Constraint::Min(20), Constraint::Length(cache_width)]).areas(middle);
    render_history(frame, history, app, theme);
    render_cache(frame, cache, app, theme);
    render_regressions(frame, bottom, app, theme);
}

fn render_operations(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let block = panel(" Operations (by total time) ", theme);
    let Some(ops) = operations_by_total(frame, area, app, block.clone(), theme) else {
        return;
    };
    let show_mean = area.width >= 100;
    let visible = area.height.saturating_sub(3) as usize;
    let hidden = ops.len().saturating_sub(visible);
    let rows: Vec<Row> = ops
        .into_iter()
        .take(visible)
        .map(|(name, s)| {
            let mut cells = vec![
                Line::raw(name.clone()).into(),
                right(s.count.to_string()),
                right(fmt_ms(s.p50_ms)),
                right(fmt_ms(s.p95_ms)),
                right(fmt_ms(s.p99_ms)),
            ];
            if show_mean {
                cells.push(right(fmt_ms(s.mean_ms)));
                cells.push(right(fmt_ms(s.max_ms)));
            }
            cells.push(right(fmt_ms(s.total_ms)));
            Row::new(cells)
        })
        .collect();
    let mut widths = vec![Constraint::Min(14), Constraint::Length(7)];
    let mut header = vec!["operation", "  count"];
    for label in ["     p50", "     p95", "     p99"] {
        widths.push(Constraint::Length(9));
        header.push(label);
    }
    if show_mean {
        widths.push(Constraint::Length(9));
        header.push("    mean");
        widths.push(Constraint::Length(9));
        header.push("     max");
    }
    widths.push(Constraint::Length(9));
    header.push("   total");
    let mut block = block;
    if hidden > 0 {
        block = block.title_bottom(
            Line::styled(format!(" {hidden} more (smaller totals) "), theme.muted())
                .right_aligned(),
        );
    }
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(theme.table_header()))
        .block(block);
    frame.render_widget(table, area);
}

fn render_history(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let block = panel(" Recent runs (total time) ", theme);
    let history = app.history();
    if history.is_empty() {
        frame.render_widget(
            Paragraph::new(Span::styled("no finished runs yet", theme.muted())).block(block),
            area,
        );
        return;
    }
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [spark, summary] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(inner);
    // The newest runs that fit, one column each; milliseconds as whole numbers.
    let shown = &history[history.len().saturating_sub(spark.width as usize)..];
    let data: Vec<u64> = shown
        .iter()
        .map(|(_, ms)| ms.max(0.0).round() as u64)
        .collect();
    frame.render_widget(
        Sparkline::default().data(&data).style(theme.sparkline()),
        spark,
    );
    let totals: Vec<f64> = shown.iter().map(|(_, ms)| *ms).collect();
    let best = totals.iter().copied().fold(f64::INFINITY, f64::min);
    let worst = totals.iter().copied().fold(0.0, f64::max);
    let (last_label, last) = &history[history.len() - 1];
    let text = format!(
        "{last_label} {} · best {} · worst {} · {} runs",
        fmt_ms(*last),
        fmt_ms(best),
        fmt_ms(worst),
        shown.len()
    );
    frame.render_widget(
        Paragraph::new(Span::styled(
            truncate(&text, summary.width as usize),
            theme.muted(),
        )),
        summary,
    );
}

fn render_regressions(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let regressions = app.regressions();
    let block = panel(" Regressions ", theme);
    if regressions.is_empty() {
        let text = match (app.phase(), app.baseline_note()) {
            (Phase::Finished(_), Some(note)) => format!("none · {note}"),
            (Phase::Finished(_), None) => "none detected".to_string(),
            _ => "compared when the run finishes".to_string(),
        };
        frame.render_widget(
            Paragraph::new(Span::styled(text, theme.muted())).block(block),
            area,
        );
        return;
    }
    let rows: Vec<Row> = regressions
        .iter()
        .map(|r| {
            Row::new(vec![
                Line::raw(r.operation.clone()).into(),
                Line::styled(r.metric.as_str(), theme.muted()).into(),
                right(fmt_ms(r.baseline_ms)),
                // Why it was flagged: the baseline's spread and the limit it crossed.
                Line::styled(format!("±{}", fmt_ms(r.spread_ms)), theme.muted()).into(),
                Line::styled(" → ", theme.muted()).into(),
                right(fmt_ms(r.current_ms)),
                Line::styled(format!(" ×{:.2}", r.ratio), theme.violation()).into(),
                Line::styled(format!(" limit {}", fmt_ms(r.limit_ms)), theme.muted()).into(),
            ])
        })
        .collect();
    let block = match app.baseline_note() {
        Some(note) => {
            block.title_bottom(Line::styled(format!(" {note} "), theme.muted()).right_aligned())
        }
        None => block,
    };
    let table = Table::new(
        rows,
        [
            Constraint::Min(14),
            Constraint::Length(5),
            Constraint::Length(9),
            Constraint::Length(9),
            Constraint::Length(3),
            Constraint::Length(9),
            Constraint::Length(8),
            Constraint::Length(15),
        ],
    )
    .block(block);
    frame.render_widget(table, area);
}

#[cfg(test)]
mod tests {
    use super::super::test_support::screen;
    use crate::tui::action::Action;
    use crate::tui::app::Screen;
    use crate::tui::testdata;

    #[test]
    fn percentiles_cache_history_and_regressions() {
        let mut app = testdata::finished_app(testdata::report());
        app.set_history(vec![
            ("a".into(), 3_100.0),
            ("b".into(), 6_000.0),
            ("c".into(), 3_900.0),
        ]);
        // The finished run appends itself.
        app.apply_event(crate::engine::events::EngineEvent::Finished(Box::new(
            testdata::report(),
        )));
        app.update(Action::GoTo(Screen::Performance));
        for (w, h) in [(80, 24), (120, 40)] {
            let text = screen(&mut app, w, h);
            assert!(text.contains("http.pypi"), "{text}");
            assert!(text.contains("400.0ms"), "p99 of http.pypi:\n{text}");
            assert!(text.contains("95.0%"), "{text}");
            assert!(text.contains("76.0%"), "file level hit rate:\n{text}");
            assert!(text.contains("best 3.10s"), "{text}");
            assert!(text.contains("worst 6.00s"), "{text}");
            assert!(text.contains("4 runs"), "{text}");
            assert!(text.contains("×1.75"), "{text}");
            assert!(text.contains("×1.50"), "{text}");
            assert!(
                text.contains("median and spread of 5 comparable runs"),
                "{text}"
            );
            assert!(text.contains("±"), "the spread is shown:\n{text}");
        }
    }

    #[test]
    fn empty_performance_screen_says_what_is_missing() {
        let mut app = testdata::new_app();
        app.update(Action::GoTo(Screen::Performance));
        let text = screen(&mut app, 80, 24);
        assert!(text.contains("starting…"), "{text}");
        assert!(text.contains("no finished runs yet"), "{text}");
    }
}
