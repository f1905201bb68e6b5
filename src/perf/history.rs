//! Run history: one JSON line per run in `history.jsonl` (platform data directory), bounded to
//! the newest `limit` records. It feeds regression detection and the hit rates shown by
//! `depdash cache stats`.
//!
//! Appends are a single `O_APPEND` write of one line, so concurrent runs do not interleave.
//! When the file grows past its limit (or holds corrupt lines) it is re-read, trimmed and
//! rewritten atomically (temp file + rename). A corrupt line (e.g. a run killed mid-write, or a
//! hand edit) is skipped and counted, never fatal.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::cache::file::{create_private_dir, write_atomic};
use crate::telemetry::tracker::OperationStats;

/// Timing summary of one operation in one run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OpSummary {
    pub count: u64,
    pub p50_ms: f64,
    pub p95_ms: f64,
}

impl From<&OperationStats> for OpSummary {
    fn from(stats: &OperationStats) -> Self {
        OpSummary {
            count: stats.count,
            p50_ms: stats.p50_ms,
            p95_ms: stats.p95_ms,
        }
    }
}

/// One run, as remembered.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// RFC 3339 UTC timestamp of the run's end.
    pub at: String,
    /// What was checked (the report's target path): history and charts are per target.
    /// Empty in records written before targets were recorded.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub target: String,
    /// Run fingerprint (inventory + policy + sources): only runs with the same one compare.
    pub fingerprint: String,
    /// `"cold"`, `"warm"` or `"no-cache"`, decided by the caller.
    pub cache_state: String,
    pub packages: usize,
    pub findings: usize,
    pub unknowns: usize,
    pub total_ms: f64,
    pub hit_rate: f64,
    pub operations: BTreeMap<String, OpSummary>,
}

impl RunRecord {
    /// The current time as RFC 3339 UTC, for [`RunRecord::at`].
    pub fn now() -> String {
        time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    }

    /// Summaries of a tracker snapshot, for [`RunRecord::operations`].
    pub fn summarize(operations: &BTreeMap<String, OperationStats>) -> BTreeMap<String, OpSummary> {
        operations
            .iter()
            .map(|(name, stats)| (name.clone(), OpSummary::from(stats)))
            .collect()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("no data directory on this system (no home directory?) for the run history")]
    NoDefaultPath,
    #[error("run history {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// The run history file, loaded.
#[derive(Debug)]
pub struct History {
    path: PathBuf,
    records: Vec<RunRecord>,
    corrupt_lines: usize,
}

/// Records of `text`, oldest first, and the number of lines that did not parse.
fn parse_lines(path: &Path, text: &str) -> (Vec<RunRecord>, usize) {
    let mut records = Vec::new();
    let mut corrupt = 0;
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str(line) {
            Ok(record) => records.push(record),
            Err(e) => {
                corrupt += 1;
                tracing::warn!(path = %path.display(), line = index + 1, error = %e,
                    "skipping corrupt run history line");
            }
        }
    }
    (records, corrupt)
}

fn read_text(path: &Path) -> Result<String, HistoryError> {
    match fs::read(path) {
        // Lossy: one bad byte spoils its line, not the whole history.
        Ok(bytes) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(String::new()),
        Err(source) => Err(HistoryError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

impl History {
    /// `ProjectDirs::data_dir()/history.jsonl` (e.g. `~/.local/share/depdash/history.jsonl`).
    pub fn default_path() -> Result<PathBuf, HistoryError> {
        directories::ProjectDirs::from("", "", "depdash")
            .map(|dirs| dirs.data_dir().join("history.jsonl"))
            .ok_or(HistoryError::NoDefaultPath)
    }

    /// Loads the history; a missing file is an empty history.
    pub fn open(path: &Path) -> Result<History, HistoryError> {
        let (records, corrupt_lines) = parse_lines(path, &read_text(path)?);
        Ok(History {
            path: path.to_path_buf(),
            records,
            corrupt_lines,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// All records, oldest first.
    pub fn records(&self) -> &[RunRecord] {
        &self.records
    }

    /// Lines skipped because they did not parse.
    pub fn corrupt_lines(&self) -> usize {
        self.corrupt_lines
    }

    /// The newest `n` records, oldest first.
    pub fn recent(&self, n: usize) -> &[RunRecord] {
        &self.records[self.records.len().saturating_sub(n)..]
    }

    /// Records with the same fingerprint and cache state, oldest first.
    pub fn comparable(&self, fingerprint: &str, cache_state: &str) -> Vec<&RunRecord> {
        self.records
            .iter()
            .filter(|r| r.fingerprint == fingerprint && r.cache_state == cache_state)
            .collect()
    }

    /// What a run needs of the history, without loading it: the newest `n` records that
    /// `wanted` accepts (oldest first), parsing from the end of the file only the lines that
    /// mention `fingerprint`. A missing file is an empty history; corrupt lines are skipped.
    pub fn newest(
        path: &Path,
        fingerprint: &str,
        n: usize,
        wanted: impl Fn(&RunRecord) -> bool,
    ) -> Result<Vec<RunRecord>, HistoryError> {
        let text = read_text(path)?;
        let mut found: Vec<RunRecord> = text
            .lines()
            .rev()
            .filter(|line| line.contains(fingerprint))
            .filter_map(|line| serde_json::from_str::<RunRecord>(line).ok())
            .filter(|r| wanted(r))
            .take(n)
            .collect();
        found.reverse();
        Ok(found)
    }

    /// Appends `record` for a run, without loading the history: one line, under the lock. The
    /// file is re-read, trimmed to the newest `limit` records and rewritten only once it holds
    /// `limit + limit / 4` lines, so a run with a full history appends a line instead of
    /// rewriting the file every time (readers may see up to that many records).
    pub fn append_run(path: &Path, record: &RunRecord, limit: usize) -> Result<(), HistoryError> {
        let limit = limit.max(1);
        let mut history = History {
            path: path.to_path_buf(),
            records: Vec::new(),
            corrupt_lines: 0,
        };
        // Counted under the lock: other runs may have appended since this one started.
        history.write(record, limit, |path| {
            Ok(read_text(path)?.lines().count() + 1 < limit + limit / 4)
        })
    }

    /// Appends `record`, keeping at most `limit` (at least 1) records in the file.
    pub fn append(&mut self, record: &RunRecord, limit: usize) -> Result<(), HistoryError> {
        let fits = self.records.len() < limit.max(1) && self.corrupt_lines == 0;
        self.write(record, limit, |_| Ok(fits))
    }

    /// Appends `record` when `may_append` (asked under the lock) says so, else rewrites the
    /// file with the newest `limit` records.
    fn write(
        &mut self,
        record: &RunRecord,
        limit: usize,
        may_append: impl FnOnce(&Path) -> Result<bool, HistoryError>,
    ) -> Result<(), HistoryError> {
        let limit = limit.max(1);
        let io_error = |source| HistoryError::Io {
            path: self.path.clone(),
            source,
        };
        let mut line = serde_json::to_string(record)
            .map_err(|e| io_error(io::Error::new(io::ErrorKind::InvalidData, e)))?;
        line.push('\n');
        if let Some(parent) = self.path.parent().filter(|p| !p.as_os_str().is_empty()) {
            create_private_dir(parent).map_err(io_error)?;
        }
        // Runs sharing one history file: one writer at a time, so a rewrite (trim to `limit`)
        // never drops a record appended meanwhile, nor appends to a file being replaced.
        let _lock = crate::safe_fs::FileLock::acquire(&self.path).map_err(io_error)?;

        if may_append(&self.path)? {
            append_line(&self.path, &line).map_err(io_error)?;
            self.records.push(record.clone());
            return Ok(());
        }

        // Re-read so that records appended by another run since `open` are kept.
        let (mut records, _) = parse_lines(&self.path, &read_text(&self.path)?);
        records.push(record.clone());
        let records = records.split_off(records.len().saturating_sub(limit));
        let mut text = String::new();
        for r in &records {
            let encoded = serde_json::to_string(r)
                .map_err(|e| io_error(io::Error::new(io::ErrorKind::InvalidData, e)))?;
            text.push_str(&encoded);
            text.push('\n');
        }
        write_atomic(&self.path, text.as_bytes()).map_err(io_error)?;
        self.records = records;
        self.corrupt_lines = 0;
        Ok(())
    }
}

/// Appends one line in a single write. If the file does not end in a newline (a run died
/// mid-write), a newline goes first so the torn line stays alone and the new one parses.
fn append_line(path: &Path, line: &str) -> io::Result<()> {
    let mut options = OpenOptions::new();
    options.create(true).append(true).read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    let mut text = String::with_capacity(line.len() + 1);
    if file.metadata()?.len() > 0 {
        let mut last = [0u8; 1];
        file.seek(SeekFrom::End(-1))?;
        file.read_exact(&mut last)?;
        if last[0] != b'\n' {
            text.push('\n');
        }
    }
    text.push_str(line);
    file.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(n: usize) -> RunRecord {
        RunRecord {
            at: format!("2026-01-01T00:00:{n:02}Z"),
            fingerprint: "fp".into(),
            cache_state: "warm".into(),
            packages: n,
            total_ms: n as f64,
            ..RunRecord::default()
        }
    }

    #[test]
    fn append_and_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("history.jsonl");
        let mut history = History::open(&path).unwrap();
        assert!(history.records().is_empty());
        for n in 0..3 {
            history.append(&record(n), 10).unwrap();
        }
        let reopened = History::open(&path).unwrap();
        assert_eq!(reopened.records(), history.records());
        assert_eq!(reopened.records().len(), 3);
        assert_eq!(reopened.recent(2), &[record(1), record(2)]);
        assert_eq!(reopened.recent(10).len(), 3);
    }

    #[test]
    fn a_run_appends_lines_and_trims_only_past_the_slack() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.jsonl");
        let lines = || fs::read_to_string(&path).unwrap().lines().count();
        // Limit 8: up to 8 + 2 lines are appended; the line that would reach 10 trims to 8.
        for n in 0..9 {
            History::append_run(&path, &record(n), 8).unwrap();
        }
        assert_eq!(lines(), 9);
        History::append_run(&path, &record(9), 8).unwrap();
        assert_eq!(lines(), 8);
        let kept: Vec<usize> = (History::open(&path).unwrap().records().iter())
            .map(|r| r.packages)
            .collect();
        assert_eq!(kept, (2..10).collect::<Vec<_>>());
    }

    #[test]
    fn a_run_reads_only_its_newest_comparable_records() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.jsonl");
        assert!(
            History::newest(&path, "fp", 3, |_| true)
                .unwrap()
                .is_empty()
        );
        let other = RunRecord {
            fingerprint: "other".into(),
            ..record(99)
        };
        let mut text = String::new();
        for n in 0..6 {
            text.push_str(&serde_json::to_string(&record(n)).unwrap());
            text.push_str("\nnot json fp\n");
            text.push_str(&serde_json::to_string(&other).unwrap());
            text.push('\n');
        }
        fs::write(&path, text).unwrap();
        let newest = History::newest(&path, "fp", 3, |r| r.fingerprint == "fp").unwrap();
        let got: Vec<usize> = newest.iter().map(|r| r.packages).collect();
        assert_eq!(got, vec![3, 4, 5]);
        // `wanted` decides beyond the fingerprint (cache state, target).
        let odd = History::newest(&path, "fp", 2, |r| r.packages % 2 == 1).unwrap();
        assert_eq!(
            odd.iter().map(|r| r.packages).collect::<Vec<_>>(),
            vec![3, 5]
        );
    }

    #[test]
    fn bounded_drops_oldest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.jsonl");
        let mut history = History::open(&path).unwrap();
        for n in 0..8 {
            history.append(&record(n), 5).unwrap();
        }
        let reopened = History::open(&path).unwrap();
        let kept: Vec<usize> = reopened.records().iter().map(|r| r.packages).collect();
        assert_eq!(kept, vec![3, 4, 5, 6, 7]);
        assert_eq!(fs::read_to_string(&path).unwrap().lines().count(), 5);
    }

    #[test]
    fn corrupt_lines_are_skipped_counted_and_cleaned_on_rewrite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.jsonl");
        let good = serde_json::to_string(&record(1)).unwrap();
        let torn = &good[..good.len() / 2];
        fs::write(
            &path,
            format!("{good}\nnot json\n{{\"at\": 5}}\n\n{good}\n\u{fffd}\u{0}\n{torn}"),
        )
        .unwrap();
        let mut history = History::open(&path).unwrap();
        assert_eq!(history.records().len(), 2);
        assert_eq!(history.corrupt_lines(), 4);

        history.append(&record(2), 100).unwrap();
        let reopened = History::open(&path).unwrap();
        assert_eq!(reopened.corrupt_lines(), 0);
        assert_eq!(reopened.records().len(), 3);
    }

    #[test]
    fn append_after_a_torn_last_line_starts_a_new_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.jsonl");
        let good = serde_json::to_string(&record(1)).unwrap();
        fs::write(&path, format!("{good}\n{}", &good[..10])).unwrap();
        // Open before the tear was written: the in-memory view believes all is well.
        let mut history = History {
            path: path.clone(),
            records: vec![record(1)],
            corrupt_lines: 0,
        };
        history.append(&record(2), 100).unwrap();
        let reopened = History::open(&path).unwrap();
        assert_eq!(reopened.records(), &[record(1), record(2)]);
        assert_eq!(reopened.corrupt_lines(), 1);
    }

    #[test]
    fn comparable_filters_fingerprint_and_cache_state() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.jsonl");
        let mut history = History::open(&path).unwrap();
        history.append(&record(1), 10).unwrap();
        history
            .append(
                &RunRecord {
                    cache_state: "cold".into(),
                    ..record(2)
                },
                10,
            )
            .unwrap();
        history
            .append(
                &RunRecord {
                    fingerprint: "other".into(),
                    ..record(3)
                },
                10,
            )
            .unwrap();
        history.append(&record(4), 10).unwrap();
        let found: Vec<usize> = history
            .comparable("fp", "warm")
            .iter()
            .map(|r| r.packages)
            .collect();
        assert_eq!(found, vec![1, 4]);
    }

    #[test]
    fn timestamp_is_rfc3339() {
        let now = RunRecord::now();
        assert!(
            time::OffsetDateTime::parse(&now, &time::format_description::well_known::Rfc3339)
                .is_ok(),
            "{now}"
        );
    }
}
