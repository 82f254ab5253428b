//! The fake's data: what Keystone keeps in its database, in memory, the rules that change it
//! (with Keystone's conflicts and not-found errors), and the rules that issue, validate and
//! revoke tokens.
//!
//! Everything that both the HTTP API and the Rust seeding API change goes through [`Store`], so
//! the two cannot disagree. The store is the floor of the crate: it knows nothing of requests,
//! routes, extractors or handlers (it imports nothing from `api`, `routes`, `extract` or
//! `state`), and answers in Keystone's words with `ApiError`s.
//!
//! - `records`: the records, one a Keystone table;
//! - `tokens`: token strings and records, validating, revoking and rendering tokens;
//! - `auth`: token requests, authenticated method by method and scoped;
//! - `roles`: who holds which role where (groups, inheritance, implied roles);
//! - `resource`, `identity`, `assignment`, `catalog`, `credentials`, `trusts`: each
//!   subsystem's lookups and the mutators that create, change and delete its records;
//! - `blobs`: stored credentials (`/v3/credentials`, OS-EC2) and policies;
//! - `federation`: OS-FEDERATION's identity providers, protocols, mappings, service providers;
//! - `domain_config`: domain-specific configuration, stored and shown, enforced nowhere;
//! - `ec2_signature`: AWS request signatures, as `POST /v3/ec2tokens` checks them;
//! - `endpoint_filter`: OS-EP-FILTER's endpoint groups and project associations, which narrow
//!   a project's catalog;
//! - `endpoint_policy`: OS-ENDPOINT-POLICY's associations of policies with endpoints, services
//!   and regions, and the lookups that follow them.
//!
//! **Architecture invariant:** the store never imports the web layer (`api`, `routes`,
//! `extract`, `state`, `policy`, `views`), nor axum. Its only crate dependency is `error`.
//! Dependencies point one way: routes → api → (extract, state, policy, views, schema) → store →
//! error.

mod assignment;
mod auth;
mod blobs;
mod catalog;
mod credentials;
mod domain_config;
mod ec2_signature;
mod endpoint_filter;
mod endpoint_policy;
mod federation;
mod identity;
mod records;
mod resource;
mod revoke;
mod roles;
mod tokens;
mod trusts;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};

use crate::error::{ApiError, validation_detail};

pub(crate) use assignment::AssignmentRow;
pub(crate) use blobs::{
    ConsumerRec, CredentialRec, NewCredential, PolicyRec, credential_extra, ec2_id,
    normalized_extra,
};
pub(crate) use domain_config::{
    SECURITY_COMPLIANCE_GROUP, default_domain_config, security_compliance_config,
};
pub(crate) use endpoint_filter::{EndpointGroupChanges, EndpointGroupRec};
pub(crate) use endpoint_policy::{PolicyAssociationRec, PolicyAssociationTarget};
pub(crate) use federation::{IdpRec, MappingRec, NewIdp, ProtocolRec, SpRec};
pub(crate) use records::{
    AccessRuleRec, Actor, AppCredRec, DomainRec, EndpointRec, Grant, GroupRec, RegionRec,
    ServiceRec, Target, TrustRec,
};
pub use records::{ProjectRec, RoleRec, UserRec};
pub(crate) use revoke::Revoked;
use tokens::TokenKey;
pub(crate) use tokens::{TokenProblem, is_delegated};
pub use tokens::{TokenRec, TokenScope};
pub(crate) use trusts::NewTrust;

/// A fresh Keystone-style id: 32 hex digits.
pub(crate) fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// The attributes of a body that Keystone keeps as extras: those the fake has no field for,
/// less the ones Keystone knows and `known` names.
pub(crate) fn unknown_attributes(
    mut attributes: serde_json::Map<String, serde_json::Value>,
    known: &[&str],
) -> serde_json::Map<String, serde_json::Value> {
    attributes.retain(|k, _| !known.contains(&k.as_str()));
    attributes
}

/// The record `id` of `records`, or Keystone's 404 naming `kind`.
pub(crate) fn found<'a, R>(
    records: &'a BTreeMap<String, R>,
    kind: &str,
    id: &str,
) -> Result<&'a R, ApiError> {
    records.get(id).ok_or_else(|| ApiError::not_found(kind, id))
}

/// The `expires_at` of an application credential or a trust as Keystone's
/// `parse_expiration_date` reads it: a `Z` is added unless the text ends with one, then the
/// text must be an ISO 8601 date and time (`T` or a space between them, seconds and a
/// fraction optional; a date alone, or any other zone, followed by that `Z` does not parse);
/// not before `now`.
fn parse_expiration(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, ApiError> {
    const FORMATS: [&str; 4] = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y%m%dT%H%M%S%.f",
        "%Y%m%dT%H%M",
    ];
    let bare = text
        .strip_suffix('Z')
        .unwrap_or(text)
        .replacen(' ', "T", 1)
        .replace(',', ".");
    let parsed = FORMATS
        .iter()
        .find_map(|f| chrono::NaiveDateTime::parse_from_str(&bare, f).ok())
        .map(|n| n.and_utc())
        .ok_or_else(|| validation_detail("Timestamp not in expected format."))?;
    if parsed < now {
        return Err(validation_detail(
            "The 'expires_at' must not be before now.",
        ));
    }
    Ok(parsed)
}

/// The fake's whole database.
#[derive(Default)]
pub struct Store {
    pub(crate) domains: BTreeMap<String, DomainRec>,
    pub(crate) projects: BTreeMap<String, ProjectRec>,
    pub(crate) users: BTreeMap<String, UserRec>,
    pub(crate) roles: BTreeMap<String, RoleRec>,
    /// (prior role id, implied role id), each once, in the order they were made: Keystone's SQL
    /// backend lists them so (bootstrap's first, `member` implying `reader`).
    pub(crate) implied: Vec<(String, String)>,
    pub(crate) grants: BTreeSet<Grant>,
    pub(crate) groups: BTreeMap<String, GroupRec>,
    /// Group memberships: (group id, user id).
    pub(crate) members: BTreeSet<(String, String)>,
    pub(crate) services: BTreeMap<String, ServiceRec>,
    pub(crate) endpoints: BTreeMap<String, EndpointRec>,
    pub(crate) regions: BTreeMap<String, RegionRec>,
    pub(crate) app_creds: BTreeMap<String, AppCredRec>,
    /// Users' access rules, by id.
    pub(crate) access_rules: BTreeMap<String, AccessRuleRec>,
    /// Trusts, deleted ones included, in the order they were made (Keystone lists them so).
    pub(crate) trusts: Vec<TrustRec>,
    /// Stored credentials, in the order they were made (Keystone lists them so).
    /// Endpoint groups, in the order they were made (Keystone lists them so).
    pub(crate) endpoint_groups: Vec<EndpointGroupRec>,
    /// Endpoints associated with projects: (project id, endpoint id), in the order made.
    pub(crate) project_endpoints: Vec<(String, String)>,
    /// Endpoint groups associated with projects: (endpoint group id, project id), in the order
    /// made.
    pub(crate) project_endpoint_groups: Vec<(String, String)>,
    pub(crate) credentials: Vec<CredentialRec>,
    /// Stored policy blobs, in the order they were made.
    pub(crate) policies: Vec<PolicyRec>,
    /// OS-ENDPOINT-POLICY's associations, in the order they were made (one per target; none
    /// removed when what they name is deleted, as in Keystone).
    pub(crate) policy_associations: Vec<PolicyAssociationRec>,
    /// OAuth1 consumers, in the order they were made.
    pub(crate) consumers: Vec<ConsumerRec>,
    /// Federation's identity providers, protocols, mappings and service providers, each in
    /// the order they were made.
    pub(crate) idps: Vec<IdpRec>,
    pub(crate) protocols: Vec<ProtocolRec>,
    pub(crate) mappings: Vec<MappingRec>,
    pub(crate) sps: Vec<SpRec>,
    /// Domains' configurations, by domain id (sensitive values are never printed).
    pub(crate) domain_configs: BTreeMap<String, domain_config::DomainConfig>,
    /// Live tokens, by token string (a secret: never printed).
    tokens: HashMap<String, TokenRec>,
    revoked_audit_ids: HashSet<String>,
    /// For users whose tokens were revoked: the serial of the first token still good.
    user_tokens_valid_from: HashMap<String, u64>,
    /// The serial of the next token.
    next_serial: u64,
    /// The token count at which issuing sweeps out the tokens past any use.
    purge_at: usize,
    token_key: TokenKey,
    /// Revocation events, oldest first (`GET /v3/OS-REVOKE/events`).
    revoke_events: Vec<keystone_types::revoke::RevokeEvent>,
    /// The time of the operation under way (set when the store is locked).
    pub(crate) now: DateTime<Utc>,
    /// The token lifetime, which bounds how long events are kept.
    pub(crate) token_ttl: chrono::Duration,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // the token map is keyed by token strings: only its size is printed
        f.debug_struct("Store")
            .field("domains", &self.domains)
            .field("projects", &self.projects)
            .field("users", &self.users)
            .field("roles", &self.roles)
            .field("implied", &self.implied)
            .field("grants", &self.grants)
            .field("groups", &self.groups)
            .field("endpoint_groups", &self.endpoint_groups)
            .field("project_endpoints", &self.project_endpoints)
            .field("project_endpoint_groups", &self.project_endpoint_groups)
            .field("members", &self.members)
            .field("services", &self.services)
            .field("endpoints", &self.endpoints)
            .field("regions", &self.regions)
            .field("app_creds", &self.app_creds)
            .field("access_rules", &self.access_rules)
            .field("trusts", &self.trusts)
            .field("credentials", &self.credentials)
            .field("policies", &self.policies)
            .field("policy_associations", &self.policy_associations)
            .field("consumers", &self.consumers)
            .field("idps", &self.idps)
            .field("protocols", &self.protocols)
            .field("mappings", &self.mappings)
            .field("sps", &self.sps)
            .field("domain_configs", &self.domain_configs)
            .field("tokens", &format_args!("[{} redacted]", self.tokens.len()))
            .field("revoked_audit_ids", &self.revoked_audit_ids)
            .finish_non_exhaustive()
    }
}
