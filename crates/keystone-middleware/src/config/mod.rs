//! Configuration with figment: a TOML file, an existing keystonemiddleware INI file read
//! unchanged (`[keystone_authtoken]` and `[oslo_policy]`; other sections are other components'
//! and are ignored), and environment overrides (`KEYSTONE_AUTHTOKEN_<OPTION>`,
//! `OSLO_POLICY_<OPTION>`). An unknown or invalid option is an error naming the option and the
//! file.
//!
//! # Example
//!
//! ```
//! use keystone_middleware::config::Config;
//!
//! let ini = "[DEFAULT]\nauth_strategy=keystone\n\n[keystone_authtoken]\nauth_url = http://keystone:5000\n\
//!            username = myservice\npassword = secret\nuser_domain_id = default\nproject_name = services\n\
//!            project_domain_id = default\ndelay_auth_decision = True\nservice_token_roles = service, admin\n";
//! let config = Config::from_ini_str(ini).unwrap();
//! assert!(config.keystone_authtoken.delay_auth_decision);
//! assert_eq!(config.keystone_authtoken.service_token_roles, ["service", "admin"]);
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::providers::{Env, Format, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};
use keystone_client::auth::Auth;
use keystone_client::config::{CloudConfig, auth_from_options};
use keystone_client::{ConfigError, SessionBuilder};
use keystone_types::Secret;
use serde::Deserialize;

mod ini;
mod values;

pub use ini::IniFile;
use values::{
    log_level, oslo_bool, oslo_i64, oslo_list, oslo_opt_bool, oslo_opt_u64, oslo_paths, oslo_u32,
    oslo_u64, share,
};

/// The whole configuration: keystonemiddleware's and oslo.policy's sections, and the
/// service's own `[server]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `[server]`: how the service's listener bounds its connections and requests.
    #[serde(default)]
    pub server: ServerConfig,
    /// `[keystone_authtoken]`.
    #[serde(default)]
    pub keystone_authtoken: AuthTokenConfig,
    /// `[oslo_policy]`.
    #[serde(default)]
    pub oslo_policy: OsloPolicyConfig,
}

/// `[keystone_authtoken]`, with keystonemiddleware's option names and defaults.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthTokenConfig {
    /// The URI clients are told to authenticate at (`WWW-Authenticate`).
    pub www_authenticate_uri: Option<String>,
    /// The deprecated name of `www_authenticate_uri`.
    pub auth_uri: Option<String>,
    /// Deprecated and unused (admin endpoint of the v2 era).
    pub identity_uri: Option<String>,
    /// Keystone, for the service's own authentication and for validation.
    pub auth_url: Option<String>,
    /// `password` (default), `v3password`, `v3applicationcredential` (`auth_plugin`, the old
    /// spelling, too).
    #[serde(alias = "auth_plugin")]
    pub auth_type: Option<String>,
    /// Accepted and unused: the version is discovered.
    pub auth_version: Option<String>,
    /// The service user's name (`user_name`, the old spelling, too).
    #[serde(alias = "user_name")]
    pub username: Option<String>,
    /// The service user's id.
    pub user_id: Option<String>,
    /// The service user's password.
    pub password: Option<Secret>,
    /// The service user's domain id.
    pub user_domain_id: Option<String>,
    /// The service user's domain name.
    pub user_domain_name: Option<String>,
    /// The service project's name (`tenant_name`, the old spelling, too).
    #[serde(alias = "tenant_name")]
    pub project_name: Option<String>,
    /// The service project's id (`tenant_id`, the old spelling, too).
    #[serde(alias = "tenant_id")]
    pub project_id: Option<String>,
    /// The service project's domain id.
    pub project_domain_id: Option<String>,
    /// The service project's domain name.
    pub project_domain_name: Option<String>,
    /// The domain of the user and the project when theirs are not given (id).
    pub default_domain_id: Option<String>,
    /// The domain of the user and the project when theirs are not given (name).
    pub default_domain_name: Option<String>,
    /// A domain scope for the service user, by id (when no project is given).
    pub domain_id: Option<String>,
    /// A domain scope for the service user, by name.
    pub domain_name: Option<String>,
    /// `all`: a system scope for the service user (when no project or domain is given).
    pub system_scope: Option<String>,
    /// A trust scope for the service user (the trust's project and roles), instead of a
    /// project, domain or system scope.
    pub trust_id: Option<String>,
    /// An application credential's id (with `auth_type = v3applicationcredential`).
    pub application_credential_id: Option<String>,
    /// An application credential's name.
    pub application_credential_name: Option<String>,
    /// An application credential's secret.
    pub application_credential_secret: Option<Secret>,
    /// The interface of the identity endpoint, in the service token's catalog, that tokens
    /// are validated at (`internal` by default, as keystonemiddleware).
    #[serde(default = "internal")]
    pub interface: String,
    /// The region of that identity endpoint.
    pub region_name: Option<String>,
    /// Pass unauthenticated requests on, marked `X-Identity-Status: Invalid`.
    #[serde(default, deserialize_with = "oslo_bool")]
    pub delay_auth_decision: bool,
    /// Seconds each attempt at Keystone may take, connecting and answering.
    #[serde(default, deserialize_with = "oslo_opt_u64")]
    pub http_connect_timeout: Option<u64>,
    /// Retries after a failed connection to Keystone or an attempt that timed out (3 by
    /// default).
    #[serde(default = "three", deserialize_with = "oslo_u32")]
    pub http_request_max_retries: u32,
    /// Seconds a validated token is cached (300 by default; -1 disables the cache).
    #[serde(default = "three_hundred", deserialize_with = "oslo_i64")]
    pub token_cache_time: i64,
    /// Set `X-Service-Catalog` (and validate with the catalog); true by default.
    #[serde(default = "yes", deserialize_with = "oslo_bool")]
    pub include_service_catalog: bool,
    /// A service token must carry one of these roles to be trusted (`service` by default).
    #[serde(default = "service_role", deserialize_with = "oslo_list")]
    pub service_token_roles: Vec<String>,
    /// When true (the default, as in keystonemiddleware 13), a service token without one of
    /// those roles is rejected.
    #[serde(default = "yes", deserialize_with = "oslo_bool")]
    pub service_token_roles_required: bool,
    /// CA bundle for Keystone's certificate.
    pub cafile: Option<PathBuf>,
    /// Client certificate.
    pub certfile: Option<PathBuf>,
    /// Client key.
    pub keyfile: Option<PathBuf>,
    /// Do not verify Keystone's certificate.
    #[serde(default, deserialize_with = "oslo_bool")]
    pub insecure: bool,
    /// This service's type, against which application credentials' access rules are checked
    /// (a token limited by access rules is refused when it is unset).
    pub service_type: Option<String>,
    /// memcached servers (`host:port`) shared by every replica as a second cache tier, in
    /// keystonemiddleware's format (`memcache_servers`, the old spelling, too). A
    /// comma-separated list, or an array in TOML; none by default (the cache is in-process
    /// only).
    #[serde(default, alias = "memcache_servers", deserialize_with = "oslo_list")]
    pub memcached_servers: Vec<String>,
    /// How memcached entries are protected: `None` (the default), `MAC` (authenticated) or
    /// `ENCRYPT` (authenticated and encrypted), with `memcache_secret_key`.
    pub memcache_security_strategy: Option<String>,
    /// The secret the `MAC` and `ENCRYPT` strategies derive their keys from; required by them.
    pub memcache_secret_key: Option<Secret>,
    /// Seconds to connect to a memcached server, and for each operation on it (3).
    #[serde(default = "three_u64", deserialize_with = "oslo_u64")]
    pub memcache_pool_socket_timeout: u64,
    /// Connections open at most to each memcached server (10).
    #[serde(default = "ten", deserialize_with = "oslo_u64")]
    pub memcache_pool_maxsize: u64,
    /// Seconds a request waits for a free memcached connection before it skips the shared
    /// tier (10).
    #[serde(default = "ten", deserialize_with = "oslo_u64")]
    pub memcache_pool_conn_get_timeout: u64,
    /// Seconds a memcached server that failed is skipped before it is tried again (300).
    #[serde(default = "three_hundred_u64", deserialize_with = "oslo_u64")]
    pub memcache_pool_dead_retry: u64,
    /// memcached over TLS: not supported; true with `memcached_servers` is an error (rather
    /// than plain TCP where TLS was asked for).
    #[serde(default, deserialize_with = "oslo_bool")]
    pub memcache_tls_enabled: bool,
    /// memcached with SASL: not supported; true with `memcached_servers` is an error.
    #[serde(default, deserialize_with = "oslo_bool")]
    pub memcache_sasl_enabled: bool,
    /// Seconds an idle memcached connection is kept (60).
    #[serde(default = "sixty_u64", deserialize_with = "oslo_u64")]
    pub memcache_pool_unused_timeout: u64,
    /// Seconds a token Keystone called invalid is remembered (0, the default, disables it).
    #[serde(default, deserialize_with = "oslo_i64")]
    pub negative_cache_time: i64,
    /// Ours: the most validations in flight at once; beyond it a request with an uncached
    /// token is answered 503 at once, without asking Keystone (64 by default). It also bounds
    /// the connections to Keystone (one per validation in flight, plus the service's login).
    #[serde(default = "sixty_four", deserialize_with = "oslo_u64")]
    pub max_concurrent_validations: u64,
    /// Ours: seconds one validation may take in all, its retries included (10 by default);
    /// then the request is answered 503.
    #[serde(default = "ten", deserialize_with = "oslo_u64")]
    pub validation_timeout: u64,
    /// Ours: how many tokens not in the cache one client address may have validated per
    /// second (50 by default; 0 turns the limit off). Beyond it, and its burst, such requests
    /// are answered 429 without asking Keystone. Behind a load balancer that hides the client's
    /// address, every client shares one limit: turn it off there.
    #[serde(default = "fifty", deserialize_with = "oslo_u64")]
    pub unknown_token_rate: u64,
    /// Ours: the burst allowed above `unknown_token_rate` (100 by default).
    #[serde(default = "one_hundred", deserialize_with = "oslo_u64")]
    pub unknown_token_burst: u64,
    /// The most tokens kept in the cache (10,000 by default).
    #[serde(default = "ten_thousand", deserialize_with = "oslo_u64")]
    pub token_cache_size: u64,
    /// Ours: seconds between two reads of Keystone's revocation events
    /// (`GET /v3/OS-REVOKE/events`), which evict the cached tokens they cover (10 by default;
    /// 0 turns revocation checks off).
    #[serde(default = "ten", deserialize_with = "oslo_u64")]
    pub revocation_check_interval: u64,
}

fn internal() -> String {
    "internal".into()
}
fn three() -> u32 {
    3
}
fn three_hundred() -> i64 {
    300
}
fn three_hundred_u64() -> u64 {
    300
}
fn three_u64() -> u64 {
    3
}
fn sixty_u64() -> u64 {
    60
}
fn yes() -> bool {
    true
}
fn service_role() -> Vec<String> {
    vec!["service".into()]
}
fn sixty_four() -> u64 {
    64
}

fn fifty() -> u64 {
    50
}

fn one_hundred() -> u64 {
    100
}

fn ten_thousand() -> u64 {
    10_000
}

impl Default for AuthTokenConfig {
    fn default() -> Self {
        serde_json::from_value(serde_json::json!({}))
            .unwrap_or_else(|_| unreachable!("all fields have defaults"))
    }
}

/// `[server]`: the limits that keep a service up under hostile load (see [`crate::serve`]).
/// Times are in seconds.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// The longest a connection may take to send a request's head, counted from when it
    /// starts waiting for one (after it is accepted, and after each answer on a kept-alive
    /// connection): so also how long an idle kept-alive connection stays open (10).
    #[serde(default = "ten", deserialize_with = "oslo_u64")]
    pub header_read_timeout: u64,
    /// Keep connections open between requests (true).
    #[serde(default = "yes", deserialize_with = "oslo_bool")]
    pub keep_alive: bool,
    /// The most connections open at once; beyond it new connections wait to be accepted
    /// (900: below the common limit of 1,024 file descriptors, with room for Keystone's).
    #[serde(default = "nine_hundred", deserialize_with = "oslo_u64")]
    pub max_connections: u64,
    /// After SIGTERM, how long requests in progress may take before their connections are
    /// closed (30; oslo.service's option of the same name).
    #[serde(default = "thirty", deserialize_with = "oslo_u64")]
    pub graceful_shutdown_timeout: u64,
    /// The largest request body accepted, in bytes (114,688, oslo.middleware's
    /// `max_request_body_size`); larger ones are answered 413 while they are read.
    #[serde(default = "body_size", deserialize_with = "oslo_u64")]
    pub max_request_body_size: u64,
    /// The longest reading a request's body may take (30); a slower body is answered 408.
    #[serde(default = "thirty", deserialize_with = "oslo_u64")]
    pub body_read_timeout: u64,
    /// The level of the one access log line per request: `info` (the default), `debug`,
    /// `warn`, or `off`.
    #[serde(default = "info", deserialize_with = "log_level")]
    pub access_log_level: String,
    /// The share of requests that get an access log line, from 0 to 1 (1: all); errors
    /// (status 500 and above) are always logged.
    #[serde(default = "one", deserialize_with = "share")]
    pub access_log_sample_rate: f64,
}

fn ten() -> u64 {
    10
}

fn thirty() -> u64 {
    30
}

fn nine_hundred() -> u64 {
    900
}

fn body_size() -> u64 {
    114_688
}

fn info() -> String {
    "info".into()
}

fn one() -> f64 {
    1.0
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            header_read_timeout: ten(),
            keep_alive: true,
            max_connections: nine_hundred(),
            graceful_shutdown_timeout: thirty(),
            max_request_body_size: body_size(),
            body_read_timeout: thirty(),
            access_log_level: info(),
            access_log_sample_rate: one(),
        }
    }
}

impl ServerConfig {
    /// `header_read_timeout` as a duration (at least 1 s).
    pub fn header_read_timeout(&self) -> Duration {
        Duration::from_secs(self.header_read_timeout.max(1))
    }

    /// `graceful_shutdown_timeout` as a duration.
    pub fn graceful_shutdown_timeout(&self) -> Duration {
        Duration::from_secs(self.graceful_shutdown_timeout)
    }

    /// `body_read_timeout` as a duration (at least 1 s).
    pub fn body_read_timeout(&self) -> Duration {
        Duration::from_secs(self.body_read_timeout.max(1))
    }
}

/// `[oslo_policy]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OsloPolicyConfig {
    /// The policy file (`policy.yaml` by default, relative to the configuration file).
    #[serde(default = "policy_yaml")]
    pub policy_file: PathBuf,
    /// Directories of overlay files (`policy.d` by default).
    #[serde(default = "policy_d", deserialize_with = "oslo_paths")]
    pub policy_dirs: Vec<PathBuf>,
    /// The rule for unknown names.
    #[serde(default = "default_rule")]
    pub policy_default_rule: String,
    /// Enforce only the new defaults of deprecated rules (true by default).
    #[serde(default = "yes", deserialize_with = "oslo_bool")]
    pub enforce_new_defaults: bool,
    /// Accepted for compatibility: scopes are always enforced.
    #[serde(default, deserialize_with = "oslo_opt_bool")]
    pub enforce_scope: Option<bool>,
}

fn policy_yaml() -> PathBuf {
    "policy.yaml".into()
}
fn policy_d() -> Vec<PathBuf> {
    vec!["policy.d".into()]
}
fn default_rule() -> String {
    "default".into()
}

impl Default for OsloPolicyConfig {
    fn default() -> Self {
        serde_json::from_value(serde_json::json!({}))
            .unwrap_or_else(|_| unreachable!("all fields have defaults"))
    }
}

/// Why a configuration could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadConfigError {
    /// A file could not be read or an option is unknown or invalid (figment names both).
    #[error("{0}")]
    Figment(Box<figment::Error>),
    /// The options do not make a usable configuration.
    #[error(transparent)]
    Invalid(#[from] ConfigError),
}

impl From<figment::Error> for LoadConfigError {
    fn from(e: figment::Error) -> Self {
        LoadConfigError::Figment(Box::new(e))
    }
}

impl Config {
    /// Loads a TOML file (`.toml`) or a keystonemiddleware-style INI file (anything else),
    /// then the environment overrides.
    pub fn load(path: &Path) -> Result<Self, LoadConfigError> {
        let mut config: Config = load_file(path, &[])?;
        config
            .oslo_policy
            .relative_to(path.parent().unwrap_or(Path::new(".")));
        Ok(config)
    }

    /// Loads INI text (for tests and embedded configurations).
    pub fn from_ini_str(text: &str) -> Result<Self, LoadConfigError> {
        load_ini_str(text, &[])
    }

    /// Loads TOML text.
    pub fn from_toml_str(text: &str) -> Result<Self, LoadConfigError> {
        load_toml_str(text)
    }
}

/// A section of a component built on the middleware, read beside `[keystone_authtoken]`,
/// `[oslo_policy]` and `[server]` (keystone-proxy's `[proxy]`, say).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtraSection {
    /// The section's name.
    pub name: &'static str,
    /// Its options that take one value per line, repeated (oslo.config's `MultiStrOpt`).
    pub multi: &'static [&'static str],
    /// The prefix of its environment overrides (`PROXY_`).
    pub env_prefix: &'static str,
}

/// Loads `T`, whose fields are the sections, from a TOML file (`.toml`) or a
/// keystonemiddleware-style INI file (anything else) with the `extra` sections, then the
/// environment overrides, as [`Config::load`] does. Relative paths are left as written (see
/// [`OsloPolicyConfig::relative_to`]).
pub fn load_file<T: serde::de::DeserializeOwned>(
    path: &Path,
    extra: &[ExtraSection],
) -> Result<T, LoadConfigError> {
    let figment = if path.extension().is_some_and(|e| e == "toml") {
        Figment::from(Compatible(Toml::file_exact(path)))
    } else {
        Figment::from(Compatible(IniFile::new(path).with_sections(extra)))
    };
    Ok(with_env(figment, extra).extract()?)
}

/// Loads `T` from INI text with the `extra` sections.
pub fn load_ini_str<T: serde::de::DeserializeOwned>(
    text: &str,
    extra: &[ExtraSection],
) -> Result<T, LoadConfigError> {
    Ok(Figment::from(Compatible(IniFile::from_str(text).with_sections(extra))).extract()?)
}

/// Loads `T` from TOML text.
pub fn load_toml_str<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, LoadConfigError> {
    Ok(Figment::from(Compatible(Toml::string(text))).extract()?)
}

fn with_env(figment: Figment, extra: &[ExtraSection]) -> Figment {
    let mut figment = figment
        .merge(Compatible(EnvText {
            prefix: "KEYSTONE_AUTHTOKEN_",
            section: "keystone_authtoken",
        }))
        .merge(Compatible(EnvText {
            prefix: "OSLO_POLICY_",
            section: "oslo_policy",
        }));
    for e in extra {
        figment = figment.merge(Compatible(EnvText {
            prefix: e.env_prefix,
            section: e.name,
        }));
    }
    figment
}

/// Environment overrides of one section (`<PREFIX><OPTION>`), every value plain text as
/// oslo.config reads values: figment's own `Env` parses them, so that a password `007` would
/// become the number 7 and `'a'` lose its quotes.
struct EnvText {
    prefix: &'static str,
    section: &'static str,
}

impl Provider for EnvText {
    fn metadata(&self) -> Metadata {
        Metadata::named(format!("environment variables {}*", self.prefix))
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let table: Dict = Env::prefixed(self.prefix)
            .iter()
            .map(|(k, v)| (k.as_str().to_lowercase(), Value::from(v)))
            .collect();
        let mut dict = Dict::new();
        if !table.is_empty() {
            dict.insert(self.section.to_owned(), Value::from(table));
        }
        Ok(Profile::Default.collect(dict))
    }
}

impl OsloPolicyConfig {
    /// Makes relative policy paths relative to `dir` (the configuration file's directory).
    pub fn relative_to(&mut self, dir: &Path) {
        if self.policy_file.is_relative() {
            self.policy_file = dir.join(&self.policy_file);
        }
        for d in &mut self.policy_dirs {
            if d.is_relative() {
                *d = dir.join(&*d);
            }
        }
    }

    /// The policy engine configuration.
    pub fn enforcer_config(&self) -> keystone_policy::EnforcerConfig {
        keystone_policy::EnforcerConfig {
            policy_file: Some(self.policy_file.clone()),
            policy_dirs: self.policy_dirs.clone(),
            default_rule: Some(self.policy_default_rule.clone()),
            enforce_new_defaults: self.enforce_new_defaults,
            reload_interval: Some(Duration::from_secs(5)),
        }
    }
}

impl AuthTokenConfig {
    /// The URI in `WWW-Authenticate`: `www_authenticate_uri`, else `auth_uri`, else `auth_url`.
    pub fn www_authenticate_uri(&self) -> Option<&str> {
        self.www_authenticate_uri
            .as_deref()
            .or(self.auth_uri.as_deref())
            .or(self.auth_url.as_deref())
    }

    /// The service's own authentication, from the options (read by keystone-client's one
    /// loader of keystoneauth's options, [`keystone_client::config::auth_from_options`]).
    pub fn auth(&self) -> Result<Auth, ConfigError> {
        auth_from_options(&|k| self.plugin_option(k), &option_name)
    }

    /// A session for the service's own credentials, with the HTTP options applied.
    pub fn session_builder(&self) -> Result<SessionBuilder, ConfigError> {
        let cloud = CloudConfig::from_options(&|k| self.plugin_option(k), &option_name)?;
        // validations go to the identity endpoint of the service token's catalog, with this
        // interface and region, as keystonemiddleware's adapter sends them
        let mut b = cloud
            .session_builder()
            .identity_from_catalog(true)
            .connect_retries(self.http_request_max_retries)
            .user_agent(concat!("keystone-middleware/", env!("CARGO_PKG_VERSION")));
        // as keystoneauth's `timeout`: the most each attempt may take, connecting and answering
        if let Some(t) = self.http_connect_timeout {
            let t = Duration::from_secs(t.max(1));
            b = b.connect_timeout(t).timeout(t);
        }
        Ok(b)
    }

    /// The value of keystoneauth option `key` (the names `CloudConfig::from_options` reads),
    /// from these options; an empty value is unset, as keystoneauth reads it.
    fn plugin_option(&self, key: &str) -> Option<String> {
        let path = |p: &Option<PathBuf>| p.as_ref().and_then(|p| p.to_str()).map(str::to_owned);
        let secret = |s: &Option<Secret>| s.as_ref().map(|s| s.expose().to_owned());
        let value = match key {
            "auth_url" => self.auth_url.clone(),
            "auth_type" => self.auth_type.clone(),
            "username" => self.username.clone(),
            "user_id" => self.user_id.clone(),
            "password" => secret(&self.password),
            "user_domain_id" => self.user_domain_id.clone(),
            "user_domain_name" => self.user_domain_name.clone(),
            "project_name" => self.project_name.clone(),
            "project_id" => self.project_id.clone(),
            "project_domain_id" => self.project_domain_id.clone(),
            "project_domain_name" => self.project_domain_name.clone(),
            "default_domain_id" => self.default_domain_id.clone(),
            "default_domain_name" => self.default_domain_name.clone(),
            "domain_id" => self.domain_id.clone(),
            "domain_name" => self.domain_name.clone(),
            "system_scope" => self.system_scope.clone(),
            "trust_id" => self.trust_id.clone(),
            "application_credential_id" => self.application_credential_id.clone(),
            "application_credential_name" => self.application_credential_name.clone(),
            "application_credential_secret" => secret(&self.application_credential_secret),
            "interface" => Some(self.interface.clone()),
            "region_name" => self.region_name.clone(),
            "cacert" => path(&self.cafile),
            "cert" => path(&self.certfile),
            "key" => path(&self.keyfile),
            "insecure" => Some(self.insecure.to_string()),
            _ => None,
        };
        value.filter(|v| !v.is_empty())
    }
}

/// An option as errors name it: keystonemiddleware's spelling, in its section.
fn option_name(key: &str) -> String {
    let ours = match key {
        "cacert" => "cafile",
        "cert" => "certfile",
        "key" => "keyfile",
        other => other,
    };
    format!("[keystone_authtoken] {ours}")
}

/// Options keystonemiddleware 13, keystoneauth or oslo.policy 6 define that have no meaning
/// here (memcached is spoken in plain TCP with one pool kind, `http:` checks are not made): accepted, with a warning, so
/// that an existing file loads unchanged.
const IGNORED: &[(&str, &[&str])] = &[
    (
        "keystone_authtoken",
        &[
            "cache",
            "memcache_tls_cafile",
            "memcache_tls_certfile",
            "memcache_tls_keyfile",
            "memcache_tls_allowed_ciphers",
            "memcache_use_advanced_pool",
            "memcache_username",
            "memcache_password",
            "enforce_token_bind",
            // followed in INI files (`IniFile`); elsewhere it has no meaning
            "auth_section",
            // keystonemiddleware's options of the v2 and PKI eras, which it no longer defines
            // and oslo.config skips: older files still carry them
            "auth_host",
            "auth_port",
            "auth_protocol",
            "auth_admin_prefix",
            "admin_user",
            "admin_password",
            "admin_tenant_name",
            "admin_token",
            "signing_dir",
            "hash_algorithms",
            "check_revocations_for_cached",
            "revocation_cache_time",
        ],
    ),
    (
        "oslo_policy",
        &[
            "remote_content_type",
            "remote_ssl_verify_server_crt",
            "remote_ssl_ca_crt_file",
            "remote_ssl_client_crt_file",
            "remote_ssl_client_key_file",
            "remote_timeout",
        ],
    ),
];

/// A provider with the options of [`IGNORED`] taken out (each logged). Token binding is not
/// supported: `enforce_token_bind` other than `disabled` or `permissive` is an error.
pub(crate) struct Compatible<P>(pub(crate) P);

impl<P: Provider> Provider for Compatible<P> {
    fn metadata(&self) -> Metadata {
        self.0.metadata()
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let mut data = self.0.data()?;
        for dict in data.values_mut() {
            for (section, names) in IGNORED {
                let Some(Value::Dict(_, table)) = dict.get_mut(*section) else {
                    continue;
                };
                for name in *names {
                    let Some(value) = table.remove(*name) else {
                        continue;
                    };
                    if *name == "enforce_token_bind"
                        && let Some(v) = value.as_str()
                        && !matches!(v.trim(), "disabled" | "permissive")
                    {
                        return Err(figment::Error::from(format!(
                            "[{section}] enforce_token_bind = {v}: token binding is not \
                             supported (only disabled or permissive)"
                        ))
                        .with_path(name));
                    }
                    tracing::warn!(option = %format!("[{section}] {name}"), "option ignored: it has no meaning here");
                }
            }
        }
        Ok(data)
    }
}
