//! Property-based fuzzing of the remote-answer parsers (proptest, stable Rust): OSV querybatch
//! answers, OSV records (the offline database and `vulns/{id}` share the type), PyPI project
//! per-release documents, Simple API pages (PEP 691 JSON and PEP 503 HTML). Inputs are JSON trees built from each API's own vocabulary (so they reach deep
//! into the parsers), plus mutations of valid answers and raw bytes. Properties: never panic;
//! a typed result; and "not understood ⇒ error, never an empty answer".
//!
//! `cargo test` runs proptest's default 256 cases per property; the long run is
//! `PROPTEST_CASES=200000 cargo test --release --lib fuzz_tests` (figures in the CHANGELOG).

use std::str::FromStr;

use pep440_rs::Version;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

use super::osv::{BatchResponse, OsvRecord, affects, to_vulnerability};
use super::osv_db::OsvDatabase;
use super::pypi::parse_release;
use super::simple::{parse_html_page, parse_page};

/// Keys the three APIs use, plus a few they do not.
const KEYS: &[&str] = &[
    "results",
    "vulns",
    "id",
    "modified",
    "next_page_token",
    "ids",
    "affected",
    "package",
    "ecosystem",
    "name",
    "ranges",
    "type",
    "events",
    "introduced",
    "fixed",
    "last_affected",
    "limit",
    "versions",
    "severity",
    "score",
    "withdrawn",
    "aliases",
    "summary",
    "details",
    "database_specific",
    "info",
    "version",
    "releases",
    "yanked",
    "yanked_reason",
    "upload_time",
    "upload_time_iso_8601",
    "license",
    "license_expression",
    "classifiers",
    "urls",
    "files",
    "filename",
    "upload-time",
    "project-status",
    "status",
    "reason",
    "extra",
];

const STRINGS: &[&str] = &[
    "",
    "0",
    "1.0",
    "2.0.1rc1",
    "*",
    "PyPI",
    "npm",
    "ECOSYSTEM",
    "SEMVER",
    "demo-pkg",
    "Demo_Pkg",
    "GHSA-demo-0001",
    "2024-01-01T00:00:00Z",
    "2999-01-01T00:00:00Z",
    "not a date",
    "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
    "HIGH",
    "\u{1b}[31m",
    "banana",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        proptest::sample::select(STRINGS).prop_map(|s| json!(s)),
        "[a-z0-9.\\-]{0,12}".prop_map(Value::String),
    ]
}

/// JSON trees over the APIs' vocabulary, up to 6 levels deep.
fn tree() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(6, 96, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((proptest::sample::select(KEYS), inner), 0..6).prop_map(
                |entries| {
                    Value::Object(
                        entries
                            .into_iter()
                            .map(|(k, v)| (k.to_string(), v))
                            .collect::<Map<_, _>>(),
                    )
                }
            ),
        ]
    })
}

/// Bytes: a JSON tree, a valid document with a few bytes changed or cut, or raw bytes.
fn body(valid: Value) -> impl Strategy<Value = Vec<u8>> {
    let valid = valid.to_string().into_bytes();
    let len = valid.len();
    prop_oneof![
        4 => tree().prop_map(|v| v.to_string().into_bytes()),
        3 => (prop::collection::vec((0..len, any::<u8>()), 1..4), 0..=len).prop_map(
            move |(edits, cut)| {
                let mut bytes = valid.clone();
                for (at, byte) in edits {
                    bytes[at] = byte;
                }
                bytes.truncate(cut.max(1));
                bytes
            }
        ),
        1 => prop::collection::vec(any::<u8>(), 0..64),
    ]
}

/// Independent oracle of the querybatch schema: exactly `{"results": [n × result]}`, each
/// result with only `vulns` (array of `{"id": non-blank string, "modified": string}`) and
/// `next_page_token` (string or null), each optional.
fn batch_understood(value: &Value, n: usize) -> bool {
    let Some(top) = value.as_object() else {
        return false;
    };
    let Some(results) = top.get("results").and_then(Value::as_array) else {
        return false;
    };
    top.len() == 1
        && results.len() == n
        && results.iter().all(|r| {
            let Some(r) = r.as_object() else { return false };
            r.iter().all(|(k, v)| match k.as_str() {
                "vulns" => v.as_array().is_some_and(|vulns| {
                    vulns.iter().all(|vuln| {
                        vuln.as_object().is_some_and(|o| {
                            o.len() == 2
                                && o.get("id")
                                    .and_then(Value::as_str)
                                    .is_some_and(|id| !id.trim().is_empty())
                                && o.get("modified").is_some_and(Value::is_string)
                        })
                    })
                }),
                "next_page_token" => v.is_null() || v.is_string(),
                _ => false,
            })
        })
}

fn valid_batch() -> Value {
    json!({"results": [
        {"vulns": [{"id": "GHSA-demo-0001", "modified": "2024-01-01T00:00:00Z"}], "next_page_token": "p2"},
        {}
    ]})
}

fn valid_record() -> Value {
    json!({
        "id": "GHSA-demo-0001", "modified": "2024-01-01T00:00:00Z",
        "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
        "affected": [{"package": {"ecosystem": "PyPI", "name": "demo-pkg"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.1"}]}],
            "versions": ["1.0"]}]
    })
}

fn valid_release() -> Value {
    json!({
        "info": {"version": "1.0", "license": "MIT", "classifiers": ["License :: OSI Approved :: MIT License"]},
        "urls": [{"upload_time_iso_8601": "2020-01-01T00:00:00Z", "yanked": true, "yanked_reason": "bad"}]
    })
}

fn valid_page() -> Value {
    json!({
        "versions": ["1.0", "2.0"],
        "files": [
            {"filename": "demo-1.0.tar.gz", "yanked": "bad", "upload-time": "2020-01-01T00:00:00Z"},
            {"filename": "demo-2.0-py3-none-any.whl", "yanked": false}
        ],
        "project-status": {"status": "archived", "reason": "done"}
    })
}

fn versions() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(&["0", "1.0", "1.0.0", "1.1", "2.0.1rc1", "999"][..])
            .prop_map(str::to_string),
        "[0-9]{1,3}(\\.[0-9]{1,3}){0,3}",
    ]
}

proptest! {
    #[test]
    fn querybatch_parse_is_total_and_strict(bytes in body(valid_batch()), n in 0usize..4) {
        let parsed = BatchResponse::parse(&bytes, n);
        let understood = serde_json::from_slice::<Value>(&bytes)
            .is_ok_and(|v| batch_understood(&v, n));
        prop_assert_eq!(parsed.is_ok(), understood, "{:?}", String::from_utf8_lossy(&bytes));
        if let Ok(pages) = parsed {
            prop_assert_eq!(pages.len(), n);
            prop_assert!(pages.iter().flat_map(|(refs, _)| refs).all(|r| !r.id.trim().is_empty()));
        }
    }

    #[test]
    fn osv_record_parse_and_matching_never_panic(bytes in body(valid_record()), version in versions()) {
        if let Ok(record) = serde_json::from_slice::<OsvRecord>(&bytes) {
            let version = Version::from_str(&version).expect("generated versions are PEP 440");
            let hit = affects(&record, "demo-pkg", &version);
            let vuln = to_vulnerability(&record, "demo-pkg");
            // A record that lists the exact version for the package cannot be read as clean.
            let listed = record.withdrawn.is_none() && record.affected.iter().any(|a| {
                a.is_pypi_package("demo-pkg")
                    && a.versions.iter().any(|v| Version::from_str(v.trim()).is_ok_and(|v| v == version))
            });
            prop_assert!(!listed || hit);
            prop_assert_eq!(vuln.is_none(), record.withdrawn.is_some());
            let db = OsvDatabase::from_records(vec![record]);
            prop_assert_eq!(db.query("demo-pkg", &version).len(), usize::from(hit));
        }
    }

    #[test]
    fn pypi_release_parse_never_panics_and_keeps_yanks(bytes in body(valid_release())) {
        let value = serde_json::from_slice::<Value>(&bytes).ok();
        match parse_release(&bytes) {
            Ok(info) => {
                let value = value.expect("parsed bytes are JSON");
                prop_assert!(value["info"].is_object(), "no info object, still Ok");
                // The per-release document never tells the latest version.
                prop_assert_eq!(info.latest_version, None);
                // Every file yanked ⇒ reported yanked.
                if let Some(files) = value["urls"].as_array()
                    && !files.is_empty()
                    && files.iter().all(|f| f["yanked"] == json!(true))
                {
                    prop_assert!(info.yanked);
                }
            }
            Err(detail) => prop_assert!(!detail.is_empty()),
        }
    }

    #[test]
    fn simple_page_parse_never_panics_and_keeps_yanks(bytes in body(valid_page()), installed in versions()) {
        let value = serde_json::from_slice::<Value>(&bytes).ok();
        match parse_page(&bytes, "demo", &installed) {
            Ok((facts, info)) => {
                let value = value.expect("parsed bytes are JSON");
                prop_assert!(value.is_object(), "not an object, still Ok");
                prop_assert!(info.on_index);
                // A latest version comes from a file that is not yanked.
                if let Some(latest) = &facts.latest_version {
                    prop_assert!(Version::from_str(latest).is_ok());
                    let files = value["files"].as_array().cloned().unwrap_or_default();
                    prop_assert!(files.iter().any(|f| matches!(f.get("yanked"), None | Some(Value::Bool(false)))));
                }
            }
            Err(detail) => prop_assert!(!detail.is_empty()),
        }
    }

    #[test]
    fn html_page_parse_never_panics_and_keeps_yanks(
        edits in prop::collection::vec((0usize..400, any::<u8>()), 0..6),
        cut in 0usize..=400,
        raw in prop::collection::vec(any::<u8>(), 0..64),
        installed in versions(),
    ) {
        let valid = b"<!DOCTYPE html><html><head><meta name=\"pypi:project-status\" content=\"archived\"></head><body>\
            <a href=\"../f/demo-1.0.tar.gz#sha256=ab\" data-yanked=\"bad\" data-core-metadata=\"sha256=cd\">demo-1.0.tar.gz</a>\
            <a href=\"/f/demo-2.0-py3-none-any.whl\" data-requires-python=\"&gt;=3\">demo-2.0-py3-none-any.whl</a></body></html>";
        let mut bytes = valid.to_vec();
        for (at, byte) in edits {
            let at = at % bytes.len();
            bytes[at] = byte;
        }
        bytes.truncate(cut.max(1));
        for body in [bytes, raw] {
            match parse_html_page(&body, "demo", &installed) {
                Ok((facts, info)) => {
                    prop_assert!(info.on_index);
                    if let Some(latest) = &facts.latest_version {
                        prop_assert!(Version::from_str(latest).is_ok());
                    }
                }
                Err(detail) => prop_assert!(!detail.is_empty()),
            }
        }
    }
}
