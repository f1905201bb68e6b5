//! The headless face: consumes the engine's events, shows progress on stderr when it is a
//! terminal, and hands back the finished report.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use crate::cli::ProgressMode;
use crate::engine::{EngineEvent, EngineHandle};
use crate::error::{Error, Result};
use crate::model::Report;

/// Run until the first report, printing progress per `mode`; warnings go to stderr unless
/// `quiet` (which also turns progress off).
pub async fn run(mut handle: EngineHandle, mode: ProgressMode, quiet: bool) -> Result<Report> {
    let show_progress = !quiet
        && match mode {
            ProgressMode::Always => true,
            ProgressMode::Never => false,
            ProgressMode::Auto => std::io::stderr().is_terminal(),
        };
    let mut progress = Progress::new(show_progress);
    let result = loop {
        let Some(event) = handle.events.recv().await else {
            break Err(Error::Engine("stopped without a report".into()));
        };
        match event {
            EngineEvent::Finished(report) => break Ok(*report),
            EngineEvent::Failed(error) => break Err(*error),
            EngineEvent::Warning(message) => {
                progress.clear();
                if !quiet {
                    // A closed stderr must not end the run: the report still goes to stdout.
                    let _ = writeln!(
                        std::io::stderr(),
                        "warning: {}",
                        crate::term_text::clean_lines(&message)
                    );
                }
            }
            EngineEvent::InventoryDone { packages, .. } => {
                progress.total = packages;
                progress.draw(&handle);
            }
            EngineEvent::Request(_) => progress.draw(&handle),
            _ => {}
        }
    };
    progress.clear();
    handle.shutdown().await;
    result
}

/// A one-line, rate-limited progress display.
struct Progress {
    enabled: bool,
    total: usize,
    last_draw: Option<Instant>,
    drawn: bool,
}

impl Progress {
    fn new(enabled: bool) -> Self {
        Progress {
            enabled,
            total: 0,
            last_draw: None,
            drawn: false,
        }
    }

    fn draw(&mut self, handle: &EngineHandle) {
        if !self.enabled
            || self
                .last_draw
                .is_some_and(|t| t.elapsed() < Duration::from_millis(80))
        {
            return;
        }
        let m = handle.metrics.borrow().clone();
        let total = m.packages_total.max(self.total);
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
