//! The run snapshot (issue 10, warm and offline runs): licenses resolved once are reused while
//! their inputs are unchanged; an edited METADATA or license file re-resolves that package
//! alone; a changed policy is applied to reused licenses; a corrupt, truncated, foreign-format or
//! unparseable snapshot is reported and every license resolved again, with the same report.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::bin::offline_check;
use crate::support::cache_entries::forget_stored_reports;
use crate::support::license_fixtures;
use crate::support::site_packages::copy_tree;

/// Fixtures whose licenses need their license files (`idna`: only the vague BSD classifier;
/// `packaging`: two classifiers and three files) beside ones answered by metadata alone.
const FIXTURES: &[&str] = &[
    "idna-3.4",
    "packaging-23.2",
    "click-8.1.7",
    "MarkupSafe-2.1.3",
];

struct Env {
    root: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        let root = tempfile::tempdir().unwrap();
        for dist in FIXTURES {
            let from = license_fixtures::dist_info(dist);
            let to = root
                .path()
                .join("site-packages")
                .join(from.file_name().unwrap());
            copy_tree(&from, &to);
        }
        Env { root }
    }

    fn site_packages(&self) -> PathBuf {
        self.root.path().join("site-packages")
    }

    fn cache(&self) -> PathBuf {
        self.root.path().join("cache")
    }

    fn dist_info(&self, prefix: &str) -> PathBuf {
        fs::read_dir(self.site_packages())
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(prefix))
            .unwrap()
    }

    /// A check with `extra` arguments that judges its report (the license snapshot is what
    /// these tests are about; a stored report would be served whole).
    fn check(&self, extra: &[&str]) -> (Value, String) {
        forget_stored_reports(&self.cache());
        let out = offline_check(&self.cache())
            .arg(self.site_packages())
            .args(["--format", "json"])
            .args(extra)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let report = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("no JSON report ({e}); stderr: {stderr}"));
        (report, stderr)
    }

    /// The cache file holding the snapshot (its key is stored in the entry's header).
    fn snapshot_file(&self) -> PathBuf {
        let found: Vec<PathBuf> = fs::read_dir(self.cache())
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                fs::read(p).is_ok_and(|b| {
                    b.windows(b"run-snapshot".len())
                        .any(|w| w == b"run-snapshot")
                })
            })
            .collect();
        assert_eq!(found.len(), 1, "one snapshot entry: {found:?}");
        found.into_iter().next().unwrap()
    }
}

/// How many licenses the run resolved and how many it reused.
fn counts(report: &Value) -> (u64, u64) {
    let count = |op: &str| {
        report["metrics"]["operations"][op]["count"]
            .as_u64()
            .unwrap_or(0)
    };
    (count("license.resolve"), count("license.reuse"))
}

/// Every package's license as reported (expression, source, evidence, notes, reason).
fn licenses(report: &Value) -> Vec<(String, Value)> {
    report["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["normalized"].as_str().unwrap().to_string(),
                p["license"].clone(),
            )
        })
        .collect()
}

fn warm(env: &Env) -> Value {
    let (cold, _) = env.check(&[]);
    assert_eq!(
        counts(&cold),
        (FIXTURES.len() as u64, 0),
        "cold run resolves all"
    );
    cold
}

#[test]
fn a_warm_run_reuses_every_license_and_reports_the_same() {
    let env = Env::new();
    let cold = warm(&env);
    let (again, stderr) = env.check(&[]);
    assert_eq!(counts(&again), (0, FIXTURES.len() as u64), "{stderr}");
    assert_eq!(licenses(&again), licenses(&cold));
    assert_eq!(again["summary"], cold["summary"]);
    // Some of them were answered by license files: the reuse covers those too.
    let idna = &licenses(&cold)[1];
    assert_eq!(idna.0, "idna");
    assert_eq!(idna.1["source"], "license-file", "{idna:?}");
}

#[test]
fn no_cache_and_refresh_resolve_everything() {
    let env = Env::new();
    warm(&env);
    let (no_cache, _) = env.check(&["--no-cache"]);
    assert_eq!(counts(&no_cache), (FIXTURES.len() as u64, 0));
    let (refresh, _) = env.check(&["--refresh"]);
    assert_eq!(counts(&refresh), (FIXTURES.len() as u64, 0));
}

#[test]
fn an_edited_metadata_re_resolves_that_package_alone() {
    let env = Env::new();
    warm(&env);
    let metadata = env.dist_info("click").join("METADATA");
    let text = fs::read_to_string(&metadata).unwrap();
    fs::write(
        &metadata,
        text.replacen("License: BSD-3-Clause", "License: MIT", 1),
    )
    .unwrap();
    let (after, _) = env.check(&[]);
    assert_eq!(counts(&after), (1, FIXTURES.len() as u64 - 1));
    let click = licenses(&after)
        .into_iter()
        .find(|(name, _)| name == "click")
        .unwrap();
    // The new field disagrees with the BSD classifier: whatever the verdict, it is not the old
    // answer read back.
    assert_ne!(click.1["expression"], "BSD-3-Clause", "{click:?}");
}

#[test]
fn an_edited_license_file_re_resolves_that_package_alone() {
    let env = Env::new();
    let cold = warm(&env);
    let license = env.dist_info("idna").join("LICENSE.md");
    fs::write(&license, "All rights reserved. Not for redistribution.\n").unwrap();
    let (after, _) = env.check(&[]);
    assert_eq!(counts(&after), (1, FIXTURES.len() as u64 - 1));
    let before = &licenses(&cold)[1].1;
    let now = &licenses(&after)[1].1;
    assert_eq!(before["expression"], "BSD-3-Clause");
    assert_ne!(now["expression"], before["expression"], "{now}");
    // And a new file beside it counts as a change too.
    fs::write(&license, "").unwrap();
    let (_, _) = env.check(&[]);
    fs::write(env.dist_info("idna").join("COPYING"), "MIT\n").unwrap();
    let (added, _) = env.check(&[]);
    assert_eq!(counts(&added), (1, FIXTURES.len() as u64 - 1));
}

#[test]
fn a_changed_policy_is_applied_to_reused_licenses() {
    let env = Env::new();
    let cold = warm(&env);
    assert_eq!(cold["summary"]["violations"], 0);
    let policy = env.root.path().join("deny.toml");
    fs::write(&policy, "[licenses]\ndeny = [\"BSD-3-Clause\"]\n").unwrap();
    let (denied, _) = env.check(&["--config", policy.to_str().unwrap()]);
    assert_eq!(counts(&denied), (0, FIXTURES.len() as u64));
    assert!(
        denied["summary"]["violations"].as_u64().unwrap() >= 2,
        "{}",
        denied["summary"]
    );
}

/// Each way a stored snapshot can be wrong: reported, ignored, every license resolved again,
/// and the report is the cold run's.
#[test]
fn a_bad_snapshot_is_reported_and_recomputed() {
    type Spoil = fn(&Path);
    let spoilers: &[(&str, Spoil)] = &[
        ("flipped payload byte", |p| {
            let mut b = fs::read(p).unwrap();
            let last = b.len() - 2;
            b[last] ^= 0x20;
            fs::write(p, b).unwrap();
        }),
        ("truncated", |p| {
            let b = fs::read(p).unwrap();
            fs::write(p, &b[..b.len() / 2]).unwrap();
        }),
        ("foreign format version", |p| {
            let mut b = fs::read(p).unwrap();
            b[8] = 0xEE;
            fs::write(p, b).unwrap();
        }),
        ("garbage", |p| {
            fs::write(p, b"not a snapshot at all").unwrap()
        }),
        ("sealed, but not a snapshot", |p| {
            let b = fs::read(p).unwrap();
            let key_len = u16::from_le_bytes([b[10], b[11]]) as usize;
            let key = std::str::from_utf8(&b[68..68 + key_len]).unwrap();
            let resealed = depdash::cache::entry::Record::seal(
                key,
                depdash::cache::entry::unix_now(),
                std::time::Duration::from_secs(3600),
                br#"{"licenses": {"x": {"files": null, "license": 7}}}"#,
            );
            fs::write(p, resealed.encoded()).unwrap();
        }),
    ];
    for (what, spoil) in spoilers {
        let env = Env::new();
        let cold = warm(&env);
        spoil(&env.snapshot_file());
        let (after, stderr) = env.check(&[]);
        assert!(stderr.contains("run snapshot ignored"), "{what}: {stderr}");
        assert_eq!(counts(&after), (FIXTURES.len() as u64, 0), "{what}");
        assert_eq!(licenses(&after), licenses(&cold), "{what}");
        // Rewritten: the next run reuses again, without a warning.
        let (next, stderr) = env.check(&[]);
        assert!(!stderr.contains("snapshot"), "{what}: {stderr}");
        assert_eq!(counts(&next), (0, FIXTURES.len() as u64), "{what}");
    }
}

/// A distribution `name` 1.0 in a fresh site-packages whose license comes from a license
/// file: a BSD-3-Clause text (idna's) at `file` in its metadata directory, listed as
/// `License-File` when `listed`. Returns the root and the license file.
fn license_file_env(name: &str, listed: bool, file: &str) -> (tempfile::TempDir, PathBuf) {
    let root = tempfile::tempdir().unwrap();
    let dist = root
        .path()
        .join(format!("site-packages/{name}-1.0.dist-info"));
    fs::create_dir_all(dist.join("licenses")).unwrap();
    // Metadata 2.4: a listed file is under `licenses/` (PEP 639).
    let entry = if listed {
        "License-File: LICENSE\n"
    } else {
        ""
    };
    fs::write(
        dist.join("METADATA"),
        format!("Metadata-Version: 2.4\nName: {name}\nVersion: 1.0\n{entry}"),
    )
    .unwrap();
    let text = fs::read(license_fixtures::dist_info("idna-3.4").join("LICENSE.md")).unwrap();
    fs::write(dist.join(file), text).unwrap();
    (root, dist.join(file))
}

fn listed_license_env() -> (tempfile::TempDir, PathBuf) {
    license_file_env("listed", true, "licenses/LICENSE")
}

fn check_in(root: &Path) -> Value {
    forget_stored_reports(&root.join("cache"));
    let out = offline_check(&root.join("cache"))
        .arg(root.join("site-packages"))
        .args(["--format", "json"])
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON report ({e}); {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// (resolved, reused, reuse checks that read and hashed the files).
fn counts_verified(report: &Value) -> (u64, u64, u64) {
    let (resolved, reused) = counts(report);
    let verified = report["metrics"]["operations"]["license.verify"]["count"]
        .as_u64()
        .unwrap_or(0);
    (resolved, reused, verified)
}

#[test]
fn settled_license_files_are_reused_by_identity_and_a_same_size_rewrite_is_noticed() {
    let (root, license) = listed_license_env();
    // Files changed within the racy margin (at most 2 s) are never judged by identity: wait.
    std::thread::sleep(std::time::Duration::from_millis(2_100));
    let cold = check_in(root.path());
    assert_eq!(counts_verified(&cold), (1, 0, 0));
    assert_eq!(licenses(&cold)[0].1["source"], "license-file", "{cold}");
    let warm = check_in(root.path());
    assert_eq!(
        counts_verified(&warm),
        (0, 1, 0),
        "identity unchanged: not read"
    );
    assert_eq!(licenses(&warm), licenses(&cold));

    // Same size, other bytes, a new mtime: the stamp differs, the digest too: resolved again.
    let text = fs::read_to_string(&license).unwrap();
    let rewritten = text.to_uppercase();
    assert_eq!(rewritten.len(), text.len());
    assert_ne!(rewritten, text);
    fs::write(&license, rewritten).unwrap();
    let after = check_in(root.path());
    assert_eq!(
        counts_verified(&after),
        (1, 0, 1),
        "hashed, differed, resolved"
    );
}

#[test]
fn a_license_file_touched_but_unchanged_is_hashed_and_reused() {
    let (root, license) = listed_license_env();
    std::thread::sleep(std::time::Duration::from_millis(2_100));
    check_in(root.path());
    // Same bytes written again: identity changed, digest equal: reused after hashing.
    fs::write(&license, fs::read(&license).unwrap()).unwrap();
    let after = check_in(root.path());
    assert_eq!(counts_verified(&after), (0, 1, 1));
    // Still reused; hashed again only if the rewrite was too recent for the new stamp.
    let (resolved, reused, verified) = counts_verified(&check_in(root.path()));
    assert_eq!((resolved, reused), (0, 1));
    assert!(verified <= 1, "{verified}");
}

#[test]
fn a_license_file_added_beside_settled_ones_is_noticed_by_the_directory() {
    // No License-File entry: the files are found by listing the metadata directory.
    let (root, license) = license_file_env("found", false, "LICENSE");
    let dist = license.parent().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(2_100));
    assert_eq!(counts_verified(&check_in(root.path())), (1, 0, 0));
    assert_eq!(counts_verified(&check_in(root.path())), (0, 1, 0));
    fs::write(dist.join("COPYING"), "MIT\n").unwrap();
    assert_eq!(counts_verified(&check_in(root.path())), (1, 0, 1));
}
