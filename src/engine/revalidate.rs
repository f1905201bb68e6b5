//! Cache first, then the source, revalidating what expired: a cached answer keeps the validators
//! (`ETag`, `Last-Modified`) it came with; once past its TTL it is sent back with the request, and
//! a `304` renews the entry (same facts, new expiry) without a body. Fresh entries cost nothing;
//! anything the source cannot confirm is fetched again or unknown, never assumed unchanged.

use std::future::Future;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::cache_writer::CacheWriter;
use crate::cache::{CacheKey, Cached, TieredCache};
use crate::sources::Validators;
use crate::sources::revalidate::Revalidated;

/// A cached answer and the validators to revalidate it with. The facts stay the entry's
/// top-level fields (the validators sit beside them), so a reader of the bare facts still
/// reads these entries, and entries written before validators were kept still parse.
#[derive(Serialize, Deserialize)]
struct Kept<T> {
    #[serde(flatten)]
    value: T,
    #[serde(
        default,
        rename = "_validators",
        skip_serializing_if = "Option::is_none"
    )]
    validators: Option<Validators>,
}

/// Where an answer came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Origin {
    /// A cache entry within its TTL, or one the source confirmed (`304`) or a new answer.
    Current,
    /// An expired entry served without asking (offline).
    Stale,
}

/// The answer for `key`: the cache's when fresh; else `fetch` (given the validators of the
/// expired entry, if any), whose new answer is stored and whose `304` renews the expired
/// entry. `fetch` gets `None` when there is no entry to revalidate. `online` false (no client):
/// an expired entry is served as [`Origin::Stale`] when the cache allows it (`--offline`).
/// Answers are stored through `writer` (off the async workers).
pub(super) async fn cached_or_fetch<T, F, Fut>(
    cache: Option<&TieredCache>,
    writer: Option<&CacheWriter>,
    key: &CacheKey,
    ttl: Duration,
    online: bool,
    fetch: F,
) -> Result<(T, Origin), String>
where
    T: Serialize + DeserializeOwned,
    F: FnOnce(Option<Validators>) -> Fut,
    Fut: Future<Output = Result<Revalidated<T>, String>>,
{
    // A fresh entry is read as the bare facts (the validators beside them are skipped, not
    // parsed): the warm path pays nothing for revalidation.
    let cached = match cache {
        Some(cache) => cache.get_json_revalidating::<T, Kept<T>>(key).await,
        None => None,
    };
    let expired = match cached {
        Some(Cached::Fresh(value)) => return Ok((value, Origin::Current)),
        Some(Cached::Expired(kept)) if !online => return Ok((kept.value, Origin::Stale)),
        Some(Cached::Expired(kept)) => Some(kept),
        None => None,
    };
    let prior = expired.as_ref().and_then(|kept| kept.validators.clone());
    let kept = match fetch(prior).await? {
        Revalidated::Changed(value, validators) => Kept { value, validators },
        // Only a request that carried the expired entry's validators can get a 304.
        Revalidated::Unchanged => expired.ok_or_else(|| {
            "the source answered 304 Not Modified, but there is no cached answer to keep"
                .to_string()
        })?,
    };
    if let Some(writer) = writer {
        writer.put_json(key, &kept, ttl);
    }
    Ok((kept.value, Origin::Current))
}
