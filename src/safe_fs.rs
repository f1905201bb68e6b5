//! Reading local files that come from outside (metadata, `.pth`, license files, requirements,
//! lockfiles, the policy) without hanging or swallowing unbounded input.
//!
//! A FIFO where a file is expected would block `open(2)` until a writer comes; a character
//! device (`/dev/zero`) never ends. So files are opened with `O_NONBLOCK` (which makes opening a
//! FIFO return at once and is a no-op for regular files), checked with `fstat` on the open
//! descriptor (no race between the check and the read), and read only when they are regular
//! files, up to a cap. Writing a user's file ([`replace_file`]) is atomic, follows symlinks,
//! keeps the mode and leaves no temp file behind; [`FileLock`] serialises writers of a shared
//! file.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// What kind of non-regular file was found where a file was expected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpecialKind {
    Directory,
    Fifo,
    Socket,
    CharDevice,
    BlockDevice,
    Other,
}

impl SpecialKind {
    fn of(file_type: std::fs::FileType) -> Option<SpecialKind> {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_file() {
            None
        } else if file_type.is_dir() {
            Some(SpecialKind::Directory)
        } else if file_type.is_fifo() {
            Some(SpecialKind::Fifo)
        } else if file_type.is_socket() {
            Some(SpecialKind::Socket)
        } else if file_type.is_char_device() {
            Some(SpecialKind::CharDevice)
        } else if file_type.is_block_device() {
            Some(SpecialKind::BlockDevice)
        } else {
            Some(SpecialKind::Other)
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SpecialKind::Directory => "a directory",
            SpecialKind::Fifo => "a FIFO (named pipe)",
            SpecialKind::Socket => "a socket",
            SpecialKind::CharDevice => "a character device",
            SpecialKind::BlockDevice => "a block device",
            SpecialKind::Other => "not a regular file",
        }
    }
}

/// Why a file was not read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("is {}, not a regular file; not read", .0.as_str())]
    NotRegular(SpecialKind),
    #[error("larger than {limit} bytes; not read")]
    TooLarge { limit: u64 },
}

impl ReadError {
    /// The I/O error kind, for callers that treat "missing" differently.
    pub fn io_kind(&self) -> Option<io::ErrorKind> {
        match self {
            ReadError::Io(e) => Some(e.kind()),
            _ => None,
        }
    }
}

impl From<ReadError> for io::Error {
    fn from(err: ReadError) -> io::Error {
        match err {
            ReadError::Io(e) => e,
            ReadError::NotRegular(SpecialKind::Directory) => {
                io::Error::new(io::ErrorKind::IsADirectory, err)
            }
            ReadError::NotRegular(_) => io::Error::new(io::ErrorKind::InvalidInput, err),
            ReadError::TooLarge { .. } => io::Error::new(io::ErrorKind::FileTooLarge, err),
        }
    }
}

/// Open `path` for reading if (and only if) it is a regular file (symlinks followed), never
/// blocking on a FIFO and never opening a socket.
pub fn open_regular(path: &Path) -> Result<File, ReadError> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            // Opening a unix socket fails with ENXIO; name it.
            Some(libc::ENXIO) => ReadError::NotRegular(SpecialKind::Socket),
            _ => ReadError::Io(e),
        })?;
    match SpecialKind::of(file.metadata()?.file_type()) {
        None => Ok(file),
        Some(kind) => Err(ReadError::NotRegular(kind)),
    }
}

/// The whole of a regular file, at most `limit` bytes (more is [`ReadError::TooLarge`]).
pub fn read_regular(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let file = open_regular(path)?;
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge { limit });
    }
    Ok(bytes)
}

/// [`read_regular`] as text; invalid UTF-8 is replaced, and the flag says whether it was.
pub fn read_regular_text(path: &Path, limit: u64) -> Result<(String, bool), ReadError> {
    let bytes = read_regular(path, limit)?;
    Ok(match String::from_utf8(bytes) {
        Ok(text) => (text, false),
        Err(err) => (String::from_utf8_lossy(err.as_bytes()).into_owned(), true),
    })
}

/// The file a path finally names, following symlinks (also dangling ones: the file is then
/// created where the link points). Relative link targets are taken from the link's directory.
pub fn resolve_symlinks(path: &Path) -> io::Result<PathBuf> {
    // Linux's own limit (MAXSYMLINKS): more is a loop.
    const MAX_LINKS: usize = 40;
    let mut current = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match std::fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = std::fs::read_link(&current)?;
                current = match current.parent() {
                    Some(dir) if target.is_relative() => dir.join(target),
                    _ => target,
                };
            }
            _ => return Ok(current),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{}: too many levels of symbolic links", path.display()),
    ))
}

/// Replace the contents of a user's file (`-o` report, the policy file) so that a reader sees
/// the old or the new text, never half, and nothing is left behind on failure:
/// - the real file behind symlinks is written (the link stays a link);
/// - a regular file is replaced by a temp file written beside it, synced, then renamed over
///   it, with the old file's permissions (a new file gets `0666` less the umask); on any error
///   (disk full, read-only directory) the temp file is removed and the old file is intact;
/// - anything else that exists (`/dev/null`, a FIFO, a terminal) is written in place, since
///   renaming over it would replace the device itself.
pub fn replace_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    replace_file_with(path, |out| out.write_all(bytes))
}

/// [`replace_file`] with the contents written by `write` (through a buffer), so that a large
/// file is never held in memory whole. When `write` fails, a regular file is left as it was.
pub fn replace_file_with(
    path: &Path,
    write: impl FnOnce(&mut dyn io::Write) -> io::Result<()>,
) -> io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    let target = resolve_symlinks(path)?;
    let existing = match std::fs::metadata(&target) {
        Ok(meta) => Some(meta),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    if let Some(meta) = &existing
        && !meta.is_file()
    {
        let file = std::fs::OpenOptions::new().write(true).open(&target)?;
        let mut out = io::BufWriter::new(file);
        write(&mut out)?;
        return out.flush();
    }
    let dir = target
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mode = match &existing {
        Some(meta) => meta.permissions().mode() & 0o7777,
        None => 0o666 & !current_umask(),
    };
    // Dropped (and so removed) on every early return below.
    let mut staged = tempfile::Builder::new()
        .prefix(".depdash-")
        .suffix(".tmp")
        .permissions(std::fs::Permissions::from_mode(0o600))
        .tempfile_in(dir)?;
    let mut out = io::BufWriter::with_capacity(64 * 1024, staged.as_file_mut());
    write(&mut out)?;
    out.flush()?;
    drop(out);
    staged
        .as_file()
        .set_permissions(std::fs::Permissions::from_mode(mode))?;
    staged.as_file().sync_all()?;
    staged.persist(&target).map_err(|e| e.error)?;
    Ok(())
}

/// The process umask, read from `/proc/self/status` (reading it with `umask(2)` would change it
/// for a moment under other threads). `022` when it cannot be read.
fn current_umask() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Umask:"))
                .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        })
        .unwrap_or(0o022)
}

/// An exclusive advisory lock held while several processes update one file (the run
/// history): a `<file>.lock` beside it, since the file itself may be replaced by a rename.
/// Released on drop.
pub struct FileLock {
    _file: File,
}

impl FileLock {
    pub fn acquire(path: &Path) -> io::Result<FileLock> {
        let mut name = path.file_name().unwrap_or_default().to_os_string();
        name.push(".lock");
        let lock_path = path.with_file_name(name);
        use std::os::unix::fs::OpenOptionsExt;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(lock_path)?;
        file.lock()?;
        Ok(FileLock { _file: file })
    }
}

/// Caps for the local files depdash reads. Generous against real files (the largest real
/// `uv.lock` seen is a few MiB), small against a `/dev/zero` or a multi-GiB mistake.
pub mod limits {
    /// Requirements files, lockfiles, `.pth`, `.egg-link`, `pyvenv.cfg`, `requires.txt`.
    pub const INPUT_FILE: u64 = 64 * 1024 * 1024;
    /// A policy file (`depdash.toml`, `pyproject.toml`).
    pub const POLICY_FILE: u64 = 4 * 1024 * 1024;
    /// A small file whose first lines are all that matters (`.egg-link`, `pyvenv.cfg`).
    pub const SMALL_FILE: u64 = 1024 * 1024;
    /// A CA bundle file (the system's is ~200 KB).
    pub const CA_BUNDLE: u64 = 16 * 1024 * 1024;
}

/// Makes a FIFO at `path`, for tests of special files.
#[cfg(test)]
pub(crate) fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo has no other preconditions.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_files_are_read_and_capped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"hello").unwrap();
        assert_eq!(read_regular(&path, 5).unwrap(), b"hello");
        assert!(matches!(
            read_regular(&path, 4),
            Err(ReadError::TooLarge { limit: 4 })
        ));
        assert_eq!(
            read_regular_text(&path, 10).unwrap(),
            ("hello".to_string(), false)
        );
    }

    #[test]
    fn special_files_are_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        mkfifo(&fifo);
        assert!(matches!(
            read_regular(&fifo, 10),
            Err(ReadError::NotRegular(SpecialKind::Fifo))
        ));
        let socket = dir.path().join("sock");
        let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        assert!(matches!(
            read_regular(&socket, 10),
            Err(ReadError::NotRegular(SpecialKind::Socket))
        ));
        assert!(matches!(
            read_regular(Path::new("/dev/zero"), 10),
            Err(ReadError::NotRegular(SpecialKind::CharDevice))
        ));
        assert!(matches!(
            read_regular(dir.path(), 10),
            Err(ReadError::NotRegular(SpecialKind::Directory))
        ));
        let missing = read_regular(&dir.path().join("nope"), 10).unwrap_err();
        assert_eq!(missing.io_kind(), Some(io::ErrorKind::NotFound));
    }
}
