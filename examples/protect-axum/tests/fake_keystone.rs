//! The service of `src/lib.rs` in front of a fake Keystone, called without a token, as a
//! member and as an admin (docs/getting-started.md, "Test it with the fake Keystone").

use std::error::Error;

use keystone_client::{Auth, Session, UserIdentity};
use keystone_fake::FakeKeystone;
use keystone_middleware::config::Config;
use keystone_middleware::{AuthTokenLayer, Policy};
use keystone_types::auth::Scope;
use protect_axum_example::{app, policy_defaults};

/// A session of `user` on project `demo`: its requests carry the user's token.
fn session(fake: &FakeKeystone, user: &str, password: &str) -> Session {
    let auth = Auth::password(UserIdentity::by_name(user, "Default"), password)
        .scoped(Scope::project_by_name("demo", "Default"));
    Session::builder(fake.auth_url(), auth)
        .build()
        .expect("a session")
}

#[tokio::test]
async fn members_list_and_only_admins_create() -> Result<(), Box<dyn Error>> {
    // Keystone, with the service user (the `service` role lets it validate tokens) and two
    // callers on project `demo`: a member and an admin
    let fake = FakeKeystone::start().await?;
    let services = fake.create_project("services")?;
    let myservice = fake.create_user("myservice", "myservice-password")?;
    fake.grant_project_role(&myservice, &services, "service")?;
    let demo = fake.create_project("demo")?;
    let alice = fake.create_user("alice", "alice-password")?;
    fake.grant_project_role(&alice, &demo, "member")?;
    let bob = fake.create_user("bob", "bob-password")?;
    fake.grant_project_role(&bob, &demo, "admin")?;

    // the service, configured as an operator configures it, on a free port
    let config = Config::from_ini_str(&format!(
        "[keystone_authtoken]\n\
         auth_url = {}\n\
         username = myservice\n\
         password = myservice-password\n\
         user_domain_name = Default\n\
         project_name = services\n\
         project_domain_name = Default\n",
        fake.auth_url()
    ))?;
    let auth = AuthTokenLayer::from_config(&config.keystone_authtoken)?;
    auth.check().await?;
    let policy = Policy::with_defaults(policy_defaults())?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let things = format!("http://{}/v1/things", listener.local_addr()?);
    let server = config.server.clone();
    tokio::spawn(async move {
        let app = app(auth, policy);
        keystone_middleware::serve(listener, app, &server, std::future::pending()).await
    });

    let member = session(&fake, "alice", "alice-password");
    let admin = session(&fake, "bob", "bob-password");
    // no token: the layer answers 401 with WWW-Authenticate
    let anonymous = member.get(&things).unauthenticated().send().await?;
    assert_eq!(anonymous.status(), 401);
    // the member's token: thing:list allows readers, and a member is one
    let listed = member.get(&things).send().await?;
    assert_eq!(listed.status(), 200);
    let listed: serde_json::Value = listed.json().await?;
    assert_eq!(listed["user"], "alice");
    assert_eq!(listed["project"], demo.as_str());
    // thing:create is rule:admin: the member is denied by the policy, the admin is not
    let denied = member.post(&things).send().await?;
    assert_eq!(denied.status(), 403);
    let created = admin.post(&things).send().await?;
    assert_eq!(created.status(), 201);
    Ok(())
}
