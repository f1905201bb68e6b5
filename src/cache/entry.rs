//! The on-disk and in-Redis entry envelope: a fixed header, the key, then the payload, sealed by
//! a SHA-256. Every read is verified; anything that does not verify is an [`EntryError`], which
//! the levels turn into a miss plus a repair, never into an answer.
//!
//! Layout (all integers little-endian):
//!
//! | offset | size | field                                             |
//! |--------|------|---------------------------------------------------|
//! | 0      | 8    | magic `DEPDASHC`                                  |
//! | 8      | 2    | format version ([`FORMAT_VERSION`])               |
//! | 10     | 2    | key length `k`                                    |
//! | 12     | 8    | fetched_at, unix seconds                          |
//! | 20     | 8    | ttl, seconds                                      |
//! | 28     | 8    | payload length `n`                                |
//! | 36     | 32   | SHA-256 of bytes 0..36, the key and the payload   |
//! | 68     | k    | key string (`depdash:v1:...`)                     |
//! | 68 + k | n    | payload                                           |
//!
//! The digest covers the header fields as well as the payload so that a flipped bit in
//! `fetched_at` or `ttl` cannot silently change freshness. The key is stored so that an entry
//! copied or hashed to the wrong place is rejected rather than served for another package.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

pub const MAGIC: &[u8; 8] = b"DEPDASHC";
pub const FORMAT_VERSION: u16 = 1;
pub const HEADER_LEN: usize = 68;
const DIGEST_OFFSET: usize = 36;

/// How long after its TTL an entry may still be served as stale (`--offline`). Redis keys live
/// for TTL + this window; older entries are treated as misses everywhere and removed by
/// `depdash cache prune`.
pub const STALE_GRACE: Duration = Duration::from_secs(30 * 86_400);

/// Why bytes are not a valid entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    #[error("entry is {len} bytes, shorter than the {HEADER_LEN}-byte header")]
    Truncated { len: usize },
    #[error("entry does not start with the depdash magic")]
    BadMagic,
    #[error("entry format version {found}, expected {FORMAT_VERSION}")]
    UnsupportedVersion { found: u16 },
    #[error("entry length {actual} does not match its header ({expected:?} bytes)")]
    LengthMismatch { expected: Option<u64>, actual: u64 },
    #[error("entry checksum does not match its contents")]
    ChecksumMismatch,
    #[error("entry belongs to another key")]
    KeyMismatch,
}

/// The fixed-size part of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub fetched_at: u64,
    pub ttl_secs: u64,
    pub key_len: u16,
    pub payload_len: u64,
}

impl Header {
    /// Total encoded size of the entry this header describes; `None` when a crafted
    /// `payload_len` makes it overflow (such an entry matches no file).
    pub fn entry_len(&self) -> Option<u64> {
        (HEADER_LEN as u64 + u64::from(self.key_len)).checked_add(self.payload_len)
    }

    pub fn freshness(&self, now: u64) -> Freshness {
        freshness(self.fetched_at, self.ttl_secs, now)
    }
}

/// Where an entry stands in its life at some instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Within its TTL.
    Fresh,
    /// Past its TTL but within [`STALE_GRACE`]: served only when stale serving is allowed.
    Stale,
    /// Past TTL + grace: never served.
    Dead,
}

pub fn freshness(fetched_at: u64, ttl_secs: u64, now: u64) -> Freshness {
    let fresh_until = fetched_at.saturating_add(ttl_secs);
    if now < fresh_until {
        Freshness::Fresh
    } else if now < fresh_until.saturating_add(STALE_GRACE.as_secs()) {
        Freshness::Stale
    } else {
        Freshness::Dead
    }
}

/// Seconds since the Unix epoch (0 if the clock is before 1970).
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A verified entry sharing one buffer with its encoded form, so the same bytes can be kept
/// in memory, written to a file and sent to Redis without copies. The buffer may hold more
/// than this entry (a bundle of entries read as one file): the entry is `start..end` of it.
#[derive(Clone, Debug)]
pub struct Record {
    pub fetched_at: u64,
    pub ttl_secs: u64,
    encoded: Arc<[u8]>,
    start: usize,
    payload_offset: usize,
    end: usize,
}

impl Record {
    /// Seals `payload` for `key`.
    pub fn seal(key: &str, fetched_at: u64, ttl: Duration, payload: &[u8]) -> Record {
        Record::seal_with(key, fetched_at, ttl, |out| out.extend_from_slice(payload))
    }

    /// Seals the payload `write` appends for `key`, built in place (no copy of a large payload).
    pub fn seal_with(
        key: &str,
        fetched_at: u64,
        ttl: Duration,
        write: impl FnOnce(&mut Vec<u8>),
    ) -> Record {
        let mut encoded = encode(key, fetched_at, ttl, &[]);
        let payload_offset = encoded.len();
        write(&mut encoded);
        let payload_len = (encoded.len() - payload_offset) as u64;
        encoded[28..DIGEST_OFFSET].copy_from_slice(&payload_len.to_le_bytes());
        let digest = digest_of(
            &encoded[..DIGEST_OFFSET],
            &encoded[HEADER_LEN..payload_offset],
            &encoded[payload_offset..],
        );
        encoded[DIGEST_OFFSET..HEADER_LEN].copy_from_slice(&digest);
        Record {
            fetched_at,
            ttl_secs: ttl.as_secs(),
            start: 0,
            payload_offset,
            end: encoded.len(),
            encoded: encoded.into(),
        }
    }

    /// Verifies `bytes` as the entry of `key`.
    pub fn open(key: &str, bytes: Vec<u8>) -> Result<Record, EntryError> {
        let len = bytes.len();
        Record::open_within(key, bytes.into(), 0..len)
    }

    /// Verifies `buffer[range]` as the entry of `key`, sharing `buffer`.
    pub fn open_within(
        key: &str,
        buffer: Arc<[u8]>,
        range: std::ops::Range<usize>,
    ) -> Result<Record, EntryError> {
        let header = verify(key, &buffer[range.clone()])?;
        Ok(Record {
            fetched_at: header.fetched_at,
            ttl_secs: header.ttl_secs,
            start: range.start,
            payload_offset: range.start + HEADER_LEN + usize::from(header.key_len),
            end: range.end,
            encoded: buffer,
        })
    }

    /// The buffer this record lives in and its payload's range there, for entries stored
    /// inside this one's payload (see [`Record::open_within`]).
    pub fn shared_payload(&self) -> (Arc<[u8]>, std::ops::Range<usize>) {
        (self.encoded.clone(), self.payload_offset..self.end)
    }

    pub fn payload(&self) -> &[u8] {
        &self.encoded[self.payload_offset..self.end]
    }

    /// The key stored in the envelope (verified against the expected key when opened).
    pub fn key(&self) -> &[u8] {
        &self.encoded[self.start + HEADER_LEN..self.payload_offset]
    }

    /// The full envelope (what goes to disk and to Redis).
    pub fn encoded(&self) -> &[u8] {
        &self.encoded[self.start..self.end]
    }

    pub fn freshness(&self, now: u64) -> Freshness {
        freshness(self.fetched_at, self.ttl_secs, now)
    }

    /// When the entry turns stale (unix seconds).
    pub fn fresh_until(&self) -> u64 {
        self.fetched_at.saturating_add(self.ttl_secs)
    }

    /// The envelope's SHA-256: it names these exact bytes, key, fetch time and TTL included.
    pub fn checksum(&self) -> Seal {
        seal_of(self.encoded()).unwrap_or_default()
    }

    /// Seconds from `now` until the entry is [`Freshness::Dead`] (0 if it already is).
    pub fn secs_until_dead(&self, now: u64) -> u64 {
        self.fetched_at
            .saturating_add(self.ttl_secs)
            .saturating_add(STALE_GRACE.as_secs())
            .saturating_sub(now)
    }

    /// Seconds from `now` until the entry turns stale (0 if it already is).
    pub fn secs_until_stale(&self, now: u64) -> u64 {
        self.fetched_at
            .saturating_add(self.ttl_secs)
            .saturating_sub(now)
    }
}

/// Writes the entry of `key` to `out` as a stream (a payload of megabytes is never held
/// whole): the header, the key, then the `payload_len` bytes `write_payload` writes, hashed as
/// they go; the seal is written into the header's place last. A payload of another length is
/// an error (the entry would not verify). Returns the seal.
pub fn write_streamed<W: std::io::Write + std::io::Seek>(
    out: &mut W,
    key: &str,
    fetched_at: u64,
    ttl: Duration,
    payload_len: u64,
    write_payload: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> std::io::Result<Seal> {
    let mut header = encode(key, fetched_at, ttl, &[]);
    header[28..DIGEST_OFFSET].copy_from_slice(&payload_len.to_le_bytes());
    let mut hasher = Sha256::new();
    hasher.update(&header[..DIGEST_OFFSET]);
    hasher.update(&header[HEADER_LEN..]);
    out.write_all(&header)?;
    let mut tee = Tee {
        out: &mut *out,
        hasher: &mut hasher,
        written: 0,
    };
    write_payload(&mut tee)?;
    if tee.written != payload_len {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("payload of {} bytes, {payload_len} announced", tee.written),
        ));
    }
    let digest: [u8; 32] = hasher.finalize().into();
    out.seek(std::io::SeekFrom::Start(DIGEST_OFFSET as u64))?;
    out.write_all(&digest)?;
    Ok(Seal(digest))
}

/// [`write_streamed`]'s payload writer: to the output and the hash, counted.
struct Tee<'a, W> {
    out: &'a mut W,
    hasher: &'a mut Sha256,
    written: u64,
}

impl<W: std::io::Write> std::io::Write for Tee<'_, W> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let n = self.out.write(bytes)?;
        self.hasher.update(&bytes[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// An entry's SHA-256 as its envelope carries it ([`Record::checksum`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Seal(pub [u8; 32]);

impl Seal {
    pub fn to_hex(self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// The seal in `bytes` (an entry's start; at least [`HEADER_LEN`] bytes), unverified.
pub fn seal_of(bytes: &[u8]) -> Option<Seal> {
    let digest = bytes.get(DIGEST_OFFSET..HEADER_LEN)?;
    Some(Seal(digest.try_into().ok()?))
}

/// Encodes an entry. Keys longer than `u16::MAX` bytes are impossible by construction (names
/// and versions are short); they are truncated to keep this infallible, and then never verify.
pub fn encode(key: &str, fetched_at: u64, ttl: Duration, payload: &[u8]) -> Vec<u8> {
    let key = &key.as_bytes()[..key.len().min(usize::from(u16::MAX))];
    let mut out = Vec::with_capacity(HEADER_LEN + key.len() + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&(key.len() as u16).to_le_bytes());
    out.extend_from_slice(&fetched_at.to_le_bytes());
    out.extend_from_slice(&ttl.as_secs().to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    let digest = digest_of(&out, key, payload);
    out.extend_from_slice(&digest);
    out.extend_from_slice(key);
    out.extend_from_slice(payload);
    out
}

fn digest_of(fields: &[u8], key: &[u8], payload: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(fields);
    hasher.update(key);
    hasher.update(payload);
    hasher.finalize().into()
}

fn u64_at(bytes: &[u8], offset: usize) -> u64 {
    let mut buf = [0u8; 8];
    buf.copy_from_slice(&bytes[offset..offset + 8]);
    u64::from_le_bytes(buf)
}

fn u16_at(bytes: &[u8], offset: usize) -> u16 {
    u16::from_le_bytes([bytes[offset], bytes[offset + 1]])
}

/// Parses the fixed header without checking the digest (cheap listing for `cache stats`).
/// `bytes` needs only the first [`HEADER_LEN`] bytes.
pub fn parse_header(bytes: &[u8]) -> Result<Header, EntryError> {
    if bytes.len() < HEADER_LEN {
        return Err(EntryError::Truncated { len: bytes.len() });
    }
    if &bytes[..8] != MAGIC {
        return Err(EntryError::BadMagic);
    }
    let version = u16_at(bytes, 8);
    if version != FORMAT_VERSION {
        return Err(EntryError::UnsupportedVersion { found: version });
    }
    Ok(Header {
        key_len: u16_at(bytes, 10),
        fetched_at: u64_at(bytes, 12),
        ttl_secs: u64_at(bytes, 20),
        payload_len: u64_at(bytes, 28),
    })
}

/// Fully verifies `bytes` as the entry of `key`: header, exact length, digest and key.
pub fn verify(key: &str, bytes: &[u8]) -> Result<Header, EntryError> {
    let header = parse_header(bytes)?;
    if header.entry_len() != Some(bytes.len() as u64) {
        return Err(EntryError::LengthMismatch {
            expected: header.entry_len(),
            actual: bytes.len() as u64,
        });
    }
    let key_end = HEADER_LEN + usize::from(header.key_len);
    let stored_key = &bytes[HEADER_LEN..key_end];
    let digest = digest_of(&bytes[..DIGEST_OFFSET], stored_key, &bytes[key_end..]);
    if digest[..] != bytes[DIGEST_OFFSET..HEADER_LEN] {
        return Err(EntryError::ChecksumMismatch);
    }
    if stored_key != key.as_bytes() {
        return Err(EntryError::KeyMismatch);
    }
    Ok(header)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "depdash:v1:pypi:0123456789ab:requests:2.32.3";

    fn sealed() -> Vec<u8> {
        encode(
            KEY,
            1_700_000_000,
            Duration::from_secs(3600),
            b"{\"ok\":true}",
        )
    }

    #[test]
    fn a_record_built_in_place_is_the_record_of_its_payload() {
        let payload = b"{\"a\":[1,2,3]}";
        let ttl = Duration::from_secs(60);
        let built = Record::seal_with("depdash:v1:k", 1_700_000_000, ttl, |out| {
            out.extend_from_slice(&payload[..5]);
            out.extend_from_slice(&payload[5..]);
        });
        let direct = encode("depdash:v1:k", 1_700_000_000, ttl, payload);
        assert_eq!(built.encoded(), &direct[..]);
        assert_eq!(built.payload(), payload);
        assert_eq!(built.checksum(), seal_of(&direct).unwrap());
        verify("depdash:v1:k", built.encoded()).expect("verifies");
    }

    #[test]
    fn an_entry_written_as_a_stream_is_the_entry_of_its_payload() {
        let payload = b"{\"head\":1}\n{\"body\":[1,2,3]}";
        let ttl = Duration::from_secs(60);
        let mut out = std::io::Cursor::new(Vec::new());
        let seal = write_streamed(
            &mut out,
            KEY,
            1_700_000_000,
            ttl,
            payload.len() as u64,
            |w| {
                w.write_all(&payload[..7])?;
                w.write_all(&payload[7..])
            },
        )
        .unwrap();
        let written = out.into_inner();
        assert_eq!(written, encode(KEY, 1_700_000_000, ttl, payload));
        assert_eq!(seal_of(&written), Some(seal));
        // A payload of another length than announced is refused.
        let mut out = std::io::Cursor::new(Vec::new());
        let short = write_streamed(&mut out, KEY, 1, ttl, 99, |w| w.write_all(b"short"));
        assert!(short.is_err());
    }

    #[test]
    fn round_trip() {
        let record = Record::open(KEY, sealed()).unwrap();
        assert_eq!(record.payload(), b"{\"ok\":true}");
        assert_eq!(record.fetched_at, 1_700_000_000);
        assert_eq!(record.ttl_secs, 3600);
        let again = Record::seal(
            KEY,
            1_700_000_000,
            Duration::from_secs(3600),
            b"{\"ok\":true}",
        );
        assert_eq!(again.encoded(), &sealed()[..]);
        assert_eq!(again.payload(), record.payload());
    }

    #[test]
    fn empty_payload_is_valid() {
        let record = Record::open(KEY, encode(KEY, 1, Duration::ZERO, b"")).unwrap();
        assert!(record.payload().is_empty());
    }

    #[test]
    fn every_single_byte_flip_is_detected() {
        let good = sealed();
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 0x01;
            assert!(
                verify(KEY, &bad).is_err(),
                "flip at byte {i} went unnoticed"
            );
        }
    }

    #[test]
    fn every_truncation_is_detected() {
        let good = sealed();
        for len in 0..good.len() {
            assert!(verify(KEY, &good[..len]).is_err(), "truncation to {len}");
        }
        let mut longer = good.clone();
        longer.push(0);
        assert!(matches!(
            verify(KEY, &longer),
            Err(EntryError::LengthMismatch { .. })
        ));
    }

    #[test]
    fn specific_errors() {
        assert_eq!(verify(KEY, b""), Err(EntryError::Truncated { len: 0 }));
        let mut wrong_version = sealed();
        wrong_version[8] = 2;
        assert_eq!(
            verify(KEY, &wrong_version),
            Err(EntryError::UnsupportedVersion { found: 2 })
        );
        assert_eq!(
            verify("depdash:v1:pypi:0123456789ab:requests:2.32.4", &sealed()),
            Err(EntryError::KeyMismatch)
        );
        let garbage: Vec<u8> = (0..500u32).map(|i| (i * 7 + 3) as u8).collect();
        assert_eq!(verify(KEY, &garbage), Err(EntryError::BadMagic));
    }

    mod fuzz {
        use super::*;
        use proptest::prelude::*;

        /// Bytes a hostile writer could leave: a valid entry with header fields overwritten,
        /// bytes flipped, cut or extended, or raw bytes behind the magic.
        fn crafted() -> impl Strategy<Value = Vec<u8>> {
            let valid = sealed();
            let len = valid.len();
            prop_oneof![
                (0usize..5, any::<u64>()).prop_map({
                    let valid = valid.clone();
                    move |(field, value)| {
                        let mut bytes = valid.clone();
                        let (at, width) = [(8, 2), (10, 2), (12, 8), (20, 8), (28, 8)][field];
                        bytes[at..at + width].copy_from_slice(&value.to_le_bytes()[..width]);
                        bytes
                    }
                }),
                (
                    prop::collection::vec((0..len, any::<u8>()), 1..4),
                    0..len + 8
                )
                    .prop_map({
                        let valid = valid.clone();
                        move |(edits, new_len)| {
                            let mut bytes = valid.clone();
                            for (at, byte) in edits {
                                bytes[at] ^= byte;
                            }
                            bytes.resize(new_len, 0);
                            bytes
                        }
                    }),
                prop::collection::vec(any::<u8>(), 0..200).prop_map(|tail| {
                    let mut bytes = MAGIC.to_vec();
                    bytes.extend_from_slice(&tail);
                    bytes
                }),
            ]
        }

        proptest! {
            /// Never a panic; whatever opens is exactly what `encode` makes of its fields (so
            /// no crafted variation of an entry is ever served), and header parsing, the
            /// length check and `cache stats`' reading of it agree.
            #[test]
            fn decoding_is_total_and_only_accepts_genuine_entries(bytes in crafted()) {
                let header = parse_header(&bytes);
                match Record::open(KEY, bytes.clone()) {
                    Ok(record) => {
                        let again = encode(
                            KEY,
                            record.fetched_at,
                            Duration::from_secs(record.ttl_secs),
                            record.payload(),
                        );
                        prop_assert_eq!(&again, &bytes);
                        prop_assert_eq!(header.unwrap().entry_len(), Some(bytes.len() as u64));
                    }
                    Err(_) => {
                        if let Ok(h) = header {
                            let _ = h.entry_len();
                            let _ = h.freshness(unix_now());
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn freshness_windows() {
        let grace = STALE_GRACE.as_secs();
        assert_eq!(freshness(100, 10, 109), Freshness::Fresh);
        assert_eq!(freshness(100, 10, 110), Freshness::Stale);
        assert_eq!(freshness(100, 10, 110 + grace - 1), Freshness::Stale);
        assert_eq!(freshness(100, 10, 110 + grace), Freshness::Dead);
        assert_eq!(freshness(100, 0, 100), Freshness::Stale);
        assert_eq!(freshness(u64::MAX, u64::MAX, 5), Freshness::Fresh);
    }
}
