//! The service of docs/getting-started.md: a project's things behind Keystone, listed by its
//! members and created by its admins.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use keystone_middleware::{AuthTokenLayer, Context, Policy, PolicyDenied, RequestIdLayer};
use keystone_policy::RuleDefault;
use serde_json::{Value, json};

/// The rules the service registers; an operator's policy file may override each of them.
pub fn policy_defaults() -> Vec<RuleDefault> {
    vec![
        RuleDefault::new("admin", "role:admin"),
        RuleDefault::new("thing:list", "role:reader")
            .description("List the project's things.")
            .operation("GET", "/v1/things")
            .scope_types(["project"]),
        RuleDefault::new("thing:create", "rule:admin")
            .description("Create a thing in the project.")
            .operation("POST", "/v1/things")
            .scope_types(["project"]),
    ]
}

/// The application: `GET /` answers without a token, `/v1/things` only with one.
pub fn app(auth: AuthTokenLayer, policy: Policy) -> Router {
    let v1 = Router::new()
        .route("/v1/things", get(list_things).post(create_thing))
        // `.layer` wraps the routes added before it: add every route of `v1` above this line
        .layer(auth)
        .with_state(policy);
    Router::new()
        .route("/", get(|| async { "ok" }))
        .merge(v1)
        // outermost: every answer gets an X-Openstack-Request-Id, the layer's 401s included
        .layer(RequestIdLayer)
}

/// `GET /v1/things`: who asked, and the project's things (none: this is an example).
async fn list_things(
    State(policy): State<Policy>,
    ctx: Context,
) -> Result<Json<Value>, PolicyDenied> {
    policy.authorize("thing:list", &json!({"project_id": ctx.project_id()}), &ctx)?;
    Ok(Json(json!({
        "user": ctx.user_name(),
        "project": ctx.project_id(),
        "roles": ctx.roles(),
        "things": [],
    })))
}

/// `POST /v1/things`: 201 for the project's admins, 403 for anyone else.
async fn create_thing(
    State(policy): State<Policy>,
    ctx: Context,
) -> Result<(StatusCode, Json<Value>), PolicyDenied> {
    policy.authorize(
        "thing:create",
        &json!({"project_id": ctx.project_id()}),
        &ctx,
    )?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"created": true, "project": ctx.project_id()})),
    ))
}
