//! A string that must not leak: passwords, token ids, application credential secrets.
//!
//! # Example
//!
//! ```
//! use keystone_types::Secret;
//!
//! let s = Secret::new("hunter2");
//! assert_eq!(format!("{s:?}"), "[redacted]");
//! assert_eq!(s.expose(), "hunter2");
//! ```

use serde::{Deserialize, Serialize};

/// A secret string. `Debug` prints `[redacted]`; the value is reached only through
/// [`Secret::expose`]. It serializes as a plain JSON string because it has to cross the wire.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret value itself. Call sites are easy to audit by searching for `expose`.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret(value.to_owned())
    }
}
