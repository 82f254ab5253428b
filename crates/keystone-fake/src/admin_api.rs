//! The admin API: services, endpoints, regions, domains, projects, users (and their own
//! password changes), roles and the rules of which implies which, grants (to users and to
//! groups), role assignments,
//! application credentials and their access rules.

use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode};
use keystone_types::Secret;
use keystone_types::resources::*;
use keystone_types::token::NamedRef;
use serde_json::Value;

use crate::app::{AppState, KsJson, KsPath, KsQuery, QueryMap, query_filter_is_true, query_flag};
use crate::error::{ApiError, ApiResult};
use crate::policy::{Caller, PolicyTarget, enforce};
use crate::store::{Actor, Grant, RoleRec, Store, Target};
use crate::views::Views;

/// Authenticates the caller and checks `rule` against a target.
pub(crate) fn guard(
    state: &AppState,
    headers: &HeaderMap,
    rule: &str,
    target: PolicyTarget,
) -> ApiResult<Caller> {
    let caller = state.caller(headers)?;
    enforce(rule, &caller, &target)?;
    Ok(caller)
}

fn allow(state: &AppState, headers: &HeaderMap, rule: &str) -> ApiResult<Caller> {
    guard(state, headers, rule, PolicyTarget::new())
}

/// The target Keystone builds for a list of users, projects or role assignments: the token's
/// domain as `target.domain_id` when it is domain-scoped, nothing otherwise (the query's filters
/// are not part of it).
fn list_target(caller: &Caller) -> PolicyTarget {
    PolicyTarget::new().with_opt("target.domain_id", caller.domain_id())
}

/// Authenticates the caller of a list route and checks `rule` against [`list_target`].
fn guard_list(state: &AppState, headers: &HeaderMap, rule: &str) -> ApiResult<Caller> {
    let caller = state.caller(headers)?;
    enforce(rule, &caller, &list_target(&caller))?;
    Ok(caller)
}

/// The target Keystone builds for a user named in the path: the user, when they exist.
pub(crate) fn user_target(state: &AppState, id: &str) -> PolicyTarget {
    let domain = state.store().users.get(id).map(|u| u.domain_id.clone());
    match domain {
        Some(d) => PolicyTarget::new()
            .with("target.user.id", id)
            .with("target.user.domain_id", d),
        None => PolicyTarget::new(),
    }
}

/// The target Keystone builds for a project named in the path: the project, when it exists.
fn project_target(state: &AppState, id: &str) -> PolicyTarget {
    let domain = state.store().projects.get(id).map(|p| p.domain_id.clone());
    match domain {
        Some(d) => PolicyTarget::new()
            .with("target.project.id", id)
            .with("target.project.domain_id", d),
        None => PolicyTarget::new(),
    }
}

fn views(state: &AppState) -> Views {
    Views { base: state.base() }
}

pub(crate) fn path_and_query(uri: &OriginalUri) -> String {
    uri.0
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default()
}

/// Whether `value` passes the optional filter `q[name]`.
pub(crate) fn matches(q: &QueryMap, name: &str, value: Option<&str>) -> bool {
    q.get(name).is_none_or(|want| value == Some(want.as_str()))
}

pub(crate) fn matches_bool(q: &QueryMap, name: &str, value: bool) -> bool {
    q.get(name).is_none_or(|_| query_flag(q, name) == value)
}

pub(crate) type Created<T> = (StatusCode, Json<T>);

pub(crate) fn created<T>(value: T) -> Created<T> {
    (StatusCode::CREATED, Json(value))
}

/// The get, create, update and delete handlers of a resource whose policy needs no target:
/// `GET`/`PATCH`/`DELETE /v3/{collection}/{id}` and `POST /v3/{collection}`.
macro_rules! simple_crud {
    (
        $map:ident, $kind:literal, $rule:literal,
        view: $view:expr,
        get: $get:ident, create: $create:ident => $store_create:ident($CreateReq:ident),
        update: $update:ident => $store_update:ident($UpdateReq:ident),
        delete: $delete:ident => $store_delete:ident,
        answer: $Resp:ident { $key:ident }
    ) => {
        pub(crate) async fn $get(
            State(state): State<AppState>,
            headers: HeaderMap,
            KsPath(id): KsPath<String>,
        ) -> ApiResult<Json<$Resp>> {
            allow(&state, &headers, concat!("identity:get_", $rule))?;
            let store = state.store();
            let rec = store
                .$map
                .get(&id)
                .ok_or_else(|| ApiError::not_found($kind, &id))?;
            Ok(Json($Resp {
                $key: $view(&views(&state), rec),
            }))
        }

        pub(crate) async fn $create(
            State(state): State<AppState>,
            headers: HeaderMap,
            KsJson(body): KsJson<$CreateReq>,
        ) -> ApiResult<Created<$Resp>> {
            allow(&state, &headers, concat!("identity:create_", $rule))?;
            let rec = state.store().$store_create(body.$key)?;
            Ok(created($Resp {
                $key: $view(&views(&state), &rec),
            }))
        }

        pub(crate) async fn $update(
            State(state): State<AppState>,
            headers: HeaderMap,
            KsPath(id): KsPath<String>,
            KsJson(body): KsJson<$UpdateReq>,
        ) -> ApiResult<Json<$Resp>> {
            allow(&state, &headers, concat!("identity:update_", $rule))?;
            let rec = state.store().$store_update(&id, body.$key)?;
            Ok(Json($Resp {
                $key: $view(&views(&state), &rec),
            }))
        }

        pub(crate) async fn $delete(
            State(state): State<AppState>,
            headers: HeaderMap,
            KsPath(id): KsPath<String>,
        ) -> ApiResult<StatusCode> {
            allow(&state, &headers, concat!("identity:delete_", $rule))?;
            state.store().$store_delete(&id)?;
            Ok(StatusCode::NO_CONTENT)
        }
    };
}

simple_crud!(services, "service", "service",
    view: |v: &Views, r| v.service(r),
    get: get_service, create: create_service => create_service(ServiceCreateRequest),
    update: update_service => update_service(ServiceUpdateRequest),
    delete: delete_service => delete_service,
    answer: ServiceResponse { service });

simple_crud!(endpoints, "endpoint", "endpoint",
    view: |v: &Views, r| v.endpoint(r),
    get: get_endpoint, create: create_endpoint => create_endpoint(EndpointCreateRequest),
    update: update_endpoint => update_endpoint(EndpointUpdateRequest),
    delete: delete_endpoint => delete_endpoint,
    answer: EndpointResponse { endpoint });

simple_crud!(regions, "region", "region",
    view: |v: &Views, r| v.region(r),
    get: get_region, create: create_region => create_region(RegionCreateRequest),
    update: update_region => update_region(RegionUpdateRequest),
    delete: delete_region => delete_region,
    answer: RegionResponse { region });

simple_crud!(roles, "role", "role",
    view: |v: &Views, r| v.role(r, true),
    get: get_role, create: create_role => create_role(RoleCreateRequest),
    update: update_role => update_role(RoleUpdateRequest),
    delete: delete_role => delete_role,
    answer: RoleResponse { role });

// ----- services ------------------------------------------------------------------------------

/// `GET /v3/services?type=&name=`
pub(crate) async fn list_services(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: OriginalUri,
    KsQuery(q): KsQuery<QueryMap>,
) -> ApiResult<Json<ServiceList>> {
    allow(&state, &headers, "identity:list_services")?;
    let v = views(&state);
    let services = state
        .store()
        .services
        .values()
        .filter(|s| matches(&q, "type", Some(&s.kind)) && matches(&q, "name", s.name.as_deref()))
        .map(|s| v.service(s))
        .collect();
    Ok(Json(ServiceList {
        services,
        links: v.list_links(&path_and_query(&uri)),
    }))
}

// ----- endpoints -----------------------------------------------------------------------------

/// `GET /v3/endpoints?service_id=&interface=&region_id=&enabled=`
pub(crate) async fn list_endpoints(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: OriginalUri,
    KsQuery(q): KsQuery<QueryMap>,
) -> ApiResult<Json<EndpointList>> {
    allow(&state, &headers, "identity:list_endpoints")?;
    let v = views(&state);
    let endpoints = state
        .store()
        .endpoints
        .values()
        .filter(|e| {
            matches(&q, "service_id", Some(&e.service_id))
                && matches(&q, "interface", Some(&e.interface))
                && matches(&q, "region_id", e.region_id.as_deref())
                && matches_bool(&q, "enabled", e.enabled)
        })
        .map(|e| v.endpoint(e))
        .collect();
    Ok(Json(EndpointList {
        endpoints,
        links: v.list_links(&path_and_query(&uri)),
    }))
}

// ----- regions -------------------------------------------------------------------------------

/// `GET /v3/regions?parent_region_id=`
pub(crate) async fn list_regions(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: OriginalUri,
    KsQuery(q): KsQuery<QueryMap>,
) -> ApiResult<Json<RegionList>> {
    allow(&state, &headers, "identity:list_regions")?;
    let v = views(&state);
    let regions = state
        .store()
        .regions
        .values()
        .filter(|r| matches(&q, "parent_region_id", r.parent_region_id.as_deref()))
        .map(|r| v.region(r))
        .collect();
    Ok(Json(RegionList {
        regions,
        links: v.list_links(&path_and_query(&uri)),
    }))
}

/// `PUT /v3/regions/{id}`: 201, a region with the id of the path. An id in the body must be
/// the same one (400); an id in use is a 409.
pub(crate) async fn put_region(
    State(state): State<AppState>,
    headers: HeaderMap,
    KsPath(id): KsPath<String>,
    KsJson(body): KsJson<RegionCreateRequest>,
) -> ApiResult<Created<RegionResponse>> {
    allow(&state, &headers, "identity:create_region")?;
    let mut create = body.region;
    match &create.id {
        Some(given) if given != &id => {
            return Err(ApiError::bad_request(format!(
                "Conflicting region IDs specified: \"{id}\" != \"{given}\""
            )));
        }
        _ => create.id = Some(id),
    }
    let rec = state.store().create_region(create)?;
    Ok(created(RegionResponse {
        region: views(&state).region(&rec),
    }))
}

// ----- domains -------------------------------------------------------------------------------

/// `GET /v3/domains?name=&enabled=`
pub(crate) async fn list_domains(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: OriginalUri,
    KsQuery(q): KsQuery<QueryMap>,
) -> ApiResult<Json<DomainList>> {
    allow(&state, &headers, "identity:list_domains")?;
    let v = views(&state);
    let domains = state
        .store()
        .domains
        .values()
        .filter(|d| matches(&q, "name", Some(&d.name)) && matches_bool(&q, "enabled", d.enabled))
        .map(|d| v.domain(d))
        .collect();
    Ok(Json(DomainList {
        domains,
        links: v.list_links(&path_and_query(&uri)),
    }))
}

/// `GET /v3/domains/{id}`
pub(crate) async fn get_domain(
    State(state): State<AppState>,
    headers: HeaderMap,
    KsPath(id): KsPath<String>,
) -> ApiResult<Json<DomainResponse>> {
    guard(
        &state,
        &headers,
        "identity:get_domain",
        PolicyTarget::new().with("target.domain.id", id.as_str()),
    )?;
    let store = state.store();
    let d = store
        .domains
        .get(&id)
        .ok_or_else(|| ApiError::not_found("domain", &id))?;
    Ok(Json(DomainResponse {
        domain: views(&state).domain(d),
    }))
}

/// `POST /v3/domains`
pub(crate) async fn create_domain(
    State(state): State<AppState>,
    headers: HeaderMap,
    KsJson(body): KsJson<DomainCreateRequest>,
) -> ApiResult<Created<DomainResponse>> {
    allow(&state, &headers, "identity:create_domain")?;
    let rec = state.store().create_domain(body.domain, None)?;
    Ok(created(DomainResponse {
        domain: views(&state).domain(&rec),
    }))
}

/// `PATCH /v3/domains/{id}`
pub(crate) async fn update_domain(
    State(state): State<AppState>,
    headers: HeaderMap,
    KsPath(id): KsPath<String>,
    KsJson(body): KsJson<DomainUpdateRequest>,
) -> ApiResult<Json<DomainResponse>> {
    allow(&state, &headers, "identity:update_domain")?;
    let rec = state.store().update_domain(&id, body.domain)?;
    Ok(Json(DomainResponse {
        domain: views(&state).domain(&rec),
    }))
}

/// `DELETE /v3/domains/{id}`
pub(crate) async fn delete_domain(
    State(state): State<AppState>,
    headers: HeaderMap,
    KsPath(id): KsPath<String>,
) -> ApiResult<StatusCode> {
    allow(&state, &headers, "identity:delete_domain")?;
    state.store().delete_domain(&id)?;
    Ok(StatusCode::NO_CONTENT)
}

// ----- projects ------------------------------------------------------------------------------

/// `GET /v3/projects?name=&domain_id=&enabled=&parent_id=`
pub(crate) async fn list_projects(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: OriginalUri,
    KsQuery(q): KsQuery<QueryMap>,
) -> ApiResult<Json<ProjectList>> {
    let caller = guard_list(&state, &headers, "identity:list_projects")?;
    let v = views(&state);
    let projects = state
        .store()
        .projects
        .values()
        .filter(|p| {
            // as Keystone does, a domain-scoped token lists its domain's projects only
            caller.domain_id().is_none_or(|d| d == p.domain_id)
                && matches(&q, "name", Some(&p.name))
                && matches(&q, "domain_id", Some(&p.domain_id))
                && matches(&q, "parent_id", p.parent_id.as_deref())
                && matches_bool(&q, "enabled", p.enabled)
                && matches_bool(&q, "is_domain", false)
        })
        .map(|p| v.project(p))
        .collect();
    Ok(Json(ProjectList {
        projects,
        links: v.list_links(&path_and_query(&uri)),
    }))
}

/// `GET /v3/projects/{id}`
pub(crate) async fn get_project(
    State(state): State<AppState>,
    headers: HeaderMap,
    KsPath(id): KsPath<String>,
) -> ApiResult<Json<ProjectResponse>> {
    guard(
        &state,
        &headers,
        "identity:get_project",
        project_target(&state, &id),
    )?;
    let store = state.store();
    let p = store
        .projects
        .get(&id)
        .ok_or_else(|| ApiError::not_found("project", &id))?;
    Ok(Json(ProjectResponse {
        project: views(&state).project(p),
    }))
}

/// `POST /v3/projects`
pub(crate) async fn create_project(
    State(state): State<AppState>,
    headers: HeaderMap,
    KsJson(body): KsJson<ProjectCreateRequest>,
) -> ApiResult<Created<ProjectResponse>> {
    let caller = state.caller(&headers)?;
    let mut create = body.project;
    if create.domain_id.is_none() {
        create.domain_id = Some(caller.default_domain());
    }
    crate::policy::enforce(
        "identity:create_project",
        &caller,
        &PolicyTarget::new().with_opt("target.project.domain_id", create.domain_id.as_deref()),
    )?;
    let rec = state.store().create_project(create)?;
    Ok(created(ProjectResponse {
        project: views(&state).project(&rec),
    }))
}

/// `PATCH /v3/projects/{id}`
pub(crate) async fn update_project(
    State(state): State<AppState>,
    headers: HeaderMap,
    KsPath(id): KsPath<String>,
    KsJson(body): KsJson<ProjectUpdateRequest>,
) -> ApiResult<Json<ProjectResponse>> {
    guard(
        &state,
        &headers,
        "identity:update_project",
        project_target(&state, &id),
    )?;
    let rec = state.store().update_project(&id, body.project)?;
    // Keystone answers an update with the extra attributes spelled out too (the fake keeps
    // none)
    let mut project = views(&state).project(&rec);
    project.extra = Some(serde_json::Map::new());
    Ok(Json(ProjectResponse { project }))
}

/// `DELETE /v3/projects/{id}`
pub(crate) async fn delete_project(
    State(state): State<AppState>,
    headers: HeaderMap,
    KsPath(id): KsPath<String>,
) -> ApiResult<StatusCode> {
    guard(
        &state,
        &headers,
        "identity:delete_project",
        project_target(&state, &id),
    )?;
    state.store().delete_project(&id)?;
    Ok(StatusCode::NO_CONTENT)
}

// ----- users ---------------------------------------------------------------------------------

/// `GET /v3/users?name=&domain_id=&enabled=`
pub(crate) async fn list_users(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: OriginalUri,
    KsQuery(q): KsQuery<QueryMap>,
) -> ApiResult<Json<UserList>> {
    let caller = guard_list(&state, &headers, "identity:list_users")?;
    let v = views(&state);
    let users = state
        .store()
        .users
        .values()
        .filter(|u| {
            // as Keystone does, a domain-scoped token lists its domain's users only
            caller.domain_id().is_none_or(|d| d == u.domain_id)
                && matches(&q, "name", Some(&u.name))
                && matches(&q, "domain_id", Some(&u.domain_id))
                && matches_bool(&q, "enabled", u.enabled)
        })
        .map(|u| v.user(u))
        .collect();
    Ok(Json(UserList {
        users,
        links: v.list_links(&path_and_query(&uri)),
    }))
}

/// `GET /v3/users/{id}`
pub(crate) async fn get_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    KsPath(id): KsPath<String>,
) -> ApiResult<Json<UserResponse>> {
    guard(
        &state,
        &headers,
        "identity:get_user",
        user_target(&state, &id),
    )?;
    let store = state.store();
    let u = store
        .users
        .get(&id)
        .ok_or_else(|| ApiError::not_found("user", &id))?;
    Ok(Json(UserResponse {
        user: views(&state).user(u),
    }))
}

/// `POST /v3/users`
pub(crate) async fn create_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    KsJson(body): KsJson<UserCreateRequest>,
) -> ApiResult<Created<UserResponse>> {
    let caller = state.caller(&headers)?;
    let mut create = body.user;
    if create.domain_id.is_none() {
        create.domain_id = Some(caller.default_domain());
    }
    crate::policy::enforce(
        "identity:create_user",
        &caller,
        &PolicyTarget::new().with_opt("target.user.domain_id", create.domain_id.as_deref()),
    )?;
    let rec = state.store().create_user(create)?;
    Ok(created(UserResponse {
        user: views(&state).user(&rec),
    }))
}

/// `PATCH /v3/users/{id}`
pub(crate) async fn update_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    KsPath(id): KsPath<String>,
    KsJson(body): KsJson<UserUpdateRequest>,
) -> ApiResult<Json<UserResponse>> {
    guard(
        &state,
        &headers,
        "identity:update_user",
        user_target(&state, &id),
    )?;
    let rec = state.store().update_user(&id, body.user)?;
    // Keystone answers an update with the extra attributes spelled out too
    let mut user = views(&state).user(&rec);
    let mut extra = serde_json::Map::new();
    if let Some(email) = &rec.email {
        extra.insert("email".into(), serde_json::Value::String(email.clone()));
    }
    if let Some(description) = &rec.description {
        extra.insert(
            "description".into(),
            serde_json::Value::String(description.clone()),
        );
    }
    user.extra = Some(extra);
    Ok(Json(UserResponse { user }))
}

/// `DELETE /v3/users/{id}`
pub(crate) async fn delete_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    KsPath(id): KsPath<String>,
) -> ApiResult<StatusCode> {
    guard(
        &state,
        &headers,
        "identity:delete_user",
        user_target(&state, &id),
    )?;
    state.store().delete_user(&id)?;
    Ok(StatusCode::NO_CONTENT)
}

/// The two passwords of `{"user": {"password": NEW, "original_password": OLD}}`, checked as
/// Keystone's `password_change` schema checks them (strings, both required, nothing else; a
/// missing `user` is an empty one), in its order. The messages are jsonschema's first lines,
/// which never hold a submitted value.
fn password_change_body(body: &Value) -> ApiResult<(Secret, Secret)> {
    const FIELDS: [&str; 2] = ["original_password", "password"];
    let empty = serde_json::Map::new();
    let user = match body.get("user") {
        None => &empty,
        Some(Value::Object(user)) => user,
        Some(_) => {
            return Err(ApiError::bad_request(
                "Invalid input for field 'user': the value is not valid: expected an object",
            ));
        }
    };
    for field in FIELDS {
        if user.get(field).is_some_and(|v| !v.is_string()) {
            return Err(ApiError::bad_request(format!(
                "Invalid input for field '{field}': the value is not valid: expected a string"
            )));
        }
    }
    let text = |field: &str| user.get(field).and_then(Value::as_str).map(Secret::new);
    let (Some(original), Some(new)) = (text(FIELDS[0]), text(FIELDS[1])) else {
        let missing = FIELDS.iter().find(|f| !user.contains_key(**f));
        return Err(ApiError::bad_request(format!(
            "'{}' is a required property",
            missing.unwrap_or(&FIELDS[0])
        )));
    };
    let extra: Vec<String> = user
        .keys()
        .filter(|k| !FIELDS.contains(&k.as_str()))
        .map(|k| format!("'{k}'"))
        .collect();
    if !extra.is_empty() {
        let verb = if extra.len() == 1 { "was" } else { "were" };
        return Err(ApiError::bad_request(format!(
            "Additional properties are not allowed ({} {verb} unexpected)",
            extra.join(", ")
        )));
    }
    Ok((original, new))
}

/// `POST /v3/users/{id}/password`: 204, a user changing their own password. As in Keystone
/// the route takes no token: the original password authenticates it (401 when it is wrong,
/// the user unknown or disabled), and the user's tokens are revoked.
pub(crate) async fn change_password(
    State(state): State<AppState>,
    KsPath(id): KsPath<String>,
    KsJson(body): KsJson<Value>,
) -> ApiResult<StatusCode> {
    let (original, new) = password_change_body(&body)?;
    state.store().change_password(&id, &original, new)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v3/users/{id}/projects`
pub(crate) async fn list_user_projects(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: OriginalUri,
    KsPath(id): KsPath<String>,
) -> ApiResult<Json<ProjectList>> {
    let domain = state.store().users.get(&id).map(|u| u.domain_id.clone());
    guard(
        &state,
        &headers,
        "identity:list_user_projects",
        PolicyTarget::new()
            .with("target.user.id", id.as_str())
            .with_opt("target.user.domain_id", domain.as_deref()),
    )?;
    let store = state.store();
    if !store.users.contains_key(&id) {
        return Err(ApiError::not_found("user", &id));
    }
    let v = views(&state);
    let projects = store
        .projects
        .values()
        .filter(|p| {
            !store
                .direct_roles(&id, &Target::Project(p.id.clone()))
                .is_empty()
        })
        .map(|p| v.project(p))
        .collect();
    Ok(Json(ProjectList {
        projects,
        links: v.list_links(&path_and_query(&uri)),
    }))
}

// ----- roles ---------------------------------------------------------------------------------

/// `GET /v3/roles?name=&domain_id=`
pub(crate) async fn list_roles(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: OriginalUri,
    KsQuery(q): KsQuery<QueryMap>,
) -> ApiResult<Json<RoleList>> {
    allow(&state, &headers, "identity:list_roles")?;
    let v = views(&state);
    let roles = state
        .store()
        .roles
        .values()
        .filter(|r| {
            matches(&q, "name", Some(&r.name)) && matches(&q, "domain_id", r.domain_id.as_deref())
        })
        .map(|r| v.role(r, true))
        .collect();
    Ok(Json(RoleList {
        roles,
        links: v.list_links(&path_and_query(&uri)),
    }))
}

// ----- implied roles -------------------------------------------------------------------------

/// A role of an implication rule, or Keystone's 404 for it.
fn role_of<'s>(store: &'s Store, id: &str) -> ApiResult<&'s RoleRec> {
    store
        .roles
        .get(id)
        .ok_or_else(|| ApiError::not_found("role", id))
}

/// Authenticates the caller, then checks `rules` against the target Keystone builds for an
/// implication rule: the prior role and the implied one, which must exist (404, before the
/// policy is checked, as Keystone looks them up to build the target).
fn implied_role_guard(
    state: &AppState,
    headers: &HeaderMap,
    rules: &[&str],
    prior: &str,
    implied: Option<&str>,
) -> ApiResult<Caller> {
    let caller = state.caller(headers)?;
    let mut target = PolicyTarget::new();
    {
        let store = state.store();
        let roles = [("prior_role", Some(prior)), ("implied_role", implied)];
        for (key, id) in roles {
            let Some(id) = id else { continue };
            let role = role_of(&store, id)?;
            target = target
                .with(&format!("target.{key}.id"), role.id.as_str())
                .with(&format!("target.{key}.name"), role.name.as_str())
                .with(
                    &format!("target.{key}.domain_id"),
                    role.domain_id
                        .clone()
                        .map(Value::String)
                        .unwrap_or(Value::Null),
                );
        }
    }
    for rule in rules {
        enforce(rule, &caller, &target)?;
    }
    Ok(caller)
}

/// The answer naming one rule: the prior role, the role it implies, and the rule's link.
fn implied_role_answer(
    state: &AppState,
    prior: &str,
    implied: &str,
) -> ApiResult<RoleInferenceResponse<InferenceRole>> {
    let store = state.store();
    store.check_implied_role(prior, implied)?;
    let v = views(state);
    Ok(RoleInferenceResponse {
        role_inference: RoleInference {
            prior_role: v.inference_role(role_of(&store, prior)?),
            implies: v.inference_role(role_of(&store, implied)?),
        },
        links: v.self_link(&format!("roles/{prior}/implies/{implied}")),
    })
}

/// `PUT /v3/roles/{prior}/implies/{implied}`: 201 with the rule.
pub(crate) async fn put_implied_role(
    State(state): State<AppState>,
    headers: HeaderMap,
    KsPath((prior, implied)): KsPath<(String, String)>,
) -> ApiResult<Created<RoleInferenceResponse<InferenceRole>>> {
    implied_role_guard(
        &state,
        &headers,
        &["identity:create_implied_role"],
        &prior,
        Some(&implied),
    )?;
    state.store().create_implied_role(&prior, &implied)?;
    Ok(created(implied_role_answer(&state, &prior, &implied)?))
}

/// `GET /v3/roles/{prior}/implies/{implied}`: the rule, or 404.
pub(crate) async fn get_implied_role(
    State(state): State<AppState>,
    headers: HeaderMap,
    KsPath((prior, implied)): KsPath<(String, String)>,
) -> ApiResult<Json<RoleInferenceResponse<InferenceRole>>> {
    implied_role_guard(
        &state,
        &headers,
        &["identity:get_implied_role"],
        &prior,
        Some(&implied),
    )?;
    Ok(Json(implied_role_answer(&state, &prior, &implied)?))
}

/// `HEAD /v3/roles/{prior}/implies/{implied}`: 204 (Keystone's, where HTTP would have a 200),
/// or 404. As in Keystone, it takes both `check_implied_role` and `get_implied_role`.
pub(crate) async fn check_implied_role(
    State(state): State<AppState>,
    headers: HeaderMap,
    KsPath((prior, implied)): KsPath<(String, String)>,
) -> ApiResult<StatusCode> {
    implied_role_guard(
        &state,
        &headers,
        &["identity:check_implied_role", "identity:get_implied_role"],
        &prior,
        Some(&implied),
    )?;
    state.store().check_implied_role(&prior, &implied)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /v3/roles/{prior}/implies/{implied}`: 204, or 404 when there is no such rule.
pub(crate) async fn delete_implied_role(
    State(state): State<AppState>,
    headers: HeaderMap,
    KsPath((prior, implied)): KsPath<(String, String)>,
) -> ApiResult<StatusCode> {
    implied_role_guard(
        &state,
        &headers,
        &["identity:delete_implied_role"],
        &prior,
        Some(&implied),
    )?;
    state.store().delete_implied_role(&prior, &implied)?;
    Ok(StatusCode::NO_CONTENT)
}

/// The roles `prior` implies directly, as the role inference routes list them.
fn implied_by(store: &Store, v: &Views, prior: &str) -> Vec<InferenceRole> {
    store
        .implied
        .iter()
        .filter(|(p, _)| p == prior)
        .filter_map(|(_, implied)| store.roles.get(implied))
        .map(|r| v.inference_role(r))
        .collect()
}

/// `GET /v3/roles/{prior}/implies`: the prior role and the roles it implies directly.
pub(crate) async fn list_implied_roles(
    State(state): State<AppState>,
    headers: HeaderMap,
    KsPath(prior): KsPath<String>,
) -> ApiResult<Json<RoleInferenceResponse<Vec<InferenceRole>>>> {
    implied_role_guard(
        &state,
        &headers,
        &["identity:list_implied_roles"],
        &prior,
        None,
    )?;
    let store = state.store();
    let v = views(&state);
    Ok(Json(RoleInferenceResponse {
        role_inference: RoleInference {
            prior_role: v.inference_role(role_of(&store, &prior)?),
            implies: implied_by(&store, &v, &prior),
        },
        links: v.self_link(&format!("roles/{prior}/implies")),
    }))
}

/// `GET /v3/role_inferences`: every rule, grouped by prior role.
pub(crate) async fn list_role_inferences(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> ApiResult<Json<RoleInferenceList>> {
    allow(&state, &headers, "identity:list_role_inference_rules")?;
    let store = state.store();
    let v = views(&state);
    // grouped by prior role, in the order of each one's first rule, as Keystone groups them
    let mut priors: Vec<&str> = Vec::new();
    for (prior, _) in &store.implied {
        if !priors.contains(&prior.as_str()) {
            priors.push(prior);
        }
    }
    let role_inferences = priors
        .into_iter()
        .filter_map(|prior| {
            Some(RoleInference {
                prior_role: v.inference_role(store.roles.get(prior)?),
                implies: implied_by(&store, &v, prior),
            })
        })
        .collect();
    Ok(Json(RoleInferenceList { role_inferences }))
}

// ----- grants --------------------------------------------------------------------------------

/// OS-INHERIT's grant routes: `/v3/OS-INHERIT/...`, the same shapes one segment further.
fn is_inherited(uri: &OriginalUri) -> bool {
    uri.0.path().starts_with("/v3/OS-INHERIT/")
}

/// The path's segment `n` after `/v3` (and after `/OS-INHERIT`): `0` is `projects`, `domains`
/// or `system`.
fn segment(uri: &OriginalUri, n: usize) -> Option<&str> {
    let skip = if is_inherited(uri) { 3 } else { 2 };
    uri.0.path().split('/').nth(skip + n)
}

fn target_of(uri: &OriginalUri, target_id: String) -> Target {
    if segment(uri, 0) == Some("domains") {
        Target::Domain(target_id)
    } else {
        Target::Project(target_id)
    }
}

/// The user or group a grant route names: `/v3/{projects,domains}/{target}/{users,groups}/{id}`
/// (also under `/v3/OS-INHERIT`) or `/v3/system/{users,groups}/{id}`.
fn actor_of(uri: &OriginalUri, id: String) -> Actor {
    let kind = if segment(uri, 0) == Some("system") {
        segment(uri, 1)
    } else {
        segment(uri, 2)
    };
    if kind == Some("groups") {
        Actor::Group(id)
    } else {
        Actor::User(id)
    }
}

/// The grant a `/v3/{projects,domains}/{target}/{users,groups}/{actor}/roles/{role}` route names
/// (inherited under `/v3/OS-INHERIT`).
fn grant_of(uri: &OriginalUri, (target_id, actor_id, role_id): (String, String, String)) -> Grant {
    Grant {
        actor: actor_of(uri, actor_id),
        target: target_of(uri, target_id),
        role_id,
        inherited: is_inherited(uri),
    }
}

/// `PUT /v3/{projects,domains}/{target}/{users,groups}/{actor}/roles/{role}`: 204.
pub(crate) async fn put_grant(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: OriginalUri,
    KsPath(parts): KsPath<(String, String, String)>,
) -> ApiResult<StatusCode> {
    let grant = grant_of(&uri, parts);
    guard_grant(&state, &headers, "identity:create_grant", &grant, false)?;
    state.store().grant(grant)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET`/`HEAD /v3/{projects,domains}/{target}/{users,groups}/{actor}/roles/{role}`: 204 or
/// 404.
pub(crate) async fn check_grant(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: OriginalUri,
    KsPath(parts): KsPath<(String, String, String)>,
) -> ApiResult<StatusCode> {
    let grant = grant_of(&uri, parts);
    guard_grant(&state, &headers, "identity:check_grant", &grant, false)?;
    check(&state.store(), grant)
}

/// What a grant's policy target does with a part (domain, role, user or group, project) that
/// does not exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Missing {
    /// A 404 naming it, whoever asks (the grant routes look every part up first).
    NotFound,
    /// As [`Missing::NotFound`], except a missing user or group is left out of the target (a
    /// revocation).
    ActorLeftOut,
    /// Left out of the target (OS-INHERIT's routes: the policy decides first, and the grant's
    /// own 404 comes after it).
    LeftOut,
}

/// The target Keystone builds for a grant or a list of grants (`role: None`): the role, the
/// user or group, and the project or domain, each looked up in Keystone's order, what is missing
/// handled as `missing` says.
fn grant_target(
    state: &AppState,
    actor: &Actor,
    target: &Target,
    role_id: Option<&str>,
    missing: Missing,
) -> ApiResult<PolicyTarget> {
    let store = state.store();
    let lenient = missing == Missing::LeftOut;
    let mut t = PolicyTarget::new();
    if let Target::Domain(d) = target {
        if store.domains.contains_key(d) {
            t = t.with("target.domain.id", d.as_str());
        } else if !lenient {
            return Err(ApiError::not_found("domain", d));
        }
    }
    if let Some(role_id) = role_id {
        match store.roles.get(role_id) {
            Some(role) => {
                t = t
                    .with("target.role.id", role.id.as_str())
                    .with("target.role.name", role.name.as_str())
                    .with(
                        "target.role.domain_id",
                        role.domain_id
                            .clone()
                            .map(Value::String)
                            .unwrap_or(Value::Null),
                    );
            }
            None if lenient => {}
            None => return Err(ApiError::not_found("role", role_id)),
        }
    }
    match store.actor_domain(actor) {
        Some(domain) => {
            let kind = actor.kind();
            t = t
                .with(&format!("target.{kind}.id"), actor.id())
                .with(&format!("target.{kind}.domain_id"), domain);
        }
        None if missing != Missing::NotFound => {}
        None => return Err(ApiError::not_found(actor.kind(), actor.id())),
    }
    if let Target::Project(p) = target {
        match store.projects.get(p) {
            Some(project) => {
                t = t
                    .with("target.project.id", p.as_str())
                    .with("target.project.domain_id", project.domain_id.as_str());
            }
            None if lenient => {}
            None => return Err(ApiError::not_found("project", p)),
        }
    }
    Ok(t)
}

/// Authenticates the caller of a grant route, builds the grant's target and checks `rule`.
fn guard_grant(
    state: &AppState,
    headers: &HeaderMap,
    rule: &str,
    g: &Grant,
    missing_actor_ok: bool,
) -> ApiResult<Caller> {
    let caller = state.caller(headers)?;
    let missing = match (g.inherited, missing_actor_ok) {
        (true, _) => Missing::LeftOut,
        (false, true) => Missing::ActorLeftOut,
        (false, false) => Missing::NotFound,
    };
    let target = grant_target(state, &g.actor, &g.target, Some(&g.role_id), missing)?;
    enforce(rule, &caller, &target)?;
    Ok(caller)
}

fn check(store: &Store, g: Grant) -> ApiResult<StatusCode> {
    store.check_grant_parts(&g)?;
    if store.grants.contains(&g) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(
            "role assignment",
            &format!("role {} for {} {}", g.role_id, g.actor.kind(), g.actor.id()),
        ))
    }
}

/// `DELETE /v3/{projects,domains}/{target}/{users,groups}/{actor}/roles/{role}`: 204.
pub(crate) async fn delete_grant(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: OriginalUri,
    KsPath(parts): KsPath<(String, String, String)>,
) -> ApiResult<StatusCode> {
    let grant = grant_of(&uri, parts);
    guard_grant(&state, &headers, "identity:revoke_grant", &grant, true)?;
    state.store().revoke_grant(&grant)?;
    Ok(StatusCode::NO_CONTENT)
}

/// The roles granted to `actor` itself on `target` (a user's list leaves their groups' out).
fn grant_list(
    state: &AppState,
    uri: &OriginalUri,
    actor: &Actor,
    target: Target,
) -> ApiResult<Json<RoleList>> {
    let store = state.store();
    if is_inherited(uri) {
        // OS-INHERIT looks the domain up, not the user or group (an unknown one has no roles)
        if let Target::Domain(d) = &target
            && !store.domains.contains_key(d)
        {
            return Err(ApiError::not_found("domain", d));
        }
    } else if store.actor_domain(actor).is_none() {
        return Err(ApiError::not_found(actor.kind(), actor.id()));
    }
    let v = views(state);
    let roles = store
        .actor_roles(actor, &target, is_inherited(uri))
        .iter()
        .filter_map(|id| store.roles.get(id))
        .map(|r| v.role(r, true))
        .collect();
    Ok(Json(RoleList {
        roles,
        links: v.list_links(&path_and_query(uri)),
    }))
}

/// `GET /v3/{projects,domains}/{target}/{users,groups}/{actor}/roles`
pub(crate) async fn list_grants(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: OriginalUri,
    KsPath((target_id, actor_id)): KsPath<(String, String)>,
) -> ApiResult<Json<RoleList>> {
    let target = target_of(&uri, target_id);
    let actor = actor_of(&uri, actor_id);
    let caller = state.caller(&headers)?;
    let missing = if is_inherited(&uri) {
        Missing::LeftOut
    } else {
        Missing::NotFound
    };
    let policy_target = grant_target(&state, &actor, &target, None, missing)?;
    enforce("identity:list_grants", &caller, &policy_target)?;
    grant_list(&state, &uri, &actor, target)
}

/// The system-grant rule for `action` (`list`, `check`, `create`, `revoke`) and `actor`:
/// `identity:{action}_system_grant(s)_for_{user,group}`.
fn system_rule(action: &str, actor: &Actor) -> String {
    let grants = if action == "list" { "grants" } else { "grant" };
    format!("identity:{action}_system_{grants}_for_{}", actor.kind())
}

/// `GET /v3/system/{users,groups}/{actor}/roles`
pub(crate) async fn list_system_grants(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: OriginalUri,
    KsPath(actor_id): KsPath<String>,
) -> ApiResult<Json<RoleList>> {
    let actor = actor_of(&uri, actor_id);
    allow(&state, &headers, &system_rule("list", &actor))?;
    grant_list(&state, &uri, &actor, Target::System)
}

/// The system grant a `/v3/system/{users,groups}/{actor}/roles/{role}` route names.
fn system_grant_of(uri: &OriginalUri, (actor_id, role_id): (String, String)) -> Grant {
    Grant {
        actor: actor_of(uri, actor_id),
        target: Target::System,
        role_id,
        inherited: false,
    }
}

/// `PUT /v3/system/{users,groups}/{actor}/roles/{role}`
pub(crate) async fn put_system_grant(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: OriginalUri,
    KsPath(parts): KsPath<(String, String)>,
) -> ApiResult<StatusCode> {
    let grant = system_grant_of(&uri, parts);
    allow(&state, &headers, &system_rule("create", &grant.actor))?;
    state.store().grant(grant)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET`/`HEAD /v3/system/{users,groups}/{actor}/roles/{role}`
pub(crate) async fn check_system_grant(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: OriginalUri,
    KsPath(parts): KsPath<(String, String)>,
) -> ApiResult<StatusCode> {
    let grant = system_grant_of(&uri, parts);
    allow(&state, &headers, &system_rule("check", &grant.actor))?;
    check(&state.store(), grant)
}

/// `DELETE /v3/system/{users,groups}/{actor}/roles/{role}`
pub(crate) async fn delete_system_grant(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: OriginalUri,
    KsPath(parts): KsPath<(String, String)>,
) -> ApiResult<StatusCode> {
    let grant = system_grant_of(&uri, parts);
    allow(&state, &headers, &system_rule("revoke", &grant.actor))?;
    state.store().revoke_grant(&grant)?;
    Ok(StatusCode::NO_CONTENT)
}

// ----- role assignments ----------------------------------------------------------------------

/// `GET /v3/role_assignments?user.id=&group.id=&role.id=&scope.project.id=&scope.domain.id=&scope.system=&include_names&effective&include_subtree`
pub(crate) async fn list_role_assignments(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: OriginalUri,
    KsQuery(q): KsQuery<QueryMap>,
) -> ApiResult<Json<RoleAssignmentList>> {
    // Keystone validates the query before any policy check
    if q.contains_key("include_subtree") && !q.contains_key("scope.project.id") {
        return Err(ApiError::bad_request(
            "'scope.project.id' is a dependency of 'include_subtree'",
        ));
    }
    if q.contains_key("user.id") && q.contains_key("group.id") {
        return Err(ApiError::bad_request("Specify a user or group, not both"));
    }
    let subtree = query_filter_is_true(&q, "include_subtree");
    let given = |name: &str| q.get(name).is_some_and(|v| !v.is_empty());
    let (caller, projects) = if subtree {
        // Keystone's tree listing: the project (looked up first) and its domain are the target,
        // and the list is not cut to a domain-scoped token's domain
        let caller = state.caller(&headers)?;
        let project = match q.get("scope.project.id").filter(|p| !p.is_empty()) {
            Some(p) => Some(
                state
                    .store()
                    .projects
                    .get(p)
                    .map(|rec| (rec.id.clone(), rec.domain_id.clone()))
                    .ok_or_else(|| ApiError::not_found("project", p))?,
            ),
            None => None,
        };
        let target = match &project {
            Some((id, domain)) => PolicyTarget::new()
                .with("target.project.id", id.as_str())
                .with("target.project.domain_id", domain.as_str())
                .with("target.domain_id", domain.as_str()),
            None => PolicyTarget::new(),
        };
        enforce("identity:list_role_assignments_for_tree", &caller, &target)?;
        let Some((id, _)) = project else {
            return Err(ApiError::bad_request(
                "scope.project.id must be specified if include_subtree is also specified",
            ));
        };
        (caller, Some(state.store().subtree(&id)))
    } else {
        let caller = guard_list(&state, &headers, "identity:list_role_assignments")?;
        (caller, None)
    };
    for (a, b, message) in [
        (
            "scope.domain.id",
            "scope.project.id",
            "Specify a domain or project, not both",
        ),
        (
            "scope.domain.id",
            "scope.system",
            "Specify system or domain, not both",
        ),
        (
            "scope.project.id",
            "scope.system",
            "Specify system or project, not both",
        ),
        ("user.id", "group.id", "Specify a user or group, not both"),
    ] {
        if given(a) && given(b) {
            return Err(ApiError::bad_request(message));
        }
    }
    let names = query_filter_is_true(&q, "include_names");
    let effective = query_filter_is_true(&q, "effective");
    if effective && given("group.id") {
        return Err(ApiError::bad_request(
            "Combining effective and group filter will always result in an empty list.",
        ));
    }
    // `scope.OS-INHERIT:inherited_to`: present, it keeps the inherited assignments when it is
    // `projects` and the others otherwise, as Keystone reads it
    let inherited_filter: Option<bool> = q
        .get("scope.OS-INHERIT:inherited_to")
        .map(|v| v == "projects");
    if effective && inherited_filter == Some(true) && given("scope.domain.id") {
        return Err(ApiError::bad_request(
            "Combining effective, domain and inherited filters will always result in an empty list.",
        ));
    }
    // the domain-scoped cut applies to the plain listing only
    let domain_cut = if projects.is_none() {
        caller.domain_id()
    } else {
        None
    };
    let store = state.store();
    let base = state.base();
    let system_filter = q.contains_key("scope.system") && !effective;
    let target_ok = |target: &Target| match target {
        Target::Project(p) => {
            let in_query = match &projects {
                Some(tree) => tree.contains(p),
                None => matches(&q, "scope.project.id", Some(p)),
            };
            in_query && !q.contains_key("scope.domain.id") && !system_filter
        }
        Target::Domain(d) => {
            matches(&q, "scope.domain.id", Some(d))
                && !q.contains_key("scope.project.id")
                && !system_filter
        }
        Target::System => !q.contains_key("scope.project.id") && !q.contains_key("scope.domain.id"),
    };
    // as Keystone does, a domain-scoped token lists the assignments on its domain and on the
    // domain's projects only
    let in_domain = |target: &Target| match (domain_cut, target) {
        (None, _) => true,
        (Some(scope), Target::Domain(d)) => d == scope,
        (Some(scope), Target::Project(p)) => {
            store.projects.get(p).is_some_and(|p| p.domain_id == scope)
        }
        (Some(_), Target::System) => false,
    };
    let mut rows = Vec::new();
    for g in &store.grants {
        if inherited_filter.is_some_and(|wanted| wanted != g.inherited) {
            continue;
        }
        // as Keystone's effective listing: project and domain assignments only (it reads no
        // system assignment, and no `scope.system` filter)
        if effective && g.target == Target::System {
            continue;
        }
        // the grant's link: `/v3[/OS-INHERIT]/{target}/{users,groups}/{id}/roles/{role}[/inherited_to_projects]`
        let target_path = match &g.target {
            Target::Project(p) => format!("projects/{p}"),
            Target::Domain(d) => format!("domains/{d}"),
            Target::System => "system".to_owned(),
        };
        let inherit = if g.inherited { "/OS-INHERIT" } else { "" };
        let grants = format!(
            "{base}/v3{inherit}/{target_path}/{}/{}/roles",
            g.actor.collection(),
            g.actor.id()
        );
        let suffix = if g.inherited {
            "/inherited_to_projects"
        } else {
            ""
        };
        // where the rows are: the grant's target; with `effective`, an inherited grant's rows
        // are on each project it reaches instead
        let targets = if effective && g.inherited {
            store
                .inheriting_projects(&g.target)
                .into_iter()
                .map(Target::Project)
                .collect()
        } else {
            vec![g.target.clone()]
        };
        // who the rows name: the grant's user or group; with `effective`, a group's members
        // instead, each row linking the membership it comes through
        let holders: Vec<(Actor, Option<String>)> = match (&g.actor, effective) {
            (Actor::Group(group), true) => store
                .members
                .iter()
                .filter(|(gr, _)| gr == group)
                .map(|(_, user)| {
                    let membership = format!("{base}/v3/groups/{group}/users/{user}");
                    (Actor::User(user.clone()), Some(membership))
                })
                .collect(),
            (actor, _) => vec![(actor.clone(), None)],
        };
        // the granted role, then (effective) each role it implies with the role implying it
        // directly; as Keystone does, an implied role's `assignment` link names that role
        // (`.../roles/{prior}`, not always a grant) and its `prior_role` link is
        // `/prior_role/{implied}/implies/{prior}`, the names swapped
        let mut roles = vec![(g.role_id.clone(), None)];
        if effective {
            let implied = store.implied_with_priors(&g.role_id);
            roles.extend(implied.into_iter().map(|(role, prior)| (role, Some(prior))));
        }
        for target in targets.iter().filter(|t| target_ok(t) && in_domain(t)) {
            for (holder, membership) in &holders {
                let wanted = match holder {
                    Actor::User(u) => {
                        matches(&q, "user.id", Some(u)) && !q.contains_key("group.id")
                    }
                    Actor::Group(gr) => {
                        matches(&q, "group.id", Some(gr)) && !q.contains_key("user.id")
                    }
                };
                if !wanted {
                    continue;
                }
                for (role_id, prior) in &roles {
                    if !matches(&q, "role.id", Some(role_id)) {
                        continue;
                    }
                    let role_in_link = prior.as_deref().unwrap_or(role_id);
                    let links = AssignmentLinks {
                        assignment: format!("{grants}/{role_in_link}{suffix}"),
                        prior_role: prior
                            .as_ref()
                            .map(|prior| format!("{base}/v3/prior_role/{role_id}/implies/{prior}")),
                        membership: membership.clone(),
                    };
                    let mut row = assignment(&store, names, holder, target, role_id, links);
                    if g.inherited {
                        row.scope.inherited_to = Some("projects".to_owned());
                    }
                    rows.push(row);
                }
            }
        }
    }
    Ok(Json(RoleAssignmentList {
        role_assignments: rows,
        links: views(&state).list_links(&path_and_query(&uri)),
    }))
}

fn named_domain(store: &Store, id: &str) -> NamedRef {
    NamedRef {
        id: id.to_owned(),
        name: store
            .domains
            .get(id)
            .map(|d| d.name.clone())
            .unwrap_or_default(),
    }
}

/// One row of a role assignment list: `holder` has `role_id` on `target`.
fn assignment(
    store: &Store,
    names: bool,
    holder: &Actor,
    target: &Target,
    role_id: &str,
    links: AssignmentLinks,
) -> RoleAssignment {
    let role = store.roles.get(role_id);
    let scope = match target {
        Target::Project(p) => {
            let rec = store.projects.get(p);
            AssignmentScope {
                project: Some(AssignmentActor {
                    domain: names.then(|| {
                        named_domain(store, rec.map(|r| r.domain_id.as_str()).unwrap_or(""))
                    }),
                    id: p.clone(),
                    name: names.then(|| rec.map(|r| r.name.clone()).unwrap_or_default()),
                }),
                domain: None,
                system: None,
                inherited_to: None,
            }
        }
        Target::Domain(d) => AssignmentScope {
            project: None,
            domain: Some(AssignmentActor {
                domain: None,
                id: d.clone(),
                name: names.then(|| named_domain(store, d).name),
            }),
            system: None,
            inherited_to: None,
        },
        Target::System => AssignmentScope {
            project: None,
            domain: None,
            system: Some(keystone_types::auth::SystemScope { all: true }),
            inherited_to: None,
        },
    };
    let (name, domain) = store.actor_named(holder).unwrap_or_default();
    let named = AssignmentActor {
        domain: names.then(|| named_domain(store, domain)),
        id: holder.id().to_owned(),
        name: names.then(|| name.to_owned()),
    };
    let (user, group) = match holder {
        Actor::User(_) => (Some(named), None),
        Actor::Group(_) => (None, Some(named)),
    };
    RoleAssignment {
        links,
        role: AssignmentActor {
            domain: None,
            id: role_id.to_owned(),
            name: names.then(|| role.map(|r| r.name.clone()).unwrap_or_default()),
        },
        scope,
        user,
        group,
    }
}

// ----- application credentials ---------------------------------------------------------------

fn owner_target(user_id: &str) -> PolicyTarget {
    PolicyTarget::new().with("user_id", user_id)
}

/// `GET /v3/users/{user}/application_credentials?name=`
pub(crate) async fn list_app_creds(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: OriginalUri,
    KsPath(user_id): KsPath<String>,
    KsQuery(q): KsQuery<QueryMap>,
) -> ApiResult<Json<ApplicationCredentialList>> {
    guard(
        &state,
        &headers,
        "identity:list_application_credentials",
        owner_target(&user_id),
    )?;
    let store = state.store();
    let v = views(&state);
    let creds = store
        .app_creds
        .values()
        .filter(|c| c.user_id == user_id && matches(&q, "name", Some(&c.name)))
        .map(|c| v.app_cred(&store, c, false))
        .collect();
    Ok(Json(ApplicationCredentialList {
        application_credentials: creds,
        links: v.list_links(&path_and_query(&uri)),
    }))
}

/// `GET /v3/users/{user}/application_credentials/{id}`
pub(crate) async fn get_app_cred(
    State(state): State<AppState>,
    headers: HeaderMap,
    KsPath((user_id, id)): KsPath<(String, String)>,
) -> ApiResult<Json<ApplicationCredentialResponse>> {
    guard(
        &state,
        &headers,
        "identity:get_application_credential",
        owner_target(&user_id),
    )?;
    let store = state.store();
    let c = store
        .app_creds
        .get(&id)
        .filter(|c| c.user_id == user_id)
        .ok_or_else(|| ApiError::not_found("application credential", &id))?;
    Ok(Json(ApplicationCredentialResponse {
        application_credential: views(&state).app_cred(&store, c, false),
    }))
}

/// `POST /v3/users/{user}/application_credentials`: 201, the only answer that shows the secret.
pub(crate) async fn create_app_cred(
    State(state): State<AppState>,
    headers: HeaderMap,
    KsPath(user_id): KsPath<String>,
    KsJson(body): KsJson<ApplicationCredentialCreateRequest>,
) -> ApiResult<Created<ApplicationCredentialResponse>> {
    let caller = guard(
        &state,
        &headers,
        "identity:create_application_credential",
        owner_target(&user_id),
    )?;
    let project_id = crate::app::scope_project(&caller.scope)
        .ok_or_else(|| {
            ApiError::bad_request(
                "Application credentials must be created with a project-scoped token.",
            )
        })?
        .to_owned();
    let mut store = state.store();
    let rec = store.create_app_cred(
        &user_id,
        &project_id,
        &caller.role_ids,
        body.application_credential,
        state.clock.now(),
    )?;
    Ok(created(ApplicationCredentialResponse {
        application_credential: views(&state).app_cred(&store, &rec, true),
    }))
}

/// `DELETE /v3/users/{user}/application_credentials/{id}`
pub(crate) async fn delete_app_cred(
    State(state): State<AppState>,
    headers: HeaderMap,
    KsPath((user_id, id)): KsPath<(String, String)>,
) -> ApiResult<StatusCode> {
    guard(
        &state,
        &headers,
        "identity:delete_application_credential",
        owner_target(&user_id),
    )?;
    let mut store = state.store();
    match store.app_creds.get(&id) {
        Some(c) if c.user_id == user_id => {
            store.app_creds.remove(&id);
            Ok(StatusCode::NO_CONTENT)
        }
        _ => Err(ApiError::not_found("application credential", &id)),
    }
}

// ----- access rules --------------------------------------------------------------------------

/// The target Keystone builds for the access rule routes: the path's parameters, and the user
/// when they exist (`target.user.*`, which the default rules compare with the caller).
fn access_rule_target(state: &AppState, user_id: &str, rule_id: Option<&str>) -> PolicyTarget {
    let store = state.store();
    let mut target = PolicyTarget::new()
        .with("user_id", user_id)
        .with_opt("access_rule_id", rule_id);
    if let Some(user) = store.users.get(user_id) {
        target = target
            .with("target.user.id", user.id.as_str())
            .with("target.user.domain_id", user.domain_id.as_str());
    }
    target
}

/// `GET /v3/users/{user}/access_rules?service=&path=&method=`
pub(crate) async fn list_access_rules(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: OriginalUri,
    KsPath(user_id): KsPath<String>,
    KsQuery(q): KsQuery<QueryMap>,
) -> ApiResult<Json<AccessRuleList>> {
    guard(
        &state,
        &headers,
        "identity:list_access_rules",
        access_rule_target(&state, &user_id, None),
    )?;
    let store = state.store();
    let v = views(&state);
    let access_rules = store
        .access_rules
        .values()
        .filter(|r| {
            r.user_id == user_id
                && matches(&q, "service", Some(&r.service))
                && matches(&q, "path", Some(&r.path))
                && matches(&q, "method", Some(&r.method))
        })
        .map(|r| v.access_rule(r))
        .collect();
    Ok(Json(AccessRuleList {
        access_rules,
        links: v.list_links(&path_and_query(&uri)),
    }))
}

/// `GET /v3/users/{user}/access_rules/{id}`: one of the user's rules, or 404.
pub(crate) async fn get_access_rule(
    State(state): State<AppState>,
    headers: HeaderMap,
    KsPath((user_id, id)): KsPath<(String, String)>,
) -> ApiResult<Json<AccessRuleResponse>> {
    guard(
        &state,
        &headers,
        "identity:get_access_rule",
        access_rule_target(&state, &user_id, Some(&id)),
    )?;
    let store = state.store();
    let rule = store
        .access_rules
        .get(&id)
        .filter(|r| r.user_id == user_id)
        .ok_or_else(|| ApiError::not_found("Access Rule", &id))?;
    Ok(Json(AccessRuleResponse {
        access_rule: views(&state).access_rule(rule),
    }))
}

/// `DELETE /v3/users/{user}/access_rules/{id}`: 204; 403 while a credential uses the rule.
pub(crate) async fn delete_access_rule(
    State(state): State<AppState>,
    headers: HeaderMap,
    KsPath((user_id, id)): KsPath<(String, String)>,
) -> ApiResult<StatusCode> {
    guard(
        &state,
        &headers,
        "identity:delete_access_rule",
        access_rule_target(&state, &user_id, Some(&id)),
    )?;
    state.store().delete_access_rule(&user_id, &id)?;
    Ok(StatusCode::NO_CONTENT)
}
