//! Token bodies as `POST`/`GET /v3/auth/tokens` return them, and the service catalog.

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::auth::SystemScope;
pub use crate::refs::NamedRef;
use crate::refs::SelfLink;

/// `{"token": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    /// The token's data (the token string itself travels in `X-Subject-Token`).
    pub token: Token,
}

/// What Keystone knows about a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Token {
    /// Ids shared by a token and the tokens derived from it, for auditing and revocation.
    pub audit_ids: Vec<String>,
    /// The service catalog; absent with `?nocatalog` and for unscoped tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog: Option<Vec<CatalogService>>,
    /// When the token stops being valid.
    pub expires_at: Timestamp,
    /// When the token was issued.
    pub issued_at: Timestamp,
    /// Whether the scoped project acts as a domain (project-scoped tokens only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_domain: Option<bool>,
    /// Whether the scoped project is the cloud's admin project, when Keystone says so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_admin_project: Option<bool>,
    /// The methods used to obtain the token, such as `["password", "token"]`.
    pub methods: Vec<String>,
    /// The project the token is scoped to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<ProjectInfo>,
    /// The domain the token is scoped to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<NamedRef>,
    /// `{"all": true}` for a system-scoped token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<SystemScope>,
    /// Effective roles on the scope (implied roles included); absent when unscoped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<RoleRef>>,
    /// The user the token belongs to.
    pub user: TokenUser,
    /// Present when the token came from an application credential.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_credential: Option<TokenApplicationCredential>,
    /// Present when the token is scoped to a trust.
    #[serde(
        default,
        rename = "OS-TRUST:trust",
        skip_serializing_if = "Option::is_none"
    )]
    pub trust: Option<TokenTrust>,
    /// The cloud's enabled federation service providers (Keystone adds them to every token
    /// while there is one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_providers: Option<Vec<TokenServiceProvider>>,
}

/// A federation service provider, as a token lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenServiceProvider {
    /// Where to get a token from it.
    pub auth_url: String,
    /// Its id.
    pub id: String,
    /// Its SAML endpoint.
    pub sp_url: String,
}

/// The trust a token is scoped to (`OS-TRUST:trust`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenTrust {
    /// The trust's id.
    pub id: String,
    /// The user who delegated.
    pub trustor_user: IdRef,
    /// The user the trust is for.
    pub trustee_user: IdRef,
    /// Whether the token's user is the trustor (true) or the trustee.
    pub impersonation: bool,
}

/// `{"id": ...}`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdRef {
    /// The id.
    pub id: String,
}

impl Token {
    /// Role names, in the token's order.
    pub fn role_names(&self) -> impl Iterator<Item = &str> {
        self.roles.iter().flatten().map(|r| r.name.as_str())
    }
}

/// The project a token is scoped to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectInfo {
    /// The project's domain.
    pub domain: NamedRef,
    /// The project's id.
    pub id: String,
    /// The project's name.
    pub name: String,
}

/// A role in a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleRef {
    /// The role's id.
    pub id: String,
    /// The role's name.
    pub name: String,
    /// Set for domain-specific roles only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain_id: Option<String>,
}

/// The user a token belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenUser {
    /// The user's domain.
    pub domain: NamedRef,
    /// The user's id.
    pub id: String,
    /// The user's name.
    pub name: String,
    /// When the user's password expires; `null` when it does not.
    pub password_expires_at: Option<String>,
}

/// The application credential a token came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenApplicationCredential {
    /// The credential's id.
    pub id: String,
    /// The credential's name.
    pub name: String,
    /// Whether the credential may not create further credentials or trusts.
    pub restricted: bool,
    /// The requests the credential is limited to; absent when it is not limited. Keystone
    /// shows a token with access rules only to a validator that says it enforces them
    /// (`OpenStack-Identity-Access-Rules`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_rules: Option<Vec<AccessRule>>,
}

/// One request an application credential allows: a service type, an HTTP method and a path
/// pattern (`*` is one path segment, `**` any number, `{name}` one segment).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessRule {
    /// The rule's id (Keystone assigns one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The service type, such as `compute`.
    pub service: String,
    /// The HTTP method, such as `GET`.
    pub method: String,
    /// The path pattern.
    pub path: String,
}

/// One service in the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogService {
    /// The service's endpoints.
    pub endpoints: Vec<CatalogEndpoint>,
    /// The service's id.
    pub id: String,
    /// The service's name; Keystone writes an empty string when it has none.
    #[serde(default)]
    pub name: String,
    /// The service type, such as `identity`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// One endpoint of a catalog service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogEndpoint {
    /// The endpoint's id.
    pub id: String,
    /// `public`, `internal` or `admin`.
    pub interface: String,
    /// The region's id (the older spelling); `null` when the endpoint has no region.
    pub region: Option<String>,
    /// The region's id; `null` when the endpoint has no region.
    pub region_id: Option<String>,
    /// The endpoint's URL.
    pub url: String,
}

/// `GET /v3/auth/catalog`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogResponse {
    /// The catalog of the token in `X-Auth-Token`.
    pub catalog: Vec<CatalogService>,
    /// The `self` link.
    pub links: SelfLink,
}
