//! Application credentials and their access rules.

use chrono::{DateTime, Utc};
use keystone_types::Secret;
use keystone_types::resources::ApplicationCredentialCreate;
use keystone_types::token::AccessRule;
use rand::RngCore;

use super::{AccessRuleRec, AppCredRec, Store, new_id, parse_expiration};
use crate::error::{ApiError, StatusCode, validation_error};

impl Store {
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
                            return Err(validation_error("id or name", "role"));
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
        wanted: Vec<AccessRule>,
    ) -> Result<(Vec<AccessRule>, Vec<AccessRuleRec>), ApiError> {
        let mut used: Vec<AccessRule> = Vec::new();
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

    /// Deletes one of `user_id`'s application credentials (404 when the user has no such
    /// credential); its access rules stay.
    pub(crate) fn delete_app_cred(&mut self, user_id: &str, id: &str) -> Result<(), ApiError> {
        match self.app_creds.get(id) {
            Some(c) if c.user_id == user_id => {
                self.app_creds.remove(id);
                Ok(())
            }
            _ => Err(ApiError::not_found("application credential", id)),
        }
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
                StatusCode::FORBIDDEN,
                "May not delete access rule in use",
            ));
        }
        self.access_rules.remove(id);
        Ok(())
    }
}
