//! Inventory hot paths: parsing one METADATA header, and scanning generated environments of
//! 200 and 5,000 distributions (generated once into a temp dir; page cache warm).

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use depdash::inventory::{core_metadata, scan_site_packages_with_threads, synthetic};
use depdash::telemetry::tracker::Tracker;
use divan::Bencher;

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

/// A typical wheel METADATA (requests: classifiers, License field, extras).
static TYPICAL: LazyLock<Vec<u8>> = LazyLock::new(|| {
    std::fs::read(fixture(
        "site-packages-real/requests-2.34.2.dist-info/METADATA",
    ))
    .expect("fixture")
});

/// numpy 1.26.4: a whole license text in `License:` and a 55 KB body.
static LONG_LICENSE: LazyLock<Vec<u8>> = LazyLock::new(|| {
    std::fs::read(fixture("metadata/numpy-1.26.4.dist-info/METADATA")).expect("fixture")
});

struct Generated {
    _dir: tempfile::TempDir,
    site: PathBuf,
}

fn generate(count: usize) -> Generated {
    let dir = tempfile::tempdir().expect("tempdir");
    let site = dir.path().join("site-packages");
    synthetic::write_site_packages(&site, count, 2024).expect("generate");
    Generated { _dir: dir, site }
}

static ENV_200: LazyLock<Generated> = LazyLock::new(|| generate(200));
static ENV_5000: LazyLock<Generated> = LazyLock::new(|| generate(5000));

fn env(size: usize) -> &'static Generated {
    if size <= 200 { &ENV_200 } else { &ENV_5000 }
}

#[divan::bench]
fn parse_metadata_typical(bencher: Bencher) {
    let bytes: &[u8] = &TYPICAL;
    bencher.bench(|| core_metadata::parse(divan::black_box(bytes)));
}

#[divan::bench]
fn parse_metadata_long_license(bencher: Bencher) {
    let bytes: &[u8] = &LONG_LICENSE;
    bencher.bench(|| core_metadata::parse(divan::black_box(bytes)));
}

/// The scan as `load` runs it (thread count chosen by size).
#[divan::bench(args = [200, 5000], sample_count = 30)]
fn scan_generated(bencher: Bencher, size: usize) {
    let dirs = vec![env(size).site.clone()];
    bencher.bench(|| scan_site_packages_with_threads(&dirs, &Tracker::new(), None));
}

/// One reader thread against two, to justify the parallelism threshold.
#[divan::bench(args = [1, 2], sample_count = 30)]
fn scan_200_threads(bencher: Bencher, threads: usize) {
    let dirs = vec![env(200).site.clone()];
    bencher.bench(|| scan_site_packages_with_threads(&dirs, &Tracker::new(), Some(threads)));
}

#[divan::bench(args = [1, 2], sample_count = 20)]
fn scan_5000_threads(bencher: Bencher, threads: usize) {
    let dirs = vec![env(5000).site.clone()];
    bencher.bench(|| scan_site_packages_with_threads(&dirs, &Tracker::new(), Some(threads)));
}
