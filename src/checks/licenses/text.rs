//! Identify licenses in a license *text* (a LICENSE file, or a whole text pasted into the
//! `License` field).
//!
//! The text is normalised once (lowercase words, punctuation dropped) and searched for:
//! - whole license texts, matched against the SPDX templates ([`super::matcher`]); a text with
//!   words no template explains that give or take rights ("shall not be used for ...") is a
//!   *problem*, never the license it resembles;
//! - notices ("licensed under the Apache License, Version 2.0", "under the terms of the GNU Lesser
//!   General Public License as published by the Free Software Foundation, either version 3 ... or
//!   (at your option) any later version"), read with the same name parser as the `License` field.
//!
//! Matches are ordered by position; together they are the text's answer (AND unless the text
//! offers a choice).

use std::sync::OnceLock;

use super::matcher::{self, Tokens, tokenize};
use super::names::{normalize, normalize_bytes, parse_piece};
use super::terms::{Grant, Ident, Term, is_gnu_base};

/// One license found in a text.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct TextMatch {
    pub ident: Ident,
    /// Byte offset in the normalised text.
    pub pos: usize,
    /// A license text (as opposed to a notice pointing at one).
    pub full_text: bool,
    /// For a text: the share of its SPDX template found.
    pub coverage: Option<f32>,
}

/// What a text contains.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct TextReport {
    /// Distinct licenses, in order of first appearance.
    pub matches: Vec<TextMatch>,
    /// Where dual-licensing language ("either of the licenses", "dual licensed") appears.
    pub choice_at: Option<usize>,
    /// SPDX exceptions whose text is present (to go `WITH` a GNU license).
    pub exceptions: Vec<&'static str>,
    /// Why the text cannot be taken at its word: a known license with additions, text beside
    /// the licenses that changes their meaning. Any problem makes the text's answer unknown.
    pub problems: Vec<String>,
    /// A long text in which nothing was found: what it resembles, for the unknown's reason.
    pub near_miss: Option<String>,
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
    "you may choose to",
    "under your choice of",
];

/// Where a notice starts; the words after it name the license.
const NOTICE_ANCHORS: &[&str] = &["under the", "licensed under", "subject to the terms of the"];

/// How much of the text is examined, in normalised bytes. License statements come first;
/// this bounds the cost on huge bundled-license files.
const MAX_SCAN: usize = 128 * 1024;

/// Most notice anchors ("under the") examined per text; bounds the cost on long texts.
const MAX_ANCHORS: usize = 400;

/// Words that give or take rights. Text that no template explains and that contains one of
/// these changes what the license means; headings, copyright lines and preambles do not.
const OPERATIVE: &[&str] = &[
    "shall",
    "must",
    "not",
    "prohibited",
    "prohibit",
    "restricted",
    "restriction",
    "restrictions",
    "except",
    "unless",
    "evil",
    "military",
    "nuclear",
    "commercial",
    "noncommercial",
    "sell",
    "fee",
    "royalty",
    "liable",
    "permission",
    "permitted",
    "condition",
    "conditions",
    "provided",
    "granted",
    "grant",
    "only",
];

/// Words inside a matched text that the template does not have but that are no more than a
/// filled-in name, year or title ("Acme Widgets, Inc.", "2007 2008 2009"): at most this many,
/// none of them [`changes_terms`].
const MAX_FILL_WORDS: usize = 12;

/// Words that, added inside a license text, change its terms (the BSD-3-Clause-HP disclaimer
/// adds "patent infringement"; restrictions say who may not use it for what).
fn changes_terms(word: &str) -> bool {
    is_operative(word)
        || matches!(
            word,
            "patent"
                | "patents"
                | "infringement"
                | "warranty"
                | "warranties"
                | "damages"
                | "liability"
                | "use"
                | "used"
                | "distribute"
                | "distributed"
                | "distribution"
                | "modify"
                | "modified"
                | "copy"
                | "copies"
                | "sublicense"
                | "revoke"
                | "terminate"
                | "advertising"
                | "endorse"
                | "promote"
                | "acknowledgment"
                | "attribution"
                | "redistribution"
                | "redistributions"
                | "good"
                | "harm"
                | "source"
                | "binary"
                | "without"
        )
}

/// Share of a template's required words a text must have to be taken as that license (the
/// matcher's lower threshold only locates it).
const CONFIDENT: f32 = 0.97;

/// Words around a notice anchor that belong to the notice ("you may not use this file except
/// in compliance with the License" follows the Apache notice).
const NOTICE_WORDS: usize = 60;

/// Identify the licenses in `text` (raw bytes: license files need not be UTF-8).
pub(crate) fn identify(text: &[u8]) -> TextReport {
    if let Some(ident) = debian_files_star(text) {
        return TextReport {
            matches: vec![TextMatch {
                ident,
                pos: 0,
                full_text: false,
                coverage: None,
            }],
            ..TextReport::default()
        };
    }
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

/// A Debian-style (DEP-5) copyright file: the `License:` of the `Files: *` stanza is the
/// package's license (other stanzas are exceptions for named files, as in scikit-image).
fn debian_files_star(text: &[u8]) -> Option<Ident> {
    let text = std::str::from_utf8(text).ok()?;
    let mut in_star = false;
    for line in text.lines() {
        let line = line.trim_end();
        if line.trim().is_empty() {
            in_star = false;
        } else if let Some(files) = line.trim_start().strip_prefix("Files:") {
            in_star = files.trim() == "*";
        } else if in_star && let Some(license) = line.trim_start().strip_prefix("License:") {
            let parsed = super::expression::parse(license.trim()).ok()?;
            if parsed.canonical.contains(' ') {
                return None;
            }
            return Some(Ident::from_spdx(&parsed.canonical, false));
        }
    }
    None
}

/// Phrases (notice anchors, choice language) found in one pass over word starts.
/// A dedication to the public domain in the text's own words (the Unlicense and CC0 texts
/// say it too, but they are matched as texts first).
const PUBLIC_DOMAIN: &[&str] = &[
    "placed in the public domain",
    "dedicated to the public domain",
    "released into the public domain",
    "dedicate the entire copyright",
];

/// What a phrase found in the text is.
#[derive(Clone, Copy, PartialEq)]
enum Phrase {
    Anchor,
    Choice,
    PublicDomain,
}

/// Phrases found in one pass over word starts: notice anchors (position, length), the first
/// choice language, public-domain dedications.
fn scan_phrases(norm: &str) -> (Vec<(usize, usize)>, Option<usize>, Vec<usize>) {
    static PHRASES: OnceLock<Vec<(String, Phrase)>> = OnceLock::new();
    let phrases = PHRASES.get_or_init(|| {
        NOTICE_ANCHORS
            .iter()
            .map(|p| (format!("{} ", normalize(p, false)), Phrase::Anchor))
            .chain(CHOICE.iter().map(|p| (normalize(p, false), Phrase::Choice)))
            .chain(
                PUBLIC_DOMAIN
                    .iter()
                    .map(|p| (normalize(p, false), Phrase::PublicDomain)),
            )
            .collect()
    });
    let bytes = norm.as_bytes();
    let mut anchors = Vec::new();
    let mut choice_at = None;
    let mut public_domain = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        for (phrase, kind) in phrases {
            if bytes[pos..].starts_with(phrase.as_bytes()) {
                match kind {
                    Phrase::Anchor if anchors.len() < MAX_ANCHORS => {
                        anchors.push((pos, phrase.len()));
                    }
                    Phrase::Anchor => {}
                    Phrase::Choice => {
                        choice_at.get_or_insert(pos);
                    }
                    Phrase::PublicDomain => public_domain.push(pos),
                }
            }
        }
        pos = match bytes[pos..].iter().position(|&b| b == b' ') {
            Some(space) => pos + space + 1,
            None => bytes.len(),
        };
    }
    (anchors, choice_at, public_domain)
}

/// Up to `max` words of the text in word range `from..to`, for evidence.
fn excerpt(norm: &str, tokens: &Tokens, from: usize, to: usize, max: usize) -> String {
    let to = to.min(tokens.offsets.len());
    if from >= to {
        return String::new();
    }
    let last = (to - 1).min(from + max - 1);
    let words: Vec<&str> = (from..=last).map(|w| word(norm, tokens, w)).collect();
    let more = if to - from > max { " …" } else { "" };
    format!("{}{more}", words.join(" "))
}

fn identify_normalized(norm: &str) -> TextReport {
    let tokens = tokenize(norm);
    let found = matcher::find(&tokens);
    let (anchors, choice_at, public_domain) = scan_phrases(norm);
    let word_at = |byte: usize| tokens.offsets.partition_point(|&o| o < byte);
    let inside = |w: usize| found.found.iter().any(|f| w >= f.start && w < f.end);

    let mut matches: Vec<TextMatch> = Vec::new();
    let mut exceptions: Vec<&'static str> = Vec::new();
    let mut problems: Vec<String> = Vec::new();
    for f in &found.found {
        if is_exception(f.id) {
            exceptions.push(f.id);
            continue;
        }
        let mut ident = Ident::from_spdx(f.id, false);
        if is_gnu_base(&ident.base) {
            // The text is the same for -only and -or-later: the grant is in a notice.
            ident.grant = Grant::Unstated;
        }
        // SPDX matching is strict: words the template does not have (beyond its variable
        // parts) or a part of it missing make the text a different license.
        for &(from, to) in &f.additions {
            let words = (from..to).map(|w| word(norm, &tokens, w));
            // Years do not count: "2001 2002 ... 2019" is one filled-in copyright.
            if words
                .clone()
                .filter(|w| !w.bytes().all(|b| b.is_ascii_digit()))
                .count()
                <= MAX_FILL_WORDS
                && words.clone().all(|w| !changes_terms(w))
            {
                continue;
            }
            problems.push(format!(
                "resembles {} ({:.0}% of its text) with additions: «{}»",
                f.id,
                f.coverage * 100.0,
                excerpt(norm, &tokens, from, to, 40)
            ));
        }
        if f.partial_optional {
            problems.push(format!(
                "resembles {} but an optional part of it (a disclaimer, an appendix) is replaced by other text",
                f.id
            ));
        }
        if f.additions.is_empty() && f.coverage < CONFIDENT {
            problems.push(format!(
                "resembles {} but only {:.0}% of its text is there",
                f.id,
                f.coverage * 100.0
            ));
        }
        matches.push(TextMatch {
            ident,
            pos: tokens.offsets.get(f.start).copied().unwrap_or(0),
            full_text: true,
            coverage: Some(f.coverage),
        });
    }

    // Notices outside the matched texts (a text's own appendix, such as the GPL's "How to
    // apply", is part of it). GNU notices after a GNU text are its appendix too.
    let gnu_text_at = matches
        .iter()
        .filter(|m| is_gnu_base(&m.ident.base))
        .map(|m| m.pos)
        .min();
    let mut notice_words: Vec<(usize, usize)> = Vec::new();
    for (pos, len) in anchors {
        let w = word_at(pos);
        if inside(w) {
            continue;
        }
        let Some(ident) = notice(&norm[pos + len..]) else {
            continue;
        };
        notice_words.push((w.saturating_sub(NOTICE_WORDS / 2), w + NOTICE_WORDS * 3 / 2));
        if is_gnu_base(&ident.base) && gnu_text_at.is_some_and(|g| pos > g) {
            continue;
        }
        matches.push(TextMatch {
            ident,
            pos,
            full_text: false,
            coverage: None,
        });
    }

    // A public-domain dedication outside the matched texts (docutils: "placed in the public
    // domain", with exceptions under other licenses).
    if let Some(&pos) = public_domain.iter().find(|&&p| !inside(word_at(p))) {
        matches.push(TextMatch {
            ident: Ident::plain("LicenseRef-Public-Domain"),
            pos,
            full_text: false,
            coverage: None,
        });
    }

    // Text outside every matched license that changes what it means.
    if !found.found.is_empty() {
        let names: Vec<&str> = found.found.iter().map(|f| f.id).collect();
        let mut chunk_start: Option<usize> = None;
        for w in 0..=tokens.ids.len() {
            let outside = w < tokens.ids.len() && !inside(w);
            match (outside, chunk_start) {
                (true, None) => chunk_start = Some(w),
                (false, Some(from)) => {
                    chunk_start = None;
                    let own: Vec<usize> = (from..w)
                        .filter(|x| !notice_words.iter().any(|&(s, e)| *x >= s && *x < e))
                        .collect();
                    let words: Vec<&str> = own.iter().map(|&x| word(norm, &tokens, x)).collect();
                    if restricts(&words) {
                        problems.push(format!(
                            "text besides {}: «{}»",
                            names.join(", "),
                            excerpt(norm, &tokens, from, w, 40)
                        ));
                    }
                }
                _ => {}
            }
        }
    }

    let near_miss = (matches.is_empty() && !tokens.ids.is_empty()).then(|| match found.near_miss {
        Some((id, c)) => format!(
            "{} words of text that match no known license (closest: {id}, {:.0}% of its text)",
            tokens.ids.len(),
            c * 100.0
        ),
        None => format!(
            "{} words of text that match no known license",
            tokens.ids.len()
        ),
    });
    TextReport {
        matches: merge(matches),
        choice_at,
        exceptions,
        problems,
        near_miss,
    }
}

fn word<'a>(norm: &'a str, tokens: &Tokens, w: usize) -> &'a str {
    let start = tokens.offsets[w];
    let end = norm[start..].find(' ').map_or(norm.len(), |e| start + e);
    &norm[start..end]
}

/// Whether prose beside a license text restricts it: an obligation or prohibition ("must",
/// "shall", "may not be used", "does not grant"), a field-of-use limit ("non-commercial",
/// "military", "Good, not Evil"). Histories, credits and pointers to other files do not.
fn restricts(words: &[&str]) -> bool {
    const SINGLE: &[&str] = &[
        // Obligations beyond the text's own ("must retain the following acknowledgment").
        "must",
        "shall",
        "prohibited",
        "prohibits",
        "restricted",
        "noncommercial",
        "evil",
        "military",
        "nuclear",
    ];
    words.iter().any(|w| SINGLE.contains(w))
        || words.windows(2).any(|p| {
            matches!(
                (p[0], p[1]),
                (
                    "shall" | "must" | "may" | "will" | "does" | "do" | "can",
                    "not"
                ) | (
                    "not",
                    "be" | "grant" | "include" | "sell" | "use" | "permitted"
                ) | ("non", "commercial")
                    | ("no", "right" | "rights")
                    | ("only", "for" | "be")
            )
        })
}

fn is_operative(word: &str) -> bool {
    OPERATIVE.contains(&word)
}

/// SPDX exception ids (the templates hold licenses and exceptions).
fn is_exception(id: &str) -> bool {
    id.contains("exception") || id.ends_with("-note")
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

    fn spdx_text(id: &str) -> String {
        let path = format!(
            "{}/tests/fixtures/license-texts/{id}.txt",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn ids(text: &str) -> Vec<String> {
        identify(text.as_bytes())
            .matches
            .iter()
            .map(|m| m.ident.render())
            .collect()
    }

    #[test]
    fn a_known_license_plus_a_restriction_is_a_problem_not_the_license() {
        let mit = spdx_text("MIT");
        let clause = "The Software shall not be used in any military or nuclear application.";
        for text in [
            format!("{mit}\n\n{clause}\n"),
            mit.replacen(
                "THE SOFTWARE IS PROVIDED",
                &format!("{clause}\n\nTHE SOFTWARE IS PROVIDED"),
                1,
            ),
        ] {
            let report = identify(text.as_bytes());
            assert_eq!(report.problems.len(), 1, "{report:?}");
            assert!(report.problems[0].contains("MIT"), "{:?}", report.problems);
            assert!(
                report.problems[0].contains("military"),
                "{:?}",
                report.problems
            );
        }
        // The Commons Clause appended to Apache-2.0 is not Apache-2.0.
        let commons = "\"Commons Clause\" License Condition v1.0\n\nThe Software is provided to you by the Licensor under the License, as defined below, subject to the following condition.\n\nWithout limiting other conditions in the License, the grant of rights under the License will not include, and the License does not grant to you, the right to Sell the Software.";
        let report = identify(format!("{}\n\n{commons}", spdx_text("Apache-2.0")).as_bytes());
        assert!(!report.problems.is_empty(), "{report:?}");
    }

    #[test]
    fn the_license_that_extends_a_known_one_is_named() {
        for (id, expected) in [
            ("X11", "X11"),
            ("JSON", "JSON"),
            ("curl", "curl"),
            ("bzip2-1.0.6", "bzip2-1.0.6"),
            ("OpenSSL", "OpenSSL"),
            ("Python-2.0", "Python-2.0"),
            ("MIT-CMU", "MIT-CMU"),
        ] {
            let report = identify(spdx_text(id).as_bytes());
            assert!(report.problems.is_empty(), "{id}: {:?}", report.problems);
            assert_eq!(ids(&spdx_text(id)), [expected], "{id}");
        }
    }

    #[test]
    fn two_texts_in_one_file_are_both_found_and_choice_is_read() {
        let both = format!("{}\n\n{}", spdx_text("MIT"), spdx_text("Apache-2.0"));
        let report = identify(both.as_bytes());
        assert_eq!(ids(&both), ["MIT", "Apache-2.0"]);
        assert!(!report.offers_choice());
        let dual = format!(
            "This software is dual licensed: you may choose either license below.\n\n{both}"
        );
        assert!(identify(dual.as_bytes()).offers_choice());
    }

    #[test]
    fn exception_texts_are_reported_beside_their_license() {
        let text = format!(
            "{}\n\n{}",
            spdx_text("GPL-2.0-only"),
            "Linking this library statically or dynamically with other modules is making a combined work based on this library. Thus, the terms and conditions of the GNU General Public License cover the whole combination.\n\nAs a special exception, the copyright holders of this library give you permission to link this library with independent modules to produce an executable, regardless of the license terms of these independent modules, and to copy and distribute the resulting executable under terms of your choice, provided that you also meet, for each linked independent module, the terms and conditions of the license of that module. An independent module is a module which is not derived from or based on this library. If you modify this library, you may extend this exception to your version of the library, but you are not obligated to do so. If you do not wish to do so, delete this exception statement from your version."
        );
        let report = identify(text.as_bytes());
        assert_eq!(report.exceptions, ["Classpath-exception-2.0"], "{report:?}");
        assert!(report.problems.is_empty(), "{:?}", report.problems);
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
        let text = spdx_text("LGPL-2.1-only");
        assert_eq!(ids(&text), ["LGPL-2.1-only"]);
        // A project's own notice *before* the text is honoured.
        let with_notice = format!(
            "mylib is licensed under the terms of the GNU Lesser General Public License as published by the Free Software Foundation; either version 2.1 of the License, or (at your option) any later version.\n\n{text}"
        );
        assert_eq!(ids(&with_notice), ["LGPL-2.1-or-later"]);
    }

    #[test]
    fn lgpl3_text_absorbs_the_gpl3_text_it_builds_on() {
        let text = format!(
            "{}\n\n{}",
            spdx_text("LGPL-3.0-only"),
            spdx_text("GPL-3.0-only")
        );
        assert_eq!(ids(&text), ["LGPL-3.0-only"]);
    }

    #[test]
    fn a_long_unknown_text_says_what_it_resembles() {
        let mit = spdx_text("MIT");
        let half: String = mit
            .split_whitespace()
            .take(130)
            .collect::<Vec<_>>()
            .join(" ");
        let report = identify(half.as_bytes());
        assert!(report.matches.is_empty(), "{report:?}");
        assert!(
            report
                .near_miss
                .as_deref()
                .is_some_and(|n| n.contains("MIT")),
            "{report:?}"
        );
    }
}
