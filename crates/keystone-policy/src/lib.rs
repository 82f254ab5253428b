//! An oslo.policy-compatible policy engine. Operators' existing policy files mean exactly the
//! same thing here as in oslo.policy 6.0.1: the same tokenizer and shift-reduce parser, the
//! same checks (`role:`, `rule:`, generic `kind:match` with `%(key)s` substitution and Python
//! `str()` rendering, literal kinds, dotted credential paths), the same fail-closed behaviour,
//! and what makes Python raise denies.
//!
//! **Architecture invariant:** this crate does no network I/O and knows nothing of HTTP
//! frameworks; custom check kinds (such as `http:`) are registered from outside. It depends on
//! serde_json, yaml_serde and thiserror only (the command line is `keystone-policy-cli`).
//!
//! **Architecture invariant:** public functions return typed, `#[non_exhaustive]` errors that
//! implement `std::error::Error`, never `Result<_, String>`. The Python emulation's modules
//! (`literal`, `pyfmt`, `canonical`) are private; three of their functions are public on
//! purpose: [`classify_kind`] (how Python reads a check kind) and [`py_repr`]/[`py_str`]
//! (Python's rendering of a JSON value, for messages worded as OpenStack words them).
//!
//! # Example
//!
//! ```
//! use keystone_policy::{Enforcer, EnforcerConfig, PolicyContext, PolicyError, RuleDefault};
//! use serde_json::json;
//!
//! let enforcer = Enforcer::new(EnforcerConfig::default());
//! enforcer.register_defaults([
//!     RuleDefault::new("admin", "role:admin"),
//!     RuleDefault::new("proxy:create", "rule:admin").scope_types(["project"]),
//! ])?;
//! let member = PolicyContext { roles: vec!["member".into()], project_id: Some("p".into()), ..Default::default() };
//! let target = json!({"project_id": "p"});
//! let err = enforcer.authorize("proxy:create", target.as_object().unwrap(), &member.to_policy_values()).unwrap_err();
//! assert_eq!(err, PolicyError::NotAuthorized("proxy:create".into()));
//! println!("{}", enforcer.explain("proxy:create", target.as_object().unwrap(), &member.to_policy_values()));
//! # Ok::<(), keystone_policy::RegisterError>(())
//! ```

#[cfg(test)]
mod canonical;
mod check;
mod context;
mod enforcer;
mod literal;
mod parser;
mod pyfmt;
mod sample;
#[cfg(test)]
mod tests;

pub use check::{
    CustomCheck, CustomChecks, Env, MAX_RULE_DEPTH, MAX_RULE_EXPANSIONS, Outcome, Raised,
    RuleLookup, RuleSet, Step,
};
pub use context::{CredentialsError, PolicyContext, checker_credentials, flatten};
pub use enforcer::{
    DeprecatedRule, Enforcer, EnforcerConfig, Explanation, LoadError, Operation, PolicyError,
    PolicyTextError, RegisterError, RuleDefault, RuleProblem, parse_policy_text, read_policy_file,
};
pub use literal::{KindClass, classify_kind};
pub use parser::{Check, MAX_NESTING, Parsed, Rule, parse, parse_list, parse_text, parse_value};
/// Python's `repr()` and `str()` of a JSON value, as oslo.policy (and Keystone's messages)
/// write them.
pub use pyfmt::{py_repr, py_str};
pub use sample::{format_rule, sample};
