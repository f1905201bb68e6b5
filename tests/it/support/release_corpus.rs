//! Per-release JSON documents generated from real installed metadata: each `METADATA`/`PKG-INFO`
//! under the fixtures becomes the `/pypi/<name>/<version>/json` document PyPI serves for that
//! release (shape from the real `pypi/requests-2.31.0.json` fixture; `license`,
//! `license_expression` and `classifiers` from the metadata, as Warehouse copies them).

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The metadata fields Warehouse copies into `info`, from an RFC 822 header block (continuation
/// lines folded into the field, as the core metadata spec says).
fn header_fields(text: &str) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = fields.last_mut() {
                value.push('\n');
                value.push_str(line.trim_start());
            }
            continue;
        }
        if let Some((key, value)) = line.split_once(':') {
            fields.push((key.trim().to_string(), value.trim().to_string()));
        }
    }
    fields
}

/// One release document per project among the real fixtures' metadata directories (directories
/// only: the single-file egg-info is a local build no index knows). The older single specimens
/// (`metadata/`: numpy 1.26.4, requests 2.31.0) come first and win over newer releases of the
/// same project, so the corpus has old pins.
pub fn release_documents() -> Vec<Value> {
    let template: Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join("pypi/requests-2.31.0.json")).unwrap(),
    )
    .unwrap();
    let mut documents = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for root in ["metadata", "site-packages-real"] {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(fixtures().join(root))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_dir())
            .collect();
        dirs.sort();
        for dir in dirs {
            let file = ["METADATA", "PKG-INFO"]
                .iter()
                .map(|f| dir.join(f))
                .find(|p| p.exists())
                .expect("metadata file");
            let text = String::from_utf8_lossy(&std::fs::read(file).unwrap()).into_owned();
            let doc = document(&template, &header_fields(&text));
            let name = doc["info"]["name"]
                .as_str()
                .unwrap()
                .to_lowercase()
                .replace(['_', '.'], "-");
            if seen.insert(name) {
                documents.push(doc);
            }
        }
    }
    documents
}

fn document(template: &Value, fields: &[(String, String)]) -> Value {
    let one = |key: &str| {
        fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.clone())
    };
    let classifiers: Vec<&String> = fields
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("Classifier"))
        .map(|(_, v)| v)
        .collect();
    let name = one("Name").expect("Name");
    let version = one("Version").expect("Version");
    let mut doc = template.clone();
    let info = &mut doc["info"];
    info["name"] = json!(name);
    info["version"] = json!(version);
    info["license"] = json!(one("License"));
    info["license_expression"] = json!(one("License-Expression"));
    info["classifiers"] = json!(classifiers);
    info["summary"] = json!(one("Summary"));
    let stem = format!("{}-{version}", name.replace(['-', '.'], "_").to_lowercase());
    for (file, suffix) in doc["urls"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .zip(["-py3-none-any.whl", ".tar.gz"])
    {
        file["filename"] = json!(format!("{stem}{suffix}"));
    }
    doc
}
