//! L3: a shared Redis, optional and never trusted to be up. One multiplexed connection with
//! short connect/response timeouts, so a dead or unreachable server costs at most a fraction of
//! a second once; the caller disables the level after the first failure.
//!
//! Values are the same verified envelope as the files (see [`super::entry`]), stored under the
//! namespaced key (`depdash:v1:...`) with a server-side expiry of TTL + [`STALE_GRACE`](super::entry::STALE_GRACE), so an
//! expired entry stays available to `--offline` runs for the grace window and then disappears
//! on its own.

use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client};

use super::entry::{Record, unix_now};

pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(200);
pub const RESPONSE_TIMEOUT: Duration = Duration::from_millis(500);

pub(crate) struct RedisLevel {
    connection: MultiplexedConnection,
    /// `host:port` (never the URL: it may carry a password).
    address: String,
}

/// Why Redis cannot be used; the message is shown to the user once.
#[derive(Debug, thiserror::Error)]
#[error("Redis {address}: {message}")]
pub(crate) struct RedisUnavailable {
    pub address: String,
    pub message: String,
}

impl RedisLevel {
    /// Connects and checks the server answers `PING`.
    pub(crate) async fn connect(url: &str) -> Result<Self, RedisUnavailable> {
        let client = Client::open(url).map_err(|e| RedisUnavailable {
            address: "(invalid URL)".into(),
            message: e.to_string(),
        })?;
        let address = client.get_connection_info().addr().to_string();
        let unavailable = |message: String| RedisUnavailable {
            address: address.clone(),
            message,
        };
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT));
        // The outer timeout also bounds DNS resolution and the handshake.
        let connect = client.get_multiplexed_async_connection_with_config(&config);
        let mut connection = tokio::time::timeout(CONNECT_TIMEOUT + RESPONSE_TIMEOUT, connect)
            .await
            .map_err(|_| unavailable("connection timed out".into()))?
            .map_err(|e| unavailable(e.to_string()))?;
        redis::cmd("PING")
            .query_async::<String>(&mut connection)
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        Ok(RedisLevel {
            connection,
            address,
        })
    }

    pub(crate) fn address(&self) -> &str {
        &self.address
    }

    pub(crate) async fn get(&self, key: &str) -> redis::RedisResult<Option<Vec<u8>>> {
        redis::cmd("GET")
            .arg(key)
            .query_async(&mut self.connection.clone())
            .await
    }

    /// `SET key envelope EX ttl+grace`.
    pub(crate) async fn set(&self, key: &str, record: &Record) -> redis::RedisResult<()> {
        let expire_secs = record.secs_until_dead(unix_now()).max(1);
        redis::cmd("SET")
            .arg(key)
            .arg(record.encoded())
            .arg("EX")
            .arg(expire_secs)
            .query_async(&mut self.connection.clone())
            .await
    }

    pub(crate) async fn delete(&self, key: &str) -> redis::RedisResult<()> {
        redis::cmd("DEL")
            .arg(key)
            .query_async(&mut self.connection.clone())
            .await
    }
}
