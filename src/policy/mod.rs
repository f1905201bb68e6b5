//! The policy: what each check judges, read from `depdash.toml`, `[tool.depdash]` in
//! `pyproject.toml`, or `--config FILE`. Each check owns its section (raw form, validation,
//! typed form) beside its evaluation (`checks::*::config`); this module gathers the sections of
//! one file and reports every problem in it at once (see [`crate::config`]). The run settings
//! of the same file (`[cache]`, `[performance]`, `[sources]`) are read by `settings::file`.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

pub use crate::checks::health::config::HealthPolicy;
use crate::checks::health::config::RawHealth;
use crate::checks::licenses::config::RawLicenses;
pub use crate::checks::licenses::config::{LicenseException, LicensePolicy};
use crate::checks::packages::config::RawPackages;
pub use crate::checks::packages::config::{PackagePolicy, PackageRule};
use crate::checks::vulnerabilities::config::RawVulnerabilities;
pub use crate::checks::vulnerabilities::config::{VulnerabilityIgnore, VulnerabilityPolicy};
use crate::config::Ctx;
pub use crate::config::{Disposition, PolicyError, PolicyErrors};

mod rules;

pub use rules::toml_string;

/// The validated policy.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Policy {
    /// The file it came from; `None` for embedded defaults.
    pub path: Option<PathBuf>,
    pub licenses: LicensePolicy,
    pub packages: PackagePolicy,
    pub vulnerabilities: VulnerabilityPolicy,
    pub health: HealthPolicy,
    /// Hash of the file's bytes (part of the run fingerprint).
    pub fingerprint: String,
}

/// The policy sections of the file; the run settings' sections are read by `settings::file`
/// and only named here, so that a misspelt section is still an error.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    licenses: Option<Spanned<RawLicenses>>,
    packages: Option<RawPackages>,
    vulnerabilities: Option<RawVulnerabilities>,
    health: Option<RawHealth>,
    #[allow(dead_code)]
    cache: Option<toml::Value>,
    #[allow(dead_code)]
    performance: Option<toml::Value>,
    #[allow(dead_code)]
    sources: Option<toml::Value>,
}

/// Where to look for a policy when none is given: `depdash.toml`, then `[tool.depdash]` in
/// `pyproject.toml`, in `dir`. Returns `None` when neither exists (or pyproject has no section).
pub fn discover(dir: &Path) -> Option<PathBuf> {
    // Anything that exists under these names is the policy: a FIFO or a directory there is
    // refused by `load` with its kind named, never silently taken for "no policy".
    let dedicated = dir.join("depdash.toml");
    if dedicated.exists() {
        return Some(dedicated);
    }
    let pyproject = dir.join("pyproject.toml");
    match crate::safe_fs::read_regular_text(&pyproject, crate::safe_fs::limits::POLICY_FILE) {
        // A cheap textual test first; the real parse happens in `load`.
        Ok((text, _)) => text.contains("[tool.depdash").then_some(pyproject),
        Err(_) if pyproject.exists() => Some(pyproject),
        Err(_) => None,
    }
}

/// Read and validate a policy file. `pyproject.toml` files are read from `[tool.depdash]`.
pub fn load(path: &Path) -> Result<Policy, PolicyErrors> {
    let text = crate::config::read(path)?;
    parse(&text, path, crate::config::is_pyproject(path))
}

/// Parse policy text, reporting every invalid value at once. `path` is used for messages only.
pub fn parse(text: &str, path: &Path, is_pyproject: bool) -> Result<Policy, PolicyErrors> {
    let ctx = Ctx::new(text, path);
    let raw: RawPolicy = crate::config::deserialize(&ctx, is_pyproject)?;
    let defaults = Policy::default();
    let policy = Policy {
        path: Some(path.to_path_buf()),
        licenses: raw.licenses.map_or(defaults.licenses, |l| {
            LicensePolicy::validate(&ctx, l.get_ref())
        }),
        packages: raw
            .packages
            .map_or(defaults.packages, |p| PackagePolicy::validate(&ctx, &p)),
        vulnerabilities: raw.vulnerabilities.map_or(defaults.vulnerabilities, |v| {
            VulnerabilityPolicy::validate(&ctx, &v)
        }),
        health: raw
            .health
            .map_or(defaults.health, |h| HealthPolicy::validate(&ctx, &h)),
        fingerprint: crate::fingerprint::of_bytes(text.as_bytes()),
    };
    ctx.finish(policy)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn parse_str(text: &str) -> Result<Policy, PolicyErrors> {
        parse(text, Path::new("depdash.toml"), false)
    }

    /// The one error of a file that has exactly one.
    fn only(errors: PolicyErrors) -> PolicyError {
        assert_eq!(errors.0.len(), 1, "{errors}");
        errors.0.into_iter().next().unwrap()
    }

    #[test]
    fn full_example_from_the_docs_validates() {
        let policy = parse_str(
            r#"
[licenses]
allow = ["MIT", "BSD-3-Clause", "Apache-2.0"]
deny = ["AGPL-3.0-only"]
unknown = "deny"
[[licenses.exceptions]]
name = "Paramiko"
allow = ["LGPL-2.1-or-later"]
reason = "used unmodified via pip"
[packages]
deny = [{ name = "pycrypto", reason = "unmaintained; use cryptography" }, "PyYAML"]
allow = []
[[packages.require]]
name = "urllib3"
version = ">=2"
[vulnerabilities]
ignore = [{ id = "CVE-2024-1", reason = "not reachable", until = 2027-01-31 }]
severity_threshold = "high"
max_db_age = "7d"
"#,
        )
        .unwrap();
        assert!(policy.licenses.enabled);
        assert_eq!(policy.licenses.allow.as_ref().unwrap().len(), 3);
        assert_eq!(policy.licenses.exceptions[0].name, "paramiko");
        assert_eq!(policy.packages.deny[1].name, "pyyaml");
        assert_eq!(policy.packages.require[0].name, "urllib3");
        assert_eq!(
            policy.vulnerabilities.ignore[0].until,
            Some(time::macros::date!(2027 - 01 - 31))
        );
        assert_eq!(policy.vulnerabilities.severity_threshold, Some(7.0));
        assert_eq!(
            policy.vulnerabilities.max_db_age,
            Some(Duration::from_secs(7 * 86_400))
        );
    }

    #[test]
    fn unknown_key_is_an_error_with_line_and_column() {
        let err = parse_str("[licenses]\nallow = [\"MIT\"]\nalow = [\"BSD\"]\n").unwrap_err();
        let err = only(err);
        assert_eq!((err.line, err.column), (3, 1), "{err}");
        assert!(err.message.contains("alow"), "{err}");
    }

    #[test]
    fn invalid_spdx_id_points_at_the_string() {
        let err = parse_str("[licenses]\nallow = [\"MIT\", \"Not A License\"]\n").unwrap_err();
        let err = only(err);
        assert_eq!(err.line, 2);
        assert_eq!(err.column, 17, "{err}");
        assert!(err.message.contains("Not A License"));
        assert!(err.to_string().starts_with("depdash.toml:2:17:"));
    }

    #[test]
    fn invalid_specifier_and_duration_are_errors() {
        let err = only(
            parse_str("[[packages.require]]\nname = \"urllib3\"\nversion = \"=>2\"\n").unwrap_err(),
        );
        assert_eq!(err.line, 3);
        assert!(err.message.contains("PEP 440"));
        let err = only(parse_str("[health]\nmax_age = \"soon\"\n").unwrap_err());
        assert_eq!(err.line, 2);
        assert!(err.message.contains("duration"));
    }

    #[test]
    fn every_invalid_value_of_a_file_is_reported_at_once_in_file_order() {
        let text = r#"
[licenses]
allow = ["MIT", "Not A License"]
deny = ["GPL-3.0-only", "Also Bad"]
[[licenses.exceptions]]
name = "bad name!"
allow = ["MIT"]
[packages]
deny = [{ name = "ok-pkg", version = "=>1" }]
[[packages.require]]
name = "urllib3"
[vulnerabilities]
severity_threshold = "apocalyptic"
ignore = [{ id = "CVE-1", until = "someday" }]
[health]
max_age = "a while"
"#;
        let errors = parse_str(text).unwrap_err();
        let at: Vec<(usize, usize)> = errors.0.iter().map(|e| (e.line, e.column)).collect();
        assert_eq!(
            at,
            [
                (3, 17),
                (4, 25),
                (6, 8),
                (9, 9),
                (11, 8),
                (13, 22),
                (14, 35),
                (16, 11)
            ],
            "{errors}"
        );
        let text = errors.to_string();
        for needle in [
            "Not A License",
            "Also Bad",
            "bad name!",
            "=>1",
            "`version`",
            "apocalyptic",
            "someday",
            "a while",
        ] {
            assert!(text.contains(needle), "{needle} missing from:\n{text}");
        }
        assert!(
            text.lines().all(|l| l.starts_with("depdash.toml:")),
            "{text}"
        );
    }

    #[test]
    fn run_settings_sections_are_not_the_policy_s_business() {
        let policy =
            parse_str("[cache]\nmetadata_ttl = \"soon\"\n[sources]\nretries = 2\n").unwrap();
        assert_eq!(policy.licenses, LicensePolicy::default());
        let err = only(parse_str("[cachee]\n").unwrap_err());
        assert!(err.message.contains("cachee"), "{err}");
    }

    #[test]
    fn wrong_type_is_an_error() {
        let err = parse_str("[licenses]\nunknown = \"maybe\"\n").unwrap_err();
        let err = only(err);
        assert_eq!(err.line, 2, "{err}");
        assert!(err.message.contains("deny"), "{err}");
    }

    #[test]
    fn pyproject_section_is_read_and_other_tools_ignored() {
        let text = "[project]\nname = \"x\"\n[tool.black]\nline-length = 88\n[tool.depdash.licenses]\nallow = [\"MIT\"]\n";
        let policy = parse(text, Path::new("pyproject.toml"), true).unwrap();
        assert!(policy.licenses.enabled);
        let bad = "[tool.depdash.licenses]\nallowed = [\"MIT\"]\n";
        let err = parse(bad, Path::new("pyproject.toml"), true).unwrap_err();
        let err = only(err);
        assert_eq!(err.line, 2);
    }

    #[test]
    fn no_licenses_section_means_not_judged() {
        let policy = parse_str("[packages]\ndeny = [\"pycrypto\"]\n").unwrap();
        assert!(!policy.licenses.enabled);
        assert_eq!(policy.vulnerabilities.unknown, Disposition::Deny);
    }
}
