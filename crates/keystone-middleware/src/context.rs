//! The request context handlers see: oslo.context's fields, filled by the layer from the
//! validated tokens, and an axum extractor for it.
//!
//! # Example
//!
//! ```
//! use axum::{Router, routing::get};
//! use keystone_middleware::Context;
//!
//! async fn whoami(ctx: Context) -> String {
//!     format!("{} on project {:?}", ctx.user_name.unwrap_or_default(), ctx.project_id)
//! }
//! let app: Router = Router::new().route("/whoami", get(whoami));
//! ```

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use keystone_client::{AccessInfo, TokenScope};
use serde_json::{Map, Value};

/// Whether the request's identity was confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityStatus {
    /// A valid token.
    Confirmed,
    /// No token, or an invalid one (only seen with `delay_auth_decision`).
    Invalid,
}

/// oslo.context's `RequestContext`, as the layer builds it.
#[derive(Debug, Clone)]
pub struct Context {
    /// Whether the user token was valid.
    pub identity_status: IdentityStatus,
    /// The user.
    pub user_id: Option<String>,
    /// The user's name.
    pub user_name: Option<String>,
    /// The user's domain.
    pub user_domain_id: Option<String>,
    /// The user's domain's name.
    pub user_domain_name: Option<String>,
    /// The scoped project.
    pub project_id: Option<String>,
    /// Its name.
    pub project_name: Option<String>,
    /// Its domain.
    pub project_domain_id: Option<String>,
    /// Its domain's name.
    pub project_domain_name: Option<String>,
    /// The scoped domain.
    pub domain_id: Option<String>,
    /// Its name.
    pub domain_name: Option<String>,
    /// `all` for system-scoped tokens.
    pub system_scope: Option<String>,
    /// The user's roles.
    pub roles: Vec<String>,
    /// Whether the project is the admin project.
    pub is_admin_project: bool,
    /// The service token's user.
    pub service_user_id: Option<String>,
    /// Its name.
    pub service_user_name: Option<String>,
    /// Its domain.
    pub service_user_domain_id: Option<String>,
    /// Its domain's name.
    pub service_user_domain_name: Option<String>,
    /// The service token's project.
    pub service_project_id: Option<String>,
    /// Its name.
    pub service_project_name: Option<String>,
    /// Its domain.
    pub service_project_domain_id: Option<String>,
    /// Its domain's name.
    pub service_project_domain_name: Option<String>,
    /// The service token's roles.
    pub service_roles: Vec<String>,
    /// This request's id (`req-<uuid>`), also in `X-Openstack-Request-Id`.
    pub request_id: String,
    /// The caller's request id, when it sent a valid one.
    pub global_request_id: Option<String>,
    /// The validated user token.
    pub user_access: Option<Arc<AccessInfo>>,
    /// The validated service token.
    pub service_access: Option<Arc<AccessInfo>>,
}

struct Scoped {
    project: Option<(String, String, String, String)>,
    domain: Option<(String, String)>,
    system: bool,
}

fn scoped(a: &AccessInfo) -> Scoped {
    match a.scope() {
        TokenScope::Project {
            id,
            name,
            domain_id,
            domain_name,
        } => Scoped {
            project: Some((id, name, domain_id, domain_name)),
            domain: None,
            system: false,
        },
        TokenScope::Domain { id, name } => Scoped {
            project: None,
            domain: Some((id, name)),
            system: false,
        },
        TokenScope::System => Scoped {
            project: None,
            domain: None,
            system: true,
        },
        TokenScope::Unscoped => Scoped {
            project: None,
            domain: None,
            system: false,
        },
    }
}

impl Context {
    /// A context without identity (no token, or an invalid one).
    pub fn anonymous(request_id: String, global_request_id: Option<String>) -> Self {
        Context {
            identity_status: IdentityStatus::Invalid,
            user_id: None,
            user_name: None,
            user_domain_id: None,
            user_domain_name: None,
            project_id: None,
            project_name: None,
            project_domain_id: None,
            project_domain_name: None,
            domain_id: None,
            domain_name: None,
            system_scope: None,
            roles: Vec::new(),
            is_admin_project: true,
            service_user_id: None,
            service_user_name: None,
            service_user_domain_id: None,
            service_user_domain_name: None,
            service_project_id: None,
            service_project_name: None,
            service_project_domain_id: None,
            service_project_domain_name: None,
            service_roles: Vec::new(),
            request_id,
            global_request_id,
            user_access: None,
            service_access: None,
        }
    }

    /// Fills the user fields from a validated token.
    pub(crate) fn with_user(mut self, a: Arc<AccessInfo>) -> Self {
        let s = scoped(&a);
        self.identity_status = IdentityStatus::Confirmed;
        self.user_id = Some(a.user_id().to_owned());
        self.user_name = Some(a.user_name().to_owned());
        self.user_domain_id = Some(a.user_domain_id().to_owned());
        self.user_domain_name = Some(a.user_domain_name().to_owned());
        if let Some((id, name, did, dname)) = s.project {
            self.project_id = Some(id);
            self.project_name = Some(name);
            self.project_domain_id = Some(did);
            self.project_domain_name = Some(dname);
        }
        if let Some((id, name)) = s.domain {
            self.domain_id = Some(id);
            self.domain_name = Some(name);
        }
        self.system_scope = s.system.then(|| "all".to_owned());
        self.roles = a.role_names().into_iter().map(str::to_owned).collect();
        self.is_admin_project = a.is_admin_project();
        self.user_access = Some(a);
        self
    }

    /// Fills the service fields from a validated service token.
    pub(crate) fn with_service(mut self, a: Arc<AccessInfo>) -> Self {
        let s = scoped(&a);
        self.service_user_id = Some(a.user_id().to_owned());
        self.service_user_name = Some(a.user_name().to_owned());
        self.service_user_domain_id = Some(a.user_domain_id().to_owned());
        self.service_user_domain_name = Some(a.user_domain_name().to_owned());
        if let Some((id, name, did, dname)) = s.project {
            self.service_project_id = Some(id);
            self.service_project_name = Some(name);
            self.service_project_domain_id = Some(did);
            self.service_project_domain_name = Some(dname);
        }
        self.service_roles = a.role_names().into_iter().map(str::to_owned).collect();
        self.service_access = Some(a);
        self
    }

    /// Whether the user token was valid.
    pub fn is_authenticated(&self) -> bool {
        self.identity_status == IdentityStatus::Confirmed
    }

    /// The credentials oslo.context's `to_policy_values()` gives oslo.policy.
    pub fn to_policy_values(&self) -> Map<String, Value> {
        keystone_policy::context::PolicyContext {
            user_id: self.user_id.clone(),
            user_domain_id: self.user_domain_id.clone(),
            system_scope: self.system_scope.clone(),
            domain_id: self.domain_id.clone(),
            project_id: self.project_id.clone(),
            project_domain_id: self.project_domain_id.clone(),
            roles: self.roles.clone(),
            is_admin_project: self.is_admin_project,
            service_user_id: self.service_user_id.clone(),
            service_user_domain_id: self.service_user_domain_id.clone(),
            service_project_id: self.service_project_id.clone(),
            service_project_domain_id: self.service_project_domain_id.clone(),
            service_roles: self.service_roles.clone(),
        }
        .to_policy_values()
    }
}

/// Why the `Context` extractor refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ContextRejection {
    /// The layer is not installed in front of this handler.
    #[error("the keystone auth layer is not installed")]
    MissingLayer,
    /// The request carried no valid token (with `delay_auth_decision`).
    #[error("the request you have made requires authentication")]
    Unauthenticated,
}

impl IntoResponse for ContextRejection {
    fn into_response(self) -> Response {
        match self {
            ContextRejection::MissingLayer => crate::error::json_error(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "The server is not configured to authenticate requests.",
            ),
            ContextRejection::Unauthenticated => crate::error::unauthorized(None),
        }
    }
}

/// Extracts the context of an authenticated request; unauthenticated requests (which only
/// reach handlers with `delay_auth_decision`) are answered 401.
impl<S: Send + Sync> FromRequestParts<S> for Context {
    type Rejection = ContextRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let ctx = parts
            .extensions
            .get::<Context>()
            .ok_or(ContextRejection::MissingLayer)?;
        if ctx.is_authenticated() {
            Ok(ctx.clone())
        } else {
            Err(ContextRejection::Unauthenticated)
        }
    }
}
