//! Dispatch of a parsed command line: picks the face (dashboard or headless), runs the engine,
//! renders the report, and decides the exit code. `main.rs` only adds error printing.

use std::io::{IsTerminal, Write as _};
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
        Some(Command::Why { package, mut run }) => {
            // Paths need only the inventory: no advisory or index queries.
            run.no_vulnerabilities = true;
            run.no_registry = true;
            crate::inspect::why(&headless_report(&run)?, &package)
        }
        Some(Command::Fix(args)) => crate::inspect::fix(&headless_report(&args)?),
        Some(Command::Licenses { notice, mut run }) => {
            run.no_vulnerabilities = true;
            crate::inspect::notice(&headless_report(&run)?, &notice)
        }
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
        Some(Command::Completions { shell }) => crate::commands::completions(shell),
        Some(Command::Db { action, cache_dir }) => {
            let _log = crate::logging::init_stderr(0, false);
            runtime()?.block_on(crate::commands::db(action, cache_dir.as_deref()))
        }
        Some(Command::SynthEnv { dir, count, seed }) => {
            crate::commands::synth_env(&dir, count, seed)
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    build_runtime(tokio::runtime::Builder::new_multi_thread())
}

/// The runtime for one headless run: offline there is no network work to spread over worker
/// threads (file-system work goes to the blocking pool either way), so one thread saves
/// starting the workers.
fn runtime_for(settings: &Settings) -> Result<tokio::runtime::Runtime> {
    if settings.network.offline {
        build_runtime(tokio::runtime::Builder::new_current_thread())
    } else {
        runtime()
    }
}

fn build_runtime(mut builder: tokio::runtime::Builder) -> Result<tokio::runtime::Runtime> {
    builder
        .enable_all()
        .build()
        .map_err(|e| Error::Engine(format!("cannot start the async runtime: {e}")))
}

/// Headless check: report to stdout (or `--output`), exit code from the outcome.
pub fn check(args: &RunArgs) -> Result<ExitCode> {
    if args.watch {
        return check_watch(args);
    }
    let report = headless_report(args)?;
    emit_report(&report, args)?;
    let code = ExitCode::from(report.summary.exit_code);
    // The process ends now: freeing the report string by string (10,000 packages) would only
    // delay the exit.
    std::mem::forget(report);
    Ok(code)
}

/// `check --watch`: a report per change until Ctrl-C; the exit code is the last report's.
fn check_watch(args: &RunArgs) -> Result<ExitCode> {
    let _log = crate::logging::init_stderr(args.verbose, args.quiet);
    let settings = Arc::new(Settings::resolve(args)?);
    let runtime = runtime()?;
    let last = runtime.block_on(async {
        let options = crate::engine::EngineOptions {
            watch_inputs: true,
            request_events: false,
        };
        let handle = crate::engine::spawn_with(settings.clone(), options);
        // emit_report flushes stdout, so a pipe stays current report by report.
        crate::headless::watch(handle, args.progress, args.quiet, |report| {
            emit_report(report, args)
        })
        .await
    });
    runtime.shutdown_background();
    Ok(ExitCode::from(last?.map_or(
        crate::model::Outcome::Incomplete.exit_code(),
        |r| r.summary.exit_code,
    )))
}

/// One headless run of the engine, logging and progress on stderr.
fn headless_report(args: &RunArgs) -> Result<Report> {
    let _log = crate::logging::init_stderr(args.verbose, args.quiet);
    let settings = Arc::new(Settings::resolve(args)?);
    let runtime = runtime_for(&settings)?;
    let report = runtime.block_on(async {
        let handle = crate::engine::spawn(settings.clone());
        crate::headless::run(handle, args.progress, args.quiet).await
    });
    // Never wait for abandoned blocking work (a name lookup stuck in getaddrinfo): the report
    // is ready, so the process may end now.
    runtime.shutdown_background();
    report
}

/// Write the report where the user asked, in the format asked.
fn emit_report(report: &Report, args: &RunArgs) -> Result<()> {
    match &args.output {
        Some(path) => {
            crate::output::write_to_file(report, args.format, path)?;
            if !args.quiet {
                // The report went to a file: say where, and the verdict, so a CI log shows it.
                let _ = writeln!(std::io::stderr(), "{}", summary_line(report, path));
            }
            Ok(())
        }
        // A closed pipe (`depdash check | head`) is an error: the report is incomplete.
        None => crate::commands::to_stdout(|out| crate::output::render(report, args.format, out)),
    }
}

/// The one line on stderr when the report went to a file.
fn summary_line(report: &Report, path: &std::path::Path) -> String {
    let s = &report.summary;
    let outcome = match s.outcome {
        crate::model::Outcome::Clean => "clean",
        crate::model::Outcome::Violations => "violations",
        crate::model::Outcome::Incomplete => "incomplete",
    };
    format!(
        "depdash: {outcome} ({} packages, {} violations, {} warnings, {} unknown); report written to {}",
        s.packages,
        s.violations,
        s.warnings,
        s.unknowns,
        path.display()
    )
}

/// The dashboard: the engine in background tasks, the TUI in front.
pub fn dashboard(args: &RunArgs) -> Result<ExitCode> {
    let log = crate::logging::init_file(args.verbose);
    let settings = Arc::new(Settings::resolve(args)?);
    let runtime = runtime_for(&settings)?;
    let report = runtime.block_on(async {
        let options = crate::engine::EngineOptions {
            watch_inputs: true,
            request_events: true,
        };
        let handle = crate::engine::spawn_with(settings.clone(), options);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Code, Finding, Severity, TargetInfo};

    #[test]
    fn summary_line_names_the_verdict_the_counts_and_the_file() {
        let findings = vec![Finding::new(Code::PackageDenied, Severity::Error, "no")];
        let report = Report::new(TargetInfo::default(), None, vec![], findings, vec![]);
        assert_eq!(
            summary_line(&report, std::path::Path::new("out/r.json")),
            "depdash: violations (0 packages, 1 violations, 0 warnings, 0 unknown); report written to out/r.json"
        );
    }
}
