//! Integration tests: one binary, real files, real processes, real sockets on loopback.

mod cache;
mod perf;
mod sources;
mod inventory;
mod support;
