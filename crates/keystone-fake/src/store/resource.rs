//! Domains and projects (Keystone's resource subsystem).

use keystone_types::auth::DomainRef;
use keystone_types::resources::{DomainCreate, DomainUpdate, ProjectCreate, ProjectUpdate};

use super::{DomainRec, ProjectRec, Revoked, Store, Target, new_id, unknown_attributes};
use crate::error::{ApiError, StatusCode};

/// Attributes of a project body Keystone knows without a field of their own here.
const PROJECT_KNOWN: &[&str] = &["id", "options", "domain_id", "is_domain", "parent_id"];

/// Keystone's conflict for a domain's name: a domain is stored as a project acting as one.
fn domain_name_conflict(name: &str) -> ApiError {
    ApiError::conflict(
        "project",
        format!(
            "it is not permitted to have two projects acting as domains with the same name: {name}"
        ),
    )
}

impl Store {
    /// A domain by id or, failing that, by name.
    pub(crate) fn find_domain(&self, r: &DomainRef) -> Option<&DomainRec> {
        match (&r.id, &r.name) {
            (Some(id), _) => self.domains.get(id),
            (None, Some(name)) => self.domains.values().find(|d| &d.name == name),
            (None, None) => None,
        }
    }

    /// Every project, by id.
    pub fn projects(&self) -> impl Iterator<Item = &ProjectRec> {
        self.projects.values()
    }

    /// A project by id, or by name within a domain.
    pub fn find_project(
        &self,
        id: Option<&str>,
        name: Option<&str>,
        domain: Option<&DomainRef>,
    ) -> Option<&ProjectRec> {
        if let Some(id) = id {
            return self.projects.get(id);
        }
        let domain = self.find_domain(domain?)?;
        let name = name?;
        self.projects
            .values()
            .find(|p| p.name == name && p.domain_id == domain.id)
    }

    /// Creates a domain.
    pub(crate) fn create_domain(
        &mut self,
        c: DomainCreate,
        id: Option<String>,
    ) -> Result<DomainRec, ApiError> {
        if self.domains.values().any(|d| d.name == c.name) {
            return Err(domain_name_conflict(&c.name));
        }
        let rec = DomainRec {
            id: id.unwrap_or_else(new_id),
            name: c.name,
            description: c.description.unwrap_or_default(),
            enabled: c.enabled.unwrap_or(true),
            tags: c.tags.unwrap_or_default(),
        };
        self.domains.insert(rec.id.clone(), rec.clone());
        Ok(rec)
    }

    /// Updates a domain.
    pub(crate) fn update_domain(
        &mut self,
        id: &str,
        u: DomainUpdate,
    ) -> Result<DomainRec, ApiError> {
        if let Some(name) = &u.name
            && self.domains.values().any(|d| &d.name == name && d.id != id)
        {
            return Err(domain_name_conflict(name));
        }
        let d = self
            .domains
            .get_mut(id)
            .ok_or_else(|| ApiError::not_found("domain", id))?;
        if let Some(v) = u.name {
            d.name = v;
        }
        if let Some(v) = u.description {
            d.description = v;
        }
        if let Some(v) = u.enabled {
            d.enabled = v;
        }
        if let Some(v) = u.tags {
            d.tags = v;
        }
        Ok(d.clone())
    }

    /// Deletes a domain; like Keystone, only a disabled one.
    pub(crate) fn delete_domain(&mut self, id: &str) -> Result<(), ApiError> {
        let d = self
            .domains
            .get(id)
            .ok_or_else(|| ApiError::not_found("domain", id))?;
        if d.enabled {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "Cannot delete a domain that is enabled, please disable it first.",
            ));
        }
        self.domains.remove(id);
        // its configuration
        self.domain_configs.remove(id);
        // its identity providers, with their protocols (Keystone's DOMAIN_DELETED callback)
        self.delete_domain_idps(id);
        // its projects (each with what goes with it) and users (likewise), as Keystone deletes
        // a domain's contents
        let projects: Vec<String> = self
            .projects
            .values()
            .filter(|p| p.domain_id == id)
            .map(|p| p.id.clone())
            .collect();
        for p in projects {
            self.remove_project(&p);
        }
        let users: Vec<String> = self
            .users
            .values()
            .filter(|u| u.domain_id == id)
            .map(|u| u.id.clone())
            .collect();
        for u in users {
            self.delete_user(&u)?;
        }
        let groups: Vec<String> = self
            .groups
            .values()
            .filter(|g| g.domain_id == id)
            .map(|g| g.id.clone())
            .collect();
        for g in groups {
            self.delete_group(&g)?;
        }
        self.grants
            .retain(|g| g.target != Target::Domain(id.to_owned()));
        // last, as Keystone deletes the project that acts as the domain
        self.record_event(Revoked {
            project_id: Some(id.to_owned()),
            ..Revoked::default()
        });
        Ok(())
    }

    /// Creates a project.
    pub(crate) fn create_project(&mut self, c: ProjectCreate) -> Result<ProjectRec, ApiError> {
        let domain_id = c.domain_id.unwrap_or_else(|| "default".to_owned());
        if !self.domains.contains_key(&domain_id) {
            return Err(ApiError::bad_request(format!(
                "Could not find domain: {domain_id}."
            )));
        }
        if let Some(parent) = &c.parent_id
            && parent != &domain_id
        {
            if self.domains.contains_key(parent) {
                return Err(ApiError::bad_request(format!(
                    "Cannot create project, the parent ({parent}) is acting as a domain, but this \
                     project's domain id ({domain_id}) does not match the parent's id."
                )));
            }
            let Some(parent_rec) = self.projects.get(parent) else {
                return Err(ApiError::bad_request(format!(
                    "Could not find project: {parent}."
                )));
            };
            // a project tree stays in one domain
            if parent_rec.domain_id != domain_id {
                return Err(ApiError::bad_request(format!(
                    "Cannot create project, since it specifies its domain_id {domain_id}, but \
                     specifies a parent in a different domain ({}).",
                    parent_rec.domain_id
                )));
            }
        }
        // Keystone's message names the id it made for the project it could not store
        let id = new_id();
        if self
            .projects
            .values()
            .any(|p| p.name == c.name && p.domain_id == domain_id)
        {
            return Err(ApiError::conflict(
                "project",
                format!(
                    "it is not permitted to have two projects with either the same name or same \
                     id in the same domain: name is {}, project id {id}",
                    c.name
                ),
            ));
        }
        let rec = ProjectRec {
            id,
            name: c.name,
            parent_id: Some(c.parent_id.unwrap_or_else(|| domain_id.clone())),
            domain_id,
            description: c.description.unwrap_or_default(),
            enabled: c.enabled.unwrap_or(true),
            tags: c.tags.unwrap_or_default(),
            extra: unknown_attributes(c.extra, PROJECT_KNOWN),
        };
        self.projects.insert(rec.id.clone(), rec.clone());
        Ok(rec)
    }

    /// Updates a project.
    pub(crate) fn update_project(
        &mut self,
        id: &str,
        u: ProjectUpdate,
    ) -> Result<ProjectRec, ApiError> {
        let domain_id = self
            .projects
            .get(id)
            .ok_or_else(|| ApiError::not_found("project", id))?
            .domain_id
            .clone();
        if let Some(name) = &u.name
            && self
                .projects
                .values()
                .any(|p| &p.name == name && p.domain_id == domain_id && p.id != id)
        {
            return Err(ApiError::conflict(
                "project",
                format!("Duplicate entry found with name {name} at domain ID {domain_id}"),
            ));
        }
        // as Keystone: a disabled project is enabled only under enabled parents, and an update
        // that does not name `enabled` counts as enabling it (Keystone's default), so it is
        // refused there too
        let was_enabled = self.projects.get(id).is_some_and(|p| p.enabled);
        if !was_enabled && u.enabled.unwrap_or(true) {
            let mut up = self.projects.get(id).and_then(|p| p.parent_id.clone());
            while let Some(parent) = up.and_then(|p| self.projects.get(&p)) {
                if !parent.enabled {
                    return Err(ApiError::new(
                        StatusCode::FORBIDDEN,
                        format!("Cannot enable project {id} since it has disabled parents"),
                    ));
                }
                up = parent.parent_id.clone();
            }
        }
        // and a project is disabled only once the projects under it are
        if u.enabled == Some(false)
            && self
                .projects
                .values()
                .any(|c| c.parent_id.as_deref() == Some(id) && c.enabled)
        {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                format!("Cannot disable project {id} since its subtree contains enabled projects."),
            ));
        }
        let p = self
            .projects
            .get_mut(id)
            .ok_or_else(|| ApiError::not_found("project", id))?;
        if let Some(v) = u.name {
            p.name = v;
        }
        if let Some(v) = u.description {
            p.description = v;
        }
        if let Some(v) = u.enabled {
            p.enabled = v;
        }
        if let Some(v) = u.tags {
            p.tags = v;
        }
        p.extra.extend(unknown_attributes(u.extra, PROJECT_KNOWN));
        Ok(p.clone())
    }

    /// A project's tags, as stored (in the order written).
    pub(crate) fn project_tags(&self, id: &str) -> Result<Vec<String>, ApiError> {
        self.projects
            .get(id)
            .map(|p| p.tags.clone())
            .ok_or_else(|| ApiError::not_found("project", id))
    }

    /// Replaces a project's tags (checked by the caller). Tags equal once stripped are a 500,
    /// as Keystone's database refuses them.
    pub(crate) fn set_project_tags(&mut self, id: &str, tags: Vec<String>) -> Result<(), ApiError> {
        if tags.iter().enumerate().any(|(i, t)| tags[..i].contains(t)) {
            return Err(ApiError::internal());
        }
        let p = self
            .projects
            .get_mut(id)
            .ok_or_else(|| ApiError::not_found("project", id))?;
        p.tags = tags;
        Ok(())
    }

    /// Adds a tag (checked by the caller).
    pub(crate) fn add_project_tag(&mut self, id: &str, tag: String) -> Result<(), ApiError> {
        let p = self
            .projects
            .get_mut(id)
            .ok_or_else(|| ApiError::not_found("project", id))?;
        if p.tags.contains(&tag) {
            return Err(ApiError::internal());
        }
        p.tags.push(tag);
        Ok(())
    }

    /// Removes a tag: 404 when the project lacks it (compared exactly).
    pub(crate) fn delete_project_tag(&mut self, id: &str, tag: &str) -> Result<(), ApiError> {
        let p = self
            .projects
            .get_mut(id)
            .ok_or_else(|| ApiError::not_found("project", id))?;
        let at = p
            .tags
            .iter()
            .position(|t| t == tag)
            .ok_or_else(|| ApiError::not_found("project tag", tag))?;
        p.tags.remove(at);
        Ok(())
    }

    /// Deletes a project with its grants, application credentials and trusts.
    pub(crate) fn delete_project(&mut self, id: &str) -> Result<(), ApiError> {
        if !self.projects.contains_key(id) {
            return Err(ApiError::not_found("project", id));
        }
        // as Keystone (without `cascade`): only a leaf of the hierarchy
        if self
            .projects
            .values()
            .any(|p| p.parent_id.as_deref() == Some(id))
        {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                format!(
                    "Cannot delete the project {id} since it is not a leaf in the hierarchy. Use \
                     the cascade option if you want to delete a whole subtree."
                ),
            ));
        }
        self.remove_project(id);
        Ok(())
    }

    /// Removes a project with its grants, application credentials, trusts and endpoint
    /// associations.
    fn remove_project(&mut self, id: &str) {
        self.projects.remove(id);
        self.forget_project_endpoints(id);
        self.record_event(Revoked {
            project_id: Some(id.to_owned()),
            ..Revoked::default()
        });
        self.grants
            .retain(|g| g.target != Target::Project(id.to_owned()));
        self.app_creds.retain(|_, c| c.project_id != id);
        self.credentials
            .retain(|c| c.project_id.as_deref() != Some(id));
        for t in &mut self.trusts {
            if t.project_id.as_deref() == Some(id) {
                t.deleted = true;
            }
        }
    }
}
