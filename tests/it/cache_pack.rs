//! Pack files of the file cache against real files: a batch of puts is one file with a hard
//! link per entry; readers find their record through the index; hostile packs are misses with
//! reasons; maintenance counts a pack's bytes once; and a real cold run then warm run of the
//! binary reads its answers from packs.

use std::collections::HashSet;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use depdash::cache::entry;
use depdash::cache::pack::{self, PACK_HEADER_LEN};
use depdash::cache::{CacheConfig, CacheKey, LocalLookup, Lookup, TieredCache};
use depdash::telemetry::tracker::Tracker;
use tokio::sync::mpsc;

use crate::support::registry::{RegistryServer, dataset_for};

const HOUR: Duration = Duration::from_secs(3600);

fn config(dir: &Path) -> CacheConfig {
    CacheConfig {
        dir: Some(dir.to_path_buf()),
        memory_entries: 0,
        ..CacheConfig::default()
    }
}

async fn open(config: &CacheConfig) -> TieredCache {
    let (tx, _events) = mpsc::channel(64);
    TieredCache::open(
        config,
        depdash::engine::events::EventSink::new(tx),
        Arc::new(Tracker::new()),
    )
    .await
    .expect("cache opens")
}

fn key(name: &str) -> CacheKey {
    CacheKey::pypi("https://index.example/pypi", name, "1.0")
}

fn batch(names: &[&str], ttl: Duration) -> Vec<(CacheKey, Vec<u8>, Duration)> {
    (names.iter())
        .map(|n| (key(n), format!("payload of {n}").into_bytes(), ttl))
        .collect()
}

fn meta(dir: &Path, key: &CacheKey) -> fs::Metadata {
    fs::metadata(dir.join(key.file_name())).expect("entry path exists")
}

fn file_level(cache: &TieredCache) -> depdash::telemetry::LevelCounters {
    cache.counters().levels["file"].clone()
}

/// Names of the files in `dir`.
fn listing(dir: &Path) -> Vec<String> {
    (fs::read_dir(dir).unwrap())
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect()
}

/// Flips the last byte of the entry stored at `path` (of its own record when the path links
/// to a pack) and gives the path a file of its own, so the pack's other entries stay intact.
/// Returns false (nothing done) for a file too short to be an entry.
pub(super) fn corrupt_entry(path: &Path) -> bool {
    let mut bytes = fs::read(path).unwrap();
    let end = if pack::is_pack(&bytes) {
        let len = bytes.len() as u64;
        let count = pack::parse_header(&bytes, len).unwrap();
        let name = path.file_name().unwrap().to_str().unwrap();
        let digest = pack::digest_of_name(name).unwrap();
        let index = &bytes[PACK_HEADER_LEN..pack::index_end(count)];
        pack::find(index, count, len, &digest).unwrap().end as usize
    } else {
        bytes.len()
    };
    if end <= entry::HEADER_LEN + 12 {
        return false;
    }
    bytes[end - 1] ^= 0xff;
    fs::remove_file(path).unwrap();
    fs::write(path, bytes).unwrap();
    true
}

#[tokio::test]
async fn a_batch_is_one_pack_linked_from_every_entry_and_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let names = ["a", "b", "c", "d", "e", "f", "g"];
    let writer = open(&config(dir.path())).await;
    writer.put_many(&batch(&names, HOUR)).await;

    let inodes: HashSet<u64> = names
        .iter()
        .map(|n| meta(dir.path(), &key(n)).ino())
        .collect();
    assert_eq!(inodes.len(), 1, "one file behind every entry");
    let pack_meta = meta(dir.path(), &key("a"));
    assert_eq!(pack_meta.nlink(), names.len() as u64);
    assert_eq!(pack_meta.mode() & 0o777, 0o600);
    assert!(
        listing(dir.path()).iter().all(|n| !n.starts_with(".tmp-")),
        "temp name left behind"
    );
    let counters = file_level(&writer);
    assert_eq!(counters.writes, names.len() as u64);
    assert_eq!(
        counters.bytes_written,
        pack_meta.len(),
        "bytes written once"
    );

    let reader = open(&config(dir.path())).await;
    for n in names {
        assert_eq!(
            reader.get(&key(n)).await,
            Lookup::Fresh(format!("payload of {n}").into_bytes()),
            "{n}"
        );
    }
    assert_eq!(reader.get(&key("absent")).await, Lookup::Miss);
    let counters = file_level(&reader);
    assert_eq!((counters.hits, counters.corrupt_repaired), (7, 0));
}

#[tokio::test]
async fn a_batch_of_one_is_a_single_entry_file_and_a_key_given_twice_keeps_the_last() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(&config(dir.path())).await;
    cache.put_many(&batch(&["solo"], HOUR)).await;
    assert_eq!(meta(dir.path(), &key("solo")).nlink(), 1);
    let solo = fs::read(dir.path().join(key("solo").file_name())).unwrap();
    assert!(solo.starts_with(entry::MAGIC));

    let mut twice = batch(&["x", "y"], HOUR);
    twice.push((key("x"), b"second".to_vec(), HOUR));
    cache.put_many(&twice).await;
    assert_eq!(
        cache.get(&key("x")).await,
        Lookup::Fresh(b"second".to_vec())
    );
    assert_eq!(meta(dir.path(), &key("x")).nlink(), 2);
}

#[tokio::test]
async fn rewriting_one_packed_entry_replaces_its_path_only() {
    let dir = tempfile::tempdir().unwrap();
    let names = ["p", "q", "r", "s"];
    let cache = open(&config(dir.path())).await;
    cache.put_many(&batch(&names, HOUR)).await;
    cache.put(&key("q"), b"revalidated", HOUR).await;
    // Replacing a packed entry from a later batch goes through a link renamed over it.
    cache
        .put_many(&[
            (key("r"), b"new r".to_vec(), HOUR),
            (key("t"), b"new t".to_vec(), HOUR),
        ])
        .await;

    assert_eq!(meta(dir.path(), &key("q")).nlink(), 1);
    assert_eq!(
        meta(dir.path(), &key("p")).nlink(),
        2,
        "p and s share the first pack"
    );
    assert_eq!(
        meta(dir.path(), &key("r")).nlink(),
        2,
        "r and t share the second"
    );
    let reader = open(&config(dir.path())).await;
    let expected = [
        ("p", "payload of p"),
        ("q", "revalidated"),
        ("r", "new r"),
        ("s", "payload of s"),
        ("t", "new t"),
    ];
    for (n, payload) in expected {
        assert_eq!(
            reader.get(&key(n)).await,
            Lookup::Fresh(payload.as_bytes().to_vec()),
            "{n}"
        );
    }
    assert!(listing(dir.path()).iter().all(|n| !n.starts_with(".tmp-")));
}

/// A pack of records for `names` (each its key's digest and encoded entry), with `edit`
/// applied, written at `target`'s entry path.
fn plant(
    dir: &Path,
    target: &CacheKey,
    records: &[(&CacheKey, &CacheKey)],
    edit: impl Fn(&mut Vec<u8>),
) {
    let encoded: Vec<([u8; 32], Vec<u8>)> = (records.iter())
        .map(|(indexed_as, holds)| {
            let digest = pack::digest_of_name(&indexed_as.file_name()).unwrap();
            let bytes = entry::encode(holds.as_str(), entry::unix_now(), HOUR, b"\"planted\"");
            (digest, bytes)
        })
        .collect();
    let mut parts: Vec<([u8; 32], &[u8])> =
        encoded.iter().map(|(d, b)| (*d, b.as_slice())).collect();
    let mut bytes = pack::encode(&mut parts);
    edit(&mut bytes);
    fs::write(dir.join(target.file_name()), bytes).unwrap();
}

/// Sets field `at` (0 digest, 32 offset, 40 length) of index entry `n`.
fn patch(bytes: &mut [u8], n: usize, at: usize, value: &[u8]) {
    let start = PACK_HEADER_LEN + n * 48 + at;
    bytes[start..start + value.len()].copy_from_slice(value);
}

#[tokio::test]
async fn hostile_packs_are_invalid_with_their_reason_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(&config(dir.path())).await;
    let me = key("me");
    let other = key("other");
    let third = key("third");
    type Edit = Box<dyn Fn(&mut Vec<u8>)>;
    type Records<'a> = Vec<(&'a CacheKey, &'a CacheKey)>;
    let cases: Vec<(&str, Records, Edit, &str)> = vec![
        (
            "truncated in the index",
            vec![(&me, &me), (&other, &other)],
            Box::new(|b: &mut Vec<u8>| b.truncate(PACK_HEADER_LEN + 20)),
            "pack index needs",
        ),
        (
            "index pointing outside",
            vec![(&me, &me), (&other, &other)],
            Box::new(|b: &mut Vec<u8>| {
                let len = b.len() as u64;
                patch(b, 0, 32, &len.to_le_bytes());
                patch(b, 1, 32, &len.to_le_bytes());
            }),
            "lies outside the file",
        ),
        (
            "indexed under my key, holding another's record",
            vec![(&me, &other), (&third, &third)],
            Box::new(|_: &mut Vec<u8>| {}),
            "entry belongs to another key",
        ),
        (
            "a huge count",
            vec![(&me, &me), (&other, &other)],
            Box::new(|b: &mut Vec<u8>| b[10..12].copy_from_slice(&u16::MAX.to_le_bytes())),
            "claims 65535 records",
        ),
        (
            "a duplicate key",
            vec![(&me, &me), (&other, &other)],
            Box::new(|b: &mut Vec<u8>| {
                let first: Vec<u8> = b[PACK_HEADER_LEN..PACK_HEADER_LEN + 32].to_vec();
                patch(b, 1, 0, &first);
            }),
            "out of order or repeated",
        ),
        (
            "without my key",
            vec![(&other, &other), (&third, &third)],
            Box::new(|_: &mut Vec<u8>| {}),
            "does not hold this entry",
        ),
        (
            "a record whose bytes were changed",
            vec![(&me, &me), (&other, &other)],
            Box::new(|b: &mut Vec<u8>| {
                let last = b.len() - 3;
                b[last] ^= 0x20;
            }),
            "checksum",
        ),
    ];
    for (what, records, edit, reason) in cases {
        plant(dir.path(), &me, &records, edit);
        match cache.get_local(&me) {
            LocalLookup::Invalid(found) => assert!(found.contains(reason), "{what}: {found}"),
            other => panic!("{what}: {other:?}"),
        }
        assert!(
            !dir.path().join(me.file_name()).exists(),
            "{what}: not removed"
        );
    }
    // The same planted pack is fine for the keys it does hold.
    plant(
        dir.path(),
        &other,
        &[(&other, &other), (&third, &third)],
        |_| {},
    );
    match cache.get_local(&other) {
        LocalLookup::Fresh(payload) => assert_eq!(&*payload, b"\"planted\""),
        other => panic!("expected the planted payload, got {other:?}"),
    }
}

#[tokio::test]
async fn stats_prune_and_eviction_count_a_shared_pack_once() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(&config(dir.path())).await;
    let mut items = batch(&["keep1", "keep2", "keep3"], HOUR);
    items.extend(batch(&["old1", "old2"], Duration::ZERO));
    cache.put_many(&items).await;
    cache
        .put_many(&batch(&["gone1", "gone2"], Duration::ZERO))
        .await;
    let kept_pack = meta(dir.path(), &key("keep1")).len();
    let gone_pack = meta(dir.path(), &key("gone1")).len();
    let gone_inode = meta(dir.path(), &key("gone1")).ino();

    let stats = depdash::cache::stats(dir.path()).unwrap();
    assert_eq!(
        (stats.entries, stats.packed_entries, stats.packs),
        (7, 7, 2)
    );
    assert_eq!((stats.expired, stats.unreadable), (4, 0));
    assert_eq!(stats.total_bytes, kept_pack + gone_pack);

    let pruned = depdash::cache::prune(dir.path()).unwrap();
    assert_eq!((pruned.removed_expired, pruned.removed_corrupt), (4, 0));
    assert_eq!(
        pruned.bytes_freed, gone_pack,
        "only the pack whose links all went"
    );
    assert_eq!(
        (pruned.remaining_entries, pruned.remaining_bytes),
        (3, kept_pack)
    );
    assert_eq!(meta(dir.path(), &key("keep1")).nlink(), 3);
    let left: HashSet<u64> = (fs::read_dir(dir.path()).unwrap())
        .map(|e| e.unwrap().metadata().unwrap().ino())
        .collect();
    assert!(
        !left.contains(&gone_inode),
        "a pack with no entry left is gone"
    );

    let cleared = depdash::cache::clear(dir.path()).unwrap();
    assert_eq!(
        (cleared.removed_entries, cleared.bytes_freed),
        (3, kept_pack)
    );
}

#[tokio::test]
async fn the_size_bound_counts_a_pack_once_not_per_link() {
    let dir = tempfile::tempdir().unwrap();
    let names: Vec<String> = (0..100).map(|i| format!("pkg{i}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let items: Vec<_> = (batch(&refs, HOUR).into_iter())
        .map(|(k, _, ttl)| (k, vec![b'x'; 1000], ttl))
        .collect();
    // One pack of ~110 KB: counted per link it would be ~11 MB and evicted at once.
    let bounded = CacheConfig {
        max_file_bytes: 1_000_000,
        ..config(dir.path())
    };
    let cache = open(&bounded).await;
    cache.put_many(&items).await;
    cache.put(&key("one-more"), b"y", HOUR).await;
    let reader = open(&bounded).await;
    for n in &refs {
        assert!(
            matches!(reader.get(&key(n)).await, Lookup::Fresh(_)),
            "{n} evicted"
        );
    }
    assert_eq!(depdash::cache::stats(dir.path()).unwrap().entries, 101);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warm_run_reads_the_cold_runs_answers_from_packs() {
    let p = super::cli::Project::new();
    let server = RegistryServer::start(dataset_for(
        &crate::support::site_packages::real_packages(),
        5,
    ))
    .await;
    let url = server.url();
    let (cold_out, cold) = super::cli::run(&p, &url, "cold.json", &[]).await;
    let cache_dir = p.path("cache");
    let mut packed = 0;
    for item in fs::read_dir(&cache_dir).unwrap() {
        let item = item.unwrap();
        let name = item.file_name().into_string().unwrap();
        assert!(!name.starts_with(".tmp-"), "temp name left behind: {name}");
        // The run snapshot and the bundle are single files; remove them (and any answer
        // written alone) so that the warm run looks every answer up on its own.
        if item.metadata().unwrap().nlink() > 1 {
            packed += 1;
        } else {
            fs::remove_file(item.path()).unwrap();
        }
    }
    assert!(packed > 0, "no entry of the cold run is in a pack");
    let after_cold = server.stats().total;

    let (warm_out, warm) = super::cli::run(&p, &url, "warm.json", &[]).await;
    assert_eq!(super::cli::code(&warm_out), super::cli::code(&cold_out));
    assert_eq!(warm["packages"], cold["packages"]);
    assert_eq!(warm["findings"], cold["findings"]);
    let file = &warm["metrics"]["cache"]["levels"]["file"];
    assert_eq!(file["hits"], packed, "{file}");
    assert_eq!(file["corrupt_repaired"], 0);
    assert!(
        server.stats().total - after_cold < after_cold,
        "the packs answered"
    );
}
