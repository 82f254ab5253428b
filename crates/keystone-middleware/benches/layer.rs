//! The layer's own cost per request, without sockets: a request with a cached token through
//! `AuthTokenLayer` into a trivial handler, against the same request to the same handler
//! without the layer.
//!
//! Run with `cargo bench -p keystone-middleware --bench layer`.

// criterion's macros generate undocumented public functions
#![allow(missing_docs)]

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use axum::routing::get;
use criterion::{Criterion, criterion_group, criterion_main};

mod common;
use tower::ServiceExt;

/// The same allocator as example-service, the server this benchmark stands for.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `GET /` with the token.
fn request(token: &str) -> Request<Body> {
    Request::builder()
        .uri("/")
        .header("x-auth-token", token)
        .body(Body::empty())
        .expect("request")
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (setup, token) = rt.block_on(async {
        let setup = common::setup(&["alice"]).await;
        let token = common::token(&setup, "alice").await;
        (setup, token)
    });
    let layer = setup.layer.clone();
    let plain = Router::new().route("/", get(|| async { "ok" }));
    let authed = Router::new()
        .route("/", get(|| async { "ok" }))
        .layer(layer);
    rt.block_on(async {
        let r = authed.clone().oneshot(request(&token)).await.expect("call");
        assert_eq!(r.status(), 200);
    });
    let mut group = c.benchmark_group("layer");
    group.bench_function("without_layer", |b| {
        b.to_async(&rt)
            .iter(|| async { plain.clone().oneshot(request(&token)).await.expect("call") })
    });
    group.bench_function("cached_token", |b| {
        b.to_async(&rt)
            .iter(|| async { authed.clone().oneshot(request(&token)).await.expect("call") })
    });
    // two workers at once with the same token, as a busy server runs: shows contention
    for (name, svc) in [
        ("parallel_without_layer", plain.clone()),
        ("parallel_cached_token", authed.clone()),
    ] {
        group.bench_function(name, |b| {
            b.to_async(&rt).iter_custom(|iters| {
                let (svc, tok) = (svc.clone(), token.clone());
                async move {
                    let start = std::time::Instant::now();
                    let tasks: Vec<_> = (0..2)
                        .map(|_| {
                            let (svc, tok) = (svc.clone(), tok.clone());
                            tokio::spawn(async move {
                                for _ in 0..iters {
                                    let req = request(&tok);
                                    svc.clone().oneshot(req).await.expect("call");
                                }
                            })
                        })
                        .collect();
                    for t in tasks {
                        t.await.expect("task");
                    }
                    start.elapsed() / 2
                }
            })
        });
    }
    // the same cached path with 10,000 revocation events held (none covering the token): a
    // hit costs one atomic load while no event arrives...
    let events = |n: usize, from: usize| -> Vec<keystone_types::revoke::RevokeEvent> {
        let now = keystone_types::Timestamp::now();
        (from..from + n)
            .map(|i| {
                let mut e = keystone_types::revoke::RevokeEvent::default();
                match i % 3 {
                    0 => e.audit_id = Some(format!("audit{i}")),
                    1 => e.user_id = Some(format!("user{i}")),
                    _ => e.project_id = Some(format!("project{i}")),
                }
                e.issued_before = Some(now);
                e.revoked_at = Some(now);
                e
            })
            .collect()
    };
    rt.block_on(setup.layer.__apply_revocation_events(events(10_000, 0)));
    group.bench_function("cached_token_10000_events", |b| {
        b.to_async(&rt)
            .iter(|| async { authed.clone().oneshot(request(&token)).await.expect("call") })
    });
    // ...and, after each new event, the thread's copy is checked against the new ones
    let mut next = 10_000;
    group.bench_function("cached_token_after_a_new_event_10000_events", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let (svc, tok, layer) = (authed.clone(), token.clone(), setup.layer.clone());
            let batches: Vec<_> = (0..iters).map(|i| events(1, next + i as usize)).collect();
            next += iters as usize;
            async move {
                let mut spent = std::time::Duration::ZERO;
                for batch in batches {
                    layer.__apply_revocation_events(batch).await;
                    let start = std::time::Instant::now();
                    svc.clone().oneshot(request(&tok)).await.expect("call");
                    spent += start.elapsed();
                }
                spent
            }
        })
    });
    group.finish();
    drop(setup);
}

criterion_group!(benches, bench);
criterion_main!(benches);
