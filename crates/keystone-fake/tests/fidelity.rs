//! Keystone 30.0.0's behaviour where reviews found the fake answering otherwise: application
//! credentials (implied roles, errors, expiry, scope), default scoping, revocation of a user's
//! tokens, catalog URL templates, names without domains, immutable roles, the
//! `X-Subject-Token` and query flags, and links built from the request's `Host`.

use std::time::Duration;

mod common;

use common::*;
use keystone_fake::FakeKeystone;
use reqwest::{Client, RequestBuilder, StatusCode};
use serde_json::{Value, json};

/// A fake with a user `u` (password `pw`) holding `role` on project `p`; returns the fake, the
/// user id, the project id and a token of the user on the project.
async fn user_on_project(role: &str) -> (FakeKeystone, String, String, String) {
    let fake = FakeKeystone::start().await.unwrap();
    let project = fake.create_project("p").unwrap();
    let user = fake.create_user("u", "pw").unwrap();
    fake.grant_project_role(&user, &project, role).unwrap();
    let (t, _) = token(&fake, "u", "pw", json!({"project": {"id": project}})).await;
    (fake, user, project, t)
}

fn create_app_cred(fake: &FakeKeystone, user: &str, token: &str, body: Value) -> RequestBuilder {
    Client::new()
        .post(format!(
            "{}/users/{user}/application_credentials",
            fake.auth_url()
        ))
        .header("x-auth-token", token)
        .json(&json!({ "application_credential": body }))
}

#[tokio::test]
async fn an_application_credential_carries_the_roles_its_roles_imply() {
    let (fake, user, _, t) = user_on_project("admin").await;
    let r = create_app_cred(
        &fake,
        &user,
        &t,
        json!({"name": "c", "roles": [{"name": "member"}]}),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let body: Value = r.json().await.unwrap();
    let cred = &body["application_credential"];
    assert_eq!(names(&cred["roles"]), ["member", "reader"]);
    let r = issue(
        &fake,
        &json!({"auth": {"identity": {"methods": ["application_credential"],
            "application_credential": {"id": cred["id"], "secret": cred["secret"]}}}}),
    )
    .await;
    let token: Value = r.json().await.unwrap();
    assert_eq!(names(&token["token"]["roles"]), ["member", "reader"]);
}

#[tokio::test]
async fn a_default_project_without_a_role_gives_an_unscoped_token() {
    let fake = FakeKeystone::start().await.unwrap();
    let admin = admin_token(&fake).await;
    let roleless = fake.create_project("roleless").unwrap();
    let disabled = fake.create_project("disabled").unwrap();
    for (name, project) in [("norole", &roleless), ("offproject", &disabled)] {
        let r = Client::new()
            .post(format!("{}/users", fake.auth_url()))
            .header("x-auth-token", &admin)
            .json(&json!({"user": {"name": name, "password": "pw",
                "default_project_id": project}}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let off = fake
        .with_store(|s| {
            s.find_user(
                None,
                Some("offproject"),
                Some(&keystone_types::auth::DomainRef {
                    id: Some("default".into()),
                    name: None,
                }),
            )
            .map(|u| u.id.clone())
        })
        .unwrap();
    fake.grant_project_role(&off, &disabled, "member").unwrap();
    let r = Client::new()
        .patch(format!("{}/projects/{disabled}", fake.auth_url()))
        .header("x-auth-token", &admin)
        .json(&json!({"project": {"enabled": false}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    for name in ["norole", "offproject"] {
        let (_, body) = token(&fake, name, "pw", Value::Null).await;
        assert!(body["token"].get("project").is_none(), "{name}: {body}");
        assert!(body["token"].get("roles").is_none(), "{name}");
    }
}

#[tokio::test]
async fn a_new_password_or_disabling_revokes_the_users_tokens() {
    let (fake, user, project, before_password) = user_on_project("member").await;
    let admin = admin_token(&fake).await;
    fake.set_user_password(&user, "pw2").unwrap();
    assert_eq!(
        validate(&fake, &admin, &before_password, "").await.status(),
        StatusCode::NOT_FOUND
    );
    let scope = json!({"project": {"id": project}});
    let (after_password, _) = token(&fake, "u", "pw2", scope.clone()).await;
    assert_eq!(
        validate(&fake, &admin, &after_password, "").await.status(),
        StatusCode::OK
    );
    // through the API too, and enabling again brings nothing back
    for enabled in [false, true] {
        let r = Client::new()
            .patch(format!("{}/users/{user}", fake.auth_url()))
            .header("x-auth-token", &admin)
            .json(&json!({"user": {"enabled": enabled}}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
    assert_eq!(
        validate(&fake, &admin, &after_password, "").await.status(),
        StatusCode::NOT_FOUND
    );
    let (fresh, _) = token(&fake, "u", "pw2", scope).await;
    assert_eq!(
        validate(&fake, &admin, &fresh, "").await.status(),
        StatusCode::OK
    );
    // a change of anything else revokes nothing
    let r = Client::new()
        .patch(format!("{}/users/{user}", fake.auth_url()))
        .header("x-auth-token", &admin)
        .json(&json!({"user": {"email": "u@example.com"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        validate(&fake, &admin, &fresh, "").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn catalog_url_templates_are_filled_in_for_the_project() {
    let (fake, user, project, t) = user_on_project("admin").await;
    let compute = fake.create_service("compute", "nova").unwrap();
    fake.create_endpoint(&compute, "public", "http://nova/v2.1/$(project_id)s", None)
        .unwrap();
    fake.create_endpoint(&compute, "internal", "http://nova/%(tenant_id)s/x", None)
        .unwrap();
    fake.create_endpoint(&compute, "admin", "http://nova/u/$(user_id)s", None)
        .unwrap();
    let urls = |catalog: &Value| -> Vec<String> {
        let mut urls: Vec<String> = catalog
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["type"] == "compute")
            .unwrap()["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["url"].as_str().unwrap().to_owned())
            .collect();
        urls.sort();
        urls
    };
    let body: Value = validate(&fake, &t, &t, "").await.json().await.unwrap();
    let mut want = vec![
        format!("http://nova/v2.1/{project}"),
        format!("http://nova/{project}/x"),
        format!("http://nova/u/{user}"),
    ];
    want.sort();
    assert_eq!(urls(&body["token"]["catalog"]), want);
    let catalog: Value = Client::new()
        .get(format!("{}/auth/catalog", fake.auth_url()))
        .header("x-auth-token", &t)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(urls(&catalog["catalog"]), want);
    // a domain-scoped token has no project id to put there: those endpoints are left out
    fake.grant_domain_role(&user, "default", "reader").unwrap();
    let (_, body) = token(&fake, "u", "pw", json!({"domain": {"id": "default"}})).await;
    assert_eq!(
        urls(&body["token"]["catalog"]),
        [format!("http://nova/u/{user}")]
    );
}

#[tokio::test]
async fn a_name_without_a_domain_is_a_400() {
    let fake = FakeKeystone::start().await.unwrap();
    let no_user_domain = json!({"auth": {"identity": {"methods": ["password"],
        "password": {"user": {"name": "admin", "password": "adminpw"}}}}});
    let no_project_domain =
        password_body("admin", "adminpw", json!({"project": {"name": "admin"}}));
    for (body, target) in [(no_user_domain, "user"), (no_project_domain, "project")] {
        let request = issue_request(&fake, &body);
        let message = keystone_error(request, 400).await;
        assert!(
            message.starts_with(&format!("Expecting to find domain in {target}.")),
            "{message}"
        );
    }
}

#[tokio::test]
async fn application_credential_creation_errors_and_echoes_are_keystones() {
    let (fake, user, _, t) = user_on_project("member").await;
    fake.create_role("other").unwrap();
    // a role the token does not hold; a role that does not exist; a past or unreadable expiry
    let unassigned = "Invalid application credential: Cannot create an application credential \
                      with unassigned role";
    let cases = [
        (
            json!({"name": "a", "roles": [{"name": "admin"}]}),
            400,
            unassigned,
        ),
        (
            json!({"name": "b", "roles": [{"name": "other"}]}),
            400,
            unassigned,
        ),
        (
            json!({"name": "c", "roles": [{"name": "nosuchrole"}]}),
            404,
            "Could not find role: nosuchrole.",
        ),
        (
            json!({"name": "d", "expires_at": "2000-01-01T00:00:00Z"}),
            400,
            "The 'expires_at' must not be before now.",
        ),
        (
            json!({"name": "e", "expires_at": "soon"}),
            400,
            "Timestamp not in expected format.",
        ),
    ];
    for (body, status, start) in cases {
        let message = keystone_error(create_app_cred(&fake, &user, &t, body.clone()), status).await;
        assert!(message.starts_with(start), "{body}: {message}");
    }
    // `unrestricted: false` is echoed; the expiry is written as oslo.serialization writes it
    let r = create_app_cred(
        &fake,
        &user,
        &t,
        json!({"name": "f", "unrestricted": false, "expires_at": "2999-01-02T03:04:05"}),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let body: Value = r.json().await.unwrap();
    let cred = &body["application_credential"];
    assert_eq!(cred["unrestricted"], false);
    assert_eq!(cred["expires_at"], "2999-01-02T03:04:05.000000");
}

#[tokio::test]
async fn a_token_lives_no_longer_than_its_application_credential() {
    let (fake, user, _, t) = user_on_project("member").await;
    let expiry = fake.clock().now() + chrono::Duration::minutes(10);
    let given = expiry.format("%Y-%m-%dT%H:%M:%S").to_string();
    let r = create_app_cred(
        &fake,
        &user,
        &t,
        json!({"name": "f", "expires_at": format!("{given}Z")}),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let body: Value = r.json().await.unwrap();
    let cred = &body["application_credential"];
    let by_id = json!({"auth": {"identity": {"methods": ["application_credential"],
        "application_credential": {"id": cred["id"], "secret": cred["secret"]}}}});
    let r = issue(&fake, &by_id).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let token: Value = r.json().await.unwrap();
    assert_eq!(
        token["token"]["expires_at"],
        format!("{given}.000000Z"),
        "a one-hour token from a credential expiring in ten minutes"
    );
    // past its expiry, it authenticates no more
    fake.clock().advance(Duration::from_secs(11 * 60));
    assert_eq!(
        issue(&fake, &by_id).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn an_application_credential_chooses_no_scope_and_an_unknown_name_is_a_401() {
    let (fake, user, project, t) = user_on_project("member").await;
    let r = create_app_cred(&fake, &user, &t, json!({"name": "c"}))
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    let cred = &body["application_credential"];
    let by_id = json!({"auth": {"identity": {"methods": ["application_credential"],
        "application_credential": {"id": cred["id"], "secret": cred["secret"]}}}});
    assert_eq!(issue(&fake, &by_id).await.status(), StatusCode::CREATED);
    // not even its own project
    for scope in [json!({"project": {"id": project}}), json!("unscoped")] {
        let mut scoped = by_id.clone();
        scoped["auth"]["scope"] = scope;
        let message = keystone_error(issue_request(&fake, &scoped), 401).await;
        assert_eq!(
            message,
            "Error authenticating with application credential: Application credentials \
             cannot request a scope."
        );
    }
    // an unknown name is a 401 (an unknown id is a 404)
    let unknown_name = json!({"auth": {"identity": {"methods": ["application_credential"],
        "application_credential": {"name": "nope", "secret": "x", "user": {"id": user}}}}});
    let message = keystone_error(issue_request(&fake, &unknown_name), 401).await;
    assert_eq!(
        message,
        "The request you have made requires authentication."
    );
}

#[tokio::test]
async fn bootstrap_roles_cannot_be_changed_or_deleted() {
    let fake = FakeKeystone::start().await.unwrap();
    let admin = admin_token(&fake).await;
    let reader = fake
        .with_store(|s| s.role_by_name("reader").map(|r| r.id.clone()))
        .unwrap();
    let url = format!("{}/roles/{reader}", fake.auth_url());
    let client = Client::new();
    let patch = client
        .patch(&url)
        .header("x-auth-token", &admin)
        .json(&json!({"role": {"name": "viewer"}}));
    assert_eq!(
        keystone_error(patch, 403).await,
        format!(
            "Unable to update immutable role resource: `{reader}. Set resource option \
             \"immutable\" to false first."
        )
    );
    let delete = client.delete(&url).header("x-auth-token", &admin);
    assert!(
        keystone_error(delete, 403)
            .await
            .starts_with("Unable to delete immutable role resource")
    );
}

#[tokio::test]
async fn subject_token_catalog_scope_and_query_flags_as_keystone_reads_them() {
    let fake = FakeKeystone::builder()
        .token_ttl(Duration::from_secs(60))
        .start()
        .await
        .unwrap();
    let admin = admin_token(&fake).await;
    let client = Client::new();
    let no_subject = client
        .get(format!("{}/auth/tokens", fake.auth_url()))
        .header("x-auth-token", &admin);
    assert_eq!(
        keystone_error(no_subject, 404).await,
        "No token in the request"
    );
    // only a project-scoped token has a catalog to list
    for scope in [
        json!({"domain": {"id": "default"}}),
        json!({"system": {"all": true}}),
    ] {
        fake.grant_domain_role(&fake.admin().user_id, "default", "admin")
            .unwrap();
        let (t, _) = token(&fake, "admin", "adminpw", scope).await;
        let request = client
            .get(format!("{}/auth/catalog", fake.auth_url()))
            .header("x-auth-token", &t);
        assert_eq!(
            keystone_error(request, 403).await,
            "You are not authorized to perform the requested action."
        );
    }
    // `nocatalog` present is true whatever its value
    let body: Value = validate(&fake, &admin, &admin, "?nocatalog=0")
        .await
        .json()
        .await
        .unwrap();
    assert!(body["token"].get("catalog").is_none());
    // `include_names` and `effective` are false only as `0`
    let user = fake.admin().user_id.clone();
    let assignments =
        |q: &'static str| role_assignments(&fake, &admin, format!("user.id={user}&{q}"));
    let named = assignments("include_names=false").await;
    assert!(named.iter().all(|a| a["role"]["name"].is_string()));
    let unnamed = assignments("include_names=0").await;
    assert!(unnamed.iter().all(|a| a["role"].get("name").is_none()));
    assert!(assignments("effective=no").await.len() > assignments("effective=0").await.len());
    // a bare `allow_expired` is false, `allow_expired=true` is true
    let (subject, _) = token(&fake, "admin", "adminpw", json!("unscoped")).await;
    fake.clock().advance(Duration::from_secs(61));
    let admin = admin_token(&fake).await;
    assert_eq!(
        validate(&fake, &admin, &subject, "?allow_expired")
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        validate(&fake, &admin, &subject, "?allow_expired=true")
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn links_are_built_on_the_host_the_client_asked() {
    let fake = FakeKeystone::start().await.unwrap();
    let admin = admin_token(&fake).await;
    let client = Client::new();
    let host = "keystone.example:5000";
    let r = client
        .get(format!("{}/", fake.url()))
        .header("host", host)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["location"], "http://keystone.example:5000/v3/");
    let body: Value = client
        .get(format!("{}/users", fake.auth_url()))
        .header("host", host)
        .header("x-auth-token", &admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        body["links"]["self"],
        "http://keystone.example:5000/v3/users"
    );
    let user = &body["users"][0];
    assert_eq!(
        user["links"]["self"],
        format!(
            "http://keystone.example:5000/v3/users/{}",
            user["id"].as_str().unwrap()
        )
    );
    let r = client
        .get(format!("{}/users", fake.auth_url()))
        .header("host", host)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["www-authenticate"],
        "Keystone uri=\"http://keystone.example:5000/v3\""
    );
    // without a usable Host, the bound address
    let r = client
        .get(format!("{}/", fake.url()))
        .header("host", "bad host\"")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["location"].to_str().unwrap(),
        format!("{}/v3/", fake.url())
    );
}
