//! The layer's own cost per request, without sockets: a request with a cached token through
//! `AuthTokenLayer` into a trivial handler, against the same handler without the layer.
//!
//! Run with `cargo bench -p keystone-middleware --bench layer`.

// criterion's macros generate undocumented public functions
#![allow(missing_docs)]

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use axum::routing::get;
use criterion::{Criterion, criterion_group, criterion_main};
use keystone_client::{Auth, Session, UserIdentity};
use keystone_fake::FakeKeystone;
use keystone_middleware::AuthTokenLayer;
use keystone_middleware::config::AuthTokenConfig;
use keystone_types::auth::Scope;
use tower::ServiceExt;

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (fake, token, layer) = rt.block_on(async {
        let fake = FakeKeystone::start().await.expect("fake");
        let project = fake.create_project("services").expect("project");
        for (user, role) in [("svc", "service"), ("alice", "member")] {
            let id = fake.create_user(user, "pw").expect("user");
            fake.grant_project_role(&id, &project, role).expect("grant");
        }
        let config = AuthTokenConfig {
            auth_url: Some(fake.auth_url()),
            username: Some("svc".into()),
            password: Some("pw".into()),
            user_domain_id: Some("default".into()),
            project_id: Some(project.clone()),
            include_service_catalog: false,
            ..Default::default()
        };
        let layer = AuthTokenLayer::from_config(&config).expect("layer");
        let alice = Session::builder(
            fake.auth_url(),
            Auth::password(UserIdentity::by_name("alice", "Default"), "pw")
                .scoped(Scope::project_by_id(&project)),
        )
        .build()
        .expect("session");
        let token = alice
            .access()
            .await
            .expect("token")
            .token()
            .expose()
            .to_owned();
        (fake, token, layer)
    });
    let plain = Router::new().route("/", get(|| async { "ok" }));
    let authed = Router::new()
        .route("/", get(|| async { "ok" }))
        .layer(layer);
    let request = |token: Option<&str>| {
        let mut r = Request::builder().uri("/");
        if let Some(t) = token {
            r = r.header("x-auth-token", t);
        }
        r.body(Body::empty()).expect("request")
    };
    rt.block_on(async {
        let r = authed
            .clone()
            .oneshot(request(Some(&token)))
            .await
            .expect("call");
        assert_eq!(r.status(), 200);
    });
    let mut group = c.benchmark_group("layer");
    group.bench_function("without_layer", |b| {
        b.to_async(&rt)
            .iter(|| async { plain.clone().oneshot(request(None)).await.expect("call") })
    });
    group.bench_function("cached_token", |b| {
        b.to_async(&rt).iter(|| async {
            authed
                .clone()
                .oneshot(request(Some(&token)))
                .await
                .expect("call")
        })
    });
    group.finish();
    drop(fake);
}

criterion_group!(benches, bench);
criterion_main!(benches);
