//! Pack files of the file level: several entries written as one file, each entry's own path a
//! hard link to it, so that a run's puts cost one inode allocation per pack instead of one per
//! entry (a cold 180-package run makes ~400 puts; creating 400 files took 20–630 ms on ext4
//! depending on the moment, 400 hard links to one file ~6 ms).
//!
//! Layout (all integers little-endian):
//!
//! | offset | size   | field                                                         |
//! |--------|--------|---------------------------------------------------------------|
//! | 0      | 8      | magic `DEPDASHP`                                              |
//! | 8      | 2      | pack format version ([`PACK_VERSION`])                        |
//! | 10     | 2      | record count `n`, 1..=[`MAX_RECORDS`]                         |
//! | 12     | 4      | reserved, zero                                                |
//! | 16     | 48 · n | index: per record the SHA-256 of its key (the entry's file    |
//! |        |        | name, raw), its offset and its length (u64 each), in strictly  |
//! |        |        | increasing digest order                                       |
//! | …      |        | the records, each a complete entry envelope (`entry.rs`)      |
//!
//! A reader of one entry reads the header, the index (at most 12 KiB) and then only its own
//! record, which it verifies exactly as a single-entry file (digest, length and the key it
//! asked for). The index itself is not sealed: it only says where to look, and a record is
//! served only when its own envelope verifies against the reader's key, so a damaged index
//! can cost a miss, never a wrong answer. The index is checked for shape before use: the count
//! bound, that it fits in the file, that every range lies after it and inside the file, and
//! strictly increasing digests (no duplicate keys).

use std::ops::Range;

/// First bytes of a pack; single-entry files start with `entry::MAGIC` instead.
pub const PACK_MAGIC: &[u8; 8] = b"DEPDASHP";
pub const PACK_VERSION: u16 = 1;
/// Records per pack at most: bounds the index a reader of one entry reads (12 KiB).
pub const MAX_RECORDS: usize = 256;
/// Bytes per pack the writer aims to stay under (a record larger than this alone is written
/// as a single-entry file), so one pack never grows into a file worth evicting whole.
pub const MAX_PACK_BYTES: u64 = 4 * 1024 * 1024;
/// Length of the fixed header.
pub const PACK_HEADER_LEN: usize = 16;
const INDEX_ENTRY_LEN: usize = 48;
const DIGEST_LEN: usize = 32;

/// Why a pack cannot give the entry asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PackError {
    #[error("pack is {len} bytes, shorter than its {PACK_HEADER_LEN}-byte header")]
    Truncated { len: u64 },
    #[error("pack format version {found}, expected {PACK_VERSION}")]
    UnsupportedVersion { found: u16 },
    #[error("pack index claims {count} records (1 to {MAX_RECORDS} allowed)")]
    BadCount { count: u16 },
    #[error("pack index needs {needed} bytes but the file is {len} bytes")]
    IndexTruncated { needed: u64, len: u64 },
    #[error("pack record {n} lies outside the file or overlaps the index")]
    OutOfRange { n: usize },
    #[error("pack index out of order or repeated at record {n}")]
    Unordered { n: usize },
    #[error("pack does not hold this entry")]
    NotInPack,
}

/// Whether `head` (a file's first bytes) starts a pack.
pub fn is_pack(head: &[u8]) -> bool {
    head.starts_with(PACK_MAGIC)
}

/// Reads a pack's fixed header: the record count, bounded. `file_len` is the whole file's.
pub fn parse_header(head: &[u8], file_len: u64) -> Result<usize, PackError> {
    if head.len() < PACK_HEADER_LEN || file_len < PACK_HEADER_LEN as u64 {
        return Err(PackError::Truncated { len: file_len });
    }
    let version = u16::from_le_bytes([head[8], head[9]]);
    if version != PACK_VERSION {
        return Err(PackError::UnsupportedVersion { found: version });
    }
    let count = u16::from_le_bytes([head[10], head[11]]);
    if count == 0 || usize::from(count) > MAX_RECORDS {
        return Err(PackError::BadCount { count });
    }
    let needed = index_end(usize::from(count)) as u64;
    if needed > file_len {
        return Err(PackError::IndexTruncated {
            needed,
            len: file_len,
        });
    }
    Ok(usize::from(count))
}

/// Where the index of a pack of `count` records ends (and its records may begin).
pub fn index_end(count: usize) -> usize {
    PACK_HEADER_LEN + count * INDEX_ENTRY_LEN
}

/// Checks the shape of `index` (`count` entries, from a file of `file_len` bytes) and returns
/// the byte range of the record whose key digest is `digest`. The whole index is checked even
/// when the entry comes early: a pack with any bad entry is not trusted for any.
pub fn find(
    index: &[u8],
    count: usize,
    file_len: u64,
    digest: &[u8; DIGEST_LEN],
) -> Result<Range<u64>, PackError> {
    if index.len() != count * INDEX_ENTRY_LEN {
        return Err(PackError::IndexTruncated {
            needed: index_end(count) as u64,
            len: file_len,
        });
    }
    let records_start = index_end(count) as u64;
    let mut previous: Option<&[u8]> = None;
    let mut found = None;
    for (n, raw) in index.chunks_exact(INDEX_ENTRY_LEN).enumerate() {
        let this = &raw[..DIGEST_LEN];
        let offset = u64_at(raw, DIGEST_LEN);
        let len = u64_at(raw, DIGEST_LEN + 8);
        let end = offset
            .checked_add(len)
            .filter(|&end| offset >= records_start && end <= file_len)
            .ok_or(PackError::OutOfRange { n })?;
        if previous.is_some_and(|last| last >= this) {
            return Err(PackError::Unordered { n });
        }
        previous = Some(this);
        if this == digest {
            found = Some(offset..end);
        }
    }
    found.ok_or(PackError::NotInPack)
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut buf = [0u8; 8];
    buf.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(buf)
}

/// Encodes a pack of `records`: each the raw SHA-256 of its key and its encoded entry. The
/// caller gives at most [`MAX_RECORDS`] records with distinct digests; they are put in digest
/// order here.
pub fn encode(records: &mut [([u8; DIGEST_LEN], &[u8])]) -> Vec<u8> {
    debug_assert!((1..=MAX_RECORDS).contains(&records.len()));
    records.sort_unstable_by_key(|(digest, _)| *digest);
    let body: usize = records.iter().map(|(_, bytes)| bytes.len()).sum();
    let start = index_end(records.len());
    let mut out = Vec::with_capacity(start + body);
    out.extend_from_slice(PACK_MAGIC);
    out.extend_from_slice(&PACK_VERSION.to_le_bytes());
    out.extend_from_slice(&(records.len() as u16).to_le_bytes());
    out.extend_from_slice(&[0u8; 4]);
    let mut offset = start as u64;
    for (digest, bytes) in records.iter() {
        out.extend_from_slice(digest);
        out.extend_from_slice(&offset.to_le_bytes());
        out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
        offset += bytes.len() as u64;
    }
    for (_, bytes) in records.iter() {
        out.extend_from_slice(bytes);
    }
    out
}

/// The raw key digest an entry file name (64 hex characters) stands for.
pub fn digest_of_name(name: &str) -> Option<[u8; DIGEST_LEN]> {
    let mut digest = [0u8; DIGEST_LEN];
    hex::decode_to_slice(name, &mut digest).ok()?;
    Some(digest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn digest(n: u8) -> [u8; 32] {
        [n; 32]
    }

    fn sample() -> Vec<u8> {
        encode(&mut [(digest(3), &b"third"[..]), (digest(1), b"first!")])
    }

    fn locate(pack: &[u8], d: &[u8; 32]) -> Result<Range<u64>, PackError> {
        let len = pack.len() as u64;
        let count = parse_header(pack, len)?;
        let index = pack
            .get(PACK_HEADER_LEN..index_end(count))
            .ok_or(PackError::Truncated { len })?;
        find(index, count, len, d)
    }

    #[test]
    fn records_are_found_by_digest_whatever_the_order_given() {
        let pack = sample();
        assert!(is_pack(&pack));
        let first = locate(&pack, &digest(1)).unwrap();
        let third = locate(&pack, &digest(3)).unwrap();
        assert_eq!(&pack[first.start as usize..first.end as usize], b"first!");
        assert_eq!(&pack[third.start as usize..third.end as usize], b"third");
        assert_eq!(locate(&pack, &digest(2)), Err(PackError::NotInPack));
    }

    /// Sets index entry `n`'s field at `at` (0 digest, 32 offset, 40 length).
    fn patch(pack: &mut [u8], n: usize, at: usize, bytes: &[u8]) {
        let start = PACK_HEADER_LEN + n * INDEX_ENTRY_LEN + at;
        pack[start..start + bytes.len()].copy_from_slice(bytes);
    }

    #[test]
    fn hostile_indexes_are_rejected_with_their_reason() {
        let good = sample();
        let len = good.len() as u64;
        assert_eq!(
            locate(&good[..10], &digest(1)),
            Err(PackError::Truncated { len: 10 })
        );
        assert!(matches!(
            locate(&good[..40], &digest(1)),
            Err(PackError::IndexTruncated { needed: 112, .. })
        ));
        let mut huge = good.clone();
        huge[10..12].copy_from_slice(&u16::MAX.to_le_bytes());
        assert_eq!(
            locate(&huge, &digest(1)),
            Err(PackError::BadCount { count: u16::MAX })
        );
        let mut empty = good.clone();
        empty[10..12].copy_from_slice(&0u16.to_le_bytes());
        assert_eq!(
            locate(&empty, &digest(1)),
            Err(PackError::BadCount { count: 0 })
        );
        let mut version = good.clone();
        version[8] = 9;
        assert_eq!(
            locate(&version, &digest(1)),
            Err(PackError::UnsupportedVersion { found: 9 })
        );
        let mut outside = good.clone();
        patch(&mut outside, 1, 40, &len.to_le_bytes());
        assert_eq!(
            locate(&outside, &digest(1)),
            Err(PackError::OutOfRange { n: 1 })
        );
        let mut wrapping = good.clone();
        patch(&mut wrapping, 0, 32, &u64::MAX.to_le_bytes());
        assert_eq!(
            locate(&wrapping, &digest(3)),
            Err(PackError::OutOfRange { n: 0 })
        );
        let mut into_index = good.clone();
        patch(&mut into_index, 0, 32, &0u64.to_le_bytes());
        assert_eq!(
            locate(&into_index, &digest(1)),
            Err(PackError::OutOfRange { n: 0 })
        );
        let mut duplicate = good.clone();
        patch(&mut duplicate, 1, 0, &digest(1));
        assert_eq!(
            locate(&duplicate, &digest(1)),
            Err(PackError::Unordered { n: 1 })
        );
    }

    #[test]
    fn names_decode_to_digests() {
        let name = "ab".repeat(32);
        assert_eq!(digest_of_name(&name), Some([0xab; 32]));
        assert_eq!(digest_of_name("xyz"), None);
    }

    /// Bytes after a pack header: raw, or index entries with small digests, offsets and
    /// lengths (so that some are in range, in order or repeated) followed by raw bytes.
    fn after_header() -> impl Strategy<Value = Vec<u8>> {
        let entry = (0u8..4, 0u64..700, 0u64..300).prop_map(|(d, offset, len)| {
            let mut raw = digest(d).to_vec();
            raw.extend_from_slice(&offset.to_le_bytes());
            raw.extend_from_slice(&len.to_le_bytes());
            raw
        });
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..4096),
            (
                prop::collection::vec(entry, 0..6),
                prop::collection::vec(any::<u8>(), 0..600)
            )
                .prop_map(|(entries, body)| [entries.concat(), body].concat()),
        ]
    }

    proptest! {
        /// Any bytes after a valid header: never a panic, and a range handed out always lies
        /// after the index and inside the file.
        #[test]
        fn random_indexes_never_panic_nor_point_outside(
            count in prop_oneof![0u16..8, any::<u16>()],
            tail in after_header(),
            wanted in (0u8..4).prop_map(digest),
        ) {
            let mut pack = PACK_MAGIC.to_vec();
            pack.extend_from_slice(&PACK_VERSION.to_le_bytes());
            pack.extend_from_slice(&count.to_le_bytes());
            pack.extend_from_slice(&[0; 4]);
            pack.extend_from_slice(&tail);
            if let Ok(range) = locate(&pack, &wanted) {
                prop_assert!(range.start >= index_end(usize::from(count)) as u64);
                prop_assert!(range.end <= pack.len() as u64);
            }
        }
    }
}
