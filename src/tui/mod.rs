//! The interactive terminal dashboard: renders engine events and metrics, turns keys into
//! intents (re-run, quit, write a policy exception).

pub mod action;
pub mod app;
pub mod deps;
pub mod exceptions;
pub mod keymap;
pub mod theme;
pub mod upgrade;

#[cfg(test)]
mod testdata;
