//! The axum application: shared state, the router, the response middleware that every Keystone
//! answer goes through, and the extractors handlers share.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use serde::de::DeserializeOwned;

use crate::controls::{Clock, Controls};
use crate::error::{ApiError, ApiResult};
use crate::policy::Caller;
use crate::store::{Store, TokenProblem, TokenScope};
use crate::{admin_api, auth_api};

/// Everything the handlers share.
#[derive(Debug)]
pub(crate) struct Shared {
    /// The database.
    pub(crate) store: Mutex<Store>,
    /// The fake's root URL, such as `http://127.0.0.1:5000`, known once bound.
    pub(crate) base_url: OnceLock<String>,
    /// The clock tokens are issued and checked against.
    pub(crate) clock: Clock,
    /// Faults and counters.
    pub(crate) controls: Controls,
    /// Token lifetime.
    pub(crate) token_ttl: Mutex<chrono::Duration>,
}

/// The state handlers receive.
pub(crate) type AppState = Arc<Shared>;

impl Shared {
    /// Locks the store; a panic elsewhere never poisons the fake for good.
    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The root URL.
    pub(crate) fn base(&self) -> &str {
        self.base_url
            .get()
            .map(String::as_str)
            .unwrap_or("http://127.0.0.1")
    }

    /// The token lifetime.
    pub(crate) fn ttl(&self) -> chrono::Duration {
        *self.token_ttl.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Who the `X-Auth-Token` of a request belongs to; 401 when it is missing or not valid.
    pub(crate) fn caller(&self, headers: &HeaderMap) -> ApiResult<Caller> {
        let token = headers
            .get("x-auth-token")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(ApiError::unauthorized)?;
        let store = self.store();
        let rec = store
            .check_token(token, self.clock.now(), false)
            .map_err(|_| ApiError::unauthorized())?;
        let body = store
            .token_body(rec, false)
            .map_err(|_| ApiError::unauthorized())?;
        let user = store
            .users
            .get(&rec.user_id)
            .ok_or_else(ApiError::unauthorized)?;
        Ok(Caller {
            user_id: rec.user_id.clone(),
            user_domain_id: user.domain_id.clone(),
            scope: rec.scope.clone(),
            project_domain_id: body.project.as_ref().map(|p| p.domain.id.clone()),
            roles: body.role_names().map(str::to_owned).collect(),
            role_ids: body.roles.iter().flatten().map(|r| r.id.clone()).collect(),
            token: serde_json::to_value(&body).unwrap_or_default(),
        })
    }

    /// The message Keystone gives for a token that does not validate.
    pub(crate) fn token_problem(problem: TokenProblem) -> ApiError {
        match problem {
            TokenProblem::Unknown => {
                ApiError::new(StatusCode::NOT_FOUND, "Could not recognize Fernet token")
            }
            TokenProblem::Invalid | TokenProblem::Expired => {
                ApiError::new(StatusCode::NOT_FOUND, "Failed to validate token")
            }
        }
    }
}

/// A JSON request body, rejected with Keystone's 400 messages: one for text that is not JSON,
/// one naming the attribute for JSON of the wrong shape.
#[derive(Debug)]
pub(crate) struct KsJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for KsJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::bad_request(format!("could not read the request body: {e}")))?;
        let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| {
            ApiError::bad_request(
                "Expecting to find valid JSON in request body. The server could not comply with \
                 the request since it is either malformed or otherwise incorrect. The client is \
                 assumed to be in error.",
            )
        })?;
        let key = value
            .as_object()
            .and_then(|o| o.keys().next().cloned())
            .unwrap_or_default();
        serde_json::from_value(value.clone())
            .map(KsJson)
            .map_err(|e| {
                let inner = value.get(&key).map(|v| v.to_string()).unwrap_or_default();
                ApiError::bad_request(format!(
                    "Invalid input for field/attribute {key}. Value: {inner}. {e}"
                ))
            })
    }
}

/// Query parameters.
pub(crate) type QueryMap = HashMap<String, String>;

/// Whether a boolean query parameter is set: present with no value, or a true-ish value.
pub(crate) fn query_flag(q: &QueryMap, name: &str) -> bool {
    match q.get(name) {
        None => false,
        Some(v) => !matches!(
            v.to_ascii_lowercase().as_str(),
            "0" | "false" | "no" | "off" | "f" | "n"
        ),
    }
}

/// Builds the router over `state`.
pub(crate) fn router(state: AppState) -> Router {
    let grant = |path: &str| {
        (
            path.to_owned(),
            put(admin_api::put_grant)
                .get(admin_api::check_grant)
                .delete(admin_api::delete_grant),
        )
    };
    let (p_grant, p_grant_routes) =
        grant("/v3/projects/{target_id}/users/{user_id}/roles/{role_id}");
    let (d_grant, d_grant_routes) =
        grant("/v3/domains/{target_id}/users/{user_id}/roles/{role_id}");
    Router::new()
        .route("/", get(auth_api::versions))
        .route("/v3", get(auth_api::v3_root))
        .route("/v3/", get(auth_api::v3_root))
        .route(
            "/v3/auth/tokens",
            get(auth_api::validate_token)
                .post(auth_api::issue_token)
                .delete(auth_api::revoke_token),
        )
        .route("/v3/auth/catalog", get(auth_api::auth_catalog))
        .route("/v3/auth/projects", get(auth_api::auth_projects))
        .route("/v3/auth/domains", get(auth_api::auth_domains))
        .route("/v3/auth/system", get(auth_api::auth_system))
        .route(
            "/v3/services",
            get(admin_api::list_services).post(admin_api::create_service),
        )
        .route(
            "/v3/services/{id}",
            get(admin_api::get_service)
                .patch(admin_api::update_service)
                .delete(admin_api::delete_service),
        )
        .route(
            "/v3/endpoints",
            get(admin_api::list_endpoints).post(admin_api::create_endpoint),
        )
        .route(
            "/v3/endpoints/{id}",
            get(admin_api::get_endpoint)
                .patch(admin_api::update_endpoint)
                .delete(admin_api::delete_endpoint),
        )
        .route(
            "/v3/regions",
            get(admin_api::list_regions).post(admin_api::create_region),
        )
        .route(
            "/v3/regions/{id}",
            get(admin_api::get_region)
                .patch(admin_api::update_region)
                .delete(admin_api::delete_region),
        )
        .route(
            "/v3/domains",
            get(admin_api::list_domains).post(admin_api::create_domain),
        )
        .route(
            "/v3/domains/{id}",
            get(admin_api::get_domain)
                .patch(admin_api::update_domain)
                .delete(admin_api::delete_domain),
        )
        .route(
            "/v3/projects",
            get(admin_api::list_projects).post(admin_api::create_project),
        )
        .route(
            "/v3/projects/{id}",
            get(admin_api::get_project)
                .patch(admin_api::update_project)
                .delete(admin_api::delete_project),
        )
        .route(
            "/v3/users",
            get(admin_api::list_users).post(admin_api::create_user),
        )
        .route(
            "/v3/users/{id}",
            get(admin_api::get_user)
                .patch(admin_api::update_user)
                .delete(admin_api::delete_user),
        )
        .route(
            "/v3/users/{id}/projects",
            get(admin_api::list_user_projects),
        )
        .route(
            "/v3/roles",
            get(admin_api::list_roles).post(admin_api::create_role),
        )
        .route(
            "/v3/roles/{id}",
            get(admin_api::get_role)
                .patch(admin_api::update_role)
                .delete(admin_api::delete_role),
        )
        .route(&p_grant, p_grant_routes)
        .route(&d_grant, d_grant_routes)
        .route(
            "/v3/projects/{target_id}/users/{user_id}/roles",
            get(admin_api::list_project_grants),
        )
        .route(
            "/v3/domains/{target_id}/users/{user_id}/roles",
            get(admin_api::list_domain_grants),
        )
        .route(
            "/v3/system/users/{user_id}/roles",
            get(admin_api::list_system_grants),
        )
        .route(
            "/v3/system/users/{user_id}/roles/{role_id}",
            put(admin_api::put_system_grant)
                .get(admin_api::check_system_grant)
                .delete(admin_api::delete_system_grant),
        )
        .route(
            "/v3/role_assignments",
            get(admin_api::list_role_assignments),
        )
        .route(
            "/v3/users/{user_id}/application_credentials",
            get(admin_api::list_app_creds).post(admin_api::create_app_cred),
        )
        .route(
            "/v3/users/{user_id}/application_credentials/{id}",
            get(admin_api::get_app_cred).delete(admin_api::delete_app_cred),
        )
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            route_controls,
        ))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            keystone_headers,
        ))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "The resource could not be found.")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "The method is not allowed for the requested URL.",
    )
}

/// Counts the request and applies the route's fault, if any.
async fn route_controls(
    State(state): State<AppState>,
    path: MatchedPath,
    req: Request,
    next: Next,
) -> Response {
    let route = format!("{} {}", req.method(), path.as_str());
    state.controls.count(&route);
    if let Some(fault) = state.controls.fault_for(&route) {
        if let Some(latency) = fault.latency {
            tokio::time::sleep(latency).await;
        }
        if let Some(status) = fault.status {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            return ApiError::new(status, format!("fault injected on {route}")).into_response();
        }
    }
    next.run(req).await
}

/// Adds what every Keystone answer carries: `Vary`, a request id, and on a 401 the
/// `WWW-Authenticate` header naming the identity endpoint.
async fn keystone_headers(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    headers.insert(header::VARY, HeaderValue::from_static("X-Auth-Token"));
    let request_id = format!("req-{}", uuid::Uuid::new_v4());
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        headers.insert("x-openstack-request-id", v);
    }
    if response.status() == StatusCode::UNAUTHORIZED
        && let Ok(v) = HeaderValue::from_str(&format!("Keystone uri=\"{}/v3\"", state.base()))
    {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    response
}

/// Whether a token scope is a project one.
pub(crate) fn scope_project(scope: &TokenScope) -> Option<&str> {
    match scope {
        TokenScope::Project(p) => Some(p),
        _ => None,
    }
}
