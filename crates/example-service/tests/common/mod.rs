//! The seed flow's cloud, shared by the demo and the tests: a fake Keystone, `myservice`
//! registered with its endpoints and service user, a member and an admin on a `demo` project,
//! and example-service listening on loopback in front of it.

#![allow(dead_code, unreachable_pub)]

use example_service::{AppState, app, policy_defaults};
use keystone_client::{Auth, EndpointFilter, GrantTarget, Session, UserIdentity};
use keystone_fake::FakeKeystone;
use keystone_middleware::config::AuthTokenConfig;
use keystone_middleware::{AuthTokenLayer, Policy};
use keystone_types::auth::Scope;
use keystone_types::resources::{EndpointCreate, ProjectCreate, ServiceCreate, UserCreate};

/// Everything the flow needs. With `KEYSTONE_TEST_AUTH_URL` and `KEYSTONE_TEST_ADMIN_PASSWORD`
/// set, a real Keystone replaces the fake (the conformance step runs the seed flow so).
pub struct Cloud {
    fake: Option<FakeKeystone>,
    /// Added to every name the cloud creates (so that several tests can share one real
    /// Keystone); empty for the seed flow.
    suffix: String,
    pub auth_url: String,
    pub service_url: String,
    pub layer: AuthTokenLayer,
    pub operator: Session,
}

fn password_session(auth_url: &str, user: &str, password: &str, project: &str) -> Session {
    Session::builder(
        auth_url,
        Auth::password(UserIdentity::by_name(user, "Default"), password.to_owned())
            .scoped(Scope::project_by_name(project, "Default")),
    )
    .build()
    .expect("session")
}

/// The service's `[keystone_authtoken]` against `auth_url`: the service user `myservice`
/// on `services`, without the catalog.
pub fn service_config(auth_url: &str) -> AuthTokenConfig {
    service_config_named(auth_url, "")
}

/// [`service_config`] for a cloud whose names end in `suffix`.
pub fn service_config_named(auth_url: &str, suffix: &str) -> AuthTokenConfig {
    AuthTokenConfig {
        auth_url: Some(auth_url.to_owned()),
        www_authenticate_uri: Some(auth_url.to_owned()),
        username: Some(format!("myservice{suffix}")),
        password: Some("myservicesecretpassword".into()),
        user_domain_id: Some("default".into()),
        project_name: Some(format!("services{suffix}")),
        project_domain_id: Some("default".into()),
        include_service_catalog: false,
        ..Default::default()
    }
}

impl Cloud {
    /// Starts the fake, registers everything through keystone-client, starts the service.
    pub async fn start(log: &dyn Fn(&str)) -> anyhow::Result<Cloud> {
        Self::start_with(log, |_| {}).await
    }

    /// Like [`Cloud::start`], with changes to the middleware's configuration.
    pub async fn start_with(
        log: &dyn Fn(&str),
        edit: impl FnOnce(&mut AuthTokenConfig),
    ) -> anyhow::Result<Cloud> {
        Self::start_named(log, "", edit).await
    }

    /// Like [`Cloud::start_with`], every name (projects, service type, users) ending in
    /// `suffix`: tests that run against the real Keystone besides the seed flow use one.
    pub async fn start_named(
        log: &dyn Fn(&str),
        suffix: &str,
        edit: impl FnOnce(&mut AuthTokenConfig),
    ) -> anyhow::Result<Cloud> {
        let (fake, auth_url, admin_password) = match (
            std::env::var("KEYSTONE_TEST_AUTH_URL"),
            std::env::var("KEYSTONE_TEST_ADMIN_PASSWORD"),
        ) {
            (Ok(url), Ok(password)) => {
                log(&format!("real Keystone at {url}"));
                (None, url, password)
            }
            _ => {
                let fake = FakeKeystone::start().await?;
                log(&format!("fake Keystone at {}", fake.auth_url()));
                let (url, password) = (fake.auth_url(), fake.admin().password.expose().to_owned());
                (Some(fake), url, password)
            }
        };
        let operator = password_session(&auth_url, "admin", &admin_password, "admin");
        let admin = operator.admin();
        let create_project = |name: &str| ProjectCreate {
            name: format!("{name}{suffix}"),
            domain_id: Some("default".into()),
            ..Default::default()
        };
        let services = admin.create_project(create_project("services")).await?;
        let demo = admin.create_project(create_project("demo")).await?;

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let service_url = format!("http://{}", listener.local_addr()?);
        let service = admin
            .create_service(ServiceCreate {
                kind: format!("myservice{suffix}"),
                name: Some(format!("myservice{suffix}")),
                ..Default::default()
            })
            .await?;
        for interface in ["admin", "public", "internal"] {
            admin
                .create_endpoint(EndpointCreate {
                    interface: interface.into(),
                    service_id: service.id.clone(),
                    url: service_url.clone(),
                    ..Default::default()
                })
                .await?;
        }
        log(&format!(
            "registered service myservice with its endpoints at {service_url}"
        ));
        let role = |name: &'static str| {
            let admin = admin.clone();
            async move {
                admin
                    .find_role(name)
                    .await
                    .map(|r| r.expect("bootstrap roles exist"))
            }
        };
        let (admin_role, member_role) = (role("admin").await?, role("member").await?);
        for (name, password, project, role, email) in [
            (
                "myservice",
                "myservicesecretpassword",
                &services.id,
                &admin_role.id,
                Some("myservice@localhost"),
            ),
            ("alice", "alicepw", &demo.id, &member_role.id, None),
            ("bob", "bobpw", &demo.id, &admin_role.id, None),
        ] {
            let user = admin
                .create_user(UserCreate {
                    name: format!("{name}{suffix}"),
                    password: Some(password.into()),
                    email: email.map(str::to_owned),
                    domain_id: Some("default".into()),
                    ..Default::default()
                })
                .await?;
            admin
                .grant_role(&GrantTarget::Project(project.clone()), &user.id, role)
                .await?;
        }
        log(
            "created the service user (admin on services), alice (member on demo) and bob (admin on demo)",
        );

        let mut config = service_config_named(&auth_url, suffix);
        edit(&mut config);
        let layer = AuthTokenLayer::from_config(&config)?;
        let state = AppState::new(Policy::with_defaults(policy_defaults())?);
        let router = app(state, layer.clone());
        // served as the binary serves it: bounded connections, header read timeout
        tokio::spawn(async move {
            let config = keystone_middleware::config::ServerConfig::default();
            keystone_middleware::serve(listener, router, &config, std::future::pending()).await
        });
        log("example-service is running");
        Ok(Cloud {
            fake,
            suffix: suffix.to_owned(),
            auth_url,
            service_url,
            layer,
            operator,
        })
    }

    /// The fake, for tests that need its controls (they run against the fake only).
    pub fn fake(&self) -> &FakeKeystone {
        self.fake
            .as_ref()
            .expect("this test needs the fake Keystone's controls")
    }

    /// A user's session on the `demo` project (`name` without the suffix; the password is
    /// the name and `pw`).
    pub fn user(&self, name: &str) -> Session {
        let password = format!("{name}pw");
        password_session(
            &self.auth_url,
            &self.name(name),
            &password,
            &self.name("demo"),
        )
    }

    /// A name as this cloud created it: `name` and the suffix.
    pub fn name(&self, name: &str) -> String {
        format!("{name}{}", self.suffix)
    }

    /// Where the catalog says the service is, as the seed client finds it.
    pub async fn find_service(&self, session: &Session) -> anyhow::Result<String> {
        Ok(session
            .endpoint(&EndpointFilter::new(self.name("myservice")))
            .await?)
    }
}

/// A request without a session (so with only the headers given): status, headers and body
/// (JSON, or the text as a JSON string).
pub async fn raw(
    url: &str,
    method: reqwest::Method,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> (
    reqwest::StatusCode,
    reqwest::header::HeaderMap,
    serde_json::Value,
) {
    let mut req = reqwest::Client::new().request(method, url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(b) = body {
        req = req
            .header("content-type", "application/json")
            .body(b.to_owned());
    }
    answer(req.send().await.unwrap()).await
}

/// A response's status, headers and body (JSON, or the text as a JSON string).
pub async fn answer(
    r: reqwest::Response,
) -> (
    reqwest::StatusCode,
    reqwest::header::HeaderMap,
    serde_json::Value,
) {
    let status = r.status();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap();
    (
        status,
        headers,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
    )
}
