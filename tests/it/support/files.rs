//! A raw HTTP/1.1 server on 127.0.0.1 serving one canned answer at a time, byte for byte as
//! written: a declared `Content-Length` the body does not reach (a cut download), no length at
//! all, `304`. It records each request's head so tests can check conditional headers. Over TLS
//! too ([`FileServer::start_tls`], a `wire::TestCa` acceptor).

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// What the next requests get.
#[derive(Clone, Debug)]
pub struct Canned {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// `Content-Length` to declare: `Some(n)` (may differ from the body), or none at all (the
    /// body then ends when the connection closes).
    pub content_length: Option<usize>,
}

impl Canned {
    /// `200` with a correct `Content-Length` and an ETag.
    pub fn ok(body: Vec<u8>, etag: &str) -> Self {
        Canned {
            status: 200,
            headers: vec![("ETag".into(), etag.into())],
            content_length: Some(body.len()),
            body,
        }
    }
}

pub struct FileServer {
    pub url: String,
    canned: Arc<Mutex<Canned>>,
    requests: Arc<Mutex<Vec<String>>>,
    task: JoinHandle<()>,
}

impl FileServer {
    pub async fn start(canned: Canned) -> FileServer {
        FileServer::start_with(canned, None).await
    }

    /// The same over TLS (`https://`), with the certificate `acceptor` presents.
    pub async fn start_tls(canned: Canned, acceptor: tokio_rustls::TlsAcceptor) -> FileServer {
        FileServer::start_with(canned, Some(acceptor)).await
    }

    async fn start_with(canned: Canned, tls: Option<tokio_rustls::TlsAcceptor>) -> FileServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let scheme = if tls.is_some() { "https" } else { "http" };
        let url = format!("{scheme}://{}", listener.local_addr().unwrap());
        let canned = Arc::new(Mutex::new(canned));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (c, r) = (canned.clone(), requests.clone());
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let (c, r, tls) = (c.clone(), r.clone(), tls.clone());
                tokio::spawn(async move {
                    match tls {
                        None => answer(socket, &c, &r).await,
                        Some(acceptor) => {
                            if let Ok(stream) = acceptor.accept(socket).await {
                                answer(stream, &c, &r).await;
                            }
                        }
                    }
                });
            }
        });
        FileServer {
            url,
            canned,
            requests,
            task,
        }
    }

    pub fn set(&self, canned: Canned) {
        *self.canned.lock().unwrap() = canned;
    }

    /// The heads of the requests so far, lower-cased.
    pub fn requests(&self) -> Vec<String> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .map(|r| r.to_ascii_lowercase())
            .collect()
    }
}

/// A request head, byte by byte up to the blank line (at most `limit` bytes); `None` when the
/// peer closes first.
pub async fn read_head<S>(socket: &mut S, limit: usize) -> Option<Vec<u8>>
where
    S: tokio::io::AsyncRead + Unpin,
{
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < limit {
        match socket.read(&mut byte).await {
            Ok(1) => head.push(byte[0]),
            _ => return None,
        }
    }
    Some(head)
}

/// Read one request head, record it, write the canned answer as is, close.
async fn answer<S>(mut socket: S, canned: &Mutex<Canned>, requests: &Mutex<Vec<String>>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let Some(head) = read_head(&mut socket, 64 * 1024).await else {
        return;
    };
    requests
        .lock()
        .unwrap()
        .push(String::from_utf8_lossy(&head).into_owned());
    let answer = canned.lock().unwrap().clone();
    let mut out = format!("HTTP/1.1 {} X\r\nConnection: close\r\n", answer.status);
    for (k, v) in &answer.headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(n) = answer.content_length {
        out.push_str(&format!("Content-Length: {n}\r\n"));
    }
    out.push_str("\r\n");
    let _ = socket.write_all(out.as_bytes()).await;
    let _ = socket.write_all(&answer.body).await;
    let _ = socket.shutdown().await;
}

impl Drop for FileServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
