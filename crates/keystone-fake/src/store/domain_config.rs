//! Keystone's domain-specific configuration (`/v3/domains/{id}/config`): stored per domain and
//! shown as Keystone shows it, enforced nowhere (as Keystone without
//! `domain_specific_drivers_enabled`: a domain's `identity.driver` changes nothing). Only the
//! `identity` and `ldap` options Keystone lets a domain set are taken; `ldap.password` is kept
//! but never shown. Keystone words every refusal as a 403 `Invalid domain specific
//! configuration: …` and every absence as `Could not find … in domain configuration for
//! domain …`.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::Store;
use crate::error::{ApiError, StatusCode};

/// The options Keystone lets a domain configure, by group, in Keystone's order (the order of
/// the defaults' answer).
const WHITELISTED: &[(&str, &[&str])] = &[
    ("identity", &["driver", "list_limit"]),
    (
        "ldap",
        &[
            "url",
            "user",
            "suffix",
            "query_scope",
            "page_size",
            "alias_dereferencing",
            "debug_level",
            "chase_referrals",
            "user_tree_dn",
            "user_filter",
            "user_objectclass",
            "user_id_attribute",
            "user_name_attribute",
            "user_mail_attribute",
            "user_description_attribute",
            "user_pass_attribute",
            "user_enabled_attribute",
            "user_enabled_invert",
            "user_enabled_mask",
            "user_enabled_default",
            "user_attribute_ignore",
            "user_default_project_id_attribute",
            "user_enabled_emulation",
            "user_enabled_emulation_dn",
            "user_enabled_emulation_use_group_config",
            "user_additional_attribute_mapping",
            "group_tree_dn",
            "group_filter",
            "group_objectclass",
            "group_id_attribute",
            "group_name_attribute",
            "group_members_are_ids",
            "group_member_attribute",
            "group_desc_attribute",
            "group_attribute_ignore",
            "group_additional_attribute_mapping",
            "tls_cacertfile",
            "tls_cacertdir",
            "use_tls",
            "tls_req_cert",
            "use_pool",
            "pool_size",
            "pool_retry_max",
            "pool_retry_delay",
            "pool_connection_timeout",
            "pool_connection_lifetime",
            "use_auth_pool",
            "auth_pool_size",
            "auth_pool_connection_lifetime",
        ],
    ),
];

/// The options a domain may set but Keystone never shows, by group.
const SENSITIVE: &[(&str, &[&str])] = &[("identity", &[]), ("ldap", &["password"])];

/// The security compliance options Keystone shows any caller, for the default domain only.
const SECURITY_COMPLIANCE: [&str; 2] = ["password_regex", "password_regex_description"];

/// The group whose reading is its own policy and answer.
pub(crate) const SECURITY_COMPLIANCE_GROUP: &str = "security_compliance";

/// Keystone 30's default of a whitelisted option (its `keystone.conf` defaults).
fn default_value(group: &str, option: &str) -> Value {
    match (group, option) {
        ("identity", "driver") => json!("sql"),
        ("ldap", "url") => json!("ldap://localhost"),
        ("ldap", "suffix") => json!("cn=example,cn=com"),
        ("ldap", "query_scope") => json!("one"),
        ("ldap", "page_size") | ("ldap", "user_enabled_mask") => json!(0),
        ("ldap", "alias_dereferencing") => json!("default"),
        ("ldap", "user_objectclass") => json!("inetOrgPerson"),
        ("ldap", "user_id_attribute") | ("ldap", "group_id_attribute") => json!("cn"),
        ("ldap", "user_name_attribute") => json!("sn"),
        ("ldap", "user_mail_attribute") => json!("mail"),
        ("ldap", "user_description_attribute") | ("ldap", "group_desc_attribute") => {
            json!("description")
        }
        ("ldap", "user_pass_attribute") => json!("userPassword"),
        ("ldap", "user_enabled_attribute") => json!("enabled"),
        ("ldap", "user_enabled_default") => json!("True"),
        ("ldap", "user_attribute_ignore") => json!(["default_project_id"]),
        ("ldap", "user_additional_attribute_mapping")
        | ("ldap", "group_attribute_ignore")
        | ("ldap", "group_additional_attribute_mapping") => json!([]),
        ("ldap", "group_objectclass") => json!("groupOfNames"),
        ("ldap", "group_name_attribute") => json!("ou"),
        ("ldap", "group_member_attribute") => json!("member"),
        ("ldap", "tls_req_cert") => json!("demand"),
        ("ldap", "user_enabled_invert")
        | ("ldap", "user_enabled_emulation")
        | ("ldap", "user_enabled_emulation_use_group_config")
        | ("ldap", "group_members_are_ids")
        | ("ldap", "use_tls") => json!(false),
        ("ldap", "use_pool") | ("ldap", "use_auth_pool") => json!(true),
        ("ldap", "pool_size") => json!(10),
        ("ldap", "pool_retry_max") => json!(3),
        ("ldap", "pool_retry_delay") => json!(0.1),
        ("ldap", "pool_connection_timeout") => json!(-1),
        ("ldap", "pool_connection_lifetime") => json!(600),
        ("ldap", "auth_pool_size") => json!(100),
        ("ldap", "auth_pool_connection_lifetime") => json!(60),
        _ => Value::Null,
    }
}

/// A stored option's value.
#[derive(Clone)]
pub(crate) struct ConfigValue {
    /// The value, as given.
    value: Value,
    /// Whether it is one Keystone never shows (`ldap.password`).
    sensitive: bool,
}

impl std::fmt::Debug for ConfigValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.sensitive {
            f.write_str("[redacted]")
        } else {
            self.value.fmt(f)
        }
    }
}

/// A domain's stored options, by (group, option).
pub(crate) type DomainConfig = BTreeMap<(String, String), ConfigValue>;

/// Keystone's `InvalidDomainConfig`: a 403 whose message adds a period to the reason (even to
/// one that ends with one).
fn invalid(reason: &str) -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        format!("Invalid domain specific configuration: {reason}."),
    )
}

/// Keystone's `DomainConfigNotFound` for what `group` and `option` name.
fn not_found(domain_id: &str, group: Option<&str>, option: Option<&str>) -> ApiError {
    let what = match (group, option) {
        (Some(g), Some(o)) => format!("option {o} in group {g}"),
        (Some(g), None) => format!("group {g}"),
        _ => "any options".to_owned(),
    };
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!("Could not find {what} in domain configuration for domain {domain_id}."),
    )
}

fn options_of(
    table: &[(&str, &'static [&'static str])],
    group: &str,
) -> Option<&'static [&'static str]> {
    table.iter().find(|(g, _)| *g == group).map(|(_, o)| *o)
}

/// Whether `option` of `group` is one Keystone keeps but never shows.
fn is_sensitive(group: &str, option: &str) -> bool {
    options_of(SENSITIVE, group).is_some_and(|o| o.contains(&option))
}

/// Keystone's `_assert_valid_group_and_option`: the group must be `identity` or `ldap`, the
/// option one of that group's (whitelisted or sensitive).
pub(crate) fn check_group_option(
    group: Option<&str>,
    option: Option<&str>,
) -> Result<(), ApiError> {
    let Some(group) = group else {
        return Ok(());
    };
    let known = |table| options_of(table, group);
    if known(WHITELISTED).is_none() && known(SENSITIVE).is_none() {
        return Err(invalid(&format!(
            "Group {group} is not supported for domain specific configurations"
        )));
    }
    if let Some(option) = option {
        let has = |table| known(table).is_some_and(|o| o.contains(&option));
        if !has(WHITELISTED) && !has(SENSITIVE) {
            return Err(invalid(&format!(
                "Option {option} in group {group} is not supported for domain specific \
                 configurations"
            )));
        }
    }
    Ok(())
}

/// Python's truth of a JSON value.
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// Python's type name of a JSON value.
fn py_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// The "dictionary of options" refusal for `group`.
fn not_a_dictionary(group: &str) -> ApiError {
    invalid(&format!(
        "The value of group {group} specified in the config should be a dictionary of options"
    ))
}

/// Keystone's `_assert_valid_config`: a config with something in it, each group a non-empty
/// object of valid options. What Python fails at on a config that is not an object is a 400
/// with its `TypeError`'s words.
fn check_config(config: &Value) -> Result<&Map<String, Value>, ApiError> {
    if !truthy(config) {
        return Err(invalid("No options specified"));
    }
    match config {
        Value::Object(groups) => {
            for (group, options) in groups {
                let Some(options) = options.as_object().filter(|o| !o.is_empty()) else {
                    return Err(not_a_dictionary(group));
                };
                for option in options.keys() {
                    check_group_option(Some(group), Some(option))?;
                }
            }
            Ok(groups)
        }
        Value::String(_) => Err(ApiError::bad_request(
            "string indices must be integers, not 'str'",
        )),
        Value::Array(items) => {
            // `config[item]` for the first item (the list is not empty): a list takes only
            // integer indices, then the group is that index, which is no group Keystone knows
            let first = items.first().unwrap_or(&Value::Null);
            let index = match first {
                Value::Bool(b) => Some(i64::from(*b)),
                Value::Number(n) => n.as_i64(),
                _ => None,
            };
            let Some(index) = index else {
                return Err(ApiError::bad_request(format!(
                    "list indices must be integers or slices, not {}",
                    py_type(first)
                )));
            };
            let len = i64::try_from(items.len()).unwrap_or(i64::MAX);
            let at = if index < 0 { index + len } else { index };
            let Some(value) = usize::try_from(at).ok().and_then(|i| items.get(i)) else {
                return Err(ApiError::internal());
            };
            let group = index.to_string();
            if value.as_object().is_none_or(Map::is_empty) {
                return Err(not_a_dictionary(&group));
            }
            Err(invalid(&format!(
                "Group {group} is not supported for domain specific configurations"
            )))
        }
        other => Err(ApiError::bad_request(format!(
            "'{}' object is not iterable",
            py_type(other)
        ))),
    }
}

/// `{group: {option: value}}` of `options`, or `{option: value}` when one option is asked for.
fn to_config<'a>(
    options: impl Iterator<Item = (&'a (String, String), &'a ConfigValue)>,
    option: Option<&str>,
) -> Map<String, Value> {
    let mut config = Map::new();
    for ((g, o), v) in options {
        if option.is_some() {
            config.insert(o.clone(), v.value.clone());
        } else if let Value::Object(group) = config
            .entry(g.clone())
            .or_insert_with(|| Value::Object(Map::new()))
        {
            group.insert(o.clone(), v.value.clone());
        }
    }
    config
}

/// Whether the stored option `key` is (group, option), when given.
fn matches(key: &(String, String), group: Option<&str>, option: Option<&str>) -> bool {
    group.is_none_or(|g| key.0 == g) && option.is_none_or(|o| key.1 == o)
}

/// The options of `config` as (group, option, value) to store.
fn to_rows(config: &Map<String, Value>) -> Vec<((String, String), ConfigValue)> {
    config
        .iter()
        .flat_map(|(g, options)| {
            options
                .as_object()
                .into_iter()
                .flatten()
                .map(move |(o, v)| {
                    (
                        (g.clone(), o.clone()),
                        ConfigValue {
                            value: v.clone(),
                            sensitive: is_sensitive(g, o),
                        },
                    )
                })
        })
        .collect()
}

/// Keystone's answer to reading the default domain's `security_compliance` group (or one of
/// its two readable options): the fake has no such settings, so `null`s.
pub(crate) fn security_compliance_config(
    domain_id: &str,
    option: Option<&str>,
) -> Result<Map<String, Value>, ApiError> {
    // Keystone's `[identity] default_domain_id`
    if domain_id != "default" {
        return Err(invalid(
            "Reading security compliance information for any domain other than the default \
             domain is not allowed or supported.",
        ));
    }
    let mut config = Map::new();
    match option {
        Some(o) if !SECURITY_COMPLIANCE.contains(&o) => {
            return Err(invalid(
                "Reading security compliance values other than password_regex and \
                 password_regex_description is not allowed.",
            ));
        }
        Some(o) => {
            config.insert(o.to_owned(), Value::Null);
        }
        None => {
            let group = SECURITY_COMPLIANCE
                .iter()
                .map(|o| ((*o).to_owned(), Value::Null))
                .collect();
            config.insert(SECURITY_COMPLIANCE_GROUP.to_owned(), Value::Object(group));
        }
    }
    Ok(config)
}

/// Keystone's defaults of the whitelisted options: all of them, a group's, or one option's
/// (a sensitive option's default is not readable).
pub(crate) fn default_domain_config(
    group: Option<&str>,
    option: Option<&str>,
) -> Result<Map<String, Value>, ApiError> {
    check_group_option(group, option)?;
    let mut config = Map::new();
    for (g, options) in WHITELISTED
        .iter()
        .filter(|(g, _)| group.is_none_or(|x| x == *g))
    {
        if let Some(o) = option {
            if !options.contains(&o) {
                return Err(invalid(&format!(
                    "Reading the default for option {o} in group {g} is not supported"
                )));
            }
            config.insert(o.to_owned(), default_value(g, o));
        } else {
            let values = options
                .iter()
                .map(|o| ((*o).to_owned(), default_value(g, o)))
                .collect();
            config.insert((*g).to_owned(), Value::Object(values));
        }
    }
    Ok(config)
}

impl Store {
    /// The shown (whitelisted) options of a domain's config: all, a group's or one, or
    /// Keystone's 404 naming what is missing. An unknown domain has none.
    pub(crate) fn domain_config(
        &self,
        domain_id: &str,
        group: Option<&str>,
        option: Option<&str>,
    ) -> Result<Map<String, Value>, ApiError> {
        check_group_option(group, option)?;
        let shown: Vec<_> = self
            .domain_configs
            .get(domain_id)
            .into_iter()
            .flatten()
            .filter(|(k, v)| !v.sensitive && matches(k, group, option))
            .collect();
        if shown.is_empty() {
            return Err(not_found(domain_id, group, option));
        }
        Ok(to_config(shown.into_iter(), option))
    }

    /// Whether a domain has any option stored, sensitive ones included.
    fn has_domain_config(
        &self,
        domain_id: &str,
        group: Option<&str>,
        option: Option<&str>,
    ) -> bool {
        self.domain_configs
            .get(domain_id)
            .is_some_and(|c| c.keys().any(|k| matches(k, group, option)))
    }

    /// Replaces a domain's whole config with `config` (the body's `config`, `None` when
    /// absent); answers whether it had any option before (Keystone's 200 rather than 201) and
    /// the shown config.
    pub(crate) fn create_domain_config(
        &mut self,
        domain_id: &str,
        config: Option<&Value>,
    ) -> Result<(bool, Map<String, Value>), ApiError> {
        self.domain_exists(domain_id)?;
        let existed = self.has_domain_config(domain_id, None, None);
        let config = check_config(config.unwrap_or(&Value::Null))?;
        let rows: DomainConfig = to_rows(config).into_iter().collect();
        self.domain_configs.insert(domain_id.to_owned(), rows);
        let shown = self
            .domain_config(domain_id, None, None)
            .unwrap_or_default();
        Ok((existed, shown))
    }

    /// Changes options of a domain's config as Keystone's `update_config` does: on a group
    /// path the body holds that group only, on an option path that option only, and it must
    /// exist already (sensitive ones count); answers the whole shown config (a 404 when only
    /// sensitive options are left, although the change is made).
    pub(crate) fn update_domain_config(
        &mut self,
        domain_id: &str,
        config: Option<&Value>,
        group: Option<&str>,
        option: Option<&str>,
    ) -> Result<Map<String, Value>, ApiError> {
        self.domain_exists(domain_id)?;
        let body = config.cloned().unwrap_or_else(|| Value::Object(Map::new()));
        let config = match (group, option) {
            (Some(g), Some(_)) => {
                let mut wrapped = Map::new();
                wrapped.insert(g.to_owned(), body);
                Value::Object(wrapped)
            }
            _ => body,
        };
        let config = check_config(&config)?;
        check_group_option(group, option)?;
        if let Some(g) = group {
            let options_given = config.get(g).and_then(Value::as_object).map(Map::len);
            if config.len() != 1 || (option.is_some() && options_given != Some(1)) {
                return Err(invalid(&match option {
                    Some(o) => format!(
                        "Trying to update option {o} in group {g}, so that, and only that, \
                         option must be specified  in the config"
                    ),
                    None => format!(
                        "Trying to update group {g}, so that, and only that, group must be \
                         specified in the config"
                    ),
                }));
            }
            let Some(given) = config.get(g).and_then(Value::as_object) else {
                let other = config.keys().next().cloned().unwrap_or_default();
                return Err(invalid(&format!(
                    "request to update group {g}, but config provided contains group \
                     {other} instead"
                )));
            };
            if let Some(o) = option
                && !given.contains_key(o)
            {
                let other = given.keys().next().cloned().unwrap_or_default();
                return Err(invalid(&format!(
                    "Trying to update option {o} in group {g}, but config provided contains \
                     option {other} instead"
                )));
            }
            if !self.has_domain_config(domain_id, group, option) {
                return Err(not_found(domain_id, group, option));
            }
        }
        let rows = to_rows(config);
        self.domain_configs
            .entry(domain_id.to_owned())
            .or_default()
            .extend(rows);
        self.domain_config(domain_id, None, None)
    }

    /// Deletes a domain's whole config, a group or an option (sensitive ones included): a
    /// group must be there, and an option there with a value Python finds true.
    pub(crate) fn delete_domain_config(
        &mut self,
        domain_id: &str,
        group: Option<&str>,
        option: Option<&str>,
    ) -> Result<(), ApiError> {
        self.domain_exists(domain_id)?;
        check_group_option(group, option)?;
        if let Some(g) = group {
            if !self.has_domain_config(domain_id, Some(g), None) {
                return Err(not_found(domain_id, Some(g), None));
            }
            if let Some(o) = option {
                let value = self
                    .domain_configs
                    .get(domain_id)
                    .and_then(|c| c.get(&(g.to_owned(), o.to_owned())));
                if !value.is_some_and(|v| truthy(&v.value)) {
                    return Err(not_found(domain_id, group, option));
                }
            }
        }
        if let Some(c) = self.domain_configs.get_mut(domain_id) {
            c.retain(|k, _| !matches(k, group, option));
            if c.is_empty() {
                self.domain_configs.remove(domain_id);
            }
        }
        Ok(())
    }

    /// Keystone's 404 for a domain that is not there.
    fn domain_exists(&self, domain_id: &str) -> Result<(), ApiError> {
        super::found(&self.domains, "domain", domain_id).map(|_| ())
    }
}
