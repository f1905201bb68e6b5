//! Integration tests: one binary, real files, real processes, real sockets on loopback.
mod adversarial_local;
mod adversarial_net;
mod architecture;
mod cache;
mod checks;
mod cli;
mod engine;
mod fuzz_local;
mod inventory;
mod license_corpus;
mod license_texts;
mod perf;
mod schema;
mod sources;
mod support;
mod tui;
