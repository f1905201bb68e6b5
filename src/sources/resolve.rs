//! Host name resolution once per run: a reqwest resolver that memoizes each host's addresses.
//!
//! reqwest's default resolver calls `getaddrinfo` on the blocking pool for every new connection,
//! so a cold run opening 32 connections to one index did 32 identical lookups, and a slow
//! resolver cost that many times over. Here the first connection to a host resolves it and every
//! other one (concurrent or later) shares that answer, success or failure, for the client's
//! life (one run). The lookup itself is tokio's (`getaddrinfo` on the blocking pool); the process
//! never waits for a lookup it abandoned, because the runtime is shut down in the background.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use tokio::sync::OnceCell;

/// One host's lookup, shared by everyone who asks while or after it runs.
type Lookup = Arc<OnceCell<Result<Vec<SocketAddr>, String>>>;

/// Memoizing resolver; cheap to clone (shared state).
#[derive(Clone, Default)]
pub struct CachingResolver {
    hosts: Arc<Mutex<HashMap<String, Lookup>>>,
    lookups: Arc<AtomicU64>,
}

impl CachingResolver {
    pub fn new() -> Self {
        Self::default()
    }

    /// System lookups made so far (one per distinct host).
    pub fn lookups(&self) -> u64 {
        self.lookups.load(Ordering::SeqCst)
    }
}

impl Resolve for CachingResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        let cell = self
            .hosts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(host.clone())
            .or_default()
            .clone();
        let lookups = self.lookups.clone();
        Box::pin(async move {
            let answer = cell
                .get_or_init(|| async {
                    lookups.fetch_add(1, Ordering::SeqCst);
                    match tokio::net::lookup_host((host.as_str(), 0)).await {
                        Ok(addrs) => {
                            let addrs: Vec<SocketAddr> = addrs.collect();
                            if addrs.is_empty() {
                                Err(format!("{host}: no address"))
                            } else {
                                Ok(addrs)
                            }
                        }
                        Err(e) => Err(format!("{host}: {e}")),
                    }
                })
                .await;
            match answer {
                Ok(addrs) => Ok(Box::new(addrs.clone().into_iter()) as Addrs),
                Err(e) => Err(e.clone().into()),
            }
        })
    }
}
