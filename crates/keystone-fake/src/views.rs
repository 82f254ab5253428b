//! Records rendered as Keystone's JSON resources, with links under the fake's own URL.

use chrono::{DateTime, Utc};
use keystone_types::resources::{
    ApplicationCredential, Domain, Endpoint, Group, InferenceRole, Links, Project, Region, Role,
    SelfLink, Service, Trust, User, UserAccessRule,
};
use keystone_types::token::{Token, TokenResponse};
use serde_json::{Map, Value};

use crate::store::{
    AccessRuleRec, AppCredRec, DomainRec, EndpointRec, GroupRec, ProjectRec, RegionRec, RoleRec,
    ServiceRec, Store, TokenRec, TrustRec, UserRec,
};

/// A time as Keystone's `isotime(subsecond=True)` writes it: to the second, with six zeros.
fn isotime(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S.000000Z").to_string()
}

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

    /// A group.
    pub(crate) fn group(&self, g: &GroupRec) -> Group {
        Group {
            description: g.description.clone(),
            domain_id: g.domain_id.clone(),
            id: g.id.clone(),
            links: self.link("groups", &g.id),
            name: g.name.clone(),
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

    /// A token's answer, `{"token": ...}`. A trust-scoped token lists its roles as whole role
    /// records without links (with `description`, `domain_id` and `options`), as Keystone's
    /// token model finds them; `keystone_types::token::RoleRef` carries only a role's id, name
    /// and domain, so those are written in here.
    pub(crate) fn token(&self, store: &Store, rec: &TokenRec, token: Token) -> Value {
        let trust_roles: Option<Vec<Role>> = rec.trust_id.is_some().then(|| {
            token
                .roles
                .iter()
                .flatten()
                .filter_map(|r| store.roles.get(&r.id))
                .map(|r| self.role(r, false))
                .collect()
        });
        let mut answer = to_json(TokenResponse { token });
        if let (Some(roles), Some(body)) = (trust_roles, answer.get_mut("token")) {
            body["roles"] = to_json(roles);
        }
        answer
    }

    /// Keystone's link to a trust's roles: `/v3/{id}/roles`, without the `OS-TRUST/trusts`
    /// the path it serves them at has.
    pub(crate) fn trust_roles_links(&self, id: &str) -> Links {
        Links {
            next: None,
            previous: None,
            self_link: format!("{}/v3/{id}/roles", self.base),
        }
    }

    /// A trust as Keystone answers it; `in_list` as its list does (without `roles` and
    /// `roles_links`). The unknown attributes the trust was created with come last, as
    /// Keystone echoes them.
    pub(crate) fn trust(&self, store: &Store, t: &TrustRec, in_list: bool) -> Trust {
        Trust {
            id: t.id.clone(),
            trustor_user_id: t.trustor_user_id.clone(),
            trustee_user_id: t.trustee_user_id.clone(),
            project_id: t.project_id.clone(),
            impersonation: t.impersonation,
            expires_at: t.expires_at.map(isotime),
            remaining_uses: t.remaining_uses,
            roles: (!in_list).then(|| self.trust_roles(store, t)),
            allow_redelegation: None,
            redelegation_count: Some(t.redelegation_count),
            redelegated_trust_id: t.redelegated_trust_id.clone(),
            deleted_at: None,
            links: self.link("OS-TRUST/trusts", &t.id),
            roles_links: (!in_list).then(|| self.trust_roles_links(&t.id)),
            // unknown attributes only (`trust_api` kept no known one)
            extra: t.extra.clone(),
        }
    }

    /// A trust's roles, with their links (a role deleted since is left out, as Keystone
    /// leaves it).
    pub(crate) fn trust_roles(&self, store: &Store, t: &TrustRec) -> Vec<Role> {
        t.role_ids
            .iter()
            .filter_map(|id| store.roles.get(id))
            .map(|r| self.role(r, true))
            .collect()
    }
}

/// A wire type as JSON. Ours always serialize (their maps have string keys); a failure would
/// be a defect, answered as `null` rather than a panic.
fn to_json(value: impl serde::Serialize) -> Value {
    serde_json::to_value(value).unwrap_or_else(|e| {
        tracing::error!(error = %e, "a wire type did not serialize");
        Value::Null
    })
}
