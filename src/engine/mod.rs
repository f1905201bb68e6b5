//! The engine: runs inventory, fetches, caching and checks on tokio and reports through events
//! (bounded `mpsc`) and a metrics snapshot (`watch`). It takes commands (run again, shut down).
//! Knows nothing about terminals: both faces drive the same engine.

mod evaluate;
pub mod events;
mod run;

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

/// Start the engine on the current tokio runtime; the first run starts at once.
pub fn spawn(settings: Arc<Settings>) -> EngineHandle {
    let (event_tx, event_rx) = mpsc::channel(EVENT_CAPACITY);
    let (metrics_tx, metrics_rx) = watch::channel(MetricsSnapshot::default());
    let (command_tx, mut command_rx) = mpsc::channel(16);
    let sink = EventSink::new(event_tx);
    let task = tokio::spawn(async move {
        let mut settings = settings;
        let mut run = 0u64;
        let mut refresh = settings.cache.refresh;
        loop {
            run += 1;
            if run > 1 {
                settings = with_current_policy(settings, &sink).await;
            }
            match run_once(&settings, &sink, &metrics_tx, run, refresh).await {
                Ok(report) => sink.emit(EngineEvent::Finished(Box::new(report))).await,
                Err(e) => sink.emit(EngineEvent::Failed(Box::new(e))).await,
            }
            // Coalesce queued requests: one more run serves them all.
            match command_rx.recv().await {
                Some(Command::Run { refresh: r }) => refresh = r,
                Some(Command::Shutdown) | None => break,
            }
        }
    });
    EngineHandle {
        events: event_rx,
        metrics: metrics_rx,
        commands: command_tx,
        task,
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
