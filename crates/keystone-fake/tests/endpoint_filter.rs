//! OS-EP-FILTER as Keystone 30.0.0 serves it (answers from a real one): endpoint groups and
//! their checks, the project–endpoint and endpoint group–project associations with their
//! order of checks and words, and above all what they do to a project's catalog (in a new
//! token, an older token validated again, and `/v3/auth/catalog`), and what goes when a
//! project, an endpoint, a service or a group goes. (The parity steps compare the same routes
//! with a real Keystone.)

mod common;

use common::*;
use keystone_fake::FakeKeystone;
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

const EF: &str = "/v3/OS-EP-FILTER";

struct Cloud {
    fake: FakeKeystone,
    admin: String,
    alice: String,
    member: String,
    project: String,
    other_project: String,
    service: String,
    public: String,
    internal: String,
    disabled: String,
}

async fn cloud() -> Cloud {
    let fake = FakeKeystone::start().await.unwrap();
    let project = fake.create_project("p").unwrap();
    let other_project = fake.create_project("q").unwrap();
    let user = fake.create_user("alice", "alicepw").unwrap();
    for p in [&project, &other_project] {
        fake.grant_project_role(&user, p, "member").unwrap();
    }
    let service = fake.create_service("compute", "nova").unwrap();
    let public = fake
        .create_endpoint(&service, "public", "http://nova/public", None)
        .unwrap();
    let internal = fake
        .create_endpoint(&service, "internal", "http://nova/internal", None)
        .unwrap();
    let admin = admin_token(&fake).await;
    let disabled = create_as(
        &fake,
        &admin,
        "endpoints",
        json!({"endpoint": {"service_id": service, "interface": "public",
            "url": "http://nova/disabled", "enabled": false}}),
    )
    .await;
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
        alice: user,
        member,
        project,
        other_project,
        service,
        public,
        internal,
        disabled,
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

    async fn status(&self, method: Method, path: &str) -> StatusCode {
        self.admin(method, path).send().await.unwrap().status()
    }

    async fn json(&self, request: reqwest::RequestBuilder, status: StatusCode) -> Value {
        let r = request.send().await.unwrap();
        assert_eq!(r.status(), status, "{}", r.url());
        r.json().await.unwrap_or(Value::Null)
    }

    async fn get(&self, path: &str) -> Value {
        self.json(self.admin(Method::GET, path), StatusCode::OK)
            .await
    }

    async fn create_group(&self, group: Value) -> String {
        let body = self
            .json(
                self.admin(Method::POST, &format!("{EF}/endpoint_groups"))
                    .json(&json!({ "endpoint_group": group })),
                StatusCode::CREATED,
            )
            .await;
        body["endpoint_group"]["id"].as_str().unwrap().to_owned()
    }

    async fn associate(&self, project: &str, endpoint: &str) {
        let path = format!("{EF}/projects/{project}/endpoints/{endpoint}");
        assert_eq!(
            self.status(Method::PUT, &path).await,
            StatusCode::NO_CONTENT
        );
    }

    async fn associate_group(&self, group: &str, project: &str) {
        let path = format!("{EF}/endpoint_groups/{group}/projects/{project}");
        assert_eq!(
            self.status(Method::PUT, &path).await,
            StatusCode::NO_CONTENT
        );
    }

    /// A fresh token of alice's on `project`: its catalog, as (service name, [(interface,
    /// url)]).
    async fn catalog(&self, project: &str) -> Vec<(String, Vec<(String, String)>)> {
        let (_, body) = token(
            &self.fake,
            "alice",
            "alicepw",
            json!({"project": {"id": project}}),
        )
        .await;
        summary(&body["token"]["catalog"])
    }

    /// The ids of the endpoints a list route answers.
    async fn endpoint_ids(&self, path: &str) -> Vec<String> {
        ids(&self.get(path).await["endpoints"])
    }
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_owned())
        .collect()
}

/// A catalog as (service name, [(interface, url)]), sorted.
fn summary(catalog: &Value) -> Vec<(String, Vec<(String, String)>)> {
    let mut out: Vec<(String, Vec<(String, String)>)> = catalog
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let mut eps: Vec<(String, String)> = s["endpoints"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| {
                    (
                        e["interface"].as_str().unwrap().to_owned(),
                        e["url"].as_str().unwrap().to_owned(),
                    )
                })
                .collect();
            eps.sort();
            (s["name"].as_str().unwrap().to_owned(), eps)
        })
        .collect();
    out.sort();
    out
}

fn nova(eps: &[(&str, &str)]) -> (String, Vec<(String, String)>) {
    let mut eps: Vec<(String, String)> = eps
        .iter()
        .map(|(i, u)| ((*i).to_owned(), (*u).to_owned()))
        .collect();
    eps.sort();
    ("nova".to_owned(), eps)
}

#[tokio::test]
async fn endpoint_groups_are_made_read_changed_and_deleted() {
    let c = cloud().await;
    let groups = format!("{EF}/endpoint_groups");
    assert_eq!(c.get(&groups).await["endpoint_groups"], json!([]));
    let r = c
        .admin(Method::POST, &groups)
        .json(&json!({"endpoint_group": {"name": "internal",
            "filters": {"interface": "internal", "service_id": c.service}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert!(r.headers().get("location").is_none());
    let body: Value = r.json().await.unwrap();
    let g = &body["endpoint_group"];
    let id = g["id"].as_str().unwrap().to_owned();
    assert_eq!(g["name"], "internal");
    assert_eq!(g["description"], Value::Null);
    assert_eq!(
        g["filters"],
        json!({"interface": "internal", "service_id": c.service})
    );
    assert_eq!(
        g["links"]["self"],
        format!("{}/v3/OS-EP-FILTER/endpoint_groups/{id}", c.fake.url())
    );
    // names need not be unique
    let public = c
        .create_group(
            json!({"name": "pub", "description": "d", "filters": {"interface": "public"}}),
        )
        .await;
    let again = c
        .create_group(json!({"name": "pub", "filters": {"region_id": null}}))
        .await;
    let by_name = c.get(&format!("{groups}?name=pub")).await;
    assert_eq!(
        ids(&by_name["endpoint_groups"]),
        vec![public.clone(), again]
    );
    assert_eq!(
        by_name["links"]["self"],
        format!("{}{groups}?name=pub", c.fake.url())
    );
    assert_eq!(c.get(&groups).await["endpoint_groups"][0]["id"], id);
    // a get ignores its query
    assert_eq!(
        c.get(&format!("{groups}/{id}?x=1")).await["endpoint_group"]["name"],
        "internal"
    );
    // an update replaces what it names; its filters replace the old ones whole, and may be empty
    let updated = c
        .json(
            c.admin(Method::PATCH, &format!("{groups}/{public}")).json(
                &json!({"endpoint_group": {"description": null, "name": "pub2",
                    "filters": {}}}),
            ),
            StatusCode::OK,
        )
        .await;
    assert_eq!(updated["endpoint_group"]["name"], "pub2");
    assert_eq!(updated["endpoint_group"]["description"], Value::Null);
    assert_eq!(updated["endpoint_group"]["filters"], json!({}));
    // empty filters match every endpoint, disabled ones too
    let all = c
        .endpoint_ids(&format!("{groups}/{public}/endpoints"))
        .await;
    assert_eq!(all.len(), 6, "{all:?}");
    assert!(all.contains(&c.disabled));
    assert_eq!(
        c.endpoint_ids(&format!("{groups}/{id}/endpoints")).await,
        vec![c.internal.clone()]
    );
    assert_eq!(
        c.status(Method::DELETE, &format!("{groups}/{id}")).await,
        StatusCode::NO_CONTENT
    );
    for method in [Method::GET, Method::DELETE] {
        assert_eq!(
            keystone_error(c.admin(method, &format!("{groups}/{id}")), 404).await,
            format!("Could not find Endpoint Group: {id}.")
        );
    }
    assert_eq!(
        keystone_error(
            c.admin(Method::GET, &format!("{groups}/{id}/endpoints")),
            404
        )
        .await,
        format!("Could not find Endpoint Group: {id}.")
    );
    // an unknown group has no projects, without a 404
    assert_eq!(
        c.get(&format!("{groups}/nope/projects")).await["projects"],
        json!([])
    );
    // HEAD answers where GET does
    assert_eq!(c.status(Method::HEAD, &groups).await, StatusCode::OK);
}

#[tokio::test]
async fn endpoint_group_bodies_are_checked_as_keystone_checks_them() {
    let c = cloud().await;
    let groups = format!("{EF}/endpoint_groups");
    let post = |body: Value| c.admin(Method::POST, &groups).json(&body);
    let attr = "Invalid input for field/attribute";
    let cases = [
        (
            json!({"endpoint_group": {}}),
            format!("{attr} endpoint_group. Value: {{}}. 'name' is a required property"),
        ),
        (
            json!({"endpoint_group": {"name": "x"}}),
            format!(
                "{attr} endpoint_group. Value: {{'name': 'x'}}. 'filters' is a required property"
            ),
        ),
        (
            json!({"endpoint_group": {"id": "x", "filters": {"interface": "public"}}}),
            format!(
                "{attr} endpoint_group. Value: {{'id': 'x', 'filters': {{'interface': 'public'}}}}. \
                 'name' is a required property"
            ),
        ),
        (
            json!({"endpoint_group": {"name": "x", "filters": {"interface": "bogus"}}}),
            format!(
                "{attr} interface. Value: bogus. 'bogus' is not one of ['admin', 'internal', \
                 'public']"
            ),
        ),
        (
            json!({"endpoint_group": {"name": "x", "filters": {"interface": 5, "service_id": 5}}}),
            format!("{attr} interface. Value: 5. 5 is not of type 'string'"),
        ),
        (
            json!({"endpoint_group": {"name": "x", "filters": {"region_id": 5}}}),
            format!("{attr} region_id. Value: 5. 5 is not of type 'string', 'null'"),
        ),
        (
            json!({"endpoint_group": {"name": "x", "filters": {"enabled": "x"}}}),
            format!("{attr} enabled. Value: x. 'x' is not of type 'boolean'"),
        ),
        (
            json!({"endpoint_group": {"name": "", "filters": null}}),
            format!("{attr} filters. Value: None. None is not of type 'object'"),
        ),
        (
            json!({"endpoint_group": {"name": "  ", "filters": {"interface": "public"}}}),
            format!(r"{attr} name. Value:   . '  ' does not match '[\\S]+'"),
        ),
        (
            json!({"endpoint_group": {"name": 5, "filters": {}}}),
            format!("{attr} name. Value: 5. 5 is not of type 'string'"),
        ),
        (
            json!({"endpoint_group": {"name": "x", "description": 5, "filters": {}}}),
            format!("{attr} description. Value: 5. 5 is not of type 'string', 'null'"),
        ),
        (
            json!({"endpoint_group": {"name": "x", "filters": {"interface": "public"},
                "zz": 1, "aa": 2}}),
            format!(
                "{attr} endpoint_group. Value: {{'name': 'x', 'filters': {{'interface': \
                 'public'}}, 'zz': 1, 'aa': 2}}. Additional properties are not allowed ('aa', \
                 'zz' were unexpected)"
            ),
        ),
        (
            json!({"endpoint_group": {"name": "x", "filters": {"interface": "public"}},
                "other": 1}),
            "Additional properties are not allowed ('other' was unexpected)".to_owned(),
        ),
        (
            json!({"endpoint_group": "str"}),
            format!("{attr} endpoint_group. Value: str. 'str' is not of type 'object'"),
        ),
    ];
    for (body, message) in cases {
        assert_eq!(
            keystone_error(post(body.clone()), 400).await,
            message,
            "{body}"
        );
    }
    let long = "n".repeat(256);
    assert_eq!(
        keystone_error(
            post(json!({"endpoint_group": {"name": long, "filters": {"interface": "public"}}})),
            400
        )
        .await,
        format!("{attr} name. Value: {long}. '{long}' is too long")
    );
    // after the token: filters missing or empty, and filters of other names
    for body in [
        json!({}),
        json!({"endpoint_group": {"name": "x", "filters": {}}}),
    ] {
        assert_eq!(
            keystone_error(post(body), 400).await,
            "filters field is required and cannot be empty"
        );
    }
    let bad_filter = "Expecting to find service_id or region_id or interface in endpoint_group. \
                      The server could not comply with the request since it is either malformed \
                      or otherwise incorrect. The client is assumed to be in error.";
    assert_eq!(
        keystone_error(
            post(json!({"endpoint_group": {"name": "x", "filters": {"enabled": true}}})),
            400
        )
        .await,
        bad_filter
    );
    // the schema before the token and the policy
    let anonymous = Client::new()
        .post(format!("{}{groups}", c.fake.url()))
        .json(&json!({"endpoint_group": {}}));
    assert!(
        keystone_error(anonymous, 400)
            .await
            .ends_with("'name' is a required property")
    );
    let member = |body: Value| c.request(&c.member, Method::POST, &groups).json(&body);
    assert!(
        keystone_error(member(json!({"endpoint_group": {}})), 400)
            .await
            .ends_with("'name' is a required property")
    );
    assert_eq!(
        keystone_error(member(json!({})), 403).await,
        "You are not authorized to perform the requested action: identity:create_endpoint_group."
    );
    // updates
    let id = c
        .create_group(json!({"name": "g", "filters": {"interface": "public"}}))
        .await;
    let patch = |path: &str, body: Value| {
        c.admin(Method::PATCH, &format!("{groups}/{path}"))
            .json(&body)
    };
    assert_eq!(
        keystone_error(patch(&id, json!({"endpoint_group": {}})), 400).await,
        format!("{attr} endpoint_group. Value: {{}}. {{}} should be non-empty")
    );
    assert_eq!(
        keystone_error(patch(&id, json!({})), 400).await,
        "'endpoint_group' is a required property"
    );
    assert_eq!(
        keystone_error(patch(&id, json!({"endpoint_group": {"id": id}})), 400).await,
        format!(
            "{attr} endpoint_group. Value: {{'id': '{id}'}}. Additional properties are not \
             allowed ('id' was unexpected)"
        )
    );
    assert_eq!(
        keystone_error(patch(&id, json!({"endpoint_group": {"name": null}})), 400).await,
        format!("{attr} name. Value: None. None is not of type 'string'")
    );
    // filters' names are checked before the group is looked up
    assert_eq!(
        keystone_error(
            patch("nope", json!({"endpoint_group": {"filters": {"foo": "x"}}})),
            400
        )
        .await,
        bad_filter
    );
    assert_eq!(
        keystone_error(patch("nope", json!({"endpoint_group": {"name": "y"}})), 404).await,
        "Could not find Endpoint Group: nope."
    );
}

#[tokio::test]
async fn the_list_query_is_checked_before_the_token() {
    let c = cloud().await;
    let groups = format!("{EF}/endpoint_groups");
    for (query, message) in [
        (
            "?limit=1",
            "Additional properties are not allowed ('limit' was unexpected)",
        ),
        (
            "?zz=1&aa=2&name=x",
            "Additional properties are not allowed ('aa', 'zz' were unexpected)",
        ),
        (
            "?name=",
            "Invalid input for field/attribute name. Value: . '' should be non-empty",
        ),
    ] {
        let anonymous = Client::new().get(format!("{}{groups}{query}", c.fake.url()));
        assert_eq!(keystone_error(anonymous, 400).await, message);
        assert_eq!(
            keystone_error(c.admin(Method::GET, &format!("{groups}{query}")), 400).await,
            message
        );
    }
}

#[tokio::test]
async fn who_may_use_the_routes() {
    let c = cloud().await;
    let p = &c.project;
    let e = &c.public;
    for (method, path, rule) in [
        (
            Method::GET,
            format!("{EF}/endpoint_groups"),
            "list_endpoint_groups",
        ),
        (
            Method::GET,
            format!("{EF}/projects/{p}/endpoints"),
            "list_endpoints_for_project",
        ),
        // the policy comes before the project's 404
        (
            Method::GET,
            format!("{EF}/projects/nope/endpoints"),
            "list_endpoints_for_project",
        ),
        (
            Method::PUT,
            format!("{EF}/projects/{p}/endpoints/{e}"),
            "add_endpoint_to_project",
        ),
        (
            Method::DELETE,
            format!("{EF}/endpoint_groups/nope"),
            "delete_endpoint_group",
        ),
        (
            Method::GET,
            format!("{EF}/endpoints/{e}/projects"),
            "list_projects_for_endpoint",
        ),
    ] {
        assert_eq!(
            keystone_error(c.request(&c.member, method, &path), 403).await,
            format!("You are not authorized to perform the requested action: identity:{rule}.")
        );
    }
    assert_eq!(
        keystone_error(
            Client::new().get(format!("{}{EF}/endpoint_groups", c.fake.url())),
            401
        )
        .await,
        "The request you have made requires authentication."
    );
    // a system reader reads, but does not change
    let reader = c.fake.create_user("sysreader", "readerpw").unwrap();
    c.fake.grant_system_role(&reader, "reader").unwrap();
    let (system, _) = token(
        &c.fake,
        "sysreader",
        "readerpw",
        json!({"system": {"all": true}}),
    )
    .await;
    let r = c
        .request(
            &system,
            Method::GET,
            &format!("{EF}/projects/{p}/endpoints"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        keystone_error(
            c.request(
                &system,
                Method::PUT,
                &format!("{EF}/projects/{p}/endpoints/{e}")
            ),
            403
        )
        .await,
        "You are not authorized to perform the requested action: identity:add_endpoint_to_project."
    );
}

#[tokio::test]
async fn project_endpoint_associations() {
    let c = cloud().await;
    let (p, e) = (&c.project, &c.public);
    let pair = format!("{EF}/projects/{p}/endpoints/{e}");
    assert_eq!(
        c.get(&format!("{EF}/projects/{p}/endpoints")).await["endpoints"],
        json!([])
    );
    // unknown endpoint first, then the project
    assert_eq!(
        keystone_error(
            c.admin(Method::GET, &format!("{EF}/projects/nope/endpoints/nope2")),
            404
        )
        .await,
        "Could not find endpoint: nope2."
    );
    assert_eq!(
        keystone_error(
            c.admin(Method::PUT, &format!("{EF}/projects/nope/endpoints/nope2")),
            404
        )
        .await,
        "Could not find endpoint: nope2."
    );
    assert_eq!(
        keystone_error(
            c.admin(Method::PUT, &format!("{EF}/projects/nope/endpoints/{e}")),
            404
        )
        .await,
        "Could not find project: nope."
    );
    assert_eq!(
        keystone_error(c.admin(Method::GET, &pair), 404).await,
        format!("Endpoint {e} not found in project {p}")
    );
    c.associate(p, e).await;
    assert_eq!(
        keystone_error(c.admin(Method::PUT, &pair), 409).await,
        "Conflict occurred attempting to store project_endpoint - Duplicate entry."
    );
    // a check is a 204, GET or HEAD, with no body
    for method in [Method::GET, Method::HEAD] {
        let r = c.admin(method, &pair).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        assert!(r.headers().get("content-type").is_none());
        assert_eq!(r.text().await.unwrap(), "");
    }
    let listed = c.get(&format!("{EF}/projects/{p}/endpoints")).await;
    assert_eq!(ids(&listed["endpoints"]), vec![e.clone()]);
    assert_eq!(listed["endpoints"][0]["url"], "http://nova/public");
    assert_eq!(
        listed["links"]["self"],
        format!("{}{EF}/projects/{p}/endpoints", c.fake.url())
    );
    let projects = c.get(&format!("{EF}/endpoints/{e}/projects")).await;
    assert_eq!(ids(&projects["projects"]), vec![p.clone()]);
    assert_eq!(projects["projects"][0]["name"], "p");
    assert_eq!(
        keystone_error(
            c.admin(Method::GET, &format!("{EF}/endpoints/nope/projects")),
            404
        )
        .await,
        "Could not find endpoint: nope."
    );
    assert_eq!(
        c.status(Method::DELETE, &pair).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        keystone_error(c.admin(Method::DELETE, &pair), 404).await,
        format!("Endpoint {e} not found in project {p}")
    );
    // a delete looks up only the association
    assert_eq!(
        keystone_error(
            c.admin(
                Method::DELETE,
                &format!("{EF}/projects/nope/endpoints/nope2")
            ),
            404
        )
        .await,
        "Endpoint nope2 not found in project nope"
    );
}

#[tokio::test]
async fn endpoint_group_project_associations() {
    let c = cloud().await;
    let p = &c.project;
    let g = c
        .create_group(
            json!({"name": "internal", "filters": {"interface": "internal",
            "service_id": c.service}}),
        )
        .await;
    let pair = format!("{EF}/endpoint_groups/{g}/projects/{p}");
    assert_eq!(
        keystone_error(c.admin(Method::GET, &pair), 404).await,
        "Endpoint Group Project Association not found"
    );
    c.associate_group(&g, p).await;
    assert_eq!(
        keystone_error(c.admin(Method::PUT, &pair), 409).await,
        "Conflict occurred attempting to store project_endpoint_group - Duplicate entry."
    );
    // the project first, then the group
    assert_eq!(
        keystone_error(
            c.admin(
                Method::PUT,
                &format!("{EF}/endpoint_groups/nope/projects/nope2")
            ),
            404
        )
        .await,
        "Could not find project: nope2."
    );
    assert_eq!(
        keystone_error(
            c.admin(
                Method::DELETE,
                &format!("{EF}/endpoint_groups/nope/projects/{p}")
            ),
            404
        )
        .await,
        "Could not find Endpoint Group: nope."
    );
    // the association, linked relatively, as Keystone links it
    let shown = c.get(&pair).await;
    assert_eq!(
        shown,
        json!({"project_endpoint_group": {"endpoint_group_id": g, "project_id": p,
            "links": {"self": format!("/OS-EP-FILTER/endpoint_groups/{g}/projects/{p}")}}})
    );
    assert_eq!(c.status(Method::HEAD, &pair).await, StatusCode::OK);
    let projects = c.get(&format!("{EF}/endpoint_groups/{g}/projects")).await;
    assert_eq!(ids(&projects["projects"]), vec![p.clone()]);
    let groups = c.get(&format!("{EF}/projects/{p}/endpoint_groups")).await;
    assert_eq!(ids(&groups["endpoint_groups"]), vec![g.clone()]);
    assert_eq!(
        keystone_error(
            c.admin(Method::GET, &format!("{EF}/projects/nope/endpoint_groups")),
            404
        )
        .await,
        "Could not find project: nope."
    );
    // a project's endpoints: those associated directly first, then its groups', each once
    c.associate(p, &c.disabled).await;
    c.associate(p, &c.internal).await;
    assert_eq!(
        c.endpoint_ids(&format!("{EF}/projects/{p}/endpoints"))
            .await,
        vec![c.disabled.clone(), c.internal.clone()]
    );
    assert_eq!(
        c.status(Method::DELETE, &pair).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        keystone_error(c.admin(Method::DELETE, &pair), 404).await,
        "Endpoint Group Project Association not found"
    );
}

#[tokio::test]
async fn associations_narrow_a_projects_catalog() {
    let c = cloud().await;
    let p = &c.project;
    let full = c.catalog(p).await;
    assert_eq!(full.len(), 2, "{full:?}");
    assert!(full.contains(&nova(&[
        ("internal", "http://nova/internal"),
        ("public", "http://nova/public"),
    ])));
    // a token issued before the association, validated after it
    let (older, _) = token(&c.fake, "alice", "alicepw", json!({"project": {"id": p}})).await;
    c.associate(p, &c.public).await;
    // only the associated endpoint: the identity service goes
    let expected = vec![nova(&[("public", "http://nova/public")])];
    assert_eq!(c.catalog(p).await, expected);
    let validated: Value = validate(&c.fake, &c.admin, &older, "")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(summary(&validated["token"]["catalog"]), expected);
    let r = c
        .request(&older, Method::GET, "/v3/auth/catalog")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert_eq!(summary(&body["catalog"]), expected);
    // another project without associations keeps the whole catalog
    assert_eq!(c.catalog(&c.other_project).await, full);
    // a group adds what it matches
    let g = c
        .create_group(
            json!({"name": "internal", "filters": {"interface": "internal",
            "service_id": c.service}}),
        )
        .await;
    c.associate_group(&g, p).await;
    assert_eq!(
        c.catalog(p).await,
        vec![nova(&[
            ("internal", "http://nova/internal"),
            ("public", "http://nova/public"),
        ])]
    );
    // a disabled endpoint associated is still left out
    c.associate(p, &c.disabled).await;
    assert_eq!(c.catalog(p).await.len(), 1);
    // a project whose only association is a disabled endpoint: an empty catalog
    c.associate(&c.other_project, &c.disabled).await;
    assert!(c.catalog(&c.other_project).await.is_empty());
    // a group that matches nothing does not filter
    let q = c.fake.create_project("r").unwrap();
    c.fake.grant_project_role(&c.alice, &q, "member").unwrap();
    let nowhere = c
        .create_group(json!({"name": "nowhere", "filters": {"region_id": "nowhere"}}))
        .await;
    c.associate_group(&nowhere, &q).await;
    assert_eq!(c.catalog(&q).await, full);
    // a group of the identity service's public endpoint
    let identity = c
        .create_group(json!({"name": "identity", "filters": {"interface": "public"}}))
        .await;
    c.associate_group(&identity, &q).await;
    let narrowed = c.catalog(&q).await;
    assert_eq!(narrowed.len(), 2, "{narrowed:?}");
    assert!(
        narrowed
            .iter()
            .all(|(_, eps)| eps.iter().all(|(i, _)| i == "public"))
    );
}

#[tokio::test]
async fn other_scopes_get_the_whole_catalog() {
    let c = cloud().await;
    let admin_project = c.fake.admin().project_id.clone();
    let admin_user = c.fake.admin().user_id.clone();
    let full_count = c.catalog(&c.project).await.len();
    c.associate(&c.project, &c.public).await;
    c.associate(&admin_project, &c.public).await;
    // the admin's project is narrowed...
    let (_, narrowed) = token(
        &c.fake,
        "admin",
        "adminpw",
        json!({"project": {"id": admin_project}}),
    )
    .await;
    assert_eq!(summary(&narrowed["token"]["catalog"]).len(), 1);
    // ...but not the system or a domain
    c.fake.grant_system_role(&admin_user, "admin").ok();
    let (_, system) = token(
        &c.fake,
        "admin",
        "adminpw",
        json!({"system": {"all": true}}),
    )
    .await;
    assert_eq!(summary(&system["token"]["catalog"]).len(), full_count);
    c.fake
        .grant_domain_role(&admin_user, "default", "admin")
        .unwrap();
    let (_, domain) = token(
        &c.fake,
        "admin",
        "adminpw",
        json!({"domain": {"id": "default"}}),
    )
    .await;
    assert_eq!(summary(&domain["token"]["catalog"]).len(), full_count);
}

#[tokio::test]
async fn associations_go_with_what_they_associate() {
    let c = cloud().await;
    let (p, q) = (&c.project, &c.other_project);
    let g = c
        .create_group(json!({"name": "all", "filters": {"service_id": c.service}}))
        .await;
    c.associate(p, &c.public).await;
    c.associate(q, &c.public).await;
    c.associate(q, &c.internal).await;
    c.associate_group(&g, p).await;
    c.associate_group(&g, q).await;
    // an endpoint deleted: its associations go
    assert_eq!(
        c.status(Method::DELETE, &format!("/v3/endpoints/{}", c.internal))
            .await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        keystone_error(
            c.admin(
                Method::GET,
                &format!("{EF}/projects/{q}/endpoints/{}", c.internal)
            ),
            404
        )
        .await,
        format!("Could not find endpoint: {}.", c.internal)
    );
    assert!(
        !c.endpoint_ids(&format!("{EF}/projects/{q}/endpoints"))
            .await
            .contains(&c.internal)
    );
    // a project deleted: its associations, direct and through groups, go
    assert_eq!(
        c.status(Method::DELETE, &format!("/v3/projects/{q}")).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        ids(&c
            .get(&format!("{EF}/endpoints/{}/projects", c.public))
            .await["projects"]),
        vec![p.clone()]
    );
    assert_eq!(
        ids(&c.get(&format!("{EF}/endpoint_groups/{g}/projects")).await["projects"]),
        vec![p.clone()]
    );
    // a group deleted: its associations go
    assert_eq!(
        c.status(Method::DELETE, &format!("{EF}/endpoint_groups/{g}"))
            .await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        c.get(&format!("{EF}/projects/{p}/endpoint_groups")).await["endpoint_groups"],
        json!([])
    );
    assert_eq!(
        c.endpoint_ids(&format!("{EF}/projects/{p}/endpoints"))
            .await,
        vec![c.public.clone()]
    );
    // a service deleted: its endpoints' associations go, and the catalog is whole again
    assert_eq!(
        c.status(Method::DELETE, &format!("/v3/services/{}", c.service))
            .await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        c.get(&format!("{EF}/projects/{p}/endpoints")).await["endpoints"],
        json!([])
    );
    let catalog = c.catalog(p).await;
    assert_eq!(catalog.len(), 1);
    assert_eq!(catalog[0].0, "keystone");
    // a domain deleted: its projects' associations go
    let domain = c.fake.create_domain("d").unwrap();
    let in_domain = create_as(
        &c.fake,
        &c.admin,
        "projects",
        json!({"project": {"name": "dp", "domain_id": domain}}),
    )
    .await;
    let identity_endpoint = c.get("/v3/endpoints?interface=public").await["endpoints"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    c.associate(&in_domain, &identity_endpoint).await;
    let r = c
        .admin(Method::PATCH, &format!("/v3/domains/{domain}"))
        .json(&json!({"domain": {"enabled": false}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        c.status(Method::DELETE, &format!("/v3/domains/{domain}"))
            .await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        c.get(&format!("{EF}/endpoints/{identity_endpoint}/projects"))
            .await["projects"],
        json!([])
    );
}
