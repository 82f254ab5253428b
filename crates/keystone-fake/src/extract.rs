//! Request extractors and query parsing: JSON bodies, path parameters and query strings read
//! and rejected as Keystone reads and rejects them, and the filters of list routes.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, OriginalUri, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use crate::error::{ApiError, ApiResult, validation_error};
use crate::schema::Check;

/// Whether a `Content-Type` is JSON as werkzeug's `is_json` decides: `application/json` or
/// `application/*+json`.
fn is_json_content_type(value: &[u8]) -> bool {
    let text = String::from_utf8_lossy(value);
    let mime = text
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

/// A JSON request body, rejected as Keystone rejects one: a body with a `Content-Type` that is
/// not JSON, text that is not a JSON object, JSON of the wrong shape (naming the attribute,
/// never its value: it may be a password), and 413 for a body over the size limit.
#[derive(Debug)]
pub(crate) struct KsJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for KsJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.as_bytes().to_vec())
            .filter(|v| !v.is_empty());
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "Request is too large.")
            } else {
                validation_error("valid JSON", "request body")
            }
        })?;
        // Keystone checks the type of a body that is not empty (`json_body_before_request`),
        // taking no `Content-Type` as JSON, and reads an empty body as `{}`.
        if !bytes.is_empty() && content_type.is_some_and(|ct| !is_json_content_type(&ct)) {
            return Err(validation_error("application/json", "Content-Type header"));
        }
        let bytes: &[u8] = if bytes.is_empty() { b"{}" } else { &bytes };
        // only an object: serde would also read a struct from an array
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(validation_error("valid JSON", "request body"));
        }
        // parsed once; a second time, as a plain value, only to word a rejection
        match axum::Json::<T>::from_bytes(bytes) {
            Ok(axum::Json(v)) => Ok(KsJson(v)),
            Err(rejection) => match serde_json::from_slice::<serde_json::Value>(bytes) {
                Ok(value) => Err(schema_error(&value, &rejection.body_text())),
                Err(_) => Err(validation_error("valid JSON", "request body")),
            },
        }
    }
}

/// A JSON body read as [`KsJson`] reads one, then checked against Keystone's schema limits
/// (`schema::Check`: names, tags), still before the token, as Keystone's request-body
/// validator runs.
#[derive(Debug)]
pub(crate) struct Checked<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Check> FromRequest<S> for Checked<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        // the body as JSON first: Keystone's schema sees values serde would refuse with its
        // own words (an `enabled` of the wrong type)
        let KsJson(raw) = KsJson::<serde_json::Value>::from_request(req, state).await?;
        T::check_raw(&raw)?;
        let body: T = json_from_value(&raw)?;
        body.check()?;
        Ok(Checked(body))
    }
}

/// Reads a request body already taken as JSON (`KsJson<Value>`, for a handler that also needs
/// what the typed body leaves out) as `T`, rejected as [`KsJson`] rejects a body.
pub(crate) fn json_from_value<T: DeserializeOwned>(value: &serde_json::Value) -> ApiResult<T> {
    let bytes = serde_json::to_vec(value).map_err(|_| ApiError::internal())?;
    axum::Json::<T>::from_bytes(&bytes)
        .map(|axum::Json(v)| v)
        .map_err(|rejection| schema_error(value, &rejection.body_text()))
}

/// The 400 for a body of the wrong shape, from axum's description of the failure (a path
/// such as `user.enabled`, then serde's message). It names the attribute as Keystone does
/// (`Invalid input for field 'enabled'`, relative to the resource's wrapper key) and says
/// what was wrong without repeating the submitted value.
fn schema_error(body: &serde_json::Value, description: &str) -> ApiError {
    let text = description
        .split_once(": ")
        .map(|(_, rest)| rest)
        .unwrap_or(description);
    // the longest prefix before ": " that names a place in the body is the path
    let mut path: Vec<String> = Vec::new();
    let mut detail = text;
    for (i, _) in text.match_indices(": ") {
        let candidate = &text[..i];
        if let Some(segments) = resolve_path(body, candidate) {
            path = segments;
            detail = &text[i + 2..];
        }
    }
    let detail = detail.split(" at line ").next().unwrap_or_default();
    let quoted = |s: &str| s.split('`').nth(1).map(str::to_owned);
    let (path, reason) = if let Some(field) = detail
        .strip_prefix("missing field ")
        .and_then(|_| quoted(detail))
    {
        if path.is_empty() {
            return validation_error(&field, "request body");
        }
        (path, format!("'{field}' is a required property"))
    } else if let Some(field) = detail
        .strip_prefix("unknown field ")
        .and_then(|_| quoted(detail))
    {
        (
            path,
            format!("Additional properties are not allowed ('{field}' was unexpected)"),
        )
    } else if let Some((_, expected)) = detail.split_once(", expected ") {
        (path, format!("the value is not valid: expected {expected}"))
    } else {
        (path, "the value is not valid".to_owned())
    };
    // Keystone validates what is under the wrapper key (`user`, `auth`...)
    let field = if path.len() > 1 {
        path[1..].join("/")
    } else {
        path.join("/")
    };
    ApiError::bad_request(format!("Invalid input for field '{field}': {reason}"))
}

/// The segments of a serde_path_to_error path (`user.roles[0].name`) when it names a place in
/// `body`; `None` when it does not (it was not a path, but part of a message).
fn resolve_path(body: &serde_json::Value, path: &str) -> Option<Vec<String>> {
    let mut here = body;
    let mut out = Vec::new();
    for part in path.split('.') {
        let (key, mut rest) = part.split_once('[').map_or((part, ""), |(k, r)| (k, r));
        here = here.as_object()?.get(key)?;
        out.push(key.to_owned());
        while let Some((index, after)) = rest.split_once(']') {
            here = here.as_array()?.get(index.parse::<usize>().ok()?)?;
            out.push(index.to_owned());
            rest = after.strip_prefix('[').unwrap_or(after);
        }
    }
    Some(out)
}

/// Path parameters, rejected (invalid UTF-8 in a segment, say) in Keystone's error shape.
#[derive(Debug)]
pub(crate) struct KsPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for KsPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(v)) => Ok(KsPath(v)),
            Err(e) if e.status().is_server_error() => Err(ApiError::internal()),
            Err(_) => Err(ApiError::bad_request(
                "Invalid input for a parameter of the URL path.",
            )),
        }
    }
}

/// Query parameters, rejected in Keystone's error shape.
#[derive(Debug)]
pub(crate) struct KsQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for KsQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| KsQuery(v))
            .map_err(|_| ApiError::bad_request("Invalid input for the query string."))
    }
}

/// Query parameters.
pub(crate) type QueryMap = HashMap<String, String>;

/// A boolean query parameter as Keystone's `query_filter_is_true` reads it (`include_names`,
/// `effective`): present means true, whatever its value, except `0`.
pub(crate) fn query_filter_is_true(q: &QueryMap, name: &str) -> bool {
    q.get(name).is_some_and(|v| v != "0")
}

/// A boolean query parameter as oslo's `strutils.bool_from_string` reads it (`allow_expired`):
/// true only for `1`, `t`, `true`, `on`, `y` and `yes` (any case); absent or bare is false.
pub(crate) fn query_bool_from_string(q: &QueryMap, name: &str) -> bool {
    q.get(name).is_some_and(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "1" | "t" | "true" | "on" | "y" | "yes"
        )
    })
}

/// Whether a boolean filter of a list (`enabled`) is set: present with no value, or a
/// true-ish value.
pub(crate) fn query_flag(q: &QueryMap, name: &str) -> bool {
    match q.get(name) {
        None => false,
        Some(v) => !matches!(
            v.to_ascii_lowercase().as_str(),
            "0" | "false" | "no" | "off" | "f" | "n"
        ),
    }
}

/// Whether `value` passes the optional filter `q[name]`.
pub(crate) fn matches(q: &QueryMap, name: &str, value: Option<&str>) -> bool {
    q.get(name).is_none_or(|want| value == Some(want.as_str()))
}

/// Whether a boolean `value` passes the optional filter `q[name]` (read as [`query_flag`]).
pub(crate) fn matches_bool(q: &QueryMap, name: &str, value: bool) -> bool {
    q.get(name).is_none_or(|_| query_flag(q, name) == value)
}

/// The path and query of a request, as a list's `self` link repeats them.
pub(crate) fn path_and_query(uri: &OriginalUri) -> String {
    uri.0
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default()
}
