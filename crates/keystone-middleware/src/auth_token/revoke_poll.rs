//! The task that reads Keystone's revocation events every `revocation_check_interval` and
//! evicts the cached tokens they cover. It holds the layer's state only while it polls, and
//! ends when the last clone of the layer is dropped.
//!
//! A failed poll fails no request: the cache serves as it would without events, the failure is
//! counted, the status says how old the last good poll is, and the task tries again with
//! backoff. A service user that may not read the events (403), or a Keystone that does not
//! serve them (404), turns the checks off with one warning.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use keystone_client::{ErrorKind, Session};
use keystone_types::Timestamp;
use tokio::sync::Notify;

use crate::cache::TokenCache;

/// What the task reads and evicts with: the layer's state (which implements it, so that this
/// module does not import the layer).
pub(super) trait Polled: Send + Sync + 'static {
    /// The service's own session.
    fn session(&self) -> &Session;
    /// The cache whose entries events evict.
    fn cache(&self) -> &TokenCache;
    /// The longest one poll may take.
    fn poll_timeout(&self) -> Duration;
    /// How long events are kept.
    fn keep(&self) -> Duration;
}

/// The longest wait between two polls after failures.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// Clock skew allowed for when deciding which events are older than any cached entry.
const SKEW: Duration = Duration::from_secs(300);

/// How the task goes on after a poll.
enum Next {
    Again,
    Backoff,
    Stop,
}

/// Starts the task on the current runtime; `stop` ends it at once (the layer's state
/// notifies it when dropped).
pub(super) fn spawn<T: Polled>(shared: Weak<T>, interval: Duration, stop: Arc<Notify>) {
    tokio::spawn(async move {
        let mut wait = Duration::ZERO;
        let mut failures = 0u32;
        loop {
            tokio::select! {
                () = stop.notified() => return,
                () = tokio::time::sleep(wait) => {}
            }
            let Some(shared) = shared.upgrade() else {
                return;
            };
            let next = tokio::select! {
                () = stop.notified() => return,
                next = poll(&*shared) => next,
            };
            drop(shared);
            wait = match next {
                Next::Again => {
                    failures = 0;
                    interval
                }
                Next::Backoff => {
                    failures = failures.saturating_add(1);
                    // twice as long after each failure, at most eight intervals
                    interval
                        .saturating_mul(1 << failures.min(3))
                        .min(MAX_BACKOFF.max(interval))
                }
                Next::Stop => return,
            };
        }
    });
}

/// One poll: asks for the events since the newest held (less an overlap), adds them, evicts
/// the entries they cover.
async fn poll(shared: &impl Polled) -> Next {
    let revoked = &shared.cache().revoked;
    revoked.stats.polls.fetch_add(1, Ordering::Relaxed);
    let since = revoked.since().map(Timestamp);
    let asked = shared.session().revoke_events(since);
    let events = match tokio::time::timeout(shared.poll_timeout(), asked).await {
        Ok(Ok(events)) => events,
        Ok(Err(e)) if matches!(e.kind(), ErrorKind::Forbidden | ErrorKind::NotFound) => {
            revoked.active.store(false, Ordering::Relaxed);
            let cause = if e.kind() == ErrorKind::Forbidden {
                "the service user may not read them (identity:list_revoke_events: give it \
                 the service role)"
            } else {
                "Keystone does not serve GET /v3/OS-REVOKE/events"
            };
            tracing::warn!(
                error = %e,
                "revocation events are off: {cause}; a revoked token is served from the cache \
                 until its entry ends (token_cache_time)"
            );
            return Next::Stop;
        }
        Ok(Err(e)) => return failed(shared, &e.to_string()),
        Err(_) => return failed(shared, "no answer in time"),
    };
    let (added, overflow) = revoked.apply(events, shared.keep());
    let now = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0);
    revoked.stats.last_success_ms.store(now, Ordering::Relaxed);
    if added.is_some() || overflow {
        let evicted = shared.cache().evict_revoked().await;
        if evicted > 0 {
            tracing::info!(evicted, "revocation events evicted cached tokens");
        }
    }
    Next::Again
}

fn failed(shared: &impl Polled, why: &str) -> Next {
    let revoked = &shared.cache().revoked;
    revoked.stats.poll_errors.fetch_add(1, Ordering::Relaxed);
    tracing::warn!(
        error = why,
        "cannot read Keystone's revocation events: cached tokens are served as before; \
         trying again"
    );
    Next::Backoff
}

/// How long events are kept: past the longest a cached entry lives (`token_cache_time`, and
/// at most a week when entries live as long as their tokens), and a margin for clock skew.
pub(super) fn keep(lifetime: Duration) -> Duration {
    lifetime.min(Duration::from_secs(7 * 24 * 3600)) + SKEW
}
