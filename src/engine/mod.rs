//! The engine: runs inventory, fetches, caching and checks on tokio and reports through events
//! (bounded `mpsc`) and a metrics snapshot (`watch`). It takes commands (run again, shut down)
//! and, in watch mode, re-runs by itself when an input changes on disk.
//! Knows nothing about terminals: both faces drive the same engine.

mod cache_writer;
mod evaluate;
pub mod events;
mod index_license;
mod indexes;
mod registry;
mod reuse;
mod revalidate;
mod run;
mod snapshot;
mod vulnerabilities;
pub mod watcher;

use std::sync::Arc;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

pub use events::{EngineEvent, EventSink, MetricsSnapshot};
pub use run::run_once;

use crate::settings::Settings;

/// Capacity of the event channel: large enough that a frame-rate consumer never stalls the
/// engine in practice, small enough to bound memory if a consumer stops reading.
const EVENT_CAPACITY: usize = 4096;

/// What a face can ask of the engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// Run the checks again; `refresh` bypasses cached answers.
    Run { refresh: bool },
    /// Stop after the current run.
    Shutdown,
}

/// The faces' side of a running engine.
pub struct EngineHandle {
    pub events: mpsc::Receiver<EngineEvent>,
    pub metrics: watch::Receiver<MetricsSnapshot>,
    commands: mpsc::Sender<Command>,
    task: JoinHandle<()>,
}

impl EngineHandle {
    /// Ask for something; ignored when the engine has already stopped.
    pub fn send(&self, command: Command) {
        let _ = self.commands.try_send(command);
    }

    /// Stop the engine and wait for it.
    pub async fn shutdown(self) {
        let _ = self.commands.send(Command::Shutdown).await;
        drop(self.events);
        let _ = self.task.await;
    }
}

/// What a face asks of the engine beyond its runs' stages, warnings and reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EngineOptions {
    /// Re-run (from the cache) whenever an input of the last run changes on disk, and say what
    /// changed ([`EngineEvent::InputsChanged`]).
    pub watch_inputs: bool,
    /// Tell every request and attempt as it goes ([`EngineEvent::Request`],
    /// [`EngineEvent::Attempt`]), for a face that shows them.
    pub request_events: bool,
}

/// Start the engine on the current tokio runtime; the first run starts at once.
pub fn spawn(settings: Arc<Settings>) -> EngineHandle {
    spawn_with(settings, EngineOptions::default())
}

/// Start the engine with `options` (see [`EngineOptions`]).
pub fn spawn_with(settings: Arc<Settings>, options: EngineOptions) -> EngineHandle {
    let EngineOptions {
        watch_inputs,
        request_events,
    } = options;
    let (event_tx, event_rx) = mpsc::channel(EVENT_CAPACITY);
    let (metrics_tx, metrics_rx) = watch::channel(MetricsSnapshot::default());
    let (command_tx, mut command_rx) = mpsc::channel(16);
    // Unbounded but tiny: one message per debounced batch of file changes.
    let (change_tx, mut change_rx) = mpsc::unbounded_channel::<Vec<String>>();
    let sink = if request_events {
        EventSink::new(event_tx)
    } else {
        EventSink::new(event_tx).without_requests()
    };
    let task = tokio::spawn(async move {
        let mut settings = settings;
        let mut run = 0u64;
        let mut refresh = settings.cache.refresh;
        let mut watcher: Option<watcher::InputWatcher> = None;
        let mut changed: Vec<String> = Vec::new();
        loop {
            run += 1;
            if run > 1 {
                settings = with_current_policy(settings, &sink).await;
            }
            if !changed.is_empty() {
                let what = std::mem::take(&mut changed);
                sink.emit(EngineEvent::InputsChanged {
                    what,
                    at: time::OffsetDateTime::now_utc(),
                })
                .await;
            }
            match run_once(&settings, &sink, &metrics_tx, run, refresh).await {
                Ok(report) => {
                    if watch_inputs {
                        watcher = rewatch(watcher, &settings, &report, &change_tx, &sink).await;
                    }
                    sink.emit(EngineEvent::Finished(Box::new(report))).await
                }
                Err(e) => sink.emit(EngineEvent::Failed(Box::new(e))).await,
            }
            // Wait for a request or a change, then coalesce whatever else queued meanwhile:
            // one more run serves them all.
            refresh = false;
            tokio::select! {
                command = command_rx.recv() => match command {
                    Some(Command::Run { refresh: r }) => refresh = r,
                    Some(Command::Shutdown) | None => break,
                },
                Some(what) = change_rx.recv() => {
                    changed.extend(what);
                    // Debounce: an install touches the environment for a while; re-check once
                    // it has been quiet for a moment (at most a few seconds: a directory that never
                    // stops changing still gets checked).
                    let deadline = tokio::time::Instant::now() + watcher::DEBOUNCE * 10;
                    while let Ok(Some(more)) =
                        tokio::time::timeout(watcher::DEBOUNCE, change_rx.recv()).await
                    {
                        changed.extend(more);
                        if tokio::time::Instant::now() >= deadline {
                            break;
                        }
                    }
                }
            }
            let mut stop = false;
            while let Ok(command) = command_rx.try_recv() {
                match command {
                    Command::Run { refresh: r } => refresh |= r,
                    Command::Shutdown => stop = true,
                }
            }
            while let Ok(what) = change_rx.try_recv() {
                changed.extend(what);
            }
            if stop {
                break;
            }
            changed.sort();
            changed.dedup();
        }
    });
    EngineHandle {
        events: event_rx,
        metrics: metrics_rx,
        commands: command_tx,
        task,
    }
}

/// Keep watching the inputs of the run that produced `report`; a new watch only when they
/// changed (e.g. a new site-packages directory). A watch that cannot be set up is a warning:
/// the dashboard still works, it just does not re-check by itself.
async fn rewatch(
    current: Option<watcher::InputWatcher>,
    settings: &Settings,
    report: &crate::model::Report,
    changes: &mpsc::UnboundedSender<Vec<String>>,
    sink: &EventSink,
) -> Option<watcher::InputWatcher> {
    let inputs = watcher::inputs(settings, report);
    if let Some(current) = current.filter(|w| *w.inputs() == inputs) {
        return Some(current);
    }
    match watcher::InputWatcher::start(inputs, changes.clone()) {
        Ok(watcher) => Some(watcher),
        Err(e) => {
            sink.emit(EngineEvent::Warning(format!(
                "{e}; re-check with r after changes"
            )))
            .await;
            None
        }
    }
}

/// Re-read the policy before a re-run, so edits (and exceptions written from the dashboard) take
/// effect without a restart. An invalid file keeps the previous policy, with a warning.
async fn with_current_policy(settings: Arc<Settings>, sink: &EventSink) -> Arc<Settings> {
    match settings.reload_policy() {
        Ok(policy) if policy == settings.policy => settings,
        Ok(policy) => {
            sink.emit(EngineEvent::PolicyReloaded(Box::new(policy.clone())))
                .await;
            let mut updated = (*settings).clone();
            updated.policy = policy;
            Arc::new(updated)
        }
        Err(e) => {
            // One line per warning: a file's several errors are joined.
            let errors = e.to_string().replace('\n', "; ");
            sink.emit(EngineEvent::Warning(format!(
                "policy not reloaded, the previous one stays in force: {errors}"
            )))
            .await;
            settings
        }
    }
}
