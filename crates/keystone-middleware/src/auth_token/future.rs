//! The response future of [`crate::AuthToken`]: the inner service's own future when the token
//! was in this thread's cache (nothing boxed, nothing awaited before the inner service), or a
//! boxed one that validates first. Both end the same way: `WWW-Authenticate` goes on any 401
//! without one, and the request id on the response (unless [`crate::RequestIdLayer`], outside,
//! does that).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use axum::http::{HeaderValue, Response, StatusCode, header};
use pin_project_lite::pin_project;

use crate::request_id::RequestId;

/// The validating future, boxed because it awaits Keystone.
pub(crate) type Validating<B, E> = Pin<Box<dyn Future<Output = Result<Response<B>, E>> + Send>>;

pin_project! {
    #[project = KindProj]
    enum Kind<F, B, E> {
        Inner { #[pin] future: F },
        Validating { future: Validating<B, E> },
    }
}

pin_project! {
    /// The future [`crate::AuthToken`] returns.
    pub struct ResponseFuture<F, B, E> {
        #[pin]
        kind: Kind<F, B, E>,
        request_id: Option<RequestId>,
        www_authenticate: Option<HeaderValue>,
    }
}

impl<F, B, E> ResponseFuture<F, B, E> {
    /// The inner service's future, the request already authenticated.
    pub(crate) fn inner(
        future: F,
        request_id: Option<RequestId>,
        www_authenticate: Option<HeaderValue>,
    ) -> Self {
        ResponseFuture {
            kind: Kind::Inner { future },
            request_id,
            www_authenticate,
        }
    }

    /// A future that validates, then answers or calls the inner service.
    pub(crate) fn validating(
        future: Validating<B, E>,
        request_id: Option<RequestId>,
        www_authenticate: Option<HeaderValue>,
    ) -> Self {
        ResponseFuture {
            kind: Kind::Validating { future },
            request_id,
            www_authenticate,
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F, B, E>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = match this.kind.project() {
            KindProj::Inner { future } => ready!(future.poll(cx)),
            KindProj::Validating { future } => ready!(future.as_mut().poll(cx)),
        };
        Poll::Ready(result.map(|mut response| {
            if let Some(v) = this.www_authenticate.take()
                && response.status() == StatusCode::UNAUTHORIZED
                && !response.headers().contains_key(header::WWW_AUTHENTICATE)
            {
                response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
            }
            if let Some(id) = this.request_id {
                id.set_on(&mut response);
            }
            response
        }))
    }
}
