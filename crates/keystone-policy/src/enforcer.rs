//! The enforcer: registered defaults, policy files and `policy_dirs` overlays, the default
//! rule, deprecated rules, scope types, reloading, rule validation, and the decisions
//! (`enforce`, `authorize`, `explain`).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Map, Value};

use crate::check::{CustomCheck, CustomChecks, Env, Outcome, RuleLookup, Step};
use crate::parser::{Compiled, Rule, parse_text, parse_value};

/// An operation a documented rule protects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    /// Such as `/v3/services`.
    pub path: String,
    /// Such as `POST`.
    pub method: String,
}

/// A rule an earlier release used, which the new one replaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeprecatedRule {
    /// Its name (often the same as the new rule's).
    pub name: String,
    /// Its check string.
    pub check_str: String,
    /// Why it changed.
    pub deprecated_reason: Option<String>,
    /// The release that changed it.
    pub deprecated_since: Option<String>,
}

/// A rule a service registers, as oslo.policy's `RuleDefault` and `DocumentedRuleDefault`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleDefault {
    /// Its name, such as `proxy:create`.
    pub name: String,
    /// Its default check string.
    pub check_str: String,
    /// What it protects.
    pub description: Option<String>,
    /// The API operations it protects.
    pub operations: Vec<Operation>,
    /// The token scopes allowed (`system`, `domain`, `project`); empty means any.
    pub scope_types: Vec<String>,
    /// The rule it replaces.
    pub deprecated_rule: Option<DeprecatedRule>,
    /// Whether it will be removed.
    pub deprecated_for_removal: bool,
    /// Why it is deprecated.
    pub deprecated_reason: Option<String>,
    /// Since when.
    pub deprecated_since: Option<String>,
}

impl RuleDefault {
    /// A rule with a name and a check string.
    pub fn new(name: impl Into<String>, check_str: impl Into<String>) -> Self {
        RuleDefault {
            name: name.into(),
            check_str: check_str.into(),
            description: None,
            operations: Vec::new(),
            scope_types: Vec::new(),
            deprecated_rule: None,
            deprecated_for_removal: false,
            deprecated_reason: None,
            deprecated_since: None,
        }
    }

    /// Adds a description.
    pub fn description(mut self, d: impl Into<String>) -> Self {
        self.description = Some(d.into());
        self
    }

    /// Adds an operation.
    pub fn operation(mut self, method: impl Into<String>, path: impl Into<String>) -> Self {
        self.operations.push(Operation {
            path: path.into(),
            method: method.into(),
        });
        self
    }

    /// Sets the scope types.
    pub fn scope_types<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.scope_types = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the deprecated rule this one replaces.
    pub fn deprecated(mut self, rule: DeprecatedRule) -> Self {
        self.deprecated_rule = Some(rule);
        self
    }
}

/// How the enforcer finds its rules: `[oslo_policy]` options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnforcerConfig {
    /// `policy_file`; a missing file is not an error (only the defaults apply).
    pub policy_file: Option<PathBuf>,
    /// `policy_dirs`: every file in them, in name order, overlays the policy file.
    pub policy_dirs: Vec<PathBuf>,
    /// `policy_default_rule`: used for unknown rule names (default `default`).
    pub default_rule: Option<String>,
    /// `enforce_new_defaults` (default true): when false, a deprecated rule's old check
    /// string also allows.
    pub enforce_new_defaults: bool,
    /// Check the files for changes at most this often during enforcement (`None`: only on
    /// [`Enforcer::reload_if_changed`]).
    pub reload_interval: Option<Duration>,
}

impl Default for EnforcerConfig {
    fn default() -> Self {
        EnforcerConfig {
            policy_file: None,
            policy_dirs: Vec::new(),
            default_rule: Some("default".into()),
            enforce_new_defaults: true,
            reload_interval: None,
        }
    }
}

/// Why a decision is not "allowed", for [`Enforcer::authorize`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The rule was never registered.
    #[error("Policy {0} has not been registered")]
    NotRegistered(String),
    /// The rule denied.
    #[error("{0} is disallowed by policy")]
    NotAuthorized(String),
    /// The token's scope is not one the rule allows.
    #[error("{rule} requires a scope of {allowed:?}, request was made with {token_scope} scope.")]
    InvalidScope {
        /// The rule.
        rule: String,
        /// Its scope types.
        allowed: Vec<String>,
        /// The token's scope.
        token_scope: String,
    },
}

/// A problem with the rules themselves.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RuleProblem {
    /// A rule does not parse (it denies).
    #[error("{name}: {error}")]
    Unparsable {
        /// The rule.
        name: String,
        /// Why.
        error: String,
    },
    /// A rule refers to a rule that does not exist.
    #[error("{name} refers to undefined rule {missing}")]
    Undefined {
        /// The rule.
        name: String,
        /// The missing one.
        missing: String,
    },
    /// A rule is part of a cycle of `rule:` references.
    #[error("{name} is part of a cyclical reference")]
    Cycle {
        /// The rule.
        name: String,
    },
}

/// A file that could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot load policy file {path}: {reason}")]
pub struct LoadError {
    /// The file.
    pub path: String,
    /// Why.
    pub reason: String,
}

/// Why policy text (YAML or JSON) is not a policy, for [`parse_policy_text`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyTextError {
    /// The text is not YAML (nor JSON); the parser's message.
    #[error("{0}")]
    Syntax(String),
    /// The text is YAML, but not a mapping of rule names to rules.
    #[error("a policy file maps rule names to rules, not {0}")]
    NotAMapping(Value),
}

/// Why defaults could not be registered, for [`Enforcer::register_defaults`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegisterError {
    /// A default of this name is already registered (oslo.policy's `DuplicatePolicyError`).
    #[error("Policy {0} is already registered")]
    AlreadyRegistered(String),
}

/// The rules in effect.
#[derive(Debug, Default)]
struct Loaded {
    rules: HashMap<String, Rule>,
    /// Raw check strings of the file rules, by name.
    file_rules: HashMap<String, Value>,
    problems: Vec<RuleProblem>,
    default_rule: Option<String>,
    stamps: Vec<(PathBuf, Option<SystemTime>)>,
    /// The scope types of every registered rule (empty: any scope), looked up per decision.
    scope_types: HashMap<String, Vec<String>>,
}

impl RuleLookup for Loaded {
    fn lookup(&self, name: &str) -> Option<&Rule> {
        self.rules.get(name).or_else(|| {
            let default = self.default_rule.as_deref()?;
            self.rules.get(default)
        })
    }
}

/// Why a decision came out as it did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    /// The rule asked about.
    pub rule: String,
    /// Whether it allowed.
    pub allowed: bool,
    /// The scope check, when the rule has scope types.
    pub scope: Option<String>,
    /// Evaluated checks, in order, with their results.
    pub steps: Vec<Step>,
}

impl std::fmt::Display for Explanation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{}: {}",
            self.rule,
            if self.allowed { "allowed" } else { "denied" }
        )?;
        if let Some(s) = &self.scope {
            writeln!(f, "  scope: {s}")?;
        }
        for step in &self.steps {
            let result = match &step.outcome {
                Ok(true) => "passed".to_owned(),
                Ok(false) => "failed".to_owned(),
                Err(e) => format!("raised ({e})"),
            };
            writeln!(f, "  {}{} -> {result}", "  ".repeat(step.depth), step.what)?;
        }
        Ok(())
    }
}

/// The policy enforcer.
///
/// # Example
///
/// ```
/// use keystone_policy::{Enforcer, EnforcerConfig, RuleDefault};
/// use serde_json::json;
///
/// let enforcer = Enforcer::new(EnforcerConfig::default());
/// enforcer.register_defaults([
///     RuleDefault::new("admin", "role:admin"),
///     RuleDefault::new("proxy:create", "rule:admin"),
///     RuleDefault::new("proxy:view", "project_id:%(project_id)s"),
/// ]).unwrap();
/// let creds = json!({"roles": ["member"], "project_id": "p1", "user_id": "u1"});
/// let creds = creds.as_object().unwrap();
/// assert!(!enforcer.enforce("proxy:create", &json!({}).as_object().unwrap(), creds));
/// assert!(enforcer.enforce("proxy:view", &json!({"project_id": "p1"}).as_object().unwrap(), creds));
/// ```
pub struct Enforcer {
    config: EnforcerConfig,
    registered: RwLock<Vec<RuleDefault>>,
    inline: RwLock<Map<String, Value>>,
    custom: RwLock<CustomChecks>,
    loaded: RwLock<Arc<Loaded>>,
    last_check: Mutex<Instant>,
}

impl std::fmt::Debug for Enforcer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Enforcer")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|e| e.into_inner())
}

fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|e| e.into_inner())
}

fn truthy(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) | Some(Value::Bool(false)) => false,
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
        Some(Value::Bool(true)) => true,
    }
}

/// Reads a policy file (YAML, of which JSON is a subset) into name → raw rule.
pub fn read_policy_file(path: &Path) -> Result<Map<String, Value>, LoadError> {
    let err = |reason: String| LoadError {
        path: path.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    parse_policy_text(&text).map_err(|e| err(e.to_string()))
}

/// Parses policy file text (YAML or JSON).
pub fn parse_policy_text(text: &str) -> Result<Map<String, Value>, PolicyTextError> {
    if text.trim().is_empty() {
        return Ok(Map::new());
    }
    let value: Value =
        yaml_serde::from_str(text).map_err(|e| PolicyTextError::Syntax(e.to_string()))?;
    match value {
        Value::Null => Ok(Map::new()),
        Value::Object(m) => Ok(m),
        other => Err(PolicyTextError::NotAMapping(other)),
    }
}

impl Enforcer {
    /// An enforcer reading the files named in `config` (none are read until the first
    /// decision or [`Enforcer::load_rules`]).
    pub fn new(config: EnforcerConfig) -> Self {
        Enforcer {
            config,
            registered: RwLock::new(Vec::new()),
            inline: RwLock::new(Map::new()),
            custom: RwLock::new(CustomChecks::new()),
            loaded: RwLock::new(Arc::new(Loaded::default())),
            last_check: Mutex::new(Instant::now()),
        }
    }

    /// Registers a default; a name registered twice is an error.
    pub fn register_default(&self, default: RuleDefault) -> Result<(), RegisterError> {
        self.register_defaults([default])
    }

    /// Registers several defaults, then rebuilds the rules once.
    pub fn register_defaults(
        &self,
        defaults: impl IntoIterator<Item = RuleDefault>,
    ) -> Result<(), RegisterError> {
        let result = {
            let mut registered = write(&self.registered);
            defaults.into_iter().try_for_each(|default| {
                if registered.iter().any(|r| r.name == default.name) {
                    return Err(RegisterError::AlreadyRegistered(default.name));
                }
                registered.push(default);
                Ok(())
            })
        };
        self.rebuild_quietly();
        result
    }

    /// The registered defaults.
    pub fn registered(&self) -> Vec<RuleDefault> {
        read(&self.registered).clone()
    }

    /// Sets rules as if they came from a policy file read before the configured files (for
    /// policies compiled into a program). Replaces earlier inline rules and rebuilds.
    pub fn set_inline_rules(&self, rules: Map<String, Value>) -> Result<(), LoadError> {
        *write(&self.inline) = rules;
        self.load_rules()
    }

    /// Parses policy text (YAML or JSON) and sets it as the inline rules.
    pub fn set_inline_text(&self, text: &str) -> Result<(), LoadError> {
        let rules = parse_policy_text(text).map_err(|e| LoadError {
            path: "<inline>".into(),
            reason: e.to_string(),
        })?;
        self.set_inline_rules(rules)
    }

    /// Registers a custom check kind (such as `http`).
    pub fn register_check(&self, kind: impl Into<String>, check: Arc<dyn CustomCheck>) {
        write(&self.custom).insert(kind.into(), check);
    }

    fn rebuild_quietly(&self) {
        if let Ok(loaded) = self.build() {
            *write(&self.loaded) = Arc::new(loaded);
        }
    }

    /// (Re)reads the files and rebuilds the rules.
    pub fn load_rules(&self) -> Result<(), LoadError> {
        let loaded = self.build()?;
        *write(&self.loaded) = Arc::new(loaded);
        Ok(())
    }

    /// Reloads when a policy file or directory changed since the last load.
    pub fn reload_if_changed(&self) -> Result<bool, LoadError> {
        let current = read(&self.loaded).stamps.clone();
        if self.stamps() == current {
            return Ok(false);
        }
        self.load_rules()?;
        Ok(true)
    }

    fn files(&self) -> Vec<PathBuf> {
        let mut files = Vec::new();
        if let Some(f) = &self.config.policy_file {
            files.push(f.clone());
        }
        for dir in &self.config.policy_dirs {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
                .map(|rd| {
                    // as oslo.policy: files only, not hidden ones (editor swap files, say)
                    rd.filter_map(|e| e.ok())
                        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                        .map(|e| e.path())
                        .filter(|p| p.is_file())
                        .collect()
                })
                .unwrap_or_default();
            entries.sort();
            files.extend(entries);
        }
        files
    }

    fn stamps(&self) -> Vec<(PathBuf, Option<SystemTime>)> {
        let mut paths = self.files();
        paths.extend(self.config.policy_dirs.iter().cloned());
        paths
            .into_iter()
            .map(|p| {
                let t = std::fs::metadata(&p).and_then(|m| m.modified()).ok();
                (p, t)
            })
            .collect()
    }

    fn build(&self) -> Result<Loaded, LoadError> {
        let stamps = self.stamps();
        let mut file_rules: Map<String, Value> = read(&self.inline).clone();
        for path in self.files() {
            if !path.exists() {
                continue;
            }
            for (k, v) in read_policy_file(&path)? {
                file_rules.insert(k, v);
            }
        }
        let mut rules = HashMap::new();
        let mut problems = Vec::new();
        let mut scope_types = HashMap::new();
        for (name, raw) in &file_rules {
            let parsed = parse_value(raw);
            if let Some(error) = parsed.error {
                problems.push(RuleProblem::Unparsable {
                    name: name.clone(),
                    error,
                });
            }
            rules.insert(name.clone(), parsed.rule);
        }
        // the defaults go in after all of them are built: a deprecated rule's override is
        // looked for among the files' rules only, never among other defaults
        let mut defaults = HashMap::new();
        for default in read(&self.registered).iter() {
            scope_types.insert(default.name.clone(), default.scope_types.clone());
            if rules.contains_key(&default.name) {
                continue;
            }
            let parsed = parse_text(&default.check_str);
            if let Some(error) = parsed.error {
                problems.push(RuleProblem::Unparsable {
                    name: default.name.clone(),
                    error,
                });
            }
            let rule = match &default.deprecated_rule {
                Some(dep) => self.handle_deprecated(default, dep, parsed.rule, &rules),
                None => parsed.rule,
            };
            defaults.insert(default.name.clone(), rule);
        }
        rules.extend(defaults);
        let mut loaded = Loaded {
            rules,
            file_rules: file_rules.into_iter().collect(),
            problems,
            default_rule: self.config.default_rule.clone(),
            stamps,
            scope_types,
        };
        let structural = structural_problems(&loaded.rules);
        loaded.problems.extend(structural);
        Ok(loaded)
    }

    /// `_handle_deprecated_rule`.
    fn handle_deprecated(
        &self,
        default: &RuleDefault,
        dep: &DeprecatedRule,
        new: Rule,
        file: &HashMap<String, Rule>,
    ) -> Rule {
        let old = parse_text(&dep.check_str).rule;
        if dep.name != default.name
            && let Some(file_rule) = file.get(&dep.name)
            && *file_rule != old
            && file_rule.to_string() != format!("rule:{}", default.name)
            && !file.contains_key(&default.name)
        {
            return file_rule.clone();
        }
        if !self.config.enforce_new_defaults
            && dep.check_str != default.check_str
            && !file.contains_key(&default.name)
        {
            return Rule::Or(vec![new, old]);
        }
        new
    }

    fn current(&self) -> Arc<Loaded> {
        if let Some(interval) = self.config.reload_interval {
            let due = {
                let mut last = self.last_check.lock().unwrap_or_else(|e| e.into_inner());
                if last.elapsed() >= interval {
                    *last = Instant::now();
                    true
                } else {
                    false
                }
            };
            if due && let Err(e) = self.reload_if_changed() {
                eprintln!("keystone-policy: keeping the previous rules: {e}");
            }
        }
        let loaded = read(&self.loaded).clone();
        if loaded.rules.is_empty()
            && loaded.stamps.is_empty()
            && (self.config.policy_file.is_some() || !self.config.policy_dirs.is_empty())
        {
            drop(loaded);
            let _ = self.load_rules();
            return read(&self.loaded).clone();
        }
        loaded
    }

    /// Problems found in the rules: unparsable rules, undefined references, cycles.
    pub fn check_rules(&self) -> Vec<RuleProblem> {
        self.current().problems.clone()
    }

    /// The rules in effect, by name, as oslo.policy prints them.
    pub fn rules(&self) -> Vec<(String, String)> {
        let loaded = self.current();
        let mut out: Vec<(String, String)> = loaded
            .rules
            .iter()
            .map(|(k, v)| (k.clone(), v.to_string()))
            .collect();
        out.sort();
        out
    }

    /// The raw file rules, by name.
    pub fn file_rules(&self) -> Vec<(String, Value)> {
        let loaded = self.current();
        let mut out: Vec<(String, Value)> = loaded
            .file_rules
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Evaluates the rule named `rule` (the default rule when unknown), with scope checking
    /// for registered rules. Anything that would make oslo.policy raise denies.
    pub fn enforce(
        &self,
        rule: &str,
        target: &Map<String, Value>,
        creds: &Map<String, Value>,
    ) -> bool {
        matches!(
            self.decide(rule, target, creds, false),
            Ok(Decision {
                outcome: Ok(true),
                ..
            })
        )
    }

    /// Like [`Enforcer::enforce`], with JSON values for target and credentials.
    pub fn enforce_value(&self, rule: &str, target: &Value, creds: &Value) -> bool {
        let empty = Map::new();
        self.enforce(
            rule,
            target.as_object().unwrap_or(&empty),
            creds.as_object().unwrap_or(&empty),
        )
    }

    /// Evaluates a rule given as text (not by name), without scope checking.
    pub fn enforce_text(
        &self,
        rule: &str,
        target: &Map<String, Value>,
        creds: &Map<String, Value>,
    ) -> Outcome {
        let loaded = self.current();
        let custom = read(&self.custom);
        let creds = with_system(creds);
        Env {
            rules: &*loaded,
            custom: &custom,
            target,
            creds: &creds,
        }
        .eval(&parse_text(rule).rule)
    }

    /// Like `Enforcer.authorize`: the rule must be registered; a denial is an error.
    pub fn authorize(
        &self,
        rule: &str,
        target: &Map<String, Value>,
        creds: &Map<String, Value>,
    ) -> Result<(), PolicyError> {
        if !self.current().scope_types.contains_key(rule) {
            return Err(PolicyError::NotRegistered(rule.to_owned()));
        }
        match self.decide(rule, target, creds, false)? {
            Decision {
                outcome: Ok(true), ..
            } => Ok(()),
            _ => Err(PolicyError::NotAuthorized(rule.to_owned())),
        }
    }

    /// Why `rule` allows or denies.
    pub fn explain(
        &self,
        rule: &str,
        target: &Map<String, Value>,
        creds: &Map<String, Value>,
    ) -> Explanation {
        match self.decide(rule, target, creds, true) {
            Ok(d) => Explanation {
                rule: rule.to_owned(),
                allowed: d.outcome == Ok(true),
                scope: d.scope,
                steps: d.steps,
            },
            Err(e) => Explanation {
                rule: rule.to_owned(),
                allowed: false,
                scope: Some(e.to_string()),
                steps: Vec::new(),
            },
        }
    }

    fn decide(
        &self,
        rule: &str,
        target: &Map<String, Value>,
        creds: &Map<String, Value>,
        trace: bool,
    ) -> Result<Decision, PolicyError> {
        let loaded = self.current();
        let creds = with_system(creds);
        let mut scope = None;
        if let Some(allowed) = loaded.scope_types.get(rule)
            && !allowed.is_empty()
        {
            let token_scope = if truthy(creds.get("system")) {
                "system"
            } else if truthy(creds.get("domain_id")) {
                "domain"
            } else {
                "project"
            };
            if !allowed.iter().any(|s| s == token_scope) {
                return Err(PolicyError::InvalidScope {
                    rule: rule.to_owned(),
                    allowed: allowed.clone(),
                    token_scope: token_scope.to_owned(),
                });
            }
            scope = Some(format!("{token_scope} scope is one of {allowed:?}"));
        }
        if loaded.rules.is_empty() {
            return Ok(Decision {
                outcome: Ok(false),
                scope,
                steps: Vec::new(),
            });
        }
        let Some(to_check) = loaded.lookup(rule) else {
            return Ok(Decision {
                outcome: Ok(false),
                scope,
                steps: Vec::new(),
            });
        };
        let custom = read(&self.custom);
        let env = Env {
            rules: &*loaded,
            custom: &custom,
            target,
            creds: &creds,
        };
        let (outcome, steps) = if trace {
            env.explain(to_check)
        } else {
            (env.eval(to_check), Vec::new())
        };
        Ok(Decision {
            outcome,
            scope,
            steps,
        })
    }
}

struct Decision {
    outcome: Outcome,
    scope: Option<String>,
    steps: Vec<Step>,
}

/// oslo.policy copies a true `system_scope` to `system` before deciding.
fn with_system(creds: &Map<String, Value>) -> std::borrow::Cow<'_, Map<String, Value>> {
    match creds.get("system_scope") {
        Some(v) if truthy(Some(v)) && creds.get("system") != Some(v) => {
            let mut owned = creds.clone();
            owned.insert("system".into(), v.clone());
            std::borrow::Cow::Owned(owned)
        }
        _ => std::borrow::Cow::Borrowed(creds),
    }
}

fn references(rule: &Rule, out: &mut Vec<String>) {
    match rule {
        Rule::Check(c) if matches!(c.compiled, Compiled::Rule) => out.push(c.matched.clone()),
        Rule::Not(r) => references(r, out),
        Rule::And(rs) | Rule::Or(rs) => rs.iter().for_each(|r| references(r, out)),
        _ => {}
    }
}

/// Undefined references and cycles, as `check_rules` finds them.
fn structural_problems(rules: &HashMap<String, Rule>) -> Vec<RuleProblem> {
    let mut problems = Vec::new();
    let mut names: Vec<&String> = rules.keys().collect();
    names.sort();
    for name in &names {
        let mut refs = Vec::new();
        references(&rules[*name], &mut refs);
        for missing in refs.into_iter().filter(|r| !rules.contains_key(r)) {
            problems.push(RuleProblem::Undefined {
                name: (*name).clone(),
                missing,
            });
        }
    }
    for name in names {
        if reaches_itself(rules, name) {
            problems.push(RuleProblem::Cycle { name: name.clone() });
        }
    }
    problems
}

fn reaches_itself(rules: &HashMap<String, Rule>, start: &str) -> bool {
    let mut seen = HashSet::new();
    let mut todo = Vec::new();
    if let Some(r) = rules.get(start) {
        references(r, &mut todo);
    }
    while let Some(n) = todo.pop() {
        if n == start {
            return true;
        }
        if seen.insert(n.clone())
            && let Some(r) = rules.get(&n)
        {
            references(r, &mut todo);
        }
    }
    false
}
