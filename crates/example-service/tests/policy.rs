//! The service's policy: the registered defaults of seed document 002, an operator's policy file
//! overriding them, and the sample policy file.

use example_service::policy_defaults;
use keystone_middleware::{Context, Policy};
use keystone_policy::{Enforcer, EnforcerConfig};
use keystone_types::token::Token;
use serde_json::json;

fn context(roles: &[&str]) -> Context {
    let token: Token = serde_json::from_value(json!({
        "audit_ids": ["a"],
        "expires_at": "2030-01-01T00:00:00.000000Z",
        "issued_at": "2029-12-31T23:00:00.000000Z",
        "methods": ["password"],
        "is_domain": false,
        "project": {"id": "p1", "name": "demo", "domain": {"id": "default", "name": "Default"}},
        "roles": roles.iter().enumerate().map(|(i, r)| json!({"id": format!("r{i}"), "name": r})).collect::<Vec<_>>(),
        "user": {"id": "u1", "name": "alice", "password_expires_at": null, "domain": {"id": "default", "name": "Default"}},
    }))
    .unwrap();
    Context::for_token("t", &token)
}

#[test]
fn the_seed_policy_and_an_operator_override() {
    let target = json!({"project_id": "p1"});
    let defaults = Policy::with_defaults(policy_defaults()).unwrap();
    for rule in ["proxy:index", "proxy:view"] {
        assert!(
            defaults
                .authorize(rule, &target, &context(&["member"]))
                .is_ok(),
            "{rule}"
        );
    }
    for rule in ["proxy:create", "proxy:update", "proxy:delete"] {
        assert!(
            defaults
                .authorize(rule, &target, &context(&["member"]))
                .is_err(),
            "{rule}"
        );
        assert!(
            defaults
                .authorize(rule, &target, &context(&["admin"]))
                .is_ok(),
            "{rule}"
        );
    }

    let dir = std::env::temp_dir().join(format!("es-policy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("policy.yaml");
    std::fs::write(
        &file,
        "\"proxy:create\": \"role:member\"\n\"proxy:index\": \"role:auditor\"\n",
    )
    .unwrap();
    let enforcer = Enforcer::new(EnforcerConfig {
        policy_file: Some(file),
        ..Default::default()
    });
    enforcer.register_defaults(policy_defaults()).unwrap();
    enforcer.load_rules().unwrap();
    let overridden = Policy::new(enforcer);
    assert!(
        overridden
            .authorize("proxy:create", &target, &context(&["member"]))
            .is_ok()
    );
    assert!(
        overridden
            .authorize("proxy:index", &target, &context(&["member"]))
            .is_err()
    );
    assert!(
        overridden
            .authorize("proxy:delete", &target, &context(&["member"]))
            .is_err(),
        "the rest keeps its default"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_sample_policy_documents_every_rule() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_example-service"))
        .arg("sample-policy")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for d in policy_defaults() {
        assert!(
            text.contains(&format!("#\"{}\": \"{}\"", d.name, d.check_str)),
            "{}: {text}",
            d.name
        );
    }
    assert!(
        text.contains("# POST  /v1/proxy\n# Intended scope(s): project\n"),
        "{text}"
    );
}
