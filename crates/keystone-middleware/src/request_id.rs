//! Request ids, as oslo.middleware's `request_id` middleware gives them: every response carries
//! `X-Openstack-Request-Id: req-<uuid>`, and a valid inbound `X-Openstack-Request-Id` is taken
//! as the global request id (the id of the caller's own request, so that logs can be followed
//! across services).
//!
//! Put [`RequestIdLayer`] outermost, around the whole router, so that unauthenticated routes and
//! errors get ids too; [`crate::AuthTokenLayer`] then uses the ids it finds. Alone,
//! `AuthTokenLayer` makes the ids itself for the routes it covers.
//!
//! # Example
//!
//! ```
//! use axum::{Router, routing::get};
//! use keystone_middleware::RequestIdLayer;
//!
//! let app: Router = Router::new()
//!     .route("/", get(|| async { "ok" }))
//!     .layer(RequestIdLayer);
//! ```

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use axum::http::{HeaderMap, HeaderName, HeaderValue, Request, Response, header};
use pin_project_lite::pin_project;
use tower::{Layer, Service};

/// `X-Openstack-Request-Id`.
pub(crate) const X_OPENSTACK_REQUEST_ID: HeaderName =
    HeaderName::from_static("x-openstack-request-id");

/// A request id, `req-<uuid>`, held without allocating.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct RequestId([u8; 40]);

impl RequestId {
    /// A new random id.
    pub fn new() -> Self {
        let mut buf = [0u8; 40];
        buf[..4].copy_from_slice(b"req-");
        uuid::Uuid::new_v4()
            .hyphenated()
            .encode_lower(&mut buf[4..]);
        RequestId(buf)
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        // "req-" and a hyphenated uuid: always ASCII
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    fn header_value(&self) -> Option<HeaderValue> {
        HeaderValue::from_bytes(&self.0).ok()
    }

    /// Puts the id on a response, unless the response has one already (as oslo.middleware:
    /// an application's, or a proxied service's, own id stays).
    pub(crate) fn set_on<B>(&self, response: &mut Response<B>) {
        if let header::Entry::Vacant(e) = response.headers_mut().entry(X_OPENSTACK_REQUEST_ID)
            && let Some(v) = self.header_value()
        {
            e.insert(v);
        }
    }
}

impl Default for RequestId {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Debug for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RequestId({})", self.as_str())
    }
}

/// A valid request id from the caller: exactly oslo.middleware's `req-` and a hyphenated uuid
/// in lower case (no other spelling of a uuid).
pub(crate) fn inbound(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(X_OPENSTACK_REQUEST_ID)?.to_str().ok()?;
    let uuid = v.strip_prefix("req-")?.as_bytes();
    let valid = uuid.len() == 36
        && uuid.iter().enumerate().all(|(i, &c)| match i {
            8 | 13 | 18 | 23 => c == b'-',
            _ => matches!(c, b'0'..=b'9' | b'a'..=b'f'),
        });
    valid.then(|| v.to_owned())
}

/// The ids of a request, in its extensions once [`RequestIdLayer`] has seen it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestIds {
    /// This request's id, also on the response.
    pub request_id: RequestId,
    /// The caller's request id, when it sent a valid one.
    pub global_request_id: Option<String>,
}

impl RequestIds {
    /// A new id for a request with these headers.
    pub fn for_headers(headers: &HeaderMap) -> Self {
        RequestIds {
            request_id: RequestId::new(),
            global_request_id: inbound(headers),
        }
    }
}

/// Gives every request an id (in its extensions) and every response the
/// `X-Openstack-Request-Id` header.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestIdLayer;

impl<S> Layer<S> for RequestIdLayer {
    type Service = RequestIdService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestIdService { inner }
    }
}

/// The service of [`RequestIdLayer`].
#[derive(Debug, Clone)]
pub struct RequestIdService<S> {
    inner: S,
}

impl<S, ReqB, ResB> Service<Request<ReqB>> for RequestIdService<S>
where
    S: Service<Request<ReqB>, Response = Response<ResB>>,
{
    type Response = Response<ResB>;
    type Error = S::Error;
    type Future = RequestIdFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqB>) -> Self::Future {
        let ids = RequestIds::for_headers(req.headers());
        let request_id = ids.request_id;
        req.extensions_mut().insert(ids);
        RequestIdFuture {
            future: self.inner.call(req),
            request_id,
        }
    }
}

pin_project! {
    /// The future of [`RequestIdService`].
    pub struct RequestIdFuture<F> {
        #[pin]
        future: F,
        request_id: RequestId,
    }
}

impl<F, B, E> Future for RequestIdFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = ready!(this.future.poll(cx))?;
        this.request_id.set_on(&mut response);
        Poll::Ready(Ok(response))
    }
}
