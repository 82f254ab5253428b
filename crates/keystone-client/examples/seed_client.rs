//! The client side of seed document `002_7a88f3a166ac524e.txt`: authenticate with the `OS_*`
//! variables (or `OS_CLOUD`), find a service by type in the catalog, take its public endpoint
//! and call `GET {url}/test` with the session.
//!
//! Run with: `cargo run -p keystone-client --example seed_client -- [SERVICE_TYPE]`
//! (for instance against `cargo run -p keystone-fake -- --seed fixtures/seed-cloud.yaml` and
//! the variables it prints).

use keystone_client::{CloudConfig, EndpointFilter};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let service_type = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "myservice".to_owned());
    let config = CloudConfig::from_env()?;
    let session = config.session_builder().build()?;
    // on the interface OS_INTERFACE names (public by default)
    let url = session
        .endpoint(&EndpointFilter::new(&service_type))
        .await?;
    println!("{service_type} is at {url}");
    let response = session.get(format!("{url}/test")).send().await?;
    println!("GET {url}/test -> {}", response.status());
    println!("{}", response.text().await?);
    Ok(())
}
