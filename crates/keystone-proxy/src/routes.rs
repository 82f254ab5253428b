//! The route table: which rule guards a request, found by its path (matchit, axum's router:
//! `{name}` captures a segment, a trailing `/**` the rest) then its method; and the policy
//! target of a request, its path parameters and its query.

use std::collections::BTreeMap;

use axum::http::Method;
use serde_json::{Map, Value};

use crate::config::RouteSpec;

/// The name under which a trailing `/**` captures the rest of a path; not in the target.
const REST: &str = "__rest";

/// What a route asks of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// No token needed.
    Public,
    /// The rule must allow the request.
    Rule(String),
}

#[derive(Debug, Clone)]
struct Route {
    methods: Vec<Method>,
    access: Access,
}

/// The routes, ready to match.
#[derive(Debug, Clone)]
pub struct RouteTable {
    paths: matchit::Router<Vec<Route>>,
}

/// Why routes do not make a table; each names the route.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RouteError {
    /// A route's method is not an HTTP method.
    #[error("route {path}: {method:?} is not an HTTP method")]
    Method {
        /// The route's path pattern.
        path: String,
        /// What was given as a method.
        method: String,
    },
    /// A path pattern does not start with `/`.
    #[error("route {path}: a path starts with /")]
    Relative {
        /// The route's path pattern.
        path: String,
    },
    /// `**` somewhere other than the last segment.
    #[error("route {path}: `**` may only end a pattern, as its last segment")]
    Wildcard {
        /// The route's path pattern.
        path: String,
    },
    /// matchit refuses the pattern: a conflict with an earlier route, or a bad parameter.
    #[error("route {pattern}: {source}")]
    Pattern {
        /// The pattern as given to matchit.
        pattern: String,
        /// matchit's reason.
        source: matchit::InsertError,
    },
}

/// A request's route: what it asks, and the policy target.
#[derive(Debug, Clone, PartialEq)]
pub struct Matched {
    /// Public or a rule.
    pub access: Access,
    /// The path parameters and the query, as the rule's target.
    pub target: Map<String, Value>,
}

impl RouteTable {
    /// Builds the table; a pattern matchit rejects (a conflict, a bad parameter) is an error
    /// naming the route.
    pub fn new(specs: &[RouteSpec]) -> Result<Self, RouteError> {
        let mut grouped: BTreeMap<String, Vec<Route>> = BTreeMap::new();
        let mut order: Vec<String> = Vec::new();
        for spec in specs {
            let methods = spec
                .methods
                .iter()
                .map(|m| {
                    Method::from_bytes(m.as_bytes()).map_err(|_| RouteError::Method {
                        path: spec.path.clone(),
                        method: m.clone(),
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let access = match &spec.rule {
                Some(rule) => Access::Rule(rule.clone()),
                None => Access::Public,
            };
            for pattern in patterns(&spec.path)? {
                if !grouped.contains_key(&pattern) {
                    order.push(pattern.clone());
                }
                grouped.entry(pattern).or_default().push(Route {
                    methods: methods.clone(),
                    access: access.clone(),
                });
            }
        }
        let mut paths = matchit::Router::new();
        for pattern in order {
            let routes = grouped.remove(&pattern).unwrap_or_default();
            paths
                .insert(pattern.clone(), routes)
                .map_err(|source| RouteError::Pattern {
                    pattern: pattern.clone(),
                    source,
                })?;
        }
        Ok(RouteTable { paths })
    }

    /// The route of `method` on `path` and its target (`query` added, path parameters
    /// winning), or none.
    pub fn find(&self, method: &Method, path: &str, query: Option<&str>) -> Option<Matched> {
        let found = self.paths.at(path).ok()?;
        let route = found
            .value
            .iter()
            .find(|r| r.methods.is_empty() || r.methods.contains(method))?;
        let mut target = Map::new();
        for (k, v) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            target.insert(k.into_owned(), Value::String(v.into_owned()));
        }
        for (k, v) in found.params.iter() {
            if k != REST {
                target.insert(k.to_owned(), Value::String(v.to_owned()));
            }
        }
        Some(Matched {
            access: route.access.clone(),
            target,
        })
    }
}

/// matchit's patterns for one of ours: `/a/**` is `/a` and `/a/{*__rest}`.
fn patterns(path: &str) -> Result<Vec<String>, RouteError> {
    if !path.starts_with('/') {
        return Err(RouteError::Relative { path: path.into() });
    }
    match path.strip_suffix("/**") {
        Some("") => Ok(vec!["/".into(), format!("/{{*{REST}}}")]),
        Some(prefix) => Ok(vec![prefix.to_owned(), format!("{prefix}/{{*{REST}}}")]),
        None if path.contains("**") => Err(RouteError::Wildcard { path: path.into() }),
        None => Ok(vec![path.to_owned()]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(methods: &[&str], path: &str, rule: Option<&str>) -> RouteSpec {
        RouteSpec {
            methods: methods.iter().map(|m| m.to_string()).collect(),
            path: path.into(),
            public: rule.is_none(),
            rule: rule.map(str::to_owned),
        }
    }

    #[test]
    fn paths_then_methods_with_parameters_and_the_query_in_the_target() {
        let table = RouteTable::new(&[
            spec(&["GET"], "/v1/{project_id}/things", Some("things:list")),
            spec(&["POST"], "/v1/{project_id}/things", Some("things:create")),
            spec(&[], "/v1/{project_id}/things/{id}", Some("things:any")),
            spec(&["GET"], "/static/**", None),
        ])
        .unwrap();
        let m = table
            .find(
                &Method::GET,
                "/v1/p1/things",
                Some("limit=5&project_id=spoofed"),
            )
            .unwrap();
        assert_eq!(m.access, Access::Rule("things:list".into()));
        assert_eq!(m.target["project_id"], "p1", "path parameters win");
        assert_eq!(m.target["limit"], "5");
        assert_eq!(
            table
                .find(&Method::POST, "/v1/p1/things", None)
                .unwrap()
                .access,
            Access::Rule("things:create".into())
        );
        assert!(table.find(&Method::DELETE, "/v1/p1/things", None).is_none());
        let any = table
            .find(&Method::PATCH, "/v1/p1/things/t9", None)
            .unwrap();
        assert_eq!(any.target["id"], "t9");
        for p in ["/static", "/static/a", "/static/a/b/c.css"] {
            let m = table.find(&Method::GET, p, None).unwrap();
            assert_eq!(m.access, Access::Public, "{p}");
            assert!(m.target.is_empty(), "{p}: {:?}", m.target);
        }
        assert!(table.find(&Method::GET, "/staticx", None).is_none());
        assert!(table.find(&Method::GET, "/v1/p1/other", None).is_none());
    }

    #[test]
    fn bad_patterns_are_named() {
        for (path, want) in [
            ("v1/x", "route v1/x: a path starts with /"),
            ("/a/**/b", "`**` may only end"),
            ("/a/{x", "/a/{x"),
        ] {
            let err = RouteTable::new(&[spec(&["GET"], path, Some("r"))])
                .unwrap_err()
                .to_string();
            assert!(err.contains(want), "{path}: {err}");
        }
        let err = RouteTable::new(&[spec(&["BAD METHOD"], "/a", Some("r"))]).unwrap_err();
        assert!(
            matches!(&err, RouteError::Method { method, .. } if method == "BAD METHOD"),
            "{err}"
        );
        let err = RouteTable::new(&[
            spec(&["GET"], "/a/{x}", Some("r")),
            spec(&["GET"], "/a/{y}", Some("r")),
        ])
        .unwrap_err();
        assert!(
            matches!(&err, RouteError::Pattern { pattern, .. } if pattern == "/a/{y}"),
            "{err}"
        );
    }
}
