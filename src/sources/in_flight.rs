//! The bound on requests in flight: per host, *connections* on HTTP/1.1 and *streams* on
//! HTTP/2 (one request is one of either), and across hosts the larger of the two figures.
//!
//! A host's protocol is decided by ALPN during its first TLS handshake. Until that handshake is
//! over, an `https` host gets one request in flight: each request waiting for a connection would
//! otherwise open its own (a cold run opened 2 to 15 TLS connections to one HTTP/2 index, a
//! handshake each on both sides, and ran 40 ms slower with 15 than with 2). Once a connection
//! is made (`sources::alpn`) the host is raised to its protocol's figure, or to the HTTP/1.1
//! figure when the connect failed or takes longer than [`FIRST_CONNECT_GRACE`]: an HTTP/1.1-only
//! TLS host waits one handshake for its other connections, a black hole half a second. A plain
//! `http` host (HTTP/1.1 here) starts at the smaller figure. Its first answer raises a host too;
//! a figure is never lowered. On
//! HTTP/1.1 every request in flight holds its own connection, so the figure is what a server
//! sees as parallel connections from us; on HTTP/2 the requests share a connection and the
//! figure is the streams open on it (servers typically allow 100:
//! `SETTINGS_MAX_CONCURRENT_STREAMS`).
//!
//! The bound also says when a run's first burst of requests is out ([`InFlightBound::
//! first_burst_sent`]): a connect has ended and every request waiting for a slot is held back
//! by the bound itself (its host's figure, or the one across hosts, is all sent), or none is
//! waiting. Work that only competes with the sends for the cores (a first run's license
//! identification) waits for it: the answers take a latency to come, and that work fits in it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use std::future::Future;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, SemaphorePermit, watch};

/// How long the other requests to an `https` host wait for its first connection to say which
/// protocol it speaks before they open their own (at the HTTP/1.1 figure). A handshake takes a
/// few round trips: tens of milliseconds to a CDN, more across the world.
pub const FIRST_CONNECT_GRACE: Duration = Duration::from_millis(500);

/// A slot to send one request: held until its answer is read (or the attempt ends).
pub struct Slot<'a> {
    tally: Tally<'a>,
    _host: OwnedSemaphorePermit,
    _all: SemaphorePermit<'a>,
}

impl Slot<'_> {
    /// The request is sent: it counts as in flight on its host until the slot is let go.
    pub fn sent(&mut self) {
        self.tally.sent();
    }
}

/// One host's bound, the figure it stands at now, and its requests waiting and sent.
struct HostBound {
    permits: Arc<Semaphore>,
    figure: AtomicUsize,
    /// Requests that asked for a slot and are not sent yet.
    waiting: AtomicUsize,
    /// Requests sent whose slot is still held.
    sent: AtomicUsize,
}

/// Counts one request on its host: among the waiting ones until it is sent or given up
/// (cancellation included), then among those in flight until its slot is let go.
struct Tally<'a> {
    bound: &'a InFlightBound,
    host: Arc<HostBound>,
    sent: bool,
}

impl<'a> Tally<'a> {
    fn waiting(bound: &'a InFlightBound, host: Arc<HostBound>) -> Self {
        host.waiting.fetch_add(1, Ordering::SeqCst);
        Tally {
            bound,
            host,
            sent: false,
        }
    }

    fn sent(&mut self) {
        if !self.sent {
            self.sent = true;
            self.host.sent.fetch_add(1, Ordering::SeqCst);
            self.bound.sent_in_all.fetch_add(1, Ordering::SeqCst);
            // Counted as sent before it stops waiting: the check sees both.
            self.host.waiting.fetch_sub(1, Ordering::SeqCst);
            self.bound.check_burst();
        }
    }
}

impl Drop for Tally<'_> {
    fn drop(&mut self) {
        if self.sent {
            self.host.sent.fetch_sub(1, Ordering::SeqCst);
            self.bound.sent_in_all.fetch_sub(1, Ordering::SeqCst);
        } else {
            self.host.waiting.fetch_sub(1, Ordering::SeqCst);
            self.bound.check_burst();
        }
    }
}

pub struct InFlightBound {
    http1: usize,
    http2: usize,
    all: Semaphore,
    hosts: Mutex<HashMap<String, Arc<HostBound>>>,
    /// Requests sent across hosts (bounded by `all`).
    sent_in_all: AtomicUsize,
    /// Set once any connect has ended, made or failed.
    connect_ended: watch::Sender<bool>,
    /// Set once the first burst of requests is out (see the module docs).
    burst_sent: watch::Sender<bool>,
}

impl InFlightBound {
    /// `http1` connections or `http2` streams per host (each at least 1).
    pub fn new(http1: usize, http2: usize) -> Self {
        let (http1, http2) = (http1.max(1), http2.max(1));
        InFlightBound {
            http1,
            http2,
            all: Semaphore::new(http1.max(http2)),
            hosts: Mutex::new(HashMap::new()),
            sent_in_all: AtomicUsize::new(0),
            connect_ended: watch::Sender::new(false),
            burst_sent: watch::Sender::new(false),
        }
    }

    /// The bound of `host`, made at `start` when it has none yet.
    fn host_from(&self, host: &str, start: usize) -> Arc<HostBound> {
        let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        hosts
            .entry(host.to_string())
            .or_insert_with(|| {
                Arc::new(HostBound {
                    permits: Arc::new(Semaphore::new(start)),
                    figure: AtomicUsize::new(start),
                    waiting: AtomicUsize::new(0),
                    sent: AtomicUsize::new(0),
                })
            })
            .clone()
    }

    fn host(&self, host: &str) -> Arc<HostBound> {
        self.host_from(host, self.http1.min(self.http2))
    }

    /// Wait for a slot on `host` (first the host's bound, then the one across hosts, so a
    /// request held back by its host does not take a slot another host could use). `secure`:
    /// the host is reached over TLS, where ALPN will tell its protocol.
    pub async fn acquire(&self, host: &str, secure: bool) -> Option<Slot<'_>> {
        let start = self.http1.min(self.http2);
        let bound = self.host_from(host, if secure { 1 } else { start });
        let tally = Tally::waiting(self, bound.clone());
        let permit = bound.permits.clone().acquire_owned();
        let host_permit = if bound.figure.load(Ordering::SeqCst) < start {
            match tokio::time::timeout(FIRST_CONNECT_GRACE, permit).await {
                Ok(permit) => permit.ok()?,
                Err(_) => {
                    self.raise(&bound, self.http1);
                    bound.permits.clone().acquire_owned().await.ok()?
                }
            }
        } else {
            permit.await.ok()?
        };
        let all = self.all.acquire().await.ok()?;
        Some(Slot {
            tally,
            _host: host_permit,
            _all: all,
        })
    }

    /// A connect has ended, made or failed (whatever the host).
    pub fn connect_ended(&self) {
        self.connect_ended.send_replace(true);
        self.check_burst();
    }

    /// Ends once a connect has ended, made or failed (at once if one has).
    pub fn first_connect_ended(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut ended = self.connect_ended.subscribe();
        async move {
            let _ = ended.wait_for(|ended| *ended).await;
        }
    }

    /// Ends once the first burst of requests is out (see the module docs; at once if it is).
    pub fn first_burst_sent(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut sent = self.burst_sent.subscribe();
        async move {
            let _ = sent.wait_for(|sent| *sent).await;
        }
    }

    /// Is the first burst out now? Said once, on the first change that makes it so (a send, a
    /// wait ended, a connect ended).
    fn check_burst(&self) {
        if *self.burst_sent.borrow() || !*self.connect_ended.borrow() {
            return;
        }
        let all_sent = self.sent_in_all.load(Ordering::SeqCst) >= self.http1.max(self.http2);
        let start = self.http1.min(self.http2);
        let hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        // A TLS host still at its one request before its first connection is not held back
        // by its figure: its requests go once that connection says its protocol.
        let held_back = |host: &HostBound| {
            let figure = host.figure.load(Ordering::SeqCst);
            host.waiting.load(Ordering::SeqCst) == 0
                || all_sent
                || (figure >= start && host.sent.load(Ordering::SeqCst) >= figure)
        };
        if hosts.values().all(|host| held_back(host)) {
            self.burst_sent.send_replace(true);
        }
    }

    /// `host` answered over `version`: raise its bound to that protocol's figure.
    pub fn answered(&self, host: &str, version: reqwest::Version) {
        let target = if version == reqwest::Version::HTTP_2 {
            self.http2
        } else {
            self.http1
        };
        self.raise(&self.host(host), target);
    }

    /// A connection to `host` was made (`h2`: it agreed on HTTP/2) or could not be: raise it
    /// to its protocol's figure, the HTTP/1.1 one when nothing was agreed.
    pub fn connected(&self, host: &str, h2: bool) {
        let version = if h2 {
            reqwest::Version::HTTP_2
        } else {
            reqwest::Version::HTTP_11
        };
        self.answered(host, version);
    }

    fn raise(&self, bound: &HostBound, target: usize) {
        let before = bound.figure.fetch_max(target, Ordering::SeqCst);
        if target > before {
            bound.permits.add_permits(target - before);
        }
    }

    /// The figure `host` stands at now (its protocol's, once it has answered).
    pub fn figure(&self, host: &str) -> usize {
        self.host(host).figure.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use futures_util::FutureExt;

    use super::*;

    #[tokio::test]
    async fn a_host_starts_at_the_smaller_figure_and_rises_with_its_protocol() {
        let bound = InFlightBound::new(2, 4);
        assert_eq!(bound.figure("a"), 2);
        let first = bound.acquire("a", false).await.unwrap();
        let second = bound.acquire("a", false).await.unwrap();
        // A third waits: two connections while the protocol is unknown.
        assert!(bound.acquire("a", false).now_or_never().is_none());
        bound.answered("a", reqwest::Version::HTTP_2);
        assert_eq!(bound.figure("a"), 4);
        let _third = bound.acquire("a", false).await.unwrap();
        let _fourth = bound.acquire("a", false).await.unwrap();
        // Another host is not raised by a's answer, and HTTP/1.1 never lowers a figure.
        assert_eq!(bound.figure("b"), 2);
        bound.answered("a", reqwest::Version::HTTP_11);
        assert_eq!(bound.figure("a"), 4);
        drop((first, second));
    }

    #[tokio::test]
    async fn across_hosts_the_larger_figure_is_the_cap() {
        let bound = InFlightBound::new(1, 2);
        bound.answered("a", reqwest::Version::HTTP_2);
        bound.answered("b", reqwest::Version::HTTP_2);
        let _a1 = bound.acquire("a", false).await.unwrap();
        let _a2 = bound.acquire("a", false).await.unwrap();
        assert!(
            bound.acquire("b", false).now_or_never().is_none(),
            "two in flight in all"
        );
    }

    #[tokio::test]
    async fn a_tls_host_sends_one_request_until_its_first_connection_says_its_protocol() {
        let bound = InFlightBound::new(2, 4);
        let first = bound.acquire("h2.example", true).await.unwrap();
        assert!(bound.acquire("h2.example", true).now_or_never().is_none());
        bound.connected("h2.example", true);
        assert_eq!(bound.figure("h2.example"), 4);
        let rest: Vec<_> =
            futures_util::future::join_all((0..3).map(|_| bound.acquire("h2.example", true))).await;
        assert!(rest.iter().all(Option::is_some));
        drop((first, rest));
        // A TLS host that agreed on HTTP/1.1, or whose connect failed: the HTTP/1.1 figure.
        let _one = bound.acquire("h1.example", true).await.unwrap();
        bound.connected("h1.example", false);
        assert_eq!(bound.figure("h1.example"), 2);
    }

    #[tokio::test]
    async fn a_tls_host_that_does_not_connect_is_opened_after_the_grace() {
        let bound = InFlightBound::new(3, 8);
        let _stuck = bound.acquire("slow.example", true).await.unwrap();
        assert_eq!(bound.figure("slow.example"), 1);
        // Nothing says the connect ended: the wait itself opens the host, at the HTTP/1.1 figure.
        let second = tokio::time::timeout(
            FIRST_CONNECT_GRACE * 10,
            bound.acquire("slow.example", true),
        )
        .await;
        assert!(matches!(second, Ok(Some(_))));
        assert_eq!(bound.figure("slow.example"), 3);
    }

    fn burst_is_out(bound: &InFlightBound) -> bool {
        bound.first_burst_sent().now_or_never().is_some()
    }

    #[tokio::test]
    async fn the_first_burst_is_out_once_the_bound_holds_back_all_that_waits() {
        let bound = InFlightBound::new(2, 3);
        // A TLS host: one request goes while the first connect is made, five wait for it.
        let mut first = bound.acquire("h2.example", true).await.unwrap();
        first.sent();
        let mut waiting: Vec<_> = (0..5)
            .map(|_| Box::pin(bound.acquire("h2.example", true)))
            .collect();
        for w in &mut waiting {
            assert!(w.as_mut().now_or_never().is_none(), "waits for the connect");
        }
        assert!(!burst_is_out(&bound), "no connect has ended");
        // Another host's connect ends first: this one's one request is sent, but its figure
        // is not known yet, so its waiting requests are not held back by it.
        bound.connect_ended();
        assert!(bound.first_connect_ended().now_or_never().is_some());
        assert!(
            !burst_is_out(&bound),
            "the host's own connection is not made"
        );
        bound.connected("h2.example", true);
        // The figure is 3: two get slots, three are held back by the bound.
        let mut slots: Vec<_> = (waiting.iter_mut())
            .filter_map(|w| w.as_mut().now_or_never().flatten())
            .collect();
        assert_eq!(slots.len(), 2);
        assert!(!burst_is_out(&bound), "slots given but not sent yet");
        slots[0].sent();
        assert!(!burst_is_out(&bound), "one slot given is still unsent");
        slots[1].sent();
        assert!(
            burst_is_out(&bound),
            "all that waits is held back by the figure"
        );
    }

    #[tokio::test]
    async fn the_first_burst_is_out_when_nothing_waits_any_more() {
        let bound = InFlightBound::new(4, 8);
        let mut one = bound.acquire("plain.example", false).await.unwrap();
        let two = bound.acquire("plain.example", false).await.unwrap();
        bound.connect_ended();
        one.sent();
        assert!(!burst_is_out(&bound), "the second is not sent yet");
        // Given up unsent (its attempt was dropped): nothing waits any more.
        drop(two);
        assert!(burst_is_out(&bound));

        // A wait cancelled counts out too.
        let bound = InFlightBound::new(1, 1);
        let mut only = bound.acquire("h", false).await.unwrap();
        let mut next = Box::pin(bound.acquire("h", false));
        let mut other = Box::pin(bound.acquire("other", false));
        assert!(next.as_mut().now_or_never().is_none());
        assert!(
            other.as_mut().now_or_never().is_none(),
            "one in flight in all"
        );
        bound.connect_ended();
        only.sent();
        assert!(burst_is_out(&bound), "the one slot across hosts is sent");
        drop((next, other));
    }

    #[tokio::test]
    async fn with_nothing_waiting_the_burst_is_out_when_a_connect_ends() {
        let bound = InFlightBound::new(2, 2);
        let mut one = bound.acquire("h", false).await.unwrap();
        one.sent();
        assert!(!burst_is_out(&bound));
        bound.connect_ended();
        assert!(burst_is_out(&bound));
    }
}
