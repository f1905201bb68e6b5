//! Logging: to stderr when headless, to a daily-rolling file when the dashboard owns the screen
//! (logs must never draw over it).

use std::path::PathBuf;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

/// Keeps the file writer alive; dropping it flushes.
pub struct LogGuard {
    _worker: Option<WorkerGuard>,
    /// The log file, in dashboard mode.
    pub file: Option<PathBuf>,
}

fn filter(verbosity: u8) -> EnvFilter {
    let default = match verbosity {
        0 => "warn",
        1 => "info,depdash=debug",
        _ => "debug",
    };
    EnvFilter::try_from_env("DEPDASH_LOG").unwrap_or_else(|_| EnvFilter::new(default))
}

/// Headless: human-oriented lines on stderr; with `quiet`, errors only whatever `DEPDASH_LOG`
/// says.
pub fn init_stderr(verbosity: u8, quiet: bool) -> LogGuard {
    let filter = if quiet {
        EnvFilter::new("error")
    } else {
        filter(verbosity)
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .without_time()
        .try_init();
    LogGuard {
        _worker: None,
        file: None,
    }
}

/// Dashboard: a daily-rolling file under the platform state (or data) directory.
pub fn init_file(verbosity: u8) -> LogGuard {
    let Some(dir) = log_dir() else {
        return LogGuard {
            _worker: None,
            file: None,
        };
    };
    if std::fs::create_dir_all(&dir).is_err() {
        return LogGuard {
            _worker: None,
            file: None,
        };
    }
    let appender = tracing_appender::rolling::daily(&dir, "depdash.log");
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter(verbosity.max(1)))
        .with_writer(writer)
        .with_ansi(false)
        .try_init();
    LogGuard {
        _worker: Some(guard),
        file: Some(dir.join("depdash.log.<date>")),
    }
}

fn log_dir() -> Option<PathBuf> {
    let dirs = directories::ProjectDirs::from("", "", "depdash")?;
    Some(
        dirs.state_dir()
            .unwrap_or_else(|| dirs.data_local_dir())
            .join("logs"),
    )
}
