//! Whole-text license matching against the SPDX License List templates
//! (`assets/licenses/templates.txt`, made by `scripts/license-templates.py`).
//!
//! Follows the SPDX matching guidelines where they matter for a verdict: case, whitespace and
//! punctuation are ignored (both sides go through the same word normaliser), `<<var>>` parts
//! (copyright lines, holder names, bullets) match any short run of words, `<<beginOptional>>`
//! parts may be absent. A template *matches* when at least [`MATCH_THRESHOLD`] of its required
//! words are found in order; the words of the text that no template explains are kept, so that
//! "a known license plus a clause" is never reported as the known license (the caller decides
//! what the remainder means).
//!
//! Alignment is anchored on word 4-grams: every 4-gram of the text is looked up in one index of
//! all templates, the hits of one template are chained (longest increasing run in both texts),
//! and the short stretches between anchors are aligned word by word. Cost is linear in the text
//! for the templates it does not resemble.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::OnceLock;

/// FxHash (the multiply-rotate hash rustc uses): the keys are our own words and 4-grams, not
/// attacker-chosen in a way that matters (a slow lookup, not a wrong answer), and SipHash was
/// a third of the time spent per license file.
#[derive(Default)]
struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.write_u64(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// The SPDX templates, `@@@ <id>` before each.
const TEMPLATES: &str = include_str!("../../../assets/licenses/templates.txt");

/// Share of a template's required words that must be found for it to match.
pub(crate) const MATCH_THRESHOLD: f32 = 0.9;
/// Share below which a template is not even worth naming as a near miss.
const NEAR_MISS: f32 = 0.6;
/// Word id of a text word no template contains: never matches.
const FOREIGN: u16 = u16::MAX;
/// Most words a `<<var>>` stands for when its pattern allows "anything" (holder names, a
/// copyright block): longer runs are not explained by it.
const VAR_MAX_WORDS: usize = 60;
/// Stretches between anchors up to this many words (each side) are aligned word by word.
const ALIGN_MAX: usize = 96;
/// How many templates one text is matched against, at most, per round; and rounds (one
/// identified license per round).
const MAX_ROUNDS: usize = 12;
/// n-grams this common across the templates are useless as anchors.
const MAX_POSTINGS: usize = 48;
const N: usize = 4;

/// One compiled template.
struct Template {
    id: &'static str,
    words: Vec<u16>,
    required: Vec<bool>,
    /// Words a `<<var>>` at this position may stand for (0: none).
    var_words: Vec<u16>,
    required_total: usize,
    /// Word ranges of the outermost optional parts (an appendix, a disclaimer).
    blocks: Vec<(usize, usize)>,
}

struct Library {
    vocabulary: FxMap<String, u16>,
    templates: Vec<Template>,
    /// 4-gram → (template, position).
    index: FxMap<u64, Vec<(u16, u32)>>,
}

/// Word equivalences (SPDX guidelines, "equivalent words"), applied to both sides.
fn canonical(word: &str) -> &str {
    match word {
        "licence" => "license",
        "licences" => "licenses",
        "licenced" => "licensed",
        "licencing" => "licensing",
        "https" => "http",
        "acknowledgement" => "acknowledgment",
        "acknowledgements" => "acknowledgments",
        "organisation" => "organization",
        "authorised" => "authorized",
        _ => word,
    }
}

/// Words of already-normalised text (see `names::normalize`).
fn words(norm: &str) -> impl Iterator<Item = &str> {
    norm.split(' ').filter(|w| !w.is_empty()).map(canonical)
}

fn gram(words: &[u16]) -> u64 {
    words
        .iter()
        .fold(0u64, |acc, &w| (acc << 16) | u64::from(w))
}

/// Parse one SPDX template into words with required/optional flags and var allowances.
fn parse_template(
    id: &'static str,
    body: &'static str,
    vocabulary: &mut FxMap<String, u16>,
) -> Template {
    let mut t = Template {
        id,
        words: Vec::new(),
        required: Vec::new(),
        var_words: Vec::new(),
        required_total: 0,
        blocks: Vec::new(),
    };
    let mut block_start = 0usize;
    let mut optional_depth = 0usize;
    let mut pending_var = 0usize;
    let mut rest = body;
    let mut push_text =
        |t: &mut Template, text: &'static str, optional: bool, pending: &mut usize| {
            let norm = super::names::normalize(text, false);
            for w in words(&norm) {
                let next = vocabulary.len() as u16;
                let id = *vocabulary.entry(w.to_string()).or_insert(next);
                t.words.push(id);
                t.required.push(!optional);
                t.var_words
                    .push((*pending).min(usize::from(u16::MAX)) as u16);
                *pending = 0;
                if !optional {
                    t.required_total += 1;
                }
            }
        };
    while let Some(open) = rest.find("<<") {
        push_text(&mut t, &rest[..open], optional_depth > 0, &mut pending_var);
        let tag = &rest[open + 2..];
        if let Some(after) = tag.strip_prefix("beginOptional") {
            if optional_depth == 0 {
                block_start = t.words.len();
            }
            optional_depth += 1;
            rest = after.find(">>").map_or("", |e| &after[e + 2..]);
        } else if let Some(after) = tag.strip_prefix("endOptional") {
            optional_depth = optional_depth.saturating_sub(1);
            if optional_depth == 0 && t.words.len() > block_start {
                t.blocks.push((block_start, t.words.len()));
            }
            rest = after.find(">>").map_or("", |e| &after[e + 2..]);
        } else if tag.starts_with("var") {
            // `<<var;name="..";original="..";match="..">>`: the original words are optional, and
            // the var may stand for other words, as many as its pattern allows.
            let end = tag
                .find("\">>")
                .map(|e| e + 3)
                .or_else(|| tag.find(">>").map(|e| e + 2))
                .unwrap_or(tag.len());
            let inner = &tag[..end];
            let field = |name: &str| {
                inner.find(&format!("{name}=\"")).map(|s| {
                    let from = &inner[s + name.len() + 2..];
                    let to = from
                        .find("\";")
                        .or_else(|| from.find("\">>"))
                        .unwrap_or(from.len());
                    &from[..to]
                })
            };
            let original = field("original").unwrap_or("");
            pending_var += var_allowance(field("match").unwrap_or(".+"));
            push_text(&mut t, original, true, &mut pending_var);
            rest = &tag[end..];
        } else {
            rest = tag;
        }
    }
    push_text(&mut t, rest, optional_depth > 0, &mut pending_var);
    t
}

/// How many words a var's `match` pattern may stand for.
fn var_allowance(pattern: &str) -> usize {
    if let Some(bound) = pattern.strip_prefix(".{0,") {
        let n: usize = bound
            .split('}')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        return (n / 5).clamp(1, VAR_MAX_WORDS);
    }
    if pattern.starts_with(".+") || pattern.starts_with(".*") {
        return VAR_MAX_WORDS / 4;
    }
    // An alternation of literal phrases: as many words as its longest.
    pattern
        .split('|')
        .map(|alt| {
            alt.split(|c: char| !c.is_ascii_alphanumeric())
                .filter(|w| !w.is_empty() && *w != "s")
                .count()
        })
        .max()
        .unwrap_or(1)
        .max(1)
}

fn library() -> &'static Library {
    static LIB: OnceLock<Library> = OnceLock::new();
    LIB.get_or_init(|| {
        let mut vocabulary = FxMap::default();
        let mut templates = Vec::new();
        for record in TEMPLATES.split("@@@ ").filter(|r| !r.trim().is_empty()) {
            let (id, body) = record.split_once('\n').unwrap_or((record, ""));
            templates.push(parse_template(id.trim(), body, &mut vocabulary));
        }
        let mut index: FxMap<u64, Vec<(u16, u32)>> = FxMap::default();
        for (ti, t) in templates.iter().enumerate() {
            for (pos, window) in t.words.windows(N).enumerate() {
                index
                    .entry(gram(window))
                    .or_default()
                    .push((ti as u16, pos as u32));
            }
        }
        index.retain(|_, postings| postings.len() <= MAX_POSTINGS);
        Library {
            vocabulary,
            templates,
            index,
        }
    })
}

/// A template found in the text.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Found {
    /// SPDX id (GNU ids in their `-only` form).
    pub id: &'static str,
    /// Word range in the text.
    pub start: usize,
    pub end: usize,
    /// Share of the template's required words found.
    pub coverage: f32,
    /// Words inside the matched range that the template does not explain (in runs).
    pub additions: Vec<(usize, usize)>,
    /// An optional part of the template (a disclaimer, an appendix) of which only scattered
    /// phrases are found: the text has a different part there.
    pub partial_optional: bool,
}

/// What matching found in one text.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Matched {
    /// Templates that match, in text order.
    pub found: Vec<Found>,
    /// The best template that did not reach the threshold, with its coverage.
    pub near_miss: Option<(&'static str, f32)>,
}

/// The text as template word ids, with the byte offset of each word in `norm`.
pub(crate) struct Tokens {
    pub ids: Vec<u16>,
    pub offsets: Vec<usize>,
}

pub(crate) fn tokenize(norm: &str) -> Tokens {
    let lib = library();
    let mut ids = Vec::new();
    let mut offsets = Vec::new();
    let mut at = 0;
    for raw in norm.split(' ') {
        if !raw.is_empty() {
            ids.push(*lib.vocabulary.get(canonical(raw)).unwrap_or(&FOREIGN));
            offsets.push(at);
        }
        at += raw.len() + 1;
    }
    Tokens { ids, offsets }
}

/// Match `tokens` against every template.
pub(crate) fn find(tokens: &Tokens) -> Matched {
    let lib = library();
    let text = &tokens.ids;
    // Hits per template, by text position.
    let mut hits: Vec<Vec<(u32, u32)>> = vec![Vec::new(); lib.templates.len()];
    if text.len() >= N {
        for (i, window) in text.windows(N).enumerate() {
            if window.contains(&FOREIGN) {
                continue;
            }
            if let Some(postings) = lib.index.get(&gram(window)) {
                for &(t, j) in postings {
                    hits[usize::from(t)].push((i as u32, j));
                }
            }
        }
    }
    // Only templates with enough anchors to possibly reach the near-miss share.
    let candidates: Vec<(u16, Vec<(u32, u32)>)> = hits
        .into_iter()
        .enumerate()
        .filter(|(t, h)| !h.is_empty() && h.len() >= min_hits(&lib.templates[*t]))
        .map(|(t, h)| (t as u16, h))
        .collect();

    let mut claimed: Vec<(usize, usize)> = Vec::new();
    let mut out = Matched::default();
    // Alignments are cached between rounds: only a template with anchors in the region just
    // claimed needs aligning again.
    let mut cached: Vec<Option<Option<(usize, Found)>>> = vec![None; candidates.len()];
    for _ in 0..MAX_ROUNDS {
        let mut best: Option<(f32, usize)> = None;
        for (k, (t, h)) in candidates.iter().enumerate() {
            let template = &lib.templates[usize::from(*t)];
            if cached[k].is_none() {
                let free: Vec<(u32, u32)> = h
                    .iter()
                    .copied()
                    .filter(|&(i, _)| {
                        let i = i as usize;
                        !claimed.iter().any(|&(s, e)| i + N > s && i < e)
                    })
                    .collect();
                cached[k] = Some(if free.len() < min_hits(template) {
                    None
                } else {
                    align(template, text, &free)
                });
            }
            let Some(Some((matched, found))) = &cached[k] else {
                continue;
            };
            if found.coverage < MATCH_THRESHOLD {
                if found.coverage >= NEAR_MISS
                    && out.near_miss.is_none_or(|(_, c)| c < found.coverage)
                    && claimed.is_empty()
                {
                    out.near_miss = Some((template.id, found.coverage));
                }
                continue;
            }
            // The template that explains most of the text wins (X11 over the MIT it contains),
            // less what it would need that the text lacks (MIT plus some clause is not JSON,
            // whose "Good, not Evil" clause is missing).
            let missing = template.required_total as f32 * (1.0 - found.coverage);
            let score = *matched as f32 - 2.0 * missing;
            if best.is_none_or(|(s, _)| score > s) {
                best = Some((score, k));
            }
        }
        let Some((_, k)) = best else { break };
        let Some(Some((_, found))) = cached[k].take() else {
            break;
        };
        let (s, e) = (found.start, found.end);
        claimed.push((s, e));
        out.found.push(found);
        for (j, (_, h)) in candidates.iter().enumerate() {
            if h.iter()
                .any(|&(i, _)| (i as usize) + N > s && (i as usize) < e)
            {
                cached[j] = None;
            }
        }
    }
    if !out.found.is_empty() {
        out.near_miss = None;
    }
    out.found.sort_by_key(|f| f.start);
    out
}

/// Fewest anchors a template needs to possibly reach the near-miss share: each anchor stands
/// for about one matched word.
fn min_hits(t: &Template) -> usize {
    (NEAR_MISS * 0.7 * t.required_total as f32) as usize
}

/// Align one template with the text through its anchors. Returns matched word count and the
/// match, or `None` when there is nothing to align.
fn align(t: &Template, text: &[u16], hits: &[(u32, u32)]) -> Option<(usize, Found)> {
    let chain = longest_chain(hits);
    // Runs of consecutive words matched on one diagonal, non-overlapping.
    let mut runs: Vec<(usize, usize, usize)> = Vec::new();
    for (i, j) in chain {
        let (i, j) = (i as usize, j as usize);
        match runs.last_mut() {
            Some((ri, rj, len)) if i + *rj == j + *ri && i >= *ri && i <= *ri + *len => {
                *len = (*len).max(i + N - *ri);
            }
            Some((ri, rj, len)) if i < *ri + *len || j < *rj + *len => {
                // Overlaps the previous run on another diagonal: take only the part after it.
                let skip = (*ri + *len)
                    .saturating_sub(i)
                    .max((*rj + *len).saturating_sub(j));
                if skip < N {
                    runs.push((i + skip, j + skip, N - skip));
                }
            }
            _ => runs.push((i, j, N)),
        }
    }
    // A long stretch of other text between two anchors means the chain jumped to another copy
    // of the license (bundled texts repeat it): keep the densest segment, the others are
    // found in later rounds.
    if runs.len() > 1 {
        let mut segments: Vec<Vec<(usize, usize, usize)>> = vec![Vec::new()];
        for r in runs {
            if let Some(prev) = segments.last().and_then(|s| s.last())
                && r.0 - (prev.0 + prev.2) > 2 * ALIGN_MAX
            {
                segments.push(Vec::new());
            }
            segments.last_mut().expect("one segment").push(r);
        }
        runs = segments
            .into_iter()
            .max_by_key(|s| s.iter().map(|r| r.2).sum::<usize>())
            .unwrap_or_default();
    }
    // An optional part of some length is there or not; a few of its phrases alone are another
    // text in its place.
    let partial_optional = t.blocks.iter().any(|&(from, to)| {
        let covered: usize = runs
            .iter()
            .map(|&(_, j, len)| (j + len).min(to).saturating_sub(j.max(from)))
            .sum();
        to - from >= 8 && covered > 0 && covered * 2 < to - from
    });
    let first = *runs.first()?;
    let last = *runs.last()?;
    let mut matched_required = 0usize;
    let mut matched = 0usize;
    let mut additions: Vec<(usize, usize)> = Vec::new();
    let count_run = |i: usize, j: usize, len: usize, mr: &mut usize, m: &mut usize| {
        let _ = i;
        *m += len;
        *mr += t.required[j..j + len].iter().filter(|&&r| r).count();
    };
    // Before the first run: the template's head against the words just before it.
    let mut start = first.0;
    {
        let ref_len = first.1;
        let allowance: usize = t.var_words[..=first.1.min(t.words.len() - 1)]
            .iter()
            .map(|&v| usize::from(v))
            .sum();
        let in_len = first.0.min(ref_len + allowance);
        if ref_len > 0 && in_len > 0 {
            let (lcs, unmatched, first_matched) = span(
                &text[first.0 - in_len..first.0],
                &t.words[..ref_len],
                &t.required[..ref_len],
                true,
            );
            matched += lcs.0;
            matched_required += lcs.1;
            if let Some(f) = first_matched {
                start = first.0 - in_len + f;
                let extra = unmatched.saturating_sub(allowance);
                if extra > 0 {
                    additions.push((start, first.0));
                }
            }
        }
    }
    for w in runs.windows(2) {
        let (a, b) = (w[0], w[1]);
        count_run(a.0, a.1, a.2, &mut matched_required, &mut matched);
        let (in_from, in_to) = (a.0 + a.2, b.0);
        let (ref_from, ref_to) = (a.1 + a.2, b.1);
        let allowance: usize = t.var_words
            [ref_from.min(t.words.len())..=ref_to.min(t.words.len() - 1)]
            .iter()
            .map(|&v| usize::from(v))
            .sum();
        let in_len = in_to.saturating_sub(in_from);
        let ref_len = ref_to.saturating_sub(ref_from);
        let unmatched = if in_len <= ALIGN_MAX && ref_len <= ALIGN_MAX {
            let (lcs, unmatched, _) = span(
                &text[in_from..in_to.max(in_from)],
                &t.words[ref_from..ref_to.max(ref_from)],
                &t.required[ref_from..ref_to.max(ref_from)],
                false,
            );
            matched += lcs.0;
            matched_required += lcs.1;
            unmatched
        } else {
            in_len
        };
        if unmatched > allowance {
            additions.push((in_from, in_to));
        }
    }
    count_run(last.0, last.1, last.2, &mut matched_required, &mut matched);
    // After the last run: the template's tail against the words just after it.
    let mut end = last.0 + last.2;
    {
        // Only the stretch next to the last run is aligned (the tail's start).
        let ref_from = last.1 + last.2;
        let ref_to = t.words.len().min(ref_from + ALIGN_MAX);
        let ref_len = ref_to - ref_from;
        let allowance: usize = t.var_words[ref_from.min(t.words.len())..ref_to]
            .iter()
            .map(|&v| usize::from(v))
            .sum();
        let in_len = (text.len() - end).min(ref_len + allowance).min(ALIGN_MAX);
        if ref_len > 0 && in_len > 0 {
            let (lcs, _, _) = span(
                &text[end..end + in_len],
                &t.words[ref_from..ref_to],
                &t.required[ref_from..ref_to],
                true,
            );
            let last_matched = last_match(
                &text[end..end + in_len],
                &t.words[ref_from..ref_to],
                &t.required[ref_from..ref_to],
            );
            // The tail (often an optional appendix) is ours up to its last matched word, when
            // it matched densely: a few common words in the next text are not a tail.
            if lcs.0 > 0 && lcs.0 * 2 > last_matched {
                matched += lcs.0;
                matched_required += lcs.1;
                // Words of the text in the tail that the template does not have (a substituted
                // word: "nuclear" for "military").
                if (last_matched + 1).saturating_sub(lcs.0) > allowance {
                    additions.push((end, end + last_matched + 1));
                }
                end += last_matched + 1;
            }
        }
    }
    let coverage = if t.required_total == 0 {
        0.0
    } else {
        matched_required as f32 / t.required_total as f32
    };
    Some((
        matched,
        Found {
            id: t.id,
            start,
            end,
            coverage,
            additions,
            partial_optional,
        },
    ))
}

/// Longest chain of hits increasing in both positions (patience sorting, O(h log h)).
fn longest_chain(hits: &[(u32, u32)]) -> Vec<(u32, u32)> {
    let mut sorted = hits.to_vec();
    // Same text position: higher template position first, so at most one is taken.
    sorted.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    let mut tails: Vec<usize> = Vec::new();
    let mut prev: Vec<Option<usize>> = vec![None; sorted.len()];
    for (k, &(_, j)) in sorted.iter().enumerate() {
        let at = tails.partition_point(|&x| sorted[x].1 < j);
        prev[k] = at.checked_sub(1).map(|p| tails[p]);
        if at == tails.len() {
            tails.push(k);
        } else {
            tails[at] = k;
        }
    }
    let mut chain = Vec::with_capacity(tails.len());
    let mut k = tails.last().copied();
    while let Some(x) = k {
        chain.push(sorted[x]);
        k = prev[x];
    }
    chain.reverse();
    chain
}

/// Word-by-word alignment of a short stretch: ((matched, matched required), unmatched text
/// words, index of the first matched text word).
///
/// With `required_only`, optional template words never match: at the ends of a match, common
/// words of the next text must not pass for an optional appendix.
fn span(
    text: &[u16],
    tpl: &[u16],
    required: &[bool],
    required_only: bool,
) -> ((usize, usize), usize, Option<usize>) {
    if text.is_empty() || tpl.is_empty() {
        return ((0, 0), text.len(), None);
    }
    let (text, tpl_off) = if tpl.len() > ALIGN_MAX {
        (text, tpl.len() - ALIGN_MAX)
    } else {
        (text, 0)
    };
    let tpl = &tpl[tpl_off..];
    let required = &required[tpl_off..];
    let text = if text.len() > ALIGN_MAX {
        &text[text.len() - ALIGN_MAX..]
    } else {
        text
    };
    let (n, m) = (text.len(), tpl.len());
    let same = |a: usize, b: usize| {
        text[a] == tpl[b] && text[a] != FOREIGN && (required[b] || !required_only)
    };
    let mut dp = vec![0u16; (n + 1) * (m + 1)];
    for a in (0..n).rev() {
        for b in (0..m).rev() {
            dp[a * (m + 1) + b] = if same(a, b) {
                dp[(a + 1) * (m + 1) + b + 1] + 1
            } else {
                dp[(a + 1) * (m + 1) + b].max(dp[a * (m + 1) + b + 1])
            };
        }
    }
    let (mut a, mut b) = (0, 0);
    let (mut matched, mut matched_required, mut first) = (0, 0, None);
    while a < n && b < m {
        if same(a, b) {
            matched += 1;
            if required[b] {
                matched_required += 1;
            }
            first.get_or_insert(a);
            a += 1;
            b += 1;
        } else if dp[(a + 1) * (m + 1) + b] >= dp[a * (m + 1) + b + 1] {
            a += 1;
        } else {
            b += 1;
        }
    }
    ((matched, matched_required), n - matched, first)
}

/// Index of the last text word that aligns with the template stretch.
fn last_match(text: &[u16], tpl: &[u16], required: &[bool]) -> usize {
    let rev_text: Vec<u16> = text.iter().rev().copied().collect();
    let rev_tpl: Vec<u16> = tpl.iter().rev().copied().collect();
    let rev_required: Vec<bool> = required.iter().rev().copied().collect();
    match span(&rev_text, &rev_tpl, &rev_required, true).2 {
        Some(first_from_end) => text.len() - 1 - first_from_end,
        None => 0,
    }
}

#[cfg(test)]
mod tests {
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

    #[test]
    fn two_texts_in_one_file_are_both_found() {
        let apache_notice = "Licensed under the Apache License";
        let text = format!("{MIT}\n\n{MIT}\n{apache_notice}");
        assert_eq!(ids(&text), ["MIT", "MIT"]);
    }
}
