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
use texts::text_evidence;

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

/// License files, read at most once and only when asked for.
struct LazyFiles<'a> {
    listed: &'a [String],
    dir: Option<&'a Path>,
    loaded: Option<Option<Evidence>>,
    /// Why the files gave no answer, for the unknown's reason.
    why: Option<String>,
    /// [`files::digest`] of the files read, once read.
    digest: Option<String>,
}

impl LazyFiles<'_> {
    fn get(&mut self, notes: &mut Vec<String>) -> Option<&Evidence> {
        if self.loaded.is_none() {
            let mut why = None;
            let evidence = self.dir.and_then(|dir| {
                let (texts, digest) = files::read(self.listed, dir, notes);
                self.digest = Some(digest);
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
    resolve_traced(meta, metadata_dir).0
}

/// [`resolve`], and the [`files::digest`] of the license files it read (`None`: it read none,
/// so the answer depends on the metadata fields alone).
pub(crate) fn resolve_traced(
    meta: &LicenseMetadata,
    metadata_dir: Option<&Path>,
) -> (ResolvedLicense, Option<String>) {
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
        digest: None,
    };

    let decision = decide(meta, &metadata, &mut files, &mut notes, &mut unresolved);
    let mut texts: Vec<&Evidence> = metadata.clone();
    texts.extend(files.peek());
    let resolved = match decision {
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
    };
    (resolved, files.digest)
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
mod tests;
mod texts;
