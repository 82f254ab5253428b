//! The client's errors, grouped by where they come from: the transport, Keystone's own error
//! body, an answer that did not parse, the configuration, and the catalog.

use keystone_types::ErrorBody;
use reqwest::StatusCode;

/// Everything that can go wrong talking to Keystone.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No answer: the connection failed, timed out or broke.
    #[error("cannot reach {url}: {source}")]
    Transport {
        /// What was being requested.
        url: String,
        /// The underlying error.
        #[source]
        source: reqwest::Error,
    },
    /// Keystone (or a service) answered with an error status.
    #[error("{url} answered {status}{}{}", detail(.body),
        .request_id.as_deref().map(|id| format!(" (Request-ID: {id})")).unwrap_or_default())]
    Api {
        /// What was requested.
        url: String,
        /// The status.
        status: StatusCode,
        /// The error, when the body had Keystone's shape (`{"error": {...}}`) or the API-SIG's
        /// (`{"errors": [{"title", "detail"}, ...]}`, the first of them, as Placement and
        /// Ironic answer).
        body: Option<Box<ErrorBody>>,
        /// The `x-openstack-request-id` of the answer.
        request_id: Option<String>,
        /// The body as received, whatever its shape (a proxy's HTML page, plain text).
        raw: RawBody,
    },
    /// A successful answer whose body did not parse; the raw bytes are kept.
    #[error("{url} answered {status} with a body that does not parse: {source}")]
    Unparsable {
        /// What was requested.
        url: String,
        /// The status.
        status: StatusCode,
        /// The body as received.
        raw: RawBody,
        /// Why it did not parse.
        #[source]
        source: serde_json::Error,
    },
    /// An answer larger than the client reads ([`crate::session::MAX_BODY`]).
    #[error("{url} answered with a body over {limit} bytes")]
    TooLarge {
        /// What was requested.
        url: String,
        /// The limit.
        limit: usize,
    },
    /// A request body could not be encoded as JSON.
    #[error("cannot encode the request body: {0}")]
    Encode(#[source] serde_json::Error),
    /// An id that cannot name a resource in a URL path: empty, `.` or `..` (which URLs read as
    /// "this" and "the parent" path, whatever their encoding).
    #[error("{value:?} cannot be used as an id in a URL path")]
    InvalidId {
        /// The id.
        value: String,
    },
    /// A successful token answer without the `X-Subject-Token` header.
    #[error("{url} issued a token without an X-Subject-Token header")]
    MissingSubjectToken {
        /// What was requested.
        url: String,
    },
    /// Keystone rejected the session's own credentials a moment ago; they are not tried
    /// again until the backoff ends (so a changed password does not turn into one failed
    /// login per request, and no account lockout).
    #[error("the session's credentials were rejected ({cause}); next attempt in {retry_in:?}")]
    CredentialsBackoff {
        /// How long until the next attempt.
        retry_in: std::time::Duration,
        /// Why the last attempt failed.
        cause: String,
    },
    /// The configuration is incomplete or wrong.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The token has no service catalog (unscoped, or validated with `nocatalog`).
    #[error("the token has no service catalog")]
    EmptyCatalog,
    /// No endpoint in the catalog matches.
    #[error("no endpoint for service type {service_type:?}{} with interface {interfaces:?}{}",
        .service_name.as_deref().map(|n| format!(" named {n:?}")).unwrap_or_default(),
        .region.as_deref().map(|r| format!(" in region {r:?}")).unwrap_or_default())]
    EndpointNotFound {
        /// The service type asked for.
        service_type: String,
        /// The service name asked for.
        service_name: Option<String>,
        /// The interfaces tried, in order.
        interfaces: Vec<String>,
        /// The region asked for.
        region: Option<String>,
    },
}

/// A body as received. Its `Debug` shows only its length: it may hold a token or a secret.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RawBody(Box<[u8]>);

impl From<Vec<u8>> for RawBody {
    fn from(bytes: Vec<u8>) -> Self {
        RawBody(bytes.into_boxed_slice())
    }
}

impl RawBody {
    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The bytes as text, lossily.
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.0)
    }
}

impl std::fmt::Debug for RawBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{} bytes]", self.0.len())
    }
}

impl std::ops::Deref for RawBody {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}

fn detail(body: &Option<Box<ErrorBody>>) -> String {
    body.as_ref()
        .map(|b| format!(": {}", b.message))
        .unwrap_or_default()
}

/// What kind of failure an [`Error`] is, for callers that react differently to each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// 404: for token validation, the token is invalid, expired or revoked.
    NotFound,
    /// 401: the credentials (for validation: our own token) were rejected.
    Unauthorized,
    /// 403: the caller may not do this.
    Forbidden,
    /// Keystone could not answer: connection failure, timeout, 5xx.
    Unavailable,
    /// Anything else: bad request, conflict, unparsable answer, configuration, catalog.
    Other,
}

impl Error {
    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Transport { .. } => ErrorKind::Unavailable,
            Error::CredentialsBackoff { .. } => ErrorKind::Unauthorized,
            Error::Api { status, .. } => match *status {
                StatusCode::NOT_FOUND => ErrorKind::NotFound,
                StatusCode::UNAUTHORIZED => ErrorKind::Unauthorized,
                StatusCode::FORBIDDEN => ErrorKind::Forbidden,
                s if s.is_server_error() => ErrorKind::Unavailable,
                _ => ErrorKind::Other,
            },
            _ => ErrorKind::Other,
        }
    }

    /// The HTTP status, when there was an answer.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Api { status, .. } | Error::Unparsable { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// A configuration that cannot work, naming the key that is missing or wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A required key is missing.
    #[error("missing configuration: {key}{}", fmt_hint(.hint))]
    Missing {
        /// The key, such as `OS_AUTH_URL` or `clouds.mycloud.auth.auth_url`.
        key: String,
        /// What would fix it.
        hint: Option<String>,
    },
    /// A key has a value that cannot be used.
    #[error("invalid configuration {key}={value:?}: {reason}")]
    Invalid {
        /// The key.
        key: String,
        /// Its value (never a secret's).
        value: String,
        /// Why it cannot be used.
        reason: String,
    },
    /// A file could not be read or parsed.
    #[error("cannot use {path}: {reason}")]
    File {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
}

fn fmt_hint(h: &Option<String>) -> String {
    h.as_ref().map(|h| format!(" ({h})")).unwrap_or_default()
}

impl ConfigError {
    /// A missing key.
    pub fn missing(key: impl Into<String>) -> Self {
        ConfigError::Missing {
            key: key.into(),
            hint: None,
        }
    }

    /// A missing key with a hint.
    pub fn missing_with(key: impl Into<String>, hint: impl Into<String>) -> Self {
        ConfigError::Missing {
            key: key.into(),
            hint: Some(hint.into()),
        }
    }

    /// A key with an unusable value.
    pub fn invalid(
        key: impl Into<String>,
        value: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        ConfigError::Invalid {
            key: key.into(),
            value: value.into(),
            reason: reason.into(),
        }
    }
}

/// The client's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
