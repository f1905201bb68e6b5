//! JUnit XML (`--format junit`), for CI systems that show test reports: one test suite per
//! check, one test case per package. A violation is a `<failure>`, an unknown that fails the run
//! an `<error>`, any other unknown `<skipped>` (not checked is never shown as passed); warnings go
//! to `<system-out>`. Findings and unknowns about no package land in a `run` suite.

use std::collections::BTreeMap;
use std::io::Write;

use crate::model::{Check, Finding, Report, Severity, Unknown};

const PER_PACKAGE_CHECKS: [Check; 4] = [
    Check::Packages,
    Check::Licenses,
    Check::Vulnerabilities,
    Check::Health,
];

/// XML text and attribute escaping.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 cannot carry most control characters at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// What one test case says.
#[derive(Default)]
struct Case<'a> {
    failures: Vec<&'a Finding>,
    warnings: Vec<&'a Finding>,
    errors: Vec<&'a Unknown>,
    skipped: Vec<&'a Unknown>,
}

impl<'a> Case<'a> {
    fn add_finding(&mut self, f: &'a Finding) {
        match f.severity {
            Severity::Error => self.failures.push(f),
            Severity::Warning | Severity::Note => self.warnings.push(f),
        }
    }

    fn add_unknown(&mut self, u: &'a Unknown) {
        if u.fails_run {
            self.errors.push(u)
        } else {
            self.skipped.push(u)
        }
    }

    fn write(&self, out: &mut dyn Write, suite: &str, name: &str) -> std::io::Result<()> {
        writeln!(
            out,
            "    <testcase classname=\"depdash.{suite}\" name=\"{}\">",
            escape(name)
        )?;
        for f in &self.failures {
            writeln!(
                out,
                "      <failure type=\"{}\" message=\"{}\">{}</failure>",
                escape(f.code.as_str()),
                escape(&f.message),
                escape(&f.rule.map(|r| r.to_string()).unwrap_or_default())
            )?;
        }
        for u in &self.errors {
            writeln!(
                out,
                "      <error type=\"unknown\" message=\"{}\"/>",
                escape(&u.reason)
            )?;
        }
        if self.failures.is_empty() && self.errors.is_empty() && !self.skipped.is_empty() {
            let reasons: Vec<&str> = self.skipped.iter().map(|u| u.reason.as_str()).collect();
            writeln!(
                out,
                "      <skipped message=\"{}\"/>",
                escape(&reasons.join("; "))
            )?;
        }
        if !self.warnings.is_empty() {
            let lines: Vec<String> = self
                .warnings
                .iter()
                .map(|f| format!("{}: {}", f.code, f.message))
                .collect();
            writeln!(
                out,
                "      <system-out>{}</system-out>",
                escape(&lines.join("\n"))
            )?;
        }
        writeln!(out, "    </testcase>")
    }
}

/// Test, failure, error and skipped counts of a suite (or, summed, of the root).
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
struct Totals {
    tests: usize,
    failures: usize,
    errors: usize,
    skipped: usize,
}

impl Totals {
    /// Each case counts once, by its worst outcome: failure, then error, then skipped.
    fn of(cases: &BTreeMap<String, Case<'_>>) -> Self {
        let mut totals = Totals {
            tests: cases.len(),
            ..Totals::default()
        };
        for case in cases.values() {
            if !case.failures.is_empty() {
                totals.failures += 1;
            } else if !case.errors.is_empty() {
                totals.errors += 1;
            } else if !case.skipped.is_empty() {
                totals.skipped += 1;
            }
        }
        totals
    }

    fn add(self, other: Totals) -> Totals {
        Totals {
            tests: self.tests + other.tests,
            failures: self.failures + other.failures,
            errors: self.errors + other.errors,
            skipped: self.skipped + other.skipped,
        }
    }

    /// The counting attributes shared by `<testsuites>` and `<testsuite>`.
    fn attributes(&self) -> String {
        format!(
            "tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\"",
            self.tests, self.failures, self.errors, self.skipped
        )
    }
}

fn write_suite(
    out: &mut dyn Write,
    name: &str,
    cases: &BTreeMap<String, Case<'_>>,
) -> std::io::Result<()> {
    writeln!(
        out,
        "  <testsuite name=\"{name}\" {}>",
        Totals::of(cases).attributes()
    )?;
    for (case_name, case) in cases {
        case.write(out, name, case_name)?;
    }
    writeln!(out, "  </testsuite>")
}

pub fn render(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    // Package display name by normalised name, to match findings (which carry display names).
    let label = |package: &str| {
        let normalized = crate::model::normalize_name(package);
        report
            .packages
            .iter()
            .find(|p| p.normalized == normalized)
            .map(|p| format!("{} {}", p.name, p.version))
            .unwrap_or_else(|| package.to_string())
    };
    let mut suites: BTreeMap<Check, BTreeMap<String, Case<'_>>> = BTreeMap::new();
    let mut run_cases: BTreeMap<String, Case<'_>> = BTreeMap::new();
    for check in PER_PACKAGE_CHECKS {
        let cases = suites.entry(check).or_default();
        for p in &report.packages {
            cases.insert(format!("{} {}", p.name, p.version), Case::default());
        }
    }
    for f in &report.findings {
        match (&f.package, suites.get_mut(&f.check)) {
            (Some(package), Some(cases)) => cases.entry(label(package)).or_default().add_finding(f),
            _ => run_cases
                .entry(format!("{} {}", f.check.as_str(), f.code))
                .or_default()
                .add_finding(f),
        }
    }
    for u in &report.unknowns {
        match (&u.package, suites.get_mut(&u.check)) {
            (Some(package), Some(cases)) => cases.entry(label(package)).or_default().add_unknown(u),
            _ => run_cases
                .entry(format!(
                    "{} {}",
                    u.check.as_str(),
                    u.package.as_deref().unwrap_or("run")
                ))
                .or_default()
                .add_unknown(u),
        }
    }

    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    // The root's totals are the sums of the suites', so CI views that read either agree.
    let totals = suites
        .values()
        .chain(std::iter::once(&run_cases))
        .map(Totals::of)
        .fold(Totals::default(), Totals::add);
    writeln!(out, "<testsuites name=\"depdash\" {}>", totals.attributes())?;
    for (check, cases) in &suites {
        write_suite(out, check.as_str(), cases)?;
    }
    if !run_cases.is_empty() {
        write_suite(out, "run", &run_cases)?;
    }
    writeln!(out, "</testsuites>")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;

    fn package(name: &str, version: &str) -> PackageReport {
        PackageReport {
            name: name.into(),
            normalized: normalize_name(name),
            version: version.into(),
            license: ResolvedLicense::unknown("none"),
            requires: vec![],
            origin: Origin::DistInfo,
            location: None,
            vulnerabilities: vec![],
            registry: None,
            stale: vec![],
            status: PackageStatus::Ok,
            line: None,
            hashes: Vec::new(),
            required_by: Vec::new(),
            fix: None,
        }
    }

    #[test]
    fn violations_fail_unknowns_error_or_skip_and_text_is_escaped() {
        let packages = vec![package("Foo_Bar", "1.0"), package("baz", "2.0")];
        let findings = vec![
            Finding::new(
                Code::LicenseDenied,
                Severity::Error,
                "GPL <3> & \"friends\"",
            )
            .for_package("foo-bar", "1.0")
            .with_rule(RuleRef::entry(RuleKey::LicensesDeny, 0)),
            Finding::new(Code::Outdated, Severity::Warning, "2.1 is out").for_package("baz", "2.0"),
            Finding::new(Code::LicenseExceptionUnused, Severity::Warning, "x"),
        ];
        let unknowns = vec![
            Unknown {
                package: Some("baz".into()),
                version: Some("2.0".into()),
                check: Check::Vulnerabilities,
                reason: "OSV: timeout".into(),
                fails_run: true,
            },
            Unknown {
                package: Some("foo-bar".into()),
                version: None,
                check: Check::Health,
                reason: "offline".into(),
                fails_run: false,
            },
        ];
        let report = Report::new(TargetInfo::default(), None, packages, findings, unknowns);
        let mut buf = Vec::new();
        render(&report, &mut buf).unwrap();
        let xml = String::from_utf8(buf).unwrap();
        assert!(
            xml.contains(
                r#"<testsuite name="licenses" tests="2" failures="1" errors="0" skipped="0">"#
            ),
            "{xml}"
        );
        assert!(xml.contains(r#"<failure type="license-denied" message="GPL &lt;3&gt; &amp; &quot;friends&quot;">licenses.deny[0]</failure>"#), "{xml}");
        assert!(xml.contains(r#"<testsuite name="vulnerabilities" tests="2" failures="0" errors="1" skipped="0">"#), "{xml}");
        assert!(xml.contains(r#"<error type="unknown" message="OSV: timeout"/>"#));
        assert!(
            xml.contains(
                r#"<testsuite name="health" tests="2" failures="0" errors="0" skipped="1">"#
            ),
            "{xml}"
        );
        assert!(xml.contains("<system-out>outdated: 2.1 is out</system-out>"));
        assert!(xml.contains(r#"<testsuite name="run" tests="1""#), "{xml}");
        // The finding named `foo-bar` lands on the package's case, shown as the metadata spells it.
        assert!(xml.contains(r#"name="Foo_Bar 1.0""#));
        assert_eq!(xml.matches("<testcase ").count(), 9);
        // Root totals are the sums of the suites: 9 cases; Foo_Bar's denied license fails,
        // baz's failing vulnerability unknown is an error, foo-bar's health unknown is skipped.
        assert!(
            xml.contains(
                r#"<testsuites name="depdash" tests="9" failures="1" errors="1" skipped="1">"#
            ),
            "{xml}"
        );
        let sum = |attr: &str| -> usize {
            xml.match_indices(&format!("{attr}=\""))
                .skip(1)
                .map(|(i, _)| {
                    let rest = &xml[i + attr.len() + 2..];
                    rest[..rest.find('"').unwrap()].parse::<usize>().unwrap()
                })
                .sum()
        };
        for attr in ["tests", "failures", "errors", "skipped"] {
            let root = &xml[xml.find(&format!(" {attr}=\"")).unwrap() + attr.len() + 3..];
            let root: usize = root[..root.find('"').unwrap()].parse().unwrap();
            assert_eq!(root, sum(attr), "{attr}: root is not the sum of the suites");
        }
        assert_eq!(escape("a\u{1}b"), "a\u{FFFD}b");
    }
}
