//! Report renderers (text, JSON, JUnit XML): every format renders from the one `Report`.

pub mod json;
pub mod junit;
pub mod text;

use std::io::Write;
use std::path::Path;

use crate::cli::Format;
use crate::error::{Error, Result};
use crate::model::Report;

/// Render `report` in `format` to `out`.
pub fn render(report: &Report, format: Format, out: &mut dyn Write) -> std::io::Result<()> {
    match format {
        Format::Text => text::render(report, out, text::Style::detect_for_stdout()),
        Format::Json => json::render(report, out),
        Format::Junit => junit::render(report, out),
    }
}

/// Write the report to a file atomically (temp file + rename), so a reader never sees half.
pub fn write_to_file(report: &Report, format: Format, path: &Path) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp{}",
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "report".into()),
        std::process::id()
    ));
    let mut buf = Vec::new();
    match format {
        Format::Text => text::render(report, &mut buf, text::Style::plain()),
        Format::Json => json::render(report, &mut buf),
        Format::Junit => junit::render(report, &mut buf),
    }
    .map_err(|e| Error::io(path, e))?;
    std::fs::write(&tmp, &buf).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(path, e)
    })
}
