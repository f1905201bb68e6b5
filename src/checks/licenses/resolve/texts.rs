//! License texts as evidence: what the license files (or a text pasted into the `License`
//! field) say together, by rule 2 (AND unless a text offers a choice) and rule 4 (exception
//! texts go `WITH` the GNU license beside them).

use crate::model::LicenseSource;

use super::super::files::LicenseFile;
use super::super::terms::{Grant, Ident, Join, Reading, Term};
use super::Evidence;

/// License texts (files, or the field's text) as evidence: every license found, AND (rule 2:
/// parts under different licenses all apply), except that a text offering a choice ("dual
/// licensed", "either of the licenses") makes its own licenses alternatives. Exception texts
/// go `WITH` the GNU license beside them. A text with problems (a known license with additions,
/// text that changes its meaning) gives no answer at all: the reason says why.
pub(super) fn text_evidence(
    source: LicenseSource,
    label: String,
    texts: &[LicenseFile],
    notes: &mut Vec<String>,
) -> Result<Evidence, String> {
    /// Add `ident` unless present; a repeated license may state the grant the first did not.
    fn add(list: &mut Vec<Ident>, ident: &Ident) {
        match list.iter_mut().find(|m| m.same_license(ident)) {
            Some(existing) => {
                if existing.grant == Grant::Unstated && ident.grant != Grant::Unstated {
                    existing.grant = ident.grant;
                }
            }
            None => list.push(ident.clone()),
        }
    }
    // Bundled components' license files are notes when the package has a file of its own.
    let (bundled, own): (Vec<&LicenseFile>, Vec<&LicenseFile>) =
        texts.iter().partition(|t| t.bundled);
    let texts: Vec<LicenseFile> = if own.is_empty() {
        bundled.into_iter().cloned().collect()
    } else {
        for b in &bundled {
            let names: Vec<String> = b.report.idents().map(Ident::render).collect();
            notes.push(format!(
                "{} lists bundled components' licenses ({}); not the package's own",
                b.name,
                if names.is_empty() {
                    "none recognised".to_string()
                } else {
                    names.join(", ")
                }
            ));
        }
        own.into_iter().cloned().collect()
    };
    let texts = texts.as_slice();
    let problems: Vec<String> = texts
        .iter()
        .flat_map(|t| {
            t.report
                .problems
                .iter()
                .map(move |p| format!("{}: {p}", t.name))
        })
        .collect();
    if !problems.is_empty() {
        return Err(problems.join("; "));
    }
    let exceptions: Vec<&'static str> = texts
        .iter()
        .flat_map(|t| t.report.exceptions.iter().copied())
        .collect();
    // Groups joined by AND; a group is one text's alternatives when it offers a choice.
    let mut groups: Vec<Vec<Ident>> = Vec::new();
    let mut mains: Vec<Ident> = Vec::new();
    let mut rest: Vec<Ident> = Vec::new();
    let mut all: Vec<Ident> = Vec::new();
    for t in texts {
        let idents: Vec<Ident> = t.report.idents().cloned().collect();
        for (i, ident) in idents.iter().enumerate() {
            add(if i == 0 { &mut mains } else { &mut rest }, ident);
            add(&mut all, ident);
        }
        if t.report.offers_choice() && idents.len() > 1 {
            groups.push(idents);
        } else {
            for ident in idents {
                groups.push(vec![ident]);
            }
        }
    }
    if all.is_empty() {
        let reasons: Vec<String> = texts
            .iter()
            .map(|t| match &t.report.near_miss {
                Some(why) => format!("{}: {why}", t.name),
                None => format!("{}: no license text or notice recognised", t.name),
            })
            .collect();
        return Err(reasons.join("; "));
    }
    // One entry per license across groups (the first group that names it), with the most
    // explicit grant seen anywhere.
    let mut seen: Vec<Ident> = Vec::new();
    for group in &mut groups {
        group.retain(|i| {
            let new = !seen.iter().any(|s| s.same_license(i));
            if new {
                seen.push(i.clone());
            }
            new
        });
        for i in group.iter_mut() {
            if let Some(stated) = all.iter().find(|a| a.same_license(i)) {
                i.grant = stated.grant;
            }
        }
    }
    groups.retain(|g| !g.is_empty());
    // A text that offers a choice but names fewer than two licenses itself ("either of the
    // licenses found in LICENSE.APACHE or LICENSE.BSD") offers the other files' licenses.
    if texts
        .iter()
        .any(|t| t.report.offers_choice() && t.report.matches.len() < 2)
        && mains.len() > 1
    {
        let choice: Vec<Ident> = groups
            .iter()
            .flatten()
            .filter(|i| mains.iter().any(|m| m.same_license(i)))
            .cloned()
            .collect();
        groups.retain(|g| !g.iter().any(|i| mains.iter().any(|m| m.same_license(i))));
        groups.insert(0, choice);
    }
    for exception in &exceptions {
        let gnu: Vec<&mut Ident> = groups
            .iter_mut()
            .flatten()
            .filter(|i| {
                i.base.starts_with("GPL-")
                    || i.base.starts_with("LGPL-")
                    || i.base.starts_with("AGPL-")
            })
            .collect();
        if gnu.is_empty() {
            notes.push(format!(
                "{label} holds the {exception} text but no GNU license it could apply to; ignored"
            ));
        }
        for i in gnu {
            i.exception = Some(std::borrow::Cow::Borrowed(exception));
        }
    }
    if groups.iter().map(Vec::len).sum::<usize>() > 1
        && texts.iter().all(|t| !t.report.offers_choice())
    {
        let names: Vec<String> = groups.iter().flatten().map(Ident::render).collect();
        notes.push(format!(
            "{label} names {}; read as AND (all apply): no choice between them is stated",
            names.join(", ")
        ));
    }
    let reading = match groups.as_slice() {
        [one] => Reading {
            terms: one.iter().cloned().map(Term::Exact).collect(),
            join: Join::Or,
        },
        several if several.iter().all(|g| g.len() == 1) => Reading {
            terms: several.iter().flatten().cloned().map(Term::Exact).collect(),
            join: Join::And,
        },
        several => {
            let parts: Vec<String> = several
                .iter()
                .map(|g| {
                    let alts: Vec<String> = g.iter().map(Ident::render).collect();
                    if alts.len() > 1 {
                        format!("({})", alts.join(" OR "))
                    } else {
                        alts.join("")
                    }
                })
                .collect();
            Reading::single(Term::Expr(parts.join(" AND ")))
        }
    };
    let tier_of = |list: &[Ident]| -> Vec<Ident> {
        list.iter()
            .map(|i| {
                groups
                    .iter()
                    .flatten()
                    .find(|g| g.same_license(i))
                    .cloned()
                    .unwrap_or_else(|| i.clone())
            })
            .collect()
    };
    rest.retain(|o| !mains.iter().any(|m| m.same_license(o)));
    Ok(Evidence {
        source,
        label,
        tiers: vec![tier_of(&mains), tier_of(&rest)],
        reading,
        from_text: true,
    })
}
