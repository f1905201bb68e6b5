//! The interactive terminal dashboard: renders engine state, sends intents.

use std::path::PathBuf;
use std::sync::Arc;

use crate::engine::EngineHandle;
use crate::model::Report;
use crate::settings::Settings;

/// Placeholder until the dashboard lands: runs headless.
pub async fn run(
    handle: EngineHandle,
    _settings: Arc<Settings>,
    _log_file: Option<PathBuf>,
) -> crate::Result<Option<Report>> {
    crate::headless::run(handle, crate::cli::ProgressMode::Auto)
        .await
        .map(Some)
}
