//! Revocation events (`GET /v3/OS-REVOKE/events`): what Keystone records when it revokes
//! tokens in bulk or one by one, so that a service caching validations can drop the ones an
//! event covers.
//!
//! # Example
//!
//! ```
//! use keystone_types::revoke::RevokeEvents;
//!
//! let listed: RevokeEvents = serde_json::from_str(r#"{"events": [
//!     {"audit_id": "Xj4sZ0mXQ3u7V0r0mX3ZUg",
//!      "issued_before": "2026-11-22T14:26:54.000000Z",
//!      "revoked_at": "2026-11-22T14:26:54.000000Z"}],
//!   "links": {"next": null, "previous": null,
//!             "self": "http://127.0.0.1:5000/v3/OS-REVOKE/events"}}"#).unwrap();
//! assert_eq!(listed.events[0].audit_id.as_deref(), Some("Xj4sZ0mXQ3u7V0r0mX3ZUg"));
//! ```

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::resources::Links;

/// One revocation event, with the fields Keystone 30 writes (each only when set), in its
/// order. A token matches an event when it was issued no later than `issued_before` and
/// every other field the event names matches the token (see Keystone's `revoke_model`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RevokeEvent {
    /// The user whose tokens (as user, trustor or trustee) are revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// A role the token must carry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_id: Option<String>,
    /// The user's domain or the token's domain scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain_id: Option<String>,
    /// The token's domain scope (an event naming a domain and an expiry).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain_scope_id: Option<String>,
    /// The project the token is scoped to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    /// The token's own audit id (its first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_id: Option<String>,
    /// The audit id of the token a token was made from (its second).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_chain_id: Option<String>,
    /// The trust the token is scoped to.
    #[serde(
        default,
        rename = "OS-TRUST:trust_id",
        skip_serializing_if = "Option::is_none"
    )]
    pub trust_id: Option<String>,
    /// The OAuth1 consumer the token came through.
    #[serde(
        default,
        rename = "OS-OAUTH1:consumer_id",
        skip_serializing_if = "Option::is_none"
    )]
    pub consumer_id: Option<String>,
    /// The OAuth1 access token the token came from.
    #[serde(
        default,
        rename = "OS-OAUTH1:access_token_id",
        skip_serializing_if = "Option::is_none"
    )]
    pub access_token_id: Option<String>,
    /// The token's expiry, to the second (Keystone writes it without a fraction).
    #[serde(default, with = "seconds", skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
    /// Tokens issued at or before this instant are covered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_before: Option<Timestamp>,
    /// When the event was recorded; `since` compares against it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<Timestamp>,
}

/// `{"events": [...], "links": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokeEvents {
    /// The events, oldest first.
    pub events: Vec<RevokeEvent>,
    /// Keystone's collection links (no pages: `next` and `previous` are null).
    #[serde(default)]
    pub links: Option<Links>,
}

/// An optional timestamp written to the second, `2026-11-22T14:26:54Z`, as Keystone writes an
/// event's `expires_at` (read in any spelling [`Timestamp`] reads).
mod seconds {
    use chrono::SecondsFormat;
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::Timestamp;

    pub(super) fn serialize<S: Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&t.0.to_rfc3339_opts(SecondsFormat::Secs, true)),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Timestamp>, D::Error> {
        Option::<Timestamp>::deserialize(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_reads_and_writes_as_keystone_does() {
        let text = r#"{"user_id":"u","OS-TRUST:trust_id":"t","expires_at":"2026-11-22T15:26:54Z","issued_before":"2026-11-22T14:26:54.000000Z","revoked_at":"2026-11-22T14:26:54.000000Z"}"#;
        let e: RevokeEvent = serde_json::from_str(text).unwrap();
        assert_eq!(e.trust_id.as_deref(), Some("t"));
        assert_eq!(serde_json::to_string(&e).unwrap(), text);
    }
}
