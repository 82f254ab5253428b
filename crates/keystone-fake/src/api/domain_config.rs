//! Domain configuration (`/v3/domains/{id}/config[/{group}[/{option}]]` and the defaults at
//! `/v3/domains/config[/{group}[/{option}]]/default`), as Keystone 30 serves it: the policy
//! first (no target), then the domain (never on a read: a missing domain has no options), then
//! Keystone's checks of the groups and options (`identity` and `ldap` only, each refusal a 403),
//! stored and shown by the store. The default domain's `security_compliance` group is readable
//! by any caller, under its own rule.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use keystone_types::resources::DomainConfigResponse;
use serde_json::{Map, Value};

use crate::error::ApiResult;
use crate::extract::{KsJson, KsPath};
use crate::policy::{Caller, PolicyTarget};
use crate::state::{AppState, Authed};
use crate::store::{SECURITY_COMPLIANCE_GROUP, default_domain_config, security_compliance_config};

/// A request body, whatever it holds: Keystone reads its `config` only.
type Body = Authed<KsJson<Map<String, Value>>>;

/// The answer `{"config": …}`.
fn answer(config: Map<String, Value>) -> Json<DomainConfigResponse> {
    Json(DomainConfigResponse { config })
}

/// Reads a domain's config, a group or an option (the security compliance group its own way).
fn read(
    state: &AppState,
    caller: &Caller,
    domain_id: &str,
    group: Option<&str>,
    option: Option<&str>,
) -> ApiResult<Json<DomainConfigResponse>> {
    if group == Some(SECURITY_COMPLIANCE_GROUP) {
        caller.enforce(
            "identity:get_security_compliance_domain_config",
            &PolicyTarget::new(),
        )?;
        return security_compliance_config(domain_id, option).map(answer);
    }
    caller.enforce("identity:get_domain_config", &PolicyTarget::new())?;
    let config = state.store().domain_config(domain_id, group, option)?;
    Ok(answer(config))
}

/// Changes a domain's config, a group or an option; answers the whole config.
fn update(
    state: &AppState,
    caller: &Caller,
    body: &Map<String, Value>,
    domain_id: &str,
    group: Option<&str>,
    option: Option<&str>,
) -> ApiResult<Json<DomainConfigResponse>> {
    caller.enforce("identity:update_domain_config", &PolicyTarget::new())?;
    let config =
        state
            .store()
            .update_domain_config(domain_id, body.get("config"), group, option)?;
    Ok(answer(config))
}

/// Deletes a domain's config, a group or an option.
fn delete(
    state: &AppState,
    caller: &Caller,
    domain_id: &str,
    group: Option<&str>,
    option: Option<&str>,
) -> ApiResult<StatusCode> {
    caller.enforce("identity:delete_domain_config", &PolicyTarget::new())?;
    state
        .store()
        .delete_domain_config(domain_id, group, option)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Keystone's defaults, all, a group's or an option's.
fn defaults(
    caller: &Caller,
    group: Option<&str>,
    option: Option<&str>,
) -> ApiResult<Json<DomainConfigResponse>> {
    caller.enforce("identity:get_domain_config_default", &PolicyTarget::new())?;
    default_domain_config(group, option).map(answer)
}

/// `GET /v3/domains/{id}/config`
pub(crate) async fn get_config(
    State(state): State<AppState>,
    KsPath(id): KsPath<String>,
    caller: Caller,
) -> ApiResult<Json<DomainConfigResponse>> {
    read(&state, &caller, &id, None, None)
}

/// `PUT /v3/domains/{id}/config`: replaces the whole config; a 201 when the domain had none
/// (sensitive options count), else a 200.
pub(crate) async fn put_config(
    State(state): State<AppState>,
    KsPath(id): KsPath<String>,
    Authed(caller, KsJson(body)): Body,
) -> ApiResult<(StatusCode, Json<DomainConfigResponse>)> {
    caller.enforce("identity:create_domain_config", &PolicyTarget::new())?;
    let (existed, config) = state
        .store()
        .create_domain_config(&id, body.get("config"))?;
    let status = if existed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, answer(config)))
}

/// `PATCH /v3/domains/{id}/config`
pub(crate) async fn patch_config(
    State(state): State<AppState>,
    KsPath(id): KsPath<String>,
    Authed(caller, KsJson(body)): Body,
) -> ApiResult<Json<DomainConfigResponse>> {
    update(&state, &caller, &body, &id, None, None)
}

/// `DELETE /v3/domains/{id}/config`
pub(crate) async fn delete_config(
    State(state): State<AppState>,
    KsPath(id): KsPath<String>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    delete(&state, &caller, &id, None, None)
}

/// `GET /v3/domains/{id}/config/{group}`
pub(crate) async fn get_group(
    State(state): State<AppState>,
    KsPath((id, group)): KsPath<(String, String)>,
    caller: Caller,
) -> ApiResult<Json<DomainConfigResponse>> {
    read(&state, &caller, &id, Some(&group), None)
}

/// `PATCH /v3/domains/{id}/config/{group}`
pub(crate) async fn patch_group(
    State(state): State<AppState>,
    KsPath((id, group)): KsPath<(String, String)>,
    Authed(caller, KsJson(body)): Body,
) -> ApiResult<Json<DomainConfigResponse>> {
    update(&state, &caller, &body, &id, Some(&group), None)
}

/// `DELETE /v3/domains/{id}/config/{group}`
pub(crate) async fn delete_group(
    State(state): State<AppState>,
    KsPath((id, group)): KsPath<(String, String)>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    delete(&state, &caller, &id, Some(&group), None)
}

/// `GET /v3/domains/{id}/config/{group}/{option}`
pub(crate) async fn get_option(
    State(state): State<AppState>,
    KsPath((id, group, option)): KsPath<(String, String, String)>,
    caller: Caller,
) -> ApiResult<Json<DomainConfigResponse>> {
    read(&state, &caller, &id, Some(&group), Some(&option))
}

/// `PATCH /v3/domains/{id}/config/{group}/{option}`: the body's `config` is the option alone.
pub(crate) async fn patch_option(
    State(state): State<AppState>,
    KsPath((id, group, option)): KsPath<(String, String, String)>,
    Authed(caller, KsJson(body)): Body,
) -> ApiResult<Json<DomainConfigResponse>> {
    update(&state, &caller, &body, &id, Some(&group), Some(&option))
}

/// `DELETE /v3/domains/{id}/config/{group}/{option}`
pub(crate) async fn delete_option(
    State(state): State<AppState>,
    KsPath((id, group, option)): KsPath<(String, String, String)>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    delete(&state, &caller, &id, Some(&group), Some(&option))
}

/// `GET /v3/domains/config/default`
pub(crate) async fn get_default(caller: Caller) -> ApiResult<Json<DomainConfigResponse>> {
    defaults(&caller, None, None)
}

/// `GET /v3/domains/config/{group}/default`
pub(crate) async fn get_default_group(
    KsPath(group): KsPath<String>,
    caller: Caller,
) -> ApiResult<Json<DomainConfigResponse>> {
    defaults(&caller, Some(&group), None)
}

/// `GET /v3/domains/config/{group}/{option}/default`
pub(crate) async fn get_default_option(
    KsPath((group, option)): KsPath<(String, String)>,
    caller: Caller,
) -> ApiResult<Json<DomainConfigResponse>> {
    defaults(&caller, Some(&group), Some(&option))
}
