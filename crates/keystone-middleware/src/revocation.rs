//! Revocation events: Keystone's record of the tokens it revoked (`GET /v3/OS-REVOKE/events`),
//! read every `revocation_check_interval` seconds, so that a cached token an event covers is
//! evicted and validated again instead of being served until its entry ends.
//!
//! Whether an event covers a token is decided as Keystone decides it (`revoke_model.matches`
//! and the SQL driver's `_list_token_events`): the token was issued no later than the event's
//! `issued_before`, and every other field the event names matches the token: its user (as
//! user, trustor or trustee), project, audit id, trust, audit chain (the token's second audit
//! id), domain (the user's, or the domain scope), domain scope, expiry, role and OAuth1
//! consumer. An event's access token id is not compared (Keystone does not compare it).
//!
//! Events are indexed by the most selective field they name, so checking a token costs a hash
//! lookup per field of the token, never a scan. Each batch of new events raises a generation;
//! a cached entry remembers the generation it was checked at, so a hit costs one atomic load
//! until new events arrive, and an entry is only checked against the events that arrived after
//! its validation began (Keystone knew the others when it validated the token).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::{DateTime, DurationRound, Utc};
use keystone_types::revoke::RevokeEvent;
use keystone_types::token::Token;

/// The most events held; beyond it the oldest are dropped and every cached token is
/// validated again (so that dropping an event never serves a token it covers).
pub(crate) const MAX_EVENTS: usize = 100_000;

/// The overlap asked for in each poll, against clock skew and events recorded in the second
/// of the last one seen (`since` is strict).
const OVERLAP: chrono::Duration = chrono::Duration::seconds(1);

/// What an event is compared with: a token's values, as Keystone's `build_token_values`
/// takes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TokenFacts {
    issued_at: DateTime<Utc>,
    /// To the second, as Keystone compares it.
    expires_at: DateTime<Utc>,
    audit_id: Option<String>,
    audit_chain_id: Option<String>,
    user_id: String,
    identity_domain_id: String,
    project_id: Option<String>,
    /// The domain scope only: Keystone's `build_token_values` sets it from a project's
    /// domain, then overwrites it with the token's domain scope (none for a project).
    assignment_domain_id: Option<String>,
    role_ids: Vec<String>,
    trust_id: Option<String>,
    trustor_id: Option<String>,
    trustee_id: Option<String>,
}

impl TokenFacts {
    pub(crate) fn new(t: &Token) -> Self {
        let seconds = chrono::Duration::seconds(1);
        TokenFacts {
            issued_at: t.issued_at.0,
            expires_at: t
                .expires_at
                .0
                .duration_trunc(seconds)
                .unwrap_or(t.expires_at.0),
            audit_id: t.audit_ids.first().cloned(),
            audit_chain_id: t.audit_ids.get(1).cloned(),
            user_id: t.user.id.clone(),
            identity_domain_id: t.user.domain.id.clone(),
            project_id: t.project.as_ref().map(|p| p.id.clone()),
            assignment_domain_id: t.domain.as_ref().map(|d| d.id.clone()),
            role_ids: t.roles.iter().flatten().map(|r| r.id.clone()).collect(),
            trust_id: t.trust.as_ref().map(|x| x.id.clone()),
            trustor_id: t.trust.as_ref().map(|x| x.trustor_user.id.clone()),
            trustee_id: t.trust.as_ref().map(|x| x.trustee_user.id.clone()),
        }
    }
}

/// `want` is unset, or equals `have`.
fn same(want: &Option<String>, have: Option<&str>) -> bool {
    want.as_deref().is_none_or(|w| Some(w) == have)
}

/// Whether `e` covers `t`, exactly as Keystone decides it.
pub(crate) fn matches(e: &RevokeEvent, t: &TokenFacts) -> bool {
    // Keystone fills in an event's `issued_before` from `revoked_at`
    let Some(before) = e.issued_before.or(e.revoked_at) else {
        return false;
    };
    if before.0 < t.issued_at {
        return false;
    }
    if let Some(u) = &e.user_id {
        let u = Some(u.as_str());
        if u != Some(t.user_id.as_str())
            && u != t.trustor_id.as_deref()
            && u != t.trustee_id.as_deref()
        {
            return false;
        }
    }
    if let Some(d) = &e.domain_id
        && d != &t.identity_domain_id
        && Some(d.as_str()) != t.assignment_domain_id.as_deref()
    {
        return false;
    }
    if let Some(r) = &e.role_id
        && !t.role_ids.contains(r)
    {
        return false;
    }
    if let Some(x) = &e.expires_at
        && x.0 != t.expires_at
    {
        return false;
    }
    same(&e.project_id, t.project_id.as_deref())
        && same(&e.audit_id, t.audit_id.as_deref())
        && same(&e.audit_chain_id, t.audit_chain_id.as_deref())
        && same(&e.trust_id, t.trust_id.as_deref())
        && same(&e.domain_scope_id, t.assignment_domain_id.as_deref())
        // no token of ours came through OAuth1
        && e.consumer_id.is_none()
}

/// An event held, with the generation of the batch it came in.
#[derive(Debug)]
struct Held {
    event: RevokeEvent,
    generation: u64,
    revoked_at: DateTime<Utc>,
}

/// The field an event is filed under: the most selective one it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum By {
    Audit,
    Chain,
    Trust,
    User,
    Project,
    Domain,
    Role,
}

fn filed_under(e: &RevokeEvent) -> Option<(By, &str)> {
    [
        (By::Audit, &e.audit_id),
        (By::Chain, &e.audit_chain_id),
        (By::Trust, &e.trust_id),
        (By::User, &e.user_id),
        (By::Project, &e.project_id),
        (By::Domain, &e.domain_id),
        (By::Domain, &e.domain_scope_id),
        (By::Role, &e.role_id),
    ]
    .into_iter()
    .find_map(|(by, v)| v.as_deref().map(|v| (by, v)))
}

/// The events, indexed.
#[derive(Debug, Default)]
struct Index {
    /// Oldest first.
    held: Vec<Arc<Held>>,
    /// One map per [`By`], by the field's value.
    by: [HashMap<String, Vec<Arc<Held>>>; 7],
    /// Events naming none of the indexed fields: checked for every token.
    other: Vec<Arc<Held>>,
    seen: HashSet<RevokeEvent>,
}

impl Index {
    fn file(&mut self, h: Arc<Held>) {
        match filed_under(&h.event) {
            Some((by, v)) => self.by[by as usize]
                .entry(v.to_owned())
                .or_default()
                .push(h),
            None => self.other.push(h),
        }
    }

    fn rebuild(&mut self) {
        self.by.iter_mut().for_each(HashMap::clear);
        self.other.clear();
        for h in self.held.clone() {
            self.file(h);
        }
        self.seen = self.held.iter().map(|h| h.event.clone()).collect();
    }

    /// Whether an event of a generation after `after` covers `t`.
    fn covers(&self, t: &TokenFacts, after: u64) -> bool {
        let hit = |list: Option<&Vec<Arc<Held>>>| {
            list.is_some_and(|l| {
                l.iter()
                    .any(|h| h.generation > after && matches(&h.event, t))
            })
        };
        let get = |by: By, v: &str| self.by[by as usize].get(v);
        if hit(get(By::User, &t.user_id))
            || hit(get(By::Domain, &t.identity_domain_id))
            || hit(Some(&self.other))
        {
            return true;
        }
        let optional = [
            (By::Audit, &t.audit_id),
            (By::Chain, &t.audit_chain_id),
            (By::Trust, &t.trust_id),
            (By::User, &t.trustor_id),
            (By::User, &t.trustee_id),
            (By::Project, &t.project_id),
            (By::Domain, &t.assignment_domain_id),
        ];
        optional
            .into_iter()
            .any(|(by, v)| v.as_deref().is_some_and(|v| hit(get(by, v))))
            || t.role_ids.iter().any(|r| hit(get(By::Role, r)))
    }
}

/// The revocation counters.
#[derive(Debug, Default)]
pub(crate) struct RevocationStats {
    pub(crate) polls: AtomicU64,
    pub(crate) poll_errors: AtomicU64,
    pub(crate) events_applied: AtomicU64,
    pub(crate) evicted: AtomicU64,
    /// Milliseconds since the Unix epoch of the last successful poll (0: none yet).
    pub(crate) last_success_ms: AtomicU64,
}

/// The events held, and the generation of the newest batch.
#[derive(Debug, Default)]
pub(crate) struct Revocations {
    generation: AtomicU64,
    /// The generation at which events were last dropped for want of room: an entry checked
    /// before it is taken as covered.
    flushed: AtomicU64,
    index: RwLock<Index>,
    /// Whether events are read at all (false: off by configuration or permission).
    pub(crate) active: AtomicBool,
    pub(crate) stats: RevocationStats,
}

impl Revocations {
    /// The generation of the newest batch of events (0: none).
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Whether an event that arrived in a batch after generation `after` covers `t`.
    pub(crate) fn covers(&self, t: &TokenFacts, after: u64) -> bool {
        if after >= self.generation() {
            return false;
        }
        if after < self.flushed.load(Ordering::Acquire) {
            return true;
        }
        let index = self.index.read().unwrap_or_else(|e| e.into_inner());
        index.covers(t, after)
    }

    /// Adds the events not held yet, as a new generation, and drops the ones older than
    /// `keep` (by Keystone's `revoked_at`). Returns the new generation if any event was added,
    /// and whether events had to be dropped beyond [`MAX_EVENTS`] (every cached token must
    /// then be validated again).
    pub(crate) fn apply(&self, events: Vec<RevokeEvent>, keep: Duration) -> (Option<u64>, bool) {
        let mut index = self.index.write().unwrap_or_else(|e| e.into_inner());
        let generation = self.generation() + 1;
        let mut added = 0u64;
        for event in events {
            let Some(revoked_at) = event.revoked_at.or(event.issued_before).map(|t| t.0) else {
                continue;
            };
            if index.seen.contains(&event) {
                continue;
            }
            index.seen.insert(event.clone());
            let held = Arc::new(Held {
                event,
                generation,
                revoked_at,
            });
            index.held.push(held.clone());
            index.file(held);
            added += 1;
        }
        let oldest =
            Utc::now() - chrono::Duration::from_std(keep).unwrap_or(chrono::Duration::days(7));
        let before = index.held.len();
        index.held.retain(|h| h.revoked_at >= oldest);
        let mut overflow = false;
        if index.held.len() > MAX_EVENTS {
            let extra = index.held.len() - MAX_EVENTS;
            index.held.drain(..extra);
            overflow = true;
        }
        if index.held.len() != before {
            index.rebuild();
        }
        self.stats
            .events_applied
            .fetch_add(added, Ordering::Relaxed);
        if overflow {
            tracing::warn!(
                held = MAX_EVENTS,
                "too many revocation events to hold: the oldest are dropped, and every cached \
                 token is validated again"
            );
            self.flushed.store(generation, Ordering::Release);
        }
        if added == 0 && !overflow {
            return (None, false);
        }
        self.generation.store(generation, Ordering::Release);
        (Some(generation), overflow)
    }

    /// The `since` of the next poll: the newest `revoked_at` held, less the overlap.
    pub(crate) fn since(&self) -> Option<DateTime<Utc>> {
        let index = self.index.read().unwrap_or_else(|e| e.into_inner());
        index
            .held
            .iter()
            .map(|h| h.revoked_at)
            .max()
            .map(|t| t - OVERLAP)
    }

    /// How many events are held.
    pub(crate) fn len(&self) -> usize {
        self.index
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .held
            .len()
    }

    /// Seconds since the last successful poll; `None` before the first or when off.
    pub(crate) fn last_success_age(&self) -> Option<Duration> {
        if !self.active.load(Ordering::Relaxed) {
            return None;
        }
        let ms = self.stats.last_success_ms.load(Ordering::Relaxed);
        if ms == 0 {
            return None;
        }
        let now = u64::try_from(Utc::now().timestamp_millis()).unwrap_or(0);
        Some(Duration::from_millis(now.saturating_sub(ms)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keystone_types::Timestamp;
    use keystone_types::token::TokenResponse;

    fn token() -> Token {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/exchanges/037_validate_nocatalog.json");
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        serde_json::from_value::<TokenResponse>(v["response"]["body"].clone())
            .unwrap()
            .token
    }

    fn at(t: &Token, secs: i64) -> Option<Timestamp> {
        Some(Timestamp(t.issued_at.0 + chrono::Duration::seconds(secs)))
    }

    fn event(t: &Token, f: impl FnOnce(&mut RevokeEvent)) -> RevokeEvent {
        let mut e = RevokeEvent {
            issued_before: at(t, 0),
            revoked_at: at(t, 0),
            ..RevokeEvent::default()
        };
        f(&mut e);
        e
    }

    #[test]
    fn events_cover_tokens_as_keystone_decides() {
        let t = token();
        let facts = TokenFacts::new(&t);
        let user = t.user.id.clone();
        let project = t.project.as_ref().unwrap().id.clone();
        let role = t.roles.as_ref().unwrap()[0].id.clone();
        let audit = t.audit_ids[0].clone();
        let yes = |e: RevokeEvent| assert!(matches(&e, &facts), "{e:?}");
        let no = |e: RevokeEvent| assert!(!matches(&e, &facts), "{e:?}");
        yes(event(&t, |e| e.user_id = Some(user.clone())));
        // issued in the same second as the event: covered (whole seconds)
        yes(event(&t, |e| e.audit_id = Some(audit.clone())));
        no(event(&t, |e| {
            e.user_id = Some(user.clone());
            e.issued_before = at(&t, -1);
        }));
        no(event(&t, |e| e.user_id = Some("someone else".into())));
        yes(event(&t, |e| e.project_id = Some(project.clone())));
        no(event(&t, |e| e.project_id = Some("other".into())));
        yes(event(&t, |e| {
            e.project_id = Some(project.clone());
            e.role_id = Some(role.clone());
        }));
        no(event(&t, |e| {
            e.project_id = Some(project.clone());
            e.role_id = Some("not held".into());
        }));
        // the user's domain
        yes(event(&t, |e| e.domain_id = Some(t.user.domain.id.clone())));
        // a project's domain is not the token's assignment domain (Keystone overwrites it)
        no(event(&t, |e| {
            e.domain_scope_id = Some(t.project.as_ref().unwrap().domain.id.clone())
        }));
        // a root token has no chain; a trust-less token no trust; no token a consumer
        no(event(&t, |e| e.audit_chain_id = Some(audit.clone())));
        no(event(&t, |e| e.trust_id = Some("t".into())));
        no(event(&t, |e| e.consumer_id = Some("c".into())));
        yes(event(&t, |e| e.expires_at = Some(t.expires_at)));
        no(event(&t, |e| e.expires_at = at(&t, 7)));

        // a token made from this one carries its audit id second: its chain
        let mut rescoped = t.clone();
        rescoped.audit_ids = vec!["new".into(), audit.clone()];
        let r = TokenFacts::new(&rescoped);
        assert!(matches(
            &event(&t, |e| e.audit_chain_id = Some(audit.clone())),
            &r
        ));
        assert!(!matches(
            &event(&t, |e| e.audit_id = Some(audit.clone())),
            &r
        ));
    }

    #[test]
    fn the_index_finds_events_by_their_fields_and_generations() {
        let t = token();
        let facts = TokenFacts::new(&t);
        let r = Revocations::default();
        assert!(!r.covers(&facts, 0));
        let keep = Duration::from_secs(3600);
        let fresh = |secs| {
            let mut t = t.clone();
            t.issued_at = Timestamp(Utc::now() + chrono::Duration::seconds(secs));
            t
        };
        let now = fresh(0);
        let facts = TokenFacts::new(&fresh(-10));
        let other = event(&now, |e| e.user_id = Some("other".into()));
        assert_eq!(r.apply(vec![other.clone()], keep), (Some(1), false));
        assert!(!r.covers(&facts, 0));
        let mine = event(&now, |e| {
            e.project_id = Some(t.project.as_ref().unwrap().id.clone())
        });
        // the same event again is not a new one
        assert_eq!(r.apply(vec![other, mine.clone()], keep), (Some(2), false));
        assert_eq!(r.apply(vec![mine], keep), (None, false));
        assert_eq!(r.len(), 2);
        assert!(r.covers(&facts, 0));
        assert!(r.covers(&facts, 1));
        assert!(!r.covers(&facts, 2), "validated after the event arrived");
        // a token issued after the event is not covered
        assert!(!r.covers(&TokenFacts::new(&fresh(10)), 0));
        // events older than `keep` are dropped
        let old = event(&fresh(-7200), |e| e.user_id = Some(t.user.id.clone()));
        r.apply(vec![old], keep);
        assert_eq!(r.len(), 2);
        assert!(r.since().unwrap() > Utc::now() - chrono::Duration::seconds(5));
    }
}
