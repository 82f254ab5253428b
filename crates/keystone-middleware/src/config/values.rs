//! oslo.config's reading of option values, for serde: a value written natively (TOML) or as
//! text (INI, environment), booleans, numbers, comma-separated lists and `MultiStrOpt` paths
//! as oslo.config parses them.

use std::path::PathBuf;

use serde::{Deserialize, Deserializer};

/// A value that may be written natively (TOML) or as text (INI, environment).
#[derive(Deserialize)]
#[serde(untagged)]
enum Loose<T> {
    Native(T),
    Text(String),
}

/// oslo.config's `Boolean`: these words in any case, nothing else (not even an empty value).
fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

pub(super) fn oslo_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    match Loose::<bool>::deserialize(d)? {
        Loose::Native(b) => Ok(b),
        Loose::Text(s) => parse_bool(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("{s:?} is not a boolean"))),
    }
}

pub(super) fn oslo_opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    oslo_bool(d).map(Some)
}

fn number<'de, D: Deserializer<'de>, T: std::str::FromStr + Deserialize<'de>>(
    d: D,
) -> Result<T, D::Error> {
    match Loose::<T>::deserialize(d)? {
        Loose::Native(n) => Ok(n),
        Loose::Text(s) => s
            .trim()
            .parse()
            .map_err(|_| serde::de::Error::custom(format!("{s:?} is not a number"))),
    }
}

pub(super) fn oslo_u32<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    number(d)
}

pub(super) fn oslo_u64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    number(d)
}

pub(super) fn oslo_i64<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    number(d)
}

pub(super) fn oslo_opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    number(d).map(Some)
}

pub(super) fn oslo_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    match Loose::<Vec<String>>::deserialize(d)? {
        Loose::Native(v) => Ok(v),
        Loose::Text(s) => Ok(s
            .split(',')
            .map(|x| x.trim().to_owned())
            .filter(|x| !x.is_empty())
            .collect()),
    }
}

/// `policy_dirs`, oslo.config's `MultiStrOpt`: one path per (repeated) line, commas and all.
pub(super) fn oslo_paths<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<PathBuf>, D::Error> {
    Ok(match Loose::<Vec<String>>::deserialize(d)? {
        Loose::Native(v) => v.into_iter().map(PathBuf::from).collect(),
        Loose::Text(s) => vec![PathBuf::from(s)],
    })
}

/// `access_log_level`: a level name in any case (`off` and `none` turn the log off), nothing
/// else, so that a misspelt level is named at start instead of quietly logging at `info`.
pub(super) fn log_level<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    match s.trim().to_ascii_lowercase().as_str() {
        l @ ("off" | "none" | "trace" | "debug" | "info" | "warn" | "warning" | "error") => {
            Ok(l.to_owned())
        }
        _ => Err(serde::de::Error::custom(format!(
            "{s:?} is not a log level: off, debug, info, warn or error"
        ))),
    }
}

/// A share, from 0 to 1.
pub(super) fn share<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let x: f64 = number(d)?;
    if (0.0..=1.0).contains(&x) {
        Ok(x)
    } else {
        Err(serde::de::Error::custom(format!(
            "{x} is not a share from 0 to 1"
        )))
    }
}
