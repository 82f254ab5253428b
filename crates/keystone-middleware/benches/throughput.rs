//! Whole-flow figures, measured in one run with our own tokio load generator:
//! - requests per second with a cached token over the same server's unauthenticated route
//!   (target: at least 0.95), and for reference, each over the same unauthenticated route: that
//!   route sent the token header it ignores (what carrying a token costs over HTTP here), and a
//!   route behind a layer that does nothing, token sent (plus what axum's per-route layering costs).
//!   The server and the load generator share one runtime's threads, so every cycle either
//!   spends counts: with threads of their own the server would idle while the (heavier) load
//!   generator works, and its costs would hide in that slack;
//! - Keystone validations caused by 200 concurrent requests carrying one new token (target: 1);
//! - the same two routes served by keystonemiddleware 13.0.1's `auth_token` in front of the
//!   same trivial app (gunicorn, 2 worker processes), driven by the same load generator in the
//!   same run, when `KSM_BENCH_VENV` names a Python venv that has keystonemiddleware and
//!   gunicorn (`cargo xtask bench` sets it to the conformance venv): its ratio, and our cached
//!   token route's throughput over its.
//!
//! Run with `cargo xtask bench` (or `cargo bench -p keystone-middleware --bench throughput`).
//! The figures are also written to `target/bench-results/middleware.json`.

use std::path::Path;

use axum::Router;
use axum::routing::get;
use keystone_middleware::{AuthTokenLayer, RequestIdLayer};

mod common;

use common::load::{Gunicorn, median, median_ratio, rate};

/// The same allocator as example-service, the server this benchmark stands for.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ROUNDS: usize = 7;

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

/// What the rounds measured.
struct Figures {
    open: f64,
    cached: f64,
    /// Median of the rounds' cached/open ratios, and their range.
    ratio: f64,
    range: (f64, f64),
    /// The unauthenticated route sent the same token header (which it ignores), over open.
    open_token_ratio: f64,
    /// The no-op layer's route with the token header, over open.
    noop_ratio: f64,
}

async fn measure(client: &reqwest::Client, base: &str, token: &str) -> Figures {
    // warm up the connections and the cache
    rate(client, &format!("{base}/v1/thing"), Some(token)).await;
    let (open_url, cached_url, noop_url) = (
        format!("{base}/open"),
        format!("{base}/v1/thing"),
        format!("{base}/noop"),
    );
    let (mut open, mut open_token, mut cached, mut noop) = (vec![], vec![], vec![], vec![]);
    for _ in 0..ROUNDS {
        open.push(rate(client, &open_url, None).await);
        open_token.push(rate(client, &open_url, Some(token)).await);
        cached.push(rate(client, &cached_url, Some(token)).await);
        noop.push(rate(client, &noop_url, Some(token)).await);
    }
    let cached_ratios: Vec<f64> = cached.iter().zip(&open).map(|(c, o)| c / o).collect();
    let range = cached_ratios
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), r| (lo.min(*r), hi.max(*r)));
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    Figures {
        open: mean(&open),
        cached: mean(&cached),
        ratio: median(cached_ratios),
        range,
        open_token_ratio: median_ratio(&open_token, &open),
        noop_ratio: median_ratio(&noop, &open),
    }
}

/// keystonemiddleware's open and cached-token rates, alternating rounds as [`measure`] does.
struct Theirs {
    open: f64,
    cached: f64,
    ratio: f64,
}

async fn measure_keystonemiddleware(client: &reqwest::Client, base: &str, token: &str) -> Theirs {
    const KSM_ROUNDS: usize = 3;
    let (open_url, cached_url) = (format!("{base}/open"), format!("{base}/v1/thing"));
    // both worker processes validate once and cache
    rate(client, &cached_url, Some(token)).await;
    let (mut open, mut cached) = (vec![], vec![]);
    for _ in 0..KSM_ROUNDS {
        open.push(rate(client, &open_url, None).await);
        cached.push(rate(client, &cached_url, Some(token)).await);
    }
    Theirs {
        ratio: median_ratio(&cached, &open),
        open: median(open),
        cached: median(cached),
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

        let theirs = match std::env::var_os("KSM_BENCH_VENV") {
            Some(venv) => {
                let (_server, ksm) =
                    Gunicorn::start(Path::new(&venv), &setup, "ksm_app:application").await;
                Some(measure_keystonemiddleware(&client, &ksm, &alice).await)
            }
            None => None,
        };

        println!("unauthenticated route:  {:>8.0} req/s", f.open);
        println!("cached token:           {:>8.0} req/s", f.cached);
        println!(
            "ratio (target >= 0.95): {:>8.2}   (median of {ROUNDS} rounds; {:.2} to {:.2})",
            f.ratio, f.range.0, f.range.1
        );
        println!("where the difference goes, each over the unauthenticated route:");
        println!(
            "  the same route, sent the token header it ignores:  {:.2}",
            f.open_token_ratio
        );
        println!(
            "  a route behind a layer that does nothing, token sent: {:.2}",
            f.noop_ratio
        );
        println!(
            "  cached token over the open route sent the token:    {:.2}",
            f.ratio / f.open_token_ratio
        );
        println!(
            "validations for 200 concurrent requests with one new token (target 1): {validations}"
        );
        match &theirs {
            Some(t) => {
                println!(
                    "keystonemiddleware 13.0.1 (gunicorn, 2 workers), same load generator, same run:"
                );
                println!("  unauthenticated route:  {:>8.0} req/s", t.open);
                println!("  cached token:           {:>8.0} req/s", t.cached);
                println!(
                    "  ratio:                  {:>8.2}   (ours {:.2})",
                    t.ratio, f.ratio
                );
                println!(
                    "cached token, ours over keystonemiddleware: {:.0}x",
                    f.cached / t.cached
                );
            }
            None => println!(
                "keystonemiddleware side by side: skipped (KSM_BENCH_VENV unset; \
                 `cargo xtask bench` sets it)"
            ),
        }
        let ksm = theirs.as_ref().map(|t| {
            serde_json::json!({
                "open_rps": t.open, "cached_rps": t.cached, "ratio": t.ratio,
                "ours_over_theirs_cached": f.cached / t.cached,
            })
        });
        let json = serde_json::json!({
            "open_rps": f.open, "cached_rps": f.cached, "ratio": f.ratio,
            "ratio_range": [f.range.0, f.range.1], "open_token_ratio": f.open_token_ratio,
            "noop_layer_ratio": f.noop_ratio,
            "burst_validations": validations,
            "keystonemiddleware": ksm,
        });
        common::load::write_results("middleware", &json);
    });
}
