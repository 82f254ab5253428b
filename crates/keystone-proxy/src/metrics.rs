//! `/metrics` in Prometheus' text format (prometheus-client): requests by outcome, the
//! upstream's latency, and the authentication layer's cache and validation counters.

use std::time::Duration;

use keystone_middleware::AuthTokenLayer;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
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
    pub(crate) fn new(layer: AuthTokenLayer) -> Self {
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
        registry.register_collector(Box::new(LayerCounters(layer)));
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

    pub(crate) fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

/// The layer's counters, read at each scrape.
#[derive(Debug)]
struct LayerCounters(AuthTokenLayer);

impl Collector for LayerCounters {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let c = self.0.counters();
        for (name, help, value) in [
            (
                "token_cache_hits",
                "Requests whose token was in the cache",
                c.hits,
            ),
            (
                "token_cache_misses",
                "Requests whose token was not in the cache",
                c.misses,
            ),
            (
                "token_cache_coalesced",
                "Misses that waited for another request's validation",
                c.coalesced,
            ),
            (
                "validations",
                "Validations asked of Keystone",
                c.validations,
            ),
            (
                "keystone_errors",
                "Validations that failed because Keystone was unavailable",
                c.keystone_errors,
            ),
            (
                "negative_cache_hits",
                "Requests rejected from the negative cache",
                c.negative_hits,
            ),
            (
                "validations_overloaded",
                "Requests answered 503 at once: too many validations in flight",
                c.overloaded,
            ),
            (
                "validations_rate_limited",
                "Requests answered 429: their client had too many unknown tokens validated",
                c.rate_limited,
            ),
            (
                "credentials_rejected",
                "Requests answered 503: Keystone rejected the service's own credentials",
                c.credentials_rejected,
            ),
        ] {
            let counter = ConstCounter::new(value);
            let metric = encoder.encode_descriptor(name, help, None, counter.metric_type())?;
            counter.encode(metric)?;
        }
        Ok(())
    }
}
