//! The fake's data: what Keystone keeps in its database, in memory, and the rules that issue,
//! validate and revoke tokens.
//!
//! Everything that both the HTTP API and the Rust seeding API change goes through [`Store`], so
//! the two cannot disagree.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use base64::Engine;
use chrono::{DateTime, Duration, DurationRound, Utc};
use keystone_types::Secret;
use keystone_types::auth::{AuthRequest, DomainRef, Scope};
use keystone_types::token::{
    CatalogEndpoint, CatalogService, IdRef, NamedRef, ProjectInfo, RoleRef, Token,
    TokenApplicationCredential, TokenTrust, TokenUser,
};
use keystone_types::{Timestamp, auth::SystemScope};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::app::validation_error;
use crate::error::ApiError;

/// A fresh Keystone-style id: 32 hex digits.
pub(crate) fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// The bytes of a token string after its `gAAAAAB` prefix: the expiry (8 bytes), random
/// bytes, and a tag over both made with the store's key.
const TOKEN_BYTES: usize = 96;
const TOKEN_TAG_BYTES: usize = 32;
const TOKEN_PREFIX: &str = "gAAAAAB";

/// The key a store tags its token strings with, so that it still recognizes the tokens it
/// issued once it has forgotten them (as Keystone recognizes its expired Fernet tokens).
#[derive(Clone)]
pub(crate) struct TokenKey([u8; 32]);

impl Default for TokenKey {
    fn default() -> Self {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        TokenKey(key)
    }
}

impl TokenKey {
    fn tag(&self, body: &[u8]) -> [u8; TOKEN_TAG_BYTES] {
        let mut hasher = Sha256::new();
        hasher.update(self.0);
        hasher.update(body);
        hasher.finalize().into()
    }

    /// A fresh token string, shaped like a Fernet token.
    fn new_token(&self, expires_at: DateTime<Utc>) -> String {
        let mut bytes = [0u8; TOKEN_BYTES];
        let (body, tag) = bytes.split_at_mut(TOKEN_BYTES - TOKEN_TAG_BYTES);
        body[..8].copy_from_slice(&expires_at.timestamp().to_be_bytes());
        rand::rng().fill_bytes(&mut body[8..]);
        tag.copy_from_slice(&self.tag(body));
        format!(
            "{TOKEN_PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
        )
    }

    /// Whether `token` is one this key made.
    fn made(&self, token: &str) -> bool {
        token
            .strip_prefix(TOKEN_PREFIX)
            .and_then(|t| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(t)
                    .ok()
            })
            .filter(|b| b.len() == TOKEN_BYTES)
            .is_some_and(|b| {
                let (body, tag) = b.split_at(TOKEN_BYTES - TOKEN_TAG_BYTES);
                self.tag(body) == tag
            })
    }
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

/// A group of users.
#[derive(Debug, Clone)]
pub struct GroupRec {
    /// Id.
    pub id: String,
    /// Name, unique in its domain.
    pub name: String,
    /// Owning domain.
    pub domain_id: String,
    /// Free text (`""` when none was given, as Keystone stores it).
    pub description: String,
}

/// Who holds a grant: a user, or a group (and through it each of its members).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Actor {
    /// A user, by id.
    User(String),
    /// A group, by id.
    Group(String),
}

impl Actor {
    /// The user's or the group's id.
    pub fn id(&self) -> &str {
        match self {
            Actor::User(id) | Actor::Group(id) => id,
        }
    }

    /// `user` or `group`, as Keystone's messages name them.
    pub fn kind(&self) -> &'static str {
        match self {
            Actor::User(_) => "user",
            Actor::Group(_) => "group",
        }
    }

    /// The path segment of its grants: `users` or `groups`.
    pub fn collection(&self) -> &'static str {
        match self {
            Actor::User(_) => "users",
            Actor::Group(_) => "groups",
        }
    }
}

/// A role granted to a user or a group on a target.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Grant {
    /// The user or the group.
    pub actor: Actor,
    /// Where.
    pub target: Target,
    /// The role.
    pub role_id: String,
    /// OS-INHERIT: the role is not held on the target itself but on every project under it
    /// (a domain's projects, or a project's subprojects).
    pub inherited: bool,
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
    /// Expiry.
    pub expires_at: Option<DateTime<Utc>>,
    /// Whether it may create further credentials, as given at creation (Keystone answers
    /// `null` when it was not given).
    pub unrestricted: Option<bool>,
    /// The requests it is limited to (none: not limited): copies of its owner's rules in
    /// [`Store::access_rules`], ids included. They cannot drift apart: a rule never changes,
    /// and one a credential uses cannot be deleted.
    pub access_rules: Vec<keystone_types::token::AccessRule>,
}

/// An access rule: one request a user's application credentials may be limited to. As in
/// Keystone, rules belong to the user, are shared by the user's credentials that name the same
/// request, and outlive the credentials that used them until deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRuleRec {
    /// Id.
    pub id: String,
    /// Owner.
    pub user_id: String,
    /// The service type, such as `compute`.
    pub service: String,
    /// The HTTP method, such as `GET`.
    pub method: String,
    /// The path pattern.
    pub path: String,
}

impl AccessRuleRec {
    /// The rule as an application credential and its tokens carry it.
    pub fn rule(&self) -> keystone_types::token::AccessRule {
        keystone_types::token::AccessRule {
            id: Some(self.id.clone()),
            service: self.service.clone(),
            method: self.method.clone(),
            path: self.path.clone(),
        }
    }
}

/// A trust: the trustor delegates roles on a project to the trustee, who may then get
/// tokens scoped to the trust (`/v3/OS-TRUST/trusts`).
#[derive(Debug, Clone, PartialEq)]
pub struct TrustRec {
    /// Id.
    pub id: String,
    /// The user who delegates.
    pub trustor_user_id: String,
    /// The user the trust is for.
    pub trustee_user_id: String,
    /// The project the roles are delegated on; a trust may have none (and then no roles).
    pub project_id: Option<String>,
    /// Whether the trust's tokens show the trustor as their user.
    pub impersonation: bool,
    /// When the trust ends, to the microsecond as given.
    pub expires_at: Option<DateTime<Utc>>,
    /// How many more tokens the trust may give; `None` for no limit.
    pub remaining_uses: Option<u64>,
    /// The delegated roles, as given (the roles they imply come with them in tokens).
    pub role_ids: Vec<String>,
    /// How many times the trust may be redelegated (0 unless created with
    /// `allow_redelegation`).
    pub redelegation_count: u64,
    /// The trust this one was redelegated from.
    pub redelegated_trust_id: Option<String>,
    /// Attributes of the create request Keystone does not know, which it stores and echoes.
    pub extra: serde_json::Map<String, serde_json::Value>,
    /// Deleted trusts are kept, as Keystone keeps them (soft-deleted), because they still
    /// count for its duplicate check; nothing else sees them.
    pub deleted: bool,
}

impl TrustRec {
    /// Whether the trust can still be used at `now`, as Keystone's `get_trust` decides: not
    /// deleted, not past its expiry, and with uses left. Keystone answers every other trust
    /// with "Could not find trust" (a 404; a 401 when a token request names it).
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        !self.deleted
            && self.expires_at.is_none_or(|end| now <= end)
            && self.remaining_uses != Some(0)
    }
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
    /// The order it was issued in: revoking a user's tokens revokes those issued before.
    pub serial: u64,
    /// The trust it is scoped to; its scope is then the trust's project.
    pub trust_id: Option<String>,
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
    /// Scoped to a trust that was deleted, has expired or has no uses left: Keystone looks the
    /// trust up before anything else and answers "Could not find trust" (404).
    TrustNotFound,
    /// Scoped to a trust whose trustor is disabled or no longer holds the delegated roles:
    /// Keystone's `Forbidden` (403), when validating as when issuing.
    TrustForbidden,
}

/// How long an expired token may still be validated with `allow_expired` (Keystone's default
/// `allow_expired_window` is 48 hours).
const ALLOW_EXPIRED_WINDOW_HOURS: i64 = 48;

/// Below this many tokens, issuing one never sweeps the expired ones out.
const MIN_TOKENS_BEFORE_PURGE: usize = 256;

/// The fake's whole database.
#[derive(Default)]
pub struct Store {
    pub(crate) domains: BTreeMap<String, DomainRec>,
    pub(crate) projects: BTreeMap<String, ProjectRec>,
    pub(crate) users: BTreeMap<String, UserRec>,
    pub(crate) roles: BTreeMap<String, RoleRec>,
    /// (prior role id, implied role id), each once, in the order they were made: Keystone's SQL
    /// backend lists them so (bootstrap's first, `member` implying `reader`).
    pub(crate) implied: Vec<(String, String)>,
    pub(crate) grants: BTreeSet<Grant>,
    pub(crate) groups: BTreeMap<String, GroupRec>,
    /// Group memberships: (group id, user id).
    pub(crate) members: BTreeSet<(String, String)>,
    pub(crate) services: BTreeMap<String, ServiceRec>,
    pub(crate) endpoints: BTreeMap<String, EndpointRec>,
    pub(crate) regions: BTreeMap<String, RegionRec>,
    pub(crate) app_creds: BTreeMap<String, AppCredRec>,
    /// Users' access rules, by id.
    pub(crate) access_rules: BTreeMap<String, AccessRuleRec>,
    /// Trusts, deleted ones included, in the order they were made (Keystone lists them so).
    pub(crate) trusts: Vec<TrustRec>,
    /// Live tokens, by token string (a secret: never printed).
    pub(crate) tokens: HashMap<String, TokenRec>,
    pub(crate) revoked_audit_ids: HashSet<String>,
    /// For users whose tokens were revoked: the serial of the first token still good.
    pub(crate) user_tokens_valid_from: HashMap<String, u64>,
    /// The serial of the next token.
    next_serial: u64,
    /// The token count at which issuing sweeps out the tokens past any use.
    purge_at: usize,
    token_key: TokenKey,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // the token map is keyed by token strings: only its size is printed
        f.debug_struct("Store")
            .field("domains", &self.domains)
            .field("projects", &self.projects)
            .field("users", &self.users)
            .field("roles", &self.roles)
            .field("implied", &self.implied)
            .field("grants", &self.grants)
            .field("groups", &self.groups)
            .field("members", &self.members)
            .field("services", &self.services)
            .field("endpoints", &self.endpoints)
            .field("regions", &self.regions)
            .field("app_creds", &self.app_creds)
            .field("access_rules", &self.access_rules)
            .field("trusts", &self.trusts)
            .field("tokens", &format_args!("[{} redacted]", self.tokens.len()))
            .field("revoked_audit_ids", &self.revoked_audit_ids)
            .finish_non_exhaustive()
    }
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

    /// The roles `role_id` implies, transitively, each once, with the role that implies it
    /// directly, in the order Keystone's `add_implied_roles` finds them (the rules of a role in
    /// their order, then those of the last role found first).
    pub fn implied_with_priors(&self, role_id: &str) -> Vec<(String, String)> {
        let mut found: Vec<(String, String)> = Vec::new();
        let mut todo = vec![role_id.to_owned()];
        while let Some(prior) = todo.pop() {
            for (p, implied) in &self.implied {
                if p == &prior && implied != role_id && !found.iter().any(|(r, _)| r == implied) {
                    found.push((implied.clone(), prior.clone()));
                    todo.push(implied.clone());
                }
            }
        }
        found
    }

    /// `trust` and the trusts it was redelegated from, up to the first one, each once.
    pub fn trust_chain<'a>(&'a self, trust: &'a TrustRec) -> Vec<&'a TrustRec> {
        let mut chain = vec![trust];
        while let Some(up) = chain.last().and_then(|t| t.redelegated_trust_id.as_deref()) {
            match self.trust(up) {
                Some(t) if !chain.iter().any(|c| c.id == t.id) => chain.push(t),
                _ => break,
            }
        }
        chain
    }

    /// A trust that was not deleted (it may have expired or have no uses left).
    pub fn trust(&self, id: &str) -> Option<&TrustRec> {
        self.trusts.iter().find(|t| t.id == id && !t.deleted)
    }

    /// A trust that can still be used at `now` (see [`TrustRec::is_live`]).
    pub fn live_trust(&self, id: &str, now: DateTime<Utc>) -> Option<&TrustRec> {
        self.trust(id).filter(|t| t.is_live(now))
    }

    /// The roles a token of `trust` carries, found as Keystone's token model finds them each
    /// time it builds such a token: the delegated roles and the roles they imply, every one of
    /// which the trustor must still hold on the project (`TrustForbidden` otherwise, as when
    /// the trustor is disabled), less the domain-specific ones.
    pub fn trust_token_roles(&self, trust: &TrustRec) -> Result<Vec<String>, TokenProblem> {
        let trustor = self
            .users
            .get(&trust.trustor_user_id)
            .ok_or(TokenProblem::TrustNotFound)?;
        if !trustor.enabled {
            return Err(TokenProblem::TrustForbidden);
        }
        if !self
            .domains
            .get(&trustor.domain_id)
            .is_some_and(|d| d.enabled)
        {
            return Err(TokenProblem::Invalid);
        }
        // as Keystone's `get_trust`: every trustee up a redelegation chain is still enabled
        let agents_ok = self.trust_chain(trust).iter().skip(1).all(|t| {
            self.users
                .get(&t.trustee_user_id)
                .is_some_and(|u| u.enabled)
        });
        if !agents_ok {
            return Err(TokenProblem::TrustForbidden);
        }
        let project = trust.project_id.as_ref().ok_or(TokenProblem::Invalid)?;
        let held = self.effective_roles(&trustor.id, &Target::Project(project.clone()));
        let delegated = self.expand_implied(trust.role_ids.iter().cloned());
        if delegated.iter().any(|r| !held.contains(r)) {
            return Err(TokenProblem::TrustForbidden);
        }
        Ok(delegated
            .into_iter()
            .filter(|r| {
                self.roles
                    .get(r)
                    .is_some_and(|role| role.domain_id.is_none())
            })
            .collect())
    }

    /// The roles granted to `actor` itself on `target` (a user's without their groups'), the
    /// inherited ones (`inherited`) or the others.
    pub fn actor_roles(&self, actor: &Actor, target: &Target, inherited: bool) -> Vec<String> {
        self.grants
            .iter()
            .filter(|g| &g.actor == actor && &g.target == target && g.inherited == inherited)
            .map(|g| g.role_id.clone())
            .collect()
    }

    /// The projects above `project_id`, nearest first.
    pub fn ancestors(&self, project_id: &str) -> Vec<String> {
        let mut found: Vec<String> = Vec::new();
        let mut at = self.projects.get(project_id);
        while let Some(p) = at {
            match &p.parent_id {
                Some(parent) if parent != &p.domain_id && !found.contains(parent) => {
                    found.push(parent.clone());
                    at = self.projects.get(parent);
                }
                _ => break,
            }
        }
        found
    }

    /// Whether `g` gives its role on `target`: a grant on the target itself, or (OS-INHERIT)
    /// an inherited grant on the project's domain or on a project above it.
    pub fn grant_applies(&self, g: &Grant, target: &Target) -> bool {
        if !g.inherited {
            return &g.target == target;
        }
        let Target::Project(p) = target else {
            return false;
        };
        match &g.target {
            Target::Domain(d) => self.projects.get(p).is_some_and(|rec| &rec.domain_id == d),
            Target::Project(above) => self.ancestors(p).contains(above),
            Target::System => false,
        }
    }

    /// The projects an inherited grant on `target` reaches: a domain's projects, or every
    /// project under a project.
    pub fn inheriting_projects(&self, target: &Target) -> Vec<String> {
        match target {
            Target::Domain(d) => self
                .projects
                .values()
                .filter(|p| &p.domain_id == d)
                .map(|p| p.id.clone())
                .collect(),
            Target::Project(p) => self.subtree(p).into_iter().skip(1).collect(),
            Target::System => Vec::new(),
        }
    }

    /// The name and the domain of a user or group, when it exists.
    pub fn actor_named(&self, actor: &Actor) -> Option<(&str, &str)> {
        match actor {
            Actor::User(id) => self
                .users
                .get(id)
                .map(|u| (u.name.as_str(), u.domain_id.as_str())),
            Actor::Group(id) => self
                .groups
                .get(id)
                .map(|g| (g.name.as_str(), g.domain_id.as_str())),
        }
    }

    /// The domain of a user or group, when it exists.
    pub fn actor_domain(&self, actor: &Actor) -> Option<&str> {
        self.actor_named(actor).map(|(_, domain)| domain)
    }

    /// The ids of the groups `user_id` is a member of.
    pub fn groups_of<'a>(&'a self, user_id: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.members
            .iter()
            .filter(move |(_, u)| u == user_id)
            .map(|(g, _)| g.as_str())
    }

    /// The roles `user_id` holds on `target` through grants to them or to a group they are a
    /// member of, on the target or inherited from above it, each once (implied roles not yet
    /// added).
    pub fn direct_roles(&self, user_id: &str, target: &Target) -> Vec<String> {
        let groups: Vec<&str> = self.groups_of(user_id).collect();
        let mut roles: Vec<String> = Vec::new();
        for g in &self.grants {
            let holds = match &g.actor {
                Actor::User(u) => u == user_id,
                Actor::Group(group) => groups.contains(&group.as_str()),
            };
            if holds && self.grant_applies(g, target) && !roles.contains(&g.role_id) {
                roles.push(g.role_id.clone());
            }
        }
        roles
    }

    /// `project_id` and every project under it.
    pub fn subtree(&self, project_id: &str) -> Vec<String> {
        let mut found = vec![project_id.to_owned()];
        let mut i = 0;
        while i < found.len() {
            let parent = found[i].clone();
            found.extend(
                self.projects
                    .values()
                    .filter(|p| p.parent_id.as_deref() == Some(parent.as_str()))
                    .map(|p| p.id.clone()),
            );
            i += 1;
        }
        found
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

    /// The catalog as tokens carry it: enabled services with their enabled endpoints, whose
    /// URL templates (`$(project_id)s`, `%(tenant_id)s`, `$(user_id)s`) are filled in for
    /// `user_id` and `project_id`. As Keystone's `get_v3_catalog` does, an endpoint that needs
    /// a project id is left out without one, and one with any other substitution is left out
    /// as malformed.
    pub fn catalog(&self, user_id: &str, project_id: Option<&str>) -> Vec<CatalogService> {
        self.services
            .values()
            .filter(|s| s.enabled)
            .map(|s| CatalogService {
                endpoints: self
                    .endpoints
                    .values()
                    .filter(|e| e.enabled && e.service_id == s.id)
                    .filter_map(|e| {
                        Some(CatalogEndpoint {
                            id: e.id.clone(),
                            interface: e.interface.clone(),
                            region: e.region_id.clone(),
                            region_id: e.region_id.clone(),
                            url: format_url(&e.url, user_id, project_id)?,
                        })
                    })
                    .collect(),
                id: s.id.clone(),
                name: s.name.clone().unwrap_or_default(),
                kind: s.kind.clone(),
            })
            .collect()
    }

    // ----- tokens --------------------------------------------------------------------------

    /// Finds the user an auth request names: by id, or by name within a domain (a name
    /// without a domain is Keystone's 400). Not finding them is the caller's business.
    fn auth_user(
        &self,
        u: &keystone_types::auth::PasswordUser,
    ) -> Result<Option<&UserRec>, ApiError> {
        if u.id.is_none() {
            if u.name.is_none() {
                return Err(validation_error("id or name", "user"));
            }
            if u.domain.is_none() {
                return Err(validation_error("domain", "user"));
            }
        }
        Ok(self.find_user(u.id.as_deref(), u.name.as_deref(), u.domain.as_ref()))
    }

    /// Authenticates a `POST /v3/auth/tokens` body and issues the token. Every failure of the
    /// identity or the scope is the same 401, as in Keystone, except an unknown application
    /// credential id (404) and what [`Store::issue`] lists (trusts, and tokens that may not be
    /// exchanged); a body that names no usable method, or a user or project by name without
    /// its domain, is a 400.
    pub fn authenticate(
        &mut self,
        request: &AuthRequest,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<(String, TokenRec), ApiError> {
        self.issue(request, now, ttl, false)
            .map(|(token, rec, _)| (token, rec))
    }

    /// Authenticates a `POST /v3/auth/tokens` body and issues the token, with the body
    /// answered for it (with the catalog when `with_catalog`). The body is made before the
    /// token uses up a use of its trust: the token that takes a trust's last use is answered,
    /// though, as in Keystone, it validates no more.
    ///
    /// A trust scope is refused as Keystone refuses it: an empty id is a 400; a trust that was
    /// deleted, has expired or has no uses left, or whose project is unusable, a 401; a caller
    /// who is not the trustee, a disabled trustor or one who no longer holds the delegated
    /// roles, a 403; a trust without a project, a 404 (Keystone 30.0.0 looks up the project
    /// `None`). Neither a trust-scoped token nor one of an application credential is exchanged
    /// for another token with the token method (403).
    pub fn issue(
        &mut self,
        request: &AuthRequest,
        now: DateTime<Utc>,
        ttl: Duration,
        with_catalog: bool,
    ) -> Result<(String, TokenRec, Token), ApiError> {
        let identity = &request.auth.identity;
        if identity.methods.is_empty() {
            return Err(ApiError::bad_request(
                "Invalid input for field 'identity/methods': [] is too short",
            ));
        }
        let now = now.duration_trunc(Duration::seconds(1)).unwrap_or(now);
        let mut methods: Vec<String> = Vec::new();
        let mut audit_ids = vec![new_audit_id()];
        // a lifetime past what a date can hold is a server error, never a panic
        let mut expires_at = now.checked_add_signed(ttl).ok_or_else(|| {
            tracing::error!("the token lifetime overflows the date of expiry");
            ApiError::internal()
        })?;
        let mut user_id: Option<String> = None;
        let mut app_cred: Option<AppCredRec> = None;
        let mut trust: Option<TrustRec> = None;

        // Keystone's AuthInfo: application credentials choose no scope of their own
        if identity
            .methods
            .iter()
            .any(|m| m == "application_credential")
            && request.auth.scope.is_some()
        {
            return Err(ApiError::new(
                axum::http::StatusCode::UNAUTHORIZED,
                "Error authenticating with application credential: Application credentials \
                 cannot request a scope.",
            ));
        }
        if let Some(Scope::Project(p)) = &request.auth.scope
            && p.id.is_none()
            && p.domain.is_none()
        {
            return Err(validation_error("domain", "project"));
        }

        for method in &identity.methods {
            let who = match method.as_str() {
                "password" => {
                    let p = identity.password.as_ref().ok_or_else(|| {
                        ApiError::bad_request("Expecting to find password in identity.")
                    })?;
                    let u = &p.user;
                    let user = self.auth_user(u)?.ok_or_else(ApiError::unauthorized)?;
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
                        .map_err(|problem| match problem {
                            TokenProblem::TrustForbidden => ApiError::forbidden_undisclosed(),
                            // Keystone turns a trust it cannot find into a 401 here
                            _ => ApiError::unauthorized(),
                        })?
                        .clone();
                    if rec.trust_id.is_some() {
                        return Err(ApiError::forbidden(
                            "Using trust-scoped token to create another token. Create a new \
                             trust-scoped token instead",
                        ));
                    }
                    // nor one of an application credential, whose scope it would escape
                    if crate::policy::is_delegated(&rec.methods) {
                        return Err(ApiError::forbidden(
                            "Using a delegated token to create another token is not allowed.",
                        ));
                    }
                    for m in &rec.methods {
                        if !methods.contains(m) {
                            methods.push(m.clone());
                        }
                    }
                    methods.push("token".to_owned());
                    audit_ids.push(rec.audit_ids[0].clone());
                    expires_at = rec.expires_at;
                    rec.user_id
                }
                "application_credential" => {
                    let a = identity.application_credential.as_ref().ok_or_else(|| {
                        ApiError::bad_request(
                            "Expecting to find application_credential in identity.",
                        )
                    })?;
                    let cred = match (&a.id, &a.name) {
                        // Keystone answers 404 for an id it does not know (a wrong secret is a
                        // 401): seen against Keystone 30.0.0 in `cargo xtask conformance`
                        (Some(id), _) => self
                            .app_creds
                            .get(id)
                            .ok_or_else(|| ApiError::not_found("Application Credential", id))?,
                        (None, Some(name)) => {
                            let owner = a.user.as_ref().ok_or_else(|| {
                                validation_error("user", "application credential")
                            })?;
                            if owner.id.is_none() && owner.domain.is_none() {
                                return Err(validation_error("domain", "user"));
                            }
                            let user = self
                                .find_user(
                                    owner.id.as_deref(),
                                    owner.name.as_deref(),
                                    owner.domain.as_ref(),
                                )
                                .ok_or_else(ApiError::unauthorized)?;
                            // an unknown name is Keystone's `Unauthorized`, whose detail it
                            // keeps to itself
                            self.app_creds
                                .values()
                                .find(|c| &c.name == name && c.user_id == user.id)
                                .ok_or_else(ApiError::unauthorized)?
                        }
                        (None, None) => {
                            return Err(validation_error("name or ID", "application credential"));
                        }
                    };
                    if cred.secret != a.secret {
                        return Err(ApiError::unauthorized());
                    }
                    if cred.expires_at.is_some_and(|exp| exp <= now) {
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
            (Some(_), Some(_)) => return Err(ApiError::unauthorized()),
            (None, None) => self.default_scope(user),
            (None, Some(Scope::Unscoped)) => TokenScope::Unscoped,
            (None, Some(Scope::Trust(t))) => {
                let found = self.trust_for_scope(&t.id, &user_id, now)?;
                let project = found.project_id.clone().unwrap_or_default();
                trust = Some(found);
                TokenScope::Project(project)
            }
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
        // A token lives no longer than the application credential it comes from
        // (Keystone's token provider, CVE-2022-2447).
        if let Some(cred_expiry) = app_cred.as_ref().and_then(|c| c.expires_at)
            && cred_expiry < expires_at
        {
            expires_at = cred_expiry;
        }
        // Nor does it outlive its trust, whose expiry is cut to the second (Keystone's token
        // provider, LP#2156586).
        if let Some(trust_expiry) = trust.as_ref().and_then(|t| t.expires_at) {
            let trust_expiry = trust_expiry
                .duration_trunc(Duration::seconds(1))
                .unwrap_or(trust_expiry);
            expires_at = expires_at.min(trust_expiry);
        }
        let rec = TokenRec {
            user_id,
            scope,
            methods,
            audit_ids,
            issued_at: now,
            expires_at,
            app_cred_id: app_cred.map(|c| c.id),
            serial: self.next_serial,
            trust_id: trust.map(|t| t.id),
        };
        // A scope the user holds no role on is refused, like an unusable token; a trust whose
        // trustor lost the roles is Keystone's `Forbidden`.
        let body = self
            .token_body(&rec, with_catalog)
            .map_err(|problem| match problem {
                TokenProblem::TrustForbidden => ApiError::forbidden_undisclosed(),
                _ => ApiError::unauthorized(),
            })?;
        if let Some(id) = &rec.trust_id
            && let Some(used) = self.trusts.iter_mut().find(|t| &t.id == id)
            && let Some(uses) = used.remaining_uses.as_mut()
        {
            *uses = uses.saturating_sub(1);
        }
        self.next_serial += 1;
        if self.tokens.len() >= self.purge_at {
            self.purge_tokens(now);
        }
        let token = self.token_key.new_token(rec.expires_at);
        self.tokens.insert(token.clone(), rec.clone());
        Ok((token, rec, body))
    }

    /// The trust a token request of `user_id` scopes to, checked in Keystone's order (see
    /// [`Store::issue`]); the delegated roles are checked as the token's body is made.
    fn trust_for_scope(
        &self,
        id: &str,
        user_id: &str,
        now: DateTime<Utc>,
    ) -> Result<TrustRec, ApiError> {
        if id.is_empty() {
            return Err(validation_error("trust_id", "trust"));
        }
        // Keystone turns its `TrustNotFound` into a 401 for a token request
        let trust = self
            .live_trust(id, now)
            .ok_or_else(ApiError::unauthorized)?;
        if let Some(project) = &trust.project_id {
            let usable = self.projects.get(project).is_some_and(|p| {
                p.enabled && self.domains.get(&p.domain_id).is_some_and(|d| d.enabled)
            });
            if !usable {
                return Err(ApiError::unauthorized());
            }
        }
        // "User is not a trustee." and "Trustor is disabled.", which Keystone keeps to itself
        if trust.trustee_user_id != user_id
            || !self
                .users
                .get(&trust.trustor_user_id)
                .is_some_and(|u| u.enabled)
        {
            return Err(ApiError::forbidden_undisclosed());
        }
        if trust.project_id.is_none() {
            return Err(ApiError::not_found("project", "None"));
        }
        Ok(trust.clone())
    }

    /// The scope of a token request that names none: the user's default project when it
    /// exists, it and its domain are enabled and the user holds a role on it; unscoped
    /// otherwise (Keystone's `_check_and_set_default_scoping`).
    fn default_scope(&self, user: &UserRec) -> TokenScope {
        let usable = |p: &ProjectRec| {
            p.enabled
                && self.domains.get(&p.domain_id).is_some_and(|d| d.enabled)
                && !self
                    .direct_roles(&user.id, &Target::Project(p.id.clone()))
                    .is_empty()
        };
        match user
            .default_project_id
            .as_ref()
            .and_then(|p| self.projects.get(p))
        {
            Some(p) if usable(p) => TokenScope::Project(p.id.clone()),
            _ => TokenScope::Unscoped,
        }
    }

    /// The last moment `rec` may be validated: its expiry, or with `allow_expired` that plus
    /// Keystone's window (a date past what chrono holds is the end of time).
    fn usable_until(rec: &TokenRec, allow_expired: bool) -> DateTime<Utc> {
        if allow_expired {
            rec.expires_at
                .checked_add_signed(Duration::hours(ALLOW_EXPIRED_WINDOW_HOURS))
                .unwrap_or(DateTime::<Utc>::MAX_UTC)
        } else {
            rec.expires_at
        }
    }

    /// Forgets the tokens no request can use any more (past expiry and the `allow_expired`
    /// window), with the revocations only they referred to. Those tokens still validate as
    /// expired: their strings carry the store's tag. Run when the token count doubles, so the
    /// cost per issued token stays constant.
    fn purge_tokens(&mut self, now: DateTime<Utc>) {
        self.tokens
            .retain(|_, rec| now < Self::usable_until(rec, true));
        let referenced: HashSet<&String> = self
            .tokens
            .values()
            .flat_map(|rec| rec.audit_ids.iter())
            .collect();
        self.revoked_audit_ids.retain(|a| referenced.contains(a));
        self.purge_at = (self.tokens.len() * 2).max(MIN_TOKENS_BEFORE_PURGE);
    }

    /// How many issued tokens the store still holds (expired ones are swept out as tokens
    /// are issued).
    pub fn token_count(&self) -> usize {
        self.tokens.len()
    }

    /// Looks a token up and checks that it is still good. A trust-scoped token's trust is
    /// checked first, as Keystone checks it while rebuilding the token: a trust gone answers
    /// for an expired or revoked token too.
    pub fn check_token(
        &self,
        token: &str,
        now: DateTime<Utc>,
        allow_expired: bool,
    ) -> Result<&TokenRec, TokenProblem> {
        let Some(rec) = self.tokens.get(token) else {
            // one this store issued and has since swept out was past any use
            return Err(if self.token_key.made(token) {
                TokenProblem::Expired
            } else {
                TokenProblem::Unknown
            });
        };
        let mut users = vec![&rec.user_id];
        if let Some(trust_id) = &rec.trust_id {
            let trust = self
                .live_trust(trust_id, now)
                .ok_or(TokenProblem::TrustNotFound)?;
            self.trust_token_roles(trust)?;
            // revoking the trustor's tokens revokes those of their trusts
            users.push(&trust.trustor_user_id);
        }
        if rec
            .audit_ids
            .iter()
            .any(|a| self.revoked_audit_ids.contains(a))
            || users.iter().any(|u| {
                self.user_tokens_valid_from
                    .get(*u)
                    .is_some_and(|from| rec.serial < *from)
            })
        {
            return Err(TokenProblem::Invalid);
        }
        if now >= Self::usable_until(rec, allow_expired) {
            return Err(TokenProblem::Expired);
        }
        self.token_body(rec, false)?;
        Ok(rec)
    }

    /// Revokes every token of `user_id` issued so far, as Keystone's revocation event for a
    /// user does when their password changes or they are disabled.
    pub(crate) fn revoke_user_tokens(&mut self, user_id: &str) {
        self.user_tokens_valid_from
            .insert(user_id.to_owned(), self.next_serial);
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
    /// token whose user, project, roles or trust went away no longer has a body.
    ///
    /// A trust-scoped token is rendered as Keystone's `render_token` renders it: the
    /// `OS-TRUST:trust` section, the trust's project (without `is_domain`), the trust's roles
    /// and those they imply, and as its user the trustee, or the trustor when the trust
    /// impersonates; its catalog is the trustor's.
    pub fn token_body(&self, rec: &TokenRec, with_catalog: bool) -> Result<Token, TokenProblem> {
        let user = self.users.get(&rec.user_id).ok_or(TokenProblem::Invalid)?;
        if !user.enabled {
            return Err(TokenProblem::Invalid);
        }
        let trust = match &rec.trust_id {
            Some(id) => Some(self.trust(id).ok_or(TokenProblem::TrustNotFound)?),
            None => None,
        };
        let shown = match trust {
            Some(t) if t.impersonation => self
                .users
                .get(&t.trustor_user_id)
                .ok_or(TokenProblem::TrustNotFound)?,
            _ => user,
        };
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
                domain: self.domain_ref(&shown.domain_id),
                id: shown.id.clone(),
                name: shown.name.clone(),
                password_expires_at: None,
            },
            application_credential: None,
            trust: trust.map(|t| TokenTrust {
                id: t.id.clone(),
                trustor_user: IdRef {
                    id: t.trustor_user_id.clone(),
                },
                trustee_user: IdRef {
                    id: t.trustee_user_id.clone(),
                },
                impersonation: t.impersonation,
            }),
        };
        let target = match &rec.scope {
            TokenScope::Unscoped => return Ok(token),
            TokenScope::Project(id) => {
                let p = self.projects.get(id).ok_or(TokenProblem::Invalid)?;
                if !p.enabled {
                    return Err(TokenProblem::Invalid);
                }
                // Keystone leaves `is_domain` out of a trust-scoped token
                token.is_domain = trust.is_none().then_some(false);
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
        let mut role_ids = match trust {
            Some(t) => self.trust_token_roles(t)?,
            None => self.effective_roles(&rec.user_id, &target),
        };
        if let Some(cred_id) = &rec.app_cred_id {
            let cred = self.app_creds.get(cred_id).ok_or(TokenProblem::Invalid)?;
            role_ids.retain(|r| cred.role_ids.contains(r));
            token.application_credential = Some(TokenApplicationCredential {
                id: cred.id.clone(),
                name: cred.name.clone(),
                restricted: cred.unrestricted != Some(true),
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
            let project_id = match &rec.scope {
                TokenScope::Project(p) => Some(p.as_str()),
                _ => None,
            };
            // Keystone fills the catalog's `$(user_id)s` in with a trust's trustor
            let user_id = trust.map_or(&rec.user_id, |t| &t.trustor_user_id);
            token.catalog = Some(self.catalog(user_id, project_id));
        }
        Ok(token)
    }
}

/// Fills in an endpoint URL template as Keystone's `format_url` does: `$(` is read as `%(`,
/// then `%(name)s` takes `user_id`, `project_id` or `tenant_id` (the last two only for a
/// project) and `%%` is a `%`. `None` means the endpoint is left out: it needs a project id
/// there is none of, or it names any other key.
fn format_url(url: &str, user_id: &str, project_id: Option<&str>) -> Option<String> {
    let url = url.replace("$(", "%(");
    let mut out = String::with_capacity(url.len());
    let mut rest = url.as_str();
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('%') {
            out.push('%');
            rest = tail;
        } else if let Some(named) = after.strip_prefix('(') {
            let (key, tail) = named.split_once(')')?;
            let tail = tail.strip_prefix('s')?;
            let value = match key {
                "user_id" => user_id,
                "project_id" | "tenant_id" => project_id?,
                _ => {
                    tracing::warn!(url, "malformed endpoint: unknown key {key}");
                    return None;
                }
            };
            out.push_str(value);
            rest = tail;
        } else {
            // not a substitution the fake knows; kept as written
            out.push('%');
            rest = after;
        }
    }
    out.push_str(rest);
    Some(out)
}
