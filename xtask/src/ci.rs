//! `cargo xtask ci`: everything CI checks, in the order that fails fastest.

use std::process::Command;

use crate::util::{cargo, run};

/// The crates published to crates.io, in dependency order.
const LIBRARIES: &[&str] = &[
    "keystone-types",
    "keystone-client",
    "keystone-policy",
    "keystone-policy-cli",
    "keystone-middleware",
    "keystone-fake",
    "keystone-proxy",
];

/// Runs fmt, clippy, rustdoc, the tests, the demo, packaging, chaos and the conformance steps.
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
    // the API documentation builds without warnings (broken or private links among them)
    run(
        Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
            .args(["doc", "--workspace", "--no-deps"])
            .env("RUSTDOCFLAGS", "-D warnings"),
    )?;
    cargo(&["test", "--workspace"])?;
    crate::demo()?;
    // every library crate is ready for crates.io: its manifest, its files, and a build of the
    // packaged sources alone (a file included from outside the crate fails here)
    let mut package = vec!["package", "--allow-dirty"];
    for name in LIBRARIES {
        package.extend(["-p", name]);
    }
    cargo(&package)?;
    crate::chaos::run()?;
    crate::conformance::run()?;
    eprintln!("ci passed in {:.0?}", started.elapsed());
    Ok(())
}
