//! Per-operation timing histograms. Always on: recording is a mutex-guarded histogram insert
//! (~70 ns), so every engine operation can afford it. Two significant figures (1 % relative
//! precision) keep each histogram ~50 KB, so creating one and reading its percentiles stays in
//! the tens of microseconds (three figures cost ~400 KB and ~150 µs per new operation).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Summary of one operation's timings, in milliseconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OperationStats {
    pub count: u64,
    pub total_ms: f64,
    pub mean_ms: f64,
    pub min_ms: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

struct OpHistogram {
    /// Microseconds, 1 µs .. 1 h, 2 significant figures.
    histogram: Histogram<u64>,
    total: Duration,
}

/// A moment of a run placed on its timeline (`metrics.milestones`, milliseconds since the run
/// started): what a cold run waited for before its first request, between its first and last
/// answer (the rounds) and after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Milestone {
    /// The inventory was read.
    InventoryTaken,
    /// The first request was handed to the HTTP client.
    FirstRequest,
    /// The first connection was made (TCP, and TLS where the scheme asks for it).
    FirstConnection,
    /// The first answer was read whole.
    FirstAnswer,
    /// The last answer was read whole.
    LastAnswer,
    /// The report was judged.
    Evaluated,
}

/// Thread-safe collection of histograms keyed by operation name (e.g. `http.pypi`), and the
/// run's milestones.
pub struct Tracker {
    ops: Mutex<BTreeMap<&'static str, OpHistogram>>,
    milestones: Mutex<BTreeMap<Milestone, Instant>>,
}

impl Default for Tracker {
    fn default() -> Self {
        Self::new()
    }
}

const MAX_MICROS: u64 = 3_600_000_000;
const SIGNIFICANT_FIGURES: u8 = 2;

impl Tracker {
    pub fn new() -> Self {
        Tracker {
            ops: Mutex::new(BTreeMap::new()),
            milestones: Mutex::new(BTreeMap::new()),
        }
    }

    /// `milestone` reached now, if it was not before.
    pub fn reached(&self, milestone: Milestone) {
        let mut reached = self.milestones.lock().unwrap_or_else(|p| p.into_inner());
        reached.entry(milestone).or_insert_with(Instant::now);
    }

    /// An answer was read whole: the first answer (if none was before) and the last so far.
    pub fn answer_read(&self) {
        let now = Instant::now();
        let mut reached = self.milestones.lock().unwrap_or_else(|p| p.into_inner());
        reached.entry(Milestone::FirstAnswer).or_insert(now);
        reached.insert(Milestone::LastAnswer, now);
    }

    /// Each milestone reached, as the time since `start` (zero if before it).
    pub fn milestones_since(&self, start: Instant) -> BTreeMap<Milestone, Duration> {
        let reached = self.milestones.lock().unwrap_or_else(|p| p.into_inner());
        (reached.iter())
            .map(|(m, at)| (*m, at.saturating_duration_since(start)))
            .collect()
    }

    /// Record one duration for `op`.
    pub fn record(&self, op: &'static str, elapsed: Duration) {
        let micros = (elapsed.as_micros() as u64).clamp(1, MAX_MICROS);
        let mut ops = self.ops.lock().unwrap_or_else(|p| p.into_inner());
        let entry = ops.entry(op).or_insert_with(|| OpHistogram {
            histogram: Histogram::new_with_bounds(1, MAX_MICROS, SIGNIFICANT_FIGURES)
                .expect("static histogram bounds are valid"),
            total: Duration::ZERO,
        });
        entry.histogram.saturating_record(micros);
        entry.total += elapsed;
    }

    /// Start timing `op`; the time is recorded when the guard drops.
    pub fn start(&self, op: &'static str) -> TimerGuard<'_> {
        TimerGuard {
            tracker: self,
            op,
            started: Instant::now(),
        }
    }

    /// Time a synchronous closure.
    pub fn time<T>(&self, op: &'static str, f: impl FnOnce() -> T) -> T {
        let _guard = self.start(op);
        f()
    }

    /// Time a future.
    pub async fn time_async<T>(&self, op: &'static str, future: impl Future<Output = T>) -> T {
        let started = Instant::now();
        let out = future.await;
        self.record(op, started.elapsed());
        out
    }

    /// Current statistics of every operation, by name.
    pub fn snapshot(&self) -> BTreeMap<String, OperationStats> {
        let ops = self.ops.lock().unwrap_or_else(|p| p.into_inner());
        ops.iter()
            .map(|(name, op)| (name.to_string(), stats_of(&op.histogram, op.total)))
            .collect()
    }
}

fn micros_to_ms(micros: u64) -> f64 {
    micros as f64 / 1000.0
}

fn stats_of(h: &Histogram<u64>, total: Duration) -> OperationStats {
    if h.is_empty() {
        return OperationStats::default();
    }
    OperationStats {
        count: h.len(),
        total_ms: total.as_secs_f64() * 1000.0,
        mean_ms: h.mean() / 1000.0,
        min_ms: micros_to_ms(h.min()),
        p50_ms: micros_to_ms(h.value_at_quantile(0.50)),
        p95_ms: micros_to_ms(h.value_at_quantile(0.95)),
        p99_ms: micros_to_ms(h.value_at_quantile(0.99)),
        max_ms: micros_to_ms(h.max()),
    }
}

/// Records the elapsed time into the tracker when dropped.
pub struct TimerGuard<'a> {
    tracker: &'a Tracker,
    op: &'static str,
    started: Instant,
}

impl Drop for TimerGuard<'_> {
    fn drop(&mut self) {
        self.tracker.record(self.op, self.started.elapsed());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        // hdrhistogram with 2 significant figures: within 1 %.
        (a - b).abs() <= b * 0.01 + 0.001
    }

    #[test]
    fn the_first_answer_keeps_its_time_and_the_last_moves() {
        let t = Tracker::new();
        let start = Instant::now();
        t.answer_read();
        let first = t.milestones_since(start);
        std::thread::sleep(Duration::from_millis(5));
        t.answer_read();
        let then = t.milestones_since(start);
        assert_eq!(
            then[&Milestone::FirstAnswer],
            first[&Milestone::FirstAnswer]
        );
        assert!(
            then[&Milestone::LastAnswer]
                >= first[&Milestone::LastAnswer] + Duration::from_millis(5)
        );
        assert_eq!(then.len(), 2, "only what was reached");
        // Before the start: zero, not a panic.
        let later = Instant::now() + Duration::from_secs(1);
        assert!(t.milestones_since(later).values().all(Duration::is_zero));
    }

    #[test]
    fn percentiles_of_a_uniform_distribution() {
        let t = Tracker::new();
        for ms in 1..=1000u64 {
            t.record("op", Duration::from_millis(ms));
        }
        let s = &t.snapshot()["op"];
        assert_eq!(s.count, 1000);
        assert!(close(s.p50_ms, 500.0), "p50 {}", s.p50_ms);
        assert!(close(s.p95_ms, 950.0), "p95 {}", s.p95_ms);
        assert!(close(s.p99_ms, 990.0), "p99 {}", s.p99_ms);
        assert!(close(s.max_ms, 1000.0), "max {}", s.max_ms);
        assert!(close(s.min_ms, 1.0), "min {}", s.min_ms);
        assert!(close(s.mean_ms, 500.5), "mean {}", s.mean_ms);
        assert!((s.total_ms - 500_500.0).abs() < 1e-6);
    }

    #[test]
    fn skewed_distribution_tail_is_visible_in_p99_not_p50() {
        let t = Tracker::new();
        for _ in 0..980 {
            t.record("op", Duration::from_millis(2));
        }
        for _ in 0..20 {
            t.record("op", Duration::from_millis(400));
        }
        let s = &t.snapshot()["op"];
        assert!(close(s.p50_ms, 2.0));
        assert!(close(s.p95_ms, 2.0));
        assert!(close(s.p99_ms, 400.0), "p99 {}", s.p99_ms);
    }

    #[test]
    fn guard_records_on_drop_and_ops_are_separate() {
        let t = Tracker::new();
        {
            let _g = t.start("a");
        }
        t.time("b", || ());
        t.time("b", || ());
        let snap = t.snapshot();
        assert_eq!(snap["a"].count, 1);
        assert_eq!(snap["b"].count, 2);
    }
}
