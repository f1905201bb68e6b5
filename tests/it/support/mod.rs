//! Shared test support: fixture builders and loopback servers.

pub mod license_fixtures;
