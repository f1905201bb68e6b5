//! `[vulnerabilities]`: raw (as written) and validated.

use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::config::{Ctx, Disposition, PolicyError, RawDate};

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIgnore {
    id: Spanned<String>,
    reason: Option<String>,
    until: Option<Spanned<RawDate>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawVulnerabilities {
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

fn severity(ctx: &Ctx<'_>, s: &Spanned<RawSeverity>) -> Result<f64, PolicyError> {
    match s.get_ref() {
        RawSeverity::Score(x) if (0.0..=10.0).contains(x) => Ok(*x),
        RawSeverity::Score(x) => Err(ctx.error_at(
            s.span(),
            format!("CVSS score {x} is out of range; expected 0 to 10"),
        )),
        RawSeverity::Word(w) => match w.to_ascii_lowercase().as_str() {
            "none" => Ok(0.0),
            "low" => Ok(0.1),
            "medium" | "moderate" => Ok(4.0),
            "high" => Ok(7.0),
            "critical" => Ok(9.0),
            _ => Err(ctx.error_at(
                s.span(),
                format!(
                    "`{w}` is not a severity; expected low, medium, high, critical or a CVSS score 0-10"
                ),
            )),
        },
    }
}

fn ignore(ctx: &Ctx<'_>, raw: &RawIgnore) -> Result<VulnerabilityIgnore, PolicyError> {
    let id = raw.id.get_ref().trim();
    if id.is_empty() {
        return Err(ctx.error_at(raw.id.span(), "advisory id must not be empty"));
    }
    Ok(VulnerabilityIgnore {
        id: id.to_string(),
        reason: raw.reason.clone().unwrap_or_default(),
        until: raw.until.as_ref().map(|d| ctx.date(d)).transpose()?,
    })
}

impl VulnerabilityPolicy {
    pub fn validate(ctx: &Ctx<'_>, raw: &RawVulnerabilities) -> Self {
        VulnerabilityPolicy {
            ignore: ctx.each(raw.ignore.iter().map(|i| ignore(ctx, i))),
            severity_threshold: ctx.optional(raw.severity_threshold.as_ref(), |s| severity(ctx, s)),
            unknown: raw.unknown.unwrap_or(Disposition::Deny),
            max_db_age: ctx.optional(raw.max_db_age.as_ref(), |d| ctx.duration(d)),
        }
    }
}
