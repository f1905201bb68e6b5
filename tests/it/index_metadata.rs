//! Exact-release licenses from the index and every kind of Simple API, against the loopback
//! registry: core metadata files (PEP 658/714) offered on JSON and PEP 503 HTML pages, their
//! sha256 checked, the wheel's license files read with range requests; PEP 691 content
//! negotiation (the answer's `Content-Type` picks the parser). Real wheels' `.dist-info` from
//! `tests/fixtures/core-metadata`.

use std::path::Path;
use std::sync::Arc;

use depdash::model::ProjectState;
use depdash::sources::{FetchError, HttpClient, HttpConfig, PypiClient};
use depdash::telemetry::tracker::Tracker;
use serde_json::{Value, json};

use crate::cli::{Project, code, package, run, run_on_file, stderr};
use crate::support::registry::{Canned, Dataset, Faults, RegistryServer};

/// One real release: its core metadata and a wheel built around its `.dist-info`.
struct Release {
    name: String,
    version: String,
    metadata: Vec<u8>,
    wheel: Vec<u8>,
}

/// The fixture releases. Each wheel starts with an incompressible 96 KiB module, so its
/// `.dist-info` is not in the same range request as the archive's start.
fn releases() -> Vec<Release> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/core-metadata");
    let mut dirs: Vec<_> = (std::fs::read_dir(&root).unwrap())
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    dirs.iter()
        .map(|dir| {
            let metadata = std::fs::read(dir.join("METADATA")).unwrap();
            let meta = depdash::inventory::core_metadata::parse(&metadata).unwrap();
            let dist_info = dir.file_name().unwrap().to_str().unwrap().to_string();
            Release {
                name: meta.name.unwrap(),
                version: meta.version.unwrap(),
                wheel: wheel(dir, &dist_info),
                metadata,
            }
        })
        .collect()
}

fn wheel(dir: &Path, dist_info: &str) -> Vec<u8> {
    wheel_with_padding(dir, dist_info, 96 * 1024)
}

fn wheel_with_padding(dir: &Path, dist_info: &str, padding: usize) -> Vec<u8> {
    use std::io::Write;
    let mut out = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut out);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let noise: Vec<u8> = (0..padding)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    zip.start_file("pkg/_blob.bin", options).unwrap();
    zip.write_all(&noise).unwrap();
    let mut files = Vec::new();
    walk(dir, &mut files);
    files.sort();
    for file in files {
        let relative = file.strip_prefix(dir).unwrap().to_str().unwrap();
        zip.start_file(format!("{dist_info}/{relative}"), options)
            .unwrap();
        zip.write_all(&std::fs::read(&file).unwrap()).unwrap();
    }
    zip.finish().unwrap();
    out.into_inner()
}

fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// The registry's data as Warehouse builds it from each wheel's METADATA, with the core
/// metadata files offered and the wheels served.
fn dataset(releases: &[Release]) -> Dataset {
    let mut data = Dataset::new();
    for r in releases {
        let meta = depdash::inventory::core_metadata::parse(&r.metadata).unwrap();
        data.package(&r.name)
            .release(&r.version, "2024-03-01T12:00:00Z")
            .add();
        let info = json!({
            "license": meta.license,
            "license_expression": meta.license_expression,
            "classifiers": meta.license_classifiers,
        });
        data.release_info(&r.name, &r.version, info)
            .core_metadata(&r.name, &r.version, &r.metadata)
            .wheel(&r.name, &r.version, &r.wheel);
    }
    data
}

fn pins(releases: &[Release]) -> String {
    (releases.iter())
        .map(|r| format!("{}=={}\n", r.name, r.version))
        .collect()
}

fn license<'a>(report: &'a Value, name: &str) -> &'a Value {
    &package(report, name)["license"]
}

fn reason(report: &Value, name: &str) -> String {
    license(report, name)["unknown_reason"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// What the fixture wheels' license files say (checked by hand against the files).
fn assert_fixture_licenses(report: &Value) {
    assert_eq!(license(report, "jinja2")["expression"], "BSD-3-Clause");
    assert_eq!(license(report, "alabaster")["expression"], "BSD-3-Clause");
    assert_eq!(
        license(report, "python-dateutil")["expression"],
        "Apache-2.0 AND BSD-3-Clause"
    );
    let jinja = license(report, "jinja2");
    assert_eq!(jinja["source"], "pypi");
    let evidence = jinja["evidence"].as_str().unwrap();
    assert!(
        evidence.contains("jinja2-3.1.6-py3-none-any.whl on the index")
            && evidence.contains("licenses/LICENSE.txt"),
        "{evidence}"
    );
    // The wheel has no license file at all: unknown, naming every source tried.
    assert!(license(report, "sphinxcontrib-applehelp")["expression"].is_null());
    let why = reason(report, "sphinxcontrib-applehelp");
    assert!(
        why.contains("the index's release document states no specific license")
            && why.contains(
                "nor does the core metadata file of sphinxcontrib_applehelp-2.0.0-py3-none-any.whl"
            )
            && why.contains("the wheel has no license file"),
        "{why}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pinned_licenses_come_from_core_metadata_and_the_wheels_license_files() {
    let releases = releases();
    let wheel_bytes: usize = releases.iter().map(|r| r.wheel.len()).sum();
    let server = RegistryServer::start(dataset(&releases)).await;
    let p = Project::new();
    let requirements = p.write("requirements.txt", &pins(&releases));
    let (output, report) = run_on_file(&p, &server.url(), "-r", &requirements).await;
    assert!(matches!(code(&output), 0 | 3), "{}", stderr(&output));
    assert_fixture_licenses(&report);

    let stats = server.stats();
    // Per release: its document, then (no license in it) its page and core metadata file.
    assert_eq!(stats.pypi_version, 4);
    assert_eq!(stats.pypi_simple, 4);
    assert_eq!(stats.core_metadata, 4);
    // Only ranges of the wheels, and far from all their bytes: the tail (directory and
    // dist-info) of each of the four, nothing else.
    assert_eq!(stats.wheel_ranges.len(), 4, "{:?}", stats.wheel_ranges);
    assert!(stats.wheel_ranges.iter().all(|r| r == "bytes=-32768"));
    let sent = stats.bytes_sent["wheel"] as usize;
    assert!(sent < wheel_bytes * 2 / 3, "{sent} of {wheel_bytes}");

    // A second run answers from the cache: the core metadata outcome is cached with the release.
    server.reset_stats();
    let (_, again) = run_on_file(&p, &server.url(), "-r", &requirements).await;
    assert_fixture_licenses(&again);
    let stats = server.stats();
    assert_eq!((stats.pypi_version, stats.core_metadata), (0, 0));
    assert!(stats.wheel_ranges.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_html_only_index_without_the_json_api_gives_licenses_yanks_and_status() {
    let releases = releases();
    let mut data = dataset(&releases);
    data.package("old-pkg")
        .license("MIT")
        .yanked("1.0", "2020-01-01T00:00:00Z", Some("data loss"))
        .release("2.0", "2021-01-01T00:00:00Z")
        .add();
    data.project_status("old-pkg", "deprecated", Some("use new-pkg"));
    let server = RegistryServer::start(data).await;
    server.set_faults(Faults {
        simple_only: true,
        html_only: true,
        ..Faults::default()
    });
    let p = Project::new();
    let pinned = format!("{}old-pkg==1.0\n", pins(&releases));
    let requirements = p.write("requirements.txt", &pinned);
    let (output, report) = run_on_file(&p, &server.url(), "-r", &requirements).await;
    assert!(matches!(code(&output), 0 | 1 | 3), "{}", stderr(&output));
    assert_fixture_licenses(&report);
    let old = package(&report, "old-pkg");
    let yanked = (report["findings"].as_array().unwrap().iter())
        .find(|f| f["package"] == "old-pkg" && f["code"] == "yanked")
        .unwrap_or_else(|| panic!("no yanked finding: {}", report["findings"]));
    assert!(
        yanked["message"].as_str().unwrap().contains("data loss"),
        "{yanked}"
    );
    assert!(old["license"]["expression"].is_null());
    assert!(
        reason(&report, "old-pkg").contains("core metadata file: not offered by the index"),
        "{}",
        reason(&report, "old-pkg")
    );

    let stats = server.stats();
    // The JSON API is tried once per pin (404), then one HTML page per pin serves both the
    // release's facts and its files.
    assert_eq!(stats.pypi_version, 5);
    assert_eq!(stats.pypi_simple, 5);
    assert_eq!(stats.core_metadata, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_core_metadata_file_failing_its_sha256_is_unknown_with_the_reason() {
    let releases: Vec<Release> = (releases().into_iter())
        .filter(|r| r.name == "Jinja2")
        .collect();
    let mut data = dataset(&releases);
    data.core_metadata_sha256("Jinja2", "3.1.6", &"0".repeat(64));
    let server = RegistryServer::start(data).await;
    let p = Project::new();
    let requirements = p.write("requirements.txt", &pins(&releases));
    let (_, report) = run_on_file(&p, &server.url(), "-r", &requirements).await;
    assert!(license(&report, "jinja2")["expression"].is_null());
    let why = reason(&report, "jinja2");
    assert!(
        why.contains("jinja2-3.1.6-py3-none-any.whl does not match its sha256"),
        "{why}"
    );
    // Unverified metadata is not used, so the wheel is not read either.
    let stats = server.stats();
    assert_eq!(stats.core_metadata, 1);
    assert!(stats.wheel_ranges.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_ignoring_range_costs_at_most_the_wheel_budget() {
    let mut releases: Vec<Release> = (releases().into_iter())
        .filter(|r| r.name == "Jinja2" || r.name == "alabaster")
        .collect();
    // alabaster's wheel grows past the 4 MiB a wheel may cost (incompressible padding).
    let alabaster = releases.iter_mut().find(|r| r.name == "alabaster").unwrap();
    alabaster.wheel = {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/core-metadata/alabaster-1.0.0.dist-info");
        wheel_with_padding(&dir, "alabaster-1.0.0.dist-info", 5 * 1024 * 1024)
    };
    let server = RegistryServer::start(dataset(&releases)).await;
    server.set_faults(Faults {
        ignore_range: true,
        ..Faults::default()
    });
    let p = Project::new();
    let requirements = p.write("requirements.txt", &pins(&releases));
    let (_, report) = run_on_file(&p, &server.url(), "-r", &requirements).await;
    // A small wheel sent whole still tells its license.
    assert_eq!(license(&report, "jinja2")["expression"], "BSD-3-Clause");
    // A big one is cut at the budget: unknown, with the reason.
    assert!(license(&report, "alabaster")["expression"].is_null());
    let why = reason(&report, "alabaster");
    assert!(
        why.contains("the wheel's license files were not read") && why.contains("4 MiB limit"),
        "{why}"
    );
    let stats = server.stats();
    assert_eq!(stats.wheel_ranges.len(), 2, "{:?}", stats.wheel_ranges);
}

/// An installed wheel whose METADATA names no license (a local build), on an index without the
/// JSON API: the release's core metadata file answers, and the wheel is not read (an installed
/// wheel's license files are the ones already read locally).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_installed_package_without_a_license_gets_it_from_the_core_metadata_file() {
    let metadata =
        b"Metadata-Version: 2.4\nName: local-build\nVersion: 1.0\nLicense-Expression: MIT\n";
    let mut data = Dataset::new();
    data.package("local-build")
        .release("1.0", "2024-01-01T00:00:00Z")
        .add();
    data.core_metadata("local-build", "1.0", metadata);
    let server = RegistryServer::start(data).await;
    server.set_faults(Faults {
        simple_only: true,
        ..Faults::default()
    });
    let p = Project::new();
    let dist_info = p.site().join("local_build-1.0.dist-info");
    std::fs::create_dir(&dist_info).unwrap();
    std::fs::write(
        dist_info.join("METADATA"),
        "Metadata-Version: 2.1\nName: local-build\nVersion: 1.0\n",
    )
    .unwrap();
    let (_, report) = run(&p, &server.url(), "r.json", &[]).await;
    let found = license(&report, "local-build");
    assert_eq!(found["expression"], "MIT");
    assert_eq!(found["source"], "pypi");
    let stats = server.stats();
    assert_eq!(stats.core_metadata, 1);
    assert!(stats.wheel_ranges.is_empty());
}

fn client(server: &RegistryServer) -> PypiClient {
    let (sender, _events) = tokio::sync::mpsc::channel(10_000);
    let events = depdash::engine::events::EventSink::new(sender);
    let http = HttpClient::new(HttpConfig::default(), events, Arc::new(Tracker::new())).unwrap();
    PypiClient::new(http, &server.url())
}

#[tokio::test]
async fn the_answers_content_type_picks_the_simple_page_parser() {
    let mut data = Dataset::new();
    data.package("demo")
        .license("MIT")
        .yanked("1.0", "2020-01-01T00:00:00Z", Some("bad"))
        .release("1.1", "2021-01-01T00:00:00Z")
        .add();
    data.project_status("demo", "archived", None);
    let server = RegistryServer::start(data).await;
    let pypi = client(&server);
    // JSON (asked for first) and HTML (the index ignores Accept) tell the same facts, but only
    // JSON has upload times.
    let mut faults = Faults {
        simple_only: true,
        ..Faults::default()
    };
    server.set_faults(faults.clone());
    let from_json = pypi.release("demo", "1.0").await.unwrap();
    faults.html_only = true;
    server.set_faults(faults.clone());
    let from_html = pypi.release("demo", "1.0").await.unwrap();
    for info in [&from_json, &from_html] {
        assert!(info.on_index && info.yanked);
        assert_eq!(info.yanked_reason.as_deref(), Some("bad"));
        assert_eq!(info.latest_version.as_deref(), Some("1.1"));
        let status = info.project_status.as_ref().map(|s| s.status.clone());
        assert_eq!(status, Some(ProjectState::Archived));
    }
    assert!(from_json.upload_time.is_some());
    assert_eq!(from_html.upload_time, None, "HTML has no upload times");
    let why = from_html.no_upload_time.as_deref().unwrap();
    assert!(why.contains("only PEP 503 HTML"), "{why}");
    assert_eq!(from_json.no_upload_time, None);
    let html_facts = pypi.simple().project("demo").await.unwrap().unwrap();
    assert_eq!(html_facts.latest_version.as_deref(), Some("1.1"));

    // An answer that is neither is not understood: an error, never "no files".
    faults.path_prefix = Some("/simple/".into());
    for (content_type, body) in [
        (Some("text/plain"), "demo-1.0.tar.gz"),
        (None, r#"{"files": []}"#),
        (Some("text/html"), "no markup at all"),
    ] {
        faults.canned = Some(Canned::json(body));
        faults.canned_content_type = content_type;
        server.set_faults(faults.clone());
        let error = pypi.release("demo", "1.0").await.unwrap_err();
        assert!(
            matches!(error, FetchError::Malformed { .. }),
            "{content_type:?}: {error}"
        );
    }
}
