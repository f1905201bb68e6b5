//! The bound on requests in flight: per host, *connections* on HTTP/1.1 and *streams* on
//! HTTP/2 (one request is one of either), and across hosts the larger of the two figures.
//!
//! A host's protocol is decided by ALPN during its first TLS handshake, so each host starts at
//! the smaller figure and is raised to its protocol's figure as soon as a connection agreed on
//! HTTP/2 (`sources::alpn`, at connect time) or by its first answer; it is never lowered. On
//! HTTP/1.1 every request in flight holds its own connection, so the figure is what a server
//! sees as parallel connections from us; on HTTP/2 the requests share a connection and the
//! figure is the streams open on it (servers typically allow 100:
//! `SETTINGS_MAX_CONCURRENT_STREAMS`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore, SemaphorePermit};

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

    fn host(&self, host: &str) -> Arc<HostBound> {
        let start = self.http1.min(self.http2);
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

    /// Wait for a slot on `host` (first the host's bound, then the one across hosts, so a
    /// request held back by its host does not take a slot another host could use).
    pub async fn acquire(&self, host: &str) -> Option<Slot<'_>> {
        let bound = self.host(host);
        let host_permit = bound.permits.clone().acquire_owned().await.ok()?;
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
        let bound = self.host(host);
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
        let first = bound.acquire("a").await.unwrap();
        let second = bound.acquire("a").await.unwrap();
        // A third waits: two connections while the protocol is unknown.
        assert!(bound.acquire("a").now_or_never().is_none());
        bound.answered("a", reqwest::Version::HTTP_2);
        assert_eq!(bound.figure("a"), 4);
        let _third = bound.acquire("a").await.unwrap();
        let _fourth = bound.acquire("a").await.unwrap();
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
        let _a1 = bound.acquire("a").await.unwrap();
        let _a2 = bound.acquire("a").await.unwrap();
        assert!(
            bound.acquire("b").now_or_never().is_none(),
            "two in flight in all"
        );
    }
}
