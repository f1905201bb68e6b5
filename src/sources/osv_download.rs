//! `depdash db update`: OSV's PyPI database (`<base>/PyPI/all.zip`) downloaded into the cache
//! directory, where `--offline` finds it. Integrity before anything replaces the copy in place: a
//! size bound (declared and received), the whole declared length received, a zip whose every
//! record parses as OSV and that holds PyPI records (both `OsvDatabase::open`); then an atomic rename. A sidecar
//! (`PyPI-all.json`) keeps the ETag, so a re-check is one conditional request (`304`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;

use super::{OsvDatabase, SourceError};

/// OSV's public bucket; `/PyPI/all.zip` is appended.
pub const DEFAULT_BASE_URL: &str = "https://osv-vulnerabilities.storage.googleapis.com";
/// More than ten times the 2026 size of PyPI/all.zip; a bigger answer is refused.
pub const DEFAULT_MAX_BYTES: u64 = 1 << 30;

/// The downloaded database under `cache_dir`.
pub fn database_path(cache_dir: &Path) -> PathBuf {
    cache_dir.join("osv").join("PyPI-all.zip")
}

fn sidecar_path(database: &Path) -> PathBuf {
    database.with_extension("json")
}

/// What is known about a downloaded database (the sidecar file).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DownloadInfo {
    pub url: String,
    pub etag: Option<String>,
    pub bytes: u64,
    pub records: usize,
    /// RFC 3339 UTC.
    pub downloaded_at: String,
    /// RFC 3339 UTC: the last time the server was asked (a `304` updates only this).
    pub checked_at: String,
}

/// The sidecar of `database`, when it was downloaded by `db update` and is still readable.
pub fn read_info(database: &Path) -> Option<DownloadInfo> {
    let text = std::fs::read(sidecar_path(database)).ok()?;
    serde_json::from_slice(&text).ok()
}

/// What an update did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Update {
    /// A new copy was verified and put in place.
    Downloaded(DownloadInfo),
    /// The server said the copy in place is current (`304 Not Modified`).
    NotModified(DownloadInfo),
}

#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    #[error("{url}: {detail}")]
    Request { url: String, detail: String },
    #[error("{url}: HTTP {code}")]
    Status { url: String, code: u16 },
    #[error("{url}: {size} bytes is more than the limit of {limit} bytes")]
    TooLarge { url: String, size: u64, limit: u64 },
    #[error("{url}: the download was cut short: {received} of {expected} bytes")]
    Truncated {
        url: String,
        received: u64,
        expected: u64,
    },
    #[error("{url}: not an OSV database: {source}")]
    Invalid {
        url: String,
        #[source]
        source: SourceError,
    },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Options of one update.
#[derive(Clone, Debug)]
pub struct UpdateOptions {
    /// Base URL; `/PyPI/all.zip` is appended.
    pub base_url: String,
    pub cache_dir: PathBuf,
    pub max_bytes: u64,
    /// Longest silence between two reads of the body (the whole download may take longer).
    pub read_timeout: Duration,
    /// PEM roots trusted instead of the system's (the checks' `--cert` and pip's variables).
    pub ca_bundle: Option<Vec<u8>>,
}

fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> DownloadError + '_ {
    move |source| DownloadError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Write `bytes` to `path` through a temporary file in the same directory and a rename.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), DownloadError> {
    let temp = path.with_extension(format!("tmp-{}", std::process::id()));
    std::fs::write(&temp, bytes).map_err(io_error(&temp))?;
    std::fs::rename(&temp, path).map_err(io_error(path))
}

/// Download (or re-check) the database. The copy in place is replaced only by a verified one.
pub async fn update(options: &UpdateOptions) -> Result<Update, DownloadError> {
    let request_url = format!("{}/PyPI/all.zip", options.base_url.trim_end_matches('/'));
    // Messages and the sidecar name the URL with its password masked.
    let url = super::credentials::redact(&request_url);
    let database = database_path(&options.cache_dir);
    let dir = database
        .parent()
        .unwrap_or(&options.cache_dir)
        .to_path_buf();
    std::fs::create_dir_all(&dir).map_err(io_error(&dir))?;
    let request_error = |e: reqwest::Error| DownloadError::Request {
        url: url.clone(),
        detail: super::client_builder::certificate_problem(&e)
            .unwrap_or_else(|| super::fetch_error::error_chain(&e)),
    };

    // The ETag is sent only for an intact copy of the same URL.
    let previous = read_info(&database).filter(|info| {
        info.url == url && std::fs::metadata(&database).is_ok_and(|m| m.len() == info.bytes)
    });
    // The same roots, ALPN and proxies as the checks.
    let client = super::client_builder::builder(
        options.ca_bundle.as_deref(),
        concat!("depdash/", env!("CARGO_PKG_VERSION")),
        Duration::from_secs(10),
    )
    .map_err(|e| DownloadError::Request {
        url: url.clone(),
        detail: e.to_string(),
    })?
    .read_timeout(options.read_timeout)
    .build()
    .map_err(request_error)?;
    let mut request = client.get(&request_url);
    if let Some(etag) = previous.as_ref().and_then(|p| p.etag.as_deref()) {
        request = request.header(reqwest::header::IF_NONE_MATCH, etag);
    }
    let mut response = request.send().await.map_err(request_error)?;
    let status = response.status();
    if status == reqwest::StatusCode::NOT_MODIFIED
        && let Some(mut info) = previous
    {
        info.checked_at = now();
        write_atomically(
            &sidecar_path(&database),
            &serde_json::to_vec_pretty(&info).unwrap_or_default(),
        )?;
        return Ok(Update::NotModified(info));
    }
    if !status.is_success() {
        return Err(DownloadError::Status {
            url,
            code: status.as_u16(),
        });
    }
    let declared = response.content_length();
    if let Some(size) = declared.filter(|&s| s > options.max_bytes) {
        return Err(DownloadError::TooLarge {
            url,
            size,
            limit: options.max_bytes,
        });
    }
    let etag = response
        .headers()
        .get(reqwest::header::ETAG)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);

    // Into a temporary file beside the database (same filesystem: the rename is atomic). Its
    // name ends in `.zip` so the database reader accepts it.
    let temp = dir.join(format!(".download-{}-PyPI-all.zip", std::process::id()));
    let result = async {
        let mut file = tokio::fs::File::create(&temp)
            .await
            .map_err(io_error(&temp))?;
        let mut received: u64 = 0;
        loop {
            let chunk = match response.chunk().await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break,
                // A body that ends early is a truncation, whatever the transport calls it.
                Err(_) if declared.is_some_and(|d| received < d) => {
                    return Err(DownloadError::Truncated {
                        url: url.clone(),
                        received,
                        expected: declared.unwrap_or_default(),
                    });
                }
                Err(e) => return Err(request_error(e)),
            };
            received += chunk.len() as u64;
            if received > options.max_bytes {
                return Err(DownloadError::TooLarge {
                    url: url.clone(),
                    size: received,
                    limit: options.max_bytes,
                });
            }
            file.write_all(&chunk).await.map_err(io_error(&temp))?;
        }
        if let Some(expected) = declared.filter(|&d| d != received) {
            return Err(DownloadError::Truncated {
                url: url.clone(),
                received,
                expected,
            });
        }
        file.sync_all().await.map_err(io_error(&temp))?;
        drop(file);
        let opened = temp.clone();
        let db = tokio::task::spawn_blocking(move || OsvDatabase::open(&opened))
            .await
            .map_err(|e| DownloadError::Request {
                url: url.clone(),
                detail: format!("verification task failed: {e}"),
            })?
            .map_err(|source| DownloadError::Invalid {
                url: url.clone(),
                source,
            })?;
        std::fs::rename(&temp, &database).map_err(io_error(&database))?;
        let at = now();
        let info = DownloadInfo {
            url: url.clone(),
            etag,
            bytes: received,
            records: db.len(),
            downloaded_at: at.clone(),
            checked_at: at,
        };
        write_atomically(
            &sidecar_path(&database),
            &serde_json::to_vec_pretty(&info).unwrap_or_default(),
        )?;
        Ok(Update::Downloaded(info))
    }
    .await;
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}
