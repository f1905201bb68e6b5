//! Health of each release: yanked, outdated, stale (from the package index).
//!
//! - yanked: `health.yanked` deny → error, warn → warning, allow → nothing.
//! - outdated: the index's latest version is newer than the installed one (PEP 440 order);
//!   `health.outdated` decides the severity.
//! - stale: the installed release was uploaded longer ago than `health.max_age` → warning (a
//!   signal of possible abandonment, not proof of a defect).
//! - on several indexes (extra indexes configured): a warning naming them, since pip would take
//!   the highest version from any of them (dependency confusion).
//! - not on the index: a warning (private packages are legitimate, but so is dependency
//!   confusion), and nothing else can be checked.
//! - no index data, or data a configured rule needs but cannot read (unparseable version or
//!   upload time) → `Unknown`, failing the run when `health.unknown` is `deny`.

pub mod config;

use std::str::FromStr;

use pep440_rs::Version;
use time::OffsetDateTime;

use crate::checks::CheckOutput;
use crate::config::Disposition;
use crate::model::{
    Check, Code, Distribution, Finding, ProjectState, RegistryInfo, RuleKey, Severity, Unknown,
};
use config::HealthPolicy;

fn severity(disposition: Disposition) -> Option<Severity> {
    match disposition {
        Disposition::Deny => Some(Severity::Error),
        Disposition::Warn => Some(Severity::Warning),
        Disposition::Allow => None,
    }
}

fn health_unknown(dist: &Distribution, reason: String, policy: &HealthPolicy) -> Unknown {
    Unknown {
        package: Some(dist.name.clone()),
        version: Some(dist.version.clone()),
        check: Check::Health,
        reason,
        fails_run: policy.unknown == Disposition::Deny,
    }
}

/// Judge one release against `[health]`.
pub fn evaluate(
    dist: &Distribution,
    info: Option<&RegistryInfo>,
    policy: &HealthPolicy,
    now: OffsetDateTime,
) -> CheckOutput {
    let mut out = CheckOutput::default();
    let Some(info) = info else {
        out.unknowns.push(health_unknown(
            dist,
            "no package index data for this release (not fetched, or the fetch failed)".into(),
            policy,
        ));
        return out;
    };
    let finding = |code: Code, severity: Severity, rule: RuleKey, message: String| {
        Finding::new(code, severity, message)
            .for_package(&dist.name, &dist.version)
            .with_rule(rule)
    };
    if !info.on_index {
        // A quarantined project may be gone from the index's release documents.
        project_status(dist, info, policy, &mut out);
        out.findings.push(finding(
            Code::NotOnIndex,
            Severity::Warning,
            RuleKey::Health,
            format!(
                "{} is not on the package index (private, renamed or removed?); yanked, outdated and stale were not checked",
                dist.name
            ),
        ));
        return out;
    }

    project_status(dist, info, policy, &mut out);

    if info.found_on.len() > 1 {
        out.findings.push(finding(
            Code::OnSeveralIndexes,
            Severity::Warning,
            RuleKey::Health,
            format!(
                "{} is on {} indexes ({}): pip installs the highest version from any of them; check that they publish the same project (dependency confusion)",
                dist.name,
                info.found_on.len(),
                info.found_on.join(", ")
            ),
        ));
    }

    if info.yanked
        && let Some(sev) = severity(policy.yanked)
    {
        let reason = info
            .yanked_reason
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(|r| format!(": {r}"))
            .unwrap_or_default();
        out.findings.push(finding(
            Code::Yanked,
            sev,
            RuleKey::HealthYanked,
            format!("{} {} is yanked{reason}", dist.name, dist.version),
        ));
    }

    if let Some(sev) = severity(policy.outdated) {
        let installed = Version::from_str(dist.version.trim());
        let latest = info
            .latest_version
            .as_deref()
            .map(|l| Version::from_str(l.trim()));
        match (installed, latest) {
            (Ok(installed), Some(Ok(latest))) => {
                if latest > installed {
                    out.findings.push(finding(
                        Code::Outdated,
                        sev,
                        RuleKey::HealthOutdated,
                        format!(
                            "{} {} is outdated: {latest} is the latest release",
                            dist.name, dist.version
                        ),
                    ));
                }
            }
            (Err(e), _) => out.unknowns.push(health_unknown(
                dist,
                format!("cannot tell whether it is outdated: version `{}` is not PEP 440 ({e})", dist.version),
                policy,
            )),
            (_, None) => out.unknowns.push(health_unknown(
                dist,
                "cannot tell whether it is outdated: the index gave no latest version".into(),
                policy,
            )),
            (_, Some(Err(e))) => out.unknowns.push(health_unknown(
                dist,
                format!("cannot tell whether it is outdated: the index's latest version is not PEP 440 ({e})"),
                policy,
            )),
        }
    }

    if let Some(max_age) = policy.max_age {
        match info
            .upload_time
            .as_deref()
            .map(|t| (t, crate::units::parse_timestamp(t)))
        {
            Some((_, Some(uploaded))) => {
                let age = now - uploaded;
                if age.whole_seconds() > i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX) {
                    out.findings.push(finding(
                        Code::StaleRelease,
                        Severity::Warning,
                        RuleKey::HealthMaxAge,
                        format!(
                            "{} {} was uploaded {} days ago ({}), longer ago than health.max_age ({} days)",
                            dist.name,
                            dist.version,
                            age.whole_days(),
                            uploaded.date(),
                            max_age.as_secs() / 86_400
                        ),
                    ));
                }
            }
            Some((text, None)) => out.unknowns.push(health_unknown(
                dist,
                format!("cannot tell whether it is stale: upload time `{text}` is not a timestamp"),
                policy,
            )),
            None => out.unknowns.push(health_unknown(
                dist,
                format!(
                    "cannot tell whether it is stale: {}",
                    (info.no_upload_time.as_deref()).unwrap_or("the index gave no upload time")
                ),
                policy,
            )),
        }
    }
    out
}

/// When [`evaluate`]'s judgment of `info` judged at `now` can next change with time alone:
/// `health.max_age` flags the release once its age passes the limit, and a flagged release's
/// message counts whole days. `None`: it never does (no `max_age`, or no upload time).
pub fn judged_until(
    info: &RegistryInfo,
    policy: &HealthPolicy,
    now: OffsetDateTime,
) -> Option<OffsetDateTime> {
    let max_age = i64::try_from(policy.max_age?.as_secs()).ok()?;
    let uploaded = crate::units::parse_timestamp(info.upload_time.as_deref()?)?;
    let age = now - uploaded;
    let next = if age.whole_seconds() > max_age {
        uploaded.checked_add(time::Duration::days(age.whole_days().checked_add(1)?))?
    } else {
        uploaded.checked_add(time::Duration::seconds(max_age.checked_add(1)?))?
    };
    Some(next)
}

/// PEP 792: archived, deprecated and quarantined projects, each as `[health]` says. A status
/// word PEP 792 does not define is an unknown, not "active".
fn project_status(
    dist: &Distribution,
    info: &RegistryInfo,
    policy: &HealthPolicy,
    out: &mut CheckOutput,
) {
    let Some(status) = &info.project_status else {
        return;
    };
    let (code, rule, disposition, word) = match &status.status {
        ProjectState::Active => return,
        ProjectState::Archived => (
            Code::ProjectArchived,
            RuleKey::HealthArchived,
            policy.archived,
            "archived",
        ),
        ProjectState::Deprecated => (
            Code::ProjectDeprecated,
            RuleKey::HealthDeprecated,
            policy.deprecated,
            "deprecated",
        ),
        ProjectState::Quarantined => (
            Code::ProjectQuarantined,
            RuleKey::HealthQuarantined,
            policy.quarantined,
            "quarantined",
        ),
        ProjectState::Other(word) => {
            out.unknowns.push(health_unknown(
                dist,
                format!("the index states project status `{word}`, which PEP 792 does not define"),
                policy,
            ));
            return;
        }
    };
    let Some(sev) = severity(disposition) else {
        return;
    };
    let reason = status
        .reason
        .as_deref()
        .map(|r| format!(": {r}"))
        .unwrap_or_default();
    out.findings.push(
        Finding::new(
            code,
            sev,
            format!("the index marks project {} {word}{reason}", dist.name),
        )
        .for_package(&dist.name, &dist.version)
        .with_rule(rule),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn uploaded(at: OffsetDateTime) -> RegistryInfo {
        let text = at.format(&time::format_description::well_known::Rfc3339);
        RegistryInfo {
            on_index: true,
            upload_time: Some(text.unwrap()),
            ..RegistryInfo::default()
        }
    }

    proptest! {
        /// The max-age judgment (flag and message) is the same at every instant before
        /// `judged_until` and differs there: a stored report holds exactly until then.
        #[test]
        fn the_age_judgment_holds_until_judged_until(
            max_days in 1u64..400,
            age_secs in 0i64..(500 * 86_400),
        ) {
            let policy = HealthPolicy {
                max_age: Some(std::time::Duration::from_secs(max_days * 86_400)),
                ..HealthPolicy::default()
            };
            let upload = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
            let info = uploaded(upload);
            let now = upload + time::Duration::seconds(age_secs);
            let until = judged_until(&info, &policy, now).expect("an upload time and max_age");
            prop_assert!(until > now);
            let at = |t| evaluate(&Distribution::named("pkg", "1.0"), Some(&info), &policy, t);
            prop_assert_eq!(at(now), at(until - time::Duration::seconds(1)));
            prop_assert_ne!(at(now), at(until));
        }
    }

    #[test]
    fn without_max_age_or_upload_time_the_judgment_does_not_age() {
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let info = uploaded(now - time::Duration::days(3_000));
        assert_eq!(judged_until(&info, &HealthPolicy::default(), now), None);
        let policy = HealthPolicy {
            max_age: Some(std::time::Duration::from_secs(86_400)),
            ..HealthPolicy::default()
        };
        let unknown = RegistryInfo {
            upload_time: None,
            ..info
        };
        assert_eq!(judged_until(&unknown, &policy, now), None);
    }
}
