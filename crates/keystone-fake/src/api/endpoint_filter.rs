//! OS-EP-FILTER (`/v3/OS-EP-FILTER/...`) as Keystone 30 serves it: endpoint groups (endpoints
//! picked by interface, service and region), and the endpoints and endpoint groups associated
//! with a project, which narrow that project's catalog (`Store::catalog`).
//!
//! Bodies and the list's query are checked as Keystone's schemas check them, before the token;
//! the rest in Keystone's order of checks, route by route: the policy first (no target), then
//! what exists, with Keystone's words (`Could not find Endpoint Group: …`, association 404s
//! without a final period, a project–endpoint pair checked endpoint first, an endpoint group
//! and a project project first).

use axum::Json;
use axum::extract::{FromRequestParts, OriginalUri, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use keystone_policy::py_repr;
use keystone_types::resources::{
    EndpointGroupList, EndpointGroupResponse, EndpointList, ProjectEndpointGroupResponse,
    ProjectList,
};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{Created, created};
use crate::error::{ApiError, ApiResult, validation_error};
use crate::extract::{Checked, KsPath, KsQuery, QueryMap, path_and_query};
use crate::policy::{Caller, PolicyTarget};
use crate::schema::{
    Check, attribute_error, invalid_attribute, parameter_name_failure, type_message,
};
use crate::state::{AppState, Authed};
use crate::store::{EndpointGroupChanges, found};

/// The filters an endpoint group may have, as Keystone's `_require_valid_filter` lists them.
const FILTER_KEYS: [&str; 3] = ["service_id", "region_id", "interface"];

/// The attributes an endpoint group body may have.
const GROUP_KEYS: [&str; 3] = ["description", "filters", "name"];

/// jsonschema's `additionalProperties` message for the keys of `map` not in `allowed`, named
/// sorted as jsonschema names them.
fn unexpected(map: &Map<String, Value>, allowed: &[&str]) -> Option<String> {
    let mut extra: Vec<&String> = map
        .keys()
        .filter(|k| !allowed.contains(&k.as_str()))
        .collect();
    if extra.is_empty() {
        return None;
    }
    extra.sort();
    let names: Vec<String> = extra.iter().map(|k| format!("'{k}'")).collect();
    let verb = if names.len() == 1 { "was" } else { "were" };
    Some(format!(
        "Additional properties are not allowed ({} {verb} unexpected)",
        names.join(", ")
    ))
}

/// Whether `v` has one of the JSON schema `types`.
fn of_type(v: &Value, types: &[&str]) -> bool {
    types.iter().any(|t| match *t {
        "string" => v.is_string(),
        "null" => v.is_null(),
        "boolean" => v.is_boolean(),
        "object" => v.is_object(),
        _ => false,
    })
}

/// The value at `key` of `map`, when present, checked against `types`.
fn typed(map: &Map<String, Value>, key: &str, types: &[&str]) -> ApiResult<()> {
    match map.get(key) {
        Some(v) if !of_type(v, types) => Err(attribute_error(key, v, &type_message(v, types))),
        _ => Ok(()),
    }
}

/// The `endpoint_group` object of a body, when there is one, or the schema's 400.
fn group_object(body: &Map<String, Value>) -> ApiResult<Option<&Map<String, Value>>> {
    match body.get("endpoint_group") {
        None => Ok(None),
        Some(Value::Object(g)) => Ok(Some(g)),
        Some(other) => Err(attribute_error(
            "endpoint_group",
            other,
            &type_message(other, &["object"]),
        )),
    }
}

/// An endpoint group's attributes, in the schema's order: `description`, `filters` (an object;
/// its `interface`, `service_id`, `region_id` and `enabled`, other keys left to the handler),
/// `name` (`parameter_types.name`).
fn group_properties(g: &Map<String, Value>) -> ApiResult<()> {
    typed(g, "description", &["string", "null"])?;
    if let Some(filters) = g.get("filters") {
        let Value::Object(f) = filters else {
            return Err(attribute_error(
                "filters",
                filters,
                &type_message(filters, &["object"]),
            ));
        };
        typed(f, "interface", &["string"])?;
        if let Some(interface) = f.get("interface")
            && !["admin", "internal", "public"].contains(&interface.as_str().unwrap_or_default())
        {
            return Err(attribute_error(
                "interface",
                interface,
                &format!(
                    "{} is not one of ['admin', 'internal', 'public']",
                    py_repr(interface)
                ),
            ));
        }
        typed(f, "service_id", &["string"])?;
        typed(f, "region_id", &["string", "null"])?;
        typed(f, "enabled", &["boolean"])?;
    }
    typed(g, "name", &["string"])?;
    if let Some(f) = g
        .get("name")
        .and_then(Value::as_str)
        .and_then(parameter_name_failure)
    {
        return Err(invalid_attribute(&f));
    }
    Ok(())
}

/// The `endpoint_group` object's own `additionalProperties` failure.
fn group_extras(g: &Map<String, Value>) -> ApiResult<()> {
    match unexpected(g, &GROUP_KEYS) {
        Some(message) => Err(attribute_error(
            "endpoint_group",
            &Value::Object(g.clone()),
            &message,
        )),
        None => Ok(()),
    }
}

/// The body's top-level `additionalProperties` failure (worded bare, as jsonschema words a
/// failure at the top of the body).
fn top_extras(body: &Map<String, Value>) -> ApiResult<()> {
    match unexpected(body, &["endpoint_group"]) {
        Some(message) => Err(ApiError::bad_request(message)),
        None => Ok(()),
    }
}

/// The body of `POST /v3/OS-EP-FILTER/endpoint_groups`, checked as Keystone's schema checks it
/// (before the token): `endpoint_group` is not required, but when given it needs `name` and
/// `filters` and has nothing else.
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub(crate) struct EndpointGroupCreateBody(Map<String, Value>);

impl Check for EndpointGroupCreateBody {
    fn check(&self) -> ApiResult<()> {
        if let Some(g) = group_object(&self.0)? {
            group_properties(g)?;
            if let Some(missing) = ["name", "filters"].iter().find(|k| !g.contains_key(**k)) {
                return Err(attribute_error(
                    "endpoint_group",
                    &Value::Object(g.clone()),
                    &format!("'{missing}' is a required property"),
                ));
            }
            group_extras(g)?;
        }
        top_extras(&self.0)
    }
}

/// The body of `PATCH /v3/OS-EP-FILTER/endpoint_groups/{id}`: an `endpoint_group` with at
/// least one of the attributes.
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub(crate) struct EndpointGroupUpdateBody(Map<String, Value>);

impl Check for EndpointGroupUpdateBody {
    fn check(&self) -> ApiResult<()> {
        let Some(g) = group_object(&self.0)? else {
            return Err(ApiError::bad_request(
                "'endpoint_group' is a required property",
            ));
        };
        group_properties(g)?;
        if g.is_empty() {
            return Err(attribute_error(
                "endpoint_group",
                &Value::Object(Map::new()),
                "{} should be non-empty",
            ));
        }
        group_extras(g)?;
        top_extras(&self.0)
    }
}

/// Keystone's check of the filters' names (after the policy): only `service_id`, `region_id`
/// and `interface`.
fn valid_filters(filters: &Map<String, Value>) -> ApiResult<()> {
    if filters.keys().any(|k| !FILTER_KEYS.contains(&k.as_str())) {
        return Err(validation_error(
            "service_id or region_id or interface",
            "endpoint_group",
        ));
    }
    Ok(())
}

/// The `endpoint_group` of a checked body, empty when there is none.
fn group_of(body: &Map<String, Value>) -> Map<String, Value> {
    body.get("endpoint_group")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

/// The query of `GET /v3/OS-EP-FILTER/endpoint_groups`, checked as Keystone's schema checks it
/// (before the token): only `name`, a valid name.
#[derive(Debug)]
pub(crate) struct EndpointGroupQuery(QueryMap);

impl<S: Send + Sync> FromRequestParts<S> for EndpointGroupQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> ApiResult<Self> {
        let KsQuery(q) = KsQuery::<QueryMap>::from_request_parts(parts, state).await?;
        let as_map: Map<String, Value> = q
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        if let Some(message) = unexpected(&as_map, &["name"]) {
            return Err(ApiError::bad_request(message));
        }
        if let Some(f) = q.get("name").and_then(|n| parameter_name_failure(n)) {
            return Err(invalid_attribute(&f));
        }
        Ok(EndpointGroupQuery(q))
    }
}

/// `GET /v3/OS-EP-FILTER/endpoint_groups?name=`: in the order they were made.
pub(crate) async fn list_endpoint_groups(
    State(state): State<AppState>,
    uri: OriginalUri,
    EndpointGroupQuery(q): EndpointGroupQuery,
    caller: Caller,
) -> ApiResult<Json<EndpointGroupList>> {
    caller.enforce("identity:list_endpoint_groups", &PolicyTarget::new())?;
    let store = state.store();
    let v = state.views();
    let endpoint_groups = store
        .endpoint_groups
        .iter()
        .filter(|g| q.get("name").is_none_or(|n| *n == g.name))
        .map(|g| v.endpoint_group(g))
        .collect();
    Ok(Json(EndpointGroupList {
        endpoint_groups,
        links: v.list_links(&path_and_query(&uri)),
    }))
}

/// `POST /v3/OS-EP-FILTER/endpoint_groups`: after the policy, non-empty filters of known names.
pub(crate) async fn create_endpoint_group(
    State(state): State<AppState>,
    Authed(caller, Checked(EndpointGroupCreateBody(body))): Authed<
        Checked<EndpointGroupCreateBody>,
    >,
) -> ApiResult<Created<EndpointGroupResponse>> {
    caller.enforce("identity:create_endpoint_group", &PolicyTarget::new())?;
    let g = group_of(&body);
    let filters = match g.get("filters") {
        Some(Value::Object(f)) if !f.is_empty() => f.clone(),
        _ => {
            return Err(ApiError::bad_request(
                "filters field is required and cannot be empty",
            ));
        }
    };
    valid_filters(&filters)?;
    let text = |k: &str| g.get(k).and_then(Value::as_str).map(str::to_owned);
    let rec = state.store().create_endpoint_group(
        text("name").unwrap_or_default(),
        text("description"),
        filters,
    );
    Ok(created(EndpointGroupResponse {
        endpoint_group: state.views().endpoint_group(&rec),
    }))
}

/// `GET /v3/OS-EP-FILTER/endpoint_groups/{id}` (any query ignored, as in Keystone)
pub(crate) async fn get_endpoint_group(
    State(state): State<AppState>,
    KsPath(id): KsPath<String>,
    caller: Caller,
) -> ApiResult<Json<EndpointGroupResponse>> {
    caller.enforce(
        "identity:get_endpoint_group",
        &PolicyTarget::new().with("endpoint_group_id", id.as_str()),
    )?;
    let store = state.store();
    Ok(Json(EndpointGroupResponse {
        endpoint_group: state.views().endpoint_group(store.endpoint_group(&id)?),
    }))
}

/// `PATCH /v3/OS-EP-FILTER/endpoint_groups/{id}`: new filters (checked before the group is
/// looked up) replace the old ones whole, and may be empty.
pub(crate) async fn update_endpoint_group(
    State(state): State<AppState>,
    KsPath(id): KsPath<String>,
    Authed(caller, Checked(EndpointGroupUpdateBody(body))): Authed<
        Checked<EndpointGroupUpdateBody>,
    >,
) -> ApiResult<Json<EndpointGroupResponse>> {
    caller.enforce(
        "identity:update_endpoint_group",
        &PolicyTarget::new().with("endpoint_group_id", id.as_str()),
    )?;
    let g = group_of(&body);
    let filters = g.get("filters").and_then(Value::as_object).cloned();
    if let Some(f) = &filters {
        valid_filters(f)?;
    }
    let changes = EndpointGroupChanges {
        name: g.get("name").and_then(Value::as_str).map(str::to_owned),
        description: g.get("description").map(|d| d.as_str().map(str::to_owned)),
        filters,
    };
    let rec = state.store().update_endpoint_group(&id, changes)?;
    Ok(Json(EndpointGroupResponse {
        endpoint_group: state.views().endpoint_group(&rec),
    }))
}

/// `DELETE /v3/OS-EP-FILTER/endpoint_groups/{id}`, with its project associations.
pub(crate) async fn delete_endpoint_group(
    State(state): State<AppState>,
    KsPath(id): KsPath<String>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    caller.enforce(
        "identity:delete_endpoint_group",
        &PolicyTarget::new().with("endpoint_group_id", id.as_str()),
    )?;
    state.store().delete_endpoint_group(&id)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v3/OS-EP-FILTER/endpoint_groups/{id}/projects`: an unknown group has none (no 404,
/// as in Keystone).
pub(crate) async fn list_group_projects(
    State(state): State<AppState>,
    uri: OriginalUri,
    KsPath(id): KsPath<String>,
    caller: Caller,
) -> ApiResult<Json<ProjectList>> {
    caller.enforce(
        "identity:list_projects_associated_with_endpoint_group",
        &PolicyTarget::new().with("endpoint_group_id", id.as_str()),
    )?;
    let store = state.store();
    let v = state.views();
    let projects = store
        .group_project_ids(&id)
        .iter()
        .filter_map(|p| store.projects.get(p))
        .map(|p| v.project(p))
        .collect();
    Ok(Json(ProjectList {
        projects,
        links: v.list_links(&path_and_query(&uri)),
    }))
}

/// `GET /v3/OS-EP-FILTER/endpoint_groups/{id}/endpoints`: every endpoint its filters match,
/// disabled ones and those of disabled services included.
pub(crate) async fn list_group_endpoints(
    State(state): State<AppState>,
    uri: OriginalUri,
    KsPath(id): KsPath<String>,
    caller: Caller,
) -> ApiResult<Json<EndpointList>> {
    caller.enforce(
        "identity:list_endpoints_associated_with_endpoint_group",
        &PolicyTarget::new().with("endpoint_group_id", id.as_str()),
    )?;
    let store = state.store();
    let v = state.views();
    let group = store.endpoint_group(&id)?;
    let endpoints = store
        .group_endpoints(group)
        .into_iter()
        .map(|e| v.endpoint(e))
        .collect();
    Ok(Json(EndpointList {
        endpoints,
        links: v.list_links(&path_and_query(&uri)),
    }))
}

/// The target of an endpoint group–project route: the path's ids.
fn group_project_target(group_id: &str, project_id: &str) -> PolicyTarget {
    PolicyTarget::new()
        .with("endpoint_group_id", group_id)
        .with("project_id", project_id)
}

/// Keystone's lookups before an endpoint group–project association: the project, then the
/// group.
fn group_and_project(state: &AppState, group_id: &str, project_id: &str) -> ApiResult<()> {
    let store = state.store();
    found(&store.projects, "project", project_id)?;
    store.endpoint_group(group_id)?;
    Ok(())
}

/// `GET`/`HEAD /v3/OS-EP-FILTER/endpoint_groups/{id}/projects/{project_id}`
pub(crate) async fn get_group_project(
    State(state): State<AppState>,
    KsPath((group_id, project_id)): KsPath<(String, String)>,
    caller: Caller,
) -> ApiResult<Json<ProjectEndpointGroupResponse>> {
    caller.enforce(
        "identity:get_endpoint_group_in_project",
        &group_project_target(&group_id, &project_id),
    )?;
    group_and_project(&state, &group_id, &project_id)?;
    state
        .store()
        .endpoint_group_in_project(&group_id, &project_id)?;
    Ok(Json(ProjectEndpointGroupResponse {
        project_endpoint_group: state.views().project_endpoint_group(&group_id, &project_id),
    }))
}

/// `PUT /v3/OS-EP-FILTER/endpoint_groups/{id}/projects/{project_id}`
pub(crate) async fn put_group_project(
    State(state): State<AppState>,
    KsPath((group_id, project_id)): KsPath<(String, String)>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    caller.enforce(
        "identity:add_endpoint_group_to_project",
        &group_project_target(&group_id, &project_id),
    )?;
    group_and_project(&state, &group_id, &project_id)?;
    state
        .store()
        .add_endpoint_group_to_project(&group_id, &project_id)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /v3/OS-EP-FILTER/endpoint_groups/{id}/projects/{project_id}`
pub(crate) async fn delete_group_project(
    State(state): State<AppState>,
    KsPath((group_id, project_id)): KsPath<(String, String)>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    caller.enforce(
        "identity:remove_endpoint_group_from_project",
        &group_project_target(&group_id, &project_id),
    )?;
    group_and_project(&state, &group_id, &project_id)?;
    state
        .store()
        .remove_endpoint_group_from_project(&group_id, &project_id)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v3/OS-EP-FILTER/projects/{project_id}/endpoint_groups`
pub(crate) async fn list_project_endpoint_groups(
    State(state): State<AppState>,
    uri: OriginalUri,
    KsPath(project_id): KsPath<String>,
    caller: Caller,
) -> ApiResult<Json<EndpointGroupList>> {
    caller.enforce(
        "identity:list_endpoint_groups_for_project",
        &PolicyTarget::new().with("project_id", project_id.as_str()),
    )?;
    let store = state.store();
    found(&store.projects, "project", &project_id)?;
    let v = state.views();
    let endpoint_groups = store
        .project_endpoint_groups(&project_id)
        .into_iter()
        .map(|g| v.endpoint_group(g))
        .collect();
    Ok(Json(EndpointGroupList {
        endpoint_groups,
        links: v.list_links(&path_and_query(&uri)),
    }))
}

/// `GET /v3/OS-EP-FILTER/projects/{project_id}/endpoints`: those associated directly, then
/// those its endpoint groups match (disabled ones included).
pub(crate) async fn list_project_endpoints(
    State(state): State<AppState>,
    uri: OriginalUri,
    KsPath(project_id): KsPath<String>,
    caller: Caller,
) -> ApiResult<Json<EndpointList>> {
    caller.enforce(
        "identity:list_endpoints_for_project",
        &PolicyTarget::new().with("project_id", project_id.as_str()),
    )?;
    let store = state.store();
    found(&store.projects, "project", &project_id)?;
    let v = state.views();
    let endpoints = store
        .project_endpoint_ids(&project_id)
        .iter()
        .filter_map(|e| store.endpoints.get(e))
        .map(|e| v.endpoint(e))
        .collect();
    Ok(Json(EndpointList {
        endpoints,
        links: v.list_links(&path_and_query(&uri)),
    }))
}

/// The target of a project–endpoint route: the path's ids.
fn project_endpoint_target(project_id: &str, endpoint_id: &str) -> PolicyTarget {
    PolicyTarget::new()
        .with("project_id", project_id)
        .with("endpoint_id", endpoint_id)
}

/// Keystone's lookups before a project–endpoint association: the endpoint, then the project.
fn endpoint_and_project(state: &AppState, project_id: &str, endpoint_id: &str) -> ApiResult<()> {
    let store = state.store();
    found(&store.endpoints, "endpoint", endpoint_id)?;
    found(&store.projects, "project", project_id)?;
    Ok(())
}

/// `GET`/`HEAD /v3/OS-EP-FILTER/projects/{project_id}/endpoints/{endpoint_id}`: 204 when the
/// endpoint is associated with the project directly.
pub(crate) async fn check_project_endpoint(
    State(state): State<AppState>,
    KsPath((project_id, endpoint_id)): KsPath<(String, String)>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    caller.enforce(
        "identity:check_endpoint_in_project",
        &project_endpoint_target(&project_id, &endpoint_id),
    )?;
    endpoint_and_project(&state, &project_id, &endpoint_id)?;
    state
        .store()
        .check_endpoint_in_project(&endpoint_id, &project_id)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /v3/OS-EP-FILTER/projects/{project_id}/endpoints/{endpoint_id}`
pub(crate) async fn put_project_endpoint(
    State(state): State<AppState>,
    KsPath((project_id, endpoint_id)): KsPath<(String, String)>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    caller.enforce(
        "identity:add_endpoint_to_project",
        &project_endpoint_target(&project_id, &endpoint_id),
    )?;
    endpoint_and_project(&state, &project_id, &endpoint_id)?;
    state
        .store()
        .add_endpoint_to_project(&endpoint_id, &project_id)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /v3/OS-EP-FILTER/projects/{project_id}/endpoints/{endpoint_id}`: only the
/// association is looked up, as in Keystone.
pub(crate) async fn delete_project_endpoint(
    State(state): State<AppState>,
    KsPath((project_id, endpoint_id)): KsPath<(String, String)>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    caller.enforce(
        "identity:remove_endpoint_from_project",
        &project_endpoint_target(&project_id, &endpoint_id),
    )?;
    state
        .store()
        .remove_endpoint_from_project(&endpoint_id, &project_id)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v3/OS-EP-FILTER/endpoints/{endpoint_id}/projects`: the projects it is associated with
/// directly.
pub(crate) async fn list_endpoint_projects(
    State(state): State<AppState>,
    uri: OriginalUri,
    KsPath(endpoint_id): KsPath<String>,
    caller: Caller,
) -> ApiResult<Json<ProjectList>> {
    caller.enforce(
        "identity:list_projects_for_endpoint",
        &PolicyTarget::new().with("endpoint_id", endpoint_id.as_str()),
    )?;
    let store = state.store();
    found(&store.endpoints, "endpoint", &endpoint_id)?;
    let v = state.views();
    let projects = store
        .endpoint_project_ids(&endpoint_id)
        .iter()
        .filter_map(|p| store.projects.get(p))
        .map(|p| v.project(p))
        .collect();
    Ok(Json(ProjectList {
        projects,
        links: v.list_links(&path_and_query(&uri)),
    }))
}
