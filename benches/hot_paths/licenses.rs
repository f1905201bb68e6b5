//! License resolution and evaluation: per-package costs of `checks::licenses`.

use std::hint::black_box;
use std::path::{Path, PathBuf};

use depdash::checks::licenses;
use depdash::model::{Distribution, LicenseMetadata, LicenseSource, ResolvedLicense};
use divan::Bencher;

#[path = "../../tests/it/support/license_fixtures.rs"]
mod license_fixtures;

/// A fixture's license metadata and dist-info directory.
fn fixture(name: &str) -> (LicenseMetadata, PathBuf) {
    (
        license_fixtures::license_metadata(name),
        license_fixtures::dist_info(name),
    )
}

fn resolve_bench(bencher: Bencher, name: &str, expected: Option<&str>) {
    let (meta, dir) = fixture(name);
    let check = licenses::resolve(&meta, Some(&dir));
    assert_eq!(check.expression.as_deref(), expected, "{name}");
    bencher.bench(|| licenses::resolve(black_box(&meta), Some(black_box(dir.as_path()))));
}

/// six: `License :: OSI Approved :: MIT License` (+ `License: MIT`); no file read.
#[divan::bench]
fn resolve_classifier_only(bencher: Bencher) {
    resolve_bench(bencher, "six-1.16.0", Some("MIT"));
}

/// cryptography 50: PEP 639 `License-Expression: Apache-2.0 OR BSD-3-Clause`.
#[divan::bench]
fn resolve_license_expression(bencher: Bencher) {
    resolve_bench(
        bencher,
        "cryptography-50.0.2",
        Some("Apache-2.0 OR BSD-3-Clause"),
    );
}

/// requests 2.31: `License: Apache 2.0` (a precise name) wins; the vague classifier agrees.
#[divan::bench]
fn resolve_classifier_refined_by_field(bencher: Bencher) {
    resolve_bench(bencher, "requests-2.31.0", Some("Apache-2.0"));
}

/// jinja2: only `BSD License`; the BSD-3-Clause LICENSE.txt (1.5 KB) is read and identified.
#[divan::bench]
fn resolve_license_file_bsd(bencher: Bencher) {
    resolve_bench(bencher, "jinja2-3.1.6", Some("BSD-3-Clause"));
}

/// chardet 5.2: `LGPLv2+` classifier refined by a 26 KB LGPL-2.1 text.
#[divan::bench]
fn resolve_license_file_lgpl(bencher: Bencher) {
    resolve_bench(bencher, "chardet-5.2.0", Some("LGPL-2.1-or-later"));
}

/// numpy 1.26: a 46 KB license text pasted into the License field (its BSD-3-Clause text and
/// bundled components' texts; unknown with the reason, the whole text matched).
#[divan::bench]
fn resolve_license_text_in_field(bencher: Bencher) {
    resolve_bench(bencher, "numpy-1.26.4", None);
}

/// The worst a license file can be: 250 KB (the most files.rs reads is 256 KB) of the real
/// SPDX texts one after another, dozens of licenses in one file. The matcher's work is bounded
/// (rounds, alignment windows); this shows the bound's cost per KB.
#[divan::bench]
fn resolve_license_file_many_texts(bencher: Bencher) {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/license-texts");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&fixtures)
        .expect("license-texts fixtures")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    names.sort();
    let mut text = String::new();
    for name in names {
        let body = std::fs::read_to_string(name).expect("fixture text");
        if text.len() + body.len() > 250 * 1024 {
            break;
        }
        text.push_str(&body);
        text.push_str("\n\n");
    }
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("LICENSE"), &text).expect("write LICENSE");
    let meta = LicenseMetadata::default();
    bencher.bench(|| licenses::resolve(black_box(&meta), Some(black_box(dir.path()))));
}

/// A compound expression with `-or-later` and `WITH` against allow/deny lists.
#[divan::bench]
fn evaluate_compound_expression(bencher: Bencher) {
    let policy = depdash::policy::parse(
        "[licenses]\nallow = [\"MIT\", \"BSD-3-Clause\", \"Apache-2.0\", \"GPL-3.0-only\", \"ISC\"]\ndeny = [\"AGPL-3.0-only\", \"GPL-2.0-only\"]\n",
        Path::new("bench.toml"),
        false,
    )
    .expect("bench policy");
    let license = ResolvedLicense {
        expression: Some(
            "(MIT OR GPL-2.0-or-later) AND (Apache-2.0 WITH LLVM-exception OR AGPL-3.0-only) AND BSD-3-Clause".into(),
        ),
        source: LicenseSource::LicenseExpression,
        evidence: None,
        notes: Vec::new(),
        unknown_reason: None,
    };
    let dist = Distribution::named("pkg", "1.0");
    let mut usage = licenses::ExceptionUsage::new();
    assert!(
        licenses::evaluate(&dist, &license, &policy.licenses, &mut usage)
            .findings
            .is_empty()
    );
    bencher.bench_local(|| {
        licenses::evaluate(
            black_box(&dist),
            black_box(&license),
            black_box(&policy.licenses),
            &mut usage,
        )
    });
}
