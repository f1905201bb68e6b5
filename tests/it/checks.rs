//! Policy checks on real package metadata and license texts.

use depdash::checks::licenses;

use crate::support::license_fixtures::{dist_info, license_metadata, root};

#[test]
fn dump_all() {
    let mut names: Vec<String> = std::fs::read_dir(root())
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for n in names {
        let meta = license_metadata(&n);
        let r = licenses::resolve(&meta, Some(&dist_info(&n)));
        println!(
            "== {n}: {:?} [{:?}] evidence={:?}\n   reason={:?}",
            r.expression, r.source, r.evidence, r.unknown_reason
        );
        for note in &r.notes {
            println!("   note: {note}");
        }
    }
}
