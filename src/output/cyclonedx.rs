//! CycloneDX 1.6 JSON SBOM (`--format cyclonedx`): every package as a component with its purl,
//! SPDX license expression and known hashes; the dependency graph from Requires-Dist (or the
//! lockfile); and the advisories as `vulnerabilities` with ratings and the components they affect.

use std::collections::BTreeMap;
use std::io::Write;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::analysis::DependencyGraph;
use crate::model::{PackageReport, Report, SeverityScore, Vulnerability};

pub fn render(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &bom(report))?;
    out.write_all(b"\n")
}

/// `pkg:pypi/<PEP 503 name>@<version>`, the version percent-encoded (a local `+` becomes `%2B`).
pub fn purl(package: &PackageReport) -> String {
    format!(
        "pkg:pypi/{}@{}",
        encode(&package.normalized),
        encode(&package.version)
    )
}

fn encode(text: &str) -> String {
    crate::units::percent_encode(text, b"")
}

pub fn bom(report: &Report) -> Value {
    let graph = DependencyGraph::new(&report.packages);
    let refs: BTreeMap<&str, String> = report
        .packages
        .iter()
        .map(|p| (p.normalized.as_str(), purl(p)))
        .collect();
    // A bom-ref must be unique: the same name and version listed twice (two requirements files,
    // two site-packages) is one component.
    let mut seen = std::collections::BTreeSet::new();
    let unique: Vec<&PackageReport> = report
        .packages
        .iter()
        .filter(|p| seen.insert(purl(p)))
        .collect();
    let components: Vec<Value> = unique.iter().map(|p| component(p)).collect();
    let dependencies: Vec<Value> = unique
        .iter()
        .map(|p| {
            let depends_on: Vec<&String> = graph
                .requires(&p.normalized)
                .into_iter()
                .filter_map(|n| refs.get(n))
                .collect();
            json!({"ref": purl(p), "dependsOn": depends_on})
        })
        .collect();
    json!({
        "$schema": "http://cyclonedx.org/schema/bom-1.6.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": serial_number(report),
        "version": 1,
        "metadata": {
            "timestamp": report.generated_at,
            "tools": {"components": [{
                "type": "application",
                "name": report.tool,
                "version": report.tool_version,
            }]},
        },
        "components": components,
        "dependencies": dependencies,
        "vulnerabilities": vulnerabilities(report),
    })
}

fn component(p: &PackageReport) -> Value {
    let mut c = json!({
        "type": "library",
        "bom-ref": purl(p),
        "name": p.name,
        "version": p.version,
        "purl": purl(p),
    });
    if let Some(expression) = &p.license.expression {
        c["licenses"] = json!([{"expression": expression}]);
    }
    let hashes: Vec<Value> = p.hashes.iter().filter_map(|h| hash(h)).collect();
    if !hashes.is_empty() {
        c["hashes"] = Value::Array(hashes);
    }
    c
}

/// `sha256:<hex>` as a CycloneDX hash, when the algorithm is one CycloneDX names and the digest
/// has that algorithm's length (lockfile text is untrusted).
fn hash(text: &str) -> Option<Value> {
    let (algorithm, digest) = text.split_once(':')?;
    let (alg, hex_len) = match algorithm.to_ascii_lowercase().as_str() {
        "md5" => ("MD5", 32),
        "sha1" => ("SHA-1", 40),
        "sha256" => ("SHA-256", 64),
        "sha384" => ("SHA-384", 96),
        "sha512" => ("SHA-512", 128),
        "sha3_256" | "sha3-256" => ("SHA3-256", 64),
        "sha3_512" | "sha3-512" => ("SHA3-512", 128),
        "blake2b_256" | "blake2b-256" => ("BLAKE2b-256", 64),
        "blake2b_512" | "blake2b-512" => ("BLAKE2b-512", 128),
        _ => return None,
    };
    (digest.len() == hex_len && digest.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| json!({"alg": alg, "content": digest}))
}

/// One entry per advisory id, affecting every package it was reported for.
fn vulnerabilities(report: &Report) -> Vec<Value> {
    let mut by_id: BTreeMap<&str, (&Vulnerability, Vec<&PackageReport>)> = BTreeMap::new();
    for p in &report.packages {
        for v in &p.vulnerabilities {
            let (_, affected) = by_id.entry(v.id.as_str()).or_insert((v, Vec::new()));
            if !affected.iter().any(|a| purl(a) == purl(p)) {
                affected.push(p);
            }
        }
    }
    by_id
        .into_values()
        .map(|(v, packages)| {
            let affects: Vec<Value> = packages
                .iter()
                .map(|p| {
                    json!({
                        "ref": purl(p),
                        "versions": [{"version": p.version, "status": "affected"}],
                    })
                })
                .collect();
            let mut entry = json!({
                "bom-ref": format!("vulnerability:{}", v.id),
                "id": v.id,
                "source": {"name": "OSV", "url": format!("https://osv.dev/vulnerability/{}", encode(&v.id))},
                "ratings": ratings(v),
                "description": v.summary,
                "affects": affects,
            });
            let references: Vec<Value> = v
                .aliases
                .iter()
                .map(|a| json!({"id": a, "source": {"name": "OSV", "url": format!("https://osv.dev/vulnerability/{}", encode(a))}}))
                .collect();
            if !references.is_empty() {
                entry["references"] = Value::Array(references);
            }
            let fixes: Vec<String> = packages
                .iter()
                .filter_map(|p| {
                    let fix = p.fix.as_ref()?;
                    Some(match &fix.version {
                        Some(version) => format!("{}: upgrade to {version} ({})", p.name, fix.reason),
                        None => format!("{}: no fix ({})", p.name, fix.reason),
                    })
                })
                .collect();
            if !fixes.is_empty() {
                entry["recommendation"] = json!(fixes.join("; "));
            }
            if let Some(modified) = &v.modified {
                entry["updated"] = json!(modified);
            }
            entry
        })
        .collect()
}

/// A rating per severity entry: CVSS with score, method and vector when scored; the ecosystem's
/// word otherwise; `unknown` when the advisory states none.
fn ratings(v: &Vulnerability) -> Vec<Value> {
    let ratings: Vec<Value> = v.severity.iter().map(rating).collect();
    if ratings.is_empty() {
        return vec![json!({"severity": "unknown"})];
    }
    ratings
}

fn rating(s: &SeverityScore) -> Value {
    let method = match s.kind.as_str() {
        "CVSS_V2" => Some("CVSSv2"),
        "CVSS_V3" if s.vector.starts_with("CVSS:3.1/") => Some("CVSSv31"),
        "CVSS_V3" => Some("CVSSv3"),
        "CVSS_V4" => Some("CVSSv4"),
        _ => None,
    };
    let mut r = json!({"source": {"name": "OSV"}});
    match (method, s.score) {
        (Some(method), score) => {
            r["method"] = json!(method);
            r["vector"] = json!(s.vector);
            r["severity"] = json!(score.map_or("unknown", severity_of_score));
            if let Some(score) = score {
                r["score"] = json!(score);
            }
        }
        (None, _) => {
            // GitHub's advisories say MODERATE for CVSS's medium.
            let severity = match s.vector.to_ascii_lowercase().as_str() {
                "moderate" | "medium" => "medium",
                word @ ("critical" | "high" | "low" | "info" | "none") => word,
                _ => "unknown",
            }
            .to_string();
            r["severity"] = json!(severity);
            r["method"] = json!("other");
        }
    }
    r
}

/// CVSS qualitative rating scale.
fn severity_of_score(score: f64) -> &'static str {
    match score {
        s if s >= 9.0 => "critical",
        s if s >= 7.0 => "high",
        s if s >= 4.0 => "medium",
        s if s > 0.0 => "low",
        _ => "none",
    }
}

/// A version-4-shaped UUID derived from the report (same report, same serial number).
fn serial_number(report: &Report) -> String {
    let mut hasher = Sha256::new();
    for part in [
        &report.generated_at,
        &report.target.path,
        &report.tool_version,
    ] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    for p in &report.packages {
        hasher.update(purl(p).as_bytes());
    }
    let mut b: [u8; 16] = hasher.finalize()[..16].try_into().unwrap_or([0; 16]);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixtures::{package, vulnerability};
    use crate::model::*;

    #[test]
    fn purls_are_normalised_and_encoded() {
        let p = package("Zope.Interface", "5.0+local.1");
        assert_eq!(purl(&p), "pkg:pypi/zope-interface@5.0%2Blocal.1");
    }

    #[test]
    fn components_graph_hashes_and_vulnerabilities() {
        let mut requests = package("requests", "2.31.0");
        requests.requires = vec!["urllib3<3".into(), "PySocks; extra == 'socks'".into()];
        let mut urllib3 = package("urllib3", "1.26.5");
        urllib3.hashes = vec![
            format!("sha256:{}", "ab".repeat(32)),
            "sha256:00".into(),
            "weird:zz".into(),
        ];
        let mut v = vulnerability("GHSA-a", &["1.26.18"]);
        v.aliases = vec!["CVE-2023-1".into()];
        v.severity = vec![
            SeverityScore {
                kind: "CVSS_V3".into(),
                vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N".into(),
                score: Some(7.5),
            },
            SeverityScore {
                kind: "ecosystem".into(),
                vector: "MODERATE".into(),
                score: None,
            },
        ];
        urllib3.vulnerabilities = vec![v];
        let pysocks = package("pysocks", "1.7");
        let report = Report::new(
            TargetInfo::default(),
            None,
            // urllib3 twice (two site-packages): one component, one affects entry.
            vec![requests, urllib3.clone(), pysocks, urllib3],
            vec![],
            vec![],
        );
        let bom = bom(&report);
        let components = bom["components"].as_array().unwrap();
        assert_eq!(components.len(), 3);
        assert_eq!(bom["dependencies"].as_array().unwrap().len(), 3);
        assert_eq!(
            bom["vulnerabilities"][0]["affects"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        assert_eq!(components[1]["purl"], "pkg:pypi/urllib3@1.26.5");
        assert_eq!(components[1]["licenses"][0]["expression"], "MIT");
        // Only the well-formed hash survives.
        assert_eq!(components[1]["hashes"].as_array().unwrap().len(), 1);
        assert_eq!(bom["dependencies"][0]["ref"], "pkg:pypi/requests@2.31.0");
        // The extras-only requirement is not an edge.
        assert_eq!(
            bom["dependencies"][0]["dependsOn"],
            json!(["pkg:pypi/urllib3@1.26.5"])
        );
        let vuln = &bom["vulnerabilities"][0];
        assert_eq!(vuln["id"], "GHSA-a");
        assert_eq!(vuln["ratings"][0]["method"], "CVSSv31");
        assert_eq!(vuln["ratings"][0]["severity"], "high");
        assert_eq!(vuln["ratings"][1]["severity"], "medium");
        assert_eq!(vuln["affects"][0]["ref"], "pkg:pypi/urllib3@1.26.5");
        assert!(
            bom["serialNumber"]
                .as_str()
                .unwrap()
                .starts_with("urn:uuid:")
        );
    }
}
