//! Routes beyond the recorded exchanges, checked against Keystone 30.0.0's code: a user's own
//! password change, regions created by `PUT`, the rules of which role implies which, and the
//! access rules of application credentials.

mod common;

use common::*;
use keystone_fake::FakeKeystone;
use reqwest::{Client, Method, RequestBuilder, StatusCode};
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

/// A request to `path` (under `/v3`), with `token` unless it is empty.
fn call(fake: &FakeKeystone, method: Method, path: &str, token: &str) -> RequestBuilder {
    let r = Client::new().request(method, format!("{}{path}", fake.auth_url()));
    if token.is_empty() {
        r
    } else {
        r.header("x-auth-token", token)
    }
}

/// Sends `request`, checks its status and returns its JSON body (`null` when empty).
async fn json_of(request: RequestBuilder, status: StatusCode) -> Value {
    let r = request.send().await.unwrap();
    let what = format!("{} {}", r.url(), r.status());
    assert_eq!(r.status(), status, "{what}");
    let text = r.text().await.unwrap();
    if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap()
    }
}

/// `POST /v3/users/{user}/password` with `body`, without a token.
fn change_password(fake: &FakeKeystone, user: &str, body: Value) -> RequestBuilder {
    call(fake, Method::POST, &format!("/users/{user}/password"), "").json(&body)
}

/// The bootstrap admin's system-scoped token.
async fn system_admin_token(fake: &FakeKeystone) -> String {
    token(fake, "admin", "adminpw", json!({"system": {"all": true}}))
        .await
        .0
}

// ----- a user's own password change ------------------------------------------------------------

#[tokio::test]
async fn a_user_changes_their_own_password_with_the_original_and_no_token() {
    let (fake, user, project, before) = user_on_project("member").await;
    let admin = admin_token(&fake).await;
    let r = change_password(
        &fake,
        &user,
        json!({"user": {"password": "n3w-secret", "original_password": "pw"}}),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert!(r.text().await.unwrap().is_empty());
    // the user's tokens are revoked; the old password is refused, the new one works
    assert_eq!(
        validate(&fake, &admin, &before, "").await.status(),
        StatusCode::NOT_FOUND
    );
    let scope = json!({"project": {"id": project}});
    assert_eq!(
        issue(&fake, &password_body("u", "pw", scope.clone()))
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let (after, _) = token(&fake, "u", "n3w-secret", scope).await;
    assert_eq!(
        validate(&fake, &admin, &after, "").await.status(),
        StatusCode::OK
    );
    // other users' tokens are untouched
    assert_eq!(
        validate(&fake, &admin, &admin, "").await.status(),
        StatusCode::OK
    );
    // and the new password is no more visible than the old one
    let debug = fake.with_store(|s| format!("{s:?}"));
    assert!(!debug.contains("n3w-secret"), "{debug}");
}

#[tokio::test]
async fn a_wrong_original_password_an_unknown_or_disabled_user_is_a_401() {
    let (fake, user, project, before) = user_on_project("member").await;
    let admin = admin_token(&fake).await;
    let body =
        |original: &str| json!({"user": {"password": "other", "original_password": original}});
    for (who, original) in [(user.as_str(), "wrong"), ("nosuchuser", "pw")] {
        let r = change_password(&fake, who, body(original))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{who}");
        assert_eq!(
            r.headers()["www-authenticate"],
            format!("Keystone uri=\"{}\"", fake.auth_url()).as_str()
        );
        let err: Value = r.json().await.unwrap();
        assert_eq!(
            err["error"]["message"],
            "The request you have made requires authentication."
        );
        assert_eq!(err["error"]["code"], 401);
    }
    // nothing changed: the token still validates and the password still works
    assert_eq!(
        validate(&fake, &admin, &before, "").await.status(),
        StatusCode::OK
    );
    let scope = json!({"project": {"id": project}});
    token(&fake, "u", "pw", scope.clone()).await;
    // a disabled user changes nothing either, even with the right password
    fake.set_user_enabled(&user, false).unwrap();
    keystone_error(change_password(&fake, &user, body("pw")), 401).await;
    fake.set_user_enabled(&user, true).unwrap();
    token(&fake, "u", "pw", scope).await;
}

#[tokio::test]
async fn a_password_change_body_is_checked_without_echoing_it() {
    let fake = FakeKeystone::start().await.unwrap();
    let user = fake.create_user("u", "s3cret-old").unwrap();
    let cases = [
        (
            json!({"user": {"password": "s3cret-new"}}),
            "'original_password' is a required property",
        ),
        (
            json!({"user": {"original_password": "s3cret-old"}}),
            "'password' is a required property",
        ),
        (json!({}), "'original_password' is a required property"),
        (
            json!({"user": "s3cret-old"}),
            "Invalid input for field 'user': the value is not valid: expected an object",
        ),
        (
            json!({"user": {"password": 12345678, "original_password": "s3cret-old"}}),
            "Invalid input for field 'password': the value is not valid: expected a string",
        ),
        (
            json!({"user": {"password": "s3cret-new", "original_password": "s3cret-old",
                "name": "s3cret-extra"}}),
            "Additional properties are not allowed ('name' was unexpected)",
        ),
    ];
    for (body, expected) in cases {
        let message = keystone_error(change_password(&fake, &user, body.clone()), 400).await;
        assert_eq!(message, expected, "{body}");
        for secret in ["s3cret", "12345678"] {
            assert!(!message.contains(secret), "{body}: {message}");
        }
    }
    // a rejected body changed nothing
    token(&fake, "u", "s3cret-old", json!("unscoped")).await;
    // Keystone serves only POST on this path
    keystone_error(
        call(&fake, Method::GET, &format!("/users/{user}/password"), ""),
        405,
    )
    .await;
}

// ----- regions by PUT --------------------------------------------------------------------------

#[tokio::test]
async fn put_creates_a_region_with_the_id_of_the_path() {
    let fake = FakeKeystone::start().await.unwrap();
    let admin = admin_token(&fake).await;
    let put = |id: &str, body: Value| {
        call(&fake, Method::PUT, &format!("/regions/{id}"), &admin).json(&body)
    };
    let body = json_of(
        put("RegionTwo", json!({"region": {"description": "second"}})),
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(
        body,
        json!({"region": {"id": "RegionTwo", "description": "second",
            "parent_region_id": null,
            "links": {"self": format!("{}/regions/RegionTwo", fake.auth_url())}}})
    );
    let got = json_of(
        call(&fake, Method::GET, "/regions/RegionTwo", &admin),
        StatusCode::OK,
    )
    .await;
    assert_eq!(got, body);
    // the same id in the body, and a parent
    let child = json_of(
        put(
            "RegionTwoA",
            json!({"region": {"id": "RegionTwoA", "parent_region_id": "RegionTwo"}}),
        ),
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(child["region"]["parent_region_id"], "RegionTwo");
    assert_eq!(child["region"]["description"], "");

    let errors = [
        (
            "RegionTwo",
            json!({"region": {}}),
            409,
            "Conflict occurred attempting to store region - Duplicate ID, RegionTwo..",
        ),
        (
            "RegionOne",
            json!({"region": {"description": "again"}}),
            409,
            "Conflict occurred attempting to store region - Duplicate ID, RegionOne..",
        ),
        (
            "RegionThree",
            json!({"region": {"id": "RegionFour"}}),
            400,
            "Conflicting region IDs specified: \"RegionThree\" != \"RegionFour\"",
        ),
        (
            "RegionThree",
            json!({"region": {"parent_region_id": "nowhere"}}),
            404,
            "Could not find region: nowhere.",
        ),
    ];
    for (id, body, status, expected) in errors {
        let message = keystone_error(put(id, body.clone()), status).await;
        assert_eq!(message, expected, "{id} {body}");
    }
    // none of the failures created anything
    keystone_error(
        call(&fake, Method::GET, "/regions/RegionThree", &admin),
        404,
    )
    .await;
    let first = json_of(
        call(&fake, Method::GET, "/regions/RegionOne", &admin),
        StatusCode::OK,
    )
    .await;
    assert_eq!(first["region"]["description"], "");
    // a body without a region is a 400
    keystone_error(put("RegionFive", json!({})), 400).await;
}

/// As Keystone's catalog: a region goes with the regions under it, and not while an endpoint
/// is in any of them.
#[tokio::test]
async fn deleting_a_region_takes_its_children_unless_an_endpoint_is_in_them() {
    let fake = FakeKeystone::start().await.unwrap();
    let admin = admin_token(&fake).await;
    for (id, parent) in [("Top", None), ("Mid", Some("Top")), ("Low", Some("Mid"))] {
        let body = json!({"region": {"parent_region_id": parent}});
        let put = call(&fake, Method::PUT, &format!("/regions/{id}"), &admin).json(&body);
        json_of(put, StatusCode::CREATED).await;
    }
    let service = json_of(
        call(&fake, Method::POST, "/services", &admin)
            .json(&json!({"service": {"type": "rdel", "name": "rdel"}})),
        StatusCode::CREATED,
    )
    .await;
    let endpoint = json_of(
        call(&fake, Method::POST, "/endpoints", &admin).json(&json!({"endpoint": {
            "interface": "public", "url": "http://127.0.0.1:1/",
            "service_id": service["service"]["id"], "region_id": "Low"}})),
        StatusCode::CREATED,
    )
    .await;
    for id in ["Top", "Mid"] {
        let refused = json_of(
            call(&fake, Method::DELETE, &format!("/regions/{id}"), &admin),
            StatusCode::FORBIDDEN,
        )
        .await;
        assert_eq!(
            refused["error"]["message"],
            format!(
                "Unable to delete region {id} because it or its child regions have associated \
                 endpoints."
            )
        );
    }
    let endpoint_path = format!(
        "/endpoints/{}",
        endpoint["endpoint"]["id"].as_str().unwrap()
    );
    json_of(
        call(&fake, Method::DELETE, &endpoint_path, &admin),
        StatusCode::NO_CONTENT,
    )
    .await;
    json_of(
        call(&fake, Method::DELETE, "/regions/Top", &admin),
        StatusCode::NO_CONTENT,
    )
    .await;
    for id in ["Top", "Mid", "Low"] {
        json_of(
            call(&fake, Method::GET, &format!("/regions/{id}"), &admin),
            StatusCode::NOT_FOUND,
        )
        .await;
    }
}

#[tokio::test]
async fn only_an_admin_puts_a_region() {
    let (fake, _, _, member) = user_on_project("member").await;
    let body = json!({"region": {}});
    let message = keystone_error(
        call(&fake, Method::PUT, "/regions/RegionTwo", &member).json(&body),
        403,
    )
    .await;
    assert_eq!(
        message,
        "You are not authorized to perform the requested action: identity:create_region."
    );
    keystone_error(
        call(&fake, Method::PUT, "/regions/RegionTwo", "").json(&body),
        401,
    )
    .await;
    let admin = admin_token(&fake).await;
    keystone_error(call(&fake, Method::GET, "/regions/RegionTwo", &admin), 404).await;
}

// ----- implied roles ---------------------------------------------------------------------------

/// The id of the role named `name`.
fn role_id(fake: &FakeKeystone, name: &str) -> String {
    fake.with_store(|s| s.role_by_name(name).map(|r| r.id.clone()))
        .unwrap()
}

#[tokio::test]
async fn implication_rules_are_created_read_listed_and_deleted() {
    let fake = FakeKeystone::start().await.unwrap();
    let admin = admin_token(&fake).await;
    let prior = fake.create_role("prior").unwrap();
    let implied = fake.create_role("implied").unwrap();
    let base = fake.auth_url();
    let rule = format!("/roles/{prior}/implies/{implied}");
    let role = |id: &str, name: &str| json!({"id": id, "name": name, "links": {"self": format!("{base}/roles/{id}")}});
    let expected = json!({
        "role_inference": {"prior_role": role(&prior, "prior"), "implies": role(&implied, "implied")},
        "links": {"self": format!("{base}{rule}")},
    });
    let body = json_of(call(&fake, Method::PUT, &rule, &admin), StatusCode::CREATED).await;
    assert_eq!(body, expected);
    let body = json_of(call(&fake, Method::GET, &rule, &admin), StatusCode::OK).await;
    assert_eq!(body, expected);
    let body = json_of(
        call(&fake, Method::HEAD, &rule, &admin),
        StatusCode::NO_CONTENT,
    )
    .await;
    assert_eq!(body, Value::Null);

    let list = json_of(
        call(
            &fake,
            Method::GET,
            &format!("/roles/{prior}/implies"),
            &admin,
        ),
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        list,
        json!({
            "role_inference": {"prior_role": role(&prior, "prior"), "implies": [role(&implied, "implied")]},
            "links": {"self": format!("{base}/roles/{prior}/implies")},
        })
    );
    // all the rules, the bootstrap's among them
    let all = json_of(
        call(&fake, Method::GET, "/role_inferences", &admin),
        StatusCode::OK,
    )
    .await;
    let inferences = all["role_inferences"].as_array().unwrap();
    assert_eq!(inferences.len(), 4, "{all}");
    // in the order the rules were made, bootstrap's first, as Keystone's SQL backend lists them
    let priors: Vec<&str> = inferences
        .iter()
        .map(|i| i["prior_role"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(priors, ["member", "manager", "admin", "prior"]);
    let implies_of = |name: &str| {
        let entry = inferences
            .iter()
            .find(|i| i["prior_role"]["name"] == name)
            .unwrap_or_else(|| panic!("{name}: {all}"));
        names(&entry["implies"])
    };
    assert_eq!(implies_of("prior"), ["implied"]);
    assert_eq!(implies_of("admin"), ["manager"]);
    assert_eq!(implies_of("manager"), ["member"]);
    assert_eq!(implies_of("member"), ["reader"]);
    assert!(all.get("links").is_none(), "{all}");

    // a second PUT conflicts
    let message = keystone_error(call(&fake, Method::PUT, &rule, &admin), 409).await;
    assert_eq!(
        message,
        "Conflict occurred attempting to store implied_role - Duplicate entry."
    );
    // deleted, it is gone
    let body = json_of(
        call(&fake, Method::DELETE, &rule, &admin),
        StatusCode::NO_CONTENT,
    )
    .await;
    assert_eq!(body, Value::Null);
    let gone = format!("{prior} does not imply {implied}.");
    assert_eq!(
        keystone_error(call(&fake, Method::GET, &rule, &admin), 404).await,
        gone
    );
    assert_eq!(
        keystone_error(call(&fake, Method::DELETE, &rule, &admin), 404).await,
        gone
    );
    let r = call(&fake, Method::HEAD, &rule, &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let list = json_of(
        call(
            &fake,
            Method::GET,
            &format!("/roles/{prior}/implies"),
            &admin,
        ),
        StatusCode::OK,
    )
    .await;
    assert_eq!(list["role_inference"]["implies"], json!([]));
}

#[tokio::test]
async fn implication_rules_keystone_refuses() {
    let fake = FakeKeystone::start().await.unwrap();
    let admin = admin_token(&fake).await;
    let prior = fake.create_role("prior").unwrap();
    let admin_role = role_id(&fake, "admin");
    let put = |a: &str, b: &str| {
        call(
            &fake,
            Method::PUT,
            &format!("/roles/{a}/implies/{b}"),
            &admin,
        )
    };
    // unknown roles, the prior one first
    assert_eq!(
        keystone_error(put("nope", "nada"), 404).await,
        "Could not find role: nope."
    );
    assert_eq!(
        keystone_error(put(&prior, "nada"), 404).await,
        "Could not find role: nada."
    );
    assert_eq!(
        keystone_error(call(&fake, Method::GET, "/roles/nope/implies", &admin), 404).await,
        "Could not find role: nope."
    );
    // `admin` may not be implied (Keystone's prohibited_implied_role)
    assert_eq!(
        keystone_error(put(&prior, &admin_role), 403).await,
        format!("{admin_role} cannot be an implied roles.")
    );
    // nor may a global role imply a domain-specific one
    let r = call(&fake, Method::POST, "/roles", &admin)
        .json(&json!({"role": {"name": "local", "domain_id": "default"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let local: Value = r.json().await.unwrap();
    let local = local["role"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        keystone_error(put(&prior, &local), 403).await,
        format!("{local} cannot be an implied roles.")
    );
    let all = json_of(
        call(&fake, Method::GET, "/role_inferences", &admin),
        StatusCode::OK,
    )
    .await;
    assert_eq!(all["role_inferences"].as_array().unwrap().len(), 3, "{all}");
}

#[tokio::test]
async fn a_rule_made_through_the_api_reaches_the_tokens_issued_after_it() {
    let fake = FakeKeystone::start().await.unwrap();
    let admin = admin_token(&fake).await;
    let project = fake.create_project("p").unwrap();
    let user = fake.create_user("u", "pw").unwrap();
    let operator = fake.create_role("operator").unwrap();
    fake.grant_project_role(&user, &project, "operator")
        .unwrap();
    let scope = json!({"project": {"id": project}});
    let member = role_id(&fake, "member");
    let rule = format!("/roles/{operator}/implies/{member}");

    let (_, body) = token(&fake, "u", "pw", scope.clone()).await;
    assert_eq!(names(&body["token"]["roles"]), ["operator"]);
    json_of(call(&fake, Method::PUT, &rule, &admin), StatusCode::CREATED).await;
    // member implies reader: the new rule brings both
    let (t, body) = token(&fake, "u", "pw", scope.clone()).await;
    assert_eq!(
        names(&body["token"]["roles"]),
        ["member", "operator", "reader"]
    );
    let rows = role_assignments(&fake, &admin, format!("user.id={user}&effective")).await;
    assert_eq!(rows.len(), 3, "{rows:?}");
    json_of(
        call(&fake, Method::DELETE, &rule, &admin),
        StatusCode::NO_CONTENT,
    )
    .await;
    let (_, body) = token(&fake, "u", "pw", scope).await;
    assert_eq!(names(&body["token"]["roles"]), ["operator"]);
    // roles are read at validation, as Fernet tokens' are
    let r = validate(&fake, &admin, &t, "").await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert_eq!(names(&body["token"]["roles"]), ["operator"]);
}

#[tokio::test]
async fn implication_rules_are_for_admins_and_system_readers() {
    let (fake, _, _, member) = user_on_project("member").await;
    let prior = fake.create_role("prior").unwrap();
    let implied = fake.create_role("implied").unwrap();
    let rule = format!("/roles/{prior}/implies/{implied}");
    let list = format!("/roles/{prior}/implies");
    let denied = [
        (Method::PUT, rule.as_str(), "identity:create_implied_role"),
        (Method::GET, rule.as_str(), "identity:get_implied_role"),
        (
            Method::DELETE,
            rule.as_str(),
            "identity:delete_implied_role",
        ),
        (Method::GET, list.as_str(), "identity:list_implied_roles"),
        (
            Method::GET,
            "/role_inferences",
            "identity:list_role_inference_rules",
        ),
    ];
    for (method, path, policy) in denied {
        let message = keystone_error(call(&fake, method.clone(), path, &member), 403).await;
        assert_eq!(
            message,
            format!("You are not authorized to perform the requested action: {policy}."),
            "{method} {path}"
        );
        keystone_error(call(&fake, method, path, ""), 401).await;
    }
    let r = call(&fake, Method::HEAD, &rule, &member)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // Keystone looks the roles up to build the policy's target, so an unknown one is a 404
    keystone_error(
        call(
            &fake,
            Method::PUT,
            &format!("/roles/{prior}/implies/nope"),
            &member,
        ),
        404,
    )
    .await;
    // a system reader reads the rules, and may not change them
    let admin = admin_token(&fake).await;
    json_of(call(&fake, Method::PUT, &rule, &admin), StatusCode::CREATED).await;
    let system_reader = fake.create_user("auditor", "pw").unwrap();
    fake.grant_system_role(&system_reader, "reader").unwrap();
    let (reader, _) = token(&fake, "auditor", "pw", json!({"system": {"all": true}})).await;
    json_of(call(&fake, Method::GET, &rule, &reader), StatusCode::OK).await;
    json_of(
        call(&fake, Method::HEAD, &rule, &reader),
        StatusCode::NO_CONTENT,
    )
    .await;
    json_of(
        call(&fake, Method::GET, "/role_inferences", &reader),
        StatusCode::OK,
    )
    .await;
    keystone_error(call(&fake, Method::DELETE, &rule, &reader), 403).await;
}

// ----- access rules ----------------------------------------------------------------------------

/// Creates an application credential of `user` limited to `rules`; returns its body.
async fn cred_with_rules(
    fake: &FakeKeystone,
    user: &str,
    token: &str,
    name: &str,
    rules: Value,
) -> Value {
    let body = json_of(
        call(
            fake,
            Method::POST,
            &format!("/users/{user}/application_credentials"),
            token,
        )
        .json(&json!({"application_credential": {"name": name, "access_rules": rules}})),
        StatusCode::CREATED,
    )
    .await;
    body["application_credential"].clone()
}

#[tokio::test]
async fn access_rules_are_listed_shared_and_deleted_once_unused() {
    let (fake, user, _, t) = user_on_project("member").await;
    let servers = json!({"service": "compute", "method": "GET", "path": "/v2.1/servers"});
    let images = json!({"service": "image", "method": "GET", "path": "/v2/images"});
    let first = cred_with_rules(&fake, &user, &t, "first", json!([servers, images])).await;
    let rule_id = |cred: &Value, service: &str| {
        cred["access_rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["service"] == service)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let compute = rule_id(&first, "compute");
    let image = rule_id(&first, "image");
    let rules_path = format!("/users/{user}/access_rules");
    let list = json_of(call(&fake, Method::GET, &rules_path, &t), StatusCode::OK).await;
    let listed = list["access_rules"].as_array().unwrap();
    assert_eq!(listed.len(), 2, "{list}");
    assert_eq!(
        list["links"]["self"],
        format!("{}{rules_path}", fake.auth_url())
    );
    let one = format!("{rules_path}/{compute}");
    let expected = json!({"access_rule": {"id": compute, "service": "compute", "method": "GET",
        "path": "/v2.1/servers",
        "links": {"self": format!("{}/access_rules/{compute}", fake.auth_url())}}});
    assert!(listed.contains(&expected["access_rule"]), "{list}");
    let got = json_of(call(&fake, Method::GET, &one, &t), StatusCode::OK).await;
    assert_eq!(got, expected);
    // filters
    let filtered = json_of(
        call(
            &fake,
            Method::GET,
            &format!("{rules_path}?service=image"),
            &t,
        ),
        StatusCode::OK,
    )
    .await;
    assert_eq!(filtered["access_rules"].as_array().unwrap().len(), 1);
    assert_eq!(filtered["access_rules"][0]["id"], image.as_str());
    let none = json_of(
        call(&fake, Method::GET, &format!("{rules_path}?method=POST"), &t),
        StatusCode::OK,
    )
    .await;
    assert_eq!(none["access_rules"], json!([]));

    // a second credential naming the same request shares the rule, by id or alike
    let second = cred_with_rules(&fake, &user, &t, "second", json!([servers])).await;
    assert_eq!(rule_id(&second, "compute"), compute);
    let third = cred_with_rules(
        &fake,
        &user,
        &t,
        "third",
        json!([{"id": compute,
        "service": "compute", "method": "GET", "path": "/v2.1/servers"}]),
    )
    .await;
    assert_eq!(rule_id(&third, "compute"), compute);
    let list = json_of(call(&fake, Method::GET, &rules_path, &t), StatusCode::OK).await;
    assert_eq!(list["access_rules"].as_array().unwrap().len(), 2, "{list}");

    // in use, a rule cannot be deleted; it outlives the credentials that used it
    let in_use = "May not delete access rule in use";
    assert_eq!(
        keystone_error(call(&fake, Method::DELETE, &one, &t), 403).await,
        in_use
    );
    for cred in [&first, &second] {
        let path = format!(
            "/users/{user}/application_credentials/{}",
            cred["id"].as_str().unwrap()
        );
        json_of(
            call(&fake, Method::DELETE, &path, &t),
            StatusCode::NO_CONTENT,
        )
        .await;
    }
    assert_eq!(
        keystone_error(call(&fake, Method::DELETE, &one, &t), 403).await,
        in_use
    );
    let path = format!(
        "/users/{user}/application_credentials/{}",
        third["id"].as_str().unwrap()
    );
    json_of(
        call(&fake, Method::DELETE, &path, &t),
        StatusCode::NO_CONTENT,
    )
    .await;
    json_of(call(&fake, Method::GET, &one, &t), StatusCode::OK).await;
    json_of(
        call(&fake, Method::DELETE, &one, &t),
        StatusCode::NO_CONTENT,
    )
    .await;
    let gone = format!("Could not find Access Rule: {compute}.");
    assert_eq!(
        keystone_error(call(&fake, Method::GET, &one, &t), 404).await,
        gone
    );
    assert_eq!(
        keystone_error(call(&fake, Method::DELETE, &one, &t), 404).await,
        gone
    );
    let list = json_of(call(&fake, Method::GET, &rules_path, &t), StatusCode::OK).await;
    assert_eq!(list["access_rules"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list["access_rules"][0]["id"], image.as_str());
}

#[tokio::test]
async fn access_rules_are_their_owners_or_a_system_admins() {
    let (fake, user, project, t) = user_on_project("member").await;
    let cred = cred_with_rules(
        &fake,
        &user,
        &t,
        "c",
        json!([{"service": "compute", "method": "GET", "path": "/v2.1/servers"}]),
    )
    .await;
    let rule = cred["access_rules"][0]["id"].as_str().unwrap().to_owned();
    let rules_path = format!("/users/{user}/access_rules");
    let one = format!("{rules_path}/{rule}");

    // another member, and even a project admin: not theirs
    let other = fake.create_user("other", "pw").unwrap();
    fake.grant_project_role(&other, &project, "member").unwrap();
    let (other_token, _) = token(&fake, "other", "pw", json!({"project": {"id": project}})).await;
    let project_admin = admin_token(&fake).await;
    for caller in [&other_token, &project_admin] {
        for (method, path, policy) in [
            (Method::GET, &rules_path, "identity:list_access_rules"),
            (Method::GET, &one, "identity:get_access_rule"),
            (Method::DELETE, &one, "identity:delete_access_rule"),
        ] {
            let message = keystone_error(call(&fake, method, path, caller), 403).await;
            assert_eq!(
                message,
                format!("You are not authorized to perform the requested action: {policy}.")
            );
        }
    }
    keystone_error(call(&fake, Method::GET, &rules_path, ""), 401).await;
    // under their own path, another user's rule does not exist
    let own = format!("/users/{other}/access_rules/{rule}");
    assert_eq!(
        keystone_error(call(&fake, Method::GET, &own, &other_token), 404).await,
        format!("Could not find Access Rule: {rule}.")
    );
    keystone_error(call(&fake, Method::DELETE, &own, &other_token), 404).await;
    // nor can their credential borrow it by id
    let borrowed = call(
        &fake,
        Method::POST,
        &format!("/users/{other}/application_credentials"),
        &other_token,
    )
    .json(
        &json!({"application_credential": {"name": "b", "access_rules": [{"id": rule,
        "service": "compute", "method": "GET", "path": "/v2.1/servers"}]}}),
    );
    assert_eq!(
        keystone_error(borrowed, 404).await,
        format!("Could not find Access Rule: {rule}.")
    );
    let theirs = json_of(
        call(
            &fake,
            Method::GET,
            &format!("/users/{other}/access_rules"),
            &other_token,
        ),
        StatusCode::OK,
    )
    .await;
    assert_eq!(theirs["access_rules"], json!([]));

    // a system admin reads and deletes them
    let system = system_admin_token(&fake).await;
    let list = json_of(
        call(&fake, Method::GET, &rules_path, &system),
        StatusCode::OK,
    )
    .await;
    assert_eq!(list["access_rules"][0]["id"], rule.as_str());
    let path = format!(
        "/users/{user}/application_credentials/{}",
        cred["id"].as_str().unwrap()
    );
    json_of(
        call(&fake, Method::DELETE, &path, &t),
        StatusCode::NO_CONTENT,
    )
    .await;
    json_of(
        call(&fake, Method::DELETE, &one, &system),
        StatusCode::NO_CONTENT,
    )
    .await;
    // deleting a user deletes their rules
    let kept = cred_with_rules(
        &fake,
        &user,
        &t,
        "d",
        json!([{"service": "image", "method": "GET", "path": "/v2/images"}]),
    )
    .await;
    assert!(kept["access_rules"][0]["id"].is_string());
    json_of(
        call(
            &fake,
            Method::DELETE,
            &format!("/users/{user}"),
            &project_admin,
        ),
        StatusCode::NO_CONTENT,
    )
    .await;
    let list = json_of(
        call(&fake, Method::GET, &rules_path, &system),
        StatusCode::OK,
    )
    .await;
    assert_eq!(list["access_rules"], json!([]));
}
