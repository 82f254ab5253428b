//! The token cache: bounded, keyed by a SHA-256 of the token, holding token bodies only, each
//! entry living `min(token_cache_time, expires_at - now)`, expiry re-checked on every hit, and
//! concurrent requests with the same uncached token sharing one validation call.
//!
//! Two levels: the shared cache (moka: bounded, coalescing), and in front of it a small
//! per-thread map of recently used tokens holding that thread's own copies (and the identity
//! headers built from them, once). A hit in the per-thread map takes no lock and writes no
//! memory that another thread writes (no shared reference count, no shared recency record, no
//! shared counter), so a token used by many requests at once costs no contention between
//! cores. A per-thread entry carries its shared entry's deadline, so it never lives longer
//! than the shared entry would (only, when the shared cache is full, longer than the shared
//! entry's eviction). That deadline is never later than the token's expiry, so checking it on
//! a hit re-checks the expiry.
//!
//! **Architecture invariant:** the token cache never holds a token, only its SHA-256, and never
//! writes one to memcached (keys are the SHA-256 or an HMAC of it). Tokens, passwords and
//! secrets (`memcache_secret_key` among them) never reach logs or `Debug` output.

use std::cell::{Cell, OnceCell, RefCell};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::compact::CompactToken;
use crate::headers::UserHeaders;
use crate::revocation::{Revocations, TokenFacts};
use crate::shared_cache::{Lookup, SharedCache};
use hashbrown::HashTable;
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
    /// Too many validations in flight: not asked, answered 503 at once.
    Overloaded,
    /// Keystone rejected the service's own credentials or its permission to validate: a
    /// configuration mistake, answered 503.
    CredentialsRejected,
    /// This client had too many unknown tokens validated lately: not asked, answered 429.
    RateLimited,
}

/// Cache counters.
#[derive(Debug)]
pub(crate) struct CacheStats {
    /// How long Keystone took to answer validations.
    pub(crate) validation_latency: prometheus_client::metrics::histogram::Histogram,
    /// Hits in the shared cache; hits in the per-thread maps are counted there.
    hits: AtomicU64,
    misses: AtomicU64,
    coalesced: AtomicU64,
    validations: AtomicU64,
    keystone_errors: AtomicU64,
    negative_hits: AtomicU64,
    overloaded: AtomicU64,
    rate_limited: AtomicU64,
    credentials_rejected: AtomicU64,
}

/// A snapshot of the counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
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
    /// Requests answered 503 without asking Keystone: too many validations in flight.
    pub overloaded: u64,
    /// Requests answered 429 without asking Keystone: their client had too many unknown
    /// tokens validated lately.
    pub rate_limited: u64,
    /// Requests answered 503 because Keystone rejected the service's own credentials or its
    /// permission to validate tokens (a configuration mistake, not an outage).
    pub credentials_rejected: u64,
    /// Tokens found in the shared (memcached) tier, validated by another replica.
    pub shared_hits: u64,
    /// Tokens looked up in the shared tier and not found there (bad entries included).
    pub shared_misses: u64,
    /// Shared-tier operations that failed: a server unreachable, slow or refusing; each is a
    /// miss, and the request goes on to Keystone.
    pub shared_errors: u64,
    /// Shared-tier entries refused: a MAC that does not match (another secret key or
    /// strategy, or tampering), a value that does not decrypt or does not parse.
    pub shared_bad_entries: u64,
    /// Shared-tier entries that were the `"invalid"` marker older keystonemiddleware
    /// releases wrote for tokens Keystone rejected (counted in `shared_misses` too; with
    /// `negative_cache_time`, answered 401 and counted in `negative_hits`).
    pub shared_invalid_markers: u64,
    /// Reads of Keystone's revocation events (`revocation_check_interval`).
    pub revocation_polls: u64,
    /// Reads of the revocation events that failed (cached tokens served as before).
    pub revocation_poll_errors: u64,
    /// Revocation events received and held (each once).
    pub revocation_events: u64,
    /// Cached tokens evicted because a revocation event covers them.
    pub revocation_evictions: u64,
}

impl Default for CacheStats {
    fn default() -> Self {
        CacheStats {
            validation_latency: crate::metrics::validation_histogram(),
            hits: AtomicU64::default(),
            misses: AtomicU64::default(),
            coalesced: AtomicU64::default(),
            validations: AtomicU64::default(),
            keystone_errors: AtomicU64::default(),
            negative_hits: AtomicU64::default(),
            overloaded: AtomicU64::default(),
            rate_limited: AtomicU64::default(),
            credentials_rejected: AtomicU64::default(),
        }
    }
}

impl CacheStats {
    /// The current counts, with `local_hits` more hits and the shared tier's.
    fn snapshot(
        &self,
        local_hits: u64,
        shared: Option<&SharedCache>,
        revoked: &Revocations,
    ) -> CacheCounters {
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let s = |f: fn(&SharedCache) -> &AtomicU64| shared.map(|c| l(f(c))).unwrap_or(0);
        CacheCounters {
            shared_hits: s(|c| &c.stats.hits),
            shared_misses: s(|c| &c.stats.misses),
            shared_errors: s(|c| &c.stats.errors),
            shared_bad_entries: s(|c| &c.stats.bad_entries),
            shared_invalid_markers: s(|c| &c.stats.invalid_markers),
            hits: l(&self.hits) + local_hits,
            misses: l(&self.misses),
            coalesced: l(&self.coalesced),
            validations: l(&self.validations),
            keystone_errors: l(&self.keystone_errors),
            negative_hits: l(&self.negative_hits),
            overloaded: l(&self.overloaded),
            rate_limited: l(&self.rate_limited),
            credentials_rejected: l(&self.credentials_rejected),
            revocation_polls: l(&revoked.stats.polls),
            revocation_poll_errors: l(&revoked.stats.poll_errors),
            revocation_events: l(&revoked.stats.events_applied),
            revocation_evictions: l(&revoked.stats.evicted),
        }
    }
}

/// A cached token body and when its entry ends: `min(token_cache_time, expires_at - now)`
/// after validation; what revocation events are compared with, and the generation of events
/// its validation began at (Keystone knew those).
#[derive(Clone)]
struct Entry {
    body: Arc<CompactToken>,
    until: Instant,
    facts: Arc<TokenFacts>,
    generation: u64,
}

impl Entry {
    fn new(token: &keystone_types::token::Token, max: Duration, generation: u64) -> Self {
        let body = CompactToken::new(token);
        let left = (body.expires_at() - chrono::Utc::now())
            .to_std()
            .unwrap_or(Duration::ZERO);
        Entry {
            body: Arc::new(body),
            until: Instant::now() + left.min(max),
            facts: Arc::new(TokenFacts::new(token)),
            generation,
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

/// A token a thread holds: its own copy of the body, its deadline, and the user headers built
/// from it the first time a request needs them.
struct LocalEntry {
    key: Key,
    body: Arc<CompactToken>,
    until: Instant,
    headers: OnceCell<UserHeaders>,
    facts: Arc<TokenFacts>,
    /// The generation of revocation events the entry was last checked at.
    checked: Cell<u64>,
}

/// A hit in this thread's map.
pub(crate) struct LocalHit<'a> {
    entry: &'a LocalEntry,
}

impl LocalHit<'_> {
    /// The token's body.
    pub(crate) fn body(&self) -> &Arc<CompactToken> {
        &self.entry.body
    }

    /// The user headers for this token, built on the first call.
    pub(crate) fn headers(&self, include_catalog: bool) -> &UserHeaders {
        self.entry
            .headers
            .get_or_init(|| UserHeaders::new(&self.entry.body, include_catalog))
    }
}

/// Where in the map a key goes: its first bytes (the key is already a SHA-256).
fn slot(key: &Key) -> u64 {
    let mut first = [0u8; 8];
    first.copy_from_slice(&key.0[..8]);
    u64::from_le_bytes(first) ^ u64::from(key.1)
}

/// One thread's recently used tokens, its own copies. Only its thread ever reaches it; on a
/// cache line of its own, since a lookup writes the `RefCell`'s flag and `ThreadLocal` keeps
/// the threads' values side by side.
#[repr(align(128))]
#[derive(Default)]
struct Local {
    entries: RefCell<HashTable<LocalEntry>>,
}

impl Local {
    /// Calls `f` with the entry for `key` if it is still live at `now` and no revocation
    /// event that arrived since it was last checked covers it (an entry an event covers is
    /// dropped). While no event arrives, the check is one atomic load.
    fn with<R>(
        &self,
        key: &Key,
        now: Instant,
        revoked: &Revocations,
        f: impl FnOnce(LocalHit<'_>) -> R,
    ) -> Option<R> {
        let entries = self.entries.borrow();
        let entry = entries
            .find(slot(key), |e| e.key == *key)
            .filter(|e| e.until > now)?;
        let generation = revoked.generation();
        if entry.checked.get() != generation {
            if revoked.covers(&entry.facts, entry.checked.get()) {
                drop(entries);
                self.remove(key);
                return None;
            }
            entry.checked.set(generation);
        }
        Some(f(LocalHit { entry }))
    }

    fn get(&self, key: &Key, now: Instant, revoked: &Revocations) -> Option<Arc<CompactToken>> {
        self.with(key, now, revoked, |hit| hit.body().clone())
    }

    /// Keeps `entry`, checked against the revocation events up to `checked`.
    fn insert(&self, key: Key, entry: Entry, checked: u64, now: Instant) {
        let mut entries = self.entries.borrow_mut();
        let entry = LocalEntry {
            key,
            body: entry.body,
            until: entry.until,
            headers: OnceCell::new(),
            facts: entry.facts,
            checked: Cell::new(checked),
        };
        if let Ok(old) = entries.find_entry(slot(&key), |e| e.key == key) {
            old.remove();
        } else if entries.len() >= LOCAL_CAPACITY {
            entries.retain(|e| e.until > now);
            // still full: drop one, any (the map's order is random)
            if entries.len() >= LOCAL_CAPACITY
                && let Some(k) = entries.iter().next().map(|e| e.key)
                && let Ok(e) = entries.find_entry(slot(&k), |e| e.key == k)
            {
                e.remove();
            }
        }
        entries.insert_unique(slot(&key), entry, |e| slot(&e.key));
    }

    fn remove(&self, key: &Key) {
        if let Ok(e) = self
            .entries
            .borrow_mut()
            .find_entry(slot(key), |e| e.key == *key)
        {
            e.remove();
        }
    }
}

/// One thread's hit count: written by that thread only, read by [`TokenCache::counters`].
#[repr(align(128))]
#[derive(Default)]
struct LocalHits(AtomicU64);

impl LocalHits {
    /// One more hit, with no read-modify-write instruction (this thread is the only writer).
    fn add(&self) {
        self.0
            .store(self.0.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    }
}

/// The cache of validated tokens.
pub struct TokenCache {
    valid: Option<(Cache<Key, Entry>, Duration)>,
    local: ThreadLocal<Local>,
    local_hits: ThreadLocal<LocalHits>,
    invalid: Option<Cache<Key, ()>>,
    /// The memcached tier, between this process's tiers and Keystone.
    shared: Option<SharedCache>,
    /// The revocation events that evict tokens from every tier.
    pub(crate) revoked: Revocations,
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
            local_hits: ThreadLocal::new(),
            invalid: negative.map(|ttl| {
                Cache::builder()
                    .max_capacity(capacity)
                    .time_to_live(ttl)
                    .build()
            }),
            shared: None,
            revoked: Revocations::default(),
            stats: CacheStats::default(),
        }
    }

    /// This cache with a shared tier.
    pub(crate) fn with_shared(mut self, shared: Option<SharedCache>) -> Self {
        self.shared = shared;
        self
    }

    /// The shared tier's servers, and how many are skipped as dead now; `None` without one.
    pub(crate) fn shared_servers(&self) -> Option<(usize, usize)> {
        self.shared.as_ref().map(SharedCache::servers)
    }

    /// The counters.
    pub fn counters(&self) -> CacheCounters {
        let local: u64 = self
            .local_hits
            .iter()
            .map(|l| l.0.load(Ordering::Relaxed))
            .sum();
        self.stats
            .snapshot(local, self.shared.as_ref(), &self.revoked)
    }

    /// The histogram of Keystone's validation latency.
    pub(crate) fn validation_latency(&self) -> &prometheus_client::metrics::histogram::Histogram {
        &self.stats.validation_latency
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
        self.with_local(token.as_ref(), allow_expired, |hit| {
            Some(hit.body().clone())
        })
    }

    /// Calls `f` with the token's entry if this thread holds it and it has not expired (the
    /// entry's deadline is never later than the token's expiry); a hit when `f` takes it
    /// (returns `Some`).
    pub(crate) fn with_local<R>(
        &self,
        token: &[u8],
        allow_expired: bool,
        f: impl FnOnce(LocalHit<'_>) -> Option<R>,
    ) -> Option<R> {
        // a thread holds tokens only when the cache keeps any
        let local = self.local.get()?;
        let r = local.with(&key(token, allow_expired), Instant::now(), &self.revoked, f)??;
        self.local_hits.get_or_default().add();
        Some(r)
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
            let result = self
                .counted(validate())
                .await
                .map(|a| Arc::new(CompactToken::new(a.body())));
            // nothing is cached, so there is nothing for revocation events to evict
            return self.record(key, result).await.and_then(checked);
        };
        let now = Instant::now();
        let local = self.local.get_or_default();
        if let Some(hit) = local.get(&key, now, &self.revoked) {
            self.local_hits.get_or_default().add();
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
        let generation = self.revoked.generation();
        match cache.get(&key).await {
            Some(hit) if hit.until > now && self.revoked.covers(&hit.facts, hit.generation) => {
                // revoked since it was validated: validated again below
                cache.invalidate(&key).await;
            }
            Some(hit) if hit.until > now => {
                self.stats.hits.fetch_add(1, Ordering::Relaxed);
                if checked(hit.body.clone()).is_err() {
                    cache.invalidate(&key).await;
                    return Err(Rejection::Invalid);
                }
                // this thread's own copy, so that its hits share nothing with other threads
                // (the thread, after the await, may not be the one `local` belongs to)
                let copy = Arc::new(hit.body.deep_copy());
                let entry = Entry {
                    body: copy.clone(),
                    ..hit
                };
                self.local
                    .get_or_default()
                    .insert(key, entry, generation, now);
                return Ok(copy);
            }
            _ => {}
        }
        self.stats.misses.fetch_add(1, Ordering::Relaxed);
        let ran = AtomicBool::new(false);
        let result = cache
            .try_get_with(key, async {
                ran.store(true, Ordering::Relaxed);
                // the events Keystone knew when this validation began
                let generation = self.revoked.generation();
                // another replica's validation, unless an event covers it (whenever that
                // replica validated it, all events held are checked), then Keystone's
                // (written for the others)
                if let Some(shared) = &self.shared {
                    match shared.get(token).await {
                        Lookup::Body(body) => {
                            let entry = Entry::new(&body, *max, generation);
                            if !self.revoked.covers(&entry.facts, 0) {
                                return Ok(entry);
                            }
                            shared.delete(token).await;
                        }
                        // an older keystonemiddleware's "Keystone rejected it": taken as
                        // Keystone's answer only where invalid tokens are remembered
                        // (negative_cache_time), else a miss
                        Lookup::Invalid if self.invalid.is_some() => {
                            self.stats.negative_hits.fetch_add(1, Ordering::Relaxed);
                            return Err(Rejection::Invalid);
                        }
                        Lookup::Invalid | Lookup::Miss => {}
                    }
                }
                let access = self.counted(validate()).await?;
                if let Some(shared) = &self.shared {
                    shared.set(token, access.body()).await;
                }
                Ok::<_, Rejection>(Entry::new(access.body(), *max, generation))
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
            let checked = entry.generation;
            self.local
                .get_or_default()
                .insert(key, entry.clone(), checked, now);
        }
        checked(entry.body)
    }

    /// Evicts the entries of the in-process tier that a revocation event covers, and returns
    /// how many (the per-thread copies are dropped by their own thread, at their next hit).
    pub(crate) async fn evict_revoked(&self) -> u64 {
        let Some((cache, _)) = &self.valid else {
            return 0;
        };
        let mut evicted = 0;
        let covered: Vec<Arc<Key>> = cache
            .iter()
            .filter(|(_, e)| self.revoked.covers(&e.facts, e.generation))
            .map(|(k, _)| k)
            .collect();
        for key in covered {
            cache.invalidate(&*key).await;
            evicted += 1;
        }
        self.revoked
            .stats
            .evicted
            .fetch_add(evicted, Ordering::Relaxed);
        evicted
    }

    /// A validation's result, counted as a call to Keystone unless it was refused before
    /// asking (overloaded, rate limited).
    async fn counted<Fut>(&self, validation: Fut) -> Result<AccessInfo, Rejection>
    where
        Fut: Future<Output = Result<AccessInfo, Rejection>>,
    {
        let started = Instant::now();
        let result = validation.await;
        if !matches!(result, Err(Rejection::Overloaded | Rejection::RateLimited)) {
            self.stats.validations.fetch_add(1, Ordering::Relaxed);
            self.stats
                .validation_latency
                .observe(started.elapsed().as_secs_f64());
        }
        result
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
            Err(Rejection::Overloaded) => {
                self.stats.overloaded.fetch_add(1, Ordering::Relaxed);
            }
            Err(Rejection::RateLimited) => {
                self.stats.rate_limited.fetch_add(1, Ordering::Relaxed);
            }
            Err(Rejection::CredentialsRejected) => {
                self.stats
                    .credentials_rejected
                    .fetch_add(1, Ordering::Relaxed);
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
        cache.local.get().map_or(0, |l| l.entries.borrow().len())
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
    async fn a_thread_builds_a_tokens_headers_once() {
        let cache = TokenCache::new(100, Some(Duration::from_secs(300)), None);
        fetch(&cache, "tok", chrono::Duration::hours(1)).await;
        let built = |cache: &TokenCache| {
            cache
                .with_local(b"tok", false, |hit| {
                    Some(std::ptr::from_ref(hit.headers(false)) as usize)
                })
                .unwrap()
        };
        assert_eq!(built(&cache), built(&cache));
        assert_eq!(cache.counters().hits, 2);
        assert!(cache.with_local(b"other", false, |_| Some(())).is_none());
        // an entry the caller does not take is no hit
        assert!(cache.with_local(b"tok", false, |_| None::<()>).is_none());
        assert_eq!(cache.counters().hits, 2);
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
