//! Vulnerability policy: ignores (alias-aware, expiring), severity threshold, unknown status.
//!
//! - An advisory is ignored when a `vulnerabilities.ignore` entry names its id or any alias
//!   (CVE, GHSA, PYSEC; case-insensitive) and the entry's `until` date (inclusive) has not
//!   passed. Expired entries are not applied — the advisory is reported — and get a warning.
//! - Below `severity_threshold` an advisory is a warning; at or above it, or when no score is
//!   known (no CVSS vector and no ecosystem severity word), it is an error: an unscored advisory
//!   is not assumed harmless.

pub mod config;

use std::collections::BTreeSet;

use crate::checks::CheckOutput;
use crate::config::Disposition;
use crate::model::{
    Check, Code, Distribution, Finding, RuleKey, RuleRef, Severity, Unknown, Vulnerability,
};
use config::{VulnerabilityIgnore, VulnerabilityPolicy};

/// Which ignore entries were applied, and which expired ones still matched, across packages.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IgnoreUsage {
    /// The evaluation date (to tell expired entries in [`unused_ignores`]).
    today: Option<time::Date>,
    applied: BTreeSet<usize>,
    /// (ignore index, package, advisory id) for expired entries that matched.
    expired_matches: BTreeSet<(usize, String, String)>,
}

impl IgnoreUsage {
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether `policy.ignore[index]` suppressed some advisory.
    pub fn was_applied(&self, index: usize) -> bool {
        self.applied.contains(&index)
    }
}

fn names_advisory(ignore: &VulnerabilityIgnore, vuln: &Vulnerability) -> bool {
    let id = ignore.id.trim();
    vuln.id.eq_ignore_ascii_case(id) || vuln.aliases.iter().any(|a| a.eq_ignore_ascii_case(id))
}

fn expired(ignore: &VulnerabilityIgnore, today: time::Date) -> bool {
    ignore.until.is_some_and(|until| today > until)
}

/// The highest CVSS base score, else the ecosystem's severity word as the lowest score of its
/// CVSS band (LOW 0.1, MODERATE/MEDIUM 4.0, HIGH 7.0, CRITICAL 9.0).
pub fn effective_score(vuln: &Vulnerability) -> Option<f64> {
    vuln.max_score().or_else(|| {
        vuln.severity
            .iter()
            .filter_map(|s| match s.vector.trim().to_ascii_uppercase().as_str() {
                "CRITICAL" => Some(9.0),
                "HIGH" => Some(7.0),
                "MODERATE" | "MEDIUM" => Some(4.0),
                "LOW" => Some(0.1),
                _ => None,
            })
            .reduce(f64::max)
    })
}

fn describe(vuln: &Vulnerability, score: Option<f64>) -> String {
    let mut text = vuln.id.clone();
    if !vuln.aliases.is_empty() {
        text.push_str(&format!(" ({})", vuln.aliases.join(", ")));
    }
    let summary = vuln.summary.trim();
    if !summary.is_empty() {
        text.push_str(": ");
        text.push_str(summary);
    }
    let mut details = Vec::new();
    match score {
        Some(s) => details.push(format!("severity {s:.1}")),
        None => details.push("no severity score".to_string()),
    }
    match vuln.fixed_in.first() {
        Some(fixed) => details.push(format!("fixed in {fixed}")),
        None => details.push("no fixed version".to_string()),
    }
    format!("{text} [{}]", details.join("; "))
}

/// Judge the advisories affecting one installed distribution.
pub fn evaluate(
    dist: &Distribution,
    vulns: &[Vulnerability],
    policy: &VulnerabilityPolicy,
    today: time::Date,
    usage: &mut IgnoreUsage,
) -> CheckOutput {
    usage.today = usage.today.max(Some(today));
    let mut out = CheckOutput::default();
    for vuln in vulns {
        let matching: Vec<(usize, &VulnerabilityIgnore)> = policy
            .ignore
            .iter()
            .enumerate()
            .filter(|(_, ig)| names_advisory(ig, vuln))
            .collect();
        let score = effective_score(vuln);
        let active = matching.iter().find(|(_, ig)| !expired(ig, today));
        if active.is_none() {
            for (i, _) in &matching {
                usage
                    .expired_matches
                    .insert((*i, dist.name.clone(), vuln.id.clone()));
            }
        }
        if let Some((i, ignore)) = active {
            usage.applied.insert(*i);
            let until = ignore
                .until
                .map(|u| format!(" until {u}"))
                .unwrap_or_default();
            let reason = if ignore.reason.trim().is_empty() {
                String::new()
            } else {
                format!(": {}", ignore.reason.trim())
            };
            let mut finding = Finding::new(
                Code::VulnerabilityIgnored,
                Severity::Note,
                format!(
                    "{} ignored by vulnerabilities.ignore[{i}] (`{}`){until}{reason}",
                    describe(vuln, score),
                    ignore.id
                ),
            )
            .for_package(&dist.name, &dist.version)
            .with_rule(RuleRef::entry(RuleKey::VulnerabilitiesIgnore, *i));
            finding.advisory = Some(vuln.id.clone());
            out.findings.push(finding);
            continue;
        }
        let below = match (policy.severity_threshold, score) {
            (Some(threshold), Some(score)) => score < threshold,
            _ => false,
        };
        let (severity, rule, message) = if below {
            (
                Severity::Warning,
                RuleKey::VulnerabilitiesSeverityThreshold,
                format!(
                    "{} is below the severity threshold {:.1}",
                    describe(vuln, score),
                    policy.severity_threshold.unwrap_or_default()
                ),
            )
        } else {
            (
                Severity::Error,
                RuleKey::Vulnerabilities,
                describe(vuln, score),
            )
        };
        let mut finding = Finding::new(Code::Vulnerability, severity, message)
            .for_package(&dist.name, &dist.version)
            .with_rule(rule);
        finding.advisory = Some(vuln.id.clone());
        out.findings.push(finding);
    }
    out
}

/// Warnings for ignore entries that are expired (`ignore-expired`, with what they still match)
/// or matched nothing (`ignore-unused`). Call after every package was evaluated.
pub fn unused_ignores(policy: &VulnerabilityPolicy, usage: &IgnoreUsage) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (i, ignore) in policy.ignore.iter().enumerate() {
        let rule = RuleRef::entry(RuleKey::VulnerabilitiesIgnore, i);
        let is_expired = usage.today.is_some_and(|today| expired(ignore, today));
        if is_expired {
            let matched: Vec<String> = usage
                .expired_matches
                .iter()
                .filter(|(j, _, _)| *j == i)
                .map(|(_, package, advisory)| format!("{advisory} in {package}"))
                .collect();
            let tail = if matched.is_empty() {
                String::new()
            } else {
                format!("; it matches {}, reported again", matched.join(", "))
            };
            findings.push(
                Finding::new(
                    Code::IgnoreExpired,
                    Severity::Warning,
                    format!(
                        "{rule} (`{}`) expired on {} and is no longer applied{tail}",
                        ignore.id,
                        ignore.until.map(|u| u.to_string()).unwrap_or_default()
                    ),
                )
                .with_rule(rule),
            );
        } else if !usage.was_applied(i) {
            findings.push(
                Finding::new(
                    Code::IgnoreUnused,
                    Severity::Warning,
                    format!(
                        "{rule} (`{}`) matched no advisory of any installed package; remove it",
                        ignore.id
                    ),
                )
                .with_rule(rule),
            );
        }
    }
    findings
}

/// The vulnerability status of `dist` could not be determined (fetch failed, no database...).
/// Fails the run when `policy.unknown` is `deny` (the default).
pub fn unknown(dist: &Distribution, reason: &str, policy: &VulnerabilityPolicy) -> Unknown {
    Unknown {
        package: Some(dist.name.clone()),
        version: Some(dist.version.clone()),
        check: Check::Vulnerabilities,
        reason: reason.to_string(),
        fails_run: policy.unknown == Disposition::Deny,
    }
}
