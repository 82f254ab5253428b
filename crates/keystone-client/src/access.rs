//! What Keystone says about a token, with the accessors services need.

use std::sync::Arc;

use keystone_types::Secret;
use keystone_types::token::{CatalogService, Token};

use crate::catalog::{EndpointFilter, select_endpoint};
use crate::error::Result;

/// The scope of a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenScope {
    /// No scope.
    Unscoped,
    /// A project.
    Project {
        /// The project's id.
        id: String,
        /// The project's name.
        name: String,
        /// The project's domain id.
        domain_id: String,
        /// The project's domain name.
        domain_name: String,
    },
    /// A domain.
    Domain {
        /// The domain's id.
        id: String,
        /// The domain's name.
        name: String,
    },
    /// The whole system.
    System,
}

/// A validated (or freshly issued) token and its body.
#[derive(Clone)]
pub struct AccessInfo {
    token: Secret,
    body: Arc<Token>,
}

impl std::fmt::Debug for AccessInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessInfo")
            .field("token", &self.token)
            .field("user_id", &self.user_id())
            .field("scope", &self.scope())
            .field("roles", &self.role_names())
            .field("expires_at", &self.body.expires_at)
            .finish()
    }
}

impl AccessInfo {
    /// Wraps a token string and its body.
    pub fn new(token: Secret, body: Token) -> Self {
        AccessInfo {
            token,
            body: Arc::new(body),
        }
    }

    /// The token string.
    pub fn token(&self) -> &Secret {
        &self.token
    }

    /// The whole token body.
    pub fn body(&self) -> &Token {
        &self.body
    }

    /// The user's id.
    pub fn user_id(&self) -> &str {
        &self.body.user.id
    }

    /// The user's name.
    pub fn user_name(&self) -> &str {
        &self.body.user.name
    }

    /// The user's domain id.
    pub fn user_domain_id(&self) -> &str {
        &self.body.user.domain.id
    }

    /// The user's domain name.
    pub fn user_domain_name(&self) -> &str {
        &self.body.user.domain.name
    }

    /// The scope.
    pub fn scope(&self) -> TokenScope {
        if let Some(p) = &self.body.project {
            TokenScope::Project {
                id: p.id.clone(),
                name: p.name.clone(),
                domain_id: p.domain.id.clone(),
                domain_name: p.domain.name.clone(),
            }
        } else if let Some(d) = &self.body.domain {
            TokenScope::Domain {
                id: d.id.clone(),
                name: d.name.clone(),
            }
        } else if self.body.system.is_some_and(|s| s.all) {
            TokenScope::System
        } else {
            TokenScope::Unscoped
        }
    }

    /// The trust the token is scoped to (its project is [`AccessInfo::scope`]'s), with the
    /// trustor and the trustee.
    pub fn trust(&self) -> Option<&keystone_types::token::TokenTrust> {
        self.body.trust.as_ref()
    }

    /// The scoped project's id.
    pub fn project_id(&self) -> Option<&str> {
        self.body.project.as_ref().map(|p| p.id.as_str())
    }

    /// The scoped domain's id.
    pub fn domain_id(&self) -> Option<&str> {
        self.body.domain.as_ref().map(|d| d.id.as_str())
    }

    /// Whether the token is system-scoped.
    pub fn is_system_scoped(&self) -> bool {
        self.body.system.is_some_and(|s| s.all)
    }

    /// The role names, implied roles included.
    pub fn role_names(&self) -> Vec<&str> {
        self.body.role_names().collect()
    }

    /// Whether the token carries a role (case-insensitive, as oslo.policy compares roles).
    pub fn has_role(&self, role: &str) -> bool {
        self.body.role_names().any(|r| r.eq_ignore_ascii_case(role))
    }

    /// When the token expires.
    pub fn expires_at(&self) -> chrono::DateTime<chrono::Utc> {
        self.body.expires_at.0
    }

    /// Whether the token has expired at `now`.
    pub fn is_expired_at(&self, now: chrono::DateTime<chrono::Utc>) -> bool {
        self.body.expires_at.0 <= now
    }

    /// The audit ids.
    pub fn audit_ids(&self) -> &[String] {
        &self.body.audit_ids
    }

    /// The application credential the token came from, if any.
    pub fn application_credential_id(&self) -> Option<&str> {
        self.body
            .application_credential
            .as_ref()
            .map(|a| a.id.as_str())
    }

    /// Whether the scoped project is the cloud's admin project. Keystone leaves the field out
    /// unless `admin_project_name` is configured, and then everything counts as admin project,
    /// as keystonemiddleware assumes.
    pub fn is_admin_project(&self) -> bool {
        self.body.is_admin_project.unwrap_or(true)
    }

    /// The service catalog, if the token has one.
    pub fn catalog(&self) -> Option<&[CatalogService]> {
        self.body.catalog.as_deref()
    }

    /// Selects an endpoint URL from the token's catalog.
    pub fn endpoint(&self, filter: &EndpointFilter) -> Result<String> {
        select_endpoint(self.catalog(), filter)
    }
}
