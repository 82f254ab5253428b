//! Projects acting as domains, as Keystone 30.0.0 serves them (the parity steps compare them
//! with a real one): `POST /v3/projects` with `is_domain` makes a domain, `/v3/projects` shows
//! domains in project shape on their ids and with `?is_domain=true`, and what a domain may not
//! change.

mod common;

use common::*;
use keystone_fake::FakeKeystone;
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test]
async fn a_project_acting_as_a_domain_is_a_domain() {
    let fake = FakeKeystone::start().await.unwrap();
    let admin = admin_token(&fake).await;
    let call = |method: Method, path: &str| {
        Client::new()
            .request(method, format!("{}{path}", fake.url()))
            .header("x-auth-token", &admin)
    };
    let r = call(Method::POST, "/v3/projects")
        .json(&json!({"project": {"name": "dom", "is_domain": true, "tags": ["z", "a"]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let made: Value = r.json().await.unwrap();
    let id = made["project"]["id"].as_str().unwrap().to_owned();
    assert_eq!(made["project"]["domain_id"], Value::Null);
    assert_eq!(made["project"]["is_domain"], true);
    assert_eq!(made["project"]["tags"], json!(["z", "a"]));
    // a domain, shown as a project on its id and listed with is_domain
    let d: Value = call(Method::GET, &format!("/v3/domains/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(d["domain"]["name"], "dom");
    let p: Value = call(Method::GET, "/v3/projects/default")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(p["project"]["is_domain"], true);
    assert_eq!(p["project"]["name"], "Default");
    for (query, names) in [
        ("?is_domain=true&name=dom", vec!["dom"]),
        ("?is_domain=&name=Default", vec!["Default"]),
        ("?is_domain=true&domain_id=default", vec![]),
        ("?name=dom", vec![]),
    ] {
        let listed: Value = call(Method::GET, &format!("/v3/projects{query}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let got: Vec<&str> = listed["projects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(got, names, "{query}");
    }
    // what it may not be or change
    for (method, path, body, status, message) in [
        (
            Method::POST,
            "/v3/projects".to_owned(),
            json!({"project": {"name": "x", "is_domain": true, "domain_id": "default"}}),
            400,
            "only root projects are allowed to act as domains.",
        ),
        (
            Method::PATCH,
            format!("/v3/projects/{id}"),
            json!({"project": {"is_domain": false}}),
            400,
            "Update of `is_domain` is not allowed.",
        ),
        (
            Method::PATCH,
            format!("/v3/projects/{id}"),
            json!({"project": {"domain_id": "default"}}),
            400,
            "Cannot change Domain ID",
        ),
        (
            Method::DELETE,
            format!("/v3/projects/{id}"),
            Value::Null,
            403,
            "Cannot delete a domain that is enabled, please disable it first.",
        ),
    ] {
        let mut r = call(method, &path);
        if !body.is_null() {
            r = r.json(&body);
        }
        assert_eq!(keystone_error(r, status).await, message, "{path} {body}");
    }
    let r = call(Method::PATCH, &format!("/v3/projects/{id}"))
        .json(&json!({"project": {"enabled": false}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = call(Method::DELETE, &format!("/v3/projects/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    keystone_error(call(Method::GET, &format!("/v3/domains/{id}")), 404).await;
}
