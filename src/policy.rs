//! The policy file: `depdash.toml`, `[tool.depdash]` in `pyproject.toml`, or `--config FILE`.
//!
//! Parsed in two steps: serde into a raw, span-carrying form (`deny_unknown_fields`, so a typo is an
//! error, not a silently ignored key), then validated into a typed [`Policy`]. Every error names the
//! file, line and column and says what was expected.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use pep440_rs::VersionSpecifiers;
use serde::Deserialize;
use toml::Spanned;

use crate::model::normalize_name;

/// A policy error that points into the file.
#[derive(Debug, thiserror::Error)]
#[error("{}:{line}:{column}: {message}", path.display())]
pub struct PolicyError {
    pub path: PathBuf,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// What to do with a finding or an unknown of some kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Disposition {
    Deny,
    Warn,
    Allow,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LicenseException {
    /// PEP 503 normalised package name.
    pub name: String,
    pub allow: Vec<spdx::Licensee>,
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LicensePolicy {
    /// False when the policy has no `[licenses]` section: licenses are reported, not judged.
    pub enabled: bool,
    /// `Some` means deny-by-default: only these are accepted.
    pub allow: Option<Vec<spdx::Licensee>>,
    pub deny: Vec<spdx::Licensee>,
    pub unknown: Disposition,
    pub exceptions: Vec<LicenseException>,
}

impl Default for LicensePolicy {
    fn default() -> Self {
        LicensePolicy {
            enabled: false,
            allow: None,
            deny: Vec::new(),
            unknown: Disposition::Warn,
            exceptions: Vec::new(),
        }
    }
}

/// A package rule: a name and optionally PEP 440 specifiers that the rule applies to.
#[derive(Clone, Debug, PartialEq)]
pub struct PackageRule {
    /// PEP 503 normalised.
    pub name: String,
    pub version: Option<VersionSpecifiers>,
    pub reason: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct PackagePolicy {
    pub deny: Vec<PackageRule>,
    /// When non-empty, only listed packages are approved.
    pub allow: Vec<PackageRule>,
    /// Packages that must be installed and satisfy a version specifier.
    pub require: Vec<PackageRule>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct VulnerabilityIgnore {
    /// The advisory id or any alias (CVE, GHSA, PYSEC).
    pub id: String,
    pub reason: String,
    /// Last day (inclusive) the ignore applies, `YYYY-MM-DD`.
    pub until: Option<time::Date>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct VulnerabilityPolicy {
    pub ignore: Vec<VulnerabilityIgnore>,
    /// Advisories scoring below this CVSS base score are warnings, not violations.
    pub severity_threshold: Option<f64>,
    /// Unknown vulnerability status: fails the run (deny) by default.
    pub unknown: Disposition,
    /// Offline database older than this fails the run.
    pub max_db_age: Option<Duration>,
}

impl Default for VulnerabilityPolicy {
    fn default() -> Self {
        VulnerabilityPolicy {
            ignore: Vec::new(),
            severity_threshold: None,
            unknown: Disposition::Deny,
            max_db_age: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct HealthPolicy {
    pub yanked: Disposition,
    pub outdated: Disposition,
    /// Releases uploaded longer ago than this are stale.
    pub max_age: Option<Duration>,
    pub unknown: Disposition,
}

impl Default for HealthPolicy {
    fn default() -> Self {
        HealthPolicy {
            yanked: Disposition::Warn,
            outdated: Disposition::Allow,
            max_age: None,
            unknown: Disposition::Warn,
        }
    }
}

/// `[cache]`: freshness per kind of data and the file cache's size bound.
#[derive(Clone, Debug, PartialEq)]
pub struct CachePolicy {
    pub metadata_ttl: Duration,
    pub vulnerability_ttl: Duration,
    pub max_size_bytes: u64,
}

impl Default for CachePolicy {
    fn default() -> Self {
        CachePolicy {
            metadata_ttl: Duration::from_secs(7 * 86_400),
            vulnerability_ttl: Duration::from_secs(3_600),
            max_size_bytes: 256 * 1024 * 1024,
        }
    }
}

/// `[performance]`: regression detection.
#[derive(Clone, Debug, PartialEq)]
pub struct PerfPolicy {
    /// Fractional slowdown that counts as a regression (0.2 = 20 %).
    pub regression_threshold: f64,
    /// How many comparable past runs form the baseline (median).
    pub baseline_runs: usize,
    /// Fewest comparable runs before any verdict.
    pub min_baseline_runs: usize,
    /// Records kept in the history file.
    pub history_limit: usize,
}

impl Default for PerfPolicy {
    fn default() -> Self {
        PerfPolicy {
            regression_threshold: 0.20,
            baseline_runs: 5,
            min_baseline_runs: 3,
            history_limit: 500,
        }
    }
}

/// `[sources]`: defaults for the CLI's network options (CLI and env win).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SourcesConfig {
    pub pypi_url: Option<String>,
    pub osv_url: Option<String>,
    pub osv_db: Option<PathBuf>,
    pub concurrency: Option<usize>,
    pub timeout: Option<Duration>,
    pub retries: Option<u32>,
    pub redis_url: Option<String>,
}

/// The validated policy.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Policy {
    /// The file it came from; `None` for embedded defaults.
    pub path: Option<PathBuf>,
    pub licenses: LicensePolicy,
    pub packages: PackagePolicy,
    pub vulnerabilities: VulnerabilityPolicy,
    pub health: HealthPolicy,
    pub cache: CachePolicy,
    pub performance: PerfPolicy,
    pub sources: SourcesConfig,
    /// Hash of the file's bytes (part of the run fingerprint).
    pub fingerprint: String,
}

// ---------------------------------------------------------------------------------------------
// Raw (serde) form.

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    licenses: Option<Spanned<RawLicenses>>,
    packages: Option<RawPackages>,
    vulnerabilities: Option<RawVulnerabilities>,
    health: Option<RawHealth>,
    cache: Option<RawCache>,
    performance: Option<RawPerformance>,
    sources: Option<RawSources>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLicenses {
    allow: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    deny: Vec<Spanned<String>>,
    unknown: Option<Disposition>,
    #[serde(default)]
    exceptions: Vec<RawLicenseException>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLicenseException {
    name: Spanned<String>,
    allow: Vec<Spanned<String>>,
    reason: Option<String>,
}

/// A package entry in `deny`/`allow`: a bare name or a table. (Untagged enums cannot hold
/// `Spanned` fields, so the whole entry carries the span.)
#[derive(Deserialize)]
#[serde(
    untagged,
    expecting = "a package name or a table like { name = \"pycrypto\", version = \"<3\", reason = \"...\" }"
)]
enum RawPackageEntry {
    Name(String),
    Rule(RawPlainRule),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlainRule {
    name: String,
    version: Option<String>,
    reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPackageRule {
    name: Spanned<String>,
    version: Option<Spanned<String>>,
    reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPackages {
    #[serde(default)]
    deny: Vec<Spanned<RawPackageEntry>>,
    #[serde(default)]
    allow: Vec<Spanned<RawPackageEntry>>,
    #[serde(default)]
    require: Vec<RawPackageRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIgnore {
    id: Spanned<String>,
    reason: Option<String>,
    until: Option<Spanned<RawDate>>,
}

/// `until` may be written as a TOML date (`2027-01-31`) or a string (`"2027-01-31"`).
#[derive(Deserialize)]
#[serde(untagged)]
enum RawDate {
    Date(toml::value::Datetime),
    Text(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVulnerabilities {
    #[serde(default)]
    ignore: Vec<RawIgnore>,
    severity_threshold: Option<Spanned<RawSeverity>>,
    unknown: Option<Disposition>,
    max_db_age: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawSeverity {
    Score(f64),
    Word(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHealth {
    yanked: Option<Disposition>,
    outdated: Option<Disposition>,
    max_age: Option<Spanned<String>>,
    unknown: Option<Disposition>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCache {
    metadata_ttl: Option<Spanned<String>>,
    vulnerability_ttl: Option<Spanned<String>>,
    max_size: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPerformance {
    regression_threshold: Option<Spanned<f64>>,
    baseline_runs: Option<Spanned<i64>>,
    min_baseline_runs: Option<Spanned<i64>>,
    history_limit: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSources {
    pypi_url: Option<String>,
    osv_url: Option<String>,
    osv_db: Option<PathBuf>,
    concurrency: Option<Spanned<i64>>,
    timeout: Option<Spanned<String>>,
    retries: Option<Spanned<i64>>,
    redis_url: Option<String>,
}

#[derive(Deserialize)]
struct RawPyproject {
    tool: Option<RawTool>,
}

#[derive(Deserialize)]
struct RawTool {
    depdash: Option<RawConfig>,
}

// ---------------------------------------------------------------------------------------------

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
pub fn load(path: &Path) -> Result<Policy, PolicyError> {
    let bytes =
        crate::safe_fs::read_regular(path, crate::safe_fs::limits::POLICY_FILE).map_err(|e| {
            PolicyError {
                path: path.to_path_buf(),
                line: 0,
                column: 0,
                message: format!("cannot read policy file: {e}"),
            }
        })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let (line, column) = line_col(
            &String::from_utf8_lossy(e.as_bytes()),
            e.utf8_error().valid_up_to(),
        );
        PolicyError {
            path: path.to_path_buf(),
            line,
            column,
            message: "policy file is not valid UTF-8".into(),
        }
    })?;
    let is_pyproject = path.file_name().is_some_and(|n| n == "pyproject.toml");
    parse(&text, path, is_pyproject)
}

/// Parse policy text. `path` is used for messages only.
pub fn parse(text: &str, path: &Path, is_pyproject: bool) -> Result<Policy, PolicyError> {
    let ctx = Ctx { text, path };
    let raw = if is_pyproject {
        let doc: RawPyproject = toml::from_str(text).map_err(|e| ctx.toml_error(&e))?;
        doc.tool.and_then(|t| t.depdash).unwrap_or_default()
    } else {
        toml::from_str::<RawConfig>(text).map_err(|e| ctx.toml_error(&e))?
    };
    let mut policy = ctx.validate(raw)?;
    policy.path = Some(path.to_path_buf());
    policy.fingerprint = crate::fingerprint::of_bytes(text.as_bytes());
    Ok(policy)
}

/// Parse a duration such as `90s`, `30m`, `1h`, `7d`, `2w`, `1y` (365 days).
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().ok()?;
    let seconds = match unit.trim() {
        "s" | "sec" | "secs" | "second" | "seconds" => 1,
        "m" | "min" | "mins" | "minute" | "minutes" => 60,
        "h" | "hour" | "hours" => 3_600,
        "d" | "day" | "days" => 86_400,
        "w" | "week" | "weeks" => 7 * 86_400,
        "y" | "year" | "years" => 365 * 86_400,
        _ => return None,
    };
    n.checked_mul(seconds).map(Duration::from_secs)
}

/// Parse a size such as `512MB`, `1GiB`, `100k`, `4096`.
pub fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().ok()?;
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(factor)
}

/// 1-based line and column of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text.as_bytes()[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    (line, column)
}

struct Ctx<'a> {
    text: &'a str,
    path: &'a Path,
}

impl Ctx<'_> {
    fn error_at(&self, span: Range<usize>, message: impl Into<String>) -> PolicyError {
        let (line, column) = line_col(self.text, span.start);
        PolicyError {
            path: self.path.to_path_buf(),
            line,
            column,
            message: message.into(),
        }
    }

    fn toml_error(&self, e: &toml::de::Error) -> PolicyError {
        let span = e.span().unwrap_or(0..0);
        self.error_at(span, e.message().trim().to_string())
    }

    fn licensee(&self, item: &Spanned<String>, what: &str) -> Result<spdx::Licensee, PolicyError> {
        spdx::Licensee::parse(item.get_ref()).map_err(|e| {
            self.error_at(
                item.span(),
                format!(
                    "{what}: `{}` is not an SPDX license id ({}); expected e.g. \"MIT\", \"Apache-2.0\", \"GPL-2.0-or-later\"",
                    item.get_ref(),
                    e.reason
                ),
            )
        })
    }

    fn licensees(
        &self,
        items: &[Spanned<String>],
        what: &str,
    ) -> Result<Vec<spdx::Licensee>, PolicyError> {
        items.iter().map(|i| self.licensee(i, what)).collect()
    }

    fn specifiers(&self, item: &Spanned<String>) -> Result<VersionSpecifiers, PolicyError> {
        self.specifiers_at(item.get_ref(), item.span())
    }

    fn specifiers_at(
        &self,
        text: &str,
        span: Range<usize>,
    ) -> Result<VersionSpecifiers, PolicyError> {
        VersionSpecifiers::from_str(text).map_err(|e| {
            self.error_at(
                span,
                format!(
                    "`{text}` is not a PEP 440 version specifier ({e}); expected e.g. \">=2\", \"~=1.4\", \"==3.1.*\""
                ),
            )
        })
    }

    fn package_name(&self, item: &Spanned<String>) -> Result<String, PolicyError> {
        self.package_name_at(item.get_ref(), item.span())
    }

    fn package_name_at(&self, name: &str, span: Range<usize>) -> Result<String, PolicyError> {
        let name = name.trim();
        let valid = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !valid {
            return Err(self.error_at(span, format!("`{name}` is not a valid Python package name")));
        }
        Ok(normalize_name(name))
    }

    fn package_rule(&self, raw: &RawPackageRule) -> Result<PackageRule, PolicyError> {
        Ok(PackageRule {
            name: self.package_name(&raw.name)?,
            version: raw
                .version
                .as_ref()
                .map(|v| self.specifiers(v))
                .transpose()?,
            reason: raw.reason.clone(),
        })
    }

    fn package_entry(&self, raw: &Spanned<RawPackageEntry>) -> Result<PackageRule, PolicyError> {
        let span = raw.span();
        match raw.get_ref() {
            RawPackageEntry::Name(name) => Ok(PackageRule {
                name: self.package_name_at(name, span)?,
                version: None,
                reason: None,
            }),
            RawPackageEntry::Rule(rule) => Ok(PackageRule {
                name: self.package_name_at(&rule.name, span.clone())?,
                version: rule
                    .version
                    .as_deref()
                    .map(|v| self.specifiers_at(v, span))
                    .transpose()?,
                reason: rule.reason.clone(),
            }),
        }
    }

    fn duration(&self, item: &Spanned<String>) -> Result<Duration, PolicyError> {
        parse_duration(item.get_ref()).ok_or_else(|| {
            self.error_at(
                item.span(),
                format!(
                    "`{}` is not a duration; expected a number and a unit, e.g. \"90s\", \"30m\", \"1h\", \"7d\", \"2w\", \"1y\"",
                    item.get_ref()
                ),
            )
        })
    }

    fn count(&self, item: &Spanned<i64>, min: i64) -> Result<usize, PolicyError> {
        let value = *item.get_ref();
        if value < min {
            return Err(self.error_at(
                item.span(),
                format!("expected a whole number of at least {min}, found {value}"),
            ));
        }
        Ok(value as usize)
    }

    fn date(&self, item: &Spanned<RawDate>) -> Result<time::Date, PolicyError> {
        let text = match item.get_ref() {
            RawDate::Date(d) => d.to_string(),
            RawDate::Text(t) => t.clone(),
        };
        let format = time::macros::format_description!("[year]-[month]-[day]");
        time::Date::parse(text.trim(), &format).map_err(|_| {
            self.error_at(
                item.span(),
                format!("`{text}` is not a date; expected YYYY-MM-DD, e.g. 2027-01-31"),
            )
        })
    }

    fn validate(&self, raw: RawConfig) -> Result<Policy, PolicyError> {
        let mut policy = Policy::default();

        if let Some(licenses) = raw.licenses {
            let licenses = licenses.into_inner();
            let mut exceptions = Vec::new();
            for e in &licenses.exceptions {
                exceptions.push(LicenseException {
                    name: self.package_name(&e.name)?,
                    allow: self.licensees(&e.allow, "licenses.exceptions.allow")?,
                    reason: e.reason.clone().unwrap_or_default(),
                });
            }
            policy.licenses = LicensePolicy {
                enabled: true,
                allow: licenses
                    .allow
                    .as_deref()
                    .map(|a| self.licensees(a, "licenses.allow"))
                    .transpose()?,
                deny: self.licensees(&licenses.deny, "licenses.deny")?,
                unknown: licenses.unknown.unwrap_or(Disposition::Deny),
                exceptions,
            };
        }

        if let Some(packages) = raw.packages {
            policy.packages = PackagePolicy {
                deny: packages
                    .deny
                    .iter()
                    .map(|e| self.package_entry(e))
                    .collect::<Result<_, _>>()?,
                allow: packages
                    .allow
                    .iter()
                    .map(|e| self.package_entry(e))
                    .collect::<Result<_, _>>()?,
                require: packages
                    .require
                    .iter()
                    .map(|r| self.package_rule(r))
                    .collect::<Result<_, _>>()?,
            };
            for rule in &policy.packages.require {
                if rule.version.is_none() {
                    let raw_rule = packages
                        .require
                        .iter()
                        .find(|r| normalize_name(r.name.get_ref()) == rule.name)
                        .expect("rule came from this list");
                    return Err(self.error_at(
                        raw_rule.name.span(),
                        "packages.require entries need a `version` specifier, e.g. version = \">=2\"",
                    ));
                }
            }
        }

        if let Some(v) = raw.vulnerabilities {
            let mut ignore = Vec::new();
            for i in &v.ignore {
                if i.id.get_ref().trim().is_empty() {
                    return Err(self.error_at(i.id.span(), "advisory id must not be empty"));
                }
                ignore.push(VulnerabilityIgnore {
                    id: i.id.get_ref().trim().to_string(),
                    reason: i.reason.clone().unwrap_or_default(),
                    until: i.until.as_ref().map(|d| self.date(d)).transpose()?,
                });
            }
            let severity_threshold = match &v.severity_threshold {
                None => None,
                Some(s) => Some(match s.get_ref() {
                    RawSeverity::Score(x) if (0.0..=10.0).contains(x) => *x,
                    RawSeverity::Word(w) => match w.to_ascii_lowercase().as_str() {
                        "none" => 0.0,
                        "low" => 0.1,
                        "medium" | "moderate" => 4.0,
                        "high" => 7.0,
                        "critical" => 9.0,
                        _ => {
                            return Err(self.error_at(
                                s.span(),
                                format!("`{w}` is not a severity; expected low, medium, high, critical or a CVSS score 0-10"),
                            ));
                        }
                    },
                    RawSeverity::Score(x) => {
                        return Err(self.error_at(
                            s.span(),
                            format!("CVSS score {x} is out of range; expected 0 to 10"),
                        ));
                    }
                }),
            };
            policy.vulnerabilities = VulnerabilityPolicy {
                ignore,
                severity_threshold,
                unknown: v.unknown.unwrap_or(Disposition::Deny),
                max_db_age: v
                    .max_db_age
                    .as_ref()
                    .map(|d| self.duration(d))
                    .transpose()?,
            };
        }

        if let Some(h) = raw.health {
            let defaults = HealthPolicy::default();
            policy.health = HealthPolicy {
                yanked: h.yanked.unwrap_or(defaults.yanked),
                outdated: h.outdated.unwrap_or(defaults.outdated),
                max_age: h.max_age.as_ref().map(|d| self.duration(d)).transpose()?,
                unknown: h.unknown.unwrap_or(defaults.unknown),
            };
        }

        if let Some(c) = raw.cache {
            let defaults = CachePolicy::default();
            policy.cache = CachePolicy {
                metadata_ttl: match &c.metadata_ttl {
                    Some(d) => self.duration(d)?,
                    None => defaults.metadata_ttl,
                },
                vulnerability_ttl: match &c.vulnerability_ttl {
                    Some(d) => self.duration(d)?,
                    None => defaults.vulnerability_ttl,
                },
                max_size_bytes: match &c.max_size {
                    Some(s) => parse_size(s.get_ref()).ok_or_else(|| {
                        self.error_at(
                            s.span(),
                            format!(
                                "`{}` is not a size; expected e.g. \"256MB\", \"1GiB\"",
                                s.get_ref()
                            ),
                        )
                    })?,
                    None => defaults.max_size_bytes,
                },
            };
        }

        if let Some(p) = raw.performance {
            let defaults = PerfPolicy::default();
            let threshold = match &p.regression_threshold {
                Some(t) if *t.get_ref() > 0.0 && *t.get_ref() < 100.0 => *t.get_ref(),
                Some(t) => {
                    return Err(self.error_at(
                        t.span(),
                        "regression_threshold is a fraction, e.g. 0.2 for 20 %",
                    ));
                }
                None => defaults.regression_threshold,
            };
            policy.performance = PerfPolicy {
                regression_threshold: threshold,
                baseline_runs: match &p.baseline_runs {
                    Some(n) => self.count(n, 1)?,
                    None => defaults.baseline_runs,
                },
                min_baseline_runs: match &p.min_baseline_runs {
                    Some(n) => self.count(n, 1)?,
                    None => defaults.min_baseline_runs,
                },
                history_limit: match &p.history_limit {
                    Some(n) => self.count(n, 1)?,
                    None => defaults.history_limit,
                },
            };
        }

        if let Some(s) = raw.sources {
            policy.sources = SourcesConfig {
                pypi_url: s.pypi_url,
                osv_url: s.osv_url,
                osv_db: s.osv_db,
                concurrency: s
                    .concurrency
                    .as_ref()
                    .map(|n| self.count(n, 1))
                    .transpose()?,
                timeout: s.timeout.as_ref().map(|d| self.duration(d)).transpose()?,
                retries: s
                    .retries
                    .as_ref()
                    .map(|n| self.count(n, 0).map(|n| n as u32))
                    .transpose()?,
                redis_url: s.redis_url,
            };
        }

        Ok(policy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> Result<Policy, PolicyError> {
        parse(text, Path::new("depdash.toml"), false)
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
        assert_eq!((err.line, err.column), (3, 1), "{err}");
        assert!(err.message.contains("alow"), "{err}");
    }

    #[test]
    fn invalid_spdx_id_points_at_the_string() {
        let err = parse_str("[licenses]\nallow = [\"MIT\", \"Not A License\"]\n").unwrap_err();
        assert_eq!(err.line, 2);
        assert_eq!(err.column, 17, "{err}");
        assert!(err.message.contains("Not A License"));
        assert!(err.to_string().starts_with("depdash.toml:2:17:"));
    }

    #[test]
    fn invalid_specifier_and_duration_are_errors() {
        let err =
            parse_str("[[packages.require]]\nname = \"urllib3\"\nversion = \"=>2\"\n").unwrap_err();
        assert_eq!(err.line, 3);
        assert!(err.message.contains("PEP 440"));
        let err = parse_str("[cache]\nmetadata_ttl = \"soon\"\n").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.message.contains("duration"));
    }

    #[test]
    fn wrong_type_is_an_error() {
        let err = parse_str("[licenses]\nunknown = \"maybe\"\n").unwrap_err();
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
        assert_eq!(err.line, 2);
    }

    #[test]
    fn durations_and_sizes() {
        assert_eq!(parse_duration("7d"), Some(Duration::from_secs(604_800)));
        assert_eq!(parse_duration("1h"), Some(Duration::from_secs(3_600)));
        assert_eq!(parse_duration("1 y"), Some(Duration::from_secs(31_536_000)));
        assert_eq!(parse_duration("h"), None);
        assert_eq!(parse_duration("5 parsecs"), None);
        assert_eq!(parse_size("256MB"), Some(256 << 20));
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("lots"), None);
    }

    #[test]
    fn no_licenses_section_means_not_judged() {
        let policy = parse_str("[packages]\ndeny = [\"pycrypto\"]\n").unwrap();
        assert!(!policy.licenses.enabled);
        assert_eq!(policy.vulnerabilities.unknown, Disposition::Deny);
    }
}
