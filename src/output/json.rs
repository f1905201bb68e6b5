//! JSON report (`--format json`); layout documented in `assets/report.schema.json`.
//!
//! The bytes are serde_json's pretty printing of the whole `Report`, but the long arrays
//! (packages, findings, unknowns: ~12 MB for 10,000 packages) are rendered in batches whose
//! chunks are rendered on all cores: each element is printed by serde_json's own
//! `PrettyFormatter`, brought to the element's depth first, so the output is byte for byte
//! what printing the report in one piece gives (a test compares the two).

use std::io::Write;

use serde::Serialize;
use serde_json::ser::{Formatter, PrettyFormatter, Serializer};

use crate::model::Report;

/// Bytes gathered before each write to `out`: the pretty printer writes a few bytes at a time
/// (a quote, a comma, an indent), and through `&mut dyn Write` each of those was a call that
/// could not be inlined.
const CHUNK: usize = 256 * 1024;

/// Elements rendered before they are written: bounds the memory a long array's text takes
/// (~1.2 KB per package), while each batch still splits into one chunk per core.
const BATCH: usize = 2048;

/// Below this many elements a batch is rendered on the calling thread.
const SPREAD_FROM: usize = 256;

pub fn render(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    // Every field by name, so that a field added to `Report` does not compile until it is
    // rendered here too; the skips are the ones `Report`'s serde attributes make.
    let Report {
        schema_version,
        tool,
        tool_version,
        generated_at,
        target,
        policy,
        packages,
        findings,
        unknowns,
        summary,
        vulnerability_database,
        metrics,
    } = report;
    let mut out = std::io::BufWriter::with_capacity(CHUNK, out);
    let mut object = TopLevel::start(&mut out)?;
    object.field("schema_version", schema_version)?;
    object.field("tool", tool)?;
    object.field("tool_version", tool_version)?;
    object.field("generated_at", generated_at)?;
    object.field("target", target)?;
    if let Some(policy) = policy {
        object.field("policy", policy)?;
    }
    object.array("packages", packages)?;
    object.array("findings", findings)?;
    object.array("unknowns", unknowns)?;
    object.field("summary", summary)?;
    if let Some(database) = vulnerability_database {
        object.field("vulnerability_database", database)?;
    }
    object.field("metrics", metrics)?;
    out.write_all(b"\n}\n")?;
    out.flush()
}

/// The report's top-level object, written field by field.
struct TopLevel<'a, W: Write> {
    out: &'a mut W,
    first: bool,
}

impl<'a, W: Write> TopLevel<'a, W> {
    fn start(out: &'a mut W) -> std::io::Result<Self> {
        out.write_all(b"{")?;
        Ok(TopLevel { out, first: true })
    }

    /// `"name": ` on its own line, after a comma unless first.
    fn key(&mut self, name: &str) -> std::io::Result<()> {
        let separator: &[u8] = if self.first { b"\n  " } else { b",\n  " };
        self.first = false;
        self.out.write_all(separator)?;
        serde_json::to_writer(&mut *self.out, name)?;
        self.out.write_all(b": ")
    }

    fn field<T: Serialize + ?Sized>(&mut self, name: &str, value: &T) -> std::io::Result<()> {
        self.key(name)?;
        pretty_at(&mut *self.out, 1, value)
    }

    /// An array field, its elements rendered in parallel batch by batch.
    fn array<T: Serialize + Sync>(&mut self, name: &str, items: &[T]) -> std::io::Result<()> {
        self.key(name)?;
        if items.is_empty() {
            return self.out.write_all(b"[]");
        }
        self.out.write_all(b"[")?;
        for (n, batch) in items.chunks(BATCH).enumerate() {
            let parts =
                crate::parallel::map_chunks(batch, SPREAD_FROM, |chunk| vec![elements(chunk)]);
            for (i, part) in parts.into_iter().enumerate() {
                let part = part?;
                // Each element comes with its leading comma; the array's first has none.
                let part = if n == 0 && i == 0 {
                    &part[1..]
                } else {
                    &part[..]
                };
                self.out.write_all(part)?;
            }
        }
        self.out.write_all(b"\n  ]")
    }
}

/// Elements of a top-level array field (depth 2), each as `,\n    ` and its pretty JSON.
fn elements<T: Serialize>(items: &[T]) -> std::io::Result<Vec<u8>> {
    let mut text = Vec::with_capacity(items.len() * 1024);
    for item in items {
        text.extend_from_slice(b",\n    ");
        pretty_at(&mut text, 2, item)?;
    }
    Ok(text)
}

/// `value` printed by serde_json's `PrettyFormatter` as it prints a value nested `depth` levels
/// deep: the formatter is brought to that depth by opening (unwritten) arrays.
fn pretty_at<W: Write, T: Serialize + ?Sized>(
    out: W,
    depth: usize,
    value: &T,
) -> std::io::Result<()> {
    let mut formatter = PrettyFormatter::new();
    for _ in 0..depth {
        formatter.begin_array(&mut std::io::sink())?;
    }
    value.serialize(&mut Serializer::with_formatter(out, formatter))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixtures;
    use crate::model::*;

    /// What serde_json prints for the report in one piece.
    fn whole(report: &Report) -> String {
        let mut text = serde_json::to_string_pretty(report).unwrap();
        text.push('\n');
        text
    }

    fn rendered(report: &Report) -> String {
        let mut out = Vec::new();
        render(report, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// Packages whose text needs escaping and nests (paths, a vulnerability and its fix).
    fn package(i: usize) -> PackageReport {
        let mut package = match i % 4 {
            0 => fixtures::vulnerable("pkg", "1.0", &format!("GHSA-{i}"), Some("2.0"), "fixed"),
            _ => fixtures::package("pkg", "1.0"),
        };
        package.name = format!("pkg-{i} \"quoted\" \u{e9}\t");
        package.required_by = vec![vec!["app".into(), package.name.clone()]; i % 3];
        package
    }

    #[test]
    fn an_empty_report_prints_as_serde_json_prints_it() {
        let report = Report::new(TargetInfo::default(), None, vec![], vec![], vec![]);
        assert_eq!(rendered(&report), whole(&report));
    }

    #[test]
    fn long_arrays_split_across_threads_print_as_serde_json_prints_them() {
        // More than a batch, so that batches, chunks and their separators all occur.
        let packages: Vec<PackageReport> = (0..BATCH + SPREAD_FROM + 7).map(package).collect();
        let unknowns = (0..SPREAD_FROM + 3)
            .map(|i| Unknown {
                package: Some(format!("pkg-{i}")),
                version: None,
                check: Check::Vulnerabilities,
                reason: format!("reason {i}\nsecond line"),
                fails_run: i % 2 == 0,
            })
            .collect();
        let mut report = Report::new(
            TargetInfo::default(),
            Some("policy.toml".into()),
            packages,
            vec![],
            unknowns,
        );
        report.vulnerability_database = Some(DatabaseInfo {
            source: "db.zip".into(),
            ..DatabaseInfo::default()
        });
        let text = rendered(&report);
        assert_eq!(text, whole(&report));
        assert!(text.contains("\"policy\": \"policy.toml\""));
        assert!(text.contains("\"vulnerability_database\": {"));
    }
}
