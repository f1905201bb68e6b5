//! A release's core metadata file (PEP 658/714, `<file-url>.metadata`): the exact release's
//! `METADATA`, fetched only when the project page offers it, and checked against the sha256 the
//! page states for it. Parsing it is the inventory's (the same parser as installed metadata);
//! this module only finds, fetches and verifies the bytes.

use sha2::{Digest, Sha256};

use super::http::{Answered, FetchError};
use super::lazy_wheel::WheelLicenses;
use super::pypi::PypiClient;
use super::revalidate::Outgoing;
use super::simple::DistFile;
use crate::model::normalize_name;
use crate::telemetry::SourceKind;

/// What the index has for a release's core metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CoreMetadataFile {
    /// The verified bytes of the file offered for `filename` (a wheel, preferably) at `url`.
    Read {
        filename: String,
        url: String,
        bytes: Vec<u8>,
    },
    /// The index has none to give, or gave one that failed its check: why, in a few words.
    Unavailable(String),
}

impl PypiClient {
    /// The core metadata file of `name` `version`. `files` are the release's files if the
    /// project page was already read (else it is read now). Transport failures are errors
    /// (worth asking again later); every answer of the index is a [`CoreMetadataFile`].
    pub async fn core_metadata(
        &self,
        name: &str,
        version: &str,
        files: Option<Vec<DistFile>>,
    ) -> Result<CoreMetadataFile, FetchError> {
        let files = match files {
            Some(files) => files,
            None => match self.simple().release_files(name, version).await? {
                Some(files) => files,
                None => return Ok(unavailable("the project page is not on the index")),
            },
        };
        let Some((file, sha256)) = offered(&files) else {
            return Ok(unavailable(if files.is_empty() {
                "the project page lists no file of this release"
            } else {
                "not offered by the index (no PEP 658/714 core-metadata on the release's files)"
            }));
        };
        let subject = format!("{} {version}", normalize_name(name));
        let url = format!("{}.metadata", file.url);
        let answer = (self.http())
            .get_with(
                SourceKind::CoreMetadata,
                &url,
                &subject,
                Outgoing::default(),
                body,
            )
            .await?;
        let Some(bytes) = answer.into_option() else {
            return Ok(unavailable("offered, but the file is not there (HTTP 404)"));
        };
        if let Some(expected) = sha256 {
            let actual = hex::encode(Sha256::digest(&bytes));
            if !actual.eq_ignore_ascii_case(expected.trim()) {
                return Ok(CoreMetadataFile::Unavailable(format!(
                    "the file of {} does not match its sha256 (stated {expected:?}, got {actual})",
                    file.filename
                )));
            }
        }
        Ok(CoreMetadataFile::Read {
            filename: file.filename.clone(),
            url: file.url.clone(),
            bytes,
        })
    }

    /// The license files of the wheel at `url` (see [`super::lazy_wheel`]).
    pub async fn wheel_license_files(
        &self,
        url: &str,
        subject: &str,
        listed: &[String],
    ) -> Result<WheelLicenses, FetchError> {
        super::lazy_wheel::license_files(self.http(), url, subject, listed).await
    }
}

fn unavailable(reason: &str) -> CoreMetadataFile {
    CoreMetadataFile::Unavailable(reason.to_string())
}

/// The file whose metadata to read: a wheel first (its `METADATA` is what installs; PyPI offers
/// core metadata for wheels), else any file that offers it.
fn offered(files: &[DistFile]) -> Option<(&DistFile, Option<&String>)> {
    let offering = || files.iter().filter(|f| f.core_metadata.is_some());
    let file = (offering().find(|f| f.filename.ends_with(".whl"))).or_else(|| offering().next())?;
    Some((file, file.core_metadata.as_ref()?.as_ref()))
}

fn body(answer: Answered) -> Result<Vec<u8>, String> {
    Ok(answer.body)
}
