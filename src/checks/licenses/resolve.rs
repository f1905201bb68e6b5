//! Weighing the evidence. Sources in priority order: PEP 639 `License-Expression`, Trove
//! classifiers, the legacy `License` field, license files (read lazily, only when the metadata
//! gave no specific answer or a vague one to refine), and — separately — PyPI.
//!
//! Rules:
//! - A specific answer from a higher source wins; lower sources that disagree become notes.
//! - A vague higher source ("BSD License") is refined by a lower one that is consistent with it
//!   (License field "BSD-3-Clause", or a BSD-3-Clause text in LICENSE): most specific consistent
//!   answer wins, with a note.
//! - What stays vague after refinement is unknown, unless the vague term has a documented
//!   fallback (Apache without version → Apache-2.0, public domain → LicenseRef-Public-Domain).
//!   An unresolved *alternative* (OR) is dropped, since fewer alternatives is the stricter reading;
//!   an unresolved *conjunct* (AND) makes the whole answer unknown.
//! - A higher source that stays unresolved does not block a lower specific one; the disagreement
//!   is noted.

use std::path::Path;

use crate::model::{LicenseMetadata, LicenseSource, RegistryInfo, ResolvedLicense};

use super::classifiers;
use super::expression;
use super::files::{self, LicenseFile};
use super::names::{normalize, parse_names};
use super::terms::{Grant, Ident, Join, Reading, Term};
use super::text::identify;

/// What one source says.
#[derive(Clone, Debug)]
struct Evidence {
    source: LicenseSource,
    reading: Reading,
    /// How to quote the source in evidence and notes.
    label: String,
    /// Licenses this source identifies for refining vaguer sources, best first: the reading's
    /// own, then (for texts) those further down the text.
    tiers: Vec<Vec<Ident>>,
    /// A license text: what it names beyond the answer is worth a note.
    from_text: bool,
}

/// Quote at most `max` characters of metadata on one line.
fn quote(raw: &str, max: usize) -> String {
    let mut out = String::new();
    for word in raw.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
        if out.chars().count() > max {
            let cut: String = out.chars().take(max).collect();
            return format!("{cut}…");
        }
    }
    out
}

/// The `License` field as evidence.
enum FieldOutcome {
    Evidence(Evidence),
    /// Says nothing ("UNKNOWN", "", "see LICENSE").
    Nothing,
    /// Says something we cannot read; the reason is kept for the unknown.
    Unrecognised(String),
}

/// Field values that carry no license: placeholders and pointers to a license file.
fn says_nothing(raw: &str) -> bool {
    if raw.len() > 64 {
        return false;
    }
    let norm = normalize(raw, false);
    norm.split(' ').all(|w| {
        matches!(
            w,
            "" | "unknown"
                | "none"
                | "n"
                | "a"
                | "na"
                | "null"
                | "not"
                | "specified"
                | "see"
                | "the"
                | "file"
                | "files"
                | "license"
                | "licence"
                | "licenses"
                | "txt"
                | "md"
                | "rst"
                | "in"
                | "included"
                | "copying"
                | "accompanying"
                | "attached"
        )
    })
}

fn is_multi_line(raw: &str) -> bool {
    raw.lines().filter(|l| !l.trim().is_empty()).count() > 2
}

/// Whether a `License` value (that is not an SPDX expression) is a pasted license text rather
/// than a name: names are short and on one line.
fn looks_like_text(raw: &str) -> bool {
    raw.len() > 100 || is_multi_line(raw)
}

fn read_field(
    raw: &str,
    source: LicenseSource,
    label_prefix: &str,
    notes: &mut Vec<String>,
) -> FieldOutcome {
    let trimmed = raw.trim();
    if says_nothing(trimmed) {
        return FieldOutcome::Nothing;
    }
    let label = format!("{label_prefix} `{}`", quote(trimmed, 80));
    if !is_multi_line(trimmed)
        && let Ok(parsed) = expression::parse(trimmed)
    {
        notes.extend(parsed.notes);
        let reading = Reading::single(Term::Expr(parsed.canonical));
        return FieldOutcome::Evidence(Evidence {
            source,
            tiers: vec![reading.idents()],
            from_text: false,
            reading,
            label,
        });
    }
    if looks_like_text(trimmed) {
        let report = identify(trimmed.as_bytes());
        let text_label = format!(
            "{label_prefix} (license text, {} characters)",
            trimmed.len()
        );
        return match text_evidence(
            source,
            text_label.clone(),
            &[LicenseFile {
                name: text_label,
                report,
                bundled: false,
            }],
            notes,
        ) {
            Ok(e) => FieldOutcome::Evidence(e),
            Err(why) => FieldOutcome::Unrecognised(why),
        };
    }
    match parse_names(trimmed) {
        Some((reading, name_notes)) => {
            notes.extend(name_notes);
            FieldOutcome::Evidence(Evidence {
                source,
                tiers: vec![reading.idents()],
                from_text: false,
                reading,
                label,
            })
        }
        None => FieldOutcome::Unrecognised(format!("{label} is not a license name we recognise")),
    }
}

/// License texts (files, or the field's text) as evidence: every license found, AND (rule 2:
/// parts under different licenses all apply), except that a text offering a choice ("dual
/// licensed", "either of the licenses") makes its own licenses alternatives. Exception texts
/// go `WITH` the GNU license beside them. A text with problems (a known license with additions,
/// text that changes its meaning) gives no answer at all: the reason says why.
fn text_evidence(
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

/// License files, read at most once and only when asked for.
struct LazyFiles<'a> {
    listed: &'a [String],
    dir: Option<&'a Path>,
    loaded: Option<Option<Evidence>>,
    /// Why the files gave no answer, for the unknown's reason.
    why: Option<String>,
}

impl LazyFiles<'_> {
    fn get(&mut self, notes: &mut Vec<String>) -> Option<&Evidence> {
        if self.loaded.is_none() {
            let mut why = None;
            let evidence = self.dir.and_then(|dir| {
                let texts = files::read(self.listed, dir, notes);
                if texts.is_empty() {
                    return None;
                }
                let names: Vec<&str> = texts.iter().map(|t| t.name.as_str()).collect();
                let label = if names.len() == 1 {
                    format!("license file {}", names[0])
                } else {
                    format!("license files {}", names.join(", "))
                };
                text_evidence(LicenseSource::LicenseFile, label, &texts, notes)
                    .map_err(|e| why = Some(e))
                    .ok()
            });
            self.why = why;
            self.loaded = Some(evidence);
        }
        self.loaded.as_ref().and_then(Option::as_ref)
    }

    /// Already read (never triggers a read).
    fn peek(&self) -> Option<&Evidence> {
        self.loaded.as_ref().and_then(Option::as_ref)
    }
}

/// Every meaningful term of `higher` admits some license of `lower`, and every license of
/// `lower` is admitted by some term of `higher`.
fn consistent(higher: &Reading, lower: &Reading) -> bool {
    let lower_idents = lower.idents();
    !lower_idents.is_empty()
        && higher
            .meaningful()
            .all(|t| lower_idents.iter().any(|i| t.admits(i)))
        && lower_idents
            .iter()
            .all(|i| higher.meaningful().any(|t| t.admits(i)))
}

/// `higher` says "or later"/"only" for a GNU family that `lower` names without saying: taking
/// `lower` wholesale would lose that, so refine term by term instead.
fn loses_grant(higher: &Reading, lower: &Reading) -> bool {
    lower.idents().iter().any(|i| {
        i.grant == Grant::Unstated
            && higher.terms.iter().any(|t| {
                matches!(t, Term::Vague(v) if v.grant != Grant::Unstated && v.grant != Grant::NotGnu && v.family.matches(&i.base))
            })
    })
}

/// The refined reading, the sources that supplied detail, and notes; or why it stays unknown.
struct Refined {
    reading: Reading,
    used: Vec<(LicenseSource, String)>,
    notes: Vec<String>,
}

fn refine(primary: &Evidence, lower: &[&Evidence]) -> Result<Refined, String> {
    let mut notes = Vec::new();
    let mut used: Vec<(LicenseSource, String)> = Vec::new();
    let mut terms = Vec::new();
    let mut unresolved: Vec<String> = Vec::new();
    'terms: for term in &primary.reading.terms {
        let vague = match term {
            Term::Exact(_) | Term::Expr(_) => {
                terms.push(term.clone());
                continue;
            }
            Term::Statement(_) => continue,
            Term::Vague(v) => v,
        };
        for evidence in lower {
            for tier in &evidence.tiers {
                let mut matching: Vec<&Ident> = Vec::new();
                for i in tier.iter().filter(|i| vague.family.matches(&i.base)) {
                    if !matching.iter().any(|m| m.same_license(i)) {
                        matching.push(i);
                    }
                }
                match matching.as_slice() {
                    [] => continue,
                    [one] => {
                        let mut ident = (*one).clone();
                        // Another lower source may state the grant ("version 3 or later").
                        let mut grant_from: Option<&Evidence> = None;
                        if ident.grant == Grant::Unstated
                            && let Some((e, stated)) = lower.iter().find_map(|e| {
                                e.tiers
                                    .iter()
                                    .flatten()
                                    .find(|i| i.same_license(&ident) && i.grant != Grant::Unstated)
                                    .map(|i| (*e, i))
                            })
                        {
                            ident.grant = stated.grant;
                            grant_from = Some(e);
                        }
                        if ident.grant == Grant::Unstated
                            && matches!(vague.grant, Grant::Only | Grant::OrLater)
                        {
                            ident.grant = vague.grant;
                        } else if matches!(ident.grant, Grant::Only | Grant::OrLater)
                            && matches!(vague.grant, Grant::Only | Grant::OrLater)
                            && ident.grant != vague.grant
                        {
                            notes.push(format!(
                                "{} says `{}` but {} says `{}`; the more explicit {} is used",
                                primary.label,
                                vague.said,
                                evidence.label,
                                ident.render(),
                                evidence.label
                            ));
                        }
                        notes.push(format!(
                            "{} `{}` refined to {} by {}",
                            primary.source.label(),
                            vague.said,
                            ident.render(),
                            evidence.label
                        ));
                        for e in std::iter::once(*evidence).chain(grant_from) {
                            if !used.iter().any(|(_, l)| *l == e.label) {
                                used.push((e.source.clone(), e.label.clone()));
                            }
                        }
                        if let Some(e) = grant_from
                            && e.label != evidence.label
                        {
                            notes.push(format!(
                                "{} states the grant of {}",
                                e.label,
                                ident.render()
                            ));
                        }
                        terms.push(Term::Exact(ident));
                        continue 'terms;
                    }
                    several => {
                        let names: Vec<String> = several.iter().map(|i| i.render()).collect();
                        unresolved.push(format!(
                            "{} `{}` is ambiguous: {} names {}",
                            primary.source.label(),
                            vague.said,
                            evidence.label,
                            names.join(" and ")
                        ));
                        continue 'terms;
                    }
                }
            }
        }
        match &vague.fallback {
            Some((ident, why)) => {
                notes.push(why.to_string());
                terms.push(Term::Exact(ident.clone()));
            }
            None => unresolved.push(format!(
                "{} `{}`: {}",
                primary.source.label(),
                vague.said,
                vague.family.missing_detail()
            )),
        }
    }
    if terms.is_empty() || (!unresolved.is_empty() && primary.reading.join == Join::And) {
        if unresolved.is_empty() {
            // Only statements ("OSI Approved", "DFSG approved"): no license named.
            let said: Vec<String> = primary
                .reading
                .terms
                .iter()
                .filter_map(|t| match t {
                    Term::Statement(s) => Some(format!("`{s}`")),
                    _ => None,
                })
                .collect();
            unresolved.push(format!(
                "{} {} names no license",
                primary.source.label(),
                said.join(", ")
            ));
        }
        return Err(unresolved.join("; "));
    }
    for u in unresolved {
        notes.push(format!(
            "alternative dropped as unresolved ({u}); the remaining alternatives are the stricter reading"
        ));
    }
    Ok(Refined {
        reading: Reading {
            terms,
            join: primary.reading.join,
        },
        used,
        notes,
    })
}

/// Notes for other sources that disagree with the answer.
fn disagreements(
    answer: &Reading,
    answer_label: &str,
    others: &[&Evidence],
    notes: &mut Vec<String>,
) {
    let answer_idents = answer.idents();
    for other in others {
        if other.reading.meaningful().next().is_none() {
            continue;
        }
        let agrees = if other.reading.is_specific() {
            consistent(&other.reading, answer) || consistent(answer, &other.reading)
        } else {
            other
                .reading
                .meaningful()
                .any(|t| answer_idents.iter().any(|i| t.admits(i)))
        };
        if !agrees {
            let said = other
                .reading
                .render()
                .map(|r| format!(" (`{r}`)"))
                .unwrap_or_default();
            notes.push(format!(
                "{}{said} disagrees with {answer_label}, which is used",
                other.label
            ));
        }
    }
}

/// The chosen answer, before validation.
struct Decision {
    reading: Reading,
    source: LicenseSource,
    evidence: String,
}

impl Decision {
    fn from(e: &Evidence) -> Decision {
        Decision {
            reading: e.reading.clone(),
            source: e.source.clone(),
            evidence: e.label.clone(),
        }
    }
}

/// A finished answer: rendered, validated and canonical, with notes on GNU grants nobody stated
/// and on licenses the consulted texts name beyond the answer.
fn answer(decision: Decision, texts: &[&Evidence], mut notes: Vec<String>) -> ResolvedLicense {
    let answer_idents = decision.reading.idents();
    for ident in answer_idents.iter().filter(|i| i.grant == Grant::Unstated) {
        notes.push(format!(
            "no source says whether later versions of {} are allowed; read as {} (the narrower grant)",
            ident.base,
            ident.render()
        ));
    }
    for text in texts.iter().filter(|t| t.from_text) {
        let mut extra: Vec<String> = Vec::new();
        for ident in text.tiers.iter().flatten() {
            let rendered = ident.render();
            if !answer_idents.iter().any(|a| a.same_license(ident)) && !extra.contains(&rendered) {
                extra.push(rendered);
            }
        }
        if !extra.is_empty() {
            notes.push(format!(
                "also named in {}: {} (taken as bundled components or side notes, not the package's own license)",
                text.label,
                extra.join(", ")
            ));
        }
    }
    let rendered = decision.reading.render();
    match rendered.as_deref().map(expression::parse) {
        Some(Ok(parsed)) => {
            notes.extend(parsed.notes);
            ResolvedLicense {
                expression: Some(parsed.canonical),
                source: decision.source,
                evidence: Some(decision.evidence),
                notes,
                unknown_reason: None,
            }
        }
        _ => {
            let mut unknown = ResolvedLicense::unknown(format!(
                "{} produced `{}`, which is not a valid SPDX expression",
                decision.evidence,
                rendered.unwrap_or_default()
            ));
            unknown.notes = notes;
            unknown
        }
    }
}

fn classifier_label(classifiers: &[String]) -> String {
    let names: Vec<&str> = classifiers
        .iter()
        .filter_map(|c| classifiers::license_name(c))
        .collect();
    if names.len() == 1 {
        format!("classifier `{}`", names[0])
    } else {
        format!("classifiers `{}`", names.join("`, `"))
    }
}

/// Resolve a distribution's license from its own metadata (see the module docs for the rules).
pub(crate) fn resolve(meta: &LicenseMetadata, metadata_dir: Option<&Path>) -> ResolvedLicense {
    let mut notes = Vec::new();
    let mut unresolved: Vec<String> = Vec::new();

    let classifiers = classifiers::read(&meta.classifiers, &mut notes).map(|reading| Evidence {
        source: LicenseSource::Classifier,
        label: classifier_label(&meta.classifiers),
        tiers: vec![reading.idents()],
        from_text: false,
        reading,
    });
    let field = meta.license_field.as_deref().and_then(|raw| {
        match read_field(
            raw,
            LicenseSource::LicenseField,
            "License field",
            &mut notes,
        ) {
            FieldOutcome::Evidence(e) => Some(e),
            FieldOutcome::Nothing => None,
            FieldOutcome::Unrecognised(why) => {
                unresolved.push(why);
                None
            }
        }
    });
    // Rule 1: the package's own precise declaration wins; classifiers only refine a vague one.
    let field_first = field.as_ref().is_some_and(|f| f.reading.is_specific());
    let metadata: Vec<&Evidence> = if field_first {
        [field.as_ref(), classifiers.as_ref()]
    } else {
        [classifiers.as_ref(), field.as_ref()]
    }
    .into_iter()
    .flatten()
    .collect();
    let mut files = LazyFiles {
        listed: &meta.license_files,
        dir: metadata_dir,
        loaded: None,
        why: None,
    };

    let decision = decide(meta, &metadata, &mut files, &mut notes, &mut unresolved);
    let mut texts: Vec<&Evidence> = metadata.clone();
    texts.extend(files.peek());
    match decision {
        Some(decision) => answer(decision, &texts, notes),
        None => {
            let files_said = match (metadata_dir, &files.why) {
                (None, _) => "no metadata directory to look for license files in".to_string(),
                (Some(_), Some(why)) => format!("license files give no answer ({why})"),
                (Some(_), None) => "no license file identifies it".to_string(),
            };
            let reason = if unresolved.is_empty() {
                format!(
                    "no License-Expression, License field or license classifier, and {files_said}"
                )
            } else {
                format!("{}; {files_said}", unresolved.join("; "))
            };
            let mut unknown = ResolvedLicense::unknown(reason);
            unknown.notes = notes;
            unknown
        }
    }
}

/// The answer by the rules of the module docs, or `None` (reasons in `unresolved`).
fn decide(
    meta: &LicenseMetadata,
    metadata: &[&Evidence],
    files: &mut LazyFiles<'_>,
    notes: &mut Vec<String>,
    unresolved: &mut Vec<String>,
) -> Option<Decision> {
    // 1. PEP 639 License-Expression.
    if let Some(raw) = meta
        .expression
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty() && !s.eq_ignore_ascii_case("unknown"))
    {
        match expression::parse(raw) {
            Ok(parsed) => {
                notes.extend(parsed.notes);
                let reading = Reading::single(Term::Expr(parsed.canonical));
                disagreements(&reading, "License-Expression", metadata, notes);
                return Some(Decision {
                    reading,
                    source: LicenseSource::LicenseExpression,
                    evidence: format!("License-Expression `{raw}`"),
                });
            }
            Err(reason) => {
                // A name instead of an expression ("Apache 2.0") is read like the License field.
                let mut name_notes = Vec::new();
                if let FieldOutcome::Evidence(e) = read_field(
                    raw,
                    LicenseSource::LicenseExpression,
                    "License-Expression",
                    &mut name_notes,
                ) && e.reading.is_specific()
                {
                    notes.push(format!(
                        "License-Expression `{raw}` is not SPDX ({reason}); read as the license name it spells"
                    ));
                    notes.extend(name_notes);
                    disagreements(&e.reading, "License-Expression", metadata, notes);
                    return Some(Decision::from(&e));
                }
                notes.push(format!(
                    "License-Expression `{raw}` is not a valid SPDX expression ({reason}); other metadata used instead"
                ));
            }
        }
    }

    // 2. Metadata sources in priority order; vague ones refined by lower sources.
    for (i, primary) in metadata.iter().enumerate() {
        let others: Vec<&Evidence> = metadata
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, e)| *e)
            .collect();
        if primary.reading.is_specific() {
            let mut compare = others;
            compare.extend(files.peek());
            disagreements(&primary.reading, &primary.label, &compare, notes);
            return Some(Decision::from(primary));
        }
        if primary.reading.meaningful().next().is_none() {
            // Only statements ("OSI Approved"): nothing to refine.
            if let Err(why) = refine(primary, &[]) {
                unresolved.push(why);
            }
            continue;
        }
        // A lower source that says the same thing more precisely is taken whole.
        let lower_meta: Vec<&Evidence> = metadata[i + 1..].to_vec();
        let adoptable = |lower: &Evidence| {
            lower.reading.is_specific()
                && consistent(&primary.reading, &lower.reading)
                && !loses_grant(&primary.reading, &lower.reading)
        };
        if let Some(lower) = lower_meta.iter().find(|l| adoptable(l)) {
            notes.push(format!("{} refined by {}", primary.label, lower.label));
            return Some(Decision::from(lower));
        }
        let file_evidence = files.get(notes).cloned();
        if let Some(fe) = &file_evidence
            && adoptable(fe)
        {
            notes.push(format!("{} refined by {}", primary.label, fe.label));
            return Some(Decision::from(fe));
        }
        let mut lower: Vec<&Evidence> = lower_meta;
        lower.extend(file_evidence.as_ref());
        match refine(primary, &lower) {
            Ok(refined) => {
                notes.extend(refined.notes);
                let source = refined
                    .used
                    .iter()
                    .map(|(s, _)| s.clone())
                    .max_by_key(source_rank)
                    .unwrap_or_else(|| primary.source.clone());
                let evidence = if refined.used.is_empty() {
                    primary.label.clone()
                } else {
                    let by: Vec<&str> = refined.used.iter().map(|(_, l)| l.as_str()).collect();
                    format!("{}, refined by {}", primary.label, by.join(" and "))
                };
                let mut compare = others;
                compare.retain(|o| !refined.used.iter().any(|(_, l)| *l == o.label));
                disagreements(&refined.reading, &evidence, &compare, notes);
                return Some(Decision {
                    reading: refined.reading,
                    source,
                    evidence,
                });
            }
            Err(why) => unresolved.push(why),
        }
    }

    // 3. License files on their own.
    let fe = files.get(notes)?.clone();
    disagreements(&fe.reading, &fe.label, metadata, notes);
    Some(Decision::from(&fe))
}

/// Lower in the priority order ranks higher here: the answer's source is the least
/// authoritative one it depends on.
fn source_rank(source: &LicenseSource) -> u8 {
    match source {
        LicenseSource::LicenseExpression => 0,
        LicenseSource::Classifier => 1,
        LicenseSource::LicenseField => 2,
        LicenseSource::LicenseFile => 3,
        LicenseSource::Pypi => 4,
        LicenseSource::Unknown => 5,
    }
}

/// PyPI's `license_expression`, else its free-text `license`; `None` when neither names a
/// license specifically (a vague name only counts when it has a documented fallback).
pub(crate) fn resolve_from_registry(info: &RegistryInfo) -> Option<ResolvedLicense> {
    let mut notes = Vec::new();
    if let Some(raw) = info
        .license_expression
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        match expression::parse(raw) {
            Ok(parsed) => {
                return Some(ResolvedLicense {
                    expression: Some(parsed.canonical),
                    source: LicenseSource::Pypi,
                    evidence: Some(format!("PyPI license_expression `{raw}`")),
                    notes: parsed.notes,
                    unknown_reason: None,
                });
            }
            Err(reason) => notes.push(format!(
                "PyPI license_expression `{raw}` is not a valid SPDX expression ({reason})"
            )),
        }
    }
    let raw = info.license.as_deref()?;
    let FieldOutcome::Evidence(evidence) =
        read_field(raw, LicenseSource::Pypi, "PyPI license", &mut notes)
    else {
        return None;
    };
    if evidence.reading.is_specific() {
        return Some(answer(Decision::from(&evidence), &[&evidence], notes));
    }
    let refined = refine(&evidence, &[]).ok()?;
    notes.extend(refined.notes);
    let decision = Decision {
        reading: refined.reading,
        source: LicenseSource::Pypi,
        evidence: evidence.label.clone(),
    };
    Some(answer(decision, &[&evidence], notes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(
        expression: Option<&str>,
        field: Option<&str>,
        classifiers: &[&str],
    ) -> LicenseMetadata {
        LicenseMetadata {
            expression: expression.map(str::to_string),
            license_field: field.map(str::to_string),
            classifiers: classifiers.iter().map(|c| c.to_string()).collect(),
            license_files: Vec::new(),
        }
    }

    const BSD: &str = "License :: OSI Approved :: BSD License";
    const MIT: &str = "License :: OSI Approved :: MIT License";
    const APACHE: &str = "License :: OSI Approved :: Apache Software License";

    #[test]
    fn expression_wins_and_conflicting_classifier_is_noted() {
        let r = resolve(&meta(Some("Apache-2.0"), None, &[MIT]), None);
        assert_eq!(r.expression.as_deref(), Some("Apache-2.0"));
        assert_eq!(r.source, LicenseSource::LicenseExpression);
        assert!(
            r.notes
                .iter()
                .any(|n| n.contains("MIT License") && n.contains("disagrees")),
            "{:?}",
            r.notes
        );
        // Consistent vaguer classifier: no note.
        let r = resolve(&meta(Some("BSD-3-Clause"), None, &[BSD]), None);
        assert!(r.notes.is_empty(), "{:?}", r.notes);
    }

    #[test]
    fn a_precise_license_field_wins_and_a_consistent_classifier_is_silent() {
        let r = resolve(&meta(None, Some("BSD-3-Clause"), &[BSD]), None);
        assert_eq!(r.expression.as_deref(), Some("BSD-3-Clause"));
        assert_eq!(r.source, LicenseSource::LicenseField);
        assert!(
            !r.notes.iter().any(|n| n.contains("disagrees")),
            "{:?}",
            r.notes
        );
    }

    #[test]
    fn vague_only_is_unknown_with_the_reason() {
        let r = resolve(&meta(None, None, &[BSD]), None);
        assert_eq!(r.expression, None);
        assert_eq!(r.source, LicenseSource::Unknown);
        let reason = r.unknown_reason.unwrap();
        assert!(reason.contains("BSD License"), "{reason}");
        assert!(reason.contains("unspecified"), "{reason}");
        let r = resolve(&meta(None, Some("BSD"), &[]), None);
        assert!(r.unknown_reason.unwrap().contains("BSD"));
    }

    #[test]
    fn precise_field_beats_conflicting_classifier_with_a_note() {
        // Rule 1: the package's own precise declaration wins over the coarser classifier.
        let r = resolve(&meta(None, Some("Apache 2.0"), &[MIT]), None);
        assert_eq!(r.expression.as_deref(), Some("Apache-2.0"));
        assert_eq!(r.source, LicenseSource::LicenseField);
        assert!(
            r.notes
                .iter()
                .any(|n| n.contains("MIT License") && n.contains("disagrees")),
            "{:?}",
            r.notes
        );
    }

    #[test]
    fn unresolved_vague_classifier_yields_to_a_specific_field_with_a_note() {
        let r = resolve(&meta(None, Some("MIT"), &[BSD]), None);
        assert_eq!(r.expression.as_deref(), Some("MIT"));
        assert_eq!(r.source, LicenseSource::LicenseField);
        assert!(
            r.notes
                .iter()
                .any(|n| n.contains("BSD License") && n.contains("disagrees")),
            "{:?}",
            r.notes
        );
    }

    #[test]
    fn several_classifiers_refined_together() {
        // cryptography 41: classifiers Apache + BSD, License "Apache-2.0 OR BSD-3-Clause".
        let r = resolve(
            &meta(None, Some("Apache-2.0 OR BSD-3-Clause"), &[APACHE, BSD]),
            None,
        );
        assert_eq!(r.expression.as_deref(), Some("Apache-2.0 OR BSD-3-Clause"));
        // Without the field the classifiers are a conjunction (rule 2), and "BSD" cannot be
        // resolved: the whole answer is unknown, never the part that could be read.
        let r = resolve(&meta(None, None, &[APACHE, BSD]), None);
        assert_eq!(r.expression, None);
        let reason = r.unknown_reason.unwrap();
        assert!(reason.contains("BSD License"), "{reason}");
    }

    #[test]
    fn placeholders_say_nothing() {
        for placeholder in ["UNKNOWN", "", "  ", "see LICENSE", "LICENSE.txt", "n/a"] {
            let r = resolve(&meta(None, Some(placeholder), &[]), None);
            assert_eq!(r.expression, None, "{placeholder}");
            assert!(
                r.unknown_reason.unwrap().contains("no License-Expression"),
                "{placeholder}"
            );
        }
    }

    #[test]
    fn unrecognised_field_is_unknown_with_its_text() {
        let r = resolve(&meta(None, Some("Frobnicator Public License"), &[]), None);
        assert!(r.unknown_reason.unwrap().contains("Frobnicator"));
    }

    #[test]
    fn license_expression_that_spells_a_name_is_read_as_one() {
        let r = resolve(&meta(Some("Apache 2.0"), None, &[]), None);
        assert_eq!(r.expression.as_deref(), Some("Apache-2.0"));
        assert_eq!(r.source, LicenseSource::LicenseExpression);
        assert!(!r.notes.is_empty());
        // A License-Expression that is nonsense falls back to the classifiers.
        let r = resolve(&meta(Some("see below"), None, &[MIT]), None);
        assert_eq!(r.expression.as_deref(), Some("MIT"));
        assert!(
            r.notes.iter().any(|n| n.contains("not a valid SPDX")),
            "{:?}",
            r.notes
        );
    }

    #[test]
    fn public_domain_and_proprietary_get_license_refs() {
        let r = resolve(&meta(None, None, &["License :: Public Domain"]), None);
        assert_eq!(r.expression.as_deref(), Some("LicenseRef-Public-Domain"));
        let r = resolve(
            &meta(None, None, &["License :: Other/Proprietary License"]),
            None,
        );
        assert_eq!(r.expression.as_deref(), Some("LicenseRef-Proprietary"));
        let r = resolve(&meta(None, None, &["License :: OSI Approved"]), None);
        assert!(r.unknown_reason.unwrap().contains("names no license"));
    }

    #[test]
    fn odd_input_never_panics_and_never_passes_as_known() {
        let long_plus = "+".repeat(10_000);
        let odd = [
            "",
            "(((",
            "MIT AND (",
            ")",
            "MIT OR",
            "WITH",
            "+",
            "/",
            ",,,",
            "or or or",
            "GPL v",
            "LGPL 2.",
            "Apache-",
            "ÄÖÜ ライセンス",
            "\u{0}",
            "BSD-3-Clause WITH",
            &long_plus,
            "MIT\n\n\n",
            "see LICENSE, or COPYING; and NOTICE",
        ];
        for a in odd {
            for b in odd {
                let m = LicenseMetadata {
                    expression: Some(a.to_string()),
                    license_field: Some(b.to_string()),
                    classifiers: vec![
                        format!("License :: {a}"),
                        format!("License :: OSI Approved :: {b}"),
                    ],
                    license_files: vec![a.to_string()],
                };
                let r = resolve(&m, None);
                if let Some(e) = &r.expression {
                    spdx::Expression::parse(e)
                        .unwrap_or_else(|err| panic!("{a:?}/{b:?} → {e}: {err}"));
                } else {
                    assert!(r.unknown_reason.is_some());
                }
            }
        }
    }

    #[test]
    fn registry_fallback() {
        let info = RegistryInfo {
            license_expression: Some("MIT".into()),
            ..Default::default()
        };
        let r = resolve_from_registry(&info).unwrap();
        assert_eq!(
            (r.expression.as_deref(), r.source),
            (Some("MIT"), LicenseSource::Pypi)
        );
        let info = RegistryInfo {
            license: Some("Apache License, Version 2.0".into()),
            ..Default::default()
        };
        assert_eq!(
            resolve_from_registry(&info).unwrap().expression.as_deref(),
            Some("Apache-2.0")
        );
        let vague = RegistryInfo {
            license: Some("BSD".into()),
            ..Default::default()
        };
        assert!(resolve_from_registry(&vague).is_none());
        assert!(resolve_from_registry(&RegistryInfo::default()).is_none());
    }
}

#[cfg(test)]
mod rule_tests {
    use super::*;

    fn field(raw: &str) -> ResolvedLicense {
        resolve(
            &LicenseMetadata {
                license_field: Some(raw.to_string()),
                ..Default::default()
            },
            None,
        )
    }

    #[test]
    fn a_plus_between_names_is_and_unless_a_choice_is_stated() {
        // Rule 2: "LGPL+BSD" lists two licenses; no choice is stated.
        let r = field("LGPLv2.1+ + BSD-3-Clause");
        assert_eq!(
            r.expression.as_deref(),
            Some("LGPL-2.1-or-later AND BSD-3-Clause")
        );
        // Both vague: unknown with the reason, never one of them alone.
        let r = field("LGPL+BSD");
        assert_eq!(r.expression, None);
        let reason = r.unknown_reason.unwrap();
        assert!(
            reason.contains("lgpl") && reason.contains("bsd"),
            "{reason}"
        );
        // A trailing `+` is the grant.
        assert_eq!(
            field("GPLv2+").expression.as_deref(),
            Some("GPL-2.0-or-later")
        );
        let r = field("MIT, Apache-2.0");
        assert_eq!(r.expression.as_deref(), Some("MIT AND Apache-2.0"));
        let r = field("MIT or Apache 2.0");
        assert_eq!(r.expression.as_deref(), Some("MIT OR Apache-2.0"));
    }

    #[test]
    fn exceptions_named_in_the_field_are_part_of_the_expression() {
        for (raw, expected) in [
            (
                "GPLv2-or-later with a special exception which allows to use PyInstaller to build and distribute non-free programs (including commercial ones)",
                None,
            ),
            (
                "GPLv2+ with Bootloader exception",
                Some("GPL-2.0-or-later WITH Bootloader-exception"),
            ),
            (
                "GPL-2.0-only WITH Universal-FOSS-exception-1.0",
                Some("GPL-2.0-only WITH Universal-FOSS-exception-1.0"),
            ),
            (
                "GPL 2 with Classpath exception",
                Some("GPL-2.0-only WITH Classpath-exception-2.0"),
            ),
            (
                "GPLv3+ with GCC runtime library exception",
                Some("GPL-3.0-or-later WITH GCC-exception-3.1"),
            ),
            (
                "Apache 2.0 with LLVM exception",
                Some("Apache-2.0 WITH LLVM-exception"),
            ),
        ] {
            let r = field(raw);
            match expected {
                Some(e) => assert_eq!(r.expression.as_deref(), Some(e), "{raw}: {r:?}"),
                // An exception without a name is not guessed; the license alone would hide it.
                None => assert!(
                    r.expression.is_none() || r.notes.iter().any(|n| n.contains("exception")),
                    "{raw}: {r:?}"
                ),
            }
        }
    }

    #[test]
    fn a_valid_spdx_field_is_taken_as_declared_over_classifiers() {
        let r = resolve(
            &LicenseMetadata {
                license_field: Some("(Apache-2.0 OR BSD-3-Clause) AND PSF-2.0".into()),
                classifiers: vec!["License :: OSI Approved :: MIT License".into()],
                ..Default::default()
            },
            None,
        );
        assert_eq!(
            r.expression.as_deref(),
            Some("(Apache-2.0 OR BSD-3-Clause) AND PSF-2.0")
        );
        assert!(
            r.notes.iter().any(|n| n.contains("disagrees")),
            "{:?}",
            r.notes
        );
        // A deprecated id is mapped, with a note.
        let r = field("GPL-2.0+");
        assert_eq!(r.expression.as_deref(), Some("GPL-2.0-or-later"));
        assert!(!r.notes.is_empty());
    }
}
