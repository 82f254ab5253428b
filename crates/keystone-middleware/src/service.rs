//! [`AuthToken`]: the service the layer wraps around the application.

use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use axum::http::{HeaderValue, Method, Request, Response};
use keystone_client::{ErrorKind, ValidateOptions};
use tower::Service;

use crate::access::path_matches;
use crate::cache::Rejection;
use crate::compact::CompactToken;
use crate::context::{Context, IdentityStatus};
use crate::future::ResponseFuture;
use crate::layer::Shared;
use crate::request_id::RequestIds;
use crate::{error, headers};

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

impl Shared {
    async fn validate(
        &self,
        token: &str,
        allow_expired: bool,
    ) -> Result<Arc<CompactToken>, Rejection> {
        let session = &self.session;
        let nocatalog = !self.include_service_catalog;
        self.cache
            .get_or_validate(token, allow_expired, || async move {
                match session
                    .validate_token(
                        token,
                        ValidateOptions {
                            nocatalog,
                            allow_expired,
                            // we enforce access rules, so Keystone shows such tokens to us
                            access_rules: true,
                        },
                    )
                    .await
                {
                    Ok(a) => Ok(a),
                    Err(e) if e.kind() == ErrorKind::NotFound => Err(Rejection::Invalid),
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot validate a token with Keystone");
                        Err(Rejection::Unavailable(e.to_string()))
                    }
                }
            })
            .await
    }

    /// `WWW-Authenticate`, from this thread's own copy of the bytes (clones of the shared value
    /// would all share, and write on every request, one reference count).
    fn www_authenticate(&self) -> Option<HeaderValue> {
        self.www_local
            .get_or(|| {
                self.www_authenticate
                    .as_ref()
                    .and_then(|v| HeaderValue::from_bytes(v.as_bytes()).ok())
            })
            .clone()
    }

    /// When the request has no service token and this thread has the user token cached: sets
    /// the user headers and returns the token's body.
    fn cached_user<B>(
        &self,
        tokens: &headers::Tokens,
        req: &mut Request<B>,
    ) -> Option<Arc<CompactToken>> {
        if tokens.service.is_some() {
            return None;
        }
        let token = tokens.user.as_ref()?;
        self.cache.with_local(token.as_bytes(), false, |hit| {
            // a token limited by access rules takes the validating path, which checks them
            if hit.body().is_restricted() {
                return None;
            }
            hit.headers(self.include_service_catalog)
                .set_on(req.headers_mut());
            Some(hit.body().clone())
        })
    }

    /// keystonemiddleware's `validate_allowed_request`: a token of an application credential
    /// with access rules serves only the requests they name for this service's type.
    fn allowed_by_access_rules<B>(
        &self,
        t: &CompactToken,
        req: &Request<B>,
        with_service_token: bool,
    ) -> bool {
        let Some(rules) = t.access_rules() else {
            return true;
        };
        let Some(my_type) = self.service_type.as_deref() else {
            tracing::warn!(
                "a token limited by access rules, and no service_type in [keystone_authtoken] \
                 to check them against: rejected"
            );
            return false;
        };
        // the whole path, also under `Router::nest` (which strips its prefix from the URI)
        let path = req
            .extensions()
            .get::<axum::extract::OriginalUri>()
            .map_or_else(|| req.uri().path(), |o| o.0.path());
        // a token can always be validated, whatever its rules
        if my_type == "identity" && req.method() == Method::GET && path.ends_with("/v3/auth/tokens")
        {
            return true;
        }
        if t.catalog_has(my_type) == Some(false) {
            tracing::warn!(
                service_type = my_type,
                "a token limited by access rules, and service_type is not in its catalog: rejected"
            );
            return false;
        }
        // a valid service token means a chain of requests between services, not a user's
        if with_service_token {
            return true;
        }
        rules.iter().any(|r| {
            r.service == my_type && r.method == req.method().as_str() && path_matches(path, &r.path)
        })
    }

    fn service_roles_ok(&self, t: &CompactToken) -> bool {
        // compared exactly, as keystonemiddleware does
        t.roles()
            .any(|have| self.service_token_roles.iter().any(|want| want == have))
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
        match shared.validate(text, false).await {
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
            Err(Rejection::Unavailable(_)) => return Outcome::Respond(error::unavailable()),
        }
    }

    let Some(token) = token else {
        return reject(ctx, req);
    };
    let Ok(text) = token.to_str() else {
        return reject(ctx, req);
    };
    match shared.validate(text, allow_expired).await {
        Ok(a) if !shared.allowed_by_access_rules(&a, req, ctx.has_service_token()) => {
            tracing::info!("a request outside its token's access rules");
            reject(ctx, req)
        }
        Ok(a) => {
            headers::set_user(req.headers_mut(), &a, shared.include_service_catalog);
            Outcome::Pass(ctx.for_user_header(token.clone(), a))
        }
        Err(Rejection::Invalid) => reject(ctx, req),
        Err(Rejection::Unavailable(_)) => Outcome::Respond(error::unavailable()),
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
