//! `GET /v3/OS-REVOKE/events` as Keystone 30.0.0 serves it: who may list the events, `since`,
//! and the events each operation records (and the ones that record none).

mod common;

use common::*;
use keystone_fake::FakeKeystone;
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

struct Cloud {
    fake: FakeKeystone,
    admin: String,
    project: String,
    user: String,
}

async fn cloud() -> Cloud {
    let fake = FakeKeystone::start().await.unwrap();
    let project = fake.create_project("p").unwrap();
    let user = fake.create_user("alice", "alicepw").unwrap();
    fake.grant_project_role(&user, &project, "member").unwrap();
    let admin = admin_token(&fake).await;
    Cloud {
        fake,
        admin,
        project,
        user,
    }
}

impl Cloud {
    fn admin(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        Client::new()
            .request(method, format!("{}{path}", self.fake.url()))
            .header("x-auth-token", &self.admin)
    }

    async fn send(&self, method: Method, path: &str, body: Option<Value>) {
        let mut r = self.admin(method, path);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let r = r.send().await.unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
    }

    /// The events, each without its times (checked apart).
    async fn events(&self, query: &str) -> Vec<Value> {
        let r = self
            .admin(Method::GET, &format!("/v3/OS-REVOKE/events{query}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let body: Value = r.json().await.unwrap();
        assert_eq!(
            body["links"],
            json!({"next": null, "previous": null,
                   "self": format!("{}/v3/OS-REVOKE/events", self.fake.url())})
        );
        body["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let at = e["revoked_at"].as_str().unwrap();
                assert!(at.ends_with(".000000Z"), "whole seconds: {at}");
                let mut e = e.clone();
                let o = e.as_object_mut().unwrap();
                o.remove("revoked_at");
                o.remove("issued_before");
                e
            })
            .collect()
    }

    async fn member_token(&self) -> (String, Value) {
        token(
            &self.fake,
            "alice",
            "alicepw",
            json!({"project": {"id": self.project}}),
        )
        .await
    }
}

#[tokio::test]
async fn each_operation_records_keystones_events() {
    let c = cloud().await;
    assert!(c.events("").await.is_empty());

    // a token revoked: its audit id, then its chain
    let (t, body) = c.member_token().await;
    let audit = body["token"]["audit_ids"][0].as_str().unwrap().to_owned();
    let r = c
        .admin(Method::DELETE, "/v3/auth/tokens")
        .header("x-subject-token", &t)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        c.events("").await,
        vec![json!({"audit_id": audit}), json!({"audit_chain_id": audit})]
    );
    let revoked_at = |e: &Value| e["revoked_at"].as_str().unwrap().to_owned();

    // no event: a role assignment removed, a project disabled, an application credential
    // deleted (Keystone checks these when it validates)
    let roles: Value = c
        .admin(Method::GET, "/v3/roles?name=member")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let member = roles["roles"][0]["id"].as_str().unwrap().to_owned();
    let grant = format!("/v3/projects/{}/users/{}/roles/{member}", c.project, c.user);
    c.send(Method::DELETE, &grant, None).await;
    c.send(Method::PUT, &grant, None).await;
    c.send(
        Method::PATCH,
        &format!("/v3/projects/{}", c.project),
        Some(json!({"project": {"enabled": false}})),
    )
    .await;
    c.send(
        Method::PATCH,
        &format!("/v3/projects/{}", c.project),
        Some(json!({"project": {"enabled": true}})),
    )
    .await;
    assert_eq!(c.events("").await.len(), 2);

    // a user disabled (not when already disabled, nor enabled), a password changed
    let user = format!("/v3/users/{}", c.user);
    for enabled in [false, false, true] {
        c.send(
            Method::PATCH,
            &user,
            Some(json!({"user": {"enabled": enabled}})),
        )
        .await;
    }
    c.send(
        Method::PATCH,
        &user,
        Some(json!({"user": {"password": "newpw"}})),
    )
    .await;
    let all = c.events("").await;
    assert_eq!(
        all[2..],
        [json!({"user_id": c.user}), json!({"user_id": c.user})]
    );

    // removed from a group: issued_before a second before revoked_at
    let group = c.fake.create_group("g").unwrap();
    c.fake.add_user_to_group(&group, &c.user).unwrap();
    c.send(
        Method::DELETE,
        &format!("/v3/groups/{group}/users/{}", c.user),
        None,
    )
    .await;
    let raw = raw_events(&c, "").await;
    let last = raw.last().unwrap();
    assert_eq!(last["user_id"], c.user.as_str());
    let at = chrono::DateTime::parse_from_rfc3339(&revoked_at(last)).unwrap();
    let before =
        chrono::DateTime::parse_from_rfc3339(last["issued_before"].as_str().unwrap()).unwrap();
    assert_eq!(at - before, chrono::Duration::seconds(1));
    assert_eq!(raw[0]["issued_before"], raw[0]["revoked_at"]);

    // a project deleted, a user deleted
    let other = c.fake.create_project("other").unwrap();
    c.send(Method::DELETE, &format!("/v3/projects/{other}"), None)
        .await;
    c.send(Method::DELETE, &user, None).await;
    let all = c.events("").await;
    assert_eq!(
        all[all.len() - 2..],
        [json!({"project_id": other}), json!({"user_id": c.user})]
    );

    // since: strictly after; the fake's clock moves on
    let newest = revoked_at(raw_events(&c, "").await.last().unwrap());
    assert!(c.events(&format!("?since={newest}")).await.is_empty());
    c.fake.clock().advance(std::time::Duration::from_secs(5));
    let project2 = c.fake.create_project("p2").unwrap();
    c.send(Method::DELETE, &format!("/v3/projects/{project2}"), None)
        .await;
    assert_eq!(
        c.events(&format!("?since={newest}")).await,
        vec![json!({"project_id": project2})]
    );
    // HEAD answers too
    let r = c
        .admin(Method::HEAD, "/v3/OS-REVOKE/events")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

async fn raw_events(c: &Cloud, query: &str) -> Vec<Value> {
    let r = c
        .admin(Method::GET, &format!("/v3/OS-REVOKE/events{query}"))
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    body["events"].as_array().unwrap().clone()
}

#[tokio::test]
async fn only_admins_and_services_list_events_and_since_must_be_a_time() {
    let c = cloud().await;
    let (member, _) = c.member_token().await;
    let url = format!("{}/v3/OS-REVOKE/events", c.fake.url());
    keystone_error(Client::new().get(&url).header("x-auth-token", &member), 403).await;
    keystone_error(Client::new().get(&url), 401).await;
    // the service role may
    let svc = c.fake.create_user("svc", "svcpw").unwrap();
    c.fake
        .grant_project_role(&svc, &c.project, "service")
        .unwrap();
    let (service, _) = token(
        &c.fake,
        "svc",
        "svcpw",
        json!({"project": {"id": c.project}}),
    )
    .await;
    let r = Client::new()
        .get(&url)
        .header("x-auth-token", &service)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let message = keystone_error(
        c.admin(Method::GET, "/v3/OS-REVOKE/events?since=yesterday"),
        400,
    )
    .await;
    assert_eq!(message, "invalidate date format yesterday");
}

#[tokio::test]
async fn a_trust_deleted_and_a_domain_deleted_record_their_events() {
    let c = cloud().await;
    let trustee = c.fake.create_user("bob", "bobpw").unwrap();
    let (alice, _) = c.member_token().await;
    let r = Client::new()
        .post(format!("{}/v3/OS-TRUST/trusts", c.fake.url()))
        .header("x-auth-token", &alice)
        .json(
            &json!({"trust": {"trustor_user_id": c.user, "trustee_user_id": trustee,
            "project_id": c.project, "impersonation": false, "roles": [{"name": "member"}]}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let trust: Value = r.json().await.unwrap();
    let trust = trust["trust"]["id"].as_str().unwrap().to_owned();
    c.send(
        Method::DELETE,
        &format!("/v3/OS-TRUST/trusts/{trust}"),
        None,
    )
    .await;
    assert_eq!(
        c.events("").await,
        vec![json!({"OS-TRUST:trust_id": trust})]
    );

    let domain = c.fake.create_domain("d").unwrap();
    let r = c
        .admin(Method::POST, "/v3/projects")
        .json(&json!({"project": {"name": "dp", "domain_id": domain}}))
        .send()
        .await
        .unwrap();
    let dp: Value = r.json().await.unwrap();
    let dp = dp["project"]["id"].as_str().unwrap().to_owned();
    let r = c
        .admin(Method::POST, "/v3/users")
        .json(&json!({"user": {"name": "du", "domain_id": domain}}))
        .send()
        .await
        .unwrap();
    let du: Value = r.json().await.unwrap();
    let du = du["user"]["id"].as_str().unwrap().to_owned();
    c.send(
        Method::PATCH,
        &format!("/v3/domains/{domain}"),
        Some(json!({"domain": {"enabled": false}})),
    )
    .await;
    c.send(Method::DELETE, &format!("/v3/domains/{domain}"), None)
        .await;
    assert_eq!(
        c.events("").await[1..],
        [
            json!({"project_id": dp}),
            json!({"user_id": du}),
            json!({"project_id": domain}),
        ]
    );
}
