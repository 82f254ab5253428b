//! What the fake must survive, and must not give away: error bodies that never repeat what was
//! submitted, Keystone's error shape for every rejected request, token lifetimes past what a
//! date holds, `Debug` output without tokens, and a token map that does not grow for ever.

use std::time::Duration;

mod common;

use common::*;
use keystone_fake::FakeKeystone;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

#[tokio::test]
async fn a_bad_attribute_is_named_without_its_value() {
    let fake = FakeKeystone::start().await.unwrap();
    let admin = admin_token(&fake).await;
    let client = Client::new();
    let user_id = fake.admin().user_id.clone();
    let cases = [
        (
            format!("{}/users", fake.auth_url()),
            json!({"user": {"name": "bob", "password": "hunter2", "enabled": "yes"}}),
            "'enabled'",
        ),
        (
            format!("{}/auth/tokens", fake.auth_url()),
            json!({"auth": {"identity": {"methods": "password", "password": {"user": {
                "name": "admin", "domain": {"id": "default"}, "password": "hunter2"}}}}}),
            "'identity/methods'",
        ),
        (
            format!(
                "{}/users/{user_id}/application_credentials",
                fake.auth_url()
            ),
            json!({"application_credential": {"name": "c", "secret": "hunter2",
                "unrestricted": "no"}}),
            "'unrestricted'",
        ),
    ];
    for (url, body, field) in cases {
        let message = keystone_error(
            client.post(&url).header("x-auth-token", &admin).json(&body),
            400,
        )
        .await;
        assert!(message.contains(field), "{message}");
        assert!(message.starts_with("Invalid input for field"), "{message}");
        for value in ["hunter2", "yes", "\"no\"", "bob"] {
            assert!(!message.contains(value), "{message}");
        }
    }
}

#[tokio::test]
async fn every_rejected_request_gets_keystones_error_body() {
    let fake = FakeKeystone::start().await.unwrap();
    let admin = admin_token(&fake).await;
    let client = Client::new();
    let users = format!("{}/users", fake.auth_url());
    // a path segment that is not UTF-8
    keystone_error(
        client
            .get(format!("{users}/%FF"))
            .header("x-auth-token", &admin),
        400,
    )
    .await;
    // a body that says it is not JSON
    let message = keystone_error(
        client
            .post(&users)
            .header("x-auth-token", &admin)
            .header("content-type", "text/plain")
            .body(r#"{"user": {"name": "x"}}"#),
        400,
    )
    .await;
    assert_eq!(
        message,
        "Expecting to find application/json in Content-Type header. The server could not \
         comply with the request since it is either malformed or otherwise incorrect. The \
         client is assumed to be in error."
    );
    // `application/*+json` is JSON too, as werkzeug reads it
    let r = client
        .post(&users)
        .header("x-auth-token", &admin)
        .header(
            "content-type",
            "application/vnd.openstack+json; charset=utf-8",
        )
        .body(r#"{"user": {"name": "plusjson"}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    // JSON that is not an object, and text that is not JSON
    for body in ["[1, 2]", "{\"user\": "] {
        let message = keystone_error(
            client
                .post(&users)
                .header("x-auth-token", &admin)
                .header("content-type", "application/json")
                .body(body),
            400,
        )
        .await;
        assert!(
            message.starts_with("Expecting to find valid JSON in request body."),
            "{message}"
        );
    }
    // too large
    let big = format!(
        r#"{{"user": {{"name": "big", "description": "{}"}}}}"#,
        "x".repeat(3 << 20)
    );
    let message = keystone_error(
        client
            .post(&users)
            .header("x-auth-token", &admin)
            .header("content-type", "application/json")
            .body(big),
        413,
    )
    .await;
    assert_eq!(message, "Request is too large.");
}

#[tokio::test]
async fn a_lifetime_past_the_end_of_time_is_a_500_not_a_panic() {
    let fake = FakeKeystone::builder()
        .token_ttl(Duration::MAX)
        .start()
        .await
        .unwrap();
    let client = Client::new();
    let request = issue_request(&fake, &password_body("admin", "adminpw", Value::Null));
    let message = keystone_error(request, 500).await;
    assert_eq!(
        message,
        "An unexpected error prevented the server from fulfilling your request."
    );
    // the fake lives on
    fake.set_token_ttl(Duration::from_secs(3600));
    let admin = admin_token(&fake).await;
    // a clock moved past the end of time expires tokens, and panics nowhere
    fake.clock().advance(Duration::MAX);
    fake.clock().advance(Duration::MAX);
    let r = client
        .get(format!("{}/auth/tokens?allow_expired=1", fake.auth_url()))
        .header("x-auth-token", &admin)
        .header("x-subject-token", &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_binary_refuses_a_token_lifetime_it_cannot_keep() {
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_keystone-fake"))
        .args(["--listen", "127.0.0.1:0", "--token-ttl", "10000000000000"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // a binary that accepts the option serves until killed
    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("the binary accepted the lifetime and started serving")
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--token-ttl"), "{stderr}");
}

#[tokio::test]
async fn debug_output_of_the_store_hides_tokens() {
    let fake = FakeKeystone::start().await.unwrap();
    let token = admin_token(&fake).await;
    let debug = fake.with_store(|s| format!("{s:?}"));
    assert!(!debug.contains(&token), "the store's Debug prints a token");
    assert!(!debug.contains("adminpw"));
    assert!(debug.contains("redacted"));
}

#[tokio::test]
async fn tokens_past_any_use_are_swept_out_and_still_validate_as_expired() {
    let fake = FakeKeystone::builder()
        .token_ttl(Duration::from_secs(60))
        .start()
        .await
        .unwrap();
    let client = Client::new();
    let old = admin_token(&fake).await;
    // past expiry and the 48-hour allow_expired window
    fake.clock().advance(Duration::from_secs(49 * 3600));
    let request: keystone_types::auth::AuthRequest =
        serde_json::from_value(password_body("admin", "adminpw", json!("unscoped"))).unwrap();
    let issue_many = |n: usize| {
        fake.with_store(|s| {
            for _ in 0..n {
                s.authenticate(&request, fake.clock().now(), chrono::Duration::hours(1))
                    .unwrap();
            }
            s.token_count()
        })
    };
    let count = issue_many(600);
    assert_eq!(count, 600, "the expired token was never swept out");
    let admin = admin_token(&fake).await;
    let expired_message = |subject: String| {
        let client = client.clone();
        let admin = admin.clone();
        let url = format!("{}/auth/tokens?allow_expired=1", fake.auth_url());
        async move {
            keystone_error(
                client
                    .get(url)
                    .header("x-auth-token", admin)
                    .header("x-subject-token", subject),
                404,
            )
            .await
        }
    };
    // swept out, it answers as an expired token, not as one never issued
    assert_eq!(expired_message(old).await, "Failed to validate token");
    assert_eq!(
        expired_message("gAAAAABnot-one-of-ours".into()).await,
        "Could not recognize Fernet token"
    );
    // live tokens stay
    fake.clock().advance(Duration::from_secs(120));
    let before = fake.with_store(|s| s.token_count());
    assert!(before > 600);
    assert_eq!(issue_many(700), before + 700);
}
