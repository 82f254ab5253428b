//! What services need: validating, checking and revoking other people's tokens with the
//! session's own credentials (`GET`, `HEAD` and `DELETE /v3/auth/tokens`).

use keystone_types::revoke::{RevokeEvent, RevokeEvents};
use keystone_types::token::TokenResponse;
use keystone_types::{Secret, Timestamp};
use reqwest::Method;

use crate::access::AccessInfo;
use crate::error::Result;
use crate::session::{Session, error_for_status, parse_json};

/// Options of a validation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ValidateOptions {
    /// Leave the catalog out (`?nocatalog`).
    pub nocatalog: bool,
    /// Accept a token that expired recently (`?allow_expired=1`); Keystone only allows it to
    /// callers with the `service` role or admins.
    pub allow_expired: bool,
    /// Say that the caller enforces application credentials' access rules
    /// (`OpenStack-Identity-Access-Rules: 1`, as keystonemiddleware sends). Without it Keystone
    /// answers 404 for a token of a credential with access rules.
    pub access_rules: bool,
}

impl ValidateOptions {
    fn query(&self) -> String {
        let mut q = Vec::new();
        if self.nocatalog {
            q.push("nocatalog");
        }
        if self.allow_expired {
            q.push("allow_expired=1");
        }
        if q.is_empty() {
            String::new()
        } else {
            format!("?{}", q.join("&"))
        }
    }
}

impl Session {
    async fn subject_request(
        &self,
        method: Method,
        subject: &str,
        query: &str,
        access_rules: bool,
    ) -> Result<(String, reqwest::Response)> {
        let url = format!("{}/auth/tokens{query}", self.api_identity_url().await?);
        let mut request = self
            .request(method, url.clone())
            .header("x-subject-token", subject)?;
        if access_rules {
            request = request.header("openstack-identity-access-rules", "1")?;
        }
        let response = request.send().await?;
        let response = error_for_status(&url, response).await?;
        Ok((url, response))
    }

    /// Validates `subject`. A 404 ([`crate::ErrorKind::NotFound`]) means the token is invalid,
    /// expired or revoked; a 401 that survives one re-authentication means the session's own
    /// credentials were rejected; connection failures, timeouts and 5xx are
    /// [`crate::ErrorKind::Unavailable`].
    pub async fn validate_token(
        &self,
        subject: &str,
        options: ValidateOptions,
    ) -> Result<AccessInfo> {
        let (url, response) = self
            .subject_request(Method::GET, subject, &options.query(), options.access_rules)
            .await?;
        let body: TokenResponse = parse_json(&url, response).await?;
        Ok(AccessInfo::new(Secret::new(subject), body.token))
    }

    /// Checks that `subject` is valid (`HEAD`), without fetching its body; `options` as for
    /// [`Session::validate_token`] (`allow_expired`, and `access_rules`, without which a token of
    /// an application credential with access rules reads as invalid).
    pub async fn check_token(&self, subject: &str, options: ValidateOptions) -> Result<()> {
        self.subject_request(
            Method::HEAD,
            subject,
            &options.query(),
            options.access_rules,
        )
        .await
        .map(drop)
    }

    /// Revokes `subject`.
    pub async fn revoke_token(&self, subject: &str) -> Result<()> {
        self.subject_request(Method::DELETE, subject, "", false)
            .await
            .map(drop)
    }

    /// The revocation events Keystone recorded strictly after `since` (all it keeps without
    /// it), oldest first (`GET /v3/OS-REVOKE/events`, policy `identity:list_revoke_events`,
    /// which admins and the `service` role pass).
    pub async fn revoke_events(&self, since: Option<Timestamp>) -> Result<Vec<RevokeEvent>> {
        let mut url = format!("{}/OS-REVOKE/events", self.api_identity_url().await?);
        if let Some(since) = since {
            // `+` and `:` need no escaping in a query; Keystone reads the `Z` form
            url.push_str(&format!("?since={since}"));
        }
        let response = self.get(url.clone()).send().await?;
        let response = error_for_status(&url, response).await?;
        let body: RevokeEvents = parse_json(&url, response).await?;
        Ok(body.events)
    }
}
