//! Stored credentials (`/v3/credentials`), OS-EC2 and policies (`/v3/policies`) as Keystone
//! 30.0.0 serves them: who sees and changes which credential, the delegation guard, `ec2`
//! blobs and ids, OS-EC2's view of them, the cascade when a user or project goes, and policy
//! blobs. (The parity steps compare the same routes with a real Keystone.)

mod common;

use common::*;
use keystone_fake::FakeKeystone;
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

struct Cloud {
    fake: FakeKeystone,
    admin: String,
    alice: String,
    alice_token: String,
    bob: String,
    bob_token: String,
    project: String,
}

async fn cloud() -> Cloud {
    let fake = FakeKeystone::start().await.unwrap();
    let project = fake.create_project("p").unwrap();
    let alice = fake.create_user("alice", "alicepw").unwrap();
    let bob = fake.create_user("bob", "bobpw").unwrap();
    for user in [&alice, &bob] {
        fake.grant_project_role(user, &project, "member").unwrap();
    }
    let admin = admin_token(&fake).await;
    let scope = json!({"project": {"id": project}});
    let alice_token = token(&fake, "alice", "alicepw", scope.clone()).await.0;
    let bob_token = token(&fake, "bob", "bobpw", scope).await.0;
    Cloud {
        fake,
        admin,
        alice,
        alice_token,
        bob,
        bob_token,
        project,
    }
}

impl Cloud {
    fn call(&self, token: &str, method: Method, path: &str) -> reqwest::RequestBuilder {
        Client::new()
            .request(method, format!("{}{path}", self.fake.url()))
            .header("x-auth-token", token)
    }

    async fn json(&self, request: reqwest::RequestBuilder, status: StatusCode) -> Value {
        let r = request.send().await.unwrap();
        assert_eq!(r.status(), status, "{}", r.url());
        r.json().await.unwrap_or(Value::Null)
    }

    async fn create(&self, token: &str, credential: Value) -> Value {
        self.json(
            self.call(token, Method::POST, "/v3/credentials")
                .json(&json!({ "credential": credential })),
            StatusCode::CREATED,
        )
        .await["credential"]
            .clone()
    }

    async fn listed(&self, token: &str, query: &str) -> Vec<String> {
        let body = self
            .json(
                self.call(token, Method::GET, &format!("/v3/credentials{query}")),
                StatusCode::OK,
            )
            .await;
        let mut ids: Vec<String> = body["credentials"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        ids
    }
}

#[tokio::test]
async fn owners_see_and_change_their_own_credentials_only() {
    let c = cloud().await;
    // a user creates their own; extras are kept, their names normalized
    let mine = c
        .create(
            &c.alice_token,
            json!({"user_id": c.alice, "type": "cert", "blob": "hello", "foo-bar": 1}),
        )
        .await;
    assert_eq!(mine["blob"], "hello");
    assert_eq!(mine["foo_bar"], 1);
    assert_eq!(mine["project_id"], Value::Null);
    let id = mine["id"].as_str().unwrap().to_owned();
    assert_eq!(
        mine["links"]["self"],
        format!("{}/v3/credentials/{id}", c.fake.url())
    );
    assert_eq!(
        keystone_error(
            c.call(&c.alice_token, Method::POST, "/v3/credentials")
                .json(&json!({"credential": {"user_id": c.bob, "type": "cert", "blob": "x"}})),
            403
        )
        .await,
        "You are not authorized to perform the requested action: identity:create_credential."
    );
    let bobs = c
        .create(
            &c.admin,
            json!({"user_id": c.bob, "type": "cert", "blob": "b"}),
        )
        .await;
    let bobs = bobs["id"].as_str().unwrap().to_owned();
    // lists: an admin sees both, a user their own only, even when asking for another's
    let mut both = vec![id.clone(), bobs.clone()];
    both.sort();
    assert_eq!(c.listed(&c.admin, "").await, both);
    assert_eq!(c.listed(&c.alice_token, "").await, vec![id.clone()]);
    assert!(
        c.listed(&c.alice_token, &format!("?user_id={}", c.bob))
            .await
            .is_empty()
    );
    assert_eq!(
        c.listed(&c.admin, "?type=cert&user_id=nobody").await.len(),
        0
    );
    for (method, rule) in [
        (Method::GET, "get_credential"),
        (Method::DELETE, "delete_credential"),
    ] {
        assert_eq!(
            keystone_error(
                c.call(&c.alice_token, method, &format!("/v3/credentials/{bobs}")),
                403
            )
            .await,
            format!("You are not authorized to perform the requested action: identity:{rule}.")
        );
    }
    // a missing credential: a 403 to a user (nothing to own), a 404 to an admin
    keystone_error(
        c.call(&c.alice_token, Method::GET, "/v3/credentials/nosuch"),
        403,
    )
    .await;
    assert_eq!(
        keystone_error(c.call(&c.admin, Method::GET, "/v3/credentials/nosuch"), 404).await,
        "Could not find credential: nosuch."
    );
    // only the blob changes
    let changed = c
        .json(
            c.call(
                &c.alice_token,
                Method::PATCH,
                &format!("/v3/credentials/{id}"),
            )
            .json(&json!({"credential": {"blob": "bye"}})),
            StatusCode::OK,
        )
        .await;
    assert_eq!(changed["credential"]["blob"], "bye");
    keystone_error(
        c.call(
            &c.alice_token,
            Method::PATCH,
            &format!("/v3/credentials/{id}"),
        )
        .json(&json!({"credential": {"blob": "x", "user_id": c.bob}})),
        400,
    )
    .await;
    let r = c
        .call(
            &c.alice_token,
            Method::DELETE,
            &format!("/v3/credentials/{id}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(c.listed(&c.admin, "").await, vec![bobs]);
}

#[tokio::test]
async fn delegated_tokens_cannot_touch_credentials() {
    let c = cloud().await;
    let mine = c
        .create(
            &c.alice_token,
            json!({"user_id": c.alice, "type": "cert", "blob": "hello"}),
        )
        .await;
    c.fake
        .create_application_credential(&c.alice, &c.project, "ac", "acsecret", &[])
        .unwrap();
    let body = json!({"auth": {"identity": {"methods": ["application_credential"],
        "application_credential": {"name": "ac", "secret": "acsecret",
            "user": {"id": c.alice}}}}});
    let r = issue(&c.fake, &body).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let delegated = r.headers()["x-subject-token"].to_str().unwrap().to_owned();
    let guard = "You are not authorized to perform the requested action: Delegated tokens \
                 cannot access credentials directly.";
    assert_eq!(
        keystone_error(
            c.call(
                &delegated,
                Method::GET,
                &format!("/v3/credentials/{}", mine["id"].as_str().unwrap())
            ),
            403
        )
        .await,
        guard
    );
    assert_eq!(
        keystone_error(
            c.call(&delegated, Method::POST, "/v3/credentials")
                .json(&json!({"credential": {"user_id": c.alice, "type": "cert", "blob": "x"}})),
            403
        )
        .await,
        guard
    );
    assert!(c.listed(&delegated, "").await.is_empty());
    assert_eq!(
        keystone_error(
            c.call(
                &delegated,
                Method::GET,
                &format!("/v3/users/{}/credentials/OS-EC2", c.alice)
            ),
            403
        )
        .await,
        guard
    );
}

#[tokio::test]
async fn ec2_credentials_both_ways() {
    let c = cloud().await;
    let ec2 = format!("/v3/users/{}/credentials/OS-EC2", c.alice);
    // made through OS-EC2: fresh keys, the id of its credential is the access key's SHA-256
    let made = c
        .json(
            c.call(&c.alice_token, Method::POST, &ec2)
                .json(&json!({"tenant_id": c.project})),
            StatusCode::CREATED,
        )
        .await["credential"]
        .clone();
    let access = made["access"].as_str().unwrap().to_owned();
    assert_eq!(made["tenant_id"], c.project.as_str());
    assert_eq!(made["trust_id"], Value::Null);
    assert_eq!(made["secret"].as_str().unwrap().len(), 32);
    assert_eq!(
        made["links"]["self"],
        format!("{}{ec2}/{access}", c.fake.url())
    );
    let stored = c
        .json(
            c.call(&c.admin, Method::GET, "/v3/credentials?type=ec2"),
            StatusCode::OK,
        )
        .await;
    let stored = &stored["credentials"][0];
    assert_eq!(
        stored["blob"],
        format!(
            r#"{{"access": "{access}", "secret": "{}", "trust_id": null}}"#,
            made["secret"].as_str().unwrap()
        )
    );
    let id = stored["id"].as_str().unwrap().to_owned();
    // made through /v3/credentials: seen by OS-EC2 under its access key
    c.create(
        &c.alice_token,
        json!({"user_id": c.alice, "project_id": c.project, "type": "ec2",
               "blob": r#"{"access": "AK1", "secret": "SK1"}"#}),
    )
    .await;
    let got = c
        .json(
            c.call(&c.alice_token, Method::GET, &format!("{ec2}/AK1")),
            StatusCode::OK,
        )
        .await;
    assert_eq!(got["credential"]["secret"], "SK1");
    let listed = c
        .json(c.call(&c.alice_token, Method::GET, &ec2), StatusCode::OK)
        .await;
    assert_eq!(listed["credentials"].as_array().unwrap().len(), 2);
    // the same access key twice is a conflict naming the id
    let message = keystone_error(
        c.call(&c.alice_token, Method::POST, "/v3/credentials")
            .json(
                &json!({"credential": {"user_id": c.alice, "project_id": c.project,
                "type": "ec2", "blob": r#"{"access": "AK1"}"#}}),
            ),
        409,
    )
    .await;
    assert!(message.ends_with(
        "Duplicate entry found with ID \
         5e2e84497339a607cff12f20eab85a14f7bad4da010e4fedc95381144fa3933d."
    ));
    // another user's keys, an unknown key (named by its hash), an unknown project
    assert_eq!(
        keystone_error(
            c.call(&c.bob_token, Method::GET, &format!("{ec2}/{access}")),
            403
        )
        .await,
        "You are not authorized to perform the requested action: identity:ec2_get_credential."
    );
    assert_eq!(
        keystone_error(
            c.call(&c.bob_token, Method::POST, &ec2)
                .json(&json!({"tenant_id": c.project})),
            403
        )
        .await,
        "You are not authorized to perform the requested action: identity:ec2_create_credential."
    );
    assert_eq!(
        keystone_error(c.call(&c.admin, Method::GET, &format!("{ec2}/nosuch")), 404).await,
        format!("Could not find credential: {}.", sha256("nosuch"))
    );
    assert_eq!(
        keystone_error(c.call(&c.admin, Method::POST, &ec2).json(&json!({})), 404).await,
        "Could not find project: None."
    );
    // deleting through OS-EC2 deletes the credential
    let r = c
        .call(&c.alice_token, Method::DELETE, &format!("{ec2}/{access}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    keystone_error(
        c.call(&c.admin, Method::GET, &format!("/v3/credentials/{id}")),
        404,
    )
    .await;
}

fn sha256(text: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn a_users_or_projects_credentials_go_with_it() {
    let c = cloud().await;
    let other = c.fake.create_project("other").unwrap();
    for (user, project) in [(&c.alice, None), (&c.bob, Some(&other)), (&c.bob, None)] {
        c.create(
            &c.admin,
            json!({"user_id": user, "project_id": project, "type": "cert", "blob": "b"}),
        )
        .await;
    }
    assert_eq!(c.listed(&c.admin, "").await.len(), 3);
    for path in [
        format!("/v3/users/{}", c.alice),
        format!("/v3/projects/{other}"),
    ] {
        let r = c
            .call(&c.admin, Method::DELETE, &path)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT, "{path}");
    }
    let left = c
        .json(
            c.call(&c.admin, Method::GET, "/v3/credentials"),
            StatusCode::OK,
        )
        .await;
    let left = left["credentials"].as_array().unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["user_id"], c.bob.as_str());
    assert_eq!(left[0]["project_id"], Value::Null);
}

#[tokio::test]
async fn policies_are_stored_blobs() {
    let c = cloud().await;
    let made = c
        .json(
            c.call(&c.admin, Method::POST, "/v3/policies").json(
                &json!({"policy": {"id": "ignored", "blob": "{\"a\": \"b\"}",
                        "type": "application/json", "foo-bar": 1}}),
            ),
            StatusCode::CREATED,
        )
        .await["policy"]
        .clone();
    let id = made["id"].as_str().unwrap().to_owned();
    assert_ne!(id, "ignored");
    assert_eq!(made["foo_bar"], 1);
    assert_eq!(made["blob"], "{\"a\": \"b\"}");
    let path = format!("/v3/policies/{id}");
    let changed = c
        .json(
            c.call(&c.admin, Method::PATCH, &path)
                .json(&json!({"policy": {"type": "text/plain"}})),
            StatusCode::OK,
        )
        .await;
    assert_eq!(changed["policy"]["type"], "text/plain");
    assert_eq!(changed["policy"]["blob"], "{\"a\": \"b\"}");
    for (query, count) in [
        ("", 1),
        ("?type=text/plain", 1),
        ("?type=application/json", 0),
    ] {
        let listed = c
            .json(
                c.call(&c.admin, Method::GET, &format!("/v3/policies{query}")),
                StatusCode::OK,
            )
            .await;
        assert_eq!(
            listed["policies"].as_array().unwrap().len(),
            count,
            "{query}"
        );
    }
    assert_eq!(
        keystone_error(
            c.call(&c.admin, Method::PATCH, &path)
                .json(&json!({"policy": {"id": "other"}})),
            400
        )
        .await,
        "Cannot change policy ID"
    );
    for body in [
        json!({}),
        json!({"policy": {"blob": "x"}}),
        json!({"policy": {"blob": 1, "type": "t"}}),
    ] {
        keystone_error(
            c.call(&c.admin, Method::POST, "/v3/policies").json(&body),
            400,
        )
        .await;
    }
    // members are refused before their body is looked at
    assert_eq!(
        keystone_error(
            c.call(&c.alice_token, Method::POST, "/v3/policies")
                .json(&json!({})),
            403
        )
        .await,
        "You are not authorized to perform the requested action: identity:create_policy."
    );
    let r = c
        .call(&c.admin, Method::DELETE, &path)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        keystone_error(c.call(&c.admin, Method::GET, &path), 404).await,
        format!("Could not find policy: {id}.")
    );
}

/// `POST /v3/ec2tokens`: a signed AWS request (here version 2, signed with the credential's
/// secret by python-keystoneclient's algorithm) gives a project token with the
/// `ec2credential` method, which validates but authorizes nothing.
#[tokio::test]
async fn ec2tokens_turns_a_signed_request_into_a_token() {
    let c = cloud().await;
    let secret = "9f2c1e7b4a5d4c3e8b1a2f3e4d5c6b7a";
    c.create(
        &c.admin,
        json!({"user_id": c.alice, "project_id": c.project, "type": "ec2",
               "blob": json!({"access": "AKec2tok5e1", "secret": secret}).to_string()}),
    )
    .await;
    let request = |signature: &str, host: &str, extra: Value| {
        let mut params = json!({"Action": "DescribeInstances", "AWSAccessKeyId": "AKec2tok5e1",
            "SignatureVersion": "2", "SignatureMethod": "HmacSHA256"});
        params
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        json!({"credentials": {"access": "AKec2tok5e1", "host": host, "verb": "GET",
            "path": "/", "params": params, "signature": signature}})
    };
    let post = |token: &str, body: Value| c.call(token, Method::POST, "/v3/ec2tokens").json(&body);
    let signed = "9KFr3SvLk/EKIBCKilf9HneHPj+Dc2c9pSgPKQWbHxw=";
    let r = post(&c.admin, request(signed, "localhost:8773", json!({})))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let token = r.headers()["x-subject-token"].to_str().unwrap().to_owned();
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["token"]["methods"], json!(["ec2credential"]));
    assert_eq!(body["token"]["project"]["id"], c.project.as_str());
    assert_eq!(body["token"]["user"]["id"], c.alice.as_str());
    // signed without the port, sent with it: Keystone tries again without
    let r = post(
        &c.admin,
        request(
            "IyPMqyIDBHV7m733SNcfAqfo7pltS9sP+1g8UlFuLoE=",
            "localhost:8773",
            json!({}),
        ),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // the token validates, authorizes nothing
    let validated = validate(&c.fake, &c.admin, &token, "").await;
    assert_eq!(validated.status(), StatusCode::OK);
    assert_eq!(
        keystone_error(c.call(&token, Method::GET, "/v3/credentials"), 403).await,
        "You are not authorized to perform the requested action."
    );
    // refusals: a wrong signature, too old a time, an unknown key, no body, a member asking
    let denied = "The request you have made requires authentication.";
    for body in [
        request("bm90IGl0", "localhost:8773", json!({})),
        request(
            "6j5pP4dORpvnKhT50C1n587YkXKKb15kZ102Wl3CFTg=",
            "localhost:8773",
            json!({"Timestamp": "2020-01-01T00:00:00Z"}),
        ),
    ] {
        assert_eq!(keystone_error(post(&c.admin, body), 401).await, denied);
    }
    let mut unknown = request(signed, "localhost:8773", json!({}));
    unknown["credentials"]["access"] = json!("nosuch");
    assert_eq!(
        keystone_error(post(&c.admin, unknown), 404).await,
        "EC2 access key not found."
    );
    assert_eq!(
        keystone_error(post(&c.admin, json!({})), 400).await,
        "request must include a request body"
    );
    assert_eq!(
        keystone_error(
            post(&c.alice_token, request(signed, "localhost:8773", json!({}))),
            403
        )
        .await,
        "You are not authorized to perform the requested action: identity:ec2tokens_validate."
    );
}
