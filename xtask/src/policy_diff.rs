//! The oslo.policy differential: oslo.policy 6.0.1's checker (its `oslo_policy.shell.tool`, the
//! code behind `oslopolicy-checker`) and `keystone-policy check` evaluate the same policy files
//! for the same tokens and targets; every output line must agree.
//!
//! Corpus (a): a seeded generator writes 2,400 rules covering the whole grammar (every check
//! kind, literal kinds, dotted paths, `%` templates, `and`/`or`/`not` in any case, glued and
//! spaced parentheses, odd whitespace, the list-of-lists form) and malformed ones (unbalanced
//! parentheses, dangling operators, quoted strings, bad kinds and templates, cycles). Corpus
//! (b): Keystone's 204 default rules with the tokens of a system admin, a project admin, a
//! member, a reader, a service user and a domain manager. The list-of-lists entries include
//! kinds that are Python expressions but not literals (`xyz and methods:token`, issue #22),
//! which oslo.policy reads as paths, and 200 generated expression kinds, each alone and under
//! `not rule:`.
//!
//! The kinds differential (`run_kinds`): a seeded generator writes expression-shaped check
//! kinds (Python's operators, keywords, brackets, comprehensions, lambdas, calls, subscripts,
//! strings and f-strings, numbers in every form, odd whitespace, and broken text);
//! `classify_kinds.py` gives CPython's verdict on each (`ast.literal_eval`: a literal and its
//! `str()`, `ValueError`, `SyntaxError` or another exception) and
//! `keystone_policy::classify_kind` must give the same.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

/// One evaluation case: a policy file, a token, maybe a target.
struct Case {
    name: String,
    policy: PathBuf,
    access: PathBuf,
    target: Option<PathBuf>,
}

/// The result of the differential.
pub(crate) struct DiffReport {
    /// Lines compared.
    pub(crate) lines: usize,
    /// Disagreements, described.
    pub(crate) disagreements: Vec<String>,
    /// Rules in the generated corpus.
    pub(crate) generated_rules: usize,
}

const ROLES: &[&str] = &[
    "admin", "member", "reader", "Admin", "MEMBER", "service", "manager", "nobody",
];

fn pick<'a, T: ?Sized>(rng: &mut StdRng, items: &'a [&'a T]) -> &'a T {
    items[rng.random_range(0..items.len())]
}

fn atom(rng: &mut StdRng) -> String {
    let role = pick(rng, ROLES);
    let choices: Vec<String> = vec![
        format!("role:{role}"),
        "role:%(target_role)s".into(),
        "role:%(role.name)s".into(),
        "role:%(missing)s".into(),
        "role:".into(),
        pick(
            rng,
            &[
                "rule:admin",
                "rule:owner",
                "rule:member_or_owner",
                "rule:unknown_rule",
                "rule:cycle_a",
                "rule:default",
                "rule:",
            ],
        )
        .to_owned(),
        pick(
            rng,
            &[
                "user_id:%(user_id)s",
                "project_id:%(project_id)s",
                "project_id:%(target.project.id)s",
                "domain_id:%(domain_id)s",
                "user_id:u1",
                "project_id:p1",
            ],
        )
        .to_owned(),
        pick(
            rng,
            &[
                "'member':%(role.name)s",
                "\"reader\":%(target.role.name)s",
                "'admin':%(role.name)s",
                "'member':member",
            ],
        )
        .to_owned(),
        pick(
            rng,
            &[
                "True:%(enabled)s",
                "False:%(enabled)s",
                "None:%(domain_id)s",
                "None:%(missing)s",
                "1:%(count)s",
                "1.0:%(f)s",
                "1:%(f)s",
                "-1:-1",
                "0x1:%(count)s",
                "1e0:%(f)s",
                "[1, 2]:%(l)s",
                "[1,2]:%(l)s",
                "(1,):x",
            ],
        )
        .to_owned(),
        pick(
            rng,
            &[
                "user.domain.id:default",
                "user.domain.id:%(domain_id)s",
                "project.domain.name:Default",
                "roles:member",
                "roles:MEMBER",
                "groups.name:g1",
                "groups.name:%(user_id)s",
                "system_scope:all",
                "is_admin:True",
                "is_admin:False",
                "is_admin:1",
                "enabled:True",
                "count:1",
                "f:1.5",
                "nothing:None",
            ],
        )
        .to_owned(),
        pick(
            rng,
            &[
                "user_id.x:y",
                "roles.x:y",
                "groups.missing:x",
                "nothing.x:y",
                "count.x:1",
                "token.domain.id:%(domain_id)s",
                "user.name:%(user_id)s",
            ],
        )
        .to_owned(),
        pick(rng, &["@", "!"]).to_owned(),
        pick(
            rng,
            &[
                "nocolon",
                "role:%(user_id",
                "role:%(user_id)q",
                "a$b:x",
                "'unterminated:x",
                ":x",
                "user_id:%(count)d",
                "project_id:%(project_id)d",
                "count:%(count)d",
                "role:50%",
                "role:%%admin",
                "'a-string'",
                "1a:x",
                "if:x",
                "a.:x",
                "f(x):y",
                "a-b:c",
            ],
        )
        .to_owned(),
    ];
    choices[rng.random_range(0..choices.len())].clone()
}

fn case_of(rng: &mut StdRng, word: &str) -> String {
    match rng.random_range(0..4) {
        0 => word.to_uppercase(),
        1 => {
            let mut c = word.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect())
                .unwrap_or_default()
        }
        _ => word.to_owned(),
    }
}

fn random_op(rng: &mut StdRng) -> String {
    let word = if rng.random_bool(0.5) { "and" } else { "or" };
    case_of(rng, word)
}

fn expr(rng: &mut StdRng, depth: usize) -> String {
    if depth == 0 || rng.random_range(0..3) == 0 {
        let a = atom(rng);
        return if rng.random_range(0..6) == 0 {
            format!("{} {a}", case_of(rng, "not"))
        } else {
            a
        };
    }
    let n = rng.random_range(2..4);
    let op = random_op(rng);
    let mut parts = Vec::new();
    for i in 0..n {
        if i > 0 {
            parts.push(if rng.random_range(0..4) == 0 {
                random_op(rng)
            } else {
                op.clone()
            });
        }
        parts.push(expr(rng, depth - 1));
    }
    let inner = parts.join(" ");
    match rng.random_range(0..5) {
        0 => format!("({inner})"),
        1 => format!("( {inner} )"),
        2 => format!("{} ({inner})", case_of(rng, "not")),
        _ => inner,
    }
}

fn mangle(rng: &mut StdRng, rule: String) -> String {
    let mut words: Vec<String> = rule.split(' ').map(str::to_owned).collect();
    match rng.random_range(0..12) {
        0 if !words.is_empty() => {
            let i = rng.random_range(0..words.len());
            words.remove(i);
        }
        1 => words.push(pick(rng, &["and", "or", "not", "(", ")"]).to_owned()),
        2 => words.insert(
            0,
            pick(rng, &["and", "or", ")", "(", "'quoted'"]).to_owned(),
        ),
        3 => return String::new(),
        4 => {
            return pick(
                rng,
                &[
                    "   ",
                    "\t",
                    "()",
                    "(())",
                    "not",
                    "and",
                    "or",
                    "@ @",
                    "! or",
                    "not not @",
                    "((@)",
                    "(@))",
                ],
            )
            .to_owned();
        }
        _ => {}
    }
    let sep = pick(rng, &[" ", " ", " ", "  ", "\t", "\u{a0}", " \n "]);
    words.join(sep)
}

/// Writes the generated corpus; returns the number of generated rules.
fn generate(dir: &Path) -> anyhow::Result<usize> {
    let mut rng = StdRng::seed_from_u64(0x4b53_5250_6f6c);
    let mut rules = serde_json::Map::new();
    for (name, rule) in [
        ("admin", "role:admin"),
        ("owner", "user_id:%(user_id)s"),
        ("member_or_owner", "role:member or rule:owner"),
        ("default", "role:reader"),
        ("cycle_a", "rule:cycle_b"),
        ("cycle_b", "rule:cycle_a"),
    ] {
        rules.insert(name.into(), Value::String(rule.into()));
    }
    let count = 2400;
    for i in 0..count {
        let depth = rng.random_range(0..4);
        let rule = expr(&mut rng, depth);
        let rule = if rng.random_range(0..4) == 0 {
            mangle(&mut rng, rule)
        } else {
            rule
        };
        rules.insert(format!("gen:{i:04}"), Value::String(rule));
    }
    let lists = [
        json!([]),
        json!([[]]),
        json!([["role:admin"]]),
        json!(["role:member"]),
        json!([["role:admin"], ["role:member", "project_id:%(project_id)s"]]),
        json!([["role:nobody", "rule:admin"], [], ["user_id:%(user_id)s"]]),
        json!([["nocolon"]]),
        json!([["rule:cycle_a"], ["role:member"]]),
        // empty values of any kind are "@"; a mapping stands for its keys
        json!(null),
        json!(false),
        json!(0),
        json!({}),
        json!({"role:admin": 1}),
        // kinds with blanks, as ast.literal_eval reads them
        json!([[" user_id:%(user_id)s"], ["role:admin"]]),
        json!([["- 1:-1"]]),
        json!([["\tproject_id:%(project_id)s", "role:member"]]),
        json!([["'a' 'b':ab"]]),
        json!([["( 1\n):1"]]),
        json!([["x\n y:1"], ["@"]]),
        json!([["1 2:1"], ["@"]]),
        // Python expressions that are not literals: ValueError, then a path (issue #22)
        json!([["xyz and methods:token", "role:member"]]),
        json!([["xyz and methods:token AND role:manager"]]),
        json!([["methods:password"]]),
        json!([["user.id if 1 else 2:admin1"], ["role:reader"]]),
        json!([["not roles:member"]]),
        json!([["roles or x:member"]]),
        json!([["lambda: 1:x"]]),
        json!([["[x for x in roles]:x"]]),
        json!([["f(x, *y, z=1):x"]]),
        json!([["a[1:2]"]]),
        json!([["await x:y", "@"]]),
        json!([["(yield):x"], ["@"]]),
        json!([["x if y:x"], ["@"]]),
        json!([["'a' b'b':x"], ["@"]]),
        json!([["{[1]}:x"], ["@"]]),
        json!([["f'{x!z}':x"], ["@"]]),
        json!([["0o17:15"]]),
        json!([["1+2j:(1+2j)"]]),
    ];
    for (i, l) in lists.iter().enumerate() {
        rules.insert(format!("list:{i}"), l.clone());
    }
    // generated expression kinds in the list form, alone and under `not` (`not rule:...`
    // allows where the kind is a path that is not found, raises where the kind raises)
    let mut kind_rng = StdRng::seed_from_u64(0x6b69_6e64);
    let matches = ["x", "member", "%(user_id)s", "True", "1", "password"];
    for i in 0..KIND_RULES {
        let kind = kind_expression(&mut kind_rng, i % 3).replace(':', "");
        let matched = pick(&mut kind_rng, &matches);
        rules.insert(
            format!("kind:{i:03}"),
            json!([[format!("{kind}:{matched}")]]),
        );
        rules.insert(
            format!("not-kind:{i:03}"),
            Value::String(format!("not rule:kind:{i:03}")),
        );
    }
    std::fs::write(
        dir.join("generated-policy.json"),
        serde_json::to_string_pretty(&Value::Object(rules))?,
    )?;
    Ok(count + lists.len() + 2 * KIND_RULES)
}

/// Generated list-of-lists rules whose kinds are expressions.
const KIND_RULES: usize = 200;

const KIND_NAMES: &[&str] = &[
    "a", "b", "x", "xyz", "methods", "token", "user_id", "roles", "set", "True", "False", "None",
    "print", "match", "_", "é", "ſet", "if", "in", "is", "not", "and", "or", "for", "lambda",
    "await", "yield", "async", "class", "else", "from", "del",
];
const KIND_NUMBERS: &[&str] = &[
    "0",
    "1",
    "00",
    "0123",
    "1_0",
    "1__0",
    "1_",
    "0x1f",
    "0X_F",
    "0o17",
    "0o8",
    "0b101",
    "0b2",
    "1.5",
    "1.",
    ".5",
    "1e5",
    "1E-5",
    "1e",
    "1e+",
    "1j",
    "1.5J",
    "1e400",
    "1e400j",
    "10000000000000000000000",
    "0xffffffffffffffffffffffffffffffffffffffff",
    "1if",
    "1else",
    "1a",
    "0_0",
    "09.5",
    "1.e5",
    "0e0",
    "1__",
    "1_000.0_5",
];
const KIND_STRINGS: &[&str] = &[
    "'a'",
    "\"b\"",
    "''",
    "'''t'''",
    "\"\"\"u\"\"\"",
    "b'x'",
    "B'y'",
    "rb'\\d'",
    "Rb'z'",
    "br''",
    "u'v'",
    "U'w'",
    "r'\\n'",
    "f'{x}'",
    "F'{a!r}'",
    "f'{x:>{w}}'",
    "f'{x=}'",
    "fr'{x}'",
    "rf'\\{x}'",
    "f''",
    "'\\x41'",
    "'\\x4'",
    "'\\u00e9'",
    "'\\U0001F600'",
    "'\\777'",
    "'\\q'",
    "b'\\xff'",
    "b'é'",
    "'é'",
    "ub''",
    "bu''",
    "ur''",
    "f'{'",
    "f'}'",
    "f'{{}}'",
    "f'{}'",
    "f'{x!z}'",
    "f'{a#}'",
    "'a",
    "'''a",
    "f'{x:{y:{z}}}'",
    "f'{*a, b}'",
    "f'{yield}'",
    "f'{x for x in y}'",
    "f'{lambda:1}'",
    "f'{(lambda:1)}'",
];
const KIND_BINARY: &[&str] = &[
    "+", "-", "*", "/", "//", "%", "@", "**", "<<", ">>", "&", "|", "^", "<", ">", "==", "!=",
    "<=", ">=", "<>", "in", "not in", "is", "is not", "and", "or", "if", "else", ":=", "=", ",",
    ".", ":", "->", "+=", ";", "!", "$", "?",
];
const KIND_PREFIXES: &[&str] = &[
    "-",
    "+",
    "~",
    "not ",
    "await ",
    "*",
    "**",
    "lambda: ",
    "lambda x: ",
    "lambda x=1, *a, k, **kw: ",
    "lambda *, a: ",
    "lambda a, /: ",
    "yield ",
    "yield from ",
];
const KIND_BLANKS: &[&str] = &["", " ", "  ", "\t", "\n", " \\\n", "#c\n", "\x0c"];

/// An expression-shaped kind, `depth` levels of nesting at most: mostly valid Python, often
/// not a literal, sometimes broken.
fn kind_expression(rng: &mut StdRng, depth: usize) -> String {
    if depth == 0 {
        return kind_atom(rng, 0);
    }
    match rng.random_range(0..20) {
        0..7 => kind_atom(rng, depth),
        7..14 => {
            let left = kind_expression(rng, depth - 1);
            let (b1, op, b2) = (
                pick(rng, &KIND_BLANKS[..3]),
                pick(rng, KIND_BINARY),
                pick(rng, &KIND_BLANKS[..3]),
            );
            format!("{left}{b1}{op}{b2}{}", kind_expression(rng, depth - 1))
        }
        14..17 => {
            let prefix = pick(rng, KIND_PREFIXES);
            format!("{prefix}{}", kind_expression(rng, depth - 1))
        }
        17..19 => {
            let body = kind_expression(rng, depth - 1);
            let test = kind_expression(rng, depth - 1);
            format!("{body} if {test} else {}", kind_expression(rng, depth - 1))
        }
        _ => {
            let left = kind_expression(rng, depth - 1);
            let blank = pick(rng, KIND_BLANKS);
            format!("{left}{blank}{}", kind_expression(rng, depth - 1))
        }
    }
}

/// `n` items from `item`, joined by `, `, with a trailing comma or not.
fn kind_items(rng: &mut StdRng, n: usize, item: impl Fn(&mut StdRng) -> String) -> String {
    let items: Vec<String> = (0..n).map(|_| item(rng)).collect();
    let comma = if n > 0 && rng.random_bool(0.3) {
        ","
    } else {
        ""
    };
    format!("{}{comma}", items.join(", "))
}

fn kind_atom(rng: &mut StdRng, depth: usize) -> String {
    let simple = rng.random_range(0..100);
    if simple < 25 || depth == 0 {
        return pick(rng, KIND_NAMES).to_owned();
    }
    if simple < 40 {
        return pick(rng, KIND_NUMBERS).to_owned();
    }
    if simple < 50 {
        let s = pick(rng, KIND_STRINGS).to_owned();
        return if rng.random_bool(0.2) {
            format!("{s} {}", pick(rng, KIND_STRINGS))
        } else {
            s
        };
    }
    if simple < 53 {
        return "...".into();
    }
    let d = depth - 1;
    let e = |rng: &mut StdRng| kind_expression(rng, d);
    let n = rng.random_range(0..4);
    match rng.random_range(0..14) {
        0 => format!("({})", e(rng)),
        1 => format!("({})", kind_items(rng, n, e)),
        2 => format!("[{}]", kind_items(rng, n, e)),
        // a set of one member: Python prints larger ones in hash order
        3 => format!("{{{}}}", e(rng)),
        4 => {
            let items = kind_items(rng, n, |rng| {
                let key = e(rng);
                format!("{key}: {}", e(rng))
            });
            format!("{{{items}}}")
        }
        5 => {
            let (open, close) = [("[", "]"), ("(", ")"), ("{", "}")][rng.random_range(0..3)];
            let element = e(rng);
            let asynchronous = if rng.random_bool(0.2) { "async " } else { "" };
            let target = kind_target(rng, d);
            let iterable = e(rng);
            let guard = if rng.random_bool(0.5) {
                format!(" if {}", e(rng))
            } else {
                String::new()
            };
            format!("{open}{element} {asynchronous}for {target} in {iterable}{guard}{close}")
        }
        6 => {
            let func = kind_atom(rng, d);
            let args = kind_items(rng, n, |rng| match rng.random_range(0..6) {
                0 => format!("*{}", e(rng)),
                1 => format!("**{}", e(rng)),
                2 => {
                    let name = pick(rng, KIND_NAMES);
                    format!("{name}={}", e(rng))
                }
                _ => e(rng),
            });
            format!("{func}({args})")
        }
        7 => {
            let value = kind_atom(rng, d);
            let slices = kind_items(rng, n.max(1), |rng| match rng.random_range(0..5) {
                0 => {
                    let lower = e(rng);
                    format!("{lower}:{}", e(rng))
                }
                1 => format!(":{}:", e(rng)),
                2 => format!("*{}", e(rng)),
                _ => e(rng),
            });
            format!("{value}[{slices}]")
        }
        8 => {
            let value = kind_atom(rng, d);
            format!("{value}.{}", pick(rng, KIND_NAMES))
        }
        9 => "set()".into(),
        10 => {
            let (a, op, b) = (
                pick(rng, KIND_NUMBERS),
                pick(rng, &["+", "-"]),
                pick(rng, KIND_NUMBERS),
            );
            format!("-{a}{op}{b}")
        }
        11 => {
            let (key, value) = (e(rng), e(rng));
            let target = kind_target(rng, d);
            format!("{{{key}: {value} for {target} in {}}}", e(rng))
        }
        12 => match rng.random_range(0..3) {
            0 => "(yield)".into(),
            1 => format!("(yield {})", e(rng)),
            _ => format!("(yield from {})", e(rng)),
        },
        _ => pick(rng, KIND_NAMES).to_owned(),
    }
}

/// The target of a comprehension's `for`.
fn kind_target(rng: &mut StdRng, depth: usize) -> String {
    let n = rng.random_range(0..3);
    match rng.random_range(0..8) {
        0 if depth > 0 => {
            let items = kind_items(rng, n, |rng| kind_target(rng, depth - 1));
            format!("({items})")
        }
        1 if depth > 0 => {
            let items = kind_items(rng, n, |rng| kind_target(rng, depth - 1));
            format!("[{items}]")
        }
        2 if depth > 0 => format!("*{}", kind_target(rng, depth - 1)),
        3 => {
            let value = kind_atom(rng, depth);
            format!("{value}.{}", pick(rng, KIND_NAMES))
        }
        4 => format!("{}[0]", kind_atom(rng, depth)),
        5 => kind_atom(rng, depth),
        _ => pick(rng, KIND_NAMES).to_owned(),
    }
}

/// The kinds for the kinds differential.
fn generated_kinds(count: usize) -> Vec<String> {
    let mut rng = StdRng::seed_from_u64(0x4b49_4e44_5331);
    (0..count)
        .map(|_| {
            let depth = rng.random_range(0..5);
            let mut kind = kind_expression(&mut rng, depth);
            if rng.random_bool(0.1) {
                kind.insert_str(0, pick(&mut rng, KIND_BLANKS));
            }
            if rng.random_bool(0.1) {
                kind.push_str(pick(&mut rng, KIND_BLANKS));
            }
            kind
        })
        .collect()
}

/// Our verdict on `kind`, in `classify_kinds.py`'s words.
fn our_verdict(kind: &str) -> String {
    use keystone_policy::{KindClass, classify_kind};
    match classify_kind(kind) {
        KindClass::Literal(text) => format!("literal {}", Value::String(text)),
        KindClass::ValueError => "value".into(),
        KindClass::SyntaxError(_) => "syntax".into(),
        KindClass::OtherError(e) => {
            let name = e.split(':').next().unwrap_or_default().to_owned();
            format!("error {}", Value::String(name))
        }
        other => format!("unknown {other:?}"),
    }
}

/// Python's verdict in comparable form: the literal's text decoded, the messages left out.
fn python_verdict(line: &str) -> String {
    let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
    match word {
        "literal" => match serde_json::from_str::<String>(rest) {
            Ok(text) => format!("literal {}", Value::String(text)),
            Err(_) => format!("unreadable {line}"),
        },
        "error" => format!("error {rest}"),
        other => other.to_owned(),
    }
}

/// Runs the kinds differential with `python` (3.11, as the venv's): `count` generated kinds,
/// each classified by CPython and by keystone-policy.
pub(crate) fn run_kinds(python: &Path, count: usize) -> anyhow::Result<DiffReport> {
    let dir = PathBuf::from("target/conformance/policy");
    std::fs::create_dir_all(&dir)?;
    let kinds = generated_kinds(count);
    let mut input = String::new();
    for kind in &kinds {
        input.push_str(&Value::String(kind.clone()).to_string());
        input.push('\n');
    }
    let input_file = dir.join("kinds.jsonl");
    std::fs::write(&input_file, input)?;
    let out = Command::new(python)
        .arg("xtask/src/classify_kinds.py")
        .arg(&input_file)
        .output()
        .context("cannot run classify_kinds.py")?;
    if !out.status.success() {
        anyhow::bail!(
            "classify_kinds.py failed with {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let verdicts: Vec<&str> = stdout.lines().collect();
    if verdicts.len() != kinds.len() {
        anyhow::bail!(
            "classify_kinds.py gave {} verdicts for {} kinds",
            verdicts.len(),
            kinds.len()
        );
    }
    let mut disagreements = Vec::new();
    for (kind, theirs) in kinds.iter().zip(verdicts) {
        let (ours, theirs) = (our_verdict(kind), python_verdict(theirs));
        if ours != theirs {
            disagreements.push(format!(
                "kind {}: keystone-policy says {ours}, Python says {theirs}",
                Value::String(kind.clone())
            ));
        }
    }
    Ok(DiffReport {
        lines: kinds.len(),
        disagreements,
        generated_rules: kinds.len(),
    })
}

fn token(roles: &[&str], scope: Value, user: &str) -> Value {
    let mut t = json!({
        "methods": ["password"],
        "user": {"id": user, "name": user, "domain": {"id": "default", "name": "Default"}, "password_expires_at": null},
        "roles": roles.iter().enumerate().map(|(i, r)| json!({"id": format!("r{i}"), "name": r})).collect::<Vec<_>>(),
        "audit_ids": ["a"],
        "expires_at": "2026-11-23T10:00:00.000000Z",
        "issued_at": "2026-11-23T09:00:00.000000Z",
        "enabled": true,
        "count": 1,
        "f": 1.5,
        "groups": [{"name": "g1"}, {"name": "g2"}],
        "nothing": null,
    });
    if let (Some(obj), Some(scope)) = (t.as_object_mut(), scope.as_object()) {
        for (k, v) in scope {
            obj.insert(k.clone(), v.clone());
        }
    }
    json!({"token": t})
}

fn tokens() -> Vec<(&'static str, Value)> {
    let project = |id: &str| json!({"project": {"id": id, "name": id, "domain": {"id": "default", "name": "Default"}}, "is_domain": false});
    vec![
        (
            "system-admin",
            token(
                &["admin", "manager", "member", "reader"],
                json!({"system": {"all": true}}),
                "admin1",
            ),
        ),
        (
            "project-admin",
            token(
                &["admin", "manager", "member", "reader"],
                project("p1"),
                "admin2",
            ),
        ),
        ("member", token(&["member", "reader"], project("p1"), "u1")),
        ("reader", token(&["reader"], project("p1"), "u3")),
        ("service", token(&["service"], project("services"), "svc")),
        (
            "domain-manager",
            token(
                &["manager", "member", "reader"],
                json!({"domain": {"id": "default", "name": "Default"}}),
                "dm",
            ),
        ),
        ("odd-case", token(&["Admin", "MEMBER"], project("p2"), "u2")),
    ]
}

fn targets() -> Vec<(&'static str, Value)> {
    vec![
        (
            "matching",
            json!({
                "user_id": "u1", "project_id": "p1", "domain_id": "default", "enabled": true, "count": 1, "f": 1.0,
                "role": {"name": "member"}, "l": [1, 2], "target_role": "admin",
                "target": {
                    "project": {"id": "p1", "domain_id": "default"},
                    "user": {"id": "u1", "domain_id": "default"},
                    "role": {"name": "reader", "domain_id": null},
                    "domain": {"id": "default"},
                    "token": {"user_id": "u1"},
                    "group": {"domain_id": "default"}
                }
            }),
        ),
        (
            "other",
            json!({
                "user_id": "u2", "project_id": "p2", "domain_id": null, "enabled": false, "count": 2, "f": 1.5,
                "role": {"name": "admin"}, "target_role": "MEMBER",
                "target": {
                    "project": {"id": "p2", "domain_id": "other"},
                    "user": {"id": "u2", "domain_id": "other"},
                    "role": {"name": "manager", "domain_id": "other"},
                    "domain": {"id": "other"},
                    "token": {"user_id": "admin2"}
                }
            }),
        ),
        ("empty", json!({})),
    ]
}

fn cases(dir: &Path, policy: &Path, prefix: &str) -> anyhow::Result<Vec<Case>> {
    let mut out = Vec::new();
    for (tname, tok) in tokens() {
        let access = dir.join(format!("access-{tname}.json"));
        std::fs::write(&access, serde_json::to_string(&tok)?)?;
        let mut files: Vec<(String, Option<PathBuf>)> = vec![("default-target".into(), None)];
        for (gname, target) in targets() {
            let path = dir.join(format!("target-{gname}.json"));
            std::fs::write(&path, serde_json::to_string(&target)?)?;
            files.push((gname.to_owned(), Some(path)));
        }
        for (gname, target) in files {
            out.push(Case {
                name: format!("{prefix}/{tname}/{gname}"),
                policy: policy.to_owned(),
                access: access.clone(),
                target,
            });
        }
    }
    Ok(out)
}

/// The Python side: one process runs every case through `oslo_policy.shell.tool`.
const DRIVER: &str = r#"
import contextlib, io, json, logging, sys, warnings
logging.disable(logging.CRITICAL)  # oslo.policy logs a traceback for every unparsable rule
warnings.simplefilter("ignore")  # SyntaxWarnings for kinds such as `1if`
from oslo_policy import shell
cases = json.load(open(sys.argv[1]))
out = {}
for c in cases:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        shell.tool(c["policy"], c["access"], None, False, c.get("target"))
    out[c["name"]] = buf.getvalue()
json.dump(out, open(sys.argv[2], "w"))
"#;

/// Keeps the decision lines (`passed:`, `failed:`, `exception:`); error messages differ between
/// the two implementations and are not compared.
fn decisions(output: &str) -> Vec<String> {
    output
        .lines()
        .filter(|l| {
            l.starts_with("passed: ") || l.starts_with("failed: ") || l.starts_with("exception: ")
        })
        .map(str::to_owned)
        .collect()
}

/// Runs the differential with the venv's Python and our binary.
pub(crate) fn run(python: &Path, ours: &Path) -> anyhow::Result<DiffReport> {
    let dir = PathBuf::from("target/conformance/policy");
    std::fs::create_dir_all(&dir)?;
    let generated_rules = generate(&dir)?;
    let mut all = cases(&dir, &dir.join("generated-policy.json"), "generated")?;
    all.extend(cases(
        &dir,
        Path::new("crates/keystone-fake/policy/keystone-policy-effective.yaml"),
        "keystone",
    )?);

    let spec: Vec<Value> = all
        .iter()
        .map(
            |c| json!({"name": c.name, "policy": c.policy, "access": c.access, "target": c.target}),
        )
        .collect();
    let spec_file = dir.join("cases.json");
    let result_file = dir.join("python-results.json");
    std::fs::write(&spec_file, serde_json::to_string(&spec)?)?;
    let driver = dir.join("driver.py");
    std::fs::write(&driver, DRIVER)?;
    // oslo.config and oslo.policy talk on stderr ("Config file not found", deprecations):
    // kept in a log, shown only if the driver fails
    let log = dir.join("oslo-policy.log");
    let _ = std::fs::remove_file(&log);
    crate::util::run_logged(
        Command::new(python)
            .arg(&driver)
            .arg(&spec_file)
            .arg(&result_file)
            .envs(crate::harness::QUIET_PYTHON.iter().copied()),
        &log,
    )
    .context("the oslo.policy driver failed")?;
    let python_results: serde_json::Map<String, Value> =
        serde_json::from_str(&std::fs::read_to_string(&result_file)?)?;

    let mut lines = 0;
    let mut disagreements = Vec::new();
    for case in &all {
        let mut cmd = Command::new(ours);
        cmd.arg("check")
            .arg("--policy")
            .arg(&case.policy)
            .arg("--access")
            .arg(&case.access);
        if let Some(t) = &case.target {
            cmd.arg("--target").arg(t);
        }
        let out = cmd
            .output()
            .with_context(|| format!("cannot run {}", ours.display()))?;
        if !out.status.success() {
            disagreements.push(format!(
                "{}: keystone-policy check failed: {}",
                case.name,
                String::from_utf8_lossy(&out.stderr)
            ));
            continue;
        }
        let ours = decisions(&String::from_utf8_lossy(&out.stdout));
        let theirs = decisions(
            python_results
                .get(&case.name)
                .and_then(Value::as_str)
                .unwrap_or(""),
        );
        if ours.len() != theirs.len() {
            disagreements.push(format!(
                "{}: {} lines from keystone-policy, {} from oslo.policy",
                case.name,
                ours.len(),
                theirs.len()
            ));
        }
        for (a, b) in ours.iter().zip(&theirs) {
            lines += 1;
            if a != b {
                let mut d = String::new();
                let _ = write!(
                    d,
                    "{}: keystone-policy said {a:?}, oslo.policy said {b:?}",
                    case.name
                );
                disagreements.push(d);
            }
        }
    }
    Ok(DiffReport {
        lines,
        disagreements,
        generated_rules,
    })
}
