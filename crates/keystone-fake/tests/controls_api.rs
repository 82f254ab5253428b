//! The test controls over HTTP (`--controls`): counts, faults and the clock reachable from
//! another process, never counted themselves, off by default, and only on loopback.

use std::net::SocketAddr;

use keystone_fake::FakeKeystone;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

async fn counts(client: &Client, fake: &FakeKeystone) -> Value {
    client
        .get(format!("{}/_fake/requests", fake.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn counts_faults_and_the_clock_over_http() {
    let fake = FakeKeystone::builder()
        .controls_api(true)
        .start()
        .await
        .unwrap();
    let client = Client::new();
    let versions = client.get(fake.url()).send().await.unwrap();
    assert_eq!(versions.status(), StatusCode::MULTIPLE_CHOICES);
    let c = counts(&client, &fake).await;
    assert_eq!(c["GET /"], 1, "{c}");
    assert!(
        c.get("GET /_fake/requests").is_none(),
        "the controls are not counted: {c}"
    );

    let set = client
        .put(format!("{}/_fake/faults", fake.url()))
        .json(&json!({"route": "GET /v3", "status": 503}))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), StatusCode::NO_CONTENT);
    let faulted = client
        .get(format!("{}/v3", fake.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(faulted.status(), StatusCode::SERVICE_UNAVAILABLE);
    client
        .delete(format!("{}/_fake/faults", fake.url()))
        .send()
        .await
        .unwrap();
    let healed = client
        .get(format!("{}/v3", fake.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(healed.status(), StatusCode::OK);

    let before = fake.clock().now();
    let moved = client
        .post(format!("{}/_fake/clock", fake.url()))
        .json(&json!({"advance_secs": 3600}))
        .send()
        .await
        .unwrap();
    assert_eq!(moved.status(), StatusCode::NO_CONTENT);
    assert!(fake.clock().now() - before >= chrono::Duration::seconds(3600));

    // a malformed control is a 400 in Keystone's shape
    let bad = client
        .put(format!("{}/_fake/faults", fake.url()))
        .json(&json!({"route": 7}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let body: Value = bad.json().await.unwrap();
    assert_eq!(body["error"]["code"], 400);

    client
        .delete(format!("{}/_fake/requests", fake.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(counts(&client, &fake).await, json!({}));
}

#[tokio::test]
async fn the_controls_are_off_by_default_and_never_beyond_loopback() {
    let fake = FakeKeystone::start().await.unwrap();
    let r = Client::new()
        .get(format!("{}/_fake/requests", fake.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let anywhere: SocketAddr = "0.0.0.0:0".parse().unwrap();
    let err = FakeKeystone::builder()
        .listen(anywhere)
        .controls_api(true)
        .start()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("loopback"), "{err}");
}
