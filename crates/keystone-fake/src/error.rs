//! Errors of the fake's API, answered in Keystone's JSON error shape.
//!
//! **Architecture invariant:** every answer of the fake, errors included, has Keystone's shape:
//! `{"error": {"code", "message", "title"}}`, `Vary: X-Auth-Token` and `x-openstack-request-
//! id`, and on a 401, `WWW-Authenticate: Keystone uri="<url>/v3"`.

/// The status of an error answer (the `http` crate's, through axum): the store words its
/// errors with it without importing the web framework.
pub(crate) use axum::http::StatusCode;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use keystone_types::ErrorResponse;

/// An error answer: a status and a message, rendered as `{"error": {...}}`.
///
/// A 401 also carries `WWW-Authenticate: Keystone uri="..."`; the response middleware fills in
/// the URI because only it knows the public URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status}: {message}")]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The message Keystone would write.
    pub message: String,
}

impl ApiError {
    /// An error with any status.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }

    /// 400 with a message.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 401 with Keystone's fixed message.
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "The request you have made requires authentication.",
        )
    }

    /// 500 with Keystone's message for an unexpected error.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "An unexpected error prevented the server from fulfilling your request.",
        )
    }

    /// 403 naming the policy rule that denied, or the action Keystone's `ForbiddenAction`
    /// names (its message adds a period even to one that ends with one).
    pub fn forbidden(rule: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            format!("You are not authorized to perform the requested action: {rule}."),
        )
    }

    /// 403 without a detail: Keystone's `Forbidden` raised with a message it keeps to itself
    /// (outside `insecure_debug` mode), such as "User is not a trustee.".
    pub fn forbidden_undisclosed() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "You are not authorized to perform the requested action.",
        )
    }

    /// 404 for a path no route serves, as Keystone's routing answers it.
    pub fn no_route() -> Self {
        Self::new(StatusCode::NOT_FOUND, "The resource could not be found.")
    }

    /// 404 for a missing resource, as `Could not find service: ID.`
    pub fn not_found(kind: &str, id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            format!("Could not find {kind}: {id}."),
        )
    }

    /// 409 for a duplicate.
    pub fn conflict(kind: &str, detail: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            format!("Conflict occurred attempting to store {kind} - {detail}."),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorResponse::new(self.status.as_u16(), self.message);
        let mut response = (self.status, axum::Json(body)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        response
    }
}

/// The result of a handler.
pub(crate) type ApiResult<T> = Result<T, ApiError>;

/// The sentence Keystone's `ValidationError` messages end with.
const VALIDATION_TAIL: &str = "The server could not comply with the request since it is either \
                               malformed or otherwise incorrect. The client is assumed to be in \
                               error.";

/// A 400 of Keystone's `ValidationError` family: the message, then the sentence they end
/// with.
pub(crate) fn validation_detail(message: &str) -> ApiError {
    ApiError::bad_request(format!("{message} {VALIDATION_TAIL}"))
}

/// Keystone's `ValidationError`: "Expecting to find {attribute} in {target}. The server...".
pub(crate) fn validation_error(attribute: &str, target: &str) -> ApiError {
    validation_detail(&format!("Expecting to find {attribute} in {target}."))
}
