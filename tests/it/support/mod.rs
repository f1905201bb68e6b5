//! Shared test support: fixture builders and loopback servers.

pub mod python;
pub mod site_packages;
