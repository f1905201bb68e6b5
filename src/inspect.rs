//! Subcommands that answer one question from a finished report: `why` (dependency paths to a
//! package), `fix` (install lines for every vulnerable package's fix) and `licenses --notice`
//! (a third-party notice with the full license texts).

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use crate::analysis::dependency_paths;
use crate::error::{Error, Result};
use crate::model::{Origin, PackageReport, Report, normalize_name};

/// Most paths `why` prints.
const MAX_WHY_PATHS: usize = 50;
/// Most bytes of a METADATA file read for its `License-File` entries.
const MAX_METADATA_BYTES: u64 = 4 * 1024 * 1024;

/// Text from package metadata made safe for a terminal: control characters dropped.
fn clean(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).collect()
}

/// `depdash why PKG`: the paths, one per line, or an input error when PKG is not installed.
pub fn why(report: &Report, package: &str) -> Result<ExitCode> {
    print!("{}", why_text(report, package)?);
    Ok(ExitCode::SUCCESS)
}

fn why_text(report: &Report, package: &str) -> Result<String> {
    let wanted = normalize_name(package);
    let Some(found) = report.packages.iter().find(|p| p.normalized == wanted) else {
        return Err(Error::Usage(format!(
            "{} is not among the {} packages of {}",
            clean(package),
            report.packages.len(),
            clean(&report.target.path)
        )));
    };
    let paths = dependency_paths(&report.packages, package, MAX_WHY_PATHS);
    let mut out = String::new();
    let name = format!("{} {}", clean(&found.name), clean(&found.version));
    if paths.iter().all(|p| p.len() == 1) {
        let _ = writeln!(
            out,
            "{name} is a top-level package: nothing installed requires it"
        );
        return Ok(out);
    }
    let _ = writeln!(out, "{name} is required through {} path(s):", paths.len());
    for path in &paths {
        let names: Vec<String> = path.iter().map(|n| clean(n)).collect();
        let _ = writeln!(out, "  {}", names.join(" → "));
    }
    if paths.len() == MAX_WHY_PATHS {
        let _ = writeln!(out, "  (only the first {MAX_WHY_PATHS} shown)");
    }
    Ok(out)
}

/// A shell word in single quotes (a `'` inside becomes `'\''`).
fn shell_quote(text: &str) -> String {
    format!("'{}'", clean(text).replace('\'', r"'\''"))
}

/// `depdash fix`: install lines for every vulnerable package's fix; exit 1 when one has none.
pub fn fix(report: &Report) -> Result<ExitCode> {
    let (text, complete) = fix_text(report);
    print!("{text}");
    Ok(if complete {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn fix_text(report: &Report) -> (String, bool) {
    let mut out = String::new();
    let vulnerable: Vec<&PackageReport> = report
        .packages
        .iter()
        .filter(|p| !p.vulnerabilities.is_empty())
        .collect();
    if vulnerable.is_empty() {
        let _ = writeln!(out, "# no known vulnerabilities: nothing to fix");
        return (out, true);
    }
    let mut pins = Vec::new();
    let mut complete = true;
    for p in &vulnerable {
        match p.fix.as_ref() {
            Some(fix) if fix.version.is_some() => {
                let version = fix.version.as_deref().unwrap_or_default();
                let _ = writeln!(
                    out,
                    "# {} {} → {}: {}",
                    clean(&p.name),
                    clean(&p.version),
                    clean(version),
                    clean(&fix.reason)
                );
                pins.push(shell_quote(&format!("{}=={}", p.normalized, version)));
            }
            other => {
                complete = false;
                let reason = other.map_or("no fix computed", |f| f.reason.as_str());
                let _ = writeln!(
                    out,
                    "# {} {}: no fix — {}",
                    clean(&p.name),
                    clean(&p.version),
                    clean(reason)
                );
            }
        }
    }
    if !pins.is_empty() {
        let _ = writeln!(out, "pip install {}", pins.join(" "));
        let _ = writeln!(out, "uv add {}", pins.join(" "));
    }
    (out, complete)
}

/// `depdash licenses --notice FILE`: every package's name, version, SPDX expression and full
/// license texts, written atomically.
pub fn notice(report: &Report, path: &Path) -> Result<ExitCode> {
    let (text, without_texts) = notice_text(report);
    crate::output::write_atomically(path, text.as_bytes())?;
    eprintln!(
        "wrote the notice for {} packages ({} without license texts) to {}",
        report.packages.len(),
        without_texts,
        path.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// `License-File` entries of an installed distribution's METADATA (empty when unreadable: the
/// files are then found by name).
fn listed_license_files(dir: &Path) -> Vec<String> {
    use std::io::Read;
    let mut bytes = Vec::new();
    let read = std::fs::File::open(dir.join("METADATA"))
        .and_then(|f| f.take(MAX_METADATA_BYTES).read_to_end(&mut bytes));
    match read {
        Ok(_) => crate::inventory::core_metadata::parse(&bytes)
            .map(|m| m.license_files)
            .unwrap_or_default(),
        Err(_) => Vec::new(),
    }
}

fn notice_text(report: &Report) -> (String, usize) {
    let rule = "=".repeat(78);
    let mut out = String::new();
    let _ = writeln!(out, "THIRD-PARTY SOFTWARE NOTICES AND LICENSES\n");
    let _ = writeln!(
        out,
        "{} packages in {}, generated by depdash {} at {}.\n",
        report.packages.len(),
        report.target.path,
        report.tool_version,
        report.generated_at
    );
    let mut without_texts = 0;
    for p in &report.packages {
        let _ = writeln!(out, "{rule}\n{} {}", p.name, p.version);
        let license = match &p.license.expression {
            Some(expression) => expression.clone(),
            None => format!(
                "UNKNOWN ({})",
                p.license.unknown_reason.as_deref().unwrap_or("not stated")
            ),
        };
        let _ = writeln!(out, "License: {license}\n{rule}");
        let dir = p
            .location
            .as_deref()
            .filter(|_| matches!(p.origin, Origin::DistInfo | Origin::EggInfo))
            .map(Path::new)
            .filter(|d| d.is_dir());
        let Some(dir) = dir else {
            without_texts += 1;
            let _ = writeln!(
                out,
                "(license texts unavailable: the package is not installed here)\n"
            );
            continue;
        };
        let mut notes = Vec::new();
        let texts =
            crate::checks::licenses::license_texts(&listed_license_files(dir), dir, &mut notes);
        if texts.is_empty() {
            without_texts += 1;
            let _ = writeln!(out, "(the distribution ships no license file)\n");
        }
        for t in &texts {
            let _ = writeln!(out, "--- {} ---\n{}", t.name, t.text.trim_end());
            if t.truncated {
                let _ = writeln!(out, "[… cut: the file is longer than the notice allows]");
            }
            out.push('\n');
        }
        for note in notes {
            let _ = writeln!(out, "Note: {note}\n");
        }
    }
    (out, without_texts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TargetInfo;
    use crate::model::fixtures::{package, vulnerable};

    fn report(packages: Vec<PackageReport>) -> Report {
        Report::new(TargetInfo::default(), None, packages, vec![], vec![])
    }

    #[test]
    fn why_lists_paths_or_says_top_level_or_errors() {
        let mut app = package("app", "1");
        app.requires = vec!["requests".into()];
        let mut requests = package("requests", "2");
        requests.requires = vec!["urllib3<3".into()];
        let r = report(vec![app, requests, package("urllib3", "1.26.5")]);
        let text = why_text(&r, "URLLIB3").unwrap();
        assert!(
            text.contains("urllib3 1.26.5 is required through 1 path(s)"),
            "{text}"
        );
        assert!(text.contains("  app → requests → urllib3"), "{text}");
        assert!(why_text(&r, "app").unwrap().contains("top-level"));
        assert!(matches!(why_text(&r, "nope\x1b[2J"), Err(Error::Usage(m)) if !m.contains('\x1b')));
    }

    #[test]
    fn fix_prints_quoted_install_lines_and_reports_packages_without_a_fix() {
        let urllib3 = vulnerable("urllib3", "1.26.5", "GHSA-a", Some("1.26.18"), "smallest");
        let (text, complete) = fix_text(&report(vec![urllib3.clone()]));
        assert!(complete);
        assert!(text.contains("pip install 'urllib3==1.26.18'\n"), "{text}");
        assert!(text.contains("uv add 'urllib3==1.26.18'\n"), "{text}");

        let jinja = vulnerable(
            "Jinja2",
            "2.0",
            "GHSA-b",
            None,
            "no fixed version is known for GHSA-b",
        );
        let (text, complete) = fix_text(&report(vec![jinja, urllib3]));
        assert!(!complete);
        assert!(text.contains("# Jinja2 2.0: no fix — no fixed version is known for GHSA-b"));
        assert!(text.contains("pip install 'urllib3==1.26.18'\n"), "{text}");
        assert_eq!(shell_quote("a'b"), r"'a'\''b'");
        let (clean_text, ok) = fix_text(&report(vec![package("six", "1")]));
        assert!(ok && clean_text.contains("nothing to fix"));
    }
}
