//! `POST /v3/auth/tokens` request bodies: identity methods and scopes, exactly as keystoneauth1
//! sends them.

use serde::{Deserialize, Serialize};

use crate::Secret;

/// The whole request body: `{"auth": {"identity": ..., "scope": ...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthRequest {
    /// The only key of the body.
    pub auth: Auth,
}

/// Identity and optional scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Auth {
    /// Who is authenticating, and how.
    pub identity: Identity,
    /// What the token should be scoped to; absent means Keystone picks the default project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scope>,
}

/// The identity part: the method names and one object per method.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// Such as `["password"]`.
    pub methods: Vec<String>,
    /// The password method's data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<PasswordMethod>,
    /// The token method's data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<TokenMethod>,
    /// The application credential method's data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_credential: Option<ApplicationCredentialMethod>,
}

/// `{"user": {...}}` under `password`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordMethod {
    /// The user and their password.
    pub user: PasswordUser,
}

/// A user named by id, or by name within a domain, with a password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordUser {
    /// The user's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The user's name; needs `domain`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The user's domain, when named by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<DomainRef>,
    /// The password.
    pub password: Secret,
}

/// `{"id": "<token>"}` under `token`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenMethod {
    /// The existing token.
    pub id: Secret,
}

/// An application credential by id, or by name with its user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationCredentialMethod {
    /// The credential's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The credential's name; needs `user`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The secret shown once at creation.
    pub secret: Secret,
    /// The owner, when named by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<UserRef>,
}

/// A user named by id, or by name within a domain.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRef {
    /// The user's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The user's name; needs `domain`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The user's domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<DomainRef>,
}

/// A domain named by id or by name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainRef {
    /// The domain's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The domain's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl DomainRef {
    /// A domain by id.
    pub fn id(id: impl Into<String>) -> Self {
        DomainRef {
            id: Some(id.into()),
            name: None,
        }
    }

    /// A domain by name.
    pub fn name(name: impl Into<String>) -> Self {
        DomainRef {
            id: None,
            name: Some(name.into()),
        }
    }
}

/// A project named by id, or by name within a domain.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectScope {
    /// The project's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The project's name; needs `domain`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The project's domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<DomainRef>,
}

/// `{"all": true}`: the whole deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemScope {
    /// Always `true` for the system scope Keystone knows.
    pub all: bool,
}

/// What a token is scoped to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ScopeRepr", into = "ScopeRepr")]
pub enum Scope {
    /// `{"project": {...}}`
    Project(ProjectScope),
    /// `{"domain": {...}}`
    Domain(DomainRef),
    /// `{"system": {"all": true}}`
    System(SystemScope),
    /// `{"OS-TRUST:trust": {"id": ...}}`: the trust's project and roles, for its trustee.
    Trust(TrustRef),
    /// The string `"unscoped"`: no scope even if the user has a default project.
    Unscoped,
}

/// A trust, by id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustRef {
    /// The trust's id.
    pub id: String,
}

impl Scope {
    /// A trust by id: a token for its trustee, on the trust's project with the trust's roles.
    pub fn trust(id: impl Into<String>) -> Self {
        Scope::Trust(TrustRef { id: id.into() })
    }

    /// A project by id.
    pub fn project_by_id(id: impl Into<String>) -> Self {
        Scope::Project(ProjectScope {
            id: Some(id.into()),
            ..Default::default()
        })
    }

    /// A project by name within a domain named by name.
    pub fn project_by_name(name: impl Into<String>, domain_name: impl Into<String>) -> Self {
        Scope::Project(ProjectScope {
            id: None,
            name: Some(name.into()),
            domain: Some(DomainRef::name(domain_name)),
        })
    }

    /// A domain by id.
    pub fn domain_by_id(id: impl Into<String>) -> Self {
        Scope::Domain(DomainRef::id(id))
    }

    /// A domain by name.
    pub fn domain_by_name(name: impl Into<String>) -> Self {
        Scope::Domain(DomainRef::name(name))
    }

    /// The system scope.
    pub fn system() -> Self {
        Scope::System(SystemScope { all: true })
    }
}

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum ScopeRepr {
    Word(String),
    Object(ScopeObject),
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum ScopeObject {
    Project(ProjectScope),
    Domain(DomainRef),
    System(SystemScope),
    #[serde(rename = "OS-TRUST:trust")]
    Trust(TrustRef),
}

impl TryFrom<ScopeRepr> for Scope {
    type Error = String;

    fn try_from(value: ScopeRepr) -> Result<Self, Self::Error> {
        match value {
            ScopeRepr::Word(w) if w == "unscoped" => Ok(Scope::Unscoped),
            ScopeRepr::Word(w) => Err(format!(
                "scope must be an object or \"unscoped\", not {w:?}"
            )),
            ScopeRepr::Object(ScopeObject::Project(p)) => Ok(Scope::Project(p)),
            ScopeRepr::Object(ScopeObject::Domain(d)) => Ok(Scope::Domain(d)),
            ScopeRepr::Object(ScopeObject::System(s)) => Ok(Scope::System(s)),
            ScopeRepr::Object(ScopeObject::Trust(t)) => Ok(Scope::Trust(t)),
        }
    }
}

impl From<Scope> for ScopeRepr {
    fn from(value: Scope) -> Self {
        match value {
            Scope::Project(p) => ScopeRepr::Object(ScopeObject::Project(p)),
            Scope::Domain(d) => ScopeRepr::Object(ScopeObject::Domain(d)),
            Scope::System(s) => ScopeRepr::Object(ScopeObject::System(s)),
            Scope::Trust(t) => ScopeRepr::Object(ScopeObject::Trust(t)),
            Scope::Unscoped => ScopeRepr::Word("unscoped".to_owned()),
        }
    }
}

impl AuthRequest {
    fn with_identity(identity: Identity) -> Self {
        AuthRequest {
            auth: Auth {
                identity,
                scope: None,
            },
        }
    }

    fn password(user: PasswordUser) -> Self {
        Self::with_identity(Identity {
            methods: vec!["password".to_owned()],
            password: Some(PasswordMethod { user }),
            token: None,
            application_credential: None,
        })
    }

    /// Password authentication of a user named by id.
    pub fn password_by_id(user_id: impl Into<String>, password: impl Into<Secret>) -> Self {
        Self::password(PasswordUser {
            id: Some(user_id.into()),
            name: None,
            domain: None,
            password: password.into(),
        })
    }

    /// Password authentication of a user named by name, in a domain named by name.
    pub fn password_by_name(
        user_name: impl Into<String>,
        domain_name: impl Into<String>,
        password: impl Into<Secret>,
    ) -> Self {
        Self::password_in_domain(user_name, DomainRef::name(domain_name), password)
    }

    /// Password authentication of a user named by name, in the given domain.
    pub fn password_in_domain(
        user_name: impl Into<String>,
        domain: DomainRef,
        password: impl Into<Secret>,
    ) -> Self {
        Self::password(PasswordUser {
            id: None,
            name: Some(user_name.into()),
            domain: Some(domain),
            password: password.into(),
        })
    }

    /// Token authentication: exchange an existing token for a new (usually rescoped) one.
    pub fn token(token: impl Into<Secret>) -> Self {
        Self::with_identity(Identity {
            methods: vec!["token".to_owned()],
            password: None,
            token: Some(TokenMethod { id: token.into() }),
            application_credential: None,
        })
    }

    /// Application credential authentication, by id or by name with its user.
    pub fn application_credential(method: ApplicationCredentialMethod) -> Self {
        Self::with_identity(Identity {
            methods: vec!["application_credential".to_owned()],
            password: None,
            token: None,
            application_credential: Some(method),
        })
    }

    /// Sets the scope.
    pub fn with_scope(mut self, scope: Scope) -> Self {
        self.auth.scope = Some(scope);
        self
    }
}
