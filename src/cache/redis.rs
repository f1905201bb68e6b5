//! L3: a shared Redis, optional and never trusted to be up. One multiplexed connection with
//! short connect/response timeouts, so a dead or unreachable server costs at most a fraction of
//! a second once; the caller disables the level after the first failure.
//!
//! Values are the same verified envelope as the files (see [`super::entry`]), stored under the
//! namespaced key (`depdash:v1:...`) with a server-side expiry of TTL + [`STALE_GRACE`](super::entry::STALE_GRACE), so an
//! expired entry stays available to `--offline` runs for the grace window and then disappears
//! on its own.
//!
//! Redis is a service other machines write to, so every value is authenticated: it is stored as
//! `SIGNED_MAGIC`, an HMAC-SHA256 tag, then the envelope; the tag covers the Redis key and the
//! envelope, under the fleet's shared secret (`DEPDASH_REDIS_KEY`). A value without a valid tag
//! is forged or from another fleet: the caller treats it as a miss and deletes it. Without a
//! secret the level is not used at all (fail-safe: unauthenticated shared data is never read).

use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client};
use sha2::Sha256;

use super::entry::{Record, unix_now};

pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(200);
pub const RESPONSE_TIMEOUT: Duration = Duration::from_millis(500);

/// The fleet's shared secret. Its `Debug` never shows it (settings are logged at debug level).
#[derive(Clone, PartialEq, Eq)]
pub struct RedisSecret(Vec<u8>);

impl RedisSecret {
    /// Environment variable holding the secret.
    pub const ENV: &'static str = "DEPDASH_REDIS_KEY";

    /// A secret from its text; `None` when empty.
    pub fn new(text: &str) -> Option<Self> {
        let text = text.trim();
        (!text.is_empty()).then(|| RedisSecret(text.as_bytes().to_vec()))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for RedisSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RedisSecret(..)")
    }
}

/// Prefix of a signed value (format version 1).
pub const SIGNED_MAGIC: &[u8; 8] = b"DDHMAC1\0";
const TAG_LEN: usize = 32;

/// Why a value read from Redis is not trusted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("value is not signed")]
    Unsigned,
    #[error("signature does not match (forged, or signed with another key)")]
    BadSignature,
}

/// Sign `envelope` stored under `redis_key` with `secret`.
pub fn sign(secret: &[u8], redis_key: &str, envelope: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(SIGNED_MAGIC.len() + TAG_LEN + envelope.len());
    out.extend_from_slice(SIGNED_MAGIC);
    out.extend_from_slice(&mac(secret, redis_key, envelope).finalize().into_bytes());
    out.extend_from_slice(envelope);
    out
}

/// The envelope inside a signed `value`, if its tag verifies (constant-time comparison).
pub fn unseal<'a>(
    secret: &[u8],
    redis_key: &str,
    value: &'a [u8],
) -> Result<&'a [u8], SignatureError> {
    let rest = value
        .strip_prefix(&SIGNED_MAGIC[..])
        .ok_or(SignatureError::Unsigned)?;
    if rest.len() < TAG_LEN {
        return Err(SignatureError::Unsigned);
    }
    let (tag, envelope) = rest.split_at(TAG_LEN);
    mac(secret, redis_key, envelope)
        .verify_slice(tag)
        .map_err(|_| SignatureError::BadSignature)?;
    Ok(envelope)
}

fn mac(secret: &[u8], redis_key: &str, envelope: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length; the error arm cannot happen.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(&(redis_key.len() as u64).to_le_bytes());
    mac.update(redis_key.as_bytes());
    mac.update(envelope);
    mac
}

pub(crate) struct RedisLevel {
    connection: MultiplexedConnection,
    secret: Vec<u8>,
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
    pub(crate) async fn connect(url: &str, secret: &RedisSecret) -> Result<Self, RedisUnavailable> {
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
            secret: secret.as_bytes().to_vec(),
            address,
        })
    }

    pub(crate) fn address(&self) -> &str {
        &self.address
    }

    /// The raw value under `key`; check it with [`Self::unseal`].
    pub(crate) async fn get(&self, key: &str) -> redis::RedisResult<Option<Vec<u8>>> {
        redis::cmd("GET")
            .arg(key)
            .query_async(&mut self.connection.clone())
            .await
    }

    pub(crate) fn unseal<'a>(
        &self,
        key: &str,
        value: &'a [u8],
    ) -> Result<&'a [u8], SignatureError> {
        unseal(&self.secret, key, value)
    }

    /// `SET key envelope EX ttl+grace`.
    pub(crate) async fn set(&self, key: &str, record: &Record) -> redis::RedisResult<()> {
        let expire_secs = record.secs_until_dead(unix_now()).max(1);
        redis::cmd("SET")
            .arg(key)
            .arg(sign(&self.secret, key, record.encoded()))
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
