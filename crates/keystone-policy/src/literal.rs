//! What `ast.literal_eval(kind)` does to the kind of a generic check (`'member':%(x)s`,
//! `True:%(x)s`, `token.domain.id:...`): a Python literal is compared as `str(value)`; any
//! other valid Python expression (`ValueError`) is a dotted path into the credentials; text that
//! is not Python at all (`SyntaxError`) makes the check raise.
//!
//! This is a small Python expression parser, enough to tell those three apart for the text a
//! kind can hold (no colon; whitespace only in the list-of-lists form, `[[" user_id:%(x)s"]]`).

use crate::pyfmt::{py_float_repr, py_str_repr};

/// What a generic check's kind means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KindMeaning {
    /// A literal: the check compares the match with this text (`str(value)`).
    Literal(String),
    /// A dotted path into the credentials.
    Path(Vec<String>),
    /// Python raises `SyntaxError`: the check raises.
    Raise(String),
}

/// Classifies a kind as `ast.literal_eval` would.
pub(crate) fn classify(kind: &str) -> KindMeaning {
    let path = || KindMeaning::Path(kind.split('.').map(str::to_owned).collect());
    let tokens = match tokenize(kind) {
        Ok(t) => t,
        Err(e) => return KindMeaning::Raise(e),
    };
    let mut p = Parser { tokens, pos: 0 };
    let expr = match p.expressions() {
        Ok(e) => e,
        Err(e) => return KindMeaning::Raise(e),
    };
    if p.pos != p.tokens.len() {
        return KindMeaning::Raise("invalid syntax".into());
    }
    match literal(&expr) {
        Some(v) => KindMeaning::Literal(v.py_str()),
        None => path(),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Name(String),
    Num(Num),
    Str(StrLit),
    Op(&'static str),
}

#[derive(Debug, Clone, PartialEq)]
enum Num {
    Int(Option<i128>),
    Float(f64),
    Imag(f64),
}

#[derive(Debug, Clone, PartialEq)]
enum StrLit {
    Str(String),
    Bytes(Vec<u8>),
    FString,
}

const KEYWORDS: &[&str] = &[
    "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del", "elif",
    "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda",
    "nonlocal", "not", "or", "pass", "raise", "return", "try", "while", "with", "yield",
];

const OPS: &[&str] = &[
    "**=", "//=", ">>=", "<<=", "...", "->", ":=", "**", "//", "<<", ">>", "<=", ">=", "==", "!=",
    "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "@=", "+", "-", "*", "/", "%", "@", "&", "|",
    "^", "~", "<", ">", "(", ")", "[", "]", "{", "}", ",", ".", ";", "=",
];

/// How deeply brackets may nest in a kind; deeper is a `SyntaxError` ("too many nested
/// parentheses"), as in Python, whose tokenizer allows twice as many (200). Brackets are the
/// only recursion of the parser below (chains of unary operators, `not`, `**`, `+` and `-`
/// are read in loops), so this bounds the stack it needs; real kinds nest once or twice.
pub(crate) const MAX_BRACKETS: usize = 100;

fn is_id_start(c: char) -> bool {
    c == '_' || c.is_alphabetic()
}

fn is_id_continue(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// Python's tokens of `src` as `ast.literal_eval` reads it: leading spaces and tabs stripped,
/// blanks between tokens skipped, newlines inside brackets joined, comments and blank lines
/// skipped; a second line with tokens, or an indented one, is a `SyntaxError`.
fn tokenize(src: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = src.trim_start_matches([' ', '\t']).chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    // open brackets; whether a logical line with tokens has ended; at the start of a line
    let (mut depth, mut ended, mut line_start) = (0usize, false, false);
    while i < chars.len() {
        let c = chars[i];
        if c == '#' {
            // a comment runs to the end of its line
            while i < chars.len() && chars[i] != '\n' && chars[i] != '\r' {
                i += 1;
            }
            continue;
        }
        if c == '\\' && matches!(chars.get(i + 1), Some('\n' | '\r')) {
            i += 2; // an explicit line joining
            continue;
        }
        if c == '\n' || c == '\r' {
            if depth == 0 {
                ended |= !out.is_empty();
                line_start = true;
            }
            i += 1;
            continue;
        }
        if matches!(c, ' ' | '\t' | '\x0c') {
            if line_start {
                return Err("unexpected indent".into());
            }
            i += 1;
            continue;
        }
        line_start = false;
        if ended {
            return Err("invalid syntax".into());
        }
        match c {
            '(' | '[' | '{' if depth >= MAX_BRACKETS => {
                return Err("too many nested parentheses".into());
            }
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        if is_id_start(c) {
            let start = i;
            while i < chars.len() && is_id_continue(chars[i]) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            if i < chars.len() && (chars[i] == '\'' || chars[i] == '"') && is_string_prefix(&word) {
                let (lit, next) = string(&chars, i, &word.to_ascii_lowercase())?;
                out.push(Tok::Str(lit));
                i = next;
            } else {
                out.push(Tok::Name(word));
            }
            continue;
        }
        if c == '\'' || c == '"' {
            let (lit, next) = string(&chars, i, "")?;
            out.push(Tok::Str(lit));
            i = next;
            continue;
        }
        if c.is_ascii_digit() || (c == '.' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit()))
        {
            let (num, next) = number(&chars, i)?;
            if chars.get(next).is_some_and(|c| is_id_continue(*c)) {
                return Err("invalid decimal literal".into());
            }
            out.push(Tok::Num(num));
            i = next;
            continue;
        }
        let rest: String = chars[i..chars.len().min(i + 3)].iter().collect();
        match OPS.iter().find(|op| rest.starts_with(**op)) {
            Some(op) => {
                out.push(Tok::Op(op));
                i += op.chars().count();
            }
            None => return Err(format!("invalid character '{c}'")),
        }
    }
    Ok(out)
}

fn is_string_prefix(w: &str) -> bool {
    matches!(
        w.to_ascii_lowercase().as_str(),
        "r" | "u" | "b" | "f" | "br" | "rb" | "fr" | "rf"
    )
}

fn string(chars: &[char], start: usize, prefix: &str) -> Result<(StrLit, usize), String> {
    let q = chars[start];
    let triple = chars.get(start + 1) == Some(&q) && chars.get(start + 2) == Some(&q);
    let mut i = start + if triple { 3 } else { 1 };
    let raw = prefix.contains('r');
    let mut body = String::new();
    loop {
        let Some(&c) = chars.get(i) else {
            return Err("unterminated string literal".into());
        };
        if c == '\\' {
            let Some(&n) = chars.get(i + 1) else {
                return Err("unterminated string literal".into());
            };
            body.push(c);
            body.push(n);
            i += 2;
            continue;
        }
        if c == q && (!triple || (chars.get(i + 1) == Some(&q) && chars.get(i + 2) == Some(&q))) {
            i += if triple { 3 } else { 1 };
            break;
        }
        body.push(c);
        i += 1;
    }
    if prefix.contains('f') {
        return Ok((StrLit::FString, i));
    }
    let text = if raw { body } else { unescape(&body)? };
    if prefix.contains('b') {
        if !text.is_ascii() {
            return Err("bytes can only contain ASCII literal characters".into());
        }
        return Ok((StrLit::Bytes(text.chars().map(|c| c as u8).collect()), i));
    }
    Ok((StrLit::Str(text), i))
}

fn unescape(body: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut it = body.chars().peekable();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(n) = it.next() else { break };
        match n {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            'a' => out.push('\u{7}'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'v' => out.push('\u{b}'),
            '\\' | '\'' | '"' => out.push(n),
            '\n' => {}
            'x' | 'u' | 'U' => {
                let len = match n {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let hex: String = (0..len).filter_map(|_| it.next()).collect();
                let code = u32::from_str_radix(&hex, 16)
                    .ok()
                    .filter(|_| hex.len() == len)
                    .ok_or_else(|| format!("truncated \\{n} escape"))?;
                out.push(char::from_u32(code).ok_or("illegal Unicode character")?);
            }
            '0'..='7' => {
                let mut code = n.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    match it.peek().and_then(|d| d.to_digit(8)) {
                        Some(d) => {
                            code = code * 8 + d;
                            it.next();
                        }
                        None => break,
                    }
                }
                out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
            }
            'N' => return Err("\\N escapes are not emulated".into()),
            other => {
                out.push('\\');
                out.push(other);
            }
        }
    }
    Ok(out)
}

fn digitpart(chars: &[char], mut i: usize, ok: fn(char) -> bool) -> Result<usize, String> {
    // digits with single underscores between them
    if !chars.get(i).is_some_and(|c| ok(*c)) {
        return Err("invalid number".into());
    }
    while i < chars.len() {
        let underscore_then_digit = chars[i] == '_' && chars.get(i + 1).is_some_and(|c| ok(*c));
        if ok(chars[i]) || underscore_then_digit {
            i += 1;
        } else {
            break;
        }
    }
    Ok(i)
}

fn number(chars: &[char], start: usize) -> Result<(Num, usize), String> {
    let text = |a: usize, b: usize| {
        chars[a..b]
            .iter()
            .filter(|c| **c != '_')
            .collect::<String>()
    };
    if chars[start] == '0' && chars.get(start + 1).is_some_and(|c| "xXoObB".contains(*c)) {
        let (radix, ok): (u32, fn(char) -> bool) = match chars[start + 1].to_ascii_lowercase() {
            'x' => (16, |c| c.is_ascii_hexdigit()),
            'o' => (8, |c| ('0'..='7').contains(&c)),
            _ => (2, |c| c == '0' || c == '1'),
        };
        let mut i = start + 2;
        if chars.get(i) == Some(&'_') {
            i += 1;
        }
        let end = digitpart(chars, i, ok).map_err(|_| "invalid number literal".to_owned())?;
        let value = i128::from_str_radix(&text(start + 2, end), radix).ok();
        return Ok((Num::Int(value), end));
    }
    let digit = |c: char| c.is_ascii_digit();
    let mut i = start;
    let mut is_float = false;
    if chars[i] != '.' {
        i = digitpart(chars, i, digit)?;
    }
    if chars.get(i) == Some(&'.') {
        is_float = true;
        i += 1;
        if chars.get(i).is_some_and(|c| c.is_ascii_digit()) {
            i = digitpart(chars, i, digit)?;
        }
    }
    if chars.get(i).is_some_and(|c| *c == 'e' || *c == 'E') {
        let mut j = i + 1;
        if chars.get(j).is_some_and(|c| *c == '+' || *c == '-') {
            j += 1;
        }
        if chars.get(j).is_some_and(|c| c.is_ascii_digit()) {
            i = digitpart(chars, j, digit)?;
            is_float = true;
        }
    }
    let t = text(start, i);
    if chars.get(i).is_some_and(|c| *c == 'j' || *c == 'J') {
        return Ok((Num::Imag(t.parse().unwrap_or(0.0)), i + 1));
    }
    if is_float {
        return Ok((Num::Float(t.parse().unwrap_or(0.0)), i));
    }
    if t.len() > 1 && t.starts_with('0') && t.chars().any(|c| c != '0') {
        return Err("leading zeros in decimal integer literals are not permitted".into());
    }
    Ok((Num::Int(t.parse().ok()), i))
}

/// A parsed Python expression, as much as literal_eval needs.
#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Num(Num),
    Str(StrLit),
    Const(&'static str),
    Tuple(Vec<Expr>),
    List(Vec<Expr>),
    Set(Vec<Expr>),
    EmptyDict,
    Neg(Box<Expr>),
    Pos(Box<Expr>),
    Add(Box<Expr>, Box<Expr>),
    Sub(Box<Expr>, Box<Expr>),
    SetCall,
    Other,
}

/// The unary operators before a factor, as far as a literal cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unary {
    None,
    Neg,
    Pos,
    /// `~`, or more than one operator.
    Other,
}

struct Parser {
    tokens: Vec<Tok>,
    pos: usize,
}

type PResult = Result<Expr, String>;

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos)
    }

    fn eat(&mut self, op: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Op(o)) if *o == op) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, op: &str) -> Result<(), String> {
        if self.eat(op) {
            Ok(())
        } else {
            Err(format!("expected '{op}'"))
        }
    }

    fn at_expr_start(&self) -> bool {
        match self.peek() {
            Some(Tok::Op(o)) => matches!(*o, "(" | "[" | "{" | "-" | "+" | "~" | "..." | "*"),
            Some(Tok::Name(n)) => !KEYWORDS.contains(&n.as_str()) || n == "not" || n == "await",
            Some(_) => true,
            None => false,
        }
    }

    /// `a, b, *c` at the top level or inside parentheses.
    fn expressions(&mut self) -> PResult {
        let first = self.star_expr()?;
        if !self.eat(",") {
            return Ok(first);
        }
        let mut items = vec![first];
        while self.at_expr_start() {
            items.push(self.star_expr()?);
            if !self.eat(",") {
                break;
            }
        }
        Ok(Expr::Tuple(items))
    }

    fn star_expr(&mut self) -> PResult {
        if self.eat("*") {
            self.binary(0)?;
            return Ok(Expr::Other);
        }
        self.inversion()
    }

    fn inversion(&mut self) -> PResult {
        // `not not ... x`, read in a loop: any `not` makes it other than a literal
        let mut negated = false;
        while matches!(self.peek(), Some(Tok::Name(n)) if n == "not") {
            self.pos += 1;
            negated = true;
        }
        let left = self.binary(0)?;
        let mut compared = false;
        while let Some(Tok::Op(o)) = self.peek() {
            if matches!(*o, "<" | ">" | "<=" | ">=" | "==" | "!=") {
                self.pos += 1;
                self.binary(0)?;
                compared = true;
            } else {
                break;
            }
        }
        Ok(if negated || compared {
            Expr::Other
        } else {
            left
        })
    }

    /// The binary operators, loosest first, read by precedence climbing: `binary(level)` reads
    /// operators of `level` and tighter, left-associative (one frame per operand rather than
    /// one per precedence level, which keeps bracket nesting cheap in stack).
    fn binary(&mut self, level: usize) -> PResult {
        const LEVELS: &[&[&str]] = &[
            &["|"],
            &["^"],
            &["&"],
            &["<<", ">>"],
            &["+", "-"],
            &["*", "/", "//", "%", "@"],
        ];
        let mut left = self.factor()?;
        while let Some(Tok::Op(o)) = self.peek() {
            let o = *o;
            let Some(op_level) = LEVELS.iter().position(|ops| ops.contains(&o)) else {
                break;
            };
            if op_level < level {
                break;
            }
            self.pos += 1;
            let right = self.binary(op_level + 1)?;
            // a sum is a literal only as `number + imaginary`, so `a + b + c` is not one (and
            // long chains do not make a deep tree)
            left = match o {
                _ if matches!(left, Expr::Add(..) | Expr::Sub(..)) => Expr::Other,
                "+" => Expr::Add(Box::new(left), Box::new(right)),
                "-" => Expr::Sub(Box::new(left), Box::new(right)),
                _ => Expr::Other,
            };
        }
        Ok(left)
    }

    /// `factor: ('-' | '+' | '~') factor | power` and `power: ['await'] primary ['**' factor]`,
    /// read in loops: only one `-` or `+` before a number can make a literal, so a longer run
    /// of unary operators, or any `**`, is simply not one.
    fn factor(&mut self) -> PResult {
        let sign = self.unary_operators();
        let mut value = self.power_operand()?;
        while self.eat("**") {
            self.unary_operators();
            self.power_operand()?;
            value = Expr::Other;
        }
        Ok(match sign {
            Unary::None => value,
            Unary::Neg => Expr::Neg(Box::new(value)),
            Unary::Pos => Expr::Pos(Box::new(value)),
            Unary::Other => Expr::Other,
        })
    }

    fn unary_operators(&mut self) -> Unary {
        let mut sign = Unary::None;
        loop {
            let op = if self.eat("-") {
                Unary::Neg
            } else if self.eat("+") {
                Unary::Pos
            } else if self.eat("~") {
                Unary::Other
            } else {
                return sign;
            };
            sign = match sign {
                Unary::None => op,
                _ => Unary::Other,
            };
        }
    }

    fn power_operand(&mut self) -> PResult {
        if matches!(self.peek(), Some(Tok::Name(n)) if n == "await") {
            self.pos += 1;
            self.primary()?;
            return Ok(Expr::Other);
        }
        self.primary()
    }

    fn primary(&mut self) -> PResult {
        let mut e = self.atom()?;
        loop {
            if self.eat(".") {
                match self.peek() {
                    Some(Tok::Name(n))
                        if !KEYWORDS.contains(&n.as_str())
                            && !["True", "False", "None"].contains(&n.as_str()) =>
                    {
                        self.pos += 1;
                        e = Expr::Other;
                    }
                    _ => return Err("invalid syntax".into()),
                }
            } else if self.eat("(") {
                let is_set = e == Expr::Other
                    && matches!(self.tokens.get(self.pos.wrapping_sub(2)), Some(Tok::Name(n)) if n == "set");
                let mut nargs = 0;
                while !self.eat(")") {
                    if self.eat("**") || self.eat("*") {
                        self.binary(0)?;
                    } else if matches!(self.peek(), Some(Tok::Name(_)))
                        && matches!(self.tokens.get(self.pos + 1), Some(Tok::Op("=")))
                    {
                        self.pos += 2;
                        self.inversion()?;
                    } else {
                        self.inversion()?;
                    }
                    nargs += 1;
                    if !self.eat(",") {
                        self.expect(")")?;
                        break;
                    }
                }
                e = if is_set && nargs == 0 {
                    Expr::SetCall
                } else {
                    Expr::Other
                };
            } else if self.eat("[") {
                self.expressions()?;
                self.expect("]")?;
                e = Expr::Other;
            } else {
                return Ok(e);
            }
        }
    }

    fn atom(&mut self) -> PResult {
        let Some(tok) = self.peek().cloned() else {
            return Err("unexpected end of expression".into());
        };
        self.pos += 1;
        match tok {
            Tok::Num(n) => Ok(Expr::Num(n)),
            Tok::Str(first) => {
                let mut parts = vec![first];
                while let Some(Tok::Str(s)) = self.peek().cloned() {
                    parts.push(s);
                    self.pos += 1;
                }
                concat(parts)
            }
            Tok::Name(n) => match n.as_str() {
                "True" => Ok(Expr::Const("True")),
                "False" => Ok(Expr::Const("False")),
                "None" => Ok(Expr::Const("None")),
                k if KEYWORDS.contains(&k) => Err("invalid syntax".into()),
                _ => Ok(Expr::Other),
            },
            Tok::Op("...") => Ok(Expr::Const("Ellipsis")),
            Tok::Op("(") => {
                if self.eat(")") {
                    return Ok(Expr::Tuple(Vec::new()));
                }
                let inner = self.expressions()?;
                self.expect(")")?;
                Ok(inner)
            }
            Tok::Op("[") => {
                let items = self.elements("]")?;
                Ok(Expr::List(items))
            }
            Tok::Op("{") => {
                if self.eat("}") {
                    return Ok(Expr::EmptyDict);
                }
                if self.eat("**") {
                    self.binary(0)?;
                    while self.eat(",") {
                        if self.eat("}") {
                            return Ok(Expr::Other);
                        }
                        self.expect("**")?;
                        self.binary(0)?;
                    }
                    self.expect("}")?;
                    return Ok(Expr::Other);
                }
                let items = self.elements("}")?;
                Ok(Expr::Set(items))
            }
            _ => Err("invalid syntax".into()),
        }
    }

    fn elements(&mut self, close: &str) -> Result<Vec<Expr>, String> {
        let mut items = Vec::new();
        while !self.eat(close) {
            items.push(self.star_expr()?);
            if !self.eat(",") {
                self.expect(close)?;
                break;
            }
        }
        Ok(items)
    }
}

fn concat(parts: Vec<StrLit>) -> PResult {
    let bytes = parts
        .iter()
        .filter(|p| matches!(p, StrLit::Bytes(_)))
        .count();
    if bytes != 0 && bytes != parts.len() {
        return Err("cannot mix bytes and nonbytes literals".into());
    }
    if parts.contains(&StrLit::FString) {
        return Ok(Expr::Other);
    }
    let mut text = String::new();
    let mut raw = Vec::new();
    for p in parts {
        match p {
            StrLit::Str(s) => text.push_str(&s),
            StrLit::Bytes(b) => raw.extend(b),
            StrLit::FString => {}
        }
    }
    Ok(Expr::Str(if bytes > 0 {
        StrLit::Bytes(raw)
    } else {
        StrLit::Str(text)
    }))
}

/// A Python value literal_eval can produce.
#[derive(Debug, Clone, PartialEq)]
enum PyVal {
    Int(Option<i128>),
    Float(f64),
    Complex(f64, f64),
    Str(String),
    Bytes(Vec<u8>),
    Const(&'static str),
    Tuple(Vec<PyVal>),
    List(Vec<PyVal>),
    Set(Vec<PyVal>),
    EmptySet,
    EmptyDict,
}

/// `ast.literal_eval`'s `_convert`.
fn literal(e: &Expr) -> Option<PyVal> {
    let num = |e: &Expr| match e {
        Expr::Num(Num::Int(i)) => Some(PyVal::Int(*i)),
        Expr::Num(Num::Float(f)) => Some(PyVal::Float(*f)),
        Expr::Num(Num::Imag(f)) => Some(PyVal::Complex(0.0, *f)),
        _ => None,
    };
    let signed = |e: &Expr| match e {
        Expr::Neg(inner) => num(inner).map(negate),
        Expr::Pos(inner) => num(inner),
        other => num(other),
    };
    match e {
        Expr::Num(_) => num(e),
        Expr::Str(StrLit::Str(s)) => Some(PyVal::Str(s.clone())),
        Expr::Str(StrLit::Bytes(b)) => Some(PyVal::Bytes(b.clone())),
        Expr::Str(StrLit::FString) => None,
        Expr::Const(c) => Some(PyVal::Const(c)),
        Expr::Tuple(items) => items
            .iter()
            .map(literal)
            .collect::<Option<_>>()
            .map(PyVal::Tuple),
        Expr::List(items) => items
            .iter()
            .map(literal)
            .collect::<Option<_>>()
            .map(PyVal::List),
        Expr::Set(items) => items
            .iter()
            .map(literal)
            .collect::<Option<_>>()
            .map(PyVal::Set),
        Expr::EmptyDict => Some(PyVal::EmptyDict),
        Expr::SetCall => Some(PyVal::EmptySet),
        Expr::Neg(_) | Expr::Pos(_) => signed(e),
        Expr::Add(l, r) | Expr::Sub(l, r) => {
            let left = signed(l)?;
            let (re, lim) = match left {
                PyVal::Int(Some(i)) => (i as f64, 0.0),
                PyVal::Float(f) => (f, 0.0),
                _ => return None,
            };
            let PyVal::Complex(_, im) = num(r)? else {
                return None;
            };
            let im = if matches!(e, Expr::Sub(..)) {
                lim - im
            } else {
                lim + im
            };
            Some(PyVal::Complex(re, im))
        }
        Expr::Other => None,
    }
}

fn negate(v: PyVal) -> PyVal {
    match v {
        PyVal::Int(i) => PyVal::Int(i.map(|i| -i)),
        PyVal::Float(f) => PyVal::Float(-f),
        PyVal::Complex(re, im) => PyVal::Complex(-re, -im),
        other => other,
    }
}

fn complex_part(f: f64) -> String {
    let s = py_float_repr(f);
    s.strip_suffix(".0").map(str::to_owned).unwrap_or(s)
}

impl PyVal {
    fn py_str(&self) -> String {
        match self {
            PyVal::Str(s) => s.clone(),
            other => other.py_repr(),
        }
    }

    fn py_repr(&self) -> String {
        let join = |items: &[PyVal]| {
            items
                .iter()
                .map(PyVal::py_repr)
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self {
            PyVal::Int(Some(i)) => i.to_string(),
            PyVal::Int(None) => "<big int>".into(),
            PyVal::Float(f) => py_float_repr(*f),
            PyVal::Complex(re, im) => {
                if *re == 0.0 && re.is_sign_positive() {
                    format!("{}j", complex_part(*im))
                } else {
                    let sign = if *im < 0.0 || (*im == 0.0 && im.is_sign_negative()) {
                        "-"
                    } else {
                        "+"
                    };
                    format!("({}{sign}{}j)", complex_part(*re), complex_part(im.abs()))
                }
            }
            PyVal::Str(s) => py_str_repr(s),
            PyVal::Bytes(b) => {
                let s: String = b.iter().map(|c| *c as char).collect();
                format!("b{}", py_str_repr(&s))
            }
            PyVal::Const(c) => (*c).to_owned(),
            PyVal::Tuple(items) if items.len() == 1 => format!("({},)", items[0].py_repr()),
            PyVal::Tuple(items) => format!("({})", join(items)),
            PyVal::List(items) => format!("[{}]", join(items)),
            PyVal::Set(items) => format!("{{{}}}", join(items)),
            PyVal::EmptySet => "set()".into(),
            PyVal::EmptyDict => "{}".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(kind: &str, want: &str) {
        let got = match classify(kind) {
            KindMeaning::Literal(s) => format!("literal {s}"),
            KindMeaning::Path(p) => format!("path {}", p.join("/")),
            KindMeaning::Raise(_) => "raise".to_owned(),
        };
        assert_eq!(got, want, "{kind}");
    }

    #[test]
    fn kinds() {
        check("'member'", "literal member");
        check("\"member\"", "literal member");
        check("True", "literal True");
        check("None", "literal None");
        check("1", "literal 1");
        check("-1", "literal -1");
        check("1.5", "literal 1.5");
        check("1e3", "literal 1000.0");
        check("0x10", "literal 16");
        check("1_000", "literal 1000");
        check("[1,'a']", "literal [1, 'a']");
        check("(1,)", "literal (1,)");
        check("1,2", "literal (1, 2)");
        check("'a''b'", "literal ab");
        check("b'x'", "literal b'x'");
        check("1+2j", "literal (1+2j)");
        check("2j", "literal 2j");
        check("{}", "literal {}");
        check("set()", "literal set()");
        check("1#comment", "literal 1");
        check("user_id", "path user_id");
        check("token.domain.id", "path token/domain/id");
        check("True.x", "path True/x");
        check("a-b", "path a-b");
        check("f(x)", "path f(x)");
        check("1+1", "path 1+1");
        check("-True", "path -True");
        check("is_admin", "path is_admin");
        check("role-x.y", "path role-x/y");
        check("'unterminated", "raise");
        check("a$b", "raise");
        check("1a", "raise");
        check("0777", "raise");
        check("", "raise");
        check("a.", "raise");
        check(".a", "raise");
        check("if", "raise");
        check("a.if", "raise");
        check("x)", "raise");
        check("a=b", "raise");
        check("a!b", "raise");
        check("b'é'", "raise");
    }

    #[test]
    fn kinds_with_whitespace_as_python_reads_them() {
        // leading blanks are stripped, blanks between tokens skipped, and a path keeps them
        check(" user_id", "path  user_id");
        check("\tuser_id", "path \tuser_id");
        check("- 1", "literal -1");
        check("( 1 )", "literal 1");
        check("'a' 'b'", "literal ab");
        check("a . b", "path a / b");
        check("x \n", "path x \n");
        check("\n\nx", "path \n\nx");
        check("#c\nx", "path #c\nx");
        check("[1,\n2]", "literal [1, 2]");
        check("(1\n)", "literal 1");
        check("\\\nx", "path \\\nx");
        // an indented line, or a second line with tokens, is a SyntaxError
        check("\n x", "raise");
        check("x\n ", "raise");
        check("a\n.b", "raise");
        check("1 2", "raise");
    }
}
