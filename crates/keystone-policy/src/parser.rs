//! The policy language, read exactly as oslo.policy 6.0.1's `_parser` reads it: whitespace
//! tokens, parentheses glued to atoms, case-insensitive `and`/`or`/`not`, and the same greedy
//! shift-reduce rules (so that `()` > `not` > `and` > `or`). Whatever does not reduce to one
//! check is `!` (deny), and the empty rule is `@` (allow).

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

/// How deeply `not`, `and` and `or` may nest in one rule (a check alone is depth 0, `not a`
/// and `a and b` are depth 1). A deeper rule does not parse (it denies, as every rule that
/// does not parse): real policies nest a handful of levels, and a bound here keeps evaluating,
/// printing and dropping a rule from recursing without end (oslo.policy builds any depth and
/// then fails with `RecursionError` somewhere past a few hundred levels).
pub const MAX_NESTING: usize = 100;

/// A token of `ParseState`, with the nesting depth of what it holds (see [`MAX_NESTING`]).
#[derive(Debug)]
enum Token {
    /// A check, with its depth.
    Check(Rule, usize),
    /// The operands of an "and", with the deepest operand's depth.
    AndExpr(Vec<Rule>, usize),
    /// The operands of an "or", with the deepest depth among all but the last operand, and
    /// the last operand's depth (an `and` that follows extends the last operand).
    OrExpr(Vec<Rule>, usize, usize),
    And,
    Or,
    Not,
    LParen,
    RParen,
    Str,
}

impl Token {
    /// The depth of the rule this token becomes (an "and" or "or" adds its own level).
    fn depth(&self) -> usize {
        match self {
            Token::Check(_, d) => *d,
            Token::AndExpr(_, d) => d + 1,
            Token::OrExpr(_, rest, last) => rest.max(last) + 1,
            _ => 0,
        }
    }
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
                    out.push(Token::Check(parse_check(clean), 0));
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

/// The shift-reduce state of `ParseState`. Every reduction moves the tokens it combines (an
/// "and" or "or" grows the vector it already has), so parsing is linear in the rule's length.
struct State {
    stack: Vec<Token>,
    /// Set when a reduction built something deeper than [`MAX_NESTING`]; parsing stops.
    too_deep: bool,
}

impl State {
    fn shift(&mut self, token: Token) {
        self.stack.push(token);
        self.reduce();
    }

    fn reduce(&mut self) {
        loop {
            let n = self.stack.len();
            let reduced = if self.reduce3() {
                true
            } else if n >= 2 && matches!(self.stack[n - 2..], [Token::Not, Token::Check(..)]) {
                let Some(Token::Check(c, d)) = self.stack.pop() else {
                    unreachable!()
                };
                self.stack.pop();
                self.stack.push(Token::Check(Rule::Not(Box::new(c)), d + 1));
                true
            } else {
                false
            };
            if !reduced {
                return;
            }
            if self.stack.last().is_some_and(|t| t.depth() > MAX_NESTING) {
                self.too_deep = true;
                return;
            }
        }
    }

    fn reduce3(&mut self) -> bool {
        if self.stack.len() < 3 {
            return false;
        }
        // the three tokens are moved out, and moved back if they do not reduce
        let (c, b, a) = (self.stack.pop(), self.stack.pop(), self.stack.pop());
        let (Some(a), Some(b), Some(c)) = (a, b, c) else {
            return false;
        };
        let replacement = match (a, b, c) {
            (Token::LParen, Token::Check(r, d), Token::RParen) => Token::Check(r, d),
            (Token::LParen, Token::AndExpr(rs, d), Token::RParen) => {
                Token::Check(Rule::And(rs), d + 1)
            }
            (Token::LParen, Token::OrExpr(rs, rest, last), Token::RParen) => {
                Token::Check(Rule::Or(rs), rest.max(last) + 1)
            }
            (Token::Check(x, dx), Token::And, Token::Check(y, dy)) => {
                Token::AndExpr(vec![x, y], dx.max(dy))
            }
            (Token::AndExpr(mut xs, d), Token::And, Token::Check(y, dy)) => {
                xs.push(y);
                Token::AndExpr(xs, d.max(dy))
            }
            (Token::OrExpr(mut xs, rest, last), Token::And, Token::Check(y, dy)) => {
                let (and, depth) = match xs.pop().unwrap_or(Rule::False) {
                    Rule::And(mut inner) => {
                        inner.push(y);
                        (Rule::And(inner), last.max(dy + 1))
                    }
                    other => (Rule::And(vec![other, y]), last.max(dy) + 1),
                };
                xs.push(and);
                Token::OrExpr(xs, rest, depth)
            }
            (Token::Check(x, dx), Token::Or, Token::Check(y, dy)) => {
                Token::OrExpr(vec![x, y], dx, dy)
            }
            (Token::AndExpr(xs, d), Token::Or, Token::Check(y, dy)) => {
                Token::OrExpr(vec![Rule::And(xs), y], d + 1, dy)
            }
            (Token::OrExpr(mut xs, rest, last), Token::Or, Token::Check(y, dy)) => {
                xs.push(y);
                Token::OrExpr(xs, rest.max(last), dy)
            }
            (a, b, c) => {
                self.stack.extend([a, b, c]);
                return false;
            }
        };
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

/// Parses a rule in the text form, as oslo.policy 6.0.1's `_parser` does: whitespace tokens,
/// parentheses glued to atoms, case-insensitive `and`/`or`/`not`, `()` > `not` > `and` > `or`.
/// Whatever does not reduce to one check is `!` (deny), and the empty rule is `@` (allow).
///
/// # Example
///
/// ```
/// use keystone_policy::parse;
///
/// let rule = parse("role:admin or (role:reader and system_scope:all)");
/// assert_eq!(rule.to_string(), "(role:admin or (role:reader and system_scope:all))");
/// assert_eq!(parse("").to_string(), "@");
/// assert_eq!(parse("role:admin or").to_string(), "!"); // fails closed
/// ```
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
    let mut state = State {
        stack: Vec::new(),
        too_deep: false,
    };
    for token in tokenize(text) {
        state.shift(token);
        if state.too_deep {
            return Parsed {
                rule: Rule::False,
                error: Some(format!(
                    "rule nests deeper than {MAX_NESTING} levels: {:?}...",
                    text.chars().take(80).collect::<String>()
                )),
            };
        }
    }
    let rule = match state.stack.pop() {
        Some(Token::Check(r, _)) if state.stack.is_empty() => r,
        Some(Token::AndExpr(rs, _)) if state.stack.is_empty() => Rule::And(rs),
        Some(Token::OrExpr(rs, ..)) if state.stack.is_empty() => Rule::Or(rs),
        _ => {
            return Parsed {
                rule: Rule::False,
                error: Some(format!("could not parse rule {text:?}")),
            };
        }
    };
    Parsed { rule, error: None }
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
