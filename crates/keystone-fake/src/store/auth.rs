//! Token requests: a `POST /v3/auth/tokens` body authenticated method by method, then scoped,
//! as Keystone's `AuthInfo` and token provider do it.

use chrono::{DateTime, Duration, DurationRound, Utc};
use keystone_types::auth::{AuthRequest, Identity, PasswordUser, Scope, SystemScope};
use keystone_types::token::Token;

use super::tokens::new_audit_id;
use super::{
    AppCredRec, ProjectRec, Store, Target, TokenProblem, TokenRec, TokenScope, TrustRec, UserRec,
    is_delegated,
};
use crate::error::{ApiError, StatusCode, validation_error};

impl Store {
    /// Finds the user an auth request names: by id, or by name within a domain (a name
    /// without a domain is Keystone's 400). Not finding them is the caller's business.
    fn auth_user(&self, u: &PasswordUser) -> Result<Option<&UserRec>, ApiError> {
        if u.id.is_none() {
            if u.name.is_none() {
                return Err(validation_error("id or name", "user"));
            }
            if u.domain.is_none() {
                return Err(validation_error("domain", "user"));
            }
        }
        Ok(self.find_user(u.id.as_deref(), u.name.as_deref(), u.domain.as_ref()))
    }

    /// Authenticates a `POST /v3/auth/tokens` body and issues the token. Every failure of the
    /// identity or the scope is the same 401, as in Keystone, except an unknown application
    /// credential id (404), a trust Keystone refuses otherwise and a token that may not be
    /// exchanged (403); a body that names no usable method, or a user or project by name
    /// without its domain, is a 400.
    pub fn authenticate(
        &mut self,
        request: &AuthRequest,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<(String, TokenRec), ApiError> {
        self.issue(request, now, ttl, false)
            .map(|(token, rec, _)| (token, rec))
    }

    /// Authenticates a `POST /v3/auth/tokens` body and issues the token, with the body
    /// answered for it (with the catalog when `with_catalog`). The body is made before the
    /// token uses up a use of its trust: the token that takes a trust's last use is answered,
    /// though, as in Keystone, it validates no more.
    ///
    /// A trust scope is refused as Keystone refuses it: an empty id is a 400; a trust that was
    /// deleted, has expired or has no uses left, or whose project is unusable, a 401; a caller
    /// who is not the trustee, a disabled trustor or one who no longer holds the delegated
    /// roles, a 403; a trust without a project, a 404 (Keystone 30.0.0 looks up the project
    /// `None`). Neither a trust-scoped token nor one of an application credential is exchanged
    /// for another token with the token method (403).
    pub(crate) fn issue(
        &mut self,
        request: &AuthRequest,
        now: DateTime<Utc>,
        ttl: Duration,
        with_catalog: bool,
    ) -> Result<(String, TokenRec, Token), ApiError> {
        let identity = &request.auth.identity;
        if identity.methods.is_empty() {
            return Err(ApiError::bad_request(
                "Invalid input for field 'identity/methods': [] is too short",
            ));
        }
        let now = now.duration_trunc(Duration::seconds(1)).unwrap_or(now);
        // a lifetime past what a date can hold is a server error, never a panic
        let expires_at = now.checked_add_signed(ttl).ok_or_else(|| {
            tracing::error!("the token lifetime overflows the date of expiry");
            ApiError::internal()
        })?;
        check_scope_request(request)?;
        let auth = self.authenticate_methods(identity, now, expires_at)?;
        let user_id = auth.user_id.ok_or_else(ApiError::unauthorized)?;
        let user = self.enabled_user(&user_id)?;
        let (scope, trust) = self.resolve_scope(
            user,
            auth.app_cred.as_ref(),
            request.auth.scope.as_ref(),
            now,
        )?;
        let rec = TokenRec {
            user_id,
            scope,
            methods: auth.methods,
            audit_ids: auth.audit_ids,
            issued_at: now,
            expires_at: token_expiry(auth.expires_at, auth.app_cred.as_ref(), trust.as_ref()),
            app_cred_id: auth.app_cred.map(|c| c.id),
            serial: self.next_serial,
            trust_id: trust.map(|t| t.id),
        };
        // A scope the user holds no role on is refused, like an unusable token; a trust whose
        // trustor lost the roles is Keystone's `Forbidden`.
        let body = self
            .token_body(&rec, with_catalog)
            .map_err(|problem| match problem {
                TokenProblem::TrustForbidden => ApiError::forbidden_undisclosed(),
                _ => ApiError::unauthorized(),
            })?;
        if let Some(id) = &rec.trust_id {
            self.use_trust(id);
        }
        let token = self.keep_token(rec.clone(), now);
        Ok((token, rec, body))
    }

    /// Issues the token of `POST /v3/ec2tokens` for the request `credentials` describes, as
    /// Keystone does: its `access` key names an `ec2` credential (404 otherwise), the request
    /// is signed with that credential's secret (tried again without the host's port), its
    /// user and project are enabled, its time (when given) not more than 15 minutes past, and
    /// the token is scoped to the credential's project with the `ec2credential` method. Every
    /// refusal is Keystone's undisclosed 401; a request the signer cannot read, a 500.
    pub(crate) fn ec2_token(
        &mut self,
        credentials: &serde_json::Map<String, serde_json::Value>,
        now: DateTime<Utc>,
        ttl: Duration,
        with_catalog: bool,
    ) -> Result<(String, TokenRec, Token), ApiError> {
        let access = credentials
            .get("access")
            .ok_or_else(ApiError::unauthorized)?;
        let access = keystone_policy::py_str(access);
        let not_found = || ApiError::new(StatusCode::NOT_FOUND, "EC2 access key not found.");
        let id = super::ec2_id(&access);
        let cred = self
            .credentials
            .iter()
            .find(|c| c.id == id && c.kind == "ec2")
            .ok_or_else(not_found)?
            .clone();
        let blob: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(cred.blob.expose()).map_err(|_| ApiError::internal())?;
        let secret = blob
            .get("secret")
            .map(keystone_policy::py_str)
            .unwrap_or_default();
        let sign = |c: &serde_json::Map<String, serde_json::Value>| {
            super::ec2_signature::signature(&secret, c).ok_or_else(ApiError::internal)
        };
        let expected = sign(credentials)?;
        let given = credentials
            .get("signature")
            .filter(|v| !matches!(v, serde_json::Value::Null) && v.as_str() != Some(""))
            .map(keystone_policy::py_str)
            .ok_or_else(ApiError::unauthorized)?;
        let mut signed = constant_time_eq(&expected, &given);
        if !signed {
            let host = credentials
                .get("host")
                .map(keystone_policy::py_str)
                .unwrap_or_default();
            if host.contains(':') {
                let mut portless = credentials.clone();
                let hostname = host.split(':').next().unwrap_or_default().to_lowercase();
                portless.insert("host".into(), serde_json::Value::from(hostname));
                signed = constant_time_eq(&sign(&portless)?, &given);
            }
        }
        if !signed {
            return Err(ApiError::unauthorized());
        }
        let project_id = cred.project_id.clone().unwrap_or_default();
        let project = self
            .projects
            .get(&project_id)
            .ok_or_else(|| ApiError::not_found("project", &project_id))?;
        let user = self
            .users
            .get(&cred.user_id)
            .ok_or_else(|| ApiError::not_found("user", &cred.user_id))?;
        let domain_enabled = |d: &str| self.domains.get(d).is_some_and(|d| d.enabled);
        if !user.enabled
            || !domain_enabled(&user.domain_id)
            || !project.enabled
            || !domain_enabled(&project.domain_id)
        {
            return Err(ApiError::unauthorized());
        }
        // the request's time, when it has one, at most 15 minutes old
        let params = credentials.get("params").and_then(|p| p.as_object());
        let headers = credentials.get("headers").and_then(|h| h.as_object());
        let stamp = [
            params.and_then(|p| p.get("Timestamp")),
            headers.and_then(|h| h.get("X-Amz-Date")),
            params.and_then(|p| p.get("X-Amz-Date")),
        ]
        .into_iter()
        .flatten()
        .map(keystone_policy::py_str)
        .find(|s| !s.is_empty());
        if let Some(stamp) = stamp {
            let at = parse_isotime(&stamp).ok_or_else(ApiError::unauthorized)?;
            if now > at + Duration::minutes(15) {
                return Err(ApiError::unauthorized());
            }
        }
        // a blob naming a trust or an application credential was written by hand: refused
        if ["trust_id", "app_cred_id", "access_token_id"]
            .iter()
            .any(|k| blob.get(*k).is_some_and(|v| !v.is_null()))
        {
            return Err(ApiError::unauthorized());
        }
        let now = now.duration_trunc(Duration::seconds(1)).unwrap_or(now);
        let expires_at = now.checked_add_signed(ttl).ok_or_else(ApiError::internal)?;
        let rec = TokenRec {
            user_id: cred.user_id.clone(),
            scope: TokenScope::Project(project_id),
            methods: vec!["ec2credential".to_owned()],
            audit_ids: vec![new_audit_id()],
            issued_at: now,
            expires_at,
            app_cred_id: None,
            serial: self.next_serial,
            trust_id: None,
        };
        // no role on the project: Keystone's "User not valid for project", a 401
        let body = self
            .token_body(&rec, with_catalog)
            .map_err(|_| ApiError::unauthorized())?;
        let token = self.keep_token(rec.clone(), now);
        Ok((token, rec, body))
    }

    /// Runs each method of a token request, in order; every one must name the same user (401
    /// otherwise).
    fn authenticate_methods(
        &self,
        identity: &Identity,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<Authenticated, ApiError> {
        let mut auth = Authenticated {
            user_id: None,
            methods: Vec::new(),
            audit_ids: vec![new_audit_id()],
            expires_at,
            app_cred: None,
        };
        for method in &identity.methods {
            let who = match method.as_str() {
                "password" => {
                    let user_id = self.password_user(identity)?;
                    auth.methods.push("password".to_owned());
                    user_id
                }
                "token" => {
                    let rec = self.token_user(identity, now)?;
                    for m in &rec.methods {
                        if !auth.methods.contains(m) {
                            auth.methods.push(m.clone());
                        }
                    }
                    auth.methods.push("token".to_owned());
                    auth.audit_ids.push(rec.audit_ids[0].clone());
                    auth.expires_at = rec.expires_at;
                    rec.user_id
                }
                "application_credential" => {
                    let cred = self.app_cred_user(identity, now)?;
                    auth.methods.push("application_credential".to_owned());
                    let user_id = cred.user_id.clone();
                    auth.app_cred = Some(cred);
                    user_id
                }
                other => {
                    return Err(ApiError::new(
                        StatusCode::UNAUTHORIZED,
                        format!("Attempted to authenticate with an unsupported method: {other}"),
                    ));
                }
            };
            match &auth.user_id {
                Some(existing) if existing != &who => return Err(ApiError::unauthorized()),
                _ => auth.user_id = Some(who),
            }
        }
        Ok(auth)
    }

    /// The password method: the user it names, when the password is theirs (401 otherwise).
    fn password_user(&self, identity: &Identity) -> Result<String, ApiError> {
        let p = identity
            .password
            .as_ref()
            .ok_or_else(|| ApiError::bad_request("Expecting to find password in identity."))?;
        let u = &p.user;
        let user = self.auth_user(u)?.ok_or_else(ApiError::unauthorized)?;
        match &user.password {
            Some(pw) if pw == &u.password => Ok(user.id.clone()),
            _ => Err(ApiError::unauthorized()),
        }
    }

    /// The token method: the token exchanged, when it validates (401, or 403 for a trust
    /// refused) and may be exchanged: not one of a trust, nor of a delegated credential (403).
    fn token_user(&self, identity: &Identity, now: DateTime<Utc>) -> Result<TokenRec, ApiError> {
        let t = identity
            .token
            .as_ref()
            .ok_or_else(|| ApiError::bad_request("Expecting to find token in identity."))?;
        let rec = self
            .check_token(t.id.expose(), now, false)
            .map_err(|problem| match problem {
                TokenProblem::TrustForbidden => ApiError::forbidden_undisclosed(),
                // Keystone turns a trust it cannot find into a 401 here
                _ => ApiError::unauthorized(),
            })?
            .clone();
        if rec.trust_id.is_some() {
            return Err(ApiError::forbidden(
                "Using trust-scoped token to create another token. Create a new trust-scoped \
                 token instead",
            ));
        }
        // nor one of an application credential, whose scope it would escape
        if is_delegated(&rec.methods) {
            return Err(ApiError::forbidden(
                "Using a delegated token to create another token is not allowed.",
            ));
        }
        Ok(rec)
    }

    /// The application credential method: the credential named by id (404 when unknown) or by
    /// name and owner (401 when unknown), when the secret is its own and it has not expired
    /// (401 otherwise).
    fn app_cred_user(
        &self,
        identity: &Identity,
        now: DateTime<Utc>,
    ) -> Result<AppCredRec, ApiError> {
        let a = identity.application_credential.as_ref().ok_or_else(|| {
            ApiError::bad_request("Expecting to find application_credential in identity.")
        })?;
        let cred = match (&a.id, &a.name) {
            // Keystone answers 404 for an id it does not know (a wrong secret is a 401): seen
            // against Keystone 30.0.0 in `cargo xtask conformance`
            (Some(id), _) => self
                .app_creds
                .get(id)
                .ok_or_else(|| ApiError::not_found("Application Credential", id))?,
            (None, Some(name)) => {
                let owner = a
                    .user
                    .as_ref()
                    .ok_or_else(|| validation_error("user", "application credential"))?;
                if owner.id.is_none() && owner.domain.is_none() {
                    return Err(validation_error("domain", "user"));
                }
                let user = self
                    .find_user(
                        owner.id.as_deref(),
                        owner.name.as_deref(),
                        owner.domain.as_ref(),
                    )
                    .ok_or_else(ApiError::unauthorized)?;
                // an unknown name is Keystone's `Unauthorized`, whose detail it keeps to itself
                self.app_creds
                    .values()
                    .find(|c| &c.name == name && c.user_id == user.id)
                    .ok_or_else(ApiError::unauthorized)?
            }
            (None, None) => {
                return Err(validation_error("name or ID", "application credential"));
            }
        };
        if cred.secret != a.secret {
            return Err(ApiError::unauthorized());
        }
        if cred.expires_at.is_some_and(|exp| exp <= now) {
            return Err(ApiError::unauthorized());
        }
        Ok(cred.clone())
    }

    /// The authenticated user, when they and their domain are enabled (401 otherwise).
    fn enabled_user(&self, user_id: &str) -> Result<&UserRec, ApiError> {
        let user = self.users.get(user_id).ok_or_else(ApiError::unauthorized)?;
        if !user.enabled || !self.domains.get(&user.domain_id).is_some_and(|d| d.enabled) {
            return Err(ApiError::unauthorized());
        }
        Ok(user)
    }

    /// The scope of the token, and its trust: an application credential's project, the
    /// default scope when the request names none, or the scope it names (401 when it does not
    /// exist; a trust is checked as [`Store::trust_for_scope`] says).
    fn resolve_scope(
        &self,
        user: &UserRec,
        app_cred: Option<&AppCredRec>,
        scope: Option<&Scope>,
        now: DateTime<Utc>,
    ) -> Result<(TokenScope, Option<TrustRec>), ApiError> {
        let scope = match (app_cred, scope) {
            (Some(cred), None) => TokenScope::Project(cred.project_id.clone()),
            (Some(_), Some(_)) => return Err(ApiError::unauthorized()),
            (None, None) => self.default_scope(user),
            (None, Some(Scope::Unscoped)) => TokenScope::Unscoped,
            (None, Some(Scope::Trust(t))) => {
                let trust = self.trust_for_scope(&t.id, &user.id, now)?;
                let project = trust.project_id.clone().unwrap_or_default();
                return Ok((TokenScope::Project(project), Some(trust)));
            }
            (None, Some(Scope::System(SystemScope { all: true }))) => TokenScope::System,
            (None, Some(Scope::System(_))) => return Err(ApiError::unauthorized()),
            (None, Some(Scope::Project(p))) => TokenScope::Project(
                self.find_project(p.id.as_deref(), p.name.as_deref(), p.domain.as_ref())
                    .ok_or_else(ApiError::unauthorized)?
                    .id
                    .clone(),
            ),
            (None, Some(Scope::Domain(d))) => TokenScope::Domain(
                self.find_domain(d)
                    .ok_or_else(ApiError::unauthorized)?
                    .id
                    .clone(),
            ),
        };
        Ok((scope, None))
    }

    /// The scope of a token request that names none: the user's default project when it
    /// exists, it and its domain are enabled and the user holds a role on it; unscoped
    /// otherwise (Keystone's `_check_and_set_default_scoping`).
    fn default_scope(&self, user: &UserRec) -> TokenScope {
        let usable = |p: &ProjectRec| {
            p.enabled
                && self.domains.get(&p.domain_id).is_some_and(|d| d.enabled)
                && !self
                    .effective_roles(&user.id, &Target::Project(p.id.clone()))
                    .is_empty()
        };
        match user
            .default_project_id
            .as_ref()
            .and_then(|p| self.projects.get(p))
        {
            Some(p) if usable(p) => TokenScope::Project(p.id.clone()),
            _ => TokenScope::Unscoped,
        }
    }
}

/// What the methods of a token request establish, as Keystone's `AuthContext` gathers it.
struct Authenticated {
    /// The user every method named.
    user_id: Option<String>,
    /// The methods, as the token lists them (an exchanged token's first).
    methods: Vec<String>,
    /// The new token's audit id, then an exchanged token's.
    audit_ids: Vec<String>,
    /// When the token ends: an exchanged token's expiry, else the lifetime from now.
    expires_at: DateTime<Utc>,
    /// The application credential authenticated with.
    app_cred: Option<AppCredRec>,
}

/// Refuses a scope the request may not name, before any method is run: none for an
/// application credential (Keystone's `AuthInfo`: it chooses no scope of its own, 401), and no
/// project by name without its domain (400).
fn check_scope_request(request: &AuthRequest) -> Result<(), ApiError> {
    if request
        .auth
        .identity
        .methods
        .iter()
        .any(|m| m == "application_credential")
        && request.auth.scope.is_some()
    {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "Error authenticating with application credential: Application credentials cannot \
             request a scope.",
        ));
    }
    if let Some(Scope::Project(p)) = &request.auth.scope
        && p.id.is_none()
        && p.domain.is_none()
    {
        return Err(validation_error("domain", "project"));
    }
    Ok(())
}

/// When a token ends: `expires_at`, but no later than the application credential it comes from
/// (Keystone's token provider, CVE-2022-2447), nor than its trust, whose expiry is cut to the
/// second (Keystone's token provider, LP#2156586).
fn token_expiry(
    expires_at: DateTime<Utc>,
    app_cred: Option<&AppCredRec>,
    trust: Option<&TrustRec>,
) -> DateTime<Utc> {
    let mut expires_at = expires_at;
    if let Some(cred_expiry) = app_cred.and_then(|c| c.expires_at)
        && cred_expiry < expires_at
    {
        expires_at = cred_expiry;
    }
    if let Some(trust_expiry) = trust.and_then(|t| t.expires_at) {
        let trust_expiry = trust_expiry
            .duration_trunc(Duration::seconds(1))
            .unwrap_or(trust_expiry);
        expires_at = expires_at.min(trust_expiry);
    }
    expires_at
}

/// Whether two signatures are equal, compared in constant time (as Keystone compares them).
fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A time as oslo's `parse_isotime` reads one (ISO 8601, leniently): with or without
/// separators, a fraction, a zone (none is UTC), or a date alone.
fn parse_isotime(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f%:z",
        "%Y-%m-%d %H:%M:%S%.f%:z",
        "%Y%m%dT%H%M%S%z",
    ] {
        if let Ok(t) = DateTime::parse_from_str(s, format) {
            return Some(t.with_timezone(&Utc));
        }
    }
    let naive = s.trim_end_matches('Z');
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y%m%dT%H%M%S",
    ] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(naive, format) {
            return Some(t.and_utc());
        }
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}
