//! The tiered cache against real files, a real `redis-server` and a second real process.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use depdash::cache::entry::{self, FORMAT_VERSION, HEADER_LEN};
use depdash::cache::{CacheConfig, CacheKey, Cached, Lookup, TieredCache};
use depdash::engine::events::{EngineEvent, EventSink};
use depdash::telemetry::tracker::Tracker;
use tokio::sync::mpsc;

use crate::support::redis::RedisServer;

const HOUR: Duration = Duration::from_secs(3600);

fn config(dir: &Path) -> CacheConfig {
    CacheConfig {
        dir: Some(dir.to_path_buf()),
        redis_secret: depdash::cache::RedisSecret::new("test-fleet-secret"),
        ..CacheConfig::default()
    }
}

/// A config whose lookups always reach the disk (no memory level).
fn disk_only(dir: &Path) -> CacheConfig {
    CacheConfig {
        memory_entries: 0,
        ..config(dir)
    }
}

struct Opened {
    cache: TieredCache,
    events: mpsc::Receiver<EngineEvent>,
}

impl Opened {
    /// Warnings received so far.
    fn warnings(&mut self) -> Vec<String> {
        let mut warnings = Vec::new();
        while let Ok(event) = self.events.try_recv() {
            if let EngineEvent::Warning(text) = event {
                warnings.push(text);
            }
        }
        warnings
    }
}

async fn open(config: &CacheConfig) -> Opened {
    let (tx, events) = mpsc::channel(64);
    let cache = TieredCache::open(config, EventSink::new(tx), Arc::new(Tracker::new()))
        .await
        .expect("cache opens");
    Opened { cache, events }
}

fn key(name: &str) -> CacheKey {
    CacheKey::pypi("https://index.example/pypi", name, "1.0")
}

fn level(cache: &TieredCache, name: &str) -> depdash::telemetry::LevelCounters {
    cache
        .counters()
        .levels
        .get(name)
        .cloned()
        .unwrap_or_default()
}

fn entry_path(dir: &Path, key: &CacheKey) -> PathBuf {
    dir.join(key.file_name())
}

/// Every file in `dir` is a fully valid entry stored under its own key's hash, and no temp
/// file is left behind.
fn assert_all_entries_valid(dir: &Path) -> usize {
    let mut count = 0;
    for item in fs::read_dir(dir).unwrap() {
        let item = item.unwrap();
        let name = item.file_name().into_string().unwrap();
        assert!(!name.starts_with(".tmp-"), "temp file left behind: {name}");
        let bytes = fs::read(item.path()).unwrap();
        let header = entry::parse_header(&bytes).unwrap();
        let key =
            std::str::from_utf8(&bytes[HEADER_LEN..HEADER_LEN + header.key_len as usize]).unwrap();
        entry::verify(key, &bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(name, depdash::fingerprint::of_bytes(key.as_bytes()));
        count += 1;
    }
    count
}

// ---------------------------------------------------------------------------------------------
// File level basics.

#[tokio::test]
async fn put_then_get_from_a_new_instance_reads_the_file_and_promotes_to_memory() {
    let dir = tempfile::tempdir().unwrap();
    let first = open(&config(dir.path())).await;
    first.cache.put(&key("requests"), b"payload-1", HOUR).await;

    let second = open(&config(dir.path())).await;
    assert_eq!(
        second.cache.get(&key("requests")).await,
        Lookup::Fresh(b"payload-1".to_vec())
    );
    assert_eq!(
        second.cache.get(&key("requests")).await,
        Lookup::Fresh(b"payload-1".to_vec())
    );
    assert_eq!(second.cache.get(&key("flask")).await, Lookup::Miss);

    let counters = second.cache.counters();
    assert_eq!((counters.lookups, counters.hits), (3, 2));
    let memory = level(&second.cache, "memory");
    let file = level(&second.cache, "file");
    assert_eq!((memory.lookups, memory.hits, memory.writes), (3, 1, 1));
    assert_eq!((file.lookups, file.hits, file.misses), (2, 1, 1));
    assert!(file.bytes_read > 9);
    assert!(!counters.levels.contains_key("redis"));
}

#[tokio::test]
async fn level_timings_are_recorded_in_the_tracker() {
    let dir = tempfile::tempdir().unwrap();
    let tracker = Arc::new(Tracker::new());
    let cache = TieredCache::open(&config(dir.path()), EventSink::none(), tracker.clone())
        .await
        .unwrap();
    cache.put(&key("a"), b"x", HOUR).await;
    cache.get(&key("a")).await; // memory hit
    cache.get(&key("b")).await; // memory and file miss
    let ops = tracker.snapshot();
    assert_eq!(ops["cache.put"].count, 1);
    assert_eq!(ops["cache.get.memory"].count, 2);
    assert_eq!(ops["cache.get.file"].count, 1);
    assert!(!ops.contains_key("cache.get.redis"));
}

#[tokio::test]
async fn json_round_trip_and_unparsable_payload_is_a_miss() {
    let dir = tempfile::tempdir().unwrap();
    let opened = open(&config(dir.path())).await;
    let value = serde_json::json!({"name": "requests", "versions": ["2.31.0", "2.32.3"]});
    opened.cache.put_json(&key("requests"), &value, HOUR).await;
    let (back, stale): (serde_json::Value, bool) =
        opened.cache.get_json(&key("requests")).await.unwrap();
    assert_eq!((back, stale), (value, false));

    opened.cache.put(&key("broken"), b"{not json", HOUR).await;
    assert!(
        opened
            .cache
            .get_json::<serde_json::Value>(&key("broken"))
            .await
            .is_none()
    );
    let counters = opened.cache.counters();
    assert_eq!((counters.lookups, counters.hits), (2, 1));
}

#[tokio::test]
async fn disabled_cache_touches_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let cache_dir = dir.path().join("never");
    let opened = open(&CacheConfig {
        enabled: false,
        redis_url: Some("redis://127.0.0.1:1/".into()),
        ..config(&cache_dir)
    })
    .await;
    opened.cache.put(&key("a"), b"x", HOUR).await;
    assert_eq!(opened.cache.get(&key("a")).await, Lookup::Miss);
    assert!(!cache_dir.exists());
    assert!(opened.cache.counters().levels.is_empty());
    assert_eq!(opened.cache.counters().lookups, 0);
}

#[cfg(unix)]
#[tokio::test]
async fn directories_are_0700_and_files_0600() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let cache_dir = dir.path().join("nested").join("cache");
    let opened = open(&config(&cache_dir)).await;
    opened.cache.put(&key("a"), b"x", HOUR).await;
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&cache_dir), 0o700);
    assert_eq!(mode(&dir.path().join("nested")), 0o700);
    assert_eq!(mode(&entry_path(&cache_dir, &key("a"))), 0o600);
}

#[tokio::test]
async fn refresh_bypasses_reads_but_still_writes() {
    let dir = tempfile::tempdir().unwrap();
    open(&config(dir.path()))
        .await
        .cache
        .put(&key("a"), b"old", HOUR)
        .await;

    let refreshing = open(&CacheConfig {
        refresh: true,
        ..config(dir.path())
    })
    .await;
    assert_eq!(refreshing.cache.get(&key("a")).await, Lookup::Miss);
    assert_eq!(level(&refreshing.cache, "file").lookups, 0);
    refreshing.cache.put(&key("a"), b"new", HOUR).await;
    assert_eq!(level(&refreshing.cache, "file").writes, 1);

    let later = open(&disk_only(dir.path())).await;
    assert_eq!(
        later.cache.get(&key("a")).await,
        Lookup::Fresh(b"new".to_vec())
    );
}

// ---------------------------------------------------------------------------------------------
// Expiry.

#[tokio::test]
async fn expired_entry_is_a_miss_unless_stale_serving_is_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let writer = open(&config(dir.path())).await;
    writer.cache.put(&key("a"), b"aged", Duration::ZERO).await;
    // Even the memory level of the writer no longer serves it.
    assert_eq!(writer.cache.get(&key("a")).await, Lookup::Miss);

    let online = open(&config(dir.path())).await;
    assert_eq!(online.cache.get(&key("a")).await, Lookup::Miss);
    assert!(
        entry_path(dir.path(), &key("a")).exists(),
        "expired entries are kept for offline use"
    );

    let offline = open(&CacheConfig {
        allow_stale: true,
        ..config(dir.path())
    })
    .await;
    assert_eq!(
        offline.cache.get(&key("a")).await,
        Lookup::Stale(b"aged".to_vec())
    );
    let (value, stale): (String, bool) = {
        offline.cache.put_json(&key("j"), "v", Duration::ZERO).await;
        offline.cache.get_json(&key("j")).await.unwrap()
    };
    assert_eq!((value.as_str(), stale), ("v", true));
    assert_eq!(offline.cache.counters().stale_served, 2);
}

#[tokio::test]
async fn expired_entries_are_handed_out_for_revalidation_but_not_counted_as_hits() {
    let dir = tempfile::tempdir().unwrap();
    let online = open(&config(dir.path())).await;
    online
        .cache
        .put_json(&key("old"), "aged", Duration::ZERO)
        .await;
    online.cache.put_json(&key("new"), "fresh", HOUR).await;
    let read = |name: &'static str| {
        let cache = online.cache.clone();
        async move {
            (cache
                .get_json_revalidating::<String, String>(&key(name))
                .await)
                .map(|c| match c {
                    Cached::Fresh(v) => ("fresh", v),
                    Cached::Expired(v) => ("expired", v),
                })
        }
    };
    assert_eq!(read("old").await, Some(("expired", "aged".to_string())));
    assert_eq!(read("new").await, Some(("fresh", "fresh".to_string())));
    assert_eq!(read("none").await, None);
    let counters = online.cache.counters();
    assert_eq!(
        (counters.lookups, counters.hits, counters.stale_served),
        (3, 1, 0)
    );
    // A plain lookup still misses the expired entry.
    assert_eq!(online.cache.get(&key("old")).await, Lookup::Miss);
}

#[tokio::test]
async fn entries_past_the_stale_grace_window_are_never_served() {
    let dir = tempfile::tempdir().unwrap();
    let k = key("ancient");
    let fetched_at = entry::unix_now() - entry::STALE_GRACE.as_secs() - 2 * 86_400;
    fs::write(
        entry_path(dir.path(), &k),
        entry::encode(k.as_str(), fetched_at, Duration::from_secs(86_400), b"old"),
    )
    .unwrap();
    let offline = open(&CacheConfig {
        allow_stale: true,
        ..config(dir.path())
    })
    .await;
    assert_eq!(offline.cache.get(&k).await, Lookup::Miss);
}

#[tokio::test]
async fn a_fresh_copy_below_wins_over_a_stale_one_above() {
    let dir = tempfile::tempdir().unwrap();
    let offline = open(&CacheConfig {
        allow_stale: true,
        ..config(dir.path())
    })
    .await;
    offline.cache.put(&key("a"), b"stale", Duration::ZERO).await;
    // Another process refreshes the file meanwhile.
    open(&config(dir.path()))
        .await
        .cache
        .put(&key("a"), b"fresh", HOUR)
        .await;
    assert_eq!(
        offline.cache.get(&key("a")).await,
        Lookup::Fresh(b"fresh".to_vec())
    );
}

// ---------------------------------------------------------------------------------------------
// Corruption: every way a file can be wrong is a miss, a repair and then a correct answer.

/// `max_file_bytes` of the caches in the corruption test.
const CORRUPTION_BOUND: u64 = 64 * 1024;

/// A named way to damage the entry file at a path.
type Corruption = (&'static str, fn(&Path));

fn corruptions() -> Vec<Corruption> {
    fn rewrite(path: &Path, f: impl FnOnce(&mut Vec<u8>)) {
        let mut bytes = fs::read(path).unwrap();
        f(&mut bytes);
        fs::write(path, bytes).unwrap();
    }
    vec![
        ("flipped payload byte", |p| {
            rewrite(p, |b| {
                let last = b.len() - 1;
                b[last] ^= 0x20;
            })
        }),
        ("flipped header byte (fetched_at)", |p| {
            rewrite(p, |b| b[13] ^= 0x01)
        }),
        ("flipped magic", |p| rewrite(p, |b| b[0] ^= 0xff)),
        ("truncated", |p| rewrite(p, |b| b.truncate(b.len() - 3))),
        ("truncated inside the header", |p| {
            rewrite(p, |b| b.truncate(HEADER_LEN / 2))
        }),
        ("empty", |p| fs::write(p, b"").unwrap()),
        ("wrong format version", |p| {
            rewrite(p, |b| {
                b[8..10].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes())
            })
        }),
        ("hash mismatch", |p| rewrite(p, |b| b[40] ^= 0x01)),
        ("random garbage", |p| {
            let garbage: Vec<u8> = (0..4096u32)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
                .collect();
            fs::write(p, garbage).unwrap()
        }),
        ("trailing bytes", |p| {
            rewrite(p, |b| b.extend_from_slice(b"xx"))
        }),
        ("larger than the cache bound", |p| {
            rewrite(p, |b| b.resize(CORRUPTION_BOUND as usize + 1, 0))
        }),
        ("entry of another key", |p| {
            let other = key("someone-else");
            fs::write(
                p,
                entry::encode(other.as_str(), entry::unix_now(), HOUR, b"payload-1"),
            )
            .unwrap()
        }),
        ("a directory where the file should be", |p| {
            fs::remove_file(p).unwrap();
            fs::create_dir(p).unwrap();
            fs::write(p.join("inner"), b"x").unwrap();
        }),
    ]
}

#[tokio::test]
async fn every_kind_of_corrupt_file_is_a_miss_then_repaired() {
    let bounded = |dir: &Path| CacheConfig {
        max_file_bytes: CORRUPTION_BOUND,
        ..config(dir)
    };
    for (what, corrupt) in corruptions() {
        let dir = tempfile::tempdir().unwrap();
        let k = key("requests");
        let path = entry_path(dir.path(), &k);
        open(&bounded(dir.path()))
            .await
            .cache
            .put(&k, b"payload-1", HOUR)
            .await;
        corrupt(&path);

        let reader = open(&bounded(dir.path())).await;
        assert_eq!(reader.cache.get(&k).await, Lookup::Miss, "{what}");
        assert!(!path.exists(), "{what}: bad entry not removed");
        let file = level(&reader.cache, "file");
        assert_eq!(
            (file.corrupt_repaired, file.misses, file.errors),
            (1, 1, 0),
            "{what}"
        );

        reader.cache.put(&k, b"payload-2", HOUR).await;
        let after = open(&disk_only(dir.path())).await;
        assert_eq!(
            after.cache.get(&k).await,
            Lookup::Fresh(b"payload-2".to_vec()),
            "{what}"
        );
        assert_eq!(assert_all_entries_valid(dir.path()), 1, "{what}");
    }
}

#[tokio::test]
async fn put_over_a_directory_squatting_on_the_entry_name_replaces_it() {
    let dir = tempfile::tempdir().unwrap();
    let k = key("a");
    fs::create_dir(entry_path(dir.path(), &k)).unwrap();
    let opened = open(&config(dir.path())).await;
    opened.cache.put(&k, b"x", HOUR).await;
    assert_eq!(level(&opened.cache, "file").errors, 0);
    assert_eq!(
        open(&disk_only(dir.path())).await.cache.get(&k).await,
        Lookup::Fresh(b"x".to_vec())
    );
}

// ---------------------------------------------------------------------------------------------
// Size bound.

fn dir_size(dir: &Path) -> u64 {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum()
}

#[tokio::test]
async fn eviction_keeps_the_directory_under_its_bound() {
    let dir = tempfile::tempdir().unwrap();
    let bound = 20_000;
    let opened = open(&CacheConfig {
        max_file_bytes: bound,
        ..config(dir.path())
    })
    .await;
    let payload = vec![b'p'; 1000];
    for i in 0..100 {
        opened
            .cache
            .put(&key(&format!("pkg{i}")), &payload, HOUR)
            .await;
        assert!(
            dir_size(dir.path()) <= bound,
            "over the bound after put {i}"
        );
    }
    // The newest entries survive.
    let reader = open(&disk_only(dir.path())).await;
    assert!(matches!(
        reader.cache.get(&key("pkg99")).await,
        Lookup::Fresh(_)
    ));
    assert_eq!(reader.cache.get(&key("pkg0")).await, Lookup::Miss);
    assert!(assert_all_entries_valid(dir.path()) >= 10);
}

#[tokio::test]
async fn eviction_removes_least_recently_used_first() {
    let dir = tempfile::tempdir().unwrap();
    let entry_len = {
        let probe = open(&config(dir.path())).await;
        probe.cache.put(&key("probe"), &[0u8; 1000], HOUR).await;
        let len = fs::metadata(entry_path(dir.path(), &key("probe")))
            .unwrap()
            .len();
        depdash::cache::clear(dir.path()).unwrap();
        len
    };
    let bound = entry_len * 10;
    let cfg = CacheConfig {
        max_file_bytes: bound,
        memory_entries: 0,
        ..config(dir.path())
    };
    let writer = open(&cfg).await;
    for i in 0..10 {
        writer
            .cache
            .put(&key(&format!("old{i}")), &[0u8; 1000], HOUR)
            .await;
    }
    // Age all entries by days, oldest first; then use old0 (a hit refreshes its access time).
    for i in 0..10 {
        let age = Duration::from_secs(86_400 * (20 - i));
        let file = fs::File::options()
            .write(true)
            .open(entry_path(dir.path(), &key(&format!("old{i}"))))
            .unwrap();
        file.set_modified(SystemTime::now() - age).unwrap();
    }
    let user = open(&cfg).await;
    assert!(matches!(
        user.cache.get(&key("old0")).await,
        Lookup::Fresh(_)
    ));

    // One more entry overflows the bound; eviction takes the least recently used.
    let overflow = open(&cfg).await;
    overflow.cache.put(&key("new"), &[0u8; 1000], HOUR).await;
    let present = |name: &str| entry_path(dir.path(), &key(name)).exists();
    assert!(present("new"));
    assert!(present("old0"), "recently used entry was evicted");
    assert!(!present("old1"), "least recently used entry survived");
    assert!(present("old9"));
    assert!(dir_size(dir.path()) <= bound);
}

// ---------------------------------------------------------------------------------------------
// Two processes on one directory.

const WRITER_ENV: &str = "DEPDASH_TEST_CACHE_WRITER_DIR";
const SHARED_KEYS: usize = 40;

fn shared_payload(key_index: usize, writer: &str, round: usize) -> Vec<u8> {
    // Long enough that a torn write would be visible; names its key so a mix-up is too.
    format!(
        "key={key_index};writer={writer};round={round};{}",
        "z".repeat(3000)
    )
    .into_bytes()
}

fn is_valid_shared_payload(key_index: usize, payload: &[u8]) -> bool {
    let text = String::from_utf8_lossy(payload);
    text.starts_with(&format!("key={key_index};")) && text.ends_with(&"z".repeat(3000))
}

/// The second process of `two_processes_share_one_directory`: the same test binary, run on that
/// one test with `WRITER_ENV` set (a re-exec, so the helper is not a test of its own).
async fn write_as_child(dir: &Path) {
    let opened = open(&disk_only(dir)).await;
    for round in 0..60 {
        for i in 0..SHARED_KEYS {
            let k = key(&format!("shared{i}"));
            opened
                .cache
                .put(&k, &shared_payload(i, "child", round), HOUR)
                .await;
        }
    }
    assert_eq!(level(&opened.cache, "file").errors, 0);
    // Proof for the parent that this ran (a wrong test filter would run nothing, successfully).
    opened.cache.put(&key("child-finished"), b"yes", HOUR).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_one_directory() {
    if let Some(dir) = std::env::var_os(WRITER_ENV) {
        return write_as_child(Path::new(&dir)).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "cache::two_processes_share_one_directory",
            "--nocapture",
        ])
        .env(WRITER_ENV, dir.path())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();

    let child_done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let waiter = {
        let child_done = child_done.clone();
        tokio::task::spawn_blocking(move || {
            let status = child.wait();
            child_done.store(true, std::sync::atomic::Ordering::SeqCst);
            status
        })
    };

    // Two instances in this process write and read the same keys until the child is done.
    let mut tasks = Vec::new();
    for writer in ["parent-a", "parent-b"] {
        let cfg = disk_only(dir.path());
        let child_done = child_done.clone();
        tasks.push(tokio::spawn(async move {
            let opened = open(&cfg).await;
            let mut rounds = 0;
            while rounds < 5 || !child_done.load(std::sync::atomic::Ordering::SeqCst) {
                for i in 0..SHARED_KEYS {
                    let k = key(&format!("shared{i}"));
                    opened
                        .cache
                        .put(&k, &shared_payload(i, writer, rounds), HOUR)
                        .await;
                    match opened.cache.get(&k).await {
                        Lookup::Fresh(payload) => {
                            assert!(
                                is_valid_shared_payload(i, &payload),
                                "{writer}: bad payload"
                            )
                        }
                        other => panic!("{writer}: shared{i} after put: {other:?}"),
                    }
                }
                rounds += 1;
            }
            let file = level(&opened.cache, "file");
            assert_eq!((file.corrupt_repaired, file.errors), (0, 0), "{writer}");
            rounds
        }));
    }
    for task in tasks {
        assert!(task.await.unwrap() >= 5);
    }
    let status = waiter.await.unwrap().unwrap();
    assert!(status.success(), "writer process failed: {status}");

    let reader = open(&disk_only(dir.path())).await;
    assert!(
        matches!(reader.cache.get(&key("child-finished")).await, Lookup::Fresh(p) if p == b"yes"),
        "the writer process did not run"
    );
    assert_eq!(assert_all_entries_valid(dir.path()), SHARED_KEYS + 1);
    for i in 0..SHARED_KEYS {
        match reader.cache.get(&key(&format!("shared{i}"))).await {
            Lookup::Fresh(payload) => assert!(is_valid_shared_payload(i, &payload)),
            other => panic!("shared{i}: {other:?}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Maintenance commands.

#[tokio::test]
async fn stats_prune_and_clear() {
    let dir = tempfile::tempdir().unwrap();
    let opened = open(&config(dir.path())).await;
    opened.cache.put(&key("fresh"), b"1", HOUR).await;
    opened
        .cache
        .put(
            &CacheKey::osv("https://api.osv.dev", "fresh", "1.0"),
            b"[]",
            HOUR,
        )
        .await;
    opened
        .cache
        .put(&key("expired"), b"2", Duration::ZERO)
        .await;
    opened.cache.put(&key("corrupt"), b"3", HOUR).await;
    fs::write(entry_path(dir.path(), &key("corrupt")), b"garbage").unwrap();
    fs::write(dir.path().join("README"), b"not ours").unwrap();

    let stats = depdash::cache::stats(dir.path()).unwrap();
    assert_eq!(stats.location, dir.path());
    assert_eq!((stats.entries, stats.expired, stats.unreadable), (4, 1, 1));
    assert_eq!(stats.by_kind.get("pypi-release"), Some(&2));
    assert_eq!(stats.by_kind.get("osv"), Some(&1));
    assert_eq!(
        stats.total_bytes,
        dir_size(dir.path()) - "not ours".len() as u64
    );

    let pruned = depdash::cache::prune(dir.path()).unwrap();
    assert_eq!((pruned.removed_expired, pruned.removed_corrupt), (1, 1));
    assert_eq!(pruned.remaining_entries, 2);
    assert!(entry_path(dir.path(), &key("fresh")).exists());
    assert!(!entry_path(dir.path(), &key("expired")).exists());

    fs::create_dir(entry_path(dir.path(), &key("squatter"))).unwrap();
    fs::create_dir(dir.path().join("sub")).unwrap();
    let cleared = depdash::cache::clear(dir.path()).unwrap();
    assert_eq!(cleared.removed_entries, 3);
    assert_eq!(depdash::cache::stats(dir.path()).unwrap().entries, 0);
    assert!(dir.path().join("README").exists(), "foreign file removed");
    assert!(dir.path().join("sub").is_dir(), "foreign directory removed");

    let missing = depdash::cache::stats(&dir.path().join("absent")).unwrap();
    assert_eq!(missing.entries, 0);
}

// ---------------------------------------------------------------------------------------------
// Redis.

fn with_redis(dir: &Path, server: &RedisServer) -> CacheConfig {
    CacheConfig {
        redis_url: Some(server.url()),
        ..config(dir)
    }
}

async fn redis_connection(server: &RedisServer) -> redis::aio::MultiplexedConnection {
    redis::Client::open(server.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

#[tokio::test]
async fn two_caches_share_through_redis_and_promote_the_hit() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut a = open(&with_redis(dir_a.path(), &server)).await;
    a.cache.put(&key("shared"), b"from-a", HOUR).await;
    assert_eq!(level(&a.cache, "redis").writes, 1);

    let mut b = open(&with_redis(dir_b.path(), &server)).await;
    assert_eq!(
        b.cache.get(&key("shared")).await,
        Lookup::Fresh(b"from-a".to_vec())
    );
    let redis = level(&b.cache, "redis");
    assert_eq!((redis.lookups, redis.hits), (1, 1));
    // Promoted to L2 (a valid file in B's own directory) and L1 (the next get stops there).
    assert!(entry_path(dir_b.path(), &key("shared")).exists());
    assert_eq!(assert_all_entries_valid(dir_b.path()), 1);
    assert_eq!(
        b.cache.get(&key("shared")).await,
        Lookup::Fresh(b"from-a".to_vec())
    );
    assert_eq!(level(&b.cache, "memory").hits, 1);
    assert_eq!(level(&b.cache, "redis").lookups, 1);
    assert!(a.warnings().is_empty() && b.warnings().is_empty());

    // The server-side expiry is the TTL plus the stale grace window.
    let mut connection = redis_connection(&server).await;
    let ttl: i64 = redis::cmd("TTL")
        .arg(key("shared").as_str())
        .query_async(&mut connection)
        .await
        .unwrap();
    let expected = (HOUR + depdash::cache::STALE_GRACE).as_secs() as i64;
    assert!((expected - 5..=expected).contains(&ttl), "TTL {ttl}");
}

#[tokio::test]
async fn corrupt_redis_value_is_a_miss_and_deleted() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let mut connection = redis_connection(&server).await;
    let k = key("tampered");
    let mut sealed = entry::encode(k.as_str(), entry::unix_now(), HOUR, b"payload");
    let last = sealed.len() - 1;
    sealed[last] ^= 1;
    let () = redis::cmd("SET")
        .arg(k.as_str())
        .arg(sealed)
        .query_async(&mut connection)
        .await
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let mut opened = open(&with_redis(dir.path(), &server)).await;
    assert_eq!(opened.cache.get(&k).await, Lookup::Miss);
    assert_eq!(level(&opened.cache, "redis").corrupt_repaired, 1);
    let exists: i64 = redis::cmd("EXISTS")
        .arg(k.as_str())
        .query_async(&mut connection)
        .await
        .unwrap();
    assert_eq!(exists, 0);
    assert!(!entry_path(dir.path(), &k).exists());
    assert!(opened.warnings().is_empty());
}

#[tokio::test]
async fn redis_dying_mid_run_costs_one_warning_and_nothing_else() {
    let Some(mut server) = RedisServer::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut opened = open(&with_redis(dir.path(), &server)).await;
    opened.cache.put(&key("before"), b"b", HOUR).await;
    assert_eq!(level(&opened.cache, "redis").writes, 1);

    server.kill();
    opened.cache.put(&key("after1"), b"1", HOUR).await;
    opened.cache.put(&key("after2"), b"2", HOUR).await;
    for (name, payload) in [("before", "b"), ("after1", "1"), ("after2", "2")] {
        assert_eq!(
            opened.cache.get(&key(name)).await,
            Lookup::Fresh(payload.as_bytes().to_vec()),
            "{name}"
        );
    }
    // A miss walks every level; Redis is no longer asked.
    assert_eq!(opened.cache.get(&key("nowhere")).await, Lookup::Miss);

    let warnings = opened.warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("Redis"), "{}", warnings[0]);
    let redis = level(&opened.cache, "redis");
    assert_eq!(redis.errors, 1);
    assert_eq!(redis.writes, 1);
    // The file level carried on.
    let reader = open(&disk_only(dir.path())).await;
    assert!(matches!(
        reader.cache.get(&key("after2")).await,
        Lookup::Fresh(_)
    ));
}

#[tokio::test]
async fn unreachable_redis_is_a_warning_not_an_error() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let mut opened = open(&CacheConfig {
        redis_url: Some(format!("redis://127.0.0.1:{port}/")),
        ..config(dir.path())
    })
    .await;
    opened.cache.put(&key("a"), b"x", HOUR).await;
    assert_eq!(
        opened.cache.get(&key("a")).await,
        Lookup::Fresh(b"x".to_vec())
    );
    let warnings = opened.warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(level(&opened.cache, "redis").errors, 1);

    let bad_url = open(&CacheConfig {
        redis_url: Some("not a url".into()),
        ..config(dir.path())
    })
    .await;
    assert_eq!(
        bad_url.cache.get(&key("a")).await,
        Lookup::Fresh(b"x".to_vec())
    );
}

/// `f` on a thread of its own, failing the test instead of hanging it past 20 s.
fn within_seconds<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (sent, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = sent.send(f());
    });
    received
        .recv_timeout(Duration::from_secs(20))
        .unwrap_or_else(|_| panic!("{what} hung"))
}

#[tokio::test]
async fn a_fifo_where_an_entry_should_be_is_reported_and_removed_never_waited_on() {
    let dir = tempfile::tempdir().unwrap();
    let Opened { cache, .. } = open(&config(dir.path())).await;
    let (fifo_key, local_key) = (key("fifo"), key("local-fifo"));
    for k in [&fifo_key, &local_key] {
        crate::adversarial_local::mkfifo(&entry_path(dir.path(), k));
    }
    // Cheap reads of an entry's head (a seal, a peek) see no entry.
    let head_cache = cache.clone();
    let (seal, peeked) = within_seconds("reading a head", move || {
        (
            head_cache.local_seal(&key("fifo")),
            head_cache.peek_local(&key("fifo"), 16),
        )
    });
    assert_eq!((seal, peeked), (None, None));
    // The file level reports it and removes it.
    let local_cache = cache.clone();
    let looked_up = within_seconds("get_local", move || {
        local_cache.get_local(&key("local-fifo"))
    });
    match looked_up {
        depdash::cache::LocalLookup::Invalid(reason) => {
            assert!(reason.contains("FIFO"), "{reason}")
        }
        other => panic!("expected the FIFO reported, got {other:?}"),
    }
    assert!(!entry_path(dir.path(), &local_key).exists(), "removed");
    assert!(matches!(cache.get(&fifo_key).await, Lookup::Miss));
    assert!(!entry_path(dir.path(), &fifo_key).exists(), "removed");
    // `cache stats` and `prune` go past one too.
    crate::adversarial_local::mkfifo(&entry_path(dir.path(), &fifo_key));
    let path = dir.path().to_path_buf();
    let stats = within_seconds("cache stats", move || depdash::cache::stats(&path).unwrap());
    assert_eq!((stats.entries, stats.unreadable), (1, 1));
    let path = dir.path().to_path_buf();
    let pruned = within_seconds("cache prune", move || depdash::cache::prune(&path).unwrap());
    assert_eq!(pruned.removed_corrupt, 1);
    assert!(!entry_path(dir.path(), &fifo_key).exists());
}
