//! `keystone-policy`: check, explain, validate and document policy files.
//!
//! `check` takes oslopolicy-checker's flags and prints what it prints (`passed: NAME`,
//! `failed: NAME`, and for a rule that raises its error and `exception: RULE`), so the two can be
//! compared line by line.
//!
//! **Architecture invariant:** the CLI uses only the library's public API; clap and anyhow stay
//! in this crate, out of every service that uses the engine.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use keystone_policy::{
    CustomChecks, Enforcer, EnforcerConfig, Env, RuleDefault, RuleLookup, RuleProblem, RuleSet,
    checker_credentials, flatten, parse_policy_text, parse_text, parse_value, read_policy_file,
};
use serde::Deserialize;
use serde_json::{Map, Value};

#[derive(Debug, Parser)]
#[command(version, about = "oslo.policy-compatible policy tools")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// What a decision is made on: oslopolicy-checker's three files.
#[derive(Debug, clap::Args)]
struct Inputs {
    /// The policy file (YAML or JSON).
    #[arg(long, value_name = "FILE")]
    policy: PathBuf,
    /// A file holding a token body as Keystone returns it (`{"token": {...}}`), or `-` for
    /// stdin. The body is the JSON Keystone answers to `GET /v3/auth/tokens` with the token
    /// in `X-Subject-Token` (and any token allowed to validate it in `X-Auth-Token`), or to
    /// the `POST` that issued it: `curl -s -H "X-Auth-Token: $OS_TOKEN" -H "X-Subject-Token:
    /// $OS_TOKEN" $OS_AUTH_URL/auth/tokens > token.json`. Only the body: not curl -i's
    /// headers, and not `openstack token issue -f json`, which prints a summary without the
    /// roles.
    #[arg(long, value_name = "FILE", verbatim_doc_comment)]
    access: PathBuf,
    /// A file holding a JSON target, or `-` for stdin; nested objects are flattened to dotted
    /// keys. Without it: the token's `user_id` and `project_id`.
    #[arg(long, value_name = "FILE")]
    target: Option<PathBuf>,
}

/// The help of every `--defaults`: what the file holds.
const DEFAULTS_HELP: &str = "The registered defaults: a YAML list of {name, check_str, \
description, operations: [{method, path}], scope_types} (not a policy file)";

#[derive(Debug, Subcommand)]
enum Command {
    /// Evaluate rules against a token, as oslopolicy-checker does.
    Check {
        #[command(flatten)]
        inputs: Inputs,
        /// Only this rule (otherwise every rule whose name contains `:`, sorted).
        #[arg(long)]
        rule: Option<String>,
        /// Set is_admin=True in the credentials.
        #[arg(long = "is_admin", alias = "is-admin")]
        is_admin: bool,
        /// Accepted for compatibility; unused.
        #[arg(long = "enforcer_config")]
        enforcer_config: Option<PathBuf>,
    },
    /// Explain why a rule allows or denies.
    Explain {
        #[command(flatten)]
        inputs: Inputs,
        /// The rule.
        #[arg(long)]
        rule: String,
    },
    /// Report rules that do not parse, refer to undefined rules, form cycles or (with
    /// `--defaults`) are not registered, and a missing file; exit 1 if any, otherwise print
    /// a one-line summary.
    Validate {
        /// The policy file.
        #[arg(long)]
        policy: PathBuf,
        #[arg(long, value_name = "FILE", help = DEFAULTS_HELP)]
        defaults: Option<PathBuf>,
    },
    /// Print the file rules that are the same as the registered defaults.
    ListRedundant {
        /// The policy file.
        #[arg(long)]
        policy: PathBuf,
        #[arg(long, value_name = "FILE", help = DEFAULTS_HELP)]
        defaults: PathBuf,
    },
    /// Write a documented sample policy file from registered defaults.
    Sample {
        #[arg(long, value_name = "FILE", help = DEFAULTS_HELP)]
        defaults: PathBuf,
        /// Where to write it (stdout by default).
        #[arg(long)]
        output_file: Option<PathBuf>,
    },
    /// Convert a JSON policy file to YAML, commenting out rules equal to the defaults.
    ConvertJsonToYaml {
        /// The JSON policy file.
        #[arg(long)]
        policy_file: PathBuf,
        /// Where to write the YAML.
        #[arg(long)]
        output_file: PathBuf,
        #[arg(long, value_name = "FILE", help = DEFAULTS_HELP)]
        defaults: Option<PathBuf>,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DefaultEntry {
    name: String,
    check_str: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    operations: Vec<OperationEntry>,
    #[serde(default)]
    scope_types: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OperationEntry {
    method: String,
    path: String,
}

fn read_defaults(path: &Path) -> anyhow::Result<Vec<RuleDefault>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let value: yaml_serde::Value =
        yaml_serde::from_str(&text).with_context(|| format!("in {}", path.display()))?;
    if value.is_mapping() {
        bail!(
            "{} maps rule names to rules, as a policy file does; --defaults wants the registered \
             defaults: a YAML list of {{name, check_str, description, operations: [{{method, \
             path}}], scope_types}}, such as `- {{name: admin, check_str: \"role:admin\"}}`",
            path.display()
        );
    }
    let entries: Vec<DefaultEntry> = yaml_serde::from_value(value).with_context(|| {
        format!(
            "in {}: --defaults wants a YAML list of {{name, check_str, description, \
             operations: [{{method, path}}], scope_types}}",
            path.display()
        )
    })?;
    Ok(entries
        .into_iter()
        .map(|e| {
            let mut d = RuleDefault::new(e.name, e.check_str).scope_types(e.scope_types);
            d.description = e.description;
            for op in e.operations {
                d = d.operation(op.method, op.path);
            }
            d
        })
        .collect())
}

/// The text of `path`, or of stdin for `-`.
fn read_input(path: &Path) -> anyhow::Result<String> {
    if path == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read stdin")?;
        return Ok(text);
    }
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// How `path` is named in messages.
fn shown(path: &Path) -> String {
    if path == Path::new("-") {
        "stdin".to_owned()
    } else {
        path.display().to_string()
    }
}

fn read_json(path: &Path) -> anyhow::Result<Value> {
    let text = read_input(path)?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", shown(path)))
}

/// The token body of `--access`, with what is wrong when it is something else.
fn read_access(path: &Path) -> anyhow::Result<Value> {
    let text = read_input(path)?;
    if text.trim_start().starts_with("HTTP/") {
        bail!(
            "{} holds an HTTP response with its headers (it starts with HTTP/); --access wants \
             only its JSON body: drop curl's -i (or -D -)",
            shown(path)
        );
    }
    let body: Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", shown(path)))?;
    let summary = body.get("token").is_none()
        && ["id", "expires"].iter().all(|k| body.get(k).is_some())
        && body.get("roles").is_none();
    if summary {
        bail!(
            "{} looks like `openstack token issue -f json`, a summary without the roles; \
             --access wants the token body Keystone answers to GET /v3/auth/tokens with the \
             token in X-Subject-Token",
            shown(path)
        );
    }
    Ok(body)
}

fn load_rules(policy: &Path) -> anyhow::Result<RuleSet> {
    let raw = read_policy_file(policy)?;
    let rules: HashMap<String, keystone_policy::Rule> = raw
        .iter()
        .map(|(k, v)| (k.clone(), parse_value(v).rule))
        .collect();
    Ok(RuleSet {
        rules,
        default_rule: Some("default".into()),
    })
}

fn creds_and_target(
    inputs: &Inputs,
    is_admin: bool,
) -> anyhow::Result<(Map<String, Value>, Map<String, Value>)> {
    if inputs.access == Path::new("-") && inputs.target.as_deref() == Some(Path::new("-")) {
        bail!("only one of --access and --target can be - (stdin)");
    }
    let creds = checker_credentials(&read_access(&inputs.access)?, is_admin)
        .with_context(|| format!("in {}", shown(&inputs.access)))?;
    let target = match &inputs.target {
        Some(path) => {
            let v = read_json(path)?;
            flatten(v.as_object().context("the target must be a JSON object")?)
        }
        None => {
            let mut t = Map::new();
            t.insert(
                "user_id".into(),
                creds.get("user_id").cloned().unwrap_or(Value::Null),
            );
            if let Some(p) = creds.get("project_id") {
                t.insert("project_id".into(), p.clone());
            }
            t
        }
    };
    Ok((creds, target))
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Check {
            inputs,
            rule,
            is_admin,
            enforcer_config: _,
        } => {
            let rules = load_rules(&inputs.policy)?;
            let (creds, target) = creds_and_target(&inputs, is_admin)?;
            let custom = CustomChecks::new();
            let env = Env {
                rules: &rules,
                custom: &custom,
                target: &target,
                creds: &creds,
            };
            let names: Vec<String> = match rule {
                Some(r) => vec![r],
                None => {
                    let mut names: Vec<String> = rules
                        .rules
                        .keys()
                        .filter(|k| k.contains(':'))
                        .cloned()
                        .collect();
                    names.sort();
                    names
                }
            };
            let mut out = std::io::stdout().lock();
            for name in names {
                let Some(r) = rules.lookup(&name) else {
                    bail!("no rule {name:?} and no default rule");
                };
                let written = match env.eval(r) {
                    Ok(true) => writeln!(out, "passed: {name}"),
                    Ok(false) => writeln!(out, "failed: {name}"),
                    Err(e) => writeln!(out, "{e}\nexception: {r}"),
                };
                if written.is_err() {
                    // the reader went away (`| head`): stop quietly
                    return Ok(ExitCode::SUCCESS);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Explain { inputs, rule } => {
            let enforcer = Enforcer::new(EnforcerConfig {
                policy_file: Some(inputs.policy.clone()),
                ..Default::default()
            });
            enforcer.load_rules()?;
            let (creds, target) = creds_and_target(&inputs, false)?;
            print!("{}", enforcer.explain(&rule, &target, &creds));
            Ok(ExitCode::SUCCESS)
        }
        Command::Validate { policy, defaults } => {
            // as oslopolicy-validator: a missing file fails, and so do rules the defaults do not
            // register and rules that parse to "!" without being written so
            if !policy.is_file() {
                println!("Configured policy file \"{}\" not found", policy.display());
                return Ok(ExitCode::FAILURE);
            }
            let enforcer = Enforcer::new(EnforcerConfig {
                policy_file: Some(policy.clone()),
                ..Default::default()
            });
            let check_unknown = defaults.is_some();
            if let Some(d) = defaults {
                enforcer.register_defaults(read_defaults(&d)?)?;
            }
            enforcer.load_rules()?;
            let problems = enforcer.check_rules();
            let mut failed = !problems.is_empty();
            for p in &problems {
                println!("{p}");
            }
            let registered = enforcer.registered();
            let in_effect: HashMap<String, String> = enforcer.rules().into_iter().collect();
            for (name, raw) in enforcer.file_rules() {
                if check_unknown && !registered.iter().any(|d| d.name == name) {
                    println!("Unknown rule found in policy file: {name}");
                    failed = true;
                }
                let reported = problems
                    .iter()
                    .any(|p| matches!(p, RuleProblem::Unparsable { name: n, .. } if *n == name));
                if !reported && in_effect.get(&name).is_some_and(|r| r == "!") && raw != "!" {
                    let text = raw.as_str().map_or_else(|| raw.to_string(), str::to_owned);
                    println!("Failed to parse rule: {text}");
                    failed = true;
                }
            }
            if failed {
                return Ok(ExitCode::FAILURE);
            }
            let against = if check_unknown {
                format!(
                    ", all of them among the {} registered defaults",
                    registered.len()
                )
            } else {
                String::new()
            };
            println!(
                "{}: {} rules, none unparsable, undefined or circular{against}",
                policy.display(),
                enforcer.file_rules().len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::ListRedundant { policy, defaults } => {
            let raw = read_policy_file(&policy)?;
            for d in read_defaults(&defaults)? {
                if let Some(v) = raw.get(&d.name)
                    && parse_value(v).rule == parse_text(&d.check_str).rule
                {
                    println!("\"{}\": \"{}\"", d.name, d.check_str);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Sample {
            defaults,
            output_file,
        } => {
            let text = keystone_policy::sample(&read_defaults(&defaults)?);
            match output_file {
                Some(path) => std::fs::write(&path, text)
                    .with_context(|| format!("cannot write {}", path.display()))?,
                None => print!("{text}"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::ConvertJsonToYaml {
            policy_file,
            output_file,
            defaults,
        } => {
            let text = std::fs::read_to_string(&policy_file)
                .with_context(|| format!("cannot read {}", policy_file.display()))?;
            let json: Value = serde_json::from_str(&text)
                .with_context(|| format!("{} is not JSON", policy_file.display()))?;
            let rules = json
                .as_object()
                .context("a policy file maps rule names to rules")?;
            parse_policy_text(&text)?;
            let defaults = match defaults {
                Some(d) => read_defaults(&d)?,
                None => Vec::new(),
            };
            let mut out = String::new();
            for (name, value) in rules {
                let check = match value {
                    Value::String(s) => s.clone(),
                    other => parse_value(other).rule.to_string(),
                };
                let same = defaults.iter().any(|d| {
                    &d.name == name && parse_text(&d.check_str).rule == parse_value(value).rule
                });
                let quoted = serde_json::to_string(&check)?;
                if same {
                    out.push_str(&format!(
                        "# Same as the default.\n#\"{name}\": {quoted}\n\n"
                    ));
                } else {
                    out.push_str(&format!("\"{name}\": {quoted}\n\n"));
                }
            }
            std::fs::write(&output_file, out)
                .with_context(|| format!("cannot write {}", output_file.display()))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("keystone-policy: {e:#}");
            ExitCode::from(2)
        }
    }
}
