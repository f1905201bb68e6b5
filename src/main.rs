//! The `depdash` binary: parse the command line, run, turn errors into messages and exit codes.

use std::process::ExitCode;

use std::io::Write as _;

use clap::Parser;

/// mimalloc, not glibc's malloc: a warm 10,000-package run spends much of its time allocating
/// (decoded cache answers, the report) on several threads, which glibc served from one arena
/// (one arena kept its peak RSS down) under one lock. Options below keep its RSS as low.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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

/// mimalloc's defaults commit its arenas whole and give freed memory back after a second: a
/// warm 10,000-package run peaked at 87-124 MiB instead of 61-64 (glibc, one arena). Committed
/// as used and purged at once, the peak is glibc's (measured) and the user CPU ~20 % lower.
/// Set before `main`, from the ELF constructors: the runtime's first allocation (before `main`)
/// already reserves the first arena. A `MIMALLOC_*` variable in the environment still decides.
#[cfg(target_os = "linux")]
#[used]
#[unsafe(link_section = ".init_array")]
static ALLOCATOR_OPTIONS: extern "C" fn() = allocator_options;

#[cfg(target_os = "linux")]
extern "C" fn allocator_options() {
    // Option numbers of mimalloc.h, which libmimalloc-sys leaves unnamed.
    const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
    const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    let options = [
        (ARENA_EAGER_COMMIT, c"MIMALLOC_ARENA_EAGER_COMMIT"),
        (PURGE_DELAY, c"MIMALLOC_PURGE_DELAY"),
    ];
    for (option, variable) in options {
        // getenv, not std::env: nothing may allocate before the options are set.
        // SAFETY: a NUL-terminated name; no thread exists yet, so nothing writes the environment.
        if unsafe { libc::getenv(variable.as_ptr()) }.is_null() {
            // SAFETY: sets an allocator option before any thread is started.
            unsafe { libmimalloc_sys::mi_option_set(option, 0) };
        }
    }
}
