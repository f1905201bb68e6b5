//! depdash: tells a Python team, in seconds, whether its dependencies are healthy — approved,
//! licensed as the policy allows, free of known vulnerabilities, not yanked or abandoned.
//!
//! One engine ([`engine`]) with two faces: the terminal dashboard ([`tui`]) and the headless
//! `check` for CI ([`output`]).

pub mod analysis;
pub mod app;
pub mod cache;
pub mod checks;
pub mod cli;
pub mod commands;
pub mod config;
pub mod engine;
pub mod error;
pub mod fingerprint;
pub mod headless;
pub mod inspect;
pub mod inventory;
pub mod logging;
pub mod model;
pub mod output;
pub mod parallel;
pub mod pep508;
pub mod perf;
pub mod policy;
pub mod safe_fs;
pub mod settings;
pub mod sources;
pub mod telemetry;
pub mod term_text;
pub mod tui;
pub mod units;

pub use error::{Error, Result};
