//! The logs of the whole seed flow at every level, from the service, the middleware, the client
//! and the fake Keystone: an access line per request, and never a token or a password.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::{Cloud, raw};
use reqwest::StatusCode;
use tracing_subscriber::fmt::MakeWriter;

/// Everything logged, in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

/// GET `url`: the status and the response's request id.
async fn get(url: &str, headers: &[(&str, &str)]) -> (StatusCode, String) {
    let (status, h, _) = raw(url, reqwest::Method::GET, headers, None).await;
    let id = h["x-openstack-request-id"].to_str().unwrap().to_owned();
    (status, id)
}

#[tokio::test]
async fn the_logs_have_every_request_and_no_secret() {
    let logs = Captured::default();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(logs.clone())
        .init();

    let cloud = Cloud::start(&|_| {}).await.unwrap();
    let (alice, bob) = (cloud.user("alice"), cloud.user("bob"));
    let url = cloud.find_service(&alice).await.unwrap();
    let alice_token = alice.access().await.unwrap().token().expose().to_owned();
    let bob_token = bob.access().await.unwrap().token().expose().to_owned();
    let things = format!("{url}/v1/thing/list");

    let mut ids = Vec::new();
    for (headers, status) in [
        (vec![], StatusCode::UNAUTHORIZED),
        (vec![("x-auth-token", alice_token.as_str())], StatusCode::OK),
        (vec![("x-auth-token", alice_token.as_str())], StatusCode::OK),
        (
            vec![("x-auth-token", "gAAAAABnot-a-token")],
            StatusCode::UNAUTHORIZED,
        ),
        (
            vec![
                ("x-auth-token", alice_token.as_str()),
                ("x-service-token", bob_token.as_str()),
            ],
            StatusCode::UNAUTHORIZED,
        ),
    ] {
        let (s, id) = get(&things, &headers).await;
        assert_eq!(s, status, "{headers:?}");
        ids.push(id);
    }
    let (s, id) = get(&format!("{url}/"), &[]).await;
    assert_eq!(s, StatusCode::OK);
    ids.push(id);

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    let access: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("finished processing request"))
        .collect();
    for id in &ids {
        assert!(
            access.iter().any(|l| l.contains(id.as_str())),
            "no access line for {id}:\n{}",
            access.join("\n")
        );
    }
    assert!(access.iter().any(|l| l.contains("status=401")));
    assert!(access.iter().any(|l| l.contains("path=/v1/thing/list")));

    let admin_password = cloud.fake().admin().password.expose().to_owned();
    for (what, secret) in [
        ("alice's token", alice_token.as_str()),
        ("bob's token", bob_token.as_str()),
        ("a token", "gAAAAAB"), // any the fake issued, the service's own included
        ("alice's password", "alicepw"),
        ("bob's password", "bobpw"),
        ("the service's password", "myservicesecretpassword"),
        ("the admin password", admin_password.as_str()),
    ] {
        assert!(!text.contains(secret), "{what} is in the logs");
    }
}
