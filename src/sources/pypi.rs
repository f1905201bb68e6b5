//! PyPI JSON API client: what the index says about one installed or pinned release (on the index
//! at all, yanked and why, upload time, license, license expression, classifiers).
//!
//! Why the per-release document (`/pypi/<name>/<version>/json`) and not the project one: the
//! project document lists every file of every release (MBs for big projects; 25.9 MB for a
//! 182-package environment) to tell a handful of facts, and its `info` describes the *latest*
//! release, so an older pin's license was unknown. The per-release document is a few KiB and
//! all about the release asked for. Facts of the whole project (latest version, PEP 792
//! status) come from the Simple API ([`super::simple`]) and only when something needs them.
//! When the index has no per-release document (404), the Simple API page is the fallback: it
//! tells whether the project exists at all, and the release's yanked flag and upload times, and
//! lists the release's files (for its core metadata file, [`super::core_metadata`]).

use std::str::FromStr;

use pep440_rs::Version;
use serde::Deserialize;

use super::http::{FetchError, FetchResult, HttpClient, host_of};
use super::revalidate::{Revalidated, Validators};
use super::simple::{DistFile, SimpleClient};
use super::strict::Object;
use crate::model::{RegistryInfo, normalize_name};
use crate::telemetry::SourceKind;

/// The parts of `/pypi/<name>/<version>/json` we read.
#[derive(Debug, Deserialize)]
struct ReleaseDocument {
    info: Object<Info>,
    /// The files of this release.
    #[serde(default)]
    urls: Vec<Object<ReleaseFile>>,
}

#[derive(Debug, Deserialize)]
struct Info {
    #[serde(default)]
    license: Option<String>,
    #[serde(default)]
    license_expression: Option<String>,
    #[serde(default)]
    classifiers: Option<Vec<String>>,
    #[serde(default)]
    yanked: bool,
    #[serde(default)]
    yanked_reason: Option<String>,
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

/// Client of a PyPI-compatible JSON API (with the Simple API of the same index as fallback).
#[derive(Clone, Debug)]
pub struct PypiClient {
    http: HttpClient,
    base_url: String,
    simple: SimpleClient,
}

impl PypiClient {
    /// `base_url` is the index root (the part before `/pypi/...` and `/simple/...`), without a
    /// trailing slash (one is tolerated).
    pub fn new(http: HttpClient, base_url: &str) -> Self {
        let base_url = base_url.trim_end_matches('/').to_string();
        PypiClient {
            simple: SimpleClient::new(http.clone(), &format!("{base_url}/simple")),
            http,
            base_url,
        }
    }

    pub(super) fn http(&self) -> &HttpClient {
        &self.http
    }

    /// The Simple API client of the same index (whole-project facts).
    pub fn simple(&self) -> &SimpleClient {
        &self.simple
    }

    /// What the index says about exactly `name` `version`: the per-release document, else the
    /// Simple API page (404 there too → `on_index: false`). A release the project does not have
    /// (deleted, local build) is `on_index: true` with no upload time: no data, not "fine".
    /// `latest_version` is set only when the Simple API page was read anyway (see
    /// [`SimpleClient::project`]).
    pub async fn release(&self, name: &str, version: &str) -> Result<RegistryInfo, FetchError> {
        let (answer, _) = self.release_if(name, version, None).await?;
        answer.changed(&host_of(&self.base_url), &format!("{name} {version}"))
    }

    /// [`release`](Self::release) revalidating facts cached with `prior` (sent only to the URL
    /// they came from: the per-release document's or, for a fallback answer, the Simple page's).
    /// With the release's files when the Simple API page was read (the fallback), so its core
    /// metadata file can be found without asking for the page again.
    pub async fn release_if(
        &self,
        name: &str,
        version: &str,
        prior: Option<&Validators>,
    ) -> Result<(Revalidated<RegistryInfo>, Option<Vec<DistFile>>), FetchError> {
        let document = self.release_document(name, version, prior).await?;
        match document.revalidated(|document| registry_info(document.0)) {
            Some(answer) => Ok((answer, None)),
            None => (self.simple.release_if(name, version, prior).await)
                .map(|(answer, files)| (answer, Some(files))),
        }
    }

    /// License fields of exactly `name` `version` from the per-version document; `None` when the
    /// index does not know that release.
    pub async fn release_license(
        &self,
        name: &str,
        version: &str,
    ) -> Result<Option<IndexLicense>, FetchError> {
        Ok(self
            .release_document(name, version, None)
            .await?
            .into_option()
            .map(|document| license_of(&document.0.info)))
    }

    async fn release_document(
        &self,
        name: &str,
        version: &str,
        prior: Option<&Validators>,
    ) -> Result<FetchResult<Object<ReleaseDocument>>, FetchError> {
        let normalized = normalize_name(name);
        let url = format!(
            "{}/pypi/{}/{}/json",
            self.base_url,
            path_segment(&normalized),
            path_segment(version)
        );
        let subject = format!("{normalized} {version}");
        self.http
            .get_json_if(SourceKind::Pypi, &url, &subject, prior)
            .await
    }
}

fn registry_info(document: ReleaseDocument) -> RegistryInfo {
    let files = &document.urls;
    // PyPI yanks whole releases (PEP 592): `info.yanked`, and every file carries the flag.
    let yanked = document.info.yanked || (!files.is_empty() && files.iter().all(|f| f.yanked));
    let yanked_reason = if yanked {
        non_empty(document.info.yanked_reason.as_deref()).or_else(|| {
            files
                .iter()
                .find_map(|f| non_empty(f.yanked_reason.as_deref()))
        })
    } else {
        None
    };
    let license = license_of(&document.info);
    RegistryInfo {
        on_index: true,
        yanked,
        yanked_reason,
        latest_version: None,
        upload_time: earliest_upload(files),
        license: license.license,
        license_expression: license.license_expression,
        classifiers: document.info.classifiers.clone().unwrap_or_default(),
        ..RegistryInfo::default()
    }
}

/// What [`PypiClient::release`] makes of a per-release document's bytes (the fuzz tests' entry).
#[cfg(test)]
pub(crate) fn parse_release(body: &[u8]) -> Result<RegistryInfo, String> {
    super::body::parse_json::<Object<ReleaseDocument>>(body)
        .map(|document| registry_info(document.0))
}

fn license_of(info: &Info) -> IndexLicense {
    IndexLicense {
        // Old setuptools wrote the placeholder `UNKNOWN`: that is no license statement.
        license: non_empty(info.license.as_deref()).filter(|l| !l.eq_ignore_ascii_case("UNKNOWN")),
        license_expression: non_empty(info.license_expression.as_deref()),
    }
}

/// PEP 440 equality (`2.31` == `2.31.0`), or the same text when either is not PEP 440.
pub(crate) fn same_version(a: &str, b: &str) -> bool {
    a == b || matches!((Version::from_str(a), Version::from_str(b)), (Ok(a), Ok(b)) if a == b)
}

/// Earliest upload among the files, as RFC 3339.
fn earliest_upload(files: &[Object<ReleaseFile>]) -> Option<String> {
    earliest(
        files
            .iter()
            .filter_map(|f| match (&f.upload_time_iso_8601, &f.upload_time) {
                (Some(iso), _) => Some(iso.clone()),
                // `upload_time` is UTC without an offset.
                (None, Some(naive)) => Some(format!("{naive}Z")),
                (None, None) => None,
            }),
    )
}

/// The earliest of RFC 3339 timestamps (unparseable ones ignored), as written.
pub(crate) fn earliest(times: impl Iterator<Item = String>) -> Option<String> {
    times
        .filter_map(|text| Some((crate::units::parse_timestamp(&text)?, text)))
        .min_by_key(|(parsed, _)| *parsed)
        .map(|(_, text)| text)
}

pub(crate) fn non_empty(text: Option<&str>) -> Option<String> {
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

    fn document(json: serde_json::Value) -> ReleaseDocument {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn release_facts_come_from_its_own_document() {
        let doc = document(serde_json::json!({
            "info": {"version": "1.0", "license": "BSD", "license_expression": null,
                     "classifiers": ["License :: OSI Approved :: BSD License"],
                     "yanked": true, "yanked_reason": "broken"},
            "urls": [
                {"upload_time_iso_8601": "2020-01-02T00:00:00.5Z", "yanked": true, "yanked_reason": "files"},
                {"upload_time_iso_8601": "2020-01-01T10:00:00Z", "yanked": true, "yanked_reason": null}
            ]
        }));
        let info = registry_info(doc);
        assert!(info.on_index);
        assert!(info.yanked);
        assert_eq!(info.yanked_reason.as_deref(), Some("broken"));
        assert_eq!(info.upload_time.as_deref(), Some("2020-01-01T10:00:00Z"));
        // The per-release document cannot tell the latest version.
        assert_eq!(info.latest_version, None);
        assert_eq!(info.license.as_deref(), Some("BSD"));
        assert_eq!(info.classifiers, ["License :: OSI Approved :: BSD License"]);
    }

    #[test]
    fn placeholder_license_and_partial_yank() {
        let doc = document(serde_json::json!({
            "info": {"version": "2.0", "license": "UNKNOWN", "license_expression": "MIT OR Apache-2.0"},
            "urls": [
                {"upload_time": "2021-05-05T05:05:05", "yanked": true},
                {"upload_time": "2021-05-05T06:05:05", "yanked": false}
            ]
        }));
        let info = registry_info(doc);
        assert!(!info.yanked);
        assert_eq!(info.upload_time.as_deref(), Some("2021-05-05T05:05:05Z"));
        assert_eq!(info.license, None);
        assert_eq!(
            info.license_expression.as_deref(),
            Some("MIT OR Apache-2.0")
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
