//! Keystone's error body: `{"error": {"code": N, "message": "...", "title": "..."}}`.

use serde::{Deserialize, Serialize};

/// The error document every OpenStack API answers with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorResponse {
    /// The error itself.
    pub error: ErrorBody,
}

/// The inside of an [`ErrorResponse`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The HTTP status code, repeated in the body.
    pub code: u16,
    /// A human-readable explanation.
    pub message: String,
    /// The status' reason phrase, such as `Not Found`.
    pub title: String,
}

impl ErrorResponse {
    /// Builds an error body; the title is the reason phrase Keystone uses for `code`.
    pub fn new(code: u16, message: impl Into<String>) -> Self {
        ErrorResponse {
            error: ErrorBody {
                code,
                message: message.into(),
                title: title_for(code).to_owned(),
            },
        }
    }
}

/// The title Keystone writes for a status code.
pub fn title_for(code: u16) -> &'static str {
    match code {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        413 => "Request Entity Too Large",
        415 => "Unsupported Media Type",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Error",
    }
}
