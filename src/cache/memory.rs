//! L1: an in-process moka cache of verified records, bounded by entry count, with a per-entry
//! expiry taken from each record's own TTL.
//!
//! In a one-shot `depdash check` L1 mostly catches repeated lookups within the run (the same
//! advisory for several packages); it earns its keep in the dashboard, where every re-run
//! after the first is answered from memory without touching the disk.

use std::time::{Duration, Instant};

use moka::Expiry;
use moka::future::Cache;

use super::entry::{Record, unix_now};

/// Evicts a record when it can no longer be served: at the end of its TTL, or, when stale
/// serving is allowed, at the end of its grace window.
struct RecordExpiry {
    allow_stale: bool,
}

impl RecordExpiry {
    fn remaining(&self, record: &Record) -> Duration {
        let now = unix_now();
        let secs = if self.allow_stale {
            record.secs_until_dead(now)
        } else {
            record.secs_until_stale(now)
        };
        Duration::from_secs(secs)
    }
}

impl Expiry<String, Record> for RecordExpiry {
    fn expire_after_create(&self, _: &String, record: &Record, _: Instant) -> Option<Duration> {
        Some(self.remaining(record))
    }

    // A replaced value carries its own TTL; the default would keep the old deadline.
    fn expire_after_update(
        &self,
        _: &String,
        record: &Record,
        _: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        Some(self.remaining(record))
    }
}

pub(crate) struct MemoryLevel {
    cache: Cache<String, Record>,
}

impl MemoryLevel {
    pub(crate) fn new(max_entries: u64, allow_stale: bool) -> Self {
        MemoryLevel {
            cache: Cache::builder()
                .max_capacity(max_entries)
                .expire_after(RecordExpiry { allow_stale })
                .build(),
        }
    }

    pub(crate) async fn get(&self, key: &str) -> Option<Record> {
        self.cache.get(key).await
    }

    pub(crate) async fn insert(&self, key: &str, record: Record) {
        self.cache.insert(key.to_owned(), record).await;
    }
}
