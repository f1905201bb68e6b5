//! The crate's error type: each lower layer's typed error, kept whole up to the command layer,
//! which alone turns it into a message and an exit code (`app::exit_code`).

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Wrong command-line usage or an impossible combination of options.
    #[error("{0}")]
    Usage(String),

    /// An invalid policy file (points at file, line and column).
    #[error(transparent)]
    Policy(#[from] crate::config::PolicyErrors),

    /// A file or directory that had to be read could not be.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// Input that could not be understood at all (the run cannot be trusted).
    #[error("{}{}: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Input {
        path: PathBuf,
        line: Option<usize>,
        message: String,
    },

    /// Nothing to inventory, an interpreter that failed, an unreadable requirements or lockfile.
    #[error(transparent)]
    Inventory(#[from] crate::inventory::InventoryError),

    /// The cache directory cannot be found or used.
    #[error("cache: {0}")]
    Cache(#[from] crate::cache::CacheError),

    /// The run history cannot be found or read.
    #[error(transparent)]
    History(#[from] crate::perf::history::HistoryError),

    /// The report could not be written where asked.
    #[error(transparent)]
    Output(#[from] crate::output::WriteError),

    /// Standard output could not be written: closed early (`depdash … | head`) or broken. The
    /// output is incomplete, so this is an error, not a quiet success.
    #[error("{}", stdout_message(.0))]
    Stdout(#[source] std::io::Error),

    /// `depdash db update` could not download or verify the database (the copy in place, if
    /// any, is untouched).
    #[error("OSV database: {0}")]
    Download(#[from] crate::sources::osv_download::DownloadError),

    /// The terminal could not be set up, drawn on or restored.
    #[error("terminal: {0}")]
    Terminal(String),

    /// The run itself failed: the async runtime, a task that panicked or was cancelled, a
    /// client that could not be built. Not the user's input; nothing was judged.
    #[error("engine: {0}")]
    Engine(String),
}

fn stdout_message(error: &std::io::Error) -> String {
    if error.kind() == std::io::ErrorKind::BrokenPipe {
        "stdout was closed before all the output was written".to_string()
    } else {
        format!("cannot write to stdout: {error}")
    }
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// True for errors in what the user gave (flags, policy, files, environment): exit 2.
    /// False for a run that failed on its own (terminal, engine).
    pub fn is_input_error(&self) -> bool {
        match self {
            Error::Usage(_)
            | Error::Policy(_)
            | Error::Io { .. }
            | Error::Input { .. }
            | Error::Inventory(_)
            | Error::Cache(_)
            | Error::History(_)
            | Error::Output(_)
            | Error::Stdout(_) => true,
            Error::Terminal(_) | Error::Engine(_) | Error::Download(_) => false,
        }
    }
}
