//! The machine-readable outputs against their official schemas (SARIF 2.1.0, CycloneDX 1.6 with
//! its SPDX and JSF schemas), validated by a real JSON Schema validator (`jsonschema`) from the
//! copies in tests/schemas/ (no network: `$ref`s resolve to those copies). Also `why`, `fix`
//! and `licenses --notice` through the built binary, against the loopback registry.

use std::path::{Path, PathBuf};
use std::process::Output;

use jsonschema::{Retrieve, Uri};
use serde_json::{Value, json};

use crate::support::registry::{Dataset, RegistryServer};
use crate::support::site_packages::{copy_real, dist_info, fixture};

fn schema_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemas")
}

fn load(name: &str) -> Value {
    let text = std::fs::read_to_string(schema_dir().join(name)).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Resolves the CycloneDX schema's `$ref`s to the local copies; anything else is an error
/// (a test must never reach the network).
struct LocalSchemas;

impl Retrieve for LocalSchemas {
    fn retrieve(
        &self,
        uri: &Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let file = match uri.path().as_str().rsplit('/').next() {
            Some("spdx.schema.json" | "spdx.SNAPSHOT.schema.json") => "spdx.SNAPSHOT.schema.json",
            Some("jsf-0.82.schema.json" | "jsf-0.82.SNAPSHOT.schema.json") => {
                "jsf-0.82.SNAPSHOT.schema.json"
            }
            _ => return Err(format!("no local copy of {uri}").into()),
        };
        Ok(load(file))
    }
}

/// Every validation error of `doc` against the schema file `name`, as `path: message`.
fn schema_errors(name: &str, doc: &Value) -> Vec<String> {
    let validator = jsonschema::options()
        .with_retriever(LocalSchemas)
        .should_validate_formats(true)
        .build(&load(name))
        .unwrap_or_else(|e| panic!("schema {name} does not build: {e}"));
    validator
        .iter_errors(doc)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

fn assert_valid(name: &str, doc: &Value) {
    let errors = schema_errors(name, doc);
    assert!(
        errors.is_empty(),
        "{name}: {} errors:\n{}",
        errors.len(),
        errors.join("\n")
    );
}

#[test]
fn the_validator_is_real_it_rejects_broken_documents() {
    let sarif = json!({"version": "2.0", "runs": [{"tool": {}}]});
    assert!(!schema_errors("sarif-schema-2.1.0.json", &sarif).is_empty());
    let bom = json!({
        "bomFormat": "CycloneDX", "specVersion": "1.6",
        "components": [{"type": "library", "name": "x",
            "licenses": [{"license": {"id": "Not-An-SPDX-Id"}}],
            "hashes": [{"alg": "SHA-256", "content": "zz"}]}]
    });
    let errors = schema_errors("bom-1.6.schema.json", &bom);
    // Both the SPDX id (checked by the referenced spdx schema's enum) and the hash are caught...
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("/components/0/licenses"))
    );
    // ...and a real SPDX id passes, so the reference was resolved, not skipped.
    let mut good = bom.clone();
    good["components"][0]["licenses"][0]["license"]["id"] = json!("Apache-2.0");
    good["components"][0]["hashes"][0]["content"] = json!("ab".repeat(32));
    assert_valid("bom-1.6.schema.json", &good);
}

async fn run(args: &[&str], extra: &[&Path]) -> Output {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_depdash"));
    cmd.args(args)
        .args(extra)
        .args(["--no-history", "--progress", "never"]);
    cmd.output().await.unwrap()
}

/// An environment where the fix has to respect a dependent: app → requests → urllib3<2.
fn fix_environment(site: &Path) {
    dist_info(
        site,
        "app-1.0.dist-info",
        b"Metadata-Version: 2.4\nName: app\nVersion: 1.0\nLicense-Expression: MIT\nRequires-Dist: requests>=2.20\n",
    );
    dist_info(
        site,
        "requests-2.30.0.dist-info",
        b"Metadata-Version: 2.1\nName: requests\nVersion: 2.30.0\nLicense: Apache 2.0\nClassifier: License :: OSI Approved :: Apache Software License\nRequires-Dist: urllib3<2,>=1.21.1\nRequires-Dist: idna<4,>=2.5\n",
    );
    dist_info(
        site,
        "urllib3-1.26.5.dist-info",
        b"Metadata-Version: 2.1\nName: urllib3\nVersion: 1.26.5\nClassifier: License :: OSI Approved :: MIT License\n",
    );
    copy_real(site, "idna-3.20.dist-info", None);
}

fn fix_dataset() -> Dataset {
    let mut d = Dataset::new();
    let t = "2024-01-01T00:00:00Z";
    d.package("app").license("MIT").release("1.0", t).add();
    d.package("idna")
        .license("BSD-3-Clause")
        .release("3.20", t)
        .add();
    d.package("requests")
        .license("Apache-2.0")
        .release("2.30.0", t)
        .release("2.31.0", t)
        .release("2.32.0", t)
        .add();
    d.package("urllib3")
        .license("MIT")
        .release("1.26.5", t)
        .release("1.26.17", t)
        .yanked("1.26.18", t, Some("broken wheel"))
        .release("1.26.19", t)
        .release("2.0.6", t)
        .release("2.0.7", t)
        .add();
    for file in ["GHSA-9wx4-h78v-vm56.json", "GHSA-j8r2-6x86-q33q.json"] {
        let text = std::fs::read_to_string(fixture(&format!("osv/{file}"))).unwrap();
        d.add_osv(serde_json::from_str(&text).unwrap());
    }
    // Shaped like the real urllib3 advisories: one range per release line.
    d.add_osv(json!({
        "schema_version": "1.6.0",
        "id": "GHSA-test-urllib3",
        "modified": "2026-01-01T00:00:00Z",
        "aliases": ["CVE-2099-0001"],
        "summary": "Cookie header leaked on cross-origin redirect",
        "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:H/PR:H/UI:N/S:U/C:H/I:N/A:N"}],
        "affected": [{
            "package": {"ecosystem": "PyPI", "name": "urllib3"},
            "ranges": [{"type": "ECOSYSTEM", "events": [
                {"introduced": "0"}, {"fixed": "1.26.18"},
                {"introduced": "2.0.0"}, {"fixed": "2.0.7"}
            ]}],
            "versions": ["1.26.5", "1.26.17", "2.0.6"]
        }]
    }));
    d
}

struct Env {
    dir: tempfile::TempDir,
    site: PathBuf,
    server: RegistryServer,
}

impl Env {
    async fn start() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let site = dir.path().join("site-packages");
        fix_environment(&site);
        let server = RegistryServer::start(fix_dataset()).await;
        Env { dir, site, server }
    }

    async fn depdash(&self, command: &[&str], extra: &[&str]) -> Output {
        let url = self.server.url();
        let cache = self.dir.path().join("cache");
        let mut args: Vec<&str> = command.to_vec();
        args.extend(extra);
        args.extend(["--pypi-url", &url, "--osv-url", &url, "--cache-dir"]);
        run(&args, &[&cache, &self.site]).await
    }
}

/// Validate a SARIF log and return its result whose message mentions `text`.
fn valid_sarif_result<'a>(sarif: &'a Value, text: &str) -> &'a Value {
    assert_valid("sarif-schema-2.1.0.json", sarif);
    sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["message"]["text"].as_str().unwrap().contains(text))
        .unwrap_or_else(|| panic!("no result mentions {text}"))
}

fn stdout_json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fix_respects_dependents_yanked_releases_and_policy() {
    let env = Env::start().await;
    let out = env.depdash(&["check", "--format", "json"], &[]).await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = stdout_json(&out);
    let pkg = |name: &str| {
        report["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["normalized"] == name)
            .unwrap()
            .clone()
    };
    // 1.26.18 is yanked and requests wants urllib3<2: 1.26.19 is the smallest acceptable fix.
    let urllib3 = pkg("urllib3");
    assert_eq!(urllib3["fix"]["version"], "1.26.19", "{:#}", urllib3["fix"]);
    assert_eq!(urllib3["fix"]["clears"], json!(["GHSA-test-urllib3"]));
    assert!(
        urllib3["fix"]["reason"]
            .as_str()
            .unwrap()
            .contains("requests (>=1.21.1, <2)")
    );
    assert_eq!(
        urllib3["required_by"],
        json!([["app", "requests", "urllib3"]])
    );
    // requests: both real advisories, cleared by 2.32.0 (2.31.0 clears only one).
    let requests = pkg("requests");
    assert_eq!(
        requests["fix"]["version"], "2.32.0",
        "{:#}",
        requests["fix"]
    );
    assert_eq!(requests["fix"]["clears"].as_array().unwrap().len(), 2);
    assert!(pkg("idna").get("fix").is_none());

    // A policy that denies 1.26.19: 2.0.7 clears but requests excludes it, so no fix, and why.
    let policy = env.dir.path().join("depdash.toml");
    std::fs::write(
        &policy,
        "[packages]\ndeny = [{ name = \"urllib3\", version = \"==1.26.19\" }]\n",
    )
    .unwrap();
    let policy_arg = policy.to_string_lossy().into_owned();
    let out = env
        .depdash(&["check", "--format", "json", "--config", &policy_arg], &[])
        .await;
    let report = stdout_json(&out);
    let urllib3 = report["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["normalized"] == "urllib3")
        .unwrap();
    assert_eq!(urllib3["fix"]["version"], Value::Null);
    let reason = urllib3["fix"]["reason"].as_str().unwrap();
    assert!(reason.contains("packages.deny[0]"), "{reason}");

    // `depdash fix` prints the install lines; exit 1 because urllib3 has no fix.
    let out = env.depdash(&["fix", "--config", &policy_arg], &[]).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("pip install 'requests==2.32.0'\n"), "{text}");
    assert!(text.contains("uv add 'requests==2.32.0'\n"), "{text}");
    assert!(text.contains("# urllib3 1.26.5: no fix"), "{text}");
    let out = env.depdash(&["fix"], &[]).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("pip install 'requests==2.32.0' 'urllib3==1.26.19'\n"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sarif_and_cyclonedx_validate_against_the_official_schemas() {
    let env = Env::start().await;
    let sarif = env.depdash(&["check", "--format", "sarif"], &[]).await;
    assert_eq!(sarif.status.code(), Some(1));
    let sarif = stdout_json(&sarif);
    let urllib3 = valid_sarif_result(&sarif, "GHSA-test-urllib3");
    let uri = urllib3["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        .as_str()
        .unwrap();
    assert!(uri.ends_with("urllib3-1.26.5.dist-info/METADATA"), "{uri}");
    assert!(
        urllib3["message"]["text"]
            .as_str()
            .unwrap()
            .contains("1.26.19")
    );

    let bom = env.depdash(&["check", "--format", "cyclonedx"], &[]).await;
    let bom = stdout_json(&bom);
    assert_valid("bom-1.6.schema.json", &bom);
    let purls: Vec<&str> = bom["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["purl"].as_str().unwrap())
        .collect();
    assert!(purls.contains(&"pkg:pypi/urllib3@1.26.5"), "{purls:?}");
    let requests_deps = bom["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["ref"] == "pkg:pypi/requests@2.30.0")
        .unwrap();
    assert_eq!(
        requests_deps["dependsOn"],
        json!(["pkg:pypi/idna@3.20", "pkg:pypi/urllib3@1.26.5"])
    );
    let vulns = bom["vulnerabilities"].as_array().unwrap();
    assert_eq!(vulns.len(), 3);
    let v = vulns
        .iter()
        .find(|v| v["id"] == "GHSA-test-urllib3")
        .unwrap();
    assert_eq!(v["ratings"][0]["method"], "CVSSv31");
    assert_eq!(v["affects"][0]["ref"], "pkg:pypi/urllib3@1.26.5");

    let md = env.depdash(&["check", "--format", "markdown"], &[]).await;
    let md = String::from_utf8_lossy(&md.stdout);
    assert!(md.starts_with("## depdash: ❌ policy violations"), "{md}");
    assert!(md.contains("| urllib3 | 1.26.5 | **1.26.19** |"), "{md}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lockfile_input_locates_sarif_results_and_fills_sbom_hashes_and_graph() {
    let dir = tempfile::tempdir().unwrap();
    let lock = dir.path().join("uv.lock");
    let sha = "a".repeat(64);
    std::fs::write(
        &lock,
        format!(
            r#"version = 1

[[package]]
name = "requests"
version = "2.30.0"
source = {{ registry = "https://pypi.org/simple" }}
dependencies = [{{ name = "urllib3" }}]
wheels = [{{ url = "https://files/requests.whl", hash = "sha256:{sha}", size = 1 }}]

[[package]]
name = "urllib3"
version = "1.26.5"
source = {{ registry = "https://pypi.org/simple" }}
"#
        ),
    )
    .unwrap();
    let server = RegistryServer::start(fix_dataset()).await;
    let url = server.url();
    let cache = dir.path().join("cache");
    let lock_arg = lock.to_string_lossy().into_owned();
    let args = |format: &'static str| {
        vec![
            "check".to_string(),
            "--lock".into(),
            lock_arg.clone(),
            "--format".into(),
            format.into(),
            "--pypi-url".into(),
            url.clone(),
            "--osv-url".into(),
            url.clone(),
            "--cache-dir".into(),
        ]
    };
    let go = |format: &'static str| {
        let args = args(format);
        let cache = cache.clone();
        async move {
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            run(&refs, &[&cache]).await
        }
    };
    let sarif = stdout_json(&go("sarif").await);
    let urllib3 = valid_sarif_result(&sarif, "GHSA-test-urllib3");
    let location = &urllib3["locations"][0]["physicalLocation"];
    assert!(
        location["artifactLocation"]["uri"]
            .as_str()
            .unwrap()
            .ends_with("uv.lock")
    );
    assert_eq!(location["region"]["startLine"], 10);

    let bom = stdout_json(&go("cyclonedx").await);
    assert_valid("bom-1.6.schema.json", &bom);
    assert_eq!(
        bom["components"][0]["hashes"],
        json!([{"alg": "SHA-256", "content": sha}])
    );
    assert_eq!(
        bom["dependencies"][0]["dependsOn"],
        json!(["pkg:pypi/urllib3@1.26.5"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn why_prints_every_path_and_rejects_unknown_packages() {
    let env = Env::start().await;
    let out = env.depdash(&["why", "URLLIB3"], &["--offline"]).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("app → requests → urllib3"), "{text}");
    let out = env.depdash(&["why", "left-pad"], &["--offline"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("left-pad is not among"));
    // No advisory or index query was needed.
    assert_eq!(env.server.stats().total, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notice_has_every_package_with_its_license_texts() {
    let env = Env::start().await;
    let notice = env.dir.path().join("NOTICE.txt");
    let notice_arg = notice.to_string_lossy().into_owned();
    let out = env
        .depdash(&["licenses", "--notice", &notice_arg], &["--offline"])
        .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&notice).unwrap();
    for header in [
        "app 1.0\nLicense: MIT",
        "urllib3 1.26.5\nLicense: MIT",
        "idna 3.20\nLicense: BSD-3-Clause",
    ] {
        assert!(text.contains(header), "{header} missing:\n{text}");
    }
    // idna ships its license file (PEP 639 License-File): the full text is in the notice.
    let idna_license = std::fs::read_to_string(fixture(
        "site-packages-real/idna-3.20.dist-info/licenses/LICENSE.md",
    ))
    .unwrap();
    assert!(
        text.contains(idna_license.trim_end()),
        "idna's text missing"
    );
    assert!(text.contains("(the distribution ships no license file)"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("wrote the notice for 4 packages"));
}
