//! Inventory: real metadata fixtures, broken variants, requirements files, and a real venv
//! compared with `pip list`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use depdash::inventory::{
    self, Inventory, InventoryError, InventoryIssue, InventorySource, requirements,
    scan_site_packages, synthetic,
};
use depdash::model::{Distribution, Origin};
use depdash::telemetry::tracker::Tracker;

use crate::support::python::{pip_list, python3, run, venv_python};
use crate::support::site_packages::{
    copy_real, copy_tree, dist_info, fixture, real_site_packages, wheel_from_fixture,
};

fn scan(dirs: &[PathBuf]) -> Inventory {
    scan_site_packages(dirs, &Tracker::new())
}

fn scan_one(dir: &Path) -> Inventory {
    scan(&[dir.to_path_buf()])
}

/// The copy of `normalized` that pip lists.
fn find<'a>(inv: &'a Inventory, normalized: &str) -> &'a Distribution {
    inv.distributions
        .iter()
        .find(|d| d.normalized == normalized && !d.shadowed)
        .unwrap_or_else(|| panic!("{normalized} not in {:?}", names(inv)))
}

/// What `pip list` shows: every distribution but the shadowed copies (listed and checked too).
fn names(inv: &Inventory) -> Vec<(String, String)> {
    let mut pairs: Vec<_> = inv
        .distributions
        .iter()
        .filter(|d| !d.shadowed)
        .map(|d| (d.name.clone(), d.version.clone()))
        .collect();
    pairs.sort();
    pairs
}

fn issues_about<'a>(inv: &'a Inventory, path_part: &str) -> Vec<&'a InventoryIssue> {
    inv.issues
        .iter()
        .filter(|i| i.path.to_string_lossy().contains(path_part))
        .collect()
}

fn pip_list_fixture(name: &str) -> Vec<(String, String)> {
    let text = fs::read_to_string(fixture(name)).unwrap();
    let listed: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    let mut pairs: Vec<_> = listed
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_string(),
                e["version"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    pairs.sort();
    pairs
}

// ---------------------------------------------------------------------------------------------
// Real metadata

#[test]
fn real_fixture_tree_lists_what_pip_listed() {
    let inv = scan_one(&real_site_packages());
    assert_eq!(
        names(&inv),
        pip_list_fixture("site-packages-real.pip-list.json")
    );
    assert!(inv.issues.is_empty(), "{:#?}", inv.issues);
    let sorted: Vec<_> = inv.distributions.iter().map(|d| &d.normalized).collect();
    let mut expected = sorted.clone();
    expected.sort();
    assert_eq!(sorted, expected, "sorted by normalized name");
    assert_eq!(inv.target.kind, "environment");
}

#[test]
fn pep639_expression_and_license_files_under_licenses_dir() {
    let inv = scan_one(&real_site_packages());
    let attrs = find(&inv, "attrs");
    assert_eq!(attrs.license.expression.as_deref(), Some("MIT"));
    assert_eq!(attrs.license.license_files, ["licenses/LICENSE"]);
    assert_eq!(attrs.origin, Origin::DistInfo);
    let location = attrs.location.as_ref().unwrap();
    for file in &attrs.license.license_files {
        assert!(location.join(file).is_file(), "{file} exists");
    }
    let crypto = find(&inv, "cryptography");
    assert_eq!(
        crypto.license.expression.as_deref(),
        Some("Apache-2.0 OR BSD-3-Clause")
    );
    assert_eq!(crypto.license.license_files.len(), 3);
    // Metadata 2.1: license files sit at the top of the dist-info.
    let pytz = find(&inv, "pytz");
    assert_eq!(pytz.license.license_files, ["LICENSE.txt"]);
    assert!(
        pytz.location
            .as_ref()
            .unwrap()
            .join("LICENSE.txt")
            .is_file()
    );
    assert_eq!(pytz.license.license_field.as_deref(), Some("MIT"));
}

#[test]
fn classifier_only_and_license_field_packages() {
    let inv = scan_one(&real_site_packages());
    let jinja = find(&inv, "jinja2");
    assert_eq!(jinja.name, "Jinja2");
    assert_eq!(jinja.license.expression, None);
    assert_eq!(jinja.license.license_field, None);
    assert_eq!(
        jinja.license.classifiers,
        ["License :: OSI Approved :: BSD License"]
    );
    assert_eq!(
        jinja.requires_dist,
        ["MarkupSafe>=2.0", "Babel>=2.7 ; extra == \"i18n\""]
    );
    let psycopg = find(&inv, "psycopg2-binary");
    assert_eq!(
        psycopg.license.license_field.as_deref(),
        Some("LGPL with exceptions")
    );
    let docutils = find(&inv, "docutils");
    assert!(docutils.license.classifiers.len() >= 2);
    assert!(
        docutils
            .license
            .classifiers
            .iter()
            .all(|c| c.starts_with("License ::"))
    );
}

#[test]
fn egg_info_directory_and_single_file() {
    let inv = scan_one(&real_site_packages());
    let docopt = find(&inv, "docopt");
    assert_eq!(docopt.origin, Origin::EggInfo);
    assert_eq!(docopt.version, "0.6.2");
    assert_eq!(docopt.license.license_field.as_deref(), Some("MIT"));
    assert_eq!(
        docopt.license.classifiers,
        ["License :: OSI Approved :: MIT License"]
    );
    let tiny = find(&inv, "tiny-legacy-util");
    assert_eq!(tiny.name, "tiny_legacy.util");
    assert_eq!(tiny.version, "1.0.post1");
    assert_eq!(tiny.origin, Origin::EggInfo);
    assert!(tiny.location.as_ref().unwrap().is_file());
    assert_eq!(tiny.license.license_field.as_deref(), Some("BSD"));
}

#[test]
fn long_license_text_is_kept_whole_and_the_body_is_ignored() {
    let tmp = tempfile::tempdir().unwrap();
    copy_tree(
        &fixture("metadata/numpy-1.26.4.dist-info"),
        &tmp.path().join("numpy-1.26.4.dist-info"),
    );
    let inv = scan_one(tmp.path());
    assert!(inv.issues.is_empty(), "{:#?}", inv.issues);
    let numpy = find(&inv, "numpy");
    assert_eq!(
        numpy.name, "numpy",
        "`Name: lapack-lite` inside License is text"
    );
    assert_eq!(numpy.version, "1.26.4");
    let license = numpy.license.license_field.as_deref().unwrap();
    assert!(license.starts_with(
        "Copyright (c) 2005-2023, NumPy Developers.\nAll rights reserved.\n\nRedistribution"
    ));
    assert!(license.contains("\nName: lapack-lite\nFiles: numpy/linalg/lapack_lite/*\n"));
    assert!(license.lines().count() > 40);
    // The 55 KB README body has `pip install` lines and more; nothing from it is read.
    assert!(numpy.requires_dist.is_empty());
    assert!(!license.contains("NumPy is the fundamental package"));
}

#[test]
fn egg_info_requires_come_from_pkg_info_else_from_requires_txt() {
    let tmp = tempfile::tempdir().unwrap();
    let modern = tmp.path().join("modern");
    let egg = copy_tree_to(
        &fixture("metadata/requests-2.31.0.egg-info"),
        &modern.join("requests-2.31.0-py3.11.egg-info"),
    );
    let inv = scan_one(&modern);
    let from_pkg_info = find(&inv, "requests").requires_dist.clone();
    assert_eq!(from_pkg_info.len(), 6);
    assert!(from_pkg_info.contains(&"PySocks!=1.5.7,>=1.5.6; extra == \"socks\"".to_string()));
    assert_eq!(
        find(&inv, "requests").license.license_field.as_deref(),
        Some("Apache 2.0")
    );

    // Older setuptools wrote no Requires-Dist into PKG-INFO: requires.txt is then the source,
    // converted the way pip converts it.
    let old = tmp.path().join("old");
    let old_egg = copy_tree_to(&egg, &old.join("requests-2.31.0-py3.11.egg-info"));
    let pkg_info = fs::read_to_string(old_egg.join("PKG-INFO")).unwrap();
    let stripped: String = pkg_info
        .lines()
        .filter(|l| !l.starts_with("Requires-Dist:"))
        .map(|l| format!("{l}\n"))
        .collect();
    fs::write(old_egg.join("PKG-INFO"), stripped).unwrap();
    let inv = scan_one(&old);
    assert_eq!(
        find(&inv, "requests").requires_dist,
        [
            "charset_normalizer<4,>=2",
            "idna<4,>=2.5",
            "urllib3<3,>=1.21.1",
            "certifi>=2017.4.17",
            "PySocks!=1.5.7,>=1.5.6 ; extra == \"socks\"",
            "chardet<6,>=3.0.2 ; extra == \"use-chardet-on-py3\""
        ]
    );
}

fn copy_tree_to(from: &Path, to: &Path) -> PathBuf {
    copy_tree(from, to);
    to.to_path_buf()
}

// ---------------------------------------------------------------------------------------------
// Broken and unusual trees

#[test]
fn broken_dist_infos_become_issues_and_the_rest_is_listed() {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path();
    copy_real(site, "six-1.17.0.dist-info", None);
    fs::create_dir_all(site.join("nometa-1.0.dist-info")).unwrap();
    dist_info(site, "empty-2.0.dist-info", b"");
    dist_info(
        site,
        "garbage-3.0.dist-info",
        b"\x7fELF\x02\x01\x01\x00\x00\x00 binary junk",
    );
    dist_info(
        site,
        "truncated-4.0.dist-info",
        b"Metadata-Version: 2.1\nName: truncated\nVers",
    );
    dist_info(
        site,
        "latin1-5.0.dist-info",
        b"Metadata-Version: 2.1\nName: latin1\nVersion: 5.0\nLicense: Copyright \xa9 Jos\xe9\n",
    );
    // An egg-info without PKG-INFO has no version anywhere: not listable.
    fs::create_dir_all(site.join("noversion.egg-info")).unwrap();

    let inv = scan_one(site);
    assert_eq!(
        names(&inv),
        [
            ("empty".to_string(), "2.0".to_string()),
            ("garbage".to_string(), "3.0".to_string()),
            ("latin1".to_string(), "5.0".to_string()),
            ("nometa".to_string(), "1.0".to_string()),
            ("six".to_string(), "1.17.0".to_string()),
            ("truncated".to_string(), "4.0".to_string()),
        ]
    );
    assert!(issues_about(&inv, "six-1.17.0").is_empty());
    let nometa = issues_about(&inv, "nometa-1.0.dist-info");
    assert!(
        nometa.iter().any(|i| i.message.contains("has no METADATA")),
        "{nometa:#?}"
    );
    assert!(
        issues_about(&inv, "empty-2.0.dist-info")
            .iter()
            .any(|i| i.message.contains("empty"))
    );
    assert!(
        issues_about(&inv, "garbage-3.0.dist-info")
            .iter()
            .any(|i| i.message.contains("does not start with"))
    );
    let truncated = issues_about(&inv, "truncated-4.0.dist-info");
    assert!(truncated.iter().any(|i| i.message.contains("line 3")));
    assert!(
        truncated
            .iter()
            .any(|i| i.message.contains("version taken from the directory name"))
    );
    let latin = issues_about(&inv, "latin1-5.0.dist-info");
    assert!(latin.iter().any(|i| i.message.contains("UTF-8")));
    assert!(
        find(&inv, "latin1")
            .license
            .license_field
            .as_deref()
            .unwrap()
            .contains('\u{fffd}')
    );
    let noversion = issues_about(&inv, "noversion.egg-info");
    assert!(
        noversion
            .iter()
            .any(|i| i.message.contains("not listed") && i.message.contains("version")),
        "{noversion:#?}"
    );
    // Every issue names its package or at least a path inside the tree.
    assert!(inv.issues.iter().all(|i| i.path.starts_with(site)));
}

#[test]
fn huge_header_is_capped_and_huge_body_is_not_read() {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path();
    let mut huge_header =
        b"Metadata-Version: 2.1\nName: hugehead\nVersion: 1.0\nLicense: x\n".to_vec();
    let filler =
        b"        0123456789012345678901234567890123456789012345678901234567890123456789\n";
    while huge_header.len() <= 17 * 1024 * 1024 {
        huge_header.extend_from_slice(filler);
    }
    dist_info(site, "hugehead-1.0.dist-info", &huge_header);
    let mut huge_body =
        b"Metadata-Version: 2.1\nName: hugebody\nVersion: 2.0\nLicense: MIT\n\n".to_vec();
    huge_body.resize(20 * 1024 * 1024, b'z');
    dist_info(site, "hugebody-2.0.dist-info", &huge_body);

    let inv = scan_one(site);
    assert_eq!(names(&inv).len(), 2);
    let head = issues_about(&inv, "hugehead");
    assert_eq!(head.len(), 1, "{head:#?}");
    assert!(head[0].message.contains("16 MiB"));
    assert!(issues_about(&inv, "hugebody").is_empty());
    assert_eq!(
        find(&inv, "hugebody").license.license_field.as_deref(),
        Some("MIT")
    );
}

#[test]
fn duplicates_keep_the_one_pip_keeps_and_report_the_other() {
    let tmp = tempfile::tempdir().unwrap();
    let first_dir = tmp.path().join("first");
    let second_dir = tmp.path().join("second");
    dist_info(
        &first_dir,
        "dup-1.0.dist-info",
        b"Name: dup\nVersion: 1.0\n",
    );
    dist_info(
        &first_dir,
        "Dup-1.1.dist-info",
        b"Name: Dup\nVersion: 1.1\n",
    );
    dist_info(
        &second_dir,
        "dup-2.0.dist-info",
        b"Name: dup\nVersion: 2.0\n",
    );

    // Within one directory pip keeps the first entry in directory order.
    let first_in_dir_order = fs::read_dir(&first_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .find(|n| n.to_lowercase().starts_with("dup-"))
        .unwrap();
    let expected_version = if first_in_dir_order.contains("1.0") {
        "1.0"
    } else {
        "1.1"
    };

    let inv = scan(&[first_dir.clone(), second_dir.clone()]);
    // Every copy is listed (and so checked); only the one pip keeps is not shadowed.
    assert_eq!(inv.distributions.len(), 3);
    let kept: Vec<_> = inv.distributions.iter().filter(|d| !d.shadowed).collect();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].version, expected_version);
    let dup_issues: Vec<_> = inv
        .issues
        .iter()
        .filter(|i| i.message.contains("duplicate"))
        .collect();
    assert_eq!(dup_issues.len(), 2, "{dup_issues:#?}");
    assert!(dup_issues.iter().any(|i| i.path.starts_with(&second_dir)));

    // The earlier directory on sys.path wins.
    let inv = scan(&[second_dir, first_dir]);
    let kept: Vec<_> = inv.distributions.iter().filter(|d| !d.shadowed).collect();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].version, "2.0");
}

#[test]
fn name_and_version_come_from_the_directory_like_pip() {
    let tmp = tempfile::tempdir().unwrap();
    dist_info(
        tmp.path(),
        "mismatch-1.0.dist-info",
        b"Name: mismatch\nVersion: 9.9\n",
    );
    dist_info(
        tmp.path(),
        "nodir_version.dist-info",
        b"Name: NoDir.Version\nVersion: 1.0-ALPHA1\n",
    );
    dist_info(
        tmp.path(),
        "noname-3.0.dist-info",
        b"Version: 3.0\nSummary: no name\n",
    );
    dist_info(
        tmp.path(),
        "~umpy-1.0.dist-info",
        b"Name: numpy\nVersion: 1.0\n",
    );
    dist_info(
        tmp.path(),
        "argparse-1.4.0.dist-info",
        b"Name: argparse\nVersion: 1.4.0\n",
    );

    let inv = scan_one(tmp.path());
    assert_eq!(
        names(&inv),
        [
            ("NoDir.Version".to_string(), "1.0a1".to_string()),
            ("mismatch".to_string(), "1.0".to_string()),
            ("noname".to_string(), "3.0".to_string()),
        ]
    );
    assert!(
        issues_about(&inv, "mismatch")
            .iter()
            .any(|i| i.message.contains("disagrees"))
    );
    assert!(
        issues_about(&inv, "noname")
            .iter()
            .any(|i| i.message.contains("no Name"))
    );
    assert!(
        issues_about(&inv, "~umpy")
            .iter()
            .any(|i| i.message.contains("not a valid project name"))
    );
    assert!(
        issues_about(&inv, "argparse")
            .iter()
            .any(|i| i.message.contains("standard library"))
    );
}

#[test]
fn pth_directories_and_egg_links_are_searched_after_their_site_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site-packages");
    let src = tmp.path().join("project/src");
    let legacy = tmp.path().join("legacy");
    dist_info(
        &site,
        "shadow-1.0.dist-info",
        b"Name: shadow\nVersion: 1.0\n",
    );
    dist_info(
        &src,
        "shadow-9.0.dist-info",
        b"Name: shadow\nVersion: 9.0\n",
    );
    dist_info(
        &src,
        "editable-0.1.dist-info",
        b"Name: editable\nVersion: 0.1\n",
    );
    fs::create_dir_all(legacy.join("oldstyle.egg-info")).unwrap();
    fs::write(
        legacy.join("oldstyle.egg-info/PKG-INFO"),
        "Metadata-Version: 1.1\nName: oldstyle\nVersion: 0.5\n",
    )
    .unwrap();
    fs::write(
        site.join("__editable__.editable-0.1.pth"),
        format!(
            "# comment\nimport sys; sys.path.append('/nowhere')\n{}\n../missing-dir\n",
            src.display()
        ),
    )
    .unwrap();
    fs::write(site.join("oldstyle.egg-link"), "../legacy\n.\n").unwrap();

    let inv = scan_one(&site);
    assert_eq!(
        names(&inv),
        [
            ("editable".to_string(), "0.1".to_string()),
            ("oldstyle".to_string(), "0.5".to_string()),
            ("shadow".to_string(), "1.0".to_string()),
        ]
    );
    assert_eq!(inv.target.site_packages.len(), 3, "{:?}", inv.target);
    assert!(
        issues_about(&inv, "shadow-9.0")
            .iter()
            .any(|i| i.message.contains("duplicate"))
    );
}

#[cfg(unix)]
#[test]
fn symlink_loops_are_issues_not_hangs() {
    use std::os::unix::fs::symlink;
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site");
    copy_real(&site, "idna-3.20.dist-info", None);
    symlink("loop-1.0.dist-info", site.join("loop-1.0.dist-info")).unwrap();
    symlink("a.egg-info", site.join("b.egg-info")).unwrap();
    symlink("b.egg-info", site.join("a.egg-info")).unwrap();
    fs::write(site.join("self.pth"), ".\n").unwrap();
    let looped_site = tmp.path().join("looped");
    symlink(&looped_site, &looped_site).unwrap();

    let inv = scan(&[site.clone(), looped_site.clone()]);
    // The looping dist-info is listed from its directory name (as pip names it), with an issue;
    // the looping egg-infos have no version anywhere and are issues only.
    assert_eq!(
        names(&inv),
        [
            ("idna".to_string(), "3.20".to_string()),
            ("loop".to_string(), "1.0".to_string())
        ]
    );
    assert!(
        issues_about(&inv, "loop-1.0.dist-info")
            .iter()
            .any(|i| i.message.contains("cannot read metadata"))
    );
    assert!(!issues_about(&inv, "a.egg-info").is_empty());
    assert!(
        inv.issues
            .iter()
            .any(|i| i.path == looped_site && i.message.contains("cannot open"))
    );
}

#[cfg(unix)]
#[test]
fn unreadable_directories_are_issues() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site");
    copy_real(&site, "idna-3.20.dist-info", None);
    let locked = copy_real(&site, "six-1.17.0.dist-info", None);
    let locked_site = tmp.path().join("locked-site");
    fs::create_dir_all(&locked_site).unwrap();
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
    fs::set_permissions(&locked_site, fs::Permissions::from_mode(0o000)).unwrap();
    let still_readable = fs::read_dir(&locked_site).is_ok();
    let inv = scan(&[site.clone(), locked_site.clone()]);
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o755)).unwrap();
    fs::set_permissions(&locked_site, fs::Permissions::from_mode(0o755)).unwrap();
    if still_readable {
        crate::support::skip::skip("running as root, permissions do not lock directories");
        return;
    }
    assert!(names(&inv).contains(&("idna".to_string(), "3.20".to_string())));
    assert!(
        issues_about(&inv, "six-1.17.0.dist-info")
            .iter()
            .any(|i| i.message.contains("cannot read metadata"))
    );
    assert!(
        inv.issues
            .iter()
            .any(|i| i.path == locked_site && i.message.contains("cannot list"))
    );
}

#[test]
fn tracker_times_locate_scan_and_each_metadata_file() {
    let tmp = tempfile::tempdir().unwrap();
    let venv = tmp.path().join(".venv");
    let site = venv.join("lib/python3.11/site-packages");
    copy_tree(&real_site_packages(), &site);
    fs::write(
        venv.join("pyvenv.cfg"),
        "home = /nonexistent/bin\ninclude-system-site-packages = false\nversion = 3.11.7\n",
    )
    .unwrap();
    let tracker = Tracker::new();
    let inv = inventory::load(&InventorySource::Path(tmp.path().to_path_buf()), &tracker).unwrap();
    assert_eq!(
        names(&inv),
        pip_list_fixture("site-packages-real.pip-list.json")
    );
    assert_eq!(inv.target.path, tmp.path().display().to_string());
    assert_eq!(inv.target.site_packages, [site.display().to_string()]);
    let snapshot = tracker.snapshot();
    assert_eq!(snapshot["inventory.locate"].count, 1);
    assert_eq!(snapshot["inventory.scan"].count, 1);
    assert_eq!(
        snapshot["metadata.parse"].count as usize,
        inv.distributions.len()
    );
}

#[test]
fn load_without_any_environment_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let err = inventory::load(
        &InventorySource::Path(tmp.path().to_path_buf()),
        &Tracker::new(),
    )
    .unwrap_err();
    assert!(matches!(err, InventoryError::NoEnvironment { .. }), "{err}");
    let err = inventory::load(
        &InventorySource::Python(tmp.path().join("bin/python3")),
        &Tracker::new(),
    )
    .unwrap_err();
    assert!(matches!(err, InventoryError::Interpreter { .. }), "{err}");
    assert!(err.to_string().contains("bin/python3"));
}

// ---------------------------------------------------------------------------------------------
// Synthetic environments

#[test]
fn synthetic_environment_is_deterministic_and_scans_cleanly() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let c = tempfile::tempdir().unwrap();
    synthetic::write_site_packages(a.path(), 150, 7).unwrap();
    synthetic::write_site_packages(b.path(), 150, 7).unwrap();
    synthetic::write_site_packages(c.path(), 150, 8).unwrap();
    let inv_a = scan_one(a.path());
    let inv_b = scan_one(b.path());
    let inv_c = scan_one(c.path());
    assert!(inv_a.issues.is_empty(), "{:#?}", inv_a.issues);
    assert_eq!(inv_a.distributions.len(), 150);
    assert_eq!(names(&inv_a), names(&inv_b));
    assert_ne!(names(&inv_a), names(&inv_c));

    // The mix the generator promises is there.
    let count =
        |f: &dyn Fn(&Distribution) -> bool| inv_a.distributions.iter().filter(|d| f(d)).count();
    assert!(count(&|d| d.license.expression.is_some()) > 20);
    assert!(count(&|d| d.origin == Origin::EggInfo) > 3);
    assert!(
        count(&|d| d.license.expression.is_none()
            && d.license.license_field.is_none()
            && !d.license.classifiers.is_empty())
            > 5
    );
    assert!(
        count(&|d| d
            .license
            .license_field
            .as_deref()
            .is_some_and(|l| l.lines().count() > 5))
            > 3
    );
    assert!(count(&|d| d.name != d.normalized) > 30);

    // Every dependency edge points at a generated package.
    let known: std::collections::HashSet<_> = inv_a
        .distributions
        .iter()
        .map(|d| d.normalized.as_str())
        .collect();
    let mut edges = 0;
    for dist in &inv_a.distributions {
        for req in &dist.requires_dist {
            let name: String = req
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            assert!(known.contains(name.as_str()), "{req} of {}", dist.name);
            edges += 1;
        }
    }
    assert!(edges > 150, "{edges} edges");
}

#[test]
fn synthetic_environment_matches_pip_list() {
    let Some(python) = python3() else {
        crate::support::skip::skip("no python3 on PATH");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site");
    synthetic::write_site_packages(&site, 200, 42).unwrap();
    let cwd = tmp.path().join("cwd");
    fs::create_dir_all(&cwd).unwrap();
    let site_arg = site.display().to_string();
    let listed = match pip_list(&python, &["--path", &site_arg], &cwd) {
        Ok(listed) => listed,
        Err(err) => {
            crate::support::skip::skip(&format!("pip list is not usable here: {err}"));
            return;
        }
    };
    assert_eq!(names(&scan_one(&site)), listed);
}

// ---------------------------------------------------------------------------------------------
// A real venv, compared with pip list

#[test]
fn real_venv_matches_pip_list() {
    let Some(python) = python3() else {
        crate::support::skip::skip("no python3 on PATH");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let venv = tmp.path().join("project/.venv");
    if let Err(err) = run(Command::new(&python).args(["-m", "venv"]).arg(&venv)) {
        crate::support::skip::skip(&format!("python3 -m venv failed (no ensurepip?): {err}"));
        return;
    }
    let venv_py = venv_python(&venv);
    let wheels = tmp.path().join("wheels");
    fs::create_dir_all(&wheels).unwrap();
    let real = real_site_packages();
    let wheel_files: Vec<PathBuf> = [
        "attrs-26.1.0.dist-info",
        "pytz-2026.6.dist-info",
        "jinja2-3.1.6.dist-info",
    ]
    .iter()
    .map(|d| wheel_from_fixture(&wheels, &real.join(d)))
    .collect();
    run(Command::new(&venv_py)
        .args([
            "-m",
            "pip",
            "install",
            "--no-index",
            "--no-deps",
            "--disable-pip-version-check",
            "-q",
        ])
        .args(&wheel_files))
    .expect("offline install of locally built wheels");

    // Legacy installs and a shadowed duplicate, placed the way old tools leave them.
    let site = inventory::locate(&InventorySource::Path(venv.clone())).unwrap();
    assert_eq!(site.len(), 1, "{site:?}");
    let site = &site[0];
    copy_real(site, "docopt-0.6.2-py3.11.egg-info", None);
    copy_real(site, "tiny_legacy.util-1.0.post1-py3.11.egg-info", None);
    dist_info(
        site,
        "PyTZ-2020.1.dist-info",
        b"Metadata-Version: 2.1\nName: pytz\nVersion: 2020.1\n",
    );

    let cwd = tmp.path().join("cwd");
    fs::create_dir_all(&cwd).unwrap();
    let listed = pip_list(&venv_py, &[], &cwd).expect("pip list in the venv");
    assert!(listed.iter().any(|(n, _)| n == "pip"), "{listed:?}");

    let tracker = Tracker::new();
    let by_project =
        inventory::load(&InventorySource::Path(tmp.path().join("project")), &tracker).unwrap();
    assert_eq!(names(&by_project), listed);
    let by_python = inventory::load(&InventorySource::Python(venv_py.clone()), &tracker).unwrap();
    assert_eq!(names(&by_python), listed);
    assert_eq!(
        by_project
            .issues
            .iter()
            .filter(|i| i.message.contains("duplicate"))
            .count(),
        1,
        "{:#?}",
        by_project.issues
    );
    let attrs = find(&by_project, "attrs");
    assert_eq!(attrs.license.expression.as_deref(), Some("MIT"));
    assert!(
        attrs
            .location
            .as_ref()
            .unwrap()
            .join(&attrs.license.license_files[0])
            .is_file()
    );
    let stats = &tracker.snapshot()["inventory.scan"];
    println!(
        "real venv: {} distributions, scan {:.3} ms (mean of {}, debug build)",
        by_project.distributions.len(),
        stats.mean_ms,
        stats.count
    );
}

#[test]
fn venv_with_system_site_packages_matches_pip_list_without_starting_python() {
    let Some(python) = python3() else {
        crate::support::skip::skip("no python3 on PATH");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let venv = tmp.path().join("sysvenv");
    // No pip of its own: `python -m pip` then comes from the base interpreter's site-packages,
    // which is exactly what this venv must see.
    if let Err(err) = run(Command::new(&python)
        .args(["-m", "venv", "--system-site-packages", "--without-pip"])
        .arg(&venv))
    {
        crate::support::skip::skip(&format!("python3 -m venv failed: {err}"));
        return;
    }
    let site =
        inventory::locate_detailed(&InventorySource::Path(venv.clone()), &Tracker::new()).unwrap();
    assert!(site.issues.is_empty(), "{:#?}", site.issues);
    assert!(site.site_packages.len() >= 2, "{:?}", site.site_packages);
    copy_real(&site.site_packages[0], "idna-3.20.dist-info", None);
    let cwd = tmp.path().join("cwd");
    fs::create_dir_all(&cwd).unwrap();
    let listed = match pip_list(&venv_python(&venv), &[], &cwd) {
        Ok(listed) => listed,
        Err(err) => {
            crate::support::skip::skip(&format!("the base interpreter has no usable pip: {err}"));
            return;
        }
    };
    let inv = inventory::load(&InventorySource::Path(venv), &Tracker::new()).unwrap();
    assert_eq!(names(&inv), listed);
    // The venv's own copy shadows any base-interpreter idna.
    assert_eq!(find(&inv, "idna").version, "3.20");
}

#[test]
fn interpreter_outside_a_venv_is_asked_once_and_matches_pip_list() {
    let Some(python) = python3() else {
        crate::support::skip::skip("no python3 on PATH");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let listed = match pip_list(&python, &[], tmp.path()) {
        Ok(listed) => listed,
        Err(err) => {
            crate::support::skip::skip(&format!("pip not usable with {}: {err}", python.display()));
            return;
        }
    };
    let inv = inventory::load(&InventorySource::Python(python.clone()), &Tracker::new()).unwrap();
    assert_eq!(names(&inv), listed);
    assert!(!inv.target.site_packages.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Requirements files

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).unwrap();
    }
    fs::write(&path, text).unwrap();
    path
}

fn issue_on<'a>(inv: &'a Inventory, file: &str, line: usize) -> Vec<&'a InventoryIssue> {
    inv.issues
        .iter()
        .filter(|i| i.path.ends_with(file) && i.line == Some(line))
        .collect()
}

#[test]
fn requirements_file_with_every_feature() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let main = write(
        dir,
        "requirements.txt",
        "# Production pins\n\
         --index-url https://pypi.org/simple\n\
         --extra-index-url=https://mirror.example/simple\n\
         -r nested/common.txt\n\
         -c constraints.txt\n\
         \n\
         requests==2.31.0 \\\n    --hash=sha256:aaaa \\\n    --hash=sha256:bbbb\n\
         Django==4.2.7 ; python_version >= \"3.8\"  # LTS\n\
         importlib-metadata==6.0 ; python_version < \"3.8\"\n\
         exact===1.0\n\
         wild==1.*\n\
         ranged>=2.0,<3\n\
         bare\n\
         -e .\n\
         direct @ https://example.org/direct-1.0.tar.gz\n\
         ./local/pkg\n\
         !!!garbage!!!\n\
         --frobnicate\n\
         flask\n\
         urllib3==2.0.0\n\
         Requests==2.31.0\n",
    );
    write(
        dir,
        "nested/common.txt",
        "six==1.16.0 # trailing comment\n-r ../requirements.txt\n-r missing.txt\n",
    );
    write(
        dir,
        "constraints.txt",
        "flask==3.0.0\nurllib3==1.26.18\nnot-required==9.9\n",
    );

    let tracker = Tracker::new();
    let inv =
        inventory::load(&InventorySource::Requirements(vec![main.clone()]), &tracker).unwrap();
    let pinned: Vec<(String, String, usize)> = inv
        .distributions
        .iter()
        .map(|d| (d.name.clone(), d.version.clone(), d.line.unwrap()))
        .collect();
    assert_eq!(
        pinned,
        [
            ("Django".to_string(), "4.2.7".to_string(), 10),
            ("flask".to_string(), "3.0.0".to_string(), 21),
            ("importlib-metadata".to_string(), "6.0".to_string(), 11),
            ("requests".to_string(), "2.31.0".to_string(), 7),
            ("six".to_string(), "1.16.0".to_string(), 1),
            ("urllib3".to_string(), "2.0.0".to_string(), 22),
        ]
    );
    assert!(
        inv.distributions
            .iter()
            .all(|d| d.origin == Origin::Requirements)
    );
    assert!(
        find(&inv, "six")
            .location
            .as_ref()
            .unwrap()
            .ends_with("nested/common.txt")
    );
    assert_eq!(inv.target.kind, "requirements");

    let not_pinned = |line: usize| {
        issue_on(&inv, "requirements.txt", line)
            .iter()
            .any(|i| i.message.contains("not pinned"))
    };
    for line in [12, 13, 14, 15, 16, 17, 18] {
        assert!(not_pinned(line), "line {line}: {:#?}", inv.issues);
    }
    let garbage = issue_on(&inv, "requirements.txt", 19);
    assert!(
        garbage.iter().any(|i| i.message.contains("cannot parse")),
        "{garbage:#?}"
    );
    assert!(
        issue_on(&inv, "requirements.txt", 20)
            .iter()
            .any(|i| i.message.contains("unknown option"))
    );
    assert!(
        issue_on(&inv, "requirements.txt", 22)
            .iter()
            .any(|i| i.message.contains("conflicts with constraint"))
    );
    assert!(
        issue_on(&inv, "common.txt", 2)
            .iter()
            .any(|i| i.message.contains("include cycle"))
    );
    assert!(
        issue_on(&inv, "common.txt", 3)
            .iter()
            .any(|i| i.message.contains("cannot read included file"))
    );
    // Options, comments, hashes, markers and the repeated identical pin raise nothing.
    for line in [1, 2, 3, 4, 5, 7, 10, 11, 21, 23] {
        assert!(
            issue_on(&inv, "requirements.txt", line).is_empty(),
            "line {line}: {:#?}",
            inv.issues
        );
    }
    // The constraint that constrains nothing adds nothing.
    assert!(
        inv.distributions
            .iter()
            .all(|d| d.normalized != "not-required")
    );

    let parsed = requirements::parse_file(&main).unwrap();
    let requests = parsed
        .requirements
        .iter()
        .find(|r| r.normalized == "requests")
        .unwrap();
    assert_eq!(requests.hashes, ["sha256:aaaa", "sha256:bbbb"]);
    let django = parsed
        .requirements
        .iter()
        .find(|r| r.normalized == "django")
        .unwrap();
    assert_eq!(django.marker.as_deref(), Some("python_version >= \"3.8\""));
    assert_eq!(parsed.constraints.len(), 3);
    assert_eq!(parsed.files.len(), 3);
    assert_eq!(tracker.snapshot()["requirements.parse"].count, 3);
}

#[test]
fn constraints_included_from_a_constraints_file_stay_constraints() {
    let tmp = tempfile::tempdir().unwrap();
    let main = write(tmp.path(), "req.txt", "-c c1.txt\nalpha\n");
    write(tmp.path(), "c1.txt", "-r c2.txt\n");
    write(tmp.path(), "c2.txt", "alpha==1.2\nbeta==3.0\n");
    let inv = inventory::load(&InventorySource::Requirements(vec![main]), &Tracker::new()).unwrap();
    assert_eq!(
        names(&inv),
        [("alpha".to_string(), "1.2".to_string())],
        "{:#?}",
        inv.issues
    );
    assert!(inv.issues.is_empty());
}

#[test]
fn unreadable_requirements_file_is_fatal() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nope.txt");
    let err = inventory::load(
        &InventorySource::Requirements(vec![missing.clone()]),
        &Tracker::new(),
    )
    .unwrap_err();
    assert!(
        matches!(&err, InventoryError::RequirementsUnreadable { path, .. } if *path == missing),
        "{err}"
    );
    assert!(err.to_string().contains("nope.txt"));
    let err = inventory::load(&InventorySource::Requirements(vec![]), &Tracker::new()).unwrap_err();
    assert!(matches!(err, InventoryError::NoRequirementsFiles));
}

#[test]
fn non_utf8_requirements_file_is_read_lossily() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("req.txt");
    fs::write(&path, b"# caf\xe9\nsix==1.16.0\n").unwrap();
    let inv = inventory::load(&InventorySource::Requirements(vec![path]), &Tracker::new()).unwrap();
    assert_eq!(names(&inv), [("six".to_string(), "1.16.0".to_string())]);
    assert!(inv.issues.iter().any(|i| i.message.contains("UTF-8")));
}
