//! The catalog: services, endpoints and regions, and the catalog tokens carry.

use keystone_types::resources::{
    EndpointCreate, EndpointUpdate, RegionCreate, RegionUpdate, ServiceCreate, ServiceUpdate,
};
use keystone_types::token::{CatalogEndpoint, CatalogService};

use super::{EndpointRec, RegionRec, ServiceRec, Store, new_id};
use crate::error::{ApiError, StatusCode, validation_error};

const INTERFACES: [&str; 3] = ["public", "internal", "admin"];

impl Store {
    /// The catalog as tokens carry it: enabled services with their enabled endpoints, whose
    /// URL templates (`$(project_id)s`, `%(tenant_id)s`, `$(user_id)s`) are filled in for
    /// `user_id` and `project_id`. As Keystone's `get_v3_catalog` does, an endpoint that needs
    /// a project id is left out without one, and one with any other substitution is left out
    /// as malformed.
    ///
    /// OS-EP-FILTER narrows a project's catalog when the project has any endpoint associated
    /// (`project_endpoint_ids`: directly or through its endpoint groups, disabled endpoints
    /// counting): then only those endpoints are kept, and every service left without an
    /// endpoint is dropped (the identity service too; a project whose only association is a
    /// disabled endpoint gets an empty catalog). With no association, or none matching an
    /// endpoint, and for other scopes, the whole catalog, services without endpoints kept.
    pub(crate) fn catalog(&self, user_id: &str, project_id: Option<&str>) -> Vec<CatalogService> {
        let allowed: Option<Vec<String>> = project_id
            .map(|p| self.project_endpoint_ids(p))
            .filter(|ids| !ids.is_empty());
        self.services
            .values()
            .filter(|s| s.enabled)
            .map(|s| CatalogService {
                endpoints: self
                    .endpoints
                    .values()
                    .filter(|e| e.enabled && e.service_id == s.id)
                    .filter(|e| allowed.as_ref().is_none_or(|ids| ids.contains(&e.id)))
                    .filter_map(|e| {
                        Some(CatalogEndpoint {
                            id: e.id.clone(),
                            interface: e.interface.clone(),
                            region: e.region_id.clone(),
                            region_id: e.region_id.clone(),
                            url: format_url(&e.url, user_id, project_id)?,
                        })
                    })
                    .collect(),
                id: s.id.clone(),
                name: s.name.clone().unwrap_or_default(),
                kind: s.kind.clone(),
            })
            .filter(|s| allowed.is_none() || !s.endpoints.is_empty())
            .collect()
    }

    /// Creates a service.
    pub(crate) fn create_service(&mut self, c: ServiceCreate) -> Result<ServiceRec, ApiError> {
        let rec = ServiceRec {
            id: new_id(),
            kind: c.kind,
            name: c.name,
            description: c.description,
            enabled: c.enabled.unwrap_or(true),
        };
        self.services.insert(rec.id.clone(), rec.clone());
        Ok(rec)
    }

    /// Updates a service.
    pub(crate) fn update_service(
        &mut self,
        id: &str,
        u: ServiceUpdate,
    ) -> Result<ServiceRec, ApiError> {
        let s = self
            .services
            .get_mut(id)
            .ok_or_else(|| ApiError::not_found("service", id))?;
        if let Some(v) = u.kind {
            s.kind = v;
        }
        if let Some(v) = u.name {
            s.name = Some(v);
        }
        if let Some(v) = u.description {
            s.description = Some(v);
        }
        if let Some(v) = u.enabled {
            s.enabled = v;
        }
        Ok(s.clone())
    }

    /// Deletes a service with its endpoints and their project associations.
    pub(crate) fn delete_service(&mut self, id: &str) -> Result<(), ApiError> {
        self.services
            .remove(id)
            .ok_or_else(|| ApiError::not_found("service", id))?;
        let gone: Vec<String> = self
            .endpoints
            .values()
            .filter(|e| e.service_id == id)
            .map(|e| e.id.clone())
            .collect();
        for e in &gone {
            self.endpoints.remove(e);
            self.forget_endpoint_projects(e);
        }
        Ok(())
    }

    /// Keystone's checks of an endpoint: its interface (its schema's enum), then its region,
    /// then its service.
    fn check_endpoint(
        &self,
        interface: &str,
        service_id: &str,
        region: Option<&String>,
    ) -> Result<(), ApiError> {
        if !INTERFACES.contains(&interface) {
            return Err(ApiError::bad_request(format!(
                "Invalid input for field/attribute interface. Value: {interface}. '{interface}' \
                 is not one of ['admin', 'internal', 'public']"
            )));
        }
        if let Some(r) = region
            && !self.regions.contains_key(r)
        {
            return Err(validation_error("endpoint region_id", "region table"));
        }
        if !self.services.contains_key(service_id) {
            return Err(validation_error("endpoint service_id", "service table"));
        }
        Ok(())
    }

    /// The region of an endpoint given only the legacy `region`: Keystone takes it as
    /// `region_id` and creates the region when it does not exist.
    fn legacy_region(
        &mut self,
        region_id: Option<String>,
        region: Option<String>,
    ) -> Option<String> {
        if region_id.is_some() {
            return region_id;
        }
        let region = region?;
        if !self.regions.contains_key(&region) {
            self.regions.insert(
                region.clone(),
                RegionRec {
                    id: region.clone(),
                    description: String::new(),
                    parent_region_id: None,
                },
            );
        }
        Some(region)
    }

    /// Creates an endpoint.
    pub(crate) fn create_endpoint(&mut self, c: EndpointCreate) -> Result<EndpointRec, ApiError> {
        // made before the endpoint's checks, as Keystone makes it (an endpoint refused for its
        // service leaves the region behind there too)
        let region_id = self.legacy_region(c.region_id, c.region);
        self.check_endpoint(&c.interface, &c.service_id, region_id.as_ref())?;
        let rec = EndpointRec {
            id: new_id(),
            service_id: c.service_id,
            interface: c.interface,
            url: c.url,
            region_id,
            enabled: c.enabled.unwrap_or(true),
        };
        self.endpoints.insert(rec.id.clone(), rec.clone());
        Ok(rec)
    }

    /// Updates an endpoint.
    pub(crate) fn update_endpoint(
        &mut self,
        id: &str,
        u: EndpointUpdate,
    ) -> Result<EndpointRec, ApiError> {
        let mut e = self
            .endpoints
            .get(id)
            .ok_or_else(|| ApiError::not_found("endpoint", id))?
            .clone();
        if let Some(v) = u.interface {
            e.interface = v;
        }
        if let Some(v) = u.service_id {
            e.service_id = v;
        }
        if u.region_id.is_some() || u.region.is_some() {
            e.region_id = self.legacy_region(u.region_id, u.region);
        }
        if let Some(v) = u.url {
            e.url = v;
        }
        if let Some(v) = u.enabled {
            e.enabled = v;
        }
        self.check_endpoint(&e.interface, &e.service_id, e.region_id.as_ref())?;
        self.endpoints.insert(id.to_owned(), e.clone());
        Ok(e)
    }

    /// Deletes an endpoint with its project associations.
    pub(crate) fn delete_endpoint(&mut self, id: &str) -> Result<(), ApiError> {
        self.endpoints
            .remove(id)
            .ok_or_else(|| ApiError::not_found("endpoint", id))?;
        self.forget_endpoint_projects(id);
        Ok(())
    }

    /// Creates a region, with a fresh id when none (or an empty one) is given. As Keystone's
    /// `create_region`, an id in use is a 409 (the doubled period is Keystone's) and a parent
    /// that does not exist a 404.
    pub(crate) fn create_region(&mut self, c: RegionCreate) -> Result<RegionRec, ApiError> {
        let id = c.id.filter(|id| !id.is_empty()).unwrap_or_else(new_id);
        if self.regions.contains_key(&id) {
            return Err(ApiError::conflict("region", format!("Duplicate ID, {id}.")));
        }
        if let Some(p) = &c.parent_region_id
            && !self.regions.contains_key(p)
        {
            return Err(ApiError::not_found("region", p));
        }
        let rec = RegionRec {
            id,
            description: c.description.unwrap_or_default(),
            parent_region_id: c.parent_region_id,
        };
        self.regions.insert(rec.id.clone(), rec.clone());
        Ok(rec)
    }

    /// Updates a region.
    pub(crate) fn update_region(
        &mut self,
        id: &str,
        u: RegionUpdate,
    ) -> Result<RegionRec, ApiError> {
        let r = self
            .regions
            .get_mut(id)
            .ok_or_else(|| ApiError::not_found("region", id))?;
        if let Some(v) = u.description {
            r.description = v;
        }
        if let Some(v) = u.parent_region_id {
            r.parent_region_id = Some(v);
        }
        Ok(r.clone())
    }

    /// Deletes a region.
    /// Deletes a region and the regions under it, as Keystone's catalog does, unless an
    /// endpoint is in any of them (403).
    pub(crate) fn delete_region(&mut self, id: &str) -> Result<(), ApiError> {
        if !self.regions.contains_key(id) {
            return Err(ApiError::not_found("region", id));
        }
        let mut tree = vec![id.to_owned()];
        let mut next = 0;
        while next < tree.len() {
            let parent = tree[next].clone();
            tree.extend(
                self.regions
                    .values()
                    .filter(|r| r.parent_region_id.as_deref() == Some(parent.as_str()))
                    .map(|r| r.id.clone()),
            );
            next += 1;
        }
        if self
            .endpoints
            .values()
            .any(|e| e.region_id.as_ref().is_some_and(|r| tree.contains(r)))
        {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                format!(
                    "Unable to delete region {id} because it or its child regions have \
                     associated endpoints."
                ),
            ));
        }
        for region in &tree {
            self.regions.remove(region);
        }
        Ok(())
    }
}

/// Fills in an endpoint URL template as Keystone's `format_url` does: `$(` is read as `%(`,
/// then `%(name)s` takes `user_id`, `project_id` or `tenant_id` (the last two only for a
/// project) and `%%` is a `%`. `None` means the endpoint is left out: it needs a project id
/// there is none of, or it names any other key.
fn format_url(url: &str, user_id: &str, project_id: Option<&str>) -> Option<String> {
    let url = url.replace("$(", "%(");
    let mut out = String::with_capacity(url.len());
    let mut rest = url.as_str();
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('%') {
            out.push('%');
            rest = tail;
        } else if let Some(named) = after.strip_prefix('(') {
            let (key, tail) = named.split_once(')')?;
            let tail = tail.strip_prefix('s')?;
            let value = match key {
                "user_id" => user_id,
                "project_id" | "tenant_id" => project_id?,
                _ => {
                    tracing::warn!(url, "malformed endpoint: unknown key {key}");
                    return None;
                }
            };
            out.push_str(value);
            rest = tail;
        } else {
            // not a substitution the fake knows; kept as written
            out.push('%');
            rest = after;
        }
    }
    out.push_str(rest);
    Some(out)
}
