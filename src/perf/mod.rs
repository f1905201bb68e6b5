//! depdash measuring itself: per-operation timings, run history and regression detection.

pub mod history;
pub mod regression;
pub mod tracker;
