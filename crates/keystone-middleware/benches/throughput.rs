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
use std::process::{Child, Command, Stdio};
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
    /// The unauthenticated route sent the same token header (which it ignores), over open.
    open_token_ratio: f64,
    /// The no-op layer's route with the token header, over open.
    noop_ratio: f64,
}

/// The median over the rounds of `v`'s figures over the same round's `open`.
fn median_ratio(v: &[f64], open: &[f64]) -> f64 {
    median(v.iter().zip(open).map(|(a, o)| a / o).collect())
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

/// The WSGI app keystonemiddleware serves.
const KSM_APP: &str = include_str!("ksm_app.py");

/// gunicorn serving keystonemiddleware; stopped when dropped.
struct Gunicorn(Child);

impl Drop for Gunicorn {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts keystonemiddleware's app with `venv`'s gunicorn, validating with the setup's service
/// user against its fake; returns the server and its base URL once `/open` answers.
async fn start_keystonemiddleware(venv: &Path, setup: &common::Setup) -> (Gunicorn, String) {
    let dir = std::env::temp_dir().join(format!("ksm-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("app directory");
    std::fs::write(dir.join("ksm_app.py"), KSM_APP).expect("app");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let child = Command::new(venv.join("bin/gunicorn"))
        .args([
            "--workers",
            "2",
            "--worker-class",
            "gthread",
            "--threads",
            "8",
        ])
        .args([
            "--bind",
            &format!("127.0.0.1:{port}"),
            "--log-level",
            "error",
        ])
        .arg("--chdir")
        .arg(&dir)
        .arg("ksm_app:application")
        .env("KSM_BENCH_AUTH_URL", setup.fake.auth_url())
        .env("KSM_BENCH_USERNAME", "svc")
        .env("KSM_BENCH_PASSWORD", "pw")
        .env("KSM_BENCH_PROJECT_ID", &setup.project)
        .env("PYTHONWARNINGS", "ignore")
        .stdout(Stdio::null())
        .spawn()
        .expect("gunicorn starts (is keystonemiddleware in KSM_BENCH_VENV?)");
    let server = Gunicorn(child);
    let client = reqwest::Client::new();
    let started = Instant::now();
    while !client
        .get(format!("{base}/open"))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "keystonemiddleware did not answer on {base} within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    (server, base)
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
                let (_server, ksm) = start_keystonemiddleware(Path::new(&venv), &setup).await;
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
        let _ = std::fs::create_dir_all("target/bench-results");
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
        let _ = std::fs::write("target/bench-results/middleware.json", json.to_string());
    });
}
