//! The enforcer: registered defaults and files, policy_dirs, the default rule, deprecated
//! rules and `enforce_new_defaults`, scope types, authorize's errors, reloading, rule
//! validation, custom checks and explanations.

use std::path::PathBuf;
use std::sync::Arc;

use keystone_policy::{
    CustomCheck, DeprecatedRule, Enforcer, EnforcerConfig, Outcome, PolicyContext, PolicyError,
    RuleDefault, RuleProblem,
};
use serde_json::{Map, Value, json};

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kp-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn member() -> Map<String, Value> {
    PolicyContext {
        user_id: Some("u1".into()),
        project_id: Some("p1".into()),
        roles: vec!["member".into()],
        ..Default::default()
    }
    .to_policy_values()
}

fn admin() -> Map<String, Value> {
    PolicyContext {
        user_id: Some("a".into()),
        project_id: Some("p1".into()),
        roles: vec!["admin".into()],
        ..Default::default()
    }
    .to_policy_values()
}

/// The seed document's policy: `admin` is `role:admin`, proxy index/view open, the rest admin.
fn seed_enforcer(config: EnforcerConfig) -> Enforcer {
    let e = Enforcer::new(config);
    e.register_defaults([
        RuleDefault::new("admin", "role:admin"),
        RuleDefault::new("proxy:index", "").scope_types(["project"]),
        RuleDefault::new("proxy:view", "").scope_types(["project"]),
        RuleDefault::new("proxy:create", "rule:admin")
            .operation("POST", "/v1/proxy")
            .scope_types(["project"]),
        RuleDefault::new("proxy:delete", "rule:admin").scope_types(["project"]),
    ])
    .unwrap();
    e
}

#[test]
fn registered_defaults_decide_and_files_override_them() {
    let dir = tempdir("override");
    let file = dir.join("policy.yaml");
    let e = seed_enforcer(EnforcerConfig {
        policy_file: Some(file.clone()),
        ..Default::default()
    });
    let t = obj(json!({"project_id": "p1"}));
    assert!(e.enforce("proxy:index", &t, &member()));
    assert!(!e.enforce("proxy:create", &t, &member()));
    assert!(e.enforce("proxy:create", &t, &admin()));

    std::fs::write(&file, "\"proxy:create\": \"role:member\"\n").unwrap();
    e.load_rules().unwrap();
    assert!(e.enforce("proxy:create", &t, &member()));

    // policy_dirs overlay the file, in name order
    let d = dir.join("policy.d");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("10-a.yaml"), "\"proxy:create\": \"role:nobody\"\n").unwrap();
    std::fs::write(d.join("20-b.json"), "{\"proxy:delete\": \"@\"}").unwrap();
    let e = seed_enforcer(EnforcerConfig {
        policy_file: Some(file),
        policy_dirs: vec![d],
        ..Default::default()
    });
    e.load_rules().unwrap();
    assert!(!e.enforce("proxy:create", &t, &member()));
    assert!(e.enforce("proxy:delete", &t, &member()));
}

#[test]
fn unknown_rules_use_the_default_rule() {
    let e = Enforcer::new(EnforcerConfig::default());
    e.register_default(RuleDefault::new("default", "role:member"))
        .unwrap();
    let t = Map::new();
    assert!(e.enforce("never:registered", &t, &member()));
    assert!(e.enforce_text("rule:also_unknown", &t, &member()).unwrap());
    let e = Enforcer::new(EnforcerConfig::default());
    e.register_default(RuleDefault::new("x", "@")).unwrap();
    assert!(
        !e.enforce("never:registered", &t, &member()),
        "no default rule: deny"
    );
}

#[test]
fn authorize_distinguishes_its_errors() {
    let e = seed_enforcer(EnforcerConfig::default());
    let t = obj(json!({}));
    assert_eq!(e.authorize("proxy:create", &t, &admin()), Ok(()));
    assert_eq!(
        e.authorize("proxy:create", &t, &member()),
        Err(PolicyError::NotAuthorized("proxy:create".into()))
    );
    assert_eq!(
        e.authorize("proxy:nope", &t, &admin()),
        Err(PolicyError::NotRegistered("proxy:nope".into()))
    );
    let system_admin = PolicyContext {
        system_scope: Some("all".into()),
        roles: vec!["admin".into()],
        ..Default::default()
    };
    match e.authorize("proxy:create", &t, &system_admin.to_policy_values()) {
        Err(PolicyError::InvalidScope { token_scope, .. }) => assert_eq!(token_scope, "system"),
        other => panic!("{other:?}"),
    }
    assert!(!e.enforce("proxy:create", &t, &system_admin.to_policy_values()));
}

#[test]
fn deprecated_rules_follow_enforce_new_defaults() {
    let make = |new_defaults: bool, file: Option<PathBuf>| {
        let e = Enforcer::new(EnforcerConfig {
            enforce_new_defaults: new_defaults,
            policy_file: file,
            ..Default::default()
        });
        e.register_default(RuleDefault::new("thing:get", "role:reader").deprecated(
            DeprecatedRule {
                name: "thing:get".into(),
                check_str: "role:member".into(),
                deprecated_reason: Some("readers".into()),
                deprecated_since: Some("X".into()),
            },
        ))
        .unwrap();
        e
    };
    let t = Map::new();
    assert!(
        !make(true, None).enforce("thing:get", &t, &member()),
        "new defaults only"
    );
    assert!(
        make(false, None).enforce("thing:get", &t, &member()),
        "old or new"
    );

    // an operator's override of a renamed rule's old name keeps applying
    let dir = tempdir("deprecated");
    let file = dir.join("policy.yaml");
    std::fs::write(&file, "\"old:get\": \"role:special\"\n").unwrap();
    let e = Enforcer::new(EnforcerConfig {
        policy_file: Some(file),
        ..Default::default()
    });
    e.register_default(
        RuleDefault::new("thing:get", "role:reader").deprecated(DeprecatedRule {
            name: "old:get".into(),
            check_str: "role:member".into(),
            deprecated_reason: None,
            deprecated_since: None,
        }),
    )
    .unwrap();
    e.load_rules().unwrap();
    let special = PolicyContext {
        roles: vec!["special".into()],
        ..Default::default()
    }
    .to_policy_values();
    assert!(e.enforce("thing:get", &t, &special));
}

#[test]
fn a_deprecated_name_that_is_also_a_registered_default_is_not_an_override() {
    // oslo.policy looks for an override of the old name among the files' rules only
    for new_defaults in [true, false] {
        let e = Enforcer::new(EnforcerConfig {
            enforce_new_defaults: new_defaults,
            ..Default::default()
        });
        e.register_default(RuleDefault::new("foo:old", "role:old"))
            .unwrap();
        e.register_default(
            RuleDefault::new("foo:new", "role:new").deprecated(DeprecatedRule {
                name: "foo:old".into(),
                check_str: "role:olddep".into(),
                deprecated_reason: None,
                deprecated_since: None,
            }),
        )
        .unwrap();
        let with = |role: &str| {
            PolicyContext {
                roles: vec![role.into()],
                ..Default::default()
            }
            .to_policy_values()
        };
        let t = Map::new();
        assert!(!e.enforce("foo:new", &t, &with("old")), "{new_defaults}");
        assert!(e.enforce("foo:new", &t, &with("new")), "{new_defaults}");
        assert_eq!(
            e.enforce("foo:new", &t, &with("olddep")),
            !new_defaults,
            "the deprecated check string joins only without enforce_new_defaults"
        );
    }
}

#[test]
fn empty_values_in_a_policy_file_allow() {
    // `"a:b":` with nothing after it is null in YAML; oslo.policy reads it, false, 0 and {} as "@"
    let dir = tempdir("empty-values");
    let file = dir.join("policy.yaml");
    std::fs::write(
        &file,
        "\"proxy:create\":\n\"proxy:delete\": false\n\"proxy:view\": {}\n\"proxy:index\": {\"role:admin\": 1}\n",
    )
    .unwrap();
    let e = seed_enforcer(EnforcerConfig {
        policy_file: Some(file),
        ..Default::default()
    });
    e.load_rules().unwrap();
    let t = obj(json!({}));
    assert!(e.enforce("proxy:create", &t, &member()));
    assert!(e.enforce("proxy:delete", &t, &member()));
    assert!(e.enforce("proxy:view", &t, &member()));
    // a mapping stands for its keys
    assert!(!e.enforce("proxy:index", &t, &member()));
    assert!(e.enforce("proxy:index", &t, &admin()));
    assert!(e.check_rules().is_empty(), "{:?}", e.check_rules());
}

#[test]
fn hidden_files_in_policy_dirs_are_skipped() {
    let dir = tempdir("hidden");
    let d = dir.join("policy.d");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("10-a.yaml"), "\"proxy:delete\": \"role:member\"\n").unwrap();
    // an editor's swap file: not YAML, and a rule that must not apply
    std::fs::write(
        d.join(".10-a.yaml.swp"),
        "\"proxy:create\": \"@\"\n\u{0}\u{1}",
    )
    .unwrap();
    std::fs::write(d.join(".hidden.yaml"), "\"proxy:create\": \"@\"\n").unwrap();
    let e = seed_enforcer(EnforcerConfig {
        policy_dirs: vec![d],
        ..Default::default()
    });
    e.load_rules().unwrap();
    let t = obj(json!({}));
    assert!(e.enforce("proxy:delete", &t, &member()));
    assert!(!e.enforce("proxy:create", &t, &member()));
}

#[test]
fn reloads_when_the_file_changes() {
    let dir = tempdir("reload");
    let file = dir.join("policy.json");
    std::fs::write(&file, "{\"a:b\": \"role:member\"}").unwrap();
    let e = Enforcer::new(EnforcerConfig {
        policy_file: Some(file.clone()),
        ..Default::default()
    });
    let t = Map::new();
    assert!(e.enforce("a:b", &t, &member()));
    assert!(!e.reload_if_changed().unwrap());
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(&file, "{\"a:b\": \"role:admin\"}").unwrap();
    let t2 = std::time::SystemTime::now() + std::time::Duration::from_secs(5);
    std::fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_modified(t2)
        .unwrap();
    assert!(e.reload_if_changed().unwrap());
    assert!(!e.enforce("a:b", &t, &member()));
    // a broken file keeps the rules that worked
    std::fs::write(&file, "{\"a:b\": ").unwrap();
    let t3 = t2 + std::time::Duration::from_secs(5);
    std::fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_modified(t3)
        .unwrap();
    assert!(e.reload_if_changed().is_err());
    assert!(e.enforce("a:b", &t, &admin()));
}

#[test]
fn check_rules_finds_undefined_references_cycles_and_garbage() {
    let dir = tempdir("check");
    let file = dir.join("policy.yaml");
    std::fs::write(&file, "\"a\": \"rule:b\"\n\"b\": \"rule:a\"\n\"c\": \"rule:nowhere\"\n\"d\": \"role:x or\"\n\"e\": \"role:y\"\n").unwrap();
    let e = Enforcer::new(EnforcerConfig {
        policy_file: Some(file),
        ..Default::default()
    });
    e.load_rules().unwrap();
    let problems = e.check_rules();
    assert!(
        problems.contains(&RuleProblem::Cycle { name: "a".into() }),
        "{problems:?}"
    );
    assert!(problems.contains(&RuleProblem::Cycle { name: "b".into() }));
    assert!(problems.contains(&RuleProblem::Undefined {
        name: "c".into(),
        missing: "nowhere".into()
    }));
    assert!(
        problems
            .iter()
            .any(|p| matches!(p, RuleProblem::Unparsable { name, .. } if name == "d"))
    );
    assert!(!problems.iter().any(|p| p.to_string().starts_with("e")));
    // cycles deny instead of looping
    assert!(!e.enforce("a", &Map::new(), &admin()));
}

struct Always(bool);

impl CustomCheck for Always {
    fn check(
        &self,
        matched: &str,
        _target: &Map<String, Value>,
        _creds: &Map<String, Value>,
    ) -> Outcome {
        Ok(self.0 && matched == "ok")
    }
}

#[test]
fn custom_check_kinds() {
    let e = Enforcer::new(EnforcerConfig::default());
    e.register_default(RuleDefault::new("remote:check", "http:ok"))
        .unwrap();
    let t = Map::new();
    assert!(
        !e.enforce("remote:check", &t, &member()),
        "unregistered kinds are generic checks"
    );
    e.register_check("http", Arc::new(Always(true)));
    assert!(e.enforce("remote:check", &t, &member()));
}

#[test]
fn explain_says_why() {
    let e = seed_enforcer(EnforcerConfig::default());
    let x = e.explain("proxy:create", &Map::new(), &member());
    assert!(!x.allowed);
    let text = x.to_string();
    assert!(text.contains("rule:admin -> failed"), "{text}");
    assert!(text.contains("role:admin -> failed"), "{text}");
    let x = e.explain("proxy:create", &Map::new(), &admin());
    assert!(x.allowed);
    assert!(x.to_string().contains("role:admin -> passed"));
}

#[test]
fn keystone_defaults_load_cleanly() {
    let e = Enforcer::new(EnforcerConfig {
        policy_file: Some(
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../keystone-fake/policy/keystone-policy-effective.yaml"
            )
            .into(),
        ),
        ..Default::default()
    });
    e.load_rules().unwrap();
    assert_eq!(e.rules().len(), 204);
    assert!(e.check_rules().is_empty(), "{:?}", e.check_rules());
}
