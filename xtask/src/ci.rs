//! `cargo xtask ci`: everything CI checks, in the order that fails fastest.

use crate::util::cargo;

/// Runs fmt, clippy, the tests and the conformance steps.
pub(crate) fn ci() -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    cargo(&["fmt", "--all", "--", "--check"])?;
    cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ])?;
    cargo(&["test", "--workspace"])?;
    cargo(&[
        "run",
        "--quiet",
        "-p",
        "example-service",
        "--example",
        "demo",
    ])?;
    crate::conformance::run()?;
    eprintln!("ci passed in {:.0?}", started.elapsed());
    Ok(())
}
