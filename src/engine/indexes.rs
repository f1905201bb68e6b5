//! Several package indexes, as pip uses them: the index and every extra index are all asked; a
//! project on any of them is on the index, a release's facts come from the first index that
//! has the release, the latest version is the highest across them, and a project that more
//! than one of them knows is named with them (`on-several-indexes`: pip would take the highest
//! version from any, which is how dependency confusion works). With one index nothing changes.

use std::str::FromStr;

use pep440_rs::Version;

use super::run::RegistryAnswer;

use crate::sources::credentials;
use crate::sources::{HttpClient, ProjectFacts, PypiClient};

/// One index of the run.
pub(super) struct Index {
    /// The JSON API base without credentials: cache keys (a rotated password keeps them).
    pub key: String,
    /// The URL as messages and reports show it (password masked).
    pub shown: String,
    /// `None` offline.
    pub client: Option<PypiClient>,
    /// A release document came from this index's JSON API in this run: its Simple pages are
    /// then not the fallback's, and one fetched beside a release document is not asked twice.
    pub serves_json: Flag,
}

impl Index {
    /// `url` may carry credentials; only the client sees them.
    pub fn new(url: &str, http: Option<&HttpClient>) -> Self {
        Index {
            key: credentials::without_credentials(url)
                .trim_end_matches('/')
                .to_string(),
            shown: credentials::redact(url).trim_end_matches('/').to_string(),
            client: http.map(|h| PypiClient::new(h.clone(), url)),
            serves_json: Flag::default(),
        }
    }
}

/// A one-way flag that can be waited for.
#[derive(Default)]
pub(super) struct Flag {
    set: std::sync::atomic::AtomicBool,
    notify: tokio::sync::Notify,
}

impl Flag {
    pub fn set(&self) {
        if !self.set.swap(true, std::sync::atomic::Ordering::SeqCst) {
            self.notify.notify_waiters();
        }
    }

    pub fn is_set(&self) -> bool {
        self.set.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Returns once the flag is set (at once if it is).
    pub async fn wait(&self) {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            // Registered before the check: a `set` between the two still wakes it.
            notified.as_mut().enable();
            if self.is_set() {
                return;
            }
            notified.await;
        }
    }
}

/// PEP 440 order, text order for what is not PEP 440.
fn version_order(a: &str, b: &str) -> std::cmp::Ordering {
    match (Version::from_str(a), Version::from_str(b)) {
        (Ok(a), Ok(b)) => a.cmp(&b),
        _ => a.cmp(b),
    }
}

fn highest(versions: impl Iterator<Item = String>) -> Option<String> {
    versions.max_by(|a, b| version_order(a, b))
}

/// `lists` joined, PEP 440 order, equal versions once.
fn union(lists: impl Iterator<Item = Vec<String>>) -> Vec<String> {
    let mut all: Vec<String> = lists.flatten().collect();
    all.sort_by(|a, b| version_order(a, b));
    all.dedup_by(|a, b| version_order(a, b).is_eq());
    all
}

/// One release's facts from every index (answers in the indexes' order). Any index that could
/// not answer makes the whole answer unknown: which index has the release, and whether another
/// one also serves the project, cannot be told without it.
pub(super) fn merge_releases(indexes: &[Index], answers: Vec<RegistryAnswer>) -> RegistryAnswer {
    if answers.len() <= 1 {
        return answers
            .into_iter()
            .next()
            .unwrap_or_else(|| Err("no package index configured".to_string()));
    }
    let mut known = Vec::with_capacity(answers.len());
    for (index, answer) in indexes.iter().zip(answers) {
        match answer {
            Err(reason) => return Err(format!("{reason} (index {})", index.shown)),
            Ok(info) => known.push((index, info)),
        }
    }
    let found: Vec<usize> = (0..known.len()).filter(|&i| known[i].1.on_index).collect();
    // The first index with files of the release, else the first that knows the project.
    let chosen = (found.iter().copied())
        .find(|&i| known[i].1.upload_time.is_some())
        .or(found.first().copied())
        .unwrap_or(0);
    let infos = || found.iter().map(|&i| &known[i].1);
    let mut merged = known[chosen].1.clone();
    merged.latest_version = highest(infos().filter_map(|i| i.latest_version.clone()));
    merged.project_status = infos().find_map(|i| i.project_status.clone());
    if infos().all(|i| i.newer_versions.is_some()) && !found.is_empty() {
        merged.newer_versions = Some(union(infos().filter_map(|i| i.newer_versions.clone())));
    }
    if found.len() > 1 {
        merged.found_on = found.iter().map(|&i| known[i].0.shown.clone()).collect();
    }
    Ok(merged)
}

/// Whole-project facts from every index: the highest latest version, every available release,
/// the first index's stated status. Strict as [`merge_releases`].
pub(super) fn merge_projects(
    answers: Vec<Result<ProjectFacts, String>>,
) -> Result<ProjectFacts, String> {
    let facts: Vec<ProjectFacts> = answers.into_iter().collect::<Result<_, _>>()?;
    if facts.len() == 1 {
        return Ok(facts.into_iter().next().unwrap_or_default());
    }
    Ok(ProjectFacts {
        latest_version: highest(facts.iter().filter_map(|f| f.latest_version.clone())),
        status: facts.iter().find_map(|f| f.status.clone()),
        available: union(facts.into_iter().map(|f| f.available)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RegistryInfo;

    fn index(url: &str) -> Index {
        Index::new(url, None)
    }

    fn info(on_index: bool, upload: Option<&str>, latest: &str, license: &str) -> RegistryInfo {
        RegistryInfo {
            on_index,
            upload_time: upload.map(str::to_string),
            latest_version: Some(latest.to_string()),
            license: Some(license.to_string()),
            newer_versions: Some(vec![latest.to_string()]),
            ..RegistryInfo::default()
        }
    }

    #[test]
    fn first_index_with_the_release_gives_its_facts_and_the_highest_latest_wins() {
        let indexes = [
            index("https://u:secret@private.example"),
            index("https://pypi.example"),
        ];
        let answers = vec![
            Ok(info(true, None, "1.0", "private")),
            Ok(info(true, Some("2024-01-01T00:00:00Z"), "10.0", "MIT")),
        ];
        let merged = merge_releases(&indexes, answers).unwrap();
        assert_eq!(merged.license.as_deref(), Some("MIT"));
        assert_eq!(merged.latest_version.as_deref(), Some("10.0"));
        assert_eq!(
            merged.newer_versions,
            Some(vec!["1.0".into(), "10.0".into()])
        );
        assert_eq!(
            merged.found_on,
            ["https://u:****@private.example", "https://pypi.example"]
        );

        let answers = vec![
            Ok(RegistryInfo::default()),
            Ok(info(true, Some("2024-01-01T00:00:00Z"), "2.0", "MIT")),
        ];
        let merged = merge_releases(&indexes, answers).unwrap();
        assert!(merged.on_index && merged.found_on.is_empty());
        let answers = vec![Ok(RegistryInfo::default()), Err("timed out".into())];
        let error = merge_releases(&indexes, answers).unwrap_err();
        assert!(error.contains("https://pypi.example") && !error.contains("secret"));
        let none = vec![Ok(RegistryInfo::default()), Ok(RegistryInfo::default())];
        assert!(!merge_releases(&indexes, none).unwrap().on_index);
    }

    #[test]
    fn project_facts_merge_across_indexes() {
        let facts = |latest: &str, available: &[&str]| ProjectFacts {
            latest_version: Some(latest.into()),
            status: None,
            available: available.iter().map(|s| s.to_string()).collect(),
        };
        let merged = merge_projects(vec![
            Ok(facts("1.10", &["1.9", "1.10"])),
            Ok(facts("1.2", &["1.2"])),
        ])
        .unwrap();
        assert_eq!(merged.latest_version.as_deref(), Some("1.10"));
        assert_eq!(merged.available, ["1.2", "1.9", "1.10"]);
        assert!(merge_projects(vec![Ok(ProjectFacts::default()), Err("x".into())]).is_err());
    }
}
