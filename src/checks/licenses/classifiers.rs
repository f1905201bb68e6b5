//! Trove `License ::` classifiers mapped to SPDX. The table covers every license classifier in
//! the `trove-classifiers` 2026.9 list (plus the deprecated ones). Classifiers that name a
//! family without a version ("BSD License", "GNU General Public License (GPL)") are vague terms,
//! refined by other evidence or left unknown — never guessed.
//!
//! Several license classifiers on one package are read as alternatives (OR): that is how PyPI
//! projects use them in practice (cryptography: Apache + BSD for a dual license), and Trove has
//! no way to say AND. A note records the reading.

use std::borrow::Cow;

use super::terms::{Family, Grant, Ident, Join, Reading, Term, Vague};

enum Meaning {
    Exact(&'static str),
    Gnu(&'static str, Grant),
    Vague(Family, Grant, Option<(Ident, &'static str)>),
    /// No SPDX license at all ("OSI Approved", "DFSG approved", "Freely Distributable").
    Statement,
}

const PROPRIETARY: Option<(Ident, &str)> = Some((
    Ident::plain("LicenseRef-Proprietary"),
    "the classifier names no license (\"other\", proprietary or non-free terms); reported as LicenseRef-Proprietary so a policy can allow it by name",
));

const PUBLIC_DOMAIN: Option<(Ident, &str)> = Some((
    Ident::plain("LicenseRef-Public-Domain"),
    "public domain has no SPDX license id; reported as LicenseRef-Public-Domain so a policy can allow it by name",
));

/// Meaning of a classifier with its `License ::` and `OSI Approved ::` prefixes removed.
fn meaning(name: &str) -> Option<Meaning> {
    use Meaning::*;
    Some(match name {
        "Aladdin Free Public License (AFPL)" => Exact("Aladdin"),
        "CC0 1.0 Universal (CC0 1.0) Public Domain Dedication" => Exact("CC0-1.0"),
        "CeCILL-B Free Software License Agreement (CECILL-B)" => Exact("CECILL-B"),
        "CeCILL-C Free Software License Agreement (CECILL-C)" => Exact("CECILL-C"),
        "DFSG approved" | "OSI Approved" | "Freely Distributable" => Statement,
        "Eiffel Forum License (EFL)" | "Eiffel Forum License" => {
            Vague(Family::Efl, Grant::NotGnu, None)
        }
        "Free For Educational Use"
        | "Free For Home Use"
        | "Free To Use But Restricted"
        | "Free for non-commercial use"
        | "Freeware"
        | "Other/Proprietary License" => Vague(Family::Other, Grant::NotGnu, PROPRIETARY),
        // No SPDX ids exist for these.
        "GUST Font License 1.0"
        | "GUST Font License 2006-09-30"
        | "Repoze Public License"
        | "Jabber Open Source License"
        | "MITRE Collaborative Virtual Workspace License (CVW)" => Statement,
        "Netscape Public License (NPL)" => Vague(Family::Npl, Grant::NotGnu, None),
        "Nokia Open Source License (NOKOS)" | "Nokia Open Source License" => Exact("Nokia"),
        "Academic Free License (AFL)" => Vague(Family::Afl, Grant::NotGnu, None),
        "Apache Software License" => Vague(
            Family::Apache,
            Grant::NotGnu,
            Some((
                Ident::plain("Apache-2.0"),
                "classifier \"Apache Software License\" gives no version; Apache-2.0 assumed (1.x is long obsolete)",
            )),
        ),
        "Apple Public Source License" => Vague(Family::Apsl, Grant::NotGnu, None),
        "Artistic License" => Vague(Family::Artistic, Grant::NotGnu, None),
        "Attribution Assurance License" => Exact("AAL"),
        "BSD License" => Vague(Family::Bsd, Grant::NotGnu, None),
        "Blue Oak Model License (BlueOak-1.0.0)" => Exact("BlueOak-1.0.0"),
        "Boost Software License 1.0 (BSL-1.0)" => Exact("BSL-1.0"),
        "CEA CNRS Inria Logiciel Libre License, version 2.1 (CeCILL-2.1)" => Exact("CECILL-2.1"),
        "CMU License (MIT-CMU)" => Exact("MIT-CMU"),
        "Common Development and Distribution License 1.0 (CDDL-1.0)" => Exact("CDDL-1.0"),
        "Common Public License" => Exact("CPL-1.0"),
        "Eclipse Public License 1.0 (EPL-1.0)" => Exact("EPL-1.0"),
        "Eclipse Public License 2.0 (EPL-2.0)" => Exact("EPL-2.0"),
        "Educational Community License, Version 2.0 (ECL-2.0)" => Exact("ECL-2.0"),
        "European Union Public Licence 1.0 (EUPL 1.0)" => Exact("EUPL-1.0"),
        "European Union Public Licence 1.1 (EUPL 1.1)" => Exact("EUPL-1.1"),
        "European Union Public Licence 1.2 (EUPL 1.2)" => Exact("EUPL-1.2"),
        "GNU Affero General Public License v3" => Gnu("AGPL-3.0", Grant::Only),
        "GNU Affero General Public License v3 or later (AGPLv3+)" => {
            Gnu("AGPL-3.0", Grant::OrLater)
        }
        "GNU Free Documentation License (FDL)" => Vague(Family::Gfdl, Grant::Unstated, None),
        "GNU General Public License (GPL)" => Vague(Family::Gpl(None), Grant::Unstated, None),
        "GNU General Public License v2 (GPLv2)" => Gnu("GPL-2.0", Grant::Only),
        "GNU General Public License v2 or later (GPLv2+)" => Gnu("GPL-2.0", Grant::OrLater),
        "GNU General Public License v3 (GPLv3)" => Gnu("GPL-3.0", Grant::Only),
        "GNU General Public License v3 or later (GPLv3+)" => Gnu("GPL-3.0", Grant::OrLater),
        // "Lesser GPL v2" is either the Library GPL 2.0 or the Lesser GPL 2.1: not knowable.
        "GNU Lesser General Public License v2 (LGPLv2)" => {
            Vague(Family::Lgpl(Some(2)), Grant::Unstated, None)
        }
        "GNU Lesser General Public License v2 or later (LGPLv2+)" => Vague(
            Family::Lgpl(Some(2)),
            Grant::OrLater,
            Some((
                Ident::gnu("LGPL-2.0", Grant::OrLater),
                "classifier \"LGPLv2+\" gives no minor version; read literally as LGPL-2.0-or-later",
            )),
        ),
        "GNU Lesser General Public License v3 (LGPLv3)" => Gnu("LGPL-3.0", Grant::Only),
        "GNU Lesser General Public License v3 or later (LGPLv3+)" => {
            Gnu("LGPL-3.0", Grant::OrLater)
        }
        "GNU Library or Lesser General Public License (LGPL)" => {
            Vague(Family::Lgpl(None), Grant::Unstated, None)
        }
        "Historical Permission Notice and Disclaimer (HPND)" => Exact("HPND"),
        "IBM Public License" => Exact("IPL-1.0"),
        "ISC License (ISCL)" => Exact("ISC"),
        "MIT License" => Exact("MIT"),
        "MIT No Attribution License (MIT-0)" => Exact("MIT-0"),
        "MirOS License (MirOS)" => Exact("MirOS"),
        "Motosoto License" => Exact("Motosoto"),
        "Mozilla Public License 1.0 (MPL)" => Exact("MPL-1.0"),
        "Mozilla Public License 1.1 (MPL 1.1)" => Exact("MPL-1.1"),
        "Mozilla Public License 2.0 (MPL 2.0)" => Exact("MPL-2.0"),
        "Mulan Permissive Software License v2 (MulanPSL-2.0)" => Exact("MulanPSL-2.0"),
        "NASA Open Source Agreement v1.3 (NASA-1.3)" => Exact("NASA-1.3"),
        "Nethack General Public License" => Exact("NGPL"),
        "Open Group Test Suite License" => Exact("OGTSL"),
        "Open Software License 3.0 (OSL-3.0)" => Exact("OSL-3.0"),
        "PostgreSQL License" => Exact("PostgreSQL"),
        "Python License (CNRI Python License)" => Exact("CNRI-Python"),
        "Python Software Foundation License" => Exact("PSF-2.0"),
        "Qt Public License (QPL)" => Exact("QPL-1.0"),
        "Ricoh Source Code Public License" => Exact("RSCPL"),
        "SIL Open Font License 1.1 (OFL-1.1)" => Exact("OFL-1.1"),
        "Sleepycat License" => Exact("Sleepycat"),
        "Sun Public License" => Exact("SPL-1.0"),
        "The Unlicense (Unlicense)" => Exact("Unlicense"),
        "Universal Permissive License (UPL)" => Exact("UPL-1.0"),
        "University of Illinois/NCSA Open Source License" => Exact("NCSA"),
        "Vovida Software License 1.0" => Exact("VSL-1.0"),
        "W3C License" => Exact("W3C"),
        "Zero-Clause BSD (0BSD)" => Exact("0BSD"),
        "Zope Public License" => Vague(Family::Zope, Grant::NotGnu, None),
        "zlib/libpng License" => Exact("Zlib"),
        "Public Domain" => Vague(Family::PublicDomain, Grant::NotGnu, PUBLIC_DOMAIN),
        // Deprecated classifiers still found in old metadata.
        "Intel Open Source License" => Exact("Intel"),
        "Sun Industry Standards Source License (SISSL)" => Exact("SISSL"),
        "X.Net License" => Exact("Xnet"),
        _ => return None,
    })
}

/// The part after `License ::` (and `OSI Approved ::`), or `None` for non-license classifiers.
pub(crate) fn license_name(classifier: &str) -> Option<&str> {
    let rest = classifier.trim().strip_prefix("License")?.trim_start();
    let rest = rest.strip_prefix("::")?.trim();
    Some(
        rest.strip_prefix("OSI Approved")
            .and_then(|r| r.trim_start().strip_prefix("::"))
            .map(str::trim)
            .unwrap_or(rest),
    )
}

/// One classifier as a term. Unlisted classifiers fall back to the name parser, then to a
/// statement (which resolves to nothing).
pub(crate) fn term(classifier: &str) -> Option<Term> {
    let name = license_name(classifier)?;
    let said = || Cow::Owned(name.to_string());
    Some(match meaning(name) {
        Some(Meaning::Exact(id)) => Term::Exact(Ident::plain(id)),
        Some(Meaning::Gnu(base, later)) => Term::Exact(Ident::gnu(base, later)),
        Some(Meaning::Vague(family, later, fallback)) => Term::Vague(Vague {
            family,
            grant: later,
            said: said(),
            fallback,
        }),
        Some(Meaning::Statement) => Term::Statement(said()),
        None => super::names::parse_piece(
            &super::names::normalize(name, true)
                .split(' ')
                .collect::<Vec<_>>(),
            name,
        )
        .unwrap_or(Term::Statement(said())),
    })
}

/// All license classifiers as one reading: several are a conjunction (AND), since nothing in
/// a classifier states a choice; the stricter reading is noted.
pub(crate) fn read(classifiers: &[String], notes: &mut Vec<String>) -> Option<Reading> {
    let terms: Vec<Term> = classifiers.iter().filter_map(|c| term(c)).collect();
    if terms.is_empty() {
        return None;
    }
    let meaningful = terms
        .iter()
        .filter(|t| !matches!(t, Term::Statement(_)))
        .count();
    if meaningful > 1 {
        notes.push(format!(
            "{meaningful} license classifiers read as AND (all apply): classifiers cannot state a choice between licenses"
        ));
    }
    Some(Reading {
        terms,
        join: Join::And,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every license classifier of trove-classifiers 2026.9.21 (and the deprecated ones).
    const ALL: &[&str] = &[
        "License :: Aladdin Free Public License (AFPL)",
        "License :: CC0 1.0 Universal (CC0 1.0) Public Domain Dedication",
        "License :: CeCILL-B Free Software License Agreement (CECILL-B)",
        "License :: CeCILL-C Free Software License Agreement (CECILL-C)",
        "License :: DFSG approved",
        "License :: Eiffel Forum License (EFL)",
        "License :: Free For Educational Use",
        "License :: Free For Home Use",
        "License :: Free To Use But Restricted",
        "License :: Free for non-commercial use",
        "License :: Freely Distributable",
        "License :: Freeware",
        "License :: GUST Font License 1.0",
        "License :: GUST Font License 2006-09-30",
        "License :: Netscape Public License (NPL)",
        "License :: Nokia Open Source License (NOKOS)",
        "License :: OSI Approved",
        "License :: OSI Approved :: Academic Free License (AFL)",
        "License :: OSI Approved :: Apache Software License",
        "License :: OSI Approved :: Apple Public Source License",
        "License :: OSI Approved :: Artistic License",
        "License :: OSI Approved :: Attribution Assurance License",
        "License :: OSI Approved :: BSD License",
        "License :: OSI Approved :: Blue Oak Model License (BlueOak-1.0.0)",
        "License :: OSI Approved :: Boost Software License 1.0 (BSL-1.0)",
        "License :: OSI Approved :: CEA CNRS Inria Logiciel Libre License, version 2.1 (CeCILL-2.1)",
        "License :: OSI Approved :: CMU License (MIT-CMU)",
        "License :: OSI Approved :: Common Development and Distribution License 1.0 (CDDL-1.0)",
        "License :: OSI Approved :: Common Public License",
        "License :: OSI Approved :: Eclipse Public License 1.0 (EPL-1.0)",
        "License :: OSI Approved :: Eclipse Public License 2.0 (EPL-2.0)",
        "License :: OSI Approved :: Educational Community License, Version 2.0 (ECL-2.0)",
        "License :: OSI Approved :: Eiffel Forum License",
        "License :: OSI Approved :: European Union Public Licence 1.0 (EUPL 1.0)",
        "License :: OSI Approved :: European Union Public Licence 1.1 (EUPL 1.1)",
        "License :: OSI Approved :: European Union Public Licence 1.2 (EUPL 1.2)",
        "License :: OSI Approved :: GNU Affero General Public License v3",
        "License :: OSI Approved :: GNU Affero General Public License v3 or later (AGPLv3+)",
        "License :: OSI Approved :: GNU Free Documentation License (FDL)",
        "License :: OSI Approved :: GNU General Public License (GPL)",
        "License :: OSI Approved :: GNU General Public License v2 (GPLv2)",
        "License :: OSI Approved :: GNU General Public License v2 or later (GPLv2+)",
        "License :: OSI Approved :: GNU General Public License v3 (GPLv3)",
        "License :: OSI Approved :: GNU General Public License v3 or later (GPLv3+)",
        "License :: OSI Approved :: GNU Lesser General Public License v2 (LGPLv2)",
        "License :: OSI Approved :: GNU Lesser General Public License v2 or later (LGPLv2+)",
        "License :: OSI Approved :: GNU Lesser General Public License v3 (LGPLv3)",
        "License :: OSI Approved :: GNU Lesser General Public License v3 or later (LGPLv3+)",
        "License :: OSI Approved :: GNU Library or Lesser General Public License (LGPL)",
        "License :: OSI Approved :: Historical Permission Notice and Disclaimer (HPND)",
        "License :: OSI Approved :: IBM Public License",
        "License :: OSI Approved :: ISC License (ISCL)",
        "License :: OSI Approved :: MIT License",
        "License :: OSI Approved :: MIT No Attribution License (MIT-0)",
        "License :: OSI Approved :: MirOS License (MirOS)",
        "License :: OSI Approved :: Motosoto License",
        "License :: OSI Approved :: Mozilla Public License 1.0 (MPL)",
        "License :: OSI Approved :: Mozilla Public License 1.1 (MPL 1.1)",
        "License :: OSI Approved :: Mozilla Public License 2.0 (MPL 2.0)",
        "License :: OSI Approved :: Mulan Permissive Software License v2 (MulanPSL-2.0)",
        "License :: OSI Approved :: NASA Open Source Agreement v1.3 (NASA-1.3)",
        "License :: OSI Approved :: Nethack General Public License",
        "License :: OSI Approved :: Nokia Open Source License",
        "License :: OSI Approved :: Open Group Test Suite License",
        "License :: OSI Approved :: Open Software License 3.0 (OSL-3.0)",
        "License :: OSI Approved :: PostgreSQL License",
        "License :: OSI Approved :: Python License (CNRI Python License)",
        "License :: OSI Approved :: Python Software Foundation License",
        "License :: OSI Approved :: Qt Public License (QPL)",
        "License :: OSI Approved :: Ricoh Source Code Public License",
        "License :: OSI Approved :: SIL Open Font License 1.1 (OFL-1.1)",
        "License :: OSI Approved :: Sleepycat License",
        "License :: OSI Approved :: Sun Public License",
        "License :: OSI Approved :: The Unlicense (Unlicense)",
        "License :: OSI Approved :: Universal Permissive License (UPL)",
        "License :: OSI Approved :: University of Illinois/NCSA Open Source License",
        "License :: OSI Approved :: Vovida Software License 1.0",
        "License :: OSI Approved :: W3C License",
        "License :: OSI Approved :: Zero-Clause BSD (0BSD)",
        "License :: OSI Approved :: Zope Public License",
        "License :: OSI Approved :: zlib/libpng License",
        "License :: Other/Proprietary License",
        "License :: Public Domain",
        "License :: Repoze Public License",
        "License :: OSI Approved :: Intel Open Source License",
        "License :: OSI Approved :: Jabber Open Source License",
        "License :: OSI Approved :: MITRE Collaborative Virtual Workspace License (CVW)",
        "License :: OSI Approved :: Sun Industry Standards Source License (SISSL)",
        "License :: OSI Approved :: X.Net License",
    ];

    #[test]
    fn every_trove_license_classifier_is_in_the_table_and_maps_to_valid_spdx() {
        for classifier in ALL {
            let name = license_name(classifier).unwrap();
            assert!(meaning(name).is_some(), "not in the table: {classifier}");
            match term(classifier).unwrap() {
                Term::Exact(ident) => {
                    let text = ident.render();
                    spdx::Expression::parse(&text)
                        .unwrap_or_else(|e| panic!("{classifier} → `{text}` invalid: {e}"));
                }
                Term::Vague(v) => {
                    if let Some((fallback, _)) = v.fallback {
                        spdx::Expression::parse(&fallback.render()).unwrap();
                    }
                }
                Term::Statement(_) => {}
                Term::Expr(e) => panic!("{classifier} → unexpected expression {e}"),
            }
        }
    }

    #[test]
    fn specific_mappings() {
        let render = |c: &str| match term(c).unwrap() {
            Term::Exact(i) => i.render(),
            other => format!("{other:?}"),
        };
        assert_eq!(render("License :: OSI Approved :: MIT License"), "MIT");
        assert_eq!(
            render("License :: OSI Approved :: GNU General Public License v2 or later (GPLv2+)"),
            "GPL-2.0-or-later"
        );
        assert_eq!(
            render("License :: OSI Approved :: GNU Lesser General Public License v3 (LGPLv3)"),
            "LGPL-3.0-only"
        );
        assert_eq!(
            render("License :: OSI Approved :: Python Software Foundation License"),
            "PSF-2.0"
        );
        assert!(matches!(
            term("License :: OSI Approved :: BSD License"),
            Some(Term::Vague(Vague {
                family: Family::Bsd,
                fallback: None,
                ..
            }))
        ));
        assert!(matches!(
            term("License :: OSI Approved"),
            Some(Term::Statement(_))
        ));
        assert!(term("Programming Language :: Python").is_none());
        // Not in the table: the name parser still understands it.
        assert_eq!(
            render("License :: OSI Approved :: MIT/X Consortium License"),
            "MIT"
        );
    }

    #[test]
    fn several_classifiers_are_a_conjunction_with_a_note() {
        let mut notes = Vec::new();
        let reading = read(
            &[
                "License :: OSI Approved :: MIT License".to_string(),
                "License :: OSI Approved :: Apache Software License".to_string(),
                "License :: OSI Approved".to_string(),
            ],
            &mut notes,
        )
        .unwrap();
        assert_eq!(reading.join, Join::And);
        assert_eq!(reading.terms.len(), 3);
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(read(&[], &mut notes).is_none());
    }
}
