//! The answers the layer gives on its own, in Keystone's JSON error shape.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use keystone_types::ErrorResponse;

/// An error answer with Keystone's body.
pub(crate) fn json_error(status: StatusCode, message: &str) -> Response {
    let body =
        serde_json::to_vec(&ErrorResponse::new(status.as_u16(), message)).unwrap_or_default();
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// 401 for a missing, invalid or expired token.
pub(crate) fn unauthorized(www_authenticate: Option<&HeaderValue>) -> Response {
    let mut r = json_error(
        StatusCode::UNAUTHORIZED,
        "The request you have made requires authentication.",
    );
    if let Some(v) = www_authenticate {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, v.clone());
    }
    r
}

/// 503 when Keystone cannot be asked.
pub(crate) fn unavailable() -> Response {
    json_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "The identity service is temporarily unavailable; the request could not be authenticated.",
    )
}
