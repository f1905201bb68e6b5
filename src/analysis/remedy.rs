//! Why a source left data unknown, and what the user can do about it: the report's unknowns,
//! grouped by check and cause, each with a one-line remedy (`--osv-db`, `depdash db update`, a
//! proxy or CA setting...). Both faces show these so an unknown never reads as a pass.

use std::collections::BTreeMap;

use crate::model::{Check, Unknown};

/// What went wrong, as far as the reason says; decides the remedy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Cause {
    /// The host could not be reached (refused, DNS, proxy).
    Unreachable,
    /// TLS handshake or certificate failure.
    Tls,
    /// The host answered too slowly.
    TimedOut,
    /// The host asked us to slow down.
    RateLimited,
    /// The circuit breaker stopped asking a failing host.
    BreakerOpen,
    /// The host answered, but not with something we understand (or an HTTP error).
    BadAnswer,
    /// The offline vulnerability database could not be used.
    OfflineDatabase,
    /// The package's own data (version, metadata) is the problem, not a source.
    PackageData,
    /// Anything else.
    Other,
}

impl Cause {
    /// Classify an unknown's reason. The reasons are the sources' error texts, whose wording is
    /// fixed by their `Display` impls (sources/http.rs), so matching on them is stable.
    pub fn of(unknown: &Unknown) -> Cause {
        let reason = unknown.reason.to_ascii_lowercase();
        let has = |needle: &str| reason.contains(needle);
        if has("circuit breaker") {
            Cause::BreakerOpen
        } else if has("certificate") || has("tls") || has("ssl") {
            Cause::Tls
        } else if has("timed out") {
            Cause::TimedOut
        } else if has("rate limited") || has("http 429") {
            Cause::RateLimited
        } else if has("cannot connect")
            || has("refused")
            || has("connection failed")
            || has("cannot request")
        {
            Cause::Unreachable
        } else if has("osv database") || has("osv record") || has("zip archive") {
            Cause::OfflineDatabase
        } else if has("malformed answer") || has("http ") {
            Cause::BadAnswer
        } else if has("pep 440") || has("metadata") || unknown.check == Check::Licenses {
            Cause::PackageData
        } else {
            Cause::Other
        }
    }
}

/// The one-line remedy for `cause` when `check` could not be decided.
pub fn remedy(check: Check, cause: Cause) -> &'static str {
    let offline = check == Check::Vulnerabilities;
    match (cause, offline) {
        (Cause::Unreachable | Cause::Tls | Cause::BreakerOpen, true) => {
            "check HTTPS_PROXY / SSL_CERT_FILE, or work offline: `depdash db update` then --osv-db PATH"
        }
        (Cause::Unreachable | Cause::Tls | Cause::BreakerOpen, false) => {
            "check HTTPS_PROXY / SSL_CERT_FILE, or point --pypi-url at a reachable index mirror"
        }
        (Cause::TimedOut, _) => "raise --timeout or lower --concurrency; re-run (r) retries",
        (Cause::RateLimited, _) => "lower --concurrency and re-run later; cached answers are kept",
        (Cause::BadAnswer, true) => {
            "the service answered oddly: check --osv-url, or use --osv-db PATH"
        }
        (Cause::BadAnswer, false) => "the index answered oddly: check --pypi-url",
        (Cause::OfflineDatabase, _) => "refresh the offline database: `depdash db update`",
        (Cause::PackageData, _) => "fix the package's metadata, or add a policy exception",
        (Cause::Other, _) => "see the reason; re-run (r) after fixing it",
    }
}

/// Unknowns of one check with one cause.
#[derive(Clone, Debug, PartialEq)]
pub struct Trouble {
    pub check: Check,
    pub cause: Cause,
    /// How many unknowns share this check and cause.
    pub count: usize,
    /// One representative reason (the first seen).
    pub reason: String,
    pub remedy: &'static str,
}

/// The unknowns grouped by (check, cause), most frequent first.
pub fn troubles(unknowns: &[Unknown]) -> Vec<Trouble> {
    let mut groups: BTreeMap<(Check, Cause), Trouble> = BTreeMap::new();
    for unknown in unknowns {
        let cause = Cause::of(unknown);
        groups
            .entry((unknown.check, cause))
            .or_insert_with(|| Trouble {
                check: unknown.check,
                cause,
                count: 0,
                reason: unknown.reason.clone(),
                remedy: remedy(unknown.check, cause),
            })
            .count += 1;
    }
    let mut out: Vec<Trouble> = groups.into_values().collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then(a.check.cmp(&b.check)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unknown(check: Check, reason: &str) -> Unknown {
        Unknown {
            package: Some("p".into()),
            version: Some("1".into()),
            check,
            reason: reason.into(),
            fails_run: true,
        }
    }

    #[test]
    fn causes_follow_the_source_error_wording() {
        let cases = [
            (
                "OSV: api.osv.dev: cannot connect: refused",
                Cause::Unreachable,
            ),
            ("OSV: api.osv.dev: timed out after 10 s", Cause::TimedOut),
            (
                "OSV: api.osv.dev: not contacted, circuit breaker open after repeated failures",
                Cause::BreakerOpen,
            ),
            ("OSV: h: malformed answer for x: y", Cause::BadAnswer),
            ("OSV: h: HTTP 503", Cause::BadAnswer),
            (
                "OSV: h: rate limited (HTTP 429); server asks",
                Cause::RateLimited,
            ),
            (
                "OSV: h: connection failed: invalid peer certificate",
                Cause::Tls,
            ),
            (
                "version `x` is not PEP 440 (e): cannot match",
                Cause::PackageData,
            ),
        ];
        for (reason, cause) in cases {
            assert_eq!(
                Cause::of(&unknown(Check::Vulnerabilities, reason)),
                cause,
                "{reason}"
            );
        }
    }

    #[test]
    fn groups_by_check_and_cause_with_remedy() {
        let unknowns = vec![
            unknown(Check::Vulnerabilities, "OSV: h: cannot connect: refused"),
            unknown(Check::Vulnerabilities, "OSV: h: cannot connect: refused"),
            unknown(Check::Health, "package index: h: timed out after 5 s"),
        ];
        let t = troubles(&unknowns);
        assert_eq!(t.len(), 2);
        assert_eq!((t[0].check, t[0].count), (Check::Vulnerabilities, 2));
        assert!(t[0].remedy.contains("--osv-db"), "{}", t[0].remedy);
        assert!(t[1].remedy.contains("--timeout"), "{}", t[1].remedy);
    }
}
