//! Roles, the rules of which role implies which, grants (to users and to groups, on projects,
//! domains and the system, and OS-INHERIT's inherited ones) and role assignments (Keystone's
//! assignment subsystem).

use axum::Json;
use axum::extract::{FromRequestParts, OriginalUri, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use keystone_types::resources::*;
use serde_json::Value;

use super::{Created, created};
use crate::error::{ApiError, ApiResult};
use crate::extract::{KsPath, KsQuery, QueryMap, matches, path_and_query, query_filter_is_true};
use crate::policy::{Caller, PolicyTarget};
use crate::state::AppState;
use crate::store::{Actor, AssignmentRow, Grant, RoleRec, Store, Target, found};
use crate::views::Views;

simple_crud!(roles, "role", "role",
    view: |v: &Views, r| v.role(r, true),
    get: get_role, create: create_role => create_role(RoleCreateRequest),
    update: update_role => update_role(RoleUpdateRequest),
    delete: delete_role => delete_role,
    answer: RoleResponse { role });

/// `GET /v3/roles?name=&domain_id=`
pub(crate) async fn list_roles(
    State(state): State<AppState>,
    uri: OriginalUri,
    KsQuery(q): KsQuery<QueryMap>,
    caller: Caller,
) -> ApiResult<Json<RoleList>> {
    caller.enforce("identity:list_roles", &PolicyTarget::new())?;
    let v = state.views();
    let roles = state
        .store()
        .roles
        .values()
        .filter(|r| {
            matches(&q, "name", Some(&r.name)) && matches(&q, "domain_id", r.domain_id.as_deref())
        })
        .map(|r| v.role(r, true))
        .collect();
    Ok(Json(RoleList {
        roles,
        links: v.list_links(&path_and_query(&uri)),
    }))
}

// ----- implied roles -------------------------------------------------------------------------

/// A role of an implication rule, or Keystone's 404 for it.
fn role_of<'s>(store: &'s Store, id: &str) -> ApiResult<&'s RoleRec> {
    found(&store.roles, "role", id)
}

/// Checks `rules` against the target Keystone builds for an implication rule: the prior role and
/// the implied one, which must exist (404, before the policy is checked, as Keystone looks them
/// up to build the target).
fn implied_role_guard(
    state: &AppState,
    caller: &Caller,
    rules: &[&str],
    prior: &str,
    implied: Option<&str>,
) -> ApiResult<()> {
    let mut target = PolicyTarget::new();
    {
        let store = state.store();
        let roles = [("prior_role", Some(prior)), ("implied_role", implied)];
        for (key, id) in roles {
            let Some(id) = id else { continue };
            let role = role_of(&store, id)?;
            target = target
                .with(&format!("target.{key}.id"), role.id.as_str())
                .with(&format!("target.{key}.name"), role.name.as_str())
                .with(
                    &format!("target.{key}.domain_id"),
                    role.domain_id
                        .clone()
                        .map(Value::String)
                        .unwrap_or(Value::Null),
                );
        }
    }
    for rule in rules {
        caller.enforce(rule, &target)?;
    }
    Ok(())
}

/// The answer naming one rule: the prior role, the role it implies, and the rule's link.
fn implied_role_answer(
    state: &AppState,
    prior: &str,
    implied: &str,
) -> ApiResult<RoleInferenceResponse<InferenceRole>> {
    let store = state.store();
    store.check_implied_role(prior, implied)?;
    let v = state.views();
    Ok(RoleInferenceResponse {
        role_inference: RoleInference {
            prior_role: v.inference_role(role_of(&store, prior)?),
            implies: v.inference_role(role_of(&store, implied)?),
        },
        links: v.self_link(&format!("roles/{prior}/implies/{implied}")),
    })
}

/// `PUT /v3/roles/{prior}/implies/{implied}`: 201 with the rule.
pub(crate) async fn put_implied_role(
    State(state): State<AppState>,
    KsPath((prior, implied)): KsPath<(String, String)>,
    caller: Caller,
) -> ApiResult<Created<RoleInferenceResponse<InferenceRole>>> {
    implied_role_guard(
        &state,
        &caller,
        &["identity:create_implied_role"],
        &prior,
        Some(&implied),
    )?;
    state.store().create_implied_role(&prior, &implied)?;
    Ok(created(implied_role_answer(&state, &prior, &implied)?))
}

/// `GET /v3/roles/{prior}/implies/{implied}`: the rule, or 404.
pub(crate) async fn get_implied_role(
    State(state): State<AppState>,
    KsPath((prior, implied)): KsPath<(String, String)>,
    caller: Caller,
) -> ApiResult<Json<RoleInferenceResponse<InferenceRole>>> {
    implied_role_guard(
        &state,
        &caller,
        &["identity:get_implied_role"],
        &prior,
        Some(&implied),
    )?;
    Ok(Json(implied_role_answer(&state, &prior, &implied)?))
}

/// `HEAD /v3/roles/{prior}/implies/{implied}`: 204 (Keystone's, where HTTP would have a 200),
/// or 404. As in Keystone, it takes both `check_implied_role` and `get_implied_role`.
pub(crate) async fn check_implied_role(
    State(state): State<AppState>,
    KsPath((prior, implied)): KsPath<(String, String)>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    implied_role_guard(
        &state,
        &caller,
        &["identity:check_implied_role", "identity:get_implied_role"],
        &prior,
        Some(&implied),
    )?;
    state.store().check_implied_role(&prior, &implied)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /v3/roles/{prior}/implies/{implied}`: 204, or 404 when there is no such rule.
pub(crate) async fn delete_implied_role(
    State(state): State<AppState>,
    KsPath((prior, implied)): KsPath<(String, String)>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    implied_role_guard(
        &state,
        &caller,
        &["identity:delete_implied_role"],
        &prior,
        Some(&implied),
    )?;
    state.store().delete_implied_role(&prior, &implied)?;
    Ok(StatusCode::NO_CONTENT)
}

/// The roles `prior` implies directly, as the role inference routes list them.
fn implied_by(store: &Store, v: &Views, prior: &str) -> Vec<InferenceRole> {
    store
        .implied
        .iter()
        .filter(|(p, _)| p == prior)
        .filter_map(|(_, implied)| store.roles.get(implied))
        .map(|r| v.inference_role(r))
        .collect()
}

/// `GET /v3/roles/{prior}/implies`: the prior role and the roles it implies directly.
pub(crate) async fn list_implied_roles(
    State(state): State<AppState>,
    KsPath(prior): KsPath<String>,
    caller: Caller,
) -> ApiResult<Json<RoleInferenceResponse<Vec<InferenceRole>>>> {
    implied_role_guard(
        &state,
        &caller,
        &["identity:list_implied_roles"],
        &prior,
        None,
    )?;
    let store = state.store();
    let v = state.views();
    Ok(Json(RoleInferenceResponse {
        role_inference: RoleInference {
            prior_role: v.inference_role(role_of(&store, &prior)?),
            implies: implied_by(&store, &v, &prior),
        },
        links: v.self_link(&format!("roles/{prior}/implies")),
    }))
}

/// `GET /v3/role_inferences`: every rule, grouped by prior role.
pub(crate) async fn list_role_inferences(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<RoleInferenceList>> {
    caller.enforce("identity:list_role_inference_rules", &PolicyTarget::new())?;
    let store = state.store();
    let v = state.views();
    // grouped by prior role, in the order of each one's first rule, as Keystone groups them
    let mut priors: Vec<&str> = Vec::new();
    for (prior, _) in &store.implied {
        if !priors.contains(&prior.as_str()) {
            priors.push(prior);
        }
    }
    let role_inferences = priors
        .into_iter()
        .filter_map(|prior| {
            Some(RoleInference {
                prior_role: v.inference_role(store.roles.get(prior)?),
                implies: implied_by(&store, &v, prior),
            })
        })
        .collect();
    Ok(Json(RoleInferenceList { role_inferences }))
}

// ----- grants --------------------------------------------------------------------------------

/// OS-INHERIT's grant routes: `/v3/OS-INHERIT/...`, the same shapes one segment further.
fn is_inherited(uri: &OriginalUri) -> bool {
    uri.0.path().starts_with("/v3/OS-INHERIT/")
}

/// The path's segment `n` after `/v3` (and after `/OS-INHERIT`): `0` is `projects`, `domains`
/// or `system`.
fn segment(uri: &OriginalUri, n: usize) -> Option<&str> {
    let skip = if is_inherited(uri) { 3 } else { 2 };
    uri.0.path().split('/').nth(skip + n)
}

fn target_of(uri: &OriginalUri, target_id: String) -> Target {
    if segment(uri, 0) == Some("domains") {
        Target::Domain(target_id)
    } else {
        Target::Project(target_id)
    }
}

/// The user or group a grant route names: `/v3/{projects,domains}/{target}/{users,groups}/{id}`
/// (also under `/v3/OS-INHERIT`) or `/v3/system/{users,groups}/{id}`.
fn actor_of(uri: &OriginalUri, id: String) -> Actor {
    let kind = if segment(uri, 0) == Some("system") {
        segment(uri, 1)
    } else {
        segment(uri, 2)
    };
    if kind == Some("groups") {
        Actor::Group(id)
    } else {
        Actor::User(id)
    }
}

/// The grant a `/v3/{projects,domains}/{target}/{users,groups}/{actor}/roles/{role}` route names
/// (inherited under `/v3/OS-INHERIT`).
fn grant_of(uri: &OriginalUri, (target_id, actor_id, role_id): (String, String, String)) -> Grant {
    Grant {
        actor: actor_of(uri, actor_id),
        target: target_of(uri, target_id),
        role_id,
        inherited: is_inherited(uri),
    }
}

/// `PUT /v3/{projects,domains}/{target}/{users,groups}/{actor}/roles/{role}`: 204.
pub(crate) async fn put_grant(
    State(state): State<AppState>,
    uri: OriginalUri,
    KsPath(parts): KsPath<(String, String, String)>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    let grant = grant_of(&uri, parts);
    guard_grant(&state, &caller, "identity:create_grant", &grant, false)?;
    state.store().grant(grant)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET`/`HEAD /v3/{projects,domains}/{target}/{users,groups}/{actor}/roles/{role}`: 204 or
/// 404.
pub(crate) async fn check_grant(
    State(state): State<AppState>,
    uri: OriginalUri,
    KsPath(parts): KsPath<(String, String, String)>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    let grant = grant_of(&uri, parts);
    guard_grant(&state, &caller, "identity:check_grant", &grant, false)?;
    check(&state.store(), grant)
}

/// What a grant's policy target does with a part (domain, role, user or group, project) that
/// does not exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Missing {
    /// A 404 naming it, whoever asks (the grant routes look every part up first).
    NotFound,
    /// As [`Missing::NotFound`], except a missing user or group is left out of the target (a
    /// revocation).
    ActorLeftOut,
    /// Left out of the target (OS-INHERIT's routes: the policy decides first, and the grant's
    /// own 404 comes after it).
    LeftOut,
}

/// The target Keystone builds for a grant or a list of grants (`role: None`): the role, the
/// user or group, and the project or domain, each looked up in Keystone's order, what is missing
/// handled as `missing` says.
fn grant_target(
    state: &AppState,
    actor: &Actor,
    target: &Target,
    role_id: Option<&str>,
    missing: Missing,
) -> ApiResult<PolicyTarget> {
    let store = state.store();
    let lenient = missing == Missing::LeftOut;
    let mut t = PolicyTarget::new();
    if let Target::Domain(d) = target {
        if store.domains.contains_key(d) {
            t = t.with("target.domain.id", d.as_str());
        } else if !lenient {
            return Err(ApiError::not_found("domain", d));
        }
    }
    if let Some(role_id) = role_id {
        match store.roles.get(role_id) {
            Some(role) => {
                t = t
                    .with("target.role.id", role.id.as_str())
                    .with("target.role.name", role.name.as_str())
                    .with(
                        "target.role.domain_id",
                        role.domain_id
                            .clone()
                            .map(Value::String)
                            .unwrap_or(Value::Null),
                    );
            }
            None if lenient => {}
            None => return Err(ApiError::not_found("role", role_id)),
        }
    }
    match store.actor_domain(actor) {
        Some(domain) => {
            let kind = actor.kind();
            t = t
                .with(&format!("target.{kind}.id"), actor.id())
                .with(&format!("target.{kind}.domain_id"), domain);
        }
        None if missing != Missing::NotFound => {}
        None => return Err(ApiError::not_found(actor.kind(), actor.id())),
    }
    if let Target::Project(p) = target {
        match store.projects.get(p) {
            Some(project) => {
                t = t
                    .with("target.project.id", p.as_str())
                    .with("target.project.domain_id", project.domain_id.as_str());
            }
            None if lenient => {}
            None => return Err(ApiError::not_found("project", p)),
        }
    }
    Ok(t)
}

/// Builds a grant route's target and checks `rule` against it.
fn guard_grant(
    state: &AppState,
    caller: &Caller,
    rule: &str,
    g: &Grant,
    missing_actor_ok: bool,
) -> ApiResult<()> {
    let missing = match (g.inherited, missing_actor_ok) {
        (true, _) => Missing::LeftOut,
        (false, true) => Missing::ActorLeftOut,
        (false, false) => Missing::NotFound,
    };
    let target = grant_target(state, &g.actor, &g.target, Some(&g.role_id), missing)?;
    caller.enforce(rule, &target)
}

fn check(store: &Store, g: Grant) -> ApiResult<StatusCode> {
    store.check_grant_parts(&g)?;
    if store.grants.contains(&g) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(
            "role assignment",
            &format!("role {} for {} {}", g.role_id, g.actor.kind(), g.actor.id()),
        ))
    }
}

/// `DELETE /v3/{projects,domains}/{target}/{users,groups}/{actor}/roles/{role}`: 204.
pub(crate) async fn delete_grant(
    State(state): State<AppState>,
    uri: OriginalUri,
    KsPath(parts): KsPath<(String, String, String)>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    let grant = grant_of(&uri, parts);
    guard_grant(&state, &caller, "identity:revoke_grant", &grant, true)?;
    state.store().revoke_grant(&grant)?;
    Ok(StatusCode::NO_CONTENT)
}

/// The roles granted to `actor` itself on `target` (a user's list leaves their groups' out).
fn grant_list(
    state: &AppState,
    uri: &OriginalUri,
    actor: &Actor,
    target: Target,
) -> ApiResult<Json<RoleList>> {
    let store = state.store();
    if is_inherited(uri) {
        // OS-INHERIT looks the domain up, not the user or group (an unknown one has no roles)
        if let Target::Domain(d) = &target
            && !store.domains.contains_key(d)
        {
            return Err(ApiError::not_found("domain", d));
        }
    } else if store.actor_domain(actor).is_none() {
        return Err(ApiError::not_found(actor.kind(), actor.id()));
    }
    let v = state.views();
    let roles = store
        .actor_roles(actor, &target, is_inherited(uri))
        .iter()
        .filter_map(|id| store.roles.get(id))
        .map(|r| v.role(r, true))
        .collect();
    Ok(Json(RoleList {
        roles,
        links: v.list_links(&path_and_query(uri)),
    }))
}

/// `GET /v3/{projects,domains}/{target}/{users,groups}/{actor}/roles`
pub(crate) async fn list_grants(
    State(state): State<AppState>,
    uri: OriginalUri,
    KsPath((target_id, actor_id)): KsPath<(String, String)>,
    caller: Caller,
) -> ApiResult<Json<RoleList>> {
    let target = target_of(&uri, target_id);
    let actor = actor_of(&uri, actor_id);
    let missing = if is_inherited(&uri) {
        Missing::LeftOut
    } else {
        Missing::NotFound
    };
    let policy_target = grant_target(&state, &actor, &target, None, missing)?;
    caller.enforce("identity:list_grants", &policy_target)?;
    grant_list(&state, &uri, &actor, target)
}

/// The system-grant rule for `action` (`list`, `check`, `create`, `revoke`) and `actor`:
/// `identity:{action}_system_grant(s)_for_{user,group}`.
fn system_rule(action: &str, actor: &Actor) -> String {
    let grants = if action == "list" { "grants" } else { "grant" };
    format!("identity:{action}_system_{grants}_for_{}", actor.kind())
}

/// `GET /v3/system/{users,groups}/{actor}/roles`
pub(crate) async fn list_system_grants(
    State(state): State<AppState>,
    uri: OriginalUri,
    KsPath(actor_id): KsPath<String>,
    caller: Caller,
) -> ApiResult<Json<RoleList>> {
    let actor = actor_of(&uri, actor_id);
    caller.enforce(&system_rule("list", &actor), &PolicyTarget::new())?;
    grant_list(&state, &uri, &actor, Target::System)
}

/// The system grant a `/v3/system/{users,groups}/{actor}/roles/{role}` route names.
fn system_grant_of(uri: &OriginalUri, (actor_id, role_id): (String, String)) -> Grant {
    Grant {
        actor: actor_of(uri, actor_id),
        target: Target::System,
        role_id,
        inherited: false,
    }
}

/// `PUT /v3/system/{users,groups}/{actor}/roles/{role}`
pub(crate) async fn put_system_grant(
    State(state): State<AppState>,
    uri: OriginalUri,
    KsPath(parts): KsPath<(String, String)>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    let grant = system_grant_of(&uri, parts);
    caller.enforce(&system_rule("create", &grant.actor), &PolicyTarget::new())?;
    state.store().grant(grant)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET`/`HEAD /v3/system/{users,groups}/{actor}/roles/{role}`
pub(crate) async fn check_system_grant(
    State(state): State<AppState>,
    uri: OriginalUri,
    KsPath(parts): KsPath<(String, String)>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    let grant = system_grant_of(&uri, parts);
    caller.enforce(&system_rule("check", &grant.actor), &PolicyTarget::new())?;
    check(&state.store(), grant)
}

/// `DELETE /v3/system/{users,groups}/{actor}/roles/{role}`
pub(crate) async fn delete_system_grant(
    State(state): State<AppState>,
    uri: OriginalUri,
    KsPath(parts): KsPath<(String, String)>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    let grant = system_grant_of(&uri, parts);
    caller.enforce(&system_rule("revoke", &grant.actor), &PolicyTarget::new())?;
    state.store().revoke_grant(&grant)?;
    Ok(StatusCode::NO_CONTENT)
}

// ----- role assignments ----------------------------------------------------------------------

/// The query of `GET /v3/role_assignments`, checked as Keystone checks it before any policy
/// (400s whoever asks): `include_subtree` needs `scope.project.id`, and a user and a group do
/// not go together.
#[derive(Debug)]
pub(crate) struct AssignmentQuery(QueryMap);

impl<S: Send + Sync> FromRequestParts<S> for AssignmentQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> ApiResult<Self> {
        let KsQuery(q) = KsQuery::<QueryMap>::from_request_parts(parts, state).await?;
        if q.contains_key("include_subtree") && !q.contains_key("scope.project.id") {
            return Err(ApiError::bad_request(
                "'scope.project.id' is a dependency of 'include_subtree'",
            ));
        }
        if q.contains_key("user.id") && q.contains_key("group.id") {
            return Err(ApiError::bad_request("Specify a user or group, not both"));
        }
        Ok(AssignmentQuery(q))
    }
}

/// `GET /v3/role_assignments?user.id=&group.id=&role.id=&scope.project.id=&scope.domain.id=&scope.system=&include_names&effective&include_subtree`
pub(crate) async fn list_role_assignments(
    State(state): State<AppState>,
    uri: OriginalUri,
    AssignmentQuery(q): AssignmentQuery,
    caller: Caller,
) -> ApiResult<Json<RoleAssignmentList>> {
    let tree = authorize_assignments(&state, &caller, &q)?;
    let filters = AssignmentFilters::read(&q, &caller, tree)?;
    let store = state.store();
    let v = state.views();
    let role_assignments = store
        .assignment_rows(filters.effective)
        .iter()
        .filter(|row| filters.keeps(&store, row))
        .map(|row| v.role_assignment(&store, filters.names, row))
        .collect();
    Ok(Json(RoleAssignmentList {
        role_assignments,
        links: v.list_links(&path_and_query(&uri)),
    }))
}

/// Checks the policy of a role assignment list. With `include_subtree`, Keystone's tree
/// listing: the project (looked up first, 404) and its domain are the target, and the answer is
/// the project and every project under it; otherwise the plain listing's rule and target.
fn authorize_assignments(
    state: &AppState,
    caller: &Caller,
    q: &QueryMap,
) -> ApiResult<Option<Vec<String>>> {
    if !query_filter_is_true(q, "include_subtree") {
        caller.enforce("identity:list_role_assignments", &caller.list_target())?;
        return Ok(None);
    }
    let project = match q.get("scope.project.id").filter(|p| !p.is_empty()) {
        Some(p) => Some(
            state
                .store()
                .projects
                .get(p)
                .map(|rec| (rec.id.clone(), rec.domain_id.clone()))
                .ok_or_else(|| ApiError::not_found("project", p))?,
        ),
        None => None,
    };
    let target = match &project {
        Some((id, domain)) => PolicyTarget::new()
            .with("target.project.id", id.as_str())
            .with("target.project.domain_id", domain.as_str())
            .with("target.domain_id", domain.as_str()),
        None => PolicyTarget::new(),
    };
    caller.enforce("identity:list_role_assignments_for_tree", &target)?;
    let Some((id, _)) = project else {
        return Err(ApiError::bad_request(
            "scope.project.id must be specified if include_subtree is also specified",
        ));
    };
    Ok(Some(state.store().subtree(&id)))
}

/// The filters of a role assignment list, read from its query once the policy allowed it.
struct AssignmentFilters<'a> {
    q: &'a QueryMap,
    /// `include_names`.
    names: bool,
    /// `effective`: a group's members, inherited grants' projects and implied roles.
    effective: bool,
    /// `scope.OS-INHERIT:inherited_to`: present, it keeps the inherited assignments when it is
    /// `projects` and the others otherwise, as Keystone reads it.
    inherited: Option<bool>,
    /// With `include_subtree`, the project and every project under it.
    tree: Option<Vec<String>>,
    /// A domain-scoped token's domain: the plain listing holds the assignments on the domain
    /// and on its projects only (the tree listing is not cut).
    domain_cut: Option<&'a str>,
    /// `scope.system`, which the effective listing does not read.
    system: bool,
}

impl<'a> AssignmentFilters<'a> {
    /// Reads the filters; those that cannot go together are Keystone's 400s.
    fn read(q: &'a QueryMap, caller: &'a Caller, tree: Option<Vec<String>>) -> ApiResult<Self> {
        let given = |name: &str| q.get(name).is_some_and(|v| !v.is_empty());
        for (a, b, message) in [
            (
                "scope.domain.id",
                "scope.project.id",
                "Specify a domain or project, not both",
            ),
            (
                "scope.domain.id",
                "scope.system",
                "Specify system or domain, not both",
            ),
            (
                "scope.project.id",
                "scope.system",
                "Specify system or project, not both",
            ),
            ("user.id", "group.id", "Specify a user or group, not both"),
        ] {
            if given(a) && given(b) {
                return Err(ApiError::bad_request(message));
            }
        }
        let names = query_filter_is_true(q, "include_names");
        let effective = query_filter_is_true(q, "effective");
        if effective && given("group.id") {
            return Err(ApiError::bad_request(
                "Combining effective and group filter will always result in an empty list.",
            ));
        }
        let inherited = q
            .get("scope.OS-INHERIT:inherited_to")
            .map(|v| v == "projects");
        if effective && inherited == Some(true) && given("scope.domain.id") {
            return Err(ApiError::bad_request(
                "Combining effective, domain and inherited filters will always result in an empty list.",
            ));
        }
        Ok(AssignmentFilters {
            q,
            names,
            effective,
            inherited,
            domain_cut: if tree.is_none() {
                caller.domain_id()
            } else {
                None
            },
            tree,
            system: q.contains_key("scope.system") && !effective,
        })
    }

    /// Whether a row passes every filter.
    fn keeps(&self, store: &Store, row: &AssignmentRow<'_>) -> bool {
        self.inherited
            .is_none_or(|wanted| wanted == row.grant.inherited)
            && self.scope_ok(&row.target)
            && self.in_domain(store, &row.target)
            && self.holder_ok(&row.holder)
            && matches(self.q, "role.id", Some(&row.role_id))
    }

    /// The `scope.*` filters (and the tree of `include_subtree`).
    fn scope_ok(&self, target: &Target) -> bool {
        let q = self.q;
        match target {
            Target::Project(p) => {
                let in_query = match &self.tree {
                    Some(tree) => tree.contains(p),
                    None => matches(q, "scope.project.id", Some(p)),
                };
                in_query && !q.contains_key("scope.domain.id") && !self.system
            }
            Target::Domain(d) => {
                matches(q, "scope.domain.id", Some(d))
                    && !q.contains_key("scope.project.id")
                    && !self.system
            }
            Target::System => {
                !q.contains_key("scope.project.id") && !q.contains_key("scope.domain.id")
            }
        }
    }

    /// The cut of a domain-scoped token: its domain and the domain's projects.
    fn in_domain(&self, store: &Store, target: &Target) -> bool {
        match (self.domain_cut, target) {
            (None, _) => true,
            (Some(scope), Target::Domain(d)) => d == scope,
            (Some(scope), Target::Project(p)) => {
                store.projects.get(p).is_some_and(|p| p.domain_id == scope)
            }
            (Some(_), Target::System) => false,
        }
    }

    /// The `user.id` and `group.id` filters.
    fn holder_ok(&self, holder: &Actor) -> bool {
        let q = self.q;
        match holder {
            Actor::User(u) => matches(q, "user.id", Some(u)) && !q.contains_key("group.id"),
            Actor::Group(g) => matches(q, "group.id", Some(g)) && !q.contains_key("user.id"),
        }
    }
}
