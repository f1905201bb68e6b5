//! The run's cache: opened as the settings say, and written off the async workers: answers
//! are handed to one blocking thread that stores them (memory, file and Redis levels) while
//! the fetch pipeline goes on; the run waits for the writes only when its answers are all in.
//! The thread collects what arrives within [`FLUSH_AFTER`] (at most a pack's worth) and stores
//! it with [`TieredCache::put_many`]: the file level writes the batch as one pack file with a
//! hard link per entry, so a batch costs one new file, not one per answer.
//!
//! Why: a file-level put costs a temp file, a write and a rename (0.7–0.8 ms each on the
//! development machine's overlay file system, p50); inline on the two async workers, a cold
//! 180-package run's ~400 puts held answers back by ~200 ms (`http.pypi` mean 120 ms for a
//! 50 ms server). On a thread but one file per answer, the run then waited 270–630 ms at slow
//! moments for ext4 to allocate ~400 inodes (`cache.drain`). Reads of the same run never need
//! a key written by it (each key is fetched once), so deferring the writes changes no answer.

use std::future::Future;
use std::sync::Arc;
use std::sync::mpsc::{self as std_mpsc, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::task::JoinHandle;

use super::events::{EngineEvent, EventSink};
use crate::cache::pack::MAX_RECORDS;
use crate::cache::{CacheConfig, CacheKey, TieredCache};
use crate::settings::Settings;
use crate::telemetry::tracker::Tracker;

/// How long a queued put waits for company before its batch is written as one pack. Chosen by
/// measurement (synthetic 180, HTTPS at 50 ms, 398 entries, load ≈ 4.5): flushing every 50 ms
/// wrote 4 packs during the run and left `cache.drain` at 0–1.6 ms; writing everything at the
/// end made 2 packs and a drain of 1.4–4.8 ms.
const FLUSH_AFTER: Duration = Duration::from_millis(50);

/// How long a run waited, once its answers were all in, for the writes still queued.
const OP_DRAIN: &str = "cache.drain";

struct Job {
    key: CacheKey,
    payload: Vec<u8>,
    ttl: Duration,
}

pub(super) struct CacheWriter {
    jobs: std_mpsc::Sender<Job>,
    thread: JoinHandle<()>,
}

impl CacheWriter {
    pub(super) fn start(cache: TieredCache) -> Self {
        let (jobs, queue) = std_mpsc::channel::<Job>();
        let runtime = tokio::runtime::Handle::current();
        let thread = tokio::task::spawn_blocking(move || {
            let mut batch = Vec::new();
            let mut due: Option<Instant> = None;
            loop {
                let next = match due {
                    None => queue.recv().map_err(|_| RecvTimeoutError::Disconnected),
                    Some(due) => queue.recv_timeout(due.saturating_duration_since(Instant::now())),
                };
                let closed = match next {
                    Ok(job) => {
                        due.get_or_insert_with(|| Instant::now() + FLUSH_AFTER);
                        batch.push((job.key, job.payload, job.ttl));
                        if batch.len() < MAX_RECORDS {
                            continue;
                        }
                        false
                    }
                    Err(RecvTimeoutError::Timeout) => false,
                    Err(RecvTimeoutError::Disconnected) => true,
                };
                runtime.block_on(cache.put_many(&batch));
                batch.clear();
                due = None;
                if closed {
                    break;
                }
            }
        });
        CacheWriter { jobs, thread }
    }

    /// Queue `value` (as JSON) for the cache; a value that cannot be serialised is skipped.
    pub(super) fn put_json<T: Serialize + ?Sized>(&self, key: &CacheKey, value: &T, ttl: Duration) {
        match serde_json::to_vec(value) {
            Ok(payload) => {
                let job = Job {
                    key: key.clone(),
                    payload,
                    ttl,
                };
                // The thread lives until `finish`: a send cannot fail before.
                let _ = self.jobs.send(job);
            }
            Err(e) => {
                tracing::warn!(key = %key, error = %e, "could not serialise record for the cache")
            }
        }
    }

    /// No more puts: the thread writes what is queued now, whether or not the returned future
    /// (which waits for it, timed as `cache.drain`) is polled yet.
    pub(super) fn finish(self, tracker: Arc<Tracker>) -> impl Future<Output = ()> + Send {
        drop(self.jobs);
        let thread = self.thread;
        async move {
            let _ = tracker.time_async(OP_DRAIN, thread).await;
        }
    }
}

/// The run's cache as the settings ask for it; unavailable is a warning, and the run goes on
/// without it.
pub(super) async fn open(
    settings: &Settings,
    events: &EventSink,
    tracker: &Arc<Tracker>,
    refresh: bool,
) -> Option<TieredCache> {
    if !settings.cache.enabled {
        return None;
    }
    let config = CacheConfig {
        enabled: true,
        dir: settings.cache.dir.clone(),
        redis_url: settings.cache.redis_url.clone(),
        refresh,
        allow_stale: settings.network.offline,
        max_file_bytes: settings.run.cache.max_size_bytes,
        redis_secret: settings.cache.redis_secret.clone(),
        ttl_by_kind: vec![
            (CacheKey::PYPI, settings.run.cache.metadata_ttl),
            (CacheKey::PYPI_PROJECT, settings.run.cache.metadata_ttl),
            (CacheKey::ADVISORY, settings.run.cache.metadata_ttl),
            (CacheKey::OSV, settings.run.cache.vulnerability_ttl),
        ],
        // A run opens its own cache and looks each key up about once; the bundle of the
        // last run's answers does the memory level's work without filling it.
        memory_entries: 0,
    };
    match TieredCache::open(&config, events.clone(), tracker.clone()).await {
        Ok(cache) => Some(cache),
        Err(e) => {
            events
                .emit(EngineEvent::Warning(format!(
                    "cache unavailable, running without it: {e}"
                )))
                .await;
            None
        }
    }
}
