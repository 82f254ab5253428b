//! The resources of the Identity v3 admin API: services, endpoints, regions, domains, projects,
//! users, groups, roles, role assignments and application credentials, with their create and update
//! bodies and the `{"x": ...}` / `{"xs": [...], "links": ...}` envelopes.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::Secret;
use crate::auth::SystemScope;
use crate::refs::NamedRef;
pub use crate::refs::SelfLink;

/// The links of a list: `self`, and `next`/`previous`. Keystone pages a list when the caller
/// asks (`?limit=`) or its `list_limit` is set: `next` then names the following page
/// (`?marker=<last id>&limit=`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Links {
    /// The next page.
    pub next: Option<String>,
    /// The previous page.
    pub previous: Option<String>,
    /// This list's URL, query included.
    #[serde(rename = "self")]
    pub self_link: String,
}

/// Declares `{"<key>": T}` envelopes.
macro_rules! envelope {
    ($(#[$doc:meta] $name:ident { $key:ident: $ty:ty })*) => {$(
        #[$doc]
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        pub struct $name {
            /// The enveloped value.
            pub $key: $ty,
        }
    )*};
}

/// Declares `{"<key>": [T], "links": {...}}` list envelopes.
macro_rules! list_envelope {
    ($(#[$doc:meta] $name:ident { $key:ident: $ty:ty })*) => {$(
        #[$doc]
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        pub struct $name {
            /// The listed values.
            pub $key: Vec<$ty>,
            /// The list's links.
            pub links: Links,
        }

        impl ListPage for $name {
            type Item = $ty;

            fn into_page(self) -> (Vec<$ty>, Option<String>) {
                (self.$key, self.links.next)
            }
        }
    )*};
}

/// A page of a list: its values, and the URL of the next page when there is one.
pub trait ListPage {
    /// What the list holds.
    type Item;

    /// The values and the next page's URL.
    fn into_page(self) -> (Vec<Self::Item>, Option<String>);
}

envelope! {
    /// `{"service": ...}`
    ServiceResponse { service: Service }
    /// `{"service": ...}` in a create request.
    ServiceCreateRequest { service: ServiceCreate }
    /// `{"service": ...}` in an update request.
    ServiceUpdateRequest { service: ServiceUpdate }
    /// `{"endpoint": ...}`
    EndpointResponse { endpoint: Endpoint }
    /// `{"endpoint": ...}` in a create request.
    EndpointCreateRequest { endpoint: EndpointCreate }
    /// `{"endpoint": ...}` in an update request.
    EndpointUpdateRequest { endpoint: EndpointUpdate }
    /// `{"region": ...}`
    RegionResponse { region: Region }
    /// `{"region": ...}` in a create request.
    RegionCreateRequest { region: RegionCreate }
    /// `{"region": ...}` in an update request.
    RegionUpdateRequest { region: RegionUpdate }
    /// `{"domain": ...}`
    DomainResponse { domain: Domain }
    /// `{"domain": ...}` in a create request.
    DomainCreateRequest { domain: DomainCreate }
    /// `{"domain": ...}` in an update request.
    DomainUpdateRequest { domain: DomainUpdate }
    /// `{"project": ...}`
    ProjectResponse { project: Project }
    /// `{"project": ...}` in a create request.
    ProjectCreateRequest { project: ProjectCreate }
    /// `{"project": ...}` in an update request.
    ProjectUpdateRequest { project: ProjectUpdate }
    /// `{"user": ...}`
    UserResponse { user: User }
    /// `{"user": ...}` in a create request.
    UserCreateRequest { user: UserCreate }
    /// `{"user": ...}` in an update request.
    UserUpdateRequest { user: UserUpdate }
    /// `{"group": ...}`
    GroupResponse { group: Group }
    /// `{"group": ...}` in a create request.
    GroupCreateRequest { group: GroupCreate }
    /// `{"group": ...}` in an update request.
    GroupUpdateRequest { group: GroupUpdate }
    /// `{"role": ...}`
    RoleResponse { role: Role }
    /// `{"role": ...}` in a create request.
    RoleCreateRequest { role: RoleCreate }
    /// `{"role": ...}` in an update request.
    RoleUpdateRequest { role: RoleUpdate }
    /// `{"application_credential": ...}`
    ApplicationCredentialResponse { application_credential: ApplicationCredential }
    /// `{"application_credential": ...}` in a create request.
    ApplicationCredentialCreateRequest { application_credential: ApplicationCredentialCreate }
    /// `{"credential": ...}`
    CredentialResponse { credential: Credential }
    /// `{"credential": ...}` of OS-EC2
    Ec2CredentialResponse { credential: Ec2Credential }
    /// `{"policy": ...}`
    PolicyResponse { policy: Policy }
    /// `{"consumer": ...}` (OS-OAUTH1)
    ConsumerResponse { consumer: Consumer }
    /// `{"endpoint_group": ...}` (OS-EP-FILTER)
    EndpointGroupResponse { endpoint_group: EndpointGroup }
    /// `{"project_endpoint_group": ...}` (OS-EP-FILTER)
    ProjectEndpointGroupResponse { project_endpoint_group: ProjectEndpointGroup }
    /// `{"config": {group: {option: value}}}` of a domain's configuration (or `{option: value}`)
    DomainConfigResponse { config: Map<String, Value> }
    /// `{"identity_provider": ...}`
    IdentityProviderResponse { identity_provider: IdentityProvider }
    /// `{"protocol": ...}`
    ProtocolResponse { protocol: FederationProtocol }
    /// `{"mapping": ...}`
    MappingResponse { mapping: Mapping }
    /// `{"service_provider": ...}`
    ServiceProviderResponse { service_provider: ServiceProvider }
}

list_envelope! {
    /// `GET /v3/services`
    ServiceList { services: Service }
    /// `GET /v3/endpoints`
    EndpointList { endpoints: Endpoint }
    /// `GET /v3/regions`
    RegionList { regions: Region }
    /// `GET /v3/domains` and `GET /v3/auth/domains`
    DomainList { domains: Domain }
    /// `GET /v3/projects` and `GET /v3/auth/projects`
    ProjectList { projects: Project }
    /// `GET /v3/users` and `GET /v3/groups/{id}/users`
    UserList { users: User }
    /// `GET /v3/groups`
    GroupList { groups: Group }
    /// `GET /v3/users/{id}/groups`
    UserGroupList { groups: UserGroup }
    /// `GET /v3/roles` and the role lists of grants
    RoleList { roles: Role }
    /// `GET /v3/role_assignments`
    RoleAssignmentList { role_assignments: RoleAssignment }
    /// `GET /v3/users/{id}/application_credentials`
    ApplicationCredentialList { application_credentials: ApplicationCredential }
    /// `GET /v3/OS-EP-FILTER/endpoint_groups` and a project's endpoint groups
    EndpointGroupList { endpoint_groups: EndpointGroup }
    /// `GET /v3/users/{id}/access_rules`
    AccessRuleList { access_rules: UserAccessRule }
    /// `GET /v3/credentials`
    CredentialList { credentials: Credential }
    /// `GET /v3/users/{id}/credentials/OS-EC2`
    Ec2CredentialList { credentials: Ec2Credential }
    /// `GET /v3/policies`
    PolicyList { policies: Policy }
    /// `GET /v3/OS-OAUTH1/consumers`
    ConsumerList { consumers: Consumer }
    /// `GET /v3/OS-FEDERATION/identity_providers`
    IdentityProviderList { identity_providers: IdentityProvider }
    /// `GET /v3/OS-FEDERATION/identity_providers/{id}/protocols`
    ProtocolList { protocols: FederationProtocol }
    /// `GET /v3/OS-FEDERATION/mappings`
    MappingList { mappings: Mapping }
    /// `GET /v3/OS-FEDERATION/service_providers`
    ServiceProviderList { service_providers: ServiceProvider }
    /// `GET /v3/OS-TRUST/trusts`
    TrustList { trusts: Trust }
}

envelope! {
    /// `{"access_rule": ...}`: `GET /v3/users/{id}/access_rules/{rule_id}`
    AccessRuleResponse { access_rule: UserAccessRule }
    /// `{"user": ...}` in `POST /v3/users/{id}/password`.
    PasswordChangeRequest { user: PasswordChange }
    /// `{"trust": ...}`
    TrustResponse { trust: Trust }
    /// `{"trust": ...}` in a create request.
    TrustCreateRequest { trust: TrustCreate }
}

/// A user changing their own password: the body of `POST /v3/users/{id}/password`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PasswordChange {
    /// The password in use, which authenticates the change.
    pub original_password: Secret,
    /// The new password.
    pub password: Secret,
}

/// A service in the catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Service {
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Disabled services are left out of token catalogs.
    pub enabled: bool,
    /// The service's id.
    pub id: String,
    /// The `self` link.
    pub links: SelfLink,
    /// The service's name, such as `keystone`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The service type, such as `identity`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// The body of `POST /v3/services`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceCreate {
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Defaults to `true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// The service's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The service type (required).
    #[serde(rename = "type")]
    pub kind: String,
}

/// The body of `PATCH /v3/services/{id}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceUpdate {
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Enables or disables the service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// The service's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The service type.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// An endpoint of a service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Endpoint {
    /// Disabled endpoints are left out of token catalogs.
    pub enabled: bool,
    /// The endpoint's id.
    pub id: String,
    /// `public`, `internal` or `admin`.
    pub interface: String,
    /// The `self` link.
    pub links: SelfLink,
    /// The region's id (older spelling); `null` without a region.
    pub region: Option<String>,
    /// The region's id; `null` without a region.
    pub region_id: Option<String>,
    /// The service this endpoint belongs to.
    pub service_id: String,
    /// The endpoint's URL.
    pub url: String,
}

/// The body of `POST /v3/endpoints`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EndpointCreate {
    /// Defaults to `true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// `public`, `internal` or `admin`.
    pub interface: String,
    /// The region's id (older spelling).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The region's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region_id: Option<String>,
    /// The service this endpoint belongs to.
    pub service_id: String,
    /// The endpoint's URL.
    pub url: String,
}

/// The body of `PATCH /v3/endpoints/{id}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EndpointUpdate {
    /// Enables or disables the endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// The legacy name of `region_id` (Keystone creates the region when it is missing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// `public`, `internal` or `admin`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    /// The region's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region_id: Option<String>,
    /// The service this endpoint belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_id: Option<String>,
    /// The endpoint's URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// A region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Region {
    /// Free text (Keystone writes `""` when unset).
    pub description: String,
    /// The region's id, such as `RegionOne`.
    pub id: String,
    /// The `self` link.
    pub links: SelfLink,
    /// The parent region; `null` for a top-level region.
    pub parent_region_id: Option<String>,
}

/// The body of `POST /v3/regions`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RegionCreate {
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The id to use; Keystone makes one up when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The parent region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_region_id: Option<String>,
}

/// The body of `PATCH /v3/regions/{id}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RegionUpdate {
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The parent region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_region_id: Option<String>,
}

/// A domain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Domain {
    /// Free text.
    pub description: String,
    /// Users of a disabled domain cannot authenticate.
    pub enabled: bool,
    /// The domain's id, such as `default`.
    pub id: String,
    /// The `self` link.
    pub links: SelfLink,
    /// The domain's name, such as `Default`.
    pub name: String,
    /// Resource options.
    pub options: Map<String, Value>,
    /// Tags.
    pub tags: Vec<String>,
}

/// The body of `POST /v3/domains`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DomainCreate {
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Defaults to `true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// The domain's name (required).
    pub name: String,
    /// Tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
}

/// The body of `PATCH /v3/domains/{id}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DomainUpdate {
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Enables or disables the domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// The domain's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
}

/// A project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Project {
    /// Free text.
    pub description: String,
    /// The owning domain (`null` for a domain shown as a project).
    pub domain_id: Option<String>,
    /// Disabled projects cannot be scoped to.
    pub enabled: bool,
    /// The project's id.
    pub id: String,
    /// Whether this project is a domain.
    pub is_domain: bool,
    /// The `self` link.
    pub links: SelfLink,
    /// The project's name, unique within its domain.
    pub name: String,
    /// Resource options.
    pub options: Map<String, Value>,
    /// The parent project, or the domain for a top-level project.
    pub parent_id: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// The extra attributes, as Keystone shows them in the answer to an update only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra: Option<Map<String, Value>>,
    /// Attributes Keystone does not know, as it shows them.
    #[serde(flatten, default)]
    pub attributes: Map<String, Value>,
}

/// The body of `POST /v3/projects`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProjectCreate {
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The owning domain; defaults to the domain of the caller's token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain_id: Option<String>,
    /// Defaults to `true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Whether the project is a domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_domain: Option<bool>,
    /// The project's name (required).
    pub name: String,
    /// The parent project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    /// Tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// Attributes Keystone does not know: it keeps them, shows them, and merges them on an
    /// update.
    #[serde(flatten, default)]
    pub extra: Map<String, Value>,
}

/// A project's tags: the answer of `GET`/`PUT /v3/projects/{id}/tags`, and the body of the
/// `PUT` (without `links`). Keystone answers them sorted, except a `PUT`, which answers them
/// in the order sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProjectTags {
    /// Keystone's link is to `/v3` itself (with the request's query), not to the tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub links: Option<SelfLink>,
    /// The tags.
    pub tags: Vec<String>,
}

/// The body of `PATCH /v3/projects/{id}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProjectUpdate {
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Enables or disables the project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// The project's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// Attributes Keystone does not know: it keeps them, shows them, and merges them on an
    /// update.
    #[serde(flatten, default)]
    pub extra: Map<String, Value>,
}

/// A user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    /// The project scoped to when a token request names no scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_project_id: Option<String>,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The owning domain.
    pub domain_id: String,
    /// An e-mail address (an "extra" attribute in Keystone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Disabled users cannot authenticate.
    pub enabled: bool,
    /// The user's id.
    pub id: String,
    /// The `self` link.
    pub links: SelfLink,
    /// The user's name, unique within its domain.
    pub name: String,
    /// Resource options.
    pub options: Map<String, Value>,
    /// When the password expires; `null` when it does not.
    pub password_expires_at: Option<String>,
    /// The extra attributes, as Keystone shows them in the answer to an update only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra: Option<Map<String, Value>>,
    /// Attributes Keystone does not know, as it shows them.
    #[serde(flatten, default)]
    pub attributes: Map<String, Value>,
}

/// The body of `POST /v3/users`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UserCreate {
    /// The project scoped to when a token request names no scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_project_id: Option<String>,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The owning domain; defaults to the caller's domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain_id: Option<String>,
    /// An e-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Defaults to `true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// The user's name (required).
    pub name: String,
    /// The password; a user without one cannot use the password method.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
    /// Attributes Keystone does not know: it keeps them, shows them, and merges them on an
    /// update.
    #[serde(flatten, default)]
    pub extra: Map<String, Value>,
}

/// The body of `PATCH /v3/users/{id}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UserUpdate {
    /// The project scoped to when a token request names no scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_project_id: Option<String>,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// An e-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Enables or disables the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// The user's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A new password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
    /// Attributes Keystone does not know: it keeps them, shows them, and merges them on an
    /// update.
    #[serde(flatten, default)]
    pub extra: Map<String, Value>,
}

/// A group of users: roles granted to it apply to each of its members.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    /// Free text; Keystone stores `""` when none is given.
    #[serde(default)]
    pub description: String,
    /// The owning domain.
    pub domain_id: String,
    /// The group's id.
    pub id: String,
    /// The `self` link.
    pub links: SelfLink,
    /// The group's name, unique within its domain.
    pub name: String,
}

/// A group as `GET /v3/users/{id}/groups` lists it: with when the user's membership ends
/// (`null` for the memberships made with `PUT /v3/groups/{id}/users/{user}`, which do not).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserGroup {
    /// The group.
    #[serde(flatten)]
    pub group: Group,
    /// When the membership ends (federated users' memberships expire).
    #[serde(default)]
    pub membership_expires_at: Option<String>,
}

/// The body of `POST /v3/groups`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GroupCreate {
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The owning domain; defaults to the caller's domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain_id: Option<String>,
    /// The group's name (required).
    pub name: String,
}

/// The body of `PATCH /v3/groups/{id}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GroupUpdate {
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Keystone refuses to move a group to another domain (400); only the group's own domain
    /// is accepted here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain_id: Option<String>,
    /// The group's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Role {
    /// Free text; `null` when unset.
    pub description: Option<String>,
    /// Set for domain-specific roles; `null` for global ones.
    pub domain_id: Option<String>,
    /// The role's id.
    pub id: String,
    /// The `self` link (absent inside application credentials).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub links: Option<SelfLink>,
    /// The role's name, such as `member`.
    pub name: String,
    /// Resource options, such as `{"immutable": true}`.
    pub options: Map<String, Value>,
}

/// The body of `POST /v3/roles`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RoleCreate {
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Makes the role domain-specific.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain_id: Option<String>,
    /// The role's name (required).
    pub name: String,
}

/// The body of `PATCH /v3/roles/{id}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RoleUpdate {
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The role's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// One row of `GET /v3/role_assignments`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoleAssignment {
    /// `{"assignment": url}`: the grant's URL.
    pub links: AssignmentLinks,
    /// The role; its name is present with `include_names`.
    pub role: AssignmentActor,
    /// Where the role applies.
    pub scope: AssignmentScope,
    /// The user holding the role (absent for group grants).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<AssignmentActor>,
    /// The group holding the role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<AssignmentActor>,
}

/// The links of a role assignment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssignmentLinks {
    /// The grant's URL.
    pub assignment: String,
    /// With `effective`, the grant an assignment was derived from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prior_role: Option<String>,
    /// With `effective`, for a role a user holds through a group: the membership
    /// (`/v3/groups/{group}/users/{user}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub membership: Option<String>,
}

/// A user, group, role, project or domain in a role assignment: an id, and with
/// `include_names` its name and domain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssignmentActor {
    /// The domain, with `include_names` (for users, groups, projects and domain roles).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<NamedRef>,
    /// The id.
    pub id: String,
    /// The name, with `include_names`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// Where a role assignment applies: one of project, domain or system.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssignmentScope {
    /// A project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<AssignmentActor>,
    /// A domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<AssignmentActor>,
    /// The system.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<SystemScope>,
    /// `projects` for an OS-INHERIT grant: the role is held on every project under the domain
    /// or project, not on it.
    #[serde(
        rename = "OS-INHERIT:inherited_to",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub inherited_to: Option<String>,
}

/// An application credential.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApplicationCredential {
    /// Free text; `null` when unset.
    pub description: Option<String>,
    /// When the credential expires; `null` when it does not.
    pub expires_at: Option<String>,
    /// The credential's id.
    pub id: String,
    /// The `self` link.
    pub links: SelfLink,
    /// The credential's name, unique for its user.
    pub name: String,
    /// The project the credential is scoped to.
    pub project_id: String,
    /// The roles the credential carries.
    pub roles: Vec<Role>,
    /// The secret: present only in the response that created the credential.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<Secret>,
    /// The system scope the credential carries, if any.
    pub system: Option<Value>,
    /// Whether the credential may create further credentials and trusts.
    pub unrestricted: Option<bool>,
    /// The owner.
    pub user_id: String,
    /// The requests the credential is limited to; absent when it is not limited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_rules: Option<Vec<crate::token::AccessRule>>,
}

/// The body of `POST /v3/users/{id}/application_credentials`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ApplicationCredentialCreate {
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// When the credential expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// The credential's name (required).
    pub name: String,
    /// A subset of the token's roles, by id or name; all of them when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<RoleIdentifier>>,
    /// The secret to use; Keystone makes one up when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<Secret>,
    /// Whether the credential may create further credentials and trusts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unrestricted: Option<bool>,
    /// Limit the credential to these requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_rules: Option<Vec<crate::token::AccessRule>>,
}

/// A role named by id or by name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RoleIdentifier {
    /// The role's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The role's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A role as a role inference names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InferenceRole {
    /// The role's id.
    pub id: String,
    /// The role's `self` link.
    pub links: SelfLink,
    /// The role's name.
    pub name: String,
}

/// A prior role and what it implies: one role (`/v3/roles/{prior}/implies/{implied}`) or a
/// list (`/v3/roles/{prior}/implies`, `/v3/role_inferences`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleInference<T> {
    /// The role that implies.
    pub prior_role: InferenceRole,
    /// What it implies.
    pub implies: T,
}

/// `{"role_inference": ..., "links": {"self": ...}}`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleInferenceResponse<T> {
    /// The inference.
    pub role_inference: RoleInference<T>,
    /// The `self` link.
    pub links: SelfLink,
}

/// `{"role_inferences": [...]}`: `GET /v3/role_inferences` (which has no links).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleInferenceList {
    /// Every prior role with the roles it implies.
    pub role_inferences: Vec<RoleInference<Vec<InferenceRole>>>,
}

/// An access rule as a user's access rule routes show it: the rules of the user's application
/// credentials, each once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserAccessRule {
    /// The rule's id.
    pub id: String,
    /// The `self` link.
    pub links: SelfLink,
    /// The HTTP method, such as `GET`.
    pub method: String,
    /// The path pattern.
    pub path: String,
    /// The service type, such as `compute`.
    pub service: String,
}

/// A trust: the trustor delegates roles on a project to the trustee (`/v3/OS-TRUST/trusts`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trust {
    /// The trust's id.
    pub id: String,
    /// The user who delegates.
    pub trustor_user_id: String,
    /// The user the trust is for.
    pub trustee_user_id: String,
    /// The project the roles are delegated on; `null` for a trust without a project.
    #[serde(default)]
    pub project_id: Option<String>,
    /// Whether tokens of the trust show the trustor as their user.
    pub impersonation: bool,
    /// When the trust ends; `null` for never.
    #[serde(default)]
    pub expires_at: Option<String>,
    /// How many more tokens the trust may give; `null` for no limit.
    #[serde(default)]
    pub remaining_uses: Option<u64>,
    /// The delegated roles (a list of trusts leaves them out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<Role>>,
    /// Whether the trustee may delegate further.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_redelegation: Option<bool>,
    /// How many further delegations are allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redelegation_count: Option<u64>,
    /// The trust this one was delegated from; `null` for a first trust.
    #[serde(default)]
    pub redelegated_trust_id: Option<String>,
    /// When the trust was deleted; `null` for the trusts Keystone shows.
    #[serde(default)]
    pub deleted_at: Option<String>,
    /// The `self` link.
    pub links: SelfLink,
    /// The link to the trust's roles (a list of trusts leaves it out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles_links: Option<Links>,
    /// Attributes of the create request Keystone does not know, which it keeps and shows.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The body of `POST /v3/OS-TRUST/trusts`; the trustor must be the caller.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrustCreate {
    /// The caller's own user id.
    pub trustor_user_id: String,
    /// The user the trust is for.
    pub trustee_user_id: String,
    /// The project the roles are delegated on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    /// Whether tokens of the trust show the trustor as their user.
    pub impersonation: bool,
    /// The roles delegated (by id or name), which the trustor must hold on the project.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<RoleIdentifier>,
    /// When the trust ends (ISO 8601).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// How many tokens the trust may give.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remaining_uses: Option<u64>,
    /// Whether the trustee may delegate further.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_redelegation: Option<bool>,
    /// How many further delegations are allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redelegation_count: Option<u64>,
}

/// A stored credential (`/v3/credentials`): an opaque blob of a type, for a user. An `ec2`
/// credential's blob is JSON with `access` and `secret`, and its id is the SHA-256 of `access`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Credential {
    /// Id.
    pub id: String,
    /// Owner.
    pub user_id: String,
    /// The project it is for (`null` when none).
    pub project_id: Option<String>,
    /// Its type: `ec2`, `cert`, `totp`...
    #[serde(rename = "type")]
    pub kind: String,
    /// The blob, as stored (it may hold a secret).
    pub blob: Secret,
    /// Its own URL.
    pub links: SelfLink,
    /// Attributes Keystone does not know, kept and shown.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An EC2 credential as OS-EC2 shows it: the `ec2` credential's blob spelled out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ec2Credential {
    /// Owner.
    pub user_id: String,
    /// The project (Keystone's v2 name).
    pub tenant_id: Option<String>,
    /// The access key: the id to address it by.
    pub access: Option<String>,
    /// The secret key (shown on every read, as Keystone shows it).
    pub secret: Option<Secret>,
    /// The trust it was created under.
    pub trust_id: Option<String>,
    /// Its own URL, under the user's OS-EC2 collection.
    pub links: SelfLink,
}

/// A stored policy blob (`/v3/policies`; Keystone stores it, enforces nothing of it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    /// Id.
    pub id: String,
    /// The blob, as stored.
    pub blob: String,
    /// Its MIME type, as given.
    #[serde(rename = "type")]
    pub kind: String,
    /// Its own URL.
    pub links: SelfLink,
    /// Attributes Keystone does not know, kept and shown.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A federation identity provider (OS-FEDERATION).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdentityProvider {
    /// Id, chosen by its creator.
    pub id: String,
    /// The domain its users are created in (Keystone makes one when none is given).
    pub domain_id: String,
    /// Whether it may be used (`false` unless given).
    pub enabled: bool,
    /// Free text.
    pub description: Option<String>,
    /// The ids it is known by to the federation protocols (each unique in the cloud).
    pub remote_ids: Vec<String>,
    /// How long its users' group memberships last, in minutes.
    pub authorization_ttl: Option<i64>,
    /// Its own URL and, in lists, its protocols'.
    pub links: IdentityProviderLinks,
}

/// An identity provider's links.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityProviderLinks {
    /// Its own URL.
    #[serde(rename = "self")]
    pub self_link: String,
    /// Its protocols' URL (Keystone shows it in lists only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocols: Option<String>,
}

/// A federation protocol of an identity provider, with the mapping it applies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FederationProtocol {
    /// Id, such as `saml2` or `openid`.
    pub id: String,
    /// Its identity provider (Keystone shows it in lists only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp_id: Option<String>,
    /// The mapping it applies.
    pub mapping_id: String,
    /// The attribute naming the remote id (Keystone shows it in lists only, `null` when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_id_attribute: Option<Value>,
    /// Keystone's links, as it writes them (`/v3/protocols/{id}` and `/v3/{idp_id}`).
    pub links: ProtocolLinks,
}

/// A protocol's links.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProtocolLinks {
    /// As Keystone writes it.
    #[serde(rename = "self")]
    pub self_link: String,
    /// As Keystone writes it.
    pub identity_provider: String,
}

/// A federation mapping: the rules that turn a remote identity into a local one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mapping {
    /// Id, chosen by its creator.
    pub id: String,
    /// The rules, as given.
    pub rules: Value,
    /// The rules' schema version (`1.0` unless given).
    pub schema_version: String,
    /// Its own URL.
    pub links: SelfLink,
}

/// A federation service provider: another cloud this one's users may be sent to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceProvider {
    /// Where to get a token from it.
    pub auth_url: String,
    /// Id, chosen by its creator.
    pub id: String,
    /// Whether it is offered (`false` unless given).
    pub enabled: bool,
    /// Free text.
    pub description: Option<String>,
    /// The prefix of the relay state (`ss:mem:` unless given).
    pub relay_state_prefix: String,
    /// Its SAML endpoint.
    pub sp_url: String,
    /// Its own URL.
    pub links: SelfLink,
}

/// An endpoint group (OS-EP-FILTER): the endpoints its filters match, for the projects it is
/// associated with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointGroup {
    /// Id.
    pub id: String,
    /// Its name (not unique).
    pub name: String,
    /// Always shown: `null` when never given.
    pub description: Option<String>,
    /// What an endpoint must have to be in the group: `interface`, `service_id`, `region_id`
    /// (a string, or `null` for no region); empty matches every endpoint.
    pub filters: Map<String, Value>,
    /// Its own URL.
    pub links: SelfLink,
}

/// An endpoint group's association with a project (OS-EP-FILTER). Its `self` link is
/// Keystone's: relative, `/OS-EP-FILTER/endpoint_groups/{id}/projects/{project_id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectEndpointGroup {
    /// The endpoint group.
    pub endpoint_group_id: String,
    /// The project.
    pub project_id: String,
    /// Its link.
    pub links: SelfLink,
}

/// An OAuth1 consumer (OS-OAUTH1): an application users may delegate to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Consumer {
    /// Id.
    pub id: String,
    /// Free text (`null` when never given).
    pub description: Option<String>,
    /// Its secret: shown once, in the answer that creates it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<Secret>,
    /// Its own URL.
    pub links: SelfLink,
    /// Attributes Keystone does not know, kept and shown.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
