//! What the conformance steps (`conformance.rs`, `openstack_cli.rs`, `real_stack.rs`,
//! `proxy_stack.rs`, `memcache_interop.rs`) and the benchmarks (`bench.rs`) share: the Python
//! venv with the pinned packages, the fake Keystone's binary as a child process, a user's
//! token from it, keystone-proxy's binary as a child process, and a step's line of the summary
//! table.
//!
//! **Architecture invariant:** the steps depend on `harness` and `util`, never on each other.
//!
//! **Architecture invariant:** Python and its packages live only in `target/conformance/venv`.
//! xtask is `publish = false`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::Context;
use tokio::io::AsyncBufReadExt;

use crate::util::KillOnDrop;

/// The pinned Python packages: the `openstack` CLI and the policy engine.
const OPENSTACK_CLI: &str = "python-openstackclient==10.5.0";
const OSLO_POLICY: &str = "oslo.policy==6.0.1";
/// Everything the venv holds: the CLI, the policy engine, Keystone itself with a WSGI server,
/// and keystonemiddleware.
pub(crate) const PACKAGES: &[&str] = &[
    OPENSTACK_CLI,
    OSLO_POLICY,
    "keystone==30.0.0",
    "keystonemiddleware==13.0.1",
    "gunicorn==23.0.0",
    // keystonemiddleware's memcached client, which it does not install itself
    "python-memcached==1.62",
];

/// The environment that keeps the Python tools from printing what nobody acts on: the
/// deprecation warnings and banners (Eventlet's, oslo's, pkg_resources') that every run of
/// Keystone's, keystonemiddleware's and the CLI's code prints.
pub(crate) const QUIET_PYTHON: &[(&str, &str)] = &[("PYTHONWARNINGS", "ignore")];

/// One line of the summary table.
pub(crate) struct StepReport {
    pub(crate) step: &'static str,
    pub(crate) cases: usize,
    pub(crate) failures: Vec<String>,
    pub(crate) seconds: f64,
}

/// A Python virtual environment under `target/conformance/venv`, with pinned packages.
pub(crate) struct Venv {
    dir: PathBuf,
}

impl Venv {
    /// Creates the venv if needed and installs `packages` unless the same set is installed.
    pub(crate) fn ensure(packages: &[&str]) -> anyhow::Result<Self> {
        let dir = PathBuf::from("target/conformance/venv");
        let stamp = dir.join("installed.txt");
        let wanted = packages.join("\n");
        if std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) {
            return Ok(Venv { dir });
        }
        if !dir.join("bin/python").exists() {
            let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
            crate::util::run(Command::new(python).args(["-m", "venv"]).arg(&dir))
                .context("cannot create a Python venv (is python3 with venv installed?)")?;
        }
        let pip = dir.join("bin/pip");
        crate::util::run(
            Command::new(&pip)
                .args(["install", "--quiet", "--disable-pip-version-check"])
                .args(packages),
        )
        .context("cannot install the reference packages from PyPI")?;
        std::fs::write(&stamp, wanted)?;
        Ok(Venv { dir })
    }

    /// The venv's directory.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// A program installed in the venv.
    pub(crate) fn bin(&self, name: &str) -> PathBuf {
        self.dir.join("bin").join(name)
    }

    /// A program of the venv, to run with Python's warnings silenced ([`QUIET_PYTHON`]).
    pub(crate) fn command(&self, name: &str) -> Command {
        let mut cmd = Command::new(self.bin(name));
        cmd.envs(QUIET_PYTHON.iter().copied());
        cmd
    }
}

/// The fake Keystone's binary, started on a free port; killed when dropped.
pub(crate) struct FakeProcess {
    child: KillOnDrop,
    /// Such as `http://127.0.0.1:41234`.
    pub(crate) url: String,
}

impl FakeProcess {
    pub(crate) fn start(admin_password: &str) -> anyhow::Result<Self> {
        Self::start_with(admin_password, &[])
    }

    /// Starts the fake's binary with seed files.
    pub(crate) fn start_with(admin_password: &str, seeds: &[&Path]) -> anyhow::Result<Self> {
        Self::start_with_args(admin_password, seeds, &[])
    }

    /// Starts the fake's binary with seed files and more arguments (`--controls`).
    pub(crate) fn start_with_args(
        admin_password: &str,
        seeds: &[&Path],
        args: &[&str],
    ) -> anyhow::Result<Self> {
        let bin = Path::new("target/debug/keystone-fake");
        let mut child = Command::new(bin)
            .args([
                "--listen",
                "127.0.0.1:0",
                "--admin-password",
                admin_password,
            ])
            .args(
                seeds
                    .iter()
                    .flat_map(|s| [std::ffi::OsStr::new("--seed"), s.as_os_str()]),
            )
            .args(args)
            // problems only: a line per request would bury the steps' own output
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let stdout = child.stdout.take().context("no stdout")?;
        let child = KillOnDrop(child);
        let mut reader = BufReader::new(stdout);
        let mut first = String::new();
        reader.read_line(&mut first)?;
        // keep draining what it prints, so that it never writes into a closed pipe
        std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
        let url = first
            .trim()
            .strip_prefix("keystone-fake listening on ")
            .with_context(|| format!("unexpected first line from the fake: {first:?}"))?
            .to_owned();
        Ok(FakeProcess { child, url })
    }

    /// The process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.0.id()
    }
}

/// A free port on 127.0.0.1 (free when asked; the caller binds it soon after).
pub(crate) fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// A process's resident memory, in KiB (`/proc/PID/status`).
pub(crate) fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no VmRSS for process {pid}"))
}

/// At most `keep` failures, and how many more there were.
pub(crate) fn first_failures(mut failures: Vec<String>, keep: usize) -> Vec<String> {
    if failures.len() > keep {
        let more = failures.len() - keep;
        failures.truncate(keep);
        failures.push(format!("... and {more} more"));
    }
    failures
}

/// A project-scoped token (project `demo` of domain `default`) of a user of the fake.
pub(crate) async fn token(
    http: &reqwest::Client,
    keystone: &str,
    user: &str,
    password: &str,
) -> anyhow::Result<String> {
    let body = serde_json::json!({"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": user, "domain": {"id": "default"}, "password": password}}},
        "scope": {"project": {"name": "demo", "domain": {"id": "default"}}},
    }});
    let r = http
        .post(format!("{keystone}/v3/auth/tokens"))
        .json(&body)
        .send()
        .await?;
    if r.status() != 201 {
        anyhow::bail!("{user} cannot log in: {}", r.status());
    }
    Ok(r.headers()["x-subject-token"].to_str()?.to_owned())
}

/// keystone-proxy's debug binary serving `conf`, its JSON log read until it listens (then
/// drained); killed when dropped.
pub(crate) async fn start_proxy(conf: &Path) -> anyhow::Result<tokio::process::Child> {
    let bin = std::fs::canonicalize("target/debug/keystone-proxy")?;
    let mut child = tokio::process::Command::new(&bin)
        .args(["--log-format", "json", "serve", "--config"])
        .arg(conf)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("cannot start {}", bin.display()))?;
    let mut lines = tokio::io::BufReader::new(child.stdout.take().context("no stdout")?).lines();
    tokio::time::timeout(std::time::Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await? {
            if line.contains("keystone-proxy listening") {
                return Ok::<_, anyhow::Error>(());
            }
        }
        anyhow::bail!("keystone-proxy ended before it listened")
    })
    .await
    .context("keystone-proxy did not start")??;
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok(child)
}
