//! License resolution over a corpus of real wheels (tests/fixtures/license-corpus: METADATA,
//! trimmed RECORD and license files of each distribution, as `pip download` fetched them),
//! against expectations curated by reading the texts (see EXPECTED.md there for the rules).
//! Agreement must be at least 98 %; every disagreement is printed.

use std::path::{Path, PathBuf};

use depdash::checks::licenses;
use depdash::inventory::core_metadata;
use depdash::model::LicenseMetadata;

use crate::support::license_fixtures;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/license-corpus");

/// The `.dist-info` directory of corpus entry `dist`.
fn dist_info(dist: &str) -> PathBuf {
    license_fixtures::dist_info_in(&Path::new(DIR).join(dist).join("site-packages"))
}

fn metadata(dist_info: &Path) -> LicenseMetadata {
    let bytes = std::fs::read(dist_info.join("METADATA")).unwrap();
    let m = core_metadata::parse(&bytes).expect("METADATA parses");
    LicenseMetadata {
        expression: m.license_expression,
        license_field: m.license,
        classifiers: m.license_classifiers,
        license_files: m.license_files,
    }
}

/// SPDX-equivalent spelling for comparison: operands of a flat AND or flat OR sorted.
fn canonical(expression: &str) -> String {
    let e = expression.split_whitespace().collect::<Vec<_>>().join(" ");
    if e.contains('(') {
        return e;
    }
    for op in [" AND ", " OR "] {
        let other = if op == " AND " { " OR " } else { " AND " };
        if e.contains(op) && !e.contains(other) {
            let mut parts: Vec<&str> = e.split(op).collect();
            parts.sort_unstable();
            parts.dedup();
            return parts.join(op);
        }
    }
    e
}

#[test]
fn real_wheels_resolve_to_the_curated_truth() {
    let expected = std::fs::read_to_string(Path::new(DIR).join("EXPECTED.tsv")).unwrap();
    let mut total = 0usize;
    let mut agree = 0usize;
    let mut disagreements = Vec::new();
    for line in expected
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let mut fields = line.split('\t');
        let (Some(dist), Some(truth)) = (fields.next(), fields.next()) else {
            panic!("EXPECTED.tsv: `{line}` is not dist<TAB>expression<TAB>basis");
        };
        let info = dist_info(dist);
        let r = licenses::resolve(&metadata(&info), Some(&info));
        total += 1;
        let got = r.expression.as_deref().map(canonical);
        let ok = match truth {
            "unknown" => got.is_none(),
            t => got.as_deref() == Some(canonical(t).as_str()),
        };
        if ok {
            agree += 1;
        } else {
            disagreements.push(format!(
                "{dist}: expected {truth}, got {} ({})",
                r.expression.as_deref().unwrap_or("unknown"),
                r.unknown_reason
                    .as_deref()
                    .or(r.evidence.as_deref())
                    .unwrap_or("")
                    .chars()
                    .take(300)
                    .collect::<String>()
            ));
        }
    }
    let rate = agree as f64 / total as f64;
    println!(
        "{agree}/{total} distributions agree with the curated truth ({:.1} %)",
        rate * 100.0
    );
    for d in &disagreements {
        println!("DISAGREE {d}");
    }
    assert!(total >= 300, "corpus has {total} distributions");
    assert!(
        rate >= 0.98,
        "{:.1} % < 98 %:\n{}",
        rate * 100.0,
        disagreements.join("\n")
    );
}
