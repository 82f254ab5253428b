//! The `keystone-proxy` binary as an operator runs it: `serve --check-config` proving the
//! configuration and the service user (or naming what is wrong, and the file), `sample-policy`
//! documenting the routes' rules, `serve` with JSON logs in front of an upstream, an operator's
//! policy file overriding a route's rule, Keystone unreachable answered 503, and SIGTERM a
//! graceful stop; never a token or a password in what it prints.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use axum::Router;
use axum::http::HeaderMap;
use axum::routing::get;
use keystone_client::{Auth, Session, UserIdentity};
use keystone_fake::FakeKeystone;
use keystone_types::auth::Scope;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

const BIN: &str = env!("CARGO_BIN_EXE_keystone-proxy");

/// A fresh directory for one test's files.
fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("keystone-proxy-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A free loopback port, for a listener the binary binds.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The proxy's configuration file: one guarded route, one public, an operator policy file
/// beside it.
fn write_config(dir: &Path, auth_url: &str, password: &str, upstream: &str) -> PathBuf {
    let conf = dir.join("proxy.toml");
    std::fs::write(
        &conf,
        format!(
            r#"[keystone_authtoken]
auth_url = "{auth_url}"
username = "proxysvc"
password = "{password}"
user_domain_id = "default"
project_name = "services"
project_domain_id = "default"

[oslo_policy]
policy_file = "policy.yaml"

[proxy]
listen = "127.0.0.1:{port}"
upstream = "{upstream}"

[[proxy.route]]
methods = ["GET"]
path = "/v1/{{project_id}}/things"
rule = "things:list"

[[proxy.route]]
methods = ["DELETE"]
path = "/v1/{{project_id}}/things"
rule = "things:delete"

[[proxy.route]]
path = "/health"
public = true

[proxy.rules]
"things:list" = "project_id:%(project_id)s"
"things:delete" = "project_id:%(project_id)s"
"#,
            port = free_port()
        ),
    )
    .unwrap();
    // the operator narrows one rule; the other keeps its default
    std::fs::write(
        dir.join("policy.yaml"),
        "\"things:delete\": \"role:admin\"\n",
    )
    .unwrap();
    conf
}

/// The fake Keystone with the proxy's service user and alice, a member of demo; demo's id.
async fn keystone() -> (FakeKeystone, String) {
    let fake = FakeKeystone::start().await.unwrap();
    let services = fake.create_project("services").unwrap();
    let demo = fake.create_project("demo").unwrap();
    let svc = fake.create_user("proxysvc", "svc-secret-pw").unwrap();
    fake.grant_project_role(&svc, &services, "service").unwrap();
    let alice = fake.create_user("alice", "alice-secret-pw").unwrap();
    fake.grant_project_role(&alice, &demo, "member").unwrap();
    (fake, demo)
}

/// A new token of alice's on demo.
async fn alice_token(fake: &FakeKeystone, demo: &str) -> String {
    Session::builder(
        fake.auth_url(),
        Auth::password(UserIdentity::by_name("alice", "Default"), "alice-secret-pw")
            .scoped(Scope::project_by_id(demo)),
    )
    .build()
    .unwrap()
    .authenticate()
    .await
    .unwrap()
    .token()
    .expose()
    .to_owned()
}

/// An upstream that answers who the proxy said called.
async fn upstream() -> String {
    let app = Router::new().fallback(get(|h: HeaderMap| async move {
        h.get("x-user-name")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("anonymous")
            .to_owned()
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

async fn output(args: &[&str], conf: &Path) -> (bool, String) {
    let out = tokio::process::Command::new(BIN)
        .args(args)
        .arg(conf)
        .output()
        .await
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[tokio::test]
async fn check_config_proves_the_service_user_or_names_the_cause_and_the_file() {
    let (fake, _) = keystone().await;
    let up = upstream().await;
    let d = dir("check");
    let good = write_config(&d, &fake.auth_url(), "svc-secret-pw", &up);
    let (ok, text) = output(&["serve", "--check-config", "--config"], &good).await;
    assert!(ok && text.contains("may validate tokens"), "{text}");

    // a wrong password: the cause and the user, never the password
    let bad = d.join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    let bad = write_config(&bad, &fake.auth_url(), "not-the-pw-123", &up);
    let (ok, text) = output(&["serve", "--check-config", "--config"], &bad).await;
    assert!(!ok, "{text}");
    assert!(
        text.contains("proxysvc") && text.contains("rejected"),
        "{text}"
    );
    assert!(!text.contains("not-the-pw-123"), "{text}");

    // an invalid file: the option and the file
    let broken = d.join("broken.toml");
    std::fs::write(&broken, "[proxy]\nupstream = 42\n").unwrap();
    let (ok, text) = output(&["serve", "--check-config", "--config"], &broken).await;
    assert!(!ok, "{text}");
    assert!(
        text.contains("upstream") && text.contains("broken.toml"),
        "{text}"
    );

    // the routes' rules, documented as oslo.policy's sample does, with their operations
    let (ok, text) = output(&["sample-policy", "--config"], &good).await;
    assert!(ok, "{text}");
    assert!(
        text.contains("#\"things:list\": \"project_id:%(project_id)s\"")
            && text.contains("# GET  /v1/{project_id}/things"),
        "{text}"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn serve_logs_json_enforces_the_operators_policy_and_stops_on_sigterm() {
    let (fake, demo) = keystone().await;
    let up = upstream().await;
    let d = dir("serve");
    let conf = write_config(&d, &fake.auth_url(), "svc-secret-pw", &up);
    let mut child = tokio::process::Command::new(BIN)
        .args(["--log-format", "json", "serve", "--config"])
        .arg(&conf)
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed: Vec<String> = Vec::new();
    let address = loop {
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("the proxy starts")
            .unwrap()
            .expect("the proxy prints its address");
        printed.push(line.clone());
        let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
        if v["fields"]["message"] == "keystone-proxy listening" {
            break v["fields"]["address"].as_str().unwrap().to_owned();
        }
    };
    let base = format!("http://{address}");
    let token = alice_token(&fake, &demo).await;
    let http = reqwest::Client::new();
    let call = |method: reqwest::Method, path: &str, token: Option<&str>| {
        let mut r = http.request(method, format!("{base}{path}"));
        if let Some(t) = token {
            r = r.header("x-auth-token", t);
        }
        r.send()
    };
    let things = format!("/v1/{demo}/things");
    let r = call(reqwest::Method::GET, &things, Some(&token))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "alice");
    // the operator's policy.yaml made delete admin-only: the member is refused
    let r = call(reqwest::Method::DELETE, &things, Some(&token))
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = call(reqwest::Method::GET, &things, None).await.unwrap();
    assert_eq!(r.status(), 401);
    let r = call(reqwest::Method::GET, "/health", None).await.unwrap();
    assert_eq!(r.status(), 200);

    // Keystone gone: a token the proxy has not seen cannot be validated, 503 in OpenStack's
    // shape; the one it validated is still served from its cache
    let fresh = alice_token(&fake, &demo).await;
    drop(fake);
    let r = call(reqwest::Method::GET, &things, Some(&fresh))
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], 503);
    let r = call(reqwest::Method::GET, &things, Some(&token))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // SIGTERM: a graceful stop, exit 0
    let pid = child.id().unwrap().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("the proxy stops after SIGTERM")
        .unwrap();
    assert!(status.success(), "{status}");
    while let Ok(Some(line)) = lines.next_line().await {
        printed.push(line);
    }
    let mut stderr = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr)
        .await
        .unwrap();
    let all = format!("{}\n{stderr}", printed.join("\n"));
    // JSON lines with the request id, never a token or a password
    assert!(
        printed
            .iter()
            .any(|l| l.contains("finished processing request") && l.contains("req-")),
        "{all}"
    );
    for secret in [
        token.as_str(),
        fresh.as_str(),
        "svc-secret-pw",
        "alice-secret-pw",
    ] {
        assert!(!all.contains(secret), "a secret in the output:\n{all}");
    }
}
