//! The `keystone-fake` binary as a developer runs it: the start-up lines (the URL first, the
//! admin's `OS_*` variables, every user with a `curl` that gets their token), `keystone-fake
//! token`, and one log line per request, as text or JSON, without tokens or passwords.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

const SEED: &str = "\
projects: [{name: services}, {name: demo}]
users:
  - {name: alice, password: alicepw, default_project: demo}
  - {name: svc, password: 'it''s-svc'}
  - {name: nopassword}
roles: [{name: observer}]
groups:
  - {name: operators, members: [svc]}
grants:
  - {user: alice, project: demo, role: member}
  - {user: svc, project: services, role: service}
  - {group: operators, project: services, role: observer}
  - {group: operators, domain: default, role: reader, inherited: true}
application_credentials:
  - {user: alice, project: demo, name: alice-ci, secret: alice-ci-secret}
";

/// The binary, serving; killed when dropped.
struct Fake {
    child: Child,
    url: String,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
}

impl Drop for Fake {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Copies what `from` writes into `to`, line by line, as it comes.
fn collect(from: impl Read + Send + 'static, to: Arc<Mutex<String>>) {
    std::thread::spawn(move || {
        for line in BufReader::new(from).lines() {
            let Ok(line) = line else { break };
            let mut text = to.lock().unwrap();
            text.push_str(&line);
            text.push('\n');
        }
    });
}

/// Waits until `text` holds `needle` `times` times; returns all of it.
async fn wait_for_n(text: &Mutex<String>, needle: &str, times: usize) -> String {
    let started = Instant::now();
    loop {
        let now = text.lock().unwrap().clone();
        if now.matches(needle).count() >= times {
            return now;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no {needle:?} {times} times within 10 s in:\n{now}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until `text` holds `needle`; returns all of it.
async fn wait_for(text: &Mutex<String>, needle: &str) -> String {
    wait_for_n(text, needle, 1).await
}

async fn start(args: &[&str]) -> Fake {
    let mut child = Command::new(env!("CARGO_BIN_EXE_keystone-fake"))
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (stdout, stderr) = (Arc::default(), Arc::default());
    collect(child.stdout.take().unwrap(), Arc::clone(&stdout));
    collect(child.stderr.take().unwrap(), Arc::clone(&stderr));
    let mut fake = Fake {
        child,
        url: String::new(),
        stdout,
        stderr,
    };
    let text = wait_for(&fake.stdout, "\n").await;
    // scripts (xtask's harness) read the URL from the first line
    let first = text.lines().next().unwrap();
    fake.url = first
        .strip_prefix("keystone-fake listening on ")
        .unwrap_or_else(|| panic!("first line: {first:?}"))
        .to_owned();
    assert!(fake.url.starts_with("http://127.0.0.1:"), "{first}");
    fake
}

/// `keystone-fake ARGS`: exit code, stdout, stderr.
fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_keystone-fake"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Who the fake says `token` belongs to: (user name, project name).
async fn owner(url: &str, token: &str) -> (String, Option<String>) {
    let answer = reqwest::Client::new()
        .get(format!("{url}/v3/auth/tokens"))
        .header("x-auth-token", token)
        .header("x-subject-token", token)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200, "validating a token");
    let body: Value = answer.json().await.unwrap();
    let project = body["token"]["project"]["name"].as_str().map(str::to_owned);
    (
        body["token"]["user"]["name"].as_str().unwrap().to_owned(),
        project,
    )
}

/// Runs what a start-up `curl` line sends (its URL and its `-d` body, unquoted as a shell
/// would) and returns the token.
async fn as_curl_would(line: &str) -> String {
    let url = line.split_whitespace().nth(6).unwrap();
    let quoted = line.split(" -d ").nth(1).unwrap();
    let quoted = quoted.rsplit_once(" | grep").unwrap().0;
    let body = quoted
        .strip_prefix('\'')
        .and_then(|q| q.strip_suffix('\''))
        .unwrap()
        .replace(r"'\''", "'");
    let answer = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 201, "{line}");
    answer.headers()["x-subject-token"]
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn the_start_up_lines_give_every_user_a_token_in_one_command() {
    let dir = std::env::temp_dir().join(format!("keystone-fake-bin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let seed = dir.join("seed.yaml");
    std::fs::write(&seed, SEED).unwrap();
    let seed = seed.to_str().unwrap();
    let fake = start(&["--seed", seed, "--log-format", "json"]).await;
    let out = wait_for_n(&fake.stdout, "\ncurl ", 4).await;

    assert!(out.contains("export OS_PASSWORD=adminpw\n"), "{out}");
    assert!(
        out.contains("\n# projects: admin, demo, services\n"),
        "{out}"
    );
    assert!(
        out.contains("\n# roles: admin, manager, member, observer, reader, service\n"),
        "{out}"
    );
    for user in [
        "# admin (domain default, password adminpw): admin on project admin, admin on the system; token below: project admin",
        "# alice (domain default, password alicepw): member on project demo; token below: project demo",
        "# alice's application credential alice-ci (secret alice-ci-secret)",
        "# svc (domain default, password it's-svc): service on project services, observer on project services (group operators), reader on the projects of domain Default (inherited, group operators); token below: project services",
    ] {
        assert!(out.contains(user), "no {user:?} in:\n{out}");
    }
    assert!(!out.contains("nopassword"), "{out}");

    // every curl line gets its user a token, scoped as its comment says
    let curls: Vec<&str> = out.lines().filter(|l| l.starts_with("curl ")).collect();
    assert_eq!(curls.len(), 4, "{out}");
    let mut owners = Vec::new();
    for line in curls {
        assert!(
            line.contains(&format!(" {}/v3/auth/tokens ", fake.url)),
            "{line}"
        );
        let token = as_curl_would(line).await;
        owners.push(owner(&fake.url, &token).await);
    }
    let expected = [
        ("admin", "admin"),
        ("alice", "demo"),
        ("alice", "demo"),
        ("svc", "services"),
    ]
    .map(|(u, p)| (u.to_owned(), Some(p.to_owned())));
    assert_eq!(owners, expected);

    // `keystone-fake token`: the password from the seed file, or given
    let (code, token, err) = run(&[
        "token", "--url", &fake.url, "--user", "alice", "--seed", seed,
    ]);
    assert_eq!(code, 0, "{err}");
    let token = token.trim_end().to_owned();
    assert_eq!(
        owner(&fake.url, &token).await,
        ("alice".into(), Some("demo".into()))
    );
    let (code, svc_token, err) = run(&[
        "token",
        "--url",
        &format!("{}/v3", fake.url),
        "--user",
        "svc",
        "--password",
        "it's-svc",
        "--project",
        "services",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        owner(&fake.url, svc_token.trim_end()).await,
        ("svc".into(), Some("services".into()))
    );
    let (code, out, err) = run(&[
        "token",
        "--url",
        &fake.url,
        "--user",
        "alice",
        "--password",
        "not-alices-password",
    ]);
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(
        err.starts_with("keystone-fake: cannot get a token for alice"),
        "{err}"
    );
    assert!(err.contains("401"), "{err}");
    assert!(!err.contains("not-alices-password"), "{err}");
    let (code, _, err) = run(&["token", "--url", &fake.url, "--user", "alice"]);
    assert_eq!(code, 1);
    assert_eq!(
        err,
        "keystone-fake: no password for alice: give --password PW, or --seed FILE with the user\n"
    );

    // one JSON line per request, naming the user, never a secret
    let logs = wait_for(&fake.stderr, "\"status\":401").await;
    let lines: Vec<Value> = logs
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let issued: Vec<&Value> = lines
        .iter()
        .filter(|l| l["target"] == "keystone_fake::access")
        .map(|l| &l["fields"])
        .filter(|f| f["method"] == "POST" && f["path"] == "/v3/auth/tokens")
        .collect();
    let users: Vec<(&str, u64)> = issued
        .iter()
        .map(|f| {
            (
                f["user"].as_str().unwrap_or("-"),
                f["status"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        users,
        [
            ("admin", 201),
            ("alice", 201),
            ("alice", 201),
            ("svc", 201),
            ("alice", 201),
            ("svc", 201),
            ("-", 401)
        ]
    );
    assert!(issued.iter().all(|f| f["latency_ms"].as_f64().is_some()));
    let validated = lines
        .iter()
        .map(|l| &l["fields"])
        .find(|f| f["method"] == "GET" && f["path"] == "/v3/auth/tokens")
        .unwrap();
    assert_eq!(
        (validated["status"].as_u64(), validated["user"].as_str()),
        (Some(200), Some("admin"))
    );
    for secret in [
        token.as_str(),
        svc_token.trim_end(),
        "alicepw",
        "it's-svc",
        "not-alices-password",
        "alice-ci-secret",
        "adminpw",
    ] {
        assert!(!logs.contains(secret), "{secret:?} logged:\n{logs}");
    }
    drop(fake);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn the_command_line_of_old_serves_with_text_logs() {
    let fake = start(&["--admin-password", "s3cr3t-admin", "--token-ttl", "60"]).await;
    let out = wait_for(&fake.stdout, "curl ").await;
    assert!(out.contains("export OS_PASSWORD=s3cr3t-admin\n"), "{out}");
    // the admin's password is the fake's, not the default one
    let (code, _, err) = run(&["token", "--url", &fake.url, "--user", "admin"]);
    assert_eq!(code, 1, "{err}");
    let (code, token, err) = run(&[
        "token",
        "--url",
        &fake.url,
        "--user",
        "admin",
        "--password",
        "s3cr3t-admin",
        "--project",
        "admin",
    ]);
    assert_eq!(code, 0, "{err}");
    let logs = wait_for(&fake.stderr, "status=201").await;
    let line = logs
        .lines()
        .find(|l| l.contains("status=201"))
        .unwrap()
        .to_owned();
    for part in [
        " INFO ",
        "keystone_fake::access",
        "method=POST",
        "path=\"/v3/auth/tokens\"",
        "user=\"admin\"",
        "latency_ms=",
    ] {
        assert!(line.contains(part), "no {part:?} in {line}");
    }
    assert!(!line.contains('\u{1b}'), "no colors on a pipe: {line:?}");
    for secret in [token.trim_end(), "s3cr3t-admin"] {
        assert!(!logs.contains(secret), "{secret:?} logged:\n{logs}");
    }
}
