//! Adversarial local inputs against the real binary (issue 9, local half): hostile or broken
//! environments, lockfiles, requirements, special files, include chains, escape sequences and
//! failing disks. Every run is offline against a real OSV database directory (no network at
//! all) and bounded in time, so a hang is a failure, not a stuck suite. Each case asserts the
//! exact outcome: exit code, the finding or unknown and its reason, the file left intact.

use std::ffi::CString;
use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::site_packages::{copy_real, dist_info, fixture};
use crate::support::skip::skip;

/// Longer than any honest run here (well under a second each); reached only by a hang.
const RUN_TIMEOUT: Duration = Duration::from_secs(60);

/// The advisory for requests < 2.32.0 in the real OSV fixtures.
const REQUESTS_ADVISORY: &str = "GHSA-9wx4-h78v-vm56";

struct Env {
    dir: tempfile::TempDir,
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    report: Option<Value>,
}

impl Run {
    fn report(&self) -> &Value {
        self.report
            .as_ref()
            .unwrap_or_else(|| panic!("no report; stderr:\n{}", self.stderr))
    }

    fn findings(&self, code: &str) -> Vec<&Value> {
        self.report()["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["code"] == code)
            .collect()
    }

    fn unknowns(&self) -> Vec<&Value> {
        self.report()["unknowns"]
            .as_array()
            .unwrap()
            .iter()
            .collect()
    }

    /// `(normalized, version)` of every package in the report, sorted.
    fn packages(&self) -> Vec<(String, String)> {
        let mut out: Vec<_> = self.report()["packages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["normalized"].as_str().unwrap().to_string(),
                    p["version"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        out.sort();
        out
    }

    /// The vulnerability findings as `(package, version, advisory)`.
    fn vulnerabilities(&self) -> Vec<(String, String, String)> {
        let mut out: Vec<_> = self
            .findings("vulnerability")
            .iter()
            .map(|f| {
                (
                    depdash::model::normalize_name(f["package"].as_str().unwrap()),
                    f["version"].as_str().unwrap().to_string(),
                    f["advisory"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        out.sort();
        out
    }

    fn inventory_issue(&self, needle: &str) -> bool {
        self.findings("inventory-issue")
            .iter()
            .any(|f| f["message"].as_str().unwrap().contains(needle))
    }

    fn blocking_unknown(&self, needle: &str) -> bool {
        self.unknowns()
            .iter()
            .any(|u| u["fails_run"] == true && u["reason"].as_str().unwrap().contains(needle))
    }
}

impl Env {
    fn new() -> Env {
        let env = Env {
            dir: tempfile::tempdir().unwrap(),
        };
        let db = env.path("osv");
        fs::create_dir_all(&db).unwrap();
        for id in [REQUESTS_ADVISORY, "GHSA-j8r2-6x86-q33q"] {
            fs::copy(
                fixture(&format!("osv/{id}.json")),
                db.join(format!("{id}.json")),
            )
            .unwrap();
        }
        fs::create_dir_all(env.site()).unwrap();
        env
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn site(&self) -> PathBuf {
        self.path("site-packages")
    }

    fn write(&self, rel: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).unwrap();
        }
        fs::write(&path, bytes).unwrap();
        path
    }

    /// The binary with `args`, stdout and stderr to files, killed (and the test failed) after
    /// [`RUN_TIMEOUT`].
    fn run(&self, args: &[&str]) -> Run {
        self.run_command(Command::new(env!("CARGO_BIN_EXE_depdash")).args(args))
    }

    fn run_command(&self, command: &mut Command) -> Run {
        let out_path = self.path("stdout.txt");
        let err_path = self.path("stderr.txt");
        let _ = fs::remove_file(self.path("report.json"));
        command
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(fs::File::create(&out_path).unwrap())
            .stderr(fs::File::create(&err_path).unwrap());
        for (key, _) in std::env::vars() {
            if key.starts_with("DEPDASH_") || key.starts_with("PIP_") || key == "VIRTUAL_ENV" {
                command.env_remove(key);
            }
        }
        let mut child = command.spawn().expect("start depdash");
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > RUN_TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "depdash hung for {RUN_TIMEOUT:?}; stderr:\n{}",
                    fs::read_to_string(&err_path).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let report = fs::read_to_string(self.path("report.json"))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok());
        Run {
            code: status.code().expect("exit code"),
            stdout: fs::read_to_string(&out_path).unwrap(),
            stderr: fs::read_to_string(&err_path).unwrap(),
            report,
        }
    }

    /// The offline, cache-less, history-less part of every check.
    fn offline_args(&self) -> Vec<String> {
        [
            "--offline",
            "--no-registry",
            "--osv-db",
            self.path("osv").to_str().unwrap(),
            "--no-cache",
            "--no-history",
            "--progress",
            "never",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    /// `depdash check <target...>` offline, JSON report to `report.json`.
    fn check(&self, target: &[&str]) -> Run {
        self.check_with(target, &[])
    }

    fn check_with(&self, target: &[&str], extra: &[&str]) -> Run {
        let mut args: Vec<String> = vec!["check".into()];
        args.extend(target.iter().map(|s| s.to_string()));
        args.extend(self.offline_args());
        args.extend(
            [
                "--format",
                "json",
                "-o",
                self.path("report.json").to_str().unwrap(),
            ]
            .iter()
            .map(|s| s.to_string()),
        );
        args.extend(extra.iter().map(|s| s.to_string()));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        self.run(&refs)
    }

    /// The text report on stdout.
    fn check_text(&self, target: &[&str], extra: &[&str]) -> Run {
        let mut args: Vec<String> = vec!["check".into()];
        args.extend(target.iter().map(|s| s.to_string()));
        args.extend(self.offline_args());
        args.extend(extra.iter().map(|s| s.to_string()));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        self.run(&refs)
    }

    /// Arguments of an offline check of the site whose JSON report goes to `output`.
    fn site_to_args(&self, output: &Path) -> Vec<String> {
        let mut args: Vec<String> = [
            "check",
            s(&self.site()),
            "--format",
            "json",
            "-o",
            s(output),
        ]
        .iter()
        .map(|a| a.to_string())
        .collect();
        args.extend(self.offline_args());
        args
    }

    fn check_site_to(&self, output: &Path) -> Run {
        let args = self.site_to_args(output);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        self.run(&refs)
    }

    fn check_site(&self) -> Run {
        self.check(&[self.site().to_str().unwrap()])
    }

    /// A copy of the real requests fixture installed as `dir_name`, at `version`, with its
    /// METADATA passed through `edit`.
    fn requests(&self, dir_name: &str, version: &str, edit: impl Fn(Vec<u8>) -> Vec<u8>) {
        let dir = copy_real(&self.site(), "requests-2.34.2.dist-info", Some(dir_name));
        let metadata = fs::read_to_string(dir.join("METADATA"))
            .unwrap()
            .replace("Version: 2.34.2", &format!("Version: {version}"));
        fs::write(dir.join("METADATA"), edit(metadata.into_bytes())).unwrap();
    }

    /// A safe real package, so an environment is never empty by accident.
    fn six(&self) {
        copy_real(&self.site(), "six-1.17.0.dist-info", None);
    }
}

fn replace(bytes: Vec<u8>, from: &str, to: &[u8]) -> Vec<u8> {
    let text = bytes;
    let at = text
        .windows(from.len())
        .position(|w| w == from.as_bytes())
        .unwrap_or_else(|| panic!("{from} in METADATA"));
    let mut out = text[..at].to_vec();
    out.extend_from_slice(to);
    out.extend_from_slice(&text[at + from.len()..]);
    out
}

/// A FIFO at `path` (also used by the network/database suite).
pub(crate) fn mkfifo(path: &Path) {
    let c = CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo has no other preconditions.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0, "mkfifo");
}

/// A listening unix socket at `path` (kept open while the returned listener lives).
fn socket(path: &Path) -> std::os::unix::net::UnixListener {
    std::os::unix::net::UnixListener::bind(path).unwrap()
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

const VULNERABLE: (&str, &str, &str) = ("requests", "2.31.0", REQUESTS_ADVISORY);

fn vulnerable() -> Vec<(String, String, String)> {
    vec![(
        VULNERABLE.0.into(),
        VULNERABLE.1.into(),
        VULNERABLE.2.into(),
    )]
}

/// Checks the site and asserts the one finding: requests 2.31.0 and its advisory (exit 1).
fn assert_finds_the_vulnerable_copy(env: &Env) -> Run {
    let run = env.check_site();
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.vulnerabilities(), vulnerable());
    run
}

// ---------------------------------------------------------------------------------------------
// Identity is the directory's

#[test]
fn identity_edited_name_is_checked_under_the_directory_name() {
    let env = Env::new();
    env.requests("requests-2.31.0.dist-info", "2.31.0", |m| {
        replace(m, "Name: requests", b"Name: totally-safe-package")
    });
    let run = assert_finds_the_vulnerable_copy(&env);
    assert_eq!(run.packages(), [("requests".into(), "2.31.0".into())]);
    assert!(run.inventory_issue(
        "Name `totally-safe-package` does not match the directory name `requests-2.31.0.dist-info`"
    ));
}

#[test]
fn identity_name_with_nul_bytes_is_checked_under_the_directory_name() {
    let env = Env::new();
    env.requests("requests-2.31.0.dist-info", "2.31.0", |m| {
        replace(m, "Name: requests", b"Name: req\0uests")
    });
    let run = assert_finds_the_vulnerable_copy(&env);
    assert!(run.inventory_issue("Name `req\\0uests` does not match"));
}

#[test]
fn identity_name_in_bad_encoding_is_checked_under_the_directory_name() {
    let env = Env::new();
    env.requests("requests-2.31.0.dist-info", "2.31.0", |m| {
        replace(m, "Name: requests", b"Name: r\xe9quests\xff")
    });
    let run = assert_finds_the_vulnerable_copy(&env);
    assert!(run.inventory_issue("not valid UTF-8"));
    assert!(run.inventory_issue("does not match the directory name"));
}

#[test]
fn identity_truncated_metadata_is_checked_from_the_directory_name() {
    let env = Env::new();
    env.requests("requests-2.31.0.dist-info", "2.31.0", |_| Vec::new());
    let run = assert_finds_the_vulnerable_copy(&env);
    assert!(run.inventory_issue("metadata file is empty"));
}

#[test]
fn identity_metadata_cut_before_the_name_is_checked_from_the_directory_name() {
    let env = Env::new();
    env.requests("requests-2.31.0.dist-info", "2.31.0", |_| {
        b"Metadata-Version: 2.4\nNa".to_vec()
    });
    let run = assert_finds_the_vulnerable_copy(&env);
    assert!(run.inventory_issue("no Name in metadata; name taken from the directory name"));
}

#[test]
fn identity_version_in_metadata_does_not_override_the_directory() {
    let env = Env::new();
    env.requests("requests-2.31.0.dist-info", "99.0.0", |m| m);
    let run = assert_finds_the_vulnerable_copy(&env);
    assert!(run.inventory_issue("Version `99.0.0` disagrees with the directory name"));
}

#[test]
fn identity_pep_427_escaped_and_cased_directory_names_are_the_same_package() {
    let env = Env::new();
    env.requests("Requests-2.31.0.dist-info", "2.31.0", |m| m);
    let run = assert_finds_the_vulnerable_copy(&env);
    assert!(
        !run.inventory_issue("does not match the directory name"),
        "a case difference is the same name"
    );
}

#[test]
fn identity_egg_info_name_comes_from_the_directory() {
    let env = Env::new();
    let egg = env.site().join("requests-2.31.0-py3.11.egg-info");
    fs::create_dir_all(&egg).unwrap();
    fs::write(
        egg.join("PKG-INFO"),
        "Metadata-Version: 1.1\nName: harmless\nVersion: 2.31.0\n",
    )
    .unwrap();
    let run = assert_finds_the_vulnerable_copy(&env);
    assert!(run.inventory_issue("Name `harmless` does not match"));
}

#[test]
fn identity_metadata_that_is_a_directory_still_lists_the_package() {
    let env = Env::new();
    let dir = env.site().join("requests-2.31.0.dist-info");
    fs::create_dir_all(dir.join("METADATA")).unwrap();
    let run = assert_finds_the_vulnerable_copy(&env);
    assert!(run.inventory_issue("is a directory"));
}

#[test]
fn identity_stray_line_before_the_name_does_not_hide_the_package() {
    let env = Env::new();
    env.requests("requests-2.31.0.dist-info", "2.31.0", |m| {
        let mut out = b"Metadata-Version: 2.4\nthis line is not a header\n".to_vec();
        out.extend(m);
        out
    });
    let run = assert_finds_the_vulnerable_copy(&env);
    assert!(run.inventory_issue("is not a `Field: value` header"));
}

// ---------------------------------------------------------------------------------------------
// Duplicates: every copy is checked

#[test]
fn duplicates_a_vulnerable_shadowed_copy_in_one_directory_is_a_finding() {
    let env = Env::new();
    copy_real(&env.site(), "requests-2.34.2.dist-info", None);
    env.requests("requests-2.31.0.dist-info", "2.31.0", |m| m);
    let run = assert_finds_the_vulnerable_copy(&env);
    assert_eq!(
        run.packages(),
        [
            ("requests".into(), "2.31.0".into()),
            ("requests".into(), "2.34.2".into())
        ]
    );
    assert!(run.inventory_issue("both copies are checked"));
}

#[test]
fn duplicates_a_vulnerable_copy_behind_a_pth_file_is_a_finding() {
    let env = Env::new();
    copy_real(&env.site(), "requests-2.34.2.dist-info", None);
    let extra = env.path("extra");
    fs::create_dir_all(&extra).unwrap();
    let dir = copy_real(
        &extra,
        "requests-2.34.2.dist-info",
        Some("requests-2.31.0.dist-info"),
    );
    let metadata = fs::read_to_string(dir.join("METADATA"))
        .unwrap()
        .replace("Version: 2.34.2", "Version: 2.31.0");
    fs::write(dir.join("METADATA"), metadata).unwrap();
    env.write("site-packages/extra.pth", format!("{}\n", s(&extra)));
    let run = assert_finds_the_vulnerable_copy(&env);
    assert!(run.inventory_issue("shadowed by 2.34.2"));
}

#[test]
fn duplicates_each_copy_gets_its_own_status() {
    let env = Env::new();
    copy_real(&env.site(), "requests-2.34.2.dist-info", None);
    env.requests("requests-2.31.0.dist-info", "2.31.0", |m| m);
    let run = env.check_site();
    let status = |version: &str| {
        run.report()["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["normalized"] == "requests" && p["version"] == version)
            .unwrap()["status"]
            .clone()
    };
    assert_eq!(status("2.31.0"), "violation");
    // The safe copy carries only the duplicate warning, not its twin's vulnerability.
    assert_eq!(status("2.34.2"), "warning");
}

#[test]
fn duplicates_same_version_twice_is_checked_and_reported() {
    let env = Env::new();
    env.requests("requests-2.31.0.dist-info", "2.31.0", |m| m);
    let other = env.path("other");
    fs::create_dir_all(&other).unwrap();
    crate::support::site_packages::copy_tree(
        &env.site().join("requests-2.31.0.dist-info"),
        &other.join("requests-2.31.0.dist-info"),
    );
    env.write("site-packages/z.pth", format!("{}\n", s(&other)));
    let run = env.check_site();
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.packages().len(), 2);
    assert_eq!(run.vulnerabilities().len(), 2);
    assert!(run.inventory_issue("duplicate installation of requests 2.31.0"));
}

#[test]
fn duplicates_lockfile_forks_are_each_checked() {
    let env = Env::new();
    let lock = env.write(
        "uv.lock",
        "version = 1\nrequires-python = \">=3.9\"\n\n[[package]]\nname = \"requests\"\nversion = \"2.34.2\"\nsource = { registry = \"https://pypi.org/simple\" }\n\n[[package]]\nname = \"requests\"\nversion = \"2.31.0\"\nsource = { registry = \"https://pypi.org/simple\" }\n",
    );
    let run = env.check(&["--lock", s(&lock)]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.vulnerabilities(), vulnerable());
    assert!(run.inventory_issue("both versions are checked"));
}

#[test]
fn duplicates_two_lockfiles_disagreeing_are_both_checked() {
    let env = Env::new();
    let a = env.write(
        "a/uv.lock",
        "version = 1\nrequires-python = \">=3.9\"\n[[package]]\nname = \"requests\"\nversion = \"2.34.2\"\n",
    );
    let b = env.write(
        "b/poetry.lock",
        "[[package]]\nname = \"Requests\"\nversion = \"2.31.0\"\n[metadata]\nlock-version = \"2.0\"\n",
    );
    let run = env.check(&["--lock", s(&a), "--lock", s(&b)]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.vulnerabilities(), vulnerable());
}

#[test]
fn duplicates_requirements_pinned_twice_are_both_checked() {
    let env = Env::new();
    let req = env.write(
        "requirements.txt",
        "requests==2.34.2 ; python_version >= '3.12'\nrequests==2.31.0 ; python_version < '3.12'\n",
    );
    let run = env.check(&["-r", s(&req)]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.vulnerabilities(), vulnerable());
}

// ---------------------------------------------------------------------------------------------
// Inputs that yield no packages are errors, never "clean, 0 packages"

fn assert_input_error(run: &Run, needle: &str) {
    assert_eq!(
        run.code, 2,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    assert!(
        run.report.is_none(),
        "no report is written for an input error"
    );
    assert!(
        run.stderr.contains(needle),
        "{needle:?} not in stderr:\n{}",
        run.stderr
    );
}

/// `--lock <file_name>` holding `text` is an input error whose message contains `needle`.
fn assert_lockfile_error(file_name: &str, text: impl AsRef<[u8]>, needle: &str) {
    let env = Env::new();
    let lock = env.write(file_name, text);
    assert_input_error(&env.check(&["--lock", s(&lock)]), needle);
}

/// `-r requirements.txt` holding `text` is an input error whose message contains `needle`.
fn assert_requirements_error(text: &str, needle: &str) {
    let env = Env::new();
    let req = env.write("requirements.txt", text);
    assert_input_error(&env.check(&["-r", s(&req)]), needle);
}

#[test]
fn empty_site_packages_is_an_error() {
    let env = Env::new();
    let run = env.check_site();
    assert_input_error(
        &run,
        "no installed distribution (*.dist-info or *.egg-info)",
    );
    assert!(run.stderr.contains("never clean"));
}

#[test]
fn empty_venv_is_an_error() {
    let env = Env::new();
    let venv = env.path("venv");
    fs::create_dir_all(venv.join("lib/python3.11/site-packages")).unwrap();
    fs::write(
        venv.join("pyvenv.cfg"),
        "home = /usr/bin\ninclude-system-site-packages = false\nversion = 3.11.9\n",
    )
    .unwrap();
    let run = env.check(&[s(&venv)]);
    assert_input_error(&run, "no installed distribution");
}

#[test]
fn empty_lockfile_is_an_error() {
    assert_lockfile_error("uv.lock", "", "locks no packages: no [[package]] entries");
}

#[test]
fn empty_lockfile_with_only_the_project_is_an_error() {
    assert_lockfile_error(
        "uv.lock",
        "version = 1\nrequires-python = \">=3.11\"\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\nsource = { editable = \".\" }\n",
        "only the project itself",
    );
}

#[test]
fn empty_foreign_toml_lockfile_is_an_error() {
    assert_lockfile_error(
        "Cargo.lock",
        "version = 4\n\n[[package]]\nname = \"serde\"\nversion = \"1.0.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n",
        "not a uv.lock, poetry.lock, pylock.toml or Pipfile.lock",
    );
}

#[test]
fn empty_json_given_as_a_lockfile_is_an_error() {
    assert_lockfile_error(
        "package-lock.json",
        "{\"lockfileVersion\": 3, \"packages\": {}}\n",
        "not a lockfile depdash can read",
    );
}

#[test]
fn empty_binary_garbage_lockfile_is_an_error() {
    assert_lockfile_error(
        "uv.lock",
        [0u8, 159, 146, 150, 0xff, 0xfe, b'\n', 0],
        "not a lockfile depdash can read",
    );
}

#[test]
fn empty_directory_given_as_a_lockfile_is_an_error() {
    let env = Env::new();
    let dir = env.path("uv.lock");
    fs::create_dir_all(&dir).unwrap();
    let run = env.check(&["--lock", s(&dir)]);
    assert_input_error(&run, "is a directory, not a regular file");
}

#[test]
fn empty_requirements_file_is_an_error() {
    assert_requirements_error("", "no requirement found");
}

#[test]
fn empty_requirements_with_only_comments_and_options_is_an_error() {
    assert_requirements_error(
        "# pinned by hand\n--index-url https://example.invalid/simple\n\n   # more\n",
        "no requirement found",
    );
}

#[test]
fn empty_environment_of_hidden_leftovers_is_an_error_naming_them() {
    let env = Env::new();
    dist_info(
        &env.site(),
        "~equests-2.31.0.dist-info",
        b"Name: ~equests\nVersion: 2.31.0\n",
    );
    let run = env.check_site();
    assert_input_error(&run, "not a valid project name");
}

#[test]
fn empty_requirements_of_only_unpinned_lines_fail_the_run() {
    let env = Env::new();
    let req = env.write("requirements.txt", "requests>=2\nsix\n");
    let run = env.check(&["-r", s(&req)]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.blocking_unknown("not pinned: `requests>=2`"));
    assert_eq!(run.report()["summary"]["packages"], 0);
}

#[test]
fn empty_requirement_name_ending_in_a_separator_is_an_issue_not_a_crash() {
    // pep508_rs 0.9.2 panics on this line; depdash refuses the name first.
    let env = Env::new();
    let req = env.write("requirements.txt", "six==1.17.0\na- ==1.0\n");
    let run = env.check(&["-r", s(&req)]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.blocking_unknown(
        "cannot parse requirement `a- ==1.0`: package or extra name must end with a letter or digit, not `-` (at column 2)"
    ));
}

#[test]
fn empty_option_line_with_a_multibyte_character_is_an_issue_not_a_crash() {
    let env = Env::new();
    let req = env.write("requirements.txt", "six==1.17.0\n-\u{e9}t\u{e9}\n");
    let run = env.check(&["-r", s(&req)]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.blocking_unknown("unknown option `-\u{e9}t\u{e9}`; line ignored"));
}

#[test]
fn empty_requirements_file_given_as_a_lockfile_is_an_error() {
    assert_lockfile_error(
        "requirements.txt",
        "requests==2.31.0\n",
        "not a lockfile depdash can read",
    );
}

#[test]
fn empty_lockfile_given_as_requirements_fails_the_run_line_by_line() {
    let env = Env::new();
    let lock = env.write(
        "uv.lock",
        "version = 1\nrequires-python = \">=3.9\"\n[[package]]\nname = \"requests\"\nversion = \"2.31.0\"\n",
    );
    let run = env.check(&["-r", s(&lock)]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert_eq!(run.report()["summary"]["packages"], 0);
    assert!(run.blocking_unknown("cannot parse requirement `[[package]]`"));
}

#[test]
fn empty_regular_file_given_as_environment_is_an_error() {
    let env = Env::new();
    let file = env.write("notes.txt", "requests==2.31.0\n");
    let run = env.check(&[s(&file)]);
    assert_input_error(&run, "not a directory");
}

// ---------------------------------------------------------------------------------------------
// Special files never hang

#[test]
fn special_metadata_fifo_is_skipped_with_an_issue() {
    let env = Env::new();
    env.six();
    let dir = env.site().join("requests-2.31.0.dist-info");
    fs::create_dir_all(&dir).unwrap();
    mkfifo(&dir.join("METADATA"));
    let run = env.check_site();
    // Listed from its directory name and checked: the FIFO hid nothing.
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.vulnerabilities(), vulnerable());
    assert!(run.inventory_issue("is a FIFO (named pipe), not a regular file; not read"));
}

#[test]
fn special_metadata_socket_is_skipped_with_an_issue() {
    let env = Env::new();
    let dir = env.site().join("requests-2.31.0.dist-info");
    fs::create_dir_all(&dir).unwrap();
    let _listener = socket(&dir.join("METADATA"));
    let run = assert_finds_the_vulnerable_copy(&env);
    assert!(run.inventory_issue("is a socket, not a regular file"));
}

#[test]
fn special_metadata_symlinked_to_a_device_is_not_read() {
    let env = Env::new();
    let dir = env.site().join("requests-2.31.0.dist-info");
    fs::create_dir_all(&dir).unwrap();
    symlink("/dev/zero", dir.join("METADATA")).unwrap();
    let run = env.check_site();
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.inventory_issue("is a character device, not a regular file"));
}

#[test]
fn special_pth_fifo_is_a_blocking_unknown() {
    let env = Env::new();
    env.six();
    mkfifo(&env.site().join("evil.pth"));
    let run = env.check_site();
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.blocking_unknown("cannot read .pth file: is a FIFO"));
}

#[test]
fn special_egg_info_fifo_is_a_blocking_unknown() {
    let env = Env::new();
    env.six();
    mkfifo(&env.site().join("requests-2.31.0-py3.11.egg-info"));
    let run = env.check_site();
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.blocking_unknown("egg-info has no readable version"));
    assert!(run.inventory_issue("is a FIFO"));
}

#[test]
fn special_egg_link_fifo_does_not_hang() {
    let env = Env::new();
    env.six();
    mkfifo(&env.site().join("dev.egg-link"));
    let run = env.check_site();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.packages(), [("six".into(), "1.17.0".into())]);
}

#[test]
fn special_license_file_fifo_is_a_note_not_a_hang() {
    let env = Env::new();
    let dir = env.site().join("plainpkg-1.0.dist-info");
    fs::create_dir_all(&dir).unwrap();
    fs::write(
        dir.join("METADATA"),
        "Metadata-Version: 2.4\nName: plainpkg\nVersion: 1.0\nLicense-File: LICENSE\n",
    )
    .unwrap();
    fs::create_dir_all(dir.join("licenses")).unwrap();
    mkfifo(&dir.join("licenses/LICENSE"));
    let run = env.check_site();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let license = &run.report()["packages"][0]["license"];
    assert_eq!(license["source"], "unknown", "{license}");
    // Not opened (a FIFO is not a file to read), and said so.
    assert!(
        license["notes"][0]
            .as_str()
            .unwrap()
            .contains("License-File `licenses/LICENSE`"),
        "{license}"
    );
}

#[test]
fn special_requirements_fifo_is_an_input_error() {
    let env = Env::new();
    let fifo = env.path("requirements.txt");
    mkfifo(&fifo);
    let run = env.check(&["-r", s(&fifo)]);
    assert_input_error(&run, "is a FIFO (named pipe), not a regular file");
}

#[test]
fn special_requirements_device_is_an_input_error() {
    let env = Env::new();
    let run = env.check(&["-r", "/dev/zero"]);
    assert_input_error(&run, "is a character device, not a regular file");
}

#[test]
fn special_lockfile_fifo_is_an_input_error() {
    let env = Env::new();
    let fifo = env.path("uv.lock");
    mkfifo(&fifo);
    let run = env.check(&["--lock", s(&fifo)]);
    assert_input_error(&run, "is a FIFO (named pipe), not a regular file");
}

#[test]
fn special_lockfile_socket_is_an_input_error() {
    let env = Env::new();
    let path = env.path("poetry.lock");
    let _listener = socket(&path);
    let run = env.check(&["--lock", s(&path)]);
    assert_input_error(&run, "is a socket, not a regular file");
}

#[test]
fn special_policy_fifo_is_an_input_error() {
    let env = Env::new();
    env.six();
    let fifo = env.path("depdash.toml");
    mkfifo(&fifo);
    let run = env.check_with(&[s(&env.site())], &["--config", s(&fifo)]);
    assert_input_error(&run, "cannot read policy file: is a FIFO");
}

#[test]
fn special_discovered_policy_fifo_is_an_input_error_not_no_policy() {
    let env = Env::new();
    mkfifo(&env.path("depdash.toml"));
    let req = env.write("requirements.txt", "six==1.17.0\n");
    let run = env.check(&["-r", s(&req)]);
    assert_input_error(&run, "cannot read policy file: is a FIFO");
}

#[test]
fn special_included_requirements_fifo_is_a_blocking_unknown() {
    let env = Env::new();
    mkfifo(&env.path("more.txt"));
    let req = env.write("requirements.txt", "six==1.17.0\n-r more.txt\n");
    let run = env.check(&["-r", s(&req)]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.blocking_unknown("cannot read included file"));
    assert!(run.blocking_unknown("is a FIFO"));
}

#[test]
fn special_pyvenv_cfg_fifo_does_not_hang() {
    let env = Env::new();
    let venv = env.path("venv");
    fs::create_dir_all(&venv).unwrap();
    mkfifo(&venv.join("pyvenv.cfg"));
    let run = env.check(&[s(&venv)]);
    assert_input_error(&run, "no Python environment found");
}

// ---------------------------------------------------------------------------------------------
// Include chains

#[test]
fn include_chain_deeper_than_the_limit_is_cut_with_an_unknown() {
    let env = Env::new();
    let depth = 200;
    for i in 0..depth {
        env.write(
            &format!("req{i}.txt"),
            format!("pkg{i}==1.0\n-r req{}.txt\n", i + 1),
        );
    }
    env.write(&format!("req{depth}.txt"), "last==1.0\n");
    let run = env.check(&["-r", s(&env.path("req0.txt"))]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.blocking_unknown(&format!(
        "includes nest deeper than {} files",
        depdash::inventory::requirements::MAX_INCLUDE_DEPTH
    )));
    assert_eq!(
        run.packages().len(),
        depdash::inventory::requirements::MAX_INCLUDE_DEPTH
    );
}

#[test]
fn include_cycle_is_reported_and_broken() {
    let env = Env::new();
    env.write("a.txt", "six==1.17.0\n-r b.txt\n");
    env.write("b.txt", "requests==2.34.2\n-r a.txt\n");
    let run = env.check(&["-r", s(&env.path("a.txt"))]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.blocking_unknown("include cycle"));
    assert_eq!(
        run.packages(),
        [
            ("requests".into(), "2.34.2".into()),
            ("six".into(), "1.17.0".into())
        ]
    );
}

#[test]
fn include_of_itself_is_a_cycle() {
    let env = Env::new();
    let req = env.write("requirements.txt", "six==1.17.0\n-r requirements.txt\n");
    let run = env.check(&["-r", s(&req)]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.blocking_unknown("include cycle"));
}

#[test]
fn include_constraint_loop_is_reported_and_constraints_still_apply() {
    let env = Env::new();
    env.write("c1.txt", "requests==2.31.0\n-c c2.txt\n");
    env.write("c2.txt", "-c c1.txt\n");
    let req = env.write("requirements.txt", "requests\n-c c1.txt\n");
    let run = env.check(&["-r", s(&req)]);
    // The constraint pins requests to a vulnerable version: a violation beats the unknown.
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.vulnerabilities(), vulnerable());
    assert!(run.blocking_unknown("include cycle"));
}

#[test]
fn include_diamond_reads_the_shared_file_once_and_is_clean() {
    let env = Env::new();
    env.write("base.txt", "six==1.17.0\n");
    env.write("web.txt", "-r base.txt\nrequests==2.34.2\n");
    env.write("cli.txt", "-r base.txt\n");
    let req = env.write("requirements.txt", "-r web.txt\n-r cli.txt\n");
    let run = env.check(&["-r", s(&req)]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        !run.unknowns().iter().any(|u| u["fails_run"] == true),
        "{:?}",
        run.unknowns()
    );
    assert!(!run.inventory_issue("include"));
    assert_eq!(run.packages().len(), 2);
}

#[test]
fn include_of_a_missing_file_is_a_blocking_unknown() {
    let env = Env::new();
    let req = env.write("requirements.txt", "six==1.17.0\n-r nowhere/else.txt\n");
    let run = env.check(&["-r", s(&req)]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.blocking_unknown("cannot read included file"));
}

// ---------------------------------------------------------------------------------------------
// Terminal injection: text for a terminal is neutralised, JSON keeps the exact text

const ESCAPES: &str = "\x1b[2J\x1b]0;pwned\x07\u{9b}31m\u{202e}";

fn assert_no_raw_controls(text: &str) {
    for c in text.chars() {
        assert!(
            c == '\n' || !depdash::term_text::is_unsafe(c),
            "raw {c:?} reached the terminal in:\n{text}"
        );
    }
}

#[test]
fn terminal_metadata_name_with_escapes_is_neutralised_in_the_text_report() {
    let env = Env::new();
    env.requests("requests-2.31.0.dist-info", "2.31.0", |m| {
        replace(m, "Name: requests", format!("Name: x{ESCAPES}").as_bytes())
    });
    let run = env.check_text(&[s(&env.site())], &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_no_raw_controls(&run.stdout);
    assert!(run.stdout.contains("\\u{1b}[2J"), "{}", run.stdout);
    assert!(run.stdout.contains("\\u{202e}"), "{}", run.stdout);
}

#[test]
fn terminal_advisory_summary_with_escapes_is_neutralised_in_the_text_report() {
    let env = Env::new();
    let path = env.path(&format!("osv/{REQUESTS_ADVISORY}.json"));
    let mut record: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    record["summary"] = Value::String(format!("hijack{ESCAPES}"));
    fs::write(&path, record.to_string()).unwrap();
    env.requests("requests-2.31.0.dist-info", "2.31.0", |m| m);
    let run = env.check_text(&[s(&env.site())], &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_no_raw_controls(&run.stdout);
    assert!(run.stdout.contains("hijack\\u{1b}[2J\\u{1b}]0;pwned\\u{7}"));
}

#[test]
fn terminal_json_report_keeps_the_exact_text() {
    let env = Env::new();
    let path = env.path(&format!("osv/{REQUESTS_ADVISORY}.json"));
    let mut record: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    record["summary"] = Value::String(format!("hijack{ESCAPES}"));
    fs::write(&path, record.to_string()).unwrap();
    env.requests("requests-2.31.0.dist-info", "2.31.0", |m| m);
    let run = env.check_site();
    assert_eq!(run.code, 1, "{}", run.stderr);
    let raw = fs::read_to_string(env.path("report.json")).unwrap();
    assert!(!raw.contains('\x1b'), "JSON escapes control characters");
    let finding = &run.findings("vulnerability")[0];
    assert!(
        finding["message"]
            .as_str()
            .unwrap()
            .contains(&format!("hijack{ESCAPES}")),
        "the exact text survives in JSON"
    );
}

#[test]
fn terminal_error_message_quoting_a_hostile_path_is_neutralised() {
    let env = Env::new();
    let hostile = env.path(&format!("req{ESCAPES}.txt"));
    let run = env.check(&["-r", s(&hostile)]);
    assert_eq!(run.code, 2);
    assert_no_raw_controls(&run.stderr);
    assert!(
        run.stderr.contains("\\u{1b}]0;pwned\\u{7}"),
        "{}",
        run.stderr
    );
}

#[test]
fn terminal_license_text_with_escapes_is_neutralised_in_the_text_report() {
    let env = Env::new();
    dist_info(
        &env.site(),
        "evil-1.0.dist-info",
        format!("Metadata-Version: 2.1\nName: evil\nVersion: 1.0\nLicense: Proprietary{ESCAPES}\n")
            .as_bytes(),
    );
    let policy = env.write(
        "policy.toml",
        "[licenses]\nallow = [\"MIT\"]\nunknown = \"deny\"\n",
    );
    let run = env.check_text(&[s(&env.site())], &["--config", s(&policy)]);
    // An unreadable license is unknown, and unknown = "deny" fails the run.
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stdout.contains("evil 1.0"), "{}", run.stdout);
    assert!(
        run.stdout.contains("Proprietary\\u{1b}[2J"),
        "{}",
        run.stdout
    );
    assert_no_raw_controls(&run.stdout);
}

/// What the dashboard showed in a real terminal (tmux): the screen after the run finished and
/// `key` was pressed, once it contains `wait_for`, and the pane's title. `None` when tmux is not
/// installed.
fn dashboard(args: &[String], key: &str, wait_for: &str) -> Option<(String, String)> {
    if Command::new("tmux").arg("-V").output().is_err() {
        return None;
    }
    static SESSIONS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let socket_name = format!(
        "depdash-adv-{}-{}",
        std::process::id(),
        SESSIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    let tmux = |args: &[&str]| {
        Command::new("tmux")
            .args(["-L", &socket_name])
            .args(args)
            .output()
            .unwrap()
    };
    struct Kill<'a>(&'a dyn Fn(&[&str]) -> std::process::Output);
    impl Drop for Kill<'_> {
        fn drop(&mut self) {
            (self.0)(&["kill-server"]);
        }
    }
    let _kill = Kill(&tmux);
    let quoted: Vec<String> = std::iter::once(env!("CARGO_BIN_EXE_depdash"))
        .chain(std::iter::once("tui"))
        .chain(args.iter().map(String::as_str))
        .map(|a| format!("'{}'", a.replace('\'', "'\\''")))
        .collect();
    let script = format!("{}; sleep 30", quoted.join(" "));
    let started = tmux(&[
        "new-session",
        "-d",
        "-s",
        "t",
        "-x",
        "160",
        "-y",
        "45",
        "sh",
        "-c",
        &script,
    ]);
    assert!(started.status.success(), "{started:?}");
    let _ = tmux(&["set-option", "-t", "t", "set-titles", "on"]);
    let screen =
        || String::from_utf8_lossy(&tmux(&["capture-pane", "-p", "-t", "t"]).stdout).into_owned();
    let deadline = Instant::now() + Duration::from_secs(30);
    let wait = |pred: &dyn Fn(&str) -> bool| loop {
        let text = screen();
        if pred(&text) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "dashboard never showed what was expected:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    wait(&|t| t.contains("CLEAN") || t.contains("VIOLATIONS") || t.contains("INCOMPLETE"));
    let _ = tmux(&["send-keys", "-t", "t", key]);
    let shown = wait(&|t| t.contains(wait_for));
    let title = String::from_utf8_lossy(
        &tmux(&["display-message", "-p", "-t", "t", "#{pane_title}"]).stdout,
    )
    .trim()
    .to_string();
    let _ = tmux(&["send-keys", "-t", "t", "q"]);
    println!("{shown}");
    Some((shown, title))
}

/// The hostile text was drawn (its visible part is on screen) but inert: no title change, no
/// cleared screen, no bidi override or escape in any cell.
fn assert_drawn_inert(screen: &str, title: &str, visible: &str, still_there: &str) {
    assert_ne!(title, "pwned", "an OSC title sequence reached the terminal");
    assert!(screen.contains(visible), "{visible:?} not drawn:\n{screen}");
    assert!(
        screen.contains(still_there),
        "the screen was cleared:\n{screen}"
    );
    assert!(
        !screen.contains('\u{202e}'),
        "bidi override drawn raw:\n{screen}"
    );
    assert!(!screen.contains('\x1b'), "escape drawn raw:\n{screen}");
}

/// METADATA carrying a clear-screen, a title change and a bidi override, shown in the
/// violations list of the dashboard.
#[test]
fn terminal_dashboard_draws_hostile_metadata_inert() {
    let env = Env::new();
    env.six();
    dist_info(
        &env.site(),
        "evil-1.0.dist-info",
        format!("Metadata-Version: 2.1\nName: evil\nVersion: 1.0\nLicense: Evil{ESCAPES}License\n")
            .as_bytes(),
    );
    let policy = env.write(
        "policy.toml",
        "[licenses]\nallow = [\"MIT\"]\nunknown = \"deny\"\n",
    );
    let mut args = vec![
        s(&env.site()).to_string(),
        "--config".into(),
        s(&policy).into(),
    ];
    args.extend(env.offline_args());
    let Some((screen, title)) = dashboard(&args, "3", "evil") else {
        skip("tmux not found on PATH");
        return;
    };
    // ESC, BEL, the C1 CSI and the bidi override are gone; the rest is shown as text.
    assert_drawn_inert(&screen, &title, "Evil[2J]0;pwned31mLicense", "evil 1.0");
}

/// A loopback index (on its own runtime, kept alive by the caller) where six 1.17.0 is yanked
/// with a reason full of escape sequences.
fn registry_with_hostile_yanked_six() -> (
    tokio::runtime::Runtime,
    crate::support::registry::RegistryServer,
) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let mut dataset = crate::support::registry::Dataset::new();
    dataset
        .package("six")
        .license("MIT")
        .yanked(
            "1.17.0",
            "2024-12-04T10:00:00Z",
            Some(&format!("broken{ESCAPES}release")),
        )
        .add();
    let server = runtime.block_on(crate::support::registry::RegistryServer::start(dataset));
    (runtime, server)
}

/// An index answer (a yanked reason) carrying the same sequences, in the dashboard.
#[test]
fn terminal_dashboard_draws_hostile_registry_answers_inert() {
    let env = clean_six_env();
    let (_runtime, server) = registry_with_hostile_yanked_six();
    let args: Vec<String> = [
        s(&env.site()),
        "--pypi-url",
        &server.url(),
        "--osv-url",
        &server.url(),
        "--no-cache",
        "--no-history",
    ]
    .iter()
    .map(|a| a.to_string())
    .collect();
    let Some((screen, title)) = dashboard(&args, "3", "yanked") else {
        skip("tmux not found on PATH");
        return;
    };
    assert_drawn_inert(&screen, &title, "broken[2J]0;pwned31mrelease", "six 1.17.0");
}

/// The same yanked reason in the text report: escaped, visible, inert.
#[test]
fn terminal_registry_answer_with_escapes_is_neutralised_in_the_text_report() {
    let env = clean_six_env();
    let (_runtime, server) = registry_with_hostile_yanked_six();
    let url = server.url();
    let run = env.run(&[
        "check",
        s(&env.site()),
        "--pypi-url",
        &url,
        "--osv-url",
        &url,
        "--no-cache",
        "--no-history",
        "--progress",
        "never",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_no_raw_controls(&run.stdout);
    assert!(
        run.stdout.contains("six 1.17.0 is yanked") && run.stdout.contains("broken\\u{1b}[2J"),
        "{}",
        run.stdout
    );
}

// ---------------------------------------------------------------------------------------------
// Nothing lost

fn clean_six_env() -> Env {
    let env = Env::new();
    env.six();
    env
}

fn temp_files(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp") || n.contains(".tmp"))
        .collect()
}

#[test]
fn nothing_lost_report_through_a_symlink_writes_the_real_file_and_keeps_the_link() {
    let env = clean_six_env();
    let real = env.write("reports/real.json", "old");
    fs::set_permissions(&real, fs::Permissions::from_mode(0o640)).unwrap();
    let link = env.path("link.json");
    symlink("reports/real.json", &link).unwrap();
    let run = env.check_site_to(&link);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let written: Value = serde_json::from_str(&fs::read_to_string(&real).unwrap()).unwrap();
    assert_eq!(written["summary"]["packages"], 1);
    assert_eq!(
        fs::metadata(&real).unwrap().permissions().mode() & 0o777,
        0o640
    );
    assert!(temp_files(&env.path("reports")).is_empty());
}

/// A tmpfs mounted for the test (needs root or CAP_SYS_ADMIN; skipped otherwise), unmounted on
/// drop.
struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    fn mount(dir: PathBuf, options: &str) -> Option<Tmpfs> {
        fs::create_dir_all(&dir).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(&dir)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(Tmpfs { dir })
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.dir).status();
    }
}

#[test]
fn nothing_lost_report_on_a_full_disk_leaves_no_temp_file_and_the_old_report_intact() {
    let env = clean_six_env();
    let Some(fs_) = Tmpfs::mount(env.path("full"), "size=64k") else {
        skip("cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN)");
        return;
    };
    let report = fs_.dir.join("report.json");
    fs::write(&report, "previous report").unwrap();
    // Fill the rest of the file system.
    let filler = fs_.dir.join("filler");
    let mut file = fs::File::create(&filler).unwrap();
    let chunk = vec![b'x'; 4096];
    while std::io::Write::write_all(&mut file, &chunk).is_ok() {}
    drop(file);
    let run = env.check_site_to(&report);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("No space left on device"),
        "{}",
        run.stderr
    );
    assert_eq!(fs::read_to_string(&report).unwrap(), "previous report");
    assert!(
        temp_files(&fs_.dir).is_empty(),
        "{:?}",
        temp_files(&fs_.dir)
    );
}

#[test]
fn nothing_lost_report_into_a_read_only_directory_fails_cleanly() {
    let env = clean_six_env();
    let Some(fs_) = Tmpfs::mount(env.path("ro"), "size=1m") else {
        skip("cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN)");
        return;
    };
    let report = fs_.dir.join("report.json");
    fs::write(&report, "previous report").unwrap();
    let remounted = Command::new("mount")
        .args(["-o", "remount,ro"])
        .arg(&fs_.dir)
        .status()
        .unwrap();
    assert!(remounted.success());
    let run = env.check_site_to(&report);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("Read-only file system"),
        "{}",
        run.stderr
    );
    assert_eq!(fs::read_to_string(&report).unwrap(), "previous report");
    assert!(temp_files(&fs_.dir).is_empty());
}

#[test]
fn nothing_lost_report_cut_by_a_file_size_limit_leaves_no_temp_file() {
    let env = clean_six_env();
    let report = env.write("out/report.json", "previous report");
    let args = env.site_to_args(&report);
    let quoted: Vec<String> = std::iter::once(env!("CARGO_BIN_EXE_depdash"))
        .chain(args.iter().map(String::as_str))
        .map(|a| format!("'{}'", a.replace('\'', "'\\''")))
        .collect();
    // 1 KiB of file size allowed; SIGXFSZ ignored so the write fails with EFBIG instead.
    let run = env.run_command(Command::new("sh").arg("-c").arg(format!(
        "trap '' XFSZ; ulimit -f 1; exec {}",
        quoted.join(" ")
    )));
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("File too large"), "{}", run.stderr);
    assert_eq!(fs::read_to_string(&report).unwrap(), "previous report");
    assert!(
        temp_files(&env.path("out")).is_empty(),
        "{:?}",
        temp_files(&env.path("out"))
    );
}

#[test]
fn nothing_lost_report_to_dev_null_and_a_fifo_is_written_in_place() {
    let env = clean_six_env();
    let fifo = env.path("report.fifo");
    mkfifo(&fifo);
    let reader_path = fifo.clone();
    let reader = std::thread::spawn(move || fs::read_to_string(reader_path).unwrap());
    let run = env.check_site_to(&fifo);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let text = reader.join().unwrap();
    assert!(text.contains("\"schema_version\""));
    use std::os::unix::fs::FileTypeExt;
    assert!(fs::metadata(&fifo).unwrap().file_type().is_fifo());

    assert_eq!(env.check_site_to(Path::new("/dev/null")).code, 0);
}

#[test]
fn nothing_lost_policy_exception_edits_the_file_behind_a_symlink_and_keeps_its_mode() {
    use depdash::tui::exceptions::{ExceptionKind, PolicyException, append_exception};
    let env = Env::new();
    let real = env.write("config/depdash.toml", "[licenses]\nallow = [\"MIT\"]\n");
    fs::set_permissions(&real, fs::Permissions::from_mode(0o640)).unwrap();
    let link = env.path("depdash.toml");
    symlink("config/depdash.toml", &link).unwrap();
    append_exception(
        &link,
        &PolicyException {
            package: "paramiko".into(),
            kind: ExceptionKind::License {
                ids: vec!["LGPL-2.1-or-later".into()],
            },
            reason: "reviewed".into(),
            until: None,
        },
    )
    .unwrap();
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let text = fs::read_to_string(&real).unwrap();
    assert!(text.starts_with("[licenses]\nallow = [\"MIT\"]\n"));
    assert!(text.contains("name = \"paramiko\""));
    assert_eq!(
        fs::metadata(&real).unwrap().permissions().mode() & 0o777,
        0o640
    );
    assert!(temp_files(&env.path("config")).is_empty());
    depdash::policy::load(&real).expect("still a valid policy");
}

#[test]
fn nothing_lost_invalid_policy_exception_leaves_the_file_untouched() {
    use depdash::tui::exceptions::{ExceptionKind, PolicyException, append_exception};
    let env = Env::new();
    let original = "[licenses]\nallow = [\"MIT\"]\n";
    let path = env.write("depdash.toml", original);
    let err = append_exception(
        &path,
        &PolicyException {
            package: "x".into(),
            kind: ExceptionKind::License {
                ids: vec!["NOT AN SPDX ID((".into()],
            },
            reason: "r".into(),
            until: None,
        },
    );
    assert!(err.is_err());
    assert_eq!(fs::read_to_string(&path).unwrap(), original);
    let names: Vec<_> = fs::read_dir(env.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".depdash"))
        .collect();
    assert!(names.is_empty(), "{names:?}");
}

#[test]
fn nothing_lost_concurrent_runs_sharing_a_history_keep_every_record() {
    use depdash::perf::history::{History, RunRecord};
    let env = Env::new();
    let path = env.path("history.jsonl");
    // A torn line makes every writer take the rewrite path (read, trim, replace): the one
    // that loses records when writers are not serialised.
    fs::write(&path, "{\"torn\n").unwrap();
    let writers = 16;
    let handles: Vec<_> = (0..writers)
        .map(|i| {
            let path = path.clone();
            std::thread::spawn(move || {
                let mut history = History::open(&path).unwrap();
                let record = RunRecord {
                    at: format!("2026-01-01T00:00:{i:02}Z"),
                    fingerprint: format!("writer-{i}"),
                    cache_state: "cold".into(),
                    ..Default::default()
                };
                history.append(&record, 1000).unwrap();
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let history = History::open(&path).unwrap();
    let mut got: Vec<_> = history
        .records()
        .iter()
        .map(|r| r.fingerprint.clone())
        .collect();
    got.sort();
    let mut want: Vec<_> = (0..writers).map(|i| format!("writer-{i}")).collect();
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn nothing_lost_concurrent_processes_sharing_a_history_keep_every_record() {
    let env = clean_six_env();
    let history = env.path("history.jsonl");
    let children: Vec<_> = (0..6)
        .map(|i| {
            let mut command = Command::new(env!("CARGO_BIN_EXE_depdash"));
            command
                .args([
                    "check",
                    s(&env.site()),
                    "--offline",
                    "--no-registry",
                    "--no-cache",
                ])
                .args(["--osv-db", s(&env.path("osv")), "--progress", "never"])
                .args(["--history-file", s(&history), "-o"])
                .arg(env.path(&format!("r{i}.txt")))
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            command.spawn().unwrap()
        })
        .collect();
    let deadline = Instant::now() + RUN_TIMEOUT;
    for mut child in children {
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                assert_eq!(status.code(), Some(0));
                break;
            }
            assert!(Instant::now() < deadline, "a run hung");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    let lines = fs::read_to_string(&history).unwrap();
    assert_eq!(
        lines.lines().filter(|l| !l.trim().is_empty()).count(),
        6,
        "{lines}"
    );
}
