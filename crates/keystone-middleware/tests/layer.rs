//! The layer against the in-process fake Keystone: 401s, identity headers, spoofing, the
//! cache and its coalescing, Keystone down, service tokens and expired tokens, delay_auth_decision,
//! request ids.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::routing::get;
use keystone_client::{Auth, Session, UserIdentity};
use keystone_fake::FakeKeystone;
use keystone_middleware::config::AuthTokenConfig;
use keystone_middleware::{AuthTokenLayer, Context, RequestIdLayer};
use keystone_types::auth::Scope;
use serde_json::{Value, json};
use tower::ServiceExt;

const VALIDATE: &str = "GET /v3/auth/tokens";

struct World {
    fake: FakeKeystone,
    project: String,
}

async fn world() -> World {
    let fake = FakeKeystone::start().await.unwrap();
    let project = fake.create_project("services").unwrap();
    let svc = fake.create_user("myservice", "svcpw").unwrap();
    fake.grant_project_role(&svc, &project, "service").unwrap();
    for (name, role) in [("alice", "member"), ("bob", "admin"), ("carol", "reader")] {
        let id = fake.create_user(name, "pw").unwrap();
        fake.grant_project_role(&id, &project, role).unwrap();
    }
    World { fake, project }
}

impl World {
    fn config(&self) -> AuthTokenConfig {
        AuthTokenConfig {
            auth_url: Some(self.fake.auth_url()),
            www_authenticate_uri: Some(self.fake.auth_url()),
            username: Some("myservice".into()),
            password: Some("svcpw".into()),
            user_domain_id: Some("default".into()),
            project_name: Some("services".into()),
            project_domain_id: Some("default".into()),
            http_request_max_retries: 0,
            ..Default::default()
        }
    }

    fn layer(&self, edit: impl FnOnce(&mut AuthTokenConfig)) -> AuthTokenLayer {
        let mut c = self.config();
        edit(&mut c);
        AuthTokenLayer::from_config(&c).unwrap()
    }

    /// A session against the fake.
    fn session(&self, auth: Auth) -> Session {
        Session::builder(self.fake.auth_url(), auth)
            .build()
            .unwrap()
    }

    /// A session of a user of the world's, scoped to its project.
    fn user_session(&self, user: &str) -> Session {
        let password = if user == "myservice" { "svcpw" } else { "pw" };
        self.session(
            Auth::password(UserIdentity::by_name(user, "Default"), password)
                .scoped(Scope::project_by_id(&self.project)),
        )
    }

    /// The token `auth` gets.
    async fn token_for(&self, auth: Auth) -> String {
        let access = self.session(auth).access().await.unwrap();
        access.token().expose().to_owned()
    }

    async fn token(&self, user: &str) -> String {
        let access = self.user_session(user).access().await.unwrap();
        access.token().expose().to_owned()
    }
}

/// An app that echoes what it saw: the identity headers and the context.
fn app(layer: AuthTokenLayer) -> Router {
    async fn echo(headers: HeaderMap, ctx: Option<axum::Extension<Context>>) -> axum::Json<Value> {
        let h = |n: &str| {
            headers
                .get(n)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        axum::Json(json!({
            "status": h("x-identity-status"),
            "user": h("x-user-name"),
            "user_id": h("x-user-id"),
            "project": h("x-project-id"),
            "roles": h("x-roles"),
            "system": h("openstack-system-scope"),
            "catalog": h("x-service-catalog"),
            "service_status": h("x-service-identity-status"),
            "service_user": h("x-service-user-name"),
            "service_domain_id": h("x-service-domain-id"),
            "service_domain_name": h("x-service-domain-name"),
            "service_project_id": h("x-service-project-id"),
            "ctx_user": ctx.as_ref().and_then(|c| c.user_name().map(str::to_owned)),
            "ctx_trust": ctx.as_ref().and_then(|c| c.trust_id().map(str::to_owned)),
            "ctx_trustor": ctx.as_ref().and_then(|c| c.user_access()).and_then(|a| a.trust().map(|t| t.trustor_user.id.clone())),
            "ctx_service_status": ctx.as_ref().map(|c| format!("{:?}", c.service_identity_status)),
            "ctx_global": ctx.as_ref().and_then(|c| c.global_request_id.clone()),
            "ctx_request": ctx.as_ref().map(|c| c.request_id.to_string()),
            "ctx_service_project": ctx.as_ref().and_then(|c| c.service_project_name().map(str::to_owned)),
            "ctx_service_domain": ctx.as_ref().and_then(|c| c.service_user_domain_name().map(str::to_owned)),
            "ctx_token_is_the_callers": ctx.as_ref().and_then(|c| c.auth_token()).map(|t| Some(t.expose()) == h("x-auth-token").as_deref()),
            "ctx_service_token_is_the_callers": ctx.as_ref().and_then(|c| c.service_token()).map(|t| Some(t.expose()) == h("x-service-token").as_deref()),
        }))
    }
    Router::new()
        .route("/echo", get(echo))
        .route(
            "/needs-context",
            get(|ctx: Context| async move { ctx.user_name().unwrap_or_default().to_owned() }),
        )
        .route("/inner-401", get(|| async { StatusCode::UNAUTHORIZED }))
        .route(
            "/own-request-id",
            get(|| async { ([("x-openstack-request-id", "req-from-the-app")], "ok") }),
        )
        .layer(layer)
}

async fn call(
    app: &Router,
    path: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, HeaderMap, Value) {
    let mut req = Request::builder().uri(path);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let response = app
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()));
    (status, headers, body)
}

fn assert_keystone_401(status: StatusCode, headers: &HeaderMap, body: &Value, w: &World) {
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(
        headers["www-authenticate"],
        format!("Keystone uri=\"{}\"", w.fake.auth_url()).as_str()
    );
    assert_eq!(body["error"]["code"], 401);
    assert!(
        headers["x-openstack-request-id"]
            .to_str()
            .unwrap()
            .starts_with("req-")
    );
}

#[tokio::test]
async fn missing_and_invalid_tokens_are_401() {
    let w = world().await;
    let app = app(w.layer(|_| {}));
    let (s, h, b) = call(&app, "/echo", &[]).await;
    assert_keystone_401(s, &h, &b, &w);
    let (s, h, b) = call(&app, "/echo", &[("x-auth-token", "gAAAAABbogus")]).await;
    assert_keystone_401(s, &h, &b, &w);
    // a layer made from a session, its configuration naming no URI: the session's auth URL
    let bare = self::app(
        AuthTokenLayer::new(w.user_session("myservice"), &AuthTokenConfig::default()).unwrap(),
    );
    let (s, h, b) = call(&bare, "/echo", &[]).await;
    assert_keystone_401(s, &h, &b, &w);
    // an inner 401 gets the header too: after a validation, and when the token is cached
    let layer = w.layer(|_| {});
    let app = self::app(layer.clone());
    let token = w.token("alice").await;
    for _ in 0..2 {
        let (s, h, _) = call(&app, "/inner-401", &[("x-auth-token", &token)]).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        assert!(h.contains_key("www-authenticate"));
    }
    assert_eq!(layer.counters().hits, 1);
}

/// As keystonemiddleware reads them: an empty token header is no token, and costs no call to
/// Keystone.
#[tokio::test]
async fn empty_token_headers_count_as_absent() {
    let w = world().await;
    let layer = w.layer(|_| {});
    let app = app(layer.clone());
    let before = w.fake.requests(VALIDATE);
    let (s, h, b) = call(&app, "/echo", &[("x-auth-token", "")]).await;
    assert_keystone_401(s, &h, &b, &w);
    assert_eq!(
        w.fake.requests(VALIDATE),
        before,
        "no validation of nothing"
    );
    let token = w.token("alice").await;
    // an empty service token beside a valid user token: the request goes on as the user's
    let (s, _, b) = call(
        &app,
        "/echo",
        &[("x-auth-token", &token), ("x-service-token", "")],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["user"], "alice");
    assert_eq!(b["service_status"], Value::Null);
    assert_eq!(w.fake.requests(VALIDATE), before + 1, "the user token only");
    // an empty X-Auth-Token leaves X-Storage-Token to stand for the user
    let (s, _, b) = call(
        &app,
        "/echo",
        &[("x-auth-token", ""), ("x-storage-token", &token)],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(layer.counters().keystone_errors, 0);
}

#[tokio::test]
async fn valid_tokens_set_identity_headers_and_spoofed_ones_are_stripped() {
    let w = world().await;
    let app = app(w.layer(|_| {}));
    let token = w.token("alice").await;
    let spoof = [
        ("x-auth-token", token.as_str()),
        ("x-roles", "admin"),
        ("openstack-system-scope", "all"),
        ("x-service-identity-status", "Confirmed"),
        ("x-service-user-name", "root"),
    ];
    let (s, h, b) = call(&app, "/echo", &spoof).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["status"], "Confirmed");
    assert_eq!(b["user"], "alice");
    assert_eq!(b["ctx_user"], "alice");
    assert_eq!(b["project"], w.project.as_str());
    assert_eq!(b["roles"], "member,reader");
    assert_eq!(
        b["system"],
        Value::Null,
        "a spoofed OpenStack-System-Scope is removed"
    );
    assert_eq!(b["service_status"], Value::Null);
    assert_eq!(b["service_user"], Value::Null);
    let catalog: Value = serde_json::from_str(b["catalog"].as_str().unwrap()).unwrap();
    assert_eq!(catalog[0]["type"], "identity");
    assert!(catalog[0]["endpoints"][0]["publicURL"].is_string());
    assert_eq!(
        h["x-openstack-request-id"].to_str().unwrap(),
        b["ctx_request"].as_str().unwrap()
    );
    // X-Storage-Token works too; without the catalog option, no catalog
    let app = self::app(w.layer(|c| c.include_service_catalog = false));
    let (s, _, b) = call(&app, "/echo", &[("x-storage-token", &token)]).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["catalog"], Value::Null);
}

#[tokio::test]
async fn the_cache_answers_repeated_and_concurrent_requests() {
    let w = world().await;
    let layer = w.layer(|_| {});
    let app = app(layer.clone());
    let token = w.token("alice").await;
    let before = w.fake.requests(VALIDATE);
    let calls: Vec<_> = (0..50)
        .map(|_| {
            let app = app.clone();
            let token = token.clone();
            tokio::spawn(async move { call(&app, "/echo", &[("x-auth-token", &token)]).await.0 })
        })
        .collect();
    for c in calls {
        assert_eq!(c.await.unwrap(), StatusCode::OK);
    }
    assert_eq!(
        w.fake.requests(VALIDATE) - before,
        1,
        "50 concurrent requests, one validation"
    );
    let counters = layer.counters();
    assert_eq!(counters.validations, 1);
    assert_eq!(counters.hits + counters.misses, 50);
    assert_eq!(counters.coalesced + 1, counters.misses);
    // the cache keys are hashes
    assert_eq!(layer.cached_tokens().await, 1);
    let debug = format!("{layer:?}");
    assert!(!debug.contains(&token), "{debug}");
}

#[tokio::test]
async fn keystone_down_is_503_unless_cached() {
    let w = world().await;
    let app = app(w.layer(|_| {}));
    let cached = w.token("alice").await;
    let uncached = w.token("bob").await;
    assert_eq!(
        call(&app, "/echo", &[("x-auth-token", &cached)]).await.0,
        StatusCode::OK
    );
    w.fake.refuse_connections(true).await.unwrap();
    let (s, _, b) = call(&app, "/echo", &[("x-auth-token", &uncached)]).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{b}");
    assert_eq!(b["error"]["code"], 503);
    assert_eq!(
        call(&app, "/echo", &[("x-auth-token", &cached)]).await.0,
        StatusCode::OK
    );
    w.fake.refuse_connections(false).await.unwrap();
    // Keystone answering 500s is unavailability too
    w.fake
        .controls()
        .set_fault(VALIDATE, keystone_fake::Fault::status(500));
    let carol = w.token("carol").await;
    assert_eq!(
        call(&app, "/echo", &[("x-auth-token", &carol)]).await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
}

/// A Keystone that accepts connections and never answers: each attempt ends after
/// `http_connect_timeout`, connecting and answering together, as keystoneauth's `timeout`; the
/// request gets its 503 after the configured attempts, not minutes later. (The clock is tokio's
/// paused one: it moves to the next timer whenever everything waits.)
#[tokio::test(start_paused = true)]
async fn a_keystone_that_never_answers_is_503_after_the_configured_attempts() {
    // the kernel completes connections to a listener that never accepts nor answers
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v3", silent.local_addr().unwrap());
    let config = AuthTokenConfig {
        auth_url: Some(url.clone()),
        www_authenticate_uri: Some(url),
        username: Some("myservice".into()),
        password: Some("svcpw".into()),
        user_domain_id: Some("default".into()),
        project_name: Some("services".into()),
        project_domain_id: Some("default".into()),
        http_connect_timeout: Some(2),
        http_request_max_retries: 1,
        ..Default::default()
    };
    let app = app(AuthTokenLayer::from_config(&config).unwrap());
    let started = tokio::time::Instant::now();
    let (s, _, b) = call(&app, "/echo", &[("x-auth-token", "gAAAAABsomething")]).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{b}");
    // version discovery, then two attempts at authenticating, each cut at 2 s, and a backoff
    let took = started.elapsed();
    assert!(took < Duration::from_secs(10), "{took:?}");
    drop(silent);
}

/// As keystonemiddleware: tokens are validated at the identity endpoint of the service
/// token's catalog with the configured interface (`internal` by default), not at `auth_url`.
#[tokio::test]
async fn tokens_are_validated_at_the_catalogs_identity_endpoint_for_the_interface() {
    use keystone_client::EndpointQuery;
    use keystone_types::resources::EndpointUpdate;
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let w = world().await;
    let token = w.token("alice").await;
    // what Keystone answers for alice's token, served by the internal endpoint's stand-in
    let admin_session = w.session(
        Auth::password(
            UserIdentity::by_name("admin", "Default"),
            w.fake.admin().password.expose(),
        )
        .scoped(Scope::project_by_name("admin", "Default")),
    );
    let admin_token = admin_session
        .access()
        .await
        .unwrap()
        .token()
        .expose()
        .to_owned();
    let body: Value = reqwest::Client::new()
        .get(format!("{}/v3/auth/tokens?nocatalog", w.fake.url()))
        .header("x-auth-token", &admin_token)
        .header("x-subject-token", &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let internal = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v3/auth/tokens"))
        .and(header("x-subject-token", token.as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(&body))
        .mount(&internal)
        .await;
    let admin = admin_session.admin();
    let identity = admin.list_services(Some("identity"), None).await.unwrap();
    let endpoints = admin
        .list_endpoints(&EndpointQuery {
            service_id: Some(identity[0].id.clone()),
            interface: Some("internal".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    for e in &endpoints {
        admin
            .update_endpoint(
                &e.id,
                EndpointUpdate {
                    url: Some(format!("{}/v3", internal.uri())),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
    }

    let before = w.fake.requests(VALIDATE);
    let internal_app = app(w.layer(|_| {}));
    let (s, _, b) = call(&internal_app, "/echo", &[("x-auth-token", &token)]).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["user"], "alice");
    assert_eq!(w.fake.requests(VALIDATE), before, "not at auth_url");
    let received = internal.received_requests().await.unwrap();
    assert!(
        received.iter().any(|r| r.url.path() == "/v3/auth/tokens"),
        "validated at the internal endpoint"
    );
    // the public interface: the catalog's public endpoint, the fake itself
    let public = app(w.layer(|c| c.interface = "public".into()));
    let (s, _, _) = call(&public, "/echo", &[("x-auth-token", &token)]).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(w.fake.requests(VALIDATE), before + 1);
}

#[tokio::test]
async fn delay_auth_decision_passes_requests_on_marked_invalid() {
    let w = world().await;
    let app = app(w.layer(|c| c.delay_auth_decision = true));
    let (s, _, b) = call(&app, "/echo", &[]).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["status"], "Invalid");
    let (s, _, b) = call(
        &app,
        "/echo",
        &[
            ("x-auth-token", "bogus"),
            ("x-identity-status", "Confirmed"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["status"], "Invalid", "a spoofed status is replaced");
    // a valid user with an invalid service token comes through; the handler can tell
    let alice = w.token("alice").await;
    let service = w.token("myservice").await;
    for (service_token, header, ctx) in [
        (Some("bogus"), Value::from("Invalid"), "Some(Invalid)"),
        (
            Some(service.as_str()),
            Value::from("Confirmed"),
            "Some(Confirmed)",
        ),
        (None, Value::Null, "None"),
    ] {
        let mut headers = vec![("x-auth-token", alice.as_str())];
        headers.extend(service_token.map(|t| ("x-service-token", t)));
        let (s, _, b) = call(&app, "/echo", &headers).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(b["status"], "Confirmed");
        assert_eq!(b["service_status"], header, "{service_token:?}");
        assert_eq!(b["ctx_service_status"], ctx, "{service_token:?}");
    }
    let (s, h, _) = call(&app, "/needs-context", &[]).await;
    assert_eq!(
        s,
        StatusCode::UNAUTHORIZED,
        "the Context extractor requires an identity"
    );
    assert!(h.contains_key("www-authenticate"));
}

#[tokio::test]
async fn service_tokens_and_expired_user_tokens() {
    let w = world().await;
    let app = app(w.layer(|c| c.token_cache_time = -1));
    w.fake.set_token_ttl(Duration::from_secs(60));
    let user = w.token("alice").await;
    w.fake.set_token_ttl(Duration::from_secs(3600));
    w.fake.clock().advance(Duration::from_secs(120));
    let service = w.token("myservice").await;
    let not_a_service = w.token("carol").await;

    let (s, _, _) = call(&app, "/echo", &[("x-auth-token", &user)]).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "expired, no service token");
    let (s, _, b) = call(
        &app,
        "/echo",
        &[("x-auth-token", &user), ("x-service-token", &service)],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["user"], "alice");
    assert_eq!(b["service_status"], "Confirmed");
    assert_eq!(b["service_user"], "myservice");
    assert_eq!(b["ctx_service_project"], "services");
    assert_eq!(b["ctx_service_domain"], "Default");
    assert_eq!(b["ctx_token_is_the_callers"], true);
    assert_eq!(b["ctx_service_token_is_the_callers"], true);
    let (s, _, _) = call(
        &app,
        "/echo",
        &[("x-auth-token", &user), ("x-service-token", &not_a_service)],
    )
    .await;
    assert_eq!(
        s,
        StatusCode::UNAUTHORIZED,
        "a service token without the service role allows nothing expired"
    );
    let (s, _, _) = call(
        &app,
        "/echo",
        &[("x-auth-token", &service), ("x-service-token", "bogus")],
    )
    .await;
    assert_eq!(
        s,
        StatusCode::UNAUTHORIZED,
        "an invalid service token is rejected"
    );

    let strict = self::app(w.layer(|c| c.service_token_roles_required = true));
    let fresh = w.token("bob").await;
    let (s, _, _) = call(
        &strict,
        "/echo",
        &[
            ("x-auth-token", &fresh),
            ("x-service-token", &not_a_service),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // roles are compared exactly, as keystonemiddleware does: "Service" is not "service"
    let capital = self::app(w.layer(|c| {
        c.token_cache_time = -1;
        c.service_token_roles = vec!["Service".into()];
        c.service_token_roles_required = false;
    }));
    let (s, _, _) = call(
        &capital,
        "/echo",
        &[("x-auth-token", &user), ("x-service-token", &service)],
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "no expired user token allowed");
}

#[tokio::test]
async fn a_domain_scoped_service_token_sets_the_service_domain_headers() {
    let w = world().await;
    let app = app(w.layer(|_| {}));
    let domain = w.fake.create_domain("services-domain").unwrap();
    let svc = w.fake.create_user("domainsvc", "pw").unwrap();
    w.fake.grant_domain_role(&svc, &domain, "service").unwrap();
    let service = w
        .token_for(
            Auth::password(UserIdentity::by_name("domainsvc", "Default"), "pw")
                .scoped(Scope::domain_by_id(&domain)),
        )
        .await;
    let user = w.token("alice").await;
    let (s, h, b) = call(
        &app,
        "/echo",
        &[("x-auth-token", &user), ("x-service-token", &service)],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["service_domain_id"], domain.as_str());
    assert_eq!(b["service_domain_name"], "services-domain");
    assert_eq!(b["service_project_id"], Value::Null);
    assert!(h.contains_key("x-openstack-request-id"));
}

#[tokio::test]
async fn token_cache_time_zero_caches_until_the_token_expires_and_minus_one_disables() {
    let w = world().await;
    let token = w.token("alice").await;
    for (time, validations) in [(0, 1), (-1, 3)] {
        let app = app(w.layer(|c| c.token_cache_time = time));
        let before = w.fake.requests(VALIDATE);
        for _ in 0..3 {
            assert_eq!(
                call(&app, "/echo", &[("x-auth-token", &token)]).await.0,
                StatusCode::OK
            );
        }
        assert_eq!(w.fake.requests(VALIDATE) - before, validations, "{time}");
    }
}

/// A token of an application credential of alice's limited to `rules` (service, method, path).
async fn restricted_token(w: &World, rules: &[(&str, &str, &str)]) -> String {
    use keystone_types::resources::ApplicationCredentialCreate;
    use keystone_types::token::AccessRule;
    let alice = w.user_session("alice");
    let user_id = alice.access().await.unwrap().user_id().to_owned();
    let cred = alice
        .admin()
        .create_application_credential(
            &user_id,
            ApplicationCredentialCreate {
                name: format!("limited-{rules:?}"),
                access_rules: Some(
                    rules
                        .iter()
                        .map(|(service, method, path)| AccessRule {
                            id: None,
                            service: (*service).into(),
                            method: (*method).into(),
                            path: (*path).into(),
                        })
                        .collect(),
                ),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(cred.access_rules.as_ref().map(Vec::len), Some(rules.len()));
    let secret = cred.secret.unwrap();
    w.token_for(Auth::application_credential(cred.id, secret))
        .await
}

#[tokio::test]
async fn application_credential_access_rules_limit_a_token_to_their_requests() {
    let w = world().await;
    let svc = w.fake.create_service("myservice", "myservice").unwrap();
    w.fake
        .create_endpoint(&svc, "public", "http://127.0.0.1:1/", Some("RegionOne"))
        .unwrap();
    let token = restricted_token(&w, &[("myservice", "GET", "/echo")]).await;

    // Keystone shows such a token only to a validator that says it enforces the rules
    let hidden = w
        .user_session("myservice")
        .validate_token(&token, keystone_client::ValidateOptions::default())
        .await
        .unwrap_err();
    assert_eq!(hidden.kind(), keystone_client::ErrorKind::NotFound);

    let limited = app(w.layer(|c| c.service_type = Some("myservice".into())));
    for _ in 0..2 {
        // the second time from the cache: the rules are checked on every request
        assert_eq!(
            call(&limited, "/echo", &[("x-auth-token", &token)]).await.0,
            StatusCode::OK
        );
        let (s, h, _) = call(&limited, "/needs-context", &[("x-auth-token", &token)]).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "a path outside the rules");
        assert!(h.contains_key("www-authenticate"));
    }
    // under Router::nest the rules see the request's whole path, as keystonemiddleware sees
    // SCRIPT_NAME and PATH_INFO together
    let nested_token = restricted_token(&w, &[("myservice", "GET", "/v1/echo")]).await;
    let nested = Router::new().nest(
        "/v1",
        app(w.layer(|c| c.service_type = Some("myservice".into()))),
    );
    let (s, _, b) = call(&nested, "/v1/echo", &[("x-auth-token", &nested_token)]).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        call(&nested, "/v1/echo", &[("x-auth-token", &token)])
            .await
            .0,
        StatusCode::UNAUTHORIZED,
        "a rule for /echo does not allow /v1/echo"
    );
    // a chain of services: a valid service token lets the request through
    let service = w.token("myservice").await;
    let (s, _, _) = call(
        &limited,
        "/needs-context",
        &[("x-auth-token", &token), ("x-service-token", &service)],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    // another service type, or none configured: nothing is allowed
    for edit in [
        Box::new(|c: &mut AuthTokenConfig| c.service_type = Some("compute".into()))
            as Box<dyn FnOnce(&mut AuthTokenConfig)>,
        Box::new(|c: &mut AuthTokenConfig| c.service_type = None),
    ] {
        let other = app(w.layer(edit));
        assert_eq!(
            call(&other, "/echo", &[("x-auth-token", &token)]).await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    // with delay_auth_decision the request goes on, marked invalid
    let delayed = app(w.layer(|c| {
        c.service_type = Some("myservice".into());
        c.delay_auth_decision = true;
    }));
    let (s, _, b) = call(&delayed, "/echo", &[("x-auth-token", &token)]).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["status"], "Confirmed");
    let (s, _, _) = call(&delayed, "/needs-context", &[("x-auth-token", &token)]).await;
    assert_eq!(
        s,
        StatusCode::UNAUTHORIZED,
        "the Context extractor requires an identity"
    );
}

#[tokio::test]
async fn cached_tokens_stop_working_when_they_expire() {
    let w = world().await;
    w.fake.set_token_ttl(Duration::from_secs(1));
    let app = app(w.layer(|_| {}));
    let token = w.token("alice").await;
    w.fake.set_token_ttl(Duration::from_secs(3600));
    assert_eq!(
        call(&app, "/echo", &[("x-auth-token", &token)]).await.0,
        StatusCode::OK
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        call(&app, "/echo", &[("x-auth-token", &token)]).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn negative_caching_and_request_ids() {
    let w = world().await;
    let app = app(w.layer(|c| c.negative_cache_time = 30));
    let before = w.fake.requests(VALIDATE);
    for _ in 0..3 {
        assert_eq!(
            call(&app, "/echo", &[("x-auth-token", "bogus")]).await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(w.fake.requests(VALIDATE) - before, 1);

    let token = w.token("alice").await;
    let global = format!("req-{}", uuid_like());
    let (_, h, b) = call(
        &app,
        "/echo",
        &[
            ("x-auth-token", &token),
            ("x-openstack-request-id", &global),
        ],
    )
    .await;
    assert_eq!(b["ctx_global"], global.as_str());
    assert_ne!(
        h["x-openstack-request-id"].to_str().unwrap(),
        global,
        "the local id is our own"
    );
    let (_, _, b) = call(
        &app,
        "/echo",
        &[
            ("x-auth-token", &token),
            ("x-openstack-request-id", "not-an-id"),
        ],
    )
    .await;
    assert_eq!(b["ctx_global"], Value::Null);
    // only oslo.middleware's spelling: `req-`, then a hyphenated uuid in lower case
    for other in [
        format!("req-{}", uuid_like().to_uppercase()),
        format!("req-{}", uuid_like().replace('-', "")),
        format!("req-{{{}}}", uuid_like()),
        format!("req-urn:uuid:{}", uuid_like()),
        format!("req-{} ", uuid_like()),
    ] {
        let (_, _, b) = call(
            &app,
            "/echo",
            &[("x-auth-token", &token), ("x-openstack-request-id", &other)],
        )
        .await;
        assert_eq!(b["ctx_global"], Value::Null, "{other}");
    }
    // an application's own request id stays on its response
    let (_, h, _) = call(&app, "/own-request-id", &[("x-auth-token", &token)]).await;
    assert_eq!(the_request_id(&h), "req-from-the-app");
}

/// The response's one `X-Openstack-Request-Id`.
fn the_request_id(h: &HeaderMap) -> &str {
    let ids: Vec<_> = h.get_all("x-openstack-request-id").iter().collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
    ids[0].to_str().unwrap()
}

fn uuid_like() -> String {
    "0b8f4f2e-4c8e-4d55-9d3c-2f3b8f0f6a11".into()
}

#[tokio::test]
async fn shared_between_apps_the_layer_is_one_cache() {
    let w = world().await;
    let layer = Arc::new(w.layer(|_| {}));
    let a = app((*layer).clone());
    let b = app((*layer).clone());
    let token = w.token("alice").await;
    call(&a, "/echo", &[("x-auth-token", &token)]).await;
    call(&b, "/echo", &[("x-auth-token", &token)]).await;
    assert_eq!(layer.counters().validations, 1);
}

#[tokio::test]
async fn request_ids_from_an_outer_layer_reach_every_response_once() {
    let w = world().await;
    let app = Router::new()
        .route("/open", get(|| async { "ok" }))
        .merge(app(w.layer(|_| {})))
        .layer(RequestIdLayer);
    let token = w.token("alice").await;
    let global = format!("req-{}", uuid_like());
    for _ in 0..2 {
        // validated, then cached
        let (s, h, b) = call(
            &app,
            "/echo",
            &[
                ("x-auth-token", &token),
                ("x-openstack-request-id", &global),
            ],
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(
            b["ctx_request"],
            the_request_id(&h),
            "the context has the same id"
        );
        assert_eq!(b["ctx_global"], global.as_str());
    }
    // routes without authentication, the fallback and the layer's own 401s have ids too
    for (path, headers, status) in [
        ("/open", &[][..], StatusCode::OK),
        (
            "/nowhere",
            &[("x-auth-token", token.as_str())][..],
            StatusCode::NOT_FOUND,
        ),
        (
            "/echo",
            &[("x-auth-token", "bogus")][..],
            StatusCode::UNAUTHORIZED,
        ),
    ] {
        let (s, h, _) = call(&app, path, headers).await;
        assert_eq!(s, status, "{path}");
        assert!(the_request_id(&h).starts_with("req-"), "{path}");
    }
    let (_, h1, _) = call(&app, "/open", &[]).await;
    let (_, h2, _) = call(&app, "/open", &[]).await;
    assert_ne!(
        h1["x-openstack-request-id"], h2["x-openstack-request-id"],
        "a new id per request"
    );
}

/// Without axum: plain hyper serving a tower stack whose bodies are hyper's `Incoming` and
/// `Full<Bytes>`, and `oneshot` with `String` bodies.
#[tokio::test]
async fn the_layer_serves_any_tower_stack_and_body_types() {
    use http_body_util::{BodyExt, Full};
    use hyper::body::{Bytes, Incoming};
    use hyper_util::rt::TokioIo;
    use hyper_util::service::TowerToHyperService;
    use tower::ServiceBuilder;

    let w = world().await;
    let layer = w.layer(|_| {});
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let stack = ServiceBuilder::new()
        .layer(RequestIdLayer)
        .layer(layer.clone())
        .service_fn(|req: Request<Incoming>| async move {
            let user = req.headers().get("x-user-name").cloned();
            let ctx = req.extensions().get::<Context>().cloned();
            let body = json!({
                "header": user.and_then(|v| v.to_str().ok().map(str::to_owned)),
                "ctx": ctx.and_then(|c| c.user_name().map(str::to_owned)),
            });
            Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(Bytes::from(
                body.to_string(),
            ))))
        });
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let service = TowerToHyperService::new(stack.clone());
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), service)
                    .await;
            });
        }
    });

    let client = reqwest::Client::new();
    let r = client.get(format!("{base}/any")).send().await.unwrap();
    let (status, headers) = (r.status(), r.headers().clone());
    let body: Value = r.json().await.unwrap();
    assert_keystone_401(status, &headers, &body, &w);
    assert_eq!(headers["content-type"], "application/json");

    let token = w.token("alice").await;
    for _ in 0..2 {
        let r = client
            .get(format!("{base}/any"))
            .header("x-auth-token", &token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert!(r.headers().contains_key("x-openstack-request-id"));
        let body: Value = r.json().await.unwrap();
        assert_eq!(body, json!({"header": "alice", "ctx": "alice"}));
    }
    assert_eq!(layer.counters().hits, 1);

    // `String` in, `String` out, through `oneshot`
    let svc = ServiceBuilder::new().layer(w.layer(|_| {})).service_fn(
        |req: Request<String>| async move {
            let name = req
                .extensions()
                .get::<Context>()
                .and_then(|c| c.user_name().map(str::to_owned));
            Ok::<_, std::convert::Infallible>(axum::http::Response::new(format!(
                "{} {}",
                name.unwrap_or_default(),
                req.into_body()
            )))
        },
    );
    let req = |token: Option<&str>| {
        let mut r = Request::builder().uri("/any");
        if let Some(t) = token {
            r = r.header("x-auth-token", t);
        }
        r.body("the body".to_owned()).unwrap()
    };
    let r = svc.clone().oneshot(req(Some(&token))).await.unwrap();
    assert_eq!(
        (r.status(), r.body().as_str()),
        (StatusCode::OK, "alice the body")
    );
    let r = svc.clone().oneshot(req(None)).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let body: Value = serde_json::from_str(r.body()).unwrap();
    assert_eq!(body["error"]["code"], 401);
    // and a `Full<Bytes>` response from the layer itself
    let svc = ServiceBuilder::new()
        .layer(w.layer(|_| {}))
        .service_fn(|_: Request<String>| async {
            Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(Bytes::from_static(
                b"x",
            ))))
        });
    let r = svc.oneshot(req(None)).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let bytes = r.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(
        serde_json::from_slice::<Value>(&bytes).unwrap()["error"]["code"],
        401
    );
}

/// A trust-scoped token: the handler sees the trust, on the validating path and from the cache.
#[tokio::test]
async fn a_trust_scoped_tokens_trust_reaches_the_handler() {
    use keystone_types::resources::{RoleIdentifier, TrustCreate};
    let w = world().await;
    let alice = w.user_session("alice");
    let alice_id = alice.access().await.unwrap().user_id().to_owned();
    let bob_id = w
        .user_session("bob")
        .access()
        .await
        .unwrap()
        .user_id()
        .to_owned();
    let trust = alice
        .admin()
        .create_trust(TrustCreate {
            trustor_user_id: alice_id.clone(),
            trustee_user_id: bob_id,
            project_id: Some(w.project.clone()),
            impersonation: false,
            roles: vec![RoleIdentifier {
                id: None,
                name: Some("member".into()),
            }],
            ..Default::default()
        })
        .await
        .unwrap();
    let token = w
        .token_for(
            Auth::password(UserIdentity::by_name("bob", "Default"), "pw")
                .scoped(Scope::trust(&trust.id)),
        )
        .await;
    let app = app(w.layer(|_| {}));
    for round in ["validated", "cached"] {
        let (status, _, body) = call(&app, "/echo", &[("x-auth-token", &token)]).await;
        assert_eq!(status, StatusCode::OK, "{round}: {body}");
        assert_eq!(body["ctx_trust"], trust.id.as_str(), "{round}");
        assert_eq!(body["ctx_trustor"], alice_id.as_str(), "{round}");
        assert_eq!(body["user"], "bob", "{round}");
    }
    // an ordinary token has none
    let plain = w.token("alice").await;
    let (_, _, body) = call(&app, "/echo", &[("x-auth-token", &plain)]).await;
    assert_eq!(body["ctx_trust"], Value::Null);
    assert_eq!(body["ctx_trustor"], Value::Null);
}

/// A hung Keystone (every validation takes 5 s): at most `max_concurrent_validations` are in
/// flight, the others are answered 503 at once (counted), each validation ends at its one
/// deadline without being sent again, and cached tokens keep being served.
#[tokio::test]
async fn a_hung_keystone_holds_a_bounded_number_of_validations_each_with_one_deadline() {
    let w = world().await;
    let layer = w.layer(|c| {
        c.max_concurrent_validations = 2;
        c.validation_timeout = 1;
        c.http_request_max_retries = 3;
    });
    let app = app(layer.clone());
    let cached = w.token("carol").await;
    assert_eq!(
        call(&app, "/echo", &[("x-auth-token", &cached)]).await.0,
        StatusCode::OK
    );
    let mut tokens = Vec::new();
    for _ in 0..6 {
        tokens.push(w.token("alice").await);
    }
    let before = w.fake.requests(VALIDATE);
    w.fake.controls().set_fault(
        VALIDATE,
        keystone_fake::Fault::latency(Duration::from_secs(5)),
    );
    let started = std::time::Instant::now();
    let calls: Vec<_> = tokens
        .iter()
        .map(|t| {
            let app = app.clone();
            let t = t.clone();
            tokio::spawn(async move {
                let (s, _, _) = call(&app, "/echo", &[("x-auth-token", &t)]).await;
                (s, std::time::Instant::now())
            })
        })
        .collect();
    // the cached token is served meanwhile, at once
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (s, _, _) = call(&app, "/echo", &[("x-auth-token", &cached)]).await;
    assert_eq!(s, StatusCode::OK);
    assert!(started.elapsed() < Duration::from_millis(900));
    let mut at_once = 0;
    for c in calls {
        let (status, at) = c.await.unwrap();
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        let took = at - started;
        assert!(
            took < Duration::from_millis(2500),
            "{took:?}: past the deadline"
        );
        if took < Duration::from_millis(500) {
            at_once += 1;
        }
    }
    assert_eq!(at_once, 4, "beyond two in flight, 503 at once");
    assert_eq!(layer.counters().overloaded, 4);
    // each validation asked once: the deadline cut it and a timeout is not retried
    assert_eq!(w.fake.requests(VALIDATE) - before, 2);
}

/// One client address sending many unknown tokens has them validated at a bounded rate; over
/// it, 429 without asking Keystone. Other clients, and its own cached tokens, are unaffected.
#[tokio::test]
async fn a_client_over_its_rate_of_unknown_tokens_is_answered_429() {
    let w = world().await;
    let layer = w.layer(|c| {
        c.unknown_token_rate = 1;
        c.unknown_token_burst = 3;
    });
    let app = app(layer.clone());
    let from = |ip: &str, token: &str| {
        let mut req = Request::builder()
            .uri("/echo")
            .header("x-auth-token", token)
            .body(Body::empty())
            .unwrap();
        let peer: std::net::SocketAddr = format!("{ip}:40000").parse().unwrap();
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(peer));
        let app = app.clone();
        async move { app.oneshot(req).await.unwrap() }
    };
    let alice = w.token("alice").await;
    assert_eq!(from("10.0.0.1", &alice).await.status(), StatusCode::OK);
    let before = w.fake.requests(VALIDATE);
    for i in 0..2 {
        let junk = format!("gAAAAABjunk{i}");
        assert_eq!(
            from("10.0.0.1", &junk).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let over = from("10.0.0.1", "gAAAAABjunk-over").await;
    assert_eq!(over.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(over.headers()["retry-after"], "1");
    let body = axum::body::to_bytes(over.into_body(), 1 << 16)
        .await
        .unwrap();
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["error"]["code"], 429);
    assert_eq!(
        w.fake.requests(VALIDATE) - before,
        2,
        "Keystone not asked over the rate"
    );
    // its cached token still works; another client's unknown token is validated
    assert_eq!(from("10.0.0.1", &alice).await.status(), StatusCode::OK);
    assert_eq!(
        from("10.0.0.2", "gAAAAABjunk-other").await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(layer.counters().rate_limited, 1);
}

/// The startup check names each configuration mistake, never a secret; a good configuration
/// passes.
#[tokio::test]
async fn the_startup_check_names_the_cause_of_a_misconfiguration() {
    let w = world().await;
    w.layer(|_| {}).check().await.unwrap();

    let err = w
        .layer(|c| c.password = Some("wrong-secret-pw".into()))
        .check()
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(
            err,
            keystone_middleware::StartupError::CredentialsRejected { .. }
        ),
        "{err:?}"
    );
    assert!(
        text.contains("myservice") && text.contains("domain id default"),
        "{text}"
    );
    assert!(!text.contains("wrong-secret-pw"), "{text}");

    // a user with only the member role may not validate others' tokens
    let plain = w.fake.create_user("plain", "plainpw").unwrap();
    w.fake
        .grant_project_role(&plain, &w.project, "member")
        .unwrap();
    let err = w
        .layer(|c| {
            c.username = Some("plain".into());
            c.password = Some("plainpw".into());
        })
        .check()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("identity:validate_token"), "{err}");

    let err = w
        .layer(|c| c.region_name = Some("Atlantis".into()))
        .check()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            keystone_middleware::StartupError::NoIdentityEndpoint { .. }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("Atlantis"), "{err}");

    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nowhere = format!("http://{}/v3", silent.local_addr().unwrap());
    drop(silent);
    let err = w
        .layer(|c| c.auth_url = Some(nowhere.clone()))
        .check()
        .await
        .unwrap_err();
    assert!(
        matches!(err, keystone_middleware::StartupError::Unreachable { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains(&nowhere), "{err}");
}

/// At run time, a service whose credentials Keystone rejects answers 503 (the body stays
/// generic) and counts it apart from Keystone outages.
/// Log lines written on this thread's subscriber.
#[derive(Clone, Default)]
struct Lines(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
/// One test, so that no other test's thread hits the layer's log line without a subscriber
/// (tracing caches a callsite's interest for the whole process).
async fn rejected_service_credentials_are_counted_apart_and_logged_at_error_rate_limited() {
    let w = world().await;
    let layer = w.layer(|c| c.password = Some("not-the-password".into()));
    let app = app(layer.clone());
    let lines = Lines::default();
    let writer = lines.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    for user in ["alice", "alice", "alice"] {
        let token = w.token(user).await;
        let (s, _, _) = call(&app, "/echo", &[("x-auth-token", &token)]).await;
        assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    }
    let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
    let errors: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("ERROR") && l.contains("auth_token::layer"))
        .collect();
    // one line for three requests (one every 30 s at most), naming who, never the password
    assert_eq!(errors.len(), 1, "{text}");
    assert!(errors[0].contains("service_user="), "{}", errors[0]);
    assert!(!text.contains("not-the-password"), "{text}");
    // counted apart from Keystone outages; the 503 body stays generic
    let c = layer.counters();
    assert_eq!(c.credentials_rejected, 3);
    assert_eq!(c.keystone_errors, 0);
    let (_, _, b) = call(&app, "/echo", &[("x-auth-token", &w.token("alice").await)]).await;
    assert!(!b.to_string().contains("password"), "{b}");
}

mod memcached;

/// Requests through `app` with `token`, each answered 200.
async fn ok(app: &Router, token: &str) {
    let (s, _, b) = call(app, "/echo", &[("x-auth-token", token)]).await;
    assert_eq!(s, StatusCode::OK, "{b}");
}

#[tokio::test]
async fn replicas_share_validations_through_memcached_in_every_strategy() {
    let w = world().await;
    for (strategy, secret) in [
        ("None", None),
        ("MAC", Some("s3cret")),
        ("ENCRYPT", Some("s3cret")),
    ] {
        let (m1, m2) = (memcached::Memcached::start(), memcached::Memcached::start());
        let replica = || {
            w.layer(|c| {
                c.memcached_servers = vec![m1.addr.clone(), m2.addr.clone()];
                c.memcache_security_strategy = Some(strategy.into());
                c.memcache_secret_key = secret.map(Into::into);
            })
        };
        let (a, b) = (replica(), replica());
        let (app_a, app_b) = (self::app(a.clone()), self::app(b.clone()));
        let mut tokens = vec![];
        for _ in 0..8 {
            tokens.push(w.token("alice").await);
        }
        let before = w.fake.requests("GET /v3/auth/tokens");
        for t in &tokens {
            ok(&app_a, t).await;
            ok(&app_b, t).await;
            ok(&app_b, t).await;
        }
        assert_eq!(
            w.fake.requests("GET /v3/auth/tokens") - before,
            tokens.len() as u64,
            "{strategy}: one validation per token for both replicas"
        );
        let (ca, cb) = (a.counters(), b.counters());
        assert_eq!(
            (ca.shared_misses, ca.validations),
            (8, 8),
            "{strategy}: {ca:?}"
        );
        assert_eq!(
            (cb.shared_hits, cb.validations),
            (8, 0),
            "{strategy}: {cb:?}"
        );
        assert_eq!(
            cb.hits, 8,
            "{strategy}: the second request from the process's own tier"
        );
        // the entries are keystonemiddleware's, spread over both servers by its hash
        let keys: Vec<String> = m1.keys().into_iter().chain(m2.keys()).collect();
        assert_eq!(keys.len(), 8, "{strategy}: {keys:?}");
        assert!(
            !m1.keys().is_empty() && !m2.keys().is_empty(),
            "{strategy}: both servers used"
        );
        for k in &keys {
            match strategy {
                "None" => assert!(k.starts_with("tokens/") && k.len() == 71, "{k}"),
                _ => assert!(k.starts_with("tokens/b'") && k.ends_with("=='"), "{k}"),
            }
        }
        // what is stored: the token body, never the token string (and encrypted with ENCRYPT)
        for k in &keys {
            let value = m1.raw_get(k).or_else(|| m2.raw_get(k)).unwrap();
            let text = String::from_utf8(value).unwrap();
            assert!(
                tokens.iter().all(|t| !text.contains(t.as_str())),
                "{strategy}: token stored"
            );
            let plain_body = text.contains("\"expires_at\"") || {
                use base64::Engine;
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(text.get(64..).unwrap_or_default())
                    .unwrap_or_default();
                String::from_utf8_lossy(&decoded).contains("\"expires_at\"")
            };
            assert_eq!(plain_body, strategy != "ENCRYPT", "{strategy}: {text}");
        }
    }
}

#[tokio::test]
async fn bad_entries_and_dead_servers_are_misses_never_failures() {
    let w = world().await;
    let mut m = memcached::Memcached::start();
    let addr = m.addr.clone();
    let with = |secret: &'static str| {
        let addr = addr.clone();
        w.layer(move |c| {
            c.memcached_servers = vec![addr];
            c.memcache_security_strategy = Some("MAC".into());
            c.memcache_secret_key = Some(secret.into());
            c.memcache_pool_socket_timeout = 1;
        })
    };
    let (a, b) = (with("one secret"), with("another secret"));
    let token = w.token("alice").await;
    let before = w.fake.requests("GET /v3/auth/tokens");
    ok(&self::app(a.clone()), &token).await;
    // another secret derives another key: a miss, validated again (as keystonemiddleware)
    ok(&self::app(b.clone()), &token).await;
    assert_eq!(w.fake.requests("GET /v3/auth/tokens") - before, 2);
    let cb = b.counters();
    assert_eq!(
        (cb.shared_misses, cb.shared_hits, cb.validations),
        (1, 0, 1),
        "{cb:?}"
    );

    // junk, or a value whose MAC is not the key's, is refused: a miss, counted, validated
    for (i, key) in m.keys().iter().enumerate() {
        let junk: &[u8] = if i == 0 {
            b"not what keystonemiddleware writes"
        } else {
            b"ucRHAaRGIyyQiCqs5wJYu3Vl9oM4Wq6DFmo53BlGzLohJj9TLGGmQrj/Hc+bVOJYeyJ0b2tlbiI6IHt9fQ=="
        };
        m.raw_set(key, junk);
    }
    let c = with("one secret");
    ok(&self::app(c.clone()), &token).await;
    let cc = c.counters();
    assert_eq!((cc.shared_bad_entries, cc.validations), (1, 1), "{cc:?}");

    // memcached gone: requests go on to Keystone, the server is skipped until dead_retry
    m.stop();
    let d = with("one secret");
    let app = self::app(d.clone());
    for _ in 0..3 {
        let fresh = w.token("alice").await;
        ok(&app, &fresh).await;
    }
    let cd = d.counters();
    assert_eq!(cd.validations, 3, "{cd:?}");
    assert!(cd.shared_errors >= 1, "{cd:?}");
    assert_eq!(d.shared_cache_servers(), Some((1, 1)));
}

/// keystonemiddleware 4.x (before 4.17) stored the JSON string `"invalid"` under a token's key
/// when Keystone rejected it (`TokenCache.store_invalid`); 13.0.1 writes none but, reading one,
/// answers 401 without asking Keystone. We honour it only where invalid tokens are remembered
/// (`negative_cache_time`); otherwise it is a plain miss, never a bad entry.
#[tokio::test]
async fn an_older_keystonemiddlewares_invalid_marker_is_a_miss_or_a_negative_hit() {
    let w = world().await;
    let m = memcached::Memcached::start();
    let with = |negative: i64| {
        w.layer(|c| {
            c.memcached_servers = vec![m.addr.clone()];
            c.negative_cache_time = negative;
        })
    };
    let token = w.token("alice").await;
    let key = {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(token.as_bytes());
        format!("tokens/{}", hex(&digest))
    };
    let marker = br#""invalid""#;

    // without negative caching: a miss, validated (and the body written over the marker)
    m.raw_set(&key, marker);
    let a = with(0);
    ok(&self::app(a.clone()), &token).await;
    let ca = a.counters();
    assert_eq!(
        (
            ca.validations,
            ca.shared_invalid_markers,
            ca.shared_misses,
            ca.shared_bad_entries
        ),
        (1, 1, 1, 0),
        "{ca:?}"
    );
    assert_ne!(m.raw_get(&key).as_deref(), Some(&marker[..]));

    // with it: Keystone's "invalid", without asking Keystone, then remembered here
    m.raw_set(&key, marker);
    let b = with(60);
    let app = self::app(b.clone());
    for _ in 0..2 {
        let (s, _, body) = call(&app, "/echo", &[("x-auth-token", &token)]).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{body}");
    }
    let cb = b.counters();
    assert_eq!(
        (
            cb.validations,
            cb.shared_invalid_markers,
            cb.negative_hits,
            cb.shared_bad_entries
        ),
        (0, 1, 2, 0),
        "{cb:?}"
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A memcached that accepts connections and never answers costs the first request one socket
/// timeout (the exchange's; the documented bound is twice it), then is skipped for
/// `memcache_pool_dead_retry`: no wait, no new connection. Every request goes on to Keystone,
/// and the metrics say so.
#[tokio::test]
async fn a_silent_memcached_costs_one_socket_timeout_then_is_skipped() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Instant;

    let w = world().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let accepted = Arc::new(AtomicUsize::new(0));
    let silent = tokio::spawn({
        let accepted = accepted.clone();
        async move {
            let mut held = vec![];
            while let Ok((conn, _)) = listener.accept().await {
                accepted.fetch_add(1, Ordering::Relaxed);
                held.push(conn);
            }
        }
    });
    let layer = w.layer(|c| {
        c.memcached_servers = vec![addr];
        // the option is whole seconds, as keystonemiddleware's
        c.memcache_pool_socket_timeout = 1;
        c.memcache_pool_dead_retry = 300;
    });
    let app = self::app(layer.clone());

    let token = w.token("alice").await;
    let started = Instant::now();
    ok(&app, &token).await;
    let first = started.elapsed();
    assert!(
        first >= Duration::from_millis(900) && first < Duration::from_secs(2),
        "first request: {first:?}"
    );
    for _ in 0..3 {
        let token = w.token("alice").await;
        let started = Instant::now();
        ok(&app, &token).await;
        let next = started.elapsed();
        assert!(next < Duration::from_millis(500), "next request: {next:?}");
    }
    assert_eq!(accepted.load(Ordering::Relaxed), 1);
    assert_eq!(layer.shared_cache_servers(), Some((1, 1)));
    let c = layer.counters();
    assert_eq!(c.validations, 4, "{c:?}");
    // each lookup and each write is an error: the one that timed out, then the skipped ones
    assert_eq!(c.shared_errors, 2 * 4, "{c:?}");

    let mut registry =
        keystone_middleware::prometheus_client::registry::Registry::with_prefix("svc");
    layer.register_metrics(&mut registry);
    let response = keystone_middleware::metrics_response(&registry);
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let text = String::from_utf8(body.to_vec()).unwrap();
    for line in [
        "svc_shared_cache_hits_total 0".to_owned(),
        format!("svc_shared_cache_misses_total {}", c.shared_misses),
        format!("svc_shared_cache_errors_total {}", c.shared_errors),
        "svc_shared_cache_bad_entries_total 0".to_owned(),
        "svc_shared_cache_invalid_markers_total 0".to_owned(),
    ] {
        assert!(text.contains(&line), "{line} not in:\n{text}");
    }
    silent.abort();
}

#[tokio::test]
async fn memcache_options_are_checked_when_the_layer_is_made() {
    let w = world().await;
    for (edit, names) in [
        (
            (|c: &mut AuthTokenConfig| {
                c.memcached_servers = vec!["127.0.0.1:11211".into()];
                c.memcache_security_strategy = Some("ENCRYPT".into());
            }) as fn(&mut AuthTokenConfig),
            "memcache_secret_key",
        ),
        (
            |c: &mut AuthTokenConfig| c.memcache_security_strategy = Some("AES".into()),
            "None, MAC or ENCRYPT",
        ),
        (
            |c: &mut AuthTokenConfig| c.memcached_servers = vec!["cache:port".into()],
            "memcached_servers",
        ),
        (
            |c: &mut AuthTokenConfig| {
                c.memcached_servers = vec!["127.0.0.1:11211".into()];
                c.memcache_tls_enabled = true;
            },
            "memcache_tls_enabled",
        ),
    ] {
        let mut c = w.config();
        edit(&mut c);
        let e = AuthTokenLayer::from_config(&c).unwrap_err().to_string();
        assert!(e.contains(names), "{e}");
        assert!(!e.contains("svcpw"), "{e}");
    }
}

/// A layer caching for 300 s and reading revocation events every second.
fn revocation_layer(w: &World) -> AuthTokenLayer {
    w.layer(|c| {
        c.token_cache_time = 300;
        c.revocation_check_interval = 1;
    })
}

/// Requests with `token` until it is answered 401 (within `limit`); how long that took.
async fn until_rejected(app: &Router, token: &str, limit: Duration) -> Duration {
    let started = std::time::Instant::now();
    loop {
        let (s, _, b) = call(app, "/echo", &[("x-auth-token", token)]).await;
        if s == StatusCode::UNAUTHORIZED {
            return started.elapsed();
        }
        assert_eq!(s, StatusCode::OK, "{b}");
        assert!(started.elapsed() < limit, "still accepted after {limit:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn revoked_tokens_are_rejected_within_an_interval_while_others_stay_cached() {
    let w = world().await;
    let mut ids = vec![];
    for name in ["dave", "erin", "frank"] {
        let id = w.fake.create_user(name, "pw").unwrap();
        w.fake
            .grant_project_role(&id, &w.project, "member")
            .unwrap();
        ids.push(id);
    }
    let layer = revocation_layer(&w);
    let app = app(layer.clone());
    let bystander = w.token("carol").await;
    let tokens = [
        w.token("dave").await,
        w.token("erin").await,
        w.token("frank").await,
    ];
    for t in tokens.iter().chain([&bystander]) {
        ok(&app, t).await;
        ok(&app, t).await;
    }
    let validations = w.fake.requests(VALIDATE);
    // the first poll has been made (at start), with nothing to evict
    assert!(layer.counters().revocation_polls >= 1);

    // each way Keystone records an event: the token revoked, the user disabled, the user's
    // password changed
    w.user_session("bob")
        .revoke_token(&tokens[0])
        .await
        .unwrap();
    w.fake.set_user_enabled(&ids[1], false).unwrap();
    w.fake.set_user_password(&ids[2], "newpw").unwrap();
    let limit = Duration::from_secs(3);
    for t in &tokens {
        let took = until_rejected(&app, t, limit).await;
        eprintln!("rejected {took:?} after the revocation");
    }
    // each was validated once more (and Keystone said no); the bystander never again
    assert_eq!(w.fake.requests(VALIDATE) - validations, 3);
    ok(&app, &bystander).await;
    assert_eq!(w.fake.requests(VALIDATE) - validations, 3);
    let c = layer.counters();
    assert!(c.revocation_events >= 4, "{c:?}");
    assert!(c.revocation_evictions >= 3, "{c:?}");
    assert_eq!(c.revocation_poll_errors, 0);
    let status = layer.revocation_status().unwrap();
    assert!(!status.stale);
    assert!(status.events >= 4);
}

#[tokio::test]
async fn what_keystone_records_no_event_for_stays_cached_until_the_entry_ends() {
    // Keystone 30 checks role assignments, a project's state and application credentials
    // when it validates, and records no revocation event for them: a cache keeps serving such
    // a token until its entry ends (token_cache_time), as keystonemiddleware's does
    let w = world().await;
    let layer = revocation_layer(&w);
    let app = app(layer.clone());
    let alice = w.token("alice").await;
    ok(&app, &alice).await;
    let admin = w.user_session("bob");
    let roles = admin
        .get(format!("{}/roles?name=member", w.fake.auth_url()))
        .send()
        .await
        .unwrap();
    let roles: Value = roles.json().await.unwrap();
    let member = roles["roles"][0]["id"].as_str().unwrap().to_owned();
    let access = w.user_session("alice").access().await.unwrap();
    let alice_id = access.body().user.id.clone();
    let r = admin
        .request(
            reqwest::Method::DELETE,
            format!(
                "{}/projects/{}/users/{alice_id}/roles/{member}",
                w.fake.auth_url(),
                w.project
            ),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::NO_CONTENT);
    let polls = layer.counters().revocation_polls;
    while layer.counters().revocation_polls < polls + 2 {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    ok(&app, &alice).await;
    assert_eq!(layer.counters().revocation_evictions, 0);
    // a fresh validation sees the change at once
    let (s, _, _) = call(
        &self::app(w.layer(|_| {})),
        "/echo",
        &[("x-auth-token", &alice)],
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_failed_poll_fails_no_request_and_the_feed_recovers() {
    let w = world().await;
    let layer = w.layer(|c| {
        c.token_cache_time = 300;
        c.revocation_check_interval = 1;
        c.validation_timeout = 1;
    });
    let app = app(layer.clone());
    let (alice, carol) = (w.token("alice").await, w.token("carol").await);
    ok(&app, &alice).await;
    ok(&app, &carol).await;
    w.fake.refuse_connections(true).await.unwrap();
    let errors = |l: &AuthTokenLayer| l.counters().revocation_poll_errors;
    let started = std::time::Instant::now();
    while errors(&layer) < 2 {
        assert!(started.elapsed() < Duration::from_secs(10));
        ok(&app, &alice).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // three intervals and the deadline without a good poll: stale
    while !layer.revocation_status().unwrap().stale {
        assert!(started.elapsed() < Duration::from_secs(15));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    ok(&app, &alice).await;
    w.fake.refuse_connections(false).await.unwrap();
    w.user_session("bob").revoke_token(&alice).await.unwrap();
    // after the backoff (at most eight intervals), the revocation arrives
    until_rejected(&app, &alice, Duration::from_secs(12)).await;
    assert!(!layer.revocation_status().unwrap().stale);
    ok(&app, &carol).await;
}

#[tokio::test]
async fn without_permission_to_read_events_the_checks_are_off() {
    let w = world().await;
    // a service user with a role that may validate tokens but not read events
    let id = w.fake.create_user("validator", "pw").unwrap();
    w.fake.grant_system_role(&id, "reader").unwrap();
    let layer = w.layer(|c| {
        c.username = Some("validator".into());
        c.password = Some("pw".into());
        c.project_name = None;
        c.project_domain_id = None;
        c.system_scope = Some("all".into());
        c.revocation_check_interval = 1;
    });
    let app = app(layer.clone());
    let alice = w.token("alice").await;
    ok(&app, &alice).await;
    let started = std::time::Instant::now();
    while layer.revocation_status().is_some() {
        assert!(started.elapsed() < Duration::from_secs(5), "still on");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(layer.counters().revocation_polls, 1);
    ok(&app, &alice).await;
    // and off by configuration
    let off = w.layer(|c| c.revocation_check_interval = 0);
    assert!(off.revocation_status().is_none());
}

#[tokio::test]
async fn entries_read_from_memcached_are_checked_against_the_events_and_deleted() {
    let w = world().await;
    let m = memcached::Memcached::start();
    let replica = || {
        w.layer(|c| {
            c.memcached_servers = vec![m.addr.clone()];
            c.token_cache_time = 300;
            c.revocation_check_interval = 1;
        })
    };
    let (a, b) = (replica(), replica());
    let (app_a, app_b) = (app(a.clone()), app(b.clone()));
    let alice = w.token("alice").await;
    // A validates and writes memcached; then the token is revoked
    ok(&app_a, &alice).await;
    w.user_session("bob").revoke_token(&alice).await.unwrap();
    let started = std::time::Instant::now();
    while b.counters().revocation_events < 2 {
        assert!(started.elapsed() < Duration::from_secs(5));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // B finds A's entry, which the event covers: refused, deleted, validated (and rejected)
    let (s, _, _) = call(&app_b, "/echo", &[("x-auth-token", &alice)]).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(b.counters().shared_hits, 1);
    assert_eq!(b.counters().validations, 1);
    // a third replica, without events, finds nothing there any more
    let c = w.layer(|c| {
        c.memcached_servers = vec![m.addr.clone()];
        c.revocation_check_interval = 0;
    });
    let (s, _, _) = call(&app(c.clone()), "/echo", &[("x-auth-token", &alice)]).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(c.counters().shared_hits, 0);
    until_rejected(&app_a, &alice, Duration::from_secs(3)).await;
}
