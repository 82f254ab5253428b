//! The fake's data: what Keystone keeps in its database, in memory, and the rules that issue,
//! validate and revoke tokens.
//!
//! Everything that both the HTTP API and the Rust seeding API change goes through [`Store`], so
//! the two cannot disagree.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use base64::Engine;
use chrono::{DateTime, Duration, DurationRound, Utc};
use keystone_types::Secret;
use keystone_types::auth::{AuthRequest, DomainRef, Scope, UserRef};
use keystone_types::token::{
    CatalogEndpoint, CatalogService, NamedRef, ProjectInfo, RoleRef, Token,
    TokenApplicationCredential, TokenUser,
};
use keystone_types::{Timestamp, auth::SystemScope};
use rand::RngCore;

use crate::error::ApiError;

/// A fresh Keystone-style id: 32 hex digits.
pub(crate) fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// A fresh token string, shaped like a Fernet token.
fn new_token_string() -> String {
    let mut bytes = [0u8; 96];
    rand::rng().fill_bytes(&mut bytes);
    format!(
        "gAAAAAB{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// A fresh audit id: 16 random bytes, URL-safe base64, as Keystone makes them.
fn new_audit_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A domain.
#[derive(Debug, Clone)]
pub struct DomainRec {
    /// Id, such as `default`.
    pub id: String,
    /// Name, such as `Default`.
    pub name: String,
    /// Free text.
    pub description: String,
    /// Disabled domains' users cannot authenticate.
    pub enabled: bool,
    /// Tags.
    pub tags: Vec<String>,
}

/// A project.
#[derive(Debug, Clone)]
pub struct ProjectRec {
    /// Id.
    pub id: String,
    /// Name, unique in its domain.
    pub name: String,
    /// Owning domain.
    pub domain_id: String,
    /// Free text.
    pub description: String,
    /// Disabled projects cannot be scoped to.
    pub enabled: bool,
    /// Parent project, or the domain.
    pub parent_id: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
}

/// A user.
#[derive(Debug, Clone)]
pub struct UserRec {
    /// Id.
    pub id: String,
    /// Name, unique in its domain.
    pub name: String,
    /// Owning domain.
    pub domain_id: String,
    /// Password; without one the password method fails.
    pub password: Option<Secret>,
    /// E-mail address.
    pub email: Option<String>,
    /// Free text.
    pub description: Option<String>,
    /// Project scoped to when a token request names none.
    pub default_project_id: Option<String>,
    /// Disabled users cannot authenticate.
    pub enabled: bool,
}

/// A role.
#[derive(Debug, Clone)]
pub struct RoleRec {
    /// Id.
    pub id: String,
    /// Name, such as `member`.
    pub name: String,
    /// Set for domain-specific roles.
    pub domain_id: Option<String>,
    /// Free text.
    pub description: Option<String>,
    /// The bootstrap roles are immutable.
    pub immutable: bool,
}

/// Where a grant applies.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    /// A project, by id.
    Project(String),
    /// A domain, by id.
    Domain(String),
    /// The whole system.
    System,
}

/// A role granted to a user on a target.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Grant {
    /// The user.
    pub user_id: String,
    /// Where.
    pub target: Target,
    /// The role.
    pub role_id: String,
}

/// A catalog service.
#[derive(Debug, Clone)]
pub struct ServiceRec {
    /// Id.
    pub id: String,
    /// Service type.
    pub kind: String,
    /// Name.
    pub name: Option<String>,
    /// Free text.
    pub description: Option<String>,
    /// Disabled services are left out of catalogs.
    pub enabled: bool,
}

/// An endpoint.
#[derive(Debug, Clone)]
pub struct EndpointRec {
    /// Id.
    pub id: String,
    /// Owning service.
    pub service_id: String,
    /// `public`, `internal` or `admin`.
    pub interface: String,
    /// URL.
    pub url: String,
    /// Region.
    pub region_id: Option<String>,
    /// Disabled endpoints are left out of catalogs.
    pub enabled: bool,
}

/// A region.
#[derive(Debug, Clone)]
pub struct RegionRec {
    /// Id, such as `RegionOne`.
    pub id: String,
    /// Free text.
    pub description: String,
    /// Parent region.
    pub parent_region_id: Option<String>,
}

/// An application credential.
#[derive(Debug, Clone)]
pub struct AppCredRec {
    /// Id.
    pub id: String,
    /// Name, unique for its user.
    pub name: String,
    /// Owner.
    pub user_id: String,
    /// The project it is scoped to.
    pub project_id: String,
    /// The secret.
    pub secret: Secret,
    /// The roles it carries.
    pub role_ids: Vec<String>,
    /// Free text.
    pub description: Option<String>,
    /// Expiry, as written at creation.
    pub expires_at: Option<String>,
    /// Whether it may create further credentials.
    pub unrestricted: bool,
    /// The requests it is limited to (none: not limited).
    pub access_rules: Vec<keystone_types::token::AccessRule>,
}

/// What a token is scoped to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenScope {
    /// No scope.
    Unscoped,
    /// A project, by id.
    Project(String),
    /// A domain, by id.
    Domain(String),
    /// The system.
    System,
}

/// An issued token.
#[derive(Debug, Clone)]
pub struct TokenRec {
    /// Owner.
    pub user_id: String,
    /// Scope.
    pub scope: TokenScope,
    /// Methods used to obtain it.
    pub methods: Vec<String>,
    /// Its audit id followed by its parent's.
    pub audit_ids: Vec<String>,
    /// Issue time.
    pub issued_at: DateTime<Utc>,
    /// Expiry time.
    pub expires_at: DateTime<Utc>,
    /// The application credential it came from.
    pub app_cred_id: Option<String>,
}

/// Why a token does not validate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenProblem {
    /// Never issued by this fake.
    Unknown,
    /// Revoked, or its user, project or roles went away.
    Invalid,
    /// Past its expiry.
    Expired,
}

/// How long an expired token may still be validated with `allow_expired` (Keystone's default
/// `allow_expired_window` is 48 hours).
const ALLOW_EXPIRED_WINDOW_HOURS: i64 = 48;

/// The fake's whole database.
#[derive(Debug, Default)]
pub struct Store {
    pub(crate) domains: BTreeMap<String, DomainRec>,
    pub(crate) projects: BTreeMap<String, ProjectRec>,
    pub(crate) users: BTreeMap<String, UserRec>,
    pub(crate) roles: BTreeMap<String, RoleRec>,
    /// (prior role id, implied role id)
    pub(crate) implied: BTreeSet<(String, String)>,
    pub(crate) grants: BTreeSet<Grant>,
    pub(crate) services: BTreeMap<String, ServiceRec>,
    pub(crate) endpoints: BTreeMap<String, EndpointRec>,
    pub(crate) regions: BTreeMap<String, RegionRec>,
    pub(crate) app_creds: BTreeMap<String, AppCredRec>,
    pub(crate) tokens: HashMap<String, TokenRec>,
    pub(crate) revoked_audit_ids: HashSet<String>,
}

impl Store {
    // ----- lookups -------------------------------------------------------------------------

    /// A domain by id or, failing that, by name.
    pub fn find_domain(&self, r: &DomainRef) -> Option<&DomainRec> {
        match (&r.id, &r.name) {
            (Some(id), _) => self.domains.get(id),
            (None, Some(name)) => self.domains.values().find(|d| &d.name == name),
            (None, None) => None,
        }
    }

    /// A user by id, or by name within a domain.
    pub fn find_user(
        &self,
        id: Option<&str>,
        name: Option<&str>,
        domain: Option<&DomainRef>,
    ) -> Option<&UserRec> {
        if let Some(id) = id {
            return self.users.get(id);
        }
        let domain = self.find_domain(domain?)?;
        let name = name?;
        self.users
            .values()
            .find(|u| u.name == name && u.domain_id == domain.id)
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

    /// A role by name (global roles only).
    pub fn role_by_name(&self, name: &str) -> Option<&RoleRec> {
        self.roles
            .values()
            .find(|r| r.name == name && r.domain_id.is_none())
    }

    /// The role ids implied by `role_ids`, transitively, `role_ids` included.
    pub fn expand_implied(&self, role_ids: impl IntoIterator<Item = String>) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut todo: Vec<String> = role_ids.into_iter().collect();
        while let Some(id) = todo.pop() {
            if out.contains(&id) {
                continue;
            }
            for (prior, implied) in &self.implied {
                if prior == &id && !out.contains(implied) {
                    todo.push(implied.clone());
                }
            }
            out.push(id);
        }
        out
    }

    /// The roles granted directly to `user_id` on `target`.
    pub fn direct_roles(&self, user_id: &str, target: &Target) -> Vec<String> {
        self.grants
            .iter()
            .filter(|g| g.user_id == user_id && &g.target == target)
            .map(|g| g.role_id.clone())
            .collect()
    }

    /// The effective roles (implied ones included) of `user_id` on `target`.
    pub fn effective_roles(&self, user_id: &str, target: &Target) -> Vec<String> {
        self.expand_implied(self.direct_roles(user_id, target))
    }

    fn domain_ref(&self, id: &str) -> NamedRef {
        NamedRef {
            id: id.to_owned(),
            name: self
                .domains
                .get(id)
                .map(|d| d.name.clone())
                .unwrap_or_default(),
        }
    }

    // ----- the catalog ---------------------------------------------------------------------

    /// The catalog as tokens carry it: enabled services with their enabled endpoints.
    pub fn catalog(&self) -> Vec<CatalogService> {
        self.services
            .values()
            .filter(|s| s.enabled)
            .map(|s| CatalogService {
                endpoints: self
                    .endpoints
                    .values()
                    .filter(|e| e.enabled && e.service_id == s.id)
                    .map(|e| CatalogEndpoint {
                        id: e.id.clone(),
                        interface: e.interface.clone(),
                        region: e.region_id.clone(),
                        region_id: e.region_id.clone(),
                        url: e.url.clone(),
                    })
                    .collect(),
                id: s.id.clone(),
                name: s.name.clone().unwrap_or_default(),
                kind: s.kind.clone(),
            })
            .collect()
    }

    // ----- tokens --------------------------------------------------------------------------

    /// Authenticates a `POST /v3/auth/tokens` body. Every failure of the identity or the scope
    /// is the same 401, as in Keystone, except an unknown application credential (404); a body
    /// that names no usable method is a 400.
    pub fn authenticate(
        &mut self,
        request: &AuthRequest,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<(String, TokenRec), ApiError> {
        let identity = &request.auth.identity;
        if identity.methods.is_empty() {
            return Err(ApiError::bad_request(
                "Invalid input for field 'identity/methods': [] is too short",
            ));
        }
        let now = now.duration_trunc(Duration::seconds(1)).unwrap_or(now);
        let mut methods: Vec<String> = Vec::new();
        let mut audit_ids = vec![new_audit_id()];
        let mut expires_at = now + ttl;
        let mut user_id: Option<String> = None;
        let mut app_cred: Option<AppCredRec> = None;
        let mut inherited_scope: Option<TokenScope> = None;

        for method in &identity.methods {
            let who = match method.as_str() {
                "password" => {
                    let p = identity.password.as_ref().ok_or_else(|| {
                        ApiError::bad_request("Expecting to find password in identity.")
                    })?;
                    let u = &p.user;
                    let user = self
                        .find_user(u.id.as_deref(), u.name.as_deref(), u.domain.as_ref())
                        .ok_or_else(ApiError::unauthorized)?;
                    match &user.password {
                        Some(pw) if pw == &u.password => {}
                        _ => return Err(ApiError::unauthorized()),
                    }
                    methods.push("password".to_owned());
                    user.id.clone()
                }
                "token" => {
                    let t = identity.token.as_ref().ok_or_else(|| {
                        ApiError::bad_request("Expecting to find token in identity.")
                    })?;
                    let rec = self
                        .check_token(t.id.expose(), now, false)
                        .map_err(|_| ApiError::unauthorized())?
                        .clone();
                    for m in &rec.methods {
                        if !methods.contains(m) {
                            methods.push(m.clone());
                        }
                    }
                    methods.push("token".to_owned());
                    audit_ids.push(rec.audit_ids[0].clone());
                    expires_at = rec.expires_at;
                    if let Some(id) = &rec.app_cred_id {
                        app_cred = self.app_creds.get(id).cloned();
                        inherited_scope = Some(rec.scope.clone());
                    }
                    rec.user_id
                }
                "application_credential" => {
                    let a = identity.application_credential.as_ref().ok_or_else(|| {
                        ApiError::bad_request(
                            "Expecting to find application_credential in identity.",
                        )
                    })?;
                    let cred = match (&a.id, &a.name) {
                        (Some(id), _) => self.app_creds.get(id),
                        (None, Some(name)) => {
                            let owner = a.user.as_ref().unwrap_or(&EMPTY_USER);
                            let user = self
                                .find_user(
                                    owner.id.as_deref(),
                                    owner.name.as_deref(),
                                    owner.domain.as_ref(),
                                )
                                .ok_or_else(ApiError::unauthorized)?;
                            self.app_creds
                                .values()
                                .find(|c| &c.name == name && c.user_id == user.id)
                        }
                        (None, None) => None,
                    }
                    // Keystone answers 404 for a credential it does not know (a wrong secret
                    // is a 401): seen against Keystone 30.0.0 in `cargo xtask conformance`
                    .ok_or_else(|| {
                        ApiError::not_found(
                            "Application Credential",
                            a.id.as_deref().or(a.name.as_deref()).unwrap_or(""),
                        )
                    })?;
                    if cred.secret != a.secret {
                        return Err(ApiError::unauthorized());
                    }
                    if let Some(exp) = cred.expires_at.as_deref().and_then(Timestamp::parse)
                        && exp.0 <= now
                    {
                        return Err(ApiError::unauthorized());
                    }
                    methods.push("application_credential".to_owned());
                    app_cred = Some(cred.clone());
                    cred.user_id.clone()
                }
                other => {
                    return Err(ApiError::new(
                        axum::http::StatusCode::UNAUTHORIZED,
                        format!("Attempted to authenticate with an unsupported method: {other}"),
                    ));
                }
            };
            match &user_id {
                Some(existing) if existing != &who => return Err(ApiError::unauthorized()),
                _ => user_id = Some(who),
            }
        }
        let user_id = user_id.ok_or_else(ApiError::unauthorized)?;
        let user = self
            .users
            .get(&user_id)
            .ok_or_else(ApiError::unauthorized)?;
        if !user.enabled || !self.domains.get(&user.domain_id).is_some_and(|d| d.enabled) {
            return Err(ApiError::unauthorized());
        }

        let scope = match (&app_cred, &request.auth.scope) {
            (Some(cred), None) => TokenScope::Project(cred.project_id.clone()),
            (Some(cred), Some(Scope::Project(p)))
                if self
                    .find_project(p.id.as_deref(), p.name.as_deref(), p.domain.as_ref())
                    .is_some_and(|found| found.id == cred.project_id) =>
            {
                TokenScope::Project(cred.project_id.clone())
            }
            (Some(_), Some(_)) => return Err(ApiError::unauthorized()),
            (None, None) => match inherited_scope {
                Some(s) => s,
                None => match &user.default_project_id {
                    Some(p) if self.projects.contains_key(p) => TokenScope::Project(p.clone()),
                    _ => TokenScope::Unscoped,
                },
            },
            (None, Some(Scope::Unscoped)) => TokenScope::Unscoped,
            (None, Some(Scope::System(SystemScope { all: true }))) => TokenScope::System,
            (None, Some(Scope::System(_))) => return Err(ApiError::unauthorized()),
            (None, Some(Scope::Project(p))) => TokenScope::Project(
                self.find_project(p.id.as_deref(), p.name.as_deref(), p.domain.as_ref())
                    .ok_or_else(ApiError::unauthorized)?
                    .id
                    .clone(),
            ),
            (None, Some(Scope::Domain(d))) => TokenScope::Domain(
                self.find_domain(d)
                    .ok_or_else(ApiError::unauthorized)?
                    .id
                    .clone(),
            ),
        };
        let rec = TokenRec {
            user_id,
            scope,
            methods,
            audit_ids,
            issued_at: now,
            expires_at,
            app_cred_id: app_cred.map(|c| c.id),
        };
        // A scope the user holds no role on is refused, like an unusable token.
        self.token_body(&rec, false)
            .map_err(|_| ApiError::unauthorized())?;
        let token = new_token_string();
        self.tokens.insert(token.clone(), rec.clone());
        Ok((token, rec))
    }

    /// Looks a token up and checks that it is still good.
    pub fn check_token(
        &self,
        token: &str,
        now: DateTime<Utc>,
        allow_expired: bool,
    ) -> Result<&TokenRec, TokenProblem> {
        let rec = self.tokens.get(token).ok_or(TokenProblem::Unknown)?;
        if rec
            .audit_ids
            .iter()
            .any(|a| self.revoked_audit_ids.contains(a))
        {
            return Err(TokenProblem::Invalid);
        }
        let limit = if allow_expired {
            rec.expires_at + Duration::hours(ALLOW_EXPIRED_WINDOW_HOURS)
        } else {
            rec.expires_at
        };
        if now >= limit {
            return Err(TokenProblem::Expired);
        }
        self.token_body(rec, false)
            .map_err(|_| TokenProblem::Invalid)?;
        Ok(rec)
    }

    /// Whether the token comes from an application credential with access rules: Keystone
    /// then validates it only for a validator that enforces them
    /// (`OpenStack-Identity-Access-Rules`), and answers 404 to any other.
    pub fn has_access_rules(&self, rec: &TokenRec) -> bool {
        rec.app_cred_id
            .as_ref()
            .and_then(|id| self.app_creds.get(id))
            .is_some_and(|c| !c.access_rules.is_empty())
    }

    /// Revokes a token and every token derived from it.
    pub fn revoke(&mut self, token: &str) -> bool {
        match self.tokens.get(token) {
            Some(rec) => {
                let audit = rec.audit_ids[0].clone();
                self.revoked_audit_ids.insert(audit);
                true
            }
            None => false,
        }
    }

    /// The token body Keystone would answer for `rec`, computed from the current data: a
    /// token whose user, project or roles went away no longer has a body.
    pub fn token_body(&self, rec: &TokenRec, with_catalog: bool) -> Result<Token, TokenProblem> {
        let user = self.users.get(&rec.user_id).ok_or(TokenProblem::Invalid)?;
        if !user.enabled {
            return Err(TokenProblem::Invalid);
        }
        let mut token = Token {
            audit_ids: rec.audit_ids.clone(),
            catalog: None,
            expires_at: Timestamp(rec.expires_at),
            issued_at: Timestamp(rec.issued_at),
            is_domain: None,
            is_admin_project: None,
            methods: rec.methods.clone(),
            project: None,
            domain: None,
            system: None,
            roles: None,
            user: TokenUser {
                domain: self.domain_ref(&user.domain_id),
                id: user.id.clone(),
                name: user.name.clone(),
                password_expires_at: None,
            },
            application_credential: None,
        };
        let target = match &rec.scope {
            TokenScope::Unscoped => return Ok(token),
            TokenScope::Project(id) => {
                let p = self.projects.get(id).ok_or(TokenProblem::Invalid)?;
                if !p.enabled {
                    return Err(TokenProblem::Invalid);
                }
                token.is_domain = Some(false);
                token.project = Some(ProjectInfo {
                    domain: self.domain_ref(&p.domain_id),
                    id: p.id.clone(),
                    name: p.name.clone(),
                });
                Target::Project(id.clone())
            }
            TokenScope::Domain(id) => {
                let d = self.domains.get(id).ok_or(TokenProblem::Invalid)?;
                if !d.enabled {
                    return Err(TokenProblem::Invalid);
                }
                token.domain = Some(self.domain_ref(id));
                Target::Domain(id.clone())
            }
            TokenScope::System => {
                token.system = Some(SystemScope { all: true });
                Target::System
            }
        };
        let mut role_ids = self.effective_roles(&rec.user_id, &target);
        if let Some(cred_id) = &rec.app_cred_id {
            let cred = self.app_creds.get(cred_id).ok_or(TokenProblem::Invalid)?;
            role_ids.retain(|r| cred.role_ids.contains(r));
            token.application_credential = Some(TokenApplicationCredential {
                id: cred.id.clone(),
                name: cred.name.clone(),
                restricted: !cred.unrestricted,
                access_rules: (!cred.access_rules.is_empty()).then(|| cred.access_rules.clone()),
            });
        }
        if role_ids.is_empty() {
            return Err(TokenProblem::Invalid);
        }
        token.roles = Some(
            role_ids
                .iter()
                .filter_map(|id| self.roles.get(id))
                .map(|r| RoleRef {
                    id: r.id.clone(),
                    name: r.name.clone(),
                    domain_id: r.domain_id.clone(),
                })
                .collect(),
        );
        if with_catalog {
            token.catalog = Some(self.catalog());
        }
        Ok(token)
    }
}

static EMPTY_USER: UserRef = UserRef {
    id: None,
    name: None,
    domain: None,
};
