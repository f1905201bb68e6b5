//! Analysis of a finished report that both faces use: why a package is installed (dependency
//! paths from what the user asked for) and the smallest upgrade that clears its advisories.
//! Pure functions of the report's data; no engine, no terminal.

pub mod paths;
pub mod upgrade;

pub use paths::dependency_paths;
pub use upgrade::{smallest_clearing_upgrade, upgrade_advice};
