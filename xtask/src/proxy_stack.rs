//! keystone-proxy as users run it: its binary in front of a Python WSGI application (gunicorn,
//! from the conformance venv) that builds oslo.context's `RequestContext` from the headers,
//! and a real nginx whose `auth_request` asks the proxy's forward-auth endpoint, both against
//! the fake Keystone's binary. The demo's assertions through each (401, a member's 200, a
//! member's 403 on create, an admin's 201), spoofed identity headers that never reach the
//! application, and a 300 MiB upload streamed through the proxy without its memory growing.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};
use tokio::process::{Child, Command};

use crate::harness::{FakeProcess, StepReport, Venv, free_port, rss_kib, start_proxy, token};

/// docs/proxy.md, whose nginx snippet is the configuration run here: the documented one, not a
/// copy (crates/keystone-proxy/tests/proxy.rs holds it to the middleware's identity headers).
const GUIDE: &str = include_str!("../../docs/proxy.md");

/// The identity headers a client sends to spoof, each set to `spoofed`: the middleware's
/// whole list (`keystone_middleware::IDENTITY_HEADERS`), including the old names oslo.context's
/// `from_environ` falls back to.
const SPOOFED: &[&str] = &[
    "X-Identity-Status",
    "X-Service-Identity-Status",
    "X-User-Id",
    "X-User-Name",
    "X-User-Domain-Id",
    "X-User-Domain-Name",
    "X-Project-Id",
    "X-Project-Name",
    "X-Project-Domain-Id",
    "X-Project-Domain-Name",
    "X-Domain-Id",
    "X-Domain-Name",
    "X-Roles",
    "X-Service-Catalog",
    "X-Is-Admin-Project",
    "OpenStack-System-Scope",
    "X-Service-User-Id",
    "X-Service-User-Name",
    "X-Service-User-Domain-Id",
    "X-Service-User-Domain-Name",
    "X-Service-Project-Id",
    "X-Service-Project-Name",
    "X-Service-Project-Domain-Id",
    "X-Service-Project-Domain-Name",
    "X-Service-Domain-Id",
    "X-Service-Domain-Name",
    "X-Service-Roles",
    "X-Service-Is-Admin-Project",
    "X-Tenant-Id",
    "X-Tenant-Name",
    "X-Tenant",
    "X-User",
    "X-Role",
];

const APP: &str = include_str!("proxy_app.py");

/// The conformance step.
pub(crate) fn keystone_proxy(venv: &Venv) -> anyhow::Result<StepReport> {
    crate::util::cargo(&["build", "--quiet", "-p", "keystone-proxy"])?;
    let started = Instant::now();
    let failures = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(cases(venv))?;
    Ok(StepReport {
        step: "keystone-proxy",
        cases: CASES,
        failures,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// How many checks [`cases`] makes.
const CASES: usize = 18;

async fn cases(venv: &Venv) -> anyhow::Result<Vec<String>> {
    let dir = std::env::current_dir()?.join("target/conformance/proxy");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let fake = FakeProcess::start_with("adminpw", &[Path::new("fixtures/seed-proxy.yaml")])?;

    std::fs::write(dir.join("proxy_app.py"), APP)?;
    let app_port = free_port()?;
    let _app = Command::new(venv.bin("gunicorn"))
        .args(["--bind", &format!("127.0.0.1:{app_port}"), "--workers", "2"])
        .args(["--log-level", "warning", "--chdir"])
        .arg(&dir)
        .arg("proxy_app:application")
        .env("PYTHONWARNINGS", "ignore")
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("cannot start gunicorn")?;

    let (proxy_port, admin_port) = (free_port()?, free_port()?);
    let conf = dir.join("proxy.conf");
    std::fs::write(
        &conf,
        format!(
            "[keystone_authtoken]\nauth_url = {k}/v3\nwww_authenticate_uri = {k}/v3\n\
             username = proxysvc\npassword = proxysvcpw\nuser_domain_id = default\n\
             project_name = services\nproject_domain_id = default\ninclude_service_catalog = false\n\n\
             [proxy]\nlisten = 127.0.0.1:{proxy_port}\nupstream = http://127.0.0.1:{app_port}\n\
             forward_auth_path = /_keystone/auth\nadmin_listen = 127.0.0.1:{admin_port}\n\
             route = GET /v1/things proxy:index\nroute = POST /v1/things proxy:create\n\
             route = GET /v1/open public\n\
             rule = proxy:index = @\nrule = proxy:create = role:admin\n",
            k = fake.url
        ),
    )?;
    let mut proxy = start_proxy(&conf).await?;
    let nginx_port = free_port()?;
    let _nginx = start_nginx(&dir, nginx_port, proxy_port, app_port)?;
    let http = reqwest::Client::new();
    wait_for(&http, &format!("http://127.0.0.1:{app_port}/")).await?;
    wait_for(&http, &format!("http://127.0.0.1:{nginx_port}/nowhere")).await?;

    let alice = token(&http, &fake.url, "alice", "alicepw").await?;
    let bob = token(&http, &fake.url, "bob", "bobpw").await?;
    let mut failures = Vec::new();
    let mut check = |ok: bool, what: String| {
        if !ok {
            failures.push(what);
        }
    };
    for (name, base) in [
        ("proxy", format!("http://127.0.0.1:{proxy_port}")),
        ("nginx", format!("http://127.0.0.1:{nginx_port}")),
    ] {
        let things = format!("{base}/v1/things");
        let (s, _) = call(&http, "GET", &things, None, &[]).await?;
        check(s == 401, format!("{name}: no token answered {s}, not 401"));
        let (s, b) = call(&http, "GET", &things, Some(&alice), &[("x-roles", "admin")]).await?;
        let roles = b["roles"].as_array().cloned().unwrap_or_default();
        check(
            s == 200
                && b["user_name"] == "alice"
                && b["identity_status"] == "Confirmed"
                && roles.contains(&json!("member"))
                && !roles.contains(&json!("admin")),
            format!("{name}: a member's GET: {s} {b}"),
        );
        let (s, _) = call(&http, "POST", &things, Some(&alice), &[]).await?;
        check(
            s == 403,
            format!("{name}: a member's create answered {s}, not 403"),
        );
        let (s, b) = call(&http, "POST", &things, Some(&bob), &[]).await?;
        check(
            s == 201 && b["user_name"] == "bob",
            format!("{name}: an admin's create: {s} {b}"),
        );
        let (s, _) = call(&http, "GET", &format!("{base}/v2/other"), Some(&bob), &[]).await?;
        check(s == 403, format!("{name}: no route answered {s}, not 403"));
        // a client's identity headers never reach the application, with or without a token
        let spoofed: Vec<(&str, &str)> = SPOOFED.iter().map(|h| (*h, "spoofed")).collect();
        for (route, token) in [("/v1/open", None), ("/v1/things", Some(alice.as_str()))] {
            let (s, b) = call(&http, "GET", &format!("{base}{route}"), token, &spoofed).await?;
            let reached: Vec<&String> = b["identity_headers"]
                .as_object()
                .map(|h| {
                    h.iter()
                        .filter(|(_, v)| *v == "spoofed")
                        .map(|(k, _)| k)
                        .collect()
                })
                .unwrap_or_default();
            check(
                s == 200 && b["identity_headers"].is_object() && reached.is_empty(),
                format!("{name}: spoofed identity headers on {route}: {s}, reached {reached:?}"),
            );
        }
    }
    // the same request id for the client and the application
    let r = http
        .get(format!("http://127.0.0.1:{proxy_port}/v1/things"))
        .header("x-auth-token", &alice)
        .send()
        .await?;
    let id = r
        .headers()
        .get("x-openstack-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let b: Value = r.json().await?;
    check(
        id.is_some() && b["request_id"].as_str() == id.as_deref(),
        format!(
            "request ids: client {id:?}, application {}",
            b["request_id"]
        ),
    );
    // 300 MiB through the proxy, streamed
    let before = rss_kib(proxy.id().context("the proxy has ended")?)?;
    let chunks = futures_util::stream::iter(
        (0..4800).map(|_| Ok::<_, std::io::Error>(vec![b'x'; 64 << 10])),
    );
    let r = http
        .post(format!("http://127.0.0.1:{proxy_port}/v1/things"))
        .header("x-auth-token", &bob)
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await?;
    let status = r.status().as_u16();
    let b: Value = r.json().await?;
    let grown = rss_kib(proxy.id().context("the proxy has ended")?)?.saturating_sub(before);
    check(
        status == 201 && b["length"] == 300u64 << 20,
        format!("a 300 MiB upload: {status} {}", b["length"]),
    );
    check(
        grown < 64 * 1024,
        format!("the proxy's memory grew by {grown} KiB during a 300 MiB upload"),
    );
    // the metrics saw it all
    let metrics = http
        .get(format!("http://127.0.0.1:{admin_port}/metrics"))
        .send()
        .await?
        .text()
        .await?;
    check(
        metrics.contains("keystone_proxy_requests_total{outcome=\"forbidden\"}"),
        format!("metrics without the forbidden outcome:\n{metrics}"),
    );
    proxy.kill().await.ok();
    Ok(failures)
}

async fn call(
    http: &reqwest::Client,
    method: &str,
    url: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
) -> anyhow::Result<(u16, Value)> {
    let mut r = http.request(method.parse()?, url);
    if let Some(t) = token {
        r = r.header("x-auth-token", t);
    }
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    if method == "POST" {
        r = r.body("{}");
    }
    let r = r.send().await?;
    let status = r.status().as_u16();
    let text = r.text().await?;
    Ok((
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    ))
}

/// nginx in front of the application, asking the proxy's forward-auth endpoint.
fn start_nginx(dir: &Path, port: u16, proxy: u16, app: u16) -> anyhow::Result<Child> {
    let bin = ["nginx", "/usr/sbin/nginx"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| {
            std::process::Command::new(p)
                .arg("-v")
                .stderr(Stdio::null())
                .status()
                .is_ok()
        })
        .context("nginx is not installed (.ci/run installs Debian's nginx-light)")?;
    let locations = guide_nginx()?
        .replace("127.0.0.1:8080", &format!("127.0.0.1:{proxy}"))
        .replace("127.0.0.1:8000", &format!("127.0.0.1:{app}"));
    let d = dir.display();
    let conf = dir.join("nginx.conf");
    std::fs::write(
        &conf,
        format!(
            "daemon off;\nmaster_process off;\nworker_processes 1;\npid {d}/nginx.pid;\n\
             error_log {d}/nginx-error.log warn;\nevents {{ worker_connections 256; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy-tmp;\n\
             fastcgi_temp_path {d}/fcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
             server {{\n    listen 127.0.0.1:{port};\n{locations}\n  }}\n}}\n"
        ),
    )?;
    Command::new(&bin)
        .arg("-c")
        .arg(&conf)
        .arg("-p")
        .arg(dir)
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("cannot start nginx")
}

/// docs/proxy.md's nginx snippet (its two locations), as written there.
fn guide_nginx() -> anyhow::Result<String> {
    let start = GUIDE
        .find("```nginx\n")
        .context("docs/proxy.md has no nginx snippet")?
        + "```nginx\n".len();
    let len = GUIDE[start..]
        .find("```")
        .context("docs/proxy.md's nginx snippet does not end")?;
    let snippet = &GUIDE[start..start + len];
    if !snippet.contains("127.0.0.1:8080") || !snippet.contains("127.0.0.1:8000") {
        bail!("docs/proxy.md's nginx snippet no longer names 127.0.0.1:8080 and 127.0.0.1:8000");
    }
    Ok(snippet.to_owned())
}

async fn wait_for(http: &reqwest::Client, url: &str) -> anyhow::Result<()> {
    let started = Instant::now();
    while http.get(url).send().await.is_err() {
        if started.elapsed() > Duration::from_secs(30) {
            bail!("nothing answers at {url}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}
