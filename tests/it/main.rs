//! Integration tests: one binary, real files, real processes, real sockets on loopback.
mod cache;
mod checks;
mod inventory;
mod perf;
mod sources;
mod support;
