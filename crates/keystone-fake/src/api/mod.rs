//! The HTTP handlers, one module per Keystone subsystem. Each handler reads its request
//! through the extractors (`extract`, and the caller from `state`), asks the policy, changes
//! or reads the store, and renders records through the views.

use std::collections::BTreeMap;

use axum::Json;
use axum::http::StatusCode;

use crate::error::ApiResult;
use crate::state::AppState;
use crate::store::{Store, found};
use crate::views::Views;

/// The string at `key` of a JSON body, when it is one.
pub(crate) fn text(body: &serde_json::Map<String, serde_json::Value>, key: &str) -> Option<String> {
    body.get(key)
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
}

/// A 201 with a body.
pub(crate) type Created<T> = (StatusCode, Json<T>);

/// A 201 answering `value`, as a create route answers the new resource.
pub(crate) fn created<T>(value: T) -> Created<T> {
    (StatusCode::CREATED, Json(value))
}

/// A get route's answer: the record `id` of the collection `records` picks, rendered by
/// `render`, or Keystone's 404 naming `kind`.
pub(crate) fn show<R, T>(
    state: &AppState,
    records: fn(&Store) -> &BTreeMap<String, R>,
    kind: &str,
    id: &str,
    render: impl FnOnce(&Views, &R) -> T,
) -> ApiResult<Json<T>> {
    let store = state.store();
    let rec = found(records(&store), kind, id)?;
    Ok(Json(render(&state.views(), rec)))
}

/// The get, create, update and delete handlers of a resource whose policy needs no target:
/// `GET`/`PATCH`/`DELETE /v3/{collection}/{id}` and `POST /v3/{collection}`.
macro_rules! simple_crud {
    (
        $map:ident, $kind:literal, $rule:literal,
        view: $view:expr,
        get: $get:ident, create: $create:ident => $store_create:ident($CreateReq:ident),
        update: $update:ident => $store_update:ident($UpdateReq:ident),
        delete: $delete:ident => $store_delete:ident,
        answer: $Resp:ident { $key:ident }
    ) => {
        pub(crate) async fn $get(
            axum::extract::State(state): axum::extract::State<$crate::state::AppState>,
            $crate::extract::KsPath(id): $crate::extract::KsPath<String>,
            caller: $crate::policy::Caller,
        ) -> $crate::error::ApiResult<axum::Json<$Resp>> {
            caller.enforce(
                concat!("identity:get_", $rule),
                &$crate::policy::PolicyTarget::new(),
            )?;
            $crate::api::show(
                &state,
                |s| &s.$map,
                $kind,
                &id,
                |v, rec| $Resp {
                    $key: $view(v, rec),
                },
            )
        }

        pub(crate) async fn $create(
            axum::extract::State(state): axum::extract::State<$crate::state::AppState>,
            $crate::state::Authed(caller, $crate::extract::KsJson(body)): $crate::state::Authed<
                $crate::extract::KsJson<$CreateReq>,
            >,
        ) -> $crate::error::ApiResult<$crate::api::Created<$Resp>> {
            caller.enforce(
                concat!("identity:create_", $rule),
                &$crate::policy::PolicyTarget::new(),
            )?;
            let rec = state.store().$store_create(body.$key)?;
            Ok($crate::api::created($Resp {
                $key: $view(&state.views(), &rec),
            }))
        }

        pub(crate) async fn $update(
            axum::extract::State(state): axum::extract::State<$crate::state::AppState>,
            $crate::extract::KsPath(id): $crate::extract::KsPath<String>,
            $crate::state::Authed(caller, $crate::extract::KsJson(body)): $crate::state::Authed<
                $crate::extract::KsJson<$UpdateReq>,
            >,
        ) -> $crate::error::ApiResult<axum::Json<$Resp>> {
            caller.enforce(
                concat!("identity:update_", $rule),
                &$crate::policy::PolicyTarget::new(),
            )?;
            let rec = state.store().$store_update(&id, body.$key)?;
            Ok(axum::Json($Resp {
                $key: $view(&state.views(), &rec),
            }))
        }

        pub(crate) async fn $delete(
            axum::extract::State(state): axum::extract::State<$crate::state::AppState>,
            $crate::extract::KsPath(id): $crate::extract::KsPath<String>,
            caller: $crate::policy::Caller,
        ) -> $crate::error::ApiResult<axum::http::StatusCode> {
            caller.enforce(
                concat!("identity:delete_", $rule),
                &$crate::policy::PolicyTarget::new(),
            )?;
            state.store().$store_delete(&id)?;
            Ok(axum::http::StatusCode::NO_CONTENT)
        }
    };
}

pub(crate) mod assignment;
pub(crate) mod auth;
pub(crate) mod blobs;
pub(crate) mod catalog;
pub(crate) mod controls;
pub(crate) mod credentials;
pub(crate) mod domain_config;
pub(crate) mod endpoint_filter;
pub(crate) mod endpoint_policy;
pub(crate) mod federation;
pub(crate) mod identity;
pub(crate) mod resource;
pub(crate) mod revoke;
pub(crate) mod tags;
pub(crate) mod trusts;
