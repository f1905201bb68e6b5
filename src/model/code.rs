//! Finding codes and rule references: the stable, typed names a finding carries. In JSON a code
//! is its kebab-case name (`license-denied`) and a rule its policy path (`licenses.deny[4]`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::Check;

/// Every finding code depdash reports. README's codes table documents each (a test checks it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Code {
    PackageDenied,
    PackageNotApproved,
    PackageVersionMismatch,
    PackageRequiredMissing,
    LicenseDenied,
    LicenseNotAllowed,
    LicenseExceptionUnused,
    LicenseExceptionExpired,
    Vulnerability,
    VulnerabilityIgnored,
    IgnoreUnused,
    IgnoreExpired,
    Yanked,
    Outdated,
    StaleRelease,
    NotOnIndex,
    OnSeveralIndexes,
    ProjectArchived,
    ProjectDeprecated,
    ProjectQuarantined,
    InventoryIssue,
    PerformanceRegression,
}

impl Code {
    pub const ALL: &[Code] = &[
        Code::PackageDenied,
        Code::PackageNotApproved,
        Code::PackageVersionMismatch,
        Code::PackageRequiredMissing,
        Code::LicenseDenied,
        Code::LicenseNotAllowed,
        Code::LicenseExceptionUnused,
        Code::LicenseExceptionExpired,
        Code::Vulnerability,
        Code::VulnerabilityIgnored,
        Code::IgnoreUnused,
        Code::IgnoreExpired,
        Code::Yanked,
        Code::Outdated,
        Code::StaleRelease,
        Code::NotOnIndex,
        Code::OnSeveralIndexes,
        Code::ProjectArchived,
        Code::ProjectDeprecated,
        Code::ProjectQuarantined,
        Code::InventoryIssue,
        Code::PerformanceRegression,
    ];

    /// The name in reports and README (`license-denied`).
    pub fn as_str(self) -> &'static str {
        match self {
            Code::PackageDenied => "package-denied",
            Code::PackageNotApproved => "package-not-approved",
            Code::PackageVersionMismatch => "package-version-mismatch",
            Code::PackageRequiredMissing => "package-required-missing",
            Code::LicenseDenied => "license-denied",
            Code::LicenseNotAllowed => "license-not-allowed",
            Code::LicenseExceptionUnused => "license-exception-unused",
            Code::LicenseExceptionExpired => "license-exception-expired",
            Code::Vulnerability => "vulnerability",
            Code::VulnerabilityIgnored => "vulnerability-ignored",
            Code::IgnoreUnused => "ignore-unused",
            Code::IgnoreExpired => "ignore-expired",
            Code::Yanked => "yanked",
            Code::Outdated => "outdated",
            Code::StaleRelease => "stale-release",
            Code::NotOnIndex => "not-on-index",
            Code::OnSeveralIndexes => "on-several-indexes",
            Code::ProjectArchived => "project-archived",
            Code::ProjectDeprecated => "project-deprecated",
            Code::ProjectQuarantined => "project-quarantined",
            Code::InventoryIssue => "inventory-issue",
            Code::PerformanceRegression => "performance-regression",
        }
    }

    /// The check that reports this code.
    pub fn check(self) -> Check {
        match self {
            Code::PackageDenied
            | Code::PackageNotApproved
            | Code::PackageVersionMismatch
            | Code::PackageRequiredMissing => Check::Packages,
            Code::LicenseDenied
            | Code::LicenseNotAllowed
            | Code::LicenseExceptionUnused
            | Code::LicenseExceptionExpired => Check::Licenses,
            Code::Vulnerability
            | Code::VulnerabilityIgnored
            | Code::IgnoreUnused
            | Code::IgnoreExpired => Check::Vulnerabilities,
            Code::Yanked
            | Code::Outdated
            | Code::StaleRelease
            | Code::NotOnIndex
            | Code::OnSeveralIndexes
            | Code::ProjectArchived
            | Code::ProjectDeprecated
            | Code::ProjectQuarantined => Check::Health,
            Code::InventoryIssue => Check::Inventory,
            Code::PerformanceRegression => Check::Performance,
        }
    }

    /// What the code means, one line.
    pub fn meaning(self) -> &'static str {
        match self {
            Code::PackageDenied => "the package (in this version) is in packages.deny",
            Code::PackageNotApproved => {
                "packages.allow is non-empty and does not list the package (or not this version)"
            }
            Code::PackageVersionMismatch => {
                "a packages.require package is installed in a version outside its specifier"
            }
            Code::PackageRequiredMissing => "a packages.require package is not installed",
            Code::LicenseDenied => {
                "the license (every way of satisfying it) needs a license in licenses.deny"
            }
            Code::LicenseNotAllowed => {
                "the license cannot be satisfied by licenses in licenses.allow"
            }
            Code::LicenseExceptionUnused => {
                "a licenses.exceptions entry (or one of its ids) was not needed by any package"
            }
            Code::LicenseExceptionExpired => {
                "a licenses.exceptions entry is past its `until` date and is no longer applied"
            }
            Code::Vulnerability => {
                "a known advisory affects the installed version (error at or above vulnerabilities.severity_threshold or unscored, warning below)"
            }
            Code::VulnerabilityIgnored => {
                "note: an advisory matched an active vulnerabilities.ignore entry and does not count"
            }
            Code::IgnoreUnused => {
                "a vulnerabilities.ignore entry matched no advisory of any installed package"
            }
            Code::IgnoreExpired => {
                "a vulnerabilities.ignore entry is past its `until` date and is no longer applied"
            }
            Code::Yanked => "the installed release is yanked on the index",
            Code::Outdated => "a newer release than the installed one is on the index",
            Code::StaleRelease => {
                "the installed release was uploaded longer ago than health.max_age"
            }
            Code::NotOnIndex => {
                "the package index does not know the package (private, renamed or removed)"
            }
            Code::OnSeveralIndexes => {
                "the project is on more than one configured index (--index-url and extra indexes): pip installs the highest version from any of them (dependency confusion)"
            }
            Code::ProjectArchived => {
                "the index marks the project archived (PEP 792): no more releases are expected"
            }
            Code::ProjectDeprecated => "the index marks the project deprecated (PEP 792)",
            Code::ProjectQuarantined => {
                "the index quarantined the project (PEP 792), e.g. suspected malware: not installable"
            }
            Code::InventoryIssue => "an oddity in the environment that pip also hides",
            Code::PerformanceRegression => {
                "an operation got slower than its baseline by more than performance.regression_threshold"
            }
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A policy setting a finding can point at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RuleKey {
    LicensesAllow,
    LicensesDeny,
    LicensesExceptions,
    LicensesUnknown,
    PackagesAllow,
    PackagesDeny,
    PackagesRequire,
    /// The default vulnerability rule: a known advisory is a violation.
    Vulnerabilities,
    VulnerabilitiesIgnore,
    VulnerabilitiesSeverityThreshold,
    /// The health section as a whole (a package missing from the index).
    Health,
    HealthYanked,
    HealthOutdated,
    HealthMaxAge,
    HealthArchived,
    HealthDeprecated,
    HealthQuarantined,
    PerformanceRegressionThreshold,
}

impl RuleKey {
    const ALL: &[RuleKey] = &[
        RuleKey::LicensesAllow,
        RuleKey::LicensesDeny,
        RuleKey::LicensesExceptions,
        RuleKey::LicensesUnknown,
        RuleKey::PackagesAllow,
        RuleKey::PackagesDeny,
        RuleKey::PackagesRequire,
        RuleKey::Vulnerabilities,
        RuleKey::VulnerabilitiesIgnore,
        RuleKey::VulnerabilitiesSeverityThreshold,
        RuleKey::Health,
        RuleKey::HealthYanked,
        RuleKey::HealthOutdated,
        RuleKey::HealthMaxAge,
        RuleKey::HealthArchived,
        RuleKey::HealthDeprecated,
        RuleKey::HealthQuarantined,
        RuleKey::PerformanceRegressionThreshold,
    ];

    /// The setting's path in the policy file (`licenses.deny`).
    pub fn path(self) -> &'static str {
        match self {
            RuleKey::LicensesAllow => "licenses.allow",
            RuleKey::LicensesDeny => "licenses.deny",
            RuleKey::LicensesExceptions => "licenses.exceptions",
            RuleKey::LicensesUnknown => "licenses.unknown",
            RuleKey::PackagesAllow => "packages.allow",
            RuleKey::PackagesDeny => "packages.deny",
            RuleKey::PackagesRequire => "packages.require",
            RuleKey::Vulnerabilities => "vulnerabilities",
            RuleKey::VulnerabilitiesIgnore => "vulnerabilities.ignore",
            RuleKey::VulnerabilitiesSeverityThreshold => "vulnerabilities.severity_threshold",
            RuleKey::Health => "health",
            RuleKey::HealthYanked => "health.yanked",
            RuleKey::HealthOutdated => "health.outdated",
            RuleKey::HealthMaxAge => "health.max_age",
            RuleKey::HealthArchived => "health.archived",
            RuleKey::HealthDeprecated => "health.deprecated",
            RuleKey::HealthQuarantined => "health.quarantined",
            RuleKey::PerformanceRegressionThreshold => "performance.regression_threshold",
        }
    }
}

/// A rule a finding points at: a policy setting and, for a list, the entry's index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RuleRef {
    pub key: RuleKey,
    pub index: Option<usize>,
}

impl RuleRef {
    /// The setting as a whole (`licenses.allow`).
    pub fn whole(key: RuleKey) -> Self {
        RuleRef { key, index: None }
    }

    /// One entry of a list setting (`licenses.deny[4]`).
    pub fn entry(key: RuleKey, index: usize) -> Self {
        RuleRef {
            key,
            index: Some(index),
        }
    }
}

impl From<RuleKey> for RuleRef {
    fn from(key: RuleKey) -> Self {
        RuleRef::whole(key)
    }
}

impl fmt::Display for RuleRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key.path())?;
        if let Some(i) = self.index {
            write!(f, "[{i}]")?;
        }
        Ok(())
    }
}

/// Not a rule depdash knows (reading a report written by another version).
#[derive(Debug, thiserror::Error)]
#[error("unknown policy rule `{0}`")]
pub struct UnknownRule(String);

impl FromStr for RuleRef {
    type Err = UnknownRule;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let unknown = || UnknownRule(s.to_string());
        let (path, index) = match s.strip_suffix(']').and_then(|r| r.split_once('[')) {
            Some((path, index)) => (path, Some(index.parse().map_err(|_| unknown())?)),
            None => (s, None),
        };
        let key = RuleKey::ALL
            .iter()
            .copied()
            .find(|k| k.path() == path)
            .ok_or_else(unknown)?;
        Ok(RuleRef { key, index })
    }
}

impl Serialize for RuleRef {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RuleRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_kebab_case_and_serialize_as_their_name() {
        let names: std::collections::BTreeSet<&str> =
            Code::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(names.len(), Code::ALL.len(), "duplicate code names");
        for code in Code::ALL {
            let name = code.as_str();
            assert!(
                name.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
                "{name}"
            );
            assert_eq!(serde_json::to_value(code).unwrap(), name);
            let back: Code = serde_json::from_value(name.into()).unwrap();
            assert_eq!(back, *code);
            assert!(!code.meaning().is_empty());
        }
    }

    #[test]
    fn rule_refs_round_trip_through_their_path() {
        for key in RuleKey::ALL {
            for rule in [RuleRef::whole(*key), RuleRef::entry(*key, 4)] {
                let text = rule.to_string();
                assert_eq!(text.parse::<RuleRef>().unwrap(), rule, "{text}");
            }
        }
        assert_eq!(
            RuleRef::entry(RuleKey::LicensesDeny, 4).to_string(),
            "licenses.deny[4]"
        );
        assert!("licenses.nope".parse::<RuleRef>().is_err());
        assert!("licenses.deny[x]".parse::<RuleRef>().is_err());
    }
}
