//! `[health]`: raw (as written) and validated.

use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::config::{Ctx, Disposition};

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHealth {
    yanked: Option<Disposition>,
    outdated: Option<Disposition>,
    max_age: Option<Spanned<String>>,
    unknown: Option<Disposition>,
}

impl HealthPolicy {
    pub fn validate(ctx: &Ctx<'_>, raw: &RawHealth) -> Self {
        let defaults = HealthPolicy::default();
        HealthPolicy {
            yanked: raw.yanked.unwrap_or(defaults.yanked),
            outdated: raw.outdated.unwrap_or(defaults.outdated),
            max_age: ctx.optional(raw.max_age.as_ref(), |d| ctx.duration(d)),
            unknown: raw.unknown.unwrap_or(defaults.unknown),
        }
    }
}
