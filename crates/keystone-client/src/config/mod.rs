//! Configuration as OpenStack users write it: `OS_*` environment variables, and `clouds.yaml`
//! with `secure.yaml` and `clouds-public.yaml` profiles, searched where openstacksdk searches.
//!
//! # Example
//!
//! ```
//! use std::collections::HashMap;
//! use keystone_client::config::CloudConfig;
//!
//! let env: HashMap<&str, &str> = [
//!     ("OS_AUTH_URL", "http://keystone.example:5000/v3"),
//!     ("OS_USERNAME", "admin"),
//!     ("OS_PASSWORD", "secret"),
//!     ("OS_USER_DOMAIN_NAME", "Default"),
//!     ("OS_PROJECT_NAME", "admin"),
//!     ("OS_PROJECT_DOMAIN_NAME", "Default"),
//!     ("OS_REGION_NAME", "RegionOne"),
//! ].into();
//! let config = CloudConfig::from_vars(|k| env.get(k).map(|v| v.to_string())).unwrap();
//! assert_eq!(config.region.as_deref(), Some("RegionOne"));
//!
//! // a missing key is named
//! let err = CloudConfig::from_vars(|k| (k == "OS_AUTH_URL").then(|| "http://x/v3".into())).unwrap_err();
//! assert!(err.to_string().contains("OS_USERNAME"), "{err}");
//! ```

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::Session;
use crate::auth::Auth;
use crate::catalog::Interface;
use crate::error::ConfigError;
use crate::session::SessionBuilder;

mod options;

pub use options::{Get, Name, auth_from_options};

/// Everything needed to build a session, from the environment or a `clouds.yaml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudConfig {
    /// The Keystone URL.
    pub auth_url: String,
    /// The method and scope.
    pub auth: Auth,
    /// `OS_REGION_NAME` / `region_name`.
    pub region: Option<String>,
    /// `OS_INTERFACE` / `interface`.
    pub interface: Option<Interface>,
    /// `OS_CACERT` / `cacert`.
    pub cacert: Option<PathBuf>,
    /// `OS_CERT` and `OS_KEY` / `cert` and `key`.
    pub client_cert: Option<(PathBuf, PathBuf)>,
    /// `OS_INSECURE` / `verify: false`.
    pub insecure: bool,
}

impl CloudConfig {
    /// Reads the process environment: `OS_CLOUD` selects a cloud in `clouds.yaml`;
    /// otherwise the `OS_*` variables describe it.
    pub fn from_env() -> Result<Self, ConfigError> {
        let get = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        match get("OS_CLOUD") {
            Some(cloud) => {
                let mut config = Self::from_clouds_yaml(&cloud, &search_path(&get))?;
                if let Some(region) = get("OS_REGION_NAME") {
                    config.region = Some(region);
                }
                Ok(config)
            }
            None => Self::from_vars(get),
        }
    }

    /// Builds a configuration from `OS_*` variables given by `get`.
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let lookup =
            |key: &str| get(&format!("OS_{}", key.to_ascii_uppercase())).filter(|v| !v.is_empty());
        let lookup = |key: &str| with_domain_shorthand(&lookup, key);
        Self::from_options(&lookup, &|key: &str| {
            format!("OS_{}", key.to_ascii_uppercase())
        })
    }

    /// Reads cloud `cloud` from the first `clouds.yaml` in `search` (with `secure.yaml` and
    /// the `clouds-public.yaml` profile merged in).
    pub fn from_clouds_yaml(cloud: &str, search: &SearchPath) -> Result<Self, ConfigError> {
        let clouds_file = search.clouds.iter().find(|p| p.is_file()).ok_or_else(|| {
            ConfigError::missing_with(
                "clouds.yaml",
                format!("looked in {}", display_paths(&search.clouds)),
            )
        })?;
        let clouds = read_yaml(clouds_file)?;
        let mut entry = clouds
            .get("clouds")
            .and_then(|c| c.get(cloud))
            .cloned()
            .ok_or_else(|| {
                ConfigError::missing_with(
                    format!("clouds.{cloud}"),
                    format!("not in {}", clouds_file.display()),
                )
            })?;
        if let Some(profile) = entry
            .get("profile")
            .and_then(Value::as_str)
            .map(str::to_owned)
        {
            let public = search.public.iter().find(|p| p.is_file()).ok_or_else(|| {
                ConfigError::missing_with(
                    "clouds-public.yaml",
                    format!(
                        "cloud {cloud} uses profile {profile}; looked in {}",
                        display_paths(&search.public)
                    ),
                )
            })?;
            let base = read_yaml(public)?
                .get("public-clouds")
                .and_then(|c| c.get(&profile))
                .cloned()
                .ok_or_else(|| {
                    ConfigError::missing_with(
                        format!("public-clouds.{profile}"),
                        format!("not in {}", public.display()),
                    )
                })?;
            let mut merged = base;
            merge(&mut merged, &entry);
            entry = merged;
        }
        if let Some(secure_file) = search.secure.iter().find(|p| p.is_file())
            && let Some(secret) = read_yaml(secure_file)?
                .get("clouds")
                .and_then(|c| c.get(cloud))
        {
            merge(&mut entry, secret);
        }
        let empty = Map::new();
        let top = entry.as_object().unwrap_or(&empty);
        let auth = top.get("auth").and_then(Value::as_object).unwrap_or(&empty);
        let text = |v: &Value| match v {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        };
        let lookup = |key: &str| {
            auth.get(key)
                .or_else(|| top.get(key))
                .and_then(text)
                .filter(|v| !v.is_empty())
                .or_else(|| match key {
                    // clouds.yaml says `verify: false` where the environment says OS_INSECURE
                    "insecure" => top
                        .get("verify")
                        .and_then(Value::as_bool)
                        .map(|v| (!v).to_string()),
                    _ => None,
                })
        };
        let name_of = |key: &str| {
            if AUTH_KEYS.contains(&key) {
                format!("clouds.{cloud}.auth.{key}")
            } else {
                format!("clouds.{cloud}.{key}")
            }
        };
        let lookup = |key: &str| with_domain_shorthand(&lookup, key);
        Self::from_options(&lookup, &name_of)
    }

    /// A session builder with this configuration.
    pub fn session_builder(&self) -> SessionBuilder {
        let mut b =
            Session::builder(self.auth_url.clone(), self.auth.clone()).insecure(self.insecure);
        if let Some(r) = &self.region {
            b = b.region(r.clone());
        }
        if let Some(i) = self.interface {
            b = b.interfaces([i]);
        }
        if let Some(c) = &self.cacert {
            b = b.cacert(c.clone());
        }
        if let Some((cert, key)) = &self.client_cert {
            b = b.client_cert(cert.clone(), key.clone());
        }
        b
    }
}

const AUTH_KEYS: &[&str] = &[
    "auth_url",
    "username",
    "user_id",
    "password",
    "user_domain_name",
    "user_domain_id",
    "project_name",
    "project_id",
    "project_domain_name",
    "project_domain_id",
    "domain_name",
    "domain_id",
    "system_scope",
    "trust_id",
    "token",
    "application_credential_id",
    "application_credential_name",
    "application_credential_secret",
];

/// Where to look for the three files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchPath {
    /// Candidates for `clouds.yaml`, first found wins.
    pub clouds: Vec<PathBuf>,
    /// Candidates for `secure.yaml`.
    pub secure: Vec<PathBuf>,
    /// Candidates for `clouds-public.yaml`.
    pub public: Vec<PathBuf>,
}

impl SearchPath {
    /// openstacksdk's search order under `dirs`.
    pub fn in_dirs(dirs: &[PathBuf]) -> Self {
        let under = |name: &str| dirs.iter().map(|d| d.join(name)).collect();
        SearchPath {
            clouds: under("clouds.yaml"),
            secure: under("secure.yaml"),
            public: under("clouds-public.yaml"),
        }
    }
}

/// `OS_CLIENT_CONFIG_FILE` / `OS_CLIENT_SECURE_FILE` first, then `./`, `~/.config/openstack`,
/// `/etc/openstack`.
fn search_path(get: &dyn Fn(&str) -> Option<String>) -> SearchPath {
    let mut dirs = vec![PathBuf::from(".")];
    if let Some(home) = get("HOME") {
        dirs.push(Path::new(&home).join(".config/openstack"));
    }
    dirs.push(PathBuf::from("/etc/openstack"));
    let mut path = SearchPath::in_dirs(&dirs);
    if let Some(f) = get("OS_CLIENT_CONFIG_FILE") {
        path.clouds.insert(0, PathBuf::from(f));
    }
    if let Some(f) = get("OS_CLIENT_SECURE_FILE") {
        path.secure.insert(0, PathBuf::from(f));
    }
    path
}

fn display_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn read_yaml(path: &Path) -> Result<Value, ConfigError> {
    let file_error = |reason: String| ConfigError::File {
        path: path.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| file_error(e.to_string()))?;
    yaml_serde::from_str(&text).map_err(|e| file_error(e.to_string()))
}

/// Deep-merges `over` into `base`.
fn merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                merge(b.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (b, o) => *b = o.clone(),
    }
}

/// openstacksdk's shorthand (`_handle_domain_id`): `domain_id` / `domain_name` stand for the
/// user's domain when it is not given, and, for a project-scoped cloud, for the project's
/// domain too, and then name no domain scope.
fn with_domain_shorthand(get: &dyn Fn(&str) -> Option<String>, key: &str) -> Option<String> {
    let project_scoped = get("project_id").is_some() || get("project_name").is_some();
    let (short, for_project) = match key {
        "user_domain_id" => ("domain_id", false),
        "user_domain_name" => ("domain_name", false),
        "project_domain_id" => ("domain_id", true),
        "project_domain_name" => ("domain_name", true),
        "domain_id" | "domain_name" if project_scoped => return None,
        _ => return get(key),
    };
    get(key).or_else(|| {
        if for_project && !project_scoped {
            None
        } else {
            get(short)
        }
    })
}
