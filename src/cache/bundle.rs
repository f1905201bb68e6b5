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
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use super::entry::{Freshness, HEADER_LEN, Record, parse_header};

/// A stored record and whether this run used it as is.
struct Held {
    record: Record,
    used: AtomicBool,
}

/// The records of a stored bundle, and what this run served or stored.
pub(crate) struct Bundle {
    loaded: HashMap<String, Held>,
    /// Records the run used that the bundle did not hold as they are.
    other: Mutex<HashMap<String, Record>>,
}

impl Bundle {
    /// A bundle to collect this run's records, holding `loaded` from the stored one.
    pub(crate) fn new(loaded: HashMap<String, Record>) -> Self {
        let loaded = (loaded.into_iter())
            .map(|(key, record)| {
                let used = AtomicBool::new(false);
                (key, Held { record, used })
            })
            .collect();
        Bundle {
            loaded,
            other: Mutex::new(HashMap::new()),
        }
    }

    /// Splits a stored bundle's payload (`buffer[range]`) into its records, each verified
    /// against the key it carries and sharing `buffer`. Any record that does not verify
    /// rejects the whole bundle (the reason).
    pub(crate) fn parse(
        (buffer, range): (std::sync::Arc<[u8]>, std::ops::Range<usize>),
    ) -> Result<HashMap<String, Record>, String> {
        let mut records = HashMap::new();
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
                .map_err(|_| format!("record {n}: key is not UTF-8"))?
                .to_string();
            let record = Record::open_within(&key, buffer.clone(), at..at + len)
                .map_err(|e| format!("record {n} ({key}): {e}"))?;
            if records.insert(key, record).is_some() {
                return Err(format!("record {n} repeats an earlier key"));
            }
            at += len;
        }
        Ok(records)
    }

    pub(crate) fn get(&self, key: &str) -> Option<Record> {
        self.loaded.get(key).map(|held| held.record.clone())
    }

    /// Notes that the run served or stored `record` for `key`; `from_bundle`: it came from
    /// this bundle as is.
    pub(crate) fn use_record(&self, key: &str, record: &Record, from_bundle: bool) {
        let held = self.loaded.get(key);
        if from_bundle || held.is_some_and(|h| h.record.encoded() == record.encoded()) {
            if let Some(held) = held {
                held.used.store(true, Ordering::Relaxed);
            }
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
        let kept = (self.loaded.iter())
            .filter(|(key, _)| !other.contains_key(*key))
            .filter(|(_, held)| {
                held.used.load(Ordering::Relaxed) || held.record.freshness(now) == Freshness::Fresh
            })
            .map(|(key, held)| (key, &held.record));
        let mut records: Vec<(&String, &Record)> = kept.chain(other.iter()).collect();
        records.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let size = records.iter().map(|(_, r)| r.encoded().len()).sum();
        let mut out = Vec::with_capacity(size);
        for (_, record) in records {
            out.extend_from_slice(record.encoded());
        }
        Some(out)
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

    fn parse(bytes: &[u8]) -> Result<HashMap<String, Record>, String> {
        Bundle::parse((bytes.into(), 0..bytes.len()))
    }

    fn bundle_of(records: &[(&str, &[u8])]) -> Vec<u8> {
        let bundle = Bundle::new(HashMap::new());
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
    fn a_duplicated_record_is_rejected() {
        let one = record("depdash:v1:a", b"1");
        let mut bytes = one.encoded().to_vec();
        bytes.extend_from_slice(one.encoded());
        assert!(parse(&bytes).unwrap_err().contains("repeats"));
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
        let loaded = parse(&stored).unwrap();
        let a = loaded["depdash:v1:a"].clone();

        let same = Bundle::new(loaded.clone());
        same.use_record("depdash:v1:a", &a, true);
        same.use_record("depdash:v1:a", &a.clone(), false);
        assert_eq!(
            same.to_store(unix_now()),
            None,
            "nothing new: nothing written"
        );

        let renewed = Bundle::new(loaded);
        renewed.use_record("depdash:v1:a", &a, true);
        renewed.use_record("depdash:v1:c", &fresh("depdash:v1:c", b"3"), false);
        let stored = parse(&renewed.to_store(unix_now()).expect("a new record")).unwrap();
        let mut keys: Vec<&str> = stored.keys().map(String::as_str).collect();
        keys.sort();
        // `b` unused but fresh is kept; the expired one, unused, is dropped.
        assert_eq!(keys, ["depdash:v1:a", "depdash:v1:b", "depdash:v1:c"]);
    }
}
