//! Tiered cache: L1 memory (moka) -> L2 file -> L3 Redis, integrity-checked, with counters.
