//! The token cache: bounded, keyed by a SHA-256 of the token, holding token bodies only (the
//! token string itself is never stored), each entry living `min(token_cache_time,
//! expires_at - now)`, expiry re-checked on every hit, and concurrent requests with the same
//! uncached token sharing one validation call.
//!
//! Two levels: the shared cache (moka: bounded, coalescing), and in front of it a small
//! per-thread map of recently used tokens holding that thread's own copies. A hit in the
//! per-thread map writes no memory that another thread writes (no shared reference count, no
//! shared recency record, no shared counter), so a token used by many requests at once costs
//! no contention between cores. A per-thread entry carries its shared entry's deadline, so it
//! never lives longer than the shared entry would (only, when the shared cache is full, longer
//! than the shared entry's eviction).

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::compact::CompactToken;
use keystone_client::AccessInfo;
use moka::Expiry;
use moka::future::Cache;
use sha2::{Digest, Sha256};
use thread_local::ThreadLocal;

/// How many tokens each thread keeps in front of the shared cache.
const LOCAL_CAPACITY: usize = 64;

/// A cache key: the token's hash, and whether expired tokens were allowed.
pub(crate) type Key = ([u8; 32], bool);

/// Hashes a token for the cache.
pub(crate) fn key(token: &[u8], allow_expired: bool) -> Key {
    (Sha256::digest(token).into(), allow_expired)
}

/// Whether a cached body may answer: not expired, unless expired tokens were allowed.
fn usable(body: &CompactToken, allow_expired: bool) -> bool {
    allow_expired || body.expires_at() > chrono::Utc::now()
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
    /// Hits in the shared cache; hits in the per-thread maps are counted there.
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
    /// The current counts, with `local_hits` more hits.
    fn snapshot(&self, local_hits: u64) -> CacheCounters {
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        CacheCounters {
            hits: l(&self.hits) + local_hits,
            misses: l(&self.misses),
            coalesced: l(&self.coalesced),
            validations: l(&self.validations),
            keystone_errors: l(&self.keystone_errors),
            negative_hits: l(&self.negative_hits),
        }
    }
}

/// A cached token body and when its entry ends: `min(token_cache_time, expires_at - now)`
/// after validation.
#[derive(Clone)]
struct Entry {
    body: Arc<CompactToken>,
    until: Instant,
}

impl Entry {
    fn new(body: CompactToken, max: Duration) -> Self {
        let left = (body.expires_at() - chrono::Utc::now())
            .to_std()
            .unwrap_or(Duration::ZERO);
        Entry {
            body: Arc::new(body),
            until: Instant::now() + left.min(max),
        }
    }
}

struct Lifetime;

impl Expiry<Key, Entry> for Lifetime {
    fn expire_after_create(
        &self,
        _key: &Key,
        value: &Entry,
        created_at: Instant,
    ) -> Option<Duration> {
        Some(value.until.saturating_duration_since(created_at))
    }
}

/// One thread's recently used tokens (its own copies) and its hit count, on a cache line of
/// its own.
#[repr(align(128))]
#[derive(Default)]
struct Local {
    entries: Mutex<HashMap<Key, Entry>>,
    hits: AtomicU64,
}

impl Local {
    fn get(&self, key: &Key, now: Instant) -> Option<Arc<CompactToken>> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(key)
            .filter(|e| e.until > now)
            .map(|e| e.body.clone())
    }

    fn insert(&self, key: Key, entry: Entry, now: Instant) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= LOCAL_CAPACITY && !entries.contains_key(&key) {
            entries.retain(|_, e| e.until > now);
            // still full: drop one, any (the map's order is random)
            if let Some(k) = (entries.len() >= LOCAL_CAPACITY)
                .then(|| entries.keys().next().copied())
                .flatten()
            {
                entries.remove(&k);
            }
        }
        entries.insert(key, entry);
    }

    fn remove(&self, key: &Key) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }
}

/// The cache of validated tokens.
pub struct TokenCache {
    valid: Option<(Cache<Key, Entry>, Duration)>,
    local: ThreadLocal<Local>,
    invalid: Option<Cache<Key, ()>>,
    stats: CacheStats,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache")
            .field("stats", &self.counters())
            .finish_non_exhaustive()
    }
}

impl TokenCache {
    /// A cache of at most `capacity` tokens, each kept at most `lifetime` (`None` disables
    /// caching), remembering invalid tokens for `negative` (`None`: not at all).
    pub fn new(capacity: u64, lifetime: Option<Duration>, negative: Option<Duration>) -> Self {
        TokenCache {
            valid: lifetime.map(|max| {
                let cache = Cache::builder()
                    .max_capacity(capacity)
                    .expire_after(Lifetime)
                    .build();
                (cache, max)
            }),
            local: ThreadLocal::new(),
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
        let local: u64 = self
            .local
            .iter()
            .map(|l| l.hits.load(Ordering::Relaxed))
            .sum();
        self.stats.snapshot(local)
    }

    /// How many valid tokens are cached (after pending maintenance).
    pub async fn len(&self) -> u64 {
        match &self.valid {
            Some((c, _)) => {
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

    /// The token's body if this thread holds it and it has not expired: no waiting and no
    /// memory shared with other threads. `None` says nothing about the token; ask
    /// [`TokenCache::get_or_validate`] then.
    ///
    /// The token is taken as the request carried it (a token that is not text is never cached).
    pub fn get_local(
        &self,
        token: impl AsRef<[u8]>,
        allow_expired: bool,
    ) -> Option<Arc<CompactToken>> {
        // a thread holds tokens only when the cache keeps any
        let local = self.local.get()?;
        let hit = local
            .get(&key(token.as_ref(), allow_expired), Instant::now())
            .filter(|body| usable(body, allow_expired))?;
        local.hits.fetch_add(1, Ordering::Relaxed);
        Some(hit)
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
        let key = key(token.as_bytes(), allow_expired);
        let checked = |body: Arc<CompactToken>| {
            if usable(&body, allow_expired) {
                Ok(body)
            } else {
                Err(Rejection::Invalid)
            }
        };
        let Some((cache, max)) = &self.valid else {
            if self.negative_hit(&key).await {
                return Err(Rejection::Invalid);
            }
            self.stats.misses.fetch_add(1, Ordering::Relaxed);
            self.stats.validations.fetch_add(1, Ordering::Relaxed);
            let result = validate()
                .await
                .map(|a| Arc::new(CompactToken::new(a.body())));
            return self.record(key, result).await.and_then(checked);
        };
        let now = Instant::now();
        let local = self.local.get_or_default();
        if let Some(hit) = local.get(&key, now) {
            local.hits.fetch_add(1, Ordering::Relaxed);
            let result = checked(hit);
            if result.is_err() {
                local.remove(&key);
                cache.invalidate(&key).await;
            }
            return result;
        }
        if self.negative_hit(&key).await {
            return Err(Rejection::Invalid);
        }
        if let Some(hit) = cache.get(&key).await
            && hit.until > now
        {
            self.stats.hits.fetch_add(1, Ordering::Relaxed);
            if checked(hit.body.clone()).is_err() {
                cache.invalidate(&key).await;
                return Err(Rejection::Invalid);
            }
            // this thread's own copy, so that its hits share nothing with other threads (the
            // thread, after the await, may not be the one `local` belongs to)
            let copy = Arc::new(hit.body.deep_copy());
            let entry = Entry {
                body: copy.clone(),
                until: hit.until,
            };
            self.local.get_or_default().insert(key, entry, now);
            return Ok(copy);
        }
        self.stats.misses.fetch_add(1, Ordering::Relaxed);
        let ran = AtomicBool::new(false);
        let result = cache
            .try_get_with(key, async {
                ran.store(true, Ordering::Relaxed);
                self.stats.validations.fetch_add(1, Ordering::Relaxed);
                validate()
                    .await
                    .map(|a| Entry::new(CompactToken::new(a.body()), *max))
            })
            .await;
        if !ran.load(Ordering::Relaxed) {
            self.stats.coalesced.fetch_add(1, Ordering::Relaxed);
        }
        let result = result.map_err(|e| (*e).clone());
        if ran.load(Ordering::Relaxed) {
            self.record_error(key, &result).await;
        }
        let entry = result?;
        if entry.until > Instant::now() {
            self.local.get_or_default().insert(key, entry.clone(), now);
        }
        checked(entry.body)
    }

    /// Whether Keystone called this token invalid a short while ago (counted).
    async fn negative_hit(&self, key: &Key) -> bool {
        let Some(neg) = &self.invalid else {
            return false;
        };
        let hit = neg.get(key).await.is_some();
        if hit {
            self.stats.negative_hits.fetch_add(1, Ordering::Relaxed);
        }
        hit
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

#[cfg(test)]
mod tests {
    use super::*;
    use keystone_types::Secret;
    use keystone_types::token::{Token, TokenResponse};

    /// A recorded member token body, expiring `ttl` from now.
    fn body(ttl: chrono::Duration) -> Token {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/exchanges/037_validate_nocatalog.json");
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let mut t = serde_json::from_value::<TokenResponse>(v["response"]["body"].clone())
            .unwrap()
            .token;
        t.expires_at = keystone_types::Timestamp(chrono::Utc::now() + ttl);
        t
    }

    async fn fetch(cache: &TokenCache, token: &str, ttl: chrono::Duration) -> Arc<CompactToken> {
        let t = body(ttl);
        cache
            .get_or_validate(token, false, || async move {
                Ok(AccessInfo::new(Secret::new("x"), t))
            })
            .await
            .unwrap()
    }

    fn local_len(cache: &TokenCache) -> usize {
        cache
            .local
            .get()
            .map_or(0, |l| l.entries.lock().unwrap().len())
    }

    #[tokio::test]
    async fn each_thread_serves_hits_from_its_own_copy() {
        let cache = Arc::new(TokenCache::new(100, Some(Duration::from_secs(300)), None));
        let first = fetch(&cache, "tok", chrono::Duration::hours(1)).await;
        // the validating thread keeps the validated body itself
        let here = cache.get_local("tok", false).unwrap();
        assert!(Arc::ptr_eq(&first, &here));
        assert!(cache.get_local("other", false).is_none());
        assert!(
            cache.get_local("tok", true).is_none(),
            "allow_expired is another key"
        );

        let c = cache.clone();
        let (elsewhere, before, after) = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            let before = c.get_local("tok", false).is_some();
            // a shared hit, copied for this thread: no new validation
            let shared = rt.block_on(fetch(&c, "tok", chrono::Duration::hours(1)));
            let after = c.get_local("tok", false).unwrap();
            assert!(Arc::ptr_eq(&shared, &after));
            (after, before, c.counters())
        })
        .join()
        .unwrap();
        assert!(!before, "another thread starts without the token");
        assert_eq!(after.validations, 1);
        assert_eq!(after.misses, 1);
        assert_eq!(
            after.hits, 3,
            "one local hit here, one shared and one local there"
        );
        assert!(!Arc::ptr_eq(&first, &elsewhere));
        assert_eq!(*first, *elsewhere, "the same body");
        let (a, b) = (
            first.field(crate::compact::Field::UserId).unwrap(),
            elsewhere.field(crate::compact::Field::UserId).unwrap(),
        );
        assert_ne!(a.as_ptr(), b.as_ptr(), "in a buffer of its own");
    }

    #[tokio::test]
    async fn a_thread_keeps_a_bounded_number_of_tokens() {
        let cache = TokenCache::new(1000, Some(Duration::from_secs(300)), None);
        for i in 0..LOCAL_CAPACITY * 2 {
            fetch(&cache, &format!("tok{i}"), chrono::Duration::hours(1)).await;
            assert!(local_len(&cache) <= LOCAL_CAPACITY);
        }
        assert_eq!(local_len(&cache), LOCAL_CAPACITY);
        assert_eq!(cache.len().await, (LOCAL_CAPACITY * 2) as u64);
        // the newest is always kept
        let newest = format!("tok{}", LOCAL_CAPACITY * 2 - 1);
        assert!(cache.get_local(&newest, false).is_some());
    }

    #[tokio::test]
    async fn a_thread_drops_a_token_when_it_expires() {
        let cache = TokenCache::new(100, Some(Duration::from_secs(300)), None);
        fetch(&cache, "short", chrono::Duration::milliseconds(300)).await;
        assert!(cache.get_local("short", false).is_some());
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert!(cache.get_local("short", false).is_none());
        // asking again validates again
        fetch(&cache, "short", chrono::Duration::hours(1)).await;
        assert_eq!(cache.counters().validations, 2);
    }

    #[tokio::test]
    async fn without_a_lifetime_nothing_is_kept() {
        let cache = TokenCache::new(100, None, None);
        fetch(&cache, "tok", chrono::Duration::hours(1)).await;
        fetch(&cache, "tok", chrono::Duration::hours(1)).await;
        assert!(cache.get_local("tok", false).is_none());
        assert_eq!(cache.counters().validations, 2);
        assert_eq!(local_len(&cache), 0);
    }
}
