//! The axum application: shared state, the router, the response middleware that every Keystone
//! answer goes through, and the extractors handlers share.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, MatchedPath, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::de::DeserializeOwned;

use crate::controls::{Clock, Controls};
use crate::error::{ApiError, ApiResult, validation_error};
use crate::policy::Caller;
use crate::store::{Store, TokenProblem, TokenScope};
use crate::{admin_api, auth_api, group_api, trust_api};

tokio::task_local! {
    /// The root URL of the request being answered.
    static REQUEST_BASE: String;
}

/// The root URL a request reached the fake by: `http://` and its `Host` (or the authority of
/// its URI), without the standard port, as `wsgiref.util.application_uri` and Keystone's
/// `remove_standard_port` make it. `None` when there is no usable host.
fn request_base(req: &Request) -> Option<String> {
    let host = req
        .uri()
        .authority()
        .map(|a| a.as_str().to_owned())
        .or_else(|| {
            req.headers()
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(str::to_owned)
        })?;
    let usable = !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-_:[]".contains(&b));
    if !usable {
        return None;
    }
    let host = host.strip_suffix(":80").unwrap_or(&host);
    Some(format!("http://{host}"))
}

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

    /// The root URL links are built on: during a request, the one the client reached the
    /// fake by (its `Host`, as Keystone's `base_url()` reads the WSGI request), otherwise the
    /// bound address.
    pub(crate) fn base(&self) -> String {
        REQUEST_BASE.try_with(Clone::clone).unwrap_or_else(|_| {
            self.base_url
                .get()
                .cloned()
                .unwrap_or_else(|| "http://127.0.0.1".to_owned())
        })
    }

    /// The token lifetime.
    pub(crate) fn ttl(&self) -> chrono::Duration {
        *self.token_ttl.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Who the `X-Auth-Token` of a request belongs to; 401 when it is missing or not valid,
    /// except that, as in Keystone, a token whose trust is gone is a 404 and one whose trust
    /// is refused a 403. The caller's user is the token's user as its body shows it (the
    /// trustor, for a token of a trust that impersonates), as Keystone's request context has
    /// it.
    pub(crate) fn caller(&self, headers: &HeaderMap) -> ApiResult<Caller> {
        let token = headers
            .get("x-auth-token")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(ApiError::unauthorized)?;
        let store = self.store();
        let rec =
            store
                .check_token(token, self.clock.now(), false)
                .map_err(|problem| match problem {
                    TokenProblem::TrustNotFound | TokenProblem::TrustForbidden => {
                        store.token_error(token, problem)
                    }
                    _ => ApiError::unauthorized(),
                })?;
        let body = store
            .token_body(rec, false)
            .map_err(|_| ApiError::unauthorized())?;
        Ok(Caller {
            user_id: body.user.id.clone(),
            user_domain_id: body.user.domain.id.clone(),
            scope: rec.scope.clone(),
            project_domain_id: body.project.as_ref().map(|p| p.domain.id.clone()),
            roles: body.role_names().map(str::to_owned).collect(),
            role_ids: body.roles.iter().flatten().map(|r| r.id.clone()).collect(),
            methods: rec.methods.clone(),
            trust_id: rec.trust_id.clone(),
            token: serde_json::to_value(&body).unwrap_or_default(),
        })
    }
}

/// Whether a `Content-Type` is JSON as werkzeug's `is_json` decides: `application/json` or
/// `application/*+json`.
fn is_json_content_type(value: &[u8]) -> bool {
    let text = String::from_utf8_lossy(value);
    let mime = text
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

/// A JSON request body, rejected as Keystone rejects one: a body with a `Content-Type` that is
/// not JSON, text that is not a JSON object, JSON of the wrong shape (naming the attribute,
/// never its value: it may be a password), and 413 for a body over the size limit.
#[derive(Debug)]
pub(crate) struct KsJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for KsJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.as_bytes().to_vec())
            .filter(|v| !v.is_empty());
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "Request is too large.")
            } else {
                validation_error("valid JSON", "request body")
            }
        })?;
        // Keystone checks the type of a body that is not empty (`json_body_before_request`),
        // taking no `Content-Type` as JSON, and reads an empty body as `{}`.
        if !bytes.is_empty() && content_type.is_some_and(|ct| !is_json_content_type(&ct)) {
            return Err(validation_error("application/json", "Content-Type header"));
        }
        let bytes: &[u8] = if bytes.is_empty() { b"{}" } else { &bytes };
        // only an object: serde would also read a struct from an array
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(validation_error("valid JSON", "request body"));
        }
        // parsed once; a second time, as a plain value, only to word a rejection
        match axum::Json::<T>::from_bytes(bytes) {
            Ok(axum::Json(v)) => Ok(KsJson(v)),
            Err(rejection) => match serde_json::from_slice::<serde_json::Value>(bytes) {
                Ok(value) => Err(schema_error(&value, &rejection.body_text())),
                Err(_) => Err(validation_error("valid JSON", "request body")),
            },
        }
    }
}

/// Reads a request body already taken as JSON (`KsJson<Value>`, for a handler that also needs
/// what the typed body leaves out) as `T`, rejected as [`KsJson`] rejects a body.
pub(crate) fn json_from_value<T: DeserializeOwned>(value: &serde_json::Value) -> ApiResult<T> {
    let bytes = serde_json::to_vec(value).map_err(|_| ApiError::internal())?;
    axum::Json::<T>::from_bytes(&bytes)
        .map(|axum::Json(v)| v)
        .map_err(|rejection| schema_error(value, &rejection.body_text()))
}

/// The 400 for a body of the wrong shape, from axum's description of the failure (a path
/// such as `user.enabled`, then serde's message). It names the attribute as Keystone does
/// (`Invalid input for field 'enabled'`, relative to the resource's wrapper key) and says
/// what was wrong without repeating the submitted value.
fn schema_error(body: &serde_json::Value, description: &str) -> ApiError {
    let text = description
        .split_once(": ")
        .map(|(_, rest)| rest)
        .unwrap_or(description);
    // the longest prefix before ": " that names a place in the body is the path
    let mut path: Vec<String> = Vec::new();
    let mut detail = text;
    for (i, _) in text.match_indices(": ") {
        let candidate = &text[..i];
        if let Some(segments) = resolve_path(body, candidate) {
            path = segments;
            detail = &text[i + 2..];
        }
    }
    let detail = detail.split(" at line ").next().unwrap_or_default();
    let quoted = |s: &str| s.split('`').nth(1).map(str::to_owned);
    let (path, reason) = if let Some(field) = detail
        .strip_prefix("missing field ")
        .and_then(|_| quoted(detail))
    {
        if path.is_empty() {
            return validation_error(&field, "request body");
        }
        (path, format!("'{field}' is a required property"))
    } else if let Some(field) = detail
        .strip_prefix("unknown field ")
        .and_then(|_| quoted(detail))
    {
        (
            path,
            format!("Additional properties are not allowed ('{field}' was unexpected)"),
        )
    } else if let Some((_, expected)) = detail.split_once(", expected ") {
        (path, format!("the value is not valid: expected {expected}"))
    } else {
        (path, "the value is not valid".to_owned())
    };
    // Keystone validates what is under the wrapper key (`user`, `auth`...)
    let field = if path.len() > 1 {
        path[1..].join("/")
    } else {
        path.join("/")
    };
    ApiError::bad_request(format!("Invalid input for field '{field}': {reason}"))
}

/// The segments of a serde_path_to_error path (`user.roles[0].name`) when it names a place in
/// `body`; `None` when it does not (it was not a path, but part of a message).
fn resolve_path(body: &serde_json::Value, path: &str) -> Option<Vec<String>> {
    let mut here = body;
    let mut out = Vec::new();
    for part in path.split('.') {
        let (key, mut rest) = part.split_once('[').map_or((part, ""), |(k, r)| (k, r));
        here = here.as_object()?.get(key)?;
        out.push(key.to_owned());
        while let Some((index, after)) = rest.split_once(']') {
            here = here.as_array()?.get(index.parse::<usize>().ok()?)?;
            out.push(index.to_owned());
            rest = after.strip_prefix('[').unwrap_or(after);
        }
    }
    Some(out)
}

/// Path parameters, rejected (invalid UTF-8 in a segment, say) in Keystone's error shape.
#[derive(Debug)]
pub(crate) struct KsPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for KsPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(v)) => Ok(KsPath(v)),
            Err(e) if e.status().is_server_error() => Err(ApiError::internal()),
            Err(_) => Err(ApiError::bad_request(
                "Invalid input for a parameter of the URL path.",
            )),
        }
    }
}

/// Query parameters, rejected in Keystone's error shape.
#[derive(Debug)]
pub(crate) struct KsQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for KsQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| KsQuery(v))
            .map_err(|_| ApiError::bad_request("Invalid input for the query string."))
    }
}

/// Query parameters.
pub(crate) type QueryMap = HashMap<String, String>;

/// A boolean query parameter as Keystone's `query_filter_is_true` reads it (`include_names`,
/// `effective`): present means true, whatever its value, except `0`.
pub(crate) fn query_filter_is_true(q: &QueryMap, name: &str) -> bool {
    q.get(name).is_some_and(|v| v != "0")
}

/// A boolean query parameter as oslo's `strutils.bool_from_string` reads it (`allow_expired`):
/// true only for `1`, `t`, `true`, `on`, `y` and `yes` (any case); absent or bare is false.
pub(crate) fn query_bool_from_string(q: &QueryMap, name: &str) -> bool {
    q.get(name).is_some_and(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "1" | "t" | "true" | "on" | "y" | "yes"
        )
    })
}

/// Whether a boolean filter of a list (`enabled`) is set: present with no value, or a
/// true-ish value.
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
    // the same handlers serve users' and groups' grants: they read which from the path
    let grants = ["projects", "domains"].into_iter().flat_map(|target| {
        ["users", "groups"].into_iter().flat_map(move |actor| {
            [
                grant(&format!(
                    "/v3/{target}/{{target_id}}/{actor}/{{actor_id}}/roles/{{role_id}}"
                )),
                (
                    format!("/v3/{target}/{{target_id}}/{actor}/{{actor_id}}/roles"),
                    get(admin_api::list_grants),
                ),
            ]
        })
    });
    // OS-INHERIT: inherited grants on a domain (with their list) or a project
    let inherited_grants = ["users", "groups"].into_iter().flat_map(move |actor| {
        [
            grant(&format!(
                "/v3/OS-INHERIT/domains/{{target_id}}/{actor}/{{actor_id}}/roles/{{role_id}}/inherited_to_projects"
            )),
            (
                format!(
                    "/v3/OS-INHERIT/domains/{{target_id}}/{actor}/{{actor_id}}/roles/inherited_to_projects"
                ),
                get(admin_api::list_grants),
            ),
            grant(&format!(
                "/v3/OS-INHERIT/projects/{{target_id}}/{actor}/{{actor_id}}/roles/{{role_id}}/inherited_to_projects"
            )),
        ]
    });
    let system_grants = ["users", "groups"].into_iter().flat_map(|actor| {
        [
            (
                format!("/v3/system/{actor}/{{actor_id}}/roles"),
                get(admin_api::list_system_grants),
            ),
            (
                format!("/v3/system/{actor}/{{actor_id}}/roles/{{role_id}}"),
                put(admin_api::put_system_grant)
                    .get(admin_api::check_system_grant)
                    .delete(admin_api::delete_system_grant),
            ),
        ]
    });
    let routes = Router::new()
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
                .put(admin_api::put_region)
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
        .route("/v3/users/{id}/password", post(admin_api::change_password))
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
        .route(
            "/v3/roles/{prior_role_id}/implies",
            get(admin_api::list_implied_roles),
        )
        .route(
            "/v3/roles/{prior_role_id}/implies/{implied_role_id}",
            put(admin_api::put_implied_role)
                .get(admin_api::get_implied_role)
                .head(admin_api::check_implied_role)
                .delete(admin_api::delete_implied_role),
        )
        .route("/v3/role_inferences", get(admin_api::list_role_inferences))
        .route(
            "/v3/groups",
            get(group_api::list_groups).post(group_api::create_group),
        )
        .route(
            "/v3/groups/{id}",
            get(group_api::get_group)
                .patch(group_api::update_group)
                .delete(group_api::delete_group),
        )
        .route("/v3/groups/{id}/users", get(group_api::list_group_users))
        .route(
            "/v3/groups/{id}/users/{user_id}",
            put(group_api::add_user_to_group)
                .get(group_api::check_user_in_group)
                .delete(group_api::remove_user_from_group),
        )
        .route("/v3/users/{id}/groups", get(group_api::list_user_groups))
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
        .route(
            "/v3/users/{user_id}/access_rules",
            get(admin_api::list_access_rules),
        )
        .route(
            "/v3/users/{user_id}/access_rules/{id}",
            get(admin_api::get_access_rule).delete(admin_api::delete_access_rule),
        )
        .route(
            "/v3/OS-TRUST/trusts",
            get(trust_api::list_trusts).post(trust_api::create_trust),
        )
        .route(
            "/v3/OS-TRUST/trusts/{trust_id}",
            get(trust_api::get_trust).delete(trust_api::delete_trust),
        )
        .route(
            "/v3/OS-TRUST/trusts/{trust_id}/roles",
            get(trust_api::list_trust_roles),
        )
        .route(
            "/v3/OS-TRUST/trusts/{trust_id}/roles/{role_id}",
            get(trust_api::get_trust_role),
        );
    grants
        .chain(inherited_grants)
        .chain(system_grants)
        .fold(routes, |r, (path, methods)| r.route(&path, methods))
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
    let base = request_base(&req).unwrap_or_else(|| state.base());
    let mut response = REQUEST_BASE.scope(base.clone(), next.run(req)).await;
    let headers = response.headers_mut();
    headers.insert(header::VARY, HeaderValue::from_static("X-Auth-Token"));
    let request_id = format!("req-{}", uuid::Uuid::new_v4());
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        headers.insert("x-openstack-request-id", v);
    }
    if response.status() == StatusCode::UNAUTHORIZED
        && let Ok(v) = HeaderValue::from_str(&format!("Keystone uri=\"{}/v3\"", base))
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
