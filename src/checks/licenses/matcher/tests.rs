//! Matcher tests: whole texts, additions, several texts in one file, and the pre-filter's
//! bounds on the shipped SPDX texts.

use super::*;
use crate::checks::licenses::names::normalize;

fn ids(text: &str) -> Vec<&'static str> {
    find(&tokenize(&normalize(text, false)))
        .found
        .iter()
        .map(|f| f.id)
        .collect()
}

#[test]
fn every_template_compiles_with_required_words() {
    let lib = library();
    assert!(lib.templates.len() > 100);
    for t in &lib.templates {
        assert!(
            t.required_total > 10,
            "{} has {} required words",
            t.id,
            t.required_total
        );
    }
    assert!(lib.vocabulary.len() < usize::from(FOREIGN));
}

const MIT: &str = "Copyright (c) 2024 Jane Doe\n\nPermission is hereby granted, free of charge, to any person obtaining a copy of this software and associated documentation files (the \"Software\"), to deal in the Software without restriction, including without limitation the rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of the Software, and to permit persons to whom the Software is furnished to do so, subject to the following conditions:\n\nThe above copyright notice and this permission notice shall be included in all copies or substantial portions of the Software.\n\nTHE SOFTWARE IS PROVIDED \"AS IS\", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.\n";

#[test]
fn a_whole_text_is_found_with_its_extent() {
    let m = find(&tokenize(&normalize(MIT, false)));
    assert_eq!(m.found.len(), 1, "{m:?}");
    assert_eq!(m.found[0].id, "MIT");
    assert!(m.found[0].coverage > 0.99);
    assert!(m.found[0].additions.is_empty(), "{m:?}");
}

#[test]
fn a_clause_inside_the_text_is_an_addition() {
    let text = MIT.replace(
        "Software.\n\nTHE",
        "Software.\n\nThe Software shall be used for Good, not Evil.\n\nTHE",
    );
    let m = find(&tokenize(&normalize(&text, false)));
    // The JSON license is exactly that: found as JSON, not as MIT.
    assert_eq!(ids(&text), ["JSON"], "{m:?}");
    let text = MIT.replace(
        "Software.\n\nTHE",
        "Software.\n\nThe Software may not be used in military applications of any kind.\n\nTHE",
    );
    let m = find(&tokenize(&normalize(&text, false)));
    assert_eq!(m.found.len(), 1);
    assert_eq!(m.found[0].id, "MIT");
    assert_eq!(m.found[0].additions.len(), 1, "{m:?}");
}

/// The pre-filter is exact: on the real SPDX texts (alone and two joined), no template's
/// alignment finds more coverage or a higher score than the bounds that filter and order
/// the templates.
#[test]
fn bounds_hold_for_every_template_on_the_spdx_texts() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/license-texts");
    let mut texts: Vec<String> = std::fs::read_dir(dir)
        .expect("fixture dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .map(|p| std::fs::read_to_string(p).expect("fixture text"))
        .collect();
    texts.sort();
    assert!(texts.len() > 100, "{} texts", texts.len());
    let joined: Vec<String> = texts
        .windows(2)
        .step_by(7)
        .map(|w| format!("{}\n\n{}", w[0], w[1]))
        .collect();
    let lib = library();
    let mut aligned = 0;
    for text in texts.iter().chain(&joined) {
        let ids = tokenize(&normalize(text, false)).ids;
        let bag = TextBag::new(&ids, lib.vocabulary.len());
        let mut hits: Vec<Vec<(u32, u32)>> = vec![Vec::new(); lib.templates.len()];
        for (i, w) in ids.windows(N).enumerate() {
            for (t, j) in lib.postings(gram(w)) {
                hits[usize::from(t)].push((i as u32, j));
            }
        }
        for (t, hits) in lib.templates.iter().zip(&hits) {
            let Some((matched, found)) = align(t, &ids, hits) else {
                continue;
            };
            aligned += 1;
            let coverage_bound = bag.coverage_bound(t);
            assert!(
                found.coverage <= coverage_bound,
                "{}: {found:?} > {coverage_bound}",
                t.id
            );
            let score = score(t, matched, found.coverage);
            assert!(
                score <= bag.score_bound(t, coverage_bound),
                "{}: score {score}",
                t.id
            );
        }
    }
    assert!(aligned > texts.len(), "{aligned} alignments");
}

#[test]
fn two_texts_in_one_file_are_both_found() {
    let apache_notice = "Licensed under the Apache License";
    let text = format!("{MIT}\n\n{MIT}\n{apache_notice}");
    assert_eq!(ids(&text), ["MIT", "MIT"]);
}

#[test]
fn the_shipped_library_is_the_templates_compiled_now() {
    let now = library::encode(&library::compile(TEMPLATES));
    assert!(COMPILED == now.as_slice(), "build.rs output differs");
    let lib = decode(COMPILED).expect("the shipped library decodes");
    let compiled = library::compile(TEMPLATES);
    assert_eq!(lib.templates.len(), compiled.templates.len());
    assert_eq!(lib.vocabulary.len(), compiled.vocabulary.len());
    for (id, word) in compiled.vocabulary.iter().enumerate() {
        assert_eq!(lib.vocabulary.get(word.as_str()), Some(&(id as u16)));
    }
    for (a, b) in lib.templates.iter().zip(&compiled.templates) {
        assert_eq!(
            (a.id, &a.words, &a.required, &a.var_words),
            (b.id, &b.words, &b.required, &b.var_words)
        );
        assert_eq!(
            (a.required_total, &a.bag, &a.blocks),
            (b.required_total, &b.bag, &b.blocks)
        );
    }
    let grams: Vec<_> = lib.grams.iter().map(super::gram_of).collect();
    let postings: Vec<_> = lib.postings.iter().map(super::posting_of).collect();
    assert_eq!(grams, compiled.grams);
    assert_eq!(postings, compiled.postings);
}

#[test]
fn a_cut_or_altered_library_is_refused_not_misread() {
    // Every cut in the header and the first words, then 40 spread over the rest (a cut decodes
    // everything before it: more would make the test slow, not stronger).
    let step = (COMPILED.len() / 40).max(1);
    let cuts = (0..COMPILED.len().min(1_024)).chain((1_024..COMPILED.len()).step_by(step));
    for cut in cuts {
        assert!(decode(&COMPILED[..cut]).is_none(), "cut at {cut} decoded");
    }
    let mut bad_magic = COMPILED.to_vec();
    bad_magic[7] ^= 0xff;
    assert!(decode(Box::leak(bad_magic.into_boxed_slice())).is_none());
    // A count far beyond the bytes: refused, without an allocation of that size first.
    let mut huge_count = COMPILED.to_vec();
    huge_count[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(decode(Box::leak(huge_count.into_boxed_slice())).is_none());
    let mut trailing = COMPILED.to_vec();
    trailing.push(0);
    assert!(decode(Box::leak(trailing.into_boxed_slice())).is_none());
}
