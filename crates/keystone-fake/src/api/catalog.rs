//! The catalog's routes: services, endpoints and regions.

use axum::Json;
use axum::extract::{OriginalUri, State};
use keystone_types::resources::*;

use super::{Created, created};
use crate::error::{ApiError, ApiResult};
use crate::extract::{KsJson, KsPath, KsQuery, QueryMap, matches, matches_bool, path_and_query};
use crate::policy::{Caller, PolicyTarget};
use crate::state::{AppState, Authed};
use crate::views::Views;

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

/// `GET /v3/services?type=&name=`
pub(crate) async fn list_services(
    State(state): State<AppState>,
    uri: OriginalUri,
    KsQuery(q): KsQuery<QueryMap>,
    caller: Caller,
) -> ApiResult<Json<ServiceList>> {
    caller.enforce("identity:list_services", &PolicyTarget::new())?;
    let v = state.views();
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

/// `GET /v3/endpoints?service_id=&interface=&region_id=&enabled=`
pub(crate) async fn list_endpoints(
    State(state): State<AppState>,
    uri: OriginalUri,
    KsQuery(q): KsQuery<QueryMap>,
    caller: Caller,
) -> ApiResult<Json<EndpointList>> {
    caller.enforce("identity:list_endpoints", &PolicyTarget::new())?;
    let v = state.views();
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

/// `GET /v3/regions?parent_region_id=`
pub(crate) async fn list_regions(
    State(state): State<AppState>,
    uri: OriginalUri,
    KsQuery(q): KsQuery<QueryMap>,
    caller: Caller,
) -> ApiResult<Json<RegionList>> {
    caller.enforce("identity:list_regions", &PolicyTarget::new())?;
    let v = state.views();
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
    KsPath(id): KsPath<String>,
    Authed(caller, KsJson(body)): Authed<KsJson<RegionCreateRequest>>,
) -> ApiResult<Created<RegionResponse>> {
    caller.enforce("identity:create_region", &PolicyTarget::new())?;
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
        region: state.views().region(&rec),
    }))
}
