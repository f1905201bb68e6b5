//! Cache get/put per level. Redis benches run only when `DEPDASH_BENCH_REDIS_URL` points at a
//! reachable server (e.g. `redis://127.0.0.1:6379/`); otherwise they return at once.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use depdash::cache::{CacheConfig, CacheKey, Lookup, TieredCache};
use depdash::telemetry::EventSink;
use depdash::telemetry::tracker::Tracker;
use divan::Bencher;
use tokio::runtime::Runtime;

const TTL: Duration = Duration::from_secs(3600);
/// Lookups of a warm run over ~180 packages (PyPI + OSV + some advisories).
const WARM_RUN_LOOKUPS: usize = 400;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn open(runtime: &Runtime, config: CacheConfig) -> TieredCache {
    runtime
        .block_on(TieredCache::open(
            &config,
            EventSink::none(),
            Arc::new(Tracker::new()),
        ))
        .expect("cache opens")
}

fn config(dir: &Path, memory_entries: u64) -> CacheConfig {
    CacheConfig {
        dir: Some(dir.to_path_buf()),
        memory_entries,
        ..CacheConfig::default()
    }
}

fn key(i: usize) -> CacheKey {
    CacheKey::pypi(
        "https://index.example/pypi",
        format!("package-{i}"),
        "1.0.0",
    )
}

fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| b'a' + (i % 26) as u8).collect()
}

fn assert_hit(lookup: Lookup) {
    assert!(matches!(lookup, Lookup::Fresh(_)), "expected a hit");
}

/// L1 hit (the dashboard's re-runs).
#[divan::bench(args = [2048, 16384])]
fn memory_get(bencher: Bencher, len: usize) {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("temp dir");
    let cache = open(&rt, config(dir.path(), 10_000));
    rt.block_on(cache.put(&key(0), &payload(len), TTL));
    bencher.bench_local(|| assert_hit(rt.block_on(cache.get(&key(0)))));
}

/// L2 hit: open, read, verify (SHA-256), no memory level.
#[divan::bench(args = [2048, 16384])]
fn file_get(bencher: Bencher, len: usize) {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("temp dir");
    let cache = open(&rt, config(dir.path(), 0));
    rt.block_on(cache.put(&key(0), &payload(len), TTL));
    bencher.bench_local(|| assert_hit(rt.block_on(cache.get(&key(0)))));
}

/// A miss through memory and file.
#[divan::bench]
fn file_get_miss(bencher: Bencher) {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("temp dir");
    let cache = open(&rt, config(dir.path(), 10_000));
    bencher.bench_local(|| rt.block_on(cache.get(&key(1))));
}

/// Put into memory + file (seal, temp file, rename).
#[divan::bench(args = [2048, 16384])]
fn put_memory_and_file(bencher: Bencher, len: usize) {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("temp dir");
    let cache = open(&rt, config(dir.path(), 10_000));
    let payload = payload(len);
    let mut i = 0;
    bencher.bench_local(|| {
        i = (i + 1) % 256;
        rt.block_on(cache.put(&key(i), &payload, TTL))
    });
}

/// A whole warm one-shot run: a fresh process (empty memory level) looks up 400 entries of
/// 2 KiB that are on disk. Target: well under 10 ms.
#[divan::bench(args = [0, 10_000])]
fn warm_run_400_lookups(bencher: Bencher, memory_entries: u64) {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("temp dir");
    let writer = open(&rt, config(dir.path(), 0));
    let payload = payload(2048);
    rt.block_on(async {
        for i in 0..WARM_RUN_LOOKUPS {
            writer.put(&key(i), &payload, TTL).await;
        }
    });
    let keys: Vec<CacheKey> = (0..WARM_RUN_LOOKUPS).map(key).collect();
    bencher
        .with_inputs(|| open(&rt, config(dir.path(), memory_entries)))
        .bench_local_values(|cache| {
            rt.block_on(async {
                for k in &keys {
                    assert_hit(cache.get(k).await);
                }
            })
        });
}

/// The warm run above with its entries in packs (written as a cold run writes them: batches of
/// 100 through `put_many`, so each lookup also reads a 100-entry pack's index).
#[divan::bench]
fn warm_run_400_packed_lookups(bencher: Bencher) {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("temp dir");
    let writer = open(&rt, config(dir.path(), 0));
    let payload = payload(2048);
    let items: Vec<_> = (0..WARM_RUN_LOOKUPS)
        .map(|i| (key(i), payload.clone(), TTL))
        .collect();
    for batch in items.chunks(100) {
        rt.block_on(writer.put_many(batch));
    }
    let keys: Vec<CacheKey> = (0..WARM_RUN_LOOKUPS).map(key).collect();
    bencher
        .with_inputs(|| open(&rt, config(dir.path(), 0)))
        .bench_local_values(|cache| {
            rt.block_on(async {
                for k in &keys {
                    assert_hit(cache.get(k).await);
                }
            })
        });
}

/// A cold run's 400 file-level puts of 2 KiB: one by one (a file each) or as 4 batches of 100
/// (a pack each, 400 hard links). Each iteration writes into a fresh directory.
#[divan::bench(args = [false, true], sample_count = 20)]
fn cold_run_400_puts(bencher: Bencher, packed: bool) {
    let rt = runtime();
    let payload = payload(2048);
    let items: Vec<_> = (0..WARM_RUN_LOOKUPS)
        .map(|i| (key(i), payload.clone(), TTL))
        .collect();
    bencher
        .with_inputs(|| {
            let dir = tempfile::tempdir().expect("temp dir");
            let cache = open(&rt, config(dir.path(), 0));
            (dir, cache)
        })
        .bench_local_values(|(dir, cache)| {
            rt.block_on(async {
                if packed {
                    for batch in items.chunks(100) {
                        cache.put_many(batch).await;
                    }
                } else {
                    for (k, p, ttl) in &items {
                        cache.put(k, p, *ttl).await;
                    }
                }
            });
            dir
        });
}

/// The Redis URL to bench against, if one is configured and answers.
fn bench_redis(rt: &Runtime, dir: &Path) -> Option<TieredCache> {
    let url = std::env::var("DEPDASH_BENCH_REDIS_URL").ok()?;
    let cache = open(
        rt,
        CacheConfig {
            redis_url: Some(url),
            ..config(dir, 0)
        },
    );
    cache
        .counters()
        .levels
        .get("redis")
        .is_some_and(|l| l.errors == 0)
        .then_some(cache)
}

/// L3 hit: file miss, Redis GET + verify, promotion into the file level.
#[divan::bench(args = [2048])]
fn redis_get(bencher: Bencher, len: usize) {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("temp dir");
    let Some(cache) = bench_redis(&rt, dir.path()) else {
        return;
    };
    rt.block_on(cache.put(&key(0), &payload(len), TTL));
    let promoted = dir.path().join(key(0).file_name());
    bencher
        .with_inputs(|| {
            let _ = std::fs::remove_file(&promoted);
        })
        .bench_local_values(|()| assert_hit(rt.block_on(cache.get(&key(0)))));
}

/// Put into file + Redis.
#[divan::bench(args = [2048])]
fn redis_put(bencher: Bencher, len: usize) {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("temp dir");
    let Some(cache) = bench_redis(&rt, dir.path()) else {
        return;
    };
    let payload = payload(len);
    bencher.bench_local(|| rt.block_on(cache.put(&key(0), &payload, TTL)));
}
