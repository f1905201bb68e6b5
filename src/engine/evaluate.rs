//! Judging: every check applied to the facts a run gathered, assembled into the `Report`.
//! Pure (no I/O), so the same facts always give the same report.

use std::borrow::Cow;
use std::collections::HashMap;
use std::collections::hash_map::Entry;

use foldhash::{HashMap as FastMap, HashMapExt};
use time::OffsetDateTime;

use super::run::{RegistryAnswer, VulnAnswer};
use crate::analysis;
use crate::checks::{self, CheckOutput};
use crate::inventory::Inventory;
use crate::model::{
    Check, Code, Distribution, Finding, IndexCoreMetadata, LicenseMetadata, LicenseSource,
    PackageKey, PackageReport, PackageStatus, RegistryInfo, Report, ResolvedLicense, Severity,
    Unknown,
};
use crate::policy::Disposition;
use crate::settings::Settings;

/// What a run found out, per package and version.
pub struct Facts {
    /// In inventory order.
    pub licenses: Vec<ResolvedLicense>,
    /// Absent: the check was not run.
    pub vulnerabilities: HashMap<PackageKey, VulnAnswer>,
    /// Absent: the check was not run.
    pub registry: HashMap<PackageKey, RegistryAnswer>,
    /// Unknowns about the run as a whole (e.g. a stale offline database).
    pub run_unknowns: Vec<Unknown>,
    /// Per package, the sources answered from expired cache entries (offline).
    pub stale: HashMap<String, Vec<&'static str>>,
}

/// Judge everything against the policy as of `now` and assemble the report (metrics are
/// added later).
pub fn build_report(
    settings: &Settings,
    inventory: &Inventory,
    mut facts: Facts,
    now: OffsetDateTime,
) -> Report {
    let policy = &settings.policy;
    let mut out = checks::packages::evaluate(&inventory.distributions, &policy.packages);
    let mut exception_usage = checks::licenses::ExceptionUsage::as_of(now.date());
    let mut ignore_usage = checks::vulnerabilities::IgnoreUsage::default();

    // Each package's facts move into its report: 10,000 packages' registry answers are ~9 MB
    // in their map, and they go straight into the packages rather than through a second buffer.
    let dists = &inventory.distributions;
    let slots = Slots::new(dists);
    let mut vulns: Vec<Option<VulnAnswer>> = nones(dists.len());
    slots.place(std::mem::take(&mut facts.vulnerabilities), |i, answer| {
        vulns[i] = Some(answer);
    });
    let licenses = std::mem::take(&mut facts.licenses);
    let mut packages: Vec<PackageReport> = (dists.iter().zip(licenses))
        .map(|(dist, license)| package_report(dist, license, &facts.stale))
        .collect();
    let mut registry_failed: Vec<Option<String>> = nones(dists.len());
    slots.place(
        std::mem::take(&mut facts.registry),
        |i, answer| match answer {
            Ok(info) => {
                if let Some(package) = packages.get_mut(i) {
                    package.registry = Some(info);
                }
            }
            Err(reason) => registry_failed[i] = Some(reason),
        },
    );

    for (((dist, package), vulns), registry_failed) in (dists.iter().zip(&mut packages))
        .zip(vulns)
        .zip(registry_failed)
    {
        let registry = match (&package.registry, &registry_failed) {
            (Some(info), _) => Some(Ok(info)),
            (None, Some(reason)) => Some(Err(reason.as_str())),
            (None, None) => None,
        };
        if package.license.expression.is_none() {
            let local = std::mem::replace(&mut package.license, ResolvedLicense::unknown(""));
            package.license = with_index_license(local, registry);
        }
        out.extend(checks::licenses::evaluate(
            dist,
            &package.license,
            &policy.licenses,
            &mut exception_usage,
        ));

        match vulns {
            Some(Ok(found)) => {
                out.extend(checks::vulnerabilities::evaluate(
                    dist,
                    &found,
                    &policy.vulnerabilities,
                    now.date(),
                    &mut ignore_usage,
                ));
                package.vulnerabilities = found;
            }
            Some(Err(reason)) => {
                out.unknowns.push(checks::vulnerabilities::unknown(
                    dist,
                    &reason,
                    &policy.vulnerabilities,
                ));
            }
            None => {}
        }

        if let Some(info) = &package.registry {
            out.extend(checks::health::evaluate(
                dist,
                Some(info),
                &policy.health,
                now,
            ));
        } else if let Some(reason) = registry_failed {
            out.unknowns.push(Unknown {
                package: Some(dist.name.clone()),
                version: Some(dist.version.clone()),
                check: Check::Health,
                reason,
                fails_run: policy.health.unknown == Disposition::Deny,
            });
        }
    }
    annotate(&mut packages, &policy.packages);

    out.findings.extend(checks::licenses::unused_exceptions(
        &policy.licenses,
        &exception_usage,
    ));
    out.findings.extend(checks::vulnerabilities::unused_ignores(
        &policy.vulnerabilities,
        &ignore_usage,
    ));
    for issue in &inventory.issues {
        if issue.blocking {
            out.unknowns.push(Unknown {
                package: issue.package.clone(),
                version: None,
                check: Check::Inventory,
                reason: issue.to_string(),
                fails_run: true,
            });
        } else {
            let mut finding =
                Finding::new(Code::InventoryIssue, Severity::Warning, issue.to_string());
            finding.package = issue.package.clone();
            out.findings.push(finding);
        }
    }
    out.unknowns.extend(facts.run_unknowns);
    set_statuses(&mut packages, &out);

    Report::new(
        inventory.target.clone(),
        policy.path.as_ref().map(|p| p.display().to_string()),
        packages,
        out.findings,
        out.unknowns,
    )
}

/// Until when a report [`build_report`] judged at `now` stays the one the same facts give:
/// the policy's expiring license exceptions and vulnerability ignores are judged by the date
/// (UTC), and each release's `health.max_age` judgment by its age
/// ([`checks::health::judged_until`]).
pub fn holds_until(
    health: &checks::health::config::HealthPolicy,
    packages: &[PackageReport],
    now: OffsetDateTime,
) -> OffsetDateTime {
    let midnight = (now.date().next_day()).map_or(now, |day| day.midnight().assume_utc());
    (packages.iter())
        .filter_map(|p| p.registry.as_ref())
        .filter_map(|info| checks::health::judged_until(info, health, now))
        .fold(midnight, std::cmp::min)
}

/// A package's report before judging: what the distribution says, its license, and the
/// sources answered from expired cache entries.
fn package_report(
    dist: &Distribution,
    license: ResolvedLicense,
    stale: &HashMap<String, Vec<&'static str>>,
) -> PackageReport {
    let mut report = PackageReport::of(dist, license);
    if let Some(sources) = stale.get(&dist.normalized) {
        let mut sources: Vec<String> = sources.iter().map(|s| s.to_string()).collect();
        sources.sort();
        sources.dedup();
        report.stale = sources;
    }
    report
}

fn nones<T>(n: usize) -> Vec<Option<T>> {
    std::iter::repeat_with(|| None).take(n).collect()
}

/// Where each (name, version) answer goes in inventory order: looked up by borrowed keys in
/// one pass over an answer map (removing each distribution's key, allocated per lookup and
/// hashed with SipHash, cost more than the rest of moving the facts).
struct Slots<'a> {
    first: FastMap<(&'a str, &'a str), usize>,
    /// (index, index of the first distribution with the same name and version): a second
    /// installed copy gets a clone of the answer.
    copies: Vec<(usize, usize)>,
}

impl<'a> Slots<'a> {
    fn new(dists: &'a [Distribution]) -> Self {
        let mut first = FastMap::with_capacity(dists.len());
        let mut copies = Vec::new();
        for (i, d) in dists.iter().enumerate() {
            match first.entry((d.normalized.as_str(), d.version.as_str())) {
                Entry::Vacant(slot) => {
                    slot.insert(i);
                }
                Entry::Occupied(original) => copies.push((i, *original.get())),
            }
        }
        Slots { first, copies }
    }

    /// Hand each answer to `put` with its distribution's index (answers for no distribution
    /// are dropped).
    fn place<T: Clone>(&self, answers: HashMap<PackageKey, T>, mut put: impl FnMut(usize, T)) {
        for ((name, version), answer) in answers {
            let Some(&i) = self.first.get(&(name.as_str(), version.as_str())) else {
                continue;
            };
            for &(copy, _) in self.copies.iter().filter(|(_, original)| *original == i) {
                put(copy, answer.clone());
            }
            put(i, answer);
        }
    }
}

/// Most dependency paths kept per package in `required_by`.
const MAX_REQUIRED_BY: usize = 10;

/// What the analysis adds to each package: why it is installed, and the fix for a vulnerable one
/// (its dependents' `Requires-Dist` specifiers and the policy's require/deny rules constrain it).
fn annotate(packages: &mut [PackageReport], policy: &checks::packages::config::PackagePolicy) {
    let graph = analysis::DependencyGraph::new(packages);
    let names: Vec<&str> = packages.iter().map(|p| p.normalized.as_str()).collect();
    let required_by = graph.paths_of_all(&names, MAX_REQUIRED_BY);
    // The constraints only of the vulnerable packages (only their `Requires-Dist` entries
    // are parsed).
    let vulnerable: foldhash::HashSet<&str> = (packages.iter())
        .filter(|p| !p.vulnerabilities.is_empty())
        .map(|p| p.normalized.as_str())
        .collect();
    let dependents = (!vulnerable.is_empty())
        .then(|| analysis::DependentConstraints::new(packages, |n| vulnerable.contains(n)));
    let fixes: Vec<_> = packages
        .iter()
        .map(|p| {
            let dependents = dependents
                .as_ref()
                .filter(|_| !p.vulnerabilities.is_empty())?;
            let mut constraints = dependents.of(&p.normalized);
            constraints.extend(policy_constraints(policy, &p.normalized));
            analysis::find_fix(p, &constraints)
        })
        .collect();
    for ((package, paths), fix) in packages.iter_mut().zip(required_by).zip(fixes) {
        package.required_by = paths;
        package.fix = fix;
    }
}

/// `packages.require` rules a fix must satisfy and `packages.deny` rules it must avoid (a deny
/// without a version excludes every version).
fn policy_constraints(
    policy: &checks::packages::config::PackagePolicy,
    name: &str,
) -> Vec<analysis::Constraint> {
    let rules = |list: &[checks::packages::config::PackageRule], field: &str, must_match: bool| {
        list.iter()
            .enumerate()
            .filter(|(_, r)| r.name == name)
            .filter(|(_, r)| !must_match || r.version.is_some())
            .map(|(i, r)| analysis::Constraint {
                source: format!("packages.{field}[{i}]"),
                specifiers: r.version.clone().unwrap_or_default(),
                must_match,
            })
            .collect::<Vec<_>>()
    };
    let mut out = rules(&policy.require, "require", true);
    out.extend(rules(&policy.deny, "deny", false));
    out
}

/// Each package's status is the worst thing said about it: about that version when the
/// finding names one (two installed copies of a name are judged apart), else about the name.
fn set_statuses<'o>(packages: &mut [PackageReport], out: &'o CheckOutput) {
    // Keyed by borrowed names (allocated only where a finding spells a name unnormalised):
    // 10,000 packages each looked up twice.
    let mut worst: FastMap<(Cow<'o, str>, Option<&'o str>), PackageStatus> = FastMap::new();
    let mut raise = |name: &'o str, version: Option<&'o str>, status: PackageStatus| {
        let slot = worst
            .entry((crate::model::normalized_name(name), version))
            .or_insert(PackageStatus::Ok);
        *slot = (*slot).max(status);
    };
    for f in &out.findings {
        if let Some(p) = &f.package {
            let status = match f.severity {
                Severity::Error => PackageStatus::Violation,
                Severity::Warning => PackageStatus::Warning,
                Severity::Note => PackageStatus::Ok,
            };
            raise(p, f.version.as_deref(), status);
        }
    }
    for u in &out.unknowns {
        if let Some(p) = &u.package {
            raise(p, u.version.as_deref(), PackageStatus::Unknown);
        }
    }
    if worst.is_empty() {
        return;
    }
    for p in packages.iter_mut() {
        let name = Cow::Borrowed(p.normalized.as_str());
        let by_version = worst.get(&(name.clone(), Some(p.version.as_str())));
        let by_name = worst.get(&(name, None));
        if let Some(status) = by_version.into_iter().chain(by_name).max() {
            p.status = *status;
        }
    }
}

/// A license local metadata left unknown, answered from the index's document of exactly this
/// release (its expression, `License ::` classifiers and license field, read like local
/// metadata), else from the release's core metadata file when it was read. Still unknown → the
/// reason also names each index source tried and why it did not help.
fn with_index_license(
    local: ResolvedLicense,
    registry: Option<Result<&RegistryInfo, &str>>,
) -> ResolvedLicense {
    let tried = match registry {
        // The index was not asked (registry checks off): the local reason stands.
        None => return local,
        Some(Err(reason)) => format!("the index could not be asked ({reason})"),
        Some(Ok(info)) if !info.on_index => "the index does not know the package".to_string(),
        Some(Ok(info)) => {
            let document = match index_document_license(info) {
                Ok(found) => return found,
                Err(why) => why,
            };
            match &info.core_metadata {
                None => document,
                Some(IndexCoreMetadata::Unavailable { reason }) => {
                    format!("{document}; core metadata file: {reason}")
                }
                Some(IndexCoreMetadata::Read {
                    file,
                    license,
                    license_files,
                }) => {
                    let found = (license_files.clone())
                        .unwrap_or_else(|| checks::licenses::resolve(license, None));
                    if found.expression.is_some() {
                        return ResolvedLicense {
                            source: LicenseSource::Pypi,
                            evidence: (found.evidence).map(|e| format!("{file} on the index: {e}")),
                            ..found
                        };
                    }
                    format!(
                        "{document}; nor does the core metadata file of {file} ({})",
                        found
                            .unknown_reason
                            .as_deref()
                            .unwrap_or("no license fields")
                    )
                }
            }
        }
    };
    let reason = match local.unknown_reason.as_deref() {
        Some(local_reason) => format!("{local_reason}; {tried}"),
        None => tried,
    };
    ResolvedLicense {
        unknown_reason: Some(reason),
        ..local
    }
}

/// The license the index's release document states (the free-text readings of
/// [`checks::licenses::resolve_from_registry`] as the last resort); `Err`: why it names none.
pub(super) fn index_document_license(info: &RegistryInfo) -> Result<ResolvedLicense, String> {
    let meta = LicenseMetadata {
        expression: info.license_expression.clone(),
        license_field: info.license.clone(),
        classifiers: (info.classifiers.iter())
            .filter(|c| c.starts_with("License ::"))
            .cloned()
            .collect(),
        license_files: Vec::new(),
    };
    let from_index = checks::licenses::resolve(&meta, None);
    if from_index.expression.is_some() {
        return Ok(ResolvedLicense {
            source: LicenseSource::Pypi,
            evidence: (from_index.evidence).map(|e| format!("the index's release document: {e}")),
            ..from_index
        });
    }
    if let Some(found) = checks::licenses::resolve_from_registry(info) {
        return Ok(found);
    }
    Err(format!(
        "the index's release document states no specific license either ({})",
        from_index
            .unknown_reason
            .as_deref()
            .unwrap_or("no license fields")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::health::config::HealthPolicy;
    use crate::model::fixtures::package;

    #[test]
    fn a_report_holds_until_midnight_or_the_first_release_to_age_past_max_age() {
        let now = time::macros::datetime!(2026-12-02 10:30 UTC);
        let midnight = time::macros::datetime!(2026-12-03 0:00 UTC);
        let mut old = package("old", "1.0");
        let mut young = package("young", "1.0");
        if let (Some(o), Some(y)) = (old.registry.as_mut(), young.registry.as_mut()) {
            o.upload_time = Some("2024-01-01T00:00:00Z".into());
            y.upload_time = Some("2026-11-02T12:00:00Z".into());
        }
        let packages = [old, young];
        // Without max_age only the date-judged rules (expiring exceptions and ignores) age.
        assert_eq!(
            holds_until(&HealthPolicy::default(), &packages, now),
            midnight
        );
        // Thirty days: `young` turns stale one second past 2026-12-02 12:00, before midnight.
        let policy = HealthPolicy {
            max_age: Some(std::time::Duration::from_secs(30 * 86_400)),
            ..HealthPolicy::default()
        };
        let turns = time::macros::datetime!(2026-12-02 12:00:01 UTC);
        assert_eq!(holds_until(&policy, &packages, now), turns);
    }
}
