//! Project tags (`/v3/projects/{id}/tags`, `/v3/projects/{id}/tags/{tag}`), as Keystone 30
//! serves them: the policy first (a missing project is a 403 to anyone but an admin, who gets
//! the 404), Keystone's limits (255 characters, no `,` or `/`, at most 80, none twice), tags
//! stripped of surrounding whitespace when set through these routes, and read back sorted.

use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use keystone_types::resources::{ProjectTags, SelfLink};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::resource::project_target;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Checked, KsPath};
use crate::policy::Caller;
use crate::schema::{Check, TAG_MAX_CHARS, first_failure, lazy, tag_failure, tags_failure};
use crate::state::{AppState, Authed};
use crate::views::sorted;

/// The answer of the routes that show the tags: Keystone links them to `/v3` itself, with the
/// request's query string.
fn answer(state: &AppState, uri: &OriginalUri, tags: Vec<String>) -> Json<ProjectTags> {
    let query = uri.query().map(|q| format!("?{q}")).unwrap_or_default();
    Json(ProjectTags {
        links: Some(SelfLink {
            self_link: format!("{}/v3{query}", state.base()),
        }),
        tags,
    })
}

/// A project's stored tags, or Keystone's 404.
fn stored(state: &AppState, id: &str) -> ApiResult<Vec<String>> {
    state.store().project_tags(id)
}

/// `GET /v3/projects/{id}/tags`
pub(crate) async fn list_project_tags(
    State(state): State<AppState>,
    KsPath(id): KsPath<String>,
    uri: OriginalUri,
    caller: Caller,
) -> ApiResult<Json<ProjectTags>> {
    caller.enforce("identity:list_project_tags", &project_target(&state, &id))?;
    let tags = sorted(&stored(&state, &id)?);
    Ok(answer(&state, &uri, tags))
}

/// The body of `PUT /v3/projects/{id}/tags`, checked as Keystone's request-body schema checks
/// it (before the token): only `tags`, a list of valid tags. The count and duplicates are
/// checked after the policy, as Keystone does.
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub(crate) struct TagsBody(Map<String, Value>);

impl Check for TagsBody {
    fn check_raw(body: &Value) -> ApiResult<()> {
        let tag = json!({"type": "string", "minLength": 1, "maxLength": TAG_MAX_CHARS,
            "pattern": "^[^,/]*$"});
        first_failure(
            &json!({"type": "object", "properties": {"tags": {"type": "array", "items": tag}},
                "additionalProperties": false}),
            body,
        )
    }

    fn check(&self) -> ApiResult<()> {
        Ok(())
    }
}

/// Python's `str.strip()`.
fn strip(tag: &str) -> String {
    tag.trim().to_owned()
}

/// `PUT /v3/projects/{id}/tags`: replaces every tag; answers the tags stripped, in the order
/// sent.
pub(crate) async fn replace_project_tags(
    State(state): State<AppState>,
    KsPath(id): KsPath<String>,
    uri: OriginalUri,
    Authed(caller, Checked(TagsBody(body))): Authed<Checked<TagsBody>>,
) -> ApiResult<Json<ProjectTags>> {
    caller.enforce("identity:update_project_tags", &project_target(&state, &id))?;
    // Keystone reads a missing `tags` as `{}`, which its list schema refuses
    let Some(tags) = body.get("tags").and_then(Value::as_array) else {
        return Err(ApiError::bad_request("{} is not of type 'array'"));
    };
    let tags: Vec<String> = tags
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect();
    if let Some(f) = tags_failure(&tags) {
        return Err(lazy(&f));
    }
    let tags: Vec<String> = tags.iter().map(|t| strip(t)).collect();
    state.store().set_project_tags(&id, tags.clone())?;
    Ok(answer(&state, &uri, tags))
}

/// `DELETE /v3/projects/{id}/tags`
pub(crate) async fn delete_project_tags(
    State(state): State<AppState>,
    KsPath(id): KsPath<String>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    caller.enforce("identity:delete_project_tags", &project_target(&state, &id))?;
    state.store().set_project_tags(&id, Vec::new())?;
    Ok(StatusCode::NO_CONTENT)
}

/// A tag in the path holding a `/` (sent as `%2F`): Keystone's server decodes it before
/// routing, so no route matches.
fn routable(tag: &str) -> ApiResult<()> {
    if tag.contains('/') {
        return Err(ApiError::no_route());
    }
    Ok(())
}

/// `GET`/`HEAD /v3/projects/{id}/tags/{tag}`: 204 when the project has the tag (exactly).
pub(crate) async fn check_project_tag(
    State(state): State<AppState>,
    KsPath((id, tag)): KsPath<(String, String)>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    routable(&tag)?;
    caller.enforce("identity:get_project_tag", &project_target(&state, &id))?;
    if !stored(&state, &id)?.contains(&tag) {
        return Err(ApiError::not_found("project tag", &tag));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The characters werkzeug's `iri_to_uri` leaves as they are in a path.
fn path_safe(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~%!$&'()*+,/:;=@".contains(&b)
}

/// `PUT /v3/projects/{id}/tags/{tag}`: 201 with no body, and the tag's `Location` as Keystone
/// writes it (without `projects/`).
pub(crate) async fn add_project_tag(
    State(state): State<AppState>,
    KsPath((id, tag)): KsPath<(String, String)>,
    caller: Caller,
) -> ApiResult<Response> {
    routable(&tag)?;
    caller.enforce("identity:create_project_tag", &project_target(&state, &id))?;
    {
        let mut store = state.store();
        let mut all = sorted(&store.project_tags(&id)?);
        if let Some(f) = tag_failure("", &tag) {
            return Err(lazy(&f));
        }
        all.push(tag.clone());
        if let Some(f) = tags_failure(&all) {
            return Err(lazy(&f));
        }
        store.add_project_tag(&id, strip(&tag))?;
    }
    let mut location = format!("{}/v3/{id}/tags/", state.base());
    for b in tag.bytes() {
        if path_safe(b) {
            location.push(char::from(b));
        } else {
            location.push_str(&format!("%{b:02X}"));
        }
    }
    // Keystone's empty answer still says it is HTML
    Ok((
        StatusCode::CREATED,
        [
            (header::LOCATION, location),
            (header::CONTENT_TYPE, "text/html; charset=utf-8".to_owned()),
        ],
    )
        .into_response())
}

/// `DELETE /v3/projects/{id}/tags/{tag}`
pub(crate) async fn delete_project_tag(
    State(state): State<AppState>,
    KsPath((id, tag)): KsPath<(String, String)>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    routable(&tag)?;
    caller.enforce("identity:delete_project_tag", &project_target(&state, &id))?;
    state.store().delete_project_tag(&id, &tag)?;
    Ok(StatusCode::NO_CONTENT)
}
