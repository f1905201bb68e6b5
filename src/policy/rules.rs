//! A finding's rule reference rendered with what the policy says there, for drill-down:
//! `licenses.deny[4] = "GPL-2.0-or-later"`.

use super::{Disposition, PackageRule, Policy};
use crate::model::{RuleKey, RuleRef};
use crate::units::format_duration;

/// `text` as a TOML string (quoted and escaped), as it would be written in the policy file.
pub fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

fn list<T: ToString>(items: &[T]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| toml_string(&i.to_string())).collect();
    format!("[{}]", quoted.join(", "))
}

fn disposition(d: Disposition) -> String {
    toml_string(match d {
        Disposition::Deny => "deny",
        Disposition::Warn => "warn",
        Disposition::Allow => "allow",
    })
}

fn package_rule(rule: &PackageRule) -> String {
    let mut fields = vec![format!("name = {}", toml_string(&rule.name))];
    if let Some(version) = &rule.version {
        fields.push(format!("version = {}", toml_string(&version.to_string())));
    }
    if let Some(reason) = &rule.reason {
        fields.push(format!("reason = {}", toml_string(reason)));
    }
    format!("{{ {} }}", fields.join(", "))
}

impl Policy {
    /// `rule` and the policy's content there, as TOML (`licenses.deny[4] = "GPL-2.0-or-later"`);
    /// a rule without a value of its own is explained in words. An index past the end (the
    /// policy changed since the run) says so.
    pub fn describe_rule(&self, rule: RuleRef) -> String {
        let entry = |len: usize, render: &dyn Fn(usize) -> String| match rule.index {
            Some(i) if i < len => Some(render(i)),
            Some(_) => None,
            None => Some(String::new()),
        };
        let value: Option<String> = match rule.key {
            RuleKey::LicensesAllow => match (&self.licenses.allow, rule.index) {
                (Some(allow), Some(i)) => allow.get(i).map(|l| toml_string(&l.to_string())),
                (Some(allow), None) => Some(list(allow)),
                (None, _) => None,
            },
            RuleKey::LicensesDeny => {
                let deny = &self.licenses.deny;
                entry(deny.len(), &|i| toml_string(&deny[i].to_string()))
                    .map(|v| if v.is_empty() { list(deny) } else { v })
            }
            RuleKey::LicensesExceptions => {
                let exceptions = &self.licenses.exceptions;
                entry(exceptions.len(), &|i| {
                    let e = &exceptions[i];
                    format!(
                        "{{ name = {}, allow = {}, reason = {} }}",
                        toml_string(&e.name),
                        list(&e.allow),
                        toml_string(&e.reason)
                    )
                })
                .filter(|v| !v.is_empty())
            }
            RuleKey::LicensesUnknown => Some(disposition(self.licenses.unknown)),
            RuleKey::PackagesAllow | RuleKey::PackagesDeny | RuleKey::PackagesRequire => {
                let rules = match rule.key {
                    RuleKey::PackagesAllow => &self.packages.allow,
                    RuleKey::PackagesDeny => &self.packages.deny,
                    _ => &self.packages.require,
                };
                match rule.index {
                    Some(i) => rules.get(i).map(package_rule),
                    None => Some(format!("[{} entries]", rules.len())),
                }
            }
            RuleKey::Vulnerabilities => {
                return format!("{rule} (a known advisory is a violation by default)");
            }
            RuleKey::VulnerabilitiesIgnore => {
                let ignore = &self.vulnerabilities.ignore;
                entry(ignore.len(), &|i| {
                    let e = &ignore[i];
                    let until = e
                        .until
                        .map(|d| format!(", until = {d}"))
                        .unwrap_or_default();
                    format!(
                        "{{ id = {}, reason = {}{until} }}",
                        toml_string(&e.id),
                        toml_string(&e.reason)
                    )
                })
                .filter(|v| !v.is_empty())
            }
            RuleKey::VulnerabilitiesSeverityThreshold => self
                .vulnerabilities
                .severity_threshold
                .map(|t| format!("{t:?}")),
            RuleKey::Health => {
                return format!("{rule} (registry facts of every package)");
            }
            RuleKey::HealthYanked => Some(disposition(self.health.yanked)),
            RuleKey::HealthOutdated => Some(disposition(self.health.outdated)),
            RuleKey::HealthArchived => Some(disposition(self.health.archived)),
            RuleKey::HealthDeprecated => Some(disposition(self.health.deprecated)),
            RuleKey::HealthQuarantined => Some(disposition(self.health.quarantined)),
            RuleKey::HealthMaxAge => self
                .health
                .max_age
                .map(|d| toml_string(&format_duration(d))),
            RuleKey::PerformanceRegressionThreshold => {
                return format!("{rule} (a run setting, in [performance])");
            }
        };
        match value {
            Some(value) => format!("{rule} = {value}"),
            None => format!("{rule} (not in the current policy)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(text: &str) -> Policy {
        super::super::parse(text, std::path::Path::new("depdash.toml"), false).unwrap()
    }

    #[test]
    fn a_rule_is_shown_with_its_content() {
        let p = policy(
            r#"
[health]
max_age = "365d"
[packages]
deny = [{ name = "requests", version = "<2", reason = "old" }]
[licenses]
unknown = "deny"
deny = ["GPL-3.0-only", "AGPL-3.0-only", "GPL-2.0-or-later"]
allow = ["MIT", "Apache-2.0"]
exceptions = [{ name = "gpl-widget", allow = ["GPL-3.0-only"], reason = "internal tool" }]
"#,
        );
        let show = |key, index| p.describe_rule(RuleRef { key, index });
        assert_eq!(
            show(RuleKey::LicensesDeny, Some(2)),
            r#"licenses.deny[2] = "GPL-2.0-or-later""#
        );
        assert_eq!(
            show(RuleKey::LicensesAllow, None),
            r#"licenses.allow = ["MIT", "Apache-2.0"]"#
        );
        assert_eq!(
            show(RuleKey::LicensesExceptions, Some(0)),
            r#"licenses.exceptions[0] = { name = "gpl-widget", allow = ["GPL-3.0-only"], reason = "internal tool" }"#
        );
        assert_eq!(
            show(RuleKey::LicensesUnknown, None),
            r#"licenses.unknown = "deny""#
        );
        assert_eq!(
            show(RuleKey::PackagesDeny, Some(0)),
            r#"packages.deny[0] = { name = "requests", version = "<2", reason = "old" }"#
        );
        assert_eq!(
            show(RuleKey::HealthMaxAge, None),
            r#"health.max_age = "365d""#
        );
        assert_eq!(
            show(RuleKey::LicensesDeny, Some(7)),
            "licenses.deny[7] (not in the current policy)"
        );
    }
}
