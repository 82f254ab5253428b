//! The admin calls services and their operators need: services, endpoints, users, groups,
//! projects, roles, domains, regions (each created, read, listed, updated and deleted), group
//! membership, role grants to users and to groups, role assignments, implied roles, trusts, application credentials and their access rules, and a
//! user's own password change.
//!
//! Every call goes to the Identity v3 root found by discovery, with the session's token. Ids
//! are percent-encoded into the path, so an id never reaches another resource or a query.
//!
//! # Example
//!
//! ```no_run
//! # async fn run(session: keystone_client::Session) -> keystone_client::Result<()> {
//! use keystone_types::resources::ServiceCreate;
//!
//! let admin = session.admin();
//! let service = admin
//!     .create_service(ServiceCreate { kind: "myservice".into(), name: Some("myservice".into()), ..Default::default() })
//!     .await?;
//! let found = admin.list_services(Some("myservice"), None).await?;
//! assert_eq!(found[0].id, service.id);
//! # Ok(()) }
//! ```

use keystone_types::Secret;
use keystone_types::resources::*;
use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::session::Session;

/// The admin API over a session. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Admin {
    session: Session,
}

/// Filters of `GET /v3/endpoints`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndpointQuery {
    /// Only this service's endpoints.
    pub service_id: Option<String>,
    /// Only this interface.
    pub interface: Option<String>,
    /// Only this region.
    pub region_id: Option<String>,
    /// Only enabled (or disabled) endpoints.
    pub enabled: Option<bool>,
}

/// Filters of `GET /v3/role_assignments`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleAssignmentQuery {
    /// Only this user's assignments.
    pub user_id: Option<String>,
    /// Only this group's assignments (Keystone refuses it with `effective`: 400).
    pub group_id: Option<String>,
    /// Only assignments on this project.
    pub project_id: Option<String>,
    /// Only assignments on this domain.
    pub domain_id: Option<String>,
    /// Only system assignments.
    pub system: bool,
    /// Only this role.
    pub role_id: Option<String>,
    /// Add names to ids.
    pub include_names: bool,
    /// Expand implied roles (and group memberships).
    pub effective: bool,
    /// With `project_id`: that project's assignments and those of every project under it.
    pub include_subtree: bool,
    /// Only OS-INHERIT assignments (`scope.OS-INHERIT:inherited_to=projects`).
    pub inherited_only: bool,
}

/// Where a role grant applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantTarget {
    /// A project, by id.
    Project(String),
    /// A domain, by id.
    Domain(String),
    /// The system.
    System,
    /// OS-INHERIT: every project of a domain (by id), not the domain itself; also the projects
    /// made later (`openstack role add --domain D --inherited`).
    ProjectsOfDomain(String),
    /// OS-INHERIT: every project under a project (by id), not the project itself
    /// (`openstack role add --project P --inherited`).
    ProjectsUnder(String),
}

impl GrantTarget {
    /// The grant of `role_id` to the user or group `actor_id` (`actors`: `users` or `groups`).
    fn path(&self, actors: &str, actor_id: &str, role_id: &str) -> Result<String> {
        let (actor, role) = (segment(actor_id)?, segment(role_id)?);
        let (target, inherited) = match self {
            GrantTarget::Project(p) => (format!("/projects/{}", segment(p)?), false),
            GrantTarget::Domain(d) => (format!("/domains/{}", segment(d)?), false),
            GrantTarget::System => ("/system".to_owned(), false),
            GrantTarget::ProjectsOfDomain(d) => {
                (format!("/OS-INHERIT/domains/{}", segment(d)?), true)
            }
            GrantTarget::ProjectsUnder(p) => {
                (format!("/OS-INHERIT/projects/{}", segment(p)?), true)
            }
        };
        let suffix = if inherited {
            "/inherited_to_projects"
        } else {
            ""
        };
        Ok(format!("{target}/{actors}/{actor}/roles/{role}{suffix}"))
    }
}

/// What is left as it is in a path segment: RFC 3986's unreserved characters.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// An id as one path segment, percent-encoded (`/` and `?` in a region's id stay in it). Empty,
/// `.` and `..` are refused: URLs read them as this path or its parent even when encoded.
fn segment(id: &str) -> Result<String> {
    if matches!(id, "" | "." | "..") {
        return Err(Error::InvalidId {
            value: id.to_owned(),
        });
    }
    Ok(percent_encoding::utf8_percent_encode(id, SEGMENT).to_string())
}

/// The rule that `prior` implies `implied`.
fn implies(prior_id: &str, implied_id: &str) -> Result<String> {
    Ok(format!(
        "{}/implies/{}",
        item("roles", prior_id)?,
        segment(implied_id)?
    ))
}

/// A user's membership of a group.
fn membership(group_id: &str, user_id: &str) -> Result<String> {
    Ok(format!(
        "{}/users/{}",
        item("groups", group_id)?,
        segment(user_id)?
    ))
}

/// One of a user's collections, such as their application credentials or access rules.
fn user_collection(user_id: &str, collection: &str) -> Result<String> {
    Ok(format!("{}/{collection}", item("users", user_id)?))
}

/// A user's application credentials.
fn app_creds(user_id: &str) -> Result<String> {
    user_collection(user_id, "application_credentials")
}

/// `/{collection}/{id}`, the id encoded.
fn item(collection: &str, id: &str) -> Result<String> {
    Ok(format!("/{collection}/{}", segment(id)?))
}

fn query_string(pairs: &[(&str, Option<String>)]) -> String {
    let mut serializer = url::form_urlencoded::Serializer::new(String::new());
    let mut any = false;
    for (k, v) in pairs {
        if let Some(v) = v {
            serializer.append_pair(k, v);
            any = true;
        }
    }
    if any {
        format!("?{}", serializer.finish())
    } else {
        String::new()
    }
}

/// The next page's URL: `next` resolved against this page's, on this page's scheme and host.
fn next_page(current: &str, next: &str) -> Option<String> {
    let here = url::Url::parse(current).ok()?;
    let mut there = here.join(next).ok()?;
    if (there.host_str(), there.port_or_known_default())
        != (here.host_str(), here.port_or_known_default())
    {
        there.set_scheme(here.scheme()).ok()?;
        there.set_host(here.host_str()).ok()?;
        there.set_port(here.port()).ok()?;
    }
    Some(there.to_string())
}

impl Session {
    /// The admin API over this session.
    pub fn admin(&self) -> Admin {
        Admin {
            session: self.clone(),
        }
    }
}

impl Admin {
    async fn url(&self, path: &str) -> Result<String> {
        Ok(format!("{}{path}", self.session.api_identity_url().await?))
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        let url = self.url(path).await?;
        self.session.get(url).send_json().await
    }

    /// Every page of a list: follows `links.next` (Keystone pages when asked or when its
    /// `list_limit` is set), keeping our scheme and host as discovery does.
    async fn list<L: ListPage + DeserializeOwned>(&self, path: &str) -> Result<Vec<L::Item>> {
        let mut url = self.url(path).await?;
        let mut seen = std::collections::HashSet::new();
        let mut all = Vec::new();
        loop {
            seen.insert(url.clone());
            let page: L = self.session.get(url.clone()).send_json().await?;
            let (items, next) = page.into_page();
            let empty = items.is_empty();
            all.extend(items);
            // an empty page, or a link already followed, ends it: no loop on a broken server
            match next.and_then(|n| next_page(&url, &n)) {
                Some(next) if !empty && !seen.contains(&next) => url = next,
                _ => return Ok(all),
            }
        }
    }

    async fn send<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &B,
    ) -> Result<T> {
        let url = self.url(path).await?;
        self.session
            .request(method, url)
            .json(body)
            .send_json()
            .await
    }

    async fn no_content(&self, method: Method, path: &str) -> Result<()> {
        let url = self.url(path).await?;
        self.session.request(method, url).send_ok().await.map(drop)
    }

    async fn get_item<T: DeserializeOwned>(&self, collection: &str, id: &str) -> Result<T> {
        self.get(&item(collection, id)?).await
    }

    async fn patch_item<B: Serialize, T: DeserializeOwned>(
        &self,
        collection: &str,
        id: &str,
        body: &B,
    ) -> Result<T> {
        self.send(Method::PATCH, &item(collection, id)?, body).await
    }

    async fn delete_item(&self, collection: &str, id: &str) -> Result<()> {
        self.no_content(Method::DELETE, &item(collection, id)?)
            .await
    }

    // ----- services --------------------------------------------------------------------------

    /// `POST /v3/services`
    pub async fn create_service(&self, service: ServiceCreate) -> Result<Service> {
        let r: ServiceResponse = self
            .send(Method::POST, "/services", &ServiceCreateRequest { service })
            .await?;
        Ok(r.service)
    }

    /// `GET /v3/services/{id}`
    pub async fn get_service(&self, id: &str) -> Result<Service> {
        let r: ServiceResponse = self.get_item("services", id).await?;
        Ok(r.service)
    }

    /// `PATCH /v3/services/{id}`: the fields set in `update` change, the others stay.
    pub async fn update_service(&self, id: &str, update: ServiceUpdate) -> Result<Service> {
        let body = ServiceUpdateRequest { service: update };
        let r: ServiceResponse = self.patch_item("services", id, &body).await?;
        Ok(r.service)
    }

    /// `GET /v3/services?type=&name=`
    pub async fn list_services(
        &self,
        kind: Option<&str>,
        name: Option<&str>,
    ) -> Result<Vec<Service>> {
        let q = query_string(&[
            ("type", kind.map(Into::into)),
            ("name", name.map(Into::into)),
        ]);
        self.list::<ServiceList>(&format!("/services{q}")).await
    }

    /// `DELETE /v3/services/{id}` (its endpoints go with it)
    pub async fn delete_service(&self, id: &str) -> Result<()> {
        self.delete_item("services", id).await
    }

    // ----- endpoints -------------------------------------------------------------------------

    /// `POST /v3/endpoints`
    pub async fn create_endpoint(&self, endpoint: EndpointCreate) -> Result<Endpoint> {
        let r: EndpointResponse = self
            .send(
                Method::POST,
                "/endpoints",
                &EndpointCreateRequest { endpoint },
            )
            .await?;
        Ok(r.endpoint)
    }

    /// `GET /v3/endpoints` with filters.
    pub async fn list_endpoints(&self, query: &EndpointQuery) -> Result<Vec<Endpoint>> {
        let q = query_string(&[
            ("service_id", query.service_id.clone()),
            ("interface", query.interface.clone()),
            ("region_id", query.region_id.clone()),
            ("enabled", query.enabled.map(|e| e.to_string())),
        ]);
        self.list::<EndpointList>(&format!("/endpoints{q}")).await
    }

    /// `GET /v3/endpoints/{id}`
    pub async fn get_endpoint(&self, id: &str) -> Result<Endpoint> {
        let r: EndpointResponse = self.get_item("endpoints", id).await?;
        Ok(r.endpoint)
    }

    /// `PATCH /v3/endpoints/{id}`: moving a service to a new URL, disabling an endpoint.
    pub async fn update_endpoint(&self, id: &str, update: EndpointUpdate) -> Result<Endpoint> {
        let body = EndpointUpdateRequest { endpoint: update };
        let r: EndpointResponse = self.patch_item("endpoints", id, &body).await?;
        Ok(r.endpoint)
    }

    /// `DELETE /v3/endpoints/{id}`
    pub async fn delete_endpoint(&self, id: &str) -> Result<()> {
        self.delete_item("endpoints", id).await
    }

    // ----- users -----------------------------------------------------------------------------

    /// `POST /v3/users`
    pub async fn create_user(&self, user: UserCreate) -> Result<User> {
        let r: UserResponse = self
            .send(Method::POST, "/users", &UserCreateRequest { user })
            .await?;
        Ok(r.user)
    }

    /// `GET /v3/users/{id}`
    pub async fn get_user(&self, id: &str) -> Result<User> {
        let r: UserResponse = self.get_item("users", id).await?;
        Ok(r.user)
    }

    /// `PATCH /v3/users/{id}`: disabling a user or setting a new password (either revokes the
    /// user's tokens).
    pub async fn update_user(&self, id: &str, update: UserUpdate) -> Result<User> {
        let body = UserUpdateRequest { user: update };
        let r: UserResponse = self.patch_item("users", id, &body).await?;
        Ok(r.user)
    }

    /// `GET /v3/users?name=&domain_id=`
    pub async fn list_users(
        &self,
        name: Option<&str>,
        domain_id: Option<&str>,
    ) -> Result<Vec<User>> {
        let q = query_string(&[
            ("name", name.map(Into::into)),
            ("domain_id", domain_id.map(Into::into)),
        ]);
        self.list::<UserList>(&format!("/users{q}")).await
    }

    /// `DELETE /v3/users/{id}`
    pub async fn delete_user(&self, id: &str) -> Result<()> {
        self.delete_item("users", id).await
    }

    // ----- projects --------------------------------------------------------------------------

    /// `POST /v3/projects`
    pub async fn create_project(&self, project: ProjectCreate) -> Result<Project> {
        let r: ProjectResponse = self
            .send(Method::POST, "/projects", &ProjectCreateRequest { project })
            .await?;
        Ok(r.project)
    }

    /// `GET /v3/projects/{id}`
    pub async fn get_project(&self, id: &str) -> Result<Project> {
        let r: ProjectResponse = self.get_item("projects", id).await?;
        Ok(r.project)
    }

    /// `PATCH /v3/projects/{id}`
    pub async fn update_project(&self, id: &str, update: ProjectUpdate) -> Result<Project> {
        let body = ProjectUpdateRequest { project: update };
        let r: ProjectResponse = self.patch_item("projects", id, &body).await?;
        Ok(r.project)
    }

    /// `GET /v3/projects?name=&domain_id=`
    pub async fn list_projects(
        &self,
        name: Option<&str>,
        domain_id: Option<&str>,
    ) -> Result<Vec<Project>> {
        let q = query_string(&[
            ("name", name.map(Into::into)),
            ("domain_id", domain_id.map(Into::into)),
        ]);
        self.list::<ProjectList>(&format!("/projects{q}")).await
    }

    /// `DELETE /v3/projects/{id}`
    pub async fn delete_project(&self, id: &str) -> Result<()> {
        self.delete_item("projects", id).await
    }

    // ----- roles, domains, regions -----------------------------------------------------------

    /// `GET /v3/roles?name=`
    pub async fn list_roles(&self, name: Option<&str>) -> Result<Vec<Role>> {
        let q = query_string(&[("name", name.map(Into::into))]);
        self.list::<RoleList>(&format!("/roles{q}")).await
    }

    /// The global role named `name`, if there is one.
    pub async fn find_role(&self, name: &str) -> Result<Option<Role>> {
        Ok(self
            .list_roles(Some(name))
            .await?
            .into_iter()
            .find(|r| r.domain_id.is_none()))
    }

    /// `POST /v3/roles`
    pub async fn create_role(&self, role: RoleCreate) -> Result<Role> {
        let r: RoleResponse = self
            .send(Method::POST, "/roles", &RoleCreateRequest { role })
            .await?;
        Ok(r.role)
    }

    /// `GET /v3/roles/{id}`
    pub async fn get_role(&self, id: &str) -> Result<Role> {
        let r: RoleResponse = self.get_item("roles", id).await?;
        Ok(r.role)
    }

    /// `PATCH /v3/roles/{id}`
    pub async fn update_role(&self, id: &str, update: RoleUpdate) -> Result<Role> {
        let body = RoleUpdateRequest { role: update };
        let r: RoleResponse = self.patch_item("roles", id, &body).await?;
        Ok(r.role)
    }

    /// `DELETE /v3/roles/{id}` (its grants go with it)
    pub async fn delete_role(&self, id: &str) -> Result<()> {
        self.delete_item("roles", id).await
    }

    /// `GET /v3/domains?name=`
    pub async fn list_domains(&self, name: Option<&str>) -> Result<Vec<Domain>> {
        let q = query_string(&[("name", name.map(Into::into))]);
        self.list::<DomainList>(&format!("/domains{q}")).await
    }

    /// `POST /v3/domains`
    pub async fn create_domain(&self, domain: DomainCreate) -> Result<Domain> {
        let r: DomainResponse = self
            .send(Method::POST, "/domains", &DomainCreateRequest { domain })
            .await?;
        Ok(r.domain)
    }

    /// `GET /v3/domains/{id}`
    pub async fn get_domain(&self, id: &str) -> Result<Domain> {
        let r: DomainResponse = self.get_item("domains", id).await?;
        Ok(r.domain)
    }

    /// `PATCH /v3/domains/{id}`
    pub async fn update_domain(&self, id: &str, update: DomainUpdate) -> Result<Domain> {
        let body = DomainUpdateRequest { domain: update };
        let r: DomainResponse = self.patch_item("domains", id, &body).await?;
        Ok(r.domain)
    }

    /// `DELETE /v3/domains/{id}`: Keystone refuses (403) while the domain is enabled; disable
    /// it first with [`Admin::update_domain`].
    pub async fn delete_domain(&self, id: &str) -> Result<()> {
        self.delete_item("domains", id).await
    }

    /// `GET /v3/regions`
    pub async fn list_regions(&self) -> Result<Vec<Region>> {
        self.list::<RegionList>("/regions").await
    }

    /// `POST /v3/regions`
    pub async fn create_region(&self, region: RegionCreate) -> Result<Region> {
        let r: RegionResponse = self
            .send(Method::POST, "/regions", &RegionCreateRequest { region })
            .await?;
        Ok(r.region)
    }

    /// `GET /v3/regions/{id}`
    pub async fn get_region(&self, id: &str) -> Result<Region> {
        let r: RegionResponse = self.get_item("regions", id).await?;
        Ok(r.region)
    }

    /// `PATCH /v3/regions/{id}`
    pub async fn update_region(&self, id: &str, update: RegionUpdate) -> Result<Region> {
        let body = RegionUpdateRequest { region: update };
        let r: RegionResponse = self.patch_item("regions", id, &body).await?;
        Ok(r.region)
    }

    /// `DELETE /v3/regions/{id}`
    pub async fn delete_region(&self, id: &str) -> Result<()> {
        self.delete_item("regions", id).await
    }

    // ----- implied roles ---------------------------------------------------------------------

    /// `PUT /v3/roles/{prior}/implies/{implied}`: whoever holds `prior` holds `implied` too
    /// (in tokens, and in effective role assignments).
    pub async fn create_implied_role(
        &self,
        prior_id: &str,
        implied_id: &str,
    ) -> Result<RoleInference<InferenceRole>> {
        let url = self.url(&implies(prior_id, implied_id)?).await?;
        let r: RoleInferenceResponse<InferenceRole> =
            self.session.request(Method::PUT, url).send_json().await?;
        Ok(r.role_inference)
    }

    /// Whether `prior` implies `implied` (`HEAD`: 204 yes, 404 no).
    pub async fn check_implied_role(&self, prior_id: &str, implied_id: &str) -> Result<bool> {
        let path = implies(prior_id, implied_id)?;
        match self.no_content(Method::HEAD, &path).await {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == crate::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// `DELETE /v3/roles/{prior}/implies/{implied}`
    pub async fn delete_implied_role(&self, prior_id: &str, implied_id: &str) -> Result<()> {
        self.no_content(Method::DELETE, &implies(prior_id, implied_id)?)
            .await
    }

    /// `GET /v3/roles/{prior}/implies`: the roles `prior` implies directly.
    pub async fn list_implied_roles(
        &self,
        prior_id: &str,
    ) -> Result<RoleInference<Vec<InferenceRole>>> {
        let path = format!("{}/implies", item("roles", prior_id)?);
        let r: RoleInferenceResponse<Vec<InferenceRole>> = self.get(&path).await?;
        Ok(r.role_inference)
    }

    /// `GET /v3/role_inferences`: every implication rule, by prior role.
    pub async fn list_role_inferences(&self) -> Result<Vec<RoleInference<Vec<InferenceRole>>>> {
        let r: RoleInferenceList = self.get("/role_inferences").await?;
        Ok(r.role_inferences)
    }

    // ----- trusts ----------------------------------------------------------------------------

    /// `POST /v3/OS-TRUST/trusts`: the session's user (the trustor) delegates roles on a
    /// project to another user (the trustee), who then authenticates with
    /// `Scope::trust(id)`.
    pub async fn create_trust(&self, trust: TrustCreate) -> Result<Trust> {
        let r: TrustResponse = self
            .send(
                Method::POST,
                "/OS-TRUST/trusts",
                &TrustCreateRequest { trust },
            )
            .await?;
        Ok(r.trust)
    }

    /// `GET /v3/OS-TRUST/trusts/{id}` (the trustor's, the trustee's or an admin's)
    pub async fn get_trust(&self, id: &str) -> Result<Trust> {
        let r: TrustResponse = self.get_item("OS-TRUST/trusts", id).await?;
        Ok(r.trust)
    }

    /// `GET /v3/OS-TRUST/trusts?trustor_user_id=&trustee_user_id=`
    pub async fn list_trusts(
        &self,
        trustor_user_id: Option<&str>,
        trustee_user_id: Option<&str>,
    ) -> Result<Vec<Trust>> {
        let q = query_string(&[
            ("trustor_user_id", trustor_user_id.map(Into::into)),
            ("trustee_user_id", trustee_user_id.map(Into::into)),
        ]);
        self.list::<TrustList>(&format!("/OS-TRUST/trusts{q}"))
            .await
    }

    /// `DELETE /v3/OS-TRUST/trusts/{id}`: the tokens issued through it stop working.
    pub async fn delete_trust(&self, id: &str) -> Result<()> {
        self.delete_item("OS-TRUST/trusts", id).await
    }

    // ----- grants and assignments ------------------------------------------------------------

    /// Grants a role to a user (`PUT`, 204).
    pub async fn grant_role(
        &self,
        target: &GrantTarget,
        user_id: &str,
        role_id: &str,
    ) -> Result<()> {
        self.no_content(Method::PUT, &target.path("users", user_id, role_id)?)
            .await
    }

    /// Whether a user holds a role directly on a target (`HEAD`: 204 yes, 404 no); a role the
    /// user holds through a group does not count (see [`Admin::check_group_role`]).
    pub async fn check_role(
        &self,
        target: &GrantTarget,
        user_id: &str,
        role_id: &str,
    ) -> Result<bool> {
        self.exists(&target.path("users", user_id, role_id)?).await
    }

    /// Revokes a user's role grant (`DELETE`, 204).
    pub async fn revoke_role(
        &self,
        target: &GrantTarget,
        user_id: &str,
        role_id: &str,
    ) -> Result<()> {
        self.no_content(Method::DELETE, &target.path("users", user_id, role_id)?)
            .await
    }

    /// Grants a role to a group (`PUT`, 204): each member holds it on the target.
    pub async fn grant_group_role(
        &self,
        target: &GrantTarget,
        group_id: &str,
        role_id: &str,
    ) -> Result<()> {
        self.no_content(Method::PUT, &target.path("groups", group_id, role_id)?)
            .await
    }

    /// Whether a group holds a role on a target (`HEAD`: 204 yes, 404 no).
    pub async fn check_group_role(
        &self,
        target: &GrantTarget,
        group_id: &str,
        role_id: &str,
    ) -> Result<bool> {
        self.exists(&target.path("groups", group_id, role_id)?)
            .await
    }

    /// Revokes a group's role grant (`DELETE`, 204).
    pub async fn revoke_group_role(
        &self,
        target: &GrantTarget,
        group_id: &str,
        role_id: &str,
    ) -> Result<()> {
        self.no_content(Method::DELETE, &target.path("groups", group_id, role_id)?)
            .await
    }

    /// `HEAD path`: `true` for 204, `false` for 404.
    async fn exists(&self, path: &str) -> Result<bool> {
        match self.no_content(Method::HEAD, path).await {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == crate::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    // ----- groups ----------------------------------------------------------------------------

    /// `POST /v3/groups`
    pub async fn create_group(&self, group: GroupCreate) -> Result<Group> {
        let r: GroupResponse = self
            .send(Method::POST, "/groups", &GroupCreateRequest { group })
            .await?;
        Ok(r.group)
    }

    /// `GET /v3/groups/{id}`
    pub async fn get_group(&self, id: &str) -> Result<Group> {
        let r: GroupResponse = self.get_item("groups", id).await?;
        Ok(r.group)
    }

    /// `PATCH /v3/groups/{id}`: name and description (Keystone refuses another domain).
    pub async fn update_group(&self, id: &str, update: GroupUpdate) -> Result<Group> {
        let body = GroupUpdateRequest { group: update };
        let r: GroupResponse = self.patch_item("groups", id, &body).await?;
        Ok(r.group)
    }

    /// `GET /v3/groups?name=&domain_id=`
    pub async fn list_groups(
        &self,
        name: Option<&str>,
        domain_id: Option<&str>,
    ) -> Result<Vec<Group>> {
        let q = query_string(&[
            ("name", name.map(Into::into)),
            ("domain_id", domain_id.map(Into::into)),
        ]);
        self.list::<GroupList>(&format!("/groups{q}")).await
    }

    /// `DELETE /v3/groups/{id}`: its grants and memberships go too (and, when it held roles,
    /// its members' tokens are revoked).
    pub async fn delete_group(&self, id: &str) -> Result<()> {
        self.delete_item("groups", id).await
    }

    /// `PUT /v3/groups/{group}/users/{user}` (204; adding a member twice is not an error).
    pub async fn add_user_to_group(&self, group_id: &str, user_id: &str) -> Result<()> {
        self.no_content(Method::PUT, &membership(group_id, user_id)?)
            .await
    }

    /// Whether a user is a member of a group (`HEAD`: 204 yes, 404 no, as for an unknown
    /// user or group).
    pub async fn check_user_in_group(&self, group_id: &str, user_id: &str) -> Result<bool> {
        self.exists(&membership(group_id, user_id)?).await
    }

    /// `DELETE /v3/groups/{group}/users/{user}`: the user's tokens are revoked.
    pub async fn remove_user_from_group(&self, group_id: &str, user_id: &str) -> Result<()> {
        self.no_content(Method::DELETE, &membership(group_id, user_id)?)
            .await
    }

    /// `GET /v3/groups/{id}/users`: the group's members.
    pub async fn list_group_users(&self, group_id: &str) -> Result<Vec<User>> {
        self.list::<UserList>(&format!("{}/users", item("groups", group_id)?))
            .await
    }

    /// `GET /v3/users/{id}/groups`: the groups a user is a member of.
    pub async fn list_user_groups(&self, user_id: &str) -> Result<Vec<UserGroup>> {
        self.list::<UserGroupList>(&user_collection(user_id, "groups")?)
            .await
    }

    /// `GET /v3/role_assignments` with filters.
    pub async fn list_role_assignments(
        &self,
        query: &RoleAssignmentQuery,
    ) -> Result<Vec<RoleAssignment>> {
        let flag = |b: bool| b.then(|| "true".to_owned());
        let q = query_string(&[
            ("user.id", query.user_id.clone()),
            ("group.id", query.group_id.clone()),
            ("scope.project.id", query.project_id.clone()),
            ("scope.domain.id", query.domain_id.clone()),
            ("scope.system", query.system.then(|| "all".to_owned())),
            ("role.id", query.role_id.clone()),
            ("include_names", flag(query.include_names)),
            ("effective", flag(query.effective)),
            ("include_subtree", flag(query.include_subtree)),
            (
                "scope.OS-INHERIT:inherited_to",
                query.inherited_only.then(|| "projects".to_owned()),
            ),
        ]);
        self.list::<RoleAssignmentList>(&format!("/role_assignments{q}"))
            .await
    }

    // ----- application credentials -----------------------------------------------------------

    /// `POST /v3/users/{user}/application_credentials`: the answer is the only one that shows
    /// the secret.
    pub async fn create_application_credential(
        &self,
        user_id: &str,
        credential: ApplicationCredentialCreate,
    ) -> Result<ApplicationCredential> {
        let r: ApplicationCredentialResponse = self
            .send(
                Method::POST,
                &app_creds(user_id)?,
                &ApplicationCredentialCreateRequest {
                    application_credential: credential,
                },
            )
            .await?;
        Ok(r.application_credential)
    }

    /// `GET /v3/users/{user}/application_credentials`
    pub async fn list_application_credentials(
        &self,
        user_id: &str,
    ) -> Result<Vec<ApplicationCredential>> {
        self.list::<ApplicationCredentialList>(&app_creds(user_id)?)
            .await
    }

    /// `GET /v3/users/{user}/access_rules`: the access rules of the user's application
    /// credentials, each once.
    pub async fn list_access_rules(&self, user_id: &str) -> Result<Vec<UserAccessRule>> {
        let path = user_collection(user_id, "access_rules")?;
        self.list::<AccessRuleList>(&path).await
    }

    /// `GET /v3/users/{user}/access_rules/{id}`
    pub async fn get_access_rule(&self, user_id: &str, id: &str) -> Result<UserAccessRule> {
        let path = format!(
            "{}/{}",
            user_collection(user_id, "access_rules")?,
            segment(id)?
        );
        let r: AccessRuleResponse = self.get(&path).await?;
        Ok(r.access_rule)
    }

    /// `DELETE /v3/users/{user}/access_rules/{id}`: Keystone refuses (403) while an application
    /// credential still uses the rule.
    pub async fn delete_access_rule(&self, user_id: &str, id: &str) -> Result<()> {
        let path = format!(
            "{}/{}",
            user_collection(user_id, "access_rules")?,
            segment(id)?
        );
        self.no_content(Method::DELETE, &path).await
    }

    /// `POST /v3/users/{user}/password`: a user changes their own password. The original
    /// password authenticates the change, so the request carries no token (this session's
    /// credentials are not used); Keystone answers 401 when it is wrong, and revokes the
    /// user's tokens when it is right.
    pub async fn change_password(
        &self,
        user_id: &str,
        original_password: impl Into<Secret>,
        password: impl Into<Secret>,
    ) -> Result<()> {
        let url = self
            .url(&format!("{}/password", item("users", user_id)?))
            .await?;
        let body = PasswordChangeRequest {
            user: PasswordChange {
                original_password: original_password.into(),
                password: password.into(),
            },
        };
        self.session
            .request(Method::POST, url)
            .unauthenticated()
            .json(&body)
            .send_ok()
            .await
            .map(drop)
    }

    /// `DELETE /v3/users/{user}/application_credentials/{id}`
    pub async fn delete_application_credential(&self, user_id: &str, id: &str) -> Result<()> {
        let path = format!("{}/{}", app_creds(user_id)?, segment(id)?);
        self.no_content(Method::DELETE, &path).await
    }
}
