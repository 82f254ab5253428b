//! The OpenStack Identity v3 wire model, shared by the client, the fake Keystone and the
//! middleware.
//!
//! Every type here serializes to exactly the JSON a real Keystone 30.0.0 sends or accepts:
//! fields Keystone always writes (even as `null`) are always written, fields it only sometimes
//! writes are skipped when absent. The recorded exchanges under `fixtures/exchanges/` parse into
//! these types and serialize back to the same JSON.
//!
//! **Architecture invariant:** wire types live once, here; no other crate re-declares a token
//! body. This crate does no I/O and depends on serde, serde_json and chrono only.
//!
//! # Example
//!
//! ```
//! use keystone_types::auth::{AuthRequest, Scope};
//!
//! let body = AuthRequest::password_by_name("admin", "Default", "secret")
//!     .with_scope(Scope::project_by_name("admin", "Default"));
//! let json = serde_json::to_value(&body).unwrap();
//! assert_eq!(json["auth"]["identity"]["methods"][0], "password");
//! assert_eq!(json["auth"]["scope"]["project"]["domain"]["name"], "Default");
//! // the password never shows up in Debug output
//! assert!(!format!("{body:?}").contains("secret"));
//! ```

pub mod auth;
pub mod error;
mod refs;
pub mod resources;
pub mod revoke;
pub mod secret;
pub mod timestamp;
pub mod token;
pub mod version;

pub use error::{ErrorBody, ErrorResponse};
pub use secret::Secret;
pub use timestamp::Timestamp;
