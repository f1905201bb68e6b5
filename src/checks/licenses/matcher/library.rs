//! Compiling the SPDX templates into the matcher's library: the word vocabulary, each
//! template's words with their required/optional flags, and the 4-gram index. Depends on `std`
//! and the word normaliser alone, because the build script runs it (`build.rs`): the library is
//! compiled once per build and shipped as bytes ([`encode`]), not rebuilt by every process that
//! reads a license text (it was half the instructions of an offline first run over 136
//! packages: sorting 4-grams, hashing words).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// FxHash (the multiply-rotate hash rustc uses): the keys are our own words and 4-grams, not
/// attacker-chosen in a way that matters (a slow lookup, not a wrong answer), and SipHash was
/// a third of the time spent per license file.
#[derive(Default)]
pub(crate) struct FxHasher(u64);

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

pub(crate) type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// Most words a `<<var>>` stands for when its pattern allows "anything" (holder names, a
/// copyright block): longer runs are not explained by it.
pub(crate) const VAR_MAX_WORDS: usize = 60;
/// n-grams this common across the templates are useless as anchors.
pub(crate) const MAX_POSTINGS: usize = 48;
pub(crate) const N: usize = 4;

/// One compiled template.
pub(crate) struct Template<'a> {
    pub id: &'a str,
    pub words: Vec<u16>,
    pub required: Vec<bool>,
    /// Words a `<<var>>` at this position may stand for (0: none).
    pub var_words: Vec<u16>,
    pub required_total: usize,
    /// Words by id with their counts (required, all), sorted by id: the bag the pre-filter
    /// bounds coverage and score with.
    pub bag: Vec<(u16, u32, u32)>,
    /// Word ranges of the outermost optional parts (an appendix, a disclaimer).
    pub blocks: Vec<(usize, usize)>,
}

/// Word equivalences (SPDX guidelines, "equivalent words"), applied to both sides.
pub(crate) fn canonical(word: &str) -> &str {
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
pub(crate) fn words(norm: &str) -> impl Iterator<Item = &str> {
    norm.split(' ').filter(|w| !w.is_empty()).map(canonical)
}

pub(crate) fn gram(words: &[u16]) -> u64 {
    words
        .iter()
        .fold(0u64, |acc, &w| (acc << 16) | u64::from(w))
}

/// Parse one SPDX template into words with required/optional flags and var allowances.
fn parse_template<'a>(
    id: &'a str,
    body: &'a str,
    vocabulary: &mut FxMap<String, u16>,
) -> Template<'a> {
    let mut t = Template {
        id,
        words: Vec::new(),
        required: Vec::new(),
        var_words: Vec::new(),
        required_total: 0,
        bag: Vec::new(),
        blocks: Vec::new(),
    };
    let mut block_start = 0usize;
    let mut optional_depth = 0usize;
    let mut pending_var = 0usize;
    let mut rest = body;
    let mut push_text =
        |t: &mut Template<'a>, text: &'a str, optional: bool, pending: &mut usize| {
            let norm = super::normalize::normalize(text, false);
            for w in words(&norm) {
                // Looked up before inserting: no String per word of 760 KB at start-up.
                let id = match vocabulary.get(w) {
                    Some(&id) => id,
                    None => {
                        let next = vocabulary.len() as u16;
                        vocabulary.insert(w.to_string(), next);
                        next
                    }
                };
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
    let mut words: Vec<(u16, bool)> = t.words.iter().copied().zip(t.required.clone()).collect();
    words.sort_unstable();
    for (w, required) in words {
        let required = u32::from(required);
        match t.bag.last_mut() {
            Some((last, r, all)) if *last == w => {
                *r += required;
                *all += 1;
            }
            _ => t.bag.push((w, required, 1)),
        }
    }
    t
}

/// How many words a var's `match` pattern may stand for.
pub(crate) fn var_allowance(pattern: &str) -> usize {
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

/// The compiled templates, as the build script makes them.
pub(crate) struct Compiled<'a> {
    /// Every template word, by id.
    pub vocabulary: Vec<String>,
    pub templates: Vec<Template<'a>>,
    /// Every indexed 4-gram, ascending, with its range in `postings`.
    pub grams: Vec<(u64, u32, u32)>,
    /// (template, position) of every indexed 4-gram, grouped by 4-gram: one allocation, not
    /// one per 4-gram.
    pub postings: Vec<(u16, u32)>,
}

/// Compile `templates` (the SPDX templates, `@@@ <id>` before each).
pub(crate) fn compile(templates: &str) -> Compiled<'_> {
    let mut vocabulary = FxMap::default();
    let mut compiled = Vec::new();
    for record in templates.split("@@@ ").filter(|r| !r.trim().is_empty()) {
        let (id, body) = record.split_once('\n').unwrap_or((record, ""));
        compiled.push(parse_template(id.trim(), body, &mut vocabulary));
    }
    // Sorted by 4-gram, then template and position: each group is in the order a 4-gram's
    // postings were always listed in.
    let mut all: Vec<(u64, u16, u32)> = compiled
        .iter()
        .enumerate()
        .flat_map(|(ti, t)| {
            t.words
                .windows(N)
                .enumerate()
                .map(move |(pos, window)| (gram(window), ti as u16, pos as u32))
        })
        .collect();
    all.sort_unstable();
    let mut grams = Vec::new();
    let mut postings = Vec::with_capacity(all.len());
    for group in all.chunk_by(|a, b| a.0 == b.0) {
        if group.len() <= MAX_POSTINGS {
            grams.push((group[0].0, postings.len() as u32, group.len() as u32));
            postings.extend(group.iter().map(|&(_, t, pos)| (t, pos)));
        }
    }
    let mut words = vec![String::new(); vocabulary.len()];
    for (word, id) in vocabulary {
        words[usize::from(id)] = word;
    }
    Compiled {
        vocabulary: words,
        templates: compiled,
        grams,
        postings,
    }
}

/// First bytes of an encoded library; the last one is the layout's version.
pub(crate) const MAGIC: &[u8; 8] = b"DDLICLB\x01";

/// `library` as bytes (little-endian): [`MAGIC`]; the vocabulary (count, then each word's
/// length and bytes); the templates (count, then each one's id, word count, words, required
/// flags, var allowances, required total, bag and blocks); the 4-grams; the postings.
pub(crate) fn encode(library: &Compiled<'_>) -> Vec<u8> {
    fn len(out: &mut Vec<u8>, n: usize) {
        out.extend_from_slice(&(n as u32).to_le_bytes());
    }
    fn text(out: &mut Vec<u8>, s: &str) {
        out.extend_from_slice(&(s.len() as u16).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
    }
    let mut out = MAGIC.to_vec();
    len(&mut out, library.vocabulary.len());
    for word in &library.vocabulary {
        text(&mut out, word);
    }
    len(&mut out, library.templates.len());
    for t in &library.templates {
        text(&mut out, t.id);
        len(&mut out, t.words.len());
        out.extend(t.words.iter().flat_map(|w| w.to_le_bytes()));
        out.extend(t.required.iter().map(|&r| u8::from(r)));
        out.extend(t.var_words.iter().flat_map(|w| w.to_le_bytes()));
        len(&mut out, t.required_total);
        len(&mut out, t.bag.len());
        for &(word, required, all) in &t.bag {
            out.extend_from_slice(&word.to_le_bytes());
            out.extend_from_slice(&required.to_le_bytes());
            out.extend_from_slice(&all.to_le_bytes());
        }
        len(&mut out, t.blocks.len());
        for &(from, to) in &t.blocks {
            len(&mut out, from);
            len(&mut out, to);
        }
    }
    len(&mut out, library.grams.len());
    for &(gram, from, count) in &library.grams {
        out.extend_from_slice(&gram.to_le_bytes());
        out.extend_from_slice(&from.to_le_bytes());
        out.extend_from_slice(&count.to_le_bytes());
    }
    len(&mut out, library.postings.len());
    for &(template, position) in &library.postings {
        out.extend_from_slice(&template.to_le_bytes());
        out.extend_from_slice(&position.to_le_bytes());
    }
    out
}
