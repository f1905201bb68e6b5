//! Overview: progress, then the verdict, sources, cache, findings by check, slow operations.
//!
//! ```text
//! ╭ Run 2 ──────────────────────────────────────────────────────────────────╮
//! │  VIOLATIONS  4 violations · 2 warnings · 1 unknown   INCOMPLETE          │
//! │ /project/.venv · vulnerabilities · 12 requests · 1 notice                │
//! │ ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━───────── 37/180 pkgs │
//! ╰──────────────────────────────────────────────────────────────────────────╯
//! ╭ Findings by check ─────────────────╮╭ Sources ───────────────────────────╮
//! │ check          viol  warn  unkn    ││ host          req  fail  breaker   │
//! │ licenses          1     1     0    ││ pypi.org      120     1  closed    │
//! ╰────────────────────────────────────╯╰────────────────────────────────────╯
//! ╭ Slowest operations (by total) ─────────────────╮╭ Cache ─────────────────╮
//! │ operation      count    p50    p95   total      ││ overall 95.0%   200   │
//! ╰─────────────────────────────────────────────────╯╰───────────────────────╯
//! ```

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{LineGauge, Paragraph, Row, Table};

use crate::analysis::remedy;
use crate::engine::events::Stage;
use crate::model::{Check, Outcome, Severity};
use crate::telemetry::BreakerState;

use super::super::app::{App, Phase, SourceStats};
use super::super::theme::Theme;
use super::{
    fmt_duration, fmt_ms, fmt_rate, operations_by_total, panel, plural, right, right_styled,
    truncate,
};

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let notices_height = if area.height >= 32 && !app.warnings().is_empty() {
        (app.warnings().len() as u16).min(4) + 2
    } else {
        0
    };
    let middle_height = if area.height >= 30 { 9 } else { 8 };
    let troubles = remedy::troubles(app.live_unknowns());
    // Two lines per cause (what failed, what to do); small screens keep room for one.
    let troubles_height = if troubles.is_empty() {
        0
    } else {
        let room = if area.height >= 30 { 8 } else { 4 };
        (troubles.len() as u16 * 2 + 2).min(room)
    };
    let [run, middle, unknown, bottom, notices] = Layout::vertical([
        Constraint::Length(5),
        Constraint::Length(middle_height),
        Constraint::Length(troubles_height),
        Constraint::Min(4),
        Constraint::Length(notices_height),
    ])
    .areas(area);
    render_run(frame, run, app, theme);
    if troubles_height > 0 {
        render_troubles(frame, unknown, &troubles, theme);
    }

    let [findings, sources] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(middle);
    render_findings(frame, findings, app, theme);
    render_sources(frame, sources, app, theme);

    let cache_width = if bottom.width >= 100 { 34 } else { 28 };
    let [ops, cache] =
        Layout::horizontal([Constraint::Min(40), Constraint::Length(cache_width)]).areas(bottom);
    render_operations(frame, ops, app, theme);
    render_cache(frame, cache, app, theme);
    if notices_height > 0 {
        render_notices(frame, notices, app, theme);
    }
}

fn stage_label(stage: Stage) -> &'static str {
    match stage {
        Stage::Inventory => "inventory",
        Stage::Licenses => "licenses",
        Stage::Vulnerabilities => "vulnerabilities from OSV",
        Stage::Registry => "release facts from the index",
        Stage::Evaluate => "evaluating",
    }
}

/// Counts of the current run: (violations, warnings, unknowns, blocking unknowns).
fn counts(app: &App) -> (usize, usize, usize, usize) {
    let findings = app.live_findings();
    let unknowns = app.live_unknowns();
    (
        findings.iter().filter(|f| f.is_violation()).count(),
        findings
            .iter()
            .filter(|f| f.severity == Severity::Warning)
            .count(),
        unknowns.len(),
        unknowns.iter().filter(|u| u.fails_run).count(),
    )
}

/// The verdict line. Only a finished, clean run says "clean"; unknowns that block get their own
/// badge, next to violations and mid-run too. Drops detail rather than overflow `width`.
fn verdict<'a>(app: &App, theme: &Theme, width: usize) -> Line<'a> {
    let (violations, warnings, unknowns, blocking) = counts(app);
    let short = format!(
        "{} · {} · {}",
        plural(violations, "violation"),
        plural(warnings, "warning"),
        plural(unknowns, "unknown")
    );
    let full = if blocking > 0 {
        format!("{short} ({blocking} blocking)")
    } else {
        short.clone()
    };
    let badge = |text: &str, style| Span::styled(format!(" {text} "), theme.badge(style));
    let incomplete = blocking > 0 && !matches!(app.phase(), Phase::Failed(_));
    let build = |tally: String| -> Line<'a> {
        let mut spans = match app.phase() {
            Phase::Starting => vec![badge("STARTING", theme.muted())],
            Phase::Running => vec![badge("RUNNING", theme.accent())],
            Phase::Finished(Outcome::Clean) => vec![badge("CLEAN", theme.ok())],
            Phase::Finished(Outcome::Violations) => vec![badge("VIOLATIONS", theme.violation())],
            Phase::Finished(Outcome::Incomplete) => vec![],
            Phase::Failed(_) => vec![badge("FAILED", theme.violation())],
        };
        if incomplete {
            if !spans.is_empty() {
                spans.push(Span::raw(" "));
            }
            spans.push(badge("INCOMPLETE", theme.unknown()));
        }
        spans.push(Span::raw("  "));
        match app.phase() {
            Phase::Starting => spans.push(Span::styled(
                "starting… waiting for the first results",
                theme.muted(),
            )),
            // Findings come with the report: mid-run there is no tally to show yet.
            Phase::Running => spans.push(Span::styled(
                "checking… findings come with the report",
                theme.muted(),
            )),
            Phase::Finished(Outcome::Clean) => spans.push(Span::raw(format!(
                "no violations, nothing unknown · {}",
                plural(warnings, "warning")
            ))),
            Phase::Finished(_) => spans.push(Span::raw(tally)),
            Phase::Failed(reason) => {
                spans.push(Span::styled(reason.clone(), theme.violation()));
            }
        }
        Line::from(spans)
    };
    let line = build(full);
    if line.width() <= width {
        line
    } else {
        build(short)
    }
}

fn render_run(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let run = app.run_number();
    let title = if run > 0 {
        format!(" Run {run} ")
    } else {
        " Run ".to_string()
    };
    let block = panel(title, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [line1, line2, line3] = Layout::vertical([Constraint::Length(1); 3]).areas(inner);
    frame.render_widget(
        Paragraph::new(verdict(app, theme, line1.width as usize)),
        line1,
    );

    let mut detail = vec![Span::raw(app.target.clone())];
    let mut push = |text: String, style| {
        detail.push(Span::styled(" · ", theme.muted()));
        detail.push(Span::styled(text, style));
    };
    if let (Phase::Running, Some((stage, _))) = (app.phase(), app.stage()) {
        push(stage_label(stage).to_string(), theme.accent());
    }
    if let Some(issues) = app.inventory_issues().filter(|n| *n > 0) {
        push(plural(issues, "inventory issue"), theme.warning());
    }
    if matches!(app.phase(), Phase::Running | Phase::Finished(_)) {
        push(fmt_duration(app.elapsed()), theme.text());
    }
    if let Some(pending) = app.pending_rerun() {
        let what = if pending {
            "refresh queued"
        } else {
            "re-run queued"
        };
        push(what.to_string(), theme.accent());
    }
    if !app.warnings().is_empty() {
        push(plural(app.warnings().len(), "notice"), theme.warning());
    }
    frame.render_widget(Paragraph::new(Line::from(detail)), line2);

    match app.progress() {
        Some((done, total)) => {
            let label = format!(" {done}/{total} packages");
            let [gauge, text] = Layout::horizontal([
                Constraint::Min(0),
                Constraint::Length(label.chars().count() as u16),
            ])
            .areas(line3);
            let ratio = if total == 0 {
                0.0
            } else {
                done as f64 / total as f64
            };
            frame.render_widget(
                LineGauge::default()
                    .label("")
                    .ratio(ratio.clamp(0.0, 1.0))
                    .filled_symbol("━")
                    .unfilled_symbol("─")
                    .filled_style(theme.gauge_filled())
                    .unfilled_style(theme.gauge_unfilled()),
                gauge,
            );
            frame.render_widget(Paragraph::new(label), text);
        }
        None => {
            let text = match app.phase() {
                Phase::Failed(_) => "no packages checked",
                _ => "starting… counting packages",
            };
            frame.render_widget(Paragraph::new(Span::styled(text, theme.muted())), line3);
        }
    }
}

const CHECKS: [Check; 4] = [
    Check::Licenses,
    Check::Packages,
    Check::Vulnerabilities,
    Check::Health,
];

fn render_findings(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let block = panel(" Findings by check ", theme);
    if app.phase() == &Phase::Starting {
        frame.render_widget(
            Paragraph::new(Span::styled("starting…", theme.muted())).block(block),
            area,
        );
        return;
    }
    let findings = app.live_findings();
    let unknowns = app.live_unknowns();
    let row_for = |label: &str, matches: &dyn Fn(Check) -> bool| {
        let errors = findings
            .iter()
            .filter(|f| matches(f.check) && f.severity == Severity::Error)
            .count();
        let warnings = findings
            .iter()
            .filter(|f| matches(f.check) && f.severity == Severity::Warning)
            .count();
        let unknown = unknowns.iter().filter(|u| matches(u.check)).count();
        Row::new(vec![
            Line::raw(label.to_string()).into(),
            right_styled(errors.to_string(), theme.count(errors, theme.violation())),
            right_styled(warnings.to_string(), theme.count(warnings, theme.warning())),
            right_styled(unknown.to_string(), theme.count(unknown, theme.unknown())),
        ])
    };
    let mut rows: Vec<Row> = CHECKS
        .iter()
        .map(|check| row_for(check.as_str(), &|c| c == *check))
        .collect();
    let other = |c: Check| !CHECKS.contains(&c);
    if findings.iter().any(|f| other(f.check)) || unknowns.iter().any(|u| other(u.check)) {
        rows.push(row_for("other", &other));
    }
    let vulnerable: usize = app
        .report()
        .filter(|_| matches!(app.phase(), Phase::Finished(_)))
        .map_or(0, |r| r.summary.vulnerabilities);
    if vulnerable > 0 {
        rows.push(Row::new(vec![Line::styled(
            format!("{} known", plural(vulnerable, "advisory")),
            theme.muted(),
        )]));
    }
    let table = Table::new(
        rows,
        [
            Constraint::Min(15),
            Constraint::Length(5),
            Constraint::Length(5),
            Constraint::Length(5),
        ],
    )
    .header(Row::new(vec!["check", "viol", "warn", "unkn"]).style(theme.table_header()))
    .block(block);
    frame.render_widget(table, area);
}

fn breaker_label(state: BreakerState) -> &'static str {
    match state {
        BreakerState::Closed => "closed",
        BreakerState::Open => "OPEN",
        BreakerState::HalfOpen => "half-open",
    }
}

fn render_sources(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let block = panel(" Sources ", theme);
    let inner_height = area.height.saturating_sub(2) as usize;
    let breakers = app.breakers();
    let sources = app.sources();
    let mut hosts: Vec<&String> = sources.keys().chain(breakers.keys()).collect();
    hosts.sort();
    hosts.dedup();
    // Hosts with unfinished requests first: trouble as it happens is what this panel is for.
    hosts.sort_by_key(|h| sources.get(*h).is_none_or(|s| s.pending.is_empty()));
    if hosts.is_empty() {
        let text = match app.phase() {
            Phase::Starting => "starting…",
            _ => "no requests yet",
        };
        frame.render_widget(
            Paragraph::new(Span::styled(text, theme.muted())).block(block),
            area,
        );
        return;
    }
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [table_area, counters] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(inner);
    let host_width = (inner.width as usize).saturating_sub(5 + 5 + 9 + 3).max(8);
    let visible = inner_height.saturating_sub(2).max(1);
    // Each host, then (while it has unfinished requests, or bytes) a line of its live state
    // spanning the width: lines, not a table, so that line is not cut to the host column.
    let now = std::time::Instant::now();
    let header = Line::styled(
        format!(
            "{:<host_width$} {:>5} {:>5} {:<9}",
            "host", "req", "fail", "breaker"
        ),
        theme.table_header(),
    );
    let lines: Vec<Line> = std::iter::once(header)
        .chain(hosts.iter().flat_map(|host| {
            let stats = sources.get(*host);
            let requests = stats.map_or(0, |s| s.requests);
            let failures = stats.map_or(0, |s| s.failures) as usize;
            let breaker = breakers.get(*host).copied().unwrap_or(BreakerState::Closed);
            let row = Line::from(vec![
                Span::raw(format!("{:<host_width$} ", truncate(host, host_width))),
                Span::raw(format!("{requests:>5} ")),
                Span::styled(
                    format!("{failures:>5} "),
                    theme.count(failures, theme.violation()),
                ),
                Span::styled(breaker_label(breaker), theme.breaker(breaker)),
            ]);
            let live = stats.and_then(|s| live_line(s, now, inner.width as usize, theme));
            std::iter::once(row).chain(live)
        }))
        .take(visible + 1)
        .collect();
    if let Some(network) = app.network() {
        let mut text = format!(
            "in flight {} (max {}) · retries {}",
            network.in_flight, network.max_in_flight, network.retries
        );
        // Expired cache entries the index confirmed (304), shown once there are any.
        if network.revalidated > 0 {
            text.push_str(&format!(" · revalidated {}", network.revalidated));
        }
        frame.render_widget(
            Paragraph::new(Span::styled(
                truncate(&text, counters.width as usize),
                theme.muted(),
            )),
            counters,
        );
    }
    frame.render_widget(Paragraph::new(lines), table_area);
}

/// Bytes for people: `812 B`, `4.0 KiB`, `12.5 MiB`.
fn fmt_bytes(bytes: u64) -> String {
    match bytes {
        0..1024 => format!("{bytes} B"),
        1024..1_048_576 => format!("{:.1} KiB", bytes as f64 / 1024.0),
        _ => format!("{:.1} MiB", bytes as f64 / 1_048_576.0),
    }
}

/// A host's live state in words: `└ 3 in flight (oldest 2.4s) · 5 queued · retry 3 of 4 in
/// 0.8s · 12.0 KiB received`. A request in flight for over a second is a hanging host: warning colour.
fn live_line<'a>(
    stats: &SourceStats,
    now: std::time::Instant,
    width: usize,
    theme: &Theme,
) -> Option<Line<'a>> {
    let live = stats.live(now);
    let mut parts = Vec::new();
    let mut hanging = false;
    if live.in_flight > 0 {
        let mut part = format!("{} in flight", live.in_flight);
        if let Some(oldest) = live.oldest.filter(|o| o.as_millis() >= 1000) {
            hanging = true;
            part.push_str(&format!(" (oldest {})", fmt_duration(oldest)));
        }
        parts.push(part);
    }
    if live.queued > 0 {
        parts.push(format!("{} queued", live.queued));
    }
    if let Some((attempt, of, wait)) = live.retry {
        // The next attempt's number: attempt `attempt` failed.
        parts.push(format!(
            "retry {} of {of} in {}",
            attempt + 1,
            fmt_duration(wait)
        ));
    }
    if parts.is_empty() {
        return None;
    }
    if stats.bytes > 0 {
        parts.push(format!("{} received", fmt_bytes(stats.bytes)));
    }
    let style = if hanging || live.retry.is_some() {
        theme.warning()
    } else {
        theme.muted()
    };
    let text = format!("└ {}", parts.join(" · "));
    Some(Line::styled(truncate(&text, width), style))
}

fn render_operations(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let block = panel(" Slowest operations (by total time) ", theme);
    let Some(ops) = operations_by_total(frame, area, app, block.clone(), theme) else {
        return;
    };
    let show_p50 = area.width >= 60;
    let show_p99 = area.width >= 72;
    let visible = area.height.saturating_sub(3) as usize;
    let rows: Vec<Row> = ops
        .into_iter()
        .take(visible)
        .map(|(name, s)| {
            let mut cells = vec![Line::raw(name.clone()).into(), right(s.count.to_string())];
            if show_p50 {
                cells.push(right(fmt_ms(s.p50_ms)));
            }
            cells.push(right(fmt_ms(s.p95_ms)));
            if show_p99 {
                cells.push(right(fmt_ms(s.p99_ms)));
            }
            cells.push(right(fmt_ms(s.total_ms)));
            Row::new(cells)
        })
        .collect();
    let mut widths = vec![Constraint::Min(12), Constraint::Length(6)];
    let mut header = vec!["operation", " count"];
    if show_p50 {
        widths.push(Constraint::Length(8));
        header.push("     p50");
    }
    widths.push(Constraint::Length(8));
    header.push("     p95");
    if show_p99 {
        widths.push(Constraint::Length(8));
        header.push("     p99");
    }
    widths.push(Constraint::Length(8));
    header.push("   total");
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(theme.table_header()))
        .block(block);
    frame.render_widget(table, area);
}

/// Cache hit rates overall and per level; shared with the performance screen.
pub(super) fn render_cache(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let block = panel(" Cache ", theme);
    let Some(cache) = app.cache() else {
        let text = match app.phase() {
            Phase::Starting => "starting…",
            _ => "no lookups yet",
        };
        frame.render_widget(
            Paragraph::new(Span::styled(text, theme.muted())).block(block),
            area,
        );
        return;
    };
    let mut rows = vec![Row::new(vec![
        Line::styled("overall", theme.accent()).into(),
        right_styled(fmt_rate(cache.hits, cache.lookups), theme.accent()),
        right(cache.lookups.to_string()),
    ])];
    // In lookup order (memory, file, redis), then anything else by name.
    let rank = |name: &str| ["memory", "file", "redis"].iter().position(|l| *l == name);
    let mut levels: Vec<_> = cache.levels.iter().collect();
    levels.sort_by_key(|(name, _)| (rank(name).unwrap_or(usize::MAX), (*name).clone()));
    for (name, level) in levels {
        rows.push(Row::new(vec![
            Line::raw(name.clone()).into(),
            right(fmt_rate(level.hits, level.lookups)),
            right(level.lookups.to_string()),
        ]));
    }
    if cache.stale_served > 0 {
        rows.push(Row::new(vec![Line::styled(
            format!("{} stale served", cache.stale_served),
            theme.warning(),
        )]));
    }
    let table = Table::new(
        rows,
        [
            Constraint::Min(7),
            Constraint::Length(7),
            Constraint::Length(7),
        ],
    )
    .header(Row::new(vec!["level", "    hit", "lookups"]).style(theme.table_header()))
    .block(block);
    frame.render_widget(table, area);
}

/// Which source left what unknown, why, and the one-line remedy.
fn render_troubles(frame: &mut Frame, area: Rect, troubles: &[remedy::Trouble], theme: &Theme) {
    let width = area.width.saturating_sub(4) as usize;
    let lines: Vec<Line> = troubles
        .iter()
        .flat_map(|t| {
            let what = format!(
                "{} unknown for {}: {}",
                t.check.as_str(),
                plural(t.count, "package"),
                t.reason
            );
            [
                Line::from(vec![
                    Span::styled("? ", theme.unknown()),
                    Span::raw(truncate(&what, width)),
                ]),
                Line::from(vec![
                    Span::styled("→ ", theme.accent()),
                    Span::styled(truncate(t.remedy, width), theme.muted()),
                ]),
            ]
        })
        .collect();
    let block = panel(" Unknown: why, and what to do ", theme);
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

fn render_notices(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let visible = area.height.saturating_sub(2) as usize;
    let warnings = app.warnings();
    let lines: Vec<Line> = warnings[warnings.len().saturating_sub(visible)..]
        .iter()
        .map(|w| {
            Line::from(vec![
                Span::styled("⚠ ", theme.warning()),
                Span::raw(w.clone()),
            ])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines).block(panel(" Notices ", theme)), area);
}

#[cfg(test)]
mod tests {
    use super::super::test_support::screen;
    use crate::engine::events::EngineEvent;
    use crate::tui::testdata;

    #[test]
    fn live_run_shows_progress_rates_and_no_verdict() {
        let mut app = testdata::running_app();
        for (w, h) in [(80, 24), (120, 40)] {
            let text = screen(&mut app, w, h);
            assert!(text.contains("37/180"), "{w}x{h}:\n{text}");
            assert!(text.contains("95.0%"), "{w}x{h}:\n{text}");
            assert!(text.contains("RUNNING"), "{text}");
            assert!(!text.contains("CLEAN"), "{text}");
            // 6 pypi requests with one failure; the half-open breaker is shown.
            assert!(text.contains("half-open"), "{text}");
            assert!(text.contains("http.pypi"), "{text}");
            assert!(text.contains("210.0ms"), "p95 of http.pypi:\n{text}");
            assert!(text.contains("in flight 4 (max 16)"), "{text}");
        }
    }

    #[test]
    fn unknowns_say_which_source_failed_why_and_what_to_do() {
        let mut app = testdata::finished_app(testdata::incomplete_report());
        for (w, h) in [(80, 24), (120, 40)] {
            let text = screen(&mut app, w, h);
            assert!(
                text.contains("? vulnerabilities unknown for 1 package: OSV querybatch"),
                "{w}x{h}:\n{text}"
            );
            assert!(text.contains("→ check HTTPS_PROXY"), "{w}x{h}:\n{text}");
        }
    }

    #[test]
    fn a_hanging_host_shows_from_attempt_events_before_any_request_ends() {
        use crate::telemetry::{AttemptEvent, AttemptPhase, SourceKind};
        let mut app = testdata::running_app();
        let attempt = |subject: &str, phase| {
            EngineEvent::Attempt(AttemptEvent {
                source: SourceKind::Osv,
                host: "slow.example".into(),
                subject: subject.into(),
                phase,
            })
        };
        app.apply_event(attempt("a", AttemptPhase::InFlight { attempt: 1, of: 4 }));
        app.apply_event(attempt("b", AttemptPhase::Queued));
        app.apply_event(attempt(
            "c",
            AttemptPhase::Retrying {
                attempt: 2,
                of: 4,
                retry_in: std::time::Duration::from_secs(3),
                reason: "timed out".into(),
            },
        ));
        let text = screen(&mut app, 120, 40);
        assert!(text.contains("slow.example"), "{text}");
        assert!(text.contains("1 in flight · 1 queued"), "{text}");
        assert!(text.contains("retry 3 of 4 in "), "{text}");
        // Over a second in flight: the age is shown.
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let text = screen(&mut app, 120, 40);
        assert!(text.contains("1 in flight (oldest 1."), "{text}");
        // The request ends: it leaves the live line; the bytes show while others are pending.
        app.apply_event(EngineEvent::Request(crate::telemetry::RequestEvent {
            source: SourceKind::Osv,
            host: "slow.example".into(),
            subject: "a".into(),
            duration: std::time::Duration::from_secs(1),
            retries: 0,
            outcome: crate::telemetry::RequestOutcome::Ok { status: 200 },
            bytes: 4096,
        }));
        let text = screen(&mut app, 120, 40);
        assert!(!text.contains("in flight (oldest"), "{text}");
        assert!(
            text.contains("4.0 KiB") || text.contains("4 KiB") || text.contains("4.0 KB"),
            "{text}"
        );
    }

    #[test]
    fn before_anything_arrives_it_says_starting_not_zeros() {
        let mut app = testdata::new_app();
        let text = screen(&mut app, 80, 24);
        assert!(text.contains("starting…"), "{text}");
        assert!(!text.contains("0/0"), "{text}");
        assert!(!text.contains("0.0%"), "{text}");
        assert!(!text.contains("CLEAN"), "{text}");
        assert!(!text.contains("0 violations"), "{text}");
    }

    #[test]
    fn clean_only_when_the_run_finished_clean() {
        let mut app = testdata::finished_app(testdata::clean_report());
        let text = screen(&mut app, 80, 24);
        assert!(text.contains("CLEAN"), "{text}");
        assert!(text.contains("2/2 packages"), "{text}");

        let mut app = testdata::finished_app(testdata::incomplete_report());
        let text = screen(&mut app, 80, 24);
        assert!(text.contains("INCOMPLETE"), "{text}");
        assert!(!text.contains("CLEAN"), "{text}");

        // Violations and a blocking unknown: both are said.
        let mut app = testdata::finished_app(testdata::report());
        let text = screen(&mut app, 80, 24);
        assert!(text.contains("VIOLATIONS"), "{text}");
        assert!(text.contains(" VIOLATIONS   INCOMPLETE "), "{text}");
        assert!(
            text.contains("4 violations · 2 warnings · 1 unknown"),
            "{text}"
        );
        let text = screen(&mut app, 120, 40);
        assert!(text.contains("1 unknown (1 blocking)"), "{text}");
    }

    #[test]
    fn mid_run_shows_progress_not_a_tally_and_failures_say_so() {
        let mut app = testdata::running_app();
        let text = screen(&mut app, 80, 24);
        assert!(text.contains(" RUNNING "), "{text}");
        assert!(text.contains("findings come with the report"), "{text}");
        assert!(!text.contains("0 violations"), "{text}");

        let mut app = testdata::new_app();
        app.apply_event(EngineEvent::Failed(Box::new(crate::Error::Engine(
            "not wired yet".into(),
        ))));
        let text = screen(&mut app, 80, 24);
        assert!(text.contains("FAILED"), "{text}");
        assert!(text.contains("not wired yet"), "{text}");
        assert!(!text.contains("CLEAN"), "{text}");
    }
}
