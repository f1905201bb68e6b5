//! Skipping a test that cannot run on this machine, honestly: the reason is printed, and when
//! `DEPDASH_TEST_SKIP_FILE` names a file (`.ci/run` sets it), a line `test-name: reason` is
//! appended there, so the CI summary counts the test as skipped instead of passed.

use std::io::Write;

/// Environment variable naming the file skip records go to.
pub const SKIP_FILE_ENV: &str = "DEPDASH_TEST_SKIP_FILE";

/// Record that the running test is skipped because of `reason`; the caller then returns.
/// The test's name is its thread's name (libtest names each test thread after its test).
pub fn skip(reason: &str) {
    let thread = std::thread::current();
    let name = thread.name().unwrap_or("unnamed test");
    println!("skipped: {reason}");
    let Some(path) = std::env::var_os(SKIP_FILE_ENV) else {
        return;
    };
    // One write per line with O_APPEND: concurrent tests do not interleave within a line.
    let line = format!("{name}: {}\n", reason.replace('\n', " "));
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| f.write_all(line.as_bytes()));
    if let Err(e) = written {
        panic!("cannot record the skip in {}: {e}", path.to_string_lossy());
    }
}
