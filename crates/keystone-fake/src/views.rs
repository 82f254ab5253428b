//! Records rendered as Keystone's JSON resources, with links under the fake's own URL.

use chrono::{DateTime, Utc};
use keystone_types::auth::SystemScope;
use keystone_types::resources::{
    ApplicationCredential, AssignmentActor, AssignmentLinks, AssignmentScope, Consumer, Credential,
    Domain, Ec2Credential, Endpoint, EndpointGroup, FederationProtocol, Group, IdentityProvider,
    IdentityProviderLinks, InferenceRole, Links, Mapping, Policy, Project, ProjectEndpointGroup,
    ProtocolLinks, Region, Role, RoleAssignment, SelfLink, Service, ServiceProvider, Trust, User,
    UserAccessRule,
};
use keystone_types::token::{NamedRef, Token, TokenResponse};
use serde_json::{Map, Value};

use crate::store::{
    AccessRuleRec, Actor, AppCredRec, AssignmentRow, ConsumerRec, CredentialRec, DomainRec,
    EndpointGroupRec, EndpointRec, GroupRec, IdpRec, MappingRec, PolicyRec, ProjectRec,
    ProtocolRec, RegionRec, RoleRec, ServiceRec, SpRec, Store, Target, TokenRec, TrustRec, UserRec,
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
            tags: sorted(&d.tags),
        }
    }

    /// A stored credential.
    pub(crate) fn credential(&self, c: &CredentialRec) -> Credential {
        Credential {
            id: c.id.clone(),
            user_id: c.user_id.clone(),
            project_id: c.project_id.clone(),
            kind: c.kind.clone(),
            blob: c.blob.clone(),
            links: self.link("credentials", &c.id),
            extra: c.extra.clone(),
        }
    }

    /// An `ec2` credential as OS-EC2 shows it: its blob's keys spelled out, linked under its
    /// owner's OS-EC2 collection by its access key.
    pub(crate) fn ec2_credential(&self, c: &CredentialRec) -> Ec2Credential {
        let blob: Map<String, Value> = serde_json::from_str(c.blob.expose()).unwrap_or_default();
        let text = |k: &str| blob.get(k).and_then(Value::as_str).map(str::to_owned);
        let access = text("access");
        Ec2Credential {
            user_id: c.user_id.clone(),
            tenant_id: c.project_id.clone(),
            links: SelfLink {
                self_link: format!(
                    "{}/v3/users/{}/credentials/OS-EC2/{}",
                    self.base,
                    c.user_id,
                    access.as_deref().unwrap_or_default()
                ),
            },
            access,
            secret: text("secret").map(Into::into),
            trust_id: text("trust_id"),
        }
    }

    /// An identity provider: `remote_ids` sorted unless `as_written`, the protocols link in
    /// lists only (as Keystone renders them).
    pub(crate) fn idp(&self, i: &IdpRec, as_written: bool, in_list: bool) -> IdentityProvider {
        let base = format!("{}/v3/OS-FEDERATION/identity_providers/{}", self.base, i.id);
        IdentityProvider {
            id: i.id.clone(),
            domain_id: i.domain_id.clone(),
            enabled: i.enabled,
            description: i.description.clone(),
            remote_ids: if as_written {
                i.remote_ids.clone()
            } else {
                sorted(&i.remote_ids)
            },
            authorization_ttl: i.authorization_ttl,
            links: IdentityProviderLinks {
                protocols: in_list.then(|| format!("{base}/protocols")),
                self_link: base,
            },
        }
    }

    /// A federation protocol: in lists with its identity provider and remote id attribute,
    /// alone without them; its links as Keystone writes them.
    pub(crate) fn protocol(&self, p: &ProtocolRec, in_list: bool) -> FederationProtocol {
        FederationProtocol {
            id: p.id.clone(),
            idp_id: in_list.then(|| p.idp_id.clone()),
            mapping_id: p.mapping_id.clone(),
            remote_id_attribute: in_list.then(|| {
                p.remote_id_attribute
                    .clone()
                    .map_or(Value::Null, Value::String)
            }),
            links: ProtocolLinks {
                self_link: format!("{}/v3/protocols/{}", self.base, p.id),
                identity_provider: format!("{}/v3/{}", self.base, p.idp_id),
            },
        }
    }

    /// A federation mapping.
    pub(crate) fn mapping(&self, m: &MappingRec) -> Mapping {
        Mapping {
            id: m.id.clone(),
            rules: m.rules.clone(),
            schema_version: m.schema_version.clone(),
            links: SelfLink {
                self_link: format!("{}/v3/OS-FEDERATION/mappings/{}", self.base, m.id),
            },
        }
    }

    /// A federation service provider.
    pub(crate) fn sp(&self, s: &SpRec) -> ServiceProvider {
        ServiceProvider {
            auth_url: s.auth_url.clone(),
            id: s.id.clone(),
            enabled: s.enabled,
            description: s.description.clone(),
            relay_state_prefix: s.relay_state_prefix.clone(),
            sp_url: s.sp_url.clone(),
            links: SelfLink {
                self_link: format!("{}/v3/OS-FEDERATION/service_providers/{}", self.base, s.id),
            },
        }
    }

    /// An OAuth1 consumer; its secret only when `with_secret` (the answer creating it).
    pub(crate) fn consumer(&self, c: &ConsumerRec, with_secret: bool) -> Consumer {
        Consumer {
            id: c.id.clone(),
            description: c.description.clone(),
            secret: with_secret.then(|| c.secret.clone()),
            links: SelfLink {
                self_link: format!("{}/v3/OS-OAUTH1/consumers/{}", self.base, c.id),
            },
            extra: c.extra.clone(),
        }
    }

    /// A stored policy blob.
    pub(crate) fn policy(&self, p: &PolicyRec) -> Policy {
        Policy {
            id: p.id.clone(),
            blob: p.blob.clone(),
            kind: p.kind.clone(),
            links: self.link("policies", &p.id),
            extra: p.extra.clone(),
        }
    }

    /// A domain shown as a project acting as one (`/v3/projects` on a domain's id).
    pub(crate) fn domain_as_project(&self, d: &DomainRec) -> Project {
        Project {
            description: d.description.clone(),
            domain_id: None,
            enabled: d.enabled,
            id: d.id.clone(),
            is_domain: true,
            links: self.link("projects", &d.id),
            name: d.name.clone(),
            options: Map::new(),
            parent_id: None,
            tags: sorted(&d.tags),
            extra: None,
            attributes: Map::new(),
        }
    }

    /// An endpoint group (OS-EP-FILTER).
    pub(crate) fn endpoint_group(&self, g: &EndpointGroupRec) -> EndpointGroup {
        EndpointGroup {
            id: g.id.clone(),
            name: g.name.clone(),
            description: g.description.clone(),
            filters: g.filters.clone(),
            links: self.self_link(&format!("OS-EP-FILTER/endpoint_groups/{}", g.id)),
        }
    }

    /// An endpoint group's association with a project, linked as Keystone links it: relative,
    /// without the base URL or `/v3`.
    pub(crate) fn project_endpoint_group(
        &self,
        group_id: &str,
        project_id: &str,
    ) -> ProjectEndpointGroup {
        ProjectEndpointGroup {
            endpoint_group_id: group_id.to_owned(),
            project_id: project_id.to_owned(),
            links: SelfLink {
                self_link: format!(
                    "/OS-EP-FILTER/endpoint_groups/{group_id}/projects/{project_id}"
                ),
            },
        }
    }

    /// A project.
    pub(crate) fn project(&self, p: &ProjectRec) -> Project {
        Project {
            description: p.description.clone(),
            domain_id: Some(p.domain_id.clone()),
            enabled: p.enabled,
            id: p.id.clone(),
            is_domain: false,
            links: self.link("projects", &p.id),
            name: p.name.clone(),
            options: Map::new(),
            parent_id: p.parent_id.clone(),
            tags: sorted(&p.tags),
            extra: None,
            attributes: p.extra.clone(),
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
            attributes: u.extra.clone(),
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

    /// A row of a role assignment list (with names when `names`), with its links as Keystone
    /// writes them: `assignment` is the grant's path
    /// (`/v3[/OS-INHERIT]/{target}/{users,groups}/{id}/roles/{role}[/inherited_to_projects]`),
    /// where an implied role's names the role implying it directly (not always a grant), and
    /// its `prior_role` link is `/v3/prior_role/{implied}/implies/{prior}`, the names swapped;
    /// a row of a group's member links the membership it comes through.
    pub(crate) fn role_assignment(
        &self,
        store: &Store,
        names: bool,
        row: &AssignmentRow<'_>,
    ) -> RoleAssignment {
        let base = &self.base;
        let g = row.grant;
        let target_path = match &g.target {
            Target::Project(p) => format!("projects/{p}"),
            Target::Domain(d) => format!("domains/{d}"),
            Target::System => "system".to_owned(),
        };
        let inherit = if g.inherited { "/OS-INHERIT" } else { "" };
        let grants = format!(
            "{base}/v3{inherit}/{target_path}/{}/{}/roles",
            g.actor.collection(),
            g.actor.id()
        );
        let suffix = if g.inherited {
            "/inherited_to_projects"
        } else {
            ""
        };
        let role_id = &row.role_id;
        let role_in_link = row.prior.as_deref().unwrap_or(role_id);
        let links = AssignmentLinks {
            assignment: format!("{grants}/{role_in_link}{suffix}"),
            prior_role: row
                .prior
                .as_ref()
                .map(|prior| format!("{base}/v3/prior_role/{role_id}/implies/{prior}")),
            membership: match (&g.actor, &row.holder) {
                (Actor::Group(group), Actor::User(user)) => {
                    Some(format!("{base}/v3/groups/{group}/users/{user}"))
                }
                _ => None,
            },
        };
        let mut answer = assignment(store, names, &row.holder, &row.target, role_id, links);
        if g.inherited {
            answer.scope.inherited_to = Some("projects".to_owned());
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
            // unknown attributes only (`api::trusts` kept no known one)
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

fn named_domain(store: &Store, id: &str) -> NamedRef {
    NamedRef {
        id: id.to_owned(),
        name: store
            .domains
            .get(id)
            .map(|d| d.name.clone())
            .unwrap_or_default(),
    }
}

/// One row of a role assignment list: `holder` has `role_id` on `target`.
fn assignment(
    store: &Store,
    names: bool,
    holder: &Actor,
    target: &Target,
    role_id: &str,
    links: AssignmentLinks,
) -> RoleAssignment {
    let role = store.roles.get(role_id);
    let scope = match target {
        Target::Project(p) => {
            let rec = store.projects.get(p);
            AssignmentScope {
                project: Some(AssignmentActor {
                    domain: names.then(|| {
                        named_domain(store, rec.map(|r| r.domain_id.as_str()).unwrap_or(""))
                    }),
                    id: p.clone(),
                    name: names.then(|| rec.map(|r| r.name.clone()).unwrap_or_default()),
                }),
                domain: None,
                system: None,
                inherited_to: None,
            }
        }
        Target::Domain(d) => AssignmentScope {
            project: None,
            domain: Some(AssignmentActor {
                domain: None,
                id: d.clone(),
                name: names.then(|| named_domain(store, d).name),
            }),
            system: None,
            inherited_to: None,
        },
        Target::System => AssignmentScope {
            project: None,
            domain: None,
            system: Some(SystemScope { all: true }),
            inherited_to: None,
        },
    };
    let (name, domain) = store.actor_named(holder).unwrap_or_default();
    let named = AssignmentActor {
        domain: names.then(|| named_domain(store, domain)),
        id: holder.id().to_owned(),
        name: names.then(|| name.to_owned()),
    };
    let (user, group) = match holder {
        Actor::User(_) => (Some(named), None),
        Actor::Group(_) => (None, Some(named)),
    };
    RoleAssignment {
        links,
        role: AssignmentActor {
            domain: None,
            id: role_id.to_owned(),
            name: names.then(|| role.map(|r| r.name.clone()).unwrap_or_default()),
        },
        scope,
        user,
        group,
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

/// Tags as Keystone reads them back: sorted by code point (its table's primary key), whatever
/// order they were written in.
pub(crate) fn sorted(tags: &[String]) -> Vec<String> {
    let mut out = tags.to_vec();
    out.sort();
    out
}
