//! depdash measuring itself: per-operation timings, run history and regression detection.

pub mod history;
pub mod regression;
pub mod tracker;

use std::collections::BTreeMap;
use std::time::Duration;

use crate::engine::events::{CacheCounters, NetworkCounters};
use tracker::OperationStats;

/// Everything measured during one run, gathered at its end.
#[derive(Clone, Debug, Default)]
pub struct RunMetrics {
    pub operations: BTreeMap<String, OperationStats>,
    pub cache: CacheCounters,
    pub network: NetworkCounters,
    pub cache_enabled: bool,
    pub total: Duration,
}

/// Peak resident set size of this process so far (Linux `VmHWM`), in bytes.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_rss_is_read_on_linux() {
        if cfg!(target_os = "linux") {
            let rss = peak_rss_bytes().expect("VmHWM present on Linux");
            // A running test binary has at least a megabyte resident.
            assert!(rss > 1 << 20, "{rss}");
        }
    }
}
