//! The Keystone the integration tests run against: a fresh in-process fake by default, or a
//! real Keystone when `KEYSTONE_TEST_AUTH_URL` and `KEYSTONE_TEST_ADMIN_PASSWORD` are set
//! (the conformance step sets them). Test data is created through the client's admin API with
//! unique names, so the same tests work on both.

#![allow(dead_code, unreachable_pub)]

use keystone_client::{Auth, GrantTarget, Session, UserIdentity};
use keystone_fake::FakeKeystone;
use keystone_types::auth::Scope;
use keystone_types::resources::{Project, ProjectCreate, UserCreate};

/// A Keystone to test against.
pub struct Cloud {
    /// Keeps the fake alive, when there is one.
    pub fake: Option<FakeKeystone>,
    /// The auth URL.
    pub auth_url: String,
    /// The admin's password.
    pub admin_password: String,
}

impl Cloud {
    pub async fn start() -> Cloud {
        match (
            std::env::var("KEYSTONE_TEST_AUTH_URL"),
            std::env::var("KEYSTONE_TEST_ADMIN_PASSWORD"),
        ) {
            (Ok(auth_url), Ok(admin_password)) => Cloud {
                fake: None,
                auth_url,
                admin_password,
            },
            _ => {
                let fake = FakeKeystone::start().await.expect("the fake starts");
                Cloud {
                    auth_url: fake.auth_url(),
                    admin_password: fake.admin().password.expose().to_owned(),
                    fake: Some(fake),
                }
            }
        }
    }

    pub fn is_real(&self) -> bool {
        self.fake.is_none()
    }

    pub fn admin_auth(&self) -> Auth {
        Auth::password(
            UserIdentity::by_name("admin", "Default"),
            self.admin_password.clone(),
        )
        .scoped(Scope::project_by_name("admin", "Default"))
    }

    pub fn admin(&self) -> Session {
        Session::builder(self.auth_url.clone(), self.admin_auth())
            .build()
            .expect("admin session")
    }

    pub fn session(&self, auth: Auth) -> Session {
        Session::builder(self.auth_url.clone(), auth)
            .build()
            .expect("session")
    }

    /// A fresh project under `parent`.
    pub async fn child_project(&self, prefix: &str, parent: &str) -> Project {
        let suffix = uuid::Uuid::new_v4().simple().to_string();
        self.admin()
            .admin()
            .create_project(ProjectCreate {
                name: format!("{prefix}-{}", &suffix[..12]),
                parent_id: Some(parent.to_owned()),
                ..Default::default()
            })
            .await
            .expect("child project")
    }

    /// A fresh project and a user holding `role` on it; returns (project id, user id, user name).
    pub async fn user_with_role(
        &self,
        prefix: &str,
        role: &str,
        password: &str,
    ) -> (String, String, String) {
        let admin = self.admin().admin();
        let suffix = uuid::Uuid::new_v4().simple().to_string();
        let project = admin
            .create_project(ProjectCreate {
                name: format!("{prefix}-p-{}", &suffix[..12]),
                domain_id: Some("default".into()),
                ..Default::default()
            })
            .await
            .expect("project");
        let name = format!("{prefix}-u-{}", &suffix[..12]);
        let user = admin
            .create_user(UserCreate {
                name: name.clone(),
                domain_id: Some("default".into()),
                password: Some(password.into()),
                ..Default::default()
            })
            .await
            .expect("user");
        let role = admin
            .find_role(role)
            .await
            .expect("roles")
            .expect("role exists");
        admin
            .grant_role(
                &GrantTarget::Project(project.id.clone()),
                &user.id,
                &role.id,
            )
            .await
            .expect("grant");
        (project.id, user.id, name)
    }
}
