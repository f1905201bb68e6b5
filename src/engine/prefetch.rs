//! A stage's cache lookups done up front, spread over the cores. A warm run answers almost
//! every package from the cache, and decoding 10,000 cached answers is CPU work: one async task
//! did it on one core. Each lookup is the very call the stage would have made (same levels,
//! counters and bundle bookkeeping), only earlier and on the blocking pool; misses are fetched
//! by the stage afterwards under its usual in-flight bound.

use std::future::Future;
use std::marker::PhantomData;

use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use super::revalidate::{self, Entry};
use crate::cache::{CacheKey, TieredCache};

/// Below this many lookups a thread costs more than it saves: they run in the calling task.
const SPREAD_FROM: usize = 512;

/// Lookups in flight per thread: a level that waits (Redis) is asked concurrently, as the
/// stages' own lookups were.
const IN_FLIGHT: usize = 64;

/// One way of asking the cache, as a stage does.
pub(super) trait Lookup: Send + Sync + 'static {
    type Found: Send + 'static;
    fn lookup<'a>(
        &self,
        cache: &'a TieredCache,
        key: &'a CacheKey,
    ) -> impl Future<Output = Option<Self::Found>> + Send + 'a;
}

/// [`TieredCache::get_json`]: the answer and whether it is stale.
pub(super) struct Json<T>(PhantomData<fn() -> T>);

impl<T> Json<T> {
    pub(super) fn new() -> Self {
        Json(PhantomData)
    }
}

impl<T: DeserializeOwned + Send + 'static> Lookup for Json<T> {
    type Found = (T, bool);
    fn lookup<'a>(
        &self,
        cache: &'a TieredCache,
        key: &'a CacheKey,
    ) -> impl Future<Output = Option<(T, bool)>> + Send + 'a {
        cache.get_json::<T>(key)
    }
}

/// [`revalidate::lookup`]: the entry, expired ones with their validators.
pub(super) struct Revalidating<T>(PhantomData<fn() -> T>);

impl<T> Revalidating<T> {
    pub(super) fn new() -> Self {
        Revalidating(PhantomData)
    }
}

impl<T: DeserializeOwned + Send + 'static> Lookup for Revalidating<T> {
    type Found = Entry<T>;
    fn lookup<'a>(
        &self,
        cache: &'a TieredCache,
        key: &'a CacheKey,
    ) -> impl Future<Output = Option<Entry<T>>> + Send + 'a {
        revalidate::lookup(cache, key)
    }
}

/// `how` for every key in `cache`, the results in `keys`' order. From [`SPREAD_FROM`] keys on,
/// the lookups run on the blocking pool in one chunk per core (each chunk's lookups driven by
/// that thread); a lookup task that did not finish (the runtime is shutting down) reads as
/// every key a miss (`None`), which the stage fetches or reports unknown.
pub(super) async fn lookup_all<L: Lookup>(
    cache: &TieredCache,
    keys: Vec<CacheKey>,
    how: L,
) -> Vec<Option<L::Found>> {
    if keys.len() < SPREAD_FROM {
        // Collected first: a lazy iterator's closure held across the await would make the
        // future `Send` for one lifetime only.
        let lookups: Vec<_> = keys.iter().map(|key| how.lookup(cache, key)).collect();
        return (futures_util::stream::iter(lookups).buffered(IN_FLIGHT))
            .collect()
            .await;
    }
    let handle = tokio::runtime::Handle::current();
    let cache = cache.clone();
    let count = keys.len();
    let spread = tokio::task::spawn_blocking(move || {
        crate::parallel::map_chunks(&keys, 0, |chunk| {
            let lookups = chunk.iter().map(|key| how.lookup(&cache, key));
            // Not on a runtime thread (the blocking pool or a scoped thread), so it may block.
            handle.block_on(
                futures_util::stream::iter(lookups)
                    .buffered(IN_FLIGHT)
                    .collect(),
            )
        })
    });
    match spread.await {
        Ok(found) => found,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => (0..count).map(|_| None).collect(),
    }
}
