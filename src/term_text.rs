//! Text from outside (metadata, license text, advisories, index answers, file names) made safe
//! for a terminal, which obeys escape sequences: control characters and invisible formatting
//! characters are shown as `\u{..}` instead of being sent raw. Machine formats (JSON, JUnit,
//! SARIF) keep the exact text and escape it their own way; only terminal output goes through here.

use std::borrow::Cow;

/// A character a terminal would act on or hide rather than show: C0 controls (ESC, BEL, CR,
/// backspace…), DEL, C1 controls (CSI `U+009B` starts a sequence on its own in some terminals),
/// bidirectional overrides and isolates (they reorder what is shown: "Trojan Source"), zero-width
/// characters, line and paragraph separators and the BOM.
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{2069}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
        )
}

/// `text` with every unsafe character written as a visible `\u{..}` escape (a tab as a space).
/// Borrows when there is nothing to change, which is nearly always.
pub fn clean(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\t' => out.push(' '),
            c if is_unsafe(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// [`clean`] for text that may span lines (a multi-line message): line feeds are kept, every
/// other unsafe character is escaped.
pub fn clean_lines(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| c != '\n' && is_unsafe(c)) {
        return Cow::Borrowed(text);
    }
    let lines: Vec<Cow<'_, str>> = text.split('\n').map(clean).collect();
    Cow::Owned(lines.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_become_visible_and_plain_text_is_borrowed() {
        assert!(matches!(clean("requests 2.31.0 — ok"), Cow::Borrowed(_)));
        assert_eq!(clean("a\x1b[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(clean("x\u{9b}31m"), "x\\u{9b}31m");
        assert_eq!(clean("evil\u{202e}txt.exe"), "evil\\u{202e}txt.exe");
        assert_eq!(clean("bell\x07\x7f"), "bell\\u{7}\\u{7f}");
        assert_eq!(clean("tab\there"), "tab here");
        assert_eq!(clean("one\ntwo"), "one\\u{a}two");
        assert_eq!(
            clean_lines("one\ntwo\x1b]0;t\x07"),
            "one\ntwo\\u{1b}]0;t\\u{7}"
        );
        assert!(
            !clean("\u{2066}x\u{2069}\u{200b}\u{feff}")
                .chars()
                .any(is_unsafe)
        );
    }
}
