//! Remote and offline data sources: one HTTP layer (retries, breaker, bound), PyPI (JSON and Simple API), OSV, offline OSV db.
//!
//! Nothing here caches: the engine puts its cache in front and calls these for cache misses only
//! (`OsvClient::query_batch` takes any list of packages for that reason). Every failure is a typed
//! [`FetchError`] the engine turns into an `Unknown`; nothing here ever answers "clean" for data it
//! could not get.

mod alpn;
mod body;
pub mod breaker;
pub mod client_builder;
pub mod core_metadata;
pub mod credentials;
pub mod cvss;
mod fetch_error;
pub mod http;
pub mod in_flight;
pub mod lazy_wheel;
mod live;
pub mod osv;
pub mod osv_db;
pub mod osv_download;
pub mod pypi;
pub mod resolve;
pub mod revalidate;
pub mod simple;
mod simple_html;
pub mod strict;

#[cfg(test)]
mod fuzz_tests;

use std::path::PathBuf;

pub use http::{FetchError, FetchResult, HttpClient, HttpConfig};
pub use osv::{OsvClient, OsvRecord, affects, to_vulnerability};
pub use osv_db::OsvDatabase;
pub use pypi::PypiClient;
pub use revalidate::Validators;
pub use simple::{ProjectFacts, SimpleClient};

/// The media types asked of each source. The Simple API: its JSON form (PEP 691) first, its
/// HTML forms as the fallback (q-values as pip sends them), so an index without the JSON API
/// still answers; the answer's `Content-Type` then picks the parser.
fn media_type(source: crate::telemetry::SourceKind) -> &'static str {
    match source {
        crate::telemetry::SourceKind::PypiSimple => {
            "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.1, \
             text/html;q=0.01"
        }
        crate::telemetry::SourceKind::CoreMetadata | crate::telemetry::SourceKind::Wheel => "*/*",
        _ => "application/json",
    }
}

/// Failures to set a source up (as opposed to [`FetchError`], one request's failure).
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The HTTP client could not be built (TLS setup).
    #[error("cannot build the HTTP client: {0}")]
    Client(String),

    /// A file or directory of the offline database could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The offline database archive is not a readable zip.
    #[error("{}: not a readable zip archive: {detail}", path.display())]
    Zip { path: PathBuf, detail: String },

    /// One record of the offline database is not valid OSV JSON. The whole database is refused:
    /// skipping a record could hide a vulnerability.
    #[error("{location}:{line}:{column}: invalid OSV record: {detail}")]
    Record {
        /// The file, or `archive.zip!entry.json`.
        location: String,
        line: usize,
        column: usize,
        detail: String,
    },

    /// The database holds no PyPI advisory at all: it cannot prove anything about PyPI
    /// packages, and "no advisories" from it would be a silent pass.
    #[error("{}: not an OSV database for PyPI: {detail}", path.display())]
    NoPypiRecords { path: PathBuf, detail: String },

    /// The path is neither a directory nor a `.zip` file.
    #[error("{}: not an OSV database (expected a directory of OSV JSON files or an OSV all.zip)", path.display())]
    NotADatabase { path: PathBuf },
}
