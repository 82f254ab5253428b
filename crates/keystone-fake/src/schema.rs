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
    api_boolean_field(body, wrapper, "enabled")
}

/// [`api_boolean`] for another field (`is_domain`).
fn api_boolean_field(body: &Value, wrapper: &str, field: &str) -> ApiResult<()> {
    match body.get(wrapper).and_then(|w| w.get(field)) {
        Some(value) => api_boolean_value(field, value),
        None => Ok(()),
    }
}

/// Keystone's API-boolean schema, as JSON: its types, then oslo's values.
pub(crate) fn api_boolean_schema() -> Value {
    let values: Vec<Value> = [Value::Bool(true)]
        .into_iter()
        .chain(BOOLEAN_STRINGS[..3].iter().map(|s| Value::from(*s)))
        .chain([Value::Bool(false)])
        .chain(BOOLEAN_STRINGS[3..].iter().map(|s| Value::from(*s)))
        .collect();
    serde_json::json!({"type": ["boolean", "string", "null"], "enum": values})
}

/// Keystone's check of one API boolean (an `enabled` in a body or a query) at `field`.
pub(crate) fn api_boolean_value(field: &str, value: &Value) -> ApiResult<()> {
    let message = match value {
        Value::Bool(_) => return Ok(()),
        Value::String(s) if BOOLEAN_STRINGS.contains(&s.as_str()) => return Ok(()),
        Value::String(_) | Value::Null => format!(
            "{} is not one of {}",
            py_repr(value),
            py_repr(&api_boolean_schema()["enum"])
        ),
        other => type_message(other, &["boolean", "string", "null"]),
    };
    Err(attribute_error(field, value, &message))
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

/// The older validator's 400 for a failure of the whole value it checks (its first line:
/// jsonschema's message alone).
pub(crate) fn lazy(f: &Failure) -> ApiError {
    ApiError::bad_request(f.message.clone())
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
        api_boolean(body, "project")?;
        api_boolean_field(body, "project", "is_domain")
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

/// Keystone's federation mapping schema (`federation/utils.py`) for `version` (`1.0`, `2.0`
/// or `3.0`; `None` for any other, which Keystone fails on).
fn mapping_schema(version: &str) -> Option<Value> {
    if !["1.0", "2.0", "3.0"].contains(&version) {
        return None;
    }
    let string = serde_json::json!({"type": "string"});
    let domain = serde_json::json!({"type": "object", "additionalProperties": false,
        "properties": {"id": string, "name": string}});
    let roles = serde_json::json!({"type": "array", "items": {"type": "object",
        "required": ["name"], "additionalProperties": false, "properties": {"name": string}}});
    let mut project = serde_json::json!({"name": string, "roles": roles});
    if version != "1.0" {
        project["domain"] = domain.clone();
    }
    let projects = serde_json::json!({"type": "array", "items": {"type": "object",
        "required": ["name", "roles"], "additionalProperties": false, "properties": project}});
    let user = serde_json::json!({"type": "object", "additionalProperties": false,
        "properties": {"id": string, "name": string, "email": string, "domain": domain,
            "type": {"type": "string", "enum": ["ephemeral", "local"]}}});
    let group = serde_json::json!({"type": "object", "oneOf": [
        {"type": "object", "additionalProperties": false, "required": ["id"],
            "properties": {"id": string}},
        {"type": "object", "additionalProperties": false, "required": ["name", "domain"],
            "properties": {"name": string, "domain": domain}}]});
    let mut local_item = serde_json::json!({"user": user, "projects": projects, "group": group,
        "groups": string, "group_ids": string, "domain": domain});
    if version == "3.0" {
        local_item["projects_json"] = string.clone();
    }
    let local = serde_json::json!({"type": "array", "items": {"type": "object",
        "additionalProperties": false, "properties": local_item}});
    let matching = |key: &str| {
        let mut properties = serde_json::json!({"type": string, "regex": {"type": "boolean"}});
        properties[key] = serde_json::json!({"type": "array"});
        serde_json::json!({"type": "object", "additionalProperties": false,
            "required": ["type", key], "properties": properties})
    };
    let remote = serde_json::json!({"minItems": 1, "type": "array", "items": {"type": "object",
        "oneOf": [
            {"type": "object", "additionalProperties": false, "required": ["type"],
                "properties": {"type": string}},
            matching("any_one_of"), matching("not_any_of"), matching("blacklist"),
            matching("whitelist")]}});
    let rule = serde_json::json!({"type": "object", "required": ["local", "remote"],
        "additionalProperties": false, "properties": {"local": local, "remote": remote}});
    Some(serde_json::json!({"type": "object", "required": ["rules"],
        "properties": {"rules": {"minItems": 1, "type": "array", "items": rule},
            "schema_version": string}}))
}

/// Whether `v` is of the JSON-schema type `t`.
fn is_type(v: &Value, t: &str) -> bool {
    match t {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "boolean" => v.is_boolean(),
        "integer" => v.is_i64() || v.is_u64(),
        "null" => v.is_null(),
        _ => false,
    }
}

/// Whether `s` matches one of the patterns Keystone's schemas use here (searched, as
/// jsonschema searches).
fn matches_pattern(pattern: &str, s: &str) -> bool {
    match pattern {
        "^[^,/]*$" => !s.contains([',', '/']),
        "^[a-zA-Z0-9-]+$" => {
            !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        }
        "^[a-zA-Z0-9+.-]+:.+" => s.split_once(':').is_some_and(|(scheme, rest)| {
            !scheme.is_empty()
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c))
                && !rest.is_empty()
                && !rest.starts_with('\n')
        }),
        _ => true,
    }
}

/// A failure of an instance against a schema: the last element of the instance's path (none
/// at the top), the instance, and jsonschema's message.
#[derive(Debug, Clone)]
pub(crate) struct SchemaError {
    at: Option<String>,
    instance: Value,
    message: String,
}

impl SchemaError {
    /// As Keystone's request-body validator words it.
    pub(crate) fn into_api_error(self) -> ApiError {
        match &self.at {
            Some(at) => attribute_error(at, &self.instance, &self.message),
            None => ApiError::bad_request(self.message),
        }
    }
}

/// Every failure of `v` (at `at`) against `schema`, in jsonschema's order (the schema's
/// keywords as written), for the keywords Keystone's schemas use here.
pub(crate) fn schema_errors(
    schema: &Value,
    v: &Value,
    at: Option<&str>,
    out: &mut Vec<SchemaError>,
) {
    let Some(keywords) = schema.as_object() else {
        return;
    };
    let fail = |out: &mut Vec<SchemaError>, message: String| {
        out.push(SchemaError {
            at: at.map(str::to_owned),
            instance: v.clone(),
            message,
        })
    };
    for (keyword, arg) in keywords {
        match keyword.as_str() {
            "type" => {
                let types: Vec<&str> = match arg {
                    Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                    other => other.as_str().into_iter().collect(),
                };
                if !types.iter().any(|t| is_type(v, t)) {
                    fail(out, type_message(v, &types));
                }
            }
            "required" => {
                if let Some(o) = v.as_object() {
                    for name in arg
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                    {
                        if !o.contains_key(name) {
                            fail(out, format!("'{name}' is a required property"));
                        }
                    }
                }
            }
            "additionalProperties" => {
                if let Some(o) = v.as_object() {
                    let known = keywords.get("properties").and_then(Value::as_object);
                    let mut extra: Vec<&String> = o
                        .keys()
                        .filter(|k| !known.is_some_and(|p| p.contains_key(*k)))
                        .collect();
                    if !extra.is_empty() {
                        extra.sort();
                        fail(out, additional_properties(&extra));
                    }
                }
            }
            "minProperties" | "minItems" => {
                let len = match v {
                    Value::Object(o) if keyword == "minProperties" => Some(o.len()),
                    Value::Array(a) if keyword == "minItems" => Some(a.len()),
                    _ => None,
                };
                let min = arg.as_u64().unwrap_or(0);
                let message = format!("{} should be non-empty", py_repr(v));
                len.is_some_and(|n| (n as u64) < min)
                    .then(|| fail(out, message));
            }
            "uniqueItems" => {
                if let Some(a) = v.as_array()
                    && a.iter().enumerate().any(|(i, x)| a[..i].contains(x))
                {
                    fail(out, format!("{} has non-unique elements", py_repr(v)));
                }
            }
            "minLength" | "maxLength" | "pattern" => {
                if let Some(text) = v.as_str() {
                    let chars = text.chars().count() as u64;
                    let failed = match keyword.as_str() {
                        "minLength" => chars < arg.as_u64().unwrap_or(0),
                        "maxLength" => chars > arg.as_u64().unwrap_or(u64::MAX),
                        _ => !matches_pattern(arg.as_str().unwrap_or_default(), text),
                    };
                    if failed {
                        fail(
                            out,
                            match keyword.as_str() {
                                "minLength" => format!("{} should be non-empty", py_repr(v)),
                                "maxLength" => format!("{} is too long", py_repr(v)),
                                _ => format!("{} does not match {}", py_repr(v), py_repr(arg)),
                            },
                        );
                    }
                }
            }
            "minimum" => {
                if let (Some(n), Some(min)) = (v.as_f64(), arg.as_f64())
                    && !v.is_boolean()
                    && n < min
                {
                    fail(
                        out,
                        format!(
                            "{} is less than the minimum of {}",
                            py_repr(v),
                            py_repr(arg)
                        ),
                    );
                }
            }
            "enum" => {
                let known = arg.as_array().is_some_and(|a| a.contains(v));
                let message = format!("{} is not one of {}", py_repr(v), py_repr(arg));
                (!known).then(|| fail(out, message));
            }
            "oneOf" => {
                let valid = arg
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|sub| {
                        let mut found = Vec::new();
                        schema_errors(sub, v, at, &mut found);
                        found.is_empty()
                    })
                    .count();
                if valid == 0 {
                    fail(
                        out,
                        format!("{} is not valid under any of the given schemas", py_repr(v)),
                    );
                }
            }
            "properties" | "items" => {}
            _ => {}
        }
        // descend in the keyword's place, as jsonschema does
        match keyword.as_str() {
            "properties" => {
                if let (Some(o), Some(props)) = (v.as_object(), arg.as_object()) {
                    for (k, sub) in props {
                        if let Some(value) = o.get(k) {
                            schema_errors(sub, value, Some(k), out);
                        }
                    }
                }
            }
            "items" => {
                for (i, item) in v.as_array().into_iter().flatten().enumerate() {
                    schema_errors(arg, item, Some(&i.to_string()), out);
                }
            }
            _ => {}
        }
    }
}

/// The first failure of a body against a schema, as Keystone's request-body validator
/// reports it.
pub(crate) fn first_failure(schema: &Value, body: &Value) -> ApiResult<()> {
    let mut found = Vec::new();
    schema_errors(schema, body, None, &mut found);
    match found.into_iter().next() {
        Some(e) => Err(e.into_api_error()),
        None => Ok(()),
    }
}

/// jsonschema's message for keys an object may not have (sorted by the caller).
pub(crate) fn additional_properties(extra: &[&String]) -> String {
    let names: Vec<String> = extra
        .iter()
        .map(|k| py_repr(&Value::from(k.as_str())))
        .collect();
    let verb = if names.len() == 1 { "was" } else { "were" };
    format!(
        "Additional properties are not allowed ({} {verb} unexpected)",
        names.join(", ")
    )
}

/// Keystone's check of a mapping (`validate_mapping_structure`): every failure of the whole
/// `mapping` object against its version's schema, sorted, each followed by a newline; `None`
/// when it is valid. An unknown version is Keystone's 500.
pub(crate) fn mapping_failures(mapping: &Value, version: &str) -> ApiResult<Option<String>> {
    let schema = mapping_schema(version).ok_or_else(ApiError::internal)?;
    let mut found = Vec::new();
    schema_errors(&schema, mapping, None, &mut found);
    if found.is_empty() {
        return Ok(None);
    }
    let mut messages: Vec<String> = found.into_iter().map(|e| e.message).collect();
    messages.sort();
    Ok(Some(messages.iter().map(|m| format!("{m}\n")).collect()))
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

    /// What a real Keystone 30.0.0 answered for these mappings.
    #[test]
    fn mapping_failures_as_keystone_words_them() {
        let check = |mapping: serde_json::Value| {
            mapping_failures(&mapping, "1.0")
                .unwrap()
                .unwrap_or_default()
        };
        let ok_local = serde_json::json!([{"user": {"name": "{0}"}}]);
        assert_eq!(
            check(serde_json::json!({})),
            "'rules' is a required property\n"
        );
        assert_eq!(
            check(serde_json::json!({"rules": []})),
            "[] should be non-empty\n"
        );
        assert_eq!(
            check(serde_json::json!({"rules": [{}]})),
            "'local' is a required property\n'remote' is a required property\n"
        );
        assert_eq!(
            check(serde_json::json!({"rules": [{"local": ok_local, "remote": [{"foo": "X"}]}]})),
            "{'foo': 'X'} is not valid under any of the given schemas\n"
        );
        assert_eq!(
            check(serde_json::json!({"rules": [{"local": ok_local, "remote": [5]}]})),
            "5 is not of type 'object'\n5 is not valid under any of the given schemas\n"
        );
        assert_eq!(
            check(
                serde_json::json!({"rules": [{"local": [{"zeta": 1, "alpha": 2, "user": {}}],
                "remote": [{"type": "X"}]}]})
            ),
            "Additional properties are not allowed ('alpha', 'zeta' were unexpected)\n"
        );
        assert_eq!(
            check(
                serde_json::json!({"rules": [{"local": [{"user": {"type": "weird"}}],
                "remote": [{"type": "X"}]}]})
            ),
            "'weird' is not one of ['ephemeral', 'local']\n"
        );
        assert_eq!(
            check(serde_json::json!({"rules": [{"local": 5, "remote": "x"}]})),
            "'x' is not of type 'array'\n5 is not of type 'array'\n"
        );
        assert_eq!(
            check(serde_json::json!({"rules": [{"local": ok_local,
                "remote": [{"type": "X", "any_one_of": ["a"], "regex": true}]}]})),
            ""
        );
        let with_domain = serde_json::json!({"rules": [{"local": [{"projects": [{"name": "p",
            "roles": [{"name": "member"}], "domain": {"name": "d"}}]}],
            "remote": [{"type": "X"}]}]});
        assert_eq!(
            check(with_domain.clone()),
            "Additional properties are not allowed ('domain' was unexpected)\n"
        );
        assert_eq!(mapping_failures(&with_domain, "2.0").unwrap(), None);
        assert!(mapping_failures(&with_domain, "9.9").is_err());
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
