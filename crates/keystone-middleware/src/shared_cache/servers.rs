//! The memcached servers as python-memcached (the client keystonemiddleware 13.0.1 uses) picks
//! and treats them, so that every replica, Rust or Python, puts a token on the same server:
//!
//! - a key goes to `servers[h % n]`, `h = (crc32(key) >> 16) & 0x7fff`, in configuration
//!   order, every server weight 1;
//! - a server that is dead is skipped by rehashing, `h = hash(str(h) + str(i))` for the `i`th
//!   try, ten tries at most (then the key has no server: a miss, and nothing is written);
//! - a server is dead for `memcache_pool_dead_retry` seconds after a connection to it failed or
//!   an operation on it failed.
//!
//! Each server keeps at most `memcache_pool_maxsize` connections (memcache-async's text
//! protocol on each); waiting for one takes at most `memcache_pool_conn_get_timeout` and never
//! more than `memcache_pool_socket_timeout` (keystonemiddleware waits the whole
//! `conn_get_timeout`; here the tier never holds a request longer than its deadline), and
//! connecting or any exchange at most `memcache_pool_socket_timeout`. Idle connections older
//! than `memcache_pool_unused_timeout` are closed.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use memcache_async::ascii::Protocol;
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// python-memcached's `_SERVER_RETRIES`.
const SERVER_RETRIES: u32 = 10;

/// python-memcached's `cmemcache_hash`.
pub(crate) fn hash(key: &[u8]) -> u32 {
    (crc32fast::hash(key) >> 16) & 0x7fff
}

/// The servers `key` tries, in order: the first, then each rehash (ten in all).
pub(crate) fn candidates(key: &[u8], n: usize) -> impl Iterator<Item = usize> {
    let mut h = hash(key);
    (0..SERVER_RETRIES).map(move |i| {
        let s = h as usize % n.max(1);
        h = hash(format!("{h}{i}").as_bytes());
        s
    })
}

/// `host:port` (11211 when the port is left out) or `inet6:[addr]:port`, as python-memcached
/// reads `memcached_servers`.
pub(crate) fn parse_server(s: &str) -> Result<String, String> {
    let s = s.trim();
    let s = s.strip_prefix("inet:").unwrap_or(s);
    if let Some(v6) = s.strip_prefix("inet6:") {
        let (addr, port) = match v6.rsplit_once("]:") {
            Some((a, p)) => (a.trim_start_matches('['), p),
            None => (v6.trim_start_matches('[').trim_end_matches(']'), "11211"),
        };
        let port: u16 = port.parse().map_err(|_| format!("{s}: bad port"))?;
        return Ok(format!("[{addr}]:{port}"));
    }
    if s.starts_with("unix:") {
        return Err(format!(
            "{s}: unix sockets are not supported; use host:port"
        ));
    }
    let (host, port) = match s.rsplit_once(':') {
        Some((h, p)) => (h, p.parse::<u16>().map_err(|_| format!("{s}: bad port"))?),
        None => (s, 11211),
    };
    if host.is_empty() {
        return Err(format!("{s:?}: no host"));
    }
    Ok(format!("{host}:{port}"))
}

/// The pool's limits (`memcache_pool_*`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct PoolLimits {
    pub(crate) socket_timeout: Duration,
    pub(crate) maxsize: usize,
    pub(crate) conn_get_timeout: Duration,
    pub(crate) dead_retry: Duration,
    pub(crate) unused_timeout: Duration,
}

/// A connection taken from a server's pool. Dropped, it is closed: only [`Connection::release`]
/// after a complete exchange puts it back, so that a cancelled or failed operation never
/// leaves a reply unread on a pooled connection.
pub(crate) struct Connection<'a> {
    server: &'a Server,
    protocol: Protocol<TcpStream>,
    /// It was idle in the pool (and may have been closed by the server meanwhile).
    pub(crate) reused: bool,
    _permit: OwnedSemaphorePermit,
}

impl Connection<'_> {
    pub(crate) fn protocol(&mut self) -> &mut Protocol<TcpStream> {
        &mut self.protocol
    }

    /// Back to the pool, after a complete exchange.
    pub(crate) fn release(self) {
        self.server
            .lock_idle()
            .push((self.protocol, Instant::now()));
    }
}

/// Why no connection was had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NoConnection {
    /// Every connection of the pool is in use past the wait: the server is fine, skip the tier.
    Busy,
    /// The server is dead, or connecting failed (it is dead now): try the next candidate.
    Unreachable,
}

/// One memcached server.
pub(crate) struct Server {
    pub(crate) addr: String,
    limits: PoolLimits,
    idle: Mutex<Vec<(Protocol<TcpStream>, Instant)>>,
    permits: Arc<Semaphore>,
    dead_until: Mutex<Option<Instant>>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("addr", &self.addr)
            .field("dead", &self.is_dead())
            .finish_non_exhaustive()
    }
}

impl Server {
    pub(crate) fn new(addr: String, limits: PoolLimits) -> Self {
        Server {
            addr,
            limits,
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(
                limits.maxsize.clamp(1, Semaphore::MAX_PERMITS),
            )),
            dead_until: Mutex::new(None),
        }
    }

    fn lock_idle(&self) -> std::sync::MutexGuard<'_, Vec<(Protocol<TcpStream>, Instant)>> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether the server is skipped now.
    pub(crate) fn is_dead(&self) -> bool {
        let mut until = self.dead_until.lock().unwrap_or_else(|e| e.into_inner());
        match *until {
            Some(t) if t > Instant::now() => true,
            Some(_) => {
                *until = None;
                false
            }
            None => false,
        }
    }

    /// Skips the server for `dead_retry`, closing its idle connections.
    pub(crate) fn mark_dead(&self) {
        tracing::warn!(
            server = %self.addr,
            retry_in = ?self.limits.dead_retry,
            "memcached server unreachable: skipped until the retry time"
        );
        *self.dead_until.lock().unwrap_or_else(|e| e.into_inner()) =
            Instant::now().checked_add(self.limits.dead_retry);
        self.lock_idle().clear();
    }

    /// Closes the idle connections (one of them turned out closed by the server).
    pub(crate) fn clear_idle(&self) {
        self.lock_idle().clear();
    }

    /// A connection: an idle one unless `fresh`, or a new one. The wait for a free one is
    /// at most `conn_get_timeout` (and `socket_timeout`, so that a request is never held
    /// longer than the tier may cost it); connecting at most `socket_timeout`.
    pub(crate) async fn connection(&self, fresh: bool) -> Result<Connection<'_>, NoConnection> {
        let wait = self.limits.conn_get_timeout.min(self.limits.socket_timeout);
        let permit = tokio::time::timeout(wait, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| NoConnection::Busy)?
            .map_err(|_| NoConnection::Busy)?;
        // it may have died while this request waited
        if self.is_dead() {
            return Err(NoConnection::Unreachable);
        }
        let reused = if fresh {
            None
        } else {
            let mut idle = self.lock_idle();
            let now = Instant::now();
            idle.retain(|(_, used)| now.duration_since(*used) < self.limits.unused_timeout);
            idle.pop().map(|(p, _)| p)
        };
        let (protocol, reused) = match reused {
            Some(p) => (p, true),
            None => {
                let connected = tokio::time::timeout(
                    self.limits.socket_timeout,
                    TcpStream::connect(&self.addr),
                )
                .await;
                match connected {
                    Ok(Ok(stream)) => {
                        let _ = stream.set_nodelay(true);
                        (Protocol::new(stream), false)
                    }
                    _ => {
                        self.mark_dead();
                        return Err(NoConnection::Unreachable);
                    }
                }
            }
        };
        Ok(Connection {
            server: self,
            protocol,
            reused,
            _permit: permit,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where python-memcached put keystonemiddleware's keys (read back from real servers).
    #[test]
    fn servers_as_python_memcached_picks_them() {
        for (key, two, three, three_second_dead) in [
            (
                "tokens/d56228e77096da7cf344da60c3ae1a26834c489bd2fd7b0f43a0e1a73c45f896",
                0,
                2,
                2,
            ),
            ("tokens/b'A++NCmE/MmqIlbb/v9FYEg=='", 0, 0, 0),
            ("tokens/b'dK/c0ATCY1uHyteKyTAxAw=='", 0, 2, 2),
            ("tokens/b'mDHwO9RvhIfyMl1fkBdzDA=='", 1, 1, 0),
            ("tokens/b'2so8Ti1p/oH/ZljdX6UJTA=='", 0, 1, 0),
            ("tokens/b'ka/HngayCXyUcmP0huU0Rw=='", 0, 1, 0),
            ("tokens/b'J3gmaXSyPg0SxAydJbQBTw=='", 1, 1, 0),
        ] {
            let k = key.as_bytes();
            assert_eq!(candidates(k, 2).next(), Some(two), "{key}");
            assert_eq!(candidates(k, 3).next(), Some(three), "{key}");
            assert_eq!(
                candidates(k, 3).find(|s| *s != 1),
                Some(three_second_dead),
                "{key}"
            );
        }
        assert_eq!(crc32fast::hash(b"123456789"), 0xCBF4_3926);
        assert_eq!(hash(b"tokens/b'mDHwO9RvhIfyMl1fkBdzDA=='"), 487);
        assert_eq!(hash(b"4870"), 17067);
        assert_eq!(candidates(b"x", 3).count(), 10);
    }

    #[test]
    fn server_strings_as_python_memcached_reads_them() {
        assert_eq!(parse_server("127.0.0.1:11212").unwrap(), "127.0.0.1:11212");
        assert_eq!(parse_server(" cache1 ").unwrap(), "cache1:11211");
        assert_eq!(parse_server("inet:cache2:11212").unwrap(), "cache2:11212");
        assert_eq!(parse_server("inet6:[::1]:11213").unwrap(), "[::1]:11213");
        assert!(parse_server("unix:/run/memcached.sock").is_err());
        assert!(parse_server("host:port").is_err());
        assert!(parse_server(":11211").is_err());
    }
}
