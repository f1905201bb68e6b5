//! The crate's shape, checked: every top-level module of `src/` imports only the modules its
//! layer allows (no upward import), and no source file grows past what a reader can hold.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Who may depend on whom, bottom to top. A module missing here fails the test, so a new module
/// has to take its place in the map deliberately.
const ALLOWED: &[(&str, &[&str])] = &[
    // Vocabulary: depends on nothing in the crate, or only on other vocabulary.
    ("telemetry", &[]),
    ("fingerprint", &[]),
    ("units", &[]),
    ("parallel", &[]),
    // Safe reading and writing of local files, terminal-safe text, PEP 508 parsing.
    ("safe_fs", &[]),
    ("term_text", &[]),
    ("pep508", &[]),
    ("model", &["telemetry"]),
    // How configuration files are read: diagnostics, field validators, shared vocabulary.
    ("config", &["model", "safe_fs", "units"]),
    // Workers: read, fetch, cache, judge, measure, render. Never the engine, faces or commands.
    (
        "inventory",
        &["model", "pep508", "safe_fs", "telemetry", "units"],
    ),
    ("sources", &["model", "safe_fs", "telemetry", "units"]),
    ("cache", &["fingerprint", "safe_fs", "telemetry"]),
    (
        "checks",
        &["config", "fingerprint", "model", "safe_fs", "units"],
    ),
    (
        "perf",
        &["cache", "config", "model", "safe_fs", "telemetry"],
    ),
    (
        "output",
        &[
            "analysis",
            "model",
            "safe_fs",
            "telemetry",
            "term_text",
            "units",
        ],
    ),
    // Analysis of a finished report, for both faces.
    ("analysis", &["model", "parallel", "pep508"]),
    // The policy gathers the checks' sections of a file.
    (
        "policy",
        &[
            "checks",
            "config",
            "fingerprint",
            "model",
            "safe_fs",
            "units",
        ],
    ),
    // The crate error: each worker's typed error, whole.
    (
        "error",
        &["cache", "config", "inventory", "output", "perf", "sources"],
    ),
    // Orchestration.
    (
        "settings",
        &[
            "cache",
            "cli",
            "config",
            "error",
            "inventory",
            "perf",
            "policy",
            "safe_fs",
            "sources",
            "units",
        ],
    ),
    (
        "engine",
        &[
            "analysis",
            "cache",
            "checks",
            "error",
            "fingerprint",
            "inventory",
            "model",
            "parallel",
            "perf",
            "policy",
            "settings",
            "sources",
            "telemetry",
            "units",
        ],
    ),
    // Faces: the engine and everything below it, not each other, not the command layer.
    (
        "headless",
        &[
            "analysis",
            "cli",
            "engine",
            "error",
            "model",
            "output",
            "telemetry",
            "term_text",
        ],
    ),
    (
        "tui",
        &[
            "analysis",
            "engine",
            "error",
            "model",
            "perf",
            "policy",
            "safe_fs",
            "settings",
            "telemetry",
            "term_text",
        ],
    ),
    // The command layer.
    ("cli", &["output", "sources"]),
    ("logging", &["error"]),
    ("commands", &["*"]),
    (
        "inspect",
        &[
            "analysis",
            "checks",
            "error",
            "inventory",
            "model",
            "output",
        ],
    ),
    ("app", &["*"]),
];

/// Modules of the lower layers, which must never import the engine, a face or the command layer
/// (stated separately so that a careless edit of `ALLOWED` cannot silently allow it).
const LOWER: &[&str] = &[
    "analysis",
    "config",
    "units",
    "telemetry",
    "fingerprint",
    "model",
    "policy",
    "inventory",
    "sources",
    "cache",
    "checks",
    "perf",
    "output",
];
const UPPER: &[&str] = &[
    "engine", "tui", "headless", "app", "commands", "inspect", "cli",
];

/// Longest a file in `src/` may be, in lines.
const MAX_LINES: usize = 900;

/// Files allowed past [`MAX_LINES`] for now, with why. The license resolver is being rewritten
/// on its own branch; splitting it here would only make that merge conflict.
const TOO_LONG_FOR_NOW: &[&str] = &[];

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file belongs to (`src/engine/run.rs` → `engine`); `None` for the
/// crate roots (`lib.rs`, `main.rs`), which only declare modules.
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel.components().next()?.as_os_str().to_str()?.to_string();
    let name = first.strip_suffix(".rs").unwrap_or(&first).to_string();
    (!matches!(name.as_str(), "lib" | "main")).then_some(name)
}

/// Source without comments (doc links are not imports). A `//` inside a string literal cuts the
/// rest of that line, which can only hide text, and string literals are not imports.
fn strip_comments(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut rest = source;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("/*") {
            let end = after.find("*/").map_or(after.len(), |i| i + 2);
            rest = &after[end..];
        } else if rest.starts_with("//") {
            let end = rest.find('\n').unwrap_or(rest.len());
            rest = &rest[end..];
        } else if rest.starts_with('"') {
            // Skip a string literal whole, so `"http://…"` is not taken for a comment.
            let bytes = rest.as_bytes();
            let mut i = 1;
            while i < bytes.len() && bytes[i] != b'"' {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            rest = &rest[(i + 1).min(rest.len())..];
            out.push_str("\"\"");
        } else {
            let c = rest.chars().next().unwrap();
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

fn ident_at(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// Every top-level module named through `crate::`: `use crate::a::…`, grouped
/// `use crate::{a, b::{c, d}}` and inline paths such as `crate::a::f()`.
fn crate_references(source: &str) -> BTreeSet<String> {
    let code = strip_comments(source);
    let mut found = BTreeSet::new();
    let mut at = 0;
    while let Some(i) = code[at..].find("crate::") {
        let start = at + i;
        at = start + "crate::".len();
        // `depdash_crate::x` or `$crate::` are not ours.
        let before = code[..start].chars().next_back();
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        let rest = code[at..].trim_start();
        if let Some(group) = rest.strip_prefix('{') {
            // Top-level items of the group, at brace depth 0.
            let mut depth = 0;
            let mut item_start = true;
            for (j, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && !c.is_whitespace() => {
                        item_start = false;
                        found.insert(ident_at(&group[j..]).to_string());
                    }
                    _ => {}
                }
            }
        } else {
            found.insert(ident_at(rest).to_string());
        }
    }
    found.retain(|m| !m.is_empty() && m != "self");
    found
}

/// Module → the modules it references, from the files under `src/`.
fn module_map() -> BTreeMap<String, BTreeSet<String>> {
    let src = src_dir();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut map: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let Some(module) = module_of(&src, &file) else {
            continue;
        };
        let source = std::fs::read_to_string(&file).unwrap();
        let refs = crate_references(&source);
        let deps = map.entry(module.clone()).or_default();
        // `crate::Result` / `crate::Error` are the re-exports of `error` in lib.rs.
        deps.extend(refs.into_iter().map(|r| match r.as_str() {
            "Result" | "Error" => "error".to_string(),
            _ => r,
        }));
        deps.remove(&module);
    }
    map
}

fn violations(map: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut wrong = Vec::new();
    for (module, deps) in map {
        let Some(ok) = allowed.get(module.as_str()) else {
            wrong.push(format!(
                "{module}: not in the layer table (tests/it/architecture.rs)"
            ));
            continue;
        };
        for dep in deps {
            let upward = LOWER.contains(&module.as_str()) && UPPER.contains(&dep.as_str());
            if upward || !(ok.contains(&"*") || ok.contains(&dep.as_str())) {
                wrong.push(format!("{module} -> {dep}"));
            }
        }
    }
    wrong
}

#[test]
fn no_module_imports_upward() {
    let map = module_map();
    assert!(map.len() > 10, "src/ scanned: {map:?}");
    let wrong = violations(&map);
    assert!(
        wrong.is_empty(),
        "imports against the layer table:\n  {}\nmodule map:\n{}",
        wrong.join("\n  "),
        map.iter()
            .map(|(m, d)| format!(
                "  {m} -> {}",
                d.iter().cloned().collect::<Vec<_>>().join(", ")
            ))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn every_source_file_is_under_the_size_limit() {
    let src = src_dir();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let too_long: Vec<String> = files
        .iter()
        .filter_map(|file| {
            let rel = file
                .strip_prefix(&src)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let lines = std::fs::read_to_string(file).unwrap().lines().count();
            (lines >= MAX_LINES && !TOO_LONG_FOR_NOW.contains(&rel.as_str()))
                .then(|| format!("src/{rel}: {lines} lines"))
        })
        .collect();
    assert!(
        too_long.is_empty(),
        "files of {MAX_LINES} lines or more (split them):\n  {}",
        too_long.join("\n  ")
    );
}

#[test]
fn the_scanner_sees_every_form_of_import() {
    let source = r#"
        use crate::engine::events::EngineEvent;
        use crate::{
            model::{Finding, Report},
            tui::{self, app::App},
        };
        // use crate::headless; (a comment is not an import)
        /// Linked from docs: [`crate::commands`]
        fn f() { let url = "http://x"; crate::app::run(); }
        use depdash_crate::cli;
    "#;
    let refs: Vec<_> = crate_references(source).into_iter().collect();
    assert_eq!(refs, ["app", "engine", "model", "tui"]);
    // And the check flags what the table forbids.
    let map = BTreeMap::from([(
        "sources".to_string(),
        BTreeSet::from(["engine".to_string(), "model".to_string()]),
    )]);
    assert_eq!(violations(&map), ["sources -> engine"]);
}
