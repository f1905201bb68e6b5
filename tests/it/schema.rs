//! The documented JSON report schema (`assets/report.schema.json`) matches what `check` writes:
//! a small validator for the schema keywords the file uses (type, required, properties, items,
//! enum, const, additionalProperties, propertyNames), run over a real report with every section
//! filled.

use serde_json::Value;

use crate::support::registry::{RegistryServer, dataset_for};
use crate::support::site_packages::{copy_tree, real_site_packages};

fn type_matches(expected: &str, value: &Value) -> bool {
    match expected {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "number" => value.is_number(),
        "integer" => value.is_u64() || value.is_i64(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        other => panic!("schema uses unsupported type {other}"),
    }
}

/// Every violation, as `path: problem`.
fn validate(schema: &Value, value: &Value, path: &str, errors: &mut Vec<String>) {
    if let Some(t) = schema.get("type") {
        let ok = match t {
            Value::String(s) => type_matches(s, value),
            Value::Array(types) => types
                .iter()
                .any(|t| type_matches(t.as_str().unwrap(), value)),
            _ => panic!("bad type keyword at {path}"),
        };
        if !ok {
            errors.push(format!("{path}: expected type {t}, found {value}"));
            return;
        }
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        errors.push(format!("{path}: {value} not in {allowed:?}"));
    }
    if let Some(constant) = schema.get("const")
        && constant != value
    {
        errors.push(format!("{path}: expected {constant}, found {value}"));
    }
    if let Some(object) = value.as_object() {
        for key in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if !object.contains_key(key.as_str().unwrap()) {
                errors.push(format!("{path}: missing required {key}"));
            }
        }
        if let Some(names) = schema.get("propertyNames") {
            for key in object.keys() {
                validate(
                    names,
                    &Value::from(key.as_str()),
                    &format!("{path}.{key} (name)"),
                    errors,
                );
            }
        }
        let properties = schema.get("properties").and_then(Value::as_object);
        for (key, child) in object {
            let child_path = format!("{path}.{key}");
            match properties.and_then(|p| p.get(key)) {
                Some(child_schema) => validate(child_schema, child, &child_path, errors),
                None => match schema.get("additionalProperties") {
                    Some(extra) if extra.is_object() => validate(extra, child, &child_path, errors),
                    _ if properties.is_some() => {
                        errors.push(format!("{child_path}: not documented in the schema"))
                    }
                    _ => {}
                },
            }
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (i, item) in array.iter().enumerate() {
            validate(items, item, &format!("{path}[{i}]"), errors);
        }
    }
}

/// Panics with every violation when `report` does not match the documented schema.
pub fn assert_matches_schema(report: &Value) {
    let schema: Value = serde_json::from_str(include_str!("../../assets/report.schema.json"))
        .expect("schema is JSON");
    let mut errors = Vec::new();
    validate(&schema, report, "$", &mut errors);
    assert!(
        errors.is_empty(),
        "report does not match the schema:\n{}",
        errors.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_report_matches_the_documented_schema() {
    let schema: Value = serde_json::from_str(include_str!("../../assets/report.schema.json"))
        .expect("schema is JSON");
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site-packages");
    copy_tree(&real_site_packages(), &site);
    // A policy that produces findings of several checks and unknowns.
    let policy = dir.path().join("depdash.toml");
    std::fs::write(
        &policy,
        "[licenses]\nallow = [\"MIT\"]\n[packages]\ndeny = [\"six\"]\n[health]\noutdated = \"warn\"\n",
    )
    .unwrap();
    let packages = vec![
        ("requests".to_string(), "2.34.2".to_string()),
        ("six".to_string(), "1.17.0".to_string()),
    ];
    let server = RegistryServer::start(dataset_for(&packages, 1)).await;
    let url = server.url();
    let report_path = dir.path().join("report.json");
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_depdash"))
        .arg("check")
        .arg(&site)
        .args(["--pypi-url", &url, "--osv-url", &url, "--no-history"])
        .arg("--cache-dir")
        .arg(dir.path().join("cache"))
        .arg("--config")
        .arg(&policy)
        .args(["--format", "json", "--output"])
        .arg(&report_path)
        .output()
        .await
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&report_path).unwrap()).unwrap();
    // Every section the schema describes is exercised.
    for section in ["packages", "findings", "unknowns"] {
        assert!(
            !report[section].as_array().unwrap().is_empty(),
            "{section} empty"
        );
    }
    assert!(
        report["packages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| !p["vulnerabilities"].as_array().unwrap().is_empty())
    );
    let mut errors = Vec::new();
    validate(&schema, &report, "$", &mut errors);
    assert!(
        errors.is_empty(),
        "report does not match the schema:\n{}",
        errors.join("\n")
    );

    // The validator itself rejects what it should.
    let mut broken = report.clone();
    broken["summary"]["outcome"] = "fine".into();
    broken["packages"][0]
        .as_object_mut()
        .unwrap()
        .remove("version");
    broken["findings"][0]["surprise"] = 1.into();
    broken["metrics"]["milestones"]["lunch"] = 1.into();
    let mut errors = Vec::new();
    validate(&schema, &broken, "$", &mut errors);
    assert_eq!(errors.len(), 4, "{errors:?}");
}
