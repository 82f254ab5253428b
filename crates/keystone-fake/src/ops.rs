//! Creating, changing and deleting resources, with Keystone's conflicts and not-found errors.
//! Both the HTTP API and the Rust seeding API go through these.

use chrono::{DateTime, Utc};
use keystone_types::Secret;
use keystone_types::resources::{
    ApplicationCredentialCreate, DomainCreate, DomainUpdate, EndpointCreate, EndpointUpdate,
    GroupCreate, GroupUpdate, ProjectCreate, ProjectUpdate, RegionCreate, RegionUpdate, RoleCreate,
    RoleUpdate, ServiceCreate, ServiceUpdate, TrustCreate, UserCreate, UserUpdate,
};
use rand::RngCore;

use crate::error::ApiError;
use crate::store::{
    AccessRuleRec, Actor, AppCredRec, DomainRec, EndpointRec, Grant, GroupRec, ProjectRec,
    RegionRec, RoleRec, ServiceRec, Store, Target, TrustRec, UserRec, new_id,
};

const INTERFACES: [&str; 3] = ["public", "internal", "admin"];

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

/// The names of roles no rule may imply: Keystone's `[assignment] prohibited_implied_role`
/// default.
const PROHIBITED_IMPLIED_ROLES: [&str; 1] = ["admin"];

/// Keystone's `ResourceUpdateForbidden` / `ResourceDeleteForbidden` for an immutable role
/// (the stray backquote is Keystone's).
fn immutable(action: &str, id: &str) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::FORBIDDEN,
        format!(
            "Unable to {action} immutable role resource: `{id}. Set resource option \"immutable\" \
             to false first."
        ),
    )
}

/// A 400 of Keystone's `ValidationError` family: the message, then the sentence they end
/// with.
fn validation_detail(message: &str) -> ApiError {
    ApiError::bad_request(format!(
        "{message} The server could not comply with the request since it is either malformed \
         or otherwise incorrect. The client is assumed to be in error."
    ))
}

/// The `expires_at` of an application credential or a trust as Keystone's
/// `parse_expiration_date` reads it: a `Z` is added unless the text ends with one, then the
/// text must be an ISO 8601 date and time (`T` or a space between them, seconds and a
/// fraction optional; a date alone, or any other zone, followed by that `Z` does not parse);
/// not before `now`.
fn parse_expiration(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, ApiError> {
    const FORMATS: [&str; 4] = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y%m%dT%H%M%S%.f",
        "%Y%m%dT%H%M",
    ];
    let bare = text
        .strip_suffix('Z')
        .unwrap_or(text)
        .replacen(' ', "T", 1)
        .replace(',', ".");
    let parsed = FORMATS
        .iter()
        .find_map(|f| chrono::NaiveDateTime::parse_from_str(&bare, f).ok())
        .map(|n| n.and_utc())
        .ok_or_else(|| validation_detail("Timestamp not in expected format."))?;
    if parsed < now {
        return Err(validation_detail(
            "The 'expires_at' must not be before now.",
        ));
    }
    Ok(parsed)
}

impl Store {
    /// Creates a domain.
    pub(crate) fn create_domain(
        &mut self,
        c: DomainCreate,
        id: Option<String>,
    ) -> Result<DomainRec, ApiError> {
        if self.domains.values().any(|d| d.name == c.name) {
            return Err(ApiError::conflict(
                "domain",
                format!("Duplicate entry found with name {}", c.name),
            ));
        }
        let rec = DomainRec {
            id: id.unwrap_or_else(new_id),
            name: c.name,
            description: c.description.unwrap_or_default(),
            enabled: c.enabled.unwrap_or(true),
            tags: c.tags.unwrap_or_default(),
        };
        self.domains.insert(rec.id.clone(), rec.clone());
        Ok(rec)
    }

    /// Updates a domain.
    pub(crate) fn update_domain(
        &mut self,
        id: &str,
        u: DomainUpdate,
    ) -> Result<DomainRec, ApiError> {
        if let Some(name) = &u.name
            && self.domains.values().any(|d| &d.name == name && d.id != id)
        {
            return Err(ApiError::conflict(
                "domain",
                format!("Duplicate entry found with name {name}"),
            ));
        }
        let d = self
            .domains
            .get_mut(id)
            .ok_or_else(|| ApiError::not_found("domain", id))?;
        if let Some(v) = u.name {
            d.name = v;
        }
        if let Some(v) = u.description {
            d.description = v;
        }
        if let Some(v) = u.enabled {
            d.enabled = v;
        }
        if let Some(v) = u.tags {
            d.tags = v;
        }
        Ok(d.clone())
    }

    /// Deletes a domain; like Keystone, only a disabled one.
    pub(crate) fn delete_domain(&mut self, id: &str) -> Result<(), ApiError> {
        let d = self
            .domains
            .get(id)
            .ok_or_else(|| ApiError::not_found("domain", id))?;
        if d.enabled {
            return Err(ApiError::new(
                axum::http::StatusCode::FORBIDDEN,
                "Cannot delete a domain that is enabled, please disable it first.",
            ));
        }
        self.domains.remove(id);
        // its projects (each with what goes with it) and users (likewise), as Keystone deletes
        // a domain's contents
        let projects: Vec<String> = self
            .projects
            .values()
            .filter(|p| p.domain_id == id)
            .map(|p| p.id.clone())
            .collect();
        for p in projects {
            self.remove_project(&p);
        }
        let users: Vec<String> = self
            .users
            .values()
            .filter(|u| u.domain_id == id)
            .map(|u| u.id.clone())
            .collect();
        for u in users {
            self.delete_user(&u)?;
        }
        let groups: Vec<String> = self
            .groups
            .values()
            .filter(|g| g.domain_id == id)
            .map(|g| g.id.clone())
            .collect();
        for g in groups {
            self.delete_group(&g)?;
        }
        self.grants
            .retain(|g| g.target != Target::Domain(id.to_owned()));
        Ok(())
    }

    /// Creates a project.
    pub(crate) fn create_project(&mut self, c: ProjectCreate) -> Result<ProjectRec, ApiError> {
        let domain_id = c.domain_id.unwrap_or_else(|| "default".to_owned());
        if !self.domains.contains_key(&domain_id) {
            return Err(ApiError::bad_request(format!(
                "Could not find domain: {domain_id}."
            )));
        }
        if let Some(parent) = &c.parent_id
            && parent != &domain_id
        {
            let Some(parent_rec) = self.projects.get(parent) else {
                return Err(ApiError::bad_request(format!(
                    "Could not find project: {parent}."
                )));
            };
            // a project tree stays in one domain
            if parent_rec.domain_id != domain_id {
                return Err(ApiError::bad_request(format!(
                    "Cannot create project, since it specifies its domain_id {domain_id}, but \
                     specifies a parent in a different domain ({}).",
                    parent_rec.domain_id
                )));
            }
        }
        if self
            .projects
            .values()
            .any(|p| p.name == c.name && p.domain_id == domain_id)
        {
            return Err(ApiError::conflict(
                "project",
                format!(
                    "Duplicate entry found with name {} at domain ID {domain_id}",
                    c.name
                ),
            ));
        }
        let rec = ProjectRec {
            id: new_id(),
            name: c.name,
            parent_id: Some(c.parent_id.unwrap_or_else(|| domain_id.clone())),
            domain_id,
            description: c.description.unwrap_or_default(),
            enabled: c.enabled.unwrap_or(true),
            tags: c.tags.unwrap_or_default(),
        };
        self.projects.insert(rec.id.clone(), rec.clone());
        Ok(rec)
    }

    /// Updates a project.
    pub(crate) fn update_project(
        &mut self,
        id: &str,
        u: ProjectUpdate,
    ) -> Result<ProjectRec, ApiError> {
        let domain_id = self
            .projects
            .get(id)
            .ok_or_else(|| ApiError::not_found("project", id))?
            .domain_id
            .clone();
        if let Some(name) = &u.name
            && self
                .projects
                .values()
                .any(|p| &p.name == name && p.domain_id == domain_id && p.id != id)
        {
            return Err(ApiError::conflict(
                "project",
                format!("Duplicate entry found with name {name} at domain ID {domain_id}"),
            ));
        }
        let p = self
            .projects
            .get_mut(id)
            .ok_or_else(|| ApiError::not_found("project", id))?;
        if let Some(v) = u.name {
            p.name = v;
        }
        if let Some(v) = u.description {
            p.description = v;
        }
        if let Some(v) = u.enabled {
            p.enabled = v;
        }
        if let Some(v) = u.tags {
            p.tags = v;
        }
        Ok(p.clone())
    }

    /// Deletes a project with its grants, application credentials and trusts.
    pub(crate) fn delete_project(&mut self, id: &str) -> Result<(), ApiError> {
        if !self.projects.contains_key(id) {
            return Err(ApiError::not_found("project", id));
        }
        // as Keystone (without `cascade`): only a leaf of the hierarchy
        if self
            .projects
            .values()
            .any(|p| p.parent_id.as_deref() == Some(id))
        {
            return Err(ApiError::new(
                axum::http::StatusCode::FORBIDDEN,
                format!(
                    "Cannot delete the project {id} since it is not a leaf in the hierarchy. Use \
                     the cascade option if you want to delete a whole subtree."
                ),
            ));
        }
        self.remove_project(id);
        Ok(())
    }

    /// Removes a project with its grants, application credentials and trusts.
    fn remove_project(&mut self, id: &str) {
        self.projects.remove(id);
        self.grants
            .retain(|g| g.target != Target::Project(id.to_owned()));
        self.app_creds.retain(|_, c| c.project_id != id);
        for t in &mut self.trusts {
            if t.project_id.as_deref() == Some(id) {
                t.deleted = true;
            }
        }
    }

    /// Creates a user.
    pub(crate) fn create_user(&mut self, c: UserCreate) -> Result<UserRec, ApiError> {
        let domain_id = c.domain_id.unwrap_or_else(|| "default".to_owned());
        if !self.domains.contains_key(&domain_id) {
            return Err(ApiError::bad_request(format!(
                "Could not find domain: {domain_id}."
            )));
        }
        if self
            .users
            .values()
            .any(|u| u.name == c.name && u.domain_id == domain_id)
        {
            return Err(ApiError::conflict(
                "user",
                format!(
                    "Duplicate entry found with name {} at domain ID {domain_id}",
                    c.name
                ),
            ));
        }
        let rec = UserRec {
            id: new_id(),
            name: c.name,
            domain_id,
            password: c.password,
            email: c.email,
            description: c.description,
            default_project_id: c.default_project_id,
            enabled: c.enabled.unwrap_or(true),
        };
        self.users.insert(rec.id.clone(), rec.clone());
        Ok(rec)
    }

    /// Updates a user.
    pub(crate) fn update_user(&mut self, id: &str, u: UserUpdate) -> Result<UserRec, ApiError> {
        let domain_id = self
            .users
            .get(id)
            .ok_or_else(|| ApiError::not_found("user", id))?
            .domain_id
            .clone();
        if let Some(name) = &u.name
            && self
                .users
                .values()
                .any(|x| &x.name == name && x.domain_id == domain_id && x.id != id)
        {
            return Err(ApiError::conflict(
                "user",
                format!("Duplicate entry found with name {name} at domain ID {domain_id}"),
            ));
        }
        // Keystone revokes a user's tokens when they are disabled or their password changes
        // (identity `update_user`); enabling them again brings none back
        let revoke = u.password.is_some()
            || (u.enabled == Some(false) && self.users.get(id).is_some_and(|x| x.enabled));
        if revoke {
            self.revoke_user_tokens(id);
        }
        let rec = self
            .users
            .get_mut(id)
            .ok_or_else(|| ApiError::not_found("user", id))?;
        if let Some(v) = u.name {
            rec.name = v;
        }
        if let Some(v) = u.email {
            rec.email = Some(v);
        }
        if let Some(v) = u.description {
            rec.description = Some(v);
        }
        if let Some(v) = u.default_project_id {
            rec.default_project_id = Some(v);
        }
        if let Some(v) = u.enabled {
            rec.enabled = v;
        }
        if let Some(v) = u.password {
            rec.password = Some(v);
        }
        Ok(rec.clone())
    }

    /// Changes a user's password on their own behalf, as Keystone's `change_password`: the
    /// original password authenticates the change, and every way that fails (no such user, a
    /// wrong password, a disabled user) is the same 401. As any new password does, it revokes
    /// the user's tokens.
    pub(crate) fn change_password(
        &mut self,
        user_id: &str,
        original: &Secret,
        new: Secret,
    ) -> Result<(), ApiError> {
        let user = self.users.get(user_id).ok_or_else(ApiError::unauthorized)?;
        if user.password.as_ref() != Some(original) || !user.enabled {
            return Err(ApiError::unauthorized());
        }
        self.update_user(
            user_id,
            UserUpdate {
                password: Some(new),
                ..Default::default()
            },
        )?;
        Ok(())
    }

    /// Deletes a user with their grants, application credentials, access rules and the trusts
    /// they are the trustor or the trustee of.
    pub(crate) fn delete_user(&mut self, id: &str) -> Result<(), ApiError> {
        self.users
            .remove(id)
            .ok_or_else(|| ApiError::not_found("user", id))?;
        self.grants
            .retain(|g| g.actor != Actor::User(id.to_owned()));
        self.members.retain(|(_, u)| u != id);
        self.app_creds.retain(|_, c| c.user_id != id);
        self.access_rules.retain(|_, r| r.user_id != id);
        for t in &mut self.trusts {
            if t.trustor_user_id == id || t.trustee_user_id == id {
                t.deleted = true;
            }
        }
        Ok(())
    }

    /// Creates a role.
    pub(crate) fn create_role(&mut self, c: RoleCreate) -> Result<RoleRec, ApiError> {
        if self
            .roles
            .values()
            .any(|r| r.name == c.name && r.domain_id == c.domain_id)
        {
            return Err(ApiError::conflict(
                "role",
                format!("Duplicate entry found with name {}", c.name),
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
                axum::http::StatusCode::FORBIDDEN,
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
                axum::http::StatusCode::NOT_FOUND,
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

    // ----- groups --------------------------------------------------------------------------

    /// A group, or Keystone's 404.
    pub(crate) fn group(&self, id: &str) -> Result<&GroupRec, ApiError> {
        self.groups
            .get(id)
            .ok_or_else(|| ApiError::not_found("group", id))
    }

    fn check_group_name(&self, name: &str, domain_id: &str, except: &str) -> Result<(), ApiError> {
        if self
            .groups
            .values()
            .any(|g| g.name == name && g.domain_id == domain_id && g.id != except)
        {
            return Err(ApiError::conflict(
                "group",
                format!("Duplicate entry found with name {name} at domain ID {domain_id}"),
            ));
        }
        Ok(())
    }

    /// Creates a group (its name trimmed, as Keystone trims it).
    pub(crate) fn create_group(&mut self, c: GroupCreate) -> Result<GroupRec, ApiError> {
        let domain_id = c.domain_id.unwrap_or_else(|| "default".to_owned());
        if !self.domains.contains_key(&domain_id) {
            return Err(ApiError::not_found("domain", &domain_id));
        }
        let name = c.name.trim().to_owned();
        self.check_group_name(&name, &domain_id, "")?;
        let rec = GroupRec {
            id: new_id(),
            name,
            domain_id,
            description: c.description.unwrap_or_default(),
        };
        self.groups.insert(rec.id.clone(), rec.clone());
        Ok(rec)
    }

    /// Updates a group's name or description; its domain cannot change.
    pub(crate) fn update_group(&mut self, id: &str, u: GroupUpdate) -> Result<GroupRec, ApiError> {
        let domain_id = self.group(id)?.domain_id.clone();
        if u.domain_id.as_ref().is_some_and(|d| d != &domain_id) {
            return Err(ApiError::bad_request("Cannot change Domain ID"));
        }
        let name = u.name.map(|n| n.trim().to_owned());
        if let Some(name) = &name {
            self.check_group_name(name, &domain_id, id)?;
        }
        let g = self.groups.get_mut(id).expect("looked up above");
        if let Some(name) = name {
            g.name = name;
        }
        if let Some(d) = u.description {
            g.description = d;
        }
        Ok(g.clone())
    }

    /// Deletes a group with its grants and memberships. As Keystone does, the members' tokens
    /// are revoked when the group held any role.
    pub(crate) fn delete_group(&mut self, id: &str) -> Result<(), ApiError> {
        self.group(id)?;
        let actor = Actor::Group(id.to_owned());
        let had_roles = self.grants.iter().any(|g| g.actor == actor);
        let members: Vec<String> = self
            .members
            .iter()
            .filter(|(g, _)| g == id)
            .map(|(_, u)| u.clone())
            .collect();
        self.groups.remove(id);
        self.grants.retain(|g| g.actor != actor);
        self.members.retain(|(g, _)| g != id);
        if had_roles {
            for user in members {
                self.revoke_user_tokens(&user);
            }
        }
        Ok(())
    }

    /// The group and the user of a membership, each looked up (group first, as Keystone does).
    fn membership_parts(&self, group_id: &str, user_id: &str) -> Result<(), ApiError> {
        self.group(group_id)?;
        if !self.users.contains_key(user_id) {
            return Err(ApiError::not_found("user", user_id));
        }
        Ok(())
    }

    fn not_a_member(group_id: &str, user_id: &str) -> ApiError {
        ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            format!("User '{user_id}' not found in group '{group_id}'"),
        )
    }

    /// Adds a user to a group (idempotent, as `PUT` is).
    pub(crate) fn add_user_to_group(
        &mut self,
        group_id: &str,
        user_id: &str,
    ) -> Result<(), ApiError> {
        self.membership_parts(group_id, user_id)?;
        self.members
            .insert((group_id.to_owned(), user_id.to_owned()));
        Ok(())
    }

    /// Whether a user is a member of a group: `Ok` or Keystone's 404.
    pub(crate) fn check_user_in_group(
        &self,
        group_id: &str,
        user_id: &str,
    ) -> Result<(), ApiError> {
        self.membership_parts(group_id, user_id)?;
        if self
            .members
            .contains(&(group_id.to_owned(), user_id.to_owned()))
        {
            Ok(())
        } else {
            Err(Self::not_a_member(group_id, user_id))
        }
    }

    /// Removes a user from a group and, as Keystone does, revokes the user's tokens.
    pub(crate) fn remove_user_from_group(
        &mut self,
        group_id: &str,
        user_id: &str,
    ) -> Result<(), ApiError> {
        if !self
            .members
            .remove(&(group_id.to_owned(), user_id.to_owned()))
        {
            self.membership_parts(group_id, user_id)?;
            return Err(Self::not_a_member(group_id, user_id));
        }
        self.revoke_user_tokens(user_id);
        Ok(())
    }

    /// Creates a service.
    pub(crate) fn create_service(&mut self, c: ServiceCreate) -> Result<ServiceRec, ApiError> {
        let rec = ServiceRec {
            id: new_id(),
            kind: c.kind,
            name: c.name,
            description: c.description,
            enabled: c.enabled.unwrap_or(true),
        };
        self.services.insert(rec.id.clone(), rec.clone());
        Ok(rec)
    }

    /// Updates a service.
    pub(crate) fn update_service(
        &mut self,
        id: &str,
        u: ServiceUpdate,
    ) -> Result<ServiceRec, ApiError> {
        let s = self
            .services
            .get_mut(id)
            .ok_or_else(|| ApiError::not_found("service", id))?;
        if let Some(v) = u.kind {
            s.kind = v;
        }
        if let Some(v) = u.name {
            s.name = Some(v);
        }
        if let Some(v) = u.description {
            s.description = Some(v);
        }
        if let Some(v) = u.enabled {
            s.enabled = v;
        }
        Ok(s.clone())
    }

    /// Deletes a service and its endpoints.
    pub(crate) fn delete_service(&mut self, id: &str) -> Result<(), ApiError> {
        self.services
            .remove(id)
            .ok_or_else(|| ApiError::not_found("service", id))?;
        self.endpoints.retain(|_, e| e.service_id != id);
        Ok(())
    }

    fn check_endpoint(
        &self,
        interface: &str,
        service_id: &str,
        region: Option<&String>,
    ) -> Result<(), ApiError> {
        if !INTERFACES.contains(&interface) {
            return Err(ApiError::bad_request(
                "Invalid input for field 'interface': the value does not match \
                 '^public$|^internal$|^admin$'",
            ));
        }
        if !self.services.contains_key(service_id) {
            return Err(ApiError::bad_request(format!(
                "Could not find service: {service_id}."
            )));
        }
        if let Some(r) = region
            && !self.regions.contains_key(r)
        {
            return Err(ApiError::bad_request(format!(
                "Could not find region: {r}."
            )));
        }
        Ok(())
    }

    /// Creates an endpoint.
    pub(crate) fn create_endpoint(&mut self, c: EndpointCreate) -> Result<EndpointRec, ApiError> {
        let region_id = c.region_id.or(c.region);
        self.check_endpoint(&c.interface, &c.service_id, region_id.as_ref())?;
        let rec = EndpointRec {
            id: new_id(),
            service_id: c.service_id,
            interface: c.interface,
            url: c.url,
            region_id,
            enabled: c.enabled.unwrap_or(true),
        };
        self.endpoints.insert(rec.id.clone(), rec.clone());
        Ok(rec)
    }

    /// Updates an endpoint.
    pub(crate) fn update_endpoint(
        &mut self,
        id: &str,
        u: EndpointUpdate,
    ) -> Result<EndpointRec, ApiError> {
        let mut e = self
            .endpoints
            .get(id)
            .ok_or_else(|| ApiError::not_found("endpoint", id))?
            .clone();
        if let Some(v) = u.interface {
            e.interface = v;
        }
        if let Some(v) = u.service_id {
            e.service_id = v;
        }
        if let Some(v) = u.region_id {
            e.region_id = Some(v);
        }
        if let Some(v) = u.url {
            e.url = v;
        }
        if let Some(v) = u.enabled {
            e.enabled = v;
        }
        self.check_endpoint(&e.interface, &e.service_id, e.region_id.as_ref())?;
        self.endpoints.insert(id.to_owned(), e.clone());
        Ok(e)
    }

    /// Deletes an endpoint.
    pub(crate) fn delete_endpoint(&mut self, id: &str) -> Result<(), ApiError> {
        self.endpoints
            .remove(id)
            .map(|_| ())
            .ok_or_else(|| ApiError::not_found("endpoint", id))
    }

    /// Creates a region, with a fresh id when none (or an empty one) is given. As Keystone's
    /// `create_region`, an id in use is a 409 (the doubled period is Keystone's) and a parent
    /// that does not exist a 404.
    pub(crate) fn create_region(&mut self, c: RegionCreate) -> Result<RegionRec, ApiError> {
        let id = c.id.filter(|id| !id.is_empty()).unwrap_or_else(new_id);
        if self.regions.contains_key(&id) {
            return Err(ApiError::conflict("region", format!("Duplicate ID, {id}.")));
        }
        if let Some(p) = &c.parent_region_id
            && !self.regions.contains_key(p)
        {
            return Err(ApiError::not_found("region", p));
        }
        let rec = RegionRec {
            id,
            description: c.description.unwrap_or_default(),
            parent_region_id: c.parent_region_id,
        };
        self.regions.insert(rec.id.clone(), rec.clone());
        Ok(rec)
    }

    /// Updates a region.
    pub(crate) fn update_region(
        &mut self,
        id: &str,
        u: RegionUpdate,
    ) -> Result<RegionRec, ApiError> {
        let r = self
            .regions
            .get_mut(id)
            .ok_or_else(|| ApiError::not_found("region", id))?;
        if let Some(v) = u.description {
            r.description = v;
        }
        if let Some(v) = u.parent_region_id {
            r.parent_region_id = Some(v);
        }
        Ok(r.clone())
    }

    /// Deletes a region.
    pub(crate) fn delete_region(&mut self, id: &str) -> Result<(), ApiError> {
        self.regions
            .remove(id)
            .map(|_| ())
            .ok_or_else(|| ApiError::not_found("region", id))
    }

    /// Creates an application credential for `user_id` on `project_id`, carrying `role_ids`
    /// (which must be among `available` roles, the creating token's).
    pub(crate) fn create_app_cred(
        &mut self,
        user_id: &str,
        project_id: &str,
        available: &[String],
        c: ApplicationCredentialCreate,
        now: DateTime<Utc>,
    ) -> Result<AppCredRec, ApiError> {
        if !self.users.contains_key(user_id) {
            return Err(ApiError::not_found("user", user_id));
        }
        // Keystone's `_get_roles`: no roles, or an empty list (what the openstack CLI sends
        // without --role), means all of the creating token's roles; roles named are looked up
        // (an unknown name is a 404), the roles they imply added, and every one must be among
        // the token's.
        let role_ids = match c.roles.filter(|r| !r.is_empty()) {
            None => available.to_vec(),
            Some(wanted) => {
                let mut ids = Vec::new();
                for w in wanted {
                    let id = match (&w.id, &w.name) {
                        (Some(id), _) => id.clone(),
                        (None, Some(name)) => self
                            .role_by_name(name)
                            .ok_or_else(|| ApiError::not_found("role", name))?
                            .id
                            .clone(),
                        (None, None) => {
                            return Err(crate::app::validation_error("id or name", "role"));
                        }
                    };
                    if !ids.contains(&id) {
                        ids.push(id);
                    }
                }
                let ids = self.expand_implied(ids);
                if ids.iter().any(|id| !available.contains(id)) {
                    return Err(ApiError::bad_request(
                        "Invalid application credential: Cannot create an application \
                         credential with unassigned role",
                    ));
                }
                ids
            }
        };
        let expires_at = c
            .expires_at
            .as_deref()
            .filter(|t| !t.is_empty())
            .map(|t| parse_expiration(t, now))
            .transpose()?;
        if self
            .app_creds
            .values()
            .any(|a| a.user_id == user_id && a.name == c.name)
        {
            return Err(ApiError::conflict(
                "application_credential",
                format!("Duplicate entry found with name {}", c.name),
            ));
        }
        let (access_rules, new_rules) =
            self.resolve_access_rules(user_id, c.access_rules.unwrap_or_default())?;
        let secret = c.secret.unwrap_or_else(|| {
            let mut bytes = [0u8; 64];
            rand::rng().fill_bytes(&mut bytes);
            Secret::new(base64::Engine::encode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                bytes,
            ))
        });
        let rec = AppCredRec {
            id: new_id(),
            name: c.name,
            user_id: user_id.to_owned(),
            project_id: project_id.to_owned(),
            secret,
            role_ids,
            description: c.description,
            expires_at,
            unrestricted: c.unrestricted,
            access_rules,
        };
        for rule in new_rules {
            self.access_rules.insert(rule.id.clone(), rule);
        }
        self.app_creds.insert(rec.id.clone(), rec.clone());
        Ok(rec)
    }

    /// The access rules a new application credential of `user_id` is limited to, found as
    /// Keystone's driver finds them: a rule named by the id of one of the user's rules is that
    /// rule (another user's is a 404), a rule for the same service, path and method as one of
    /// the user's is that one, and any other is a new rule of the user, with the id given or a
    /// fresh one. Returns the credential's rules and the new ones; nothing is stored yet.
    fn resolve_access_rules(
        &self,
        user_id: &str,
        wanted: Vec<keystone_types::token::AccessRule>,
    ) -> Result<(Vec<keystone_types::token::AccessRule>, Vec<AccessRuleRec>), ApiError> {
        let mut used: Vec<keystone_types::token::AccessRule> = Vec::new();
        let mut created: Vec<AccessRuleRec> = Vec::new();
        for w in wanted {
            let known = |r: &&AccessRuleRec| {
                w.id.as_ref().is_some_and(|id| &r.id == id)
                    || (r.user_id == user_id
                        && r.service == w.service
                        && r.path == w.path
                        && r.method == w.method)
            };
            // a rule named by id is found before one alike
            let found = self
                .access_rules
                .values()
                .chain(created.iter())
                .filter(known)
                .min_by_key(|r| w.id.as_ref() != Some(&r.id))
                .cloned();
            let rule = match found {
                Some(r) if r.user_id != user_id => {
                    return Err(ApiError::not_found("Access Rule", &r.id));
                }
                Some(r) => r,
                None => {
                    let r = AccessRuleRec {
                        id: w.id.clone().unwrap_or_else(new_id),
                        user_id: user_id.to_owned(),
                        service: w.service,
                        method: w.method,
                        path: w.path,
                    };
                    created.push(r.clone());
                    r
                }
            };
            let rule = rule.rule();
            if !used.contains(&rule) {
                used.push(rule);
            }
        }
        Ok((used, created))
    }

    /// Creates a trust from a request whose caller is its trustor (the policy checked that),
    /// with Keystone's checks in Keystone's order: the trustee must exist (404); roles named
    /// by name must exist (404, "Role X is not defined"), the project too (404), and the
    /// trustor must hold every role on it, implied ones counting (404 for the role); then
    /// the expiry (400), redelegation (`allow_redelegation`: a depth past 3 is a 403, with
    /// `remaining_uses` a 400), and duplicates (409: a role named twice, or a trust like
    /// another, deleted ones included, down to its expiry). `redelegating_from` is the trust
    /// of a trust-scoped caller: Keystone refuses that when the trust may not be redelegated
    /// (403), and the fake does not serve redelegation (501).
    pub(crate) fn create_trust(
        &mut self,
        new: NewTrust,
        redelegating_from: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<TrustRec, ApiError> {
        let c = new.create;
        if !self.users.contains_key(&c.trustee_user_id) {
            return Err(ApiError::not_found("user", &c.trustee_user_id));
        }
        let mut role_ids = Vec::new();
        for r in &c.roles {
            let id = match (&r.id, &r.name) {
                (Some(id), _) => id.clone(),
                (None, Some(name)) => self
                    .role_by_name(name)
                    .ok_or_else(|| {
                        ApiError::new(
                            axum::http::StatusCode::NOT_FOUND,
                            format!("Role {name} is not defined"),
                        )
                    })?
                    .id
                    .clone(),
                (None, None) => return Err(crate::app::validation_error("id or name", "role")),
            };
            role_ids.push(id);
        }
        let held = match c.project_id.as_deref().filter(|p| !p.is_empty()) {
            Some(project) => {
                if !self.projects.contains_key(project) {
                    return Err(ApiError::not_found("project", project));
                }
                self.effective_roles(&c.trustor_user_id, &Target::Project(project.to_owned()))
            }
            None => Vec::new(),
        };
        if let Some(missing) = role_ids.iter().find(|r| !held.contains(r)) {
            return Err(ApiError::not_found("role", missing));
        }
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
        // a redelegation: the new trust takes one step of its parent's depth, and every trust of
        // the chain must allow it (Keystone's `create_trust` and `_validate_redelegation`)
        let (redelegation_count, expires_at) = match &parent {
            None => (redelegation_count, expires_at),
            Some(p) => {
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
                    expires_at = redelegation_allowed(
                        t,
                        &role_ids,
                        c.impersonation,
                        c.remaining_uses,
                        expires_at,
                    )?;
                }
                (count, expires_at)
            }
        };
        let id = new_id();
        let duplicate_role = role_ids
            .iter()
            .enumerate()
            .any(|(i, r)| role_ids[..i].contains(r));
        // kept as given: an empty project id is no project for the roles, as in Keystone
        let project_id = c.project_id;
        let duplicate_trust = project_id.is_some()
            && expires_at.is_some()
            && self.trusts.iter().any(|t| {
                t.trustor_user_id == c.trustor_user_id
                    && t.trustee_user_id == c.trustee_user_id
                    && t.project_id == project_id
                    && t.impersonation == c.impersonation
                    && t.expires_at == expires_at
            });
        if duplicate_role || duplicate_trust {
            return Err(ApiError::conflict(
                "trust",
                format!("Duplicate entry found with ID {id}"),
            ));
        }
        let rec = TrustRec {
            id,
            trustor_user_id: c.trustor_user_id,
            trustee_user_id: c.trustee_user_id,
            project_id,
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

    /// Deletes a trust that can still be used (404 otherwise, as Keystone finds it only
    /// then); its tokens no longer validate.
    pub(crate) fn delete_trust(&mut self, id: &str, now: DateTime<Utc>) -> Result<(), ApiError> {
        let trust = self
            .trusts
            .iter_mut()
            .find(|t| t.id == id && t.is_live(now))
            .ok_or_else(|| ApiError::not_found("trust", id))?;
        trust.deleted = true;
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

    /// Deletes one of `user_id`'s access rules: 404 when the user has no such rule, and, as
    /// Keystone answers, 403 while an application credential uses it.
    pub(crate) fn delete_access_rule(&mut self, user_id: &str, id: &str) -> Result<(), ApiError> {
        if self
            .access_rules
            .get(id)
            .is_none_or(|r| r.user_id != user_id)
        {
            return Err(ApiError::not_found("Access Rule", id));
        }
        let in_use = self
            .app_creds
            .values()
            .any(|c| c.access_rules.iter().any(|r| r.id.as_deref() == Some(id)));
        if in_use {
            return Err(ApiError::new(
                axum::http::StatusCode::FORBIDDEN,
                "May not delete access rule in use",
            ));
        }
        self.access_rules.remove(id);
        Ok(())
    }
}
