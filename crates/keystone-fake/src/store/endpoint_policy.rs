//! OS-ENDPOINT-POLICY: policy blobs associated with an endpoint, a service, or a service in a
//! region, and the lookups Keystone 30 makes of them (`endpoint_policy/core.py`).
//!
//! As in Keystone's SQL backend, a target has at most one policy (associating it again
//! replaces the policy), deleting an association that is not there is no error, and nothing
//! cleans associations up when their policy, endpoint, service or region is deleted: the
//! orphans stay, and the lookups meet them as Keystone's do (a 404 naming what is gone).
//! Keystone checks that the policy, endpoint, service and region exist in its handlers, before
//! these mutators, and so does the fake.

use std::collections::HashSet;

use super::{EndpointRec, PolicyRec, Store, found};
use crate::error::{ApiError, StatusCode};

/// What a policy is associated with: exactly one of Keystone's three kinds of row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PolicyAssociationTarget {
    /// One endpoint.
    Endpoint(String),
    /// Every endpoint of a service.
    Service(String),
    /// The endpoints of a service in a region or any region below it.
    ServiceInRegion {
        /// The service's id.
        service_id: String,
        /// The region's id.
        region_id: String,
    },
}

/// A row of Keystone's `policy_association` table.
#[derive(Debug, Clone)]
pub(crate) struct PolicyAssociationRec {
    pub(crate) policy_id: String,
    pub(crate) target: PolicyAssociationTarget,
}

/// Keystone's `PolicyAssociationNotFound`.
fn association_not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "Could not find policy association.")
}

impl Store {
    /// Associates a policy with a target, replacing the policy the target had (Keystone's
    /// upsert: one policy per target).
    pub(crate) fn associate_policy(&mut self, policy_id: &str, target: PolicyAssociationTarget) {
        match self
            .policy_associations
            .iter_mut()
            .find(|a| a.target == target)
        {
            Some(row) => row.policy_id = policy_id.to_owned(),
            None => self.policy_associations.push(PolicyAssociationRec {
                policy_id: policy_id.to_owned(),
                target,
            }),
        }
    }

    /// Whether this policy is associated with exactly this target, or Keystone's 404 (a
    /// target associated with another policy is not found either).
    pub(crate) fn check_policy_association(
        &self,
        policy_id: &str,
        target: &PolicyAssociationTarget,
    ) -> Result<(), ApiError> {
        if self
            .policy_associations
            .iter()
            .any(|a| a.policy_id == policy_id && &a.target == target)
        {
            Ok(())
        } else {
            Err(association_not_found())
        }
    }

    /// Ends this policy's association with the target; none is no error (Keystone's 204).
    pub(crate) fn delete_policy_association(
        &mut self,
        policy_id: &str,
        target: &PolicyAssociationTarget,
    ) {
        self.policy_associations
            .retain(|a| !(a.policy_id == policy_id && &a.target == target));
    }

    /// The endpoints a policy applies to, as Keystone's `list_endpoints_for_policy` finds
    /// them: association by association, in the order they were made, an endpoint's own
    /// (a deleted one fails the whole list with its 404), every endpoint of a service, or
    /// those of a service in a region and the regions below it (depth first, each region
    /// once). Nothing is de-duplicated.
    pub(crate) fn endpoints_for_policy(
        &self,
        policy_id: &str,
    ) -> Result<Vec<&EndpointRec>, ApiError> {
        let mut out = Vec::new();
        for a in self
            .policy_associations
            .iter()
            .filter(|a| a.policy_id == policy_id)
        {
            match &a.target {
                PolicyAssociationTarget::Endpoint(e) => {
                    out.push(found(&self.endpoints, "endpoint", e)?);
                }
                PolicyAssociationTarget::Service(s) => {
                    out.extend(self.endpoints.values().filter(|e| &e.service_id == s));
                }
                PolicyAssociationTarget::ServiceInRegion {
                    service_id,
                    region_id,
                } => {
                    let mut examined = HashSet::new();
                    self.region_endpoints_down(service_id, region_id, &mut examined, &mut out);
                }
            }
        }
        Ok(out)
    }

    /// A service's endpoints in `region_id`, then in each region under it, depth first.
    fn region_endpoints_down<'a>(
        &'a self,
        service_id: &str,
        region_id: &str,
        examined: &mut HashSet<String>,
        out: &mut Vec<&'a EndpointRec>,
    ) {
        if !examined.insert(region_id.to_owned()) {
            return;
        }
        out.extend(
            self.endpoints.values().filter(|e| {
                e.service_id == service_id && e.region_id.as_deref() == Some(region_id)
            }),
        );
        for child in self
            .regions
            .values()
            .filter(|r| r.parent_region_id.as_deref() == Some(region_id))
        {
            self.region_endpoints_down(service_id, &child.id, examined, out);
        }
    }

    /// The policy of an existing endpoint, as Keystone's `get_policy_for_endpoint` looks for
    /// it: the endpoint's own association; else its service's in its region, then in each
    /// region above it (each once); else its service's. The first association found decides:
    /// a deleted policy is its 404, with no fallback.
    pub(crate) fn policy_for_endpoint(
        &self,
        endpoint: &EndpointRec,
    ) -> Result<&PolicyRec, ApiError> {
        let find = |target: PolicyAssociationTarget| {
            self.policy_associations
                .iter()
                .find(|a| a.target == target)
                .map(|a| a.policy_id.clone())
        };
        let mut policy_id = find(PolicyAssociationTarget::Endpoint(endpoint.id.clone()));
        let mut region_id = endpoint.region_id.clone();
        let mut examined = HashSet::new();
        while policy_id.is_none()
            && let Some(r) = region_id.take()
        {
            policy_id = find(PolicyAssociationTarget::ServiceInRegion {
                service_id: endpoint.service_id.clone(),
                region_id: r.clone(),
            });
            if policy_id.is_none() {
                let parent = found(&self.regions, "region", &r)?.parent_region_id.clone();
                examined.insert(r);
                region_id = parent.filter(|p| !examined.contains(p));
            }
        }
        let policy_id = policy_id
            .or_else(|| {
                find(PolicyAssociationTarget::Service(
                    endpoint.service_id.clone(),
                ))
            })
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::NOT_FOUND,
                    format!("No policy is associated with endpoint {}.", endpoint.id),
                )
            })?;
        self.policy_blob(&policy_id)
    }
}
