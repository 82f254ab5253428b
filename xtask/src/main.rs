//! `cargo xtask <command>`: the project's only script runner.
//!
//! - `ci`: what CI runs: fmt, clippy, the tests, and the conformance steps.
//! - `demo`: the seed documents' flow, offline, on the fake Keystone.
//! - `e2e`: the same flow as assertions, with what production meets (also part of `ci`).
//! - `chaos`: example-service as a process under hostile load and Keystone faults (also part
//!   of `ci`).
//! - `conformance`: the real OpenStack tools (from PyPI, in a venv under `target/`) against our
//!   code.
//! - `bench`: the benchmarks.
//!
//! It always works from the workspace root, whatever the current directory.

mod bench;
mod chaos;
mod ci;
mod conformance;
mod harness;
mod memcache_interop;
mod openstack_cli;
mod policy_diff;
mod proxy_stack;
mod real_stack;
mod util;

use anyhow::bail;

const USAGE: &str = "usage: cargo xtask <ci|demo|e2e|chaos|conformance|bench>

  ci           cargo fmt --check, clippy -D warnings, cargo test, conformance
  demo         the seed flow on an in-process fake Keystone, offline
  e2e          the seed flow as assertions, plus service tokens, expiry, revocation, outages
  chaos        example-service as a process: slowloris, Keystone stopped, slow uploads,
               a rotated service password, SIGTERM mid-request
  conformance  the real openstack CLI (PyPI, venv under target/) against the fake;
               `conformance STEP...` runs only those steps (openstack-cli, oslo-policy,
               python-kinds, keystonemiddleware, keystone-proxy, memcached; and with a
               real Keystone started for them: client-real, service-real, parity)
  bench        criterion benchmarks, and the same policy checks timed with oslo.policy: ratios";

/// The demo: built first with cargo's progress shown (a fresh clone compiles for a minute or
/// two), then run quietly so that its transcript stands alone.
pub(crate) fn demo() -> anyhow::Result<()> {
    util::cargo(&["build", "-p", "example-service", "--example", "demo"])?;
    util::cargo(&[
        "run",
        "--quiet",
        "-p",
        "example-service",
        "--example",
        "demo",
    ])
}

fn main() -> anyhow::Result<()> {
    let root = util::project_root();
    std::env::set_current_dir(&root)?;
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("ci") => ci::ci(),
        Some("demo") => demo(),
        Some("e2e") => util::cargo(&["test", "-p", "example-service", "--test", "e2e"]),
        Some("chaos") => chaos::run(),
        Some("conformance") if args.len() > 1 => conformance::run_only(&args[1..]),
        Some("conformance") => conformance::run(),
        Some("bench") => bench::run(),
        Some("help" | "--help" | "-h") | None => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => bail!("unknown command {other:?}\n\n{USAGE}"),
    }
}
