//! Small subcommands around the engine: `cache`, `history`, `synth-env`.

use std::path::Path;
use std::process::ExitCode;

use crate::cli::{CacheAction, Format};
use crate::error::{Error, Result};

pub fn cache(_action: CacheAction, _dir: Option<&Path>) -> Result<ExitCode> {
    Err(Error::Usage("cache: not wired yet".into()))
}

pub fn history(_limit: usize, _format: Format) -> Result<ExitCode> {
    Err(Error::Usage("history: not wired yet".into()))
}

pub fn synth_env(_dir: &Path, _count: usize, _seed: u64) -> Result<ExitCode> {
    Err(Error::Usage("synth-env: not wired yet".into()))
}
