//! Analysis of a finished report that both faces use: why a package is installed (dependency
//! paths from what the user asked for), the smallest upgrade that clears its advisories, the
//! fix that the package's dependents and the policy accept, and what to do about data a source
//! left unknown.
//! Pure functions of the report's data; no engine, no terminal.

pub mod paths;
pub mod remedy;
pub mod upgrade;

pub use paths::{DependencyGraph, dependency_paths};
pub use upgrade::{
    Constraint, DependentConstraints, dependent_constraints, find_fix, smallest_clearing_upgrade,
    upgrade_advice,
};
