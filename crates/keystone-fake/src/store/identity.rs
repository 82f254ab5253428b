//! Users and groups, with group memberships (Keystone's identity subsystem).

use keystone_types::Secret;
use keystone_types::auth::DomainRef;
use keystone_types::resources::{GroupCreate, GroupUpdate, UserCreate, UserUpdate};

use super::{Actor, GroupRec, Revoked, Store, UserRec, new_id, unknown_attributes};
use crate::error::{ApiError, StatusCode};

/// Attributes of a user body Keystone knows without a field of their own here, or never shows.
const USER_KNOWN: &[&str] = &["id", "options", "federated", "tenants", "groups", "domains"];

impl Store {
    /// A user by id, or by name within a domain.
    pub fn find_user(
        &self,
        id: Option<&str>,
        name: Option<&str>,
        domain: Option<&DomainRef>,
    ) -> Option<&UserRec> {
        if let Some(id) = id {
            return self.users.get(id);
        }
        let domain = self.find_domain(domain?)?;
        let name = name?;
        self.users
            .values()
            .find(|u| u.name == name && u.domain_id == domain.id)
    }

    /// Creates a user.
    pub(crate) fn create_user(&mut self, c: UserCreate) -> Result<UserRec, ApiError> {
        let domain_id = c.domain_id.unwrap_or_else(|| "default".to_owned());
        // a 404, where a project in an unknown domain is a 400 (as Keystone answers)
        if !self.domains.contains_key(&domain_id) {
            return Err(ApiError::not_found("domain", &domain_id));
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
            extra: unknown_attributes(c.extra, USER_KNOWN),
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
            // a rename's conflict names no domain (Keystone's update carries none)
            return Err(ApiError::conflict(
                "user",
                format!("Duplicate entry found with name {name}"),
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
        rec.extra.extend(unknown_attributes(u.extra, USER_KNOWN));
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
        self.credentials.retain(|c| c.user_id != id);
        for t in &mut self.trusts {
            if t.trustor_user_id == id || t.trustee_user_id == id {
                t.deleted = true;
            }
        }
        self.record_user_event(id);
        Ok(())
    }

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
            StatusCode::NOT_FOUND,
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
        self.user_tokens_valid_from
            .insert(user_id.to_owned(), self.next_serial);
        // Keystone takes a second off, so that a token issued in the same second, after the
        // change, is not revoked
        self.record_event(Revoked {
            user_id: Some(user_id.to_owned()),
            earlier: chrono::Duration::seconds(1),
            ..Revoked::default()
        });
        Ok(())
    }
}
