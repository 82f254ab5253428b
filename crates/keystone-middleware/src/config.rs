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
use keystone_client::auth::{Auth, UserIdentity};
use keystone_client::{ConfigError, Interface, Session, SessionBuilder};
use keystone_types::Secret;
use keystone_types::auth::{DomainRef, ProjectScope, Scope};
use serde::{Deserialize, Deserializer};

/// The whole configuration: keystonemiddleware's and oslo.policy's sections.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
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
    /// Accepted and unused: the cache is in-process (`memcache_servers`, the old spelling, too).
    /// A comma-separated list, or an array in TOML.
    #[serde(default, alias = "memcache_servers", deserialize_with = "oslo_list")]
    pub memcached_servers: Vec<String>,
    /// Seconds a token Keystone called invalid is remembered (0, the default, disables it).
    #[serde(default, deserialize_with = "oslo_i64")]
    pub negative_cache_time: i64,
    /// The most tokens kept in the cache (10,000 by default).
    #[serde(default = "ten_thousand", deserialize_with = "oslo_u64")]
    pub token_cache_size: u64,
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
fn yes() -> bool {
    true
}
fn service_role() -> Vec<String> {
    vec!["service".into()]
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
        let figment = if path.extension().is_some_and(|e| e == "toml") {
            Figment::from(Compatible(Toml::file_exact(path)))
        } else {
            Figment::from(Compatible(IniFile::new(path)))
        };
        let mut config: Config = Self::with_env(figment).extract()?;
        config
            .oslo_policy
            .relative_to(path.parent().unwrap_or(Path::new(".")));
        Ok(config)
    }

    /// Loads INI text (for tests and embedded configurations).
    pub fn from_ini_str(text: &str) -> Result<Self, LoadConfigError> {
        Ok(Figment::from(Compatible(IniFile::from_str(text))).extract()?)
    }

    /// Loads TOML text.
    pub fn from_toml_str(text: &str) -> Result<Self, LoadConfigError> {
        Ok(Figment::from(Compatible(Toml::string(text))).extract()?)
    }

    fn with_env(figment: Figment) -> Figment {
        figment
            .merge(Compatible(EnvText {
                prefix: "KEYSTONE_AUTHTOKEN_",
                section: "keystone_authtoken",
            }))
            .merge(Compatible(EnvText {
                prefix: "OSLO_POLICY_",
                section: "oslo_policy",
            }))
    }
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
    fn relative_to(&mut self, dir: &Path) {
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

    /// The service's own authentication, from the options.
    pub fn auth(&self) -> Result<Auth, ConfigError> {
        let key = |k: &str| format!("[keystone_authtoken] {k}");
        let auth_type = self.auth_type.as_deref().unwrap_or("password");
        match auth_type {
            "password" | "v3password" => {
                let user = match (&self.user_id, &self.username) {
                    (Some(id), _) => UserIdentity::by_id(id.clone()),
                    (None, Some(name)) => UserIdentity::Name {
                        name: name.clone(),
                        domain: self
                            .domain_or_default(&self.user_domain_id, &self.user_domain_name)
                            .ok_or_else(|| {
                                ConfigError::missing_with(
                                    key("user_domain_id"),
                                    "or user_domain_name",
                                )
                            })?,
                    },
                    (None, None) => {
                        return Err(ConfigError::missing_with(key("username"), "or user_id"));
                    }
                };
                let password = self
                    .password
                    .clone()
                    .ok_or_else(|| ConfigError::missing(key("password")))?;
                let mut auth = Auth::password(user, password);
                auth.scope = self.scope()?;
                Ok(auth)
            }
            "v3applicationcredential" | "applicationcredential" => {
                let secret = self
                    .application_credential_secret
                    .clone()
                    .ok_or_else(|| ConfigError::missing(key("application_credential_secret")))?;
                match (
                    &self.application_credential_id,
                    &self.application_credential_name,
                ) {
                    (Some(id), _) => Ok(Auth::application_credential(id.clone(), secret)),
                    (None, Some(name)) => {
                        let user = match (&self.user_id, &self.username) {
                            (Some(id), _) => UserIdentity::by_id(id.clone()),
                            (None, Some(u)) => UserIdentity::Name {
                                name: u.clone(),
                                domain: DomainRef {
                                    id: self.user_domain_id.clone(),
                                    name: self.user_domain_name.clone(),
                                },
                            },
                            (None, None) => {
                                return Err(ConfigError::missing_with(
                                    key("user_id"),
                                    "or username",
                                ));
                            }
                        };
                        Ok(Auth::application_credential_by_name(
                            name.clone(),
                            user,
                            secret,
                        ))
                    }
                    (None, None) => Err(ConfigError::missing_with(
                        key("application_credential_id"),
                        "or application_credential_name",
                    )),
                }
            }
            other => Err(ConfigError::invalid(
                key("auth_type"),
                other,
                "supported: password, v3password, v3applicationcredential",
            )),
        }
    }

    /// A domain given by id or name, else `default_domain_id` / `default_domain_name`, as
    /// keystoneauth's generic password plugin does.
    fn domain_or_default(&self, id: &Option<String>, name: &Option<String>) -> Option<DomainRef> {
        match (id, name, &self.default_domain_id, &self.default_domain_name) {
            (Some(id), _, _, _) => Some(DomainRef::id(id.clone())),
            (None, Some(n), _, _) => Some(DomainRef::name(n.clone())),
            (None, None, Some(id), _) => Some(DomainRef::id(id.clone())),
            (None, None, None, Some(n)) => Some(DomainRef::name(n.clone())),
            (None, None, None, None) => None,
        }
    }

    /// The service user's scope: a trust, else a project, else a domain, else the system,
    /// else none.
    fn scope(&self) -> Result<Option<Scope>, ConfigError> {
        if let Some(trust) = &self.trust_id {
            // as keystoneauth: a trust is the whole scope
            let others = [
                self.project_id.is_some() || self.project_name.is_some(),
                self.domain_id.is_some() || self.domain_name.is_some(),
                self.system_scope.is_some(),
            ];
            if others.into_iter().any(|o| o) {
                return Err(ConfigError::invalid(
                    "[keystone_authtoken] trust_id",
                    trust,
                    "a trust is a scope of its own: leave out the project, domain and system scope",
                ));
            }
            return Ok(Some(Scope::trust(trust.clone())));
        }
        if let Some(id) = &self.project_id {
            return Ok(Some(Scope::project_by_id(id.clone())));
        }
        if let Some(name) = &self.project_name {
            let domain = self
                .domain_or_default(&self.project_domain_id, &self.project_domain_name)
                .ok_or_else(|| {
                    ConfigError::missing_with(
                        "[keystone_authtoken] project_domain_id",
                        "or project_domain_name",
                    )
                })?;
            return Ok(Some(Scope::Project(ProjectScope {
                id: None,
                name: Some(name.clone()),
                domain: Some(domain),
            })));
        }
        match (&self.domain_id, &self.domain_name, &self.system_scope) {
            (Some(id), _, _) => Ok(Some(Scope::domain_by_id(id.clone()))),
            (None, Some(n), _) => Ok(Some(Scope::domain_by_name(n.clone()))),
            (None, None, Some(s)) if s == "all" => Ok(Some(Scope::system())),
            (None, None, Some(s)) => Err(ConfigError::invalid(
                "[keystone_authtoken] system_scope",
                s,
                "the only system scope is \"all\"",
            )),
            (None, None, None) => Ok(None),
        }
    }

    /// A session for the service's own credentials, with the HTTP options applied.
    pub fn session_builder(&self) -> Result<SessionBuilder, ConfigError> {
        let auth_url = self
            .auth_url
            .clone()
            .ok_or_else(|| ConfigError::missing("[keystone_authtoken] auth_url"))?;
        let interface = Interface::parse(&self.interface).ok_or_else(|| {
            ConfigError::invalid(
                "[keystone_authtoken] interface",
                &self.interface,
                "expected public, internal or admin",
            )
        })?;
        // validations go to the identity endpoint of the service token's catalog, with this
        // interface and region, as keystonemiddleware's adapter sends them
        let mut b = Session::builder(auth_url, self.auth()?)
            .identity_from_catalog(true)
            .interfaces([interface])
            .connect_retries(self.http_request_max_retries)
            .insecure(self.insecure)
            .user_agent(concat!("keystone-middleware/", env!("CARGO_PKG_VERSION")));
        // as keystoneauth's `timeout`: the most each attempt may take, connecting and answering
        if let Some(t) = self.http_connect_timeout {
            let t = Duration::from_secs(t.max(1));
            b = b.connect_timeout(t).timeout(t);
        }
        if let Some(r) = &self.region_name {
            b = b.region(r.clone());
        }
        if let Some(ca) = &self.cafile {
            b = b.cacert(ca.clone());
        }
        match (&self.certfile, &self.keyfile) {
            (Some(c), Some(k)) => b = b.client_cert(c.clone(), k.clone()),
            // as keystoneauth: one PEM file with the certificate and its key
            (Some(c), None) => b = b.client_cert(c.clone(), c.clone()),
            (None, Some(_)) => {
                return Err(ConfigError::missing_with(
                    "[keystone_authtoken] certfile",
                    "keyfile is the key of a certificate",
                ));
            }
            (None, None) => {}
        }
        Ok(b)
    }
}

/// A keystonemiddleware-style INI file as a figment provider: `[keystone_authtoken]` and
/// `[oslo_policy]` become the same-named tables, values stay strings (the option types convert
/// them as oslo.config does), other sections are ignored.
#[derive(Clone)]
pub struct IniFile {
    path: Option<PathBuf>,
    text: Option<String>,
}

/// The path only: the text holds passwords.
impl std::fmt::Debug for IniFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("IniFile");
        match &self.path {
            Some(p) => d.field("path", p),
            None => d.field(
                "text",
                &format_args!("[{} bytes]", self.text.as_ref().map_or(0, String::len)),
            ),
        };
        d.finish()
    }
}

impl IniFile {
    /// A file.
    pub fn new(path: &Path) -> Self {
        IniFile {
            path: Some(path.to_owned()),
            text: None,
        }
    }

    /// Text.
    #[allow(clippy::should_implement_trait)]
    pub fn from_str(text: &str) -> Self {
        IniFile {
            path: None,
            text: Some(text.to_owned()),
        }
    }
}

const SECTIONS: [&str; 2] = ["keystone_authtoken", "oslo_policy"];

/// The options of keystoneauth's authentication plugins (`password`, `v3password`,
/// `v3applicationcredential`), old spellings included: what `auth_section` provides.
const PLUGIN_OPTIONS: &[&str] = &[
    "auth_type",
    "auth_plugin",
    "auth_url",
    "username",
    "user_name",
    "user_id",
    "password",
    "user_domain_id",
    "user_domain_name",
    "project_id",
    "tenant_id",
    "project_name",
    "tenant_name",
    "project_domain_id",
    "project_domain_name",
    "default_domain_id",
    "default_domain_name",
    "domain_id",
    "domain_name",
    "system_scope",
    "trust_id",
    "application_credential_id",
    "application_credential_name",
    "application_credential_secret",
];

/// Options keystonemiddleware 13, keystoneauth or oslo.policy 6 define that have no meaning
/// here (the cache is in-process, `http:` checks are not made): accepted, with a warning, so
/// that an existing file loads unchanged.
const IGNORED: &[(&str, &[&str])] = &[
    (
        "keystone_authtoken",
        &[
            "cache",
            "memcache_security_strategy",
            "memcache_secret_key",
            "memcache_tls_enabled",
            "memcache_tls_cafile",
            "memcache_tls_certfile",
            "memcache_tls_keyfile",
            "memcache_tls_allowed_ciphers",
            "memcache_pool_dead_retry",
            "memcache_pool_maxsize",
            "memcache_pool_socket_timeout",
            "memcache_pool_unused_timeout",
            "memcache_pool_conn_get_timeout",
            "memcache_use_advanced_pool",
            "memcache_sasl_enabled",
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

/// Options that take one value per line, repeated (oslo.config's `MultiStrOpt`).
const MULTI: &[(&str, &str)] = &[("oslo_policy", "policy_dirs")];

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

/// oslo.config's reading of a value: one pair of matching outer quotes removed.
fn unquote(v: &str) -> &str {
    let v = v.trim();
    match v.chars().next() {
        Some(q @ ('"' | '\'')) if v.ends_with(q) => {
            v.get(1..v.len().saturating_sub(1)).unwrap_or("")
        }
        _ => v,
    }
}

/// The longest value substitution may build.
const MAX_SUBSTITUTED: usize = 64 << 10;

/// Options whose values are secrets: an error about them never quotes their value.
fn is_secret(option: &str) -> bool {
    option.contains("password") || option.contains("secret")
}

/// oslo.config's template substitution: `$$` and `\$` are `$`, `$name` and `${name}` the value
/// of option `name` (in the same section, else `[DEFAULT]`; `${section.name}` names the
/// section); any other `$` stays. `lookup` gives a referenced option's raw value.
fn substitute(
    value: &str,
    section: &str,
    lookup: &dyn Fn(&str, &str) -> Option<String>,
    depth: usize,
) -> Result<String, String> {
    if depth > 8 {
        return Err("substitutions nest too deep (a cycle?)".into());
    }
    let value = value.replace("\\$", "$$");
    let is_start = |c: char| c == '_' || c.is_ascii_alphabetic();
    let is_id = |c: char| c == '_' || c == '.' || c.is_ascii_alphanumeric();
    let mut out = String::with_capacity(value.len());
    let mut rest = value.as_str();
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (name, consumed) = if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
            continue;
        } else if let Some(braced) = after.strip_prefix('{') {
            match braced.find('}') {
                Some(end)
                    if braced[..end].starts_with(is_start) && braced[..end].chars().all(is_id) =>
                {
                    (&braced[..end], end + 2)
                }
                _ => ("", 0),
            }
        } else if after.starts_with(is_start) {
            let end = after.find(|c: char| !is_id(c)).unwrap_or(after.len());
            (&after[..end], end)
        } else {
            ("", 0)
        };
        if name.is_empty() {
            out.push('$');
            rest = after;
            continue;
        }
        let (group, option) = match name.split_once('.') {
            Some((g, o)) => (g, o),
            None => (section, name),
        };
        let raw = lookup(group, option)
            .or_else(|| lookup("DEFAULT", name))
            .ok_or_else(|| format!("${name} is not set in this file"))?;
        out.push_str(&substitute(&raw, group, lookup, depth + 1)?);
        // references repeated at every level would otherwise grow without bound
        if out.len() > MAX_SUBSTITUTED {
            return Err("the value grows past 64 KiB with its substitutions".into());
        }
        rest = &after[consumed..];
    }
    out.push_str(rest);
    Ok(out)
}

impl Provider for IniFile {
    fn metadata(&self) -> Metadata {
        match &self.path {
            Some(p) => Metadata::from("INI file", p.as_path()),
            None => Metadata::named("INI text"),
        }
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let at = self
            .path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "INI text".into());
        let text = match (&self.path, &self.text) {
            (Some(p), _) => std::fs::read_to_string(p)
                .map_err(|e| figment::Error::from(format!("cannot read {at}: {e}")))?,
            (None, Some(t)) => t.clone(),
            (None, None) => String::new(),
        };
        // as oslo.config's parser: backslashes and quotes are plain characters, indented lines
        // continue a value
        let options = ini::ParseOption {
            enabled_quote: false,
            enabled_escape: false,
            enabled_indented_mutiline_value: true,
            enabled_preserve_key_leading_whitespace: false,
        };
        let ini = ini::Ini::load_from_str_opt(&text, options)
            .map_err(|e| figment::Error::from(format!("{at} does not parse: {e}")))?;
        // every option of a section, repeated sections read in order, as oslo.config merges them
        let values = |section: &str| -> Vec<(String, String)> {
            ini.section_all(Some(section))
                .flat_map(|p| p.iter())
                .map(|(k, v)| (k.trim().to_owned(), unquote(v).to_owned()))
                .collect()
        };
        let lookup = |section: &str, name: &str| -> Option<String> {
            values(section)
                .into_iter()
                .rev()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v)
        };
        let mut dict = Dict::new();
        for section in SECTIONS {
            if ini.section(Some(section)).is_none() {
                continue;
            }
            // each option with the section its `$` references are read in
            let mut options: Vec<(String, String, String)> = values(section)
                .into_iter()
                .map(|(k, v)| (k, v, section.to_owned()))
                .collect();
            // as keystoneauth: with `auth_section`, the plugin and its options come from that
            // section alone; its other options (a shared section's `timeout`, `insecure`, ...)
            // are not the middleware's
            if section == "keystone_authtoken"
                && let Some(other) = lookup(section, "auth_section")
            {
                if ini.section(Some(other.as_str())).is_none() {
                    return Err(figment::Error::from(format!(
                        "{at}: [{section}] auth_section = {other}: there is no [{other}] section"
                    ))
                    .with_path("auth_section"));
                }
                options.retain(|(k, _, _)| !PLUGIN_OPTIONS.contains(&k.as_str()));
                options.extend(
                    values(&other)
                        .into_iter()
                        .filter(|(k, _)| PLUGIN_OPTIONS.contains(&k.as_str()))
                        .map(|(k, v)| (k, v, other.clone())),
                );
            }
            let mut table = Dict::new();
            // `auth_section` has been followed: not an option to pass on (or warn about)
            for (k, v, group) in options.into_iter().filter(|(k, _, _)| k != "auth_section") {
                let v = substitute(&v, &group, &lookup, 0).map_err(|e| {
                    let e = if is_secret(&k) {
                        "its value names an option that is not set, or grows too long, through \
                         `$` (write `$$` for a `$` in a password)"
                            .to_owned()
                    } else {
                        e
                    };
                    figment::Error::from(format!("{at}: [{section}] {k}: {e}")).with_path(&k)
                })?;
                if MULTI.contains(&(section, k.as_str())) {
                    if let Value::Array(_, items) = table
                        .entry(k)
                        .or_insert_with(|| Value::from(Vec::<String>::new()))
                    {
                        items.push(Value::from(v));
                    }
                } else {
                    table.insert(k, Value::from(v));
                }
            }
            dict.insert(section.to_owned(), Value::from(table));
        }
        Ok(Profile::Default.collect(dict))
    }
}

/// A value that may be written natively (TOML) or as text (INI, environment).
#[derive(Deserialize)]
#[serde(untagged)]
enum Loose<T> {
    Native(T),
    Text(String),
}

/// oslo.config's `Boolean`: these words in any case, nothing else (not even an empty value).
fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

fn oslo_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    match Loose::<bool>::deserialize(d)? {
        Loose::Native(b) => Ok(b),
        Loose::Text(s) => parse_bool(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("{s:?} is not a boolean"))),
    }
}

fn oslo_opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    oslo_bool(d).map(Some)
}

fn number<'de, D: Deserializer<'de>, T: std::str::FromStr + Deserialize<'de>>(
    d: D,
) -> Result<T, D::Error> {
    match Loose::<T>::deserialize(d)? {
        Loose::Native(n) => Ok(n),
        Loose::Text(s) => s
            .trim()
            .parse()
            .map_err(|_| serde::de::Error::custom(format!("{s:?} is not a number"))),
    }
}

fn oslo_u32<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    number(d)
}

fn oslo_u64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    number(d)
}

fn oslo_i64<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    number(d)
}

fn oslo_opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    number(d).map(Some)
}

fn oslo_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    match Loose::<Vec<String>>::deserialize(d)? {
        Loose::Native(v) => Ok(v),
        Loose::Text(s) => Ok(s
            .split(',')
            .map(|x| x.trim().to_owned())
            .filter(|x| !x.is_empty())
            .collect()),
    }
}

/// `policy_dirs`, oslo.config's `MultiStrOpt`: one path per (repeated) line, commas and all.
fn oslo_paths<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<PathBuf>, D::Error> {
    Ok(match Loose::<Vec<String>>::deserialize(d)? {
        Loose::Native(v) => v.into_iter().map(PathBuf::from).collect(),
        Loose::Text(s) => vec![PathBuf::from(s)],
    })
}
