//! Shared test support: fixture builders and loopback servers.
pub mod redis;
pub mod registry;
pub mod python;
pub mod site_packages;
