//! The interactive terminal dashboard: renders engine events and metrics, turns keys into
//! intents (re-run, quit, write a policy exception). The terminal is always restored — on quit,
//! on error, on SIGTERM/SIGHUP and on panic — and nothing is ever logged to the screen.
//!
//! Event loop: one `tokio::select!` over terminal input, engine events (drained in bounded
//! batches, never one redraw per event) and a frame tick that reads the metrics `watch` and
//! redraws only when something visible changed.

pub mod action;
pub mod app;
pub mod exceptions;
pub mod keymap;
pub mod theme;
pub mod view;

#[cfg(test)]
mod testdata;

use std::io::{self, IsTerminal, Stdout};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossterm::event::{Event, EventStream};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use futures_util::{Stream, StreamExt};
use ratatui::Terminal;
use ratatui::backend::{Backend, CrosstermBackend};
use tokio::sync::{mpsc, watch};

use crate::engine::{Command, EngineEvent, EngineHandle, MetricsSnapshot};
use crate::error::Error;
use crate::model::Report;
use crate::settings::Settings;

use app::{App, Intent, MessageKind};
use theme::Theme;

/// Redraw at most this often (about 30 frames per second).
const FRAME: Duration = Duration::from_millis(33);
/// Engine events applied per wakeup before input and frames get their turn again.
const MAX_EVENTS_PER_WAKEUP: usize = 1024;
/// How long quitting waits for the engine to stop before leaving it to the runtime.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(300);

/// Past runs shown in the performance screen's chart.
const RECENT_RUNS: usize = 30;

/// Run the dashboard until the user quits. Returns the last finished report, if any, so the
/// caller can exit according to its outcome.
pub async fn run(
    mut handle: EngineHandle,
    settings: Arc<Settings>,
    log_file: Option<PathBuf>,
) -> Result<Option<Report>, Error> {
    let theme = Theme::from_env();
    let mut app = App::new(settings.target_label(), settings.policy.clone());
    app.set_log_file(log_file);
    if let Some(history) = settings
        .history_file
        .as_deref()
        .and_then(|path| crate::perf::history::History::open(path).ok())
    {
        // Per target: the first report says which records belong on the chart.
        app.set_past_runs(
            history
                .recent(RECENT_RUNS)
                .iter()
                .map(|r| {
                    let label = r.at.get(5..16).unwrap_or(&r.at).to_string();
                    (r.target.clone(), label, r.total_ms)
                })
                .collect(),
        );
    }
    if app.policy_path.is_none() {
        app.policy_path = Some(crate::settings::project_dir(&settings.target).join("depdash.toml"));
    }

    // The dashboard draws on stdout; a pipe there is a caller's mistake, not a screen to take.
    if !io::stdout().is_terminal() {
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, handle.shutdown()).await;
        return Err(Error::Terminal("stdout is not a terminal".into()));
    }
    let mut guard = TerminalGuard::enter()?;
    let mut input = EventStream::new();
    let result = event_loop(
        &mut guard.terminal,
        &mut input,
        &mut handle,
        &mut app,
        &theme,
    )
    .await;
    let restored = guard.restore();
    drop(guard);
    // A run in progress is not waited for: the runtime ends it when the program exits.
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, handle.shutdown()).await;
    result?;
    restored?;
    Ok(app.into_report())
}

/// What the event loop needs from an engine (a trait so tests can drive it with plain channels).
pub(crate) trait EngineLink {
    fn events(&mut self) -> &mut mpsc::Receiver<EngineEvent>;
    fn metrics(&mut self) -> &mut watch::Receiver<MetricsSnapshot>;
    fn send(&self, command: Command);
}

impl EngineLink for EngineHandle {
    fn events(&mut self) -> &mut mpsc::Receiver<EngineEvent> {
        &mut self.events
    }

    fn metrics(&mut self) -> &mut watch::Receiver<MetricsSnapshot> {
        &mut self.metrics
    }

    fn send(&self, command: Command) {
        EngineHandle::send(self, command);
    }
}

/// Counters of one event loop, for tests.
#[derive(Debug, Default)]
pub(crate) struct LoopStats {
    pub frames: usize,
    pub engine_events: usize,
}

fn terminal_error(what: &str) -> impl Fn(io::Error) -> Error + '_ {
    move |e| Error::Terminal(format!("{what}: {e}"))
}

pub(crate) async fn event_loop<B, S, E>(
    terminal: &mut Terminal<B>,
    input: &mut S,
    engine: &mut E,
    app: &mut App,
    theme: &Theme,
) -> Result<LoopStats, Error>
where
    B: Backend,
    B::Error: std::fmt::Display,
    S: Stream<Item = io::Result<Event>> + Unpin,
    E: EngineLink,
{
    let mut stats = LoopStats::default();
    let mut frames = tokio::time::interval(FRAME);
    frames.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut engine_open = true;
    let mut signals = Signals::new();
    if let Ok(size) = terminal.size() {
        app.set_viewport(size.width, size.height);
    }

    loop {
        tokio::select! {
            received = input.next() => match received {
                Some(Ok(event)) => {
                    if handle_input(event, app, engine) == Flow::Quit {
                        return Ok(stats);
                    }
                }
                Some(Err(e)) => return Err(terminal_error("reading input")(e)),
                // The terminal went away: nothing more can be asked of us.
                None => return Ok(stats),
            },
            received = engine.events().recv(), if engine_open => match received {
                Some(event) => {
                    app.apply_event(event);
                    stats.engine_events += 1;
                    // Drain what is already queued, bounded so input stays responsive.
                    for _ in 1..MAX_EVENTS_PER_WAKEUP {
                        match engine.events().try_recv() {
                            Ok(event) => {
                                app.apply_event(event);
                                stats.engine_events += 1;
                            }
                            Err(_) => break,
                        }
                    }
                }
                None => engine_open = false,
            },
            _ = frames.tick() => {
                let metrics = engine.metrics();
                if metrics.has_changed().unwrap_or(false) {
                    let snapshot = metrics.borrow_and_update().clone();
                    app.apply_metrics(snapshot);
                }
                app.tick(Instant::now());
                if app.take_dirty() {
                    terminal
                        .draw(|frame| view::draw(frame, app, theme))
                        .map_err(|e| Error::Terminal(format!("drawing: {e}")))?;
                    stats.frames += 1;
                }
            }
            () = signals.recv() => return Ok(stats),
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Flow {
    Continue,
    Quit,
}

fn handle_input<E: EngineLink>(event: Event, app: &mut App, engine: &E) -> Flow {
    let action = match event {
        Event::Key(key) => keymap::action_for(key, app.input_mode()),
        Event::Resize(width, height) => Some(action::Action::Resize(width, height)),
        // Focus changes, pastes, mouse: nothing to do, but a redraw is cheap insurance after
        // the terminal was obscured.
        _ => None,
    };
    let Some(action) = action else {
        return Flow::Continue;
    };
    match app.update(action) {
        None => Flow::Continue,
        Some(Intent::Quit) => Flow::Quit,
        Some(Intent::Rerun { refresh }) => {
            tracing::info!(refresh, "re-run requested from the dashboard");
            engine.send(Command::Run { refresh });
            Flow::Continue
        }
        Some(Intent::WriteException(exception)) => {
            write_exception(app, &exception);
            Flow::Continue
        }
    }
}

fn write_exception(app: &mut App, exception: &exceptions::PolicyException) {
    let Some(path) = app.policy_path.clone() else {
        app.set_status(MessageKind::Error, "no policy file to write to");
        return;
    };
    match exceptions::append_exception(&path, exception) {
        Ok(()) => {
            tracing::info!(path = %path.display(), package = %exception.package, "policy exception written");
            app.set_status(
                MessageKind::Info,
                format!(
                    "exception for {} appended to {} · r re-runs with it",
                    exception.package,
                    path.display()
                ),
            );
        }
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "policy exception not written");
            app.set_status(
                MessageKind::Error,
                format!("not written to {}: {e}", path.display()),
            );
        }
    }
}

/// SIGTERM and SIGHUP end the dashboard like `q` does (so the terminal is restored).
struct Signals {
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    hangup: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    fn new() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Signals {
                terminate: signal(SignalKind::terminate()).ok(),
                hangup: signal(SignalKind::hangup()).ok(),
            }
        }
        #[cfg(not(unix))]
        Signals {}
    }

    async fn recv(&mut self) {
        #[cfg(unix)]
        {
            async fn next(signal: &mut Option<tokio::signal::unix::Signal>) {
                match signal {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending().await,
                }
            }
            tokio::select! {
                () = next(&mut self.terminate) => {}
                () = next(&mut self.hangup) => {}
            }
        }
        #[cfg(not(unix))]
        std::future::pending::<()>().await
    }
}

// ---- terminal setup and restore -------------------------------------------------------------

/// Whether raw mode and the alternate screen are on (shared with the panic hook).
static TERMINAL_ACTIVE: AtomicBool = AtomicBool::new(false);
static PANIC_HOOK: Once = Once::new();

/// Leave raw mode and the alternate screen, once, whoever asks first.
fn restore_terminal() -> io::Result<()> {
    if !TERMINAL_ACTIVE.swap(false, Ordering::SeqCst) {
        return Ok(());
    }
    // Raw mode first: it has more side effects than the alternate screen.
    let raw = disable_raw_mode();
    let screen = execute!(io::stdout(), LeaveAlternateScreen, crossterm::cursor::Show);
    raw.and(screen)
}

/// Restore the terminal before the panic message is printed, so it is readable.
fn install_panic_hook() {
    PANIC_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let _ = restore_terminal();
            previous(info);
        }));
    });
}

/// Owns the terminal while the dashboard runs; restores it when dropped.
struct TerminalGuard {
    terminal: Terminal<CrosstermBackend<Stdout>>,
}

impl TerminalGuard {
    fn enter() -> Result<Self, Error> {
        install_panic_hook();
        enable_raw_mode().map_err(terminal_error("enabling raw mode"))?;
        TERMINAL_ACTIVE.store(true, Ordering::SeqCst);
        let setup = execute!(io::stdout(), EnterAlternateScreen, crossterm::cursor::Hide)
            .and_then(|()| Terminal::new(CrosstermBackend::new(io::stdout())));
        match setup {
            Ok(terminal) => Ok(TerminalGuard { terminal }),
            Err(e) => {
                let _ = restore_terminal();
                Err(terminal_error("setting up the screen")(e))
            }
        }
    }

    fn restore(&mut self) -> Result<(), Error> {
        restore_terminal().map_err(terminal_error("restoring the terminal"))
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        let _ = restore_terminal();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use ratatui::backend::TestBackend;
    use std::sync::Mutex;

    struct FakeEngine {
        events: mpsc::Receiver<EngineEvent>,
        metrics: watch::Receiver<MetricsSnapshot>,
        sent: Mutex<Vec<Command>>,
    }

    impl EngineLink for FakeEngine {
        fn events(&mut self) -> &mut mpsc::Receiver<EngineEvent> {
            &mut self.events
        }
        fn metrics(&mut self) -> &mut watch::Receiver<MetricsSnapshot> {
            &mut self.metrics
        }
        fn send(&self, command: Command) {
            self.sent.lock().unwrap().push(command);
        }
    }

    fn key(c: char) -> io::Result<Event> {
        Ok(Event::Key(KeyEvent::new(
            KeyCode::Char(c),
            KeyModifiers::NONE,
        )))
    }

    /// Input that yields `keys` once the engine channel is drained and closed, so the test
    /// sees every event applied before the keys.
    fn keys_after(
        keys: Vec<io::Result<Event>>,
        delay: Duration,
    ) -> impl Stream<Item = io::Result<Event>> + Unpin {
        let mut keys = Some(keys);
        Box::pin(
            futures_util::stream::once(tokio::time::sleep(delay))
                .flat_map(move |()| futures_util::stream::iter(keys.take().unwrap_or_default())),
        )
        .chain(futures_util::stream::pending())
    }

    #[tokio::test]
    async fn a_flood_of_events_is_drained_in_few_frames_and_keys_still_work() {
        let (event_tx, event_rx) = mpsc::channel(8192);
        let (metrics_tx, metrics_rx) = watch::channel(MetricsSnapshot::default());
        let total = 3000;
        event_tx
            .try_send(EngineEvent::RunStarted {
                run: 1,
                target: "/venv".into(),
            })
            .unwrap();
        for i in 0..total {
            event_tx
                .try_send(testdata::request(
                    crate::telemetry::SourceKind::Pypi,
                    &format!("host-{}", i % 7),
                    false,
                ))
                .unwrap();
        }
        event_tx
            .try_send(EngineEvent::Finished(Box::new(testdata::clean_report())))
            .unwrap();
        drop(event_tx);
        metrics_tx.send(testdata::snapshot(1, 2, 2)).unwrap();

        let mut engine = FakeEngine {
            events: event_rx,
            metrics: metrics_rx,
            sent: Mutex::new(Vec::new()),
        };
        let mut app = testdata::new_app();
        let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
        let mut input = keys_after(
            vec![
                key('r'),
                Ok(Event::Key(KeyEvent::new(
                    KeyCode::Char('R'),
                    KeyModifiers::SHIFT,
                ))),
                key('q'),
            ],
            Duration::from_millis(300),
        );
        // A guard against hanging, not a speed assertion.
        let stats = tokio::time::timeout(
            Duration::from_secs(30),
            event_loop(
                &mut terminal,
                &mut input,
                &mut engine,
                &mut app,
                &Theme::plain(),
            ),
        )
        .await
        .expect("the loop ends on q")
        .expect("no terminal error");

        assert_eq!(stats.engine_events, total + 2);
        // Thousands of events, a handful of frames: redraws follow the frame tick, not events.
        assert!(stats.frames >= 1 && stats.frames <= 12, "{stats:?}");
        assert_eq!(
            *engine.sent.lock().unwrap(),
            vec![
                Command::Run { refresh: false },
                Command::Run { refresh: true }
            ]
        );
        assert_eq!(
            app.phase(),
            &app::Phase::Finished(crate::model::Outcome::Clean)
        );
        let screen = view::test_support::text(terminal.backend().buffer());
        assert!(screen.contains("CLEAN"), "{screen}");
        assert!(screen.contains("95.0%"), "metrics were read:\n{screen}");
        assert!(app.into_report().is_some());
    }

    #[tokio::test]
    async fn writing_an_exception_reports_the_result_in_the_footer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("depdash.toml");
        std::fs::write(&path, testdata::POLICY).unwrap();
        let mut app = testdata::finished_app(testdata::report());
        app.policy_path = Some(path.clone());
        let (_tx, rx) = mpsc::channel(1);
        let (_mtx, mrx) = watch::channel(MetricsSnapshot::default());
        let engine = FakeEngine {
            events: rx,
            metrics: mrx,
            sent: Mutex::new(Vec::new()),
        };
        app.update(action::Action::GoTo(app::Screen::Violations));
        // The first row is the GPL license violation.
        for c in ['e', 'o', 'k'] {
            let flow = handle_input(key(c).unwrap(), &mut app, &engine);
            assert_eq!(flow, Flow::Continue);
        }
        let enter = || Event::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
        // Reason, then the expiry.
        let type_expiry = |app: &mut app::App| {
            handle_input(enter(), app, &engine);
            for c in "2099-12-31".chars() {
                handle_input(key(c).unwrap(), app, &engine);
            }
            handle_input(enter(), app, &engine);
        };
        type_expiry(&mut app);
        let status = app.status.clone().expect("a message");
        assert_eq!(status.kind, MessageKind::Info, "{status:?}");
        let policy = crate::policy::load(&path).unwrap();
        assert_eq!(policy.licenses.exceptions[0].name, "gpl-widget");
        assert_eq!(policy.licenses.exceptions[0].reason, "ok");
        assert_eq!(
            policy.licenses.exceptions[0].until,
            Some(time::macros::date!(2099 - 12 - 31))
        );

        // An unwritable location is an error message, not a crash.
        app.policy_path = Some(dir.path().join("missing-dir").join("depdash.toml"));
        for c in ['e', 'x'] {
            handle_input(key(c).unwrap(), &mut app, &engine);
        }
        type_expiry(&mut app);
        let status = app.status.clone().expect("a message");
        assert_eq!(status.kind, MessageKind::Error, "{status:?}");
        assert!(status.text.contains("missing-dir"), "{status:?}");
    }
}
