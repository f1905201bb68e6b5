//! Core metadata (`METADATA` / `PKG-INFO`) header parsing: the RFC 822 style block that ends at
//! the first blank line. The body (Metadata 2.1+ puts `Description` there) is never looked at.
//!
//! Parsing follows what Python's `email` parser (used by `importlib.metadata` and pip) does with
//! these files: field names are case-insensitive, a line starting with a space or tab continues
//! the previous field, single-valued fields keep their first occurrence, and the first line that
//! is neither a field nor a continuation ends the header (reported as a defect).

use std::borrow::Cow;
use std::fmt;

/// The most header bytes read from one metadata file. Real headers are a few KiB (a whole
/// license text in `License` makes tens of KiB); anything past this is not a metadata file.
pub const MAX_HEADER_BYTES: usize = 16 * 1024 * 1024;

/// The fields depdash uses, as the file states them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CoreMetadata {
    pub metadata_version: Option<String>,
    pub name: Option<String>,
    pub version: Option<String>,
    pub summary: Option<String>,
    pub home_page: Option<String>,
    /// Raw `Requires-Dist` values (PEP 508, markers included), in file order.
    pub requires_dist: Vec<String>,
    /// PEP 639 `License-Expression`.
    pub license_expression: Option<String>,
    /// Legacy `License` field. Multi-line values keep their line breaks, with the continuation
    /// indentation (8 spaces, or 7 spaces and `|`) removed.
    pub license: Option<String>,
    /// `License-File` values exactly as written (relative to where the tool stored them).
    pub license_files: Vec<String>,
    /// Only the `License ::` Trove classifiers.
    pub license_classifiers: Vec<String>,
    /// Problems that did not stop parsing (lossy decoding, stray lines).
    pub defects: Vec<MetadataDefect>,
}

/// Something wrong in a metadata header that parsing survived.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MetadataDefect {
    /// Bytes that are not UTF-8 were replaced by U+FFFD.
    InvalidUtf8,
    /// A line that is neither `Field: value` nor a continuation; the header ends there, as it
    /// does for Python's `email` parser.
    StrayLine { line: usize, text: String },
    /// A continuation line before any field.
    OrphanContinuation { line: usize },
}

impl fmt::Display for MetadataDefect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MetadataDefect::InvalidUtf8 => {
                write!(f, "not valid UTF-8; invalid bytes were replaced")
            }
            MetadataDefect::StrayLine { line, text } => write!(
                f,
                "line {line} is not a `Field: value` header ({}); the header ends there",
                snippet(text)
            ),
            MetadataDefect::OrphanContinuation { line } => {
                write!(f, "line {line} continues a field but no field precedes it")
            }
        }
    }
}

/// Why a metadata file could not be parsed at all.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    #[error("metadata file is empty")]
    Empty,
    #[error("metadata file does not start with a `Field: value` header (line 1: {})", snippet(.first_line))]
    NoHeader { first_line: String },
}

fn snippet(text: &str) -> String {
    const MAX_CHARS: usize = 60;
    let mut out: String = text.chars().take(MAX_CHARS).collect();
    if text.chars().nth(MAX_CHARS).is_some() {
        out.push('…');
    }
    format!("{out:?}")
}

/// Which field a header line belongs to (only the ones kept are named).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    MetadataVersion,
    Name,
    Version,
    Summary,
    HomePage,
    RequiresDist,
    LicenseExpression,
    License,
    LicenseFile,
    Classifier,
    Ignored,
}

impl Field {
    fn of(name: &str) -> Field {
        // Matched on length first: this runs once per header line of every installed package.
        let is = |known: &str| name.eq_ignore_ascii_case(known);
        match name.len() {
            4 if is("Name") => Field::Name,
            7 if is("Version") => Field::Version,
            7 if is("Summary") => Field::Summary,
            7 if is("License") => Field::License,
            9 if is("Home-page") => Field::HomePage,
            10 if is("Classifier") => Field::Classifier,
            13 if is("Requires-Dist") => Field::RequiresDist,
            12 if is("License-File") => Field::LicenseFile,
            16 if is("Metadata-Version") => Field::MetadataVersion,
            18 if is("License-Expression") => Field::LicenseExpression,
            _ => Field::Ignored,
        }
    }

    /// Free-text fields whose line breaks carry meaning.
    fn keeps_line_breaks(self) -> bool {
        matches!(self, Field::License)
    }
}

/// Parse a metadata header. `bytes` may hold the whole file or only its start up to (at least)
/// the blank line ending the header; anything after that line is ignored.
pub fn parse(bytes: &[u8]) -> Result<CoreMetadata, MetadataError> {
    // Decode only the header: a multi-megabyte body is neither validated nor copied.
    let header = &bytes[..header_end(bytes, 0).unwrap_or(bytes.len())];
    let mut meta = CoreMetadata::default();
    let text = match std::str::from_utf8(header) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => {
            meta.defects.push(MetadataDefect::InvalidUtf8);
            String::from_utf8_lossy(header)
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    if text.trim().is_empty() {
        return Err(MetadataError::Empty);
    }

    let mut current: Option<(Field, String)> = None;
    let mut saw_field = false;
    for (index, raw_line) in lines(text).enumerate() {
        let line = raw_line.strip_suffix('\r').unwrap_or(raw_line);
        let line_no = index + 1;
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            match &mut current {
                Some((field, value)) if *field != Field::Ignored => {
                    append_continuation(*field, value, line)
                }
                Some(_) => {}
                None => meta
                    .defects
                    .push(MetadataDefect::OrphanContinuation { line: line_no }),
            }
            continue;
        }
        let Some((name, value)) = split_field(line) else {
            if !saw_field {
                return Err(MetadataError::NoHeader {
                    first_line: line.to_string(),
                });
            }
            meta.defects.push(MetadataDefect::StrayLine {
                line: line_no,
                text: line.to_string(),
            });
            break;
        };
        saw_field = true;
        if let Some((field, value)) = current.take() {
            store(&mut meta, field, value);
        }
        let field = Field::of(name);
        current = Some((
            field,
            if field == Field::Ignored {
                String::new()
            } else {
                value.to_string()
            },
        ));
    }
    if let Some((field, value)) = current.take() {
        store(&mut meta, field, value);
    }
    Ok(meta)
}

/// `text` split at `\n` (SIMD search: headers with a whole license text run to 1,000 lines).
fn lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let current = rest?;
        match memchr::memchr(b'\n', current.as_bytes()) {
            Some(i) => {
                rest = Some(&current[i + 1..]);
                Some(&current[..i])
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

/// `Name: value` → (`Name`, `value` without leading blanks). Field names are printable ASCII
/// without spaces or colons, as in RFC 822 and Python's header regex.
fn split_field(line: &str) -> Option<(&str, &str)> {
    let colon = memchr::memchr(b':', line.as_bytes())?;
    let name = &line[..colon];
    if name.is_empty() || !name.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        return None;
    }
    Some((name, line[colon + 1..].trim_start_matches([' ', '\t'])))
}

fn append_continuation(field: Field, value: &mut String, line: &str) {
    if field.keeps_line_breaks() {
        value.push('\n');
        value.push_str(dedent_continuation(line));
    } else {
        let part = line.trim();
        if !part.is_empty() {
            if !value.is_empty() {
                value.push(' ');
            }
            value.push_str(part);
        }
    }
}

/// Remove the indentation tools add to continued free text: 8 spaces (distutils'
/// `rfc822_escape`), 7 spaces and a `|` (the PEP 345 convention), else all leading blanks.
fn dedent_continuation(line: &str) -> &str {
    if let Some(rest) = line.strip_prefix("        ") {
        rest
    } else if let Some(rest) = line.strip_prefix("       |") {
        rest
    } else {
        line.trim_start_matches([' ', '\t'])
    }
}

/// setuptools/distutils write `UNKNOWN` for fields the project left empty.
fn meaningful(value: String) -> Option<String> {
    let trimmed = value.trim_end();
    if trimmed.is_empty() || trimmed == "UNKNOWN" {
        None
    } else if trimmed.len() == value.len() {
        Some(value)
    } else {
        Some(trimmed.to_string())
    }
}

fn store(meta: &mut CoreMetadata, field: Field, value: String) {
    fn first(slot: &mut Option<String>, value: String) {
        if slot.is_none() {
            *slot = meaningful(value);
        }
    }
    match field {
        Field::MetadataVersion => first(&mut meta.metadata_version, value),
        Field::Name => first(&mut meta.name, value),
        Field::Version => first(&mut meta.version, value),
        Field::Summary => first(&mut meta.summary, value),
        Field::HomePage => first(&mut meta.home_page, value),
        Field::LicenseExpression => first(&mut meta.license_expression, value),
        Field::License => first(&mut meta.license, value),
        Field::RequiresDist => meta.requires_dist.extend(meaningful(value)),
        Field::LicenseFile => meta.license_files.extend(meaningful(value)),
        Field::Classifier => {
            if value.starts_with("License ::") {
                meta.license_classifiers.extend(meaningful(value));
            }
        }
        Field::Ignored => {}
    }
}

impl CoreMetadata {
    /// `Metadata-Version` as (major, minor), when it is a number.
    pub fn metadata_version_number(&self) -> Option<(u32, u32)> {
        let version = self.metadata_version.as_deref()?.trim();
        let (major, minor) = version.split_once('.').unwrap_or((version, "0"));
        Some((major.parse().ok()?, minor.parse().ok()?))
    }
}

/// Length of the header in `bytes`: up to and including the blank line that ends it, or `None`
/// when no blank line is present yet (read more, or the file has no body).
pub fn header_end(bytes: &[u8], search_from: usize) -> Option<usize> {
    if bytes.starts_with(b"\n") {
        return Some(1);
    }
    if bytes.starts_with(b"\r\n") {
        return Some(2);
    }
    // Back up so a blank line split across two reads is still seen.
    let at = search_from.saturating_sub(2).min(bytes.len());
    let haystack = &bytes[at..];
    let lf = memchr::memmem::find(haystack, b"\n\n");
    // A CRLF blank line can only matter before the first LF one.
    let crlf_window = &haystack[..lf.unwrap_or(haystack.len())];
    match memchr::memmem::find(crlf_window, b"\n\r\n") {
        Some(i) => Some(at + i + 3),
        None => lf.map(|i| at + i + 2),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fields_and_stops_at_the_blank_line() {
        let meta = parse(
            b"Metadata-Version: 2.4\nName: attrs\nVersion: 26.1.0\nSummary: Classes Without Boilerplate\n\
              License-Expression: MIT\nLicense-File: LICENSE\nRequires-Dist: cloudpickle; extra == 'tests'\n\
              Requires-Dist: hypothesis; extra == 'tests'\nClassifier: Programming Language :: Python\n\
              \nName: not-this\nRequires-Dist: body-is-ignored\n",
        )
        .unwrap();
        assert_eq!(meta.metadata_version.as_deref(), Some("2.4"));
        assert_eq!(meta.metadata_version_number(), Some((2, 4)));
        assert_eq!(meta.name.as_deref(), Some("attrs"));
        assert_eq!(meta.version.as_deref(), Some("26.1.0"));
        assert_eq!(meta.license_expression.as_deref(), Some("MIT"));
        assert_eq!(meta.license_files, ["LICENSE"]);
        assert_eq!(
            meta.requires_dist,
            [
                "cloudpickle; extra == 'tests'",
                "hypothesis; extra == 'tests'"
            ]
        );
        assert!(meta.license_classifiers.is_empty());
        assert!(meta.defects.is_empty());
    }

    #[test]
    fn multi_line_license_keeps_its_lines_and_does_not_leak_fields() {
        let meta = parse(
            b"Name: numpy\r\nLicense: Copyright (c) 2005-2023, NumPy Developers.\r\n        All rights reserved.\r\n        \r\n        Name: lapack-lite\r\n            * indented bullet\r\n       |piped line\r\n\tTabbed\r\nVersion: 1.26.4\r\n",
        )
        .unwrap();
        assert_eq!(meta.name.as_deref(), Some("numpy"));
        assert_eq!(meta.version.as_deref(), Some("1.26.4"));
        assert_eq!(
            meta.license.as_deref(),
            Some(
                "Copyright (c) 2005-2023, NumPy Developers.\nAll rights reserved.\n\nName: lapack-lite\n    * indented bullet\npiped line\nTabbed"
            )
        );
    }

    #[test]
    fn continuation_of_single_line_fields_is_unfolded() {
        let meta =
            parse(b"Name: x\nSummary: one\n  two\n\tthree\nRequires-Dist: a;\n  extra == 'b'\n")
                .unwrap();
        assert_eq!(meta.summary.as_deref(), Some("one two three"));
        assert_eq!(meta.requires_dist, ["a; extra == 'b'"]);
    }

    #[test]
    fn only_license_classifiers_are_kept_and_field_names_are_case_insensitive() {
        let meta = parse(
            b"name: Six\nVERSION: 1.17.0\nclassifier: License :: OSI Approved :: MIT License\nClassifier: Topic :: Utilities\nHome-Page: https://x\n",
        )
        .unwrap();
        assert_eq!(meta.name.as_deref(), Some("Six"));
        assert_eq!(meta.version.as_deref(), Some("1.17.0"));
        assert_eq!(
            meta.license_classifiers,
            ["License :: OSI Approved :: MIT License"]
        );
        assert_eq!(meta.home_page.as_deref(), Some("https://x"));
    }

    #[test]
    fn first_occurrence_of_single_fields_wins_and_unknown_is_absent() {
        let meta =
            parse(b"Name: first\nName: second\nLicense: UNKNOWN\nHome-page: UNKNOWN\n").unwrap();
        assert_eq!(meta.name.as_deref(), Some("first"));
        assert_eq!(meta.license, None);
        assert_eq!(meta.home_page, None);
    }

    #[test]
    fn invalid_utf8_is_decoded_lossily_and_reported() {
        let meta = parse(b"Name: caf\xe9\nVersion: 1.0\n").unwrap();
        assert_eq!(meta.name.as_deref(), Some("caf\u{fffd}"));
        assert_eq!(meta.version.as_deref(), Some("1.0"));
        assert_eq!(meta.defects, [MetadataDefect::InvalidUtf8]);
    }

    #[test]
    fn truncated_header_keeps_what_came_before_and_reports_the_stray_line() {
        let meta = parse(b"Metadata-Version: 2.1\nName: foo\nVers").unwrap();
        assert_eq!(meta.name.as_deref(), Some("foo"));
        assert_eq!(meta.version, None);
        assert_eq!(
            meta.defects,
            [MetadataDefect::StrayLine {
                line: 3,
                text: "Vers".into()
            }]
        );
    }

    #[test]
    fn empty_and_non_metadata_input_are_errors() {
        assert_eq!(parse(b""), Err(MetadataError::Empty));
        assert_eq!(parse(b"\n\n  \n"), Err(MetadataError::Empty));
        assert!(matches!(
            parse(b"<html>not metadata</html>\n"),
            Err(MetadataError::NoHeader { .. })
        ));
        // A leading blank line ends the header before it starts.
        assert_eq!(parse(b"\nName: x\n"), Err(MetadataError::Empty));
    }

    #[test]
    fn byte_order_mark_is_skipped() {
        let meta = parse("\u{feff}Name: bom\n".as_bytes()).unwrap();
        assert_eq!(meta.name.as_deref(), Some("bom"));
    }

    #[test]
    fn header_end_finds_blank_lines_across_line_endings() {
        assert_eq!(header_end(b"A: 1\nB: 2\n\nbody", 0), Some(11));
        assert_eq!(header_end(b"A: 1\r\n\r\nbody", 0), Some(8));
        assert_eq!(header_end(b"\nbody", 0), Some(1));
        assert_eq!(header_end(b"A: 1\nB: 2\n", 0), None);
        assert_eq!(header_end(b"A: 1\n  \nB", 0), None);
        // Searching from the middle of a previous chunk still sees the pair.
        assert_eq!(header_end(b"A: 1\n\n", 5), Some(6));
    }
}
