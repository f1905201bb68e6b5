//! CVSS base scores for advisory severity vectors: v3.0/v3.1 computed here from the
//! specification's base equations (with the v3.1 floating-point-safe `Roundup`), v4.0 through the
//! `cvss` crate (its scoring needs the specification's large macro-vector tables).

use std::str::FromStr;

/// Why a vector could not be scored.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CvssError {
    #[error("not a CVSS v3 vector (expected prefix `CVSS:3.0/` or `CVSS:3.1/`): {0}")]
    NotV3(String),
    #[error("CVSS vector {vector}: malformed component `{component}`")]
    Malformed { vector: String, component: String },
    #[error("CVSS vector {vector}: metric {metric} appears twice")]
    Duplicate { vector: String, metric: String },
    #[error("CVSS vector {vector}: invalid value `{value}` for metric {metric}")]
    InvalidValue {
        vector: String,
        metric: String,
        value: String,
    },
    #[error("CVSS vector {vector}: base metric {metric} missing")]
    Missing {
        vector: String,
        metric: &'static str,
    },
    #[error("CVSS v4 vector {vector}: {detail}")]
    V4 { vector: String, detail: String },
}

/// The v3.1 `Roundup`: the smallest number with one decimal place that is ≥ the input, computed on
/// integers so that e.g. `3.3000000000000003` rounds to 3.3 (not 3.4). The v3.0 specification
/// defines the same function without the float-safety, so it serves both minor versions.
pub fn roundup(input: f64) -> f64 {
    let int_input = (input * 100_000.0).round() as i64;
    if int_input % 10_000 == 0 {
        int_input as f64 / 100_000.0
    } else {
        ((int_input / 10_000) + 1) as f64 / 10.0
    }
}

/// Base score of a CVSS v3.0/v3.1 vector (`CVSS:3.1/AV:N/AC:L/...`). Temporal and environmental
/// metrics may be present; they do not change the base score and are not validated beyond form.
pub fn v3_base_score(vector: &str) -> Result<f64, CvssError> {
    let body = vector
        .strip_prefix("CVSS:3.1/")
        .or_else(|| vector.strip_prefix("CVSS:3.0/"))
        .ok_or_else(|| CvssError::NotV3(vector.to_string()))?;

    // AV, AC, PR, UI, S, C, I, A in that order.
    const BASE: [&str; 8] = ["AV", "AC", "PR", "UI", "S", "C", "I", "A"];
    let mut values: [Option<&str>; 8] = [None; 8];
    let mut seen_other: Vec<&str> = Vec::new();
    for component in body.split('/') {
        let (metric, value) = component
            .split_once(':')
            .filter(|(m, v)| !m.is_empty() && !v.is_empty())
            .ok_or_else(|| CvssError::Malformed {
                vector: vector.to_string(),
                component: component.to_string(),
            })?;
        let duplicate = || CvssError::Duplicate {
            vector: vector.to_string(),
            metric: metric.to_string(),
        };
        match BASE.iter().position(|m| *m == metric) {
            Some(index) => {
                if values[index].replace(value).is_some() {
                    return Err(duplicate());
                }
            }
            None => {
                if seen_other.contains(&metric) {
                    return Err(duplicate());
                }
                seen_other.push(metric);
            }
        }
    }
    let get = |index: usize| {
        values[index].ok_or(CvssError::Missing {
            vector: vector.to_string(),
            metric: BASE[index],
        })
    };
    let invalid = |index: usize, value: &str| CvssError::InvalidValue {
        vector: vector.to_string(),
        metric: BASE[index].to_string(),
        value: value.to_string(),
    };

    let scope_changed = match get(4)? {
        "U" => false,
        "C" => true,
        other => return Err(invalid(4, other)),
    };
    let attack_vector = match get(0)? {
        "N" => 0.85,
        "A" => 0.62,
        "L" => 0.55,
        "P" => 0.2,
        other => return Err(invalid(0, other)),
    };
    let attack_complexity = match get(1)? {
        "L" => 0.77,
        "H" => 0.44,
        other => return Err(invalid(1, other)),
    };
    let privileges_required = match (get(2)?, scope_changed) {
        ("N", _) => 0.85,
        ("L", false) => 0.62,
        ("L", true) => 0.68,
        ("H", false) => 0.27,
        ("H", true) => 0.5,
        (other, _) => return Err(invalid(2, other)),
    };
    let user_interaction = match get(3)? {
        "N" => 0.85,
        "R" => 0.62,
        other => return Err(invalid(3, other)),
    };
    let cia = |index: usize| -> Result<f64, CvssError> {
        match get(index)? {
            "H" => Ok(0.56),
            "L" => Ok(0.22),
            "N" => Ok(0.0),
            other => Err(invalid(index, other)),
        }
    };
    let (confidentiality, integrity, availability) = (cia(5)?, cia(6)?, cia(7)?);

    let impact_sub_score = 1.0 - (1.0 - confidentiality) * (1.0 - integrity) * (1.0 - availability);
    let impact = if scope_changed {
        7.52 * (impact_sub_score - 0.029) - 3.25 * (impact_sub_score - 0.02).powi(15)
    } else {
        6.42 * impact_sub_score
    };
    let exploitability =
        8.22 * attack_vector * attack_complexity * privileges_required * user_interaction;
    if impact <= 0.0 {
        return Ok(0.0);
    }
    Ok(if scope_changed {
        roundup(f64::min(1.08 * (impact + exploitability), 10.0))
    } else {
        roundup(f64::min(impact + exploitability, 10.0))
    })
}

/// Score of a CVSS v4.0 vector (`CVSS:4.0/AV:N/...`), as the specification's lookup defines it.
pub fn v4_score(vector: &str) -> Result<f64, CvssError> {
    cvss::v4::Vector::from_str(vector)
        .map(|parsed| parsed.score().value())
        .map_err(|e| CvssError::V4 {
            vector: vector.to_string(),
            detail: e.to_string(),
        })
}

/// Score of an OSV `severity[]` entry by its `type`; `None` for types that carry no computable
/// score here (`CVSS_V2`, `Ubuntu`, ...) and for vectors that do not parse.
pub fn score_of(kind: &str, vector: &str) -> Option<f64> {
    match kind {
        "CVSS_V3" => v3_base_score(vector).ok(),
        "CVSS_V4" => v4_score(vector).ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundup_is_float_safe_and_rounds_up() {
        assert_eq!(roundup(4.0), 4.0);
        assert_eq!(roundup(4.02), 4.1);
        assert_eq!(roundup(4.00001), 4.1);
        // A naive ceil(x * 10) / 10 gives 3.4 here.
        assert_eq!(roundup(1.1 * 3.0), 3.3);
        assert_eq!(roundup(9.75), 9.8);
    }

    #[test]
    fn rejects_missing_duplicate_and_invalid_metrics() {
        assert!(matches!(
            v3_base_score("AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
            Err(CvssError::NotV3(_))
        ));
        assert!(matches!(
            v3_base_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H"),
            Err(CvssError::Missing { metric: "A", .. })
        ));
        assert!(matches!(
            v3_base_score("CVSS:3.1/AV:N/AV:L/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
            Err(CvssError::Duplicate { .. })
        ));
        assert!(matches!(
            v3_base_score("CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
            Err(CvssError::InvalidValue { .. })
        ));
        assert!(matches!(
            v3_base_score("CVSS:3.1/AV:N/AC:L//PR:N/UI:N/S:U/C:H/I:H/A:H"),
            Err(CvssError::Malformed { .. })
        ));
        assert_eq!(score_of("CVSS_V3", "garbage"), None);
        assert_eq!(score_of("CVSS_V2", "AV:N/AC:L/Au:N/C:P/I:P/A:P"), None);
    }

    #[test]
    fn temporal_metrics_do_not_change_the_base_score() {
        let base = v3_base_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H").unwrap();
        let with_temporal =
            v3_base_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:U/RL:O/RC:C").unwrap();
        assert_eq!(base, with_temporal);
    }
}
