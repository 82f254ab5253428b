//! A canonical text for a parsed rule: Python's `str()` of the tree, except that a check whose
//! text would read back as a quoted string (`'a':'b'`) is wrapped in parentheses, so that
//! parsing the canonical text always gives back the same tree.

use crate::parser::Rule;

/// The canonical text of `rule`.
pub(crate) fn canonical(rule: &Rule) -> String {
    match rule {
        Rule::Check(c) => {
            let text = format!("{}:{}", c.kind, c.matched);
            let quoted = text.len() >= 2
                && matches!(text.chars().next(), Some('\'' | '"'))
                && text.chars().next() == text.chars().last();
            if quoted { format!("({text})") } else { text }
        }
        Rule::Not(r) => format!("not {}", canonical(r)),
        Rule::And(rs) | Rule::Or(rs) => {
            let sep = if matches!(rule, Rule::And(_)) {
                " and "
            } else {
                " or "
            };
            let parts: Vec<String> = rs.iter().map(canonical).collect();
            format!("({})", parts.join(sep))
        }
        other => other.to_string(),
    }
}
