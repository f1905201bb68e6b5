//! One run: inventory → licenses → vulnerabilities and registry facts (cache, then network) →
//! policy evaluation → report, with events and metrics along the way.

use tokio::sync::watch;

use super::events::{EventSink, MetricsSnapshot};
use crate::error::{Error, Result};
use crate::model::Report;
use crate::settings::Settings;

/// Run the checks once and build the report.
pub async fn run_once(
    _settings: &Settings,
    _events: &EventSink,
    _metrics: &watch::Sender<MetricsSnapshot>,
    _run: u64,
    _refresh: bool,
) -> Result<Report> {
    Err(Error::Engine("not wired yet".into()))
}
