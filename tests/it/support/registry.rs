//! A real HTTP server on 127.0.0.1 that speaks the PyPI JSON API (`/pypi/<name>/json`,
//! `/pypi/<name>/<version>/json`), the Simple API (`/simple/<name>/`: PEP 691 JSON with PEP 700
//! `versions` and upload times, PEP 792 `project-status` and PEP 592 yanked files, or PEP 503
//! HTML when JSON is not asked for), optionally as a Simple-only index, and the OSV API (`POST /v1/querybatch`, `GET /v1/vulns/<id>`)
//! from an in-memory dataset, with fault injection changeable while it runs (latency, 5xx by
//! count, by period or seeded rate, 429 + Retry-After, trickled bodies, malformed JSON, connection
//! resets) and counters (per endpoint, concurrency high-water mark, querybatch sizes), plus
//! hostile modes: canned answers of any shape (optionally gzip-encoded, e.g. a bomb), a black
//! hole (accepts, reads the request, never answers), a stall after part of a body, and
//! redirects; the `Authorization` headers received are recorded. Real answers carry an `ETag`
//! and a `Last-Modified` (a matching `If-None-Match`, or without one a matching
//! `If-Modified-Since`, gets `304`; `Faults::no_etag` leaves the ETag out, `Faults::always_304`
//! answers `304` to everything) and are gzip-encoded when asked and `Faults::gzip` is on; the
//! body bytes sent are counted per endpoint, conditional requests and `304`s are counted.
//! Releases can carry a core metadata file (PEP 658/714: offered on the Simple pages with its
//! sha256, served at `/files/<wheel>.metadata`, a URL relative to the page) and a wheel (served
//! with HTTP `Range` support, at `/files/<wheel>`), and an index can ignore the `Accept` header
//! (HTML only).
//!
//! [`RegistryServer::start_with`] serves it over TLS (a test CA; ALPN h2 + http/1.1, or
//! http/1.1 only) and/or behind a bandwidth limit (`wire.rs`); requests are counted by HTTP
//! version and connections by negotiated protocol.
//!
//! Self-contained on purpose — only hyper, hyper-util, http-body-util, bytes, tokio, flate2,
//! sha2, serde_json and the sibling `wire.rs`, nothing from depdash — so benches and examples
//! can include both with `#[path]`.
//!
//! OSV matching here is deliberately independent of depdash's: a query matches a record when the
//! PEP 503 names are equal and the version is in the record's enumerated `versions` list (which
//! OSV fills for PyPI). The offline database matches by ranges; tests compare the two.
#![allow(dead_code)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Frame, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::wire::{Bandwidth, Shaped};

/// PEP 503 normalisation (kept local: this file depends on nothing from the crate).
pub fn normalize(name: &str) -> String {
    let mut out = String::new();
    let mut separator = false;
    for ch in name.trim().chars() {
        if matches!(ch, '-' | '_' | '.') {
            if !separator {
                out.push('-');
            }
            separator = true;
        } else {
            out.extend(ch.to_lowercase());
            separator = false;
        }
    }
    out
}

/// A port on 127.0.0.1 with nothing listening (bound, then released).
pub fn unused_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local address").port()
}

/// A dataset for a whole environment: every `(name, version)` gets a release document (MIT,
/// uploaded 2024-03-01) plus a newer `999.0` release, and every `vuln_every`-th package (0 =
/// none) an OSV advisory `GHSA-bench-<i>` affecting its version, fixed in `999.0`.
pub fn dataset_for(packages: &[(String, String)], vuln_every: usize) -> Dataset {
    let mut dataset = Dataset::new();
    for (i, (name, version)) in packages.iter().enumerate() {
        dataset
            .package(name)
            .license("MIT")
            .release(version, "2024-03-01T12:00:00Z")
            .release("999.0", "2026-10-01T12:00:00Z")
            .add();
        if vuln_every > 0 && i % vuln_every == 0 {
            dataset.add_osv(advisory(
                &format!("GHSA-bench-{i:04}"),
                name,
                version,
                "999.0",
            ));
        }
    }
    dataset
}

/// An OSV advisory (real schema) for `name` at `version`, fixed in `fixed`, CVSS 3.1 7.5.
pub fn advisory(id: &str, name: &str, version: &str, fixed: &str) -> Value {
    json!({
        "schema_version": "1.6.0",
        "id": id,
        "modified": "2026-01-01T00:00:00Z",
        "published": "2025-06-01T00:00:00Z",
        "aliases": [format!("CVE-2099-{}", id.len())],
        "summary": format!("Synthetic advisory for {name}"),
        "details": "Test data.",
        "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"}],
        "affected": [{
            "package": {"ecosystem": "PyPI", "name": name},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}],
            "versions": [version]
        }]
    })
}

/// One release of a package built with [`PackageBuilder`].
#[derive(Clone, Debug)]
struct ReleaseSpec {
    version: String,
    upload_time: String,
    yanked_reason: Option<Option<String>>,
    license: Option<String>,
}

/// What the server serves.
#[derive(Clone, Debug, Default)]
pub struct Dataset {
    /// Normalised name → PyPI project document.
    projects: HashMap<String, Value>,
    /// (normalised name, version) → `info` fields that differ for that release.
    release_info: HashMap<(String, String), Value>,
    /// (normalised name, version) → per-version document served as written.
    version_documents: HashMap<(String, String), Value>,
    /// OSV records in insertion order.
    vulns: Vec<Value>,
    /// Normalised name → PEP 792 `project-status` object.
    statuses: HashMap<String, Value>,
    /// Wheel file name → its core metadata file and the sha256 the pages state for it.
    core_metadata: HashMap<String, (Bytes, String)>,
    /// Wheel file name → its bytes.
    wheels: HashMap<String, Bytes>,
}

impl Dataset {
    pub fn new() -> Self {
        Dataset::default()
    }

    /// Start a package; releases are added oldest first, the last non-yanked one is the latest.
    pub fn package(&mut self, name: &str) -> PackageBuilder<'_> {
        PackageBuilder {
            dataset: self,
            name: name.to_string(),
            license: None,
            license_expression: None,
            releases: Vec::new(),
        }
    }

    /// Serve a PyPI project document as written (e.g. a fixture file).
    pub fn add_project_json(&mut self, document: Value) -> &mut Self {
        let name = document["info"]["name"].as_str().unwrap_or_default();
        self.projects.insert(normalize(name), document);
        self
    }

    /// Serve a per-version document as written (e.g. a fixture file).
    pub fn add_version_json(&mut self, document: Value) -> &mut Self {
        let name = normalize(document["info"]["name"].as_str().unwrap_or_default());
        let version = document["info"]["version"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        self.version_documents.insert((name, version), document);
        self
    }

    /// `info` overrides (e.g. `license`) for one release's per-version document.
    pub fn release_info(&mut self, name: &str, version: &str, info: Value) -> &mut Self {
        self.release_info
            .insert((normalize(name), version.to_string()), info);
        self
    }

    /// Serve `metadata` as the core metadata file of `name` `version`'s wheel (PEP 658/714);
    /// the Simple pages then offer it with its sha256 and a URL relative to the page.
    pub fn core_metadata(&mut self, name: &str, version: &str, metadata: &[u8]) -> &mut Self {
        use sha2::Digest as _;
        let digest = sha2::Sha256::digest(metadata);
        let sha256: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        let file = wheel_name(name, version);
        (self.core_metadata).insert(file, (Bytes::copy_from_slice(metadata), sha256));
        self
    }

    /// Serve `bytes` as `name` `version`'s wheel, with range support (give it core metadata
    /// too, so the pages link it on this server).
    pub fn wheel(&mut self, name: &str, version: &str, bytes: &[u8]) -> &mut Self {
        let file = wheel_name(name, version);
        self.wheels.insert(file, Bytes::copy_from_slice(bytes));
        self
    }

    /// State `sha256` for that file on the pages instead of its own (a stale or tampered mirror).
    pub fn core_metadata_sha256(&mut self, name: &str, version: &str, sha256: &str) -> &mut Self {
        if let Some(entry) = self.core_metadata.get_mut(&wheel_name(name, version)) {
            entry.1 = sha256.to_string();
        }
        self
    }

    /// PEP 792 status of a project (`archived`, `quarantined`, `deprecated`, ...). A
    /// quarantined project's JSON documents are gone (404), as on PyPI.
    pub fn project_status(&mut self, name: &str, status: &str, reason: Option<&str>) -> &mut Self {
        let mut value = json!({"status": status});
        if let Some(reason) = reason {
            value["reason"] = json!(reason);
        }
        self.statuses.insert(normalize(name), value);
        self
    }

    pub fn add_osv(&mut self, record: Value) -> &mut Self {
        self.vulns.push(record);
        self
    }

    pub fn osv_records(&self) -> &[Value] {
        &self.vulns
    }
}

/// Builds a realistic PyPI project document.
pub struct PackageBuilder<'a> {
    dataset: &'a mut Dataset,
    name: String,
    license: Option<String>,
    license_expression: Option<String>,
    releases: Vec<ReleaseSpec>,
}

impl PackageBuilder<'_> {
    pub fn license(mut self, license: &str) -> Self {
        self.license = Some(license.to_string());
        self
    }

    pub fn license_expression(mut self, expression: &str) -> Self {
        self.license_expression = Some(expression.to_string());
        self
    }

    /// A release uploaded at `upload_time` (RFC 3339, UTC `Z`).
    pub fn release(mut self, version: &str, upload_time: &str) -> Self {
        self.releases.push(ReleaseSpec {
            version: version.to_string(),
            upload_time: upload_time.to_string(),
            yanked_reason: None,
            license: None,
        });
        self
    }

    /// A yanked release (`reason` may be `None`: yanked without a reason).
    pub fn yanked(mut self, version: &str, upload_time: &str, reason: Option<&str>) -> Self {
        self.releases.push(ReleaseSpec {
            version: version.to_string(),
            upload_time: upload_time.to_string(),
            yanked_reason: Some(reason.map(str::to_string)),
            license: None,
        });
        self
    }

    /// A release whose own metadata states another license than the latest.
    pub fn release_with_license(mut self, version: &str, upload_time: &str, license: &str) -> Self {
        self.releases.push(ReleaseSpec {
            version: version.to_string(),
            upload_time: upload_time.to_string(),
            yanked_reason: None,
            license: Some(license.to_string()),
        });
        self
    }

    pub fn add(self) {
        let normalized = normalize(&self.name);
        let latest = self
            .releases
            .iter()
            .rev()
            .find(|r| r.yanked_reason.is_none())
            .or(self.releases.last())
            .map(|r| r.version.clone())
            .unwrap_or_default();
        let mut releases = serde_json::Map::new();
        for release in &self.releases {
            let files = release_files(&self.name, release);
            releases.insert(release.version.clone(), Value::Array(files));
            if let Some(license) = &release.license {
                self.dataset.release_info.insert(
                    (normalized.clone(), release.version.clone()),
                    json!({"license": license, "license_expression": null}),
                );
            }
        }
        let urls = releases.get(&latest).cloned().unwrap_or(json!([]));
        let document = json!({
            "info": {
                "author": "Example Author",
                "author_email": "author@example.invalid",
                "bugtrack_url": null,
                "classifiers": ["Programming Language :: Python :: 3"],
                "description": format!("# {}\n\nA package served by the test registry.", self.name),
                "description_content_type": "text/markdown",
                "docs_url": null,
                "download_url": null,
                "downloads": {"last_day": -1, "last_month": -1, "last_week": -1},
                "dynamic": null,
                "home_page": null,
                "keywords": null,
                "license": self.license,
                "license_expression": self.license_expression,
                "license_files": ["LICENSE"],
                "maintainer": null,
                "maintainer_email": null,
                "name": self.name,
                "package_url": format!("https://pypi.example.invalid/project/{normalized}/"),
                "platform": null,
                "project_url": format!("https://pypi.example.invalid/project/{normalized}/"),
                "project_urls": null,
                "provides_extra": null,
                "release_url": format!("https://pypi.example.invalid/project/{normalized}/{latest}/"),
                "requires_dist": null,
                "requires_python": ">=3.8",
                "summary": "A package served by the test registry.",
                "version": latest,
                "yanked": false,
                "yanked_reason": null
            },
            "last_serial": 1,
            "releases": releases,
            "urls": urls,
            "vulnerabilities": []
        });
        self.dataset.projects.insert(normalized, document);
    }
}

/// The wheel every release has: `<name>-<version>-py3-none-any.whl`.
fn wheel_name(name: &str, version: &str) -> String {
    format!(
        "{}-{version}-py3-none-any.whl",
        normalize(name).replace('-', "_")
    )
}

fn release_files(name: &str, release: &ReleaseSpec) -> Vec<Value> {
    let stem = format!("{}-{}", normalize(name).replace('-', "_"), release.version);
    let (yanked, reason) = match &release.yanked_reason {
        None => (false, None),
        Some(reason) => (true, reason.clone()),
    };
    // The sdist lands a minute after the wheel: the earliest file is the wheel.
    let naive = release.upload_time.trim_end_matches('Z').to_string();
    let sdist_time = later_by_a_minute(&naive);
    [
        (
            format!("{stem}-py3-none-any.whl"),
            "bdist_wheel",
            "py3",
            naive.clone(),
        ),
        (format!("{stem}.tar.gz"), "sdist", "source", sdist_time),
    ]
    .into_iter()
    .map(|(filename, packagetype, python_version, time)| {
        json!({
            "comment_text": "",
            "digests": {"blake2b_256": "00", "md5": "00", "sha256": "00"},
            "downloads": -1,
            "filename": filename,
            "has_sig": false,
            "md5_digest": "00",
            "packagetype": packagetype,
            "python_version": python_version,
            "requires_python": ">=3.8",
            "size": 1024,
            "upload_time": time,
            "upload_time_iso_8601": format!("{time}.000000Z"),
            "url": format!("https://files.example.invalid/{filename}"),
            "yanked": yanked,
            "yanked_reason": reason
        })
    })
    .collect()
}

/// `YYYY-MM-DDTHH:MM:SS` plus one minute, or unchanged if the minute would roll over.
fn later_by_a_minute(naive: &str) -> String {
    let minute = naive.get(14..16).and_then(|m| m.parse::<u32>().ok());
    match minute {
        Some(m) if m < 59 => format!("{}{:02}{}", &naive[..14], m + 1, &naive[16..]),
        _ => naive.to_string(),
    }
}

/// Faults, changeable while the server runs. Faults apply to requests whose path starts with
/// `path_prefix` (all when `None`), checked in this order: latency, reset, fail_next,
/// rate_limit_next, fail_every, fail_rate, then the real answer (possibly malformed/trickled).
#[derive(Clone, Debug)]
pub struct Faults {
    pub path_prefix: Option<String>,
    /// Added before every answer.
    pub latency: Duration,
    /// Close the next N connections without answering.
    pub reset_next: u32,
    /// Close every connection without answering.
    pub reset_all: bool,
    /// Answer the next N requests with `fail_status`.
    pub fail_next: u32,
    pub fail_status: u16,
    /// Answer every Nth request with `fail_status` (2 = half of them, deterministically).
    pub fail_every: Option<u64>,
    /// Answer this fraction of requests with `fail_status`, drawn from a generator seeded with
    /// `seed` (deterministic for a given request order).
    pub fail_rate: f64,
    pub seed: u64,
    /// Answer the next N requests with 429.
    pub rate_limit_next: u32,
    /// `Retry-After` value sent with the 429s.
    pub retry_after: Option<String>,
    /// Send bodies in chunks of this many bytes with this pause between them.
    pub trickle: Option<(usize, Duration)>,
    /// Answer 200 with a truncated JSON body.
    pub malformed: bool,
    /// OSV `querybatch`: most vulns per query per page (then `next_page_token`).
    pub page_size: Option<usize>,
    /// Serve this answer instead of the real one (a wrong shape, a bomb...).
    pub canned: Option<Canned>,
    /// The `Content-Type` of canned answers (`application/json` when `None`).
    pub canned_content_type: Option<&'static str>,
    /// Accept, read the request, never answer (the connection stays open).
    pub black_hole: bool,
    /// Send this many bytes of the real answer, then stall forever.
    pub stall_after: Option<usize>,
    /// Answer `302` with `Location: <redirect_to><path>` (itself, for a loop).
    pub redirect_to: Option<String>,
    /// A Simple-only index: no `/pypi/...` JSON API (404), only `/simple/`.
    pub simple_only: bool,
    /// The Simple API ignores `Accept`: PEP 503 HTML only (`text/html`).
    pub html_only: bool,
    /// Wheels are sent whole (200), whatever `Range` asks.
    pub ignore_range: bool,
    /// gzip-encode real answers when the request accepts gzip.
    pub gzip: bool,
    /// Send no `ETag` (only `Last-Modified`), as some mirrors do.
    pub no_etag: bool,
    /// Answer `304 Not Modified` to every request, with or without validators (a broken
    /// cache in front of the index).
    pub always_304: bool,
}

/// A canned answer: status, raw body, and whether the body is sent gzip-encoded
/// (`Content-Encoding: gzip`, the body given already compressed).
#[derive(Clone, Debug)]
pub struct Canned {
    pub status: u16,
    pub body: Bytes,
    pub gzip: bool,
}

impl Canned {
    /// `200` with this JSON text as is.
    pub fn json(text: &str) -> Self {
        Canned {
            status: 200,
            body: Bytes::from(text.to_string()),
            gzip: false,
        }
    }
}

/// A gzip stream that inflates to `mib` MiB of spaces while being ~1 KiB per MiB on the wire:
/// one MiB compressed with a sync flush, then the next MiB's blocks (which only refer back to
/// spaces) repeated. No trailer: a client must give up on the size long before the end.
pub fn gzip_bomb(mib: usize) -> Bytes {
    use std::io::Write as _;
    let chunk = vec![b' '; 1 << 20];
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(&chunk).expect("compress");
    encoder.flush().expect("flush");
    let first = encoder.get_ref().len();
    encoder.write_all(&chunk).expect("compress");
    encoder.flush().expect("flush");
    let stream = encoder.get_ref();
    let repeat = stream[first..].to_vec();
    let mut out = stream[..first].to_vec();
    for _ in 1..mib.max(1) {
        out.extend_from_slice(&repeat);
    }
    Bytes::from(out)
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            path_prefix: None,
            latency: Duration::ZERO,
            reset_next: 0,
            reset_all: false,
            fail_next: 0,
            fail_status: 503,
            fail_every: None,
            fail_rate: 0.0,
            seed: 1,
            rate_limit_next: 0,
            retry_after: None,
            trickle: None,
            malformed: false,
            page_size: None,
            canned: None,
            canned_content_type: None,
            black_hole: false,
            stall_after: None,
            redirect_to: None,
            simple_only: false,
            html_only: false,
            ignore_range: false,
            gzip: false,
            no_etag: false,
            always_304: false,
        }
    }
}

/// Counters since start (or the last `reset_stats`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stats {
    pub total: u64,
    pub pypi_project: u64,
    pub pypi_version: u64,
    /// `/simple/<name>/` requests (JSON or HTML).
    pub pypi_simple: u64,
    /// `/files/<name>.metadata` requests (core metadata files).
    pub core_metadata: u64,
    /// `/files/<wheel>` requests, and the `Range` header of each (empty: none).
    pub wheel_ranges: Vec<String>,
    pub querybatch: u64,
    pub vulns: u64,
    pub other: u64,
    /// Requests answered with an injected fault (status, reset, malformed).
    pub faults_injected: u64,
    /// Most requests being handled at once.
    pub max_concurrent: u64,
    /// Number of queries in each querybatch request, in arrival order.
    pub querybatch_sizes: Vec<usize>,
    /// `Authorization` header of each request that had one.
    pub authorizations: Vec<String>,
    /// Real answers' body bytes as sent (after gzip), per endpoint (`pypi-project`,
    /// `pypi-version`, `simple`, `osv`).
    pub bytes_sent: HashMap<&'static str, u64>,
    /// Answers `304 Not Modified`.
    pub not_modified: u64,
    /// Requests that carried `If-None-Match` or `If-Modified-Since`.
    pub conditional: u64,
    /// The `If-None-Match` / `If-Modified-Since` values received, in arrival order.
    pub validators_received: Vec<String>,
    /// Requests by HTTP version of the exchange.
    pub http1_requests: u64,
    pub http2_requests: u64,
    /// Connections accepted, and TLS handshakes by the ALPN protocol agreed (`h2`, `http/1.1`,
    /// `none`) or failed (`failed`: e.g. the client did not trust the certificate).
    pub connections: u64,
    pub tls: HashMap<&'static str, u64>,
    /// TLS handshakes that ended (made or failed) before the first answer left.
    pub tls_before_first_answer: u64,
    /// `> PATH` when a request arrives, `< PATH` when its answer leaves (after the latency).
    pub timeline: Vec<String>,
}

impl Stats {
    /// Body bytes sent by all real answers.
    pub fn total_bytes_sent(&self) -> u64 {
        self.bytes_sent.values().sum()
    }
}

struct State {
    dataset: Dataset,
    faults: Mutex<Faults>,
    /// Requests subject to faults, for `fail_every`.
    fault_counter: AtomicU64,
    rng: Mutex<u64>,
    stats: Mutex<Stats>,
    concurrent: AtomicU64,
    /// Each distinct body's gzip encoding, made once: a CDN keeps its compressed objects, and
    /// compressing every answer anew (a fresh zlib state each) was most of this server's CPU,
    /// taken from the client's cores under test.
    gzipped: Mutex<HashMap<Bytes, Bytes>>,
}

/// How the server meets the network: plain or TLS, at full speed or behind a shared limit.
#[derive(Clone, Default)]
pub struct Wire {
    pub tls: Option<tokio_rustls::TlsAcceptor>,
    pub bandwidth: Option<Arc<Bandwidth>>,
}

/// The running server; stops when dropped.
pub struct RegistryServer {
    addr: SocketAddr,
    state: Arc<State>,
    accept: JoinHandle<()>,
    https: bool,
}

impl Drop for RegistryServer {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// Closing the connection without a response: returned from the service, hyper drops it.
#[derive(Debug)]
struct ResetConnection;

impl std::fmt::Display for ResetConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("injected connection reset")
    }
}

impl std::error::Error for ResetConnection {}

type ResponseBody = BoxBody<Bytes, Infallible>;

impl RegistryServer {
    /// Bind 127.0.0.1:0 and serve `dataset` on the current tokio runtime.
    pub async fn start(dataset: Dataset) -> RegistryServer {
        RegistryServer::start_with(dataset, Wire::default()).await
    }

    /// Serve `dataset` over `wire` (TLS and/or a bandwidth limit).
    pub async fn start_with(dataset: Dataset, wire: Wire) -> RegistryServer {
        let https = wire.tls.is_some();
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let state = Arc::new(State {
            dataset,
            faults: Mutex::new(Faults::default()),
            fault_counter: AtomicU64::new(0),
            rng: Mutex::new(1),
            stats: Mutex::new(Stats::default()),
            concurrent: AtomicU64::new(0),
            gzipped: Mutex::new(HashMap::new()),
        });
        let accept_state = state.clone();
        let accept = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = accept_state.clone();
                let wire = wire.clone();
                tokio::spawn(async move {
                    state
                        .stats
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .connections += 1;
                    // As real servers do: an HTTP/2 connection interleaves small frames, and
                    // Nagle's algorithm against a delayed ACK would hold each back ~40 ms.
                    let _ = stream.set_nodelay(true);
                    let stream = Shaped::new(stream, wire.bandwidth.clone());
                    let Some(acceptor) = &wire.tls else {
                        return serve(state, stream).await;
                    };
                    let handshake = acceptor.accept(stream).await;
                    let protocol = match &handshake {
                        Err(_) => "failed",
                        Ok(tls) => match tls.get_ref().1.alpn_protocol() {
                            Some(b"h2") => "h2",
                            Some(b"http/1.1") => "http/1.1",
                            _ => "none",
                        },
                    };
                    {
                        let mut stats = state.stats.lock().unwrap_or_else(|p| p.into_inner());
                        *stats.tls.entry(protocol).or_default() += 1;
                        if !stats.timeline.iter().any(|event| event.starts_with('<')) {
                            stats.tls_before_first_answer += 1;
                        }
                    }
                    if let Ok(tls) = handshake {
                        serve(state, tls).await;
                    }
                });
            }
        });
        RegistryServer {
            addr,
            state,
            accept,
            https,
        }
    }

    /// `http://127.0.0.1:<port>` (`https://` over TLS): the base URL for PyPI and OSV clients.
    pub fn url(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Replace the faults (resets the `fail_every` period and the seeded generator).
    pub fn set_faults(&self, faults: Faults) {
        *self.state.rng.lock().unwrap_or_else(|p| p.into_inner()) = faults.seed.max(1);
        self.state.fault_counter.store(0, Ordering::SeqCst);
        *self.state.faults.lock().unwrap_or_else(|p| p.into_inner()) = faults;
    }

    /// Change some faults in place.
    pub fn update_faults(&self, change: impl FnOnce(&mut Faults)) {
        change(&mut self.state.faults.lock().unwrap_or_else(|p| p.into_inner()));
    }

    pub fn stats(&self) -> Stats {
        self.state
            .stats
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn reset_stats(&self) {
        *self.state.stats.lock().unwrap_or_else(|p| p.into_inner()) = Stats::default();
    }
}

/// One connection, HTTP/1.1 or HTTP/2 (by the client's preface), at most 100 streams at once
/// as PyPI's CDN allows.
async fn serve<S>(state: Arc<State>, io: S)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |request| {
        let state = state.clone();
        async move { handle(state, request).await }
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http2().max_concurrent_streams(100);
    // Errors are expected: injected resets, clients giving up.
    let _ = builder.serve_connection(TokioIo::new(io), service).await;
}

/// Counts a request as being handled until dropped (moved into trickled bodies).
struct ConcurrencyGuard(Arc<State>);

impl ConcurrencyGuard {
    fn enter(state: &Arc<State>) -> Self {
        let now = state.concurrent.fetch_add(1, Ordering::SeqCst) + 1;
        let mut stats = state.stats.lock().unwrap_or_else(|p| p.into_inner());
        stats.max_concurrent = stats.max_concurrent.max(now);
        ConcurrencyGuard(state.clone())
    }
}

impl Drop for ConcurrencyGuard {
    fn drop(&mut self) {
        self.0.concurrent.fetch_sub(1, Ordering::SeqCst);
    }
}

enum Endpoint {
    PypiProject(String),
    PypiVersion(String, String),
    /// `/simple/<name>/`; `true` when the client asked for PEP 691 JSON.
    Simple(String, bool),
    /// `/files/<file name>`.
    File(String),
    QueryBatch,
    Vuln(String),
    Other,
}

fn route(method: &Method, path: &str, accept: &str) -> Endpoint {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        (&Method::GET, ["simple", name]) => Endpoint::Simple(
            percent_decode(name),
            accept.contains("application/vnd.pypi.simple.v1+json"),
        ),
        (&Method::GET, ["files", file]) => Endpoint::File(percent_decode(file)),
        (&Method::GET, ["pypi", name, "json"]) => Endpoint::PypiProject(percent_decode(name)),
        (&Method::GET, ["pypi", name, version, "json"]) => {
            Endpoint::PypiVersion(percent_decode(name), percent_decode(version))
        }
        (&Method::POST, ["v1", "querybatch"]) => Endpoint::QueryBatch,
        (&Method::GET, ["v1", "vulns", id]) => Endpoint::Vuln(percent_decode(id)),
        _ => Endpoint::Other,
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        if bytes[i] == b'%'
            && let Some(byte) = hex
        {
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The next draw in [0, 1) of the seeded xorshift generator.
fn next_random(state: &State) -> f64 {
    let mut rng = state.rng.lock().unwrap_or_else(|p| p.into_inner());
    let mut x = *rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *rng = x;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

async fn handle(
    state: Arc<State>,
    request: Request<Incoming>,
) -> Result<Response<ResponseBody>, ResetConnection> {
    let arrived = tokio::time::Instant::now();
    let guard = ConcurrencyGuard::enter(&state);
    let path = request.uri().path().to_string();
    if let Some(auth) = request
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        state
            .stats
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .authorizations
            .push(auth.to_string());
    }
    let header = |name| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let accept = header(hyper::header::ACCEPT);
    let accepts_gzip = header(hyper::header::ACCEPT_ENCODING).contains("gzip");
    let validation = Validation {
        if_none_match: header(hyper::header::IF_NONE_MATCH),
        if_modified_since: header(hyper::header::IF_MODIFIED_SINCE),
        send_etag: true,
    };
    let range = header(hyper::header::RANGE);
    let endpoint = route(request.method(), &path, &accept);
    {
        let mut stats = state.stats.lock().unwrap_or_else(|p| p.into_inner());
        stats.total += 1;
        for value in [&validation.if_none_match, &validation.if_modified_since] {
            if !value.is_empty() {
                stats.validators_received.push(value.clone());
            }
        }
        if !(validation.if_none_match.is_empty() && validation.if_modified_since.is_empty()) {
            stats.conditional += 1;
        }
        if request.version() == hyper::Version::HTTP_2 {
            stats.http2_requests += 1;
        } else {
            stats.http1_requests += 1;
        }
        stats.timeline.push(format!("> {path}"));
        match &endpoint {
            Endpoint::PypiProject(_) => stats.pypi_project += 1,
            Endpoint::PypiVersion(..) => stats.pypi_version += 1,
            Endpoint::Simple(..) => stats.pypi_simple += 1,
            Endpoint::File(file) if file.ends_with(".metadata") => stats.core_metadata += 1,
            Endpoint::File(_) => stats.wheel_ranges.push(range.clone()),
            Endpoint::QueryBatch => stats.querybatch += 1,
            Endpoint::Vuln(_) => stats.vulns += 1,
            Endpoint::Other => stats.other += 1,
        }
    }
    let body = match request.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return Err(ResetConnection),
    };
    if matches!(endpoint, Endpoint::QueryBatch) {
        let size = serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|r| r["queries"].as_array().map(Vec::len))
            .unwrap_or(0);
        state
            .stats
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .querybatch_sizes
            .push(size);
    }

    // Decide the fault under the lock, act on it after.
    let faults = state
        .faults
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let applies = faults
        .path_prefix
        .as_deref()
        .is_none_or(|prefix| path.starts_with(prefix));
    // The answer is made while the latency runs and leaves when it is over, as from a CDN's
    // edge, where it is ready: making it after the wait would add this server's work (on the
    // client's cores) to every answer's latency.
    let latency = Some(faults.latency).filter(|l| !l.is_zero() && applies);
    // Held until the answer leaves, or handed to a body that outlives it (stalls, trickles).
    let mut guard = Some(guard);
    // Early answers (faults) return from the block, which holds the guard only by reference.
    let answer = async {
        let state = &state;
        let guard = &mut guard;
        if applies {
            let injected = decide_fault(state);
            if let Some(fault) = injected {
                state
                    .stats
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .faults_injected += 1;
                return match fault {
                    Injected::Reset => Err(ResetConnection),
                    Injected::Status(code) => {
                        Ok(json_response(code, json!({"message": "injected failure"})))
                    }
                    Injected::RateLimited => {
                        let mut response =
                            json_response(429, json!({"message": "too many requests"}));
                        if let Some(value) = &faults.retry_after
                            && let Ok(value) = hyper::header::HeaderValue::from_str(value)
                        {
                            response
                                .headers_mut()
                                .insert(hyper::header::RETRY_AFTER, value);
                        }
                        Ok(response)
                    }
                };
            }
        }

        if applies && faults.black_hole {
            // Hold the connection open and never answer.
            let _guard = guard.take();
            std::future::pending::<()>().await;
            unreachable!();
        }
        if applies && let Some(target) = &faults.redirect_to {
            let mut response = json_response(302, json!({"message": "moved"}));
            if let Ok(location) = hyper::header::HeaderValue::from_str(&format!("{target}{path}")) {
                response
                    .headers_mut()
                    .insert(hyper::header::LOCATION, location);
            }
            return Ok(response);
        }
        if applies && faults.always_304 {
            state
                .stats
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .not_modified += 1;
            return Ok(raw_response(304, Bytes::new()));
        }
        let validation = Validation {
            send_etag: !faults.no_etag,
            ..validation
        };
        if applies && let Some(canned) = &faults.canned {
            let mut response = raw_response(canned.status, canned.body.clone());
            if let Some(content_type) = faults.canned_content_type {
                response.headers_mut().insert(
                    hyper::header::CONTENT_TYPE,
                    hyper::header::HeaderValue::from_static(content_type),
                );
            }
            if canned.gzip {
                response.headers_mut().insert(
                    hyper::header::CONTENT_ENCODING,
                    hyper::header::HeaderValue::from_static("gzip"),
                );
            }
            return Ok(response);
        }
        let (status, document) = if faults.simple_only
            && matches!(
                endpoint,
                Endpoint::PypiProject(_) | Endpoint::PypiVersion(..)
            ) {
            (404, json!({"message": "Not Found"}))
        } else if let Endpoint::Simple(name, json) = &endpoint {
            match (
                simple_page(&state.dataset, name),
                *json && !faults.html_only,
            ) {
                (None, _) => (404, json!({"message": "Not Found"})),
                (Some(page), true) => (200, page),
                (Some(page), false) => {
                    let html = simple_html(&page);
                    return Ok(finish(
                        state,
                        &endpoint,
                        200,
                        Bytes::from(html),
                        "text/html",
                        &validation,
                        accepts_gzip && faults.gzip,
                    ));
                }
            }
        } else if let Endpoint::File(file) = &endpoint {
            let metadata = (file.strip_suffix(".metadata"))
                .and_then(|wheel| state.dataset.core_metadata.get(wheel));
            if let Some(wheel) = state.dataset.wheels.get(file) {
                let range = if faults.ignore_range { "" } else { &range };
                return Ok(ranged(state, wheel, range));
            }
            match metadata {
                None => (404, json!({"message": "Not Found"})),
                Some((bytes, _)) => {
                    let (body, gzip) = (bytes.clone(), accepts_gzip && faults.gzip);
                    let content_type = "application/octet-stream";
                    return Ok(finish(
                        state,
                        &endpoint,
                        200,
                        body,
                        content_type,
                        &validation,
                        gzip,
                    ));
                }
            }
        } else {
            answer(state, &endpoint, &body, faults.page_size)
        };
        if applies && let Some(sent) = faults.stall_after {
            let bytes = Bytes::from(document.to_string());
            let head = bytes.slice(..sent.min(bytes.len()));
            return Ok(stalled_response(status, head, guard.take()));
        }
        if applies && faults.malformed && status == 200 {
            state
                .stats
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .faults_injected += 1;
            let text = document.to_string();
            let truncated = text[..text.len() / 2].to_string();
            return Ok(raw_response(200, Bytes::from(truncated)));
        }
        let bytes = Bytes::from(document.to_string());
        match faults.trickle.filter(|_| applies) {
            Some((chunk, pause)) => Ok(trickled_response(
                status,
                bytes,
                chunk.max(1),
                pause,
                guard.take(),
            )),
            None => Ok(finish(
                state,
                &endpoint,
                status,
                bytes,
                if matches!(endpoint, Endpoint::Simple(..)) {
                    "application/vnd.pypi.simple.v1+json"
                } else {
                    "application/json"
                },
                &validation,
                accepts_gzip && faults.gzip,
            )),
        }
    }
    .await;
    if let Some(latency) = latency {
        precise::sleep_until(arrived + latency).await;
    }
    (state.stats.lock().unwrap_or_else(|p| p.into_inner()))
        .timeline
        .push(format!("< {path}"));
    drop(guard);
    answer
}

/// What a request says it already has, and whether the server sends ETags.
struct Validation {
    if_none_match: String,
    if_modified_since: String,
    send_etag: bool,
}

/// Every real answer's `Last-Modified` (the dataset never changes while a server runs).
pub const LAST_MODIFIED: &str = "Mon, 01 Dec 2025 00:00:00 GMT";

/// A real answer: `ETag` and `Last-Modified` (and `304` when the client already has it: a
/// matching `If-None-Match`, or, only without one, an `If-Modified-Since` equal to
/// [`LAST_MODIFIED`]), gzip when asked, and the bytes sent counted under the endpoint.
fn finish(
    state: &State,
    endpoint: &Endpoint,
    status: u16,
    body: Bytes,
    content_type: &'static str,
    validation: &Validation,
    gzip: bool,
) -> Response<ResponseBody> {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    body.hash(&mut hasher);
    let etag = format!("\"{:016x}\"", hasher.finish());
    let key = match endpoint {
        Endpoint::PypiProject(_) => "pypi-project",
        Endpoint::PypiVersion(..) => "pypi-version",
        Endpoint::Simple(..) => "simple",
        Endpoint::File(_) => "core-metadata",
        Endpoint::QueryBatch | Endpoint::Vuln(_) => "osv",
        Endpoint::Other => "other",
    };
    let matches = if validation.if_none_match.is_empty() {
        validation.if_modified_since == LAST_MODIFIED
    } else {
        validation.send_etag && validation.if_none_match == etag
    };
    let not_modified = status == 200 && matches;
    let (status, body) = if not_modified {
        (304, Bytes::new())
    } else if gzip {
        (status, gzip_once(state, body))
    } else {
        (status, body)
    };
    {
        let mut stats = state.stats.lock().unwrap_or_else(|p| p.into_inner());
        *stats.bytes_sent.entry(key).or_default() += body.len() as u64;
        stats.not_modified += u64::from(not_modified);
    }
    let gzipped = gzip && !not_modified;
    let mut response = raw_response(status, body);
    let headers = response.headers_mut();
    headers.insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(content_type),
    );
    if (status == 200 || status == 304)
        && validation.send_etag
        && let Ok(value) = hyper::header::HeaderValue::from_str(&etag)
    {
        headers.insert(hyper::header::ETAG, value);
    }
    if status == 200 || status == 304 {
        headers.insert(
            hyper::header::LAST_MODIFIED,
            hyper::header::HeaderValue::from_static(LAST_MODIFIED),
        );
    }
    if gzipped {
        headers.insert(
            hyper::header::CONTENT_ENCODING,
            hyper::header::HeaderValue::from_static("gzip"),
        );
    }
    response
}

/// `body` gzip-encoded, compressed only the first time this server sends it.
fn gzip_once(state: &State, body: Bytes) -> Bytes {
    use std::io::Write as _;
    let known = state.gzipped.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(encoded) = known.get(&body) {
        return encoded.clone();
    }
    drop(known);
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(&body).expect("compress");
    let encoded = Bytes::from(encoder.finish().expect("compress"));
    (state.gzipped.lock().unwrap_or_else(|p| p.into_inner())).insert(body, encoded.clone());
    encoded
}

/// A wheel, whole (200) or the one byte range asked for (`bytes=a-b`, `bytes=a-`, `bytes=-n`:
/// 206 with `Content-Range`; 416 when it cannot be satisfied). Bytes sent count as `wheel`.
fn ranged(state: &State, wheel: &Bytes, range: &str) -> Response<ResponseBody> {
    let len = wheel.len() as u64;
    let asked = range.strip_prefix("bytes=").map(|spec| {
        let (a, b) = spec.split_once('-')?;
        let (start, end) = match (a.parse::<u64>().ok(), b.parse::<u64>().ok()) {
            (None, Some(n)) if a.is_empty() => (len.saturating_sub(n), len.checked_sub(1)?),
            (Some(a), None) if b.is_empty() => (a, len.checked_sub(1)?),
            (Some(a), Some(b)) => (a, b.min(len.checked_sub(1)?)),
            _ => return None,
        };
        (start <= end).then_some((start, end))
    });
    let (status, body, content_range) = match asked {
        None => (200, wheel.clone(), None),
        Some(None) => (416, Bytes::new(), Some(format!("bytes */{len}"))),
        Some(Some((start, end))) => (
            206,
            wheel.slice(start as usize..=end as usize),
            Some(format!("bytes {start}-{end}/{len}")),
        ),
    };
    {
        let mut stats = state.stats.lock().unwrap_or_else(|p| p.into_inner());
        *stats.bytes_sent.entry("wheel").or_default() += body.len() as u64;
    }
    let mut response = raw_response(status, body);
    let headers = response.headers_mut();
    headers.insert(
        hyper::header::ACCEPT_RANGES,
        hyper::header::HeaderValue::from_static("bytes"),
    );
    if let Some(value) = content_range.and_then(|v| hyper::header::HeaderValue::from_str(&v).ok()) {
        headers.insert(hyper::header::CONTENT_RANGE, value);
    }
    response
}

/// The PEP 691 page of a project, built from its JSON project document: every file with its
/// hashes, size, PEP 700 upload time and PEP 592 yanked value, PEP 700 `versions`, and the
/// PEP 792 status when one is set.
fn simple_page(dataset: &Dataset, name: &str) -> Option<Value> {
    let normalized = normalize(name);
    let status = dataset.statuses.get(&normalized);
    let document = dataset.projects.get(&normalized);
    if document.is_none() && status.is_none() {
        return None;
    }
    let empty = serde_json::Map::new();
    let releases = document
        .and_then(|d| d["releases"].as_object())
        .unwrap_or(&empty);
    let files: Vec<Value> = releases
        .values()
        .flat_map(|files| files.as_array().cloned().unwrap_or_default())
        .map(|f| {
            let yanked = match (&f["yanked"], &f["yanked_reason"]) {
                (Value::Bool(true), Value::String(reason)) => json!(reason),
                (Value::Bool(true), _) => json!(true),
                _ => json!(false),
            };
            let offered = (f["filename"].as_str()).and_then(|file| dataset.core_metadata.get(file));
            let (url, core_metadata) = match offered {
                Some((_, sha256)) => (
                    json!(format!(
                        "../../files/{}",
                        f["filename"].as_str().unwrap_or_default()
                    )),
                    json!({ "sha256": sha256 }),
                ),
                None => (f["url"].clone(), json!(false)),
            };
            json!({
                "filename": f["filename"],
                "url": url,
                "hashes": {"sha256": f["digests"]["sha256"]},
                "requires-python": f["requires_python"],
                "size": f["size"],
                "upload-time": f["upload_time_iso_8601"],
                "yanked": yanked,
                "core-metadata": core_metadata,
                "data-dist-info-metadata": core_metadata
            })
        })
        .collect();
    let mut page = json!({
        "meta": {"api-version": "1.4", "_last-serial": 1},
        "name": normalized,
        "versions": releases.keys().collect::<Vec<_>>(),
        "files": files
    });
    if let Some(status) = status {
        page["project-status"] = status.clone();
    }
    Some(page)
}

/// The PEP 503 HTML form of a PEP 691 page (`data-yanked`, PEP 792 status meta tags).
fn simple_html(page: &Value) -> String {
    let escape = |text: &str| {
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let mut html = String::from(
        "<!DOCTYPE html>\n<html>\n<head>\n<meta name=\"pypi:repository-version\" content=\"1.4\">\n",
    );
    if let Some(status) = page["project-status"]["status"].as_str() {
        html.push_str(&format!(
            "<meta name=\"pypi:project-status\" content=\"{}\">\n",
            escape(status)
        ));
    }
    html.push_str("</head>\n<body>\n");
    for file in page["files"].as_array().into_iter().flatten() {
        let yanked = match &file["yanked"] {
            Value::String(reason) => format!(" data-yanked=\"{}\"", escape(reason)),
            Value::Bool(true) => " data-yanked=\"\"".to_string(),
            _ => String::new(),
        };
        let requires = match file["requires-python"].as_str() {
            Some(spec) => format!(" data-requires-python=\"{}\"", escape(spec)),
            None => String::new(),
        };
        let metadata = match file["core-metadata"]["sha256"].as_str() {
            Some(sha256) => format!(
                " data-core-metadata=\"sha256={sha256}\" data-dist-info-metadata=\"sha256={sha256}\""
            ),
            None => String::new(),
        };
        html.push_str(&format!(
            "<a href=\"{}#sha256={}\"{yanked}{requires}{metadata}>{}</a>\n",
            escape(file["url"].as_str().unwrap_or_default()),
            escape(file["hashes"]["sha256"].as_str().unwrap_or_default()),
            escape(file["filename"].as_str().unwrap_or_default())
        ));
    }
    html.push_str("</body>\n</html>\n");
    html
}

enum Injected {
    Reset,
    Status(u16),
    RateLimited,
}

fn decide_fault(state: &State) -> Option<Injected> {
    let count = state.fault_counter.fetch_add(1, Ordering::SeqCst) + 1;
    let mut faults = state.faults.lock().unwrap_or_else(|p| p.into_inner());
    if faults.reset_all {
        return Some(Injected::Reset);
    }
    if faults.reset_next > 0 {
        faults.reset_next -= 1;
        return Some(Injected::Reset);
    }
    if faults.fail_next > 0 {
        faults.fail_next -= 1;
        return Some(Injected::Status(faults.fail_status));
    }
    if faults.rate_limit_next > 0 {
        faults.rate_limit_next -= 1;
        return Some(Injected::RateLimited);
    }
    if faults
        .fail_every
        .is_some_and(|n| n > 0 && count.is_multiple_of(n))
    {
        return Some(Injected::Status(faults.fail_status));
    }
    if faults.fail_rate > 0.0 {
        let status = faults.fail_status;
        let rate = faults.fail_rate;
        drop(faults);
        if next_random(state) < rate {
            return Some(Injected::Status(status));
        }
    }
    None
}

fn answer(
    state: &State,
    endpoint: &Endpoint,
    body: &[u8],
    page_size: Option<usize>,
) -> (u16, Value) {
    let dataset = &state.dataset;
    let not_found = || (404, json!({"message": "Not Found"}));
    let quarantined = |name: &str| {
        dataset
            .statuses
            .get(&normalize(name))
            .is_some_and(|s| s["status"] == json!("quarantined"))
    };
    match endpoint {
        Endpoint::PypiProject(name) | Endpoint::PypiVersion(name, _) if quarantined(name) => {
            not_found()
        }
        Endpoint::PypiProject(name) => match dataset.projects.get(&normalize(name)) {
            Some(document) => (200, document.clone()),
            None => not_found(),
        },
        Endpoint::PypiVersion(name, version) => {
            let normalized = normalize(name);
            if let Some(document) = dataset
                .version_documents
                .get(&(normalized.clone(), version.clone()))
            {
                return (200, document.clone());
            }
            let Some(document) = dataset.projects.get(&normalized) else {
                return not_found();
            };
            let Some(files) = document["releases"].get(version.as_str()) else {
                return not_found();
            };
            let mut info = document["info"].clone();
            info["version"] = json!(version);
            let files_list = files.as_array().cloned().unwrap_or_default();
            let yanked =
                !files_list.is_empty() && files_list.iter().all(|f| f["yanked"] == json!(true));
            info["yanked"] = json!(yanked);
            info["yanked_reason"] = if yanked {
                files_list
                    .iter()
                    .map(|f| f["yanked_reason"].clone())
                    .find(|r| !r.is_null())
                    .unwrap_or(Value::Null)
            } else {
                Value::Null
            };
            if let Some(Value::Object(overrides)) =
                dataset.release_info.get(&(normalized, version.clone()))
            {
                for (key, value) in overrides {
                    info[key] = value.clone();
                }
            }
            (
                200,
                json!({"info": info, "last_serial": 1, "urls": files, "vulnerabilities": []}),
            )
        }
        Endpoint::QueryBatch => query_batch(dataset, body, page_size),
        Endpoint::Vuln(id) => match dataset.vulns.iter().find(|v| v["id"] == json!(id)) {
            Some(record) => (200, record.clone()),
            None => (404, json!({"code": 5, "message": "Bug not found."})),
        },
        Endpoint::Simple(..) | Endpoint::File(_) | Endpoint::Other => not_found(),
    }
}

fn query_batch(dataset: &Dataset, body: &[u8], page_size: Option<usize>) -> (u16, Value) {
    let bad_request = |message: &str| (400, json!({"code": 3, "message": message}));
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return bad_request("invalid JSON");
    };
    let Some(queries) = request["queries"].as_array() else {
        return bad_request("missing queries");
    };
    if queries.len() > 1000 {
        return bad_request("too many queries");
    }
    // Records by the PyPI names they affect, once per batch (a scan of every record per query
    // made a 1,000-query batch against 1,000 records cost seconds of server time).
    let mut by_name: HashMap<String, Vec<&Value>> = HashMap::new();
    for record in dataset.vulns.iter().filter(|r| r["withdrawn"].is_null()) {
        let names = (record["affected"].as_array().into_iter().flatten())
            .filter(|a| a["package"]["ecosystem"] == json!("PyPI"))
            .map(|a| normalize(a["package"]["name"].as_str().unwrap_or_default()));
        let mut names: Vec<String> = names.collect();
        names.sort();
        names.dedup();
        for name in names {
            by_name.entry(name).or_default().push(record);
        }
    }
    let mut results = Vec::with_capacity(queries.len());
    for query in queries {
        let name = normalize(query["package"]["name"].as_str().unwrap_or_default());
        let ecosystem = query["package"]["ecosystem"].as_str().unwrap_or_default();
        let version = query["version"].as_str().unwrap_or_default();
        let offset: usize = query["page_token"]
            .as_str()
            .and_then(|t| t.strip_prefix("page-"))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        let matches: Vec<&Value> = (by_name.get(&name).into_iter().flatten())
            .copied()
            .filter(|record| {
                record["affected"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|a| {
                        a["package"]["ecosystem"] == json!(ecosystem)
                            && ecosystem == "PyPI"
                            && normalize(a["package"]["name"].as_str().unwrap_or_default()) == name
                            && a["versions"]
                                .as_array()
                                .into_iter()
                                .flatten()
                                .any(|v| v == &json!(version))
                    })
            })
            .collect();
        let page = page_size.unwrap_or(usize::MAX);
        let slice: Vec<Value> = matches
            .iter()
            .skip(offset)
            .take(page)
            .map(|r| json!({"id": r["id"], "modified": r["modified"]}))
            .collect();
        let mut result = serde_json::Map::new();
        if !slice.is_empty() {
            result.insert("vulns".to_string(), Value::Array(slice));
        }
        if offset.saturating_add(page) < matches.len() {
            result.insert(
                "next_page_token".to_string(),
                json!(format!("page-{}", offset + page)),
            );
        }
        results.push(Value::Object(result));
    }
    (200, json!({"results": results}))
}

fn json_response(status: u16, document: Value) -> Response<ResponseBody> {
    raw_response(status, Bytes::from(document.to_string()))
}

fn raw_response(status: u16, body: Bytes) -> Response<ResponseBody> {
    let mut response = Response::new(Full::new(body).boxed());
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

/// A body that arrives `chunk` bytes at a time, `pause` apart (chunked transfer encoding).
fn trickled_response(
    status: u16,
    body: Bytes,
    chunk: usize,
    pause: Duration,
    guard: Option<ConcurrencyGuard>,
) -> Response<ResponseBody> {
    let (sender, receiver) = mpsc::channel::<Bytes>(1);
    tokio::spawn(async move {
        let _guard = guard;
        let mut offset = 0;
        while offset < body.len() {
            let end = (offset + chunk).min(body.len());
            if sender.send(body.slice(offset..end)).await.is_err() {
                return;
            }
            offset = end;
            tokio::time::sleep(pause).await;
        }
    });
    let mut response = Response::new(ChannelBody { receiver }.boxed());
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

/// A body that sends `head` and then never ends (the sender is parked with the guard).
fn stalled_response(
    status: u16,
    head: Bytes,
    guard: Option<ConcurrencyGuard>,
) -> Response<ResponseBody> {
    let (sender, receiver) = mpsc::channel::<Bytes>(1);
    tokio::spawn(async move {
        let _guard = guard;
        if sender.send(head).await.is_ok() {
            // Keep the channel open until the client goes away.
            sender.closed().await;
        }
    });
    let mut response = Response::new(ChannelBody { receiver }.boxed());
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    response
}

struct ChannelBody {
    receiver: mpsc::Receiver<Bytes>,
}

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.receiver
            .poll_recv(cx)
            .map(|chunk| chunk.map(|bytes| Ok(Frame::data(bytes))))
    }
}

/// A latency kept to within ~0.1 ms. tokio's timer ticks in whole milliseconds and rounds a
/// deadline up to the next tick: a "50 ms" answer left after 50–51 ms (0.5 ms late on average),
/// and the answers due within one millisecond all left together on its tick. The last
/// milliseconds are waited for by one thread that sleeps to the next deadline exactly.
pub mod precise {
    use std::collections::BTreeMap;
    use std::sync::OnceLock;
    use std::sync::mpsc::{self, RecvTimeoutError};
    use std::time::{Duration, Instant};

    use tokio::sync::oneshot;

    /// What is left for the precise thread once tokio's timer has fired: more than its rounding.
    const TAIL: Duration = Duration::from_millis(2);

    type Request = (Instant, oneshot::Sender<()>);

    pub async fn sleep_until(deadline: tokio::time::Instant) {
        if let Some(coarse) = deadline.checked_sub(TAIL) {
            tokio::time::sleep_until(coarse).await;
        }
        // tokio's clock is not the real one (paused, advanced): the real wait could be of any
        // length, so tokio's timer alone keeps the time.
        let real_wait = deadline
            .into_std()
            .saturating_duration_since(Instant::now());
        if real_wait > TAIL {
            return tokio::time::sleep_until(deadline).await;
        }
        let (wake, woken) = oneshot::channel();
        // The thread never ends; were it gone, tokio's timer alone.
        let sent = timer().send((deadline.into_std(), wake));
        if sent.is_err() || woken.await.is_err() {
            tokio::time::sleep_until(deadline).await;
        }
    }

    fn timer() -> mpsc::Sender<Request> {
        static TIMER: OnceLock<mpsc::Sender<Request>> = OnceLock::new();
        TIMER
            .get_or_init(|| {
                let (sender, requests) = mpsc::channel();
                std::thread::spawn(move || run(requests));
                sender
            })
            .clone()
    }

    /// Wakes every sleeper at its deadline, earliest first (ties in arrival order).
    fn run(requests: mpsc::Receiver<Request>) {
        let mut due: BTreeMap<(Instant, u64), oneshot::Sender<()>> = BTreeMap::new();
        let mut order = 0u64;
        loop {
            let now = Instant::now();
            while let Some(entry) = due.first_entry().filter(|e| e.key().0 <= now) {
                let _ = entry.remove().send(());
            }
            let next = match due.first_key_value() {
                Some(((at, _), _)) => requests.recv_timeout(*at - now),
                None => requests.recv().map_err(|_| RecvTimeoutError::Disconnected),
            };
            match next {
                Ok((at, wake)) => {
                    order += 1;
                    due.insert((at, order), wake);
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }
}
