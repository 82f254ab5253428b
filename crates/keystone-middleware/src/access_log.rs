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

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use axum::Router;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::routing::get;
    use tower::ServiceExt;

    use crate::config::ServerConfig;

    /// Where the test's log lines go.
    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl Write for Lines {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// The access log lines of 20 answers of `status` with `level` and `rate`.
    async fn logged(level: &str, rate: f64, status: StatusCode) -> Vec<String> {
        let config = ServerConfig {
            access_log_level: level.into(),
            access_log_sample_rate: rate,
            ..ServerConfig::default()
        };
        let app = Router::new()
            .route("/", get(move || async move { status }))
            .layer(super::access_log(&config))
            .layer(crate::RequestIdLayer);
        let lines = Lines::default();
        let writer = lines.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        // callsites other tests' threads met first, without a subscriber, cached "never"
        tracing::callsite::rebuild_interest_cache();
        for _ in 0..20 {
            let req = Request::get("/?token=secret")
                .header("x-auth-token", "gAAAAAsecret")
                .body(Body::empty())
                .unwrap();
            app.clone().oneshot(req).await.unwrap();
        }
        let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .filter(|l| l.contains("finished processing request"))
            .map(str::to_owned)
            .collect()
    }

    #[tokio::test]
    async fn one_line_per_request_at_its_level_and_share_errors_always() {
        let all = logged("warn", 1.0, StatusCode::OK).await;
        assert_eq!(all.len(), 20, "{all:?}");
        assert!(
            all.iter()
                .all(|l| l.contains("WARN") && l.contains("request_id=req-"))
        );
        assert!(all.iter().all(|l| !l.contains("secret")), "{all:?}");
        assert!(logged("off", 1.0, StatusCode::OK).await.is_empty());
        assert!(logged("info", 0.0, StatusCode::OK).await.is_empty());
        let some = logged("info", 0.5, StatusCode::OK).await.len();
        assert!((1..20).contains(&some), "{some} of 20 sampled at 0.5");
        // server errors are logged whatever the level and the share
        let errors = logged("off", 0.0, StatusCode::BAD_GATEWAY).await;
        assert_eq!(errors.len(), 20);
        assert!(errors.iter().all(|l| l.contains("ERROR")));
    }
}
