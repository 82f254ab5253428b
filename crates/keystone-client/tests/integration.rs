//! The client against a Keystone: every auth method and scope, discovery, token validation,
//! and the admin calls of the seed flow. Runs against the in-process fake, or a real Keystone
//! when `KEYSTONE_TEST_AUTH_URL` and `KEYSTONE_TEST_ADMIN_PASSWORD` are set.

mod common;

use common::Cloud;
use keystone_client::{
    Auth, EndpointFilter, EndpointQuery, ErrorKind, GrantTarget, Interface, RoleAssignmentQuery,
    Session, TokenScope, UserIdentity, ValidateOptions,
};
use keystone_types::auth::Scope;
use keystone_types::resources::{ApplicationCredentialCreate, EndpointCreate, ServiceCreate};

#[tokio::test]
async fn every_method_and_scope() {
    let cloud = Cloud::start().await;
    let (project, user_id, name) = cloud.user_with_role("scopes", "member", "pw1").await;
    let by_name = || UserIdentity::by_name(name.clone(), "Default");

    type ScopeCheck = fn(&TokenScope) -> bool;
    let cases: Vec<(&str, Auth, ScopeCheck)> = vec![
        (
            "password by name, project by id",
            Auth::password(by_name(), "pw1").scoped(Scope::project_by_id(&project)),
            |s| matches!(s, TokenScope::Project { .. }),
        ),
        (
            "password by id, project by id",
            Auth::password(UserIdentity::by_id(&user_id), "pw1")
                .scoped(Scope::project_by_id(&project)),
            |s| matches!(s, TokenScope::Project { .. }),
        ),
        (
            "password by name in domain id, unscoped",
            Auth::password(UserIdentity::by_name_in_domain_id(&name, "default"), "pw1")
                .scoped(Scope::Unscoped),
            |s| *s == TokenScope::Unscoped,
        ),
        (
            "password, no scope",
            Auth::password(by_name(), "pw1"),
            |s| *s == TokenScope::Unscoped,
        ),
    ];
    for (what, auth, scope_ok) in cases {
        let access = cloud
            .session(auth)
            .access()
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(access.user_id(), user_id, "{what}");
        assert!(scope_ok(&access.scope()), "{what}: {:?}", access.scope());
    }

    // project by name and domain name, and the implied reader role
    let project_name = cloud
        .admin()
        .admin()
        .get_project(&project)
        .await
        .unwrap()
        .name;
    let access = cloud
        .session(
            Auth::password(by_name(), "pw1")
                .scoped(Scope::project_by_name(&project_name, "Default")),
        )
        .access()
        .await
        .unwrap();
    assert_eq!(access.project_id(), Some(project.as_str()));
    assert!(access.has_role("member") && access.has_role("reader"));

    // the admin: system and domain scopes
    let admin_user = UserIdentity::by_name("admin", "Default");
    let system = cloud
        .session(
            Auth::password(admin_user.clone(), cloud.admin_password.clone())
                .scoped(Scope::system()),
        )
        .access()
        .await
        .unwrap();
    assert_eq!(system.scope(), TokenScope::System);
    assert!(system.has_role("admin"));

    // token method: rescope an unscoped token to the project
    let unscoped = cloud
        .session(Auth::password(by_name(), "pw1").scoped(Scope::Unscoped))
        .access()
        .await
        .unwrap();
    let rescoped = cloud
        .session(Auth::token(unscoped.token().clone()).scoped(Scope::project_by_id(&project)))
        .access()
        .await
        .unwrap();
    assert_eq!(rescoped.project_id(), Some(project.as_str()));
    // Keystone keeps methods in a set: their order varies
    let mut methods = rescoped.body().methods.clone();
    methods.sort();
    assert_eq!(methods, ["password", "token"]);

    // application credentials, by id and by name
    let mine =
        cloud.session(Auth::password(by_name(), "pw1").scoped(Scope::project_by_id(&project)));
    let cred = mine
        .admin()
        .create_application_credential(
            &user_id,
            ApplicationCredentialCreate {
                name: "ci".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let secret = cred
        .secret
        .clone()
        .expect("the secret is shown at creation");
    for auth in [
        Auth::application_credential(&cred.id, secret.clone()),
        Auth::application_credential_by_name("ci", UserIdentity::by_id(&user_id), secret.clone()),
        Auth::application_credential_by_name("ci", by_name(), secret.clone()),
    ] {
        let access = cloud.session(auth).access().await.unwrap();
        assert_eq!(access.application_credential_id(), Some(cred.id.as_str()));
        assert_eq!(access.project_id(), Some(project.as_str()));
    }
    let listed = mine
        .admin()
        .list_application_credentials(&user_id)
        .await
        .unwrap();
    assert!(listed.iter().all(|c| c.secret.is_none()));
    mine.admin()
        .delete_application_credential(&user_id, &cred.id)
        .await
        .unwrap();
    let gone = cloud
        .session(Auth::application_credential(&cred.id, secret))
        .access()
        .await
        .unwrap_err();
    // Keystone 30.0.0 answers 404 for a deleted credential (a wrong secret is a 401)
    assert_eq!(gone.kind(), ErrorKind::NotFound, "{gone}");
}

#[tokio::test]
async fn wrong_credentials_are_unauthorized() {
    let cloud = Cloud::start().await;
    let err = cloud
        .session(Auth::password(
            UserIdentity::by_name("admin", "Default"),
            "wrong",
        ))
        .access()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized, "{err}");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(401));
}

#[tokio::test]
async fn discovery_with_and_without_v3() {
    let cloud = Cloud::start().await;
    let root = cloud
        .auth_url
        .trim_end_matches('/')
        .trim_end_matches("/v3")
        .to_owned();
    for url in [
        cloud.auth_url.clone(),
        format!("{}/", cloud.auth_url),
        root.clone(),
        format!("{root}/"),
    ] {
        let session = Session::builder(url.clone(), cloud.admin_auth())
            .build()
            .unwrap();
        assert_eq!(
            session.identity_url().await.unwrap(),
            format!("{root}/v3"),
            "{url}"
        );
        session
            .access()
            .await
            .unwrap_or_else(|e| panic!("{url}: {e}"));
    }
}

#[tokio::test]
async fn services_validate_tokens_with_their_own_credentials() {
    let cloud = Cloud::start().await;
    let (project, user_id, name) = cloud.user_with_role("validate", "member", "pw2").await;
    let service = cloud.admin();
    let user = cloud.session(
        Auth::password(UserIdentity::by_name(&name, "Default"), "pw2")
            .scoped(Scope::project_by_id(&project)),
    );
    let token = user.access().await.unwrap().token().expose().to_owned();

    let full = service
        .validate_token(&token, ValidateOptions::default())
        .await
        .unwrap();
    assert_eq!(full.user_id(), user_id);
    assert!(full.catalog().is_some_and(|c| !c.is_empty()));
    assert!(full.role_names().contains(&"member"));
    let bare = service
        .validate_token(
            &token,
            ValidateOptions {
                nocatalog: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(bare.catalog().is_none());
    service
        .check_token(&token, ValidateOptions::default())
        .await
        .unwrap();

    let bogus = service
        .validate_token("gAAAAABbogus", ValidateOptions::default())
        .await
        .unwrap_err();
    assert_eq!(bogus.kind(), ErrorKind::NotFound, "{bogus}");

    // a member may validate only their own token
    let (_, _, other) = cloud.user_with_role("validate2", "member", "pw3").await;
    let other = cloud.session(Auth::password(
        UserIdentity::by_name(&other, "Default"),
        "pw3",
    ));
    let forbidden = other
        .validate_token(&token, ValidateOptions::default())
        .await
        .unwrap_err();
    assert_eq!(forbidden.kind(), ErrorKind::Forbidden, "{forbidden}");

    service.revoke_token(&token).await.unwrap();
    let revoked = service
        .validate_token(&token, ValidateOptions::default())
        .await
        .unwrap_err();
    assert_eq!(revoked.kind(), ErrorKind::NotFound);
    assert_eq!(
        service
            .check_token(&token, ValidateOptions::default())
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
}

/// Seed document 000's admin flow, through the admin API.
#[tokio::test]
async fn the_seed_admin_flow() {
    let cloud = Cloud::start().await;
    let admin = cloud.admin().admin();
    let kind = format!(
        "myservice-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let service = admin
        .create_service(ServiceCreate {
            kind: kind.clone(),
            name: Some(kind.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(admin.get_service(&service.id).await.unwrap().kind, kind);
    for interface in ["admin", "public", "internal"] {
        admin
            .create_endpoint(EndpointCreate {
                interface: interface.into(),
                service_id: service.id.clone(),
                url: "http://127.0.0.1:1337".into(),
                ..Default::default()
            })
            .await
            .unwrap();
    }
    let by_type = admin.list_services(Some(&kind), None).await.unwrap();
    assert_eq!(by_type.len(), 1);
    let endpoints = admin
        .list_endpoints(&EndpointQuery {
            service_id: Some(service.id.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(endpoints.len(), 3);
    let public = admin
        .list_endpoints(&EndpointQuery {
            service_id: Some(service.id.clone()),
            interface: Some("public".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(public.len(), 1);

    let (project, user_id, _) = cloud.user_with_role("seedflow", "admin", "pw4").await;
    let assignments = admin
        .list_role_assignments(&RoleAssignmentQuery {
            user_id: Some(user_id.clone()),
            include_names: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(assignments.len(), 1);
    assert_eq!(assignments[0].role.name.as_deref(), Some("admin"));
    assert_eq!(
        assignments[0].scope.project.as_ref().map(|p| p.id.as_str()),
        Some(project.as_str())
    );
    let admin_role = admin.find_role("admin").await.unwrap().unwrap();
    let target = GrantTarget::Project(project.clone());
    assert!(
        admin
            .check_role(&target, &user_id, &admin_role.id)
            .await
            .unwrap()
    );
    admin
        .revoke_role(&target, &user_id, &admin_role.id)
        .await
        .unwrap();
    assert!(
        !admin
            .check_role(&target, &user_id, &admin_role.id)
            .await
            .unwrap()
    );

    let missing = admin
        .get_user("0123456789abcdef0123456789abcdef")
        .await
        .unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound);
    let domains = admin.list_domains(Some("Default")).await.unwrap();
    assert_eq!(domains[0].id, "default");
    assert!(
        admin
            .list_regions()
            .await
            .unwrap()
            .iter()
            .any(|r| r.id == "RegionOne")
    );

    admin.delete_service(&service.id).await.unwrap();
    assert_eq!(
        admin.get_service(&service.id).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

/// Seed document 002's client flow: authenticate, find the service by type, take its public
/// endpoint, and call it with the session.
#[tokio::test]
async fn the_seed_client_flow() {
    use wiremock::matchers::{header_exists, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let cloud = Cloud::start().await;
    let myservice = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/test"))
        .and(header_exists("x-auth-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"ok": true})))
        .expect(1)
        .mount(&myservice)
        .await;
    let admin = cloud.admin().admin();
    let kind = format!(
        "seedclient-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let service = admin
        .create_service(ServiceCreate {
            kind: kind.clone(),
            name: Some(kind.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    for (interface, url) in [
        ("internal", "http://127.0.0.1:9/internal"),
        ("public", myservice.uri().as_str()),
    ] {
        admin
            .create_endpoint(EndpointCreate {
                interface: interface.into(),
                service_id: service.id.clone(),
                url: url.into(),
                ..Default::default()
            })
            .await
            .unwrap();
    }
    let (project, _, name) = cloud.user_with_role("seedclient", "member", "pw5").await;
    let session = cloud.session(
        Auth::password(UserIdentity::by_name(&name, "Default"), "pw5")
            .scoped(Scope::project_by_id(&project)),
    );
    let url = session
        .endpoint(&EndpointFilter::new(&kind).interface(Interface::Public))
        .await
        .unwrap();
    assert_eq!(url, myservice.uri());
    let body: serde_json::Value = session
        .get(format!("{url}/test"))
        .send_json()
        .await
        .unwrap();
    assert_eq!(body["ok"], true);
    admin.delete_service(&service.id).await.unwrap();
}

#[tokio::test]
async fn tokens_limited_by_access_rules_validate_only_for_enforcers() {
    use keystone_types::token::AccessRule;
    let cloud = Cloud::start().await;
    let (project, user_id, name) = cloud.user_with_role("rules", "member", "pw4").await;
    let mine = cloud.session(
        Auth::password(UserIdentity::by_name(&name, "Default"), "pw4")
            .scoped(Scope::project_by_id(&project)),
    );
    let rule = AccessRule {
        id: None,
        service: "compute".into(),
        method: "GET".into(),
        path: "/v2.1/servers/*".into(),
    };
    let cred = mine
        .admin()
        .create_application_credential(
            &user_id,
            ApplicationCredentialCreate {
                name: "limited".into(),
                access_rules: Some(vec![rule.clone()]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let rules = cred.access_rules.clone().expect("the rules are shown");
    assert_eq!(rules.len(), 1);
    assert!(rules[0].id.is_some(), "Keystone gives each rule an id");
    let token = cloud
        .session(Auth::application_credential(
            &cred.id,
            cred.secret.clone().unwrap(),
        ))
        .access()
        .await
        .unwrap()
        .token()
        .expose()
        .to_owned();
    let service = cloud.admin();
    let hidden = service
        .validate_token(&token, ValidateOptions::default())
        .await
        .unwrap_err();
    assert_eq!(hidden.kind(), ErrorKind::NotFound, "{hidden}");
    let promise = ValidateOptions {
        access_rules: true,
        ..Default::default()
    };
    // HEAD alike
    assert_eq!(
        service
            .check_token(&token, ValidateOptions::default())
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    service.check_token(&token, promise).await.unwrap();
    let shown = service
        .validate_token(
            &token,
            ValidateOptions {
                access_rules: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let limits = shown
        .body()
        .application_credential
        .as_ref()
        .and_then(|a| a.access_rules.clone())
        .expect("the token carries the rules");
    assert_eq!(
        (&limits[0].service, &limits[0].method, &limits[0].path),
        (&rule.service, &rule.method, &rule.path)
    );
    // a credential without rules needs no promise
    let open = mine
        .admin()
        .create_application_credential(
            &user_id,
            ApplicationCredentialCreate {
                name: "open".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(open.access_rules.is_none());
    let token = cloud
        .session(Auth::application_credential(&open.id, open.secret.unwrap()))
        .access()
        .await
        .unwrap()
        .token()
        .expose()
        .to_owned();
    let body = service
        .validate_token(&token, ValidateOptions::default())
        .await
        .unwrap();
    assert!(
        body.body()
            .application_credential
            .as_ref()
            .is_some_and(|a| a.access_rules.is_none())
    );
}

/// What an operator's setup script does after creating things: update, read back, delete, with
/// ids that need encoding in a path.
#[tokio::test]
async fn admin_updates_and_deletes() {
    use keystone_types::resources::{
        DomainCreate, DomainUpdate, EndpointUpdate, ProjectUpdate, RegionCreate, RegionUpdate,
        RoleCreate, RoleUpdate, ServiceUpdate, UserUpdate,
    };
    let cloud = Cloud::start().await;
    let admin = cloud.admin().admin();
    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..12];

    // a service moved to a new URL, renamed and disabled
    let kind = format!("upd-{suffix}");
    let service = admin
        .create_service(ServiceCreate {
            kind: kind.clone(),
            name: Some(kind.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    let updated = admin
        .update_service(
            &service.id,
            ServiceUpdate {
                name: Some(format!("{kind}-renamed")),
                description: Some("moved".into()),
                enabled: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        updated.name.as_deref(),
        Some(format!("{kind}-renamed").as_str())
    );
    assert!(!updated.enabled);
    let read = admin.get_service(&service.id).await.unwrap();
    assert_eq!(read.description.as_deref(), Some("moved"));
    assert_eq!(read.kind, kind, "fields not in the update stay");
    let endpoint = admin
        .create_endpoint(EndpointCreate {
            interface: "public".into(),
            service_id: service.id.clone(),
            url: "http://127.0.0.1:1/old".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    admin
        .update_endpoint(
            &endpoint.id,
            EndpointUpdate {
                url: Some("http://127.0.0.1:1/new".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let read = admin.get_endpoint(&endpoint.id).await.unwrap();
    assert_eq!(read.url, "http://127.0.0.1:1/new");
    assert_eq!(read.interface, "public");

    // a region whose id has a space, percent-encoded in every path
    let region_id = format!("Region {suffix}");
    let region = admin
        .create_region(RegionCreate {
            id: Some(region_id.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(region.id, region_id);
    let region = admin
        .update_region(
            &region_id,
            RegionUpdate {
                description: Some("east".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(region.description, "east");
    assert_eq!(
        admin.get_region(&region_id).await.unwrap().description,
        "east"
    );
    admin.delete_region(&region_id).await.unwrap();
    assert_eq!(
        admin.get_region(&region_id).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );

    // a disabled user can no longer authenticate
    let (project, user_id, name) = cloud.user_with_role("upd", "member", "pw6").await;
    let user_auth = || {
        Auth::password(UserIdentity::by_name(&name, "Default"), "pw6")
            .scoped(Scope::project_by_id(&project))
    };
    cloud.session(user_auth()).access().await.unwrap();
    let user = admin
        .update_user(
            &user_id,
            UserUpdate {
                enabled: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(!user.enabled);
    let refused = cloud.session(user_auth()).access().await.unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Unauthorized);
    let project = admin
        .update_project(
            &project,
            ProjectUpdate {
                description: Some("closed".into()),
                enabled: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(project.description, "closed");
    assert!(!project.enabled);

    // a role renamed, then deleted
    let role = admin
        .create_role(RoleCreate {
            name: format!("upd-role-{suffix}"),
            ..Default::default()
        })
        .await
        .unwrap();
    let renamed = admin
        .update_role(
            &role.id,
            RoleUpdate {
                name: Some(format!("upd-role2-{suffix}")),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(admin.get_role(&role.id).await.unwrap().name, renamed.name);
    admin.delete_role(&role.id).await.unwrap();
    assert_eq!(
        admin.get_role(&role.id).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );

    // a domain is deleted only once disabled
    let domain = admin
        .create_domain(DomainCreate {
            name: format!("upd-domain-{suffix}"),
            ..Default::default()
        })
        .await
        .unwrap();
    let enabled = admin.delete_domain(&domain.id).await.unwrap_err();
    assert_eq!(enabled.kind(), ErrorKind::Forbidden, "{enabled}");
    let disabled = admin
        .update_domain(
            &domain.id,
            DomainUpdate {
                enabled: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(!disabled.enabled);
    admin.delete_domain(&domain.id).await.unwrap();
    assert_eq!(
        admin.get_domain(&domain.id).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );

    // ids that would name another path are refused before any request
    for id in ["", ".", ".."] {
        let e = admin.get_user(id).await.unwrap_err();
        assert!(matches!(e, keystone_client::Error::InvalidId { .. }), "{e}");
    }
    admin.delete_service(&service.id).await.unwrap();
    assert_eq!(
        admin.get_endpoint(&endpoint.id).await.unwrap_err().kind(),
        ErrorKind::NotFound,
        "a service's endpoints go with it"
    );
}

/// Implication rules between roles, the access rules of a user's application credentials, and
/// a user changing their own password.
#[tokio::test]
async fn implied_roles_access_rules_and_password_changes() {
    use keystone_types::resources::RoleCreate;
    use keystone_types::token::AccessRule;
    let cloud = Cloud::start().await;
    let admin = cloud.admin().admin();
    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..12];

    // a prior role implying another: holders of the first get both in their tokens
    let role = |name: String| {
        let admin = admin.clone();
        async move {
            admin
                .create_role(RoleCreate {
                    name,
                    ..Default::default()
                })
                .await
                .unwrap()
        }
    };
    let prior = role(format!("prior-{suffix}")).await;
    let implied = role(format!("implied-{suffix}")).await;
    let rule = admin
        .create_implied_role(&prior.id, &implied.id)
        .await
        .unwrap();
    assert_eq!(rule.prior_role.id, prior.id);
    assert_eq!(rule.implies.name, implied.name);
    assert!(
        admin
            .check_implied_role(&prior.id, &implied.id)
            .await
            .unwrap()
    );
    assert!(
        !admin
            .check_implied_role(&implied.id, &prior.id)
            .await
            .unwrap()
    );
    let listed = admin.list_implied_roles(&prior.id).await.unwrap();
    assert_eq!(listed.implies.len(), 1);
    assert_eq!(listed.implies[0].id, implied.id);
    assert!(
        admin
            .list_role_inferences()
            .await
            .unwrap()
            .iter()
            .any(|r| r.prior_role.id == prior.id && r.implies.iter().any(|i| i.id == implied.id))
    );
    let (project, user_id, name) = cloud.user_with_role("implied", "member", "pw7").await;
    admin
        .grant_role(&GrantTarget::Project(project.clone()), &user_id, &prior.id)
        .await
        .unwrap();
    let mine = cloud.session(
        Auth::password(UserIdentity::by_name(&name, "Default"), "pw7")
            .scoped(Scope::project_by_id(&project)),
    );
    let access = mine.access().await.unwrap();
    let roles = access.role_names();
    assert!(roles.contains(&prior.name.as_str()), "{roles:?}");
    assert!(roles.contains(&implied.name.as_str()), "{roles:?}");
    admin
        .delete_implied_role(&prior.id, &implied.id)
        .await
        .unwrap();
    assert!(
        !admin
            .check_implied_role(&prior.id, &implied.id)
            .await
            .unwrap()
    );

    // access rules: the user's own, kept while a credential uses them
    let cred = mine
        .admin()
        .create_application_credential(
            &user_id,
            ApplicationCredentialCreate {
                name: format!("rules-{suffix}"),
                access_rules: Some(vec![AccessRule {
                    id: None,
                    service: "compute".into(),
                    method: "GET".into(),
                    path: "/v2.1/servers".into(),
                }]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let rules = mine.admin().list_access_rules(&user_id).await.unwrap();
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0].path, "/v2.1/servers");
    let rule = mine
        .admin()
        .get_access_rule(&user_id, &rules[0].id)
        .await
        .unwrap();
    assert_eq!(rule.service, "compute");
    let in_use = mine
        .admin()
        .delete_access_rule(&user_id, &rule.id)
        .await
        .unwrap_err();
    assert_eq!(in_use.kind(), ErrorKind::Forbidden, "{in_use}");
    mine.admin()
        .delete_application_credential(&user_id, &cred.id)
        .await
        .unwrap();
    mine.admin()
        .delete_access_rule(&user_id, &rule.id)
        .await
        .unwrap();
    assert!(
        mine.admin()
            .list_access_rules(&user_id)
            .await
            .unwrap()
            .is_empty()
    );

    // a password change: the original authenticates it, no token needed
    let wrong = admin
        .change_password(&user_id, "not-the-password", "pw8")
        .await
        .unwrap_err();
    assert_eq!(wrong.kind(), ErrorKind::Unauthorized, "{wrong}");
    admin.change_password(&user_id, "pw7", "pw8").await.unwrap();
    let with = |password: &str| {
        cloud.session(
            Auth::password(UserIdentity::by_name(&name, "Default"), password)
                .scoped(Scope::project_by_id(&project)),
        )
    };
    assert_eq!(
        with("pw7").access().await.unwrap_err().kind(),
        ErrorKind::Unauthorized
    );
    with("pw8").access().await.unwrap();
    for r in [&prior, &implied] {
        admin.delete_role(&r.id).await.unwrap();
    }
}

/// A trustor delegates a role on a project to a trustee, who authenticates with the trust;
/// with impersonation the trustee's tokens show the trustor; a trust's uses run out; deleting
/// the trust ends its tokens.
#[tokio::test]
async fn trusts_delegate_roles_to_another_user() {
    use keystone_types::resources::{RoleIdentifier, TrustCreate, UserCreate};
    let cloud = Cloud::start().await;
    let admin = cloud.admin().admin();
    let (project, trustor_id, trustor_name) =
        cloud.user_with_role("trustor", "member", "pw9").await;
    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..12];
    let trustee_name = format!("trustee-{suffix}");
    let trustee = admin
        .create_user(UserCreate {
            name: trustee_name.clone(),
            domain_id: Some("default".into()),
            password: Some("pw10".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let trustor = cloud.session(
        Auth::password(UserIdentity::by_name(&trustor_name, "Default"), "pw9")
            .scoped(Scope::project_by_id(&project)),
    );
    let delegate = |impersonation: bool, remaining_uses: Option<u64>| TrustCreate {
        trustor_user_id: trustor_id.clone(),
        trustee_user_id: trustee.id.clone(),
        project_id: Some(project.clone()),
        impersonation,
        roles: vec![RoleIdentifier {
            name: Some("member".into()),
            id: None,
        }],
        remaining_uses,
        ..Default::default()
    };
    let trust = trustor
        .admin()
        .create_trust(delegate(false, None))
        .await
        .unwrap();
    assert_eq!(trust.project_id.as_deref(), Some(project.as_str()));
    assert_eq!(trust.trustee_user_id, trustee.id);
    assert!(trust.roles.iter().flatten().any(|r| r.name == "member"));
    let with_trust = |id: &str| {
        cloud.session(
            Auth::password(UserIdentity::by_name(&trustee_name, "Default"), "pw10")
                .scoped(Scope::trust(id)),
        )
    };

    let access = with_trust(&trust.id).access().await.unwrap();
    assert!(
        matches!(access.scope(), TokenScope::Project { ref id, .. } if *id == project),
        "{:?}",
        access.scope()
    );
    assert_eq!(access.user_id(), trustee.id);
    let t = access.trust().expect("the token names its trust");
    assert_eq!(t.id, trust.id);
    assert_eq!(t.trustor_user.id, trustor_id);
    assert_eq!(t.trustee_user.id, trustee.id);
    assert!(!t.impersonation);
    assert!(
        access.role_names().contains(&"member"),
        "{:?}",
        access.role_names()
    );
    // a service validating the token sees the trust too
    let token = access.token().expose().to_owned();
    let seen = cloud
        .admin()
        .validate_token(&token, ValidateOptions::default())
        .await
        .unwrap();
    assert_eq!(seen.trust().map(|t| t.id.as_str()), Some(trust.id.as_str()));

    assert_eq!(
        trustor.admin().get_trust(&trust.id).await.unwrap().id,
        trust.id
    );
    let listed = trustor
        .admin()
        .list_trusts(Some(&trustor_id), None)
        .await
        .unwrap();
    assert!(listed.iter().any(|t| t.id == trust.id));

    // impersonation: the trustee's token shows the trustor; one use only
    let once = trustor
        .admin()
        .create_trust(delegate(true, Some(1)))
        .await
        .unwrap();
    let access = with_trust(&once.id).access().await.unwrap();
    assert_eq!(access.user_id(), trustor_id);
    assert!(access.trust().is_some_and(|t| t.impersonation));
    assert!(with_trust(&once.id).access().await.is_err(), "used up");

    // deleting the trust ends its tokens
    trustor.admin().delete_trust(&trust.id).await.unwrap();
    let gone = cloud
        .admin()
        .validate_token(&token, ValidateOptions::default())
        .await
        .unwrap_err();
    assert_eq!(gone.kind(), ErrorKind::NotFound, "{gone}");
    assert!(with_trust(&trust.id).access().await.is_err());
}

/// A session that asks for its token without the catalog: it still validates and calls the
/// admin API, and has no endpoint to offer.
#[tokio::test]
async fn a_session_without_its_catalog() {
    let cloud = Cloud::start().await;
    let lean = Session::builder(cloud.auth_url.clone(), cloud.admin_auth())
        .include_catalog(false)
        .build()
        .unwrap();
    let access = lean.access().await.unwrap();
    assert!(access.catalog().is_none_or(<[_]>::is_empty));
    let e = lean
        .endpoint(&EndpointFilter::new("identity"))
        .await
        .unwrap_err();
    assert!(matches!(e, keystone_client::Error::EmptyCatalog), "{e}");
    let (project, _, name) = cloud.user_with_role("lean", "member", "pw11").await;
    let token = cloud
        .session(
            Auth::password(UserIdentity::by_name(&name, "Default"), "pw11")
                .scoped(Scope::project_by_id(&project)),
        )
        .access()
        .await
        .unwrap()
        .token()
        .expose()
        .to_owned();
    let seen = lean
        .validate_token(&token, ValidateOptions::default())
        .await
        .unwrap();
    assert_eq!(seen.project_id(), Some(project.as_str()));
    assert!(!lean.admin().list_regions().await.unwrap().is_empty());
    // the default keeps it
    assert!(
        cloud
            .admin()
            .access()
            .await
            .unwrap()
            .catalog()
            .is_some_and(|c| !c.is_empty())
    );
}

/// Groups: created, found, updated, members added and removed, a role granted to the group
/// reaching its member's token, and deleted.
#[tokio::test]
async fn groups_and_their_roles() {
    use keystone_types::resources::{GroupCreate, GroupUpdate};

    let cloud = Cloud::start().await;
    let admin = cloud.admin().admin();
    // a user with a role on their own project, and a second project for the group's role
    let (_, user_id, name) = cloud.user_with_role("grouped", "reader", "pw9").await;
    let (project, _, _) = cloud.user_with_role("groupproj", "reader", "pw10").await;
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let group_name = format!("devs-{}", &suffix[..12]);
    let group = admin
        .create_group(GroupCreate {
            name: group_name.clone(),
            description: Some("Developers".into()),
            domain_id: Some("default".into()),
        })
        .await
        .unwrap();
    assert_eq!(group.name, group_name);
    assert_eq!(group.domain_id, "default");
    assert_eq!(admin.get_group(&group.id).await.unwrap(), group);
    let found = admin
        .list_groups(Some(&group_name), Some("default"))
        .await
        .unwrap();
    assert_eq!(found, vec![group.clone()]);
    let renamed = admin
        .update_group(
            &group.id,
            GroupUpdate {
                name: Some(format!("{group_name}-2")),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(renamed.name, format!("{group_name}-2"));
    assert_eq!(renamed.description, "Developers");
    let moved = admin
        .update_group(
            &group.id,
            GroupUpdate {
                domain_id: Some("elsewhere".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(moved.status().map(|s| s.as_u16()), Some(400), "{moved}");

    assert!(
        !admin
            .check_user_in_group(&group.id, &user_id)
            .await
            .unwrap()
    );
    admin.add_user_to_group(&group.id, &user_id).await.unwrap();
    assert!(
        admin
            .check_user_in_group(&group.id, &user_id)
            .await
            .unwrap()
    );
    let members = admin.list_group_users(&group.id).await.unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].id, user_id);
    let mine = admin.list_user_groups(&user_id).await.unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].group.id, group.id);
    assert_eq!(mine[0].membership_expires_at, None);

    let member = admin.find_role("member").await.unwrap().unwrap();
    let target = GrantTarget::Project(project.clone());
    assert!(
        !admin
            .check_group_role(&target, &group.id, &member.id)
            .await
            .unwrap()
    );
    admin
        .grant_group_role(&target, &group.id, &member.id)
        .await
        .unwrap();
    assert!(
        admin
            .check_group_role(&target, &group.id, &member.id)
            .await
            .unwrap()
    );
    // the user's own grant does not exist: the role comes through the group
    assert!(
        !admin
            .check_role(&target, &user_id, &member.id)
            .await
            .unwrap()
    );
    let rows = admin
        .list_role_assignments(&RoleAssignmentQuery {
            group_id: Some(group.id.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0].group.as_ref().map(|g| g.id.as_str()),
        Some(group.id.as_str())
    );
    let effective = admin
        .list_role_assignments(&RoleAssignmentQuery {
            user_id: Some(user_id.clone()),
            project_id: Some(project.clone()),
            role_id: Some(member.id.clone()),
            effective: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(effective.len(), 1);
    assert!(
        effective[0]
            .links
            .membership
            .as_deref()
            .is_some_and(|m| m.ends_with(&format!("/groups/{}/users/{user_id}", group.id)))
    );
    let theirs = cloud.session(
        Auth::password(UserIdentity::by_name(&name, "Default"), "pw9")
            .scoped(Scope::project_by_id(&project)),
    );
    let access = theirs.access().await.unwrap();
    assert!(access.has_role("member") && access.has_role("reader"));

    admin
        .revoke_group_role(&target, &group.id, &member.id)
        .await
        .unwrap();
    assert!(
        !admin
            .check_group_role(&target, &group.id, &member.id)
            .await
            .unwrap()
    );
    admin
        .remove_user_from_group(&group.id, &user_id)
        .await
        .unwrap();
    assert!(
        !admin
            .check_user_in_group(&group.id, &user_id)
            .await
            .unwrap()
    );
    admin.delete_group(&group.id).await.unwrap();
    let gone = admin.get_group(&group.id).await.unwrap_err();
    assert_eq!(gone.kind(), ErrorKind::NotFound);
}

/// `include_subtree`: a project's role assignments with those of the projects under it.
#[tokio::test]
async fn role_assignments_of_a_project_tree() {
    let cloud = Cloud::start().await;
    let admin = cloud.admin().admin();
    let (child_parent_of, user_id, _) = cloud.user_with_role("treeowner", "reader", "pw11").await;
    let child = cloud.child_project("tree-child", &child_parent_of).await;
    let member = admin.find_role("member").await.unwrap().unwrap();
    admin
        .grant_role(
            &GrantTarget::Project(child.id.clone()),
            &user_id,
            &member.id,
        )
        .await
        .unwrap();
    let query = |include_subtree| RoleAssignmentQuery {
        project_id: Some(child_parent_of.clone()),
        user_id: Some(user_id.clone()),
        include_subtree,
        ..Default::default()
    };
    let own = admin.list_role_assignments(&query(false)).await.unwrap();
    assert_eq!(own.len(), 1, "the parent's own: {own:?}");
    let tree = admin.list_role_assignments(&query(true)).await.unwrap();
    let mut projects: Vec<&str> = tree
        .iter()
        .filter_map(|a| a.scope.project.as_ref().map(|p| p.id.as_str()))
        .collect();
    projects.sort();
    let mut want = vec![child_parent_of.as_str(), child.id.as_str()];
    want.sort();
    assert_eq!(projects, want);
}

/// OS-INHERIT: a role granted on a domain's projects, and on a project's subprojects.
#[tokio::test]
async fn inherited_grants_reach_the_projects_under_their_target() {
    let cloud = Cloud::start().await;
    let admin = cloud.admin().admin();
    let (parent, user_id, name) = cloud.user_with_role("inheritor", "reader", "pw12").await;
    let child = cloud.child_project("inherit-child", &parent).await;
    let member = admin.find_role("member").await.unwrap().unwrap();
    // the user's roles on a project, or `None` when they get no token there
    let roles_on = |project: String| {
        let session = cloud.session(
            Auth::password(UserIdentity::by_name(&name, "Default"), "pw12")
                .scoped(Scope::project_by_id(&project)),
        );
        async move {
            let access = session.access().await.ok()?;
            let mut roles: Vec<String> =
                access.role_names().iter().map(|r| r.to_string()).collect();
            roles.sort();
            Some(roles)
        }
    };
    let both = Some(vec!["member".to_owned(), "reader".to_owned()]);

    let under = GrantTarget::ProjectsUnder(parent.clone());
    assert!(
        !admin
            .check_role(&under, &user_id, &member.id)
            .await
            .unwrap()
    );
    admin
        .grant_role(&under, &user_id, &member.id)
        .await
        .unwrap();
    assert!(
        admin
            .check_role(&under, &user_id, &member.id)
            .await
            .unwrap()
    );
    assert_eq!(roles_on(child.id.clone()).await, both);
    assert_eq!(
        roles_on(parent.clone()).await,
        Some(vec!["reader".to_owned()]),
        "not on the project itself"
    );
    let rows = admin
        .list_role_assignments(&RoleAssignmentQuery {
            user_id: Some(user_id.clone()),
            inherited_only: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].scope.inherited_to.as_deref(), Some("projects"));
    assert_eq!(
        rows[0].scope.project.as_ref().map(|p| p.id.as_str()),
        Some(parent.as_str())
    );
    admin
        .revoke_role(&under, &user_id, &member.id)
        .await
        .unwrap();
    assert_eq!(
        roles_on(child.id.clone()).await,
        None,
        "no role there any more"
    );

    let of_domain = GrantTarget::ProjectsOfDomain("default".into());
    admin
        .grant_role(&of_domain, &user_id, &member.id)
        .await
        .unwrap();
    assert_eq!(roles_on(child.id.clone()).await, both);
    assert_eq!(roles_on(parent.clone()).await, both);
    admin
        .revoke_role(&of_domain, &user_id, &member.id)
        .await
        .unwrap();
    assert!(
        !admin
            .check_role(&of_domain, &user_id, &member.id)
            .await
            .unwrap()
    );
}
