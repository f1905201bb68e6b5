//! Shared vocabulary: what a package is, what a check found, and the one `Report` every face
//! and output format renders from. Plain data only; no I/O lives here.

mod code;
#[cfg(test)]
pub(crate) mod fixtures;

pub use code::{Code, RuleKey, RuleRef, UnknownRule};

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Version of the JSON report layout (`assets/report.schema.json`). Bump on breaking changes.
pub const REPORT_SCHEMA_VERSION: u32 = 1;

/// [`normalize_name`] without an allocation when `name` is already normalised (the usual case
/// for names read back from a report or most `Requires-Dist` values): hot loops over 10,000
/// packages' requirements look names up this way.
pub fn normalized_name(name: &str) -> std::borrow::Cow<'_, str> {
    let mut previous_separator = false;
    let plain = name.bytes().all(|b| {
        let separator = b == b'-';
        let ok = (b.is_ascii_lowercase() || b.is_ascii_digit() || separator)
            && !(separator && previous_separator);
        previous_separator = separator;
        ok
    });
    if plain {
        std::borrow::Cow::Borrowed(name)
    } else {
        std::borrow::Cow::Owned(normalize_name(name))
    }
}

/// PEP 503 normalisation: lowercase, every run of `-`, `_`, `.` becomes one `-`.
pub fn normalize_name(name: &str) -> String {
    let name = name.trim();
    let mut out = String::with_capacity(name.len());
    let mut in_separator_run = false;
    for ch in name.chars() {
        if matches!(ch, '-' | '_' | '.') {
            if !in_separator_run {
                out.push('-');
            }
            in_separator_run = true;
        } else {
            // Names are ASCII but for the odd broken one: Unicode lowering (a table search
            // per character) only for those.
            if ch.is_ascii() {
                out.push(ch.to_ascii_lowercase());
            } else {
                out.extend(ch.to_lowercase());
            }
            in_separator_run = false;
        }
    }
    out
}

/// Where a distribution was found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    /// `*.dist-info` directory (wheel / modern install).
    DistInfo,
    /// `*.egg-info` directory or file (legacy setuptools install).
    EggInfo,
    /// A pinned line of a requirements file: nothing installed to read.
    Requirements,
    /// A package of a lockfile (`uv.lock`, `poetry.lock`, `pylock.toml`).
    Lockfile,
}

/// License facts as the package's own metadata states them, before any interpretation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LicenseMetadata {
    /// PEP 639 `License-Expression`.
    pub expression: Option<String>,
    /// Legacy free-text `License` field (may be an id, a name, or a whole license text).
    pub license_field: Option<String>,
    /// Only the `License ::` Trove classifiers.
    pub classifiers: Vec<String>,
    /// PEP 639 `License-File` entries (paths relative to the metadata directory).
    pub license_files: Vec<String>,
}

/// One distribution in the inventory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Distribution {
    /// The name as the metadata spells it.
    pub name: String,
    /// PEP 503 normalised name: the identity used everywhere else.
    pub normalized: String,
    pub version: String,
    /// Raw `Requires-Dist` values (PEP 508 strings, markers included).
    pub requires_dist: Vec<String>,
    pub license: LicenseMetadata,
    /// The `.dist-info`/`.egg-info` directory, or the requirements file for pinned lines.
    pub location: Option<PathBuf>,
    pub origin: Origin,
    /// 1-based line in a requirements file or lockfile, when that is the origin.
    pub line: Option<usize>,
    /// Artifact hashes as `algorithm:hexdigest` (lockfile / `--hash` entries), when known.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hashes: Vec<String>,
    /// Installed, but another copy of the same name comes first on `sys.path` (the one pip
    /// lists). Still checked: it is on disk and importable by anything that reaches it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub shadowed: bool,
}

/// One package in one version (PEP 503 name, version): what facts are fetched and kept for.
/// An inventory can hold several versions of one name (a shadowed installed copy, lockfile
/// forks), and each is checked on its own.
pub type PackageKey = (String, String);

impl Distribution {
    /// An installed `.dist-info` distribution known by its name and version alone (no
    /// metadata, no location), for building the others from.
    pub fn named(name: &str, version: &str) -> Self {
        Distribution {
            name: name.to_string(),
            normalized: normalize_name(name),
            version: version.to_string(),
            requires_dist: Vec::new(),
            license: LicenseMetadata::default(),
            location: None,
            origin: Origin::DistInfo,
            line: None,
            hashes: Vec::new(),
            shadowed: false,
        }
    }

    pub fn key(&self) -> PackageKey {
        (self.normalized.clone(), self.version.clone())
    }
}

/// Where the answer for a package's license came from (most to least authoritative).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LicenseSource {
    /// PEP 639 `License-Expression` field.
    LicenseExpression,
    /// Trove `License ::` classifiers.
    Classifier,
    /// The legacy `License` field.
    LicenseField,
    /// A license file shipped in the metadata directory, identified by its text.
    LicenseFile,
    /// The package index (PyPI JSON API), for packages whose local metadata says nothing.
    Pypi,
    /// Nothing usable was found.
    Unknown,
}

impl LicenseSource {
    pub fn label(&self) -> &'static str {
        match self {
            LicenseSource::LicenseExpression => "License-Expression",
            LicenseSource::Classifier => "classifier",
            LicenseSource::LicenseField => "License field",
            LicenseSource::LicenseFile => "license file",
            LicenseSource::Pypi => "PyPI",
            LicenseSource::Unknown => "unknown",
        }
    }
}

/// A package's license, resolved to SPDX, with where it came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvedLicense {
    /// A valid SPDX expression, or `None` when unresolved.
    pub expression: Option<String>,
    pub source: LicenseSource,
    /// Human-readable detail of the evidence used (e.g. the classifier, the file name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
    /// Sources that were vague or disagreed with the chosen answer.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub notes: Vec<String>,
    /// Why the license is unknown, when it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unknown_reason: Option<String>,
}

impl ResolvedLicense {
    pub fn unknown(reason: impl Into<String>) -> Self {
        ResolvedLicense {
            expression: None,
            source: LicenseSource::Unknown,
            evidence: None,
            notes: Vec::new(),
            unknown_reason: Some(reason.into()),
        }
    }
}

/// Which check produced a finding or an unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Check {
    Inventory,
    Packages,
    Licenses,
    Vulnerabilities,
    Health,
    Performance,
}

impl Check {
    pub fn as_str(&self) -> &'static str {
        match self {
            Check::Inventory => "inventory",
            Check::Packages => "packages",
            Check::Licenses => "licenses",
            Check::Vulnerabilities => "vulnerabilities",
            Check::Health => "health",
            Check::Performance => "performance",
        }
    }
}

/// `Error` findings are violations (exit 1); warnings and notes are reported only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    Note,
    Warning,
    Error,
}

/// One result of a check.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub check: Check,
    /// Stable machine-readable code, e.g. `license-denied`.
    pub code: Code,
    pub severity: Severity,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    pub message: String,
    /// The policy rule involved (e.g. `licenses.deny[4]`), for drill-down.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<RuleRef>,
    /// Advisory id for vulnerability findings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advisory: Option<String>,
}

impl Finding {
    /// A finding of `code` (which names its check).
    pub fn new(code: Code, severity: Severity, message: impl Into<String>) -> Self {
        Finding {
            check: code.check(),
            code,
            severity,
            package: None,
            version: None,
            message: message.into(),
            rule: None,
            advisory: None,
        }
    }

    pub fn for_package(mut self, name: &str, version: &str) -> Self {
        self.package = Some(name.to_string());
        self.version = Some(version.to_string());
        self
    }

    pub fn with_rule(mut self, rule: impl Into<RuleRef>) -> Self {
        self.rule = Some(rule.into());
        self
    }

    pub fn is_violation(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Data that could not be read or fetched. Never a pass: policy decides whether it fails the run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unknown {
    /// `None` for unknowns about the whole run (e.g. an unreadable directory).
    pub package: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    pub check: Check,
    pub reason: String,
    /// True when the policy says this unknown makes the run incomplete (exit 3).
    pub fails_run: bool,
}

/// CVSS or ecosystem severity attached to an advisory.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeverityScore {
    /// e.g. `CVSS_V3`, `CVSS_V4`, `ecosystem`.
    pub kind: String,
    /// The vector (or the ecosystem's word, e.g. `HIGH`).
    pub vector: String,
    /// Computed base score, when the vector could be scored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
}

/// A known vulnerability affecting an installed version.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Vulnerability {
    pub id: String,
    pub aliases: Vec<String>,
    pub summary: String,
    /// Versions that fix it (from ECOSYSTEM ranges), lowest first.
    pub fixed_in: Vec<String>,
    pub severity: Vec<SeverityScore>,
    /// RFC 3339 `modified` timestamp of the record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
}

impl Vulnerability {
    /// Highest computed base score, if any.
    pub fn max_score(&self) -> Option<f64> {
        self.severity
            .iter()
            .filter_map(|s| s.score)
            .reduce(f64::max)
    }
}

/// What the package index says about one release.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RegistryInfo {
    /// False when the index does not know the package ("not on index").
    pub on_index: bool,
    pub yanked: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub yanked_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest_version: Option<String>,
    /// RFC 3339 upload time of the installed release (earliest file).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upload_time: Option<String>,
    /// Why the index cannot tell an upload time at all (a PEP 503 HTML page has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_upload_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub license_expression: Option<String>,
    /// Trove classifiers of this release (license classifiers included).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub classifiers: Vec<String>,
    /// PEP 792 status of the whole project; `None` when not asked for or not stated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_status: Option<ProjectStatus>,
    /// Releases above the installed one that are not yanked, lowest first (PEP 440 order):
    /// the candidates for a fix. `None` when not known (an answer cached before depdash read
    /// them, an installed version that is not PEP 440); `Some([])`: nothing newer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newer_versions: Option<Vec<String>>,
    /// The release's core metadata file (PEP 658/714), when it was asked for: only when
    /// neither local metadata nor the index's release document names a license.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub core_metadata: Option<IndexCoreMetadata>,
    /// With extra indexes configured: every index (URL, credentials masked) that knows the
    /// project, when more than one does. Empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub found_on: Vec<String>,
}

/// What a release's core metadata file on the index gave for its license.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "outcome")]
pub enum IndexCoreMetadata {
    /// Read (and verified when the index stated its sha256): its license fields.
    Read {
        /// The file whose metadata it is (a wheel, preferably).
        file: String,
        license: LicenseMetadata,
        /// When the fields name no license: the license as the wheel's own license files tell
        /// it (read with HTTP range requests), or why they could not be read.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        license_files: Option<ResolvedLicense>,
    },
    /// Not read, and why (not offered, a hash mismatch, not fetched).
    Unavailable { reason: String },
}

/// PEP 792 status of a project as its index states it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectStatus {
    pub status: ProjectState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The PEP 792 statuses; any other word is kept as written (an unknown status, not "active").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", from = "String", into = "String")]
pub enum ProjectState {
    Active,
    Archived,
    Quarantined,
    Deprecated,
    Other(String),
}

impl From<String> for ProjectState {
    fn from(word: String) -> Self {
        match word.as_str() {
            "active" => ProjectState::Active,
            "archived" => ProjectState::Archived,
            "quarantined" => ProjectState::Quarantined,
            "deprecated" => ProjectState::Deprecated,
            _ => ProjectState::Other(word),
        }
    }
}

impl From<ProjectState> for String {
    fn from(state: ProjectState) -> Self {
        match state {
            ProjectState::Active => "active".into(),
            ProjectState::Archived => "archived".into(),
            ProjectState::Quarantined => "quarantined".into(),
            ProjectState::Deprecated => "deprecated".into(),
            ProjectState::Other(word) => word,
        }
    }
}

/// The fix for a vulnerable package (`packages[].fix`): the smallest version that clears its
/// advisories and that its dependents and the policy accept, or `version: None` and why not.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fix {
    pub version: Option<String>,
    /// Advisory ids the version clears.
    pub clears: Vec<String>,
    /// Why this version (what it satisfies), or why there is none.
    pub reason: String,
}

/// Overall verdict of one package.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PackageStatus {
    Ok,
    Warning,
    Unknown,
    Violation,
}

/// One package as the report shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PackageReport {
    pub name: String,
    pub normalized: String,
    pub version: String,
    pub license: ResolvedLicense,
    pub requires: Vec<String>,
    pub origin: Origin,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    pub vulnerabilities: Vec<Vulnerability>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registry: Option<RegistryInfo>,
    /// Sources (`osv`, `pypi`) whose answer came from an expired cache entry (`--offline`).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub stale: Vec<String>,
    pub status: PackageStatus,
    /// 1-based line of the package in its requirements file or lockfile.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub line: Option<usize>,
    /// Artifact hashes as `algorithm:hexdigest`, when the input lists them.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub hashes: Vec<String>,
    /// Dependency paths from top-level packages to this one (shortest first, bounded).
    #[serde(default)]
    pub required_by: Vec<Vec<String>>,
    /// For a vulnerable package: the fix (see [`Fix`]); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub fix: Option<Fix>,
}

impl PackageReport {
    /// What `dist` says about itself, with its `license`, before any check has judged it.
    pub fn of(dist: &Distribution, license: ResolvedLicense) -> PackageReport {
        PackageReport {
            name: dist.name.clone(),
            normalized: dist.normalized.clone(),
            version: dist.version.clone(),
            license,
            requires: dist.requires_dist.clone(),
            origin: dist.origin.clone(),
            // Same text as `display()` (invalid UTF-8 replaced alike), without the formatter.
            location: (dist.location.as_ref()).map(|p| p.to_string_lossy().into_owned()),
            vulnerabilities: Vec::new(),
            registry: None,
            stale: Vec::new(),
            status: PackageStatus::Ok,
            line: dist.line,
            hashes: dist.hashes.clone(),
            required_by: Vec::new(),
            fix: None,
        }
    }
}

/// What was inventoried.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetInfo {
    /// `environment` or `requirements`.
    pub kind: String,
    pub path: String,
    /// The site-packages directories scanned (environment targets).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub site_packages: Vec<String>,
}

/// Run outcome, in order of precedence for the exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Clean,
    Violations,
    Incomplete,
}

impl Outcome {
    /// Exit code: 0 clean, 1 violations (wins over incomplete: a violation is definite), 3 incomplete.
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Clean => 0,
            Outcome::Violations => 1,
            Outcome::Incomplete => 3,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub packages: usize,
    pub violations: usize,
    pub warnings: usize,
    pub unknowns: usize,
    /// Unknowns that policy says fail the run.
    pub blocking_unknowns: usize,
    pub vulnerabilities: usize,
    pub outcome: Outcome,
    pub exit_code: u8,
}

impl Summary {
    pub fn compute(packages: &[PackageReport], findings: &[Finding], unknowns: &[Unknown]) -> Self {
        let violations = findings.iter().filter(|f| f.is_violation()).count();
        let warnings = findings
            .iter()
            .filter(|f| f.severity == Severity::Warning)
            .count();
        let blocking_unknowns = unknowns.iter().filter(|u| u.fails_run).count();
        let outcome = if violations > 0 {
            Outcome::Violations
        } else if blocking_unknowns > 0 {
            Outcome::Incomplete
        } else {
            Outcome::Clean
        };
        Summary {
            packages: packages.len(),
            violations,
            warnings,
            unknowns: unknowns.len(),
            blocking_unknowns,
            vulnerabilities: packages.iter().map(|p| p.vulnerabilities.len()).sum(),
            outcome,
            exit_code: outcome.exit_code(),
        }
    }
}

/// The one result model. Every output format and both faces render from it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema_version: u32,
    pub tool: String,
    pub tool_version: String,
    /// RFC 3339 UTC.
    pub generated_at: String,
    pub target: TargetInfo,
    /// Policy file used, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    pub packages: Vec<PackageReport>,
    pub findings: Vec<Finding>,
    pub unknowns: Vec<Unknown>,
    pub summary: Summary,
    /// The offline vulnerability database the run matched against (absent when OSV was asked
    /// online, or vulnerabilities were not checked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vulnerability_database: Option<DatabaseInfo>,
    /// Timings, cache and network counters (filled by `perf`; free-form until then).
    #[serde(default)]
    pub metrics: crate::telemetry::Metrics,
}

/// Where the advisories of an offline run came from, how many there were, and how fresh.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseInfo {
    /// The `--osv-db` path (directory or zip).
    pub source: String,
    /// Records loaded (after de-duplication by id).
    pub records: usize,
    /// Of those, records about PyPI packages.
    pub pypi_records: usize,
    /// Newest `modified` time not in the future (RFC 3339), `None` when no record has one.
    pub newest_modified: Option<String>,
    /// Now minus `newest_modified`, in seconds.
    pub age_seconds: Option<u64>,
    /// Set when `depdash db update` downloaded it: from where and when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub downloaded: Option<Downloaded>,
}

/// The provenance `depdash db update` recorded for a database it downloaded.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Downloaded {
    pub url: String,
    /// RFC 3339.
    pub at: String,
}

impl Report {
    /// The findings of one severity, in report order.
    pub fn findings_of(&self, severity: Severity) -> Vec<&Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .collect()
    }

    /// A report of this depdash version, generated now, with its summary computed; metrics
    /// are added by `perf` at the end of a run.
    pub fn new(
        target: TargetInfo,
        policy: Option<String>,
        packages: Vec<PackageReport>,
        findings: Vec<Finding>,
        unknowns: Vec<Unknown>,
    ) -> Self {
        let summary = Summary::compute(&packages, &findings, &unknowns);
        Report {
            schema_version: REPORT_SCHEMA_VERSION,
            tool: "depdash".into(),
            tool_version: env!("CARGO_PKG_VERSION").into(),
            generated_at: time::OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            target,
            policy,
            vulnerability_database: None,
            packages,
            findings,
            unknowns,
            summary,
            metrics: Default::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pep503_normalisation_collapses_separator_runs() {
        assert_eq!(normalize_name("Friendly-Bard"), "friendly-bard");
        assert_eq!(normalize_name("FRIENDLY-BARD"), "friendly-bard");
        assert_eq!(normalize_name("friendly.bard"), "friendly-bard");
        assert_eq!(normalize_name("friendly_bard"), "friendly-bard");
        assert_eq!(normalize_name("friendly--bard"), "friendly-bard");
        assert_eq!(normalize_name("FrIeNdLy-._.-bArD"), "friendly-bard");
        assert_eq!(normalize_name("zope.interface"), "zope-interface");
        // Not ASCII (broken metadata): lowered as Unicode, separators as in ASCII names.
        assert_eq!(normalize_name(" Ünïcode__Näme "), "ünïcode-näme");
        assert_eq!(normalize_name("İ"), "i\u{307}");
    }

    #[test]
    fn normalized_name_borrows_only_what_is_already_normalised() {
        use std::borrow::Cow;
        let borrowed = ["friendly-bard", "a1-b2", "-x", "x-", ""];
        let owned = [
            "Friendly-Bard",
            "friendly--bard",
            "zope.interface",
            "a_b",
            " a",
            "a ",
            "ünï",
            "a-.-b",
        ];
        for (names, expect_borrowed) in [(&borrowed[..], true), (&owned[..], false)] {
            for name in names {
                let cheap = normalized_name(name);
                assert_eq!(cheap, normalize_name(name), "{name:?}");
                assert_eq!(
                    matches!(cheap, Cow::Borrowed(_)),
                    expect_borrowed,
                    "{name:?}"
                );
            }
        }
    }

    #[test]
    fn violation_wins_over_incomplete() {
        let finding = Finding::new(Code::LicenseDenied, Severity::Error, "x");
        let unknown = Unknown {
            package: Some("a".into()),
            version: None,
            check: Check::Vulnerabilities,
            reason: "timeout".into(),
            fails_run: true,
        };
        let s = Summary::compute(
            &[],
            std::slice::from_ref(&finding),
            std::slice::from_ref(&unknown),
        );
        assert_eq!(s.outcome, Outcome::Violations);
        assert_eq!(s.exit_code, 1);
        let s = Summary::compute(&[], &[], &[unknown]);
        assert_eq!(s.exit_code, 3);
        let s = Summary::compute(&[], &[], &[]);
        assert_eq!(s.exit_code, 0);
    }
}
