//! Keystone's stored blobs over HTTP, in Keystone 30's order of checks: credentials
//! (`/v3/credentials`), the EC2 view of a user's `ec2` credentials
//! (`/v3/users/{id}/credentials/OS-EC2`), policies (`/v3/policies`) and OAuth1 consumers
//! (`/v3/OS-OAUTH1/consumers`; the OAuth1 delegation flow itself is not served).
//!
//! Credentials refuse delegated callers (application credentials, trusts) with Keystone's 403;
//! a list shows a caller only the credentials `identity:get_credential` lets them see.

use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::http::StatusCode;
use keystone_types::resources::{
    ConsumerList, ConsumerResponse, CredentialList, CredentialResponse, Ec2CredentialList,
    Ec2CredentialResponse, PolicyList, PolicyResponse,
};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{Created, created, text};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Checked, KsJson, KsPath, KsQuery, QueryMap, matches, path_and_query};
use crate::policy::{Caller, PolicyTarget};
use crate::schema::{Check, additional_properties, attribute_error, type_message};
use crate::state::{AppState, Authed};
use crate::store::{
    CredentialRec, NewCredential, TokenScope, credential_extra, ec2_id, normalized_extra,
};

/// Keystone's target for a credential: `target.credential.*`, empty when there is none.
fn credential_target(rec: Option<&CredentialRec>) -> PolicyTarget {
    let Some(c) = rec else {
        return PolicyTarget::new();
    };
    PolicyTarget::new()
        .with("target.credential.id", c.id.as_str())
        .with("target.credential.user_id", c.user_id.as_str())
        .with("target.credential.type", c.kind.as_str())
        .with(
            "target.credential.project_id",
            c.project_id.clone().map_or(Value::Null, Value::String),
        )
}

/// Keystone's guard on credentials: a token from an application credential, a trust or any
/// other delegated method may not touch them.
fn not_delegated(caller: &Caller) -> ApiResult<()> {
    if caller.trust_id.is_some() || caller.is_delegated() {
        return Err(ApiError::forbidden(
            "Delegated tokens cannot access credentials directly",
        ));
    }
    Ok(())
}

/// The value at `key` of a credential body, when present, checked against the JSON types it
/// may have.
fn typed<'a>(
    body: &'a Map<String, Value>,
    key: &str,
    types: &[&str],
) -> ApiResult<Option<&'a Value>> {
    let Some(v) = body.get(key) else {
        return Ok(None);
    };
    let ok = types.iter().any(|t| match *t {
        "string" => v.is_string(),
        "null" => v.is_null(),
        _ => false,
    });
    if !ok {
        return Err(attribute_error(key, v, &type_message(v, types)));
    }
    Ok(Some(v))
}

/// The `credential` object of a body, or the validator's 400.
fn credential_object(body: &Map<String, Value>) -> ApiResult<&Map<String, Value>> {
    match body.get("credential") {
        None => Err(ApiError::bad_request("'credential' is a required property")),
        Some(Value::Object(c)) => Ok(c),
        Some(other) => Err(attribute_error(
            "credential",
            other,
            &type_message(other, &["object"]),
        )),
    }
}

/// The body of `POST /v3/credentials`, checked as Keystone's schema checks it (before the
/// token): `blob`, `type` and `user_id` strings, `project_id` a string or null and required
/// for `type` `ec2`; other attributes are kept.
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub(crate) struct CredentialCreateBody(Map<String, Value>);

impl Check for CredentialCreateBody {
    fn check(&self) -> ApiResult<()> {
        let c = credential_object(&self.0)?;
        typed(c, "id", &["string"])?;
        typed(c, "blob", &["string"])?;
        typed(c, "project_id", &["string", "null"])?;
        typed(c, "type", &["string"])?;
        typed(c, "user_id", &["string"])?;
        let mut required = vec!["blob", "type", "user_id"];
        if c.get("type").and_then(Value::as_str) == Some("ec2") {
            required.push("project_id");
        }
        if let Some(missing) = required.iter().find(|k| !c.contains_key(**k)) {
            return Err(attribute_error(
                "credential",
                &Value::Object(c.clone()),
                &format!("'{missing}' is a required property"),
            ));
        }
        Ok(())
    }
}

/// The body of `PATCH /v3/credentials/{id}`: only a `blob` string.
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub(crate) struct CredentialUpdateBody(Map<String, Value>);

impl Check for CredentialUpdateBody {
    fn check(&self) -> ApiResult<()> {
        let c = credential_object(&self.0)?;
        typed(c, "blob", &["string"])?;
        let whole = Value::Object(c.clone());
        let mut extra: Vec<&String> = c.keys().filter(|k| *k != "blob").collect();
        if !extra.is_empty() {
            extra.sort();
            return Err(attribute_error(
                "credential",
                &whole,
                &additional_properties(&extra),
            ));
        }
        if !c.contains_key("blob") {
            return Err(attribute_error(
                "credential",
                &whole,
                "'blob' is a required property",
            ));
        }
        Ok(())
    }
}

/// `POST /v3/credentials`
pub(crate) async fn create_credential(
    State(state): State<AppState>,
    Authed(caller, Checked(CredentialCreateBody(body))): Authed<Checked<CredentialCreateBody>>,
) -> ApiResult<Created<CredentialResponse>> {
    let c = credential_object(&body)?;
    let mut target = PolicyTarget::new();
    for (k, v) in c {
        target = target.with(&format!("target.credential.{k}"), v.clone());
    }
    caller.enforce("identity:create_credential", &target)?;
    not_delegated(&caller)?;
    let rec = state.store().create_credential(NewCredential {
        user_id: text(c, "user_id").unwrap_or_default(),
        project_id: text(c, "project_id"),
        kind: text(c, "type").unwrap_or_default(),
        blob: text(c, "blob").unwrap_or_default().into(),
        extra: credential_extra(c),
    })?;
    Ok(created(CredentialResponse {
        credential: state.views().credential(&rec),
    }))
}

/// `GET /v3/credentials?user_id=&type=`: the credentials the caller may see.
pub(crate) async fn list_credentials(
    State(state): State<AppState>,
    uri: OriginalUri,
    KsQuery(q): KsQuery<QueryMap>,
    caller: Caller,
) -> ApiResult<Json<CredentialList>> {
    let target = if caller.scope == TokenScope::System {
        PolicyTarget::new()
    } else {
        PolicyTarget::new().with("target.credential.user_id", caller.user_id.as_str())
    };
    caller.enforce("identity:list_credentials", &target)?;
    let store = state.store();
    let v = state.views();
    let credentials = store
        .credentials
        .iter()
        .filter(|c| matches(&q, "user_id", Some(&c.user_id)) && matches(&q, "type", Some(&c.kind)))
        .filter(|c| {
            caller
                .enforce("identity:get_credential", &credential_target(Some(c)))
                .is_ok()
                && not_delegated(&caller).is_ok()
        })
        .map(|c| v.credential(c))
        .collect();
    Ok(Json(CredentialList {
        credentials,
        links: v.list_links(&path_and_query(&uri)),
    }))
}

/// The credential `id` after the policy's `rule` (a missing one: a 403 to all but an admin,
/// who gets the 404) and the delegation guard.
fn allowed_credential(
    state: &AppState,
    caller: &Caller,
    rule: &str,
    id: &str,
) -> ApiResult<CredentialRec> {
    let rec = state.store().credential(id).ok().cloned();
    caller.enforce(rule, &credential_target(rec.as_ref()))?;
    let rec = rec.ok_or_else(|| ApiError::not_found("credential", id))?;
    not_delegated(caller)?;
    Ok(rec)
}

/// `GET /v3/credentials/{id}`
pub(crate) async fn get_credential(
    State(state): State<AppState>,
    KsPath(id): KsPath<String>,
    caller: Caller,
) -> ApiResult<Json<CredentialResponse>> {
    let rec = allowed_credential(&state, &caller, "identity:get_credential", &id)?;
    Ok(Json(CredentialResponse {
        credential: state.views().credential(&rec),
    }))
}

/// `PATCH /v3/credentials/{id}`: a new blob (an `ec2` one checked as at creation).
pub(crate) async fn update_credential(
    State(state): State<AppState>,
    KsPath(id): KsPath<String>,
    Authed(caller, Checked(CredentialUpdateBody(body))): Authed<Checked<CredentialUpdateBody>>,
) -> ApiResult<Json<CredentialResponse>> {
    allowed_credential(&state, &caller, "identity:update_credential", &id)?;
    let blob = credential_object(&body)
        .ok()
        .and_then(|c| text(c, "blob"))
        .unwrap_or_default();
    let rec = state.store().update_credential_blob(&id, blob.into())?;
    Ok(Json(CredentialResponse {
        credential: state.views().credential(&rec),
    }))
}

/// `DELETE /v3/credentials/{id}`
pub(crate) async fn delete_credential(
    State(state): State<AppState>,
    KsPath(id): KsPath<String>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    allowed_credential(&state, &caller, "identity:delete_credential", &id)?;
    state.store().delete_credential(&id)?;
    Ok(StatusCode::NO_CONTENT)
}

/// A user named in an OS-EC2 path, or Keystone's 404.
fn user_exists(state: &AppState, user_id: &str) -> ApiResult<()> {
    if !state.store().users.contains_key(user_id) {
        return Err(ApiError::not_found("user", user_id));
    }
    Ok(())
}

/// `GET /v3/users/{user}/credentials/OS-EC2`: the user's `ec2` credentials.
pub(crate) async fn list_ec2_credentials(
    State(state): State<AppState>,
    uri: OriginalUri,
    KsPath(user_id): KsPath<String>,
    caller: Caller,
) -> ApiResult<Json<Ec2CredentialList>> {
    caller.enforce(
        "identity:ec2_list_credentials",
        &PolicyTarget::new().with("user_id", user_id.as_str()),
    )?;
    not_delegated(&caller)?;
    user_exists(&state, &user_id)?;
    let store = state.store();
    let v = state.views();
    let credentials = store
        .credentials
        .iter()
        .filter(|c| c.user_id == user_id && c.kind == "ec2")
        .map(|c| v.ec2_credential(c))
        .collect();
    Ok(Json(Ec2CredentialList {
        credentials,
        links: v.list_links(&path_and_query(&uri)),
    }))
}

/// `POST /v3/users/{user}/credentials/OS-EC2` with `{"tenant_id": ...}`: fresh keys for the
/// user on that project (the caller needs no role there).
pub(crate) async fn create_ec2_credential(
    State(state): State<AppState>,
    KsPath(user_id): KsPath<String>,
    Authed(caller, KsJson(body)): Authed<KsJson<Map<String, Value>>>,
) -> ApiResult<Created<Ec2CredentialResponse>> {
    caller.enforce(
        "identity:ec2_create_credential",
        &PolicyTarget::new()
            .with("user_id", user_id.as_str())
            .with("target.credential.user_id", user_id.as_str()),
    )?;
    user_exists(&state, &user_id)?;
    // Keystone looks the project up by Python's str() of whatever the body holds
    let tenant = keystone_policy::py_str(body.get("tenant_id").unwrap_or(&Value::Null));
    if !state.store().projects.contains_key(&tenant) {
        return Err(ApiError::not_found("project", &tenant));
    }
    not_delegated(&caller)?;
    let rec = state.store().create_ec2_credential(&user_id, &tenant)?;
    Ok(created(Ec2CredentialResponse {
        credential: state.views().ec2_credential(&rec),
    }))
}

/// The `ec2` credential whose access key the path names, after Keystone's checks: its record
/// (404 naming the hashed id, before the policy), `rule`, the path's user, its type (any other
/// than `ec2` is a 401), the delegation guard.
fn allowed_ec2(
    state: &AppState,
    caller: &Caller,
    rule: &str,
    user_id: &str,
    access: &str,
) -> ApiResult<CredentialRec> {
    let rec = state.store().credential(&ec2_id(access))?.clone();
    caller.enforce(
        rule,
        &credential_target(Some(&rec)).with("user_id", user_id),
    )?;
    user_exists(state, user_id)?;
    if rec.kind != "ec2" {
        return Err(ApiError::unauthorized());
    }
    not_delegated(caller)?;
    Ok(rec)
}

/// `GET /v3/users/{user}/credentials/OS-EC2/{access}`
pub(crate) async fn get_ec2_credential(
    State(state): State<AppState>,
    KsPath((user_id, access)): KsPath<(String, String)>,
    caller: Caller,
) -> ApiResult<Json<Ec2CredentialResponse>> {
    let rec = allowed_ec2(
        &state,
        &caller,
        "identity:ec2_get_credential",
        &user_id,
        &access,
    )?;
    Ok(Json(Ec2CredentialResponse {
        credential: state.views().ec2_credential(&rec),
    }))
}

/// `DELETE /v3/users/{user}/credentials/OS-EC2/{access}`
pub(crate) async fn delete_ec2_credential(
    State(state): State<AppState>,
    KsPath((user_id, access)): KsPath<(String, String)>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    let rec = allowed_ec2(
        &state,
        &caller,
        "identity:ec2_delete_credential",
        &user_id,
        &access,
    )?;
    state.store().delete_credential(&rec.id)?;
    Ok(StatusCode::NO_CONTENT)
}

/// The checks Keystone's older validator makes of a policy body, after the policy check:
/// `blob` a string, `type` a string of at most 255 characters; on create both required, on an
/// update at least one attribute. Worded as the fake words that validator (its first line).
fn policy_body(body: &Map<String, Value>, create: bool) -> ApiResult<Map<String, Value>> {
    let policy = match body.get("policy") {
        None => Map::new(),
        Some(Value::Object(p)) => p.clone(),
        Some(other) => {
            return Err(ApiError::bad_request(type_message(other, &["object"])));
        }
    };
    for key in ["blob", "type"] {
        match policy.get(key) {
            Some(v) if !v.is_string() => {
                return Err(ApiError::bad_request(format!(
                    "Invalid input for field '{key}': {}",
                    type_message(v, &["string"])
                )));
            }
            Some(Value::String(s)) if key == "type" && s.chars().count() > 255 => {
                return Err(ApiError::bad_request(format!(
                    "Invalid input for field 'type': {} is too long",
                    keystone_policy::py_repr(&Value::String(s.clone()))
                )));
            }
            _ => {}
        }
    }
    if create {
        if let Some(missing) = ["blob", "type"].iter().find(|k| !policy.contains_key(**k)) {
            return Err(ApiError::bad_request(format!(
                "'{missing}' is a required property"
            )));
        }
    } else if policy.is_empty() {
        return Err(ApiError::bad_request("{} should be non-empty"));
    }
    Ok(policy)
}

/// `GET /v3/policies?type=`
pub(crate) async fn list_policies(
    State(state): State<AppState>,
    uri: OriginalUri,
    KsQuery(q): KsQuery<QueryMap>,
    caller: Caller,
) -> ApiResult<Json<PolicyList>> {
    caller.enforce("identity:list_policies", &PolicyTarget::new())?;
    let store = state.store();
    let v = state.views();
    let policies = store
        .policies
        .iter()
        .filter(|p| matches(&q, "type", Some(&p.kind)))
        .map(|p| v.policy(p))
        .collect();
    Ok(Json(PolicyList {
        policies,
        links: v.list_links(&path_and_query(&uri)),
    }))
}

/// `POST /v3/policies`: a fresh id whatever the body says; other attributes kept.
pub(crate) async fn create_policy(
    State(state): State<AppState>,
    Authed(caller, KsJson(body)): Authed<KsJson<Map<String, Value>>>,
) -> ApiResult<Created<PolicyResponse>> {
    caller.enforce("identity:create_policy", &PolicyTarget::new())?;
    let policy = policy_body(&body, true)?;
    let text = |k: &str| {
        policy
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let extra = normalized_extra(&policy, &["id", "blob", "type"]);
    let rec = state
        .store()
        .create_policy(text("blob"), text("type"), extra);
    Ok(created(PolicyResponse {
        policy: state.views().policy(&rec),
    }))
}

/// `GET /v3/policies/{id}`
pub(crate) async fn get_policy(
    State(state): State<AppState>,
    KsPath(id): KsPath<String>,
    caller: Caller,
) -> ApiResult<Json<PolicyResponse>> {
    caller.enforce("identity:get_policy", &PolicyTarget::new())?;
    let store = state.store();
    Ok(Json(PolicyResponse {
        policy: state.views().policy(store.policy_blob(&id)?),
    }))
}

/// `PATCH /v3/policies/{id}`
pub(crate) async fn update_policy(
    State(state): State<AppState>,
    KsPath(id): KsPath<String>,
    Authed(caller, KsJson(body)): Authed<KsJson<Map<String, Value>>>,
) -> ApiResult<Json<PolicyResponse>> {
    caller.enforce("identity:update_policy", &PolicyTarget::new())?;
    let policy = policy_body(&body, false)?;
    if policy
        .get("id")
        .is_some_and(|v| v.as_str() != Some(id.as_str()))
    {
        return Err(ApiError::bad_request("Cannot change policy ID"));
    }
    let rec = state.store().update_policy(&id, &policy)?;
    Ok(Json(PolicyResponse {
        policy: state.views().policy(&rec),
    }))
}

/// `DELETE /v3/policies/{id}`
pub(crate) async fn delete_policy(
    State(state): State<AppState>,
    KsPath(id): KsPath<String>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    caller.enforce("identity:delete_policy", &PolicyTarget::new())?;
    state.store().delete_policy(&id)?;
    Ok(StatusCode::NO_CONTENT)
}

/// A consumer body as Keystone's older validator checks it, after the policy: `description`
/// a string or null; on an update at least one attribute and no `secret`. Worded as the fake
/// words that validator (its first line).
fn consumer_body(body: &Map<String, Value>, update: bool) -> ApiResult<Map<String, Value>> {
    let consumer = match body.get("consumer") {
        None => Map::new(),
        Some(Value::Object(c)) => c.clone(),
        Some(other) => return Err(ApiError::bad_request(type_message(other, &["object"]))),
    };
    if let Some(d) = consumer.get("description")
        && !(d.is_string() || d.is_null())
    {
        return Err(ApiError::bad_request(format!(
            "Invalid input for field 'description': {}",
            type_message(d, &["string", "null"])
        )));
    }
    if update {
        if consumer.contains_key("secret") {
            return Err(ApiError::bad_request(format!(
                "{} should not be valid under {{'required': ['secret']}}",
                keystone_policy::py_repr(&Value::Object(consumer.clone()))
            )));
        }
        if consumer.is_empty() {
            return Err(ApiError::bad_request("{} should be non-empty"));
        }
    }
    Ok(consumer)
}

/// `GET /v3/OS-OAUTH1/consumers`
pub(crate) async fn list_consumers(
    State(state): State<AppState>,
    uri: OriginalUri,
    caller: Caller,
) -> ApiResult<Json<ConsumerList>> {
    caller.enforce("identity:list_consumers", &PolicyTarget::new())?;
    let store = state.store();
    let v = state.views();
    Ok(Json(ConsumerList {
        consumers: store
            .consumers
            .iter()
            .map(|c| v.consumer(c, false))
            .collect(),
        links: v.list_links(&path_and_query(&uri)),
    }))
}

/// `POST /v3/OS-OAUTH1/consumers`: a fresh id and secret (shown this once); other attributes
/// kept, their names normalized.
pub(crate) async fn create_consumer(
    State(state): State<AppState>,
    Authed(caller, KsJson(body)): Authed<KsJson<Map<String, Value>>>,
) -> ApiResult<Created<ConsumerResponse>> {
    caller.enforce("identity:create_consumer", &PolicyTarget::new())?;
    let consumer = normalized_extra(&consumer_body(&body, false)?, &[]);
    let description = consumer
        .get("description")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let extra = normalized_extra(&consumer, &["id", "description", "secret"]);
    let rec = state.store().create_consumer(description, extra)?;
    Ok(created(ConsumerResponse {
        consumer: state.views().consumer(&rec, true),
    }))
}

/// `GET /v3/OS-OAUTH1/consumers/{id}`
pub(crate) async fn get_consumer(
    State(state): State<AppState>,
    KsPath(id): KsPath<String>,
    caller: Caller,
) -> ApiResult<Json<ConsumerResponse>> {
    caller.enforce("identity:get_consumer", &PolicyTarget::new())?;
    let store = state.store();
    Ok(Json(ConsumerResponse {
        consumer: state.views().consumer(store.consumer(&id)?, false),
    }))
}

/// `PATCH /v3/OS-OAUTH1/consumers/{id}`
pub(crate) async fn update_consumer(
    State(state): State<AppState>,
    KsPath(id): KsPath<String>,
    Authed(caller, KsJson(body)): Authed<KsJson<Map<String, Value>>>,
) -> ApiResult<Json<ConsumerResponse>> {
    caller.enforce("identity:update_consumer", &PolicyTarget::new())?;
    let changes = normalized_extra(&consumer_body(&body, true)?, &[]);
    if changes
        .get("id")
        .is_some_and(|v| !v.is_null() && v.as_str() != Some(id.as_str()))
    {
        return Err(ApiError::bad_request("Cannot change ID"));
    }
    let rec = state.store().update_consumer(&id, &changes)?;
    Ok(Json(ConsumerResponse {
        consumer: state.views().consumer(&rec, false),
    }))
}

/// `DELETE /v3/OS-OAUTH1/consumers/{id}`
pub(crate) async fn delete_consumer(
    State(state): State<AppState>,
    KsPath(id): KsPath<String>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    caller.enforce("identity:delete_consumer", &PolicyTarget::new())?;
    state.store().delete_consumer(&id)?;
    Ok(StatusCode::NO_CONTENT)
}
