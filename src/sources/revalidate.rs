//! Conditional requests (RFC 9110 §13): the validators (`ETag`, `Last-Modified`) an answer came
//! with, kept with its cached facts, and sent back as `If-None-Match` / `If-Modified-Since` when
//! those facts have expired, so an unchanged resource costs a `304` and no body.
//!
//! A `304` is only ever an answer to a request that carried validators: the HTTP layer treats
//! one to a plain request as an unexpected answer (an error, never "unchanged"), and validators
//! are sent only to the URL they were received from.

use reqwest::RequestBuilder;
use reqwest::header::{
    CONTENT_TYPE, ETAG, HeaderMap, HeaderValue, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::http::{FetchError, HttpClient};
use crate::telemetry::SourceKind;

/// Longest validator kept: real ETags and HTTP dates are tens of bytes; anything longer is not
/// worth storing or sending back.
const MAX_VALIDATOR_LEN: usize = 256;

/// The validators of one answer and the URL (credentials removed) they belong to.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validators {
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
}

impl Validators {
    /// The validators `headers` carry for `url`; `None` when there are none usable.
    fn from_headers(url: &str, headers: &HeaderMap) -> Option<Validators> {
        let usable = |name| {
            let value = headers.get(name)?.to_str().ok()?;
            let printable = value.bytes().all(|b| (0x20..0x7f).contains(&b));
            (printable && !value.is_empty() && value.len() <= MAX_VALIDATOR_LEN)
                .then(|| value.to_string())
        };
        let (etag, last_modified) = (usable(ETAG), usable(LAST_MODIFIED));
        (etag.is_some() || last_modified.is_some()).then(|| Validators {
            url: super::credentials::without_credentials(url),
            etag,
            last_modified,
        })
    }

    /// True when these validators may be sent with a request for `url`.
    fn belong_to(&self, url: &str) -> bool {
        self.url == super::credentials::without_credentials(url)
    }
}

/// A request that got an answer. `404` is an answer ("not on the index"), not an error;
/// `304` only answers a conditional request ([`HttpClient::get_json_if`]).
#[derive(Clone, Debug, PartialEq)]
pub enum FetchResult<T> {
    Found {
        value: T,
        retries: u32,
        /// What to revalidate this answer with later (none when the server sent none).
        validators: Option<Validators>,
    },
    NotFound {
        retries: u32,
    },
    /// `304`: the cached answer the validators came with is still current.
    NotModified {
        retries: u32,
    },
}

impl<T> FetchResult<T> {
    /// Retries it took (attempts after the first).
    pub fn retries(&self) -> u32 {
        match self {
            FetchResult::Found { retries, .. }
            | FetchResult::NotFound { retries }
            | FetchResult::NotModified { retries } => *retries,
        }
    }

    /// The value, `None` for a 404. Only [`HttpClient::get_json_if`] can get a `304`, so a
    /// plain `get_json`/`post_json` result is never `NotModified`; should one be, it is `None`
    /// too (nothing was learnt), never a value.
    pub fn into_option(self) -> Option<T> {
        match self {
            FetchResult::Found { value, .. } => Some(value),
            FetchResult::NotFound { .. } | FetchResult::NotModified { .. } => None,
        }
    }
}

impl<T> FetchResult<T> {
    /// The answer to a conditional request: `Found` is new facts (made by `f`) with their
    /// validators, `NotModified` the cached facts standing; `None` for a 404.
    pub fn revalidated<U>(self, f: impl FnOnce(T) -> U) -> Option<Revalidated<U>> {
        match self {
            FetchResult::Found {
                value, validators, ..
            } => Some(Revalidated::Changed(f(value), validators)),
            FetchResult::NotModified { .. } => Some(Revalidated::Unchanged),
            FetchResult::NotFound { .. } => None,
        }
    }
}

/// What a source answers to a request for facts that may already be cached.
#[derive(Clone, Debug, PartialEq)]
pub enum Revalidated<T> {
    /// New facts, with what to revalidate them with next time.
    Changed(T, Option<Validators>),
    /// `304`: the cached facts the validators came with stand.
    Unchanged,
}

impl<T> Revalidated<T> {
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Revalidated<U> {
        match self {
            Revalidated::Changed(value, validators) => Revalidated::Changed(f(value), validators),
            Revalidated::Unchanged => Revalidated::Unchanged,
        }
    }

    /// The facts of an unconditional request. `Unchanged` cannot answer one (the HTTP layer
    /// refuses a 304 to a request without validators); were it to, it is an error, not facts.
    pub fn changed(self, host: &str, subject: &str) -> Result<T, FetchError> {
        match self {
            Revalidated::Changed(value, _) => Ok(value),
            Revalidated::Unchanged => Err(FetchError::Malformed {
                host: host.to_string(),
                subject: subject.to_string(),
                detail: "304 Not Modified to a request without validators".to_string(),
            }),
        }
    }
}

/// What a request sends beyond its URL: a JSON body (POST), the validators of a cached answer
/// (a conditional GET), more headers (`Range`), and a smaller cap on the answer's bytes.
#[derive(Clone, Debug, Default)]
pub struct Outgoing {
    body: Option<Vec<u8>>,
    validators: Option<Validators>,
    headers: HeaderMap,
    max_bytes: Option<usize>,
}

impl Outgoing {
    /// A GET with these headers added.
    pub fn with_headers(headers: HeaderMap) -> Self {
        Outgoing {
            headers,
            ..Outgoing::default()
        }
    }

    /// A GET sending `prior`'s validators when they belong to `url` (see
    /// [`HttpClient::get_json_if`]).
    pub fn conditional(url: &str, prior: Option<&Validators>) -> Self {
        Outgoing {
            validators: prior.filter(|v| v.belong_to(url)).cloned(),
            ..Outgoing::default()
        }
    }

    /// At most `bytes` of answer (more is [`FetchError::TooLarge`]), e.g. a range request to a
    /// server that may ignore `Range` and send a whole file.
    pub fn at_most(self, bytes: usize) -> Self {
        Outgoing {
            max_bytes: Some(bytes),
            ..self
        }
    }

    pub(super) fn limit(&self, config: &super::http::HttpConfig) -> usize {
        (self.max_bytes).map_or(config.max_response_bytes, |n| {
            n.min(config.max_response_bytes)
        })
    }

    pub(super) fn json(body: Vec<u8>) -> Self {
        Outgoing {
            body: Some(body),
            ..Outgoing::default()
        }
    }

    /// Does this request carry validators (so a `304` is a valid answer to it)?
    pub(super) fn is_conditional(&self) -> bool {
        self.validators.is_some()
    }

    pub(super) fn apply(&self, mut request: RequestBuilder) -> RequestBuilder {
        request = request.headers(self.headers.clone());
        if let Some(body) = &self.body {
            request = request
                .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                .body(body.clone());
        }
        let Some(validators) = &self.validators else {
            return request;
        };
        let header = |value: &Option<String>| value.as_deref().map(HeaderValue::from_str);
        if let Some(Ok(etag)) = header(&validators.etag) {
            request = request.header(IF_NONE_MATCH, etag);
        }
        if let Some(Ok(date)) = header(&validators.last_modified) {
            request = request.header(IF_MODIFIED_SINCE, date);
        }
        request
    }
}

/// The validators of an answer, read from its headers (`None` for any other status than 200).
pub(super) fn validators_of(
    url: &reqwest::Url,
    response: &reqwest::Response,
) -> Option<Validators> {
    (response.status() == reqwest::StatusCode::OK)
        .then(|| Validators::from_headers(url.as_str(), response.headers()))
        .flatten()
}

impl HttpClient {
    /// GET `url` as [`get_json`](Self::get_json) does, sending `prior`'s validators when they
    /// belong to this URL: a `304` is then [`FetchResult::NotModified`]. Validators for another
    /// URL are not sent (the request is a plain GET).
    pub async fn get_json_if<T>(
        &self,
        source: SourceKind,
        url: &str,
        subject: &str,
        prior: Option<&Validators>,
    ) -> Result<FetchResult<T>, FetchError>
    where
        T: DeserializeOwned + Send + 'static,
    {
        let outgoing = Outgoing::conditional(url, prior);
        let decode = |answer: super::http::Answer| super::body::decode_json::<T>(answer.body);
        (self.request(source, reqwest::Method::GET, url, subject, outgoing, decode)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_printable_bounded_validators_are_kept_without_credentials() {
        let mut headers = HeaderMap::new();
        headers.insert(ETAG, HeaderValue::from_static("W/\"abc\""));
        headers.insert(LAST_MODIFIED, HeaderValue::from_static(""));
        let v = Validators::from_headers("https://u:p@host/simple/x/", &headers).unwrap();
        assert_eq!(v.etag.as_deref(), Some("W/\"abc\""));
        assert_eq!(v.last_modified, None);
        assert_eq!(v.url, "https://host/simple/x/");
        assert!(v.belong_to("https://other:secret@host/simple/x/"));
        assert!(!v.belong_to("https://host/simple/y/"));

        let long = "a".repeat(MAX_VALIDATOR_LEN + 1);
        headers.insert(ETAG, HeaderValue::from_str(&long).unwrap());
        assert_eq!(Validators::from_headers("https://host/", &headers), None);
        headers.insert(ETAG, HeaderValue::from_bytes(b"\"caf\xc3\xa9\"").unwrap());
        assert_eq!(Validators::from_headers("https://host/", &headers), None);
    }
}
