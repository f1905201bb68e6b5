//! Reading and decoding answers: the body under the size cap (counted after decompression), the
//! shared memory budget and the stall rule, then strict JSON (UTF-8 throughout, nesting bounded
//! by serde_json), large bodies off the runtime threads.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::de::DeserializeOwned;

use super::http::HttpConfig;

/// Why a body was not read whole.
#[derive(Debug)]
pub(super) enum BodyError {
    /// No progress within the stall timeout.
    Stalled(Duration),
    /// Over the cap (bytes).
    TooLarge(usize),
    /// The shared budget (bytes) is spent by other answers.
    Busy(usize),
    /// The connection failed while reading.
    Read(reqwest::Error),
}

/// Least body progress per stall window: a server trickling a byte a second is cut off after
/// one stall timeout, not after the whole attempt timeout.
pub const MIN_PROGRESS_BYTES: usize = 1024;

/// Body buffer segments: a small first one (most answers are a few KiB), then 1 MiB ones.
const FIRST_SEGMENT: usize = 64 * 1024;
const SEGMENT: usize = 1024 * 1024;

/// Bytes an attempt holds against the shared body budget; released when it ends, however it ends.
struct Reservation<'a> {
    buffered: &'a AtomicU64,
    bytes: u64,
}

impl Reservation<'_> {
    /// Reserve `more` bytes if the budget allows.
    fn grow(&mut self, more: usize, budget: usize) -> bool {
        let more = more as u64;
        let granted = self
            .buffered
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |now| {
                now.checked_add(more).filter(|&n| n <= budget as u64)
            })
            .is_ok();
        if granted {
            self.bytes += more;
        }
        granted
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        self.buffered.fetch_sub(self.bytes, Ordering::SeqCst);
    }
}

/// Bodies larger than this are parsed on the blocking pool, so a multi-megabyte PyPI project
/// document does not stall the runtime thread that also drives the dashboard.
const BLOCKING_PARSE_THRESHOLD: usize = 512 * 1024;

/// Read a (decompressed) body under the size cap (`limit`: the config's, or a request's
/// smaller one), the shared budget (`buffered` is what all attempts hold) and the stall rule.
pub(super) async fn read_body(
    mut response: reqwest::Response,
    config: &HttpConfig,
    limit: usize,
    buffered: &AtomicU64,
) -> Result<Vec<u8>, BodyError> {
    // A declared length over the cap is refused before reading (reqwest drops the header
    // of bodies it decompresses; those are counted as they inflate).
    if response
        .content_length()
        .is_some_and(|len| len > limit as u64)
    {
        return Err(BodyError::TooLarge(limit));
    }
    let mut reservation = Reservation { buffered, bytes: 0 };
    // Bytes are copied into fixed-size segments (64 KiB, then 1 MiB) charged to the budget
    // by capacity: the decompressor's small chunks would otherwise cost about twice their
    // bytes, and a doubling buffer up to twice again. Uniform segments are also what the
    // allocator reuses best when hostile answers are refused and retried.
    let mut segments: Vec<Vec<u8>> = Vec::new();
    let mut total: usize = 0;
    let mut window_end = tokio::time::Instant::now() + config.stall_timeout;
    let mut window_bytes: usize = 0;
    loop {
        let chunk = match tokio::time::timeout_at(window_end, response.chunk()).await {
            Err(_) => return Err(BodyError::Stalled(config.stall_timeout)),
            Ok(chunk) => chunk.map_err(BodyError::Read)?,
        };
        let Some(chunk) = chunk else { break };
        total = total.saturating_add(chunk.len());
        if total > limit {
            return Err(BodyError::TooLarge(limit));
        }
        let mut rest: &[u8] = &chunk;
        while !rest.is_empty() {
            let full = segments.last().is_none_or(|s| s.len() == s.capacity());
            if full {
                let size = if segments.is_empty() {
                    FIRST_SEGMENT
                } else {
                    SEGMENT
                };
                if !reservation.grow(size, config.body_budget_bytes) {
                    return Err(BodyError::Busy(config.body_budget_bytes));
                }
                segments.push(Vec::with_capacity(size));
            }
            let Some(segment) = segments.last_mut() else {
                break;
            };
            let take = rest.len().min(segment.capacity() - segment.len());
            segment.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
        }
        window_bytes += chunk.len();
        if window_bytes >= MIN_PROGRESS_BYTES {
            window_bytes = 0;
            window_end = tokio::time::Instant::now() + config.stall_timeout;
        }
    }
    if segments.len() <= 1 {
        return Ok(segments.pop().unwrap_or_default());
    }
    // One copy into an exact-size buffer, each segment freed as soon as it is copied.
    let mut body = Vec::with_capacity(total);
    for segment in segments {
        body.extend_from_slice(&segment);
    }
    Ok(body)
}

/// Decode a JSON body; large bodies on the blocking pool.
pub(super) async fn decode_json<T>(body: Vec<u8>) -> Result<T, String>
where
    T: DeserializeOwned + Send + 'static,
{
    if body.len() > BLOCKING_PARSE_THRESHOLD {
        tokio::task::spawn_blocking(move || parse_json(&body))
            .await
            .map_err(|e| format!("decoder stopped: {e}"))?
    } else {
        parse_json(&body)
    }
}

/// Parse an answer. JSON is UTF-8 (RFC 8259): the whole body is checked first, because
/// serde_json does not validate the strings of fields it skips, and a body that is not valid
/// JSON throughout was not understood.
pub(crate) fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    let text = std::str::from_utf8(body).map_err(|e| format!("invalid JSON: not UTF-8: {e}"))?;
    serde_json::from_str::<T>(text).map_err(|e| format!("invalid JSON: {e}"))
}
