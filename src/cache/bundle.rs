//! The bundle level: every record one run on a target served or stored, kept together in one
//! file-cache entry so that the next run on that target reads one file instead of one per
//! record (a warm 10,000-package check looked up ~22,000 entries one by one).
//!
//! A bundle is a container, not an answer: each record in it keeps its own envelope (key,
//! fetch time, TTL, SHA-256), is verified when the bundle is read and judged fresh, stale or
//! dead by its own TTL exactly as the file level judges it. A record the bundle lacks, or whose
//! TTL has passed, is looked up in the levels below (and, past them, revalidated or fetched by
//! the caller) as without a bundle. A bundle that does not verify (outer envelope or any record
//! in it) is rejected whole and reported; it is never read in part.
//!
//! The bundle is rewritten at the end of a run only when the run used something it lacked
//! (a put, or an answer from another level); see [`Bundle::to_store`] for what it keeps.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};

use super::entry::{Freshness, HEADER_LEN, Record, Seal, parse_header};

/// A stored record and whether this run used it as is.
struct Held {
    record: Record,
    used: AtomicBool,
}

/// The records of a stored bundle, and what this run served or stored.
pub(crate) struct Bundle {
    /// In key order (as stored), looked up by binary search: a 10,000-package bundle holds
    /// ~22,000 records, and a map keyed by owned strings cost more to build than the lookups.
    /// Emptied by [`Bundle::close`], which frees the stored bundle's buffer (megabytes) before
    /// the run evaluates its answers.
    loaded: RwLock<Vec<Held>>,
    /// Records the run used that the bundle did not hold as they are.
    other: Mutex<HashMap<String, Record>>,
    /// Set by [`Bundle::close`]: nothing more is collected.
    closed: AtomicBool,
    /// The stored bundle's seal (`None`: none was stored, or it was rejected).
    loaded_seal: Option<Seal>,
    /// When the first of the records the run used turns stale (unix seconds; `u64::MAX`:
    /// none used yet).
    used_fresh_until: AtomicU64,
}

impl Bundle {
    /// A bundle to collect this run's records, holding `loaded` (in strictly increasing key
    /// order, as [`Bundle::parse`] returns them) from the stored one.
    pub(crate) fn new(loaded: Vec<Record>, loaded_seal: Option<Seal>) -> Self {
        debug_assert!(loaded.windows(2).all(|w| w[0].key() < w[1].key()));
        let loaded = (loaded.into_iter())
            .map(|record| Held {
                record,
                used: AtomicBool::new(false),
            })
            .collect();
        Bundle {
            loaded: RwLock::new(loaded),
            other: Mutex::new(HashMap::new()),
            closed: AtomicBool::new(false),
            loaded_seal,
            used_fresh_until: AtomicU64::new(u64::MAX),
        }
    }

    pub(crate) fn loaded_seal(&self) -> Option<Seal> {
        self.loaded_seal
    }

    /// When the first record the run used (served or stored) turns stale; `None`: it used none.
    pub(crate) fn used_fresh_until(&self) -> Option<u64> {
        Some(self.used_fresh_until.load(Ordering::Relaxed)).filter(|&t| t != u64::MAX)
    }

    /// Splits a stored bundle's payload (`buffer[range]`) into its records, each verified
    /// against the key it carries and sharing `buffer`, in key order. Any record that does not
    /// verify, and records out of key order (as never stored) or repeated, reject the whole
    /// bundle (the reason).
    pub(crate) fn parse(
        (buffer, range): (std::sync::Arc<[u8]>, std::ops::Range<usize>),
    ) -> Result<Vec<Record>, String> {
        let mut records: Vec<Record> = Vec::new();
        let mut at = range.start;
        while at < range.end {
            let n = records.len();
            let rest = &buffer[at..range.end];
            let header = parse_header(rest).map_err(|e| format!("record {n}: {e}"))?;
            let len = (header.entry_len())
                .and_then(|len| usize::try_from(len).ok())
                .filter(|&len| len <= rest.len())
                .ok_or_else(|| format!("record {n} runs past the bundle's end"))?;
            let key_end = HEADER_LEN + usize::from(header.key_len);
            let key = std::str::from_utf8(&rest[HEADER_LEN..key_end])
                .map_err(|_| format!("record {n}: key is not UTF-8"))?;
            let record = Record::open_within(key, buffer.clone(), at..at + len)
                .map_err(|e| format!("record {n} ({key}): {e}"))?;
            match records.last().map(|last| last.key().cmp(key.as_bytes())) {
                Some(std::cmp::Ordering::Equal) => {
                    return Err(format!("record {n} repeats an earlier key"));
                }
                Some(std::cmp::Ordering::Greater) => {
                    return Err(format!("record {n} is out of key order"));
                }
                _ => {}
            }
            records.push(record);
            at += len;
        }
        Ok(records)
    }

    fn with_held<R>(&self, key: &str, f: impl FnOnce(Option<&Held>) -> R) -> R {
        let loaded = self.loaded.read().unwrap_or_else(|p| p.into_inner());
        let at = (loaded.binary_search_by(|held| held.record.key().cmp(key.as_bytes()))).ok();
        f(at.map(|at| &loaded[at]))
    }

    pub(crate) fn get(&self, key: &str) -> Option<Record> {
        self.with_held(key, |held| held.map(|held| held.record.clone()))
    }

    /// Notes that the run served or stored `record` for `key`; `from_bundle`: it came from
    /// this bundle as is.
    pub(crate) fn use_record(&self, key: &str, record: &Record, from_bundle: bool) {
        (self.used_fresh_until).fetch_min(record.fresh_until(), Ordering::Relaxed);
        let as_held = self.with_held(key, |held| {
            let same = from_bundle || held.is_some_and(|h| h.record.encoded() == record.encoded());
            if let Some(held) = held.filter(|_| same) {
                held.used.store(true, Ordering::Relaxed);
            }
            same
        });
        if as_held || self.closed.load(Ordering::Relaxed) {
            return;
        }
        let mut other = self.other.lock().unwrap_or_else(|p| p.into_inner());
        other.insert(key.to_string(), record.clone());
    }

    /// The payload to store when the run used records the loaded bundle lacks (new, renewed
    /// or from another level): the records used, and the loaded ones left unused while within
    /// their TTL (a run with some checks turned off must not empty the bundle for the next;
    /// one that outlived its TTL unused, e.g. of an upgraded package, is dropped), each in
    /// its own envelope, in key order.
    pub(crate) fn to_store(&self, now: u64) -> Option<Vec<u8>> {
        let other = self.other.lock().unwrap_or_else(|p| p.into_inner());
        if other.is_empty() {
            return None;
        }
        let loaded = self.loaded.read().unwrap_or_else(|p| p.into_inner());
        let kept = (loaded.iter())
            .filter(|held| {
                held.used.load(Ordering::Relaxed) || held.record.freshness(now) == Freshness::Fresh
            })
            .map(|held| (held.record.key(), &held.record))
            .filter(|(key, _)| std::str::from_utf8(key).is_ok_and(|k| !other.contains_key(k)));
        let renewed = (other.iter()).map(|(key, record)| (key.as_bytes(), record));
        let mut records: Vec<(&[u8], &Record)> = kept.chain(renewed).collect();
        records.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let size = records.iter().map(|(_, r)| r.encoded().len()).sum();
        let mut out = Vec::with_capacity(size);
        for (_, record) in records {
            out.extend_from_slice(record.encoded());
        }
        Some(out)
    }

    /// [`Bundle::to_store`], then lets go of every record: lookups from now on miss it (and
    /// are answered by the levels below), and nothing more is collected.
    pub(crate) fn close(&self, now: u64) -> Option<Vec<u8>> {
        self.closed.store(true, Ordering::Relaxed);
        let payload = self.to_store(now);
        drop(std::mem::take(
            &mut *self.loaded.write().unwrap_or_else(|p| p.into_inner()),
        ));
        self.other.lock().unwrap_or_else(|p| p.into_inner()).clear();
        payload
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::entry::unix_now;
    use super::*;

    fn record(key: &str, payload: &[u8]) -> Record {
        Record::seal(key, 1_700_000_000, Duration::from_secs(60), payload)
    }

    /// The parsed records by key.
    fn parse(bytes: &[u8]) -> Result<HashMap<String, Record>, String> {
        let records = Bundle::parse((bytes.into(), 0..bytes.len()))?;
        Ok((records.into_iter())
            .map(|r| (String::from_utf8(r.key().to_vec()).unwrap(), r))
            .collect())
    }

    fn parse_sorted(bytes: &[u8]) -> Vec<Record> {
        Bundle::parse((bytes.into(), 0..bytes.len())).unwrap()
    }

    fn bundle_of(records: &[(&str, &[u8])]) -> Vec<u8> {
        let bundle = Bundle::new(Vec::new(), None);
        for (key, payload) in records {
            bundle.use_record(key, &record(key, payload), false);
        }
        bundle.to_store(unix_now()).expect("a new bundle is stored")
    }

    #[test]
    fn round_trips_every_record_with_its_own_envelope() {
        let bytes = bundle_of(&[("depdash:v1:a", b"{\"a\":1}"), ("depdash:v1:b", b"[]")]);
        let parsed = parse(&bytes).expect("parses");
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed["depdash:v1:a"].payload(), b"{\"a\":1}");
        assert_eq!(parsed["depdash:v1:b"].ttl_secs, 60);
        assert_eq!(parsed["depdash:v1:b"].fetched_at, 1_700_000_000);
    }

    #[test]
    fn a_flipped_bit_truncation_or_trailing_junk_rejects_the_whole_bundle() {
        let bytes = bundle_of(&[("depdash:v1:a", b"{\"a\":1}"), ("depdash:v1:b", b"[]")]);
        let mut flipped = bytes.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert!(parse(&flipped).unwrap_err().contains("checksum"));
        let truncated = &bytes[..bytes.len() - 1];
        assert!(
            parse(truncated)
                .unwrap_err()
                .contains("past the bundle's end")
        );
        let mut junk = bytes.clone();
        junk.extend_from_slice(b"xyz");
        assert!(parse(&junk).is_err());
    }

    #[test]
    fn a_duplicated_or_out_of_order_record_is_rejected() {
        let one = record("depdash:v1:a", b"1");
        let mut bytes = one.encoded().to_vec();
        bytes.extend_from_slice(one.encoded());
        assert!(parse(&bytes).unwrap_err().contains("repeats"));
        let two = record("depdash:v1:b", b"2");
        let mut swapped = two.encoded().to_vec();
        swapped.extend_from_slice(one.encoded());
        assert!(parse(&swapped).unwrap_err().contains("out of key order"));
    }

    #[test]
    fn closing_returns_what_to_store_and_lets_go_of_every_record() {
        let bundle = Bundle::new(parse_sorted(&bundle_of(&[("depdash:v1:a", b"1")])), None);
        assert!(bundle.get("depdash:v1:a").is_some());
        let fresh = Record::seal("depdash:v1:b", unix_now(), Duration::from_secs(60), b"2");
        bundle.use_record("depdash:v1:b", &fresh, false);
        let stored = parse(&bundle.close(unix_now()).expect("b is new")).unwrap();
        assert_eq!(stored["depdash:v1:b"].payload(), b"2");
        assert!(
            bundle.get("depdash:v1:a").is_none(),
            "closed: nothing served"
        );
        bundle.use_record("depdash:v1:c", &fresh, false);
        assert_eq!(bundle.close(unix_now()), None, "closed: nothing collected");
    }

    #[test]
    fn records_are_found_by_key_and_only_by_their_own() {
        let keys = ["depdash:v1:a", "depdash:v1:b", "depdash:v1:c"];
        let records: Vec<(&str, &[u8])> = keys.iter().map(|k| (*k, k.as_bytes())).collect();
        let bundle = Bundle::new(parse_sorted(&bundle_of(&records)), None);
        for key in keys {
            assert_eq!(bundle.get(key).unwrap().payload(), key.as_bytes());
        }
        for absent in ["depdash:v1:", "depdash:v1:aa", "depdash:v1:d", ""] {
            assert!(bundle.get(absent).is_none(), "{absent}");
        }
    }

    #[test]
    fn stored_only_when_the_run_used_something_the_bundle_lacked() {
        let fresh = |key: &str, payload: &[u8]| {
            Record::seal(key, unix_now(), Duration::from_secs(3600), payload)
        };
        let expired = record("depdash:v1:expired", b"0");
        let stored: Vec<u8> = [
            fresh("depdash:v1:a", b"1"),
            fresh("depdash:v1:b", b"2"),
            expired,
        ]
        .iter()
        .flat_map(|r| r.encoded().to_vec())
        .collect();
        let loaded = parse_sorted(&stored);
        let a = parse(&stored).unwrap()["depdash:v1:a"].clone();

        let same = Bundle::new(loaded.clone(), None);
        same.use_record("depdash:v1:a", &a, true);
        same.use_record("depdash:v1:a", &a.clone(), false);
        assert_eq!(
            same.to_store(unix_now()),
            None,
            "nothing new: nothing written"
        );

        let renewed = Bundle::new(loaded, None);
        renewed.use_record("depdash:v1:a", &a, true);
        renewed.use_record("depdash:v1:c", &fresh("depdash:v1:c", b"3"), false);
        let stored = parse(&renewed.to_store(unix_now()).expect("a new record")).unwrap();
        let mut keys: Vec<&str> = stored.keys().map(String::as_str).collect();
        keys.sort();
        // `b` unused but fresh is kept; the expired one, unused, is dropped.
        assert_eq!(keys, ["depdash:v1:a", "depdash:v1:b", "depdash:v1:c"]);
    }
}
