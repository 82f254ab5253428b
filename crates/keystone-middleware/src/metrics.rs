//! The layer's metrics for Prometheus (prometheus-client): its counters, read at each scrape,
//! and the latency of the validations it asks of Keystone. keystone-proxy and example-service
//! expose the same `/metrics` with them.

use axum::body::Body;
use axum::http::{HeaderValue, Response, StatusCode, header};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::AuthTokenLayer;
use crate::answers::json_error;

/// The histogram of Keystone validation latency: 1 ms to about 33 s, doubling.
pub(crate) fn validation_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

/// Registers `layer`'s metrics in `registry`, under the registry's prefix:
/// `token_cache_hits`, `token_cache_misses`, `token_cache_coalesced`, `validations`,
/// `keystone_errors`, `negative_cache_hits`, `validations_overloaded`,
/// `validations_rate_limited`, `credentials_rejected`, `shared_cache_hits`,
/// `shared_cache_misses`, `shared_cache_errors`, `shared_cache_bad_entries`,
/// `shared_cache_invalid_markers`,
/// `revocation_polls`, `revocation_poll_errors`, `revocation_events`, `revocation_evictions`
/// (counters), `revocation_last_poll_age_seconds` (a gauge, while revocation checks are on)
/// and `validation_latency_seconds` (a histogram of the calls to Keystone).
pub(crate) fn register(layer: &AuthTokenLayer, registry: &mut Registry) {
    registry.register(
        "validation_latency_seconds",
        "Time Keystone took to answer a token validation (retries included)",
        layer.validation_latency().clone(),
    );
    registry.register_collector(Box::new(LayerCounters(layer.clone())));
}

/// The registry encoded in the OpenMetrics text format, as a `/metrics` handler answers; a
/// 500 in Keystone's JSON error shape if it cannot be encoded.
pub fn metrics_response(registry: &Registry) -> Response<Body> {
    let mut text = String::new();
    match prometheus_client::encoding::text::encode(&mut text, registry) {
        Ok(()) => {
            let mut r = Response::new(Body::from(text));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                ),
            );
            r
        }
        Err(_) => json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Metrics could not be encoded.",
        ),
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
            (
                "shared_cache_hits",
                "Tokens found in memcached, validated by another replica",
                c.shared_hits,
            ),
            (
                "shared_cache_misses",
                "Tokens looked up in memcached and not found there",
                c.shared_misses,
            ),
            (
                "shared_cache_errors",
                "memcached operations that failed (a miss each; the request goes on to Keystone)",
                c.shared_errors,
            ),
            (
                "shared_cache_bad_entries",
                "memcached entries refused: bad MAC, not decrypting or not parsing",
                c.shared_bad_entries,
            ),
            (
                "shared_cache_invalid_markers",
                "memcached entries that were an older keystonemiddleware's invalid-token marker",
                c.shared_invalid_markers,
            ),
            (
                "revocation_polls",
                "Reads of Keystone's revocation events",
                c.revocation_polls,
            ),
            (
                "revocation_poll_errors",
                "Reads of the revocation events that failed (cached tokens served as before)",
                c.revocation_poll_errors,
            ),
            (
                "revocation_events",
                "Revocation events received",
                c.revocation_events,
            ),
            (
                "revocation_evictions",
                "Cached tokens evicted because a revocation event covers them",
                c.revocation_evictions,
            ),
        ] {
            let counter = ConstCounter::new(value);
            let metric = encoder.encode_descriptor(name, help, None, counter.metric_type())?;
            counter.encode(metric)?;
        }
        if let Some(age) = self.0.revocation_status().and_then(|s| s.last_poll_age) {
            let gauge = ConstGauge::new(age.as_secs_f64());
            let metric = encoder.encode_descriptor(
                "revocation_last_poll_age_seconds",
                "Seconds since the last successful read of the revocation events",
                None,
                gauge.metric_type(),
            )?;
            gauge.encode(metric)?;
        }
        Ok(())
    }
}
