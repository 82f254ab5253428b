//! The small references both the token bodies and the admin resources embed: a resource's
//! `{"self": url}` link and an id-and-name pair. They live here so that `token` and `resources`
//! do not import each other; each re-exports the one it has always offered
//! (`resources::SelfLink`, `token::NamedRef`).

use serde::{Deserialize, Serialize};

/// `{"self": url}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelfLink {
    /// The resource's own URL.
    #[serde(rename = "self")]
    pub self_link: String,
}

/// An id and a name: a domain, or a role's domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedRef {
    /// The id.
    pub id: String,
    /// The name.
    pub name: String,
}
