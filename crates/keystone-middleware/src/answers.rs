//! The answers the layer gives on its own, in Keystone's JSON error shape, in whatever body type
//! the wrapped service answers with (anything a `String` converts into: axum's `Body`,
//! `http_body_util::Full<Bytes>`, `String`, ...).

use axum::http::{HeaderValue, Response, StatusCode, header};
use keystone_types::ErrorResponse;

/// An error answer with Keystone's body.
pub(crate) fn json_error<B: From<String>>(status: StatusCode, message: &str) -> Response<B> {
    let body =
        serde_json::to_string(&ErrorResponse::new(status.as_u16(), message)).unwrap_or_default();
    let mut response = Response::new(B::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// 401 for a missing, invalid or expired token.
pub(crate) fn unauthorized<B: From<String>>(www_authenticate: Option<&HeaderValue>) -> Response<B> {
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
pub(crate) fn unavailable<B: From<String>>() -> Response<B> {
    json_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "The identity service is temporarily unavailable; the request could not be authenticated.",
    )
}

/// 429 when a client had too many unknown tokens validated lately.
pub(crate) fn too_many_requests<B: From<String>>() -> Response<B> {
    let mut r = json_error(
        StatusCode::TOO_MANY_REQUESTS,
        "Too many requests with tokens that need validation; try again later.",
    );
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    r
}
