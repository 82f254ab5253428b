//! Trusts (`/v3/OS-TRUST/trusts`) and trust-scoped tokens, as Keystone 30.0.0 serves them:
//! the answers' shapes, who may do what, every way creating a trust or a token of one fails,
//! and what deleting, expiring, using up or undermining a trust does to its tokens.

use std::time::Duration;

mod common;

use common::*;
use keystone_fake::FakeKeystone;
use reqwest::{Client, Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};

/// A fake where `alice` (the trustor) is a member of project `p`, `bob` (the trustee) and
/// `carol` (a bystander) exist, with alice's token on `p` and the admin's.
struct Cloud {
    fake: FakeKeystone,
    project: String,
    alice: String,
    bob: String,
    carol: String,
    alice_token: String,
    admin: String,
}

async fn cloud() -> Cloud {
    let fake = FakeKeystone::start().await.unwrap();
    let project = fake.create_project("p").unwrap();
    let alice = fake.create_user("alice", "alicepw").unwrap();
    let bob = fake.create_user("bob", "bobpw").unwrap();
    let carol = fake.create_user("carol", "carolpw").unwrap();
    fake.grant_project_role(&alice, &project, "member").unwrap();
    let (alice_token, _) = token(
        &fake,
        "alice",
        "alicepw",
        json!({"project": {"id": project}}),
    )
    .await;
    let admin = admin_token(&fake).await;
    Cloud {
        fake,
        project,
        alice,
        bob,
        carol,
        alice_token,
        admin,
    }
}

impl Cloud {
    /// A request to `path` (under `/v3`) with `token`.
    fn request(&self, method: Method, path: &str, token: &str) -> RequestBuilder {
        Client::new()
            .request(method, format!("{}{path}", self.fake.auth_url()))
            .header("x-auth-token", token)
    }

    /// alice's trust for bob on `p` delegating `member`, with `changes` (a null removes an
    /// attribute).
    fn trust_body(&self, changes: Value) -> Value {
        let mut trust = json!({
            "trustor_user_id": self.alice, "trustee_user_id": self.bob,
            "project_id": self.project, "impersonation": false, "roles": [{"name": "member"}],
        });
        for (key, value) in changes.as_object().unwrap() {
            match value {
                Value::Null => trust.as_object_mut().unwrap().remove(key),
                _ => trust
                    .as_object_mut()
                    .unwrap()
                    .insert(key.clone(), value.clone()),
            };
        }
        json!({ "trust": trust })
    }

    /// `POST /v3/OS-TRUST/trusts` with alice's trust changed by `changes`, as `token`.
    fn create(&self, token: &str, changes: Value) -> RequestBuilder {
        self.request(Method::POST, "/OS-TRUST/trusts", token)
            .json(&self.trust_body(changes))
    }

    /// Creates alice's trust changed by `changes`; returns its body.
    async fn trust(&self, changes: Value) -> Value {
        let r = self
            .create(&self.alice_token, changes)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        r.json::<Value>().await.unwrap()["trust"].clone()
    }

    /// A JSON answer to `method path` as `token`, with its status.
    async fn call(&self, method: Method, path: &str, token: &str) -> (StatusCode, Value) {
        let r = self.request(method, path, token).send().await.unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

/// A password token request of `user` scoped to `trust`.
fn trust_scope(user: &str, password: &str, trust: &str) -> Value {
    password_body(user, password, json!({"OS-TRUST:trust": {"id": trust}}))
}

/// Issues bob's token for `trust`: the token and its body.
async fn bobs_trust_token(c: &Cloud, trust: &str) -> (String, Value) {
    let r = issue(&c.fake, &trust_scope("bob", "bobpw", trust)).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let t = r.headers()["x-subject-token"].to_str().unwrap().to_owned();
    (t, r.json().await.unwrap())
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

fn keys(v: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    keys
}

#[tokio::test]
async fn a_trust_is_created_read_listed_and_deleted_as_keystone_answers_it() {
    let c = cloud().await;
    let base = c.fake.url().to_owned();
    let trust = c
        .trust(json!({"expires_at": "2099-01-02T03:04:05.678901Z", "remaining_uses": 3}))
        .await;
    let id = id_of(&trust);
    assert_eq!(
        keys(&trust),
        [
            "deleted_at",
            "expires_at",
            "id",
            "impersonation",
            "links",
            "project_id",
            "redelegated_trust_id",
            "redelegation_count",
            "remaining_uses",
            "roles",
            "roles_links",
            "trustee_user_id",
            "trustor_user_id"
        ]
    );
    assert_eq!(trust["expires_at"], "2099-01-02T03:04:05.000000Z");
    assert_eq!(trust["remaining_uses"], 3);
    assert_eq!(trust["redelegation_count"], 0);
    assert_eq!(trust["deleted_at"], Value::Null);
    assert_eq!(trust["redelegated_trust_id"], Value::Null);
    assert_eq!(trust["trustor_user_id"], c.alice.as_str());
    assert_eq!(trust["trustee_user_id"], c.bob.as_str());
    assert_eq!(trust["project_id"], c.project.as_str());
    assert_eq!(
        trust["links"]["self"],
        format!("{base}/v3/OS-TRUST/trusts/{id}")
    );
    // Keystone's link to the roles leaves out `OS-TRUST/trusts`
    assert_eq!(
        trust["roles_links"],
        json!({"self": format!("{base}/v3/{id}/roles"), "next": null, "previous": null})
    );
    let role = &trust["roles"][0];
    assert_eq!(names(&trust["roles"]), ["member"]);
    assert_eq!(
        keys(role),
        ["description", "domain_id", "id", "links", "name", "options"]
    );
    let member = id_of(role);

    let (status, got) = c
        .call(
            Method::GET,
            &format!("/OS-TRUST/trusts/{id}"),
            &c.alice_token,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got["trust"], trust);

    let (status, list) = c
        .call(
            Method::GET,
            &format!("/OS-TRUST/trusts?trustor_user_id={}", c.alice),
            &c.alice_token,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let listed = &list["trusts"][0];
    assert_eq!(list["trusts"].as_array().unwrap().len(), 1);
    assert!(listed.get("roles").is_none() && listed.get("roles_links").is_none());
    assert_eq!(listed["id"], id.as_str());
    assert_eq!(
        list["links"]["self"],
        format!("{base}/v3/OS-TRUST/trusts?trustor_user_id={}", c.alice)
    );

    let (status, roles) = c
        .call(
            Method::GET,
            &format!("/OS-TRUST/trusts/{id}/roles"),
            &c.alice_token,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(roles["roles"], trust["roles"]);
    assert_eq!(roles["links"], trust["roles_links"]);
    let role_path = format!("/OS-TRUST/trusts/{id}/roles/{member}");
    let (status, one) = c.call(Method::GET, &role_path, &c.alice_token).await;
    assert_eq!((status, &one["role"]), (StatusCode::OK, role));
    let (status, _) = c.call(Method::HEAD, &role_path, &c.alice_token).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = c
        .call(
            Method::HEAD,
            &format!("/OS-TRUST/trusts/{id}"),
            &c.alice_token,
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let (status, _) = c
        .call(
            Method::DELETE,
            &format!("/OS-TRUST/trusts/{id}"),
            &c.alice_token,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    for (method, path) in [
        (Method::GET, format!("/OS-TRUST/trusts/{id}")),
        (Method::DELETE, format!("/OS-TRUST/trusts/{id}")),
        (Method::GET, format!("/OS-TRUST/trusts/{id}/roles")),
    ] {
        let message = keystone_error(c.request(method, &path, &c.alice_token), 404).await;
        assert_eq!(message, format!("Could not find trust: {id}."));
    }
    let (_, list) = c.call(Method::GET, "/OS-TRUST/trusts", &c.admin).await;
    assert_eq!(list["trusts"], json!([]), "deleted trusts are not listed");
}

#[tokio::test]
async fn creating_a_trust_fails_as_keystone_fails() {
    let c = cloud().await;
    let (system_admin, _) = token(
        &c.fake,
        "admin",
        "adminpw",
        json!({"system": {"all": true}}),
    )
    .await;
    c.trust(json!({"expires_at": "2099-01-01T00:00:00.5Z"}))
        .await;
    let admin_id = c.fake.admin().user_id.clone();
    let cases: Vec<(&str, &str, Value, u16, &str)> = vec![
        (
            "a project without roles",
            &c.alice_token,
            json!({"roles": []}),
            403,
            "You are not authorized to perform the requested action: At least one role should \
             be specified.",
        ),
        (
            "someone else as trustor",
            &c.alice_token,
            json!({"trustor_user_id": c.bob}),
            403,
            "You are not authorized to perform the requested action: identity:create_trust.",
        ),
        (
            "an admin for alice",
            &c.admin,
            json!({}),
            403,
            "You are not authorized to perform the requested action: identity:create_trust.",
        ),
        (
            "a system-scoped token",
            &system_admin,
            json!({"trustor_user_id": admin_id, "project_id": null, "roles": []}),
            403,
            "You are not authorized to perform the requested action: identity:create_trust.",
        ),
        (
            "an unknown trustee",
            &c.alice_token,
            json!({"trustee_user_id": "nobody"}),
            404,
            "Could not find user: nobody.",
        ),
        (
            "an unknown role name",
            &c.alice_token,
            json!({"roles": [{"name": "nosuch"}]}),
            404,
            "Role nosuch is not defined",
        ),
        (
            "an unknown project",
            &c.alice_token,
            json!({"project_id": "nowhere"}),
            404,
            "Could not find project: nowhere.",
        ),
        (
            "roles without a project",
            &c.alice_token,
            json!({"project_id": null}),
            404,
            "Could not find role: ",
        ),
        (
            "a role the trustor does not hold",
            &c.alice_token,
            json!({"roles": [{"name": "admin"}]}),
            404,
            "Could not find role: ",
        ),
        (
            "no impersonation",
            &c.alice_token,
            json!({"impersonation": null}),
            400,
            // Keystone's newer validator words it "Invalid input for field/attribute trust.
            // Value: {...}. 'impersonation' is ...", quoting the body
            "Invalid input for field 'trust': 'impersonation' is a required property",
        ),
        (
            "no uses",
            &c.alice_token,
            json!({"remaining_uses": 0}),
            400,
            "Invalid input for field 'remaining_uses': the value is less than the minimum of 1",
        ),
        (
            "a role by id and name",
            &c.alice_token,
            json!({"roles": [{"name": "member", "id": "x"}]}),
            400,
            "Invalid input for field 'roles/0': the value has too many properties",
        ),
        (
            "a role by neither",
            &c.alice_token,
            json!({"roles": [{}]}),
            400,
            "Invalid input for field 'roles/0': the value should be non-empty",
        ),
        (
            "a role by something else",
            &c.alice_token,
            json!({"roles": [{"role": "member"}]}),
            400,
            "Invalid input for field 'roles/0': Additional properties are not allowed ('role' \
             was unexpected)",
        ),
        (
            "an expiry past",
            &c.alice_token,
            json!({"expires_at": "2001-01-01T00:00:00Z"}),
            400,
            "The 'expires_at' must not be before now.",
        ),
        (
            "an expiry that is a date only",
            &c.alice_token,
            json!({"expires_at": "2099-01-01"}),
            400,
            "Timestamp not in expected format.",
        ),
        (
            "an expiry in another zone",
            &c.alice_token,
            json!({"expires_at": "2099-01-01T00:00:00+02:00"}),
            400,
            "Timestamp not in expected format.",
        ),
        (
            "a role named twice",
            &c.alice_token,
            json!({"roles": [{"name": "member"}, {"name": "member"}]}),
            409,
            "Conflict occurred attempting to store trust - Duplicate entry found with ID ",
        ),
        (
            "a trust like another, to its expiry",
            &c.alice_token,
            json!({"expires_at": "2099-01-01T00:00:00.500000"}),
            409,
            "Conflict occurred attempting to store trust - Duplicate entry found with ID ",
        ),
        (
            "a redelegation deeper than 3",
            &c.alice_token,
            json!({"allow_redelegation": true, "redelegation_count": 4}),
            403,
            "You are not authorized to perform the requested action.",
        ),
        (
            "redelegation with uses",
            &c.alice_token,
            json!({"allow_redelegation": true, "remaining_uses": 2}),
            400,
            "remaining_uses must not be set if redelegation is allowed",
        ),
    ];
    for (what, token, changes, status, message) in cases {
        let got = keystone_error(c.create(token, changes), status).await;
        assert!(got.starts_with(message), "{what}: {got}");
    }
    // a missing token is a 401 once the body is right, a body of the wrong shape a 400 first
    let body = c.trust_body(json!({}));
    let anonymous = || Client::new().post(format!("{}/OS-TRUST/trusts", c.fake.auth_url()));
    keystone_error(anonymous().json(&body), 401).await;
    keystone_error(anonymous().json(&json!({"trust": {}})), 400).await;
}

#[tokio::test]
async fn what_a_trust_may_be_created_with_is_kept() {
    let c = cloud().await;
    // implied roles count as held; a role by id; no expiry: no conflict
    let reader = c.trust(json!({"roles": [{"name": "reader"}]})).await;
    assert_eq!(names(&reader["roles"]), ["reader"]);
    let again = c.trust(json!({"roles": [{"name": "reader"}]})).await;
    assert_ne!(again["id"], reader["id"]);
    let member_id = id_of(&c.trust(json!({})).await["roles"][0]);
    let by_id = c.trust(json!({"roles": [{"id": member_id}]})).await;
    assert_eq!(names(&by_id["roles"]), ["member"]);
    // without a project, without roles; an expiry without a zone is UTC
    let projectless = c
        .trust(json!({"project_id": null, "roles": [], "expires_at": "2099-05-06T07:08:09"}))
        .await;
    assert_eq!(projectless["project_id"], Value::Null);
    assert_eq!(projectless["roles"], json!([]));
    assert_eq!(projectless["expires_at"], "2099-05-06T07:08:09.000000Z");
    // redelegation: 3 by default, as asked, 0 when not allowed; unknown attributes echoed
    let redelegatable = c.trust(json!({"allow_redelegation": true})).await;
    assert_eq!(redelegatable["redelegation_count"], 3);
    assert!(redelegatable.get("allow_redelegation").is_none());
    let two = c
        .trust(json!({"allow_redelegation": true, "redelegation_count": 2}))
        .await;
    assert_eq!(two["redelegation_count"], 2);
    let not = c
        .trust(json!({"redelegation_count": 2, "purpose": "ci"}))
        .await;
    assert_eq!(not["redelegation_count"], 0);
    assert_eq!(not["purpose"], "ci");
    let (_, got) = c
        .call(
            Method::GET,
            &format!("/OS-TRUST/trusts/{}", id_of(&not)),
            &c.alice_token,
        )
        .await;
    assert_eq!(got["trust"]["purpose"], "ci");
}

#[tokio::test]
async fn the_trustor_the_trustee_and_admins_see_a_trust_and_nobody_else() {
    let c = cloud().await;
    let id = id_of(&c.trust(json!({})).await);
    let (bob, _) = token(&c.fake, "bob", "bobpw", Value::Null).await;
    let (carol, _) = token(&c.fake, "carol", "carolpw", Value::Null).await;
    let path = format!("/OS-TRUST/trusts/{id}");
    let by_trustor = format!("/OS-TRUST/trusts?trustor_user_id={}", c.alice);
    let by_trustee = format!("/OS-TRUST/trusts?trustee_user_id={}", c.bob);
    let cases: Vec<(&str, Method, &str, &str, u16)> = vec![
        ("trustee reads", Method::GET, &path, &bob, 200),
        ("admin reads", Method::GET, &path, &c.admin, 200),
        ("bystander reads", Method::GET, &path, &carol, 403),
        ("trustee reads roles", Method::GET, "roles", &bob, 200),
        ("bystander reads roles", Method::GET, "roles", &carol, 403),
        (
            "trustee lists as trustee",
            Method::GET,
            &by_trustee,
            &bob,
            200,
        ),
        (
            "trustee lists as trustor",
            Method::GET,
            &by_trustor,
            &bob,
            403,
        ),
        (
            "trustor lists as trustee",
            Method::GET,
            &by_trustee,
            &c.alice_token,
            403,
        ),
        (
            "member lists all",
            Method::GET,
            "/OS-TRUST/trusts",
            &c.alice_token,
            403,
        ),
        (
            "admin lists all",
            Method::GET,
            "/OS-TRUST/trusts",
            &c.admin,
            200,
        ),
        ("trustee deletes", Method::DELETE, &path, &bob, 403),
        ("bystander deletes", Method::DELETE, &path, &carol, 403),
    ];
    for (what, method, path, token, status) in cases {
        let path = match path {
            "roles" => format!("/OS-TRUST/trusts/{id}/roles"),
            other => other.to_owned(),
        };
        let (got, body) = c.call(method, &path, token).await;
        assert_eq!(got.as_u16(), status, "{what}: {body}");
    }
    let message = keystone_error(c.request(Method::GET, &path, &carol), 403).await;
    assert_eq!(
        message,
        "You are not authorized to perform the requested action: identity:get_trust."
    );
    // an unknown trust is a 404 whoever asks
    keystone_error(c.request(Method::GET, "/OS-TRUST/trusts/nope", &carol), 404).await;
    // any other query lists nothing; an admin may delete
    let (_, list) = c
        .call(Method::GET, "/OS-TRUST/trusts?foo=bar", &c.admin)
        .await;
    assert_eq!(list["trusts"], json!([]));
    let (status, _) = c.call(Method::DELETE, &path, &c.admin).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn a_trust_scoped_token_carries_the_trusts_project_and_roles() {
    let c = cloud().await;
    let expiry = c.fake.clock().now() + chrono::Duration::minutes(30);
    let trust = c
        .trust(json!({
            "remaining_uses": 3,
            "expires_at": expiry.format("%Y-%m-%dT%H:%M:%S.123456Z").to_string(),
        }))
        .await;
    let id = id_of(&trust);
    let (t, body) = bobs_trust_token(&c, &id).await;
    let tb = &body["token"];
    assert_eq!(
        tb["OS-TRUST:trust"],
        json!({"id": id, "trustor_user": {"id": c.alice}, "trustee_user": {"id": c.bob},
               "impersonation": false})
    );
    assert_eq!(tb["user"]["id"], c.bob.as_str());
    assert_eq!(tb["project"]["id"], c.project.as_str());
    assert_eq!(tb["methods"], json!(["password"]));
    assert!(tb.get("is_domain").is_none(), "{tb}");
    assert!(tb["catalog"].is_array());
    // the roles and those they imply, as whole roles
    assert_eq!(names(&tb["roles"]), ["member", "reader"]);
    for role in tb["roles"].as_array().unwrap() {
        assert_eq!(
            keys(role),
            ["description", "domain_id", "id", "name", "options"]
        );
    }
    // no later than the trust, to the second
    assert_eq!(
        tb["expires_at"],
        expiry.format("%Y-%m-%dT%H:%M:%S.000000Z").to_string()
    );
    // validation shows the same body
    let r = validate(&c.fake, &c.admin, &t, "").await;
    assert_eq!(r.status(), StatusCode::OK);
    let validated: Value = r.json().await.unwrap();
    assert_eq!(validated, body);
    // each token takes a use
    let (_, got) = c
        .call(
            Method::GET,
            &format!("/OS-TRUST/trusts/{id}"),
            &c.alice_token,
        )
        .await;
    assert_eq!(got["trust"]["remaining_uses"], 2);
    // the trustee's own token may be exchanged for one of the trust
    let (unscoped, _) = token(&c.fake, "bob", "bobpw", Value::Null).await;
    let r = issue(
        &c.fake,
        &json!({"auth": {"identity": {"methods": ["token"], "token": {"id": unscoped}},
                "scope": {"OS-TRUST:trust": {"id": id}}}}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["token"]["methods"], json!(["password", "token"]));
    assert_eq!(body["token"]["audit_ids"].as_array().unwrap().len(), 2);
    // a trust-scoped token reads the trust, as the trustee
    let (status, _) = c
        .call(Method::GET, &format!("/OS-TRUST/trusts/{id}"), &t)
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn an_impersonating_trust_gives_tokens_of_the_trustor() {
    let c = cloud().await;
    let service = c.fake.create_service("object-store", "swift").unwrap();
    c.fake
        .create_endpoint(
            &service,
            "public",
            "http://swift/$(user_id)s",
            Some("RegionOne"),
        )
        .unwrap();
    let id = id_of(&c.trust(json!({"impersonation": true})).await);
    let (t, body) = bobs_trust_token(&c, &id).await;
    let tb = &body["token"];
    assert_eq!(tb["user"]["id"], c.alice.as_str());
    assert_eq!(tb["user"]["name"], "alice");
    assert_eq!(tb["OS-TRUST:trust"]["impersonation"], true);
    assert_eq!(tb["OS-TRUST:trust"]["trustee_user"]["id"], c.bob.as_str());
    let urls: Vec<&str> = tb["catalog"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["endpoints"].as_array().unwrap())
        .filter_map(|e| e["url"].as_str())
        .collect();
    assert!(
        urls.contains(&format!("http://swift/{}", c.alice).as_str()),
        "{urls:?}"
    );
    // as Keystone's policy sees it, the token is the trustor's, its subject the trustee's:
    // a member cannot validate it with itself
    keystone_error(
        Client::new()
            .get(format!("{}/auth/tokens", c.fake.auth_url()))
            .header("x-auth-token", &t)
            .header("x-subject-token", &t),
        403,
    )
    .await;
    let (bob, _) = token(&c.fake, "bob", "bobpw", Value::Null).await;
    assert_eq!(
        validate(&c.fake, &bob, &t, "").await.status(),
        StatusCode::OK
    );
    // and it lists the trustor's trusts
    let (status, _) = c
        .call(
            Method::GET,
            &format!("/OS-TRUST/trusts?trustor_user_id={}", c.alice),
            &t,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn trust_scoped_token_requests_are_refused_as_keystone_refuses_them() {
    let c = cloud().await;
    let id = id_of(&c.trust(json!({})).await);
    let projectless = id_of(&c.trust(json!({"project_id": null, "roles": []})).await);
    let (trust_token, _) = bobs_trust_token(&c, &id).await;
    let (unscoped, _) = token(&c.fake, "bob", "bobpw", Value::Null).await;
    let rescope = |token: &str, scope: Value| {
        let mut body =
            json!({"auth": {"identity": {"methods": ["token"], "token": {"id": token}}}});
        if !scope.is_null() {
            body["auth"]["scope"] = scope;
        }
        body
    };
    let cases: Vec<(&str, Value, u16, &str)> = vec![
        (
            "not the trustee",
            trust_scope("carol", "carolpw", &id),
            403,
            "You are not authorized to perform the requested action.",
        ),
        (
            "an unknown trust",
            trust_scope("bob", "bobpw", "nope"),
            401,
            "The request you have made requires authentication.",
        ),
        (
            "a wrong password",
            trust_scope("bob", "wrong", &id),
            401,
            "The request you have made requires authentication.",
        ),
        (
            "an empty trust id",
            trust_scope("bob", "bobpw", ""),
            400,
            "Expecting to find trust_id in trust.",
        ),
        (
            "a trust without a project",
            trust_scope("bob", "bobpw", &projectless),
            404,
            "Could not find project: None.",
        ),
        (
            "a trust-scoped token rescoped",
            rescope(&trust_token, Value::Null),
            403,
            "You are not authorized to perform the requested action: Using trust-scoped token \
             to create another token. Create a new trust-scoped token instead.",
        ),
        (
            "a trust-scoped token for its trust again",
            rescope(&trust_token, json!({"OS-TRUST:trust": {"id": id}})),
            403,
            "You are not authorized to perform the requested action: Using trust-scoped token",
        ),
    ];
    for (what, body, status, message) in cases {
        let got = keystone_error(issue_request(&c.fake, &body), status).await;
        assert!(got.starts_with(message), "{what}: {got}");
    }
    // the trustee's own unscoped token still rescopes
    assert_eq!(
        issue(
            &c.fake,
            &rescope(&unscoped, json!({"OS-TRUST:trust": {"id": id}}))
        )
        .await
        .status(),
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn the_last_use_of_a_trust_gives_a_token_that_validates_no_more() {
    let c = cloud().await;
    let id = id_of(&c.trust(json!({"remaining_uses": 1})).await);
    let (t, _) = bobs_trust_token(&c, &id).await;
    // as in Keystone, which looks the trust up to validate its token and finds none with no
    // uses left
    let message = keystone_error(
        Client::new()
            .get(format!("{}/auth/tokens", c.fake.auth_url()))
            .header("x-auth-token", &c.admin)
            .header("x-subject-token", &t),
        404,
    )
    .await;
    assert_eq!(message, format!("Could not find trust: {id}."));
    keystone_error(
        issue_request(&c.fake, &trust_scope("bob", "bobpw", &id)),
        401,
    )
    .await;
    keystone_error(
        c.request(
            Method::GET,
            &format!("/OS-TRUST/trusts/{id}"),
            &c.alice_token,
        ),
        404,
    )
    .await;
    // still listed, with no uses left
    let (_, list) = c
        .call(
            Method::GET,
            &format!("/OS-TRUST/trusts?trustee_user_id={}", c.bob),
            &c.admin,
        )
        .await;
    assert_eq!(list["trusts"][0]["remaining_uses"], 0);
}

#[tokio::test]
async fn an_expired_trust_is_gone_but_listed() {
    let c = cloud().await;
    let expiry = c.fake.clock().now() + chrono::Duration::minutes(10);
    let id = id_of(
        &c.trust(json!({"expires_at": expiry.format("%Y-%m-%dT%H:%M:%SZ").to_string()}))
            .await,
    );
    let (t, _) = bobs_trust_token(&c, &id).await;
    c.fake.clock().advance(Duration::from_secs(11 * 60));
    let admin = &c.admin;
    keystone_error(
        c.request(Method::GET, &format!("/OS-TRUST/trusts/{id}"), admin),
        404,
    )
    .await;
    keystone_error(
        issue_request(&c.fake, &trust_scope("bob", "bobpw", &id)),
        401,
    )
    .await;
    // its token: the trust is looked up first, even with allow_expired
    let r = validate(&c.fake, admin, &t, "?allow_expired=1").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let (_, list) = c.call(Method::GET, "/OS-TRUST/trusts", admin).await;
    assert_eq!(list["trusts"][0]["id"], id.as_str());
}

#[tokio::test]
async fn deleting_a_trust_invalidates_its_tokens() {
    let c = cloud().await;
    let id = id_of(&c.trust(json!({})).await);
    let (t, _) = bobs_trust_token(&c, &id).await;
    let (status, _) = c
        .call(
            Method::DELETE,
            &format!("/OS-TRUST/trusts/{id}"),
            &c.alice_token,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let gone = format!("Could not find trust: {id}.");
    for query in ["", "?allow_expired=1"] {
        let r = validate(&c.fake, &c.admin, &t, query).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["message"], gone.as_str());
    }
    // as a caller's own token too, as Keystone answers
    let message = keystone_error(c.request(Method::GET, "/auth/projects", &t), 404).await;
    assert_eq!(message, gone);
    keystone_error(
        issue_request(&c.fake, &trust_scope("bob", "bobpw", &id)),
        401,
    )
    .await;
}

#[tokio::test]
async fn a_trust_lasts_only_as_long_as_its_trustor_may_delegate() {
    let c = cloud().await;
    let id = id_of(&c.trust(json!({})).await);
    let (t, _) = bobs_trust_token(&c, &id).await;
    let member = id_of(&c.trust(json!({"roles": [{"name": "member"}]})).await["roles"][0]);
    let grant = format!("/projects/{}/users/{}/roles/{member}", c.project, c.alice);
    let bob_again = || issue_request(&c.fake, &trust_scope("bob", "bobpw", &id));
    let check = |status: u16| {
        let t = t.clone();
        let admin = c.admin.clone();
        let fake = &c.fake;
        async move {
            assert_eq!(
                validate(fake, &admin, &t, "").await.status().as_u16(),
                status
            );
        }
    };

    // the trustor loses the delegated role: Keystone's Forbidden, issuing and validating
    let (status, _) = c.call(Method::DELETE, &grant, &c.admin).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    check(403).await;
    keystone_error(bob_again(), 403).await;
    keystone_error(c.request(Method::GET, "/auth/projects", &t), 403).await;
    let (status, _) = c.call(Method::PUT, &grant, &c.admin).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    check(200).await;

    // the trustor is disabled: Forbidden; enabled again, the old tokens stay revoked
    c.fake.set_user_enabled(&c.alice, false).unwrap();
    check(403).await;
    keystone_error(bob_again(), 403).await;
    c.fake.set_user_enabled(&c.alice, true).unwrap();
    check(404).await;
    assert_eq!(
        bob_again().send().await.unwrap().status(),
        StatusCode::CREATED
    );

    // the trustor is deleted: so are their trusts
    let (status, _) = c
        .call(Method::DELETE, &format!("/users/{}", c.alice), &c.admin)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    keystone_error(
        c.request(Method::GET, &format!("/OS-TRUST/trusts/{id}"), &c.admin),
        404,
    )
    .await;
}

#[tokio::test]
async fn application_credentials_manage_no_trusts() {
    let c = cloud().await;
    let id = id_of(&c.trust(json!({})).await);
    let mut tokens = Vec::new();
    for (name, unrestricted) in [("restricted", false), ("unrestricted", true)] {
        let r = c
            .request(
                Method::POST,
                &format!("/users/{}/application_credentials", c.alice),
                &c.alice_token,
            )
            .json(&json!({"application_credential": {"name": name, "unrestricted": unrestricted}}))
            .send()
            .await
            .unwrap();
        let cred: Value = r.json().await.unwrap();
        let cred = &cred["application_credential"];
        let r = issue(
            &c.fake,
            &json!({"auth": {"identity": {"methods": ["application_credential"],
                "application_credential": {"id": cred["id"], "secret": cred["secret"]}}}}),
        )
        .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        tokens.push(r.headers()["x-subject-token"].to_str().unwrap().to_owned());
    }
    let refused = "You are not authorized to perform the requested action: Delegated tokens cannot manage \
         trusts..";
    for t in &tokens {
        let requests = [
            c.create(t, json!({"trustee_user_id": c.carol})),
            c.request(
                Method::GET,
                &format!("/OS-TRUST/trusts?trustor_user_id={}", c.alice),
                t,
            ),
            c.request(Method::GET, &format!("/OS-TRUST/trusts/{id}"), t),
            c.request(Method::GET, &format!("/OS-TRUST/trusts/{id}/roles"), t),
            c.request(Method::DELETE, &format!("/OS-TRUST/trusts/{id}"), t),
        ];
        for request in requests {
            assert_eq!(keystone_error(request, 403).await, refused);
        }
        // nor is its token exchanged for another one, trust-scoped or not
        for scope in [Value::Null, json!({"OS-TRUST:trust": {"id": id}})] {
            let mut body =
                json!({"auth": {"identity": {"methods": ["token"], "token": {"id": t}}}});
            if !scope.is_null() {
                body["auth"]["scope"] = scope;
            }
            let message = keystone_error(issue_request(&c.fake, &body), 403).await;
            assert_eq!(
                message,
                "You are not authorized to perform the requested action: Using a delegated \
                 token to create another token is not allowed.."
            );
        }
    }
}

#[tokio::test]
async fn a_trust_scoped_token_redelegates_a_trust_that_allows_it() {
    let c = cloud().await;
    // bob holds the role himself, so the trust he makes passes the role check
    c.fake
        .grant_project_role(&c.bob, &c.project, "member")
        .unwrap();
    let plain = id_of(&c.trust(json!({})).await);
    let redelegatable = id_of(&c.trust(json!({"allow_redelegation": true})).await);
    let onward = json!({"trustor_user_id": c.bob, "trustee_user_id": c.carol});
    let (t, _) = bobs_trust_token(&c, &plain).await;
    let message = keystone_error(c.create(&t, onward.clone()), 403).await;
    assert_eq!(
        message,
        "You are not authorized to perform the requested action."
    );

    let (t, _) = bobs_trust_token(&c, &redelegatable).await;
    // what a redelegation may not do: each a 403
    let with = |change: Value| {
        let mut body = onward.clone();
        body.as_object_mut()
            .unwrap()
            .extend(change.as_object().unwrap().clone());
        body
    };
    for (what, change) in [
        (
            "a role the parent does not delegate",
            json!({"roles": [{"name": "reader"}]}),
        ),
        (
            "impersonation the parent does not have",
            json!({"impersonation": true}),
        ),
        ("limited uses", json!({"remaining_uses": 1})),
        (
            "another depth than the parent's, one less",
            json!({"allow_redelegation": true, "redelegation_count": 3}),
        ),
    ] {
        let r = c.create(&t, with(change)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{what}");
    }

    let r = c.create(&t, onward.clone()).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let child: Value = r.json::<Value>().await.unwrap()["trust"].clone();
    assert_eq!(child["redelegated_trust_id"], redelegatable.as_str());
    assert_eq!(child["redelegation_count"], 0, "not redelegatable itself");
    let r = c
        .create(&t, with(json!({"allow_redelegation": true})))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let deeper: Value = r.json::<Value>().await.unwrap()["trust"].clone();
    assert_eq!(
        deeper["redelegation_count"], 2,
        "one step of its parent's 3"
    );

    // carol works with the redelegated trust, with bob's delegated role
    let r = issue(&c.fake, &trust_scope("carol", "carolpw", &id_of(&child))).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let carols = r.headers()["x-subject-token"].to_str().unwrap().to_owned();
    let body: Value = r.json().await.unwrap();
    assert_eq!(names(&body["token"]["roles"]), ["member", "reader"]);
    assert_eq!(
        body["token"]["OS-TRUST:trust"]["trustor_user"]["id"],
        c.bob.as_str()
    );

    // a trustee up the chain disabled: the redelegated trust is a 403 to everyone, admins
    // included, as Keystone's get_trust answers (its list still shows it); the parent is not
    let set_bob = |enabled: bool| {
        c.request(Method::PATCH, &format!("/users/{}", c.bob), &c.admin)
            .json(&json!({"user": {"enabled": enabled}}))
            .send()
    };
    assert_eq!(set_bob(false).await.unwrap().status(), StatusCode::OK);
    let child_path = format!("/OS-TRUST/trusts/{}", id_of(&child));
    for (path, token) in [
        (child_path.clone(), &carols),
        (child_path.clone(), &c.admin),
        (format!("{child_path}/roles"), &c.admin),
    ] {
        assert_eq!(
            keystone_error(c.request(Method::GET, &path, token), 403).await,
            "You are not authorized to perform the requested action.",
            "{path}"
        );
    }
    let (status, listed) = c
        .call(
            Method::GET,
            &format!("/OS-TRUST/trusts?trustee_user_id={}", c.carol),
            &c.admin,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        listed["trusts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["id"] == child["id"]),
        "{listed}"
    );
    let (status, _) = c
        .call(
            Method::GET,
            &format!("/OS-TRUST/trusts/{redelegatable}"),
            &c.admin,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(set_bob(true).await.unwrap().status(), StatusCode::OK);
    let (status, _) = c.call(Method::GET, &child_path, &c.admin).await;
    assert_eq!(status, StatusCode::OK);

    // deleting the parent deletes what was redelegated from it
    let (status, _) = c
        .call(
            Method::DELETE,
            &format!("/OS-TRUST/trusts/{redelegatable}"),
            &c.alice_token,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    for id in [id_of(&child), id_of(&deeper)] {
        let (status, _) = c
            .call(Method::GET, &format!("/OS-TRUST/trusts/{id}"), &c.admin)
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    assert_eq!(validate(&c.fake, &c.admin, &carols, "").await.status(), 404);
}
