//! What the fake should not do, done by wiremock: malformed and truncated bodies, a token
//! answer without its header, slow answers, redirects, the 5xx retry policy, refused
//! connections and failed discovery.

use std::time::Duration;

use keystone_client::{Auth, Error, ErrorKind, Session, UserIdentity, ValidateOptions};
use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A token body as Keystone 30.0.0 sent it.
fn token_body() -> Value {
    let text = include_str!("../../../fixtures/exchanges/003_issue_admin_project.json");
    let exchange: Value = serde_json::from_str(text).unwrap();
    exchange["response"]["body"].clone()
}

async fn keystone_that_issues_tokens() -> MockServer {
    let server = MockServer::start().await;
    keystone_that_issues_tokens_on(&server).await;
    server
}

async fn keystone_that_issues_tokens_on(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/v3/auth/tokens"))
        .respond_with(
            ResponseTemplate::new(201)
                .insert_header("x-subject-token", "tok-123")
                .set_body_json(token_body()),
        )
        .mount(server)
        .await;
}

fn session(server: &MockServer) -> keystone_client::SessionBuilder {
    Session::builder(
        format!("{}/v3", server.uri()),
        Auth::password(UserIdentity::by_name("admin", "Default"), "pw"),
    )
    .retry_delay(Duration::from_millis(1), Duration::from_millis(4))
}

#[tokio::test]
async fn malformed_and_truncated_bodies_keep_the_raw_bytes() {
    for body in [
        "{\"token\": {\"expires_at\": ",
        "not json at all",
        "{\"token\": {}}",
    ] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v3/auth/tokens"))
            .respond_with(
                ResponseTemplate::new(201)
                    .insert_header("x-subject-token", "t")
                    .set_body_string(body),
            )
            .mount(&server)
            .await;
        let err = session(&server)
            .build()
            .unwrap()
            .access()
            .await
            .unwrap_err();
        match err {
            Error::Unparsable { raw, status, .. } => {
                assert_eq!(raw.as_bytes(), body.as_bytes());
                assert_eq!(format!("{raw:?}"), format!("[{} bytes]", body.len()));
                assert_eq!(status.as_u16(), 201);
            }
            other => panic!("{body}: expected Unparsable, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_token_without_its_header_is_an_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v3/auth/tokens"))
        .respond_with(ResponseTemplate::new(201).set_body_json(token_body()))
        .mount(&server)
        .await;
    let err = session(&server)
        .build()
        .unwrap()
        .access()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::MissingSubjectToken { .. }), "{err:?}");
}

#[tokio::test]
async fn keystone_error_bodies_are_parsed_and_others_are_not_lost() {
    let server = keystone_that_issues_tokens().await;
    Mock::given(method("GET"))
        .and(path("/v3/auth/tokens"))
        .respond_with(
            ResponseTemplate::new(404)
                .insert_header("x-openstack-request-id", "req-1")
                .set_body_json(serde_json::json!({"error": {"code": 404, "message": "Could not recognize Fernet token", "title": "Not Found"}})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v3/regions"))
        .respond_with(ResponseTemplate::new(400).set_body_string("<html>proxy error</html>"))
        .mount(&server)
        .await;
    let s = session(&server).build().unwrap();
    match s
        .validate_token("x", ValidateOptions::default())
        .await
        .unwrap_err()
    {
        Error::Api {
            status,
            body,
            request_id,
            ..
        } => {
            assert_eq!(status.as_u16(), 404);
            assert_eq!(body.unwrap().message, "Could not recognize Fernet token");
            assert_eq!(request_id.as_deref(), Some("req-1"));
        }
        other => panic!("{other:?}"),
    }
    let err = s.admin().list_regions().await.unwrap_err();
    assert!(matches!(&err, Error::Api { body: None, .. }), "{err:?}");
    assert_eq!(err.kind(), ErrorKind::Other);
    let Error::Api { raw, .. } = &err else {
        unreachable!()
    };
    assert_eq!(raw.text(), "<html>proxy error</html>");
    // the request id is in the message, as keystoneauth1 puts it
    let err = s
        .validate_token("x", ValidateOptions::default())
        .await
        .unwrap_err();
    assert!(err.to_string().ends_with("(Request-ID: req-1)"), "{err}");

    // an API-SIG error list (Placement, Ironic): the first error's detail
    Mock::given(method("GET"))
        .and(path("/placement/traits"))
        .respond_with(ResponseTemplate::new(409).set_body_json(serde_json::json!({
            "errors": [{"status": 409, "title": "Conflict", "detail": "There was a conflict when trying to complete your request.", "code": "placement.concurrent_update"}]
        })))
        .mount(&server)
        .await;
    let err = s
        .get(format!("{}/placement/traits", server.uri()))
        .send_ok()
        .await
        .unwrap_err();
    let Error::Api {
        body: Some(body), ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(body.title, "Conflict");
    assert_eq!(
        body.message,
        "There was a conflict when trying to complete your request."
    );
    assert!(err.to_string().contains("conflict when trying"), "{err}");
}

#[tokio::test]
async fn slow_answers_time_out_as_unavailable() {
    let server = keystone_that_issues_tokens().await;
    Mock::given(method("GET"))
        .and(path("/v3/auth/tokens"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(token_body())
                .set_delay(Duration::from_secs(5)),
        )
        .mount(&server)
        .await;
    let s = session(&server)
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let err = s
        .validate_token("x", ValidateOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(matches!(err, Error::Transport { .. }));
}

#[tokio::test]
async fn redirects_are_not_followed_with_a_token() {
    let server = keystone_that_issues_tokens().await;
    Mock::given(method("GET"))
        .and(path("/v3/regions"))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("location", format!("{}/elsewhere", server.uri())),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/elsewhere"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{}"))
        .expect(0)
        .mount(&server)
        .await;
    let err = session(&server)
        .build()
        .unwrap()
        .admin()
        .list_regions()
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(302), "{err}");
    // where it pointed is in the message
    assert!(
        err.to_string()
            .contains(&format!("redirected to {}/elsewhere", server.uri())),
        "{err}"
    );
}

#[tokio::test]
async fn retry_policy_for_server_errors() {
    for (status, retries, expected_calls) in [
        (503u16, 2u32, 3u64),
        (429, 1, 2),
        (500, 3, 1),
        (502, 3, 1),
        (503, 0, 1),
    ] {
        let server = keystone_that_issues_tokens().await;
        Mock::given(method("GET"))
            .and(path("/v3/regions"))
            .respond_with(ResponseTemplate::new(status))
            .expect(expected_calls)
            .mount(&server)
            .await;
        let s = session(&server).status_retries(retries).build().unwrap();
        let err = s.admin().list_regions().await.unwrap_err();
        assert_eq!(err.status().map(|s| s.as_u16()), Some(status));
        server.verify().await;
    }
}

#[tokio::test]
async fn refused_connections_are_retried_then_reported() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let s = Session::builder(
        format!("http://127.0.0.1:{port}/v3"),
        Auth::password(UserIdentity::by_name("admin", "Default"), "pw"),
    )
    .connect_retries(2)
    .retry_delay(Duration::from_millis(1), Duration::from_millis(2))
    .build()
    .unwrap();
    let err = s.access().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(err.to_string().contains(&port.to_string()), "{err}");
}

#[tokio::test]
async fn failed_discovery_falls_back_to_the_path() {
    let server = keystone_that_issues_tokens().await;
    Mock::given(method("GET"))
        .and(path("/"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    let s = Session::builder(
        server.uri(),
        Auth::password(UserIdentity::by_name("a", "Default"), "pw"),
    )
    .build()
    .unwrap();
    assert_eq!(
        s.identity_url().await.unwrap(),
        format!("{}/v3", server.uri())
    );
    s.access().await.unwrap();
}

#[tokio::test]
async fn bad_urls_are_configuration_errors() {
    for url in ["not a url", "ftp://keystone/v3"] {
        let err = Session::builder(url, Auth::token("t")).build().unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{url}: {err:?}");
        assert!(err.to_string().contains("auth_url"), "{err}");
    }
}

#[tokio::test]
async fn tls_files_are_checked_when_the_session_is_built() {
    let auth = || Auth::password(UserIdentity::by_name("a", "Default"), "pw");
    let missing = Session::builder("https://keystone.example/v3", auth())
        .cacert("/nonexistent/ca.pem")
        .build()
        .unwrap_err();
    assert!(matches!(missing, Error::Config(_)), "{missing:?}");
    assert!(
        missing.to_string().contains("/nonexistent/ca.pem"),
        "{missing}"
    );

    let dir = std::env::temp_dir().join(format!("kc-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let garbage = dir.join("garbage.pem");
    std::fs::write(
        &garbage,
        "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let err = Session::builder("https://keystone.example/v3", auth())
        .cacert(&garbage)
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
    let err = Session::builder("https://keystone.example/v3", auth())
        .client_cert(&garbage, dir.join("nokey.pem"))
        .build()
        .unwrap_err();
    assert!(
        err.to_string().contains("nokey.pem") || err.to_string().contains("garbage.pem"),
        "{err}"
    );
    // an empty bundle is no error, and insecure builds
    let empty = dir.join("empty.pem");
    std::fs::write(&empty, "").unwrap();
    Session::builder("https://keystone.example/v3", auth())
        .cacert(&empty)
        .insecure(true)
        .build()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn headers_in_any_case_and_bodies_out_of_debug_output() {
    let server = keystone_that_issues_tokens().await;
    Mock::given(method("GET"))
        .and(path("/thing"))
        .and(wiremock::matchers::header(
            "openstack-api-version",
            "compute 2.79",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_string("{}"))
        .expect(1)
        .mount(&server)
        .await;
    let s = session(&server).build().unwrap();
    s.get(format!("{}/thing", server.uri()))
        .header("OpenStack-API-Version", "compute 2.79")
        .unwrap()
        .send_ok()
        .await
        .unwrap();
    server.verify().await;
    // a name that is no header name is an error, not a panic
    let err = s.get("http://x/").header("bad name", "v").unwrap_err();
    assert!(err.to_string().contains("bad name"), "{err}");
    // a request's Debug output leaves its body out
    let request = s
        .post("http://x/v3/users")
        .json(&serde_json::json!({"user": {"password": "hunter2"}}));
    let debug = format!("{request:?}");
    assert!(
        !debug.contains("hunter2") && !debug.contains("104, 117"),
        "{debug}"
    );
}

/// `GET /v3/regions` answers an empty list, for the requests that no other mock takes.
async fn answers_no_regions(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/v3/regions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            serde_json::json!({"regions": [], "links": {"self": "x", "next": null, "previous": null}}),
        ))
        .mount(server)
        .await;
}

#[tokio::test]
async fn an_answer_that_timed_out_is_not_asked_again() {
    // a slow Keystone is not sent the same work again, whatever the method: retries are for
    // connections that failed (issue 16: a hung Keystone got each validation four times)
    let server = keystone_that_issues_tokens().await;
    for verb in ["GET", "POST"] {
        Mock::given(method(verb))
            .and(path("/v3/regions"))
            .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
            .mount(&server)
            .await;
    }
    let s = session(&server)
        .timeout(Duration::from_millis(300))
        .connect_retries(3)
        .build()
        .unwrap();
    s.access().await.unwrap();
    let err = s.admin().list_regions().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    let err = s
        .post(format!("{}/v3/regions", server.uri()))
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    let requests = server.received_requests().await.unwrap();
    for verb in ["GET", "POST"] {
        let sent = requests
            .iter()
            .filter(|r| r.method.as_str() == verb && r.url.path() == "/v3/regions")
            .count();
        assert_eq!(sent, 1, "{verb}");
    }
}

#[tokio::test]
async fn rejected_credentials_back_off_instead_of_logging_in_per_request() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v3/auth/tokens"))
        .respond_with(ResponseTemplate::new(401).set_body_json(serde_json::json!(
            {"error": {"code": 401, "message": "The request you have made requires authentication.", "title": "Unauthorized"}}
        )))
        .mount(&server)
        .await;
    let s = session(&server)
        .login_backoff(Duration::from_millis(400), Duration::from_secs(30))
        .build()
        .unwrap();
    let first = s.access().await.unwrap_err();
    assert_eq!(first.kind(), ErrorKind::Unauthorized);
    // within the backoff: an answer at once, without asking Keystone
    for _ in 0..20 {
        let err = s.access().await.unwrap_err();
        assert!(matches!(err, Error::CredentialsBackoff { .. }), "{err:?}");
        assert_eq!(err.kind(), ErrorKind::Unauthorized);
    }
    let logins = |requests: &[wiremock::Request]| {
        requests
            .iter()
            .filter(|r| r.url.path() == "/v3/auth/tokens")
            .count()
    };
    assert_eq!(logins(&server.received_requests().await.unwrap()), 1);
    // after it, one more try; then twice as long
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(
        s.access().await.unwrap_err().kind(),
        ErrorKind::Unauthorized
    );
    assert_eq!(logins(&server.received_requests().await.unwrap()), 2);
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert!(matches!(
        s.access().await.unwrap_err(),
        Error::CredentialsBackoff { .. }
    ));
    // the credentials work again (the password was changed back): it recovers by itself
    server.reset().await;
    keystone_that_issues_tokens_on(&server).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    s.access().await.unwrap();
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let server = keystone_that_issues_tokens().await;
    Mock::given(method("GET"))
        .and(path("/v3/regions"))
        .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    answers_no_regions(&server).await;
    // the backoff alone would wait a millisecond
    let s = session(&server)
        .status_retries(1)
        .retry_delay(Duration::from_millis(1), Duration::from_secs(60))
        .build()
        .unwrap();
    s.access().await.unwrap();
    let started = std::time::Instant::now();
    s.admin().list_regions().await.unwrap();
    // a sleep never ends early, so this cannot be flaky
    assert!(started.elapsed() >= Duration::from_secs(1));
}

#[tokio::test]
async fn answers_over_the_limit_are_refused() {
    let server = keystone_that_issues_tokens().await;
    let limit = keystone_client::session::MAX_BODY;
    Mock::given(method("GET"))
        .and(path("/v3/regions"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(vec![b' '; limit + 1]))
        .mount(&server)
        .await;
    let s = session(&server).build().unwrap();
    let err = s.admin().list_regions().await.unwrap_err();
    assert!(matches!(err, Error::TooLarge { .. }), "{err:?}");
}

#[tokio::test]
async fn discovery_keeps_the_host_it_asked_and_retries_when_unanswered() {
    // Keystone behind a proxy names its internal address; a relative link is relative
    for (root, href, want) in [
        ("", "http://10.0.0.5:5000/v3/", "/v3"),
        ("/identity", "/v3/", "/v3"),
        ("/identity", "http://10.0.0.5/keystone/v3", "/identity/v3"),
    ] {
        let server = keystone_that_issues_tokens().await;
        Mock::given(method("GET"))
            .and(path(if root.is_empty() { "/" } else { root }))
            .respond_with(ResponseTemplate::new(300).set_body_json(serde_json::json!({
                "versions": {"values": [{"id": "v3.14", "status": "stable",
                    "links": [{"rel": "self", "href": href}]}]}
            })))
            .mount(&server)
            .await;
        let s = Session::builder(
            format!("{}{root}", server.uri()),
            Auth::password(UserIdentity::by_name("a", "Default"), "pw"),
        )
        .build()
        .unwrap();
        assert_eq!(
            s.identity_url().await.unwrap(),
            format!("{}{want}", server.uri()),
            "{href}"
        );
    }

    // no answer at first: the fallback, not kept; then the discovered root
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let s = Session::builder(
        format!("http://{addr}"),
        Auth::password(UserIdentity::by_name("a", "Default"), "pw"),
    )
    .build()
    .unwrap();
    assert_eq!(s.identity_url().await.unwrap(), format!("http://{addr}/v3"));
    let server = MockServer::builder()
        .listener(std::net::TcpListener::bind(addr).unwrap())
        .start()
        .await;
    Mock::given(method("GET"))
        .and(path("/"))
        .respond_with(ResponseTemplate::new(300).set_body_json(serde_json::json!({
            "versions": {"values": [{"id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z",
                "links": [{"rel": "self", "href": format!("http://{addr}/identity/v3/")}]}]}
        })))
        .mount(&server)
        .await;
    assert_eq!(
        s.identity_url().await.unwrap(),
        format!("http://{addr}/identity/v3")
    );
}

#[test]
fn sessions_time_out_by_default() {
    let b = Session::builder("http://keystone.example/v3", Auth::token("t"));
    let debug = format!("{b:?}");
    assert!(debug.contains("timeout: Some(60s)"), "{debug}");
    assert!(debug.contains("connect_timeout: Some(10s)"), "{debug}");
}

#[tokio::test]
async fn lists_follow_their_pages() {
    use wiremock::matchers::query_param;
    let server = keystone_that_issues_tokens().await;
    let region = |id: &str| {
        serde_json::json!({"id": id, "description": "", "parent_region_id": null,
            "links": {"self": format!("http://x/v3/regions/{id}")}})
    };
    // page 1 names Keystone's internal address (as behind a proxy); page 2 a relative URL
    let pages = [
        (
            None,
            vec!["r1", "r2"],
            Some("http://10.0.0.5:5000/v3/regions?marker=r2&limit=2".to_owned()),
        ),
        (
            Some("r2"),
            vec!["r3", "r4"],
            Some("/v3/regions?marker=r4&limit=2".to_owned()),
        ),
        (Some("r4"), vec!["r5"], None),
    ];
    for (marker, ids, next) in pages {
        let mut mock = Mock::given(method("GET")).and(path("/v3/regions"));
        if let Some(m) = marker {
            mock = mock.and(query_param("marker", m));
        }
        let body = serde_json::json!({
            "regions": ids.iter().map(|i| region(i)).collect::<Vec<_>>(),
            "links": {"self": "x", "previous": null, "next": next},
        });
        mock.respond_with(ResponseTemplate::new(200).set_body_json(body))
            .with_priority(if marker.is_some() { 1 } else { 2 })
            .expect(1)
            .mount(&server)
            .await;
    }
    let s = session(&server).build().unwrap();
    let ids: Vec<String> = s
        .admin()
        .list_regions()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, ["r1", "r2", "r3", "r4", "r5"]);
    server.verify().await;

    // a server that names the same page again does not loop
    let server = keystone_that_issues_tokens().await;
    Mock::given(method("GET"))
        .and(path("/v3/regions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "regions": [region("r1")],
            "links": {"self": "x", "previous": null, "next": format!("{}/v3/regions?marker=r1", server.uri())},
        })))
        .expect(2)
        .mount(&server)
        .await;
    let s = session(&server).build().unwrap();
    assert_eq!(s.admin().list_regions().await.unwrap().len(), 2);
    server.verify().await;
}
