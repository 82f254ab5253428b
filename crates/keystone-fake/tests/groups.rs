//! Groups as Keystone 30.0.0 serves them: the group routes and their errors, membership, roles
//! granted to a group reaching its members' tokens and effective role assignments, and what
//! removing a member or deleting a group does to tokens.

mod common;

use common::*;
use keystone_fake::FakeKeystone;
use reqwest::{Client, Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};

/// A fake with project `p`, user `gu` (no roles of their own), group `devs` and the admin's
/// token.
struct Cloud {
    fake: FakeKeystone,
    project: String,
    user: String,
    group: String,
    admin: String,
}

async fn cloud() -> Cloud {
    let fake = FakeKeystone::start().await.unwrap();
    let project = fake.create_project("p").unwrap();
    let user = fake.create_user("gu", "gupw").unwrap();
    let admin = admin_token(&fake).await;
    let r = Client::new()
        .post(format!("{}/groups", fake.auth_url()))
        .header("x-auth-token", &admin)
        .json(&json!({"group": {"name": " devs "}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["group"]["name"], "devs", "the name is trimmed");
    assert_eq!(body["group"]["description"], "");
    assert_eq!(body["group"]["domain_id"], "default");
    let group = body["group"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        body["group"]["links"]["self"],
        format!("{}/groups/{group}", fake.auth_url())
    );
    Cloud {
        fake,
        project,
        user,
        group,
        admin,
    }
}

impl Cloud {
    fn request(&self, method: Method, path: &str, token: &str) -> RequestBuilder {
        Client::new()
            .request(method, format!("{}{path}", self.fake.auth_url()))
            .header("x-auth-token", token)
    }

    fn admin(&self, method: Method, path: &str) -> RequestBuilder {
        self.request(method, path, &self.admin)
    }

    async fn status(&self, method: Method, path: &str) -> StatusCode {
        self.admin(method, path).send().await.unwrap().status()
    }

    async fn json(&self, path: &str) -> Value {
        let r = self.admin(Method::GET, path).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        r.json().await.unwrap()
    }

    async fn role_id(&self, name: &str) -> String {
        let roles = self.json(&format!("/roles?name={name}")).await;
        roles["roles"][0]["id"].as_str().unwrap().to_owned()
    }

    /// gu's token on `p`, with its role names.
    async fn user_token(&self) -> (String, Vec<String>) {
        let (t, body) = token(
            &self.fake,
            "gu",
            "gupw",
            json!({"project": {"id": self.project}}),
        )
        .await;
        (t, names(&body["token"]["roles"]))
    }
}

#[tokio::test]
async fn groups_are_created_read_listed_updated_and_deleted() {
    let c = cloud().await;
    let g = &c.group;
    // a second group of the same name in the domain conflicts; another name does not
    let dup = keystone_error(
        c.admin(Method::POST, "/groups")
            .json(&json!({"group": {"name": "devs"}})),
        409,
    )
    .await;
    assert!(
        dup.contains("Duplicate entry found with name devs at domain ID default"),
        "{dup}"
    );
    let missing = keystone_error(
        c.admin(Method::POST, "/groups").json(&json!({"group": {}})),
        400,
    )
    .await;
    assert!(
        missing.contains("'name' is a required property"),
        "{missing}"
    );
    let ops = json!({"group": {"name": "ops", "description": "Ops"}});
    create_as(&c.fake, &c.admin, "groups", ops).await;

    let all = c.json("/groups").await;
    assert_eq!(all["groups"].as_array().unwrap().len(), 2);
    let named = c.json("/groups?name=devs").await;
    assert_eq!(named["groups"][0]["id"], g.as_str());
    assert_eq!(named["groups"].as_array().unwrap().len(), 1);
    assert_eq!(
        c.json(&format!("/groups/{g}")).await["group"]["name"],
        "devs"
    );

    let r = c
        .admin(Method::PATCH, &format!("/groups/{g}"))
        .json(&json!({"group": {"name": "developers", "description": "Developers"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["group"]["name"], "developers");
    assert_eq!(body["group"]["description"], "Developers");
    let moved = keystone_error(
        c.admin(Method::PATCH, &format!("/groups/{g}"))
            .json(&json!({"group": {"domain_id": "elsewhere"}})),
        400,
    )
    .await;
    assert_eq!(moved, "Cannot change Domain ID");
    keystone_error(
        c.admin(Method::PATCH, "/groups/ops-of-nobody")
            .json(&json!({"group": {"name": "x"}})),
        404,
    )
    .await;

    assert_eq!(c.status(Method::DELETE, &format!("/groups/{g}")).await, 204);
    let gone = keystone_error(c.admin(Method::GET, &format!("/groups/{g}")), 404).await;
    assert_eq!(gone, format!("Could not find group: {g}."));
    assert_eq!(c.status(Method::DELETE, &format!("/groups/{g}")).await, 404);
}

#[tokio::test]
async fn members_are_added_checked_listed_and_removed() {
    let c = cloud().await;
    let (g, u) = (&c.group, &c.user);
    let membership = format!("/groups/{g}/users/{u}");
    let not_member = keystone_error(c.admin(Method::GET, &membership), 404).await;
    assert_eq!(not_member, format!("User '{u}' not found in group '{g}'"));
    // adding twice is fine, as PUT is
    assert_eq!(c.status(Method::PUT, &membership).await, 204);
    assert_eq!(c.status(Method::PUT, &membership).await, 204);
    assert_eq!(c.status(Method::HEAD, &membership).await, 204);
    assert_eq!(c.status(Method::GET, &membership).await, 204);
    // a missing group or user is named
    let no_user = keystone_error(
        c.admin(Method::PUT, &format!("/groups/{g}/users/nobody")),
        404,
    )
    .await;
    assert_eq!(no_user, "Could not find user: nobody.");
    let no_group = keystone_error(
        c.admin(Method::GET, &format!("/groups/nogroup/users/{u}")),
        404,
    )
    .await;
    assert_eq!(no_group, "Could not find group: nogroup.");

    let users = c.json(&format!("/groups/{g}/users")).await;
    assert_eq!(users["users"][0]["id"], u.as_str());
    assert_eq!(users["users"].as_array().unwrap().len(), 1);
    let mine = c.json(&format!("/users/{u}/groups")).await;
    assert_eq!(mine["groups"][0]["id"], g.as_str());
    assert_eq!(mine["groups"][0]["membership_expires_at"], Value::Null);
    assert!(
        mine["groups"][0]
            .as_object()
            .unwrap()
            .contains_key("membership_expires_at")
    );
    // a user may list their own groups (`user_id:%(user_id)s`), not another's
    let (own, _) = token(&c.fake, "gu", "gupw", Value::Null).await;
    let r = c
        .request(Method::GET, &format!("/users/{u}/groups"), &own)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let admin_id = c.fake.admin().user_id.clone();
    keystone_error(
        c.request(Method::GET, &format!("/users/{admin_id}/groups"), &own),
        403,
    )
    .await;

    assert_eq!(c.status(Method::DELETE, &membership).await, 204);
    keystone_error(c.admin(Method::DELETE, &membership), 404).await;
    assert!(
        c.json(&format!("/groups/{g}/users")).await["users"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // deleting a user ends their memberships
    assert_eq!(c.status(Method::PUT, &membership).await, 204);
    assert_eq!(c.status(Method::DELETE, &format!("/users/{u}")).await, 204);
    assert!(
        c.json(&format!("/groups/{g}/users")).await["users"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_groups_roles_reach_its_members_tokens_and_effective_assignments() {
    let c = cloud().await;
    let (g, u, p) = (&c.group, &c.user, &c.project);
    let member = c.role_id("member").await;
    let grant = format!("/projects/{p}/groups/{g}/roles/{member}");
    assert_eq!(c.status(Method::HEAD, &grant).await, 404);
    assert_eq!(c.status(Method::PUT, &grant).await, 204);
    assert_eq!(c.status(Method::HEAD, &grant).await, 204);
    let listed = c.json(&format!("/projects/{p}/groups/{g}/roles")).await;
    assert_eq!(names(&listed["roles"]), ["member"]);
    // the user's own grants do not list the group's
    let own = c.json(&format!("/projects/{p}/users/{u}/roles")).await;
    assert!(own["roles"].as_array().unwrap().is_empty());

    // not yet a member: no roles on p, so no token scoped to it
    let r = issue(
        &c.fake,
        &password_body("gu", "gupw", json!({"project": {"id": p}})),
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        c.status(Method::PUT, &format!("/groups/{g}/users/{u}"))
            .await,
        204
    );
    let (t, roles) = c.user_token().await;
    assert_eq!(
        roles,
        ["member", "reader"],
        "the group's role and what it implies"
    );
    let projects = c.json(&format!("/users/{u}/projects")).await;
    assert_eq!(projects["projects"][0]["id"], p.as_str());

    // assignments: the group's row, and with `effective` the member's rows through it
    let rows = c.json(&format!("/role_assignments?group.id={g}")).await;
    let rows = rows["role_assignments"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["group"]["id"], g.as_str());
    assert!(rows[0].get("user").is_none());
    let base = c.fake.auth_url();
    assert_eq!(rows[0]["links"]["assignment"], format!("{base}{grant}"));
    let effective = c
        .json(&format!(
            "/role_assignments?user.id={u}&effective&include_names"
        ))
        .await;
    let effective = effective["role_assignments"].as_array().unwrap();
    assert_eq!(
        effective.len(),
        2,
        "member, and reader through it: {effective:?}"
    );
    for row in effective {
        assert_eq!(row["user"]["id"], u.as_str());
        assert_eq!(row["user"]["name"], "gu");
        assert_eq!(
            row["links"]["membership"],
            format!("{base}/groups/{g}/users/{u}")
        );
        assert_eq!(row["links"]["assignment"], format!("{base}{grant}"));
    }
    assert!(effective[1]["links"]["prior_role"].is_string());
    let direct = c.json(&format!("/role_assignments?user.id={u}")).await;
    assert!(direct["role_assignments"].as_array().unwrap().is_empty());
    let both = keystone_error(
        c.admin(
            Method::GET,
            &format!("/role_assignments?group.id={g}&effective"),
        ),
        400,
    )
    .await;
    assert_eq!(
        both,
        "Combining effective and group filter will always result in an empty list."
    );

    // removing the user from the group revokes their tokens, and the role with it
    assert_eq!(
        c.status(Method::DELETE, &format!("/groups/{g}/users/{u}"))
            .await,
        204
    );
    assert_eq!(validate(&c.fake, &c.admin, &t, "").await.status(), 404);
}

#[tokio::test]
async fn domain_and_system_grants_to_groups() {
    let c = cloud().await;
    let (g, u) = (&c.group, &c.user);
    let reader = c.role_id("reader").await;
    for path in [
        format!("/domains/default/groups/{g}/roles/{reader}"),
        format!("/system/groups/{g}/roles/{reader}"),
    ] {
        assert_eq!(c.status(Method::GET, &path).await, 404, "{path}");
        assert_eq!(c.status(Method::PUT, &path).await, 204, "{path}");
        assert_eq!(c.status(Method::GET, &path).await, 204, "{path}");
    }
    let system = c.json(&format!("/system/groups/{g}/roles")).await;
    assert_eq!(names(&system["roles"]), ["reader"]);
    assert_eq!(
        c.status(Method::PUT, &format!("/groups/{g}/users/{u}"))
            .await,
        204
    );
    let (_, body) = token(&c.fake, "gu", "gupw", json!({"system": {"all": true}})).await;
    assert_eq!(names(&body["token"]["roles"]), ["reader"]);
    let (_, body) = token(&c.fake, "gu", "gupw", json!({"domain": {"id": "default"}})).await;
    assert_eq!(names(&body["token"]["roles"]), ["reader"]);
    // a grant to a group that does not exist is a 404 naming the group
    let missing = keystone_error(
        c.admin(
            Method::PUT,
            &format!("/system/groups/nogroup/roles/{reader}"),
        ),
        404,
    )
    .await;
    assert_eq!(missing, "Could not find group: nogroup.");
    assert_eq!(
        c.status(
            Method::DELETE,
            &format!("/system/groups/{g}/roles/{reader}")
        )
        .await,
        204
    );
    assert!(
        c.json(&format!("/system/groups/{g}/roles")).await["roles"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn deleting_a_group_with_roles_revokes_its_members_tokens() {
    let c = cloud().await;
    let (g, u, p) = (&c.group, &c.user, &c.project);
    // gu holds member on p directly too, so a token survives the group's roles going away
    c.fake.grant_project_role(u, p, "member").unwrap();
    c.fake.add_user_to_group(g, u).unwrap();
    let (before, _) = c.user_token().await;
    // a group without roles: deleting it leaves the members' tokens alone
    let idle = c.fake.create_group("idle").unwrap();
    c.fake.add_user_to_group(&idle, u).unwrap();
    assert_eq!(
        c.status(Method::DELETE, &format!("/groups/{idle}")).await,
        204
    );
    assert_eq!(validate(&c.fake, &c.admin, &before, "").await.status(), 200);

    c.fake.grant_group_project_role(g, p, "reader").unwrap();
    assert_eq!(c.status(Method::DELETE, &format!("/groups/{g}")).await, 204);
    assert_eq!(validate(&c.fake, &c.admin, &before, "").await.status(), 404);
    let rows = c
        .json(&format!("/role_assignments?scope.project.id={p}"))
        .await;
    assert!(
        rows["role_assignments"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r.get("group").is_none()),
        "the group's grants went with it"
    );
    let (_, roles) = c.user_token().await;
    assert_eq!(roles, ["member", "reader"]);
}

#[tokio::test]
async fn a_domain_reader_sees_its_own_domains_groups_only() {
    let c = cloud().await;
    let other = c.fake.create_domain("other").unwrap();
    let theirs = json!({"group": {"name": "theirs", "domain_id": other}});
    create_as(&c.fake, &c.admin, "groups", theirs).await;
    let reader = c.fake.create_user("dr", "drpw").unwrap();
    c.fake
        .grant_domain_role(&reader, "default", "reader")
        .unwrap();
    let (t, _) = token(&c.fake, "dr", "drpw", json!({"domain": {"id": "default"}})).await;
    let r = c.request(Method::GET, "/groups", &t).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    let domains: Vec<&str> = body["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["domain_id"].as_str().unwrap())
        .collect();
    assert_eq!(domains, ["default"]);
    // a reader may not create one
    keystone_error(
        c.request(Method::POST, "/groups", &t)
            .json(&json!({"group": {"name": "mine", "domain_id": "default"}})),
        403,
    )
    .await;
}

#[tokio::test]
async fn a_seed_file_makes_groups_members_and_grants_to_groups() {
    use keystone_fake::Seed;
    let seed = Seed::from_yaml(
        "projects: [{name: ops}]\n\
         users: [{name: olga, password: olgapw}]\n\
         groups: [{name: operators, description: on call, members: [olga]}]\n\
         grants: [{group: operators, project: ops, role: member}]\n",
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

    for (yaml, problem) in [
        (
            "groups: [{name: g, members: [nobody]}]",
            "no user named \"nobody\"",
        ),
        (
            "grants: [{group: nogroup, system: true, role: reader}]",
            "no group named \"nogroup\"",
        ),
        (
            "users: [{name: u}]\ngroups: [{name: g}]\ngrants: [{user: u, group: g, system: true, role: reader}]",
            "name exactly one of user or group",
        ),
        (
            "grants: [{system: true, role: reader}]",
            "name exactly one of user or group",
        ),
    ] {
        let fake = FakeKeystone::start().await.unwrap();
        let err = fake
            .apply_seed(&Seed::from_yaml(yaml).unwrap())
            .unwrap_err()
            .to_string();
        assert!(err.contains(problem), "{yaml}: {err}");
    }
}

#[tokio::test]
async fn deleting_a_domain_ends_its_users_memberships_and_grants() {
    let c = cloud().await;
    let other = c.fake.create_domain("doomed").unwrap();
    let doomed = json!({"user": {"name": "doomed-user", "domain_id": other}});
    let user = create_as(&c.fake, &c.admin, "users", doomed).await;
    c.fake.add_user_to_group(&c.group, &user).unwrap();
    c.fake
        .grant_project_role(&user, &c.project, "member")
        .unwrap();
    let r = c
        .admin(Method::PATCH, &format!("/domains/{other}"))
        .json(&json!({"domain": {"enabled": false}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        c.status(Method::DELETE, &format!("/domains/{other}")).await,
        204
    );
    let members = c.json(&format!("/groups/{}/users", c.group)).await;
    assert!(members["users"].as_array().unwrap().is_empty());
    let rows = c
        .json(&format!("/role_assignments?scope.project.id={}", c.project))
        .await;
    assert!(
        rows["role_assignments"].as_array().unwrap().is_empty(),
        "{rows}"
    );
}
