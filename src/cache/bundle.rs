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
//! (a put, or an answer from another level) or did not use all of it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use super::entry::{HEADER_LEN, Record, parse_header};

/// The records of a stored bundle, and what this run served or stored.
pub(crate) struct Bundle {
    loaded: HashMap<String, Record>,
    used: Mutex<HashMap<String, Record>>,
    /// The run used a record the bundle did not hold as is.
    changed: AtomicBool,
}

impl Bundle {
    /// A bundle to collect this run's records, holding `loaded` from the stored one.
    pub(crate) fn new(loaded: HashMap<String, Record>) -> Self {
        Bundle {
            loaded,
            used: Mutex::new(HashMap::new()),
            changed: AtomicBool::new(false),
        }
    }

    /// Splits a stored bundle's payload into its records, each verified against the key it
    /// carries. Any record that does not verify rejects the whole bundle (the reason).
    pub(crate) fn parse(mut bytes: &[u8]) -> Result<HashMap<String, Record>, String> {
        let mut records = HashMap::new();
        while !bytes.is_empty() {
            let header =
                parse_header(bytes).map_err(|e| format!("record {}: {e}", records.len()))?;
            let len = (header.entry_len())
                .and_then(|len| usize::try_from(len).ok())
                .filter(|&len| len <= bytes.len())
                .ok_or_else(|| format!("record {} runs past the bundle's end", records.len()))?;
            let key_end = HEADER_LEN + usize::from(header.key_len);
            let key = std::str::from_utf8(&bytes[HEADER_LEN..key_end])
                .map_err(|_| format!("record {}: key is not UTF-8", records.len()))?;
            let record = Record::open(key, bytes[..len].to_vec())
                .map_err(|e| format!("record {} ({key}): {e}", records.len()))?;
            if records.insert(key.to_string(), record).is_some() {
                return Err(format!("record {key} appears twice"));
            }
            bytes = &bytes[len..];
        }
        Ok(records)
    }

    pub(crate) fn get(&self, key: &str) -> Option<Record> {
        self.loaded.get(key).cloned()
    }

    /// Notes that the run served or stored `record` for `key`; `from_bundle`: it came from
    /// this bundle as is.
    pub(crate) fn use_record(&self, key: &str, record: &Record, from_bundle: bool) {
        let same = from_bundle
            || self
                .loaded
                .get(key)
                .is_some_and(|held| held.encoded() == record.encoded());
        if !same {
            self.changed.store(true, Ordering::Relaxed);
        }
        let mut used = self.used.lock().unwrap_or_else(|p| p.into_inner());
        used.insert(key.to_string(), record.clone());
    }

    /// The payload to store when it differs from the loaded bundle: the records used, each
    /// in its own envelope, in key order (so equal sets give equal bytes).
    pub(crate) fn to_store(&self) -> Option<Vec<u8>> {
        let used = self.used.lock().unwrap_or_else(|p| p.into_inner());
        let unchanged = !self.changed.load(Ordering::Relaxed) && used.len() == self.loaded.len();
        if unchanged {
            return None;
        }
        let mut keys: Vec<&String> = used.keys().collect();
        keys.sort();
        let size = used.values().map(|r| r.encoded().len()).sum();
        let mut out = Vec::with_capacity(size);
        for key in keys {
            out.extend_from_slice(used[key].encoded());
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn record(key: &str, payload: &[u8]) -> Record {
        Record::seal(key, 1_700_000_000, Duration::from_secs(60), payload)
    }

    fn bundle_of(records: &[(&str, &[u8])]) -> Vec<u8> {
        let bundle = Bundle::new(HashMap::new());
        for (key, payload) in records {
            bundle.use_record(key, &record(key, payload), false);
        }
        bundle.to_store().expect("a new bundle is stored")
    }

    #[test]
    fn round_trips_every_record_with_its_own_envelope() {
        let bytes = bundle_of(&[("depdash:v1:a", b"{\"a\":1}"), ("depdash:v1:b", b"[]")]);
        let parsed = Bundle::parse(&bytes).expect("parses");
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
        assert!(Bundle::parse(&flipped).unwrap_err().contains("checksum"));
        let truncated = &bytes[..bytes.len() - 1];
        assert!(
            Bundle::parse(truncated)
                .unwrap_err()
                .contains("past the bundle's end")
        );
        let mut junk = bytes.clone();
        junk.extend_from_slice(b"xyz");
        assert!(Bundle::parse(&junk).is_err());
    }

    #[test]
    fn a_duplicated_record_is_rejected() {
        let one = record("depdash:v1:a", b"1");
        let mut bytes = one.encoded().to_vec();
        bytes.extend_from_slice(one.encoded());
        assert!(Bundle::parse(&bytes).unwrap_err().contains("twice"));
    }

    #[test]
    fn stored_only_when_the_run_used_something_else_or_less() {
        let bytes = bundle_of(&[("depdash:v1:a", b"1"), ("depdash:v1:b", b"2")]);
        let loaded = Bundle::parse(&bytes).unwrap();
        let a = loaded["depdash:v1:a"].clone();
        let b = loaded["depdash:v1:b"].clone();

        let all_used = Bundle::new(loaded.clone());
        all_used.use_record("depdash:v1:a", &a, true);
        all_used.use_record("depdash:v1:b", &b, false);
        assert_eq!(all_used.to_store(), None, "same records: nothing to write");

        let fewer = Bundle::new(loaded.clone());
        fewer.use_record("depdash:v1:a", &a, true);
        let stored = fewer.to_store().expect("a record left unused is dropped");
        assert_eq!(Bundle::parse(&stored).unwrap().len(), 1);

        let renewed = Bundle::new(loaded);
        renewed.use_record("depdash:v1:a", &a, true);
        renewed.use_record("depdash:v1:b", &record("depdash:v1:b", b"3"), false);
        let stored = renewed.to_store().expect("a renewed record is stored");
        assert_eq!(
            Bundle::parse(&stored).unwrap()["depdash:v1:b"].payload(),
            b"3"
        );
    }
}
