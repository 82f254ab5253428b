//! Keystone's stored blobs: credentials (`/v3/credentials`, which OS-EC2 shows its own way)
//! and policies (`/v3/policies`). Keystone keeps them and enforces nothing of them; what it
//! checks is an `ec2` credential's blob (JSON with an `access` key, whose SHA-256 is the
//! credential's id) and the keys a change may not touch.

use keystone_types::Secret;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::{Store, new_id};
use crate::error::{ApiError, validation_error};

/// A credential.
#[derive(Debug, Clone)]
pub(crate) struct CredentialRec {
    /// Id: the SHA-256 of an `ec2` credential's access key, else a fresh id.
    pub(crate) id: String,
    /// Owner (not checked to exist, as in Keystone).
    pub(crate) user_id: String,
    /// The project it is for.
    pub(crate) project_id: Option<String>,
    /// Its type, as given.
    pub(crate) kind: String,
    /// The blob, as given.
    pub(crate) blob: Secret,
    /// Attributes Keystone does not know, their names with `:` and `-` made `_`.
    pub(crate) extra: Map<String, Value>,
}

impl CredentialRec {
    /// Whether Keystone treats it as an EC2 credential for its checks (`type.lower()`).
    fn checked_as_ec2(&self) -> bool {
        self.kind.eq_ignore_ascii_case("ec2")
    }
}

/// A new credential.
#[derive(Debug)]
pub(crate) struct NewCredential {
    pub(crate) user_id: String,
    pub(crate) project_id: Option<String>,
    pub(crate) kind: String,
    pub(crate) blob: Secret,
    pub(crate) extra: Map<String, Value>,
}

/// An OAuth1 consumer.
#[derive(Debug, Clone)]
pub(crate) struct ConsumerRec {
    pub(crate) id: String,
    pub(crate) description: Option<String>,
    pub(crate) secret: Secret,
    pub(crate) extra: Map<String, Value>,
}

/// A stored policy.
#[derive(Debug, Clone)]
pub(crate) struct PolicyRec {
    pub(crate) id: String,
    pub(crate) blob: String,
    pub(crate) kind: String,
    pub(crate) extra: Map<String, Value>,
}

/// Keystone's 404 for an OAuth1 consumer.
fn consumer_not_found() -> ApiError {
    ApiError::new(crate::error::StatusCode::NOT_FOUND, "Consumer not found")
}

/// The attributes of a credential that are columns, never extras.
const CREDENTIAL_COLUMNS: &[&str] = &[
    "id",
    "user_id",
    "project_id",
    "type",
    "blob",
    "encrypted_blob",
    "key_hash",
];

/// The keys of an `ec2` blob a change may not alter.
const EC2_FIXED_KEYS: &[&str] = &["trust_id", "app_cred_id", "access_token_id", "access_id"];

/// The id of an `ec2` credential whose access key is `access`.
pub(crate) fn ec2_id(access: &str) -> String {
    hex(&Sha256::digest(access.as_bytes()))
}

/// Bytes as lower-case hex.
pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Extra attributes as Keystone stores them: names with `:` and `-` made `_`, columns left out.
pub(crate) fn normalized_extra(body: &Map<String, Value>, columns: &[&str]) -> Map<String, Value> {
    body.iter()
        .filter(|(k, _)| !columns.contains(&k.as_str()))
        .map(|(k, v)| (k.replace([':', '-'], "_"), v.clone()))
        .collect()
}

/// Extras of a credential body.
pub(crate) fn credential_extra(body: &Map<String, Value>) -> Map<String, Value> {
    normalized_extra(body, CREDENTIAL_COLUMNS)
}

/// An `ec2` blob, checked as Keystone checks it: JSON, a non-empty object, with an `access`.
fn ec2_blob(blob: &str) -> Result<Map<String, Value>, ApiError> {
    let parsed: Value = serde_json::from_str(blob)
        .map_err(|_| ApiError::bad_request("Invalid blob in credential"))?;
    let map = match parsed {
        Value::Object(m) if !m.is_empty() => m,
        _ => return Err(validation_error("blob", "credential")),
    };
    match map.get("access") {
        None | Some(Value::Null) => Err(validation_error("access", "credential")),
        Some(Value::String(_)) => Ok(map),
        // Keystone fails hashing anything else
        Some(_) => Err(ApiError::internal()),
    }
}

impl Store {
    /// Creates a credential: an `ec2` one (`type` in any case) has its blob checked and the
    /// SHA-256 of its access key as id (a second one with that key is a 409).
    pub(crate) fn create_credential(
        &mut self,
        c: NewCredential,
    ) -> Result<CredentialRec, ApiError> {
        let id = if c.kind.eq_ignore_ascii_case("ec2") {
            let blob = ec2_blob(c.blob.expose())?;
            ec2_id(blob["access"].as_str().unwrap_or_default())
        } else {
            new_id()
        };
        if self.credentials.iter().any(|r| r.id == id) {
            return Err(ApiError::conflict(
                "credential",
                format!("Duplicate entry found with ID {id}"),
            ));
        }
        let rec = CredentialRec {
            id,
            user_id: c.user_id,
            project_id: c.project_id,
            kind: c.kind,
            blob: c.blob,
            extra: c.extra,
        };
        self.credentials.push(rec.clone());
        Ok(rec)
    }

    /// A credential, or Keystone's 404.
    pub(crate) fn credential(&self, id: &str) -> Result<&CredentialRec, ApiError> {
        self.credentials
            .iter()
            .find(|c| c.id == id)
            .ok_or_else(|| ApiError::not_found("credential", id))
    }

    /// Replaces a credential's blob; an `ec2` one's new blob is checked, and may not change
    /// the keys that tie it to a trust, an application credential or an OAuth1 token.
    pub(crate) fn update_credential_blob(
        &mut self,
        id: &str,
        blob: Secret,
    ) -> Result<CredentialRec, ApiError> {
        let rec = self
            .credentials
            .iter_mut()
            .find(|c| c.id == id)
            .ok_or_else(|| ApiError::not_found("credential", id))?;
        if rec.checked_as_ec2() {
            let new = ec2_blob(blob.expose())?;
            let old: Map<String, Value> =
                serde_json::from_str(rec.blob.expose()).unwrap_or_default();
            if let Some(key) = EC2_FIXED_KEYS.iter().find(|k| old.get(**k) != new.get(**k)) {
                return Err(ApiError::bad_request(format!(
                    "{key} can not be updated for credential"
                )));
            }
        }
        rec.blob = blob;
        Ok(rec.clone())
    }

    /// Deletes a credential.
    pub(crate) fn delete_credential(&mut self, id: &str) -> Result<(), ApiError> {
        let before = self.credentials.len();
        self.credentials.retain(|c| c.id != id);
        if self.credentials.len() == before {
            return Err(ApiError::not_found("credential", id));
        }
        Ok(())
    }

    /// An EC2 credential for `user_id` on the project `tenant` names (Python's `str()` of the
    /// body's `tenant_id`, `None` when it has none): fresh access and secret keys, in the blob
    /// Keystone writes.
    pub(crate) fn create_ec2_credential(
        &mut self,
        user_id: &str,
        tenant: &str,
    ) -> Result<CredentialRec, ApiError> {
        if !self.projects.contains_key(tenant) {
            return Err(ApiError::not_found("project", tenant));
        }
        let (access, secret) = (new_id(), new_id());
        let blob = format!(r#"{{"access": "{access}", "secret": "{secret}", "trust_id": null}}"#);
        self.create_credential(NewCredential {
            user_id: user_id.to_owned(),
            project_id: Some(tenant.to_owned()),
            kind: "ec2".into(),
            blob: blob.into(),
            extra: Map::new(),
        })
    }

    /// Creates an OAuth1 consumer with a fresh id and secret.
    pub(crate) fn create_consumer(
        &mut self,
        description: Option<String>,
        extra: Map<String, Value>,
    ) -> Result<ConsumerRec, ApiError> {
        if let Some(d) = &description
            && d.chars().count() > 64
        {
            return Err(ApiError::bad_request(format!(
                "String length exceeded. The length of string '{d}' exceeds the limit of column \
                 description(CHAR(64))."
            )));
        }
        let rec = ConsumerRec {
            id: new_id(),
            description,
            secret: new_id().into(),
            extra,
        };
        self.consumers.push(rec.clone());
        Ok(rec)
    }

    /// An OAuth1 consumer, or Keystone's 404 (`Consumer not found`).
    pub(crate) fn consumer(&self, id: &str) -> Result<&ConsumerRec, ApiError> {
        self.consumers
            .iter()
            .find(|c| c.id == id)
            .ok_or_else(consumer_not_found)
    }

    /// Changes a consumer: its description, and its extras merged.
    pub(crate) fn update_consumer(
        &mut self,
        id: &str,
        changes: &Map<String, Value>,
    ) -> Result<ConsumerRec, ApiError> {
        let rec = self
            .consumers
            .iter_mut()
            .find(|c| c.id == id)
            .ok_or_else(consumer_not_found)?;
        for (k, v) in changes {
            match k.as_str() {
                "description" => rec.description = v.as_str().map(str::to_owned),
                "id" | "secret" => {}
                _ => {
                    rec.extra.insert(k.clone(), v.clone());
                }
            }
        }
        Ok(rec.clone())
    }

    /// Deletes a consumer.
    pub(crate) fn delete_consumer(&mut self, id: &str) -> Result<(), ApiError> {
        self.consumer(id)?;
        self.consumers.retain(|c| c.id != id);
        Ok(())
    }

    /// Creates a policy blob with a fresh id.
    pub(crate) fn create_policy(
        &mut self,
        blob: String,
        kind: String,
        extra: Map<String, Value>,
    ) -> PolicyRec {
        let rec = PolicyRec {
            id: new_id(),
            blob,
            kind,
            extra,
        };
        self.policies.push(rec.clone());
        rec
    }

    /// A policy, or Keystone's 404.
    pub(crate) fn policy_blob(&self, id: &str) -> Result<&PolicyRec, ApiError> {
        self.policies
            .iter()
            .find(|p| p.id == id)
            .ok_or_else(|| ApiError::not_found("policy", id))
    }

    /// Changes a policy: `blob` and `type` replace theirs, any other key an extra (as given).
    pub(crate) fn update_policy(
        &mut self,
        id: &str,
        changes: &Map<String, Value>,
    ) -> Result<PolicyRec, ApiError> {
        let rec = self
            .policies
            .iter_mut()
            .find(|p| p.id == id)
            .ok_or_else(|| ApiError::not_found("policy", id))?;
        for (k, v) in changes {
            match (k.as_str(), v) {
                ("blob", Value::String(s)) => rec.blob = s.clone(),
                ("type", Value::String(s)) => rec.kind = s.clone(),
                ("id", _) => {}
                _ => {
                    rec.extra.insert(k.clone(), v.clone());
                }
            }
        }
        Ok(rec.clone())
    }

    /// Deletes a policy.
    pub(crate) fn delete_policy(&mut self, id: &str) -> Result<(), ApiError> {
        let before = self.policies.len();
        self.policies.retain(|p| p.id != id);
        if self.policies.len() == before {
            return Err(ApiError::not_found("policy", id));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ec2_id_is_the_sha256_of_its_access_key() {
        // what a real Keystone 30.0.0 answered for the access key `AK1`
        assert_eq!(
            ec2_id("AK1"),
            "5e2e84497339a607cff12f20eab85a14f7bad4da010e4fedc95381144fa3933d"
        );
    }

    #[test]
    fn ec2_blobs_are_checked_as_keystone_checks_them() {
        let message = |blob: &str| ec2_blob(blob).unwrap_err().message;
        assert_eq!(message("not json"), "Invalid blob in credential");
        for blob in ["{}", "[]", "0", "\"x\"", "null"] {
            assert!(message(blob).starts_with("Expecting to find blob in credential."));
        }
        assert!(
            message(r#"{"secret": "s"}"#).starts_with("Expecting to find access in credential.")
        );
        assert!(ec2_blob(r#"{"access": "a"}"#).is_ok());
    }
}
