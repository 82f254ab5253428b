//! Revocation events, as Keystone 30's revoke API records them (`keystone/revoke/core.py`
//! and the callers of `revoke_api`), for `GET /v3/OS-REVOKE/events`.
//!
//! Keystone records an event for: a token revoked (its audit id, then its audit chain); a user
//! disabled, deleted or given a new password, removed from a group, or a member of a deleted
//! group that held roles; a project deleted; a domain deleted (its projects', its users', then
//! the domain as a project); a trust deleted (and those redelegated from it). It records none
//! for a role assignment removed, a role deleted, a project or domain disabled or an
//! application credential deleted: it checks those live when it validates a token, so they
//! reach a cache only when the cached entry ends.
//!
//! The fake's own validation does not read the events (it has its own exact records); the
//! events are what it publishes.

use chrono::{DateTime, Duration, DurationRound, Utc};
use keystone_types::Timestamp;
use keystone_types::revoke::RevokeEvent;

use super::Store;

/// Keystone's `[revoke] expiration_buffer`: events live this long past a token's lifetime.
const EXPIRATION_BUFFER: Duration = Duration::seconds(1800);

/// What an event names, the rest of it (its times) filled in by [`Store::record_event`].
#[derive(Debug, Default)]
pub(crate) struct Revoked {
    pub(crate) user_id: Option<String>,
    pub(crate) project_id: Option<String>,
    pub(crate) audit_id: Option<String>,
    pub(crate) audit_chain_id: Option<String>,
    pub(crate) trust_id: Option<String>,
    /// How long before the event's own time the tokens it covers were issued (0 but for a
    /// group membership removed, where Keystone takes one second off).
    pub(crate) earlier: Duration,
}

impl Store {
    /// Records an event at the store's time, whole seconds, and forgets the events older than
    /// a token's lifetime and the buffer (as Keystone prunes them on every write).
    pub(crate) fn record_event(&mut self, what: Revoked) {
        let now = self.now;
        let at = now.duration_trunc(Duration::seconds(1)).unwrap_or(now);
        let event = RevokeEvent {
            user_id: what.user_id,
            project_id: what.project_id,
            audit_id: what.audit_id,
            audit_chain_id: what.audit_chain_id,
            trust_id: what.trust_id,
            issued_before: Some(Timestamp(at - what.earlier)),
            revoked_at: Some(Timestamp(at)),
            ..RevokeEvent::default()
        };
        let oldest = now - self.token_ttl - EXPIRATION_BUFFER;
        self.revoke_events
            .retain(|e| e.revoked_at.is_some_and(|t| t.0 >= oldest));
        self.revoke_events.push(event);
    }

    /// An event revoking every token of a user.
    pub(crate) fn record_user_event(&mut self, user_id: &str) {
        self.record_event(Revoked {
            user_id: Some(user_id.to_owned()),
            ..Revoked::default()
        });
    }

    /// The events recorded after `since` (all without it), oldest first.
    pub(crate) fn revoke_events_since(&self, since: Option<DateTime<Utc>>) -> Vec<RevokeEvent> {
        self.revoke_events
            .iter()
            .filter(|e| match (since, e.revoked_at) {
                (Some(since), Some(at)) => at.0 > since,
                _ => true,
            })
            .cloned()
            .collect()
    }
}
