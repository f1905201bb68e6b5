//! Tests of the resolver's rules: metadata sources weighed against each other, and the
//! License field's forms (lists, exceptions, deprecated ids).

mod metadata {
    use super::super::*;

    fn meta(
        expression: Option<&str>,
        field: Option<&str>,
        classifiers: &[&str],
    ) -> LicenseMetadata {
        LicenseMetadata {
            expression: expression.map(str::to_string),
            license_field: field.map(str::to_string),
            classifiers: classifiers.iter().map(|c| c.to_string()).collect(),
            license_files: Vec::new(),
        }
    }

    const BSD: &str = "License :: OSI Approved :: BSD License";
    const MIT: &str = "License :: OSI Approved :: MIT License";
    const APACHE: &str = "License :: OSI Approved :: Apache Software License";

    #[test]
    fn expression_wins_and_conflicting_classifier_is_noted() {
        let r = resolve(&meta(Some("Apache-2.0"), None, &[MIT]), None);
        assert_eq!(r.expression.as_deref(), Some("Apache-2.0"));
        assert_eq!(r.source, LicenseSource::LicenseExpression);
        assert!(
            r.notes
                .iter()
                .any(|n| n.contains("MIT License") && n.contains("disagrees")),
            "{:?}",
            r.notes
        );
        // Consistent vaguer classifier: no note.
        let r = resolve(&meta(Some("BSD-3-Clause"), None, &[BSD]), None);
        assert!(r.notes.is_empty(), "{:?}", r.notes);
    }

    #[test]
    fn a_precise_license_field_wins_and_a_consistent_classifier_is_silent() {
        let r = resolve(&meta(None, Some("BSD-3-Clause"), &[BSD]), None);
        assert_eq!(r.expression.as_deref(), Some("BSD-3-Clause"));
        assert_eq!(r.source, LicenseSource::LicenseField);
        assert!(
            !r.notes.iter().any(|n| n.contains("disagrees")),
            "{:?}",
            r.notes
        );
    }

    #[test]
    fn vague_only_is_unknown_with_the_reason() {
        let r = resolve(&meta(None, None, &[BSD]), None);
        assert_eq!(r.expression, None);
        assert_eq!(r.source, LicenseSource::Unknown);
        let reason = r.unknown_reason.unwrap();
        assert!(reason.contains("BSD License"), "{reason}");
        assert!(reason.contains("unspecified"), "{reason}");
        let r = resolve(&meta(None, Some("BSD"), &[]), None);
        assert!(r.unknown_reason.unwrap().contains("BSD"));
    }

    #[test]
    fn precise_field_beats_conflicting_classifier_with_a_note() {
        // Rule 1: the package's own precise declaration wins over the coarser classifier.
        let r = resolve(&meta(None, Some("Apache 2.0"), &[MIT]), None);
        assert_eq!(r.expression.as_deref(), Some("Apache-2.0"));
        assert_eq!(r.source, LicenseSource::LicenseField);
        assert!(
            r.notes
                .iter()
                .any(|n| n.contains("MIT License") && n.contains("disagrees")),
            "{:?}",
            r.notes
        );
    }

    #[test]
    fn unresolved_vague_classifier_yields_to_a_specific_field_with_a_note() {
        let r = resolve(&meta(None, Some("MIT"), &[BSD]), None);
        assert_eq!(r.expression.as_deref(), Some("MIT"));
        assert_eq!(r.source, LicenseSource::LicenseField);
        assert!(
            r.notes
                .iter()
                .any(|n| n.contains("BSD License") && n.contains("disagrees")),
            "{:?}",
            r.notes
        );
    }

    #[test]
    fn several_classifiers_refined_together() {
        // cryptography 41: classifiers Apache + BSD, License "Apache-2.0 OR BSD-3-Clause".
        let r = resolve(
            &meta(None, Some("Apache-2.0 OR BSD-3-Clause"), &[APACHE, BSD]),
            None,
        );
        assert_eq!(r.expression.as_deref(), Some("Apache-2.0 OR BSD-3-Clause"));
        // Without the field the classifiers are a conjunction (rule 2), and "BSD" cannot be
        // resolved: the whole answer is unknown, never the part that could be read.
        let r = resolve(&meta(None, None, &[APACHE, BSD]), None);
        assert_eq!(r.expression, None);
        let reason = r.unknown_reason.unwrap();
        assert!(reason.contains("BSD License"), "{reason}");
    }

    #[test]
    fn placeholders_say_nothing() {
        for placeholder in ["UNKNOWN", "", "  ", "see LICENSE", "LICENSE.txt", "n/a"] {
            let r = resolve(&meta(None, Some(placeholder), &[]), None);
            assert_eq!(r.expression, None, "{placeholder}");
            assert!(
                r.unknown_reason.unwrap().contains("no License-Expression"),
                "{placeholder}"
            );
        }
    }

    #[test]
    fn unrecognised_field_is_unknown_with_its_text() {
        let r = resolve(&meta(None, Some("Frobnicator Public License"), &[]), None);
        assert!(r.unknown_reason.unwrap().contains("Frobnicator"));
    }

    #[test]
    fn license_expression_that_spells_a_name_is_read_as_one() {
        let r = resolve(&meta(Some("Apache 2.0"), None, &[]), None);
        assert_eq!(r.expression.as_deref(), Some("Apache-2.0"));
        assert_eq!(r.source, LicenseSource::LicenseExpression);
        assert!(!r.notes.is_empty());
        // A License-Expression that is nonsense falls back to the classifiers.
        let r = resolve(&meta(Some("see below"), None, &[MIT]), None);
        assert_eq!(r.expression.as_deref(), Some("MIT"));
        assert!(
            r.notes.iter().any(|n| n.contains("not a valid SPDX")),
            "{:?}",
            r.notes
        );
    }

    #[test]
    fn public_domain_and_proprietary_get_license_refs() {
        let r = resolve(&meta(None, None, &["License :: Public Domain"]), None);
        assert_eq!(r.expression.as_deref(), Some("LicenseRef-Public-Domain"));
        let r = resolve(
            &meta(None, None, &["License :: Other/Proprietary License"]),
            None,
        );
        assert_eq!(r.expression.as_deref(), Some("LicenseRef-Proprietary"));
        let r = resolve(&meta(None, None, &["License :: OSI Approved"]), None);
        assert!(r.unknown_reason.unwrap().contains("names no license"));
    }

    #[test]
    fn odd_input_never_panics_and_never_passes_as_known() {
        let long_plus = "+".repeat(10_000);
        let odd = [
            "",
            "(((",
            "MIT AND (",
            ")",
            "MIT OR",
            "WITH",
            "+",
            "/",
            ",,,",
            "or or or",
            "GPL v",
            "LGPL 2.",
            "Apache-",
            "ÄÖÜ ライセンス",
            "\u{0}",
            "BSD-3-Clause WITH",
            &long_plus,
            "MIT\n\n\n",
            "see LICENSE, or COPYING; and NOTICE",
        ];
        for a in odd {
            for b in odd {
                let m = LicenseMetadata {
                    expression: Some(a.to_string()),
                    license_field: Some(b.to_string()),
                    classifiers: vec![
                        format!("License :: {a}"),
                        format!("License :: OSI Approved :: {b}"),
                    ],
                    license_files: vec![a.to_string()],
                };
                let r = resolve(&m, None);
                if let Some(e) = &r.expression {
                    spdx::Expression::parse(e)
                        .unwrap_or_else(|err| panic!("{a:?}/{b:?} → {e}: {err}"));
                } else {
                    assert!(r.unknown_reason.is_some());
                }
            }
        }
    }

    #[test]
    fn registry_fallback() {
        let info = RegistryInfo {
            license_expression: Some("MIT".into()),
            ..Default::default()
        };
        let r = resolve_from_registry(&info).unwrap();
        assert_eq!(
            (r.expression.as_deref(), r.source),
            (Some("MIT"), LicenseSource::Pypi)
        );
        let info = RegistryInfo {
            license: Some("Apache License, Version 2.0".into()),
            ..Default::default()
        };
        assert_eq!(
            resolve_from_registry(&info).unwrap().expression.as_deref(),
            Some("Apache-2.0")
        );
        let vague = RegistryInfo {
            license: Some("BSD".into()),
            ..Default::default()
        };
        assert!(resolve_from_registry(&vague).is_none());
        assert!(resolve_from_registry(&RegistryInfo::default()).is_none());
    }
}

mod rules {
    use super::super::*;

    fn field(raw: &str) -> ResolvedLicense {
        resolve(
            &LicenseMetadata {
                license_field: Some(raw.to_string()),
                ..Default::default()
            },
            None,
        )
    }

    #[test]
    fn a_plus_between_names_is_and_unless_a_choice_is_stated() {
        // Rule 2: "LGPL+BSD" lists two licenses; no choice is stated.
        let r = field("LGPLv2.1+ + BSD-3-Clause");
        assert_eq!(
            r.expression.as_deref(),
            Some("LGPL-2.1-or-later AND BSD-3-Clause")
        );
        // Both vague: unknown with the reason, never one of them alone.
        let r = field("LGPL+BSD");
        assert_eq!(r.expression, None);
        let reason = r.unknown_reason.unwrap();
        assert!(
            reason.contains("lgpl") && reason.contains("bsd"),
            "{reason}"
        );
        // A trailing `+` is the grant.
        assert_eq!(
            field("GPLv2+").expression.as_deref(),
            Some("GPL-2.0-or-later")
        );
        let r = field("MIT, Apache-2.0");
        assert_eq!(r.expression.as_deref(), Some("MIT AND Apache-2.0"));
        let r = field("MIT or Apache 2.0");
        assert_eq!(r.expression.as_deref(), Some("MIT OR Apache-2.0"));
    }

    #[test]
    fn exceptions_named_in_the_field_are_part_of_the_expression() {
        for (raw, expected) in [
            (
                "GPLv2-or-later with a special exception which allows to use PyInstaller to build and distribute non-free programs (including commercial ones)",
                None,
            ),
            (
                "GPLv2+ with Bootloader exception",
                Some("GPL-2.0-or-later WITH Bootloader-exception"),
            ),
            (
                "GPL-2.0-only WITH Universal-FOSS-exception-1.0",
                Some("GPL-2.0-only WITH Universal-FOSS-exception-1.0"),
            ),
            (
                "GPL 2 with Classpath exception",
                Some("GPL-2.0-only WITH Classpath-exception-2.0"),
            ),
            (
                "GPLv3+ with GCC runtime library exception",
                Some("GPL-3.0-or-later WITH GCC-exception-3.1"),
            ),
            (
                "Apache 2.0 with LLVM exception",
                Some("Apache-2.0 WITH LLVM-exception"),
            ),
        ] {
            let r = field(raw);
            match expected {
                Some(e) => assert_eq!(r.expression.as_deref(), Some(e), "{raw}: {r:?}"),
                // An exception without a name is not guessed; the license alone would hide it.
                None => assert!(
                    r.expression.is_none() || r.notes.iter().any(|n| n.contains("exception")),
                    "{raw}: {r:?}"
                ),
            }
        }
    }

    #[test]
    fn a_valid_spdx_field_is_taken_as_declared_over_classifiers() {
        let r = resolve(
            &LicenseMetadata {
                license_field: Some("(Apache-2.0 OR BSD-3-Clause) AND PSF-2.0".into()),
                classifiers: vec!["License :: OSI Approved :: MIT License".into()],
                ..Default::default()
            },
            None,
        );
        assert_eq!(
            r.expression.as_deref(),
            Some("(Apache-2.0 OR BSD-3-Clause) AND PSF-2.0")
        );
        assert!(
            r.notes.iter().any(|n| n.contains("disagrees")),
            "{:?}",
            r.notes
        );
        // A deprecated id is mapped, with a note.
        let r = field("GPL-2.0+");
        assert_eq!(r.expression.as_deref(), Some("GPL-2.0-or-later"));
        assert!(!r.notes.is_empty());
    }
}
