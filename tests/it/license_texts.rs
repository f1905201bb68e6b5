//! Text identification over the real SPDX texts (tests/fixtures/license-texts, from the SPDX
//! License List data): each text in several presentations, as the only license file of a
//! package whose metadata says nothing. Every answer must be the text's own license or unknown —
//! never another license — and at least 93 % of the texts with a template must be identified.

use std::path::Path;

use depdash::checks::licenses;
use depdash::model::LicenseMetadata;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/license-texts");

/// Curated expectations: `id<TAB>expected`, expected `unknown` for texts no template covers.
fn expectations() -> Vec<(String, String)> {
    std::fs::read_to_string(Path::new(DIR).join("EXPECTED.tsv"))
        .expect("EXPECTED.tsv")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (id, expected) = l.split_once('\t').expect("id<TAB>expected");
            (id.to_string(), expected.to_string())
        })
        .collect()
}

/// Paragraphs re-wrapped at 60 columns.
fn rewrap(text: &str) -> String {
    let mut out = String::new();
    for para in text.split("\n\n") {
        let mut line = 0;
        for word in para.split_whitespace() {
            if line + word.len() > 60 {
                out.push('\n');
                line = 0;
            } else if line > 0 {
                out.push(' ');
                line += 1;
            }
            out.push_str(word);
            line += word.len();
        }
        out.push_str("\n\n");
    }
    out
}

/// `<year>`, `<owner>` and the like filled in, and a copyright line on top.
fn filled(text: &str) -> String {
    let mut out = String::from("Copyright (c) 2013-2021 Acme Widgets, Inc. and contributors\n\n");
    let mut rest = text;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        match rest[open..].find('>') {
            Some(close) if close < 60 && !rest[open..open + close].contains('\n') => {
                let inner = &rest[open + 1..open + close];
                out.push_str(if inner.contains("year") {
                    "2021"
                } else {
                    "Acme Widgets, Inc."
                });
                rest = &rest[open + close + 1..];
            }
            _ => {
                out.push('<');
                rest = &rest[open + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn presentations(text: &str) -> Vec<(&'static str, String)> {
    vec![
        ("as published", text.to_string()),
        ("re-wrapped", rewrap(text)),
        ("markdown heading", format!("# License\n\n{text}")),
        (
            "preamble",
            format!("This project is distributed under the license reproduced below.\n\n{text}"),
        ),
        ("copyright filled", filled(text)),
    ]
}

fn answer(text: &str) -> (Option<String>, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("LICENSE"), text).unwrap();
    let r = licenses::resolve(&LicenseMetadata::default(), Some(dir.path()));
    let why = r.unknown_reason.clone().unwrap_or_default();
    (r.expression, why)
}

#[test]
fn real_spdx_texts_are_identified_or_unknown_never_wrong() {
    let mut wrong = Vec::new();
    let mut missed = Vec::new();
    let (mut with_template, mut identified, mut total) = (0usize, 0usize, 0usize);
    for (id, expected) in expectations() {
        let text = std::fs::read_to_string(Path::new(DIR).join(format!("{id}.txt")))
            .unwrap_or_else(|e| panic!("{id}: {e}"));
        for (how, shown) in presentations(&text) {
            total += 1;
            let (got, why) = answer(&shown);
            if expected != "unknown" {
                with_template += 1;
            }
            match got {
                Some(got) if got == expected => identified += 1,
                Some(got) => wrong.push(format!("{id} ({how}): got {got}, expected {expected}")),
                None if expected != "unknown" => {
                    missed.push(format!("{id} ({how}): unknown: {why}"))
                }
                None => {}
            }
        }
    }
    let rate = identified as f64 / with_template as f64;
    println!(
        "{total} presentations; {identified}/{with_template} texts with a template identified ({:.1} %); {} wrong",
        rate * 100.0,
        wrong.len()
    );
    for m in &missed {
        println!("missed: {m}");
    }
    for w in &wrong {
        println!("WRONG: {w}");
    }
    assert!(wrong.is_empty(), "confidently wrong:\n{}", wrong.join("\n"));
    assert!(rate >= 0.93, "identified {:.1} % < 93 %", rate * 100.0);
}
