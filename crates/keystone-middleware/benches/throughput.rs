//! Whole-flow figures, measured in one run with our own tokio load generator:
//! - requests per second with a cached token over the same server's unauthenticated route
//!   (target: at least 0.95), and for reference the same ratio for a layer that does nothing
//!   but still receives the token header: what sending a token through any layer costs here.
//!   The server and the load generator share one runtime's threads, so every cycle either
//!   spends counts: with threads of their own the server would idle while the (heavier) load
//!   generator works, and its costs would hide in that slack;
//! - Keystone validations caused by 200 concurrent requests carrying one new token (target: 1).
//!
//! Run with `cargo xtask bench` (or `cargo bench -p keystone-middleware --bench throughput`).
//! The figures are also written to `target/bench-results/middleware.json`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use keystone_middleware::{AuthTokenLayer, RequestIdLayer};

mod common;

/// The same allocator as example-service, the server this benchmark stands for.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const WORKERS: usize = 16;
/// One measuring round per route; the routes alternate, so that drift in the machine's speed
/// (other load, frequency) falls on all alike, and the ratio is the median of the rounds'.
const DURATION: Duration = Duration::from_millis(1000);
const ROUNDS: usize = 7;

/// Requests per second against `url` with `WORKERS` concurrent loops for `DURATION`. The token
/// header is built once, as load generators do (wrk, hey), so that what differs between the
/// routes is the server's work.
async fn rate(client: &reqwest::Client, url: &str, token: Option<&str>) -> f64 {
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + DURATION;
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let (client, url, token, done) = (
                client.clone(),
                url.to_owned(),
                token.map(str::to_owned),
                done.clone(),
            );
            tokio::spawn(async move {
                // each loop its own header value: clones of one would share a reference count
                let token = token
                    .map(|t| reqwest::header::HeaderValue::from_str(&t).expect("token header"));
                while Instant::now() < deadline {
                    let mut req = client.get(&url);
                    if let Some(t) = &token {
                        req = req.header("x-auth-token", t.clone());
                    }
                    let r = req.send().await.expect("request");
                    assert!(r.status().is_success(), "{}", r.status());
                    r.bytes().await.expect("body");
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for w in workers {
        w.await.expect("worker");
    }
    done.load(Ordering::Relaxed) as f64 / DURATION.as_secs_f64()
}

/// The app, shaped as example-service is: request ids for the whole router, auth for `/v1`;
/// and a route behind a layer that does nothing.
fn app(layer: AuthTokenLayer) -> Router {
    let noop = tower::util::MapRequestLayer::new(|r: axum::extract::Request| r);
    Router::new()
        .route("/open", get(|| async { "ok" }))
        .merge(
            Router::new()
                .route("/v1/thing", get(|| async { "ok" }))
                .layer(layer),
        )
        .merge(
            Router::new()
                .route("/noop", get(|| async { "ok" }))
                .layer(noop),
        )
        .layer(RequestIdLayer)
}

/// Serves `app`; its base URL.
async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// What the rounds measured.
struct Figures {
    open: f64,
    cached: f64,
    /// Median of the rounds' cached/open ratios, and their range.
    ratio: f64,
    range: (f64, f64),
    noop_ratio: f64,
}

async fn measure(client: &reqwest::Client, base: &str, token: &str) -> Figures {
    // warm up the connections and the cache
    rate(client, &format!("{base}/v1/thing"), Some(token)).await;
    let (mut open, mut cached, mut noop) = (vec![], vec![], vec![]);
    for _ in 0..ROUNDS {
        open.push(rate(client, &format!("{base}/open"), None).await);
        cached.push(rate(client, &format!("{base}/v1/thing"), Some(token)).await);
        noop.push(rate(client, &format!("{base}/noop"), Some(token)).await);
    }
    let ratios = |v: &[f64]| -> Vec<f64> { v.iter().zip(&open).map(|(a, o)| a / o).collect() };
    let cached_ratios = ratios(&cached);
    let range = cached_ratios
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), r| (lo.min(*r), hi.max(*r)));
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    Figures {
        open: mean(&open),
        cached: mean(&cached),
        ratio: median(cached_ratios),
        range,
        noop_ratio: median(ratios(&noop)),
    }
}

fn main() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let setup = common::setup(&["alice", "bob"]).await;
        let (fake, layer) = (&setup.fake, setup.layer.clone());
        let base = serve(app(layer)).await;

        let client = reqwest::Client::new();
        let alice = common::token(&setup, "alice").await;
        let f = measure(&client, &base, &alice).await;

        let bob = common::token(&setup, "bob").await;
        let before = fake.requests("GET /v3/auth/tokens");
        let burst: Vec<_> = (0..200)
            .map(|_| {
                let (client, url, bob) = (client.clone(), format!("{base}/v1/thing"), bob.clone());
                tokio::spawn(async move {
                    client
                        .get(url)
                        .header("x-auth-token", bob)
                        .send()
                        .await
                        .map(|r| r.status().as_u16())
                })
            })
            .collect();
        for b in burst {
            assert_eq!(b.await.expect("task").expect("request"), 200);
        }
        let validations = fake.requests("GET /v3/auth/tokens") - before;

        println!("unauthenticated route:  {:>8.0} req/s", f.open);
        println!("cached token:           {:>8.0} req/s", f.cached);
        println!(
            "ratio (target >= 0.95): {:>8.2}   (median of {ROUNDS} rounds; {:.2} to {:.2})",
            f.ratio, f.range.0, f.range.1
        );
        println!(
            "a no-op layer receiving the same token header, over the unauthenticated route: {:.2}",
            f.noop_ratio
        );
        println!(
            "validations for 200 concurrent requests with one new token (target 1): {validations}"
        );
        let _ = std::fs::create_dir_all("target/bench-results");
        let json = serde_json::json!({
            "open_rps": f.open, "cached_rps": f.cached, "ratio": f.ratio,
            "ratio_range": [f.range.0, f.range.1], "noop_layer_ratio": f.noop_ratio,
            "burst_validations": validations,
        });
        let _ = std::fs::write("target/bench-results/middleware.json", json.to_string());
    });
}
