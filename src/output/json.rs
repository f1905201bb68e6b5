//! JSON report (`--format json`); layout documented in `assets/report.schema.json`.

use std::io::Write;

use crate::model::Report;

pub fn render(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    out.write_all(b"\n")
}
