//! Command-line types (clap). Parsing only; `settings` turns them into validated `Settings`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  clean: no violations, nothing unknown that policy says fails the run
  1  policy violations (wins over 3: a violation is definite)
  2  usage or input error (bad flags, invalid policy file, unreadable environment)
  3  incomplete: data that could not be read or fetched, and policy says unknown fails
  4  the run failed on its own (terminal, internal error): nothing was judged

Environment: DEPDASH_PYPI_URL, DEPDASH_OSV_URL, DEPDASH_OSV_DB, DEPDASH_CACHE_DIR,
DEPDASH_REDIS_URL, DEPDASH_CONCURRENCY, DEPDASH_CONFIG (CLI > env > policy file > defaults).";

#[derive(Parser, Debug)]
#[command(
    name = "depdash",
    version,
    about = "Is this Python environment's dependency set healthy? Licenses, approvals, known vulnerabilities, yanked and stale releases.",
    long_about = "depdash reads the installed distributions straight from site-packages (or pinned requirements files), resolves licenses to SPDX, checks them and the packages against your policy, and looks up known vulnerabilities (OSV) and registry health (PyPI) in bulk, with a multi-level cache.\n\nOn a terminal, `depdash` opens the dashboard; otherwise (or with `depdash check`) it runs headless.",
    after_help = EXIT_CODES_HELP
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the checks headless and print a report (for CI and pytest).
    #[command(after_help = EXIT_CODES_HELP)]
    Check(RunArgs),
    /// Open the interactive dashboard.
    Tui(RunArgs),
    /// Why is PKG installed? Every dependency path from the top-level packages to it.
    Why {
        /// The package (any spelling of its name).
        #[arg(value_name = "PKG")]
        package: String,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Print ready-to-run `pip install` and `uv add` lines that upgrade every vulnerable package
    /// to its fix (exit 1 when some vulnerable package has none).
    Fix(RunArgs),
    /// License notices for the legal team.
    Licenses {
        /// Write every package's name, version, SPDX expression and license texts to FILE.
        #[arg(long, value_name = "FILE")]
        notice: PathBuf,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Inspect or maintain the local cache.
    Cache {
        #[command(subcommand)]
        action: CacheAction,
        /// Cache directory. Default: the platform cache directory.
        #[arg(long, global = true, env = "DEPDASH_CACHE_DIR", value_name = "DIR")]
        cache_dir: Option<PathBuf>,
        /// Run history file (for the hit rates of recent runs).
        #[arg(
            long,
            global = true,
            env = "DEPDASH_HISTORY",
            value_name = "FILE",
            hide = true
        )]
        history_file: Option<PathBuf>,
    },
    /// Maintain the offline OSV database that `--offline` uses.
    Db {
        #[command(subcommand)]
        action: DbAction,
        /// Cache directory the database is kept in. Default: the platform cache directory.
        #[arg(long, global = true, env = "DEPDASH_CACHE_DIR", value_name = "DIR")]
        cache_dir: Option<PathBuf>,
    },
    /// Show recent runs (timings, hit rates) from the run history.
    History {
        /// How many runs to show.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Output format.
        #[arg(long, value_enum, default_value_t = HistoryFormat::Text)]
        format: HistoryFormat,
        /// Run history file. Default: in the platform data directory.
        #[arg(long, env = "DEPDASH_HISTORY", value_name = "FILE", hide = true)]
        history_file: Option<PathBuf>,
    },
    /// Print a shell completion script, e.g. `depdash completions bash > ~/.local/share/bash-completion/completions/depdash`.
    Completions {
        /// The shell to complete in.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write a synthetic site-packages tree (benchmarks and demos).
    #[command(hide = true)]
    SynthEnv {
        dir: PathBuf,
        #[arg(long, default_value_t = 200)]
        count: usize,
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
}

#[derive(Subcommand, Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheAction {
    /// Location, entries, size, and hit rates of recent runs.
    Stats,
    /// Remove every entry.
    Clear,
    /// Remove expired entries.
    Prune,
}

#[derive(Subcommand, Debug, Clone, PartialEq, Eq)]
pub enum DbAction {
    /// Download OSV's PyPI database (all.zip), verified, into the cache directory; a re-run
    /// asks the server only whether it changed (ETag).
    Update {
        /// Base URL of the OSV data bucket; `/PyPI/all.zip` is appended.
        #[arg(
            long,
            env = "DEPDASH_OSV_DB_URL",
            value_name = "URL",
            default_value = crate::sources::osv_download::DEFAULT_BASE_URL
        )]
        url: String,
        /// Refuse a larger download, e.g. 512MB.
        #[arg(long, value_name = "SIZE", default_value = "1GiB")]
        max_size: String,
        /// Longest wait for the next part of the download, e.g. 60s.
        #[arg(long, value_name = "DURATION", default_value = "60s")]
        timeout: String,
        /// PEM bundle of the certificate authorities to trust instead of the system's, as for
        /// `check` (also `PIP_CERT`, pip.conf `cert`, `REQUESTS_CA_BUNDLE`, `SSL_CERT_FILE`,
        /// `SSL_CERT_DIR`). Proxies: `HTTPS_PROXY` / `NO_PROXY`, as for `check`.
        #[arg(long, value_name = "FILE")]
        cert: Option<PathBuf>,
    },
}

pub use crate::output::Format;

/// Formats of `depdash history`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HistoryFormat {
    #[default]
    Text,
    Json,
}

#[derive(Args, Debug, Clone, Default)]
pub struct RunArgs {
    /// Project directory (uses .venv/ or venv/ inside it), a virtualenv, or a site-packages
    /// directory. Default: $VIRTUAL_ENV, else ./.venv or ./venv, else the current directory if
    /// it is an environment, else the `python3` on PATH.
    #[arg(value_name = "PATH")]
    pub path: Option<PathBuf>,

    /// Inventory the environment of this Python interpreter.
    #[arg(long, value_name = "EXE", conflicts_with_all = ["path", "requirements"])]
    pub python: Option<PathBuf>,

    /// Inventory pinned requirements files instead of an installed environment (repeatable).
    #[arg(
        short = 'r',
        long = "requirements",
        value_name = "FILE",
        conflicts_with = "path"
    )]
    pub requirements: Vec<PathBuf>,

    /// Inventory lockfiles instead (repeatable): uv.lock, poetry.lock, pylock.toml, Pipfile.lock.
    #[arg(long = "lock", value_name = "FILE", conflicts_with_all = ["path", "requirements"])]
    pub lockfiles: Vec<PathBuf>,

    /// Check the main dependencies plus only this dependency group of the lockfile (repeatable;
    /// PEP 735 includes are followed). [default: every locked package]
    #[arg(long = "group", value_name = "NAME", requires = "lockfiles")]
    pub groups: Vec<String>,

    /// Leave out the development group (`dev`; Pipfile.lock's `develop`).
    #[arg(long, requires = "lockfiles")]
    pub no_dev: bool,

    /// Policy file (depdash.toml, or a pyproject.toml with [tool.depdash]).
    /// Default: depdash.toml or pyproject.toml in the project directory.
    #[arg(long, env = "DEPDASH_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Write the report to FILE instead of stdout (one summary line goes to stderr).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Base URL of the PyPI JSON API (a private index or mirror).
    /// [default: pip's configured index, else https://pypi.org]
    #[arg(long, env = "DEPDASH_PYPI_URL", value_name = "URL")]
    pub pypi_url: Option<String>,

    /// An extra package index, as pip's `--extra-index-url` (repeatable): `https://host/simple`
    /// or the JSON API base; `https://user:pass@host/...` for credentials. Added to those of
    /// `PIP_EXTRA_INDEX_URL` (whitespace separated) or pip.conf `extra-index-url`.
    #[arg(long = "extra-index-url", value_name = "URL")]
    pub extra_index_urls: Vec<String>,

    /// Base URL of the OSV API. [default: https://api.osv.dev]
    #[arg(long, env = "DEPDASH_OSV_URL", value_name = "URL")]
    pub osv_url: Option<String>,

    /// Offline OSV database: a directory of OSV JSON files or OSV's PyPI all.zip.
    /// [default with --offline: the one `depdash db update` downloaded, when present]
    #[arg(long, env = "DEPDASH_OSV_DB", value_name = "PATH")]
    pub osv_db: Option<PathBuf>,

    /// Make no network call at all (cache and --osv-db only; stale cache entries are used).
    #[arg(long)]
    pub offline: bool,

    /// PEM bundle of the certificate authorities to trust instead of the system's, as pip's
    /// `--cert` (also `PIP_CERT`, pip.conf `cert`, `REQUESTS_CA_BUNDLE`, `SSL_CERT_FILE`,
    /// `SSL_CERT_DIR`, in that order).
    #[arg(long, value_name = "FILE")]
    pub cert: Option<PathBuf>,

    /// Most HTTP requests in flight at once per host: connections on HTTP/1.1, streams on
    /// HTTP/2 (as ALPN agreed with the host). [default: 32 on HTTP/1.1, 100 on HTTP/2]
    #[arg(long, env = "DEPDASH_CONCURRENCY", value_name = "N")]
    pub concurrency: Option<usize>,

    /// Per-request timeout, e.g. 20s. [default: 20s]
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,

    /// Most time a host may go without sending anything (first byte, or 1 KiB of body), e.g. 4s.
    /// [default: 4s]
    #[arg(long, env = "DEPDASH_STALL_TIMEOUT", value_name = "DURATION")]
    pub stall_timeout: Option<String>,

    /// Connection set-up timeout (name lookup included), e.g. 3s. [default: 3s]
    #[arg(long, env = "DEPDASH_CONNECT_TIMEOUT", value_name = "DURATION")]
    pub connect_timeout: Option<String>,

    /// Bound on the whole fetch of a run, e.g. 120s: past it, what is not fetched is unknown.
    /// [default: 120s]
    #[arg(long, env = "DEPDASH_FETCH_DEADLINE", value_name = "DURATION")]
    pub fetch_deadline: Option<String>,

    /// Retries per request (on timeouts, connection errors, 429 and 5xx only). [default: 3]
    #[arg(long, value_name = "N")]
    pub retries: Option<u32>,

    /// Cache directory. Default: the platform cache directory.
    #[arg(long, env = "DEPDASH_CACHE_DIR", value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,

    /// Shared Redis cache for a fleet of CI runners, e.g. redis://127.0.0.1:6379/0.
    #[arg(long, env = "DEPDASH_REDIS_URL", value_name = "URL")]
    pub redis_url: Option<String>,

    /// Disable every cache level.
    #[arg(long)]
    pub no_cache: bool,

    /// Ignore cached answers (still writes fresh ones).
    #[arg(long)]
    pub refresh: bool,

    /// Skip the vulnerability check (no OSV queries).
    #[arg(long)]
    pub no_vulnerabilities: bool,

    /// Skip registry health (no PyPI queries): yanked, outdated, stale.
    #[arg(long)]
    pub no_registry: bool,

    /// Exit 1 when this run is more than the threshold slower than its baseline.
    #[arg(long)]
    pub fail_on_regression: bool,

    /// Run history file. Default: in the platform data directory.
    #[arg(long, env = "DEPDASH_HISTORY", value_name = "FILE", hide = true)]
    pub history_file: Option<PathBuf>,

    /// Do not record this run in the history.
    #[arg(long)]
    pub no_history: bool,

    /// Keep running: re-check (from the cache) when a distribution is installed, upgraded or
    /// removed, or a requirements/lock/policy file changes, and print the report again; ends on
    /// Ctrl-C. The dashboard always watches.
    #[arg(long)]
    pub watch: bool,

    /// Progress on stderr: auto (when stderr is a terminal), always, never.
    #[arg(long, value_enum, default_value_t = ProgressMode::Auto)]
    pub progress: ProgressMode,

    /// Nothing on stderr but errors: no progress, warnings or summary line.
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,

    /// More log output on stderr (headless) or in the log file (dashboard).
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProgressMode {
    #[default]
    Auto,
    Always,
    Never,
}
