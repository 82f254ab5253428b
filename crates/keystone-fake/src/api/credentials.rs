//! Application credentials and their access rules, both under `/v3/users/{user}`.

use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::http::StatusCode;
use keystone_types::resources::*;

use super::{Created, created};
use crate::error::{ApiError, ApiResult};
use crate::extract::{KsJson, KsPath, KsQuery, QueryMap, matches, path_and_query};
use crate::policy::{Caller, PolicyTarget};
use crate::state::{AppState, Authed};

fn owner_target(user_id: &str) -> PolicyTarget {
    PolicyTarget::new().with("user_id", user_id)
}

/// `GET /v3/users/{user}/application_credentials?name=`
pub(crate) async fn list_app_creds(
    State(state): State<AppState>,
    uri: OriginalUri,
    KsPath(user_id): KsPath<String>,
    KsQuery(q): KsQuery<QueryMap>,
    caller: Caller,
) -> ApiResult<Json<ApplicationCredentialList>> {
    caller.enforce(
        "identity:list_application_credentials",
        &owner_target(&user_id),
    )?;
    let store = state.store();
    let v = state.views();
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
    KsPath((user_id, id)): KsPath<(String, String)>,
    caller: Caller,
) -> ApiResult<Json<ApplicationCredentialResponse>> {
    caller.enforce(
        "identity:get_application_credential",
        &owner_target(&user_id),
    )?;
    let store = state.store();
    let c = store
        .app_creds
        .get(&id)
        .filter(|c| c.user_id == user_id)
        .ok_or_else(|| ApiError::not_found("application credential", &id))?;
    Ok(Json(ApplicationCredentialResponse {
        application_credential: state.views().app_cred(&store, c, false),
    }))
}

/// `POST /v3/users/{user}/application_credentials`: 201, the only answer that shows the secret.
pub(crate) async fn create_app_cred(
    State(state): State<AppState>,
    KsPath(user_id): KsPath<String>,
    Authed(caller, KsJson(body)): Authed<KsJson<ApplicationCredentialCreateRequest>>,
) -> ApiResult<Created<ApplicationCredentialResponse>> {
    caller.enforce(
        "identity:create_application_credential",
        &owner_target(&user_id),
    )?;
    let project_id = caller
        .project_id()
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
        application_credential: state.views().app_cred(&store, &rec, true),
    }))
}

/// `DELETE /v3/users/{user}/application_credentials/{id}`
pub(crate) async fn delete_app_cred(
    State(state): State<AppState>,
    KsPath((user_id, id)): KsPath<(String, String)>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    caller.enforce(
        "identity:delete_application_credential",
        &owner_target(&user_id),
    )?;
    state.store().delete_app_cred(&user_id, &id)?;
    Ok(StatusCode::NO_CONTENT)
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
    uri: OriginalUri,
    KsPath(user_id): KsPath<String>,
    KsQuery(q): KsQuery<QueryMap>,
    caller: Caller,
) -> ApiResult<Json<AccessRuleList>> {
    caller.enforce(
        "identity:list_access_rules",
        &access_rule_target(&state, &user_id, None),
    )?;
    let store = state.store();
    let v = state.views();
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
    KsPath((user_id, id)): KsPath<(String, String)>,
    caller: Caller,
) -> ApiResult<Json<AccessRuleResponse>> {
    caller.enforce(
        "identity:get_access_rule",
        &access_rule_target(&state, &user_id, Some(&id)),
    )?;
    let store = state.store();
    let rule = store
        .access_rules
        .get(&id)
        .filter(|r| r.user_id == user_id)
        .ok_or_else(|| ApiError::not_found("Access Rule", &id))?;
    Ok(Json(AccessRuleResponse {
        access_rule: state.views().access_rule(rule),
    }))
}

/// `DELETE /v3/users/{user}/access_rules/{id}`: 204; 403 while a credential uses the rule.
pub(crate) async fn delete_access_rule(
    State(state): State<AppState>,
    KsPath((user_id, id)): KsPath<(String, String)>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    caller.enforce(
        "identity:delete_access_rule",
        &access_rule_target(&state, &user_id, Some(&id)),
    )?;
    state.store().delete_access_rule(&user_id, &id)?;
    Ok(StatusCode::NO_CONTENT)
}
