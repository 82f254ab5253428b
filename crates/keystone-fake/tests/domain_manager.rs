//! A domain manager (the `manager` role on a domain, with a token scoped to it), as Keystone
//! 30.0.0's default rules treat them: they manage the users and projects of their domain and
//! grant `manager`, `member` and `reader` in it, and nothing of another domain.

mod common;

use common::*;
use keystone_fake::FakeKeystone;
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

/// A fake with two domains, `d` (the manager's) and `e`, each with a user and a project.
struct World {
    fake: FakeKeystone,
    admin: String,
    manager: String,
    d: String,
    e: String,
    alice: String,
    eve: String,
    pd: String,
    pe: String,
}

impl World {
    async fn new() -> Self {
        let fake = FakeKeystone::start().await.unwrap();
        let admin = admin_token(&fake).await;
        let d = fake.create_domain("dd").unwrap();
        let e = fake.create_domain("ee").unwrap();
        let mut w = World {
            fake,
            admin: admin.clone(),
            manager: String::new(),
            d: d.clone(),
            e: e.clone(),
            alice: String::new(),
            eve: String::new(),
            pd: String::new(),
            pe: String::new(),
        };
        let boss = w.create(&admin, "users", "boss", &d).await;
        w.alice = w.create(&admin, "users", "alice", &d).await;
        w.eve = w.create(&admin, "users", "eve", &e).await;
        w.pd = w.create(&admin, "projects", "pd", &d).await;
        w.pe = w.create(&admin, "projects", "pe", &e).await;
        w.fake.grant_domain_role(&boss, &d, "manager").unwrap();
        w.manager = w.domain_token("boss", "reader").await;
        w
    }

    /// Creates a user (password `pw`) or a project in `domain` as `token`; returns its id.
    async fn create(&self, token: &str, collection: &str, name: &str, domain: &str) -> String {
        let key = collection.trim_end_matches('s');
        let body = json!({ key: {"name": name, "domain_id": domain, "password": "pw"} });
        let body = if key == "project" {
            json!({ key: {"name": name, "domain_id": domain} })
        } else {
            body
        };
        let (status, answer) = self.call(token, Method::POST, collection, Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{collection} {name}: {answer}");
        answer[key]["id"].as_str().unwrap().to_owned()
    }

    /// A token of the user `name` of domain `d`, scoped to `d`, holding at least `role`.
    async fn domain_token(&self, name: &str, role: &str) -> String {
        let body = json!({"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": name, "domain": {"id": self.d}, "password": "pw"}}},
            "scope": {"domain": {"id": self.d}}}});
        let r = issue(&self.fake, &body).await;
        assert_eq!(r.status(), StatusCode::CREATED, "{name}");
        let t = r.headers()["x-subject-token"].to_str().unwrap().to_owned();
        let body: Value = r.json().await.unwrap();
        assert!(names(&body["token"]["roles"]).contains(&role.to_owned()));
        t
    }

    /// `{method} /v3/{path}` as `token`: the status and the JSON body (null if none).
    async fn call(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut r = Client::new()
            .request(method, format!("{}/{path}", self.fake.auth_url()))
            .header("x-auth-token", token);
        if let Some(body) = body {
            r = r.json(&body);
        }
        let r = r.send().await.unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// The id of the role named `name`.
    async fn role(&self, name: &str) -> String {
        let path = format!("roles?name={name}");
        let (_, roles) = self.call(&self.admin, Method::GET, &path, None).await;
        roles["roles"][0]["id"].as_str().unwrap().to_owned()
    }

    /// Checks that `{method} /v3/{path}` as the manager answers `expected`.
    async fn check(&self, method: Method, path: &str, body: Option<Value>, expected: u16) {
        let (status, answer) = self.call(&self.manager, method.clone(), path, body).await;
        assert_eq!(status.as_u16(), expected, "{method} {path}: {answer}");
    }
}

fn listed(answer: &Value, key: &str) -> Vec<String> {
    let mut names: Vec<String> = answer[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn a_domain_manager_manages_the_users_and_projects_of_their_domain() {
    let w = World::new().await;
    let patch = |key: &str| Some(json!({ key: {"description": "changed"} }));
    w.check(Method::GET, &format!("users/{}", w.alice), None, 200)
        .await;
    let path = format!("users/{}", w.alice);
    let (status, answer) = w
        .call(&w.manager, Method::PATCH, &path, patch("user"))
        .await;
    assert_eq!(status, StatusCode::OK);
    // Keystone keeps a user's description among their extra attributes
    assert_eq!(answer["user"]["extra"]["description"], "changed");
    w.check(Method::GET, &format!("projects/{}", w.pd), None, 200)
        .await;
    w.check(
        Method::PATCH,
        &format!("projects/{}", w.pd),
        patch("project"),
        200,
    )
    .await;

    let carol = w.create(&w.manager, "users", "carol", &w.d).await;
    let scratch = w.create(&w.manager, "projects", "scratch", &w.d).await;
    w.check(Method::DELETE, &format!("users/{carol}"), None, 204)
        .await;
    w.check(Method::DELETE, &format!("projects/{scratch}"), None, 204)
        .await;
}

#[tokio::test]
async fn a_domain_manager_is_refused_another_domains_users_and_projects() {
    let w = World::new().await;
    let patch = |key: &str| Some(json!({ key: {"description": "changed"} }));
    for (method, path, body) in [
        (Method::GET, format!("users/{}", w.eve), None),
        (Method::PATCH, format!("users/{}", w.eve), patch("user")),
        (Method::DELETE, format!("users/{}", w.eve), None),
        (Method::GET, format!("projects/{}", w.pe), None),
        (
            Method::PATCH,
            format!("projects/{}", w.pe),
            patch("project"),
        ),
        (Method::DELETE, format!("projects/{}", w.pe), None),
    ] {
        w.check(method, &path, body, 403).await;
    }
    let (status, _) = w
        .call(
            &w.manager,
            Method::POST,
            "users",
            Some(json!({"user": {"name": "x", "domain_id": w.e}})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // a reader of the domain reads its users but changes none
    let reader = w.create(&w.admin, "users", "rita", &w.d).await;
    w.fake.grant_domain_role(&reader, &w.d, "reader").unwrap();
    let rita = w.domain_token("rita", "reader").await;
    let path = format!("users/{}", w.alice);
    assert_eq!(w.call(&rita, Method::GET, &path, None).await.0, 200);
    let (status, _) = w.call(&rita, Method::PATCH, &path, patch("user")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_domain_manager_lists_their_domain_only() {
    let w = World::new().await;
    let (status, users) = w
        .call(
            &w.manager,
            Method::GET,
            &format!("users?domain_id={}", w.d),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed(&users, "users"), ["alice", "boss"]);
    let (_, users) = w.call(&w.manager, Method::GET, "users", None).await;
    assert_eq!(listed(&users, "users"), ["alice", "boss"]);
    let (status, users) = w
        .call(
            &w.manager,
            Method::GET,
            &format!("users?domain_id={}", w.e),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(listed(&users, "users").is_empty());

    let (status, projects) = w
        .call(
            &w.manager,
            Method::GET,
            &format!("projects?domain_id={}", w.d),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed(&projects, "projects"), ["pd"]);

    let member = w.role("member").await;
    let (status, _) = w
        .call(
            &w.admin,
            Method::PUT,
            &format!("projects/{}/users/{}/roles/{member}", w.pe, w.eve),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let assignments = role_assignments(&w.fake, &w.manager, String::new()).await;
    let scopes: Vec<&Value> = assignments.iter().map(|a| &a["scope"]).collect();
    assert_eq!(scopes, [&json!({"domain": {"id": w.d}})], "{assignments:?}");
    let assignments = role_assignments(&w.fake, &w.admin, String::new()).await;
    assert!(assignments.len() > 2);
}

#[tokio::test]
async fn a_domain_manager_grants_member_and_reader_in_their_domain() {
    let w = World::new().await;
    let (alice, pd, d) = (&w.alice, &w.pd, &w.d);
    for role in ["member", "reader", "manager"] {
        let r = w.role(role).await;
        let grant = format!("projects/{pd}/users/{alice}/roles/{r}");
        w.check(Method::PUT, &grant, None, 204).await;
        w.check(Method::HEAD, &grant, None, 204).await;
        w.check(Method::GET, &grant, None, 204).await;
        w.check(Method::DELETE, &grant, None, 204).await;
        w.check(Method::GET, &grant, None, 404).await;
        let grant = format!("domains/{d}/users/{alice}/roles/{r}");
        w.check(Method::PUT, &grant, None, 204).await;
        w.check(Method::GET, &grant, None, 204).await;
        w.check(Method::DELETE, &grant, None, 204).await;
    }
    w.check(
        Method::GET,
        &format!("projects/{pd}/users/{alice}/roles"),
        None,
        200,
    )
    .await;
    w.check(
        Method::GET,
        &format!("domains/{d}/users/{alice}/roles"),
        None,
        200,
    )
    .await;
}

#[tokio::test]
async fn a_domain_manager_grants_nothing_else() {
    let w = World::new().await;
    let (member, admin, service) = (
        w.role("member").await,
        w.role("admin").await,
        w.role("service").await,
    );
    let (alice, eve, pd, pe, d, e) = (&w.alice, &w.eve, &w.pd, &w.pe, &w.d, &w.e);
    for path in [
        format!("projects/{pd}/users/{alice}/roles/{admin}"),
        format!("projects/{pd}/users/{alice}/roles/{service}"),
        format!("domains/{d}/users/{alice}/roles/{admin}"),
        format!("projects/{pe}/users/{alice}/roles/{member}"),
        format!("projects/{pd}/users/{eve}/roles/{member}"),
        format!("projects/{pe}/users/{eve}/roles/{member}"),
        format!("domains/{e}/users/{eve}/roles/{member}"),
        format!("domains/{e}/users/{alice}/roles/{member}"),
    ] {
        w.check(Method::PUT, &path, None, 403).await;
        w.check(Method::DELETE, &path, None, 403).await;
    }
    w.check(
        Method::GET,
        &format!("projects/{pe}/users/{eve}/roles/{member}"),
        None,
        403,
    )
    .await;
    w.check(
        Method::GET,
        &format!("projects/{pe}/users/{eve}/roles"),
        None,
        403,
    )
    .await;
    // what the route names is looked up before the policy is asked
    let unknown = "0123456789abcdef0123456789abcdef";
    for path in [
        format!("projects/{pd}/users/{alice}/roles/{unknown}"),
        format!("projects/{pd}/users/{unknown}/roles/{member}"),
        format!("projects/{unknown}/users/{alice}/roles/{member}"),
        format!("domains/{unknown}/users/{alice}/roles/{member}"),
    ] {
        w.check(Method::PUT, &path, None, 404).await;
    }
}
