//! Project tags as Keystone 30.0.0 serves them (answers recorded from a real one): the six
//! routes, their codes, bodies and `Location`, sorted reads and echoed writes, the limits, who
//! may read and write them, the list filters of `GET /v3/projects` with their quirks, and
//! names' limits on projects and domains.

mod common;

use common::*;
use keystone_fake::FakeKeystone;
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

struct Cloud {
    fake: FakeKeystone,
    admin: String,
    member: String,
    project: String,
}

async fn cloud() -> Cloud {
    let fake = FakeKeystone::start().await.unwrap();
    let project = fake.create_project("p").unwrap();
    let user = fake.create_user("alice", "alicepw").unwrap();
    fake.grant_project_role(&user, &project, "member").unwrap();
    let admin = admin_token(&fake).await;
    let member = token(
        &fake,
        "alice",
        "alicepw",
        json!({"project": {"id": project}}),
    )
    .await
    .0;
    Cloud {
        fake,
        admin,
        member,
        project,
    }
}

impl Cloud {
    fn request(&self, token: &str, method: Method, path: &str) -> reqwest::RequestBuilder {
        Client::new()
            .request(method, format!("{}{path}", self.fake.url()))
            .header("x-auth-token", token)
    }

    fn admin(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.request(&self.admin, method, path)
    }

    async fn tags(&self) -> Value {
        let r = self
            .admin(Method::GET, &format!("/v3/projects/{}/tags", self.project))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        r.json::<Value>().await.unwrap()["tags"].clone()
    }
}

#[tokio::test]
async fn the_routes_answer_as_keystone() {
    let c = cloud().await;
    let base = c.fake.url().to_owned();
    let tags = format!("/v3/projects/{}/tags", c.project);
    // PUT: the tags stripped, in the order sent; GET: sorted; links to /v3 itself
    let r = c
        .admin(Method::PUT, &tags)
        .json(&json!({"tags": ["b", " a ", "C"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"links": {"self": format!("{base}/v3")}, "tags": ["b", "a", "C"]})
    );
    let r = c
        .admin(Method::GET, &format!("{tags}?x=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"links": {"self": format!("{base}/v3?x=1")}, "tags": ["C", "a", "b"]})
    );
    // one tag: 201 without a body, Keystone's Location (no `projects/`), percent-encoded
    let r = c
        .admin(Method::PUT, &format!("{tags}/new%20tag"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(
        r.headers()["location"],
        format!("{base}/v3/{}/tags/new%20tag", c.project).as_str()
    );
    assert_eq!(r.text().await.unwrap(), "");
    for (method, path, status) in [
        (Method::GET, format!("{tags}/new%20tag"), 204),
        (Method::HEAD, format!("{tags}/a"), 204),
        (Method::GET, format!("{tags}/A"), 404),
        (Method::DELETE, format!("{tags}/a"), 204),
        (Method::DELETE, format!("{tags}/a"), 404),
        (Method::PUT, format!("{tags}/a%2Fb"), 404),
    ] {
        let r = c.admin(method.clone(), &path).send().await.unwrap();
        assert_eq!(r.status().as_u16(), status, "{method} {path}");
    }
    assert_eq!(
        keystone_error(c.admin(Method::GET, &format!("{tags}/zz")), 404).await,
        "Could not find project tag: zz."
    );
    assert_eq!(c.tags().await, json!(["C", "b", "new tag"]));
    // the project shows them sorted; a create or an update answers them as sent
    let p: Value = c
        .admin(Method::GET, &format!("/v3/projects/{}", c.project))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(p["project"]["tags"], json!(["C", "b", "new tag"]));
    let r = c
        .admin(Method::POST, "/v3/projects")
        .json(&json!({"project": {"name": "tagged", "tags": ["z", "y"]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let created: Value = r.json().await.unwrap();
    assert_eq!(created["project"]["tags"], json!(["z", "y"]));
    let id = created["project"]["id"].as_str().unwrap();
    let p: Value = c
        .admin(Method::GET, &format!("/v3/projects/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(p["project"]["tags"], json!(["y", "z"]));
    let r = c.admin(Method::DELETE, &tags).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(c.tags().await, json!([]));
    assert_eq!(
        keystone_error(c.admin(Method::GET, "/v3/projects/nothere/tags"), 404).await,
        "Could not find project: nothere."
    );
}

#[tokio::test]
async fn limits_and_their_messages() {
    let c = cloud().await;
    let tags = format!("/v3/projects/{}/tags", c.project);
    let put = |body: Value| c.admin(Method::PUT, &tags).json(&body);
    for (body, message) in [
        (
            json!({"tags": ["a", "b/c"]}),
            "Invalid input for field/attribute 1. Value: b/c. 'b/c' does not match '^[^,/]*$'",
        ),
        (
            json!({"tags": ["", "b"]}),
            "Invalid input for field/attribute 0. Value: . '' should be non-empty",
        ),
        (
            json!({"tags": "abc"}),
            "Invalid input for field/attribute tags. Value: abc. 'abc' is not of type 'array'",
        ),
        (
            json!({"tags": [], "x": 1}),
            "Additional properties are not allowed ('x' was unexpected)",
        ),
        (json!({}), "{} is not of type 'array'"),
        (
            json!({"tags": ["a", "a"]}),
            "['a', 'a'] has non-unique elements",
        ),
    ] {
        assert_eq!(
            keystone_error(put(body.clone()), 400).await,
            message,
            "{body}"
        );
    }
    let many: Vec<String> = (0..81).map(|i| format!("t{i}")).collect();
    assert!(
        keystone_error(put(json!({ "tags": many })), 400)
            .await
            .ends_with("'t80'] is too long")
    );
    let eighty = &many[..80];
    let r = put(json!({ "tags": eighty })).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // the 81st through the single-tag route: the stored tags sorted, then the new one
    let message = keystone_error(c.admin(Method::PUT, &format!("{tags}/t80")), 400).await;
    assert!(message.starts_with("['t0', 't1', 't10', "), "{message}");
    assert!(message.ends_with("'t9', 't80'] is too long"), "{message}");
    // the count is checked before duplicates (the schema's order)
    let message = keystone_error(c.admin(Method::PUT, &format!("{tags}/t5")), 400).await;
    assert!(message.ends_with("'t9', 't5'] is too long"), "{message}");
    c.admin(Method::DELETE, &tags).send().await.unwrap();
    for tag in ["y", "x"] {
        c.admin(Method::PUT, &format!("{tags}/{tag}"))
            .send()
            .await
            .unwrap();
    }
    assert_eq!(
        keystone_error(c.admin(Method::PUT, &format!("{tags}/x")), 400).await,
        "['x', 'y', 'x'] has non-unique elements"
    );
    c.admin(Method::DELETE, &tags).send().await.unwrap();
    assert_eq!(
        keystone_error(c.admin(Method::PUT, &format!("{tags}/a,b")), 400).await,
        "'a,b' does not match '^[^,/]*$'"
    );
    let long = "x".repeat(256);
    assert_eq!(
        keystone_error(c.admin(Method::PUT, &format!("{tags}/{long}")), 400).await,
        format!("'{long}' is too long")
    );
    let r = c
        .admin(Method::PUT, &format!("{tags}/{}", "é".repeat(255)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED, "255 characters, not bytes");
    // in project bodies, checked before the token
    for (body, message) in [
        (
            json!({"project": {"name": "q", "tags": ["a", "a"]}}),
            "Invalid input for field/attribute tags. Value: ['a', 'a']. ['a', 'a'] has \
             non-unique elements",
        ),
        (
            json!({"project": {"name": "q", "tags": ["a/b"]}}),
            "Invalid input for field/attribute 0. Value: a/b. 'a/b' does not match '^[^,/]*$'",
        ),
        (
            json!({"project": {"name": ""}}),
            "Invalid input for field/attribute name. Value: . '' should be non-empty",
        ),
    ] {
        let anonymous = Client::new()
            .post(format!("{}/v3/projects", c.fake.url()))
            .json(&body);
        assert_eq!(keystone_error(anonymous, 400).await, message, "{body}");
    }
    let long = "n".repeat(65);
    for path in ["/v3/projects", "/v3/domains"] {
        let key = if path.ends_with("projects") {
            "project"
        } else {
            "domain"
        };
        let r = c
            .admin(Method::POST, path)
            .json(&json!({ key: {"name": long} }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{path}");
        let r = c
            .admin(Method::POST, path)
            .json(&json!({ key: {"name": "n".repeat(64)} }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED, "{path}");
    }
    let r = c
        .admin(Method::PATCH, &format!("/v3/projects/{}", c.project))
        .json(&json!({"project": {"tags": ["q", "q"]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn who_may_read_and_write_them() {
    let c = cloud().await;
    let other = c.fake.create_project("other").unwrap();
    let mine = format!("/v3/projects/{}/tags", c.project);
    let theirs = format!("/v3/projects/{other}/tags");
    c.admin(Method::PUT, &format!("{mine}/a"))
        .send()
        .await
        .unwrap();
    // a member reads their project's tags, not another's, and writes none
    let r = c
        .request(&c.member, Method::GET, &mine)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = c
        .request(&c.member, Method::GET, &format!("{mine}/a"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        keystone_error(c.request(&c.member, Method::GET, &theirs), 403).await,
        "You are not authorized to perform the requested action: identity:list_project_tags."
    );
    for (method, path, rule) in [
        (
            Method::PUT,
            format!("{mine}/b"),
            "identity:create_project_tag",
        ),
        (Method::PUT, mine.clone(), "identity:update_project_tags"),
        (
            Method::DELETE,
            format!("{mine}/a"),
            "identity:delete_project_tag",
        ),
        (Method::DELETE, mine.clone(), "identity:delete_project_tags"),
    ] {
        let mut r = c.request(&c.member, method, &path);
        if path == mine {
            r = r.json(&json!({"tags": []}));
        }
        assert_eq!(
            keystone_error(r, 403).await,
            format!("You are not authorized to perform the requested action: {rule}.")
        );
    }
    // a project that does not exist: 403 to a member (an empty target), 404 to an admin
    keystone_error(
        c.request(&c.member, Method::GET, "/v3/projects/nothere/tags"),
        403,
    )
    .await;
    let r = Client::new()
        .get(format!("{}{mine}", c.fake.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

/// Keystone's answers on a cloud of tagged projects, quirks included.
#[tokio::test]
async fn list_filters_as_keystone_applies_them() {
    let c = cloud().await;
    let mut ids = std::collections::HashMap::new();
    for (name, tags) in [
        ("fA", json!(["a"])),
        ("fAB", json!(["a", "b"])),
        ("fBC", json!(["b", "c"])),
        ("fC", json!(["c"])),
        ("fNone", json!([])),
    ] {
        let r = c
            .admin(Method::POST, "/v3/projects")
            .json(&json!({"project": {"name": name, "tags": tags}}))
            .send()
            .await
            .unwrap();
        let body: Value = r.json().await.unwrap();
        ids.insert(body["project"]["id"].as_str().unwrap().to_owned(), name);
    }
    let list = |query: &'static str| {
        let c = &c;
        let ids = &ids;
        async move {
            let body: Value = c
                .admin(Method::GET, &format!("/v3/projects?{query}"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let mut names: Vec<&str> = body["projects"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    ids.get(p["id"].as_str().unwrap())
                        .copied()
                        .unwrap_or("untagged")
                })
                .collect();
            names.sort();
            names.dedup();
            names.join(" ")
        }
    };
    for (query, expected) in [
        ("tags=a", "fA fAB"),
        ("tags=a,b", "fAB"),
        ("tags=b,a", "fAB"),
        ("tags-any=a,c", "fA fAB fBC fC"),
        ("not-tags=a", "fBC fC fNone untagged"),
        ("not-tags=a,b", "fA fBC fC fNone untagged"),
        ("not-tags-any=a,c", "fNone untagged"),
        ("tags=a&tags-any=b,c", "fAB"),
        ("tags=a&not-tags=b", "fA"),
        ("tags-any=a&not-tags-any=b", "fA"),
        ("tags=zzz&not-tags=a", "fBC fC fNone untagged"),
        ("tags-any=zzz&not-tags=a", "fBC fC fNone untagged"),
        ("tags=zzz&tags-any=a", ""),
        ("not-tags=b&not-tags-any=a", "fA fAB fC fNone untagged"),
        ("tags=", ""),
        ("tags=a,", ""),
        ("tags=A", ""),
        ("not-tags=zzz", "fA fAB fBC fC fNone untagged"),
        ("tags=a&tags=c", "fA fAB"),
        ("tags=a&name=fAB", "fAB"),
        ("not-tags-any=a&name=fAB", ""),
    ] {
        assert_eq!(list(query).await, expected, "{query}");
    }
}
