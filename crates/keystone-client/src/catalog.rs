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

/// Picks the URL matching `filter`: the first interface in the preference list that has a
/// matching endpoint wins. `EmptyCatalog` when there is no catalog, `EndpointNotFound` when
/// nothing matches.
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
    let services: Vec<&CatalogService> = catalog
        .iter()
        .filter(|s| s.kind == filter.service_type)
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
                return Ok(e.url.clone());
            }
        }
    }
    Err(Error::EndpointNotFound {
        service_type: filter.service_type.clone(),
        service_name: filter.service_name.clone(),
        interfaces: interfaces.iter().map(|i| i.as_str().to_owned()).collect(),
        region: filter.region.clone(),
    })
}

#[cfg(test)]
mod tests {
    use keystone_types::token::{CatalogEndpoint, CatalogService};

    use super::*;

    fn service(name: &str, urls: &[&str]) -> CatalogService {
        CatalogService {
            id: format!("id-{name}"),
            name: name.into(),
            kind: "compute".into(),
            endpoints: urls
                .iter()
                .map(|u| CatalogEndpoint {
                    id: format!("e-{u}"),
                    interface: "public".into(),
                    region: Some("R".into()),
                    region_id: Some("R".into()),
                    url: (*u).into(),
                })
                .collect(),
        }
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
