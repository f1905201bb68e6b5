//! `depdash cache stats|clear|prune` over the file level's directory. Entries are counted per
//! path, bytes per file: the entries of a pack (`pack.rs`) are hard links to one file, counted
//! once, and its space is freed only when its last entry is removed.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::CacheError;
use super::entry::{self, EntryError, Freshness, HEADER_LEN};
use super::file::{DiskFile, Inodes, io_error, read_path, remove_any, remove_entry_path, scan};

/// Temp files older than this are leftovers of a crashed writer and may be pruned.
const ABANDONED_TEMP_AGE: Duration = Duration::from_secs(3_600);

/// Largest entry `prune` loads to verify: the HTTP layer's answer cap plus room for the envelope.
/// A bigger record was not written by depdash and is removed as corrupt without being read.
const MAX_ENTRY_BYTES: u64 = 40 * 1024 * 1024;

/// What `depdash cache stats` shows about the file cache.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct CacheStats {
    pub location: PathBuf,
    pub entries: u64,
    /// Bytes on disk: a pack shared by many entries counts once.
    pub total_bytes: u64,
    /// Entries past their TTL (servable only with `--offline` while within the grace window).
    pub expired: u64,
    /// Files whose header is not a valid entry (removed by `prune` or on their next read).
    pub unreadable: u64,
    /// Entries stored in packs, and the packs they are in.
    pub packed_entries: u64,
    pub packs: u64,
    /// Entry count per kind (`pypi`, `osv`, `advisory`).
    pub by_kind: BTreeMap<String, u64>,
}

/// What `clear` or `prune` removed.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct CleanupReport {
    pub removed_expired: u64,
    pub removed_corrupt: u64,
    pub removed_temp: u64,
    /// Entries removed by `clear` regardless of state.
    pub removed_entries: u64,
    /// Bytes of the files whose last link was removed.
    pub bytes_freed: u64,
    pub remaining_entries: u64,
    pub remaining_bytes: u64,
}

fn kind_of(key: &[u8]) -> String {
    String::from_utf8_lossy(key)
        .split(':')
        .nth(2)
        .unwrap_or("?")
        .to_string()
}

/// Counts entries, bytes and expired entries. Reads only each entry's header and key (and a
/// pack's index; no digest check), so it is fast even on a large cache; a missing directory is
/// an empty cache.
pub fn stats(dir: &Path) -> Result<CacheStats, CacheError> {
    let now = entry::unix_now();
    let scan = scan(dir).map_err(io_error(dir))?;
    let mut stats = CacheStats {
        location: dir.to_path_buf(),
        total_bytes: Inodes::bytes(&scan.entries),
        ..CacheStats::default()
    };
    let mut packs = HashSet::new();
    for file in &scan.entries {
        stats.entries += 1;
        let head_len = (HEADER_LEN + usize::from(u16::MAX)) as u64;
        let Ok(Ok(found)) = read_path(&file.path, u64::MAX, head_len) else {
            stats.unreadable += 1;
            continue;
        };
        if found.packed {
            stats.packed_entries += 1;
            packs.insert(file.inode.unwrap_or_default());
        }
        let head = &found.bytes;
        match entry::parse_header(head) {
            Ok(header) if header.entry_len() == Some(found.record_len) => {
                if header.freshness(now) != Freshness::Fresh {
                    stats.expired += 1;
                }
                let key_end = (HEADER_LEN + usize::from(header.key_len)).min(head.len());
                *stats
                    .by_kind
                    .entry(kind_of(&head[HEADER_LEN..key_end]))
                    .or_default() += 1;
            }
            _ => stats.unreadable += 1,
        }
    }
    stats.packs = packs.len() as u64;
    Ok(stats)
}

/// Removes every entry and temp file (and nothing else) from `dir`.
pub fn clear(dir: &Path) -> Result<CleanupReport, CacheError> {
    let scan = scan(dir).map_err(io_error(dir))?;
    let mut report = CleanupReport {
        bytes_freed: Inodes::bytes(scan.entries.iter().chain(&scan.temps)),
        ..CleanupReport::default()
    };
    for file in scan.entries.iter().chain(&scan.temps) {
        remove_any(&file.path).map_err(io_error(&file.path))?;
        report.removed_entries += 1;
    }
    Ok(report)
}

/// Removes expired entries (past their TTL: an online run would refetch them anyway, but
/// `--offline` can no longer fall back on them), corrupt entries and temp files abandoned by
/// crashed writers. Every remaining entry has been fully verified. An entry in a pack is
/// removed by unlinking its path; the pack's space is freed when its last entry goes.
pub fn prune(dir: &Path) -> Result<CleanupReport, CacheError> {
    let scan = scan(dir).map_err(io_error(dir))?;
    let now = entry::unix_now();
    let mut report = CleanupReport::default();
    let mut inodes = Inodes::of(&scan.entries);
    let mut remaining: Vec<&DiskFile> = Vec::new();
    for file in &scan.entries {
        let verdict = match read_path(&file.path, MAX_ENTRY_BYTES, u64::MAX) {
            Ok(Ok(found)) => verify_in_place(&file.path, &found.bytes)
                .map(|h| h.freshness(now) == Freshness::Fresh)
                .map_err(|e| e.to_string()),
            Ok(Err(reason)) => Err(reason),
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(_) if file.path.is_dir() => Err("a directory".to_string()),
            Err(e) => return Err(io_error(&file.path)(e)),
        };
        match verdict {
            Ok(true) => {
                remaining.push(file);
                continue;
            }
            Ok(false) => report.removed_expired += 1,
            Err(_) => report.removed_corrupt += 1,
        }
        remove_entry_path(&file.path);
        report.bytes_freed += inodes.unlink(file);
    }
    report.remaining_entries = remaining.len() as u64;
    report.remaining_bytes = Inodes::bytes(remaining);
    let abandoned_before = SystemTime::now() - ABANDONED_TEMP_AGE;
    for temp in scan.temps.iter().filter(|t| t.modified < abandoned_before) {
        if fs::remove_file(&temp.path).is_ok() {
            report.removed_temp += 1;
            report.bytes_freed += temp.len;
        }
    }
    Ok(report)
}

/// Verifies an entry against the key stored in it (prune does not know the keys) and checks
/// that the file name is that key's hash, so a misplaced entry counts as corrupt.
fn verify_in_place(path: &Path, bytes: &[u8]) -> Result<entry::Header, EntryError> {
    let header = entry::parse_header(bytes)?;
    let key_end = (HEADER_LEN + usize::from(header.key_len)).min(bytes.len());
    let key =
        std::str::from_utf8(&bytes[HEADER_LEN..key_end]).map_err(|_| EntryError::KeyMismatch)?;
    let header = entry::verify(key, bytes)?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    if name != crate::fingerprint::of_bytes(key.as_bytes()) {
        return Err(EntryError::KeyMismatch);
    }
    Ok(header)
}
