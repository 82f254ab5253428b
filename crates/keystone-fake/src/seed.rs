//! A cloud described in YAML, loaded into the fake on top of the bootstrap data.
//!
//! ```yaml
//! regions: [{id: RegionTwo}]
//! projects: [{name: services}]
//! users:
//!   - {name: myservice, password: secret, email: myservice@localhost}
//! roles: [{name: observer}]
//! groups:
//!   - {name: operators, members: [myservice]}
//! grants:
//!   - {user: myservice, project: services, role: admin}
//!   - {user: myservice, system: true, role: reader}
//!   - {group: operators, project: services, role: observer}
//!   - {group: operators, domain: default, role: reader, inherited: true}
//! services:
//!   - name: myservice
//!     type: myservice
//!     endpoints:
//!       - {interface: public, url: "http://127.0.0.1:1337", region: RegionOne}
//! application_credentials:
//!   - {user: myservice, project: services, name: ci, secret: s3cret}
//! ```
//!
//! Users, projects, groups and grants name things by name; every name must exist by the time it is used.

use keystone_types::Secret;
use keystone_types::auth::DomainRef;
use keystone_types::resources::{
    ApplicationCredentialCreate, EndpointCreate, GroupCreate, ProjectCreate, RegionCreate,
    RoleCreate, RoleIdentifier, ServiceCreate, UserCreate,
};
use serde::Deserialize;

use crate::error::ApiError;
use crate::store::{Actor, Grant, Store, Target};

/// A whole seed file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seed {
    /// Regions to add.
    #[serde(default)]
    pub regions: Vec<SeedRegion>,
    /// Projects to add.
    #[serde(default)]
    pub projects: Vec<SeedProject>,
    /// Users to add.
    #[serde(default)]
    pub users: Vec<SeedUser>,
    /// Roles to add.
    #[serde(default)]
    pub roles: Vec<SeedRole>,
    /// Groups, with their members.
    #[serde(default)]
    pub groups: Vec<SeedGroup>,
    /// Role grants.
    #[serde(default)]
    pub grants: Vec<SeedGrant>,
    /// Services and their endpoints.
    #[serde(default)]
    pub services: Vec<SeedService>,
    /// Application credentials.
    #[serde(default)]
    pub application_credentials: Vec<SeedAppCred>,
}

/// A region.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedRegion {
    /// Its id.
    pub id: String,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
}

/// A project.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedProject {
    /// Its name.
    pub name: String,
    /// Its domain's id; `default` when absent.
    #[serde(default)]
    pub domain: Option<String>,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
}

/// A user.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedUser {
    /// Its name.
    pub name: String,
    /// Its password.
    #[serde(default)]
    pub password: Option<Secret>,
    /// Its e-mail address.
    #[serde(default)]
    pub email: Option<String>,
    /// Its domain's id; `default` when absent.
    #[serde(default)]
    pub domain: Option<String>,
    /// The name of its default project.
    #[serde(default)]
    pub default_project: Option<String>,
}

/// A role.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedRole {
    /// Its name.
    pub name: String,
}

/// A group of the `default` domain.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedGroup {
    /// Its name.
    pub name: String,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// Its members' names (users of the `default` domain).
    #[serde(default)]
    pub members: Vec<String>,
}

/// A grant of `role` to `user` or `group` on a project, a domain or the system.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedGrant {
    /// The user's name (in the `default` domain).
    #[serde(default)]
    pub user: Option<String>,
    /// The group's name (in the `default` domain), instead of a user.
    #[serde(default)]
    pub group: Option<String>,
    /// The role's name.
    pub role: String,
    /// A project's name (in the `default` domain).
    #[serde(default)]
    pub project: Option<String>,
    /// A domain's id.
    #[serde(default)]
    pub domain: Option<String>,
    /// The system.
    #[serde(default)]
    pub system: bool,
    /// OS-INHERIT: held on every project under the domain or project instead of on it.
    #[serde(default)]
    pub inherited: bool,
}

/// A service with its endpoints.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedService {
    /// Its name.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Its endpoints.
    #[serde(default)]
    pub endpoints: Vec<SeedEndpoint>,
}

/// An endpoint.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedEndpoint {
    /// `public`, `internal` or `admin`.
    pub interface: String,
    /// Its URL.
    pub url: String,
    /// Its region's id.
    #[serde(default)]
    pub region: Option<String>,
}

/// An application credential.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedAppCred {
    /// The owner's name (in the `default` domain).
    pub user: String,
    /// The project's name (in the `default` domain).
    pub project: String,
    /// Its name.
    pub name: String,
    /// Its secret.
    pub secret: Secret,
    /// Role names; all of the user's roles on the project when absent.
    #[serde(default)]
    pub roles: Option<Vec<String>>,
}

/// Why a seed could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SeedError {
    /// The YAML did not parse.
    #[error("seed file does not parse: {0}")]
    Parse(#[from] yaml_serde::Error),
    /// A name did not resolve, or a resource could not be created.
    #[error("seed entry {entry}: {message}")]
    Entry {
        /// Which entry.
        entry: String,
        /// What went wrong.
        message: String,
    },
}

impl Seed {
    /// Parses a seed from YAML text.
    pub fn from_yaml(text: &str) -> Result<Self, SeedError> {
        Ok(yaml_serde::from_str(text)?)
    }

    /// Adds everything to `store`, in the order entries name each other: regions, projects,
    /// users, roles, groups (with their members), grants, services (with their endpoints) and
    /// application credentials.
    pub fn apply(&self, store: &mut Store) -> Result<(), SeedError> {
        self.add_regions(store)?;
        self.add_projects(store)?;
        self.add_users(store)?;
        self.add_roles(store)?;
        self.add_groups(store)?;
        self.add_grants(store)?;
        self.add_services(store)?;
        self.add_app_creds(store)
    }

    /// The regions.
    fn add_regions(&self, store: &mut Store) -> Result<(), SeedError> {
        for r in &self.regions {
            entry(
                format!("region {}", r.id),
                store.create_region(RegionCreate {
                    id: Some(r.id.clone()),
                    description: r.description.clone(),
                    parent_region_id: None,
                }),
            )?;
        }
        Ok(())
    }

    /// The projects.
    fn add_projects(&self, store: &mut Store) -> Result<(), SeedError> {
        for p in &self.projects {
            entry(
                format!("project {}", p.name),
                store.create_project(ProjectCreate {
                    name: p.name.clone(),
                    domain_id: p.domain.clone(),
                    description: p.description.clone(),
                    ..Default::default()
                }),
            )?;
        }
        Ok(())
    }

    /// The users, each with their default project, which must exist.
    fn add_users(&self, store: &mut Store) -> Result<(), SeedError> {
        for u in &self.users {
            let what = format!("user {}", u.name);
            let domain = DomainRef::id(u.domain.clone().unwrap_or_else(|| "default".into()));
            let default_project_id = match &u.default_project {
                Some(name) => Some(
                    store
                        .find_project(None, Some(name), Some(&domain))
                        .ok_or_else(|| missing(what.clone(), "project", name))?
                        .id
                        .clone(),
                ),
                None => None,
            };
            entry(
                what,
                store.create_user(UserCreate {
                    name: u.name.clone(),
                    password: u.password.clone(),
                    email: u.email.clone(),
                    domain_id: domain.id.clone(),
                    default_project_id,
                    ..Default::default()
                }),
            )?;
        }
        Ok(())
    }

    /// The roles.
    fn add_roles(&self, store: &mut Store) -> Result<(), SeedError> {
        for r in &self.roles {
            entry(
                format!("role {}", r.name),
                store.create_role(RoleCreate {
                    name: r.name.clone(),
                    ..Default::default()
                }),
            )?;
        }
        Ok(())
    }

    /// The groups, each with its members, who must exist.
    fn add_groups(&self, store: &mut Store) -> Result<(), SeedError> {
        let default = DomainRef::id("default");
        for g in &self.groups {
            let what = format!("group {}", g.name);
            let group = entry(
                what.clone(),
                store.create_group(GroupCreate {
                    name: g.name.clone(),
                    description: g.description.clone(),
                    domain_id: None,
                }),
            )?;
            for member in &g.members {
                let user_id = store
                    .find_user(None, Some(member), Some(&default))
                    .ok_or_else(|| missing(what.clone(), "user", member))?
                    .id
                    .clone();
                entry(what.clone(), store.add_user_to_group(&group.id, &user_id))?;
            }
        }
        Ok(())
    }

    /// The grants, each to a user or a group, on a project, a domain or the system.
    fn add_grants(&self, store: &mut Store) -> Result<(), SeedError> {
        let default = DomainRef::id("default");
        for g in &self.grants {
            let holder = g.user.as_deref().or(g.group.as_deref()).unwrap_or_default();
            let what = format!("grant of {} to {holder}", g.role);
            let actor = match (&g.user, &g.group) {
                (Some(user), None) => Actor::User(
                    store
                        .find_user(None, Some(user), Some(&default))
                        .ok_or_else(|| missing(what.clone(), "user", user))?
                        .id
                        .clone(),
                ),
                (None, Some(group)) => Actor::Group(
                    store
                        .groups
                        .values()
                        .find(|x| &x.name == group && x.domain_id == "default")
                        .ok_or_else(|| missing(what.clone(), "group", group))?
                        .id
                        .clone(),
                ),
                _ => {
                    return Err(SeedError::Entry {
                        entry: what,
                        message: "name exactly one of user or group".into(),
                    });
                }
            };
            let role_id = store
                .role_by_name(&g.role)
                .ok_or_else(|| missing(what.clone(), "role", &g.role))?
                .id
                .clone();
            let target = match (&g.project, &g.domain, g.system) {
                (Some(p), None, false) => Target::Project(
                    store
                        .find_project(None, Some(p), Some(&default))
                        .ok_or_else(|| missing(what.clone(), "project", p))?
                        .id
                        .clone(),
                ),
                (None, Some(d), false) => Target::Domain(d.clone()),
                (None, None, true) => Target::System,
                _ => {
                    return Err(SeedError::Entry {
                        entry: what,
                        message: "name exactly one of project, domain or system: true".into(),
                    });
                }
            };
            if g.inherited && target == Target::System {
                return Err(SeedError::Entry {
                    entry: what,
                    message: "an inherited grant is on a domain or a project".into(),
                });
            }
            entry(
                what,
                store.grant(Grant {
                    actor,
                    target,
                    role_id,
                    inherited: g.inherited,
                }),
            )?;
        }
        Ok(())
    }

    /// The services, each with its endpoints.
    fn add_services(&self, store: &mut Store) -> Result<(), SeedError> {
        for s in &self.services {
            let what = format!("service {}", s.name);
            let service = entry(
                what.clone(),
                store.create_service(ServiceCreate {
                    name: Some(s.name.clone()),
                    kind: s.kind.clone(),
                    ..Default::default()
                }),
            )?;
            for e in &s.endpoints {
                entry(
                    format!("{what} endpoint {}", e.interface),
                    store.create_endpoint(EndpointCreate {
                        interface: e.interface.clone(),
                        service_id: service.id.clone(),
                        url: e.url.clone(),
                        region_id: e.region.clone(),
                        ..Default::default()
                    }),
                )?;
            }
        }
        Ok(())
    }

    /// The application credentials, each with the roles it carries.
    fn add_app_creds(&self, store: &mut Store) -> Result<(), SeedError> {
        let default = DomainRef::id("default");
        for a in &self.application_credentials {
            let what = format!("application credential {}", a.name);
            let user_id = store
                .find_user(None, Some(&a.user), Some(&default))
                .ok_or_else(|| missing(what.clone(), "user", &a.user))?
                .id
                .clone();
            let project_id = store
                .find_project(None, Some(&a.project), Some(&default))
                .ok_or_else(|| missing(what.clone(), "project", &a.project))?
                .id
                .clone();
            let available = store.effective_roles(&user_id, &Target::Project(project_id.clone()));
            let roles = a.roles.as_ref().map(|names| {
                names
                    .iter()
                    .map(|n| RoleIdentifier {
                        id: None,
                        name: Some(n.clone()),
                    })
                    .collect()
            });
            entry(
                what,
                store.create_app_cred(
                    &user_id,
                    &project_id,
                    &available,
                    ApplicationCredentialCreate {
                        name: a.name.clone(),
                        secret: Some(a.secret.clone()),
                        roles,
                        ..Default::default()
                    },
                    chrono::Utc::now(),
                ),
            )?;
        }
        Ok(())
    }
}

/// A seed entry's resource refused by the store, as the entry's error.
fn entry<T>(what: String, r: Result<T, ApiError>) -> Result<T, SeedError> {
    r.map_err(|e| SeedError::Entry {
        entry: what,
        message: e.message,
    })
}

/// A name a seed entry gives that names nothing.
fn missing(what: String, kind: &str, name: &str) -> SeedError {
    SeedError::Entry {
        entry: what,
        message: format!("no {kind} named {name:?}"),
    }
}
