//! Locating the site-packages directories of an environment, in `sys.path` order, without
//! starting Python when the layout can be read from disk (venvs: `pyvenv.cfg`).
//!
//! A venv's own site-packages come first; with `include-system-site-packages = true` (also
//! CPython's default when the key is missing) the user site and the base interpreter's
//! site-packages follow, as `site.py` orders them. The base interpreter's directories are found
//! from `home =` in `pyvenv.cfg`; when none can be found that is an issue, not a guess.
//! An interpreter outside any venv is run once to print its `sys.path`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{InventoryError, InventoryIssue, InventorySource};
use crate::telemetry::tracker::Tracker;

/// How long a `--python` interpreter may take to print its `sys.path`.
const INTERPRETER_TIMEOUT: Duration = Duration::from_secs(30);

/// The program run (once) in an interpreter outside a venv. `sys.path[0]` is the `-c`
/// script's directory (`''`); the standard library is listed so it can be skipped.
const SYS_PATH_SCRIPT: &str = "import json, sys, sysconfig\n\
p = sysconfig.get_paths()\n\
print(json.dumps({'path': sys.path[1:], 'stdlib': [p.get('stdlib'), p.get('platstdlib')]}))";

/// Site-packages directories in `sys.path` order, and what could not be located.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Located {
    pub site_packages: Vec<PathBuf>,
    pub issues: Vec<InventoryIssue>,
}

/// The source to use when none was given: `$VIRTUAL_ENV`, else `./.venv` or `./venv`, else the
/// current directory when it is a venv or a site-packages directory, else the `python3` on PATH.
pub fn default_source() -> InventorySource {
    default_source_with(&HostEnv::from_process())
}

fn default_source_with(host: &HostEnv) -> InventorySource {
    if let Some(venv) = host
        .virtual_env
        .as_ref()
        .filter(|v| !v.as_os_str().is_empty())
    {
        return InventorySource::Path(venv.clone());
    }
    let cwd = host.current_dir.clone();
    for name in [".venv", "venv"] {
        let candidate = cwd.join(name);
        if candidate.join("pyvenv.cfg").is_file() {
            return InventorySource::Path(candidate);
        }
    }
    if cwd.join("pyvenv.cfg").is_file() || looks_like_site_packages(&cwd) {
        return InventorySource::Path(cwd);
    }
    // No environment here: the one a user gets by typing `python3`.
    InventorySource::Python(PathBuf::from("python3"))
}

/// The site-packages directories of `source`, in `sys.path` order. Issues found on the way
/// (e.g. a base interpreter that could not be found) are dropped; see [`locate_detailed`].
pub fn locate(source: &InventorySource) -> Result<Vec<PathBuf>, InventoryError> {
    locate_detailed(source, &Tracker::new()).map(|l| l.site_packages)
}

/// The site-packages directories of `source` with the issues met locating them. Timed as
/// `inventory.locate`.
pub fn locate_detailed(
    source: &InventorySource,
    tracker: &Tracker,
) -> Result<Located, InventoryError> {
    let _timer = tracker.start("inventory.locate");
    let host = HostEnv::from_process();
    match source {
        InventorySource::Path(path) => locate_path(path, &host),
        InventorySource::Python(exe) => locate_python(exe, &host),
        InventorySource::Requirements(files) | InventorySource::Lockfiles(files, _) => {
            Err(InventoryError::NotAnEnvironment {
                path: files.first().cloned().unwrap_or_default(),
            })
        }
    }
}

/// The parts of the process environment that locating depends on (injected in tests).
#[derive(Clone, Debug, Default)]
pub(crate) struct HostEnv {
    pub virtual_env: Option<PathBuf>,
    pub current_dir: PathBuf,
    pub home: Option<PathBuf>,
    pub python_user_base: Option<PathBuf>,
    pub no_user_site: bool,
    pub path: Option<std::ffi::OsString>,
}

impl HostEnv {
    pub fn from_process() -> Self {
        HostEnv {
            virtual_env: std::env::var_os("VIRTUAL_ENV").map(PathBuf::from),
            current_dir: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
            home: std::env::var_os("HOME")
                .or_else(|| std::env::var_os("USERPROFILE"))
                .map(PathBuf::from),
            python_user_base: std::env::var_os("PYTHONUSERBASE")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
            no_user_site: std::env::var_os("PYTHONNOUSERSITE").is_some_and(|v| !v.is_empty()),
            path: std::env::var_os("PATH"),
        }
    }
}

pub(crate) fn locate_path(path: &Path, host: &HostEnv) -> Result<Located, InventoryError> {
    let no_env = |reason: String| InventoryError::NoEnvironment {
        path: path.to_path_buf(),
        reason,
    };
    let meta = std::fs::metadata(path).map_err(|err| no_env(format!("cannot open it: {err}")))?;
    if !meta.is_dir() {
        return Err(no_env(
            "not a directory (give a project, venv or site-packages directory; use --python \
             for an interpreter or a requirements option for a requirements file)"
                .to_string(),
        ));
    }
    if path.join("pyvenv.cfg").is_file() {
        return venv_layout(path, host);
    }
    for name in [".venv", "venv"] {
        let candidate = path.join(name);
        if candidate.join("pyvenv.cfg").is_file() {
            return venv_layout(&candidate, host);
        }
    }
    let is_project = ["pyproject.toml", "setup.py", "setup.cfg"]
        .iter()
        .any(|marker| path.join(marker).is_file());
    if is_project {
        return Err(no_env(
            "a Python project without .venv/ or venv/ (create one, activate it so \
             VIRTUAL_ENV is set, or pass --python)"
                .to_string(),
        ));
    }
    if looks_like_site_packages(path) {
        return Ok(Located {
            site_packages: vec![path.to_path_buf()],
            issues: Vec::new(),
        });
    }
    // A prefix without pyvenv.cfg (a conda env, an unpacked install): its own site-packages.
    let prefix_dirs = prefix_site_packages(path, None);
    if !prefix_dirs.is_empty() {
        return Ok(Located {
            site_packages: prefix_dirs,
            issues: Vec::new(),
        });
    }
    Err(no_env(
        "no pyvenv.cfg, no .venv/ or venv/ with one, and no *.dist-info or *.egg-info entries"
            .to_string(),
    ))
}

fn looks_like_site_packages(dir: &Path) -> bool {
    if dir
        .file_name()
        .is_some_and(|n| n == "site-packages" || n == "dist-packages")
    {
        return true;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|e| {
        let name = e.file_name();
        let name = name.to_string_lossy().to_ascii_lowercase();
        name.ends_with(".dist-info") || name.ends_with(".egg-info")
    })
}

/// `key = value` lines of `pyvenv.cfg`, keys lower-cased (as `site.py` reads them).
fn read_pyvenv_cfg(venv: &Path) -> Result<Vec<(String, String)>, std::io::Error> {
    let (text, _) = crate::safe_fs::read_regular_text(
        &venv.join("pyvenv.cfg"),
        crate::safe_fs::limits::SMALL_FILE,
    )?;
    Ok(text
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect())
}

fn cfg_value<'a>(cfg: &'a [(String, String)], key: &str) -> Option<&'a str> {
    cfg.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// `3.11` from `version = 3.11.7` (venv) or `version_info = 3.11.7.final.0` (virtualenv, uv).
fn python_minor_version(cfg: &[(String, String)]) -> Option<String> {
    let full = cfg_value(cfg, "version").or_else(|| cfg_value(cfg, "version_info"))?;
    let mut parts = full.split('.');
    let major = parts.next()?.trim();
    let minor = parts.next()?.trim();
    let minor: String = minor.chars().take_while(char::is_ascii_digit).collect();
    (!major.is_empty() && !minor.is_empty() && major.chars().all(|c| c.is_ascii_digit()))
        .then(|| format!("{major}.{minor}"))
}

pub(crate) fn venv_layout(venv: &Path, host: &HostEnv) -> Result<Located, InventoryError> {
    let cfg = read_pyvenv_cfg(venv).map_err(|err| InventoryError::NoEnvironment {
        path: venv.to_path_buf(),
        reason: format!("cannot read pyvenv.cfg: {err}"),
    })?;
    let version = python_minor_version(&cfg);
    let mut located = Located::default();
    let own = prefix_site_packages(venv, version.as_deref());
    if own.is_empty() {
        return Err(InventoryError::NoEnvironment {
            path: venv.to_path_buf(),
            reason: "virtual environment has no lib/python3.X/site-packages (or Lib/site-packages)"
                .to_string(),
        });
    }
    // Without a version in pyvenv.cfg and several lib/pythonX.Y dirs, the interpreter would use
    // only one of them; scanning all could list packages it does not see.
    if version.is_none() && own.len() > 1 {
        located.issues.push(InventoryIssue::new(
            venv.join("pyvenv.cfg"),
            format!(
                "no Python version in pyvenv.cfg and {} site-packages directories; all are \
                 scanned",
                own.len()
            ),
        ));
    }
    located.site_packages = own;

    // site.py: a missing key means true.
    let system_site = cfg_value(&cfg, "include-system-site-packages")
        .is_none_or(|v| v.eq_ignore_ascii_case("true"));
    if !system_site {
        return Ok(located);
    }
    if let (Some(user_site), Some(version)) = (user_site_packages(host), version.as_deref()) {
        let dir = user_site
            .join(format!("python{version}"))
            .join("site-packages");
        if dir.is_dir() {
            located.site_packages.push(dir);
        }
    }
    let base = cfg_value(&cfg, "home").map(PathBuf::from);
    let base_dirs = base
        .as_deref()
        .map(|home| base_site_packages(home, version.as_deref()))
        .unwrap_or_default();
    if base_dirs.is_empty() {
        located.issues.push(
            InventoryIssue::new(
                venv.join("pyvenv.cfg"),
                format!(
                    "include-system-site-packages = true, but the base interpreter's site-packages \
                 could not be found from home = {}; packages installed there are not listed \
                 (use --python to ask the interpreter)",
                    base.as_deref()
                        .map(|h| h.display().to_string())
                        .unwrap_or_else(|| "(missing)".into())
                ),
            )
            .blocking(),
        );
    }
    located.site_packages.extend(base_dirs);
    Ok(located)
}

/// `~/.local/lib` (or `$PYTHONUSERBASE/lib`): the user site's parent, unless disabled.
fn user_site_packages(host: &HostEnv) -> Option<PathBuf> {
    if host.no_user_site {
        return None;
    }
    let base = host
        .python_user_base
        .clone()
        .or_else(|| host.home.as_ref().map(|h| h.join(".local")))?;
    Some(base.join("lib"))
}

/// Existing site-packages directories under an installation prefix, platlib first.
fn prefix_site_packages(prefix: &Path, version: Option<&str>) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    for lib in ["lib64", "lib"] {
        let lib_dir = prefix.join(lib);
        match version {
            Some(version) => {
                for interp in ["python", "pypy"] {
                    dirs.push(
                        lib_dir
                            .join(format!("{interp}{version}"))
                            .join("site-packages"),
                    );
                    dirs.push(
                        lib_dir
                            .join(format!("{interp}{version}t"))
                            .join("site-packages"),
                    );
                }
            }
            None => {
                let Ok(entries) = std::fs::read_dir(&lib_dir) else {
                    continue;
                };
                let mut found: Vec<PathBuf> = entries
                    .flatten()
                    .filter(|e| {
                        let name = e.file_name();
                        let name = name.to_string_lossy();
                        name.starts_with("python3") || name.starts_with("pypy3")
                    })
                    .map(|e| e.path().join("site-packages"))
                    .collect();
                found.sort();
                dirs.extend(found);
            }
        }
    }
    dirs.push(prefix.join("Lib").join("site-packages"));
    existing_unique(dirs)
}

/// The base interpreter's site-packages from `home` (the directory holding its executable):
/// the prefix is `home/..` on POSIX and `home` itself on Windows. Debian's `dist-packages`
/// layout is included.
fn base_site_packages(home: &Path, version: Option<&str>) -> Vec<PathBuf> {
    let mut prefixes = Vec::new();
    if home.file_name().is_some_and(|n| n == "bin") {
        prefixes.extend(home.parent().map(Path::to_path_buf));
    }
    prefixes.push(home.to_path_buf());
    let mut dirs = Vec::new();
    for prefix in prefixes {
        dirs.extend(prefix_site_packages(&prefix, version));
        if let Some(version) = version {
            dirs.push(
                prefix
                    .join("local/lib")
                    .join(format!("python{version}"))
                    .join("dist-packages"),
            );
            dirs.push(prefix.join("lib/python3/dist-packages"));
            dirs.push(
                prefix
                    .join("lib")
                    .join(format!("python{version}"))
                    .join("dist-packages"),
            );
        }
    }
    existing_unique(dirs)
}

/// Directories that exist, each once (by canonical path: `lib64` is often a link to `lib`).
fn existing_unique(dirs: Vec<PathBuf>) -> Vec<PathBuf> {
    let mut seen = std::collections::HashSet::new();
    dirs.into_iter()
        .filter(|d| d.is_dir())
        .filter(|d| seen.insert(std::fs::canonicalize(d).unwrap_or_else(|_| d.clone())))
        .collect()
}

pub(crate) fn locate_python(exe: &Path, host: &HostEnv) -> Result<Located, InventoryError> {
    let exe = resolve_executable(exe, host)?;
    // site.py looks for pyvenv.cfg next to the executable and one level up; the executable is
    // not resolved through symlinks (a venv's python links to the base interpreter).
    let exe_dir = exe.parent().unwrap_or(Path::new("."));
    for dir in [Some(exe_dir), exe_dir.parent()].into_iter().flatten() {
        if dir.join("pyvenv.cfg").is_file() {
            let venv = exe_dir.parent().unwrap_or(exe_dir);
            return venv_layout(venv, host);
        }
    }
    interpreter_sys_path(&exe)
}

fn resolve_executable(exe: &Path, host: &HostEnv) -> Result<PathBuf, InventoryError> {
    let not_found = |message: String| InventoryError::Interpreter {
        path: exe.to_path_buf(),
        message,
    };
    let bare_name = exe.components().count() == 1 && !exe.is_absolute();
    if bare_name && !exe.exists() {
        let search = host.path.clone().unwrap_or_default();
        return std::env::split_paths(&search)
            .map(|dir| dir.join(exe))
            .find(|candidate| candidate.is_file())
            .ok_or_else(|| not_found("not found on PATH".to_string()));
    }
    match std::fs::metadata(exe) {
        Ok(meta) if meta.is_file() => Ok(std::path::absolute(exe).unwrap_or(exe.to_path_buf())),
        Ok(_) => Err(not_found("not a file".to_string())),
        Err(err) => Err(not_found(format!("cannot use it: {err}"))),
    }
}

#[derive(serde::Deserialize)]
struct SysPathAnswer {
    path: Vec<String>,
    #[serde(default)]
    stdlib: Vec<Option<String>>,
}

/// Run the interpreter once and keep its `sys.path` entries that can hold installed
/// distributions: existing directories outside the standard library.
fn interpreter_sys_path(exe: &Path) -> Result<Located, InventoryError> {
    let fail = |message: String| InventoryError::Interpreter {
        path: exe.to_path_buf(),
        message,
    };
    let mut child = Command::new(exe)
        .arg("-c")
        .arg(SYS_PATH_SCRIPT)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|err| fail(format!("cannot run it: {err}")))?;
    let mut stdout_pipe = child.stdout.take();
    let mut stderr_pipe = child.stderr.take();
    // Drain stdout on a thread so a chatty interpreter cannot block on a full pipe.
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        if let Some(pipe) = stdout_pipe.as_mut() {
            let _ = pipe.take(1 << 20).read_to_end(&mut out);
        }
        out
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > INTERPRETER_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(fail(format!(
                    "did not answer within {} s",
                    INTERPRETER_TIMEOUT.as_secs()
                )));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(err) => return Err(fail(format!("waiting for it failed: {err}"))),
        }
    };
    let stdout = reader.join().unwrap_or_default();
    if !status.success() {
        let mut stderr = String::new();
        if let Some(pipe) = stderr_pipe.as_mut() {
            let _ = pipe.take(4096).read_to_string(&mut stderr);
        }
        return Err(fail(format!(
            "exited with {status} while printing sys.path: {}",
            stderr.trim()
        )));
    }
    let answer: SysPathAnswer = serde_json::from_slice(&stdout).map_err(|err| {
        fail(format!(
            "printed something that is not the expected JSON ({err}): {}",
            String::from_utf8_lossy(&stdout[..stdout.len().min(200)])
        ))
    })?;
    let stdlib: Vec<PathBuf> = answer
        .stdlib
        .into_iter()
        .flatten()
        .map(PathBuf::from)
        .collect();
    let dirs = answer
        .path
        .into_iter()
        .filter(|entry| !entry.is_empty())
        .map(PathBuf::from)
        .filter(|entry| !stdlib.iter().any(|lib| entry.starts_with(lib)) || is_site_dir(entry))
        .collect();
    Ok(Located {
        site_packages: existing_unique(dirs),
        issues: Vec::new(),
    })
}

fn is_site_dir(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n == "site-packages" || n == "dist-packages")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn host(dir: &Path) -> HostEnv {
        HostEnv {
            current_dir: dir.to_path_buf(),
            home: Some(dir.join("no-home")),
            ..HostEnv::default()
        }
    }

    fn make_venv(root: &Path, cfg: &str, version: &str) -> PathBuf {
        let site = root
            .join("lib")
            .join(format!("python{version}"))
            .join("site-packages");
        fs::create_dir_all(&site).unwrap();
        fs::write(root.join("pyvenv.cfg"), cfg).unwrap();
        site
    }

    #[test]
    fn venv_without_system_site_is_only_its_own_site_packages() {
        let tmp = tempfile::tempdir().unwrap();
        let venv = tmp.path().join("v");
        let site = make_venv(
            &venv,
            "home = /nonexistent/bin\ninclude-system-site-packages = false\nversion = 3.11.7\n",
            "3.11",
        );
        let located = venv_layout(&venv, &host(tmp.path())).unwrap();
        assert_eq!(located.site_packages, [site]);
        assert!(located.issues.is_empty());
    }

    #[test]
    fn system_site_packages_follow_venv_then_user_site_then_base() {
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path().join("base");
        let base_site = base.join("lib/python3.12/site-packages");
        fs::create_dir_all(&base_site).unwrap();
        fs::create_dir_all(base.join("bin")).unwrap();
        let user_site = tmp.path().join("userbase/lib/python3.12/site-packages");
        fs::create_dir_all(&user_site).unwrap();
        let venv = tmp.path().join("v");
        let site = make_venv(
            &venv,
            &format!(
                "home = {}\ninclude-system-site-packages = True\nversion_info = 3.12.1.final.0\n",
                base.join("bin").display()
            ),
            "3.12",
        );
        let mut env = host(tmp.path());
        env.python_user_base = Some(tmp.path().join("userbase"));
        let located = venv_layout(&venv, &env).unwrap();
        assert_eq!(
            located.site_packages,
            [site.clone(), user_site, base_site.clone()]
        );

        env.no_user_site = true;
        let located = venv_layout(&venv, &env).unwrap();
        assert_eq!(located.site_packages, [site, base_site]);
    }

    #[test]
    fn unlocatable_base_interpreter_is_an_issue_not_a_failure() {
        let tmp = tempfile::tempdir().unwrap();
        let venv = tmp.path().join("v");
        let site = make_venv(
            &venv,
            "home = /nonexistent/python/bin\ninclude-system-site-packages = true\nversion = 3.11.2\n",
            "3.11",
        );
        let located = venv_layout(&venv, &host(tmp.path())).unwrap();
        assert_eq!(located.site_packages, [site]);
        assert_eq!(located.issues.len(), 1);
        assert!(
            located.issues[0]
                .message
                .contains("/nonexistent/python/bin")
        );
    }

    #[test]
    fn debian_dist_packages_of_the_base_are_found() {
        let tmp = tempfile::tempdir().unwrap();
        let usr = tmp.path().join("usr");
        fs::create_dir_all(usr.join("bin")).unwrap();
        let local = usr.join("local/lib/python3.11/dist-packages");
        let shared = usr.join("lib/python3/dist-packages");
        fs::create_dir_all(&local).unwrap();
        fs::create_dir_all(&shared).unwrap();
        let dirs = base_site_packages(&usr.join("bin"), Some("3.11"));
        assert_eq!(dirs, [local, shared]);
    }

    #[test]
    #[cfg(unix)]
    fn lib64_link_to_lib_is_scanned_once() {
        let tmp = tempfile::tempdir().unwrap();
        let venv = tmp.path().join("v");
        let site = make_venv(
            &venv,
            "include-system-site-packages = false\nversion = 3.11\n",
            "3.11",
        );
        std::os::unix::fs::symlink("lib", venv.join("lib64")).unwrap();
        let located = venv_layout(&venv, &host(tmp.path())).unwrap();
        assert_eq!(located.site_packages.len(), 1);
        assert_eq!(
            fs::canonicalize(&located.site_packages[0]).unwrap(),
            fs::canonicalize(site).unwrap()
        );
    }

    #[test]
    fn project_dir_uses_dot_venv_then_venv() {
        let tmp = tempfile::tempdir().unwrap();
        let site = make_venv(
            &tmp.path().join("venv"),
            "include-system-site-packages = false\nversion = 3.11.7\n",
            "3.11",
        );
        let located = locate_path(tmp.path(), &host(tmp.path())).unwrap();
        assert_eq!(located.site_packages, [site]);
        let dot_site = make_venv(
            &tmp.path().join(".venv"),
            "include-system-site-packages = false\nversion = 3.11.7\n",
            "3.11",
        );
        let located = locate_path(tmp.path(), &host(tmp.path())).unwrap();
        assert_eq!(located.site_packages, [dot_site]);
    }

    #[test]
    fn default_source_prefers_virtual_env_then_local_venvs_then_cwd_then_python3() {
        let tmp = tempfile::tempdir().unwrap();
        let mut env = host(tmp.path());
        assert_eq!(
            default_source_with(&env),
            InventorySource::Python(PathBuf::from("python3"))
        );
        std::fs::create_dir(tmp.path().join("six-1.17.0.dist-info")).unwrap();
        assert_eq!(
            default_source_with(&env),
            InventorySource::Path(tmp.path().to_path_buf())
        );
        make_venv(&tmp.path().join(".venv"), "version = 3.11\n", "3.11");
        assert_eq!(
            default_source_with(&env),
            InventorySource::Path(tmp.path().join(".venv"))
        );
        env.virtual_env = Some(PathBuf::from("/somewhere/else"));
        assert_eq!(
            default_source_with(&env),
            InventorySource::Path(PathBuf::from("/somewhere/else"))
        );
    }

    #[test]
    fn interpreter_in_a_venv_is_not_started() {
        let tmp = tempfile::tempdir().unwrap();
        let venv = tmp.path().join("v");
        let site = make_venv(
            &venv,
            "include-system-site-packages = false\nversion = 3.11\n",
            "3.11",
        );
        fs::create_dir_all(venv.join("bin")).unwrap();
        // Not executable and not Python: starting it would fail, so success proves it wasn't.
        fs::write(venv.join("bin/python"), "not a program").unwrap();
        let located = locate_python(&venv.join("bin/python"), &host(tmp.path())).unwrap();
        assert_eq!(located.site_packages, [site]);
    }

    #[test]
    fn missing_or_broken_interpreters_are_errors() {
        let tmp = tempfile::tempdir().unwrap();
        let err = locate_python(&tmp.path().join("nope/python"), &host(tmp.path())).unwrap_err();
        assert!(matches!(err, InventoryError::Interpreter { .. }), "{err}");
        let err =
            locate_python(Path::new("depdash-no-such-python"), &host(tmp.path())).unwrap_err();
        assert!(err.to_string().contains("not found on PATH"), "{err}");
        let fake = tmp.path().join("python");
        fs::write(&fake, "not a program").unwrap();
        let err = locate_python(&fake, &host(tmp.path())).unwrap_err();
        assert!(err.to_string().contains("cannot run it"), "{err}");
    }

    #[test]
    #[cfg(unix)]
    fn interpreter_answering_nonsense_is_an_error() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let fake = tmp.path().join("python");
        fs::write(&fake, "#!/bin/sh\necho hello\n").unwrap();
        fs::set_permissions(&fake, fs::Permissions::from_mode(0o755)).unwrap();
        let err = locate_python(&fake, &host(tmp.path())).unwrap_err();
        assert!(err.to_string().contains("not the expected JSON"), "{err}");
    }

    #[test]
    fn site_packages_dir_and_unknown_dirs() {
        let tmp = tempfile::tempdir().unwrap();
        let site = tmp.path().join("anything");
        fs::create_dir_all(site.join("foo-1.0.dist-info")).unwrap();
        assert_eq!(
            locate_path(&site, &host(tmp.path())).unwrap().site_packages,
            [site]
        );
        let empty = tmp.path().join("empty");
        fs::create_dir_all(&empty).unwrap();
        let err = locate_path(&empty, &host(tmp.path())).unwrap_err();
        assert!(matches!(err, InventoryError::NoEnvironment { .. }));
        let err = locate_path(&tmp.path().join("missing"), &host(tmp.path())).unwrap_err();
        assert!(err.to_string().contains("cannot open it"), "{err}");
        // A project's own `*.egg-info` (left by `setup.py egg_info`) is not an environment.
        let project = tmp.path().join("project");
        fs::create_dir_all(project.join("project.egg-info")).unwrap();
        fs::write(
            project.join("pyproject.toml"),
            "[project]\nname = 'project'\n",
        )
        .unwrap();
        let err = locate_path(&project, &host(tmp.path())).unwrap_err();
        assert!(err.to_string().contains("without .venv/"), "{err}");
    }
}
