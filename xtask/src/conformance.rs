//! `cargo xtask conformance`: the real OpenStack tools against our code, one step each:
//! `openstack-cli` (`openstack_cli.rs`), `oslo-policy` and `python-kinds` (here, with
//! `policy_diff.rs`),
//! `keystonemiddleware`, `client-real`, the service flow and parity against a real Keystone
//! (`real_stack.rs`). Their venv and processes are in `harness.rs`.

use std::path::Path;
use std::time::Instant;

use anyhow::bail;

use crate::harness::{PACKAGES, StepReport, Venv, first_failures};
use crate::openstack_cli::openstack_cli;

/// The venv, and the binaries the steps run.
fn prepare() -> anyhow::Result<Venv> {
    let venv = Venv::ensure(PACKAGES)?;
    crate::util::cargo(&[
        "build",
        "--quiet",
        "-p",
        "keystone-fake",
        "-p",
        "keystone-policy-cli",
    ])?;
    Ok(venv)
}

/// Runs every conformance step and prints the summary table; fails if any case failed.
pub(crate) fn run() -> anyhow::Result<()> {
    let venv = prepare()?;
    // the real Keystone's set-up (database, keys, bootstrap: a minute of Python) runs on the
    // second core while the steps that need no Keystone run on the first
    let (reports, keystone) = std::thread::scope(|s| {
        let keystone = s.spawn(|| crate::real_stack::RealKeystone::start(&venv));
        let reports = (|| {
            anyhow::Ok(vec![
                openstack_cli(&venv)?,
                oslo_policy(&venv)?,
                python_kinds(&venv)?,
                crate::real_stack::keystonemiddleware(&venv)?,
                crate::proxy_stack::keystone_proxy(&venv)?,
                crate::memcache_interop::run(&venv)?,
            ])
        })();
        let keystone = keystone
            .join()
            .map_err(|_| anyhow::anyhow!("starting the real Keystone panicked"));
        (reports, keystone)
    });
    let mut reports = reports?;
    let keystone = keystone??;
    reports.push(crate::real_stack::client_tests(&keystone)?);
    reports.push(crate::real_stack::service_flow(&keystone)?);
    reports.push(crate::real_stack::parity(&keystone)?);
    drop(keystone);
    finish(&reports)
}

/// Runs only the named steps (for a quick look while working on one); a real Keystone is
/// started for `client-real`, `service-real` and `parity` when one of them is named.
pub(crate) fn run_only(steps: &[String]) -> anyhow::Result<()> {
    let venv = prepare()?;
    let mut reports = Vec::new();
    let mut keystone = None;
    for step in steps {
        reports.push(match step.as_str() {
            "openstack-cli" => openstack_cli(&venv)?,
            "oslo-policy" => oslo_policy(&venv)?,
            "python-kinds" => python_kinds(&venv)?,
            "keystonemiddleware" => crate::real_stack::keystonemiddleware(&venv)?,
            "keystone-proxy" => crate::proxy_stack::keystone_proxy(&venv)?,
            "memcached" => crate::memcache_interop::run(&venv)?,
            "client-real" => crate::real_stack::client_tests(real_keystone(&mut keystone, &venv)?)?,
            "service-real" => {
                crate::real_stack::service_flow(real_keystone(&mut keystone, &venv)?)?
            }
            "parity" => crate::real_stack::parity(real_keystone(&mut keystone, &venv)?)?,
            other => bail!(
                "unknown step {other:?}: openstack-cli, oslo-policy, python-kinds, \
                 keystonemiddleware, keystone-proxy, memcached, client-real, service-real \
                 or parity"
            ),
        });
    }
    drop(keystone);
    finish(&reports)
}

/// The real Keystone in `slot`, started on first use.
fn real_keystone<'k>(
    slot: &'k mut Option<crate::real_stack::RealKeystone>,
    venv: &Venv,
) -> anyhow::Result<&'k crate::real_stack::RealKeystone> {
    if slot.is_none() {
        *slot = Some(crate::real_stack::RealKeystone::start(venv)?);
    }
    Ok(slot.as_ref().expect("started above"))
}

fn finish(reports: &[StepReport]) -> anyhow::Result<()> {
    print_summary(reports);
    let failed: Vec<String> = reports
        .iter()
        .flat_map(|r| r.failures.iter().map(move |f| format!("[{}] {f}", r.step)))
        .collect();
    if !failed.is_empty() {
        bail!("conformance failed:\n{}", failed.join("\n"));
    }
    Ok(())
}

fn print_summary(reports: &[StepReport]) {
    println!();
    println!(
        "{:<16} {:>6} {:>7} {:>7} {:>8}",
        "step", "cases", "passed", "failed", "seconds"
    );
    for r in reports {
        println!(
            "{:<20} {:>6} {:>7} {:>7} {:>8.1}",
            r.step,
            r.cases,
            r.cases.saturating_sub(r.failures.len()),
            r.failures.len(),
            r.seconds
        );
    }
    println!();
}

/// CPython's `ast.literal_eval` against `keystone_policy::classify_kind`, on generated kinds.
fn python_kinds(venv: &Venv) -> anyhow::Result<StepReport> {
    let started = Instant::now();
    // keystone-policy reads kinds with Python 3.11's grammar (f-strings changed in 3.12): with
    // another Python the verdicts would differ for reasons that are not ours, so say so
    let version = std::process::Command::new(venv.bin("python"))
        .args(["-c", "import sys; print('%d.%d' % sys.version_info[:2])"])
        .output()?;
    let version = String::from_utf8_lossy(&version.stdout).trim().to_owned();
    if version != "3.11" {
        println!(
            "python-kinds: failed: the venv's Python is {version}, and keystone-policy reads \
             kinds as Python 3.11 does (set PYTHON to a python3.11 and remove target/conformance)"
        );
        return Ok(StepReport {
            step: "python-kinds",
            cases: 0,
            failures: vec![format!("Python {version} instead of 3.11")],
            seconds: started.elapsed().as_secs_f64(),
        });
    }
    let report = crate::policy_diff::run_kinds(&venv.bin("python"), 4000)?;
    println!(
        "python-kinds: {} generated kinds classified, {} disagreements",
        report.lines,
        report.disagreements.len()
    );
    Ok(StepReport {
        step: "python-kinds",
        cases: report.lines,
        failures: first_failures(report.disagreements, 20),
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// oslo.policy 6.0.1 against `keystone-policy check`, line by line.
fn oslo_policy(venv: &Venv) -> anyhow::Result<StepReport> {
    let started = Instant::now();
    let report = crate::policy_diff::run(
        &venv.bin("python"),
        Path::new("target/debug/keystone-policy"),
    )?;
    println!(
        "oslo-policy: {} generated rules plus Keystone's defaults; {} decisions compared, {} disagreements",
        report.generated_rules,
        report.lines,
        report.disagreements.len()
    );
    std::fs::write(
        "target/conformance/policy/disagreements.txt",
        report.disagreements.join("\n"),
    )?;
    Ok(StepReport {
        step: "oslo-policy",
        cases: report.lines,
        failures: first_failures(report.disagreements, 50),
        seconds: started.elapsed().as_secs_f64(),
    })
}
