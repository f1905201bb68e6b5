//! Metadata-only license answers (no directory to read files from), remembered for the
//! process. A warm check of 10,000 packages asked [`super::resolve::resolve`] the same few
//! questions about 20,000 times (each index release document, once while fetching and once while
//! evaluating), at ~16,000 instructions each: 12 % of the run. The answer is a function of the
//! fields alone, so a remembered one is the same answer.
//!
//! Bounded: a key over [`MAX_KEY_BYTES`] (a whole license text pasted into the `License` field)
//! is resolved every time, and the memo is emptied when its keys pass [`MAX_BYTES`].

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex, MutexGuard};

use super::resolve;
use crate::model::{LicenseMetadata, ResolvedLicense};

/// Largest key remembered, in bytes of its fields.
const MAX_KEY_BYTES: usize = 16 * 1024;
/// Bytes of keys remembered before the memo starts over.
const MAX_BYTES: usize = 4 * 1024 * 1024;

#[derive(Default)]
struct Memo {
    answers: HashMap<LicenseMetadata, ResolvedLicense>,
    bytes: usize,
}

static MEMO: LazyLock<Mutex<Memo>> = LazyLock::new(Default::default);

fn memo() -> MutexGuard<'static, Memo> {
    // A panic elsewhere while holding it cannot leave a wrong answer: entries are inserted whole.
    MEMO.lock().unwrap_or_else(|p| p.into_inner())
}

fn key_bytes(meta: &LicenseMetadata) -> usize {
    let optional = |s: &Option<String>| s.as_ref().map_or(0, String::len);
    let list = |l: &[String]| l.iter().map(|s| s.len() + 1).sum::<usize>();
    optional(&meta.expression)
        + optional(&meta.license_field)
        + list(&meta.classifiers)
        + list(&meta.license_files)
}

/// `resolve::resolve(meta, None)`, remembered.
pub(super) fn resolve_fields(meta: &LicenseMetadata) -> ResolvedLicense {
    let size = key_bytes(meta);
    if size > MAX_KEY_BYTES {
        return resolve::resolve(meta, None);
    }
    if let Some(answer) = memo().answers.get(meta) {
        return answer.clone();
    }
    // Resolved outside the lock: two threads may both resolve one key, never wait on each other.
    let answer = resolve::resolve(meta, None);
    let mut memo = memo();
    if memo.bytes + size > MAX_BYTES {
        *memo = Memo::default();
    }
    if memo.answers.insert(meta.clone(), answer.clone()).is_none() {
        memo.bytes += size;
    }
    answer
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn field() -> impl Strategy<Value = Option<String>> {
        proptest::option::of(prop::sample::select(vec![
            "MIT",
            "BSD",
            "Apache 2.0",
            "GPLv3+",
            "MIT OR Apache-2.0",
            "LGPL with exceptions",
            "UNKNOWN",
            "",
        ]))
        .prop_map(|s| s.map(str::to_string))
    }

    fn metadata() -> impl Strategy<Value = LicenseMetadata> {
        let classifier = prop::sample::select(vec![
            "License :: OSI Approved :: MIT License",
            "License :: OSI Approved :: BSD License",
            "License :: OSI Approved :: Apache Software License",
            "License :: Other/Proprietary License",
        ]);
        (field(), field(), prop::collection::vec(classifier, 0..3)).prop_map(
            |(expression, license_field, classifiers)| LicenseMetadata {
                expression,
                license_field,
                classifiers: classifiers.into_iter().map(str::to_string).collect(),
                license_files: Vec::new(),
            },
        )
    }

    proptest! {
        #[test]
        fn a_remembered_answer_is_the_answer(meta in metadata()) {
            let fresh = resolve::resolve(&meta, None);
            prop_assert_eq!(&resolve_fields(&meta), &fresh);
            prop_assert_eq!(&resolve_fields(&meta), &fresh);
        }
    }

    #[test]
    fn whole_texts_are_not_remembered_and_the_memo_stays_bounded() {
        let text = "Permission is hereby granted, free of charge. ".repeat(1_000);
        let meta = LicenseMetadata {
            license_field: Some(text),
            ..LicenseMetadata::default()
        };
        assert_eq!(resolve_fields(&meta), resolve::resolve(&meta, None));
        assert!(!memo().answers.contains_key(&meta));
        for i in 0..2_000 {
            let meta = LicenseMetadata {
                license_field: Some(format!("{i} {}", "x".repeat(8_000))),
                ..LicenseMetadata::default()
            };
            resolve_fields(&meta);
            assert!(memo().bytes <= MAX_BYTES);
        }
    }
}
