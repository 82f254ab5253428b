//! The shared (memcached) tier's figures, measured in one run against a real memcached and the
//! fake Keystone, through the layer into a trivial handler (no sockets on the service side):
//! - per-request latency of a hit in the process's own cache, of a memcached hit in each
//!   `memcache_security_strategy` (a token another replica validated, first seen here), and of
//!   a validation by the fake Keystone (no shared tier);
//! - the Keystone validations that N replicas × M new tokens cause, without and with the shared
//!   tier.
//!
//! Run with `cargo xtask bench` (or `cargo bench -p keystone-middleware --bench shared_cache`).
//! The figures are also written to `target/bench-results/shared_cache.json`.

use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use axum::routing::get;
use keystone_middleware::AuthTokenLayer;
use keystone_middleware::config::AuthTokenConfig;
use tower::ServiceExt;

mod common;

#[path = "../tests/memcached/mod.rs"]
mod memcached;

/// The same allocator as example-service.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Tokens per latency figure (each first seen by the measured layer).
const TOKENS: usize = 400;
const REPLICAS: usize = 3;
const NEW_TOKENS: usize = 60;

fn app(layer: AuthTokenLayer) -> Router {
    Router::new()
        .route("/", get(|| async { "ok" }))
        .layer(layer)
}

async fn call(app: &Router, token: &str) {
    let r = app
        .clone()
        .oneshot(
            Request::builder()
                .uri("/")
                .header("x-auth-token", token)
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("answer");
    assert_eq!(r.status(), 200);
}

/// The mean time of one request with each token, in microseconds.
async fn mean_us(app: &Router, tokens: &[String]) -> f64 {
    let started = Instant::now();
    for t in tokens {
        call(app, t).await;
    }
    started.elapsed().as_secs_f64() * 1e6 / tokens.len() as f64
}

async fn tokens(setup: &common::Setup, n: usize) -> Vec<String> {
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        v.push(common::token(setup, "alice").await);
    }
    v
}

fn main() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let setup = common::setup(&["alice"]).await;
        let base = common::config(&setup.fake, &setup.project);
        let m = memcached::Memcached::start();
        let with = |strategy: &str| {
            let mut c: AuthTokenConfig = base.clone();
            c.memcached_servers = vec![m.addr.clone()];
            c.memcache_security_strategy = Some(strategy.to_owned());
            c.memcache_secret_key = (strategy != "None").then(|| "a shared secret".into());
            AuthTokenLayer::from_config(&c).expect("layer")
        };

        // a hit in this process: one token, many times
        let local = app(setup.layer.clone());
        let one = tokens(&setup, 1).await;
        call(&local, &one[0]).await;
        let repeated = vec![one[0].clone(); 20_000];
        let in_process = mean_us(&local, &repeated).await;

        // a validation by the fake: new tokens, no shared tier
        let fresh = tokens(&setup, TOKENS).await;
        let validation = mean_us(&app(AuthTokenLayer::from_config(&base).expect("layer")), &fresh).await;

        // a memcached hit: tokens a first replica validated, first seen by a second one
        let mut shared = Vec::new();
        for strategy in ["None", "MAC", "ENCRYPT"] {
            let ts = tokens(&setup, TOKENS).await;
            let first = app(with(strategy));
            for t in &ts {
                call(&first, t).await;
            }
            let second = with(strategy);
            let before = second.counters().shared_hits;
            let us = mean_us(&app(second.clone()), &ts).await;
            assert_eq!(second.counters().shared_hits - before, TOKENS as u64);
            shared.push((strategy, us));
        }

        // N replicas x M new tokens: Keystone's validations without and with the shared tier
        let mut caused = Vec::new();
        for strategy in [None, Some("ENCRYPT")] {
            let replicas: Vec<Router> = (0..REPLICAS)
                .map(|_| match strategy {
                    None => app(AuthTokenLayer::from_config(&base).expect("layer")),
                    Some(s) => app(with(s)),
                })
                .collect();
            let ts = tokens(&setup, NEW_TOKENS).await;
            let before = setup.fake.requests("GET /v3/auth/tokens");
            for t in &ts {
                for r in &replicas {
                    call(r, t).await;
                }
            }
            caused.push(setup.fake.requests("GET /v3/auth/tokens") - before);
        }

        println!("per request, through the layer (mean over {TOKENS} tokens, each seen once):");
        println!("  hit in the process's own cache:   {in_process:>8.1} us");
        for (strategy, us) in &shared {
            println!("  memcached hit, {strategy:<8}           {us:>8.1} us");
        }
        println!("  validation by the fake Keystone:  {validation:>8.1} us");
        println!(
            "Keystone validations for {REPLICAS} replicas x {NEW_TOKENS} new tokens: {} without the \
             shared tier, {} with it",
            caused[0], caused[1]
        );
        common::load::write_results(
            "shared_cache",
            &serde_json::json!({
                "in_process_hit_us": in_process,
                "memcached_hit_us": shared.iter().map(|(s, us)| (s.to_string(), serde_json::json!(us))).collect::<serde_json::Map<_, _>>(),
                "validation_us": validation,
                "replicas": REPLICAS, "new_tokens": NEW_TOKENS,
                "validations_without_shared": caused[0], "validations_with_shared": caused[1],
            }),
        );
    });
}
