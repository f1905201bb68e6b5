//! Hot-path benchmarks (divan): `cargo bench --bench hot_paths`.

mod cache;
mod inventory;
mod licenses;
mod perf;
mod report;
mod sources;

fn main() {
    divan::main();
}
