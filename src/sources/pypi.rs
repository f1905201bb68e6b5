//! PyPI JSON API client: what the index says about one installed release (on the index at all,
//! yanked and why, latest version, upload time, license) from ONE request per package.
//!
//! Why the project document (`/pypi/<name>/json`) and not the per-version one: the per-version
//! document cannot tell the latest version (its `info.version` is the requested version, and it
//! has no `releases`), so it would always need a second request. The project document has
//! `info.version` (latest) and `releases[<version>]`, whose files carry the upload times and the
//! yanked flags of the installed release — everything in one request. Its `info` license fields
//! describe the *latest* release, though, so [`PypiClient::release`] reports them only when the
//! installed release is the latest; for an older release [`PypiClient::release_license`] asks the
//! per-version document (one more request, worth it only when local metadata has no license).
//! Measured (`cargo bench --bench hot_paths -- sources`, loopback registry at 50 ms latency,
//! 180 packages, concurrency 32, median of 3): one request per package 0.327 s; the per-version
//! document then the project document 0.644 s.

use std::collections::BTreeMap;
use std::str::FromStr;

use pep440_rs::Version;
use serde::Deserialize;

use super::http::{FetchError, FetchResult, HttpClient};
use super::strict::Object;
use crate::model::{RegistryInfo, normalize_name};
use crate::telemetry::SourceKind;

/// The parts of `/pypi/<name>/json` and `/pypi/<name>/<version>/json` we read.
#[derive(Debug, Deserialize)]
struct ProjectDocument {
    info: Object<Info>,
    #[serde(default)]
    releases: BTreeMap<String, Vec<Object<ReleaseFile>>>,
}

#[derive(Debug, Deserialize)]
struct Info {
    version: String,
    #[serde(default)]
    license: Option<String>,
    #[serde(default)]
    license_expression: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ReleaseFile {
    #[serde(default)]
    upload_time_iso_8601: Option<String>,
    /// Older field: UTC without an offset.
    #[serde(default)]
    upload_time: Option<String>,
    #[serde(default)]
    yanked: bool,
    #[serde(default)]
    yanked_reason: Option<String>,
}

/// License fields of one release as the index states them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IndexLicense {
    pub license: Option<String>,
    pub license_expression: Option<String>,
}

/// Client of a PyPI-compatible JSON API.
#[derive(Clone, Debug)]
pub struct PypiClient {
    http: HttpClient,
    base_url: String,
}

impl PypiClient {
    /// `base_url` is the index root (the part before `/pypi/...`), without a trailing slash
    /// (one is tolerated).
    pub fn new(http: HttpClient, base_url: &str) -> Self {
        PypiClient {
            http,
            base_url: base_url.trim_end_matches('/').to_string(),
        }
    }

    /// What the index says about `name` at `version`, from the project document. `404` →
    /// `on_index: false`. When the installed release is not on the index (deleted, local
    /// build), `yanked` is false and `upload_time` is `None`: no data, not "fine".
    pub async fn release(&self, name: &str, version: &str) -> Result<RegistryInfo, FetchError> {
        let normalized = normalize_name(name);
        let url = format!("{}/pypi/{}/json", self.base_url, path_segment(&normalized));
        let subject = format!("{normalized} {version}");
        let document = match self
            .http
            .get_json::<Object<ProjectDocument>>(SourceKind::Pypi, &url, &subject)
            .await?
        {
            FetchResult::Found { value, .. } => value.0,
            FetchResult::NotFound { .. } => return Ok(RegistryInfo::default()),
        };
        Ok(registry_info(document, version))
    }

    /// License fields of exactly `name` `version` from the per-version document; `None` when the
    /// index does not know that release.
    pub async fn release_license(
        &self,
        name: &str,
        version: &str,
    ) -> Result<Option<IndexLicense>, FetchError> {
        let normalized = normalize_name(name);
        let url = format!(
            "{}/pypi/{}/{}/json",
            self.base_url,
            path_segment(&normalized),
            path_segment(version)
        );
        let subject = format!("{normalized} {version} license");
        Ok(self
            .http
            .get_json::<Object<ProjectDocument>>(SourceKind::Pypi, &url, &subject)
            .await?
            .into_option()
            .map(|document| license_of(&document.info)))
    }
}

fn registry_info(document: ProjectDocument, installed: &str) -> RegistryInfo {
    let latest = document.info.version.clone();
    let files = release_files(&document.releases, installed);
    // PyPI yanks whole releases (PEP 592): every file carries the flag.
    let yanked = files.is_some_and(|f| !f.is_empty() && f.iter().all(|file| file.yanked));
    let yanked_reason = if yanked {
        files
            .into_iter()
            .flatten()
            .find_map(|f| non_empty(f.yanked_reason.as_deref()))
    } else {
        None
    };
    let upload_time = files.and_then(|f| earliest_upload(f));
    let license = if same_version(&latest, installed) {
        license_of(&document.info)
    } else {
        IndexLicense::default()
    };
    let newer_versions = newer_versions(&document.releases, installed);
    RegistryInfo {
        on_index: true,
        newer_versions,
        yanked,
        yanked_reason,
        latest_version: Some(latest),
        upload_time,
        license: license.license,
        license_expression: license.license_expression,
    }
}

/// Releases above `installed` with at least one file not yanked, in PEP 440 order. Pre-releases
/// count only when the installed version is one (pip's rule: no pre-release unless asked).
fn newer_versions(
    releases: &BTreeMap<String, Vec<Object<ReleaseFile>>>,
    installed: &str,
) -> Option<Vec<String>> {
    let installed = Version::from_str(installed).ok()?;
    let mut newer: Vec<(Version, &String)> = releases
        .iter()
        .filter(|(_, files)| files.iter().any(|f| !f.yanked))
        .filter_map(|(key, _)| Version::from_str(key).ok().map(|v| (v, key)))
        .filter(|(v, _)| *v > installed && (installed.any_prerelease() || !v.any_prerelease()))
        .collect();
    newer.sort();
    Some(newer.into_iter().map(|(_, key)| key.clone()).collect())
}

/// What [`PypiClient::release`] makes of a project document's bytes (the fuzz tests' entry).
#[cfg(test)]
pub(crate) fn parse_release(body: &[u8], installed: &str) -> Result<RegistryInfo, String> {
    super::body::parse_json::<Object<ProjectDocument>>(body)
        .map(|document| registry_info(document.0, installed))
}

fn license_of(info: &Info) -> IndexLicense {
    IndexLicense {
        // Old setuptools wrote the placeholder `UNKNOWN`: that is no license statement.
        license: non_empty(info.license.as_deref()).filter(|l| !l.eq_ignore_ascii_case("UNKNOWN")),
        license_expression: non_empty(info.license_expression.as_deref()),
    }
}

/// The files of `installed`: exact key first, then PEP 440 equality (`2.31` == `2.31.0`).
fn release_files<'a>(
    releases: &'a BTreeMap<String, Vec<Object<ReleaseFile>>>,
    installed: &str,
) -> Option<&'a Vec<Object<ReleaseFile>>> {
    releases.get(installed).or_else(|| {
        releases
            .iter()
            .find(|(key, _)| same_version(key, installed))
            .map(|(_, files)| files)
    })
}

fn same_version(a: &str, b: &str) -> bool {
    a == b || matches!((Version::from_str(a), Version::from_str(b)), (Ok(a), Ok(b)) if a == b)
}

/// Earliest upload among the files, as RFC 3339.
fn earliest_upload(files: &[Object<ReleaseFile>]) -> Option<String> {
    files
        .iter()
        .filter_map(|f| {
            let text = match (&f.upload_time_iso_8601, &f.upload_time) {
                (Some(iso), _) => iso.clone(),
                // `upload_time` is UTC without an offset.
                (None, Some(naive)) => format!("{naive}Z"),
                (None, None) => return None,
            };
            let parsed = crate::units::parse_timestamp(&text)?;
            Some((parsed, text))
        })
        .min_by_key(|(parsed, _)| *parsed)
        .map(|(_, text)| text)
}

fn non_empty(text: Option<&str>) -> Option<String> {
    text.map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
}

/// Percent-encode everything outside the RFC 3986 unreserved set, so a name or version from
/// untrusted metadata stays one path segment.
pub(crate) fn path_segment(text: &str) -> String {
    if text == "." || text == ".." {
        // Dot segments would be resolved away by URL normalisation.
        return text.replace('.', "%2E");
    }
    crate::units::percent_encode(text, b"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document(json: serde_json::Value) -> ProjectDocument {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn installed_release_facts_come_from_its_files() {
        let doc = document(serde_json::json!({
            "info": {"version": "2.0", "license": "MIT", "license_expression": null},
            "releases": {
                "1.0": [
                    {"upload_time_iso_8601": "2020-01-02T00:00:00.5Z", "yanked": true, "yanked_reason": "broken"},
                    {"upload_time_iso_8601": "2020-01-01T10:00:00Z", "yanked": true, "yanked_reason": null}
                ],
                "2.0": [{"upload_time": "2021-05-05T05:05:05", "yanked": false}]
            },
            "urls": []
        }));
        let info = registry_info(doc, "1.0.0");
        assert!(info.on_index);
        assert!(info.yanked);
        assert_eq!(info.yanked_reason.as_deref(), Some("broken"));
        assert_eq!(info.upload_time.as_deref(), Some("2020-01-01T10:00:00Z"));
        assert_eq!(info.latest_version.as_deref(), Some("2.0"));
        // Not the latest release: the document's license is not about it.
        assert_eq!(info.license, None);
    }

    #[test]
    fn latest_release_reports_license_and_partial_yank_is_not_yanked() {
        let doc = document(serde_json::json!({
            "info": {"version": "2.0", "license": "UNKNOWN", "license_expression": "MIT OR Apache-2.0"},
            "releases": {"2.0": [
                {"upload_time": "2021-05-05T05:05:05", "yanked": true},
                {"upload_time": "2021-05-05T06:05:05", "yanked": false}
            ]}
        }));
        let info = registry_info(doc, "2.0");
        assert!(!info.yanked);
        assert_eq!(info.upload_time.as_deref(), Some("2021-05-05T05:05:05Z"));
        assert_eq!(info.license, None);
        assert_eq!(
            info.license_expression.as_deref(),
            Some("MIT OR Apache-2.0")
        );
    }

    #[test]
    fn newer_versions_are_unyanked_releases_above_installed_in_pep440_order() {
        let file = |yanked: bool| serde_json::json!([{"upload_time": "2021-01-01T00:00:00", "yanked": yanked}]);
        let doc = document(serde_json::json!({
            "info": {"version": "2.10.0"},
            "releases": {
                "2.9.0": file(false), "2.10.0": file(false), "2.9.1": file(true),
                "2.9.2": file(false), "3.0.0rc1": file(false), "1.0": file(false),
                "2.9.3": [], "not a version": file(false)
            }
        }));
        assert_eq!(
            registry_info(doc, "2.9.0").newer_versions.unwrap(),
            ["2.9.2", "2.10.0"]
        );
    }

    #[test]
    fn path_segments_are_escaped() {
        assert_eq!(path_segment("zope-interface"), "zope-interface");
        assert_eq!(path_segment("1.0+local"), "1.0%2Blocal");
        assert_eq!(path_segment("../x"), "..%2Fx");
        assert_eq!(path_segment(".."), "%2E%2E");
    }
}
