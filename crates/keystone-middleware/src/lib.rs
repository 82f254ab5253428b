//! Keystone authentication for tower and axum, as keystonemiddleware's `auth_token` does it,
//! with oslo.context's request context and oslo.policy-style authorization for handlers.
//!
//! - [`AuthTokenLayer`] validates `X-Auth-Token` (or `X-Storage-Token`) and `X-Service-Token`
//!   with Keystone through `keystone-client`, strips and sets the identity headers, caches
//!   validations (shared between concurrent requests with the same token), answers 401 with
//!   `WWW-Authenticate` and 503 when Keystone is unavailable, and gives every response an
//!   `X-Openstack-Request-Id`.
//! - [`RequestIdLayer`] gives request ids to a whole router (unauthenticated routes included), as
//!   oslo.middleware's `request_id` does.
//! - [`Context`] is the axum extractor handlers use to see who called.
//! - [`Policy`] authorizes a rule in one line, answering 403 on denial.
//! - [`JsonAfterPolicy`] reads a JSON body only after the handler has authorized the request,
//!   within the limits [`BodyLimitsLayer`] sets (`[server]`'s body size and read timeout).
//! - [`config`] reads TOML, an existing keystonemiddleware INI file, and the environment.
//!
//! Put `tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer` (or any equivalent)
//! outermost if a tracing layer runs before this one; this layer marks the token headers
//! sensitive for everything inside it.
//!
//! **Architecture invariant:** the middleware never speaks HTTP to Keystone itself; it
//! validates through `keystone-client`.
//!
//! # Example
//!
//! ```no_run
//! # async fn run() -> anyhow::Result<()> {
//! use axum::{Json, Router, routing::post};
//! use keystone_middleware::{AuthTokenLayer, Context, Policy, PolicyDenied, config::Config};
//! use keystone_policy::RuleDefault;
//!
//! let config = Config::load("/etc/myservice/myservice.conf".as_ref())?;
//! let policy = Policy::with_defaults([
//!     RuleDefault::new("admin", "role:admin"),
//!     RuleDefault::new("proxy:create", "rule:admin"),
//! ])?;
//! let app: Router = Router::new()
//!     .route("/v1/proxy", post(move |ctx: Context| async move {
//!         policy.authorize("proxy:create", &serde_json::json!({"project_id": ctx.project_id()}), &ctx)?;
//!         Ok::<_, PolicyDenied>(Json(serde_json::json!({"created": true})))
//!     }))
//!     .layer(AuthTokenLayer::from_config(&config.keystone_authtoken)?);
//! # Ok(()) }
//! ```

mod access_log;
mod answers;
mod auth_token;
mod body;
mod cache;
mod compact;
pub mod config;
mod context;
mod headers;
mod metrics;
mod policy;
mod request_id;
mod revocation;
mod serve;
mod shared_cache;

pub use access_log::{AccessLog, AccessLogLayer, access_log};
pub use auth_token::{AuthToken, AuthTokenLayer, ResponseFuture, RevocationStatus, StartupError};
pub use body::{BodyLimit, BodyLimitsLayer, BodyRejection, JsonAfterPolicy};
pub use cache::CacheCounters;
pub use context::{Context, ContextRejection, IdentityStatus};
pub use headers::{IDENTITY_HEADERS, is_identity_header};
pub use metrics::metrics_response;
pub use policy::{Policy, PolicyDenied};
/// The metrics crate [`AuthTokenLayer::register_metrics`] registers into, at the version this
/// crate uses.
pub use prometheus_client;
pub use request_id::{RequestId, RequestIdFuture, RequestIdLayer, RequestIdService, RequestIds};
pub use serve::{serve, shutdown_signal};

/// Not part of the API: the token cache, reachable for the memory benchmark
/// (`benches/cache_memory.rs`) only.
#[doc(hidden)]
pub use cache::TokenCache as __TokenCacheForBenches;
