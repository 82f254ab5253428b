//! Who can get a token from the fake, and with what: every user with a password or an
//! application credential, the roles they hold and the project their token is best scoped to.
//! The binary prints these at start (with a `curl` each) so that getting a token for a seeded
//! user takes one command.

use keystone_types::Secret;
use serde_json::{Value, json};

use crate::store::{Actor, ProjectRec, Store, Target};

/// A user of the fake, as someone getting a token needs to know them.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Login {
    /// The user's name.
    pub user_name: String,
    /// The user's domain's id, such as `default`.
    pub domain_id: String,
    /// The password, when the user has one.
    pub password: Option<Secret>,
    /// The project a token is best scoped to: the user's default project when they hold a role
    /// there, otherwise the first project, by name, where they hold one (directly or through
    /// a group, not inherited); none when they hold no role on a project.
    pub project: Option<LoginProject>,
    /// The roles they hold, each as people read it: `member on project demo`,
    /// `reader on the system`, `observer on project services (group operators)`,
    /// `reader on the projects of domain Default (inherited)`.
    pub roles: Vec<String>,
    /// Their application credentials.
    pub application_credentials: Vec<AppCredLogin>,
}

/// A project to scope to, by name in its domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginProject {
    /// Its name.
    pub name: String,
    /// Its domain's id.
    pub domain_id: String,
}

/// An application credential, by name for its user.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AppCredLogin {
    /// Its name.
    pub name: String,
    /// Its secret.
    pub secret: Secret,
}

impl Login {
    /// The body of `POST /v3/auth/tokens` that gets this user a token with their password,
    /// scoped to [`Login::project`] (unscoped without one); none for a user without a
    /// password.
    pub fn password_token_request(&self) -> Option<Value> {
        let password = self.password.as_ref()?;
        let mut auth = json!({
            "identity": {
                "methods": ["password"],
                "password": {"user": {
                    "name": self.user_name,
                    "domain": {"id": self.domain_id},
                    "password": password.expose(),
                }},
            },
        });
        if let Some(p) = &self.project {
            auth["scope"] = json!({"project": {"name": p.name, "domain": {"id": p.domain_id}}});
        }
        Some(json!({ "auth": auth }))
    }

    /// The body of `POST /v3/auth/tokens` that gets a token with one of this user's
    /// application credentials (which carry their own scope).
    pub fn app_cred_token_request(&self, credential: &AppCredLogin) -> Value {
        json!({"auth": {"identity": {
            "methods": ["application_credential"],
            "application_credential": {
                "name": credential.name,
                "user": {"name": self.user_name, "domain": {"id": self.domain_id}},
                "secret": credential.secret.expose(),
            },
        }}})
    }
}

/// Every user who can get a token (with a password or an application credential), by domain
/// then name, the bootstrap `admin` first.
pub(crate) fn logins(store: &Store) -> Vec<Login> {
    let mut users: Vec<_> = store
        .users
        .values()
        .filter(|u| u.enabled)
        .map(|u| {
            let application_credentials: Vec<AppCredLogin> = store
                .app_creds
                .values()
                .filter(|c| c.user_id == u.id)
                .map(|c| AppCredLogin {
                    name: c.name.clone(),
                    secret: c.secret.clone(),
                })
                .collect();
            Login {
                user_name: u.name.clone(),
                domain_id: u.domain_id.clone(),
                password: u.password.clone(),
                project: best_project(store, &u.id, u.default_project_id.as_deref()),
                roles: roles_held(store, &u.id),
                application_credentials,
            }
        })
        .filter(|l| l.password.is_some() || !l.application_credentials.is_empty())
        .collect();
    users.sort_by(|a, b| {
        (a.user_name != "admin", &a.domain_id, &a.user_name).cmp(&(
            b.user_name != "admin",
            &b.domain_id,
            &b.user_name,
        ))
    });
    users
}

/// The actors whose grants `user_id` holds: the user, and each group they belong to.
fn actors_of(store: &Store, user_id: &str) -> Vec<Actor> {
    std::iter::once(Actor::User(user_id.to_owned()))
        .chain(store.groups_of(user_id).map(|g| Actor::Group(g.to_owned())))
        .collect()
}

/// The user's default project when they hold a role there, else the first project by name
/// where they hold one.
fn best_project(store: &Store, user_id: &str, default: Option<&str>) -> Option<LoginProject> {
    let actors = actors_of(store, user_id);
    let mut candidates: Vec<&ProjectRec> = store
        .grants
        .iter()
        .filter(|g| !g.inherited && actors.contains(&g.actor))
        .filter_map(|g| match &g.target {
            Target::Project(id) => store.projects.get(id),
            _ => None,
        })
        .filter(|p| p.enabled)
        .collect();
    candidates.sort_by(|a, b| a.name.cmp(&b.name));
    let chosen = candidates
        .iter()
        .find(|p| Some(p.id.as_str()) == default)
        .or(candidates.first())?;
    Some(LoginProject {
        name: chosen.name.clone(),
        domain_id: chosen.domain_id.clone(),
    })
}

/// The roles `user_id` holds, as people read them.
fn roles_held(store: &Store, user_id: &str) -> Vec<String> {
    let actors = actors_of(store, user_id);
    let named = |id: &str, of: &dyn Fn(&str) -> Option<String>| of(id).unwrap_or(id.to_owned());
    let project = |id: &str| store.projects.get(id).map(|p| p.name.clone());
    let domain = |id: &str| store.domains.get(id).map(|d| d.name.clone());
    store
        .grants
        .iter()
        .filter(|g| actors.contains(&g.actor))
        .map(|g| {
            let role = store
                .roles
                .get(&g.role_id)
                .map_or(g.role_id.as_str(), |r| r.name.as_str());
            let place = match (&g.target, g.inherited) {
                (Target::Project(id), false) => format!("project {}", named(id, &project)),
                (Target::Project(id), true) => {
                    format!("the projects under project {}", named(id, &project))
                }
                (Target::Domain(id), false) => format!("domain {}", named(id, &domain)),
                (Target::Domain(id), true) => {
                    format!("the projects of domain {}", named(id, &domain))
                }
                (Target::System, _) => "the system".to_owned(),
            };
            let mut notes = Vec::new();
            if g.inherited {
                notes.push("inherited".to_owned());
            }
            if let Actor::Group(id) = &g.actor {
                let name = store
                    .groups
                    .get(id)
                    .map_or(id.as_str(), |x| x.name.as_str());
                notes.push(format!("group {name}"));
            }
            let notes = if notes.is_empty() {
                String::new()
            } else {
                format!(" ({})", notes.join(", "))
            };
            format!("{role} on {place}{notes}")
        })
        .collect()
}
