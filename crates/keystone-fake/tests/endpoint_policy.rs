//! OS-ENDPOINT-POLICY as Keystone 30.0.0 serves it: the association routes with their order of
//! checks and words (one policy per target, a missing association deleted without a word),
//! the endpoints a policy applies to (association by association, down the region tree, not
//! de-duplicated), the policy an endpoint gets (its own, then its service's in its region or
//! one above, then its service's) and the orphans a deletion leaves. (The parity steps compare
//! the same routes with a real Keystone.)

mod common;

use common::*;
use keystone_fake::FakeKeystone;
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

struct Cloud {
    fake: FakeKeystone,
    admin: String,
    member: String,
    compute: String,
    image: String,
    /// compute, public, in `Leaf` (under `Mid`, under `Top`)
    leaf: String,
    /// compute, internal, in `Top`
    top: String,
    /// compute, admin, in no region
    bare: String,
    /// image, public, in `Leaf`
    other: String,
}

async fn cloud() -> Cloud {
    let fake = FakeKeystone::start().await.unwrap();
    let admin = admin_token(&fake).await;
    let project = fake.create_project("p").unwrap();
    let user = fake.create_user("alice", "alicepw").unwrap();
    fake.grant_project_role(&user, &project, "member").unwrap();
    let member = token(
        &fake,
        "alice",
        "alicepw",
        json!({"project": {"id": project}}),
    )
    .await
    .0;
    fake.create_region("Top").unwrap();
    for (id, parent) in [("Mid", "Top"), ("Leaf", "Mid")] {
        create_as(
            &fake,
            &admin,
            "regions",
            json!({"region": {"id": id, "parent_region_id": parent}}),
        )
        .await;
    }
    let compute = fake.create_service("compute", "nova").unwrap();
    let image = fake.create_service("image", "glance").unwrap();
    let endpoint = |service: &str, interface: &str, region: Option<&str>| {
        fake.create_endpoint(service, interface, "http://x", region)
            .unwrap()
    };
    let leaf = endpoint(&compute, "public", Some("Leaf"));
    let top = endpoint(&compute, "internal", Some("Top"));
    let bare = endpoint(&compute, "admin", None);
    let other = endpoint(&image, "public", Some("Leaf"));
    Cloud {
        fake,
        admin,
        member,
        compute,
        image,
        leaf,
        top,
        bare,
        other,
    }
}

impl Cloud {
    fn admin(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        Client::new()
            .request(method, format!("{}{path}", self.fake.url()))
            .header("x-auth-token", &self.admin)
    }

    async fn status(&self, method: Method, path: &str) -> StatusCode {
        self.admin(method, path).send().await.unwrap().status()
    }

    async fn policy(&self, blob: &str) -> String {
        create_as(
            &self.fake,
            &self.admin,
            "policies",
            json!({"policy": {"blob": blob, "type": "application/json"}}),
        )
        .await
    }

    async fn put(&self, path: &str) {
        let r = self.admin(Method::PUT, path).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT, "{path}");
        assert_eq!(r.text().await.unwrap(), "", "{path}");
    }

    /// The blob of the policy an endpoint gets, checking its Keystone-style link.
    async fn policy_of(&self, endpoint: &str) -> String {
        let path = format!("/v3/endpoints/{endpoint}/OS-ENDPOINT-POLICY/policy");
        let r = self.admin(Method::GET, &path).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        let body: Value = r.json().await.unwrap();
        let id = body["policy"]["id"].as_str().unwrap();
        assert_eq!(
            body["policy"]["links"]["self"],
            format!("{}/v3/endpoints/{id}", self.fake.url())
        );
        body["policy"]["blob"].as_str().unwrap().to_owned()
    }

    async fn no_policy(&self, endpoint: &str) -> String {
        let path = format!("/v3/endpoints/{endpoint}/OS-ENDPOINT-POLICY/policy");
        keystone_error(self.admin(Method::GET, &path), 404).await
    }

    /// The ids of the endpoints a policy applies to, in Keystone's order.
    async fn endpoints_of(&self, policy: &str) -> Vec<String> {
        let path = format!("/v3/policies/{policy}/OS-ENDPOINT-POLICY/endpoints");
        let r = self.admin(Method::GET, &path).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(
            body["links"],
            json!({"next": null, "previous": null,
                "self": format!("{}{path}", self.fake.url())})
        );
        let endpoints = body["endpoints"].as_array().unwrap();
        for e in endpoints {
            assert!(e.get("region").is_none(), "{e}");
            assert!(e["region_id"].is_string() || e["region_id"].is_null());
        }
        endpoints
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_owned())
            .collect()
    }
}

#[tokio::test]
async fn an_endpoint_gets_its_own_policy_then_its_regions_then_its_services() {
    let c = cloud().await;
    let [own, region, service] = [
        c.policy("own").await,
        c.policy("region").await,
        c.policy("service").await,
    ];
    assert_eq!(
        c.no_policy(&c.leaf).await,
        format!("No policy is associated with endpoint {}.", c.leaf)
    );
    c.put(&format!(
        "/v3/policies/{service}/OS-ENDPOINT-POLICY/services/{}",
        c.compute
    ))
    .await;
    assert_eq!(c.policy_of(&c.leaf).await, "service");
    // Leaf, then Mid, then Top: found two regions up
    c.put(&format!(
        "/v3/policies/{region}/OS-ENDPOINT-POLICY/services/{}/regions/Top",
        c.compute
    ))
    .await;
    assert_eq!(c.policy_of(&c.leaf).await, "region");
    assert_eq!(c.policy_of(&c.top).await, "region");
    assert_eq!(c.policy_of(&c.bare).await, "service");
    // another service's region association is not the image endpoint's
    c.no_policy(&c.other).await;
    c.put(&format!(
        "/v3/policies/{own}/OS-ENDPOINT-POLICY/endpoints/{}",
        c.leaf
    ))
    .await;
    assert_eq!(c.policy_of(&c.leaf).await, "own");
    assert_eq!(c.policy_of(&c.top).await, "region");
    // the first association found decides, even when its policy is gone
    assert_eq!(
        c.status(Method::DELETE, &format!("/v3/policies/{own}"))
            .await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        c.no_policy(&c.leaf).await,
        format!("Could not find policy: {own}.")
    );
    assert_eq!(c.no_policy("nope").await, "Could not find endpoint: nope.");
    // the reader rule: a project member may not look
    let path = format!("/v3/endpoints/{}/OS-ENDPOINT-POLICY/policy", c.top);
    let as_member = Client::new()
        .get(format!("{}{path}", c.fake.url()))
        .header("x-auth-token", &c.member);
    keystone_error(as_member, 403).await;
}

#[tokio::test]
async fn associations_are_one_per_target_and_checked_in_keystones_order() {
    let c = cloud().await;
    let (first, second) = (c.policy("first").await, c.policy("second").await);
    let on_endpoint = |p: &str| format!("/v3/policies/{p}/OS-ENDPOINT-POLICY/endpoints/{}", c.top);
    let on_service =
        |p: &str| format!("/v3/policies/{p}/OS-ENDPOINT-POLICY/services/{}", c.compute);
    let on_region = |p: &str| {
        format!(
            "/v3/policies/{p}/OS-ENDPOINT-POLICY/services/{}/regions/Mid",
            c.compute
        )
    };
    for path in [on_endpoint(&first), on_service(&first), on_region(&first)] {
        assert_eq!(
            keystone_error(c.admin(Method::GET, &path), 404).await,
            "Could not find policy association.",
            "{path}"
        );
        // deleting what is not there is no error
        assert_eq!(
            c.status(Method::DELETE, &path).await,
            StatusCode::NO_CONTENT
        );
        c.put(&path).await;
        assert_eq!(c.status(Method::GET, &path).await, StatusCode::NO_CONTENT);
        assert_eq!(c.status(Method::HEAD, &path).await, StatusCode::NO_CONTENT);
    }
    // another policy on the same target replaces the first
    for (old, new) in [
        (on_endpoint(&first), on_endpoint(&second)),
        (on_service(&first), on_service(&second)),
        (on_region(&first), on_region(&second)),
    ] {
        c.put(&new).await;
        assert_eq!(c.status(Method::GET, &old).await, StatusCode::NOT_FOUND);
        assert_eq!(c.status(Method::GET, &new).await, StatusCode::NO_CONTENT);
        assert_eq!(c.status(Method::DELETE, &new).await, StatusCode::NO_CONTENT);
        assert_eq!(c.status(Method::GET, &new).await, StatusCode::NOT_FOUND);
    }
    // the policy, then the endpoint or service, then the region
    let cases = [
        (
            "/v3/policies/nope/OS-ENDPOINT-POLICY/endpoints/nope".to_owned(),
            "Could not find policy: nope.",
        ),
        (
            format!("/v3/policies/{first}/OS-ENDPOINT-POLICY/endpoints/nope"),
            "Could not find endpoint: nope.",
        ),
        (
            "/v3/policies/nope/OS-ENDPOINT-POLICY/services/nope/regions/nope".to_owned(),
            "Could not find policy: nope.",
        ),
        (
            format!("/v3/policies/{first}/OS-ENDPOINT-POLICY/services/nope"),
            "Could not find service: nope.",
        ),
        (
            format!("/v3/policies/{first}/OS-ENDPOINT-POLICY/services/nope/regions/nope"),
            "Could not find service: nope.",
        ),
        (
            format!(
                "/v3/policies/{first}/OS-ENDPOINT-POLICY/services/{}/regions/nope",
                c.compute
            ),
            "Could not find region: nope.",
        ),
        (
            "/v3/policies/nope/OS-ENDPOINT-POLICY/endpoints".to_owned(),
            "Could not find policy: nope.",
        ),
    ];
    for (path, message) in cases {
        for method in [Method::GET, Method::PUT, Method::DELETE] {
            if path.ends_with("/endpoints") && method != Method::GET {
                continue;
            }
            assert_eq!(
                keystone_error(c.admin(method.clone(), &path), 404).await,
                message,
                "{method} {path}"
            );
        }
    }
    // the admin rule to change, the reader rule to look
    let as_member = |method: Method| {
        Client::new()
            .request(method, format!("{}{}", c.fake.url(), on_service(&first)))
            .header("x-auth-token", &c.member)
    };
    for method in [Method::PUT, Method::GET, Method::DELETE] {
        keystone_error(as_member(method), 403).await;
    }
}

#[tokio::test]
async fn a_policys_endpoints_are_listed_association_by_association() {
    let c = cloud().await;
    let p = c.policy("p").await;
    assert!(c.endpoints_of(&p).await.is_empty());
    let by_policy = format!("/v3/policies/{p}/OS-ENDPOINT-POLICY");
    c.put(&format!("{by_policy}/endpoints/{}", c.top)).await;
    c.put(&format!("{by_policy}/services/{}/regions/Top", c.compute))
        .await;
    c.put(&format!("{by_policy}/services/{}", c.image)).await;
    // the endpoint; compute in Top, then down to Mid and Leaf; every image endpoint
    assert_eq!(
        c.endpoints_of(&p).await,
        [c.top.as_str(), &c.top, &c.leaf, &c.other]
    );
    // a region association looks down the tree only, never up
    let q = c.policy("q").await;
    c.put(&format!(
        "/v3/policies/{q}/OS-ENDPOINT-POLICY/services/{}/regions/Leaf",
        c.compute
    ))
    .await;
    c.put(&format!(
        "/v3/policies/{q}/OS-ENDPOINT-POLICY/services/{}",
        c.compute
    ))
    .await;
    let mut compute = vec![c.leaf.clone()];
    let mut all = vec![c.leaf.clone(), c.top.clone(), c.bare.clone()];
    all.sort();
    compute.extend(all);
    let mut listed = c.endpoints_of(&q).await;
    listed[1..].sort();
    assert_eq!(listed, compute);
    // the endpoint's association outlives it, and the whole list fails on it
    assert_eq!(
        c.status(Method::DELETE, &format!("/v3/endpoints/{}", c.top))
            .await,
        StatusCode::NO_CONTENT
    );
    let list = format!("{by_policy}/endpoints");
    assert_eq!(
        keystone_error(c.admin(Method::GET, &list), 404).await,
        format!("Could not find endpoint: {}.", c.top)
    );
}
