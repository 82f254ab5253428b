//! Request bodies under hostile clients: a caller the policy denies is answered 403 before a
//! byte of its body is read (a member's endless upload costs nothing), and the bodies that are
//! read are bounded in size (413 as they arrive) and in time (408).

mod common;

use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{Request, StatusCode};
use common::Cloud;
use example_service::{AppState, app_with_limits, policy_defaults};
use futures::StreamExt;
use keystone_middleware::Policy;
use keystone_middleware::config::Config;
use tower::ServiceExt;

/// A body that sends `chunk` and then nothing, ever: a client that stalls mid-upload.
fn stalled(chunk: &'static [u8]) -> Body {
    let first =
        futures::stream::once(async move { Ok::<_, std::io::Error>(Bytes::from_static(chunk)) });
    Body::from_stream(first.chain(futures::stream::pending()))
}

/// The service with small limits, on the seed cloud's layer.
async fn service(cloud: &Cloud) -> Router {
    let limits =
        Config::from_ini_str("[server]\nmax_request_body_size = 1024\nbody_read_timeout = 1\n")
            .unwrap()
            .server;
    let state = AppState::new(Policy::with_defaults(policy_defaults()).unwrap());
    app_with_limits(state, cloud.layer.clone(), &limits)
}

async fn post(
    app: &Router,
    token: &str,
    length: Option<usize>,
    body: Body,
) -> (StatusCode, Duration) {
    let mut req = Request::post("/v1/proxy")
        .header("x-auth-token", token)
        .header("content-type", "application/json");
    if let Some(n) = length {
        req = req.header("content-length", n);
    }
    let started = Instant::now();
    let r = tokio::time::timeout(
        Duration::from_secs(10),
        app.clone().oneshot(req.body(body).unwrap()),
    )
    .await
    .expect("an answer, not a hang")
    .unwrap();
    (r.status(), started.elapsed())
}

#[tokio::test]
async fn denied_callers_bodies_are_never_read_and_read_bodies_are_bounded() {
    let cloud = Cloud::start(&|_| {}).await.unwrap();
    let app = service(&cloud).await;
    let member = cloud.user("alice").access().await.unwrap();
    let admin = cloud.user("bob").access().await.unwrap();
    let (member, admin) = (member.token().expose(), admin.token().expose());

    // a member, whom proxy:create denies, announcing 1 GiB and stalling: 403 at once
    let (s, took) = post(&app, member, Some(1 << 30), stalled(b"{\"domain\":")).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(took < Duration::from_millis(900), "{took:?}");

    // an admin announcing more than the limit: 413 before reading
    let (s, _) = post(&app, admin, Some(1 << 30), stalled(b"{\"domain\":")).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    // ... or sending more than it, without a length: 413 as the bytes arrive
    let big: Vec<Result<Bytes, std::io::Error>> = (0..64)
        .map(|_| Ok(Bytes::from_static(&[b' '; 64])))
        .collect();
    let (s, _) = post(
        &app,
        admin,
        None,
        Body::from_stream(futures::stream::iter(big)),
    )
    .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);

    // an admin whose body stalls: 408 after body_read_timeout
    let (s, took) = post(&app, admin, Some(100), stalled(b"{\"domain\":")).await;
    assert_eq!(s, StatusCode::REQUEST_TIMEOUT);
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(5),
        "{took:?}"
    );

    // and a proper body is created
    let body = r#"{"domain": "a.example", "backends": ["10.0.0.1"]}"#;
    let (s, _) = post(&app, admin, Some(body.len()), Body::from(body)).await;
    assert_eq!(s, StatusCode::CREATED);
}
