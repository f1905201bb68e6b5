//! SARIF 2.1.0 (`--format sarif`) for GitHub code scanning: one rule per finding code (plus
//! `unknown` for data that could not be read), one result per finding and per unknown, located at
//! the package's line in the requirements file or lockfile that was the input, else at the
//! distribution's METADATA, with fingerprints that survive message wording and version changes.

use std::io::Write;
use std::path::Path;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::analysis::upgrade_advice;
use crate::model::{
    Code, Finding, Origin, PackageReport, Report, Severity, Unknown, normalize_name,
};

const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";
/// Rule id of results about data that could not be read or fetched (not a finding code).
const UNKNOWN_RULE: &str = "unknown";

pub fn render(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    let base = std::env::current_dir().ok();
    serde_json::to_writer_pretty(&mut *out, &sarif(report, base.as_deref()))?;
    out.write_all(b"\n")
}

/// The SARIF log; paths under `base` become relative URIs (what code scanning resolves against
/// the repository root).
pub fn sarif(report: &Report, base: Option<&Path>) -> Value {
    let mut rules: Vec<Value> = Code::ALL.iter().map(|code| rule(*code)).collect();
    rules.push(json!({
        "id": UNKNOWN_RULE,
        "name": "Unknown",
        "shortDescription": {"text": "data could not be read, fetched or understood"},
        "fullDescription": {"text": "depdash could not establish a fact (metadata unreadable, registry unreachable, answer of an unexpected shape). Unknown is never a pass: the policy's `unknown` setting decides whether it fails the run."},
        "help": {"text": "Read the reason in the result message; fix the input or the network and run again."},
        "defaultConfiguration": {"level": "warning"},
    }));
    let mut results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| finding_result(report, f, base))
        .collect();
    results.extend(
        report
            .unknowns
            .iter()
            .map(|u| unknown_result(report, u, base)),
    );
    json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "depdash",
                "version": report.tool_version,
                "semanticVersion": report.tool_version,
                "rules": rules,
            }},
            "results": results,
            "invocations": [{
                "executionSuccessful": true,
                "exitCode": report.summary.exit_code,
            }],
        }],
    })
}

fn rule(code: Code) -> Value {
    let name: String = code
        .as_str()
        .split('-')
        .map(|w| {
            let mut chars = w.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect();
    let mut help = format!("{}: {}.", code.as_str(), code.meaning());
    if code == Code::Vulnerability {
        help.push_str(" Each result names the fix: the smallest version that clears every advisory of the package and that its dependents' Requires-Dist and the policy accept (`depdash fix` prints the install lines).");
    }
    json!({
        "id": code.as_str(),
        "name": name,
        "shortDescription": {"text": code.meaning()},
        "help": {"text": help},
        "properties": {"tags": ["dependencies", code.check().as_str()]},
    })
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    }
}

fn package<'a>(report: &'a Report, name: Option<&str>) -> Option<&'a PackageReport> {
    let wanted = normalize_name(name?);
    report.packages.iter().find(|p| p.normalized == wanted)
}

fn finding_result(report: &Report, finding: &Finding, base: Option<&Path>) -> Value {
    let pkg = package(report, finding.package.as_deref());
    let mut message = finding.message.clone();
    if finding.code == Code::Vulnerability
        && let Some((advice, _)) = pkg.and_then(upgrade_advice)
    {
        message.push_str(&format!(" Fix: {advice}."));
    }
    let identity = [
        finding.code.as_str(),
        &finding
            .package
            .as_deref()
            .map(normalize_name)
            .unwrap_or_default(),
        finding.advisory.as_deref().unwrap_or(""),
        &finding
            .rule
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
    ];
    let mut result = json!({
        "ruleId": finding.code.as_str(),
        "ruleIndex": Code::ALL.iter().position(|c| *c == finding.code).unwrap_or(0),
        "level": level(finding.severity),
        "message": {"text": message},
        "locations": locations(report, pkg, base),
        "partialFingerprints": {"depdashFinding/v1": fingerprint(&identity)},
    });
    if let Some(fix) = pkg.and_then(|p| p.fix.as_ref())
        && finding.code == Code::Vulnerability
    {
        result["properties"] = json!({"fix": fix});
    }
    result
}

fn unknown_result(report: &Report, unknown: &Unknown, base: Option<&Path>) -> Value {
    let pkg = package(report, unknown.package.as_deref());
    let subject = unknown.package.as_deref().unwrap_or("the run");
    let identity = [
        UNKNOWN_RULE,
        unknown.check.as_str(),
        &unknown
            .package
            .as_deref()
            .map(normalize_name)
            .unwrap_or_default(),
    ];
    json!({
        "ruleId": UNKNOWN_RULE,
        "ruleIndex": Code::ALL.len(),
        "level": if unknown.fails_run { "error" } else { "warning" },
        "message": {"text": format!("{} unknown for {subject}: {}", unknown.check.as_str(), unknown.reason)},
        "locations": locations(report, pkg, base),
        "partialFingerprints": {"depdashFinding/v1": fingerprint(&identity)},
    })
}

/// Where a result points: the package's line in its requirements file or lockfile, its METADATA
/// (PKG-INFO for eggs), else the policy file (findings about the policy), else the target.
fn locations(report: &Report, pkg: Option<&PackageReport>, base: Option<&Path>) -> Value {
    let (path, line) = match pkg.and_then(|p| p.location.as_deref().map(|l| (p, l))) {
        Some((p, location)) => match p.origin {
            Origin::Requirements | Origin::Lockfile => (location.to_string(), p.line),
            Origin::DistInfo => (format!("{location}/METADATA"), None),
            Origin::EggInfo
                if Path::new(location)
                    .extension()
                    .is_some_and(|e| e == "egg-info") =>
            {
                (format!("{location}/PKG-INFO"), None)
            }
            Origin::EggInfo => (location.to_string(), None),
        },
        None => match &report.policy {
            Some(policy) => (policy.clone(), None),
            None => (report.target.path.clone(), None),
        },
    };
    if path.is_empty() {
        return json!([]);
    }
    let mut physical = json!({"artifactLocation": {"uri": uri(&path, base)}});
    if let Some(line) = line.filter(|l| *l > 0) {
        physical["region"] = json!({"startLine": line});
    }
    json!([{"physicalLocation": physical}])
}

/// A URI reference for `path`: relative to `base` when under it, else an absolute `file:` URI.
/// Characters outside RFC 3986's unreserved set and `/` are percent-encoded.
fn uri(path: &str, base: Option<&Path>) -> String {
    let p = Path::new(path);
    let relative = base.and_then(|b| p.strip_prefix(b).ok());
    let (prefix, text) = match relative {
        Some(rel) => ("", rel.to_string_lossy().into_owned()),
        None if p.is_absolute() => ("file://", path.to_string()),
        None => ("", path.to_string()),
    };
    let text = text.replace('\\', "/");
    format!("{prefix}{}", crate::units::percent_encode(&text, b"/"))
}

fn fingerprint(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    hex::encode(&hasher.finalize()[..16])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixtures::{package, vulnerable};
    use crate::model::*;

    fn report() -> Report {
        let mut urllib3 = vulnerable("urllib3", "1.26.5", "GHSA-a", Some("1.26.18"), "smallest");
        urllib3.origin = Origin::Requirements;
        urllib3.location = Some("/repo/requirements.txt".into());
        urllib3.line = Some(7);
        let mut six = package("six", "1.16.0");
        six.location = Some("/venv/site-packages/six-1.16.0.dist-info".into());
        let mut vuln = Finding::new(
            Code::Vulnerability,
            Severity::Error,
            "GHSA-a affects urllib3",
        )
        .for_package("urllib3", "1.26.5");
        vuln.advisory = Some("GHSA-a".into());
        let denied = Finding::new(Code::PackageDenied, Severity::Warning, "six is denied")
            .for_package("six", "1.16.0");
        let unknown = Unknown {
            package: Some("six".into()),
            version: None,
            check: Check::Health,
            reason: "timeout".into(),
            fails_run: true,
        };
        Report::new(
            TargetInfo::default(),
            Some("/repo/depdash.toml".into()),
            vec![urllib3, six],
            vec![vuln, denied],
            vec![unknown],
        )
    }

    #[test]
    fn results_are_located_levelled_and_carry_the_fix() {
        let log = sarif(&report(), Some(Path::new("/repo")));
        let results = log["runs"][0]["results"].as_array().unwrap();
        assert_eq!(results.len(), 3);
        let vuln = &results[0];
        assert_eq!(vuln["level"], "error");
        assert_eq!(vuln["ruleId"], "vulnerability");
        let loc = &vuln["locations"][0]["physicalLocation"];
        assert_eq!(loc["artifactLocation"]["uri"], "requirements.txt");
        assert_eq!(loc["region"]["startLine"], 7);
        assert!(
            vuln["message"]["text"]
                .as_str()
                .unwrap()
                .contains("1.26.18")
        );
        assert_eq!(vuln["properties"]["fix"]["version"], "1.26.18");
        let denied = &results[1];
        assert_eq!(denied["level"], "warning");
        assert_eq!(
            denied["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "file:///venv/site-packages/six-1.16.0.dist-info/METADATA"
        );
        assert_eq!(results[2]["ruleId"], UNKNOWN_RULE);
        assert_eq!(results[2]["level"], "error");
        // ruleIndex points at the rule with that id.
        let rules = log["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .unwrap();
        for r in results {
            assert_eq!(
                rules[r["ruleIndex"].as_u64().unwrap() as usize]["id"],
                r["ruleId"]
            );
        }
        assert_eq!(rules.len(), Code::ALL.len() + 1);
    }

    #[test]
    fn fingerprints_ignore_wording_and_version_but_not_identity() {
        let a = sarif(&report(), None);
        let mut changed = report();
        changed.findings[0].message = "reworded".into();
        changed.findings[0].version = Some("1.26.6".into());
        let b = sarif(&changed, None);
        let fp =
            |log: &Value, i: usize| log["runs"][0]["results"][i]["partialFingerprints"].clone();
        assert_eq!(fp(&a, 0), fp(&b, 0));
        changed.findings[0].advisory = Some("GHSA-other".into());
        assert_ne!(fp(&a, 0), fp(&sarif(&changed, None), 0));
        assert_ne!(fp(&a, 0), fp(&a, 1));
    }

    #[test]
    fn uris_are_percent_encoded() {
        assert_eq!(uri("/a b/r#1.txt", None), "file:///a%20b/r%231.txt");
        assert_eq!(uri("req.txt", None), "req.txt");
    }
}
