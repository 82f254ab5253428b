//! Step `openstack-cli` of `cargo xtask conformance`: python-openstackclient 10.5.0 from PyPI,
//! in a venv under `target/conformance/`, runs the admin flow of seed document
//! `000_a4a9fe177fa019f3.txt` against the fake Keystone's binary, and more (catalog, role
//! assignments, application credentials, revocation). Every command must exit 0 (or fail, where
//! failing is the point) and show the values it should. The commands run in one Python process
//! (`openstack_driver.py`), each with exactly its own arguments and environment, as `openstack`
//! would run them: the CLI's start-up, most of a second, is paid once instead of 200 times.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::time::Instant;

use anyhow::Context as _;
use serde_json::{Value, json};

use crate::harness::{FakeProcess, StepReport, Venv};
use crate::util::KillOnDrop;

/// Runs `openstack` commands with a fixed environment and checks what they print.
struct Cli<'a> {
    driver: Driver,
    env: Vec<(&'a str, String)>,
    cases: usize,
    failures: Vec<String>,
}

/// One Python process that runs `openstack` commands (`openstack_driver.py`): the CLI's start,
/// most of a second each, is paid once instead of once per command.
struct Driver {
    child: KillOnDrop,
    stdin: std::process::ChildStdin,
    stdout: BufReader<std::process::ChildStdout>,
}

/// What a command did.
struct Ran {
    code: i64,
    stdout: String,
    stderr: String,
}

impl Driver {
    fn start(venv: &Venv) -> anyhow::Result<Self> {
        let mut child = venv
            .command("python")
            .arg("xtask/src/openstack_driver.py")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .context("cannot start the openstack driver")?;
        let stdin = child.stdin.take().context("the driver's stdin")?;
        let stdout = BufReader::new(child.stdout.take().context("the driver's stdout")?);
        Ok(Driver {
            child: KillOnDrop(child),
            stdin,
            stdout,
        })
    }

    fn run(&mut self, args: &[&str], env: &BTreeMap<String, String>) -> anyhow::Result<Ran> {
        let request = json!({"args": args, "env": env});
        writeln!(self.stdin, "{request}")?;
        self.stdin.flush()?;
        let mut line = String::new();
        if self.stdout.read_line(&mut line)? == 0 {
            let status = self.child.0.try_wait()?;
            anyhow::bail!("the openstack driver ended ({status:?})");
        }
        let answer: Value = serde_json::from_str(&line)?;
        let text = |k: &str| answer[k].as_str().unwrap_or_default().to_owned();
        Ok(Ran {
            code: answer["code"].as_i64().unwrap_or(1),
            stdout: text("stdout"),
            stderr: text("stderr"),
        })
    }
}

impl Cli<'_> {
    /// The environment of a command: PATH, HOME and LANG, Python's warnings off, the fixed
    /// environment and `env` (where an empty value removes the variable).
    fn environment(&self, env: &[(&str, String)]) -> BTreeMap<String, String> {
        let mut all = BTreeMap::new();
        for key in ["PATH", "HOME", "LANG"] {
            if let Ok(v) = std::env::var(key) {
                all.insert(key.to_owned(), v);
            }
        }
        for (k, v) in crate::harness::QUIET_PYTHON {
            all.insert((*k).to_owned(), (*v).to_owned());
        }
        for (k, v) in self.env.iter().chain(env) {
            if v.is_empty() {
                all.remove(*k);
            } else {
                all.insert((*k).to_owned(), v.clone());
            }
        }
        all
    }

    fn run(&mut self, args: &[&str], env: &[(&str, String)]) -> (String, anyhow::Result<Ran>) {
        let shown = format!("openstack {}", args.join(" "));
        let env = self.environment(env);
        (shown, self.driver.run(args, &env))
    }

    /// Runs a command that must succeed; returns its stdout, or records a failure.
    fn ok(&mut self, args: &[&str], env: &[(&str, String)]) -> Option<String> {
        self.cases += 1;
        match self.run(args, env) {
            (_, Ok(out)) if out.code == 0 => Some(out.stdout),
            (shown, Ok(out)) => {
                self.failures.push(format!(
                    "{shown}: exit {}\n{}{}",
                    out.code, out.stdout, out.stderr
                ));
                None
            }
            (shown, Err(e)) => {
                self.failures.push(format!("{shown}: cannot run: {e}"));
                None
            }
        }
    }

    /// Runs a command that must fail.
    fn fails(&mut self, args: &[&str], env: &[(&str, String)]) {
        self.cases += 1;
        match self.run(args, env) {
            (_, Ok(out)) if out.code != 0 => {}
            (shown, Ok(_)) => self
                .failures
                .push(format!("{shown}: succeeded but should have failed")),
            (shown, Err(e)) => self.failures.push(format!("{shown}: cannot run: {e}")),
        }
    }

    /// Runs a `-f json` command and parses its output.
    fn json(&mut self, args: &[&str], env: &[(&str, String)]) -> Option<Value> {
        let mut full: Vec<&str> = args.to_vec();
        full.extend(["-f", "json"]);
        let out = self.ok(&full, env)?;
        match serde_json::from_str(&out) {
            Ok(v) => Some(v),
            Err(e) => {
                self.failures.push(format!(
                    "openstack {}: output is not JSON ({e}): {out}",
                    args.join(" ")
                ));
                None
            }
        }
    }

    /// Checks that `value[field]` (any case) equals `want`.
    fn expect(&mut self, what: &str, value: &Option<Value>, field: &str, want: &str) {
        self.cases += 1;
        let got = value.as_ref().and_then(|v| field_of(v, field));
        if value.is_some() && got.as_deref() != Some(want) {
            self.failures.push(format!(
                "{what}: {field} is {got:?}, expected {want:?} in {}",
                value.as_ref().map(Value::to_string).unwrap_or_default()
            ));
        }
    }

    /// Checks a condition about a command's output.
    fn check(&mut self, what: &str, ok: bool, shown: &dyn std::fmt::Debug) {
        self.cases += 1;
        if !ok {
            self.failures.push(format!("{what}: {shown:?}"));
        }
    }
}

/// What operators do after the first setup: regions, endpoint and project changes, implied
/// roles, access rules of application credentials, a user's own password change.
fn operator_commands(cli: &mut Cli, as_myservice: &[(&str, String)]) {
    let none: &[(&str, String)] = &[];
    // keystoneclient creates a region with a given id with PUT /v3/regions/{id}
    let region = cli.json(
        &["region", "create", "RegionTwo", "--description", "east"],
        none,
    );
    cli.expect("region create", &region, "region", "RegionTwo");
    cli.expect("region create", &region, "description", "east");
    cli.ok(
        &["region", "set", "RegionTwo", "--description", "west"],
        none,
    );
    let region = cli.json(&["region", "show", "RegionTwo"], none);
    cli.expect("region set", &region, "description", "west");
    cli.fails(&["region", "create", "RegionTwo"], none);

    if let Some(id) = cli
        .ok(
            &[
                "endpoint",
                "list",
                "--service",
                "myservice",
                "--interface",
                "internal",
                "-f",
                "value",
                "-c",
                "ID",
            ],
            none,
        )
        .map(|o| o.trim().to_owned())
    {
        cli.ok(
            &["endpoint", "set", "--url", "http://127.0.0.1:1338", &id],
            none,
        );
        let e = cli.json(&["endpoint", "show", &id], none);
        cli.expect("endpoint set --url", &e, "url", "http://127.0.0.1:1338");
    }
    cli.ok(
        &[
            "project",
            "set",
            "--description",
            "for services",
            "services",
        ],
        none,
    );
    let p = cli.json(&["project", "show", "services"], none);
    cli.expect("project set", &p, "description", "for services");

    // implied roles
    let mut role_id = |name: &str| {
        cli.json(&["role", "create", name], none)
            .and_then(|r| field_of(&r, "id"))
            .unwrap_or_default()
    };
    let (prior, implied) = (role_id("ci-prior"), role_id("ci-implied"));
    // openstackclient shows the two roles' ids
    let rule = cli.json(
        &[
            "implied",
            "role",
            "create",
            "ci-prior",
            "--implied-role",
            "ci-implied",
        ],
        none,
    );
    cli.expect("implied role create", &rule, "prior_role", &prior);
    cli.expect("implied role create", &rule, "implies", &implied);
    if let Some(rows) = cli.json(&["implied", "role", "list"], none) {
        let pair = |r: &Value| {
            (
                field_of(r, "Prior Role Name"),
                field_of(r, "Implied Role Name"),
            )
        };
        let pairs: Vec<_> = rows.as_array().into_iter().flatten().map(pair).collect();
        cli.check(
            "implied role list",
            pairs.contains(&(Some("ci-prior".into()), Some("ci-implied".into()))),
            &rows,
        );
    }
    cli.fails(
        &[
            "implied",
            "role",
            "create",
            "ci-prior",
            "--implied-role",
            "admin",
        ],
        none,
    );
    cli.ok(
        &[
            "implied",
            "role",
            "delete",
            "ci-prior",
            "--implied-role",
            "ci-implied",
        ],
        none,
    );

    // access rules of an application credential, kept while the credential uses them
    let rules = r#"[{"service": "compute", "method": "GET", "path": "/v2.1/servers"}]"#;
    cli.json(
        &[
            "application",
            "credential",
            "create",
            "limited",
            "--access-rules",
            rules,
        ],
        as_myservice,
    );
    let listed = cli.json(&["access", "rule", "list"], as_myservice);
    let rule_id = listed
        .as_ref()
        .and_then(Value::as_array)
        .and_then(|rows| rows.first())
        .and_then(|row| field_of(row, "ID"))
        .unwrap_or_default();
    cli.check(
        "access rule list shows the credential's rule",
        listed.as_ref().and_then(Value::as_array).map(Vec::len) == Some(1),
        &listed,
    );
    let rule = cli.json(&["access", "rule", "show", &rule_id], as_myservice);
    cli.expect("access rule show", &rule, "path", "/v2.1/servers");
    cli.fails(&["access", "rule", "delete", &rule_id], as_myservice);
    cli.ok(
        &["application", "credential", "delete", "limited"],
        as_myservice,
    );
    cli.ok(&["access", "rule", "delete", &rule_id], as_myservice);

    // a user changes their own password; the old one stops working
    cli.json(
        &["user", "create", "--password", "old-password", "rotator"],
        none,
    );
    cli.ok(
        &[
            "role",
            "add",
            "--project",
            "services",
            "--user",
            "rotator",
            "member",
        ],
        none,
    );
    let as_rotator = |password: &str| {
        [
            ("OS_USERNAME", "rotator".to_owned()),
            ("OS_PASSWORD", password.to_owned()),
            ("OS_PROJECT_NAME", "services".to_owned()),
        ]
    };
    cli.ok(
        &[
            "user",
            "password",
            "set",
            "--original-password",
            "old-password",
            "--password",
            "new-password",
        ],
        &as_rotator("old-password"),
    );
    cli.fails(&["token", "issue"], &as_rotator("old-password"));
    cli.ok(&["token", "issue"], &as_rotator("new-password"));
}

/// Groups as operators use them: created, changed, listed by member and members listed, a user
/// added, a role granted to the group giving the user a token on the project, then the role
/// and the membership taken back.
fn group_commands(cli: &mut Cli) {
    let none: &[(&str, String)] = &[];
    let group = cli.json(
        &["group", "create", "--description", "Developers", "ci-devs"],
        none,
    );
    cli.expect("group create", &group, "name", "ci-devs");
    cli.expect("group create", &group, "domain_id", "default");
    cli.fails(&["group", "create", "ci-devs"], none);
    cli.ok(&["group", "set", "--description", "Devs", "ci-devs"], none);
    let shown = cli.json(&["group", "show", "ci-devs"], none);
    cli.expect("group set", &shown, "description", "Devs");

    cli.json(
        &["user", "create", "--password", "grouped-pw", "grouped"],
        none,
    );
    cli.ok(&["group", "add", "user", "ci-devs", "grouped"], none);
    let contains = cli.ok(&["group", "contains", "user", "ci-devs", "grouped"], none);
    cli.check(
        "group contains user, after group add user",
        contains
            .as_deref()
            .is_some_and(|o| o.contains("grouped in group ci-devs")),
        &contains,
    );
    let groups = cli.json(&["group", "list", "--user", "grouped"], none);
    cli.check(
        "group list --user",
        column(&groups, "Name") == ["ci-devs"],
        &groups,
    );
    let members = cli.json(&["user", "list", "--group", "ci-devs"], none);
    cli.check(
        "user list --group",
        column(&members, "Name") == ["grouped"],
        &members,
    );

    let as_grouped = [
        ("OS_USERNAME", "grouped".to_owned()),
        ("OS_PASSWORD", "grouped-pw".to_owned()),
        ("OS_PROJECT_NAME", "services".to_owned()),
    ];
    // no role of the user's own on `services`: a token there comes with the group's role
    cli.fails(&["token", "issue"], &as_grouped);
    cli.ok(
        &[
            "role",
            "add",
            "--group",
            "ci-devs",
            "--project",
            "services",
            "member",
        ],
        none,
    );
    let rows = cli.json(
        &[
            "role",
            "assignment",
            "list",
            "--group",
            "ci-devs",
            "--names",
        ],
        none,
    );
    let group_rows: Vec<(Option<String>, Option<String>)> = rows_of(&rows)
        .map(|r| (field_of(r, "Role"), field_of(r, "Group")))
        .collect();
    cli.check(
        "role assignment list --group",
        group_rows == [(Some("member".into()), Some("ci-devs@Default".into()))],
        &rows,
    );
    let effective = cli.json(
        &[
            "role",
            "assignment",
            "list",
            "--user",
            "grouped",
            "--effective",
            "--names",
        ],
        none,
    );
    let mut roles = column(&effective, "Role");
    roles.sort();
    cli.check(
        "role assignment list --user --effective: the group's role and what it implies",
        roles == ["member", "reader"],
        &effective,
    );
    let token = cli.json(&["token", "issue"], &as_grouped);
    cli.check("token issue with a group's role", token.is_some(), &token);
    cli.ok(
        &[
            "role",
            "remove",
            "--group",
            "ci-devs",
            "--project",
            "services",
            "member",
        ],
        none,
    );
    cli.fails(&["token", "issue"], &as_grouped);

    cli.ok(&["group", "remove", "user", "ci-devs", "grouped"], none);
    let contains = cli.ok(&["group", "contains", "user", "ci-devs", "grouped"], none);
    cli.check(
        "group contains user, after group remove user",
        contains.as_deref().is_some_and(|o| !o.contains("in group")),
        &contains,
    );
    cli.ok(&["group", "delete", "ci-devs"], none);
    cli.fails(&["group", "show", "ci-devs"], none);
}

/// Inherited roles (OS-INHERIT), as operators give them: on a project's subprojects and on a
/// domain's projects, listed with `--inherited`, then taken back.
fn inherited_commands(cli: &mut Cli) {
    let none: &[(&str, String)] = &[];
    cli.json(
        &["user", "create", "--password", "inherit-pw", "inheritor"],
        none,
    );
    cli.json(
        &["project", "create", "--parent", "services", "sub-services"],
        none,
    );
    let as_inheritor = |project: &str| {
        [
            ("OS_USERNAME", "inheritor".to_owned()),
            ("OS_PASSWORD", "inherit-pw".to_owned()),
            ("OS_PROJECT_NAME", project.to_owned()),
        ]
    };
    let on_services = [
        "--user",
        "inheritor",
        "--project",
        "services",
        "--inherited",
        "member",
    ];
    let mut add = vec!["role", "add"];
    add.extend(on_services);
    cli.ok(&add, none);
    let rows = cli.json(
        &[
            "role",
            "assignment",
            "list",
            "--user",
            "inheritor",
            "--inherited",
            "--names",
        ],
        none,
    );
    let inherited: Vec<Option<String>> = rows_of(&rows).map(|r| field_of(r, "Inherited")).collect();
    cli.check(
        "role assignment list --inherited",
        inherited == [Some("true".into())],
        &rows,
    );
    cli.ok(&["token", "issue"], &as_inheritor("sub-services"));
    // not on the project itself
    cli.fails(&["token", "issue"], &as_inheritor("services"));
    let mut remove = vec!["role", "remove"];
    remove.extend(on_services);
    cli.ok(&remove, none);
    cli.fails(&["token", "issue"], &as_inheritor("sub-services"));

    let on_domain = [
        "--user",
        "inheritor",
        "--domain",
        "default",
        "--inherited",
        "reader",
    ];
    let mut add = vec!["role", "add"];
    add.extend(on_domain);
    cli.ok(&add, none);
    cli.ok(&["token", "issue"], &as_inheritor("services"));
    cli.ok(&["token", "issue"], &as_inheritor("sub-services"));
    let mut remove = vec!["role", "remove"];
    remove.extend(on_domain);
    cli.ok(&remove, none);
    cli.fails(&["token", "issue"], &as_inheritor("services"));
}

/// A JSON field of a CLI object (any case), as a list of strings (`tags`).
fn list_field(v: &Option<Value>, field: &str) -> Vec<String> {
    v.as_ref()
        .and_then(Value::as_object)
        .and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case(field)))
        .and_then(|(_, v)| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Project tags, stored credentials, EC2 credentials and policy blobs, as the CLI manages them.
/// OAuth1 consumers (OS-OAUTH1): create (the secret shown once), list, show, set, delete.
fn consumer_commands(cli: &mut Cli) {
    let none: &[(&str, String)] = &[];
    let created = cli.json(
        &["consumer", "create", "--description", "ci consumer"],
        none,
    );
    cli.expect("consumer create", &created, "description", "ci consumer");
    let id = created
        .as_ref()
        .and_then(|c| field_of(c, "id"))
        .unwrap_or_default();
    let secret = created.as_ref().and_then(|c| field_of(c, "secret"));
    cli.check(
        "consumer create shows the secret",
        secret.is_some_and(|s| !s.is_empty()),
        &created,
    );
    let listed = cli.json(&["consumer", "list"], none);
    cli.check(
        "consumer list",
        column(&listed, "id").contains(&id),
        &listed,
    );
    cli.ok(&["consumer", "set", "--description", "renamed", &id], none);
    let shown = cli.json(&["consumer", "show", &id], none);
    cli.expect("consumer set/show", &shown, "description", "renamed");
    cli.check(
        "consumer show hides the secret",
        shown
            .as_ref()
            .is_some_and(|c| field_of(c, "secret").is_none()),
        &shown,
    );
    cli.ok(&["consumer", "delete", &id], none);
    cli.fails(&["consumer", "show", &id], none);
}

fn tag_and_blob_commands(cli: &mut Cli) {
    let none: &[(&str, String)] = &[];
    let p = cli.json(
        &["project", "create", "ci-tagged", "--tag", "b", "--tag", "a"],
        none,
    );
    // openstackclient sends the tags of a set (in no fixed order)
    let mut tags = list_field(&p, "tags");
    tags.sort();
    cli.check("project create --tag", tags == ["a", "b"], &p);
    cli.ok(&["project", "set", "ci-tagged", "--tag", "c"], none);
    cli.ok(&["project", "set", "ci-tagged", "--remove-tag", "a"], none);
    let p = cli.json(&["project", "show", "ci-tagged"], none);
    cli.check(
        "project set --tag/--remove-tag",
        list_field(&p, "tags") == ["b", "c"],
        &p,
    );
    let tagged = cli.json(&["project", "list", "--tags", "b,c"], none);
    cli.check(
        "project list --tags",
        column(&tagged, "name") == ["ci-tagged"],
        &tagged,
    );
    let untagged = cli.json(&["project", "list", "--not-tags", "b"], none);
    let names = column(&untagged, "name");
    cli.check(
        "project list --not-tags",
        !names.is_empty() && !names.iter().any(|n| n == "ci-tagged"),
        &untagged,
    );

    // stored credentials
    let cred = cli.json(
        &["credential", "create", "admin", "ci-blob", "--type", "cert"],
        none,
    );
    cli.expect("credential create", &cred, "blob", "ci-blob");
    cli.expect("credential create", &cred, "type", "cert");
    let cred_id = cred
        .as_ref()
        .and_then(|c| field_of(c, "id"))
        .unwrap_or_default();
    let listed = cli.json(&["credential", "list", "--type", "cert"], none);
    cli.check(
        "credential list --type",
        column(&listed, "id").contains(&cred_id),
        &listed,
    );
    let shown = cli.json(&["credential", "show", &cred_id], none);
    cli.expect("credential show", &shown, "blob", "ci-blob");
    // openstackclient sends the user and the type with the new blob; Keystone 30 accepts the
    // blob alone (a parity step checks the same 400 against the real one)
    cli.fails(
        &[
            "credential",
            "set",
            "--user",
            "admin",
            "--type",
            "cert",
            "--data",
            "new",
            &cred_id,
        ],
        none,
    );
    cli.ok(&["credential", "delete", &cred_id], none);
    cli.fails(&["credential", "show", &cred_id], none);

    // EC2 credentials
    let ec2 = cli.json(
        &["ec2", "credentials", "create", "--project", "services"],
        none,
    );
    let access = ec2
        .as_ref()
        .and_then(|c| field_of(c, "access"))
        .unwrap_or_default();
    cli.check("ec2 credentials create", access.len() == 32, &ec2);
    let listed = cli.json(&["ec2", "credentials", "list"], none);
    cli.check(
        "ec2 credentials list",
        column(&listed, "access").contains(&access),
        &listed,
    );
    let shown = cli.json(&["ec2", "credentials", "show", &access], none);
    cli.expect("ec2 credentials show", &shown, "access", &access);
    cli.ok(&["ec2", "credentials", "delete", &access], none);
    cli.fails(&["ec2", "credentials", "show", &access], none);

    // policy blobs
    let file = std::env::temp_dir().join(format!("ci-policy-{}.json", std::process::id()));
    if std::fs::write(&file, "{\"a\": \"b\"}").is_err() {
        cli.check("policy file", false, &file);
        return;
    }
    let path = file.to_string_lossy().into_owned();
    let policy = cli.json(
        &["policy", "create", "--type", "application/json", &path],
        none,
    );
    let _ = std::fs::remove_file(&file);
    cli.expect("policy create", &policy, "type", "application/json");
    let policy_id = policy
        .as_ref()
        .and_then(|p| field_of(p, "id"))
        .unwrap_or_default();
    cli.ok(&["policy", "set", "--type", "text/plain", &policy_id], none);
    let shown = cli.json(&["policy", "show", &policy_id], none);
    cli.expect("policy set --type", &shown, "type", "text/plain");
    let listed = cli.json(&["policy", "list"], none);
    cli.check(
        "policy list",
        column(&listed, "id").contains(&policy_id),
        &listed,
    );
    cli.ok(&["policy", "delete", &policy_id], none);
    cli.fails(&["policy", "show", &policy_id], none);
}

/// A temporary JSON file for a command that reads one (filters, rules); removed when dropped.
struct JsonFile(std::path::PathBuf);

impl JsonFile {
    fn new(name: &str, text: &str) -> std::io::Result<Self> {
        let path = std::env::temp_dir().join(format!("{name}-{}.json", std::process::id()));
        std::fs::write(&path, text)?;
        Ok(JsonFile(path))
    }

    fn path(&self) -> String {
        self.0.to_string_lossy().into_owned()
    }
}

impl Drop for JsonFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Endpoint groups (OS-EP-FILTER) and federation's admin objects (OS-FEDERATION), as the CLI
/// manages them.
fn endpoint_group_and_federation_commands(cli: &mut Cli) {
    let none: &[(&str, String)] = &[];
    let (Ok(filters), Ok(rules)) = (
        JsonFile::new("ci-filters", r#"{"interface": "public"}"#),
        JsonFile::new(
            "ci-rules",
            r#"[{"local": [{"user": {"name": "{0}"}}], "remote": [{"type": "REMOTE_USER"}]}]"#,
        ),
    ) else {
        cli.check("temporary files", false, &"cannot write");
        return;
    };
    let group = cli.json(
        &["endpoint", "group", "create", "ci-group", &filters.path()],
        none,
    );
    cli.expect("endpoint group create", &group, "name", "ci-group");
    let group_id = group
        .as_ref()
        .and_then(|g| field_of(g, "id"))
        .unwrap_or_default();
    // openstackclient sends every attribute, null when not given: Keystone 30 refuses a null
    // `filters` (a parity step checks the same 400 against the real one), so name them too
    cli.fails(
        &[
            "endpoint",
            "group",
            "set",
            "--name",
            "ci-group-2",
            &group_id,
        ],
        none,
    );
    let filters_path = filters.path();
    cli.ok(
        &[
            "endpoint",
            "group",
            "set",
            "--name",
            "ci-group-2",
            "--filters",
            &filters_path,
            &group_id,
        ],
        none,
    );
    let shown = cli.json(&["endpoint", "group", "show", &group_id], none);
    cli.expect("endpoint group set --name", &shown, "name", "ci-group-2");
    let listed = cli.json(&["endpoint", "group", "list"], none);
    cli.check(
        "endpoint group list",
        column(&listed, "id").contains(&group_id),
        &listed,
    );
    cli.ok(
        &["endpoint", "group", "add", "project", &group_id, "services"],
        none,
    );
    cli.ok(
        &[
            "endpoint", "group", "remove", "project", &group_id, "services",
        ],
        none,
    );
    cli.ok(&["endpoint", "group", "delete", &group_id], none);
    cli.fails(&["endpoint", "group", "show", &group_id], none);

    let mapping = cli.json(
        &["mapping", "create", "--rules", &rules.path(), "ci-map"],
        none,
    );
    cli.expect("mapping create", &mapping, "id", "ci-map");
    cli.ok(
        &["mapping", "set", "--rules", &rules.path(), "ci-map"],
        none,
    );
    let listed = cli.json(&["mapping", "list"], none);
    cli.check(
        "mapping list",
        column(&listed, "id").contains(&"ci-map".to_owned()),
        &listed,
    );
    let idp = cli.json(
        &[
            "identity",
            "provider",
            "create",
            "--remote-id",
            "https://idp.example/ci",
            "--domain",
            "default",
            "--enable",
            "ci-idp",
        ],
        none,
    );
    cli.expect("identity provider create", &idp, "id", "ci-idp");
    cli.expect("identity provider create", &idp, "domain_id", "default");
    cli.ok(
        &[
            "identity",
            "provider",
            "set",
            "--description",
            "for CI",
            "ci-idp",
        ],
        none,
    );
    let shown = cli.json(&["identity", "provider", "show", "ci-idp"], none);
    cli.expect("identity provider set", &shown, "description", "for CI");
    cli.fails(
        &[
            "identity",
            "provider",
            "create",
            "--remote-id",
            "https://idp.example/ci",
            "ci-idp-2",
        ],
        none,
    );
    let protocol = cli.json(
        &[
            "federation",
            "protocol",
            "create",
            "--identity-provider",
            "ci-idp",
            "--mapping",
            "ci-map",
            "saml2",
        ],
        none,
    );
    cli.expect("federation protocol create", &protocol, "mapping", "ci-map");
    let listed = cli.json(
        &[
            "federation",
            "protocol",
            "list",
            "--identity-provider",
            "ci-idp",
        ],
        none,
    );
    cli.check(
        "federation protocol list",
        column(&listed, "id") == ["saml2"],
        &listed,
    );
    cli.ok(
        &[
            "federation",
            "protocol",
            "delete",
            "--identity-provider",
            "ci-idp",
            "saml2",
        ],
        none,
    );
    cli.ok(&["identity", "provider", "delete", "ci-idp"], none);
    cli.fails(&["identity", "provider", "show", "ci-idp"], none);
    cli.ok(&["mapping", "delete", "ci-map"], none);

    let sp = cli.json(
        &[
            "service",
            "provider",
            "create",
            "--auth-url",
            "https://sp.example/v3/OS-FEDERATION/identity_providers/ci/protocols/saml2/auth",
            "--service-provider-url",
            "https://sp.example/Shibboleth.sso/SAML2/ECP",
            "ci-sp",
        ],
        none,
    );
    cli.expect("service provider create", &sp, "id", "ci-sp");
    cli.ok(&["service", "provider", "set", "--disable", "ci-sp"], none);
    let shown = cli.json(&["service", "provider", "show", "ci-sp"], none);
    cli.expect("service provider set --disable", &shown, "enabled", "false");
    cli.ok(&["service", "provider", "delete", "ci-sp"], none);
    cli.fails(&["service", "provider", "show", "ci-sp"], none);
}

/// The rows of a `-f json` list (none when the command failed).
fn rows_of(list: &Option<Value>) -> impl Iterator<Item = &Value> {
    list.as_ref()
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// A column of a `-f json` list: the rows' `field` (any case), for the rows that have it.
fn column(list: &Option<Value>, field: &str) -> Vec<String> {
    rows_of(list).filter_map(|r| field_of(r, field)).collect()
}

/// A field of a CLI JSON object, whatever its case (`id` or `ID`), as text.
fn field_of(v: &Value, field: &str) -> Option<String> {
    let obj = v.as_object()?;
    let (_, value) = obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(field))?;
    Some(match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}

/// The seed document's admin flow and the rest of the CLI flow, against the fake's binary.
pub(crate) fn openstack_cli(venv: &Venv) -> anyhow::Result<StepReport> {
    let started = Instant::now();
    let fake = FakeProcess::start("adminpw")?;
    let auth_url = format!("{}/v3", fake.url);
    let mut cli = Cli {
        driver: Driver::start(venv)?,
        env: vec![
            ("OS_AUTH_URL", auth_url.clone()),
            ("OS_USERNAME", "admin".into()),
            ("OS_PASSWORD", "adminpw".into()),
            ("OS_PROJECT_NAME", "admin".into()),
            ("OS_USER_DOMAIN_NAME", "Default".into()),
            ("OS_PROJECT_DOMAIN_NAME", "Default".into()),
            ("OS_IDENTITY_API_VERSION", "3".into()),
        ],
        cases: 0,
        failures: Vec::new(),
    };
    let none: &[(&str, String)] = &[];

    let project = cli.json(
        &["project", "create", "services", "--domain", "default"],
        none,
    );
    cli.expect("project create", &project, "name", "services");
    cli.expect("project create", &project, "domain_id", "default");
    let services_id = project
        .as_ref()
        .and_then(|p| field_of(p, "id"))
        .unwrap_or_default();

    let service = cli.json(
        &["service", "create", "myservice", "--name", "myservice"],
        none,
    );
    cli.expect("service create", &service, "type", "myservice");
    cli.expect("service create", &service, "name", "myservice");
    cli.expect("service create", &service, "enabled", "true");

    for interface in ["admin", "public", "internal"] {
        let e = cli.json(
            &[
                "endpoint",
                "create",
                "myservice",
                interface,
                "http://127.0.0.1:1337",
            ],
            none,
        );
        cli.expect("endpoint create", &e, "interface", interface);
        cli.expect("endpoint create", &e, "url", "http://127.0.0.1:1337");
        cli.expect("endpoint create", &e, "service_name", "myservice");
    }
    if let Some(list) = cli.json(&["endpoint", "list", "--service", "myservice"], none) {
        let mut interfaces: Vec<String> = list
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|row| field_of(row, "Interface"))
            .collect();
        interfaces.sort();
        cli.check(
            "endpoint list --service myservice",
            interfaces == ["admin", "internal", "public"],
            &list,
        );
    }

    let user = cli.json(
        &[
            "user",
            "create",
            "--email",
            "myservice@localhost",
            "--password",
            "myservicesecretpassword",
            "myservice",
        ],
        none,
    );
    cli.expect("user create", &user, "name", "myservice");
    cli.expect("user create", &user, "email", "myservice@localhost");
    cli.expect("user create", &user, "domain_id", "default");
    let user_id = user
        .as_ref()
        .and_then(|u| field_of(u, "id"))
        .unwrap_or_default();

    if let Some(out) = cli.ok(
        &[
            "role",
            "add",
            "--project",
            "services",
            "--user",
            "myservice",
            "admin",
        ],
        none,
    ) {
        cli.check("role add prints nothing", out.trim().is_empty(), &out);
    }

    let token = cli.json(&["token", "issue"], none);
    let admin_token = token
        .as_ref()
        .and_then(|t| field_of(t, "id"))
        .unwrap_or_default();
    cli.check("token issue gives a token", admin_token.len() > 20, &token);

    if let Some(catalog) = cli.json(&["catalog", "list"], none) {
        let types: Vec<String> = catalog
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|row| field_of(row, "Type"))
            .collect();
        cli.check(
            "catalog list shows identity and myservice",
            types.contains(&"identity".to_owned()) && types.contains(&"myservice".to_owned()),
            &catalog,
        );
    }

    if let Some(rows) = cli.json(
        &[
            "role",
            "assignment",
            "list",
            "--names",
            "--user",
            "myservice",
        ],
        none,
    ) {
        let row = rows.as_array().and_then(|r| r.first()).cloned();
        let shown = (
            row.as_ref().and_then(|r| field_of(r, "Role")),
            row.as_ref().and_then(|r| field_of(r, "User")),
            row.as_ref().and_then(|r| field_of(r, "Project")),
        );
        cli.check(
            "role assignment list --names",
            rows.as_array().map(Vec::len) == Some(1)
                && shown
                    == (
                        Some("admin".into()),
                        Some("myservice@Default".into()),
                        Some("services@Default".into()),
                    ),
            &rows,
        );
    }

    // The service user creates an application credential and authenticates with it.
    let as_myservice = [
        ("OS_USERNAME", "myservice".to_owned()),
        ("OS_PASSWORD", "myservicesecretpassword".to_owned()),
        ("OS_PROJECT_NAME", "services".to_owned()),
    ];
    let cred = cli.json(
        &["application", "credential", "create", "ci"],
        &as_myservice,
    );
    cli.expect("application credential create", &cred, "name", "ci");
    cli.expect(
        "application credential create",
        &cred,
        "project id",
        &services_id,
    );
    let cred_id = cred
        .as_ref()
        .and_then(|c| field_of(c, "id"))
        .unwrap_or_default();
    let secret = cred
        .as_ref()
        .and_then(|c| field_of(c, "secret"))
        .unwrap_or_default();
    let with_cred = [
        ("OS_AUTH_TYPE", "v3applicationcredential".to_owned()),
        ("OS_APPLICATION_CREDENTIAL_ID", cred_id),
        ("OS_APPLICATION_CREDENTIAL_SECRET", secret),
        ("OS_USERNAME", String::new()),
        ("OS_PASSWORD", String::new()),
        ("OS_PROJECT_NAME", String::new()),
        ("OS_PROJECT_DOMAIN_NAME", String::new()),
        ("OS_USER_DOMAIN_NAME", String::new()),
    ];
    let cred_token = cli.json(&["token", "issue"], &with_cred);
    cli.expect(
        "token issue with an application credential",
        &cred_token,
        "project_id",
        &services_id,
    );
    cli.expect(
        "token issue with an application credential",
        &cred_token,
        "user_id",
        &user_id,
    );

    // Revocation: the first revoke succeeds, the second finds the token gone.
    if let Some(t) = cli.ok(&["token", "issue", "-f", "value", "-c", "id"], none) {
        let t = t.trim().to_owned();
        cli.ok(&["token", "revoke", &t], none);
        cli.fails(&["token", "revoke", &t], none);
    }

    operator_commands(&mut cli, &as_myservice);
    group_commands(&mut cli);
    inherited_commands(&mut cli);
    tag_and_blob_commands(&mut cli);
    endpoint_group_and_federation_commands(&mut cli);
    consumer_commands(&mut cli);

    Ok(StepReport {
        step: "openstack-cli",
        cases: cli.cases,
        failures: cli.failures,
        seconds: started.elapsed().as_secs_f64(),
    })
}
