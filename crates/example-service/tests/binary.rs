//! The binary as an operator runs it: `serve` with a keystonemiddleware-style INI file against
//! a Keystone, JSON logs on a pipe, requests answered, SIGTERM a graceful stop; and never a
//! token or a password in what it prints.

use std::process::Stdio;
use std::time::Duration;

use keystone_client::{Auth, Session, UserIdentity};
use keystone_fake::FakeKeystone;
use keystone_types::auth::Scope;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

#[cfg(unix)]
#[tokio::test]
async fn serve_logs_json_answers_and_stops_on_sigterm() {
    let fake = FakeKeystone::start().await.unwrap();
    let services = fake.create_project("services").unwrap();
    let demo = fake.create_project("demo").unwrap();
    let svc = fake.create_user("myservice", "svc-secret-pw").unwrap();
    fake.grant_project_role(&svc, &services, "admin").unwrap();
    let alice = fake.create_user("alice", "alice-secret-pw").unwrap();
    fake.grant_project_role(&alice, &demo, "member").unwrap();

    let dir = std::env::temp_dir().join(format!("myservice-bin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("myservice.conf");
    std::fs::write(
        &conf,
        format!(
            "[DEFAULT]\nauth_strategy = keystone\n\n[keystone_authtoken]\n\
             www_authenticate_uri = {url}\nauth_url = {url}\nauth_type = password\n\
             username = myservice\npassword = svc-secret-pw\nuser_domain_id = default\n\
             project_name = services\nproject_domain_id = default\n\n\
             [oslo_policy]\npolicy_file = myservice-policy.yaml\n",
            url = fake.auth_url()
        ),
    )
    .unwrap();

    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_example-service"))
        .args([
            "--log-format",
            "json",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--config",
        ])
        .arg(&conf)
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed: Vec<String> = Vec::new();
    // the first lines up to the one naming the address
    let address = loop {
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("the service starts")
            .unwrap()
            .expect("the service prints its address");
        printed.push(line.clone());
        let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
        if v["fields"]["message"] == "myservice listening" {
            break v["fields"]["address"].as_str().unwrap().to_owned();
        }
    };
    let base = format!("http://{address}");

    let token = Session::builder(
        fake.auth_url(),
        Auth::password(UserIdentity::by_name("alice", "Default"), "alice-secret-pw")
            .scoped(Scope::project_by_id(&demo)),
    )
    .build()
    .unwrap()
    .access()
    .await
    .unwrap()
    .token()
    .expose()
    .to_owned();
    let http = reqwest::Client::new();
    let get = |path: &str, token: Option<&str>| {
        let mut req = http.get(format!("{base}{path}"));
        if let Some(t) = token {
            req = req.header("x-auth-token", t);
        }
        req.send()
    };
    assert_eq!(get("/", None).await.unwrap().status(), 200);
    assert_eq!(get("/v1/thing/list", None).await.unwrap().status(), 401);
    let r = get("/v1/thing/list", Some(&token)).await.unwrap();
    assert_eq!(r.status(), 200);
    let request_id = r.headers()["x-openstack-request-id"]
        .to_str()
        .unwrap()
        .to_owned();

    let pid = child.id().unwrap().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("it stops")
        .unwrap();
    assert!(status.success(), "{status}");
    while let Some(line) = lines.next_line().await.unwrap() {
        printed.push(line);
    }

    let logs: Vec<Value> = printed
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let message = |v: &Value| {
        v["fields"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    assert!(
        logs.iter().any(|v| message(v) == "shutting down"),
        "{printed:#?}"
    );
    // the access line of the authenticated request, in its span with its request id
    assert!(
        logs.iter()
            .any(|v| message(v) == "finished processing request"
                && v["span"]["request_id"] == request_id.as_str()
                && v["fields"]["status"] == 200),
        "{printed:#?}"
    );
    let all = printed.join("\n");
    assert!(!all.contains('\u{1b}'), "no terminal colors on a pipe");
    for secret in [token.as_str(), "svc-secret-pw", "alice-secret-pw"] {
        assert!(!all.contains(secret), "a secret in the logs");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Text logs on a pipe (a file, a journal) carry no terminal color codes.
#[tokio::test]
async fn text_logs_on_a_pipe_have_no_colors() {
    // a Keystone where the service's user may validate tokens: the startup check passes
    let fake = FakeKeystone::start().await.unwrap();
    let services = fake.create_project("services").unwrap();
    let svc = fake.create_user("svc", "pw").unwrap();
    fake.grant_project_role(&svc, &services, "service").unwrap();
    let dir = std::env::temp_dir().join(format!("myservice-text-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("myservice.toml");
    std::fs::write(
        &conf,
        format!(
            "[keystone_authtoken]\nauth_url = \"{}\"\nusername = \"svc\"\n\
             password = \"pw\"\nuser_domain_id = \"default\"\nproject_name = \"services\"\n\
             project_domain_id = \"default\"\n",
            fake.auth_url()
        ),
    )
    .unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_example-service"))
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&conf)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("the service starts")
        .unwrap()
        .expect("a line");
    assert!(line.contains("myservice listening"), "{line}");
    assert!(!line.contains('\u{1b}'), "{line:?}");
    child.kill().await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A misconfigured service user stops the service at start, with a message that names the
/// cause (the user and its domain) and never the password.
#[tokio::test]
async fn a_wrong_service_password_stops_the_service_at_start_with_its_cause() {
    let fake = FakeKeystone::start().await.unwrap();
    let services = fake.create_project("services").unwrap();
    let svc = fake.create_user("myservice", "svc-secret-pw").unwrap();
    fake.grant_project_role(&svc, &services, "service").unwrap();
    let dir = std::env::temp_dir().join(format!("myservice-badpw-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("myservice.conf");
    std::fs::write(
        &conf,
        format!(
            "[keystone_authtoken]\nauth_url = {url}\nusername = myservice\n\
             password = not-the-right-pw\nuser_domain_name = Default\n\
             project_name = services\nproject_domain_id = default\n",
            url = fake.auth_url()
        ),
    )
    .unwrap();
    let out = tokio::time::timeout(
        Duration::from_secs(30),
        tokio::process::Command::new(env!("CARGO_BIN_EXE_example-service"))
            .args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(&conf)
            .output(),
    )
    .await
    .expect("the service exits")
    .unwrap();
    assert!(!out.status.success());
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("rejected the service's credentials")
            && text.contains("user myservice in domain Default"),
        "{text}"
    );
    assert!(!text.contains("not-the-right-pw"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}
