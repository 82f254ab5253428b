//! keystonemiddleware's INI file as oslo.config reads it, as a figment provider: its quoting
//! (backslashes and quotes are plain characters, one pair of outer quotes removed), `$`
//! substitution, multi-line values, repeated `MultiStrOpt` lines, and `auth_section` (the
//! service user's keystoneauth options read from another section).

use std::path::{Path, PathBuf};

use figment::value::{Dict, Map, Value};
use figment::{Metadata, Profile, Provider};

/// A keystonemiddleware-style INI file as a figment provider: `[keystone_authtoken]` and
/// `[oslo_policy]` become the same-named tables, values stay strings (the option types convert
/// them as oslo.config does), other sections are ignored.
#[derive(Clone)]
pub struct IniFile {
    path: Option<PathBuf>,
    text: Option<String>,
    extra: Vec<super::ExtraSection>,
}

/// The path only: the text holds passwords.
impl std::fmt::Debug for IniFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("IniFile");
        match &self.path {
            Some(p) => d.field("path", p),
            None => d.field(
                "text",
                &format_args!("[{} bytes]", self.text.as_ref().map_or(0, String::len)),
            ),
        };
        d.finish()
    }
}

impl IniFile {
    /// A file.
    pub fn new(path: &Path) -> Self {
        IniFile {
            path: Some(path.to_owned()),
            text: None,
            extra: Vec::new(),
        }
    }

    /// Text.
    #[allow(clippy::should_implement_trait)]
    pub fn from_str(text: &str) -> Self {
        IniFile {
            path: None,
            text: Some(text.to_owned()),
            extra: Vec::new(),
        }
    }

    /// Also reads these sections (a component's own, such as keystone-proxy's `[proxy]`).
    pub fn with_sections(mut self, extra: &[super::ExtraSection]) -> Self {
        self.extra.extend_from_slice(extra);
        self
    }
}

const SECTIONS: [&str; 3] = ["keystone_authtoken", "oslo_policy", "server"];

/// The options of keystoneauth's authentication plugins (`password`, `v3password`,
/// `v3applicationcredential`), old spellings included: what `auth_section` provides.
const PLUGIN_OPTIONS: &[&str] = &[
    "auth_type",
    "auth_plugin",
    "auth_url",
    "username",
    "user_name",
    "user_id",
    "password",
    "user_domain_id",
    "user_domain_name",
    "project_id",
    "tenant_id",
    "project_name",
    "tenant_name",
    "project_domain_id",
    "project_domain_name",
    "default_domain_id",
    "default_domain_name",
    "domain_id",
    "domain_name",
    "system_scope",
    "trust_id",
    "application_credential_id",
    "application_credential_name",
    "application_credential_secret",
];

/// Options that take one value per line, repeated (oslo.config's `MultiStrOpt`).
const MULTI: &[(&str, &str)] = &[("oslo_policy", "policy_dirs")];

/// oslo.config's reading of a value: one pair of matching outer quotes removed.
fn unquote(v: &str) -> &str {
    let v = v.trim();
    match v.chars().next() {
        Some(q @ ('"' | '\'')) if v.ends_with(q) => {
            v.get(1..v.len().saturating_sub(1)).unwrap_or("")
        }
        _ => v,
    }
}

/// The longest value substitution may build.
const MAX_SUBSTITUTED: usize = 64 << 10;

/// Options whose values are secrets: an error about them never quotes their value.
fn is_secret(option: &str) -> bool {
    option.contains("password") || option.contains("secret")
}

/// oslo.config's template substitution: `$$` and `\$` are `$`, `$name` and `${name}` the value
/// of option `name` (in the same section, else `[DEFAULT]`; `${section.name}` names the
/// section); any other `$` stays. `lookup` gives a referenced option's raw value.
fn substitute(
    value: &str,
    section: &str,
    lookup: &dyn Fn(&str, &str) -> Option<String>,
    depth: usize,
) -> Result<String, String> {
    if depth > 8 {
        return Err("substitutions nest too deep (a cycle?)".into());
    }
    let value = value.replace("\\$", "$$");
    let is_start = |c: char| c == '_' || c.is_ascii_alphabetic();
    let is_id = |c: char| c == '_' || c == '.' || c.is_ascii_alphanumeric();
    let mut out = String::with_capacity(value.len());
    let mut rest = value.as_str();
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (name, consumed) = if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
            continue;
        } else if let Some(braced) = after.strip_prefix('{') {
            match braced.find('}') {
                Some(end)
                    if braced[..end].starts_with(is_start) && braced[..end].chars().all(is_id) =>
                {
                    (&braced[..end], end + 2)
                }
                _ => ("", 0),
            }
        } else if after.starts_with(is_start) {
            let end = after.find(|c: char| !is_id(c)).unwrap_or(after.len());
            (&after[..end], end)
        } else {
            ("", 0)
        };
        if name.is_empty() {
            out.push('$');
            rest = after;
            continue;
        }
        let (group, option) = match name.split_once('.') {
            Some((g, o)) => (g, o),
            None => (section, name),
        };
        let raw = lookup(group, option)
            .or_else(|| lookup("DEFAULT", name))
            .ok_or_else(|| format!("${name} is not set in this file"))?;
        out.push_str(&substitute(&raw, group, lookup, depth + 1)?);
        // references repeated at every level would otherwise grow without bound
        if out.len() > MAX_SUBSTITUTED {
            return Err("the value grows past 64 KiB with its substitutions".into());
        }
        rest = &after[consumed..];
    }
    out.push_str(rest);
    Ok(out)
}

impl Provider for IniFile {
    fn metadata(&self) -> Metadata {
        match &self.path {
            Some(p) => Metadata::from("INI file", p.as_path()),
            None => Metadata::named("INI text"),
        }
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let at = self
            .path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "INI text".into());
        let text = match (&self.path, &self.text) {
            (Some(p), _) => std::fs::read_to_string(p)
                .map_err(|e| figment::Error::from(format!("cannot read {at}: {e}")))?,
            (None, Some(t)) => t.clone(),
            (None, None) => String::new(),
        };
        // as oslo.config's parser: backslashes and quotes are plain characters, indented lines
        // continue a value
        let options = ini::ParseOption {
            enabled_quote: false,
            enabled_escape: false,
            enabled_indented_mutiline_value: true,
            enabled_preserve_key_leading_whitespace: false,
        };
        let ini = ini::Ini::load_from_str_opt(&text, options)
            .map_err(|e| figment::Error::from(format!("{at} does not parse: {e}")))?;
        // every option of a section, repeated sections read in order, as oslo.config merges them
        let values = |section: &str| -> Vec<(String, String)> {
            ini.section_all(Some(section))
                .flat_map(|p| p.iter())
                .map(|(k, v)| (k.trim().to_owned(), unquote(v).to_owned()))
                .collect()
        };
        let lookup = |section: &str, name: &str| -> Option<String> {
            values(section)
                .into_iter()
                .rev()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v)
        };
        let mut dict = Dict::new();
        let sections = SECTIONS
            .iter()
            .copied()
            .chain(self.extra.iter().map(|e| e.name));
        for section in sections {
            if ini.section(Some(section)).is_none() {
                continue;
            }
            // each option with the section its `$` references are read in
            let mut options: Vec<(String, String, String)> = values(section)
                .into_iter()
                .map(|(k, v)| (k, v, section.to_owned()))
                .collect();
            // as keystoneauth: with `auth_section`, the plugin and its options come from that
            // section alone; its other options (a shared section's `timeout`, `insecure`, ...)
            // are not the middleware's
            if section == "keystone_authtoken"
                && let Some(other) = lookup(section, "auth_section")
            {
                if ini.section(Some(other.as_str())).is_none() {
                    return Err(figment::Error::from(format!(
                        "{at}: [{section}] auth_section = {other}: there is no [{other}] section"
                    ))
                    .with_path("auth_section"));
                }
                options.retain(|(k, _, _)| !PLUGIN_OPTIONS.contains(&k.as_str()));
                options.extend(
                    values(&other)
                        .into_iter()
                        .filter(|(k, _)| PLUGIN_OPTIONS.contains(&k.as_str()))
                        .map(|(k, v)| (k, v, other.clone())),
                );
            }
            let mut table = Dict::new();
            // `auth_section` has been followed: not an option to pass on (or warn about)
            for (k, v, group) in options.into_iter().filter(|(k, _, _)| k != "auth_section") {
                let v = substitute(&v, &group, &lookup, 0).map_err(|e| {
                    let e = if is_secret(&k) {
                        "its value names an option that is not set, or grows too long, through \
                         `$` (write `$$` for a `$` in a password)"
                            .to_owned()
                    } else {
                        e
                    };
                    figment::Error::from(format!("{at}: [{section}] {k}: {e}")).with_path(&k)
                })?;
                let multi = MULTI.contains(&(section, k.as_str()))
                    || self
                        .extra
                        .iter()
                        .any(|e| e.name == section && e.multi.contains(&k.as_str()));
                if multi {
                    if let Value::Array(_, items) = table
                        .entry(k)
                        .or_insert_with(|| Value::from(Vec::<String>::new()))
                    {
                        items.push(Value::from(v));
                    }
                } else {
                    table.insert(k, Value::from(v));
                }
            }
            dict.insert(section.to_owned(), Value::from(table));
        }
        Ok(Profile::Default.collect(dict))
    }
}
