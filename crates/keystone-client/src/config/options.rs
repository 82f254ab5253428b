//! The one loader of keystoneauth's plugin options: a service user's or a cloud's credentials,
//! scope and connection options by their keystoneauth names (`auth_url`, `username`,
//! `user_domain_id`, `project_name`, `application_credential_secret`, `cacert`, ...), turned
//! into an [`Auth`] and a [`CloudConfig`]. `OS_*` variables and `clouds.yaml` (after
//! openstacksdk's domain shorthand) and keystonemiddleware's `[keystone_authtoken]` all come
//! through here, so that the three read credentials the same way.
//!
//! **Architecture invariant:** only `config::options` turns option values into an `Auth`. A
//! source of options only maps names (`get`) and names the options in its errors (`name`).

use std::path::PathBuf;

use keystone_types::auth::{DomainRef, ProjectScope, Scope};

use super::CloudConfig;
use crate::auth::{Auth, UserIdentity};
use crate::catalog::Interface;
use crate::error::ConfigError;

/// A source of options: the value of a keystoneauth option, if set and not empty.
pub type Get<'a> = &'a dyn Fn(&str) -> Option<String>;
/// How a source names an option in errors (`OS_USERNAME`, `clouds.c.auth.username`,
/// `[keystone_authtoken] username`).
pub type Name<'a> = &'a dyn Fn(&str) -> String;

impl CloudConfig {
    /// A configuration from keystoneauth's plugin options: the credentials and scope (as
    /// [`auth_from_options`]), `auth_url`, `region_name`, `interface`, `cacert`, `cert` and `key`
    /// (one file holding both when `key` is not given, as keystoneauth has it), `insecure`.
    pub fn from_options(get: Get<'_>, name: Name<'_>) -> Result<Self, ConfigError> {
        one_scope_only(get, name)?;
        let auth_url = get("auth_url").ok_or_else(|| ConfigError::missing(name("auth_url")))?;
        let auth = method_and_scope(get, name)?;
        let interface = match get("interface") {
            Some(i) => Some(Interface::parse(&i).ok_or_else(|| {
                ConfigError::invalid(name("interface"), &i, "expected public, internal or admin")
            })?),
            None => None,
        };
        let client_cert = match (get("cert"), get("key")) {
            (Some(c), Some(k)) => Some((PathBuf::from(c), PathBuf::from(k))),
            // as keystoneauth1: one PEM file with the certificate and its key
            (Some(c), None) => Some((PathBuf::from(&c), PathBuf::from(c))),
            (None, Some(_)) => {
                return Err(ConfigError::missing_with(
                    name("cert"),
                    format!("{} is the key of a certificate", name("key")),
                ));
            }
            (None, None) => None,
        };
        Ok(CloudConfig {
            auth_url,
            auth,
            region: get("region_name"),
            interface,
            cacert: get("cacert").map(PathBuf::from),
            client_cert,
            insecure: get("insecure").is_some_and(|v| truthy(&v)),
        })
    }
}

/// The credentials and scope that keystoneauth's plugin options describe: `auth_type`
/// (`password`, `v3password`, `token`, `v3token`, `v3applicationcredential`; when unset, an
/// application credential if its secret is given, a token if a token and no password is, else a
/// password), the user by id or by name in a domain, and at most one scope (a project, a
/// domain, the system or a trust). A domain not given falls back to `default_domain_id` /
/// `default_domain_name`, as keystoneauth's generic password plugin does.
///
/// ```
/// use keystone_client::config::auth_from_options;
/// use keystone_types::auth::{DomainRef, ProjectScope, Scope};
///
/// let options = [("username", "svc"), ("password", "pw"), ("default_domain_id", "default"),
///                ("project_name", "services")];
/// let get = |k: &str| options.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string());
/// let auth = auth_from_options(&get, &|k: &str| k.to_owned()).unwrap();
/// assert_eq!(auth.scope, Some(Scope::Project(ProjectScope {
///     id: None, name: Some("services".into()), domain: Some(DomainRef::id("default")),
/// })));
/// ```
pub fn auth_from_options(get: Get<'_>, name: Name<'_>) -> Result<Auth, ConfigError> {
    one_scope_only(get, name)?;
    method_and_scope(get, name)
}

/// [`auth_from_options`], once [`one_scope_only`] has passed.
fn method_and_scope(get: Get<'_>, name: Name<'_>) -> Result<Auth, ConfigError> {
    let auth_type = get("auth_type").unwrap_or_else(|| {
        if get("application_credential_secret").is_some() {
            "v3applicationcredential".into()
        } else if get("token").is_some() && get("password").is_none() {
            "v3token".into()
        } else {
            "password".into()
        }
    });
    match auth_type.as_str() {
        "password" | "v3password" => {
            let user = user(get, name, "password authentication")?;
            let password = get("password").ok_or_else(|| ConfigError::missing(name("password")))?;
            let mut auth = Auth::password(user, password);
            auth.scope = scope(get, name)?;
            Ok(auth)
        }
        "token" | "v3token" => {
            let token = get("token").ok_or_else(|| ConfigError::missing(name("token")))?;
            let mut auth = Auth::token(token);
            auth.scope = scope(get, name)?;
            Ok(auth)
        }
        // an application credential carries its own scope
        "v3applicationcredential" | "applicationcredential" | "application_credential" => {
            application_credential(get, name)
        }
        other => Err(ConfigError::invalid(
            name("auth_type"),
            other,
            "supported: password, v3password, token, v3token, v3applicationcredential",
        )),
    }
}

/// keystoneauth's check: "authentication cannot be scoped to multiple targets".
fn one_scope_only(get: Get<'_>, name: Name<'_>) -> Result<(), ConfigError> {
    let kinds = [
        get("system_scope").is_some(),
        get("project_id").is_some() || get("project_name").is_some(),
        get("domain_id").is_some() || get("domain_name").is_some(),
        get("trust_id").is_some(),
    ];
    if kinds.iter().filter(|k| **k).count() > 1 {
        return Err(ConfigError::invalid(
            name("system_scope"),
            "",
            format!(
                "give one scope only: the system ({}), a project ({} / {}), a domain ({} / {}) \
                 or a trust ({})",
                name("system_scope"),
                name("project_id"),
                name("project_name"),
                name("domain_id"),
                name("domain_name"),
                name("trust_id"),
            ),
        ));
    }
    Ok(())
}

/// A domain by `<prefix>_domain_id` or `<prefix>_domain_name`, else the default domain.
fn domain(get: Get<'_>, prefix: &str) -> Option<DomainRef> {
    let by = |what: &str| get(&format!("{prefix}_domain_{what}"));
    match (by("id"), by("name")) {
        (Some(id), _) => Some(DomainRef::id(id)),
        (None, Some(n)) => Some(DomainRef::name(n)),
        (None, None) => match (get("default_domain_id"), get("default_domain_name")) {
            (Some(id), _) => Some(DomainRef::id(id)),
            (None, Some(n)) => Some(DomainRef::name(n)),
            (None, None) => None,
        },
    }
}

/// The user, by `user_id` or by `username` in a domain.
fn user(get: Get<'_>, name: Name<'_>, required_for: &str) -> Result<UserIdentity, ConfigError> {
    if let Some(id) = get("user_id") {
        return Ok(UserIdentity::by_id(id));
    }
    let username = get("username").ok_or_else(|| {
        ConfigError::missing_with(
            name("username"),
            format!("or {} for {required_for}", name("user_id")),
        )
    })?;
    let domain = domain(get, "user").ok_or_else(|| {
        ConfigError::missing_with(
            name("user_domain_name"),
            format!("or {}, to find user {username}", name("user_domain_id")),
        )
    })?;
    Ok(UserIdentity::Name {
        name: username,
        domain,
    })
}

fn application_credential(get: Get<'_>, name: Name<'_>) -> Result<Auth, ConfigError> {
    let secret = get("application_credential_secret")
        .ok_or_else(|| ConfigError::missing(name("application_credential_secret")))?;
    match (
        get("application_credential_id"),
        get("application_credential_name"),
    ) {
        (Some(id), _) => Ok(Auth::application_credential(id, secret)),
        (None, Some(cred)) => Ok(Auth::application_credential_by_name(
            cred,
            user(get, name, "an application credential named by name")?,
            secret,
        )),
        (None, None) => Err(ConfigError::missing_with(
            name("application_credential_id"),
            format!("or {}", name("application_credential_name")),
        )),
    }
}

/// The scope, when one is given ([`one_scope_only`] has made sure there is at most one).
fn scope(get: Get<'_>, name: Name<'_>) -> Result<Option<Scope>, ConfigError> {
    if let Some(s) = get("system_scope") {
        if s.eq_ignore_ascii_case("all") {
            return Ok(Some(Scope::system()));
        }
        return Err(ConfigError::invalid(
            name("system_scope"),
            s,
            "the only system scope is \"all\"",
        ));
    }
    if let Some(id) = get("trust_id") {
        return Ok(Some(Scope::trust(id)));
    }
    if let Some(id) = get("project_id") {
        return Ok(Some(Scope::project_by_id(id)));
    }
    if let Some(project) = get("project_name") {
        let domain = domain(get, "project").ok_or_else(|| {
            ConfigError::missing_with(
                name("project_domain_name"),
                format!(
                    "or {}, to find project {project}",
                    name("project_domain_id")
                ),
            )
        })?;
        return Ok(Some(Scope::Project(ProjectScope {
            id: None,
            name: Some(project),
            domain: Some(domain),
        })));
    }
    if let Some(id) = get("domain_id") {
        return Ok(Some(Scope::domain_by_id(id)));
    }
    if let Some(n) = get("domain_name") {
        return Ok(Some(Scope::domain_by_name(n)));
    }
    Ok(None)
}

fn truthy(v: &str) -> bool {
    matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on")
}
