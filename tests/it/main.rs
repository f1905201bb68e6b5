//! Integration tests: one binary, real files, real processes, real sockets on loopback.

mod checks;
mod support;
