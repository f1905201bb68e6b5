//! The `depdash` binary: parse the command line, run, turn errors into messages and exit codes.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    depdash::perf::mark_process_start();
    let cli = depdash::cli::Cli::parse();
    match depdash::app::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("depdash: error: {e}");
            ExitCode::from(depdash::app::exit_code(&e))
        }
    }
}
