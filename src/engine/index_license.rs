//! Exact-release licenses from the index's core metadata file (PEP 658/714): asked for only when
//! local metadata names no license (a pinned requirement has none) and the index's release
//! document names none either (or the index has no JSON API). The file is found and verified by
//! `sources::core_metadata`, parsed with the inventory's own core metadata parser, and its
//! license fields kept in the release's `RegistryInfo` (so a cached answer keeps them).

use crate::inventory::core_metadata;
use crate::model::{IndexCoreMetadata, LicenseMetadata, RegistryInfo};
use crate::sources::PypiClient;
use crate::sources::core_metadata::CoreMetadataFile;
use crate::sources::simple::DistFile;

/// Whether the core metadata file is worth asking for: the release is on the index, was not
/// asked before, and its release document names no license.
pub(super) fn wanted(info: &RegistryInfo) -> bool {
    info.on_index
        && info.core_metadata.is_none()
        && super::evaluate::index_document_license(info).is_err()
}

/// Ask for the core metadata file and record what it gave in `info`. Returns whether the
/// outcome is the index's answer (worth caching) rather than a failure to reach it.
pub(super) async fn complete(
    client: &PypiClient,
    name: &str,
    version: &str,
    files: Option<Vec<DistFile>>,
    info: &mut RegistryInfo,
) -> bool {
    let (outcome, cacheable) = match client.core_metadata(name, version, files).await {
        Ok(CoreMetadataFile::Read { filename, bytes }) => (read(filename, &bytes), true),
        Ok(CoreMetadataFile::Unavailable(reason)) => {
            (IndexCoreMetadata::Unavailable { reason }, true)
        }
        Err(e) => {
            let reason = format!("could not be fetched ({e})");
            (IndexCoreMetadata::Unavailable { reason }, false)
        }
    };
    info.core_metadata = Some(outcome);
    cacheable
}

fn read(file: String, bytes: &[u8]) -> IndexCoreMetadata {
    match core_metadata::parse(bytes) {
        Ok(meta) => IndexCoreMetadata::Read {
            file,
            license: LicenseMetadata {
                expression: meta.license_expression,
                license_field: meta.license,
                classifiers: meta.license_classifiers,
                // Named, but inside the wheel: not readable from here.
                license_files: Vec::new(),
            },
        },
        Err(e) => IndexCoreMetadata::Unavailable {
            reason: format!("the file of {file} is not readable core metadata ({e})"),
        },
    }
}
