//! Request bodies under hostile clients: read only after the policy has allowed the request,
//! bounded in size as the bytes arrive and in time.
//!
//! **Architecture invariant:** a handler that authorizes decides before it reads a byte of the
//! body ([`JsonAfterPolicy`] holds the request unread until [`JsonAfterPolicy::read`]), so a
//! caller the policy denies costs no memory and no time, whatever it announces or trickles.

use std::time::Duration;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, Request};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use tower::Layer;
use tower::layer::util::{Identity, Stack};
use tower_http::timeout::RequestBodyTimeoutLayer;

use crate::config::ServerConfig;

/// A JSON body that is read only when the handler asks, after it has authorized the request:
/// a caller the policy denies is answered 403 without a byte of its body read (a huge, slow
/// body from a member whom the rule denies costs nothing). Reading applies
/// `max_request_body_size` (413 at once for a larger `Content-Length`, and as the bytes
/// arrive for a body without one) and `body_read_timeout` (408), as [`BodyLimitsLayer`] sets
/// them.
///
/// ```
/// use axum::extract::State;
/// use axum::response::{IntoResponse, Response};
/// use axum::{Json, Router, routing::post};
/// use keystone_middleware::{Context, JsonAfterPolicy, Policy};
/// use serde_json::{Value, json};
///
/// async fn create(
///     State(policy): State<Policy>,
///     ctx: Context,
///     body: JsonAfterPolicy,
/// ) -> Result<Json<Value>, Response> {
///     let target = json!({"project_id": ctx.project_id()});
///     policy
///         .authorize("proxy:create", &target, &ctx)
///         .map_err(IntoResponse::into_response)?;
///     // only now is the body read: 413, 408, 415 or 400 in Keystone's error shape
///     let input: Value = body.read().await.map_err(IntoResponse::into_response)?;
///     Ok(Json(json!({"proxy": input})))
/// }
///
/// # fn app(policy: Policy) -> Router {
/// Router::new().route("/v1/proxy", post(create)).with_state(policy)
/// # }
/// ```
#[derive(Debug)]
pub struct JsonAfterPolicy(Request);

impl<S: Send + Sync> FromRequest<S> for JsonAfterPolicy {
    type Rejection = std::convert::Infallible;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(JsonAfterPolicy(req))
    }
}

impl JsonAfterPolicy {
    /// Reads and parses the body.
    ///
    /// # Errors
    ///
    /// [`BodyRejection`]: 413 for a body over the limit (at once when its `Content-Length`
    /// says so), 408 when it does not arrive within `body_read_timeout`, 415 for another
    /// content type than JSON, 400 for JSON that is malformed or of the wrong shape (where
    /// axum would answer 422, OpenStack APIs answer 400).
    pub async fn read<T: serde::de::DeserializeOwned>(self) -> Result<T, BodyRejection> {
        let limit = self.0.extensions().get::<BodyLimit>().map(|l| l.0);
        let announced = self
            .0
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if let (Some(limit), Some(n)) = (limit, announced)
            && n > limit
        {
            return Err(BodyRejection::too_large(limit));
        }
        let Json(value) = Json::<T>::from_request(self.0, &()).await?;
        Ok(value)
    }
}

/// Why a request body was not read: its status and a message for the caller, answered in
/// Keystone's JSON error shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status}: {message}")]
pub struct BodyRejection {
    status: StatusCode,
    message: String,
}

impl BodyRejection {
    fn too_large(limit: u64) -> Self {
        BodyRejection {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            message: format!("Request is too large: the limit is {limit} bytes."),
        }
    }

    /// The status it is answered with (400, 408, 413 or 415).
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The message it is answered with.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl From<JsonRejection> for BodyRejection {
    fn from(r: JsonRejection) -> Self {
        if timed_out(&r) {
            return BodyRejection {
                status: StatusCode::REQUEST_TIMEOUT,
                message: "The request body was not received in time.".into(),
            };
        }
        let status = match r.status() {
            StatusCode::UNPROCESSABLE_ENTITY => StatusCode::BAD_REQUEST,
            s => s,
        };
        BodyRejection {
            status,
            message: r.body_text(),
        }
    }
}

impl IntoResponse for BodyRejection {
    fn into_response(self) -> Response {
        crate::answers::json_error(self.status, &self.message)
    }
}

/// Whether reading the body failed because `body_read_timeout` passed.
fn timed_out(r: &JsonRejection) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(r);
    while let Some(e) = source {
        if e.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        source = e.source();
    }
    false
}

/// `max_request_body_size` in force, which [`BodyLimitsLayer`] puts in each request's
/// extensions (for [`JsonAfterPolicy`] to refuse a body announced larger at once).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLimit(u64);

impl BodyLimit {
    /// The most bytes a body may have.
    pub fn bytes(self) -> u64 {
        self.0
    }
}

type Inner = Stack<
    axum::Extension<BodyLimit>,
    Stack<DefaultBodyLimit, Stack<RequestBodyTimeoutLayer, Identity>>,
>;

/// `[server]`'s body limits for a router: `max_request_body_size` (axum's body extractors and
/// [`JsonAfterPolicy`] refuse larger bodies with 413, as they are read) and
/// `body_read_timeout` (a body that has not arrived in time ends with 408).
///
/// ```
/// use axum::{Router, routing::get};
/// use keystone_middleware::BodyLimitsLayer;
/// use keystone_middleware::config::ServerConfig;
///
/// let app: Router = Router::new()
///     .route("/", get(|| async { "ok" }))
///     .layer(BodyLimitsLayer::new(&ServerConfig::default()));
/// ```
#[derive(Debug, Clone)]
pub struct BodyLimitsLayer(Inner);

impl BodyLimitsLayer {
    /// The limits of `server`.
    pub fn new(server: &ServerConfig) -> Self {
        Self::with(server.max_request_body_size, server.body_read_timeout())
    }

    fn with(max_bytes: u64, read_timeout: Duration) -> Self {
        let builder = tower::ServiceBuilder::new()
            .layer(RequestBodyTimeoutLayer::new(read_timeout))
            .layer(DefaultBodyLimit::max(
                usize::try_from(max_bytes).unwrap_or(usize::MAX),
            ))
            .layer(axum::Extension(BodyLimit(max_bytes)));
        BodyLimitsLayer(builder.into_inner())
    }
}

impl<S> Layer<S> for BodyLimitsLayer {
    type Service = <Inner as Layer<S>>::Service;

    fn layer(&self, inner: S) -> Self::Service {
        self.0.layer(inner)
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use axum::body::{Body, Bytes};
    use axum::http::{HeaderMap, Request, StatusCode};
    use axum::routing::post;
    use axum::{Json, Router};
    use serde_json::Value;
    use tower::ServiceExt;

    use super::{BodyLimitsLayer, BodyRejection, JsonAfterPolicy};

    /// A handler that "authorizes" by a header, then reads the body.
    async fn create(
        headers: HeaderMap,
        body: JsonAfterPolicy,
    ) -> Result<Json<Value>, BodyRejection> {
        if !headers.contains_key("x-allowed") {
            return Err(BodyRejection {
                status: StatusCode::FORBIDDEN,
                message: "denied".into(),
            });
        }
        Ok(Json(body.read().await?))
    }

    fn app() -> Router {
        Router::new()
            .route("/", post(create))
            .layer(BodyLimitsLayer::with(16, Duration::from_millis(300)))
    }

    /// A body that sends `first`, then stalls forever.
    fn stalled(first: &'static [u8]) -> Body {
        let once =
            futures::stream::once(
                async move { Ok::<_, std::io::Error>(Bytes::from_static(first)) },
            );
        Body::from_stream(futures::StreamExt::chain(once, futures::stream::pending()))
    }

    async fn send(allowed: bool, length: Option<u64>, body: Body) -> (StatusCode, Value) {
        let mut req = Request::post("/").header("content-type", "application/json");
        if allowed {
            req = req.header("x-allowed", "1");
        }
        if let Some(n) = length {
            req = req.header("content-length", n);
        }
        let r = tokio::time::timeout(
            Duration::from_secs(5),
            app().oneshot(req.body(body).unwrap()),
        )
        .await
        .expect("an answer, not a hang")
        .unwrap();
        let status = r.status();
        let bytes = axum::body::to_bytes(r.into_body(), 1 << 16).await.unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    #[tokio::test]
    async fn bodies_are_read_after_the_decision_and_bounded() {
        // denied: answered at once though the body announces a gigabyte and never comes
        let started = Instant::now();
        let (status, _) = send(false, Some(1 << 30), stalled(b"{")).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(started.elapsed() < Duration::from_millis(250));
        // allowed: a body announced over the limit is 413 at once, in Keystone's shape
        let (status, body) = send(true, Some(17), stalled(b"{")).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(body["error"]["code"], 413);
        // one without a length is cut as it passes the limit
        let (status, _) = send(true, None, Body::from(vec![b' '; 64])).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        // one that stalls is 408 after the read timeout
        let (status, body) = send(true, None, stalled(b"{")).await;
        assert_eq!(status, StatusCode::REQUEST_TIMEOUT);
        assert_eq!(
            body["error"]["message"],
            "The request body was not received in time."
        );
        // malformed JSON is 400, not axum's 422; a good body is read
        let (status, _) = send(true, None, Body::from("{\"a\":")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, body) = send(true, None, Body::from("{\"a\":1}")).await;
        assert_eq!((status, body["a"].clone()), (StatusCode::OK, 1.into()));
    }
}
