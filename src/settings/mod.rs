//! Settings resolved once, with precedence CLI > environment (`DEPDASH_*`, via clap) > policy file
//! > embedded defaults. Everything the engine needs, validated.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cli::RunArgs;
use crate::config::PolicyErrors;
use crate::error::{Error, Result};
use crate::policy::{self, Policy};

pub mod file;
mod indexes;

pub use file::{CachePolicy, RunConfig, SourcesConfig};
pub use indexes::IndexUrls;

/// The public index, when neither depdash nor pip is configured with another.
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
    /// Lockfiles, and the dependency groups to check.
    Lockfiles(Vec<PathBuf>, crate::inventory::GroupSelection),
    /// Nothing given: $VIRTUAL_ENV, ./.venv, ./venv, or the current directory.
    Default,
}

/// Network settings.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NetworkSettings {
    /// Base URL of the PyPI JSON API: CLI, env, policy, pip's configured index, else the public
    /// one. `None` only when turned off with an empty URL: registry facts are then unknown.
    /// May carry credentials (`https://user:pass@host`): show it only through
    /// `sources::credentials::redact`. The run asks [`NetworkSettings::index_urls`].
    pub pypi_url: Option<String>,
    /// `pypi_url` was named for depdash (`--pypi-url`, `DEPDASH_PYPI_URL`, `[sources]`), so a
    /// requirements file's `--index-url` does not replace it.
    pub pypi_url_explicit: bool,
    /// Extra indexes' JSON API bases: pip's configured ones, then `--extra-index-url`.
    pub extra_index_urls: Vec<String>,
    /// `.netrc` logins, for index hosts whose URL carries no credentials.
    pub netrc: crate::sources::credentials::Netrc,
    /// Index settings from pip's configuration or `.netrc` that could not be used, and why
    /// (warnings of the run; passwords masked).
    pub index_warnings: Vec<String>,
    pub osv_url: String,
    pub osv_db: Option<PathBuf>,
    pub offline: bool,
    pub concurrency: Option<usize>,
    pub timeout: Option<Duration>,
    pub retries: Option<u32>,
    /// `--stall-timeout`, `--connect-timeout`, `--fetch-deadline` (defaults in `HttpConfig`).
    pub stall_timeout: Option<Duration>,
    pub connect_timeout: Option<Duration>,
    pub fetch_deadline: Option<Duration>,
    /// Certificate authorities to trust instead of the system's (see [`ca_bundle`]).
    pub ca_bundle: Option<CaBundle>,
}

/// A PEM bundle of trusted certificate authorities and where it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct CaBundle {
    /// The file or directory, and the setting that named it (`--cert`, `PIP_CERT`...).
    pub origin: String,
    pub pem: Vec<u8>,
}

/// Cache settings.
#[derive(Clone, Debug, PartialEq)]
pub struct CacheSettings {
    pub enabled: bool,
    pub dir: Option<PathBuf>,
    pub redis_url: Option<String>,
    /// `DEPDASH_REDIS_KEY`: signs and verifies Redis entries; Redis is skipped without it.
    pub redis_secret: Option<crate::cache::RedisSecret>,
    pub refresh: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    pub target: Target,
    pub policy: Policy,
    /// `[cache]`, `[performance]`, `[sources]` of the policy file.
    pub run: RunConfig,
    pub network: NetworkSettings,
    pub cache: CacheSettings,
    pub check_vulnerabilities: bool,
    pub check_registry: bool,
    /// Ask the index for whole-project facts (latest version, PEP 792 status): only when
    /// `[health]` judges them; otherwise only the release's own facts. Both faces use the same
    /// setting, so the dashboard and `check` report the same facts.
    pub project_facts: bool,
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
        } else if !args.lockfiles.is_empty() {
            Target::Lockfiles(
                args.lockfiles.clone(),
                crate::inventory::GroupSelection {
                    only: args.groups.clone(),
                    no_dev: args.no_dev,
                },
            )
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

        let (policy, run) = match &args.config {
            Some(file) => {
                // A FIFO or device is read (and refused) by `policy::load`, with its kind named.
                if !file.exists() {
                    return Err(Error::Usage(format!(
                        "{}: policy file not found",
                        file.display()
                    )));
                }
                load_file(file)?
            }
            None => match policy::discover(&project_dir(&target)) {
                Some(file) => load_file(&file)?,
                None => (Policy::default(), RunConfig::default()),
            },
        };

        let sources = &run.sources;
        let duration_flag = |flag: &str, value: &Option<String>| {
            value
                .as_deref()
                .map(|text| {
                    crate::units::parse_duration(text).ok_or_else(|| {
                        Error::Usage(format!(
                            "--{flag} {text}: expected a duration such as 10s or 2m"
                        ))
                    })
                })
                .transpose()
        };
        let timeout = duration_flag("timeout", &args.timeout)?.or(sources.timeout);
        let stall_timeout = duration_flag("stall-timeout", &args.stall_timeout)?;
        let connect_timeout = duration_flag("connect-timeout", &args.connect_timeout)?;
        let fetch_deadline = duration_flag("fetch-deadline", &args.fetch_deadline)?;
        let concurrency = args.concurrency.or(sources.concurrency);
        if concurrency == Some(0) {
            return Err(Error::Usage("--concurrency must be at least 1".into()));
        }
        // An explicitly empty URL turns the index off (registry facts become unknown).
        let pypi_url_explicit = args.pypi_url.is_some() || sources.pypi_url.is_some();
        let pip_env = PipEnv::from_process();
        let (extra_index_urls, mut index_warnings) = indexes::extra_index_urls(
            &args.extra_index_urls,
            std::env::var("PIP_EXTRA_INDEX_URL").ok().as_deref(),
            &pip_env.configs,
        )?;
        let (netrc, netrc_warning) = indexes::load_netrc();
        index_warnings.extend(netrc_warning);
        let pypi_url = match args.pypi_url.clone().or_else(|| sources.pypi_url.clone()) {
            Some(url) if url.trim().is_empty() => None,
            Some(url) => Some(url),
            None => Some(pip_index_base(&pip_env).unwrap_or_else(|| DEFAULT_PYPI_URL.to_string())),
        };
        let osv_url = args
            .osv_url
            .clone()
            .or_else(|| sources.osv_url.clone())
            .unwrap_or_else(|| DEFAULT_OSV_URL.to_string());
        if let Some(url) = &pypi_url {
            validate_base_url("--pypi-url", url)?;
        }
        validate_base_url("--osv-url", &osv_url)?;
        // Offline, the database `depdash db update` downloaded serves when none is named.
        let osv_db = args
            .osv_db
            .clone()
            .or_else(|| sources.osv_db.clone())
            .or_else(|| {
                let downloaded = crate::sources::osv_download::database_path(
                    &crate::cache::resolve_dir(args.cache_dir.as_deref()).ok()?,
                );
                (args.offline && !args.no_vulnerabilities && downloaded.is_file())
                    .then_some(downloaded)
            });
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

        let project_facts = policy.health.needs_project_facts();
        let ca_bundle = ca_bundle(args.cert.as_deref(), &PipEnv::from_process())?;
        Ok(Settings {
            target,
            network: NetworkSettings {
                pypi_url: pypi_url.map(|u| u.trim_end_matches('/').to_string()),
                pypi_url_explicit,
                extra_index_urls,
                netrc,
                index_warnings,
                osv_url: osv_url.trim_end_matches('/').to_string(),
                osv_db,
                offline: args.offline,
                concurrency,
                timeout,
                retries: args.retries.or(sources.retries),
                stall_timeout,
                connect_timeout,
                fetch_deadline,
                ca_bundle,
            },
            cache: CacheSettings {
                enabled: !args.no_cache,
                dir: args.cache_dir.clone(),
                redis_url: args
                    .redis_url
                    .clone()
                    .or_else(|| sources.redis_url.clone())
                    .filter(|u| !u.is_empty()),
                redis_secret: std::env::var(crate::cache::RedisSecret::ENV)
                    .ok()
                    .as_deref()
                    .and_then(crate::cache::RedisSecret::new),
                refresh: args.refresh,
            },
            policy,
            run,
            check_vulnerabilities: !args.no_vulnerabilities,
            check_registry: !args.no_registry,
            project_facts,
            fail_on_regression: args.fail_on_regression,
            history_file,
        })
    }

    /// The policy as the files say now: the same file as at start, or (when there was none)
    /// one that has appeared in the project directory since, e.g. written by the dashboard.
    pub fn reload_policy(&self) -> Result<Policy> {
        let file = self
            .policy
            .path
            .clone()
            .or_else(|| policy::discover(&project_dir(&self.target)));
        Ok(match file {
            Some(file) => policy::load(&file)?,
            None => Policy::default(),
        })
    }

    /// A short human description of the target, for headers.
    pub fn target_label(&self) -> String {
        match &self.target {
            Target::Path(p) => p.display().to_string(),
            Target::Python(p) => format!("python {}", p.display()),
            Target::Requirements(files) | Target::Lockfiles(files, _) => {
                crate::inventory::join_paths(files)
            }
            Target::Default => "current environment".to_string(),
        }
    }
}

/// The policy and the run settings of one file, with every problem of both reported at once.
pub fn load_file(path: &Path) -> Result<(Policy, RunConfig), PolicyErrors> {
    let text = crate::config::read(path)?;
    let pyproject = crate::config::is_pyproject(path);
    match (
        policy::parse(&text, path, pyproject),
        file::parse(&text, path, pyproject),
    ) {
        (Ok(policy), Ok(run)) => Ok((policy, run)),
        (Err(a), Err(b)) => Err(a.merge(b)),
        (Err(e), _) | (_, Err(e)) => Err(e),
    }
}

/// The directory where a policy file is looked for: the project directory the target names.
pub fn project_dir(target: &Target) -> PathBuf {
    let cwd = || std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    match target {
        Target::Path(p) if p.is_dir() => p.clone(),
        Target::Path(p) => p.parent().map(Path::to_path_buf).unwrap_or_else(cwd),
        Target::Requirements(files) | Target::Lockfiles(files, _) => files
            .first()
            .and_then(|f| f.parent())
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .unwrap_or_else(cwd),
        Target::Python(_) | Target::Default => cwd(),
    }
}

/// Where pip's configuration may be found, captured so tests can supply their own.
struct PipEnv {
    index_url: Option<String>,
    /// The texts of pip's config files that could be read, in pip's order (later wins): read
    /// once, for the index, the extra indexes and the certificate setting.
    configs: Vec<String>,
    /// `(variable, value)` of the certificate variables set, in pip's order of precedence.
    cert_vars: Vec<(&'static str, String)>,
}

impl PipEnv {
    fn from_process() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let mut config_files: Vec<PathBuf> =
            vec!["/etc/pip.conf".into(), "/etc/xdg/pip/pip.conf".into()];
        if let Some(home) = var("HOME").map(PathBuf::from) {
            config_files.push(home.join(".pip/pip.conf"));
            config_files.push(home.join(".config/pip/pip.conf"));
        }
        if let Some(venv) = var("VIRTUAL_ENV").map(PathBuf::from) {
            config_files.push(venv.join("pip.conf"));
        }
        match var("PIP_CONFIG_FILE").map(PathBuf::from) {
            // pip: `PIP_CONFIG_FILE=os.devnull` turns every configuration file off.
            Some(file) if file == Path::new("/dev/null") => config_files.clear(),
            Some(file) => config_files.push(file),
            None => {}
        }
        let cert_vars = [
            "PIP_CERT",
            "REQUESTS_CA_BUNDLE",
            "SSL_CERT_FILE",
            "SSL_CERT_DIR",
        ]
        .into_iter()
        .filter_map(|name| var(name).map(|value| (name, value)))
        .collect();
        PipEnv {
            index_url: var("PIP_INDEX_URL"),
            configs: read_pip_configs(&config_files),
            cert_vars,
        }
    }
}

/// The texts of `files` that are regular, readable and small (a FIFO or a device in pip's
/// config paths is skipped without blocking), in order.
fn read_pip_configs(files: &[PathBuf]) -> Vec<String> {
    files
        .iter()
        .filter_map(|f| {
            crate::safe_fs::read_regular_text(f, crate::safe_fs::limits::SMALL_FILE).ok()
        })
        .map(|(text, _)| text)
        .collect()
}

impl PipEnv {}

/// The JSON API base of the index pip is configured to use (`PIP_INDEX_URL`, else `index-url`
/// in pip's config files, later files winning as in pip), so a private index configured for pip
/// is also depdash's default. `https://host/simple/` → `https://host`.
fn pip_index_base(env: &PipEnv) -> Option<String> {
    let configured = (env.index_url.clone()).or_else(|| {
        env.configs
            .iter()
            .rev()
            .find_map(|text| ini_index_url(text))
    })?;
    Some(indexes::json_api_base(&configured))
}

/// `index-url` (or `index_url`) from the `[global]` or `[install]` section of a pip config.
fn ini_index_url(text: &str) -> Option<String> {
    ini_value(text, &["index-url", "index_url"])
}

/// The last of `keys` in the `[global]` or `[install]` section of a pip config.
fn ini_value(text: &str, keys: &[&str]) -> Option<String> {
    let mut section = String::new();
    let mut found = None;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') && line.ends_with(']') {
            section = line[1..line.len() - 1].trim().to_ascii_lowercase();
        } else if matches!(section.as_str(), "global" | "install")
            && let Some((key, value)) = line.split_once(['=', ':'])
            && keys.contains(&key.trim())
        {
            found = Some(value.trim().to_string());
        }
    }
    found
}

/// The CA bundle the process's settings name (`cert` as given, then pip's variables and config
/// files), for commands that are not a check run (`db update`).
pub fn ca_bundle_for(cert: Option<&Path>) -> Result<Option<CaBundle>> {
    ca_bundle(cert, &PipEnv::from_process())
}

/// The CA bundle to trust, as pip finds it: `--cert`, `PIP_CERT`, pip.conf `cert`, then
/// requests' `REQUESTS_CA_BUNDLE`, then OpenSSL's `SSL_CERT_FILE` / `SSL_CERT_DIR` (every
/// `.pem`/`.crt` file in it). `None`: the system's roots. A named file that cannot be read is a
/// usage error: silently trusting the system instead would hide the misconfiguration.
fn ca_bundle(cli: Option<&Path>, env: &PipEnv) -> Result<Option<CaBundle>> {
    let from_env = |name: &str| {
        env.cert_vars
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(n, v)| (n.to_string(), PathBuf::from(v)))
    };
    let from_config = || {
        (env.configs.iter().rev())
            .find_map(|text| ini_value(text, &["cert"]))
            .map(|v| ("pip.conf cert".to_string(), PathBuf::from(v)))
    };
    let chosen = cli
        .map(|p| ("--cert".to_string(), p.to_path_buf()))
        .or_else(|| from_env("PIP_CERT"))
        .or_else(from_config)
        .or_else(|| from_env("REQUESTS_CA_BUNDLE"))
        .or_else(|| from_env("SSL_CERT_FILE"))
        .or_else(|| from_env("SSL_CERT_DIR"));
    let Some((setting, path)) = chosen else {
        return Ok(None);
    };
    let unreadable = |e: crate::safe_fs::ReadError| {
        Error::Usage(format!(
            "{setting} {}: cannot read the CA bundle: {e}",
            path.display()
        ))
    };
    let pem = if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&path)
            .map_err(|e| unreadable(e.into()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "pem" || x == "crt"))
            .collect();
        files.sort();
        let mut pem = Vec::new();
        for file in files {
            pem.extend(read_ca_file(&file).map_err(unreadable)?);
            pem.push(b'\n');
        }
        pem
    } else {
        read_ca_file(&path).map_err(unreadable)?
    };
    Ok(Some(CaBundle {
        origin: format!("{setting} {}", path.display()),
        pem,
    }))
}

/// One CA file: regular files only (a FIFO named by a setting must not hang the run, a device
/// must not fill memory), capped.
fn read_ca_file(path: &Path) -> std::result::Result<Vec<u8>, crate::safe_fs::ReadError> {
    crate::safe_fs::read_regular(path, crate::safe_fs::limits::CA_BUNDLE)
}

/// An http(s) URL with a host; the error shows it with its password masked.
fn validate_base_url(flag: &str, url: &str) -> Result<()> {
    let shown = crate::sources::credentials::redact(url);
    match reqwest::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(()),
        Ok(_) => Err(Error::Usage(format!(
            "{flag} {shown}: expected an http(s) URL such as https://index.example.com"
        ))),
        Err(e) => Err(Error::Usage(format!("{flag} {shown}: {e}"))),
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
        assert_eq!(s.network.pypi_url.as_deref(), Some("http://mirror.local"));
        assert_eq!(s.network.osv_url, "http://127.0.0.1:9");
        assert_eq!(s.network.concurrency, Some(4));
        assert!(s.policy.path.is_some());
        let s = resolve(&["depdash", "--no-history", "-r", "/nonexistent/req.txt"]).unwrap();
        assert_eq!(s.network.osv_url, DEFAULT_OSV_URL);
        assert_eq!(s.history_file, None);
        let s = resolve(&["depdash", "--no-history", "-r", "/r.txt", "--pypi-url", ""]).unwrap();
        assert_eq!(s.network.pypi_url, None, "an empty URL turns the index off");
    }

    #[test]
    fn pip_configuration_supplies_the_default_index() {
        let dir = tempfile::tempdir().unwrap();
        let global = dir.path().join("pip.conf");
        let user = dir.path().join("user.conf");
        std::fs::write(&global, "[global]\nindex-url = https://a.example/simple/\n").unwrap();
        std::fs::write(&user, "[install]\nindex_url: https://b.example/pypi/simple\n[list]\nindex-url = https://no.example\n").unwrap();
        let env = |index_url: Option<&str>, files: Vec<PathBuf>| PipEnv {
            index_url: index_url.map(String::from),
            configs: read_pip_configs(&files),
            cert_vars: Vec::new(),
        };
        assert_eq!(
            pip_index_base(&env(None, vec![global.clone()])).as_deref(),
            Some("https://a.example")
        );
        // Later files win, as in pip; [list] is not an install setting.
        assert_eq!(
            pip_index_base(&env(None, vec![global.clone(), user.clone()])).as_deref(),
            Some("https://b.example/pypi")
        );
        // The environment variable wins over files.
        assert_eq!(
            pip_index_base(&env(Some("https://c.example/simple"), vec![global])).as_deref(),
            Some("https://c.example")
        );
        assert_eq!(
            pip_index_base(&env(None, vec![dir.path().join("missing")])),
            None
        );
    }

    #[test]
    fn a_ca_bundle_that_is_a_fifo_or_a_device_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("ca.pem");
        crate::safe_fs::mkfifo(&fifo);
        let env = PipEnv {
            index_url: None,
            configs: Vec::new(),
            cert_vars: Vec::new(),
        };
        for (path, why) in [
            (fifo.as_path(), "is a FIFO"),
            (Path::new("/dev/zero"), "is a character device"),
        ] {
            let Err(Error::Usage(message)) = ca_bundle(Some(path), &env) else {
                panic!("{} was read", path.display());
            };
            assert!(
                message.contains("cannot read the CA bundle") && message.contains(why),
                "{message}"
            );
        }
    }

    #[test]
    fn ca_bundle_is_found_as_pip_finds_it() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            path
        };
        let cli = write("cli.pem", "cli");
        let pip_cert = write("pip.pem", "pip");
        let requests = write("requests.pem", "requests");
        let conf = write(
            "pip.conf",
            &format!(
                "[global]\ncert = {}\n",
                dir.path().join("conf.pem").display()
            ),
        );
        write("conf.pem", "conf");
        let certs = dir.path().join("certs");
        std::fs::create_dir(&certs).unwrap();
        std::fs::write(certs.join("b.crt"), "b").unwrap();
        std::fs::write(certs.join("a.pem"), "a").unwrap();
        std::fs::write(certs.join("ignored.txt"), "x").unwrap();
        let env = |vars: &[(&'static str, &Path)], files: Vec<PathBuf>| PipEnv {
            index_url: None,
            configs: read_pip_configs(&files),
            cert_vars: vars
                .iter()
                .map(|(n, p)| (*n, p.display().to_string()))
                .collect(),
        };
        let pem = |cli: Option<&Path>, env: PipEnv| {
            ca_bundle(cli, &env)
                .unwrap()
                .map(|b| String::from_utf8(b.pem).unwrap())
        };
        let all = [
            ("PIP_CERT", pip_cert.as_path()),
            ("REQUESTS_CA_BUNDLE", requests.as_path()),
        ];
        assert_eq!(
            pem(Some(&cli), env(&all, vec![conf.clone()])).as_deref(),
            Some("cli")
        );
        assert_eq!(
            pem(None, env(&all, vec![conf.clone()])).as_deref(),
            Some("pip")
        );
        assert_eq!(
            pem(None, env(&all[1..], vec![conf.clone()])).as_deref(),
            Some("conf")
        );
        assert_eq!(
            pem(None, env(&all[1..], vec![])).as_deref(),
            Some("requests")
        );
        assert_eq!(
            pem(None, env(&[("SSL_CERT_DIR", certs.as_path())], vec![])).as_deref(),
            Some("a\nb\n")
        );
        assert_eq!(pem(None, env(&[], vec![])), None);
        let missing = dir.path().join("missing.pem");
        let err = ca_bundle(None, &env(&[("PIP_CERT", missing.as_path())], vec![])).unwrap_err();
        assert!(err.to_string().contains("PIP_CERT"), "{err}");
        assert!(err.to_string().contains("missing.pem"), "{err}");
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
            Err(Error::Policy(e)) => assert_eq!(e.first().line, 2),
            other => panic!("expected a policy error, got {other:?}"),
        }
    }
}
