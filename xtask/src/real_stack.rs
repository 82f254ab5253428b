//! The real OpenStack pieces as referees: a real Keystone 30.0.0 (sqlite, fernet tokens,
//! gunicorn, on a free loopback port, bootstrapped as `../shared/reference/README.md` says), our
//! client's integration tests and example-service's seed flow against it, and
//! keystonemiddleware 13.0.1 against our fake.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::Value;

use crate::harness::free_port;
use crate::harness::{FakeProcess, StepReport, Venv};
use crate::util::{KillOnDrop, run_logged, tail};

/// The real Keystone's admin password.
pub(crate) const ADMIN_PASSWORD: &str = "adminpw";

/// A running real Keystone; stopped when dropped.
pub(crate) struct RealKeystone {
    _server: KillOnDrop,
    /// Such as `http://127.0.0.1:41234`.
    pub(crate) url: String,
    /// Where its server's output goes (tracebacks of its 500s included).
    pub(crate) log: PathBuf,
}

fn current(flag: &str) -> String {
    Command::new("id")
        .arg(flag)
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "root".into())
}

impl RealKeystone {
    /// Configures, bootstraps and starts Keystone; waits until it answers.
    pub(crate) fn start(venv: &Venv) -> anyhow::Result<Self> {
        let dir = std::env::current_dir()?.join("target/conformance/keystone");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        let port = free_port()?;
        let url = format!("http://127.0.0.1:{port}");
        let conf = dir.join("keystone.conf");
        std::fs::write(
            &conf,
            format!(
                "[DEFAULT]\nlog_file = {log}\n[database]\nconnection = sqlite:///{db}\n[token]\nprovider = fernet\n\
                 [fernet_tokens]\nkey_repository = {fernet}\n[credential]\nkey_repository = {cred}\n",
                log = dir.join("keystone.log").display(),
                db = dir.join("keystone.db").display(),
                fernet = dir.join("fernet").display(),
                cred = dir.join("cred").display(),
            ),
        )?;
        // keystone-manage and the server print deprecation banners and, for the one 500 the
        // parity step expects, a long traceback: their output goes to logs, shown on failure
        let manage_log = dir.join("keystone-manage.log");
        let server_log = dir.join("server.log");
        let manage = || venv.command("keystone-manage");
        let (user, group) = (current("-un"), current("-gn"));
        let conf_arg = format!("--config-file={}", conf.display());
        run_logged(manage().arg(&conf_arg).arg("db_sync"), &manage_log)?;
        for setup in ["fernet_setup", "credential_setup"] {
            run_logged(
                manage().arg(&conf_arg).args([
                    setup,
                    "--keystone-user",
                    &user,
                    "--keystone-group",
                    &group,
                ]),
                &manage_log,
            )?;
        }
        let v3 = format!("{url}/v3/");
        run_logged(
            manage().arg(&conf_arg).args([
                "bootstrap",
                "--bootstrap-password",
                ADMIN_PASSWORD,
                "--bootstrap-public-url",
                &v3,
                "--bootstrap-internal-url",
                &v3,
                "--bootstrap-admin-url",
                &v3,
                "--bootstrap-region-id",
                "RegionOne",
            ]),
            &manage_log,
        )?;
        // keystone's WSGI module parses sys.argv with oslo.config: hide gunicorn's arguments
        std::fs::write(
            dir.join("keystone_wsgi.py"),
            "import sys\nsys.argv = sys.argv[:1]\nfrom keystone.wsgi.api import application  # noqa: E402,F401\n",
        )?;
        let server_output = std::fs::File::create(&server_log)?;
        let server = venv
            .command("gunicorn")
            .args([
                "--bind",
                &format!("127.0.0.1:{port}"),
                "--workers",
                "1",
                "--log-level",
                "warning",
            ])
            .arg("--chdir")
            .arg(&dir)
            .arg("keystone_wsgi:application")
            .env("OS_KEYSTONE_CONFIG_FILES", &conf)
            .stdout(server_output.try_clone()?)
            .stderr(server_output)
            .spawn()
            .context("cannot start gunicorn")?;
        let server = KillOnDrop(server);
        let started = Instant::now();
        let probe = format!(
            "import urllib.request,sys\ntry:\n urllib.request.urlopen('{url}/v3', timeout=5)\nexcept Exception as e:\n sys.exit(1)\n"
        );
        loop {
            let ok = venv
                .command("python")
                .arg("-c")
                .arg(&probe)
                .status()
                .is_ok_and(|s| s.success());
            if ok {
                break;
            }
            if started.elapsed() > Duration::from_secs(90) {
                bail!(
                    "Keystone did not answer on {url} within 90 s (see {}); the end of {}:\n{}",
                    dir.join("keystone.log").display(),
                    server_log.display(),
                    tail(&server_log, 30)
                );
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        Ok(RealKeystone {
            _server: server,
            url,
            log: server_log,
        })
    }
}

/// Runs a cargo test target with the real Keystone in the environment; every test is a case.
fn cargo_tests(
    step: &'static str,
    keystone: &RealKeystone,
    args: &[&str],
) -> anyhow::Result<StepReport> {
    let started = Instant::now();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .arg("test")
        .args(args)
        .env("KEYSTONE_TEST_AUTH_URL", format!("{}/v3", keystone.url))
        .env("KEYSTONE_TEST_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("RUST_BACKTRACE", "0")
        .output()
        .context("cannot run cargo test")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    // figures a test reports (with --nocapture)
    for line in String::from_utf8_lossy(&out.stderr).lines() {
        if let Some(figure) = line.strip_prefix("measured: ") {
            println!("{step}: {figure}");
        }
    }
    let mut cases = 0;
    let mut failures = Vec::new();
    for line in stdout.lines() {
        // "test NAME ... ok" or "test NAME ... FAILED"; sqlite makes Keystone serial anyway
        if let Some((name, result)) = line
            .strip_prefix("test ")
            .and_then(|l| l.split_once(" ... "))
        {
            cases += 1;
            if result == "FAILED" {
                failures.push(name.to_owned());
            }
        }
    }
    if !out.status.success() && failures.is_empty() {
        failures.push(format!(
            "cargo test failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    } else if !failures.is_empty() {
        failures.push(format!("output:\n{stdout}"));
    }
    if cases == 0 && failures.is_empty() {
        failures.push("no test ran".into());
    }
    Ok(StepReport {
        step,
        cases,
        failures,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// keystone-client's integration tests against the real Keystone.
pub(crate) fn client_tests(keystone: &RealKeystone) -> anyhow::Result<StepReport> {
    cargo_tests(
        "client-real",
        keystone,
        &[
            "-p",
            "keystone-client",
            "--test",
            "integration",
            "--",
            "--test-threads=1",
        ],
    )
}

/// example-service's seed flow (401, 200 for a member, 403 for a member creating a proxy, 201
/// for an admin) against the real Keystone, with its service user registered through
/// keystone-client; and its revocation test (a revoked token, a disabled user's, one from
/// before a password change refused within a second or so of the change, another user's
/// still served from the cache).
pub(crate) fn service_flow(keystone: &RealKeystone) -> anyhow::Result<StepReport> {
    cargo_tests(
        "service-real",
        keystone,
        &[
            "-p",
            "example-service",
            "--test",
            "e2e",
            "--",
            "--exact",
            "the_seed_flow",
            "revocation_events",
            "--test-threads=1",
            "--nocapture",
        ],
    )
}

const KSM_CHECK: &str = include_str!("ksm_check.py");

/// keystonemiddleware's `auth_token` configured against the fake (seeded with the seed cloud).
pub(crate) fn keystonemiddleware(venv: &Venv) -> anyhow::Result<StepReport> {
    let started = Instant::now();
    let fake = FakeProcess::start_with("adminpw", &[Path::new("fixtures/seed-cloud.yaml")])?;
    let script = PathBuf::from("target/conformance/ksm_check.py");
    std::fs::write(&script, KSM_CHECK)?;
    let out = venv
        .command("python")
        .arg(&script)
        .arg(&fake.url)
        .output()?;
    if !out.status.success() {
        return Ok(StepReport {
            step: "keystonemiddleware",
            cases: 1,
            failures: vec![format!(
                "the check script failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            )],
            seconds: started.elapsed().as_secs_f64(),
        });
    }
    let results: Vec<Value> =
        serde_json::from_slice(&out.stdout).context("the check script printed no JSON")?;
    let failures = results
        .iter()
        .filter(|r| r["ok"] != Value::Bool(true))
        .map(|r| format!("{}: {}", r["case"].as_str().unwrap_or("?"), r["detail"]))
        .collect();
    Ok(StepReport {
        step: "keystonemiddleware",
        cases: results.len(),
        failures,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The same sequence of requests (the recorded exchanges and `fixtures/parity-extra.json`) sent
/// to the real Keystone and to the fake, answers compared step by step
/// (`crates/keystone-fake/tests/parity.rs` does the work; the table it prints is the report).
pub(crate) fn parity(keystone: &RealKeystone) -> anyhow::Result<StepReport> {
    let started = Instant::now();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "test",
            "-p",
            "keystone-fake",
            "--test",
            "parity",
            "the_fake_answers_like_a_live_keystone",
            "--",
            "--nocapture",
        ])
        .env("KEYSTONE_PARITY_REAL_URL", &keystone.url)
        .env("RUST_BACKTRACE", "0")
        .output()
        .context("cannot run the parity test")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let rows: Vec<&str> = stdout
        .lines()
        .filter(|l| {
            l.ends_with("same") || l.contains("known difference") || l.ends_with("DIFFERENT")
        })
        .collect();
    println!("parity, real Keystone against the fake:");
    for r in &rows {
        println!("  {r}");
    }
    let expected = rows
        .iter()
        .filter(|r| r.contains("known difference"))
        .count();
    println!(
        "  ({expected} known differences, each expected and explained in \
         fixtures/parity-known-differences.yaml; the real Keystone's output, the traceback of \
         its expected 500 included, is in {})",
        keystone.log.display()
    );
    let mut failures: Vec<String> = rows
        .iter()
        .filter(|r| r.ends_with("DIFFERENT"))
        .map(|r| r.to_string())
        .collect();
    if !out.status.success() {
        failures.push(format!("details:\n{stdout}\n{stderr}"));
    }
    Ok(StepReport {
        step: "parity",
        cases: rows.len(),
        failures,
        seconds: started.elapsed().as_secs_f64(),
    })
}
