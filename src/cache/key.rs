//! Cache keys: what a cached record is (kind, source, name, version), rendered once into the
//! namespaced key string used by Redis and hashed into the file name used on disk.

use std::fmt;

use crate::fingerprint;

/// Version of the key layout and the entry format; bumping it makes every old key miss.
pub const KEY_NAMESPACE: &str = "depdash:v1";

/// Hex characters of the base-URL hash kept in the key: enough to tell mirrors apart while
/// keeping keys short.
const BASE_URL_HASH_CHARS: usize = 12;

/// The identity of one cached record.
///
/// `kind` is one of [`CacheKey::PYPI`], [`CacheKey::OSV`], [`CacheKey::ADVISORY`] (or another
/// static name); `base_url` is the source it came from, so a mirror never serves another
/// source's data. For advisory records `name` is the advisory id and `version` its `modified`
/// timestamp, so an updated advisory is a new key.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CacheKey {
    kind: &'static str,
    base_url: String,
    name: String,
    version: String,
    /// `depdash:v1:<kind>:<short sha of base_url>:<name>:<version>`.
    rendered: String,
}

impl CacheKey {
    /// One release's facts from the per-release document (`pypi-release`: entries of the
    /// former project-document layout, kind `pypi`, are never read as these).
    pub const PYPI: &'static str = "pypi-release";
    /// One project's whole-project facts from the Simple API.
    pub const PYPI_PROJECT: &'static str = "pypi-project";
    pub const OSV: &'static str = "osv";
    pub const ADVISORY: &'static str = "advisory";

    pub fn new(
        kind: &'static str,
        base_url: impl Into<String>,
        name: impl Into<String>,
        version: impl Into<String>,
    ) -> Self {
        let base_url = base_url.into();
        let name = name.into();
        let version = version.into();
        let rendered = format!(
            "{KEY_NAMESPACE}:{}:{}:{}:{}",
            escape(kind),
            url_hash(&base_url),
            escape(&name),
            escape(&version)
        );
        CacheKey {
            kind,
            base_url,
            name,
            version,
            rendered,
        }
    }

    /// A PyPI JSON API record of one release.
    pub fn pypi(
        base_url: impl Into<String>,
        name: impl Into<String>,
        version: impl Into<String>,
    ) -> Self {
        Self::new(Self::PYPI, base_url, name, version)
    }

    /// The Simple API's whole-project facts of one project.
    pub fn pypi_project(base_url: impl Into<String>, name: impl Into<String>) -> Self {
        Self::new(Self::PYPI_PROJECT, base_url, name, "")
    }

    /// An OSV query result for one package version.
    pub fn osv(
        base_url: impl Into<String>,
        name: impl Into<String>,
        version: impl Into<String>,
    ) -> Self {
        Self::new(Self::OSV, base_url, name, version)
    }

    /// One OSV advisory, keyed by id and `modified`.
    pub fn advisory(
        base_url: impl Into<String>,
        id: impl Into<String>,
        modified: impl Into<String>,
    ) -> Self {
        Self::new(Self::ADVISORY, base_url, id, modified)
    }

    pub fn kind(&self) -> &'static str {
        self.kind
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn version(&self) -> &str {
        &self.version
    }

    /// The namespaced key string (Redis key, stored inside every entry).
    pub fn as_str(&self) -> &str {
        &self.rendered
    }

    /// The entry's file name: SHA-256 of [`as_str`](Self::as_str), 64 lowercase hex characters
    /// (safe on any file system). Computed when asked: a run served from the bundle never
    /// names a file, and 22,000 digests were a tenth of a warm 10,000-package run's lookups.
    pub fn file_name(&self) -> String {
        fingerprint::of_bytes(self.rendered.as_bytes())
    }
}

/// The first [`BASE_URL_HASH_CHARS`] hex characters of `base_url`'s SHA-256. A run keys
/// thousands of records under the same one or two sources: the last few are remembered per
/// thread.
fn url_hash(base_url: &str) -> String {
    thread_local! {
        static RECENT: std::cell::RefCell<Vec<(String, String)>> = const {
            std::cell::RefCell::new(Vec::new())
        };
    }
    RECENT.with_borrow_mut(|recent| {
        if let Some((_, hash)) = recent.iter().find(|(url, _)| url == base_url) {
            return hash.clone();
        }
        let mut hash = fingerprint::of_bytes(base_url.as_bytes());
        hash.truncate(BASE_URL_HASH_CHARS);
        if recent.len() >= 4 {
            recent.remove(0);
        }
        recent.push((base_url.to_string(), hash.clone()));
        hash
    })
}

impl fmt::Debug for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.rendered)
    }
}

impl fmt::Display for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.rendered)
    }
}

/// Percent-escapes `%` and `:` so that key parts cannot run into each other (advisory
/// `modified` timestamps contain colons).
fn escape(part: &str) -> std::borrow::Cow<'_, str> {
    if !part.contains([':', '%']) {
        return std::borrow::Cow::Borrowed(part);
    }
    let mut out = String::with_capacity(part.len() + 8);
    for c in part.chars() {
        match c {
            '%' => out.push_str("%25"),
            ':' => out.push_str("%3A"),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// True for names that [`CacheKey::file_name`] can produce (used to recognise entries on disk
/// and never touch anything else in the directory).
pub fn is_entry_file_name(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_string_layout() {
        let key = CacheKey::pypi("https://index.example/pypi", "requests", "2.32.3");
        let hash = fingerprint::of_bytes(b"https://index.example/pypi");
        assert_eq!(
            key.as_str(),
            format!("depdash:v1:pypi-release:{}:requests:2.32.3", &hash[..12])
        );
        assert!(is_entry_file_name(&key.file_name()));
        assert_eq!(
            key.file_name(),
            fingerprint::of_bytes(key.as_str().as_bytes())
        );
        // The remembered hash of a source is its own, not the last one's.
        let other = CacheKey::pypi("https://mirror.example/pypi", "requests", "2.32.3");
        let again = CacheKey::pypi("https://index.example/pypi", "requests", "2.32.3");
        assert_ne!(other.as_str(), key.as_str());
        assert_eq!(again.as_str(), key.as_str());
    }

    #[test]
    fn parts_cannot_collide_through_colons() {
        let a = CacheKey::advisory("u", "GHSA-1", "2024-01-01T00:00:00Z");
        let b = CacheKey::advisory("u", "GHSA-1:2024-01-01T00", "00:00Z");
        assert_ne!(a.as_str(), b.as_str());
        assert!(a.as_str().ends_with(":GHSA-1:2024-01-01T00%3A00%3A00Z"));
        let pct = CacheKey::osv("u", "a%3Ab", "1");
        let colon = CacheKey::osv("u", "a:b", "1");
        assert_ne!(pct.as_str(), colon.as_str());
    }

    #[test]
    fn different_sources_and_kinds_are_different_keys() {
        let pypi = CacheKey::pypi("https://index.example/pypi", "x", "1");
        let mirror = CacheKey::pypi("https://mirror.example/pypi", "x", "1");
        let osv = CacheKey::osv("https://index.example/pypi", "x", "1");
        assert_ne!(pypi.file_name(), mirror.file_name());
        assert_ne!(pypi.file_name(), osv.file_name());
    }

    #[test]
    fn entry_file_names_are_recognised_strictly() {
        assert!(is_entry_file_name(&"a".repeat(64)));
        assert!(!is_entry_file_name(&"A".repeat(64)));
        assert!(!is_entry_file_name(&"a".repeat(63)));
        assert!(!is_entry_file_name("history.jsonl"));
    }
}
