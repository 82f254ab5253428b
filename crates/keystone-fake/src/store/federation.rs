//! Federation's admin records (OS-FEDERATION): identity providers with their protocols,
//! mappings and service providers, in the order they were made (Keystone lists them so), with
//! Keystone's conflicts, its domain made for an identity provider given none, and the
//! cascades (an identity provider's protocols go with it; a domain's identity providers with
//! the domain).

use serde_json::Value;

use super::{Store, new_id};
use crate::error::{ApiError, StatusCode};

/// An identity provider.
#[derive(Debug, Clone)]
pub(crate) struct IdpRec {
    pub(crate) id: String,
    pub(crate) domain_id: String,
    pub(crate) enabled: bool,
    pub(crate) description: Option<String>,
    /// As last written (reads sort them).
    pub(crate) remote_ids: Vec<String>,
    pub(crate) authorization_ttl: Option<i64>,
}

/// A protocol of an identity provider.
#[derive(Debug, Clone)]
pub(crate) struct ProtocolRec {
    pub(crate) idp_id: String,
    pub(crate) id: String,
    pub(crate) mapping_id: String,
    pub(crate) remote_id_attribute: Option<String>,
}

/// A mapping.
#[derive(Debug, Clone)]
pub(crate) struct MappingRec {
    pub(crate) id: String,
    pub(crate) rules: Value,
    pub(crate) schema_version: String,
}

/// A service provider.
#[derive(Debug, Clone)]
pub(crate) struct SpRec {
    pub(crate) id: String,
    pub(crate) enabled: bool,
    pub(crate) description: Option<String>,
    pub(crate) auth_url: String,
    pub(crate) sp_url: String,
    pub(crate) relay_state_prefix: String,
}

/// A new identity provider (its body checked).
#[derive(Debug)]
pub(crate) struct NewIdp {
    pub(crate) id: String,
    /// `None`: Keystone makes a domain for it.
    pub(crate) domain_id: Option<String>,
    pub(crate) enabled: bool,
    pub(crate) description: Option<String>,
    pub(crate) remote_ids: Vec<String>,
    pub(crate) authorization_ttl: Option<i64>,
}

/// The longest id Keystone's federation tables hold.
const ID_MAX_CHARS: usize = 64;

/// Keystone's 400 for a value longer than its column.
fn too_long(value: &str, column: &str, max: usize) -> Option<ApiError> {
    (value.chars().count() > max).then(|| {
        ApiError::bad_request(format!(
            "String length exceeded. The length of string '{value}' exceeds the limit of column \
             {column}(CHAR({max}))."
        ))
    })
}

fn id_length(id: &str) -> Result<(), ApiError> {
    too_long(id, "id", ID_MAX_CHARS).map_or(Ok(()), Err)
}

/// Keystone's 404 for an identity provider.
fn idp_not_found(id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!("Could not find Identity Provider: {id}."),
    )
}

/// Keystone's 404 for a protocol (also when its identity provider does not exist).
fn protocol_not_found(idp_id: &str, id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!("Could not find federated protocol {id} for Identity Provider: {idp_id}."),
    )
}

/// Keystone's 404 for a service provider.
fn sp_not_found(id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!("Could not find Service Provider: {id}."),
    )
}

fn remote_id_conflict() -> ApiError {
    ApiError::conflict("identity_provider", "Duplicate remote ID: None")
}

impl Store {
    /// Creates an identity provider; without a domain, Keystone makes one for it (only once
    /// nothing else refuses it).
    pub(crate) fn create_idp(&mut self, c: NewIdp) -> Result<IdpRec, ApiError> {
        if let Some(d) = &c.domain_id
            && !self.domains.contains_key(d)
        {
            return Err(ApiError::not_found("domain", d));
        }
        id_length(&c.id)?;
        if self.idps.iter().any(|i| i.id == c.id) {
            return Err(ApiError::conflict(
                "identity_provider",
                "Duplicate entry: None",
            ));
        }
        if self
            .idps
            .iter()
            .any(|i| i.remote_ids.iter().any(|r| c.remote_ids.contains(r)))
        {
            return Err(remote_id_conflict());
        }
        let domain_id = match c.domain_id {
            Some(d) => d,
            None => {
                let id = new_id();
                self.domains.insert(
                    id.clone(),
                    super::DomainRec {
                        id: id.clone(),
                        name: id.clone(),
                        description: format!(
                            "Auto generated federated domain for Identity Provider: {}",
                            c.id
                        ),
                        enabled: true,
                        tags: Vec::new(),
                    },
                );
                id
            }
        };
        let rec = IdpRec {
            id: c.id,
            domain_id,
            enabled: c.enabled,
            description: c.description,
            remote_ids: c.remote_ids,
            authorization_ttl: c.authorization_ttl,
        };
        self.idps.push(rec.clone());
        Ok(rec)
    }

    /// An identity provider, or Keystone's 404.
    pub(crate) fn idp(&self, id: &str) -> Result<&IdpRec, ApiError> {
        self.idps
            .iter()
            .find(|i| i.id == id)
            .ok_or_else(|| idp_not_found(id))
    }

    /// Changes an identity provider: `enabled`, `description`, `authorization_ttl` (a null
    /// clears it) and `remote_ids` (replaced; one another provider holds is a 409).
    pub(crate) fn update_idp(
        &mut self,
        id: &str,
        changes: &serde_json::Map<String, Value>,
    ) -> Result<IdpRec, ApiError> {
        self.idp(id)?;
        let remote_ids: Option<Vec<String>> = changes.get("remote_ids").map(|v| {
            v.as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        });
        if let Some(new) = &remote_ids
            && self
                .idps
                .iter()
                .any(|i| i.id != id && i.remote_ids.iter().any(|r| new.contains(r)))
        {
            return Err(remote_id_conflict());
        }
        let rec = self
            .idps
            .iter_mut()
            .find(|i| i.id == id)
            .ok_or_else(|| idp_not_found(id))?;
        if let Some(v) = changes.get("enabled") {
            rec.enabled = v.as_bool().unwrap_or(rec.enabled);
        }
        if let Some(v) = changes.get("description") {
            rec.description = v.as_str().map(str::to_owned);
        }
        if let Some(v) = changes.get("authorization_ttl") {
            rec.authorization_ttl = v.as_i64();
        }
        if let Some(v) = remote_ids {
            rec.remote_ids = v;
        }
        Ok(rec.clone())
    }

    /// Deletes an identity provider with its protocols (its domain stays).
    pub(crate) fn delete_idp(&mut self, id: &str) -> Result<(), ApiError> {
        self.idp(id)?;
        self.idps.retain(|i| i.id != id);
        self.protocols.retain(|p| p.idp_id != id);
        Ok(())
    }

    /// Deletes the identity providers of a domain being deleted, with their protocols.
    pub(crate) fn delete_domain_idps(&mut self, domain_id: &str) {
        let gone: Vec<String> = self
            .idps
            .iter()
            .filter(|i| i.domain_id == domain_id)
            .map(|i| i.id.clone())
            .collect();
        for id in gone {
            let _ = self.delete_idp(&id);
        }
    }

    /// A mapping, or Keystone's 404.
    pub(crate) fn mapping(&self, id: &str) -> Result<&MappingRec, ApiError> {
        self.mappings
            .iter()
            .find(|m| m.id == id)
            .ok_or_else(|| ApiError::not_found("mapping", id))
    }

    /// Keystone's 400 for a protocol naming a mapping that does not exist.
    fn check_mapping(&self, mapping_id: &str) -> Result<(), ApiError> {
        if self.mappings.iter().any(|m| m.id == mapping_id) {
            return Ok(());
        }
        Err(ApiError::bad_request(format!(
            "Invalid mapping id: {mapping_id}"
        )))
    }

    /// A protocol, or Keystone's 404.
    pub(crate) fn protocol(&self, idp_id: &str, id: &str) -> Result<&ProtocolRec, ApiError> {
        self.protocols
            .iter()
            .find(|p| p.idp_id == idp_id && p.id == id)
            .ok_or_else(|| protocol_not_found(idp_id, id))
    }

    /// Creates a protocol: its mapping must exist (checked first), then its identity
    /// provider.
    pub(crate) fn create_protocol(&mut self, rec: ProtocolRec) -> Result<ProtocolRec, ApiError> {
        self.check_mapping(&rec.mapping_id)?;
        self.idp(&rec.idp_id)?;
        id_length(&rec.id)?;
        if self.protocol(&rec.idp_id, &rec.id).is_ok() {
            return Err(ApiError::conflict(
                "federation_protocol",
                format!("Duplicate entry found with ID {}", rec.id),
            ));
        }
        self.protocols.push(rec.clone());
        Ok(rec)
    }

    /// Changes a protocol's mapping (which must exist, checked first) and, when given, its
    /// remote id attribute.
    pub(crate) fn update_protocol(
        &mut self,
        idp_id: &str,
        id: &str,
        mapping_id: &str,
        remote_id_attribute: Option<String>,
    ) -> Result<ProtocolRec, ApiError> {
        self.check_mapping(mapping_id)?;
        let rec = self
            .protocols
            .iter_mut()
            .find(|p| p.idp_id == idp_id && p.id == id)
            .ok_or_else(|| protocol_not_found(idp_id, id))?;
        mapping_id.clone_into(&mut rec.mapping_id);
        if remote_id_attribute.is_some() {
            rec.remote_id_attribute = remote_id_attribute;
        }
        Ok(rec.clone())
    }

    /// Deletes a protocol.
    pub(crate) fn delete_protocol(&mut self, idp_id: &str, id: &str) -> Result<(), ApiError> {
        self.protocol(idp_id, id)?;
        self.protocols
            .retain(|p| !(p.idp_id == idp_id && p.id == id));
        Ok(())
    }

    /// Creates a mapping (its rules checked by the caller). `conflict` words the 409 as
    /// Keystone does from the body.
    pub(crate) fn create_mapping(
        &mut self,
        rec: MappingRec,
        conflict: &str,
    ) -> Result<MappingRec, ApiError> {
        id_length(&rec.id)?;
        if self.mapping(&rec.id).is_ok() {
            return Err(ApiError::conflict("mapping", conflict));
        }
        self.mappings.push(rec.clone());
        Ok(rec)
    }

    /// Replaces a mapping's rules and schema version.
    pub(crate) fn update_mapping(
        &mut self,
        id: &str,
        rules: Value,
        schema_version: String,
    ) -> Result<MappingRec, ApiError> {
        let rec = self
            .mappings
            .iter_mut()
            .find(|m| m.id == id)
            .ok_or_else(|| ApiError::not_found("mapping", id))?;
        rec.rules = rules;
        rec.schema_version = schema_version;
        Ok(rec.clone())
    }

    /// Deletes a mapping (also one a protocol uses, as Keystone allows).
    pub(crate) fn delete_mapping(&mut self, id: &str) -> Result<(), ApiError> {
        self.mapping(id)?;
        self.mappings.retain(|m| m.id != id);
        Ok(())
    }

    /// A service provider, or Keystone's 404.
    pub(crate) fn sp(&self, id: &str) -> Result<&SpRec, ApiError> {
        self.sps
            .iter()
            .find(|s| s.id == id)
            .ok_or_else(|| sp_not_found(id))
    }

    /// Creates a service provider.
    pub(crate) fn create_sp(&mut self, rec: SpRec) -> Result<SpRec, ApiError> {
        id_length(&rec.id)?;
        if let Some(e) = too_long(&rec.relay_state_prefix, "relay_state_prefix", 256) {
            return Err(e);
        }
        if self.sp(&rec.id).is_ok() {
            return Err(ApiError::conflict(
                "service_provider",
                format!("Duplicate entry found with ID {}", rec.id),
            ));
        }
        self.sps.push(rec.clone());
        Ok(rec)
    }

    /// Changes a service provider's given attributes.
    pub(crate) fn update_sp(
        &mut self,
        id: &str,
        changes: &serde_json::Map<String, Value>,
    ) -> Result<SpRec, ApiError> {
        let rec = self
            .sps
            .iter_mut()
            .find(|s| s.id == id)
            .ok_or_else(|| sp_not_found(id))?;
        let text = |k: &str| changes.get(k).and_then(Value::as_str).map(str::to_owned);
        if let Some(v) = text("relay_state_prefix")
            && let Some(e) = too_long(&v, "relay_state_prefix", 256)
        {
            return Err(e);
        }
        if let Some(v) = changes.get("enabled") {
            rec.enabled = v.as_bool().unwrap_or(rec.enabled);
        }
        if changes.contains_key("description") {
            rec.description = text("description");
        }
        if let Some(v) = text("auth_url") {
            rec.auth_url = v;
        }
        if let Some(v) = text("sp_url") {
            rec.sp_url = v;
        }
        if let Some(v) = text("relay_state_prefix") {
            rec.relay_state_prefix = v;
        }
        Ok(rec.clone())
    }

    /// Deletes a service provider.
    pub(crate) fn delete_sp(&mut self, id: &str) -> Result<(), ApiError> {
        self.sp(id)?;
        self.sps.retain(|s| s.id != id);
        Ok(())
    }

    /// The enabled service providers, as every token lists them while there is one.
    pub(crate) fn token_service_providers(
        &self,
    ) -> Option<Vec<keystone_types::token::TokenServiceProvider>> {
        let listed: Vec<_> = self
            .sps
            .iter()
            .filter(|s| s.enabled)
            .map(|s| keystone_types::token::TokenServiceProvider {
                auth_url: s.auth_url.clone(),
                id: s.id.clone(),
                sp_url: s.sp_url.clone(),
            })
            .collect();
        (!listed.is_empty()).then_some(listed)
    }
}
