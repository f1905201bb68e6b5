//! Property-based fuzzing (proptest, stable Rust) of every local parser: METADATA headers,
//! requirements files, the three lockfile formats, the policy TOML (policy and run settings), and the `-r`/`-c` include
//! follower. Each must return a typed result for any input (never panic); where a property is
//! meaningful it is checked too (identity of a well-formed header, pins and lockfile entries
//! read back as written, include reachability).
//!
//! The normal `cargo test` runs proptest's default 256 cases per property. The long run sets
//! `PROPTEST_CASES` (e.g. `PROPTEST_CASES=200000 cargo test --release --test it fuzz_local`).

use std::collections::BTreeSet;
use std::path::Path;

use depdash::inventory::{core_metadata, lockfile, requirements};
use depdash::model::normalize_name;
use proptest::prelude::*;

/// A valid project name (PEP 508).
fn name() -> impl Strategy<Value = String> {
    "[A-Za-z0-9]([A-Za-z0-9._-]{0,20}[A-Za-z0-9])?"
}

/// A PEP 440 version already in normal form.
fn version() -> impl Strategy<Value = String> {
    "(0|[1-9][0-9]{0,3})(\\.(0|[1-9][0-9]{0,3})){0,3}"
}

/// Text with the characters parsers trip on: separators, quotes, escapes, controls, bidi.
fn nasty_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[ -~]{0,60}",
        "[\\x00-\\x1f\\x7f\u{80}-\u{9f}\u{202a}-\u{202e}=<>!~;#@\\[\\]{}\"'\\\\ a-z0-9.,:-]{0,60}",
    ]
}

// ---------------------------------------------------------------------------------------------
// METADATA

fn header_line() -> impl Strategy<Value = String> {
    let field = prop_oneof![
        Just("Metadata-Version".to_string()),
        Just("Name".to_string()),
        Just("name".to_string()),
        Just("Version".to_string()),
        Just("License".to_string()),
        Just("License-Expression".to_string()),
        Just("License-File".to_string()),
        Just("Classifier".to_string()),
        Just("Requires-Dist".to_string()),
        "[A-Za-z-]{1,20}",
    ];
    prop_oneof![
        4 => (field, nasty_text()).prop_map(|(f, v)| format!("{f}: {v}")),
        1 => nasty_text().prop_map(|v| format!("        {v}")),
        1 => nasty_text(),
        1 => Just(String::new()),
    ]
}

fn metadata_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..2048),
        (
            proptest::collection::vec(header_line(), 0..40),
            prop_oneof![Just("\n"), Just("\r\n"), Just("\r")]
        )
            .prop_map(|(lines, eol)| lines.join(eol).into_bytes()),
    ]
}

proptest! {
    #[test]
    fn metadata_never_panics(bytes in metadata_bytes()) {
        if let Ok(meta) = core_metadata::parse(&bytes) {
            // Whatever was decoded is valid UTF-8 text, and a lossy decode says so.
            let lossy = std::str::from_utf8(&bytes).is_err();
            if !lossy {
                prop_assert!(!meta.defects.contains(&core_metadata::MetadataDefect::InvalidUtf8));
            }
        }
    }

    #[test]
    fn metadata_well_formed_header_reads_back(
        name in name(),
        version in version(),
        requires in proptest::collection::vec(name(), 0..5),
        body in nasty_text(),
    ) {
        let mut text = format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n");
        for r in &requires {
            text.push_str(&format!("Requires-Dist: {r}\n"));
        }
        text.push('\n');
        text.push_str(&body);
        let meta = core_metadata::parse(text.as_bytes()).unwrap();
        prop_assert_eq!(meta.name.as_deref(), Some(name.as_str()));
        prop_assert_eq!(meta.version.as_deref(), Some(version.as_str()));
        prop_assert_eq!(meta.requires_dist, requires);
    }
}

// ---------------------------------------------------------------------------------------------
// Requirements files

fn requirement_line() -> impl Strategy<Value = String> {
    let op = prop_oneof![
        Just("=="),
        Just(">="),
        Just("~="),
        Just("==="),
        Just("!="),
        Just("<")
    ];
    prop_oneof![
        3 => (name(), op, version()).prop_map(|(n, o, v)| format!("{n}{o}{v}")),
        1 => (name(), version(), nasty_text())
            .prop_map(|(n, v, m)| format!("{n}=={v} ; {m}")),
        1 => (name(), version()).prop_map(|(n, v)| format!("{n}=={v} --hash=sha256:{}", "0".repeat(64))),
        1 => prop_oneof![
            Just("--index-url https://example.invalid/simple".to_string()),
            Just("-e .".to_string()),
            Just("--unknown-flag".to_string()),
            Just("-r".to_string()),
            Just("-r missing.txt".to_string()),
            Just("-c https://example.invalid/c.txt".to_string()),
        ],
        1 => nasty_text().prop_map(|t| format!("# {t}")),
        1 => nasty_text().prop_map(|t| format!("{t} \\")),
        1 => nasty_text(),
    ]
}

fn requirements_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(requirement_line(), 0..30).prop_map(|lines| lines.join("\n"))
}

proptest! {
    #[test]
    fn requirements_never_panic_and_point_inside_the_file(text in requirements_text()) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("requirements.txt");
        let parsed = requirements::parse_text(&path, &text);
        let lines = text.split('\n').count().max(1);
        for req in parsed.requirements.iter().chain(&parsed.constraints) {
            prop_assert!(req.line >= 1 && req.line <= lines, "{req:?}");
            prop_assert_eq!(&req.normalized, &normalize_name(&req.name));
        }
        for issue in &parsed.issues {
            if let Some(line) = issue.line {
                prop_assert!(line >= 1 && line <= lines, "{issue:?}");
            }
        }
        let (dists, _) = requirements::resolve(&parsed);
        for d in &dists {
            prop_assert!(!d.version.is_empty());
        }
    }

    #[test]
    fn requirements_pins_read_back(pins in proptest::collection::vec((name(), version()), 1..20)) {
        let text: String = pins.iter().map(|(n, v)| format!("{n}=={v}\n")).collect();
        let parsed = requirements::parse_text(Path::new("/nonexistent/requirements.txt"), &text);
        prop_assert!(parsed.issues.is_empty(), "{:?}", parsed.issues);
        let got: Vec<(String, Option<String>)> = parsed
            .requirements
            .iter()
            .map(|r| (r.name.clone(), r.pinned.clone()))
            .collect();
        let want: Vec<(String, Option<String>)> =
            pins.iter().map(|(n, v)| (n.clone(), Some(v.clone()))).collect();
        prop_assert_eq!(got, want);
    }
}

proptest! {
    /// `Requires-Dist` values and requirement lines go through one PEP 508 parser.
    #[test]
    fn pep508_requirement_never_panics(
        text in prop_oneof![
            nasty_text(),
            (name(), "[.\\-_]{1,2}", nasty_text()).prop_map(|(n, s, t)| format!("{n}{s}{t}")),
            (name(), name(), "[.\\-_]{0,2}", nasty_text())
                .prop_map(|(n, e, s, t)| format!("{n}[{e}{s}]{t}")),
            (name(), nasty_text()).prop_map(|(n, t)| format!("{n} {t}")),
        ]
    ) {
        if let Err(e) = depdash::pep508::parse_requirement(&text) {
            prop_assert!(e.column <= text.chars().count() + 1, "{e} in {text:?}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The include follower: random graphs of files with -r / -c edges (cycles, self-includes,
// diamonds); it always ends, reads each file once per role, and lists exactly the pins of the
// files reachable through -r edges alone.

#[derive(Clone, Debug)]
enum Edge {
    Requirement(usize),
    Constraint(usize),
}

fn include_graph() -> impl Strategy<Value = Vec<Vec<Edge>>> {
    (1usize..7).prop_flat_map(|n| {
        let edge = prop_oneof![
            3 => (0..n).prop_map(Edge::Requirement),
            1 => (0..n).prop_map(Edge::Constraint),
        ];
        proptest::collection::vec(proptest::collection::vec(edge, 0..4), n)
    })
}

proptest! {
    #[test]
    fn include_follower_ends_and_reads_exactly_what_is_reachable(graph in include_graph()) {
        let dir = tempfile::tempdir().unwrap();
        for (i, edges) in graph.iter().enumerate() {
            let mut text = format!("pkg{i}==1.0\n");
            for edge in edges {
                match edge {
                    Edge::Requirement(j) => text.push_str(&format!("-r f{j}.txt\n")),
                    Edge::Constraint(j) => text.push_str(&format!("-c f{j}.txt\n")),
                }
            }
            std::fs::write(dir.path().join(format!("f{i}.txt")), text).unwrap();
        }
        let parsed = requirements::parse_file(&dir.path().join("f0.txt")).unwrap();
        // Reachable from f0 through -r edges only.
        let mut reachable = BTreeSet::from([0usize]);
        let mut todo = vec![0usize];
        while let Some(i) = todo.pop() {
            for edge in &graph[i] {
                if let Edge::Requirement(j) = edge
                    && reachable.insert(*j)
                {
                    todo.push(*j);
                }
            }
        }
        let listed: BTreeSet<usize> = parsed
            .requirements
            .iter()
            .map(|r| r.name.trim_start_matches("pkg").parse().unwrap())
            .collect();
        prop_assert_eq!(&listed, &reachable);
        // One line per file read in the requirements role: no file read twice in a role.
        prop_assert_eq!(parsed.requirements.len(), reachable.len());
        prop_assert!(parsed.files.len() <= graph.len());
    }
}

// ---------------------------------------------------------------------------------------------
// Lockfiles

const LOCK_NAMES: [&str; 4] = ["uv.lock", "poetry.lock", "pylock.toml", "other.lock"];

fn toml_line() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("name"),
        Just("version"),
        Just("source"),
        Just("dependencies"),
        Just("requires-python"),
        Just("lock-version"),
        Just("package"),
        Just("packages"),
    ];
    let value = prop_oneof![
        nasty_text().prop_map(|t| format!("{t:?}")),
        any::<i64>().prop_map(|n| n.to_string()),
        Just("{ editable = \".\" }".to_string()),
        Just("[{ name = \"a\" }]".to_string()),
        Just("[]".to_string()),
        Just("true".to_string()),
    ];
    prop_oneof![
        4 => (key, value).prop_map(|(k, v)| format!("{k} = {v}")),
        1 => Just("[[package]]".to_string()),
        1 => Just("[[packages]]".to_string()),
        1 => Just("[metadata]".to_string()),
        1 => Just("[package.dependencies]".to_string()),
        1 => nasty_text(),
    ]
}

fn lock_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        proptest::collection::vec(toml_line(), 0..40).prop_map(|l| l.join("\n")),
    ]
}

proptest! {
    #[test]
    fn lockfiles_never_panic(text in lock_text(), which in 0usize..LOCK_NAMES.len()) {
        let path = Path::new("/nonexistent").join(LOCK_NAMES[which]);
        match lockfile::parse_text(&path, &text) {
            // A lockfile that is read yields at least one package or one issue saying why not.
            Ok((dists, issues)) => prop_assert!(!dists.is_empty() || !issues.is_empty()),
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }

    #[test]
    fn lockfiles_read_back_what_they_lock(
        packages in proptest::collection::vec((name(), version()), 1..15),
        which in 0usize..3,
    ) {
        let text = match which {
            0 => {
                let mut t = "version = 1\nrequires-python = \">=3.9\"\n".to_string();
                for (n, v) in &packages {
                    t.push_str(&format!("\n[[package]]\nname = \"{n}\"\nversion = \"{v}\"\nsource = {{ registry = \"https://pypi.org/simple\" }}\n"));
                }
                t
            }
            1 => {
                let mut t = String::new();
                for (n, v) in &packages {
                    t.push_str(&format!("[[package]]\nname = \"{n}\"\nversion = \"{v}\"\n\n"));
                }
                t + "[metadata]\nlock-version = \"2.0\"\n"
            }
            _ => {
                let mut t = "lock-version = \"1.0\"\ncreated-by = \"pip\"\n".to_string();
                for (n, v) in &packages {
                    t.push_str(&format!("\n[[packages]]\nname = \"{n}\"\nversion = \"{v}\"\n"));
                }
                t
            }
        };
        let path = Path::new("/nonexistent").join(LOCK_NAMES[which]);
        let (dists, issues) = lockfile::parse_text(&path, &text).unwrap();
        prop_assert!(issues.is_empty());
        let got: Vec<(String, String)> =
            dists.iter().map(|d| (d.name.clone(), d.version.clone())).collect();
        prop_assert_eq!(got, packages);
    }
}

// ---------------------------------------------------------------------------------------------
// Policy TOML

fn policy_line() -> impl Strategy<Value = String> {
    let section = prop_oneof![
        Just("[licenses]"),
        Just("[packages]"),
        Just("[vulnerabilities]"),
        Just("[health]"),
        Just("[cache]"),
        Just("[performance]"),
        Just("[sources]"),
        Just("[[licenses.exceptions]]"),
        Just("[[packages.require]]"),
        Just("[tool.depdash]"),
        Just("[tool.depdash.licenses]"),
    ];
    let key = prop_oneof![
        Just("allow"),
        Just("deny"),
        Just("unknown"),
        Just("ignore"),
        Just("name"),
        Just("version"),
        Just("reason"),
        Just("severity_threshold"),
        Just("max_db_age"),
        Just("max_age"),
        Just("metadata_ttl"),
        Just("max_size"),
        Just("regression_threshold"),
        Just("baseline_runs"),
        Just("pypi_url"),
        Just("yanked"),
    ];
    let value = prop_oneof![
        nasty_text().prop_map(|t| format!("{t:?}")),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|n| format!("{n:?}")),
        Just("[\"MIT\", \"GPL-3.0-or-later WITH Classpath-exception-2.0\"]".to_string()),
        Just("[{ id = \"CVE-1\", reason = \"r\", until = 2027-01-31 }]".to_string()),
        Just("[{ name = \"x\" }]".to_string()),
        Just("\"99999999999999999999y\"".to_string()),
        Just("\"18446744073709551615GB\"".to_string()),
        Just("\"deny\"".to_string()),
    ];
    prop_oneof![
        1 => section.prop_map(str::to_string),
        4 => (key, value).prop_map(|(k, v)| format!("{k} = {v}")),
        1 => nasty_text(),
    ]
}

fn policy_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        proptest::collection::vec(policy_line(), 0..30).prop_map(|l| l.join("\n")),
    ]
}

proptest! {
    #[test]
    fn policy_never_panics_and_errors_point_inside(text in policy_text(), pyproject in any::<bool>()) {
        let path = Path::new(if pyproject { "pyproject.toml" } else { "depdash.toml" });
        // The policy and the run settings are read from the same file by two readers.
        let errors = [
            depdash::policy::parse(&text, path, pyproject).err(),
            depdash::settings::file::parse(&text, path, pyproject).err(),
        ];
        let lines = text.split('\n').count();
        for e in errors.iter().flatten().flat_map(|e| e.0.iter()) {
            prop_assert!(e.line <= lines + 1, "line {} of {lines}: {e}", e.line);
            prop_assert!(!e.message.is_empty());
        }
    }
}
