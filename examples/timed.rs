//! Runs a command and measures it alone, for `scripts/bench.sh`: writes its wall time in
//! milliseconds (a monotonic clock read just before the spawn and just after `wait4`) and its
//! peak RSS in KiB (`wait4`'s rusage of that one child) to OUT, then exits with the command's
//! exit code (128 + the signal when a signal ended it).
//!
//! ```text
//! cargo run --release --example timed -- OUT COMMAND [ARG...]
//! ```
//!
//! Why not `date` before and after plus `/usr/bin/time`: three more processes started inside
//! the measured interval, ~3–4 ms of a ~130 ms run on the development machine (`date` around
//! `/bin/true` measured 2.9–3.5 ms). Why not Python: a child spawned from a process shares its
//! memory until `exec`, and its peak RSS then starts at the spawner's (~13 MiB for Python).

use std::ffi::OsString;
use std::process::{Command, ExitCode};
use std::time::Instant;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let (Some(out), Some(program)) = (args.next(), args.next()) else {
        eprintln!("usage: timed OUT COMMAND [ARG...]");
        return ExitCode::from(2);
    };
    let rest: Vec<OsString> = args.collect();
    let start = Instant::now();
    let child = match Command::new(&program).args(&rest).spawn() {
        Ok(child) => child,
        Err(e) => {
            eprintln!("timed: cannot run {}: {e}", program.to_string_lossy());
            return ExitCode::from(127);
        }
    };
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child by pid; status and usage are valid for writes. The
    // `Child` is never waited for through std afterwards (it is only dropped).
    let waited = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    let wall = start.elapsed();
    if waited < 0 {
        eprintln!("timed: wait4: {}", std::io::Error::last_os_error());
        return ExitCode::from(2);
    }
    let line = format!("{:.1} {}\n", wall.as_secs_f64() * 1000.0, usage.ru_maxrss);
    if let Err(e) = std::fs::write(&out, line) {
        eprintln!("timed: cannot write {}: {e}", out.to_string_lossy());
        return ExitCode::from(2);
    }
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    };
    ExitCode::from(code as u8)
}
