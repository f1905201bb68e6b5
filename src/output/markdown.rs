//! Markdown summary (`--format markdown`) for PR comments and `$GITHUB_STEP_SUMMARY`: the verdict,
//! the counts, violations, fixes for vulnerable packages and blocking unknowns as tables, the rest
//! folded. Every piece of outside text is escaped (Markdown and HTML) and kept to one line.

use std::io::Write;

use crate::analysis::upgrade_advice;
use crate::model::{Finding, Outcome, Report, Severity};

/// Most rows per table; the rest are counted, not listed (a PR comment has a size limit).
const MAX_ROWS: usize = 50;

pub fn render(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    out.write_all(summary(report).as_bytes())
}

/// Longest text in a table cell, in characters; longer text is cut with `…`.
const MAX_CELL: usize = 200;

/// Outside text made inert: HTML-significant characters become entities, inline Markdown
/// punctuation is backslash-escaped, line breaks become spaces (a table row is one line), and
/// the text is cut to [`MAX_CELL`] characters.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    let cut: String = chars.by_ref().take(MAX_CELL).collect();
    let cut = if chars.next().is_some() {
        format!("{}…", cut.trim_end())
    } else {
        cut
    };
    for ch in cut.chars() {
        match ch {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() => {}
            // Inside a table cell only inline markup matters (nothing starts a line there).
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' => {
                out.push('\\');
                out.push(ch);
            }
            c => out.push(c),
        }
    }
    out
}

pub fn summary(report: &Report) -> String {
    use std::fmt::Write;
    let s = &report.summary;
    let mut md = String::new();
    let verdict = match s.outcome {
        Outcome::Clean => "✅ clean",
        Outcome::Violations => "❌ policy violations",
        Outcome::Incomplete => "⚠️ incomplete",
    };
    let _ = writeln!(md, "## depdash: {verdict}\n");
    let _ = writeln!(
        md,
        "{} packages · {} violations · {} warnings · {} unknown ({} blocking) · {} known vulnerabilities\n",
        s.packages, s.violations, s.warnings, s.unknowns, s.blocking_unknowns, s.vulnerabilities
    );

    let errors = report.findings_of(Severity::Error);
    if !errors.is_empty() {
        let _ = writeln!(md, "### Violations ({})\n", errors.len());
        findings_table(&mut md, &errors);
    }

    let fixes: Vec<(&str, String)> = report
        .packages
        .iter()
        .filter_map(|p| upgrade_advice(p).map(|(text, _)| (p.name.as_str(), text)))
        .collect();
    if !fixes.is_empty() {
        let _ = writeln!(md, "### Fixes for vulnerable packages\n");
        let _ = writeln!(md, "| Package | Installed | Fix | Advisories |");
        let _ = writeln!(md, "|---|---|---|---|");
        for p in report
            .packages
            .iter()
            .filter(|p| !p.vulnerabilities.is_empty())
            .take(MAX_ROWS)
        {
            let fix = match p.fix.as_ref().and_then(|f| f.version.as_ref()) {
                Some(version) => format!("**{}**", escape(version)),
                None => fixes
                    .iter()
                    .find(|(name, _)| *name == p.name)
                    .map(|(_, text)| escape(text))
                    .unwrap_or_default(),
            };
            let ids: Vec<String> = p.vulnerabilities.iter().map(|v| escape(&v.id)).collect();
            let _ = writeln!(
                md,
                "| {} | {} | {fix} | {} |",
                escape(&p.name),
                escape(&p.version),
                ids.join(", ")
            );
        }
        more(&mut md, fixes.len());
        let _ = writeln!(
            md,
            "\n`depdash fix` prints the `pip install` / `uv add` lines.\n"
        );
    }

    let blocking: Vec<_> = report.unknowns.iter().filter(|u| u.fails_run).collect();
    if !blocking.is_empty() {
        let _ = writeln!(md, "### Unknown — fails the run ({})\n", blocking.len());
        let _ = writeln!(md, "| Package | Check | Reason |");
        let _ = writeln!(md, "|---|---|---|");
        for u in blocking.iter().take(MAX_ROWS) {
            let _ = writeln!(
                md,
                "| {} | {} | {} |",
                escape(u.package.as_deref().unwrap_or("(run)")),
                u.check.as_str(),
                escape(&u.reason)
            );
        }
        more(&mut md, blocking.len());
        md.push('\n');
    }

    let warnings = report.findings_of(Severity::Warning);
    if !warnings.is_empty() {
        let _ = writeln!(
            md,
            "<details><summary>Warnings ({})</summary>\n",
            warnings.len()
        );
        findings_table(&mut md, &warnings);
        let _ = writeln!(md, "</details>\n");
    }
    md
}

fn findings_table(md: &mut String, findings: &[&Finding]) {
    use std::fmt::Write;
    let _ = writeln!(md, "| Package | Version | Code | Message |");
    let _ = writeln!(md, "|---|---|---|---|");
    for f in findings.iter().take(MAX_ROWS) {
        let _ = writeln!(
            md,
            "| {} | {} | `{}` | {} |",
            escape(f.package.as_deref().unwrap_or("")),
            escape(f.version.as_deref().unwrap_or("")),
            f.code.as_str(),
            escape(&f.message)
        );
    }
    more(md, findings.len());
    md.push('\n');
}

fn more(md: &mut String, total: usize) {
    if total > MAX_ROWS {
        md.push_str(&format!("\n…and {} more.\n", total - MAX_ROWS));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixtures::vulnerable;
    use crate::model::*;

    #[test]
    fn outside_text_cannot_inject_markup() {
        let e = escape("<img src=x onerror=alert(1)> | **bold** [link](http://x)\nnext");
        assert!(!e.contains('<') && !e.contains('\n'));
        assert!(e.contains("&lt;img"));
        assert!(e.contains("\\|") && e.contains("\\*\\*bold") && e.contains("\\[link\\]"));
        let long = escape(&"a".repeat(MAX_CELL + 5));
        assert_eq!(long.chars().count(), MAX_CELL + 1);
        assert!(long.ends_with('…'));
    }

    #[test]
    fn summary_has_verdict_counts_violations_fixes_and_unknowns() {
        let urllib3 = vulnerable("urllib3", "1.26.5", "GHSA-a", Some("1.26.18"), "smallest");
        let evil = vulnerable(
            "evil",
            "1.0",
            "GHSA-b",
            None,
            "no fixed version is known for GHSA-b",
        );
        let findings = vec![
            Finding::new(Code::LicenseDenied, Severity::Error, "GPL-3.0 | <script>")
                .for_package("evil", "1.0"),
            Finding::new(Code::Outdated, Severity::Warning, "2 behind").for_package("six", "1"),
        ];
        let unknowns = vec![Unknown {
            package: Some("idna".into()),
            version: None,
            check: Check::Health,
            reason: "timeout".into(),
            fails_run: true,
        }];
        let r = Report::new(
            TargetInfo::default(),
            None,
            vec![urllib3, evil],
            findings,
            unknowns,
        );
        let md = summary(&r);
        assert!(md.starts_with("## depdash: ❌ policy violations"), "{md}");
        assert!(md.contains("2 packages · 1 violations · 1 warnings · 1 unknown (1 blocking) · 2 known vulnerabilities"), "{md}");
        assert!(
            md.contains("| evil | 1.0 | `license-denied` | GPL-3.0 \\| &lt;script&gt; |"),
            "{md}"
        );
        assert!(
            md.contains("| urllib3 | 1.26.5 | **1.26.18** | GHSA-a |"),
            "{md}"
        );
        assert!(md.contains("no fixed version is known for GHSA-b"), "{md}");
        assert!(md.contains("### Unknown — fails the run (1)"), "{md}");
        assert!(
            md.contains("<details><summary>Warnings (1)</summary>"),
            "{md}"
        );
        let clean = summary(&Report::new(
            TargetInfo::default(),
            None,
            vec![],
            vec![],
            vec![],
        ));
        assert!(clean.starts_with("## depdash: ✅ clean"));
        assert!(!clean.contains("###"));
    }
}
