//! L2: one file per entry path in a private directory; a run's puts share files as packs.
//! The maintenance behind `depdash cache stats|clear|prune` is in `maintenance.rs`.
//!
//! * Layout: `<dir>/<sha256 of key>` (64 hex characters, safe on any file system), flat. Each
//!   path is either a single-entry file or a hard link to a pack (`pack.rs`) holding up to 256
//!   entries; a reader tells them apart by the magic and, in a pack, reads the index and then
//!   only its own record. Packs because creating a file costs an inode allocation, which on
//!   ext4 at busy moments made a cold run's ~400 puts take up to ~630 ms; a link is a directory
//!   entry only (400 links to one file: ~6 ms). Reading stayed per path (one pread of the
//!   index more for a packed entry) because one file per lookup measured cheaper than a shared
//!   index that would have to be locked between processes and compacted.
//! * Writes are atomic: a uniquely named temp file in the same directory (pid + process-wide
//!   counter), then `rename` over the target; for a pack, the pack is written once under a temp
//!   name and each entry path is linked to it (a new path directly, an existing one by a link
//!   under a temp name renamed over it), then the temp name goes. Readers see the old or the
//!   new entry, never a mix, and two processes writing the same key just race to the last
//!   rename. Rewriting one entry later replaces its path only; the pack stays for the other
//!   links. No `fsync`: measured at ~280 µs per 2 KiB put against ~26 µs without, and an entry
//!   torn by a crash fails its checksum and is repaired as a miss.
//! * Repairs: a reader that finds a bad entry removes its path (for a pack, that link only).
//!   If another process renames a fresh entry into place between that read and the removal,
//!   the fresh entry goes too; the cost is one later miss, never a wrong answer.
//! * Permissions (unix): directories created here are 0700, files 0600: cached data can reveal
//!   what a team runs.
//! * Size bound with cheap eviction: the level keeps a running estimate of the directory size
//!   (one scan at the first put of a run, then each put adds the bytes it wrote; overwrites
//!   are over-counted, which only makes eviction a little early). Bytes are counted per file,
//!   not per path: a pack's links count once. When the estimate passes the bound it rescans
//!   and deletes least-recently-used entries in one batch down to [`EVICT_TO_FRACTION`] of the
//!   bound, so scans are rare; a pack's space is freed when its last link goes. Scans run on
//!   tokio's blocking pool (a 20 000-entry directory takes tens of milliseconds to list); the
//!   common put only adds to the estimate. Runs that only read (warm runs) never scan.
//!   "Recently used" is the file's mtime: written on put and bumped on a hit when older than
//!   [`TOUCH_AFTER`] (atime is unreliable under `noatime`/`relatime`, and bumping on every hit
//!   would cost a syscall per hit); the entries of a pack share theirs.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use super::CacheError;
use super::entry::{self, HEADER_LEN, Header, Record, Seal, parse_header, seal_of};
use super::key::{CacheKey, is_entry_file_name};
use super::pack;
use crate::safe_fs::ReadError;

/// Eviction deletes down to this fraction of the bound, so the next eviction is many puts away.
pub const EVICT_TO_FRACTION: f64 = 0.8;

/// A hit refreshes the entry's mtime (its "last access") only when it is older than this.
pub const TOUCH_AFTER: Duration = Duration::from_secs(3_600);

const TEMP_PREFIX: &str = ".tmp-";

/// What reading one entry found.
pub(crate) enum FileRead {
    Hit(Record),
    Miss,
    /// The file was not a valid entry for this key; it has been removed.
    Repaired {
        reason: String,
    },
}

/// What [`FileLevel::write_many`] did.
#[derive(Debug, Default)]
pub(crate) struct BatchWrite {
    /// Entries now on disk (links to a pack or single-entry files).
    pub entries: u64,
    /// Bytes written: each pack once, whatever the number of its links.
    pub bytes: u64,
    /// Packs written.
    pub packed: u64,
    /// Records not stored (their index in the input) and why.
    pub failed: Vec<(usize, io::Error)>,
}

impl BatchWrite {
    fn stored(&mut self, bytes: u64) {
        self.entries += 1;
        self.bytes += bytes;
    }
}

pub(crate) struct FileLevel {
    dir: PathBuf,
    max_bytes: u64,
    /// Running estimate of the directory's size; `None` until the first put scans it.
    size_estimate: Mutex<Option<u64>>,
}

impl FileLevel {
    pub(crate) fn open(dir: &Path, max_bytes: u64) -> Result<Self, CacheError> {
        create_private_dir(dir).map_err(|source| CacheError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        check_private(dir)?;
        Ok(FileLevel {
            dir: dir.to_path_buf(),
            max_bytes,
            size_estimate: Mutex::new(None),
        })
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    pub(crate) fn path_of(&self, key: &CacheKey) -> PathBuf {
        self.dir.join(key.file_name())
    }

    /// Reads and verifies the entry of `key`, from a single-entry file or from the pack its
    /// path links to (only the header, index and its own record are read). An I/O error other
    /// than "not found" is returned as is (the file is left alone: it may be fine and merely
    /// unreadable right now).
    pub(crate) fn read(&self, key: &CacheKey) -> io::Result<FileRead> {
        let name = key.file_name();
        let path = self.dir.join(&name);
        let file = match open_entry(&path)? {
            None => return Ok(FileRead::Miss),
            Some(Err(reason)) => {
                remove_entry_path(&path);
                return Ok(FileRead::Repaired { reason });
            }
            Some(Ok(file)) => file,
        };
        let meta = file.metadata()?;
        // `max_bytes`: never written by this level; do not load a runaway record.
        let found = read_found(&file, meta.len(), &name, self.max_bytes, u64::MAX)?;
        let opened = found.and_then(|found| {
            let len = found.bytes.len();
            Record::open_within(key.as_str(), found.bytes, 0..len).map_err(|e| e.to_string())
        });
        match opened {
            Ok(record) => {
                touch_if_old(&file, &meta);
                Ok(FileRead::Hit(record))
            }
            Err(reason) => {
                drop(file);
                remove_entry_path(&path);
                Ok(FileRead::Repaired { reason })
            }
        }
    }

    /// The header of the entry of `key`, its seal and the first `payload` bytes of its payload
    /// (fewer if it is shorter), unverified (the rest is not read): `None` when there is none,
    /// or its start is not this key's single entry (a pack, another key, a directory, too
    /// short).
    pub(crate) fn read_start(
        &self,
        key: &CacheKey,
        payload: usize,
    ) -> io::Result<Option<(Header, Seal, Vec<u8>)>> {
        let name = key.file_name();
        let Some(Ok(file)) = open_entry(&self.dir.join(&name))? else {
            return Ok(None);
        };
        let meta = file.metadata()?;
        let head_len = HEADER_LEN + key.as_str().len();
        if meta.len() < head_len as u64 {
            return Ok(None);
        }
        let wanted = (head_len as u64 + payload as u64).min(meta.len()) as usize;
        let mut start = vec![0u8; wanted];
        read_exact_at(&file, &mut start, 0)?;
        let Ok(header) = parse_header(&start) else {
            return Ok(None);
        };
        let seal = seal_of(&start);
        let ours = start[HEADER_LEN..head_len] == *key.as_str().as_bytes()
            && header.entry_len() == Some(meta.len());
        let payload = start.split_off(head_len);
        Ok(seal.filter(|_| ours).map(|seal| (header, seal, payload)))
    }

    /// Writes the entry of `key` as a stream ([`entry::write_streamed`]) atomically: a temp
    /// file renamed over the entry. Returns the bytes written (0 when the entry would exceed
    /// the bound and is not stored) and its seal.
    pub(crate) fn write_streamed(
        &self,
        key: &CacheKey,
        fetched_at: u64,
        ttl: Duration,
        payload_len: u64,
        write_payload: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> io::Result<Option<(u64, Seal)>> {
        let len = (HEADER_LEN + key.as_str().len()) as u64 + payload_len;
        if len > self.max_bytes {
            tracing::debug!(key = %key, len, "entry larger than the file cache bound; not stored");
            return Ok(None);
        }
        let seal = write_atomic_with(&self.path_of(key), |file| {
            let mut out = io::BufWriter::with_capacity(256 * 1024, file);
            let seal = entry::write_streamed(
                &mut out,
                key.as_str(),
                fetched_at,
                ttl,
                payload_len,
                write_payload,
            )?;
            out.flush()?;
            Ok(seal)
        })?;
        Ok(Some((len, seal)))
    }

    /// Writes `record` atomically. Returns the bytes written (0 when the entry alone exceeds
    /// the bound and is not stored). The caller then accounts for them with [`Self::note_written`].
    pub(crate) fn write(&self, key: &CacheKey, record: &Record) -> io::Result<u64> {
        let bytes = record.encoded();
        let len = bytes.len() as u64;
        if len > self.max_bytes {
            tracing::debug!(key = %key, len, "entry larger than the file cache bound; not stored");
            return Ok(0);
        }
        write_atomic(&self.path_of(key), bytes)?;
        Ok(len)
    }

    /// Writes `records` (in put order; a key given twice keeps its last record) as packs of
    /// at most [`pack::MAX_RECORDS`] records and about [`pack::MAX_PACK_BYTES`]: each pack is
    /// written once under a temp name, every entry's path becomes a hard link to it (see
    /// [`link_over`]), then the temp name goes. A group of one is written as a single-entry
    /// file. Records larger than the bound are skipped, as by [`Self::write`].
    pub(crate) fn write_many(&self, records: &[(&CacheKey, &Record)]) -> BatchWrite {
        let mut latest: HashMap<&str, usize> = HashMap::with_capacity(records.len());
        for (i, (key, _)) in records.iter().enumerate() {
            latest.insert(key.as_str(), i);
        }
        let mut outcome = BatchWrite::default();
        let mut group: Vec<(String, usize)> = Vec::new();
        let mut group_bytes = 0u64;
        for (i, (key, record)) in records.iter().enumerate() {
            let len = record.encoded().len() as u64;
            if latest.get(key.as_str()) != Some(&i) || len > self.max_bytes {
                continue;
            }
            if !group.is_empty()
                && (group.len() == pack::MAX_RECORDS || group_bytes + len > pack::MAX_PACK_BYTES)
            {
                self.write_group(records, &group, &mut outcome);
                group.clear();
                group_bytes = 0;
            }
            group.push((key.file_name(), i));
            group_bytes += len;
        }
        if !group.is_empty() {
            self.write_group(records, &group, &mut outcome);
        }
        outcome
    }

    /// Writes one group of [`Self::write_many`]: `(file name, index into records)`, as a pack
    /// when it has more than one record and the pack could be written, else each alone.
    fn write_group(
        &self,
        records: &[(&CacheKey, &Record)],
        group: &[(String, usize)],
        outcome: &mut BatchWrite,
    ) {
        if group.len() == 1 {
            return self.link_or_write(records, group, None, outcome);
        }
        let mut parts: Vec<([u8; 32], &[u8])> = (group.iter())
            .filter_map(|(name, i)| Some((pack::digest_of_name(name)?, records[*i].1.encoded())))
            .collect();
        let bytes = pack::encode(&mut parts);
        let temp = temp_path(&self.dir, "pack");
        match write_new_file(&temp, &bytes) {
            Ok(()) => {
                outcome.bytes += bytes.len() as u64;
                outcome.packed += 1;
                self.link_or_write(records, group, Some(&temp), outcome);
                if let Err(e) = fs::remove_file(&temp) {
                    tracing::warn!(path = %temp.display(), error = %e,
                        "could not remove a pack's temp name");
                }
            }
            Err(e) => {
                tracing::debug!(error = %e, "could not write a pack; writing its entries alone");
                let _ = fs::remove_file(&temp);
                self.link_or_write(records, group, None, outcome);
            }
        }
    }

    /// Links each entry of `group` to `pack`; without a pack, or from the first link that
    /// fails (a file system without hard links), writes each entry as a file of its own.
    fn link_or_write(
        &self,
        records: &[(&CacheKey, &Record)],
        group: &[(String, usize)],
        mut pack: Option<&Path>,
        outcome: &mut BatchWrite,
    ) {
        for (name, i) in group {
            let target = self.dir.join(name);
            if let Some(from) = pack {
                match link_over(from, &target) {
                    Ok(()) => {
                        outcome.entries += 1;
                        continue;
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "cannot link to a pack; writing entries alone");
                        pack = None;
                    }
                }
            }
            let bytes = records[*i].1.encoded();
            match write_atomic(&target, bytes) {
                Ok(()) => outcome.stored(bytes.len() as u64),
                Err(e) => outcome.failed.push((*i, e)),
            }
        }
    }

    /// Adds `added` bytes to the running size estimate. Returns true when [`Self::settle`] must
    /// run: the size is not known yet, or the estimate passed the bound. Never blocks: while a
    /// settle holds the estimate, the bytes are skipped (that settle's scan sees the file, or
    /// the next one will).
    pub(crate) fn note_written(&self, added: u64) -> bool {
        let Ok(mut estimate) = self.size_estimate.try_lock() else {
            return false;
        };
        match estimate.as_mut() {
            Some(size) => {
                *size = size.saturating_add(added);
                *size > self.max_bytes
            }
            None => true,
        }
    }

    /// Scans the directory for its real size and, when over the bound, evicts in one batch.
    /// Blocking (a directory scan): run it off the async threads.
    pub(crate) fn settle(&self) -> io::Result<()> {
        let mut estimate = self
            .size_estimate
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if estimate.is_some_and(|size| size <= self.max_bytes) {
            return Ok(()); // Settled by a concurrent call.
        }
        let size = Inodes::bytes(&scan(&self.dir)?.entries);
        *estimate = Some(if size > self.max_bytes {
            evict(
                &self.dir,
                (self.max_bytes as f64 * EVICT_TO_FRACTION) as u64,
            )?
        } else {
            size
        });
        Ok(())
    }
}

/// Creates `dir` and any missing parents; on unix the ones created here are 0700.
pub(crate) fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Refuses a cache directory someone else could write (as pip does): another user could plant
/// entries there that this process would trust. Group/world-writable or owned by another user
/// (unix); a symlink is judged by what it points to.
pub(crate) fn check_private(dir: &Path) -> Result<(), CacheError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let meta = fs::metadata(dir).map_err(io_error(dir))?;
        // SAFETY: geteuid has no preconditions and cannot fail.
        let me = unsafe { libc::geteuid() };
        let problem = if meta.uid() != me {
            Some(format!(
                "owned by uid {}, not by this user (uid {me})",
                meta.uid()
            ))
        } else if meta.mode() & 0o022 != 0 {
            Some(format!(
                "writable by {} (mode {:o})",
                if meta.mode() & 0o002 != 0 {
                    "everyone"
                } else {
                    "its group"
                },
                meta.mode() & 0o777
            ))
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(CacheError::Unsafe {
                path: dir.to_path_buf(),
                problem,
            });
        }
    }
    Ok(())
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A unique temp name in `dir` (pid + process-wide counter), naming what it is for.
fn temp_path(dir: &Path, what: &str) -> PathBuf {
    dir.join(format!(
        "{TEMP_PREFIX}{what}-{}-{}",
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ))
}

/// Writes `bytes` to `target` atomically: a unique temp file next to it (0600 on unix), then a
/// rename. A directory squatting on `target` is removed and the rename retried once.
pub(crate) fn write_atomic(target: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_with(target, |mut file| file.write_all(bytes))
}

/// [`write_atomic`] of what `write` writes into the new temp file; the temp file is removed if
/// anything fails.
fn write_atomic_with<T>(target: &Path, write: impl FnOnce(File) -> io::Result<T>) -> io::Result<T> {
    let dir = target.parent().unwrap_or(Path::new("."));
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = temp_path(dir, &name);
    let result = new_file(&temp)
        .and_then(write)
        .and_then(|written| rename_over(&temp, target).map(|()| written));
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// Renames `temp` over `target`; a directory squatting on `target` is removed and the rename
/// retried once.
fn rename_over(temp: &Path, target: &Path) -> io::Result<()> {
    match fs::rename(temp, target) {
        Err(_) if target.is_dir() => {
            fs::remove_dir_all(target)?;
            fs::rename(temp, target)
        }
        other => other,
    }
}

/// Makes `target` a hard link to `pack`, atomically: a new name is linked directly; an
/// existing entry is replaced by a link under a temp name renamed over it, so a reader sees
/// the old entry or the new one, never none.
fn link_over(pack: &Path, target: &Path) -> io::Result<()> {
    match fs::hard_link(pack, target) {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            let temp = temp_path(target.parent().unwrap_or(Path::new(".")), "link");
            let result = fs::hard_link(pack, &temp).and_then(|()| rename_over(&temp, target));
            if result.is_err() {
                let _ = fs::remove_file(&temp);
            }
            result
        }
        other => other,
    }
}

fn write_new_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    new_file(path)?.write_all(bytes)
}

/// A new file at `path` (never an existing one), 0600 on unix.
fn new_file(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// Where the entry named `name` lies in `file` (`len` bytes): all of it for a single-entry
/// file, its record for a pack (whose header and index are read here, bounded), and whether
/// it is a pack. `Err(reason)` when a pack cannot give that entry.
fn locate(file: &File, len: u64, name: &str) -> io::Result<Result<(Range<u64>, bool), String>> {
    let mut head = [0u8; pack::PACK_HEADER_LEN];
    let head = &mut head[..len.min(pack::PACK_HEADER_LEN as u64) as usize];
    read_exact_at(file, head, 0)?;
    if !pack::is_pack(head) {
        return Ok(Ok((0..len, false)));
    }
    let count = match pack::parse_header(head, len) {
        Ok(count) => count,
        Err(e) => return Ok(Err(e.to_string())),
    };
    let mut index = vec![0u8; pack::index_end(count) - pack::PACK_HEADER_LEN];
    read_exact_at(file, &mut index, pack::PACK_HEADER_LEN as u64)?;
    let Some(digest) = pack::digest_of_name(name) else {
        return Ok(Err(pack::PackError::NotInPack.to_string()));
    };
    Ok(pack::find(&index, count, len, &digest)
        .map(|range| (range, true))
        .map_err(|e| e.to_string()))
}

/// An entry's bytes as read from its file.
pub(super) struct Found {
    /// The record's first bytes (all of them unless the caller asked for fewer), in the
    /// buffer a [`Record`] shares: a record of megabytes is read once and never copied.
    pub bytes: std::sync::Arc<[u8]>,
    /// The record's full length.
    pub record_len: u64,
    /// Whether the file is a pack.
    pub packed: bool,
}

/// Reads at most `read_at_most` bytes of the entry named `name` in `file` (`len` bytes; see
/// [`locate`]). A record longer than `limit` is not read: `Err(reason)`, as for a bad pack.
pub(super) fn read_found(
    file: &File,
    len: u64,
    name: &str,
    limit: u64,
    read_at_most: u64,
) -> io::Result<Result<Found, String>> {
    let (range, packed) = match locate(file, len, name) {
        Ok(Ok(located)) => located,
        Ok(Err(reason)) => return Ok(Err(reason)),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(Err(SHRANK.into())),
        Err(e) => return Err(e),
    };
    let record_len = range.end - range.start;
    if record_len > limit {
        return Ok(Err(format!(
            "{record_len} bytes, larger than the cache bound"
        )));
    }
    let len = record_len.min(read_at_most) as usize;
    // SAFETY: zeroed bytes are initialised `u8`s (zeroed by the allocator: megabytes of fresh
    // pages are not written twice).
    let mut bytes: std::sync::Arc<[u8]> =
        unsafe { std::sync::Arc::new_zeroed_slice(len).assume_init() };
    let buffer = std::sync::Arc::get_mut(&mut bytes).expect("a new buffer is not shared");
    match read_exact_at(file, buffer, range.start) {
        Ok(()) => Ok(Ok(Found {
            bytes,
            record_len,
            packed,
        })),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(Err(SHRANK.into())),
        Err(e) => Err(e),
    }
}

/// Opens the entry file at `path` for reading, never blocking: `None` when there is none,
/// `Some(Err(reason))` when something other than a regular file stands there (a FIFO would
/// block `open(2)` until a writer came; a directory or device is no entry either).
fn open_entry(path: &Path) -> io::Result<Option<Result<File, String>>> {
    match crate::safe_fs::open_regular(path) {
        Ok(file) => Ok(Some(Ok(file))),
        Err(ReadError::NotRegular(kind)) => Ok(Some(Err(format!(
            "{} stands where the entry file should be",
            kind.as_str()
        )))),
        Err(ReadError::Io(e)) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// [`read_found`] on the file at `path`, the entry its file name stands for.
pub(super) fn read_path(
    path: &Path,
    limit: u64,
    read_at_most: u64,
) -> io::Result<Result<Found, String>> {
    let file = match open_entry(path)? {
        Some(Ok(file)) => file,
        Some(Err(reason)) => return Ok(Err(reason)),
        None => return Err(io::Error::from(io::ErrorKind::NotFound)),
    };
    let len = file.metadata()?.len();
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    read_found(&file, len, name, limit, read_at_most)
}

const SHRANK: &str = "the file is shorter than it was when opened";

/// Fills `buf` from `file` at `offset` without moving a shared cursor.
fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
    }
    #[cfg(not(unix))]
    {
        use std::io::Seek;
        let mut file = file;
        file.seek(io::SeekFrom::Start(offset))?;
        file.read_exact(buf)
    }
}

fn touch_if_old(file: &File, meta: &fs::Metadata) {
    let now = SystemTime::now();
    let old = meta
        .modified()
        .ok()
        .and_then(|m| now.duration_since(m).ok())
        .is_some_and(|age| age > TOUCH_AFTER);
    if old && let Err(e) = file.set_modified(now) {
        tracing::debug!(error = %e, "could not refresh cache entry access time");
    }
}

pub(super) fn io_error(dir: &Path) -> impl FnOnce(io::Error) -> CacheError + '_ {
    move |source| CacheError::Io {
        path: dir.to_path_buf(),
        source,
    }
}

/// Removes a bad entry (file, or a directory squatting on its name). Failures are logged only:
/// the entry is already treated as a miss, and the next put replaces it.
pub(super) fn remove_entry_path(path: &Path) {
    if let Err(e) = remove_any(path) {
        tracing::warn!(path = %path.display(), error = %e, "could not remove corrupt cache entry");
    }
}

/// Removes a file, or a directory squatting on an entry's name; already gone is fine.
pub(super) fn remove_any(path: &Path) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// One entry or temp file found on disk.
pub(super) struct DiskFile {
    pub path: PathBuf,
    pub len: u64,
    pub modified: SystemTime,
    /// The file behind the path: the links to one pack share it. `None` where the platform
    /// does not say; each path then counts as a file of its own.
    pub inode: Option<(u64, u64)>,
}

#[derive(Default)]
pub(super) struct Scan {
    pub entries: Vec<DiskFile>,
    pub temps: Vec<DiskFile>,
}

/// Lists entry files and temp files; everything else in the directory is ignored, so pointing
/// `--cache-dir` at a shared directory never deletes foreign files.
pub(super) fn scan(dir: &Path) -> io::Result<Scan> {
    let mut scan = Scan::default();
    let listing = match fs::read_dir(dir) {
        Ok(listing) => listing,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(scan),
        Err(e) => return Err(e),
    };
    for item in listing {
        let item = item?;
        let name = item.file_name();
        let Some(name) = name.to_str() else { continue };
        let is_entry = is_entry_file_name(name);
        if !is_entry && !name.starts_with(TEMP_PREFIX) {
            continue;
        }
        // Gone between listing and stat: another process evicted or renamed it.
        let Ok(meta) = item.metadata() else { continue };
        let file = DiskFile {
            path: item.path(),
            len: meta.len(),
            modified: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
            inode: inode_of(&meta),
        };
        if is_entry {
            scan.entries.push(file);
        } else {
            scan.temps.push(file);
        }
    }
    Ok(scan)
}

fn inode_of(meta: &fs::Metadata) -> Option<(u64, u64)> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        Some((meta.dev(), meta.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        None
    }
}

/// The scanned paths per file (inode), to count each pack's bytes once however many entries
/// link to it, and to know when removing paths frees them: with the file's last link.
pub(super) struct Inodes {
    links: HashMap<(u64, u64), u64>,
}

impl Inodes {
    pub(super) fn of<'a>(files: impl IntoIterator<Item = &'a DiskFile>) -> Self {
        let mut links = HashMap::new();
        for inode in files.into_iter().filter_map(|f| f.inode) {
            *links.entry(inode).or_insert(0) += 1;
        }
        Inodes { links }
    }

    /// Bytes on disk behind `files`, each file counted once.
    pub(super) fn bytes<'a>(files: impl IntoIterator<Item = &'a DiskFile>) -> u64 {
        let mut seen = std::collections::HashSet::new();
        (files.into_iter())
            .filter(|f| f.inode.is_none_or(|inode| seen.insert(inode)))
            .map(|f| f.len)
            .sum()
    }

    /// Notes that `file`'s path was removed; the bytes that frees (its length when it was the
    /// last scanned path to that file, else 0).
    pub(super) fn unlink(&mut self, file: &DiskFile) -> u64 {
        let Some(inode) = file.inode else {
            return file.len;
        };
        match self.links.get_mut(&inode) {
            Some(left) if *left > 1 => {
                *left -= 1;
                0
            }
            _ => {
                self.links.remove(&inode);
                file.len
            }
        }
    }
}

/// Deletes least-recently-used entries until the total is at most `target`; returns the total
/// left. A pack's bytes count once and are freed with its last entry (its entries share one
/// mtime, so they mostly go together).
fn evict(dir: &Path, target: u64) -> io::Result<u64> {
    let mut entries = scan(dir)?.entries;
    let mut total = Inodes::bytes(&entries);
    if total <= target {
        return Ok(total);
    }
    let mut inodes = Inodes::of(&entries);
    entries.sort_by_key(|e| e.modified);
    let mut removed = 0u64;
    for entry in &entries {
        if total <= target {
            break;
        }
        match fs::remove_file(&entry.path) {
            Ok(()) => removed += 1,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(path = %entry.path.display(), error = %e, "cache eviction failed");
                continue;
            }
        }
        total = total.saturating_sub(inodes.unlink(entry));
    }
    tracing::debug!(removed, total, "evicted least recently used cache entries");
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A streamed entry whose writer fails, or writes another length than announced, leaves
    /// neither an entry nor a temp file, and an entry already there is kept.
    #[test]
    fn a_failed_streamed_write_leaves_the_directory_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let level = FileLevel::open(dir.path(), 1 << 20).unwrap();
        let key = CacheKey::pypi("https://i.example", "p", "1");
        let ttl = Duration::from_secs(60);
        let kept = level.write_streamed(&key, 1, ttl, 3, |w| w.write_all(b"old"));
        assert!(matches!(kept, Ok(Some(_))));
        let short = level.write_streamed(&key, 1, ttl, 9, |w| w.write_all(b"new"));
        assert!(short.is_err());
        let failing = level.write_streamed(&key, 1, ttl, 3, |_| Err(io::Error::other("broken")));
        assert!(failing.is_err());
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().flatten().collect();
        assert_eq!(names.len(), 1, "only the entry: {names:?}");
        match level.read(&key).unwrap() {
            FileRead::Hit(record) => assert_eq!(record.payload(), b"old"),
            _ => panic!("the old entry is kept"),
        }
    }

    /// When linking fails (here: the pack is gone; in the field: a file system without hard
    /// links), every entry is still stored, as a file of its own.
    #[test]
    fn entries_are_written_alone_when_they_cannot_be_linked() {
        let dir = tempfile::tempdir().unwrap();
        let level = FileLevel::open(dir.path(), 1 << 20).unwrap();
        let keys: Vec<CacheKey> = (0..3)
            .map(|i| CacheKey::pypi("https://i.example", format!("p{i}"), "1"))
            .collect();
        let records: Vec<Record> = (keys.iter())
            .map(|k| Record::seal(k.as_str(), 1, Duration::from_secs(60), b"x"))
            .collect();
        let refs: Vec<(&CacheKey, &Record)> = keys.iter().zip(&records).collect();
        let group: Vec<(String, usize)> = (0..3).map(|i| (keys[i].file_name(), i)).collect();
        let mut outcome = BatchWrite::default();
        let missing = dir.path().join("no-such-pack");
        level.link_or_write(&refs, &group, Some(&missing), &mut outcome);
        assert_eq!(outcome.entries, 3);
        assert!(outcome.failed.is_empty());
        for key in &keys {
            assert!(matches!(level.read(key).unwrap(), FileRead::Hit(_)));
        }
    }
}
