//! What Python 3.11's parser makes of string tokens (`Parser/string_parser.c`): each token's
//! prefix and quotes, escape sequences (`\n`, `\x41`, `\u00e9`, octal, line continuations;
//! unknown ones stay as written), bytes (ASCII only), adjacent tokens concatenated (bytes with
//! text is an error), and f-strings: literal parts, `{{` and `}}`, replacement fields with
//! `=`, `!s`/`!r`/`!a` and a format spec (nested once), each expression checked by the
//! caller's parser, and 3.11's rules (no backslash or `#` in an expression part).
//!
//! Not emulated: `\N{name}` escapes (Python's Unicode name database is not here), which are
//! read as a `SyntaxError` where Python may accept the name.

/// What Python raised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Raised {
    /// A `SyntaxError`, with its message.
    Syntax(String),
    /// Any other exception (`MemoryError`, `RecursionError`, ...): its type and message.
    Other(String),
}

pub(super) fn syntax(msg: impl Into<String>) -> Raised {
    Raised::Syntax(msg.into())
}

/// A Python `str`: its text, and where it holds lone surrogates (`'\ud800'`), which a Rust
/// string cannot: each is a U+FFFD in `text`, listed here with its byte offset and code.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) struct PyStr {
    pub(super) text: String,
    pub(super) surrogates: Vec<(usize, u32)>,
}

impl PyStr {
    fn push_str(&mut self, other: &PyStr) {
        let offset = self.text.len();
        self.surrogates.extend(
            other
                .surrogates
                .iter()
                .map(|(at, code)| (at + offset, *code)),
        );
        self.text.push_str(&other.text);
    }
}

/// The value of adjacent string tokens.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Strings {
    Str(PyStr),
    Bytes(Vec<u8>),
    /// An f-string is among them: a `JoinedStr` node, of this depth (as `ast2obj` counts).
    Joined(u32),
}

/// Parses an f-string's expression text as `(text)` with the `fstring` rule; gives the
/// expression's depth.
pub(super) type ParseExpr<'a> = dyn FnMut(&str) -> Result<u32, Raised> + 'a;

/// One token's prefix flags and body.
struct Token<'a> {
    bytes: bool,
    raw: bool,
    fmode: bool,
    body: &'a [char],
}

fn split(token: &[char]) -> Token<'_> {
    let (mut bytes, mut raw, mut fmode) = (false, false, false);
    let mut i = 0;
    while let Some(c) = token.get(i).filter(|c| c.is_ascii_alphabetic()) {
        match c.to_ascii_lowercase() {
            'b' => bytes = true,
            'r' => raw = true,
            'f' => fmode = true,
            _ => {}
        }
        i += 1;
    }
    let quote = token.get(i).copied().unwrap_or('\'');
    let rest = &token[(i + 1).min(token.len())..];
    let rest = &rest[..rest.len().saturating_sub(1)];
    let triple = rest.len() >= 4 && rest[0] == quote && rest[1] == quote;
    let body = if triple {
        &rest[2..rest.len() - 2]
    } else {
        rest
    };
    Token {
        bytes,
        raw,
        fmode,
        body,
    }
}

/// `_PyPegen_concatenate_strings`: the value of adjacent string tokens.
pub(super) fn concatenate(tokens: &[&str], parse: &mut ParseExpr<'_>) -> Result<Strings, Raised> {
    let tokens: Vec<Vec<char>> = tokens.iter().map(|t| t.chars().collect()).collect();
    let mut bytesmode = None;
    let mut fmode = false;
    let mut text = PyStr::default();
    let mut bytes = Vec::new();
    // the depths of a JoinedStr's values, and whether a constant part is pending
    let mut values: Vec<u32> = Vec::new();
    let mut pending = false;
    for token in &tokens {
        let t = split(token);
        if *bytesmode.get_or_insert(t.bytes) != t.bytes {
            return Err(syntax("cannot mix bytes and nonbytes literals"));
        }
        if t.fmode {
            fmode = true;
            let mut pos = 0;
            fstring(t.body, &mut pos, t.raw, 0, parse, &mut values, &mut pending)?;
        } else if t.bytes {
            bytes.extend(decode_bytes(t.body, t.raw)?);
        } else {
            let s = decode_str(t.body, t.raw)?;
            pending |= !s.text.is_empty();
            text.push_str(&s);
        }
    }
    if bytesmode == Some(true) {
        return Ok(Strings::Bytes(bytes));
    }
    if fmode {
        if pending {
            values.push(1);
        }
        return Ok(Strings::Joined(1 + values.into_iter().max().unwrap_or(0)));
    }
    Ok(Strings::Str(text))
}

/// A `str` body: raw as written, else with its escapes decoded.
pub(super) fn decode_str(body: &[char], raw: bool) -> Result<PyStr, Raised> {
    if raw || !body.contains(&'\\') {
        return Ok(PyStr {
            text: body.iter().collect(),
            surrogates: Vec::new(),
        });
    }
    let mut out = PyStr::default();
    let mut i = 0;
    let push = |out: &mut PyStr, code: u32| match char::from_u32(code) {
        Some(c) => out.text.push(c),
        None => {
            out.surrogates.push((out.text.len(), code));
            out.text.push('\u{fffd}');
        }
    };
    while i < body.len() {
        let c = body[i];
        i += 1;
        if c != '\\' {
            out.text.push(c);
            continue;
        }
        let Some(&n) = body.get(i) else {
            out.text.push('\\');
            break;
        };
        i += 1;
        match n {
            '\n' => {}
            '\\' | '\'' | '"' => out.text.push(n),
            'a' => out.text.push('\u{7}'),
            'b' => out.text.push('\u{8}'),
            'f' => out.text.push('\u{c}'),
            'n' => out.text.push('\n'),
            'r' => out.text.push('\r'),
            't' => out.text.push('\t'),
            'v' => out.text.push('\u{b}'),
            '0'..='7' => {
                let mut code = n.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    match body.get(i).and_then(|d| d.to_digit(8)) {
                        Some(d) => {
                            code = code * 8 + d;
                            i += 1;
                        }
                        None => break,
                    }
                }
                push(&mut out, code);
            }
            'x' | 'u' | 'U' => {
                let len = match n {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let hex: String = body[i..].iter().take(len).collect();
                let code = u32::from_str_radix(&hex, 16)
                    .ok()
                    .filter(|_| hex.len() == len && hex.chars().all(|c| c.is_ascii_hexdigit()))
                    .ok_or_else(|| syntax(format!("(unicode error) truncated \\{n} escape")))?;
                if code > 0x10ffff {
                    return Err(syntax("(unicode error) illegal Unicode character"));
                }
                i += len;
                push(&mut out, code);
            }
            'N' => {
                return Err(syntax(
                    "(unicode error) \\N escapes are not emulated (no Unicode name database)",
                ));
            }
            other => {
                out.text.push('\\');
                out.text.push(other);
            }
        }
    }
    Ok(out)
}

/// A `bytes` body: ASCII only; raw as written, else with its escapes decoded.
fn decode_bytes(body: &[char], raw: bool) -> Result<Vec<u8>, Raised> {
    if !body.iter().all(char::is_ascii) {
        return Err(syntax("bytes can only contain ASCII literal characters"));
    }
    let bytes: Vec<u8> = body.iter().map(|c| *c as u8).collect();
    if raw {
        return Ok(bytes);
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        i += 1;
        if c != b'\\' {
            out.push(c);
            continue;
        }
        let Some(&n) = bytes.get(i) else {
            out.push(b'\\');
            break;
        };
        i += 1;
        match n {
            b'\n' => {}
            b'\\' | b'\'' | b'"' => out.push(n),
            b'a' => out.push(7),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(11),
            b'0'..=b'7' => {
                let mut code = u32::from(n - b'0');
                for _ in 0..2 {
                    match bytes.get(i).filter(|d| (b'0'..=b'7').contains(d)) {
                        Some(d) => {
                            code = code * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        None => break,
                    }
                }
                out.push((code & 0xff) as u8);
            }
            b'x' => {
                let hex = bytes
                    .get(i..i + 2)
                    .filter(|h| h.iter().all(u8::is_ascii_hexdigit));
                let Some(hex) = hex else {
                    return Err(syntax("(value error) invalid \\x escape"));
                };
                let digit = |d: u8| (d as char).to_digit(16).unwrap_or(0) as u8;
                out.push(digit(hex[0]) * 16 + digit(hex[1]));
                i += 2;
            }
            other => {
                out.push(b'\\');
                out.push(other);
            }
        }
    }
    Ok(out)
}

/// `_PyPegen_FstringParser_ConcatFstring` on `s` from `*pos`: literal parts and replacement
/// fields, up to the end (level 0) or to the `}` that closes a format spec (level 1). Pushes
/// the depths of the `JoinedStr` values made onto `values`; `pending` says a constant part
/// waits to be one.
fn fstring(
    s: &[char],
    pos: &mut usize,
    raw: bool,
    recurse_lvl: u32,
    parse: &mut ParseExpr<'_>,
    values: &mut Vec<u32>,
    pending: &mut bool,
) -> Result<(), Raised> {
    loop {
        let (literal, doubled) = find_literal(s, pos, raw, recurse_lvl)?;
        *pending |= literal;
        if doubled {
            continue;
        }
        if *pos >= s.len() || s[*pos] == '}' {
            break;
        }
        if *pending {
            values.push(1);
            *pending = false;
        }
        values.push(find_expr(s, pos, raw, recurse_lvl, parse)?);
    }
    if recurse_lvl != 0 && s.get(*pos) != Some(&'}') {
        return Err(syntax("f-string: expecting '}'"));
    }
    Ok(())
}

/// `fstring_find_literal`: the literal text up to a `{` or `}`; says whether it is not empty,
/// and whether it ended at a doubled brace (`{{`, `}}` at level 0: scanning goes on).
fn find_literal(
    s: &[char],
    pos: &mut usize,
    raw: bool,
    recurse_lvl: u32,
) -> Result<(bool, bool), Raised> {
    let start = *pos;
    let mut i = *pos;
    let mut doubled = false;
    let end = s.len();
    while i < end {
        let mut ch = s[i];
        i += 1;
        if !raw && ch == '\\' && i < end {
            ch = s[i];
            i += 1;
            if ch == 'N' {
                if i < end {
                    let open = s[i] == '{';
                    i += 1;
                    if open {
                        while i < end {
                            let c = s[i];
                            i += 1;
                            if c == '}' {
                                break;
                            }
                        }
                    }
                }
                continue;
            }
        }
        if ch == '{' || ch == '}' {
            if recurse_lvl == 0 {
                if i < end && s[i] == ch {
                    *pos = i + 1;
                    doubled = true;
                    break;
                }
                if ch == '}' {
                    return Err(syntax("f-string: single '}' is not allowed"));
                }
            }
            i -= 1;
            break;
        }
    }
    let literal_end = if doubled { *pos - 1 } else { i };
    if !doubled {
        *pos = i;
    }
    if literal_end > start {
        let text = decode_str(&s[start..literal_end], raw)?;
        return Ok((!text.text.is_empty(), doubled));
    }
    Ok((false, doubled))
}

/// `fstring_find_expr` at a `{`: the expression, `=`, the conversion and the format spec, to
/// the closing `}`; gives the `FormattedValue`'s depth.
fn find_expr(
    s: &[char],
    pos: &mut usize,
    raw: bool,
    recurse_lvl: u32,
    parse: &mut ParseExpr<'_>,
) -> Result<u32, Raised> {
    const MAXLEVEL: usize = 200;
    if recurse_lvl >= 2 {
        return Err(syntax("f-string: expressions nested too deeply"));
    }
    let end = s.len();
    *pos += 1;
    let expr_start = *pos;
    let mut quote_char = None;
    let mut string_type = 0;
    let mut parens: Vec<char> = Vec::new();
    while *pos < end {
        let ch = s[*pos];
        if ch == '\\' {
            return Err(syntax(
                "f-string expression part cannot include a backslash",
            ));
        }
        if let Some(q) = quote_char {
            if ch == q {
                if string_type == 3 {
                    if *pos + 2 < end && s[*pos + 1] == ch && s[*pos + 2] == ch {
                        *pos += 3;
                        string_type = 0;
                        quote_char = None;
                        continue;
                    }
                } else {
                    string_type = 0;
                    quote_char = None;
                    *pos += 1;
                    continue;
                }
            }
            *pos += 1;
            continue;
        }
        match ch {
            '\'' | '"' => {
                if *pos + 2 < end && s[*pos + 1] == ch && s[*pos + 2] == ch {
                    string_type = 3;
                    *pos += 2;
                } else {
                    string_type = 1;
                }
                quote_char = Some(ch);
            }
            '[' | '{' | '(' => {
                if parens.len() >= MAXLEVEL {
                    return Err(syntax("f-string: too many nested parenthesis"));
                }
                parens.push(ch);
            }
            '#' => {
                return Err(syntax("f-string expression part cannot include '#'"));
            }
            '!' | ':' | '}' | '=' | '>' | '<' if parens.is_empty() => {
                if *pos + 1 < end {
                    let next = s[*pos + 1];
                    if next == '=' && matches!(ch, '!' | '=' | '<' | '>') {
                        *pos += 2;
                        continue;
                    }
                }
                if ch == '>' || ch == '<' {
                    *pos += 1;
                    continue;
                }
                break;
            }
            ']' | '}' | ')' => {
                let Some(open) = parens.pop() else {
                    return Err(syntax(format!("f-string: unmatched '{ch}'")));
                };
                if !matches!((open, ch), ('(', ')') | ('[', ']') | ('{', '}')) {
                    return Err(syntax(format!(
                        "f-string: closing parenthesis '{ch}' does not match opening parenthesis '{open}'"
                    )));
                }
            }
            _ => {}
        }
        *pos += 1;
    }
    let expr_end = *pos;
    if quote_char.is_some() {
        return Err(syntax("f-string: unterminated string"));
    }
    if let Some(open) = parens.last() {
        return Err(syntax(format!("f-string: unmatched '{open}'")));
    }
    if *pos >= end {
        return Err(syntax("f-string: expecting '}'"));
    }
    // fstring_compile_expr
    let text = &s[expr_start..expr_end];
    if text.iter().all(|c| matches!(c, ' ' | '\t' | '\n' | '\x0c')) {
        return Err(syntax(if matches!(s[expr_end], '!' | ':' | '=') {
            "f-string: expression required"
        } else {
            "f-string: empty expression not allowed"
        }));
    }
    let text: String = text.iter().collect();
    let mut depth = parse(&format!("({text})"))?;
    if s[*pos] == '=' {
        *pos += 1;
        while *pos < end && matches!(s[*pos], ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c') {
            *pos += 1;
        }
        if *pos >= end {
            return Err(syntax("f-string: expecting '}'"));
        }
    }
    if s[*pos] == '!' {
        *pos += 1;
        if *pos >= end {
            return Err(syntax("f-string: expecting '}'"));
        }
        let conversion = s[*pos];
        *pos += 1;
        if !matches!(conversion, 's' | 'r' | 'a') {
            return Err(syntax(
                "f-string: invalid conversion character: expected 's', 'r', or 'a'",
            ));
        }
    }
    if s.get(*pos) == Some(&':') {
        *pos += 1;
        if *pos >= end {
            return Err(syntax("f-string: expecting '}'"));
        }
        let mut spec = Vec::new();
        let mut spec_pending = false;
        fstring(
            s,
            pos,
            raw,
            recurse_lvl + 1,
            parse,
            &mut spec,
            &mut spec_pending,
        )?;
        if spec_pending {
            spec.push(1);
        }
        depth = depth.max(1 + spec.into_iter().max().unwrap_or(0));
    }
    if s.get(*pos) != Some(&'}') {
        return Err(syntax("f-string: expecting '}'"));
    }
    *pos += 1;
    Ok(1 + depth)
}
