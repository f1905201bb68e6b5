//! Policy exceptions written from the dashboard: the TOML stub shown in a drill-down, and the
//! append to the policy file (validated before anything is written, so a bad edit loses nothing).

use std::io;
use std::path::Path;

use crate::policy;
use crate::safe_fs::limits;

/// What the exception permits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExceptionKind {
    /// `[[licenses.exceptions]]`: allow these SPDX licenses for the package.
    License { ids: Vec<String> },
    /// `[[vulnerabilities.ignore]]`: ignore this advisory (by id or alias).
    Vulnerability { id: String },
}

/// One exception for one package, with the reason a reviewer will read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyException {
    pub package: String,
    pub kind: ExceptionKind,
    pub reason: String,
    /// Last day the exception holds (`until`, inclusive).
    pub until: Option<time::Date>,
}

/// Why an expiry date typed into the prompt is refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ExpiryError {
    #[error("an expiry date is required (YYYY-MM-DD): an ignore without one is forgotten")]
    Missing,
    #[error("`{0}` is not a date; expected YYYY-MM-DD, e.g. 2027-01-31")]
    Invalid(String),
    #[error("{0} is in the past: the ignore would be expired already")]
    Past(time::Date),
}

/// The expiry a user typed, checked as the policy loader will read it (YYYY-MM-DD, inclusive)
/// and not before `today`.
pub fn parse_expiry(text: &str, today: time::Date) -> Result<time::Date, ExpiryError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(ExpiryError::Missing);
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date =
        time::Date::parse(text, &format).map_err(|_| ExpiryError::Invalid(text.to_string()))?;
    if date < today {
        return Err(ExpiryError::Past(date));
    }
    Ok(date)
}

/// A TOML string literal (quoted and escaped).
fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

impl PolicyException {
    /// The TOML stub. `table_prefix` is `""` for `depdash.toml` and `"tool.depdash."` for
    /// `pyproject.toml`.
    pub fn to_toml(&self, table_prefix: &str) -> String {
        let until = self
            .until
            .map(|d| format!("until = {d}\n"))
            .unwrap_or_default();
        match &self.kind {
            ExceptionKind::License { ids } => {
                let ids: Vec<String> = ids.iter().map(|id| toml_string(id)).collect();
                format!(
                    "[[{table_prefix}licenses.exceptions]]\nname = {}\nallow = [{}]\nreason = {}\n{until}",
                    toml_string(&self.package),
                    ids.join(", "),
                    toml_string(&self.reason),
                )
            }
            ExceptionKind::Vulnerability { id } => format!(
                "# {}\n[[{table_prefix}vulnerabilities.ignore]]\nid = {}\nreason = {}\n{until}",
                self.package.replace('\n', " "),
                toml_string(id),
                toml_string(&self.reason),
            ),
        }
    }
}

/// The distinct license ids of an SPDX expression, in order of appearance (with `WITH`
/// exceptions kept attached), e.g. `MIT OR GPL-3.0-only` → `["MIT", "GPL-3.0-only"]`.
/// `None` when the expression does not parse.
pub fn license_ids(expression: &str) -> Option<Vec<String>> {
    let parsed = spdx::Expression::parse_mode(expression, spdx::ParseMode::LAX).ok()?;
    let mut ids: Vec<String> = Vec::new();
    for req in parsed.requirements() {
        let id = req.req.to_string();
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Some(ids)
}

fn is_pyproject(path: &Path) -> bool {
    path.file_name().is_some_and(|n| n == "pyproject.toml")
}

/// Append `exception` to the policy file at `policy_path` (created when missing), after checking
/// that the result is still a valid policy. The file is replaced atomically; on any error it is
/// left untouched. Errors: I/O errors as they come; `InvalidData` (wrapping the
/// [`policy::PolicyError`]) when the result would not be a valid policy; `InvalidInput` when a
/// license exception would switch license checking on in a policy that has none.
pub fn append_exception(policy_path: &Path, exception: &PolicyException) -> io::Result<()> {
    let existing = match crate::safe_fs::read_regular(policy_path, limits::POLICY_FILE) {
        Ok(bytes) => {
            String::from_utf8(bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?
        }
        Err(e) if e.io_kind() == Some(io::ErrorKind::NotFound) => String::new(),
        Err(e) => return Err(e.into()),
    };
    let pyproject = is_pyproject(policy_path);
    let invalid = |e: policy::PolicyErrors| io::Error::new(io::ErrorKind::InvalidData, e);
    let before = policy::parse(&existing, policy_path, pyproject).map_err(invalid)?;
    if matches!(exception.kind, ExceptionKind::License { .. }) && !before.licenses.enabled {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{} has no [licenses] section: a license exception would switch license checking on",
                policy_path.display()
            ),
        ));
    }

    let prefix = if pyproject { "tool.depdash." } else { "" };
    let mut text = existing;
    if !text.is_empty() {
        if !text.ends_with('\n') {
            text.push('\n');
        }
        text.push('\n');
    }
    text.push_str(&exception.to_toml(prefix));
    policy::parse(&text, policy_path, pyproject).map_err(invalid)?;

    // The real file behind a symlink, replaced atomically with its mode kept.
    crate::safe_fs::replace_file(policy_path, text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn license(package: &str, ids: &[&str], reason: &str) -> PolicyException {
        PolicyException {
            package: package.into(),
            kind: ExceptionKind::License {
                ids: ids.iter().map(|s| s.to_string()).collect(),
            },
            reason: reason.into(),
            until: Some(time::macros::date!(2027 - 06 - 30)),
        }
    }

    #[test]
    fn license_exception_is_appended_and_takes_effect() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("depdash.toml");
        let original = "# team policy\n[licenses]\nallow = [\"MIT\", \"Apache-2.0\"]";
        std::fs::write(&path, original).unwrap();
        append_exception(
            &path,
            &license("paramiko", &["LGPL-2.1-or-later"], "vendored \"as is\""),
        )
        .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with(original), "existing text kept: {text}");
        let policy = policy::parse(&text, &path, false).unwrap();
        let exception = &policy.licenses.exceptions[0];
        assert_eq!(exception.name, "paramiko");
        assert_eq!(exception.reason, "vendored \"as is\"");
        assert_eq!(exception.until, Some(time::macros::date!(2027 - 06 - 30)));
        assert_eq!(exception.allow.len(), 1);
        assert_eq!(policy.licenses.allow.as_ref().map(Vec::len), Some(2));
    }

    #[test]
    fn vulnerability_ignore_creates_the_file_when_missing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("depdash.toml");
        let ignore = PolicyException {
            package: "urllib3".into(),
            kind: ExceptionKind::Vulnerability {
                id: "GHSA-v845-jxx5-vc9f".into(),
            },
            reason: "not reachable".into(),
            until: Some(time::macros::date!(2027 - 01 - 31)),
        };
        append_exception(&path, &ignore).unwrap();
        let written = std::fs::read_to_string(&path).unwrap();
        assert!(written.contains("\nuntil = 2027-01-31\n"), "{written}");
        let policy = policy::load(&path).unwrap();
        assert_eq!(policy.vulnerabilities.ignore[0].id, "GHSA-v845-jxx5-vc9f");
        assert_eq!(policy.vulnerabilities.ignore[0].reason, "not reachable");
        assert_eq!(
            policy.vulnerabilities.ignore[0].until,
            Some(time::macros::date!(2027 - 01 - 31))
        );
        // Appending twice keeps both.
        append_exception(&path, &ignore).unwrap();
        assert_eq!(policy::load(&path).unwrap().vulnerabilities.ignore.len(), 2);
    }

    #[test]
    fn pyproject_gets_tool_depdash_tables() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pyproject.toml");
        std::fs::write(
            &path,
            "[project]\nname = \"x\"\n\n[tool.depdash.licenses]\ndeny = [\"GPL-3.0-only\"]\n",
        )
        .unwrap();
        append_exception(&path, &license("gpl-thing", &["GPL-3.0-only"], "")).unwrap();
        let policy = policy::load(&path).unwrap();
        assert_eq!(policy.licenses.exceptions[0].name, "gpl-thing");
    }

    #[test]
    fn an_edit_that_would_break_the_policy_leaves_the_file_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("depdash.toml");
        // Exceptions given inline: appending an array-of-tables of the same key is invalid TOML.
        let original = "[licenses]\nallow = [\"MIT\"]\nexceptions = []\n";
        std::fs::write(&path, original).unwrap();
        let err = append_exception(&path, &license("x", &["GPL-3.0-only"], "")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("depdash.toml"), "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), original);

        // An unknown license id is refused by validation, naming the problem.
        let path2 = dir.path().join("other.toml");
        std::fs::write(&path2, "[licenses]\nallow = [\"MIT\"]\n").unwrap();
        let err = append_exception(&path2, &license("x", &["Not-A-License"], "")).unwrap_err();
        assert!(err.to_string().contains("Not-A-License"), "{err}");

        // No [licenses] section: refuse instead of turning license checking on.
        let path3 = dir.path().join("third.toml");
        std::fs::write(&path3, "[health]\nyanked = \"deny\"\n").unwrap();
        let err = append_exception(&path3, &license("x", &["MIT"], "")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(
            std::fs::read_to_string(&path3).unwrap(),
            "[health]\nyanked = \"deny\"\n"
        );
        // No stray temporary files.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 3, "{names:?}");
    }

    #[test]
    fn expiry_must_be_a_date_today_or_later() {
        let today = time::macros::date!(2026 - 12 - 01);
        assert_eq!(parse_expiry(" 2026-12-01 ", today), Ok(today));
        assert_eq!(
            parse_expiry("2027-02-28", today),
            Ok(time::macros::date!(2027 - 02 - 28))
        );
        assert_eq!(parse_expiry("  ", today), Err(ExpiryError::Missing));
        for bad in ["2027-02-30", "31.01.2027", "2027-1-5x", "tomorrow"] {
            assert!(
                matches!(parse_expiry(bad, today), Err(ExpiryError::Invalid(_))),
                "{bad}"
            );
        }
        assert_eq!(
            parse_expiry("2026-11-30", today),
            Err(ExpiryError::Past(time::macros::date!(2026 - 11 - 30)))
        );
    }

    #[test]
    fn license_ids_lists_each_id_once() {
        assert_eq!(
            license_ids("MIT OR (GPL-3.0-only AND MIT)").unwrap(),
            vec!["MIT", "GPL-3.0-only"]
        );
        assert_eq!(
            license_ids("Apache-2.0 WITH LLVM-exception").unwrap(),
            vec!["Apache-2.0 WITH LLVM-exception"]
        );
        assert!(license_ids("not ( valid").is_none());
    }
}
