//! The access log of a service: one line per request (method, path and request id in the
//! request's span; status and latency on the line), never its headers or query string, where
//! tokens travel; at `[server] access_log_level`, for `access_log_sample_rate` of the requests,
//! answers of 500 and above always.
//!
//! # Example
//!
//! ```
//! use axum::{Router, routing::get};
//! use keystone_middleware::config::ServerConfig;
//!
//! let app: Router = Router::new()
//!     .route("/", get(|| async { "ok" }))
//!     .layer(keystone_middleware::access_log(&ServerConfig::default()));
//! ```

use tower_http::classify::{ServerErrorsAsFailures, SharedClassifier};
use tower_http::trace::{DefaultOnRequest, DefaultOnResponse, OnResponse, TraceLayer};

use crate::config::ServerConfig;
use crate::request_id::RequestIds;

/// The access log layer [`access_log`] makes.
pub type AccessLogLayer = TraceLayer<
    SharedClassifier<ServerErrorsAsFailures>,
    fn(&axum::http::Request<axum::body::Body>) -> tracing::Span,
    DefaultOnRequest,
    AccessLog,
>;

/// The access log for a router, as `config` asks (put it inside [`crate::RequestIdLayer`], so
/// that its lines carry the request id).
pub fn access_log(config: &ServerConfig) -> AccessLogLayer {
    TraceLayer::new_for_http()
        .make_span_with(request_span::<axum::body::Body> as fn(&_) -> _)
        .on_response(AccessLog::new(config))
}

/// The access log's span for a request: its method, path and request id. Never its headers or
/// query string, where tokens travel.
fn request_span<B>(req: &axum::http::Request<B>) -> tracing::Span {
    let span = tracing::info_span!(
        "request",
        method = %req.method(),
        path = %req.uri().path(),
        request_id = tracing::field::Empty,
    );
    if let Some(ids) = req.extensions().get::<RequestIds>() {
        span.record("request_id", tracing::field::display(ids.request_id));
    }
    span
}

/// The access log: one line per response (status and latency, in the request's span), at the
/// configured level, for the configured share of requests; server errors always.
#[derive(Debug, Clone, Copy)]
pub struct AccessLog {
    level: Option<tracing::Level>,
    sample_rate: f64,
}

impl AccessLog {
    /// The access log `config` asks for (`access_log_level`, `access_log_sample_rate`).
    pub fn new(config: &ServerConfig) -> Self {
        let level = match config.access_log_level.to_ascii_lowercase().as_str() {
            "off" | "none" => None,
            "debug" => Some(tracing::Level::DEBUG),
            "warn" | "warning" => Some(tracing::Level::WARN),
            "error" => Some(tracing::Level::ERROR),
            "trace" => Some(tracing::Level::TRACE),
            _ => Some(tracing::Level::INFO),
        };
        AccessLog {
            level,
            sample_rate: config.access_log_sample_rate.clamp(0.0, 1.0),
        }
    }
}

impl<B> OnResponse<B> for AccessLog {
    fn on_response(
        self,
        response: &axum::http::Response<B>,
        latency: std::time::Duration,
        span: &tracing::Span,
    ) {
        let level = if response.status().is_server_error() {
            tracing::Level::ERROR
        } else {
            match self.level {
                Some(l) if self.sample_rate >= 1.0 || rand::random::<f64>() < self.sample_rate => l,
                _ => return,
            }
        };
        DefaultOnResponse::new()
            .level(level)
            .on_response(response, latency, span);
    }
}
