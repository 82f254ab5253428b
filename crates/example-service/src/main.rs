//! `example-service`: the seeds' "myservice".
//!
//! Run with: `cargo run -p example-service -- serve --config myservice.conf --listen 127.0.0.1:1337`
//! (`--config` takes TOML, or a keystonemiddleware-style INI file; `--log-format json` for
//! one JSON object per log line), or
//! `cargo run -p example-service -- sample-policy` for the documented policy defaults.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use example_service::{AppState, app_with_limits, policy_defaults};
use keystone_middleware::config::Config;
use keystone_middleware::{AuthTokenLayer, Policy};
use keystone_policy::Enforcer;

/// mimalloc: the middleware allocates a little per request on every worker thread, and glibc's
/// allocator makes those threads wait on each other (see docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(version, about = "The seed documents' custom OpenStack API")]
struct Cli {
    /// Log lines as text (colored on a terminal) or as one JSON object per line (for
    /// journald, Loki, Elasticsearch). The level comes from `RUST_LOG` (`info` by default).
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
    /// Serve the API.
    Serve {
        /// The configuration: TOML, or a keystonemiddleware-style INI file.
        #[arg(long)]
        config: PathBuf,
        /// Where to listen.
        #[arg(long, default_value = "127.0.0.1:1337")]
        listen: SocketAddr,
    },
    /// Print the registered policy defaults as a documented sample policy file.
    SamplePolicy,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let logs = tracing_subscriber::fmt().with_env_filter(
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
    );
    match cli.log_format {
        // colors only for a person at a terminal, not in a file or a journal
        LogFormat::Text => logs
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
            .init(),
        LogFormat::Json => logs.json().with_current_span(true).init(),
    }
    match cli.command {
        Command::SamplePolicy => {
            print!("{}", keystone_policy::sample(&policy_defaults()));
            Ok(())
        }
        Command::Serve { config, listen } => {
            let cfg = Config::load(&config).with_context(|| format!("in {}", config.display()))?;
            let auth = AuthTokenLayer::from_config(&cfg.keystone_authtoken)?;
            // a configuration mistake is reported now, with its cause, not as 503s later
            auth.check()
                .await
                .with_context(|| format!("[keystone_authtoken] in {}", config.display()))?;
            let enforcer = Enforcer::new(cfg.oslo_policy.enforcer_config());
            enforcer.register_defaults(policy_defaults())?;
            enforcer.load_rules()?;
            for problem in enforcer.check_rules() {
                tracing::warn!(%problem, "policy problem");
            }
            let state = AppState::new(Policy::new(enforcer));
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .with_context(|| format!("cannot listen on {listen}"))?;
            tracing::info!(address = %listener.local_addr()?, "myservice listening");
            let app = app_with_limits(state, auth, &cfg.server);
            keystone_middleware::serve(
                listener,
                app,
                &cfg.server,
                keystone_middleware::shutdown_signal(),
            )
            .await?;
            Ok(())
        }
    }
}
