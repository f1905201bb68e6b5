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

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, SemaphorePermit};

/// How long the other requests to an `https` host wait for its first connection to say which
/// protocol it speaks before they open their own (at the HTTP/1.1 figure). A handshake takes a
/// few round trips: tens of milliseconds to a CDN, more across the world.
pub const FIRST_CONNECT_GRACE: Duration = Duration::from_millis(500);

/// A slot to send one request: held until its answer is read (or the attempt ends).
pub struct Slot<'a> {
    _host: OwnedSemaphorePermit,
    _all: SemaphorePermit<'a>,
}

/// One host's bound, and the figure it stands at now.
struct HostBound {
    permits: Arc<Semaphore>,
    figure: AtomicUsize,
}

pub struct InFlightBound {
    http1: usize,
    http2: usize,
    all: Semaphore,
    hosts: Mutex<HashMap<String, Arc<HostBound>>>,
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
            _host: host_permit,
            _all: all,
        })
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
}
