//! The router: every route of the fake and the handler that serves it, the fallbacks, and the
//! middleware every answer goes through (request counters and faults, Keystone's headers).

use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};

use crate::api::{
    assignment, auth, blobs, catalog, controls, credentials, domain_config, endpoint_filter,
    endpoint_policy, federation, identity, resource, revoke, tags, trusts,
};
use crate::error::ApiError;
use crate::state::{self, AppState};

/// Builds the router over `state`: every subsystem's routes, counted and faulted by the test
/// controls, with Keystone's fallbacks and headers.
pub(crate) fn router(state: AppState) -> Router {
    let routes = [
        auth_routes,
        catalog_routes,
        endpoint_filter_routes,
        resource_routes,
        domain_config_routes,
        identity_routes,
        assignment_routes,
        credential_routes,
        policy_routes,
        endpoint_policy_routes,
        federation_routes,
        trust_routes,
    ]
    .into_iter()
    .fold(Router::new(), |routes, add| add(routes));
    let mut routes = routes.route_layer(middleware::from_fn_with_state(
        state.clone(),
        route_controls,
    ));
    // after the counting layer: the controls are neither counted nor faulted
    if state.controls_api {
        routes = routes
            .route(
                "/_fake/requests",
                get(controls::requests).delete(controls::reset_requests),
            )
            .route(
                "/_fake/faults",
                put(controls::set_fault).delete(controls::clear_faults),
            )
            .route("/_fake/clock", post(controls::advance_clock));
    }
    let mut routes = routes
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            keystone_headers,
        ));
    // outermost: the line shows the answer as the client gets it, fallbacks included
    if state.access_log {
        routes = routes.layer(middleware::from_fn_with_state(state.clone(), access_log));
    }
    routes.with_state(state)
}

/// Version discovery and `/v3/auth/*`.
fn auth_routes(routes: Router<AppState>) -> Router<AppState> {
    routes
        .route("/", get(auth::versions))
        .route("/v3", get(auth::v3_root))
        .route("/v3/", get(auth::v3_root))
        .route(
            "/v3/auth/tokens",
            get(auth::validate_token)
                .post(auth::issue_token)
                .delete(auth::revoke_token),
        )
        .route("/v3/auth/catalog", get(auth::auth_catalog))
        .route("/v3/auth/projects", get(auth::auth_projects))
        .route("/v3/auth/domains", get(auth::auth_domains))
        .route("/v3/auth/system", get(auth::auth_system))
        .route("/v3/OS-REVOKE/events", get(revoke::list_revoke_events))
        .route("/v3/ec2tokens", post(auth::ec2tokens))
}

/// Services, endpoints and regions.
fn catalog_routes(routes: Router<AppState>) -> Router<AppState> {
    routes
        .route(
            "/v3/services",
            get(catalog::list_services).post(catalog::create_service),
        )
        .route(
            "/v3/services/{id}",
            get(catalog::get_service)
                .patch(catalog::update_service)
                .delete(catalog::delete_service),
        )
        .route(
            "/v3/endpoints",
            get(catalog::list_endpoints).post(catalog::create_endpoint),
        )
        .route(
            "/v3/endpoints/{id}",
            get(catalog::get_endpoint)
                .patch(catalog::update_endpoint)
                .delete(catalog::delete_endpoint),
        )
        .route(
            "/v3/regions",
            get(catalog::list_regions).post(catalog::create_region),
        )
        .route(
            "/v3/regions/{id}",
            get(catalog::get_region)
                .put(catalog::put_region)
                .patch(catalog::update_region)
                .delete(catalog::delete_region),
        )
}

/// OS-EP-FILTER: endpoint groups, and the endpoints and endpoint groups associated with
/// projects.
fn endpoint_filter_routes(routes: Router<AppState>) -> Router<AppState> {
    use endpoint_filter as ef;
    routes
        .route(
            "/v3/OS-EP-FILTER/endpoint_groups",
            get(ef::list_endpoint_groups).post(ef::create_endpoint_group),
        )
        .route(
            "/v3/OS-EP-FILTER/endpoint_groups/{id}",
            get(ef::get_endpoint_group)
                .patch(ef::update_endpoint_group)
                .delete(ef::delete_endpoint_group),
        )
        .route(
            "/v3/OS-EP-FILTER/endpoint_groups/{id}/projects",
            get(ef::list_group_projects),
        )
        .route(
            "/v3/OS-EP-FILTER/endpoint_groups/{id}/endpoints",
            get(ef::list_group_endpoints),
        )
        .route(
            "/v3/OS-EP-FILTER/endpoint_groups/{id}/projects/{project_id}",
            get(ef::get_group_project)
                .put(ef::put_group_project)
                .delete(ef::delete_group_project),
        )
        .route(
            "/v3/OS-EP-FILTER/projects/{project_id}/endpoint_groups",
            get(ef::list_project_endpoint_groups),
        )
        .route(
            "/v3/OS-EP-FILTER/projects/{project_id}/endpoints",
            get(ef::list_project_endpoints),
        )
        .route(
            "/v3/OS-EP-FILTER/projects/{project_id}/endpoints/{endpoint_id}",
            get(ef::check_project_endpoint)
                .put(ef::put_project_endpoint)
                .delete(ef::delete_project_endpoint),
        )
        .route(
            "/v3/OS-EP-FILTER/endpoints/{endpoint_id}/projects",
            get(ef::list_endpoint_projects),
        )
}

/// Domains and projects.
fn resource_routes(routes: Router<AppState>) -> Router<AppState> {
    routes
        .route(
            "/v3/domains",
            get(resource::list_domains).post(resource::create_domain),
        )
        .route(
            "/v3/domains/{id}",
            get(resource::get_domain)
                .patch(resource::update_domain)
                .delete(resource::delete_domain),
        )
        .route(
            "/v3/projects",
            get(resource::list_projects).post(resource::create_project),
        )
        .route(
            "/v3/projects/{id}",
            get(resource::get_project)
                .patch(resource::update_project)
                .delete(resource::delete_project),
        )
        .route(
            "/v3/projects/{id}/tags",
            get(tags::list_project_tags)
                .put(tags::replace_project_tags)
                .delete(tags::delete_project_tags),
        )
        .route(
            "/v3/projects/{id}/tags/{tag}",
            get(tags::check_project_tag)
                .put(tags::add_project_tag)
                .delete(tags::delete_project_tag),
        )
}

/// Domain configuration: a domain's, by group and by option, and Keystone's defaults (the
/// literal `/v3/domains/config/...` routes win over `/v3/domains/{id}/...`; `/v3/domains/config`
/// itself is still the domain `config`).
fn domain_config_routes(routes: Router<AppState>) -> Router<AppState> {
    use domain_config as dc;
    routes
        .route(
            "/v3/domains/{id}/config",
            get(dc::get_config)
                .put(dc::put_config)
                .patch(dc::patch_config)
                .delete(dc::delete_config),
        )
        .route(
            "/v3/domains/{id}/config/{group}",
            get(dc::get_group)
                .patch(dc::patch_group)
                .delete(dc::delete_group),
        )
        .route(
            "/v3/domains/{id}/config/{group}/{option}",
            get(dc::get_option)
                .patch(dc::patch_option)
                .delete(dc::delete_option),
        )
        .route("/v3/domains/config/default", get(dc::get_default))
        .route(
            "/v3/domains/config/{group}/default",
            get(dc::get_default_group),
        )
        .route(
            "/v3/domains/config/{group}/{option}/default",
            get(dc::get_default_option),
        )
}

/// Users (their projects, their own password changes) and groups with their members.
fn identity_routes(routes: Router<AppState>) -> Router<AppState> {
    routes
        .route(
            "/v3/users",
            get(identity::list_users).post(identity::create_user),
        )
        .route(
            "/v3/users/{id}",
            get(identity::get_user)
                .patch(identity::update_user)
                .delete(identity::delete_user),
        )
        .route("/v3/users/{id}/projects", get(identity::list_user_projects))
        .route("/v3/users/{id}/password", post(identity::change_password))
        .route(
            "/v3/groups",
            get(identity::list_groups).post(identity::create_group),
        )
        .route(
            "/v3/groups/{id}",
            get(identity::get_group)
                .patch(identity::update_group)
                .delete(identity::delete_group),
        )
        .route("/v3/groups/{id}/users", get(identity::list_group_users))
        .route(
            "/v3/groups/{id}/users/{user_id}",
            put(identity::add_user_to_group)
                .get(identity::check_user_in_group)
                .delete(identity::remove_user_from_group),
        )
        .route("/v3/users/{id}/groups", get(identity::list_user_groups))
}

/// Roles and the rules of which implies which, grants (to users and groups, on projects,
/// domains and the system, OS-INHERIT's inherited ones) and role assignments.
fn assignment_routes(routes: Router<AppState>) -> Router<AppState> {
    let routes = routes
        .route(
            "/v3/roles",
            get(assignment::list_roles).post(assignment::create_role),
        )
        .route(
            "/v3/roles/{id}",
            get(assignment::get_role)
                .patch(assignment::update_role)
                .delete(assignment::delete_role),
        )
        .route(
            "/v3/roles/{prior_role_id}/implies",
            get(assignment::list_implied_roles),
        )
        .route(
            "/v3/roles/{prior_role_id}/implies/{implied_role_id}",
            put(assignment::put_implied_role)
                .get(assignment::get_implied_role)
                .head(assignment::check_implied_role)
                .delete(assignment::delete_implied_role),
        )
        .route("/v3/role_inferences", get(assignment::list_role_inferences))
        .route(
            "/v3/role_assignments",
            get(assignment::list_role_assignments),
        );
    let grant = |path: &str| {
        (
            path.to_owned(),
            put(assignment::put_grant)
                .get(assignment::check_grant)
                .delete(assignment::delete_grant),
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
                    get(assignment::list_grants),
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
                get(assignment::list_grants),
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
                get(assignment::list_system_grants),
            ),
            (
                format!("/v3/system/{actor}/{{actor_id}}/roles/{{role_id}}"),
                put(assignment::put_system_grant)
                    .get(assignment::check_system_grant)
                    .delete(assignment::delete_system_grant),
            ),
        ]
    });
    grants
        .chain(inherited_grants)
        .chain(system_grants)
        .fold(routes, |r, (path, methods)| r.route(&path, methods))
}

/// Application credentials and their access rules.
fn credential_routes(routes: Router<AppState>) -> Router<AppState> {
    routes
        .route(
            "/v3/users/{user_id}/application_credentials",
            get(credentials::list_app_creds).post(credentials::create_app_cred),
        )
        .route(
            "/v3/users/{user_id}/application_credentials/{id}",
            get(credentials::get_app_cred).delete(credentials::delete_app_cred),
        )
        .route(
            "/v3/users/{user_id}/access_rules",
            get(credentials::list_access_rules),
        )
        .route(
            "/v3/users/{user_id}/access_rules/{id}",
            get(credentials::get_access_rule).delete(credentials::delete_access_rule),
        )
        .route(
            "/v3/credentials",
            get(blobs::list_credentials).post(blobs::create_credential),
        )
        .route(
            "/v3/credentials/{id}",
            get(blobs::get_credential)
                .patch(blobs::update_credential)
                .delete(blobs::delete_credential),
        )
        .route(
            "/v3/users/{user_id}/credentials/OS-EC2",
            get(blobs::list_ec2_credentials).post(blobs::create_ec2_credential),
        )
        .route(
            "/v3/users/{user_id}/credentials/OS-EC2/{access}",
            get(blobs::get_ec2_credential).delete(blobs::delete_ec2_credential),
        )
}

/// OS-FEDERATION's admin routes: identity providers, their protocols, mappings, service
/// providers.
fn federation_routes(routes: Router<AppState>) -> Router<AppState> {
    const FED: &str = "/v3/OS-FEDERATION";
    routes
        .route(
            &format!("{FED}/identity_providers"),
            get(federation::list_idps),
        )
        .route(
            &format!("{FED}/identity_providers/{{idp_id}}"),
            get(federation::get_idp)
                .put(federation::create_idp)
                .patch(federation::update_idp)
                .delete(federation::delete_idp),
        )
        .route(
            &format!("{FED}/identity_providers/{{idp_id}}/protocols"),
            get(federation::list_protocols),
        )
        .route(
            &format!("{FED}/identity_providers/{{idp_id}}/protocols/{{protocol_id}}"),
            get(federation::get_protocol)
                .put(federation::create_protocol)
                .patch(federation::update_protocol)
                .delete(federation::delete_protocol),
        )
        .route(&format!("{FED}/mappings"), get(federation::list_mappings))
        .route(
            &format!("{FED}/mappings/{{mapping_id}}"),
            get(federation::get_mapping)
                .put(federation::create_mapping)
                .patch(federation::update_mapping)
                .delete(federation::delete_mapping),
        )
        .route(
            &format!("{FED}/service_providers"),
            get(federation::list_sps),
        )
        .route(
            &format!("{FED}/service_providers/{{sp_id}}"),
            get(federation::get_sp)
                .put(federation::create_sp)
                .patch(federation::update_sp)
                .delete(federation::delete_sp),
        )
}

/// Stored policy blobs (`/v3/policies`) and OAuth1 consumers.
fn policy_routes(routes: Router<AppState>) -> Router<AppState> {
    routes
        .route(
            "/v3/OS-OAUTH1/consumers",
            get(blobs::list_consumers).post(blobs::create_consumer),
        )
        .route(
            "/v3/OS-OAUTH1/consumers/{id}",
            get(blobs::get_consumer)
                .patch(blobs::update_consumer)
                .delete(blobs::delete_consumer),
        )
        .route(
            "/v3/policies",
            get(blobs::list_policies).post(blobs::create_policy),
        )
        .route(
            "/v3/policies/{id}",
            get(blobs::get_policy)
                .patch(blobs::update_policy)
                .delete(blobs::delete_policy),
        )
}

/// OS-ENDPOINT-POLICY: policies associated with endpoints, services and services in regions.
fn endpoint_policy_routes(routes: Router<AppState>) -> Router<AppState> {
    use endpoint_policy as epp;
    const BY_POLICY: &str = "/v3/policies/{policy_id}/OS-ENDPOINT-POLICY";
    routes
        .route(
            &format!("{BY_POLICY}/endpoints"),
            get(epp::list_policy_endpoints),
        )
        .route(
            &format!("{BY_POLICY}/endpoints/{{endpoint_id}}"),
            get(epp::check_endpoint_policy)
                .put(epp::put_endpoint_policy)
                .delete(epp::delete_endpoint_policy),
        )
        .route(
            &format!("{BY_POLICY}/services/{{service_id}}"),
            get(epp::check_service_policy)
                .put(epp::put_service_policy)
                .delete(epp::delete_service_policy),
        )
        .route(
            &format!("{BY_POLICY}/services/{{service_id}}/regions/{{region_id}}"),
            get(epp::check_region_policy)
                .put(epp::put_region_policy)
                .delete(epp::delete_region_policy),
        )
        .route(
            "/v3/endpoints/{endpoint_id}/OS-ENDPOINT-POLICY/policy",
            get(epp::get_endpoint_policy),
        )
}

/// Trusts (OS-TRUST) and their roles.
fn trust_routes(routes: Router<AppState>) -> Router<AppState> {
    routes
        .route(
            "/v3/OS-TRUST/trusts",
            get(trusts::list_trusts).post(trusts::create_trust),
        )
        .route(
            "/v3/OS-TRUST/trusts/{trust_id}",
            get(trusts::get_trust).delete(trusts::delete_trust),
        )
        .route(
            "/v3/OS-TRUST/trusts/{trust_id}/roles",
            get(trusts::list_trust_roles),
        )
        .route(
            "/v3/OS-TRUST/trusts/{trust_id}/roles/{role_id}",
            get(trusts::get_trust_role),
        )
}

async fn not_found() -> ApiError {
    ApiError::no_route()
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

/// One line per request at `info`: method, path (never the query), status, latency, and the
/// caller's user name when known: the owner of `X-Auth-Token`, or for a token just issued its
/// user. Neither a token nor a password is ever written.
async fn access_log(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    // looked up before the answer: a token revoked by this request still names its user
    let caller = req
        .headers()
        .get("x-auth-token")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| state.store().token_user_name(t).map(str::to_owned));
    let response = next.run(req).await;
    let user = caller.or_else(|| {
        let issued = method == Method::POST && response.status() == StatusCode::CREATED;
        issued
            .then(|| response.headers().get("x-subject-token"))
            .flatten()
            .and_then(|v| v.to_str().ok())
            .and_then(|t| state.store().token_user_name(t).map(str::to_owned))
    });
    tracing::info!(
        target: "keystone_fake::access",
        method = %method,
        path,
        status = response.status().as_u16(),
        latency_ms = started.elapsed().as_secs_f64() * 1000.0,
        user = user.as_deref(),
        "request"
    );
    response
}

/// Adds what every Keystone answer carries: `Vary`, a request id, and on a 401 the
/// `WWW-Authenticate` header naming the identity endpoint.
async fn keystone_headers(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let base = state::request_base(&req).unwrap_or_else(|| state.base());
    let mut response = state::with_request_base(base.clone(), next.run(req)).await;
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
