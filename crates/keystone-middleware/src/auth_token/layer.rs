//! [`AuthTokenLayer`]: configuration only, cheap to clone; and [`Shared`], what it shares
//! with every [`AuthToken`] it makes: the session, the cache, and the decisions made on them.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderValue, Method, Request};
use governor::{DefaultKeyedRateLimiter, Quota};
use keystone_client::{ErrorKind, Session, ValidateOptions};
use tokio::sync::Semaphore;
use tower::Layer;

use super::access::path_matches;
use super::service::AuthToken;
use super::startup::StartupError;
use crate::cache::{CacheCounters, Rejection, TokenCache};
use crate::compact::CompactToken;
use crate::config::AuthTokenConfig;
use crate::headers;
use crate::shared_cache::SharedCache;

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
    /// Validations in flight (`max_concurrent_validations`): when none is left, a request
    /// that needs one is answered 503 at once.
    pub(crate) validations: Semaphore,
    /// One total deadline per validation, its retries included.
    pub(crate) validation_timeout: Duration,
    /// Validations of unknown tokens per client address (`unknown_token_rate`), if limited.
    pub(crate) unknown_tokens: Option<DefaultKeyedRateLimiter<IpAddr>>,
    /// When the layer was made, and the second after it of the last ERROR about rejected
    /// credentials (0: never).
    pub(crate) started: std::time::Instant,
    pub(crate) rejection_logged: std::sync::atomic::AtomicU64,
    /// `revocation_check_interval`, unless the checks are off (0, or no cache).
    revocation_interval: Option<Duration>,
    /// How long revocation events are kept.
    pub(crate) revocation_keep: Duration,
    /// Ends the revocation task when the last clone of the layer is dropped.
    revocation_stop: Arc<tokio::sync::Notify>,
    /// Starts the revocation task once, on a runtime.
    revocation_started: std::sync::Once,
    /// This state, for the task (which holds it only while it polls).
    me: std::sync::Weak<Shared>,
}

impl super::revoke_poll::Polled for Shared {
    fn session(&self) -> &Session {
        &self.session
    }
    fn cache(&self) -> &TokenCache {
        &self.cache
    }
    fn poll_timeout(&self) -> Duration {
        self.validation_timeout
    }
    fn keep(&self) -> Duration {
        self.revocation_keep
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.revocation_stop.notify_one();
    }
}

/// The least time between two ERROR lines about rejected credentials.
const REJECTION_LOG_EVERY: Duration = Duration::from_secs(30);

/// Above this many client addresses, the rate limiter forgets those back at a full burst.
const RATE_LIMITER_KEYS: usize = 10_000;

impl Shared {
    /// The token's body, from the cache or else from Keystone (for `client`, the request's
    /// peer address when known, whose unknown tokens are rate limited).
    pub(super) async fn validate(
        &self,
        token: &str,
        allow_expired: bool,
        client: Option<IpAddr>,
    ) -> Result<Arc<CompactToken>, Rejection> {
        // a layer made outside a runtime starts its task with its first validation
        self.start_revocation_checks();
        self.cache
            .get_or_validate(token, allow_expired, || {
                self.ask_keystone(token, allow_expired, client)
            })
            .await
    }

    /// Starts reading revocation events, once, if they are on and a runtime is running.
    pub(super) fn start_revocation_checks(&self) {
        let Some(interval) = self.revocation_interval else {
            return;
        };
        if self.revocation_started.is_completed() || tokio::runtime::Handle::try_current().is_err()
        {
            return;
        }
        self.revocation_started.call_once(|| {
            self.cache
                .revoked
                .active
                .store(true, std::sync::atomic::Ordering::Relaxed);
            super::revoke_poll::spawn(self.me.clone(), interval, self.revocation_stop.clone());
        });
    }

    /// One validation by Keystone, within the bounds: the client's rate of unknown tokens,
    /// the validations in flight, and the total deadline.
    async fn ask_keystone(
        &self,
        token: &str,
        allow_expired: bool,
        client: Option<IpAddr>,
    ) -> Result<keystone_client::AccessInfo, Rejection> {
        if let (Some(limiter), Some(ip)) = (&self.unknown_tokens, client) {
            if limiter.len() > RATE_LIMITER_KEYS {
                limiter.retain_recent();
            }
            if limiter.check_key(&ip).is_err() {
                tracing::debug!(client = %ip, "too many unknown tokens from one client");
                return Err(Rejection::RateLimited);
            }
        }
        let Ok(_in_flight) = self.validations.try_acquire() else {
            tracing::warn!("too many validations in flight: answering 503 without asking");
            return Err(Rejection::Overloaded);
        };
        let options = ValidateOptions {
            nocatalog: !self.include_service_catalog,
            allow_expired,
            // we enforce access rules, so Keystone shows such tokens to us
            access_rules: true,
        };
        let asked = self.session.validate_token(token, options);
        match tokio::time::timeout(self.validation_timeout, asked).await {
            Ok(Ok(a)) => Ok(a),
            Ok(Err(e)) if e.kind() == ErrorKind::NotFound => Err(Rejection::Invalid),
            Ok(Err(e)) if matches!(e.kind(), ErrorKind::Unauthorized | ErrorKind::Forbidden) => {
                self.log_rejected_credentials(&e);
                Err(Rejection::CredentialsRejected)
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "cannot validate a token with Keystone");
                Err(Rejection::Unavailable(e.to_string()))
            }
            Err(_) => {
                let e = format!("no answer within {:?}", self.validation_timeout);
                tracing::warn!(error = %e, "cannot validate a token with Keystone");
                Err(Rejection::Unavailable(e))
            }
        }
    }

    /// An ERROR line, at most one every [`REJECTION_LOG_EVERY`], for a validation that failed
    /// because Keystone rejected the service's own credentials (the session logs each of its
    /// login backoff steps too) or its permission to validate tokens.
    fn log_rejected_credentials(&self, e: &keystone_client::Error) {
        let now = self.started.elapsed().as_secs();
        let last = self
            .rejection_logged
            .load(std::sync::atomic::Ordering::Relaxed);
        let due = last == 0 || now >= last + REJECTION_LOG_EVERY.as_secs();
        if due
            && self
                .rejection_logged
                .compare_exchange(
                    last,
                    now.max(1),
                    std::sync::atomic::Ordering::Relaxed,
                    std::sync::atomic::Ordering::Relaxed,
                )
                .is_ok()
        {
            let cause = if e.kind() == ErrorKind::Forbidden {
                "the service user may not validate tokens (identity:validate_token)"
            } else {
                "Keystone rejected the service's own credentials"
            };
            let who = super::startup::describe(&self.session);
            tracing::error!(error = %e, service_user = %who, "{cause}: answering 503 until it is fixed");
        }
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
    /// A layer validating with `session` (the service's own credentials). The `memcache*`
    /// options are checked here: a security strategy without its secret key, or a server that
    /// is not `host:port`, is an error.
    pub fn new(session: Session, config: &AuthTokenConfig) -> Result<Self, keystone_client::Error> {
        let shared = SharedCache::from_config(config)?;
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
        // events matter only to a cache; they are kept past its longest entry, in either tier
        let revocation_interval = (config.revocation_check_interval > 0 && lifetime.is_some())
            .then(|| Duration::from_secs(config.revocation_check_interval));
        let longest = lifetime.unwrap_or_default().max(
            shared
                .as_ref()
                .map_or(Duration::ZERO, SharedCache::lifetime),
        );
        let layer = AuthTokenLayer {
            shared: Arc::new_cyclic(|me| Shared {
                session,
                cache: TokenCache::new(config.token_cache_size, lifetime, negative)
                    .with_shared(shared),
                delay_auth_decision: config.delay_auth_decision,
                include_service_catalog: config.include_service_catalog,
                service_token_roles: config.service_token_roles.clone(),
                service_token_roles_required: config.service_token_roles_required,
                service_type: config.service_type.clone(),
                www_authenticate,
                www_local: thread_local::ThreadLocal::new(),
                validations: Semaphore::new(
                    usize::try_from(config.max_concurrent_validations)
                        .unwrap_or(usize::MAX)
                        .clamp(1, Semaphore::MAX_PERMITS),
                ),
                validation_timeout: Duration::from_secs(config.validation_timeout.max(1)),
                unknown_tokens: unknown_token_limiter(config),
                started: std::time::Instant::now(),
                rejection_logged: std::sync::atomic::AtomicU64::new(0),
                revocation_interval,
                revocation_keep: super::revoke_poll::keep(longest),
                revocation_stop: Arc::new(tokio::sync::Notify::new()),
                revocation_started: std::sync::Once::new(),
                me: me.clone(),
            }),
        };
        layer.shared.start_revocation_checks();
        Ok(layer)
    }

    /// The startup check: authenticates the service user, finds its identity endpoint and
    /// validates its own token there, so that the credentials and the permission to validate
    /// tokens (`identity:validate_token`) are both proven. Run it at start and exit with its
    /// error, which names the cause (an unreachable Keystone with its URL, rejected credentials
    /// with the user and domain, the missing permission, no identity endpoint for the
    /// interface and region) and never a secret.
    pub async fn check(&self) -> Result<(), StartupError> {
        super::startup::check(&self.shared.session).await
    }

    /// A layer from `[keystone_authtoken]`.
    pub fn from_config(config: &AuthTokenConfig) -> Result<Self, keystone_client::Error> {
        let session = config.session_builder()?.build()?;
        Self::new(session, config)
    }

    /// The cache counters (hits, misses, coalesced waits, validations, Keystone errors).
    pub fn counters(&self) -> CacheCounters {
        self.shared.cache.counters()
    }

    /// Registers the layer's metrics in a Prometheus registry, under its prefix: the cache and
    /// validation counters (`token_cache_hits`, `token_cache_misses`, `token_cache_coalesced`,
    /// `validations`, `keystone_errors`, `negative_cache_hits`, `validations_overloaded`,
    /// `validations_rate_limited`, `credentials_rejected`) and the histogram
    /// `validation_latency_seconds`. Serve the registry with
    /// [`metrics_response`](crate::metrics_response).
    pub fn register_metrics(&self, registry: &mut prometheus_client::registry::Registry) {
        crate::metrics::register(self, registry);
    }

    /// The histogram of Keystone's validation latency.
    pub(crate) fn validation_latency(&self) -> &prometheus_client::metrics::histogram::Histogram {
        self.shared.cache.validation_latency()
    }

    /// The shared (memcached) tier's servers, and how many are skipped now because they
    /// failed within `memcache_pool_dead_retry`; `None` without `memcached_servers`. A dead
    /// server costs hits, never requests: readiness endpoints report it without failing.
    pub fn shared_cache_servers(&self) -> Option<(usize, usize)> {
        self.shared.cache.shared_servers()
    }

    /// Where revocation checks stand; `None` when they are off (`revocation_check_interval`
    /// 0, no cache, or a service user that may not read the events).
    pub fn revocation_status(&self) -> Option<RevocationStatus> {
        let revoked = &self.shared.cache.revoked;
        let interval = self.shared.revocation_interval?;
        if !revoked.active.load(std::sync::atomic::Ordering::Relaxed) {
            return None;
        }
        let last_poll_age = revoked.last_success_age();
        // three intervals (and a validation's deadline) without a good poll
        let late = interval.saturating_mul(3) + self.shared.validation_timeout;
        let stale = match last_poll_age {
            Some(age) => age > late,
            None => self.shared.started.elapsed() > late,
        };
        Some(RevocationStatus {
            last_poll_age,
            events: revoked.len(),
            stale,
        })
    }

    /// Adds revocation events as a poll would, and evicts what they cover: for benchmarks only.
    #[doc(hidden)]
    pub async fn __apply_revocation_events(
        &self,
        events: Vec<keystone_types::revoke::RevokeEvent>,
    ) {
        self.shared
            .cache
            .revoked
            .apply(events, self.shared.revocation_keep);
        self.shared.cache.evict_revoked().await;
    }

    /// How many validated tokens the shared cache holds (by their hashes; pending work
    /// done first, so the figure is current).
    pub async fn cached_tokens(&self) -> u64 {
        self.shared.cache.len().await
    }
}

/// Where revocation checks stand ([`AuthTokenLayer::revocation_status`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RevocationStatus {
    /// Time since the last successful read of the events; `None` before the first.
    pub last_poll_age: Option<Duration>,
    /// How many events are held.
    pub events: usize,
    /// No successful read for three intervals: a revoked token may be served until its
    /// cache entry ends. Requests are served as before; readiness endpoints report it.
    pub stale: bool,
}

/// `unknown_token_rate` per second per client address, with `unknown_token_burst`; none
/// when the rate is 0.
fn unknown_token_limiter(config: &AuthTokenConfig) -> Option<DefaultKeyedRateLimiter<IpAddr>> {
    let rate = NonZeroU32::new(u32::try_from(config.unknown_token_rate).unwrap_or(u32::MAX))?;
    let burst = NonZeroU32::new(u32::try_from(config.unknown_token_burst).unwrap_or(u32::MAX))
        .unwrap_or(rate);
    Some(DefaultKeyedRateLimiter::keyed(
        Quota::per_second(rate).allow_burst(burst),
    ))
}

impl<S> Layer<S> for AuthTokenLayer {
    type Service = AuthToken<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthToken::new(inner, self.shared.clone())
    }
}
