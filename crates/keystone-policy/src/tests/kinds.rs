//! Check kinds as Python 3.11 classifies them (`ast.literal_eval`, as oslo.policy's
//! `GenericCheck` calls it): a corpus of hand-picked kinds, each with the verdict CPython 3.11.7
//! gave when `xtask/src/classify_kinds.py` read it (`literal` and `str(value)`, `value` for a
//! `ValueError`, `syntax` for a `SyntaxError`, `error` for another exception, `unequal` for a
//! string with a lone surrogate); and properties: the classifier never panics, and agrees with
//! what can be told cheaply of the text it is given.

use proptest::prelude::*;

use crate::literal::{KindMeaning, classify};
use crate::{KindClass, classify_kind};

/// Kinds and CPython 3.11.7's verdicts, recorded from `classify_kinds.py`.
const CORPUS: &[(&str, &str)] = &[
    ("'member'", "literal member"),
    ("\"member\"", "literal member"),
    ("True", "literal True"),
    ("None", "literal None"),
    ("1", "literal 1"),
    ("-1", "literal -1"),
    ("1.5", "literal 1.5"),
    ("1e3", "literal 1000.0"),
    ("0x10", "literal 16"),
    ("1_000", "literal 1000"),
    ("[1,'a']", "literal [1, 'a']"),
    ("1,2", "literal (1, 2)"),
    ("'a''b'", "literal ab"),
    ("b'x'", "literal b'x'"),
    ("1+2j", "literal (1+2j)"),
    ("2j", "literal 2j"),
    ("{}", "literal {}"),
    ("1#comment", "literal 1"),
    ("user_id", "value"),
    ("token.domain.id", "value"),
    ("True.x", "value"),
    ("a-b", "value"),
    ("1+1", "value"),
    ("-True", "value"),
    ("is_admin", "value"),
    ("role-x.y", "value"),
    ("'unterminated", "syntax"),
    ("a$b", "syntax"),
    ("1a", "syntax"),
    ("0777", "syntax"),
    ("", "syntax"),
    ("a.", "syntax"),
    (".a", "syntax"),
    ("if", "syntax"),
    ("a.if", "syntax"),
    ("a=b", "syntax"),
    ("a!b", "syntax"),
    ("b'é'", "syntax"),
    (" user_id", "value"),
    ("\tuser_id", "value"),
    ("- 1", "literal -1"),
    ("'a' 'b'", "literal ab"),
    ("a . b", "value"),
    ("x \n", "value"),
    ("\n\nx", "value"),
    ("#c\nx", "value"),
    ("[1,\n2]", "literal [1, 2]"),
    ("\\\nx", "value"),
    ("\n x", "syntax"),
    ("x\n ", "syntax"),
    ("a\n.b", "syntax"),
    ("1 2", "syntax"),
    ("xyz and methods", "value"),
    (" x", "value"),
    ("  x", "value"),
    ("\tx", "value"),
    ("\u{c}x", "value"),
    ("x\0", "syntax"),
    ("yield x", "syntax"),
    ("(yield x)", "value"),
    ("await x", "value"),
    ("lambda: 1", "value"),
    ("a if b else c", "value"),
    ("a if b", "syntax"),
    ("x := 1", "syntax"),
    ("(x := 1)", "value"),
    ("f(x:=1)", "value"),
    ("[x:=1]", "value"),
    ("a[x:=1]", "value"),
    ("a[1:2]", "value"),
    ("a[1:2, ::3]", "value"),
    ("f'{x}'", "value"),
    ("f'{x!r:>{w}}'", "value"),
    ("f'{\\n}'", "syntax"),
    ("f'{\"a\"}'", "value"),
    ("f\"{'a'}\"", "value"),
    ("f'{'a'}'", "syntax"),
    ("*a", "syntax"),
    ("*a, b", "syntax"),
    ("(*a)", "syntax"),
    ("[*a]", "value"),
    ("not", "syntax"),
    ("a not in b", "value"),
    ("a is not b", "value"),
    ("a <> b", "syntax"),
    ("1__0", "syntax"),
    ("00", "literal 0"),
    ("0123", "syntax"),
    ("0_0", "literal 0"),
    ("0x_1", "literal 1"),
    ("1_", "syntax"),
    ("1e", "syntax"),
    ("1e+", "syntax"),
    ("1.e5", "literal 100000.0"),
    ("1.j", "literal 1j"),
    ("0b102", "syntax"),
    ("0o8", "syntax"),
    ("ub''", "syntax"),
    ("ur''", "syntax"),
    ("Rb''", "literal b''"),
    ("bR''", "literal b''"),
    ("Fr''", "value"),
    ("'a' b'b'", "syntax"),
    ("None.x", "value"),
    ("class", "syntax"),
    ("print", "value"),
    ("...", "literal Ellipsis"),
    ("....", "syntax"),
    ("a.b.c", "value"),
    ("1 .real", "value"),
    ("1.real", "syntax"),
    ("1.0.real", "value"),
    ("1_000.0_1", "literal 1000.01"),
    ("1if 1else 2", "value"),
    ("0x1for x in y", "value"),
    ("[x for x in y]", "value"),
    ("(x for x in y)", "value"),
    ("f(x for x in y)", "value"),
    ("f(x for x in y, 1)", "syntax"),
    ("f(1, x for x in y)", "syntax"),
    ("{x: y for x in z}", "value"),
    ("{x for x in y if a if b}", "value"),
    ("[x async for x in y]", "value"),
    ("[x for x in y for z in w]", "value"),
    ("[x for x in *y]", "syntax"),
    ("f(*a, **b, c=1)", "value"),
    ("f(a=1, b)", "syntax"),
    ("f(**a, *b)", "syntax"),
    ("f(**a, b)", "syntax"),
    ("f(a, *b, c)", "value"),
    ("f(a)(b)[c].d", "value"),
    ("a = 1", "syntax"),
    ("a b", "syntax"),
    ("(", "syntax"),
    (")", "syntax"),
    ("[)", "syntax"),
    ("x;", "syntax"),
    ("a @ b", "value"),
    ("a // b << c", "value"),
    ("~x", "value"),
    ("- - x", "value"),
    ("2 ** -1", "value"),
    ("-2 ** 2", "value"),
    ("a < b < c", "value"),
    ("a == b != c", "value"),
    ("not not a", "value"),
    ("a and not b or c", "value"),
    ("lambda x, /, y=1, *a, z, **k: x", "value"),
    ("lambda *, a: 1", "value"),
    ("lambda *: 1", "syntax"),
    ("lambda **k, a: 1", "syntax"),
    ("lambda a=1, b: 1", "syntax"),
    ("lambda: (yield)", "value"),
    ("{**a, 'b': 1}", "value"),
    ("{**a, *b}", "syntax"),
    ("{1: 2}", "literal {1: 2}"),
    ("{1: 2, 1: 3}", "literal {1: 3}"),
    ("{[1]}", "error"),
    ("{(1, [2])}", "error"),
    ("{1: 2, [1]: 3}", "error"),
    ("{1, 1, True}", "literal {1}"),
    ("set()", "literal set()"),
    ("set(())", "value"),
    ("+1", "literal 1"),
    ("--1", "value"),
    ("-(1)", "literal -1"),
    ("(-1)", "literal -1"),
    ("-1-2j", "literal (-1-2j)"),
    ("1j+1", "value"),
    ("True+1j", "value"),
    ("1+2j+3j", "value"),
    ("()", "literal ()"),
    ("(1)", "literal 1"),
    ("(1,)", "literal (1,)"),
    ("[]", "literal []"),
    ("[,]", "syntax"),
    ("(,)", "syntax"),
    ("1,", "literal (1,)"),
    ("1,,", "syntax"),
    ("a[]", "syntax"),
    ("a[1,]", "value"),
    ("a[*b]", "value"),
    ("a[b:=1]", "value"),
    ("b'\\x1'", "syntax"),
    ("'\\x1'", "syntax"),
    ("b'\\777'", "literal b'\\xff'"),
    ("'\\777'", "literal ǿ"),
    ("b'\\400'", "literal b'\\x00'"),
    ("'\\ud800'", "unequal"),
    ("'\\U00110000'", "syntax"),
    ("'\\N'", "syntax"),
    ("'\\N{'", "syntax"),
    ("b'\\N{EM DASH}'", "literal b'\\\\N{EM DASH}'"),
    ("b'\\xff'", "literal b'\\xff'"),
    ("b'\\u1234'", "literal b'\\\\u1234'"),
    ("'a\\\\'", "literal a\\"),
    ("'\\é'", "literal \\é"),
    ("'\\\ra'", "literal a"),
    ("'a\rb'", "syntax"),
    ("'a\\\nb'", "literal ab"),
    ("x\n", "value"),
    ("x\n#c", "value"),
    ("x\n  #c", "value"),
    ("\\\n x", "syntax"),
    ("x\\", "syntax"),
    ("x\\\n", "syntax"),
    ("(x\\\n)", "value"),
    ("\u{c} x", "syntax"),
    ("\u{feff}x", "syntax"),
    ("x \u{b}", "syntax"),
    ("[1,\n 2]", "literal [1, 2]"),
    ("1\n\n", "literal 1"),
    ("1 #c\n", "literal 1"),
    ("'''a\nb'''", "literal a\nb"),
    ("'a' \\\n 'b'", "literal ab"),
    ("-0.0+0j", "literal 0j"),
    ("-0.0-0j", "literal (-0+0j)"),
    ("0-0j", "literal 0j"),
    ("-0+0j", "literal 0j"),
    ("1e400j", "literal infj"),
    ("-1e400j", "literal (-0-infj)"),
    ("1e400+1e400j", "literal (inf+infj)"),
    ("{1: 2, 1.0: 3}", "literal {1: 3}"),
    ("{1, 1.0, True}", "literal {1}"),
    ("{(1, 2), (1, 2)}", "literal {(1, 2)}"),
    (
        "{100000000000000000000, 1e20}",
        "literal {100000000000000000000}",
    ),
    ("{x, [1]}", "value"),
    ("{[1], x}", "error"),
    ("{1: x, [1]: 2}", "value"),
    ("{[1]: x}", "value"),
    ("{**x}", "value"),
    ("{1: 2, **x}", "value"),
    ("(1, x)", "value"),
    ("[1, {[1]}]", "error"),
    ("('\\ud800',)", "literal ('\\ud800',)"),
    ("ſet()", "literal set()"),
    ("ｓｅｔ()", "literal set()"),
    ("(set)()", "literal set()"),
    ("set( )", "literal set()"),
    ("é", "value"),
    ("aé", "value"),
    ("a·", "value"),
    ("·a", "syntax"),
    ("℘", "value"),
    ("a\u{2028}", "syntax"),
    ("x\u{a0}", "syntax"),
    ("for", "syntax"),
    ("[a for a in b if c]", "value"),
    ("[a for (a) in b]", "value"),
    ("[a for (a,) in b]", "value"),
    ("[a for a.b in c]", "value"),
    ("[a for a() in c]", "syntax"),
    ("[a for a[0] in c]", "value"),
    ("[a for 1 .x in c]", "value"),
    ("[a for [1][0] in c]", "value"),
    ("[a for (*a) in c]", "syntax"),
    ("[a for *a in c]", "value"),
    ("[a for a, *b in c]", "value"),
    ("[a for [] in c]", "value"),
    ("[a for () in c]", "value"),
    ("[a for (a, b) in c]", "value"),
    ("[a for a.b() in c]", "syntax"),
    ("[a for a().b in c]", "value"),
    ("f'{x=}'", "value"),
    ("f'{x=!r:10}'", "value"),
    ("f'{x!}'", "syntax"),
    ("f'{x!r }'", "syntax"),
    ("f'{}'", "syntax"),
    ("f'{ }'", "syntax"),
    ("f'}'", "syntax"),
    ("f'{{}}'", "value"),
    ("f'{x:{y}}'", "value"),
    ("f'{x:{y:{z}}}'", "syntax"),
    ("f'{a!=b}'", "value"),
    ("f'{x:=1}'", "value"),
    ("f'{lambda x:1}'", "syntax"),
    ("f'{yield}'", "value"),
    ("f'{*a}'", "syntax"),
    ("f'{*a, b}'", "value"),
    ("f'{a#}'", "syntax"),
    ("f'''{a\n}'''", "value"),
    ("f'{a for a in b}'", "value"),
    ("f'{\"\"\"a\"\"\"}'", "value"),
    ("f'\\{x}'", "value"),
    ("rf'\\{x}'", "value"),
    ("f'{x}' b''", "syntax"),
    ("'a' f'{x}' 'b'", "value"),
    ("f'{f\"{x}\"}'", "value"),
    ("xyz and methods ", "value"),
    ("a and b", "value"),
    ("a or b", "value"),
    ("not a", "value"),
    ("methods", "value"),
    ("token.methods", "value"),
    ("x y", "syntax"),
    ("a.b c", "syntax"),
    ("'a' if 1 else 2", "value"),
    ("1 < 2", "value"),
    ("a is None", "value"),
    ("(1, 2)", "literal (1, 2)"),
    ("{'a': [1, (2,)]}", "literal {'a': [1, (2,)]}"),
    ("1-2.5j", "literal (1-2.5j)"),
    ("-1.5+0j", "literal (-1.5+0j)"),
    (
        "[1, -2, 3.0, 'x', b'y', None, True, ...]",
        "literal [1, -2, 3.0, 'x', b'y', None, True, Ellipsis]",
    ),
    ("''", "literal "),
    ("b''", "literal b''"),
    ("'\\n'", "literal \n"),
    ("'\\t'", "literal \t"),
    ("'\"'", "literal \""),
    ("'\\''", "literal '"),
    ("\"'\"", "literal '"),
    ("'a\\'b\"'", "literal a'b\""),
    ("[\"it's\"]", "literal [\"it's\"]"),
    ("['\\x00']", "literal ['\\x00']"),
    ("0o777", "literal 511"),
    ("0b1010", "literal 10"),
    ("0xFF", "literal 255"),
    ("1_000_000", "literal 1000000"),
    ("1e-5", "literal 1e-05"),
    ("1.5e300", "literal 1.5e+300"),
    ("1e16", "literal 1e+16"),
    ("0.1", "literal 0.1"),
    ("-0.0", "literal -0.0"),
    ("[-0.0]", "literal [-0.0]"),
    ("-2j", "literal (-0-2j)"),
    ("1e400", "literal inf"),
    ("-1e400", "literal -inf"),
    ("[1e400]", "literal [inf]"),
    (
        "10000000000000000000000000000000000000000",
        "literal 10000000000000000000000000000000000000000",
    ),
    (
        "-10000000000000000000000000000000000000000",
        "literal -10000000000000000000000000000000000000000",
    ),
    (
        "0xffffffffffffffffffffffffffffffffffffffff",
        "literal 1461501637330902918203684832716283019655932542975",
    ),
    ("False", "literal False"),
    ("[..., None]", "literal [Ellipsis, None]"),
    ("{1, 2, 1}", "literal {1, 2}"),
    ("{(1, 2)}", "literal {(1, 2)}"),
    ("{1.0, 1}", "literal {1.0}"),
    ("{'a'}", "literal {'a'}"),
    ("frozenset()", "value"),
    ("set([1])", "value"),
    ("dict()", "value"),
    ("int('1')", "value"),
    ("__import__('os')", "value"),
    ("a.b.c.d", "value"),
    ("a - b", "value"),
    ("user.domain.id", "value"),
    ("@", "syntax"),
    ("!", "syntax"),
    ("$x", "syntax"),
    ("a`b", "syntax"),
    ("a?b", "syntax"),
    ("é.ü", "value"),
    ("ñame", "value"),
    ("名前", "value"),
    ("a\u{200b}b", "syntax"),
    ("½", "syntax"),
    ("x²", "syntax"),
    ("ℌ", "value"),
    ("set ()", "literal set()"),
    ("set()()", "value"),
    ("set(*())", "value"),
    ("set(x)", "value"),
    ("{**{}}", "value"),
    ("{*()}", "value"),
    ("[*()]", "value"),
    ("(*(),)", "value"),
    ("print(1)", "value"),
    ("lambda x: x", "value"),
    ("x[1:2]", "value"),
    ("x[::2]", "value"),
    ("f'{1}'", "value"),
    ("f'a'", "value"),
    ("'a' f'b'", "value"),
    ("rb'\\x'", "literal b'\\\\x'"),
    ("b'\\x'", "syntax"),
    ("u'x'", "literal x"),
    ("U'x'", "literal x"),
    ("R'x'", "literal x"),
    ("bR'x'", "literal b'x'"),
    ("Fr'x'", "value"),
    ("fb'x'", "syntax"),
    ("uR'x'", "syntax"),
];

/// The verdict, in the corpus's words.
fn verdict(kind: &str) -> String {
    match classify_kind(kind) {
        KindClass::Literal(_) if classify(kind) == KindMeaning::Unequal => "unequal".into(),
        KindClass::Literal(text) => format!("literal {text}"),
        KindClass::ValueError => "value".into(),
        KindClass::SyntaxError(_) => "syntax".into(),
        KindClass::OtherError(_) => "error".into(),
    }
}

#[test]
fn kinds_are_classified_as_python_does() {
    let wrong: Vec<String> = CORPUS
        .iter()
        .filter(|(kind, want)| verdict(kind) != *want)
        .map(|(kind, want)| format!("{kind:?}: Python says {want:?}, we say {:?}", verdict(kind)))
        .collect();
    assert!(
        wrong.is_empty(),
        "{} of {}:\n{}",
        wrong.len(),
        CORPUS.len(),
        wrong.join("\n")
    );
}

#[test]
fn the_issue_kind_is_a_path_and_paths_are_split_as_written() {
    // oslo.policy: `ast.literal_eval('xyz and methods')` raises ValueError, GenericCheck looks
    // the kind up as a path (`self.kind.split('.')`) and finds nothing
    assert_eq!(classify_kind("xyz and methods"), KindClass::ValueError);
    assert_eq!(
        classify("xyz and methods"),
        KindMeaning::Path(vec!["xyz and methods".into()])
    );
    assert_eq!(
        classify(" token . methods"),
        KindMeaning::Path(vec![" token ".into(), " methods".into()])
    );
    assert!(matches!(classify("xyz and"), KindMeaning::Raise(_)));
}

#[test]
fn long_numbers_are_read_as_python_reads_them() {
    let ones = |n: usize| "1".repeat(n);
    // a decimal literal of more than 4300 digits is a SyntaxError; zeros fit a C long
    assert!(matches!(
        classify_kind(&ones(4301)),
        KindClass::SyntaxError(_)
    ));
    assert_eq!(classify_kind(&ones(4300)), KindClass::Literal(ones(4300)));
    assert_eq!(
        classify_kind(&"0".repeat(5000)),
        KindClass::Literal("0".into())
    );
    // `str()` of an int of more than 4300 digits raises ValueError: a path
    let hex = format!("0x{}", "f".repeat(3700));
    assert_eq!(classify_kind(&hex), KindClass::ValueError);
    assert!(matches!(
        classify_kind(&format!("0x{}", "f".repeat(3500))),
        KindClass::Literal(t) if t.len() == 4215 && t.ends_with("5")
    ));
    // an int too large for a float, added to an imaginary number: OverflowError
    assert!(matches!(
        classify_kind(&format!("{}+1j", ones(400))),
        KindClass::OtherError(e) if e.starts_with("OverflowError")
    ));
    assert_eq!(
        classify_kind(&format!("{}+1j", ones(300))),
        KindClass::Literal("(1.1111111111111112e+299+1j)".into())
    );
}

/// Expression-shaped text: Python's tokens and pieces of its grammar, glued and spaced.
fn expression_text() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "a", "xyz", "methods", "True", "None", "1", "0x1f", "1.5", "2j", "1_0", "'s'", "b'b'",
        "f'{a}'", "f'{", "'", "\"", "(", ")", "[", "]", "{", "}", ",", ":", ".", "...", "+", "-",
        "*", "**", "/", "//", "%", "@", "~", "<", "<=", "==", "!=", "<>", "and", "or", "not", "in",
        "is", "if", "else", "for", "async", "await", "lambda", "yield", ":=", "=", ";", "#", "\\",
        "\n", "\t", "$", "é", "set", "class",
    ]);
    let sep = prop::sample::select(vec!["", " ", "  ", "\t", "\n"]);
    prop::collection::vec((piece, sep), 0..24).prop_map(|parts| {
        parts
            .into_iter()
            .map(|(p, s)| format!("{p}{s}"))
            .collect::<String>()
    })
}

/// Python's repr of a complex number keeps a negative zero that reading it back loses:
/// `str(literal_eval("-2j"))` is `(-0-2j)`, and `str(literal_eval("(-0-2j)"))` is `-2j`.
#[test]
fn complex_numbers_print_their_signed_zeros_as_python_does() {
    assert_eq!(classify_kind("-2j"), KindClass::Literal("(-0-2j)".into()));
    assert_eq!(classify_kind("(-0-2j)"), KindClass::Literal("-2j".into()));
    assert_eq!(classify_kind("(1-0j)"), KindClass::Literal("(1+0j)".into()));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn the_classifier_never_panics(text in any::<String>()) {
        let _ = classify_kind(&text);
    }

    #[test]
    fn expression_shaped_kinds_are_classified_consistently(text in expression_text()) {
        let class = classify_kind(&text);
        // what needs no parser to decide: unbalanced brackets and characters Python has no
        // token for are syntax errors; a plain name is a path; a literal's text is `str()`
        let opens = text.matches(['(', '[', '{']).count();
        let closes = text.matches([')', ']', '}']).count();
        let quoted = text.contains(['\'', '"', '#']);
        if !quoted && (opens != closes || text.contains(['$', ';']) || text.contains("<>")) {
            prop_assert!(matches!(class, KindClass::SyntaxError(_)), "{:?}: {:?}", text, class);
        }
        let word = text.trim_start_matches([' ', '\t']);
        if !word.is_empty() && word.chars().all(|c| c.is_ascii_lowercase()) {
            let keyword = ["and", "or", "not", "in", "is", "if", "else", "for", "async",
                "await", "lambda", "yield", "class"].contains(&word);
            let want = if keyword { "syntax" } else { "value" };
            prop_assert_eq!(verdict(&text), want);
        }
        // a number's or a tuple's of numbers text reads back as the same literal (not a
        // complex number's: Python's repr(-2j) is (-0-2j), which reads back as -2j)
        if let KindClass::Literal(value) = &class {
            let numeric = value.chars().all(|c| "0123456789.-+e()[], ".contains(c));
            if numeric && value.chars().any(|c| c.is_ascii_digit()) {
                prop_assert!(matches!(classify_kind(value), KindClass::Literal(v) if v == *value),
                    "{:?} -> {:?}", text, value);
            }
        }
        // the same kind, classified again, is classified the same
        prop_assert_eq!(classify_kind(&text), class);
    }
}
