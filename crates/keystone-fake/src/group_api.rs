//! Groups (`/v3/groups`) and their members: a role granted to a group (the grant routes take
//! `groups` where they take `users`) is held by each of its members, in their tokens and in
//! `GET /v3/role_assignments?effective`. Authorized with Keystone 30.0.0's default rules, the
//! targets built as Keystone builds them; a domain-scoped token sees its own domain's groups and
//! members only.

use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode};
use keystone_types::resources::{
    GroupCreateRequest, GroupList, GroupResponse, GroupUpdateRequest, UserGroup, UserGroupList,
    UserList,
};

use crate::admin_api::{
    Created, created, guard, matches, matches_bool, path_and_query, user_target,
};
use crate::app::{AppState, KsJson, KsPath, KsQuery, QueryMap};
use crate::error::ApiResult;
use crate::policy::{PolicyTarget, enforce};
use crate::views::Views;

fn views(state: &AppState) -> Views {
    Views { base: state.base() }
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
    headers: HeaderMap,
    uri: OriginalUri,
    KsQuery(q): KsQuery<QueryMap>,
) -> ApiResult<Json<GroupList>> {
    let caller = state.caller(&headers)?;
    // as Keystone does: a domain-scoped token's domain is the target, and the list is cut to it
    let target = PolicyTarget::new().with_opt("target.group.domain_id", caller.domain_id());
    enforce("identity:list_groups", &caller, &target)?;
    let v = views(&state);
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
    headers: HeaderMap,
    KsJson(body): KsJson<GroupCreateRequest>,
) -> ApiResult<Created<GroupResponse>> {
    let caller = state.caller(&headers)?;
    let mut create = body.group;
    let target = PolicyTarget::new()
        .with("target.group.name", create.name.as_str())
        .with_opt("target.group.domain_id", create.domain_id.as_deref());
    enforce("identity:create_group", &caller, &target)?;
    if create.domain_id.is_none() {
        create.domain_id = Some(
            caller
                .domain_id()
                .map_or_else(|| caller.default_domain(), str::to_owned),
        );
    }
    let rec = state.store().create_group(create)?;
    Ok(created(GroupResponse {
        group: views(&state).group(&rec),
    }))
}

/// `GET /v3/groups/{id}`
pub(crate) async fn get_group(
    State(state): State<AppState>,
    headers: HeaderMap,
    KsPath(id): KsPath<String>,
) -> ApiResult<Json<GroupResponse>> {
    let target = group_target(&state, &id);
    guard(&state, &headers, "identity:get_group", target)?;
    let store = state.store();
    Ok(Json(GroupResponse {
        group: views(&state).group(store.group(&id)?),
    }))
}

/// `PATCH /v3/groups/{id}`: name and description; the domain cannot change.
pub(crate) async fn update_group(
    State(state): State<AppState>,
    headers: HeaderMap,
    KsPath(id): KsPath<String>,
    KsJson(body): KsJson<GroupUpdateRequest>,
) -> ApiResult<Json<GroupResponse>> {
    let target = group_target(&state, &id);
    guard(&state, &headers, "identity:update_group", target)?;
    let rec = state.store().update_group(&id, body.group)?;
    Ok(Json(GroupResponse {
        group: views(&state).group(&rec),
    }))
}

/// `DELETE /v3/groups/{id}`: its grants and memberships go with it.
pub(crate) async fn delete_group(
    State(state): State<AppState>,
    headers: HeaderMap,
    KsPath(id): KsPath<String>,
) -> ApiResult<StatusCode> {
    let target = group_target(&state, &id);
    guard(&state, &headers, "identity:delete_group", target)?;
    state.store().delete_group(&id)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v3/groups/{id}/users?name=&enabled=&domain_id=`
pub(crate) async fn list_group_users(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: OriginalUri,
    KsPath(id): KsPath<String>,
    KsQuery(q): KsQuery<QueryMap>,
) -> ApiResult<Json<UserList>> {
    let target = group_target(&state, &id);
    let caller = guard(&state, &headers, "identity:list_users_in_group", target)?;
    let store = state.store();
    store.group(&id)?;
    let v = views(&state);
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
    headers: HeaderMap,
    KsPath((group_id, user_id)): KsPath<(String, String)>,
) -> ApiResult<StatusCode> {
    let target = membership_target(&state, &group_id, &user_id);
    guard(&state, &headers, "identity:add_user_to_group", target)?;
    state.store().add_user_to_group(&group_id, &user_id)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET`/`HEAD /v3/groups/{id}/users/{user}`: 204 when the user is a member, else 404.
pub(crate) async fn check_user_in_group(
    State(state): State<AppState>,
    headers: HeaderMap,
    KsPath((group_id, user_id)): KsPath<(String, String)>,
) -> ApiResult<StatusCode> {
    let target = membership_target(&state, &group_id, &user_id);
    guard(&state, &headers, "identity:check_user_in_group", target)?;
    state.store().check_user_in_group(&group_id, &user_id)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /v3/groups/{id}/users/{user}`: 204; the user's tokens are revoked.
pub(crate) async fn remove_user_from_group(
    State(state): State<AppState>,
    headers: HeaderMap,
    KsPath((group_id, user_id)): KsPath<(String, String)>,
) -> ApiResult<StatusCode> {
    let target = membership_target(&state, &group_id, &user_id);
    guard(&state, &headers, "identity:remove_user_from_group", target)?;
    state.store().remove_user_from_group(&group_id, &user_id)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v3/users/{id}/groups?name=`: the user's groups, each with `membership_expires_at`.
pub(crate) async fn list_user_groups(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: OriginalUri,
    KsPath(user_id): KsPath<String>,
    KsQuery(q): KsQuery<QueryMap>,
) -> ApiResult<Json<UserGroupList>> {
    // Keystone's target: the user, and the path's `user_id` (a user may list their own)
    let target = user_target(&state, &user_id).with("user_id", user_id.as_str());
    let caller = guard(&state, &headers, "identity:list_groups_for_user", target)?;
    let store = state.store();
    if !store.users.contains_key(&user_id) {
        return Err(crate::error::ApiError::not_found("user", &user_id));
    }
    let v = views(&state);
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
