//! The policy language, read exactly as oslo.policy 6.0.1's `_parser` reads it: whitespace
//! tokens, parentheses glued to atoms, case-insensitive `and`/`or`/`not`, and the same greedy
//! shift-reduce rules (so that `()` > `not` > `and` > `or`). Whatever does not reduce to one
//! check is `!` (deny), and the empty rule is `@` (allow).
//!
//! # Example
//!
//! ```
//! use keystone_policy::parser::parse;
//!
//! let rule = parse("role:admin or (role:reader and system_scope:all)");
//! assert_eq!(rule.to_string(), "(role:admin or (role:reader and system_scope:all))");
//! assert_eq!(parse("").to_string(), "@");
//! assert_eq!(parse("role:admin or").to_string(), "!"); // fails closed
//! ```

use std::fmt;

use crate::literal::{KindMeaning, classify};
use crate::pyfmt::Template;

/// A parsed rule: the tree oslo.policy builds.
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    /// `@`: always allows (also the empty rule).
    True,
    /// `!`: always denies (also any rule that does not parse).
    False,
    /// `kind:match`.
    Check(Check),
    /// `not rule`.
    Not(Box<Rule>),
    /// `(a and b and ...)`.
    And(Vec<Rule>),
    /// `(a or b or ...)`.
    Or(Vec<Rule>),
}

/// One `kind:match` check, with its match template and kind meaning worked out once.
#[derive(Debug, Clone)]
pub struct Check {
    /// The text before the first colon.
    pub kind: String,
    /// The text after it.
    pub matched: String,
    pub(crate) compiled: Compiled,
}

impl PartialEq for Check {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && self.matched == other.matched
    }
}

#[derive(Debug, Clone)]
pub(crate) enum Compiled {
    /// `rule:NAME` (the name is not formatted).
    Rule,
    /// `role:MATCH`.
    Role(Template),
    /// Any other kind.
    Generic(KindMeaning, Template),
}

impl Check {
    /// Builds a check as `_parse_check` does for `kind:matched`.
    pub fn new(kind: &str, matched: &str) -> Check {
        let compiled = match kind {
            "rule" => Compiled::Rule,
            "role" => Compiled::Role(Template::parse(matched)),
            _ => Compiled::Generic(classify(kind), Template::parse(matched)),
        };
        Check {
            kind: kind.to_owned(),
            matched: matched.to_owned(),
            compiled,
        }
    }
}

impl fmt::Display for Rule {
    /// Python's `str()` of the check tree.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rule::True => f.write_str("@"),
            Rule::False => f.write_str("!"),
            Rule::Check(c) => write!(f, "{}:{}", c.kind, c.matched),
            Rule::Not(r) => write!(f, "not {r}"),
            Rule::And(rs) | Rule::Or(rs) => {
                let sep = if matches!(self, Rule::And(_)) {
                    " and "
                } else {
                    " or "
                };
                f.write_str("(")?;
                for (i, r) in rs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(sep)?;
                    }
                    write!(f, "{r}")?;
                }
                f.write_str(")")
            }
        }
    }
}

/// Parses one check atom (`_parse_check`).
fn parse_check(text: &str) -> Rule {
    match text {
        "!" => Rule::False,
        "@" => Rule::True,
        _ => match text.split_once(':') {
            Some((kind, matched)) => Rule::Check(Check::new(kind, matched)),
            None => Rule::False,
        },
    }
}

#[derive(Debug, Clone)]
enum Token {
    Check(Rule),
    AndExpr(Vec<Rule>),
    OrExpr(Vec<Rule>),
    And,
    Or,
    Not,
    LParen,
    RParen,
    Str,
}

/// Python's `str.isspace()`, which is what `re.split(r'\s+')` splits on.
fn py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

fn tokenize(rule: &str) -> Vec<Token> {
    let mut out = Vec::new();
    for tok in rule.split(py_space) {
        if tok.is_empty() {
            continue;
        }
        let clean = tok.trim_start_matches('(');
        for _ in 0..(tok.len() - clean.len()) {
            out.push(Token::LParen);
        }
        if clean.is_empty() {
            continue;
        }
        let tok = clean;
        let clean = tok.trim_end_matches(')');
        let trail = tok.len() - clean.len();
        match clean.to_lowercase().as_str() {
            "and" => out.push(Token::And),
            "or" => out.push(Token::Or),
            "not" => out.push(Token::Not),
            _ if !clean.is_empty() => {
                let quoted = {
                    let mut cs = tok.chars();
                    let first = cs.next();
                    let last = cs.next_back();
                    tok.chars().count() >= 2 && first == last && matches!(first, Some('"' | '\''))
                };
                if quoted {
                    out.push(Token::Str);
                } else {
                    out.push(Token::Check(parse_check(clean)));
                }
            }
            _ => {}
        }
        for _ in 0..trail {
            out.push(Token::RParen);
        }
    }
    out
}

/// The shift-reduce state of `ParseState`.
struct State {
    stack: Vec<Token>,
}

impl State {
    fn shift(&mut self, token: Token) {
        self.stack.push(token);
        self.reduce();
    }

    fn reduce(&mut self) {
        loop {
            let n = self.stack.len();
            if n >= 3 && self.reduce3() {
                continue;
            }
            if n >= 2 && matches!(self.stack[n - 2..], [Token::Not, Token::Check(_)]) {
                let Some(Token::Check(c)) = self.stack.pop() else {
                    unreachable!()
                };
                self.stack.pop();
                self.stack.push(Token::Check(Rule::Not(Box::new(c))));
                continue;
            }
            return;
        }
    }

    fn reduce3(&mut self) -> bool {
        let n = self.stack.len();
        let [a, b, c] = &self.stack[n - 3..] else {
            return false;
        };
        let replacement = match (a, b, c) {
            (Token::LParen, Token::Check(r), Token::RParen) => Token::Check(r.clone()),
            (Token::LParen, Token::AndExpr(rs), Token::RParen) => {
                Token::Check(Rule::And(rs.clone()))
            }
            (Token::LParen, Token::OrExpr(rs), Token::RParen) => Token::Check(Rule::Or(rs.clone())),
            (Token::Check(x), Token::And, Token::Check(y)) => {
                Token::AndExpr(vec![x.clone(), y.clone()])
            }
            (Token::AndExpr(xs), Token::And, Token::Check(y)) => {
                let mut xs = xs.clone();
                xs.push(y.clone());
                Token::AndExpr(xs)
            }
            (Token::OrExpr(xs), Token::And, Token::Check(y)) => {
                let mut xs = xs.clone();
                let last = xs.pop().unwrap_or(Rule::False);
                let and = match last {
                    Rule::And(mut inner) => {
                        inner.push(y.clone());
                        Rule::And(inner)
                    }
                    other => Rule::And(vec![other, y.clone()]),
                };
                xs.push(and);
                Token::OrExpr(xs)
            }
            (Token::Check(x), Token::Or, Token::Check(y)) => {
                Token::OrExpr(vec![x.clone(), y.clone()])
            }
            (Token::AndExpr(xs), Token::Or, Token::Check(y)) => {
                Token::OrExpr(vec![Rule::And(xs.clone()), y.clone()])
            }
            (Token::OrExpr(xs), Token::Or, Token::Check(y)) => {
                let mut xs = xs.clone();
                xs.push(y.clone());
                Token::OrExpr(xs)
            }
            _ => return false,
        };
        self.stack.truncate(n - 3);
        self.stack.push(replacement);
        true
    }
}

/// A parse with its failure, if it failed (the rule is then `!`).
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    /// The rule (`!` when parsing failed).
    pub rule: Rule,
    /// Why parsing failed.
    pub error: Option<String>,
}

/// Parses a rule in the text form.
pub fn parse(text: &str) -> Rule {
    parse_text(text).rule
}

/// Parses a rule in the text form, keeping the reason of a failure.
pub fn parse_text(text: &str) -> Parsed {
    if text.is_empty() {
        return Parsed {
            rule: Rule::True,
            error: None,
        };
    }
    let mut state = State { stack: Vec::new() };
    for token in tokenize(text) {
        state.shift(token);
    }
    match state.stack.as_slice() {
        [Token::Check(r)] => Parsed {
            rule: r.clone(),
            error: None,
        },
        [Token::AndExpr(rs)] => Parsed {
            rule: Rule::And(rs.clone()),
            error: None,
        },
        [Token::OrExpr(rs)] => Parsed {
            rule: Rule::Or(rs.clone()),
            error: None,
        },
        _ => Parsed {
            rule: Rule::False,
            error: Some(format!("could not parse rule {text:?}")),
        },
    }
}

/// Parses the list-of-lists form: an "or" of "and"s (`[["role:a", "role:b"], ["role:c"]]`).
pub fn parse_list(list: &[serde_json::Value]) -> Parsed {
    if list.is_empty() {
        return Parsed {
            rule: Rule::True,
            error: None,
        };
    }
    let mut ors = Vec::new();
    for inner in list {
        let items: Vec<&str> = match inner {
            serde_json::Value::String(s) if s.is_empty() => continue,
            serde_json::Value::String(s) => vec![s.as_str()],
            serde_json::Value::Array(a) if a.is_empty() => continue,
            serde_json::Value::Array(a) => {
                match a.iter().map(|v| v.as_str()).collect::<Option<Vec<_>>>() {
                    Some(items) => items,
                    None => {
                        return Parsed {
                            rule: Rule::False,
                            error: Some("list rules hold strings only".into()),
                        };
                    }
                }
            }
            _ => {
                return Parsed {
                    rule: Rule::False,
                    error: Some("list rules hold strings or lists of strings".into()),
                };
            }
        };
        let mut ands: Vec<Rule> = items.into_iter().map(parse_check).collect();
        ors.push(if ands.len() == 1 {
            ands.remove(0)
        } else {
            Rule::And(ands)
        });
    }
    let rule = match ors.len() {
        0 => Rule::False,
        1 => ors.remove(0),
        _ => Rule::Or(ors),
    };
    Parsed { rule, error: None }
}

/// Parses a rule as it appears in a policy file: a string, or the list-of-lists form. As in
/// oslo.policy, an empty value of any kind (`"a:b":` with nothing after it, `false`, `0`, `{}`)
/// is `@`, and a mapping stands for the list of its keys.
pub fn parse_value(value: &serde_json::Value) -> Parsed {
    use serde_json::Value;
    let empty = match value {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::Object(m) => m.is_empty(),
        Value::String(_) | Value::Array(_) => false,
    };
    if empty {
        return Parsed {
            rule: Rule::True,
            error: None,
        };
    }
    match value {
        Value::String(s) => parse_text(s),
        Value::Array(a) => parse_list(a),
        Value::Object(m) => {
            let keys: Vec<Value> = m.keys().map(|k| Value::String(k.clone())).collect();
            parse_list(&keys)
        }
        other => Parsed {
            rule: Rule::False,
            error: Some(format!("a rule must be a string or a list, not {other}")),
        },
    }
}
