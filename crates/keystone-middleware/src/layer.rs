//! [`AuthTokenLayer`]: configuration only, cheap to clone.

use std::sync::Arc;
use std::time::Duration;

use axum::http::HeaderValue;
use keystone_client::Session;
use tower::Layer;

use crate::cache::{CacheCounters, TokenCache};
use crate::config::AuthTokenConfig;
use crate::service::AuthToken;

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

    /// The token cache.
    pub fn cache(&self) -> &TokenCache {
        &self.shared.cache
    }
}

impl<S> Layer<S> for AuthTokenLayer {
    type Service = AuthToken<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthToken::new(inner, self.shared.clone())
    }
}
