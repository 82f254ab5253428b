//! Parity with a real Keystone 30.0.0: every recorded exchange in `fixtures/exchanges/` is
//! replayed, in order, against a fresh fake. Ids and tokens the real Keystone made up are
//! mapped to the ones the fake made up as they appear; then the status code, the presence of
//! the recorded headers and the JSON shape (same keys, same value types) must match.

use std::collections::HashMap;
use std::path::PathBuf;

use keystone_fake::FakeKeystone;
use serde_json::Value;

/// Values the real Keystone invented, mapped to the fake's.
#[derive(Default)]
struct Names(HashMap<String, String>);

impl Names {
    fn apply(&self, text: &str) -> String {
        let mut out = text.to_owned();
        // longest first, so a token is never partly replaced by an id inside it
        let mut keys: Vec<&String> = self.0.keys().collect();
        keys.sort_by_key(|k| std::cmp::Reverse(k.len()));
        for k in keys {
            out = out.replace(k.as_str(), &self.0[k]);
        }
        out
    }

    fn learn(&mut self, recorded: &str, actual: &str) {
        if recorded != actual && recorded.len() >= 16 && !self.0.contains_key(recorded) {
            self.0.insert(recorded.to_owned(), actual.to_owned());
        }
    }

    /// Walks both bodies together, learning ids and secrets.
    fn learn_body(&mut self, recorded: &Value, actual: &Value) {
        match (recorded, actual) {
            (Value::Object(r), Value::Object(a)) => {
                for (k, rv) in r {
                    let Some(av) = a.get(k) else { continue };
                    match (rv, av) {
                        (Value::String(rs), Value::String(as_))
                            if k == "id" || k == "secret" || k.ends_with("_id") =>
                        {
                            self.learn(rs, as_)
                        }
                        _ => self.learn_body(rv, av),
                    }
                }
            }
            (Value::Array(r), Value::Array(a)) => {
                for (rv, av) in pair_elements(r, a) {
                    self.learn_body(rv, av);
                }
            }
            _ => {}
        }
    }
}

/// Pairs list elements by `name`, then `interface`, then position, since the fake and the real
/// Keystone list things in different orders.
fn pair_elements<'a>(r: &'a [Value], a: &'a [Value]) -> Vec<(&'a Value, &'a Value)> {
    let key_of = |v: &Value| -> Option<String> {
        ["name", "interface"].iter().find_map(|k| {
            v.get(*k)
                .and_then(Value::as_str)
                .map(|s| format!("{k}={s}"))
        })
    };
    let mut pairs = Vec::new();
    for (i, rv) in r.iter().enumerate() {
        let found = match key_of(rv) {
            Some(key) => a
                .iter()
                .find(|av| key_of(av).as_deref() == Some(key.as_str())),
            None => a.get(i),
        };
        if let Some(av) = found {
            pairs.push((rv, av));
        }
    }
    pairs
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Differences in shape between the recorded and the actual body, as paths.
fn shape_diff(path: &str, recorded: &Value, actual: &Value, out: &mut Vec<String>) {
    if kind(recorded) != kind(actual) {
        out.push(format!(
            "{path}: recorded {} but got {}",
            kind(recorded),
            kind(actual)
        ));
        return;
    }
    match (recorded, actual) {
        (Value::Object(r), Value::Object(a)) => {
            for k in r.keys().filter(|k| !a.contains_key(*k)) {
                out.push(format!("{path}.{k}: missing"));
            }
            for k in a.keys().filter(|k| !r.contains_key(*k)) {
                out.push(format!("{path}.{k}: not in the recording"));
            }
            for (k, rv) in r {
                if let Some(av) = a.get(k) {
                    shape_diff(&format!("{path}.{k}"), rv, av, out);
                }
            }
        }
        (Value::Array(r), Value::Array(a)) => {
            if !r.is_empty() && a.is_empty() {
                out.push(format!(
                    "{path}: recorded {} elements but got none",
                    r.len()
                ));
            }
            for (i, (rv, av)) in pair_elements(r, a).into_iter().enumerate() {
                shape_diff(&format!("{path}[{i}]"), rv, av, out);
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn every_recorded_exchange_has_the_same_shape_on_the_fake() {
    let fake = FakeKeystone::start().await.unwrap();
    let client = reqwest::Client::new();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/exchanges");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 57);

    let mut names = Names::default();
    names.learn("http://127.0.0.1:5000", fake.url());
    let mut failures = Vec::new();
    for file in &files {
        let exchange: Value =
            serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        let name = exchange["name"].as_str().unwrap().to_owned();
        let req = &exchange["request"];
        let want = &exchange["response"];
        let method =
            reqwest::Method::from_bytes(req["method"].as_str().unwrap().as_bytes()).unwrap();
        let url = format!(
            "{}{}",
            fake.url(),
            names.apply(req["path"].as_str().unwrap())
        );
        let mut builder = client.request(method, &url);
        for (h, v) in req["headers"].as_object().unwrap() {
            builder = builder.header(h.as_str(), names.apply(v.as_str().unwrap()));
        }
        builder = match &req["body"] {
            Value::Null => builder,
            Value::String(raw) => builder.body(raw.clone()),
            body => builder.body(names.apply(&body.to_string())),
        };
        let response = builder.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();

        let mut problems = Vec::new();
        if u64::from(status) != want["status"].as_u64().unwrap() {
            problems.push(format!(
                "status {status}, recorded {} (body {text})",
                want["status"]
            ));
        }
        for h in want["headers"].as_object().unwrap().keys() {
            if !headers.contains_key(h.as_str()) {
                problems.push(format!("header {h} missing"));
            }
        }
        if let (Some(recorded), Some(actual)) = (
            want["headers"]["x-subject-token"].as_str(),
            headers.get("x-subject-token").and_then(|v| v.to_str().ok()),
        ) {
            names.learn(recorded, actual);
        }
        match &want["body"] {
            Value::String(s) if s.is_empty() => {
                if !text.is_empty() {
                    problems.push(format!("expected no body, got {text}"));
                }
            }
            recorded => match serde_json::from_str::<Value>(&text) {
                Ok(actual) => {
                    names.learn_body(recorded, &actual);
                    shape_diff("body", recorded, &actual, &mut problems);
                }
                Err(e) => problems.push(format!("body is not JSON ({e}): {text}")),
            },
        }
        if !problems.is_empty() {
            failures.push(format!("{name}:\n  {}", problems.join("\n  ")));
        }
    }
    assert!(
        failures.is_empty(),
        "differences from the real Keystone:\n{}",
        failures.join("\n")
    );
}
