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
    for dir in ["crates", "xtask"] {
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
            arch.contains(&format!("`{name}`")),
            "ARCHITECTURE.md does not describe `{name}`"
        );
    }
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
