//! Index credentials as pip finds them, and URLs made safe to show.
//!
//! Credentials live in the index URL (`https://user:pass@host/simple`), where reqwest turns them
//! into Basic auth for that URL's requests only and drops them on a redirect to another host,
//! port or scheme. A URL without them gets them from `.netrc` (`NETRC`, else `~/.netrc`) when it
//! has an entry for the URL's host (else its `default` entry), as pip (requests) does.
//!
//! Nothing shown to a person or written to a report carries a password: [`redact`] writes
//! `user:****@`, [`redact_text`] does so for every URL inside a message, and
//! [`without_credentials`] drops the user info altogether (cache entries, validators).

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use reqwest::Url;

/// What a redacted password is shown as.
const MASK: &str = "****";

/// `url` with its user info masked as pip shows it: `user:****@` (password masked, user kept),
/// or `****@` for a user name alone (often a token). Text that does not parse as a URL is
/// masked by [`redact_text`].
pub fn redact(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some(MASK));
            parsed.to_string()
        }
        Ok(mut parsed) if !parsed.username().is_empty() => {
            let _ = parsed.set_username(MASK);
            parsed.to_string()
        }
        Ok(_) => url.to_string(),
        Err(_) => redact_text(url),
    }
}

/// `url` without user name and password (the identity of the resource, not of who asks).
pub fn without_credentials(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut parsed) if !parsed.username().is_empty() || parsed.password().is_some() => {
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

/// `text` with the user info of every `scheme://user:password@` in it masked as [`redact`]
/// does (for messages that may quote a URL: errors from libraries, configuration values).
pub fn redact_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (head, tail) = rest.split_at(at + 3);
        out.push_str(head);
        // The authority ends at the first `/`, `?`, `#` or whitespace; user info at its last `@`.
        let end = tail
            .find(|c: char| matches!(c, '/' | '?' | '#') || c.is_whitespace())
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority.rfind('@') {
            Some(at) => {
                let userinfo = &authority[..at];
                match userinfo.split_once(':') {
                    Some((user, _)) => out.push_str(&format!("{user}:{MASK}")),
                    None => out.push_str(MASK),
                }
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// One login from `.netrc`. `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq)]
struct Login {
    user: String,
    password: String,
}

impl fmt::Debug for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{MASK}", self.user)
    }
}

/// Why a `.netrc` was not used.
#[derive(Debug, thiserror::Error)]
pub enum NetrcError {
    #[error("{}: cannot read: {detail}", path.display())]
    Read { path: PathBuf, detail: String },
    /// The parser's own message is left out: it may quote a token of the file (a password).
    #[error("{}: not a valid netrc file; its credentials are not used", path.display())]
    Malformed { path: PathBuf },
}

/// The logins of a `.netrc` file, by machine name (`default` for its default entry).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Netrc {
    logins: HashMap<String, Login>,
}

impl Netrc {
    /// The file pip would read: `NETRC` when set, else `~/.netrc`.
    pub fn default_path() -> Option<PathBuf> {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        var("NETRC")
            .map(PathBuf::from)
            .or_else(|| var("HOME").map(|home| PathBuf::from(home).join(".netrc")))
    }

    /// Reads `path`; a missing file is no credentials, not an error.
    pub fn load(path: &Path) -> Result<Netrc, NetrcError> {
        let text = match crate::safe_fs::read_regular_text(path, crate::safe_fs::limits::SMALL_FILE)
        {
            Ok((text, _)) => text,
            Err(e) if e.io_kind() == Some(std::io::ErrorKind::NotFound) => {
                return Ok(Netrc::default());
            }
            Err(e) => {
                return Err(NetrcError::Read {
                    path: path.to_path_buf(),
                    detail: e.to_string(),
                });
            }
        };
        Self::parse(&text).ok_or_else(|| NetrcError::Malformed {
            path: path.to_path_buf(),
        })
    }

    /// Parses netrc text (Python's grammar, which pip uses); `None` when it is not valid.
    pub fn parse(text: &str) -> Option<Netrc> {
        let parsed: netrc::Netrc = text.parse().ok()?;
        let logins = parsed
            .hosts
            .into_iter()
            .map(|(machine, auth)| {
                let login = Login {
                    user: auth.login,
                    password: auth.password,
                };
                (machine.to_ascii_lowercase(), login)
            })
            .collect();
        Some(Netrc { logins })
    }

    /// `url` with the netrc login of its host when it carries no user info of its own; as is
    /// otherwise (the URL's own credentials win, as in pip).
    pub fn apply(&self, url: &str) -> String {
        let Ok(mut parsed) = Url::parse(url) else {
            return url.to_string();
        };
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return url.to_string();
        }
        let host = parsed.host_str().unwrap_or_default().to_ascii_lowercase();
        let Some(login) = self
            .logins
            .get(&host)
            .or_else(|| self.logins.get("default"))
        else {
            return url.to_string();
        };
        if parsed.set_username(&login.user).is_err()
            || parsed.set_password(Some(&login.password)).is_err()
        {
            return url.to_string();
        }
        parsed.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_masks_passwords_and_keeps_the_rest() {
        assert_eq!(
            redact("https://alice:s3cret@index.example/simple"),
            "https://alice:****@index.example/simple"
        );
        assert_eq!(redact("https://index.example/"), "https://index.example/");
        assert_eq!(
            redact("https://t0ken@index.example/simple"),
            "https://****@index.example/simple"
        );
        assert_eq!(redact_text("at http://t0ken@h/x"), "at http://****@h/x");
        assert_eq!(
            without_credentials("https://alice:s3cret@index.example:8080/x"),
            "https://index.example:8080/x"
        );
        let text = "cannot reach http://u:p%40ss@127.0.0.1:9/simple/ and https://x.example/a@b";
        assert_eq!(
            redact_text(text),
            "cannot reach http://u:****@127.0.0.1:9/simple/ and https://x.example/a@b"
        );
        assert_eq!(redact_text("no url"), "no url");
    }

    #[test]
    fn netrc_fills_only_hosts_without_credentials() {
        let netrc = Netrc::parse(
            "machine private.example login bob password hunter2\n\
             machine other.example login carol password pw\n",
        )
        .unwrap();
        assert_eq!(
            netrc.apply("https://private.example/simple"),
            "https://bob:hunter2@private.example/simple"
        );
        assert_eq!(
            netrc.apply("https://alice:own@private.example/simple"),
            "https://alice:own@private.example/simple"
        );
        assert_eq!(netrc.apply("https://pypi.org"), "https://pypi.org");
        assert!(!format!("{netrc:?}").contains("hunter2"));
        let with_default = Netrc::parse("default login d password dpw").unwrap();
        assert_eq!(with_default.apply("http://h/"), "http://d:dpw@h/");
        assert_eq!(Netrc::parse("machine"), None);
    }

    use proptest::strategy::Strategy;

    proptest::proptest! {
        /// A `.netrc` is the user's file, but any text must give logins or `None`, never a
        /// panic: netrc tokens, quotes, macros and junk in any order.
        #[test]
        fn any_netrc_text_parses_or_is_refused(
            words in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::sample::select(vec![
                        "machine", "default", "login", "password", "account", "macdef", "\"",
                        "'", "#", "\n", "\n\n", " ", "\\", "\t",
                    ])
                    .prop_map(str::to_string),
                    "\\PC{0,8}",
                ],
                0..24,
            )
        ) {
            let text = words.join(" ");
            if let Some(netrc) = Netrc::parse(&text) {
                let _ = netrc.apply("https://host.example/simple");
            }
        }
    }
}
