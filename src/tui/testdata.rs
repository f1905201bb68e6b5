//! Fabricated reports, events and snapshots for the dashboard's tests: a small but realistic
//! environment (requests, urllib3 with two advisories, a GPL package, a denied package, a yanked
//! release, an unresolved license and an unreachable vulnerability lookup).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use crate::engine::events::{EngineEvent, MetricsSnapshot};
use crate::model::{
    Check, Code, Finding, LicenseSource, PackageReport, PackageStatus, RegistryInfo, Report,
    ResolvedLicense, RuleKey, RuleRef, Severity, SeverityScore, TargetInfo, Unknown,
};
use crate::policy::Policy;
use crate::telemetry::tracker::OperationStats;
use crate::telemetry::{
    BaselineVerdict, BreakerState, CacheCounters, LevelCounters, Metrics, NetworkCounters,
    RegressedMetric, Regression, RequestEvent, RequestOutcome, SourceKind,
};

use super::app::App;

pub const POLICY: &str = r#"
[licenses]
allow = ["MIT", "Apache-2.0", "BSD-3-Clause", "MPL-2.0"]
deny = ["GPL-3.0-only"]

[packages]
deny = [{ name = "pycrypto", reason = "unmaintained; use pycryptodome" }]
"#;

pub fn policy() -> Policy {
    crate::policy::parse(POLICY, Path::new("/project/depdash.toml"), false)
        .expect("the test policy is valid")
}

/// An OK package with an MIT classifier license, current on the index.
pub use crate::model::fixtures::{package, vulnerability};

fn with_license(mut p: PackageReport, expression: &str, source: LicenseSource) -> PackageReport {
    p.license.expression = Some(expression.to_string());
    p.license.source = source;
    p.license.evidence = None;
    p
}

fn requires(mut p: PackageReport, reqs: &[&str]) -> PackageReport {
    p.requires = reqs.iter().map(|r| r.to_string()).collect();
    p
}

pub fn packages() -> Vec<PackageReport> {
    let requests = requires(
        with_license(
            package("requests", "2.31.0"),
            "Apache-2.0",
            LicenseSource::Classifier,
        ),
        &[
            "charset-normalizer<4,>=2",
            "idna<4,>=2.5",
            "urllib3<3,>=1.21.1",
            "certifi>=2017.4.17",
            "PySocks!=1.5.7,>=1.5.6; extra == \"socks\"",
        ],
    );
    let mut urllib3 = package("urllib3", "1.26.5");
    urllib3.status = PackageStatus::Violation;
    urllib3.registry = Some(RegistryInfo {
        on_index: true,
        latest_version: Some("2.2.1".into()),
        ..RegistryInfo::default()
    });
    let mut cookie = vulnerability("GHSA-v845-jxx5-vc9f", &["1.26.17", "2.0.6"]);
    cookie.aliases = vec!["CVE-2023-43804".into()];
    cookie.summary = "Cookie request header isn't stripped during cross-origin redirects".into();
    cookie.severity = vec![SeverityScore {
        kind: "CVSS_V3".into(),
        vector: "CVSS:3.1/AV:N/AC:H/PR:H/UI:R/S:U/C:H/I:H/A:H".into(),
        score: Some(5.9),
    }];
    let mut body = vulnerability("GHSA-g4mx-q9vg-27p4", &["1.26.18", "2.0.7"]);
    body.aliases = vec!["CVE-2023-45803".into()];
    body.summary = "Request body not stripped after redirect from 303 status".into();
    urllib3.vulnerabilities = vec![cookie, body];

    let boto3 = requires(
        with_license(
            package("boto3", "1.28.0"),
            "Apache-2.0",
            LicenseSource::LicenseExpression,
        ),
        &["botocore<1.32.0,>=1.31.0", "jmespath<2.0.0,>=0.7.1"],
    );
    let botocore = requires(
        with_license(
            package("botocore", "1.31.0"),
            "Apache-2.0",
            LicenseSource::LicenseExpression,
        ),
        &[
            "jmespath<2.0.0,>=0.7.1",
            "urllib3<1.27,>=1.25.4; python_version < \"3.10\"",
        ],
    );
    let mut gpl = with_license(
        package("gpl-widget", "0.4.1"),
        "GPL-3.0-only",
        LicenseSource::LicenseField,
    );
    gpl.license.evidence = Some("License: GPLv3".into());
    gpl.license.notes = vec!["classifier says GPLv2+; License field wins".into()];
    gpl.status = PackageStatus::Violation;
    let gpl_app = requires(package("report-kit", "2.0.0"), &["gpl-widget>=0.4"]);
    let mut mystery = package("mystery-lib", "0.1.0");
    mystery.license = ResolvedLicense::unknown(
        "no License-Expression, classifier, License field or license file",
    );
    mystery.status = PackageStatus::Warning;
    let mut pycrypto = with_license(
        package("pycrypto", "2.6.1"),
        "LicenseRef-Public-Domain",
        LicenseSource::LicenseField,
    );
    pycrypto.status = PackageStatus::Violation;
    let mut six = package("six", "1.16.0");
    six.registry = Some(RegistryInfo {
        on_index: true,
        yanked: true,
        yanked_reason: Some("broken wheel".into()),
        latest_version: Some("1.16.0".into()),
        ..RegistryInfo::default()
    });
    six.status = PackageStatus::Warning;
    let mut internal = package("internal-pkg", "0.9.0");
    internal.registry = None;
    internal.status = PackageStatus::Unknown;

    vec![
        requests,
        urllib3,
        with_license(
            package("idna", "3.4"),
            "BSD-3-Clause",
            LicenseSource::Classifier,
        ),
        with_license(
            package("certifi", "2023.7.22"),
            "MPL-2.0",
            LicenseSource::LicenseExpression,
        ),
        package("charset-normalizer", "3.2.0"),
        package("jmespath", "1.0.1"),
        boto3,
        botocore,
        gpl,
        gpl_app,
        mystery,
        pycrypto,
        six,
        internal,
    ]
}

pub fn findings() -> Vec<Finding> {
    let mut v1 = Finding::new(
        Code::Vulnerability,
        Severity::Error,
        "GHSA-v845-jxx5-vc9f: Cookie request header isn't stripped during cross-origin redirects",
    )
    .for_package("urllib3", "1.26.5");
    v1.advisory = Some("GHSA-v845-jxx5-vc9f".into());
    let mut v2 = Finding::new(
        Code::Vulnerability,
        Severity::Error,
        "GHSA-g4mx-q9vg-27p4: Request body not stripped after redirect from 303 status",
    )
    .for_package("urllib3", "1.26.5");
    v2.advisory = Some("GHSA-g4mx-q9vg-27p4".into());
    vec![
        Finding::new(
            Code::LicenseDenied,
            Severity::Error,
            "GPL-3.0-only is denied by policy",
        )
        .for_package("gpl-widget", "0.4.1")
        .with_rule(RuleRef::entry(RuleKey::LicensesDeny, 0)),
        Finding::new(
            Code::LicenseNotAllowed,
            Severity::Warning,
            "license `LicenseRef-Proprietary`: LicenseRef-Proprietary is not in licenses.allow",
        )
        .for_package("mystery-lib", "0.1.0")
        .with_rule(RuleKey::LicensesAllow),
        v1,
        v2,
        Finding::new(
            Code::PackageDenied,
            Severity::Error,
            "pycrypto is denied: unmaintained; use pycryptodome",
        )
        .for_package("pycrypto", "2.6.1")
        .with_rule(RuleRef::entry(RuleKey::PackagesDeny, 0)),
        Finding::new(
            Code::Yanked,
            Severity::Warning,
            "six 1.16.0 was yanked: broken wheel",
        )
        .for_package("six", "1.16.0")
        .with_rule(RuleKey::HealthYanked),
    ]
}

pub fn blocking_unknown() -> Unknown {
    Unknown {
        package: Some("internal-pkg".into()),
        version: Some("0.9.0".into()),
        check: Check::Vulnerabilities,
        reason: "OSV querybatch failed: connection refused after 3 retries".into(),
        fails_run: true,
    }
}

fn report_of(
    packages: Vec<PackageReport>,
    findings: Vec<Finding>,
    unknowns: Vec<Unknown>,
) -> Report {
    let target = TargetInfo {
        kind: "environment".into(),
        path: "/project/.venv".into(),
        site_packages: Vec::new(),
    };
    let mut report = Report::new(
        target,
        Some("/project/depdash.toml".into()),
        packages,
        findings,
        unknowns,
    );
    let regression = |operation: &str, baseline_ms: f64, current_ms: f64| Regression {
        operation: operation.into(),
        metric: RegressedMetric::P95,
        baseline_ms,
        current_ms,
        ratio: current_ms / baseline_ms,
        spread_ms: baseline_ms / 20.0,
        limit_ms: baseline_ms * 1.2,
        baseline_runs: 5,
    };
    let regressions = vec![
        regression("http.pypi", 120.0, 210.0),
        regression("metadata.parse", 2.0, 3.0),
    ];
    report.metrics = Metrics {
        total_ms: 4200.0,
        baseline: BaselineVerdict::Compared {
            baseline_runs: 5,
            regressions: regressions.clone(),
        },
        regressions,
        ..Metrics::default()
    };
    report
}

/// Violations and one blocking unknown.
pub fn report() -> Report {
    report_of(packages(), findings(), vec![blocking_unknown()])
}

/// No findings, nothing unknown.
pub fn clean_report() -> Report {
    let packages = vec![package("idna", "3.4"), package("certifi", "2023.7.22")];
    report_of(packages, Vec::new(), Vec::new())
}

/// No violations, but a blocking unknown.
pub fn incomplete_report() -> Report {
    report_of(packages(), Vec::new(), vec![blocking_unknown()])
}

fn op(count: u64, p50: f64, p95: f64, p99: f64, total: f64) -> OperationStats {
    OperationStats {
        count,
        total_ms: total,
        mean_ms: total / count.max(1) as f64,
        min_ms: p50 / 2.0,
        p50_ms: p50,
        p95_ms: p95,
        p99_ms: p99,
        max_ms: p99 * 1.5,
    }
}

fn level(lookups: u64, hits: u64) -> LevelCounters {
    LevelCounters {
        lookups,
        hits,
        misses: lookups - hits,
        ..LevelCounters::default()
    }
}

/// A mid-run snapshot: `done` of `total` packages, 95.0 % cache hit rate overall.
pub fn snapshot(run: u64, done: usize, total: usize) -> MetricsSnapshot {
    let operations = BTreeMap::from([
        (
            "http.pypi".to_string(),
            op(120, 80.0, 210.0, 400.0, 11_000.0),
        ),
        ("http.osv".to_string(), op(3, 300.0, 520.0, 610.0, 1_150.0)),
        ("inventory.scan".to_string(), op(1, 35.0, 35.0, 35.0, 35.0)),
        ("metadata.parse".to_string(), op(180, 0.4, 1.2, 2.5, 90.0)),
        ("cache.get.file".to_string(), op(200, 0.2, 0.9, 1.4, 60.0)),
        ("license.resolve".to_string(), op(180, 0.1, 0.3, 0.8, 25.0)),
    ]);
    MetricsSnapshot {
        run,
        packages_total: total,
        packages_done: done,
        elapsed: Duration::from_millis(2_345),
        operations,
        cache: CacheCounters {
            lookups: 200,
            hits: 190,
            stale_served: 0,
            levels: BTreeMap::from([
                ("memory".to_string(), level(200, 150)),
                ("file".to_string(), level(50, 38)),
                ("redis".to_string(), level(12, 2)),
            ]),
        },
        network: NetworkCounters {
            requests: 123,
            retries: 2,
            failures: 1,
            bytes: 1_234_567,
            in_flight: 4,
            max_in_flight: 16,
            breaker_trips: 0,
            ..NetworkCounters::default()
        },
        breakers: BTreeMap::from([
            ("pypi.org".to_string(), BreakerState::Closed),
            ("api.osv.dev".to_string(), BreakerState::HalfOpen),
        ]),
        finished: false,
    }
}

pub fn request(source: SourceKind, host: &str, failed: bool) -> EngineEvent {
    EngineEvent::Request(RequestEvent {
        source,
        host: host.to_string(),
        subject: "requests".into(),
        duration: Duration::from_millis(80),
        retries: u32::from(failed),
        outcome: if failed {
            RequestOutcome::Failed {
                reason: "timeout".into(),
            }
        } else {
            RequestOutcome::Ok { status: 200 }
        },
        bytes: if failed { 0 } else { 2048 },
    })
}

pub fn new_app() -> App {
    App::new("/project/.venv", policy())
}

/// A run in progress: 37 of 180 packages checked, some requests and findings in.
pub fn running_app() -> App {
    let mut app = new_app();
    app.apply_event(EngineEvent::RunStarted {
        run: 1,
        target: "/project/.venv".into(),
    });
    app.apply_event(EngineEvent::InventoryDone {
        packages: 180,
        issues: 0,
        elapsed: Duration::from_millis(35),
    });
    for _ in 0..5 {
        app.apply_event(request(SourceKind::Pypi, "pypi.org", false));
    }
    app.apply_event(request(SourceKind::Pypi, "pypi.org", true));
    app.apply_event(request(SourceKind::Osv, "api.osv.dev", false));
    app.apply_metrics(snapshot(1, 37, 180));
    app
}

/// A finished run with `report`.
pub fn finished_app(report: Report) -> App {
    let mut app = new_app();
    app.apply_event(EngineEvent::RunStarted {
        run: 1,
        target: "/project/.venv".into(),
    });
    let total = report.packages.len();
    let mut snap = snapshot(1, total, total);
    snap.finished = true;
    app.apply_metrics(snap);
    app.apply_event(EngineEvent::Finished(Box::new(report)));
    app
}
