//! The test controls over HTTP, for tests that drive the fake's binary from another process
//! (`keystone-fake --controls`): served under `/_fake/`, only on a loopback address, never
//! counted nor faulted themselves.
//!
//! - `GET /_fake/requests`: every route's count (`{"POST /v3/auth/tokens": 3, ...}`);
//!   `DELETE` sets them back to zero.
//! - `PUT /_fake/faults` with `{"route": "GET /v3/auth/tokens", "latency_ms": 5000,
//!   "status": 503}` (either or both): the fault of a route (or `*`); `DELETE` removes them all.
//! - `POST /_fake/clock` with `{"advance_secs": 60}`: moves the fake's clock on.

use std::collections::HashMap;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use crate::controls::Fault;
use crate::extract::KsJson;
use crate::state::AppState;

/// `GET /_fake/requests`.
pub(crate) async fn requests(State(state): State<AppState>) -> Json<HashMap<String, u64>> {
    Json(state.controls.all_requests())
}

/// `DELETE /_fake/requests`.
pub(crate) async fn reset_requests(State(state): State<AppState>) -> StatusCode {
    state.controls.reset_counts();
    StatusCode::NO_CONTENT
}

/// A fault, as `PUT /_fake/faults` takes it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FaultBody {
    route: String,
    latency_ms: Option<u64>,
    status: Option<u16>,
}

/// `PUT /_fake/faults`.
pub(crate) async fn set_fault(
    State(state): State<AppState>,
    KsJson(body): KsJson<FaultBody>,
) -> StatusCode {
    state.controls.set_fault(
        &body.route,
        Fault {
            latency: body.latency_ms.map(Duration::from_millis),
            status: body.status,
        },
    );
    StatusCode::NO_CONTENT
}

/// `DELETE /_fake/faults`.
pub(crate) async fn clear_faults(State(state): State<AppState>) -> StatusCode {
    state.controls.clear_faults();
    StatusCode::NO_CONTENT
}

/// The clock's move, as `POST /_fake/clock` takes it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ClockBody {
    advance_secs: u64,
}

/// `POST /_fake/clock`.
pub(crate) async fn advance_clock(
    State(state): State<AppState>,
    KsJson(body): KsJson<ClockBody>,
) -> StatusCode {
    state.clock.advance(Duration::from_secs(body.advance_secs));
    StatusCode::NO_CONTENT
}
