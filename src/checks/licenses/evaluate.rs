//! Judging a resolved license against `[licenses]` with real SPDX semantics.
//!
//! - An expression passes when it can be satisfied: `MIT OR GPL-3.0-only` needs one acceptable
//!   side, `MIT AND GPL-3.0-only` both (evaluated over the parsed expression, `WITH` included).
//! - Each requirement expands to the concrete licenses a user may end up under:
//!   `GPL-2.0-or-later` → GPL-2.0-only, GPL-3.0-only (so `allow = ["GPL-3.0-only"]` accepts it);
//!   `Apache-1.1+` → Apache-1.1, Apache-2.0. (The spdx crate's own `Licensee::satisfies` does
//!   not expand GNU `-or-later` ids, hence this.)
//! - Policy entries cover the same way: `allow = ["LGPL-2.1-or-later"]` means "LGPL 2.1 or any
//!   later version is fine"; an entry without `WITH` covers the license with or without an
//!   exception (exceptions only add permissions); an entry with `WITH` covers exactly that.
//! - A concrete license is acceptable when no `deny` entry covers it and (when there is an
//!   `allow` list) an `allow` entry does. Deny wins over allow.
//! - A package's `exceptions` entries make extra licenses acceptable for that package, *even if
//!   denied*: an exception is the explicit, per-package override. Exceptions are only used when
//!   the global rules fail, so an exception that is not needed is reported unused.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use serde::Serialize;
use spdx::expression::{ExprNode, Operator};
use spdx::{AdditionItem, Expression, LicenseId, LicenseItem, LicenseReq, Licensee};

use super::config::{LicenseException, LicensePolicy};
use crate::checks::CheckOutput;
use crate::config::Disposition;
use crate::model::{
    Check, Code, Distribution, Finding, LicenseSource, ResolvedLicense, RuleKey, RuleRef, Severity,
    Unknown,
};

use super::expression::{LENIENT, requirement_text};

/// Which license exceptions were needed, to report the unneeded ones, and which expired ones
/// would still have applied.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExceptionUsage {
    /// The evaluation date: exceptions past their `until` are not applied. `None` applies all.
    today: Option<time::Date>,
    /// (index in `policy.exceptions`, index in that exception's `allow`).
    used: BTreeSet<(usize, usize)>,
    /// (exception index, `name version`) for expired exceptions of packages that failed.
    expired_matches: BTreeSet<(usize, String)>,
}

impl ExceptionUsage {
    pub fn new() -> Self {
        Self::default()
    }

    /// Usage for an evaluation on `today`: exceptions whose `until` has passed are not applied.
    pub fn as_of(today: time::Date) -> Self {
        ExceptionUsage {
            today: Some(today),
            ..Self::default()
        }
    }

    fn is_expired(&self, exception: &LicenseException) -> bool {
        is_expired(exception, self.today)
    }

    /// Whether `policy.exceptions[exception].allow[allow]` was needed by some package.
    pub fn is_used(&self, exception: usize, allow: usize) -> bool {
        self.used.contains(&(exception, allow))
    }
}

/// The verdict on one package's license.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LicenseVerdict {
    Allowed,
    AllowedByException,
    Denied,
    NotAllowed,
    Unknown,
    /// No `[licenses]` section: reported, not judged.
    NotJudged,
}

/// The verdict on one requirement (one license term) of an expression.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RequirementStatus {
    Allowed,
    AllowedByException,
    Denied,
    NotAllowed,
}

/// One license term of the expression, for the drill-down.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RequirementExplanation {
    /// The term as written, e.g. `GPL-2.0-or-later`.
    pub license: String,
    pub status: RequirementStatus,
    /// Policy rules that decided it, e.g. `licenses.deny[0]`, `licenses.allow[2]`,
    /// `licenses.exceptions[1]`; `licenses.allow` when no allow entry covers it.
    pub rules: Vec<String>,
    /// The concrete licenses it lets a user choose (GPL-2.0-or-later → GPL-2.0-only, GPL-3.0-only).
    pub choices: Vec<String>,
}

/// Why a package's license passes or fails, for the dashboard drill-down.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LicenseExplanation {
    pub package: String,
    pub expression: Option<String>,
    pub source: LicenseSource,
    pub verdict: LicenseVerdict,
    /// One sentence.
    pub summary: String,
    pub requirements: Vec<RequirementExplanation>,
    /// Rules the license breaks (empty when it passes).
    pub broken_rules: Vec<String>,
    /// The smallest set of licenses that, if allowed, would make the package pass.
    pub would_satisfy: Vec<String>,
    /// A `[[licenses.exceptions]]` entry (TOML) that would make the package pass.
    pub exception_stub: Option<String>,
    /// The resolver's notes (vague or disagreeing sources).
    pub notes: Vec<String>,
    /// Why the license is unknown, when it is.
    pub unknown_reason: Option<String>,
}

/// Non-deprecated GNU `-only` ids: the concrete versions `-or-later` expands to.
fn gnu_only_ids() -> &'static [LicenseId] {
    static IDS: OnceLock<Vec<LicenseId>> = OnceLock::new();
    IDS.get_or_init(|| {
        spdx::identifiers::LICENSES
            .iter()
            .filter(|l| l.name.ends_with("-only"))
            .filter_map(|l| spdx::license_id(l.name))
            .filter(|id| id.is_gnu() && !id.is_deprecated())
            .collect()
    })
}

/// Replace a deprecated GNU id (`GPL-2.0`, `GPL-2.0-with-classpath-exception`) by its modern form.
fn canonical_req(req: &LicenseReq) -> LicenseReq {
    if let LicenseItem::Spdx { id, .. } = &req.license
        && id.is_deprecated()
        && id.is_gnu()
    {
        let text = requirement_text(req, &mut Vec::new());
        if let Some(modern) = Expression::parse(&text)
            .ok()
            .and_then(|e| e.requirements().next().map(|r| r.req.clone()))
        {
            return modern;
        }
    }
    req.clone()
}

/// The concrete licenses a requirement lets a user choose.
fn choices(req: &LicenseReq) -> Vec<LicenseReq> {
    let req = canonical_req(req);
    let concrete = |id: LicenseId| LicenseReq {
        license: LicenseItem::Spdx {
            id,
            or_later: false,
        },
        addition: req.addition.clone(),
    };
    match &req.license {
        LicenseItem::Spdx { id, or_later } => {
            if let Some(base) = id.name.strip_suffix("-or-later")
                && let Some(only) = spdx::gnu_license_id(base, false)
            {
                let floor = LicenseReq {
                    license: LicenseItem::Spdx {
                        id: only,
                        or_later: true,
                    },
                    addition: None,
                };
                return gnu_only_ids()
                    .iter()
                    .filter(|c| satisfies(**c, &floor))
                    .map(|c| concrete(*c))
                    .collect();
            }
            if *or_later {
                let floor = LicenseReq {
                    license: req.license.clone(),
                    addition: None,
                };
                return spdx::identifiers::LICENSES
                    .iter()
                    .filter_map(|l| spdx::license_id(l.name))
                    .filter(|c| !c.is_deprecated() && satisfies(*c, &floor))
                    .map(concrete)
                    .collect();
            }
            vec![concrete(*id)]
        }
        LicenseItem::Other(_) => vec![req.clone()],
    }
}

fn satisfies(id: LicenseId, req: &LicenseReq) -> bool {
    Licensee::new(
        LicenseItem::Spdx {
            id,
            or_later: false,
        },
        None,
    )
    .satisfies(req)
}

/// A policy entry: the concrete licenses it covers, and the exception it requires, if any.
struct Entry {
    covers: Vec<LicenseItem>,
    addition: Option<AdditionItem>,
}

impl Entry {
    fn new(licensee: &Licensee) -> Entry {
        let req = licensee.clone().into_req();
        let covers = choices(&LicenseReq {
            license: req.license,
            addition: None,
        })
        .into_iter()
        .map(|c| c.license)
        .collect();
        Entry {
            covers,
            addition: req.addition,
        }
    }

    fn covers(&self, choice: &LicenseReq) -> bool {
        self.covers.contains(&choice.license)
            && (self.addition.is_none() || self.addition == choice.addition)
    }
}

/// One concrete choice and what the policy says about it.
struct ChoiceAnalysis {
    text: String,
    denied_by: Option<usize>,
    /// `Some(None)`: acceptable because there is no allow list; `Some(Some(i))`: `allow[i]`.
    allowed_by: Option<Option<usize>>,
    /// (exception index, allow index) entries covering it.
    excepted_by: Vec<(usize, usize)>,
}

impl ChoiceAnalysis {
    fn ok_global(&self) -> bool {
        self.denied_by.is_none() && self.allowed_by.is_some()
    }
}

struct ReqAnalysis {
    text: String,
    /// An id usable in a policy file (`Apache-1.1+` is not: its first choice is).
    policy_id: String,
    choices: Vec<ChoiceAnalysis>,
}

impl ReqAnalysis {
    fn ok_global(&self) -> bool {
        self.choices.iter().any(ChoiceAnalysis::ok_global)
    }
    fn ok_excepted(&self) -> bool {
        self.choices.iter().any(|c| !c.excepted_by.is_empty())
    }
    fn denied_by(&self) -> Option<usize> {
        self.choices.iter().filter_map(|c| c.denied_by).min()
    }
}

#[derive(Clone, Copy)]
enum Node {
    Req(usize),
    And,
    Or,
}

/// The policy applied to one expression.
struct Analysis {
    expression: String,
    reqs: Vec<ReqAnalysis>,
    nodes: Vec<Node>,
}

/// Whether `exception` is past its `until` date on `today` (never without a date).
fn is_expired(exception: &LicenseException, today: Option<time::Date>) -> bool {
    matches!((exception.until, today), (Some(until), Some(today)) if today > until)
}

fn analyze(
    expression: &str,
    policy: &LicensePolicy,
    package: &str,
    today: Option<time::Date>,
) -> Result<Analysis, String> {
    let parsed = Expression::parse_mode(expression, LENIENT).map_err(|e| e.reason.to_string())?;
    let deny: Vec<Entry> = policy.deny.iter().map(Entry::new).collect();
    let allow: Option<Vec<Entry>> = policy
        .allow
        .as_ref()
        .map(|a| a.iter().map(Entry::new).collect());
    let exceptions: Vec<(usize, usize, Entry)> = policy
        .exceptions
        .iter()
        .enumerate()
        .filter(|(_, e)| e.name == package && !is_expired(e, today))
        .flat_map(|(i, e)| {
            e.allow
                .iter()
                .enumerate()
                .map(move |(j, l)| (i, j, Entry::new(l)))
        })
        .collect();
    let mut reqs = Vec::new();
    let mut nodes = Vec::new();
    for node in parsed.iter() {
        match node {
            ExprNode::Req(r) => {
                let text = requirement_text(&r.req, &mut Vec::new());
                let choices: Vec<ChoiceAnalysis> = choices(&r.req)
                    .into_iter()
                    .map(|c| ChoiceAnalysis {
                        text: c.to_string(),
                        denied_by: deny.iter().position(|d| d.covers(&c)),
                        allowed_by: match &allow {
                            None => Some(None),
                            Some(list) => list.iter().position(|a| a.covers(&c)).map(Some),
                        },
                        excepted_by: exceptions
                            .iter()
                            .filter(|(_, _, e)| e.covers(&c))
                            .map(|(i, j, _)| (*i, *j))
                            .collect(),
                    })
                    .collect();
                let policy_id = if Licensee::parse(&text).is_ok() {
                    text.clone()
                } else {
                    choices
                        .first()
                        .map_or_else(|| text.clone(), |c| c.text.clone())
                };
                nodes.push(Node::Req(reqs.len()));
                reqs.push(ReqAnalysis {
                    text,
                    policy_id,
                    choices,
                });
            }
            ExprNode::Op(Operator::And) => nodes.push(Node::And),
            ExprNode::Op(Operator::Or) => nodes.push(Node::Or),
        }
    }
    Ok(Analysis {
        expression: expression.to_string(),
        reqs,
        nodes,
    })
}

impl Analysis {
    /// The cheapest set of requirements to rely on so the expression holds, where `cost` gives
    /// each requirement's (weight, whether it counts) or `None` if it cannot be relied on.
    fn cheapest(&self, cost: impl Fn(&ReqAnalysis) -> Option<(u32, bool)>) -> Option<Vec<usize>> {
        let mut stack: Vec<Option<(u32, Vec<usize>)>> = Vec::new();
        for node in &self.nodes {
            let value = match node {
                Node::Req(i) => cost(&self.reqs[*i])
                    .map(|(w, counts)| (w, if counts { vec![*i] } else { Vec::new() })),
                Node::And | Node::Or => {
                    let (Some(b), Some(a)) = (stack.pop(), stack.pop()) else {
                        return None;
                    };
                    match (node, a, b) {
                        (Node::And, Some((wa, mut sa)), Some((wb, sb))) => {
                            sa.extend(sb);
                            Some((wa + wb, sa))
                        }
                        (Node::And, _, _) => None,
                        (_, Some(a), Some(b)) => Some(if b.0 < a.0 { b } else { a }),
                        (_, a, b) => a.or(b),
                    }
                }
            };
            stack.push(value);
        }
        stack.pop().flatten().map(|(_, set)| set)
    }

    fn passes_global(&self) -> bool {
        self.cheapest(|r| r.ok_global().then_some((0, false)))
            .is_some()
    }

    /// Requirements that need an exception (fewest possible), or `None` if even exceptions fail.
    fn needs_exceptions(&self) -> Option<Vec<usize>> {
        self.cheapest(|r| {
            if r.ok_global() {
                Some((0, false))
            } else if r.ok_excepted() {
                Some((1, true))
            } else {
                None
            }
        })
    }

    /// The fewest requirements to fix for the expression to pass; overriding a deny costs more
    /// than allowing a license, so alternatives that are merely not allowed are preferred.
    fn minimal_fix(&self) -> Vec<usize> {
        self.cheapest(|r| {
            Some(if r.ok_global() {
                (0, false)
            } else if r.denied_by().is_some() {
                (2, true)
            } else {
                (1, true)
            })
        })
        .unwrap_or_default()
    }

    fn exception_entries(&self, reqs: &[usize]) -> BTreeSet<(usize, usize)> {
        reqs.iter()
            .flat_map(|i| self.reqs[*i].choices.iter())
            .flat_map(|c| c.excepted_by.iter().copied())
            .collect()
    }

    /// Code, rule and sentence for a failing expression.
    fn failure(&self, policy: &LicensePolicy) -> (Code, RuleRef, String) {
        let fix = self.minimal_fix();
        let mut parts = Vec::new();
        let mut first_deny = None;
        for i in &fix {
            let req = &self.reqs[*i];
            match req.denied_by() {
                Some(d) => {
                    first_deny = first_deny.or(Some(d));
                    parts.push(format!(
                        "{} is denied by licenses.deny[{d}] (`{}`)",
                        req.text, policy.deny[d]
                    ));
                }
                None => parts.push(format!("{} is not in licenses.allow", req.text)),
            }
        }
        match first_deny {
            Some(d) => (
                CODE_DENIED,
                RuleRef::entry(RuleKey::LicensesDeny, d),
                format!("license `{}`: {}", self.expression, parts.join("; ")),
            ),
            None => (
                CODE_NOT_ALLOWED,
                RuleKey::LicensesAllow.into(),
                format!("license `{}`: {}", self.expression, parts.join("; ")),
            ),
        }
    }
}

pub(crate) const CODE_DENIED: Code = Code::LicenseDenied;
pub(crate) const CODE_NOT_ALLOWED: Code = Code::LicenseNotAllowed;
pub(crate) const CODE_EXCEPTION_UNUSED: Code = Code::LicenseExceptionUnused;

/// The unknown for a package whose license could not be determined (or not parsed).
fn license_unknown(dist: &Distribution, reason: String, policy: &LicensePolicy) -> Unknown {
    Unknown {
        package: Some(dist.name.clone()),
        version: Some(dist.version.clone()),
        check: Check::Licenses,
        reason,
        fails_run: policy.enabled && policy.unknown == Disposition::Deny,
    }
}

pub(crate) fn evaluate(
    dist: &Distribution,
    license: &ResolvedLicense,
    policy: &LicensePolicy,
    usage: &mut ExceptionUsage,
) -> CheckOutput {
    let mut out = CheckOutput::default();
    let Some(expression) = &license.expression else {
        let reason = license
            .unknown_reason
            .clone()
            .unwrap_or_else(|| "license could not be determined".to_string());
        out.unknowns.push(license_unknown(dist, reason, policy));
        return out;
    };
    if !policy.enabled {
        return out;
    }
    let analysis = match analyze(expression, policy, &dist.normalized, usage.today) {
        Ok(a) => a,
        Err(why) => {
            out.unknowns.push(license_unknown(
                dist,
                format!("resolved license `{expression}` is not a valid SPDX expression ({why})"),
                policy,
            ));
            return out;
        }
    };
    if analysis.passes_global() {
        return out;
    }
    if let Some(needed) = analysis.needs_exceptions() {
        usage.used.extend(analysis.exception_entries(&needed));
        return out;
    }
    for (i, exception) in policy.exceptions.iter().enumerate() {
        if exception.name == dist.normalized && usage.is_expired(exception) {
            (usage.expired_matches).insert((i, format!("{} {}", dist.name, dist.version)));
        }
    }
    let (code, rule, message) = analysis.failure(policy);
    out.findings.push(
        Finding::new(code, Severity::Error, message)
            .for_package(&dist.name, &dist.version)
            .with_rule(rule),
    );
    out
}

pub(crate) fn unused_exceptions(policy: &LicensePolicy, usage: &ExceptionUsage) -> Vec<Finding> {
    if !policy.enabled {
        return Vec::new();
    }
    let mut findings = Vec::new();
    for (i, exception) in policy.exceptions.iter().enumerate() {
        let rule = RuleRef::entry(RuleKey::LicensesExceptions, i);
        if usage.is_expired(exception) {
            let matched: Vec<&str> = usage
                .expired_matches
                .iter()
                .filter(|(j, _)| *j == i)
                .map(|(_, package)| package.as_str())
                .collect();
            let tail = if matched.is_empty() {
                String::new()
            } else {
                format!("; without it {} fails, reported", matched.join(", "))
            };
            let mut finding = Finding::new(
                Code::LicenseExceptionExpired,
                Severity::Warning,
                format!(
                    "{rule} for `{}` expired on {} and is no longer applied{tail}",
                    exception.name,
                    exception.until.map(|u| u.to_string()).unwrap_or_default()
                ),
            )
            .with_rule(rule);
            finding.package = Some(exception.name.clone());
            findings.push(finding);
            continue;
        }
        let unused: Vec<String> = exception
            .allow
            .iter()
            .enumerate()
            .filter(|(j, _)| !usage.is_used(i, *j))
            .map(|(_, l)| l.to_string())
            .collect();
        if unused.is_empty() {
            continue;
        }
        let message = if unused.len() == exception.allow.len() {
            format!(
                "license exception for `{}` (allow {}) was not needed: no installed package's license required it; remove it",
                exception.name,
                unused.join(", ")
            )
        } else {
            format!(
                "license exception for `{}` allows {} but no license needed it; narrow the exception",
                exception.name,
                unused.join(", ")
            )
        };
        let mut finding =
            Finding::new(CODE_EXCEPTION_UNUSED, Severity::Warning, message).with_rule(rule);
        finding.package = Some(exception.name.clone());
        findings.push(finding);
    }
    findings
}

pub(crate) fn explain(
    license: &ResolvedLicense,
    policy: &LicensePolicy,
    package: &str,
) -> LicenseExplanation {
    let package_key = crate::model::normalize_name(package);
    let mut explanation = LicenseExplanation {
        package: package.to_string(),
        expression: license.expression.clone(),
        source: license.source.clone(),
        verdict: LicenseVerdict::NotJudged,
        summary: String::new(),
        requirements: Vec::new(),
        broken_rules: Vec::new(),
        would_satisfy: Vec::new(),
        exception_stub: None,
        notes: license.notes.clone(),
        unknown_reason: license.unknown_reason.clone(),
    };
    let Some(expression) = &license.expression else {
        explanation.verdict = LicenseVerdict::Unknown;
        let reason = license
            .unknown_reason
            .as_deref()
            .unwrap_or("license could not be determined");
        explanation.summary = if policy.enabled {
            let effect = match policy.unknown {
                Disposition::Deny => "fails the run (licenses.unknown = \"deny\")",
                Disposition::Warn => "reported (licenses.unknown = \"warn\")",
                Disposition::Allow => "accepted (licenses.unknown = \"allow\")",
            };
            format!("license unknown, {effect}: {reason}")
        } else {
            format!("license unknown: {reason}")
        };
        if policy.enabled && policy.unknown == Disposition::Deny {
            explanation.broken_rules.push("licenses.unknown".into());
        }
        return explanation;
    };
    if !policy.enabled {
        explanation.summary = format!(
            "`{expression}`: no [licenses] section in the policy, so licenses are reported, not judged"
        );
        return explanation;
    }
    let today = time::OffsetDateTime::now_utc().date();
    let analysis = match analyze(expression, policy, &package_key, Some(today)) {
        Ok(a) => a,
        Err(why) => {
            explanation.verdict = LicenseVerdict::Unknown;
            explanation.summary = format!("`{expression}` is not a valid SPDX expression ({why})");
            return explanation;
        }
    };
    let passes_global = analysis.passes_global();
    let exceptions_needed = if passes_global {
        None
    } else {
        analysis.needs_exceptions()
    };
    explanation.requirements = analysis
        .reqs
        .iter()
        .map(|r| requirement_explanation(r, policy.allow.is_some()))
        .collect();
    if passes_global {
        explanation.verdict = LicenseVerdict::Allowed;
        explanation.summary = match &policy.allow {
            None => format!("`{expression}` is allowed: not denied, and there is no allow list"),
            Some(_) => format!("`{expression}` is allowed by licenses.allow"),
        };
        return explanation;
    }
    if let Some(needed) = exceptions_needed {
        let entries = analysis.exception_entries(&needed);
        let rules: Vec<String> = entries
            .iter()
            .map(|(i, _)| format!("licenses.exceptions[{i}]"))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        explanation.verdict = LicenseVerdict::AllowedByException;
        explanation.summary = format!(
            "`{expression}` is allowed for {package} by {}",
            rules.join(", ")
        );
        return explanation;
    }
    let (code, rule, message) = analysis.failure(policy);
    explanation.verdict = if code == CODE_DENIED {
        LicenseVerdict::Denied
    } else {
        LicenseVerdict::NotAllowed
    };
    explanation.summary = message;
    let fix = analysis.minimal_fix();
    let mut broken: Vec<String> = fix
        .iter()
        .map(|i| match analysis.reqs[*i].denied_by() {
            Some(d) => format!("licenses.deny[{d}]"),
            None => "licenses.allow".to_string(),
        })
        .collect();
    broken.insert(0, rule.to_string());
    broken.dedup();
    let mut seen = BTreeSet::new();
    broken.retain(|r| seen.insert(r.clone()));
    explanation.broken_rules = broken;
    explanation.would_satisfy = fix
        .iter()
        .map(|i| analysis.reqs[*i].policy_id.clone())
        .collect();
    let allow_list = explanation
        .would_satisfy
        .iter()
        .map(|id| format!("\"{id}\""))
        .collect::<Vec<_>>()
        .join(", ");
    explanation.exception_stub = Some(format!(
        "[[licenses.exceptions]]\nname = \"{package_key}\"\nallow = [{allow_list}]\nreason = \"TODO: why {} is acceptable for {package_key}\"\n",
        explanation.would_satisfy.join(" and ")
    ));
    explanation
}

fn requirement_explanation(req: &ReqAnalysis, has_allow_list: bool) -> RequirementExplanation {
    let mut rules = BTreeSet::new();
    let status = if req.ok_global() {
        for c in req.choices.iter().filter(|c| c.ok_global()) {
            if let Some(Some(i)) = c.allowed_by {
                rules.insert(format!("licenses.allow[{i}]"));
            }
        }
        RequirementStatus::Allowed
    } else if req.ok_excepted() {
        for c in &req.choices {
            for (i, _) in &c.excepted_by {
                rules.insert(format!("licenses.exceptions[{i}]"));
            }
        }
        RequirementStatus::AllowedByException
    } else if let Some(d) = req.denied_by() {
        rules.insert(format!("licenses.deny[{d}]"));
        RequirementStatus::Denied
    } else {
        if has_allow_list {
            rules.insert("licenses.allow".to_string());
        }
        RequirementStatus::NotAllowed
    };
    RequirementExplanation {
        license: req.text.clone(),
        status,
        rules: rules.into_iter().collect(),
        choices: req.choices.iter().map(|c| c.text.clone()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(text: &str) -> LicenseReq {
        Expression::parse_mode(text, LENIENT)
            .unwrap()
            .requirements()
            .next()
            .unwrap()
            .req
            .clone()
    }

    fn choice_names(text: &str) -> Vec<String> {
        choices(&req(text)).iter().map(|c| c.to_string()).collect()
    }

    #[test]
    fn or_later_expands_to_concrete_versions() {
        assert_eq!(
            choice_names("GPL-2.0-or-later"),
            ["GPL-2.0-only", "GPL-3.0-only"]
        );
        assert_eq!(
            choice_names("LGPL-2.0-or-later"),
            ["LGPL-2.0-only", "LGPL-2.1-only", "LGPL-3.0-only"]
        );
        assert_eq!(choice_names("GPL-3.0-only"), ["GPL-3.0-only"]);
        assert_eq!(choice_names("GPL-2.0+"), ["GPL-2.0-only", "GPL-3.0-only"]);
        assert_eq!(choice_names("LGPL-2.1"), ["LGPL-2.1-only"]);
        assert_eq!(choice_names("Apache-1.1+"), ["Apache-1.1", "Apache-2.0"]);
        assert_eq!(
            choice_names("GPL-2.0-or-later WITH Classpath-exception-2.0"),
            [
                "GPL-2.0-only WITH Classpath-exception-2.0",
                "GPL-3.0-only WITH Classpath-exception-2.0"
            ]
        );
        assert_eq!(
            choice_names("LicenseRef-Proprietary"),
            ["LicenseRef-Proprietary"]
        );
    }

    #[test]
    fn entries_cover_with_or_without_an_exception() {
        let plain = Entry::new(&Licensee::parse("GPL-2.0-only").unwrap());
        let with =
            Entry::new(&Licensee::parse("GPL-2.0-only WITH Classpath-exception-2.0").unwrap());
        let bare = &choices(&req("GPL-2.0-only"))[0];
        let excepted = &choices(&req("GPL-2.0-only WITH Classpath-exception-2.0"))[0];
        assert!(plain.covers(bare));
        assert!(plain.covers(excepted));
        assert!(with.covers(excepted));
        assert!(!with.covers(bare));
        let or_later = Entry::new(&Licensee::parse("LGPL-2.1-or-later").unwrap());
        assert!(or_later.covers(&choices(&req("LGPL-3.0-only"))[0]));
        assert!(!or_later.covers(&choices(&req("LGPL-2.0-only"))[0]));
    }
}
