//! PEP 691 JSON Simple API client (`/simple/<name>/`): the whole-project facts (latest version
//! from PEP 700 `versions`, PEP 792 `project-status`) and, for an index without the JSON API,
//! one release's yanked flag (PEP 592) and upload times (PEP 700).
//!
//! Why the Simple API for the latest version and not the project JSON document: both list every
//! file of every release, but a Simple page carries only name, URL, hashes, size, upload time and
//! yanked per file, while the project document repeats the whole `info` and ten more fields per
//! file; on the test registry's real-shaped projects the Simple JSON is ~0.6× the bytes (the test
//! `simple_json_is_cheaper_than_the_project_document_for_the_latest_version` measures both). It is also what every index serves (Nexus,
//! Artifactory, CodeArtifact, devpi), where the project JSON is PyPI's own.
//!
//! The page is asked for with PEP 691 content negotiation (JSON first, HTML as the fallback) and
//! read by the answer's `Content-Type`: PEP 691 JSON here, PEP 503 HTML in [`super::simple_html`],
//! anything else is not understood (an error, never "no files"). HTML has no upload times.

use std::collections::BTreeMap;
use std::str::FromStr;

use pep440_rs::Version;
use serde::Deserialize;

use super::http::{Answered, FetchError, FetchResult, HttpClient, host_of};
use super::pypi::{earliest, non_empty, path_segment, same_version};
use super::revalidate::{Outgoing, Revalidated, Validators};
use super::strict::Object;
use crate::model::{ProjectStatus, RegistryInfo, normalize_name};
use crate::telemetry::SourceKind;

/// The parts of a project page we read (PEP 691 JSON; the HTML reader fills the same).
#[derive(Debug, Default, Deserialize)]
pub(super) struct ProjectPage {
    /// PEP 700; absent on older indexes (then the versions come from the file names).
    #[serde(default)]
    pub(super) versions: Option<Vec<String>>,
    #[serde(default)]
    pub(super) files: Vec<Object<File>>,
    /// PEP 792.
    #[serde(default, rename = "project-status")]
    pub(super) project_status: Option<Object<StatusField>>,
    /// Read from PEP 503 HTML (which has no upload times).
    #[serde(skip)]
    pub(super) html: bool,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct File {
    pub(super) filename: String,
    /// Absolute, or relative to the page.
    #[serde(default)]
    pub(super) url: Option<String>,
    /// Algorithm → hex digest of the file.
    #[serde(default)]
    pub(super) hashes: Option<BTreeMap<String, String>>,
    /// PEP 592: `false`, `true` or the reason (a string means yanked).
    #[serde(default)]
    pub(super) yanked: Option<Yanked>,
    /// PEP 700, RFC 3339.
    #[serde(default, rename = "upload-time")]
    pub(super) upload_time: Option<String>,
    #[serde(default, rename = "requires-python")]
    pub(super) requires_python: Option<String>,
    /// PEP 714 (PEP 658's `data-dist-info-metadata` renamed; both are read, this one first).
    #[serde(default, rename = "core-metadata")]
    pub(super) core_metadata: Option<MetadataOffer>,
    #[serde(default, rename = "data-dist-info-metadata")]
    pub(super) dist_info_metadata: Option<MetadataOffer>,
    #[serde(default, rename = "dist-info-metadata")]
    pub(super) dist_info_metadata_691: Option<MetadataOffer>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum Yanked {
    Flag(bool),
    Reason(String),
}

/// PEP 658/714: whether `<file-url>.metadata` exists, with the hashes of that file if known.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum MetadataOffer {
    Flag(bool),
    Hashes(BTreeMap<String, String>),
}

#[derive(Debug, Deserialize)]
pub(super) struct StatusField {
    pub(super) status: String,
    #[serde(default)]
    pub(super) reason: Option<String>,
}

/// One file of a release as the index lists it, with its core metadata file if offered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DistFile {
    pub filename: String,
    /// Absolute (resolved against the page), without the `#hash` fragment.
    pub url: String,
    /// The file's own sha256, when the page states it.
    pub sha256: Option<String>,
    /// PEP 503 `data-requires-python` / PEP 691 `requires-python`.
    pub requires_python: Option<String>,
    /// Offered (PEP 658/714): `Some`, with the sha256 of the metadata file when stated.
    pub core_metadata: Option<Option<String>>,
}

/// What the Simple API says about a whole project (cached as is).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct ProjectFacts {
    /// Highest release with a file not yanked, final releases preferred (what `pip install`
    /// would pick); `None` when the project has no such release.
    #[serde(default)]
    pub latest_version: Option<String>,
    #[serde(default)]
    pub status: Option<ProjectStatus>,
    /// Every release with a file not yanked (the fix candidates are drawn from these).
    #[serde(default)]
    pub available: Vec<String>,
}

/// Releases in `available` above `installed`, lowest first (PEP 440 order). Pre-releases count
/// only when the installed version is one (pip's rule: no pre-release unless asked); `None`
/// when `installed` is not PEP 440.
pub fn newer_versions(available: &[String], installed: &str) -> Option<Vec<String>> {
    let installed = Version::from_str(installed).ok()?;
    let mut newer: Vec<(Version, &String)> = available
        .iter()
        .filter_map(|key| Version::from_str(key).ok().map(|v| (v, key)))
        .filter(|(v, _)| *v > installed && (installed.any_prerelease() || !v.any_prerelease()))
        .collect();
    newer.sort();
    newer.dedup_by(|a, b| a.0 == b.0);
    Some(newer.into_iter().map(|(_, key)| key.clone()).collect())
}

/// Client of a PEP 691 Simple API root (e.g. `https://pypi.org/simple`).
#[derive(Clone, Debug)]
pub struct SimpleClient {
    http: HttpClient,
    root: String,
}

impl SimpleClient {
    pub fn new(http: HttpClient, root: &str) -> Self {
        SimpleClient {
            http,
            root: root.trim_end_matches('/').to_string(),
        }
    }

    /// Latest version and status of `name`; `None` when the index does not know it.
    pub async fn project(&self, name: &str) -> Result<Option<ProjectFacts>, FetchError> {
        let answer = self.project_if(name, None).await?;
        answer.changed(&host_of(&self.root), name)
    }

    /// [`project`](Self::project) revalidating facts cached with `prior`.
    pub async fn project_if(
        &self,
        name: &str,
        prior: Option<&Validators>,
    ) -> Result<Revalidated<Option<ProjectFacts>>, FetchError> {
        let (_, page) = self.page(name, prior).await?;
        Ok(page
            .revalidated(|page| Some(project_facts(&page, name)))
            .unwrap_or(Revalidated::Changed(None, None)))
    }

    /// One release's facts from the project page (no license: the Simple API has none), with
    /// the project's latest version and status, which the page tells for free; and the
    /// release's files (for its core metadata file; none when the page was unchanged).
    pub async fn release_if(
        &self,
        name: &str,
        version: &str,
        prior: Option<&Validators>,
    ) -> Result<(Revalidated<RegistryInfo>, Vec<DistFile>), FetchError> {
        let (url, page) = self.page(name, prior).await?;
        let mut files = Vec::new();
        let answer = page.revalidated(|page| {
            files = release_files(&page, &url, name, version);
            release_info(&page, name, version)
        });
        let answer = answer.unwrap_or(Revalidated::Changed(RegistryInfo::default(), None));
        Ok((answer, files))
    }

    /// The files of one release; `None` when the index does not know the project.
    pub async fn release_files(
        &self,
        name: &str,
        version: &str,
    ) -> Result<Option<Vec<DistFile>>, FetchError> {
        let (url, page) = self.page(name, None).await?;
        Ok(page
            .into_option()
            .map(|page| release_files(&page, &url, name, version)))
    }

    /// The page's URL and the page (PEP 691 negotiation; `prior`'s validators sent when they
    /// belong to it).
    async fn page(
        &self,
        name: &str,
        prior: Option<&Validators>,
    ) -> Result<(String, FetchResult<ProjectPage>), FetchError> {
        let normalized = normalize_name(name);
        let url = format!("{}/{}/", self.root, path_segment(&normalized));
        let outgoing = Outgoing::conditional(&url, prior);
        let page = (self.http)
            .get_with(
                SourceKind::PypiSimple,
                &url,
                &normalized,
                outgoing,
                decode_page,
            )
            .await?;
        Ok((url, page))
    }
}

/// A project page by its `Content-Type` (PEP 691): JSON or HTML; anything else is not a page.
fn decode_page(answer: Answered) -> Result<ProjectPage, String> {
    match answer.content_type.as_deref() {
        Some("application/vnd.pypi.simple.v1+json" | "application/vnd.pypi.simple.latest+json") => {
            super::body::parse_json::<Object<ProjectPage>>(&answer.body).map(|page| page.0)
        }
        Some(
            "text/html"
            | "application/vnd.pypi.simple.v1+html"
            | "application/vnd.pypi.simple.latest+html",
        ) => super::simple_html::parse(&answer.body),
        // A header value that reached here is visible ASCII.
        Some(other) => Err(format!(
            "Content-Type `{other}` is neither PEP 691 JSON nor PEP 503 HTML"
        )),
        None => Err("no Content-Type: neither PEP 691 JSON nor PEP 503 HTML".to_string()),
    }
}

fn status_of(page: &ProjectPage) -> Option<ProjectStatus> {
    page.project_status.as_ref().map(|s| ProjectStatus {
        status: s.status.trim().to_ascii_lowercase().into(),
        reason: non_empty(s.reason.as_deref()),
    })
}

/// The files of `version` on the page, their URLs made absolute against `page_url`.
pub(super) fn release_files(
    page: &ProjectPage,
    page_url: &str,
    name: &str,
    version: &str,
) -> Vec<DistFile> {
    let normalized = normalize_name(name);
    let base = reqwest::Url::parse(page_url).ok();
    page.files
        .iter()
        .filter(|f| {
            file_version(&f.filename, &normalized).is_some_and(|v| same_version(&v, version))
        })
        .filter_map(|f| {
            let mut url = base.as_ref()?.join(f.url.as_deref()?).ok()?;
            url.set_fragment(None);
            let offer = [
                &f.core_metadata,
                &f.dist_info_metadata,
                &f.dist_info_metadata_691,
            ]
            .into_iter()
            .find_map(|o| o.clone());
            let core_metadata = match offer {
                None | Some(MetadataOffer::Flag(false)) => None,
                Some(MetadataOffer::Flag(true)) => Some(None),
                Some(MetadataOffer::Hashes(hashes)) => Some(hashes.get("sha256").cloned()),
            };
            Some(DistFile {
                filename: f.filename.clone(),
                url: url.to_string(),
                sha256: f.hashes.as_ref().and_then(|h| h.get("sha256").cloned()),
                requires_python: f.requires_python.clone(),
                core_metadata,
            })
        })
        .collect()
}

fn is_yanked(file: &File) -> bool {
    match &file.yanked {
        None | Some(Yanked::Flag(false)) => false,
        Some(Yanked::Flag(true) | Yanked::Reason(_)) => true,
    }
}

fn project_facts(page: &ProjectPage, name: &str) -> ProjectFacts {
    let normalized = normalize_name(name);
    let mut available: Vec<Version> = page
        .files
        .iter()
        .filter(|f| !is_yanked(f))
        .filter_map(|f| file_version(&f.filename, &normalized))
        .filter_map(|v| Version::from_str(&v).ok())
        .collect();
    // PEP 700 `versions` may list releases whose files are all gone: only those with a file count.
    if let Some(listed) = &page.versions {
        let listed: Vec<Version> = listed
            .iter()
            .filter_map(|v| Version::from_str(v).ok())
            .collect();
        available.retain(|v| listed.contains(v));
    }
    let final_max = available.iter().filter(|v| !v.any_prerelease()).max();
    let latest = final_max.or_else(|| available.iter().max());
    let mut listed: Vec<String> = available.iter().map(ToString::to_string).collect();
    listed.sort();
    listed.dedup();
    ProjectFacts {
        latest_version: latest.map(ToString::to_string),
        status: status_of(page),
        available: listed,
    }
}

fn release_info(page: &ProjectPage, name: &str, version: &str) -> RegistryInfo {
    let normalized = normalize_name(name);
    let files: Vec<&File> = page
        .files
        .iter()
        .map(|f| &f.0)
        .filter(|f| {
            file_version(&f.filename, &normalized).is_some_and(|v| same_version(&v, version))
        })
        .collect();
    let yanked = !files.is_empty() && files.iter().all(|f| is_yanked(f));
    let yanked_reason = files.iter().find_map(|f| match &f.yanked {
        Some(Yanked::Reason(reason)) if yanked => non_empty(Some(reason)),
        _ => None,
    });
    let project = project_facts(page, name);
    RegistryInfo {
        on_index: true,
        yanked,
        yanked_reason,
        upload_time: earliest(files.iter().filter_map(|f| f.upload_time.clone())),
        no_upload_time: page.html.then(|| {
            "the index's Simple API answers only PEP 503 HTML, which has no upload times".into()
        }),
        latest_version: project.latest_version,
        project_status: project.status,
        newer_versions: newer_versions(&project.available, version),
        ..RegistryInfo::default()
    }
}

/// The version part of a distribution file name: wheels `name-ver-…whl` (PEP 427), sdists
/// `name-ver.tar.gz` / `.zip` (PEP 625, and older names whose project part is unnormalised).
fn file_version(filename: &str, normalized: &str) -> Option<String> {
    if let Some(stem) = filename.strip_suffix(".whl") {
        return stem.split('-').nth(1).map(str::to_string);
    }
    let stem = [".tar.gz", ".zip", ".tar.bz2", ".tgz"]
        .iter()
        .find_map(|ext| filename.strip_suffix(ext))?;
    // The project part may itself contain dashes: split where the prefix normalises to the name.
    stem.match_indices('-').find_map(|(at, _)| {
        (normalize_name(&stem[..at]) == normalized).then(|| stem[at + 1..].to_string())
    })
}

/// What [`SimpleClient::project`] and [`SimpleClient::release`] make of a page's bytes.
#[cfg(test)]
pub(crate) fn parse_page(
    body: &[u8],
    name: &str,
    version: &str,
) -> Result<(ProjectFacts, RegistryInfo), String> {
    super::body::parse_json::<Object<ProjectPage>>(body).map(|page| {
        let page = page.0;
        (
            project_facts(&page, name),
            release_info(&page, name, version),
        )
    })
}

/// [`parse_page`] for a PEP 503 HTML page.
#[cfg(test)]
pub(crate) fn parse_html_page(
    body: &[u8],
    name: &str,
    version: &str,
) -> Result<(ProjectFacts, RegistryInfo), String> {
    super::simple_html::parse(body).map(|page| {
        (
            project_facts(&page, name),
            release_info(&page, name, version),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ProjectState;

    fn page(json: serde_json::Value) -> Vec<u8> {
        serde_json::to_vec(&json).unwrap()
    }

    #[test]
    fn file_names_give_versions() {
        assert_eq!(
            file_version("zope_interface-5.4.0-cp39-none-any.whl", "zope-interface").as_deref(),
            Some("5.4.0")
        );
        assert_eq!(
            file_version("zope.interface-5.4.0.tar.gz", "zope-interface").as_deref(),
            Some("5.4.0")
        );
        assert_eq!(
            file_version("my-pkg-1.0rc1.zip", "my-pkg").as_deref(),
            Some("1.0rc1")
        );
        assert_eq!(file_version("other-1.0.tar.gz", "my-pkg"), None);
        assert_eq!(file_version("my-pkg-1.0.exe", "my-pkg"), None);
    }

    #[test]
    fn latest_skips_yanked_and_prereleases_and_status_is_read() {
        let body = page(serde_json::json!({
            "meta": {"api-version": "1.4"},
            "name": "demo",
            "versions": ["1.0", "1.1", "2.0", "3.0rc1"],
            "files": [
                {"filename": "demo-1.0.tar.gz", "yanked": false, "upload-time": "2020-01-01T00:01:00Z"},
                {"filename": "demo-1.0-py3-none-any.whl", "upload-time": "2020-01-01T00:00:00Z"},
                {"filename": "demo-1.1.tar.gz", "yanked": "broken build", "upload-time": "2021-01-01T00:00:00Z"},
                {"filename": "demo-2.0.tar.gz", "yanked": true},
                {"filename": "demo-3.0rc1.tar.gz"}
            ],
            "project-status": {"status": "Quarantined", "reason": " malware "}
        }));
        let (facts, one_zero) = parse_page(&body, "Demo", "1.0.0").unwrap();
        assert_eq!(facts.latest_version.as_deref(), Some("1.0"));
        let status = facts.status.unwrap();
        assert_eq!(status.status, ProjectState::Quarantined);
        assert_eq!(status.reason.as_deref(), Some("malware"));
        assert!(!one_zero.yanked);
        assert_eq!(
            one_zero.upload_time.as_deref(),
            Some("2020-01-01T00:00:00Z")
        );
        let (_, one_one) = parse_page(&body, "demo", "1.1").unwrap();
        assert!(one_one.yanked);
        assert_eq!(one_one.yanked_reason.as_deref(), Some("broken build"));
        let (_, gone) = parse_page(&body, "demo", "9.9").unwrap();
        assert!(gone.on_index && !gone.yanked && gone.upload_time.is_none());
    }

    #[test]
    fn only_prereleases_give_a_prerelease_and_unknown_status_is_kept() {
        let body = page(serde_json::json!({
            "files": [{"filename": "demo-3.0rc1.tar.gz"}],
            "project-status": {"status": "frozen"}
        }));
        let (facts, _) = parse_page(&body, "demo", "3.0rc1").unwrap();
        assert_eq!(facts.latest_version.as_deref(), Some("3.0rc1"));
        assert_eq!(
            facts.status.unwrap().status,
            ProjectState::Other("frozen".into())
        );
    }

    #[test]
    fn newer_versions_are_unyanked_releases_above_installed_in_pep440_order() {
        let file = |v: &str, yanked: bool| serde_json::json!({"filename": format!("demo-{v}.tar.gz"), "yanked": yanked});
        let body = page(serde_json::json!({
            "files": [
                file("2.9.0", false), file("2.10.0", false), file("2.9.1", true),
                file("2.9.2", false), file("3.0.0rc1", false), file("1.0", false),
                file("not a version", false)
            ]
        }));
        let (facts, info) = parse_page(&body, "demo", "2.9.0").unwrap();
        assert_eq!(info.newer_versions.unwrap(), ["2.9.2", "2.10.0"]);
        assert_eq!(
            newer_versions(&facts.available, "3.0.0a1").unwrap(),
            ["3.0.0rc1"]
        );
        assert_eq!(newer_versions(&facts.available, "not pep 440"), None);
    }

    #[test]
    fn wrong_shapes_are_errors() {
        assert!(parse_page(b"[]", "demo", "1").is_err());
        assert!(parse_page(br#"{"files": {}}"#, "demo", "1").is_err());
        assert!(parse_page(br#"{"files": [{"yanked": 3}]}"#, "demo", "1").is_err());
    }
}
