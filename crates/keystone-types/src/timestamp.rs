//! Keystone's timestamps: `2026-11-22T14:26:54.000000Z`, always UTC, always microseconds.
//!
//! # Example
//!
//! ```
//! use keystone_types::Timestamp;
//!
//! let t: Timestamp = serde_json::from_str("\"2026-11-22T14:26:54.000000Z\"").unwrap();
//! assert_eq!(serde_json::to_string(&t).unwrap(), "\"2026-11-22T14:26:54.000000Z\"");
//! // the other spellings Keystone and its clients use are accepted too
//! let u: Timestamp = serde_json::from_str("\"2026-11-22T14:26:54Z\"").unwrap();
//! assert_eq!(t, u);
//! ```

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A UTC instant written the way Keystone writes token expiry and issue times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub DateTime<Utc>);

impl Timestamp {
    /// The current time.
    pub fn now() -> Self {
        Timestamp(Utc::now())
    }

    /// Parses any of the spellings Keystone uses: RFC 3339 with `Z` or an offset, or a naive
    /// `YYYY-MM-DDTHH:MM:SS[.ffffff]` taken as UTC.
    pub fn parse(s: &str) -> Option<Self> {
        if let Ok(t) = DateTime::parse_from_rfc3339(s) {
            return Some(Timestamp(t.with_timezone(&Utc)));
        }
        NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
            .ok()
            .map(|n| Timestamp(n.and_utc()))
    }
}

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.to_rfc3339_opts(SecondsFormat::Micros, true))
    }
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(value: DateTime<Utc>) -> Self {
        Timestamp(value)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Timestamp::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("invalid timestamp: {s:?}")))
    }
}
