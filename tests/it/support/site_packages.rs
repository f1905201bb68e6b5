//! Building throwaway site-packages trees from the real fixtures, and wheels to install.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// `tests/fixtures/<rel>`.
pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

/// The real site-packages fixture tree.
pub fn real_site_packages() -> PathBuf {
    fixture("site-packages-real")
}

/// A temp project: the real fixture as `site-packages/` and a policy denying MPL-2.0 (which the
/// fixture has) with unknown licenses allowed, so the dashboard has a violation to show.
pub fn real_project_denying_mpl() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&real_site_packages(), &dir.path().join("site-packages"));
    std::fs::write(
        dir.path().join("depdash.toml"),
        "[licenses]\ndeny = [\"MPL-2.0\"]\nunknown = \"allow\"\n",
    )
    .unwrap();
    dir
}

/// `(name, version)` of every distribution in the real fixture, as `pip list` recorded them.
pub fn real_packages() -> Vec<(String, String)> {
    let listed: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(real_site_packages().with_extension("pip-list.json")).unwrap(),
    )
    .unwrap();
    listed
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["version"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Copy a file or directory tree.
pub fn copy_tree(from: &Path, to: &Path) {
    if from.is_dir() {
        fs::create_dir_all(to).unwrap();
        for entry in fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            copy_tree(&entry.path(), &to.join(entry.file_name()));
        }
    } else {
        if let Some(parent) = to.parent() {
            fs::create_dir_all(parent).unwrap();
        }
        fs::copy(from, to).unwrap();
    }
}

/// Copy one entry of the real fixture tree into `site`, optionally under another name.
pub fn copy_real(site: &Path, entry: &str, as_name: Option<&str>) -> PathBuf {
    let to = site.join(as_name.unwrap_or(entry));
    copy_tree(&real_site_packages().join(entry), &to);
    to
}

/// A `*.dist-info` with the given METADATA bytes.
pub fn dist_info(site: &Path, dir_name: &str, metadata: &[u8]) -> PathBuf {
    let dir = site.join(dir_name);
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("METADATA"), metadata).unwrap();
    dir
}

/// A pure-Python wheel built from a fixture `*.dist-info` (its METADATA and license files),
/// installable offline with `pip install --no-index`.
pub fn wheel_from_fixture(out_dir: &Path, fixture_dist_info: &Path) -> PathBuf {
    let dir_name = fixture_dist_info
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let stem = dir_name.trim_end_matches(".dist-info");
    let (name, _version) = stem.split_once('-').unwrap();
    let wheel_path = out_dir.join(format!("{stem}-py3-none-any.whl"));
    let file = fs::File::create(&wheel_path).unwrap();
    let mut zip = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default();
    let mut record = Vec::new();
    let mut add = |zip: &mut zip::ZipWriter<fs::File>, path: String, bytes: &[u8]| {
        zip.start_file(path.as_str(), options).unwrap();
        zip.write_all(bytes).unwrap();
        record.push(format!("{path},,"));
    };
    add(
        &mut zip,
        format!("{}_fixture/__init__.py", name.to_lowercase()),
        b"",
    );
    let mut files = Vec::new();
    collect_files(fixture_dist_info, fixture_dist_info, &mut files);
    for rel in files {
        if [
            "RECORD",
            "INSTALLER",
            "REQUESTED",
            "WHEEL",
            "direct_url.json",
        ]
        .contains(&rel.as_str())
        {
            continue;
        }
        let bytes = fs::read(fixture_dist_info.join(&rel)).unwrap();
        add(&mut zip, format!("{dir_name}/{rel}"), &bytes);
    }
    add(
        &mut zip,
        format!("{dir_name}/WHEEL"),
        b"Wheel-Version: 1.0\nGenerator: depdash-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    );
    record.push(format!("{dir_name}/RECORD,,"));
    zip.start_file(format!("{dir_name}/RECORD"), options)
        .unwrap();
    zip.write_all((record.join("\n") + "\n").as_bytes())
        .unwrap();
    zip.finish().unwrap();
    wheel_path
}

fn collect_files(root: &Path, dir: &Path, out: &mut Vec<String>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_files(root, &path, out);
        } else {
            out.push(
                path.strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/"),
            );
        }
    }
}
