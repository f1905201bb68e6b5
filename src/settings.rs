//! Settings resolved once, with precedence CLI > environment (`DEPDASH_*`, via clap) > policy file
//! > embedded defaults. Everything the engine needs, validated.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cli::RunArgs;
use crate::error::{Error, Result};
use crate::policy::{self, Policy};

pub const DEFAULT_PYPI_URL: &str = "https://pypi.org";
pub const DEFAULT_OSV_URL: &str = "https://api.osv.dev";

/// What to inventory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// Project dir, venv dir or site-packages dir.
    Path(PathBuf),
    /// A Python interpreter.
    Python(PathBuf),
    /// Pinned requirements files.
    Requirements(Vec<PathBuf>),
    /// Nothing given: $VIRTUAL_ENV, ./.venv, ./venv, or the current directory.
    Default,
}

/// Network settings.
#[derive(Clone, Debug, PartialEq)]
pub struct NetworkSettings {
    pub pypi_url: String,
    pub osv_url: String,
    pub osv_db: Option<PathBuf>,
    pub offline: bool,
    pub concurrency: Option<usize>,
    pub timeout: Option<Duration>,
    pub retries: Option<u32>,
}

/// Cache settings.
#[derive(Clone, Debug, PartialEq)]
pub struct CacheSettings {
    pub enabled: bool,
    pub dir: Option<PathBuf>,
    pub redis_url: Option<String>,
    pub refresh: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    pub target: Target,
    pub policy: Policy,
    pub network: NetworkSettings,
    pub cache: CacheSettings,
    pub check_vulnerabilities: bool,
    pub check_registry: bool,
    pub fail_on_regression: bool,
    /// `None` disables the history; otherwise the file to append to.
    pub history_file: Option<PathBuf>,
}

impl Settings {
    /// Resolve settings from the command line (which already merged env vars).
    pub fn resolve(args: &RunArgs) -> Result<Self> {
        let target = if let Some(python) = &args.python {
            Target::Python(python.clone())
        } else if !args.requirements.is_empty() {
            Target::Requirements(args.requirements.clone())
        } else if let Some(path) = &args.path {
            if !path.exists() {
                return Err(Error::Usage(format!(
                    "{}: no such file or directory",
                    path.display()
                )));
            }
            Target::Path(path.clone())
        } else {
            Target::Default
        };

        let policy = match &args.config {
            Some(file) => {
                if !file.is_file() {
                    return Err(Error::Usage(format!(
                        "{}: policy file not found",
                        file.display()
                    )));
                }
                policy::load(file)?
            }
            None => match policy::discover(&project_dir(&target)) {
                Some(file) => policy::load(&file)?,
                None => Policy::default(),
            },
        };

        let sources = &policy.sources;
        let timeout = match &args.timeout {
            Some(text) => Some(policy::parse_duration(text).ok_or_else(|| {
                Error::Usage(format!(
                    "--timeout {text}: expected a duration such as 10s or 2m"
                ))
            })?),
            None => sources.timeout,
        };
        let concurrency = args.concurrency.or(sources.concurrency);
        if concurrency == Some(0) {
            return Err(Error::Usage("--concurrency must be at least 1".into()));
        }
        let pypi_url = args
            .pypi_url
            .clone()
            .or_else(|| sources.pypi_url.clone())
            .unwrap_or_else(|| DEFAULT_PYPI_URL.to_string());
        let osv_url = args
            .osv_url
            .clone()
            .or_else(|| sources.osv_url.clone())
            .unwrap_or_else(|| DEFAULT_OSV_URL.to_string());
        for (flag, url) in [("--pypi-url", &pypi_url), ("--osv-url", &osv_url)] {
            validate_base_url(flag, url)?;
        }
        let osv_db = args.osv_db.clone().or_else(|| sources.osv_db.clone());
        if let Some(db) = &osv_db
            && !db.exists()
        {
            return Err(Error::Usage(format!(
                "--osv-db {}: no such file or directory",
                db.display()
            )));
        }

        let history_file = if args.no_history {
            None
        } else {
            args.history_file
                .clone()
                .or_else(|| crate::perf::history::History::default_path().ok())
        };

        Ok(Settings {
            target,
            network: NetworkSettings {
                pypi_url: pypi_url.trim_end_matches('/').to_string(),
                osv_url: osv_url.trim_end_matches('/').to_string(),
                osv_db,
                offline: args.offline,
                concurrency,
                timeout,
                retries: args.retries.or(sources.retries),
            },
            cache: CacheSettings {
                enabled: !args.no_cache,
                dir: args.cache_dir.clone(),
                redis_url: args
                    .redis_url
                    .clone()
                    .or_else(|| sources.redis_url.clone())
                    .filter(|u| !u.is_empty()),
                refresh: args.refresh,
            },
            policy,
            check_vulnerabilities: !args.no_vulnerabilities,
            check_registry: !args.no_registry,
            fail_on_regression: args.fail_on_regression,
            history_file,
        })
    }

    /// A short human description of the target, for headers.
    pub fn target_label(&self) -> String {
        match &self.target {
            Target::Path(p) => p.display().to_string(),
            Target::Python(p) => format!("python {}", p.display()),
            Target::Requirements(files) => files
                .iter()
                .map(|f| f.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            Target::Default => "current environment".to_string(),
        }
    }
}

/// The directory where a policy file is looked for: the project directory the target names.
fn project_dir(target: &Target) -> PathBuf {
    let cwd = || std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    match target {
        Target::Path(p) if p.is_dir() => p.clone(),
        Target::Path(p) => p.parent().map(Path::to_path_buf).unwrap_or_else(cwd),
        Target::Requirements(files) => files
            .first()
            .and_then(|f| f.parent())
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .unwrap_or_else(cwd),
        Target::Python(_) | Target::Default => cwd(),
    }
}

fn validate_base_url(flag: &str, url: &str) -> Result<()> {
    match reqwest::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(()),
        Ok(_) => Err(Error::Usage(format!(
            "{flag} {url}: expected an http(s) URL such as https://pypi.org"
        ))),
        Err(e) => Err(Error::Usage(format!("{flag} {url}: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn resolve(args: &[&str]) -> Result<Settings> {
        let cli = crate::cli::Cli::try_parse_from(args).expect("valid args");
        Settings::resolve(&cli.run)
    }

    #[test]
    fn cli_wins_over_policy_file_and_defaults_apply() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("depdash.toml"),
            "[sources]\npypi_url = \"http://mirror.local/\"\nosv_url = \"http://osv.local\"\nconcurrency = 4\n",
        )
        .unwrap();
        let d = dir.path().to_str().unwrap();
        let s = resolve(&[
            "depdash",
            d,
            "--osv-url",
            "http://127.0.0.1:9/",
            "--no-history",
        ])
        .unwrap();
        assert_eq!(s.network.pypi_url, "http://mirror.local");
        assert_eq!(s.network.osv_url, "http://127.0.0.1:9");
        assert_eq!(s.network.concurrency, Some(4));
        assert!(s.policy.path.is_some());
        let s = resolve(&["depdash", "--no-history", "-r", "/nonexistent/req.txt"]).unwrap();
        assert_eq!(s.network.pypi_url, DEFAULT_PYPI_URL);
        assert_eq!(s.history_file, None);
    }

    #[test]
    fn bad_values_are_usage_errors() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap();
        assert!(matches!(
            resolve(&["depdash", d, "--pypi-url", "ftp://x"]),
            Err(Error::Usage(_))
        ));
        assert!(matches!(
            resolve(&["depdash", d, "--timeout", "soon"]),
            Err(Error::Usage(_))
        ));
        assert!(matches!(
            resolve(&["depdash", "/definitely/not/here"]),
            Err(Error::Usage(_))
        ));
        assert!(matches!(
            resolve(&["depdash", d, "--config", "/nope.toml"]),
            Err(Error::Usage(_))
        ));
    }

    #[test]
    fn invalid_discovered_policy_is_a_policy_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("depdash.toml"), "[licenses]\nallow = 3\n").unwrap();
        match resolve(&["depdash", dir.path().to_str().unwrap()]) {
            Err(Error::Policy(e)) => assert_eq!(e.line, 2),
            other => panic!("expected a policy error, got {other:?}"),
        }
    }
}
