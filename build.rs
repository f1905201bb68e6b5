//! Build script: the license matcher's library, compiled from the SPDX templates once per build
//! (`license_library.bin` in `OUT_DIR`, see `src/checks/licenses/matcher/library.rs`); and one
//! value, `LICENSE_RESOLVER_BUILD`, a hash of the license resolver's source and the SPDX
//! templates. The run snapshot stores resolved licenses under it, so an answer
//! worked out by another build of the resolver is never reused (a version number would miss
//! changes between releases). Cargo also sets the value in the environment of `cargo test`
//! runs, so it must not look like a `DEPDASH_*` setting (tests skip when one is set).

use std::fs;
use std::path::{Path, PathBuf};

// The same source the crate compiles: the library is built here exactly as the matcher would.
#[allow(dead_code)]
#[path = "src/checks/licenses/matcher/library.rs"]
mod library;
#[allow(dead_code)]
#[path = "src/checks/licenses/normalize.rs"]
mod normalize;

const INPUTS: &[&str] = &["src/checks/licenses", "assets/licenses"];

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn main() {
    let templates = fs::read_to_string("assets/licenses/templates.txt")
        .expect("assets/licenses/templates.txt is part of the source");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let compiled = library::encode(&library::compile(&templates));
    fs::write(out.join("license_library.bin"), compiled).expect("OUT_DIR is writable");
    let mut paths = Vec::new();
    for input in INPUTS {
        println!("cargo:rerun-if-changed={input}");
        files(Path::new(input), &mut paths);
    }
    paths.sort();
    // FNV-1a, 64 bits: no build dependency, and collisions are not a threat here (both sides
    // are builds of this source).
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for path in &paths {
        let bytes = fs::read(path).unwrap_or_default();
        for byte in path.to_string_lossy().bytes().chain([0]).chain(bytes) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    println!(
        "cargo:rustc-env=LICENSE_RESOLVER_BUILD={}-{hash:016x}",
        env!("CARGO_PKG_VERSION")
    );
}
