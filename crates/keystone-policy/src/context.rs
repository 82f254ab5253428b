//! Credentials as oslo.context's `RequestContext.to_policy_values()` produces them, from a
//! typed context, and as oslopolicy-checker builds them from a token body.

use serde_json::{Map, Value, json};

/// What oslo.context knows about a caller, for policy decisions.
///
/// # Example
///
/// ```
/// use keystone_policy::PolicyContext;
///
/// let ctx = PolicyContext {
///     user_id: Some("u1".into()),
///     project_id: Some("p1".into()),
///     roles: vec!["member".into(), "reader".into()],
///     ..Default::default()
/// };
/// let values = ctx.to_policy_values();
/// assert_eq!(values["project_id"], "p1");
/// assert_eq!(values["system_scope"], serde_json::Value::Null);
/// assert_eq!(values["is_admin_project"], true);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyContext {
    /// The caller's user.
    pub user_id: Option<String>,
    /// The user's domain.
    pub user_domain_id: Option<String>,
    /// `all` for system-scoped tokens.
    pub system_scope: Option<String>,
    /// The scoped domain.
    pub domain_id: Option<String>,
    /// The scoped project.
    pub project_id: Option<String>,
    /// The scoped project's domain.
    pub project_domain_id: Option<String>,
    /// Role names.
    pub roles: Vec<String>,
    /// Whether the project is the admin project (true unless Keystone says otherwise).
    pub is_admin_project: bool,
    /// The service token's user.
    pub service_user_id: Option<String>,
    /// The service user's domain.
    pub service_user_domain_id: Option<String>,
    /// The service token's project.
    pub service_project_id: Option<String>,
    /// The service project's domain.
    pub service_project_domain_id: Option<String>,
    /// The service token's roles.
    pub service_roles: Vec<String>,
}

impl Default for PolicyContext {
    fn default() -> Self {
        PolicyContext {
            user_id: None,
            user_domain_id: None,
            system_scope: None,
            domain_id: None,
            project_id: None,
            project_domain_id: None,
            roles: Vec::new(),
            is_admin_project: true,
            service_user_id: None,
            service_user_domain_id: None,
            service_project_id: None,
            service_project_domain_id: None,
            service_roles: Vec::new(),
        }
    }
}

impl PolicyContext {
    /// The dictionary `to_policy_values()` returns: every key present, `null` when unknown.
    pub fn to_policy_values(&self) -> Map<String, Value> {
        let v = json!({
            "user_id": self.user_id,
            "user_domain_id": self.user_domain_id,
            "system_scope": self.system_scope,
            "domain_id": self.domain_id,
            "project_id": self.project_id,
            "project_domain_id": self.project_domain_id,
            "roles": self.roles,
            "is_admin_project": self.is_admin_project,
            "service_user_id": self.service_user_id,
            "service_user_domain_id": self.service_user_domain_id,
            "service_project_id": self.service_project_id,
            "service_project_domain_id": self.service_project_domain_id,
            "service_roles": self.service_roles,
        });
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }
}

/// Why a token body gives no credentials, for [`checker_credentials`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialsError {
    /// Neither the body nor its `token` is an object.
    #[error("the access file holds no token object")]
    NoToken,
    /// The token has no list of roles.
    #[error("the token has no roles")]
    NoRoles,
    /// A role of the token has no name.
    #[error("a role has no name")]
    RoleWithoutName,
    /// The token has no `user.id`.
    #[error("the token has no user id")]
    NoUserId,
}

/// The credentials oslopolicy-checker builds from a token body (`{"token": {...}}` or the
/// inner object): the token itself plus `roles` (names), `user_id`, `project_id`,
/// `system_scope` and `is_admin`.
pub fn checker_credentials(
    token: &Value,
    is_admin: bool,
) -> Result<Map<String, Value>, CredentialsError> {
    let token = token.get("token").unwrap_or(token);
    let mut creds = token
        .as_object()
        .cloned()
        .ok_or(CredentialsError::NoToken)?;
    let roles: Vec<Value> = creds
        .get("roles")
        .and_then(Value::as_array)
        .ok_or(CredentialsError::NoRoles)?
        .iter()
        .map(|r| {
            r.get("name")
                .cloned()
                .ok_or(CredentialsError::RoleWithoutName)
        })
        .collect::<Result<_, _>>()?;
    creds.insert("roles".into(), Value::Array(roles));
    let user_id = token
        .pointer("/user/id")
        .cloned()
        .ok_or(CredentialsError::NoUserId)?;
    creds.insert("user_id".into(), user_id);
    if let Some(p) = token.get("project").filter(|p| !p.is_null()) {
        creds.insert(
            "project_id".into(),
            p.get("id").cloned().unwrap_or(Value::Null),
        );
    }
    if token
        .get("system")
        .is_some_and(|s| !s.is_null() && s != &json!({}))
    {
        creds.insert("system_scope".into(), Value::String("all".into()));
    }
    creds.insert("is_admin".into(), Value::Bool(is_admin));
    Ok(creds)
}

/// Flattens nested objects into dotted keys, as oslopolicy-checker does with `--target`.
pub fn flatten(value: &Map<String, Value>) -> Map<String, Value> {
    fn walk(prefix: &str, m: &Map<String, Value>, out: &mut Map<String, Value>) {
        for (k, v) in m {
            let key = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            match v {
                Value::Object(inner) => walk(&key, inner, out),
                other => {
                    out.insert(key, other.clone());
                }
            }
        }
    }
    let mut out = Map::new();
    walk("", value, &mut out);
    out
}
