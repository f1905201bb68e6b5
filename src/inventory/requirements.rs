//! pip requirements files: pinned lines become distributions, everything else an issue.
//!
//! Line handling follows pip's `req_file.py`: a `\` at the end joins the next line (the joined
//! line keeps the first line's number), `#` at the start or after whitespace starts a comment,
//! `-i/--index-url` and `--extra-index-url` lines are kept for the index checks, other option
//! lines (`--hash` on a requirement, `--find-links`, …) are accepted and ignored,
//! `-r`/`--requirement` and `-c`/`--constraint` include files relative to the including file.
//! Include cycles are reported and broken; a file included twice in the same role is read once.
//! Includes are followed with an explicit stack (no recursion) up to [`MAX_INCLUDE_DEPTH`].
//! `${VAR}` environment references are not expanded.
//!
//! Constraints only constrain: a constraints file (and anything it includes) adds no package.
//! A constraint `name==version` pins a requirement that names the package without a pin (pip
//! would install exactly that version), so that requirement is listed with the constrained
//! version; a constraint disagreeing with a pin is an issue.
//!
//! Requirement lines are parsed with `pep508_rs`. Only a single `==version` (no wildcard) is a
//! pin; `===`, `==1.*`, ranges, bare names, URLs, paths and editables are "not pinned" issues
//! with file and line. Environment markers are kept as written and not evaluated.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use pep440_rs::Operator;
use pep508_rs::{Requirement, VersionOrUrl};

use super::{Inventory, InventoryError, InventoryIssue};
use crate::model::{Distribution, LicenseMetadata, Origin, normalize_name};
use crate::pep508::parse_requirement;
use crate::safe_fs::{self, limits};
use crate::telemetry::tracker::Tracker;

/// One requirement or constraint line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequirementLine {
    /// As written.
    pub name: String,
    pub normalized: String,
    /// The exact version of a single `==` specifier, PEP 440 normalised.
    pub pinned: Option<String>,
    /// The specifiers as written when the line is not a pin (`>=1.2`, `===1.0`, `==1.*`).
    pub specifier: Option<String>,
    /// `name @ URL` requirements.
    pub url: Option<String>,
    /// Environment marker, as written (not evaluated).
    pub marker: Option<String>,
    /// `--hash=algo:digest` values.
    pub hashes: Vec<String>,
    pub path: PathBuf,
    /// 1-based; the first physical line of a `\`-continued line.
    pub line: usize,
}

/// Everything read from a set of requirements files (includes followed).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParsedRequirements {
    pub requirements: Vec<RequirementLine>,
    pub constraints: Vec<RequirementLine>,
    pub issues: Vec<InventoryIssue>,
    /// Every file read, in the order first read.
    pub files: Vec<PathBuf>,
    pub indexes: super::IndexOptions,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Role {
    Requirements,
    Constraints,
}

/// Read one requirements file and everything it includes. Fails only when `path` itself
/// cannot be read; problems inside (and unreadable includes) are issues.
pub fn parse_file(path: &Path) -> Result<ParsedRequirements, InventoryError> {
    parse_files(&[path.to_path_buf()], &Tracker::new())
}

/// Read several requirements files (as `pip install -r a -r b` would). Each file read is timed
/// as `requirements.parse`.
pub fn parse_files(
    paths: &[PathBuf],
    tracker: &Tracker,
) -> Result<ParsedRequirements, InventoryError> {
    if paths.is_empty() {
        return Err(InventoryError::NoRequirementsFiles);
    }
    let mut parser = Parser {
        tracker,
        out: ParsedRequirements::default(),
        done: HashMap::new(),
    };
    for path in paths {
        let text = read_text(path).map_err(|source| InventoryError::RequirementsUnreadable {
            path: path.clone(),
            source,
        })?;
        parser.parse(path, text, Role::Requirements);
    }
    Ok(parser.out)
}

/// Parse requirements `text` as if read from `path` (its includes are read relative to it).
pub fn parse_text(path: &Path, text: &str) -> ParsedRequirements {
    let tracker = Tracker::new();
    let mut parser = Parser {
        tracker: &tracker,
        out: ParsedRequirements::default(),
        done: HashMap::new(),
    };
    parser.parse(path, (text.to_string(), false), Role::Requirements);
    parser.out
}

/// Inventory from requirements files: pinned requirements, sorted by normalized name.
pub(super) fn load(files: &[PathBuf], tracker: &Tracker) -> Result<Inventory, InventoryError> {
    let parsed = parse_files(files, tracker)?;
    let (distributions, resolve_issues) = resolve(&parsed);
    let mut issues = parsed.issues;
    issues.extend(resolve_issues);
    Ok(Inventory {
        distributions,
        issues,
        target: super::files_target("requirements", files),
        indexes: parsed.indexes,
        followed: Vec::new(),
    })
}

/// Pinned requirements as distributions (origin `Requirements`, `line` set), constraints
/// applied; unpinned ones as issues. Sorted by normalized name.
pub fn resolve(parsed: &ParsedRequirements) -> (Vec<Distribution>, Vec<InventoryIssue>) {
    let mut issues = Vec::new();
    let mut constraint_pins: HashMap<&str, &RequirementLine> = HashMap::new();
    for constraint in &parsed.constraints {
        let Some(version) = &constraint.pinned else {
            continue;
        };
        match constraint_pins.get(constraint.normalized.as_str()) {
            Some(first) if first.pinned.as_ref() != Some(version) => issues.push(issue_at(
                constraint,
                format!(
                    "constraint {}=={version} conflicts with {}=={} at {}:{}",
                    constraint.name,
                    first.name,
                    first.pinned.as_deref().unwrap_or_default(),
                    first.path.display(),
                    first.line
                ),
            )),
            Some(_) => {}
            None => {
                constraint_pins.insert(&constraint.normalized, constraint);
            }
        }
    }

    let mut distributions: Vec<Distribution> = Vec::new();
    let mut seen: HashMap<(String, String), usize> = HashMap::new();
    for req in &parsed.requirements {
        let constrained = constraint_pins.get(req.normalized.as_str());
        let version = match (&req.pinned, &req.url, constrained) {
            (_, Some(url), _) => {
                issues.push(issue_at(
                    req,
                    format!("not pinned: URL requirement ({url}); its version is unknown"),
                ));
                continue;
            }
            (Some(pin), None, Some(c)) if c.pinned.as_ref() != Some(pin) => {
                issues.push(issue_at(
                    req,
                    format!(
                        "pin =={pin} conflicts with constraint =={} at {}:{}",
                        c.pinned.as_deref().unwrap_or_default(),
                        c.path.display(),
                        c.line
                    ),
                ));
                pin.clone()
            }
            (Some(pin), None, _) => pin.clone(),
            (None, None, Some(c)) => c.pinned.clone().unwrap_or_default(),
            (None, None, None) => {
                let what = match &req.specifier {
                    Some(spec) => format!("`{}{spec}`", req.name),
                    None => format!("`{}` has no version", req.name),
                };
                issues.push(issue_at(
                    req,
                    format!("not pinned: {what}; only `name==version` pins a version"),
                ));
                continue;
            }
        };
        let key = (req.normalized.clone(), version.clone());
        if seen.contains_key(&key) {
            continue;
        }
        if let Some(other) = distributions
            .iter()
            .find(|d| d.normalized == req.normalized && d.version != version)
        {
            let other_marker = parsed
                .requirements
                .iter()
                .find(|r| Some(r.line) == other.line && Some(&r.path) == other.location.as_ref())
                .and_then(|r| r.marker.as_ref());
            if req.marker.is_none() || other_marker.is_none() {
                issues.push(issue_at(
                    req,
                    format!(
                        "{} is pinned to both {} and {version}; both are listed",
                        req.name, other.version
                    ),
                ));
            }
        }
        seen.insert(key, distributions.len());
        distributions.push(Distribution {
            name: req.name.clone(),
            normalized: req.normalized.clone(),
            version,
            requires_dist: Vec::new(),
            license: LicenseMetadata::default(),
            location: Some(req.path.clone()),
            origin: Origin::Requirements,
            line: Some(req.line),
            hashes: req.hashes.clone(),
            shadowed: false,
        });
    }
    distributions.sort_by(|a, b| {
        a.normalized
            .cmp(&b.normalized)
            .then_with(|| a.location.cmp(&b.location))
            .then_with(|| a.line.cmp(&b.line))
    });
    (distributions, issues)
}

fn issue_at(req: &RequirementLine, message: String) -> InventoryIssue {
    InventoryIssue::new(&req.path, message)
        .at_line(req.line)
        .for_package(&req.name)
        .blocking()
}

fn read_text(path: &Path) -> std::io::Result<(String, bool)> {
    Ok(safe_fs::read_regular_text(path, limits::INPUT_FILE)?)
}

struct Parser<'t> {
    tracker: &'t Tracker,
    out: ParsedRequirements,
    /// Files already read, by canonical path and role.
    done: HashMap<(PathBuf, Role), ()>,
}

/// Options that take a value (`--opt value` or `--opt=value`); accepted and ignored (the
/// index options are read above).
const VALUE_OPTIONS: &[&str] = &[
    "-f",
    "--find-links",
    "--trusted-host",
    "--only-binary",
    "--no-binary",
    "--use-feature",
    "--config-settings",
    "--global-option",
    "--install-option",
    "--hash",
];

/// Options without a value; accepted and ignored.
const FLAG_OPTIONS: &[&str] = &[
    "--no-index",
    "--pre",
    "--prefer-binary",
    "--require-hashes",
    "-Z",
    "--always-unzip",
    "--process-dependency-links",
];

/// How deep `-r`/`-c` includes are followed. Real projects nest two or three levels; a chain
/// this long is generated or hostile, and stopping it keeps memory bounded.
pub const MAX_INCLUDE_DEPTH: usize = 32;

/// A file being read: its lines and where reading stopped (for the include it went into).
struct Frame {
    path: PathBuf,
    canonical: PathBuf,
    lines: std::vec::IntoIter<(usize, String)>,
    role: Role,
}

/// An `-r`/`-c` line to follow.
struct Include {
    line: usize,
    target: String,
    role: Role,
}

impl Parser<'_> {
    /// Read `path` and everything it includes, depth first in line order (pip's order),
    /// with an explicit stack: no recursion, so no depth can overflow the thread's stack.
    fn parse(&mut self, path: &Path, text: (String, bool), role: Role) {
        let Some(root) = self.open(path, text, role) else {
            return;
        };
        let mut stack = vec![root];
        while let Some(frame) = stack.last_mut() {
            let Some((line_no, line)) = frame.lines.next() else {
                stack.pop();
                continue;
            };
            let (path, role) = (frame.path.clone(), frame.role);
            let line = strip_comment(&line);
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            if !line.starts_with('-') {
                self.requirement_line(&path, line_no, line, role);
                continue;
            }
            if let Some(include) = self.option_line(&path, line_no, line, role)
                && let Some(next) = self.include(&path, include, &stack)
            {
                stack.push(next);
            }
        }
    }

    /// Start reading a file, unless it was already read in that role.
    fn open(&mut self, path: &Path, (text, lossy): (String, bool), role: Role) -> Option<Frame> {
        let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        if self.done.insert((canonical.clone(), role), ()).is_some() {
            return None;
        }
        if !self.out.files.contains(&path.to_path_buf()) {
            self.out.files.push(path.to_path_buf());
        }
        if lossy {
            self.out.issues.push(InventoryIssue::new(
                path,
                "not valid UTF-8; invalid bytes were replaced",
            ));
        }
        let lines = self
            .tracker
            .time("requirements.parse", || logical_lines(&text));
        Some(Frame {
            path: path.to_path_buf(),
            canonical,
            lines: lines.into_iter(),
            role,
        })
    }

    fn issue(&mut self, path: &Path, line: usize, message: String) {
        self.out
            .issues
            .push(InventoryIssue::new(path, message).at_line(line).blocking());
    }

    /// An option line: ignored, an issue, or an include to follow.
    fn option_line(
        &mut self,
        path: &Path,
        line_no: usize,
        line: &str,
        role: Role,
    ) -> Option<Include> {
        let (option, value) = split_option(line);
        match option {
            "-r" | "--requirement" | "-c" | "--constraint" => {
                let Some(target) = value.filter(|v| !v.is_empty()) else {
                    self.issue(path, line_no, format!("`{option}` needs a file name"));
                    return None;
                };
                let role = if matches!(option, "-c" | "--constraint") {
                    Role::Constraints
                } else {
                    role
                };
                return Some(Include {
                    line: line_no,
                    target: target.to_string(),
                    role,
                });
            }
            "-e" | "--editable" => {
                let target = value.unwrap_or_default();
                self.issue(
                    path,
                    line_no,
                    format!("not pinned: editable requirement `{target}`; its version is unknown"),
                );
            }
            "-i" | "--index-url" | "--extra-index-url" => match value.filter(|v| !v.is_empty()) {
                None => self.issue(path, line_no, format!("`{option}` needs a URL")),
                Some(url) if option == "--extra-index-url" => {
                    self.out.indexes.extra_index_urls.push(url.to_string());
                }
                Some(url) => self.out.indexes.index_url = Some(url.to_string()),
            },
            _ if VALUE_OPTIONS.contains(&option) || FLAG_OPTIONS.contains(&option) => {}
            _ => self.issue(
                path,
                line_no,
                format!("unknown option `{option}`; line ignored"),
            ),
        }
        None
    }

    /// The frame of an included file, or an issue saying why it is not followed.
    fn include(&mut self, from: &Path, include: Include, stack: &[Frame]) -> Option<Frame> {
        let Include { line, target, role } = include;
        if target.contains("://") {
            self.issue(
                from,
                line,
                format!("remote requirements file `{target}` is not fetched"),
            );
            return None;
        }
        let path = from.parent().unwrap_or(Path::new(".")).join(&target);
        let canonical = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
        if let Some(start) = stack.iter().position(|f| f.canonical == canonical) {
            let chain: Vec<String> = stack[start..]
                .iter()
                .map(|f| &f.canonical)
                .chain(std::iter::once(&canonical))
                .map(|p| p.display().to_string())
                .collect();
            self.issue(
                from,
                line,
                format!("include cycle: {}; not followed again", chain.join(" -> ")),
            );
            return None;
        }
        if stack.len() >= MAX_INCLUDE_DEPTH {
            self.issue(
                from,
                line,
                format!(
                    "includes nest deeper than {MAX_INCLUDE_DEPTH} files; {} is not read",
                    path.display()
                ),
            );
            return None;
        }
        match read_text(&path) {
            Ok(text) => self.open(&path, text, role),
            Err(err) => {
                self.issue(
                    from,
                    line,
                    format!("cannot read included file {}: {err}", path.display()),
                );
                None
            }
        }
    }

    fn requirement_line(&mut self, path: &Path, line_no: usize, line: &str, role: Role) {
        let (spec, options) = split_requirement_options(line);
        let mut hashes = Vec::new();
        let mut tokens = options.split_whitespace();
        while let Some(token) = tokens.next() {
            if let Some(hash) = token.strip_prefix("--hash=") {
                hashes.push(hash.to_string());
            } else if token == "--hash" {
                hashes.extend(tokens.next().map(str::to_string));
            }
        }
        let requirement: Requirement = match parse_requirement(spec) {
            Ok(req) => req,
            Err(err) => {
                let message = if looks_like_path_or_url(spec) {
                    format!("not pinned: `{spec}` is a path or URL without a name and version")
                } else {
                    format!("cannot parse requirement `{spec}`: {err}")
                };
                self.issue(path, line_no, message);
                return;
            }
        };
        let name = requirement.name.to_string();
        let written_name = written_name(spec).unwrap_or(&name).to_string();
        let (mut pinned, mut specifier, mut url) = (None, None, None);
        match &requirement.version_or_url {
            None => {}
            Some(VersionOrUrl::Url(u)) => url = Some(u.to_string()),
            Some(VersionOrUrl::VersionSpecifier(specs)) => {
                let exact: Vec<_> = specs
                    .iter()
                    .filter(|s| *s.operator() == Operator::Equal)
                    .collect();
                match exact.as_slice() {
                    [one] => pinned = Some(one.version().to_string()),
                    [first, rest @ ..] if rest.iter().all(|s| s.version() == first.version()) => {
                        pinned = Some(first.version().to_string())
                    }
                    [] => specifier = Some(specs.to_string()),
                    _ => {
                        self.issue(
                            path,
                            line_no,
                            format!("`{spec}` pins more than one version"),
                        );
                        return;
                    }
                }
            }
        }
        let marker = if requirement.marker.is_true() {
            None
        } else {
            written_marker(spec, url.is_some()).or_else(|| requirement.marker.try_to_string())
        };
        let entry = RequirementLine {
            normalized: normalize_name(&written_name),
            name: written_name,
            pinned,
            specifier,
            url,
            marker,
            hashes,
            path: path.to_path_buf(),
            line: line_no,
        };
        match role {
            Role::Requirements => self.out.requirements.push(entry),
            Role::Constraints => self.out.constraints.push(entry),
        }
    }
}

/// Physical lines joined at trailing `\` (pip's `join_lines`); yields (first line number, line).
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (index, line) in text.lines().enumerate() {
        let line_no = index + 1;
        // A comment line ending in `\` is not joined (pip matches comments first).
        let is_comment = line.trim_start().starts_with('#');
        match line.strip_suffix('\\') {
            Some(head) if !is_comment => {
                let entry = pending.get_or_insert_with(|| (line_no, String::new()));
                entry.1.push_str(head);
            }
            _ => match pending.take() {
                Some((first, mut joined)) => {
                    joined.push_str(line);
                    out.push((first, joined));
                }
                None => out.push((line_no, line.to_string())),
            },
        }
    }
    out.extend(pending);
    out
}

/// Remove a comment: `#` at the start of the line or after whitespace (so `url#egg=x` stays).
fn strip_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'#' && (i == 0 || bytes[i - 1].is_ascii_whitespace()) {
            return &line[..i];
        }
    }
    line
}

/// `-rfile`, `-r file`, `--requirement=file`, `--requirement file` → (`-r`, `file`).
fn split_option(line: &str) -> (&str, Option<&str>) {
    let (head, rest) = match line.find(char::is_whitespace) {
        Some(i) => (&line[..i], Some(line[i..].trim())),
        None => (line, None),
    };
    if let Some((option, value)) = head.split_once('=')
        && option.starts_with("--")
    {
        return (option, Some(value));
    }
    // `-rfile`: a short option glued to its value. Short options are ASCII; anything else
    // (`-é…`) is an unknown option, and never sliced inside a character (found by fuzzing).
    if !head.starts_with("--") && head.len() > 2 && head.is_char_boundary(2) {
        return (&head[..2], Some(head[2..].trim()));
    }
    (head, rest.filter(|r| !r.is_empty()))
}

/// Split `spec --hash=... --opt` at the first whitespace-separated token starting with `-`
/// (pip's `break_args_options`).
fn split_requirement_options(line: &str) -> (&str, &str) {
    let mut offset = 0;
    for token in line.split(' ') {
        if token.starts_with('-') {
            return (line[..offset].trim(), &line[offset..]);
        }
        offset += token.len() + 1;
    }
    (line.trim(), "")
}

/// The project name as written at the start of a requirement (pep508_rs normalises it).
fn written_name(spec: &str) -> Option<&str> {
    let end = spec
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(spec.len());
    (end > 0).then(|| &spec[..end])
}

/// The marker as written after `;` (for `name @ URL ; marker` the `;` follows whitespace,
/// since a URL may contain `;`).
fn written_marker(spec: &str, is_url: bool) -> Option<String> {
    let at = if is_url {
        spec.char_indices()
            .zip(spec.chars().skip(1))
            .find(|((_, c), next)| c.is_whitespace() && *next == ';')
            .map(|((i, c), _)| i + c.len_utf8())?
    } else {
        spec.find(';')?
    };
    let marker = spec[at + 1..].trim();
    (!marker.is_empty()).then(|| marker.to_string())
}

fn looks_like_path_or_url(spec: &str) -> bool {
    spec.contains("://")
        || spec.starts_with('.')
        || spec.starts_with('/')
        || spec.contains(std::path::MAIN_SEPARATOR)
        || spec.contains('/')
        || [".whl", ".zip", ".tar.gz", ".tgz", ".tar.bz2"]
            .iter()
            .any(|ext| spec.ends_with(ext))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continuation_lines_join_and_keep_the_first_line_number() {
        let lines = logical_lines("a==1 \\\n  --hash=sha256:x\n# c \\\nb==2\nc \\");
        assert_eq!(
            lines,
            [
                (1, "a==1   --hash=sha256:x".to_string()),
                (3, "# c \\".to_string()),
                (4, "b==2".to_string()),
                (5, "c ".to_string())
            ]
        );
    }

    #[test]
    fn comments_need_whitespace_before_the_hash() {
        assert_eq!(strip_comment("# all"), "");
        assert_eq!(strip_comment("a==1  # pinned"), "a==1  ");
        assert_eq!(
            strip_comment("x @ https://h/x.zip#sha256=1"),
            "x @ https://h/x.zip#sha256=1"
        );
    }

    #[test]
    fn option_forms() {
        assert_eq!(split_option("-r base.txt"), ("-r", Some("base.txt")));
        assert_eq!(split_option("-rbase.txt"), ("-r", Some("base.txt")));
        assert_eq!(
            split_option("--requirement=base.txt"),
            ("--requirement", Some("base.txt"))
        );
        assert_eq!(
            split_option("--constraint  c.txt"),
            ("--constraint", Some("c.txt"))
        );
        assert_eq!(split_option("--no-index"), ("--no-index", None));
        assert_eq!(split_option("-e ."), ("-e", Some(".")));
    }

    #[test]
    fn requirement_options_split_at_first_dash_token() {
        assert_eq!(
            split_requirement_options("a==1 ; python_version < \"3.8\" --hash=sha256:ab"),
            ("a==1 ; python_version < \"3.8\"", "--hash=sha256:ab")
        );
        assert_eq!(split_requirement_options("my-pkg==1"), ("my-pkg==1", ""));
    }
}
