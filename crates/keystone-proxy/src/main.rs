//! `keystone-proxy`: Keystone authentication and oslo.policy authorization in front of (or
//! beside) any HTTP service.
//!
//! Run with: `cargo run -p keystone-proxy -- serve --config proxy.conf` (TOML, or a
//! keystonemiddleware-style INI file with a `[proxy]` section); `--check-config` loads the
//! configuration, checks the service user's credentials and permission, and exits;
//! `sample-policy --config FILE` prints the rules' defaults as a documented policy file.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use keystone_proxy::{Proxy, ProxyConfig};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    version,
    about = "Keystone authentication and oslo.policy for any HTTP service"
)]
struct Cli {
    /// Log lines as text or as one JSON object per line. The level comes from `RUST_LOG`
    /// (`info` by default).
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve: the proxy (and its forward-auth endpoint), and the admin listener if configured.
    Serve {
        /// The configuration file: TOML, or a keystonemiddleware-style INI file.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// Load the configuration, check the service user against Keystone, and exit.
        #[arg(long)]
        check_config: bool,
    },
    /// Print the rules' defaults, with the routes that use them, as a sample policy file.
    SamplePolicy {
        /// The configuration file.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let logs = tracing_subscriber::fmt().with_env_filter(
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
    );
    match cli.log_format {
        LogFormat::Text => logs
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
            .init(),
        LogFormat::Json => logs.json().with_current_span(true).init(),
    }
    match cli.command {
        Command::SamplePolicy { config } => {
            let cfg = ProxyConfig::load(&config)?;
            print!(
                "{}",
                keystone_policy::sample(&keystone_proxy::rule_defaults(&cfg))
            );
            Ok(())
        }
        Command::Serve {
            config,
            check_config,
        } => {
            let cfg = ProxyConfig::load(&config)?;
            let proxy =
                Proxy::from_config(&cfg).with_context(|| format!("in {}", config.display()))?;
            proxy
                .check()
                .await
                .with_context(|| format!("[keystone_authtoken] in {}", config.display()))?;
            if check_config {
                println!(
                    "{}: the configuration loads and the service user may validate tokens",
                    config.display()
                );
                return Ok(());
            }
            let listener = tokio::net::TcpListener::bind(cfg.proxy.listen)
                .await
                .with_context(|| format!("cannot listen on {}", cfg.proxy.listen))?;
            tracing::info!(address = %listener.local_addr()?, "keystone-proxy listening");
            // the access log is inside the router, within its request id
            let app = proxy.router();
            let (stop, stopped) = tokio::sync::watch::channel(false);
            let admin = match cfg.proxy.admin_listen {
                Some(addr) => {
                    let admin_listener = tokio::net::TcpListener::bind(addr)
                        .await
                        .with_context(|| format!("cannot listen on {addr}"))?;
                    tracing::info!(address = %admin_listener.local_addr()?, "admin listening");
                    let (router, server) = (proxy.admin_router(), cfg.server.clone());
                    let mut stopped = stopped.clone();
                    Some(tokio::spawn(async move {
                        keystone_middleware::serve(admin_listener, router, &server, async move {
                            let _ = stopped.wait_for(|s| *s).await;
                        })
                        .await
                    }))
                }
                None => None,
            };
            keystone_middleware::serve(
                listener,
                app,
                &cfg.server,
                keystone_middleware::shutdown_signal(),
            )
            .await?;
            let _ = stop.send(true);
            if let Some(admin) = admin {
                admin.await??;
            }
            Ok(())
        }
    }
}
