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

use std::cmp::Reverse;
use std::sync::OnceLock;

/// The SPDX templates, `@@@ <id>` before each.
const TEMPLATES: &str = include_str!("../../../assets/licenses/templates.txt");

/// Share of a template's required words that must be found for it to match.
pub(crate) const MATCH_THRESHOLD: f32 = 0.9;
/// Share below which a template is not even worth naming as a near miss.
const NEAR_MISS: f32 = 0.6;
/// Word id of a text word no template contains: never matches.
const FOREIGN: u16 = u16::MAX;
/// Stretches between anchors up to this many words (each side) are aligned word by word.
const ALIGN_MAX: usize = 96;
/// How many templates one text is matched against, at most, per round; and rounds (one
/// identified license per round).
const MAX_ROUNDS: usize = 12;
mod library;

use library::{FxMap, N, Template, canonical, gram};
// The library module reaches the normaliser as `super::normalize`, here and in `build.rs`.
use super::normalize;

/// The templates compiled by the build script ([`library::encode`] of [`library::compile`]).
static COMPILED: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/license_library.bin"));

/// One entry of the 4-gram index as compiled: the 4-gram, then the start and length of its
/// range in the postings (little-endian u64, u32, u32).
type GramRecord = [u8; 16];
/// One posting as compiled: template, then position (little-endian u16, u32).
type PostingRecord = [u8; 6];

struct Library {
    vocabulary: FxMap<&'static str, u16>,
    templates: Vec<Template<'static>>,
    /// Every indexed 4-gram, ascending, with its range in `postings`. Read in place from
    /// [`COMPILED`], as are the postings: copied out they were 1.6 MB of heap for the whole run.
    grams: &'static [GramRecord],
    /// (template, position) of every indexed 4-gram, grouped by 4-gram.
    postings: &'static [PostingRecord],
}

fn gram_of(record: &GramRecord) -> (u64, u32, u32) {
    // Fixed offsets into a fixed-size array: no index can be out of bounds.
    let field = |from: usize| move |i: usize| record[from + i];
    (
        u64::from_le_bytes(std::array::from_fn(field(0))),
        u32::from_le_bytes(std::array::from_fn(field(8))),
        u32::from_le_bytes(std::array::from_fn(field(12))),
    )
}

fn posting_of(record: &PostingRecord) -> (u16, u32) {
    let [t0, t1, p @ ..] = *record;
    (u16::from_le_bytes([t0, t1]), u32::from_le_bytes(p))
}

impl Library {
    /// Where a 4-gram occurs in the templates, by template then position.
    fn postings(&self, gram: u64) -> impl Iterator<Item = (u16, u32)> + 'static {
        let range = match self.grams.binary_search_by_key(&gram, |r| gram_of(r).0) {
            Ok(i) => {
                let (_, from, len) = gram_of(&self.grams[i]);
                // In range: `decode` checked every entry against the postings.
                &self.postings[from as usize..(from + len) as usize]
            }
            Err(_) => &[],
        };
        range.iter().map(posting_of)
    }
}

fn library() -> &'static Library {
    static LIB: OnceLock<Library> = OnceLock::new();
    LIB.get_or_init(|| {
        decode(COMPILED).unwrap_or_else(|| {
            // Only a broken build gets here; compiling at run time gives the same library.
            let bytes = library::encode(&library::compile(TEMPLATES));
            decode(Box::leak(bytes.into_boxed_slice())).unwrap_or_else(|| Library {
                vocabulary: FxMap::default(),
                templates: Vec::new(),
                grams: &[],
                postings: &[],
            })
        })
    })
}

/// Reads [`library::encode`]'s layout; `None` for bytes that are not one, including indexes
/// that would point outside what they index (the matcher slices by them).
fn decode(bytes: &'static [u8]) -> Option<Library> {
    let mut r = Reader(bytes.strip_prefix(library::MAGIC.as_slice())?);
    let words = r.len()?;
    let mut vocabulary = FxMap::default();
    // A count is never trusted for an allocation beyond what the bytes could hold.
    vocabulary.reserve(words.min(bytes.len()));
    for id in 0..words {
        vocabulary.insert(r.text()?, u16::try_from(id).ok()?);
    }
    let in_vocabulary = |w: u16| usize::from(w) < words;
    let count = r.len()?;
    let mut templates = Vec::with_capacity(count.min(bytes.len()));
    for _ in 0..count {
        let id = r.text()?;
        let n = r.len()?;
        let words: Vec<u16> = r.take(n * 2)?.chunks_exact(2).map(le_u16).collect();
        let required: Vec<bool> = r.take(n)?.iter().map(|&b| b != 0).collect();
        let var_words: Vec<u16> = r.take(n * 2)?.chunks_exact(2).map(le_u16).collect();
        let required_total = r.len()?;
        let bag = r.list(|r| Some((r.u16()?, r.u32()?, r.u32()?)))?;
        let blocks = r.list(|r| Some((r.len()?, r.len()?)))?;
        let sane = words.iter().all(|&w| in_vocabulary(w))
            && bag.iter().all(|&(w, _, _)| in_vocabulary(w))
            && blocks.iter().all(|&(from, to)| from <= to && to <= n);
        if !sane {
            return None;
        }
        templates.push(Template {
            id,
            words,
            required,
            var_words,
            required_total,
            bag,
            blocks,
        });
    }
    let grams: &[GramRecord] = r.records()?;
    let postings: &[PostingRecord] = r.records()?;
    let sane = grams
        .windows(2)
        .all(|w| gram_of(&w[0]).0 < gram_of(&w[1]).0)
        && grams
            .iter()
            .map(gram_of)
            .all(|(_, from, len)| (from as usize).saturating_add(len as usize) <= postings.len())
        && postings.iter().map(posting_of).all(|(t, pos)| {
            templates
                .get(usize::from(t))
                .is_some_and(|t: &Template<'static>| (pos as usize) + N <= t.words.len())
        });
    (sane && r.0.is_empty()).then_some(Library {
        vocabulary,
        templates,
        grams,
        postings,
    })
}

fn le_u16(b: &[u8]) -> u16 {
    u16::from_le_bytes([b[0], b[1]])
}

/// A cursor over [`COMPILED`]: every read is bounds-checked.
struct Reader(&'static [u8]);

impl Reader {
    fn take(&mut self, n: usize) -> Option<&'static [u8]> {
        if n > self.0.len() {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn u16(&mut self) -> Option<u16> {
        Some(le_u16(self.take(2)?))
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    fn len(&mut self) -> Option<usize> {
        usize::try_from(self.u32()?).ok()
    }

    /// A count, then that many fixed-width records, in place.
    fn records<const W: usize>(&mut self) -> Option<&'static [[u8; W]]> {
        let n = self.len()?;
        let (records, rest) = self.take(n.checked_mul(W)?)?.as_chunks::<W>();
        rest.is_empty().then_some(records)
    }

    /// A count, then that many items read by `item`.
    fn list<T>(&mut self, mut item: impl FnMut(&mut Self) -> Option<T>) -> Option<Vec<T>> {
        (0..self.len()?).map(|_| item(self)).collect()
    }

    fn text(&mut self) -> Option<&'static str> {
        let n = usize::from(self.u16()?);
        std::str::from_utf8(self.take(n)?).ok()
    }
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
            for (t, j) in lib.postings(gram(window)) {
                hits[usize::from(t)].push((i as u32, j));
            }
        }
    }
    let bag = TextBag::new(text, lib.vocabulary.len());
    // Only templates with enough anchors to possibly reach the near-miss share, and whose
    // words the text has enough of to possibly reach it (an upper bound on coverage: no answer
    // changes). `contender`: could even reach the match threshold.
    let candidates: Vec<Candidate> = hits
        .into_iter()
        .enumerate()
        .filter(|(t, h)| !h.is_empty() && h.len() >= min_hits(&lib.templates[*t]))
        .filter_map(|(t, hits)| {
            let bound = bag.coverage_bound(&lib.templates[t]);
            (bound >= NEAR_MISS).then(|| Candidate {
                template: t as u16,
                hits,
                contender: bound >= MATCH_THRESHOLD,
                score_bound: bag.score_bound(&lib.templates[t], bound),
            })
        })
        .collect();

    let mut claimed: Vec<(usize, usize)> = Vec::new();
    let mut out = Matched::default();
    // Alignments are cached between rounds: only a template with anchors in the region just
    // claimed needs aligning again.
    let mut cached: Vec<Option<Option<(usize, Found)>>> = vec![None; candidates.len()];
    let align_free = |c: &Candidate, claimed: &[(usize, usize)]| {
        let template = &lib.templates[usize::from(c.template)];
        let free: Vec<(u32, u32)> = c
            .hits
            .iter()
            .copied()
            .filter(|&(i, _)| {
                let i = i as usize;
                !claimed.iter().any(|&(s, e)| i + N > s && i < e)
            })
            .collect();
        if free.len() < min_hits(template) {
            None
        } else {
            align(template, text, &free)
        }
    };
    // Contenders, most promising first: one whose score bound cannot beat the best found so
    // far is not aligned. Ties go to the earlier template, as in candidate order.
    let mut order: Vec<usize> = (0..candidates.len())
        .filter(|&k| candidates[k].contender)
        .collect();
    order.sort_by(|&a, &b| {
        candidates[b]
            .score_bound
            .total_cmp(&candidates[a].score_bound)
            .then(a.cmp(&b))
    });
    for _ in 0..MAX_ROUNDS {
        let mut best: Option<(f32, Reverse<usize>)> = None;
        // Only a contender can be chosen; the others matter only as a near miss.
        for &k in &order {
            let c = &candidates[k];
            if best.is_some_and(|b| (c.score_bound, Reverse(k)) < b) {
                continue;
            }
            let template = &lib.templates[usize::from(c.template)];
            let cache = cached[k].get_or_insert_with(|| align_free(c, &claimed));
            let Some((matched, found)) = cache else {
                continue;
            };
            if found.coverage < MATCH_THRESHOLD {
                continue;
            }
            let score = score(template, *matched, found.coverage);
            if best.is_none_or(|b| (score, Reverse(k)) > b) {
                best = Some((score, Reverse(k)));
            }
        }
        let Some((_, Reverse(k))) = best else { break };
        let Some(Some((_, found))) = cached[k].take() else {
            break;
        };
        let (s, e) = (found.start, found.end);
        claimed.push((s, e));
        out.found.push(found);
        for (j, c) in candidates.iter().enumerate() {
            if c.hits
                .iter()
                .any(|&(i, _)| (i as usize) + N > s && (i as usize) < e)
            {
                cached[j] = None;
            }
        }
    }
    if out.found.is_empty() {
        // Nothing claimed: the best alignment of all, in candidate order, is the near miss.
        for (k, c) in candidates.iter().enumerate() {
            let cache = cached[k].get_or_insert_with(|| align_free(c, &claimed));
            if let Some((_, found)) = cache
                && found.coverage >= NEAR_MISS
                && found.coverage < MATCH_THRESHOLD
                && out.near_miss.is_none_or(|(_, c)| c < found.coverage)
            {
                out.near_miss = Some((found.id, found.coverage));
            }
        }
    }
    out.found.sort_by_key(|f| f.start);
    out
}

/// A template worth aligning with the text.
struct Candidate {
    template: u16,
    /// (text position, template position) of shared 4-grams.
    hits: Vec<(u32, u32)>,
    /// Its coverage bound reaches the match threshold.
    contender: bool,
    score_bound: f32,
}

/// What ranks matches: the template that explains most of the text wins (X11 over the MIT it
/// contains), less what it would need that the text lacks (MIT plus some clause is not JSON,
/// whose "Good, not Evil" clause is missing).
fn score(t: &Template<'static>, matched: usize, coverage: f32) -> f32 {
    let missing = t.required_total as f32 * (1.0 - coverage);
    matched as f32 - 2.0 * missing
}

/// How often each template word occurs in the text.
struct TextBag(Vec<u32>);

impl TextBag {
    fn new(text: &[u16], vocabulary: usize) -> Self {
        let mut counts = vec![0u32; vocabulary];
        for &w in text {
            if let Some(n) = counts.get_mut(usize::from(w)) {
                *n += 1;
            }
        }
        Self(counts)
    }

    /// Upper bound on the coverage [`align`] can find: each matched required word pairs with a
    /// distinct text word of the same id, so no more of a word can match than the text has.
    /// Computed as coverage is, so that the float comparison is monotone too.
    fn coverage_bound(&self, t: &Template<'static>) -> f32 {
        if t.required_total == 0 {
            return 0.0;
        }
        let reachable: usize = t
            .bag
            .iter()
            .map(|&(w, n, _)| n.min(self.0[usize::from(w)]) as usize)
            .sum();
        reachable as f32 / t.required_total as f32
    }

    /// Upper bound on the score [`find`] ranks a match of `t` by (matched words, less twice
    /// the required words missing), computed as the score is.
    fn score_bound(&self, t: &Template<'static>, coverage_bound: f32) -> f32 {
        let matched: usize = t
            .bag
            .iter()
            .map(|&(w, _, n)| n.min(self.0[usize::from(w)]) as usize)
            .sum();
        score(t, matched, coverage_bound)
    }
}

/// Fewest anchors a template needs to possibly reach the near-miss share: each anchor stands
/// for about one matched word.
fn min_hits(t: &Template<'static>) -> usize {
    (NEAR_MISS * 0.7 * t.required_total as f32) as usize
}

/// Align one template with the text through its anchors. Returns matched word count and the
/// match, or `None` when there is nothing to align.
fn align(t: &Template<'static>, text: &[u16], hits: &[(u32, u32)]) -> Option<(usize, Found)> {
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
            // Only worth the reverse alignment when something matched.
            let last_matched = || {
                last_match(
                    &text[end..end + in_len],
                    &t.words[ref_from..ref_to],
                    &t.required[ref_from..ref_to],
                )
            };
            // The tail (often an optional appendix) is ours up to its last matched word, when
            // it matched densely: a few common words in the next text are not a tail.
            if lcs.0 > 0
                && let last_matched = last_matched()
                && lcs.0 * 2 > last_matched
            {
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
    // Same text position: higher template position first, so at most one is taken. Hits come
    // by text position, then template position: reversing each text position's run is the
    // sort, in linear time (the sort stays for any other order).
    let order = |a: &(u32, u32), b: &(u32, u32)| a.0.cmp(&b.0).then(b.1.cmp(&a.1));
    for run in sorted.chunk_by_mut(|a, b| a.0 == b.0) {
        run.reverse();
    }
    if !sorted.is_sorted_by(|a, b| order(a, b).is_le()) {
        sorted.sort_unstable_by(order);
    }
    // Indices of the chains' last hits, and their template positions (searched: kept apart
    // for locality).
    let mut tails: Vec<usize> = Vec::new();
    let mut tail_j: Vec<u32> = Vec::new();
    let mut prev: Vec<Option<usize>> = vec![None; sorted.len()];
    for (k, &(_, j)) in sorted.iter().enumerate() {
        let at = tail_j.partition_point(|&x| x < j);
        prev[k] = at.checked_sub(1).map(|p| tails[p]);
        if at == tails.len() {
            tails.push(k);
            tail_j.push(j);
        } else {
            tails[at] = k;
            tail_j[at] = j;
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
    // One table per thread, reused: this runs a few times per template per text.
    thread_local! {
        static DP: std::cell::RefCell<Vec<u16>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    DP.with_borrow_mut(|dp| {
        dp.clear();
        dp.resize((n + 1) * (m + 1), 0);
        span_table(dp, n, m, same, required)
    })
}

/// The LCS table of [`span`] and its traceback.
fn span_table(
    dp: &mut [u16],
    n: usize,
    m: usize,
    same: impl Fn(usize, usize) -> bool,
    required: &[bool],
) -> ((usize, usize), usize, Option<usize>) {
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
    // `span` looks at the last ALIGN_MAX words of what it is given: of the reversed stretches,
    // that is the first ALIGN_MAX words reversed, copied here without allocating.
    fn reversed<T: Copy + Default>(s: &[T], buf: &mut [T; ALIGN_MAX]) -> usize {
        let n = s.len().min(ALIGN_MAX);
        for (slot, &x) in buf.iter_mut().zip(s[..n].iter().rev()) {
            *slot = x;
        }
        n
    }
    let (mut rev_text, mut rev_tpl, mut rev_required) =
        ([0u16; ALIGN_MAX], [0u16; ALIGN_MAX], [false; ALIGN_MAX]);
    let n = reversed(text, &mut rev_text);
    let m = reversed(tpl, &mut rev_tpl);
    reversed(required, &mut rev_required);
    match span(&rev_text[..n], &rev_tpl[..m], &rev_required[..m], true).2 {
        Some(first_from_end) => text.len() - 1 - first_from_end,
        None => 0,
    }
}

#[cfg(test)]
mod tests;
