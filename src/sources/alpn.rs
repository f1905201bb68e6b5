//! The protocol a host speaks, learnt at connect time: a connector layer that tells the
//! in-flight bound when a connection to a host was made and whether its TLS handshake agreed on
//! HTTP/2 by ALPN (or that the connect failed), so that the host's figure is raised then, not at
//! its first answer one latency later (which cost a cold run a whole round at the HTTP/1.1
//! figure), and an `https` host's other requests stop waiting for the first connection. What it learns is what the first answer would say;
//! anything it cannot tell (no host in the destination, another protocol) leaves the bound to
//! the answers as before.

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use hyper_util::client::legacy::connect::Connection;

use super::in_flight::InFlightBound;
use crate::telemetry::tracker::{Milestone, Tracker};

/// Wraps the client's connector (see `reqwest::ClientBuilder::connector_layer`).
#[derive(Clone)]
pub(super) struct AlpnLayer {
    bound: Arc<InFlightBound>,
    /// Told when the run's first connection is made (a milestone of its timeline).
    tracker: Arc<Tracker>,
}

impl AlpnLayer {
    pub(super) fn new(bound: Arc<InFlightBound>, tracker: Arc<Tracker>) -> Self {
        AlpnLayer { bound, tracker }
    }
}

impl<S> tower_layer::Layer<S> for AlpnLayer {
    type Service = AlpnConnector<S>;

    fn layer(&self, inner: S) -> AlpnConnector<S> {
        AlpnConnector {
            inner,
            bound: self.bound.clone(),
            tracker: self.tracker.clone(),
        }
    }
}

#[derive(Clone)]
pub(super) struct AlpnConnector<S> {
    inner: S,
    bound: Arc<InFlightBound>,
    tracker: Arc<Tracker>,
}

impl<S, R> tower_service::Service<R> for AlpnConnector<S>
where
    S: tower_service::Service<R>,
    S::Response: Connection + Send + 'static,
    S::Error: 'static,
    S::Future: Send + 'static,
    R: Debug,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, destination: R) -> Self::Future {
        // reqwest hands the connector an opaque destination whose only window is `Debug`
        // (`Unnameable(https://host:port/)`); the URL in it names the host.
        let host = host_of_destination(&format!("{destination:?}"));
        let (bound, tracker) = (self.bound.clone(), self.tracker.clone());
        let connecting = self.inner.call(destination);
        Box::pin(async move {
            let connection = connecting.await;
            if connection.is_ok() {
                tracker.reached(Milestone::FirstConnection);
            }
            if let Some(host) = host {
                let h2 = (connection.as_ref()).is_ok_and(|c| c.connected().is_negotiated_h2());
                bound.connected(&host, h2);
            }
            bound.connect_ended();
            connection
        })
    }
}

/// The bound's host key (`host` or `host:port`) of the URL inside a destination's `Debug` text.
fn host_of_destination(text: &str) -> Option<String> {
    let start = text.find('(').map_or(0, |i| i + 1);
    let inner = text[start..].strip_suffix(')').unwrap_or(&text[start..]);
    super::http::host_key(&reqwest::Url::parse(inner).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_is_read_from_the_destination_as_the_bound_keys_it() {
        let cases = [
            ("Unnameable(https://pypi.org/)", Some("pypi.org")),
            ("Unnameable(https://pypi.org:443/)", Some("pypi.org")),
            (
                "Unnameable(https://127.0.0.1:8443/)",
                Some("127.0.0.1:8443"),
            ),
            ("https://[::1]:9/", Some("[::1]:9")),
            ("Unnameable(/just/a/path)", None),
            ("Unnameable", None),
        ];
        for (text, host) in cases {
            assert_eq!(host_of_destination(text).as_deref(), host, "{text}");
        }
    }
}
