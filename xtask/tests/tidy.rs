//! Repository rules, checked as tests so that no separate lint step exists that only CI knows
//! about: every Rust file opens with a `//!` doc comment, no test is ignored or expected to
//! panic, no placeholder is left in the code, and the README keeps its promises.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            if name != "target" && !name.starts_with('.') {
                rust_files(&path, out);
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

fn all_rust_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["crates", "examples", "xtask"] {
        rust_files(&root().join(dir), &mut files);
    }
    assert!(files.len() > 10, "found only {} Rust files", files.len());
    files
}

#[test]
fn every_rust_file_opens_with_a_module_doc_comment() {
    let missing: Vec<String> = all_rust_files()
        .into_iter()
        .filter(|f| !std::fs::read_to_string(f).unwrap().starts_with("//!"))
        .map(|f| f.display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "files without a //! comment on line 1: {missing:#?}"
    );
}

#[test]
fn no_ignored_tests_no_placeholders() {
    // spelled in pieces so that this file does not match itself
    let banned = [
        ["#[", "ignore"].concat(),
        ["#[", "should_panic"].concat(),
        ["todo", "!("].concat(),
        ["unimplemented", "!("].concat(),
        ["dbg", "!("].concat(),
    ];
    let mut found = Vec::new();
    for file in all_rust_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            for b in &banned {
                if line.contains(b.as_str()) {
                    found.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(found.is_empty(), "banned constructs: {found:#?}");
}

#[test]
fn readme_shows_the_two_commands_on_its_first_screen() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let first_screen: String = readme.lines().take(40).collect::<Vec<_>>().join("\n");
    for cmd in ["cargo xtask demo", "cargo xtask ci"] {
        assert!(
            first_screen.contains(cmd),
            "README's first screen must show `{cmd}`"
        );
    }
    let ci = std::fs::read_to_string(root().join(".ci/run")).unwrap();
    assert!(
        ci.contains("cargo xtask ci"),
        ".ci/run must run the README's test command"
    );
}

#[test]
fn every_crate_has_a_paragraph_in_the_architecture_document() {
    let arch = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    for entry in std::fs::read_dir(root().join("crates")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            arch.contains(&format!("\n### crates/{name}\n")),
            "ARCHITECTURE.md has no `### crates/{name}` section"
        );
    }
}

/// The modules a piece of code names through `prefix` (`crate::` or `super::`), the grouped
/// form `prefix{a, b::c}` included. Comments and the code after `#[cfg(test)]` are left out:
/// documentation links and tests are not dependencies.
fn named_modules(code: &str, prefix: &str) -> Vec<String> {
    let code = code.split("#[cfg(test)]").next().unwrap_or("");
    let mut names = Vec::new();
    for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
        let mut rest = line;
        while let Some(at) = rest.find(prefix) {
            rest = &rest[at + prefix.len()..];
            let heads: Vec<&str> = match rest.strip_prefix('{') {
                Some(group) => {
                    let (mut depth, mut start, mut out) = (0, 0, Vec::new());
                    for (i, c) in group.char_indices() {
                        match c {
                            '{' => depth += 1,
                            '}' if depth == 0 => {
                                out.push(&group[start..i]);
                                break;
                            }
                            '}' => depth -= 1,
                            ',' if depth == 0 => {
                                out.push(&group[start..i]);
                                start = i + 1;
                            }
                            _ => {}
                        }
                    }
                    out
                }
                None => vec![rest],
            };
            for head in heads {
                let ident: String = head
                    .trim_start()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !ident.is_empty() {
                    names.push(ident);
                }
            }
        }
    }
    names
}

/// The child modules of a module directory: `x.rs` and `x/` (with `x/mod.rs`) are `x`.
fn children(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if path.is_dir() && path.join("mod.rs").is_file()
            || path.extension().is_some_and(|e| e == "rs")
                && !matches!(name.as_str(), "lib" | "main" | "mod")
        {
            out.push((name, path));
        }
    }
    out
}

/// The edges between the children of module directory `dir`: child `a` names sibling `b`
/// (`crate::b` at the crate's top level, `super::b` from a file directly in `dir`).
fn sibling_edges(dir: &Path, top_level: bool) -> Vec<(String, String)> {
    let siblings = children(dir);
    let mut edges = Vec::new();
    for (name, path) in &siblings {
        let mut files = Vec::new();
        if path.is_dir() {
            rust_files(path, &mut files);
        } else {
            files.push(path.clone());
        }
        for file in files {
            let code = std::fs::read_to_string(&file).unwrap();
            let mut named = if top_level {
                named_modules(&code, "crate::")
            } else {
                Vec::new()
            };
            // `super::` of a file directly in `dir` (or of `x/mod.rs`'s children) is `dir`
            if file.parent() == Some(dir) {
                named.extend(named_modules(&code, "super::"));
            }
            for other in named {
                if other != *name && siblings.iter().any(|(n, _)| *n == other) {
                    edges.push((name.clone(), other));
                }
            }
        }
    }
    edges.sort();
    edges.dedup();
    edges
}

/// A cycle in a graph given by its edges, if any.
fn find_cycle(edges: &[(String, String)]) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &[(String, String)],
        path: &mut Vec<String>,
        done: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|n| n == node) {
            let mut cycle = path[i..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.iter().any(|n| n == node) {
            return None;
        }
        path.push(node.to_owned());
        for (_, to) in edges.iter().filter(|(from, _)| from == node) {
            if let Some(c) = visit(to, edges, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.push(node.to_owned());
        None
    }
    let mut done = Vec::new();
    edges
        .iter()
        .find_map(|(from, _)| visit(from, edges, &mut Vec::new(), &mut done))
}

/// The one circle allowed: tower's layer and service in the middleware's `auth_token`, which
/// make and read each other.
const ALLOWED_PAIR: (&str, [&str; 2]) = ("auth_token", ["layer", "service"]);

#[test]
fn no_import_circle_between_modules() {
    let mut srcs: Vec<PathBuf> = std::fs::read_dir(root().join("crates"))
        .unwrap()
        .map(|e| e.unwrap().path().join("src"))
        .collect();
    srcs.push(root().join("xtask/src"));
    let mut circles = Vec::new();
    for src in srcs {
        let mut dirs = vec![(src.clone(), true)];
        let mut all = Vec::new();
        while let Some((dir, top)) = dirs.pop() {
            for (_, path) in children(&dir) {
                if path.is_dir() {
                    dirs.push((path, false));
                }
            }
            all.push((dir, top));
        }
        for (dir, top) in all {
            let edges: Vec<(String, String)> = sibling_edges(&dir, top)
                .into_iter()
                .filter(|(a, b)| {
                    let (module, pair) = ALLOWED_PAIR;
                    !(dir.ends_with(module)
                        && pair.contains(&a.as_str())
                        && pair.contains(&b.as_str()))
                })
                .collect();
            if let Some(cycle) = find_cycle(&edges) {
                circles.push(format!("{}: {}", dir.display(), cycle.join(" -> ")));
            }
        }
    }
    assert!(
        circles.is_empty(),
        "import circles:\n{}",
        circles.join("\n")
    );
}

#[test]
fn the_circle_finder_finds_circles() {
    let code = "use crate::{a, b::{c, d}, e};\n// crate::f\nlet x = super::g::h();\n";
    assert_eq!(named_modules(code, "crate::"), ["a", "b", "e"]);
    assert_eq!(named_modules(code, "super::"), ["g"]);
    let edge = |a: &str, b: &str| (a.to_owned(), b.to_owned());
    assert_eq!(
        find_cycle(&[edge("a", "b"), edge("b", "c"), edge("c", "a")]),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
    assert_eq!(
        find_cycle(&[edge("a", "b"), edge("a", "c"), edge("b", "c")]),
        None
    );
}

#[test]
fn reference_exchanges_are_all_present() {
    // The fixtures are the recorded answers of a real Keystone; nobody edits them by hand.
    let dir = root().join("fixtures/exchanges");
    let count = std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(count, 57);
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for key in ["name", "request", "response"] {
            assert!(v.get(key).is_some(), "{}: no {key}", path.display());
        }
    }
}

/// The fake's store is the floor: it names no module of the web layer and no web framework,
/// only `error` and its own modules (ARCHITECTURE.md, crates/keystone-fake).
#[test]
fn the_fakes_store_never_imports_the_web_layer() {
    let src = root().join("crates/keystone-fake/src");
    let allowed: Vec<String> = vec!["error".into(), "store".into()];
    let mut files = Vec::new();
    rust_files(&src.join("store"), &mut files);
    assert!(!files.is_empty());
    let mut offences = Vec::new();
    for file in files {
        let code = std::fs::read_to_string(&file).unwrap();
        for module in named_modules(&code, "crate::") {
            if !allowed.contains(&module) {
                offences.push(format!("{} names crate::{module}", file.display()));
            }
        }
        let code = code.split("#[cfg(test)]").next().unwrap_or("");
        for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
            if ["axum", "tower", "hyper", "http::"]
                .iter()
                .any(|w| line.contains(&format!("use {w}")) || line.contains(&format!("{w}::")))
            {
                offences.push(format!("{}: {}", file.display(), line.trim()));
            }
        }
    }
    assert!(offences.is_empty(), "{offences:#?}");
}

/// Every rule ARCHITECTURE.md states as an **Architecture invariant:** is also written next to
/// the code it governs: its first words appear after the same marker in a source file.
#[test]
fn every_architecture_invariant_is_written_next_to_its_code() {
    const MARK: &str = "**Architecture invariant:**";
    let doc = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    let first_words = |text: &str| -> String {
        text.split_whitespace()
            .take(6)
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut in_code = Vec::new();
    for file in all_rust_files() {
        let code = std::fs::read_to_string(&file).unwrap();
        for (_, rest) in code
            .match_indices(MARK)
            .map(|(i, _)| ((), &code[i + MARK.len()..]))
        {
            let text: String = rest
                .lines()
                .take(3)
                .map(|l| {
                    l.trim_start()
                        .trim_start_matches("//!")
                        .trim_start_matches("///")
                })
                .collect::<Vec<_>>()
                .join(" ");
            in_code.push(first_words(&text));
        }
    }
    let missing: Vec<String> = doc
        .match_indices(MARK)
        .skip(1) // the introduction's mention of the marker
        .map(|(i, _)| first_words(&doc[i + MARK.len()..]))
        .filter(|words| !in_code.contains(words))
        .collect();
    assert!(
        missing.is_empty(),
        "invariants only in ARCHITECTURE.md: {missing:#?}"
    );
}
