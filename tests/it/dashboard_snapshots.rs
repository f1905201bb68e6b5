//! Snapshots (insta) of every dashboard screen at 80×24 and 120×40, drawn from what the real
//! engine reported on the real site-packages fixture against the loopback registry — not from
//! hand-written reports. What varies between runs and machines (the temporary directory, the
//! registry's port, timings, dates) is normalised in the data before it is drawn, so the
//! layout is the same everywhere. Under `CI=true` insta fails on a missing or changed
//! snapshot instead of writing one.

use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use depdash::engine::{self, EngineEvent, MetricsSnapshot};
use depdash::model::Report;
use depdash::settings::Settings;
use depdash::tui::action::Action;
use depdash::tui::app::{App, Overlay, Screen};
use depdash::tui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::support::registry::{RegistryServer, advisory, dataset_for};
use crate::support::site_packages::real_packages;

/// The fixed stand-ins for what varies.
const PROJECT: &str = "/project";
const HOST: &str = "127.0.0.1:40000";
const INSTANT: &str = "2026-12-01T12:00:00Z";

/// One finished run of the real engine: its report and last metrics snapshot, normalised.
async fn engine_run() -> (Report, MetricsSnapshot) {
    let dir = crate::support::site_packages::real_project_denying_mpl();
    let packages = real_packages();
    // Every fourth package has an advisory; the first has two more, to show grouping.
    let mut dataset = dataset_for(&packages, 4);
    let (name, version) = &packages[0];
    for id in ["GHSA-more-0001", "GHSA-more-0002"] {
        dataset.add_osv(advisory(id, name, version, "999.0"));
    }
    let server = RegistryServer::start(dataset).await;

    let args = crate::watch::run_args(dir.path(), &server.url());
    let cli = depdash::cli::Cli::parse_from(std::iter::once("depdash".to_string()).chain(args));
    let settings = Arc::new(Settings::resolve(&cli.run).unwrap());
    let mut handle = engine::spawn(settings);
    let report = loop {
        let event = tokio::time::timeout(Duration::from_secs(60), handle.events.recv())
            .await
            .expect("engine answered in time")
            .expect("engine still running");
        match event {
            EngineEvent::Finished(report) => break *report,
            EngineEvent::Failed(e) => panic!("run failed: {e}"),
            _ => {}
        }
    };
    let metrics = handle.metrics.borrow().clone();
    let root = dir.path().display().to_string();
    let port = server.url().replace("http://", "");
    let port = port.trim_end_matches('/');
    (
        normalise(&report, &root, port),
        normalise(&metrics, &root, port),
    )
}

/// `value` with the temporary directory, the registry's address, timestamps and durations
/// replaced by fixed stand-ins (done on the data, so the drawn layout does not move).
fn normalise<T: Serialize + DeserializeOwned>(value: &T, root: &str, host: &str) -> T {
    let text = serde_json::to_string(value).unwrap();
    let text = text.replace(root, PROJECT).replace(host, HOST);
    let mut json: Value = serde_json::from_str(&text).unwrap();
    fix_variable(&mut json, None);
    serde_json::from_value(json).expect("normalised data still has its shape")
}

fn fix_variable(value: &mut Value, key: Option<&str>) {
    let timestamp = regex::Regex::new(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d").unwrap();
    match value {
        Value::Object(map) => {
            // A serialised `Duration`.
            if map.contains_key("secs") && map.contains_key("nanos") && map.len() == 2 {
                map.insert("secs".into(), 1.into());
                map.insert("nanos".into(), 250_000_000.into());
                return;
            }
            for (k, v) in map.iter_mut() {
                fix_variable(v, Some(k));
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| fix_variable(v, key)),
        Value::Number(_) if key.is_some_and(|k| k.ends_with("_ms") || k.contains("seconds")) => {
            *value = serde_json::json!(12.5);
        }
        // A high-water mark: how many requests overlapped depends on scheduling.
        Value::Number(_) if key == Some("max_in_flight") => *value = serde_json::json!(32),
        Value::String(s) if timestamp.is_match(s) => *value = INSTANT.into(),
        _ => {}
    }
}

fn draw(app: &mut App, width: u16, height: u16) -> String {
    app.update(Action::Resize(width, height));
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    let theme = Theme::plain();
    terminal
        .draw(|frame| depdash::tui::view::draw(frame, app, &theme))
        .unwrap();
    let buffer = terminal.backend().buffer();
    let mut text = String::new();
    for y in 0..height {
        let line: String = (0..width)
            .map(|x| buffer[(x, y)].symbol().to_string())
            .collect();
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

fn finished_app(report: &Report, metrics: &MetricsSnapshot) -> App {
    let policy = depdash::policy::parse(
        "[licenses]\ndeny = [\"MPL-2.0\"]\nunknown = \"allow\"\n",
        std::path::Path::new("/project/depdash.toml"),
        false,
    )
    .unwrap();
    let mut app = App::new(format!("{PROJECT}/site-packages"), policy);
    app.apply_event(EngineEvent::RunStarted {
        run: 1,
        target: format!("{PROJECT}/site-packages"),
    });
    app.apply_metrics(metrics.clone());
    app.apply_event(EngineEvent::Finished(Box::new(report.clone())));
    app
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_screen_at_two_sizes() {
    // The engine runs in this process, where clap reads DEPDASH_* settings from the
    // environment (Redis, timeouts, an offline database): a developer's would change the run
    // (or reach their Redis). Setting variables is not safe among parallel tests: skip instead.
    if let Some((name, _)) =
        std::env::vars().find(|(k, _)| k.starts_with("DEPDASH_") && !k.starts_with("DEPDASH_TEST_"))
    {
        crate::support::skip::skip(&format!(
            "{name} is set: the snapshots need default settings"
        ));
        return;
    }
    let (report, metrics) = engine_run().await;
    assert!(
        !report.findings.is_empty(),
        "the fixture run has findings to show"
    );
    let screens: [(&str, &[Action]); 7] = [
        ("overview", &[Action::GoTo(Screen::Overview)]),
        ("packages", &[Action::GoTo(Screen::Packages)]),
        ("violations", &[Action::GoTo(Screen::Violations)]),
        (
            "violations_expanded",
            &[
                Action::GoTo(Screen::Violations),
                Action::Down,
                Action::Expand,
            ],
        ),
        (
            "detail",
            &[
                Action::GoTo(Screen::Violations),
                Action::Down,
                Action::Expand,
                Action::Down,
                Action::Select,
            ],
        ),
        ("performance", &[Action::GoTo(Screen::Performance)]),
        ("help", &[Action::ToggleHelp]),
    ];
    for (width, height) in [(80u16, 24u16), (120, 40)] {
        for (name, actions) in screens {
            let mut app = finished_app(&report, &metrics);
            for action in actions {
                app.update(action.clone());
            }
            let text = draw(&mut app, width, height);
            // The actions reached the screen meant (a snapshot alone would keep a wrong one).
            match name {
                "violations_expanded" => assert!(text.contains("▾ attrs"), "{text}"),
                "detail" => assert!(
                    matches!(app.overlays.last(), Some(Overlay::Detail(_))),
                    "{text}"
                ),
                "help" => assert!(matches!(app.overlays.last(), Some(Overlay::Help))),
                _ => {}
            }
            insta::assert_snapshot!(format!("{name}_{width}x{height}"), text);
        }
    }
}
