//! What `ast.literal_eval(kind)` does to the kind of a generic check (`'member':%(x)s`,
//! `True:%(x)s`, `token.domain.id:...`), in Python 3.11, as oslo.policy's `GenericCheck` meets
//! it: a literal is compared as `str(value)`; any other valid Python expression raises
//! `ValueError`, which `GenericCheck` catches to read the kind as a dotted path into the
//! credentials (`xyz and methods`, `a.b`, `f(x)`); text that Python's expression grammar
//! rejects raises `SyntaxError`, which it does not catch: the check raises, and so does any
//! other exception (`{[1]}`'s `TypeError`, the `MemoryError` and `RecursionError` of absurd
//! nesting).
//!
//! `literal_eval` strips leading spaces and tabs, then parses the text with `compile()` in
//! `eval` mode: Python's tokenizer (`tokenize.rs`), its expression grammar (`grammar.rs`),
//! string literals and f-strings (`strings.rs`), identifiers' Unicode rules (`unicode.rs`);
//! then `_convert` and `str()` (`value.rs`).
//!
//! Python's limits: 200 nested brackets (a `SyntaxError`); 6000 nested calls of the
//! generated parser's rules (a `MemoryError`, estimated here per construct); and an AST
//! deeper than the interpreter's recursion limit allows (a `RecursionError` while building
//! `ast` objects), which depends on how deep in the Python stack `literal_eval` is called:
//! here, as oslopolicy-checker calls it for a rule of the file (`AST_DEPTH_LIMIT`).

mod grammar;
mod strings;
mod tokenize;
mod unicode;
mod value;

use strings::Raised;
use value::EvalError;

/// What a generic check's kind means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KindMeaning {
    /// A literal: the check compares the match with this text (`str(value)`).
    Literal(String),
    /// A literal no match equals (a string with a lone surrogate, which no Rust string holds).
    Unequal,
    /// A dotted path into the credentials.
    Path(Vec<String>),
    /// Python raises: the check raises.
    Raise(String),
}

/// How deeply brackets may nest in a kind: Python's tokenizer allows 200; the 201st is a
/// `SyntaxError` ("too many nested parentheses").
#[cfg(test)]
pub(crate) const MAX_BRACKETS: usize = tokenize::MAX_LEVEL;

/// The deepest AST `literal_eval` builds without a `RecursionError`, counting the
/// `Expression` node: `ast2obj` allows three nodes per frame of the recursion limit (1000),
/// less three per Python frame already on the stack, 15 where oslopolicy-checker evaluates a
/// rule of the file (so `-` written 2953 times before `1` parses, 2954 times does not).
pub(crate) const AST_DEPTH_LIMIT: u32 = 3000 - 3 * 15;

/// How Python 3.11 classifies a check kind: what `ast.literal_eval(kind)` does, and so what
/// oslo.policy's generic check (`kind:match`) does with it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KindClass {
    /// A literal (`'member'`, `True`, `1`, `-1.5`, `(1, 2)`, `set()`): the check compares the
    /// match with this text, `str(value)`. A lone surrogate (`'\ud800'`) is U+FFFD here; no
    /// match equals a string that holds one.
    Literal(String),
    /// Valid Python but not a literal (`user_id`, `a.b`, `xyz and methods`, `f(x)`):
    /// `literal_eval` raises `ValueError` and the check reads the kind as a dotted path into
    /// the credentials (`str.split('.')` of the kind as written).
    ValueError,
    /// Not a Python expression (`a b`, `1a`, `'x`, `if`): a `SyntaxError`, with Python's
    /// message where this emulation knows it. The check raises.
    SyntaxError(String),
    /// Another exception `GenericCheck` does not catch: a `TypeError` (`{[1]}`), an
    /// `OverflowError` (`10**400`-sized `int + imaginary`), or the `MemoryError` and
    /// `RecursionError` of thousands of nested operators. The check raises.
    OtherError(String),
}

/// Classifies a check kind as Python 3.11's `ast.literal_eval` does (see [`KindClass`]).
///
/// Total: any text gets an answer, in time and stack bounded by Python's own limits on
/// nesting. Known differences, none reachable from a policy one writes: `\N{name}` escapes
/// are a `SyntaxError` here (there is no Unicode name database); a set's members print in the
/// order written, not in hash order; the exact point past which thousands of nested
/// operators are a `MemoryError` is estimated.
pub fn classify_kind(kind: &str) -> KindClass {
    match evaluate(kind) {
        Ok((text, _)) => KindClass::Literal(text),
        Err(class) => class,
    }
}

/// A kind with more brackets (or lambdas) than this is evaluated on a thread of its own, with
/// `DEEP_STACK` bytes of stack: the parser recurses once per nested bracket, and several
/// kilobytes at a time in a debug build, more than a thread's usual 2 MiB allow for the 200
/// nested brackets Python accepts.
const SHALLOW: usize = 12;
const DEEP_STACK: usize = 256 << 20;

/// `str(ast.literal_eval(kind))`, and whether it holds a lone surrogate; or what else happens.
fn evaluate(kind: &str) -> Result<(String, bool), KindClass> {
    let nesting = kind.matches(['(', '[', '{']).count() + kind.matches("lambda").count();
    if nesting <= SHALLOW {
        return evaluate_here(kind);
    }
    let owned = kind.to_owned();
    let thread = std::thread::Builder::new()
        .name("keystone-policy-kind".into())
        .stack_size(DEEP_STACK)
        .spawn(move || evaluate_here(&owned));
    let failed = |what: &str| {
        Err(KindClass::OtherError(format!(
            "MemoryError: the kind could not be read ({what})"
        )))
    };
    match thread {
        Ok(handle) => handle.join().unwrap_or_else(|_| failed("thread failed")),
        Err(_) => failed("no thread"),
    }
}

fn evaluate_here(kind: &str) -> Result<(String, bool), KindClass> {
    let node = match grammar::parse_eval(kind.trim_start_matches([' ', '\t'])) {
        Ok(node) => node,
        Err(Raised::Syntax(e)) => return Err(KindClass::SyntaxError(e)),
        Err(Raised::Other(e)) => return Err(KindClass::OtherError(e)),
    };
    if 1 + node.depth > AST_DEPTH_LIMIT {
        return Err(KindClass::OtherError(
            "RecursionError: maximum recursion depth exceeded during ast construction".into(),
        ));
    }
    let value = value::convert(&node).map_err(eval_error)?;
    match value::py_str(&value).map_err(eval_error)? {
        Some(text) => Ok((text, false)),
        None => match value {
            value::PyVal::Str(s) => Ok((s.text, true)),
            _ => Ok((String::new(), true)),
        },
    }
}

fn eval_error(e: EvalError) -> KindClass {
    match e {
        EvalError::Value => KindClass::ValueError,
        EvalError::Other(e) => KindClass::OtherError(e),
    }
}

/// What a generic check does with `kind`.
pub(crate) fn classify(kind: &str) -> KindMeaning {
    match evaluate(kind) {
        Ok((_, true)) => KindMeaning::Unequal,
        Ok((text, false)) => KindMeaning::Literal(text),
        Err(KindClass::ValueError) => {
            KindMeaning::Path(kind.split('.').map(str::to_owned).collect())
        }
        Err(KindClass::SyntaxError(e) | KindClass::OtherError(e)) => KindMeaning::Raise(e),
        Err(KindClass::Literal(text)) => KindMeaning::Literal(text),
    }
}
