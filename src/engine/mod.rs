//! The engine: runs inventory, fetches, caching and checks on tokio and reports through events.
//! Knows nothing about terminals.

pub mod events;
