//! The records the store keeps: what Keystone keeps in its database tables, one struct a
//! table (tokens are in `tokens`).

use chrono::{DateTime, Utc};
use keystone_types::Secret;
use keystone_types::token::AccessRule;

/// A domain.
#[derive(Debug, Clone)]
pub(crate) struct DomainRec {
    /// Id, such as `default`.
    pub(crate) id: String,
    /// Name, such as `Default`.
    pub(crate) name: String,
    /// Free text.
    pub(crate) description: String,
    /// Disabled domains' users cannot authenticate.
    pub(crate) enabled: bool,
    /// Tags.
    pub(crate) tags: Vec<String>,
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
    /// Attributes Keystone does not know, kept and shown as given.
    pub extra: serde_json::Map<String, serde_json::Value>,
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
    /// Attributes Keystone does not know, kept and shown as given (never a password).
    pub extra: serde_json::Map<String, serde_json::Value>,
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
pub(crate) enum Target {
    /// A project, by id.
    Project(String),
    /// A domain, by id.
    Domain(String),
    /// The whole system.
    System,
}

/// A group of users.
#[derive(Debug, Clone)]
pub(crate) struct GroupRec {
    /// Id.
    pub(crate) id: String,
    /// Name, unique in its domain.
    pub(crate) name: String,
    /// Owning domain.
    pub(crate) domain_id: String,
    /// Free text (`""` when none was given, as Keystone stores it).
    pub(crate) description: String,
}

/// Who holds a grant: a user, or a group (and through it each of its members).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Actor {
    /// A user, by id.
    User(String),
    /// A group, by id.
    Group(String),
}

impl Actor {
    /// The user's or the group's id.
    pub(crate) fn id(&self) -> &str {
        match self {
            Actor::User(id) | Actor::Group(id) => id,
        }
    }

    /// `user` or `group`, as Keystone's messages name them.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Actor::User(_) => "user",
            Actor::Group(_) => "group",
        }
    }

    /// The path segment of its grants: `users` or `groups`.
    pub(crate) fn collection(&self) -> &'static str {
        match self {
            Actor::User(_) => "users",
            Actor::Group(_) => "groups",
        }
    }
}

/// A role granted to a user or a group on a target.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Grant {
    /// The user or the group.
    pub(crate) actor: Actor,
    /// Where.
    pub(crate) target: Target,
    /// The role.
    pub(crate) role_id: String,
    /// OS-INHERIT: the role is not held on the target itself but on every project under it
    /// (a domain's projects, or a project's subprojects).
    pub(crate) inherited: bool,
}

/// A catalog service.
#[derive(Debug, Clone)]
pub(crate) struct ServiceRec {
    /// Id.
    pub(crate) id: String,
    /// Service type.
    pub(crate) kind: String,
    /// Name.
    pub(crate) name: Option<String>,
    /// Free text.
    pub(crate) description: Option<String>,
    /// Disabled services are left out of catalogs.
    pub(crate) enabled: bool,
}

/// An endpoint.
#[derive(Debug, Clone)]
pub(crate) struct EndpointRec {
    /// Id.
    pub(crate) id: String,
    /// Owning service.
    pub(crate) service_id: String,
    /// `public`, `internal` or `admin`.
    pub(crate) interface: String,
    /// URL.
    pub(crate) url: String,
    /// Region.
    pub(crate) region_id: Option<String>,
    /// Disabled endpoints are left out of catalogs.
    pub(crate) enabled: bool,
}

/// A region.
#[derive(Debug, Clone)]
pub(crate) struct RegionRec {
    /// Id, such as `RegionOne`.
    pub(crate) id: String,
    /// Free text.
    pub(crate) description: String,
    /// Parent region.
    pub(crate) parent_region_id: Option<String>,
}

/// An application credential.
#[derive(Debug, Clone)]
pub(crate) struct AppCredRec {
    /// Id.
    pub(crate) id: String,
    /// Name, unique for its user.
    pub(crate) name: String,
    /// Owner.
    pub(crate) user_id: String,
    /// The project it is scoped to.
    pub(crate) project_id: String,
    /// The secret.
    pub(crate) secret: Secret,
    /// The roles it carries.
    pub(crate) role_ids: Vec<String>,
    /// Free text.
    pub(crate) description: Option<String>,
    /// Expiry.
    pub(crate) expires_at: Option<DateTime<Utc>>,
    /// Whether it may create further credentials, as given at creation (Keystone answers
    /// `null` when it was not given).
    pub(crate) unrestricted: Option<bool>,
    /// The requests it is limited to (none: not limited): copies of its owner's rules in
    /// the store's access rules, ids included. They cannot drift apart: a rule never changes,
    /// and one a credential uses cannot be deleted.
    pub(crate) access_rules: Vec<AccessRule>,
}

/// An access rule: one request a user's application credentials may be limited to. As in
/// Keystone, rules belong to the user, are shared by the user's credentials that name the same
/// request, and outlive the credentials that used them until deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AccessRuleRec {
    /// Id.
    pub(crate) id: String,
    /// Owner.
    pub(crate) user_id: String,
    /// The service type, such as `compute`.
    pub(crate) service: String,
    /// The HTTP method, such as `GET`.
    pub(crate) method: String,
    /// The path pattern.
    pub(crate) path: String,
}

impl AccessRuleRec {
    /// The rule as an application credential and its tokens carry it.
    pub(crate) fn rule(&self) -> AccessRule {
        AccessRule {
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
pub(crate) struct TrustRec {
    /// Id.
    pub(crate) id: String,
    /// The user who delegates.
    pub(crate) trustor_user_id: String,
    /// The user the trust is for.
    pub(crate) trustee_user_id: String,
    /// The project the roles are delegated on; a trust may have none (and then no roles).
    pub(crate) project_id: Option<String>,
    /// Whether the trust's tokens show the trustor as their user.
    pub(crate) impersonation: bool,
    /// When the trust ends, to the microsecond as given.
    pub(crate) expires_at: Option<DateTime<Utc>>,
    /// How many more tokens the trust may give; `None` for no limit.
    pub(crate) remaining_uses: Option<u64>,
    /// The delegated roles, as given (the roles they imply come with them in tokens).
    pub(crate) role_ids: Vec<String>,
    /// How many times the trust may be redelegated (0 unless created with
    /// `allow_redelegation`).
    pub(crate) redelegation_count: u64,
    /// The trust this one was redelegated from.
    pub(crate) redelegated_trust_id: Option<String>,
    /// Attributes of the create request Keystone does not know, which it stores and echoes.
    pub(crate) extra: serde_json::Map<String, serde_json::Value>,
    /// Deleted trusts are kept, as Keystone keeps them (soft-deleted), because they still
    /// count for its duplicate check; nothing else sees them.
    pub(crate) deleted: bool,
}

impl TrustRec {
    /// Whether the trust can still be used at `now`, as Keystone's `get_trust` decides: not
    /// deleted, not past its expiry, and with uses left. Keystone answers every other trust
    /// with "Could not find trust" (a 404; a 401 when a token request names it).
    pub(crate) fn is_live(&self, now: DateTime<Utc>) -> bool {
        !self.deleted
            && self.expires_at.is_none_or(|end| now <= end)
            && self.remaining_uses != Some(0)
    }
}
