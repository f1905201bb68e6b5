//! The units people write and read, parsed and printed in one place: durations (`7d`), sizes
//! (`256MB`), timestamps (RFC 3339), and line:column positions in text. Depends on nothing in
//! the crate, so every layer can use it.

use std::time::Duration;

use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, PrimitiveDateTime};

/// Percent-encode every byte of `text` outside the RFC 3986 unreserved set and `keep` (URLs,
/// purls, SARIF URIs: untrusted names and versions stay one inert component).
pub fn percent_encode(text: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric()
            || matches!(byte, b'-' | b'.' | b'_' | b'~')
            || keep.contains(&byte)
        {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// 1-based line and column (in characters) of a byte offset in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text.as_bytes()[..offset.min(text.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    (line, column)
}

/// Parse a duration such as `250ms`, `90s`, `30m`, `1h`, `7d`, `2w`, `1y` (365 days).
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().ok()?;
    if unit.trim() == "ms" {
        return Some(Duration::from_millis(n));
    }
    let seconds = match unit.trim() {
        "s" | "sec" | "secs" | "second" | "seconds" => 1,
        "m" | "min" | "mins" | "minute" | "minutes" => 60,
        "h" | "hour" | "hours" => 3_600,
        "d" | "day" | "days" => 86_400,
        "w" | "week" | "weeks" => 7 * 86_400,
        "y" | "year" | "years" => 365 * 86_400,
        _ => return None,
    };
    n.checked_mul(seconds).map(Duration::from_secs)
}

/// A duration in the notation [`parse_duration`] reads, in the largest exact unit (`7d`,
/// `12h`, `30m`, `90s`): round-trips.
pub fn format_duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0 => "0s".to_string(),
        _ if s.is_multiple_of(86_400) => format!("{}d", s / 86_400),
        _ if s.is_multiple_of(3_600) => format!("{}h", s / 3_600),
        _ if s.is_multiple_of(60) => format!("{}m", s / 60),
        _ => format!("{s}s"),
    }
}

/// A duration for a sentence, in whole units of the largest that fits (`3d`, `5h`, `12m`).
pub fn approx_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 86_400 {
        format!("{}d", s / 86_400)
    } else if s >= 3_600 {
        format!("{}h", s / 3_600)
    } else {
        format!("{}m", s / 60)
    }
}

/// Parse a size such as `512MB`, `1GiB`, `100k`, `4096` (units are powers of 1024).
pub fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().ok()?;
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(factor)
}

/// A size for people, in MiB with one decimal (`12.5 MiB`).
pub fn format_size(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// A timestamp: RFC 3339, or the form without an offset (`2024-01-31T12:00:00[.f]`, as PyPI's
/// `upload_time` writes it), taken as UTC.
pub fn parse_timestamp(text: &str) -> Option<OffsetDateTime> {
    let text = text.trim();
    OffsetDateTime::parse(text, &Rfc3339).ok().or_else(|| {
        let format = time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]]"
        );
        PrimitiveDateTime::parse(text, &format)
            .ok()
            .map(PrimitiveDateTime::assume_utc)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_and_count_characters() {
        let text = "ab\ncdé f\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 3), (2, 1));
        assert_eq!(line_col(text, text.find('f').unwrap()), (2, 5));
        assert_eq!(line_col(text, 999), (3, 1));
    }

    #[test]
    fn durations_parse_and_print_in_one_notation() {
        assert_eq!(parse_duration("7d"), Some(Duration::from_secs(604_800)));
        assert_eq!(parse_duration("1 y"), Some(Duration::from_secs(31_536_000)));
        assert_eq!(parse_duration("7"), None);
        assert_eq!(parse_duration("7 fortnights"), None);
        assert_eq!(parse_duration("99999999999999999999d"), None);
        for (secs, text) in [(604_800, "7d"), (7_200, "2h"), (90, "90s"), (1_800, "30m")] {
            let d = Duration::from_secs(secs);
            assert_eq!(format_duration(d), text);
            assert_eq!(parse_duration(text), Some(d));
        }
        assert_eq!(approx_duration(Duration::from_secs(90_000)), "1d");
        assert_eq!(approx_duration(Duration::from_secs(600)), "10m");
    }

    #[test]
    fn sizes_and_timestamps() {
        assert_eq!(parse_size("1GiB"), Some(1 << 30));
        assert_eq!(parse_size("100k"), Some(102_400));
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("5 parsecs"), None);
        assert_eq!(format_size(3 << 19), "1.5 MiB");
        let with_offset = parse_timestamp("2024-01-31T12:00:00Z").unwrap();
        assert_eq!(
            parse_timestamp("2024-01-31T12:00:00.25"),
            Some(with_offset + time::Duration::milliseconds(250))
        );
        assert_eq!(parse_timestamp("yesterday"), None);
    }
}
