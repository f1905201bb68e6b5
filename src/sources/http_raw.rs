//! Answers other than JSON documents, for [`HttpClient`]: a request's extra headers (a PEP 691
//! `Accept` with q-values, a `Range`), and the answer's status, headers and bytes handed to a
//! caller's decoder, which decides by `Content-Type` (a Simple page as JSON or HTML, a core
//! metadata file, a slice of a wheel). Same retries, bounds, breakers and accounting as JSON.

use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, HeaderMap};
use reqwest::{Method, StatusCode};

use super::{FetchError, FetchResult, HttpClient};
use crate::sources::revalidate::{Outgoing, Validators};
use crate::telemetry::SourceKind;

/// An attempt that got a status line and a whole body.
pub(in crate::sources) struct Answer {
    pub(in crate::sources) status: StatusCode,
    pub(in crate::sources) retry_after: Option<Duration>,
    pub(in crate::sources) headers: HeaderMap,
    pub(in crate::sources) body: Vec<u8>,
    pub(in crate::sources) validators: Option<Validators>,
}

/// A successful answer as a decoder sees it.
#[derive(Debug)]
pub struct Answered {
    /// 200, or 206 for a range.
    pub status: u16,
    /// The media type, lower-cased, without parameters (`text/html`), when stated.
    pub content_type: Option<String>,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// Bodies larger than this are decoded on the blocking pool (a big project's HTML page).
const BLOCKING_DECODE_THRESHOLD: usize = 512 * 1024;

impl HttpClient {
    /// GET `url` as `out` says (headers, a byte cap, validators: a `304` is then
    /// [`FetchResult::NotModified`]), and decode the answer with `decode` (an error from it is
    /// [`FetchError::Malformed`]: an answer not understood is not an empty one).
    pub async fn get_with<T: Send + 'static>(
        &self,
        source: SourceKind,
        url: &str,
        subject: &str,
        outgoing: Outgoing,
        decode: fn(Answered) -> Result<T, String>,
    ) -> Result<FetchResult<T>, FetchError> {
        let decode = |answer: Answer| async move {
            let answered = Answered {
                status: answer.status.as_u16(),
                content_type: media_type(&answer.headers),
                headers: answer.headers,
                body: answer.body,
            };
            if answered.body.len() > BLOCKING_DECODE_THRESHOLD {
                tokio::task::spawn_blocking(move || decode(answered))
                    .await
                    .map_err(|e| format!("decoder stopped: {e}"))?
            } else {
                decode(answered)
            }
        };
        (self.request(source, Method::GET, url, subject, outgoing, decode)).await
    }
}

/// `Content-Type` without parameters, lower-cased.
fn media_type(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(CONTENT_TYPE)?.to_str().ok()?;
    let essence = value.split(';').next().unwrap_or_default().trim();
    (!essence.is_empty()).then(|| essence.to_ascii_lowercase())
}
