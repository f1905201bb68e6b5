//! Cost of always-on timing: one `Tracker::record`, one guard, one snapshot. Multiplied by the
//! number of recorded operations of a warm run, this is the tracker's overhead.

use std::time::Duration;

use depdash::telemetry::tracker::Tracker;

/// Distinct operation names a run records into.
const OPERATIONS: [&str; 8] = [
    "metadata.parse",
    "license.resolve",
    "cache.get.memory",
    "cache.get.file",
    "http.pypi",
    "http.osv",
    "policy.evaluate",
    "run.total",
];

#[divan::bench]
fn record(bencher: divan::Bencher) {
    let tracker = Tracker::new();
    let mut i = 0usize;
    bencher.bench_local(|| {
        i = i.wrapping_add(1);
        tracker.record(
            OPERATIONS[i % OPERATIONS.len()],
            Duration::from_micros(i as u64 % 5000),
        );
    });
}

#[divan::bench]
fn timer_guard(bencher: divan::Bencher) {
    let tracker = Tracker::new();
    bencher.bench_local(|| {
        let _guard = tracker.start("cache.get.file");
    });
}

#[divan::bench]
fn snapshot_of_eight_operations(bencher: divan::Bencher) {
    let tracker = Tracker::new();
    for (i, op) in OPERATIONS.iter().cycle().take(10_000).enumerate() {
        tracker.record(op, Duration::from_micros(i as u64));
    }
    bencher.bench_local(|| tracker.snapshot());
}
