//! Health of each release: yanked, outdated, stale (from the package index).
