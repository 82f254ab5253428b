//! `/metrics` in Prometheus' text format (prometheus-client): requests by outcome, the
//! upstream's latency, and the authentication layer's metrics (its token cache, shared cache,
//! validation and revocation counters, and Keystone's validation latency).

use std::time::Duration;

use keystone_middleware::AuthTokenLayer;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Forwarded (or, for forward-auth, allowed).
    Allowed,
    /// 401: no valid token.
    Unauthenticated,
    /// 403: the policy, or no route, denied it.
    Forbidden,
    /// 503: the token could not be validated.
    Unavailable,
    /// 429: the client had too many unknown tokens validated.
    RateLimited,
    /// 502 or 504: the upstream could not be reached or did not answer in time.
    UpstreamError,
}

impl Outcome {
    fn label(self) -> &'static str {
        match self {
            Outcome::Allowed => "allowed",
            Outcome::Unauthenticated => "unauthenticated",
            Outcome::Forbidden => "forbidden",
            Outcome::Unavailable => "unavailable",
            Outcome::RateLimited => "rate_limited",
            Outcome::UpstreamError => "upstream_error",
        }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

/// The proxy's metrics.
#[derive(Debug)]
pub(crate) struct Metrics {
    registry: Registry,
    requests: Family<OutcomeLabel, Counter>,
    upstream: Histogram,
}

impl Metrics {
    pub(crate) fn new(layer: &AuthTokenLayer) -> Self {
        let mut registry = Registry::with_prefix("keystone_proxy");
        let requests = Family::<OutcomeLabel, Counter>::default();
        registry.register(
            "requests",
            "Requests answered, by outcome",
            requests.clone(),
        );
        // 1 ms to about 33 s
        let upstream = Histogram::new(exponential_buckets(0.001, 2.0, 16));
        registry.register(
            "upstream_latency_seconds",
            "Time to the upstream's answer head",
            upstream.clone(),
        );
        layer.register_metrics(&mut registry);
        Metrics {
            registry,
            requests,
            upstream,
        }
    }

    pub(crate) fn count(&self, outcome: Outcome) {
        self.requests
            .get_or_create(&OutcomeLabel {
                outcome: outcome.label(),
            })
            .inc();
    }

    pub(crate) fn upstream_latency(&self, d: Duration) {
        self.upstream.observe(d.as_secs_f64());
    }

    pub(crate) fn registry(&self) -> &Registry {
        &self.registry
    }
}
