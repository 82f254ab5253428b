//! Version discovery and `/v3/auth/*`: issuing, validating, checking and revoking tokens, and
//! the catalog, projects, domains and system a token may use.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use keystone_types::auth::AuthRequest;
use keystone_types::resources::{DomainList, ProjectList, SelfLink};
use keystone_types::token::CatalogResponse;
use keystone_types::version::{Version, VersionList, VersionResponse, VersionsResponse};
use serde_json::json;

use crate::error::{ApiError, ApiResult};
use crate::extract::{KsJson, KsQuery, QueryMap, query_bool_from_string};
use crate::policy::{Caller, PolicyTarget};
use crate::state::{AppState, Authed};
use crate::store::{Target, TokenProblem};

fn v3_version(state: &AppState) -> Version {
    Version::identity_v3(format!("{}/v3/", state.base()))
}

/// `GET /`: 300 Multiple Choices with the one version and a `Location`.
pub(crate) async fn versions(State(state): State<AppState>) -> Response {
    let body = VersionsResponse {
        versions: VersionList {
            values: vec![v3_version(&state)],
        },
    };
    let mut response = (StatusCode::MULTIPLE_CHOICES, Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("{}/v3/", state.base())) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response
}

/// `GET /v3`.
pub(crate) async fn v3_root(State(state): State<AppState>) -> Json<VersionResponse> {
    Json(VersionResponse {
        version: v3_version(&state),
    })
}

fn subject_header(token: &str) -> ApiResult<HeaderValue> {
    HeaderValue::from_str(token).map_err(|_| ApiError::bad_request("invalid token characters"))
}

/// `POST /v3/auth/tokens[?nocatalog]`: 201 with the token in `X-Subject-Token`.
/// A newly issued token's answer: its body, and the token in `X-Subject-Token`.
fn issued(status: StatusCode, token: &str, body: impl serde::Serialize) -> ApiResult<Response> {
    let mut response = (status, Json(body)).into_response();
    response
        .headers_mut()
        .insert("x-subject-token", subject_header(token)?);
    Ok(response)
}

pub(crate) async fn issue_token(
    State(state): State<AppState>,
    KsQuery(q): KsQuery<QueryMap>,
    KsJson(request): KsJson<AuthRequest>,
) -> ApiResult<Response> {
    let mut store = state.store();
    let (token, rec, body) = store.issue(
        &request,
        state.clock.now(),
        state.ttl(),
        !q.contains_key("nocatalog"),
    )?;
    let body = state.views().token(&store, &rec, body);
    drop(store);
    issued(StatusCode::CREATED, &token, body)
}

/// `POST /v3/ec2tokens`: a project-scoped token for a signed AWS request (admins and the
/// `service` role ask, for the services that take EC2 credentials), answered 200 as Keystone
/// answers it.
pub(crate) async fn ec2tokens(
    State(state): State<AppState>,
    KsQuery(q): KsQuery<QueryMap>,
    Authed(caller, KsJson(body)): Authed<KsJson<serde_json::Map<String, serde_json::Value>>>,
) -> ApiResult<Response> {
    caller.enforce("identity:ec2tokens_validate", &PolicyTarget::new())?;
    if body.is_empty() {
        return Err(ApiError::bad_request("request must include a request body"));
    }
    // the first of the three names Keystone reads that holds something
    let credentials = ["credentials", "credential", "ec2Credentials"]
        .iter()
        .filter_map(|k| body.get(*k).and_then(|v| v.as_object()))
        .find(|c| !c.is_empty())
        .cloned()
        .unwrap_or_default();
    let mut store = state.store();
    let (token, rec, body) = store.ec2_token(
        &credentials,
        state.clock.now(),
        state.ttl(),
        !q.contains_key("nocatalog"),
    )?;
    let body = state.views().token(&store, &rec, body);
    drop(store);
    issued(StatusCode::OK, &token, body)
}

fn subject_token(headers: &HeaderMap) -> ApiResult<&str> {
    headers
        .get("x-subject-token")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        // Keystone's token provider: `TokenNotFound(_('No token in the request'))`
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "No token in the request"))
}

/// `GET` and `HEAD /v3/auth/tokens[?nocatalog][&allow_expired=1]`.
pub(crate) async fn validate_token(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    KsQuery(q): KsQuery<QueryMap>,
    caller: Caller,
) -> ApiResult<Response> {
    let subject = subject_token(&headers)?;
    let allow_expired = query_bool_from_string(&q, "allow_expired");
    let store = state.store();
    // A subject that does not validate is a 404 whoever asks; otherwise the policy decides
    // against the subject token's owner.
    let rec = store
        .check_token(subject, state.clock.now(), allow_expired)
        .map_err(|problem| store.token_error(subject, problem))?;
    let understands_rules = headers
        .get("openstack-identity-access-rules")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .is_some_and(|v| v >= 1.0);
    if store.has_access_rules(rec) && !understands_rules {
        tracing::warn!(
            "a token of an application credential with access rules, validated by a \
             middleware that does not enforce them"
        );
        return Err(store.token_error(subject, TokenProblem::Invalid));
    }
    let rule = if method == Method::HEAD {
        "identity:check_token"
    } else {
        "identity:validate_token"
    };
    caller.enforce(
        rule,
        &PolicyTarget::new().with("target.token.user_id", rec.user_id.as_str()),
    )?;
    let body = store
        .token_body(rec, !q.contains_key("nocatalog"))
        .map_err(|problem| store.token_error(subject, problem))?;
    let body = state.views().token(&store, rec, body);
    drop(store);
    let mut response = Json(body).into_response();
    response
        .headers_mut()
        .insert("x-subject-token", subject_header(subject)?);
    Ok(response)
}

/// `DELETE /v3/auth/tokens`: 204.
pub(crate) async fn revoke_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: Caller,
) -> ApiResult<StatusCode> {
    let subject = subject_token(&headers)?;
    let mut store = state.store();
    let owner = store
        .check_token(subject, state.clock.now(), false)
        .map_err(|problem| store.token_error(subject, problem))?
        .user_id
        .clone();
    caller.enforce(
        "identity:revoke_token",
        &PolicyTarget::new().with("target.token.user_id", owner.as_str()),
    )?;
    store.revoke(subject);
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v3/auth/catalog`.
pub(crate) async fn auth_catalog(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<CatalogResponse>> {
    caller.enforce("identity:get_auth_catalog", &PolicyTarget::default())?;
    // Keystone raises `Forbidden` for any token but a project-scoped one; its detail is only
    // shown in `insecure_debug` mode
    if caller.project_id().is_none() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "You are not authorized to perform the requested action.",
        ));
    }
    Ok(Json(CatalogResponse {
        catalog: state.store().catalog(&caller.user_id, caller.project_id()),
        links: SelfLink {
            self_link: format!("{}/v3/auth/catalog", state.base()),
        },
    }))
}

/// `GET /v3/auth/projects`: the projects the caller holds a role on.
pub(crate) async fn auth_projects(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<ProjectList>> {
    caller.enforce("identity:get_auth_projects", &PolicyTarget::default())?;
    let store = state.store();
    let views = state.views();
    let projects = store
        .projects
        .values()
        .filter(|p| {
            p.enabled
                && !store
                    .effective_roles(&caller.user_id, &Target::Project(p.id.clone()))
                    .is_empty()
        })
        .map(|p| views.project(p))
        .collect();
    Ok(Json(ProjectList {
        projects,
        links: views.list_links("/v3/auth/projects"),
    }))
}

/// `GET /v3/auth/domains`: the domains the caller holds a role on.
pub(crate) async fn auth_domains(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<DomainList>> {
    caller.enforce("identity:get_auth_domains", &PolicyTarget::default())?;
    let store = state.store();
    let views = state.views();
    let domains = store
        .domains
        .values()
        .filter(|d| {
            d.enabled
                && !store
                    .direct_roles(&caller.user_id, &Target::Domain(d.id.clone()))
                    .is_empty()
        })
        .map(|d| views.domain(d))
        .collect();
    Ok(Json(DomainList {
        domains,
        links: views.list_links("/v3/auth/domains"),
    }))
}

/// `GET /v3/auth/system`: `[{"all": true}]` when the caller holds a system role.
pub(crate) async fn auth_system(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<serde_json::Value>> {
    caller.enforce("identity:get_auth_system", &PolicyTarget::default())?;
    let has_system = !state
        .store()
        .direct_roles(&caller.user_id, &Target::System)
        .is_empty();
    let system = if has_system {
        json!([{"all": true}])
    } else {
        json!([])
    };
    Ok(Json(json!({
        "system": system,
        "links": {"self": format!("{}/v3/auth/system", state.base())},
    })))
}
