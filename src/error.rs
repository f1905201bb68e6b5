//! The crate's error type. Library code returns these; only `main.rs` turns them into messages
//! and exit codes (2 for usage and input errors).

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Wrong command-line usage or an impossible combination of options.
    #[error("{0}")]
    Usage(String),

    /// An invalid policy file (points at file, line and column).
    #[error(transparent)]
    Policy(#[from] crate::policy::PolicyError),

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

    /// Nothing to inventory: no environment found where one was expected.
    #[error("{0}")]
    NoEnvironment(String),

    /// A Python interpreter could not be run or answered nonsense.
    #[error("python interpreter {}: {message}", path.display())]
    Interpreter { path: PathBuf, message: String },

    /// The terminal could not be set up or restored.
    #[error("terminal: {0}")]
    Terminal(String),

    /// A run failed; the message is already complete (it came from the engine as text).
    #[error("{0}")]
    Run(String),

    /// The engine stopped without a report (a task panicked or was cancelled).
    #[error("engine: {0}")]
    Engine(String),
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
