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
    /// PEP 792 project statuses.
    pub archived: Disposition,
    pub deprecated: Disposition,
    pub quarantined: Disposition,
}

impl Default for HealthPolicy {
    fn default() -> Self {
        HealthPolicy {
            yanked: Disposition::Warn,
            outdated: Disposition::Allow,
            max_age: None,
            unknown: Disposition::Warn,
            // Off by default: judging them costs one more request per package (the Simple API
            // page), the default run asks for the release's own document only.
            archived: Disposition::Allow,
            deprecated: Disposition::Allow,
            quarantined: Disposition::Deny,
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
    archived: Option<Disposition>,
    deprecated: Option<Disposition>,
    quarantined: Option<Disposition>,
}

impl HealthPolicy {
    pub fn validate(ctx: &Ctx<'_>, raw: &RawHealth) -> Self {
        let defaults = HealthPolicy::default();
        HealthPolicy {
            yanked: raw.yanked.unwrap_or(defaults.yanked),
            outdated: raw.outdated.unwrap_or(defaults.outdated),
            max_age: ctx.optional(raw.max_age.as_ref(), |d| ctx.duration(d)),
            unknown: raw.unknown.unwrap_or(defaults.unknown),
            archived: raw.archived.unwrap_or(defaults.archived),
            deprecated: raw.deprecated.unwrap_or(defaults.deprecated),
            quarantined: raw.quarantined.unwrap_or(defaults.quarantined),
        }
    }

    /// Whether a rule reads whole-project facts (latest version, archived/deprecated status).
    /// Quarantine needs none: a quarantined project's release document is gone (404), and the
    /// Simple API page asked then states the status.
    pub fn needs_project_facts(&self) -> bool {
        [self.outdated, self.archived, self.deprecated]
            .iter()
            .any(|d| *d != Disposition::Allow)
    }
}
