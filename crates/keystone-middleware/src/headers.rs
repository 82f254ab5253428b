//! The identity headers: every one is stripped from the incoming request before anything else
//! (so no caller can spoof them), then set from the validated tokens, as keystonemiddleware
//! does, plus `OpenStack-System-Scope`, which keystonemiddleware forgets to strip.

use crate::compact::{CompactToken, Field};
use axum::http::{HeaderMap, HeaderName, HeaderValue};

/// Every header the layer owns (lower case): it strips each from incoming requests and sets
/// those the validated tokens give. A gateway that hands a forward-auth answer's identity on
/// (nginx `auth_request_set`, Envoy `allowed_upstream_headers`) must copy or clear every one,
/// or a client's own value reaches the service.
pub const IDENTITY_HEADERS: &[&str] = &[
    "x-identity-status",
    "x-service-identity-status",
    "x-user-id",
    "x-user-name",
    "x-user-domain-id",
    "x-user-domain-name",
    "x-project-id",
    "x-project-name",
    "x-project-domain-id",
    "x-project-domain-name",
    "x-domain-id",
    "x-domain-name",
    "x-roles",
    "x-service-catalog",
    "x-is-admin-project",
    "openstack-system-scope",
    "x-service-user-id",
    "x-service-user-name",
    "x-service-user-domain-id",
    "x-service-user-domain-name",
    "x-service-project-id",
    "x-service-project-name",
    "x-service-project-domain-id",
    "x-service-project-domain-name",
    "x-service-domain-id",
    "x-service-domain-name",
    "x-service-roles",
    "x-service-is-admin-project",
    "x-tenant-id",
    "x-tenant-name",
    "x-tenant",
    "x-user",
    "x-role",
];

const X_IDENTITY_STATUS: HeaderName = HeaderName::from_static("x-identity-status");
const X_SERVICE_IDENTITY_STATUS: HeaderName = HeaderName::from_static("x-service-identity-status");
const X_USER_ID: HeaderName = HeaderName::from_static("x-user-id");
const X_USER_NAME: HeaderName = HeaderName::from_static("x-user-name");
const X_USER_DOMAIN_ID: HeaderName = HeaderName::from_static("x-user-domain-id");
const X_USER_DOMAIN_NAME: HeaderName = HeaderName::from_static("x-user-domain-name");
const X_PROJECT_ID: HeaderName = HeaderName::from_static("x-project-id");
const X_PROJECT_NAME: HeaderName = HeaderName::from_static("x-project-name");
const X_PROJECT_DOMAIN_ID: HeaderName = HeaderName::from_static("x-project-domain-id");
const X_PROJECT_DOMAIN_NAME: HeaderName = HeaderName::from_static("x-project-domain-name");
const X_DOMAIN_ID: HeaderName = HeaderName::from_static("x-domain-id");
const X_DOMAIN_NAME: HeaderName = HeaderName::from_static("x-domain-name");
const X_ROLES: HeaderName = HeaderName::from_static("x-roles");
const X_SERVICE_CATALOG: HeaderName = HeaderName::from_static("x-service-catalog");
const X_IS_ADMIN_PROJECT: HeaderName = HeaderName::from_static("x-is-admin-project");
const OPENSTACK_SYSTEM_SCOPE: HeaderName = HeaderName::from_static("openstack-system-scope");
const X_SERVICE_USER_ID: HeaderName = HeaderName::from_static("x-service-user-id");
const X_SERVICE_USER_NAME: HeaderName = HeaderName::from_static("x-service-user-name");
const X_SERVICE_USER_DOMAIN_ID: HeaderName = HeaderName::from_static("x-service-user-domain-id");
const X_SERVICE_USER_DOMAIN_NAME: HeaderName =
    HeaderName::from_static("x-service-user-domain-name");
const X_SERVICE_PROJECT_ID: HeaderName = HeaderName::from_static("x-service-project-id");
const X_SERVICE_PROJECT_NAME: HeaderName = HeaderName::from_static("x-service-project-name");
const X_SERVICE_PROJECT_DOMAIN_ID: HeaderName =
    HeaderName::from_static("x-service-project-domain-id");
const X_SERVICE_PROJECT_DOMAIN_NAME: HeaderName =
    HeaderName::from_static("x-service-project-domain-name");
const X_SERVICE_DOMAIN_ID: HeaderName = HeaderName::from_static("x-service-domain-id");
const X_SERVICE_DOMAIN_NAME: HeaderName = HeaderName::from_static("x-service-domain-name");
const X_SERVICE_ROLES: HeaderName = HeaderName::from_static("x-service-roles");

/// Whether a header (by its lower-case name) is one of the identity headers the layer strips
/// from requests and sets from validated tokens (`x-user-id`, `x-roles`, ...).
pub fn is_identity_header(name: &str) -> bool {
    is_identity(name)
}

/// Whether a header name is one the layer owns.
fn is_identity(name: &str) -> bool {
    (name.starts_with("x-") || name.starts_with("openstack-")) && IDENTITY_HEADERS.contains(&name)
}

/// The tokens a request carries (header values share the request's buffer).
#[derive(Debug, Default)]
pub(crate) struct Tokens {
    /// `X-Auth-Token`, else `X-Storage-Token`.
    pub(crate) user: Option<HeaderValue>,
    /// `X-Service-Token`.
    pub(crate) service: Option<HeaderValue>,
}

/// In one pass over the request's headers (usually a few): marks the token headers sensitive,
/// takes the tokens, and removes every identity header the caller sent. An empty token header
/// counts as absent, as keystonemiddleware reads it (an empty `X-Service-Token` beside a valid
/// user token is no reason to refuse the request, nor to ask Keystone).
pub(crate) fn prepare(headers: &mut HeaderMap) -> Tokens {
    let (mut auth, mut storage, mut service) = (None, None, None);
    let mut spoofed = false;
    for (name, value) in headers.iter_mut() {
        let slot = match name.as_str() {
            "x-auth-token" => &mut auth,
            "x-storage-token" => &mut storage,
            "x-service-token" => &mut service,
            // not read here, but a token all the same: kept out of debug output
            "x-subject-token" => {
                value.set_sensitive(true);
                continue;
            }
            other => {
                spoofed |= is_identity(other);
                continue;
            }
        };
        value.set_sensitive(true);
        if slot.is_none() && !value.is_empty() {
            *slot = Some(value.clone());
        }
    }
    if spoofed {
        let owned: Vec<HeaderName> = headers
            .keys()
            .filter(|k| is_identity(k.as_str()))
            .cloned()
            .collect();
        for name in owned {
            headers.remove(name);
        }
    }
    Tokens {
        user: auth.or(storage),
        service,
    }
}

fn put(headers: &mut HeaderMap, name: HeaderName, value: Option<HeaderValue>) {
    if let Some(v) = value {
        headers.insert(name, v);
    }
}

fn set_static(headers: &mut HeaderMap, name: HeaderName, value: &'static str) {
    headers.insert(name, HeaderValue::from_static(value));
}

/// The user headers of one validated token, built once into a map of their own: setting them
/// on a request then copies that map, hashes already computed, and adds the request's own
/// few headers to it (the values share the token's buffer).
pub(crate) struct UserHeaders(HeaderMap);

impl UserHeaders {
    /// The headers keystonemiddleware sets for a user token (`X-Service-Catalog` only with
    /// `include_catalog`).
    pub(crate) fn new(t: &CompactToken, include_catalog: bool) -> Self {
        let static_value = HeaderValue::from_static;
        let mut all = vec![(X_IDENTITY_STATUS, static_value("Confirmed"))];
        for (name, field) in [
            (X_USER_ID, Field::UserId),
            (X_USER_NAME, Field::UserName),
            (X_USER_DOMAIN_ID, Field::UserDomainId),
            (X_USER_DOMAIN_NAME, Field::UserDomainName),
            (X_PROJECT_ID, Field::ProjectId),
            (X_PROJECT_NAME, Field::ProjectName),
            (X_PROJECT_DOMAIN_ID, Field::ProjectDomainId),
            (X_PROJECT_DOMAIN_NAME, Field::ProjectDomainName),
            (X_DOMAIN_ID, Field::DomainId),
            (X_DOMAIN_NAME, Field::DomainName),
            (X_ROLES, Field::Roles),
        ] {
            all.extend(t.header_value(field).map(|v| (name, v)));
        }
        if t.is_system() {
            all.push((OPENSTACK_SYSTEM_SCOPE, static_value("all")));
        }
        let admin = if t.is_admin_project() {
            "True"
        } else {
            "False"
        };
        all.push((X_IS_ADMIN_PROJECT, static_value(admin)));
        if include_catalog {
            all.extend(
                t.header_value(Field::ServiceCatalog)
                    .map(|v| (X_SERVICE_CATALOG, v)),
            );
        }
        // room for a request's own headers, so that adding them to a copy never rehashes
        let mut map = HeaderMap::with_capacity(all.len() + 8);
        map.extend(all);
        UserHeaders(map)
    }

    /// Sets the headers on a request whose identity headers were stripped ([`prepare`]).
    pub(crate) fn set_on(&self, headers: &mut HeaderMap) {
        UserHeaders(self.0.clone()).put_on(headers);
    }

    /// Like [`UserHeaders::set_on`], for headers built for this one request (no copy).
    fn put_on(self, headers: &mut HeaderMap) {
        let mut all = self.0;
        all.extend(std::mem::take(headers));
        *headers = all;
    }
}

/// Sets the user headers from a validated token; the values share the cached buffer.
pub(crate) fn set_user(headers: &mut HeaderMap, t: &CompactToken, include_catalog: bool) {
    UserHeaders::new(t, include_catalog).put_on(headers);
}

/// Sets the service headers from a validated service token.
pub(crate) fn set_service(headers: &mut HeaderMap, t: &CompactToken) {
    set_static(headers, X_SERVICE_IDENTITY_STATUS, "Confirmed");
    for (name, field) in [
        (X_SERVICE_USER_ID, Field::UserId),
        (X_SERVICE_USER_NAME, Field::UserName),
        (X_SERVICE_USER_DOMAIN_ID, Field::UserDomainId),
        (X_SERVICE_USER_DOMAIN_NAME, Field::UserDomainName),
        (X_SERVICE_PROJECT_ID, Field::ProjectId),
        (X_SERVICE_PROJECT_NAME, Field::ProjectName),
        (X_SERVICE_PROJECT_DOMAIN_ID, Field::ProjectDomainId),
        (X_SERVICE_PROJECT_DOMAIN_NAME, Field::ProjectDomainName),
        (X_SERVICE_DOMAIN_ID, Field::DomainId),
        (X_SERVICE_DOMAIN_NAME, Field::DomainName),
        (X_SERVICE_ROLES, Field::Roles),
    ] {
        put(headers, name, t.header_value(field));
    }
}

/// Marks an unauthenticated request, as `delay_auth_decision` does.
pub(crate) fn set_invalid(headers: &mut HeaderMap) {
    set_static(headers, X_IDENTITY_STATUS, "Invalid");
}

/// Marks an invalid service token, with `delay_auth_decision`.
pub(crate) fn set_service_invalid(headers: &mut HeaderMap) {
    set_static(headers, X_SERVICE_IDENTITY_STATUS, "Invalid");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn prepare_takes_the_tokens_hides_them_and_strips_identity_headers() {
        let mut h = map(&[
            ("host", "myservice"),
            ("x-auth-token", "secret-1"),
            ("x-auth-token", "secret-2"),
            ("x-storage-token", "secret-3"),
            ("x-service-token", "secret-4"),
            ("x-roles", "admin"),
            ("openstack-system-scope", "all"),
            ("x-service-user-name", "root"),
            ("x-tenant-id", "other"),
            ("x-custom", "kept"),
        ]);
        let tokens = prepare(&mut h);
        assert_eq!(tokens.user.unwrap(), "secret-1");
        assert_eq!(tokens.service.unwrap(), "secret-4");
        for name in ["x-auth-token", "x-storage-token", "x-service-token"] {
            assert!(
                h.get_all(name).iter().all(HeaderValue::is_sensitive),
                "{name}"
            );
        }
        let debug = format!("{h:?}");
        assert!(!debug.contains("secret"), "a token value in {debug}");
        for name in IDENTITY_HEADERS {
            assert!(!h.contains_key(*name), "{name}");
        }
        assert_eq!(h["x-custom"], "kept");
        assert_eq!(h["host"], "myservice");
        assert_eq!(h.len(), 6, "the host, four token values and x-custom");
    }

    #[test]
    fn prepare_falls_back_to_the_storage_token() {
        let mut h = map(&[("x-storage-token", "storage"), ("accept", "*/*")]);
        let tokens = prepare(&mut h);
        assert_eq!(tokens.user.unwrap(), "storage");
        assert!(tokens.service.is_none());
        assert_eq!(h.len(), 2);
        let tokens = prepare(&mut map(&[("accept", "*/*")]));
        assert!(tokens.user.is_none() && tokens.service.is_none());
    }

    /// The recorded project-scoped member token (with its catalog).
    fn member() -> CompactToken {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/exchanges/034_issue_member.json");
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let t: keystone_types::token::TokenResponse =
            serde_json::from_value(v["response"]["body"].clone()).unwrap();
        CompactToken::new(&t.token)
    }

    #[test]
    fn user_headers_join_the_requests_own_headers() {
        let t = member();
        let prepared = UserHeaders::new(&t, false);
        let mut h = map(&[
            ("host", "myservice"),
            ("accept", "*/*"),
            ("accept", "application/json"),
            ("x-auth-token", "secret"),
        ]);
        prepare(&mut h);
        prepared.set_on(&mut h);
        // the request's own headers, every value kept, the token still hidden
        assert_eq!(h["host"], "myservice");
        let accept: Vec<_> = h.get_all("accept").iter().collect();
        assert_eq!(accept, ["*/*", "application/json"]);
        assert!(h["x-auth-token"].is_sensitive());
        // the identity headers, from the token
        assert_eq!(h["x-identity-status"], "Confirmed");
        assert_eq!(h["x-user-id"], t.field(Field::UserId).unwrap());
        assert_eq!(h["x-user-name"], t.field(Field::UserName).unwrap());
        assert_eq!(h["x-project-id"], t.field(Field::ProjectId).unwrap());
        assert_eq!(
            h["x-project-domain-name"],
            t.field(Field::ProjectDomainName).unwrap()
        );
        assert_eq!(h["x-roles"], t.field(Field::Roles).unwrap());
        // Keystone leaves is_admin_project out with no admin project configured: True then
        assert_eq!(h["x-is-admin-project"], "True");
        assert!(!h.contains_key("x-domain-id"), "a project-scoped token");
        assert!(!h.contains_key("openstack-system-scope"));
        assert!(!h.contains_key("x-service-catalog"), "not asked for");
        assert_eq!(
            h.len(),
            4 + 11,
            "four request values and eleven identity headers"
        );

        // the same prepared headers serve the next request alike
        let mut next = map(&[("host", "other")]);
        prepared.set_on(&mut next);
        assert_eq!(next["host"], "other");
        assert_eq!(next["x-user-id"], h["x-user-id"]);
        assert!(!next.contains_key("accept"));

        let with_catalog = UserHeaders::new(&t, true);
        let mut h = HeaderMap::new();
        with_catalog.set_on(&mut h);
        let catalog: serde_json::Value =
            serde_json::from_slice(h["x-service-catalog"].as_bytes()).unwrap();
        assert!(
            catalog.as_array().is_some_and(|a| !a.is_empty()),
            "{catalog}"
        );
    }
}
