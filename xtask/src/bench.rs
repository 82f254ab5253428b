//! `cargo xtask bench`: the criterion benchmarks, the middleware's throughput with
//! keystonemiddleware 13.0.1 measured beside it, keystone-proxy's (over a direct upstream, and
//! in front of a WSGI app over keystonemiddleware in-process), then the same policy decisions timed with
//! oslo.policy 6.0.1 in the same run, and the ratios.

use std::path::Path;
use std::process::Command;

use anyhow::Context;
use serde_json::Value;

use crate::harness::Venv;

/// The oslo.policy side: `Enforcer.enforce` on Keystone's `identity:create_grant` with the
/// inputs of `crates/keystone-policy/benches/enforce.rs`; prints microseconds per call.
const PYTHON: &str = r#"
import json, logging, sys, timeit
logging.disable(logging.CRITICAL)
from oslo_config import cfg
from oslo_policy import policy
conf = cfg.ConfigOpts()
conf([])
enforcer = policy.Enforcer(conf, policy_file=sys.argv[1])
enforcer.load_rules()
target = {"target.user.domain_id": "d1", "target.project.domain_id": "d1", "target.role.domain_id": None, "target.role.name": "member"}
admin = {"user_id": "u1", "project_id": "p1", "domain_id": None, "system_scope": None, "roles": ["admin", "manager", "member", "reader"]}
manager = {"user_id": "u2", "project_id": None, "domain_id": "d1", "system_scope": None, "roles": ["manager", "member", "reader"]}
out = {}
for name, creds in [("create_grant_project_admin", admin), ("create_grant_domain_manager", manager)]:
    assert enforcer.enforce("identity:create_grant", target, dict(creds))
    n = 2000
    best = min(timeit.repeat(lambda: enforcer.enforce("identity:create_grant", target, dict(creds)), number=n, repeat=5))
    out[name] = best / n * 1e9
print(json.dumps(out))
"#;

fn criterion_mean_ns(group: &str, name: &str) -> anyhow::Result<f64> {
    let path = format!("target/criterion/{group}/{name}/new/estimates.json");
    let v: Value = serde_json::from_str(
        &std::fs::read_to_string(&path)
            .with_context(|| format!("no criterion result at {path}"))?,
    )?;
    v.pointer("/mean/point_estimate")
        .and_then(Value::as_f64)
        .with_context(|| format!("no mean in {path}"))
}

/// Runs everything and prints the ratios.
pub(crate) fn run() -> anyhow::Result<()> {
    let venv = Venv::ensure(crate::harness::PACKAGES)?;
    crate::util::cargo(&["bench", "-p", "keystone-policy", "--bench", "enforce"])?;
    crate::util::cargo(&["bench", "-p", "keystone-fake", "--bench", "validate"])?;
    // keystonemiddleware served beside ours, from the venv (the benchmark runs in its crate)
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    crate::util::run(
        Command::new(cargo)
            .args([
                "bench",
                "-p",
                "keystone-middleware",
                "--bench",
                "throughput",
            ])
            .env("KSM_BENCH_VENV", venv.dir().canonicalize()?),
    )?;
    crate::util::cargo(&[
        "bench",
        "-p",
        "keystone-middleware",
        "--bench",
        "cache_memory",
    ])?;
    crate::util::cargo(&[
        "bench",
        "-p",
        "keystone-middleware",
        "--bench",
        "shared_cache",
    ])?;
    // keystone-proxy against a Rust upstream reached directly, and in front of a WSGI app
    // against keystonemiddleware in-process
    crate::util::run(
        Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
            .args(["bench", "-p", "keystone-proxy", "--bench", "proxy"])
            .env("KSM_BENCH_VENV", venv.dir().canonicalize()?),
    )?;
    let policy =
        Path::new("crates/keystone-fake/policy/keystone-policy-effective.yaml").canonicalize()?;
    let out = Command::new(venv.bin("python"))
        .arg("-c")
        .arg(PYTHON)
        .arg(&policy)
        .output()?;
    if !out.status.success() {
        anyhow::bail!(
            "oslo.policy timing failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let python: Value = serde_json::from_slice(&out.stdout)?;
    println!();
    println!(
        "{:<32} {:>14} {:>14} {:>8}",
        "policy decision", "keystone-policy", "oslo.policy", "ratio"
    );
    for name in ["create_grant_project_admin", "create_grant_domain_manager"] {
        let ours = criterion_mean_ns("policy", name)?;
        let theirs = python
            .get(name)
            .and_then(Value::as_f64)
            .context("missing python figure")?;
        println!(
            "{name:<32} {:>12.0}ns {:>12.0}ns {:>7.0}x",
            ours,
            theirs,
            theirs / ours
        );
    }
    let seq = criterion_mean_ns("fake_keystone_validate", "sequential")?;
    let conc = criterion_mean_ns("fake_keystone_validate", "16_concurrent")?;
    println!();
    println!(
        "fake Keystone token validations: {:.0}/s one client, {:.0}/s with 16 concurrent",
        1e9 / seq,
        16.0 * 1e9 / conc
    );
    Ok(())
}
