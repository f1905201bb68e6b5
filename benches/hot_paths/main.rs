//! Hot-path benchmarks (divan): `cargo bench --bench hot_paths`.

mod licenses;

fn main() {
    divan::main();
}
