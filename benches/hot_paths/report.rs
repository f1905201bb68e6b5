//! The report half of a 10,000-package run: the dependency graph, every package's `required_by`
//! paths (what `policy.evaluate` spends most on), and rendering the JSON report. The packages
//! come from the synthetic environment `depdash synth-env` writes (same generator, seed 42).

use std::sync::LazyLock;

use depdash::analysis::DependencyGraph;
use depdash::model::{PackageReport, Report, ResolvedLicense};
use depdash::telemetry::tracker::Tracker;
use divan::Bencher;

/// Most paths per package, as the report keeps.
const MAX_PATHS: usize = 10;

static PACKAGES: LazyLock<Vec<PackageReport>> = LazyLock::new(|| {
    let dir = tempfile::tempdir().expect("tempdir");
    let site = dir.path().join("site-packages");
    depdash::inventory::synthetic::write_site_packages(&site, 10_000, 42).expect("generate");
    let inventory =
        depdash::inventory::scan_site_packages_with_threads(&[site], &Tracker::new(), None);
    (inventory.distributions.iter())
        .map(|d| PackageReport::of(d, ResolvedLicense::unknown("synthetic")))
        .collect()
});

/// The packages with their `required_by` filled in, in a report.
static REPORT: LazyLock<Report> = LazyLock::new(|| {
    let mut packages = PACKAGES.clone();
    let paths: Vec<_> = {
        let graph = DependencyGraph::new(&packages);
        (packages.iter())
            .map(|p| graph.paths(&p.normalized, MAX_PATHS))
            .collect()
    };
    for (p, paths) in packages.iter_mut().zip(paths) {
        p.required_by = paths;
    }
    Report::new(Default::default(), None, packages, vec![], vec![])
});

#[divan::bench(sample_count = 20)]
fn dependency_graph_10k(bencher: Bencher) {
    let packages = &*PACKAGES;
    bencher.bench(|| DependencyGraph::new(packages));
}

#[divan::bench(sample_count = 20)]
fn required_by_10k(bencher: Bencher) {
    let packages = &*PACKAGES;
    let graph = DependencyGraph::new(packages);
    bencher.bench_local(|| {
        (packages.iter())
            .map(|p| graph.paths(&p.normalized, MAX_PATHS).len())
            .sum::<usize>()
    });
}

/// Rendered as `-o` renders it: through a 64 KB `BufWriter` on a file, here `/dev/null`.
#[divan::bench(sample_count = 20)]
fn json_report_10k(bencher: Bencher) {
    let report = &*REPORT;
    let null = std::fs::File::create("/dev/null").expect("/dev/null");
    bencher.bench_local(|| {
        let mut out = std::io::BufWriter::with_capacity(64 * 1024, &null);
        depdash::output::json::render(report, &mut out)
    });
}
