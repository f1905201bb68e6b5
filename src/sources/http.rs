//! The one resilient HTTP layer every remote source goes through: a bound on in-flight requests,
//! retries with exponential backoff and full jitter (transient failures only), `Retry-After`,
//! per-host circuit breakers, typed errors, and per-request events, timings and counters.
//!
//! Accounting, so the figures mean one thing everywhere:
//! - an *attempt* is one HTTP exchange on the wire; a *request* is one `get_json`/`post_json`
//!   call (its attempts plus the waits between them);
//! - `NetworkCounters::requests` counts attempts, `retries` the attempts after the first,
//!   `failures` requests that ended in an error, `bytes` decoded response-body bytes;
//! - the tracker ops `http.pypi` / `http.osv` record each **attempt** (network time, from send to
//!   the last body byte), not the semaphore queue or backoff sleeps — those are the engine's
//!   pacing, not the network; the whole request's time is in its `RequestEvent::duration`.
//! - breakers count attempts: a transport failure or 5xx is a failure, any other answer
//!   (2xx, 404, 429, other 4xx, even a malformed body) proves the host is up.
//!
//! Bounds, so no server can hang or exhaust us (see [`HttpConfig`] for the figures): a connect
//! timeout; a stall timeout (no first byte, or too little progress, within it ends the attempt);
//! a whole-attempt timeout; a run-level fetch deadline after which nothing new is sent and
//! everything in flight is cut; a cap on every body counted after decompression, and a budget on
//! all bodies buffered at once; serde_json's nesting limit (128); at most a few redirects, which
//! never carry credentials to another host (reqwest strips `Authorization` across hosts) and
//! never downgrade https to http. Requests still queued when a host's breaker opens are dropped.

use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::header::{ACCEPT, HeaderValue, RETRY_AFTER};
use reqwest::{Method, StatusCode, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::SourceError;
use super::body::{self, BodyError, decode_json};
use super::breaker::{CircuitBreaker, Ticket};
pub use super::fetch_error::FetchError;
pub use super::fetch_error::parse_retry_after;
use super::fetch_error::{error_chain, seconds};
use super::in_flight::InFlightBound;
use super::live::LiveRequest;
use super::resolve::CachingResolver;
pub use super::revalidate::FetchResult;
use super::revalidate::{Outgoing, validators_of};
use crate::telemetry::tracker::{Milestone, Tracker};
use crate::telemetry::{
    BreakerState, EventSink, NetworkCounters, RequestEvent, RequestOutcome, SourceKind,
    TelemetryEvent,
};
pub(super) use raw::Answer;
pub use raw::Answered;

#[path = "http_raw.rs"]
mod raw;

/// Tuning of the HTTP layer. `Default` holds the measured defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct HttpConfig {
    /// Most attempts in flight at once per host on HTTP/1.1 (connections); see
    /// [`super::in_flight`] for how the two figures apply.
    ///
    /// Default 32, measured with `cargo bench --bench hot_paths -- sources` (release build,
    /// loopback registry at 50 ms latency per request, 180 PyPI lookups, median of 3):
    /// 8 → 1.203 s, 16 → 0.636 s, 32 → 0.327 s, 64 → 0.167 s. Wall time is latency-bound
    /// (≈ ⌈n / c⌉ × latency) and loopback has no rate limit, so every doubling halves it; the
    /// absolute gain shrinks (−567, −309, −160 ms) while the burst we put on a shared public
    /// service, and the number of requests that fail together when it stumbles, doubles. 32 keeps
    /// a typical environment under half a second of network time; OSV needs one request per
    /// 1000 packages, so PyPI sets the figure.
    pub concurrency: usize,
    /// The same on HTTP/2: streams on the host's connection, which the server caps itself
    /// (`SETTINGS_MAX_CONCURRENT_STREAMS`; the client queues beyond it). Default 100, measured
    /// (README, Speed: HTTP/2 and HTTP/1.1 at 16–100 in flight, loopback, 50 ms).
    pub concurrency_http2: usize,
    /// TCP (and TLS) connection set-up, name lookup included. Default 3 s: a loopback or LAN
    /// index connects in milliseconds, a distant one in a few hundred.
    pub connect_timeout: Duration,
    /// Most time without progress: no first byte of the answer, or less than
    /// 1 KiB (`MIN_PROGRESS_BYTES`) of body, within it ends the attempt as stalled. Default 4 s (OSV
    /// answers a 1000-query batch in about a second). A stalled attempt is retried once, not
    /// `retries` times, so a host that accepts and never answers costs at most 2 × 4 s plus a
    /// backoff: under 10 s on default settings even before its breaker opens.
    pub stall_timeout: Duration,
    /// Whole attempt: send, headers and body (cuts a steady trickle the stall rule lets through).
    pub request_timeout: Duration,
    /// The whole fetch, from the client's creation: past it nothing new is sent and attempts in
    /// flight are cut; what they were fetching is unknown. Default 120 s (a cold run of 10,000
    /// packages against a 50 ms registry takes 21 s).
    pub fetch_deadline: Duration,
    /// Largest body accepted, counted after decompression. Default 32 MiB: the largest real
    /// answers are PyPI project documents of projects with ~100 wheels per release and hundreds of
    /// releases (≈ 1.1 KB per file entry × ~15,000–20,000 files ≈ 16–22 MB); OSV records and
    /// 1000-query batches are far smaller.
    pub max_response_bytes: usize,
    /// Most body bytes buffered across all attempts at once (default 32 MiB, the size of one answer at the cap), so 32 hostile
    /// answers at the cap cannot take 1 GiB: an attempt that would exceed it fails and is retried
    /// after a backoff. Keeps peak RSS under 100 MB whatever servers send.
    pub body_budget_bytes: usize,
    /// Most redirects followed per attempt (default 3).
    pub max_redirects: usize,
    /// PEM roots trusted instead of the system's (pip's `--cert`); `None`: the system's.
    pub ca_bundle: Option<Vec<u8>>,
    /// Retries after the first attempt (so `retries + 1` attempts at most).
    pub retries: u32,
    /// Backoff before retry `n` (0-based) is uniform in `[0, min(backoff_max, base × 2ⁿ)]`.
    pub backoff_base: Duration,
    /// Cap of a backoff, and of an honoured `Retry-After` (a longer demand ends the request).
    pub backoff_max: Duration,
    /// Consecutive failed attempts that open a host's breaker.
    pub breaker_threshold: u32,
    /// How long an open breaker rejects before letting one probe through.
    pub breaker_cooldown: Duration,
    pub user_agent: String,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            concurrency: 32,
            concurrency_http2: 100,
            connect_timeout: Duration::from_secs(3),
            stall_timeout: Duration::from_secs(4),
            request_timeout: Duration::from_secs(20),
            fetch_deadline: Duration::from_secs(120),
            max_response_bytes: 32 * 1024 * 1024,
            body_budget_bytes: 32 * 1024 * 1024,
            max_redirects: 3,
            ca_bundle: None,
            retries: 3,
            backoff_base: Duration::from_millis(100),
            backoff_max: Duration::from_secs(5),
            breaker_threshold: 5,
            breaker_cooldown: Duration::from_secs(30),
            user_agent: concat!("depdash/", env!("CARGO_PKG_VERSION")).to_string(),
        }
    }
}

/// One failed attempt, before it is attributed to a host.
#[derive(Clone, Debug)]
enum AttemptError {
    Timeout(Duration),
    Stalled(Duration),
    /// The connection could not be set up within the connect timeout.
    ConnectTimeout(String),
    /// The run's fetch deadline passed.
    Deadline(Duration),
    /// Body over the cap (permanent).
    TooLarge(usize),
    /// The shared body budget is spent by other answers (transient).
    Busy(usize),
    /// The host's breaker opened while this attempt waited for a slot: never sent.
    Dropped,
    Redirect(String),
    /// The server's certificate is not trusted: retrying cannot help.
    Certificate(String),
    Connect(String),
    Transport(String),
    /// 5xx or 429.
    Status {
        code: u16,
        retry_after: Option<Duration>,
    },
}

impl fmt::Display for AttemptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttemptError::Timeout(after) => write!(f, "timed out after {}", seconds(*after)),
            AttemptError::Stalled(after) => {
                write!(f, "stalled, no answer progress for {}", seconds(*after))
            }
            AttemptError::ConnectTimeout(detail) => write!(f, "cannot connect: {detail}"),
            AttemptError::Deadline(after) => {
                write!(f, "fetch deadline of {} passed", seconds(*after))
            }
            AttemptError::TooLarge(limit) => write!(
                f,
                "answer larger than the {} MiB limit",
                limit / (1024 * 1024)
            ),
            AttemptError::Busy(budget) => write!(
                f,
                "answers in flight exceed the {} MiB memory budget",
                budget / (1024 * 1024)
            ),
            AttemptError::Dropped => write!(f, "circuit breaker opened while queued"),
            AttemptError::Redirect(detail) => write!(f, "redirect refused: {detail}"),
            AttemptError::Connect(detail) | AttemptError::Certificate(detail) => {
                write!(f, "cannot connect: {detail}")
            }
            AttemptError::Transport(detail) => write!(f, "connection failed: {detail}"),
            AttemptError::Status { code, .. } => write!(f, "HTTP {code}"),
        }
    }
}

impl AttemptError {
    /// A timeout class error: retried once at most (each costs a whole stall or attempt timeout).
    fn is_timeout(&self) -> bool {
        matches!(
            self,
            AttemptError::Timeout(_) | AttemptError::Stalled(_) | AttemptError::ConnectTimeout(_)
        )
    }

    /// Worth another attempt (after a backoff)?
    fn is_transient(&self) -> bool {
        !matches!(
            self,
            AttemptError::TooLarge(_)
                | AttemptError::Deadline(_)
                | AttemptError::Dropped
                | AttemptError::Redirect(_)
                | AttemptError::Certificate(_)
        )
    }

    /// Does this failure say the host is down (for its breaker)? Our own limits do not.
    fn blames_host(&self) -> bool {
        matches!(
            self,
            AttemptError::Timeout(_)
                | AttemptError::Stalled(_)
                | AttemptError::ConnectTimeout(_)
                | AttemptError::Connect(_)
                | AttemptError::Transport(_)
                | AttemptError::Status { .. }
        )
    }

    fn into_fetch_error(self, host: &str) -> FetchError {
        let host = host.to_string();
        match self {
            AttemptError::Timeout(after) => FetchError::Timeout { host, after },
            AttemptError::Stalled(after) => FetchError::Stalled { host, after },
            AttemptError::ConnectTimeout(detail) => FetchError::Connect { host, detail },
            AttemptError::Deadline(deadline) => FetchError::Deadline { host, deadline },
            AttemptError::TooLarge(limit) => FetchError::TooLarge { host, limit },
            AttemptError::Busy(_) => FetchError::Transport {
                host,
                detail: self.to_string(),
            },
            AttemptError::Dropped => FetchError::BreakerOpen { host },
            AttemptError::Redirect(detail) => FetchError::Redirect { host, detail },
            AttemptError::Connect(detail) | AttemptError::Certificate(detail) => {
                FetchError::Connect { host, detail }
            }
            AttemptError::Transport(detail) => FetchError::Transport { host, detail },
            AttemptError::Status { code, .. } => FetchError::Status { host, code },
        }
    }
}

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    retries: AtomicU64,
    failures: AtomicU64,
    bytes: AtomicU64,
    bytes_by_source: Mutex<BTreeMap<SourceKind, u64>>,
    in_flight: AtomicU64,
    max_in_flight: AtomicU64,
    breaker_trips: AtomicU64,
    revalidated: AtomicU64,
}

/// Decrements `in_flight` however the attempt ends (including cancellation).
struct InFlight<'a>(&'a Counters);

impl<'a> InFlight<'a> {
    fn enter(counters: &'a Counters) -> Self {
        let now = counters.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        counters.max_in_flight.fetch_max(now, Ordering::SeqCst);
        InFlight(counters)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

struct Inner {
    client: reqwest::Client,
    resolver: CachingResolver,
    /// When the run's fetch deadline passes.
    deadline: Instant,
    /// Body bytes buffered by attempts in flight (against `body_budget_bytes`).
    buffered: AtomicU64,
    config: HttpConfig,
    bound: Arc<InFlightBound>,
    breakers: Mutex<HashMap<String, CircuitBreaker>>,
    counters: Counters,
    events: EventSink,
    tracker: Arc<Tracker>,
    random: RandomState,
    random_counter: AtomicU64,
}

/// Shared HTTP client (cheap to clone). One per run: the bound and the breakers are global.
#[derive(Clone)]
pub struct HttpClient {
    inner: Arc<Inner>,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// Releases a half-open probe whose attempt was cancelled, so the host is not stuck half-open.
struct ProbeGuard<'a> {
    client: &'a HttpClient,
    host: &'a str,
    ticket: Ticket,
    armed: bool,
}

impl Drop for ProbeGuard<'_> {
    fn drop(&mut self) {
        if self.armed && self.ticket.probe {
            self.client
                .with_breaker(self.host, |b| b.on_abandoned(self.ticket));
        }
    }
}

impl HttpClient {
    /// Build the client (`client_builder`: roots, ALPN h2, proxies) with gzip, our redirect
    /// policy and the once-per-host resolver.
    pub fn new(
        config: HttpConfig,
        events: impl Into<EventSink>,
        tracker: Arc<Tracker>,
    ) -> Result<Self, SourceError> {
        let events = events.into();
        let resolver = CachingResolver::new();
        let bound = Arc::new(InFlightBound::new(
            config.concurrency,
            config.concurrency_http2,
        ));
        let builder = super::client_builder::builder(
            config.ca_bundle.as_deref(),
            &config.user_agent,
            config.connect_timeout,
        )?;
        let client = builder
            .gzip(true)
            .redirect(super::client_builder::redirect_policy(config.max_redirects))
            .dns_resolver(resolver.clone())
            .connector_layer(super::alpn::AlpnLayer::new(bound.clone(), tracker.clone()))
            .build()
            .map_err(|e| SourceError::Client(error_chain(&e)))?;
        Ok(HttpClient {
            inner: Arc::new(Inner {
                client,
                resolver,
                deadline: Instant::now() + config.fetch_deadline,
                buffered: AtomicU64::new(0),
                bound,
                config,
                breakers: Mutex::new(HashMap::new()),
                counters: Counters::default(),
                events,
                tracker,
                random: RandomState::new(),
                random_counter: AtomicU64::new(0),
            }),
        })
    }

    pub fn config(&self) -> &HttpConfig {
        &self.inner.config
    }

    /// Ends once a connect of this client has ended, made or failed (at once if one has).
    pub fn first_connect_ended(&self) -> impl Future<Output = ()> + Send + 'static {
        self.inner.bound.first_connect_ended()
    }

    /// Ends once the first burst of requests is out: a connect has ended and every request
    /// still waiting is held back by the in-flight bound (see [`super::in_flight`]).
    pub fn first_burst_sent(&self) -> impl Future<Output = ()> + Send + 'static {
        self.inner.bound.first_burst_sent()
    }

    /// Name lookups made so far: one per distinct host per run.
    pub fn dns_lookups(&self) -> u64 {
        self.inner.resolver.lookups()
    }

    /// Current network counters (see the module docs for what each counts).
    pub fn network_counters(&self) -> NetworkCounters {
        let c = &self.inner.counters;
        NetworkCounters {
            requests: c.requests.load(Ordering::SeqCst),
            retries: c.retries.load(Ordering::SeqCst),
            failures: c.failures.load(Ordering::SeqCst),
            bytes: c.bytes.load(Ordering::SeqCst),
            bytes_by_source: c
                .bytes_by_source
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
            in_flight: c.in_flight.load(Ordering::SeqCst),
            max_in_flight: c.max_in_flight.load(Ordering::SeqCst),
            breaker_trips: c.breaker_trips.load(Ordering::SeqCst),
            revalidated: c.revalidated.load(Ordering::SeqCst),
        }
    }

    /// State of every host's breaker contacted so far.
    pub fn breaker_states(&self) -> BTreeMap<String, BreakerState> {
        let breakers = self
            .inner
            .breakers
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        breakers
            .iter()
            .map(|(host, b)| (host.clone(), b.state()))
            .collect()
    }

    /// GET `url` and decode its JSON body into `T`. `subject` names what it is for in events and
    /// errors (a package, an advisory id).
    pub async fn get_json<T>(
        &self,
        source: SourceKind,
        url: &str,
        subject: &str,
    ) -> Result<FetchResult<T>, FetchError>
    where
        T: DeserializeOwned + Send + 'static,
    {
        let (out, decode) = (Outgoing::default(), |a: Answer| decode_json::<T>(a.body));
        (self.request(source, Method::GET, url, subject, out, decode)).await
    }

    /// POST `body` as JSON to `url` and decode the JSON answer into `T`.
    pub async fn post_json<B, T>(
        &self,
        source: SourceKind,
        url: &str,
        subject: &str,
        body: &B,
    ) -> Result<FetchResult<T>, FetchError>
    where
        B: Serialize + ?Sized,
        T: DeserializeOwned + Send + 'static,
    {
        let body = serde_json::to_vec(body).map_err(|e| FetchError::InvalidRequest {
            url: url.to_string(),
            detail: format!("request body cannot be encoded: {e}"),
        })?;
        let (out, decode) = (Outgoing::json(body), |a: Answer| decode_json::<T>(a.body));
        (self.request(source, Method::POST, url, subject, out, decode)).await
    }

    /// One request (its attempts), its answer decoded by `decode`; a decoding error is
    /// [`FetchError::Malformed`].
    pub(super) async fn request<T, D: Future<Output = Result<T, String>>>(
        &self,
        source: SourceKind,
        method: Method,
        url: &str,
        subject: &str,
        outgoing: Outgoing,
        decode: impl FnOnce(Answer) -> D,
    ) -> Result<FetchResult<T>, FetchError> {
        let started = Instant::now();
        let parsed = Url::parse(url).map_err(|e| FetchError::InvalidRequest {
            url: url.to_string(),
            detail: e.to_string(),
        })?;
        let host = host_key(&parsed).ok_or_else(|| FetchError::InvalidRequest {
            url: url.to_string(),
            detail: "no host".to_string(),
        })?;

        let (answer, retries) = self
            .with_retries(source, &method, parsed, &host, subject, outgoing)
            .await;
        let bytes = (answer.as_ref()).map_or(0, |a| a.as_ref().map_or(0, |a| a.body.len() as u64));
        let result = match answer {
            Err(e) => Err(e),
            Ok(None) => Ok(FetchResult::NotFound { retries }),
            Ok(Some(a)) if a.status == StatusCode::NOT_MODIFIED => {
                let revalidated = &self.inner.counters.revalidated;
                revalidated.fetch_add(1, Ordering::SeqCst);
                Ok(FetchResult::NotModified { retries })
            }
            Ok(Some(answer)) => {
                let validators = answer.validators.clone();
                match decode(answer).await {
                    Ok(value) => Ok(FetchResult::Found {
                        value,
                        retries,
                        validators,
                    }),
                    Err(detail) => Err(FetchError::Malformed {
                        host: host.clone(),
                        subject: subject.to_string(),
                        detail,
                    }),
                }
            }
        };

        let outcome = match &result {
            Ok(FetchResult::Found { .. }) => RequestOutcome::Ok { status: 200 },
            Ok(FetchResult::NotModified { .. }) => RequestOutcome::Ok { status: 304 },
            Ok(FetchResult::NotFound { .. }) => RequestOutcome::NotFound,
            Err(e) => {
                self.inner.counters.failures.fetch_add(1, Ordering::SeqCst);
                RequestOutcome::Failed {
                    reason: e.to_string(),
                }
            }
        };
        if !self.inner.events.wants_requests() {
            return result;
        }
        self.inner
            .events
            .emit(TelemetryEvent::Request(RequestEvent {
                source,
                host,
                subject: subject.to_string(),
                duration: started.elapsed(),
                retries,
                outcome,
                bytes,
            }))
            .await;
        result
    }

    /// Attempts until an answer, a permanent error or the retry budget is spent.
    /// `Ok(None)` is a 404; a 304 is an answer only to a conditional request. Returns the
    /// retries made alongside.
    async fn with_retries(
        &self,
        source: SourceKind,
        method: &Method,
        url: Url,
        host: &str,
        subject: &str,
        outgoing: Outgoing,
    ) -> (Result<Option<Answer>, FetchError>, u32) {
        let config = &self.inner.config;
        let live = LiveRequest::new(&self.inner.events, source, host, subject, config.retries);
        let mut attempts: u32 = 0;
        let mut timeouts: u32 = 0;
        let mut last_error: Option<AttemptError> = None;
        loop {
            if Instant::now() >= self.inner.deadline {
                let error = FetchError::Deadline {
                    host: host.to_string(),
                    deadline: config.fetch_deadline,
                };
                return (Err(error), attempts.saturating_sub(1));
            }
            let (ticket, transition) = self.with_breaker(host, |b| {
                let admission = b.admit(Instant::now());
                (admission.ticket, admission.transition)
            });
            self.report_transition(host, transition).await;
            let Some(ticket) = ticket else {
                // Breaker open: nothing sent. After earlier attempts, their error says more.
                let error = match last_error {
                    None => FetchError::BreakerOpen {
                        host: host.to_string(),
                    },
                    Some(e) => exhausted(host, attempts, e),
                };
                return (Err(error), attempts.saturating_sub(1));
            };
            let mut probe = ProbeGuard {
                client: self,
                host,
                ticket,
                armed: true,
            };
            live.queued().await;
            let sending = live.in_flight(attempts + 1);
            let result = self
                .attempt(
                    source,
                    method,
                    url.clone(),
                    host,
                    ticket,
                    &outgoing,
                    sending,
                )
                .await;
            probe.armed = false;
            if matches!(result, Err(AttemptError::Dropped)) {
                // Never sent: says nothing about the host.
                self.with_breaker(host, |b| b.on_abandoned(ticket));
                let error = match last_error {
                    None => FetchError::BreakerOpen {
                        host: host.to_string(),
                    },
                    Some(e) => exhausted(host, attempts, e),
                };
                return (Err(error), attempts.saturating_sub(1));
            }
            if attempts > 0 {
                self.inner.counters.retries.fetch_add(1, Ordering::SeqCst);
            }
            attempts += 1;

            let host_failed = match &result {
                Err(e) => e.blames_host(),
                Ok(answer) => answer.status.is_server_error(),
            };
            let transition = self.with_breaker(host, |b| {
                if host_failed {
                    b.on_failure(ticket, Instant::now())
                } else {
                    b.on_success(ticket)
                }
            });
            self.report_transition(host, transition).await;

            let failure = match result {
                Ok(a)
                    if a.status.is_success() || (a.status == 304 && outgoing.is_conditional()) =>
                {
                    return (Ok(Some(a)), attempts - 1);
                }
                Ok(answer) if answer.status == StatusCode::NOT_FOUND => {
                    return (Ok(None), attempts - 1);
                }
                Ok(answer)
                    if answer.status.is_server_error()
                        || answer.status == StatusCode::TOO_MANY_REQUESTS =>
                {
                    AttemptError::Status {
                        code: answer.status.as_u16(),
                        retry_after: answer.retry_after,
                    }
                }
                Ok(answer) => {
                    // A 304 here answered a request without validators: unexpected, not a pass.
                    let error = if answer.status.is_redirection() && answer.status != 304 {
                        FetchError::Redirect {
                            host: host.to_string(),
                            detail: format!("HTTP {} without a usable Location", answer.status),
                        }
                    } else {
                        FetchError::Status {
                            host: host.to_string(),
                            code: answer.status.as_u16(),
                        }
                    };
                    return (Err(error), attempts - 1);
                }
                Err(e) => e,
            };

            if failure.is_timeout() {
                timeouts += 1;
            }
            if !failure.is_transient() {
                return (Err(failure.into_fetch_error(host)), attempts - 1);
            }
            if attempts > config.retries || timeouts > 1 {
                return (Err(exhausted(host, attempts, failure)), attempts - 1);
            }
            let wait = match &failure {
                AttemptError::Status {
                    code: 429,
                    retry_after: Some(asked),
                } => {
                    if *asked > config.backoff_max {
                        let error = FetchError::RateLimited {
                            host: host.to_string(),
                            retry_after: *asked,
                            limit: config.backoff_max,
                        };
                        return (Err(error), attempts - 1);
                    }
                    *asked
                }
                _ => self.backoff(attempts - 1),
            };
            live.retrying(attempts, wait, failure.to_string()).await;
            last_error = Some(failure);
            tokio::time::sleep(wait).await;
        }
    }

    /// One exchange under the concurrency bound, timed into the tracker. Dropped unsent when
    /// the host's breaker opened while it waited for a slot; cut at the stall timeout, the
    /// attempt timeout or the fetch deadline, whichever comes first. Sent: `sending` runs.
    #[allow(clippy::too_many_arguments)]
    async fn attempt(
        &self,
        source: SourceKind,
        method: &Method,
        url: Url,
        host: &str,
        ticket: Ticket,
        outgoing: &Outgoing,
        sending: impl Future<Output = ()>,
    ) -> Result<Answer, AttemptError> {
        let inner = &self.inner;
        let config = &inner.config;
        // Waiting for a slot counts against the fetch deadline too.
        let slot = tokio::time::timeout_at(
            inner.deadline.into(),
            inner.bound.acquire(host, url.scheme() == "https"),
        )
        .await;
        let mut slot = match slot {
            Err(_) => return Err(AttemptError::Deadline(config.fetch_deadline)),
            // Nothing closes the semaphores; the `None` arm exists only to avoid an unwrap.
            Ok(slot) => slot.ok_or(AttemptError::Transport("client shut down".to_string()))?,
        };
        if self.with_breaker(host, |b| b.rejects_queued(ticket)) {
            return Err(AttemptError::Dropped);
        }
        sending.await;
        slot.sent();
        let _in_flight = InFlight::enter(&inner.counters);
        inner.counters.requests.fetch_add(1, Ordering::SeqCst);

        let request = outgoing
            .apply(inner.client.request(method.clone(), url.clone()))
            .header(ACCEPT, HeaderValue::from_static(super::media_type(source)));
        let started = Instant::now();
        inner.tracker.reached(Milestone::FirstRequest);
        let attempt_end = started + config.request_timeout;
        let (end, on_end) = if attempt_end <= inner.deadline {
            (attempt_end, AttemptError::Timeout(config.request_timeout))
        } else {
            (
                inner.deadline,
                AttemptError::Deadline(config.fetch_deadline),
            )
        };
        let exchange = async {
            let response = match tokio::time::timeout(config.stall_timeout, request.send()).await {
                Err(_) => return Err(AttemptError::Stalled(config.stall_timeout)),
                Ok(response) => response.map_err(classify)?,
            };
            inner.bound.answered(host, response.version());
            let status = response.status();
            let validators = validators_of(&url, &response);
            let retry_after = response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_retry_after);
            let headers = response.headers().clone();
            let limit = outgoing.limit(config);
            let body = body::read_body(response, config, limit, &self.inner.buffered)
                .await
                .map_err(|e| match e {
                    BodyError::Stalled(after) => AttemptError::Stalled(after),
                    BodyError::TooLarge(limit) => AttemptError::TooLarge(limit),
                    BodyError::Busy(budget) => AttemptError::Busy(budget),
                    BodyError::Read(e) => classify(e),
                })?;
            Ok(Answer {
                status,
                retry_after,
                headers,
                body,
                validators,
            })
        };
        let result = (tokio::time::timeout_at(end.into(), exchange).await).unwrap_or(Err(on_end));
        inner.tracker.record(tracker_op(source), started.elapsed());
        if let Ok(answer) = &result {
            inner.tracker.answer_read();
            let n = answer.body.len() as u64;
            inner.counters.bytes.fetch_add(n, Ordering::SeqCst);
            let mut by_source =
                (inner.counters.bytes_by_source.lock()).unwrap_or_else(|p| p.into_inner());
            *by_source.entry(source).or_default() += n;
        }
        result
    }

    /// Full jitter: uniform in `[0, min(max, base × 2^retry)]`.
    fn backoff(&self, retry: u32) -> Duration {
        let config = &self.inner.config;
        let ceiling = config
            .backoff_base
            .saturating_mul(1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX))
            .min(config.backoff_max);
        let mut hasher = self.inner.random.build_hasher();
        hasher.write_u64(self.inner.random_counter.fetch_add(1, Ordering::Relaxed));
        let fraction = (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64;
        ceiling.mul_f64(fraction)
    }

    fn with_breaker<R>(&self, host: &str, f: impl FnOnce(&mut CircuitBreaker) -> R) -> R {
        let mut breakers = self
            .inner
            .breakers
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let config = &self.inner.config;
        let breaker = breakers.entry(host.to_string()).or_insert_with(|| {
            CircuitBreaker::new(config.breaker_threshold, config.breaker_cooldown)
        });
        f(breaker)
    }

    async fn report_transition(&self, host: &str, transition: Option<BreakerState>) {
        let Some(state) = transition else { return };
        if state == BreakerState::Open {
            self.inner
                .counters
                .breaker_trips
                .fetch_add(1, Ordering::SeqCst);
        }
        tracing::info!(host, ?state, "circuit breaker");
        self.inner
            .events
            .emit(TelemetryEvent::Breaker {
                host: host.to_string(),
                state,
            })
            .await;
    }
}

fn exhausted(host: &str, attempts: u32, last: AttemptError) -> FetchError {
    if attempts <= 1 {
        last.into_fetch_error(host)
    } else {
        FetchError::RetriesExhausted {
            host: host.to_string(),
            attempts,
            last: last.to_string(),
        }
    }
}

fn tracker_op(source: SourceKind) -> &'static str {
    match source {
        SourceKind::Pypi => "http.pypi",
        SourceKind::PypiSimple => "http.pypi-simple",
        SourceKind::Osv => "http.osv",
        SourceKind::CoreMetadata => "http.core-metadata",
        SourceKind::Wheel => "http.wheel",
    }
}

/// `host` or `host:port` when the port is explicit: the breaker's key and the name in messages.
pub(super) fn host_key(url: &Url) -> Option<String> {
    let host = url.host_str()?;
    Some(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    })
}

/// The host (and explicit port) of `url` as messages name it; the URL itself if it has none.
pub fn host_of(url: &str) -> String {
    Url::parse(url)
        .ok()
        .and_then(|u| host_key(&u))
        .unwrap_or_else(|| url.to_string())
}

fn classify(error: reqwest::Error) -> AttemptError {
    let detail = error_chain(&error);
    if let Some(problem) = super::client_builder::certificate_problem(&error) {
        AttemptError::Certificate(problem)
    } else if error.is_redirect() {
        AttemptError::Redirect(detail)
    } else if error.is_timeout() {
        // The only timeout reqwest enforces here is the connect timeout (ours wrap the rest):
        // a host dropping connection attempts costs that each time, so it counts as a timeout.
        AttemptError::ConnectTimeout(detail)
    } else if error.is_connect() {
        AttemptError::Connect(detail)
    } else {
        AttemptError::Transport(detail)
    }
}
