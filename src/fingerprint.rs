//! SHA-256 fingerprints: of cache payloads (integrity), of whole runs (inventory + policy +
//! sources), so that a changed input is a different key and misses by itself, and of files'
//! identities (identity stamps: what changed since, without reading them).

use std::path::PathBuf;

use sha2::{Digest, Sha256};

/// Hex SHA-256 of some bytes.
pub fn of_bytes(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Incremental fingerprint of several parts; parts are length-prefixed so `("ab","c")` and
/// `("a","bc")` differ.
#[derive(Default)]
pub struct Fingerprinter(Sha256);

impl Fingerprinter {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn part(&mut self, bytes: impl AsRef<[u8]>) -> &mut Self {
        let bytes = bytes.as_ref();
        self.0.update((bytes.len() as u64).to_le_bytes());
        self.0.update(bytes);
        self
    }

    /// One part: `value`'s JSON, streamed into the hash (never held whole), then its length.
    pub fn serialized<T: serde::Serialize + ?Sized>(&mut self, value: &T) -> &mut Self {
        let mut writer = Streamed {
            hasher: &mut self.0,
            len: 0,
        };
        // Writing into a hasher cannot fail; a value that fails to serialise is still a part.
        if let Err(e) = serde_json::to_writer(&mut writer, value) {
            let why = e.to_string();
            writer.hasher.update(why.as_bytes());
        }
        let len = writer.len;
        self.0.update(len.to_le_bytes());
        self
    }

    pub fn finish(&self) -> String {
        hex::encode(self.0.clone().finalize())
    }
}

/// How far before the stamp a file's mtime and ctime must lie for its identity to stand for its
/// bytes: a file changed again within the filesystem's timestamp granularity could keep its
/// times ("racily clean" in git). Times with whole seconds only come from a coarse filesystem
/// (FAT: 2 s); the kernel's own timestamp clock ticks at most every 10 ms.
pub const RACY_MARGIN_COARSE: std::time::Duration = std::time::Duration::from_secs(2);
pub const RACY_MARGIN_FINE: std::time::Duration = std::time::Duration::from_millis(100);

/// Hash of the identities of `paths`; `None` for a symlink, an unreadable identity, or a
/// change within the racy margin of now.
pub fn identities(paths: &[PathBuf]) -> Option<String> {
    use std::io::ErrorKind;
    use std::os::unix::fs::MetadataExt;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    let settled = |secs: i64, nanos: i64, margin| {
        let at = std::time::Duration::new(u64::try_from(secs).ok()?, u32::try_from(nanos).ok()?);
        Some(at + margin < now)
    };
    let mut fingerprint = Fingerprinter::new();
    fingerprint.part(paths.len().to_le_bytes());
    for path in paths {
        match std::fs::symlink_metadata(path) {
            Ok(m) => {
                let margin = if m.mtime_nsec() == 0 && m.ctime_nsec() == 0 {
                    RACY_MARGIN_COARSE
                } else {
                    RACY_MARGIN_FINE
                };
                if m.file_type().is_symlink()
                    || !settled(m.mtime(), m.mtime_nsec(), margin)?
                    || !settled(m.ctime(), m.ctime_nsec(), margin)?
                {
                    return None;
                }
                fingerprint.part([1]);
                for n in [m.dev(), m.ino(), m.size(), u64::from(m.mode())] {
                    fingerprint.part(n.to_le_bytes());
                }
                for n in [m.mtime(), m.mtime_nsec(), m.ctime(), m.ctime_nsec()] {
                    fingerprint.part(n.to_le_bytes());
                }
                fingerprint
                    .part(m.uid().to_le_bytes())
                    .part(m.gid().to_le_bytes());
            }
            // Under a file (a single-file `.egg-info` has no `licenses/`), a path is as absent
            // as a missing one; the file's own identity is among the paths.
            Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => {
                fingerprint.part([0]);
            }
            Err(_) => return None,
        }
    }
    Some(fingerprint.finish())
}

/// [`Fingerprinter::serialized`]'s writer: every byte into the hash, counted.
struct Streamed<'a> {
    hasher: &'a mut Sha256,
    len: u64,
}

impl std::io::Write for Streamed<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.hasher.update(bytes);
        self.len += bytes.len() as u64;
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digest_and_part_boundaries() {
        assert_eq!(
            of_bytes(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let a = Fingerprinter::new().part("ab").part("c").finish();
        let b = Fingerprinter::new().part("a").part("bc").finish();
        assert_ne!(a, b);
    }

    #[test]
    fn a_serialized_part_is_its_json_and_differs_with_the_value() {
        let streamed = |v: &serde_json::Value| Fingerprinter::new().serialized(v).finish();
        let value = serde_json::json!({"name": "idna", "requires": ["a", "b"]});
        let mut by_hand = Sha256::new();
        let json = serde_json::to_vec(&value).unwrap();
        by_hand.update(&json);
        by_hand.update((json.len() as u64).to_le_bytes());
        assert_eq!(streamed(&value), hex::encode(by_hand.finalize()));
        let other = serde_json::json!({"name": "idna", "requires": ["a", "c"]});
        assert_ne!(streamed(&value), streamed(&other));
    }
}
