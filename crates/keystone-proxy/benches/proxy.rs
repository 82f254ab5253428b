//! keystone-proxy's figures, measured in one run with the middleware benchmarks' load generator
//! (`crates/keystone-middleware/benches/common`, included from there):
//! - a trivial Rust upstream (axum) through the proxy over the same upstream reached directly,
//!   a member's cached token sent to both: the ratio of requests per second, and the latency
//!   of sequential requests on one connection, direct and through the proxy (p50 and p99 of
//!   each), with the difference of the two medians as what the proxy adds. Percentiles of two
//!   independent runs do not subtract: the p99s are reported side by side, not as a difference;
//! - when `KSM_BENCH_VENV` names a venv with keystonemiddleware and gunicorn (`cargo xtask
//!   bench` sets it): a trivial Python WSGI app (gunicorn, 2 workers) behind the proxy over the
//!   same app with keystonemiddleware's `auth_token` in-process, same server settings, cached
//!   token (aim: 1.5 or more).
//!
//! The proxy, the load generator and the Rust upstream share one runtime's threads, as the
//! middleware's throughput benchmark does. Run with `cargo xtask bench` (or `cargo bench -p
//! keystone-proxy --bench proxy`). The figures are also written to
//! `target/bench-results/proxy.json`.

use std::path::Path;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use keystone_middleware::config::ServerConfig;
use keystone_proxy::{Proxy, ProxyConfig};

#[path = "../../keystone-middleware/benches/common/mod.rs"]
mod common;

use common::load::{Gunicorn, latencies, median, median_ratio, percentile, rate};

/// The same allocator as the proxy's binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ROUNDS: usize = 5;
const SEQUENTIAL: usize = 3000;

/// Serves `router` with the middleware's `serve`, as the proxy's binary does; its base URL.
async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        keystone_middleware::serve(
            listener,
            router,
            &ServerConfig::default(),
            std::future::pending(),
        )
        .await
    });
    base
}

/// The proxy in front of `upstream`: `GET /v1/thing` for members, `/open` public.
async fn proxy(setup: &common::Setup, upstream: &str) -> String {
    let config = ProxyConfig::from_toml_str(&format!(
        r#"
[keystone_authtoken]
auth_url = "{auth}"
username = "svc"
password = "pw"
user_domain_id = "default"
project_id = "{project}"
include_service_catalog = false

[proxy]
upstream = "{upstream}"

[[proxy.route]]
methods = ["GET"]
path = "/v1/thing"
rule = "thing:get"

[[proxy.route]]
path = "/open"
public = true

[proxy.rules]
"thing:get" = "role:member"
"#,
        auth = setup.fake.auth_url(),
        project = setup.project,
    ))
    .expect("proxy configuration");
    let proxy = Proxy::from_config(&config).expect("proxy");
    proxy.check().await.expect("startup check");
    serve(proxy.router()).await
}

/// Requests per second on `a` and on `b`, alternating `ROUNDS` rounds: the medians, and the
/// median of the rounds' ratios `a / b`.
async fn compare(client: &reqwest::Client, a: &str, b: &str, token: &str) -> (f64, f64, f64) {
    // warm up the connections and the caches
    rate(client, a, Some(token)).await;
    rate(client, b, Some(token)).await;
    let (mut xs, mut ys) = (vec![], vec![]);
    for _ in 0..ROUNDS {
        xs.push(rate(client, a, Some(token)).await);
        ys.push(rate(client, b, Some(token)).await);
    }
    let ratio = median_ratio(&xs, &ys);
    (median(xs), median(ys), ratio)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let setup = common::setup(&["alice"]).await;
        let alice = common::token(&setup, "alice").await;
        let client = reqwest::Client::new();

        // a trivial Rust upstream, directly and through the proxy
        let upstream = serve(
            Router::new()
                .route("/v1/thing", get(|| async { "ok" }))
                .route("/open", get(|| async { "ok" })),
        )
        .await;
        let proxied = proxy(&setup, &upstream).await;
        let (through, direct, ratio) = compare(
            &client,
            &format!("{proxied}/v1/thing"),
            &format!("{upstream}/v1/thing"),
            &alice,
        )
        .await;
        let seq = reqwest::Client::builder()
            .pool_max_idle_per_host(1)
            .build()
            .expect("client");
        let direct_lat = latencies(&seq, &format!("{upstream}/v1/thing"), &alice, SEQUENTIAL).await;
        let proxy_lat = latencies(&seq, &format!("{proxied}/v1/thing"), &alice, SEQUENTIAL).await;
        let (direct_p50, direct_p99) = (
            ms(percentile(&direct_lat, 50)),
            ms(percentile(&direct_lat, 99)),
        );
        let (proxied_p50, proxied_p99) = (
            ms(percentile(&proxy_lat, 50)),
            ms(percentile(&proxy_lat, 99)),
        );
        let added_p50 = proxied_p50 - direct_p50;

        println!("trivial Rust upstream, member's cached token:");
        println!("  direct:                 {direct:>8.0} req/s");
        println!("  through keystone-proxy: {through:>8.0} req/s");
        println!("  ratio:                  {ratio:>8.2}   (median of {ROUNDS} rounds)");
        println!("  latency, sequential requests on one connection:");
        println!("    direct:                 p50 {direct_p50:.3} ms, p99 {direct_p99:.3} ms");
        println!("    through keystone-proxy: p50 {proxied_p50:.3} ms, p99 {proxied_p99:.3} ms");
        println!("    proxied p50 - direct p50: {added_p50:.3} ms");

        let python = match std::env::var_os("KSM_BENCH_VENV") {
            Some(venv) => {
                let venv = Path::new(&venv);
                let (_plain, plain) = Gunicorn::start(venv, &setup, "ksm_app:hello").await;
                let (_ksm, ksm) = Gunicorn::start(venv, &setup, "ksm_app:application").await;
                let front = proxy(&setup, &plain).await;
                let (ours, theirs, ratio) = compare(
                    &client,
                    &format!("{front}/v1/thing"),
                    &format!("{ksm}/v1/thing"),
                    &alice,
                )
                .await;
                println!(
                    "trivial WSGI app (gunicorn, 2 workers x 8 threads), member's cached token:"
                );
                println!("  with keystonemiddleware in-process: {theirs:>8.0} req/s");
                println!("  behind keystone-proxy:              {ours:>8.0} req/s");
                println!(
                    "  ratio (aim >= 1.5):                 {ratio:>8.2}   (median of {ROUNDS} rounds)"
                );
                Some(serde_json::json!({
                    "keystonemiddleware_rps": theirs, "proxy_rps": ours, "ratio": ratio,
                }))
            }
            None => {
                println!(
                    "the WSGI comparison: skipped (KSM_BENCH_VENV unset; `cargo xtask bench` sets it)"
                );
                None
            }
        };
        let json = serde_json::json!({
            "rust_upstream": {
                "direct_rps": direct, "proxied_rps": through, "ratio": ratio,
                "direct_ms_p50": direct_p50, "direct_ms_p99": direct_p99,
                "proxied_ms_p50": proxied_p50, "proxied_ms_p99": proxied_p99,
                "added_ms_p50": added_p50,
            },
            "wsgi": python,
        });
        common::load::write_results("proxy", &json);
    });
}
