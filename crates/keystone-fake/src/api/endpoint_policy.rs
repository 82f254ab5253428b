//! OS-ENDPOINT-POLICY as Keystone 30 serves it (`api/policy.py`, `api/endpoints.py`): a policy
//! blob associated with an endpoint, a service, or a service in a region
//! (`/v3/policies/{policy_id}/OS-ENDPOINT-POLICY/...`), the endpoints a policy applies to, and
//! the policy an endpoint gets (`/v3/endpoints/{endpoint_id}/OS-ENDPOINT-POLICY/policy`).
//!
//! Keystone's order of checks, route by route: the policy rule (no target), then the policy,
//! the endpoint or service, then the region exist (each its `Could not find ...` 404), then the
//! association. Association routes answer 204 with no body, a `PUT`'s body ignored; deleting
//! an association that is not there is a 204 too. Keystone's quirks are kept: the endpoints of
//! the list have no `region` key, and the policy of an endpoint links to
//! `/v3/endpoints/<policy id>`.

use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::http::StatusCode;
use keystone_types::resources::PolicyResponse;
use serde_json::{Value, json};

use crate::error::ApiResult;
use crate::extract::{KsPath, path_and_query};
use crate::policy::{Caller, PolicyTarget};
use crate::state::AppState;
use crate::store::{PolicyAssociationTarget, found};

/// What an association route does once the target is found.
#[derive(Debug, Clone, Copy)]
enum Action {
    Check,
    Create,
    Delete,
}

/// Keystone's lookups before an association (policy, endpoint or service, region), then the
/// action on it.
fn associate(
    state: &AppState,
    action: Action,
    policy_id: &str,
    target: PolicyAssociationTarget,
) -> ApiResult<StatusCode> {
    let mut store = state.store();
    store.policy_blob(policy_id)?;
    match &target {
        PolicyAssociationTarget::Endpoint(e) => {
            found(&store.endpoints, "endpoint", e)?;
        }
        PolicyAssociationTarget::Service(s) => {
            found(&store.services, "service", s)?;
        }
        PolicyAssociationTarget::ServiceInRegion {
            service_id,
            region_id,
        } => {
            found(&store.services, "service", service_id)?;
            found(&store.regions, "region", region_id)?;
        }
    }
    match action {
        Action::Check => store.check_policy_association(policy_id, &target)?,
        Action::Create => store.associate_policy(policy_id, target),
        Action::Delete => store.delete_policy_association(policy_id, &target),
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `GET`/`HEAD /v3/policies/{policy_id}/OS-ENDPOINT-POLICY/endpoints/{endpoint_id}`
pub(crate) async fn check_endpoint_policy(
    State(state): State<AppState>,
    KsPath((policy_id, endpoint_id)): KsPath<(String, String)>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    caller.enforce(
        "identity:check_policy_association_for_endpoint",
        &PolicyTarget::new(),
    )?;
    let target = PolicyAssociationTarget::Endpoint(endpoint_id);
    associate(&state, Action::Check, &policy_id, target)
}

/// `PUT /v3/policies/{policy_id}/OS-ENDPOINT-POLICY/endpoints/{endpoint_id}`
pub(crate) async fn put_endpoint_policy(
    State(state): State<AppState>,
    KsPath((policy_id, endpoint_id)): KsPath<(String, String)>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    caller.enforce(
        "identity:create_policy_association_for_endpoint",
        &PolicyTarget::new(),
    )?;
    let target = PolicyAssociationTarget::Endpoint(endpoint_id);
    associate(&state, Action::Create, &policy_id, target)
}

/// `DELETE /v3/policies/{policy_id}/OS-ENDPOINT-POLICY/endpoints/{endpoint_id}`
pub(crate) async fn delete_endpoint_policy(
    State(state): State<AppState>,
    KsPath((policy_id, endpoint_id)): KsPath<(String, String)>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    caller.enforce(
        "identity:delete_policy_association_for_endpoint",
        &PolicyTarget::new(),
    )?;
    let target = PolicyAssociationTarget::Endpoint(endpoint_id);
    associate(&state, Action::Delete, &policy_id, target)
}

/// `GET`/`HEAD /v3/policies/{policy_id}/OS-ENDPOINT-POLICY/services/{service_id}`
pub(crate) async fn check_service_policy(
    State(state): State<AppState>,
    KsPath((policy_id, service_id)): KsPath<(String, String)>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    caller.enforce(
        "identity:check_policy_association_for_service",
        &PolicyTarget::new(),
    )?;
    let target = PolicyAssociationTarget::Service(service_id);
    associate(&state, Action::Check, &policy_id, target)
}

/// `PUT /v3/policies/{policy_id}/OS-ENDPOINT-POLICY/services/{service_id}`
pub(crate) async fn put_service_policy(
    State(state): State<AppState>,
    KsPath((policy_id, service_id)): KsPath<(String, String)>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    caller.enforce(
        "identity:create_policy_association_for_service",
        &PolicyTarget::new(),
    )?;
    let target = PolicyAssociationTarget::Service(service_id);
    associate(&state, Action::Create, &policy_id, target)
}

/// `DELETE /v3/policies/{policy_id}/OS-ENDPOINT-POLICY/services/{service_id}`
pub(crate) async fn delete_service_policy(
    State(state): State<AppState>,
    KsPath((policy_id, service_id)): KsPath<(String, String)>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    caller.enforce(
        "identity:delete_policy_association_for_service",
        &PolicyTarget::new(),
    )?;
    let target = PolicyAssociationTarget::Service(service_id);
    associate(&state, Action::Delete, &policy_id, target)
}

/// `GET`/`HEAD /v3/policies/{policy_id}/OS-ENDPOINT-POLICY/services/{service_id}/regions/{region_id}`
pub(crate) async fn check_region_policy(
    State(state): State<AppState>,
    KsPath((policy_id, service_id, region_id)): KsPath<(String, String, String)>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    caller.enforce(
        "identity:check_policy_association_for_region_and_service",
        &PolicyTarget::new(),
    )?;
    let target = PolicyAssociationTarget::ServiceInRegion {
        service_id,
        region_id,
    };
    associate(&state, Action::Check, &policy_id, target)
}

/// `PUT /v3/policies/{policy_id}/OS-ENDPOINT-POLICY/services/{service_id}/regions/{region_id}`
pub(crate) async fn put_region_policy(
    State(state): State<AppState>,
    KsPath((policy_id, service_id, region_id)): KsPath<(String, String, String)>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    caller.enforce(
        "identity:create_policy_association_for_region_and_service",
        &PolicyTarget::new(),
    )?;
    let target = PolicyAssociationTarget::ServiceInRegion {
        service_id,
        region_id,
    };
    associate(&state, Action::Create, &policy_id, target)
}

/// `DELETE /v3/policies/{policy_id}/OS-ENDPOINT-POLICY/services/{service_id}/regions/{region_id}`
pub(crate) async fn delete_region_policy(
    State(state): State<AppState>,
    KsPath((policy_id, service_id, region_id)): KsPath<(String, String, String)>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    caller.enforce(
        "identity:delete_policy_association_for_region_and_service",
        &PolicyTarget::new(),
    )?;
    let target = PolicyAssociationTarget::ServiceInRegion {
        service_id,
        region_id,
    };
    associate(&state, Action::Delete, &policy_id, target)
}

/// `GET /v3/policies/{policy_id}/OS-ENDPOINT-POLICY/endpoints`: association by association,
/// not de-duplicated; each endpoint without the `region` key `GET /v3/endpoints` adds.
pub(crate) async fn list_policy_endpoints(
    State(state): State<AppState>,
    uri: OriginalUri,
    KsPath(policy_id): KsPath<String>,
    caller: Caller,
) -> ApiResult<Json<Value>> {
    caller.enforce("identity:list_endpoints_for_policy", &PolicyTarget::new())?;
    let store = state.store();
    store.policy_blob(&policy_id)?;
    let v = state.views();
    let endpoints: Vec<Value> = store
        .endpoints_for_policy(&policy_id)?
        .into_iter()
        .map(|e| {
            let mut shown = json!(v.endpoint(e));
            if let Some(fields) = shown.as_object_mut() {
                fields.remove("region");
            }
            shown
        })
        .collect();
    Ok(Json(json!({
        "endpoints": endpoints,
        "links": v.list_links(&path_and_query(&uri)),
    })))
}

/// `GET /v3/endpoints/{endpoint_id}/OS-ENDPOINT-POLICY/policy`: the endpoint's own policy,
/// else its service's in its region or one above, else its service's; linked, as Keystone
/// links it, to `/v3/endpoints/<policy id>`.
pub(crate) async fn get_endpoint_policy(
    State(state): State<AppState>,
    KsPath(endpoint_id): KsPath<String>,
    caller: Caller,
) -> ApiResult<Json<PolicyResponse>> {
    caller.enforce("identity:get_policy_for_endpoint", &PolicyTarget::new())?;
    let store = state.store();
    let endpoint = found(&store.endpoints, "endpoint", &endpoint_id)?;
    let v = state.views();
    let mut policy = v.policy(store.policy_for_endpoint(endpoint)?);
    policy.links.self_link = format!("{}/v3/endpoints/{}", v.base, policy.id);
    Ok(Json(PolicyResponse { policy }))
}
