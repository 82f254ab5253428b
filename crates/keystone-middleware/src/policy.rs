//! Policy in one line: `policy.authorize("proxy:create", &target, &ctx)?` answers 403 with
//! Keystone's JSON error naming the rule when the rule denies.
//!
//! # Example
//!
//! ```
//! use keystone_middleware::{Context, Policy, PolicyDenied};
//! use keystone_policy::RuleDefault;
//! use keystone_types::token::Token;
//!
//! let policy = Policy::with_defaults([
//!     RuleDefault::new("admin", "role:admin"),
//!     RuleDefault::new("proxy:create", "rule:admin"),
//! ]).unwrap();
//! let member: Token = serde_json::from_value(serde_json::json!({
//!     "audit_ids": ["a"], "expires_at": "2030-01-01T00:00:00.000000Z",
//!     "issued_at": "2029-12-31T23:00:00.000000Z", "methods": ["password"],
//!     "roles": [{"id": "r1", "name": "member"}],
//!     "user": {"id": "u1", "name": "alice", "password_expires_at": null,
//!              "domain": {"id": "default", "name": "Default"}},
//! })).unwrap();
//! let ctx = Context::for_token("token", &member);
//! let denied: PolicyDenied = policy.authorize("proxy:create", &serde_json::json!({}), &ctx).unwrap_err();
//! assert_eq!(denied.rule, "proxy:create");
//! ```

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use keystone_policy::{Enforcer, EnforcerConfig, PolicyError, RegisterError, RuleDefault};
use serde_json::{Map, Value};

use crate::Context;

/// The policy enforcer, cheap to clone.
#[derive(Debug, Clone)]
pub struct Policy {
    enforcer: Arc<Enforcer>,
}

/// A denial: answered 403 with the rule's name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("You are not authorized to perform the requested action: {rule}.")]
pub struct PolicyDenied {
    /// The rule that denied.
    pub rule: String,
    /// Why, for logs.
    pub reason: String,
}

impl IntoResponse for PolicyDenied {
    fn into_response(self) -> Response {
        tracing::info!(rule = %self.rule, reason = %self.reason, "policy denied");
        crate::answers::json_error(StatusCode::FORBIDDEN, &self.to_string())
    }
}

impl Policy {
    /// Wraps an enforcer.
    pub fn new(enforcer: Enforcer) -> Self {
        Policy {
            enforcer: Arc::new(enforcer),
        }
    }

    /// An enforcer with registered defaults and no files.
    pub fn with_defaults(
        defaults: impl IntoIterator<Item = RuleDefault>,
    ) -> Result<Self, RegisterError> {
        let enforcer = Enforcer::new(EnforcerConfig::default());
        enforcer.register_defaults(defaults)?;
        Ok(Self::new(enforcer))
    }

    /// The enforcer.
    pub fn enforcer(&self) -> &Enforcer {
        &self.enforcer
    }

    /// Authorizes `rule` for the caller against `target` (a JSON object; anything else is an
    /// empty target).
    pub fn authorize(&self, rule: &str, target: &Value, ctx: &Context) -> Result<(), PolicyDenied> {
        let empty = Map::new();
        let target = target.as_object().unwrap_or(&empty);
        self.enforcer
            .authorize(rule, target, &ctx.to_policy_values())
            .map_err(|e| {
                if matches!(e, PolicyError::NotRegistered(_)) {
                    tracing::error!(%rule, "authorizing a rule that was never registered");
                }
                PolicyDenied {
                    rule: rule.to_owned(),
                    reason: e.to_string(),
                }
            })
    }
}
