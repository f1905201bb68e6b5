//! SHA-256 fingerprints: of cache payloads (integrity) and of whole runs (inventory + policy +
//! sources), so that a changed input is a different key and misses by itself.

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

    pub fn finish(&self) -> String {
        hex::encode(self.0.clone().finalize())
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
}
