//! The guides' code, kept true: every `rust` block of the guides in `docs/` is a doctest of
//! this crate (compiled, and run unless marked `no_run`), and the tests below check that
//! docs/getting-started.md shows `examples/protect-axum` exactly as it is, with the dependency
//! versions of the workspace.
//!
//! **Architecture invariant:** a Rust block in a guide compiles; a guide's listing of an
//! example file is that file.

#[cfg(doctest)]
#[doc = include_str!("../../../docs/getting-started.md")]
mod getting_started {}

#[cfg(doctest)]
#[doc = include_str!("../../../docs/client.md")]
mod client {}

#[cfg(doctest)]
#[doc = include_str!("../../../docs/middleware.md")]
mod middleware {}

#[cfg(doctest)]
#[doc = include_str!("../../../docs/policy.md")]
mod policy {}

#[cfg(doctest)]
#[doc = include_str!("../../../docs/fake-keystone.md")]
mod fake_keystone {}

#[cfg(test)]
mod tests {
    const GETTING_STARTED: &str = include_str!("../../../docs/getting-started.md");

    /// The ```rust blocks of a guide (```rust,no_run too), each as its text.
    fn rust_blocks(guide: &str) -> Vec<&str> {
        guide
            .split("```rust")
            .skip(1)
            .filter_map(|rest| rest.split_once('\n'))
            .map(|(_, code)| code.split("```\n").next().unwrap_or_default())
            .collect()
    }

    #[test]
    fn the_guide_shows_the_example_crate_file_for_file() {
        let blocks = rust_blocks(GETTING_STARTED);
        for (name, file) in [
            ("src/lib.rs", include_str!("../../protect-axum/src/lib.rs")),
            (
                "src/main.rs",
                include_str!("../../protect-axum/src/main.rs"),
            ),
            (
                "tests/fake_keystone.rs",
                include_str!("../../protect-axum/tests/fake_keystone.rs"),
            ),
        ] {
            assert!(
                blocks.contains(&file),
                "docs/getting-started.md does not show examples/protect-axum/{name} as it is"
            );
            assert!(
                GETTING_STARTED.contains(&format!("`{name}`")),
                "docs/getting-started.md does not name {name}"
            );
        }
    }

    /// `name = "1"` or `name = { version = "1", ... }`: the version.
    fn version_of(line: &str) -> Option<&str> {
        let value = line.split_once(" = ")?.1;
        let start = value.find('"')? + 1;
        let len = value[start..].find('"')?;
        Some(&value[start..start + len])
    }

    #[test]
    fn the_guide_asks_for_the_workspace_versions() {
        let workspace = include_str!("../../../Cargo.toml");
        let mut checked = 0;
        for line in GETTING_STARTED.lines() {
            let Some(name) = ["axum", "serde_json", "tokio", "tower"]
                .into_iter()
                .find(|n| line.starts_with(&format!("{n} = ")))
            else {
                continue;
            };
            let ours = workspace
                .lines()
                .find(|l| l.starts_with(&format!("{name} = ")))
                .and_then(version_of);
            assert_eq!(version_of(line), ours, "{line}");
            checked += 1;
        }
        assert_eq!(checked, 5, "axum, serde_json twice, tokio, tower");
    }

    /// Every crate a Rust block of the guide `use`s is in one of its dependency listings.
    #[test]
    fn the_guide_lists_every_crate_its_code_uses() {
        let mut listed: Vec<String> = Vec::new();
        let mut used: Vec<String> = Vec::new();
        let mut block = None;
        for line in GETTING_STARTED.lines() {
            match (block, line.trim()) {
                (None, "```toml") => block = Some("toml"),
                (None, "```rust") => block = Some("rust"),
                (Some(_), "```") => block = None,
                (Some("toml"), l) => {
                    if let Some((name, _)) = l.trim_start_matches("# ").split_once(" = ") {
                        listed.push(name.trim().replace('-', "_"));
                    }
                }
                (Some("rust"), l) => {
                    if let Some(path) = l.strip_prefix("use ") {
                        let name: String = path
                            .chars()
                            .take_while(|c| c.is_alphanumeric() || *c == '_')
                            .collect();
                        used.push(name);
                    }
                }
                _ => {}
            }
        }
        // the guide's own crate (its tests use the library by the package's name)
        let own = ["std", "crate", "super", "self", "protect_axum_example"];
        let missing: Vec<&String> = used
            .iter()
            .filter(|u| !own.contains(&u.as_str()) && !listed.contains(u))
            .collect();
        assert!(
            !used.is_empty() && missing.is_empty(),
            "not listed: {missing:?}"
        );
    }

    #[test]
    fn the_guide_shows_where_the_crates_come_from() {
        let workspace = include_str!("../../../Cargo.toml");
        let repository = workspace
            .lines()
            .find_map(|l| l.strip_prefix("repository = "))
            .unwrap();
        for name in [
            "keystone-middleware",
            "keystone-policy",
            "keystone-fake",
            "keystone-client",
            "keystone-types",
        ] {
            let git = format!("{name} = {{ git = {repository} }}");
            let path = format!("# {name} = {{ path = \"../keystone-rs/crates/{name}\" }}");
            for line in [git, path] {
                assert!(GETTING_STARTED.contains(&line), "no {line}");
            }
        }
    }
}
