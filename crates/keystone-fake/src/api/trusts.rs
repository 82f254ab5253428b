//! Trusts (`/v3/OS-TRUST/trusts`): a trustor delegates roles on a project to a trustee, who
//! then gets tokens scoped to the trust (see `Store::issue`). Authorized with Keystone's
//! default rules and its own checks: only the trustor creates a trust, the trustor, the trustee,
//! an admin or a system reader reads it, the trustor or an admin deletes it, and no token of a
//! delegated credential (an application credential) manages trusts at all.

use axum::Json;
use axum::extract::{FromRequest, OriginalUri, Request, State};
use axum::http::StatusCode;
use keystone_types::resources::{
    RoleList, RoleResponse, TrustCreateRequest, TrustList, TrustResponse,
};
use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};
use crate::extract::{KsJson, KsPath, KsQuery, QueryMap, json_from_value, path_and_query};
use crate::policy::{Caller, PolicyTarget};
use crate::state::{AppState, Authed};
use crate::store::{NewTrust, TokenScope, TrustRec};

/// Checks `rule` as Keystone 30.0.0 does, scope types included (oslo.policy enforces them):
/// the trust rules are for system and project scope (an unscoped token counts as a project
/// one), `identity:create_trust` for project scope only; a token of another scope is refused
/// as the rule itself would refuse it.
fn authorize(
    rule: &str,
    caller: &Caller,
    target: &PolicyTarget,
    system_allowed: bool,
) -> ApiResult<()> {
    match caller.scope {
        TokenScope::Domain(_) => return Err(ApiError::forbidden(rule)),
        TokenScope::System if !system_allowed => return Err(ApiError::forbidden(rule)),
        _ => {}
    }
    caller.enforce(rule, target)
}

/// Keystone's `_check_delegated_token`: a token of a delegated credential (an application
/// credential, restricted or not) manages no trusts. A trust-scoped token may.
fn refuse_delegated(caller: &Caller) -> ApiResult<()> {
    if caller.is_delegated() {
        return Err(ApiError::forbidden(
            "Delegated tokens cannot manage trusts.",
        ));
    }
    Ok(())
}

/// The live trust `id`, once the caller may act on it with `rule`: 404 for a trust unknown,
/// deleted, expired or used up (whoever asks), then the rule, then no delegated token.
fn allowed_trust(state: &AppState, caller: &Caller, id: &str, rule: &str) -> ApiResult<TrustRec> {
    let trust = live_trust(state, id)?;
    authorize(rule, caller, &trust_target(&trust), true)?;
    refuse_delegated(caller)?;
    Ok(trust)
}

/// The policy target Keystone builds from a trust (`target.trust.*`).
fn trust_target(t: &TrustRec) -> PolicyTarget {
    PolicyTarget::new()
        .with("target.trust.id", t.id.as_str())
        .with("target.trust.trustor_user_id", t.trustor_user_id.as_str())
        .with("target.trust.trustee_user_id", t.trustee_user_id.as_str())
        .with_opt("target.trust.project_id", t.project_id.as_deref())
}

/// A trust that can still be used, or Keystone's 404 (also for one expired, used up or
/// deleted), looked up before the policy is checked, as Keystone builds its target from it.
/// A redelegated trust with a trustee up its chain disabled or deleted is a 403 to anyone,
/// admins included, worded as Keystone words a security error (nothing disclosed).
fn live_trust(state: &AppState, id: &str) -> ApiResult<TrustRec> {
    let store = state.store();
    let trust = store
        .live_trust(id, state.clock.now())
        .cloned()
        .ok_or_else(|| ApiError::not_found("trust", id))?;
    if !store.trust_agents_enabled(&trust) {
        return Err(ApiError::forbidden_undisclosed());
    }
    Ok(trust)
}

/// The attributes of a trust Keystone knows; any other is kept and echoed.
const TRUST_ATTRIBUTES: [&str; 14] = [
    "id",
    "trustor_user_id",
    "trustee_user_id",
    "project_id",
    "impersonation",
    "expires_at",
    "remaining_uses",
    "roles",
    "allow_redelegation",
    "redelegation_count",
    "redelegated_trust_id",
    "deleted_at",
    "links",
    "roles_links",
];

/// The 400 for a value Keystone's trust schema refuses: naming the attribute, as the fake's
/// other 400s do, but never quoting the value (Keystone's newer validator quotes it).
fn invalid(field: &str, reason: &str) -> ApiError {
    ApiError::bad_request(format!("Invalid input for field '{field}': {reason}"))
}

/// A trust create request, read as [`new_trust`] reads it: a request whose body Keystone refuses
/// is a 400 whatever its token.
#[derive(Debug)]
pub(crate) struct TrustBody(NewTrust);

impl<S: Send + Sync> FromRequest<S> for TrustBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> ApiResult<Self> {
        let KsJson(body) = KsJson::<Value>::from_request(req, state).await?;
        new_trust(&body).map(TrustBody)
    }
}

/// Reads a create request as Keystone's schema reads it: the typed attributes, then what the
/// types do not say (`remaining_uses` at least 1, each role named by exactly one of `id` and
/// `name`, the redelegation attributes), and the unknown attributes, kept.
fn new_trust(body: &Value) -> ApiResult<NewTrust> {
    let request: TrustCreateRequest = json_from_value(body)?;
    let raw = body
        .get("trust")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    if request.trust.remaining_uses == Some(0) {
        return Err(invalid(
            "remaining_uses",
            "the value is less than the minimum of 1",
        ));
    }
    let roles = raw.get("roles").and_then(Value::as_array);
    for (i, role) in roles.into_iter().flatten().enumerate() {
        let Some(named) = role.as_object() else {
            continue; // the typed body refused it already
        };
        let reason = match named.len() {
            0 => "the value should be non-empty".to_owned(),
            1 if named.contains_key("id") || named.contains_key("name") => continue,
            1 => format!(
                "Additional properties are not allowed ({} was unexpected)",
                named.keys().map(|k| format!("'{k}'")).collect::<String>()
            ),
            _ => "the value has too many properties".to_owned(),
        };
        return Err(invalid(&format!("roles/{i}"), &reason));
    }
    let allow_redelegation = match raw.get("allow_redelegation") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(allow)) => *allow,
        Some(_) => {
            return Err(invalid(
                "allow_redelegation",
                "the value is not valid: expected a boolean or null",
            ));
        }
    };
    let redelegation_count = match raw.get("redelegation_count") {
        None | Some(Value::Null) => None,
        Some(count) => Some(count.as_u64().ok_or_else(|| {
            invalid(
                "redelegation_count",
                "the value is not valid: expected an integer of at least 0 or null",
            )
        })?),
    };
    let extra: Map<String, Value> = raw
        .into_iter()
        .filter(|(k, _)| !TRUST_ATTRIBUTES.contains(&k.as_str()))
        .collect();
    Ok(NewTrust {
        create: request.trust,
        allow_redelegation,
        redelegation_count,
        extra,
    })
}

/// `POST /v3/OS-TRUST/trusts`: 201 with the trust. The caller must be its trustor (403, the
/// policy's), with a project-scoped (or unscoped) token of their own (not an application
/// credential's, 403); a trust with a project needs a role (403, "At least one role should
/// be specified"); the rest is checked as `Store::create_trust` says.
pub(crate) async fn create_trust(
    State(state): State<AppState>,
    Authed(caller, TrustBody(new)): Authed<TrustBody>,
) -> ApiResult<(StatusCode, Json<TrustResponse>)> {
    let c = &new.create;
    authorize(
        "identity:create_trust",
        &caller,
        &PolicyTarget::new()
            .with("target.trust.trustor_user_id", c.trustor_user_id.as_str())
            .with("target.trust.trustee_user_id", c.trustee_user_id.as_str())
            .with_opt("target.trust.project_id", c.project_id.as_deref()),
        false,
    )?;
    refuse_delegated(&caller)?;
    if c.project_id.as_deref().is_some_and(|p| !p.is_empty()) && c.roles.is_empty() {
        return Err(ApiError::forbidden("At least one role should be specified"));
    }
    let mut store = state.store();
    let rec = store.create_trust(new, caller.trust_id.as_deref(), state.clock.now())?;
    let trust = state.views().trust(&store, &rec, false);
    Ok((StatusCode::CREATED, Json(TrustResponse { trust })))
}

/// `GET /v3/OS-TRUST/trusts[?trustor_user_id=|?trustee_user_id=]`. As in Keystone: a user
/// lists the trusts they are the trustor (or the trustee) of with that filter, and only an
/// admin or a system reader lists them all; the trustor filter wins over the trustee one, and
/// any other query lists nothing. Trusts expired or used up are listed, deleted ones not.
pub(crate) async fn list_trusts(
    State(state): State<AppState>,
    uri: OriginalUri,
    KsQuery(q): KsQuery<QueryMap>,
    caller: Caller,
) -> ApiResult<Json<TrustList>> {
    let filter = |name: &str| q.get(name).filter(|v| !v.is_empty()).cloned();
    let (trustor, trustee) = (filter("trustor_user_id"), filter("trustee_user_id"));
    let (rule, target) = match (&trustor, &trustee) {
        (Some(id), _) => (
            "identity:list_trusts_for_trustor",
            PolicyTarget::new().with("target.trust.trustor_user_id", id.as_str()),
        ),
        (None, Some(id)) => (
            "identity:list_trusts_for_trustee",
            PolicyTarget::new().with("target.trust.trustee_user_id", id.as_str()),
        ),
        (None, None) => ("identity:list_trusts", PolicyTarget::new()),
    };
    authorize(rule, &caller, &target, true)?;
    refuse_delegated(&caller)?;
    let store = state.store();
    let v = state.views();
    let listed = |t: &&TrustRec| match (&trustor, &trustee) {
        _ if t.deleted => false,
        (Some(id), _) => &t.trustor_user_id == id,
        (None, Some(id)) => &t.trustee_user_id == id,
        (None, None) => q.is_empty(),
    };
    let trusts = store
        .trusts
        .iter()
        .filter(listed)
        .map(|t| v.trust(&store, t, true))
        .collect();
    Ok(Json(TrustList {
        trusts,
        links: v.list_links(&path_and_query(&uri)),
    }))
}

/// `GET`/`HEAD /v3/OS-TRUST/trusts/{id}`: for its trustor, its trustee, an admin or a system
/// reader (403 otherwise); 404 for a trust unknown, deleted, expired or used up, whoever asks.
pub(crate) async fn get_trust(
    State(state): State<AppState>,
    KsPath(id): KsPath<String>,
    caller: Caller,
) -> ApiResult<Json<TrustResponse>> {
    let trust = allowed_trust(&state, &caller, &id, "identity:get_trust")?;
    let store = state.store();
    Ok(Json(TrustResponse {
        trust: state.views().trust(&store, &trust, false),
    }))
}

/// `DELETE /v3/OS-TRUST/trusts/{id}`: 204, by its trustor or an admin (403 otherwise); the
/// tokens of the trust no longer validate (404, "Could not find trust").
pub(crate) async fn delete_trust(
    State(state): State<AppState>,
    KsPath(id): KsPath<String>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    allowed_trust(&state, &caller, &id, "identity:delete_trust")?;
    state.store().delete_trust(&id, state.clock.now())?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET`/`HEAD /v3/OS-TRUST/trusts/{id}/roles`: the delegated roles, for those who may read
/// the trust.
pub(crate) async fn list_trust_roles(
    State(state): State<AppState>,
    KsPath(id): KsPath<String>,
    caller: Caller,
) -> ApiResult<Json<RoleList>> {
    let trust = allowed_trust(&state, &caller, &id, "identity:list_roles_for_trust")?;
    let store = state.store();
    let v = state.views();
    Ok(Json(RoleList {
        roles: v.trust_roles(&store, &trust),
        links: v.trust_roles_links(&trust.id),
    }))
}

/// `GET`/`HEAD /v3/OS-TRUST/trusts/{id}/roles/{role}`: the role when the trust delegates it
/// (404 otherwise, an implied role included).
pub(crate) async fn get_trust_role(
    State(state): State<AppState>,
    KsPath((id, role_id)): KsPath<(String, String)>,
    caller: Caller,
) -> ApiResult<Json<RoleResponse>> {
    let trust = allowed_trust(&state, &caller, &id, "identity:get_role_for_trust")?;
    let store = state.store();
    let role = store
        .roles
        .get(&role_id)
        .filter(|_| trust.role_ids.contains(&role_id))
        .ok_or_else(|| ApiError::not_found("role", &role_id))?;
    Ok(Json(RoleResponse {
        role: state.views().role(role, true),
    }))
}
