//! The cases of oslo.policy 6.0.1's own `test_parser.py` and `test_checks.py` (their inputs and
//! expected results, around our own test code), plus the fail-closed rules.

use std::collections::HashMap;

use keystone_policy::{Check, CustomChecks, Env, Rule, parse, parse_list};
use serde_json::{Value, json};

/// Parses `rule` and checks Python's `str()` of the result.
fn check_parse(rule: &str, expected: &str) {
    assert_eq!(parse(rule).to_string(), expected, "{rule:?}");
}

#[test]
fn precedence_and_grouping() {
    let cases = [
        ("", "@"),
        ("@ or ! or @", "(@ or ! or @)"),
        ("@ or ! and @", "(@ or (! and @))"),
        ("@ and ! or @", "((@ and !) or @)"),
        ("@ and ! and @", "(@ and ! and @)"),
        ("@ or ! or @ or !", "(@ or ! or @ or !)"),
        ("@ or ! or @ and !", "(@ or ! or (@ and !))"),
        ("@ or ! and @ or !", "(@ or (! and @) or !)"),
        ("@ or ! and @ and !", "(@ or (! and @ and !))"),
        ("@ and ! or @ or !", "((@ and !) or @ or !)"),
        ("@ and ! or @ and !", "((@ and !) or (@ and !))"),
        ("@ and ! and @ or !", "((@ and ! and @) or !)"),
        ("@ and ! and @ and !", "(@ and ! and @ and !)"),
        ("not @ and ! or @", "((not @ and !) or @)"),
        ("@ and not ! or @", "((@ and not !) or @)"),
        ("@ and ! or not @", "((@ and !) or not @)"),
        ("@ and ( ! or @ )", "(@ and (! or @))"),
        ("not @ and ( ! or @ )", "(not @ and (! or @))"),
        ("not ( @ and ! or @ )", "not ((@ and !) or @)"),
        ("@ and ( not ! or @ )", "(@ and (not ! or @))"),
        ("@ and not ( ! or @ )", "(@ and not (! or @))"),
        ("@ and ( ! or not @ )", "(@ and (! or not @))"),
    ];
    for (rule, expected) in cases {
        check_parse(rule, expected);
    }
    let groups: &[(&[&str], &str)] = &[
        (
            &[
                "( @ ) and ! or @",
                "@ and ( ! ) or @",
                "@ and ! or ( @ )",
                "( @ ) and ! or ( @ )",
                "@ and ( ! ) or ( @ )",
                "( @ ) and ( ! ) or ( @ )",
                "( @ and ! ) or @",
                "( ( @ ) and ! ) or @",
                "( @ and ( ! ) ) or @",
                "( ( @ and ! ) ) or @",
                "( @ and ! or @ )",
            ],
            "((@ and !) or @)",
        ),
        (
            &[
                "not ( @ ) and ! or @",
                "not @ and ( ! ) or @",
                "not @ and ! or ( @ )",
                "( not @ ) and ! or @",
                "( not @ and ! ) or @",
                "( not @ and ! or @ )",
            ],
            "((not @ and !) or @)",
        ),
        (
            &[
                "( @ ) and not ! or @",
                "@ and ( not ! ) or @",
                "@ and not ( ! ) or @",
                "@ and not ! or ( @ )",
                "( @ and not ! ) or @",
                "( @ and not ! or @ )",
            ],
            "((@ and not !) or @)",
        ),
        (
            &[
                "( @ ) and ! or not @",
                "@ and ( ! ) or not @",
                "@ and ! or not ( @ )",
                "@ and ! or ( not @ )",
                "( @ and ! ) or not @",
                "( @ and ! or not @ )",
            ],
            "((@ and !) or not @)",
        ),
    ];
    for (rules, expected) in groups {
        for rule in *rules {
            check_parse(rule, expected);
        }
    }
}

#[test]
fn tokens_and_atoms() {
    let cases = [
        ("role:admin", "role:admin"),
        ("(role:admin)", "role:admin"),
        ("((role:admin))", "role:admin"),
        (
            "role:admin OR Role:x AnD rule:y",
            "(role:admin or (Role:x and rule:y))",
        ),
        ("NOT role:a", "not role:a"),
        ("not not role:a", "not not role:a"),
        ("a:b:c", "a:b:c"),
        ("'member':%(role.name)s", "'member':%(role.name)s"),
        ("(rule:a)and(rule:b)", "rule:a)and(rule:b"),
        ("role:a\tor\u{a0}role:b", "(role:a or role:b)"),
        ("noclon", "!"),
        ("!", "!"),
        ("@", "@"),
        ("role:admin or", "!"),
        ("or role:admin", "!"),
        ("(role:admin", "!"),
        ("role:admin)", "!"),
        ("'a-string' and role:x", "!"),
        ("   ", "!"),
        ("and", "!"),
        ("not", "!"),
        ("role:a role:b", "!"),
        (
            "(( ( ((() And)) or ) (rule:context_is_admin) not)) 'a-string' \"another-string\"",
            "!",
        ),
    ];
    for (rule, expected) in cases {
        check_parse(rule, expected);
    }
}

#[test]
fn list_of_lists() {
    let p = |v: Value| parse_list(v.as_array().unwrap()).rule.to_string();
    assert_eq!(p(json!([])), "@");
    assert_eq!(p(json!([[]])), "!");
    assert_eq!(
        p(json!([["rule"]])),
        "!",
        "a bare word without a colon denies"
    );
    assert_eq!(p(json!([["rule:a"]])), "rule:a");
    assert_eq!(p(json!(["rule:a"])), "rule:a");
    assert_eq!(p(json!([["rule:a", "rule:b"]])), "(rule:a and rule:b)");
    assert_eq!(p(json!([["rule:a"], ["rule:b"]])), "(rule:a or rule:b)");
    assert_eq!(
        p(json!([["rule:a", "rule:b"], ["rule:c"]])),
        "((rule:a and rule:b) or rule:c)"
    );
}

fn eval(rule: &Rule, target: Value, creds: Value) -> Result<bool, String> {
    let rules: HashMap<String, Rule> = [
        ("admin".to_owned(), parse("role:admin")),
        ("loop".to_owned(), parse("rule:loop")),
    ]
    .into();
    let custom = CustomChecks::new();
    let env = Env {
        rules: &rules,
        custom: &custom,
        target: target.as_object().unwrap(),
        creds: creds.as_object().unwrap(),
    };
    env.eval(rule).map_err(|e| e.0)
}

fn check(kind: &str, matched: &str, target: Value, creds: Value) -> Result<bool, String> {
    eval(&Rule::Check(Check::new(kind, matched)), target, creds)
}

#[test]
fn role_checks() {
    assert_eq!(
        check("role", "sPaM", json!({}), json!({"roles": ["SpAm"]})),
        Ok(true)
    );
    assert_eq!(
        check("role", "spam", json!({}), json!({"roles": []})),
        Ok(false)
    );
    let creds = json!({"user": "user", "roles": ["a", "b", "c"]});
    assert_eq!(
        check(
            "role",
            "%(target.role.name)s",
            json!({"target.role.name": "a"}),
            creds.clone()
        ),
        Ok(true)
    );
    assert_eq!(
        check(
            "role",
            "%(target.role.name)s",
            json!({"target.role.name": "d"}),
            creds.clone()
        ),
        Ok(false)
    );
    assert_eq!(
        check(
            "role",
            "%(target.role.name)s",
            json!({"target": {"role": {}}}),
            creds
        ),
        Ok(false)
    );
    assert_eq!(check("role", "spam", json!({}), json!({})), Ok(false));
    assert!(check("role", "spam", json!({}), json!({"roles": null})).is_err());
    assert!(check("role", "spam", json!({}), json!({"roles": [1]})).is_err());
    // whole strings lowered as Python's str.lower(): a final capital sigma becomes ς
    assert_eq!(
        check("role", "ας", json!({}), json!({"roles": ["ΑΣ"]})),
        Ok(true)
    );
    assert_eq!(
        check("role", "Straße", json!({}), json!({"roles": ["STRASSE"]})),
        Ok(false)
    );
}

#[test]
fn generic_checks() {
    assert_eq!(
        check("name", "%(name)s", json!({"name": "spam"}), json!({})),
        Ok(false)
    );
    assert_eq!(
        check(
            "name",
            "%(name)s",
            json!({"name": "spam"}),
            json!({"name": "ham"})
        ),
        Ok(false)
    );
    assert_eq!(
        check(
            "name",
            "%(name)s",
            json!({"name": "spam"}),
            json!({"name": "spam"})
        ),
        Ok(true)
    );
    assert_eq!(
        check(
            "name",
            "%(name)s",
            json!({"name1": "spam"}),
            json!({"name": "spam"})
        ),
        Ok(false)
    );
    assert_eq!(
        check("'spam'", "%(name)s", json!({"name": "ham"}), json!({})),
        Ok(false)
    );
    assert_eq!(
        check("'spam'", "%(name)s", json!({"name": "spam"}), json!({})),
        Ok(true)
    );
    assert_eq!(
        check("True", "%(enabled)s", json!({"enabled": false}), json!({})),
        Ok(false)
    );
    assert_eq!(
        check("True", "%(enabled)s", json!({"enabled": true}), json!({})),
        Ok(true)
    );
    assert_eq!(
        check("None", "%(x)s", json!({"x": null}), json!({})),
        Ok(true)
    );
    assert_eq!(check("1", "%(x)s", json!({"x": 1}), json!({})), Ok(true));
    assert_eq!(
        check("1", "%(x)s", json!({"x": 1.0}), json!({})),
        Ok(false),
        "str(1.0) is 1.0"
    );

    assert_eq!(
        check(
            "a.b.c.d",
            "APPLES",
            json!({}),
            json!({"a": {"b": {"c": {"d": "APPLES"}}}})
        ),
        Ok(true)
    );
    let creds = json!({"a": "APPLES", "o": {"t": "ORANGES"}});
    assert_eq!(check("o.t", "ORANGES", json!({}), creds.clone()), Ok(true));
    assert_eq!(check("o.v", "ORANGES", json!({}), creds.clone()), Ok(false));
    assert_eq!(check("q.v", "APPLES", json!({}), creds.clone()), Ok(false));
    assert!(
        check("a.x", "APPLES", json!({}), creds).is_err(),
        "indexing a string raises"
    );
    assert_eq!(
        check(
            "a.b.c.d",
            "APPLES",
            json!({}),
            json!({"a": {"b": {"c": {"d": ["APPLES"]}}}})
        ),
        Ok(true)
    );
    assert_eq!(
        check(
            "a.b.c.d",
            "APPLES",
            json!({}),
            json!({"a": {"b": {"c": {"d": ["Bananas", "APPLES", "Grapes"]}}}})
        ),
        Ok(true)
    );
    assert_eq!(
        check(
            "a.b.c.d",
            "APPLES",
            json!({}),
            json!({"a": {"b": [{"c": {"d": ["BANANAS", "APPLES", "GRAPES"]}}, {}]}})
        ),
        Ok(true)
    );
    assert_eq!(
        check(
            "a.b.c.d",
            "APPLES",
            json!({}),
            json!({"a": {"b": [{"a": ""}, {"c": {"d": ["BANANAS", "APPLES", "GRAPES"]}}, {}]}})
        ),
        Ok(true)
    );
    assert_eq!(
        check(
            "a.b.c.d",
            "APPLES",
            json!({}),
            json!({"a": {"b": {"c": {"d": ["PEACHES", "PEARS"]}}}})
        ),
        Ok(false)
    );
    let token = json!({"token": {"roles": [{"name": "role1"}, {"name": "role2"}], "catalog": [{"endpoints": [{"id": "e1"}, {"id": "e2"}]}]}});
    assert_eq!(
        check("token.roles.name", "role1", json!({}), token.clone()),
        Ok(true)
    );
    assert_eq!(
        check("token.roles.name", "missing", json!({}), token.clone()),
        Ok(false)
    );
    assert_eq!(
        check("token.catalog.endpoints.id", "e2", json!({}), token),
        Ok(true)
    );
}

#[test]
fn rule_checks_and_raising() {
    let creds = json!({"roles": ["admin"]});
    assert_eq!(
        eval(&parse("rule:admin"), json!({}), creds.clone()),
        Ok(true)
    );
    assert_eq!(
        eval(&parse("rule:nothing"), json!({}), creds.clone()),
        Ok(false)
    );
    assert!(
        eval(&parse("rule:loop"), json!({}), creds.clone()).is_err(),
        "a cycle raises"
    );
    // `or` stops at the first true check, so a later raising check is never reached...
    assert_eq!(
        eval(&parse("rule:admin or rule:loop"), json!({}), creds.clone()),
        Ok(true)
    );
    // ...but a raising check before it raises
    assert!(eval(&parse("rule:loop or rule:admin"), json!({}), creds.clone()).is_err());
    // `not` of a raise is a raise, not an allow
    assert!(eval(&parse("not a$b:x"), json!({}), creds.clone()).is_err());
    assert!(eval(&parse("role:%(x)d"), json!({"x": "text"}), creds.clone()).is_err());
    assert_eq!(
        eval(&parse("role:%(missing)s"), json!({}), creds),
        Ok(false),
        "a missing key is false"
    );
}
