//! SPDX expression parsing that forgives what real metadata gets wrong — wrong case (`mit`),
//! `/` for OR, `GPL-2.0+`, deprecated ids (`LGPL-2.1`) — and says so in notes. Everything it
//! returns is in canonical SPDX form.

use std::collections::HashMap;
use std::sync::OnceLock;

use spdx::expression::{ExprNode, Operator};
use spdx::{Expression, LicenseItem, LicenseReq, ParseMode};

/// Lenient but never guessing: no "imprecise names" (the spdx crate maps `bsd` to BSD-2-Clause
/// and `gnu gpl v2` to GPL-3.0-only, which are guesses or wrong) and no unknown ids.
pub(crate) const LENIENT: ParseMode = ParseMode {
    allow_slash_as_or_operator: true,
    allow_imprecise_license_names: false,
    allow_postfix_plus_on_gpl: true,
    allow_deprecated: true,
    allow_unknown: false,
};

/// A parsed expression in canonical form, with what had to be forgiven to get there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Parsed {
    pub canonical: String,
    pub notes: Vec<String>,
}

/// Parse an SPDX expression: strictly if possible, otherwise with case fixed, `/` read as OR,
/// `+` on GNU ids and deprecated ids replaced — each recorded in `notes`. `Err` carries the
/// strict parser's reason.
pub(crate) fn parse(raw: &str) -> Result<Parsed, String> {
    let raw = raw.trim();
    let strict_error = match Expression::parse(raw) {
        Ok(expr) => {
            return Ok(Parsed {
                canonical: render(&expr, &mut Vec::new()),
                notes: Vec::new(),
            });
        }
        Err(e) => e.reason.to_string(),
    };
    let fixed = fix_case(raw);
    let expr = Expression::parse_mode(fixed.as_deref().unwrap_or(raw), LENIENT)
        .map_err(|_| strict_error.clone())?;
    let mut changes = Vec::new();
    if fixed.is_some() {
        changes.push("letter case of ids corrected".to_string());
    }
    if raw.contains('/') {
        changes.push("`/` read as OR".to_string());
    }
    let canonical = render(&expr, &mut changes);
    Ok(Parsed {
        notes: vec![format!(
            "`{raw}` is not strict SPDX ({strict_error}); read as `{canonical}` ({})",
            changes.join("; ")
        )],
        canonical,
    })
}

/// Canonical text of a parsed expression, with minimal parentheses and deprecated ids replaced.
pub(crate) fn render(expr: &Expression, changes: &mut Vec<String>) -> String {
    #[derive(PartialEq, PartialOrd, Clone, Copy)]
    enum Prec {
        Or,
        And,
        Atom,
    }
    let mut stack: Vec<(String, Prec)> = Vec::new();
    for node in expr.iter() {
        match node {
            ExprNode::Req(r) => stack.push((requirement_text(&r.req, changes), Prec::Atom)),
            ExprNode::Op(op) => {
                let (Some(b), Some(a)) = (stack.pop(), stack.pop()) else {
                    // A parsed expression is well formed; keep going rather than panic.
                    continue;
                };
                let (word, prec) = match op {
                    Operator::And => ("AND", Prec::And),
                    Operator::Or => ("OR", Prec::Or),
                };
                // AND under OR is parenthesised too: not needed by precedence, but clearer.
                let wrap = |(text, p): (String, Prec)| {
                    if p < prec || (prec == Prec::Or && p == Prec::And) {
                        format!("({text})")
                    } else {
                        text
                    }
                };
                stack.push((format!("{} {word} {}", wrap(a), wrap(b)), prec));
            }
        }
    }
    stack.pop().map(|(t, _)| t).unwrap_or_default()
}

/// Deprecated `GPL-x-with-y-exception` ids and their modern `WITH` form.
const DEPRECATED_WITH_EXCEPTION: &[(&str, &str, &str)] = &[
    (
        "GPL-2.0-with-autoconf-exception",
        "GPL-2.0-only",
        "Autoconf-exception-2.0",
    ),
    (
        "GPL-2.0-with-bison-exception",
        "GPL-2.0-or-later",
        "Bison-exception-2.2",
    ),
    (
        "GPL-2.0-with-classpath-exception",
        "GPL-2.0-only",
        "Classpath-exception-2.0",
    ),
    (
        "GPL-2.0-with-font-exception",
        "GPL-2.0-only",
        "Font-exception-2.0",
    ),
    (
        "GPL-2.0-with-GCC-exception",
        "GPL-2.0-only",
        "GCC-exception-2.0",
    ),
    (
        "GPL-3.0-with-autoconf-exception",
        "GPL-3.0-only",
        "Autoconf-exception-3.0",
    ),
    (
        "GPL-3.0-with-GCC-exception",
        "GPL-3.0-only",
        "GCC-exception-3.1",
    ),
];

/// One requirement as canonical text; deprecated GNU ids become their `-only`/`-or-later`
/// replacements (SPDX: a bare `GPL-2.0` means `GPL-2.0-only`).
pub(crate) fn requirement_text(req: &LicenseReq, changes: &mut Vec<String>) -> String {
    let addition = req.addition.as_ref().map(|a| format!(" WITH {a}"));
    let license = match &req.license {
        LicenseItem::Spdx { id, or_later } if id.is_deprecated() && id.is_gnu() => {
            if let Some((_, base, exception)) = DEPRECATED_WITH_EXCEPTION
                .iter()
                .find(|(old, _, _)| *old == id.name)
            {
                let text = format!("{base} WITH {exception}");
                changes.push(format!("deprecated `{}` replaced by `{text}`", id.name));
                return text;
            }
            match spdx::gnu_license_id(id.name, *or_later) {
                Some(new) => {
                    changes.push(format!(
                        "deprecated `{}{}` replaced by `{}`",
                        id.name,
                        if *or_later { "+" } else { "" },
                        new.name
                    ));
                    new.name.to_string()
                }
                None => id.name.to_string(),
            }
        }
        LicenseItem::Spdx { id, or_later } => {
            if *or_later && !id.is_gnu() {
                format!("{}+", id.name)
            } else {
                id.name.to_string()
            }
        }
        LicenseItem::Other(other) => other.to_string(),
    };
    match addition {
        Some(a) => license + &a,
        None => license,
    }
}

/// Lowercased SPDX license and exception ids → their canonical spelling.
fn ids_by_lowercase() -> &'static HashMap<String, &'static str> {
    static MAP: OnceLock<HashMap<String, &'static str>> = OnceLock::new();
    MAP.get_or_init(|| {
        spdx::identifiers::LICENSES
            .iter()
            .map(|l| l.name)
            .chain(spdx::identifiers::EXCEPTIONS.iter().map(|e| e.name))
            .map(|name| (name.to_ascii_lowercase(), name))
            .collect()
    })
}

/// The canonical id for a case-insensitive match, e.g. `apache-2.0` → `Apache-2.0`.
pub(crate) fn id_ignoring_case(word: &str) -> Option<&'static str> {
    ids_by_lowercase().get(&word.to_ascii_lowercase()).copied()
}

/// Rewrite ids and operators spelled in the wrong case; `None` when nothing changed.
fn fix_case(raw: &str) -> Option<String> {
    let mut out = String::with_capacity(raw.len());
    let mut changed = false;
    let is_word = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | ':' | '+');
    let mut rest = raw;
    while let Some(start) = rest.find(is_word) {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        let end = tail.find(|c| !is_word(c)).unwrap_or(tail.len());
        let word = &tail[..end];
        let (stem, plus) = match word.strip_suffix('+') {
            Some(s) => (s, "+"),
            None => (word, ""),
        };
        let upper = stem.to_ascii_uppercase();
        let replacement = if matches!(upper.as_str(), "AND" | "OR" | "WITH") {
            Some(upper)
        } else if stem.starts_with("LicenseRef-")
            || stem.starts_with("DocumentRef-")
            || stem.starts_with("AdditionRef-")
            || spdx::license_id(stem).is_some()
            || spdx::exception_id(stem).is_some()
        {
            None
        } else {
            id_ignoring_case(stem).map(str::to_string)
        };
        match replacement {
            Some(r) if r != stem => {
                changed = true;
                out.push_str(&r);
                out.push_str(plus);
            }
            _ => out.push_str(word),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    changed.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_expressions_pass_through_canonically() {
        let p = parse("Apache-2.0 OR BSD-3-Clause").unwrap();
        assert_eq!(p.canonical, "Apache-2.0 OR BSD-3-Clause");
        assert!(p.notes.is_empty());
        let p = parse("(MIT OR Apache-2.0) AND BSD-3-Clause").unwrap();
        assert_eq!(p.canonical, "(MIT OR Apache-2.0) AND BSD-3-Clause");
        let p = parse("MIT OR (Apache-2.0 AND BSD-3-Clause)").unwrap();
        assert_eq!(p.canonical, "MIT OR (Apache-2.0 AND BSD-3-Clause)");
        let p = parse("GPL-2.0-or-later WITH Classpath-exception-2.0").unwrap();
        assert_eq!(p.canonical, "GPL-2.0-or-later WITH Classpath-exception-2.0");
    }

    #[test]
    fn deprecated_and_sloppy_forms_are_fixed_with_a_note() {
        let p = parse("LGPL-2.1").unwrap();
        assert_eq!(p.canonical, "LGPL-2.1-only");
        assert!(p.notes[0].contains("deprecated"), "{:?}", p.notes);
        assert_eq!(parse("GPL-3.0+").unwrap().canonical, "GPL-3.0-or-later");
        assert_eq!(
            parse("mit or apache-2.0").unwrap().canonical,
            "MIT OR Apache-2.0"
        );
        assert_eq!(
            parse("MIT/Apache-2.0").unwrap().canonical,
            "MIT OR Apache-2.0"
        );
        assert_eq!(
            parse("GPL-2.0-with-classpath-exception").unwrap().canonical,
            "GPL-2.0-only WITH Classpath-exception-2.0"
        );
    }

    #[test]
    fn names_that_are_not_ids_are_rejected_not_guessed() {
        assert!(parse("BSD").is_err());
        assert!(parse("Apache 2.0").is_err());
        assert!(parse("GNU GPL v2").is_err());
        assert!(parse("").is_err());
        assert!(parse("MIT AND").is_err());
    }
}
