//! The `depdash` binary: parse the command line, run, turn errors into messages and exit codes.

use std::process::ExitCode;

use std::io::Write as _;

use clap::Parser;

fn main() -> ExitCode {
    depdash::perf::mark_process_start();
    let cli = depdash::cli::Cli::parse();
    match depdash::app::run(cli) {
        Ok(code) => code,
        Err(e) => {
            // Error messages quote file names and file contents: never raw to the terminal.
            // Not eprintln!: a closed stderr must not turn an error into a panic.
            let _ = writeln!(
                std::io::stderr(),
                "depdash: error: {}",
                depdash::term_text::clean_lines(&e.to_string())
            );
            ExitCode::from(depdash::app::exit_code(&e))
        }
    }
}
