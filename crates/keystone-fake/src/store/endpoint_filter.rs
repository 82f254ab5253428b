//! OS-EP-FILTER: endpoint groups, and the endpoints and endpoint groups associated with a
//! project. A project associated with any endpoint (directly, or through a group matching at
//! least one) sees only those in its catalog (`Store::catalog`); Keystone checks that the
//! project and the endpoint exist in its handlers, before these mutators, and so does the fake.

use serde_json::{Map, Value};

use super::{EndpointRec, Store, new_id};
use crate::error::{ApiError, StatusCode};

/// An endpoint group.
#[derive(Debug, Clone)]
pub(crate) struct EndpointGroupRec {
    pub(crate) id: String,
    /// Not unique.
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    /// `interface`, `service_id` and `region_id` (a string, or null for no region), each an
    /// endpoint's attribute it must equal; empty (only an update makes it so) matches all.
    pub(crate) filters: Map<String, Value>,
}

impl EndpointGroupRec {
    /// Whether `e` has every attribute the filters name, with the value they give.
    fn matches(&self, e: &EndpointRec) -> bool {
        self.filters.iter().all(|(key, want)| {
            let have = match key.as_str() {
                "interface" => Some(e.interface.as_str()),
                "service_id" => Some(e.service_id.as_str()),
                "region_id" => e.region_id.as_deref(),
                _ => return false,
            };
            match want {
                Value::Null => have.is_none(),
                Value::String(s) => have == Some(s.as_str()),
                _ => false,
            }
        })
    }
}

/// The changes of an endpoint group update: each replaces the stored value when given.
#[derive(Debug, Default)]
pub(crate) struct EndpointGroupChanges {
    pub(crate) name: Option<String>,
    pub(crate) description: Option<Option<String>>,
    pub(crate) filters: Option<Map<String, Value>>,
}

/// Keystone's 404 for an endpoint that is not associated with a project (no final period).
fn not_in_project(endpoint_id: &str, project_id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!("Endpoint {endpoint_id} not found in project {project_id}"),
    )
}

/// Keystone's 404 for an endpoint group not associated with a project (no final period).
fn group_not_in_project() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "Endpoint Group Project Association not found",
    )
}

impl Store {
    /// Creates an endpoint group with a fresh id.
    pub(crate) fn create_endpoint_group(
        &mut self,
        name: String,
        description: Option<String>,
        filters: Map<String, Value>,
    ) -> EndpointGroupRec {
        let rec = EndpointGroupRec {
            id: new_id(),
            name,
            description,
            filters,
        };
        self.endpoint_groups.push(rec.clone());
        rec
    }

    /// An endpoint group, or Keystone's 404 (`Endpoint Group`, capitalized).
    pub(crate) fn endpoint_group(&self, id: &str) -> Result<&EndpointGroupRec, ApiError> {
        self.endpoint_groups
            .iter()
            .find(|g| g.id == id)
            .ok_or_else(|| ApiError::not_found("Endpoint Group", id))
    }

    /// Changes an endpoint group; new filters replace the old ones whole.
    pub(crate) fn update_endpoint_group(
        &mut self,
        id: &str,
        changes: EndpointGroupChanges,
    ) -> Result<EndpointGroupRec, ApiError> {
        let rec = self
            .endpoint_groups
            .iter_mut()
            .find(|g| g.id == id)
            .ok_or_else(|| ApiError::not_found("Endpoint Group", id))?;
        if let Some(name) = changes.name {
            rec.name = name;
        }
        if let Some(description) = changes.description {
            rec.description = description;
        }
        if let Some(filters) = changes.filters {
            rec.filters = filters;
        }
        Ok(rec.clone())
    }

    /// Deletes an endpoint group with its project associations.
    pub(crate) fn delete_endpoint_group(&mut self, id: &str) -> Result<(), ApiError> {
        self.endpoint_group(id)?;
        self.endpoint_groups.retain(|g| g.id != id);
        self.project_endpoint_groups.retain(|(g, _)| g != id);
        Ok(())
    }

    /// The endpoints an endpoint group's filters match, of every service, enabled or not.
    pub(crate) fn group_endpoints(&self, group: &EndpointGroupRec) -> Vec<&EndpointRec> {
        self.endpoints
            .values()
            .filter(|e| group.matches(e))
            .collect()
    }

    /// Associates an endpoint with a project (both checked to exist by the caller); twice is
    /// Keystone's 409.
    pub(crate) fn add_endpoint_to_project(
        &mut self,
        endpoint_id: &str,
        project_id: &str,
    ) -> Result<(), ApiError> {
        let row = (project_id.to_owned(), endpoint_id.to_owned());
        if self.project_endpoints.contains(&row) {
            return Err(ApiError::conflict("project_endpoint", "Duplicate entry"));
        }
        self.project_endpoints.push(row);
        Ok(())
    }

    /// Whether an endpoint is associated with a project directly, or Keystone's 404.
    pub(crate) fn check_endpoint_in_project(
        &self,
        endpoint_id: &str,
        project_id: &str,
    ) -> Result<(), ApiError> {
        if self
            .project_endpoints
            .iter()
            .any(|(p, e)| p == project_id && e == endpoint_id)
        {
            Ok(())
        } else {
            Err(not_in_project(endpoint_id, project_id))
        }
    }

    /// Ends an endpoint's direct association with a project.
    pub(crate) fn remove_endpoint_from_project(
        &mut self,
        endpoint_id: &str,
        project_id: &str,
    ) -> Result<(), ApiError> {
        self.check_endpoint_in_project(endpoint_id, project_id)?;
        self.project_endpoints
            .retain(|(p, e)| !(p == project_id && e == endpoint_id));
        Ok(())
    }

    /// The projects an endpoint is associated with directly, in the order they were.
    pub(crate) fn endpoint_project_ids(&self, endpoint_id: &str) -> Vec<String> {
        self.project_endpoints
            .iter()
            .filter(|(_, e)| e == endpoint_id)
            .map(|(p, _)| p.clone())
            .collect()
    }

    /// Associates an endpoint group with a project (both checked to exist by the caller);
    /// twice is Keystone's 409.
    pub(crate) fn add_endpoint_group_to_project(
        &mut self,
        group_id: &str,
        project_id: &str,
    ) -> Result<(), ApiError> {
        let row = (group_id.to_owned(), project_id.to_owned());
        if self.project_endpoint_groups.contains(&row) {
            return Err(ApiError::conflict(
                "project_endpoint_group",
                "Duplicate entry",
            ));
        }
        self.project_endpoint_groups.push(row);
        Ok(())
    }

    /// Whether an endpoint group is associated with a project, or Keystone's 404.
    pub(crate) fn endpoint_group_in_project(
        &self,
        group_id: &str,
        project_id: &str,
    ) -> Result<(), ApiError> {
        if self
            .project_endpoint_groups
            .iter()
            .any(|(g, p)| g == group_id && p == project_id)
        {
            Ok(())
        } else {
            Err(group_not_in_project())
        }
    }

    /// Ends an endpoint group's association with a project.
    pub(crate) fn remove_endpoint_group_from_project(
        &mut self,
        group_id: &str,
        project_id: &str,
    ) -> Result<(), ApiError> {
        self.endpoint_group_in_project(group_id, project_id)?;
        self.project_endpoint_groups
            .retain(|(g, p)| !(g == group_id && p == project_id));
        Ok(())
    }

    /// The projects an endpoint group is associated with, in the order they were.
    pub(crate) fn group_project_ids(&self, group_id: &str) -> Vec<String> {
        self.project_endpoint_groups
            .iter()
            .filter(|(g, _)| g == group_id)
            .map(|(_, p)| p.clone())
            .collect()
    }

    /// The endpoint groups associated with a project, in the order they were.
    pub(crate) fn project_endpoint_groups(&self, project_id: &str) -> Vec<&EndpointGroupRec> {
        self.project_endpoint_groups
            .iter()
            .filter(|(_, p)| p == project_id)
            .filter_map(|(g, _)| self.endpoint_groups.iter().find(|r| &r.id == g))
            .collect()
    }

    /// The endpoints associated with a project, as Keystone's `list_endpoints_for_project`
    /// finds them: those associated directly (in the order they were), then those its endpoint
    /// groups match, each once. Disabled endpoints and endpoints of disabled services count.
    pub(crate) fn project_endpoint_ids(&self, project_id: &str) -> Vec<String> {
        let mut ids: Vec<String> = self
            .project_endpoints
            .iter()
            .filter(|(p, e)| p == project_id && self.endpoints.contains_key(e))
            .map(|(_, e)| e.clone())
            .collect();
        for group in self.project_endpoint_groups(project_id) {
            for e in self.group_endpoints(group) {
                if !ids.contains(&e.id) {
                    ids.push(e.id.clone());
                }
            }
        }
        ids
    }

    /// Forgets a project's associations (the project is being deleted).
    pub(super) fn forget_project_endpoints(&mut self, project_id: &str) {
        self.project_endpoints.retain(|(p, _)| p != project_id);
        self.project_endpoint_groups
            .retain(|(_, p)| p != project_id);
    }

    /// Forgets an endpoint's associations (the endpoint is being deleted).
    pub(super) fn forget_endpoint_projects(&mut self, endpoint_id: &str) {
        self.project_endpoints.retain(|(_, e)| e != endpoint_id);
    }
}
