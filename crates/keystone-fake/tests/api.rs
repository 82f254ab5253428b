//! The fake's behaviour beyond the recorded exchanges: scopes and implied roles, expiry with the
//! test clock, revocation, errors, test controls, seeding and the binary.

use std::time::Duration;

mod common;

use common::*;
use keystone_fake::{FakeKeystone, Fault, Seed};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

#[tokio::test]
async fn tokens_list_implied_roles_in_every_scope() {
    let fake = FakeKeystone::start().await.unwrap();
    let project = fake.create_project("p").unwrap();
    let user = fake.create_user("u", "pw").unwrap();
    fake.grant_project_role(&user, &project, "manager").unwrap();
    fake.grant_domain_role(&user, "default", "reader").unwrap();
    fake.grant_system_role(&user, "member").unwrap();

    let (_, body) = token(&fake, "u", "pw", json!({"project": {"id": project}})).await;
    assert_eq!(
        names(&body["token"]["roles"]),
        ["manager", "member", "reader"]
    );
    assert_eq!(body["token"]["project"]["id"], project);
    assert_eq!(body["token"]["is_domain"], false);

    let (_, body) = token(&fake, "u", "pw", json!({"domain": {"name": "Default"}})).await;
    assert_eq!(names(&body["token"]["roles"]), ["reader"]);
    assert_eq!(
        body["token"]["domain"],
        json!({"id": "default", "name": "Default"})
    );

    let (_, body) = token(&fake, "u", "pw", json!({"system": {"all": true}})).await;
    assert_eq!(names(&body["token"]["roles"]), ["member", "reader"]);
    assert_eq!(body["token"]["system"], json!({"all": true}));

    let (_, body) = token(&fake, "u", "pw", json!("unscoped")).await;
    assert!(body["token"].get("roles").is_none());
    assert!(body["token"].get("catalog").is_none());
}

#[tokio::test]
async fn default_project_is_used_without_a_scope() {
    let fake = FakeKeystone::builder()
        .seed(Seed::from_yaml(include_str!("../../../fixtures/seed-cloud.yaml")).unwrap())
        .start()
        .await
        .unwrap();
    let (_, body) = token(&fake, "alice", "alicepw", Value::Null).await;
    assert_eq!(body["token"]["project"]["name"], "demo");
    let (_, body) = token(&fake, "alice", "alicepw", json!("unscoped")).await;
    assert!(body["token"].get("project").is_none());
}

#[tokio::test]
async fn authentication_failures_are_401_with_www_authenticate() {
    let fake = FakeKeystone::start().await.unwrap();
    let cases = [
        password_body("admin", "wrong", Value::Null),
        password_body("nobody", "x", Value::Null),
        password_body(
            "admin",
            "adminpw",
            json!({"project": {"name": "nope", "domain": {"id": "default"}}}),
        ),
        password_body("admin", "adminpw", json!({"domain": {"id": "default"}})),
        json!({"auth": {"identity": {"methods": ["token"], "token": {"id": "bogus"}}}}),
    ];
    for body in cases {
        let r = issue(&fake, &body).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{body}");
        let www = r.headers()["www-authenticate"].to_str().unwrap().to_owned();
        assert_eq!(www, format!("Keystone uri=\"{}\"", fake.auth_url()));
        let err: Value = r.json().await.unwrap();
        assert_eq!(err["error"]["code"], 401);
    }
}

#[tokio::test]
async fn an_unknown_application_credential_is_404_as_in_keystone() {
    let fake = FakeKeystone::start().await.unwrap();
    let r = issue(
        &fake,
        &json!({"auth": {"identity": {"methods": ["application_credential"],
            "application_credential": {"id": "nope", "secret": "x"}}}}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let err: Value = r.json().await.unwrap();
    assert_eq!(
        err["error"]["message"],
        "Could not find Application Credential: nope."
    );
}

#[tokio::test]
async fn bad_requests_get_keystone_errors() {
    let fake = FakeKeystone::start().await.unwrap();
    let admin = admin_token(&fake).await;
    let client = Client::new();
    let url = |p: &str| format!("{}{p}", fake.url());
    let cases: Vec<(reqwest::RequestBuilder, u16)> = vec![
        (client.post(url("/v3/auth/tokens")).body("{\"auth\": "), 400),
        (client.post(url("/v3/auth/tokens")).body("{\"auth\": {}}"), 400),
        (client.post(url("/v3/auth/tokens")).body("[]"), 400),
        (client.post(url("/v3/services")).header("x-auth-token", &admin).body("{\"service\": {\"name\": \"x\"}}"), 400),
        (client.post(url("/v3/users")).header("x-auth-token", &admin).body("{\"user\": {\"name\": \"admin\"}}"), 409),
        (client.get(url("/v3/users/nope")).header("x-auth-token", &admin), 404),
        (client.get(url("/v3/services")), 401),
        (client.get(url("/v3/services")).header("x-auth-token", "garbage"), 401),
        (client.get(url("/v3/no/such/path")), 404),
        (client.put(url("/v3/auth/catalog")).header("x-auth-token", &admin), 405),
        (client.post(url("/v3/endpoints")).header("x-auth-token", &admin)
            .body("{\"endpoint\": {\"interface\": \"sideways\", \"service_id\": \"x\", \"url\": \"u\"}}"), 400),
    ];
    for (request, status) in cases {
        let r = request.send().await.unwrap();
        let what = format!("{} {}", r.url(), r.status());
        assert_eq!(r.status().as_u16(), status, "{what}");
        assert_eq!(r.headers()["content-type"], "application/json", "{what}");
        let err: Value = r.json().await.unwrap();
        assert_eq!(err["error"]["code"], status, "{what}");
        assert!(
            err["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{what}"
        );
        assert!(err["error"]["title"].is_string(), "{what}");
    }
}

#[tokio::test]
async fn expiry_follows_the_test_clock_and_allow_expired() {
    let fake = FakeKeystone::builder()
        .token_ttl(Duration::from_secs(60))
        .start()
        .await
        .unwrap();
    let admin = admin_token(&fake).await;
    let project = fake.create_project("p").unwrap();
    let user = fake.create_user("u", "pw").unwrap();
    fake.grant_project_role(&user, &project, "member").unwrap();
    let (subject, body) = token(&fake, "u", "pw", json!({"project": {"id": project}})).await;
    let issued =
        chrono::DateTime::parse_from_rfc3339(body["token"]["issued_at"].as_str().unwrap()).unwrap();
    let expires =
        chrono::DateTime::parse_from_rfc3339(body["token"]["expires_at"].as_str().unwrap())
            .unwrap();
    assert_eq!((expires - issued).num_seconds(), 60);

    assert_eq!(
        validate(&fake, &admin, &subject, "").await.status(),
        StatusCode::OK
    );
    fake.clock().advance(Duration::from_secs(61));
    // the admin's own token has expired too: refresh it
    assert_eq!(
        validate(&fake, &admin, &subject, "").await.status(),
        StatusCode::UNAUTHORIZED
    );
    let admin = admin_token(&fake).await;
    assert_eq!(
        validate(&fake, &admin, &subject, "").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        validate(&fake, &admin, &subject, "?allow_expired=1")
            .await
            .status(),
        StatusCode::OK
    );
    fake.clock().advance(Duration::from_secs(49 * 3600));
    let admin = admin_token(&fake).await;
    assert_eq!(
        validate(&fake, &admin, &subject, "?allow_expired=1")
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn revocation_reaches_tokens_derived_from_the_revoked_one() {
    let fake = FakeKeystone::start().await.unwrap();
    let admin = admin_token(&fake).await;
    let (unscoped, _) = token(&fake, "admin", "adminpw", json!("unscoped")).await;
    let r = issue(
        &fake,
        &json!({"auth": {"identity": {"methods": ["token"], "token": {"id": unscoped}},
        "scope": {"system": {"all": true}}}}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let derived = r.headers()["x-subject-token"].to_str().unwrap().to_owned();
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["token"]["methods"], json!(["password", "token"]));
    assert_eq!(body["token"]["audit_ids"].as_array().unwrap().len(), 2);

    let r = Client::new()
        .delete(format!("{}/auth/tokens", fake.auth_url()))
        .header("x-auth-token", &admin)
        .header("x-subject-token", &unscoped)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    for t in [&unscoped, &derived] {
        let r = validate(&fake, &admin, t, "").await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn validation_is_authorized_as_keystone_does_it() {
    let fake = FakeKeystone::start().await.unwrap();
    let project = fake.create_project("p").unwrap();
    for (name, role) in [
        ("alice", "member"),
        ("bob", "member"),
        ("svc", "service"),
        ("sysreader", ""),
    ] {
        let id = fake.create_user(name, "pw").unwrap();
        if role.is_empty() {
            fake.grant_system_role(&id, "reader").unwrap();
        } else {
            fake.grant_project_role(&id, &project, role).unwrap();
        }
    }
    let scope = json!({"project": {"id": project}});
    let (alice, _) = token(&fake, "alice", "pw", scope.clone()).await;
    let (bob, _) = token(&fake, "bob", "pw", scope.clone()).await;
    let (svc, _) = token(&fake, "svc", "pw", scope.clone()).await;
    let (sysreader, _) = token(&fake, "sysreader", "pw", json!({"system": {"all": true}})).await;
    assert_eq!(
        validate(&fake, &alice, &alice, "").await.status(),
        StatusCode::OK
    );
    let denied = validate(&fake, &bob, &alice, "").await;
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);
    let err: Value = denied.json().await.unwrap();
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("identity:validate_token")
    );
    assert_eq!(
        validate(&fake, &svc, &alice, "").await.status(),
        StatusCode::OK
    );
    assert_eq!(
        validate(&fake, &sysreader, &alice, "").await.status(),
        StatusCode::OK
    );
    // a member may not register services, an admin may
    let r = Client::new()
        .post(format!("{}/services", fake.auth_url()))
        .header("x-auth-token", &alice)
        .json(&json!({"service": {"type": "x"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn nocatalog_and_head() {
    let fake = FakeKeystone::start().await.unwrap();
    let admin = admin_token(&fake).await;
    let full: Value = validate(&fake, &admin, &admin, "")
        .await
        .json()
        .await
        .unwrap();
    let catalog = full["token"]["catalog"].as_array().unwrap();
    let identity = catalog.iter().find(|s| s["type"] == "identity").unwrap();
    assert_eq!(identity["endpoints"].as_array().unwrap().len(), 3);
    for e in identity["endpoints"].as_array().unwrap() {
        assert_eq!(e["url"], format!("{}/v3/", fake.url()));
        assert_eq!(e["region_id"], "RegionOne");
    }
    let bare: Value = validate(&fake, &admin, &admin, "?nocatalog")
        .await
        .json()
        .await
        .unwrap();
    assert!(bare["token"].get("catalog").is_none());
    let head = Client::new()
        .head(format!("{}/auth/tokens", fake.auth_url()))
        .header("x-auth-token", &admin)
        .header("x-subject-token", &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::OK);
}

#[tokio::test]
async fn faults_and_counters() {
    let fake = FakeKeystone::start().await.unwrap();
    let admin = admin_token(&fake).await;
    for _ in 0..3 {
        validate(&fake, &admin, &admin, "").await;
    }
    assert_eq!(fake.requests("GET /v3/auth/tokens"), 3);
    assert_eq!(fake.requests("POST /v3/auth/tokens"), 1);

    fake.controls()
        .set_fault("GET /v3/auth/tokens", Fault::status(503));
    let r = validate(&fake, &admin, &admin, "").await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let err: Value = r.json().await.unwrap();
    assert_eq!(err["error"]["code"], 503);
    // other routes are untouched
    assert_eq!(fake.requests("GET /v3/auth/tokens"), 4);
    token(&fake, "admin", "adminpw", Value::Null).await;

    fake.controls().clear_faults();
    fake.controls()
        .set_fault("*", Fault::latency(Duration::from_millis(20)));
    assert_eq!(
        validate(&fake, &admin, &admin, "").await.status(),
        StatusCode::OK
    );
    fake.controls().clear_faults();

    fake.refuse_connections(true).await.unwrap();
    let fresh = Client::new();
    let err = fresh
        .get(fake.url())
        .send()
        .await
        .expect_err("connections should be refused");
    assert!(err.is_connect(), "{err}");
    fake.refuse_connections(false).await.unwrap();
    assert_eq!(
        fresh
            .get(fake.url())
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        300
    );
}

#[tokio::test]
async fn application_credentials_by_id_and_name() {
    let fake = FakeKeystone::builder()
        .seed(Seed::from_yaml(include_str!("../../../fixtures/seed-cloud.yaml")).unwrap())
        .start()
        .await
        .unwrap();
    let (alice, body) = token(&fake, "alice", "alicepw", Value::Null).await;
    let user_id = body["token"]["user"]["id"].as_str().unwrap().to_owned();
    let r = Client::new()
        .post(format!(
            "{}/users/{user_id}/application_credentials",
            fake.auth_url()
        ))
        .header("x-auth-token", &alice)
        .json(&json!({"application_credential": {"name": "mine", "roles": [{"name": "reader"}]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let created: Value = r.json().await.unwrap();
    let id = created["application_credential"]["id"].as_str().unwrap();
    let secret = created["application_credential"]["secret"]
        .as_str()
        .unwrap();

    let by_id = json!({"auth": {"identity": {"methods": ["application_credential"],
        "application_credential": {"id": id, "secret": secret}}}});
    let by_name = json!({"auth": {"identity": {"methods": ["application_credential"],
        "application_credential": {"name": "mine", "secret": secret, "user": {"name": "alice", "domain": {"id": "default"}}}}}});
    for body in [by_id, by_name] {
        let r = issue(&fake, &body).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let t: Value = r.json().await.unwrap();
        assert_eq!(names(&t["token"]["roles"]), ["reader"]);
        assert_eq!(t["token"]["application_credential"]["restricted"], true);
        assert_eq!(t["token"]["methods"], json!(["application_credential"]));
    }
    // an empty role list, as the openstack CLI sends without --role, means all the token's roles
    let r = Client::new()
        .post(format!(
            "{}/users/{user_id}/application_credentials",
            fake.auth_url()
        ))
        .header("x-auth-token", &alice)
        .json(&json!({"application_credential": {"name": "all", "roles": []}}))
        .send()
        .await
        .unwrap();
    let all: Value = r.json().await.unwrap();
    let mut names: Vec<&str> = all["application_credential"]["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["member", "reader"]);
    // the seeded credential works too, and the secret is never listed
    let seeded = json!({"auth": {"identity": {"methods": ["application_credential"],
        "application_credential": {"name": "alice-ci", "secret": "alice-ci-secret", "user": {"id": user_id}}}}});
    assert_eq!(issue(&fake, &seeded).await.status(), StatusCode::CREATED);
    let listed: Value = Client::new()
        .get(format!(
            "{}/users/{user_id}/application_credentials",
            fake.auth_url()
        ))
        .header("x-auth-token", &alice)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let creds = listed["application_credentials"].as_array().unwrap();
    assert_eq!(creds.len(), 3);
    assert!(creds.iter().all(|c| c.get("secret").is_none()));
}

#[tokio::test]
async fn role_assignments_with_names_and_effective() {
    let fake = FakeKeystone::start().await.unwrap();
    let admin = admin_token(&fake).await;
    let user_id = fake.admin().user_id.clone();
    let get = |q: &'static str| role_assignments(&fake, &admin, format!("user.id={user_id}{q}"));
    let plain = get("").await;
    assert_eq!(
        plain.len(),
        2,
        "admin on the admin project and on the system"
    );
    assert!(plain.iter().all(|a| a["role"].get("name").is_none()));
    let named = get("&include_names=True").await;
    assert!(
        named
            .iter()
            .all(|a| a["role"]["name"] == "admin" && a["user"]["name"] == "admin")
    );
    let effective = get("&effective").await;
    assert_eq!(
        effective.len(),
        4,
        "admin, manager, member and reader on the project: as Keystone's, the effective list \
         has no system assignments"
    );
    assert!(effective.iter().all(|a| a["scope"].get("system").is_none()));
    // nor does it read `scope.system`
    let system = get("&effective&scope.system=all").await;
    assert_eq!(system.len(), 4);
    assert_eq!(get("&scope.system=all").await.len(), 1);
    let on_project = get(&*format!("&scope.project.id={}", fake.admin().project_id).leak()).await;
    assert_eq!(on_project.len(), 1);

    // an implied role's links name the role implying it directly, as Keystone's do
    let project = &fake.admin().project_id;
    let rows = role_assignments(
        &fake,
        &admin,
        format!("user.id={user_id}&scope.project.id={project}&effective"),
    )
    .await;
    let id = |name: &str| fake.with_store(|s| s.role_by_name(name).map(|r| r.id.clone()).unwrap());
    let (admin_role, manager, member, reader) =
        (id("admin"), id("manager"), id("member"), id("reader"));
    let base = fake.auth_url();
    let grants = format!("{base}/projects/{project}/users/{user_id}/roles");
    let implied = |role: &str, prior: &str| {
        json!({
            "assignment": format!("{grants}/{prior}"),
            "prior_role": format!("{base}/prior_role/{role}/implies/{prior}"),
        })
    };
    let links: Vec<&Value> = rows.iter().map(|a| &a["links"]).collect();
    assert_eq!(
        links,
        [
            &json!({"assignment": format!("{grants}/{admin_role}")}),
            &implied(&manager, &admin_role),
            &implied(&member, &manager),
            &implied(&reader, &member),
        ]
    );
}

#[tokio::test]
async fn a_project_update_answers_with_its_extra_attributes() {
    let fake = FakeKeystone::start().await.unwrap();
    let admin = admin_token(&fake).await;
    let project = fake.create_project("p").unwrap();
    let url = format!("{}/projects/{project}", fake.auth_url());
    let updated: Value = Client::new()
        .patch(&url)
        .header("x-auth-token", &admin)
        .json(&json!({"project": {"description": "d"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(updated["project"]["description"], "d");
    assert_eq!(updated["project"]["extra"], json!({}), "{updated}");
    // only the answer to an update spells them out
    let shown: Value = Client::new()
        .get(&url)
        .header("x-auth-token", &admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(shown["project"].get("extra").is_none(), "{shown}");
}

#[tokio::test]
async fn debug_output_hides_the_admin_password() {
    let fake = FakeKeystone::builder()
        .admin_password("sup3r-secret")
        .start()
        .await
        .unwrap();
    let debug = format!("{fake:?}");
    assert!(!debug.contains("sup3r-secret"), "{debug}");
    assert!(debug.contains("[redacted]"));
}

#[tokio::test]
async fn the_binary_serves_a_seeded_cloud() {
    use tokio::io::AsyncBufReadExt;
    let seed = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/seed-cloud.yaml"
    );
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_keystone-fake"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--admin-password",
            "pw",
            "--seed",
            seed,
            "--token-ttl",
            "120",
        ])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next_line().await.unwrap().unwrap();
    let url = first
        .strip_prefix("keystone-fake listening on ")
        .unwrap()
        .to_owned();
    let mut exports = Vec::new();
    while let Some(line) = lines.next_line().await.unwrap() {
        exports.push(line);
        if exports.len() == 7 {
            break;
        }
    }
    assert!(
        exports.contains(&format!("export OS_AUTH_URL={url}/v3")),
        "{exports:?}"
    );
    assert!(exports.contains(&"export OS_PASSWORD=pw".to_owned()));
    let r = Client::new()
        .post(format!("{url}/v3/auth/tokens"))
        .json(&password_body(
            "myservice",
            "myservicesecretpassword",
            json!({"project": {"name": "services", "domain": {"id": "default"}}}),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let body: Value = r.json().await.unwrap();
    let issued =
        chrono::DateTime::parse_from_rfc3339(body["token"]["issued_at"].as_str().unwrap()).unwrap();
    let expires =
        chrono::DateTime::parse_from_rfc3339(body["token"]["expires_at"].as_str().unwrap())
            .unwrap();
    assert_eq!((expires - issued).num_seconds(), 120);
    let catalog = body["token"]["catalog"].as_array().unwrap();
    assert!(catalog.iter().any(|s| s["type"] == "myservice"));
    child.kill().await.unwrap();
}

#[tokio::test]
async fn a_bad_seed_names_the_entry() {
    let seed = Seed::from_yaml("grants: [{user: ghost, project: services, role: admin}]").unwrap();
    let err = FakeKeystone::builder()
        .seed(seed)
        .start()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("ghost"), "{err}");
    let err = Seed::from_yaml("users: [{name: x, pasword: typo}]").unwrap_err();
    assert!(err.to_string().contains("pasword"), "{err}");
}

/// `include_subtree`: the assignments on a project and on every project under it, with
/// Keystone's policy for trees and its 400s for filters that cannot go together.
#[tokio::test]
async fn role_assignments_of_a_project_tree_and_filters_that_cannot_combine() {
    let fake = FakeKeystone::start().await.unwrap();
    let admin = admin_token(&fake).await;
    let create = |name: &'static str, parent: Option<String>| {
        let body = json!({"project": {"name": name, "parent_id": parent}});
        create_as(&fake, &admin, "projects", body)
    };
    let top = create("top", None).await;
    let child = create("child", Some(top.clone())).await;
    let grandchild = create("grandchild", Some(child.clone())).await;
    let aside = create("aside", None).await;
    let user = fake.create_user("treeuser", "pw").unwrap();
    for p in [&child, &grandchild, &aside] {
        fake.grant_project_role(&user, p, "member").unwrap();
    }
    let tree = role_assignments(
        &fake,
        &admin,
        format!("scope.project.id={top}&include_subtree=true"),
    )
    .await;
    let mut scopes: Vec<&str> = tree
        .iter()
        .map(|a| a["scope"]["project"]["id"].as_str().unwrap())
        .collect();
    scopes.sort();
    let mut want = vec![child.as_str(), grandchild.as_str()];
    want.sort();
    assert_eq!(scopes, want);
    let own = role_assignments(&fake, &admin, format!("scope.project.id={top}")).await;
    assert!(
        own.is_empty(),
        "without include_subtree, the project's own: {own:?}"
    );

    let error = |query: String, status: u16| {
        let request = Client::new()
            .get(format!("{}/role_assignments?{query}", fake.auth_url()))
            .header("x-auth-token", &admin);
        keystone_error(request, status)
    };
    // Keystone's query schema refuses it before any policy check, whatever its value
    for query in ["include_subtree=true", "include_subtree=0"] {
        assert_eq!(
            error(query.into(), 400).await,
            "'scope.project.id' is a dependency of 'include_subtree'"
        );
    }
    assert_eq!(
        error("scope.project.id=&include_subtree=true".into(), 400).await,
        "scope.project.id must be specified if include_subtree is also specified"
    );
    assert_eq!(
        error("scope.project.id=nope&include_subtree=true".into(), 404).await,
        "Could not find project: nope."
    );
    for (query, message) in [
        (
            format!("scope.project.id={top}&scope.domain.id=default"),
            "Specify a domain or project, not both",
        ),
        (
            "scope.domain.id=default&scope.system=all".to_owned(),
            "Specify system or domain, not both",
        ),
        (
            format!("scope.project.id={top}&scope.system=all"),
            "Specify system or project, not both",
        ),
        (
            format!("user.id={user}&group.id=g"),
            "Specify a user or group, not both",
        ),
    ] {
        assert_eq!(error(query.clone(), 400).await, message, "{query}");
    }

    // a domain reader lists the trees of its own domain's projects only
    let other = fake.create_domain("otherdomain").unwrap();
    let reader = fake.create_user("treereader", "pw").unwrap();
    fake.grant_domain_role(&reader, "default", "reader")
        .unwrap();
    let (t, _) = token(
        &fake,
        "treereader",
        "pw",
        json!({"domain": {"id": "default"}}),
    )
    .await;
    let mine = role_assignments(
        &fake,
        &t,
        format!("scope.project.id={top}&include_subtree=true"),
    )
    .await;
    assert_eq!(mine.len(), 2);
    let elsewhere = create_as(
        &fake,
        &admin,
        "projects",
        json!({"project": {"name": "elsewhere", "domain_id": other}}),
    )
    .await;
    let request = Client::new()
        .get(format!(
            "{}/role_assignments?scope.project.id={elsewhere}&include_subtree=true",
            fake.auth_url()
        ))
        .header("x-auth-token", &t);
    keystone_error(request, 403).await;
}

/// A project tree stays in one domain, and only a leaf is deleted; deleting a domain deletes
/// its projects and users with their grants.
#[tokio::test]
async fn project_trees_stay_in_a_domain_and_a_domain_goes_with_its_contents() {
    let fake = FakeKeystone::start().await.unwrap();
    let admin = admin_token(&fake).await;
    let base = fake.auth_url();
    let send = |method: reqwest::Method, path: String, body: Option<Value>| {
        let mut r = Client::new()
            .request(method, format!("{base}{path}"))
            .header("x-auth-token", &admin);
        if let Some(b) = body {
            r = r.json(&b);
        }
        r
    };
    let parent = fake.create_project("parent").unwrap();
    let other = fake.create_domain("otherdomain").unwrap();
    let refused = keystone_error(
        send(
            reqwest::Method::POST,
            "/projects".into(),
            Some(json!({"project": {"name": "stray", "parent_id": parent, "domain_id": other}})),
        ),
        400,
    )
    .await;
    assert!(
        refused.contains("specifies a parent in a different domain (default)"),
        "{refused}"
    );
    let kid = create_as(
        &fake,
        &admin,
        "projects",
        json!({"project": {"name": "kid", "parent_id": parent}}),
    )
    .await;
    let not_leaf = keystone_error(
        send(reqwest::Method::DELETE, format!("/projects/{parent}"), None),
        403,
    )
    .await;
    assert!(
        not_leaf.contains("is not a leaf in the hierarchy"),
        "{not_leaf}"
    );
    for p in [&kid, &parent] {
        let r = send(reqwest::Method::DELETE, format!("/projects/{p}"), None)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
    }

    // a domain's user with a role on a domain's project
    let op = create_as(
        &fake,
        &admin,
        "projects",
        json!({"project": {"name": "op", "domain_id": other}}),
    )
    .await;
    let ou = create_as(
        &fake,
        &admin,
        "users",
        json!({"user": {"name": "ou", "password": "oupw", "domain_id": other}}),
    )
    .await;
    fake.grant_project_role(&ou, &op, "member").unwrap();
    let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "id": ou, "password": "oupw"}}}, "scope": {"project": {"id": op}}}});
    let r = issue(&fake, &body).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let t = r.headers()["x-subject-token"].to_str().unwrap().to_owned();
    assert_eq!(validate(&fake, &admin, &t, "").await.status(), 200);
    let r = send(
        reqwest::Method::PATCH,
        format!("/domains/{other}"),
        Some(json!({"domain": {"enabled": false}})),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = send(reqwest::Method::DELETE, format!("/domains/{other}"), None)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert!(
        role_assignments(&fake, &admin, format!("user.id={ou}"))
            .await
            .is_empty(),
        "the user's grant went with them"
    );
    assert!(
        role_assignments(&fake, &admin, format!("scope.project.id={op}"))
            .await
            .is_empty()
    );
    assert_eq!(validate(&fake, &admin, &t, "").await.status(), 404);
}
