//! Sources against a real loopback server: PyPI and OSV answers, retries, Retry-After, the
//! breaker, the concurrency bound, faults that must surface as errors (never as clean data),
//! querybatch chunking and pagination, the offline database (directory and zip) answering like
//! the online API, and CVSS scores.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use depdash::engine::events::{EngineEvent, EventSink};
use depdash::model::ProjectState;
use depdash::sources::cvss::{v3_base_score, v4_score};
use depdash::sources::{
    FetchError, HttpClient, HttpConfig, OsvClient, OsvDatabase, OsvRecord, PypiClient, SourceError,
    to_vulnerability,
};
use depdash::telemetry::tracker::Tracker;
use depdash::telemetry::{BreakerState, RequestOutcome, SourceKind};
use futures_util::future::join_all;
use pep440_rs::Version;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::support::registry::{Dataset, Faults, RegistryServer, unused_port};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn fixture_json(relative: &str) -> Value {
    let path = fixtures().join(relative);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every OSV fixture record (recursively), sorted by path.
fn osv_fixture_records() -> Vec<Value> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "json") {
                out.push(path);
            }
        }
    }
    let mut paths = Vec::new();
    walk(&fixtures().join("osv"), &mut paths);
    paths
        .iter()
        .map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
        .collect()
}

/// The fixtures, plus a built package `demo-pkg` whose releases the synthetic records cover.
fn dataset() -> Dataset {
    let mut dataset = Dataset::new();
    dataset
        .add_project_json(fixture_json("pypi/requests.json"))
        .add_version_json(fixture_json("pypi/requests-2.31.0.json"))
        .add_project_json(fixture_json("pypi/urllib3.json"));
    dataset
        .package("Demo_Pkg")
        .license("BSD-3-Clause")
        .release("1.0", "2021-01-01T10:00:00Z")
        .release("1.1", "2021-06-01T10:00:00Z")
        .yanked("2.0rc1", "2022-01-01T10:00:00Z", Some("broken build"))
        .release("2.0", "2022-02-01T10:00:00Z")
        .release("3.1", "2023-03-01T10:00:00Z")
        .add();
    for record in osv_fixture_records() {
        dataset.add_osv(record);
    }
    dataset
}

/// Fast, test-sized settings: tiny backoffs, a breaker that stays out of the way.
fn test_config() -> HttpConfig {
    HttpConfig {
        concurrency: 8,
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(5),
        retries: 3,
        backoff_base: Duration::from_millis(1),
        backoff_max: Duration::from_millis(20),
        breaker_threshold: 1000,
        breaker_cooldown: Duration::from_secs(30),
        user_agent: "depdash-tests".to_string(),
        ..HttpConfig::default()
    }
}

struct Harness {
    http: HttpClient,
    events: mpsc::Receiver<EngineEvent>,
    tracker: Arc<Tracker>,
}

impl Harness {
    fn new(config: HttpConfig) -> Self {
        let (sender, events) = mpsc::channel(100_000);
        let tracker = Arc::new(Tracker::new());
        let http = HttpClient::new(config, EventSink::new(sender), tracker.clone())
            .expect("HTTP client builds");
        Harness {
            http,
            events,
            tracker,
        }
    }

    fn drain(&mut self) -> Vec<EngineEvent> {
        let mut out = Vec::new();
        while let Ok(event) = self.events.try_recv() {
            out.push(event);
        }
        out
    }

    fn breaker_events(&mut self) -> Vec<BreakerState> {
        self.drain()
            .into_iter()
            .filter_map(|e| match e {
                EngineEvent::Breaker { state, .. } => Some(state),
                _ => None,
            })
            .collect()
    }
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

#[tokio::test]
async fn pypi_release_facts_come_from_the_release_document_alone() {
    let server = RegistryServer::start(dataset()).await;
    let h = Harness::new(test_config());
    let pypi = PypiClient::new(h.http.clone(), &server.url());

    // An older release: its own license and classifiers, not the latest's.
    let old = pypi.release("requests", "2.31.0").await.unwrap();
    assert!(old.on_index);
    assert!(!old.yanked);
    assert_eq!(old.latest_version, None, "not asked for");
    assert_eq!(
        old.upload_time.as_deref(),
        Some("2023-05-22T15:12:42.313790Z")
    );
    assert_eq!(old.license.as_deref(), Some("Apache 2.0"));
    assert!(
        old.classifiers
            .iter()
            .any(|c| c == "License :: OSI Approved :: Apache Software License"),
        "{:?}",
        old.classifiers
    );

    let yanked = pypi.release("Requests", "2.32.0").await.unwrap();
    assert!(yanked.yanked);
    assert_eq!(
        yanked.yanked_reason.as_deref(),
        Some("Yanked due to conflicts with CVE-2024-35195 mitigation")
    );

    let pep639 = pypi.release("urllib3", "2.8.0").await.unwrap();
    assert_eq!(pep639.license_expression.as_deref(), Some("MIT"));

    let pre = pypi.release("demo-pkg", "2.0rc1").await.unwrap();
    assert!(pre.yanked);
    assert_eq!(pre.yanked_reason.as_deref(), Some("broken build"));

    let stats = server.stats();
    assert_eq!(stats.pypi_version, 4, "one request per release asked");
    assert_eq!((stats.pypi_project, stats.pypi_simple), (0, 0));
    assert_eq!(h.tracker.snapshot()["http.pypi"].count, 4);
    // Per-release documents are a small fraction of the project documents they replace.
    let sent = stats.bytes_sent["pypi-version"];
    let decoded = h.http.network_counters().bytes_by_source[&SourceKind::Pypi];
    assert_eq!(
        sent, decoded,
        "no gzip asked: the bytes sent are the bytes read"
    );
    assert!(sent < 20_000, "{sent} bytes for four releases");
}

#[tokio::test]
async fn latest_version_and_status_come_from_the_simple_api() {
    let mut data = dataset();
    data.project_status("demo-pkg", "archived", Some("moved to demo2"));
    let server = RegistryServer::start(data).await;
    let h = Harness::new(test_config());
    let pypi = PypiClient::new(h.http.clone(), &server.url());

    let requests = pypi.simple().project("requests").await.unwrap().unwrap();
    assert_eq!(requests.latest_version.as_deref(), Some("2.32.5"));
    assert_eq!(requests.status, None);
    // The yanked pre-release is never the latest; the status is read.
    let demo = pypi.simple().project("Demo.Pkg").await.unwrap().unwrap();
    assert_eq!(demo.latest_version.as_deref(), Some("3.1"));
    let status = demo.status.unwrap();
    assert_eq!(status.status, ProjectState::Archived);
    assert_eq!(status.reason.as_deref(), Some("moved to demo2"));
    assert_eq!(pypi.simple().project("no-such").await.unwrap(), None);

    let stats = server.stats();
    assert_eq!(stats.pypi_simple, 3);
    assert_eq!(stats.total, 3, "nothing else asked");
    assert_eq!(
        h.http.network_counters().bytes_by_source[&SourceKind::PypiSimple],
        stats.bytes_sent["simple"]
    );
}

#[tokio::test]
async fn simple_only_index_still_gives_yanked_upload_time_and_status() {
    let mut data = dataset();
    data.project_status("demo-pkg", "deprecated", None);
    let server = RegistryServer::start(data).await;
    server.set_faults(Faults {
        simple_only: true,
        ..Faults::default()
    });
    let h = Harness::new(test_config());
    let pypi = PypiClient::new(h.http.clone(), &server.url());

    let pre = pypi.release("demo-pkg", "2.0rc1").await.unwrap();
    assert!(pre.on_index);
    assert!(pre.yanked);
    assert_eq!(pre.yanked_reason.as_deref(), Some("broken build"));
    assert_eq!(
        pre.upload_time.as_deref(),
        Some("2022-01-01T10:00:00.000000Z")
    );
    assert_eq!(
        pre.project_status.map(|s| s.status),
        Some(ProjectState::Deprecated)
    );
    assert_eq!(pre.license, None, "the Simple API states no license");
    let missing = pypi.release("no-such-package", "1.0").await.unwrap();
    assert!(!missing.on_index, "404 on both APIs: not on the index");

    let stats = server.stats();
    assert_eq!(stats.pypi_version, 2, "the JSON API is tried first");
    assert_eq!(stats.pypi_simple, 2, "then the Simple API");
}

#[tokio::test]
async fn quarantined_project_is_seen_through_the_simple_api() {
    let mut data = dataset();
    data.project_status("requests", "quarantined", Some("malware report"));
    let server = RegistryServer::start(data).await;
    let h = Harness::new(test_config());
    let pypi = PypiClient::new(h.http.clone(), &server.url());
    let info = pypi.release("requests", "2.31.0").await.unwrap();
    let status = info.project_status.expect("status stated");
    assert_eq!(status.status, ProjectState::Quarantined);
    assert_eq!(status.reason.as_deref(), Some("malware report"));
    assert_eq!(
        (server.stats().pypi_version, server.stats().pypi_simple),
        (1, 1)
    );
}

#[tokio::test]
async fn simple_json_is_cheaper_than_the_project_document_for_the_latest_version() {
    // Real-shaped projects (every file with hashes, times, yank state): what the latest
    // version costs from each source, plain and gzip-encoded, as the server sent it.
    let mut data = dataset();
    let mut builder = data.package("many-releases").license("MIT");
    for i in 0..200 {
        builder = builder.release(&format!("1.{i}.0"), "2024-01-01T00:00:00Z");
    }
    builder.add();
    let server = RegistryServer::start(data).await;
    let h = Harness::new(test_config());
    for gzip in [false, true] {
        server.set_faults(Faults {
            gzip,
            ..Faults::default()
        });
        server.reset_stats();
        let pypi = PypiClient::new(h.http.clone(), &server.url());
        for name in ["requests", "urllib3", "many-releases"] {
            pypi.simple().project(name).await.unwrap().unwrap();
            let url = format!("{}/pypi/{name}/json", server.url());
            h.http
                .get_json::<serde_json::Value>(SourceKind::Pypi, &url, name)
                .await
                .unwrap();
        }
        let stats = server.stats();
        let (simple, project) = (stats.bytes_sent["simple"], stats.bytes_sent["pypi-project"]);
        eprintln!("gzip={gzip}: simple JSON {simple} B, project JSON {project} B");
        assert!(
            simple * 10 < project * 7,
            "simple {simple} vs project {project}"
        );
    }
}

#[tokio::test]
async fn pypi_license_of_an_older_release_comes_from_its_version_document() {
    let server = RegistryServer::start(dataset()).await;
    let h = Harness::new(test_config());
    let pypi = PypiClient::new(h.http.clone(), &server.url());
    let license = pypi
        .release_license("requests", "2.31.0")
        .await
        .unwrap()
        .expect("2.31.0 is on the index");
    assert_eq!(license.license.as_deref(), Some("Apache 2.0"));
    assert_eq!(
        pypi.release_license("requests", "9.9.9").await.unwrap(),
        None
    );
    assert_eq!(server.stats().pypi_version, 2);
}

#[tokio::test]
async fn unknown_package_is_not_on_index_after_two_404s_never_retried() {
    let server = RegistryServer::start(dataset()).await;
    let mut h = Harness::new(test_config());
    let pypi = PypiClient::new(h.http.clone(), &server.url());
    let info = pypi.release("no-such-package", "1.0").await.unwrap();
    assert!(!info.on_index);
    assert_eq!(info.latest_version, None);
    let stats = server.stats();
    assert_eq!(
        (stats.total, stats.pypi_version, stats.pypi_simple),
        (2, 1, 1),
        "404 is an answer: never retried; the Simple API tells project from release"
    );
    let events = h.drain();
    assert!(events.iter().any(|e| matches!(
        e,
        EngineEvent::Request(r) if r.outcome == RequestOutcome::NotFound && r.retries == 0
    )));
}

#[tokio::test]
async fn transient_503s_are_retried_until_success() {
    let server = RegistryServer::start(dataset()).await;
    server.set_faults(Faults {
        fail_next: 2,
        fail_status: 503,
        ..Faults::default()
    });
    let mut h = Harness::new(test_config());
    let result = h
        .http
        .get_json::<Value>(
            depdash::telemetry::SourceKind::Pypi,
            &format!("{}/pypi/requests/json", server.url()),
            "requests",
        )
        .await
        .unwrap();
    assert_eq!(result.retries(), 2);
    assert_eq!(
        result.into_option().unwrap()["info"]["version"],
        "2.32.5",
        "the answer after the retries is the real one"
    );
    assert_eq!(server.stats().total, 3);
    let counters = h.http.network_counters();
    assert_eq!(counters.requests, 3);
    assert_eq!(counters.retries, 2);
    assert_eq!(counters.failures, 0);
    assert!(counters.bytes > 1000);
    assert_eq!(
        h.tracker.snapshot()["http.pypi"].count,
        3,
        "one timing per attempt"
    );
    let requests: Vec<_> = h
        .drain()
        .into_iter()
        .filter_map(|e| match e {
            EngineEvent::Request(r) => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(requests.len(), 1, "one event per logical request");
    assert_eq!(requests[0].retries, 2);
    assert_eq!(requests[0].outcome, RequestOutcome::Ok { status: 200 });
    assert_eq!(requests[0].subject, "requests");
    assert_eq!(requests[0].host, server.addr().to_string());
}

#[tokio::test]
async fn client_errors_are_never_retried() {
    for code in [400u16, 403, 410] {
        let server = RegistryServer::start(dataset()).await;
        server.set_faults(Faults {
            fail_next: 1,
            fail_status: code,
            ..Faults::default()
        });
        let h = Harness::new(test_config());
        let pypi = PypiClient::new(h.http.clone(), &server.url());
        let error = pypi.release("requests", "2.31.0").await.unwrap_err();
        assert!(
            matches!(&error, FetchError::Status { code: c, .. } if *c == code),
            "{code}: {error:?}"
        );
        assert!(error.to_string().contains(&format!("HTTP {code}")));
        assert_eq!(server.stats().total, 1, "{code} must not be retried");
        assert_eq!(h.http.network_counters().failures, 1);
    }
}

#[tokio::test]
async fn rate_limit_retry_after_seconds_is_honoured() {
    let server = RegistryServer::start(dataset()).await;
    server.set_faults(Faults {
        rate_limit_next: 1,
        retry_after: Some("1".to_string()),
        ..Faults::default()
    });
    let h = Harness::new(HttpConfig {
        backoff_max: Duration::from_secs(3),
        ..test_config()
    });
    let pypi = PypiClient::new(h.http.clone(), &server.url());
    let started = Instant::now();
    let info = pypi.release("requests", "2.31.0").await.unwrap();
    assert!(info.on_index);
    // Backoff alone would be at most a few ms here; only the header explains a 1 s wait.
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(server.stats().total, 2);
}

#[tokio::test]
async fn rate_limit_retry_after_http_date_is_honoured() {
    let server = RegistryServer::start(dataset()).await;
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    // Measured from before the date is fixed: a loaded machine may take a while to send the
    // request, but the retry can never come before the date itself.
    let started = Instant::now();
    let when = (time::OffsetDateTime::now_utc() + time::Duration::seconds(3))
        .format(&format)
        .unwrap();
    server.set_faults(Faults {
        rate_limit_next: 1,
        retry_after: Some(when),
        ..Faults::default()
    });
    let h = Harness::new(HttpConfig {
        backoff_max: Duration::from_secs(5),
        ..test_config()
    });
    let pypi = PypiClient::new(h.http.clone(), &server.url());
    pypi.release("requests", "2.31.0").await.unwrap();
    // The date has 1 s resolution: 3 s ahead is at least 2 s away.
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn retry_after_beyond_the_cap_ends_the_request() {
    let server = RegistryServer::start(dataset()).await;
    server.set_faults(Faults {
        rate_limit_next: 5,
        retry_after: Some("120".to_string()),
        ..Faults::default()
    });
    let h = Harness::new(HttpConfig {
        backoff_max: Duration::from_secs(1),
        ..test_config()
    });
    let pypi = PypiClient::new(h.http.clone(), &server.url());
    let error = pypi.release("requests", "2.31.0").await.unwrap_err();
    assert!(
        matches!(error, FetchError::RateLimited { retry_after, .. } if retry_after == Duration::from_secs(120)),
        "{error:?}"
    );
    assert_eq!(server.stats().total, 1);
}

#[tokio::test]
async fn breaker_goes_closed_open_half_open_closed_and_reopens_on_a_failed_probe() {
    let server = RegistryServer::start(dataset()).await;
    let cooldown = Duration::from_millis(200);
    let mut h = Harness::new(HttpConfig {
        retries: 0,
        breaker_threshold: 2,
        breaker_cooldown: cooldown,
        ..test_config()
    });
    let pypi = PypiClient::new(h.http.clone(), &server.url());
    server.set_faults(Faults {
        fail_next: 2,
        ..Faults::default()
    });
    for _ in 0..2 {
        let error = pypi.release("requests", "2.31.0").await.unwrap_err();
        assert!(
            matches!(error, FetchError::Status { code: 503, .. }),
            "{error:?}"
        );
    }
    assert_eq!(h.breaker_events(), vec![BreakerState::Open]);
    let error = pypi.release("requests", "2.31.0").await.unwrap_err();
    assert!(matches!(error, FetchError::BreakerOpen { .. }), "{error:?}");
    assert!(error.to_string().contains("circuit breaker open"));
    assert_eq!(server.stats().total, 2, "an open breaker sends nothing");

    tokio::time::sleep(cooldown + Duration::from_millis(50)).await;
    pypi.release("requests", "2.31.0").await.unwrap();
    assert_eq!(
        h.breaker_events(),
        vec![BreakerState::HalfOpen, BreakerState::Closed]
    );

    // Open again, then a failing probe re-opens it.
    server.set_faults(Faults {
        fail_next: 3,
        ..Faults::default()
    });
    for _ in 0..2 {
        pypi.release("requests", "2.31.0").await.unwrap_err();
    }
    tokio::time::sleep(cooldown + Duration::from_millis(50)).await;
    let error = pypi.release("requests", "2.31.0").await.unwrap_err();
    assert!(
        matches!(error, FetchError::Status { code: 503, .. }),
        "{error:?}"
    );
    let error = pypi.release("requests", "2.31.0").await.unwrap_err();
    assert!(matches!(error, FetchError::BreakerOpen { .. }), "{error:?}");
    assert_eq!(
        h.breaker_events(),
        vec![
            BreakerState::Open,
            BreakerState::HalfOpen,
            BreakerState::Open
        ]
    );
    assert_eq!(h.http.network_counters().breaker_trips, 3);
    assert_eq!(
        h.http.breaker_states().get(&server.addr().to_string()),
        Some(&BreakerState::Open)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_flight_requests_never_exceed_the_bound() {
    let server = RegistryServer::start(dataset()).await;
    server.set_faults(Faults {
        latency: Duration::from_millis(30),
        ..Faults::default()
    });
    let h = Harness::new(HttpConfig {
        concurrency: 4,
        ..test_config()
    });
    let pypi = PypiClient::new(h.http.clone(), &server.url());
    let results = join_all((0..40).map(|_| pypi.release("requests", "2.31.0"))).await;
    assert!(results.iter().all(|r| r.as_ref().is_ok_and(|i| i.on_index)));
    let stats = server.stats();
    assert_eq!(stats.total, 40);
    assert!(
        stats.max_concurrent <= 4,
        "server saw {}",
        stats.max_concurrent
    );
    assert!(
        stats.max_concurrent >= 2,
        "requests did overlap: {}",
        stats.max_concurrent
    );
    let counters = h.http.network_counters();
    assert!(counters.max_in_flight <= 4);
    assert_eq!(counters.in_flight, 0);
}

#[tokio::test]
async fn malformed_json_is_an_error_never_a_clean_answer() {
    let server = RegistryServer::start(dataset()).await;
    server.set_faults(Faults {
        malformed: true,
        ..Faults::default()
    });
    let h = Harness::new(test_config());
    let pypi = PypiClient::new(h.http.clone(), &server.url());
    let osv = OsvClient::new(h.http.clone(), &server.url());

    let error = pypi.release("requests", "2.31.0").await.unwrap_err();
    assert!(matches!(error, FetchError::Malformed { .. }), "{error:?}");
    assert!(error.to_string().contains("invalid JSON"), "{error}");

    let results = osv
        .query_batch(&pairs(&[("requests", "2.30.0"), ("requests", "2.32.5")]))
        .await;
    assert_eq!(results.len(), 2);
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Err(FetchError::Malformed { .. })))
    );
    let error = osv.vuln("GHSA-j8r2-6x86-q33q").await.unwrap_err();
    assert!(matches!(error, FetchError::Malformed { .. }), "{error:?}");
    assert_eq!(server.stats().total, 3, "a malformed answer is not retried");
}

#[tokio::test]
async fn connection_resets_are_retried_then_reported() {
    let server = RegistryServer::start(dataset()).await;
    let h = Harness::new(test_config());
    let pypi = PypiClient::new(h.http.clone(), &server.url());

    server.set_faults(Faults {
        reset_next: 1,
        ..Faults::default()
    });
    assert!(pypi.release("requests", "2.31.0").await.unwrap().on_index);
    assert_eq!(h.http.network_counters().retries, 1);

    server.set_faults(Faults {
        reset_all: true,
        ..Faults::default()
    });
    server.reset_stats();
    let error = pypi.release("requests", "2.31.0").await.unwrap_err();
    match &error {
        FetchError::RetriesExhausted { attempts, last, .. } => {
            assert_eq!(*attempts, 4);
            assert!(last.contains("connection failed"), "{last}");
        }
        other => panic!("expected RetriesExhausted, got {other:?}"),
    }
    assert!(
        error
            .to_string()
            .contains("4 attempts, last: connection failed")
    );
    assert_eq!(server.stats().total, 4);
}

#[tokio::test]
async fn nothing_listening_fails_fast_and_the_breaker_stops_further_attempts() {
    let url = format!("http://127.0.0.1:{}", unused_port());
    let mut h = Harness::new(HttpConfig {
        retries: 2,
        breaker_threshold: 3,
        ..test_config()
    });
    let pypi = PypiClient::new(h.http.clone(), &url);
    let error = pypi.release("requests", "2.31.0").await.unwrap_err();
    match &error {
        FetchError::RetriesExhausted { attempts, last, .. } => {
            assert_eq!(*attempts, 3);
            assert!(last.starts_with("cannot connect"), "{last}");
        }
        other => panic!("expected RetriesExhausted, got {other:?}"),
    }
    let results = join_all((0..20).map(|_| pypi.release("requests", "2.31.0"))).await;
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Err(FetchError::BreakerOpen { .. })))
    );
    let counters = h.http.network_counters();
    assert_eq!(counters.requests, 3, "no attempt after the breaker opened");
    assert_eq!(counters.failures, 21);
    assert_eq!(h.breaker_events(), vec![BreakerState::Open]);
}

#[tokio::test]
async fn slow_bodies_finish_within_the_timeout_and_time_out_beyond_it() {
    let server = RegistryServer::start(dataset()).await;
    server.set_faults(Faults {
        trickle: Some((1024, Duration::from_millis(20))),
        ..Faults::default()
    });
    let h = Harness::new(test_config());
    let pypi = PypiClient::new(h.http.clone(), &server.url());
    let info = pypi.release("urllib3", "2.8.0").await.unwrap();
    assert_eq!(info.license_expression.as_deref(), Some("MIT"));

    let impatient = Harness::new(HttpConfig {
        retries: 1,
        request_timeout: Duration::from_millis(60),
        ..test_config()
    });
    let pypi = PypiClient::new(impatient.http.clone(), &server.url());
    let error = pypi.release("urllib3", "2.8.0").await.unwrap_err();
    match &error {
        FetchError::RetriesExhausted { attempts, last, .. } => {
            assert_eq!(*attempts, 2);
            assert!(last.starts_with("timed out"), "{last}");
        }
        other => panic!("expected RetriesExhausted, got {other:?}"),
    }
}

/// What the sources say about a set of packages: `(registry info, vuln ids)` each, as
/// `Result`s, for comparing a faulty run against a clean one.
type Answers = (
    Vec<Result<depdash::model::RegistryInfo, FetchError>>,
    Vec<Result<Vec<depdash::sources::osv::AdvisoryRef>, FetchError>>,
);

async fn ask_everything(server: &RegistryServer, config: HttpConfig) -> Answers {
    let h = Harness::new(config);
    let pypi = PypiClient::new(h.http.clone(), &server.url());
    let osv = OsvClient::new(h.http.clone(), &server.url()).with_batch_size(4);
    let packages = many_packages();
    let registry = join_all(packages.iter().map(|(n, v)| pypi.release(n, v))).await;
    let vulns = osv.query_batch(&packages).await;
    (registry, vulns)
}

fn many_packages() -> Vec<(String, String)> {
    let mut packages = Vec::new();
    for v in ["2.2.1", "2.3.0", "2.30.0", "2.31.0", "2.32.0", "2.32.5"] {
        packages.push(("requests".to_string(), v.to_string()));
    }
    for v in [
        "3.1.14", "3.2", "3.2.19", "3.2.20", "4.0", "4.1.9", "4.1.10", "4.2.2", "5.0",
    ] {
        packages.push(("Django".to_string(), v.to_string()));
    }
    for v in ["0.9", "1.0", "1.1", "2.0rc1", "2.0", "3.0", "3.1", "4.0"] {
        packages.push(("demo_pkg".to_string(), v.to_string()));
    }
    packages.push(("urllib3".to_string(), "2.8.0".to_string()));
    packages.push(("not-a-package".to_string(), "1.0".to_string()));
    packages
}

#[tokio::test]
async fn half_the_requests_failing_never_yields_a_wrong_or_empty_answer() {
    let server = RegistryServer::start(dataset()).await;
    let (clean_registry, clean_vulns) = ask_everything(&server, test_config()).await;
    assert!(clean_registry.iter().all(Result::is_ok));
    assert!(clean_vulns.iter().all(Result::is_ok));
    assert!(
        clean_vulns.iter().flatten().map(Vec::len).sum::<usize>() >= 10,
        "the clean run finds advisories"
    );

    server.set_faults(Faults {
        fail_rate: 0.5,
        seed: 7,
        ..Faults::default()
    });
    let (registry, vulns) = ask_everything(
        &server,
        HttpConfig {
            retries: 1,
            ..test_config()
        },
    )
    .await;
    let mut answered = 0;
    let mut failed = 0;
    for (faulty, clean) in registry.iter().zip(&clean_registry) {
        match faulty {
            Ok(info) => {
                answered += 1;
                assert_eq!(Some(info), clean.as_ref().ok());
            }
            Err(e) => {
                failed += 1;
                assert!(e.to_string().contains("HTTP 503"), "{e}");
            }
        }
    }
    for (faulty, clean) in vulns.iter().zip(&clean_vulns) {
        match faulty {
            Ok(ids) => {
                answered += 1;
                assert_eq!(Some(ids), clean.as_ref().ok());
            }
            Err(_) => failed += 1,
        }
    }
    assert!(
        answered > 0 && failed > 0,
        "answered {answered}, failed {failed}"
    );
    assert!(server.stats().faults_injected > 0);
}

#[tokio::test]
async fn querybatch_chunks_and_follows_page_tokens() {
    let server = RegistryServer::start(dataset()).await;
    server.set_faults(Faults {
        page_size: Some(1),
        ..Faults::default()
    });
    let h = Harness::new(test_config());
    let osv = OsvClient::new(h.http.clone(), &server.url()).with_batch_size(3);
    let packages = pairs(&[
        ("requests", "2.30.0"),
        ("requests", "2.31.0"),
        ("requests", "2.32.5"),
        ("django", "4.1.9"),
        ("Demo.Pkg", "1.1"),
        ("demo-pkg", "3.1"),
        ("demo-pkg", "4.0"),
        ("demo_pkg", "2.0rc1"),
    ]);
    let results: Vec<Vec<String>> = osv
        .query_batch(&packages)
        .await
        .into_iter()
        .map(|r| r.unwrap().into_iter().map(|a| a.id).collect())
        .collect();
    let ids = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        results,
        vec![
            ids(&[
                "GHSA-9wx4-h78v-vm56",
                "GHSA-j8r2-6x86-q33q",
                "PYSEC-2023-74"
            ]),
            ids(&["GHSA-9wx4-h78v-vm56"]),
            ids(&[]),
            ids(&["GHSA-jh3w-4vvf-mjgr"]),
            ids(&["DEPDASH-TEST-0001", "DEPDASH-TEST-0002"]),
            ids(&["DEPDASH-TEST-0002", "DEPDASH-TEST-0005"]),
            ids(&[]),
            ids(&["DEPDASH-TEST-0001", "DEPDASH-TEST-0002"]),
        ]
    );
    let sizes = server.stats().querybatch_sizes;
    assert!(sizes.iter().all(|&s| s <= 3), "{sizes:?}");
    // 8 first-page queries plus one re-query per extra page: 2 + 1 + 1 + 1.
    assert_eq!(sizes.iter().sum::<usize>(), 8 + 5, "{sizes:?}");
    assert_eq!(h.tracker.snapshot()["http.osv"].count as usize, sizes.len());
}

#[tokio::test]
async fn querybatch_splits_more_than_a_thousand_queries() {
    let server = RegistryServer::start(dataset()).await;
    let h = Harness::new(test_config());
    let osv = OsvClient::new(h.http.clone(), &server.url());
    let packages: Vec<(String, String)> = (0..1001)
        .map(|i| (format!("package-{i}"), "1.0".to_string()))
        .chain([("requests".to_string(), "2.31.0".to_string())])
        .collect();
    let results = osv.query_batch(&packages).await;
    assert_eq!(results.len(), 1002);
    // The server refuses more than 1000 queries per request: every answer OK means we split.
    assert!(
        results[..1001]
            .iter()
            .all(|r| r.as_ref().is_ok_and(Vec::is_empty))
    );
    let last = results[1001].as_ref().unwrap();
    assert_eq!(last.len(), 1);
    assert_eq!(last[0].id, "GHSA-9wx4-h78v-vm56");
    assert!(
        !last[0].modified.is_empty(),
        "modified carried for cache keys"
    );
    let mut sizes = server.stats().querybatch_sizes;
    sizes.sort();
    assert_eq!(sizes, vec![2, 1000]);
}

#[tokio::test]
async fn vuln_by_id_returns_the_record_and_a_missing_id_is_an_error() {
    let server = RegistryServer::start(dataset()).await;
    let h = Harness::new(test_config());
    let osv = OsvClient::new(h.http.clone(), &server.url());
    let record = osv.vuln("GHSA-j8r2-6x86-q33q").await.unwrap();
    let expected: OsvRecord =
        serde_json::from_value(fixture_json("osv/GHSA-j8r2-6x86-q33q.json")).unwrap();
    assert_eq!(record, expected);
    let error = osv.vuln("GHSA-0000-0000-0000").await.unwrap_err();
    assert!(matches!(error, FetchError::NotFound { .. }), "{error:?}");
    assert!(error.to_string().contains("GHSA-0000-0000-0000"));
}

#[test]
fn fixture_records_convert_to_the_model() {
    let record = |path: &str| -> OsvRecord { serde_json::from_value(fixture_json(path)).unwrap() };

    let ghsa = to_vulnerability(&record("osv/GHSA-j8r2-6x86-q33q.json"), "requests").unwrap();
    assert_eq!(ghsa.fixed_in, vec!["2.31.0"]);
    assert_eq!(ghsa.aliases, vec!["CVE-2023-32681"]);
    assert_eq!(
        ghsa.summary,
        "Unintended leak of Proxy-Authorization header in requests"
    );
    assert_eq!(ghsa.severity.len(), 2);
    assert_eq!(ghsa.severity[0].kind, "CVSS_V3");
    assert_eq!(ghsa.severity[0].score, Some(6.1));
    assert_eq!(ghsa.severity[1].kind, "ecosystem");
    assert_eq!(ghsa.severity[1].vector, "MODERATE");
    assert_eq!(ghsa.modified.as_deref(), Some("2024-11-18T16:26:11Z"));

    let pysec = to_vulnerability(&record("osv/PYSEC-2023-74.json"), "requests").unwrap();
    assert!(pysec.summary.starts_with("Requests is a HTTP library."));
    assert!(pysec.severity.is_empty());
    assert_eq!(pysec.max_score(), None);
    assert_eq!(
        pysec.fixed_in,
        vec!["2.31.0"],
        "the GIT range's commit is not a version"
    );

    let django = to_vulnerability(&record("osv/GHSA-jh3w-4vvf-mjgr.json"), "Django").unwrap();
    assert_eq!(django.fixed_in, vec!["3.2.20", "4.1.10", "4.2.3"]);
    assert_eq!(django.max_score(), Some(7.5));

    let v4 = to_vulnerability(&record("osv/synthetic/DEPDASH-TEST-0001.json"), "demo-pkg").unwrap();
    assert_eq!(v4.fixed_in, vec!["1.2", "2.1"]);
    assert_eq!(v4.severity[0].kind, "CVSS_V4");
    assert_eq!(v4.severity[0].score, Some(9.3));
    assert_eq!(v4.severity[1].vector, "CRITICAL");

    assert_eq!(
        to_vulnerability(&record("osv/synthetic/DEPDASH-TEST-0003.json"), "demo-pkg"),
        None,
        "withdrawn"
    );
}

fn write_zip(path: &Path, records: &[Value]) {
    let file = std::fs::File::create(path).unwrap();
    let mut zip = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for record in records {
        let id = record["id"].as_str().unwrap();
        zip.start_file(format!("{id}.json"), options).unwrap();
        zip.write_all(serde_json::to_string_pretty(record).unwrap().as_bytes())
            .unwrap();
    }
    zip.finish().unwrap();
}

#[tokio::test]
async fn offline_database_answers_like_the_online_api() {
    let server = RegistryServer::start(dataset()).await;
    let h = Harness::new(test_config());
    let osv = OsvClient::new(h.http.clone(), &server.url());

    let from_dir = OsvDatabase::open(&fixtures().join("osv")).unwrap();
    let temp = tempfile::tempdir().unwrap();
    let zip_path = temp.path().join("all.zip");
    write_zip(&zip_path, &osv_fixture_records());
    let from_zip = OsvDatabase::open(&zip_path).unwrap();
    assert_eq!(from_dir.len(), 9);
    assert_eq!(from_zip.len(), 9);

    let packages = many_packages();
    let online = osv.query_batch(&packages).await;
    let mut compared = 0;
    for ((name, version), online_ids) in packages.iter().zip(online) {
        let online_ids: Vec<String> = online_ids.unwrap().into_iter().map(|a| a.id).collect();
        let version = Version::from_str(version).unwrap();
        for db in [&from_dir, &from_zip] {
            let offline: Vec<&OsvRecord> = db.query(name, &version);
            let offline_ids: Vec<String> = offline.iter().map(|r| r.id.clone()).collect();
            assert_eq!(offline_ids, online_ids, "{name} {version}");
            for record in offline {
                let online_record = osv.vuln(&record.id).await.unwrap();
                assert_eq!(
                    to_vulnerability(record, name),
                    to_vulnerability(&online_record, name)
                );
            }
        }
        compared += online_ids.len();
    }
    assert!(
        compared >= 20,
        "the comparison covers real matches: {compared}"
    );
}

#[test]
fn offline_database_age_and_lookup() {
    let db = OsvDatabase::open(&fixtures().join("osv")).unwrap();
    let newest = db.newest_modified().unwrap();
    assert_eq!(
        newest,
        time::macros::datetime!(2025-05-01 12:00:00 UTC),
        "the newest `modified` of any record"
    );
    assert!(db.age().unwrap() > Duration::from_secs(86_400));
    assert_eq!(db.get("PYSEC-2023-74").unwrap().aliases.len(), 2);
    assert!(db.get("PYSEC-0000-0").is_none());
}

#[test]
fn offline_database_refuses_invalid_records_naming_file_and_line() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("db");
    std::fs::create_dir_all(dir.join("nested")).unwrap();
    std::fs::write(
        dir.join("good.json"),
        serde_json::to_string(&fixture_json("osv/PYSEC-2023-74.json")).unwrap(),
    )
    .unwrap();
    std::fs::write(
        dir.join("nested/bad.json"),
        "{\n  \"id\": \"X-1\",\n  \"modified\": 12\n}\n",
    )
    .unwrap();
    let error = OsvDatabase::open(&dir).unwrap_err();
    match &error {
        SourceError::Record { location, line, .. } => {
            assert!(location.ends_with("nested/bad.json"), "{location}");
            assert_eq!(*line, 3);
        }
        other => panic!("expected a record error, got {other:?}"),
    }
    assert!(error.to_string().contains("bad.json:3:"), "{error}");

    let zip_path = temp.path().join("all.zip");
    {
        let file = std::fs::File::create(&zip_path).unwrap();
        let mut zip = zip::ZipWriter::new(file);
        let options = zip::write::SimpleFileOptions::default();
        zip.start_file("PYSEC-2023-74.json", options).unwrap();
        zip.write_all(
            fixture_json("osv/PYSEC-2023-74.json")
                .to_string()
                .as_bytes(),
        )
        .unwrap();
        zip.start_file("BROKEN-1.json", options).unwrap();
        zip.write_all(b"{\"id\": \"BROKEN-1\",").unwrap();
        zip.finish().unwrap();
    }
    let error = OsvDatabase::open(&zip_path).unwrap_err();
    assert!(
        error.to_string().contains("all.zip!BROKEN-1.json:1:"),
        "{error}"
    );

    let not_zip = temp.path().join("all.zip.txt");
    std::fs::write(&not_zip, "hello").unwrap();
    assert!(matches!(
        OsvDatabase::open(&not_zip),
        Err(SourceError::NotADatabase { .. })
    ));
    let fake_zip = temp.path().join("fake.zip");
    std::fs::write(&fake_zip, "not a zip").unwrap();
    assert!(matches!(
        OsvDatabase::open(&fake_zip),
        Err(SourceError::Zip { .. })
    ));
    assert!(matches!(
        OsvDatabase::open(&temp.path().join("missing")),
        Err(SourceError::Io { .. })
    ));
}

/// Expected scores computed independently with Red Hat's `cvss` Python library (3.6).
#[test]
fn cvss_base_scores_match_the_specification() {
    let v3 = [
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
        ("CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:H/I:N/A:N", 5.3),
        ("CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:C/C:H/I:N/A:N", 6.1),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", 7.5),
        ("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:N/I:N/A:H", 5.5),
        ("CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:H/I:H/A:N", 5.6),
        ("CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N", 1.6),
        ("CVSS:3.1/AV:A/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:L", 6.5),
        ("CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:C/C:H/I:H/A:H", 9.1),
        ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:N/I:N/A:N", 0.0),
        ("CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:C/C:L/I:L/A:N", 4.7),
        ("CVSS:3.1/AV:L/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H", 7.8),
        ("CVSS:3.1/AV:P/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", 4.6),
        ("CVSS:3.0/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H", 8.8),
        ("CVSS:3.0/AV:L/AC:L/PR:H/UI:N/S:C/C:H/I:H/A:H", 8.2),
    ];
    for (vector, expected) in v3 {
        assert_eq!(v3_base_score(vector).unwrap(), expected, "{vector}");
    }
    let v4 = [
        (
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            9.3,
        ),
        (
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:H/UI:N/VC:L/VI:L/VA:N/SC:N/SI:N/SA:N",
            5.1,
        ),
        (
            "CVSS:4.0/AV:N/AC:H/AT:P/PR:N/UI:P/VC:H/VI:N/VA:N/SC:N/SI:N/SA:N",
            6.0,
        ),
        (
            "CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            8.5,
        ),
    ];
    for (vector, expected) in v4 {
        assert_eq!(v4_score(vector).unwrap(), expected, "{vector}");
    }
    assert!(v4_score("CVSS:4.0/AV:N").is_err());
}

#[tokio::test]
async fn multi_megabyte_simple_pages_parse_off_the_runtime_thread() {
    let mut dataset = Dataset::new();
    let mut builder = dataset.package("huge-project").license("Apache-2.0");
    for i in 0..3000 {
        builder = builder.release(&format!("1.{i}.0"), "2024-01-01T00:00:00Z");
    }
    builder.add();
    let server = RegistryServer::start(dataset).await;
    let h = Harness::new(test_config());
    let pypi = PypiClient::new(h.http.clone(), &server.url());
    let facts = pypi
        .simple()
        .project("huge-project")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(facts.latest_version.as_deref(), Some("1.2999.0"));
    assert!(
        h.http.network_counters().bytes > 1024 * 1024,
        "the document is large"
    );
}

#[tokio::test]
async fn empty_batches_send_nothing_and_bad_base_urls_are_errors() {
    let server = RegistryServer::start(dataset()).await;
    let h = Harness::new(test_config());
    let osv = OsvClient::new(h.http.clone(), &server.url());
    assert!(osv.query_batch(&[]).await.is_empty());
    assert_eq!(server.stats().total, 0);

    let pypi = PypiClient::new(h.http.clone(), "not a url");
    let error = pypi.release("requests", "2.31.0").await.unwrap_err();
    assert!(
        matches!(error, FetchError::InvalidRequest { .. }),
        "{error:?}"
    );
}

#[test]
fn a_ca_bundle_without_certificates_is_refused() {
    for pem in [&b"not a certificate"[..], b""] {
        let config = HttpConfig {
            ca_bundle: Some(pem.to_vec()),
            ..test_config()
        };
        let (sender, _events) = mpsc::channel(8);
        let Err(error) = HttpClient::new(config, EventSink::new(sender), Arc::new(Tracker::new()))
        else {
            panic!("a CA bundle without certificates was accepted");
        };
        assert!(error.to_string().contains("CA bundle"), "{error}");
    }
}

#[tokio::test]
async fn conditional_get_sends_validators_only_to_their_url_and_a_plain_304_is_an_error() {
    use depdash::sources::FetchResult;
    let server = RegistryServer::start(dataset()).await;
    let h = Harness::new(test_config());
    let url = format!("{}/pypi/requests/2.31.0/json", server.url());
    let first = h
        .http
        .get_json_if::<Value>(SourceKind::Pypi, &url, "requests", None)
        .await
        .unwrap();
    let FetchResult::Found {
        validators: Some(validators),
        ..
    } = first
    else {
        panic!("a 200 with an ETag gives validators: {first:?}");
    };
    assert!(validators.etag.is_some() && validators.last_modified.is_some());
    assert_eq!(validators.url, url);

    let again = h
        .http
        .get_json_if::<Value>(SourceKind::Pypi, &url, "requests", Some(&validators))
        .await
        .unwrap();
    assert!(
        matches!(again, FetchResult::NotModified { .. }),
        "{again:?}"
    );
    let stats = server.stats();
    assert_eq!((stats.conditional, stats.not_modified), (1, 1));
    assert_eq!(h.http.network_counters().revalidated, 1);

    // Validators of another URL are not sent: a plain GET, a full answer.
    let other = format!("{}/simple/requests/", server.url());
    let plain = h
        .http
        .get_json_if::<Value>(
            SourceKind::PypiSimple,
            &other,
            "requests",
            Some(&validators),
        )
        .await
        .unwrap();
    assert!(matches!(plain, FetchResult::Found { .. }));
    assert_eq!(server.stats().conditional, 1);

    // A 304 to a request that carried no validators is an unexpected answer, not "unchanged".
    server.update_faults(|f| f.always_304 = true);
    let error = h
        .http
        .get_json::<Value>(SourceKind::Pypi, &url, "requests")
        .await
        .unwrap_err();
    assert!(error.to_string().contains("HTTP 304"), "{error}");
}
