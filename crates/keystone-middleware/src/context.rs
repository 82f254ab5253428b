//! The request context handlers see: oslo.context's fields, read from the validated tokens,
//! and an axum extractor for it. The context shares the cached token bodies: building one
//! copies no strings.
//!
//! # Example
//!
//! ```
//! use axum::{Router, routing::get};
//! use keystone_middleware::Context;
//!
//! async fn whoami(ctx: Context) -> String {
//!     format!("{} on project {:?}", ctx.user_name().unwrap_or_default(), ctx.project_id())
//! }
//! let app: Router = Router::new().route("/whoami", get(whoami));
//! ```

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::HeaderValue;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use keystone_client::AccessInfo;
use keystone_types::Secret;
use keystone_types::token::Token;
use serde_json::{Map, Value};

use crate::compact::{CompactToken, Field};
use crate::request_id::RequestId;

/// Whether the request's identity was confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityStatus {
    /// A valid token.
    Confirmed,
    /// No token, or an invalid one (only seen with `delay_auth_decision`).
    Invalid,
}

/// A validated token: the request's header value (shared, marked sensitive) and the cached
/// body (shared).
#[derive(Debug, Clone)]
struct Validated {
    token: HeaderValue,
    body: Arc<CompactToken>,
}

fn sensitive(token: &Secret) -> HeaderValue {
    let mut v =
        HeaderValue::from_str(token.expose()).unwrap_or_else(|_| HeaderValue::from_static(""));
    v.set_sensitive(true);
    v
}

fn secret(token: &HeaderValue) -> Secret {
    Secret::new(token.to_str().unwrap_or_default())
}

/// oslo.context's `RequestContext`, as the layer builds it.
#[derive(Debug, Clone)]
pub struct Context {
    /// Whether the user token was valid.
    pub identity_status: IdentityStatus,
    /// Whether the service token was valid; `None` when the request carried none. With
    /// `delay_auth_decision` a request may come through with a valid user token and an invalid
    /// service token (`X-Service-Identity-Status: Invalid`): this is how a handler tells.
    pub service_identity_status: Option<IdentityStatus>,
    /// This request's id (`req-<uuid>`), also in `X-Openstack-Request-Id`.
    pub request_id: RequestId,
    /// The caller's request id, when it sent a valid one.
    pub global_request_id: Option<String>,
    user: Option<Validated>,
    service: Option<Validated>,
}

impl Context {
    /// A context without identity (no token, or an invalid one).
    pub fn anonymous(request_id: RequestId, global_request_id: Option<String>) -> Self {
        Context {
            identity_status: IdentityStatus::Invalid,
            service_identity_status: None,
            request_id,
            global_request_id,
            user: None,
            service: None,
        }
    }

    /// The context the layer gives a request that carries `token`, which Keystone described
    /// as `body`, with a new request id: for testing handlers and policies without a Keystone.
    ///
    /// ```
    /// use keystone_middleware::Context;
    /// use keystone_types::token::Token;
    ///
    /// let body: Token = serde_json::from_value(serde_json::json!({
    ///     "audit_ids": ["a"], "expires_at": "2030-01-01T00:00:00.000000Z",
    ///     "issued_at": "2029-12-31T23:00:00.000000Z", "methods": ["password"],
    ///     "roles": [{"id": "r1", "name": "member"}],
    ///     "user": {"id": "u1", "name": "alice", "password_expires_at": null,
    ///              "domain": {"id": "default", "name": "Default"}},
    /// })).unwrap();
    /// let ctx = Context::for_token("a-token", &body);
    /// assert_eq!(ctx.user_name(), Some("alice"));
    /// assert_eq!(ctx.roles(), ["member"]);
    /// ```
    pub fn for_token(token: impl Into<Secret>, body: &Token) -> Self {
        Context::anonymous(RequestId::new(), None).for_user(token.into(), body)
    }

    /// This context for a validated user token (`body` is what Keystone said about `token`).
    pub fn for_user(self, token: impl Into<Secret>, body: &Token) -> Self {
        let token = token.into();
        self.for_user_header(sensitive(&token), Arc::new(CompactToken::new(body)))
    }

    /// Like [`Context::for_user`], with the token as the request carried it (no copy) and the
    /// body as the cache holds it.
    pub(crate) fn for_user_header(mut self, token: HeaderValue, body: Arc<CompactToken>) -> Self {
        self.identity_status = IdentityStatus::Confirmed;
        self.user = Some(Validated { token, body });
        self
    }

    /// Adds a validated service token (`body` is what Keystone said about `token`).
    pub fn with_service(self, token: impl Into<Secret>, body: &Token) -> Self {
        let token = token.into();
        self.with_service_header(sensitive(&token), Arc::new(CompactToken::new(body)))
    }

    /// Like [`Context::with_service`], with the token as the request carried it.
    pub(crate) fn with_service_header(
        mut self,
        token: HeaderValue,
        body: Arc<CompactToken>,
    ) -> Self {
        self.service_identity_status = Some(IdentityStatus::Confirmed);
        self.service = Some(Validated { token, body });
        self
    }

    fn user_field(&self, f: Field) -> Option<&str> {
        self.user.as_ref().and_then(|v| v.body.field(f))
    }

    fn service_field(&self, f: Field) -> Option<&str> {
        self.service.as_ref().and_then(|v| v.body.field(f))
    }

    /// Whether a valid service token came with the request.
    pub(crate) fn has_service_token(&self) -> bool {
        self.service.is_some()
    }

    /// Whether the user token was valid.
    pub fn is_authenticated(&self) -> bool {
        self.identity_status == IdentityStatus::Confirmed
    }

    /// The user.
    pub fn user_id(&self) -> Option<&str> {
        self.user_field(Field::UserId)
    }

    /// The user's name.
    pub fn user_name(&self) -> Option<&str> {
        self.user_field(Field::UserName)
    }

    /// The user's domain.
    pub fn user_domain_id(&self) -> Option<&str> {
        self.user_field(Field::UserDomainId)
    }

    /// The user's domain's name.
    pub fn user_domain_name(&self) -> Option<&str> {
        self.user_field(Field::UserDomainName)
    }

    /// The scoped project.
    pub fn project_id(&self) -> Option<&str> {
        self.user_field(Field::ProjectId)
    }

    /// The scoped project's name.
    pub fn project_name(&self) -> Option<&str> {
        self.user_field(Field::ProjectName)
    }

    /// The scoped project's domain.
    pub fn project_domain_id(&self) -> Option<&str> {
        self.user_field(Field::ProjectDomainId)
    }

    /// The scoped project's domain's name.
    pub fn project_domain_name(&self) -> Option<&str> {
        self.user_field(Field::ProjectDomainName)
    }

    /// The scoped domain.
    pub fn domain_id(&self) -> Option<&str> {
        self.user_field(Field::DomainId)
    }

    /// The scoped domain's name.
    pub fn domain_name(&self) -> Option<&str> {
        self.user_field(Field::DomainName)
    }

    /// `all` for system-scoped tokens.
    pub fn system_scope(&self) -> Option<&str> {
        self.user
            .as_ref()
            .filter(|v| v.body.is_system())
            .map(|_| "all")
    }

    /// The user's roles (implied ones included).
    pub fn roles(&self) -> Vec<&str> {
        self.user
            .as_ref()
            .map(|v| v.body.roles().collect())
            .unwrap_or_default()
    }

    /// The trust a trust-scoped user token was issued through (its trustor and trustee are in
    /// [`Context::user_access`]'s `trust()`). keystonemiddleware sets no header for it.
    pub fn trust_id(&self) -> Option<&str> {
        self.user_field(Field::TrustId)
    }

    /// Whether the project is the admin project.
    pub fn is_admin_project(&self) -> bool {
        self.user.as_ref().is_none_or(|v| v.body.is_admin_project())
    }

    /// The service token's user.
    pub fn service_user_id(&self) -> Option<&str> {
        self.service_field(Field::UserId)
    }

    /// The service token's user name.
    pub fn service_user_name(&self) -> Option<&str> {
        self.service_field(Field::UserName)
    }

    /// The service user's domain.
    pub fn service_user_domain_id(&self) -> Option<&str> {
        self.service_field(Field::UserDomainId)
    }

    /// The service user's domain's name.
    pub fn service_user_domain_name(&self) -> Option<&str> {
        self.service_field(Field::UserDomainName)
    }

    /// The service token's project.
    pub fn service_project_id(&self) -> Option<&str> {
        self.service_field(Field::ProjectId)
    }

    /// The service token's project's name.
    pub fn service_project_name(&self) -> Option<&str> {
        self.service_field(Field::ProjectName)
    }

    /// The service project's domain.
    pub fn service_project_domain_id(&self) -> Option<&str> {
        self.service_field(Field::ProjectDomainId)
    }

    /// The service project's domain's name.
    pub fn service_project_domain_name(&self) -> Option<&str> {
        self.service_field(Field::ProjectDomainName)
    }

    /// The caller's token (oslo.context's `auth_token`), to call other services on the caller's
    /// behalf.
    pub fn auth_token(&self) -> Option<Secret> {
        self.user.as_ref().map(|v| secret(&v.token))
    }

    /// The service token that came with the request (oslo.context's `service_token`).
    pub fn service_token(&self) -> Option<Secret> {
        self.service.as_ref().map(|v| secret(&v.token))
    }

    /// The service token's roles.
    pub fn service_roles(&self) -> Vec<&str> {
        self.service
            .as_ref()
            .map(|v| v.body.roles().collect())
            .unwrap_or_default()
    }

    /// Everything Keystone said about the user token (decoded on demand).
    pub fn user_access(&self) -> Option<AccessInfo> {
        let v = self.user.as_ref()?;
        Some(AccessInfo::new(secret(&v.token), v.body.token()?))
    }

    /// Everything Keystone said about the service token (decoded on demand).
    pub fn service_access(&self) -> Option<AccessInfo> {
        let v = self.service.as_ref()?;
        Some(AccessInfo::new(secret(&v.token), v.body.token()?))
    }

    /// The credentials oslo.context's `to_policy_values()` gives oslo.policy.
    pub fn to_policy_values(&self) -> Map<String, Value> {
        let own = |s: Option<&str>| s.map(str::to_owned);
        let owned = |v: Vec<&str>| v.into_iter().map(str::to_owned).collect();
        keystone_policy::PolicyContext {
            user_id: own(self.user_id()),
            user_domain_id: own(self.user_domain_id()),
            system_scope: own(self.system_scope()),
            domain_id: own(self.domain_id()),
            project_id: own(self.project_id()),
            project_domain_id: own(self.project_domain_id()),
            roles: owned(self.roles()),
            is_admin_project: self.is_admin_project(),
            service_user_id: own(self.service_user_id()),
            service_user_domain_id: own(self.service_user_domain_id()),
            service_project_id: own(self.service_project_id()),
            service_project_domain_id: own(self.service_project_domain_id()),
            service_roles: owned(self.service_roles()),
        }
        .to_policy_values()
    }
}

/// Why the `Context` extractor refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
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
            ContextRejection::MissingLayer => crate::answers::json_error(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "The server is not configured to authenticate requests.",
            ),
            ContextRejection::Unauthenticated => crate::answers::unauthorized(None),
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
