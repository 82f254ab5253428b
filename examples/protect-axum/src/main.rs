//! Run with: `cargo run -p protect-axum-example -- /etc/myservice/myservice.conf` (the
//! keystonemiddleware INI file a Python service has, or TOML; docs/middleware.md lists the
//! options).

use keystone_middleware::config::Config;
use keystone_middleware::{AuthTokenLayer, Policy};
use keystone_policy::Enforcer;
use protect_axum_example::{app, policy_defaults};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "/etc/myservice/myservice.conf".into());
    let config = Config::load(path.as_ref())?;
    let auth = AuthTokenLayer::from_config(&config.keystone_authtoken)?;
    // logs in as the service user and validates its own token: wrong credentials, a missing
    // permission or an unreachable Keystone stop the service now, with the cause
    auth.check().await?;

    // the registered defaults, overridden by the operator's [oslo_policy] policy_file
    let enforcer = Enforcer::new(config.oslo_policy.enforcer_config());
    enforcer.register_defaults(policy_defaults())?;
    enforcer.load_rules()?;
    let policy = Policy::new(enforcer);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    keystone_middleware::serve(listener, app(auth, policy), &config.server, shutdown).await?;
    Ok(())
}
