//! What the fake's HTTP tests share: issuing and validating tokens, and reading Keystone's error
//! bodies.

#![allow(dead_code)] // each test file uses its own share of these

use keystone_fake::FakeKeystone;
use reqwest::{Client, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};

/// A password authentication body for a user of the default domain, with `scope` unless null.
pub(crate) fn password_body(user: &str, password: &str, scope: Value) -> Value {
    let mut body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "domain": {"id": "default"}, "password": password}}}}});
    if !scope.is_null() {
        body["auth"]["scope"] = scope;
    }
    body
}

/// `POST /v3/auth/tokens` with `body`.
pub(crate) async fn issue(fake: &FakeKeystone, body: &Value) -> Response {
    issue_request(fake, body).send().await.unwrap()
}

/// Issues a token and returns it with its body.
pub(crate) async fn token(
    fake: &FakeKeystone,
    user: &str,
    password: &str,
    scope: Value,
) -> (String, Value) {
    let r = issue(fake, &password_body(user, password, scope)).await;
    assert_eq!(r.status(), StatusCode::CREATED, "{user}");
    let t = r.headers()["x-subject-token"].to_str().unwrap().to_owned();
    (t, r.json().await.unwrap())
}

/// The bootstrap admin's token on the `admin` project.
pub(crate) async fn admin_token(fake: &FakeKeystone) -> String {
    token(
        fake,
        "admin",
        "adminpw",
        json!({"project": {"name": "admin", "domain": {"id": "default"}}}),
    )
    .await
    .0
}

/// `GET /v3/auth/tokens{query}` validating `subject` as `caller`.
pub(crate) async fn validate(
    fake: &FakeKeystone,
    caller: &str,
    subject: &str,
    query: &str,
) -> Response {
    Client::new()
        .get(format!("{}/auth/tokens{query}", fake.auth_url()))
        .header("x-auth-token", caller)
        .header("x-subject-token", subject)
        .send()
        .await
        .unwrap()
}

/// Sends `request` and checks that the answer is Keystone's error body with `status`; returns
/// the message.
pub(crate) async fn keystone_error(request: RequestBuilder, status: u16) -> String {
    let r = request.send().await.unwrap();
    let what = format!("{} {}", r.url(), r.status());
    assert_eq!(r.status().as_u16(), status, "{what}");
    assert_eq!(r.headers()["content-type"], "application/json", "{what}");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], status, "{what}");
    assert!(body["error"]["title"].is_string(), "{what}");
    body["error"]["message"].as_str().unwrap().to_owned()
}

/// The sorted names in a list of roles.
pub(crate) fn names(roles: &Value) -> Vec<String> {
    let mut names: Vec<String> = roles
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

/// `POST /v3/auth/tokens` with `body`, to be sent.
pub(crate) fn issue_request(fake: &FakeKeystone, body: &Value) -> RequestBuilder {
    Client::new()
        .post(format!("{}/auth/tokens", fake.auth_url()))
        .json(body)
}

/// `GET /v3/role_assignments?{query}` as `token`: the assignments.
pub(crate) async fn role_assignments(
    fake: &FakeKeystone,
    token: &str,
    query: String,
) -> Vec<Value> {
    let v: Value = Client::new()
        .get(format!("{}/role_assignments?{query}", fake.auth_url()))
        .header("x-auth-token", token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["role_assignments"].as_array().unwrap().clone()
}

/// `POST /v3/{collection}` with `body` (`{"project": {...}}`, say) as `token`; checks the 201
/// and returns the new resource's id.
pub(crate) async fn create_as(
    fake: &FakeKeystone,
    token: &str,
    collection: &str,
    body: Value,
) -> String {
    let key = body
        .as_object()
        .and_then(|o| o.keys().next())
        .expect("a body with one key")
        .clone();
    let r = Client::new()
        .post(format!("{}/{collection}", fake.auth_url()))
        .header("x-auth-token", token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED, "{collection}: {body}");
    let created: Value = r.json().await.unwrap();
    created[&key]["id"].as_str().unwrap().to_owned()
}
