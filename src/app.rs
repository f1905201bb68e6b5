//! Dispatch of a parsed command line: picks the face (dashboard or headless), runs the engine,
//! renders the report, and decides the exit code. `main.rs` only adds error printing.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;

use crate::cli::{Cli, Command, RunArgs};
use crate::error::{Error, Result};
use crate::model::Report;
use crate::settings::Settings;

/// Exit code for usage and input errors.
pub const EXIT_USAGE: u8 = 2;
/// Exit code for a run that failed on its own (terminal, engine): nothing was judged.
pub const EXIT_FAILED: u8 = 4;

/// The exit code for an error that ended the program.
pub fn exit_code(error: &Error) -> u8 {
    if error.is_input_error() {
        EXIT_USAGE
    } else {
        EXIT_FAILED
    }
}

/// Run a parsed command line to completion.
pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        None => {
            if std::io::stdout().is_terminal() && std::io::stdin().is_terminal() {
                dashboard(&cli.run)
            } else {
                check(&cli.run)
            }
        }
        Some(Command::Check(args)) => check(&args),
        Some(Command::Tui(args)) => dashboard(&args),
        Some(Command::Cache {
            action,
            cache_dir,
            history_file,
        }) => crate::commands::cache(action, cache_dir.as_deref(), history_file.as_deref()),
        Some(Command::History {
            limit,
            format,
            history_file,
        }) => crate::commands::history(limit, format, history_file.as_deref()),
        Some(Command::SynthEnv { dir, count, seed }) => {
            crate::commands::synth_env(&dir, count, seed)
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Engine(format!("cannot start the async runtime: {e}")))
}

/// Headless check: report to stdout (or `--output`), exit code from the outcome.
pub fn check(args: &RunArgs) -> Result<ExitCode> {
    let _log = crate::logging::init_stderr(args.verbose);
    let settings = Arc::new(Settings::resolve(args)?);
    let runtime = runtime()?;
    if args.watch {
        let last = runtime.block_on(async {
            let handle = crate::engine::spawn_with(settings.clone(), true);
            crate::headless::watch(handle, args.progress, |report| {
                emit_report(report, args)?;
                // Keep the output of a pipe current, report by report.
                use std::io::Write;
                let _ = std::io::stdout().flush();
                Ok(())
            })
            .await
        });
        runtime.shutdown_background();
        return Ok(ExitCode::from(
            last?.map_or(crate::model::Outcome::Incomplete.exit_code(), |r| {
                r.summary.exit_code
            }),
        ));
    }
    let report = runtime.block_on(async {
        let handle = crate::engine::spawn(settings.clone());
        crate::headless::run(handle, args.progress).await
    });
    // Never wait for abandoned blocking work (a name lookup stuck in getaddrinfo): the report
    // is ready, so the process may end now.
    runtime.shutdown_background();
    let report = report?;
    emit_report(&report, args)?;
    Ok(ExitCode::from(report.summary.exit_code))
}

/// Write the report where the user asked, in the format asked.
fn emit_report(report: &Report, args: &RunArgs) -> Result<()> {
    match &args.output {
        Some(path) => Ok(crate::output::write_to_file(report, args.format, path)?),
        None => {
            let stdout = std::io::stdout();
            let mut lock = stdout.lock();
            match crate::output::render(report, args.format, &mut lock) {
                Ok(()) => Ok(()),
                // A closed pipe (`depdash check | head`) is not an error worth a message.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                Err(e) => Err(Error::io("<stdout>", e)),
            }
        }
    }
}

/// The dashboard: the engine in background tasks, the TUI in front.
pub fn dashboard(args: &RunArgs) -> Result<ExitCode> {
    let log = crate::logging::init_file(args.verbose);
    let settings = Arc::new(Settings::resolve(args)?);
    let runtime = runtime()?;
    let report = runtime.block_on(async {
        let handle = crate::engine::spawn_with(settings.clone(), true);
        crate::tui::run(handle, settings.clone(), log.file.clone()).await
    });
    runtime.shutdown_background();
    let report = report?;
    if let Some(report) = &report
        && args.output.is_some()
    {
        emit_report(report, args)?;
    }
    // Quitting before any run finished: nothing was checked, which is never clean.
    Ok(ExitCode::from(
        report
            .map(|r| r.summary.exit_code)
            .unwrap_or(crate::model::Outcome::Incomplete.exit_code()),
    ))
}
