//! Hot-path benchmarks (divan): `cargo bench --bench hot_paths`.

fn main() {
    divan::main();
}

mod inventory;
