//! Keystone's JSON-schema checks of the fields whose limits the fake enforces beyond their
//! types (serde checks those): names of projects, domains and users, project tags (endpoint
//! groups' bodies are checked in `api::endpoint_filter`, with these names' checks). Keystone
//! 30 has two validators and words their failures differently:
//!
//! - the request-body validator (`keystone/api/validation`), which runs before the token and
//!   the policy are checked: `Invalid input for field/attribute {field}. Value: {str(value)}.
//!   {message}` ([`invalid_attribute`]);
//! - the older validator handlers call after the policy check (`lazy_validate`), whose message
//!   is jsonschema's whole text; the fake keeps its first line, as it does for every such
//!   message ([`lazy`]).
//!
//! `message` is jsonschema 4's (`'' should be non-empty`, `'x…' is too long`, `… does not match
//! '^[^,/]*$'`, `… has non-unique elements`), with values written as Python writes them.

use keystone_policy::{py_repr, py_str};
use keystone_types::resources::{
    DomainCreateRequest, DomainUpdateRequest, ProjectCreateRequest, ProjectUpdateRequest,
    UserCreateRequest, UserUpdateRequest,
};
use serde_json::Value;

use crate::error::{ApiError, ApiResult};

/// A body whose fields are checked against Keystone's schema once it has been read (see
/// `extract::Checked`).
pub(crate) trait Check {
    /// The failures the body shows before it is read as `Self` (its JSON as sent), as
    /// Keystone's request-body validator words them.
    fn check_raw(_body: &Value) -> ApiResult<()> {
        Ok(())
    }

    /// The first failure, as Keystone's request-body validator words it.
    fn check(&self) -> ApiResult<()>;
}

/// The strings Keystone's API booleans (`enabled` of projects, domains and users) accept
/// besides `true` and `false`: oslo's, as its schema lists them.
const BOOLEAN_STRINGS: [&str; 19] = [
    "True", "TRUE", "true", "False", "FALSE", "false", "", "1", "0", "y", "Y", "n", "N", "on",
    "ON", "off", "OFF", "yes", "no",
];

/// Keystone's check of an API boolean (`type: [boolean, string, null]` and its enum) at
/// `body[wrapper].enabled`. A string of the enum passes here (Keystone's schema lets it through
/// and then fails storing it; the fake's typed read refuses it with a 400).
fn api_boolean(body: &Value, wrapper: &str) -> ApiResult<()> {
    let Some(value) = body.get(wrapper).and_then(|w| w.get("enabled")) else {
        return Ok(());
    };
    let message = match value {
        Value::Bool(_) => return Ok(()),
        Value::String(s) if BOOLEAN_STRINGS.contains(&s.as_str()) => return Ok(()),
        Value::String(_) | Value::Null => {
            let listed: Vec<String> = [Value::Bool(true)]
                .into_iter()
                .chain(BOOLEAN_STRINGS[..3].iter().map(|s| Value::from(*s)))
                .chain([Value::Bool(false)])
                .chain(BOOLEAN_STRINGS[3..].iter().map(|s| Value::from(*s)))
                .map(|v| py_repr(&v))
                .collect();
            format!("{} is not one of [{}]", py_repr(value), listed.join(", "))
        }
        other => type_message(other, &["boolean", "string", "null"]),
    };
    Err(attribute_error("enabled", value, &message))
}

/// A tag's longest length, in characters.
pub(crate) const TAG_MAX_CHARS: usize = 255;
/// The most tags a project holds.
pub(crate) const MAX_TAGS: usize = 80;
/// A name's longest length (projects and domains), in characters.
const NAME_MAX_CHARS: usize = 64;
/// `parameter_types.name`'s longest length (users, endpoint groups), in characters.
const PARAMETER_NAME_MAX_CHARS: usize = 255;
/// Keystone's name pattern, `[\S]+` searched: one character that is not whitespace.
const NAME_PATTERN: (&str, fn(&str) -> bool) =
    (r"[\S]+", |s| s.chars().any(|c| !c.is_whitespace()));

/// One failure: the place in the body (the last segment of jsonschema's path, an index for an
/// array's item), the value found there, and the message.
#[derive(Debug, PartialEq)]
pub(crate) struct Failure {
    field: String,
    value: Value,
    message: String,
}

/// The request-body validator's 400.
pub(crate) fn invalid_attribute(f: &Failure) -> ApiError {
    ApiError::bad_request(format!(
        "Invalid input for field/attribute {}. Value: {}. {}",
        f.field,
        py_str(&f.value),
        f.message
    ))
}

/// The request-body validator's 400 for `value` at `field` (the last segment of the path).
pub(crate) fn attribute_error(field: &str, value: &Value, message: &str) -> ApiError {
    invalid_attribute(&failure(field, value.clone(), message.to_owned()))
}

/// jsonschema's `type` message: `5 is not of type 'string'`, or with several types
/// `5 is not of type 'string', 'null'`.
pub(crate) fn type_message(value: &Value, types: &[&str]) -> String {
    let names: Vec<String> = types.iter().map(|t| format!("'{t}'")).collect();
    format!("{} is not of type {}", py_repr(value), names.join(", "))
}

/// The older validator's 400 (its first line: the place, then the message).
pub(crate) fn lazy(f: &Failure, with_path: bool) -> ApiError {
    if with_path {
        ApiError::bad_request(format!(
            "Invalid input for field '{}': {}",
            f.field, f.message
        ))
    } else {
        ApiError::bad_request(f.message.clone())
    }
}

fn failure(field: &str, value: Value, message: String) -> Failure {
    Failure {
        field: field.to_owned(),
        value,
        message,
    }
}

/// jsonschema's `minLength`/`maxLength`/`pattern` failures for a string, in its order.
fn string_failure(
    field: &str,
    s: &str,
    max: usize,
    pattern: (&str, fn(&str) -> bool),
) -> Option<Failure> {
    let value = Value::String(s.to_owned());
    let repr = py_repr(&value);
    let message = if s.is_empty() {
        format!("{repr} should be non-empty")
    } else if s.chars().count() > max {
        format!("{repr} is too long")
    } else if !(pattern.1)(s) {
        format!(
            "{repr} does not match {}",
            py_repr(&Value::String(pattern.0.to_owned()))
        )
    } else {
        return None;
    };
    Some(failure(field, value, message))
}

/// A project's or a domain's name: 1 to 64 characters, one of them not whitespace
/// (`_name_properties`: `[\S]+`, searched).
pub(crate) fn name_failure(name: &str) -> Option<Failure> {
    string_failure("name", name, NAME_MAX_CHARS, NAME_PATTERN)
}

/// A name of Keystone's `parameter_types.name` (users, endpoint groups, and a list query's
/// `name` where its schema names it): 1 to 255 characters, one of them not whitespace.
pub(crate) fn parameter_name_failure(name: &str) -> Option<Failure> {
    string_failure("name", name, PARAMETER_NAME_MAX_CHARS, NAME_PATTERN)
}

/// One tag: 1 to 255 characters, neither `,` nor `/` (`^[^,/]*$`). `field` is the place
/// jsonschema names: the tag's index in a list.
pub(crate) fn tag_failure(field: &str, tag: &str) -> Option<Failure> {
    string_failure(
        field,
        tag,
        TAG_MAX_CHARS,
        ("^[^,/]*$", |s| !s.contains([',', '/'])),
    )
}

/// A list of tags (`_project_tags_list_properties`): each tag, then at most 80, then no tag
/// twice (exact comparison).
pub(crate) fn tags_failure(tags: &[String]) -> Option<Failure> {
    if let Some(f) = tags
        .iter()
        .enumerate()
        .find_map(|(i, t)| tag_failure(&i.to_string(), t))
    {
        return Some(f);
    }
    let value = Value::from(tags.to_vec());
    let repr = py_repr(&value);
    let message = if tags.len() > MAX_TAGS {
        format!("{repr} is too long")
    } else if tags.iter().enumerate().any(|(i, t)| tags[..i].contains(t)) {
        format!("{repr} has non-unique elements")
    } else {
        return None;
    };
    Some(failure("tags", value, message))
}

/// The checks a project or domain body gets, in the schema's order (name, then tags).
fn resource_failure(name: Option<&str>, tags: Option<&[String]>) -> ApiResult<()> {
    let found = name
        .and_then(name_failure)
        .or_else(|| tags.and_then(tags_failure));
    match found {
        Some(f) => Err(invalid_attribute(&f)),
        None => Ok(()),
    }
}

impl Check for ProjectCreateRequest {
    fn check_raw(body: &Value) -> ApiResult<()> {
        api_boolean(body, "project")
    }

    fn check(&self) -> ApiResult<()> {
        let p = &self.project;
        resource_failure(Some(&p.name), p.tags.as_deref())
    }
}

impl Check for ProjectUpdateRequest {
    fn check_raw(body: &Value) -> ApiResult<()> {
        api_boolean(body, "project")
    }

    fn check(&self) -> ApiResult<()> {
        let p = &self.project;
        resource_failure(p.name.as_deref(), p.tags.as_deref())
    }
}

impl Check for DomainCreateRequest {
    fn check_raw(body: &Value) -> ApiResult<()> {
        api_boolean(body, "domain")
    }

    fn check(&self) -> ApiResult<()> {
        let d = &self.domain;
        resource_failure(Some(&d.name), d.tags.as_deref())
    }
}

impl Check for DomainUpdateRequest {
    fn check_raw(body: &Value) -> ApiResult<()> {
        api_boolean(body, "domain")
    }

    fn check(&self) -> ApiResult<()> {
        let d = &self.domain;
        resource_failure(d.name.as_deref(), d.tags.as_deref())
    }
}

impl Check for UserCreateRequest {
    fn check_raw(body: &Value) -> ApiResult<()> {
        api_boolean(body, "user")
    }

    fn check(&self) -> ApiResult<()> {
        match parameter_name_failure(&self.user.name) {
            Some(f) => Err(invalid_attribute(&f)),
            None => Ok(()),
        }
    }
}

impl Check for UserUpdateRequest {
    fn check_raw(body: &Value) -> ApiResult<()> {
        api_boolean(body, "user")
    }

    fn check(&self) -> ApiResult<()> {
        let found = self.user.name.as_deref().and_then(parameter_name_failure);
        match found {
            Some(f) => Err(invalid_attribute(&f)),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(f: Option<Failure>) -> String {
        f.map(|f| invalid_attribute(&f).message).unwrap_or_default()
    }

    /// The messages a real Keystone 30.0.0 answered (jsonschema 4.26).
    #[test]
    fn messages_as_keystone_words_them() {
        let tags = |t: &[&str]| t.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            text(tags_failure(&tags(&["a", "a"]))),
            "Invalid input for field/attribute tags. Value: ['a', 'a']. ['a', 'a'] has \
             non-unique elements"
        );
        assert_eq!(
            text(tags_failure(&tags(&["a/b"]))),
            "Invalid input for field/attribute 0. Value: a/b. 'a/b' does not match '^[^,/]*$'"
        );
        assert_eq!(
            text(tags_failure(&tags(&["", "b"]))),
            "Invalid input for field/attribute 0. Value: . '' should be non-empty"
        );
        let many: Vec<String> = (0..=80).map(|i| format!("t{i}")).collect();
        assert!(text(tags_failure(&many)).ends_with("'t80'] is too long"));
        assert_eq!(tags_failure(&many[..80]), None);
        assert_eq!(tags_failure(&tags(&["café", "x y"])), None);
        assert_eq!(
            text(name_failure("")),
            "Invalid input for field/attribute name. Value: . '' should be non-empty"
        );
        assert_eq!(
            text(name_failure("  ")),
            r"Invalid input for field/attribute name. Value:   . '  ' does not match '[\\S]+'"
        );
        let long = "n".repeat(65);
        assert_eq!(
            text(name_failure(&long)),
            format!("Invalid input for field/attribute name. Value: {long}. '{long}' is too long")
        );
        assert_eq!(name_failure(&"é".repeat(64)), None);
    }

    #[test]
    fn api_booleans_as_keystone_checks_them() {
        let message = |v: serde_json::Value| {
            api_boolean(&serde_json::json!({"project": {"enabled": v}}), "project")
                .err()
                .map(|e| e.message)
        };
        let listed = "[True, 'True', 'TRUE', 'true', False, 'False', 'FALSE', 'false', '', '1', \
                      '0', 'y', 'Y', 'n', 'N', 'on', 'ON', 'off', 'OFF', 'yes', 'no']";
        assert_eq!(
            message("maybe".into()).unwrap(),
            format!(
                "Invalid input for field/attribute enabled. Value: maybe. 'maybe' is not one of {listed}"
            )
        );
        assert_eq!(
            message(serde_json::Value::Null).unwrap(),
            format!(
                "Invalid input for field/attribute enabled. Value: None. None is not one of {listed}"
            )
        );
        assert_eq!(
            message(1.into()).unwrap(),
            "Invalid input for field/attribute enabled. Value: 1. 1 is not of type 'boolean', \
             'string', 'null'"
        );
        assert_eq!(message(true.into()), None);
        assert_eq!(message("yes".into()), None);
    }
}
