//! PEP 508 requirement strings (requirements lines, `Requires-Dist` values) parsed without
//! crashing on hostile input: one entry point over `pep508_rs` for the inventory and the
//! dependency analysis.

use std::str::FromStr;

use pep508_rs::Requirement;

/// A PEP 508 requirement that could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at column {})", .column + 1)]
pub struct RequirementError {
    pub message: String,
    /// 0-based, in characters of the text given.
    pub column: usize,
}

/// Parse one PEP 508 requirement (a requirements line, a `Requires-Dist` value).
///
/// pep508_rs 0.9.2 panics (an `expect` on its own name validation) on a project or extra name
/// that ends in `.`, `-` or `_` and is followed by more text (`a- ==1`, `a[x-]`), found by
/// fuzzing: such names are refused here before it sees them, and any other panic inside it is
/// caught and reported as an unparseable requirement rather than ending the run.
pub fn parse_requirement(text: &str) -> Result<Requirement, RequirementError> {
    if let Some(err) = bad_name_or_extra(text) {
        return Err(err);
    }
    match std::panic::catch_unwind(|| Requirement::from_str(text)) {
        Ok(Ok(requirement)) => Ok(requirement),
        Ok(Err(e)) => Err(RequirementError {
            message: e.message.to_string(),
            // pep508_rs counts bytes; the column is in characters.
            column: text.get(..e.start).map_or(e.start, |p| p.chars().count()),
        }),
        Err(_) => Err(RequirementError {
            message: "not a PEP 508 requirement (its parser failed on it)".to_string(),
            column: 0,
        }),
    }
}

/// The name a requirement starts with (what its parse names, when it parses): after leading
/// whitespace, up to the first character a name cannot hold. Cheap: for skipping requirements
/// on other projects unparsed.
pub fn leading_name(text: &str) -> &str {
    let text = text.trim_start();
    &text[..text.find(|c: char| !is_name_char(c)).unwrap_or(text.len())]
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')
}

/// A project name, or an extra in `[...]` right after it, that ends in a separator while more
/// text follows: the inputs pep508_rs 0.9.2 panics on.
fn bad_name_or_extra(text: &str) -> Option<RequirementError> {
    let refuse = |name: &str, end_byte: usize| {
        let last = name.chars().last()?;
        matches!(last, '.' | '-' | '_').then(|| RequirementError {
            message: format!("package or extra name must end with a letter or digit, not `{last}`"),
            column: text[..end_byte].chars().count().saturating_sub(1),
        })
    };
    let start = text.len() - text.trim_start().len();
    let name_end = text[start..]
        .find(|c: char| !is_name_char(c))
        .map_or(text.len(), |i| start + i);
    if name_end < text.len()
        && let Some(err) = refuse(&text[start..name_end], name_end)
    {
        return Some(err);
    }
    let rest = &text[name_end..];
    let open = name_end + rest.len() - rest.trim_start().len();
    if !text[open..].starts_with('[') {
        return None;
    }
    // An unclosed `[` is an error pep508_rs reports, but it validates the names before.
    let close = text[open..].find(']').map_or(text.len(), |i| open + i);
    let mut at = open + 1;
    for extra in text[open + 1..close].split(',') {
        // As pep508_rs reads an extra: the run of name characters after any whitespace.
        let lead = extra.len() - extra.trim_start().len();
        let run = &extra[lead..];
        let name = &run[..run.find(|c: char| !is_name_char(c)).unwrap_or(run.len())];
        if let Some(err) = refuse(name, at + lead + name.len()) {
            return Some(err);
        }
        at += extra.len() + 1;
    }
    None
}
