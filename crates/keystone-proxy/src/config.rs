//! The proxy's configuration: one file, TOML or keystonemiddleware's INI, holding
//! `[keystone_authtoken]`, `[oslo_policy]`, `[server]` (read as the middleware reads them) and
//! `[proxy]`; environment overrides (`PROXY_<OPTION>` for `[proxy]`). Every mistake is an error
//! at start that names the option and the file.
//!
//! Routes and rules, in TOML:
//!
//! ```toml
//! [proxy]
//! upstream = "http://127.0.0.1:8000"
//! [[proxy.route]]
//! methods = ["GET"]
//! path = "/v1/{project_id}/things/**"
//! rule = "things:read"
//! [[proxy.route]]
//! path = "/healthz"
//! public = true
//! [proxy.rules]
//! "things:read" = "project_id:%(project_id)s"
//! ```
//!
//! and in INI, one per line (repeated options):
//!
//! ```ini
//! [proxy]
//! upstream = http://127.0.0.1:8000
//! route = GET /v1/{project_id}/things/** things:read
//! route = * /healthz public
//! rule = things:read = project_id:%(project_id)s
//! ```

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use keystone_middleware::config::{
    AuthTokenConfig, ExtraSection, LoadConfigError, OsloPolicyConfig, ServerConfig,
};
use serde::Deserialize;

/// The `[proxy]` section as the INI reader and the environment name it.
const PROXY_SECTION: ExtraSection = ExtraSection {
    name: "proxy",
    multi: &["route", "rule"],
    env_prefix: "PROXY_",
};

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProxyConfig {
    /// `[keystone_authtoken]`, as keystonemiddleware reads it.
    #[serde(default)]
    pub keystone_authtoken: AuthTokenConfig,
    /// `[oslo_policy]`: the operator's policy file overrides the rules' defaults.
    #[serde(default)]
    pub oslo_policy: OsloPolicyConfig,
    /// `[server]`: the listener's limits.
    #[serde(default)]
    pub server: ServerConfig,
    /// `[proxy]`.
    pub proxy: ProxySection,
}

/// `[proxy]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProxySection {
    /// Where the proxy listens (`127.0.0.1:8080`).
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// The service requests are forwarded to (`http://host:port`, with an optional path
    /// prefix). Without it the proxy only answers forward-auth requests.
    pub upstream: Option<String>,
    /// The path of the forward-auth endpoint that nginx's `auth_request`, Traefik's
    /// `ForwardAuth` and Envoy's `ext_authz` call (for instance `/_keystone/auth`); none by
    /// default.
    pub forward_auth_path: Option<String>,
    /// A second listener for `/livez`, `/readyz` and `/metrics` (none by default).
    pub admin_listen: Option<SocketAddr>,
    /// What a request that matches no route gets: `deny` (the default: 401 without a valid
    /// token, 403 with one) or `authenticated` (any valid token passes).
    #[serde(default)]
    pub unmatched: Unmatched,
    /// Seconds to connect to the upstream (5); then 502.
    #[serde(default = "five", deserialize_with = "number")]
    pub upstream_connect_timeout: u64,
    /// Seconds the upstream may take to answer a request's head (60); then 504. Bodies
    /// stream without a limit.
    #[serde(default = "sixty", deserialize_with = "number")]
    pub upstream_timeout: u64,
    /// Upgraded connections (WebSockets) spliced to the upstream at once (256). They leave the
    /// HTTP server once upgraded, so `[server] max_connections` does not count them; beyond
    /// this many, an upgrade request is answered 503.
    #[serde(default = "two_hundred_fifty_six", deserialize_with = "number")]
    pub max_upgraded_connections: u64,
    /// Seconds an upgraded connection may stay silent both ways before it is closed (3600).
    #[serde(default = "hour", deserialize_with = "number")]
    pub upgraded_idle_timeout: u64,
    /// Speak HTTP/2 (prior knowledge) to the upstream instead of HTTP/1.1.
    #[serde(default, deserialize_with = "boolean")]
    pub upstream_http2: bool,
    /// The routes, first match by path then by method.
    #[serde(default, rename = "route", deserialize_with = "routes")]
    pub routes: Vec<RouteSpec>,
    /// The rules' registered defaults: name → check string (an operator's policy file
    /// overrides them).
    #[serde(default, rename = "rules", alias = "rule", deserialize_with = "rules")]
    pub rules: BTreeMap<String, String>,
}

/// What a request that matches no route gets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unmatched {
    /// 401 without a valid token, 403 with one.
    #[default]
    Deny,
    /// Any valid token passes; no policy rule is checked.
    Authenticated,
}

/// One route: methods (empty: any), a path pattern (`{name}` captures a segment, a trailing
/// `/**` the rest), and either `public` or the rule that must allow the request.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteSpec {
    /// The methods, upper case; none means any.
    #[serde(default)]
    pub methods: Vec<String>,
    /// The path pattern.
    pub path: String,
    /// No token needed.
    #[serde(default)]
    pub public: bool,
    /// The oslo.policy rule to check.
    pub rule: Option<String>,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

fn five() -> u64 {
    5
}

fn sixty() -> u64 {
    60
}

fn two_hundred_fifty_six() -> u64 {
    256
}

fn hour() -> u64 {
    3600
}

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file does not load (figment names the option and the file).
    #[error(transparent)]
    Load(#[from] LoadConfigError),
    /// The options do not make a proxy.
    #[error("{file}: [proxy] {option}: {reason}")]
    Invalid {
        /// The file.
        file: String,
        /// The option.
        option: &'static str,
        /// What is wrong.
        reason: String,
    },
}

impl ProxyConfig {
    /// Loads a file (TOML if it ends in `.toml`, INI otherwise) and the environment, and
    /// checks what the loader cannot.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let mut config: ProxyConfig =
            keystone_middleware::config::load_file(path, &[PROXY_SECTION])?;
        config
            .oslo_policy
            .relative_to(path.parent().unwrap_or(Path::new(".")));
        config.validate(&path.display().to_string())?;
        Ok(config)
    }

    /// Loads INI text.
    pub fn from_ini_str(text: &str) -> Result<Self, ConfigError> {
        let config: ProxyConfig =
            keystone_middleware::config::load_ini_str(text, &[PROXY_SECTION])?;
        config.validate("INI text")?;
        Ok(config)
    }

    /// Loads TOML text.
    pub fn from_toml_str(text: &str) -> Result<Self, ConfigError> {
        let config: ProxyConfig = keystone_middleware::config::load_toml_str(text)?;
        config.validate("TOML text")?;
        Ok(config)
    }

    fn validate(&self, file: &str) -> Result<(), ConfigError> {
        let invalid = |option, reason: String| ConfigError::Invalid {
            file: file.to_owned(),
            option,
            reason,
        };
        let p = &self.proxy;
        if p.upstream.is_none() && p.forward_auth_path.is_none() {
            return Err(invalid(
                "upstream",
                "give an upstream to forward to, or a forward_auth_path, or both".into(),
            ));
        }
        if let Some(u) = &p.upstream {
            let url = url::Url::parse(u).map_err(|e| invalid("upstream", format!("{u}: {e}")))?;
            if url.scheme() != "http" || url.host().is_none() {
                return Err(invalid(
                    "upstream",
                    format!(
                        "{u}: an http:// URL with a host (TLS to the upstream is not supported)"
                    ),
                ));
            }
        }
        if let Some(a) = &p.forward_auth_path
            && !a.starts_with('/')
        {
            return Err(invalid(
                "forward_auth_path",
                format!("{a}: a path, starting with /"),
            ));
        }
        for r in &p.routes {
            match (r.public, &r.rule) {
                (true, Some(rule)) => {
                    return Err(invalid(
                        "route",
                        format!("{}: public, or rule {rule}, not both", r.path),
                    ));
                }
                (false, None) => {
                    return Err(invalid(
                        "route",
                        format!("{}: name a rule, or make it public", r.path),
                    ));
                }
                (false, Some(rule)) if !p.rules.contains_key(rule) => {
                    return Err(invalid(
                        "route",
                        format!(
                            "{}: rule {rule} has no default in [proxy] rules (an operator's \
                             policy file may override a rule, not add one)",
                            r.path
                        ),
                    ));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// `upstream_connect_timeout` as a duration (at least 1 s).
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_secs(self.proxy.upstream_connect_timeout.max(1))
    }

    /// `upgraded_idle_timeout` as a duration (at least 1 s).
    pub fn upgraded_idle_timeout(&self) -> Duration {
        Duration::from_secs(self.proxy.upgraded_idle_timeout.max(1))
    }

    /// `upstream_timeout` as a duration (at least 1 s).
    pub fn upstream_timeout(&self) -> Duration {
        Duration::from_secs(self.proxy.upstream_timeout.max(1))
    }
}

/// A number written natively (TOML) or as text (INI, environment).
fn number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum N {
        Native(u64),
        Text(String),
    }
    match N::deserialize(d)? {
        N::Native(n) => Ok(n),
        N::Text(s) => s
            .trim()
            .parse()
            .map_err(|_| serde::de::Error::custom(format!("{s:?} is not a number"))),
    }
}

/// A boolean written natively or as oslo.config's words.
fn boolean<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum B {
        Native(bool),
        Text(String),
    }
    match B::deserialize(d)? {
        B::Native(b) => Ok(b),
        B::Text(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" => Ok(false),
            _ => Err(serde::de::Error::custom(format!("{s:?} is not a boolean"))),
        },
    }
}

/// Routes as TOML tables, or as INI lines `METHODS PATH public|RULE` (`*` or `GET,HEAD`).
fn routes<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<RouteSpec>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum R {
        Table(RouteSpec),
        Line(String),
    }
    Vec::<R>::deserialize(d)?
        .into_iter()
        .map(|r| match r {
            R::Table(t) => Ok(t),
            R::Line(line) => parse_route_line(&line).map_err(serde::de::Error::custom),
        })
        .collect()
}

/// `GET,HEAD /v1/{project_id}/things things:read`, `* /healthz public`.
fn parse_route_line(line: &str) -> Result<RouteSpec, String> {
    let parts: Vec<&str> = line.split_whitespace().collect();
    let [methods, path, access] = parts[..] else {
        return Err(format!(
            "route {line:?}: write METHODS PATH ACCESS, such as `GET /v1/{{id}} things:read` \
             or `* /healthz public`"
        ));
    };
    let methods = if methods == "*" {
        Vec::new()
    } else {
        methods
            .split(',')
            .map(|m| m.trim().to_ascii_uppercase())
            .collect()
    };
    let public = access == "public";
    Ok(RouteSpec {
        methods,
        path: path.to_owned(),
        public,
        rule: (!public).then(|| access.to_owned()),
    })
}

/// Rules as a TOML table (name → check), or as INI lines `NAME = CHECK`.
fn rules<'de, D: serde::Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum R {
        Table(BTreeMap<String, String>),
        Lines(Vec<String>),
    }
    match R::deserialize(d)? {
        R::Table(t) => Ok(t),
        R::Lines(lines) => lines
            .into_iter()
            .map(|l| match l.split_once(" = ") {
                Some((name, check)) => Ok((name.trim().to_owned(), check.trim().to_owned())),
                None => Err(serde::de::Error::custom(format!(
                    "rule {l:?}: write NAME = CHECK, such as `things:read = role:reader`"
                ))),
            })
            .collect(),
    }
}
