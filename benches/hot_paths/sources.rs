//! Sources: CPU-side hot paths (CVSS scoring, OSV matching, offline lookups) and the network
//! layer against the loopback registry at 50 ms latency (how `HttpConfig::default().concurrency`
//! was chosen, and one vs two PyPI requests per package).

#[path = "../../tests/it/support/registry.rs"]
mod registry;
#[path = "../../tests/it/support/wire.rs"]
mod wire;

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use depdash::sources::cvss::v3_base_score;
use depdash::sources::{
    HttpClient, HttpConfig, OsvDatabase, OsvRecord, PypiClient, affects, to_vulnerability,
};
use depdash::telemetry::EventSink;
use depdash::telemetry::tracker::Tracker;
use futures_util::future::join_all;
use pep440_rs::Version;
use registry::{Dataset, Faults, RegistryServer};

const PACKAGES: usize = 180;
const LATENCY: Duration = Duration::from_millis(50);

fn fixture_db() -> OsvDatabase {
    OsvDatabase::open(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/osv"))
        .expect("fixture database opens")
}

#[divan::bench]
fn cvss_v3_base_score() -> f64 {
    v3_base_score(divan::black_box(
        "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:C/C:H/I:N/A:N",
    ))
    .unwrap_or_default()
}

#[divan::bench]
fn osv_affects_django_record(bencher: divan::Bencher) {
    let db = fixture_db();
    let record: &OsvRecord = db.get("GHSA-jh3w-4vvf-mjgr").expect("fixture present");
    let version = Version::from_str("4.1.9").expect("valid version");
    bencher.bench_local(|| affects(divan::black_box(record), "django", &version));
}

#[divan::bench]
fn osv_to_vulnerability(bencher: divan::Bencher) {
    let db = fixture_db();
    let record = db.get("GHSA-j8r2-6x86-q33q").expect("fixture present");
    bencher.bench_local(|| to_vulnerability(divan::black_box(record), "requests"));
}

#[divan::bench]
fn offline_db_query(bencher: divan::Bencher) {
    let db = fixture_db();
    let version = Version::from_str("2.30.0").expect("valid version");
    bencher.bench_local(|| db.query(divan::black_box("requests"), &version).len());
}

fn dataset() -> Dataset {
    let mut dataset = Dataset::new();
    for i in 0..PACKAGES {
        dataset
            .package(&format!("package-{i}"))
            .license("MIT")
            .release("1.0", "2023-01-01T00:00:00Z")
            .release("1.1", "2024-01-01T00:00:00Z")
            .add();
    }
    dataset
}

fn loopback(concurrency: usize) -> (tokio::runtime::Runtime, RegistryServer, PypiClient) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let server = runtime.block_on(RegistryServer::start(dataset()));
    server.set_faults(Faults {
        latency: LATENCY,
        ..Faults::default()
    });
    let http = HttpClient::new(
        HttpConfig {
            concurrency,
            ..HttpConfig::default()
        },
        EventSink::none(),
        Arc::new(Tracker::new()),
    )
    .expect("client");
    let pypi = PypiClient::new(http, &server.url());
    (runtime, server, pypi)
}

/// 180 `release` lookups (one request each) at 50 ms server latency.
#[divan::bench(args = [8, 16, 32, 64], sample_count = 3, sample_size = 1)]
fn pypi_180_releases_at_50ms(bencher: divan::Bencher, concurrency: usize) {
    let (runtime, _server, pypi) = loopback(concurrency);
    let names: Vec<String> = (0..PACKAGES).map(|i| format!("package-{i}")).collect();
    bencher.bench_local(|| {
        runtime.block_on(async { join_all(names.iter().map(|n| pypi.release(n, "1.0"))).await })
    });
}

/// The same with the per-version document as well (two requests per package).
#[divan::bench(sample_count = 3, sample_size = 1)]
fn pypi_180_releases_two_requests_each_at_50ms(bencher: divan::Bencher) {
    let (runtime, _server, pypi) = loopback(HttpConfig::default().concurrency);
    bencher.bench_local(|| {
        runtime.block_on(async {
            join_all((0..PACKAGES).map(|i| {
                let pypi = &pypi;
                async move {
                    let name = format!("package-{i}");
                    let license = pypi.release_license(&name, "1.0").await;
                    (pypi.release(&name, "1.0").await, license)
                }
            }))
            .await
        })
    });
}
