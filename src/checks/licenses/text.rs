//! Identify licenses in a license *text* (a LICENSE file, or a whole text pasted into the
//! `License` field) by distinctive phrases, hand-written: no corpus is embedded or loaded.
//!
//! The text is normalised once (lowercase words, punctuation dropped) and searched for:
//! - full-text markers (the GPL's "Version 3, 29 June 2007" header, BSD's redistribution clause
//!   with its variants told apart by the endorsement and advertising clauses, MIT's grant, ...);
//! - notices ("licensed under the Apache License, Version 2.0", "under the terms of the GNU Lesser
//!   General Public License as published by the Free Software Foundation, either version 3 ... or
//!   (at your option) any later version"), read with the same name parser as the `License` field.
//!
//! Matches are ordered by position: the first is the *main* statement; later ones are usually
//! bundled components (numpy, Pillow) and become notes, not part of the answer.

use std::sync::OnceLock;

use super::names::{normalize, normalize_bytes, parse_piece};
use super::terms::{Grant, Ident, Term, is_gnu_base};

/// One license found in a text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TextMatch {
    pub ident: Ident,
    /// Byte offset in the normalised text.
    pub pos: usize,
    /// A license text (as opposed to a notice pointing at one).
    pub full_text: bool,
}

/// What a text contains.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct TextReport {
    /// Distinct licenses, in order of first appearance.
    pub matches: Vec<TextMatch>,
    /// Where dual-licensing language ("either of the licenses", "dual licensed") appears.
    pub choice_at: Option<usize>,
}

impl TextReport {
    /// Dual-licensing language that belongs to the main statement: before the second license
    /// found (language deep inside a bundled component's section is about that component).
    pub fn offers_choice(&self) -> bool {
        match (self.choice_at, self.matches.get(1)) {
            (Some(at), Some(second)) => at < second.pos,
            (Some(_), None) => true,
            (None, _) => false,
        }
    }

    pub fn idents(&self) -> impl Iterator<Item = &Ident> {
        self.matches.iter().map(|m| &m.ident)
    }
}

/// How a full-text marker identifies its license.
#[derive(Clone)]
enum Marker {
    Fixed(Ident),
    /// The BSD redistribution clause: 2-, 3- or 4-clause by what follows.
    Bsd,
    /// "Permission is hereby granted, free of charge": MIT or MIT-0.
    Mit,
    /// "...distribute this software for any purpose with or without fee is hereby granted": ISC
    /// or 0BSD.
    Isc,
}

/// Full-text markers in natural spelling; normalised on first use.
const MARKERS: &[(&str, Marker)] = &[
    (
        "Apache License Version 2.0, January 2004",
        Marker::Fixed(Ident::plain("Apache-2.0")),
    ),
    (
        "The Apache Software License, Version 1.1",
        Marker::Fixed(Ident::plain("Apache-1.1")),
    ),
    (
        "GNU GENERAL PUBLIC LICENSE Version 3, 29 June 2007",
        Marker::Fixed(Ident::gnu("GPL-3.0", Grant::Unstated)),
    ),
    (
        "GNU GENERAL PUBLIC LICENSE Version 2, June 1991",
        Marker::Fixed(Ident::gnu("GPL-2.0", Grant::Unstated)),
    ),
    (
        "GNU GENERAL PUBLIC LICENSE Version 1, February 1989",
        Marker::Fixed(Ident::gnu("GPL-1.0", Grant::Unstated)),
    ),
    (
        "GNU LESSER GENERAL PUBLIC LICENSE Version 3, 29 June 2007",
        Marker::Fixed(Ident::gnu("LGPL-3.0", Grant::Unstated)),
    ),
    (
        "GNU LESSER GENERAL PUBLIC LICENSE Version 2.1, February 1999",
        Marker::Fixed(Ident::gnu("LGPL-2.1", Grant::Unstated)),
    ),
    (
        "GNU LIBRARY GENERAL PUBLIC LICENSE Version 2, June 1991",
        Marker::Fixed(Ident::gnu("LGPL-2.0", Grant::Unstated)),
    ),
    (
        "GNU AFFERO GENERAL PUBLIC LICENSE Version 3, 19 November 2007",
        Marker::Fixed(Ident::gnu("AGPL-3.0", Grant::Unstated)),
    ),
    (
        "GNU Free Documentation License Version 1.3, 3 November 2008",
        Marker::Fixed(Ident::gnu("GFDL-1.3", Grant::Unstated)),
    ),
    (
        "Mozilla Public License Version 2.0",
        Marker::Fixed(Ident::plain("MPL-2.0")),
    ),
    (
        "Mozilla Public License Version 1.1",
        Marker::Fixed(Ident::plain("MPL-1.1")),
    ),
    (
        "Eclipse Public License - v 2.0",
        Marker::Fixed(Ident::plain("EPL-2.0")),
    ),
    (
        "Eclipse Public License - v 1.0",
        Marker::Fixed(Ident::plain("EPL-1.0")),
    ),
    (
        "European Union Public Licence v. 1.2",
        Marker::Fixed(Ident::plain("EUPL-1.2")),
    ),
    (
        "Boost Software License - Version 1.0",
        Marker::Fixed(Ident::plain("BSL-1.0")),
    ),
    (
        "The Artistic License 2.0",
        Marker::Fixed(Ident::plain("Artistic-2.0")),
    ),
    (
        "PYTHON SOFTWARE FOUNDATION LICENSE VERSION 2",
        Marker::Fixed(Ident::plain("PSF-2.0")),
    ),
    (
        "PSF hereby grants Licensee a nonexclusive, royalty-free, world-wide license",
        Marker::Fixed(Ident::plain("PSF-2.0")),
    ),
    (
        "This is free and unencumbered software released into the public domain",
        Marker::Fixed(Ident::plain("Unlicense")),
    ),
    ("CC0 1.0 Universal", Marker::Fixed(Ident::plain("CC0-1.0"))),
    (
        "DO WHAT THE FUCK YOU WANT TO PUBLIC LICENSE",
        Marker::Fixed(Ident::plain("WTFPL")),
    ),
    (
        "Permission is granted to anyone to use this software for any purpose, including commercial applications, and to alter it and redistribute it freely",
        Marker::Fixed(Ident::plain("Zlib")),
    ),
    (
        "Redistribution and use in source and binary forms, with or without modification, are permitted provided that the following conditions are met",
        Marker::Bsd,
    ),
    // The same grant naming what it covers, as Sphinx themes (alabaster) word it.
    (
        "Redistribution and use in source and binary forms of the theme, with or without modification, are permitted provided that the following conditions are met",
        Marker::Bsd,
    ),
    (
        "Permission is hereby granted, free of charge, to any person obtaining a copy",
        Marker::Mit,
    ),
    (
        "distribute this software for any purpose with or without fee is hereby granted",
        Marker::Isc,
    ),
];

/// Dual-licensing language. ("at your option" alone is not enough: the GPL says "or (at your
/// option) any later version".)
const CHOICE: &[&str] = &[
    "dual licensed",
    "dually licensed",
    "dual license",
    "either of the licenses",
    "under the terms of either",
    "licensed under either",
    "available under either",
    "at your option under",
    "at your choice",
    "you may choose either",
];

/// Where a notice starts; the words after it name the license.
const NOTICE_ANCHORS: &[&str] = &["under the", "licensed under", "subject to the terms of the"];

/// How much of the text is examined, in normalised bytes. License statements come first;
/// this bounds the cost on huge bundled-license files.
const MAX_SCAN: usize = 96 * 1024;

/// What a phrase found in the text means.
#[derive(Clone)]
enum Pattern {
    Marker(Marker),
    /// A notice starts after it.
    Anchor,
    /// Dual-licensing language.
    Choice,
}

/// All phrases, normalised, indexed by first byte so the text is scanned once.
struct Compiled {
    phrases: Vec<(String, Pattern)>,
    /// The first four bytes of each phrase (all phrases are longer), a cheap first test.
    prefixes: Vec<[u8; 4]>,
    by_first_byte: Vec<Vec<usize>>,
}

fn compiled() -> &'static Compiled {
    static C: OnceLock<Compiled> = OnceLock::new();
    C.get_or_init(|| {
        let phrases: Vec<(String, Pattern)> = MARKERS
            .iter()
            .map(|(p, m)| (normalize(p, false), Pattern::Marker(m.clone())))
            .chain(
                NOTICE_ANCHORS
                    .iter()
                    .map(|p| (format!("{} ", normalize(p, false)), Pattern::Anchor)),
            )
            .chain(
                CHOICE
                    .iter()
                    .map(|p| (normalize(p, false), Pattern::Choice)),
            )
            .collect();
        let mut by_first_byte = vec![Vec::new(); 256];
        for (i, (phrase, _)) in phrases.iter().enumerate() {
            if let Some(first) = phrase.bytes().next() {
                by_first_byte[usize::from(first)].push(i);
            }
        }
        let prefixes = phrases
            .iter()
            .map(|(p, _)| {
                let mut prefix = [0u8; 4];
                for (slot, b) in prefix.iter_mut().zip(p.bytes()) {
                    *slot = b;
                }
                prefix
            })
            .collect();
        Compiled {
            phrases,
            prefixes,
            by_first_byte,
        }
    })
}

/// Identify the licenses in `text` (raw bytes: license files need not be UTF-8).
pub(crate) fn identify(text: &[u8]) -> TextReport {
    let mut norm = normalize_bytes(text, false);
    if norm.len() > MAX_SCAN {
        let mut cut = MAX_SCAN;
        while !norm.is_char_boundary(cut) {
            cut -= 1;
        }
        norm.truncate(cut);
    }
    identify_normalized(&norm)
}

/// Most notice anchors ("under the") examined per text; bounds the cost on long texts.
const MAX_ANCHORS: usize = 400;

fn identify_normalized(norm: &str) -> TextReport {
    let c = compiled();
    let bytes = norm.as_bytes();
    let mut found: Vec<TextMatch> = Vec::new();
    let mut bsd_at: Vec<usize> = Vec::new();
    let mut anchors: Vec<(usize, usize)> = Vec::new();
    let mut choice_at: Option<usize> = None;
    let mut fixed_seen = vec![false; c.phrases.len()];

    // One pass over word starts; only phrases beginning with the word's first byte are tried.
    let mut pos = 0;
    while pos < bytes.len() {
        let candidates = &c.by_first_byte[usize::from(bytes[pos])];
        let here = bytes.get(pos..pos + 4);
        for &i in candidates {
            let (phrase, pattern) = &c.phrases[i];
            if here != Some(&c.prefixes[i][..]) || !bytes[pos..].starts_with(phrase.as_bytes()) {
                continue;
            }
            match pattern {
                Pattern::Marker(Marker::Fixed(ident)) => {
                    if !fixed_seen[i] {
                        fixed_seen[i] = true;
                        found.push(TextMatch {
                            ident: ident.clone(),
                            pos,
                            full_text: true,
                        });
                    }
                }
                Pattern::Marker(Marker::Bsd) => bsd_at.push(pos),
                Pattern::Marker(Marker::Mit) => {
                    let window = window(norm, pos, 1200);
                    let ident = if window.contains("furnished to do so the software is provided") {
                        Ident::plain("MIT-0")
                    } else if window.contains("permission notice shall be included") {
                        Ident::plain("MIT")
                    } else {
                        continue;
                    };
                    found.push(TextMatch {
                        ident,
                        pos,
                        full_text: true,
                    });
                }
                Pattern::Marker(Marker::Isc) => {
                    let after = window(norm, pos + phrase.len(), 120);
                    let ident = if after.trim_start().starts_with(
                        "provided that the above copyright notice and this permission notice appear in all copies",
                    ) {
                        "ISC"
                    } else {
                        "0BSD"
                    };
                    found.push(TextMatch {
                        ident: Ident::plain(ident),
                        pos,
                        full_text: true,
                    });
                }
                Pattern::Anchor => {
                    if anchors.len() < MAX_ANCHORS {
                        anchors.push((pos, phrase.len()));
                    }
                }
                Pattern::Choice => {
                    choice_at.get_or_insert(pos);
                }
            }
        }
        pos = match bytes[pos..].iter().position(|&b| b == b' ') {
            Some(space) => pos + space + 1,
            None => bytes.len(),
        };
    }

    for (i, &at) in bsd_at.iter().enumerate() {
        let next = bsd_at.get(i + 1).copied().unwrap_or(norm.len());
        found.push(TextMatch {
            ident: bsd_variant(&norm[at..next]),
            pos: at,
            full_text: true,
        });
    }

    // GNU texts end with a "How to Apply" appendix containing a sample "version N ... or (at
    // your option) any later version" notice: GNU notices after a GNU text header are ignored.
    let gnu_text_at = found
        .iter()
        .filter(|m| m.full_text && is_gnu_base(&m.ident.base))
        .map(|m| m.pos)
        .min();
    for (pos, len) in anchors {
        let Some(ident) = notice(&norm[pos + len..]) else {
            continue;
        };
        if is_gnu_base(&ident.base) && gnu_text_at.is_some_and(|g| pos > g) {
            continue;
        }
        found.push(TextMatch {
            ident,
            pos,
            full_text: false,
        });
    }

    TextReport {
        matches: merge(found),
        choice_at,
    }
}

/// At most `len` bytes of `norm` from `start`, cut at a char boundary (the text is ASCII after
/// normalisation, but stay safe).
fn window(norm: &str, start: usize, len: usize) -> &str {
    let start = start.min(norm.len());
    let mut end = (start + len).min(norm.len());
    while !norm.is_char_boundary(end) {
        end -= 1;
    }
    &norm[start..end]
}

/// Which BSD variant the text starting at the redistribution clause is. Only its clauses count:
/// the region ends at the disclaimer ("this software is provided by ...").
fn bsd_variant(region: &str) -> Ident {
    let clauses = match region.find("this software is provided") {
        Some(end) => &region[..end],
        None => window(region, 0, 1500),
    };
    if clauses.contains("all advertising materials mentioning features or use of this software") {
        Ident::plain("BSD-4-Clause")
    } else if clauses.contains("endorse or promote products derived from this software") {
        Ident::plain("BSD-3-Clause")
    } else {
        Ident::plain("BSD-2-Clause")
    }
}

/// Read a notice's license from the words after an anchor: words up to "license", a version
/// ("version 2 0", "v 2 0"), and for GNU notices the "as published by the free software
/// foundation either version 3 of the license or at your option any later version" clause.
fn notice(after: &str) -> Option<Ident> {
    let is_license = |w: &&str| *w == "license" || *w == "licence";
    // Most anchors ("under the following conditions") name no license: check before collecting.
    let license_at = after.split(' ').take(12).position(|w| is_license(&w))?;
    // "under the terms of this License": no name before "license".
    const FILLER: &[&str] = &[
        "terms",
        "of",
        "this",
        "the",
        "a",
        "an",
        "that",
        "same",
        "such",
        "its",
        "your",
        "any",
        "applicable",
        "conditions",
        "above",
        "following",
        "which",
        "original",
    ];
    if after
        .split(' ')
        .take(license_at)
        .all(|w| FILLER.contains(&w))
    {
        return None;
    }
    let words: Vec<&str> = after.split(' ').take(40).collect();
    let mut name: Vec<&str> = words[..=license_at].to_vec();
    let mut rest = &words[license_at + 1..];
    let mut explicit_grant = false;
    const PUBLISHED: &[&str] = &[
        "as",
        "published",
        "by",
        "the",
        "free",
        "software",
        "foundation",
    ];
    if rest.starts_with(PUBLISHED) {
        explicit_grant = true;
        rest = &rest[PUBLISHED.len()..];
        if rest.first() == Some(&"either") {
            rest = &rest[1..];
        }
    }
    if matches!(rest.first(), Some(&"version") | Some(&"v")) {
        rest = &rest[1..];
    }
    let version_len = rest
        .iter()
        .take(3)
        .take_while(|w| w.parse::<u32>().is_ok())
        .count();
    name.extend_from_slice(&rest[..version_len]);
    // "... of the license, or (at your option) any later version", "version 3 or later".
    if version_len > 0 {
        let tail = &rest[version_len..rest.len().min(version_len + 10)];
        if tail.contains(&"later") {
            name.push("+");
        }
    }
    match parse_piece(&name, "")? {
        Term::Exact(mut ident) => {
            if explicit_grant && ident.grant == Grant::Unstated {
                ident.grant = Grant::Only;
            }
            Some(ident)
        }
        _ => None,
    }
}

/// Order by position; one entry per license (at its first position), keeping the most explicit
/// GNU grant seen. A GPL-3.0 text next to an LGPL-3.0 text is part of it (LGPL-3.0 is written as
/// additional permissions on top of GPL-3.0, and projects ship both), so it is dropped.
fn merge(mut found: Vec<TextMatch>) -> Vec<TextMatch> {
    found.sort_by_key(|m| m.pos);
    let mut out: Vec<TextMatch> = Vec::new();
    for m in found {
        match out.iter_mut().find(|o| o.ident.same_license(&m.ident)) {
            Some(existing) => {
                if existing.ident.grant == Grant::Unstated
                    && matches!(m.ident.grant, Grant::Only | Grant::OrLater)
                {
                    existing.ident.grant = m.ident.grant;
                }
                existing.full_text |= m.full_text;
            }
            None => out.push(m),
        }
    }
    if out.iter().any(|m| m.ident.base == "LGPL-3.0") {
        out.retain(|m| {
            !(m.ident.base == "GPL-3.0" && m.full_text && m.ident.grant == Grant::Unstated)
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(text: &str) -> Vec<String> {
        identify(text.as_bytes())
            .matches
            .iter()
            .map(|m| m.ident.render())
            .collect()
    }

    const BSD_CORE: &str = "Copyright (c) 2020, Someone\nAll rights reserved.\n\nRedistribution and use in source and binary forms, with or without\nmodification, are permitted provided that the following conditions are met:\n\n1. Redistributions of source code must retain the above copyright notice,\n   this list of conditions and the following disclaimer.\n\n2. Redistributions in binary form must reproduce the above copyright notice,\n   this list of conditions and the following disclaimer in the documentation\n   and/or other materials provided with the distribution.\n";
    const BSD_ENDORSE: &str = "\n3. Neither the name of the copyright holder nor the names of its\n   contributors may be used to endorse or promote products derived from\n   this software without specific prior written permission.\n";
    const BSD_DISCLAIMER: &str = "\nTHIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS \"AS IS\" AND ANY EXPRESS OR IMPLIED WARRANTIES ARE DISCLAIMED.\n";

    #[test]
    fn bsd_variants_are_told_apart_by_their_clauses() {
        assert_eq!(
            ids(&format!("{BSD_CORE}{BSD_DISCLAIMER}")),
            ["BSD-2-Clause"]
        );
        assert_eq!(
            ids(&format!("{BSD_CORE}{BSD_ENDORSE}{BSD_DISCLAIMER}")),
            ["BSD-3-Clause"]
        );
        // An endorsement clause in a *later* text does not make an earlier BSD-2 text BSD-3.
        let two_then_three = format!(
            "{BSD_CORE}{BSD_DISCLAIMER}\n----\nbundled:\n{BSD_CORE}{BSD_ENDORSE}{BSD_DISCLAIMER}"
        );
        assert_eq!(ids(&two_then_three), ["BSD-2-Clause", "BSD-3-Clause"]);
    }

    #[test]
    fn mit_isc_and_zero_clause_texts() {
        let mit = "Permission is hereby granted, free of charge, to any person obtaining a copy of this software and associated documentation files (the \"Software\"), to deal in the Software without restriction, including without limitation the rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of the Software, and to permit persons to whom the Software is furnished to do so, subject to the following conditions:\n\nThe above copyright notice and this permission notice shall be included in all copies or substantial portions of the Software.";
        assert_eq!(ids(mit), ["MIT"]);
        let mit0 = "Permission is hereby granted, free of charge, to any person obtaining a copy of this software and associated documentation files (the \"Software\"), to deal in the Software without restriction, including without limitation the rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of the Software, and to permit persons to whom the Software is furnished to do so.\n\nTHE SOFTWARE IS PROVIDED \"AS IS\", WITHOUT WARRANTY OF ANY KIND.";
        assert_eq!(ids(mit0), ["MIT-0"]);
        let isc = "Permission to use, copy, modify, and/or distribute this software for any\npurpose with or without fee is hereby granted, provided that the above\ncopyright notice and this permission notice appear in all copies.";
        assert_eq!(ids(isc), ["ISC"]);
        let zero = "Permission to use, copy, modify, and/or distribute this software for any\npurpose with or without fee is hereby granted.\n\nTHE SOFTWARE IS PROVIDED \"AS IS\"";
        assert_eq!(ids(zero), ["0BSD"]);
    }

    #[test]
    fn notices_name_their_license_and_gnu_grant() {
        assert_eq!(
            ids("Licensed under the Apache License, Version 2.0 (the \"License\");"),
            ["Apache-2.0"]
        );
        assert_eq!(
            ids(
                "This Source Code Form is subject to the terms of the Mozilla Public License,\nv. 2.0. If a copy"
            ),
            ["MPL-2.0"]
        );
        assert_eq!(
            ids(
                "psycopg2 is free software: you can redistribute it and/or modify it\nunder the terms of the GNU Lesser General Public License as published\nby the Free Software Foundation, either version 3 of the License, or\n(at your option) any later version."
            ),
            ["LGPL-3.0-or-later"]
        );
        assert_eq!(
            ids(
                "under the terms of the GNU General Public License as published by the Free Software Foundation; version 2 of the License."
            ),
            ["GPL-2.0-only"]
        );
        assert_eq!(
            ids("Like PIL, Pillow is licensed under the open source MIT-CMU License:"),
            ["MIT-CMU"]
        );
        // Prose that merely mentions licenses is not a notice.
        assert!(ids("Unless required by applicable law, software distributed under the License is distributed AS IS").is_empty());
    }

    #[test]
    fn gnu_appendix_notice_does_not_make_a_text_or_later() {
        let text = "GNU LESSER GENERAL PUBLIC LICENSE\n Version 2.1, February 1999\n\n ... terms ...\n\nHow to Apply These Terms\n\n    This library is free software; you can redistribute it and/or\n    modify it under the terms of the GNU Lesser General Public\n    License as published by the Free Software Foundation; either\n    version 2.1 of the License, or (at your option) any later version.\n";
        assert_eq!(ids(text), ["LGPL-2.1-only"]);
        let report = identify(text.as_bytes());
        assert_eq!(report.matches[0].ident.grant, Grant::Unstated);
        // A project's own notice *before* the text is honoured.
        let with_notice = format!(
            "mylib is licensed under the terms of the GNU Lesser General Public License as published by the Free Software Foundation; either version 2.1 of the License, or (at your option) any later version.\n\n{text}"
        );
        assert_eq!(ids(&with_notice), ["LGPL-2.1-or-later"]);
    }

    #[test]
    fn choice_language_belongs_to_the_main_statement_only() {
        let dual = identify(
            b"This software is made available under the terms of *either* of the licenses found in LICENSE.APACHE or LICENSE.BSD.",
        );
        assert!(dual.offers_choice());
        assert!(dual.matches.is_empty());
        let deep = identify(
            format!(
                "{BSD_CORE}{BSD_DISCLAIMER}\nbundled freetype: licensed under the MIT license ... you must choose one of the two; dual licensed"
            )
            .as_bytes(),
        );
        assert!(!deep.offers_choice());
        assert!(!identify(b"or (at your option) any later version").offers_choice());
    }

    #[test]
    fn lgpl3_text_absorbs_the_gpl3_text_it_builds_on() {
        let text = "GNU LESSER GENERAL PUBLIC LICENSE Version 3, 29 June 2007 ... \n\n GNU GENERAL PUBLIC LICENSE Version 3, 29 June 2007 ...";
        assert_eq!(ids(text), ["LGPL-3.0-only"]);
    }
}
