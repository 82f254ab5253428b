//! Domains and projects (Keystone's resource subsystem). A project's routes put the project in
//! the policy's target, so that a domain manager manages their own domain's projects.

use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::http::StatusCode;
use keystone_types::resources::*;

use super::{Created, created, show};
use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::extract::{
    Checked, KsPath, KsQuery, QueryMap, matches, matches_bool, path_and_query, query_flag,
};
use crate::policy::{Caller, PolicyTarget};
use crate::schema::api_boolean_value;
use crate::state::{AppState, Authed};

/// The target Keystone builds for a project named in the path: the project, when it exists.
pub(crate) fn project_target(state: &AppState, id: &str) -> PolicyTarget {
    let store = state.store();
    // a domain, as a project acting as one, has no domain
    let domain = match (store.projects.get(id), store.domains.contains_key(id)) {
        (Some(p), _) => Some(Value::from(p.domain_id.as_str())),
        (None, true) => Some(Value::Null),
        (None, false) => None,
    };
    match domain {
        Some(d) => PolicyTarget::new()
            .with("target.project.id", id)
            .with("target.project.domain_id", d),
        None => PolicyTarget::new(),
    }
}

/// Keystone's 400s for a change of what a project (or a domain shown as one) may not change:
/// `is_domain`, and its domain.
fn unchangeable(
    extra: &serde_json::Map<String, Value>,
    is_domain: bool,
    domain: Option<&str>,
) -> ApiResult<()> {
    if extra
        .get("is_domain")
        .is_some_and(|v| v != &Value::Bool(is_domain))
    {
        return Err(ApiError::bad_request(
            "Update of `is_domain` is not allowed.",
        ));
    }
    if let Some(v) = extra.get("domain_id")
        && v.as_str() != domain
    {
        return Err(ApiError::bad_request("Cannot change Domain ID"));
    }
    Ok(())
}

/// `GET /v3/domains?name=&enabled=`
pub(crate) async fn list_domains(
    State(state): State<AppState>,
    uri: OriginalUri,
    KsQuery(q): KsQuery<QueryMap>,
    caller: Caller,
) -> ApiResult<Json<DomainList>> {
    caller.enforce("identity:list_domains", &PolicyTarget::new())?;
    let v = state.views();
    let domains = state
        .store()
        .domains
        .values()
        .filter(|d| matches(&q, "name", Some(&d.name)) && matches_bool(&q, "enabled", d.enabled))
        .map(|d| v.domain(d))
        .collect();
    Ok(Json(DomainList {
        domains,
        links: v.list_links(&path_and_query(&uri)),
    }))
}

/// `GET /v3/domains/{id}`
pub(crate) async fn get_domain(
    State(state): State<AppState>,
    KsPath(id): KsPath<String>,
    caller: Caller,
) -> ApiResult<Json<DomainResponse>> {
    caller.enforce(
        "identity:get_domain",
        &PolicyTarget::new().with("target.domain.id", id.as_str()),
    )?;
    show(
        &state,
        |s| &s.domains,
        "domain",
        &id,
        |v, d| DomainResponse {
            domain: v.domain(d),
        },
    )
}

/// `POST /v3/domains`
pub(crate) async fn create_domain(
    State(state): State<AppState>,
    Authed(caller, Checked(body)): Authed<Checked<DomainCreateRequest>>,
) -> ApiResult<Created<DomainResponse>> {
    caller.enforce("identity:create_domain", &PolicyTarget::new())?;
    let tags = body.domain.tags.clone();
    let rec = state.store().create_domain(body.domain, None)?;
    let mut domain = state.views().domain(&rec);
    // a write answers the tags in the order given (reads sort them)
    if let Some(tags) = tags {
        domain.tags = tags;
    }
    Ok(created(DomainResponse { domain }))
}

/// `PATCH /v3/domains/{id}`
pub(crate) async fn update_domain(
    State(state): State<AppState>,
    KsPath(id): KsPath<String>,
    Authed(caller, Checked(body)): Authed<Checked<DomainUpdateRequest>>,
) -> ApiResult<Json<DomainResponse>> {
    caller.enforce("identity:update_domain", &PolicyTarget::new())?;
    let tags = body.domain.tags.clone();
    let rec = state.store().update_domain(&id, body.domain)?;
    let mut domain = state.views().domain(&rec);
    if let Some(tags) = tags {
        domain.tags = tags;
    }
    Ok(Json(DomainResponse { domain }))
}

/// `DELETE /v3/domains/{id}`
pub(crate) async fn delete_domain(
    State(state): State<AppState>,
    KsPath(id): KsPath<String>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    caller.enforce("identity:delete_domain", &PolicyTarget::new())?;
    state.store().delete_domain(&id)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v3/projects?name=&domain_id=&enabled=&parent_id=`
pub(crate) async fn list_projects(
    State(state): State<AppState>,
    uri: OriginalUri,
    KsQuery(q): KsQuery<QueryMap>,
    caller: Caller,
) -> ApiResult<Json<ProjectList>> {
    if let Some(v) = q.get("is_domain") {
        api_boolean_value("is_domain", &Value::String(v.clone()))?;
    }
    caller.enforce("identity:list_projects", &caller.list_target())?;
    let v = state.views();
    let store = state.store();
    // `is_domain` true-ish (an empty value too): the domains, shown as projects
    if query_flag(&q, "is_domain") {
        let projects = store
            .domains
            .values()
            .filter(|d| {
                matches(&q, "name", Some(&d.name))
                    && matches(&q, "domain_id", None)
                    && matches(&q, "parent_id", None)
                    && matches_bool(&q, "enabled", d.enabled)
            })
            .map(|d| v.domain_as_project(d))
            .collect();
        return Ok(Json(ProjectList {
            projects,
            links: v.list_links(&path_and_query(&uri)),
        }));
    }
    let tagged = tag_filter(&uri, &store.projects);
    let projects = store
        .projects
        .values()
        .filter(|p| tagged.as_ref().is_none_or(|ids| ids.contains(&p.id)))
        .filter(|p| {
            // as Keystone does, a domain-scoped token lists its domain's projects only
            caller.domain_id().is_none_or(|d| d == p.domain_id)
                && matches(&q, "name", Some(&p.name))
                && matches(&q, "domain_id", Some(&p.domain_id))
                && matches(&q, "parent_id", p.parent_id.as_deref())
                && matches_bool(&q, "enabled", p.enabled)
        })
        .map(|p| v.project(p))
        .collect();
    Ok(Json(ProjectList {
        projects,
        links: v.list_links(&path_and_query(&uri)),
    }))
}

/// `GET /v3/projects/{id}`
pub(crate) async fn get_project(
    State(state): State<AppState>,
    KsPath(id): KsPath<String>,
    caller: Caller,
) -> ApiResult<Json<ProjectResponse>> {
    caller.enforce("identity:get_project", &project_target(&state, &id))?;
    let store = state.store();
    let v = state.views();
    let project = match (store.projects.get(&id), store.domains.get(&id)) {
        (Some(p), _) => v.project(p),
        // a domain is a project acting as one
        (None, Some(d)) => v.domain_as_project(d),
        (None, None) => return Err(ApiError::not_found("project", &id)),
    };
    Ok(Json(ProjectResponse { project }))
}

/// `POST /v3/projects`
pub(crate) async fn create_project(
    State(state): State<AppState>,
    Authed(caller, Checked(body)): Authed<Checked<ProjectCreateRequest>>,
) -> ApiResult<Created<ProjectResponse>> {
    let mut create = body.project;
    if create.is_domain == Some(true) {
        return create_domain_as_project(&state, &caller, create);
    }
    if create.domain_id.is_none() {
        create.domain_id = Some(caller.default_domain());
    }
    caller.enforce(
        "identity:create_project",
        &PolicyTarget::new().with_opt("target.project.domain_id", create.domain_id.as_deref()),
    )?;
    let tags = create.tags.clone();
    let rec = state.store().create_project(create)?;
    let mut project = state.views().project(&rec);
    // a write answers the tags in the order given (reads sort them)
    if let Some(tags) = tags {
        project.tags = tags;
    }
    Ok(created(ProjectResponse { project }))
}

/// `POST /v3/projects` with `is_domain: true`: a domain, answered as a project (only a root:
/// no domain, no parent).
fn create_domain_as_project(
    state: &AppState,
    caller: &Caller,
    create: ProjectCreate,
) -> ApiResult<Created<ProjectResponse>> {
    caller.enforce("identity:create_project", &PolicyTarget::new())?;
    if create.domain_id.is_some() || create.parent_id.is_some() {
        return Err(ApiError::bad_request(
            "only root projects are allowed to act as domains.",
        ));
    }
    let tags = create.tags.clone();
    let rec = state.store().create_domain(
        DomainCreate {
            name: create.name,
            description: create.description,
            enabled: create.enabled,
            tags: create.tags,
        },
        None,
    )?;
    let mut project = state.views().domain_as_project(&rec);
    if let Some(tags) = tags {
        project.tags = tags;
    }
    Ok(created(ProjectResponse { project }))
}

/// `PATCH /v3/projects/{id}`
pub(crate) async fn update_project(
    State(state): State<AppState>,
    KsPath(id): KsPath<String>,
    Authed(caller, Checked(body)): Authed<Checked<ProjectUpdateRequest>>,
) -> ApiResult<Json<ProjectResponse>> {
    caller.enforce("identity:update_project", &project_target(&state, &id))?;
    let domain_of = state.store().projects.get(&id).map(|p| p.domain_id.clone());
    let is_domain = domain_of.is_none() && state.store().domains.contains_key(&id);
    unchangeable(&body.project.extra, is_domain, domain_of.as_deref())?;
    if is_domain {
        let u = body.project;
        let rec = state.store().update_domain(
            &id,
            DomainUpdate {
                description: u.description,
                enabled: u.enabled,
                name: u.name,
                tags: u.tags.clone(),
            },
        )?;
        let mut project = state.views().domain_as_project(&rec);
        project.extra = Some(serde_json::Map::new());
        if let Some(tags) = u.tags {
            project.tags = tags;
        }
        return Ok(Json(ProjectResponse { project }));
    }
    let tags = body.project.tags.clone();
    let rec = state.store().update_project(&id, body.project)?;
    // Keystone answers an update with the extra attributes spelled out too
    let mut project = state.views().project(&rec);
    project.extra = Some(rec.extra.clone());
    if let Some(tags) = tags {
        project.tags = tags;
    }
    Ok(Json(ProjectResponse { project }))
}

/// `DELETE /v3/projects/{id}`
pub(crate) async fn delete_project(
    State(state): State<AppState>,
    KsPath(id): KsPath<String>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    caller.enforce("identity:delete_project", &project_target(&state, &id))?;
    // a domain is deleted as a domain (only once disabled)
    let is_domain =
        !state.store().projects.contains_key(&id) && state.store().domains.contains_key(&id);
    if is_domain {
        state.store().delete_domain(&id)?;
    } else {
        state.store().delete_project(&id)?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The projects the tag filters of `GET /v3/projects` keep (`tags`, `tags-any`, `not-tags`,
/// `not-tags-any`, each a comma-separated list, the first of a repeated parameter counting),
/// or `None` without them. Keystone's algorithm, quirks kept: a `tags` or `tags-any` that
/// matches nothing is forgotten by a `not-tags` that follows, and `not-tags-any` beside
/// `not-tags` adds the projects having any of its tags instead of removing them.
pub(crate) fn tag_filter(
    uri: &OriginalUri,
    projects: &std::collections::BTreeMap<String, crate::store::ProjectRec>,
) -> Option<Vec<String>> {
    let pairs = axum::extract::Query::<Vec<(String, String)>>::try_from_uri(uri)
        .map(|q| q.0)
        .unwrap_or_default();
    let first = |name: &str| -> Option<Vec<String>> {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.split(',').map(str::to_owned).collect())
    };
    let (all, any, not_all, not_any) = (
        first("tags"),
        first("tags-any"),
        first("not-tags"),
        first("not-tags-any"),
    );
    if all.is_none() && any.is_none() && not_all.is_none() && not_any.is_none() {
        return None;
    }
    let has_all = |p: &crate::store::ProjectRec, l: &[String]| l.iter().all(|t| p.tags.contains(t));
    let has_any = |p: &crate::store::ProjectRec, l: &[String]| l.iter().any(|t| p.tags.contains(t));
    let select = |keep: &dyn Fn(&crate::store::ProjectRec) -> bool| -> Vec<String> {
        projects
            .values()
            .filter(|p| keep(p))
            .map(|p| p.id.clone())
            .collect()
    };
    // every project not in `excluded`, within `kept` unless `kept` is empty
    let not_in = |kept: &[String], excluded: &[String]| -> Vec<String> {
        projects
            .keys()
            .filter(|id| !excluded.contains(id) && (kept.is_empty() || kept.contains(id)))
            .cloned()
            .collect()
    };
    let mut kept: Vec<String> = Vec::new();
    if let Some(l) = &all {
        kept = select(&|p| has_all(p, l));
    }
    if let Some(l) = &any {
        let found = select(&|p| has_any(p, l));
        kept = if all.is_some() {
            found.into_iter().filter(|id| kept.contains(id)).collect()
        } else {
            found
        };
    }
    if let Some(l) = &not_all {
        let excluded = select(&|p| has_all(p, l));
        kept = not_in(&kept, &excluded);
    }
    if let Some(l) = &not_any {
        let listed = select(&|p| has_any(p, l));
        if not_all.is_some() {
            for id in listed {
                if !kept.contains(&id) {
                    kept.push(id);
                }
            }
        } else {
            kept = not_in(&kept, &listed);
        }
    }
    Some(kept)
}
