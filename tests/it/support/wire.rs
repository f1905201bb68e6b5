//! The wire under the loopback servers: TLS with a certificate authority generated in the test
//! (rcgen; the server offers ALPN `h2` + `http/1.1` as PyPI's CDN does, or `http/1.1` only),
//! and a bandwidth limit shared by every connection of a server (one token bucket on the bytes
//! it sends, TLS records included), so a benchmark can model a 100 Mbit/s link.
//!
//! Self-contained like `registry.rs` (rustls, tokio-rustls, rcgen, tokio; nothing from
//! depdash): benches and examples include both with `#[path]`, side by side.
#![allow(dead_code)]

use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// ALPN protocols a TLS server offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alpn {
    /// `h2` then `http/1.1`: a client that speaks HTTP/2 gets it.
    H2AndHttp1,
    /// `http/1.1` only: an HTTP/1.1-only server.
    Http1Only,
}

/// A test certificate authority and a server certificate it signed for `127.0.0.1` and
/// `localhost`.
pub struct TestCa {
    /// The CA's certificate (what a client must trust), PEM.
    pub cert_pem: String,
    server_chain: Vec<rustls::pki_types::CertificateDer<'static>>,
    server_key_der: Vec<u8>,
}

impl TestCa {
    pub fn new() -> TestCa {
        use rcgen::{
            BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair,
            KeyUsagePurpose,
        };
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "depdash test CA");
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().expect("CA key"))
            .expect("CA certificate");
        let mut leaf = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".into()])
            .expect("server parameters");
        leaf.distinguished_name
            .push(DnType::CommonName, "depdash test registry");
        let leaf_key = KeyPair::generate().expect("server key");
        let leaf_cert = leaf.signed_by(&leaf_key, &ca).expect("server certificate");
        TestCa {
            cert_pem: ca.pem(),
            server_chain: vec![leaf_cert.der().clone(), ca.der().clone()],
            server_key_der: leaf_key.serialize_der(),
        }
    }

    /// Write the CA certificate to `dir/ca.pem` (what `--cert` and friends point at).
    pub fn write_pem(&self, dir: &Path) -> PathBuf {
        let path = dir.join("ca.pem");
        std::fs::write(&path, &self.cert_pem).expect("write the CA certificate");
        path
    }

    /// A TLS acceptor presenting the server certificate, offering `alpn`.
    pub fn acceptor(&self, alpn: Alpn) -> tokio_rustls::TlsAcceptor {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(self.server_key_der.clone().into());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(self.server_chain.clone(), key)
            .expect("server certificate and key");
        config.alpn_protocols = match alpn {
            Alpn::H2AndHttp1 => vec![b"h2".to_vec(), b"http/1.1".to_vec()],
            Alpn::Http1Only => vec![b"http/1.1".to_vec()],
        };
        tokio_rustls::TlsAcceptor::from(Arc::new(config))
    }
}

impl Default for TestCa {
    fn default() -> Self {
        TestCa::new()
    }
}

/// A token bucket shared by every connection of one server: at most `bytes_per_second` sent
/// in total, with a burst of one TCP send buffer's worth (64 KiB).
#[derive(Debug)]
pub struct Bandwidth {
    bytes_per_second: f64,
    state: Mutex<(f64, Instant)>,
    sent: AtomicU64,
    waits: AtomicU64,
}

const BURST: f64 = 64.0 * 1024.0;

impl Bandwidth {
    /// A link of `mbit` megabits per second (10⁶ bits).
    pub fn mbit(mbit: f64) -> Arc<Bandwidth> {
        Arc::new(Bandwidth {
            bytes_per_second: mbit * 1_000_000.0 / 8.0,
            state: Mutex::new((BURST, Instant::now())),
            sent: AtomicU64::new(0),
            waits: AtomicU64::new(0),
        })
    }

    /// Bytes sent through the limit so far.
    pub fn bytes_sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Times a write had to wait for the bucket to refill.
    pub fn waits(&self) -> u64 {
        self.waits.load(Ordering::Relaxed)
    }

    /// Take up to `want` bytes: how many may go now, or how long to wait for the first one.
    fn take(&self, want: usize) -> Result<usize, Duration> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let refill = now.duration_since(state.1).as_secs_f64() * self.bytes_per_second;
        state.0 = (state.0 + refill).min(BURST);
        state.1 = now;
        if state.0 >= 1.0 {
            let n = (state.0 as usize).min(want);
            state.0 -= n as f64;
            // Counted when taken (before the write), so a reader never sees more than this.
            self.sent.fetch_add(n as u64, Ordering::Relaxed);
            Ok(n)
        } else {
            self.waits.fetch_add(1, Ordering::Relaxed);
            Err(Duration::from_secs_f64(
                (1.0 - state.0) / self.bytes_per_second,
            ))
        }
    }

    fn give_back(&self, n: usize) {
        if n > 0 {
            self.sent.fetch_sub(n as u64, Ordering::Relaxed);
            let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            state.0 = (state.0 + n as f64).min(BURST);
        }
    }
}

/// A stream whose writes draw on a shared [`Bandwidth`] (reads are not limited: requests are
/// small).
pub struct Shaped<S> {
    inner: S,
    bandwidth: Option<Arc<Bandwidth>>,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<S> Shaped<S> {
    pub fn new(inner: S, bandwidth: Option<Arc<Bandwidth>>) -> Self {
        Shaped {
            inner,
            bandwidth,
            sleep: None,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Shaped<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Shaped<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let Some(bandwidth) = self.bandwidth.clone() else {
            return Pin::new(&mut self.inner).poll_write(cx, buf);
        };
        loop {
            if let Some(sleep) = self.sleep.as_mut() {
                if sleep.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                self.sleep = None;
            }
            match bandwidth.take(buf.len()) {
                Ok(n) => {
                    let written = Pin::new(&mut self.inner).poll_write(cx, &buf[..n]);
                    // Tokens taken but not sent go back (the socket was full).
                    if let Poll::Ready(Ok(sent)) = &written {
                        bandwidth.give_back(n - sent);
                    } else {
                        bandwidth.give_back(n);
                    }
                    return written;
                }
                Err(wait) => self.sleep = Some(Box::pin(tokio::time::sleep(wait))),
            }
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
