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
    Mock::given(method("POST"))
        .and(path("/v3/auth/tokens"))
        .respond_with(
            ResponseTemplate::new(201)
                .insert_header("x-subject-token", "tok-123")
                .set_body_json(token_body()),
        )
        .mount(&server)
        .await;
    server
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
