//! The guides' code, kept true: every `rust` block of the guides in `docs/` is a doctest of
//! this crate (compiled, and run unless marked `no_run`), and the tests below check that
//! docs/getting-started.md shows `examples/protect-axum` exactly as it is, with the dependency
//! versions of the workspace.

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
            let Some(name) = ["axum", "serde_json", "tokio"]
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
        assert_eq!(checked, 4, "axum, serde_json twice, tokio");
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
