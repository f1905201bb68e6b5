//! The smallest upgrade that clears a package's known vulnerabilities, by PEP 440 ordering.
//! Engine-agnostic: it reads only the installed version and the advisories' fixed versions.

use std::str::FromStr;

use pep440_rs::Version;

use crate::model::{PackageReport, Vulnerability};

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
        .map(|v| {
            let mut fixed: Vec<Version> = v
                .fixed_in
                .iter()
                .filter_map(|f| Version::from_str(f).ok())
                .collect();
            fixed.sort();
            (v.id.as_str(), fixed)
        })
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
/// `None` when the package has no known vulnerability (or its version does not parse).
pub fn upgrade_advice(package: &PackageReport) -> Option<(String, bool)> {
    if package.vulnerabilities.is_empty() {
        return None;
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
}
