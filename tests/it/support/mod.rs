//! Shared test support: fixture builders and loopback servers.
pub mod bin;
pub mod cache_entries;
pub mod files;
pub mod license_fixtures;
pub mod proxy;
pub mod python;
pub mod redis;
pub mod registry;
pub mod release_corpus;
pub mod site_packages;
pub mod skip;
pub mod wire;
