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

/// Removes cargo's extracted copies of our crates from earlier `cargo package` runs. Cargo
/// unpacks the packaged crates under `$CARGO_HOME/registry/src/-<hash of the overlay's path>/`
/// and reuses that directory when it exists, so a second clone at the same path would verify
/// against the first clone's sources (a clean clone failed so, building an older
/// keystone-client).
fn forget_packaged_sources() {
    let home = std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".cargo")));
    let Some(src) = home.map(|h| h.join("registry/src")) else {
        return;
    };
    let Ok(dirs) = std::fs::read_dir(&src) else {
        return;
    };
    for dir in dirs.flatten() {
        // the overlay registries' directories are named `-<hash>` (crates.io's is not); only
        // those holding our crates
        let ours = std::fs::read_dir(dir.path())
            .into_iter()
            .flatten()
            .flatten()
            .any(|c| {
                let name = c.file_name().to_string_lossy().into_owned();
                LIBRARIES.iter().any(|l| name.starts_with(&format!("{l}-")))
            });
        if dir.file_name().to_string_lossy().starts_with('-') && ours {
            let _ = std::fs::remove_dir_all(dir.path());
        }
    }
}

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
    forget_packaged_sources();
    cargo(&package)?;
    crate::chaos::run()?;
    crate::conformance::run()?;
    eprintln!("ci passed in {:.0?}", started.elapsed());
    Ok(())
}
