//! `[performance]`: regression detection settings, raw (as written) and validated.

use serde::Deserialize;
use toml::Spanned;

use crate::config::Ctx;

/// `[performance]`: regression detection.
#[derive(Clone, Debug, PartialEq)]
pub struct PerfPolicy {
    /// Fractional slowdown that counts as a regression (0.2 = 20 %).
    pub regression_threshold: f64,
    /// How many comparable past runs form the baseline (median).
    pub baseline_runs: usize,
    /// Fewest comparable runs before any verdict.
    pub min_baseline_runs: usize,
    /// Records kept in the history file.
    pub history_limit: usize,
}

impl Default for PerfPolicy {
    fn default() -> Self {
        PerfPolicy {
            regression_threshold: 0.20,
            baseline_runs: 5,
            min_baseline_runs: 3,
            history_limit: 500,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPerformance {
    regression_threshold: Option<Spanned<f64>>,
    baseline_runs: Option<Spanned<i64>>,
    min_baseline_runs: Option<Spanned<i64>>,
    history_limit: Option<Spanned<i64>>,
}

impl PerfPolicy {
    pub fn validate(ctx: &Ctx<'_>, raw: &RawPerformance) -> Self {
        let defaults = PerfPolicy::default();
        let threshold = |t: &Spanned<f64>| {
            let value = *t.get_ref();
            if value > 0.0 && value < 100.0 {
                Ok(value)
            } else {
                Err(ctx.error_at(
                    t.span(),
                    "regression_threshold is a fraction, e.g. 0.2 for 20 %",
                ))
            }
        };
        let count = |raw: &Option<Spanned<i64>>, default| {
            ctx.or_default(raw.as_ref(), default, |n| ctx.count(n, 1))
        };
        PerfPolicy {
            regression_threshold: ctx.or_default(
                raw.regression_threshold.as_ref(),
                defaults.regression_threshold,
                threshold,
            ),
            baseline_runs: count(&raw.baseline_runs, defaults.baseline_runs),
            min_baseline_runs: count(&raw.min_baseline_runs, defaults.min_baseline_runs),
            history_limit: count(&raw.history_limit, defaults.history_limit),
        }
    }
}
