//! Python 3.11's tokenizer (`Parser/tokenizer.c`, `tok_get`) for a source string, as
//! `compile()` reads one in `eval` mode: newlines translated (`\r\n` and `\r` are `\n`), then
//! indentation, blank and comment lines, explicit and implicit line joining, names, numbers,
//! strings (their text only: `strings.rs` decodes them), operators and bracket nesting.
//!
//! Any error is Python's `SyntaxError` (an `IndentationError` is one); its message is kept for
//! the record. What the tokenizer only warns about (`1if x else y`, `'\d'`) is not an error.

use super::unicode::{is_xid_continue, is_xid_start};

/// One token.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    /// A name or a keyword (the parser tells them apart).
    Name(String),
    /// A number's text, as written.
    Number(String),
    /// A string's text, prefix and quotes included.
    Str(String),
    /// An operator or delimiter; a character Python has no token for is `Op("?")`, which no
    /// rule accepts.
    Op(&'static str),
    Newline,
    /// An indented line: no rule of `eval` accepts it.
    Indent,
    End,
}

/// Python's limit on nested brackets (`MAXLEVEL`): opening the 201st is a `SyntaxError`
/// ("too many nested parentheses").
pub(super) const MAX_LEVEL: usize = 200;

const TWO_CHAR: &[&str] = &[
    "!=", "%=", "&=", "**", "*=", "+=", "-=", "->", "//", "/=", ":=", "<<", "<=", "<>", "==", ">=",
    ">>", "@=", "^=", "|=",
];
const THREE_CHAR: &[&str] = &["**=", "//=", "<<=", ">>="];
const ONE_CHAR: &[&str] = &[
    "%", "&", "(", ")", "*", "+", ",", "-", ".", "/", ":", ";", "<", "=", ">", "@", "[", "]", "^",
    "{", "|", "}", "~",
];

struct Lexer {
    chars: Vec<char>,
    pos: usize,
}

/// `None` stands for EOF, as `tok_nextc`'s `EOF`.
impl Lexer {
    fn next(&mut self) -> Option<char> {
        let c = self.chars.get(self.pos).copied();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    /// Steps back over `c`, the character last read (`tok_backup`: nothing for EOF).
    fn backup(&mut self, c: Option<char>) {
        if c.is_some() {
            self.pos -= 1;
        }
    }

    fn peek_is(&self, offset: usize, s: &str) -> bool {
        s.chars()
            .enumerate()
            .all(|(i, c)| self.chars.get(self.pos + offset + i) == Some(&c))
    }
}

fn is_potential_identifier_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || !c.is_ascii()
}

fn is_potential_identifier_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || !c.is_ascii()
}

fn is_identifier(word: &str) -> bool {
    let mut chars = word.chars();
    chars.next().is_some_and(is_xid_start) && chars.all(is_xid_continue)
}

/// `\r\n` and `\r` become `\n` (`translate_newlines`).
fn translate_newlines(src: &str) -> Vec<char> {
    let mut out = Vec::with_capacity(src.len());
    let mut chars = src.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' {
            if chars.peek() == Some(&'\n') {
                chars.next();
            }
            out.push('\n');
        } else {
            out.push(c);
        }
    }
    out
}

/// The tokens of `src`, or the `SyntaxError` Python's tokenizer raises.
pub(super) fn tokenize(src: &str) -> Result<Vec<Tok>, String> {
    if src.contains('\0') {
        return Err("source code string cannot contain null bytes".into());
    }
    let mut lx = Lexer {
        chars: translate_newlines(src),
        pos: 0,
    };
    let mut out = Vec::new();
    let mut level = 0usize;
    let mut parens: Vec<char> = Vec::new();
    let mut atbol = true;
    // the indentation of the first line, the only one an `eval` source may have
    let mut indented = false;
    loop {
        let mut blankline = false;
        if atbol {
            atbol = false;
            let (mut col, mut cont_line_col) = (0usize, None);
            let c = loop {
                match lx.next() {
                    Some(' ') => col += 1,
                    Some('\t') => col = (col / 8 + 1) * 8,
                    Some('\x0c') => col = 0,
                    Some('\\') => {
                        cont_line_col = cont_line_col.or(Some(col)).filter(|c| *c != 0);
                        continuation(&mut lx)?;
                    }
                    other => break other,
                }
            };
            lx.backup(c);
            if matches!(c, Some('#' | '\n')) {
                blankline = true;
            }
            if !blankline && level == 0 {
                let col = cont_line_col.unwrap_or(col);
                if col > 0 && !indented {
                    // an INDENT token: `eval` has no rule for it
                    indented = true;
                    out.push(Tok::Indent);
                }
            }
        }
        // skip spaces, and a line continuation, then read one token
        let c = loop {
            let c = loop {
                match lx.next() {
                    Some(' ' | '\t' | '\x0c') => {}
                    other => break other,
                }
            };
            if c == Some('\\') {
                continuation(&mut lx)?;
                continue;
            }
            break c;
        };
        let c = if c == Some('#') {
            let mut c = c;
            while !matches!(c, None | Some('\n')) {
                c = lx.next();
            }
            c
        } else {
            c
        };
        let Some(c) = c else {
            if level > 0 {
                return Err("unexpected EOF while parsing".into());
            }
            out.push(Tok::End);
            return Ok(out);
        };
        let start = lx.pos - 1;
        if c == '\n' {
            atbol = true;
            if blankline || level > 0 {
                continue;
            }
            out.push(Tok::Newline);
            continue;
        }
        if is_potential_identifier_start(c) {
            out.push(name_or_string(&mut lx, start)?);
            continue;
        }
        if c == '.' {
            match lx.next() {
                Some(d) if d.is_ascii_digit() => {
                    lx.pos = start;
                    out.push(number(&mut lx)?);
                    continue;
                }
                Some('.') if lx.peek_is(0, ".") => {
                    lx.pos += 1;
                    out.push(Tok::Op("..."));
                    continue;
                }
                other => lx.backup(other),
            }
            out.push(Tok::Op("."));
            continue;
        }
        if c.is_ascii_digit() {
            lx.pos = start;
            out.push(number(&mut lx)?);
            continue;
        }
        if c == '\'' || c == '"' {
            lx.pos = start;
            out.push(string(&mut lx, start)?);
            continue;
        }
        let rest: String = lx.chars[start..lx.chars.len().min(start + 3)]
            .iter()
            .collect();
        if let Some(op) = THREE_CHAR.iter().find(|op| rest.starts_with(**op)) {
            lx.pos = start + 3;
            out.push(Tok::Op(op));
            continue;
        }
        if let Some(op) = TWO_CHAR.iter().find(|op| rest.starts_with(**op)) {
            lx.pos = start + 2;
            out.push(Tok::Op(op));
            continue;
        }
        match c {
            '(' | '[' | '{' => {
                if level >= MAX_LEVEL {
                    return Err("too many nested parentheses".into());
                }
                parens.push(c);
                level += 1;
            }
            ')' | ']' | '}' => {
                let Some(open) = parens.pop() else {
                    return Err(format!("unmatched '{c}'"));
                };
                level -= 1;
                if !matches!((open, c), ('(', ')') | ('[', ']') | ('{', '}')) {
                    return Err(format!(
                        "closing parenthesis '{c}' does not match opening parenthesis '{open}'"
                    ));
                }
            }
            _ => {}
        }
        if c.is_ascii_control() {
            return Err(format!(
                "invalid non-printable character U+{:04X}",
                u32::from(c)
            ));
        }
        out.push(Tok::Op(
            ONE_CHAR
                .iter()
                .find(|op| op.starts_with(c))
                .copied()
                .unwrap_or("?"),
        ));
    }
}

/// After a backslash: a newline must follow, and something after it (`tok_continuation_line`).
fn continuation(lx: &mut Lexer) -> Result<(), String> {
    if lx.next() != Some('\n') {
        return Err("unexpected character after line continuation character".into());
    }
    let c = lx.next();
    if c.is_none() {
        return Err("unexpected EOF while parsing".into());
    }
    lx.backup(c);
    Ok(())
}

/// A name, or a string with a prefix (`rb'...'`); its first character has been read.
fn name_or_string(lx: &mut Lexer, start: usize) -> Result<Tok, String> {
    let (mut saw_b, mut saw_r, mut saw_u, mut saw_f) = (false, false, false, false);
    let mut c = Some(lx.chars[start]);
    loop {
        match c {
            Some('b' | 'B') if !(saw_b || saw_u || saw_f) => saw_b = true,
            Some('u' | 'U') if !(saw_b || saw_u || saw_r || saw_f) => saw_u = true,
            Some('r' | 'R') if !(saw_r || saw_u) => saw_r = true,
            Some('f' | 'F') if !(saw_f || saw_b || saw_u) => saw_f = true,
            _ => break,
        }
        c = lx.next();
        if matches!(c, Some('\'' | '"')) {
            lx.backup(c);
            return string(lx, start);
        }
    }
    let mut nonascii = false;
    while let Some(ch) = c.filter(|ch| is_potential_identifier_char(*ch)) {
        nonascii |= !ch.is_ascii();
        c = lx.next();
    }
    lx.backup(c);
    let word: String = lx.chars[start..lx.pos].iter().collect();
    if nonascii && !is_identifier(&word) {
        return Err(format!("invalid character in identifier {word:?}"));
    }
    Ok(Tok::Name(word))
}

/// A string token from `start` (its prefix, if any, included); `lx` is at the opening quote.
fn string(lx: &mut Lexer, start: usize) -> Result<Tok, String> {
    let Some(quote) = lx.next() else {
        return Err("unterminated string literal".into());
    };
    let mut quote_size = 1;
    let mut end_quote_size = 0;
    let mut c = lx.next();
    if c == Some(quote) {
        c = lx.next();
        if c == Some(quote) {
            quote_size = 3;
        } else {
            end_quote_size = 1; // an empty string
        }
    }
    if c != Some(quote) {
        lx.backup(c);
    }
    while end_quote_size != quote_size {
        let c = lx.next();
        match c {
            None => {
                return Err(if quote_size == 3 {
                    "unterminated triple-quoted string literal".into()
                } else {
                    "unterminated string literal".into()
                });
            }
            Some('\n') if quote_size == 1 => {
                return Err("unterminated string literal".into());
            }
            Some(ch) if ch == quote => end_quote_size += 1,
            Some(ch) => {
                end_quote_size = 0;
                if ch == '\\' {
                    lx.next();
                }
            }
        }
    }
    Ok(Tok::Str(lx.chars[start..lx.pos].iter().collect()))
}

/// A number from `lx.pos` (`tok_get`'s number branch, `tok_decimal_tail` and
/// `verify_end_of_number`).
fn number(lx: &mut Lexer) -> Result<Tok, String> {
    let start = lx.pos;
    let done = |lx: &mut Lexer| {
        Ok(Tok::Number(
            lx.chars[start..lx.pos].iter().collect::<String>(),
        ))
    };
    let mut c = lx.next();
    if c == Some('.') {
        c = lx.next();
        return fraction(lx, c).and_then(|()| done(lx));
    }
    if c == Some('0') {
        c = lx.next();
        let radix = match c {
            Some('x' | 'X') => Some((16, "hexadecimal")),
            Some('o' | 'O') => Some((8, "octal")),
            Some('b' | 'B') => Some((2, "binary")),
            _ => None,
        };
        if let Some((radix, kind)) = radix {
            c = lx.next();
            loop {
                if c == Some('_') {
                    c = lx.next();
                }
                if !c.is_some_and(|d| d.is_digit(radix)) {
                    if radix != 16 && c.is_some_and(|d| d.is_ascii_digit()) {
                        return Err(format!(
                            "invalid digit '{}' in {kind} literal",
                            c.unwrap_or('0')
                        ));
                    }
                    return Err(format!("invalid {kind} literal"));
                }
                loop {
                    c = lx.next();
                    if !c.is_some_and(|d| d.is_digit(radix)) {
                        break;
                    }
                }
                if c != Some('_') {
                    break;
                }
            }
            if radix != 16 && c.is_some_and(|d| d.is_ascii_digit()) {
                return Err(format!(
                    "invalid digit '{}' in {kind} literal",
                    c.unwrap_or('0')
                ));
            }
            verify_end_of_number(lx, c, kind)?;
            lx.backup(c);
            return done(lx);
        }
        // maybe an old-style octal; in any case `0` itself, and `0_0`, `00`
        let mut nonzero = false;
        loop {
            if c == Some('_') {
                c = lx.next();
                if !c.is_some_and(|d| d.is_ascii_digit()) {
                    return Err("invalid decimal literal".into());
                }
            }
            if c != Some('0') {
                break;
            }
            c = lx.next();
        }
        if c.is_some_and(|d| d.is_ascii_digit()) {
            nonzero = true;
            c = decimal_tail(lx)?;
        }
        match c {
            Some('.') => {
                c = lx.next();
                fraction(lx, c)?;
            }
            Some('e' | 'E') => exponent(lx, c)?,
            Some('j' | 'J') => imaginary(lx)?,
            _ if nonzero => {
                return Err("leading zeros in decimal integer literals are not permitted".into());
            }
            _ => {
                verify_end_of_number(lx, c, "decimal")?;
                lx.backup(c);
            }
        }
        return done(lx);
    }
    lx.pos = start;
    c = decimal_tail(lx)?;
    if c == Some('.') {
        c = lx.next();
    } else if !matches!(c, Some('e' | 'E' | 'j' | 'J')) {
        verify_end_of_number(lx, c, "decimal")?;
        lx.backup(c);
        return done(lx);
    }
    fraction(lx, c)?;
    done(lx)
}

/// Digits with single underscores between them; returns the character after them (read).
fn decimal_tail(lx: &mut Lexer) -> Result<Option<char>, String> {
    loop {
        let mut c;
        loop {
            c = lx.next();
            if !c.is_some_and(|d| d.is_ascii_digit()) {
                break;
            }
        }
        if c != Some('_') {
            return Ok(c);
        }
        c = lx.next();
        if !c.is_some_and(|d| d.is_ascii_digit()) {
            return Err("invalid decimal literal".into());
        }
    }
}

/// After the `.` of a float (`c` is the character after it, read); reads the fraction, the
/// exponent and the `j`, and leaves `lx` after the number.
fn fraction(lx: &mut Lexer, mut c: Option<char>) -> Result<(), String> {
    if c.is_some_and(|d| d.is_ascii_digit()) {
        c = decimal_tail(lx)?;
    }
    if matches!(c, Some('e' | 'E')) {
        return exponent(lx, c);
    }
    if matches!(c, Some('j' | 'J')) {
        return imaginary(lx);
    }
    verify_end_of_number(lx, c, "decimal")?;
    lx.backup(c);
    Ok(())
}

/// At an `e` (read, in `e`).
fn exponent(lx: &mut Lexer, e: Option<char>) -> Result<(), String> {
    let mut c = lx.next();
    if matches!(c, Some('+' | '-')) {
        c = lx.next();
        if !c.is_some_and(|d| d.is_ascii_digit()) {
            return Err("invalid decimal literal".into());
        }
    } else if !c.is_some_and(|d| d.is_ascii_digit()) {
        // `1else`: the number ends before the `e`
        lx.backup(c);
        verify_end_of_number(lx, e, "decimal")?;
        lx.backup(e);
        return Ok(());
    }
    c = decimal_tail(lx)?;
    if matches!(c, Some('j' | 'J')) {
        return imaginary(lx);
    }
    verify_end_of_number(lx, c, "decimal")?;
    lx.backup(c);
    Ok(())
}

/// After a `j` (read).
fn imaginary(lx: &mut Lexer) -> Result<(), String> {
    let c = lx.next();
    verify_end_of_number(lx, c, "imaginary")?;
    lx.backup(c);
    Ok(())
}

/// A number followed by a letter is an error, but for the keywords that may follow one in
/// valid code (`1if x else y`, `0x1for`), which only warn. `c` has been read.
fn verify_end_of_number(lx: &Lexer, c: Option<char>, kind: &str) -> Result<(), String> {
    let Some(c) = c else { return Ok(()) };
    // `lx.pos` is just after `c`
    let keyword = match c {
        'a' => lx.peek_is(0, "nd"),
        'e' => lx.peek_is(0, "lse"),
        'f' => lx.peek_is(0, "or"),
        'i' => lx.peek_is(0, "f") || lx.peek_is(0, "n") || lx.peek_is(0, "s"),
        'o' => lx.peek_is(0, "r"),
        'n' => lx.peek_is(0, "ot"),
        _ => false,
    };
    if !keyword && is_potential_identifier_char(c) {
        return Err(format!("invalid {kind} literal"));
    }
    Ok(())
}
