//! Policy checks. One module per check, each turning inventory and fetched facts into findings
//! (violations and warnings) and unknowns, with stable finding codes.

pub mod health;
pub mod licenses;
pub mod packages;
pub mod vulnerabilities;

use crate::model::{Finding, Unknown};

/// What one check produced.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CheckOutput {
    pub findings: Vec<Finding>,
    pub unknowns: Vec<Unknown>,
}

impl CheckOutput {
    pub fn extend(&mut self, other: CheckOutput) {
        self.findings.extend(other.findings);
        self.unknowns.extend(other.unknowns);
    }
}
