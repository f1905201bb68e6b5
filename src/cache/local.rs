//! The file level alone, for records about this machine (the run snapshot, the bundle of
//! answers, the stored report): never in a shared Redis, never in the sources' hit rate.
//! Whole entries are verified as any other; a seal or the start of a payload can be read from
//! an entry's head alone, as a hint.

use std::time::Duration;

use super::entry::{Freshness, Record, Seal, unix_now};
use super::file::FileRead;
use super::{CacheKey, TieredCache};

/// The answer to a [`TieredCache::get_local`] lookup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LocalLookup {
    Fresh(LocalPayload),
    Miss,
    /// Something was stored under the key but is not a valid entry (corrupt, truncated, of
    /// another format version, or unreadable): why. A corrupt file has been removed.
    Invalid(String),
}

/// A local entry's payload, in the buffer it was read into (megabytes for a bundle or a
/// stored report: not copied).
#[derive(Clone, Debug)]
pub struct LocalPayload(Record);

impl PartialEq for LocalPayload {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Eq for LocalPayload {}

impl std::ops::Deref for LocalPayload {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.0.payload()
    }
}

impl TieredCache {
    /// The file level alone, fresh entries only, uncounted: for records about this machine
    /// (the run snapshot), which belong neither in a shared Redis nor in the hit rate of the
    /// sources' answers. An entry that does not verify is removed and reported as
    /// [`LocalLookup::Invalid`], so the caller can say so. Blocking file I/O.
    pub fn get_local(&self, key: &CacheKey) -> LocalLookup {
        match self.local_record(key) {
            Ok(Some(record)) => LocalLookup::Fresh(LocalPayload(record)),
            Ok(None) => LocalLookup::Miss,
            Err(reason) => LocalLookup::Invalid(reason),
        }
    }

    /// [`get_local`](Self::get_local)'s record, its payload not copied.
    pub(super) fn local_record(&self, key: &CacheKey) -> Result<Option<Record>, String> {
        let Some(file) = self.inner.file.as_ref().filter(|_| !self.inner.refresh) else {
            return Ok(None);
        };
        match file.read(key) {
            Ok(FileRead::Hit(record)) => Ok(match record.freshness(unix_now()) {
                Freshness::Fresh => Some(record),
                _ => None,
            }),
            Ok(FileRead::Miss) => Ok(None),
            Ok(FileRead::Repaired { reason }) => Err(reason),
            Err(e) => Err(e.to_string()),
        }
    }

    /// The seal of the file level's fresh entry of `key`, from its header alone (the payload
    /// is neither read nor verified): a cheap "is it still the entry I knew". Blocking file I/O.
    pub fn local_seal(&self, key: &CacheKey) -> Option<Seal> {
        self.local_start(key, 0).map(|(seal, _)| seal)
    }

    /// The first `len` bytes of the payload of the file level's fresh entry of `key`,
    /// unverified (a hint: nothing read this way may be taken as an answer). Blocking file I/O.
    pub fn peek_local(&self, key: &CacheKey, len: usize) -> Option<Vec<u8>> {
        self.local_start(key, len).map(|(_, start)| start)
    }

    /// [`local_seal`](Self::local_seal) and [`peek_local`](Self::peek_local).
    fn local_start(&self, key: &CacheKey, len: usize) -> Option<(Seal, Vec<u8>)> {
        let file = self.inner.file.as_ref().filter(|_| !self.inner.refresh)?;
        let (header, seal, start) = file.read_start(key, len).ok()??;
        (header.freshness(unix_now()) == Freshness::Fresh).then_some((seal, start))
    }

    /// Stores `payload` in the file level alone (see [`get_local`](Self::get_local)). Returns
    /// the seal of the entry written.
    pub async fn put_local(&self, key: &CacheKey, payload: &[u8], ttl: Duration) -> Option<Seal> {
        if !self.inner.enabled {
            return None;
        }
        let file = self.inner.file.as_ref()?;
        let record = Record::seal(key.as_str(), unix_now(), ttl, payload);
        match file.write(key, &record) {
            // Counted toward the size bound, not as a write of the sources' answers.
            Ok(written) => {
                self.inner.note_file_written(file, written).await;
                (written > 0).then(|| record.checksum())
            }
            Err(e) => {
                self.inner.file_error(file, key, "snapshot write failed", e);
                None
            }
        }
    }

    /// [`put_local`](Self::put_local) of a payload of `payload_len` bytes that `write` writes
    /// as a stream, straight into the file (a payload of megabytes is never held whole).
    /// Nothing is stored if it fails or writes another length. Returns the seal written.
    pub async fn put_local_streamed(
        &self,
        key: &CacheKey,
        ttl: Duration,
        payload_len: u64,
        write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
    ) -> Option<Seal> {
        if !self.inner.enabled {
            return None;
        }
        let file = self.inner.file.as_ref()?;
        match file.write_streamed(key, unix_now(), ttl, payload_len, write) {
            Ok(Some((written, seal))) => {
                self.inner.note_file_written(file, written).await;
                Some(seal)
            }
            Ok(None) => None,
            Err(e) => {
                self.inner.file_error(file, key, "snapshot write failed", e);
                None
            }
        }
    }
}
