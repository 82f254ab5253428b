//! The authentication middleware, in tower-http's shape: [`AuthTokenLayer`] (configuration
//! only, cheap to clone) makes an [`AuthToken`] around the application, whose calls return a
//! [`ResponseFuture`]. `access` has keystonemiddleware's access-rule path patterns.
//!
//! **Architecture invariant:** no import circle between modules. The one exception is
//! `auth_token`'s `layer` and `service`, tower's pair: the layer makes the service, and the
//! service reads the layer's `Shared`. Below `auth_token` the chain is one-way: `policy →
//! context → compact`, `cache → headers → compact`, `cache → shared_cache → config`, `cache →
//! revocation`.

mod access;
mod future;
mod layer;
mod revoke_poll;
mod service;
mod startup;

pub use self::future::ResponseFuture;
pub use self::layer::{AuthTokenLayer, RevocationStatus};
pub use self::service::AuthToken;
pub use self::startup::StartupError;
