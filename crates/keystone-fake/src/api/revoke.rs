//! `GET /v3/OS-REVOKE/events`: the revocation events, as Keystone 30 lists them.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, NaiveDate, Utc};
use keystone_types::Timestamp;
use keystone_types::revoke::RevokeEvents;

use crate::error::{ApiError, ApiResult};
use crate::extract::{KsQuery, QueryMap};
use crate::policy::{Caller, PolicyTarget};
use crate::state::AppState;

/// `GET /v3/OS-REVOKE/events?since=`: the events recorded strictly after `since` (all
/// without it), oldest first; a `since` that is not an ISO 8601 time is Keystone's 400.
pub(crate) async fn list_revoke_events(
    State(state): State<AppState>,
    KsQuery(q): KsQuery<QueryMap>,
    caller: Caller,
) -> ApiResult<Json<RevokeEvents>> {
    caller.enforce("identity:list_revoke_events", &PolicyTarget::new())?;
    // Keystone reads `since` only when it is not empty
    let since = match q.get("since").filter(|s| !s.is_empty()) {
        Some(s) => Some(
            parse_isotime(s)
                .ok_or_else(|| ApiError::bad_request(format!("invalidate date format {s}")))?,
        ),
        None => None,
    };
    let events = state.store().revoke_events_since(since);
    // Keystone's link is the collection's, without the query
    let links = state.views().list_links("/v3/OS-REVOKE/events");
    Ok(Json(RevokeEvents {
        events,
        links: Some(links),
    }))
}

/// An ISO 8601 time as oslo's `parse_isotime` reads it, in UTC: with a `Z` or an offset, or
/// none (taken as UTC), with or without a fraction, or a date alone.
fn parse_isotime(s: &str) -> Option<DateTime<Utc>> {
    if let Some(t) = Timestamp::parse(s) {
        return Some(t.0);
    }
    if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M") {
        return Some(t.and_utc());
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_is_read_as_oslo_reads_it() {
        let at = |s| parse_isotime(s).map(|t| t.to_rfc3339());
        let want = Some("2026-12-05T19:00:00+00:00".to_owned());
        assert_eq!(at("2026-12-05T19:00:00Z"), want);
        assert_eq!(at("2026-12-05T19:00:00.000000Z"), want);
        assert_eq!(at("2026-12-05T20:00:00+01:00"), want);
        assert_eq!(at("2026-12-05T19:00:00"), want);
        assert_eq!(at("2026-12-05T19:00"), want);
        assert_eq!(
            at("2026-12-05"),
            Some("2026-12-05T00:00:00+00:00".to_owned())
        );
        assert_eq!(at("yesterday"), None);
        assert_eq!(at("2026-13-05"), None);
    }
}
