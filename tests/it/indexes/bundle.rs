//! The bundle of cached answers (issue 10, warm runs at 10,000 packages): a warm run reads the
//! sources' answers of the last run on its target from one file, each judged by its own TTL;
//! what the bundle lacks or what expired is looked up, revalidated or fetched one by one; a
//! bundle that does not verify is reported and ignored; the report is the same either way.

use std::path::PathBuf;

use serde_json::Value;

use super::{EXPIRE_ALL, PINS, Project, dataset, stderr, verdict};
use crate::support::cache_entries::forget_stored_reports;
use crate::support::registry::RegistryServer;

/// The cache file holding the target's bundle (its key is stored in the entry's header).
fn bundle_file(p: &Project) -> PathBuf {
    let found: Vec<PathBuf> = std::fs::read_dir(p.path("cache"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|path| {
            std::fs::read(path).is_ok_and(|b| {
                let key_len = u16::from_le_bytes([b[10], b[11]]) as usize;
                b.get(68..68 + key_len)
                    .is_some_and(|key| key.windows(9).any(|w| w == b"run-facts"))
            })
        })
        .collect();
    assert_eq!(found.len(), 1, "one bundle entry: {found:?}");
    found.into_iter().next().unwrap()
}

/// A level's counter in the report's cache metrics (0 when the level is absent).
fn level(report: &Value, level: &str, counter: &str) -> u64 {
    report["metrics"]["cache"]["levels"][level][counter]
        .as_u64()
        .unwrap_or(0)
}

fn lookups(report: &Value) -> u64 {
    report["metrics"]["cache"]["lookups"].as_u64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warm_run_reads_every_answer_from_the_bundle_and_reports_the_same() {
    let server = RegistryServer::start(dataset("MIT")).await;
    let url = server.url();
    let p = Project::pinned();
    let (_, cold) = p.check(&url, &url, "cold.json", &[], &[]);
    assert_eq!(level(&cold, "bundle", "hits"), 0, "nothing bundled yet");
    server.reset_stats();

    let (output, warm) = p.check(&url, &url, "warm.json", &[], &[]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(server.stats().total, 0, "a warm run asks nothing");
    assert!(lookups(&warm) > 0);
    assert_eq!(level(&warm, "bundle", "hits"), lookups(&warm), "{warm}");
    assert_eq!(
        level(&warm, "file", "lookups"),
        0,
        "no entry read one by one"
    );
    assert_eq!(
        level(&warm, "memory", "lookups"),
        0,
        "no memory level in a run"
    );
    assert_eq!(verdict(&warm), verdict(&cold));

    // Without the bundle the same answers come from the entries one by one.
    std::fs::remove_file(bundle_file(&p)).unwrap();
    let (output, unbundled) = p.check(&url, &url, "unbundled.json", &[], &[]);
    assert!(!stderr(&output).contains("ignored"), "{}", stderr(&output));
    assert_eq!(level(&unbundled, "file", "hits"), lookups(&unbundled));
    assert_eq!(server.stats().total, 0);
    assert_eq!(verdict(&unbundled), verdict(&cold));
    // ... and are bundled again. (The run before judged from cached answers alone, so it may
    // have stored its report, which would answer the next run without the bundle: forgotten.)
    forget_stored_reports(&p.path("cache"));
    let (_, rebundled) = p.check(&url, &url, "rebundled.json", &[], &[]);
    assert_eq!(level(&rebundled, "bundle", "hits"), lookups(&rebundled));
}

/// A pin added to the requirements: only its answers are asked for, the rest come from the
/// bundle, and the next run finds all of them bundled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_inventory_asks_only_for_what_changed() {
    let server = RegistryServer::start(dataset("MIT")).await;
    let url = server.url();
    let (first, rest) = PINS.split_first().unwrap();
    let lines = |pins: &[(&str, &str)]| -> String {
        pins.iter().map(|(n, v)| format!("{n}=={v}\n")).collect()
    };
    let p = Project::new(&lines(rest));
    p.check(&url, &url, "before.json", &[], &[]);
    let bundled_before = p.check(&url, &url, "warm.json", &[], &[]).1;
    let before = level(&bundled_before, "bundle", "hits");
    server.reset_stats();

    p.write("requirements.txt", &lines(PINS));
    let (_, after) = p.check(&url, &url, "after.json", &[], &[]);
    let stats = server.stats();
    assert_eq!(
        stats.pypi_version, 1,
        "only {} is asked for: {stats:?}",
        first.0
    );
    assert_eq!(stats.querybatch_sizes, vec![1], "{stats:?}");
    assert_eq!(level(&after, "bundle", "hits"), before, "{after}");
    server.reset_stats();
    let (_, next) = p.check(&url, &url, "next.json", &[], &[]);
    assert_eq!(server.stats().total, 0);
    assert_eq!(level(&next, "bundle", "hits"), lookups(&next));
    assert_eq!(verdict(&next), verdict(&after));
}

/// Each way a stored bundle can be wrong: reported, ignored (the answers come from the entries
/// one by one, nothing is fetched), the report is the cold run's, and it is written again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_bundle_is_reported_and_ignored() {
    type Spoil = fn(&std::path::Path);
    let spoilers: &[(&str, Spoil)] = &[
        ("flipped payload byte", |path| {
            let mut b = std::fs::read(path).unwrap();
            let at = b.len() - 2;
            b[at] ^= 0x20;
            std::fs::write(path, b).unwrap();
        }),
        ("truncated", |path| {
            let b = std::fs::read(path).unwrap();
            std::fs::write(path, &b[..b.len() / 2]).unwrap();
        }),
        ("sealed, but a record inside does not verify", |path| {
            use depdash::cache::entry::{Record, unix_now};
            let b = std::fs::read(path).unwrap();
            let key_len = u16::from_le_bytes([b[10], b[11]]) as usize;
            let key = std::str::from_utf8(&b[68..68 + key_len]).unwrap();
            let mut payload = b[68 + key_len..].to_vec();
            let at = payload.len() - 1;
            payload[at] ^= 0x01;
            let ttl = std::time::Duration::from_secs(3600);
            let resealed = Record::seal(key, unix_now(), ttl, &payload);
            std::fs::write(path, resealed.encoded()).unwrap();
        }),
    ];
    for (what, spoil) in spoilers {
        let server = RegistryServer::start(dataset("MIT")).await;
        let url = server.url();
        let p = Project::pinned();
        let (_, cold) = p.check(&url, &url, "cold.json", &[], &[]);
        spoil(&bundle_file(&p));
        server.reset_stats();
        let (output, after) = p.check(&url, &url, "after.json", &[], &[]);
        let err = stderr(&output);
        assert!(
            err.contains("bundle of cached answers ignored"),
            "{what}: {err}"
        );
        assert_eq!(server.stats().total, 0, "{what}");
        assert_eq!(level(&after, "bundle", "hits"), 0, "{what}");
        assert_eq!(level(&after, "file", "hits"), lookups(&after), "{what}");
        assert_eq!(verdict(&after), verdict(&cold), "{what}");
        // The run judged from cached answers alone and may have stored its report: forgotten,
        // so the next run shows what it reads.
        forget_stored_reports(&p.path("cache"));
        let (output, next) = p.check(&url, &url, "next.json", &[], &[]);
        assert!(
            !stderr(&output).contains("bundle"),
            "{what}: {}",
            stderr(&output)
        );
        assert_eq!(level(&next, "bundle", "hits"), lookups(&next), "{what}");
    }
}

/// Entries past their TTL in the bundle: offline they are served as stale answers (and
/// reported as stale), as without a bundle; online each is revalidated with the source.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_bundled_answers_are_stale_offline_and_revalidated_online() {
    let server = RegistryServer::start(dataset("MIT")).await;
    let url = server.url();
    let p = Project::pinned();
    let policy = p.write("depdash.toml", EXPIRE_ALL);
    let config = ["--config", policy.to_str().unwrap()];
    let (_, cold) = p.check(&url, &url, "cold.json", &config, &[]);
    server.reset_stats();

    let mut offline = config.to_vec();
    offline.push("--offline");
    let (output, stale) = p.check(&url, &url, "stale.json", &offline, &[]);
    assert_eq!(server.stats().total, 0, "{}", stderr(&output));
    let served = stale["metrics"]["cache"]["stale_served"].as_u64().unwrap();
    assert_eq!(served, lookups(&stale), "{}", stale["metrics"]["cache"]);
    assert_eq!(
        level(&stale, "bundle", "hits"),
        served,
        "served from the bundle"
    );
    for package in stale["packages"].as_array().unwrap() {
        let sources = package["stale"].as_array().map_or(0, Vec::len);
        assert!(sources > 0, "reported as stale: {package}");
    }
    assert_eq!(stale["findings"], cold["findings"]);

    let (_, online) = p.check(&url, &url, "online.json", &config, &[]);
    let stats = server.stats();
    assert!(
        stats.conditional > 0,
        "expired answers revalidated: {stats:?}"
    );
    assert_eq!(stats.conditional, stats.not_modified, "{stats:?}");
    // Handed out for revalidation (a level hit), never served as an answer.
    assert_eq!(
        online["metrics"]["cache"]["hits"], 0,
        "{}",
        online["metrics"]["cache"]
    );
    assert_eq!(online["metrics"]["cache"]["stale_served"], 0);
    for package in online["packages"].as_array().unwrap() {
        assert_eq!(package["stale"], Value::Null, "nothing stale: {package}");
    }
    assert_eq!(verdict(&online)["findings"], verdict(&cold)["findings"]);
}
