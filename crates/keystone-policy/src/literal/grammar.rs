//! Python 3.11's expression grammar (`Grammar/python.gram`, the `eval` and `fstring` start
//! rules and everything they reach), read as its PEG parser reads it: whatever it accepts is a
//! valid expression, whatever it rejects a `SyntaxError`. The ordered choices and lookaheads
//! that decide what is accepted are kept (`expression !':='`, `slice !','`, keyword arguments
//! after positional ones, the targets of `for`, lambda parameters); the alternatives the
//! generated parser tries one after the other are decided here after reading the common
//! prefix once, so no input makes the parser backtrack without bound.
//!
//! The result is as much of the tree as `ast.literal_eval` looks at (constants, containers of
//! them, signed numbers, `number ± imaginary`, `set()`); everything else is `Other`. Each node
//! carries its depth as `ast2obj` counts it, for Python's `RecursionError`.
//!
//! Bounds, each Python's own: 200 nested brackets (the tokenizer's), the generated parser's
//! 6000 nested rule calls (`MAXSTACK`, a `MemoryError`), estimated per construct; and this
//! parser's own recursion (brackets, lambda defaults, targets, f-strings inside f-strings),
//! which is bounded so that a thread's 2 MiB stack is enough.

use std::collections::HashMap;

use super::strings::{PyStr, Raised, Strings, concatenate, syntax};
use super::tokenize::{Tok, tokenize};
use super::unicode::nfkc_is_set;

/// A parsed expression: what `literal_eval` looks at, and its depth.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Node {
    pub(super) expr: Expr,
    pub(super) depth: u32,
}

/// An expression, as far as `literal_eval` tells them apart.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Expr {
    /// A number's text.
    Num(String),
    Str(PyStr),
    Bytes(Vec<u8>),
    /// `True`, `False`, `None`, `Ellipsis`.
    Const(&'static str),
    Tuple(Vec<Node>),
    List(Vec<Node>),
    Set(Vec<Node>),
    /// Keys and values; a `**mapping` has no key.
    Dict(Vec<(Option<Node>, Node)>),
    /// `-x` (`true`) or `+x` of a number.
    Signed(bool, Box<Node>),
    /// `a + b` (`true`) or `a - b` of numbers (or signed numbers on the left).
    AddSub(bool, Box<Node>, Box<Node>),
    /// `set()`.
    SetCall,
    /// A name.
    Name(String),
    Other,
}

/// The generated parser's limit on nested rule calls (`MAXSTACK`): a `MemoryError` beyond.
const MAXSTACK: u32 = 6000;

/// How deeply this parser recurses (brackets, lambda defaults, nested targets and f-strings):
/// beyond, the expression is too deep for Python too (the tokenizer allows 200 brackets) but
/// for f-strings nested in f-strings, each with its own 200, which are read as a
/// `MemoryError`.
const MAX_RECURSION: u32 = 1000;

/// Python's hard keywords (3.11).
const KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield",
];

/// Extra nested rule calls (`MAXSTACK`'s count) from an `expression` to the atoms of a plain
/// operand (`expression` > `disjunction` > ... > `primary` > `atom`).
const LEVELS_TO_ATOM: u32 = 22;

/// Extra nested rule calls from an atom to the `expression` of the first item inside it (or
/// from a primary to its call's or subscript's first argument), and from a lambda's
/// `expression` to its parameters' defaults.
const PAREN_LEVELS: u32 = 6;
const LIST_LEVELS: u32 = 7;
const BRACE_LEVELS: u32 = 7;
const CALL_LEVELS: u32 = 2;
const SUBSCRIPT_LEVELS: u32 = 2;
const LAMBDA_DEFAULT_LEVELS: u32 = 8;

type R = Result<Option<Node>, Raised>;

fn other(depth: u32) -> Node {
    Node {
        expr: Expr::Other,
        depth,
    }
}

fn max_depth<'a>(nodes: impl IntoIterator<Item = &'a Node>) -> u32 {
    nodes.into_iter().map(|n| n.depth).max().unwrap_or(0)
}

/// Which trailer ended a primary.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Trailer {
    None,
    Attribute,
    Subscript,
    Call,
}

pub(super) struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    /// This parser's recursion (see `MAX_RECURSION`).
    recursion: u32,
    /// The generated parser's nesting of rule calls at the `expression` being read.
    lvl: u32,
    /// `star_target` and `target_with_star_atom`, memoised as Python's parser does: the depth
    /// and the end of what they read at a position.
    memo: HashMap<(bool, usize), Option<(u32, usize)>>,
}

/// Parses `src` with the `eval` rule (`expressions NEWLINE* ENDMARKER`).
pub(super) fn parse_eval(src: &str) -> Result<Node, Raised> {
    let mut p = Parser::new(tokenize(src).map_err(Raised::Syntax)?, 0, 3);
    let Some(node) = p.expressions()? else {
        return Err(syntax("invalid syntax"));
    };
    p.end()?;
    Ok(node)
}

/// Parses an f-string's `(expression)` with the `fstring` rule (`star_expressions`), from a
/// parser `recursion` deep; gives its depth.
fn parse_fstring_expr(src: &str, recursion: u32) -> Result<u32, Raised> {
    let mut p = Parser::new(tokenize(src).map_err(Raised::Syntax)?, recursion, 4);
    let Some(node) = p.star_expressions()? else {
        return Err(syntax("f-string: invalid syntax"));
    };
    p.end()?;
    Ok(node.depth)
}

impl Parser {
    fn new(toks: Vec<Tok>, recursion: u32, lvl: u32) -> Parser {
        Parser {
            toks,
            pos: 0,
            recursion,
            lvl,
            memo: HashMap::new(),
        }
    }

    /// `NEWLINE* ENDMARKER`.
    fn end(&mut self) -> Result<(), Raised> {
        while self.peek() == &Tok::Newline {
            self.pos += 1;
        }
        if self.peek() != &Tok::End {
            return Err(syntax("invalid syntax"));
        }
        Ok(())
    }

    fn peek(&self) -> &Tok {
        self.toks.get(self.pos).unwrap_or(&Tok::End)
    }

    fn peek_at(&self, offset: usize) -> &Tok {
        self.toks.get(self.pos + offset).unwrap_or(&Tok::End)
    }

    fn at_op(&self, op: &str) -> bool {
        matches!(self.peek(), Tok::Op(o) if *o == op)
    }

    fn eat_op(&mut self, op: &str) -> bool {
        let at = self.at_op(op);
        if at {
            self.pos += 1;
        }
        at
    }

    fn at_kw(&self, kw: &str) -> bool {
        matches!(self.peek(), Tok::Name(n) if n == kw)
    }

    fn eat_kw(&mut self, kw: &str) -> bool {
        let at = self.at_kw(kw);
        if at {
            self.pos += 1;
        }
        at
    }

    /// A `NAME` token: an identifier that is not a keyword.
    fn at_name(&self) -> Option<&str> {
        match self.peek() {
            Tok::Name(n) if !KEYWORDS.contains(&n.as_str()) => Some(n),
            _ => None,
        }
    }

    fn eat_name(&mut self) -> bool {
        let at = self.at_name().is_some();
        if at {
            self.pos += 1;
        }
        at
    }

    /// Whether a `for_if_clause` starts here.
    fn at_for(&self) -> bool {
        self.at_kw("for")
            || (self.at_kw("async") && matches!(self.peek_at(1), Tok::Name(n) if n == "for"))
    }

    /// Runs `f` one recursion deeper, `levels` rule calls deeper.
    fn nested<T>(
        &mut self,
        levels: u32,
        f: impl FnOnce(&mut Self) -> Result<T, Raised>,
    ) -> Result<T, Raised> {
        if self.recursion >= MAX_RECURSION {
            return Err(Raised::Other("MemoryError: too deeply nested".into()));
        }
        self.recursion += 1;
        self.lvl += levels;
        let r = f(self);
        self.lvl -= levels;
        self.recursion -= 1;
        r
    }

    /// Runs `f` `levels` rule calls deeper, for the generated parser's count only.
    fn deeper<T>(&mut self, levels: u32, f: impl FnOnce(&mut Self) -> T) -> T {
        self.lvl += levels;
        let r = f(self);
        self.lvl -= levels;
        r
    }

    /// The generated parser's nesting at an atom `extra` calls below the current rule.
    fn check_level(&self, extra: u32) -> Result<(), Raised> {
        if self.lvl + extra > MAXSTACK {
            return Err(Raised::Other("MemoryError".into()));
        }
        Ok(())
    }

    /// `expressions: expression (',' expression)* [',']`.
    fn expressions(&mut self) -> R {
        self.sequence(Self::expression)
    }

    /// `star_expressions: star_expression (',' star_expression)* [',']`.
    fn star_expressions(&mut self) -> R {
        self.sequence(Self::star_expression)
    }

    /// `item (',' item)* [',']`: one item, or a tuple.
    fn sequence(&mut self, item: fn(&mut Self) -> R) -> R {
        let Some(first) = item(self)? else {
            return Ok(None);
        };
        if !self.at_op(",") {
            return Ok(Some(first));
        }
        let mut items = vec![first];
        while self.eat_op(",") {
            let mark = self.pos;
            match item(self)? {
                Some(e) => items.push(e),
                None => {
                    self.pos = mark;
                    break;
                }
            }
        }
        Ok(Some(tuple(items)))
    }

    /// `star_expression: '*' bitwise_or | expression`.
    fn star_expression(&mut self) -> R {
        if self.at_op("*") {
            return self.starred(Self::bitwise_or);
        }
        self.expression()
    }

    /// `star_named_expression: '*' bitwise_or | named_expression`.
    fn star_named_expression(&mut self) -> R {
        if self.at_op("*") {
            return self.starred(Self::bitwise_or);
        }
        self.named_expression()
    }

    /// `'*' value`.
    fn starred(&mut self, value: fn(&mut Self) -> R) -> R {
        let mark = self.pos;
        self.pos += 1;
        match value(self)? {
            Some(v) => Ok(Some(other(1 + v.depth))),
            None => {
                self.pos = mark;
                Ok(None)
            }
        }
    }

    /// `named_expression: NAME ':=' expression | expression !':='`.
    fn named_expression(&mut self) -> R {
        if self.at_name().is_some() && self.peek_at(1) == &Tok::Op(":=") {
            let mark = self.pos;
            self.pos += 2;
            if let Some(v) = self.expression()? {
                return Ok(Some(other(1 + v.depth.max(1))));
            }
            self.pos = mark;
        }
        let mark = self.pos;
        let Some(e) = self.expression()? else {
            return Ok(None);
        };
        if self.at_op(":=") {
            self.pos = mark;
            return Ok(None);
        }
        Ok(Some(e))
    }

    /// `expression: disjunction 'if' disjunction 'else' expression | disjunction | lambdef`,
    /// with chains of conditional expressions and lambdas (`a if b else c if d else e`,
    /// `lambda: lambda: x`) read in a loop.
    fn expression(&mut self) -> R {
        enum Wrapper {
            /// `body if test else ...`: the body, where it ends, and the depth of both.
            IfExp(Node, usize, u32),
            /// `lambda params: ...`: the depth of the parameters.
            Lambda(u32),
        }
        let start = self.pos;
        let saved_lvl = self.lvl;
        let mut wrappers: Vec<Wrapper> = Vec::new();
        let mut inner = loop {
            if self.at_kw("lambda") {
                let mark = self.pos;
                self.pos += 1;
                match self.lambda_params()? {
                    Some(depth) if self.eat_op(":") => {
                        wrappers.push(Wrapper::Lambda(depth));
                        self.lvl += 2;
                        continue;
                    }
                    _ => {
                        self.pos = mark;
                        break None;
                    }
                }
            }
            let Some(body) = self.disjunction()? else {
                break None;
            };
            if self.at_kw("if") {
                let end = self.pos;
                self.pos += 1;
                if let Some(test) = self.disjunction()? {
                    if self.eat_kw("else") {
                        let depth = body.depth.max(test.depth);
                        wrappers.push(Wrapper::IfExp(body, end, depth));
                        self.lvl += 1;
                        continue;
                    }
                }
                self.pos = end;
            }
            break Some(body);
        };
        self.lvl = saved_lvl;
        // fold from the innermost; where a tail failed, the nearest conditional expression is
        // only its body (PEG's second alternative), and a lambda fails with it
        let mut wrappers = wrappers.into_iter().rev();
        while inner.is_none() {
            match wrappers.next() {
                Some(Wrapper::IfExp(body, end, _)) => {
                    self.pos = end;
                    inner = Some(body);
                }
                Some(Wrapper::Lambda(_)) => {}
                None => {
                    self.pos = start;
                    return Ok(None);
                }
            }
        }
        let mut node = inner.unwrap_or_else(|| other(0));
        for w in wrappers {
            node = match w {
                Wrapper::IfExp(_, _, depth) => other(1 + depth.max(node.depth)),
                Wrapper::Lambda(depth) => other(1 + depth.max(node.depth)),
            };
        }
        Ok(Some(node))
    }

    /// `lambda_params`, after `lambda`, up to the `:` (not read): the depth of the
    /// `arguments` node, or `None` where they do not parse.
    fn lambda_params(&mut self) -> Result<Option<u32>, Raised> {
        #[derive(PartialEq)]
        enum State {
            Positional,
            Star,
            Kwds,
        }
        if self.at_op(":") {
            return Ok(Some(1));
        }
        let mut depth = 0;
        let mut state = State::Positional;
        let (mut positional, mut default_seen, mut slash) = (false, false, false);
        // a bare `*` needs a parameter after it
        let mut bare_star_params: Option<usize> = None;
        loop {
            if self.at_op("**") && state != State::Kwds {
                self.pos += 1;
                if !self.eat_name() {
                    return Ok(None);
                }
                depth = depth.max(1);
                state = State::Kwds;
            } else if self.at_op("*") && state == State::Positional {
                self.pos += 1;
                if self.eat_name() {
                    depth = depth.max(1);
                } else if self.at_op(",") {
                    bare_star_params = Some(0);
                } else {
                    return Ok(None);
                }
                state = State::Star;
            } else if self.at_op("/") && state == State::Positional && positional && !slash {
                self.pos += 1;
                slash = true;
            } else if state != State::Kwds && self.eat_name() {
                depth = depth.max(1);
                let has_default = self.eat_op("=");
                if has_default {
                    let Some(v) = self.nested(LAMBDA_DEFAULT_LEVELS, Self::expression)? else {
                        return Ok(None);
                    };
                    depth = depth.max(v.depth);
                }
                if state == State::Positional {
                    if default_seen && !has_default {
                        return Ok(None);
                    }
                    positional = true;
                    default_seen |= has_default;
                } else if let Some(n) = bare_star_params.as_mut() {
                    *n += 1;
                }
            } else {
                return Ok(None);
            }
            if self.eat_op(",") {
                if self.at_op(":") {
                    break;
                }
                if state == State::Kwds {
                    return Ok(None);
                }
            } else if self.at_op(":") {
                break;
            } else {
                return Ok(None);
            }
        }
        if bare_star_params == Some(0) {
            return Ok(None);
        }
        Ok(Some(1 + depth))
    }

    /// `disjunction: conjunction ('or' conjunction)*`.
    fn disjunction(&mut self) -> R {
        self.bool_op("or", Self::conjunction)
    }

    /// `conjunction: inversion ('and' inversion)*`.
    fn conjunction(&mut self) -> R {
        self.bool_op("and", Self::inversion)
    }

    fn bool_op(&mut self, kw: &str, operand: fn(&mut Self) -> R) -> R {
        let Some(first) = operand(self)? else {
            return Ok(None);
        };
        let mut depth = first.depth;
        let mut count = 1;
        while self.at_kw(kw) {
            let mark = self.pos;
            self.pos += 1;
            match operand(self)? {
                Some(n) => {
                    depth = depth.max(n.depth);
                    count += 1;
                }
                None => {
                    self.pos = mark;
                    break;
                }
            }
        }
        Ok(Some(if count == 1 { first } else { other(1 + depth) }))
    }

    /// `inversion: 'not' inversion | comparison`, the `not`s read in a loop.
    fn inversion(&mut self) -> R {
        let start = self.pos;
        let mut nots = 0;
        while self.eat_kw("not") {
            nots += 1;
        }
        self.lvl += nots;
        let r = self.comparison();
        self.lvl -= nots;
        match r? {
            Some(n) if nots == 0 => Ok(Some(n)),
            Some(n) => Ok(Some(other(n.depth + nots))),
            None => {
                self.pos = start;
                Ok(None)
            }
        }
    }

    /// `comparison: bitwise_or (compare_op bitwise_or)*`.
    fn comparison(&mut self) -> R {
        let Some(first) = self.bitwise_or()? else {
            return Ok(None);
        };
        let mut depth = first.depth;
        let mut compared = false;
        loop {
            let mark = self.pos;
            let op = match self.peek() {
                Tok::Op("==" | "!=" | "<=" | "<" | ">=" | ">") => 1,
                Tok::Name(n) if n == "in" => 1,
                Tok::Name(n)
                    if n == "not" && matches!(self.peek_at(1), Tok::Name(m) if m == "in") =>
                {
                    2
                }
                Tok::Name(n) if n == "is" => {
                    if matches!(self.peek_at(1), Tok::Name(m) if m == "not") {
                        2
                    } else {
                        1
                    }
                }
                _ => 0,
            };
            if op == 0 {
                break;
            }
            self.pos += op;
            match self.bitwise_or()? {
                Some(n) => {
                    depth = depth.max(n.depth);
                    compared = true;
                }
                None => {
                    self.pos = mark;
                    break;
                }
            }
        }
        Ok(Some(if compared { other(1 + depth) } else { first }))
    }

    /// `bitwise_or` down to `term`: left-associative binary operators by precedence.
    fn bitwise_or(&mut self) -> R {
        self.binary(0)
    }

    fn binary(&mut self, level: usize) -> R {
        const LEVELS: &[&[&str]] = &[
            &["|"],
            &["^"],
            &["&"],
            &["<<", ">>"],
            &["+", "-"],
            &["*", "/", "//", "%", "@"],
        ];
        let operand = |p: &mut Self| {
            if level + 1 < LEVELS.len() {
                p.binary(level + 1)
            } else {
                p.factor()
            }
        };
        let Some(mut left) = operand(self)? else {
            return Ok(None);
        };
        while let Tok::Op(op) = *self.peek() {
            if !LEVELS[level].contains(&op) {
                break;
            }
            let mark = self.pos;
            self.pos += 1;
            let Some(right) = operand(self)? else {
                self.pos = mark;
                break;
            };
            let depth = 1 + left.depth.max(right.depth);
            let signed_number = |n: &Node| match &n.expr {
                Expr::Num(_) => true,
                Expr::Signed(_, inner) => matches!(inner.expr, Expr::Num(_)),
                _ => false,
            };
            left = if matches!(op, "+" | "-")
                && signed_number(&left)
                && matches!(right.expr, Expr::Num(_))
            {
                Node {
                    expr: Expr::AddSub(op == "+", Box::new(left), Box::new(right)),
                    depth,
                }
            } else {
                other(depth)
            };
        }
        Ok(Some(left))
    }

    /// `factor: ('+' | '-' | '~') factor | power` and `power: await_primary ['**' factor]`:
    /// unary operators and `**` chains read in a loop.
    fn factor(&mut self) -> R {
        let start = self.pos;
        let saved_lvl = self.lvl;
        // each operand: its unary operators, the primary, where it ends
        let mut segments: Vec<(Vec<&'static str>, Node, usize)> = Vec::new();
        loop {
            let seg_start = self.pos;
            let mut ops = Vec::new();
            while let Tok::Op(op @ ("+" | "-" | "~")) = *self.peek() {
                ops.push(op);
                self.pos += 1;
            }
            self.lvl += ops.len() as u32;
            let primary = self.await_primary()?;
            let Some(primary) = primary else {
                self.pos = seg_start;
                break;
            };
            segments.push((ops, primary, self.pos));
            if !self.at_op("**") {
                break;
            }
            self.pos += 1;
            self.lvl += 2;
        }
        self.lvl = saved_lvl;
        // a failed operand after `**` leaves the power at its left operand
        if segments.is_empty() {
            self.pos = start;
            return Ok(None);
        }
        self.pos = segments.last().map_or(start, |s| s.2);
        let mut value: Option<Node> = None;
        for (ops, primary, _) in segments.into_iter().rev() {
            let mut node = match value {
                None => primary,
                Some(exponent) => other(1 + primary.depth.max(exponent.depth)),
            };
            for op in ops.into_iter().rev() {
                let depth = node.depth + 1;
                node = if op != "~" && matches!(node.expr, Expr::Num(_)) {
                    Node {
                        expr: Expr::Signed(op == "-", Box::new(node)),
                        depth,
                    }
                } else {
                    other(depth)
                };
            }
            value = Some(node);
        }
        Ok(value)
    }

    /// `await_primary: 'await' primary | primary`.
    fn await_primary(&mut self) -> R {
        if self.at_kw("await") {
            let mark = self.pos;
            self.pos += 1;
            return Ok(match self.primary()? {
                Some((n, _)) => Some(other(1 + n.depth)),
                None => {
                    self.pos = mark;
                    None
                }
            });
        }
        Ok(self.primary()?.map(|(n, _)| n))
    }

    /// `primary: atom ('.' NAME | genexp | '(' [arguments] ')' | '[' slices ']')*`, and the
    /// last trailer read.
    fn primary(&mut self) -> Result<Option<(Node, Trailer)>, Raised> {
        let Some(mut node) = self.atom()? else {
            return Ok(None);
        };
        let mut last = Trailer::None;
        loop {
            let mark = self.pos;
            if self.eat_op(".") {
                if !self.eat_name() {
                    self.pos = mark;
                    break;
                }
                node = other(1 + node.depth);
                last = Trailer::Attribute;
            } else if self.at_op("(") {
                let Some(call) =
                    self.nested(LEVELS_TO_ATOM + CALL_LEVELS, |p| p.call(node.clone()))?
                else {
                    break;
                };
                node = call;
                last = Trailer::Call;
            } else if self.at_op("[") {
                self.pos += 1;
                let slices = self.nested(LEVELS_TO_ATOM + SUBSCRIPT_LEVELS, Self::slices)?;
                match slices {
                    Some(s) if self.eat_op("]") => {
                        node = other(1 + node.depth.max(s.depth));
                        last = Trailer::Subscript;
                    }
                    _ => {
                        self.pos = mark;
                        break;
                    }
                }
            } else {
                break;
            }
        }
        Ok(Some((node, last)))
    }

    /// A call's parentheses and arguments, at the `(`: `genexp` or `'(' [arguments] ')'`.
    fn call(&mut self, func: Node) -> R {
        let mark = self.pos;
        self.pos += 1;
        if self.eat_op(")") {
            let expr = match &func.expr {
                Expr::Name(n) if nfkc_is_set(n) => Expr::SetCall,
                _ => Expr::Other,
            };
            return Ok(Some(Node {
                expr,
                depth: 1 + func.depth,
            }));
        }
        #[derive(PartialEq)]
        enum Seen {
            Positional,
            Keyword,
            DoubleStar,
        }
        let mut seen = Seen::Positional;
        let mut depth = func.depth;
        let mut first = true;
        loop {
            // the generated parser reads arguments but a first positional one deeper
            if self.at_op("*") {
                if seen == Seen::DoubleStar {
                    break;
                }
                self.pos += 1;
                let Some(v) = self.deeper(4, Self::expression)? else {
                    break;
                };
                depth = depth.max(2 + v.depth);
            } else if self.at_op("**") {
                self.pos += 1;
                let Some(v) = self.deeper(4, Self::expression)? else {
                    break;
                };
                depth = depth.max(2 + v.depth);
                seen = Seen::DoubleStar;
            } else if self.at_name().is_some() && self.peek_at(1) == &Tok::Op("=") {
                self.pos += 2;
                let Some(v) = self.deeper(3, Self::expression)? else {
                    break;
                };
                depth = depth.max(2 + v.depth);
                if seen == Seen::Positional {
                    seen = Seen::Keyword;
                }
            } else {
                if seen != Seen::Positional {
                    break;
                }
                let later = if first { 0 } else { 4 };
                let Some(v) = self.deeper(later, Self::named_expression)? else {
                    break;
                };
                if self.at_op("=") {
                    break;
                }
                if first && self.at_for() {
                    // a generator expression as the only argument
                    let Some(comp) = self.for_if_clauses()? else {
                        break;
                    };
                    if !self.eat_op(")") {
                        break;
                    }
                    let genexp = 1 + v.depth.max(comp);
                    return Ok(Some(other(1 + func.depth.max(genexp))));
                }
                depth = depth.max(1 + v.depth);
            }
            first = false;
            if self.eat_op(",") {
                if self.eat_op(")") {
                    return Ok(Some(other(1 + depth)));
                }
                continue;
            }
            if self.eat_op(")") {
                return Ok(Some(other(1 + depth)));
            }
            break;
        }
        self.pos = mark;
        Ok(None)
    }

    /// `slices: slice !',' | ','.(slice | starred_expression)+ [',']`.
    fn slices(&mut self) -> R {
        let mut items = Vec::new();
        loop {
            // the generated parser reads the items after the first three calls deeper
            let later = if items.is_empty() { 0 } else { 3 };
            let item = if self.at_op("*") {
                self.deeper(later, |p| p.starred(Self::expression))?
            } else {
                self.deeper(later, Self::slice)?
            };
            let Some(item) = item else {
                if items.is_empty() {
                    return Ok(None);
                }
                break;
            };
            items.push(item);
            if !self.eat_op(",") {
                if items.len() == 1 {
                    return Ok(items.pop());
                }
                break;
            }
            if self.at_op("]") {
                break;
            }
        }
        Ok(Some(tuple(items)))
    }

    /// `slice: [expression] ':' [expression] [':' [expression]] | named_expression`.
    fn slice(&mut self) -> R {
        let mark = self.pos;
        let lower = self.expression()?;
        if self.eat_op(":") {
            let mut depth = lower.map_or(0, |n| n.depth);
            if let Some(upper) = self.expression()? {
                depth = depth.max(upper.depth);
            }
            if self.eat_op(":") {
                if let Some(step) = self.expression()? {
                    depth = depth.max(step.depth);
                }
            }
            return Ok(Some(other(1 + depth)));
        }
        let Some(lower) = lower else {
            return Ok(None);
        };
        if !self.at_op(":=") {
            return Ok(Some(lower));
        }
        // `NAME ':=' expression`, where the expression read was that name
        self.pos = mark;
        if self.at_name().is_some() && self.peek_at(1) == &Tok::Op(":=") {
            return self.named_expression();
        }
        Ok(None)
    }

    /// `atom`.
    fn atom(&mut self) -> R {
        self.check_level(LEVELS_TO_ATOM)?;
        let tok = self.peek().clone();
        let leaf = |expr| Ok(Some(Node { expr, depth: 1 }));
        match tok {
            Tok::Name(n) => {
                let c = match n.as_str() {
                    "True" => "True",
                    "False" => "False",
                    "None" => "None",
                    k if KEYWORDS.contains(&k) => return Ok(None),
                    _ => {
                        self.pos += 1;
                        return leaf(Expr::Name(n));
                    }
                };
                self.pos += 1;
                leaf(Expr::Const(c))
            }
            Tok::Number(text) => {
                check_int_digits(&text)?;
                self.pos += 1;
                leaf(Expr::Num(text))
            }
            Tok::Str(_) => self.strings(),
            Tok::Op("...") => {
                self.pos += 1;
                leaf(Expr::Const("Ellipsis"))
            }
            Tok::Op("(") => self.nested(LEVELS_TO_ATOM + PAREN_LEVELS, Self::paren),
            Tok::Op("[") => self.nested(LEVELS_TO_ATOM + LIST_LEVELS, Self::bracket),
            Tok::Op("{") => self.nested(LEVELS_TO_ATOM + BRACE_LEVELS, Self::brace),
            _ => Ok(None),
        }
    }

    /// Adjacent string tokens.
    fn strings(&mut self) -> R {
        let mut texts = Vec::new();
        while let Tok::Str(s) = self.peek() {
            texts.push(s.clone());
            self.pos += 1;
        }
        let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
        let recursion = self.recursion + 1;
        let mut parse = |src: &str| {
            if recursion >= MAX_RECURSION {
                return Err(Raised::Other("MemoryError: too deeply nested".into()));
            }
            parse_fstring_expr(src, recursion)
        };
        Ok(Some(match concatenate(&texts, &mut parse)? {
            Strings::Str(s) => Node {
                expr: Expr::Str(s),
                depth: 1,
            },
            Strings::Bytes(b) => Node {
                expr: Expr::Bytes(b),
                depth: 1,
            },
            Strings::Joined(depth) => other(depth),
        }))
    }

    /// After `(`: `tuple`, `group` or `genexp`.
    fn paren(&mut self) -> R {
        let mark = self.pos;
        self.pos += 1;
        if self.eat_op(")") {
            return Ok(Some(tuple(Vec::new())));
        }
        let r = self.paren_inner()?;
        if r.is_none() {
            self.pos = mark;
        }
        Ok(r)
    }

    fn paren_inner(&mut self) -> R {
        if self.at_kw("yield") {
            let Some(y) = self.yield_expr()? else {
                return Ok(None);
            };
            return Ok(self.eat_op(")").then_some(y));
        }
        let starred = self.at_op("*");
        let Some(first) = self.star_named_expression()? else {
            return Ok(None);
        };
        if self.at_op(",") {
            let Some(items) = self.rest_of_items(first, ")")? else {
                return Ok(None);
            };
            return Ok(Some(tuple(items)));
        }
        if starred {
            return Ok(None);
        }
        if self.eat_op(")") {
            return Ok(Some(first));
        }
        self.comprehension(first, ")")
    }

    /// `yield_expr: 'yield' 'from' expression | 'yield' [star_expressions]`.
    fn yield_expr(&mut self) -> R {
        self.pos += 1;
        if self.at_kw("from") {
            let mark = self.pos;
            self.pos += 1;
            if let Some(v) = self.expression()? {
                return Ok(Some(other(1 + v.depth)));
            }
            self.pos = mark;
        }
        Ok(Some(match self.star_expressions()? {
            Some(v) => other(1 + v.depth),
            None => other(1),
        }))
    }

    /// After the first item and at a `,`: `(',' star_named_expression)* [','] close`.
    fn rest_of_items(&mut self, first: Node, close: &str) -> Result<Option<Vec<Node>>, Raised> {
        // the generated parser reads the items after the first one or two calls deeper
        let later = if close == ")" { 2 } else { 1 };
        let mut items = vec![first];
        while self.eat_op(",") {
            if self.at_op(close) {
                break;
            }
            let Some(item) = self.deeper(later, Self::star_named_expression)? else {
                return Ok(None);
            };
            items.push(item);
        }
        Ok(self.eat_op(close).then_some(items))
    }

    /// `element for_if_clauses close`, at the `for`.
    fn comprehension(&mut self, element: Node, close: &str) -> R {
        if !self.at_for() {
            return Ok(None);
        }
        let Some(comp) = self.for_if_clauses()? else {
            return Ok(None);
        };
        if !self.eat_op(close) {
            return Ok(None);
        }
        Ok(Some(other(1 + element.depth.max(comp))))
    }

    /// After `[`: `list` or `listcomp`.
    fn bracket(&mut self) -> R {
        let mark = self.pos;
        self.pos += 1;
        if self.eat_op("]") {
            return Ok(Some(Node {
                expr: Expr::List(Vec::new()),
                depth: 1,
            }));
        }
        let starred = self.at_op("*");
        let r = match self.star_named_expression()? {
            None => None,
            Some(first) if !starred && self.at_for() => self.comprehension(first, "]")?,
            Some(first) => self.rest_of_items(first, "]")?.map(|items| Node {
                depth: 1 + max_depth(&items),
                expr: Expr::List(items),
            }),
        };
        if r.is_none() {
            self.pos = mark;
        }
        Ok(r)
    }

    /// After `{`: `dict`, `set`, `dictcomp` or `setcomp`.
    fn brace(&mut self) -> R {
        let mark = self.pos;
        self.pos += 1;
        let r = self.brace_inner()?;
        if r.is_none() {
            self.pos = mark;
        }
        Ok(r)
    }

    fn brace_inner(&mut self) -> R {
        if self.eat_op("}") {
            return Ok(Some(dict(Vec::new())));
        }
        if self.at_op("**") {
            return self.dict_items(Vec::new());
        }
        let set_item =
            self.at_op("*") || (self.at_name().is_some() && self.peek_at(1) == &Tok::Op(":="));
        if set_item {
            let starred = self.at_op("*");
            let Some(first) = self.star_named_expression()? else {
                return Ok(None);
            };
            return self.set_rest(first, starred);
        }
        let Some(key) = self.expression()? else {
            return Ok(None);
        };
        if self.eat_op(":") {
            let Some(value) = self.expression()? else {
                return Ok(None);
            };
            if self.at_for() {
                let depth = key.depth.max(value.depth);
                return self.comprehension(other(depth), "}");
            }
            return self.dict_items(vec![(Some(key), value)]);
        }
        if self.at_op(":=") {
            return Ok(None);
        }
        self.set_rest(key, false)
    }

    /// A set's or a set comprehension's items after the first.
    fn set_rest(&mut self, first: Node, starred: bool) -> R {
        if self.at_for() {
            if starred {
                return Ok(None);
            }
            return self.comprehension(first, "}");
        }
        if self.eat_op("}") {
            return Ok(Some(set(vec![first])));
        }
        if !self.at_op(",") {
            return Ok(None);
        }
        Ok(self.rest_of_items(first, "}")?.map(set))
    }

    /// `double_starred_kvpairs` after the items read, then `}`.
    fn dict_items(&mut self, mut items: Vec<(Option<Node>, Node)>) -> R {
        if !items.is_empty() && !self.eat_op(",") {
            return Ok(self.eat_op("}").then(|| dict(items)));
        }
        loop {
            if self.eat_op("}") {
                return Ok(Some(dict(items)));
            }
            if self.eat_op("**") {
                let Some(v) = self.bitwise_or()? else {
                    return Ok(None);
                };
                items.push((None, v));
            } else {
                let Some(k) = self.expression()? else {
                    return Ok(None);
                };
                if !self.eat_op(":") {
                    return Ok(None);
                }
                let Some(v) = self.expression()? else {
                    return Ok(None);
                };
                items.push((Some(k), v));
            }
            if !self.eat_op(",") {
                return Ok(self.eat_op("}").then(|| dict(items)));
            }
        }
    }

    /// `for_if_clauses`: the depth of the deepest `comprehension` node.
    fn for_if_clauses(&mut self) -> Result<Option<u32>, Raised> {
        let mut depth = None;
        while self.at_for() {
            let mark = self.pos;
            if self.at_kw("async") {
                self.pos += 1;
            }
            self.pos += 1;
            let target = self.star_targets()?;
            let Some(target) = target.filter(|_| self.eat_kw("in")) else {
                self.pos = mark;
                break;
            };
            // `'in' ~ disjunction`: past the cut, a failure fails the clauses
            let Some(iter) = self.disjunction()? else {
                self.pos = mark;
                return Ok(None);
            };
            let mut d = target.max(iter.depth);
            while self.at_kw("if") {
                let if_mark = self.pos;
                self.pos += 1;
                match self.disjunction()? {
                    Some(c) => d = d.max(c.depth),
                    None => {
                        self.pos = if_mark;
                        break;
                    }
                }
            }
            depth = Some(depth.unwrap_or(0).max(1 + d));
        }
        Ok(depth)
    }

    /// `star_targets: star_target !',' | star_target (',' star_target)* [',']`: a depth.
    fn star_targets(&mut self) -> Result<Option<u32>, Raised> {
        let Some(first) = self.star_target()? else {
            return Ok(None);
        };
        if !self.at_op(",") {
            return Ok(Some(first));
        }
        let mut depth = first;
        while self.eat_op(",") {
            let mark = self.pos;
            match self.star_target()? {
                Some(d) => depth = depth.max(d),
                None => {
                    self.pos = mark;
                    break;
                }
            }
        }
        Ok(Some(1 + depth))
    }

    fn memoised(
        &mut self,
        key: bool,
        rule: fn(&mut Self) -> Result<Option<u32>, Raised>,
    ) -> Result<Option<u32>, Raised> {
        if let Some(hit) = self.memo.get(&(key, self.pos)) {
            return Ok(hit.map(|(depth, end)| {
                self.pos = end;
                depth
            }));
        }
        let start = self.pos;
        let r = rule(self)?;
        self.memo.insert((key, start), r.map(|d| (d, self.pos)));
        if r.is_none() {
            self.pos = start;
        }
        Ok(r)
    }

    /// `star_target: '*' (!'*' star_target) | target_with_star_atom`.
    fn star_target(&mut self) -> Result<Option<u32>, Raised> {
        self.memoised(false, |p| {
            if p.at_op("*") {
                let mark = p.pos;
                p.pos += 1;
                if !p.at_op("*") {
                    if let Some(d) = p.star_target()? {
                        return Ok(Some(1 + d));
                    }
                }
                p.pos = mark;
                return Ok(None);
            }
            p.target_with_star_atom()
        })
    }

    /// `target_with_star_atom: t_primary '.' NAME !t_lookahead | t_primary '[' slices ']'
    /// !t_lookahead | star_atom`.
    fn target_with_star_atom(&mut self) -> Result<Option<u32>, Raised> {
        self.memoised(true, |p| {
            let mark = p.pos;
            if let Some((node, last)) = p.primary()? {
                let lookahead = p.at_op("(") || p.at_op("[") || p.at_op(".");
                if matches!(last, Trailer::Attribute | Trailer::Subscript) && !lookahead {
                    return Ok(Some(node.depth));
                }
            }
            p.pos = mark;
            p.star_atom()
        })
    }

    /// `star_atom: NAME | '(' target_with_star_atom ')' | '(' [star_targets_tuple_seq] ')'
    /// | '[' [star_targets_list_seq] ']'`.
    fn star_atom(&mut self) -> Result<Option<u32>, Raised> {
        let mark = self.pos;
        if self.eat_name() {
            return Ok(Some(1));
        }
        let close = if self.eat_op("(") {
            ")"
        } else if self.eat_op("[") {
            "]"
        } else {
            return Ok(None);
        };
        let r = self.nested(0, |p| p.star_atom_inner(close))?;
        if r.is_none() {
            self.pos = mark;
        }
        Ok(r)
    }

    /// After the `(` or `[` of a `star_atom`.
    fn star_atom_inner(&mut self, close: &str) -> Result<Option<u32>, Raised> {
        let mark = self.pos;
        if close == ")" {
            if let Some(d) = self.target_with_star_atom()? {
                if self.eat_op(")") {
                    return Ok(Some(d));
                }
            }
            self.pos = mark;
        }
        // the sequence: in parentheses, a tuple, which needs a comma
        let mut depth = 0;
        let mut count = 0;
        let mut comma = false;
        while !self.at_op(close) {
            let Some(d) = self.star_target()? else {
                return Ok(None);
            };
            depth = depth.max(d);
            count += 1;
            if !self.eat_op(",") {
                break;
            }
            comma = true;
        }
        if !self.eat_op(close) || (close == ")" && count > 0 && !comma) {
            return Ok(None);
        }
        Ok(Some(1 + depth))
    }
}

fn tuple(items: Vec<Node>) -> Node {
    Node {
        depth: 1 + max_depth(&items),
        expr: Expr::Tuple(items),
    }
}

fn set(items: Vec<Node>) -> Node {
    Node {
        depth: 1 + max_depth(&items),
        expr: Expr::Set(items),
    }
}

fn dict(items: Vec<(Option<Node>, Node)>) -> Node {
    let depth = items
        .iter()
        .flat_map(|(k, v)| k.iter().chain([v]))
        .map(|n| n.depth)
        .max()
        .unwrap_or(0);
    Node {
        depth: 1 + depth,
        expr: Expr::Dict(items),
    }
}

/// Python reads a decimal integer literal too long for a C `long` with `int()`, which refuses
/// more than 4300 digits (a `SyntaxError` here).
fn check_int_digits(text: &str) -> Result<(), Raised> {
    let digits: String = text.chars().filter(|c| *c != '_').collect();
    let decimal_int = digits.chars().all(|c| c.is_ascii_digit());
    if decimal_int && digits.trim_start_matches('0').len() > 4300 {
        return Err(syntax(format!(
            "Exceeds the limit (4300 digits) for integer string conversion: value has {} digits",
            digits.len()
        )));
    }
    Ok(())
}
