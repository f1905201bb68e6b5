//! The typed failures of one request, as the engine turns them into unknowns: each names the
//! host and says what happened.

use std::time::Duration;

/// Why a request gave no answer. Messages name the host and say what happened.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum FetchError {
    /// Too many recent failures on this host: not sent at all.
    #[error("{host}: not contacted, circuit breaker open after repeated failures")]
    BreakerOpen { host: String },
    #[error("{host}: timed out after {}", seconds(*after))]
    Timeout { host: String, after: Duration },
    /// The host accepted the request but sent nothing (or too little) for the stall timeout.
    #[error("{host}: stalled, no answer progress for {}", seconds(*after))]
    Stalled { host: String, after: Duration },
    /// The run's fetch deadline passed before this request could finish.
    #[error("{host}: not answered within the run's fetch deadline of {}", seconds(*deadline))]
    Deadline { host: String, deadline: Duration },
    /// The answer exceeded the size cap (counted after decompression).
    #[error("{host}: answer larger than the {} MiB limit (after decompression); refused", limit / (1024 * 1024))]
    TooLarge { host: String, limit: usize },
    /// A redirect we do not follow (too many, or https → http).
    #[error("{host}: redirect refused: {detail}")]
    Redirect { host: String, detail: String },
    #[error("{host}: cannot connect: {detail}")]
    Connect { host: String, detail: String },
    /// The connection broke mid-exchange (reset, closed before the answer, truncated body).
    #[error("{host}: connection failed: {detail}")]
    Transport { host: String, detail: String },
    /// An error status that retrying cannot fix (4xx other than 404/429).
    #[error("{host}: HTTP {code}")]
    Status { host: String, code: u16 },
    /// 429 with a `Retry-After` longer than we are allowed to wait.
    #[error("{host}: rate limited (HTTP 429); server asks to wait {}, more than the {} allowed", seconds(*retry_after), seconds(*limit))]
    RateLimited {
        host: String,
        retry_after: Duration,
        limit: Duration,
    },
    /// Every attempt failed with a transient error; `last` is the last one.
    #[error("{host}: {attempts} attempts, last: {last}")]
    RetriesExhausted {
        host: String,
        attempts: u32,
        last: String,
    },
    /// The server answered, but not with what the API promises.
    #[error("{host}: malformed answer for {subject}: {detail}")]
    Malformed {
        host: String,
        subject: String,
        detail: String,
    },
    /// A resource that must exist (e.g. an advisory id the index just listed) does not.
    #[error("{host}: {subject} not found (HTTP 404)")]
    NotFound { host: String, subject: String },
    /// The request could not be built (bad base URL, unencodable body): a configuration error.
    /// The URL is shown with its password masked.
    #[error("cannot request {}: {detail}", super::credentials::redact(url))]
    InvalidRequest { url: String, detail: String },
}

pub(super) fn seconds(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs >= 1.0 && d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{secs:.1}s")
    }
}

/// The innermost cause of an error, which says what happened ("Connection refused (os error
/// 111)"), without reqwest's outer "error sending request for url (...)" and hyper's wrappers.
pub(super) fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut innermost = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        innermost = cause.to_string();
        source = cause.source();
    }
    innermost
}

/// `Retry-After`: delta-seconds or an HTTP-date (IMF-fixdate, the form RFC 9110 requires
/// senders to use). A date in the past means "now".
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let date = time::PrimitiveDateTime::parse(value, &format)
        .ok()?
        .assume_utc();
    let delta = date - time::OffsetDateTime::now_utc();
    Some(Duration::try_from(delta).unwrap_or(Duration::ZERO))
}
