//! `[packages]`: raw (as written) and validated.

use std::ops::Range;

use pep440_rs::VersionSpecifiers;
use serde::Deserialize;
use toml::Spanned;

use crate::config::{Ctx, PolicyError};

/// A package rule: a name and optionally PEP 440 specifiers that the rule applies to.
#[derive(Clone, Debug, PartialEq)]
pub struct PackageRule {
    /// PEP 503 normalised.
    pub name: String,
    pub version: Option<VersionSpecifiers>,
    pub reason: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct PackagePolicy {
    pub deny: Vec<PackageRule>,
    /// When non-empty, only listed packages are approved.
    pub allow: Vec<PackageRule>,
    /// Packages that must be installed and satisfy a version specifier.
    pub require: Vec<PackageRule>,
}

/// A package entry in `deny`/`allow`: a bare name or a table. (Untagged enums cannot hold
/// `Spanned` fields, so the whole entry carries the span.)
#[derive(Deserialize)]
#[serde(
    untagged,
    expecting = "a package name or a table like { name = \"pycrypto\", version = \"<3\", reason = \"...\" }"
)]
enum RawPackageEntry {
    Name(String),
    Rule(RawPlainRule),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlainRule {
    name: String,
    version: Option<String>,
    reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPackageRule {
    name: Spanned<String>,
    version: Option<Spanned<String>>,
    reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPackages {
    #[serde(default)]
    deny: Vec<Spanned<RawPackageEntry>>,
    #[serde(default)]
    allow: Vec<Spanned<RawPackageEntry>>,
    #[serde(default)]
    require: Vec<RawPackageRule>,
}

fn rule(
    ctx: &Ctx<'_>,
    name: (&str, Range<usize>),
    version: Option<(&str, Range<usize>)>,
    reason: Option<&String>,
) -> Result<PackageRule, PolicyError> {
    Ok(PackageRule {
        name: ctx.package_name_at(name.0, name.1)?,
        version: version
            .map(|(text, span)| ctx.specifiers_at(text, span))
            .transpose()?,
        reason: reason.cloned(),
    })
}

fn entry(ctx: &Ctx<'_>, raw: &Spanned<RawPackageEntry>) -> Result<PackageRule, PolicyError> {
    let span = raw.span();
    match raw.get_ref() {
        RawPackageEntry::Name(name) => rule(ctx, (name, span), None, None),
        RawPackageEntry::Rule(r) => rule(
            ctx,
            (&r.name, span.clone()),
            r.version.as_deref().map(|v| (v, span)),
            r.reason.as_ref(),
        ),
    }
}

impl PackagePolicy {
    pub fn validate(ctx: &Ctx<'_>, raw: &RawPackages) -> Self {
        let require = ctx.each(raw.require.iter().map(|r| {
            if r.version.is_none() {
                return Err(ctx.error_at(
                    r.name.span(),
                    "packages.require entries need a `version` specifier, e.g. version = \">=2\"",
                ));
            }
            rule(
                ctx,
                (r.name.get_ref(), r.name.span()),
                r.version.as_ref().map(|v| (v.get_ref().as_str(), v.span())),
                r.reason.as_ref(),
            )
        }));
        PackagePolicy {
            deny: ctx.each(raw.deny.iter().map(|e| entry(ctx, e))),
            allow: ctx.each(raw.allow.iter().map(|e| entry(ctx, e))),
            require,
        }
    }
}
