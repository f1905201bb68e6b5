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

/// Write the report to a file. A regular file (or a new one) is written atomically (temp file +
/// rename), so a reader never sees half; anything else that exists — `/dev/null`, a FIFO, a
/// terminal — is written in place, since renaming over it would replace the device itself.
pub fn write_to_file(report: &Report, format: Format, path: &Path) -> Result<(), WriteError> {
    let mut buf = Vec::new();
    render_styled(report, format, &mut buf, text::Style::plain()).map_err(write_error(path))?;
    write_atomically(path, &buf)
}

/// Write `bytes` to `path`: atomically for a regular (or new) file, in place for anything else
/// that exists (see [`write_to_file`]).
pub fn write_atomically(path: &Path, buf: &[u8]) -> Result<(), WriteError> {
    let special = std::fs::metadata(path).is_ok_and(|m| !m.is_file());
    if special {
        return std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .and_then(|mut f| f.write_all(buf))
            .map_err(write_error(path));
    }
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
    std::fs::write(&tmp, buf).map_err(write_error(&tmp))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        write_error(path)(e)
    })
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
