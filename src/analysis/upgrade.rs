//! The smallest upgrade that clears a package's known vulnerabilities, by PEP 440 ordering, and
//! the fix: that upgrade restricted to what the package's dependents and the policy accept.
//! Engine-agnostic: it reads the report's packages and constraints handed in by the caller.

use std::collections::HashMap;
use std::str::FromStr;

use pep440_rs::{Version, VersionSpecifiers};
use pep508_rs::VersionOrUrl;

use crate::model::{Fix, PackageReport, Vulnerability, normalize_name, normalized_name};

/// The answer for one package.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Upgrade {
    /// Smallest version above the installed one that clears every fixable advisory; `None`
    /// when no listed fixed version does.
    pub version: Option<String>,
    /// Advisories cleared by `version`.
    pub clears: Vec<String>,
    /// Advisories with no fixed version above the installed one: no upgrade clears them.
    pub unfixed: Vec<String>,
}

/// Whether `candidate` is outside the ranges an advisory fixed with `fixed` (sorted) covers.
///
/// Advisories list one fixed version per release line (e.g. `1.26.17` and `2.0.6`): a version
/// at or above the highest fix is clear; a lower one is clear only when it is in the same line
/// (all release segments but the last) as a fix at or below it. So `2.0.1` does not clear an
/// advisory fixed in `1.26.17` and `2.0.6`, while `1.26.18` does.
fn clears(fixed: &[Version], candidate: &Version) -> bool {
    let Some(highest) = fixed.last() else {
        return false;
    };
    if candidate >= highest {
        return true;
    }
    fixed
        .iter()
        .filter(|f| *f <= candidate)
        .any(|f| same_release_line(f, candidate))
}

fn same_release_line(fix: &Version, candidate: &Version) -> bool {
    let line = &fix.release()[..fix.release().len().saturating_sub(1)];
    let release = candidate.release();
    line.iter()
        .enumerate()
        .all(|(i, segment)| release.get(i).copied().unwrap_or(0) == *segment)
}

/// The smallest fixed version above `installed` that clears all of `vulnerabilities` that can
/// be cleared. Unparseable versions are skipped; an unparseable installed version yields `None`.
pub fn smallest_clearing_upgrade(
    installed: &str,
    vulnerabilities: &[Vulnerability],
) -> Option<Upgrade> {
    let installed = Version::from_str(installed).ok()?;
    let advisories: Vec<(&str, Vec<Version>)> = vulnerabilities
        .iter()
        .map(|v| (v.id.as_str(), sorted_versions(&v.fixed_in)))
        .collect();
    let (fixable, unfixable): (Vec<_>, Vec<_>) = advisories
        .iter()
        .partition(|(_, fixed)| fixed.last().is_some_and(|h| *h > installed));
    let unfixed: Vec<String> = unfixable.iter().map(|(id, _)| id.to_string()).collect();

    let mut candidates: Vec<&Version> = fixable
        .iter()
        .flat_map(|(_, fixed)| fixed.iter())
        .filter(|f| **f > installed)
        .collect();
    candidates.sort();
    candidates.dedup();
    let version = candidates
        .into_iter()
        .find(|c| fixable.iter().all(|(_, fixed)| clears(fixed, c)));
    Some(Upgrade {
        clears: match version {
            Some(_) => fixable.iter().map(|(id, _)| id.to_string()).collect(),
            None => Vec::new(),
        },
        version: version.map(ToString::to_string),
        unfixed,
    })
}

/// The upgrade advice for a vulnerable package in one sentence, for both faces ("urllib3 ≥
/// 1.26.18 clears all 2 advisories; no fix yet for X"), and whether an upgrade helps at all.
/// The package's [`Fix`] is used when it has one.
/// `None` when the package has no known vulnerability (or its version does not parse).
pub fn upgrade_advice(package: &PackageReport) -> Option<(String, bool)> {
    if package.vulnerabilities.is_empty() {
        return None;
    }
    // The report's fix also weighs dependents and policy: prefer it when the engine set one.
    if let Some(fix) = &package.fix {
        return Some(match &fix.version {
            Some(version) => (
                format!("{} → {version}: {}", package.name, fix.reason),
                true,
            ),
            None => (format!("{}: no fix — {}", package.name, fix.reason), false),
        });
    }
    let upgrade = smallest_clearing_upgrade(&package.version, &package.vulnerabilities)?;
    let mut text = match &upgrade.version {
        Some(version) => {
            let n = upgrade.clears.len();
            let what = match n {
                1 => "1 advisory".to_string(),
                _ if n == package.vulnerabilities.len() => format!("all {n} advisories"),
                _ => format!("{n} advisories"),
            };
            format!("{} ≥ {version} clears {what}", package.name)
        }
        None => "no fixed version is known".to_string(),
    };
    if !upgrade.unfixed.is_empty() {
        text.push_str(&format!("; no fix yet for {}", upgrade.unfixed.join(", ")));
    }
    Some((text, upgrade.version.is_some()))
}

/// A rule a fix version must obey, with who imposes it (for the reason text).
#[derive(Clone, Debug)]
pub struct Constraint {
    /// Who imposes it: `requests (urllib3<3,>=1.21.1)`, `packages.require[0]`.
    pub source: String,
    pub specifiers: VersionSpecifiers,
    /// `true`: the version must satisfy `specifiers`; `false`: it must not (a deny rule).
    pub must_match: bool,
}

impl Constraint {
    fn accepts(&self, version: &Version) -> bool {
        self.specifiers.contains(version) == self.must_match
    }
}

/// The `Requires-Dist` specifiers that the other packages of `packages` place on `target`
/// (normalised name). Requirements that apply only with an extra are left out (whether the extra
/// was requested is not known here), as are unparseable ones and bare names.
pub fn dependent_constraints(packages: &[PackageReport], target: &str) -> Vec<Constraint> {
    DependentConstraints::new(packages, |name| name == target).of(target)
}

/// [`dependent_constraints`] for every package at once: each `Requires-Dist` is parsed once,
/// not once per vulnerable package (10,000 packages with 400 vulnerable spent 14 s re-parsing).
pub struct DependentConstraints {
    by_target: HashMap<String, Vec<Constraint>>,
}

impl DependentConstraints {
    /// The constraints on the targets `wanted` accepts (normalised names). A requirement on
    /// another target is skipped by its leading name, unparsed: a report with 10,000 packages
    /// wants the constraints of its few vulnerable ones.
    pub fn new(packages: &[PackageReport], wanted: impl Fn(&str) -> bool) -> Self {
        let mut by_target: HashMap<String, Vec<Constraint>> = HashMap::new();
        for package in packages {
            for raw in &package.requires {
                if !wanted(&normalized_name(crate::pep508::leading_name(raw))) {
                    continue;
                }
                // Through the guarded parser: hostile `Requires-Dist` values crash pep508_rs.
                let Ok(req) = crate::pep508::parse_requirement(raw) else {
                    continue;
                };
                let target = normalize_name(req.name.as_ref());
                if target == package.normalized || !req.marker.evaluate_extras(&[]) {
                    continue;
                }
                if let Some(VersionOrUrl::VersionSpecifier(specifiers)) = &req.version_or_url
                    && !specifiers.is_empty()
                {
                    by_target.entry(target).or_default().push(Constraint {
                        source: format!("{} ({})", package.name, specifiers),
                        specifiers: specifiers.clone(),
                        must_match: true,
                    });
                }
            }
        }
        DependentConstraints { by_target }
    }

    /// The constraints on `target` (normalised name), in package order.
    pub fn of(&self, target: &str) -> Vec<Constraint> {
        self.by_target.get(target).cloned().unwrap_or_default()
    }
}

/// The fix for a vulnerable package: the smallest candidate version that clears every advisory
/// and that every constraint accepts. Candidates are the index's newer releases when known, else
/// the advisories' fixed versions. `None` when the package has no known vulnerability; a
/// [`Fix`] without a version (and the reason) when no candidate qualifies.
pub fn find_fix(package: &PackageReport, constraints: &[Constraint]) -> Option<Fix> {
    if package.vulnerabilities.is_empty() {
        return None;
    }
    let no_fix = |reason: String| {
        Some(Fix {
            version: None,
            clears: Vec::new(),
            reason,
        })
    };
    let Ok(installed) = Version::from_str(&package.version) else {
        return no_fix(format!(
            "the installed version {} is not a PEP 440 version",
            package.version
        ));
    };
    let advisories: Vec<(&str, Vec<Version>)> = package
        .vulnerabilities
        .iter()
        .map(|v| (v.id.as_str(), sorted_versions(&v.fixed_in)))
        .collect();
    let unfixed: Vec<&str> = advisories
        .iter()
        .filter(|(_, fixed)| fixed.last().is_none_or(|h| *h <= installed))
        .map(|(id, _)| *id)
        .collect();
    if !unfixed.is_empty() {
        return no_fix(format!(
            "no fixed version is known for {}",
            unfixed.join(", ")
        ));
    }

    // The index's list when it is known (even if empty: then no release clears), else the
    // advisories' fixed versions (offline, or an answer cached before the list was kept).
    let index = package
        .registry
        .as_ref()
        .and_then(|r| r.newer_versions.as_deref())
        .map(sorted_versions);
    let (candidates, origin) = if let Some(index) = index {
        (index, "index")
    } else {
        let mut fixed: Vec<Version> = advisories
            .iter()
            .flat_map(|(_, fixed)| fixed.iter().cloned())
            .filter(|f| *f > installed)
            .collect();
        fixed.sort();
        fixed.dedup();
        (fixed, "advisories' fixed versions")
    };
    let clearing: Vec<&Version> = candidates
        .iter()
        .filter(|c| advisories.iter().all(|(_, fixed)| clears(fixed, c)))
        .collect();
    let Some(smallest_clearing) = clearing.first() else {
        return no_fix(format!(
            "no release known from the {origin} clears every advisory"
        ));
    };
    match clearing
        .iter()
        .find(|c| constraints.iter().all(|k| k.accepts(c)))
    {
        Some(version) => {
            let mut reason =
                format!("smallest release (from the {origin}) that clears every advisory");
            if !constraints.is_empty() {
                let sources: Vec<&str> = constraints.iter().map(|k| k.source.as_str()).collect();
                reason.push_str(&format!(" and satisfies {}", sources.join(", ")));
            }
            Some(Fix {
                version: Some(version.to_string()),
                clears: advisories.iter().map(|(id, _)| id.to_string()).collect(),
                reason,
            })
        }
        None => {
            let blockers: Vec<&str> = constraints
                .iter()
                .filter(|k| !k.accepts(smallest_clearing))
                .map(|k| k.source.as_str())
                .collect();
            no_fix(format!(
                "{smallest_clearing} and later clear every advisory, but no such release is accepted by the constraints ({} excludes {smallest_clearing})",
                blockers.join(", ")
            ))
        }
    }
}

fn sorted_versions(texts: &[String]) -> Vec<Version> {
    let mut versions: Vec<Version> = texts
        .iter()
        .filter_map(|f| Version::from_str(f).ok())
        .collect();
    versions.sort();
    versions
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixtures::vulnerability;

    #[test]
    fn one_advisory_takes_the_smallest_fix_in_the_installed_line() {
        let v = [vulnerability("GHSA-1", &["2.0.6", "1.26.17"])];
        let up = smallest_clearing_upgrade("1.26.5", &v).unwrap();
        assert_eq!(up.version.as_deref(), Some("1.26.17"));
        assert_eq!(up.clears, vec!["GHSA-1"]);
        let up = smallest_clearing_upgrade("2.0.2", &v).unwrap();
        assert_eq!(up.version.as_deref(), Some("2.0.6"));
    }

    #[test]
    fn several_advisories_need_the_smallest_version_clearing_all() {
        let v = [
            vulnerability("GHSA-a", &["1.26.17", "2.0.6"]),
            vulnerability("GHSA-b", &["1.26.18", "2.0.7"]),
        ];
        let up = smallest_clearing_upgrade("1.26.5", &v).unwrap();
        assert_eq!(up.version.as_deref(), Some("1.26.18"));
        assert_eq!(up.clears, vec!["GHSA-a", "GHSA-b"]);

        // b was never fixed on 1.x and a is still open on 2.0.1: only 2.0.6 clears both.
        let v = [
            vulnerability("GHSA-a", &["1.26.17", "2.0.6"]),
            vulnerability("GHSA-b", &["2.0.1"]),
        ];
        let up = smallest_clearing_upgrade("1.26.5", &v).unwrap();
        assert_eq!(up.version.as_deref(), Some("2.0.6"));
    }

    #[test]
    fn pep440_ordering_not_string_ordering() {
        let v = [vulnerability("PYSEC-1", &["2.10.0", "2.9.1"])];
        let up = smallest_clearing_upgrade("2.9.0", &v).unwrap();
        assert_eq!(up.version.as_deref(), Some("2.9.1"));
        let v = [vulnerability("PYSEC-2", &["1.0.0rc2"])];
        let up = smallest_clearing_upgrade("1.0.0rc1", &v).unwrap();
        assert_eq!(up.version.as_deref(), Some("1.0.0rc2"));
    }

    #[test]
    fn advisories_without_a_fix_are_reported_not_hidden() {
        let v = [
            vulnerability("GHSA-nofix", &[]),
            vulnerability("GHSA-fix", &["3.1"]),
        ];
        let up = smallest_clearing_upgrade("3.0", &v).unwrap();
        assert_eq!(up.version.as_deref(), Some("3.1"));
        assert_eq!(up.clears, vec!["GHSA-fix"]);
        assert_eq!(up.unfixed, vec!["GHSA-nofix"]);

        let up = smallest_clearing_upgrade("3.0", &v[..1]).unwrap();
        assert_eq!(up.version, None);
        assert!(up.clears.is_empty());
        assert!(smallest_clearing_upgrade("not a version", &v).is_none());
    }

    /// `newer`: the index's newer releases; `None` when the index list is not known.
    fn vulnerable(
        version: &str,
        newer: Option<&[&str]>,
        vulns: Vec<Vulnerability>,
    ) -> PackageReport {
        let mut p = crate::model::fixtures::package("urllib3", version);
        p.vulnerabilities = vulns;
        if let Some(r) = p.registry.as_mut() {
            r.newer_versions = newer.map(|n| n.iter().map(|v| v.to_string()).collect());
        }
        p
    }

    fn constraint(source: &str, spec: &str, must_match: bool) -> Constraint {
        Constraint {
            source: source.into(),
            specifiers: VersionSpecifiers::from_str(spec).unwrap(),
            must_match,
        }
    }

    #[test]
    fn fix_is_the_smallest_index_release_clearing_all_that_constraints_accept() {
        let p = vulnerable(
            "1.26.5",
            Some(&["1.26.17", "1.26.18", "1.26.19", "2.0.6", "2.0.7"]),
            vec![
                vulnerability("GHSA-a", &["1.26.17", "2.0.6"]),
                vulnerability("GHSA-b", &["1.26.18", "2.0.7"]),
            ],
        );
        let fix = find_fix(&p, &[]).unwrap();
        assert_eq!(fix.version.as_deref(), Some("1.26.18"));
        assert_eq!(fix.clears, ["GHSA-a", "GHSA-b"]);
        assert!(fix.reason.contains("from the index"), "{}", fix.reason);

        // A dependent wants 2.x; policy denies 2.0.7 — nothing clears both in range.
        let dependents = [constraint("botocore (>=2)", ">=2", true)];
        let fix = find_fix(&p, &dependents).unwrap();
        assert_eq!(fix.version.as_deref(), Some("2.0.7"));
        assert!(fix.reason.contains("botocore (>=2)"), "{}", fix.reason);
        let with_deny = [
            dependents[0].clone(),
            constraint("packages.deny[0]", "==2.0.7", false),
        ];
        let fix = find_fix(&p, &with_deny).unwrap();
        assert_eq!(fix.version, None);
        assert!(fix.clears.is_empty());
        assert!(fix.reason.contains("botocore (>=2)"), "{}", fix.reason);
    }

    #[test]
    fn without_index_versions_the_advisories_fixed_versions_are_the_candidates() {
        let p = vulnerable(
            "1.26.5",
            None,
            vec![vulnerability("GHSA-a", &["1.26.17", "2.0.6"])],
        );
        let fix = find_fix(&p, &[constraint("packages.require[0]", ">=2", true)]).unwrap();
        assert_eq!(fix.version.as_deref(), Some("2.0.6"));
        assert!(fix.reason.contains("fixed versions"), "{}", fix.reason);
        // An index that lists nothing newer is an answer: the advisories' versions do not exist.
        let p = vulnerable(
            "1.26.5",
            Some(&[]),
            vec![vulnerability("GHSA-a", &["1.26.17", "2.0.6"])],
        );
        let fix = find_fix(&p, &[]).unwrap();
        assert_eq!(fix.version, None);
        assert!(fix.reason.contains("from the index"), "{}", fix.reason);
    }

    #[test]
    fn no_fix_when_an_advisory_is_unfixed_or_the_package_is_denied_outright() {
        let p = vulnerable(
            "1.0",
            Some(&["1.1"]),
            vec![vulnerability("A", &["1.1"]), vulnerability("B", &[])],
        );
        let fix = find_fix(&p, &[]).unwrap();
        assert_eq!(fix.version, None);
        assert!(
            fix.reason.contains("no fixed version is known for B"),
            "{}",
            fix.reason
        );

        let p = vulnerable("1.0", Some(&["1.1"]), vec![vulnerability("A", &["1.1"])]);
        let deny_all = constraint("packages.deny[2]", "", false);
        let fix = find_fix(&p, &[deny_all]).unwrap();
        assert_eq!(fix.version, None);
        assert!(fix.reason.contains("packages.deny[2]"), "{}", fix.reason);
        assert!(find_fix(&vulnerable("1.0", None, vec![]), &[]).is_none());
    }

    #[test]
    fn dependents_constrain_through_their_requires_dist() {
        let mut requests = crate::model::fixtures::package("requests", "2.31.0");
        requests.requires = vec![
            "urllib3<3,>=1.21.1".into(),
            "urllib3<2; extra == 'old'".into(),
            "idna".into(),
        ];
        let mut app = crate::model::fixtures::package("app", "1");
        app.requires = vec!["URLLib3 (!=1.26.18)".into()];
        let packages = [
            requests,
            app,
            crate::model::fixtures::package("urllib3", "1.26.5"),
        ];
        let found = dependent_constraints(&packages, "urllib3");
        let sources: Vec<&str> = found.iter().map(|c| c.source.as_str()).collect();
        assert_eq!(sources, ["requests (>=1.21.1, <3)", "app (!=1.26.18)"]);
    }

    #[test]
    fn skipping_by_leading_name_keeps_every_constraint_on_the_wanted_target() {
        let mut app = crate::model::fixtures::package("app", "1");
        app.requires = vec![
            "  Urllib3[socks] >=1.0 ; python_version > '3'".into(),
            "urllib3.x>=2".into(),
            "urllib3_>=3".into(),
            "urllib3(<4)".into(),
            "idna>=3".into(),
        ];
        let packages = [app];
        let all = DependentConstraints::new(&packages, |_| true);
        let wanted = DependentConstraints::new(&packages, |n| n == "urllib3");
        let sources = |found: Vec<Constraint>| -> Vec<String> {
            found.into_iter().map(|c| c.source).collect()
        };
        assert_eq!(sources(wanted.of("urllib3")), sources(all.of("urllib3")));
        assert_eq!(sources(wanted.of("urllib3")), ["app (>=1.0)", "app (<4)"]);
        assert!(wanted.of("idna").is_empty(), "not wanted, not parsed");
        assert_eq!(all.of("idna").len(), 1);
    }

    #[test]
    fn advice_uses_the_reports_fix_when_there_is_one() {
        let mut p = vulnerable("1.26.5", None, vec![vulnerability("GHSA-a", &["1.26.17"])]);
        p.fix = Some(Fix {
            version: Some("1.26.19".into()),
            clears: vec!["GHSA-a".into()],
            reason: "satisfies requests (<2)".into(),
        });
        assert_eq!(
            upgrade_advice(&p),
            Some(("urllib3 → 1.26.19: satisfies requests (<2)".into(), true))
        );
        p.fix = Some(Fix {
            version: None,
            clears: vec![],
            reason: "denied".into(),
        });
        assert_eq!(
            upgrade_advice(&p),
            Some(("urllib3: no fix — denied".into(), false))
        );
    }
}
