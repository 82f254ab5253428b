//! [`AuthToken`]: the service the layer wraps around the application.

use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use axum::http::{Request, Response};
use tower::Service;

use super::future::ResponseFuture;
use super::layer::Shared;
use crate::answers as error;
use crate::cache::Rejection;
use crate::context::{Context, IdentityStatus};
use crate::headers;
use crate::request_id::RequestIds;

/// The authenticating service.
#[derive(Debug, Clone)]
pub struct AuthToken<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S> AuthToken<S> {
    pub(crate) fn new(inner: S, shared: Arc<Shared>) -> Self {
        AuthToken { inner, shared }
    }
}

enum Outcome<B> {
    Pass(Context),
    Respond(Response<B>),
}

async fn authenticate<ReqB, ResB: From<String>>(
    shared: &Shared,
    req: &mut Request<ReqB>,
    tokens: headers::Tokens,
    ctx: Context,
) -> Outcome<ResB> {
    let headers::Tokens {
        user: token,
        service: service_token,
    } = tokens;
    let delay = shared.delay_auth_decision;
    let client = crate::serve::peer_addr(req).map(|a| a.ip());
    let reject = |ctx: Context, req: &mut Request<ReqB>| {
        if delay {
            headers::set_invalid(req.headers_mut());
            Outcome::Pass(ctx)
        } else {
            Outcome::Respond(error::unauthorized(shared.www_authenticate.as_ref()))
        }
    };

    // The service token first: a valid one with a required role allows expired user tokens.
    let mut ctx = ctx;
    let mut allow_expired = false;
    if let Some(st) = service_token {
        let Ok(text) = st.to_str() else {
            return reject(ctx, req);
        };
        match shared.validate(text, false, client).await {
            Ok(a) => {
                let roles_ok = shared.service_roles_ok(&a);
                if !roles_ok && shared.service_token_roles_required {
                    tracing::info!("service token without a required role");
                    if !delay {
                        return Outcome::Respond(error::unauthorized(
                            shared.www_authenticate.as_ref(),
                        ));
                    }
                    headers::set_service_invalid(req.headers_mut());
                    ctx.service_identity_status = Some(IdentityStatus::Invalid);
                } else {
                    allow_expired = roles_ok;
                    headers::set_service(req.headers_mut(), &a);
                    ctx = ctx.with_service_header(st, a);
                }
            }
            Err(Rejection::Invalid) => {
                if !delay {
                    return Outcome::Respond(error::unauthorized(shared.www_authenticate.as_ref()));
                }
                headers::set_service_invalid(req.headers_mut());
                ctx.service_identity_status = Some(IdentityStatus::Invalid);
            }
            Err(e) => return Outcome::Respond(refused(&e)),
        }
    }

    let Some(token) = token else {
        return reject(ctx, req);
    };
    let Ok(text) = token.to_str() else {
        return reject(ctx, req);
    };
    match shared.validate(text, allow_expired, client).await {
        Ok(a) if !shared.allowed_by_access_rules(&a, req, ctx.has_service_token()) => {
            tracing::info!("a request outside its token's access rules");
            reject(ctx, req)
        }
        Ok(a) => {
            headers::set_user(req.headers_mut(), &a, shared.include_service_catalog);
            Outcome::Pass(ctx.for_user_header(token.clone(), a))
        }
        Err(Rejection::Invalid) => reject(ctx, req),
        Err(e) => Outcome::Respond(refused(&e)),
    }
}

/// The answer when a token could not be validated: 429 for a client over its rate of unknown
/// tokens, else 503 (Keystone unavailable, or too many validations in flight).
fn refused<B: From<String>>(why: &Rejection) -> Response<B> {
    match why {
        Rejection::RateLimited => error::too_many_requests(),
        _ => error::unavailable(),
    }
}

/// Any request body; any response body a `String` converts into (the layer's own answers carry
/// Keystone's JSON error): axum's `Body`, `http_body_util::Full<Bytes>`, `String`, ...
impl<S, ReqB, ResB> Service<Request<ReqB>> for AuthToken<S>
where
    S: Service<Request<ReqB>, Response = Response<ResB>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqB: Send + 'static,
    ResB: From<String> + Send + 'static,
{
    type Response = Response<ResB>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResB, S::Error>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqB>) -> Self::Future {
        let tokens = headers::prepare(req.headers_mut());
        // the ids RequestIdLayer gave the request, or our own (and then we answer with it)
        let (ids, request_id) = match req.extensions().get::<RequestIds>() {
            Some(ids) => (ids.clone(), None),
            None => {
                let ids = RequestIds::for_headers(req.headers());
                let id = ids.request_id;
                (ids, Some(id))
            }
        };
        let ctx = Context::anonymous(ids.request_id, ids.global_request_id);
        let www_authenticate = self.shared.www_authenticate();

        // The common case, without awaiting anything: a user token this thread has cached.
        if let Some(body) = self.shared.cached_user(&tokens, &mut req)
            && let Some(token) = tokens.user
        {
            req.extensions_mut()
                .insert(ctx.for_user_header(token, body));
            return ResponseFuture::inner(self.inner.call(req), request_id, www_authenticate);
        }

        // take the service that was polled ready, leave a fresh clone in its place
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let shared = self.shared.clone();
        let validating = Box::pin(async move {
            match authenticate(&shared, &mut req, tokens, ctx).await {
                Outcome::Respond(r) => Ok(r),
                Outcome::Pass(ctx) => {
                    req.extensions_mut().insert(ctx);
                    inner.call(req).await
                }
            }
        });
        ResponseFuture::validating(validating, request_id, www_authenticate)
    }
}
