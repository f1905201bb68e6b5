//! OSV: the record type (the OSV schema, serde), the API client (`querybatch` with chunking and
//! pagination, `vulns/{id}`), the matching rules (`affects`) and the conversion to the model's
//! `Vulnerability`. The offline database (`osv_db`) answers with the same types and rules.

use std::cmp::Ordering;
use std::str::FromStr;

use futures_util::future::join_all;
use pep440_rs::Version;
use serde::{Deserialize, Serialize};

use super::cvss;
use super::http::{FetchError, FetchResult, HttpClient, host_of};
use super::pypi::path_segment;
use super::revalidate::{Revalidated, Validators};
use super::strict::Object;
use crate::model::{SeverityScore, Vulnerability, normalize_name};
use crate::telemetry::SourceKind;

/// The OSV ecosystem name of PyPI.
pub const PYPI_ECOSYSTEM: &str = "PyPI";
/// OSV's own limit on queries per `querybatch`.
pub const MAX_BATCH: usize = 1000;
/// Pages followed per query before the answer is declared malformed (a token loop).
const MAX_PAGES: usize = 100;

/// One OSV record (<https://ossf.github.io/osv-schema/>). Unknown fields are ignored; fields
/// we do not read but that matter to people (references) are kept for drill-down.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OsvRecord {
    pub id: String,
    /// RFC 3339.
    pub modified: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub severity: Vec<OsvSeverity>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub affected: Vec<OsvAffected>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<OsvReference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_version: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OsvSeverity {
    /// `CVSS_V2`, `CVSS_V3`, `CVSS_V4`, `Ubuntu`, ...
    #[serde(rename = "type")]
    pub kind: String,
    /// The vector (for CVSS types).
    pub score: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OsvAffected {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<OsvPackage>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub severity: Vec<OsvSeverity>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ranges: Vec<OsvRange>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecosystem_specific: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<serde_json::Value>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OsvPackage {
    pub ecosystem: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OsvRange {
    /// `ECOSYSTEM`, `SEMVER` or `GIT`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    #[serde(default)]
    pub events: Vec<OsvEvent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<serde_json::Value>,
}

/// One range event; the schema allows exactly one of the four per object.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OsvEvent {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introduced: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_affected: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OsvReference {
    #[serde(rename = "type")]
    pub kind: String,
    pub url: String,
}

impl OsvAffected {
    /// Is this entry about PyPI package `normalized` (PEP 503)?
    pub fn is_pypi_package(&self, normalized: &str) -> bool {
        self.package
            .as_ref()
            .is_some_and(|p| p.ecosystem == PYPI_ECOSYSTEM && normalize_name(&p.name) == normalized)
    }
}

impl OsvRecord {
    /// PEP 503 names of the PyPI packages this record is about.
    pub fn pypi_packages(&self) -> impl Iterator<Item = String> + '_ {
        self.affected
            .iter()
            .filter_map(|a| a.package.as_ref())
            .filter(|p| p.ecosystem == PYPI_ECOSYSTEM)
            .map(|p| normalize_name(&p.name))
    }
}

/// A point on a range's version line: `introduced: "0"` is before everything, `limit: "*"` after.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Bound {
    Zero,
    At(Version),
    Infinity,
}

impl Bound {
    fn contains_at_or_after(&self, version: &Version) -> bool {
        match self {
            Bound::Zero => true,
            Bound::At(v) => version >= v,
            Bound::Infinity => false,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EventKind {
    Introduced,
    Fixed,
    LastAffected,
}

/// Does `record` say PyPI package `package` at `version` is affected? The OSV evaluation
/// algorithm: listed in `versions`, or inside an `ECOSYSTEM` range (introduced ≤ v < fixed,
/// introduced ≤ v ≤ last_affected, several pairs per range, `limit` bounds, `"0"` = everything),
/// PEP 440 ordering, PEP 503 names. `SEMVER` and `GIT` ranges do not apply to PyPI versions and
/// are ignored. A withdrawn record affects nothing.
///
/// Unparseable versions in a record err towards "affected": an unreadable `introduced` counts as
/// `"0"`, an unreadable `fixed`/`last_affected` is skipped, an unreadable `limit` counts as `"*"`.
pub fn affects(record: &OsvRecord, package: &str, version: &Version) -> bool {
    if record.withdrawn.is_some() {
        return false;
    }
    let package = normalize_name(package);
    record
        .affected
        .iter()
        .filter(|a| a.is_pypi_package(&package))
        .any(|a| {
            a.versions
                .iter()
                .any(|listed| same_version(listed, version))
                || a.ranges
                    .iter()
                    .filter(|r| r.kind == "ECOSYSTEM")
                    .any(|r| in_range(r, version))
        })
}

fn same_version(listed: &str, version: &Version) -> bool {
    Version::from_str(listed.trim()).is_ok_and(|v| &v == version)
}

fn in_range(range: &OsvRange, version: &Version) -> bool {
    let limits: Vec<Bound> = range
        .events
        .iter()
        .filter_map(|e| e.limit.as_deref())
        .map(|limit| {
            if limit.contains('*') {
                Bound::Infinity
            } else {
                Version::from_str(limit).map_or(Bound::Infinity, Bound::At)
            }
        })
        .collect();
    let before_limits =
        limits.is_empty() || limits.iter().any(|l| !l.contains_at_or_after(version));
    if !before_limits {
        return false;
    }

    let mut events: Vec<(Bound, EventKind)> = range
        .events
        .iter()
        .filter_map(|e| {
            if let Some(introduced) = &e.introduced {
                let bound = if introduced == "0" {
                    Bound::Zero
                } else {
                    Version::from_str(introduced).map_or(Bound::Zero, Bound::At)
                };
                Some((bound, EventKind::Introduced))
            } else if let Some(fixed) = &e.fixed {
                Some((Bound::At(Version::from_str(fixed).ok()?), EventKind::Fixed))
            } else {
                e.last_affected.as_ref().and_then(|last| {
                    Some((
                        Bound::At(Version::from_str(last).ok()?),
                        EventKind::LastAffected,
                    ))
                })
            }
        })
        .collect();
    // Stable: events at the same version keep the record's order.
    events.sort_by(|a, b| a.0.cmp(&b.0));

    let mut vulnerable = false;
    for (bound, kind) in &events {
        match kind {
            EventKind::Introduced if bound.contains_at_or_after(version) => vulnerable = true,
            EventKind::Fixed if bound.contains_at_or_after(version) => vulnerable = false,
            EventKind::LastAffected => {
                if let Bound::At(last) = bound
                    && version > last
                {
                    vulnerable = false;
                }
            }
            _ => {}
        }
    }
    vulnerable
}

/// The model's view of `record` for PyPI package `package` (PEP 503 name); `None` when the
/// record is withdrawn. `fixed_in` lists the `fixed` events of that package's `ECOSYSTEM` ranges,
/// lowest first (PEP 440; unparseable ones last). Severity: every CVSS vector (record-level and
/// the package's), scored where the version is supported, then the database's own word
/// (`database_specific.severity`, GitHub style) as kind `ecosystem`.
pub fn to_vulnerability(record: &OsvRecord, package: &str) -> Option<Vulnerability> {
    if record.withdrawn.is_some() {
        return None;
    }
    let package = normalize_name(package);
    let entries: Vec<&OsvAffected> = record
        .affected
        .iter()
        .filter(|a| a.is_pypi_package(&package))
        .collect();

    let mut fixed_in: Vec<String> = entries
        .iter()
        .flat_map(|a| a.ranges.iter().filter(|r| r.kind == "ECOSYSTEM"))
        .flat_map(|r| r.events.iter().filter_map(|e| e.fixed.clone()))
        .collect();
    fixed_in.sort_by(|a, b| compare_versions(a, b));
    fixed_in.dedup();

    let mut severity: Vec<SeverityScore> = Vec::new();
    let vectors = record
        .severity
        .iter()
        .chain(entries.iter().flat_map(|a| a.severity.iter()));
    for entry in vectors {
        let score = SeverityScore {
            kind: entry.kind.clone(),
            vector: entry.score.clone(),
            score: cvss::score_of(&entry.kind, &entry.score),
        };
        if !severity.contains(&score) {
            severity.push(score);
        }
    }
    if let Some(word) = record
        .database_specific
        .as_ref()
        .and_then(|d| d.get("severity"))
        .and_then(|s| s.as_str())
        .filter(|s| !s.trim().is_empty())
    {
        severity.push(SeverityScore {
            kind: "ecosystem".to_string(),
            vector: word.trim().to_string(),
            score: None,
        });
    }

    Some(Vulnerability {
        id: record.id.clone(),
        aliases: record.aliases.clone(),
        summary: summary_of(record),
        fixed_in,
        severity,
        modified: Some(record.modified.clone()).filter(|m| !m.is_empty()),
    })
}

/// The summary, else the first line of the details.
fn summary_of(record: &OsvRecord) -> String {
    fn first_line(text: &str) -> Option<&str> {
        text.lines().map(str::trim).find(|l| !l.is_empty())
    }
    record
        .summary
        .as_deref()
        .and_then(first_line)
        .or_else(|| record.details.as_deref().and_then(first_line))
        .unwrap_or_default()
        .to_string()
}

/// PEP 440 order; strings that do not parse sort after those that do, among themselves as text.
fn compare_versions(a: &str, b: &str) -> Ordering {
    match (Version::from_str(a), Version::from_str(b)) {
        (Ok(a), Ok(b)) => a.cmp(&b),
        (Ok(_), Err(_)) => Ordering::Less,
        (Err(_), Ok(_)) => Ordering::Greater,
        (Err(_), Err(_)) => a.cmp(b),
    }
}

#[derive(Serialize)]
struct BatchRequest<'a> {
    queries: Vec<BatchQuery<'a>>,
}

#[derive(Serialize)]
struct BatchQuery<'a> {
    package: BatchPackage<'a>,
    version: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    page_token: Option<&'a str>,
}

#[derive(Serialize)]
struct BatchPackage<'a> {
    name: &'a str,
    ecosystem: &'a str,
}

/// A querybatch answer, parsed strictly: OSV answers `{"results": [...]}` with one result per
/// query, each `{}` or `{"vulns": [{"id", "modified"}], "next_page_token"}`
/// (<https://google.github.io/osv.dev/post-v1-querybatch/>). Any other shape (a missing
/// `results`, ids under another key, extra fields, wrong types) is not understood and so is an
/// error for every query it answers, never "no advisories".
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchResponse {
    results: Vec<Object<BatchResult>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchResult {
    #[serde(default)]
    vulns: Vec<Object<BatchVuln>>,
    #[serde(default)]
    next_page_token: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchVuln {
    id: String,
    modified: String,
}

/// One query's page of a querybatch answer: its advisories and the token of its next page.
pub type BatchPage = (Vec<AdvisoryRef>, Option<String>);

impl BatchResponse {
    /// Parse and check a querybatch answer for `queries` queries: one result per query, every
    /// advisory with a non-empty id. Returns per query its advisories and its next page token.
    pub fn parse(body: &[u8], queries: usize) -> Result<Vec<BatchPage>, String> {
        let Object(response) = super::body::parse_json::<Object<BatchResponse>>(body)?;
        response.check(queries)
    }

    fn check(self, queries: usize) -> Result<Vec<BatchPage>, String> {
        if self.results.len() != queries {
            return Err(format!(
                "{} results for {} queries",
                self.results.len(),
                queries
            ));
        }
        self.results
            .into_iter()
            .map(|Object(result)| {
                let refs = result
                    .vulns
                    .into_iter()
                    .map(|Object(v)| {
                        if v.id.trim().is_empty() {
                            Err("an advisory with an empty id".to_string())
                        } else {
                            Ok(AdvisoryRef {
                                id: v.id,
                                modified: v.modified,
                            })
                        }
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Ok((refs, result.next_page_token.filter(|t| !t.is_empty())))
            })
            .collect()
    }
}

/// An advisory named by a querybatch answer: its id and the `modified` time of the record,
/// which together key the advisory in the cache (a changed record is a new key).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct AdvisoryRef {
    pub id: String,
    pub modified: String,
}

/// Client of the OSV API.
#[derive(Clone, Debug)]
pub struct OsvClient {
    http: HttpClient,
    base_url: String,
    batch_size: usize,
}

impl OsvClient {
    /// `base_url` is the API root (the part before `/v1/...`).
    pub fn new(http: HttpClient, base_url: &str) -> Self {
        OsvClient {
            http,
            base_url: base_url.trim_end_matches('/').to_string(),
            batch_size: MAX_BATCH,
        }
    }

    /// Queries per `querybatch` request (clamped to 1..=1000); tests use small chunks.
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size.clamp(1, MAX_BATCH);
        self
    }

    /// Advisory ids affecting each `(name, version)`, in input order: one result per input.
    /// Any list works (the engine passes its cache misses). Chunks go out in parallel (under the
    /// HTTP layer's bound); `next_page_token`s are followed by re-querying only the queries that
    /// have one. A failed request fails every query it carried: a partial id list is never
    /// returned as if complete.
    pub async fn query_batch(
        &self,
        packages: &[(String, String)],
    ) -> Vec<Result<Vec<AdvisoryRef>, FetchError>> {
        let normalized: Vec<(String, &str)> = packages
            .iter()
            .map(|(name, version)| (normalize_name(name), version.as_str()))
            .collect();
        join_all(
            normalized
                .chunks(self.batch_size)
                .map(|chunk| self.query_chunk(chunk)),
        )
        .await
        .into_iter()
        .flatten()
        .collect()
    }

    async fn query_chunk(
        &self,
        chunk: &[(String, &str)],
    ) -> Vec<Result<Vec<AdvisoryRef>, FetchError>> {
        let url = format!("{}/v1/querybatch", self.base_url);
        let mut results: Vec<Result<Vec<AdvisoryRef>, FetchError>> =
            vec![Ok(Vec::new()); chunk.len()];
        // (index in chunk, page token) of the queries still to ask.
        let mut pending: Vec<(usize, Option<String>)> =
            (0..chunk.len()).map(|i| (i, None)).collect();
        let mut pages = 0;
        while !pending.is_empty() {
            pages += 1;
            let fail_pending = |results: &mut Vec<_>, error: FetchError| {
                for (index, _) in &pending {
                    results[*index] = Err(error.clone());
                }
            };
            let subject = format!("querybatch of {} packages (page {pages})", pending.len());
            if pages > MAX_PAGES {
                let error = FetchError::Malformed {
                    host: host_of(&url),
                    subject,
                    detail: format!("still paginating after {MAX_PAGES} pages"),
                };
                fail_pending(&mut results, error);
                break;
            }
            let request = BatchRequest {
                queries: pending
                    .iter()
                    .map(|(index, token)| BatchQuery {
                        package: BatchPackage {
                            name: &chunk[*index].0,
                            ecosystem: PYPI_ECOSYSTEM,
                        },
                        version: chunk[*index].1,
                        page_token: token.as_deref(),
                    })
                    .collect(),
            };
            let response = match self
                .http
                .post_json::<_, Object<BatchResponse>>(SourceKind::Osv, &url, &subject, &request)
                .await
            {
                Ok(FetchResult::Found { value, .. }) => value.0,
                // A POST is never conditional: the HTTP layer refuses a 304 to it.
                Ok(FetchResult::NotFound { .. } | FetchResult::NotModified { .. }) => {
                    let error = FetchError::NotFound {
                        host: host_of(&url),
                        subject: "/v1/querybatch".to_string(),
                    };
                    fail_pending(&mut results, error);
                    break;
                }
                Err(error) => {
                    fail_pending(&mut results, error);
                    break;
                }
            };
            let answered = match response.check(pending.len()) {
                Ok(answered) => answered,
                Err(detail) => {
                    let error = FetchError::Malformed {
                        host: host_of(&url),
                        subject,
                        detail,
                    };
                    fail_pending(&mut results, error);
                    break;
                }
            };
            let mut next = Vec::new();
            for ((index, _), (refs, token)) in pending.iter().zip(answered) {
                if let Ok(ids) = &mut results[*index] {
                    ids.extend(refs);
                }
                if let Some(token) = token {
                    next.push((*index, Some(token)));
                }
            }
            pending = next;
        }
        for ids in results.iter_mut().flatten() {
            ids.sort();
            ids.dedup_by(|a, b| a.id == b.id);
        }
        results
    }

    /// The full record of advisory `id`. A 404 is an error here: the id came from OSV itself.
    pub async fn vuln(&self, id: &str) -> Result<OsvRecord, FetchError> {
        let answer = self.vuln_if(id, None).await?;
        answer.changed(&host_of(&self.base_url), id)
    }

    /// [`vuln`](Self::vuln) revalidating a record cached with `prior`.
    pub async fn vuln_if(
        &self,
        id: &str,
        prior: Option<&Validators>,
    ) -> Result<Revalidated<OsvRecord>, FetchError> {
        let url = format!("{}/v1/vulns/{}", self.base_url, path_segment(id));
        let subject = format!("advisory {id}");
        let answer = self
            .http
            .get_json_if::<OsvRecord>(SourceKind::Osv, &url, id, prior)
            .await?
            .revalidated(|record| record)
            .ok_or_else(|| FetchError::NotFound {
                host: host_of(&url),
                subject: subject.clone(),
            })?;
        if let Revalidated::Changed(record, _) = &answer
            && record.id != id
        {
            return Err(FetchError::Malformed {
                host: host_of(&url),
                subject,
                detail: format!("answer is advisory {}", record.id),
            });
        }
        Ok(answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::from_str(s).unwrap()
    }

    fn record(ranges: serde_json::Value, versions: serde_json::Value) -> OsvRecord {
        serde_json::from_value(serde_json::json!({
            "id": "TEST-1",
            "modified": "2024-01-01T00:00:00Z",
            "affected": [{
                "package": {"ecosystem": "PyPI", "name": "Some_Package"},
                "ranges": ranges,
                "versions": versions
            }]
        }))
        .unwrap()
    }

    #[test]
    fn introduced_fixed_pairs_with_pep440_ordering() {
        let r = record(
            serde_json::json!([{"type": "ECOSYSTEM", "events": [
                {"introduced": "1.0"}, {"fixed": "1.2.3"},
                {"introduced": "2.0.0rc1"}, {"fixed": "2.0.1"}
            ]}]),
            serde_json::json!([]),
        );
        let hit = |s: &str| affects(&r, "some-package", &v(s));
        assert!(!hit("0.9"));
        assert!(hit("1.0"));
        assert!(hit("1.0.0"));
        assert!(hit("1.2.2"));
        assert!(
            hit("1.2.3rc1"),
            "a pre-release of the fix is before the fix"
        );
        assert!(!hit("1.2.3"));
        assert!(!hit("1.10"), "1.10 > 1.2.3 numerically, not lexically");
        assert!(hit("2.0.0rc1"));
        assert!(hit("2.0.0"));
        assert!(!hit("2.0.1"));
        assert!(!hit("2.0.1.post1"));
    }

    #[test]
    fn last_affected_is_inclusive_and_zero_means_everything() {
        let r = record(
            serde_json::json!([{"type": "ECOSYSTEM", "events": [
                {"introduced": "0"}, {"last_affected": "3.1"}
            ]}]),
            serde_json::json!([]),
        );
        assert!(affects(&r, "some-package", &v("0.0.1")));
        assert!(affects(&r, "some-package", &v("3.1")));
        assert!(!affects(&r, "some-package", &v("3.1.1")));
    }

    #[test]
    fn limit_bounds_the_range_and_unsorted_events_are_sorted() {
        let r = record(
            serde_json::json!([{"type": "ECOSYSTEM", "events": [
                {"limit": "5.0"}, {"introduced": "4.0"}, {"introduced": "1.0"}, {"fixed": "2.0"}
            ]}]),
            serde_json::json!([]),
        );
        assert!(affects(&r, "some-package", &v("1.5")));
        assert!(!affects(&r, "some-package", &v("3.0")));
        assert!(affects(&r, "some-package", &v("4.9")));
        assert!(!affects(&r, "some-package", &v("5.0")));
    }

    #[test]
    fn versions_list_names_and_range_types() {
        let r = record(
            serde_json::json!([
                {"type": "GIT", "repo": "https://example.invalid/repo", "events": [{"introduced": "0"}]},
                {"type": "SEMVER", "events": [{"introduced": "0"}]}
            ]),
            serde_json::json!(["7.0", "7.1.0"]),
        );
        assert!(affects(&r, "Some.Package", &v("7.0.0")));
        assert!(affects(&r, "some_package", &v("7.1")));
        assert!(
            !affects(&r, "some-package", &v("7.2")),
            "GIT/SEMVER ignored"
        );
        assert!(!affects(&r, "other-package", &v("7.0")));
    }

    #[test]
    fn other_ecosystems_and_withdrawn_records_do_not_match() {
        let mut r = record(
            serde_json::json!([{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]),
            serde_json::json!([]),
        );
        r.affected[0].package.as_mut().unwrap().ecosystem = "npm".into();
        assert!(!affects(&r, "some-package", &v("1.0")));
        r.affected[0].package.as_mut().unwrap().ecosystem = "PyPI".into();
        assert!(affects(&r, "some-package", &v("1.0")));
        r.withdrawn = Some("2024-02-02T00:00:00Z".into());
        assert!(!affects(&r, "some-package", &v("1.0")));
        assert_eq!(to_vulnerability(&r, "some-package"), None);
    }

    #[test]
    fn vulnerability_has_sorted_fixes_scores_and_ecosystem_word() {
        let r: OsvRecord = serde_json::from_value(serde_json::json!({
            "id": "GHSA-xxxx", "modified": "2024-01-01T00:00:00Z", "aliases": ["CVE-1"],
            "details": "\nFirst line.\nMore.",
            "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
            "affected": [
                {"package": {"ecosystem": "PyPI", "name": "pkg"},
                 "ranges": [{"type": "ECOSYSTEM", "events": [
                     {"introduced": "2.0"}, {"fixed": "2.10.0"}, {"introduced": "0"}, {"fixed": "1.9"}]}]},
                {"package": {"ecosystem": "PyPI", "name": "other"},
                 "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "0.5"}]}]}
            ],
            "database_specific": {"severity": "HIGH"}
        }))
        .unwrap();
        let vuln = to_vulnerability(&r, "PKG").unwrap();
        assert_eq!(vuln.fixed_in, vec!["1.9", "2.10.0"]);
        assert_eq!(vuln.summary, "First line.");
        assert_eq!(vuln.severity.len(), 2);
        assert_eq!(vuln.severity[0].score, Some(9.8));
        assert_eq!(vuln.severity[1].kind, "ecosystem");
        assert_eq!(vuln.severity[1].vector, "HIGH");
        assert_eq!(vuln.max_score(), Some(9.8));
    }
}
