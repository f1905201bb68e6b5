//! Synthetic site-packages for benchmarks and tests: a realistic environment of any size,
//! generated deterministically from a seed.
//!
//! The metadata templates follow the real files in `tests/fixtures/site-packages-real`:
//! PEP 639 wheels (Metadata 2.4, `License-Expression`, `licenses/LICENSE`), classifier-only
//! wheels, a short `License:` field, a whole license text in `License:` (numpy 1.26 style),
//! no license information at all, and legacy egg-info (directories with `requires.txt`, and
//! single files). Every package has an import package directory next to its metadata, a
//! README body of varying length after the header, and `Requires-Dist` edges to packages
//! generated before it (so dependency paths exist and the graph is acyclic). Names vary in
//! spelling (`Foo_Bar`, `foo.bar`, `foo-bar`) to exercise PEP 503 normalisation.

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::Path;

/// SplitMix64: tiny, fast, and the same sequence on every platform.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const PREFIXES: &[&str] = &[
    "",
    "",
    "",
    "py",
    "django-",
    "flask-",
    "azure-",
    "google-cloud-",
    "types-",
    "pytest-",
];
const WORDS: &[&str] = &[
    "requests", "yaml", "toolbelt", "cache", "retry", "auth", "json", "schema", "client", "utils",
    "parser", "async", "http", "crypto", "config", "logging", "metrics", "format", "color",
    "storage", "queue", "sql", "image", "math", "tz", "grpc", "proto", "cli",
];
const EXPRESSIONS: &[&str] = &[
    "MIT",
    "MIT",
    "Apache-2.0",
    "BSD-3-Clause",
    "Apache-2.0 OR BSD-2-Clause",
    "MPL-2.0",
    "ISC",
    "PSF-2.0",
    "LGPL-2.1-or-later",
    "BSD-3-Clause AND MIT AND Zlib",
];
const CLASSIFIERS: &[&str] = &[
    "License :: OSI Approved :: MIT License",
    "License :: OSI Approved :: Apache Software License",
    "License :: OSI Approved :: BSD License",
    "License :: OSI Approved :: Mozilla Public License 2.0 (MPL 2.0)",
    "License :: OSI Approved :: GNU Lesser General Public License v2 or later (LGPLv2+)",
    "License :: Public Domain",
];
const LICENSE_FIELDS: &[&str] = &[
    "MIT",
    "Apache 2.0",
    "BSD",
    "BSD-3-Clause",
    "LGPL with exceptions",
    "Apache Software License",
    "MPL-2.0",
];
const BSD_TEXT: &str = "Copyright (c) 2005-2023, The Project Developers.\nAll rights reserved.\n\n\
Redistribution and use in source and binary forms, with or without\nmodification, are permitted \
provided that the following conditions are\nmet:\n\n    * Redistributions of source code must retain \
the above copyright\n       notice, this list of conditions and the following disclaimer.\n\n\
    * Neither the name of the copyright holder nor the names of any\n       contributors may be used \
to endorse or promote products derived\n       from this software without specific prior written \
permission.\n\nTHIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS\n\"AS IS\" AND ANY \
EXPRESS OR IMPLIED WARRANTIES ARE DISCLAIMED.";
const README_LINE: &str =
    "This library does one thing well and is used by many other packages in this environment.\n";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Template {
    Pep639,
    ClassifiersOnly,
    LicenseField,
    LongLicenseText,
    NoLicense,
    EggInfoDir,
    EggInfoFile,
}

impl Template {
    fn choose(rng: &mut Rng) -> Template {
        match rng.below(100) {
            0..40 => Template::Pep639,
            40..60 => Template::ClassifiersOnly,
            60..75 => Template::LicenseField,
            75..83 => Template::LongLicenseText,
            83..90 => Template::NoLicense,
            90..97 => Template::EggInfoDir,
            _ => Template::EggInfoFile,
        }
    }
}

/// One generated package.
struct Package {
    /// As `Name:` spells it.
    name: String,
    /// PEP 503 form, used in `Requires-Dist`.
    normalized: String,
    version: String,
}

/// Write `count` distributions into `dir` (created if missing). The same `count` and `seed`
/// always give the same files; distinct packages have distinct normalized names.
pub fn write_site_packages(dir: &Path, count: usize, seed: u64) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    let mut rng = Rng(seed);
    let mut packages: Vec<Package> = Vec::with_capacity(count);
    for index in 0..count {
        let package = make_package(&mut rng, index);
        let template = Template::choose(&mut rng);
        let header = header(&mut rng, template, &package, &packages);
        write_package(dir, &mut rng, template, &package, &header, &packages)?;
        packages.push(package);
    }
    Ok(())
}

fn make_package(rng: &mut Rng, index: usize) -> Package {
    let prefix = rng.pick(PREFIXES);
    let word = rng.pick(WORDS);
    let normalized = format!("{prefix}{word}-{index}");
    let name = match rng.below(4) {
        0 => normalized.clone(),
        1 => normalized.replace('-', "_"),
        2 => normalized.replacen('-', ".", 1),
        _ => {
            let mut chars = normalized.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        }
    };
    let version = match rng.below(10) {
        0 => format!(
            "{}.{}.post{}",
            rng.below(5),
            rng.below(20),
            rng.below(3) + 1
        ),
        1 => format!(
            "{}.{}.0rc{}",
            rng.below(5) + 1,
            rng.below(20),
            rng.below(3) + 1
        ),
        2 => format!("20{}.{}", 20 + rng.below(6), rng.below(12) + 1),
        _ => format!("{}.{}.{}", rng.below(5), rng.below(30), rng.below(15)),
    };
    Package {
        name,
        normalized,
        version,
    }
}

fn header(rng: &mut Rng, template: Template, package: &Package, earlier: &[Package]) -> String {
    let metadata_version = match template {
        Template::Pep639 => "2.4",
        Template::EggInfoFile => "1.1",
        _ => "2.1",
    };
    let mut h = String::with_capacity(1024);
    let _ = writeln!(h, "Metadata-Version: {metadata_version}");
    let _ = writeln!(h, "Name: {}", package.name);
    let _ = writeln!(h, "Version: {}", package.version);
    let _ = writeln!(h, "Summary: {} for Python", rng.pick(WORDS));
    let _ = writeln!(h, "Home-page: https://example.org/{}", package.normalized);
    let _ = writeln!(h, "Author-email: Maintainers <dev@example.org>");
    match template {
        Template::Pep639 => {
            let _ = writeln!(h, "License-Expression: {}", rng.pick(EXPRESSIONS));
            let _ = writeln!(h, "License-File: LICENSE");
        }
        Template::ClassifiersOnly => {
            let _ = writeln!(h, "Classifier: {}", rng.pick(CLASSIFIERS));
            let _ = writeln!(h, "License-File: LICENSE");
        }
        Template::LicenseField | Template::EggInfoDir | Template::EggInfoFile => {
            let _ = writeln!(h, "License: {}", rng.pick(LICENSE_FIELDS));
            if rng.below(2) == 0 {
                let _ = writeln!(h, "Classifier: {}", rng.pick(CLASSIFIERS));
            }
        }
        Template::LongLicenseText => {
            let _ = writeln!(h, "License: {}", BSD_TEXT.replace('\n', "\n        "));
        }
        Template::NoLicense => {}
    }
    let _ = writeln!(h, "Classifier: Programming Language :: Python :: 3");
    let _ = writeln!(h, "Classifier: Operating System :: OS Independent");
    let _ = writeln!(h, "Requires-Python: >=3.8");
    if template != Template::EggInfoDir {
        for requirement in dependencies(rng, earlier) {
            let _ = writeln!(h, "Requires-Dist: {requirement}");
        }
    }
    let _ = writeln!(h, "Description-Content-Type: text/markdown");
    h
}

/// 0–4 requirements on earlier packages, some with version ranges, extras and markers.
fn dependencies(rng: &mut Rng, earlier: &[Package]) -> Vec<String> {
    if earlier.is_empty() {
        return Vec::new();
    }
    let wanted = rng.below(5).min(earlier.len());
    let mut out: Vec<String> = Vec::with_capacity(wanted);
    for _ in 0..wanted {
        let dep = &earlier[rng.below(earlier.len())];
        let requirement = match rng.below(5) {
            0 => dep.normalized.clone(),
            1 => format!("{}>=0.1", dep.normalized),
            2 => format!("{}[extra]<99; python_version >= \"3.8\"", dep.normalized),
            3 => format!("{}; extra == \"test\"", dep.normalized),
            _ => format!("{}!=0.0.1,>=0.1", dep.normalized),
        };
        if !out.contains(&requirement) {
            out.push(requirement);
        }
    }
    out
}

fn write_package(
    dir: &Path,
    rng: &mut Rng,
    template: Template,
    package: &Package,
    header: &str,
    earlier: &[Package],
) -> io::Result<()> {
    let escaped = package.normalized.replace('-', "_");
    let body_lines = match rng.below(10) {
        0 => 0,
        1..=6 => 5 + rng.below(60),
        _ => 100 + rng.below(400),
    };
    let mut metadata = String::with_capacity(header.len() + 1 + body_lines * README_LINE.len());
    metadata.push_str(header);
    metadata.push('\n');
    let _ = writeln!(metadata, "# {}\n", package.name);
    for _ in 0..body_lines {
        metadata.push_str(README_LINE);
    }
    fs::create_dir_all(dir.join(&escaped))?;
    fs::write(dir.join(&escaped).join("__init__.py"), "")?;
    match template {
        Template::EggInfoFile => {
            let file = dir.join(format!("{escaped}-{}-py3.11.egg-info", package.version));
            fs::write(file, metadata)
        }
        Template::EggInfoDir => {
            let info = dir.join(format!("{escaped}-{}-py3.11.egg-info", package.version));
            fs::create_dir_all(&info)?;
            fs::write(info.join("PKG-INFO"), metadata)?;
            let mut requires = dependencies(rng, earlier)
                .into_iter()
                .filter(|r| !r.contains(';'))
                .collect::<Vec<_>>()
                .join("\n");
            if !earlier.is_empty() && rng.below(2) == 0 {
                let dep = &earlier[rng.below(earlier.len())];
                let _ = write!(requires, "\n\n[test]\n{}", dep.normalized);
            }
            fs::write(info.join("requires.txt"), requires)?;
            fs::write(info.join("top_level.txt"), format!("{escaped}\n"))
        }
        _ => {
            let info = dir.join(format!("{escaped}-{}.dist-info", package.version));
            fs::create_dir_all(&info)?;
            fs::write(info.join("METADATA"), metadata)?;
            fs::write(
                info.join("WHEEL"),
                "Wheel-Version: 1.0\nGenerator: synthetic\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
            )?;
            fs::write(info.join("INSTALLER"), "pip\n")?;
            fs::write(
                info.join("RECORD"),
                format!(
                    "{escaped}/__init__.py,,\n{escaped}-{}.dist-info/METADATA,,\n",
                    package.version
                ),
            )?;
            let license_text = format!("Copyright (c) {}\n\n{BSD_TEXT}\n", package.name);
            match template {
                Template::Pep639 => {
                    fs::create_dir_all(info.join("licenses"))?;
                    fs::write(info.join("licenses").join("LICENSE"), license_text)
                }
                Template::NoLicense => Ok(()),
                _ => fs::write(info.join("LICENSE"), license_text),
            }
        }
    }
}
