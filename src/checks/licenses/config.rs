//! `[licenses]`: raw (as written) and validated.

use serde::Deserialize;
use toml::Spanned;

use crate::config::{Ctx, Disposition, RawDate};

#[derive(Clone, Debug, PartialEq)]
pub struct LicenseException {
    /// PEP 503 normalised package name.
    pub name: String,
    pub allow: Vec<spdx::Licensee>,
    pub reason: String,
    /// Last day (inclusive) the exception applies, `YYYY-MM-DD`; after it the package's license
    /// is judged by the global rules again and the entry is reported expired.
    pub until: Option<time::Date>,
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLicenses {
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
    until: Option<Spanned<RawDate>>,
}

impl LicensePolicy {
    /// Validate `[licenses]`; a section that is present turns the check on (unknown: deny).
    pub fn validate(ctx: &Ctx<'_>, raw: &RawLicenses) -> Self {
        let exceptions = raw
            .exceptions
            .iter()
            .filter_map(|e| {
                let name = ctx.check(ctx.package_name(&e.name));
                let allow = ctx.licensees(&e.allow, "licenses.exceptions.allow");
                // A bad date is recorded (line:column) and drops the entry with the run failing.
                let until = match &e.until {
                    None => Ok(None),
                    Some(date) => ctx.check(ctx.date(date)).map(Some).ok_or(()),
                };
                Some(LicenseException {
                    name: name?,
                    allow,
                    reason: e.reason.clone().unwrap_or_default(),
                    until: until.ok()?,
                })
            })
            .collect();
        LicensePolicy {
            enabled: true,
            allow: raw
                .allow
                .as_deref()
                .map(|a| ctx.licensees(a, "licenses.allow")),
            deny: ctx.licensees(&raw.deny, "licenses.deny"),
            unknown: raw.unknown.unwrap_or(Disposition::Deny),
            exceptions,
        }
    }
}
