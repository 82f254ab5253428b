//! Authorization of the fake's own API with Keystone 30.0.0's 204 default rules
//! (`policy/keystone-policy-effective.yaml`, compiled in), through `keystone-policy`.
//! Credentials and targets are built the way Keystone builds them: the caller's ids, roles and
//! token, and flattened `target.*` keys.

use std::sync::OnceLock;

use keystone_policy::{Enforcer, EnforcerConfig};
use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::store::{TokenScope, is_delegated};

/// Keystone's default rules, as `oslopolicy-policy-generator --namespace keystone` prints them.
pub(crate) const KEYSTONE_POLICY: &str = include_str!("../policy/keystone-policy-effective.yaml");

fn enforcer() -> &'static Enforcer {
    static ENFORCER: OnceLock<Enforcer> = OnceLock::new();
    ENFORCER.get_or_init(|| {
        let enforcer = Enforcer::new(EnforcerConfig::default());
        if let Err(e) = enforcer.set_inline_text(KEYSTONE_POLICY) {
            // the file is compiled in and tested; an error here is a build defect
            tracing::error!(error = %e, "cannot load Keystone's default policy");
        }
        enforcer
    })
}

/// Who is calling: what their `X-Auth-Token` says.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    /// The caller's user id.
    pub(crate) user_id: String,
    /// The caller's user's domain.
    pub(crate) user_domain_id: String,
    /// The token's scope.
    pub(crate) scope: TokenScope,
    /// The scoped project's domain, for project-scoped tokens.
    pub(crate) project_domain_id: Option<String>,
    /// The token's effective role names.
    pub(crate) roles: Vec<String>,
    /// The token's effective role ids.
    pub(crate) role_ids: Vec<String>,
    /// The methods the token was obtained with.
    pub(crate) methods: Vec<String>,
    /// The trust the token is scoped to.
    pub(crate) trust_id: Option<String>,
    /// The token body, as Keystone puts it in the credentials (`token.domain.id` rules).
    pub(crate) token: Value,
}

impl Caller {
    /// The scoped project's id.
    pub(crate) fn project_id(&self) -> Option<&str> {
        match &self.scope {
            TokenScope::Project(p) => Some(p),
            _ => None,
        }
    }

    /// The scoped domain's id, for domain-scoped tokens.
    pub(crate) fn domain_id(&self) -> Option<&str> {
        match &self.scope {
            TokenScope::Domain(d) => Some(d),
            _ => None,
        }
    }

    /// The domain new projects and users go to when the request names none: the scoped
    /// project's domain, else the user's.
    pub(crate) fn default_domain(&self) -> String {
        self.project_domain_id
            .clone()
            .unwrap_or_else(|| self.user_domain_id.clone())
    }

    /// Whether the token comes from a delegated credential, as Keystone's `is_delegated_method`
    /// decides.
    pub(crate) fn is_delegated(&self) -> bool {
        is_delegated(&self.methods)
    }

    /// Allows or denies `rule` for this caller (see [`enforce`]).
    pub(crate) fn enforce(&self, rule: &str, target: &PolicyTarget) -> Result<(), ApiError> {
        enforce(rule, self, target)
    }

    /// The target Keystone builds for a list of users, projects or role assignments: the
    /// token's domain as `target.domain_id` when it is domain-scoped, nothing otherwise (the
    /// query's filters are not part of it).
    pub(crate) fn list_target(&self) -> PolicyTarget {
        PolicyTarget::new().with_opt("target.domain_id", self.domain_id())
    }

    /// The credentials Keystone hands to oslo.policy.
    fn credentials(&self) -> Map<String, Value> {
        let opt = |v: Option<&str>| {
            v.map(|s| Value::String(s.to_owned()))
                .unwrap_or(Value::Null)
        };
        let mut creds = Map::new();
        creds.insert("user_id".into(), Value::String(self.user_id.clone()));
        creds.insert(
            "user_domain_id".into(),
            Value::String(self.user_domain_id.clone()),
        );
        creds.insert("project_id".into(), opt(self.project_id()));
        creds.insert(
            "project_domain_id".into(),
            opt(self.project_domain_id.as_deref()),
        );
        creds.insert("domain_id".into(), opt(self.domain_id()));
        creds.insert(
            "system_scope".into(),
            opt((self.scope == TokenScope::System).then_some("all")),
        );
        creds.insert(
            "roles".into(),
            self.roles.iter().cloned().map(Value::String).collect(),
        );
        creds.insert("is_admin_project".into(), Value::Bool(true));
        creds.insert("token".into(), self.token.clone());
        creds
    }
}

/// A policy target: flattened keys such as `target.token.user_id`, as Keystone builds them.
#[derive(Debug, Clone, Default)]
pub(crate) struct PolicyTarget(Map<String, Value>);

impl PolicyTarget {
    /// An empty target.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Adds a key.
    pub(crate) fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.0.insert(key.to_owned(), value.into());
        self
    }

    /// Adds a key when the value is known.
    pub(crate) fn with_opt(self, key: &str, value: Option<&str>) -> Self {
        match value {
            Some(v) => self.with(key, v),
            None => self,
        }
    }

    /// Adds another target's keys.
    pub(crate) fn merge(mut self, other: PolicyTarget) -> Self {
        self.0.extend(other.0);
        self
    }
}

/// Allows or denies `rule` (such as `identity:validate_token`) with a 403 naming it.
pub(crate) fn enforce(rule: &str, caller: &Caller, target: &PolicyTarget) -> Result<(), ApiError> {
    if enforcer().enforce(rule, &target.0, &caller.credentials()) {
        Ok(())
    } else {
        Err(ApiError::forbidden(rule))
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
            methods: vec!["password".into()],
            trust_id: None,
            token: Value::Null,
        }
    }

    fn check(rule: &str, roles: &[&str], scope: TokenScope, subject: Option<&str>, expected: bool) {
        let target = PolicyTarget::new()
            .with_opt("target.token.user_id", subject)
            .with_opt("user_id", subject);
        let allowed = enforce(rule, &caller(roles, scope), &target).is_ok();
        assert_eq!(allowed, expected, "{rule} for {roles:?} on {subject:?}");
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
        check("identity:get_auth_catalog", &["reader"], p(), None, true);
    }

    #[test]
    fn the_compiled_in_policy_is_keystones() {
        assert_eq!(enforcer().rules().len(), 204);
        assert!(
            enforcer().check_rules().is_empty(),
            "{:?}",
            enforcer().check_rules()
        );
    }
}
