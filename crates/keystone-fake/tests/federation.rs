//! OS-FEDERATION's admin API as Keystone 30.0.0 serves it (the parity steps compare the same
//! routes with a real one): identity providers (a domain made for one given none, remote ids
//! unique in the cloud, protocols going with it, and with its domain), protocols (their
//! mapping must exist), mappings (every failure of the rules listed), service providers (in
//! every token while one is enabled), and who may do what.

mod common;

use common::*;
use keystone_fake::FakeKeystone;
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

const FED: &str = "/v3/OS-FEDERATION";

struct Cloud {
    fake: FakeKeystone,
    admin: String,
}

async fn cloud() -> Cloud {
    let fake = FakeKeystone::start().await.unwrap();
    let admin = admin_token(&fake).await;
    Cloud { fake, admin }
}

impl Cloud {
    fn call(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        Client::new()
            .request(method, format!("{}{path}", self.fake.url()))
            .header("x-auth-token", &self.admin)
    }

    async fn ok(&self, method: Method, path: &str, body: Value, status: StatusCode) -> Value {
        let r = self.call(method, path).json(&body).send().await.unwrap();
        assert_eq!(r.status(), status, "{path}");
        r.json().await.unwrap_or(Value::Null)
    }
}

fn rules() -> Value {
    json!([{"local": [{"user": {"name": "{0}"}}], "remote": [{"type": "REMOTE_USER"}]}])
}

#[tokio::test]
async fn identity_providers_protocols_and_mappings() {
    let c = cloud().await;
    // without a domain, Keystone makes one for the provider; enabled is false unless given
    let idp = c
        .ok(
            Method::PUT,
            &format!("{FED}/identity_providers/acme"),
            json!({"identity_provider": {"remote_ids": ["b", "a"]}}),
            StatusCode::CREATED,
        )
        .await["identity_provider"]
        .clone();
    assert_eq!(idp["enabled"], false);
    assert_eq!(idp["remote_ids"], json!(["b", "a"]), "as written");
    let domain = idp["domain_id"].as_str().unwrap().to_owned();
    let d = c
        .ok(
            Method::GET,
            &format!("/v3/domains/{domain}"),
            Value::Null,
            StatusCode::OK,
        )
        .await;
    assert_eq!(
        d["domain"]["description"],
        "Auto generated federated domain for Identity Provider: acme"
    );
    let got = c
        .ok(
            Method::GET,
            &format!("{FED}/identity_providers/acme"),
            Value::Null,
            StatusCode::OK,
        )
        .await;
    assert_eq!(
        got["identity_provider"]["remote_ids"],
        json!(["a", "b"]),
        "read sorted"
    );
    // remote ids are unique in the cloud; an id once
    for (id, body, status, message) in [
        (
            "other",
            json!({"identity_provider": {"remote_ids": ["a"], "domain_id": "default"}}),
            409,
            "Conflict occurred attempting to store identity_provider - Duplicate remote ID: None.",
        ),
        (
            "acme",
            json!({"identity_provider": {"domain_id": "default"}}),
            409,
            "Conflict occurred attempting to store identity_provider - Duplicate entry: None.",
        ),
        (
            "other",
            json!({"identity_provider": {"domain_id": "nosuch"}}),
            404,
            "Could not find domain: nosuch.",
        ),
        (
            "other",
            json!({"identity_provider": {"remote_ids": ["r9", "r9"]}}),
            400,
            "Invalid input for field/attribute remote_ids. Value: ['r9', 'r9']. ['r9', 'r9'] \
             has non-unique elements",
        ),
    ] {
        let r = c
            .call(Method::PUT, &format!("{FED}/identity_providers/{id}"))
            .json(&body);
        assert_eq!(keystone_error(r, status).await, message, "{body}");
    }

    // a protocol needs an existing mapping, checked before its provider
    let protocol = format!("{FED}/identity_providers/acme/protocols/saml2");
    assert_eq!(
        keystone_error(
            c.call(Method::PUT, &protocol)
                .json(&json!({"protocol": {"mapping_id": "m1"}})),
            400
        )
        .await,
        "Invalid mapping id: m1"
    );
    let m = c
        .ok(
            Method::PUT,
            &format!("{FED}/mappings/m1"),
            json!({"mapping": {"rules": rules()}}),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(m["mapping"]["schema_version"], "1.0");
    let p = c
        .ok(
            Method::PUT,
            &protocol,
            json!({"protocol": {"mapping_id": "m1", "remote_id_attribute": "x"}}),
            StatusCode::CREATED,
        )
        .await;
    // alone without idp_id and remote_id_attribute, with Keystone's links
    assert_eq!(
        p,
        json!({"protocol": {"id": "saml2", "mapping_id": "m1", "links": {
            "self": format!("{}/v3/protocols/saml2", c.fake.url()),
            "identity_provider": format!("{}/v3/acme", c.fake.url())}}})
    );
    let listed = c
        .ok(
            Method::GET,
            &format!("{FED}/identity_providers/acme/protocols"),
            Value::Null,
            StatusCode::OK,
        )
        .await;
    assert_eq!(listed["protocols"][0]["remote_id_attribute"], "x");
    assert_eq!(listed["protocols"][0]["idp_id"], "acme");

    // a mapping's rules: every failure, sorted, one per line
    assert_eq!(
        keystone_error(
            c.call(Method::PUT, &format!("{FED}/mappings/m2"))
                .json(&json!({"mapping": {"rules": [{}]}})),
            400
        )
        .await,
        "'local' is a required property\n'remote' is a required property\n"
    );

    // deleting the provider's domain takes the provider and its protocols with it
    c.ok(
        Method::PATCH,
        &format!("/v3/domains/{domain}"),
        json!({"domain": {"enabled": false}}),
        StatusCode::OK,
    )
    .await;
    let r = c
        .call(Method::DELETE, &format!("/v3/domains/{domain}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        keystone_error(c.call(Method::GET, &protocol), 404).await,
        "Could not find federated protocol saml2 for Identity Provider: acme."
    );
    assert_eq!(
        keystone_error(
            c.call(Method::GET, &format!("{FED}/identity_providers/acme")),
            404
        )
        .await,
        "Could not find Identity Provider: acme."
    );
}

#[tokio::test]
async fn enabled_service_providers_are_in_every_token() {
    let c = cloud().await;
    let sp = |enabled: bool| {
        json!({"service_provider": {"auth_url": "https://sp.example/v3/auth",
            "sp_url": "https://sp.example/ecp", "enabled": enabled}})
    };
    let made = c
        .ok(
            Method::PUT,
            &format!("{FED}/service_providers/sp1"),
            sp(false),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(made["service_provider"]["relay_state_prefix"], "ss:mem:");
    let (_, body) = token(&c.fake, "admin", "adminpw", Value::Null).await;
    assert!(
        body["token"].get("service_providers").is_none(),
        "none enabled"
    );
    c.ok(
        Method::PATCH,
        &format!("{FED}/service_providers/sp1"),
        json!({"service_provider": {"enabled": true}}),
        StatusCode::OK,
    )
    .await;
    let (t, body) = token(
        &c.fake,
        "admin",
        "adminpw",
        json!({"project": {"name": "admin", "domain": {"id": "default"}}}),
    )
    .await;
    let expected = json!([{"auth_url": "https://sp.example/v3/auth", "id": "sp1",
        "sp_url": "https://sp.example/ecp"}]);
    assert_eq!(body["token"]["service_providers"], expected);
    let validated: Value = validate(&c.fake, &c.admin, &t, "?nocatalog")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(validated["token"]["service_providers"], expected);
    // only an admin manages them; a bad body is refused before the token
    let anonymous = Client::new()
        .put(format!("{}{FED}/service_providers/sp2", c.fake.url()))
        .json(&json!({"service_provider": {"auth_url": "not a url", "sp_url": "x:y"}}));
    assert_eq!(
        keystone_error(anonymous, 400).await,
        "Invalid input for field/attribute auth_url. Value: not a url. 'not a url' does not \
         match '^[a-zA-Z0-9+.-]+:.+'"
    );
    let user = c.fake.create_user("alice", "alicepw").unwrap();
    let project = c.fake.create_project("p").unwrap();
    c.fake
        .grant_project_role(&user, &project, "member")
        .unwrap();
    let (member, _) = token(
        &c.fake,
        "alice",
        "alicepw",
        json!({"project": {"id": project}}),
    )
    .await;
    let r = Client::new()
        .get(format!("{}{FED}/service_providers", c.fake.url()))
        .header("x-auth-token", member);
    assert_eq!(
        keystone_error(r, 403).await,
        "You are not authorized to perform the requested action: \
         identity:list_service_providers."
    );
}
