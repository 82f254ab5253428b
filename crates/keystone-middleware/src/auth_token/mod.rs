//! The authentication middleware, in tower-http's shape: [`AuthTokenLayer`] (configuration
//! only, cheap to clone) makes an [`AuthToken`] around the application, whose calls return a
//! [`ResponseFuture`]. `access` has keystonemiddleware's access-rule path patterns.
//!
//! **Architecture invariant:** `layer` and `service` are the one pair of modules allowed to
//! import each other (the layer makes the service; the service reads the layer's `Shared`);
//! everything else here depends only on modules below it (`cache`, `compact`, `headers`,
//! `context`, `request_id`, `answers`).

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
