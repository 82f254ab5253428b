//! The fake Keystone as a program: `keystone-fake --listen 127.0.0.1:5000 --admin-password PW
//! [--seed FILE.yaml] [--token-ttl SECS] [--controls]`. It prints its URL and the admin's `OS_*` variables,
//! then serves until interrupted.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use keystone_fake::{FakeKeystone, Seed};

/// The longest token lifetime the binary accepts: ten years.
const MAX_TOKEN_TTL_SECS: u64 = 10 * 365 * 24 * 3600;

/// A fake OpenStack Keystone (Identity v3) for local development and tests.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:5000")]
    listen: SocketAddr,
    /// Password of the bootstrap `admin` user.
    #[arg(long, default_value = "adminpw")]
    admin_password: String,
    /// A YAML file describing users, projects, roles, grants, services and endpoints to load.
    #[arg(long)]
    seed: Option<PathBuf>,
    /// Token lifetime in seconds (at most ten years).
    #[arg(long, default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..=MAX_TOKEN_TTL_SECS))]
    token_ttl: u64,
    /// Serve the test controls over HTTP under `/_fake/` (request counts, faults, the clock),
    /// for tests driving the fake from another process; only with a loopback `--listen`.
    #[arg(long)]
    controls: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let mut builder = FakeKeystone::builder()
        .listen(args.listen)
        .admin_password(args.admin_password)
        .token_ttl(Duration::from_secs(args.token_ttl))
        .controls_api(args.controls);
    if let Some(path) = &args.seed {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read seed file {}", path.display()))?;
        let seed = Seed::from_yaml(&text).with_context(|| format!("in {}", path.display()))?;
        builder = builder.seed(seed);
    }
    let fake = builder
        .start()
        .await
        .with_context(|| format!("cannot start on {}", args.listen))?;
    // Whoever started us may stop reading stdout; that must not stop the server.
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "keystone-fake listening on {}", fake.url());
    let _ = write!(out, "{}", fake.admin_openrc());
    let _ = out.flush();
    drop(out);
    tokio::signal::ctrl_c().await?;
    drop(fake);
    Ok(())
}
