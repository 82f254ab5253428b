//! The identity headers: every one is stripped from the incoming request before anything else
//! (so no caller can spoof them), then set from the validated tokens, as keystonemiddleware
//! does, plus `OpenStack-System-Scope`, which keystonemiddleware forgets to strip.

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use keystone_client::AccessInfo;
use serde_json::{Value, json};

/// Every header the layer owns.
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

/// Removes every identity header. Looks only at the headers the request has (usually a few),
/// not at the whole list.
pub(crate) fn strip(headers: &mut HeaderMap) {
    let owned: Vec<HeaderName> = headers
        .keys()
        .filter(|k| IDENTITY_HEADERS.contains(&k.as_str()))
        .cloned()
        .collect();
    for name in owned {
        headers.remove(name);
    }
}

fn set(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_bytes(value.as_bytes()) {
        headers.insert(HeaderName::from_static(name), v);
    }
}

/// Sets the user headers from a validated token.
pub(crate) fn set_user(headers: &mut HeaderMap, a: &AccessInfo, include_catalog: bool) {
    set(headers, "x-identity-status", "Confirmed");
    set(headers, "x-user-id", a.user_id());
    set(headers, "x-user-name", a.user_name());
    set(headers, "x-user-domain-id", a.user_domain_id());
    set(headers, "x-user-domain-name", a.user_domain_name());
    if let Some(p) = &a.body().project {
        set(headers, "x-project-id", &p.id);
        set(headers, "x-project-name", &p.name);
        set(headers, "x-project-domain-id", &p.domain.id);
        set(headers, "x-project-domain-name", &p.domain.name);
    }
    if let Some(d) = &a.body().domain {
        set(headers, "x-domain-id", &d.id);
        set(headers, "x-domain-name", &d.name);
    }
    if a.is_system_scoped() {
        set(headers, "openstack-system-scope", "all");
    }
    set(headers, "x-roles", &a.role_names().join(","));
    set(
        headers,
        "x-is-admin-project",
        if a.is_admin_project() {
            "True"
        } else {
            "False"
        },
    );
    if include_catalog && let Some(catalog) = a.catalog() {
        set(
            headers,
            "x-service-catalog",
            &v2_catalog(catalog).to_string(),
        );
    }
}

/// Sets the service headers from a validated service token.
pub(crate) fn set_service(headers: &mut HeaderMap, a: &AccessInfo) {
    set(headers, "x-service-identity-status", "Confirmed");
    set(headers, "x-service-user-id", a.user_id());
    set(headers, "x-service-user-name", a.user_name());
    set(headers, "x-service-user-domain-id", a.user_domain_id());
    set(headers, "x-service-user-domain-name", a.user_domain_name());
    if let Some(p) = &a.body().project {
        set(headers, "x-service-project-id", &p.id);
        set(headers, "x-service-project-name", &p.name);
        set(headers, "x-service-project-domain-id", &p.domain.id);
        set(headers, "x-service-project-domain-name", &p.domain.name);
    }
    set(headers, "x-service-roles", &a.role_names().join(","));
}

/// Marks an unauthenticated request, as `delay_auth_decision` does.
pub(crate) fn set_invalid(headers: &mut HeaderMap) {
    set(headers, "x-identity-status", "Invalid");
}

/// Marks an invalid service token, with `delay_auth_decision`.
pub(crate) fn set_service_invalid(headers: &mut HeaderMap) {
    set(headers, "x-service-identity-status", "Invalid");
}

/// The v2 shape keystonemiddleware puts in `X-Service-Catalog`: one entry per service, one
/// endpoint object per region with `publicURL`, `internalURL`, `adminURL`.
pub fn v2_catalog(catalog: &[keystone_types::token::CatalogService]) -> Value {
    let services: Vec<Value> = catalog
        .iter()
        .map(|s| {
            let mut regions: Vec<(Option<String>, serde_json::Map<String, Value>)> = Vec::new();
            for e in &s.endpoints {
                let region = e.region_id.clone().or_else(|| e.region.clone());
                let idx = match regions.iter().position(|(r, _)| *r == region) {
                    Some(i) => i,
                    None => {
                        let mut m = serde_json::Map::new();
                        m.insert("region".into(), json!(region));
                        regions.push((region, m));
                        regions.len() - 1
                    }
                };
                regions[idx]
                    .1
                    .insert(format!("{}URL", e.interface), json!(e.url));
            }
            json!({
                "type": s.kind,
                "name": s.name,
                "endpoints": regions.into_iter().map(|(_, m)| Value::Object(m)).collect::<Vec<_>>(),
            })
        })
        .collect();
    Value::Array(services)
}
