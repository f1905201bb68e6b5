//! Report renderers (text, JSON, JUnit XML, SARIF, CycloneDX, Markdown): every format renders
//! from the one `Report`.

pub mod cyclonedx;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod sarif;
pub mod text;

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::model::Report;

/// Report formats (`--format`).
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Text,
    Json,
    /// JUnit XML: a test suite per check, a test case per package.
    Junit,
    /// SARIF 2.1.0, for GitHub code scanning.
    Sarif,
    /// CycloneDX 1.6 JSON SBOM, with vulnerabilities.
    Cyclonedx,
    /// A Markdown summary for PR comments and $GITHUB_STEP_SUMMARY.
    Markdown,
}

/// A report that could not be written where it was asked to go.
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", path.display())]
pub struct WriteError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

fn write_error(path: &Path) -> impl FnOnce(std::io::Error) -> WriteError + '_ {
    move |source| WriteError {
        path: path.to_path_buf(),
        source,
    }
}

/// Render `report` in `format` to `out`.
pub fn render(report: &Report, format: Format, out: &mut dyn Write) -> std::io::Result<()> {
    render_styled(report, format, out, text::Style::detect_for_stdout())
}

fn render_styled(
    report: &Report,
    format: Format,
    out: &mut dyn Write,
    style: text::Style,
) -> std::io::Result<()> {
    match format {
        Format::Text => text::render(report, out, style),
        Format::Json => json::render(report, out),
        Format::Junit => junit::render(report, out),
        Format::Sarif => sarif::render(report, out),
        Format::Cyclonedx => cyclonedx::render(report, out),
        Format::Markdown => markdown::render(report, out),
    }
}

/// Write the report to a file with [`crate::safe_fs::replace_file`]: atomic for a regular
/// file (no half report, no temp file left on error, symlinks followed, mode kept), in place
/// for `/dev/null`, a FIFO or a terminal.
pub fn write_to_file(report: &Report, format: Format, path: &Path) -> Result<(), WriteError> {
    // Rendered straight into the staged file: a 10,000-package JSON report is ~12 MB.
    crate::safe_fs::replace_file_with(path, |out| {
        render_styled(report, format, out, text::Style::plain())
    })
    .map_err(write_error(path))
}

/// Write `bytes` to `path` with [`crate::safe_fs::replace_file`] (see [`write_to_file`]).
pub fn write_atomically(path: &Path, buf: &[u8]) -> Result<(), WriteError> {
    crate::safe_fs::replace_file(path, buf).map_err(write_error(path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;

    fn report() -> Report {
        Report::new(TargetInfo::default(), None, vec![], vec![], vec![])
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_written_in_place_not_replaced() {
        use std::os::unix::fs::FileTypeExt;
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("report.fifo");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo");
        assert!(status.success());
        let reader_path = fifo.clone();
        let reader = std::thread::spawn(move || std::fs::read_to_string(reader_path).unwrap());
        write_to_file(&report(), Format::Json, &fifo).unwrap();
        let received = reader.join().unwrap();
        assert!(received.contains("\"schema_version\": 1"));
        assert!(
            std::fs::metadata(&fifo).unwrap().file_type().is_fifo(),
            "still a FIFO"
        );
    }

    #[test]
    fn a_regular_file_is_replaced_whole_and_no_temp_file_stays() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        std::fs::write(
            &path,
            "old content that is longer than the report will be ....",
        )
        .unwrap();
        write_to_file(&report(), Format::Json, &path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with('{') && text.trim_end().ends_with('}'));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
