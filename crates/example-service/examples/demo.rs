//! The main job, offline: the seed documents' flow from start to finish on an in-process fake
//! Keystone. The operator registers `myservice`, its endpoints and its service user through
//! keystone-client; example-service runs behind keystone-middleware; a client finds it in the
//! catalog and calls it without a token, as a member and as an admin.
//!
//! Run with: `cargo xtask demo` (or `cargo run -p example-service --example demo`).

#[path = "../tests/common/mod.rs"]
mod common;

use keystone_client::Session;
use reqwest::Method;

/// Calls `url` through a keystone-client session, with or without its token.
async fn call(
    session: &Session,
    method: Method,
    url: &str,
    body: Option<serde_json::Value>,
    authenticated: bool,
) -> anyhow::Result<(u16, String)> {
    let mut request = session.request(method, url);
    if let Some(b) = &body {
        request = request.json(b);
    }
    if !authenticated {
        request = request.unauthenticated();
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    Ok((status, response.text().await?))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cloud = common::Cloud::start(&|line| println!("{line}")).await?;
    let alice = cloud.user("alice");
    let bob = cloud.user("bob");
    let url = cloud.find_service(&alice).await?;
    println!("alice found myservice in the catalog at {url}\n");

    let proxy =
        serde_json::json!({"domain": "demo.example.org", "backends": ["http://10.0.0.5:8080"]});
    type Step<'a> = (
        &'a str,
        &'a Session,
        Method,
        String,
        Option<serde_json::Value>,
        bool,
        u16,
    );
    let steps: Vec<Step> = vec![
        (
            "anyone",
            &alice,
            Method::GET,
            format!("{url}/"),
            None,
            false,
            200,
        ),
        (
            "no token",
            &alice,
            Method::GET,
            format!("{url}/v1/thing/list"),
            None,
            false,
            401,
        ),
        (
            "alice (member)",
            &alice,
            Method::GET,
            format!("{url}/v1/thing/list"),
            None,
            true,
            200,
        ),
        (
            "alice (member)",
            &alice,
            Method::POST,
            format!("{url}/v1/proxy"),
            Some(proxy.clone()),
            true,
            403,
        ),
        (
            "bob (admin)",
            &bob,
            Method::POST,
            format!("{url}/v1/proxy"),
            Some(proxy),
            true,
            201,
        ),
        (
            "alice (member)",
            &alice,
            Method::GET,
            format!("{url}/v1/proxy"),
            None,
            true,
            200,
        ),
    ];
    for (who, session, method, target, body, authenticated, expected) in steps {
        let (status, text) = call(session, method.clone(), &target, body, authenticated).await?;
        let path = target.strip_prefix(&url).unwrap_or(&target);
        println!(
            "{who:<16} {:<6} {path:<16} -> {status} {text}",
            method.as_str()
        );
        anyhow::ensure!(
            status == expected,
            "{who} {method} {path}: expected {expected}, got {status}"
        );
    }
    let c = cloud.layer.counters();
    println!(
        "\ntoken cache: {} hits, {} misses, {} validations sent to Keystone",
        c.hits, c.misses, c.validations
    );
    Ok(())
}
