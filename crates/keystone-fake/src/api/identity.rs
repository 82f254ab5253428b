//! Users (with their own password changes and their projects) and groups with their members
//! (Keystone's identity subsystem). A role granted to a group (the grant routes take `groups`
//! where they take `users`) is held by each of its members, in their tokens and in
//! `GET /v3/role_assignments?effective`. Authorized with Keystone 30.0.0's default rules, the
//! targets built as Keystone builds them; a domain-scoped token sees its own domain's users,
//! groups and members only.

use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::http::StatusCode;
use keystone_types::Secret;
use keystone_types::resources::*;
use serde_json::Value;

use super::{Created, created, show};
use crate::error::{ApiError, ApiResult};
use crate::extract::{
    Checked, KsJson, KsPath, KsQuery, QueryMap, matches, matches_bool, path_and_query,
};
use crate::policy::{Caller, PolicyTarget};
use crate::state::{AppState, Authed};
use crate::store::Target;

/// The target Keystone builds for a user named in the path: the user, when they exist.
fn user_target(state: &AppState, id: &str) -> PolicyTarget {
    let domain = state.store().users.get(id).map(|u| u.domain_id.clone());
    match domain {
        Some(d) => PolicyTarget::new()
            .with("target.user.id", id)
            .with("target.user.domain_id", d),
        None => PolicyTarget::new(),
    }
}

/// `GET /v3/users?name=&domain_id=&enabled=`
pub(crate) async fn list_users(
    State(state): State<AppState>,
    uri: OriginalUri,
    KsQuery(q): KsQuery<QueryMap>,
    caller: Caller,
) -> ApiResult<Json<UserList>> {
    caller.enforce("identity:list_users", &caller.list_target())?;
    let v = state.views();
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
    KsPath(id): KsPath<String>,
    caller: Caller,
) -> ApiResult<Json<UserResponse>> {
    caller.enforce("identity:get_user", &user_target(&state, &id))?;
    show(
        &state,
        |s| &s.users,
        "user",
        &id,
        |v, u| UserResponse { user: v.user(u) },
    )
}

/// `POST /v3/users`
pub(crate) async fn create_user(
    State(state): State<AppState>,
    Authed(caller, Checked(body)): Authed<Checked<UserCreateRequest>>,
) -> ApiResult<Created<UserResponse>> {
    let mut create = body.user;
    if create.domain_id.is_none() {
        create.domain_id = Some(caller.default_domain());
    }
    caller.enforce(
        "identity:create_user",
        &PolicyTarget::new().with_opt("target.user.domain_id", create.domain_id.as_deref()),
    )?;
    let rec = state.store().create_user(create)?;
    Ok(created(UserResponse {
        user: state.views().user(&rec),
    }))
}

/// `PATCH /v3/users/{id}`
pub(crate) async fn update_user(
    State(state): State<AppState>,
    KsPath(id): KsPath<String>,
    Authed(caller, Checked(body)): Authed<Checked<UserUpdateRequest>>,
) -> ApiResult<Json<UserResponse>> {
    caller.enforce("identity:update_user", &user_target(&state, &id))?;
    let rec = state.store().update_user(&id, body.user)?;
    // Keystone answers an update with the extra attributes spelled out too
    let mut user = state.views().user(&rec);
    let mut extra = rec.extra.clone();
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
    KsPath(id): KsPath<String>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    caller.enforce("identity:delete_user", &user_target(&state, &id))?;
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
    uri: OriginalUri,
    KsPath(id): KsPath<String>,
    caller: Caller,
) -> ApiResult<Json<ProjectList>> {
    let domain = state.store().users.get(&id).map(|u| u.domain_id.clone());
    caller.enforce(
        "identity:list_user_projects",
        &PolicyTarget::new()
            .with("target.user.id", id.as_str())
            .with_opt("target.user.domain_id", domain.as_deref()),
    )?;
    let store = state.store();
    if !store.users.contains_key(&id) {
        return Err(ApiError::not_found("user", &id));
    }
    let v = state.views();
    let projects = store
        .projects
        .values()
        .filter(|p| {
            !store
                .effective_roles(&id, &Target::Project(p.id.clone()))
                .is_empty()
        })
        .map(|p| v.project(p))
        .collect();
    Ok(Json(ProjectList {
        projects,
        links: v.list_links(&path_and_query(&uri)),
    }))
}

/// The target Keystone builds for a group named in the path: the group, when it exists (a
/// missing one is left out, and answered 404 after the policy check).
fn group_target(state: &AppState, id: &str) -> PolicyTarget {
    let domain = state.store().groups.get(id).map(|g| g.domain_id.clone());
    match domain {
        Some(d) => PolicyTarget::new()
            .with("target.group.id", id)
            .with("target.group.domain_id", d),
        None => PolicyTarget::new(),
    }
}

/// `GET /v3/groups?name=&domain_id=`
pub(crate) async fn list_groups(
    State(state): State<AppState>,
    uri: OriginalUri,
    KsQuery(q): KsQuery<QueryMap>,
    caller: Caller,
) -> ApiResult<Json<GroupList>> {
    // as Keystone does: a domain-scoped token's domain is the target, and the list is cut to it
    let target = PolicyTarget::new().with_opt("target.group.domain_id", caller.domain_id());
    caller.enforce("identity:list_groups", &target)?;
    let v = state.views();
    let groups = state
        .store()
        .groups
        .values()
        .filter(|g| {
            caller.domain_id().is_none_or(|d| d == g.domain_id)
                && matches(&q, "name", Some(&g.name))
                && matches(&q, "domain_id", Some(&g.domain_id))
        })
        .map(|g| v.group(g))
        .collect();
    Ok(Json(GroupList {
        groups,
        links: v.list_links(&path_and_query(&uri)),
    }))
}

/// `POST /v3/groups`: the group's domain defaults to the caller's. As Keystone does, the
/// policy sees the body as it came (a domain manager names the domain).
pub(crate) async fn create_group(
    State(state): State<AppState>,
    Authed(caller, KsJson(body)): Authed<KsJson<GroupCreateRequest>>,
) -> ApiResult<Created<GroupResponse>> {
    let mut create = body.group;
    let target = PolicyTarget::new()
        .with("target.group.name", create.name.as_str())
        .with_opt("target.group.domain_id", create.domain_id.as_deref());
    caller.enforce("identity:create_group", &target)?;
    if create.domain_id.is_none() {
        create.domain_id = Some(
            caller
                .domain_id()
                .map_or_else(|| caller.default_domain(), str::to_owned),
        );
    }
    let rec = state.store().create_group(create)?;
    Ok(created(GroupResponse {
        group: state.views().group(&rec),
    }))
}

/// `GET /v3/groups/{id}`
pub(crate) async fn get_group(
    State(state): State<AppState>,
    KsPath(id): KsPath<String>,
    caller: Caller,
) -> ApiResult<Json<GroupResponse>> {
    let target = group_target(&state, &id);
    caller.enforce("identity:get_group", &target)?;
    let store = state.store();
    Ok(Json(GroupResponse {
        group: state.views().group(store.group(&id)?),
    }))
}

/// `PATCH /v3/groups/{id}`: name and description; the domain cannot change.
pub(crate) async fn update_group(
    State(state): State<AppState>,
    KsPath(id): KsPath<String>,
    Authed(caller, KsJson(body)): Authed<KsJson<GroupUpdateRequest>>,
) -> ApiResult<Json<GroupResponse>> {
    let target = group_target(&state, &id);
    caller.enforce("identity:update_group", &target)?;
    let rec = state.store().update_group(&id, body.group)?;
    Ok(Json(GroupResponse {
        group: state.views().group(&rec),
    }))
}

/// `DELETE /v3/groups/{id}`: its grants and memberships go with it.
pub(crate) async fn delete_group(
    State(state): State<AppState>,
    KsPath(id): KsPath<String>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    let target = group_target(&state, &id);
    caller.enforce("identity:delete_group", &target)?;
    state.store().delete_group(&id)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v3/groups/{id}/users?name=&enabled=&domain_id=`
pub(crate) async fn list_group_users(
    State(state): State<AppState>,
    uri: OriginalUri,
    KsPath(id): KsPath<String>,
    KsQuery(q): KsQuery<QueryMap>,
    caller: Caller,
) -> ApiResult<Json<UserList>> {
    let target = group_target(&state, &id);
    caller.enforce("identity:list_users_in_group", &target)?;
    let store = state.store();
    store.group(&id)?;
    let v = state.views();
    let users = store
        .members
        .iter()
        .filter(|(g, _)| g == &id)
        .filter_map(|(_, u)| store.users.get(u))
        .filter(|u| {
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

/// The target of a membership route: the group and the user, each when it exists.
fn membership_target(state: &AppState, group_id: &str, user_id: &str) -> PolicyTarget {
    group_target(state, group_id).merge(user_target(state, user_id))
}

/// `PUT /v3/groups/{id}/users/{user}`: 204.
pub(crate) async fn add_user_to_group(
    State(state): State<AppState>,
    KsPath((group_id, user_id)): KsPath<(String, String)>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    let target = membership_target(&state, &group_id, &user_id);
    caller.enforce("identity:add_user_to_group", &target)?;
    state.store().add_user_to_group(&group_id, &user_id)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET`/`HEAD /v3/groups/{id}/users/{user}`: 204 when the user is a member, else 404.
pub(crate) async fn check_user_in_group(
    State(state): State<AppState>,
    KsPath((group_id, user_id)): KsPath<(String, String)>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    let target = membership_target(&state, &group_id, &user_id);
    caller.enforce("identity:check_user_in_group", &target)?;
    state.store().check_user_in_group(&group_id, &user_id)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /v3/groups/{id}/users/{user}`: 204; the user's tokens are revoked.
pub(crate) async fn remove_user_from_group(
    State(state): State<AppState>,
    KsPath((group_id, user_id)): KsPath<(String, String)>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    let target = membership_target(&state, &group_id, &user_id);
    caller.enforce("identity:remove_user_from_group", &target)?;
    state.store().remove_user_from_group(&group_id, &user_id)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v3/users/{id}/groups?name=`: the user's groups, each with `membership_expires_at`.
pub(crate) async fn list_user_groups(
    State(state): State<AppState>,
    uri: OriginalUri,
    KsPath(user_id): KsPath<String>,
    KsQuery(q): KsQuery<QueryMap>,
    caller: Caller,
) -> ApiResult<Json<UserGroupList>> {
    // Keystone's target: the user, and the path's `user_id` (a user may list their own)
    let target = user_target(&state, &user_id).with("user_id", user_id.as_str());
    caller.enforce("identity:list_groups_for_user", &target)?;
    let store = state.store();
    if !store.users.contains_key(&user_id) {
        return Err(ApiError::not_found("user", &user_id));
    }
    let v = state.views();
    let groups = store
        .groups_of(&user_id)
        .filter_map(|g| store.groups.get(g))
        .filter(|g| {
            caller.domain_id().is_none_or(|d| d == g.domain_id)
                && matches(&q, "name", Some(&g.name))
        })
        .map(|g| UserGroup {
            group: v.group(g),
            membership_expires_at: None,
        })
        .collect();
    Ok(Json(UserGroupList {
        groups,
        links: v.list_links(&path_and_query(&uri)),
    }))
}
