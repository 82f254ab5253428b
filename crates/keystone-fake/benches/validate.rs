//! How many token validations per second the fake serves on this machine: one client in a
//! loop, and 16 concurrent validations at a time, over keep-alive HTTP on loopback.
//!
//! Run with `cargo xtask bench` (or `cargo bench -p keystone-fake`); criterion prints the
//! throughput in validations per second ("elem/s").

// criterion's macros generate undocumented public functions
#![allow(missing_docs)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use keystone_fake::FakeKeystone;
use serde_json::json;

struct Setup {
    _fake: FakeKeystone,
    client: reqwest::Client,
    url: String,
    service_token: String,
    user_token: String,
}

async fn setup() -> Setup {
    let fake = FakeKeystone::start().await.expect("fake starts");
    let project = fake.create_project("services").unwrap();
    let user = fake.create_user("alice", "pw").unwrap();
    fake.grant_project_role(&user, &project, "member").unwrap();
    let client = reqwest::Client::new();
    let issue = |name: &str, password: &str, scope: serde_json::Value| {
        let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": name, "domain": {"id": "default"}, "password": password}}}, "scope": scope}});
        let request = client
            .post(format!("{}/auth/tokens", fake.auth_url()))
            .json(&body);
        async move {
            let r = request.send().await.expect("token issue");
            r.headers()["x-subject-token"].to_str().unwrap().to_owned()
        }
    };
    let service_token = issue(
        "admin",
        "adminpw",
        json!({"project": {"name": "admin", "domain": {"id": "default"}}}),
    )
    .await;
    let user_token = issue("alice", "pw", json!({"project": {"id": project}})).await;
    Setup {
        url: format!("{}/auth/tokens?nocatalog", fake.auth_url()),
        _fake: fake,
        client,
        service_token,
        user_token,
    }
}

async fn validate(s: &Setup) {
    let r = s
        .client
        .get(&s.url)
        .header("x-auth-token", &s.service_token)
        .header("x-subject-token", &s.user_token)
        .send()
        .await
        .expect("validate");
    assert_eq!(r.status().as_u16(), 200);
    r.bytes().await.expect("body");
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let s = rt.block_on(setup());
    let mut group = c.benchmark_group("fake_keystone_validate");
    group.throughput(Throughput::Elements(1));
    group.bench_function("sequential", |b| b.to_async(&rt).iter(|| validate(&s)));
    group.throughput(Throughput::Elements(16));
    group.bench_function("16_concurrent", |b| {
        b.to_async(&rt).iter(|| async {
            futures::future::join_all((0..16).map(|_| validate(&s))).await;
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
