//! The seed documents' flow, offline: a fake Keystone, the operator registering `myservice`
//! and its service user, a service that validates callers' tokens as seed document
//! `000_a4a9fe177fa019f3.txt` does (with its own service credentials), and a client that finds
//! the service in the catalog and calls it, as seed document `002_7a88f3a166ac524e.txt` does.
//!
//! Run with: `cargo xtask demo` (or `cargo run -p keystone-client --example demo`).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use axum::{Json, Router};
use keystone_client::{
    Auth, EndpointFilter, ErrorKind, GrantTarget, Session, UserIdentity, ValidateOptions,
};
use keystone_fake::FakeKeystone;
use keystone_types::auth::Scope;
use keystone_types::resources::{EndpointCreate, ProjectCreate, ServiceCreate, UserCreate};
use serde_json::{Value, json};

/// `GET /v1/thing/list`: validates the caller's token with the service's own session.
async fn thing_list(
    State(keystone): State<Arc<Session>>,
    headers: HeaderMap,
) -> (StatusCode, Json<Value>) {
    let Some(token) = headers.get("x-auth-token").and_then(|v| v.to_str().ok()) else {
        return (
            StatusCode::UNAUTHORIZED,
            Json(
                json!({"error": {"code": 401, "title": "Unauthorized", "message": "missing X-Auth-Token"}}),
            ),
        );
    };
    match keystone
        .validate_token(
            token,
            ValidateOptions {
                nocatalog: true,
                ..Default::default()
            },
        )
        .await
    {
        Ok(access) => (
            StatusCode::OK,
            Json(json!({
                "things": ["apple", "chair", "banana", "television"],
                "asked_by": {"user": access.user_name(), "project_id": access.project_id(), "roles": access.role_names()},
            })),
        ),
        Err(e) if e.kind() == ErrorKind::NotFound => (
            StatusCode::UNAUTHORIZED,
            Json(
                json!({"error": {"code": 401, "title": "Unauthorized", "message": "invalid token"}}),
            ),
        ),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(
                json!({"error": {"code": 503, "title": "Service Unavailable", "message": e.to_string()}}),
            ),
        ),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let fake = FakeKeystone::start().await?;
    println!("fake Keystone at {}", fake.auth_url());

    // The operator (seed document 000): project, service, endpoints, service user, role.
    let operator = Session::builder(
        fake.auth_url(),
        Auth::password(
            UserIdentity::by_name("admin", "Default"),
            fake.admin().password.clone(),
        )
        .scoped(Scope::project_by_name("admin", "Default")),
    )
    .build()?;
    let admin = operator.admin();
    let services = admin
        .create_project(ProjectCreate {
            name: "services".into(),
            domain_id: Some("default".into()),
            ..Default::default()
        })
        .await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let service_url = format!("http://{}", listener.local_addr()?);
    let service = admin
        .create_service(ServiceCreate {
            kind: "myservice".into(),
            name: Some("myservice".into()),
            ..Default::default()
        })
        .await?;
    for interface in ["admin", "public", "internal"] {
        admin
            .create_endpoint(EndpointCreate {
                interface: interface.into(),
                service_id: service.id.clone(),
                url: service_url.clone(),
                ..Default::default()
            })
            .await?;
    }
    let user = admin
        .create_user(UserCreate {
            name: "myservice".into(),
            email: Some("myservice@localhost".into()),
            password: Some("myservicesecretpassword".into()),
            domain_id: Some("default".into()),
            ..Default::default()
        })
        .await?;
    let admin_role = admin
        .find_role("admin")
        .await?
        .expect("bootstrap creates the admin role");
    admin
        .grant_role(
            &GrantTarget::Project(services.id.clone()),
            &user.id,
            &admin_role.id,
        )
        .await?;
    println!("registered service myservice at {service_url} and its service user");

    // The service, with its own credentials.
    let service_session = Session::builder(
        fake.auth_url(),
        Auth::password(
            UserIdentity::by_name("myservice", "Default"),
            "myservicesecretpassword",
        )
        .scoped(Scope::project_by_name("services", "Default")),
    )
    .build()?;
    let app = Router::new()
        .route(
            "/",
            get(|| async { Json(json!({"myservice": env!("CARGO_PKG_VERSION")})) }),
        )
        .route("/v1/thing/list", get(thing_list))
        .with_state(Arc::new(service_session));
    tokio::spawn(async move { axum::serve(listener, app).await });

    // A client (seed document 002): authenticate, find the service, call it.
    let client = Session::builder(
        fake.auth_url(),
        Auth::password(
            UserIdentity::by_name("admin", "Default"),
            fake.admin().password.clone(),
        )
        .scoped(Scope::project_by_name("admin", "Default")),
    )
    .build()?;
    let url = client.endpoint(&EndpointFilter::new("myservice")).await?;
    println!("client found myservice in the catalog at {url}");
    for (path, authenticated, expected) in [
        ("/", false, 200),
        ("/v1/thing/list", false, 401),
        ("/v1/thing/list", true, 200),
    ] {
        let (status, body) = call(&client, &format!("{url}{path}"), authenticated).await?;
        let who = if authenticated {
            "with a token   "
        } else {
            "without a token"
        };
        println!("GET {path:<16} {who} -> {status} {body}");
        anyhow::ensure!(
            status == expected,
            "GET {path} {who}: expected {expected}, got {status}"
        );
    }
    Ok(())
}

/// Calls `url` through the session, with or without its token.
async fn call(session: &Session, url: &str, authenticated: bool) -> anyhow::Result<(u16, String)> {
    let mut request = session.get(url);
    if !authenticated {
        request = request.unauthenticated();
    }
    let response = request.send().await?;
    let status = response.status();
    Ok((status.as_u16(), response.text().await?))
}
