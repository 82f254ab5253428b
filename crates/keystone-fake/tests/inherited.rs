//! OS-INHERIT grants as Keystone 30.0.0 serves them: a role granted on a domain or a project
//! "inherited to projects" is held on every project under it (never on the domain or project
//! itself), by a user or a group's members, in tokens and in effective role assignments.

mod common;

use common::*;
use keystone_fake::{FakeKeystone, Seed};
use reqwest::{Client, Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};

/// A fake with projects `top` and `child` (under `top`) in `default`, `elsewhere` in another
/// domain, user `iu` without roles, and the admin's token.
struct Cloud {
    fake: FakeKeystone,
    top: String,
    child: String,
    elsewhere: String,
    user: String,
    admin: String,
    member: String,
}

async fn cloud() -> Cloud {
    let fake = FakeKeystone::start().await.unwrap();
    let admin = admin_token(&fake).await;
    let project = |body: Value| create_as(&fake, &admin, "projects", json!({ "project": body }));
    let top = project(json!({"name": "top"})).await;
    let child = project(json!({"name": "child", "parent_id": top})).await;
    let other = fake.create_domain("other").unwrap();
    let elsewhere = project(json!({"name": "elsewhere", "domain_id": other})).await;
    let user = fake.create_user("iu", "iupw").unwrap();
    let roles: Value = Client::new()
        .get(format!("{}/roles?name=member", fake.auth_url()))
        .header("x-auth-token", &admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let member = roles["roles"][0]["id"].as_str().unwrap().to_owned();
    Cloud {
        fake,
        top,
        child,
        elsewhere,
        user,
        admin,
        member,
    }
}

impl Cloud {
    fn admin(&self, method: Method, path: &str) -> RequestBuilder {
        Client::new()
            .request(method, format!("{}{path}", self.fake.auth_url()))
            .header("x-auth-token", &self.admin)
    }

    async fn status(&self, method: Method, path: &str) -> u16 {
        self.admin(method, path)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    async fn json(&self, path: &str) -> Value {
        let r = self.admin(Method::GET, path).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        r.json().await.unwrap()
    }

    /// The role names of iu's token on `scope`, or `None` when iu gets no token there.
    async fn roles_on(&self, scope: Value) -> Option<Vec<String>> {
        let r = issue(&self.fake, &password_body("iu", "iupw", scope)).await;
        if r.status() != StatusCode::CREATED {
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
            return None;
        }
        let body: Value = r.json().await.unwrap();
        Some(names(&body["token"]["roles"]))
    }

    async fn project_roles(&self, project: &str) -> Option<Vec<String>> {
        self.roles_on(json!({"project": {"id": project}})).await
    }
}

#[tokio::test]
async fn a_domains_inherited_grant_reaches_its_projects_only() {
    let c = cloud().await;
    let (u, m) = (&c.user, &c.member);
    let grant = format!("/OS-INHERIT/domains/default/users/{u}/roles/{m}/inherited_to_projects");
    assert_eq!(c.status(Method::HEAD, &grant).await, 404);
    assert_eq!(c.status(Method::PUT, &grant).await, 204);
    assert_eq!(c.status(Method::HEAD, &grant).await, 204);
    let listed = c
        .json(&format!(
            "/OS-INHERIT/domains/default/users/{u}/roles/inherited_to_projects"
        ))
        .await;
    assert_eq!(names(&listed["roles"]), ["member"]);
    // not a grant on the domain itself
    let on_domain = c.json(&format!("/domains/default/users/{u}/roles")).await;
    assert!(on_domain["roles"].as_array().unwrap().is_empty());

    let held = Some(vec!["member".to_owned(), "reader".to_owned()]);
    assert_eq!(c.project_roles(&c.top).await, held);
    assert_eq!(c.project_roles(&c.child).await, held);
    assert_eq!(
        c.project_roles(&c.elsewhere).await,
        None,
        "another domain's project"
    );
    assert_eq!(c.roles_on(json!({"domain": {"id": "default"}})).await, None);
    // every project of the domain: bootstrap's `admin` too
    let projects = c.json(&format!("/users/{u}/projects")).await;
    assert_eq!(projects["projects"].as_array().unwrap().len(), 3);

    // the assignment: one row on the domain, marked inherited; effective, one per project
    let rows = c.json(&format!("/role_assignments?user.id={u}")).await;
    let rows = rows["role_assignments"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["scope"]["domain"]["id"], "default");
    assert_eq!(rows[0]["scope"]["OS-INHERIT:inherited_to"], "projects");
    let base = c.fake.auth_url();
    assert_eq!(rows[0]["links"]["assignment"], format!("{base}{grant}"));
    let effective = c
        .json(&format!(
            "/role_assignments?user.id={u}&effective&role.id={m}"
        ))
        .await;
    let mut projects: Vec<&str> = effective["role_assignments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            assert_eq!(r["scope"]["OS-INHERIT:inherited_to"], "projects");
            assert_eq!(r["links"]["assignment"], format!("{base}{grant}"));
            r["scope"]["project"]["id"].as_str().unwrap()
        })
        .collect();
    projects.sort();
    let mut want = vec![
        c.top.as_str(),
        c.child.as_str(),
        c.fake.admin().project_id.as_str(),
    ];
    want.sort();
    assert_eq!(projects, want);
    // only the inherited ones, and a filter combination Keystone refuses
    let plain = c.fake.create_project("plain").unwrap();
    c.fake.grant_project_role(u, &plain, "reader").unwrap();
    let inherited = c
        .json(&format!(
            "/role_assignments?user.id={u}&scope.OS-INHERIT:inherited_to=projects"
        ))
        .await;
    assert_eq!(inherited["role_assignments"].as_array().unwrap().len(), 1);
    let refused = keystone_error(
        c.admin(
            Method::GET,
            "/role_assignments?scope.domain.id=default&scope.OS-INHERIT:inherited_to=projects&effective",
        ),
        400,
    )
    .await;
    assert_eq!(
        refused,
        "Combining effective, domain and inherited filters will always result in an empty list."
    );

    assert_eq!(c.status(Method::DELETE, &grant).await, 204);
    assert_eq!(c.status(Method::DELETE, &grant).await, 404);
    assert_eq!(c.project_roles(&c.top).await, None);
}

#[tokio::test]
async fn a_projects_inherited_grant_reaches_the_projects_under_it() {
    let c = cloud().await;
    let (u, m, top) = (&c.user, &c.member, &c.top);
    let grant = format!("/OS-INHERIT/projects/{top}/users/{u}/roles/{m}/inherited_to_projects");
    assert_eq!(c.status(Method::PUT, &grant).await, 204);
    assert_eq!(c.status(Method::GET, &grant).await, 204);
    assert_eq!(
        c.project_roles(top).await,
        None,
        "not on the project itself"
    );
    assert_eq!(
        c.project_roles(&c.child).await,
        Some(vec!["member".to_owned(), "reader".to_owned()])
    );
    let effective = c
        .json(&format!(
            "/role_assignments?user.id={u}&effective&role.id={m}"
        ))
        .await;
    let rows = effective["role_assignments"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["scope"]["project"]["id"], c.child.as_str());
    // Keystone has no list route for a project's inherited grants
    assert_eq!(
        c.status(
            Method::GET,
            &format!("/OS-INHERIT/projects/{top}/users/{u}/roles/inherited_to_projects")
        )
        .await,
        404
    );
}

#[tokio::test]
async fn a_groups_inherited_grant_reaches_its_members_and_errors_name_the_missing_part() {
    let c = cloud().await;
    let (u, m) = (&c.user, &c.member);
    let group = c.fake.create_group("inheritors").unwrap();
    c.fake.add_user_to_group(&group, u).unwrap();
    let grant =
        format!("/OS-INHERIT/domains/default/groups/{group}/roles/{m}/inherited_to_projects");
    assert_eq!(c.status(Method::PUT, &grant).await, 204);
    assert_eq!(
        c.project_roles(&c.child).await,
        Some(vec!["member".to_owned(), "reader".to_owned()])
    );
    let effective = c
        .json(&format!(
            "/role_assignments?user.id={u}&effective&role.id={m}&scope.project.id={}",
            c.child
        ))
        .await;
    let rows = effective["role_assignments"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    let base = c.fake.auth_url();
    assert_eq!(
        rows[0]["links"]["membership"],
        format!("{base}/groups/{group}/users/{u}")
    );

    for (path, message) in [
        (
            format!("/OS-INHERIT/domains/nope/users/{u}/roles/{m}/inherited_to_projects"),
            "Could not find domain: nope.",
        ),
        (
            format!("/OS-INHERIT/domains/default/users/{u}/roles/nope/inherited_to_projects"),
            "Could not find role: nope.",
        ),
        (
            format!("/OS-INHERIT/projects/nope/users/{u}/roles/{m}/inherited_to_projects"),
            "Could not find project: nope.",
        ),
    ] {
        assert_eq!(
            keystone_error(c.admin(Method::PUT, &path), 404).await,
            message,
            "{path}"
        );
    }
    // a plain member may not grant
    let (t, _) = token(&c.fake, "iu", "iupw", json!({"project": {"id": c.child}})).await;
    let other = c.fake.create_user("other", "pw").unwrap();
    keystone_error(
        Client::new()
            .put(format!(
                "{base}/OS-INHERIT/domains/default/users/{other}/roles/{m}/inherited_to_projects"
            ))
            .header("x-auth-token", t),
        403,
    )
    .await;
}

#[tokio::test]
async fn a_seed_file_makes_inherited_grants() {
    let seed = Seed::from_yaml(
        "projects: [{name: ops}]\n\
         users: [{name: olga, password: olgapw}]\n\
         grants: [{user: olga, domain: default, role: member, inherited: true}]\n",
    )
    .unwrap();
    let fake = FakeKeystone::builder().seed(seed).start().await.unwrap();
    let (_, body) = token(
        &fake,
        "olga",
        "olgapw",
        json!({"project": {"name": "ops", "domain": {"id": "default"}}}),
    )
    .await;
    assert_eq!(names(&body["token"]["roles"]), ["member", "reader"]);
    let system = Seed::from_yaml(
        "users: [{name: u}]\ngrants: [{user: u, system: true, role: reader, inherited: true}]",
    )
    .unwrap();
    let err = FakeKeystone::start()
        .await
        .unwrap()
        .apply_seed(&system)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("an inherited grant is on a domain or a project"),
        "{err}"
    );
}

#[tokio::test]
async fn the_inherited_filter_and_the_inherited_list_read_as_keystones() {
    let c = cloud().await;
    let (u, m) = (&c.user, &c.member);
    let grant = format!("/OS-INHERIT/domains/default/users/{u}/roles/{m}/inherited_to_projects");
    assert_eq!(c.status(Method::PUT, &grant).await, 204);
    c.fake.grant_project_role(u, &c.top, "reader").unwrap();
    let count = |query: String| {
        let c = &c;
        async move {
            c.json(&format!("/role_assignments?{query}")).await["role_assignments"]
                .as_array()
                .unwrap()
                .len()
        }
    };
    assert_eq!(count(format!("user.id={u}")).await, 2);
    assert_eq!(
        count(format!(
            "user.id={u}&scope.OS-INHERIT:inherited_to=projects"
        ))
        .await,
        1
    );
    // any other value keeps the assignments that are not inherited
    assert_eq!(
        count(format!("user.id={u}&scope.OS-INHERIT:inherited_to=false")).await,
        1
    );
    // the list of a domain's inherited grants: an unknown domain is a 404, an unknown user
    // has none
    keystone_error(
        c.admin(
            Method::GET,
            &format!("/OS-INHERIT/domains/nope/users/{u}/roles/inherited_to_projects"),
        ),
        404,
    )
    .await;
    let none = c
        .json("/OS-INHERIT/domains/default/users/nobody/roles/inherited_to_projects")
        .await;
    assert!(none["roles"].as_array().unwrap().is_empty());
    // a user and a group at once: 400 before any policy check, also for a reader
    let reader = c.fake.create_user("plainreader", "pw").unwrap();
    c.fake
        .grant_project_role(&reader, &c.top, "reader")
        .unwrap();
    let (t, _) = token(
        &c.fake,
        "plainreader",
        "pw",
        json!({"project": {"id": c.top}}),
    )
    .await;
    keystone_error(
        Client::new()
            .get(format!(
                "{}/role_assignments?user.id={u}&group.id=g",
                c.fake.auth_url()
            ))
            .header("x-auth-token", t),
        400,
    )
    .await;
}
