//! `cargo xtask chaos`: example-service as a process, with the common limit of 1,024 file
//! descriptors, in front of the fake Keystone's binary, under what a hostile client or a bad day
//! brings. Each scenario checks that the service keeps serving what it can:
//!
//! 1. slowloris: 1,100 connections trickling a header byte per second, while probes of `/` and
//!    of a cached token keep answering;
//! 2. Keystone stopped (SIGSTOP) under a stream of uncached tokens: the probes keep answering,
//!    uncached tokens get 503, and the service's descriptors stay bounded;
//! 3. members' slow uploads announcing 1 GiB: 403 at once, with bounded memory;
//! 4. the service's password changed in Keystone: a bounded number of failed logins (counted at
//!    the fake, through its `--controls` API) under a stream of uncached tokens, and recovery
//!    when the password is changed back;
//! 5. SIGTERM while a client holds a half-sent request: the service exits 0 within its
//!    graceful shutdown deadline.

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

use crate::harness::FakeProcess;
use crate::util::cargo;

/// The descriptor limit the service runs with, as on many hosts.
const SERVICE_NOFILE: u64 = 1024;
/// The slowloris connections: more than the service may open.
const SLOWLORIS: usize = 1100;
/// The longest a probe may wait for its answer during an attack (the header read timeout is 2 s).
const PROBE_DEADLINE: Duration = Duration::from_secs(5);

const SERVICE_PASSWORD: &str = "myservicesecretpassword";

/// Runs every scenario; fails on the first that does not hold.
pub(crate) fn run() -> anyhow::Result<()> {
    cargo(&[
        "build",
        "--quiet",
        "-p",
        "example-service",
        "-p",
        "keystone-fake",
    ])?;
    // the attacker needs more descriptors than the service has
    let limit = rlimit::increase_nofile_limit(8192).context("cannot raise the descriptor limit")?;
    ensure!(
        limit as usize > SLOWLORIS + 200,
        "the descriptor limit is {limit}: too low for {SLOWLORIS} attacking connections"
    );
    let started = Instant::now();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(scenarios())?;
    eprintln!("chaos: every scenario held ({:.0?})", started.elapsed());
    Ok(())
}

async fn scenarios() -> anyhow::Result<()> {
    let dir = Path::new("target/chaos");
    std::fs::create_dir_all(dir)?;
    let fake = FakeProcess::start_with_args(
        "adminpw",
        &[Path::new("fixtures/seed-cloud.yaml")],
        &["--controls"],
    )?;
    let keystone = Keystone::new(&fake.url);
    let mut service = Service::start(dir, &fake.url).await?;
    let alice = keystone.token("alice", "alicepw", "demo").await?;
    // cached from here on
    ensure!(service.get("/v1/thing/list", Some(&alice)).await? == 200);

    step("slowloris", slowloris(&service, &alice)).await?;
    step(
        "Keystone stopped",
        keystone_stopped(&service, &keystone, fake.pid(), &alice),
    )
    .await?;
    step("slow uploads", slow_uploads(&service, &alice)).await?;
    step("rotated password", rotated_password(&service, &keystone)).await?;
    step("SIGTERM", sigterm(&mut service)).await?;
    Ok(())
}

async fn step(
    name: &str,
    scenario: impl Future<Output = anyhow::Result<String>>,
) -> anyhow::Result<()> {
    let started = Instant::now();
    match scenario.await {
        Ok(detail) => {
            eprintln!("chaos: {name}: ok ({:.1?}): {detail}", started.elapsed());
            Ok(())
        }
        Err(e) => bail!("chaos: {name}: {e:#}"),
    }
}

/// The fake Keystone, through its API and its `--controls` API.
struct Keystone {
    url: String,
    http: reqwest::Client,
}

impl Keystone {
    fn new(url: &str) -> Self {
        Keystone {
            url: url.to_owned(),
            http: reqwest::Client::new(),
        }
    }

    /// A project-scoped token of a user in the Default domain.
    async fn token(&self, user: &str, password: &str, project: &str) -> anyhow::Result<String> {
        let body = json!({"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": user, "domain": {"id": "default"}, "password": password}}},
            "scope": {"project": {"name": project, "domain": {"id": "default"}}},
        }});
        let r = self
            .http
            .post(format!("{}/v3/auth/tokens", self.url))
            .json(&body)
            .send()
            .await?;
        ensure!(r.status() == 201, "{user} cannot log in: {}", r.status());
        Ok(r.headers()["x-subject-token"].to_str()?.to_owned())
    }

    /// Sets a user's password, as the admin.
    async fn set_password(&self, user: &str, password: &str) -> anyhow::Result<()> {
        let admin = self.token("admin", "adminpw", "admin").await?;
        let users: Value = self
            .http
            .get(format!("{}/v3/users?name={user}", self.url))
            .header("x-auth-token", &admin)
            .send()
            .await?
            .json()
            .await?;
        let id = users["users"][0]["id"].as_str().context("no such user")?;
        let r = self
            .http
            .patch(format!("{}/v3/users/{id}", self.url))
            .header("x-auth-token", &admin)
            .json(&json!({"user": {"password": password}}))
            .send()
            .await?;
        ensure!(
            r.status() == 200,
            "cannot set {user}'s password: {}",
            r.status()
        );
        Ok(())
    }

    /// How many requests the fake has answered on `route` (`"POST /v3/auth/tokens"`).
    async fn requests(&self, route: &str) -> anyhow::Result<u64> {
        let counts: Value = self
            .http
            .get(format!("{}/_fake/requests", self.url))
            .send()
            .await?
            .json()
            .await?;
        Ok(counts[route].as_u64().unwrap_or(0))
    }
}

/// example-service as a process, with `ulimit -n 1024`.
struct Service {
    child: Child,
    addr: String,
    http: reqwest::Client,
}

impl Service {
    async fn start(dir: &Path, keystone: &str) -> anyhow::Result<Self> {
        let config = dir.join("myservice.conf");
        std::fs::write(
            &config,
            format!(
                "[keystone_authtoken]\n\
                 auth_url = {keystone}/v3\n\
                 www_authenticate_uri = {keystone}/v3\n\
                 username = myservice\n\
                 password = {SERVICE_PASSWORD}\n\
                 user_domain_id = default\n\
                 project_name = services\n\
                 project_domain_id = default\n\
                 include_service_catalog = false\n\
                 http_connect_timeout = 2\n\
                 validation_timeout = 3\n\
                 max_concurrent_validations = 32\n\
                 # one client address sends everything here: the per-client limit is tested apart\n\
                 unknown_token_rate = 0\n\
                 \n\
                 [server]\n\
                 header_read_timeout = 2\n\
                 graceful_shutdown_timeout = 3\n\
                 body_read_timeout = 5\n\
                 access_log_level = debug\n"
            ),
        )?;
        let bin = std::fs::canonicalize("target/debug/example-service")?;
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "ulimit -n {SERVICE_NOFILE} && exec \"$0\" --log-format json serve --config \"$1\" --listen 127.0.0.1:0"
            ))
            .arg(&bin)
            .arg(&config)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let addr = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await? {
                if let Ok(v) = serde_json::from_str::<Value>(&line)
                    && let Some(a) = v["fields"]["address"].as_str()
                {
                    return Ok::<_, anyhow::Error>(a.to_owned());
                }
            }
            bail!("example-service ended before it listened")
        })
        .await
        .context("example-service did not start listening")??;
        // keep draining its logs
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Service {
            child,
            addr,
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(0)
                .timeout(PROBE_DEADLINE)
                .build()?,
        })
    }

    fn pid(&self) -> anyhow::Result<u32> {
        self.child.id().context("example-service has ended")
    }

    /// A GET on a new connection: the status.
    async fn get(&self, path: &str, token: Option<&str>) -> anyhow::Result<u16> {
        let mut r = self.http.get(format!("http://{}{path}", self.addr));
        if let Some(t) = token {
            r = r.header("x-auth-token", t);
        }
        Ok(r.send().await?.status().as_u16())
    }

    /// Open descriptors of the process.
    fn descriptors(&self) -> anyhow::Result<usize> {
        Ok(std::fs::read_dir(format!("/proc/{}/fd", self.pid()?))?.count())
    }

    /// Resident memory, in KiB.
    fn rss_kib(&self) -> anyhow::Result<u64> {
        crate::harness::rss_kib(self.pid()?)
    }
}

/// What the probes saw during an attack.
struct Probed {
    /// The slowest answer.
    slowest: Duration,
    /// The most descriptors the service had open.
    most_fds: usize,
}

/// Probes `/` and the cached token every 250 ms until `stop`, and counts the service's open
/// descriptors; fails if a probe fails or is slow.
async fn probe_until(service: &Service, token: &str, stop: &AtomicBool) -> anyhow::Result<Probed> {
    let mut slowest = Duration::ZERO;
    let mut most_fds = 0;
    while !stop.load(Ordering::Relaxed) {
        most_fds = most_fds.max(service.descriptors()?);
        for (path, token) in [("/", None), ("/v1/thing/list", Some(token))] {
            let started = Instant::now();
            let status = service
                .get(path, token)
                .await
                .with_context(|| format!("probe of {path}"))?;
            ensure!(status == 200, "probe of {path} answered {status}");
            slowest = slowest.max(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    ensure!(
        most_fds < SERVICE_NOFILE as usize,
        "{most_fds} descriptors open: at the limit"
    );
    Ok(Probed { slowest, most_fds })
}

/// Runs `attack` for `duration` while probing.
async fn under_attack(
    service: &Service,
    token: &str,
    duration: Duration,
    attack: impl Future<Output = anyhow::Result<()>>,
) -> anyhow::Result<Probed> {
    let stop = AtomicBool::new(false);
    let probes = probe_until(service, token, &stop);
    let attack = async {
        let r = tokio::time::timeout(duration, attack).await;
        stop.store(true, Ordering::Relaxed);
        match r {
            Ok(result) => result,
            Err(_) => Ok(()),
        }
    };
    let (slowest, attacked) = tokio::join!(probes, attack);
    attacked?;
    slowest
}

async fn slowloris(service: &Service, token: &str) -> anyhow::Result<String> {
    let closed = Arc::new(AtomicU64::new(0));
    let attack = async {
        let mut attackers = tokio::task::JoinSet::new();
        for _ in 0..SLOWLORIS {
            let addr = service.addr.clone();
            let closed = closed.clone();
            attackers.spawn(async move {
                // reconnect whenever the service closes the connection
                loop {
                    let Ok(mut s) = TcpStream::connect(&addr).await else {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    };
                    for b in b"GET / HTTP/1.1\r\nhost: x\r\nx-a: " {
                        if s.write_all(&[*b]).await.is_err() {
                            break;
                        }
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                    closed.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        std::future::pending::<()>().await;
        drop(attackers);
        Ok(())
    };
    let probed = under_attack(service, token, Duration::from_secs(10), attack).await?;
    Ok(format!(
        "{SLOWLORIS} connections, {} closed by the service; slowest probe {:.1?}; at most {} descriptors",
        closed.load(Ordering::Relaxed),
        probed.slowest,
        probed.most_fds
    ))
}

async fn keystone_stopped(
    service: &Service,
    keystone: &Keystone,
    fake_pid: u32,
    token: &str,
) -> anyhow::Result<String> {
    // fresh tokens, which the service has not cached
    let mut fresh = Vec::new();
    for _ in 0..400 {
        fresh.push(keystone.token("alice", "alicepw", "demo").await?);
    }
    signal(fake_pid, "STOP").await?;
    let unavailable = AtomicU64::new(0);
    let most_fds = AtomicU64::new(0);
    let attack = async {
        let mut tasks = tokio::task::JoinSet::new();
        for t in fresh {
            let (http, url) = (
                service.http.clone(),
                format!("http://{}/v1/thing/list", service.addr),
            );
            tasks.spawn(async move {
                http.get(url)
                    .header("x-auth-token", t)
                    .timeout(Duration::from_secs(20))
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
            });
            if tasks.len() % 50 == 0 {
                most_fds.fetch_max(service.descriptors()? as u64, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        while let Some(r) = tasks.join_next().await {
            match r? {
                Ok(503) => {
                    unavailable.fetch_add(1, Ordering::Relaxed);
                }
                Ok(other) => bail!("an uncached token with Keystone stopped answered {other}"),
                Err(e) => bail!("an uncached token with Keystone stopped got no answer: {e}"),
            }
            most_fds.fetch_max(service.descriptors()? as u64, Ordering::Relaxed);
        }
        Ok(())
    };
    let probed = under_attack(service, token, Duration::from_secs(30), attack).await;
    signal(fake_pid, "CONT").await?;
    let probed = probed?;
    let slowest = probed.slowest;
    let fds = most_fds.load(Ordering::Relaxed).max(probed.most_fds as u64);
    // 400 client connections at most, 32 validations, the listener, logs, the runtime
    ensure!(fds < 500, "{fds} descriptors with Keystone stopped");
    Ok(format!(
        "{} uncached tokens answered 503; slowest probe {slowest:.1?}; at most {fds} descriptors",
        unavailable.load(Ordering::Relaxed)
    ))
}

async fn slow_uploads(service: &Service, token: &str) -> anyhow::Result<String> {
    let before = service.rss_kib()?;
    let mut uploads = tokio::task::JoinSet::new();
    let started = Instant::now();
    for _ in 0..200 {
        let (addr, token) = (service.addr.clone(), token.to_owned());
        uploads.spawn(async move {
            let mut s = TcpStream::connect(&addr).await?;
            s.write_all(
                format!(
                    "POST /v1/proxy HTTP/1.1\r\nhost: x\r\nx-auth-token: {token}\r\n\
                     content-type: application/json\r\ncontent-length: 1073741824\r\n\r\n{{\"domain\":"
                )
                .as_bytes(),
            )
            .await?;
            let mut answer = vec![0; 512];
            // trickle on while waiting for the answer
            let read = async {
                let n = s.read(&mut answer).await?;
                Ok::<_, std::io::Error>(String::from_utf8_lossy(&answer[..n]).into_owned())
            };
            tokio::time::timeout(Duration::from_secs(5), read)
                .await
                .map_err(|_| std::io::Error::other("no answer within 5 s"))?
        });
    }
    let mut forbidden = 0;
    while let Some(r) = uploads.join_next().await {
        let head = r??;
        ensure!(
            head.starts_with("HTTP/1.1 403"),
            "a member's upload was answered {:?}",
            head.lines().next()
        );
        forbidden += 1;
    }
    let took = started.elapsed();
    let after = service.rss_kib()?;
    let grown = after.saturating_sub(before);
    ensure!(grown < 50 * 1024, "memory grew by {grown} KiB");
    Ok(format!(
        "{forbidden} uploads announcing 1 GiB answered 403 in {took:.1?}; memory grew {grown} KiB"
    ))
}

async fn rotated_password(service: &Service, keystone: &Keystone) -> anyhow::Result<String> {
    let mut fresh = Vec::new();
    for _ in 0..500 {
        fresh.push(keystone.token("alice", "alicepw", "demo").await?);
    }
    keystone
        .set_password("myservice", "rotated-elsewhere")
        .await?;
    let logins_before = keystone.requests("POST /v3/auth/tokens").await?;
    // 50 requests a second for 10 s, each with an uncached token
    let mut statuses = std::collections::BTreeMap::new();
    for batch in fresh.chunks(5) {
        let started = Instant::now();
        for t in batch {
            let status = service.get("/v1/thing/list", Some(t)).await?;
            *statuses.entry(status).or_insert(0u32) += 1;
        }
        tokio::time::sleep(Duration::from_millis(100).saturating_sub(started.elapsed())).await;
    }
    let failed_logins = keystone.requests("POST /v3/auth/tokens").await? - logins_before;
    ensure!(
        (1..=8).contains(&failed_logins),
        "{failed_logins} failed logins in 10 s at 50 requests/s (at least one, at most 8)"
    );
    // the tokens the service held were revoked with the password: requests needing a new
    // one got 503 while the logins backed off
    ensure!(
        statuses.contains_key(&503),
        "no 503 while the service's password was rejected: {statuses:?}"
    );
    // the password changed back: the service recovers by itself
    keystone.set_password("myservice", SERVICE_PASSWORD).await?;
    let probe = keystone.token("alice", "alicepw", "demo").await?;
    let recovered = Instant::now();
    loop {
        if service.get("/v1/thing/list", Some(&probe)).await? == 200 {
            break;
        }
        ensure!(
            recovered.elapsed() < Duration::from_secs(40),
            "no recovery 40 s after the password was changed back"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Ok(format!(
        "answers {statuses:?}; {failed_logins} failed logins; recovered in {:.1?}",
        recovered.elapsed()
    ))
}

async fn sigterm(service: &mut Service) -> anyhow::Result<String> {
    let mut half = TcpStream::connect(&service.addr).await?;
    half.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n").await?;
    let started = Instant::now();
    signal(service.pid()?, "TERM").await?;
    let status = tokio::time::timeout(Duration::from_secs(10), service.child.wait())
        .await
        .context("example-service still runs 10 s after SIGTERM")??;
    let took = started.elapsed();
    ensure!(status.success(), "example-service exited with {status}");
    ensure!(took < Duration::from_secs(6), "SIGTERM took {took:.1?}");
    Ok(format!(
        "exited 0 in {took:.1?} with a half-sent request open"
    ))
}

/// Sends a signal (`STOP`, `CONT`, `TERM`) to a process.
async fn signal(pid: u32, name: &str) -> anyhow::Result<()> {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()
        .await?;
    ensure!(status.success(), "kill -{name} {pid} failed");
    Ok(())
}
