//! The proxy over real sockets, between the fake Keystone and an upstream that echoes what it
//! received: 401/403/200/201 as the routes and rules say, the identity headers
//! keystonemiddleware sets (spoofed ones never reach the upstream), forwarding headers and
//! request ids, public and unmatched routes, streamed bodies, 502 and 504, forward auth for
//! nginx, Traefik and Envoy (application-credential access rules checked against the original
//! request), the access log, the metrics, and the guide's gateway snippets held to the
//! middleware's identity headers.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::extract::ws::{Message, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::routing::any;
use futures_util::SinkExt;
use futures_util::StreamExt;
use keystone_fake::FakeKeystone;
use keystone_middleware::config::ServerConfig;
use keystone_proxy::{Proxy, ProxyConfig};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// An upstream that answers what it saw: method, path, headers, the body's length.
async fn echo_upstream() -> (SocketAddr, Arc<AtomicU64>) {
    let seen = Arc::new(AtomicU64::new(0));
    let counted = seen.clone();
    let app = Router::new()
        .route("/v1/{project}/ws", any(websocket))
        .route(
            "/slow",
            any(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            }),
        )
        .fallback(any(move |req: Request| {
            let counted = counted.clone();
            async move {
                let (parts, body) = req.into_parts();
                let mut stream = body.into_data_stream();
                let mut length = 0u64;
                while let Some(chunk) = stream.next().await {
                    length += chunk.map(|c| c.len() as u64).unwrap_or(0);
                }
                counted.fetch_add(length, Ordering::Relaxed);
                let headers: serde_json::Map<String, Value> = parts
                    .headers
                    .iter()
                    .map(|(k, v)| (k.to_string(), json!(v.to_str().unwrap_or("?"))))
                    .collect();
                let status = if parts.method == "POST" {
                    StatusCode::CREATED
                } else {
                    StatusCode::OK
                };
                (
                    status,
                    axum::Json(json!({
                        "method": parts.method.as_str(),
                        "path": parts.uri.path_and_query().map(|p| p.as_str()),
                        "headers": headers,
                        "length": length,
                    })),
                )
            }
        }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, seen)
}

/// A WebSocket that first says who the proxy said the caller is, then echoes.
async fn websocket(
    ws: WebSocketUpgrade,
    headers: axum::http::HeaderMap,
) -> axum::response::Response {
    let user = headers
        .get("x-user-name")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("nobody")
        .to_owned();
    ws.on_upgrade(move |mut socket| async move {
        if socket.send(Message::Text(user.into())).await.is_err() {
            return;
        }
        while let Some(Ok(m)) = socket.recv().await {
            if matches!(m, Message::Close(_)) || socket.send(m).await.is_err() {
                return;
            }
        }
    })
}

struct World {
    fake: FakeKeystone,
    demo: String,
    other: String,
    proxy: String,
    admin: String,
    upstream_bytes: Arc<AtomicU64>,
}

async fn world(upstream: Option<&str>) -> World {
    world_with(upstream, "").await
}

/// The world with more `[proxy]` options (TOML lines).
async fn world_with(upstream: Option<&str>, proxy_options: &str) -> World {
    world_configured(upstream, "", proxy_options).await
}

/// The world with more `[keystone_authtoken]` and `[proxy]` options (TOML lines).
async fn world_configured(
    upstream: Option<&str>,
    auth_options: &str,
    proxy_options: &str,
) -> World {
    let fake = FakeKeystone::start().await.unwrap();
    let services = fake.create_project("services").unwrap();
    let demo = fake.create_project("demo").unwrap();
    let other = fake.create_project("other").unwrap();
    let svc = fake.create_user("proxysvc", "svcpw").unwrap();
    fake.grant_project_role(&svc, &services, "service").unwrap();
    let alice = fake.create_user("alice", "alicepw").unwrap();
    fake.grant_project_role(&alice, &demo, "member").unwrap();
    let bob = fake.create_user("bob", "bobpw").unwrap();
    fake.grant_project_role(&bob, &demo, "admin").unwrap();

    let (echo, upstream_bytes) = echo_upstream().await;
    let upstream = upstream
        .map(str::to_owned)
        .unwrap_or_else(|| format!("http://{echo}"));
    let config = ProxyConfig::from_toml_str(&format!(
        r#"
[keystone_authtoken]
auth_url = "{auth}"
username = "proxysvc"
password = "svcpw"
user_domain_id = "default"
project_name = "services"
project_domain_id = "default"
include_service_catalog = false
{auth_options}

[proxy]
upstream = "{upstream}"
forward_auth_path = "/_auth"
upstream_timeout = 1
{proxy_options}

[[proxy.route]]
methods = ["GET"]
path = "/v1/{{project_id}}/things"
rule = "things:list"

[[proxy.route]]
methods = ["POST"]
path = "/v1/{{project_id}}/things"
rule = "things:create"

[[proxy.route]]
path = "/public/**"
public = true

[[proxy.route]]
path = "/slow"
public = true

[[proxy.route]]
methods = ["GET"]
path = "/v1/{{project_id}}/ws"
rule = "things:list"

[proxy.rules]
"things:list" = "project_id:%(project_id)s"
"things:create" = "role:admin and project_id:%(project_id)s"
"#,
        auth = fake.auth_url()
    ))
    .unwrap();
    let proxy = Proxy::from_config(&config).unwrap();
    proxy.check().await.unwrap();
    let serve = |router: Router| async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            keystone_middleware::serve(
                listener,
                router,
                &ServerConfig::default(),
                std::future::pending(),
            )
            .await
        });
        format!("http://{addr}")
    };
    let proxy_url = serve(proxy.router()).await;
    let admin_url = serve(proxy.admin_router()).await;
    World {
        fake,
        demo,
        other,
        proxy: proxy_url,
        admin: admin_url,
        upstream_bytes,
    }
}

impl World {
    async fn token(&self, user: &str, password: &str) -> String {
        let body = json!({"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": user, "domain": {"id": "default"}, "password": password}}},
            "scope": {"project": {"id": self.demo}},
        }});
        let r = reqwest::Client::new()
            .post(format!("{}/auth/tokens", self.fake.auth_url()))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        r.headers()["x-subject-token"].to_str().unwrap().to_owned()
    }
}

async fn send(
    method: reqwest::Method,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<reqwest::Body>,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let mut req = reqwest::Client::new().request(method, url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(b) = body {
        req = req.body(b);
    }
    let r = req.send().await.unwrap();
    let status = StatusCode::from_u16(r.status().as_u16()).unwrap();
    let h = r.headers().clone();
    let text = r.text().await.unwrap();
    (
        status,
        h,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

#[tokio::test]
async fn routes_rules_and_the_identity_headers_keystonemiddleware_sets() {
    let w = world(None).await;
    let alice = w.token("alice", "alicepw").await;
    let bob = w.token("bob", "bobpw").await;
    let things = format!("{}/v1/{}/things?limit=2", w.proxy, w.demo);
    let get = reqwest::Method::GET;
    let post = reqwest::Method::POST;

    // no token: 401 in Keystone's shape, with WWW-Authenticate
    let (s, h, b) = send(get.clone(), &things, &[], None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(b["error"]["code"], 401);
    assert!(
        h["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Keystone uri=")
    );

    // a member reads her project's things; what she spoofs never reaches the upstream
    let (s, h, b) = send(
        get.clone(),
        &things,
        &[
            ("x-auth-token", &alice),
            ("x-roles", "admin"),
            ("x-user-name", "root"),
            ("x-forwarded-for", "203.0.113.9"),
        ],
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let seen = &b["headers"];
    assert_eq!(seen["x-identity-status"], "Confirmed");
    assert_eq!(seen["x-user-name"], "alice");
    assert_eq!(seen["x-roles"], "member,reader");
    assert_eq!(seen["x-project-id"], w.demo.as_str());
    assert_eq!(seen["x-user-domain-id"], "default");
    assert_eq!(seen["x-forwarded-for"], "203.0.113.9, 127.0.0.1");
    assert_eq!(seen["x-forwarded-proto"], "http");
    assert!(
        seen["x-forwarded-host"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:")
    );
    assert_eq!(b["path"], format!("/v1/{}/things?limit=2", w.demo));
    // the upstream and the client see one request id
    let id = h["x-openstack-request-id"].to_str().unwrap();
    assert!(id.starts_with("req-"), "{id}");
    assert_eq!(seen["x-openstack-request-id"], id);
    assert_eq!(
        seen["x-auth-token"],
        alice.as_str(),
        "the token goes on, as keystonemiddleware leaves it"
    );

    // another project's things: the rule's target is the path's project
    let (s, _, b) = send(
        get.clone(),
        &format!("{}/v1/{}/things", w.proxy, w.other),
        &[("x-auth-token", &alice)],
        None,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap()
            .contains("things:list"),
        "{b}"
    );

    // creating: the member is denied, the admin creates
    let (s, _, _) = send(
        post.clone(),
        &things,
        &[("x-auth-token", &alice)],
        Some("{}".into()),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, b) = send(
        post.clone(),
        &things,
        &[("x-auth-token", &bob)],
        Some("{}".into()),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["method"], "POST");

    // no route: 401 without a token, 403 with one
    let nowhere = format!("{}/v2/elsewhere", w.proxy);
    assert_eq!(
        send(get.clone(), &nowhere, &[], None).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        send(get.clone(), &nowhere, &[("x-auth-token", &bob)], None)
            .await
            .0,
        StatusCode::FORBIDDEN
    );

    // public routes need no token, and say so upstream
    let (s, _, b) = send(
        get.clone(),
        &format!("{}/public/a/b", w.proxy),
        &[("x-roles", "admin")],
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["headers"]["x-identity-status"], "Invalid");
    assert!(b["headers"].get("x-roles").is_none(), "{b}");

    // the metrics count the outcomes and the layer's cache
    let metrics = reqwest::get(format!("{}/metrics", w.admin))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "keystone_proxy_requests_total{outcome=\"allowed\"}",
        "keystone_proxy_requests_total{outcome=\"forbidden\"}",
        "keystone_proxy_requests_total{outcome=\"unauthenticated\"}",
        "keystone_proxy_validations_total",
        "keystone_proxy_token_cache_hits_total",
        "keystone_proxy_token_cache_misses_total",
        "keystone_proxy_token_cache_coalesced_total",
        "keystone_proxy_shared_cache_hits_total",
        "keystone_proxy_revocation_polls_total",
        "keystone_proxy_upstream_latency_seconds_bucket",
        "keystone_proxy_validation_latency_seconds_bucket{le=\"0.001\"}",
        "keystone_proxy_validation_latency_seconds_count",
    ] {
        assert!(metrics.contains(line), "{line} not in:\n{metrics}");
    }
    assert_eq!(
        reqwest::get(format!("{}/livez", w.admin))
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        reqwest::get(format!("{}/readyz", w.admin))
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn bodies_stream_and_upstream_failures_are_502_and_504() {
    let w = world(None).await;
    let bob = w.token("bob", "bobpw").await;
    let things = format!("{}/v1/{}/things", w.proxy, w.demo);
    // 64 MiB in 64 KiB chunks, never whole in the proxy's memory
    let chunks = futures_util::stream::iter(
        (0..1024).map(|_| Ok::<_, std::io::Error>(vec![b'x'; 64 << 10])),
    );
    let (s, _, b) = send(
        reqwest::Method::POST,
        &things,
        &[("x-auth-token", &bob)],
        Some(reqwest::Body::wrap_stream(chunks)),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["length"], 64u64 << 20);
    assert_eq!(w.upstream_bytes.load(Ordering::Relaxed), 64 << 20);

    // an upstream too slow: 504 in OpenStack's shape
    let (s, _, b) = send(
        reqwest::Method::GET,
        &format!("{}/slow", w.proxy),
        &[],
        None,
    )
    .await;
    assert_eq!(s, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(b["error"]["code"], 504);

    // an upstream that cannot be reached: 502
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let gone = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let w = world(Some(&gone)).await;
    let (s, _, b) = send(
        reqwest::Method::GET,
        &format!("{}/public/x", w.proxy),
        &[],
        None,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_GATEWAY);
    assert_eq!(b["error"]["code"], 502);
}

#[tokio::test]
async fn forward_auth_for_nginx_and_traefik() {
    let w = world(None).await;
    let alice = w.token("alice", "alicepw").await;
    let auth = format!("{}/_auth", w.proxy);
    let mine = format!("/v1/{}/things?limit=1", w.demo);
    let theirs = format!("/v1/{}/things", w.other);
    let get = reqwest::Method::GET;

    // nginx's auth_request
    let (s, h, _) = send(
        get.clone(),
        &auth,
        &[
            ("x-original-method", "GET"),
            ("x-original-uri", &mine),
            ("x-auth-token", &alice),
            ("x-roles", "admin"),
        ],
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h["x-user-name"], "alice");
    assert_eq!(
        h["x-roles"], "member,reader",
        "the caller's own spoofed roles are not echoed"
    );
    assert_eq!(h["x-identity-status"], "Confirmed");
    assert_eq!(h["x-project-id"], w.demo.as_str());

    // Traefik's ForwardAuth
    let (s, _, _) = send(
        get.clone(),
        &auth,
        &[
            ("x-forwarded-method", "GET"),
            ("x-forwarded-uri", &theirs),
            ("x-auth-token", &alice),
        ],
        None,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, h, _) = send(
        get.clone(),
        &auth,
        &[("x-forwarded-method", "GET"), ("x-forwarded-uri", &mine)],
        None,
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(h.contains_key("www-authenticate"));

    // without the original request's headers: 400, saying which
    let (s, _, b) = send(get, &auth, &[("x-auth-token", &alice)], None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap()
            .contains("X-Original-URI")
    );
}

#[tokio::test]
async fn forward_auth_for_envoy_reads_the_original_request_from_the_path() {
    let w = world(None).await;
    let alice = w.token("alice", "alicepw").await;
    // Envoy's ext_authz with path_prefix: the original method, the prefix and the original
    // path and query, the tokens and the request id as allowed_headers lets through
    let mine = format!("{}/_auth/v1/{}/things?limit=1", w.proxy, w.demo);
    let (s, h, _) = send(
        reqwest::Method::GET,
        &mine,
        &[
            ("x-auth-token", &alice),
            (
                "x-openstack-request-id",
                "req-8d0a0c55-3bc4-4a30-9f4e-5f3f2f6fbd11",
            ),
            ("x-user-id", "spoofed"),
        ],
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h["x-user-name"], "alice");
    assert_eq!(h["x-project-id"], w.demo.as_str());
    assert_ne!(h["x-user-id"], "spoofed");
    // the method is the check's own: a member may list, not create
    let (s, _, _) = send(
        reqwest::Method::POST,
        &mine,
        &[("x-auth-token", &alice)],
        None,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let theirs = format!("{}/_auth/v1/{}/things", w.proxy, w.other);
    let (s, _, _) = send(
        reqwest::Method::GET,
        &theirs,
        &[("x-auth-token", &alice)],
        None,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, h, _) = send(reqwest::Method::GET, &mine, &[], None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(h.contains_key("www-authenticate"));
    // a public route under the prefix
    let (s, h, _) = send(
        reqwest::Method::GET,
        &format!("{}/_auth/public/a", w.proxy),
        &[],
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h["x-identity-status"], "Invalid");
    // headers, when present, win over the path
    let (s, _, _) = send(
        reqwest::Method::GET,
        &mine,
        &[
            ("x-auth-token", &alice),
            ("x-forwarded-method", "GET"),
            ("x-forwarded-uri", &format!("/v1/{}/things", w.other)),
        ],
        None,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // the prefix is a path segment: /_authx is no check
    let (s, _, _) = send(
        reqwest::Method::GET,
        &format!("{}/_authx/v1/{}/things", w.proxy, w.demo),
        &[("x-auth-token", &alice)],
        None,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "forwarded, and matching no route");
}

#[tokio::test]
async fn forward_auth_checks_access_rules_against_the_original_request() {
    let w = world_configured(None, r#"service_type = "myservice""#, "").await;
    let svc = w.fake.create_service("myservice", "myservice").unwrap();
    w.fake
        .create_endpoint(&svc, "public", "http://127.0.0.1:1/", Some("RegionOne"))
        .unwrap();
    let http = reqwest::Client::new();
    let alice = w.token("alice", "alicepw").await;
    let me: Value = http
        .get(format!("{}/auth/tokens", w.fake.auth_url()))
        .header("x-auth-token", &alice)
        .header("x-subject-token", &alice)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let user_id = me["token"]["user"]["id"].as_str().unwrap();
    let things = format!("/v1/{}/things", w.demo);
    let r = http
        .post(format!(
            "{}/users/{user_id}/application_credentials",
            w.fake.auth_url()
        ))
        .header("x-auth-token", &alice)
        .json(&json!({"application_credential": {
            "name": "list-only",
            "access_rules": [{"service": "myservice", "method": "GET", "path": things}],
        }}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let cred: Value = r.json().await.unwrap();
    let cred = &cred["application_credential"];
    let r = http
        .post(format!("{}/auth/tokens", w.fake.auth_url()))
        .json(&json!({"auth": {"identity": {
            "methods": ["application_credential"],
            "application_credential": {"id": cred["id"], "secret": cred["secret"]},
        }}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let limited = r.headers()["x-subject-token"].to_str().unwrap().to_owned();

    let auth = format!("{}/_auth", w.proxy);
    // the gateway's names of the original method and URI
    let check = |(m, u): (&'static str, &'static str), method: &'static str, uri: String| {
        let (auth, limited) = (auth.clone(), limited.clone());
        async move {
            send(
                reqwest::Method::GET,
                &auth,
                &[(m, method), (u, &uri), ("x-auth-token", &limited)],
                None,
            )
            .await
            .0
        }
    };
    for gateway in [
        ("x-original-method", "x-original-uri"),
        ("x-forwarded-method", "x-forwarded-uri"),
    ] {
        // the rule's request, though the check itself is a GET of /_auth
        assert_eq!(check(gateway, "GET", things.clone()).await, StatusCode::OK);
        assert_eq!(
            check(gateway, "GET", format!("{things}?limit=1")).await,
            StatusCode::OK
        );
        // outside the rules: the token is refused, as keystonemiddleware refuses it
        assert_eq!(
            check(gateway, "POST", things.clone()).await,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            check(gateway, "GET", format!("/v1/{}/things/x", w.demo)).await,
            StatusCode::UNAUTHORIZED
        );
    }
    // Envoy's shape
    let (s, _, _) = send(
        reqwest::Method::GET,
        &format!("{auth}{things}"),
        &[("x-auth-token", &limited)],
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
}

/// What a test's tracing subscriber wrote.
#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn access_log_lines_carry_the_request_id_and_never_the_token() {
    // the whole test binary's subscriber, set once: a thread's own subscriber would miss the
    // span of a request when another test's thread met its callsite first
    static LOGS: std::sync::OnceLock<Captured> = std::sync::OnceLock::new();
    let logs = LOGS.get_or_init(|| {
        let logs = Captured::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber)
            .expect("the binary's only global subscriber");
        logs
    });
    let w = world(None).await;
    let alice = w.token("alice", "alicepw").await;
    let mut seen = vec![];
    for url in [
        format!("{}/v1/{}/things?token={alice}", w.proxy, w.demo),
        format!("{}/_auth", w.proxy),
    ] {
        let (_, h, _) = send(
            reqwest::Method::GET,
            &url,
            &[
                ("x-auth-token", &alice),
                ("x-original-method", "GET"),
                ("x-original-uri", &format!("/v1/{}/things", w.demo)),
            ],
            None,
        )
        .await;
        seen.push(h["x-openstack-request-id"].to_str().unwrap().to_owned());
    }
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    for id in seen {
        assert!(
            text.lines()
                .any(|l| l.contains("finished processing request")
                    && l.contains(&format!("request_id={id}"))),
            "no access line with {id}:\n{text}"
        );
    }
    assert!(!text.contains(&alice), "a token in the log:\n{text}");
}

/// The fenced block of the guide that starts with `opening`.
fn guide_block<'a>(guide: &'a str, opening: &str) -> &'a str {
    let start = guide
        .find(opening)
        .unwrap_or_else(|| panic!("no {opening}"));
    let block = &guide[start..];
    let body = &block[block.find('\n').unwrap() + 1..];
    &body[..body.find("```").unwrap()]
}

/// docs/proxy.md's gateway snippets hand on every identity header the middleware knows (and
/// owns, so a client's value of any other one is the application's business): one the nginx
/// snippet (the one the conformance step runs) forgot would reach the application as the
/// client sent it.
#[test]
fn the_guides_gateway_snippets_clear_every_identity_header() {
    use std::collections::BTreeSet;
    let guide = include_str!("../../../docs/proxy.md");
    let all: BTreeSet<String> = keystone_middleware::IDENTITY_HEADERS
        .iter()
        .map(|h| (*h).to_owned())
        .collect();
    let var = |h: &str| h.to_ascii_lowercase().replace('-', "_");

    let nginx = guide_block(guide, "```nginx");
    let mut set = BTreeSet::new();
    let mut copied = BTreeSet::new();
    for line in nginx.lines().map(str::trim) {
        let words: Vec<&str> = line.trim_end_matches(';').split_whitespace().collect();
        match words.as_slice() {
            ["auth_request_set", to, from] => {
                let name = from.strip_prefix("$upstream_http_").expect(line);
                assert_eq!(*to, format!("$ks_{name}"), "{line}");
                set.insert(name.to_owned());
            }
            ["proxy_set_header", header, value] if value.starts_with("$ks_") => {
                assert_eq!(*value, format!("$ks_{}", var(header)), "{line}");
                copied.insert(header.to_ascii_lowercase());
            }
            _ => {}
        }
    }
    assert_eq!(copied, all, "nginx: proxy_set_header");
    let all_vars: BTreeSet<String> = all.iter().map(|h| var(h)).collect();
    assert_eq!(set, all_vars, "nginx: auth_request_set");

    let traefik: BTreeSet<String> = guide_block(guide, "```yaml\nhttp:")
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- "))
        .map(str::to_ascii_lowercase)
        .collect();
    assert_eq!(traefik, all, "Traefik: authResponseHeaders");

    let envoy = guide_block(guide, "```yaml\n- name: envoy.filters.http.header_mutation");
    let (before, upstream) = envoy.split_once("allowed_upstream_headers:").unwrap();
    let pick = |text: &str, key: &str| -> BTreeSet<String> {
        text.lines()
            .filter_map(|l| l.trim().strip_prefix(&format!("- {{{key}: ")))
            .map(|l| l.trim_end_matches('}').to_owned())
            .collect()
    };
    assert_eq!(pick(before, "remove"), all, "Envoy: header_mutation");
    assert_eq!(
        pick(upstream, "exact"),
        all,
        "Envoy: allowed_upstream_headers"
    );
    let asked = pick(before, "exact");
    for h in ["x-auth-token", "x-service-token", "x-openstack-request-id"] {
        assert!(asked.contains(h), "Envoy: allowed_headers without {h}");
    }
}

#[test]
fn configuration_mistakes_are_named_at_load() {
    let base = "[keystone_authtoken]\nauth_url = http://k/v3\n";
    for (proxy, want) in [
        ("[proxy]\n", "upstream"),
        ("[proxy]\nupstream = ftp://x\n", "http:// URL"),
        (
            "[proxy]\nupstream = http://u\nroute = GET /a nothing:here\n",
            "nothing:here has no default",
        ),
        (
            "[proxy]\nupstream = http://u\nroute = GET /a\n",
            "METHODS PATH ACCESS",
        ),
        (
            "[proxy]\nupstream = http://u\nrule = missing-equals\n",
            "NAME = CHECK",
        ),
        (
            "[proxy]\nupstream = http://u\nforward_auth_path = auth\n",
            "starting with /",
        ),
        (
            "[proxy]\nupstream = http://u\nupstrem_timeout = 3\n",
            "upstrem_timeout",
        ),
    ] {
        let err = ProxyConfig::from_ini_str(&format!("{base}{proxy}"))
            .unwrap_err()
            .to_string();
        assert!(err.contains(want), "{proxy:?}: {err}");
    }
    // the INI form of routes and rules
    let ok = ProxyConfig::from_ini_str(&format!(
        "{base}[proxy]\nupstream = http://127.0.0.1:9000/api\nroute = GET,HEAD /v1/{{project_id}}/x things:read\n\
         route = * /healthz public\nrule = things:read = project_id:%(project_id)s\n"
    ))
    .unwrap();
    assert_eq!(ok.proxy.routes.len(), 2);
    assert_eq!(ok.proxy.routes[0].methods, ["GET", "HEAD"]);
    assert!(ok.proxy.routes[1].public);
    assert_eq!(ok.proxy.rules["things:read"], "project_id:%(project_id)s");
    let sample = keystone_policy::sample(&keystone_proxy::rule_defaults(&ok));
    assert!(sample.contains("/v1/{project_id}/x"), "{sample}");
}

/// A WebSocket upgrade to `path` on the proxy with `token`.
async fn ws_connect(
    w: &World,
    path: &str,
    token: Option<&str>,
) -> Result<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    tungstenite::Error,
> {
    let url = format!("{}{path}", w.proxy.replacen("http://", "ws://", 1));
    let mut req = url.into_client_request().unwrap();
    if let Some(t) = token {
        req.headers_mut().insert("x-auth-token", t.parse().unwrap());
    }
    tokio_tungstenite::connect_async(req).await.map(|(s, _)| s)
}

fn refused_with(e: tungstenite::Error) -> u16 {
    match e {
        tungstenite::Error::Http(r) => r.status().as_u16(),
        other => panic!("not an HTTP refusal: {other}"),
    }
}

#[tokio::test]
async fn websockets_pass_authenticated_bounded_and_closed_when_silent() {
    let w = world_with(
        None,
        "max_upgraded_connections = 1\nupgraded_idle_timeout = 1",
    )
    .await;
    let alice = w.token("alice", "alicepw").await;
    let path = format!("/v1/{}/ws", w.demo);

    // without a token the upgrade is refused before the upstream sees it
    let e = ws_connect(&w, &path, None).await.unwrap_err();
    assert_eq!(refused_with(e), 401);
    // another project's path: the rule denies it
    let e = ws_connect(&w, &format!("/v1/{}/ws", w.other), Some(&alice))
        .await
        .unwrap_err();
    assert_eq!(refused_with(e), 403);

    let mut ws = ws_connect(&w, &path, Some(&alice)).await.unwrap();
    let hello = ws.next().await.unwrap().unwrap();
    assert_eq!(
        hello,
        tungstenite::Message::text("alice"),
        "the identity headers reached it"
    );
    for i in 0..3 {
        let m = tungstenite::Message::text(format!("ping {i}"));
        ws.send(m.clone()).await.unwrap();
        assert_eq!(ws.next().await.unwrap().unwrap(), m);
    }

    // one upgraded connection at most: a second one is refused while the first is open
    let e = ws_connect(&w, &path, Some(&alice)).await.unwrap_err();
    assert_eq!(refused_with(e), 503);

    // silent for longer than upgraded_idle_timeout: the proxy closes it, and frees its permit
    let closed = tokio::time::timeout(Duration::from_secs(5), ws.next()).await;
    match closed {
        Ok(None | Some(Err(_))) => {}
        Ok(Some(Ok(m))) => assert!(m.is_close(), "{m:?}"),
        Err(_) => panic!("a silent upgraded connection stayed open"),
    }
    let mut again = ws_connect(&w, &path, Some(&alice)).await.unwrap();
    assert_eq!(
        again.next().await.unwrap().unwrap(),
        tungstenite::Message::text("alice")
    );
}

#[tokio::test]
async fn readyz_names_a_stale_revocation_feed_and_stays_ready() {
    let w = world_configured(
        None,
        "revocation_check_interval = 1\nvalidation_timeout = 1",
        "",
    )
    .await;
    let readyz = || async {
        let r = reqwest::get(format!("{}/readyz", w.admin)).await.unwrap();
        (r.status(), r.text().await.unwrap())
    };
    assert_eq!(readyz().await, (StatusCode::OK, "ready".to_owned()));
    w.fake.controls().set_fault(
        "GET /v3/OS-REVOKE/events",
        keystone_fake::Fault::status(503),
    );
    let started = std::time::Instant::now();
    loop {
        let (s, text) = readyz().await;
        assert_eq!(s, StatusCode::OK);
        if text.contains("revocation events stale") {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(15), "{text}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // cached and new tokens are still served
    let alice = w.token("alice", "alicepw").await;
    let (s, _, _) = send(
        reqwest::Method::GET,
        &format!("{}/v1/{}/things", w.proxy, w.demo),
        &[("x-auth-token", &alice)],
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
}

/// A memcached server that refuses connections: requests go on to Keystone, `/readyz` names it
/// and stays ready, and `/metrics` counts the shared tier.
#[tokio::test]
async fn readyz_names_unreachable_memcached_servers_and_metrics_count_the_shared_tier() {
    // a port nothing listens on
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let w = world_configured(
        None,
        &format!("memcached_servers = [\"{closed}\"]\nmemcache_pool_socket_timeout = 1"),
        "",
    )
    .await;
    let readyz = || async {
        let r = reqwest::get(format!("{}/readyz", w.admin)).await.unwrap();
        (r.status(), r.text().await.unwrap())
    };
    assert_eq!(readyz().await, (StatusCode::OK, "ready".to_owned()));
    let alice = w.token("alice", "alicepw").await;
    let (s, _, _) = send(
        reqwest::Method::GET,
        &format!("{}/v1/{}/things", w.proxy, w.demo),
        &[("x-auth-token", &alice)],
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, text) = readyz().await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        text.contains("memcached: 1 of 1 servers unreachable"),
        "{text}"
    );
    let metrics = reqwest::get(format!("{}/metrics", w.admin))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "keystone_proxy_shared_cache_hits_total 0",
        "keystone_proxy_shared_cache_misses_total 1",
        "keystone_proxy_shared_cache_errors_total 2",
        "keystone_proxy_shared_cache_bad_entries_total 0",
        "keystone_proxy_shared_cache_invalid_markers_total 0",
    ] {
        assert!(metrics.contains(line), "{line} not in:\n{metrics}");
    }
}

/// Downloads stream: the first bytes of an answer reach the client while the upstream is still
/// writing it (a buffering proxy would wait for the end, which here never comes until asked).
#[tokio::test]
async fn response_bodies_stream_to_the_client_as_the_upstream_writes_them() {
    let (finish, finished) = tokio::sync::oneshot::channel::<()>();
    let finished = Arc::new(std::sync::Mutex::new(Some(finished)));
    let app = Router::new().route(
        "/public/download",
        any(move || {
            let finished = finished.lock().unwrap().take();
            async move {
                let first = futures_util::stream::once(async {
                    Ok::<_, std::io::Error>(axum::body::Bytes::from_static(b"first chunk;"))
                });
                let rest = futures_util::stream::once(async move {
                    if let Some(f) = finished {
                        let _ = f.await;
                    }
                    Ok::<_, std::io::Error>(axum::body::Bytes::from_static(b"the end"))
                });
                axum::body::Body::from_stream(first.chain(rest))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let w = world(Some(&format!("http://{addr}"))).await;
    let mut r = reqwest::get(format!("{}/public/download", w.proxy))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let chunk = tokio::time::timeout(Duration::from_secs(5), r.chunk())
        .await
        .expect("the first bytes before the upstream has finished")
        .unwrap()
        .unwrap();
    assert_eq!(&chunk[..], b"first chunk;");
    finish.send(()).unwrap();
    let mut rest = Vec::new();
    while let Some(c) = r.chunk().await.unwrap() {
        rest.extend_from_slice(&c);
    }
    assert_eq!(rest, b"the end");
}
