//! The shared token cache tier on memcached, in keystonemiddleware 13.0.1's format, so that a
//! token any replica validated (ours or keystonemiddleware's) is a hit for all of them.
//!
//! An entry is `{"token": <Keystone's token body>}` as JSON, under the key and protection of
//! `memcache_security_strategy` (`crypt`), on the server python-memcached would pick
//! (`servers`), written with memcached flags 0 and an expiry of `token_cache_time`, never past
//! the token's own. We never write the token string (keystonemiddleware adds it as
//! `auth_token`, and reads entries without it). A value that fails its MAC, does not decrypt or
//! does not parse is a miss, counted and logged; a dead or slow server is a miss too. The
//! JSON string `"invalid"`, which keystonemiddleware 4.x wrote for a token Keystone rejected,
//! is told apart ([`Lookup::Invalid`]): the cache decides what it means.

mod crypt;
mod servers;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use keystone_client::ConfigError;
use keystone_types::token::{Token, TokenResponse};
use memcache_async::ascii::Protocol;
use tokio::net::TcpStream;

use self::crypt::Protection;
use self::servers::{NoConnection, PoolLimits, Server};
use crate::config::AuthTokenConfig;

/// keystonemiddleware's `_INVALID_INDICATOR`, stored JSON-encoded.
const INVALID_MARKER: &str = "invalid";

/// memcached's default largest item; larger values are not written.
const MAX_VALUE: usize = 1024 * 1024;

/// The shared tier's counters.
#[derive(Debug, Default)]
pub(crate) struct SharedStats {
    pub(crate) hits: AtomicU64,
    pub(crate) misses: AtomicU64,
    pub(crate) errors: AtomicU64,
    pub(crate) bad_entries: AtomicU64,
    /// Reads of keystonemiddleware's `"invalid"` marker (counted as misses too).
    pub(crate) invalid_markers: AtomicU64,
}

/// What [`SharedCache::get`] found.
#[derive(Debug)]
pub(crate) enum Lookup {
    /// A token body another replica validated.
    Body(Box<Token>),
    /// The marker keystonemiddleware before 4.17 wrote for a token Keystone rejected
    /// (`TokenCache.store_invalid`).
    Invalid,
    /// Nothing usable: not there, a failure, or a value refused.
    Miss,
}

/// A stored value, parsed.
#[derive(Debug)]
enum Stored {
    Body(Box<Token>),
    Invalid,
}

/// The memcached tier.
#[derive(Debug)]
pub(crate) struct SharedCache {
    servers: Vec<Server>,
    protection: Protection,
    /// `token_cache_time`, the entries' longest life.
    lifetime: Duration,
    /// `memcache_pool_socket_timeout`.
    socket_timeout: Duration,
    pub(crate) stats: SharedStats,
}

impl SharedCache {
    /// The tier `config` asks for: none without `memcached_servers`, or when the cache is off
    /// (`token_cache_time` < 0).
    pub(crate) fn from_config(config: &AuthTokenConfig) -> Result<Option<Self>, ConfigError> {
        let protection = Protection::new(
            config.memcache_security_strategy.as_deref(),
            config.memcache_secret_key.as_ref(),
        )
        .map_err(|reason| {
            invalid(
                "memcache_security_strategy",
                config
                    .memcache_security_strategy
                    .as_deref()
                    .unwrap_or_default(),
                reason,
            )
        })?;
        if config.memcached_servers.is_empty() || config.token_cache_time < 0 {
            return Ok(None);
        }
        for (option, on) in [
            ("memcache_tls_enabled", config.memcache_tls_enabled),
            ("memcache_sasl_enabled", config.memcache_sasl_enabled),
        ] {
            if on {
                return Err(invalid(
                    option,
                    "true",
                    "memcached over TLS or SASL is not supported (plain TCP only)".into(),
                ));
            }
        }
        let limits = PoolLimits {
            socket_timeout: secs(config.memcache_pool_socket_timeout),
            maxsize: usize::try_from(config.memcache_pool_maxsize.max(1)).unwrap_or(usize::MAX),
            conn_get_timeout: secs(config.memcache_pool_conn_get_timeout),
            dead_retry: secs(config.memcache_pool_dead_retry),
            unused_timeout: secs(config.memcache_pool_unused_timeout),
        };
        let servers = config
            .memcached_servers
            .iter()
            .map(|s| servers::parse_server(s).map(|addr| Server::new(addr, limits)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|reason| {
                invalid(
                    "memcached_servers",
                    &config.memcached_servers.join(","),
                    reason,
                )
            })?;
        let lifetime = match config.token_cache_time {
            // as keystonemiddleware: 0 keeps entries as long as their tokens live
            0 => Duration::MAX,
            t => Duration::from_secs(t.unsigned_abs()),
        };
        Ok(Some(SharedCache {
            servers,
            protection,
            lifetime,
            socket_timeout: limits.socket_timeout,
            stats: SharedStats::default(),
        }))
    }

    /// The entries' longest life (`token_cache_time`).
    pub(crate) fn lifetime(&self) -> Duration {
        self.lifetime
    }

    /// How many servers are configured, and how many are skipped as dead now.
    pub(crate) fn servers(&self) -> (usize, usize) {
        let dead = self.servers.iter().filter(|s| s.is_dead()).count();
        (self.servers.len(), dead)
    }

    /// What another replica stored for `token` (counted: hit, invalid marker, miss, error, bad
    /// entry).
    pub(crate) async fn get(&self, token: &str) -> Lookup {
        let keys = self.protection.keys(token.as_bytes());
        let value = self.fetch(&keys.key).await;
        let Some(value) = value else {
            self.stats.misses.fetch_add(1, Ordering::Relaxed);
            return Lookup::Miss;
        };
        let parsed = self
            .protection
            .unprotect(&keys, value)
            .map_err(|e| format!("{e:?}"))
            .and_then(|plain| parse(&plain));
        match parsed {
            Ok(Stored::Body(body)) => {
                self.stats.hits.fetch_add(1, Ordering::Relaxed);
                Lookup::Body(body)
            }
            Ok(Stored::Invalid) => {
                self.stats.invalid_markers.fetch_add(1, Ordering::Relaxed);
                self.stats.misses.fetch_add(1, Ordering::Relaxed);
                Lookup::Invalid
            }
            Err(why) => {
                self.stats.bad_entries.fetch_add(1, Ordering::Relaxed);
                self.stats.misses.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    strategy = ?self.protection,
                    why,
                    "a memcached entry was refused (another memcache_secret_key or strategy, \
                     or tampered with): validating with Keystone"
                );
                Lookup::Miss
            }
        }
    }

    /// The raw value under `key`; `None` for a miss or any failure (counted as an error).
    async fn fetch(&self, key: &str) -> Option<Vec<u8>> {
        match self.on_server(key, Op::Get).await {
            Some(v) => v,
            None => {
                self.stats.errors.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    /// Runs `op` on `key`'s server as python-memcached chooses it: dead servers skipped by
    /// rehashing, a server that cannot be connected to marked dead and the next one tried, an
    /// idle connection the server had closed replaced once. `None` when no server answered;
    /// the whole costs at most twice `memcache_pool_socket_timeout`.
    async fn on_server(&self, key: &str, op: Op<'_>) -> Option<Option<Vec<u8>>> {
        let budget = self.socket_timeout.saturating_mul(2);
        let attempt = async {
            for i in servers::candidates(key.as_bytes(), self.servers.len()) {
                let server = &self.servers[i];
                if server.is_dead() {
                    continue;
                }
                let mut fresh = false;
                loop {
                    let mut conn = match server.connection(fresh).await {
                        Ok(c) => c,
                        Err(NoConnection::Busy) => return None,
                        Err(NoConnection::Unreachable) => break,
                    };
                    let reused = conn.reused;
                    let exchange = op.run(key, conn.protocol());
                    match tokio::time::timeout(self.socket_timeout, exchange).await {
                        Ok(Ok(v)) => {
                            conn.release();
                            return Some(v);
                        }
                        // an idle connection the server closed: once more on a new one
                        Ok(Err(_)) if reused && !fresh => {
                            server.clear_idle();
                            fresh = true;
                        }
                        Ok(Err(e)) => {
                            tracing::warn!(server = %server.addr, error = %e, "memcached failed");
                            server.mark_dead();
                            return None;
                        }
                        Err(_) => {
                            tracing::warn!(server = %server.addr, "memcached did not answer in time");
                            server.mark_dead();
                            return None;
                        }
                    }
                }
            }
            None
        };
        tokio::time::timeout(budget, attempt).await.ok().flatten()
    }

    /// Stores a validated token's body for the other replicas, for `token_cache_time` and
    /// never past the token's expiry. A failure is counted and logged, never the caller's.
    pub(crate) async fn set(&self, token: &str, body: &Token) {
        let left = (body.expires_at.0 - chrono::Utc::now())
            .num_seconds()
            .max(0)
            .unsigned_abs();
        let ttl = self.lifetime.as_secs().min(left);
        if ttl == 0 {
            return;
        }
        let Ok(plain) = serde_json::to_vec(&TokenResponse {
            token: body.clone(),
        }) else {
            return;
        };
        let keys = self.protection.keys(token.as_bytes());
        let value = self.protection.protect(&keys, &plain);
        if value.len() > MAX_VALUE {
            return;
        }
        // memcached takes up to 30 days as relative seconds
        let ttl = u32::try_from(ttl.min(30 * 24 * 3600)).unwrap_or(30 * 24 * 3600);
        let key = keys.key.as_str();
        let op = Op::Set { value: &value, ttl };
        if self.on_server(key, op).await.is_none() {
            self.stats.errors.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl SharedCache {
    /// Deletes a token's entry (one a revocation event covers), so that no replica, ours or
    /// keystonemiddleware's, reads it again. A failure is counted and logged, never the
    /// caller's.
    pub(crate) async fn delete(&self, token: &str) {
        let keys = self.protection.keys(token.as_bytes());
        if self.on_server(&keys.key, Op::Delete).await.is_none() {
            self.stats.errors.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// What [`SharedCache::on_server`] does on the server.
#[derive(Clone, Copy)]
enum Op<'a> {
    Get,
    Set { value: &'a [u8], ttl: u32 },
    Delete,
}

impl Op<'_> {
    /// One complete exchange: `Some(value)` of a get, `None` for a miss or after a set.
    async fn run(self, key: &str, p: &mut Protocol<TcpStream>) -> std::io::Result<Option<Vec<u8>>> {
        match self {
            Op::Get => {
                // get_multi reads the reply's own key: a value for another key is not this one
                let mut values = p.get_multi(&[key]).await?;
                Ok(values.remove(key))
            }
            Op::Set { value, ttl } => {
                p.set(key, value, ttl).await?;
                // the set is sent without a reply; a round trip on the same connection says it
                // was applied (so that the next replica's get sees it) and leaves no reply
                // unread
                p.version().await?;
                Ok(None)
            }
            Op::Delete => {
                // sent without a reply, like a set: the round trip says it was applied
                p.delete(key).await?;
                p.version().await?;
                Ok(None)
            }
        }
    }
}

/// A `[keystone_authtoken]` option whose value cannot be used.
fn invalid(option: &str, value: &str, reason: String) -> ConfigError {
    ConfigError::Invalid {
        key: format!("[keystone_authtoken] {option}"),
        value: value.to_owned(),
        reason,
    }
}

/// Seconds as a duration, at least one, at most a year (so that deadlines never overflow).
fn secs(s: u64) -> Duration {
    Duration::from_secs(s.clamp(1, 365 * 24 * 3600))
}

/// The token body in a stored value: `{"token": {...}}`, or keystonemiddleware's older
/// `[data, expiry]`; or the JSON string `"invalid"` its `store_invalid` wrote (4.x before
/// 4.17, under the same key and protection as a body).
fn parse(plain: &[u8]) -> Result<Stored, String> {
    let mut v: serde_json::Value = serde_json::from_slice(plain).map_err(|e| e.to_string())?;
    if v.as_str() == Some(INVALID_MARKER) {
        return Ok(Stored::Invalid);
    }
    if let serde_json::Value::Array(items) = &mut v
        && items.len() == 2
    {
        v = items.swap_remove(0);
    }
    serde_json::from_value::<TokenResponse>(v)
        .map(|r| Stored::Body(Box::new(r.token)))
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use keystone_types::Secret;

    const TOKEN: &str = "gAAAAABtest-token-1";

    /// keystonemiddleware 4.x's `store_invalid` wrote `jsonutils.dumps("invalid")` through
    /// the strategy's `protect_data`; these values are what its `_memcache_crypt` makes of it
    /// (13.0.1's, unchanged since).
    #[test]
    fn the_invalid_marker_keystonemiddleware_wrote_is_read_as_such_in_every_strategy() {
        for (strategy, written) in [
            ("None", r#""invalid""#),
            (
                "MAC",
                "Feq41S+bYxVqXPSe1rtfvko30oBIL+/LVzBDBB7d+GWzrzM1tmFaiZdfzKZBAdVOImludmFsaWQi",
            ),
            (
                "ENCRYPT",
                "FOv0oYWJj7csC8Z+XoMktgORv1JLfyHiq9Af24Npc+q4R6NU5vWP7j1VY0/VSNZo/Ah/l2C7qdFfs3tpiKJG8D/XDkkUw59TTwGXO9lLbgA=",
            ),
        ] {
            let p = Protection::new(Some(strategy), Some(&Secret::new("s3cret"))).unwrap();
            let plain = p
                .unprotect(&p.keys(TOKEN.as_bytes()), written.as_bytes().to_vec())
                .unwrap();
            assert!(
                matches!(parse(&plain), Ok(Stored::Invalid)),
                "{strategy}: {plain:?}"
            );
        }
    }

    #[test]
    fn stored_values_parse_as_keystonemiddleware_reads_them() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/exchanges/037_validate_nocatalog.json");
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let body = v["response"]["body"].to_string();
        for ok in [body.clone(), format!("[{body}, 4070908800]")] {
            assert!(matches!(parse(ok.as_bytes()), Ok(Stored::Body(_))), "{ok}");
        }
        // not the marker: the bare word is not JSON, and other strings are not bodies
        for bad in ["invalid", r#""Invalid""#, r#""valid""#, "{}", "[]"] {
            assert!(parse(bad.as_bytes()).is_err(), "{bad}");
        }
    }
}
