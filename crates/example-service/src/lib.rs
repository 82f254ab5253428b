//! The seed documents' "myservice": a custom OpenStack API behind Keystone authentication.
//!
//! `GET /` is a liveness probe without authentication; `GET /v1/thing/list` returns the things
//! and who asked; `/v1/proxy` manages the caller's project's proxies under the policy of seed
//! document `002_7a88f3a166ac524e.txt` (`proxy:index` and `proxy:view` open to any
//! authenticated caller, create, update and delete `rule:admin`).
//!
//! # Example
//!
//! ```
//! use example_service::{AppState, app, policy_defaults};
//! use keystone_middleware::Policy;
//!
//! let policy = Policy::with_defaults(policy_defaults()).unwrap();
//! let state = AppState::new(policy);
//! // with an `AuthTokenLayer` built from the configuration:
//! // let router = app(state, auth_layer);
//! # let _ = state;
//! ```

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use keystone_middleware::config::ServerConfig;
use keystone_middleware::{
    AuthTokenLayer, BodyLimitsLayer, BodyRejection, Context, JsonAfterPolicy, Policy, PolicyDenied,
    RequestIdLayer,
};
use keystone_policy::RuleDefault;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The service's version, as the liveness probe reports it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The policy rules the service registers (seed document 002).
pub fn policy_defaults() -> Vec<RuleDefault> {
    let proxy = |name: &str, check: &str, method: &str, path: &str, what: &str| {
        RuleDefault::new(name, check)
            .description(what)
            .operation(method, path)
            .scope_types(["project"])
    };
    vec![
        RuleDefault::new("admin", "role:admin").description("Who is an administrator."),
        proxy(
            "proxy:index",
            "",
            "GET",
            "/v1/proxy",
            "List the project's proxies.",
        ),
        proxy("proxy:view", "", "GET", "/v1/proxy/{id}", "Show a proxy."),
        proxy(
            "proxy:create",
            "rule:admin",
            "POST",
            "/v1/proxy",
            "Create a proxy.",
        ),
        proxy(
            "proxy:update",
            "rule:admin",
            "PUT",
            "/v1/proxy/{id}",
            "Change a proxy.",
        ),
        proxy(
            "proxy:delete",
            "rule:admin",
            "DELETE",
            "/v1/proxy/{id}",
            "Delete a proxy.",
        ),
    ]
}

/// A web proxy of a project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proxy {
    /// Its id.
    pub id: String,
    /// The domain name it serves.
    pub domain: String,
    /// Where it sends requests.
    pub backends: Vec<String>,
    /// The owning project.
    pub project_id: String,
}

/// The body of create and update.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProxyInput {
    /// The domain name.
    pub domain: String,
    /// The backends.
    pub backends: Vec<String>,
}

/// What the handlers share.
#[derive(Debug)]
pub struct AppState {
    policy: Policy,
    proxies: Mutex<HashMap<String, Vec<Proxy>>>,
}

impl AppState {
    /// State with a policy and no proxies.
    pub fn new(policy: Policy) -> Arc<Self> {
        Arc::new(AppState {
            policy,
            proxies: Mutex::new(HashMap::new()),
        })
    }

    fn proxies(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<Proxy>>> {
        self.proxies.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// An error answer in Keystone's JSON shape.
#[derive(Debug)]
pub struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": {"code": self.0.as_u16(), "title": self.0.canonical_reason().unwrap_or("Error"), "message": self.1}});
        (self.0, Json(body)).into_response()
    }
}

impl From<PolicyDenied> for ApiError {
    fn from(d: PolicyDenied) -> Self {
        ApiError(StatusCode::FORBIDDEN, d.to_string())
    }
}

impl From<BodyRejection> for ApiError {
    fn from(r: BodyRejection) -> Self {
        ApiError(r.status(), r.message().to_owned())
    }
}

/// A proxy's id from the path; a path that cannot be one is answered in the JSON error shape.
struct ProxyId(String);

impl<S: Send + Sync> FromRequestParts<S> for ProxyId {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        <Path<String> as FromRequestParts<S>>::from_request_parts(parts, state)
            .await
            .map(|Path(id)| ProxyId(id))
            .map_err(|r| ApiError(r.status(), r.body_text()))
    }
}

async fn not_found() -> ApiError {
    ApiError(
        StatusCode::NOT_FOUND,
        "The resource could not be found.".into(),
    )
}

async fn method_not_allowed() -> ApiError {
    ApiError(
        StatusCode::METHOD_NOT_ALLOWED,
        "The method is not allowed for the requested URL.".into(),
    )
}

type ApiResult<T> = Result<T, ApiError>;

/// The router: `GET /` and `GET /metrics` (the layer's metrics, Prometheus text) without
/// authentication, everything under `/v1` behind `auth` (its
/// unknown paths too, so that without a token they answer 401 as keystonemiddleware's whole-app
/// filter does, not 404); around all of it an access log line per response (status, latency,
/// in the request's span) and request ids.
pub fn app(state: Arc<AppState>, auth: AuthTokenLayer) -> Router {
    app_with_limits(state, auth, &ServerConfig::default())
}

/// [`app`] with the body limits and the access log of `limits` (`[server]`):
/// `max_request_body_size` (413 while reading), `body_read_timeout` (408),
/// `access_log_level` and `access_log_sample_rate`.
pub fn app_with_limits(
    state: Arc<AppState>,
    auth: AuthTokenLayer,
    limits: &ServerConfig,
) -> Router {
    let mut registry =
        keystone_middleware::prometheus_client::registry::Registry::with_prefix("myservice");
    auth.register_metrics(&mut registry);
    let registry = Arc::new(registry);
    let v1 = Router::new()
        .route("/thing/list", get(thing_list))
        .route("/proxy", get(proxy_index).post(proxy_create))
        .route(
            "/proxy/{id}",
            get(proxy_view).put(proxy_update).delete(proxy_delete),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(auth)
        .with_state(state);
    Router::new()
        .route("/", get(liveness))
        .route(
            "/metrics",
            get(move || async move { keystone_middleware::metrics_response(&registry) }),
        )
        .method_not_allowed_fallback(method_not_allowed)
        .nest("/v1", v1)
        .fallback(not_found)
        .layer(BodyLimitsLayer::new(limits))
        .layer(keystone_middleware::access_log(limits))
        .layer(RequestIdLayer)
}

async fn liveness() -> Json<Value> {
    Json(json!({"myservice": VERSION}))
}

async fn thing_list(ctx: Context) -> Json<Value> {
    Json(json!({
        "things": ["apple", "chair", "banana", "television"],
        "asked_by": {
            "user_id": ctx.user_id(),
            "user_name": ctx.user_name(),
            "project_id": ctx.project_id(),
            "roles": ctx.roles(),
        },
    }))
}

/// The policy target: the caller's project, which every proxy call is scoped to.
fn target(ctx: &Context) -> Value {
    json!({"project_id": ctx.project_id()})
}

fn project(ctx: &Context) -> ApiResult<String> {
    ctx.project_id().map(str::to_owned).ok_or_else(|| {
        ApiError(
            StatusCode::BAD_REQUEST,
            "proxies belong to projects: use a project-scoped token".into(),
        )
    })
}

async fn proxy_index(State(state): State<Arc<AppState>>, ctx: Context) -> ApiResult<Json<Value>> {
    state.policy.authorize("proxy:index", &target(&ctx), &ctx)?;
    let project = project(&ctx)?;
    let proxies = state.proxies().get(&project).cloned().unwrap_or_default();
    Ok(Json(json!({"proxies": proxies})))
}

async fn proxy_create(
    State(state): State<Arc<AppState>>,
    ctx: Context,
    body: JsonAfterPolicy,
) -> ApiResult<(StatusCode, Json<Value>)> {
    state
        .policy
        .authorize("proxy:create", &target(&ctx), &ctx)?;
    let input: ProxyInput = body.read().await?;
    let project = project(&ctx)?;
    let proxy = Proxy {
        id: uuid::Uuid::new_v4().simple().to_string(),
        domain: input.domain,
        backends: input.backends,
        project_id: project.clone(),
    };
    state
        .proxies()
        .entry(project)
        .or_default()
        .push(proxy.clone());
    tracing::info!(proxy = %proxy.id, user = ?ctx.user_id(), "proxy created");
    Ok((StatusCode::CREATED, Json(json!({"proxy": proxy}))))
}

fn find(state: &AppState, project: &str, id: &str) -> ApiResult<Proxy> {
    state
        .proxies()
        .get(project)
        .and_then(|ps| ps.iter().find(|p| p.id == id).cloned())
        .ok_or_else(|| {
            ApiError(
                StatusCode::NOT_FOUND,
                format!("Could not find proxy: {id}."),
            )
        })
}

async fn proxy_view(
    State(state): State<Arc<AppState>>,
    ctx: Context,
    ProxyId(id): ProxyId,
) -> ApiResult<Json<Value>> {
    state.policy.authorize("proxy:view", &target(&ctx), &ctx)?;
    let proxy = find(&state, &project(&ctx)?, &id)?;
    Ok(Json(json!({"proxy": proxy})))
}

async fn proxy_update(
    State(state): State<Arc<AppState>>,
    ctx: Context,
    ProxyId(id): ProxyId,
    body: JsonAfterPolicy,
) -> ApiResult<Json<Value>> {
    state
        .policy
        .authorize("proxy:update", &target(&ctx), &ctx)?;
    let input: ProxyInput = body.read().await?;
    let project = project(&ctx)?;
    find(&state, &project, &id)?;
    let mut all = state.proxies();
    let proxy = all
        .get_mut(&project)
        .and_then(|ps| ps.iter_mut().find(|p| p.id == id))
        .ok_or_else(|| {
            ApiError(
                StatusCode::NOT_FOUND,
                format!("Could not find proxy: {id}."),
            )
        })?;
    proxy.domain = input.domain;
    proxy.backends = input.backends;
    Ok(Json(json!({"proxy": proxy.clone()})))
}

async fn proxy_delete(
    State(state): State<Arc<AppState>>,
    ctx: Context,
    ProxyId(id): ProxyId,
) -> ApiResult<StatusCode> {
    state
        .policy
        .authorize("proxy:delete", &target(&ctx), &ctx)?;
    let project = project(&ctx)?;
    find(&state, &project, &id)?;
    if let Some(ps) = state.proxies().get_mut(&project) {
        ps.retain(|p| p.id != id);
    }
    Ok(StatusCode::NO_CONTENT)
}
