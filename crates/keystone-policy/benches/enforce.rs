//! How long one decision takes: Keystone's `identity:create_grant` (a long rule with `rule:`
//! references, `%(target.*)s` substitutions and literal checks) through `Enforcer::enforce`,
//! for a project admin (decided early) and a domain manager (most of the rule evaluated).
//! `cargo xtask bench` times the same decisions with oslo.policy and prints the ratio.

// criterion's macros generate undocumented public functions
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use keystone_policy::{Enforcer, EnforcerConfig};
use serde_json::{Map, Value, json};

/// The inputs shared with the oslo.policy side of `cargo xtask bench`.
pub fn inputs() -> (Map<String, Value>, Map<String, Value>, Map<String, Value>) {
    let target = json!({
        "target.user.domain_id": "d1",
        "target.project.domain_id": "d1",
        "target.role.domain_id": null,
        "target.role.name": "member",
    });
    let admin = json!({"user_id": "u1", "project_id": "p1", "domain_id": null, "system_scope": null,
        "roles": ["admin", "manager", "member", "reader"]});
    let manager = json!({"user_id": "u2", "project_id": null, "domain_id": "d1", "system_scope": null,
        "roles": ["manager", "member", "reader"]});
    let obj = |v: Value| v.as_object().cloned().unwrap_or_default();
    (obj(target), obj(admin), obj(manager))
}

fn bench(c: &mut Criterion) {
    let enforcer = Enforcer::new(EnforcerConfig {
        policy_file: Some(
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../keystone-fake/policy/keystone-policy-effective.yaml"
            )
            .into(),
        ),
        ..Default::default()
    });
    enforcer.load_rules().expect("keystone's policy loads");
    let (target, admin, manager) = inputs();
    assert!(enforcer.enforce("identity:create_grant", &target, &admin));
    assert!(enforcer.enforce("identity:create_grant", &target, &manager));
    let mut group = c.benchmark_group("policy");
    group.bench_function("create_grant_project_admin", |b| {
        b.iter(|| {
            enforcer.enforce(
                black_box("identity:create_grant"),
                black_box(&target),
                black_box(&admin),
            )
        })
    });
    group.bench_function("create_grant_domain_manager", |b| {
        b.iter(|| {
            enforcer.enforce(
                black_box("identity:create_grant"),
                black_box(&target),
                black_box(&manager),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
