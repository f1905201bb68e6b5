//! Adversarial suite, network / database / cache half: loopback servers and a real
//! `redis-server` that misbehave on purpose. Every case asserts the exact outcome: the typed
//! error, or the binary's exit code with the unknown or finding and its reason. Nothing may end
//! as "clean" for an answer we did not understand, nothing may hang (every test is bounded by a
//! `tokio::time::timeout`), nothing may panic.
//!
//! Classes: OSV querybatch wrong shapes; advisory details unavailable; offline database that
//! is not one; cache forgery and corruption (files and Redis); bombs, stalls, black holes,
//! deadlines and redirects; name resolution.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use depdash::cache::{CacheConfig, CacheKey, Lookup, RedisSecret, TieredCache};
use depdash::engine::events::EventSink;
use depdash::sources::{FetchError, HttpClient, HttpConfig, OsvClient, OsvDatabase, PypiClient};
use depdash::telemetry::tracker::Tracker;
use serde_json::{Value, json};

use crate::support::redis::RedisServer;
use crate::support::registry::{Canned, Dataset, Faults, RegistryServer, advisory, gzip_bomb};

/// Upper bound of any single case: a hang fails the test instead of blocking the suite.
const CASE_LIMIT: Duration = Duration::from_secs(20);

async fn bounded<T>(future: impl Future<Output = T>) -> T {
    tokio::time::timeout(CASE_LIMIT, future)
        .await
        .expect("case exceeded its time bound (hang)")
}

/// Test-sized HTTP settings: short stall and connect timeouts, tiny backoffs, a breaker that
/// stays out of the way unless a case turns it on.
fn fast_config() -> HttpConfig {
    HttpConfig {
        concurrency: 8,
        connect_timeout: Duration::from_millis(500),
        stall_timeout: Duration::from_millis(300),
        request_timeout: Duration::from_secs(5),
        retries: 3,
        backoff_base: Duration::from_millis(1),
        backoff_max: Duration::from_millis(20),
        breaker_threshold: 1000,
        user_agent: "depdash-adversarial".to_string(),
        ..HttpConfig::default()
    }
}

fn client(config: HttpConfig) -> HttpClient {
    HttpClient::new(config, EventSink::none(), Arc::new(Tracker::new())).expect("client")
}

/// `demo-pkg` 1.0 (affected by GHSA-demo-0001) and `other-pkg` 2.0 (clean).
fn dataset() -> Dataset {
    let mut dataset = Dataset::new();
    for (name, version) in [("demo-pkg", "1.0"), ("other-pkg", "2.0")] {
        dataset
            .package(name)
            .license("MIT")
            .release(version, "2024-03-01T12:00:00Z")
            .add();
    }
    dataset.add_osv(advisory("GHSA-demo-0001", "demo-pkg", "1.0", "1.1"));
    dataset
}

fn queries() -> Vec<(String, String)> {
    vec![
        ("demo-pkg".to_string(), "1.0".to_string()),
        ("other-pkg".to_string(), "2.0".to_string()),
    ]
}

// ---------------------------------------------------------------------------------------------
// Running the binary.

/// A throwaway project pinned by a requirements file.
struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new(requirements: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("requirements.txt"), requirements).unwrap();
        Project { dir }
    }

    fn demo() -> Self {
        Project::new("demo-pkg==1.0\nother-pkg==2.0\n")
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.path(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, text).unwrap();
        path
    }

    /// `depdash check -r requirements.txt` with a private cache, JSON report to `report.json`.
    async fn check(&self, pypi: &str, osv: &str, extra: &[&str]) -> Run {
        let requirements = self.path("requirements.txt").display().to_string();
        let mut target = vec!["-r", requirements.as_str()];
        target.extend_from_slice(extra);
        self.check_target_args(&target, pypi, osv).await
    }

    /// Like [`check`](Self::check) on an environment directory.
    async fn check_target(&self, target: &str, pypi: &str, osv: &str, extra: &[&str]) -> Run {
        let mut args = vec![target];
        args.extend_from_slice(extra);
        self.check_target_args(&args, pypi, osv).await
    }

    async fn check_target_args(&self, target: &[&str], pypi: &str, osv: &str) -> Run {
        let mut args: Vec<String> = [
            "check",
            "--pypi-url",
            pypi,
            "--osv-url",
            osv,
            "--cache-dir",
            &self.path("cache").display().to_string(),
            "--no-history",
            "--format",
            "json",
            "--output",
            &self.path("report.json").display().to_string(),
            "--progress",
            "never",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(target.iter().map(|s| s.to_string()));
        let _ = std::fs::remove_file(self.path("report.json"));
        let output = depdash(&args, &[]).await;
        let report = std::fs::read_to_string(self.path("report.json"))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or(Value::Null);
        Run { output, report }
    }
}

struct Run {
    output: Output,
    report: Value,
}

impl Run {
    fn code(&self) -> i32 {
        self.output.status.code().expect("exit code")
    }

    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    /// The reason of the `check` unknown for `package`, if any.
    fn unknown(&self, package: &str, check: &str) -> Option<String> {
        self.report["unknowns"]
            .as_array()?
            .iter()
            .find(|u| u["check"] == check && u["package"] == package)
            .map(|u| u["reason"].as_str().unwrap_or_default().to_string())
    }

    /// Messages of error-severity `vulnerability` findings for `package`.
    fn violations(&self, package: &str) -> Vec<String> {
        self.report["findings"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|f| {
                f["code"] == "vulnerability" && f["severity"] == "error" && f["package"] == package
            })
            .map(|f| f["message"].as_str().unwrap_or_default().to_string())
            .collect()
    }
}

/// Run the binary with `env` set; never inherits the developer's depdash/pip variables.
async fn depdash(args: &[String], env: &[(&str, &str)]) -> Output {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_depdash"));
    command.args(args).env("NO_COLOR", "1");
    for (key, _) in std::env::vars() {
        if key.starts_with("DEPDASH_") || key.starts_with("PIP_") {
            command.env_remove(key);
        }
    }
    for (key, value) in env {
        command.env(key, value);
    }
    command.kill_on_drop(true);
    bounded(command.output()).await.expect("run depdash")
}

// ---------------------------------------------------------------------------------------------
// Class 1: OSV querybatch answers of the wrong shape. Every one is an error for every query it
// answers, never "no advisories".

/// Serve `body` for querybatch and ask for both packages: every result must be `Malformed`
/// (or another error), none may be `Ok`.
async fn querybatch_answer_is_refused(body: &str) -> Vec<FetchError> {
    let server = RegistryServer::start(dataset()).await;
    server.set_faults(Faults {
        path_prefix: Some("/v1/querybatch".into()),
        canned: Some(Canned::json(body)),
        ..Faults::default()
    });
    let osv = OsvClient::new(client(fast_config()), &server.url());
    let results = bounded(osv.query_batch(&queries())).await;
    assert_eq!(results.len(), 2);
    results
        .into_iter()
        .map(|r| match r {
            Ok(ids) => panic!("answer {body:?} was taken as advisories {ids:?}"),
            Err(e) => e,
        })
        .collect()
}

fn assert_malformed(errors: &[FetchError], needle: &str) {
    for error in errors {
        match error {
            FetchError::Malformed { detail, .. } => {
                assert!(detail.contains(needle), "{detail:?} lacks {needle:?}")
            }
            other => panic!("expected a malformed answer, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn querybatch_without_results_is_malformed() {
    assert_malformed(
        &querybatch_answer_is_refused("{}").await,
        "missing field `results`",
    );
}

#[tokio::test]
async fn querybatch_with_null_results_is_malformed() {
    assert_malformed(
        &querybatch_answer_is_refused(r#"{"results": null}"#).await,
        "invalid type: null",
    );
}

#[tokio::test]
async fn querybatch_with_too_few_results_is_malformed() {
    assert_malformed(
        &querybatch_answer_is_refused(r#"{"results": [{}]}"#).await,
        "1 results for 2 queries",
    );
}

#[tokio::test]
async fn querybatch_with_results_for_packages_not_asked_is_malformed() {
    assert_malformed(
        &querybatch_answer_is_refused(r#"{"results": [{}, {}, {"vulns": [{"id": "X-1", "modified": "2024-01-01T00:00:00Z"}]}]}"#).await,
        "3 results for 2 queries",
    );
}

#[tokio::test]
async fn querybatch_ids_under_an_unexpected_key_are_malformed() {
    assert_malformed(
        &querybatch_answer_is_refused(r#"{"results": [{"ids": ["GHSA-demo-0001"]}, {}]}"#).await,
        "unknown field `ids`",
    );
}

#[tokio::test]
async fn querybatch_vulns_of_the_wrong_type_are_malformed() {
    assert_malformed(
        &querybatch_answer_is_refused(r#"{"results": [{"vulns": "GHSA-demo-0001"}, {}]}"#).await,
        "invalid type: string",
    );
}

#[tokio::test]
async fn querybatch_numeric_advisory_id_is_malformed() {
    assert_malformed(
        &querybatch_answer_is_refused(
            r#"{"results": [{"vulns": [{"id": 7, "modified": "2024-01-01T00:00:00Z"}]}, {}]}"#,
        )
        .await,
        "invalid type: integer",
    );
}

#[tokio::test]
async fn querybatch_advisory_without_modified_is_malformed() {
    assert_malformed(
        &querybatch_answer_is_refused(
            r#"{"results": [{"vulns": [{"id": "GHSA-demo-0001"}]}, {}]}"#,
        )
        .await,
        "missing field `modified`",
    );
}

#[tokio::test]
async fn querybatch_advisory_with_an_empty_id_is_malformed() {
    assert_malformed(
        &querybatch_answer_is_refused(
            r#"{"results": [{"vulns": [{"id": " ", "modified": "2024-01-01T00:00:00Z"}]}, {}]}"#,
        )
        .await,
        "empty id",
    );
}

#[tokio::test]
async fn querybatch_with_an_unknown_top_level_field_is_malformed() {
    assert_malformed(
        &querybatch_answer_is_refused(r#"{"results": [{}, {}], "error": "partial outage"}"#).await,
        "unknown field `error`",
    );
}

#[tokio::test]
async fn querybatch_results_as_an_object_is_malformed() {
    assert_malformed(
        &querybatch_answer_is_refused(r#"{"results": {"0": {}, "1": {}}}"#).await,
        "invalid type: map",
    );
}

#[tokio::test]
async fn querybatch_answer_as_a_bare_array_is_malformed() {
    assert_malformed(
        &querybatch_answer_is_refused("[{}, {}]").await,
        "invalid type",
    );
}

#[tokio::test]
async fn querybatch_answer_as_positional_arrays_is_malformed() {
    // serde reads a struct from an array positionally: `[[[]]]` would be
    // `{"results": [{}]}`, "no advisories". Only objects are accepted.
    assert_malformed(
        &querybatch_answer_is_refused("[[[]], [[]]]").await,
        "expected a JSON object",
    );
}

#[tokio::test]
async fn querybatch_empty_body_is_malformed() {
    assert_malformed(&querybatch_answer_is_refused("").await, "EOF");
}

#[tokio::test]
async fn querybatch_html_error_page_with_200_is_malformed() {
    assert_malformed(
        &querybatch_answer_is_refused("<html><body>Service Unavailable</body></html>").await,
        "expected value",
    );
}

#[tokio::test]
async fn querybatch_numeric_page_token_is_malformed() {
    assert_malformed(
        &querybatch_answer_is_refused(r#"{"results": [{"next_page_token": 2}, {}]}"#).await,
        "invalid type: integer",
    );
}

#[tokio::test]
async fn querybatch_page_token_that_never_ends_is_malformed_not_truncated() {
    // Every page names the next one: after the page limit the queries are errors.
    let errors = querybatch_answer_is_refused(
        r#"{"results": [{"vulns": [{"id": "GHSA-x", "modified": "2024-01-01T00:00:00Z"}], "next_page_token": "again"}, {"next_page_token": "again"}]}"#,
    )
    .await;
    assert_malformed(&errors, "still paginating after 100 pages");
}

#[tokio::test]
async fn querybatch_nested_ten_thousand_deep_is_malformed_without_overflow() {
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let body = format!(r#"{{"results": [{{"vulns": {deep}}}, {{}}]}}"#);
    assert_malformed(
        &querybatch_answer_is_refused(&body).await,
        "invalid type: sequence",
    );
}

#[tokio::test]
async fn advisory_record_nested_past_the_recursion_limit_is_malformed() {
    // Free-form `database_specific` is parsed as a JSON value: serde_json's recursion limit
    // (128) answers before the stack is at risk.
    let mut record = advisory("GHSA-demo-0001", "demo-pkg", "1.0", "1.1").to_string();
    record.pop();
    let body = format!(
        r#"{record}, "database_specific": {{"x": {}{}}}}}"#,
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let server = RegistryServer::start(dataset()).await;
    server.set_faults(Faults {
        path_prefix: Some("/v1/vulns/".into()),
        canned: Some(Canned::json(&body)),
        ..Faults::default()
    });
    let osv = OsvClient::new(client(fast_config()), &server.url());
    let error = bounded(osv.vuln("GHSA-demo-0001")).await.unwrap_err();
    assert!(
        matches!(&error, FetchError::Malformed { detail, .. } if detail.contains("recursion limit exceeded")),
        "{error:?}"
    );
}

#[tokio::test]
async fn querybatch_wrong_shape_is_an_unknown_with_the_reason_and_exit_3() {
    let server = RegistryServer::start(dataset()).await;
    server.set_faults(Faults {
        path_prefix: Some("/v1/querybatch".into()),
        canned: Some(Canned::json(
            r#"{"results": [{"ids": ["GHSA-demo-0001"]}, {}]}"#,
        )),
        ..Faults::default()
    });
    let p = Project::demo();
    let run = p.check(&server.url(), &server.url(), &[]).await;
    assert_eq!(run.code(), 3, "{}", run.stderr());
    assert_eq!(run.report["summary"]["outcome"], "incomplete");
    for package in ["demo-pkg", "other-pkg"] {
        let reason = run.unknown(package, "vulnerabilities").expect(package);
        assert!(
            reason.contains("malformed answer") && reason.contains("unknown field `ids`"),
            "{reason}"
        );
    }
}

#[tokio::test]
async fn querybatch_mis_sized_results_fail_closed_even_with_unknown_allowed() {
    // `unknown = "allow"`: the run passes, but the packages are still reported unknown, never
    // reported as checked-clean.
    let server = RegistryServer::start(dataset()).await;
    server.set_faults(Faults {
        path_prefix: Some("/v1/querybatch".into()),
        canned: Some(Canned::json(r#"{"results": []}"#)),
        ..Faults::default()
    });
    let p = Project::demo();
    let policy = p.write("depdash.toml", "[vulnerabilities]\nunknown = \"allow\"\n");
    let run = p
        .check(
            &server.url(),
            &server.url(),
            &["--config", &policy.display().to_string()],
        )
        .await;
    let reason = run.unknown("demo-pkg", "vulnerabilities").expect("unknown");
    assert!(reason.contains("0 results for 2 queries"), "{reason}");
    assert!(run.violations("demo-pkg").is_empty());
    assert_eq!(run.code(), 0, "{}", run.stderr());
}

// ---------------------------------------------------------------------------------------------
// Class 2: advisory details that cannot be fetched. The ids OSV named stay violations under
// every `vulnerabilities.unknown` setting.

async fn details_unavailable_case(faults: Faults, unknown: &str) -> Run {
    let server = RegistryServer::start(dataset()).await;
    server.set_faults(Faults {
        path_prefix: Some("/v1/vulns/".into()),
        ..faults
    });
    let p = Project::demo();
    let policy = p.write(
        "depdash.toml",
        &format!("[vulnerabilities]\nunknown = \"{unknown}\"\n"),
    );
    p.check(
        &server.url(),
        &server.url(),
        &["--config", &policy.display().to_string(), "--retries", "1"],
    )
    .await
}

fn assert_details_unavailable(run: &Run, cause: &str) {
    assert_eq!(run.code(), 1, "{}", run.stderr());
    let violations = run.violations("demo-pkg");
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert!(
        violations[0].starts_with("GHSA-demo-0001: details unavailable")
            && violations[0].contains(cause),
        "{violations:?}"
    );
    assert!(run.violations("other-pkg").is_empty());
}

/// Every advisory record answers 500: the id OSV named is a violation whatever the
/// `unknown` setting.
async fn details_500_stay_a_violation(unknown: &str) {
    let failing = Faults {
        fail_rate: 1.0,
        fail_status: 500,
        ..Faults::default()
    };
    let run = details_unavailable_case(failing, unknown).await;
    assert_details_unavailable(&run, "HTTP 500");
}

#[tokio::test]
async fn advisory_details_500_stay_a_violation_when_unknown_is_deny() {
    details_500_stay_a_violation("deny").await;
}

#[tokio::test]
async fn advisory_details_500_stay_a_violation_when_unknown_is_allow() {
    details_500_stay_a_violation("allow").await;
}

#[tokio::test]
async fn advisory_details_500_stay_a_violation_when_unknown_is_warn() {
    details_500_stay_a_violation("warn").await;
}

#[tokio::test]
async fn advisory_details_truncated_json_stay_a_violation() {
    let run = details_unavailable_case(
        Faults {
            malformed: true,
            ..Faults::default()
        },
        "allow",
    )
    .await;
    assert_details_unavailable(&run, "malformed answer");
}

#[tokio::test]
async fn advisory_details_for_another_id_stay_a_violation() {
    let record = advisory("GHSA-other-9999", "demo-pkg", "1.0", "1.1");
    let run = details_unavailable_case(canned(Canned::json(&record.to_string())), "allow").await;
    assert_details_unavailable(&run, "answer is advisory GHSA-other-9999");
}

#[tokio::test]
async fn advisory_details_404_stay_a_violation() {
    let not_found = Canned {
        status: 404,
        body: Bytes::from_static(b"{}"),
        gzip: false,
    };
    let run = details_unavailable_case(canned(not_found), "allow").await;
    assert_details_unavailable(&run, "not found (HTTP 404)");
}

#[tokio::test]
async fn non_pep440_version_is_unknown_online_exactly_as_offline() {
    let server = RegistryServer::start(dataset()).await;
    let p = Project::demo();
    // An installed environment: a dist-info whose version is not PEP 440.
    for (dir, name, version) in [
        ("demo_pkg-1.0.dist-info", "demo-pkg", "1.0"),
        ("odd_pkg-banana.dist-info", "odd-pkg", "banana"),
    ] {
        p.write(
            &format!("site/{dir}/METADATA"),
            &format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nLicense: MIT\n"),
        );
    }
    std::fs::write(p.path("requirements.txt"), "").unwrap();
    let site = p.path("site").display().to_string();
    let online = p
        .check_target(&site, &server.url(), &server.url(), &[])
        .await;
    let db = p.path("osvdb");
    std::fs::create_dir_all(&db).unwrap();
    std::fs::write(
        db.join("GHSA-demo-0001.json"),
        advisory("GHSA-demo-0001", "demo-pkg", "1.0", "1.1").to_string(),
    )
    .unwrap();
    let offline = p
        .check_target(
            &site,
            &server.url(),
            &server.url(),
            &["--osv-db", &db.display().to_string(), "--no-registry"],
        )
        .await;
    let online_reason = online
        .unknown("odd-pkg", "vulnerabilities")
        .expect("online");
    let offline_reason = offline
        .unknown("odd-pkg", "vulnerabilities")
        .expect("offline");
    assert!(online_reason.contains("is not PEP 440"), "{online_reason}");
    assert_eq!(online_reason, offline_reason);
    // The known advisory of the other package still counts: violations win over unknowns.
    assert_eq!(online.code(), 1, "{}", online.stderr());
    assert_eq!(offline.code(), 1, "{}", offline.stderr());
    // OSV was never asked about the version it could not have matched.
    assert_eq!(server.stats().querybatch_sizes, vec![1]);
}

// ---------------------------------------------------------------------------------------------
// Class 3: an offline database must prove it is one (exit 2, precise message).

async fn offline_run(p: &Project, db: &Path) -> Run {
    p.check(
        "http://127.0.0.1:9",
        "http://127.0.0.1:9",
        &["--osv-db", &db.display().to_string(), "--no-registry"],
    )
    .await
}

fn write_zip(path: &Path, entries: &[(&str, String)]) {
    let file = std::fs::File::create(path).unwrap();
    let mut zip = zip::ZipWriter::new(file);
    for (name, text) in entries {
        zip.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        std::io::Write::write_all(&mut zip, text.as_bytes()).unwrap();
    }
    zip.finish().unwrap();
}

fn npm_record(id: &str) -> String {
    json!({
        "id": id, "modified": "2026-01-01T00:00:00Z",
        "affected": [{"package": {"ecosystem": "npm", "name": "left-pad"}, "versions": ["1.0.0"]}]
    })
    .to_string()
}

fn assert_not_a_database(run: &Run, detail: &str) {
    assert_eq!(run.code(), 2, "{}", run.stderr());
    let stderr = run.stderr();
    assert!(
        stderr.contains("not an OSV database for PyPI") && stderr.contains(detail),
        "{stderr}"
    );
    assert_eq!(run.report, Value::Null, "no report for a refused database");
}

#[tokio::test]
async fn empty_database_directory_is_refused() {
    let p = Project::demo();
    let db = p.path("db");
    std::fs::create_dir_all(&db).unwrap();
    assert_not_a_database(&offline_run(&p, &db).await, "no OSV JSON records in it");
}

#[tokio::test]
async fn database_directory_without_json_is_refused() {
    let p = Project::demo();
    p.write("db/README.txt", "advisories go here");
    p.write("db/nested/data.csv", "id,package\n");
    assert_not_a_database(
        &offline_run(&p, &p.path("db")).await,
        "no OSV JSON records in it",
    );
}

/// A database directory holding `files` is refused with `detail`.
async fn database_directory_is_refused(files: &[(&str, String)], detail: &str) {
    let p = Project::demo();
    for (name, text) in files {
        p.write(&format!("db/{name}"), text);
    }
    assert_not_a_database(&offline_run(&p, &p.path("db")).await, detail);
}

#[tokio::test]
async fn database_of_another_ecosystem_is_refused() {
    database_directory_is_refused(
        &[
            ("GHSA-npm-1.json", npm_record("GHSA-npm-1")),
            ("GHSA-npm-2.json", npm_record("GHSA-npm-2")),
        ],
        "2 JSON record(s), none about a PyPI package (ecosystems: npm)",
    )
    .await;
}

#[tokio::test]
async fn database_records_without_affected_packages_are_refused() {
    let bare = r#"{"id": "X-1", "modified": "2026-01-01T00:00:00Z"}"#.to_string();
    database_directory_is_refused(
        &[("X-1.json", bare)],
        "none about a PyPI package (no ecosystem named)",
    )
    .await;
}

/// The demo project with a database directory holding one valid record, so what a test adds
/// beside it is the only thing wrong (or the only other thing counted).
fn project_with_one_valid_record() -> Project {
    let p = Project::demo();
    p.write(
        "db/GHSA-demo-0001.json",
        &advisory("GHSA-demo-0001", "demo-pkg", "1.0", "1.1").to_string(),
    );
    p
}

#[tokio::test]
async fn database_with_an_unparseable_record_is_refused_with_its_location() {
    let p = project_with_one_valid_record();
    p.write("db/broken.json", "{\"id\": \"B-1\",\n \"modified\": 5}");
    let run = offline_run(&p, &p.path("db")).await;
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(
        run.stderr().contains("broken.json:2:") && run.stderr().contains("invalid OSV record"),
        "{}",
        run.stderr()
    );
}

#[tokio::test]
async fn empty_database_zip_is_refused() {
    let p = Project::demo();
    let zip = p.path("all.zip");
    write_zip(&zip, &[]);
    assert_not_a_database(&offline_run(&p, &zip).await, "no OSV JSON records in it");
}

#[tokio::test]
async fn database_zip_of_go_records_is_refused() {
    let p = Project::demo();
    let zip = p.path("all.zip");
    let go = json!({
        "id": "GO-1", "modified": "2026-01-01T00:00:00Z",
        "affected": [{"package": {"ecosystem": "Go", "name": "example.com/m"}}]
    });
    write_zip(&zip, &[("GO-1.json", go.to_string())]);
    assert_not_a_database(
        &offline_run(&p, &zip).await,
        "1 JSON record(s), none about a PyPI package (ecosystems: Go)",
    );
}

#[tokio::test]
async fn future_modified_dates_do_not_make_a_database_fresh() {
    let p = Project::demo();
    let mut old = advisory("GHSA-demo-0001", "demo-pkg", "1.0", "1.1");
    old["modified"] = json!("2020-01-01T00:00:00Z");
    let mut future = advisory("GHSA-future-1", "other-pkg", "0.1", "0.2");
    future["modified"] = json!("2999-01-01T00:00:00Z");
    p.write("db/a.json", &old.to_string());
    p.write("db/b.json", &future.to_string());
    p.write("depdash.toml", "[vulnerabilities]\nmax_db_age = \"7d\"\n");
    let run = p
        .check(
            "http://127.0.0.1:9",
            "http://127.0.0.1:9",
            &[
                "--osv-db",
                &p.path("db").display().to_string(),
                "--no-registry",
                "--config",
                &p.path("depdash.toml").display().to_string(),
            ],
        )
        .await;
    // The stale database makes the run incomplete; the advisory it does hold still counts.
    assert_eq!(run.code(), 1, "{}", run.stderr());
    let stale = run.report["unknowns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["package"].is_null())
        .expect("run-level unknown");
    assert!(
        stale["reason"]
            .as_str()
            .unwrap()
            .contains("older than vulnerabilities.max_db_age"),
        "{stale}"
    );
    crate::schema::assert_matches_schema(&run.report);
    let db = &run.report["vulnerability_database"];
    assert_eq!(db["records"], 2);
    assert_eq!(db["pypi_records"], 2);
    assert_eq!(db["newest_modified"], "2020-01-01T00:00:00Z");
    assert!(db["age_seconds"].as_u64().unwrap() > 5 * 365 * 86_400);
}

#[tokio::test]
async fn database_source_count_and_age_are_in_the_text_report() {
    let p = project_with_one_valid_record();
    p.write("db/npm.json", &npm_record("GHSA-npm-1"));
    let args: Vec<String> = [
        "check",
        "-r",
        &p.path("requirements.txt").display().to_string(),
        "--osv-db",
        &p.path("db").display().to_string(),
        "--no-registry",
        "--no-cache",
        "--no-history",
        "--progress",
        "never",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let output = depdash(&args, &[]).await;
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with("vulnerability database: "))
        .unwrap_or_else(|| panic!("no database line in:\n{text}"));
    assert!(
        line.contains(&p.path("db").display().to_string())
            && line.contains("(2 records, 1 about PyPI, ")
            && line.ends_with("h old)"),
        "{line}"
    );
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn database_counts_only_records_naming_pypi() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.json"),
        advisory("GHSA-demo-0001", "demo-pkg", "1.0", "1.1").to_string(),
    )
    .unwrap();
    std::fs::write(dir.path().join("b.json"), npm_record("GHSA-npm-1")).unwrap();
    let db = OsvDatabase::open(dir.path()).unwrap();
    assert_eq!((db.len(), db.pypi_records()), (2, 1));
}

// ---------------------------------------------------------------------------------------------
// Class 4: cache forgery and corruption. A crafted entry is a miss that is deleted, never a
// panic; Redis entries must carry the fleet's signature.

const HOUR: Duration = Duration::from_secs(3600);

fn cache_config(dir: &Path) -> CacheConfig {
    CacheConfig {
        dir: Some(dir.to_path_buf()),
        memory_entries: 0,
        redis_secret: RedisSecret::new("fleet-secret-for-tests"),
        ..CacheConfig::default()
    }
}

async fn open_cache(config: &CacheConfig) -> TieredCache {
    TieredCache::open(config, EventSink::none(), Arc::new(Tracker::new()))
        .await
        .expect("cache")
}

fn demo_key() -> CacheKey {
    CacheKey::pypi("https://pypi.example", "demo-pkg", "1.0")
}

/// A well-formed envelope for `key` with its header fields overwritten by `patch`.
fn crafted_entry(key: &CacheKey, patch: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut bytes = depdash::cache::entry::encode(key.as_str(), 1, HOUR, b"{\"on_index\":true}");
    patch(&mut bytes);
    bytes
}

async fn crafted_file_entry_is_a_deleted_miss(patch: impl FnOnce(&mut Vec<u8>)) {
    let dir = tempfile::tempdir().unwrap();
    let key = demo_key();
    let path = dir.path().join(key.file_name());
    std::fs::write(&path, crafted_entry(&key, patch)).unwrap();
    let cache = open_cache(&cache_config(dir.path())).await;
    assert_eq!(bounded(cache.get(&key)).await, Lookup::Miss);
    assert!(!path.exists(), "crafted entry left in place");
}

#[tokio::test]
async fn cache_entry_with_a_payload_length_that_overflows_is_a_deleted_miss() {
    crafted_file_entry_is_a_deleted_miss(|b| b[28..36].copy_from_slice(&u64::MAX.to_le_bytes()))
        .await;
}

#[tokio::test]
async fn cache_entry_with_a_key_length_past_the_end_is_a_deleted_miss() {
    crafted_file_entry_is_a_deleted_miss(|b| b[10..12].copy_from_slice(&u16::MAX.to_le_bytes()))
        .await;
}

#[tokio::test]
async fn cache_entry_cut_inside_its_header_is_a_deleted_miss() {
    crafted_file_entry_is_a_deleted_miss(|b| b.truncate(30)).await;
}

#[tokio::test]
async fn cache_entry_with_a_forged_ttl_fails_its_checksum() {
    crafted_file_entry_is_a_deleted_miss(|b| b[20..28].copy_from_slice(&u64::MAX.to_le_bytes()))
        .await;
}

#[tokio::test]
async fn cache_commands_survive_crafted_entries() {
    let dir = tempfile::tempdir().unwrap();
    let key = demo_key();
    let overflow = crafted_entry(&key, |b| b[28..36].copy_from_slice(&u64::MAX.to_le_bytes()));
    std::fs::write(dir.path().join(key.file_name()), &overflow).unwrap();
    let other = CacheKey::pypi("https://pypi.example", "other-pkg", "2.0");
    let cut = crafted_entry(&other, |b| b.truncate(40));
    std::fs::write(dir.path().join(other.file_name()), &cut).unwrap();
    let dir_arg = dir.path().display().to_string();
    let stats = depdash(
        &[
            "cache".into(),
            "stats".into(),
            "--cache-dir".into(),
            dir_arg.clone(),
        ],
        &[],
    )
    .await;
    assert_eq!(stats.status.code(), Some(0), "{stats:?}");
    assert!(
        String::from_utf8_lossy(&stats.stdout).contains("0 expired, 2 unreadable"),
        "{}",
        String::from_utf8_lossy(&stats.stdout)
    );
    let prune = depdash(
        &[
            "cache".into(),
            "prune".into(),
            "--cache-dir".into(),
            dir_arg,
        ],
        &[],
    )
    .await;
    assert_eq!(prune.status.code(), Some(0), "{prune:?}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[cfg(unix)]
#[tokio::test]
async fn world_writable_cache_directory_is_refused_and_the_run_goes_on() {
    use std::os::unix::fs::PermissionsExt;
    let server = RegistryServer::start(dataset()).await;
    let p = Project::demo();
    let cache = p.path("cache");
    std::fs::create_dir_all(&cache).unwrap();
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o777)).unwrap();
    let run = p.check(&server.url(), &server.url(), &[]).await;
    assert_eq!(run.code(), 1, "{}", run.stderr());
    assert!(
        run.stderr()
            .contains("writable by everyone (mode 777); refusing it")
            && run.stderr().contains("file cache skipped"),
        "{}",
        run.stderr()
    );
    assert_eq!(run.violations("demo-pkg").len(), 1);
    assert_eq!(
        std::fs::read_dir(&cache).unwrap().count(),
        0,
        "nothing written"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn group_writable_cache_directory_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o770)).unwrap();
    let cache = open_cache(&cache_config(dir.path())).await;
    assert_eq!(cache.dir(), None, "file level refused");
    cache.put(&demo_key(), b"{}", HOUR).await;
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[cfg(unix)]
#[tokio::test]
async fn cache_directory_owned_by_another_user_is_refused() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    // Only root can give a directory away; elsewhere the case cannot be built.
    if std::os::unix::fs::chown(dir.path(), Some(65_534), None).is_err() {
        eprintln!("SKIPPED: cannot chown (not root)");
        return;
    }
    assert_eq!(std::fs::metadata(dir.path()).unwrap().uid(), 65_534);
    let cache = open_cache(&cache_config(dir.path())).await;
    assert_eq!(cache.dir(), None, "file level refused");
}

/// Redis cases: a real server, raw values written behind depdash's back.
async fn redis_or_skip() -> Option<RedisServer> {
    let server = RedisServer::start();
    if server.is_none() {
        eprintln!("SKIPPED: no redis-server installed");
    }
    server
}

async fn raw_redis(server: &RedisServer) -> redis::aio::MultiplexedConnection {
    redis::Client::open(server.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

async fn redis_set(server: &RedisServer, key: &str, value: &[u8]) {
    let mut connection = raw_redis(server).await;
    let _: () = redis::cmd("SET")
        .arg(key)
        .arg(value)
        .query_async(&mut connection)
        .await
        .unwrap();
}

async fn redis_exists(server: &RedisServer, key: &str) -> bool {
    let mut connection = raw_redis(server).await;
    redis::cmd("EXISTS")
        .arg(key)
        .query_async::<i64>(&mut connection)
        .await
        .unwrap()
        == 1
}

/// A forged Redis value is a miss, is deleted from Redis and never reaches the file level.
async fn forged_redis_value_is_refused(value: impl FnOnce(&CacheKey) -> Vec<u8>) {
    let Some(server) = redis_or_skip().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let key = demo_key();
    redis_set(&server, key.as_str(), &value(&key)).await;
    let cache = open_cache(&CacheConfig {
        redis_url: Some(server.url()),
        ..cache_config(dir.path())
    })
    .await;
    assert_eq!(bounded(cache.get(&key)).await, Lookup::Miss);
    assert!(
        !redis_exists(&server, key.as_str()).await,
        "forged value kept"
    );
    assert!(!dir.path().join(key.file_name()).exists(), "promoted");
    assert_eq!(cache.counters().levels["redis"].corrupt_repaired, 1);
}

fn fresh_envelope(key: &CacheKey) -> Vec<u8> {
    depdash::cache::entry::encode(
        key.as_str(),
        depdash::cache::entry::unix_now(),
        HOUR,
        b"{\"on_index\":true,\"yanked\":false}",
    )
}

#[tokio::test]
async fn unsigned_redis_entry_is_a_deleted_miss_never_promoted() {
    forged_redis_value_is_refused(fresh_envelope).await;
}

#[tokio::test]
async fn redis_entry_signed_with_another_key_is_a_deleted_miss() {
    forged_redis_value_is_refused(|key| {
        depdash::cache::redis::sign(b"attacker-secret", key.as_str(), &fresh_envelope(key))
    })
    .await;
}

#[tokio::test]
async fn redis_entry_signed_for_another_key_is_a_deleted_miss() {
    forged_redis_value_is_refused(|key| {
        let other = CacheKey::pypi("https://pypi.example", "other-pkg", "2.0");
        depdash::cache::redis::sign(
            b"fleet-secret-for-tests",
            other.as_str(),
            &fresh_envelope(key),
        )
    })
    .await;
}

#[tokio::test]
async fn truncated_signed_redis_entry_is_a_deleted_miss() {
    forged_redis_value_is_refused(|key| {
        let mut value = depdash::cache::redis::sign(
            b"fleet-secret-for-tests",
            key.as_str(),
            &fresh_envelope(key),
        );
        value.truncate(20);
        value
    })
    .await;
}

#[tokio::test]
async fn signed_redis_entry_with_a_tampered_payload_is_a_deleted_miss() {
    forged_redis_value_is_refused(|key| {
        let mut value = depdash::cache::redis::sign(
            b"fleet-secret-for-tests",
            key.as_str(),
            &fresh_envelope(key),
        );
        let last = value.len() - 2;
        value[last] ^= 0x20;
        value
    })
    .await;
}

#[tokio::test]
async fn redis_entry_never_outlives_our_ttl_locally() {
    let Some(server) = redis_or_skip().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let key = demo_key();
    let now = depdash::cache::entry::unix_now();
    // Signed by a fleet member whose TTL is ten years, dated an hour ahead.
    let envelope = depdash::cache::entry::encode(
        key.as_str(),
        now + 3600,
        Duration::from_secs(10 * 365 * 86_400),
        b"{\"on_index\":true}",
    );
    let value = depdash::cache::redis::sign(b"fleet-secret-for-tests", key.as_str(), &envelope);
    redis_set(&server, key.as_str(), &value).await;
    let cache = open_cache(&CacheConfig {
        redis_url: Some(server.url()),
        ttl_by_kind: vec![(CacheKey::PYPI, HOUR)],
        ..cache_config(dir.path())
    })
    .await;
    assert_eq!(
        bounded(cache.get(&key)).await,
        Lookup::Fresh(b"{\"on_index\":true}".to_vec())
    );
    let local = std::fs::read(dir.path().join(key.file_name())).expect("promoted to the file");
    let header = depdash::cache::entry::verify(key.as_str(), &local).unwrap();
    assert_eq!(header.ttl_secs, 3600, "clamped to our TTL");
    assert!(
        header.fetched_at <= depdash::cache::entry::unix_now(),
        "not in the future"
    );
}

#[tokio::test]
async fn redis_without_a_key_is_not_used_at_all() {
    let Some(server) = redis_or_skip().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let key = demo_key();
    let cache = open_cache(&CacheConfig {
        redis_url: Some(server.url()),
        redis_secret: None,
        ..cache_config(dir.path())
    })
    .await;
    cache.put(&key, b"{}", HOUR).await;
    assert!(!redis_exists(&server, key.as_str()).await, "unsigned write");
    assert!(
        !cache.counters().levels.contains_key("redis")
            || cache.counters().levels["redis"].writes == 0
    );
}

#[tokio::test]
async fn signed_redis_round_trip_between_two_runners() {
    let Some(server) = redis_or_skip().await else {
        return;
    };
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let key = demo_key();
    let writer = open_cache(&CacheConfig {
        redis_url: Some(server.url()),
        ..cache_config(a.path())
    })
    .await;
    writer.put(&key, b"{\"x\":1}", HOUR).await;
    let reader = open_cache(&CacheConfig {
        redis_url: Some(server.url()),
        ..cache_config(b.path())
    })
    .await;
    assert_eq!(reader.get(&key).await, Lookup::Fresh(b"{\"x\":1}".to_vec()));
    // What is stored is signed: the raw value starts with the signature magic.
    let mut connection = raw_redis(&server).await;
    let raw: Vec<u8> = redis::cmd("GET")
        .arg(key.as_str())
        .query_async(&mut connection)
        .await
        .unwrap();
    assert!(raw.starts_with(depdash::cache::redis::SIGNED_MAGIC));
}

// ---------------------------------------------------------------------------------------------
// Class 5: bombs, stalls, black holes, deadlines, redirects.

/// The index answers every request with `canned`.
fn canned(canned: Canned) -> Faults {
    Faults {
        canned: Some(canned),
        ..Faults::default()
    }
}

/// `n` concurrent release lookups of distinct packages against a server with `faults`; the
/// results, the time they took, and the server (for its counters).
async fn many_releases(
    faults: Faults,
    config: HttpConfig,
    n: usize,
) -> (
    Vec<Result<depdash::model::RegistryInfo, FetchError>>,
    Duration,
    RegistryServer,
) {
    let server = RegistryServer::start(dataset()).await;
    server.set_faults(faults);
    let pypi = PypiClient::new(client(config), &server.url());
    let started = Instant::now();
    let results = bounded(futures_util::future::join_all((0..n).map(|i| {
        let pypi = pypi.clone();
        async move { pypi.release(&format!("pkg-{i}"), "1.0").await }
    })))
    .await;
    (results, started.elapsed(), server)
}

async fn pypi_error(faults: Faults, config: HttpConfig) -> (FetchError, RegistryServer) {
    let server = RegistryServer::start(dataset()).await;
    server.set_faults(faults);
    let pypi = PypiClient::new(client(config), &server.url());
    let error = bounded(pypi.release("demo-pkg", "1.0"))
        .await
        .expect_err("hostile answer accepted");
    (error, server)
}

#[tokio::test]
async fn gzip_bomb_is_cut_at_the_cap_after_decompression() {
    let bomb = gzip_bomb(16);
    assert!(bomb.len() < 100 * 1024, "the bomb is small on the wire");
    let (error, _) = pypi_error(
        Faults {
            canned: Some(Canned {
                status: 200,
                body: bomb,
                gzip: true,
            }),
            ..Faults::default()
        },
        HttpConfig {
            max_response_bytes: 4 * 1024 * 1024,
            ..fast_config()
        },
    )
    .await;
    assert!(
        matches!(error, FetchError::TooLarge { limit, .. } if limit == 4 * 1024 * 1024),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .contains("larger than the 4 MiB limit (after decompression)")
    );
}

#[tokio::test]
async fn plain_oversized_body_is_refused() {
    let big = format!(
        "{{\"info\": {{\"version\": \"1.0\"}}, \"pad\": \"{}\"}}",
        "x".repeat(3 << 20)
    );
    let (error, server) = pypi_error(
        canned(Canned::json(&big)),
        HttpConfig {
            max_response_bytes: 1024 * 1024,
            ..fast_config()
        },
    )
    .await;
    assert!(matches!(error, FetchError::TooLarge { .. }), "{error:?}");
    assert_eq!(server.stats().total, 1, "a size refusal is not retried");
}

#[tokio::test]
async fn answers_over_the_shared_budget_fail_instead_of_piling_up() {
    // Eight concurrent 1 MiB answers against a 2 MiB budget: some must be refused (as a
    // transient error), none may be buffered past the budget.
    let big = format!(
        "{{\"info\": {{\"version\": \"1.0\"}}, \"pad\": \"{}\"}}",
        "x".repeat(1 << 20)
    );
    let faults = Faults {
        trickle: Some((64 * 1024, Duration::from_millis(5))),
        ..canned(Canned::json(&big))
    };
    let config = HttpConfig {
        body_budget_bytes: 2 * 1024 * 1024,
        retries: 0,
        ..fast_config()
    };
    let (results, _, _) = many_releases(faults, config, 8).await;
    let refused = results
        .iter()
        .filter(|r| {
            matches!(r, Err(FetchError::Transport { detail, .. }) if detail.contains("memory budget"))
        })
        .count();
    assert!(refused >= 1, "{results:?}");
}

#[tokio::test]
async fn trickle_of_a_byte_at_a_time_is_cut_by_the_stall_rule() {
    let started = Instant::now();
    let (error, _) = pypi_error(
        Faults {
            trickle: Some((1, Duration::from_millis(50))),
            ..Faults::default()
        },
        HttpConfig {
            retries: 0,
            ..fast_config()
        },
    )
    .await;
    assert!(matches!(error, FetchError::Stalled { .. }), "{error:?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn body_that_stops_midway_is_stalled() {
    let (error, _) = pypi_error(
        Faults {
            stall_after: Some(10),
            ..Faults::default()
        },
        HttpConfig {
            retries: 0,
            ..fast_config()
        },
    )
    .await;
    assert!(matches!(error, FetchError::Stalled { .. }), "{error:?}");
}

#[tokio::test]
async fn black_hole_is_retried_once_then_given_up() {
    let started = Instant::now();
    let (error, server) = pypi_error(
        Faults {
            black_hole: true,
            ..Faults::default()
        },
        fast_config(),
    )
    .await;
    match &error {
        FetchError::RetriesExhausted { attempts, last, .. } => {
            assert_eq!(*attempts, 2, "a stall is retried once, not `retries` times");
            assert!(last.contains("stalled"), "{last}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(server.stats().total, 2);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn breaker_drops_requests_still_queued_for_a_black_hole() {
    let faults = Faults {
        black_hole: true,
        ..Faults::default()
    };
    let config = HttpConfig {
        concurrency: 4,
        breaker_threshold: 4,
        ..fast_config()
    };
    let (results, elapsed, server) = many_releases(faults, config, 40).await;
    assert!(results.iter().all(Result::is_err));
    let dropped = results
        .iter()
        .filter(|r| matches!(r, Err(FetchError::BreakerOpen { .. })))
        .count();
    assert!(
        dropped >= 30,
        "queued requests were sent anyway: {dropped} dropped"
    );
    // One wave of 4 reached the host; the 36 queued behind it never did.
    assert!(server.stats().total <= 8, "{}", server.stats().total);
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
}

#[tokio::test]
async fn fetch_deadline_bounds_a_slow_but_steady_host() {
    let faults = Faults {
        latency: Duration::from_millis(200),
        ..Faults::default()
    };
    let config = HttpConfig {
        concurrency: 2,
        fetch_deadline: Duration::from_millis(700),
        ..fast_config()
    };
    let (results, elapsed, _) = many_releases(faults, config, 40).await;
    let late = results
        .iter()
        .filter(|r| matches!(r, Err(FetchError::Deadline { .. })))
        .count();
    assert!(late >= 30, "{late} past the deadline");
    assert!(elapsed < Duration::from_millis(1500), "{elapsed:?}");
}

/// A whole run against one host, index and OSV, that accepts and never answers.
async fn black_hole_run(extra: &[&str]) -> (Run, Duration) {
    let server = RegistryServer::start(dataset()).await;
    server.set_faults(Faults {
        black_hole: true,
        ..Faults::default()
    });
    let p = Project::demo();
    let started = Instant::now();
    let run = p.check(&server.url(), &server.url(), extra).await;
    let elapsed = started.elapsed();
    assert_eq!(run.code(), 3, "{}", run.stderr());
    (run, elapsed)
}

#[tokio::test]
async fn black_hole_index_and_osv_end_the_run_in_seconds_with_exit_3() {
    let (run, elapsed) = black_hole_run(&["--stall-timeout", "300ms", "--no-cache"]).await;
    for package in ["demo-pkg", "other-pkg"] {
        assert!(
            run.unknown(package, "vulnerabilities")
                .is_some_and(|r| r.contains("stalled")),
            "{:?}",
            run.report["unknowns"]
        );
        assert!(
            run.unknown(package, "health")
                .is_some_and(|r| r.contains("stalled")),
            "{:?}",
            run.report["unknowns"]
        );
    }
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
}

/// The default-settings bound of the issue: a black hole ends the run in under 10 s with no
/// timeout flag at all (stall 4 s, retried once: ~8 s).
#[tokio::test]
async fn black_hole_on_default_settings_ends_under_ten_seconds() {
    let (run, elapsed) = black_hole_run(&["--no-cache"]).await;
    println!("black hole, default settings: {elapsed:?}");
    assert!(run.unknown("demo-pkg", "vulnerabilities").is_some());
    assert!(run.unknown("other-pkg", "health").is_some());
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
}

#[tokio::test]
async fn redirect_loop_is_refused_after_a_few_hops() {
    let server = RegistryServer::start(dataset()).await;
    let url = server.url();
    server.set_faults(Faults {
        redirect_to: Some(url.clone()),
        ..Faults::default()
    });
    let pypi = PypiClient::new(client(fast_config()), &url);
    let error = bounded(pypi.release("demo-pkg", "1.0")).await.unwrap_err();
    assert!(
        matches!(&error, FetchError::Redirect { detail, .. } if detail.contains("more than 3 redirects")),
        "{error:?}"
    );
    assert_eq!(server.stats().total, 4, "the first request and three hops");
}

#[tokio::test]
async fn redirect_to_another_host_is_followed_without_credentials() {
    let target = RegistryServer::start(dataset()).await;
    let origin = RegistryServer::start(Dataset::new()).await;
    origin.set_faults(Faults {
        redirect_to: Some(target.url()),
        ..Faults::default()
    });
    let with_credentials = origin.url().replace("http://", "http://ci-user:s3cret@");
    let pypi = PypiClient::new(client(fast_config()), &with_credentials);
    let info = bounded(pypi.release("demo-pkg", "1.0")).await.unwrap();
    assert!(info.on_index);
    // The origin got the credentials it was given; the other host never saw them.
    assert_eq!(origin.stats().authorizations.len(), 1);
    assert!(origin.stats().authorizations[0].starts_with("Basic "));
    assert!(
        target.stats().authorizations.is_empty(),
        "{:?}",
        target.stats().authorizations
    );
}

#[tokio::test]
async fn index_answer_as_positional_arrays_is_malformed() {
    let (error, _) = pypi_error(
        canned(Canned::json(r#"[["1.0"], {"1.0": [[null, null, true]]}]"#)),
        fast_config(),
    )
    .await;
    assert!(
        matches!(&error, FetchError::Malformed { detail, .. } if detail.contains("expected a JSON object")),
        "{error:?}"
    );
}

#[tokio::test]
async fn redirect_without_a_location_is_an_error_not_an_answer() {
    let (error, _) = pypi_error(
        Faults {
            canned: Some(Canned {
                status: 302,
                body: Bytes::from_static(b"{}"),
                gzip: false,
            }),
            ..Faults::default()
        },
        fast_config(),
    )
    .await;
    assert!(matches!(error, FetchError::Redirect { .. }), "{error:?}");
}

#[tokio::test]
async fn deeply_nested_ignored_field_is_skipped_without_recursion() {
    // Fields we do not read are skipped by serde_json iteratively: 100,000 levels neither
    // overflow the stack nor change the answer.
    let deep = format!(
        "{{\"info\": {{\"license\": \"MIT\", \"x\": {}{}}}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let server = RegistryServer::start(dataset()).await;
    server.set_faults(canned(Canned::json(&deep)));
    let pypi = PypiClient::new(client(fast_config()), &server.url());
    let info = bounded(pypi.release("demo-pkg", "1.0")).await.unwrap();
    assert_eq!(info.license.as_deref(), Some("MIT"));
}

#[tokio::test]
async fn index_answer_of_the_wrong_shape_is_an_unknown_with_exit_3() {
    let server = RegistryServer::start(dataset()).await;
    server.set_faults(Faults {
        path_prefix: Some("/pypi/".into()),
        canned: Some(Canned::json(r#"{"releases": {}}"#)),
        ..Faults::default()
    });
    let p = Project::new("other-pkg==2.0\n");
    let policy = p.write("depdash.toml", "[health]\nunknown = \"deny\"\n");
    let run = p
        .check(
            &server.url(),
            &server.url(),
            &["--config", &policy.display().to_string()],
        )
        .await;
    assert_eq!(run.code(), 3, "{}", run.stderr());
    let reason = run.unknown("other-pkg", "health").expect("unknown");
    assert!(reason.contains("missing field `info`"), "{reason}");
}

#[tokio::test]
async fn host_that_never_completes_connections_is_given_up_after_two_connect_timeouts() {
    // A listener that never accepts: once its accept queue is full the kernel drops further
    // connection attempts, so they hang as on a filtered port.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut held = Vec::new();
    let filled = tokio::task::spawn_blocking(move || {
        for _ in 0..4096 {
            match std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(100)) {
                Ok(stream) => held.push(stream),
                Err(_) => return Some(held),
            }
        }
        None
    })
    .await
    .unwrap();
    let Some(_held) = filled else {
        eprintln!("SKIPPED: the accept queue never filled; cannot build a dropping host here");
        return;
    };
    let pypi = PypiClient::new(
        client(HttpConfig {
            connect_timeout: Duration::from_millis(300),
            ..fast_config()
        }),
        &format!("http://{addr}"),
    );
    let started = Instant::now();
    let error = bounded(pypi.release("demo-pkg", "1.0")).await.unwrap_err();
    match &error {
        FetchError::RetriesExhausted { attempts, last, .. } => {
            assert_eq!(*attempts, 2, "a connect timeout is retried once: {last}");
            // Under load the kernel may still complete a handshake now and then; the request
            // then stalls instead, which is the same class and the same bound.
            assert!(
                last.starts_with("cannot connect") || last.starts_with("stalled"),
                "{last}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    drop(listener);
}

// ---------------------------------------------------------------------------------------------
// Class 6: name resolution, once per host per run.

#[tokio::test]
async fn each_host_is_resolved_once_per_run() {
    let server = RegistryServer::start(dataset()).await;
    server.set_faults(Faults {
        latency: Duration::from_millis(20),
        ..Faults::default()
    });
    // `localhost` goes through the resolver (an IP literal would not); /etc/hosts answers it.
    let url = format!("http://localhost:{}", server.addr().port());
    let http = client(HttpConfig {
        concurrency: 16,
        ..fast_config()
    });
    let pypi = PypiClient::new(http.clone(), &url);
    let results = bounded(futures_util::future::join_all(
        (0..32).map(|_| pypi.release("demo-pkg", "1.0")),
    ))
    .await;
    if results.iter().any(Result::is_err) {
        eprintln!("SKIPPED: localhost does not resolve to 127.0.0.1 here: {results:?}");
        return;
    }
    assert!(
        server.stats().max_concurrent > 1,
        "several connections were opened"
    );
    assert_eq!(http.dns_lookups(), 1);
}

#[tokio::test]
async fn ip_literals_need_no_lookup() {
    let server = RegistryServer::start(dataset()).await;
    let http = client(fast_config());
    let pypi = PypiClient::new(http.clone(), &server.url());
    bounded(pypi.release("demo-pkg", "1.0")).await.unwrap();
    assert_eq!(http.dns_lookups(), 0);
}

#[tokio::test]
async fn database_record_that_is_a_fifo_is_refused_without_hanging() {
    let p = project_with_one_valid_record();
    crate::adversarial_local::mkfifo(&p.path("db/GHSA-zzzz.json"));
    let run = tokio::time::timeout(Duration::from_secs(60), offline_run(&p, &p.path("db")))
        .await
        .expect("a FIFO in the database must not hang the run");
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(
        run.stderr().contains("GHSA-zzzz.json") && run.stderr().contains("FIFO"),
        "{}",
        run.stderr()
    );
}

#[tokio::test]
async fn database_zip_that_is_a_fifo_is_refused_without_hanging() {
    let p = Project::demo();
    crate::adversarial_local::mkfifo(&p.path("all.zip"));
    let run = tokio::time::timeout(Duration::from_secs(60), offline_run(&p, &p.path("all.zip")))
        .await
        .expect("a FIFO named like a zip must not hang the run");
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("FIFO"), "{}", run.stderr());
}

#[tokio::test]
async fn database_zip_entry_inflating_past_the_record_cap_is_refused() {
    let p = Project::demo();
    let zip = p.path("all.zip");
    let file = std::fs::File::create(&zip).unwrap();
    let mut writer = zip::ZipWriter::new(file);
    writer
        .start_file(
            "PYSEC-bomb.json",
            zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated),
        )
        .unwrap();
    // 17 MiB of spaces: a few KiB compressed, over the 16 MiB record cap once inflated.
    let chunk = vec![b' '; 1024 * 1024];
    for _ in 0..17 {
        std::io::Write::write_all(&mut writer, &chunk).unwrap();
    }
    writer.finish().unwrap();
    assert!(std::fs::metadata(&zip).unwrap().len() < 1024 * 1024);
    let run = offline_run(&p, &zip).await;
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(
        run.stderr().contains("PYSEC-bomb.json") && run.stderr().contains("uncompressed"),
        "{}",
        run.stderr()
    );
}

/// `first_connect_ended` (what a first run's license identification waits for): pending before
/// any request, ended by a made connection, and by a refused one too (a run whose index is down
/// must not hold its licenses back for that).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_connect_ends_whether_made_or_refused() {
    use futures_util::FutureExt;
    let server = RegistryServer::start(dataset()).await;
    let http = client(fast_config());
    assert!(
        http.first_connect_ended().now_or_never().is_none(),
        "no connect yet"
    );
    let pypi = PypiClient::new(http.clone(), &server.url());
    bounded(pypi.release("demo-pkg", "1.0")).await.unwrap();
    bounded(http.first_connect_ended()).await;

    // A port nobody listens on: bound, then closed.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let http = client(HttpConfig {
        retries: 0,
        ..fast_config()
    });
    let pypi = PypiClient::new(http.clone(), &url);
    assert!(bounded(pypi.release("demo-pkg", "1.0")).await.is_err());
    bounded(http.first_connect_ended()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_burst_is_out_once_the_bound_holds_back_the_rest_before_any_answer() {
    use futures_util::FutureExt;
    // Long enough that a loaded machine's scheduling cannot pass for an answer.
    let latency = Duration::from_millis(800);
    let server = RegistryServer::start(dataset()).await;
    server.set_faults(Faults {
        latency,
        ..Faults::default()
    });
    // Plain HTTP: HTTP/1.1, four connections in flight.
    let config = HttpConfig {
        concurrency: 4,
        concurrency_http2: 4,
        stall_timeout: Duration::from_secs(2),
        ..fast_config()
    };

    // Ten requests at once: four go, six are held back by the bound until answers come.
    let http = client(config.clone());
    assert!(
        http.first_burst_sent().now_or_never().is_none(),
        "nothing sent"
    );
    let started = Instant::now();
    let fetches = tokio::spawn({
        let (http, url) = (http.clone(), server.url());
        async move {
            let asks = (0..10).map(|_| {
                let pypi = PypiClient::new(http.clone(), &url);
                async move { pypi.release("demo-pkg", "1.0").await }
            });
            futures_util::future::join_all(asks).await
        }
    });
    bounded(http.first_burst_sent()).await;
    assert!(
        started.elapsed() < latency,
        "out before any answer could come ({:?})",
        started.elapsed()
    );
    assert_eq!(
        http.network_counters().requests,
        4,
        "out when the bound's four are sent, not before"
    );
    let answers = bounded(fetches).await.unwrap();
    assert!(answers.iter().all(Result::is_ok));
    assert_eq!(server.stats().total, 10);

    // Fewer than the bound: out once all of them are sent.
    let http = client(config);
    let pypi = PypiClient::new(http.clone(), &server.url());
    let other = PypiClient::new(http.clone(), &server.url());
    let both = tokio::spawn(async move {
        futures_util::future::join(
            pypi.release("demo-pkg", "1.0"),
            other.release("other-pkg", "2.0"),
        )
        .await
    });
    bounded(http.first_burst_sent()).await;
    assert_eq!(http.network_counters().requests, 2);
    let (a, b) = bounded(both).await.unwrap();
    assert!(a.is_ok() && b.is_ok());
}
