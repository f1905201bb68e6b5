//! Approved, banned and required packages, with PEP 440 version specifiers.
//!
//! - `deny`: a listed package (optionally only in a version range) is a violation.
//! - `allow`: when non-empty, every package must be listed (and in range when a version is given).
//! - `require`: the package **must be present** and satisfy its specifier; absent is a violation
//!   (`package-required-missing`), present in the wrong version too (`package-version-mismatch`).
//!   "Required" is read as a presence requirement because a rule that is silently satisfied by the
//!   package's absence would let the check pass on the very environments it is meant to catch.
//!
//! A version that is not PEP 440 cannot be compared: a versioned rule on it gives an `Unknown`
//! (failing the run: the rule could not be checked), never a pass.

pub mod config;

use std::str::FromStr;

use pep440_rs::Version;

use crate::checks::CheckOutput;
use crate::model::{Check, Code, Distribution, Finding, RuleKey, RuleRef, Severity, Unknown};
use config::{PackagePolicy, PackageRule};

/// Whether `rule` applies to `dist`: `Ok(true/false)`, or `Err(reason)` when the version cannot
/// be compared with the rule's specifier.
fn applies(rule: &PackageRule, dist: &Distribution, rule_path: &RuleRef) -> Result<bool, String> {
    if rule.name != dist.normalized {
        return Ok(false);
    }
    in_range(rule, dist, rule_path)
}

/// Whether the installed version satisfies the rule's specifier (always, without one).
fn in_range(rule: &PackageRule, dist: &Distribution, rule_path: &RuleRef) -> Result<bool, String> {
    let Some(specifiers) = &rule.version else {
        return Ok(true);
    };
    let version = Version::from_str(dist.version.trim()).map_err(|e| {
        format!(
            "version `{}` is not PEP 440 ({e}); cannot tell whether {rule_path} (`{specifiers}`) applies",
            dist.version
        )
    })?;
    Ok(specifiers.contains(&version))
}

fn unknown(dist: &Distribution, reason: String) -> Unknown {
    Unknown {
        package: Some(dist.name.clone()),
        version: Some(dist.version.clone()),
        check: Check::Packages,
        reason,
        fails_run: true,
    }
}

fn with_reason(message: String, rule: &PackageRule) -> String {
    match rule.reason.as_deref().filter(|r| !r.trim().is_empty()) {
        Some(reason) => format!("{message}: {reason}"),
        None => message,
    }
}

fn version_text(rule: &PackageRule) -> String {
    rule.version
        .as_ref()
        .map(|v| format!(" {v}"))
        .unwrap_or_default()
}

/// An error finding about `dist` and the rule at `path`: "`dist` `relation` `path` (`rule`)".
fn rule_finding(
    code: Code,
    dist: &Distribution,
    rule: &PackageRule,
    path: RuleRef,
    relation: &str,
) -> Finding {
    let message = format!(
        "{} {} {relation} {path} (`{}{}`)",
        dist.name,
        dist.version,
        rule.name,
        version_text(rule)
    );
    Finding::new(code, Severity::Error, with_reason(message, rule))
        .for_package(&dist.name, &dist.version)
        .with_rule(path)
}

/// Apply `[packages]` to the whole inventory (`require` needs all of it at once).
pub fn evaluate(dists: &[Distribution], policy: &PackagePolicy) -> CheckOutput {
    let mut out = CheckOutput::default();
    for dist in dists {
        for (i, rule) in policy.deny.iter().enumerate() {
            let path = RuleRef::entry(RuleKey::PackagesDeny, i);
            match applies(rule, dist, &path) {
                Ok(true) => out.findings.push(rule_finding(
                    Code::PackageDenied,
                    dist,
                    rule,
                    path,
                    "is denied by",
                )),
                Ok(false) => {}
                Err(reason) => out.unknowns.push(unknown(dist, reason)),
            }
        }

        if !policy.allow.is_empty() {
            let named: Vec<(usize, &PackageRule)> = policy
                .allow
                .iter()
                .enumerate()
                .filter(|(_, r)| r.name == dist.normalized)
                .collect();
            if named.is_empty() {
                out.findings.push(
                    Finding::new(
                        Code::PackageNotApproved,
                        Severity::Error,
                        format!(
                            "{} {} is not in packages.allow (only listed packages are approved)",
                            dist.name, dist.version
                        ),
                    )
                    .for_package(&dist.name, &dist.version)
                    .with_rule(RuleKey::PackagesAllow),
                );
            } else {
                let mut approved = false;
                let mut reasons = Vec::new();
                for (i, rule) in &named {
                    match in_range(rule, dist, &RuleRef::entry(RuleKey::PackagesAllow, *i)) {
                        Ok(true) => approved = true,
                        Ok(false) => {}
                        Err(reason) => reasons.push(reason),
                    }
                }
                if !approved {
                    if !reasons.is_empty() {
                        out.unknowns.push(unknown(dist, reasons.join("; ")));
                    } else {
                        let (i, rule) = named[0];
                        let ranges: Vec<String> = named
                            .iter()
                            .map(|(_, r)| version_text(r).trim().to_string())
                            .collect();
                        out.findings.push(
                            Finding::new(
                                Code::PackageNotApproved,
                                Severity::Error,
                                with_reason(
                                    format!(
                                        "{} {} is outside the approved versions ({})",
                                        dist.name,
                                        dist.version,
                                        ranges.join(" or ")
                                    ),
                                    rule,
                                ),
                            )
                            .for_package(&dist.name, &dist.version)
                            .with_rule(RuleRef::entry(RuleKey::PackagesAllow, i)),
                        );
                    }
                }
            }
        }
    }

    for (i, rule) in policy.require.iter().enumerate() {
        let path = RuleRef::entry(RuleKey::PackagesRequire, i);
        let present: Vec<&Distribution> =
            dists.iter().filter(|d| d.normalized == rule.name).collect();
        if present.is_empty() {
            let mut finding = Finding::new(
                Code::PackageRequiredMissing,
                Severity::Error,
                with_reason(
                    format!(
                        "{} is required by {path} (`{}{}`) but not installed",
                        rule.name,
                        rule.name,
                        version_text(rule)
                    ),
                    rule,
                ),
            )
            .with_rule(path);
            finding.package = Some(rule.name.clone());
            out.findings.push(finding);
            continue;
        }
        for dist in present {
            match in_range(rule, dist, &path) {
                Ok(true) => {}
                Ok(false) => out.findings.push(rule_finding(
                    Code::PackageVersionMismatch,
                    dist,
                    rule,
                    path,
                    "does not satisfy",
                )),
                Err(reason) => out.unknowns.push(unknown(dist, reason)),
            }
        }
    }
    out
}
