//! `depdash db update` against a loopback server: download, `304` re-check, cut, non-zip,
//! oversize and foreign answers (never replacing a good copy), and `--offline` using it.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use depdash::sources::osv_download::{self, DownloadError, Update, UpdateOptions};
use serde_json::json;

use crate::support::files::{Canned, FileServer};
use crate::support::registry::advisory;

/// A zip of OSV records, as OSV publishes `all.zip` (one `<id>.json` per record).
fn zip_of(records: &[serde_json::Value]) -> Vec<u8> {
    let mut buffer = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut buffer);
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for record in records {
        zip.start_file(format!("{}.json", record["id"].as_str().unwrap()), options)
            .unwrap();
        zip.write_all(record.to_string().as_bytes()).unwrap();
    }
    zip.finish().unwrap();
    buffer.into_inner()
}

pub(crate) fn pypi_zip() -> Vec<u8> {
    zip_of(&[
        advisory("PYSEC-2099-1", "demo-pkg", "1.0", "1.1"),
        advisory("PYSEC-2099-2", "other", "2.0", "2.1"),
    ])
}

fn options(server: &FileServer, cache: &Path, max_bytes: u64) -> UpdateOptions {
    UpdateOptions {
        base_url: server.url.clone(),
        cache_dir: cache.to_path_buf(),
        max_bytes,
        read_timeout: Duration::from_secs(10),
        ca_bundle: None,
    }
}

#[tokio::test]
async fn download_then_a_304_recheck_and_bad_answers_never_replace_the_copy() {
    let dir = tempfile::tempdir().unwrap();
    let good = pypi_zip();
    let server = FileServer::start(Canned::ok(good.clone(), "\"v1\"")).await;
    let opts = options(&server, dir.path(), 1 << 20);
    let db = osv_download::database_path(dir.path());

    match osv_download::update(&opts).await.unwrap() {
        Update::Downloaded(info) => {
            assert_eq!((info.records, info.bytes), (2, good.len() as u64));
            assert_eq!(info.etag.as_deref(), Some("\"v1\""));
            assert!(info.url.ends_with("/PyPI/all.zip"));
        }
        other => panic!("expected a download, got {other:?}"),
    }
    assert_eq!(std::fs::read(&db).unwrap(), good);
    assert!(server.requests()[0].starts_with("get /pypi/all.zip "));
    assert!(!server.requests()[0].contains("if-none-match"));

    // A re-check sends the ETag; 304 keeps the copy.
    server.set(Canned {
        status: 304,
        headers: vec![],
        body: vec![],
        content_length: Some(0),
    });
    assert!(matches!(
        osv_download::update(&opts).await.unwrap(),
        Update::NotModified(info) if info.records == 2
    ));
    assert!(server.requests()[1].contains("if-none-match: \"v1\""));

    let bad_answers: Vec<(Canned, &str)> = vec![
        // Cut short: 10,000 bytes declared, 100 sent, connection closed.
        (
            Canned {
                content_length: Some(10_000),
                ..Canned::ok(good[..100].to_vec(), "\"v2\"")
            },
            "cut short",
        ),
        (
            Canned::ok(b"<html>not a zip</html>".to_vec(), "\"v3\""),
            "not an OSV database",
        ),
        // Declared too large: refused before the body.
        (
            Canned {
                content_length: Some(2 << 20),
                ..Canned::ok(vec![0; 16], "\"v4\"")
            },
            "more than the limit",
        ),
        // No length declared, and the body runs past the limit.
        (
            Canned {
                content_length: None,
                ..Canned::ok(vec![b'x'; (1 << 20) + 10], "\"v5\"")
            },
            "more than the limit",
        ),
        (
            Canned::ok(
                zip_of(
                    &[json!({"id": "GHSA-npm", "modified": "2026-01-01T00:00:00Z",
                    "affected": [{"package": {"ecosystem": "npm", "name": "left-pad"}}]})],
                ),
                "\"v6\"",
            ),
            "none about a PyPI package",
        ),
        (
            Canned {
                status: 500,
                ..Canned::ok(vec![], "\"v7\"")
            },
            "HTTP 500",
        ),
    ];
    for (canned, expected) in bad_answers {
        server.set(canned);
        let error = osv_download::update(&opts).await.unwrap_err();
        assert!(error.to_string().contains(expected), "{expected}: {error}");
        assert_eq!(
            std::fs::read(&db).unwrap(),
            good,
            "{expected}: the copy was replaced"
        );
        let leftovers: Vec<_> = std::fs::read_dir(db.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.starts_with('.') || n.contains("tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{expected}: {leftovers:?}");
    }
    assert!(matches!(
        osv_download::update(&options(&server, dir.path(), 1 << 20)).await,
        Err(DownloadError::Status { code: 500, .. })
    ));
}

fn depdash(args: &[&str]) -> std::process::Output {
    crate::support::bin::depdash(args).output().unwrap()
}

#[tokio::test]
async fn offline_uses_the_downloaded_database_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let cache_dir = dir.path().join("cache");
    let cache = cache_dir.to_str().unwrap();
    let server = FileServer::start(Canned::ok(pypi_zip(), "\"v1\"")).await;
    let update = |url: String| {
        let cache = cache_dir.clone();
        tokio::task::spawn_blocking(move || {
            depdash(&[
                "db",
                "update",
                "--url",
                &url,
                "--cache-dir",
                cache.to_str().unwrap(),
            ])
        })
    };
    let output = update(server.url.clone()).await.unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.starts_with("downloaded 2 OSV records"), "{stdout}");

    let requirements = dir.path().join("requirements.txt");
    std::fs::write(&requirements, "demo-pkg==1.0\n").unwrap();
    let check = |format: &str| {
        depdash(&[
            "check",
            "-r",
            requirements.to_str().unwrap(),
            "--offline",
            "--no-registry",
            "--no-history",
            "--format",
            format,
            "--cache-dir",
            cache,
        ])
    };
    let output = check("json");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        output.status.code(),
        Some(1),
        "the vulnerability is found offline"
    );
    let db = &report["vulnerability_database"];
    assert_eq!(
        (db["records"].as_u64(), db["pypi_records"].as_u64()),
        (Some(2), Some(2))
    );
    assert!(db["source"].as_str().unwrap().ends_with("PyPI-all.zip"));
    assert!(db["age_seconds"].as_u64().is_some());
    let downloaded = &db["downloaded"];
    assert_eq!(downloaded["url"], format!("{}/PyPI/all.zip", server.url));
    assert!(downloaded["at"].as_str().unwrap().starts_with("20"));
    let text = String::from_utf8(check("text").stdout).unwrap();
    assert!(
        text.contains("vulnerability database: ")
            && text.contains(&format!(
                "downloaded by `depdash db update` from {}",
                server.url
            )),
        "{text}"
    );

    // A failed update is exit 4 with the reason; the copy in place still serves.
    server.set(Canned::ok(b"garbage".to_vec(), "\"v2\""));
    let output = update(server.url.clone()).await.unwrap();
    assert_eq!(output.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&output.stderr).contains("not an OSV database"));
    assert_eq!(check("json").status.code(), Some(1));
}
