//! Parity with a real Keystone 30.0.0.
//!
//! Always: every recorded exchange in `fixtures/exchanges/` is replayed, in order, against a
//! fresh fake. Ids and tokens the real Keystone made up are mapped to the ones the fake made up
//! as they appear; then the status code, the presence of the recorded headers and the JSON
//! shape (same keys, same value types) must match the recording.
//!
//! With `KEYSTONE_PARITY_REAL_URL` set (as `cargo xtask conformance` does, pointing at a real
//! Keystone bootstrapped with the password `adminpw`), the same sequence plus the extra steps
//! of `fixtures/parity-extra.json` (the routes the recording does not cover, successes and
//! errors) is sent to the real Keystone and to a fresh fake, and their answers are compared
//! step by step. An extra step may use an earlier step's answer: `{{step:/json/pointer}}` in
//! its path, headers or body, or `{{step:x-subject-token}}` for the token it was answered
//! with. A step's `"same_values"` (JSON pointers, such as `/error/message`) must have the same
//! values, not only the same shapes. Differences listed in
//! `fixtures/parity-known-differences.yaml` are reported; any other difference fails.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

use keystone_fake::FakeKeystone;
use serde_json::Value;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

/// Values the real Keystone invented when the exchanges were recorded, mapped to the ones the
/// Keystone being replayed against invents.
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

/// Pairs list elements by `name`, then `interface`, then position, since two Keystones list
/// things in different orders.
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

/// Differences in shape between a reference body and another, as paths.
fn shape_diff(path: &str, reference: &Value, actual: &Value, out: &mut Vec<String>) {
    if kind(reference) != kind(actual) {
        out.push(format!(
            "{path}: {} here, {} there",
            kind(reference),
            kind(actual)
        ));
        return;
    }
    match (reference, actual) {
        (Value::Object(r), Value::Object(a)) => {
            for k in r.keys().filter(|k| !a.contains_key(*k)) {
                out.push(format!("{path}.{k}: missing"));
            }
            for k in a.keys().filter(|k| !r.contains_key(*k)) {
                out.push(format!("{path}.{k}: unexpected"));
            }
            for (k, rv) in r {
                if let Some(av) = a.get(k) {
                    shape_diff(&format!("{path}.{k}"), rv, av, out);
                }
            }
        }
        (Value::Array(r), Value::Array(a)) => {
            if !r.is_empty() && a.is_empty() {
                out.push(format!("{path}: {} elements here, none there", r.len()));
            }
            for (i, (rv, av)) in pair_elements(r, a).into_iter().enumerate() {
                shape_diff(&format!("{path}[{i}]"), rv, av, out);
            }
        }
        _ => {}
    }
}

/// One step: a recorded exchange (with its recorded answer) or an extra request.
struct Step {
    name: String,
    request: Value,
    recorded: Option<Value>,
    /// JSON pointers into the answer whose values (not only shapes) must be the same, such as
    /// `/error/message` (an extra step's `"same_values"`).
    same_values: Vec<String>,
}

fn steps(with_extras: bool) -> Vec<Step> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures().join("exchanges"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut out: Vec<Step> = files
        .iter()
        .map(|f| {
            let e: Value = serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
            Step {
                name: e["name"].as_str().unwrap().to_owned(),
                request: e["request"].clone(),
                recorded: Some(e["response"].clone()),
                same_values: Vec::new(),
            }
        })
        .collect();
    if with_extras {
        let extras: Vec<Value> = serde_json::from_str(
            &std::fs::read_to_string(fixtures().join("parity-extra.json")).unwrap(),
        )
        .unwrap();
        out.extend(extras.into_iter().map(|e| {
            Step {
                name: e["name"].as_str().unwrap().to_owned(),
                request: e["request"].clone(),
                recorded: None,
                same_values: e["same_values"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|p| {
                        p.as_str()
                            .expect("same_values are JSON pointers")
                            .to_owned()
                    })
                    .collect(),
            }
        }));
    }
    out
}

/// What a Keystone answered to one step.
#[derive(Debug, Clone)]
struct Answer {
    status: u16,
    headers: BTreeSet<String>,
    body: Value,
    /// The `X-Subject-Token` it answered with, for later steps to use.
    subject_token: Option<String>,
}

/// Headers whose presence matters (the rest, such as `date`, vary by server).
const SIGNIFICANT: &[&str] = &[
    "content-type",
    "www-authenticate",
    "x-subject-token",
    "location",
    "vary",
    "x-openstack-request-id",
];

/// Replaces `{{step:/json/pointer}}` with a value from this Keystone's earlier answers, and
/// `{{step:x-subject-token}}` with the token it answered a step with.
fn resolve(text: &str, answers: &HashMap<String, Answer>) -> String {
    let mut out = text.to_owned();
    while let Some(start) = out.find("{{") {
        let Some(end) = out[start..].find("}}") else {
            break;
        };
        let inner = &out[start + 2..start + end];
        let (step, pointer) = inner.split_once(':').unwrap_or((inner, ""));
        let value = answers
            .get(step)
            .and_then(|a| match pointer {
                "x-subject-token" => a.subject_token.as_deref(),
                _ => a.body.pointer(pointer).and_then(Value::as_str),
            })
            .unwrap_or("unresolved")
            .to_owned();
        out.replace_range(start..start + end + 2, &value);
    }
    out
}

/// Sends every step to the Keystone at `base`, learning its ids as it goes.
async fn replay(base: &str, steps: &[Step]) -> Vec<Answer> {
    let client = reqwest::Client::new();
    let mut names = Names::default();
    names.learn("http://127.0.0.1:5000", base);
    let mut answers: HashMap<String, Answer> = HashMap::new();
    let mut out = Vec::new();
    for step in steps {
        let req = &step.request;
        let method =
            reqwest::Method::from_bytes(req["method"].as_str().unwrap().as_bytes()).unwrap();
        let path = resolve(&names.apply(req["path"].as_str().unwrap()), &answers);
        let mut builder = client.request(method, format!("{base}{path}"));
        for (h, v) in req["headers"].as_object().unwrap() {
            builder = builder.header(
                h.as_str(),
                resolve(&names.apply(v.as_str().unwrap()), &answers),
            );
        }
        builder = match &req["body"] {
            Value::Null => builder,
            Value::String(raw) => builder.body(raw.clone()),
            body => builder.body(resolve(&names.apply(&body.to_string()), &answers)),
        };
        let response = builder.send().await.unwrap();
        let status = response.status().as_u16();
        let headers: BTreeSet<String> = response
            .headers()
            .keys()
            .map(|k| k.as_str().to_owned())
            .filter(|k| SIGNIFICANT.contains(&k.as_str()))
            .collect();
        let subject_token = response
            .headers()
            .get("x-subject-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        if let (Some(recorded), Some(actual)) = (
            step.recorded
                .as_ref()
                .and_then(|r| r["headers"]["x-subject-token"].as_str()),
            subject_token.as_deref(),
        ) {
            names.learn(recorded, actual);
        }
        let text = response.text().await.unwrap();
        let body = if text.is_empty() {
            Value::String(String::new())
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        if let Some(recorded) = &step.recorded {
            names.learn_body(&recorded["body"], &body);
        }
        let answer = Answer {
            status,
            headers,
            body,
            subject_token,
        };
        answers.insert(step.name.clone(), answer.clone());
        out.push(answer);
    }
    out
}

/// How `actual` differs from `reference` (status, headers, body shape).
fn differences(reference: &Answer, actual: &Answer) -> Vec<String> {
    let mut problems = Vec::new();
    if reference.status != actual.status {
        problems.push(format!(
            "status {} here, {} there",
            reference.status, actual.status
        ));
    }
    if reference.headers != actual.headers {
        problems.push(format!(
            "headers {:?} here, {:?} there",
            reference.headers, actual.headers
        ));
    }
    shape_diff("body", &reference.body, &actual.body, &mut problems);
    problems
}

fn recorded_answer(recorded: &Value) -> Answer {
    Answer {
        status: recorded["status"].as_u64().unwrap() as u16,
        headers: recorded["headers"]
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| SIGNIFICANT.contains(&k.as_str()))
            .cloned()
            .collect(),
        body: recorded["body"].clone(),
        subject_token: None,
    }
}

#[tokio::test]
async fn every_recorded_exchange_has_the_same_shape_on_the_fake() {
    let fake = FakeKeystone::start().await.unwrap();
    let steps = steps(false);
    assert_eq!(steps.len(), 57);
    let answers = replay(fake.url(), &steps).await;
    let mut failures = Vec::new();
    for (step, answer) in steps.iter().zip(&answers) {
        let problems = differences(&recorded_answer(step.recorded.as_ref().unwrap()), answer);
        if !problems.is_empty() {
            failures.push(format!("{}:\n  {}", step.name, problems.join("\n  ")));
        }
    }
    assert!(
        failures.is_empty(),
        "differences from the real Keystone's recording:\n{}",
        failures.join("\n")
    );
}

#[derive(serde::Deserialize)]
struct Known {
    step: String,
    reason: String,
}

#[tokio::test]
async fn the_fake_answers_like_a_live_keystone() {
    let steps = steps(true);
    let fake = FakeKeystone::start().await.unwrap();
    let ours = replay(fake.url(), &steps).await;
    let Ok(real_url) = std::env::var("KEYSTONE_PARITY_REAL_URL") else {
        // Without a real Keystone: the extra steps must at least be Keystone-shaped answers.
        for (step, answer) in steps.iter().zip(&ours).skip(57) {
            assert!(answer.status < 500, "{}: {}", step.name, answer.status);
            if answer.status >= 400 && answer.body != Value::String(String::new()) {
                assert_eq!(
                    answer.body["error"]["code"], answer.status,
                    "{}: {}",
                    step.name, answer.body
                );
            }
        }
        return;
    };
    let known: Vec<Known> = yaml_serde::from_str(
        &std::fs::read_to_string(fixtures().join("parity-known-differences.yaml")).unwrap(),
    )
    .unwrap();
    let real = replay(real_url.trim_end_matches('/'), &steps).await;
    let mut table = vec![format!(
        "{:<40} {:>5} {:>5}  result",
        "step", "real", "fake"
    )];
    let mut failures = Vec::new();
    for ((step, theirs), mine) in steps.iter().zip(&real).zip(&ours) {
        let mut problems = differences(theirs, mine);
        for pointer in &step.same_values {
            let (here, there) = (theirs.body.pointer(pointer), mine.body.pointer(pointer));
            if here != there {
                problems.push(format!("{pointer}: {here:?} here, {there:?} there"));
            }
        }
        let known_reason = known
            .iter()
            .find(|k| k.step == step.name)
            .map(|k| k.reason.as_str());
        let result = match (problems.is_empty(), known_reason) {
            (true, _) => "same".to_owned(),
            (false, Some(reason)) => format!("expected, a known difference: {reason}"),
            (false, None) => {
                failures.push(format!("{}:\n  {}", step.name, problems.join("\n  ")));
                "DIFFERENT".to_owned()
            }
        };
        table.push(format!(
            "{:<40} {:>5} {:>5}  {result}",
            step.name, theirs.status, mine.status
        ));
    }
    println!("{}", table.join("\n"));
    assert!(
        failures.is_empty(),
        "the fake differs from the real Keystone (\"here\" is the real one):\n{}",
        failures.join("\n")
    );
}
