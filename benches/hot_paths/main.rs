//! Hot-path benchmarks (divan): `cargo bench --bench hot_paths`.

mod sources;

fn main() {
    divan::main();
}
mod cache;
