//! Two example-service replicas sharing a token cache on a real memcached: one validation per
//! token for both, and memcached killed mid-load costs no request.

mod common;

#[path = "../../keystone-middleware/tests/memcached/mod.rs"]
mod memcached;

use common::Cloud;
use example_service::{AppState, app, policy_defaults};
use keystone_middleware::config::AuthTokenConfig;
use keystone_middleware::{AuthTokenLayer, Policy};

/// A second replica of the service, with `config`; its base URL.
async fn replica(config: &AuthTokenConfig) -> (String, AuthTokenLayer) {
    let layer = AuthTokenLayer::from_config(config).unwrap();
    let state = AppState::new(Policy::with_defaults(policy_defaults()).unwrap());
    let router = app(state, layer.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (url, layer)
}

async fn get(url: &str, token: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("{url}/v1/thing/list"))
        .header("x-auth-token", token)
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

#[tokio::test]
async fn replicas_on_one_memcached_validate_each_token_once() {
    let mut m = memcached::Memcached::start();
    let servers = vec![m.addr.clone()];
    let edit = |c: &mut AuthTokenConfig| {
        c.memcached_servers = servers.clone();
        c.memcache_security_strategy = Some("ENCRYPT".into());
        c.memcache_secret_key = Some("a shared secret".into());
        c.memcache_pool_socket_timeout = 1;
    };
    let cloud = Cloud::start_with(&|_| {}, edit).await.unwrap();
    let mut config = common::service_config(&cloud.auth_url);
    edit(&mut config);
    let (b, layer_b) = replica(&config).await;
    let a = cloud.service_url.clone();

    let mut tokens = Vec::new();
    for _ in 0..50 {
        let access = cloud.user("alice").access().await.unwrap();
        tokens.push(access.token().expose().to_owned());
    }
    let before = cloud.fake().requests("GET /v3/auth/tokens");
    // 200 requests: each token twice at once on one replica, then twice at once on the other
    for (i, t) in tokens.iter().enumerate() {
        let (first, second) = if i % 2 == 0 { (&a, &b) } else { (&b, &a) };
        for url in [first, second] {
            let (x, y) = tokio::join!(get(url, t), get(url, t));
            assert_eq!((x, y), (200, 200));
        }
    }
    assert_eq!(
        cloud.fake().requests("GET /v3/auth/tokens") - before,
        50,
        "one validation per token for both replicas"
    );
    let (ca, cb) = (cloud.layer.counters(), layer_b.counters());
    assert_eq!(ca.shared_hits + cb.shared_hits, 50, "{ca:?} {cb:?}");

    // memcached killed in the middle of the load: not one request fails
    let mut fresh = Vec::new();
    for _ in 0..20 {
        let access = cloud.user("alice").access().await.unwrap();
        fresh.push(access.token().expose().to_owned());
    }
    let load = {
        let (a, b, fresh) = (a.clone(), b.clone(), fresh.clone());
        tokio::spawn(async move {
            let mut statuses = Vec::new();
            for t in &fresh {
                statuses.push(get(&a, t).await);
                statuses.push(get(&b, t).await);
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            statuses
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(60)).await;
    m.stop();
    let statuses = load.await.unwrap();
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(layer_b.shared_cache_servers(), Some((1, 1)));
    assert!(cloud.layer.counters().shared_errors + layer_b.counters().shared_errors >= 1);
}
