//! The token cache: bounded, keyed by a SHA-256 of the token, holding token bodies only (the
//! token string itself is never stored), each entry living `min(token_cache_time,
//! expires_at - now)`, expiry re-checked on every hit, and concurrent requests with the same
//! uncached token sharing one validation call.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::compact::CompactToken;
use keystone_client::AccessInfo;
use moka::Expiry;
use moka::future::Cache;
use sha2::{Digest, Sha256};

/// A cache key: the token's hash, and whether expired tokens were allowed.
pub(crate) type Key = ([u8; 32], bool);

/// Hashes a token for the cache.
pub(crate) fn key(token: &str, allow_expired: bool) -> Key {
    (Sha256::digest(token.as_bytes()).into(), allow_expired)
}

/// Why a token was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// Keystone says the token is not valid (or it expired).
    Invalid,
    /// Keystone could not be asked: the reason, for logs.
    Unavailable(String),
}

/// Cache counters.
#[derive(Debug, Default)]
pub struct CacheStats {
    hits: AtomicU64,
    misses: AtomicU64,
    coalesced: AtomicU64,
    validations: AtomicU64,
    keystone_errors: AtomicU64,
    negative_hits: AtomicU64,
}

/// A snapshot of the counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheCounters {
    /// Requests answered from the cache.
    pub hits: u64,
    /// Requests whose token was not cached.
    pub misses: u64,
    /// Misses that waited for another request's validation instead of asking Keystone.
    pub coalesced: u64,
    /// Validation calls made to Keystone.
    pub validations: u64,
    /// Validation calls that failed because Keystone was unavailable.
    pub keystone_errors: u64,
    /// Requests rejected from the negative cache.
    pub negative_hits: u64,
}

impl CacheStats {
    /// The current counts.
    pub fn snapshot(&self) -> CacheCounters {
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        CacheCounters {
            hits: l(&self.hits),
            misses: l(&self.misses),
            coalesced: l(&self.coalesced),
            validations: l(&self.validations),
            keystone_errors: l(&self.keystone_errors),
            negative_hits: l(&self.negative_hits),
        }
    }
}

struct Lifetime {
    max: Duration,
}

impl Expiry<Key, Arc<CompactToken>> for Lifetime {
    fn expire_after_create(
        &self,
        _key: &Key,
        value: &Arc<CompactToken>,
        _created_at: Instant,
    ) -> Option<Duration> {
        let left = (value.expires_at() - chrono::Utc::now())
            .to_std()
            .unwrap_or(Duration::ZERO);
        Some(left.min(self.max))
    }
}

/// The cache of validated tokens.
pub struct TokenCache {
    valid: Option<Cache<Key, Arc<CompactToken>>>,
    invalid: Option<Cache<Key, ()>>,
    stats: CacheStats,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache")
            .field("stats", &self.stats.snapshot())
            .finish_non_exhaustive()
    }
}

impl TokenCache {
    /// A cache of at most `capacity` tokens, each kept at most `lifetime` (`None` disables
    /// caching), remembering invalid tokens for `negative` (`None`: not at all).
    pub fn new(capacity: u64, lifetime: Option<Duration>, negative: Option<Duration>) -> Self {
        TokenCache {
            valid: lifetime.map(|max| {
                Cache::builder()
                    .max_capacity(capacity)
                    .expire_after(Lifetime { max })
                    .build()
            }),
            invalid: negative.map(|ttl| {
                Cache::builder()
                    .max_capacity(capacity)
                    .time_to_live(ttl)
                    .build()
            }),
            stats: CacheStats::default(),
        }
    }

    /// The counters.
    pub fn counters(&self) -> CacheCounters {
        self.stats.snapshot()
    }

    /// How many valid tokens are cached (after pending maintenance).
    pub async fn len(&self) -> u64 {
        match &self.valid {
            Some(c) => {
                c.run_pending_tasks().await;
                c.entry_count()
            }
            None => 0,
        }
    }

    /// Whether no token is cached.
    pub async fn is_empty(&self) -> bool {
        self.len().await == 0
    }

    /// The token's body, compact: from the cache, or from `validate` (shared by concurrent
    /// callers with the same token).
    pub async fn get_or_validate<F, Fut>(
        &self,
        token: &str,
        allow_expired: bool,
        validate: F,
    ) -> Result<Arc<CompactToken>, Rejection>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<AccessInfo, Rejection>>,
    {
        let key = key(token, allow_expired);
        if let Some(neg) = &self.invalid
            && neg.get(&key).await.is_some()
        {
            self.stats.negative_hits.fetch_add(1, Ordering::Relaxed);
            return Err(Rejection::Invalid);
        }
        let checked = |body: Arc<CompactToken>| {
            if !allow_expired && body.expires_at() <= chrono::Utc::now() {
                Err(Rejection::Invalid)
            } else {
                Ok(body)
            }
        };
        let Some(cache) = &self.valid else {
            self.stats.misses.fetch_add(1, Ordering::Relaxed);
            self.stats.validations.fetch_add(1, Ordering::Relaxed);
            let result = validate()
                .await
                .map(|a| Arc::new(CompactToken::new(a.body())));
            return self.record(key, result).await.and_then(checked);
        };
        if let Some(hit) = cache.get(&key).await {
            self.stats.hits.fetch_add(1, Ordering::Relaxed);
            let result = checked(hit);
            if result.is_err() {
                cache.invalidate(&key).await;
            }
            return result;
        }
        self.stats.misses.fetch_add(1, Ordering::Relaxed);
        let ran = AtomicBool::new(false);
        let result = cache
            .try_get_with(key, async {
                ran.store(true, Ordering::Relaxed);
                self.stats.validations.fetch_add(1, Ordering::Relaxed);
                validate()
                    .await
                    .map(|a| Arc::new(CompactToken::new(a.body())))
            })
            .await;
        if !ran.load(Ordering::Relaxed) {
            self.stats.coalesced.fetch_add(1, Ordering::Relaxed);
        }
        let result = result.map_err(|e| (*e).clone());
        if ran.load(Ordering::Relaxed) {
            self.record_error(key, &result).await;
        }
        result.and_then(checked)
    }

    async fn record(
        &self,
        key: Key,
        result: Result<Arc<CompactToken>, Rejection>,
    ) -> Result<Arc<CompactToken>, Rejection> {
        self.record_error(key, &result).await;
        result
    }

    async fn record_error<T>(&self, key: Key, result: &Result<T, Rejection>) {
        match result {
            Err(Rejection::Unavailable(_)) => {
                self.stats.keystone_errors.fetch_add(1, Ordering::Relaxed);
            }
            Err(Rejection::Invalid) => {
                if let Some(neg) = &self.invalid {
                    neg.insert(key, ()).await;
                }
            }
            Ok(_) => {}
        }
    }
}
