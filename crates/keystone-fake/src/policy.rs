//! Authorization of the fake's own API: Keystone 30.0.0's default rules for the actions the fake
//! serves, written out by hand in this one place. The policy-engine crate will replace this
//! with the real rule file (`fixtures/keystone-policy-effective.yaml`).

use crate::error::ApiError;
use crate::store::TokenScope;

/// Who is calling: what their `X-Auth-Token` says.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The caller's user id.
    pub user_id: String,
    /// The caller's user's domain.
    pub user_domain_id: String,
    /// The token's scope.
    pub scope: TokenScope,
    /// The scoped project's domain, for project-scoped tokens.
    pub project_domain_id: Option<String>,
    /// The token's effective role names.
    pub roles: Vec<String>,
    /// The token's effective role ids.
    pub role_ids: Vec<String>,
}

impl Caller {
    fn has(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r.eq_ignore_ascii_case(role))
    }

    fn system_reader(&self) -> bool {
        self.scope == TokenScope::System && self.has("reader")
    }

    fn admin(&self) -> bool {
        self.has("admin")
    }

    /// The scoped project's id.
    pub fn project_id(&self) -> Option<&str> {
        match &self.scope {
            TokenScope::Project(p) => Some(p),
            _ => None,
        }
    }

    fn domain_id(&self) -> Option<&str> {
        match &self.scope {
            TokenScope::Domain(d) => Some(d),
            _ => None,
        }
    }
}

/// The parts of the target that the rules look at.
#[derive(Debug, Clone, Default)]
pub struct PolicyTarget<'a> {
    /// The user the action is about (a token's owner, a credential's owner, a user resource).
    pub user_id: Option<&'a str>,
    /// The domain the target belongs to.
    pub domain_id: Option<&'a str>,
    /// The project the action is about.
    pub project_id: Option<&'a str>,
}

/// Allows or denies `rule` (such as `identity:validate_token`) with a 403 naming it.
pub fn enforce(rule: &str, caller: &Caller, target: &PolicyTarget<'_>) -> Result<(), ApiError> {
    if allowed(rule, caller, target) {
        Ok(())
    } else {
        Err(ApiError::forbidden(rule))
    }
}

fn allowed(rule: &str, c: &Caller, t: &PolicyTarget<'_>) -> bool {
    let admin_or_system_reader = c.admin() || c.system_reader();
    let subject = t.user_id == Some(c.user_id.as_str());
    let action = rule.strip_prefix("identity:").unwrap_or(rule);
    match action {
        "validate_token" => admin_or_system_reader || c.has("service") || subject,
        "check_token" => admin_or_system_reader || subject,
        "revoke_token" => c.admin() || subject,
        "get_region" | "list_regions" | "get_auth_catalog" | "get_auth_projects"
        | "get_auth_domains" | "get_auth_system" => true,
        "get_user" => {
            admin_or_system_reader
                || (c.has("reader") && c.domain_id().is_some() && c.domain_id() == t.domain_id)
                || subject
        }
        "list_user_projects" => admin_or_system_reader || subject,
        "get_project" => {
            admin_or_system_reader || (t.project_id.is_some() && c.project_id() == t.project_id)
        }
        "get_domain" => {
            admin_or_system_reader
                || (t.domain_id.is_some()
                    && (c.domain_id() == t.domain_id
                        || c.project_domain_id.as_deref() == t.domain_id))
        }
        "get_application_credential" | "list_application_credentials" => {
            admin_or_system_reader || subject
        }
        "create_application_credential" => subject,
        "delete_application_credential" => c.admin() || subject,
        a if a.starts_with("get_") || a.starts_with("list_") || a.starts_with("check_") => {
            admin_or_system_reader
        }
        _ => c.admin(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(roles: &[&str], scope: TokenScope) -> Caller {
        Caller {
            user_id: "u1".into(),
            user_domain_id: "default".into(),
            scope,
            project_domain_id: Some("default".into()),
            roles: roles.iter().map(|r| r.to_string()).collect(),
            role_ids: Vec::new(),
        }
    }

    fn check(
        rule: &str,
        roles: &[&str],
        scope: TokenScope,
        target_user: Option<&str>,
        expected: bool,
    ) {
        let c = caller(roles, scope);
        let t = PolicyTarget {
            user_id: target_user,
            ..Default::default()
        };
        assert_eq!(
            allowed(rule, &c, &t),
            expected,
            "{rule} for {roles:?} on {target_user:?}"
        );
    }

    #[test]
    fn keystone_defaults_for_the_seed_flow() {
        let p = || TokenScope::Project("p".into());
        check(
            "identity:validate_token",
            &["member", "reader"],
            p(),
            Some("u1"),
            true,
        );
        check(
            "identity:validate_token",
            &["member", "reader"],
            p(),
            Some("u2"),
            false,
        );
        check(
            "identity:validate_token",
            &["service"],
            p(),
            Some("u2"),
            true,
        );
        check("identity:validate_token", &["admin"], p(), Some("u2"), true);
        check(
            "identity:validate_token",
            &["reader"],
            TokenScope::System,
            Some("u2"),
            true,
        );
        check(
            "identity:revoke_token",
            &["reader"],
            TokenScope::System,
            Some("u2"),
            false,
        );
        check(
            "identity:create_service",
            &["member", "reader"],
            p(),
            None,
            false,
        );
        check("identity:create_service", &["admin"], p(), None, true);
        check("identity:list_services", &["member"], p(), None, false);
        check(
            "identity:list_services",
            &["reader"],
            TokenScope::System,
            None,
            true,
        );
        check("identity:list_regions", &["member"], p(), None, true);
        check(
            "identity:create_application_credential",
            &["member"],
            p(),
            Some("u1"),
            true,
        );
        check(
            "identity:create_application_credential",
            &["admin"],
            p(),
            Some("u2"),
            false,
        );
    }
}
