//! Tokens: their strings (shaped like Fernet tokens, tagged with the store's key so that it
//! recognizes the ones it has forgotten), their records, and validating, revoking and rendering
//! them. Roles and the catalog are computed when a token is validated, as Fernet tokens are.

use std::collections::HashSet;

use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use keystone_types::Timestamp;
use keystone_types::auth::SystemScope;
use keystone_types::token::{
    IdRef, NamedRef, ProjectInfo, RoleRef, Token, TokenApplicationCredential, TokenTrust, TokenUser,
};
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::{Revoked, Store, Target};
use crate::error::{ApiError, StatusCode};

/// The bytes of a token string after its `gAAAAAB` prefix: the expiry (8 bytes), random
/// bytes, and a tag over both made with the store's key.
const TOKEN_BYTES: usize = 96;

const TOKEN_TAG_BYTES: usize = 32;

const TOKEN_PREFIX: &str = "gAAAAAB";

/// The key a store tags its token strings with, so that it still recognizes the tokens it
/// issued once it has forgotten them (as Keystone recognizes its expired Fernet tokens).
#[derive(Clone)]
pub(crate) struct TokenKey([u8; 32]);

impl Default for TokenKey {
    fn default() -> Self {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        TokenKey(key)
    }
}

impl TokenKey {
    fn tag(&self, body: &[u8]) -> [u8; TOKEN_TAG_BYTES] {
        let mut hasher = Sha256::new();
        hasher.update(self.0);
        hasher.update(body);
        hasher.finalize().into()
    }

    /// A fresh token string, shaped like a Fernet token.
    fn new_token(&self, expires_at: DateTime<Utc>) -> String {
        let mut bytes = [0u8; TOKEN_BYTES];
        let (body, tag) = bytes.split_at_mut(TOKEN_BYTES - TOKEN_TAG_BYTES);
        body[..8].copy_from_slice(&expires_at.timestamp().to_be_bytes());
        rand::rng().fill_bytes(&mut body[8..]);
        tag.copy_from_slice(&self.tag(body));
        format!(
            "{TOKEN_PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
        )
    }

    /// Whether `token` is one this key made.
    fn made(&self, token: &str) -> bool {
        token
            .strip_prefix(TOKEN_PREFIX)
            .and_then(|t| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(t)
                    .ok()
            })
            .filter(|b| b.len() == TOKEN_BYTES)
            .is_some_and(|b| {
                let (body, tag) = b.split_at(TOKEN_BYTES - TOKEN_TAG_BYTES);
                self.tag(body) == tag
            })
    }
}

/// A fresh audit id: 16 random bytes, URL-safe base64, as Keystone makes them.
pub(super) fn new_audit_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// What a token is scoped to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenScope {
    /// No scope.
    Unscoped,
    /// A project, by id.
    Project(String),
    /// A domain, by id.
    Domain(String),
    /// The system.
    System,
}

/// An issued token.
#[derive(Debug, Clone)]
pub struct TokenRec {
    /// Owner.
    pub user_id: String,
    /// Scope.
    pub scope: TokenScope,
    /// Methods used to obtain it.
    pub methods: Vec<String>,
    /// Its audit id followed by its parent's.
    pub audit_ids: Vec<String>,
    /// Issue time.
    pub issued_at: DateTime<Utc>,
    /// Expiry time.
    pub expires_at: DateTime<Utc>,
    /// The application credential it came from.
    pub app_cred_id: Option<String>,
    /// The order it was issued in: revoking a user's tokens revokes those issued before.
    pub serial: u64,
    /// The trust it is scoped to; its scope is then the trust's project.
    pub trust_id: Option<String>,
}

/// Why a token does not validate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenProblem {
    /// Never issued by this fake.
    Unknown,
    /// Revoked, or its user, project or roles went away.
    Invalid,
    /// Past its expiry.
    Expired,
    /// Scoped to a trust that was deleted, has expired or has no uses left: Keystone looks the
    /// trust up before anything else and answers "Could not find trust" (404).
    TrustNotFound,
    /// Scoped to a trust whose trustor is disabled or no longer holds the delegated roles:
    /// Keystone's `Forbidden` (403), when validating as when issuing.
    TrustForbidden,
}

/// How long an expired token may still be validated with `allow_expired` (Keystone's default
/// `allow_expired_window` is 48 hours).
const ALLOW_EXPIRED_WINDOW_HOURS: i64 = 48;

/// Below this many tokens, issuing one never sweeps the expired ones out.
const MIN_TOKENS_BEFORE_PURGE: usize = 256;

/// Whether a token obtained with `methods` comes from a delegated credential, as Keystone's
/// `is_delegated_method` decides: a method that is not one of the primary ones (an
/// application credential, say), or none at all. Keystone lets such tokens manage no trusts,
/// nor be exchanged for other tokens.
pub(crate) fn is_delegated(methods: &[String]) -> bool {
    const PRIMARY: [&str; 9] = [
        "external", "kerberos", "mapped", "openid", "password", "saml2", "token", "totp", "x509",
    ];
    methods.is_empty() || methods.iter().any(|m| !PRIMARY.contains(&m.as_str()))
}

impl Store {
    fn domain_ref(&self, id: &str) -> NamedRef {
        NamedRef {
            id: id.to_owned(),
            name: self
                .domains
                .get(id)
                .map(|d| d.name.clone())
                .unwrap_or_default(),
        }
    }

    /// The last moment `rec` may be validated: its expiry, or with `allow_expired` that plus
    /// Keystone's window (a date past what chrono holds is the end of time).
    fn usable_until(rec: &TokenRec, allow_expired: bool) -> DateTime<Utc> {
        if allow_expired {
            rec.expires_at
                .checked_add_signed(Duration::hours(ALLOW_EXPIRED_WINDOW_HOURS))
                .unwrap_or(DateTime::<Utc>::MAX_UTC)
        } else {
            rec.expires_at
        }
    }

    /// Forgets the tokens no request can use any more (past expiry and the `allow_expired`
    /// window), with the revocations only they referred to. Those tokens still validate as
    /// expired: their strings carry the store's tag. Run when the token count doubles, so the
    /// cost per issued token stays constant.
    fn purge_tokens(&mut self, now: DateTime<Utc>) {
        self.tokens
            .retain(|_, rec| now < Self::usable_until(rec, true));
        let referenced: HashSet<&String> = self
            .tokens
            .values()
            .flat_map(|rec| rec.audit_ids.iter())
            .collect();
        self.revoked_audit_ids.retain(|a| referenced.contains(a));
        self.purge_at = (self.tokens.len() * 2).max(MIN_TOKENS_BEFORE_PURGE);
    }

    /// Keeps a token just issued and returns its string. When the token count has doubled
    /// since the last sweep, the tokens past any use are swept out first.
    pub(super) fn keep_token(&mut self, rec: TokenRec, now: DateTime<Utc>) -> String {
        self.next_serial += 1;
        if self.tokens.len() >= self.purge_at {
            self.purge_tokens(now);
        }
        let token = self.token_key.new_token(rec.expires_at);
        self.tokens.insert(token.clone(), rec);
        token
    }

    /// How many issued tokens the store still holds (expired ones are swept out as tokens
    /// are issued).
    pub fn token_count(&self) -> usize {
        self.tokens.len()
    }

    /// The name of the user a token this store issued belongs to, whether or not the token is
    /// still good (for logs: never the token itself).
    pub(crate) fn token_user_name(&self, token: &str) -> Option<&str> {
        let rec = self.tokens.get(token)?;
        Some(self.users.get(&rec.user_id)?.name.as_str())
    }

    /// Looks a token up and checks that it is still good. A trust-scoped token's trust is
    /// checked first, as Keystone checks it while rebuilding the token: a trust gone answers
    /// for an expired or revoked token too.
    pub(crate) fn check_token(
        &self,
        token: &str,
        now: DateTime<Utc>,
        allow_expired: bool,
    ) -> Result<&TokenRec, TokenProblem> {
        let Some(rec) = self.tokens.get(token) else {
            // one this store issued and has since swept out was past any use
            return Err(if self.token_key.made(token) {
                TokenProblem::Expired
            } else {
                TokenProblem::Unknown
            });
        };
        let mut users = vec![&rec.user_id];
        if let Some(trust_id) = &rec.trust_id {
            let trust = self
                .live_trust(trust_id, now)
                .ok_or(TokenProblem::TrustNotFound)?;
            self.trust_token_roles(trust)?;
            // revoking the trustor's tokens revokes those of their trusts
            users.push(&trust.trustor_user_id);
        }
        if rec
            .audit_ids
            .iter()
            .any(|a| self.revoked_audit_ids.contains(a))
            || users.iter().any(|u| {
                self.user_tokens_valid_from
                    .get(*u)
                    .is_some_and(|from| rec.serial < *from)
            })
        {
            return Err(TokenProblem::Invalid);
        }
        if now >= Self::usable_until(rec, allow_expired) {
            return Err(TokenProblem::Expired);
        }
        self.token_body(rec, false)?;
        Ok(rec)
    }

    /// Revokes every token of `user_id` issued so far, as Keystone's revocation event for a
    /// user does when their password changes or they are disabled.
    pub(crate) fn revoke_user_tokens(&mut self, user_id: &str) {
        self.user_tokens_valid_from
            .insert(user_id.to_owned(), self.next_serial);
        self.record_user_event(user_id);
    }

    /// Whether the token comes from an application credential with access rules: Keystone
    /// then validates it only for a validator that enforces them
    /// (`OpenStack-Identity-Access-Rules`), and answers 404 to any other.
    pub(crate) fn has_access_rules(&self, rec: &TokenRec) -> bool {
        rec.app_cred_id
            .as_ref()
            .and_then(|id| self.app_creds.get(id))
            .is_some_and(|c| !c.access_rules.is_empty())
    }

    /// Revokes a token and every token derived from it.
    pub(crate) fn revoke(&mut self, token: &str) -> bool {
        match self.tokens.get(token) {
            Some(rec) => {
                let audit = rec.audit_ids[0].clone();
                self.revoked_audit_ids.insert(audit.clone());
                // Keystone's `revoke_token`: the token by its audit id, then the tokens made
                // from it by their chain
                self.record_event(Revoked {
                    audit_id: Some(audit.clone()),
                    ..Revoked::default()
                });
                self.record_event(Revoked {
                    audit_chain_id: Some(audit),
                    ..Revoked::default()
                });
                true
            }
            None => false,
        }
    }

    /// The token body Keystone would answer for `rec`, computed from the current data: a
    /// token whose user, project, roles or trust went away no longer has a body.
    ///
    /// A trust-scoped token is rendered as Keystone's `render_token` renders it: the
    /// `OS-TRUST:trust` section, the trust's project (without `is_domain`), the trust's roles
    /// and those they imply, and as its user the trustee, or the trustor when the trust
    /// impersonates; its catalog is the trustor's.
    pub(crate) fn token_body(
        &self,
        rec: &TokenRec,
        with_catalog: bool,
    ) -> Result<Token, TokenProblem> {
        let user = self.users.get(&rec.user_id).ok_or(TokenProblem::Invalid)?;
        if !user.enabled {
            return Err(TokenProblem::Invalid);
        }
        let trust = match &rec.trust_id {
            Some(id) => Some(self.trust(id).ok_or(TokenProblem::TrustNotFound)?),
            None => None,
        };
        let shown = match trust {
            Some(t) if t.impersonation => self
                .users
                .get(&t.trustor_user_id)
                .ok_or(TokenProblem::TrustNotFound)?,
            _ => user,
        };
        let mut token = Token {
            audit_ids: rec.audit_ids.clone(),
            catalog: None,
            expires_at: Timestamp(rec.expires_at),
            issued_at: Timestamp(rec.issued_at),
            is_domain: None,
            is_admin_project: None,
            methods: rec.methods.clone(),
            project: None,
            domain: None,
            system: None,
            roles: None,
            user: TokenUser {
                domain: self.domain_ref(&shown.domain_id),
                id: shown.id.clone(),
                name: shown.name.clone(),
                password_expires_at: None,
            },
            application_credential: None,
            service_providers: self.token_service_providers(),
            trust: trust.map(|t| TokenTrust {
                id: t.id.clone(),
                trustor_user: IdRef {
                    id: t.trustor_user_id.clone(),
                },
                trustee_user: IdRef {
                    id: t.trustee_user_id.clone(),
                },
                impersonation: t.impersonation,
            }),
        };
        let target = match &rec.scope {
            TokenScope::Unscoped => return Ok(token),
            TokenScope::Project(id) => {
                let p = self.projects.get(id).ok_or(TokenProblem::Invalid)?;
                if !p.enabled {
                    return Err(TokenProblem::Invalid);
                }
                // Keystone leaves `is_domain` out of a trust-scoped token
                token.is_domain = trust.is_none().then_some(false);
                token.project = Some(ProjectInfo {
                    domain: self.domain_ref(&p.domain_id),
                    id: p.id.clone(),
                    name: p.name.clone(),
                });
                Target::Project(id.clone())
            }
            TokenScope::Domain(id) => {
                let d = self.domains.get(id).ok_or(TokenProblem::Invalid)?;
                if !d.enabled {
                    return Err(TokenProblem::Invalid);
                }
                token.domain = Some(self.domain_ref(id));
                Target::Domain(id.clone())
            }
            TokenScope::System => {
                token.system = Some(SystemScope { all: true });
                Target::System
            }
        };
        let mut role_ids = match trust {
            Some(t) => self.trust_token_roles(t)?,
            None => self.effective_roles(&rec.user_id, &target),
        };
        if let Some(cred_id) = &rec.app_cred_id {
            let cred = self.app_creds.get(cred_id).ok_or(TokenProblem::Invalid)?;
            role_ids.retain(|r| cred.role_ids.contains(r));
            token.application_credential = Some(TokenApplicationCredential {
                id: cred.id.clone(),
                name: cred.name.clone(),
                restricted: cred.unrestricted != Some(true),
                access_rules: (!cred.access_rules.is_empty()).then(|| cred.access_rules.clone()),
            });
        }
        if role_ids.is_empty() {
            return Err(TokenProblem::Invalid);
        }
        token.roles = Some(
            role_ids
                .iter()
                .filter_map(|id| self.roles.get(id))
                .map(|r| RoleRef {
                    id: r.id.clone(),
                    name: r.name.clone(),
                    domain_id: r.domain_id.clone(),
                })
                .collect(),
        );
        if with_catalog {
            let project_id = match &rec.scope {
                TokenScope::Project(p) => Some(p.as_str()),
                _ => None,
            };
            // Keystone fills the catalog's `$(user_id)s` in with a trust's trustor
            let user_id = trust.map_or(&rec.user_id, |t| &t.trustor_user_id);
            token.catalog = Some(self.catalog(user_id, project_id));
        }
        Ok(token)
    }

    /// The answer Keystone gives for `token` when it does not validate because of `problem`.
    pub(crate) fn token_error(&self, token: &str, problem: TokenProblem) -> ApiError {
        match problem {
            TokenProblem::Unknown => {
                ApiError::new(StatusCode::NOT_FOUND, "Could not recognize Fernet token")
            }
            TokenProblem::Invalid | TokenProblem::Expired => {
                ApiError::new(StatusCode::NOT_FOUND, "Failed to validate token")
            }
            TokenProblem::TrustNotFound => {
                let trust = self
                    .tokens
                    .get(token)
                    .and_then(|rec| rec.trust_id.as_deref())
                    .unwrap_or_default();
                ApiError::not_found("trust", trust)
            }
            TokenProblem::TrustForbidden => ApiError::forbidden_undisclosed(),
        }
    }
}
