//! Tests of the dashboard state: events in, actions in, what the views read out.

use super::*;
use crate::engine::events::EngineEvent;
use crate::tui::exceptions::{ExceptionKind, PolicyException};
use crate::tui::keymap::action_for;
use crate::tui::testdata;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Press a key the way the event loop does: keymap (mode-aware), then update.
fn press(app: &mut App, code: KeyCode) -> Option<Intent> {
    let modifiers = match code {
        KeyCode::Char(c) if c.is_ascii_uppercase() => KeyModifiers::SHIFT,
        KeyCode::BackTab => KeyModifiers::SHIFT,
        _ => KeyModifiers::NONE,
    };
    let action = action_for(KeyEvent::new(code, modifiers), app.input_mode())?;
    app.update(action)
}

fn typed(app: &mut App, text: &str) {
    for c in text.chars() {
        press(app, KeyCode::Char(c));
    }
}

fn visible_names(app: &App) -> Vec<String> {
    app.packages_view
        .visible
        .iter()
        .map(|&i| app.rows()[i].normalized.clone())
        .collect()
}

#[test]
fn tab_and_digits_switch_screens() {
    let mut app = testdata::finished_app(testdata::report());
    assert_eq!(app.screen, Screen::Overview);
    let mut seen = Vec::new();
    for _ in 0..4 {
        press(&mut app, KeyCode::Tab);
        seen.push(app.screen);
    }
    assert_eq!(
        seen,
        vec![
            Screen::Packages,
            Screen::Violations,
            Screen::Performance,
            Screen::Overview
        ]
    );
    press(&mut app, KeyCode::BackTab);
    assert_eq!(app.screen, Screen::Performance);
    press(&mut app, KeyCode::Char('3'));
    assert_eq!(app.screen, Screen::Violations);
}

#[test]
fn quit_and_rerun_intents() {
    let mut app = testdata::finished_app(testdata::report());
    assert_eq!(
        press(&mut app, KeyCode::Char('r')),
        Some(Intent::Rerun { refresh: false })
    );
    assert_eq!(
        press(&mut app, KeyCode::Char('R')),
        Some(Intent::Rerun { refresh: true })
    );
    assert_eq!(press(&mut app, KeyCode::Char('q')), Some(Intent::Quit));
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert_eq!(
        app.update(action_for(ctrl_c, app.input_mode()).unwrap()),
        Some(Intent::Quit)
    );
}

#[test]
fn rerun_during_a_run_is_queued_until_the_next_run_starts() {
    let mut app = testdata::running_app();
    press(&mut app, KeyCode::Char('R'));
    assert_eq!(app.pending_rerun(), Some(true));
    assert!(app.status.as_ref().unwrap().text.contains("queued"));
    app.apply_event(EngineEvent::Finished(Box::new(testdata::report())));
    app.apply_event(EngineEvent::RunStarted {
        run: 2,
        target: "/project/.venv".into(),
    });
    assert_eq!(app.pending_rerun(), None);
    assert_eq!(app.phase(), &Phase::Running);
    // The finished report stays on the packages screen while run 2 goes on.
    assert!(app.showing_previous_run());
    assert_eq!(app.rows().len(), testdata::packages().len());
}

#[test]
fn slash_searches_and_typed_characters_filter() {
    let mut app = testdata::finished_app(testdata::report());
    press(&mut app, KeyCode::Char('/'));
    assert_eq!(app.screen, Screen::Packages);
    assert_eq!(app.input_mode(), InputMode::Text);
    // In search mode, letters are text, not commands: q does not quit.
    typed(&mut app, "url");
    assert_eq!(visible_names(&app), vec!["urllib3"]);
    press(&mut app, KeyCode::Backspace);
    press(&mut app, KeyCode::Backspace);
    assert!(visible_names(&app).contains(&"requests".to_string()));
    typed(&mut app, "rl");
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.input_mode(), InputMode::Normal);
    assert_eq!(
        visible_names(&app),
        vec!["urllib3"],
        "Enter keeps the filter"
    );
    // Esc in normal mode clears a kept filter.
    press(&mut app, KeyCode::Esc);
    assert_eq!(visible_names(&app).len(), testdata::packages().len());

    // Esc while typing clears and leaves search.
    press(&mut app, KeyCode::Char('/'));
    typed(&mut app, "mit");
    let by_license = visible_names(&app);
    assert!(!by_license.contains(&"idna".to_string()));
    assert!(
        by_license.contains(&"six".to_string()),
        "license text matches"
    );
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.input_mode(), InputMode::Normal);
    assert!(app.packages_view.filter.is_empty());
    assert_eq!(press(&mut app, KeyCode::Char('q')), Some(Intent::Quit));
}

#[test]
fn status_filter_sort_and_selection_follow_the_package() {
    let mut app = testdata::finished_app(testdata::report());
    press(&mut app, KeyCode::Char('2'));
    press(&mut app, KeyCode::Char('f'));
    assert_eq!(app.packages_view.status_filter, StatusFilter::Violations);
    assert_eq!(
        visible_names(&app),
        vec!["gpl-widget", "pycrypto", "urllib3"]
    );
    press(&mut app, KeyCode::Char('j'));
    assert_eq!(app.selected_package().unwrap().name, "pycrypto");
    // Showing everything again keeps pycrypto selected, wherever it now is.
    for _ in 0..4 {
        press(&mut app, KeyCode::Char('f'));
    }
    assert_eq!(app.packages_view.status_filter, StatusFilter::All);
    assert_eq!(app.selected_package().unwrap().name, "pycrypto");
    press(&mut app, KeyCode::Char('s')); // name
    assert_eq!(visible_names(&app)[0], "boto3");
    press(&mut app, KeyCode::Char('s')); // license
    assert_eq!(
        visible_names(&app)[0],
        "boto3",
        "Apache-2.0 first, then name"
    );
    assert_eq!(
        app.rows()[app.packages_view.visible.last().copied().unwrap()].name,
        "mystery-lib"
    );
    press(&mut app, KeyCode::Char('s')); // vulns
    // An unknown count may hide advisories: it sorts above every known count.
    assert_eq!(visible_names(&app)[..2], ["internal-pkg", "urllib3"]);
    press(&mut app, KeyCode::Char('S'));
    assert_eq!(visible_names(&app).last().unwrap(), "internal-pkg");
    press(&mut app, KeyCode::End);
    assert_eq!(
        app.packages_view.selected,
        app.packages_view.visible.len() - 1
    );
    press(&mut app, KeyCode::Home);
    assert_eq!(app.packages_view.selected, 0);
    press(&mut app, KeyCode::PageDown);
    assert!(app.packages_view.selected > 1);
}

#[test]
fn enter_on_a_violation_opens_its_drill_down_and_esc_closes_it() {
    let mut app = testdata::finished_app(testdata::report());
    press(&mut app, KeyCode::Char('3'));
    // Group headers are skipped: the first selectable row is the first finding.
    assert!(matches!(
        app.selected_violation(),
        Some(ViolationRow::Finding(_))
    ));
    press(&mut app, KeyCode::Char('j'));
    press(&mut app, KeyCode::Char('j'));
    press(&mut app, KeyCode::Enter);
    let Some(Overlay::Detail(detail)) = app.overlays.last() else {
        panic!("no drill-down: {:?}", app.overlays);
    };
    let DetailSubject::Finding(finding) = &detail.subject else {
        panic!("{:?}", detail.subject);
    };
    assert_eq!(finding.package.as_deref(), Some("pycrypto"));
    assert_eq!(detail.paths, vec![vec!["pycrypto".to_string()]]);
    // Keys scroll the drill-down, not the list underneath.
    press(&mut app, KeyCode::Char('j'));
    assert_eq!(app.violations_view.selected, 2);
    press(&mut app, KeyCode::Esc);
    assert!(app.overlays.is_empty());
}

#[test]
fn exception_prompt_yields_a_write_intent_with_the_reason() {
    let mut app = testdata::finished_app(testdata::report());
    press(&mut app, KeyCode::Char('3'));
    press(&mut app, KeyCode::Char('e'));
    assert_eq!(app.input_mode(), InputMode::Text);
    // An empty (or blank) reason is refused; the prompt stays open.
    typed(&mut app, "  ");
    assert_eq!(press(&mut app, KeyCode::Enter), None);
    assert!(matches!(app.overlays.last(), Some(Overlay::Prompt(_))));
    assert!(
        app.status
            .as_ref()
            .is_some_and(|m| m.text.contains("a reason is required")),
        "{:?}",
        app.status
    );
    typed(&mut app, "legal ok'd ");
    // A license exception asks for an expiry too.
    app.set_today(time::macros::date!(2026 - 12 - 01));
    assert_eq!(press(&mut app, KeyCode::Enter), None);
    typed(&mut app, "2027-06-30");
    let intent = press(&mut app, KeyCode::Enter);
    assert_eq!(
        intent,
        Some(Intent::WriteException(PolicyException {
            package: "gpl-widget".into(),
            kind: ExceptionKind::License {
                ids: vec!["GPL-3.0-only".into()]
            },
            reason: "legal ok'd".into(),
            until: Some(time::macros::date!(2027 - 06 - 30)),
        }))
    );
    assert!(app.overlays.is_empty());

    // From a vulnerability drill-down: an ignore for that advisory; Esc cancels.
    // urllib3's two advisories are one line: Enter expands it, j selects the first.
    press(&mut app, KeyCode::Char('j'));
    press(&mut app, KeyCode::Char('j'));
    press(&mut app, KeyCode::Char('j'));
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Char('j'));
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Char('e'));
    let Some(Overlay::Prompt(prompt)) = app.overlays.last() else {
        panic!("{:?}", app.overlays);
    };
    assert_eq!(
        prompt.exception.kind,
        ExceptionKind::Vulnerability {
            id: "GHSA-v845-jxx5-vc9f".into()
        }
    );
    press(&mut app, KeyCode::Esc);
    assert!(matches!(app.overlays.last(), Some(Overlay::Detail(_))));

    // A vulnerability ignore asks for an expiry after the reason: invalid and past dates are
    // refused with the prompt kept; the first valid day is today.
    app.set_today(time::macros::date!(2026 - 12 - 01));
    press(&mut app, KeyCode::Char('e'));
    typed(&mut app, "not reachable");
    assert_eq!(press(&mut app, KeyCode::Enter), None);
    let Some(Overlay::Prompt(prompt)) = app.overlays.last() else {
        panic!("{:?}", app.overlays);
    };
    assert_eq!(prompt.field, PromptField::Until);
    let refused = |app: &mut App, text: &str, why: &str| {
        typed(app, text);
        assert_eq!(press(app, KeyCode::Enter), None, "{text}");
        assert!(matches!(app.overlays.last(), Some(Overlay::Prompt(_))));
        let status = app.status.as_ref().map(|m| (m.kind, m.text.clone()));
        assert!(
            matches!(&status, Some((MessageKind::Error, t)) if t.contains(why)),
            "{text}: {status:?}"
        );
        for _ in 0..text.len() {
            press(app, KeyCode::Backspace);
        }
    };
    refused(&mut app, "", "an expiry date is required");
    refused(&mut app, "2027-13-01", "is not a date");
    refused(&mut app, "2026-11-30", "in the past");
    typed(&mut app, "2026-12-01");
    assert_eq!(
        press(&mut app, KeyCode::Enter),
        Some(Intent::WriteException(PolicyException {
            package: "urllib3".into(),
            kind: ExceptionKind::Vulnerability {
                id: "GHSA-v845-jxx5-vc9f".into()
            },
            reason: "not reachable".into(),
            until: Some(time::macros::date!(2026 - 12 - 01)),
        }))
    );
    assert!(matches!(app.overlays.last(), Some(Overlay::Detail(_))));

    // Findings that cannot be excepted say why instead.
    let unknown_license = &testdata::findings()[1];
    let err = app.exception_for(unknown_license).unwrap_err();
    assert!(err.contains("unresolved"), "{err}");
    let denied_package = &testdata::findings()[4];
    assert!(app.exception_for(denied_package).is_err());
}

#[test]
fn stale_and_initial_metrics_are_ignored() {
    let mut app = testdata::new_app();
    app.apply_metrics(MetricsSnapshot::default());
    assert!(app.metrics().is_none());
    app.apply_event(EngineEvent::RunStarted {
        run: 2,
        target: "/venv".into(),
    });
    app.apply_metrics(testdata::snapshot(1, 10, 10));
    assert!(
        app.metrics().is_none(),
        "a snapshot of run 1 says nothing about run 2"
    );
    app.apply_metrics(testdata::snapshot(2, 3, 10));
    assert_eq!(app.progress(), Some((3, 10)));
    assert!(app.take_dirty());
    app.apply_metrics(testdata::snapshot(2, 3, 10));
    assert!(!app.take_dirty(), "an identical snapshot needs no redraw");
}

#[test]
fn report_metrics_stand_in_when_no_snapshot_arrived() {
    let mut report = testdata::clean_report();
    // The layout `perf::finish_report` writes, as JSON: a report read back is typed.
    report.metrics = serde_json::from_value(serde_json::json!({
        "total_ms": 1500.0,
        "operations": { "http.osv": {
            "count": 2, "total_ms": 30.0, "mean_ms": 15.0, "min_ms": 10.0,
            "p50_ms": 10.0, "p95_ms": 20.0, "p99_ms": 20.0, "max_ms": 20.0 } },
        "cache": { "enabled": true, "state": "warm", "lookups": 8, "hits": 6,
            "hit_rate": 0.75, "stale_served": 0,
            "levels": { "file": { "lookups": 8, "hits": 6, "misses": 2, "writes": 0,
                "bytes_read": 0, "bytes_written": 0, "corrupt_repaired": 0, "errors": 0,
                "hit_rate": 0.75 } } },
        "network": { "requests": 2, "retries": 0, "failures": 0, "bytes": 10,
            "in_flight": 0, "max_in_flight": 1, "breaker_trips": 0 },
        "baseline": { "verdict": "not-recorded" },
        "regressions": []
    }))
    .unwrap();
    let mut app = testdata::new_app();
    app.apply_event(EngineEvent::Finished(Box::new(report)));
    let cache = app.cache().expect("cache counters from the report");
    assert_eq!((cache.hits, cache.lookups), (6, 8));
    assert_eq!(cache.levels["file"].hits, 6);
    assert_eq!(app.operations().unwrap()["http.osv"].p95_ms, 20.0);
    assert_eq!(app.elapsed(), Duration::from_millis(1500));
    assert!(app.baseline_note().unwrap().contains("history is off"));
}

#[test]
fn health_compares_versions_by_pep440() {
    let mut p = testdata::package("x", "1.10.0");
    p.registry.as_mut().unwrap().latest_version = Some("1.9.0".into());
    assert_eq!(Health::of(&p), Health::Ok);
    p.registry.as_mut().unwrap().latest_version = Some("1.10.1".into());
    assert_eq!(Health::of(&p), Health::Outdated("1.10.1".into()));
    p.registry = None;
    assert_eq!(Health::of(&p), Health::Unknown);
}

#[test]
fn the_history_chart_keeps_the_runs_of_this_target() {
    let mut app = testdata::new_app();
    app.set_past_runs(vec![
        ("/project/.venv".into(), "a".into(), 100.0),
        ("/other/venv".into(), "b".into(), 9_000.0),
        (String::new(), "old".into(), 120.0),
    ]);
    let report = testdata::report();
    assert_eq!(report.target.path, "/project/.venv");
    app.apply_event(EngineEvent::Finished(Box::new(report)));
    let labels: Vec<&str> = app.history().iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(labels.len(), 3, "{labels:?}");
    assert_eq!(labels[..2], ["a", "old"]);
    assert!(!labels.contains(&"b"), "another target's run: {labels:?}");
}

#[test]
fn violations_sort_package_names_case_insensitively() {
    let mut names = [
        Some("zope".to_string()),
        Some("Django".into()),
        Some("attrs".into()),
    ];
    names.sort_by(super::view_state::by_name);
    let names: Vec<&str> = names.iter().flatten().map(String::as_str).collect();
    assert_eq!(names, ["attrs", "Django", "zope"]);
}
