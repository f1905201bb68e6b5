//! The word normaliser license names, texts and the SPDX templates all go through, so that
//! case, whitespace and punctuation never decide a match. Depends on `std` alone: the build
//! script compiles the templates with it too (`build.rs`), and both sides must agree word for
//! word.

/// Lowercase ASCII words with letters and digits split apart (`GPLv3+` → `gpl v 3 +`). Any other
/// character separates words; `+` becomes a word of its own when `keep_plus`.
pub(crate) fn normalize(text: &str, keep_plus: bool) -> String {
    normalize_bytes(text.as_bytes(), keep_plus)
}

/// Character classes for [`normalize_bytes`]: separator, letter, digit.
const SEP: u8 = 0;
const ALPHA: u8 = 1;
const DIGIT: u8 = 2;
const PLUS: u8 = 3;
const CLASS: [u8; 256] = {
    let mut table = [SEP; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        if c.is_ascii_alphabetic() {
            table[b] = ALPHA;
        } else if c.is_ascii_digit() {
            table[b] = DIGIT;
        }
        b += 1;
    }
    table
};

/// [`normalize`] on raw bytes (license files need not be UTF-8): every byte of a multi-byte
/// character is >= 0x80, a separator, so no decoding is needed.
pub(crate) fn normalize_bytes(text: &[u8], keep_plus: bool) -> String {
    if keep_plus {
        normalize_runs::<true>(text)
    } else {
        normalize_runs::<false>(text)
    }
}

/// The run scanner, compiled separately for texts (no `+` words) and names.
fn normalize_runs<const KEEP_PLUS: bool>(text: &[u8]) -> String {
    let class = |b: u8| {
        if KEEP_PLUS && b == b'+' {
            PLUS
        } else {
            CLASS[usize::from(b)]
        }
    };
    let mut out: Vec<u8> = Vec::with_capacity(text.len());
    let mut i = 0;
    // Runs of one class: separators are skipped, letter and digit runs become words (lowercased
    // in bulk), each '+' a word of its own.
    while i < text.len() {
        let kind = class(text[i]);
        if kind == SEP {
            i += 1;
            continue;
        }
        let start = i;
        i += 1;
        if kind != PLUS {
            while i < text.len() && class(text[i]) == kind {
                i += 1;
            }
        }
        if !out.is_empty() {
            out.push(b' ');
        }
        out.extend(text[start..i].iter().map(u8::to_ascii_lowercase));
    }
    // Only ASCII letters, digits, spaces and '+' were pushed.
    String::from_utf8(out).unwrap_or_default()
}
