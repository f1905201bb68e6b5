//! Vulnerability policy: ignores (alias-aware, expiring), severity threshold, unknown status.
