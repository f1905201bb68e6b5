//! The package indexes a run asks, as pip would install from them: the index (`--pypi-url`,
//! else a requirements file's `--index-url`, else pip's `index-url`), plus every extra index
//! (`--extra-index-url`, `PIP_EXTRA_INDEX_URL` or pip.conf `extra-index-url`, requirements
//! files' `--extra-index-url`), each with its `.netrc` login when its URL carries none.

use crate::error::Result;
use crate::inventory::IndexOptions;
use crate::sources::credentials::{self, Netrc};

use super::NetworkSettings;

/// pip's index URL (`https://host/simple/`) as the JSON API base depdash asks
/// (`https://host`); a base given as such is kept.
pub(super) fn json_api_base(url: &str) -> String {
    let trimmed = url.trim().trim_end_matches('/');
    trimmed
        .strip_suffix("/simple")
        .unwrap_or(trimmed)
        .to_string()
}

/// The extra indexes pip is configured with: `PIP_EXTRA_INDEX_URL` (whitespace separated) when
/// set, else the `extra-index-url` of the last pip config file that has one (`[global]` or
/// `[install]`; the value may go on over indented lines, one URL each, as pip reads it).
pub(super) fn pip_extra_index_urls(env: Option<&str>, configs: &[String]) -> Vec<String> {
    if let Some(value) = env.filter(|v| !v.trim().is_empty()) {
        return value.split_whitespace().map(str::to_string).collect();
    }
    (configs.iter().rev())
        .find_map(|text| ini_multi_value(text, &["extra-index-url", "extra_index_url"]))
        .unwrap_or_default()
}

/// Every whitespace-separated word of the last of `keys` in `[global]`/`[install]`, its value
/// continued on the indented lines after it (configparser's multi-line values).
fn ini_multi_value(text: &str, keys: &[&str]) -> Option<Vec<String>> {
    let mut section = String::new();
    let mut found: Option<Vec<String>> = None;
    let mut continuing = false;
    for raw in text.lines() {
        let line = raw.trim();
        let indented = raw.starts_with([' ', '\t']);
        if continuing && indented && !line.is_empty() && !line.starts_with(['#', ';']) {
            if let Some(values) = &mut found {
                values.extend(line.split_whitespace().map(str::to_string));
            }
            continue;
        }
        continuing = false;
        if line.starts_with('[') && line.ends_with(']') {
            section = line[1..line.len() - 1].trim().to_ascii_lowercase();
        } else if matches!(section.as_str(), "global" | "install")
            && let Some((key, value)) = line.split_once(['=', ':'])
            && keys.contains(&key.trim())
        {
            found = Some(value.split_whitespace().map(str::to_string).collect());
            continuing = true;
        }
    }
    found
}

/// The extra indexes of the settings: pip's configured ones, then the command line's. One
/// given on the command line that is not an http(s) URL is a usage error (password masked);
/// one from pip's configuration (which also allows `file://` indexes) is left out with a
/// warning, so a pip setup depdash cannot use does not stop every run.
pub(super) fn extra_index_urls(
    cli: &[String],
    pip_env: Option<&str>,
    configs: &[String],
) -> Result<(Vec<String>, Vec<String>)> {
    let mut urls = Vec::new();
    let mut ignored = Vec::new();
    for url in pip_extra_index_urls(pip_env, configs) {
        let base = json_api_base(&url);
        match super::validate_base_url("extra-index-url", &base) {
            Ok(()) => urls.push(base),
            Err(e) => ignored.push(format!("pip's configuration: {e}; ignored")),
        }
    }
    for url in cli {
        let base = json_api_base(url);
        super::validate_base_url("--extra-index-url", &base)?;
        urls.push(base);
    }
    Ok((urls, ignored))
}

/// The `.netrc` pip would read (`NETRC`, else `~/.netrc`), and a warning when it is there but
/// cannot be used (its credentials are then not sent, as pip ignores a malformed one).
pub(super) fn load_netrc() -> (Netrc, Option<String>) {
    let Some(path) = Netrc::default_path() else {
        return (Netrc::default(), None);
    };
    match Netrc::load(&path) {
        Ok(netrc) => (netrc, None),
        Err(e) => (Netrc::default(), Some(e.to_string())),
    }
}

/// The most `--extra-index-url`s the input files may add to a run.
pub const MAX_FILE_EXTRA_INDEXES: usize = 8;

/// The indexes of one run, in pip's order (the index first): JSON API bases with credentials
/// (from the URL, else `.netrc`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IndexUrls {
    pub urls: Vec<String>,
    /// Index options of the input files that were not used, and why (password masked).
    pub ignored: Vec<String>,
}

impl NetworkSettings {
    /// The indexes to ask, given the index options the input files name: a requirements
    /// file's `--index-url` replaces the index pip is configured with, never one named for
    /// depdash (`--pypi-url`, `DEPDASH_PYPI_URL`, `[sources] pypi_url`); its extra indexes are
    /// added to the configured ones. None at all when the index is turned off.
    pub fn index_urls(&self, files: &IndexOptions) -> IndexUrls {
        let mut out = IndexUrls::default();
        let Some(configured) = &self.pypi_url else {
            return out;
        };
        let mut usable = |url: &str| {
            let base = json_api_base(url);
            match super::validate_base_url("--index-url", &base) {
                Ok(()) => Some(base),
                Err(_) => {
                    let shown = credentials::redact(url);
                    out.ignored.push(format!(
                        "index URL `{shown}` in a requirements file is not an http(s) URL; ignored"
                    ));
                    None
                }
            }
        };
        let from_file = files.index_url.as_deref().and_then(&mut usable);
        let primary = match from_file {
            Some(url) if !self.pypi_url_explicit => url,
            _ => configured.clone(),
        };
        let mut extras: Vec<String> = (files.extra_index_urls.iter())
            .filter_map(|url| usable(url))
            .collect();
        // Every index is asked for every package: an input file naming hundreds would make a
        // run of hours, so files get a bound (pip has none; no real setup comes near it).
        if extras.len() > MAX_FILE_EXTRA_INDEXES {
            out.ignored.push(format!(
                "{} extra index URLs in the input files; only the first {MAX_FILE_EXTRA_INDEXES} are used",
                extras.len()
            ));
            extras.truncate(MAX_FILE_EXTRA_INDEXES);
        }
        let mut seen = Vec::new();
        for url in std::iter::once(&primary)
            .chain(&self.extra_index_urls)
            .chain(&extras)
        {
            let identity = credentials::without_credentials(url);
            if !seen.contains(&identity) {
                seen.push(identity);
                out.urls
                    .push(self.netrc.apply(url).trim_end_matches('/').to_string());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pip_config_extra_indexes_span_lines_and_the_environment_wins() {
        let dir = tempfile::tempdir().unwrap();
        let global = dir.path().join("global.conf");
        let user = dir.path().join("user.conf");
        std::fs::write(
            &global,
            "[global]\nextra-index-url = https://a.example/simple\n",
        )
        .unwrap();
        std::fs::write(
            &user,
            "[install]\nextra-index-url =\n    https://b.example/simple\n\thttps://c.example/simple\n# comment\nother = x\n[list]\nextra-index-url = https://no.example\n",
        )
        .unwrap();
        let read = |f: &std::path::Path| std::fs::read_to_string(f).unwrap();
        let files = vec![read(&global), read(&user)];
        assert_eq!(
            pip_extra_index_urls(None, &files),
            ["https://b.example/simple", "https://c.example/simple"]
        );
        assert_eq!(
            pip_extra_index_urls(None, &[read(&global)]),
            ["https://a.example/simple"]
        );
        assert_eq!(
            pip_extra_index_urls(Some(" https://x/simple\nhttps://y/ "), &files),
            ["https://x/simple", "https://y/"]
        );
        let cli = ["https://z.example/simple/".to_string()];
        let (urls, ignored) = extra_index_urls(&cli, Some("file:///srv/simple"), &[]).unwrap();
        assert_eq!(urls, ["https://z.example"]);
        assert_eq!(ignored.len(), 1, "{ignored:?}");
        let error = extra_index_urls(&["ftp://u:secret@h/".into()], None, &[]).unwrap_err();
        assert!(!error.to_string().contains("secret"), "{error}");
    }

    fn network(pypi_url: &str, explicit: bool, extras: &[&str], netrc: &str) -> NetworkSettings {
        NetworkSettings {
            pypi_url: Some(pypi_url.to_string()),
            pypi_url_explicit: explicit,
            extra_index_urls: extras.iter().map(|s| s.to_string()).collect(),
            netrc: Netrc::parse(netrc).unwrap(),
            ..NetworkSettings::default()
        }
    }

    #[test]
    fn requirements_index_options_follow_pip_and_netrc_fills_credentials() {
        let files = IndexOptions {
            index_url: Some("https://file.example/simple/".into()),
            extra_index_urls: vec![
                "https://extra.example/simple".into(),
                "https://cli.example/simple".into(),
                "not a url".into(),
            ],
        };
        let netrc = "machine extra.example login bob password hunter2";
        let pip = network("https://pypi.org", false, &["https://cli.example"], netrc);
        let urls = pip.index_urls(&files);
        assert_eq!(
            urls.urls,
            [
                "https://file.example",
                "https://cli.example",
                "https://bob:hunter2@extra.example"
            ]
        );
        assert_eq!(urls.ignored.len(), 1, "{urls:?}");

        let explicit = network("https://mine.example", true, &[], "");
        assert_eq!(explicit.index_urls(&files).urls[0], "https://mine.example");
        let off = NetworkSettings {
            pypi_url: None,
            ..explicit
        };
        assert!(off.index_urls(&files).urls.is_empty());
    }

    #[test]
    fn input_files_add_a_bounded_number_of_extra_indexes() {
        let files = IndexOptions {
            index_url: None,
            extra_index_urls: (0..500)
                .map(|i| format!("https://i{i}.example/simple"))
                .collect(),
        };
        let urls = network("https://pypi.org", false, &[], "").index_urls(&files);
        assert_eq!(urls.urls.len(), 1 + MAX_FILE_EXTRA_INDEXES, "{urls:?}");
        assert_eq!(urls.urls[1], "https://i0.example");
        assert!(
            urls.ignored
                .iter()
                .any(|w| w.contains("500 extra index URLs")),
            "{:?}",
            urls.ignored
        );
    }
}
