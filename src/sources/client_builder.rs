//! The one place an HTTP client is configured, for the checks and for `db update` alike: rustls
//! with the ring provider; the trusted roots (the system's, or a PEM bundle *instead*, as pip's
//! `--cert`); HTTP/2 negotiated by ALPN (`h2`, then `http/1.1`) where the server offers it over
//! TLS, HTTP/1.1 on plain `http://`; proxies from `HTTP_PROXY` / `HTTPS_PROXY` / `ALL_PROXY`
//! with `NO_PROXY` exemptions, as pip reads them (reqwest's system proxies); and a certificate
//! failure told apart from other connection failures, so it is reported as what it is.

use std::time::Duration;

use super::SourceError;
use super::fetch_error::error_chain;

/// A client builder with the trust roots, ALPN, proxies and connection settings every source
/// shares; callers add what is theirs (gzip, redirects, resolver, read timeout).
pub fn builder(
    ca_bundle: Option<&[u8]>,
    user_agent: &str,
    connect_timeout: Duration,
) -> Result<reqwest::ClientBuilder, SourceError> {
    // reqwest is built with `rustls-no-provider`: a process-wide provider must exist before
    // the first client. Another caller may have installed one already; that one serves.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut builder = reqwest::Client::builder();
    if let Some(pem) = ca_bundle {
        let certs = reqwest::Certificate::from_pem_bundle(pem)
            .map_err(|e| SourceError::Client(format!("CA bundle: {}", error_chain(&e))))?;
        if certs.is_empty() {
            return Err(SourceError::Client(
                "CA bundle: no certificate in it".into(),
            ));
        }
        // As pip's `--cert`: these roots replace the system's.
        builder = builder.tls_certs_only(certs);
    }
    Ok(builder
        .user_agent(user_agent)
        .connect_timeout(connect_timeout)
        // Small requests and answers: never wait to fill a segment.
        .tcp_nodelay(true))
}

/// The certificate problem behind a failed request (an untrusted issuer, a name mismatch, an
/// expired certificate...), if that is what it was: rustls' error, found in the source chain
/// (hyper wraps it in an `io::Error`, whose `source()` skips it).
pub fn certificate_problem(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cause = Some(error);
    while let Some(e) = cause {
        let rustls_error = e.downcast_ref::<rustls::Error>();
        if let Some(
            problem @ (rustls::Error::InvalidCertificate(_)
            | rustls::Error::NoCertificatesPresented
            | rustls::Error::UnsupportedNameType),
        ) = rustls_error
        {
            return Some(format!(
                "TLS certificate not trusted ({problem}); trust its CA with --cert FILE, \
                 PIP_CERT, REQUESTS_CA_BUNDLE or SSL_CERT_FILE"
            ));
        }
        // An `io::Error` may wrap another; its `source()` skips what it wraps.
        let wrapped = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref());
        cause = match wrapped {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => e.source(),
        };
    }
    None
}

/// Redirects: at most `max`, never from https to http. reqwest itself drops `Authorization`,
/// cookies and proxy credentials when a redirect leaves the host (or port, or scheme).
pub(super) fn redirect_policy(max: usize) -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(move |attempt| {
        let downgrade = attempt.url().scheme() == "http"
            && attempt.previous().iter().any(|u| u.scheme() == "https");
        if attempt.previous().len() > max {
            attempt.error(format!("more than {max} redirects"))
        } else if downgrade {
            attempt.error("redirect from https to http")
        } else {
            attempt.follow()
        }
    })
}
