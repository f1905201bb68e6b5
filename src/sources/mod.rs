//! Remote and offline data sources: one HTTP layer (retries, breaker, bound), PyPI, OSV, offline OSV db.
