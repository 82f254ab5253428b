//! The state every handler shares ([`AppState`]: the store, the clock, the controls), the root
//! URL links are built on, and the caller: who a request's `X-Auth-Token` belongs to, read by
//! an extractor.
//!
//! **Architecture invariant:** handlers never resolve the token themselves. The caller is an
//! extractor, read after the path and the query and after the body, so rejections keep
//! Keystone's order.

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};

use crate::controls::{Clock, Controls};
use crate::error::{ApiError, ApiResult};
use crate::policy::Caller;
use crate::store::{Store, TokenProblem};
use crate::views::Views;

tokio::task_local! {
    /// The root URL of the request being answered.
    static REQUEST_BASE: String;
}

/// The root URL a request reached the fake by: `http://` and its `Host` (or the authority of
/// its URI), without the standard port, as `wsgiref.util.application_uri` and Keystone's
/// `remove_standard_port` make it. `None` when there is no usable host.
pub(crate) fn request_base(req: &Request) -> Option<String> {
    let host = req
        .uri()
        .authority()
        .map(|a| a.as_str().to_owned())
        .or_else(|| {
            req.headers()
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(str::to_owned)
        })?;
    let usable = !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-_:[]".contains(&b));
    if !usable {
        return None;
    }
    let host = host.strip_suffix(":80").unwrap_or(&host);
    Some(format!("http://{host}"))
}

/// Runs `answer` (the rest of a request's handling) with `base` as the root URL links are built
/// on (see [`Shared::base`]).
pub(crate) async fn with_request_base<F: Future>(base: String, answer: F) -> F::Output {
    REQUEST_BASE.scope(base, answer).await
}

/// Everything the handlers share.
#[derive(Debug)]
pub(crate) struct Shared {
    /// The database.
    pub(crate) store: Mutex<Store>,
    /// The fake's root URL, such as `http://127.0.0.1:5000`, known once bound.
    pub(crate) base_url: OnceLock<String>,
    /// The clock tokens are issued and checked against.
    pub(crate) clock: Clock,
    /// Faults and counters.
    pub(crate) controls: Controls,
    /// Token lifetime.
    pub(crate) token_ttl: Mutex<chrono::Duration>,
    /// Whether the test controls are served over HTTP (`/_fake/`).
    pub(crate) controls_api: bool,
    /// Whether every request is logged (method, path, status, latency, user name).
    pub(crate) access_log: bool,
}

/// The state handlers receive.
pub(crate) type AppState = Arc<Shared>;

impl Shared {
    /// Locks the store; a panic elsewhere never poisons the fake for good.
    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        let ttl = self.ttl();
        let mut store = self.store.lock().unwrap_or_else(|e| e.into_inner());
        // the time and token lifetime of the operation under way, for what it records
        store.now = self.clock.now();
        store.token_ttl = ttl;
        store
    }

    /// The root URL links are built on: during a request, the one the client reached the
    /// fake by (its `Host`, as Keystone's `base_url()` reads the WSGI request), otherwise the
    /// bound address.
    pub(crate) fn base(&self) -> String {
        REQUEST_BASE.try_with(Clone::clone).unwrap_or_else(|_| {
            self.base_url
                .get()
                .cloned()
                .unwrap_or_else(|| "http://127.0.0.1".to_owned())
        })
    }

    /// The token lifetime.
    pub(crate) fn ttl(&self) -> chrono::Duration {
        *self.token_ttl.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The views records are rendered with, their links on [`Shared::base`].
    pub(crate) fn views(&self) -> Views {
        Views { base: self.base() }
    }

    /// Who `token` (a request's `X-Auth-Token`) belongs to; 401 when it is missing or not
    /// valid, except that, as in Keystone, a token whose trust is gone is a 404 and one whose
    /// trust is refused a 403. The caller's user is the token's user as its body shows it (the
    /// trustor, for a token of a trust that impersonates), as Keystone's request context has
    /// it.
    pub(crate) fn caller(&self, token: Option<&str>) -> ApiResult<Caller> {
        let token = token.ok_or_else(ApiError::unauthorized)?;
        let store = self.store();
        let rec =
            store
                .check_token(token, self.clock.now(), false)
                .map_err(|problem| match problem {
                    TokenProblem::TrustNotFound | TokenProblem::TrustForbidden => {
                        store.token_error(token, problem)
                    }
                    _ => ApiError::unauthorized(),
                })?;
        let body = store
            .token_body(rec, false)
            .map_err(|_| ApiError::unauthorized())?;
        // a token from `POST /v3/ec2tokens` authorizes nothing here (it only validates)
        if rec.methods.iter().any(|m| m == "ec2credential") {
            return Err(ApiError::forbidden_undisclosed());
        }
        Ok(Caller {
            user_id: body.user.id.clone(),
            user_domain_id: body.user.domain.id.clone(),
            scope: rec.scope.clone(),
            project_domain_id: body.project.as_ref().map(|p| p.domain.id.clone()),
            roles: body.role_names().map(str::to_owned).collect(),
            role_ids: body.roles.iter().flatten().map(|r| r.id.clone()).collect(),
            methods: rec.methods.clone(),
            trust_id: rec.trust_id.clone(),
            token: serde_json::to_value(&body).unwrap_or_default(),
        })
    }
}

/// A request's `X-Auth-Token`, when it is text.
fn auth_token(headers: &HeaderMap) -> Option<&str> {
    headers.get("x-auth-token").and_then(|v| v.to_str().ok())
}

/// The caller as a handler's argument (after its path and query, as the token is read after
/// them): its rejection is [`Shared::caller`]'s.
impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        state.caller(auth_token(&parts.headers))
    }
}

/// A request body read by `B` and the caller, in the order the fake reads them: the body first
/// (a body Keystone refuses is a 400 or a 413 whatever the token), then the token.
#[derive(Debug)]
pub(crate) struct Authed<B>(pub(crate) Caller, pub(crate) B);

impl<B> FromRequest<AppState> for Authed<B>
where
    B: FromRequest<AppState, Rejection = ApiError>,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> ApiResult<Self> {
        let token = auth_token(req.headers()).map(str::to_owned);
        let body = B::from_request(req, state).await?;
        Ok(Authed(state.caller(token.as_deref())?, body))
    }
}
