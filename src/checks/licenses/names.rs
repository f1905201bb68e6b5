//! License *names* as people write them ("Apache 2.0", "new BSD", "GPLv3+", "LGPL with
//! exceptions", "MIT/X11") turned into terms. Serves the legacy `License` field, the fallback for
//! a `License-Expression` that is not SPDX, and the notices found in license texts ("licensed
//! under the MIT License"). Names too vague for one SPDX id become [`Vague`] terms, never guesses.

use std::borrow::Cow;

pub(crate) use super::normalize::{normalize, normalize_bytes};
use super::terms::{Family, Grant, Ident, Join, Reading, Term, Vague, is_gnu_base};

/// Words of a name, with list separators (`,` `;` `/` `&`) kept as words of their own.
fn name_words(raw: &str) -> Vec<String> {
    let mut spaced = String::with_capacity(raw.len() + 8);
    for ch in raw.chars() {
        if matches!(ch, ',' | ';' | '/' | '&') {
            spaced.push_str(" \u{1}");
            spaced.push(ch);
            spaced.push(' ');
        } else {
            spaced.push(ch);
        }
    }
    // Normalise each chunk separately so the separators survive.
    spaced
        .split(' ')
        .flat_map(|chunk| match chunk.strip_prefix('\u{1}') {
            Some(sep) => vec![sep.to_string()],
            None => normalize(chunk, true)
                .split(' ')
                .filter(|w| !w.is_empty())
                .map(|w| strip_version_v(w).to_string())
                .collect(),
        })
        .collect()
}

/// "GPLv3" normalises to `gplv 3`: give the family word back its own name.
fn strip_version_v(word: &str) -> &str {
    match word.strip_suffix('v') {
        Some(stem)
            if matches!(
                stem,
                "gpl"
                    | "lgpl"
                    | "agpl"
                    | "gfdl"
                    | "fdl"
                    | "mpl"
                    | "epl"
                    | "eupl"
                    | "zpl"
                    | "afl"
                    | "apache"
                    | "asl"
                    | "bsd"
                    | "psf"
                    | "cc"
            ) =>
        {
            stem
        }
        _ => word,
    }
}

/// Names in metadata longer than this are not names.
const MAX_NAME_WORDS: usize = 40;

/// Read a free-form license name or a short list of names ("Apache 2.0 or BSD", "public domain,
/// Python, 2-Clause BSD, GPL 3"). `None` when any part is not recognised. Notes say how a list
/// was read.
pub(crate) fn parse_names(raw: &str) -> Option<(Reading, Vec<String>)> {
    let mut words = name_words(raw);
    if words.is_empty() || words.len() > MAX_NAME_WORDS {
        return None;
    }
    // "(see LICENSE.txt)" and the like carry no license.
    if let Some(see) = words.iter().position(|w| w == "see") {
        words.truncate(see);
    }
    // "zlib/libpng" is one license.
    if let Some(i) = words.iter().position(|w| w == "zlib")
        && words.get(i + 1).is_some_and(|w| w == "/")
        && words.get(i + 2).is_some_and(|w| w == "libpng")
    {
        words.drain(i + 1..i + 3);
    }
    let mut pieces: Vec<Vec<&str>> = vec![Vec::new()];
    let (mut saw_or, mut saw_and, mut saw_comma) = (false, false, false);
    for (i, w) in words.iter().enumerate() {
        let next = words.get(i + 1).map(String::as_str);
        let continues_version = matches!(
            next,
            Some("later" | "any" | "newer" | "greater" | "above" | "higher")
        );
        let separator = match w.as_str() {
            "/" => Some(&mut saw_or),
            "or" if !continues_version => Some(&mut saw_or),
            "and" | "&" if !continues_version => Some(&mut saw_and),
            // "LGPL+BSD", "LGPLv2.1+ + BSD-3-Clause": a `+` before another license name joins
            // two licenses (AND); before nothing, "or later", or another `+`, it is the grant.
            "+" if next.is_some_and(|n| {
                n.starts_with(|c: char| c.is_ascii_alphabetic())
                    && !matches!(
                        n,
                        "or" | "and"
                            | "later"
                            | "any"
                            | "only"
                            | "newer"
                            | "with"
                            | "exception"
                            | "exceptions"
                            | "version"
                            | "v"
                    )
            }) =>
            {
                Some(&mut saw_and)
            }
            // "Apache License, Version 2.0": the comma continues the name.
            "," if matches!(next, Some("version" | "v")) => None,
            "," | ";" => Some(&mut saw_comma),
            _ => None,
        };
        match separator {
            Some(flag) => {
                *flag = true;
                pieces.push(Vec::new());
            }
            None if w == "," => {}
            None => pieces.last_mut()?.push(w.as_str()),
        }
    }
    pieces.retain(|p| !p.is_empty());
    if pieces.is_empty() {
        return None;
    }
    let mut notes = Vec::new();
    let join = match (saw_or, saw_and || saw_comma) {
        (true, true) => return None, // "A or B and C": precedence unknowable from prose.
        (true, false) => Join::Or,
        (false, _) => {
            if saw_comma && pieces.len() > 1 {
                notes.push(format!(
                    "`{}` lists several licenses without saying whether they are alternatives; read as AND (all apply), the stricter reading",
                    raw.trim()
                ));
            }
            Join::And
        }
    };
    let exception = named_exception(&words);
    if exception.is_none() && words.iter().any(|w| w == "exception" || w == "exceptions") {
        notes.push(format!(
            "`{}` mentions exceptions: extra permissions no SPDX id here captures (they only widen what is allowed)",
            raw.trim()
        ));
    }
    let said = raw.trim();
    // The exception's own words are not a license name.
    let exception_words: &[&str] = &[
        "with",
        "bootloader",
        "classpath",
        "gcc",
        "runtime",
        "library",
        "universal",
        "foss",
        "llvm",
        "linking",
        "exception",
        "exceptions",
    ];
    let pieces: Vec<Vec<&str>> = if exception.is_some() {
        pieces
            .into_iter()
            .map(|p| {
                p.into_iter()
                    .filter(|w| !exception_words.contains(w))
                    .collect::<Vec<_>>()
            })
            .filter(|p| !p.is_empty())
            .collect()
    } else {
        pieces
    };
    let mut terms = pieces
        .iter()
        .map(|p| parse_piece(p, if pieces.len() == 1 { said } else { "" }))
        .collect::<Option<Vec<Term>>>()?;
    // Rule 4: a named exception is part of the GNU license it is stated for.
    if let Some(exception) = exception {
        let mut attached = false;
        for t in &mut terms {
            if let Term::Exact(ident) = t
                && (is_gnu_base(&ident.base)
                    || (exception == "LLVM-exception" && ident.base == "Apache-2.0"))
            {
                ident.exception = Some(Cow::Borrowed(exception));
                attached = true;
            }
        }
        if !attached {
            return None;
        }
    }
    Some((Reading { terms, join }, notes))
}

/// An SPDX exception named in words ("GPLv2+ with Bootloader exception", "GPL-2.0 with the
/// Classpath exception", "GPLv3 with GCC runtime library exception").
fn named_exception(words: &[String]) -> Option<&'static str> {
    let has = |w: &str| words.iter().any(|x| x == w);
    if !(has("exception") || has("exceptions")) {
        return None;
    }
    let gpl3 = words.iter().any(|w| w.contains('3'));
    if has("bootloader") {
        Some("Bootloader-exception")
    } else if has("classpath") {
        Some("Classpath-exception-2.0")
    } else if has("gcc") || has("runtime") {
        Some(if gpl3 {
            "GCC-exception-3.1"
        } else {
            "GCC-exception-2.0"
        })
    } else if has("universal") && has("foss") {
        Some("Universal-FOSS-exception-1.0")
    } else if has("llvm") {
        Some("LLVM-exception")
    } else {
        None
    }
}

/// The first run of numbers: "gpl v 2 or later lgpl v 2 +" → [2]; "version 2 1" → [2, 1].
fn first_version(words: &[&str]) -> Vec<u32> {
    let mut out = Vec::new();
    for w in words {
        match w.parse::<u32>() {
            Ok(n) if n < 1000 => out.push(n),
            _ if !out.is_empty() => break,
            _ => {}
        }
    }
    out
}

/// An SPDX id built from a pattern and a version, if the SPDX list has it.
fn versioned(prefix: &str, version: &[u32], default_minor: u32) -> Option<Ident> {
    let (major, minor) = match version {
        [major] => (*major, default_minor),
        [major, minor] => (*major, *minor),
        _ => return None,
    };
    spdx::license_id(&format!("{prefix}{major}.{minor}")).map(|id| Ident::plain(id.name))
}

/// What the evidence said, for messages: the original text, or the words of a list piece.
/// Built only when a message needs it (most parses end in an exact id).
struct Said<'a> {
    given: &'a str,
    words: &'a [&'a str],
}

impl Said<'_> {
    fn text(&self) -> Cow<'static, str> {
        Cow::Owned(if self.given.is_empty() {
            self.words.join(" ")
        } else {
            self.given.to_string()
        })
    }
}

fn vague(
    family: Family,
    later: Grant,
    said: &Said<'_>,
    fallback: Option<(Ident, &'static str)>,
) -> Term {
    Term::Vague(Vague {
        family,
        grant: later,
        said: said.text(),
        fallback,
    })
}

/// One license name (already split into words). `said` is the original text for messages
/// (empty when the piece is part of a list: the words are quoted instead).
pub(crate) fn parse_piece(w: &[&str], said: &str) -> Option<Term> {
    let said = Said {
        given: said,
        words: w,
    };
    let has = |word: &str| w.contains(&word);
    let has_seq = |seq: &[&str]| w.windows(seq.len()).any(|win| win == seq);
    let version = first_version(w);
    let later = if has("+") || has("later") || has("newer") || has("greater") || has("higher") {
        Grant::OrLater
    } else if has("only") {
        Grant::Only
    } else {
        Grant::Unstated
    };
    // "BSD-like", "MIT-style": a family, not the license itself.
    let only_like = ["like", "style", "based", "similar", "derived", "inspired"]
        .iter()
        .any(|m| has(m));
    if has("compatible") {
        return Some(Term::Statement(said.text()));
    }

    let gnu = |family: Family| -> Option<Term> {
        let (prefix, known): (&str, &[(u32, u32)]) = match family {
            Family::Gpl(_) => ("GPL-", &[(1, 0), (2, 0), (3, 0)]),
            Family::Lgpl(_) => ("LGPL-", &[(2, 0), (2, 1), (3, 0)]),
            Family::Agpl => ("AGPL-", &[(1, 0), (3, 0)]),
            _ => ("GFDL-", &[(1, 1), (1, 2), (1, 3)]),
        };
        if only_like {
            return Some(vague(family, later, &said, None));
        }
        let pick = |major: u32, minor: u32| -> Option<Term> {
            known.iter().find(|k| **k == (major, minor))?;
            let id = spdx::license_id(&format!("{prefix}{major}.{minor}-only"))?;
            let base = id.name.strip_suffix("-only")?;
            Some(Term::Exact(Ident::gnu(base, later)))
        };
        match (family, version.as_slice()) {
            // No version at all.
            (Family::Agpl, []) => Some(vague(
                family,
                later,
                &said,
                Some((
                    Ident::gnu("AGPL-3.0", later),
                    "no AGPL version given; AGPL-3.0 assumed (AGPL-1.0 predates the GNU AGPL)",
                )),
            )),
            (Family::Gpl(_), []) => Some(vague(Family::Gpl(None), later, &said, None)),
            (Family::Lgpl(_), []) => Some(vague(Family::Lgpl(None), later, &said, None)),
            (_, []) => Some(vague(family, later, &said, None)),
            // "LGPL v2": Library 2.0 or Lesser 2.1 — not knowable.
            (Family::Lgpl(_), [2]) => Some(vague(
                Family::Lgpl(Some(2)),
                later,
                &said,
                (later == Grant::OrLater).then_some((
                    Ident::gnu("LGPL-2.0", Grant::OrLater),
                    "\"LGPL v2 or later\" without a minor version read literally as LGPL-2.0-or-later",
                )),
            )),
            (_, [major]) => pick(*major, if family == Family::Gfdl { 1 } else { 0 }),
            (_, [major, minor, ..]) => pick(*major, *minor),
        }
    };

    // Order matters: AGPL and LGPL before GPL; PSF before plain "python".
    if has("agpl") || has("affero") {
        return gnu(Family::Agpl);
    }
    if has("lgpl") || has("lesser") || has_seq(&["library", "general"]) {
        return gnu(Family::Lgpl(None));
    }
    if has("gpl") || (has_seq(&["general", "public"]) && has("gnu")) {
        return gnu(Family::Gpl(None));
    }
    if has("gfdl") || has("fdl") || has_seq(&["free", "documentation"]) {
        return gnu(Family::Gfdl);
    }
    if has("apache") || has("asl") {
        if only_like {
            return Some(vague(Family::Apache, Grant::NotGnu, &said, None));
        }
        return match version.as_slice() {
            [] => Some(vague(
                Family::Apache,
                Grant::NotGnu,
                &said,
                Some((
                    Ident::plain("Apache-2.0"),
                    "no Apache version given; Apache-2.0 assumed (1.x is long obsolete)",
                )),
            )),
            v => versioned("Apache-", v, 0).map(Term::Exact),
        };
    }
    if has("bsd") || has("freebsd") {
        if only_like {
            return Some(vague(Family::Bsd, Grant::NotGnu, &said, None));
        }
        let clauses = match version.first() {
            Some(n) => Some(*n),
            None if has("new") || has("modified") || has("revised") || has("three") => Some(3),
            None if has("simplified") || has("freebsd") || has("two") => Some(2),
            None if has("original") || has("old") || has("four") => Some(4),
            None if has("zero") => Some(0),
            None => None,
        };
        return match clauses {
            Some(0) => Some(Term::Exact(Ident::plain("0BSD"))),
            Some(2) => Some(Term::Exact(Ident::plain("BSD-2-Clause"))),
            Some(3) if has("clear") => Some(Term::Exact(Ident::plain("BSD-3-Clause-Clear"))),
            Some(3) => Some(Term::Exact(Ident::plain("BSD-3-Clause"))),
            Some(4) => Some(Term::Exact(Ident::plain("BSD-4-Clause"))),
            Some(_) => None,
            None => Some(vague(Family::Bsd, Grant::NotGnu, &said, None)),
        };
    }
    if has("mit") || has("expat") {
        if only_like {
            return Some(vague(Family::Mit, Grant::NotGnu, &said, None));
        }
        if version.first() == Some(&0) || has_seq(&["no", "attribution"]) {
            return Some(Term::Exact(Ident::plain("MIT-0")));
        }
        if has("cmu") {
            return Some(Term::Exact(Ident::plain("MIT-CMU")));
        }
        return Some(Term::Exact(Ident::plain("MIT")));
    }
    if has_seq(&["x", "11"]) {
        return Some(Term::Exact(Ident::plain("X11")));
    }
    if has("isc") || has("iscl") {
        return Some(Term::Exact(Ident::plain("ISC")));
    }
    if has_seq(&["python", "software", "foundation"]) || has("psf") || has("psfl") {
        return Some(Term::Exact(Ident::plain("PSF-2.0")));
    }
    if has("cnri") {
        return Some(Term::Exact(Ident::plain("CNRI-Python")));
    }
    if has("python") {
        return Some(vague(Family::Python, Grant::NotGnu, &said, None));
    }
    let versioned_family = |family: Family, prefix: &str, default_minor: u32| -> Option<Term> {
        if only_like || version.is_empty() {
            return Some(vague(family, Grant::NotGnu, &said, None));
        }
        versioned(prefix, &version, default_minor).map(Term::Exact)
    };
    if has("mpl") || has("mozilla") {
        return versioned_family(Family::Mpl, "MPL-", 0);
    }
    if has("epl") || has("eclipse") {
        return versioned_family(Family::Epl, "EPL-", 0);
    }
    if has("eupl") || has_seq(&["european", "union"]) {
        return versioned_family(Family::Eupl, "EUPL-", 0);
    }
    if has("zpl") || has("zope") {
        return versioned_family(Family::Zope, "ZPL-", 0);
    }
    if has("artistic") {
        return versioned_family(Family::Artistic, "Artistic-", 0);
    }
    if has("afl") || has_seq(&["academic", "free"]) {
        return versioned_family(Family::Afl, "AFL-", 0);
    }
    if has("unlicense") {
        return Some(Term::Exact(Ident::plain("Unlicense")));
    }
    if has_seq(&["cc", "0"]) || has_seq(&["creative", "commons", "zero"]) {
        return Some(Term::Exact(Ident::plain("CC0-1.0")));
    }
    if has_seq(&["public", "domain"]) {
        return Some(vague(
            Family::PublicDomain,
            Grant::NotGnu,
            &said,
            Some((
                Ident::plain("LicenseRef-Public-Domain"),
                "public domain has no SPDX license id; reported as LicenseRef-Public-Domain so a policy can allow it by name",
            )),
        ));
    }
    let exact = |id: &'static str| Some(Term::Exact(Ident::plain(id)));
    if has("zlib") {
        return exact("Zlib");
    }
    if has("boost") || has("bsl") {
        return exact("BSL-1.0");
    }
    if has("wtfpl") {
        return exact("WTFPL");
    }
    if has("hpnd") || has_seq(&["historical", "permission"]) {
        return exact("HPND");
    }
    if has("postgresql") {
        return exact("PostgreSQL");
    }
    if has("proprietary")
        || has("commercial")
        || has_seq(&["all", "rights", "reserved"])
        || has_seq(&["closed", "source"])
    {
        return Some(vague(
            Family::Other,
            Grant::NotGnu,
            &said,
            Some((
                Ident::plain("LicenseRef-Proprietary"),
                "a proprietary license has no SPDX id; reported as LicenseRef-Proprietary so a policy can allow it by name",
            )),
        ));
    }
    if has("dual") || has("multiple") {
        return Some(Term::Statement(said.text()));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(raw: &str) -> Term {
        let (reading, _) = parse_names(raw).unwrap_or_else(|| panic!("`{raw}` not recognised"));
        assert_eq!(reading.terms.len(), 1, "{raw}: {reading:?}");
        reading.terms.into_iter().next().unwrap()
    }

    fn exact(raw: &str) -> String {
        match one(raw) {
            Term::Exact(i) => i.render(),
            other => panic!("`{raw}` → {other:?}, expected an exact id"),
        }
    }

    fn family(raw: &str) -> Family {
        match one(raw) {
            Term::Vague(v) => v.family,
            other => panic!("`{raw}` → {other:?}, expected vague"),
        }
    }

    #[test]
    fn normalize_splits_letters_digits_and_keeps_plus() {
        assert_eq!(normalize("GPLv3+", true), "gplv 3 +");
        assert_eq!(
            normalize("Apache License, Version 2.0", false),
            "apache license version 2 0"
        );
        assert_eq!(normalize("  «MIT»  ", false), "mit");
        assert_eq!(normalize("0BSD", false), "0 bsd");
    }

    #[test]
    fn common_spellings_map_to_exact_ids() {
        for (raw, id) in [
            ("Apache 2.0", "Apache-2.0"),
            ("Apache License 2.0", "Apache-2.0"),
            ("Apache License, Version 2.0", "Apache-2.0"),
            ("Apache Software License 2.0", "Apache-2.0"),
            ("ASL 2.0", "Apache-2.0"),
            ("new BSD", "BSD-3-Clause"),
            ("New BSD License", "BSD-3-Clause"),
            ("3-clause BSD", "BSD-3-Clause"),
            ("BSD 3-Clause License", "BSD-3-Clause"),
            ("Modified BSD License", "BSD-3-Clause"),
            ("Simplified BSD", "BSD-2-Clause"),
            ("2-Clause BSD", "BSD-2-Clause"),
            ("Zero-Clause BSD", "0BSD"),
            ("MIT License", "MIT"),
            ("MIT license", "MIT"),
            ("The MIT License (MIT)", "MIT"),
            ("Expat", "MIT"),
            ("MIT No Attribution", "MIT-0"),
            ("GPLv3+", "GPL-3.0-or-later"),
            ("GPL-3.0+", "GPL-3.0-or-later"),
            ("GPLv2 or later", "GPL-2.0-or-later"),
            ("GNU GPL v2", "GPL-2.0-only"),
            ("GPL-3.0-only", "GPL-3.0-only"),
            ("LGPLv2.1+", "LGPL-2.1-or-later"),
            ("LGPL-2.1", "LGPL-2.1-only"),
            (
                "GNU Lesser General Public License v3 or later (LGPLv3+)",
                "LGPL-3.0-or-later",
            ),
            ("AGPLv3", "AGPL-3.0-only"),
            ("MPL 2.0", "MPL-2.0"),
            ("Mozilla Public License 2.0 (MPL 2.0)", "MPL-2.0"),
            ("PSF", "PSF-2.0"),
            ("Python Software Foundation License", "PSF-2.0"),
            ("PSF License Version 2", "PSF-2.0"),
            ("ISC license", "ISC"),
            ("ISCL", "ISC"),
            ("zlib/libpng", "Zlib"),
            ("Unlicense", "Unlicense"),
            ("CC0", "CC0-1.0"),
            ("Boost Software License", "BSL-1.0"),
            ("EPL 2.0", "EPL-2.0"),
            ("EUPL 1.2", "EUPL-1.2"),
            ("ZPL 2.1", "ZPL-2.1"),
            ("Artistic License 2.0", "Artistic-2.0"),
            ("HPND", "HPND"),
            ("open source MIT-CMU", "MIT-CMU"),
        ] {
            assert_eq!(exact(raw), id, "{raw}");
        }
    }

    #[test]
    fn vague_names_stay_vague() {
        assert_eq!(family("BSD"), Family::Bsd);
        assert_eq!(family("BSD License"), Family::Bsd);
        assert_eq!(family("BSD-style"), Family::Bsd);
        assert_eq!(family("MIT-like"), Family::Mit);
        assert_eq!(family("GPL"), Family::Gpl(None));
        assert_eq!(family("LGPL"), Family::Lgpl(None));
        assert_eq!(family("LGPL with exceptions"), Family::Lgpl(None));
        assert_eq!(family("LGPLv2"), Family::Lgpl(Some(2)));
        assert_eq!(family("MPL"), Family::Mpl);
        assert_eq!(family("Python"), Family::Python);
        assert_eq!(family("Public Domain"), Family::PublicDomain);
        assert_eq!(family("Proprietary"), Family::Other);
        // Apache without a version is vague but has a documented fallback.
        match one("Apache") {
            Term::Vague(v) => assert_eq!(v.fallback.unwrap().0.render(), "Apache-2.0"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn lists_split_on_or_and_commas() {
        let (r, notes) = parse_names("Apache 2.0 or BSD-3-Clause").unwrap();
        assert_eq!(r.join, Join::Or);
        assert_eq!(r.render().unwrap(), "Apache-2.0 OR BSD-3-Clause");
        assert!(notes.is_empty());
        let (r, notes) =
            parse_names("public domain, Python, 2-Clause BSD, GPL 3 (see COPYING.txt)").unwrap();
        assert_eq!(r.join, Join::And);
        assert_eq!(r.terms.len(), 4);
        assert_eq!(r.terms[2], Term::Exact(Ident::plain("BSD-2-Clause")));
        assert_eq!(
            r.terms[3],
            Term::Exact(Ident::gnu("GPL-3.0", Grant::Unstated))
        );
        assert_eq!(notes.len(), 1);
        // "or later" is not a separator.
        let (r, _) = parse_names("GNU GPL v2 or later").unwrap();
        assert_eq!(r.render().unwrap(), "GPL-2.0-or-later");
        assert!(matches!(one("Dual License"), Term::Statement(_)));
    }

    #[test]
    fn unknown_names_are_not_recognised() {
        assert!(parse_names("Frobnicator Public License").is_none());
        assert!(parse_names("").is_none());
        assert!(parse_names("GPL 7").is_none());
        assert!(parse_names("MIT or GPL and BSD").is_none());
    }
}
