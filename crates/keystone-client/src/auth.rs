//! Authentication methods and scopes, turned into the exact bodies keystoneauth1 sends.
//!
//! # Example
//!
//! ```
//! use keystone_client::auth::{Auth, UserIdentity};
//! use keystone_types::auth::Scope;
//!
//! let auth = Auth::password(UserIdentity::by_name("admin", "Default"), "adminpw")
//!     .scoped(Scope::project_by_name("admin", "Default"));
//! let body = serde_json::to_value(auth.request_body()).unwrap();
//! assert_eq!(body["auth"]["identity"]["password"]["user"]["name"], "admin");
//! assert!(!format!("{auth:?}").contains("adminpw"));
//! ```

use keystone_types::Secret;
use keystone_types::auth::{ApplicationCredentialMethod, AuthRequest, DomainRef, Scope, UserRef};

/// A user named by id, or by name within a domain named by id or name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserIdentity {
    /// By id.
    Id(String),
    /// By name in a domain.
    Name {
        /// The user's name.
        name: String,
        /// The user's domain.
        domain: DomainRef,
    },
}

impl UserIdentity {
    /// A user by id.
    pub fn by_id(id: impl Into<String>) -> Self {
        UserIdentity::Id(id.into())
    }

    /// A user by name in a domain named by name.
    pub fn by_name(name: impl Into<String>, domain_name: impl Into<String>) -> Self {
        UserIdentity::Name {
            name: name.into(),
            domain: DomainRef::name(domain_name),
        }
    }

    /// A user by name in a domain named by id.
    pub fn by_name_in_domain_id(name: impl Into<String>, domain_id: impl Into<String>) -> Self {
        UserIdentity::Name {
            name: name.into(),
            domain: DomainRef::id(domain_id),
        }
    }

    fn user_ref(&self) -> UserRef {
        match self {
            UserIdentity::Id(id) => UserRef {
                id: Some(id.clone()),
                ..Default::default()
            },
            UserIdentity::Name { name, domain } => UserRef {
                id: None,
                name: Some(name.clone()),
                domain: Some(domain.clone()),
            },
        }
    }
}

/// How to authenticate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Method {
    /// A user's password.
    Password {
        /// The user.
        user: UserIdentity,
        /// The password.
        password: Secret,
    },
    /// An existing token (sent in the body and as `X-Auth-Token`).
    Token(Secret),
    /// An application credential by id.
    ApplicationCredentialId {
        /// The credential's id.
        id: String,
        /// Its secret.
        secret: Secret,
    },
    /// An application credential by name, with its owner.
    ApplicationCredentialName {
        /// The credential's name.
        name: String,
        /// The owner.
        user: UserIdentity,
        /// Its secret.
        secret: Secret,
    },
}

/// A method and an optional scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Auth {
    /// How to authenticate.
    pub method: Method,
    /// What to scope to; `None` lets Keystone pick the user's default project.
    pub scope: Option<Scope>,
}

impl Auth {
    /// Password authentication.
    pub fn password(user: UserIdentity, password: impl Into<Secret>) -> Self {
        Auth {
            method: Method::Password {
                user,
                password: password.into(),
            },
            scope: None,
        }
    }

    /// Token authentication.
    pub fn token(token: impl Into<Secret>) -> Self {
        Auth {
            method: Method::Token(token.into()),
            scope: None,
        }
    }

    /// Application credential by id.
    pub fn application_credential(id: impl Into<String>, secret: impl Into<Secret>) -> Self {
        Auth {
            method: Method::ApplicationCredentialId {
                id: id.into(),
                secret: secret.into(),
            },
            scope: None,
        }
    }

    /// Application credential by name and owner.
    pub fn application_credential_by_name(
        name: impl Into<String>,
        user: UserIdentity,
        secret: impl Into<Secret>,
    ) -> Self {
        Auth {
            method: Method::ApplicationCredentialName {
                name: name.into(),
                user,
                secret: secret.into(),
            },
            scope: None,
        }
    }

    /// Sets the scope.
    pub fn scoped(mut self, scope: Scope) -> Self {
        self.scope = Some(scope);
        self
    }

    /// The `POST /v3/auth/tokens` body.
    pub fn request_body(&self) -> AuthRequest {
        let request = match &self.method {
            Method::Password { user, password } => match user {
                UserIdentity::Id(id) => AuthRequest::password_by_id(id.clone(), password.clone()),
                UserIdentity::Name { name, domain } => {
                    AuthRequest::password_in_domain(name.clone(), domain.clone(), password.clone())
                }
            },
            Method::Token(t) => AuthRequest::token(t.clone()),
            Method::ApplicationCredentialId { id, secret } => {
                AuthRequest::application_credential(ApplicationCredentialMethod {
                    id: Some(id.clone()),
                    name: None,
                    secret: secret.clone(),
                    user: None,
                })
            }
            Method::ApplicationCredentialName { name, user, secret } => {
                AuthRequest::application_credential(ApplicationCredentialMethod {
                    id: None,
                    name: Some(name.clone()),
                    secret: secret.clone(),
                    user: Some(user.user_ref()),
                })
            }
        };
        match &self.scope {
            Some(scope) => request.with_scope(scope.clone()),
            None => request,
        }
    }

    /// The token to send as `X-Auth-Token` with the auth request (token method only).
    pub fn header_token(&self) -> Option<&Secret> {
        match &self.method {
            Method::Token(t) => Some(t),
            _ => None,
        }
    }
}
