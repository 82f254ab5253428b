//! Domains and projects (Keystone's resource subsystem). A project's routes put the project in
//! the policy's target, so that a domain manager manages their own domain's projects.

use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::http::StatusCode;
use keystone_types::resources::*;

use super::{Created, created, show};
use crate::error::ApiResult;
use crate::extract::{Checked, KsPath, KsQuery, QueryMap, matches, matches_bool, path_and_query};
use crate::policy::{Caller, PolicyTarget};
use crate::state::{AppState, Authed};

/// The target Keystone builds for a project named in the path: the project, when it exists.
pub(crate) fn project_target(state: &AppState, id: &str) -> PolicyTarget {
    let domain = state.store().projects.get(id).map(|p| p.domain_id.clone());
    match domain {
        Some(d) => PolicyTarget::new()
            .with("target.project.id", id)
            .with("target.project.domain_id", d),
        None => PolicyTarget::new(),
    }
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
    caller.enforce("identity:list_projects", &caller.list_target())?;
    let v = state.views();
    let store = state.store();
    let tagged = super::tags::tag_filter(&uri, &store.projects);
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
                && matches_bool(&q, "is_domain", false)
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
    show(
        &state,
        |s| &s.projects,
        "project",
        &id,
        |v, p| ProjectResponse {
            project: v.project(p),
        },
    )
}

/// `POST /v3/projects`
pub(crate) async fn create_project(
    State(state): State<AppState>,
    Authed(caller, Checked(body)): Authed<Checked<ProjectCreateRequest>>,
) -> ApiResult<Created<ProjectResponse>> {
    let mut create = body.project;
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

/// `PATCH /v3/projects/{id}`
pub(crate) async fn update_project(
    State(state): State<AppState>,
    KsPath(id): KsPath<String>,
    Authed(caller, Checked(body)): Authed<Checked<ProjectUpdateRequest>>,
) -> ApiResult<Json<ProjectResponse>> {
    caller.enforce("identity:update_project", &project_target(&state, &id))?;
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
    state.store().delete_project(&id)?;
    Ok(StatusCode::NO_CONTENT)
}
