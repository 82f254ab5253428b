//! Evaluating a rule against a target and credentials, as oslo.policy's checks do, including
//! what makes Python raise (which denies here).

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::literal::KindMeaning;
use crate::parser::{Check, Compiled, Rule};
use crate::pyfmt::{Formatted, py_str};

/// Evaluation failed the way Python raises: the decision is "deny".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Raised(pub String);

/// The result of evaluating a check.
pub type Outcome = Result<bool, Raised>;

/// A check kind provided from outside (oslo.policy's `http:` and `https:` checks are the
/// usual example; this crate does no network I/O, so those live with the caller).
pub trait CustomCheck: Send + Sync {
    /// Decides `kind:matched` for a target and credentials.
    fn check(
        &self,
        matched: &str,
        target: &Map<String, Value>,
        creds: &Map<String, Value>,
    ) -> Outcome;
}

/// Custom check kinds by name.
pub type CustomChecks = HashMap<String, Arc<dyn CustomCheck>>;

/// How deep `rule:` references may nest before evaluation gives up, as Python's recursion
/// limit would (a cycle always reaches it).
pub const MAX_RULE_DEPTH: usize = 64;

/// How many `rule:` references one decision may follow before it gives up (and denies, as
/// when Python raises). oslo.policy has no such bound, so rules that refer twice to rules that
/// refer twice to ... take time exponential in their depth there; Keystone's 204 default rules
/// follow a few dozen references at most.
pub const MAX_RULE_EXPANSIONS: usize = 10_000;

/// What a `rule:` check can see: the named rules and the default rule.
pub trait RuleLookup {
    /// The rule named `name`, or the default rule when `name` is unknown (and a default
    /// exists), or `None`.
    fn lookup(&self, name: &str) -> Option<&Rule>;
}

impl RuleLookup for HashMap<String, Rule> {
    fn lookup(&self, name: &str) -> Option<&Rule> {
        self.get(name)
    }
}

/// Everything evaluation needs besides the rule.
pub struct Env<'a> {
    /// Named rules for `rule:`.
    pub rules: &'a dyn RuleLookup,
    /// Custom check kinds.
    pub custom: &'a CustomChecks,
    /// The target (`%(key)s` substitutions).
    pub target: &'a Map<String, Value>,
    /// The credentials.
    pub creds: &'a Map<String, Value>,
}

/// One evaluated node, for `explain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Nesting depth in the explanation.
    pub depth: usize,
    /// The check or operator, as oslo.policy prints it.
    pub what: String,
    /// `Ok(true)` passed, `Ok(false)` failed, `Err` raised.
    pub outcome: Result<bool, String>,
}

impl Env<'_> {
    /// Evaluates `rule`.
    pub fn eval(&self, rule: &Rule) -> Outcome {
        self.eval_at(rule, 0, &mut Walk::new(None))
    }

    /// Evaluates `rule` and records every evaluated node.
    pub fn explain(&self, rule: &Rule) -> (Outcome, Vec<Step>) {
        let mut walk = Walk::new(Some(Vec::new()));
        let outcome = self.eval_at(rule, 0, &mut walk);
        (outcome, walk.trace.unwrap_or_default())
    }

    fn eval_at(&self, rule: &Rule, depth: usize, walk: &mut Walk) -> Outcome {
        let index = walk.trace.as_mut().map(|t| {
            t.push(Step {
                depth,
                what: match rule {
                    Rule::And(_) => "and".into(),
                    Rule::Or(_) => "or".into(),
                    Rule::Not(_) => "not".into(),
                    other => other.to_string(),
                },
                outcome: Ok(false),
            });
            t.len() - 1
        });
        let outcome = match rule {
            Rule::True => Ok(true),
            Rule::False => Ok(false),
            Rule::Not(inner) => self.eval_at(inner, depth + 1, walk).map(|b| !b),
            Rule::And(rules) => {
                let mut result = Ok(true);
                for r in rules {
                    match self.eval_at(r, depth + 1, walk) {
                        Ok(true) => {}
                        other => {
                            result = other;
                            break;
                        }
                    }
                }
                result
            }
            Rule::Or(rules) => {
                let mut result = Ok(false);
                for r in rules {
                    match self.eval_at(r, depth + 1, walk) {
                        Ok(false) => {}
                        other => {
                            result = other;
                            break;
                        }
                    }
                }
                result
            }
            Rule::Check(check) => self.check(check, depth, walk),
        };
        if let (Some(t), Some(i)) = (walk.trace.as_mut(), index) {
            t[i].outcome = outcome.clone().map_err(|e| e.0);
        }
        outcome
    }

    fn check(&self, check: &Check, depth: usize, walk: &mut Walk) -> Outcome {
        if !self.custom.is_empty()
            && !matches!(check.compiled, Compiled::Rule | Compiled::Role(_))
            && let Some(custom) = self.custom.get(&check.kind)
        {
            return custom.check(&check.matched, self.target, self.creds);
        }
        match &check.compiled {
            Compiled::Rule => {
                if depth >= MAX_RULE_DEPTH {
                    return Err(Raised(format!(
                        "maximum recursion depth exceeded at rule:{}",
                        check.matched
                    )));
                }
                let Some(rule) = self.rules.lookup(&check.matched) else {
                    return Ok(false);
                };
                if walk.expansions_left == 0 {
                    return Err(Raised(format!(
                        "more than {MAX_RULE_EXPANSIONS} rule references followed, at rule:{}",
                        check.matched
                    )));
                }
                walk.expansions_left -= 1;
                self.eval_at(rule, depth + 1, walk)
            }
            Compiled::Role(template) => {
                let matched = match template.format(self.target) {
                    Formatted::Text(t) => t,
                    Formatted::Missing => return Ok(false),
                    Formatted::Raise(e) => return Err(Raised(e)),
                };
                let Some(roles) = self.creds.get("roles") else {
                    return Ok(false);
                };
                match roles {
                    Value::Array(items) => {
                        let mut names = Vec::with_capacity(items.len());
                        for item in items {
                            match item {
                                Value::String(s) => names.push(s.as_str()),
                                other => {
                                    return Err(Raised(format!(
                                        "'{}' object has no attribute 'lower'",
                                        kind_name(other)
                                    )));
                                }
                            }
                        }
                        Ok(names.iter().any(|n| eq_lower(n, &matched)))
                    }
                    Value::String(s) => Ok(s
                        .chars()
                        .any(|c| eq_lower(c.encode_utf8(&mut [0; 4]), &matched))),
                    Value::Object(m) => Ok(m.keys().any(|k| eq_lower(k, &matched))),
                    other => Err(Raised(format!(
                        "'{}' object is not iterable",
                        kind_name(other)
                    ))),
                }
            }
            Compiled::Generic(meaning, template) => {
                let matched = match template.format(self.target) {
                    Formatted::Text(t) => t,
                    Formatted::Missing => return Ok(false),
                    Formatted::Raise(e) => return Err(Raised(e)),
                };
                match meaning {
                    KindMeaning::Literal(text) => Ok(*text == *matched),
                    KindMeaning::Unequal => Ok(false),
                    KindMeaning::Raise(e) => {
                        Err(Raised(format!("invalid check kind {:?}: {e}", check.kind)))
                    }
                    KindMeaning::Path(segments) => find(self.creds, segments, &matched),
                }
            }
        }
    }
}

/// The state of one evaluation: the explanation being recorded, if any, and how many more
/// `rule:` references it may follow.
struct Walk {
    trace: Option<Vec<Step>>,
    expansions_left: usize,
}

impl Walk {
    fn new(trace: Option<Vec<Step>>) -> Walk {
        Walk {
            trace,
            expansions_left: MAX_RULE_EXPANSIONS,
        }
    }
}

/// `a.lower() == b.lower()` without allocating.
fn eq_lower(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        return a.eq_ignore_ascii_case(b);
    }
    // whole strings, as Python's str.lower() (a final sigma lowers to ς, not σ)
    a.to_lowercase() == b.to_lowercase()
}

fn kind_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// `GenericCheck._find_in_dict` starting at the credentials.
fn find(creds: &Map<String, Value>, segments: &[String], matched: &str) -> Outcome {
    // `kind.split('.')` always has a first segment
    let Some((key, rest)) = segments.split_first() else {
        return Ok(false);
    };
    match creds.get(key) {
        None => Ok(false),
        Some(v) => descend(v, rest, matched),
    }
}

fn descend(value: &Value, segments: &[String], matched: &str) -> Outcome {
    if let Value::Array(items) = value {
        for item in items {
            if find_in(item, segments, matched)? {
                return Ok(true);
            }
        }
        return Ok(false);
    }
    find_in(value, segments, matched)
}

fn find_in(value: &Value, segments: &[String], matched: &str) -> Outcome {
    let Some((key, rest)) = segments.split_first() else {
        return Ok(match value {
            Value::String(s) => s == matched,
            other => py_str(other) == matched,
        });
    };
    match value {
        Value::Object(m) => match m.get(key) {
            None => Ok(false),
            Some(v) => descend(v, rest, matched),
        },
        Value::String(_) => Err(Raised("string indices must be integers".into())),
        Value::Array(_) => Err(Raised(
            "list indices must be integers or slices, not str".into(),
        )),
        other => Err(Raised(format!(
            "'{}' object is not subscriptable",
            kind_name(other)
        ))),
    }
}

/// Named rules with a default rule, as oslo.policy's `Rules` dictionary.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    /// The rules by name.
    pub rules: HashMap<String, Rule>,
    /// The rule used for unknown names, if it exists.
    pub default_rule: Option<String>,
}

impl RuleLookup for RuleSet {
    fn lookup(&self, name: &str) -> Option<&Rule> {
        self.rules
            .get(name)
            .or_else(|| self.rules.get(self.default_rule.as_deref()?))
    }
}
