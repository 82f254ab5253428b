//! Choosing an endpoint from the service catalog: by service type, optional name, an interface
//! preference list, a region, or an override.
//!
//! # Example
//!
//! ```
//! use keystone_client::catalog::{EndpointFilter, Interface, select_endpoint};
//! use keystone_types::token::{CatalogEndpoint, CatalogService};
//!
//! let endpoint = |interface: &str, region: &str, url: &str| CatalogEndpoint {
//!     id: url.into(),
//!     interface: interface.into(),
//!     region: Some(region.into()),
//!     region_id: Some(region.into()),
//!     url: url.into(),
//! };
//! let catalog = vec![CatalogService {
//!     id: "s".into(),
//!     name: "myservice".into(),
//!     kind: "myservice".into(),
//!     endpoints: vec![
//!         endpoint("public", "RegionOne", "http://one.example"),
//!         endpoint("internal", "RegionTwo", "http://two.internal"),
//!     ],
//! }];
//! let filter = EndpointFilter::new("myservice")
//!     .interfaces([Interface::Internal, Interface::Public])
//!     .region("RegionTwo");
//! assert_eq!(select_endpoint(Some(&catalog), &filter).unwrap(), "http://two.internal");
//! ```

use keystone_types::token::CatalogService;

use crate::error::{Error, Result};

/// An endpoint interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interface {
    /// `public`
    Public,
    /// `internal`
    Internal,
    /// `admin`
    Admin,
}

impl Interface {
    /// The name Keystone uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Interface::Public => "public",
            Interface::Internal => "internal",
            Interface::Admin => "admin",
        }
    }

    /// Parses `public`, `internal` or `admin` (also `publicURL`-style names, as
    /// `OS_INTERFACE` allows).
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim_end_matches("URL").to_ascii_lowercase().as_str() {
            "public" => Some(Interface::Public),
            "internal" => Some(Interface::Internal),
            "admin" => Some(Interface::Admin),
            _ => None,
        }
    }
}

/// What endpoint to pick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointFilter {
    /// The service type, such as `identity` or `myservice`.
    pub service_type: String,
    /// Only a service with this name.
    pub service_name: Option<String>,
    /// Interfaces in order of preference. Empty (the default) means the session's interfaces
    /// when a [`crate::Session`] picks the endpoint (`OS_INTERFACE`, `interface` in
    /// clouds.yaml), and `public` otherwise.
    pub interfaces: Vec<Interface>,
    /// Only endpoints in this region.
    pub region: Option<String>,
    /// Use this URL and ignore the catalog.
    pub endpoint_override: Option<String>,
}

impl EndpointFilter {
    /// The endpoint of a service type, on the session's interfaces (or `public`), in the
    /// session's region (or any).
    pub fn new(service_type: impl Into<String>) -> Self {
        EndpointFilter {
            service_type: service_type.into(),
            service_name: None,
            interfaces: Vec::new(),
            region: None,
            endpoint_override: None,
        }
    }

    /// Only a service with this name.
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = Some(name.into());
        self
    }

    /// Interfaces in order of preference.
    pub fn interfaces(mut self, interfaces: impl IntoIterator<Item = Interface>) -> Self {
        self.interfaces = interfaces.into_iter().collect();
        self
    }

    /// One interface.
    pub fn interface(self, interface: Interface) -> Self {
        self.interfaces([interface])
    }

    /// Only endpoints in this region.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// Use this URL instead of the catalog.
    pub fn endpoint_override(mut self, url: impl Into<String>) -> Self {
        self.endpoint_override = Some(url.into());
        self
    }
}

/// The service types that have aliases, official type first, from os-service-types'
/// `service-types.json` (2024-05-08), the data keystoneauth1 matches catalog entries with.
const SERVICE_TYPE_FAMILIES: &[&[&str]] = &[
    &[
        "block-storage",
        "volumev3",
        "volumev2",
        "volume",
        "block-store",
    ],
    &["shared-file-system", "sharev2", "share"],
    &["clustering", "resource-cluster", "cluster"],
    &["baremetal", "bare-metal"],
    &["resource-optimization", "infra-optim"],
    &["message", "messaging"],
    &[
        "container-infrastructure-management",
        "container-infrastructure",
        "container-infra",
    ],
    &["workflow", "workflowv2"],
    &["operator-policy", "policy"],
    &["alarm", "alarming"],
    &["meter", "metering", "telemetry"],
    &["event", "events"],
    &["application-deployment", "application_deployment"],
    &["multi-region-network-automation", "tricircle"],
    &["application-container", "container"],
    &["root-cause-analysis", "rca"],
    &["monitoring-logging", "monitoring-log-api"],
    &["instance-ha", "ha"],
    &["admin-logic", "registration"],
];

/// The catalog types that serve a request for `requested`, best first, as keystoneauth1 ranks
/// them: the type asked for, then its family's official type and aliases in their order
/// (`block-storage` finds a cloud's `volumev3` entry, and `volumev3` a `block-storage` one).
pub fn service_types_for(requested: &str) -> Vec<&str> {
    let family = SERVICE_TYPE_FAMILIES
        .iter()
        .find(|f| f.contains(&requested))
        .map_or(&[][..], |f| &f[..]);
    std::iter::once(requested)
        .chain(family.iter().copied().filter(|t| *t != requested))
        .collect()
}

/// Picks the URL matching `filter`. The catalog types are tried in [`service_types_for`]'s
/// order; for the first that has a matching endpoint, the first interface in the preference
/// list with one wins. `EmptyCatalog` when there is no catalog, `EndpointNotFound` when nothing
/// matches.
pub fn select_endpoint(
    catalog: Option<&[CatalogService]>,
    filter: &EndpointFilter,
) -> Result<String> {
    if let Some(url) = &filter.endpoint_override {
        return Ok(url.clone());
    }
    let catalog = match catalog {
        Some(c) if !c.is_empty() => c,
        _ => return Err(Error::EmptyCatalog),
    };
    let interfaces: &[Interface] = if filter.interfaces.is_empty() {
        &[Interface::Public]
    } else {
        &filter.interfaces
    };
    for kind in service_types_for(&filter.service_type) {
        if let Some(url) = select_of_type(catalog, filter, kind, interfaces) {
            return Ok(url);
        }
    }
    Err(Error::EndpointNotFound {
        service_type: filter.service_type.clone(),
        service_name: filter.service_name.clone(),
        interfaces: interfaces.iter().map(|i| i.as_str().to_owned()).collect(),
        region: filter.region.clone(),
    })
}

/// The URL of the best interface among the entries of one service type.
fn select_of_type(
    catalog: &[CatalogService],
    filter: &EndpointFilter,
    kind: &str,
    interfaces: &[Interface],
) -> Option<String> {
    let services: Vec<&CatalogService> = catalog
        .iter()
        .filter(|s| s.kind == kind)
        // as keystoneauth1: an entry without a name is not ruled out by the name asked for
        .filter(|s| {
            filter
                .service_name
                .as_ref()
                .is_none_or(|n| s.name.is_empty() || &s.name == n)
        })
        .collect();
    for interface in interfaces {
        for service in &services {
            let found = service.endpoints.iter().find(|e| {
                !e.url.is_empty()
                    && e.interface == interface.as_str()
                    && filter.region.as_ref().is_none_or(|r| {
                        e.region_id.as_deref() == Some(r.as_str())
                            || e.region.as_deref() == Some(r.as_str())
                    })
            });
            if let Some(e) = found {
                return Some(e.url.clone());
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use keystone_types::token::{CatalogEndpoint, CatalogService};

    use super::*;

    fn service(name: &str, urls: &[&str]) -> CatalogService {
        typed("compute", name, "public", urls)
    }

    fn typed(kind: &str, name: &str, interface: &str, urls: &[&str]) -> CatalogService {
        CatalogService {
            id: format!("id-{name}"),
            name: name.into(),
            kind: kind.into(),
            endpoints: urls
                .iter()
                .map(|u| CatalogEndpoint {
                    id: format!("e-{u}"),
                    interface: interface.into(),
                    region: Some("R".into()),
                    region_id: Some("R".into()),
                    url: (*u).into(),
                })
                .collect(),
        }
    }

    #[test]
    fn service_type_aliases_match_as_keystoneauth() {
        let find = |catalog: &[CatalogService], filter: &EndpointFilter| {
            select_endpoint(Some(catalog), filter).map_err(|e| e.to_string())
        };
        // the official type finds a cloud's older alias
        let cloud = [typed("volumev3", "cinderv3", "public", &["http://v3"])];
        assert_eq!(
            find(&cloud, &EndpointFilter::new("block-storage")).unwrap(),
            "http://v3"
        );
        // and an alias finds the official type, or a sibling alias
        let cloud = [typed("block-storage", "cinder", "public", &["http://bs"])];
        assert_eq!(
            find(&cloud, &EndpointFilter::new("volumev3")).unwrap(),
            "http://bs"
        );
        let cloud = [typed("volumev2", "cinderv2", "public", &["http://v2"])];
        assert_eq!(
            find(&cloud, &EndpointFilter::new("volumev3")).unwrap(),
            "http://v2"
        );
        // the exact type wins over aliases listed before it; then the family's order
        let cloud = [
            typed("volumev2", "cinderv2", "public", &["http://v2"]),
            typed("volumev3", "cinderv3", "public", &["http://v3"]),
            typed("block-storage", "cinder", "public", &["http://bs"]),
        ];
        assert_eq!(
            find(&cloud, &EndpointFilter::new("volumev2")).unwrap(),
            "http://v2"
        );
        assert_eq!(
            find(&cloud, &EndpointFilter::new("volume")).unwrap(),
            "http://bs"
        );
        let cloud = [
            typed("volumev2", "cinderv2", "public", &["http://v2"]),
            typed("volumev3", "cinderv3", "public", &["http://v3"]),
        ];
        assert_eq!(
            find(&cloud, &EndpointFilter::new("block-storage")).unwrap(),
            "http://v3"
        );
        // a type with a matching interface beats a better-ranked type without one
        let cloud = [
            typed("block-storage", "cinder", "admin", &["http://bs-admin"]),
            typed("volumev3", "cinderv3", "public", &["http://v3"]),
        ];
        assert_eq!(
            find(&cloud, &EndpointFilter::new("block-storage")).unwrap(),
            "http://v3"
        );
        // the type's best interface, even when an alias has a preferred one
        let cloud = [
            typed("block-storage", "cinder", "public", &["http://bs-public"]),
            typed("volumev3", "cinderv3", "internal", &["http://v3-internal"]),
        ];
        let both = EndpointFilter::new("block-storage")
            .interfaces([Interface::Internal, Interface::Public]);
        assert_eq!(find(&cloud, &both).unwrap(), "http://bs-public");
        // types outside a family match only themselves
        let cloud = [typed("compute", "nova", "public", &["http://nova"])];
        let err = find(&cloud, &EndpointFilter::new("volume")).unwrap_err();
        assert!(err.contains("\"volume\""), "{err}");
        assert_eq!(service_types_for("myservice"), ["myservice"]);
        assert_eq!(
            service_types_for("share"),
            ["share", "shared-file-system", "sharev2"]
        );
    }

    #[test]
    fn nameless_entries_match_a_name_and_empty_urls_are_skipped() {
        let catalog = [service("", &["", "http://nameless"])];
        let filter = EndpointFilter::new("compute").service_name("nova");
        assert_eq!(
            select_endpoint(Some(&catalog), &filter).unwrap(),
            "http://nameless"
        );
        let catalog = [service("other", &["http://other"]), service("nova", &[""])];
        assert!(matches!(
            select_endpoint(Some(&catalog), &filter),
            Err(Error::EndpointNotFound { .. })
        ));
    }
}
