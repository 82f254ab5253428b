//! An OpenStack Identity v3 client, done as keystoneauth1 and python-keystoneclient do it:
//! authentication with every method and scope, a session that caches its token and
//! re-authenticates, version discovery, catalog endpoint selection, token validation for
//! services, the admin API, and configuration from `OS_*` variables or `clouds.yaml`.
//!
//! **Architecture invariant:** this is the only crate that talks to Keystone over HTTP. The
//! middleware and the proxy validate through `Session`. Tests of the fake itself use reqwest
//! directly, because what they test is the HTTP surface.
//!
//! # Example
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> anyhow::Result<()> {
//! # let fake = keystone_fake::FakeKeystone::start().await?;
//! # let auth_url = fake.auth_url();
//! use keystone_client::{Auth, Session, UserIdentity, ValidateOptions};
//! use keystone_types::auth::Scope;
//!
//! let session = Session::builder(
//!     auth_url,
//!     Auth::password(UserIdentity::by_name("admin", "Default"), "adminpw")
//!         .scoped(Scope::project_by_name("admin", "Default")),
//! )
//! .build()?;
//! let me = session.access().await?;
//! let checked = session.validate_token(me.token().expose(), ValidateOptions::default()).await?;
//! assert_eq!(checked.user_name(), "admin");
//! assert!(checked.has_role("reader")); // implied by admin
//! # Ok(()) }
//! ```

pub mod access;
pub mod admin;
pub mod auth;
pub mod catalog;
pub mod config;
pub mod error;
pub mod session;
mod tokens;

pub use access::{AccessInfo, TokenScope};
pub use admin::{Admin, EndpointQuery, GrantTarget, RoleAssignmentQuery};
pub use auth::{Auth, Method, UserIdentity};
pub use catalog::{EndpointFilter, Interface};
pub use config::CloudConfig;
pub use error::{ConfigError, Error, ErrorKind, RawBody, Result};
pub use session::{Session, SessionBuilder};
pub use tokens::ValidateOptions;
