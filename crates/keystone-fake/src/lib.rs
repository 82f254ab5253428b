//! An in-process fake of OpenStack Keystone's Identity v3 API, for tests and local development.
//!
//! It starts on `127.0.0.1:0` in a few milliseconds, bootstraps itself as
//! `keystone-manage bootstrap` does (the `Default` domain, an `admin` user and project, the
//! roles `admin` > `manager` > `member` > `reader` and `service`, `RegionOne`, and an `identity`
//! service whose endpoints point at the fake), and answers with Keystone's paths, status codes,
//! headers and JSON shapes. Real clients (keystoneauth1, the `openstack` CLI,
//! keystonemiddleware) accept it.
//!
//! **Architecture invariant:** `keystone-fake` is only ever a dev-dependency, or a dependency
//! of `xtask` and of binaries.
//!
//! **Architecture invariant:** the fake keeps everything in memory and binds only what it is
//! told (by default `127.0.0.1:0`). Tests start their own fake and never reach beyond loopback.
//! The control API is refused on any other address.
//!
//! # Example
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> anyhow::Result<()> {
//! use keystone_fake::FakeKeystone;
//!
//! let fake = FakeKeystone::start().await?;
//! let services = fake.create_project("services")?;
//! let user = fake.create_user("myservice", "myservicesecretpassword")?;
//! fake.grant_project_role(&user, &services, "admin")?;
//! assert!(fake.auth_url().ends_with("/v3"));
//! assert_eq!(fake.admin().user_name, "admin");
//! // the fake stops when `fake` is dropped
//! # Ok(())
//! # }
//! ```

// Top-down: `routes` names every handler of `api` (one module per Keystone subsystem); the
// handlers read requests through `extract` and `state` (which also gives the caller), ask
// `policy` and render through `views`; all of these sit on `store`, which sits on `error`
// alone. `seed` and `FakeKeystone` below reach the store directly.
mod api;
mod controls;
mod error;
mod extract;
mod logins;
mod policy;
mod routes;
mod schema;
pub mod seed;
mod state;
mod store;
mod views;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use keystone_types::Secret;
use keystone_types::resources::{
    ApplicationCredentialCreate, DomainCreate, EndpointCreate, ProjectCreate, RegionCreate,
    RoleCreate, RoleIdentifier, ServiceCreate, UserCreate, UserUpdate,
};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use controls::{Clock, Controls, Fault};
pub use error::ApiError;
pub use logins::{AppCredLogin, Login, LoginProject};
pub use seed::{Seed, SeedError};
pub use store::{ProjectRec, RoleRec, Store, TokenRec, TokenScope, UserRec};

use state::{AppState, Shared};
use store::{Actor, Grant, Target};

/// The default token lifetime, as Keystone's `[token] expiration` (one hour).
const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(3600);

/// The admin's credentials, as `keystone-manage bootstrap` creates them.
#[derive(Debug, Clone)]
pub struct AdminCredentials {
    /// `admin`.
    pub user_name: String,
    /// The admin user's id.
    pub user_id: String,
    /// The bootstrap password.
    pub password: Secret,
    /// `admin`.
    pub project_name: String,
    /// The admin project's id.
    pub project_id: String,
    /// `Default`.
    pub user_domain_name: String,
    /// `Default`.
    pub project_domain_name: String,
}

/// Why the fake could not start or be seeded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FakeError {
    /// Binding or serving failed.
    #[error("fake keystone i/o: {0}")]
    Io(#[from] std::io::Error),
    /// A seed did not load.
    #[error(transparent)]
    Seed(#[from] SeedError),
    /// A seeding call was refused (duplicate, missing reference...).
    #[error("fake keystone refused: {0}")]
    Api(#[from] ApiError),
    /// The test controls were asked for on an address beyond loopback.
    #[error("the test controls are served on a loopback address only, not {0}")]
    ControlsNotLoopback(SocketAddr),
}

/// Configures a fake before it starts.
#[derive(Debug, Clone)]
pub struct FakeKeystoneBuilder {
    listen: SocketAddr,
    admin_password: Secret,
    token_ttl: Duration,
    seed: Option<Seed>,
    controls_api: bool,
    access_log: bool,
}

impl Default for FakeKeystoneBuilder {
    fn default() -> Self {
        FakeKeystoneBuilder {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            admin_password: Secret::new("adminpw"),
            token_ttl: DEFAULT_TOKEN_TTL,
            seed: None,
            controls_api: false,
            access_log: false,
        }
    }
}

impl FakeKeystoneBuilder {
    /// Where to listen; `127.0.0.1:0` (a free port) by default.
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// The bootstrap admin's password; `adminpw` by default.
    pub fn admin_password(mut self, password: impl Into<Secret>) -> Self {
        self.admin_password = password.into();
        self
    }

    /// How long issued tokens live (one past the dates chrono can hold makes every token
    /// request a 500).
    pub fn token_ttl(mut self, ttl: Duration) -> Self {
        self.token_ttl = ttl;
        self
    }

    /// A cloud to load after the bootstrap.
    pub fn seed(mut self, seed: Seed) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Serves the test controls over HTTP under `/_fake/` (request counts, faults, the
    /// clock), for tests that drive the fake from another process. Only on a loopback
    /// address: starting fails otherwise.
    pub fn controls_api(mut self, on: bool) -> Self {
        self.controls_api = on;
        self
    }

    /// Logs one line per request at `info` (target `keystone_fake::access`): the method, the
    /// path (without the query), the status, the latency and, when known, the caller's user
    /// name (the token's owner, or for a token request the user it was issued to); never a
    /// token or a password. Off by default: tests see only what they ask for.
    pub fn access_log(mut self, on: bool) -> Self {
        self.access_log = on;
        self
    }

    /// Binds, bootstraps, seeds and starts serving.
    pub async fn start(self) -> Result<FakeKeystone, FakeError> {
        if self.controls_api && !self.listen.ip().is_loopback() {
            return Err(FakeError::ControlsNotLoopback(self.listen));
        }
        let listener = TcpListener::bind(self.listen).await?;
        let addr = listener.local_addr()?;
        let base = format!("http://{addr}");
        let shared = Arc::new(Shared {
            store: Mutex::new(Store::default()),
            base_url: OnceLock::new(),
            clock: Clock::default(),
            controls: Controls::default(),
            token_ttl: Mutex::new(to_chrono(self.token_ttl)),
            controls_api: self.controls_api,
            access_log: self.access_log,
        });
        let _ = shared.base_url.set(base.clone());
        let admin = bootstrap(&mut shared.store(), &base, self.admin_password)?;
        if let Some(seed) = &self.seed {
            seed.apply(&mut shared.store())?;
        }
        let server = spawn_server(listener, shared.clone());
        Ok(FakeKeystone {
            shared,
            addr,
            base,
            admin,
            server: Mutex::new(Some(server)),
        })
    }
}

fn to_chrono(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

struct Server {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

fn spawn_server(listener: TcpListener, shared: AppState) -> Server {
    let (stop, mut stopped) = watch::channel(false);
    // before routing, as Keystone's URL-normalizing WSGI middleware does: a trailing slash
    // names the same route (`/v3/users/` is `/v3/users`)
    let app =
        tower_http::normalize_path::NormalizePath::trim_trailing_slash(routes::router(shared));
    let task = tokio::spawn(async move {
        let shutdown = async move {
            let _ = stopped.wait_for(|s| *s).await;
        };
        let app = axum::ServiceExt::<axum::extract::Request>::into_make_service(app);
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!(error = %e, "fake keystone stopped serving");
        }
    });
    Server { stop, task }
}

/// A running fake Keystone. It stops when dropped.
pub struct FakeKeystone {
    shared: AppState,
    addr: SocketAddr,
    base: String,
    admin: AdminCredentials,
    server: Mutex<Option<Server>>,
}

impl std::fmt::Debug for FakeKeystone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeKeystone")
            .field("url", &self.base)
            .field("admin", &self.admin)
            .finish_non_exhaustive()
    }
}

impl Drop for FakeKeystone {
    fn drop(&mut self) {
        if let Some(server) = self.server_slot().take() {
            let _ = server.stop.send(true);
            server.task.abort();
        }
    }
}

impl FakeKeystone {
    /// Starts a fake with the defaults: a free loopback port, admin password `adminpw`,
    /// one-hour tokens.
    pub async fn start() -> Result<Self, FakeError> {
        Self::builder().start().await
    }

    /// Configures a fake.
    pub fn builder() -> FakeKeystoneBuilder {
        FakeKeystoneBuilder::default()
    }

    fn server_slot(&self) -> MutexGuard<'_, Option<Server>> {
        self.server.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The root URL, such as `http://127.0.0.1:41234`.
    pub fn url(&self) -> &str {
        &self.base
    }

    /// The Identity v3 URL clients use as `auth_url`: the root URL plus `/v3`.
    pub fn auth_url(&self) -> String {
        format!("{}/v3", self.base)
    }

    /// The socket address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The bootstrap admin's credentials.
    pub fn admin(&self) -> &AdminCredentials {
        &self.admin
    }

    /// The `OS_*` variables that authenticate as the admin, as `export` lines.
    pub fn admin_openrc(&self) -> String {
        let a = &self.admin;
        format!(
            "export OS_AUTH_URL={}\nexport OS_USERNAME={}\nexport OS_PASSWORD={}\n\
             export OS_PROJECT_NAME={}\nexport OS_USER_DOMAIN_NAME={}\n\
             export OS_PROJECT_DOMAIN_NAME={}\nexport OS_IDENTITY_API_VERSION=3\n",
            self.auth_url(),
            a.user_name,
            a.password.expose(),
            a.project_name,
            a.user_domain_name,
            a.project_domain_name
        )
    }

    /// Every user who can get a token, with a password or an application credential, the
    /// bootstrap `admin` first: their secrets, the roles they hold and the project a token is
    /// best scoped to (what the binary prints at start).
    pub fn logins(&self) -> Vec<Login> {
        logins::logins(&self.shared.store())
    }

    /// The clock tokens are issued and checked against; tests move it forward.
    pub fn clock(&self) -> &Clock {
        &self.shared.clock
    }

    /// Faults and request counters.
    pub fn controls(&self) -> &Controls {
        &self.shared.controls
    }

    /// How many requests a route (such as `GET /v3/auth/tokens`) has received.
    pub fn requests(&self, route: &str) -> u64 {
        self.shared.controls.requests(route)
    }

    /// Changes the lifetime of tokens issued from now on.
    pub fn set_token_ttl(&self, ttl: Duration) {
        *self
            .shared
            .token_ttl
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = to_chrono(ttl);
    }

    /// Closes the listening socket so that connections are refused (`true`), or opens it again
    /// on the same address (`false`).
    pub async fn refuse_connections(&self, refuse: bool) -> Result<(), FakeError> {
        let current = self.server_slot().take();
        match (refuse, current) {
            (true, Some(server)) => {
                let _ = server.stop.send(true);
                let _ = tokio::time::timeout(Duration::from_secs(5), server.task).await;
            }
            (false, None) => {
                let listener = TcpListener::bind(self.addr).await?;
                *self.server_slot() = Some(spawn_server(listener, self.shared.clone()));
            }
            (_, other) => *self.server_slot() = other,
        }
        Ok(())
    }

    /// Runs `f` on the fake's data, for what the convenience methods do not cover.
    pub fn with_store<T>(&self, f: impl FnOnce(&mut Store) -> T) -> T {
        f(&mut self.shared.store())
    }

    /// Loads a seed.
    pub fn apply_seed(&self, seed: &Seed) -> Result<(), FakeError> {
        Ok(seed.apply(&mut self.shared.store())?)
    }

    /// Creates a project in the `default` domain; returns its id.
    pub fn create_project(&self, name: &str) -> Result<String, FakeError> {
        Ok(self
            .shared
            .store()
            .create_project(ProjectCreate {
                name: name.to_owned(),
                ..Default::default()
            })?
            .id)
    }

    /// Creates a domain; returns its id.
    pub fn create_domain(&self, name: &str) -> Result<String, FakeError> {
        Ok(self
            .shared
            .store()
            .create_domain(
                DomainCreate {
                    name: name.to_owned(),
                    ..Default::default()
                },
                None,
            )?
            .id)
    }

    /// Creates a user with a password in the `default` domain; returns its id.
    pub fn create_user(&self, name: &str, password: &str) -> Result<String, FakeError> {
        Ok(self
            .shared
            .store()
            .create_user(UserCreate {
                name: name.to_owned(),
                password: Some(Secret::new(password)),
                ..Default::default()
            })?
            .id)
    }

    /// Changes a user's password; as in Keystone, the user's tokens issued so far are revoked.
    pub fn set_user_password(&self, user_id: &str, password: &str) -> Result<(), FakeError> {
        self.shared.store().update_user(
            user_id,
            UserUpdate {
                password: Some(Secret::new(password)),
                ..Default::default()
            },
        )?;
        Ok(())
    }

    /// Enables or disables a user; as in Keystone, disabling revokes the user's tokens issued
    /// so far, and enabling again does not bring them back.
    pub fn set_user_enabled(&self, user_id: &str, enabled: bool) -> Result<(), FakeError> {
        self.shared.store().update_user(
            user_id,
            UserUpdate {
                enabled: Some(enabled),
                ..Default::default()
            },
        )?;
        Ok(())
    }

    /// Creates a global role; returns its id.
    pub fn create_role(&self, name: &str) -> Result<String, FakeError> {
        Ok(self
            .shared
            .store()
            .create_role(RoleCreate {
                name: name.to_owned(),
                ..Default::default()
            })?
            .id)
    }

    fn role_id(store: &Store, name: &str) -> Result<String, FakeError> {
        Ok(store
            .role_by_name(name)
            .ok_or_else(|| ApiError::not_found("role", name))?
            .id
            .clone())
    }

    fn grant(&self, user_id: &str, target: Target, role: &str) -> Result<(), FakeError> {
        self.grant_to(Actor::User(user_id.to_owned()), target, role)
    }

    fn grant_to(&self, actor: Actor, target: Target, role: &str) -> Result<(), FakeError> {
        let mut store = self.shared.store();
        let role_id = Self::role_id(&store, role)?;
        store.grant(Grant {
            actor,
            target,
            role_id,
            inherited: false,
        })?;
        Ok(())
    }

    /// Creates a group in the `default` domain; returns its id.
    pub fn create_group(&self, name: &str) -> Result<String, FakeError> {
        Ok(self
            .shared
            .store()
            .create_group(keystone_types::resources::GroupCreate {
                name: name.to_owned(),
                ..Default::default()
            })?
            .id)
    }

    /// Adds a user to a group: the user holds the group's roles from then on.
    pub fn add_user_to_group(&self, group_id: &str, user_id: &str) -> Result<(), FakeError> {
        Ok(self.shared.store().add_user_to_group(group_id, user_id)?)
    }

    /// Removes a user from a group; as in Keystone, the user's tokens issued so far are
    /// revoked.
    pub fn remove_user_from_group(&self, group_id: &str, user_id: &str) -> Result<(), FakeError> {
        Ok(self
            .shared
            .store()
            .remove_user_from_group(group_id, user_id)?)
    }

    /// Grants the role named `role` to a group on a project: each member holds it there.
    pub fn grant_group_project_role(
        &self,
        group_id: &str,
        project_id: &str,
        role: &str,
    ) -> Result<(), FakeError> {
        self.grant_to(
            Actor::Group(group_id.to_owned()),
            Target::Project(project_id.to_owned()),
            role,
        )
    }

    /// Grants the role named `role` to a user on a project.
    pub fn grant_project_role(
        &self,
        user_id: &str,
        project_id: &str,
        role: &str,
    ) -> Result<(), FakeError> {
        self.grant(user_id, Target::Project(project_id.to_owned()), role)
    }

    /// Grants the role named `role` to a user on a domain.
    pub fn grant_domain_role(
        &self,
        user_id: &str,
        domain_id: &str,
        role: &str,
    ) -> Result<(), FakeError> {
        self.grant(user_id, Target::Domain(domain_id.to_owned()), role)
    }

    /// Grants the role named `role` to a user on the system.
    pub fn grant_system_role(&self, user_id: &str, role: &str) -> Result<(), FakeError> {
        self.grant(user_id, Target::System, role)
    }

    /// Creates a region; returns its id.
    pub fn create_region(&self, id: &str) -> Result<String, FakeError> {
        Ok(self
            .shared
            .store()
            .create_region(RegionCreate {
                id: Some(id.to_owned()),
                ..Default::default()
            })?
            .id)
    }

    /// Creates a service; returns its id.
    pub fn create_service(&self, kind: &str, name: &str) -> Result<String, FakeError> {
        Ok(self
            .shared
            .store()
            .create_service(ServiceCreate {
                kind: kind.to_owned(),
                name: Some(name.to_owned()),
                ..Default::default()
            })?
            .id)
    }

    /// Creates an endpoint; returns its id.
    pub fn create_endpoint(
        &self,
        service_id: &str,
        interface: &str,
        url: &str,
        region: Option<&str>,
    ) -> Result<String, FakeError> {
        Ok(self
            .shared
            .store()
            .create_endpoint(EndpointCreate {
                service_id: service_id.to_owned(),
                interface: interface.to_owned(),
                url: url.to_owned(),
                region_id: region.map(str::to_owned),
                ..Default::default()
            })?
            .id)
    }

    /// Creates an application credential for a user on a project, carrying the named roles
    /// (all of the user's roles there when `roles` is empty); returns its id.
    pub fn create_application_credential(
        &self,
        user_id: &str,
        project_id: &str,
        name: &str,
        secret: &str,
        roles: &[&str],
    ) -> Result<String, FakeError> {
        let mut store = self.shared.store();
        let available = store.effective_roles(user_id, &Target::Project(project_id.to_owned()));
        let roles = (!roles.is_empty()).then(|| {
            roles
                .iter()
                .map(|r| RoleIdentifier {
                    id: None,
                    name: Some((*r).to_owned()),
                })
                .collect()
        });
        Ok(store
            .create_app_cred(
                user_id,
                project_id,
                &available,
                ApplicationCredentialCreate {
                    name: name.to_owned(),
                    secret: Some(Secret::new(secret)),
                    roles,
                    ..Default::default()
                },
                self.shared.clock.now(),
            )?
            .id)
    }
}

/// What `keystone-manage bootstrap` creates.
fn bootstrap(
    store: &mut Store,
    base: &str,
    password: Secret,
) -> Result<AdminCredentials, ApiError> {
    store.create_domain(
        DomainCreate {
            name: "Default".into(),
            description: Some("The default domain".into()),
            ..Default::default()
        },
        Some("default".into()),
    )?;
    let mut role_ids = Vec::new();
    for name in ["admin", "manager", "member", "reader", "service"] {
        let role = store.create_role(RoleCreate {
            name: name.into(),
            ..Default::default()
        })?;
        if let Some(r) = store.roles.get_mut(&role.id) {
            r.immutable = true;
        }
        role_ids.push(role.id);
    }
    // admin implies manager implies member implies reader; made as Keystone's bootstrap makes
    // them, from the last
    for pair in role_ids[..4].windows(2).rev() {
        store.imply_role(&pair[0], &pair[1])?;
    }
    let project = store.create_project(ProjectCreate {
        name: "admin".into(),
        domain_id: Some("default".into()),
        description: Some("Bootstrap project for initializing the cloud.".into()),
        ..Default::default()
    })?;
    let user = store.create_user(UserCreate {
        name: "admin".into(),
        domain_id: Some("default".into()),
        password: Some(password.clone()),
        ..Default::default()
    })?;
    for target in [Target::Project(project.id.clone()), Target::System] {
        store.grant(Grant {
            actor: Actor::User(user.id.clone()),
            target,
            role_id: role_ids[0].clone(),
            inherited: false,
        })?;
    }
    store.create_region(RegionCreate {
        id: Some("RegionOne".into()),
        ..Default::default()
    })?;
    let identity = store.create_service(ServiceCreate {
        kind: "identity".into(),
        name: Some("keystone".into()),
        ..Default::default()
    })?;
    for interface in ["public", "internal", "admin"] {
        store.create_endpoint(EndpointCreate {
            interface: interface.into(),
            service_id: identity.id.clone(),
            url: format!("{base}/v3/"),
            region_id: Some("RegionOne".into()),
            ..Default::default()
        })?;
    }
    Ok(AdminCredentials {
        user_name: user.name,
        user_id: user.id,
        password,
        project_name: project.name,
        project_id: project.id,
        user_domain_name: "Default".into(),
        project_domain_name: "Default".into(),
    })
}
