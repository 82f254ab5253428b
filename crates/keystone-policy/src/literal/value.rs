//! `ast.literal_eval`'s `_convert` on a parsed expression, and `str()` of its value: the
//! values and the order in which Python meets their errors (a `ValueError` for what is not a
//! literal, a `TypeError` for an unhashable set member or dict key, an `OverflowError` for an
//! integer too large for a float in `int + imaginary`), sets and dicts without duplicates
//! (Python's `==`: `1 == 1.0 == True`), integers of any size (`str()` refuses more than 4300
//! digits with a `ValueError`).
//!
//! Not emulated: the order of a set's members, which Python takes from their hashes (strings'
//! are randomised per process); members are kept in the order written.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

use super::grammar::{Expr, Node};
use super::strings::PyStr;
use crate::pyfmt::py_float_repr;

/// Python's limit on the digits of an `int` converted to or from decimal text.
const MAX_STR_DIGITS: usize = 4300;

/// An integer: its sign and decimal digits, or `None` beyond `MAX_STR_DIGITS`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct PyInt {
    negative: bool,
    digits: Option<String>,
}

/// A value `literal_eval` can return.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum PyVal {
    Int(PyInt),
    Float(f64),
    Complex(f64, f64),
    Bool(bool),
    None,
    Ellipsis,
    Str(PyStr),
    Bytes(Vec<u8>),
    Tuple(Vec<PyVal>),
    List(Vec<PyVal>),
    Set(Vec<PyVal>),
    Dict(Vec<(PyVal, PyVal)>),
}

/// An exception from `literal_eval` or `str()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum EvalError {
    /// Not a literal (or `str()` of too long an integer): the kind is a path.
    Value,
    /// A `TypeError` or an `OverflowError`, which `GenericCheck` does not catch.
    Other(String),
}

/// `_convert`.
pub(super) fn convert(node: &Node) -> Result<PyVal, EvalError> {
    match &node.expr {
        Expr::Num(text) => Ok(number(text)),
        Expr::Str(s) => Ok(PyVal::Str(s.clone())),
        Expr::Bytes(b) => Ok(PyVal::Bytes(b.clone())),
        Expr::Const(c) => Ok(match *c {
            "True" => PyVal::Bool(true),
            "False" => PyVal::Bool(false),
            "None" => PyVal::None,
            _ => PyVal::Ellipsis,
        }),
        Expr::Tuple(items) => items
            .iter()
            .map(convert)
            .collect::<Result<_, _>>()
            .map(PyVal::Tuple),
        Expr::List(items) => items
            .iter()
            .map(convert)
            .collect::<Result<_, _>>()
            .map(PyVal::List),
        Expr::Set(items) => {
            let mut members: Vec<PyVal> = Vec::new();
            let mut seen = HashSet::new();
            for item in items {
                let v = convert(item)?;
                hashable(&v)?;
                if seen.insert(eq_key(&v, members.len())) {
                    members.push(v);
                }
            }
            Ok(PyVal::Set(members))
        }
        Expr::SetCall => Ok(PyVal::Set(Vec::new())),
        Expr::Dict(items) => {
            let mut entries: Vec<(PyVal, PyVal)> = Vec::new();
            let mut seen: HashMap<String, usize> = HashMap::new();
            for (key, value) in items {
                let Some(key) = key else {
                    return Err(EvalError::Value);
                };
                let key = convert(key)?;
                let value = convert(value)?;
                hashable(&key)?;
                match seen.entry(eq_key(&key, entries.len())) {
                    Entry::Occupied(at) => entries[*at.get()].1 = value,
                    Entry::Vacant(at) => {
                        at.insert(entries.len());
                        entries.push((key, value));
                    }
                }
            }
            Ok(PyVal::Dict(entries))
        }
        Expr::AddSub(add, left, right) => {
            let left = signed_num(left)?;
            let right = num(right)?;
            let re = match left {
                PyVal::Int(i) => int_to_float(&i)?,
                PyVal::Float(f) => f,
                _ => return Err(EvalError::Value),
            };
            let PyVal::Complex(_, im) = right else {
                return Err(EvalError::Value);
            };
            Ok(if *add {
                PyVal::Complex(re + 0.0, 0.0 + im)
            } else {
                PyVal::Complex(re - 0.0, 0.0 - im)
            })
        }
        Expr::Signed(..) => signed_num(node),
        Expr::Name(_) | Expr::Other => Err(EvalError::Value),
    }
}

/// `_convert_num`: a number constant (not a bool).
fn num(node: &Node) -> Result<PyVal, EvalError> {
    match &node.expr {
        Expr::Num(text) => Ok(number(text)),
        _ => Err(EvalError::Value),
    }
}

/// `_convert_signed_num`.
fn signed_num(node: &Node) -> Result<PyVal, EvalError> {
    match &node.expr {
        Expr::Signed(negative, inner) => {
            let v = num(inner)?;
            Ok(if *negative { negate(v) } else { v })
        }
        _ => num(node),
    }
}

fn negate(v: PyVal) -> PyVal {
    match v {
        PyVal::Int(PyInt { negative, digits }) => PyVal::Int(PyInt {
            negative: !negative && digits.as_deref() != Some("0"),
            digits,
        }),
        PyVal::Float(f) => PyVal::Float(-f),
        PyVal::Complex(re, im) => PyVal::Complex(-re, -im),
        other => other,
    }
}

/// `float(i)`, which overflows past the largest float.
fn int_to_float(i: &PyInt) -> Result<f64, EvalError> {
    let overflow = || EvalError::Other("OverflowError: int too large to convert to float".into());
    let digits = i.digits.as_deref().ok_or_else(overflow)?;
    let f: f64 = digits.parse().map_err(|_| overflow())?;
    if f.is_infinite() {
        return Err(overflow());
    }
    Ok(if i.negative { -f } else { f })
}

/// A number token's value.
fn number(text: &str) -> PyVal {
    let text: String = text.chars().filter(|c| *c != '_').collect();
    let lower = text.to_ascii_lowercase();
    let radix = match lower.get(..2) {
        Some("0x") => 16,
        Some("0o") => 8,
        Some("0b") => 2,
        _ => 10,
    };
    if radix != 10 {
        return PyVal::Int(PyInt {
            negative: false,
            digits: radix_to_decimal(&lower[2..], radix),
        });
    }
    if let Some(imag) = lower.strip_suffix('j') {
        return PyVal::Complex(0.0, imag.parse().unwrap_or(0.0));
    }
    if lower.contains(['.', 'e']) {
        return PyVal::Float(lower.parse().unwrap_or(0.0));
    }
    let digits = lower.trim_start_matches('0');
    PyVal::Int(PyInt {
        negative: false,
        digits: Some(if digits.is_empty() { "0" } else { digits }.to_owned()),
    })
}

/// The decimal digits of `digits` in `radix`, unless there are more than `MAX_STR_DIGITS`.
fn radix_to_decimal(digits: &str, radix: u32) -> Option<String> {
    let digits = digits.trim_start_matches('0');
    if digits.is_empty() {
        return Some("0".into());
    }
    // 2^14400 has 4335 decimal digits: anything longer has too many
    if digits.len() as u64 * u64::from(radix.ilog2()) > 14_400 {
        return None;
    }
    const BASE: u64 = 1_000_000_000;
    let mut limbs: Vec<u64> = vec![0];
    for d in digits.chars() {
        let mut carry = u64::from(d.to_digit(radix).unwrap_or(0));
        for limb in &mut limbs {
            let v = *limb * u64::from(radix) + carry;
            *limb = v % BASE;
            carry = v / BASE;
        }
        while carry > 0 {
            limbs.push(carry % BASE);
            carry /= BASE;
        }
    }
    let mut out = limbs.last().map(u64::to_string).unwrap_or_default();
    for limb in limbs.iter().rev().skip(1) {
        out.push_str(&format!("{limb:09}"));
    }
    (out.len() <= MAX_STR_DIGITS).then_some(out)
}

/// A `TypeError` for what cannot be a set member or a dict key.
fn hashable(v: &PyVal) -> Result<(), EvalError> {
    match v {
        PyVal::List(_) => Err(EvalError::Other(
            "TypeError: unhashable type: 'list'".into(),
        )),
        PyVal::Set(_) => Err(EvalError::Other("TypeError: unhashable type: 'set'".into())),
        PyVal::Dict(_) => Err(EvalError::Other(
            "TypeError: unhashable type: 'dict'".into(),
        )),
        PyVal::Tuple(items) => items.iter().try_for_each(hashable),
        _ => Ok(()),
    }
}

/// A text equal for two hashable values exactly where Python's `==` says they are equal
/// (`1 == 1.0 == True == 1+0j`, `(1, 'a') == (1.0, 'a')`); `at` makes an integer too long to
/// print (more than `MAX_STR_DIGITS` digits) equal to nothing else here, which only changes
/// what `str()` raises on anyway.
fn eq_key(v: &PyVal, at: usize) -> String {
    let int = |negative: bool, digits: &str| {
        let sign = if negative && digits != "0" { "-" } else { "" };
        format!("n{sign}{digits}")
    };
    let float = |f: f64| {
        if f.is_finite() && f.fract() == 0.0 {
            int(f < 0.0, &format!("{:.0}", f.abs()))
        } else {
            format!("f{f:?}")
        }
    };
    match v {
        PyVal::Int(PyInt {
            negative,
            digits: Some(d),
        }) => int(*negative, d),
        PyVal::Int(PyInt { digits: None, .. }) => format!("big{at}"),
        PyVal::Bool(b) => int(false, if *b { "1" } else { "0" }),
        PyVal::Float(f) => float(*f),
        PyVal::Complex(re, im) if *im == 0.0 => float(*re),
        PyVal::Complex(re, im) => format!("c{}|{im:?}", float(*re)),
        PyVal::Str(s) => format!("s{}:{}{:?}", s.text.len(), s.text, s.surrogates),
        PyVal::Bytes(b) => format!("b{b:?}"),
        PyVal::None => "None".into(),
        PyVal::Ellipsis => "Ellipsis".into(),
        PyVal::Tuple(items) => {
            let keys: Vec<String> = items.iter().map(|i| eq_key(i, at)).collect();
            let parts: Vec<String> = keys.iter().map(|k| format!("{}:{k}", k.len())).collect();
            format!("t{}({})", items.len(), parts.join(""))
        }
        // unhashable: never a key
        PyVal::List(_) | PyVal::Set(_) | PyVal::Dict(_) => format!("unhashable{at}"),
    }
}

/// `str(value)`: `Ok(None)` for a string no Rust string equals (it holds a lone surrogate).
pub(super) fn py_str(v: &PyVal) -> Result<Option<String>, EvalError> {
    match v {
        PyVal::Str(s) if !s.surrogates.is_empty() => Ok(None),
        PyVal::Str(s) => Ok(Some(s.text.clone())),
        other => repr(other).map(Some),
    }
}

fn complex_part(f: f64) -> String {
    let s = py_float_repr(f);
    s.strip_suffix(".0").map(str::to_owned).unwrap_or(s)
}

/// `repr(value)`.
fn repr(v: &PyVal) -> Result<String, EvalError> {
    let join = |items: &[PyVal]| -> Result<String, EvalError> {
        Ok(items
            .iter()
            .map(repr)
            .collect::<Result<Vec<_>, _>>()?
            .join(", "))
    };
    Ok(match v {
        PyVal::Int(PyInt { negative, digits }) => {
            let digits = digits.as_deref().ok_or(EvalError::Value)?;
            format!("{}{digits}", if *negative { "-" } else { "" })
        }
        PyVal::Float(f) => py_float_repr(*f),
        PyVal::Complex(re, im) => {
            if *re == 0.0 && re.is_sign_positive() {
                format!("{}j", complex_part(*im))
            } else {
                let sign = if im.is_sign_negative() && !im.is_nan() {
                    "-"
                } else {
                    "+"
                };
                format!("({}{sign}{}j)", complex_part(*re), complex_part(im.abs()))
            }
        }
        PyVal::Bool(b) => if *b { "True" } else { "False" }.to_owned(),
        PyVal::None => "None".into(),
        PyVal::Ellipsis => "Ellipsis".into(),
        PyVal::Str(s) => str_repr(s),
        PyVal::Bytes(b) => bytes_repr(b),
        PyVal::Tuple(items) if items.len() == 1 => format!("({},)", repr(&items[0])?),
        PyVal::Tuple(items) => format!("({})", join(items)?),
        PyVal::List(items) => format!("[{}]", join(items)?),
        PyVal::Set(items) if items.is_empty() => "set()".into(),
        PyVal::Set(items) => format!("{{{}}}", join(items)?),
        PyVal::Dict(entries) => {
            let parts = entries
                .iter()
                .map(|(k, v)| Ok(format!("{}: {}", repr(k)?, repr(v)?)))
                .collect::<Result<Vec<_>, EvalError>>()?;
            format!("{{{}}}", parts.join(", "))
        }
    })
}

/// `repr(str)`, lone surrogates written `\udXXX`.
fn str_repr(s: &PyStr) -> String {
    crate::pyfmt::py_str_repr_with(&s.text, |at| {
        s.surrogates
            .iter()
            .find(|(p, _)| *p == at)
            .map(|(_, code)| *code)
    })
}

/// `repr(bytes)`.
fn bytes_repr(b: &[u8]) -> String {
    let quote = if b.contains(&b'\'') && !b.contains(&b'"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::from("b");
    out.push(quote);
    for &c in b {
        match c {
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            c if char::from(c) == quote => {
                out.push('\\');
                out.push(char::from(c));
            }
            c if !(0x20..0x7f).contains(&c) => out.push_str(&format!("\\x{c:02x}")),
            c => out.push(char::from(c)),
        }
    }
    out.push(quote);
    out
}
