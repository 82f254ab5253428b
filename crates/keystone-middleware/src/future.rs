//! The response future of [`crate::AuthToken`].

use std::future::Future;
use std::pin::Pin;

/// The future `AuthToken` returns: validation then the inner service, boxed because it awaits
/// Keystone.
pub type ResponseFuture<E> =
    Pin<Box<dyn Future<Output = Result<axum::response::Response, E>> + Send>>;
