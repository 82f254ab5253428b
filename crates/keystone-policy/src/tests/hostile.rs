//! Hostile or broken policy text, which a running service may reload at any time: deeply nested
//! rules and literals, huge `%` widths, very long rules and exponentially branching references
//! must deny (or decide as oslo.policy does) without exhausting the stack, memory or time.
//!
//! The deep inputs run on a thread with a 2 MiB stack, the size of a Rust or tokio worker
//! thread's, so that unbounded recursion shows up as a crash here.

use std::collections::HashMap;

use crate::check::{CustomChecks, Env, MAX_RULE_EXPANSIONS};
use crate::literal::{KindMeaning, MAX_BRACKETS, classify};
use crate::parser::{MAX_NESTING, Rule, parse, parse_text};
use crate::pyfmt::MAX_FORMAT_WIDTH;
use crate::{Enforcer, EnforcerConfig, Raised, RuleProblem};
use serde_json::{Map, Value, json};

/// Runs `f` on a thread with a 2 MiB stack.
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap()
}

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

/// An enforcer holding `rules` (name → rule text).
fn enforcer(rules: &[(&str, &str)]) -> Enforcer {
    let e = Enforcer::new(EnforcerConfig::default());
    let map = rules
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Value::String((*v).to_owned())))
        .collect();
    e.set_inline_rules(map).unwrap();
    e
}

fn creds_with_role(role: &str) -> Map<String, Value> {
    obj(json!({"roles": [role], "project_id": "p", "user_id": "u"}))
}

/// `not` written `n` times before `rest`.
fn nots(n: usize, rest: &str) -> String {
    format!("{}{rest}", "not ".repeat(n))
}

/// Parses `text` and says whether it failed for being nested too deeply.
fn too_deep(text: &str) -> bool {
    let parsed = parse_text(text);
    let deep = parsed
        .error
        .as_deref()
        .is_some_and(|e| e.contains("deeper"));
    assert_eq!(deep, parsed.rule == Rule::False, "{text:.80}");
    deep
}

#[test]
fn deep_not_chains_do_not_parse_and_deny() {
    on_small_stack(|| {
        let hostile = nots(100_000, "role:x");
        assert!(too_deep(&hostile));
        let e = enforcer(&[("r", &hostile), ("n", "not rule:r")]);
        let creds = creds_with_role("x");
        assert!(!e.enforce("r", &Map::new(), &creds));
        // as a rule that does not parse: `!`, so `not rule:r` allows, as in oslo.policy
        assert!(e.enforce("n", &Map::new(), &creds));
        assert!(e.check_rules().iter().any(
            |p| matches!(p, RuleProblem::Unparsable { name, error } if name == "r" && error.contains("deeper"))
        ));
        assert!(
            e.rules()
                .iter()
                .any(|(name, text)| name == "r" && text == "!")
        );
    });
}

#[test]
fn rules_up_to_the_nesting_bound_parse_and_decide() {
    on_small_stack(|| {
        // an even number of `not`s is the check itself
        let deepest = nots(MAX_NESTING, "role:x");
        let rule = parse(&deepest);
        assert_eq!(rule.to_string(), deepest);
        let e = enforcer(&[("r", &deepest)]);
        assert!(e.enforce("r", &Map::new(), &creds_with_role("x")));
        assert!(!e.enforce("r", &Map::new(), &creds_with_role("y")));
        assert!(too_deep(&nots(MAX_NESTING + 1, "role:x")));

        // `and` and `or` count one level each, however they are reduced
        let at = |n: usize| nots(n, "b:1");
        for (text, deep) in [
            (format!("a:1 and {}", at(MAX_NESTING - 1)), false),
            (format!("a:1 and {}", at(MAX_NESTING)), true),
            (format!("{} or a:1", at(MAX_NESTING - 1)), false),
            (format!("{} or a:1", at(MAX_NESTING)), true),
            (format!("a:1 or {}", at(MAX_NESTING)), true),
            // the last operand of an "or" becomes an "and" one level deeper
            (format!("a:1 or c:1 and {}", at(MAX_NESTING - 2)), false),
            (format!("a:1 or c:1 and {}", at(MAX_NESTING - 1)), true),
            (format!("a:1 or {} and c:1", at(MAX_NESTING - 1)), true),
            (
                format!("{} or a:1 or c:1 and d:1", at(MAX_NESTING - 1)),
                false,
            ),
            (format!("({}) or a:1", at(MAX_NESTING - 1)), false),
            (format!("({} and a:1) or c:1", at(MAX_NESTING - 2)), false),
            (format!("({} and a:1) or c:1", at(MAX_NESTING - 1)), true),
        ] {
            assert_eq!(too_deep(&text), deep, "{text:.120}");
        }
    });
}

#[test]
fn deeply_nested_groups_do_not_parse_and_deny() {
    on_small_stack(|| {
        let n = 100_000;
        let nested = format!("{}a:1{}", "(a:1 and ".repeat(n), ")".repeat(n));
        assert!(too_deep(&nested));
        let nested_or = format!("{}a:1{}", "(a:1 or ".repeat(n), ")".repeat(n));
        assert!(too_deep(&nested_or));
        let e = enforcer(&[("r", &nested)]);
        assert!(!e.enforce("r", &Map::new(), &obj(json!({"a": "1"}))));

        // parentheses around a single check add no level, as in oslo.policy
        let grouped = format!("{}role:x{}", "(".repeat(n), ")".repeat(n));
        assert_eq!(parse(&grouped).to_string(), "role:x");
        let unbalanced = format!("{}role:x", "(".repeat(n));
        assert_eq!(parse(&unbalanced), Rule::False);
    });
}

#[test]
fn deeply_nested_literal_kinds_raise_or_read_as_paths() {
    on_small_stack(|| {
        let n = 50_000;
        let brackets = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        let raises = |kind: &str| matches!(classify(kind), KindMeaning::Raise(_));
        // Python's tokenizer refuses a 201st nested bracket ("too many nested parentheses")
        assert_eq!(MAX_BRACKETS, 200);
        assert!(raises(&brackets(n)));
        assert!(raises(&brackets(MAX_BRACKETS + 1)));
        assert_eq!(
            classify(&brackets(MAX_BRACKETS)),
            KindMeaning::Literal(brackets(MAX_BRACKETS))
        );
        let parens = format!("{}-1{}", "(".repeat(MAX_BRACKETS), ")".repeat(MAX_BRACKETS));
        assert_eq!(classify(&parens), KindMeaning::Literal("-1".into()));
        assert!(raises(&format!("{}{}", "f(".repeat(n), ")".repeat(n))));
        let calls = format!("{}{}", "f(".repeat(MAX_BRACKETS), ")".repeat(MAX_BRACKETS));
        assert!(matches!(classify(&calls), KindMeaning::Path(_)));
        // 200 nested lists whose items come second go past the parser's 6000 nested rule
        // calls: Python's MemoryError
        let second = format!(
            "{}1{}",
            "[1, ".repeat(MAX_BRACKETS),
            "]".repeat(MAX_BRACKETS)
        );
        assert!(raises(&second));
        let second = format!("{}1{}", "[1, ".repeat(190), "]".repeat(190));
        assert!(matches!(classify(&second), KindMeaning::Literal(_)));
        // chains Python parses without brackets: valid expressions but not literals, up to
        // the depth where building the AST raises RecursionError (or the parser MemoryError)
        let chains: [fn(usize) -> String; 8] = [
            |n| format!("{}1", "-".repeat(n)),
            |n| format!("{}1", "+-~".repeat(n / 3)),
            |n| format!("{}2", "2**".repeat(n)),
            |n| format!("{}1", "1+".repeat(n)),
            |n| format!("{}x", "not ".repeat(n)),
            |n| format!("a{}", ".b".repeat(n)),
            |n| format!("{}1", "x if y else ".repeat(n)),
            |n| format!("{}1", "lambda:".repeat(n)),
        ];
        for chain in chains {
            let kind = chain(2000);
            assert_eq!(
                classify(&kind),
                KindMeaning::Path(kind.split('.').map(str::to_owned).collect()),
                "{kind:.40}"
            );
            for n in [3000, n] {
                let kind = chain(n);
                assert!(raises(&kind), "{kind:.40}");
            }
        }
        // a kind that raises denies, under `not` too
        let e = enforcer(&[
            ("r", &format!("{}:x", brackets(n))),
            ("n", &format!("not {}:x", brackets(n))),
        ]);
        let creds = creds_with_role("x");
        assert!(!e.enforce("r", &Map::new(), &creds));
        assert!(!e.enforce("n", &Map::new(), &creds));
    });
}

#[test]
fn huge_format_widths_raise_instead_of_allocating() {
    let e = enforcer(&[]);
    let target = obj(json!({"p": "x", "n": 7}));
    let creds = obj(json!({
        "v": format!("{}x", " ".repeat(MAX_FORMAT_WIDTH - 1)),
        "w": "   x",
        "x": "x",
        "z": "007",
    }));
    let decide = |rule: &str| e.enforce_text(rule, &target, &creds);
    for rule in [
        "v:%(p)999999999999s",
        "not v:%(p)999999999999s",
        "v:%(p)-999999999999s",
        "v:%(n)0999999999999d",
        "v:%(n).999999999999d",
        "role:%(p)999999999999s",
        &format!("v:%(p){}s", MAX_FORMAT_WIDTH + 1),
        // beyond Python's Py_ssize_t: its own "width too big"
        "v:%(p)99999999999999999999999999s",
        "v:%(p).99999999999999999999999999s",
    ] {
        let outcome = decide(rule);
        assert!(
            matches!(&outcome, Err(Raised(e)) if e.contains("too big")),
            "{rule}: {outcome:?}"
        );
    }
    // a missing key is Python's KeyError, seen before the width: the check is false
    assert_eq!(decide("v:%(missing)999999999999s"), Ok(false));
    assert_eq!(decide("not v:%(missing)999999999999s"), Ok(true));
    // widths up to the bound format as Python does
    assert_eq!(decide("w:%(p)4s"), Ok(true));
    assert_eq!(decide("z:%(n).3d"), Ok(true));
    // a string's precision cuts it short, and needs no memory: any precision Python reads
    assert_eq!(decide("x:%(p).999999999999s"), Ok(true));
    assert_eq!(decide(&format!("v:%(p){MAX_FORMAT_WIDTH}s")), Ok(true));
}

#[test]
fn long_rules_parse_and_decide() {
    let n = 20_000;
    let and = vec!["a:1"; n].join(" and ");
    let Rule::And(terms) = parse(&and) else {
        panic!("not an and")
    };
    assert_eq!(terms.len(), n);
    let or = vec!["a:2"; n].join(" or ") + " or a:1";
    let Rule::Or(terms) = parse(&or) else {
        panic!("not an or")
    };
    assert_eq!(terms.len(), n + 1);
    // an "and" after an "or" keeps extending the or's last operand
    let mixed = format!("a:2 or {and}");
    let Rule::Or(terms) = parse(&mixed) else {
        panic!("not an or")
    };
    assert!(matches!(&terms[..], [Rule::Check(_), Rule::And(ands)] if ands.len() == n));
    let e = enforcer(&[("and", &and), ("or", &or), ("mixed", &mixed)]);
    let creds = obj(json!({"a": "1"}));
    for name in ["and", "or", "mixed"] {
        assert!(e.enforce(name, &Map::new(), &creds), "{name}");
    }
    assert!(!e.enforce("and", &Map::new(), &obj(json!({"a": "2"}))));
}

/// `r0: rule:r1 or rule:r1`, ..., down to `r{levels}: role:nobody`: 2^levels references.
fn doubling(levels: usize) -> Vec<(String, String)> {
    let mut rules: Vec<(String, String)> = (0..levels)
        .map(|i| (format!("r{i}"), format!("rule:r{0} or rule:r{0}", i + 1)))
        .collect();
    rules.push((format!("r{levels}"), "role:nobody".into()));
    rules
}

#[test]
fn exponentially_branching_references_deny_within_a_budget() {
    // 30 levels stay within MAX_RULE_DEPTH, so without a budget they would take 2^31 steps
    for levels in [14, 30] {
        let rules = doubling(levels);
        let rules: Vec<(&str, &str)> = rules
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let e = enforcer(&rules);
        let creds = creds_with_role("member");
        let outcome = e.enforce_text("rule:r0", &Map::new(), &creds);
        assert!(
            matches!(&outcome, Err(Raised(e)) if e.contains("rule references")),
            "{levels}: {outcome:?}"
        );
        assert!(!e.enforce("r0", &Map::new(), &creds));
        assert!(
            e.enforce_text("not rule:r0", &Map::new(), &creds).is_err(),
            "{levels}"
        );
    }
    // the budget is per decision: a policy that follows just under it decides as before,
    // every time (`rule:top` follows top, r0, 2 × r1, ..., 2^levels × r{levels}: 2^(levels+1))
    let levels = MAX_RULE_EXPANSIONS.ilog2() as usize - 1;
    let mut rules: HashMap<String, Rule> = doubling(levels)
        .into_iter()
        .map(|(k, v)| (k, parse(&v)))
        .collect();
    rules.insert("top".into(), parse("not rule:r0"));
    let custom = CustomChecks::new();
    let creds = creds_with_role("member");
    let env = Env {
        rules: &rules,
        custom: &custom,
        target: &Map::new(),
        creds: &creds,
    };
    for _ in 0..3 {
        assert_eq!(env.eval(&parse("rule:top")), Ok(true));
    }
}

#[test]
fn keystone_defaults_follow_few_references() {
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
    let people = [
        json!({"roles": ["admin"], "system_scope": "all", "user_id": "u"}),
        json!({"roles": ["reader"], "system_scope": "all", "user_id": "u"}),
        json!({"roles": ["manager", "member", "reader"], "domain_id": "d", "user_id": "u"}),
        json!({"roles": ["member", "reader"], "project_id": "p", "user_id": "u"}),
        json!({"roles": [], "user_id": "u"}),
    ];
    let target = obj(json!({"target.user.id": "u", "target.role.name": "x"}));
    let mut most = 0;
    for (name, _) in e.rules() {
        for creds in &people {
            let explanation = e.explain(&name, &target, &obj(creds.clone()));
            let followed = explanation
                .steps
                .iter()
                .filter(|s| s.what.starts_with("rule:"))
                .count();
            most = most.max(followed);
        }
    }
    assert!(most > 0);
    assert!(
        most * 100 < MAX_RULE_EXPANSIONS,
        "a Keystone default follows {most} references"
    );
}
