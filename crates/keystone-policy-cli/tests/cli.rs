//! The `keystone-policy` command line, as an operator uses it.

use std::io::Write;
use std::process::{Command, Stdio};

fn run(args: &[&str]) -> (i32, String, String) {
    run_with_stdin(args, "")
}

/// Runs the binary with `stdin` as its standard input.
fn run_with_stdin(args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_keystone-policy"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    // the binary may exit without reading: a closed pipe is no failure here
    let _ = input.write_all(stdin.as_bytes());
    drop(input);
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn write(dir: &std::path::Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

#[test]
fn check_validate_sample_redundant_and_convert() {
    let dir = std::env::temp_dir().join(format!("kp-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let policy = write(
        &dir,
        "policy.json",
        r#"{"admin": "role:admin", "proxy:create": "rule:admin", "proxy:index": "", "proxy:view": "project_id:%(project_id)s", "broken": "role:x or"}"#,
    );
    let access = write(
        &dir,
        "token.json",
        r#"{"token": {"roles": [{"id": "1", "name": "member"}], "user": {"id": "u1", "domain": {"id": "default", "name": "Default"}}, "project": {"id": "p1", "name": "p", "domain": {"id": "default", "name": "Default"}}}}"#,
    );
    let (code, out, _) = run(&["check", "--policy", &policy, "--access", &access]);
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "failed: proxy:create\npassed: proxy:index\npassed: proxy:view\n"
    );
    let (_, out, _) = run(&[
        "check",
        "--policy",
        &policy,
        "--access",
        &access,
        "--rule",
        "proxy:create",
        "--is_admin",
    ]);
    assert_eq!(out, "failed: proxy:create\n");
    let target = write(&dir, "target.json", r#"{"project_id": "other"}"#);
    let (_, out, _) = run(&[
        "check",
        "--policy",
        &policy,
        "--access",
        &access,
        "--target",
        &target,
        "--rule",
        "proxy:view",
    ]);
    assert_eq!(out, "failed: proxy:view\n");

    let (code, out, _) = run(&["validate", "--policy", &policy]);
    assert_eq!(code, 1);
    assert!(out.contains("broken"), "{out}");
    // as oslopolicy-validator: a missing file, a rule that reads as "!" without being written
    // so, and (given the defaults) a rule nobody registered
    let (code, out, _) = run(&["validate", "--policy", &format!("{policy}.missing")]);
    assert_eq!(code, 1);
    assert!(out.contains("not found"), "{out}");
    let odd = write(
        &dir,
        "odd.yaml",
        "\"admin\": \"role:admin\"\n\"never\": \"!\"\n\"x:nocolon\": \"nocolon\"\n",
    );
    let (code, out, _) = run(&["validate", "--policy", &odd]);
    assert_eq!(code, 1);
    assert_eq!(out, "Failed to parse rule: nocolon\n");
    let registered = write(
        &dir,
        "registered.yaml",
        "- name: admin\n  check_str: role:admin\n- name: never\n  check_str: \"!\"\n",
    );
    let (code, out, _) = run(&["validate", "--policy", &odd, "--defaults", &registered]);
    assert_eq!(code, 1);
    assert_eq!(
        out,
        "Unknown rule found in policy file: x:nocolon\nFailed to parse rule: nocolon\n"
    );
    let clean = write(
        &dir,
        "clean.yaml",
        "\"admin\": \"role:admin or role:root\"\n",
    );
    let (code, out, _) = run(&["validate", "--policy", &clean, "--defaults", &registered]);
    assert_eq!(
        (code, out),
        (
            0,
            format!(
                "{clean}: 1 rules, none unparsable, undefined or circular, all of them among the 2 registered defaults\n"
            )
        )
    );
    let (code, out, _) = run(&["validate", "--policy", &clean]);
    assert_eq!(
        (code, out),
        (
            0,
            format!("{clean}: 1 rules, none unparsable, undefined or circular\n")
        )
    );

    let defaults = write(
        &dir,
        "defaults.yaml",
        "- name: admin\n  check_str: role:admin\n- name: proxy:create\n  check_str: rule:admin\n  description: Create a proxy.\n  operations: [{method: POST, path: /v1/proxy}]\n  scope_types: [project]\n",
    );
    let (code, out, _) = run(&["sample", "--defaults", &defaults]);
    assert_eq!(code, 0);
    assert!(out.contains("# Create a proxy.\n# POST  /v1/proxy\n# Intended scope(s): project\n#\"proxy:create\": \"rule:admin\"\n"), "{out}");
    let (_, out, _) = run(&[
        "list-redundant",
        "--policy",
        &policy,
        "--defaults",
        &defaults,
    ]);
    assert_eq!(
        out,
        "\"admin\": \"role:admin\"\n\"proxy:create\": \"rule:admin\"\n"
    );

    let yaml = dir.join("policy.yaml").display().to_string();
    let (code, _, err) = run(&[
        "convert-json-to-yaml",
        "--policy-file",
        &policy,
        "--output-file",
        &yaml,
        "--defaults",
        &defaults,
    ]);
    assert_eq!(code, 0, "{err}");
    let converted = std::fs::read_to_string(&yaml).unwrap();
    assert!(
        converted.contains("#\"proxy:create\": \"rule:admin\""),
        "{converted}"
    );
    assert!(
        converted.contains("\"proxy:view\": \"project_id:%(project_id)s\""),
        "{converted}"
    );
    let (code, out, _) = run(&["check", "--policy", &yaml, "--access", &access]);
    assert_eq!(code, 0);
    assert!(out.contains("passed: proxy:view"), "{out}");

    let (code, _, err) = run(&["check", "--policy", "/nonexistent", "--access", &access]);
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Issue #22: a kind that is a Python expression but not a literal (`xyz and methods`) is a
/// `ValueError` for `ast.literal_eval`, which oslo.policy's generic check catches to look the
/// kind up as a path: the check fails, and `not` of it passes. Only what Python cannot parse
/// (`xyz and`) raises. The expected lines are what oslopolicy-checker (oslo.policy 6.0.1)
/// printed for these files.
#[test]
fn check_reads_python_expression_kinds_as_oslopolicy_checker_does() {
    let dir = std::env::temp_dir().join(format!("kp-cli-kinds-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let policy = write(
        &dir,
        "policy.json",
        r#"{"issue:a": [["xyz and methods:token"]], "issue:b": "not rule:issue:a", "issue:c": [["xyz and methods:token AND role:manager"]], "issue:d": [["xyz and:token"]], "issue:e": "not rule:issue:d", "issue:f": [["methods:password"]]}"#,
    );
    let access = write(
        &dir,
        "token.json",
        r#"{"token": {"methods": ["password"], "roles": [{"id": "1", "name": "member"}], "user": {"id": "u1", "domain": {"id": "default", "name": "Default"}}, "project": {"id": "p1", "name": "p", "domain": {"id": "default", "name": "Default"}}}}"#,
    );
    let (code, out, err) = run(&["check", "--policy", &policy, "--access", &access]);
    assert_eq!(code, 0, "{err}");
    let decisions: Vec<&str> = out
        .lines()
        .filter(|l| {
            l.starts_with("passed: ") || l.starts_with("failed: ") || l.starts_with("exception: ")
        })
        .collect();
    assert_eq!(
        decisions,
        [
            "failed: issue:a",
            "passed: issue:b",
            "failed: issue:c",
            "exception: xyz and:token",
            "exception: not rule:issue:d",
            "passed: issue:f",
        ]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

const TOKEN: &str = r#"{"token": {"roles": [{"id": "1", "name": "admin"}], "user": {"id": "u1", "domain": {"id": "default", "name": "Default"}}, "project": {"id": "p1", "name": "p", "domain": {"id": "default", "name": "Default"}}}}"#;

#[test]
fn access_and_target_are_files_or_stdin_and_the_help_says_where_a_token_body_comes_from() {
    let (code, help, _) = run(&["check", "--help"]);
    assert_eq!(code, 0);
    for part in [
        "--access <FILE>",
        "--target <FILE>",
        "--policy <FILE>",
        "`-` for stdin",
        "GET /v3/auth/tokens",
        "X-Subject-Token",
        "not `openstack token issue -f json`",
    ] {
        assert!(help.contains(part), "no {part:?} in:\n{help}");
    }
    let dir = std::env::temp_dir().join(format!("kp-cli-stdin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let policy = write(
        &dir,
        "policy.yaml",
        "\"thing:create\": \"role:admin and project_id:%(project_id)s\"\n",
    );
    let access = write(&dir, "token.json", TOKEN);
    let target = write(&dir, "target.json", r#"{"project_id": "p1"}"#);

    let (code, out, err) = run_with_stdin(&["check", "--policy", &policy, "--access", "-"], TOKEN);
    assert_eq!((code, out.as_str()), (0, "passed: thing:create\n"), "{err}");
    let (code, out, err) = run_with_stdin(
        &[
            "check", "--policy", &policy, "--access", &access, "--target", "-",
        ],
        r#"{"project_id": "other"}"#,
    );
    assert_eq!((code, out.as_str()), (0, "failed: thing:create\n"), "{err}");
    let (code, out, _) = run(&[
        "check", "--policy", &policy, "--access", &access, "--target", &target,
    ]);
    assert_eq!((code, out.as_str()), (0, "passed: thing:create\n"));
    let (code, _, err) = run_with_stdin(
        &[
            "check", "--policy", &policy, "--access", "-", "--target", "-",
        ],
        TOKEN,
    );
    assert_eq!(code, 2);
    assert_eq!(
        err,
        "keystone-policy: only one of --access and --target can be - (stdin)\n"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_http_response_or_a_cli_summary_is_not_a_token_body() {
    let dir = std::env::temp_dir().join(format!("kp-cli-access-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let policy = write(&dir, "policy.yaml", "\"a:b\": \"role:admin\"\n");
    // what `curl -i` saves
    let response = write(
        &dir,
        "response.txt",
        &format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n{TOKEN}"),
    );
    let (code, out, err) = run(&["check", "--policy", &policy, "--access", &response]);
    assert_eq!((code, out.as_str()), (2, ""));
    assert_eq!(
        err,
        format!(
            "keystone-policy: {response} holds an HTTP response with its headers (it starts with HTTP/); --access wants only its JSON body: drop curl's -i (or -D -)\n"
        )
    );
    let (code, _, err) = run_with_stdin(
        &[
            "explain", "--policy", &policy, "--access", "-", "--rule", "a:b",
        ],
        &format!("HTTP/2 200\r\n\r\n{TOKEN}"),
    );
    assert_eq!(code, 2);
    assert!(
        err.starts_with("keystone-policy: stdin holds an HTTP response with its headers"),
        "{err}"
    );
    // what `openstack token issue -f json` prints
    let summary = write(
        &dir,
        "issued.json",
        r#"{"expires": "2030-01-01T00:00:00+0000", "id": "gAAAA", "project_id": "p1", "user_id": "u1"}"#,
    );
    let (code, _, err) = run(&["check", "--policy", &policy, "--access", &summary]);
    assert_eq!(code, 2);
    assert!(
        err.contains("looks like `openstack token issue -f json`, a summary without the roles"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn defaults_that_are_a_policy_file_are_refused_with_the_format_wanted() {
    let dir = std::env::temp_dir().join(format!("kp-cli-defaults-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let policy = write(&dir, "policy.yaml", "\"admin\": \"role:admin\"\n");
    for command in ["sample", "list-redundant"] {
        let mut args = vec![command, "--defaults", &policy];
        if command == "list-redundant" {
            args.extend(["--policy", &policy]);
        }
        let (code, out, err) = run(&args);
        assert_eq!((code, out.as_str()), (2, ""), "{command}");
        assert_eq!(
            err,
            format!(
                "keystone-policy: {policy} maps rule names to rules, as a policy file does; --defaults wants the registered defaults: a YAML list of {{name, check_str, description, operations: [{{method, path}}], scope_types}}, such as `- {{name: admin, check_str: \"role:admin\"}}`\n"
            ),
            "{command}"
        );
    }
    let odd = write(&dir, "odd.yaml", "- {name: admin}\n");
    let (code, _, err) = run(&["sample", "--defaults", &odd]);
    assert_eq!(code, 2);
    assert!(
        err.contains("--defaults wants a YAML list of {name, check_str"),
        "{err}"
    );
    assert!(err.contains("check_str"), "{err}");
    let (_, help, _) = run(&["sample", "--help"]);
    assert!(help.contains("--defaults <FILE>"), "{help}");
    assert!(help.contains("a YAML list of {name, check_str"), "{help}");
    std::fs::remove_dir_all(&dir).unwrap();
}
