//! ESO's template engine v2 tests, through the engine as secret-sync runs
//! it (`missingkey=error`, the data a `map[string]string`, each key's
//! template parsed under the key's name): every case of `TestExecute`
//! (external-secrets/external-secrets `runtime/template/v2/template_test.go`)
//! with its inputs and expected outputs, byte for byte.
//!
//! The cases are data, `tests/data/eso/execute_cases.json`, which
//! secret-sync's `tests/template_cases.rs` runs through the controller
//! too. Where a case goes to labels, annotations or `stringData` the
//! rendering is the same; where the value lands is secret-sync's `render`
//! module's (tested there). ESO's wrapping of errors (`unable to execute
//! template at key ...`) is secret-sync's too; here the Go error it wraps
//! is checked, and whether it came from parsing or executing.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use azure_wi_template::{Delims, Env, Limits, Template, Value, functions};
use base64::Engine as _;
use serde::Deserialize;

/// `execute_cases.json`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    /// Where the cases come from.
    #[serde(rename = "source")]
    _source: String,
    /// How a case is written.
    #[serde(rename = "format")]
    _format: String,
    cases: Vec<Case>,
}

/// One case of ESO's table.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    /// ESO's name.
    name: String,
    /// The templates' `.`.
    data: BTreeMap<String, Bytes>,
    /// ESO's `leftDelimiter` and `rightDelimiter`, when not the defaults.
    #[serde(default)]
    delimiters: Option<Delimiters>,
    templates: Vec<KeyTemplate>,
    /// What ESO's table does not say.
    #[serde(default, rename = "note")]
    _note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Delimiters {
    left: String,
    right: String,
}

/// A value: text, or bytes from the data directory, or base64.
#[derive(Deserialize)]
#[serde(untagged)]
enum Bytes {
    Text(String),
    From(From),
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum From {
    /// A file of `tests/data/eso/`.
    File(String),
    /// Files of `tests/data/eso/`, one after the other.
    Files(Vec<String>),
    /// Bytes, base64 (standard, padded).
    Base64(String),
}

/// One key's template and what it makes.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyTemplate {
    key: String,
    /// Where ESO puts the value (`labels`, `annotations`, `stringData`;
    /// `data` when absent): the engine renders it the same anywhere.
    #[serde(default, rename = "target")]
    _target: Option<String>,
    template: String,
    expect: Expect,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum Expect {
    /// These bytes, as text.
    Text(String),
    /// The bytes of a file of `tests/data/eso/`.
    File(String),
    /// A failure.
    Error(ExpectedError),
}

#[derive(Deserialize)]
struct ExpectedError {
    /// `parse` or `execute`.
    stage: String,
    /// Go's error text.
    #[serde(flatten)]
    go: GoText,
    /// What ESO's table expects its (wrapped) error to contain: the
    /// controller's to check.
    #[serde(rename = "eso")]
    _eso: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum GoText {
    Equals(String),
    StartsWith(String),
    Contains(String),
}

fn data_file(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/data/eso/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn bytes_of(value: &Bytes) -> Vec<u8> {
    match value {
        Bytes::Text(text) => text.as_bytes().to_vec(),
        Bytes::From(From::File(name)) => data_file(name),
        Bytes::From(From::Files(names)) => names.iter().flat_map(|n| data_file(n)).collect(),
        Bytes::From(From::Base64(b64)) => base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap(),
    }
}

fn table() -> Table {
    serde_json::from_slice(&data_file("execute_cases.json")).unwrap()
}

/// Renders `template` under the name `key` over `data`, as ESO's
/// `execute` does; the default delimiters unless given. An error is
/// `parse: ` or `execute: ` and Go's text.
fn render(
    key: &str,
    template: &str,
    data: &BTreeMap<String, Vec<u8>>,
    delims: Option<&Delimiters>,
) -> Result<Vec<u8>, String> {
    let funcs = functions();
    let delims = delims.map_or_else(Delims::default, |d| Delims {
        left: d.left.clone(),
        right: d.right.clone(),
    });
    let data = Value::map(
        data.iter()
            .map(|(k, v)| (k.clone(), Value::str(v.as_slice())))
            .collect::<BTreeMap<_, _>>(),
    );
    let mut seed = 0u8;
    let mut random = |b: &mut [u8]| {
        for x in b {
            seed = seed.wrapping_add(1);
            *x = seed;
        }
    };
    let mut env = Env {
        now: time::OffsetDateTime::UNIX_EPOCH,
        random: &mut random,
    };
    let t = Template::parse(key, template, &delims, &funcs).map_err(|e| format!("parse: {e}"))?;
    t.execute(&data, &funcs, &mut env, &Limits::default())
        .map_err(|e| format!("execute: {e}"))
}

/// Why `got` is not what `expect` says, if it is not.
fn mismatch(got: &Result<Vec<u8>, String>, expect: &Expect) -> Option<String> {
    let want = match expect {
        Expect::Text(text) => text.as_bytes().to_vec(),
        Expect::File(name) => data_file(name),
        Expect::Error(error) => {
            let Err(message) = got else {
                return Some(format!(
                    "rendered {:?}, expected a {} error",
                    String::from_utf8_lossy(got.as_ref().unwrap()),
                    error.stage
                ));
            };
            let Some(go) = message.strip_prefix(&format!("{}: ", error.stage)) else {
                return Some(format!("{message:?}: expected a {} error", error.stage));
            };
            let matches = match &error.go {
                GoText::Equals(want) => go == want,
                GoText::StartsWith(want) => go.starts_with(want.as_str()),
                GoText::Contains(want) => go.contains(want.as_str()),
            };
            return (!matches).then(|| format!("error {go:?}, expected {:?}", error.go_text()));
        }
    };
    match got {
        Ok(got) if *got == want => None,
        Ok(got) => Some(format!(
            "rendered {:?}, expected {:?}",
            String::from_utf8_lossy(got),
            String::from_utf8_lossy(&want)
        )),
        Err(e) => Some(format!(
            "{e}, expected {:?}",
            String::from_utf8_lossy(&want)
        )),
    }
}

impl ExpectedError {
    fn go_text(&self) -> String {
        match &self.go {
            GoText::Equals(t) => t.clone(),
            GoText::StartsWith(t) => format!("{t}..."),
            GoText::Contains(t) => format!("...{t}..."),
        }
    }
}

#[test]
fn every_case_of_esos_test_execute() {
    let table = table();
    // ESO's TestExecute has 38 cases, 41 templates in all (the "labels"
    // and "annotations" cases have two each, the PKCS#12 extractions
    // two each, "test empty" none).
    assert_eq!(table.cases.len(), 38, "cases in execute_cases.json");
    assert_eq!(
        table.cases.iter().map(|c| c.templates.len()).sum::<usize>(),
        41,
        "templates in execute_cases.json"
    );
    let mut failures = Vec::new();
    for case in &table.cases {
        let data: BTreeMap<String, Vec<u8>> = case
            .data
            .iter()
            .map(|(k, v)| (k.clone(), bytes_of(v)))
            .collect();
        for t in &case.templates {
            let got = render(&t.key, &t.template, &data, case.delimiters.as_ref());
            if let Some(why) = mismatch(&got, &t.expect) {
                failures.push(format!("{} (key {}): {why}", case.name, t.key));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of ESO's TestExecute templates differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
