//! What the benchmarks share: a fake Keystone with a service user and members on a `services`
//! project, a layer validating with the service user, and members' tokens; and the load
//! generator (`load`).

#![allow(dead_code, unreachable_pub)]

pub mod load;

use keystone_client::{Auth, Session, UserIdentity};
use keystone_fake::FakeKeystone;
use keystone_middleware::AuthTokenLayer;
use keystone_middleware::config::AuthTokenConfig;
use keystone_types::auth::Scope;

/// The fake (keep it alive), the project, and the layer.
pub struct Setup {
    pub fake: FakeKeystone,
    pub project: String,
    pub layer: AuthTokenLayer,
}

/// The layer's configuration: the service user `svc` on `project`, without the catalog.
pub fn config(fake: &FakeKeystone, project: &str) -> AuthTokenConfig {
    AuthTokenConfig {
        auth_url: Some(fake.auth_url()),
        username: Some("svc".into()),
        password: Some("pw".into()),
        user_domain_id: Some("default".into()),
        project_id: Some(project.to_owned()),
        include_service_catalog: false,
        ..Default::default()
    }
}

/// Starts the fake with `svc` (service role) and the given members (password `pw`).
pub async fn setup(members: &[&str]) -> Setup {
    let fake = FakeKeystone::start().await.expect("fake");
    let project = fake.create_project("services").expect("project");
    let users = std::iter::once(("svc", "service")).chain(members.iter().map(|m| (*m, "member")));
    for (user, role) in users {
        let id = fake.create_user(user, "pw").expect("user");
        fake.grant_project_role(&id, &project, role).expect("grant");
    }
    let layer = AuthTokenLayer::from_config(&config(&fake, &project)).expect("layer");
    Setup {
        fake,
        project,
        layer,
    }
}

/// A member's token.
pub async fn token(s: &Setup, user: &str) -> String {
    let session = Session::builder(
        s.fake.auth_url(),
        Auth::password(UserIdentity::by_name(user, "Default"), "pw")
            .scoped(Scope::project_by_id(&s.project)),
    )
    .build()
    .expect("session");
    session
        .access()
        .await
        .expect("token")
        .token()
        .expose()
        .to_owned()
}
