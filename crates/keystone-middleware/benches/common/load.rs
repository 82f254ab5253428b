//! The load generator the whole-flow benchmarks share (this crate's `throughput`, and
//! keystone-proxy's `proxy`, which includes this directory): concurrent loops for a fixed time,
//! sequential latencies, medians, and gunicorn serving `ksm_app.py`.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Concurrent request loops.
pub const WORKERS: usize = 16;
/// One measuring round per route; the routes alternate, so that drift in the machine's speed
/// (other load, frequency) falls on all alike, and the ratio is the median of the rounds'.
pub const DURATION: Duration = Duration::from_millis(1000);

/// Requests per second against `url` with `WORKERS` concurrent loops for `DURATION`. The token
/// header is built once, as load generators do (wrk, hey), so that what differs between the
/// routes is the server's work.
pub async fn rate(client: &reqwest::Client, url: &str, token: Option<&str>) -> f64 {
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + DURATION;
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let (client, url, token, done) = (
                client.clone(),
                url.to_owned(),
                token.map(str::to_owned),
                done.clone(),
            );
            tokio::spawn(async move {
                // each loop its own header value: clones of one would share a reference count
                let token = token
                    .map(|t| reqwest::header::HeaderValue::from_str(&t).expect("token header"));
                while Instant::now() < deadline {
                    let mut req = client.get(&url);
                    if let Some(t) = &token {
                        req = req.header("x-auth-token", t.clone());
                    }
                    let r = req.send().await.expect("request");
                    assert!(r.status().is_success(), "{}", r.status());
                    r.bytes().await.expect("body");
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for w in workers {
        w.await.expect("worker");
    }
    done.load(Ordering::Relaxed) as f64 / DURATION.as_secs_f64()
}

/// The latencies of `n` requests sent one after another on one connection, sorted.
pub async fn latencies(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    n: usize,
) -> Vec<Duration> {
    let mut all = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        let r = client
            .get(url)
            .header("x-auth-token", token)
            .send()
            .await
            .expect("request");
        assert!(r.status().is_success(), "{}", r.status());
        r.bytes().await.expect("body");
        all.push(started.elapsed());
    }
    all.sort();
    all
}

/// The `p`th percentile (0 to 100) of sorted figures.
pub fn percentile(sorted: &[Duration], p: usize) -> Duration {
    sorted[(sorted.len() - 1) * p / 100]
}

pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The median over the rounds of `v`'s figures over the same round's `open`.
pub fn median_ratio(v: &[f64], open: &[f64]) -> f64 {
    median(v.iter().zip(open).map(|(a, o)| a / o).collect())
}

/// Writes a benchmark's figures to the workspace's `target/bench-results/NAME.json` (cargo runs
/// benchmarks in their crate's directory).
pub fn write_results(name: &str, figures: &serde_json::Value) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-results");
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(dir.join(format!("{name}.json")), figures.to_string());
}

/// The WSGI apps: `ksm_app:application` (keystonemiddleware in front of a trivial app) and
/// `ksm_app:hello` (the trivial app alone).
const KSM_APP: &str = include_str!("../ksm_app.py");

/// gunicorn (2 worker processes, 8 threads each); stopped when dropped.
pub struct Gunicorn(Child);

impl Drop for Gunicorn {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Gunicorn {
    /// Serves `app` (`module:callable` of `ksm_app.py`) with `venv`'s gunicorn, keystonemiddleware
    /// validating with the setup's service user against its fake; returns the server and its
    /// base URL once `/open` answers.
    pub async fn start(venv: &Path, setup: &super::Setup, app: &str) -> (Gunicorn, String) {
        let dir = std::env::temp_dir().join(format!("ksm-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("app directory");
        std::fs::write(dir.join("ksm_app.py"), KSM_APP).expect("app");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let base = format!("http://127.0.0.1:{port}");
        let child = Command::new(venv.join("bin/gunicorn"))
            .args([
                "--workers",
                "2",
                "--worker-class",
                "gthread",
                "--threads",
                "8",
            ])
            .args([
                "--bind",
                &format!("127.0.0.1:{port}"),
                "--log-level",
                "error",
            ])
            .arg("--chdir")
            .arg(&dir)
            .arg(app)
            .env("KSM_BENCH_AUTH_URL", setup.fake.auth_url())
            .env("KSM_BENCH_USERNAME", "svc")
            .env("KSM_BENCH_PASSWORD", "pw")
            .env("KSM_BENCH_PROJECT_ID", &setup.project)
            .env("PYTHONWARNINGS", "ignore")
            .stdout(Stdio::null())
            .spawn()
            .expect("gunicorn starts (is keystonemiddleware in KSM_BENCH_VENV?)");
        let server = Gunicorn(child);
        let client = reqwest::Client::new();
        let started = Instant::now();
        while !client
            .get(format!("{base}/open"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "gunicorn did not answer on {base} within 60 s"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        (server, base)
    }
}
