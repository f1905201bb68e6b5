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
