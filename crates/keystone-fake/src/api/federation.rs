//! OS-FEDERATION's admin API as Keystone 30 serves it: identity providers with their
//! protocols, mappings and service providers, each created by `PUT` with the path's id.
//! Bodies of identity providers, protocols and service providers are checked against
//! Keystone's schemas before the token (its request-body validator, first failure); a
//! mapping's rules are checked after the policy against its schema version, every failure
//! listed (Keystone's `validate_mapping_structure`). Federated login itself is not served.

use axum::Json;
use axum::extract::{FromRequestParts, OriginalUri, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use keystone_types::resources::{
    IdentityProviderList, IdentityProviderResponse, MappingList, MappingResponse, ProtocolList,
    ProtocolResponse, ServiceProviderList, ServiceProviderResponse,
};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{Created, created, text};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Checked, KsJson, KsPath, QueryMap, matches, matches_bool, path_and_query};
use crate::policy::{Caller, PolicyTarget};
use crate::schema::{
    Check, api_boolean_schema, api_boolean_value, first_failure, mapping_failures,
};
use crate::state::{AppState, Authed};
use crate::store::{MappingRec, NewIdp, ProtocolRec, SpRec};

/// The query of the identity provider and service provider lists, read before the token:
/// Keystone's query schema refuses an `enabled` that is not one of its booleans.
#[derive(Debug)]
pub(crate) struct ListQuery(QueryMap);

impl<S: Send + Sync> FromRequestParts<S> for ListQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> ApiResult<Self> {
        let q: QueryMap = axum::extract::Query::try_from_uri(&parts.uri)
            .map(|q| q.0)
            .unwrap_or_default();
        if let Some(v) = q.get("enabled") {
            api_boolean_value("enabled", &Value::String(v.clone()))?;
        }
        Ok(ListQuery(q))
    }
}

/// Whether a record passes the `id` and `enabled` filters (`enabled` as oslo reads it).
fn listed(q: &QueryMap, id: &str, enabled: bool) -> bool {
    matches(q, "id", Some(id)) && matches_bool(q, "enabled", enabled)
}

/// An `enabled` Keystone's schema lets through as a string: its database then refuses it (a
/// 500 there too).
fn stored_boolean(v: Option<&Value>) -> ApiResult<Option<bool>> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(ApiError::internal()),
    }
}

/// A body checked against a schema before the token (see [`Checked`]).
macro_rules! checked_body {
    ($name:ident, $doc:literal, $schema:expr) => {
        #[doc = $doc]
        #[derive(Debug, Deserialize)]
        #[serde(transparent)]
        pub(crate) struct $name(Map<String, Value>);

        impl Check for $name {
            fn check_raw(body: &Value) -> ApiResult<()> {
                first_failure(&$schema, body)
            }

            fn check(&self) -> ApiResult<()> {
                Ok(())
            }
        }
    };
}

fn idp_properties(with_domain: bool) -> Value {
    let mut p = json!({
        "enabled": api_boolean_schema(),
        "description": {"type": ["string", "null"]},
        "authorization_ttl": {"type": ["integer", "null"], "minimum": 0},
        "remote_ids": {"type": ["array", "null"],
            "items": {"type": "string", "maxLength": 64}, "uniqueItems": true},
    });
    if with_domain {
        p["domain_id"] = json!({"type": ["string", "null"], "minLength": 1, "maxLength": 64,
            "pattern": "^[a-zA-Z0-9-]+$"});
    }
    p
}

checked_body!(
    IdpCreateBody,
    "`PUT /v3/OS-FEDERATION/identity_providers/{id}`: nothing required.",
    json!({"type": "object", "properties": {"identity_provider": {"type": "object",
        "properties": idp_properties(true), "additionalProperties": false}},
        "additionalProperties": false})
);
checked_body!(
    IdpUpdateBody,
    "`PATCH /v3/OS-FEDERATION/identity_providers/{id}`: no domain, at least one attribute.",
    json!({"type": "object", "properties": {"identity_provider": {"type": "object",
        "properties": idp_properties(false), "additionalProperties": false,
        "minProperties": 1}}, "required": ["identity_provider"]})
);

fn protocol_schema(update: bool) -> Value {
    let remote = if update {
        json!({"type": "string", "maxLength": 64})
    } else {
        json!({"type": ["string", "null"], "maxLength": 64})
    };
    let mut protocol = json!({"type": "object", "properties": {
        "mapping_id": {"type": "string", "minLength": 1, "maxLength": 64},
        "remote_id_attribute": remote}, "additionalProperties": false});
    if update {
        protocol["minProperties"] = json!(1);
    }
    protocol["required"] = json!(["mapping_id"]);
    json!({"type": "object", "properties": {"protocol": protocol}, "required": ["protocol"],
        "additionalProperties": false})
}

checked_body!(
    ProtocolCreateBody,
    "`PUT .../protocols/{id}`: a mapping.",
    protocol_schema(false)
);
checked_body!(
    ProtocolUpdateBody,
    "`PATCH .../protocols/{id}`: a mapping again, and optionally the remote id attribute.",
    protocol_schema(true)
);

fn sp_properties() -> Value {
    let url = json!({"type": "string", "minLength": 0, "maxLength": 225,
        "pattern": "^[a-zA-Z0-9+.-]+:.+"});
    json!({"auth_url": url, "sp_url": url, "description": {"type": ["string", "null"]},
        "enabled": api_boolean_schema(), "relay_state_prefix": {"type": ["string", "null"]}})
}

checked_body!(
    SpCreateBody,
    "`PUT /v3/OS-FEDERATION/service_providers/{id}`: two URLs.",
    json!({"type": "object", "properties": {"service_provider": {"type": "object",
        "properties": sp_properties(), "required": ["auth_url", "sp_url"],
        "additionalProperties": false}}, "required": ["service_provider"],
        "additionalProperties": false})
);
checked_body!(
    SpUpdateBody,
    "`PATCH /v3/OS-FEDERATION/service_providers/{id}`: at least one attribute.",
    json!({"type": "object", "properties": {"service_provider": {"type": "object",
        "properties": sp_properties(), "additionalProperties": false, "minProperties": 1}},
        "required": ["service_provider"], "additionalProperties": false})
);

/// The object under `key` of a checked body (an empty one when absent).
fn inner(body: &Map<String, Value>, key: &str) -> Map<String, Value> {
    body.get(key)
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

/// The `remote_ids` of a body: as given, none for `null` or absent.
fn remote_ids(body: &Map<String, Value>) -> Vec<String> {
    body.get("remote_ids")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

fn rule(caller: &Caller, name: &str) -> ApiResult<()> {
    caller.enforce(&format!("identity:{name}"), &PolicyTarget::new())
}

/// `GET /v3/OS-FEDERATION/identity_providers?id=&enabled=`
pub(crate) async fn list_idps(
    State(state): State<AppState>,
    uri: OriginalUri,
    ListQuery(q): ListQuery,
    caller: Caller,
) -> ApiResult<Json<IdentityProviderList>> {
    rule(&caller, "list_identity_providers")?;
    let store = state.store();
    let v = state.views();
    Ok(Json(IdentityProviderList {
        identity_providers: store
            .idps
            .iter()
            .filter(|i| listed(&q, &i.id, i.enabled))
            .map(|i| v.idp(i, false, true))
            .collect(),
        links: v.list_links(&path_and_query(&uri)),
    }))
}

/// `PUT /v3/OS-FEDERATION/identity_providers/{id}`
pub(crate) async fn create_idp(
    State(state): State<AppState>,
    KsPath(id): KsPath<String>,
    Authed(caller, Checked(IdpCreateBody(body))): Authed<Checked<IdpCreateBody>>,
) -> ApiResult<Created<IdentityProviderResponse>> {
    rule(&caller, "create_identity_provider")?;
    let idp = inner(&body, "identity_provider");
    let enabled = stored_boolean(idp.get("enabled"))?.unwrap_or(false);
    let rec = state.store().create_idp(NewIdp {
        id,
        // absent, null or empty: Keystone makes a domain for it
        domain_id: text(&idp, "domain_id").filter(|d| !d.is_empty()),
        enabled,
        description: text(&idp, "description"),
        remote_ids: remote_ids(&idp),
        authorization_ttl: idp.get("authorization_ttl").and_then(Value::as_i64),
    })?;
    Ok(created(IdentityProviderResponse {
        identity_provider: state.views().idp(&rec, true, false),
    }))
}

/// `GET /v3/OS-FEDERATION/identity_providers/{id}`
pub(crate) async fn get_idp(
    State(state): State<AppState>,
    KsPath(id): KsPath<String>,
    caller: Caller,
) -> ApiResult<Json<IdentityProviderResponse>> {
    rule(&caller, "get_identity_provider")?;
    let store = state.store();
    Ok(Json(IdentityProviderResponse {
        identity_provider: state.views().idp(store.idp(&id)?, false, false),
    }))
}

/// `PATCH /v3/OS-FEDERATION/identity_providers/{id}`
pub(crate) async fn update_idp(
    State(state): State<AppState>,
    KsPath(id): KsPath<String>,
    Authed(caller, Checked(IdpUpdateBody(body))): Authed<Checked<IdpUpdateBody>>,
) -> ApiResult<Json<IdentityProviderResponse>> {
    rule(&caller, "update_identity_provider")?;
    let changes = inner(&body, "identity_provider");
    state.store().idp(&id)?;
    stored_boolean(changes.get("enabled"))?;
    let rec = state.store().update_idp(&id, &changes)?;
    Ok(Json(IdentityProviderResponse {
        identity_provider: state
            .views()
            .idp(&rec, changes.contains_key("remote_ids"), false),
    }))
}

/// `DELETE /v3/OS-FEDERATION/identity_providers/{id}`
pub(crate) async fn delete_idp(
    State(state): State<AppState>,
    KsPath(id): KsPath<String>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    rule(&caller, "delete_identity_provider")?;
    state.store().delete_idp(&id)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET .../identity_providers/{id}/protocols` (an unknown provider has none).
pub(crate) async fn list_protocols(
    State(state): State<AppState>,
    uri: OriginalUri,
    KsPath(idp_id): KsPath<String>,
    caller: Caller,
) -> ApiResult<Json<ProtocolList>> {
    rule(&caller, "list_protocols")?;
    let store = state.store();
    let v = state.views();
    Ok(Json(ProtocolList {
        protocols: store
            .protocols
            .iter()
            .filter(|p| p.idp_id == idp_id)
            .map(|p| v.protocol(p, true))
            .collect(),
        links: v.list_links(&path_and_query(&uri)),
    }))
}

/// `PUT .../identity_providers/{idp}/protocols/{id}`
pub(crate) async fn create_protocol(
    State(state): State<AppState>,
    KsPath((idp_id, id)): KsPath<(String, String)>,
    Authed(caller, Checked(ProtocolCreateBody(body))): Authed<Checked<ProtocolCreateBody>>,
) -> ApiResult<Created<ProtocolResponse>> {
    rule(&caller, "create_protocol")?;
    let p = inner(&body, "protocol");
    let rec = state.store().create_protocol(ProtocolRec {
        idp_id,
        id,
        mapping_id: text(&p, "mapping_id").unwrap_or_default(),
        remote_id_attribute: text(&p, "remote_id_attribute"),
    })?;
    Ok(created(ProtocolResponse {
        protocol: state.views().protocol(&rec, false),
    }))
}

/// `GET .../identity_providers/{idp}/protocols/{id}`
pub(crate) async fn get_protocol(
    State(state): State<AppState>,
    KsPath((idp_id, id)): KsPath<(String, String)>,
    caller: Caller,
) -> ApiResult<Json<ProtocolResponse>> {
    rule(&caller, "get_protocol")?;
    let store = state.store();
    Ok(Json(ProtocolResponse {
        protocol: state.views().protocol(store.protocol(&idp_id, &id)?, false),
    }))
}

/// `PATCH .../identity_providers/{idp}/protocols/{id}`
pub(crate) async fn update_protocol(
    State(state): State<AppState>,
    KsPath((idp_id, id)): KsPath<(String, String)>,
    Authed(caller, Checked(ProtocolUpdateBody(body))): Authed<Checked<ProtocolUpdateBody>>,
) -> ApiResult<Json<ProtocolResponse>> {
    rule(&caller, "update_protocol")?;
    let p = inner(&body, "protocol");
    let rec = state.store().update_protocol(
        &idp_id,
        &id,
        &text(&p, "mapping_id").unwrap_or_default(),
        text(&p, "remote_id_attribute"),
    )?;
    Ok(Json(ProtocolResponse {
        protocol: state.views().protocol(&rec, false),
    }))
}

/// `DELETE .../identity_providers/{idp}/protocols/{id}`
pub(crate) async fn delete_protocol(
    State(state): State<AppState>,
    KsPath((idp_id, id)): KsPath<(String, String)>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    rule(&caller, "delete_protocol")?;
    state.store().delete_protocol(&idp_id, &id)?;
    Ok(StatusCode::NO_CONTENT)
}

/// A mapping body as Keystone reads it, after the policy: `mapping` (an empty one when
/// absent), its `schema_version` (`1.0` when empty), then its rules against that version's
/// schema: every failure, sorted, each on its own line.
fn mapping_body(body: &Map<String, Value>) -> ApiResult<(Value, String)> {
    let mut mapping = match body.get("mapping") {
        None => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        // Keystone fails normalizing anything else
        Some(_) => return Err(ApiError::internal()),
    };
    let truthy = match mapping.get("schema_version") {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64() != Some(0.0),
        Some(_) => true,
    };
    if !truthy {
        mapping.insert("schema_version".into(), Value::from("1.0"));
    }
    // a version that is not a known string: Keystone's KeyError
    let version = mapping
        .get("schema_version")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(ApiError::internal)?;
    let whole = Value::Object(mapping.clone());
    if let Some(messages) = mapping_failures(&whole, &version)? {
        return Err(ApiError::bad_request(messages));
    }
    Ok((
        mapping.get("rules").cloned().unwrap_or(Value::Null),
        version,
    ))
}

/// `GET /v3/OS-FEDERATION/mappings`
pub(crate) async fn list_mappings(
    State(state): State<AppState>,
    uri: OriginalUri,
    caller: Caller,
) -> ApiResult<Json<MappingList>> {
    rule(&caller, "list_mappings")?;
    let store = state.store();
    let v = state.views();
    Ok(Json(MappingList {
        mappings: store.mappings.iter().map(|m| v.mapping(m)).collect(),
        links: v.list_links(&path_and_query(&uri)),
    }))
}

/// `PUT /v3/OS-FEDERATION/mappings/{id}`
pub(crate) async fn create_mapping(
    State(state): State<AppState>,
    KsPath(id): KsPath<String>,
    caller: Caller,
    KsJson(body): KsJson<Map<String, Value>>,
) -> ApiResult<Created<MappingResponse>> {
    rule(&caller, "create_mapping")?;
    let (rules, schema_version) = mapping_body(&body)?;
    // Keystone words the conflict from the body it was given
    let given = inner(&body, "mapping");
    let conflict = match (given.get("name"), given.get("id")) {
        (Some(name), _) => format!(
            "Duplicate entry found with name {}",
            keystone_policy::py_str(name)
        ),
        (None, Some(id)) => format!(
            "Duplicate entry found with ID {}",
            keystone_policy::py_str(id)
        ),
        (None, None) => "Duplicate entry".to_owned(),
    };
    let rec = state.store().create_mapping(
        MappingRec {
            id,
            rules,
            schema_version,
        },
        &conflict,
    )?;
    Ok(created(MappingResponse {
        mapping: state.views().mapping(&rec),
    }))
}

/// `GET /v3/OS-FEDERATION/mappings/{id}`
pub(crate) async fn get_mapping(
    State(state): State<AppState>,
    KsPath(id): KsPath<String>,
    caller: Caller,
) -> ApiResult<Json<MappingResponse>> {
    rule(&caller, "get_mapping")?;
    let store = state.store();
    Ok(Json(MappingResponse {
        mapping: state.views().mapping(store.mapping(&id)?),
    }))
}

/// `PATCH /v3/OS-FEDERATION/mappings/{id}`: new rules (a missing `schema_version` is `1.0`
/// again, as in Keystone).
pub(crate) async fn update_mapping(
    State(state): State<AppState>,
    KsPath(id): KsPath<String>,
    caller: Caller,
    KsJson(body): KsJson<Map<String, Value>>,
) -> ApiResult<Json<MappingResponse>> {
    rule(&caller, "update_mapping")?;
    let (rules, schema_version) = mapping_body(&body)?;
    let rec = state.store().update_mapping(&id, rules, schema_version)?;
    Ok(Json(MappingResponse {
        mapping: state.views().mapping(&rec),
    }))
}

/// `DELETE /v3/OS-FEDERATION/mappings/{id}`
pub(crate) async fn delete_mapping(
    State(state): State<AppState>,
    KsPath(id): KsPath<String>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    rule(&caller, "delete_mapping")?;
    state.store().delete_mapping(&id)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v3/OS-FEDERATION/service_providers?id=&enabled=`
pub(crate) async fn list_sps(
    State(state): State<AppState>,
    uri: OriginalUri,
    ListQuery(q): ListQuery,
    caller: Caller,
) -> ApiResult<Json<ServiceProviderList>> {
    rule(&caller, "list_service_providers")?;
    let store = state.store();
    let v = state.views();
    Ok(Json(ServiceProviderList {
        service_providers: store
            .sps
            .iter()
            .filter(|s| listed(&q, &s.id, s.enabled))
            .map(|s| v.sp(s))
            .collect(),
        links: v.list_links(&path_and_query(&uri)),
    }))
}

/// `PUT /v3/OS-FEDERATION/service_providers/{id}`
pub(crate) async fn create_sp(
    State(state): State<AppState>,
    KsPath(id): KsPath<String>,
    Authed(caller, Checked(SpCreateBody(body))): Authed<Checked<SpCreateBody>>,
) -> ApiResult<Created<ServiceProviderResponse>> {
    rule(&caller, "create_service_provider")?;
    let sp = inner(&body, "service_provider");
    let enabled = stored_boolean(sp.get("enabled"))?.unwrap_or(false);
    // only an absent prefix takes the default; a null one Keystone's database refuses
    let relay_state_prefix = match sp.get("relay_state_prefix") {
        None => "ss:mem:".to_owned(),
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(ApiError::internal()),
    };
    let rec = state.store().create_sp(SpRec {
        id,
        enabled,
        description: text(&sp, "description"),
        auth_url: text(&sp, "auth_url").unwrap_or_default(),
        sp_url: text(&sp, "sp_url").unwrap_or_default(),
        relay_state_prefix,
    })?;
    Ok(created(ServiceProviderResponse {
        service_provider: state.views().sp(&rec),
    }))
}

/// `GET /v3/OS-FEDERATION/service_providers/{id}`
pub(crate) async fn get_sp(
    State(state): State<AppState>,
    KsPath(id): KsPath<String>,
    caller: Caller,
) -> ApiResult<Json<ServiceProviderResponse>> {
    rule(&caller, "get_service_provider")?;
    let store = state.store();
    Ok(Json(ServiceProviderResponse {
        service_provider: state.views().sp(store.sp(&id)?),
    }))
}

/// `PATCH /v3/OS-FEDERATION/service_providers/{id}`
pub(crate) async fn update_sp(
    State(state): State<AppState>,
    KsPath(id): KsPath<String>,
    Authed(caller, Checked(SpUpdateBody(body))): Authed<Checked<SpUpdateBody>>,
) -> ApiResult<Json<ServiceProviderResponse>> {
    rule(&caller, "update_service_provider")?;
    let changes = inner(&body, "service_provider");
    state.store().sp(&id)?;
    stored_boolean(changes.get("enabled"))?;
    if changes
        .get("relay_state_prefix")
        .is_some_and(Value::is_null)
    {
        return Err(ApiError::internal());
    }
    let rec = state.store().update_sp(&id, &changes)?;
    Ok(Json(ServiceProviderResponse {
        service_provider: state.views().sp(&rec),
    }))
}

/// `DELETE /v3/OS-FEDERATION/service_providers/{id}`
pub(crate) async fn delete_sp(
    State(state): State<AppState>,
    KsPath(id): KsPath<String>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    rule(&caller, "delete_service_provider")?;
    state.store().delete_sp(&id)?;
    Ok(StatusCode::NO_CONTENT)
}
