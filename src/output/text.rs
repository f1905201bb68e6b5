//! Human-readable text report: verdict first, then what to act on (violations, unknowns),
//! then warnings, then the slowest operations.

use std::io::{IsTerminal, Write};

use crate::analysis::upgrade_advice;
use crate::model::{Check, Finding, Outcome, Report, Severity, Unknown};
use crate::term_text::{clean, clean_lines};

/// Whether to use ANSI colors, and the terminal's width (long lines are cut to it; files and
/// pipes get the full text).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Style {
    pub color: bool,
    pub width: Option<usize>,
}

impl Style {
    pub fn plain() -> Self {
        Style {
            color: false,
            width: None,
        }
    }

    /// Color when stdout is a terminal and `NO_COLOR` is unset or empty; the width when stdout
    /// is a terminal.
    pub fn detect_for_stdout() -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let terminal = std::io::stdout().is_terminal();
        Style {
            color: !no_color && terminal,
            width: terminal
                .then(|| crossterm::terminal::size().ok())
                .flatten()
                .map(|(w, _)| usize::from(w)),
        }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn red(&self, t: &str) -> String {
        self.paint("1;31", t)
    }
    fn yellow(&self, t: &str) -> String {
        self.paint("33", t)
    }
    fn green(&self, t: &str) -> String {
        self.paint("1;32", t)
    }
    fn bold(&self, t: &str) -> String {
        self.paint("1", t)
    }
    fn dim(&self, t: &str) -> String {
        self.paint("2", t)
    }
}

const CHECK_ORDER: [Check; 6] = [
    Check::Packages,
    Check::Licenses,
    Check::Vulnerabilities,
    Check::Health,
    Check::Inventory,
    Check::Performance,
];

fn package_label(f: &Finding) -> String {
    match (&f.package, &f.version) {
        (Some(p), Some(v)) => format!("{} {}", clean(p), clean(v)),
        (Some(p), None) => clean(p).into_owned(),
        _ => "(policy)".to_string(),
    }
}

pub fn render(report: &Report, out: &mut dyn Write, style: Style) -> std::io::Result<()> {
    let s = &report.summary;
    writeln!(
        out,
        "{} {} — {} ({} packages)",
        style.bold("depdash"),
        report.tool_version,
        clean(&report.target.path),
        s.packages
    )?;
    if let Some(policy) = &report.policy {
        writeln!(out, "{}", style.dim(&format!("policy: {}", clean(policy))))?;
    } else {
        writeln!(
            out,
            "{}",
            style.dim("policy: none (vulnerabilities judged; licenses and packages reported only)")
        )?;
    }
    if let Some(db) = &report.vulnerability_database {
        let age = match db.age_seconds {
            Some(secs) => format!("{}d {}h old", secs / 86_400, secs % 86_400 / 3_600),
            None => "age unknown (no dated record)".to_string(),
        };
        writeln!(
            out,
            "{}",
            style.dim(&format!(
                "vulnerability database: {} ({} records, {} about PyPI, {age}){}",
                db.source,
                db.records,
                db.pypi_records,
                db.downloaded
                    .as_ref()
                    .map(|d| format!(
                        ", downloaded by `depdash db update` from {} at {}",
                        d.url, d.at
                    ))
                    .unwrap_or_default()
            ))
        )?;
    }
    writeln!(out)?;

    let errors: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.is_violation())
        .collect();
    if !errors.is_empty() {
        writeln!(
            out,
            "{}",
            style.red(&format!("Violations ({})", errors.len()))
        )?;
        write_grouped(out, &errors, style)?;
        writeln!(out)?;
    }

    let advice: Vec<(String, bool)> = report.packages.iter().filter_map(upgrade_advice).collect();
    if !advice.is_empty() {
        writeln!(out, "{}", style.bold("Upgrades for known vulnerabilities"))?;
        for (text, _) in &advice {
            writeln!(out, "  {text}")?;
        }
        writeln!(out)?;
    }

    let blocking: Vec<_> = report.unknowns.iter().filter(|u| u.fails_run).collect();
    let informational: Vec<_> = report.unknowns.iter().filter(|u| !u.fails_run).collect();
    for (title, list) in [
        ("Unknown — fails the run", &blocking),
        ("Unknown — reported only", &informational),
    ] {
        if list.is_empty() {
            continue;
        }
        let heading = format!("{title} ({})", list.len());
        let heading = if std::ptr::eq(list, &blocking) {
            style.red(&heading)
        } else {
            style.yellow(&heading)
        };
        writeln!(out, "{heading}")?;
        write_unknowns(out, list)?;
        writeln!(out)?;
    }
    // One remedy per cause, so an unknown comes with what to do about it.
    let troubles = crate::analysis::remedy::troubles(&report.unknowns);
    if !troubles.is_empty() {
        writeln!(out, "What to do about the unknowns")?;
        for t in &troubles {
            writeln!(out, "  {} ({}): {}", t.check.as_str(), t.count, t.remedy)?;
        }
        writeln!(out)?;
    }

    let warnings: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Warning)
        .collect();
    if !warnings.is_empty() {
        writeln!(
            out,
            "{}",
            style.yellow(&format!("Warnings ({})", warnings.len()))
        )?;
        write_grouped(out, &warnings, style)?;
        writeln!(out)?;
    }

    let stale: Vec<_> = report
        .packages
        .iter()
        .filter(|p| !p.stale.is_empty())
        .map(|p| clean(&p.name))
        .collect();
    if !stale.is_empty() {
        writeln!(
            out,
            "{}",
            style.yellow(&format!(
                "Stale: {} packages answered from expired cache entries (offline): {}",
                stale.len(),
                stale.iter().take(8).cloned().collect::<Vec<_>>().join(", ")
            ))
        )?;
        writeln!(out)?;
    }

    write_slowest_operations(out, report, style)?;

    let verdict = match s.outcome {
        Outcome::Clean => style.green("CLEAN"),
        Outcome::Violations => style.red("VIOLATIONS"),
        Outcome::Incomplete => style.red("INCOMPLETE"),
    };
    writeln!(
        out,
        "{verdict}: {} packages, {} violations, {} vulnerabilities, {} warnings, {} unknown ({} blocking) — exit {}",
        s.packages,
        s.violations,
        s.vulnerabilities,
        s.warnings,
        s.unknowns,
        s.blocking_unknowns,
        s.exit_code
    )
}

/// Past this many packages sharing one reason, the reason is printed once with the names.
const GROUP_UNKNOWNS_FROM: usize = 4;

/// Unknowns, one line each, except that many packages with the same reason (e.g. "offline")
/// share one line listing them.
fn write_unknowns(out: &mut dyn Write, list: &[&Unknown]) -> std::io::Result<()> {
    let mut groups: Vec<((Check, &str), Vec<&Unknown>)> = Vec::new();
    for u in list {
        let key = (u.check, u.reason.as_str());
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, members)) => members.push(u),
            None => groups.push((key, vec![u])),
        }
    }
    for ((check, reason), members) in groups {
        if members.len() >= GROUP_UNKNOWNS_FROM {
            let names: Vec<_> = members
                .iter()
                .filter_map(|u| u.package.as_deref().map(clean))
                .collect();
            let shown = names.iter().take(8).cloned().collect::<Vec<_>>().join(", ");
            let more = names.len().saturating_sub(8);
            let more = if more > 0 {
                format!(", … (+{more} more)")
            } else {
                String::new()
            };
            writeln!(
                out,
                "  [{}] {} packages: {}\n      {shown}{more}",
                check.as_str(),
                members.len(),
                clean_lines(reason)
            )?;
            continue;
        }
        for u in members {
            let who = match (&u.package, &u.version) {
                (Some(p), Some(v)) => format!("{} {}", clean(p), clean(v)),
                (Some(p), None) => clean(p).into_owned(),
                _ => "(run)".to_string(),
            };
            writeln!(
                out,
                "  [{}] {who}: {}",
                check.as_str(),
                clean_lines(&u.reason)
            )?;
        }
    }
    Ok(())
}

fn write_grouped(out: &mut dyn Write, findings: &[&Finding], style: Style) -> std::io::Result<()> {
    for check in CHECK_ORDER {
        let in_check: Vec<_> = findings.iter().filter(|f| f.check == check).collect();
        if in_check.is_empty() {
            continue;
        }
        writeln!(out, "  {}", style.bold(check.as_str()))?;
        for f in in_check {
            // The rule tag only when the message does not already name the rule.
            let rule = f
                .rule
                .map(|r| format!(" [{r}]"))
                .filter(|tag| {
                    !f.message
                        .contains(tag.trim_start().trim_matches(['[', ']']))
                })
                .unwrap_or_default();
            let head = format!("    {} {}: ", f.code.as_str(), package_label(f));
            // Cut to the terminal at a word boundary; JSON keeps the full text.
            let text = clean_lines(&f.message);
            let message = match style.width {
                Some(width) => {
                    let room = width.saturating_sub(head.chars().count() + rule.chars().count());
                    cut_at_word(&text, room.max(24))
                }
                None => text.into_owned(),
            };
            writeln!(
                out,
                "    {} {}: {message}{}",
                style.dim(f.code.as_str()),
                package_label(f),
                style.dim(&rule)
            )?;
            if let Some(id) = &f.advisory {
                writeln!(out, "      {}", style.dim(&advisory_link(id)))?;
            }
        }
    }
    Ok(())
}

/// Where people read an advisory: OSV's page, which covers GHSA, PYSEC and CVE ids alike.
fn advisory_link(id: &str) -> String {
    format!("https://osv.dev/vulnerability/{id}")
}

/// `text` cut to `width` characters at a word boundary, with an ellipsis when cut.
fn cut_at_word(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let keep: String = text.chars().take(width.saturating_sub(1)).collect();
    // Back to the last space, unless that throws away most of the room (one long word).
    let cut = match keep.rfind(char::is_whitespace) {
        Some(at) if at >= keep.len() / 2 => &keep[..at],
        _ => keep.as_str(),
    };
    format!("{}…", cut.trim_end())
}

/// The five operations with the most total time, from `metrics.operations`.
fn write_slowest_operations(
    out: &mut dyn Write,
    report: &Report,
    style: Style,
) -> std::io::Result<()> {
    let mut rows: Vec<_> = report.metrics.operations.iter().collect();
    rows.sort_by(|a, b| b.1.total_ms.total_cmp(&a.1.total_ms));
    if rows.is_empty() {
        return Ok(());
    }
    writeln!(out, "{}", style.bold("Slowest operations"))?;
    writeln!(
        out,
        "  {:<24} {:>7} {:>10} {:>9} {:>9}",
        "operation", "count", "total ms", "p95 ms", "p99 ms"
    )?;
    // A total over many operations adds up work that ran concurrently: it can exceed the run.
    let mut summed = false;
    for (name, op) in rows.into_iter().take(5) {
        let mark = if op.count > 1 && name != "run.total" {
            summed = true;
            "Σ"
        } else {
            " "
        };
        writeln!(
            out,
            "  {:<24} {:>7} {:>9.2}{mark} {:>9.3} {:>9.3}",
            name, op.count, op.total_ms, op.p95_ms, op.p99_ms
        )?;
    }
    if summed {
        writeln!(
            out,
            "  {}",
            style.dim(&format!(
                "Σ: sum over the operations, many of them concurrent; the run took {:.2} ms",
                report.metrics.total_ms
            ))
        )?;
    }
    let cache = &report.metrics.cache;
    if cache.lookups > 0 {
        writeln!(
            out,
            "  cache hit rate {:.1}% of {} lookups",
            cache.hit_rate * 100.0,
            cache.lookups
        )?;
    }
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;

    fn report(findings: Vec<Finding>, unknowns: Vec<Unknown>) -> Report {
        let target = TargetInfo {
            kind: "environment".into(),
            path: "/venv".into(),
            site_packages: vec![],
        };
        let mut report = Report::new(target, None, vec![], findings, unknowns);
        report.metrics.operations.insert(
            "inventory.scan".into(),
            crate::telemetry::OperationStats {
                count: 1,
                total_ms: 2.5,
                p95_ms: 2.5,
                p99_ms: 2.5,
                ..Default::default()
            },
        );
        report
    }

    fn render_plain(r: &Report) -> String {
        let mut buf = Vec::new();
        render(r, &mut buf, Style::plain()).unwrap();
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn long_advisories_are_cut_at_a_word_to_the_terminal_with_their_link() {
        let mut finding = Finding::new(
            Code::Vulnerability,
            Severity::Error,
            "GHSA-aaaa-bbbb-cccc: Potential denial of service via very long header values in the \
             multipart parser when many parts are sent [severity 7.5; fixed in 4.2.1]",
        )
        .for_package("Django", "3.2");
        finding.advisory = Some("GHSA-aaaa-bbbb-cccc".into());
        let mut r = report(vec![finding], vec![]);
        r.metrics.operations.insert(
            "http.pypi".into(),
            crate::telemetry::OperationStats {
                count: 40,
                total_ms: 900.0,
                ..Default::default()
            },
        );
        let mut buf = Vec::new();
        let style = Style {
            color: false,
            width: Some(80),
        };
        render(&r, &mut buf, style).unwrap();
        let text = String::from_utf8(buf).unwrap();
        let line = text.lines().find(|l| l.contains("Django 3.2")).unwrap();
        assert!(line.chars().count() <= 80, "{line}");
        assert!(line.ends_with('…'), "{line}");
        // Cut between words, not inside one.
        let before = line.trim_end_matches('…');
        assert!(
            r.findings[0]
                .message
                .contains(&format!("{} ", before.rsplit(": ").next().unwrap())),
            "{line}"
        );
        assert!(
            text.contains("      https://osv.dev/vulnerability/GHSA-aaaa-bbbb-cccc"),
            "{text}"
        );
        // Concurrent sums are marked and explained.
        assert!(text.contains("900.00Σ"), "{text}");
        assert!(text.contains("Σ: sum over the operations"), "{text}");
        // Files and pipes keep the full text.
        assert!(render_plain(&r).contains("many parts are sent [severity 7.5"));
    }

    #[test]
    fn the_rule_tag_is_left_out_when_the_message_names_the_rule() {
        let named = Finding::new(
            Code::LicenseDenied,
            Severity::Error,
            "license `0BSD`: 0BSD is denied by licenses.deny[1] (`0BSD`)",
        )
        .for_package("watchme", "1.0")
        .with_rule(RuleRef::entry(RuleKey::LicensesDeny, 1));
        let text = render_plain(&report(vec![named], vec![]));
        assert!(!text.contains("[licenses.deny[1]]"), "{text}");
    }

    #[test]
    fn violations_are_grouped_and_verdict_is_last() {
        let f = Finding::new(
            Code::LicenseDenied,
            Severity::Error,
            "GPL-3.0-only is denied",
        )
        .for_package("foo", "1.0")
        .with_rule(RuleKey::LicensesDeny);
        let text = render_plain(&report(vec![f], vec![]));
        assert!(text.contains("Violations (1)"));
        assert!(text.contains("license-denied foo 1.0: GPL-3.0-only is denied [licenses.deny]"));
        assert!(text.contains("inventory.scan"));
        assert!(
            text.trim_end()
                .lines()
                .last()
                .unwrap()
                .starts_with("VIOLATIONS")
        );
        assert!(!text.contains("\x1b["), "plain style has no escapes");
    }

    /// The headless face gives the same upgrade advice as the dashboard's drill-down.
    #[test]
    fn vulnerable_packages_get_the_smallest_clearing_upgrade() {
        let mut r = report(vec![], vec![]);
        let mut urllib3 = fixtures::package("urllib3", "1.26.5");
        urllib3.vulnerabilities = vec![
            fixtures::vulnerability("GHSA-a", &["1.26.17", "2.0.6"]),
            fixtures::vulnerability("GHSA-b", &["1.26.18"]),
        ];
        r.packages = vec![fixtures::package("idna", "3.4"), urllib3];
        let text = render_plain(&r);
        assert!(
            text.contains("Upgrades for known vulnerabilities"),
            "{text}"
        );
        assert!(
            text.contains("  urllib3 ≥ 1.26.18 clears all 2 advisories"),
            "{text}"
        );
        assert!(!text.contains("idna ≥"), "{text}");
        let clean = render_plain(&report(vec![], vec![]));
        assert!(!clean.contains("Upgrades"), "{clean}");
    }

    #[test]
    fn many_unknowns_with_one_reason_share_a_line() {
        let unknowns: Vec<Unknown> = (0..10)
            .map(|i| Unknown {
                package: Some(format!("pkg{i}")),
                version: Some("1.0".into()),
                check: Check::Vulnerabilities,
                reason: "offline".into(),
                fails_run: true,
            })
            .collect();
        let text = render_plain(&report(vec![], unknowns));
        assert!(text.contains("What to do about the unknowns"), "{text}");
        assert!(
            text.contains("[vulnerabilities] 10 packages: offline"),
            "{text}"
        );
        assert!(text.contains("pkg0, pkg1"));
        assert!(text.contains("(+2 more)"));
        assert!(!text.contains("pkg9 1.0"));
    }

    #[test]
    fn blocking_unknowns_make_it_incomplete_never_clean() {
        let u = Unknown {
            package: Some("bar".into()),
            version: Some("2".into()),
            check: Check::Vulnerabilities,
            reason: "osv: connection refused".into(),
            fails_run: true,
        };
        let text = render_plain(&report(vec![], vec![u]));
        assert!(text.contains("Unknown — fails the run (1)"));
        assert!(text.contains("bar 2: osv: connection refused"));
        assert!(text.contains("INCOMPLETE"));
        assert!(!text.contains("CLEAN"));
    }
}
