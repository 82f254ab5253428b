//! [`AuthTokenLayer`]: configuration only, cheap to clone; and [`Shared`], what it shares
//! with every [`AuthToken`] it makes: the session, the cache, and the decisions made on them.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderValue, Method, Request};
use keystone_client::{ErrorKind, Session, ValidateOptions};
use tower::Layer;

use super::access::path_matches;
use super::service::AuthToken;
use crate::cache::{CacheCounters, Rejection, TokenCache};
use crate::compact::CompactToken;
use crate::config::AuthTokenConfig;
use crate::headers;

/// What the layer shares between clones and requests.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) session: Session,
    pub(crate) cache: TokenCache,
    pub(crate) delay_auth_decision: bool,
    pub(crate) include_service_catalog: bool,
    pub(crate) service_token_roles: Vec<String>,
    pub(crate) service_token_roles_required: bool,
    /// This service's type, against which application credentials' access rules are checked.
    pub(crate) service_type: Option<String>,
    pub(crate) www_authenticate: Option<HeaderValue>,
    pub(crate) www_local: thread_local::ThreadLocal<Option<HeaderValue>>,
}

impl Shared {
    pub(super) async fn validate(
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
    pub(super) fn www_authenticate(&self) -> Option<HeaderValue> {
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
    pub(super) fn cached_user<B>(
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
    pub(super) fn allowed_by_access_rules<B>(
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

    pub(super) fn service_roles_ok(&self, t: &CompactToken) -> bool {
        // compared exactly, as keystonemiddleware does
        t.roles()
            .any(|have| self.service_token_roles.iter().any(|want| want == have))
    }
}

/// A tower layer that authenticates requests with Keystone tokens, as keystonemiddleware's
/// `auth_token` does.
///
/// # Example
///
/// ```no_run
/// # async fn run() -> anyhow::Result<()> {
/// use axum::{Router, routing::get};
/// use keystone_middleware::{AuthTokenLayer, Context, config::Config};
///
/// let config = Config::load("/etc/myservice/myservice.conf".as_ref())?;
/// let auth = AuthTokenLayer::from_config(&config.keystone_authtoken)?;
/// let app: Router = Router::new()
///     .route("/v1/whoami", get(|ctx: Context| async move { ctx.user_id().unwrap_or_default().to_owned() }))
///     .layer(auth);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct AuthTokenLayer {
    shared: Arc<Shared>,
}

impl AuthTokenLayer {
    /// A layer validating with `session` (the service's own credentials).
    pub fn new(session: Session, config: &AuthTokenConfig) -> Self {
        // as keystonemiddleware: -1 disables the cache, 0 keeps entries until their tokens
        // expire
        let lifetime = match config.token_cache_time {
            t if t < 0 => None,
            0 => Some(Duration::MAX),
            t => Some(Duration::from_secs(t.unsigned_abs())),
        };
        let negative = (config.negative_cache_time > 0)
            .then(|| Duration::from_secs(config.negative_cache_time as u64));
        // as keystonemiddleware, the session's auth URL when the configuration names none
        let uri = config.www_authenticate_uri().unwrap_or(session.auth_url());
        let www_authenticate = HeaderValue::from_str(&format!("Keystone uri=\"{uri}\"")).ok();
        AuthTokenLayer {
            shared: Arc::new(Shared {
                session,
                cache: TokenCache::new(config.token_cache_size, lifetime, negative),
                delay_auth_decision: config.delay_auth_decision,
                include_service_catalog: config.include_service_catalog,
                service_token_roles: config.service_token_roles.clone(),
                service_token_roles_required: config.service_token_roles_required,
                service_type: config.service_type.clone(),
                www_authenticate,
                www_local: thread_local::ThreadLocal::new(),
            }),
        }
    }

    /// A layer from `[keystone_authtoken]`.
    pub fn from_config(config: &AuthTokenConfig) -> Result<Self, keystone_client::Error> {
        let session = config.session_builder()?.build()?;
        Ok(Self::new(session, config))
    }

    /// The cache counters (hits, misses, coalesced waits, validations, Keystone errors).
    pub fn counters(&self) -> CacheCounters {
        self.shared.cache.counters()
    }

    /// How many validated tokens the shared cache holds (by their hashes; pending work
    /// done first, so the figure is current).
    pub async fn cached_tokens(&self) -> u64 {
        self.shared.cache.len().await
    }
}

impl<S> Layer<S> for AuthTokenLayer {
    type Service = AuthToken<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthToken::new(inner, self.shared.clone())
    }
}
