//! Offline OSV database: a directory of OSV JSON records (searched recursively) or OSV's
//! per-ecosystem `all.zip`, loaded into memory and indexed by PEP 503 package name. It answers
//! with the same record type and matching rules (`osv::affects`) as the online path.

use std::collections::HashMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use pep440_rs::Version;
use time::OffsetDateTime;

use super::SourceError;
use super::osv::{OsvRecord, affects};
use crate::safe_fs;

/// The largest single record file read from a database directory (real advisories are a few
/// KiB; the largest PyPI ones well under 1 MiB).
const MAX_RECORD_BYTES: u64 = 16 * 1024 * 1024;

/// An in-memory OSV database.
#[derive(Clone, Debug, Default)]
pub struct OsvDatabase {
    records: Vec<OsvRecord>,
    /// PEP 503 name → indexes into `records`.
    by_package: HashMap<String, Vec<usize>>,
    by_id: HashMap<String, usize>,
    newest_modified: Option<OffsetDateTime>,
}

impl OsvDatabase {
    /// Load `path`: a directory (every `*.json` below it) or a `.zip` (every `*.json` entry).
    /// One unreadable or invalid record refuses the whole database, naming the file and line:
    /// silently skipping it could hide a vulnerability.
    pub fn open(path: &Path) -> Result<Self, SourceError> {
        let io_error = |source| SourceError::Io {
            path: path.to_path_buf(),
            source,
        };
        let metadata = fs::metadata(path).map_err(io_error)?;
        let mut records = Vec::new();
        let mut json_files = 0usize;
        if metadata.is_dir() {
            load_directory(path, &mut records, &mut json_files)?;
        } else if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("zip"))
        {
            load_zip(path, &mut records, &mut json_files)?;
        } else {
            return Err(SourceError::NotADatabase {
                path: path.to_path_buf(),
            });
        }
        let db = Self::from_records(records);
        if db.pypi_records() == 0 {
            let detail = if json_files == 0 {
                "no OSV JSON records in it".to_string()
            } else {
                let mut ecosystems: Vec<&str> = db
                    .records
                    .iter()
                    .flat_map(|r| r.affected.iter())
                    .filter_map(|a| a.package.as_ref().map(|p| p.ecosystem.as_str()))
                    .collect();
                ecosystems.sort_unstable();
                ecosystems.dedup();
                let named = if ecosystems.is_empty() {
                    "no ecosystem named".to_string()
                } else {
                    format!("ecosystems: {}", ecosystems.join(", "))
                };
                format!("{json_files} JSON record(s), none about a PyPI package ({named})")
            };
            return Err(SourceError::NoPypiRecords {
                path: path.to_path_buf(),
                detail,
            });
        }
        Ok(db)
    }

    /// Records about at least one PyPI package.
    pub fn pypi_records(&self) -> usize {
        let mut indexes: Vec<usize> = self.by_package.values().flatten().copied().collect();
        indexes.sort_unstable();
        indexes.dedup();
        indexes.len()
    }

    /// Index records already in memory. A record appearing twice keeps its newest `modified`.
    pub fn from_records(records: Vec<OsvRecord>) -> Self {
        let mut latest: HashMap<String, OsvRecord> = HashMap::with_capacity(records.len());
        for record in records {
            match latest.get(&record.id) {
                Some(kept)
                    if crate::units::parse_timestamp(&kept.modified)
                        >= crate::units::parse_timestamp(&record.modified) => {}
                _ => {
                    latest.insert(record.id.clone(), record);
                }
            }
        }
        let mut records: Vec<OsvRecord> = latest.into_values().collect();
        records.sort_by(|a, b| a.id.cmp(&b.id));

        let mut db = OsvDatabase::default();
        // A `modified` date in the future is a clock error or a forgery: it must not make an
        // old database look fresh to `max_db_age`.
        let now = OffsetDateTime::now_utc();
        for (index, record) in records.iter().enumerate() {
            let modified = crate::units::parse_timestamp(&record.modified).filter(|t| *t <= now);
            db.newest_modified = db.newest_modified.max(modified);
            db.by_id.insert(record.id.clone(), index);
            let mut packages: Vec<String> = record.pypi_packages().collect();
            packages.sort();
            packages.dedup();
            for package in packages {
                db.by_package.entry(package).or_default().push(index);
            }
        }
        db.records = records;
        db
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The newest `modified` timestamp of any record: how fresh the data is. (File times are not
    /// used: unzipping or copying resets them without making the data newer.)
    pub fn newest_modified(&self) -> Option<OffsetDateTime> {
        self.newest_modified
    }

    /// Now minus [`newest_modified`](Self::newest_modified); `None` when no record has a
    /// readable timestamp (treat as unknown age).
    pub fn age(&self) -> Option<Duration> {
        let newest = self.newest_modified?;
        Some(Duration::try_from(OffsetDateTime::now_utc() - newest).unwrap_or(Duration::ZERO))
    }

    /// Records affecting PyPI package `name` (any spelling) at `version`, sorted by id.
    /// Withdrawn records affect nothing.
    pub fn query(&self, name: &str, version: &Version) -> Vec<&OsvRecord> {
        let normalized = crate::model::normalize_name(name);
        let mut hits: Vec<&OsvRecord> = self
            .by_package
            .get(&normalized)
            .into_iter()
            .flatten()
            .map(|&i| &self.records[i])
            .filter(|r| affects(r, &normalized, version))
            .collect();
        hits.sort_by(|a, b| a.id.cmp(&b.id));
        hits
    }

    /// The record with this id.
    pub fn get(&self, id: &str) -> Option<&OsvRecord> {
        self.by_id.get(id).map(|&i| &self.records[i])
    }
}

fn parse_record(location: impl FnOnce() -> String, text: &[u8]) -> Result<OsvRecord, SourceError> {
    serde_json::from_slice(text).map_err(|e| SourceError::Record {
        location: location(),
        line: e.line(),
        column: e.column(),
        detail: e.to_string(),
    })
}

fn is_json(name: &str) -> bool {
    Path::new(name)
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
}

fn load_directory(
    dir: &Path,
    records: &mut Vec<OsvRecord>,
    json_files: &mut usize,
) -> Result<(), SourceError> {
    let io_error = |path: &Path, source| SourceError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|e| io_error(dir, e))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(|e| io_error(dir, e))?;
    entries.sort();
    for path in entries {
        // `symlink_metadata`: a symlinked directory is not followed (no loops).
        let metadata = fs::symlink_metadata(&path).map_err(|e| io_error(&path, e))?;
        if metadata.is_dir() {
            load_directory(&path, records, json_files)?;
        } else if path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(is_json)
        {
            // Never blocking on a FIFO or opening a socket named `*.json`; a record larger than
            // any real advisory is refused, like any other record that cannot be read.
            let text = safe_fs::read_regular(&path, MAX_RECORD_BYTES)
                .map_err(|e| io_error(&path, e.into()))?;
            *json_files += 1;
            records.push(parse_record(|| path.display().to_string(), &text)?);
        }
    }
    Ok(())
}

fn load_zip(
    path: &Path,
    records: &mut Vec<OsvRecord>,
    json_files: &mut usize,
) -> Result<(), SourceError> {
    let zip_error = |detail: String| SourceError::Zip {
        path: path.to_path_buf(),
        detail,
    };
    let file = safe_fs::open_regular(path).map_err(|e| SourceError::Io {
        path: path.to_path_buf(),
        source: e.into(),
    })?;
    let mut archive = zip::ZipArchive::new(std::io::BufReader::new(file))
        .map_err(|e| zip_error(e.to_string()))?;
    let mut buffer = Vec::new();
    for index in 0..archive.len() {
        let mut entry = archive
            .by_index(index)
            .map_err(|e| zip_error(format!("entry {index}: {e}")))?;
        let name = entry
            .name()
            .map_err(|e| zip_error(format!("entry {index}: {e}")))?
            .to_string();
        if entry.is_dir() || !is_json(&name) {
            continue;
        }
        buffer.clear();
        // Counted after decompression: one entry of a crafted zip cannot fill memory.
        (&mut entry)
            .take(MAX_RECORD_BYTES + 1)
            .read_to_end(&mut buffer)
            .map_err(|e| zip_error(format!("{name}: {e}")))?;
        if buffer.len() as u64 > MAX_RECORD_BYTES {
            return Err(zip_error(format!(
                "{name}: larger than {MAX_RECORD_BYTES} bytes uncompressed; not an OSV record"
            )));
        }
        *json_files += 1;
        records.push(parse_record(
            || format!("{}!{name}", path.display()),
            &buffer,
        )?);
    }
    Ok(())
}
