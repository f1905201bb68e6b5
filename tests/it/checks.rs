//! Policy checks on real package metadata and license texts (tests/fixtures/licenses, copied
//! from PyPI wheels; see its README), and every rule of the package, vulnerability and health
//! checks.

use std::path::Path;

use depdash::checks::{health, licenses, packages, vulnerabilities};
use depdash::model::{
    Check, Code, Distribution, Finding, LicenseMetadata, LicenseSource, ProjectStatus,
    RegistryInfo, ResolvedLicense, RuleRef, Severity, SeverityScore, Vulnerability,
};

/// A rule reference from its policy path (`licenses.deny[0]`).
fn rule(path: &str) -> RuleRef {
    path.parse().unwrap()
}
use depdash::policy::{self, Policy};
use time::macros::{date, datetime};

use crate::support::license_fixtures::{dist_info, license_metadata};

fn policy(text: &str) -> Policy {
    policy::parse(text, Path::new("depdash.toml"), false)
        .unwrap_or_else(|e| panic!("test policy invalid: {e}"))
}

fn dist(name: &str, version: &str) -> Distribution {
    Distribution::named(name, version)
}

fn resolve_fixture(name: &str) -> ResolvedLicense {
    licenses::resolve(&license_metadata(name), Some(&dist_info(name)))
}

fn codes(findings: &[Finding]) -> Vec<&str> {
    findings.iter().map(|f| f.code.as_str()).collect()
}

// ---------------------------------------------------------------------------------------------
// License resolution on real packages.

/// Expected answers, each verified by reading the package's LICENSE text and METADATA.
#[test]
fn real_packages_resolve_to_the_license_their_texts_state() {
    use LicenseSource::*;
    let expected: &[(&str, &str, LicenseSource)] = &[
        // Classifier only, exact.
        // Rule 1: the package's own precise License field wins (the classifier agrees).
        ("six-1.16.0", "MIT", LicenseField),
        ("pytz-2023.3", "MIT", LicenseField),
        ("urllib3-1.26.18", "MIT", LicenseField),
        ("typing_extensions-4.8.0", "PSF-2.0", Classifier),
        ("Pillow-10.0.0", "HPND", LicenseField),
        ("certifi-2026.10.18", "MPL-2.0", LicenseField),
        // Vague classifier refined by the License field ("Apache 2.0" is a name, not an id).
        ("requests-2.31.0", "Apache-2.0", LicenseField),
        ("click-8.1.7", "BSD-3-Clause", LicenseField),
        (
            "cryptography-41.0.7",
            "Apache-2.0 OR BSD-3-Clause",
            LicenseField,
        ),
        // Vague classifier refined by a license file: PEP 639 `licenses/` and old layout.
        ("jinja2-3.1.6", "BSD-3-Clause", LicenseFile),
        ("idna-3.4", "BSD-3-Clause", LicenseFile),
        // A BSD-3 variant whose grant names "the theme" and whose disclaimer says THIS THEME.
        ("alabaster-1.0.0", "BSD-3-Clause", LicenseFile),
        // "either of the licenses found in LICENSE.APACHE or LICENSE.BSD".
        ("packaging-23.2", "Apache-2.0 OR BSD-2-Clause", LicenseFile),
        // LGPLv2+ classifier + LGPL 2.1 text.
        ("chardet-5.2.0", "LGPL-2.1-or-later", LicenseFile),
        // Unversioned LGPL classifier + LGPL 2.1 text (later versions not stated).
        ("paramiko-3.4.0", "LGPL-2.1-only", LicenseFile),
        // LICENSE is a notice: "LGPL ... either version 3 ... or (at your option) any later".
        ("psycopg2_binary-2.9.9", "LGPL-3.0-or-later", LicenseFile),
        // Apache notice and BSD-3 text in one LICENSE: contributions before and after 2017
        // are under different licenses, no choice is stated (rule 2: AND).
        (
            "python_dateutil-2.8.2",
            "Apache-2.0 AND BSD-3-Clause",
            LicenseFile,
        ),
        // Public domain + PSF + BSD + GPL classifiers, a comma list in the field, COPYING.txt
        // putting different parts under different licenses: AND (rule 2).
        (
            "docutils-0.20.1",
            "LicenseRef-Public-Domain AND PSF-2.0 AND BSD-2-Clause AND GPL-3.0-or-later",
            LicenseFile,
        ),
        // 0.23: COPYING.rst dedicates the bulk to the public domain, with exceptions under
        // BSD 2-Clause and GPL 3 or later; the BSD-0-Clause text is shipped as well.
        (
            "docutils-0.23",
            "LicenseRef-Public-Domain AND BSD-2-Clause AND GPL-3.0-or-later AND 0BSD",
            LicenseFile,
        ),
        // PEP 639 License-Expression, including a deprecated id.
        ("attrs-23.1.0", "MIT", LicenseExpression),
        ("paramiko-5.1.0", "LGPL-2.1-only", LicenseExpression),
        ("chardet-7.7.0", "0BSD", LicenseExpression),
        (
            "numpy-2.4.6",
            "BSD-3-Clause AND 0BSD AND MIT AND Zlib AND CC0-1.0",
            LicenseExpression,
        ),
    ];
    for (name, expression, source) in expected {
        let r = resolve_fixture(name);
        assert_eq!(
            (r.expression.as_deref(), &r.source),
            (Some(*expression), source),
            "{name}: {r:#?}"
        );
        assert!(r.unknown_reason.is_none(), "{name}");
        assert!(r.evidence.is_some(), "{name}");
    }
}

/// Older releases without License-Expression resolve to what their newer releases declare.
#[test]
fn older_releases_resolve_to_what_newer_releases_declare() {
    for (old, new) in [
        ("packaging-23.2", "packaging-26.3"),
        ("idna-3.4", "idna-3.20"),
        ("click-8.1.7", "click-8.5.1"),
        ("MarkupSafe-2.1.3", "markupsafe-3.0.4"),
        ("typing_extensions-4.8.0", "typing_extensions-4.16.0"),
        ("cryptography-41.0.7", "cryptography-50.0.2"),
        ("urllib3-1.26.18", "urllib3-2.8.0"),
    ] {
        let declared = license_metadata(new).expression.expect(new);
        let resolved = resolve_fixture(old);
        assert_ne!(resolved.source, LicenseSource::LicenseExpression, "{old}");
        assert_eq!(
            resolved.expression.as_deref(),
            Some(declared.as_str()),
            "{old} vs {new}"
        );
    }
}

#[test]
fn vague_only_metadata_is_unknown_with_the_reason() {
    // chardet 3.0.4: classifier "GNU Library or Lesser General Public License (LGPL)", License
    // "LGPL", no license file in the wheel.
    let r = resolve_fixture("chardet-3.0.4");
    assert_eq!(r.expression, None);
    assert_eq!(r.source, LicenseSource::Unknown);
    let reason = r.unknown_reason.unwrap();
    assert!(
        reason.contains("Lesser General Public License (LGPL)"),
        "{reason}"
    );
    assert!(reason.contains("version unspecified"), "{reason}");
    assert!(reason.contains("no license file identifies it"), "{reason}");
}

#[test]
fn long_license_text_in_the_license_field_is_identified_as_text() {
    let meta = license_metadata("numpy-1.26.4");
    assert!(meta.license_field.as_ref().unwrap().len() > 40_000);
    let r = licenses::resolve(&meta, None);
    // numpy 1.26's field holds its BSD-3-Clause text and the texts of bundled components;
    // the matcher does not yet separate every repeated copy, so the text is unknown with the
    // reason — never a guess.
    assert_eq!(r.expression, None);
    assert!(
        r.unknown_reason
            .as_deref()
            .is_some_and(|u| u.contains("BSD-3-Clause")),
        "{r:?}"
    );

    let mit_text = "Copyright (c) 2020 Someone\n\nPermission is hereby granted, free of charge, to any person obtaining a copy\nof this software and associated documentation files (the \"Software\"), to deal\nin the Software without restriction, including without limitation the rights\nto use, copy, modify, merge, publish, distribute, sublicense, and/or sell\ncopies of the Software, and to permit persons to whom the Software is\nfurnished to do so, subject to the following conditions:\n\nThe above copyright notice and this permission notice shall be included in all\ncopies or substantial portions of the Software.\n";
    let meta = LicenseMetadata {
        license_field: Some(mit_text.to_string()),
        ..Default::default()
    };
    let r = licenses::resolve(&meta, None);
    // The MIT grant without its disclaimer is not the MIT text (SPDX matching): unknown.
    assert_eq!(r.expression, None);
    assert!(
        r.unknown_reason
            .as_deref()
            .is_some_and(|u| u.contains("match no known license")),
        "{r:?}"
    );
    // Text that is no known license is not taken as an id.
    let meta = LicenseMetadata {
        license_field: Some("All use of this software is governed by the agreement\nbetween you and ACME Corp\nsigned on the first of May.".into()),
        ..Default::default()
    };
    let r = licenses::resolve(&meta, None);
    assert_eq!(r.expression, None);
    assert!(r.unknown_reason.unwrap().contains("match no known license"));
}

#[test]
fn license_files_alone_are_identified() {
    let nothing = LicenseMetadata::default();
    // cryptography's LICENSE points at LICENSE.APACHE and LICENSE.BSD as alternatives.
    let r = licenses::resolve(&nothing, Some(&dist_info("cryptography-41.0.7")));
    assert_eq!(r.expression.as_deref(), Some("Apache-2.0 OR BSD-3-Clause"));
    assert_eq!(r.source, LicenseSource::LicenseFile);
    // dateutil's LICENSE: an Apache notice first, then the BSD-3 text of older contributions,
    // with no dual-licensing language: both apply (AND), noted.
    let r = licenses::resolve(&nothing, Some(&dist_info("python_dateutil-2.8.2")));
    assert_eq!(r.expression.as_deref(), Some("Apache-2.0 AND BSD-3-Clause"));
    assert!(
        r.notes.iter().any(|n| n.contains("read as AND")),
        "{:?}",
        r.notes
    );
    // A bare LGPL 2.1 text does not say "or later".
    let r = licenses::resolve(&nothing, Some(&dist_info("paramiko-3.4.0")));
    assert_eq!(r.expression.as_deref(), Some("LGPL-2.1-only"));
    assert!(
        r.notes.iter().any(|n| n.contains("later versions")),
        "{:?}",
        r.notes
    );
    // Pillow: "licensed under the open source HPND License", then bundled licenses whose
    // texts carry additions: never HPND alone; unknown with the reason.
    let r = licenses::resolve(&nothing, Some(&dist_info("Pillow-10.0.0")));
    assert_ne!(r.expression.as_deref(), Some("HPND"));
    if r.expression.is_none() {
        assert!(r.unknown_reason.unwrap().contains("LICENSE"));
    }
    // No metadata and no files.
    let empty = tempfile::tempdir().unwrap();
    let r = licenses::resolve(&nothing, Some(empty.path()));
    assert!(r.unknown_reason.unwrap().contains("no License-Expression"));
}

#[test]
fn license_files_are_not_read_when_the_metadata_answers() {
    // These list License-File entries whose files were left out of the fixtures: reading them
    // would add a "listed but not present" note.
    for name in ["numpy-2.4.6", "pillow-13.0.0", "paramiko-5.1.0"] {
        let r = resolve_fixture(name);
        assert!(r.expression.is_some(), "{name}");
        assert!(
            !r.notes.iter().any(|n| n.contains("not present")),
            "{name} read its license files: {:?}",
            r.notes
        );
    }
    // A conflicting LICENSE next to an exact classifier is not even looked at...
    let dir = tempfile::tempdir().unwrap();
    let gpl = std::fs::read_to_string(dist_info("paramiko-3.4.0").join("LICENSE")).unwrap();
    std::fs::write(dir.path().join("LICENSE"), &gpl).unwrap();
    let mit = LicenseMetadata {
        classifiers: vec!["License :: OSI Approved :: MIT License".into()],
        ..Default::default()
    };
    let r = licenses::resolve(&mit, Some(dir.path()));
    assert_eq!(r.expression.as_deref(), Some("MIT"));
    assert!(r.notes.is_empty(), "{:?}", r.notes);
    // ...but a vague classifier reads it, and reports the disagreement.
    let bsd = LicenseMetadata {
        classifiers: vec!["License :: OSI Approved :: BSD License".into()],
        ..Default::default()
    };
    let r = licenses::resolve(&bsd, Some(dir.path()));
    assert_eq!(r.expression.as_deref(), Some("LGPL-2.1-only"));
    assert!(
        r.notes
            .iter()
            .any(|n| n.contains("BSD License") && n.contains("disagrees")),
        "{:?}",
        r.notes
    );
}

#[test]
fn license_file_entries_missing_or_escaping_are_noted() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("secret"), "MIT").unwrap();
    let meta = LicenseMetadata {
        license_files: vec!["../secret".into(), "LICENSE".into()],
        ..Default::default()
    };
    let r = licenses::resolve(&meta, Some(&dir.path().join("pkg.dist-info")));
    assert_eq!(r.expression, None);
    assert!(
        r.notes
            .iter()
            .any(|n| n.contains("../secret") && n.contains("ignored")),
        "{:?}",
        r.notes
    );
    assert!(
        r.notes.iter().any(|n| n.contains("not present")),
        "{:?}",
        r.notes
    );
}

#[test]
fn registry_license_is_used_only_when_specific() {
    let info = RegistryInfo {
        on_index: true,
        license: Some("GPLv3+".into()),
        ..Default::default()
    };
    let r = licenses::resolve_from_registry(&info).unwrap();
    assert_eq!(r.expression.as_deref(), Some("GPL-3.0-or-later"));
    assert_eq!(r.source, LicenseSource::Pypi);
    let info = RegistryInfo {
        on_index: true,
        license: Some("UNKNOWN".into()),
        ..Default::default()
    };
    assert!(licenses::resolve_from_registry(&info).is_none());
}

// ---------------------------------------------------------------------------------------------
// License evaluation.

fn license(expression: &str) -> ResolvedLicense {
    ResolvedLicense {
        expression: Some(expression.to_string()),
        source: LicenseSource::LicenseExpression,
        evidence: None,
        notes: Vec::new(),
        unknown_reason: None,
    }
}

/// Evaluate `expression` for package `name` under `policy_text`; returns the output and usage.
fn judge(
    name: &str,
    expression: &str,
    policy_text: &str,
) -> (
    depdash::checks::CheckOutput,
    licenses::ExceptionUsage,
    Policy,
) {
    let policy = policy(policy_text);
    let mut usage = licenses::ExceptionUsage::new();
    let out = licenses::evaluate(
        &dist(name, "1.0"),
        &license(expression),
        &policy.licenses,
        &mut usage,
    );
    (out, usage, policy)
}

/// The drill-down shows a finding's rule with what the policy says there: the rule a check emits
/// (an indexed entry) must be one the policy can describe, not just a section name.
#[test]
fn a_finding_rule_is_rendered_with_the_policy_entry_it_points_at() {
    let (out, _, policy) = judge(
        "pkg",
        "MIT AND GPL-2.0-or-later",
        "[licenses]\ndeny = [\"AGPL-3.0-only\", \"GPL-2.0-or-later\"]\n",
    );
    let rule = out.findings[0]
        .rule
        .expect("a license finding names its rule");
    assert_eq!(
        policy.describe_rule(rule),
        r#"licenses.deny[1] = "GPL-2.0-or-later""#
    );
    let (out, _, policy) = judge("pkg", "BSD-3-Clause", "[licenses]\nallow = [\"MIT\"]\n");
    assert_eq!(
        policy.describe_rule(out.findings[0].rule.unwrap()),
        r#"licenses.allow = ["MIT"]"#
    );
}

#[test]
fn deny_wins_over_allow() {
    let (out, _, _) = judge(
        "pkg",
        "GPL-3.0-only",
        "[licenses]\nallow = [\"MIT\", \"GPL-3.0-only\"]\ndeny = [\"GPL-3.0-only\"]\n",
    );
    assert_eq!(codes(&out.findings), ["license-denied"]);
    let f = &out.findings[0];
    assert_eq!(f.rule, Some(rule("licenses.deny[0]")));
    assert_eq!(f.severity, Severity::Error);
    assert_eq!(
        (f.package.as_deref(), f.version.as_deref()),
        (Some("pkg"), Some("1.0"))
    );
}

#[test]
fn or_needs_one_acceptable_side_and_and_needs_both() {
    let allow_mit = "[licenses]\nallow = [\"MIT\"]\n";
    assert!(
        judge("a", "MIT OR GPL-3.0-only", allow_mit)
            .0
            .findings
            .is_empty()
    );
    assert_eq!(
        codes(&judge("a", "MIT AND GPL-3.0-only", allow_mit).0.findings),
        ["license-not-allowed"]
    );
    let deny_gpl = "[licenses]\ndeny = [\"GPL-3.0-only\"]\n";
    assert!(
        judge("a", "MIT OR GPL-3.0-only", deny_gpl)
            .0
            .findings
            .is_empty()
    );
    let (out, _, _) = judge("a", "MIT AND GPL-3.0-only", deny_gpl);
    assert_eq!(codes(&out.findings), ["license-denied"]);
    assert!(out.findings[0].message.contains("GPL-3.0-only is denied"));
    // Nested: (MIT OR GPL) AND Apache, with MIT allowed and Apache not: Apache is what fails.
    let (out, _, _) = judge(
        "a",
        "(MIT OR GPL-3.0-only) AND Apache-2.0",
        "[licenses]\nallow = [\"MIT\"]\ndeny = [\"GPL-3.0-only\"]\n",
    );
    assert_eq!(codes(&out.findings), ["license-not-allowed"]);
    assert_eq!(out.findings[0].rule, Some(rule("licenses.allow")));
    assert!(
        out.findings[0]
            .message
            .contains("Apache-2.0 is not in licenses.allow")
    );
}

#[test]
fn or_later_and_with_semantics() {
    let allow = |ids: &str| format!("[licenses]\nallow = [{ids}]\n");
    // GPL-2.0-or-later may be taken under GPL-3.0 or GPL-2.0.
    assert!(
        judge("a", "GPL-2.0-or-later", &allow("\"GPL-3.0-only\""))
            .0
            .findings
            .is_empty()
    );
    assert!(
        judge("a", "GPL-2.0-or-later", &allow("\"GPL-2.0-only\""))
            .0
            .findings
            .is_empty()
    );
    assert!(
        judge("a", "GPL-2.0-or-later", &allow("\"GPL-2.0-or-later\""))
            .0
            .findings
            .is_empty()
    );
    // But GPL-3.0-or-later cannot be taken under GPL-2.0.
    assert_eq!(
        codes(
            &judge("a", "GPL-3.0-or-later", &allow("\"GPL-2.0-only\""))
                .0
                .findings
        ),
        ["license-not-allowed"]
    );
    // Denying GPL-3.0 leaves GPL-2.0 for GPL-2.0-or-later, nothing for GPL-3.0-or-later.
    let deny = "[licenses]\ndeny = [\"GPL-3.0-only\"]\n";
    assert!(judge("a", "GPL-2.0-or-later", deny).0.findings.is_empty());
    assert_eq!(
        codes(&judge("a", "GPL-3.0-or-later", deny).0.findings),
        ["license-denied"]
    );
    // An allow entry without WITH covers the license with an exception; with WITH, only that.
    assert!(
        judge(
            "a",
            "GPL-2.0-only WITH Classpath-exception-2.0",
            &allow("\"GPL-2.0-only\"")
        )
        .0
        .findings
        .is_empty()
    );
    assert_eq!(
        codes(
            &judge(
                "a",
                "GPL-2.0-only",
                &allow("\"GPL-2.0-only WITH Classpath-exception-2.0\"")
            )
            .0
            .findings
        ),
        ["license-not-allowed"]
    );
    // No allow list: anything not denied passes.
    assert!(
        judge(
            "a",
            "LicenseRef-Proprietary",
            "[licenses]\ndeny = [\"MIT\"]\n"
        )
        .0
        .findings
        .is_empty()
    );
    assert_eq!(
        codes(
            &judge("a", "LicenseRef-Proprietary", &allow("\"MIT\""))
                .0
                .findings
        ),
        ["license-not-allowed"]
    );
}

const PARAMIKO_POLICY: &str = r#"
[licenses]
allow = ["MIT", "BSD-3-Clause"]
deny = ["LGPL-2.1-only"]
[[licenses.exceptions]]
name = "Paramiko"
allow = ["LGPL-2.1-or-later", "MPL-2.0"]
reason = "used unmodified"
[[licenses.exceptions]]
name = "not-installed"
allow = ["GPL-3.0-only"]
"#;

#[test]
fn exceptions_apply_per_package_even_over_deny_and_unused_ones_are_reported() {
    let policy = policy(PARAMIKO_POLICY);
    let mut usage = licenses::ExceptionUsage::new();
    // paramiko's LGPL-2.1 is denied globally but excepted for paramiko.
    let out = licenses::evaluate(
        &dist("paramiko", "3.4.0"),
        &license("LGPL-2.1-only"),
        &policy.licenses,
        &mut usage,
    );
    assert!(out.findings.is_empty(), "{:?}", out.findings);
    assert!(usage.is_used(0, 0));
    // The same license on another package is still denied.
    let out = licenses::evaluate(
        &dist("other", "1.0"),
        &license("LGPL-2.1-only"),
        &policy.licenses,
        &mut usage,
    );
    assert_eq!(codes(&out.findings), ["license-denied"]);
    let unused = licenses::unused_exceptions(&policy.licenses, &usage);
    assert_eq!(
        codes(&unused),
        ["license-exception-unused", "license-exception-unused"]
    );
    // Partly used: MPL-2.0 was never needed.
    assert_eq!(unused[0].rule, Some(rule("licenses.exceptions[0]")));
    assert!(unused[0].message.contains("MPL-2.0") && !unused[0].message.contains("LGPL"));
    assert_eq!(unused[1].rule, Some(rule("licenses.exceptions[1]")));
    assert_eq!(unused[1].package.as_deref(), Some("not-installed"));
    assert!(unused.iter().all(|f| f.severity == Severity::Warning));
}

#[test]
fn an_exception_is_unused_when_the_global_rules_already_pass() {
    let policy = policy(PARAMIKO_POLICY);
    let mut usage = licenses::ExceptionUsage::new();
    let out = licenses::evaluate(
        &dist("paramiko", "9"),
        &license("MIT"),
        &policy.licenses,
        &mut usage,
    );
    assert!(out.findings.is_empty());
    assert!(!usage.is_used(0, 0));
    let unused = licenses::unused_exceptions(&policy.licenses, &usage);
    assert_eq!(unused.len(), 2);
    assert!(unused[0].message.contains("not needed"));
}

#[test]
fn an_expired_exception_is_not_applied_and_is_reported_with_what_it_still_matches() {
    let text = PARAMIKO_POLICY.replace(
        "reason = \"used unmodified\"",
        "reason = \"used unmodified\"\nuntil = 2026-11-30",
    );
    let policy = policy(&text);
    assert_eq!(
        policy.licenses.exceptions[0].until,
        Some(time::macros::date!(2026 - 11 - 30))
    );
    let judge_on = |today| {
        let mut usage = licenses::ExceptionUsage::as_of(today);
        let out = licenses::evaluate(
            &dist("paramiko", "3.4.0"),
            &license("LGPL-2.1-only"),
            &policy.licenses,
            &mut usage,
        );
        (out, licenses::unused_exceptions(&policy.licenses, &usage))
    };
    // On its last day (inclusive) the exception still holds.
    let (out, warnings) = judge_on(time::macros::date!(2026 - 11 - 30));
    assert!(out.findings.is_empty(), "{:?}", out.findings);
    assert!(!codes(&warnings).contains(&"license-exception-expired"));
    // The day after, the global rules judge again and the entry is reported expired.
    let (out, warnings) = judge_on(time::macros::date!(2026 - 12 - 01));
    assert_eq!(codes(&out.findings), ["license-denied"]);
    assert_eq!(
        codes(&warnings),
        ["license-exception-expired", "license-exception-unused"]
    );
    let expired = &warnings[0];
    assert_eq!(expired.rule, Some(rule("licenses.exceptions[0]")));
    assert_eq!(expired.severity, Severity::Warning);
    assert!(
        expired.message.contains("expired on 2026-11-30")
            && expired.message.contains("paramiko 3.4.0"),
        "{}",
        expired.message
    );
}

#[test]
fn a_bad_exception_expiry_is_a_policy_error_with_line_and_column() {
    let text = "[licenses]\nallow = [\"MIT\"]\n[[licenses.exceptions]]\nname = \"x\"\nallow = [\"MPL-2.0\"]\nuntil = \"next year\"\n";
    let err = depdash::policy::parse(text, std::path::Path::new("depdash.toml"), false)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("depdash.toml:6:9") && err.contains("is not a date"),
        "{err}"
    );
}

#[test]
fn unknown_licenses_are_unknowns_per_policy_and_never_pass() {
    let unknown =
        ResolvedLicense::unknown("classifier `BSD License`: which BSD variant is unspecified");
    for (text, fails) in [
        ("[licenses]\nallow = [\"MIT\"]\n", true), // unknown defaults to deny with [licenses]
        ("[licenses]\nunknown = \"deny\"\n", true),
        ("[licenses]\nunknown = \"warn\"\n", false),
        ("[licenses]\nunknown = \"allow\"\n", false),
        ("[packages]\ndeny = [\"x\"]\n", false), // no [licenses]: reported, not judged
    ] {
        let policy = policy(text);
        let mut usage = licenses::ExceptionUsage::new();
        let out = licenses::evaluate(&dist("pkg", "1"), &unknown, &policy.licenses, &mut usage);
        assert!(out.findings.is_empty(), "{text}");
        assert_eq!(out.unknowns.len(), 1, "{text}");
        let u = &out.unknowns[0];
        assert_eq!(u.check, Check::Licenses);
        assert_eq!(u.fails_run, fails, "{text}");
        assert!(u.reason.contains("BSD variant"));
        assert_eq!(u.package.as_deref(), Some("pkg"));
    }
    // Disabled policy: a license that would be denied is only reported.
    let (out, _, _) = judge("pkg", "GPL-3.0-only", "[packages]\ndeny = [\"x\"]\n");
    assert!(out.findings.is_empty() && out.unknowns.is_empty());
}

#[test]
fn explain_names_the_broken_rule_and_gives_a_working_exception_stub() {
    let base = "[licenses]\nallow = [\"MIT\", \"BSD-3-Clause\"]\ndeny = [\"AGPL-3.0-only\"]\n";
    let policy_v1 = policy(base);
    let lgpl = license("LGPL-2.1-or-later OR AGPL-3.0-only");
    let e = licenses::explain(&lgpl, &policy_v1.licenses, "Paramiko");
    assert_eq!(e.verdict, licenses::LicenseVerdict::NotAllowed);
    assert_eq!(e.broken_rules, ["licenses.allow"]);
    assert_eq!(e.would_satisfy, ["LGPL-2.1-or-later"]);
    assert_eq!(e.requirements.len(), 2);
    assert_eq!(
        e.requirements[0].status,
        licenses::RequirementStatus::NotAllowed
    );
    assert_eq!(
        e.requirements[0].choices,
        ["LGPL-2.1-only", "LGPL-3.0-only"]
    );
    assert_eq!(
        e.requirements[1].status,
        licenses::RequirementStatus::Denied
    );
    assert_eq!(e.requirements[1].rules, ["licenses.deny[0]"]);
    let stub = e.exception_stub.clone().unwrap();
    assert!(stub.contains("name = \"paramiko\""), "{stub}");

    // Pasting the stub into the policy makes the package pass, and the exception counts as used.
    let policy_v2 = policy(&format!("{base}{stub}"));
    let mut usage = licenses::ExceptionUsage::new();
    let out = licenses::evaluate(
        &dist("paramiko", "3.4.0"),
        &lgpl,
        &policy_v2.licenses,
        &mut usage,
    );
    assert!(out.findings.is_empty(), "{:?}", out.findings);
    assert!(licenses::unused_exceptions(&policy_v2.licenses, &usage).is_empty());
    let e = licenses::explain(&lgpl, &policy_v2.licenses, "paramiko");
    assert_eq!(e.verdict, licenses::LicenseVerdict::AllowedByException);
    assert!(
        e.summary.contains("licenses.exceptions[0]"),
        "{}",
        e.summary
    );

    // Denied: the deny rule is named first.
    let e = licenses::explain(&license("MIT AND AGPL-3.0-only"), &policy_v1.licenses, "x");
    assert_eq!(e.verdict, licenses::LicenseVerdict::Denied);
    assert_eq!(e.broken_rules, ["licenses.deny[0]"]);
    assert!(e.exception_stub.is_some());
    // Allowed, unknown, not judged.
    let e = licenses::explain(&license("MIT"), &policy_v1.licenses, "x");
    assert_eq!(e.verdict, licenses::LicenseVerdict::Allowed);
    assert!(e.broken_rules.is_empty() && e.exception_stub.is_none());
    let e = licenses::explain(
        &ResolvedLicense::unknown("nothing"),
        &policy_v1.licenses,
        "x",
    );
    assert_eq!(e.verdict, licenses::LicenseVerdict::Unknown);
    assert_eq!(e.broken_rules, ["licenses.unknown"]);
    let e = licenses::explain(&license("MIT"), &Policy::default().licenses, "x");
    assert_eq!(e.verdict, licenses::LicenseVerdict::NotJudged);
}

#[test]
fn resolution_and_evaluation_together_on_real_packages() {
    let policy = policy(
        "[licenses]\nallow = [\"MIT\", \"BSD-3-Clause\", \"Apache-2.0\", \"PSF-2.0\"]\nunknown = \"deny\"\n",
    );
    let mut usage = licenses::ExceptionUsage::new();
    let mut verdicts = Vec::new();
    for name in [
        "requests-2.31.0",
        "cryptography-41.0.7",
        "paramiko-3.4.0",
        "chardet-3.0.4",
        "six-1.16.0",
    ] {
        let r = resolve_fixture(name);
        let out = licenses::evaluate(&dist(name, "1"), &r, &policy.licenses, &mut usage);
        let found: Vec<String> = out.findings.iter().map(|f| f.code.to_string()).collect();
        let fails: Vec<bool> = out.unknowns.iter().map(|u| u.fails_run).collect();
        verdicts.push((name, found, fails));
    }
    assert_eq!(
        verdicts,
        [
            ("requests-2.31.0", vec![], vec![]),
            ("cryptography-41.0.7", vec![], vec![]),
            (
                "paramiko-3.4.0",
                vec!["license-not-allowed".to_string()],
                vec![]
            ),
            ("chardet-3.0.4", vec![], vec![true]),
            ("six-1.16.0", vec![], vec![]),
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Packages.

#[test]
fn package_deny_allow_and_require_rules() {
    let policy = policy(
        r#"
[packages]
deny = [{ name = "pycrypto", version = "<3", reason = "unmaintained; use cryptography" }, "PyYAML", { name = "urllib3", version = "<2" }]
allow = ["requests", "pycrypto", "pyyaml", { name = "urllib3", version = ">=2" }]
[[packages.require]]
name = "urllib3"
version = ">=2"
[[packages.require]]
name = "certifi"
version = ">=2024"
"#,
    );
    let dists = [
        dist("pycrypto", "2.6.1"),
        dist("PyYAML", "6.0.1"),
        dist("urllib3", "2.0.7"),
        dist("requests", "2.31.0"),
        dist("six", "1.16.0"),
    ];
    let out = packages::evaluate(&dists, &policy.packages);
    let got: Vec<(&str, Option<&str>, Option<RuleRef>)> = out
        .findings
        .iter()
        .map(|f| (f.code.as_str(), f.package.as_deref(), f.rule))
        .collect();
    assert_eq!(
        got,
        [
            (
                "package-denied",
                Some("pycrypto"),
                Some(rule("packages.deny[0]"))
            ),
            (
                "package-denied",
                Some("PyYAML"),
                Some(rule("packages.deny[1]"))
            ),
            (
                "package-not-approved",
                Some("six"),
                Some(rule("packages.allow"))
            ),
            (
                "package-required-missing",
                Some("certifi"),
                Some(rule("packages.require[1]"))
            ),
        ]
    );
    assert!(
        out.findings[0]
            .message
            .contains("unmaintained; use cryptography")
    );
    assert!(out.findings.iter().all(|f| f.severity == Severity::Error));
    assert!(out.unknowns.is_empty());

    // Old urllib3: outside the deny range no more, but below the required and approved range.
    let out = packages::evaluate(&[dist("urllib3", "1.26.18")], &policy.packages);
    assert_eq!(
        codes(&out.findings),
        [
            "package-denied",
            "package-not-approved",
            "package-version-mismatch",
            "package-required-missing"
        ]
    );
    assert_eq!(out.findings[1].rule, Some(rule("packages.allow[3]")));
    assert_eq!(out.findings[2].rule, Some(rule("packages.require[0]")));
}

#[test]
fn unparseable_versions_against_versioned_rules_are_unknown() {
    let policy =
        policy("[packages]\ndeny = [{ name = \"legacy\", version = \"<2\" }, \"other\"]\n");
    let out = packages::evaluate(&[dist("legacy", "1.0-custom build")], &policy.packages);
    assert!(out.findings.is_empty());
    assert_eq!(out.unknowns.len(), 1);
    assert!(out.unknowns[0].fails_run);
    assert!(
        out.unknowns[0].reason.contains("packages.deny[0]"),
        "{}",
        out.unknowns[0].reason
    );
    // An unversioned rule needs no comparison.
    let out = packages::evaluate(&[dist("other", "not a version")], &policy.packages);
    assert_eq!(codes(&out.findings), ["package-denied"]);
}

// ---------------------------------------------------------------------------------------------
// Vulnerabilities.

fn advisory(id: &str, aliases: &[&str], score: Option<f64>) -> Vulnerability {
    Vulnerability {
        id: id.into(),
        aliases: aliases.iter().map(|a| a.to_string()).collect(),
        summary: "bad thing".into(),
        fixed_in: vec!["2.0.1".into()],
        severity: score
            .map(|s| SeverityScore {
                kind: "CVSS_V3".into(),
                vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H".into(),
                score: Some(s),
            })
            .into_iter()
            .collect(),
        modified: None,
    }
}

#[test]
fn ignores_match_by_alias_until_they_expire() {
    let policy = policy(
        r#"
[vulnerabilities]
ignore = [
  { id = "cve-2024-0001", reason = "not reachable", until = 2024-01-31 },
  { id = "GHSA-dead-beef-0000", reason = "old", until = 2023-12-31 },
  { id = "PYSEC-2020-99", reason = "nothing has it" },
]
"#,
    );
    let vulns = [
        advisory("GHSA-aaaa-bbbb-cccc", &["CVE-2024-0001"], Some(9.8)),
        advisory("GHSA-dead-beef-0000", &[], Some(8.0)),
    ];
    let pkg = dist("urllib3", "1.26.0");

    // On the last day the ignore applies (inclusive).
    let mut usage = vulnerabilities::IgnoreUsage::new();
    let out = vulnerabilities::evaluate(
        &pkg,
        &vulns,
        &policy.vulnerabilities,
        date!(2024 - 01 - 31),
        &mut usage,
    );
    assert_eq!(
        codes(&out.findings),
        ["vulnerability-ignored", "vulnerability"]
    );
    assert_eq!(out.findings[0].severity, Severity::Note);
    assert_eq!(
        out.findings[0].rule,
        Some(rule("vulnerabilities.ignore[0]"))
    );
    assert_eq!(out.findings[1].severity, Severity::Error);
    assert_eq!(
        out.findings[1].advisory.as_deref(),
        Some("GHSA-dead-beef-0000")
    );
    let rest = vulnerabilities::unused_ignores(&policy.vulnerabilities, &usage);
    assert_eq!(codes(&rest), ["ignore-expired", "ignore-unused"]);
    assert!(
        rest[0].message.contains("GHSA-dead-beef-0000 in urllib3"),
        "{}",
        rest[0].message
    );
    assert_eq!(rest[1].rule, Some(rule("vulnerabilities.ignore[2]")));

    // The day after, the first ignore has expired too: reported, not applied.
    let mut usage = vulnerabilities::IgnoreUsage::new();
    let out = vulnerabilities::evaluate(
        &pkg,
        &vulns,
        &policy.vulnerabilities,
        date!(2024 - 02 - 01),
        &mut usage,
    );
    assert_eq!(codes(&out.findings), ["vulnerability", "vulnerability"]);
    assert!(out.findings.iter().all(|f| f.severity == Severity::Error));
    let rest = vulnerabilities::unused_ignores(&policy.vulnerabilities, &usage);
    assert_eq!(
        codes(&rest),
        ["ignore-expired", "ignore-expired", "ignore-unused"]
    );
    assert!(rest[0].message.contains("expired on 2024-01-31"));
}

#[test]
fn severity_threshold_turns_low_advisories_into_warnings() {
    let policy = policy("[vulnerabilities]\nseverity_threshold = \"high\"\n");
    let mut moderate_word = advisory("GHSA-word", &[], None);
    moderate_word.severity = vec![SeverityScore {
        kind: "ecosystem".into(),
        vector: "MODERATE".into(),
        score: None,
    }];
    let vulns = [
        advisory("GHSA-low", &[], Some(5.3)),
        advisory("GHSA-high", &[], Some(7.0)),
        advisory("GHSA-unscored", &[], None),
        moderate_word,
    ];
    let mut usage = vulnerabilities::IgnoreUsage::new();
    let out = vulnerabilities::evaluate(
        &dist("x", "1"),
        &vulns,
        &policy.vulnerabilities,
        date!(2025 - 01 - 01),
        &mut usage,
    );
    let got: Vec<(Option<&str>, Severity, Option<RuleRef>)> = out
        .findings
        .iter()
        .map(|f| (f.advisory.as_deref(), f.severity, f.rule))
        .collect();
    assert_eq!(
        got,
        [
            (
                Some("GHSA-low"),
                Severity::Warning,
                Some(rule("vulnerabilities.severity_threshold"))
            ),
            (
                Some("GHSA-high"),
                Severity::Error,
                Some(rule("vulnerabilities"))
            ),
            (
                Some("GHSA-unscored"),
                Severity::Error,
                Some(rule("vulnerabilities"))
            ),
            (
                Some("GHSA-word"),
                Severity::Warning,
                Some(rule("vulnerabilities.severity_threshold"))
            ),
        ]
    );
    assert!(out.findings[2].message.contains("no severity score"));
    assert!(out.findings[0].message.contains("fixed in 2.0.1"));
    // Without a threshold everything is an error.
    let mut usage = vulnerabilities::IgnoreUsage::new();
    let out = vulnerabilities::evaluate(
        &dist("x", "1"),
        &vulns,
        &Policy::default().vulnerabilities,
        date!(2025 - 01 - 01),
        &mut usage,
    );
    assert!(out.findings.iter().all(|f| f.severity == Severity::Error));
}

#[test]
fn unknown_vulnerability_status_fails_per_policy() {
    let pkg = dist("x", "1");
    let deny = vulnerabilities::unknown(&pkg, "OSV timed out", &Policy::default().vulnerabilities);
    assert!(deny.fails_run);
    assert_eq!(deny.check, Check::Vulnerabilities);
    assert_eq!(deny.reason, "OSV timed out");
    let warn = policy("[vulnerabilities]\nunknown = \"warn\"\n");
    assert!(!vulnerabilities::unknown(&pkg, "r", &warn.vulnerabilities).fails_run);
}

// ---------------------------------------------------------------------------------------------
// Health.

fn release(latest: &str, uploaded: &str, yanked: bool) -> RegistryInfo {
    RegistryInfo {
        on_index: true,
        yanked,
        yanked_reason: yanked.then(|| "broken wheel".to_string()),
        latest_version: Some(latest.into()),
        upload_time: Some(uploaded.into()),
        license: None,
        license_expression: None,
        ..RegistryInfo::default()
    }
}

const NOW: time::OffsetDateTime = datetime!(2026-06-01 12:00 UTC);

#[test]
fn yanked_follows_its_disposition() {
    let info = release("1.0", "2026-01-01T00:00:00Z", true);
    for (text, expected) in [
        ("[health]\nyanked = \"deny\"\n", Some(Severity::Error)),
        ("[health]\nyanked = \"warn\"\n", Some(Severity::Warning)),
        ("[health]\nyanked = \"allow\"\n", None),
    ] {
        let policy = policy(text);
        let out = health::evaluate(&dist("x", "1.0"), Some(&info), &policy.health, NOW);
        assert_eq!(out.findings.first().map(|f| f.severity), expected, "{text}");
        if let Some(f) = out.findings.first() {
            assert_eq!(f.code, Code::Yanked);
            assert_eq!(f.rule, Some(rule("health.yanked")));
            assert!(f.message.contains("broken wheel"));
        }
    }
}

#[test]
fn project_status_follows_its_disposition_and_quarantine_is_an_error_by_default() {
    let with_status = |word: &str, on_index: bool| RegistryInfo {
        on_index,
        project_status: Some(ProjectStatus {
            status: word.to_string().into(),
            reason: Some("see the notice".into()),
        }),
        ..release("1.0", "2026-05-01T00:00:00Z", false)
    };
    let judge = |text: &str, info: &RegistryInfo| {
        health::evaluate(&dist("x", "1.0"), Some(info), &policy(text).health, NOW)
    };
    // Defaults: quarantine is an error, even when the index no longer serves the release.
    for on_index in [true, false] {
        let out = judge("", &with_status("quarantined", on_index));
        let f = out
            .findings
            .iter()
            .find(|f| f.code == Code::ProjectQuarantined)
            .unwrap();
        assert_eq!(f.severity, Severity::Error);
        assert_eq!(f.rule, Some(rule("health.quarantined")));
        assert!(f.message.contains("see the notice"), "{}", f.message);
    }
    // Archived and deprecated are off by default, on when the policy says so.
    assert!(
        judge("", &with_status("archived", true))
            .findings
            .is_empty()
    );
    let out = judge(
        "[health]\narchived = \"warn\"\n",
        &with_status("archived", true),
    );
    assert_eq!(codes(&out.findings), ["project-archived"]);
    assert_eq!(out.findings[0].severity, Severity::Warning);
    let out = judge(
        "[health]\ndeprecated = \"deny\"\n",
        &with_status("deprecated", true),
    );
    assert_eq!(codes(&out.findings), ["project-deprecated"]);
    assert!(judge("", &with_status("active", true)).findings.is_empty());
    // A status PEP 792 does not define is an unknown with the word, never "active".
    let out = judge("", &with_status("frozen", true));
    assert!(out.findings.is_empty());
    assert!(
        out.unknowns[0].reason.contains("`frozen`"),
        "{:?}",
        out.unknowns
    );
}

#[test]
fn outdated_uses_pep440_order() {
    let policy = policy("[health]\noutdated = \"warn\"\n");
    let check = |installed: &str, latest: &str| {
        codes(
            &health::evaluate(
                &dist("x", installed),
                Some(&release(latest, "2026-05-01T00:00:00Z", false)),
                &policy.health,
                NOW,
            )
            .findings,
        )
        .into_iter()
        .map(str::to_string)
        .collect::<Vec<_>>()
    };
    assert_eq!(check("1.9", "1.10"), ["outdated"]); // not string order
    assert!(check("1.10", "1.10").is_empty());
    assert!(check("1.10.0", "1.10").is_empty()); // same version, PEP 440
    assert!(check("2.1.0rc1", "2.0.7").is_empty()); // newer pre-release installed
    assert_eq!(check("2.0.0rc1", "2.0.0"), ["outdated"]);
    // Default policy: outdated is allowed.
    let out = health::evaluate(
        &dist("x", "1.0"),
        Some(&release("2.0", "2026-05-01T00:00:00Z", false)),
        &Policy::default().health,
        NOW,
    );
    assert!(out.findings.is_empty() && out.unknowns.is_empty());
    // An unreadable version is an unknown, not a pass.
    let out = health::evaluate(
        &dist("x", "weird version"),
        Some(&release("2.0", "2026-05-01T00:00:00Z", false)),
        &policy.health,
        NOW,
    );
    assert!(out.findings.is_empty());
    assert_eq!(out.unknowns.len(), 1);
    assert!(out.unknowns[0].reason.contains("outdated"));
}

#[test]
fn stale_releases_are_warnings_and_missing_times_unknown() {
    let policy = policy("[health]\nmax_age = \"365d\"\nunknown = \"deny\"\n");
    let old = release("1.0", "2024-05-01T10:00:00", false);
    let out = health::evaluate(&dist("x", "1.0"), Some(&old), &policy.health, NOW);
    assert_eq!(codes(&out.findings), ["stale-release"]);
    assert_eq!(out.findings[0].severity, Severity::Warning);
    assert_eq!(out.findings[0].rule, Some(rule("health.max_age")));
    assert!(out.findings[0].message.contains("2024-05-01"));
    let fresh = release("1.0", "2026-03-01T10:00:00.5Z", false);
    assert!(
        health::evaluate(&dist("x", "1.0"), Some(&fresh), &policy.health, NOW)
            .findings
            .is_empty()
    );
    let mut no_time = fresh.clone();
    no_time.upload_time = None;
    let out = health::evaluate(&dist("x", "1.0"), Some(&no_time), &policy.health, NOW);
    assert!(out.findings.is_empty());
    assert_eq!(out.unknowns.len(), 1);
    assert!(out.unknowns[0].fails_run);
    assert!(
        out.unknowns[0]
            .reason
            .contains("the index gave no upload time")
    );
    // An index that cannot tell upload times (PEP 503 HTML) says so: unknown, never a pass.
    no_time.no_upload_time = Some("HTML pages have no upload times".into());
    let out = health::evaluate(&dist("x", "1.0"), Some(&no_time), &policy.health, NOW);
    assert!(out.findings.is_empty() && out.unknowns[0].fails_run);
    assert!(
        out.unknowns[0]
            .reason
            .ends_with("stale: HTML pages have no upload times")
    );
}

#[test]
fn not_on_index_and_missing_data() {
    let policy = policy("[health]\nyanked = \"deny\"\n");
    let info = RegistryInfo {
        on_index: false,
        yanked: true,
        ..Default::default()
    };
    let out = health::evaluate(
        &dist("internal-tool", "0.1"),
        Some(&info),
        &policy.health,
        NOW,
    );
    assert_eq!(codes(&out.findings), ["not-on-index"]);
    assert_eq!(out.findings[0].severity, Severity::Warning);
    // No data at all: unknown, failing the run only when health.unknown is deny.
    let out = health::evaluate(&dist("x", "1"), None, &Policy::default().health, NOW);
    assert_eq!(out.unknowns.len(), 1);
    assert!(!out.unknowns[0].fails_run);
    assert_eq!(out.unknowns[0].check, Check::Health);
    let deny = policy_with_unknown_deny();
    let out = health::evaluate(&dist("x", "1"), None, &deny.health, NOW);
    assert!(out.unknowns[0].fails_run);
}

fn policy_with_unknown_deny() -> Policy {
    policy("[health]\nunknown = \"deny\"\n")
}

// ---------------------------------------------------------------------------------------------

#[test]
fn every_code_is_unique_and_documented_in_the_readme_under_its_check() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = readme
        .split("## What it checks, and the codes it reports")
        .nth(1)
        .expect("README has the codes section");
    // `| check | codes... |` rows of the section's first table: (check, code) pairs.
    let mut documented: Vec<(String, String)> = Vec::new();
    for row in section
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
    {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let (check, codes) = (cells[1], cells[2]);
        // Backticked words that look like codes (a flag such as `--fail-on-regression` is not).
        let is_code =
            |w: &&str| !w.starts_with('-') && w.chars().all(|c| c.is_ascii_lowercase() || c == '-');
        for code in codes.split('`').skip(1).step_by(2).filter(is_code) {
            documented.push((check.to_string(), code.to_string()));
        }
    }
    let mut names: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), Code::ALL.len(), "two codes share a name");
    for code in Code::ALL {
        let row = (code.check().as_str().to_string(), code.as_str().to_string());
        assert!(
            documented.contains(&row),
            "{row:?} is not in README's codes table"
        );
    }
    for (check, code) in &documented {
        assert!(
            Code::ALL
                .iter()
                .any(|c| c.as_str() == code && c.check().as_str() == check),
            "README documents `{code}` under {check}, but no such code is reported"
        );
    }
}

/// Policy evaluation of WITH, AND/OR mixes and GNU grants, against allow and deny lists:
/// (expression, policy, expected finding codes).
#[test]
fn with_and_or_and_gnu_grants_against_allow_and_deny_lists() {
    let allow = |ids: &str| format!("[licenses]\nallow = [{ids}]\n");
    let deny = |ids: &str| format!("[licenses]\ndeny = [{ids}]\n");
    let cases: Vec<(&str, String, &[&str])> = vec![
        // WITH: an exception only widens the license; the license itself decides.
        (
            "GPL-2.0-or-later WITH Bootloader-exception",
            allow("\"GPL-2.0-or-later\""),
            &[],
        ),
        (
            "GPL-2.0-or-later WITH Bootloader-exception",
            allow("\"MIT\""),
            &["license-not-allowed"],
        ),
        (
            "GPL-2.0-only WITH Universal-FOSS-exception-1.0",
            deny("\"GPL-2.0-only\""),
            &["license-denied"],
        ),
        (
            "GPL-3.0-or-later WITH GCC-exception-3.1",
            allow("\"GPL-3.0-or-later WITH GCC-exception-3.1\""),
            &[],
        ),
        // An allow entry WITH one exception does not cover another exception.
        (
            "GPL-2.0-only WITH Classpath-exception-2.0",
            allow("\"GPL-2.0-only WITH GCC-exception-2.0\""),
            &["license-not-allowed"],
        ),
        // AND needs every part, OR one.
        (
            "MIT AND (Apache-2.0 OR GPL-3.0-only)",
            allow("\"MIT\", \"Apache-2.0\""),
            &[],
        ),
        (
            "MIT AND (LGPL-2.1-only OR GPL-3.0-only)",
            allow("\"MIT\", \"Apache-2.0\""),
            &["license-not-allowed"],
        ),
        (
            "(MIT OR GPL-3.0-only) AND BSD-3-Clause",
            deny("\"GPL-3.0-only\""),
            &[],
        ),
        (
            "MIT AND GPL-3.0-only",
            deny("\"GPL-3.0-only\""),
            &["license-denied"],
        ),
        // -only / -or-later against the lists.
        ("LGPL-2.1-only", allow("\"LGPL-2.1-or-later\""), &[]),
        (
            "LGPL-2.1-or-later",
            deny("\"LGPL-2.1-only\", \"LGPL-3.0-only\""),
            &["license-denied"],
        ),
        ("LGPL-2.1-or-later", deny("\"LGPL-2.1-only\""), &[]),
        (
            "GPL-2.0-only",
            allow("\"GPL-3.0-or-later\""),
            &["license-not-allowed"],
        ),
    ];
    for (expression, policy, expected) in cases {
        let (out, _, _) = judge("a", expression, &policy);
        assert_eq!(
            codes(&out.findings),
            expected,
            "{expression} against {policy}"
        );
    }
}
