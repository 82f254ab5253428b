//! Trusts (OS-TRUST): looking them up, the roles their tokens carry, creating them (with
//! redelegation) and deleting them.

use chrono::{DateTime, Utc};
use keystone_types::resources::TrustCreate;

use super::{Revoked, Store, Target, TokenProblem, TrustRec, new_id, parse_expiration};
use crate::error::{ApiError, StatusCode, validation_error};

/// How many times a trust may be redelegated at most: Keystone's `[trust]
/// max_redelegation_count` default.
const MAX_REDELEGATION_COUNT: u64 = 3;

/// A trust to create: the request body as Keystone reads it.
#[derive(Debug, Clone)]
pub(crate) struct NewTrust {
    /// The attributes with a type of their own.
    pub(crate) create: TrustCreate,
    /// Whether the trust may be redelegated (`allow_redelegation`; `null` is false).
    pub(crate) allow_redelegation: bool,
    /// How many times, when it may (`redelegation_count`; `null` is absent).
    pub(crate) redelegation_count: Option<u64>,
    /// The attributes Keystone does not know, which it stores and echoes.
    pub(crate) extra: serde_json::Map<String, serde_json::Value>,
}

/// Whether `parent`, a trust of the chain a new trust is redelegated from, allows it
/// (Keystone's `_validate_redelegation`); the new trust's expiry (the parent's when it named
/// none). Every refusal is Keystone's 403.
fn redelegation_allowed(
    parent: &TrustRec,
    role_ids: &[String],
    impersonation: bool,
    remaining_uses: Option<u64>,
    expires_at: Option<DateTime<Utc>>,
) -> Result<Option<DateTime<Utc>>, ApiError> {
    let depth_ok = (1..=MAX_REDELEGATION_COUNT).contains(&parent.redelegation_count);
    let expiry_ok = match (expires_at, parent.expires_at) {
        (Some(mine), Some(theirs)) => mine <= theirs,
        _ => true,
    };
    let roles_ok = role_ids.iter().all(|r| parent.role_ids.contains(r));
    let impersonation_ok = parent.impersonation || !impersonation;
    if !(depth_ok && remaining_uses.is_none() && expiry_ok && roles_ok && impersonation_ok) {
        return Err(ApiError::forbidden_undisclosed());
    }
    Ok(expires_at.or(parent.expires_at))
}

impl Store {
    /// A trust that was not deleted (it may have expired or have no uses left).
    pub(crate) fn trust(&self, id: &str) -> Option<&TrustRec> {
        self.trusts.iter().find(|t| t.id == id && !t.deleted)
    }

    /// A trust that can still be used at `now` (see [`TrustRec::is_live`]).
    pub(crate) fn live_trust(&self, id: &str, now: DateTime<Utc>) -> Option<&TrustRec> {
        self.trust(id).filter(|t| t.is_live(now))
    }

    /// Whether every trustee up a trust's redelegation chain is still an enabled user, as
    /// Keystone's `get_trust` checks wherever a trust is read (routes and tokens alike).
    pub(crate) fn trust_agents_enabled(&self, trust: &TrustRec) -> bool {
        self.trust_chain(trust).iter().skip(1).all(|t| {
            self.users
                .get(&t.trustee_user_id)
                .is_some_and(|u| u.enabled)
        })
    }

    /// `trust` and the trusts it was redelegated from, up to the first one, each once.
    pub(crate) fn trust_chain<'a>(&'a self, trust: &'a TrustRec) -> Vec<&'a TrustRec> {
        let mut chain = vec![trust];
        while let Some(up) = chain.last().and_then(|t| t.redelegated_trust_id.as_deref()) {
            match self.trust(up) {
                Some(t) if !chain.iter().any(|c| c.id == t.id) => chain.push(t),
                _ => break,
            }
        }
        chain
    }

    /// Takes one use of a trust that has a limited number of them (a token was issued for it).
    pub(super) fn use_trust(&mut self, id: &str) {
        if let Some(used) = self.trusts.iter_mut().find(|t| t.id == id)
            && let Some(uses) = used.remaining_uses.as_mut()
        {
            *uses = uses.saturating_sub(1);
        }
    }

    /// The roles a token of `trust` carries, found as Keystone's token model finds them each
    /// time it builds such a token: the delegated roles and the roles they imply, every one of
    /// which the trustor must still hold on the project (`TrustForbidden` otherwise, as when
    /// the trustor is disabled), less the domain-specific ones.
    pub(crate) fn trust_token_roles(&self, trust: &TrustRec) -> Result<Vec<String>, TokenProblem> {
        let trustor = self
            .users
            .get(&trust.trustor_user_id)
            .ok_or(TokenProblem::TrustNotFound)?;
        if !trustor.enabled {
            return Err(TokenProblem::TrustForbidden);
        }
        if !self
            .domains
            .get(&trustor.domain_id)
            .is_some_and(|d| d.enabled)
        {
            return Err(TokenProblem::Invalid);
        }
        if !self.trust_agents_enabled(trust) {
            return Err(TokenProblem::TrustForbidden);
        }
        let project = trust.project_id.as_ref().ok_or(TokenProblem::Invalid)?;
        let held = self.delegable_roles(&trustor.id, &Target::Project(project.clone()));
        let delegated = self.expand_implied(trust.role_ids.iter().cloned());
        if delegated.iter().any(|r| !held.contains(r)) {
            return Err(TokenProblem::TrustForbidden);
        }
        Ok(delegated
            .into_iter()
            .filter(|r| {
                self.roles
                    .get(r)
                    .is_some_and(|role| role.domain_id.is_none())
            })
            .collect())
    }

    /// The trust a token request of `user_id` scopes to, checked in Keystone's order (see
    /// [`Store::issue`]); the delegated roles are checked as the token's body is made.
    pub(super) fn trust_for_scope(
        &self,
        id: &str,
        user_id: &str,
        now: DateTime<Utc>,
    ) -> Result<TrustRec, ApiError> {
        if id.is_empty() {
            return Err(validation_error("trust_id", "trust"));
        }
        // Keystone turns its `TrustNotFound` into a 401 for a token request
        let trust = self
            .live_trust(id, now)
            .ok_or_else(ApiError::unauthorized)?;
        if let Some(project) = &trust.project_id {
            let usable = self.projects.get(project).is_some_and(|p| {
                p.enabled && self.domains.get(&p.domain_id).is_some_and(|d| d.enabled)
            });
            if !usable {
                return Err(ApiError::unauthorized());
            }
        }
        // "User is not a trustee." and "Trustor is disabled.", which Keystone keeps to itself
        if trust.trustee_user_id != user_id
            || !self
                .users
                .get(&trust.trustor_user_id)
                .is_some_and(|u| u.enabled)
        {
            return Err(ApiError::forbidden_undisclosed());
        }
        if trust.project_id.is_none() {
            return Err(ApiError::not_found("project", "None"));
        }
        Ok(trust.clone())
    }

    /// Creates a trust from a request whose caller is its trustor (the policy checked that),
    /// with Keystone's checks in Keystone's order: the trustee must exist (404); roles named
    /// by name must exist (404, "Role X is not defined"), the project too (404), and the
    /// trustor must hold every role on it, implied ones counting (404 for the role); then
    /// the expiry (400), redelegation (`allow_redelegation`: a depth past 3 is a 403, with
    /// `remaining_uses` a 400), and duplicates (409: a role named twice, or a trust like
    /// another, deleted ones included, down to its expiry). `redelegating_from` is the trust
    /// of a trust-scoped caller: the new trust is redelegated from it, which it and every
    /// trust up its chain must allow (403 otherwise).
    pub(crate) fn create_trust(
        &mut self,
        new: NewTrust,
        redelegating_from: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<TrustRec, ApiError> {
        let c = &new.create;
        if !self.users.contains_key(&c.trustee_user_id) {
            return Err(ApiError::not_found("user", &c.trustee_user_id));
        }
        let role_ids = self.delegated_roles(c)?;
        let expires_at = c
            .expires_at
            .as_deref()
            .map(|t| parse_expiration(t, now))
            .transpose()?;
        let parent = redelegating_from
            .map(|id| {
                self.live_trust(id, now)
                    .cloned()
                    .ok_or_else(|| ApiError::not_found("trust", id))
            })
            .transpose()?;
        let (redelegation_count, expires_at) =
            self.redelegation(&new, parent.as_ref(), &role_ids, expires_at)?;
        let id = new_id();
        let duplicate_role = role_ids
            .iter()
            .enumerate()
            .any(|(i, r)| role_ids[..i].contains(r));
        if duplicate_role || self.is_duplicate(c, expires_at) {
            return Err(ApiError::conflict(
                "trust",
                format!("Duplicate entry found with ID {id}"),
            ));
        }
        let c = new.create;
        let rec = TrustRec {
            id,
            trustor_user_id: c.trustor_user_id,
            trustee_user_id: c.trustee_user_id,
            // kept as given: an empty project id is no project for the roles, as in Keystone
            project_id: c.project_id,
            impersonation: c.impersonation,
            expires_at,
            remaining_uses: c.remaining_uses,
            role_ids,
            redelegation_count,
            redelegated_trust_id: parent.map(|p| p.id),
            extra: new.extra,
            deleted: false,
        };
        self.trusts.push(rec.clone());
        Ok(rec)
    }

    /// The roles a new trust delegates, as named (by id, or by name: 404 "Role X is not
    /// defined" when unknown), each of which the trustor must hold on the trust's project (404
    /// for the project, then for the role); a trust without a project delegates none.
    fn delegated_roles(&self, c: &TrustCreate) -> Result<Vec<String>, ApiError> {
        let mut role_ids = Vec::new();
        for r in &c.roles {
            let id = match (&r.id, &r.name) {
                (Some(id), _) => id.clone(),
                (None, Some(name)) => self
                    .role_by_name(name)
                    .ok_or_else(|| {
                        ApiError::new(StatusCode::NOT_FOUND, format!("Role {name} is not defined"))
                    })?
                    .id
                    .clone(),
                (None, None) => return Err(validation_error("id or name", "role")),
            };
            role_ids.push(id);
        }
        let held = match c.project_id.as_deref().filter(|p| !p.is_empty()) {
            Some(project) => {
                if !self.projects.contains_key(project) {
                    return Err(ApiError::not_found("project", project));
                }
                self.delegable_roles(&c.trustor_user_id, &Target::Project(project.to_owned()))
            }
            None => Vec::new(),
        };
        if let Some(missing) = role_ids.iter().find(|r| !held.contains(r)) {
            return Err(ApiError::not_found("role", missing));
        }
        Ok(role_ids)
    }

    /// How many times a new trust may be redelegated, and its expiry. Redelegated from
    /// `parent`, it takes one step of its parent's depth, and every trust of the chain must
    /// allow it (Keystone's `create_trust` and `_validate_redelegation`).
    fn redelegation(
        &self,
        new: &NewTrust,
        parent: Option<&TrustRec>,
        role_ids: &[String],
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<(u64, Option<DateTime<Utc>>), ApiError> {
        let c = &new.create;
        let redelegatable = new.allow_redelegation && new.redelegation_count != Some(0);
        let redelegation_count = if redelegatable {
            let count = new.redelegation_count.unwrap_or(MAX_REDELEGATION_COUNT);
            if count > MAX_REDELEGATION_COUNT {
                return Err(ApiError::forbidden_undisclosed());
            }
            if c.remaining_uses.is_some() {
                return Err(ApiError::bad_request(
                    "remaining_uses must not be set if redelegation is allowed",
                ));
            }
            count
        } else {
            0
        };
        let Some(p) = parent else {
            return Ok((redelegation_count, expires_at));
        };
        let remaining = p.redelegation_count.saturating_sub(1);
        if redelegatable
            && new
                .redelegation_count
                .is_some_and(|n| n != 0 && n != remaining)
        {
            // "Modifying redelegation_count upon redelegation is forbidden"
            return Err(ApiError::forbidden_undisclosed());
        }
        let count = if redelegatable { remaining } else { 0 };
        let mut expires_at = expires_at;
        for t in self.trust_chain(p) {
            expires_at =
                redelegation_allowed(t, role_ids, c.impersonation, c.remaining_uses, expires_at)?;
        }
        Ok((count, expires_at))
    }

    /// Whether a trust like the new one exists (deleted ones included): same trustor, trustee,
    /// project, impersonation and expiry. A trust without a project or an expiry is like none,
    /// as NULLs never collide in Keystone's unique constraint.
    fn is_duplicate(&self, c: &TrustCreate, expires_at: Option<DateTime<Utc>>) -> bool {
        c.project_id.is_some()
            && expires_at.is_some()
            && self.trusts.iter().any(|t| {
                t.trustor_user_id == c.trustor_user_id
                    && t.trustee_user_id == c.trustee_user_id
                    && t.project_id == c.project_id
                    && t.impersonation == c.impersonation
                    && t.expires_at == expires_at
            })
    }

    /// Deletes a trust that can still be used (404 otherwise, as Keystone finds it only
    /// then); its tokens no longer validate.
    pub(crate) fn delete_trust(&mut self, id: &str, now: DateTime<Utc>) -> Result<(), ApiError> {
        let trust = self
            .trusts
            .iter_mut()
            .find(|t| t.id == id && t.is_live(now))
            .ok_or_else(|| ApiError::not_found("trust", id))?;
        trust.deleted = true;
        self.record_event(Revoked {
            trust_id: Some(id.to_owned()),
            ..Revoked::default()
        });
        // and, as Keystone, the trusts redelegated from it, recursively
        let children: Vec<String> = self
            .trusts
            .iter()
            .filter(|t| t.redelegated_trust_id.as_deref() == Some(id) && t.is_live(now))
            .map(|t| t.id.clone())
            .collect();
        for child in children {
            self.delete_trust(&child, now)?;
        }
        Ok(())
    }
}
