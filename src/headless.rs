//! The headless face: consumes the engine's events, shows progress on stderr when it is a
//! terminal, and hands back the finished report (or, in watch mode, every report until Ctrl-C).

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use crate::cli::ProgressMode;
use crate::engine::{EngineEvent, EngineHandle};
use crate::error::{Error, Result};
use crate::model::Report;

/// Run until the first report, printing progress per `mode`; warnings go to stderr unless
/// `quiet` (which also turns progress off).
pub async fn run(mut handle: EngineHandle, mode: ProgressMode, quiet: bool) -> Result<Report> {
    let mut progress = Progress::new(mode, quiet);
    let result = next_report(&mut handle, &mut progress).await;
    handle.shutdown().await;
    result
}

/// Watch mode: hand every report to `emit` until Ctrl-C (or the engine stops); a change on disk
/// is announced on stdout before its report. Returns the last report, if any.
pub async fn watch(
    mut handle: EngineHandle,
    mode: ProgressMode,
    quiet: bool,
    mut emit: impl FnMut(&Report) -> Result<()>,
) -> Result<Option<Report>> {
    let mut progress = Progress::new(mode, quiet);
    let mut last = None;
    loop {
        tokio::select! {
            result = next_report(&mut handle, &mut progress) => match result {
                Ok(report) => {
                    emit(&report)?;
                    last = Some(report);
                }
                // A failed run (e.g. a policy file that no longer parses) is said, and the
                // watch goes on: the next change may fix it.
                Err(Error::Engine(message)) if message == STOPPED => break,
                Err(e) => eprintln!("error: {}", crate::term_text::clean_lines(&e.to_string())),
            },
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    progress.clear();
    handle.shutdown().await;
    Ok(last)
}

const STOPPED: &str = "stopped without a report";

/// How often the progress line is redrawn.
const REDRAW_EVERY: Duration = Duration::from_millis(80);

/// Consume events until the current run's report (or failure). The progress line is redrawn
/// on a clock from the engine's metrics: the engine sends a headless face no per-request events.
async fn next_report(handle: &mut EngineHandle, progress: &mut Progress) -> Result<Report> {
    let mut redraw = tokio::time::interval(REDRAW_EVERY);
    redraw.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let result = loop {
        let event = tokio::select! {
            event = handle.events.recv() => event,
            _ = redraw.tick(), if progress.enabled => {
                progress.draw(handle);
                continue;
            }
        };
        let Some(event) = event else {
            break Err(Error::Engine(STOPPED.into()));
        };
        match event {
            EngineEvent::Finished(report) => break Ok(*report),
            EngineEvent::Failed(error) => break Err(*error),
            EngineEvent::Warning(message) => {
                progress.clear();
                if !progress.quiet {
                    // A closed stderr must not end the run: the report still goes to stdout.
                    let _ = writeln!(
                        std::io::stderr(),
                        "warning: {}",
                        crate::term_text::clean_lines(&message)
                    );
                }
            }
            EngineEvent::InputsChanged { what, at } => {
                progress.clear();
                println!(
                    "── {:02}:{:02}:{:02} UTC · re-checking: {} ──",
                    at.hour(),
                    at.minute(),
                    at.second(),
                    // File names come from outside: no control characters to the terminal.
                    crate::term_text::clean_lines(&what.join(", "))
                );
            }
            EngineEvent::InventoryDone { packages, .. } => {
                progress.total = packages;
                progress.draw(handle);
            }
            _ => {}
        }
    };
    progress.clear();
    result
}

/// A one-line, rate-limited progress display.
struct Progress {
    enabled: bool,
    /// Nothing but errors on stderr: no progress, no warnings.
    quiet: bool,
    total: usize,
    last_draw: Option<Instant>,
    drawn: bool,
}

impl Progress {
    fn new(mode: ProgressMode, quiet: bool) -> Self {
        Progress {
            enabled: !quiet
                && match mode {
                    ProgressMode::Always => true,
                    ProgressMode::Never => false,
                    ProgressMode::Auto => std::io::stderr().is_terminal(),
                },
            quiet,
            total: 0,
            last_draw: None,
            drawn: false,
        }
    }

    fn draw(&mut self, handle: &EngineHandle) {
        if !self.enabled || self.last_draw.is_some_and(|t| t.elapsed() < REDRAW_EVERY) {
            return;
        }
        let m = handle.metrics.borrow().clone();
        let total = m.packages_total.max(self.total);
        // Nothing to count yet (the inventory is still being taken).
        if total == 0 {
            return;
        }
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r\x1b[2K  {}/{} packages · {} requests ({} in flight) · cache {:.0}% hit",
            m.packages_done,
            total,
            m.network.requests,
            m.network.in_flight,
            m.cache.hit_rate() * 100.0
        );
        let _ = err.flush();
        self.last_draw = Some(Instant::now());
        self.drawn = true;
    }

    fn clear(&mut self) {
        if self.drawn {
            eprint!("\r\x1b[2K");
            self.drawn = false;
        }
    }
}
