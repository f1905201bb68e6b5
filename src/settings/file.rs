//! The run settings of a policy file: `[cache]`, `[performance]` and `[sources]` — how to run,
//! not what to judge. Read from the same file as the policy, by their own reader; the policy's
//! sections are only named here, so that a misspelt section is still an error.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::config::{Ctx, PolicyErrors};
use crate::perf::config::{PerfPolicy, RawPerformance};

/// `[cache]`: freshness per kind of data and the file cache's size bound.
#[derive(Clone, Debug, PartialEq)]
pub struct CachePolicy {
    pub metadata_ttl: Duration,
    pub vulnerability_ttl: Duration,
    pub max_size_bytes: u64,
}

impl Default for CachePolicy {
    fn default() -> Self {
        CachePolicy {
            metadata_ttl: Duration::from_secs(7 * 86_400),
            vulnerability_ttl: Duration::from_secs(3_600),
            max_size_bytes: crate::cache::DEFAULT_MAX_FILE_BYTES,
        }
    }
}

/// `[sources]`: defaults for the CLI's network options (CLI and env win).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SourcesConfig {
    pub pypi_url: Option<String>,
    pub osv_url: Option<String>,
    pub osv_db: Option<PathBuf>,
    pub concurrency: Option<usize>,
    pub timeout: Option<Duration>,
    pub retries: Option<u32>,
    pub redis_url: Option<String>,
}

/// The run settings a file gives (defaults for what it does not).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunConfig {
    pub cache: CachePolicy,
    pub performance: PerfPolicy,
    pub sources: SourcesConfig,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawRun {
    cache: Option<RawCache>,
    performance: Option<RawPerformance>,
    sources: Option<RawSources>,
    #[allow(dead_code)]
    licenses: Option<toml::Value>,
    #[allow(dead_code)]
    packages: Option<toml::Value>,
    #[allow(dead_code)]
    vulnerabilities: Option<toml::Value>,
    #[allow(dead_code)]
    health: Option<toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCache {
    metadata_ttl: Option<Spanned<String>>,
    vulnerability_ttl: Option<Spanned<String>>,
    max_size: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSources {
    pypi_url: Option<String>,
    osv_url: Option<String>,
    osv_db: Option<PathBuf>,
    concurrency: Option<Spanned<i64>>,
    timeout: Option<Spanned<String>>,
    retries: Option<Spanned<i64>>,
    redis_url: Option<String>,
}

fn cache(ctx: &Ctx<'_>, raw: &RawCache) -> CachePolicy {
    let defaults = CachePolicy::default();
    CachePolicy {
        metadata_ttl: ctx.or_default(raw.metadata_ttl.as_ref(), defaults.metadata_ttl, |d| {
            ctx.duration(d)
        }),
        vulnerability_ttl: ctx.or_default(
            raw.vulnerability_ttl.as_ref(),
            defaults.vulnerability_ttl,
            |d| ctx.duration(d),
        ),
        max_size_bytes: ctx.or_default(raw.max_size.as_ref(), defaults.max_size_bytes, |s| {
            ctx.size(s)
        }),
    }
}

fn sources(ctx: &Ctx<'_>, raw: RawSources) -> SourcesConfig {
    SourcesConfig {
        concurrency: ctx.optional(raw.concurrency.as_ref(), |n| ctx.count(n, 1)),
        timeout: ctx.optional(raw.timeout.as_ref(), |d| ctx.duration(d)),
        retries: ctx.optional(raw.retries.as_ref(), |n| ctx.count(n, 0).map(|n| n as u32)),
        pypi_url: raw.pypi_url,
        osv_url: raw.osv_url,
        osv_db: raw.osv_db,
        redis_url: raw.redis_url,
    }
}

/// Parse the run settings of a policy file's text, reporting every invalid value at once.
pub fn parse(text: &str, path: &Path, is_pyproject: bool) -> Result<RunConfig, PolicyErrors> {
    let ctx = Ctx::new(text, path);
    let raw: RawRun = crate::config::deserialize(&ctx, is_pyproject)?;
    let defaults = RunConfig::default();
    let run = RunConfig {
        cache: raw.cache.map_or(defaults.cache, |c| cache(&ctx, &c)),
        performance: raw
            .performance
            .map_or(defaults.performance, |p| PerfPolicy::validate(&ctx, &p)),
        sources: raw.sources.map_or(defaults.sources, |s| sources(&ctx, s)),
    };
    ctx.finish(run)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_sections_validate_together_and_policy_sections_pass_through() {
        let text = "[licenses]\nallow = [\"MIT\"]\n[cache]\nmetadata_ttl = \"soon\"\nmax_size = \"1GiB\"\n[performance]\nbaseline_runs = 0\n[sources]\nretries = 3\ntimeout = \"20s\"\n";
        let errors = parse(text, Path::new("depdash.toml"), false).unwrap_err();
        let at: Vec<(usize, usize)> = errors.0.iter().map(|e| (e.line, e.column)).collect();
        assert_eq!(at, [(4, 16), (7, 17)], "{errors}");
        let ok = parse(
            "[cache]\nmax_size = \"1GiB\"\n[sources]\nretries = 3\ntimeout = \"20s\"\n",
            Path::new("depdash.toml"),
            false,
        )
        .unwrap();
        assert_eq!(ok.cache.max_size_bytes, 1 << 30);
        assert_eq!(ok.sources.retries, Some(3));
        assert_eq!(ok.sources.timeout, Some(Duration::from_secs(20)));
        assert_eq!(ok.performance, PerfPolicy::default());
    }
}
