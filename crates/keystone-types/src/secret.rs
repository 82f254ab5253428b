//! A string that must not leak: passwords, token ids, application credential secrets.
//!
//! **Architecture invariant:** a `Secret` (password, token id, application credential secret)
//! prints as `[redacted]` in `Debug`; its value is reached only through `Secret::expose`.
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
///
/// It deserializes from a string, or from a number written without quotes (a configuration's
/// `password = 12345`, which oslo.config would read as text); anything else is an error that
/// does not quote the value.
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Secret(String);

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;

        impl serde::de::Visitor<'_> for Visitor {
            type Value = Secret;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Secret, E> {
                Ok(Secret(v.to_owned()))
            }

            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Secret, E> {
                Ok(Secret(v))
            }

            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Secret, E> {
                Ok(Secret(v.to_string()))
            }

            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Secret, E> {
                Ok(Secret(v.to_string()))
            }

            fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Secret, E> {
                Err(E::custom("a secret must be a string (quote it)"))
            }

            fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Secret, E> {
                Err(E::custom("a secret must be a string (quote it)"))
            }
        }

        deserializer.deserialize_any(Visitor)
    }
}

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

#[cfg(test)]
mod tests {
    use super::Secret;

    #[test]
    fn numbers_read_as_text_and_errors_do_not_quote_the_value() {
        let s: Secret = serde_json::from_str("12345").unwrap();
        assert_eq!(s.expose(), "12345");
        let s: Secret = serde_json::from_str("\"hunter2\"").unwrap();
        assert_eq!(s.expose(), "hunter2");
        for (bad, value) in [("98765.5", "98765"), ("true", "true"), ("[\"zq9\"]", "zq9")] {
            let err = serde_json::from_str::<Secret>(bad).unwrap_err().to_string();
            assert!(!err.contains(value), "{err}");
        }
    }
}
