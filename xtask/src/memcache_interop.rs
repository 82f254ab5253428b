//! The `memcached` conformance step: keystonemiddleware 13.0.1 and keystone-proxy share one
//! token cache on one real memcached server (`ENCRYPT`), then on two (each
//! `memcache_security_strategy`, so that python-memcached's server choice is ours). A token
//! keystonemiddleware validated is a hit for us and the reverse (the fake's validation counter
//! proves no second validation), another secret key is a miss on both sides, not an error, and
//! the `"invalid"` marker older keystonemiddleware releases wrote is a 401 without validation
//! for keystonemiddleware 13.0.1 and a miss for us (no `negative_cache_time`).

use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use serde_json::Value;

use crate::harness::{FakeProcess, StepReport, Venv, free_port, start_proxy, token};

#[path = "../../crates/keystone-middleware/tests/memcached/mod.rs"]
mod memcached;

const SCRIPT: &str = include_str!("ksm_memcache.py");

pub(crate) fn run(venv: &Venv) -> anyhow::Result<StepReport> {
    crate::util::cargo(&["build", "--quiet", "-p", "keystone-proxy"])?;
    let started = Instant::now();
    let (cases, failures) = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(cases(venv))?;
    Ok(StepReport {
        step: "memcached",
        cases,
        failures,
        seconds: started.elapsed().as_secs_f64(),
    })
}

struct Stack<'a> {
    venv: &'a Venv,
    fake: &'a FakeProcess,
    http: reqwest::Client,
    servers: String,
    dir: std::path::PathBuf,
}

impl Stack<'_> {
    /// Validations the fake has answered so far.
    async fn validations(&self) -> anyhow::Result<u64> {
        let counts: Value = self
            .http
            .get(format!("{}/_fake/requests", self.fake.url))
            .send()
            .await?
            .json()
            .await?;
        Ok(counts["GET /v3/auth/tokens"].as_u64().unwrap_or(0))
    }

    /// Each token's status through keystonemiddleware's auth_token.
    fn python(&self, strategy: &str, secret: &str, tokens: &[&str]) -> anyhow::Result<Vec<u64>> {
        self.run_python(strategy, secret, tokens, false)
    }

    /// Each token's status through keystonemiddleware's auth_token, once its entry is the
    /// `"invalid"` marker (written by keystonemiddleware's own cache code).
    fn python_after_marking_invalid(
        &self,
        strategy: &str,
        secret: &str,
        tokens: &[&str],
    ) -> anyhow::Result<Vec<u64>> {
        self.run_python(strategy, secret, tokens, true)
    }

    fn run_python(
        &self,
        strategy: &str,
        secret: &str,
        tokens: &[&str],
        store_invalid: bool,
    ) -> anyhow::Result<Vec<u64>> {
        let out = self
            .venv
            .command("python")
            .env("KSM_STORE_INVALID", if store_invalid { "1" } else { "0" })
            .arg(self.dir.join("ksm_memcache.py"))
            .args([&self.fake.url, &self.servers, strategy, secret])
            .args(tokens)
            .output()?;
        if !out.status.success() {
            anyhow::bail!(
                "keystonemiddleware's script failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let v: Vec<(u64, String)> =
            serde_json::from_slice(&out.stdout).context("the script printed no JSON")?;
        Ok(v.into_iter().map(|(s, _)| s).collect())
    }

    /// keystone-proxy's forward-auth answer for `token`, the proxy configured with `strategy`,
    /// and the validations that answer cost (its startup check's own are not counted).
    async fn proxy(&self, strategy: &str, secret: &str, token: &str) -> anyhow::Result<(u64, u64)> {
        let port = free_port()?;
        let conf = self.dir.join(format!("proxy-{port}.conf"));
        let secret_line = if secret == "-" {
            String::new()
        } else {
            format!("memcache_secret_key = {secret}\n")
        };
        std::fs::write(
            &conf,
            format!(
                "[keystone_authtoken]\nauth_url = {k}/v3\nwww_authenticate_uri = {k}/v3\n\
                 username = proxysvc\npassword = proxysvcpw\nuser_domain_id = default\n\
                 project_name = services\nproject_domain_id = default\n\
                 include_service_catalog = false\nmemcached_servers = {servers}\n\
                 memcache_security_strategy = {strategy}\n{secret_line}\n\
                 [proxy]\nlisten = 127.0.0.1:{port}\nforward_auth_path = /_keystone/auth\n\
                 unmatched = authenticated\n",
                k = self.fake.url,
                servers = self.servers,
            ),
        )?;
        let mut proxy = start_proxy(&conf).await?;
        let before = self.validations().await?;
        let r = self
            .http
            .get(format!("http://127.0.0.1:{port}/_keystone/auth"))
            .header("x-original-method", "GET")
            .header("x-original-uri", "/anything")
            .header("x-auth-token", token)
            .send()
            .await?;
        let cost = self.validations().await? - before;
        proxy.kill().await.ok();
        Ok((u64::from(r.status().as_u16()), cost))
    }
}

async fn cases(venv: &Venv) -> anyhow::Result<(usize, Vec<String>)> {
    let dir = std::env::current_dir()?.join("target/conformance/memcached");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("ksm_memcache.py"), SCRIPT)?;
    let fake = FakeProcess::start_with_args(
        "adminpw",
        &[Path::new("fixtures/seed-proxy.yaml")],
        &["--controls"],
    )?;
    let (m1, m2) = (memcached::Memcached::start(), memcached::Memcached::start());
    let mut failures = Vec::new();
    let mut cases = 0;
    // one server: the protocol and the strategies' format; two: the server choice too
    for (servers, strategies) in [
        (m1.addr.clone(), &STRATEGIES[2..]),
        (format!("{},{}", m1.addr, m2.addr), &STRATEGIES[..]),
    ] {
        let s = Stack {
            venv,
            fake: &fake,
            http: reqwest::Client::new(),
            servers,
            dir: dir.clone(),
        };
        for &(strategy, secret, other) in strategies {
            let mut check = |ok: bool, what: String| {
                cases += 1;
                if !ok {
                    failures.push(format!("{strategy} on {}: {what}", s.servers));
                }
            };
            strategy_cases(&s, strategy, secret, other, &mut check).await?;
        }
    }
    Ok((cases, failures))
}

/// Each strategy, its secret, and another secret to try.
const STRATEGIES: [(&str, &str, Option<&str>); 3] = [
    ("None", "-", None),
    ("MAC", "s3cret", Some("another")),
    ("ENCRYPT", "s3cret", Some("another")),
];

async fn strategy_cases(
    s: &Stack<'_>,
    strategy: &str,
    secret: &str,
    other: Option<&str>,
    check: &mut impl FnMut(bool, String),
) -> anyhow::Result<()> {
    let fake = s.fake;
    let (t1, t2) = (
        token(&s.http, &fake.url, "alice", "alicepw").await?,
        token(&s.http, &fake.url, "alice", "alicepw").await?,
    );
    // keystonemiddleware validates, we hit
    let before = s.validations().await?;
    let py = s.python(strategy, secret, &[&t1])?;
    let after_python = s.validations().await?;
    let (ours, cost) = s.proxy(strategy, secret, &t1).await?;
    check(
        py == [200] && after_python == before + 1,
        format!(
            "keystonemiddleware's validation: {py:?}, {} validations",
            after_python - before
        ),
    );
    check(
        ours == 200 && cost == 0,
        format!("keystone-proxy after keystonemiddleware: {ours}, {cost} validations (0 wanted)"),
    );
    // we validate, keystonemiddleware hits
    let (ours, cost) = s.proxy(strategy, secret, &t2).await?;
    let before = s.validations().await?;
    let py = s.python(strategy, secret, &[&t2])?;
    let after_python = s.validations().await?;
    check(
        ours == 200 && cost == 1 && py == [200] && after_python == before,
        format!(
            "keystonemiddleware after keystone-proxy: {ours} ({cost} validations), then \
             {py:?}, {} more validations (0 wanted)",
            after_python - before
        ),
    );
    // another secret: a miss on both sides, validated, never an error
    if let Some(other) = other {
        let before = s.validations().await?;
        let py = s.python(strategy, other, &[&t2])?;
        let after_python = s.validations().await?;
        let (ours, cost) = s.proxy(strategy, other, &t1).await?;
        check(
            py == [200] && after_python == before + 1 && ours == 200 && cost == 1,
            format!(
                "another secret key: keystonemiddleware {py:?} ({} validations), \
                 keystone-proxy {ours} ({cost}); one each wanted",
                after_python - before
            ),
        );
    }
    // the "invalid" marker: keystonemiddleware 13.0.1 refuses the (valid) token without
    // asking Keystone; we, without negative_cache_time, take it for a miss and validate
    let t3 = token(&s.http, &fake.url, "alice", "alicepw").await?;
    let before = s.validations().await?;
    let py = s.python_after_marking_invalid(strategy, secret, &[&t3])?;
    let after_python = s.validations().await?;
    let (ours, cost) = s.proxy(strategy, secret, &t3).await?;
    check(
        py == [401] && after_python == before && ours == 200 && cost == 1,
        format!(
            "the invalid marker: keystonemiddleware {py:?} ({} validations; 401, 0 wanted), \
             keystone-proxy {ours} ({cost}; 200, 1 wanted)",
            after_python - before
        ),
    );
    Ok(())
}
