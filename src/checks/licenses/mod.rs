//! Licenses: resolve each package's license to SPDX with provenance, and judge it against policy.
//!
//! Resolution ([`resolve`]) reads, in priority order, the PEP 639 `License-Expression`, the Trove
//! `License ::` classifiers, the legacy `License` field, and — only when those give no specific
//! answer — the license files in the metadata directory. It takes the most specific answer that
//! is consistent across sources, records vague or disagreeing evidence in `notes`, and prefers
//! *unknown* to a guess: "BSD License" alone (which BSD?) is unknown, with the reason.
//! Judgement ([`evaluate`]) applies `[licenses]` with SPDX semantics (AND/OR/WITH, `-or-later`).

mod classifiers;
pub mod config;
mod evaluate;
mod expression;
mod files;
mod matcher;
mod memo;
mod names;
mod normalize;
mod resolve;
mod terms;
mod text;

use std::path::Path;

use crate::checks::CheckOutput;
use crate::model::{Distribution, Finding, LicenseMetadata, RegistryInfo, ResolvedLicense};
use config::LicensePolicy;

pub use files::{LicenseText, texts as license_texts};

pub use evaluate::{
    ExceptionUsage, LicenseExplanation, LicenseVerdict, RequirementExplanation, RequirementStatus,
};

/// Resolve a distribution's license from its own metadata.
///
/// `metadata_dir` is the `.dist-info`/`.egg-info` directory; license files in it are read only
/// when the metadata fields give no specific answer (or a vague one to refine), so most packages
/// cost no file I/O. The result is always a valid SPDX expression or `None` with
/// `unknown_reason`; `source`/`evidence` say where it came from and `notes` what was vague or
/// disagreed. Never fails: unreadable files become notes.
///
/// Documented choices (README, "Licenses are resolved by these rules"): a precise `License`
/// field wins over classifiers; several licenses (classifiers, a list, the texts of the license
/// files) are AND unless a choice is stated; a bare GNU license text or "GPLv3" is read as
/// `-only` (the narrower grant); "Apache Software License" without a version is Apache-2.0
/// (noted); public domain and proprietary/other terms become `LicenseRef-Public-Domain` /
/// `LicenseRef-Proprietary` so a policy can name them; a license text is taken only when it
/// matches an SPDX template whole.
pub fn resolve(meta: &LicenseMetadata, metadata_dir: Option<&Path>) -> ResolvedLicense {
    match metadata_dir {
        // Fields alone (an index document, a core metadata file): asked again and again.
        None => memo::resolve_fields(meta),
        Some(_) => resolve::resolve(meta, metadata_dir),
    }
}

/// [`resolve`], and what its answer depends on besides `meta` and `metadata_dir`: the
/// [`license_files_digest`] of the license files it read (`None` when it read none). A caller
/// that keeps the answer may reuse it while the metadata and that digest are unchanged.
pub fn resolve_traced(
    meta: &LicenseMetadata,
    metadata_dir: Option<&Path>,
) -> (ResolvedLicense, Option<String>) {
    resolve::resolve_traced(meta, metadata_dir)
}

/// Fingerprint of the license files [`resolve`] would read in `metadata_dir` (which files,
/// their bytes): reading and hashing them costs far less than identifying their texts.
pub fn license_files_digest(listed: &[String], metadata_dir: &Path) -> String {
    files::digest(listed, metadata_dir)
}

pub use files::FilesStamp;

/// Identity stamp of the license files [`license_files_digest`] would read (see
/// [`FilesStamp`]): while it is equal, so is the digest, without reading the files. `None`
/// when a stamp cannot vouch for them; then only the digest can.
pub fn license_files_stamp(listed: &[String], metadata_dir: &Path) -> Option<FilesStamp> {
    files::stamp(listed, metadata_dir)
}

/// Identity of this build's license resolution (a hash of its source and of the SPDX
/// templates, made by `build.rs`): a resolution stored by another build is not reused.
pub const RESOLVER_BUILD: &str = env!("LICENSE_RESOLVER_BUILD");

/// The license PyPI reports (`license_expression`, else the free-text `license`), with source
/// [`crate::model::LicenseSource::Pypi`]; for packages whose local metadata resolved to unknown.
/// `None` when PyPI names no license specifically (a vague name such as "BSD" gives `None`).
pub fn resolve_from_registry(info: &RegistryInfo) -> Option<ResolvedLicense> {
    resolve::resolve_from_registry(info)
}

/// Judge one package's resolved license against `policy`.
///
/// - Unresolved license → an [`crate::model::Unknown`] (check `licenses`) with
///   `fails_run = policy.enabled && policy.unknown == Deny` (reported, never a pass).
/// - `policy.enabled == false` → nothing else: licenses are reported, not judged.
/// - Otherwise a failing expression gives one error finding, `license-denied` (rule
///   `licenses.deny[i]`) or `license-not-allowed` (rule `licenses.allow`). Exceptions for the
///   package (by normalised name) are consulted only when the global rules fail, and recorded in
///   `usage` when they make it pass.
pub fn evaluate(
    dist: &Distribution,
    license: &ResolvedLicense,
    policy: &LicensePolicy,
    usage: &mut ExceptionUsage,
) -> CheckOutput {
    evaluate::evaluate(dist, license, policy, usage)
}

/// Warnings (`license-exception-unused`, rule `licenses.exceptions[i]`) for exceptions no
/// evaluated package needed, wholly or in part. Call after every package was evaluated.
pub fn unused_exceptions(policy: &LicensePolicy, usage: &ExceptionUsage) -> Vec<Finding> {
    evaluate::unused_exceptions(policy, usage)
}

/// Why `package`'s license passes or fails: the verdict, each term's status and deciding rule,
/// the smallest set of licenses that would satisfy it, and an exception stub (TOML) to paste into
/// the policy. For the dashboard drill-down.
pub fn explain(
    license: &ResolvedLicense,
    policy: &LicensePolicy,
    package: &str,
) -> LicenseExplanation {
    evaluate::explain(license, policy, package)
}
