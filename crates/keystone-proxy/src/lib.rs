//! Keystone authentication and oslo.policy authorization for services written in any
//! language: what oauth2-proxy is to OIDC, for OpenStack tokens.
//!
//! - As a **reverse proxy** it strips spoofed identity headers, validates the user token (and
//!   the service token) exactly as keystone-middleware's layer does, enforces the route's
//!   policy rule, then forwards to the upstream with the headers keystonemiddleware sets
//!   (`X-Identity-Status`, `X-User-Id`, `X-Roles`, `X-Project-Id`, ...), streaming bodies both
//!   ways.
//! - As a **forward-auth endpoint** it answers nginx's `auth_request`, Traefik's `ForwardAuth`
//!   and Envoy's `ext_authz`: 200 with the identity headers, 401, 403, or 503. The token is
//!   checked against the original request (its method and URI, from the gateway's headers or,
//!   for Envoy, the path after the endpoint's), so application-credential access rules see
//!   what the client asked.
//!
//! Requests are matched to routes (method and path pattern) that are `public` or name an
//! oslo.policy rule; path parameters and the query are the rule's target, so
//! `project_id:%(project_id)s` works. A request that matches no route is denied (or, with
//! `unmatched = authenticated`, needs only a valid token).
//!
//! **Architecture invariant:** the proxy authenticates only through `AuthTokenLayer` and
//! authorizes only through `keystone_middleware::Policy`. It has no token logic of its own, so
//! it answers exactly as a Rust service with the layer would.
//!
//! # Example
//!
//! ```no_run
//! # async fn run() -> anyhow::Result<()> {
//! use keystone_proxy::{Proxy, ProxyConfig};
//!
//! let config = ProxyConfig::load("/etc/keystone-proxy/proxy.conf".as_ref())?;
//! let proxy = Proxy::from_config(&config)?;
//! proxy.check().await?; // the service user's credentials and permission, at start
//! let listener = tokio::net::TcpListener::bind(config.proxy.listen).await?;
//! keystone_middleware::serve(listener, proxy.router(), &config.server, std::future::pending()).await?;
//! # Ok(()) }
//! ```

mod config;
mod forward;
mod metrics;
mod routes;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, OriginalUri, Request, State};
use axum::http::{HeaderMap, Method, Response, StatusCode, Uri};
use axum::response::IntoResponse;
use axum::routing::{any, get};
use keystone_middleware::config::ServerConfig;
use keystone_middleware::{
    AuthTokenLayer, Context, Policy, RequestIdLayer, RequestIds, StartupError,
};
use keystone_policy::{Enforcer, RuleDefault};

pub use config::{ConfigError, ProxyConfig, ProxySection, RouteSpec, Unmatched};
pub use routes::{Access, Matched, RouteError, RouteTable};

use forward::Upstream;
use metrics::{Metrics, Outcome};

/// The proxy: its routes, policy, upstream and authentication layer. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Proxy {
    state: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    routes: RouteTable,
    policy: Policy,
    upstream: Option<Upstream>,
    unmatched: Unmatched,
    forward_auth_path: Option<String>,
    layer: AuthTokenLayer,
    metrics: Metrics,
    /// `[server]`, for the access log.
    server: ServerConfig,
}

/// Why the proxy cannot be built from a configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The routes do not make a table.
    #[error("[proxy] {0}")]
    Routes(#[from] RouteError),
    /// The upstream URL is not usable.
    #[error("[proxy] upstream: {0}")]
    Upstream(String),
    /// The policy's defaults or the operator's policy file.
    #[error("[oslo_policy]: {0}")]
    Policy(String),
    /// `[keystone_authtoken]` does not make a session.
    #[error("[keystone_authtoken]: {0}")]
    Keystone(#[from] keystone_client::Error),
}

impl Proxy {
    /// The proxy a configuration describes; its authentication layer validates with the
    /// service user of `[keystone_authtoken]`.
    pub fn from_config(config: &ProxyConfig) -> Result<Self, BuildError> {
        // the proxy decides per route what an unauthenticated request gets: the layer passes
        // every request on, marked
        let mut auth = config.keystone_authtoken.clone();
        auth.delay_auth_decision = true;
        let layer = AuthTokenLayer::from_config(&auth)?;
        Self::with_layer(config, layer)
    }

    /// Like [`Proxy::from_config`], with an authentication layer of the caller's (which must
    /// have `delay_auth_decision`).
    pub fn with_layer(config: &ProxyConfig, layer: AuthTokenLayer) -> Result<Self, BuildError> {
        let p = &config.proxy;
        let routes = RouteTable::new(&p.routes)?;
        let enforcer = Enforcer::new(config.oslo_policy.enforcer_config());
        enforcer
            .register_defaults(rule_defaults(config))
            .map_err(|e| BuildError::Policy(e.to_string()))?;
        enforcer
            .load_rules()
            .map_err(|e| BuildError::Policy(e.to_string()))?;
        for problem in enforcer.check_rules() {
            tracing::warn!(%problem, "policy problem");
        }
        let upstream = match &p.upstream {
            Some(url) => Some(
                Upstream::new(
                    url,
                    forward::UpstreamLimits {
                        connect_timeout: config.connect_timeout(),
                        timeout: config.upstream_timeout(),
                        http2: p.upstream_http2,
                        max_upgraded: usize::try_from(p.max_upgraded_connections)
                            .unwrap_or(usize::MAX),
                        upgraded_idle_timeout: config.upgraded_idle_timeout(),
                    },
                )
                .map_err(BuildError::Upstream)?,
            ),
            None => None,
        };
        let metrics = Metrics::new(&layer);
        Ok(Proxy {
            state: Arc::new(Shared {
                routes,
                policy: Policy::new(enforcer),
                upstream,
                unmatched: p.unmatched,
                forward_auth_path: p.forward_auth_path.clone(),
                layer,
                metrics,
                server: config.server.clone(),
            }),
        })
    }

    /// The startup check of the service user (see [`AuthTokenLayer::check`]).
    pub async fn check(&self) -> Result<(), StartupError> {
        self.state.layer.check().await
    }

    /// The main listener's router: the forward-auth endpoint (when configured: its path, and
    /// any path under it, as Envoy's `path_prefix` asks), and every other path forwarded (when
    /// an upstream is configured). From the outside in: the request id, the access log (whose
    /// lines carry the request id), the outcome counter, then for the forward-auth endpoint the
    /// rewrite to the original request, and the authentication layer.
    pub fn router(&self) -> Router {
        let state = &self.state;
        let mut router = Router::new();
        if let Some(path) = &state.forward_auth_path {
            // the rewrite runs before the layer, so that access rules see the original request
            let check = any(forward_auth).layer(state.layer.clone()).layer(
                axum::middleware::from_fn_with_state(state.clone(), to_original_request),
            );
            let under = format!("{}/{{*rest}}", path.trim_end_matches('/'));
            router = router.route(path, check.clone()).route(&under, check);
        }
        router
            .fallback_service(
                any(reverse_proxy)
                    .layer(state.layer.clone())
                    .with_state(state.clone()),
            )
            .with_state(state.clone())
            .layer(axum::middleware::from_fn_with_state(state.clone(), count))
            .layer(keystone_middleware::access_log(&state.server))
            .layer(RequestIdLayer)
    }

    /// The admin listener's router: `/livez`, `/readyz` (the startup check passes) and
    /// `/metrics` (Prometheus text).
    pub fn admin_router(&self) -> Router {
        Router::new()
            .route("/livez", get(|| async { "ok" }))
            .route("/readyz", get(readyz))
            .route("/metrics", get(metrics_text))
            .with_state(self.state.clone())
    }
}

/// The registered defaults: each rule of `[proxy] rules`, documented with the routes that
/// use it (oslo.policy's `operations`), so `keystone_policy::sample` describes the proxy's
/// routes.
pub fn rule_defaults(config: &ProxyConfig) -> Vec<RuleDefault> {
    config
        .proxy
        .rules
        .iter()
        .map(|(name, check)| {
            let mut rule = RuleDefault::new(name, check);
            for route in config
                .proxy
                .routes
                .iter()
                .filter(|r| r.rule.as_ref() == Some(name))
            {
                if route.methods.is_empty() {
                    rule = rule.operation("*", &route.path);
                }
                for m in &route.methods {
                    rule = rule.operation(m, &route.path);
                }
            }
            rule
        })
        .collect()
}

/// An answer in OpenStack's JSON error shape.
pub(crate) fn json_error(status: StatusCode, message: &str) -> Response<Body> {
    let body = keystone_types::ErrorResponse::new(status.as_u16(), message);
    let mut r = axum::Json(body).into_response();
    *r.status_mut() = status;
    r
}

/// The answer refusing a request (`method` on `path`), when the route table or the policy
/// refuses it; none when it may go on.
fn refusal(
    state: &Shared,
    method: &Method,
    path: &str,
    query: Option<&str>,
    ctx: Option<&Context>,
) -> Option<Response<Body>> {
    let authenticated = ctx.is_some_and(Context::is_authenticated);
    let unauthenticated = || {
        with_outcome(
            json_error(
                StatusCode::UNAUTHORIZED,
                "The request you have made requires authentication.",
            ),
            Outcome::Unauthenticated,
        )
    };
    match state.routes.find(method, path, query) {
        None => match (state.unmatched, authenticated) {
            (_, false) => Some(unauthenticated()),
            (Unmatched::Authenticated, true) => None,
            (Unmatched::Deny, true) => Some(with_outcome(
                json_error(
                    StatusCode::FORBIDDEN,
                    "No route of this proxy allows the request.",
                ),
                Outcome::Forbidden,
            )),
        },
        Some(Matched {
            access: Access::Public,
            ..
        }) => None,
        Some(Matched {
            access: Access::Rule(rule),
            target,
        }) => {
            let Some(ctx) = ctx.filter(|c| c.is_authenticated()) else {
                return Some(unauthenticated());
            };
            state
                .policy
                .authorize(&rule, &serde_json::Value::Object(target), ctx)
                .err()
                .map(|denied| with_outcome(denied.into_response(), Outcome::Forbidden))
        }
    }
}

fn with_outcome(mut r: Response<Body>, outcome: Outcome) -> Response<Body> {
    r.extensions_mut().insert(outcome);
    r
}

/// Every path but the forward-auth endpoint: decide, then forward.
async fn reverse_proxy(State(state): State<Arc<Shared>>, req: Request) -> Response<Body> {
    let Some(upstream) = &state.upstream else {
        return json_error(StatusCode::NOT_FOUND, "The resource could not be found.");
    };
    let ctx = req.extensions().get::<Context>().cloned();
    if let Some(answer) = refusal(
        &state,
        req.method(),
        req.uri().path(),
        req.uri().query(),
        ctx.as_ref(),
    ) {
        return answer;
    }
    let client = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let request_id = req
        .extensions()
        .get::<RequestIds>()
        .map(|ids| ids.request_id.to_string());
    let started = Instant::now();
    let answer = upstream.forward(req, client, request_id.as_deref()).await;
    state.metrics.upstream_latency(started.elapsed());
    // the upstream's answer, unless forwarding failed (marked so)
    if answer.extensions().get::<Outcome>().is_some() {
        return answer;
    }
    with_outcome(answer, Outcome::Allowed)
}

/// The original request a gateway asks the forward-auth endpoint about, from its headers:
/// nginx's `X-Original-Method`/`X-Original-URI`, Traefik's
/// `X-Forwarded-Method`/`X-Forwarded-Uri`. Without a URI header, Envoy's shape: the path after
/// the endpoint's (`path_prefix` + the original path and query), with the method of the
/// check itself unless a method header names another. `None` when neither names a request,
/// or a header is not a method or a URI.
fn original_request(forward_auth_path: &str, req: &Request) -> Option<(Method, Uri)> {
    let headers: &HeaderMap = req.headers();
    let get = |names: [&str; 2]| {
        names
            .iter()
            .find_map(|n| headers.get(*n).and_then(|v| v.to_str().ok()))
    };
    let uri = match get(["x-original-uri", "x-forwarded-uri"]) {
        Some(uri) => uri.parse::<Uri>().ok()?,
        None => {
            let base = forward_auth_path.trim_end_matches('/');
            let rest = req.uri().path().strip_prefix(base)?;
            if !rest.starts_with('/') {
                return None;
            }
            match req.uri().query() {
                Some(q) => format!("{rest}?{q}").parse().ok()?,
                None => rest.parse().ok()?,
            }
        }
    };
    let method = match get(["x-original-method", "x-forwarded-method"]) {
        Some(m) => Method::from_bytes(m.as_bytes()).ok()?,
        // Envoy checks with the original request's method
        None if req.uri().path() != forward_auth_path => req.method().clone(),
        None => return None,
    };
    // only an origin-form URI names a request of this service
    if uri.scheme().is_some() || !uri.path().starts_with('/') {
        return None;
    }
    Some((method, uri))
}

/// Before the authentication layer, on the forward-auth endpoint: the request becomes the
/// original one (its method and URI, `OriginalUri` too), so that the layer checks an
/// application credential's access rules against what the client asked, not against the
/// endpoint; 400 when the gateway did not say what that was.
async fn to_original_request(
    State(state): State<Arc<Shared>>,
    mut req: Request,
    next: axum::middleware::Next,
) -> Response<Body> {
    let path = state.forward_auth_path.as_deref().unwrap_or_default();
    let Some((method, uri)) = original_request(path, &req) else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "A forward-auth request names the original request in X-Original-Method and \
             X-Original-URI (nginx), X-Forwarded-Method and X-Forwarded-Uri (Traefik), or in \
             the path after the endpoint's (Envoy's path_prefix).",
        );
    };
    *req.method_mut() = method;
    req.extensions_mut().insert(OriginalUri(uri.clone()));
    *req.uri_mut() = uri;
    next.run(req).await
}

/// The forward-auth endpoint, on the original request (see [`to_original_request`]): 200
/// with the identity headers the gateway copies to the upstream request, or the refusal.
async fn forward_auth(State(state): State<Arc<Shared>>, req: Request) -> Response<Body> {
    let ctx = req.extensions().get::<Context>();
    if let Some(answer) = refusal(
        &state,
        req.method(),
        req.uri().path(),
        req.uri().query(),
        ctx,
    ) {
        return answer;
    }
    let mut answer = Response::new(Body::empty());
    for (name, value) in req.headers() {
        if keystone_middleware::is_identity_header(name.as_str()) {
            answer.headers_mut().append(name.clone(), value.clone());
        }
    }
    with_outcome(answer, Outcome::Allowed)
}

/// Counts each answer by its outcome.
async fn count(
    State(state): State<Arc<Shared>>,
    req: Request,
    next: axum::middleware::Next,
) -> Response<Body> {
    let answer = next.run(req).await;
    let outcome = answer
        .extensions()
        .get::<Outcome>()
        .copied()
        .unwrap_or(match answer.status() {
            // the authentication layer's own answers
            StatusCode::UNAUTHORIZED => Outcome::Unauthenticated,
            StatusCode::TOO_MANY_REQUESTS => Outcome::RateLimited,
            _ => Outcome::Unavailable,
        });
    state.metrics.count(outcome);
    answer
}

async fn readyz(State(state): State<Arc<Shared>>) -> Response<Body> {
    match state.layer.check().await {
        // a dead memcached costs hits, and a stale revocation feed lengthens a revoked
        // token's life in the cache; neither fails a request: said, but still ready
        Ok(()) => {
            let mut notes = vec![];
            if let Some((n, dead)) = state.layer.shared_cache_servers()
                && dead > 0
            {
                notes.push(format!(
                    "memcached: {dead} of {n} servers unreachable, their tokens are validated \
                     with Keystone"
                ));
            }
            if let Some(r) = state.layer.revocation_status()
                && r.stale
            {
                let age = r
                    .last_poll_age
                    .map_or_else(|| "never".to_owned(), |a| format!("{}s ago", a.as_secs()));
                notes.push(format!(
                    "revocation events stale: last read {age}, revoked tokens are served from \
                     the cache until their entries end"
                ));
            }
            if notes.is_empty() {
                (StatusCode::OK, "ready").into_response()
            } else {
                (StatusCode::OK, format!("ready; {}", notes.join("; "))).into_response()
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            json_error(StatusCode::SERVICE_UNAVAILABLE, &e.to_string())
        }
    }
}

async fn metrics_text(State(state): State<Arc<Shared>>) -> Response<Body> {
    keystone_middleware::metrics_response(state.metrics.registry())
}
