//! Python's rendering of values, as oslo.policy sees them: `str()` and `repr()` of JSON values,
//! and the `%` operator with a mapping (`"%(project_id)s" % target`).

use serde_json::{Map, Value};

/// `str(value)` in Python, for a value loaded from JSON.
pub fn py_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => py_repr(other),
    }
}

/// `repr(value)` in Python, for a value loaded from JSON.
pub fn py_repr(v: &Value) -> String {
    let mut out = String::new();
    write_repr(v, &mut out);
    out
}

fn write_repr(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("None"),
        Value::Bool(true) => out.push_str("True"),
        Value::Bool(false) => out.push_str("False"),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                out.push_str(&i.to_string());
            } else if let Some(u) = n.as_u64() {
                out.push_str(&u.to_string());
            } else {
                out.push_str(&py_float_repr(n.as_f64().unwrap_or(f64::NAN)));
            }
        }
        Value::String(s) => out.push_str(&py_str_repr(s)),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_repr(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => write_dict(map, out),
    }
}

fn write_dict(map: &Map<String, Value>, out: &mut String) {
    out.push('{');
    for (i, (k, v)) in map.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&py_str_repr(k));
        out.push_str(": ");
        write_repr(v, out);
    }
    out.push('}');
}

/// `repr(str)`: single quotes unless the text has a single quote and no double quote.
pub(crate) fn py_str_repr(s: &str) -> String {
    py_str_repr_with(s, |_| None)
}

/// `repr(str)` of a text whose character at some byte offsets stands for a lone surrogate:
/// `surrogate(at)` gives its code, written `\udXXX` as Python writes it.
pub(crate) fn py_str_repr_with(s: &str, surrogate: impl Fn(usize) -> Option<u32>) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for (at, c) in s.char_indices() {
        if let Some(code) = surrogate(at) {
            out.push_str(&format!("\\u{code:04x}"));
            continue;
        }
        let code = u32::from(c);
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            _ if code < 0x20 || code == 0x7f || (0x80..0xa0).contains(&code) || code == 0xad => {
                out.push_str(&format!("\\x{code:02x}"));
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// `repr(float)`: the shortest text that reads back as the same number, in Python's layout
/// (`1.0`, `0.0001`, `1e-05`, `1e+16`).
pub(crate) fn py_float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    // Rust's `{:e}` gives the shortest round-trip digits: "1.2345e3", "-5e-7"
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let decpt = exp + 1; // position of the decimal point relative to the digits
    if -4 < decpt && decpt <= 16 {
        let mut s = String::from(sign);
        if decpt <= 0 {
            s.push_str("0.");
            s.push_str(&"0".repeat((-decpt) as usize));
            s.push_str(&digits);
        } else if (decpt as usize) >= digits.len() {
            s.push_str(&digits);
            s.push_str(&"0".repeat(decpt as usize - digits.len()));
            s.push_str(".0");
        } else {
            s.push_str(&digits[..decpt as usize]);
            s.push('.');
            s.push_str(&digits[decpt as usize..]);
        }
        s
    } else {
        let mut s = String::from(sign);
        s.push_str(&digits[..1]);
        if digits.len() > 1 {
            s.push('.');
            s.push_str(&digits[1..]);
        }
        let e = decpt - 1;
        s.push_str(&format!("e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs()));
        s
    }
}

/// The longest text a `%` conversion may pad to, with its width or (for integers) its
/// precision. Python pads to any length that fits in memory, and raises `MemoryError` beyond;
/// here a longer padding raises, so that a policy file cannot make every decision allocate
/// gigabytes. No real check compares with a megabyte of padding.
pub(crate) const MAX_FORMAT_WIDTH: usize = 1 << 20;

/// One piece of a `%`-format string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece {
    /// Text copied as is (`%%` already turned into `%`).
    Text(String),
    /// `%(key)<spec>`.
    Key { key: String, spec: Spec },
    /// `%<spec>` without a key: formats the whole target.
    Whole(Spec),
    /// A format Python rejects (or that is not emulated): evaluation raises here, after
    /// looking up the key if there is one (a missing key is still a `KeyError`).
    Raise { key: Option<String>, reason: String },
}

/// The supported conversions and their flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Spec {
    conv: char,
    left: bool,
    zero: bool,
    plus: bool,
    space: bool,
    width: Option<usize>,
    precision: Option<usize>,
}

/// A parsed `%`-format string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template {
    pieces: Vec<Piece>,
}

/// What formatting produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Formatted<'a> {
    /// The text.
    Text(std::borrow::Cow<'a, str>),
    /// A key was missing (Python's `KeyError`): the check is false.
    Missing,
    /// Python raises: the whole enforcement fails.
    Raise(String),
}

impl Template {
    /// Parses `fmt` as Python's `%` operator would read it.
    pub(crate) fn parse(fmt: &str) -> Template {
        let mut pieces = Vec::new();
        let mut text = String::new();
        let chars: Vec<char> = fmt.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c != '%' {
                text.push(c);
                i += 1;
                continue;
            }
            i += 1;
            let mut key = None;
            if i < chars.len() && chars[i] == '(' {
                // the key runs to the matching parenthesis, nesting counted
                let mut depth = 1;
                let start = i + 1;
                let mut j = start;
                while j < chars.len() && depth > 0 {
                    match chars[j] {
                        '(' => depth += 1,
                        ')' => depth -= 1,
                        _ => {}
                    }
                    j += 1;
                }
                if depth > 0 {
                    pieces.push(flush(&mut text));
                    pieces.push(Piece::Raise {
                        key: None,
                        reason: "incomplete format key".into(),
                    });
                    return Template::finish(pieces);
                }
                key = Some(chars[start..j - 1].iter().collect::<String>());
                i = j;
            }
            let mut spec = Spec {
                conv: 's',
                left: false,
                zero: false,
                plus: false,
                space: false,
                width: None,
                precision: None,
            };
            while i < chars.len() && "#0- +".contains(chars[i]) {
                match chars[i] {
                    '-' => spec.left = true,
                    '0' => spec.zero = true,
                    '+' => spec.plus = true,
                    ' ' => spec.space = true,
                    _ => {}
                }
                i += 1;
            }
            let mut unsupported = None;
            // as Python, a width or precision beyond `Py_ssize_t` is a ValueError
            let number = |i: &mut usize, what: &str, unsupported: &mut Option<String>| {
                let start = *i;
                while *i < chars.len() && chars[*i].is_ascii_digit() {
                    *i += 1;
                }
                if start == *i {
                    return None;
                }
                let n = chars[start..*i]
                    .iter()
                    .collect::<String>()
                    .parse::<usize>()
                    .ok()
                    .filter(|n| isize::try_from(*n).is_ok());
                if n.is_none() {
                    *unsupported = Some(format!("{what} too big"));
                }
                n
            };
            if i < chars.len() && chars[i] == '*' {
                unsupported = Some("* wants int".to_owned());
                i += 1;
            } else {
                spec.width = number(&mut i, "width", &mut unsupported);
            }
            if i < chars.len() && chars[i] == '.' {
                i += 1;
                if i < chars.len() && chars[i] == '*' {
                    unsupported = Some("* wants int".to_owned());
                    i += 1;
                } else {
                    spec.precision =
                        Some(number(&mut i, "precision", &mut unsupported).unwrap_or(0));
                }
            }
            while i < chars.len() && "hlL".contains(chars[i]) {
                i += 1;
            }
            if i >= chars.len() {
                pieces.push(flush(&mut text));
                pieces.push(Piece::Raise {
                    key,
                    reason: "incomplete format".into(),
                });
                return Template::finish(pieces);
            }
            let conv = chars[i];
            i += 1;
            if conv == '%' && key.is_none() {
                text.push('%');
                continue;
            }
            pieces.push(flush(&mut text));
            if let Some(reason) = unsupported {
                pieces.push(Piece::Raise { key, reason });
                continue;
            }
            if !"sradiu".contains(conv) {
                let reason = if "oxXeEfFgGc%".contains(conv) {
                    format!("the %{conv} conversion is not emulated")
                } else {
                    format!("unsupported format character '{conv}'")
                };
                pieces.push(Piece::Raise { key, reason });
                continue;
            }
            spec.conv = conv;
            pieces.push(match key {
                Some(key) => Piece::Key { key, spec },
                None => Piece::Whole(spec),
            });
        }
        pieces.push(flush(&mut text));
        Template::finish(pieces)
    }

    fn finish(pieces: Vec<Piece>) -> Template {
        Template {
            pieces: pieces
                .into_iter()
                .filter(|p| !matches!(p, Piece::Text(t) if t.is_empty()))
                .collect(),
        }
    }

    /// The single key when the template is exactly `%(key)s` (the common, fast case).
    pub(crate) fn single_key(&self) -> Option<&str> {
        match self.pieces.as_slice() {
            [Piece::Key { key, spec }] if spec.conv == 's' && spec.is_plain() => Some(key),
            _ => None,
        }
    }

    /// The literal text when the template has no conversions at all.
    pub(crate) fn literal(&self) -> Option<&str> {
        match self.pieces.as_slice() {
            [] => Some(""),
            [Piece::Text(t)] => Some(t),
            _ => None,
        }
    }

    /// `fmt % target`, left to right as Python does it.
    pub(crate) fn format<'a>(&'a self, target: &'a Map<String, Value>) -> Formatted<'a> {
        if let Some(t) = self.literal() {
            return Formatted::Text(t.into());
        }
        if let Some(key) = self.single_key() {
            return match target.get(key) {
                None => Formatted::Missing,
                Some(Value::String(s)) => Formatted::Text(s.as_str().into()),
                Some(other) => Formatted::Text(py_str(other).into()),
            };
        }
        let mut out = String::new();
        let mut whole_used = false;
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Raise { key, reason } => {
                    if key.as_ref().is_some_and(|k| !target.contains_key(k)) {
                        return Formatted::Missing;
                    }
                    return Formatted::Raise(reason.clone());
                }
                Piece::Key { key, spec } => match target.get(key) {
                    None => return Formatted::Missing,
                    Some(v) => match spec.render(v) {
                        Ok(s) => out.push_str(&s),
                        Err(e) => return Formatted::Raise(e),
                    },
                },
                Piece::Whole(spec) => {
                    if whole_used {
                        return Formatted::Raise("not enough arguments for format string".into());
                    }
                    whole_used = true;
                    let whole = Value::Object(target.clone());
                    match spec.render(&whole) {
                        Ok(s) => out.push_str(&s),
                        Err(e) => return Formatted::Raise(e),
                    }
                }
            }
        }
        Formatted::Text(out.into())
    }
}

fn flush(text: &mut String) -> Piece {
    Piece::Text(std::mem::take(text))
}

impl Spec {
    fn is_plain(&self) -> bool {
        !self.left
            && !self.zero
            && !self.plus
            && !self.space
            && self.width.is_none()
            && self.precision.is_none()
    }

    fn render(&self, v: &Value) -> Result<String, String> {
        let body = match self.conv {
            's' | 'r' | 'a' => {
                let mut s = if self.conv == 's' {
                    py_str(v)
                } else {
                    py_repr(v)
                };
                if self.conv == 'a' {
                    s = s
                        .chars()
                        .map(|c| {
                            if c.is_ascii() {
                                c.to_string()
                            } else if (c as u32) < 0x10000 {
                                format!("\\u{:04x}", c as u32)
                            } else {
                                format!("\\U{:08x}", c as u32)
                            }
                        })
                        .collect();
                }
                if let Some(p) = self.precision {
                    s = s.chars().take(p).collect();
                }
                return self.pad(s);
            }
            _ => match v {
                Value::Bool(b) => (*b as i64).to_string(),
                Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
                    (Some(i), _, _) => i.to_string(),
                    (_, Some(u), _) => u.to_string(),
                    (_, _, Some(f)) if f.is_finite() => format!("{}", f.trunc() as i128),
                    _ => return Err("cannot convert float to integer".into()),
                },
                other => {
                    return Err(format!(
                        "%{} format: a real number is required, not {}",
                        self.conv,
                        py_type(other)
                    ));
                }
            },
        };
        let (negative, digits) = match body.strip_prefix('-') {
            Some(d) => (true, d.to_owned()),
            None => (false, body),
        };
        let digits = match self.precision {
            Some(p) if digits.len() < p => {
                format!("{}{digits}", padding("precision", p, digits.len(), '0')?)
            }
            _ => digits,
        };
        let sign = if negative {
            "-"
        } else if self.plus {
            "+"
        } else if self.space {
            " "
        } else {
            ""
        };
        if self.zero
            && !self.left
            && let Some(w) = self.width
        {
            let len = sign.len() + digits.len();
            if len < w {
                return Ok(format!("{sign}{}{digits}", padding("width", w, len, '0')?));
            }
        }
        self.pad(format!("{sign}{digits}"))
    }

    fn pad(&self, s: String) -> Result<String, String> {
        match self.width {
            Some(w) if s.chars().count() < w => {
                let fill = padding("width", w, s.chars().count(), ' ')?;
                Ok(if self.left {
                    format!("{s}{fill}")
                } else {
                    format!("{fill}{s}")
                })
            }
            _ => Ok(s),
        }
    }
}

/// The `fill` characters that bring text of `len` characters to `total`, unless `total` is
/// beyond [`MAX_FORMAT_WIDTH`].
fn padding(what: &str, total: usize, len: usize, fill: char) -> Result<String, String> {
    if total > MAX_FORMAT_WIDTH {
        return Err(format!(
            "{what} {total} too big to pad to (more than {MAX_FORMAT_WIDTH})"
        ));
    }
    Ok(std::iter::repeat_n(fill, total.saturating_sub(len)).collect())
}

fn py_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(_) => "float",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn python_renderings() {
        let cases = [
            (json!(true), "True"),
            (json!(null), "None"),
            (json!(1), "1"),
            (json!(-3), "-3"),
            (json!(1.0), "1.0"),
            (json!(1.5), "1.5"),
            (json!(0.1), "0.1"),
            (json!(1e16), "1e+16"),
            (json!(1e15), "1000000000000000.0"),
            (json!(0.0001), "0.0001"),
            (json!(0.00001), "1e-05"),
            (json!(123456789.125), "123456789.125"),
            (json!("x"), "x"),
            (json!(["a", 1, true, null]), "['a', 1, True, None]"),
            (json!({"a": "it's"}), "{'a': \"it's\"}"),
            (json!([[]]), "[[]]"),
        ];
        for (v, want) in cases {
            assert_eq!(py_str(&v), want, "{v}");
        }
    }

    fn fmt(template: &str, target: Value) -> Formatted<'static> {
        let t = Box::leak(Box::new(Template::parse(template)));
        let target = Box::leak(Box::new(target));
        t.format(target.as_object().unwrap())
    }

    #[test]
    fn percent_formatting() {
        let text = |s: &str| Formatted::Text(s.to_owned().into());
        let t = json!({"a": "x", "n": 5, "b": true, "f": 1.9, "z": null, "k.y": "dotted"});
        let cases = [
            ("%(a)s", text("x")),
            ("pre-%(a)s-post", text("pre-x-post")),
            ("%(n)s", text("5")),
            ("%(b)s", text("True")),
            ("%(z)s", text("None")),
            ("%(a)r", text("'x'")),
            ("%(n)d", text("5")),
            ("%(b)d", text("1")),
            ("%(f)d", text("1")),
            ("%(n)03d", text("005")),
            ("%(a)3s", text("  x")),
            ("%(a)-3s|", text("x  |")),
            ("%(k.y)s", text("dotted")),
            ("100%%", text("100%")),
            ("%(missing)s", Formatted::Missing),
            ("%(missing)s %q", Formatted::Missing),
        ];
        for (template, want) in cases {
            assert_eq!(fmt(template, t.clone()), want, "{template}");
        }
        for template in ["%(a)d", "50%", "%(a", "%(a)q", "%(a)s %q", "%(z)d", "%s %s"] {
            assert!(
                matches!(fmt(template, t.clone()), Formatted::Raise(_)),
                "{template}"
            );
        }
        assert_eq!(fmt("%s", json!({"a": 1})), text("{'a': 1}"));
    }
}
