//! A session: the HTTP client, the authentication, the cached token, and the rules for
//! re-authenticating and retrying. Cheap to clone; clones share the token.
//!
//! # Example
//!
//! ```no_run
//! # async fn run() -> keystone_client::Result<()> {
//! use keystone_client::{Auth, Session, UserIdentity};
//! use keystone_client::catalog::EndpointFilter;
//! use keystone_types::auth::Scope;
//!
//! let auth = Auth::password(UserIdentity::by_name("myservice", "Default"), "secret")
//!     .scoped(Scope::project_by_name("services", "Default"));
//! let session = Session::builder("http://keystone.example:5000/v3", auth).build()?;
//! let url = session.endpoint(&EndpointFilter::new("myservice")).await?;
//! let things: serde_json::Value = session.get(format!("{url}/v1/thing/list")).send_json().await?;
//! # Ok(()) }
//! ```

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use keystone_types::Secret;
use keystone_types::token::TokenResponse;
use keystone_types::version::{VersionResponse, VersionsResponse};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, Response, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::{Mutex, OnceCell};

use crate::access::AccessInfo;
use crate::auth::Auth;
use crate::catalog::{EndpointFilter, Interface};
use crate::error::{ConfigError, Error, ErrorKind, RawBody, Result};

/// The default margin: re-authenticate when less than this is left of the token's life.
pub const DEFAULT_REAUTH_MARGIN: Duration = Duration::from_secs(120);

/// The default limit on one request, answer included: a Keystone that accepts connections and
/// never answers must not hold callers forever (keystoneauth1 waits without limit).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// The default limit on connecting.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Configures a [`Session`].
#[derive(Debug, Clone)]
pub struct SessionBuilder {
    auth_url: String,
    auth: Auth,
    reauth_margin: Duration,
    timeout: Option<Duration>,
    connect_timeout: Option<Duration>,
    connect_retries: u32,
    status_retries: u32,
    retry_delay: Duration,
    max_retry_delay: Duration,
    login_backoff: (Duration, Duration),
    user_agent: String,
    cacert: Option<PathBuf>,
    client_cert: Option<(PathBuf, PathBuf)>,
    insecure: bool,
    interfaces: Vec<Interface>,
    region: Option<String>,
    identity_from_catalog: bool,
    include_catalog: bool,
}

impl SessionBuilder {
    /// Send the calls made with the session's token (token validation, the admin API) to the
    /// identity endpoint of the token's catalog, chosen with the session's interfaces and
    /// region, as keystoneauth1's adapters (and so keystonemiddleware) do; to the auth URL's
    /// when the catalog has none. Off by default: everything goes to the auth URL's Identity
    /// v3 root. Authentication itself always goes to the auth URL.
    pub fn identity_from_catalog(mut self, yes: bool) -> Self {
        self.identity_from_catalog = yes;
        self
    }

    /// Ask for the session's own token without its catalog (`?nocatalog`, keystoneauth1's
    /// `include_catalog=False`): smaller answers for a session that only validates tokens or
    /// calls the admin API, but [`Session::endpoint`] then has nothing to choose from
    /// ([`crate::Error::EmptyCatalog`]). On by default.
    pub fn include_catalog(mut self, yes: bool) -> Self {
        self.include_catalog = yes;
        self
    }

    /// Re-authenticate when less than `margin` is left (default 120 s).
    pub fn reauth_margin(mut self, margin: Duration) -> Self {
        self.reauth_margin = margin;
        self
    }

    /// After Keystone rejects the session's own credentials, how long no login is tried (1 s
    /// by default; it doubles after each rejection in a row) and its cap (30 s). Meanwhile
    /// requests that need a new token fail at once with [`Error::CredentialsBackoff`].
    pub fn login_backoff(mut self, first: Duration, cap: Duration) -> Self {
        self.login_backoff = (first, cap.max(first));
        self
    }

    /// Per-request timeout, the answer's body included ([`DEFAULT_TIMEOUT`] by default).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Connection timeout ([`DEFAULT_CONNECT_TIMEOUT`] by default).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// Retries (0 by default, with exponential backoff) after a failed connection, and, for
    /// requests that may be repeated (`GET`, `HEAD`, `PUT`, `DELETE`, authentication), after a
    /// connection that broke, as keystoneauth1's `connect_retries`. An answer that timed out
    /// is not retried: a slow Keystone is not sent the same request again.
    pub fn connect_retries(mut self, retries: u32) -> Self {
        self.connect_retries = retries;
        self
    }

    /// Retries after a 503 or 429 answer (0 by default), after the answer's `Retry-After`
    /// (whole seconds, capped by the backoff cap) or with exponential backoff.
    pub fn status_retries(mut self, retries: u32) -> Self {
        self.status_retries = retries;
        self
    }

    /// The first backoff delay (0.5 s by default; it doubles on every retry) and its cap
    /// (60 s by default).
    pub fn retry_delay(mut self, first: Duration, cap: Duration) -> Self {
        self.retry_delay = first;
        self.max_retry_delay = cap;
        self
    }

    /// The `User-Agent` header.
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Trust the CA certificates in this PEM file (as `OS_CACERT`).
    pub fn cacert(mut self, path: impl Into<PathBuf>) -> Self {
        self.cacert = Some(path.into());
        self
    }

    /// Present this client certificate and key (PEM files; the same file when it holds both).
    pub fn client_cert(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.client_cert = Some((cert.into(), key.into()));
        self
    }

    /// Do not verify server certificates (as `OS_INSECURE`).
    pub fn insecure(mut self, insecure: bool) -> Self {
        self.insecure = insecure;
        self
    }

    /// The interfaces to prefer when picking endpoints (`public` by default).
    pub fn interfaces(mut self, interfaces: impl IntoIterator<Item = Interface>) -> Self {
        self.interfaces = interfaces.into_iter().collect();
        self
    }

    /// The region to pick endpoints in (any by default).
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// Builds the session. Fails on an unusable URL or TLS file.
    pub fn build(self) -> Result<Session> {
        let parsed = url::Url::parse(&self.auth_url)
            .map_err(|e| ConfigError::invalid("auth_url", &self.auth_url, e.to_string()))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(
                ConfigError::invalid("auth_url", &self.auth_url, "not an http(s) URL").into(),
            );
        }
        let mut http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(self.user_agent.clone())
            .danger_accept_invalid_certs(self.insecure);
        if let Some(t) = self.timeout {
            http = http.timeout(t);
        }
        if let Some(t) = self.connect_timeout {
            http = http.connect_timeout(t);
        }
        if let Some(path) = &self.cacert {
            let pem = read_file(path)?;
            let certs =
                reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| ConfigError::File {
                    path: path.display().to_string(),
                    reason: e.to_string(),
                })?;
            for cert in certs {
                http = http.add_root_certificate(cert);
            }
        }
        if let Some((cert, key)) = &self.client_cert {
            let mut pem = read_file(cert)?;
            // one file may hold both
            if key != cert {
                pem.extend(read_file(key)?);
            }
            let identity = reqwest::Identity::from_pem(&pem).map_err(|e| ConfigError::File {
                path: cert.display().to_string(),
                reason: e.to_string(),
            })?;
            http = http.identity(identity);
        }
        let http = http
            .build()
            .map_err(|e| ConfigError::invalid("tls", "", e.to_string()))?;
        Ok(Session {
            inner: Arc::new(Inner {
                http,
                auth_url: self.auth_url.trim_end_matches('/').to_owned(),
                v3_url: OnceCell::new(),
                catalog_v3: std::sync::Mutex::new(None),
                token: Mutex::new(None),
                login_backoff: std::sync::Mutex::new(LoginBackoff::default()),
                config: self,
            }),
        })
    }
}

fn read_file(path: &PathBuf) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| {
        ConfigError::File {
            path: path.display().to_string(),
            reason: e.to_string(),
        }
        .into()
    })
}

struct Inner {
    http: reqwest::Client,
    auth_url: String,
    v3_url: OnceCell<String>,
    /// The catalog's identity endpoint and its discovered v3 root, when
    /// `identity_from_catalog` is on (found again when the catalog names another endpoint).
    catalog_v3: std::sync::Mutex<Option<(String, String)>>,
    token: Mutex<Option<AccessInfo>>,
    /// After Keystone rejected our credentials: when to try again, and the next step.
    login_backoff: std::sync::Mutex<LoginBackoff>,
    config: SessionBuilder,
}

/// The backoff of the session's own logins after Keystone rejected its credentials.
#[derive(Debug, Default)]
struct LoginBackoff {
    /// No login before this instant.
    until: Option<std::time::Instant>,
    /// The wait after the next rejection.
    next: Duration,
    /// Why the last login failed.
    cause: String,
}

/// An authenticated session. Clones share the HTTP connections and the cached token.
#[derive(Clone)]
pub struct Session {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("auth_url", &self.inner.auth_url)
            .field("auth", &self.inner.config.auth)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Configures a session for `auth_url` (with or without `/v3`).
    pub fn builder(auth_url: impl Into<String>, auth: Auth) -> SessionBuilder {
        SessionBuilder {
            auth_url: auth_url.into(),
            auth,
            reauth_margin: DEFAULT_REAUTH_MARGIN,
            timeout: Some(DEFAULT_TIMEOUT),
            connect_timeout: Some(DEFAULT_CONNECT_TIMEOUT),
            connect_retries: 0,
            status_retries: 0,
            retry_delay: Duration::from_millis(500),
            max_retry_delay: Duration::from_secs(60),
            login_backoff: (Duration::from_secs(1), Duration::from_secs(30)),
            user_agent: concat!("keystone-client/", env!("CARGO_PKG_VERSION")).to_owned(),
            cacert: None,
            client_cert: None,
            insecure: false,
            interfaces: vec![Interface::Public],
            region: None,
            identity_from_catalog: false,
            include_catalog: true,
        }
    }

    /// The auth URL, as configured (without a trailing `/`).
    pub fn auth_url(&self) -> &str {
        &self.inner.auth_url
    }

    /// How the session authenticates (its `Debug` never shows a secret).
    pub fn auth(&self) -> &Auth {
        &self.inner.config.auth
    }

    /// The underlying HTTP client (no redirects followed).
    pub fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    /// The configured interfaces, in order of preference.
    pub fn interfaces(&self) -> &[Interface] {
        &self.inner.config.interfaces
    }

    /// The configured region.
    pub fn region(&self) -> Option<&str> {
        self.inner.config.region.as_deref()
    }

    /// The Identity v3 root, found by version discovery: the `v3` entry of the version
    /// document at the auth URL, or, when discovery fails, the auth URL itself (with `/v3`
    /// appended unless it ends with it).
    pub async fn identity_url(&self) -> Result<String> {
        // an answer (even one without versions) is kept; no answer is asked again next time
        match self
            .inner
            .v3_url
            .get_or_try_init(|| discover(&self.inner.http, &self.inner.auth_url))
            .await
        {
            Ok(url) => Ok(url.clone()),
            Err(Unreached(fallback)) => Ok(fallback),
        }
    }

    /// The Identity v3 root for calls made with the session's token: [`Session::identity_url`],
    /// or, with [`SessionBuilder::identity_from_catalog`], the catalog's identity endpoint for
    /// the session's interfaces and region (discovered once per endpoint), falling back to
    /// [`Session::identity_url`] when the catalog has none.
    pub async fn api_identity_url(&self) -> Result<String> {
        if !self.inner.config.identity_from_catalog {
            return self.identity_url().await;
        }
        let endpoint = match self.endpoint(&EndpointFilter::new("identity")).await {
            Ok(url) => url.trim_end_matches('/').to_owned(),
            Err(Error::EmptyCatalog | Error::EndpointNotFound { .. }) => {
                return self.identity_url().await;
            }
            Err(e) => return Err(e),
        };
        if let Some((known, v3)) = &*lock(&self.inner.catalog_v3)
            && *known == endpoint
        {
            return Ok(v3.clone());
        }
        match discover(&self.inner.http, &endpoint).await {
            Ok(v3) => {
                *lock(&self.inner.catalog_v3) = Some((endpoint, v3.clone()));
                Ok(v3)
            }
            // not kept: the next call asks again
            Err(Unreached(fallback)) => Ok(fallback),
        }
    }

    /// Authenticates now, without the cache.
    pub async fn authenticate(&self) -> Result<AccessInfo> {
        let nocatalog = if self.inner.config.include_catalog {
            ""
        } else {
            "?nocatalog"
        };
        let url = format!("{}/auth/tokens{nocatalog}", self.identity_url().await?);
        let auth = &self.inner.config.auth;
        let mut headers = HeaderMap::new();
        if let Some(t) = auth.header_token() {
            headers.insert("x-auth-token", sensitive(t.expose())?);
        }
        let body = serde_json::to_vec(&auth.request_body()).map_err(Error::Encode)?;
        let response = self
            .execute(Method::POST, &url, headers, Some(body), false)
            .await?;
        let response = error_for_status(&url, response).await?;
        let token = response
            .headers()
            .get("x-subject-token")
            .and_then(|v| v.to_str().ok())
            .map(Secret::new)
            .ok_or_else(|| Error::MissingSubjectToken { url: url.clone() })?;
        let body: TokenResponse = parse_json(&url, response).await?;
        tracing::debug!(user_id = %body.token.user.id, expires_at = %body.token.expires_at, "authenticated");
        Ok(AccessInfo::new(token, body.token))
    }

    /// The session's token, authenticating when there is none or when less than the margin
    /// is left. Concurrent callers share one authentication.
    pub async fn access(&self) -> Result<AccessInfo> {
        let mut cached = self.inner.token.lock().await;
        if let Some(access) = cached.as_ref() {
            let margin = chrono::Duration::from_std(self.inner.config.reauth_margin)
                .unwrap_or(chrono::Duration::MAX);
            if access.expires_at() - chrono::Utc::now() > margin {
                return Ok(access.clone());
            }
        }
        self.login_allowed()?;
        match self.authenticate().await {
            Ok(fresh) => {
                *lock(&self.inner.login_backoff) = LoginBackoff::default();
                *cached = Some(fresh.clone());
                Ok(fresh)
            }
            Err(e) if e.kind() == ErrorKind::Unauthorized => {
                self.back_off_logins(&e);
                Err(e)
            }
            Err(e) => Err(e),
        }
    }

    /// Fails at once while logins are backing off after a rejection.
    fn login_allowed(&self) -> Result<()> {
        let backoff = lock(&self.inner.login_backoff);
        match backoff.until {
            Some(until) if until > std::time::Instant::now() => Err(Error::CredentialsBackoff {
                retry_in: until - std::time::Instant::now(),
                cause: backoff.cause.clone(),
            }),
            _ => Ok(()),
        }
    }

    /// After Keystone rejected the session's credentials: no login for a while, twice as long
    /// after each rejection in a row up to the cap, with one ERROR line per step.
    fn back_off_logins(&self, rejection: &Error) {
        let (first, cap) = self.inner.config.login_backoff;
        let mut backoff = lock(&self.inner.login_backoff);
        let wait = if backoff.next.is_zero() {
            first
        } else {
            backoff.next
        };
        backoff.until = Some(std::time::Instant::now() + wait);
        backoff.next = (wait * 2).min(cap);
        backoff.cause = rejection.to_string();
        tracing::error!(
            auth_url = %self.inner.auth_url,
            error = %rejection,
            retry_in = ?wait,
            "Keystone rejected this service's own credentials; not logging in again before \
             retry_in (check the configured user, domain and password)"
        );
    }

    /// Forgets the cached token if it is still `stale`.
    pub async fn invalidate(&self, stale: &Secret) {
        let mut cached = self.inner.token.lock().await;
        if cached.as_ref().is_some_and(|a| a.token() == stale) {
            *cached = None;
        }
    }

    /// Selects an endpoint from the session token's catalog; the session's interfaces and
    /// region apply unless the filter sets its own.
    pub async fn endpoint(&self, filter: &EndpointFilter) -> Result<String> {
        if let Some(url) = &filter.endpoint_override {
            return Ok(url.clone());
        }
        let mut filter = filter.clone();
        if filter.region.is_none() {
            filter.region = self.inner.config.region.clone();
        }
        if filter.interfaces.is_empty() {
            filter.interfaces = self.inner.config.interfaces.clone();
        }
        self.access().await?.endpoint(&filter)
    }

    /// Starts an authenticated request.
    pub fn request(&self, method: Method, url: impl Into<String>) -> Request {
        Request {
            session: self.clone(),
            method,
            url: url.into(),
            headers: HeaderMap::new(),
            body: None,
            body_error: None,
            authenticated: true,
        }
    }

    /// Starts an authenticated `GET`.
    pub fn get(&self, url: impl Into<String>) -> Request {
        self.request(Method::GET, url)
    }

    /// Starts an authenticated `POST`.
    pub fn post(&self, url: impl Into<String>) -> Request {
        self.request(Method::POST, url)
    }

    /// Sends a request: adds the token when `authenticated`, retries failed connections and
    /// 503/429 answers as configured, and after a 401 drops the token and retries once.
    async fn execute(
        &self,
        method: Method,
        url: &str,
        headers: HeaderMap,
        body: Option<Vec<u8>>,
        authenticated: bool,
    ) -> Result<Response> {
        let cfg = &self.inner.config;
        let mut connect_left = cfg.connect_retries;
        let mut status_left = cfg.status_retries;
        let mut reauthed = false;
        // each kind of retry has its own backoff, as in keystoneauth1
        let mut connect_delay = cfg.retry_delay;
        let mut status_delay = cfg.retry_delay;
        // a broken connection may have left the request done: repeated only when doing it
        // twice does no harm (authenticating just issues another token). A timeout is not
        // retried: a slow Keystone is not sent the same work again.
        let repeatable = matches!(
            method,
            Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS
        ) || url.ends_with("/auth/tokens");
        loop {
            let mut request = self
                .inner
                .http
                .request(method.clone(), url)
                .headers(headers.clone());
            let mut used_token = None;
            if authenticated {
                // boxed: authenticating sends a request through here too
                let access = Box::pin(self.access()).await?;
                request = request.header("x-auth-token", sensitive(access.token().expose())?);
                used_token = Some(access.token().clone());
            }
            if let Some(b) = &body {
                request = request
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(b.clone());
            }
            let delay;
            match request.send().await {
                Err(e)
                    if connect_left > 0
                        && (e.is_connect()
                            || (repeatable && e.is_request() && !e.is_timeout())) =>
                {
                    connect_left -= 1;
                    delay = connect_delay;
                    connect_delay = (connect_delay * 2).min(cfg.max_retry_delay);
                    tracing::warn!(%url, error = %e, retry_in = ?delay, "no answer, retrying");
                }
                Err(e) => {
                    return Err(Error::Transport {
                        url: url.to_owned(),
                        source: e,
                    });
                }
                Ok(r) if r.status() == StatusCode::UNAUTHORIZED && !reauthed => {
                    let Some(stale) = used_token else {
                        return Ok(r);
                    };
                    tracing::debug!(%url, "401: re-authenticating once");
                    self.invalidate(&stale).await;
                    reauthed = true;
                    continue;
                }
                Ok(r)
                    if matches!(
                        r.status(),
                        StatusCode::SERVICE_UNAVAILABLE | StatusCode::TOO_MANY_REQUESTS
                    ) && status_left > 0 =>
                {
                    status_left -= 1;
                    // the server's own Retry-After (whole seconds), within the cap
                    delay = match retry_after(&r) {
                        Some(d) => d.min(cfg.max_retry_delay),
                        None => {
                            let d = status_delay;
                            status_delay = (status_delay * 2).min(cfg.max_retry_delay);
                            d
                        }
                    };
                    tracing::warn!(%url, status = %r.status(), retry_in = ?delay, "retrying");
                }
                Ok(r) => return Ok(r),
            }
            tokio::time::sleep(delay).await;
        }
    }
}

/// `Retry-After` in whole seconds, as keystoneauth1 reads it (an HTTP date is ignored).
fn retry_after(r: &Response) -> Option<Duration> {
    let v = r
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?;
    v.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// A header value marked sensitive, so that no debug output shows it.
pub(crate) fn sensitive(value: &str) -> Result<HeaderValue> {
    let mut v = HeaderValue::from_str(value)
        .map_err(|_| ConfigError::invalid("token", "[redacted]", "not a valid header value"))?;
    v.set_sensitive(true);
    Ok(v)
}

/// An authenticated request being built. Its `Debug` leaves the body out (it may carry a
/// password or a secret).
pub struct Request {
    session: Session,
    method: Method,
    url: String,
    headers: HeaderMap,
    body: Option<Vec<u8>>,
    body_error: Option<serde_json::Error>,
    authenticated: bool,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &self.headers)
            .field(
                "body",
                &self.body.as_ref().map(|b| format!("[{} bytes]", b.len())),
            )
            .field("authenticated", &self.authenticated)
            .finish_non_exhaustive()
    }
}

impl Request {
    /// Adds a header, its name in any case (marked sensitive when it carries a token). An
    /// invalid name or value is an error.
    pub fn header(mut self, name: &str, value: &str) -> Result<Self> {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| ConfigError::invalid("header", name, "not a valid header name"))?;
        let value = if name.as_str().ends_with("-token") {
            sensitive(value)?
        } else {
            HeaderValue::from_str(value).map_err(|_| {
                ConfigError::invalid(name.as_str(), value, "not a valid header value")
            })?
        };
        self.headers.insert(name, value);
        Ok(self)
    }

    /// Sets a JSON body.
    pub fn json<T: Serialize>(mut self, body: &T) -> Self {
        match serde_json::to_vec(body) {
            Ok(b) => self.body = Some(b),
            Err(e) => self.body_error = Some(e),
        }
        self
    }

    /// Sends it without the session's token.
    pub fn unauthenticated(mut self) -> Self {
        self.authenticated = false;
        self
    }

    /// Sends it; any answer, whatever its status, is `Ok`.
    pub async fn send(self) -> Result<Response> {
        if let Some(e) = self.body_error {
            return Err(Error::Encode(e));
        }
        self.session
            .execute(
                self.method,
                &self.url,
                self.headers,
                self.body,
                self.authenticated,
            )
            .await
    }

    /// Sends it; a non-2xx answer is an [`Error::Api`].
    pub async fn send_ok(self) -> Result<Response> {
        let url = self.url.clone();
        let response = self.send().await?;
        error_for_status(&url, response).await
    }

    /// Sends it and parses a 2xx JSON answer.
    pub async fn send_json<T: DeserializeOwned>(self) -> Result<T> {
        let url = self.url.clone();
        let response = self.send_ok().await?;
        parse_json(&url, response).await
    }
}

/// Turns a non-2xx answer into [`Error::Api`], parsing Keystone's error body when it has one.
pub(crate) async fn error_for_status(url: &str, response: Response) -> Result<Response> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let request_id = response
        .headers()
        .get("x-openstack-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    // not followed (the token would go along to wherever it points): said in the error
    let location = status
        .is_redirection()
        .then(|| response.headers().get(reqwest::header::LOCATION))
        .flatten()
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = read_limited(response, MAX_BODY).await.unwrap_or_default();
    let body = error_body(status, &bytes).or_else(|| {
        location.map(|to| keystone_types::ErrorBody {
            code: status.as_u16(),
            message: format!(
                "redirected to {to}, which is not followed so that the token does not travel \
                 along: use that URL (as the auth URL, or the endpoint)"
            ),
            title: status
                .canonical_reason()
                .unwrap_or("Redirection")
                .to_owned(),
        })
    });
    Err(Error::Api {
        url: url.to_owned(),
        status,
        body: body.map(Box::new),
        request_id,
        raw: RawBody::from(bytes),
    })
}

/// The error in a body of Keystone's shape, or of the API-SIG's (the first of its `errors`).
fn error_body(status: StatusCode, bytes: &[u8]) -> Option<keystone_types::ErrorBody> {
    #[derive(serde::Deserialize)]
    struct SigErrors {
        errors: Vec<SigError>,
    }
    #[derive(serde::Deserialize)]
    struct SigError {
        #[serde(default)]
        title: String,
        #[serde(default)]
        detail: String,
    }
    if let Ok(e) = serde_json::from_slice::<keystone_types::ErrorResponse>(bytes) {
        return Some(e.error);
    }
    let first = serde_json::from_slice::<SigErrors>(bytes)
        .ok()?
        .errors
        .into_iter()
        .next()?;
    Some(keystone_types::ErrorBody {
        code: status.as_u16(),
        message: if first.detail.is_empty() {
            first.title.clone()
        } else {
            first.detail
        },
        title: first.title,
    })
}

/// Reads and parses a JSON body, keeping the raw bytes when it does not parse.
pub(crate) async fn parse_json<T: DeserializeOwned>(url: &str, response: Response) -> Result<T> {
    let status = response.status();
    let bytes = read_limited(response, MAX_BODY)
        .await
        .map_err(|e| e.at(url))?;
    serde_json::from_slice(&bytes).map_err(|e| Error::Unparsable {
        url: url.to_owned(),
        status,
        raw: RawBody::from(bytes.to_vec()),
        source: e,
    })
}

/// The largest answer read (a token with a big catalog is a few hundred KiB).
pub const MAX_BODY: usize = 32 << 20;

/// Why a body could not be read.
enum ReadError {
    Transport(reqwest::Error),
    TooLarge(usize),
}

impl ReadError {
    fn at(self, url: &str) -> Error {
        match self {
            ReadError::Transport(source) => Error::Transport {
                url: url.to_owned(),
                source,
            },
            ReadError::TooLarge(limit) => Error::TooLarge {
                url: url.to_owned(),
                limit,
            },
        }
    }
}

/// Reads a body, at most `limit` bytes of it.
async fn read_limited(mut response: Response, limit: usize) -> Result<Vec<u8>, ReadError> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(ReadError::TooLarge(limit));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(ReadError::Transport)? {
        if body.len() + chunk.len() > limit {
            return Err(ReadError::TooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Discovery got no answer: the URL to use this time, not to be kept.
struct Unreached(String);

/// A lock that a panic elsewhere does not poison for good (what it guards is a cache).
fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Finds the v3 root from the version documents, falling back to the URL's path.
async fn discover(http: &reqwest::Client, auth_url: &str) -> Result<String, Unreached> {
    let fallback = if auth_url.ends_with("/v3") {
        auth_url.to_owned()
    } else {
        format!("{auth_url}/v3")
    };
    let response = match http
        .get(auth_url)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
    {
        Ok(r) => r,
        Err(e) => {
            tracing::debug!(%auth_url, error = %e, "version discovery got no answer");
            return Err(Unreached(fallback));
        }
    };
    let Ok(bytes) = read_limited(response, MAX_BODY).await else {
        return Err(Unreached(fallback));
    };
    let versions = if let Ok(one) = serde_json::from_slice::<VersionResponse>(&bytes) {
        vec![one.version]
    } else if let Ok(many) = serde_json::from_slice::<VersionsResponse>(&bytes) {
        many.versions.values
    } else {
        tracing::debug!(%auth_url, "version discovery failed; using the URL as given");
        return Ok(fallback);
    };
    Ok(versions
        .iter()
        .filter(|v| v.id == "v3" || v.id.starts_with("v3."))
        .filter(|v| v.status != "deprecated")
        .find_map(|v| v.links.iter().find(|l| l.rel == "self"))
        .and_then(|l| combine_relative_url(auth_url, &l.href))
        .map(|u| u.trim_end_matches('/').to_owned())
        .unwrap_or(fallback))
}

/// keystoneauth1's `_combine_relative_url`: a version link resolved against the URL it was
/// discovered at, keeping that URL's scheme and host. Version documents often name an address
/// the client cannot use (Keystone behind a TLS proxy says `http://10.0.0.5:5000/v3/`); then
/// only the version part of the link is taken.
pub(crate) fn combine_relative_url(discovery_url: &str, version_url: &str) -> Option<String> {
    let base = url::Url::parse(&format!("{}/", discovery_url.trim_end_matches('/'))).ok()?;
    let joined = base.join(version_url).ok()?;
    let discovery = url::Url::parse(discovery_url).ok()?;
    let netloc = |u: &url::Url| {
        (
            u.username().to_owned(),
            u.host_str().map(str::to_owned),
            u.port_or_known_default(),
        )
    };
    let mut path = joined.path().to_owned();
    if netloc(&discovery) != netloc(&joined) {
        let version = version_url
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or_default();
        let own = discovery.path().trim_end_matches('/');
        path = if own.ends_with(version) {
            discovery.path().to_owned()
        } else if version_url.ends_with('/') {
            format!("{own}/{version}/")
        } else {
            format!("{own}/{version}")
        };
    }
    let mut out = discovery;
    out.set_path(&path);
    out.set_query(joined.query());
    out.set_fragment(joined.fragment());
    Some(out.to_string())
}

#[cfg(test)]
mod tests {
    use super::combine_relative_url as combine;

    #[test]
    fn version_links_are_combined_as_keystoneauth1_does() {
        for (discovery, link, want) in [
            // same host: the link as it is
            ("http://ks:5000", "http://ks:5000/v3/", "http://ks:5000/v3/"),
            // relative links
            ("http://ks:5000", "/v3/", "http://ks:5000/v3/"),
            ("http://ks/identity", "v3", "http://ks/identity/v3"),
            // another host: our scheme and host, the version part only
            (
                "https://ks.example",
                "http://10.0.0.5:5000/v3/",
                "https://ks.example/v3/",
            ),
            (
                "https://ks.example/identity",
                "http://10.0.0.5/v3",
                "https://ks.example/identity/v3",
            ),
            (
                "https://ks.example/identity/v3",
                "http://10.0.0.5/v3/",
                "https://ks.example/identity/v3",
            ),
        ] {
            assert_eq!(
                combine(discovery, link).as_deref(),
                Some(want),
                "{discovery} + {link}"
            );
        }
    }
}
