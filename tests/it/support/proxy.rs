//! A loopback forward proxy: plain HTTP requests (absolute form, `GET http://...`) are relayed
//! to `target` as sent; `CONNECT` gets `200` and a byte tunnel to `target` (HTTPS through a
//! proxy). It records each request head it is sent.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::AsyncWriteExt;

/// Start the proxy; its port and the heads received so far.
pub async fn start(target: SocketAddr) -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let record = record.clone();
            tokio::spawn(async move {
                let head = super::files::read_head(&mut client, 8192)
                    .await
                    .unwrap_or_default();
                record
                    .lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&head).into_owned());
                let Ok(mut upstream) = tokio::net::TcpStream::connect(target).await else {
                    return;
                };
                let opened = if head.starts_with(b"CONNECT ") {
                    let established = b"HTTP/1.1 200 Connection established\r\n\r\n";
                    client.write_all(established).await
                } else {
                    upstream.write_all(&head).await
                };
                if opened.is_ok() {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                }
            });
        }
    });
    (port, seen)
}
