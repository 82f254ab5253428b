//! The startup check: whether this service can validate tokens at all (its credentials, its
//! identity endpoint, a role that Keystone's default `identity:validate_token` accepts, and a
//! validation of its own token), so that a configuration mistake is reported at start with its
//! cause, not as a 503 to every caller.

use keystone_client::auth::{Method, UserIdentity};
use keystone_client::{Error, ErrorKind, Session, ValidateOptions};
use keystone_types::auth::DomainRef;

/// Why the service cannot validate tokens, as the startup check finds it. The messages name
/// the user, the domain, the URL or the rule to fix, never a password or a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartupError {
    /// Keystone could not be reached.
    #[error("cannot reach Keystone at {url}: {reason}")]
    Unreachable {
        /// Where it was asked.
        url: String,
        /// Why there was no answer.
        reason: String,
    },
    /// Keystone rejected the service's own credentials.
    #[error(
        "Keystone at {url} rejected the service's credentials for {who}: check the user, its \
         domain and the password or secret in [keystone_authtoken]"
    )]
    CredentialsRejected {
        /// Where it was asked.
        url: String,
        /// The user (or application credential) and its domain.
        who: String,
    },
    /// The service user may not validate tokens: its token has none of the roles Keystone's
    /// default rule asks for (admin, service, or reader with a system scope), or Keystone
    /// refused the validation.
    #[error(
        "the service user ({who}) may not validate tokens: Keystone's default rule {rule} asks \
         for the admin or service role (grant it the service role on its project)"
    )]
    PermissionMissing {
        /// The user.
        who: String,
        /// The policy rule that denied.
        rule: &'static str,
    },
    /// The service token's catalog has an identity service, but no endpoint for the
    /// configured interface and region.
    #[error(
        "the service catalog has no identity endpoint with interface {interface}{}: check \
         interface and region_name in [keystone_authtoken]",
        .region.as_deref().map(|r| format!(" in region {r}")).unwrap_or_default()
    )]
    NoIdentityEndpoint {
        /// The interfaces asked for.
        interface: String,
        /// The region asked for.
        region: Option<String>,
    },
    /// Anything else Keystone answered.
    #[error("the startup check failed: {0}")]
    Other(#[source] Error),
}

/// Authenticates `session`, finds its identity endpoint, and validates its own token there.
pub(super) async fn check(session: &Session) -> Result<(), StartupError> {
    let who = describe(session);
    let access = session.authenticate().await.map_err(|e| match e.kind() {
        ErrorKind::Unauthorized => StartupError::CredentialsRejected {
            url: session.auth_url().to_owned(),
            who: who.clone(),
        },
        _ => unreachable_or_other(session.auth_url(), e),
    })?;
    let interfaces: Vec<&str> = session.interfaces().iter().map(|i| i.as_str()).collect();
    let has_identity = access
        .body()
        .catalog
        .as_ref()
        .is_some_and(|c| c.iter().any(|s| s.kind == "identity"));
    if has_identity
        && let Err(Error::EndpointNotFound { .. }) = session
            .endpoint(&keystone_client::EndpointFilter::new("identity"))
            .await
    {
        return Err(StartupError::NoIdentityEndpoint {
            interface: interfaces.join(", "),
            region: session.region().map(str::to_owned),
        });
    }
    // Keystone answers a token's own subject whatever its roles (`rule:token_subject`), so
    // validating our own token below cannot show whether we may validate others': the roles
    // are checked against Keystone's default rule for that
    let may_validate = access.has_role("admin")
        || access.has_role("service")
        || (access.has_role("reader") && access.is_system_scoped());
    if !may_validate {
        return Err(StartupError::PermissionMissing {
            who,
            rule: "identity:validate_token",
        });
    }
    let url = session
        .api_identity_url()
        .await
        .unwrap_or_else(|_| session.auth_url().to_owned());
    match session
        .validate_token(access.token().expose(), ValidateOptions::default())
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == ErrorKind::Forbidden => Err(StartupError::PermissionMissing {
            who,
            rule: "identity:validate_token",
        }),
        Err(e) if e.kind() == ErrorKind::Unauthorized => {
            Err(StartupError::CredentialsRejected { url, who })
        }
        Err(e) => Err(unreachable_or_other(&url, e)),
    }
}

fn unreachable_or_other(url: &str, e: Error) -> StartupError {
    match e {
        Error::Transport { source, .. } => StartupError::Unreachable {
            url: url.to_owned(),
            reason: source.to_string(),
        },
        e if e.kind() == ErrorKind::Unavailable => StartupError::Unreachable {
            url: url.to_owned(),
            reason: e.to_string(),
        },
        e => StartupError::Other(e),
    }
}

/// The service's user (or application credential) and its domain, as an operator finds it.
/// Who the service authenticates as, for messages: the user or application credential and its
/// domain, never a secret.
pub(super) fn describe(session: &Session) -> String {
    let domain = |d: &DomainRef| match (&d.id, &d.name) {
        (Some(id), _) => format!("domain id {id}"),
        (None, Some(name)) => format!("domain {name}"),
        (None, None) => "no domain".to_owned(),
    };
    let user = |u: &UserIdentity| match u {
        UserIdentity::Id(id) => format!("user id {id}"),
        UserIdentity::Name { name, domain: d } => format!("user {name} in {}", domain(d)),
    };
    match &session.auth().method {
        Method::Password { user: u, .. } => user(u),
        Method::Token(_) => "a token".to_owned(),
        Method::ApplicationCredentialId { id, .. } => format!("application credential {id}"),
        Method::ApplicationCredentialName { name, user: u, .. } => {
            format!("application credential {name} of {}", user(u))
        }
    }
}
