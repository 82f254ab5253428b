//! Properties: the parser never panics, whatever the input, and the canonical text of a parsed
//! rule parses back to the same rule.

use crate::canonical::canonical;
use crate::parser::parse;
use proptest::prelude::*;

/// Rule text from the language's own pieces, glued and spaced in every way.
fn rule_text() -> impl Strategy<Value = String> {
    let atom = prop::sample::select(vec![
        "role:admin",
        "role:%(x)s",
        "rule:a",
        "user_id:%(user_id)s",
        "'member':%(role.name)s",
        "True:%(e)s",
        "@",
        "!",
        "nocolon",
        "'str'",
        "a.b.c:d",
        "'a':'b'",
        "\"x\":y",
        "role:",
        ":x",
        "a$b:c",
        "(",
        ")",
        "((",
        "))",
        "and",
        "or",
        "not",
        "AND",
        "Or",
        "NoT",
    ]);
    let sep = prop::sample::select(vec![" ", "  ", "\t", "\u{a0}", "", "\n"]);
    prop::collection::vec((atom, sep), 0..14).prop_map(|parts| {
        parts
            .into_iter()
            .map(|(a, s)| format!("{a}{s}"))
            .collect::<String>()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn the_parser_never_panics(text in any::<String>()) {
        let _ = parse(&text);
    }

    #[test]
    fn canonical_text_parses_back(text in rule_text()) {
        let rule = parse(&text);
        let again = parse(&canonical(&rule));
        prop_assert_eq!(&again, &rule, "{:?} -> {:?}", text, canonical(&rule));
    }
}
