//! JSON report (`--format json`); layout documented in `assets/report.schema.json`.

use std::io::Write;

use crate::model::Report;

/// Bytes gathered before each write to `out`: the pretty printer writes a few bytes at a time
/// (a quote, a comma, an indent), and through `&mut dyn Write` each of those was a call that
/// could not be inlined; a 10,000-package report is ~12 MB.
const CHUNK: usize = 256 * 1024;

pub fn render(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::with_capacity(CHUNK, out);
    serde_json::to_writer_pretty(&mut out, report)?;
    out.write_all(b"\n")?;
    out.flush()
}
