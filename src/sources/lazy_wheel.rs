//! A wheel's license files without downloading the wheel, as pip's lazy wheel reads metadata:
//! HTTP range requests for the end of the archive (end of central directory, then the central
//! directory), then only the bytes of the entries wanted. The zip crate reads the archive from
//! a sparse buffer of the ranges fetched so far; a read outside them is noted, fetched, and the
//! reading tried again. Bounded in rounds, in bytes per wheel, and in files and bytes per file.

use std::cell::Cell;
use std::io::{self, Read, Seek, SeekFrom};

use reqwest::header::{CONTENT_RANGE, HeaderMap, HeaderValue, RANGE};

use super::http::{Answered, FetchError, HttpClient};
use super::revalidate::Outgoing;
use crate::telemetry::SourceKind;

/// The first request: the last bytes of the archive (its directory, often its dist-info too).
const TAIL_BYTES: u64 = 32 * 1024;
/// A later request: this much from the missing byte, doubled each round (a big central
/// directory is read in a few rounds, a small entry in one), never past the next fetched byte.
const STEP_BYTES: u64 = 32 * 1024;
/// Most requests and bytes spent on one wheel.
const MAX_ROUNDS: usize = 8;
const MAX_WHEEL_BYTES: u64 = 4 * 1024 * 1024;
/// Most license files read, and bytes of each (as the local license file reader).
const MAX_FILES: usize = 16;
const MAX_FILE_BYTES: u64 = 256 * 1024;

/// A license file of the wheel: its path relative to the `.dist-info` directory, and its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WheelFile {
    pub path: String,
    pub bytes: Vec<u8>,
}

/// What the wheel gave: its license files (possibly none), or why they could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WheelLicenses {
    Read(Vec<WheelFile>),
    Unavailable(String),
}

/// A slice of the file as a range answer tells it.
struct Slice {
    start: u64,
    total: u64,
    bytes: Vec<u8>,
}

/// Read the license files of the wheel at `url`: those `listed` (`License-File` values), or
/// when none are listed those named like license files, in the `.dist-info` directory.
pub async fn license_files(
    http: &HttpClient,
    url: &str,
    subject: &str,
    listed: &[String],
) -> Result<WheelLicenses, FetchError> {
    let Some(tail) = fetch(http, url, subject, &format!("bytes=-{TAIL_BYTES}")).await? else {
        return Ok(WheelLicenses::Unavailable(
            "the wheel is not there (HTTP 404)".into(),
        ));
    };
    let mut spent = tail.bytes.len() as u64;
    let mut sparse = Sparse {
        len: tail.total,
        chunks: vec![(tail.start, tail.bytes)],
        miss: Cell::new(None),
    };
    for round in 0..MAX_ROUNDS {
        let missing = match read_licenses(&sparse, listed) {
            Ok(files) => return Ok(WheelLicenses::Read(files)),
            Err(Step::Missing(at)) => at,
            Err(Step::Invalid(why)) => return Ok(WheelLicenses::Unavailable(why)),
        };
        let end = sparse.fetch_end(missing, round);
        if spent + (end - missing) > MAX_WHEEL_BYTES {
            break;
        }
        let range = format!("bytes={missing}-{}", end - 1);
        let Some(slice) = fetch(http, url, subject, &range).await? else {
            return Ok(WheelLicenses::Unavailable(
                "the wheel is gone (HTTP 404)".into(),
            ));
        };
        if slice.total != sparse.len {
            return Ok(WheelLicenses::Unavailable(
                "the wheel changed while read".into(),
            ));
        }
        spent += slice.bytes.len() as u64;
        sparse.chunks.push((slice.start, slice.bytes));
    }
    Ok(WheelLicenses::Unavailable(format!(
        "its license files need more than {MAX_ROUNDS} range requests or {} KiB",
        MAX_WHEEL_BYTES / 1024
    )))
}

async fn fetch(
    http: &HttpClient,
    url: &str,
    subject: &str,
    range: &str,
) -> Result<Option<Slice>, FetchError> {
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(range) {
        headers.insert(RANGE, value);
    }
    // A server that ignores `Range` sends the whole wheel: no more than the budget of one.
    let out = Outgoing::with_headers(headers).at_most(MAX_WHEEL_BYTES as usize);
    let answer = http.get_with(SourceKind::Wheel, url, subject, out, slice);
    Ok(answer.await?.into_option())
}

/// A range answer (206 with `Content-Range`), or the whole file (200: no range support).
fn slice(answer: Answered) -> Result<Slice, String> {
    if answer.status == 200 {
        let total = answer.body.len() as u64;
        return Ok(Slice {
            start: 0,
            total,
            bytes: answer.body,
        });
    }
    let header = (answer.headers.get(CONTENT_RANGE))
        .and_then(|v| v.to_str().ok())
        .ok_or("a range answer without Content-Range")?;
    // `to_str` passed: visible ASCII only.
    let (start, total) = parse_content_range(header)
        .ok_or_else(|| format!("unreadable Content-Range `{header}`"))?;
    let fits = start
        .checked_add(answer.body.len() as u64)
        .is_some_and(|end| end <= total);
    if !fits {
        return Err("a range answer past the end of the file".to_string());
    }
    Ok(Slice {
        start,
        total,
        bytes: answer.body,
    })
}

/// `bytes <start>-<end>/<total>` → (start, total).
fn parse_content_range(value: &str) -> Option<(u64, u64)> {
    let rest = value.trim().strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let (start, end) = range.split_once('-')?;
    let (start, end, total) = (
        start.parse().ok()?,
        end.parse::<u64>().ok()?,
        total.parse().ok()?,
    );
    (start <= end && end < total).then_some((start, total))
}

enum Step {
    /// A byte not fetched yet was needed.
    Missing(u64),
    Invalid(String),
}

/// The ranges fetched so far of a file of `len` bytes; the first read outside them is kept.
struct Sparse {
    len: u64,
    chunks: Vec<(u64, Vec<u8>)>,
    miss: Cell<Option<u64>>,
}

impl Sparse {
    /// Where the fetch from `missing` in round `round` ends (see [`STEP_BYTES`]).
    fn fetch_end(&self, missing: u64, round: usize) -> u64 {
        let next = (self.chunks.iter())
            .map(|(start, _)| *start)
            .filter(|start| *start > missing)
            .min()
            .unwrap_or(self.len);
        let step = STEP_BYTES << round.min(8);
        missing.saturating_add(step).min(next).max(missing + 1)
    }
}

struct Cursor<'a> {
    sparse: &'a Sparse,
    pos: u64,
}

impl Read for Cursor<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.sparse.len || buf.is_empty() {
            return Ok(0);
        }
        let chunk = (self.sparse.chunks.iter())
            .find(|(start, bytes)| *start <= self.pos && self.pos < start + bytes.len() as u64);
        let Some((start, bytes)) = chunk else {
            self.sparse.miss.set(Some(self.pos));
            return Err(io::Error::other("range not fetched yet"));
        };
        let from = (self.pos - start) as usize;
        let n = buf.len().min(bytes.len() - from);
        buf[..n].copy_from_slice(&bytes[from..from + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for Cursor<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.sparse.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = target.ok_or_else(|| io::Error::other("seek out of range"))?;
        Ok(self.pos)
    }
}

/// One pass over what is fetched: the license files, or the first byte missing.
fn read_licenses(sparse: &Sparse, listed: &[String]) -> Result<Vec<WheelFile>, Step> {
    sparse.miss.set(None);
    let failed = |e: &dyn std::fmt::Display| match sparse.miss.take() {
        Some(at) => Step::Missing(at),
        None => Step::Invalid(format!("not a readable wheel ({e})")),
    };
    let cursor = Cursor { sparse, pos: 0 };
    let mut archive = zip::ZipArchive::new(cursor).map_err(|e| failed(&e))?;
    let names: Vec<(String, String)> = (archive.file_names())
        .filter_map(|name| name.ok())
        .filter_map(|name| Some((name.to_string(), wanted(&name, listed)?)))
        .take(MAX_FILES)
        .collect();
    let mut files = Vec::new();
    for (name, path) in names {
        let entry = archive.by_name(&name).map_err(|e| failed(&e))?;
        let mut bytes = Vec::new();
        (entry.take(MAX_FILE_BYTES).read_to_end(&mut bytes)).map_err(|e| failed(&e))?;
        files.push(WheelFile { path, bytes });
    }
    Ok(files)
}

/// The path of `name` inside its `.dist-info` directory when it is a license file to read.
fn wanted(name: &str, listed: &[String]) -> Option<String> {
    let (dir, path) = name.split_once('/')?;
    if !dir.ends_with(".dist-info") || path.is_empty() || path.ends_with('/') {
        return None;
    }
    let is_listed = |l: &String| path == l || path.strip_prefix("licenses/") == Some(l.as_str());
    let by_name = || {
        let file = path.strip_prefix("licenses/").unwrap_or(path);
        let upper = file.to_ascii_uppercase();
        !file.contains('/')
            && ["LICENSE", "LICENCE", "COPYING", "COPYRIGHT", "NOTICE"]
                .iter()
                .any(|prefix| upper.starts_with(prefix))
    };
    let take = if listed.is_empty() {
        by_name()
    } else {
        listed.iter().any(is_listed)
    };
    take.then(|| path.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::Digest as _;

    fn wheel(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = io::Cursor::new(Vec::new());
        let mut writer = zip::ZipWriter::new(&mut out);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, bytes) in entries {
            writer.start_file(*name, options).unwrap();
            std::io::Write::write_all(&mut writer, bytes).unwrap();
        }
        writer.finish().unwrap();
        out.into_inner()
    }

    #[test]
    fn only_license_files_of_the_dist_info_are_wanted() {
        let listed = vec!["LICENSE.txt".to_string()];
        assert_eq!(
            wanted("demo-1.0.dist-info/licenses/LICENSE.txt", &listed).as_deref(),
            Some("licenses/LICENSE.txt")
        );
        assert_eq!(
            wanted("demo-1.0.dist-info/LICENSE.txt", &listed).as_deref(),
            Some("LICENSE.txt")
        );
        assert_eq!(wanted("demo-1.0.dist-info/COPYING", &listed), None);
        assert_eq!(
            wanted("demo-1.0.dist-info/COPYING", &[]).as_deref(),
            Some("COPYING")
        );
        assert_eq!(wanted("demo/LICENSE", &[]), None);
        assert_eq!(wanted("demo-1.0.dist-info/METADATA", &[]), None);
        assert_eq!(wanted("demo-1.0.dist-info/licenses/", &[]), None);
    }

    #[test]
    fn reading_asks_for_exactly_the_missing_ranges() {
        // Incompressible (hash output), so the archive is really larger than the first range.
        let big: Vec<u8> = (0u32..300 * 1024 / 32)
            .flat_map(|i| sha2::Sha256::digest(i.to_le_bytes()))
            .collect();
        let bytes = wheel(&[
            ("demo-1.0.dist-info/licenses/LICENSE", b"MIT License text"),
            ("demo/blob.bin", &big),
            ("demo-1.0.dist-info/METADATA", b"Name: demo\n"),
        ]);
        let len = bytes.len() as u64;
        let tail_start = len - TAIL_BYTES.min(len);
        let mut sparse = Sparse {
            len,
            chunks: vec![(tail_start, bytes[tail_start as usize..].to_vec())],
            miss: Cell::new(None),
        };
        let mut rounds = 0;
        let files = loop {
            match read_licenses(&sparse, &[]) {
                Ok(files) => break files,
                Err(Step::Missing(at)) => {
                    let end = sparse.fetch_end(at, rounds);
                    sparse
                        .chunks
                        .push((at, bytes[at as usize..end as usize].to_vec()));
                    rounds += 1;
                }
                Err(Step::Invalid(why)) => panic!("{why}"),
            }
            assert!(rounds < MAX_ROUNDS);
        };
        assert_eq!(
            files,
            [WheelFile {
                path: "licenses/LICENSE".into(),
                bytes: b"MIT License text".to_vec()
            }]
        );
        // The license entry is at the start, the directory at the end: one more range, and far
        // less than the whole wheel was read.
        assert_eq!(rounds, 1);
        let fetched: usize = sparse.chunks.iter().map(|(_, b)| b.len()).sum();
        assert!(fetched < bytes.len() / 2, "{fetched} of {}", bytes.len());
    }

    #[test]
    fn hostile_archives_and_ranges_are_refused_not_panics() {
        let sparse = Sparse {
            len: 100,
            chunks: vec![(0, vec![0x50; 100])],
            miss: Cell::new(None),
        };
        assert!(matches!(read_licenses(&sparse, &[]), Err(Step::Invalid(_))));
        assert_eq!(parse_content_range("bytes 10-19/100"), Some((10, 100)));
        assert_eq!(parse_content_range("bytes 10-200/100"), None);
        assert_eq!(parse_content_range("bytes 20-10/100"), None);
        assert_eq!(parse_content_range("bytes */100"), None);
        assert_eq!(parse_content_range("items 0-1/2"), None);
    }
}
