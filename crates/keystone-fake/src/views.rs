//! Records rendered as Keystone's JSON resources, with links under the fake's own URL.

use keystone_types::resources::{
    ApplicationCredential, Domain, Endpoint, InferenceRole, Links, Project, Region, Role, SelfLink,
    Service, User, UserAccessRule,
};
use serde_json::{Map, Value};

use crate::store::{
    AccessRuleRec, AppCredRec, DomainRec, EndpointRec, ProjectRec, RegionRec, RoleRec, ServiceRec,
    Store, UserRec,
};

/// Renders records; `base` is the fake's root URL without a trailing slash.
#[derive(Debug, Clone)]
pub(crate) struct Views {
    /// Such as `http://127.0.0.1:5000`.
    pub(crate) base: String,
}

impl Views {
    fn link(&self, collection: &str, id: &str) -> SelfLink {
        SelfLink {
            self_link: format!("{}/v3/{collection}/{id}", self.base),
        }
    }

    /// The links of a list at `path_and_query` (such as `/v3/services?type=x`).
    pub(crate) fn list_links(&self, path_and_query: &str) -> Links {
        Links {
            next: None,
            previous: None,
            self_link: format!("{}{path_and_query}", self.base),
        }
    }

    /// A service.
    pub(crate) fn service(&self, s: &ServiceRec) -> Service {
        Service {
            description: s.description.clone(),
            enabled: s.enabled,
            id: s.id.clone(),
            links: self.link("services", &s.id),
            name: s.name.clone(),
            kind: s.kind.clone(),
        }
    }

    /// An endpoint.
    pub(crate) fn endpoint(&self, e: &EndpointRec) -> Endpoint {
        Endpoint {
            enabled: e.enabled,
            id: e.id.clone(),
            interface: e.interface.clone(),
            links: self.link("endpoints", &e.id),
            region: e.region_id.clone(),
            region_id: e.region_id.clone(),
            service_id: e.service_id.clone(),
            url: e.url.clone(),
        }
    }

    /// A region.
    pub(crate) fn region(&self, r: &RegionRec) -> Region {
        Region {
            description: r.description.clone(),
            id: r.id.clone(),
            links: self.link("regions", &r.id),
            parent_region_id: r.parent_region_id.clone(),
        }
    }

    /// A domain.
    pub(crate) fn domain(&self, d: &DomainRec) -> Domain {
        Domain {
            description: d.description.clone(),
            enabled: d.enabled,
            id: d.id.clone(),
            links: self.link("domains", &d.id),
            name: d.name.clone(),
            options: Map::new(),
            tags: d.tags.clone(),
        }
    }

    /// A project.
    pub(crate) fn project(&self, p: &ProjectRec) -> Project {
        Project {
            description: p.description.clone(),
            domain_id: p.domain_id.clone(),
            enabled: p.enabled,
            id: p.id.clone(),
            is_domain: false,
            links: self.link("projects", &p.id),
            name: p.name.clone(),
            options: Map::new(),
            parent_id: p.parent_id.clone(),
            tags: p.tags.clone(),
            extra: None,
        }
    }

    /// A user (never with the password).
    pub(crate) fn user(&self, u: &UserRec) -> User {
        User {
            default_project_id: u.default_project_id.clone(),
            description: u.description.clone(),
            domain_id: u.domain_id.clone(),
            email: u.email.clone(),
            enabled: u.enabled,
            id: u.id.clone(),
            links: self.link("users", &u.id),
            name: u.name.clone(),
            options: Map::new(),
            password_expires_at: None,
            extra: None,
        }
    }

    /// A role; `with_links` is false inside application credentials.
    pub(crate) fn role(&self, r: &RoleRec, with_links: bool) -> Role {
        let mut options = Map::new();
        if r.immutable {
            options.insert("immutable".to_owned(), Value::Bool(true));
        }
        Role {
            description: r.description.clone(),
            domain_id: r.domain_id.clone(),
            id: r.id.clone(),
            links: with_links.then(|| self.link("roles", &r.id)),
            name: r.name.clone(),
            options,
        }
    }

    /// A role in a role inference.
    pub(crate) fn inference_role(&self, r: &RoleRec) -> InferenceRole {
        InferenceRole {
            id: r.id.clone(),
            links: self.link("roles", &r.id),
            name: r.name.clone(),
        }
    }

    /// The `self` link of a path under `/v3`, such as `roles/{id}/implies`.
    pub(crate) fn self_link(&self, path: &str) -> SelfLink {
        SelfLink {
            self_link: format!("{}/v3/{path}", self.base),
        }
    }

    /// An access rule; its link is Keystone's, under `/v3/access_rules` (a path that Keystone
    /// itself does not serve).
    pub(crate) fn access_rule(&self, r: &AccessRuleRec) -> UserAccessRule {
        UserAccessRule {
            id: r.id.clone(),
            links: self.link("access_rules", &r.id),
            method: r.method.clone(),
            path: r.path.clone(),
            service: r.service.clone(),
        }
    }

    /// An application credential; the secret only when `with_secret`.
    pub(crate) fn app_cred(
        &self,
        store: &Store,
        c: &AppCredRec,
        with_secret: bool,
    ) -> ApplicationCredential {
        ApplicationCredential {
            description: c.description.clone(),
            // oslo.serialization writes datetimes as `%Y-%m-%dT%H:%M:%S.%f`, without a zone
            expires_at: c
                .expires_at
                .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()),
            id: c.id.clone(),
            links: self.link("application_credentials", &c.id),
            name: c.name.clone(),
            project_id: c.project_id.clone(),
            roles: c
                .role_ids
                .iter()
                .filter_map(|id| store.roles.get(id))
                .map(|r| self.role(r, false))
                .collect(),
            secret: with_secret.then(|| c.secret.clone()),
            system: None,
            unrestricted: c.unrestricted,
            user_id: c.user_id.clone(),
            access_rules: (!c.access_rules.is_empty()).then(|| c.access_rules.clone()),
        }
    }
}
