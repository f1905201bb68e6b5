//! Reading configuration files the way cargo-deny does: serde into a raw, span-carrying form
//! (`deny_unknown_fields`, so a typo is an error, not a silently ignored key), then each section
//! validated by its owner into a typed form. This module owns the shared part: the diagnostics
//! (every validation error of a file is collected, each with file:line:column), the field
//! validators, and the vocabulary sections share ([`Disposition`]).
//!
//! A TOML syntax or shape error (a typo'd key, a string where a list belongs) stops the parse
//! and is reported alone; every value that parses but does not validate is reported together.

use std::cell::RefCell;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use pep440_rs::VersionSpecifiers;
use serde::Deserialize;
use toml::Spanned;

use crate::model::normalize_name;
use crate::units::{line_col, parse_duration, parse_size};

/// One problem in a configuration file, pointing into it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}:{column}: {message}", path.display())]
pub struct PolicyError {
    pub path: PathBuf,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Every problem found in one file, in file order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyErrors(pub Vec<PolicyError>);

impl fmt::Display for PolicyErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for PolicyErrors {}

impl PolicyErrors {
    /// The first problem (a file with errors has at least one).
    pub fn first(&self) -> &PolicyError {
        &self.0[0]
    }

    /// Both lists, in file order, without repeats (two readers of one file may both report a
    /// problem both of them see, e.g. an unknown top-level key).
    pub fn merge(mut self, other: PolicyErrors) -> PolicyErrors {
        for e in other.0 {
            if !self.0.contains(&e) {
                self.0.push(e);
            }
        }
        self.0.sort_by_key(|e| (e.line, e.column));
        self
    }
}

/// What to do with a finding or an unknown of some kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Disposition {
    Deny,
    Warn,
    Allow,
}

/// `until`-style dates may be written as a TOML date (`2027-01-31`) or a string.
#[derive(Deserialize)]
#[serde(untagged)]
pub enum RawDate {
    Date(toml::value::Datetime),
    Text(String),
}

/// The file being validated, and the errors found so far.
pub struct Ctx<'a> {
    pub text: &'a str,
    pub path: &'a Path,
    errors: RefCell<Vec<PolicyError>>,
}

impl<'a> Ctx<'a> {
    pub fn new(text: &'a str, path: &'a Path) -> Self {
        Ctx {
            text,
            path,
            errors: RefCell::new(Vec::new()),
        }
    }

    /// An error at `span` of the file.
    pub fn error_at(&self, span: Range<usize>, message: impl Into<String>) -> PolicyError {
        let (line, column) = line_col(self.text, span.start);
        PolicyError {
            path: self.path.to_path_buf(),
            line,
            column,
            message: message.into(),
        }
    }

    /// The error of a TOML parse (syntax or shape).
    pub fn toml_error(&self, e: &toml::de::Error) -> PolicyErrors {
        let span = e.span().unwrap_or(0..0);
        PolicyErrors(vec![self.error_at(span, e.message().trim().to_string())])
    }

    /// Keep `result`'s value, or record its error and go on.
    pub fn check<T>(&self, result: Result<T, PolicyError>) -> Option<T> {
        result.map_err(|e| self.errors.borrow_mut().push(e)).ok()
    }

    /// The values of `results` that validated; every error is recorded.
    pub fn each<T>(&self, results: impl IntoIterator<Item = Result<T, PolicyError>>) -> Vec<T> {
        results.into_iter().filter_map(|r| self.check(r)).collect()
    }

    /// `value` if nothing was recorded, else every recorded error in file order.
    pub fn finish<T>(self, value: T) -> Result<T, PolicyErrors> {
        let mut errors = self.errors.into_inner();
        if errors.is_empty() {
            return Ok(value);
        }
        errors.sort_by_key(|e| (e.line, e.column));
        Err(PolicyErrors(errors))
    }

    pub fn licensee(
        &self,
        item: &Spanned<String>,
        what: &str,
    ) -> Result<spdx::Licensee, PolicyError> {
        spdx::Licensee::parse(item.get_ref()).map_err(|e| {
            self.error_at(
                item.span(),
                format!(
                    "{what}: `{}` is not an SPDX license id ({}); expected e.g. \"MIT\", \"Apache-2.0\", \"GPL-2.0-or-later\"",
                    item.get_ref(),
                    e.reason
                ),
            )
        })
    }

    /// Every licensee of `items` that parses; the others are recorded.
    pub fn licensees(&self, items: &[Spanned<String>], what: &str) -> Vec<spdx::Licensee> {
        self.each(items.iter().map(|i| self.licensee(i, what)))
    }

    pub fn specifiers_at(
        &self,
        text: &str,
        span: Range<usize>,
    ) -> Result<VersionSpecifiers, PolicyError> {
        VersionSpecifiers::from_str(text).map_err(|e| {
            // pep440_rs draws a caret diagram under its first line; one line per error here.
            let reason = e.to_string();
            let reason = reason.lines().next().unwrap_or_default().trim_end_matches(':');
            self.error_at(
                span,
                format!(
                    "`{text}` is not a PEP 440 version specifier ({reason}); expected e.g. \">=2\", \"~=1.4\", \"==3.1.*\""
                ),
            )
        })
    }

    pub fn package_name_at(&self, name: &str, span: Range<usize>) -> Result<String, PolicyError> {
        let name = name.trim();
        let valid = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !valid {
            return Err(self.error_at(span, format!("`{name}` is not a valid Python package name")));
        }
        Ok(normalize_name(name))
    }

    pub fn package_name(&self, item: &Spanned<String>) -> Result<String, PolicyError> {
        self.package_name_at(item.get_ref(), item.span())
    }

    pub fn duration(&self, item: &Spanned<String>) -> Result<Duration, PolicyError> {
        parse_duration(item.get_ref()).ok_or_else(|| {
            self.error_at(
                item.span(),
                format!(
                    "`{}` is not a duration; expected a number and a unit, e.g. \"90s\", \"30m\", \"1h\", \"7d\", \"2w\", \"1y\"",
                    item.get_ref()
                ),
            )
        })
    }

    pub fn size(&self, item: &Spanned<String>) -> Result<u64, PolicyError> {
        parse_size(item.get_ref()).ok_or_else(|| {
            self.error_at(
                item.span(),
                format!(
                    "`{}` is not a size; expected e.g. \"256MB\", \"1GiB\"",
                    item.get_ref()
                ),
            )
        })
    }

    pub fn count(&self, item: &Spanned<i64>, min: i64) -> Result<usize, PolicyError> {
        let value = *item.get_ref();
        if value < min {
            return Err(self.error_at(
                item.span(),
                format!("expected a whole number of at least {min}, found {value}"),
            ));
        }
        Ok(value as usize)
    }

    pub fn date(&self, item: &Spanned<RawDate>) -> Result<time::Date, PolicyError> {
        let text = match item.get_ref() {
            RawDate::Date(d) => d.to_string(),
            RawDate::Text(t) => t.clone(),
        };
        let format = time::macros::format_description!("[year]-[month]-[day]");
        time::Date::parse(text.trim(), &format).map_err(|_| {
            self.error_at(
                item.span(),
                format!("`{text}` is not a date; expected YYYY-MM-DD, e.g. 2027-01-31"),
            )
        })
    }

    /// A value with a default, validated by `f` when given.
    pub fn or_default<R, T>(
        &self,
        raw: Option<&R>,
        default: T,
        f: impl FnOnce(&R) -> Result<T, PolicyError>,
    ) -> T {
        match raw {
            Some(r) => self.check(f(r)).unwrap_or(default),
            None => default,
        }
    }

    /// An optional value, validated by `f` when given.
    pub fn optional<R, T>(
        &self,
        raw: Option<&R>,
        f: impl FnOnce(&R) -> Result<T, PolicyError>,
    ) -> Option<T> {
        raw.and_then(|r| self.check(f(r)))
    }
}

/// Read a configuration file as UTF-8 text (errors point at the file).
pub fn read(path: &Path) -> Result<String, PolicyErrors> {
    let one = |line, column, message: String| {
        PolicyErrors(vec![PolicyError {
            path: path.to_path_buf(),
            line,
            column,
            message,
        }])
    };
    let bytes = crate::safe_fs::read_regular(path, crate::safe_fs::limits::POLICY_FILE)
        .map_err(|e| one(0, 0, format!("cannot read policy file: {e}")))?;
    String::from_utf8(bytes).map_err(|e| {
        let (line, column) = line_col(
            &String::from_utf8_lossy(e.as_bytes()),
            e.utf8_error().valid_up_to(),
        );
        one(line, column, "policy file is not valid UTF-8".into())
    })
}

/// Whether `path` is a `pyproject.toml` (read from `[tool.depdash]`).
pub fn is_pyproject(path: &Path) -> bool {
    path.file_name().is_some_and(|n| n == "pyproject.toml")
}

/// Deserialize the depdash table of a file: the whole document, or `[tool.depdash]` of a
/// `pyproject.toml` (other tools' tables are ignored).
pub fn deserialize<T: for<'de> Deserialize<'de> + Default>(
    ctx: &Ctx<'_>,
    pyproject: bool,
) -> Result<T, PolicyErrors> {
    #[derive(Deserialize)]
    struct Pyproject<T> {
        tool: Option<Tool<T>>,
    }
    #[derive(Deserialize)]
    struct Tool<T> {
        depdash: Option<T>,
    }
    if pyproject {
        let doc: Pyproject<T> = toml::from_str(ctx.text).map_err(|e| ctx.toml_error(&e))?;
        Ok(doc.tool.and_then(|t| t.depdash).unwrap_or_default())
    } else {
        toml::from_str(ctx.text).map_err(|e| ctx.toml_error(&e))
    }
}
