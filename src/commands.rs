//! Small subcommands around the engine: `cache`, `history`, `completions`, `synth-env`, and
//! the one way they write to stdout.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use crate::cache;
use crate::cli::{CacheAction, DbAction, HistoryFormat};
use crate::error::{Error, Result};
use crate::perf::history::{History, RunRecord};
use crate::sources::osv_download;

/// Write to stdout and flush, so a closed or broken pipe is an [`Error::Stdout`] (exit 2), never
/// the panic of `println!`.
pub fn to_stdout(write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>) -> Result<()> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    write(&mut out)
        .and_then(|()| out.flush())
        .map_err(Error::Stdout)
}

/// `text` on stdout, as [`to_stdout`].
fn print(text: &str) -> Result<()> {
    to_stdout(|out| out.write_all(text.as_bytes()))
}

/// The history file given, else the default one.
fn history_path(file: Option<&Path>) -> Result<std::path::PathBuf> {
    match file {
        Some(f) => Ok(f.to_path_buf()),
        None => Ok(History::default_path()?),
    }
}

/// `depdash cache stats|clear|prune`.
pub fn cache(action: CacheAction, dir: Option<&Path>, history: Option<&Path>) -> Result<ExitCode> {
    let dir = cache::resolve_dir(dir)?;
    let mut out = String::new();
    match action {
        CacheAction::Stats => {
            let stats = cache::stats(&dir)?;
            let _ = writeln!(out, "location   {}", stats.location.display());
            let _ = writeln!(
                out,
                "entries    {} ({}), {} expired, {} unreadable",
                stats.entries,
                crate::units::format_size(stats.total_bytes),
                stats.expired,
                stats.unreadable
            );
            if stats.packs > 0 {
                let _ = writeln!(
                    out,
                    "packs      {} entries in {} packs (hard links to one file each)",
                    stats.packed_entries, stats.packs
                );
            }
            // Kinds in a column as wide as the longest (`pypi-release`), counts after it.
            let width = stats.by_kind.keys().map(|kind| kind.len()).max();
            for (kind, count) in &stats.by_kind {
                let _ = writeln!(out, "  {kind:<w$} {count}", w = width.unwrap_or(0));
            }
            if let Some(history) = history_path(history)
                .ok()
                .and_then(|p| History::open(&p).ok())
            {
                let recent = history.recent(10);
                if !recent.is_empty() {
                    let rates: Vec<String> = recent
                        .iter()
                        .map(|r| format!("{:.0}%", r.hit_rate * 100.0))
                        .collect();
                    let _ = writeln!(
                        out,
                        "hit rate   last {} runs: {}",
                        recent.len(),
                        rates.join(" ")
                    );
                }
            }
        }
        CacheAction::Clear | CacheAction::Prune => {
            let report = if action == CacheAction::Clear {
                cache::clear(&dir)
            } else {
                cache::prune(&dir)
            }?;
            let _ = writeln!(
                out,
                "removed {} entries, {} expired, {} corrupt, {} temp files ({} freed); {} entries ({}) remain in {}",
                report.removed_entries,
                report.removed_expired,
                report.removed_corrupt,
                report.removed_temp,
                crate::units::format_size(report.bytes_freed),
                report.remaining_entries,
                crate::units::format_size(report.remaining_bytes),
                dir.display()
            );
        }
    }
    print(&out)?;
    Ok(ExitCode::SUCCESS)
}

/// `depdash history`: recent runs as a table (or JSON lines).
pub fn history(limit: usize, format: HistoryFormat, file: Option<&Path>) -> Result<ExitCode> {
    let path = history_path(file)?;
    let history = History::open(&path)?;
    let recent = history.recent(limit);
    match format {
        HistoryFormat::Json => {
            let json = serde_json::to_string_pretty(recent)
                .map_err(|e| Error::Engine(format!("history as JSON: {e}")))?;
            print(&format!("{json}\n"))?;
        }
        HistoryFormat::Text => print(&history_table(recent, &path))?,
    }
    Ok(ExitCode::SUCCESS)
}

fn history_table(records: &[RunRecord], path: &Path) -> String {
    let mut out = String::new();
    if records.is_empty() {
        let _ = writeln!(out, "no runs recorded yet in {}", path.display());
        return out;
    }
    let _ = writeln!(
        out,
        "{:<20} {:<8} {:>8} {:>9} {:>8} {:>10} {:>11}  fingerprint",
        "when", "cache", "packages", "findings", "unknown", "total ms", "hit rate"
    );
    for r in records {
        let _ = writeln!(
            out,
            "{:<20} {:<8} {:>8} {:>9} {:>8} {:>10.1} {:>10.1}%  {}",
            r.at.get(..19).unwrap_or(&r.at),
            r.cache_state,
            r.packages,
            r.findings,
            r.unknowns,
            r.total_ms,
            r.hit_rate * 100.0,
            r.fingerprint.get(..12).unwrap_or(&r.fingerprint)
        );
    }
    out
}

/// `depdash db update`: download or re-check the offline OSV database; one line on stdout.
pub async fn db(action: DbAction, cache_dir: Option<&Path>) -> Result<ExitCode> {
    let DbAction::Update {
        url,
        max_size,
        timeout,
        cert,
    } = action;
    let max_bytes = crate::units::parse_size(&max_size).ok_or_else(|| {
        Error::Usage(format!(
            "--max-size {max_size}: expected a size such as 512MB"
        ))
    })?;
    let read_timeout = crate::units::parse_duration(&timeout).ok_or_else(|| {
        Error::Usage(format!(
            "--timeout {timeout}: expected a duration such as 60s"
        ))
    })?;
    match reqwest::Url::parse(&url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
        _ => {
            return Err(Error::Usage(format!(
                "--url {url}: expected an http(s) URL such as {}",
                osv_download::DEFAULT_BASE_URL
            )));
        }
    }
    let options = osv_download::UpdateOptions {
        base_url: url,
        cache_dir: cache::resolve_dir(cache_dir)?,
        max_bytes,
        read_timeout,
        ca_bundle: crate::settings::ca_bundle_for(cert.as_deref())?.map(|b| b.pem),
    };
    let path = osv_download::database_path(&options.cache_dir);
    let line = match osv_download::update(&options).await? {
        osv_download::Update::Downloaded(info) => format!(
            "downloaded {} OSV records ({}) from {} to {}\n",
            info.records,
            crate::units::format_size(info.bytes),
            info.url,
            path.display()
        ),
        osv_download::Update::NotModified(info) => format!(
            "up to date: {} ({} records, downloaded {}; the server reports no change)\n",
            path.display(),
            info.records,
            info.downloaded_at
        ),
    };
    print(&line)?;
    Ok(ExitCode::SUCCESS)
}

/// `depdash completions SHELL`: the shell completion script for the whole command line.
pub fn completions(shell: clap_complete::Shell) -> Result<ExitCode> {
    let mut command = <crate::cli::Cli as clap::CommandFactory>::command();
    // Into memory first: clap_complete panics when its writer fails.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "depdash", &mut script);
    to_stdout(|out| out.write_all(&script))?;
    Ok(ExitCode::SUCCESS)
}

/// `depdash synth-env DIR --count N`: a deterministic synthetic site-packages tree.
pub fn synth_env(dir: &Path, count: usize, seed: u64) -> Result<ExitCode> {
    crate::inventory::synthetic::write_site_packages(dir, count, seed)
        .map_err(|e| Error::io(dir, e))?;
    eprintln!("wrote {count} distributions to {}", dir.display());
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_table_lists_runs_and_says_when_empty() {
        let empty = history_table(&[], Path::new("/h.jsonl"));
        assert!(empty.contains("no runs recorded yet in /h.jsonl"));
        let record = RunRecord {
            at: "2026-11-24T07:00:00Z".into(),
            fingerprint: "abcdef0123456789".into(),
            cache_state: "warm".into(),
            packages: 173,
            total_ms: 12.5,
            hit_rate: 0.987,
            ..Default::default()
        };
        let table = history_table(&[record], Path::new("/h.jsonl"));
        let row = table.lines().nth(1).unwrap();
        assert!(row.contains("warm"), "{row}");
        assert!(row.contains("173"));
        assert!(row.contains("12.5"));
        assert!(row.contains("98.7%"));
        assert!(row.contains("abcdef012345") && !row.contains("abcdef0123456"));
    }
}
