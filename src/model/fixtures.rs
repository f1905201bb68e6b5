//! Builders of model values for unit tests across the crate (faces and analysis alike).

use super::{
    Fix, LicenseSource, Origin, PackageReport, PackageStatus, RegistryInfo, ResolvedLicense,
    Vulnerability, normalize_name,
};

/// An MIT-licensed package from a `.dist-info`, on the index at its latest version, no findings.
pub fn package(name: &str, version: &str) -> PackageReport {
    PackageReport {
        name: name.to_string(),
        normalized: normalize_name(name),
        version: version.to_string(),
        license: ResolvedLicense {
            expression: Some("MIT".into()),
            source: LicenseSource::Classifier,
            evidence: Some("License :: OSI Approved :: MIT License".into()),
            notes: Vec::new(),
            unknown_reason: None,
        },
        requires: Vec::new(),
        origin: Origin::DistInfo,
        location: None,
        vulnerabilities: Vec::new(),
        registry: Some(RegistryInfo {
            on_index: true,
            latest_version: Some(version.to_string()),
            ..RegistryInfo::default()
        }),
        stale: Vec::new(),
        status: PackageStatus::Ok,
        line: None,
        hashes: Vec::new(),
        required_by: Vec::new(),
        fix: None,
    }
}

pub fn vulnerability(id: &str, fixed: &[&str]) -> Vulnerability {
    Vulnerability {
        id: id.to_string(),
        aliases: Vec::new(),
        summary: format!("summary of {id}"),
        fixed_in: fixed.iter().map(|f| f.to_string()).collect(),
        severity: Vec::new(),
        modified: None,
    }
}

/// `name` `version` affected by `advisory`, whose fix is `fix_version` (`None`: no fix, `reason`).
pub fn vulnerable(
    name: &str,
    version: &str,
    advisory: &str,
    fix_version: Option<&str>,
    reason: &str,
) -> PackageReport {
    let mut p = package(name, version);
    p.vulnerabilities = vec![vulnerability(advisory, fix_version.as_slice())];
    p.fix = Some(Fix {
        version: fix_version.map(str::to_string),
        clears: fix_version
            .map(|_| advisory.to_string())
            .into_iter()
            .collect(),
        reason: reason.to_string(),
    });
    p
}
