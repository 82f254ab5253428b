//! Memory per cached token, without catalog (target: at most 1 KiB), measured with dhat's
//! heap statistics over 2,000 cached member tokens.
//!
//! Run with `cargo xtask bench` (or `cargo bench -p keystone-middleware --bench cache_memory`).
//! The figure is also written to `target/bench-results/cache_memory.json`.

use std::time::Duration;

use keystone_client::AccessInfo;
use keystone_middleware::__TokenCacheForBenches as TokenCache;
use keystone_types::Secret;
use keystone_types::token::TokenResponse;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

const TOKENS: usize = 2000;

fn main() {
    let text = include_str!("../../../fixtures/exchanges/037_validate_nocatalog.json");
    let exchange: serde_json::Value = serde_json::from_str(text).expect("fixture");
    let body: TokenResponse =
        serde_json::from_value(exchange["response"]["body"].clone()).expect("token body");
    let mut token = body.token;
    token.expires_at = keystone_types::Timestamp(chrono::Utc::now() + chrono::Duration::hours(1));

    let _profiler = dhat::Profiler::builder().testing().build();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let cache = TokenCache::new(100_000, Some(Duration::from_secs(300)), None);
        // one entry first, so that the cache's own fixed structures are not counted per token
        let warm = token.clone();
        let _ = cache
            .get_or_validate("warm-up", false, || async {
                Ok(AccessInfo::new(Secret::new("x"), warm))
            })
            .await;
        cache.len().await;
        let before = dhat::HeapStats::get().curr_bytes;
        for i in 0..TOKENS {
            let mut t = token.clone();
            t.user.id = format!("{:032x}", i);
            t.audit_ids = vec![format!("audit{i:017}")];
            let name = format!("gAAAAAB{i:0>176}");
            let secret = Secret::new(name.clone());
            let _ = cache
                .get_or_validate(
                    &name,
                    false,
                    || async move { Ok(AccessInfo::new(secret, t)) },
                )
                .await;
        }
        assert_eq!(cache.len().await, TOKENS as u64 + 1);
        let after = dhat::HeapStats::get().curr_bytes;
        let per_token = (after.saturating_sub(before)) as f64 / TOKENS as f64;
        println!(
            "cache memory per token without catalog (target <= 1024 bytes): {per_token:.0} bytes"
        );
        // the workspace's target directory (cargo runs benchmarks in their crate's)
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-results");
        let _ = std::fs::create_dir_all(&dir);
        let _ = std::fs::write(
            dir.join("cache_memory.json"),
            serde_json::json!({"bytes_per_token": per_token}).to_string(),
        );
    });
}
