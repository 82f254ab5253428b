//! Roles, the rules of which role implies which, and grants (Keystone's assignment
//! subsystem).

use keystone_types::resources::{RoleCreate, RoleUpdate};

use super::{Actor, Grant, RoleRec, Store, Target, new_id};
use crate::error::{ApiError, StatusCode};

/// The names of roles no rule may imply: Keystone's `[assignment] prohibited_implied_role`
/// default.
const PROHIBITED_IMPLIED_ROLES: [&str; 1] = ["admin"];

/// Keystone's `ResourceUpdateForbidden` / `ResourceDeleteForbidden` for an immutable role
/// (the stray backquote is Keystone's).
fn immutable(action: &str, id: &str) -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        format!(
            "Unable to {action} immutable role resource: `{id}. Set resource option \"immutable\" \
             to false first."
        ),
    )
}

impl Store {
    /// Creates a role.
    pub(crate) fn create_role(&mut self, c: RoleCreate) -> Result<RoleRec, ApiError> {
        if self
            .roles
            .values()
            .any(|r| r.name == c.name && r.domain_id == c.domain_id)
        {
            return Err(ApiError::conflict(
                "role",
                match &c.domain_id {
                    // a domain-specific role's conflict names its domain
                    Some(d) => format!(
                        "Duplicate entry found with name {} at domain ID {d}",
                        c.name
                    ),
                    None => format!("Duplicate entry found with name {}", c.name),
                },
            ));
        }
        let rec = RoleRec {
            id: new_id(),
            name: c.name,
            domain_id: c.domain_id,
            description: c.description,
            immutable: false,
        };
        self.roles.insert(rec.id.clone(), rec.clone());
        Ok(rec)
    }

    /// Updates a role.
    pub(crate) fn update_role(&mut self, id: &str, u: RoleUpdate) -> Result<RoleRec, ApiError> {
        let r = self
            .roles
            .get_mut(id)
            .ok_or_else(|| ApiError::not_found("role", id))?;
        if r.immutable {
            return Err(immutable("update", id));
        }
        if let Some(v) = u.name {
            r.name = v;
        }
        if let Some(v) = u.description {
            r.description = Some(v);
        }
        Ok(r.clone())
    }

    /// Deletes a role with its grants and implications.
    pub(crate) fn delete_role(&mut self, id: &str) -> Result<(), ApiError> {
        let r = self
            .roles
            .get(id)
            .ok_or_else(|| ApiError::not_found("role", id))?;
        if r.immutable {
            return Err(immutable("delete", id));
        }
        self.roles.remove(id);
        self.grants.retain(|g| g.role_id != id);
        self.implied.retain(|(a, b)| a != id && b != id);
        Ok(())
    }

    /// Makes `prior` imply `implied`, as bootstrapping does: without the checks of the API.
    pub(crate) fn imply_role(&mut self, prior: &str, implied: &str) -> Result<(), ApiError> {
        for id in [prior, implied] {
            if !self.roles.contains_key(id) {
                return Err(ApiError::not_found("role", id));
            }
        }
        let rule = (prior.to_owned(), implied.to_owned());
        if !self.implied.contains(&rule) {
            self.implied.push(rule);
        }
        Ok(())
    }

    /// Creates the rule that `prior` implies `implied`, as Keystone's `create_implied_role`:
    /// both roles must exist (404), the implied role may not be a prohibited one (`admin`) nor
    /// a domain-specific role implied by a global one (403, in words that do not say which),
    /// and the rule may not exist yet (409).
    pub(crate) fn create_implied_role(
        &mut self,
        prior: &str,
        implied: &str,
    ) -> Result<(), ApiError> {
        let implied_role = self
            .roles
            .get(implied)
            .ok_or_else(|| ApiError::not_found("role", implied))?;
        let prior_role = self
            .roles
            .get(prior)
            .ok_or_else(|| ApiError::not_found("role", prior))?;
        if PROHIBITED_IMPLIED_ROLES.contains(&implied_role.name.as_str())
            || (prior_role.domain_id.is_none() && implied_role.domain_id.is_some())
        {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                format!("{implied} cannot be an implied roles."),
            ));
        }
        let rule = (prior.to_owned(), implied.to_owned());
        if self.implied.contains(&rule) {
            return Err(ApiError::conflict("implied_role", "Duplicate entry"));
        }
        self.implied.push(rule);
        Ok(())
    }

    /// Keystone's `ImpliedRoleNotFound` unless `prior` implies `implied`.
    pub(crate) fn check_implied_role(&self, prior: &str, implied: &str) -> Result<(), ApiError> {
        if self
            .implied
            .contains(&(prior.to_owned(), implied.to_owned()))
        {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::NOT_FOUND,
                format!("{prior} does not imply {implied}."),
            ))
        }
    }

    /// Deletes the rule that `prior` implies `implied` (404 when there is none).
    pub(crate) fn delete_implied_role(
        &mut self,
        prior: &str,
        implied: &str,
    ) -> Result<(), ApiError> {
        self.check_implied_role(prior, implied)?;
        self.implied.retain(|(a, b)| a != prior || b != implied);
        Ok(())
    }

    /// Checks that a grant's parts exist.
    pub(crate) fn check_grant_parts(&self, g: &Grant) -> Result<(), ApiError> {
        if self.actor_domain(&g.actor).is_none() {
            return Err(ApiError::not_found(g.actor.kind(), g.actor.id()));
        }
        if !self.roles.contains_key(&g.role_id) {
            return Err(ApiError::not_found("role", &g.role_id));
        }
        match &g.target {
            Target::Project(p) if !self.projects.contains_key(p) => {
                Err(ApiError::not_found("project", p))
            }
            // a domain-specific role is granted only on its domain's projects
            Target::Project(p)
                if self.roles[&g.role_id]
                    .domain_id
                    .as_ref()
                    .is_some_and(|d| self.projects.get(p).is_some_and(|x| &x.domain_id != d)) =>
            {
                Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    format!(
                        "Project {p} must be in the same domain as the role {} being assigned.",
                        g.role_id
                    ),
                ))
            }
            Target::Domain(d) if !self.domains.contains_key(d) => {
                Err(ApiError::not_found("domain", d))
            }
            _ => Ok(()),
        }
    }

    /// Grants a role (idempotent, as `PUT` is).
    pub(crate) fn grant(&mut self, g: Grant) -> Result<(), ApiError> {
        self.check_grant_parts(&g)?;
        self.grants.insert(g);
        Ok(())
    }

    /// Revokes a role grant.
    pub(crate) fn revoke_grant(&mut self, g: &Grant) -> Result<(), ApiError> {
        self.check_grant_parts(g)?;
        if !self.grants.remove(g) {
            return Err(ApiError::not_found(
                "grant",
                &format!("role {} for {} {}", g.role_id, g.actor.kind(), g.actor.id()),
            ));
        }
        Ok(())
    }
}

/// A row of a role assignment list: `holder` holds `role_id` on `target` through `grant`.
#[derive(Debug, Clone)]
pub(crate) struct AssignmentRow<'a> {
    /// The grant the row comes from.
    pub(crate) grant: &'a Grant,
    /// Where: the grant's target or, effective, a project an inherited grant reaches.
    pub(crate) target: Target,
    /// Who: the grant's user or group or, effective, a member of its group.
    pub(crate) holder: Actor,
    /// The role: the granted one or, effective, one it implies.
    pub(crate) role_id: String,
    /// For an implied role, the role implying it directly.
    pub(crate) prior: Option<String>,
}

impl Store {
    /// The rows of a role assignment list before its filters, in the order of the grants. A
    /// grant is one row; with `effective`, the rows it amounts to, as Keystone lists them: an
    /// inherited grant's on each project it reaches, a group's for each member, each with the
    /// granted role then each role it implies (with the role implying it directly), and no
    /// system grant (Keystone's effective listing reads none).
    pub(crate) fn assignment_rows(&self, effective: bool) -> Vec<AssignmentRow<'_>> {
        let mut rows = Vec::new();
        for g in &self.grants {
            if effective && g.target == Target::System {
                continue;
            }
            let targets = if effective && g.inherited {
                self.inheriting_projects(&g.target)
                    .into_iter()
                    .map(Target::Project)
                    .collect()
            } else {
                vec![g.target.clone()]
            };
            let holders: Vec<Actor> = match (&g.actor, effective) {
                (Actor::Group(group), true) => self
                    .members
                    .iter()
                    .filter(|(member_of, _)| member_of == group)
                    .map(|(_, user)| Actor::User(user.clone()))
                    .collect(),
                (actor, _) => vec![actor.clone()],
            };
            let mut roles = vec![(g.role_id.clone(), None)];
            if effective {
                let implied = self.implied_with_priors(&g.role_id);
                roles.extend(implied.into_iter().map(|(role, prior)| (role, Some(prior))));
                // a domain-specific role counts only for the roles it implies
                roles.retain(|(role, _)| !self.is_domain_role(role));
            }
            for target in &targets {
                for holder in &holders {
                    for (role_id, prior) in &roles {
                        rows.push(AssignmentRow {
                            grant: g,
                            target: target.clone(),
                            holder: holder.clone(),
                            role_id: role_id.clone(),
                            prior: prior.clone(),
                        });
                    }
                }
            }
        }
        rows
    }
}
