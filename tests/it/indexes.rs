//! The index as pip sees it, end to end through the binary against loopback registries:
//! revalidation of expired cache entries (`If-None-Match` / `If-Modified-Since`, `304`),
//! extra indexes, and credentials (URL user info, `.netrc`) that reach only their own host and
//! never appear in any output.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

use crate::support::bin::depdash;
use crate::support::registry::{Dataset, RegistryServer, Stats, advisory};

mod bundle;

/// A throwaway project: a pinned requirements file, a cache directory, reports.
struct Project {
    dir: tempfile::TempDir,
}

/// The pins every test checks; `urllib3` has an advisory on the first registry.
const PINS: &[(&str, &str)] = &[
    ("requests", "2.31.0"),
    ("urllib3", "1.26.5"),
    ("idna", "3.4"),
];

impl Project {
    fn new(requirements: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("requirements.txt"), requirements).unwrap();
        Project { dir }
    }

    fn pinned() -> Self {
        let lines: Vec<String> = PINS.iter().map(|(n, v)| format!("{n}=={v}\n")).collect();
        Project::new(&lines.concat())
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.path(rel);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// `depdash check -r requirements.txt` against `index` (and OSV at `osv`), the cache in
    /// `cache/`, no history; `args` and `env` added.
    fn run(&self, index: &str, osv: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut command = depdash(&["check", "-r"]);
        command
            .arg(self.path("requirements.txt"))
            .args(["--pypi-url", index, "--osv-url", osv, "--cache-dir"])
            .arg(self.path("cache"))
            .args(["--no-history", "--progress", "never"])
            .args(args)
            .env("HOME", self.dir.path())
            .env_remove("NETRC");
        for (key, value) in env {
            command.env(key, value);
        }
        command.output().unwrap()
    }

    /// [`run`](Self::run) with a JSON report in `report`, read back.
    fn check(
        &self,
        index: &str,
        osv: &str,
        report: &str,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> (Output, Value) {
        let report_path = self.path(report);
        let mut args = vec![
            "--format",
            "json",
            "--output",
            report_path.to_str().unwrap(),
        ];
        args.extend(extra);
        let output = self.run(index, osv, &args, env);
        let report = std::fs::read_to_string(&report_path)
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or(Value::Null);
        (output, report)
    }
}

/// Each pin with a release (MIT) and a newer `2.0`, and one advisory for urllib3.
fn dataset(license: &str) -> Dataset {
    let mut dataset = Dataset::new();
    for (name, version) in PINS {
        dataset
            .package(name)
            .license(license)
            .release(version, "2024-03-01T12:00:00Z")
            .release("99.0", "2026-10-01T12:00:00Z")
            .add();
    }
    dataset.add_osv(advisory("GHSA-test-0001", "urllib3", "1.26.5", "99.0"));
    dataset
}

/// The parts of a report that say what was found (not when, nor how fast).
fn verdict(report: &Value) -> Value {
    serde_json::json!({
        "packages": report["packages"],
        "findings": report["findings"],
        "unknowns": report["unknowns"],
        "summary": report["summary"],
    })
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Expired after every run: metadata TTL 0 (advisory records, release and Simple facts), and
/// `[health]` asking for the Simple pages too.
const EXPIRE_ALL: &str = "[cache]\nmetadata_ttl = \"0s\"\nvulnerability_ttl = \"0s\"\n\
                          [health]\noutdated = \"warn\"\n";

/// GET requests for cached facts: per-release documents, Simple pages, advisory records.
fn revalidatable(stats: &Stats) -> u64 {
    stats.pypi_version + stats.pypi_simple + stats.vulns
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_entries_are_revalidated_with_etags_and_cost_no_body() {
    let server = RegistryServer::start(dataset("MIT")).await;
    let url = server.url();
    let p = Project::pinned();
    let policy = p.write("depdash.toml", EXPIRE_ALL);
    let config = ["--config", policy.to_str().unwrap()];

    let (output, first) = p.check(&url, &url, "first.json", &config, &[]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let cold = server.stats();
    assert_eq!(
        cold.conditional, 0,
        "a cold cache has nothing to revalidate"
    );
    assert!(
        cold.pypi_version == 3 && cold.pypi_simple == 3 && cold.vulns == 1,
        "{cold:?}"
    );
    server.reset_stats();

    // Entries carry their own TTL (0 here): the next run, with the default TTL, finds them all
    // expired and renews them for that TTL.
    let policy = p.write("depdash.toml", "[health]\noutdated = \"warn\"\n");
    let config = ["--config", policy.to_str().unwrap()];
    let (output, second) = p.check(&url, &url, "second.json", &config, &[]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let warm = server.stats();
    assert_eq!(revalidatable(&warm), 7, "{warm:?}");
    assert_eq!(
        warm.conditional, 7,
        "every expired entry is revalidated: {warm:?}"
    );
    assert_eq!(warm.not_modified, 7);
    let etags = warm
        .validators_received
        .iter()
        .filter(|v| v.starts_with('"'));
    assert_eq!(etags.count(), 7, "each carried its ETag: {warm:?}");
    for endpoint in ["pypi-version", "simple"] {
        assert_eq!(warm.bytes_sent.get(endpoint).copied().unwrap_or(0), 0);
    }
    assert_eq!(verdict(&second), verdict(&first));
    let network = &second["metrics"]["network"];
    assert_eq!(network["revalidated"], 7, "{network}");
    // Only the querybatch (a POST, never revalidated) downloaded a body.
    let by_source = &network["bytes_by_source"];
    assert_eq!(by_source["pypi"].as_u64().unwrap_or(0), 0, "{network}");
    assert_eq!(
        by_source["pypi-simple"].as_u64().unwrap_or(0),
        0,
        "{network}"
    );

    // A renewed entry is fresh again: the next run asks nothing of the index.
    server.reset_stats();
    let (_, third) = p.check(&url, &url, "third.json", &config, &[]);
    assert_eq!(revalidatable(&server.stats()), 0);
    assert_eq!(verdict(&third)["findings"], verdict(&first)["findings"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn last_modified_alone_revalidates_with_if_modified_since() {
    let server = RegistryServer::start(dataset("MIT")).await;
    server.update_faults(|f| f.no_etag = true);
    let url = server.url();
    let p = Project::pinned();
    let policy = p.write("depdash.toml", EXPIRE_ALL);
    let config = ["--config", policy.to_str().unwrap()];
    let (_, first) = p.check(&url, &url, "first.json", &config, &[]);
    server.reset_stats();
    let (_, second) = p.check(&url, &url, "second.json", &config, &[]);
    let stats = server.stats();
    assert_eq!(stats.conditional, 7, "{stats:?}");
    assert_eq!(stats.not_modified, 7);
    assert!(
        stats
            .validators_received
            .iter()
            .all(|v| v == crate::support::registry::LAST_MODIFIED),
        "{stats:?}"
    );
    assert_eq!(verdict(&second), verdict(&first));
}

/// Registry facts the report could not get, by package.
fn registry_unknowns(report: &Value) -> Vec<(String, String)> {
    report["unknowns"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["check"] == "health")
        .map(|u| {
            let name = u["package"].as_str().unwrap_or_default().to_string();
            (name, u["reason"].as_str().unwrap_or_default().to_string())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_304_without_validators_or_for_a_corrupt_entry_is_never_a_pass() {
    let server = RegistryServer::start(dataset("MIT")).await;
    let url = server.url();
    let p = Project::pinned();
    let policy = p.write("depdash.toml", EXPIRE_ALL);
    let config = ["--config", policy.to_str().unwrap()];

    // Cold cache, an index answering 304 to everything: nothing was validated.
    server.update_faults(|f| f.always_304 = true);
    let (_, cold) = p.check(&url, &url, "cold.json", &config, &[]);
    let unknown = registry_unknowns(&cold);
    assert_eq!(unknown.len(), 3, "{cold:#}");
    assert!(
        unknown.iter().all(|(_, r)| r.contains("304")),
        "{unknown:?}"
    );
    assert_eq!(server.stats().conditional, 0);

    // Cached, then every entry corrupted: no validators are sent, a 304 is not a pass.
    server.update_faults(|f| f.always_304 = false);
    let (_, good) = p.check(&url, &url, "good.json", &config, &[]);
    assert!(registry_unknowns(&good).is_empty(), "{good:#}");
    for entry in walk(&p.path("cache")) {
        crate::cache_pack::corrupt_entry(&entry);
    }
    server.reset_stats();
    server.update_faults(|f| f.always_304 = true);
    let (_, corrupt) = p.check(&url, &url, "corrupt.json", &config, &[]);
    assert_eq!(server.stats().conditional, 0, "{:?}", server.stats());
    assert_eq!(registry_unknowns(&corrupt).len(), 3, "{corrupt:#}");
}

/// Every file under `dir`.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files
}

/// The private index: `internal-tool` (only there) and its own `requests` 2.31.0 (Apache-2.0).
fn private_dataset() -> Dataset {
    let mut dataset = Dataset::new();
    dataset
        .package("internal-tool")
        .license("Proprietary")
        .release("1.0", "2025-01-01T12:00:00Z")
        .add();
    dataset
        .package("requests")
        .license("Apache-2.0")
        .release("2.31.0", "2024-03-01T12:00:00Z")
        .add();
    dataset
}

/// Pins for the two-index tests: one package on each index only, one on both.
const TWO_INDEX_PINS: &str = "requests==2.31.0\nurllib3==1.26.5\ninternal-tool==1.0\n";

fn package<'r>(report: &'r Value, name: &str) -> &'r Value {
    report["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in the report"))
}

fn codes_for(report: &Value, name: &str) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["package"] == name)
        .map(|f| f["code"].as_str().unwrap_or_default().to_string())
        .collect()
}

const OUTDATED: &str = "[health]\noutdated = \"warn\"\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extra_indexes_are_all_asked_as_pip_does() {
    let private = RegistryServer::start(private_dataset()).await;
    let public = RegistryServer::start(dataset("MIT")).await;
    let p = Project::new(TWO_INDEX_PINS);
    let policy = p.write("depdash.toml", OUTDATED);
    let config = ["--config", policy.to_str().unwrap()];
    let extra = format!("{}/simple/", public.url());

    // The index alone: urllib3 is not on it.
    let (_, alone) = p.check(&private.url(), &public.url(), "alone.json", &config, &[]);
    assert!(codes_for(&alone, "urllib3").contains(&"not-on-index".to_string()));
    assert!(codes_for(&alone, "requests").is_empty(), "{alone:#}");

    let args = [&config[..], &["--extra-index-url", &extra, "--no-cache"]].concat();
    let (output, both) = p.check(&private.url(), &public.url(), "both.json", &args, &[]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    for name in ["urllib3", "internal-tool", "requests"] {
        assert_eq!(package(&both, name)["registry"]["on_index"], true, "{name}");
        assert!(!codes_for(&both, name).contains(&"not-on-index".to_string()));
    }
    // The release's facts come from the first index that has it; the latest is the highest.
    let requests = &package(&both, "requests")["registry"];
    assert_eq!(requests["license"], "Apache-2.0", "{requests}");
    assert_eq!(requests["latest_version"], "99.0");
    let on_both = [private.url(), public.url()];
    assert_eq!(requests["found_on"], serde_json::json!(on_both));
    let codes = codes_for(&both, "requests");
    assert!(
        codes.contains(&"on-several-indexes".to_string()),
        "{codes:?}"
    );
    assert!(codes.contains(&"outdated".to_string()), "{codes:?}");
    assert!(codes_for(&both, "internal-tool").is_empty(), "{both:#}");
    assert!(codes_for(&both, "urllib3").contains(&"outdated".to_string()));
    assert!(private.stats().pypi_version > 0 && public.stats().pypi_version > 0);
    let message = both["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "on-several-indexes")
        .unwrap()["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(message.contains(&private.url()) && message.contains(&public.url()));

    // The same extra index from PIP_EXTRA_INDEX_URL, from pip.conf (over several lines), and
    // from the requirements file's own option line.
    let env = [("PIP_EXTRA_INDEX_URL", extra.as_str())];
    let (_, from_env) = p.check(&private.url(), &public.url(), "env.json", &args[..2], &env);
    assert_eq!(verdict(&from_env), verdict(&both));
    let conf = p.write(
        "pip.conf",
        &format!("[global]\nextra-index-url =\n    http://127.0.0.1:9/simple\n    {extra}\n"),
    );
    let env = [("PIP_CONFIG_FILE", conf.to_str().unwrap())];
    let (output, from_conf) = p.check(&private.url(), &public.url(), "conf.json", &args[..2], &env);
    // The dead first extra index makes every answer unknown: an index that cannot answer is
    // never skipped silently.
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        from_conf["unknowns"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["reason"].as_str().unwrap().contains("127.0.0.1:9")),
        "{from_conf:#}"
    );
    let in_file = Project::new(&format!("--extra-index-url {extra}\n{TWO_INDEX_PINS}"));
    let policy = in_file.write("depdash.toml", OUTDATED);
    let config = ["--config", policy.to_str().unwrap()];
    let (_, from_file) = in_file.check(&private.url(), &public.url(), "file.json", &config, &[]);
    assert_eq!(verdict(&from_file)["findings"], verdict(&both)["findings"]);
}

/// `url` with `user:password@` after the scheme.
fn with_login(url: &str, user: &str, password: &str) -> String {
    url.replacen("://", &format!("://{user}:{password}@"), 1)
}

/// The private index got `header` with every request (and its package was found), the public
/// one never an `Authorization`.
fn logged_in_only_at(
    private: &RegistryServer,
    public: &RegistryServer,
    report: &Value,
    header: &str,
) {
    assert_eq!(
        package(report, "internal-tool")["registry"]["on_index"],
        true
    );
    let sent = private.stats().authorizations;
    assert!(!sent.is_empty());
    assert!(sent.iter().all(|a| a == header), "{sent:?}");
    assert_eq!(public.stats().authorizations, Vec::<String>::new());
}

/// Everything a run left for a person to read: stdout, stderr and the files it wrote.
fn everything_shown(output: &Output, files: &[PathBuf]) -> String {
    let mut all = String::from_utf8_lossy(&output.stdout).into_owned();
    all.push_str(&stderr(output));
    for file in files {
        all.push_str(&std::fs::read_to_string(file).unwrap_or_default());
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn url_credentials_reach_only_their_host_and_are_never_shown() {
    let private = RegistryServer::start(private_dataset()).await;
    let public = RegistryServer::start(dataset("MIT")).await;
    let p = Project::new(TWO_INDEX_PINS);
    let policy = p.write("depdash.toml", OUTDATED);
    let index = with_login(&private.url(), "alice", "s3cret");
    let extra = format!("{}/simple/", public.url());
    // A dead extra index with its own login: its failure is reported, its password is not.
    let dead = with_login("http://127.0.0.1:9/simple", "bob", "d3ad-pw");
    let base = [
        "--config",
        policy.to_str().unwrap(),
        "--extra-index-url",
        &extra,
        "--no-cache",
    ];

    let (output, report) = p.check(&index, &public.url(), "r.json", &base, &[]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let shown = everything_shown(&output, &[p.path("r.json")]);
    assert!(!shown.contains("s3cret"), "{shown}");
    assert!(
        shown.contains("alice:****@127.0.0.1"),
        "the index is named, masked"
    );
    logged_in_only_at(&private, &public, &report, "Basic YWxpY2U6czNjcmV0");

    // Every format, with the dead index and debug logging: no password anywhere.
    for format in ["text", "json", "sarif", "junit", "markdown", "cyclonedx"] {
        let out = p.path(&format!("out.{format}"));
        let mut args = base.to_vec();
        args.extend(["--extra-index-url", &dead, "-vv", "--format", format]);
        let to_file = format != "text" && format != "markdown";
        if to_file {
            args.extend(["--output", out.to_str().unwrap()]);
        }
        let output = p.run(&index, &public.url(), &args, &[]);
        let shown = everything_shown(&output, &[out]);
        for secret in ["s3cret", "d3ad-pw"] {
            assert!(!shown.contains(secret), "{format}: {shown}");
        }
        assert!(
            shown.contains("127.0.0.1:9"),
            "{format}: the dead index is named: {shown}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn netrc_logins_go_to_their_machine_only() {
    let private = RegistryServer::start(private_dataset()).await;
    let public = RegistryServer::start(dataset("MIT")).await;
    let p = Project::new(TWO_INDEX_PINS);
    // The private index by name, the public one by address: two machines for .netrc.
    let index = private.url().replace("127.0.0.1", "localhost");
    let netrc = p.write(
        "netrc",
        "machine localhost login carol password n3trc-pw\nmachine elsewhere.example login x password y\n",
    );
    let env = [("NETRC", netrc.to_str().unwrap())];
    let extra = format!("{}/simple/", public.url());
    let args = ["--extra-index-url", extra.as_str(), "--no-cache", "-vv"];
    let (output, report) = p.check(&index, &public.url(), "r.json", &args, &env);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    logged_in_only_at(&private, &public, &report, "Basic Y2Fyb2w6bjN0cmMtcHc=");
    let shown = everything_shown(&output, &[p.path("r.json")]);
    assert!(!shown.contains("n3trc-pw"), "{shown}");

    // A .netrc that does not parse: a warning, no credentials, the run goes on.
    std::fs::write(
        &netrc,
        "machine localhost login carol password n3trc-pw\nbogus\n",
    )
    .unwrap();
    private.reset_stats();
    let (output, _) = p.check(&index, &public.url(), "r2.json", &args, &env);
    assert!(
        stderr(&output).contains("not a valid netrc file"),
        "{}",
        stderr(&output)
    );
    assert!(private.stats().authorizations.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_are_not_carried_across_a_redirect_to_another_host() {
    let target = RegistryServer::start(dataset("MIT")).await;
    let index = RegistryServer::start(Dataset::new()).await;
    index.update_faults(|f| f.redirect_to = Some(target.url()));
    let p = Project::pinned();
    let login = with_login(&index.url(), "alice", "s3cret");
    let (output, report) = p.check(&login, &target.url(), "r.json", &["--no-cache"], &[]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(package(&report, "requests")["registry"]["on_index"], true);
    let sent = index.stats().authorizations;
    assert!(!sent.is_empty() && sent.iter().all(|a| a == "Basic YWxpY2U6czNjcmV0"));
    assert!(
        target.stats().pypi_version > 0,
        "the redirects were followed"
    );
    assert_eq!(target.stats().authorizations, Vec::<String>::new());
}
