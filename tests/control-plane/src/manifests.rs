//! The manifests in `deploy/`, as the tests of each component read them:
//! rendered by `kubectl kustomize`, validated against the Kubernetes
//! schemas by `kubernetes-validate` (from PyPI; `.ci/run` installs it).
//! Both tools missing is a failure that says how to get them, never a skip.
//!
//! Test support: every function panics with the tool's own report.

#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

use std::{path::PathBuf, process::Command};

use serde::Deserialize as _;
use serde_json::Value;

/// `path` from the workspace root (`deploy/base`).
pub fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

/// Renders the kustomization at `path` (from the workspace root): its text
/// and its documents.
pub fn render(path: &str) -> (String, Vec<Value>) {
    let out = Command::new("kubectl")
        .arg("kustomize")
        .arg(repo(path))
        .output()
        .unwrap_or_else(|e| panic!("kubectl is needed to render {path}: {e}"));
    assert!(
        out.status.success(),
        "kubectl kustomize {path}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let docs = yaml_serde::Deserializer::from_str(&text)
        .map(|d| Value::deserialize(d).unwrap())
        .filter(|d| !d.is_null())
        .collect();
    (text, docs)
}

/// Validates rendered `text` strictly against Kubernetes `version`'s schemas.
pub fn validate(text: &str, version: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rendered.yaml");
    std::fs::write(&file, text).unwrap();
    let out = Command::new("kubernetes-validate")
        .args(["--strict", "--kubernetes-version", version])
        .arg(&file)
        .output()
        .unwrap_or_else(|e| {
            panic!("kubernetes-validate is needed (pip install kubernetes-validate): {e}")
        });
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && !report.contains("ERROR"),
        "schema validation against {version} failed:\n{report}"
    );
}

/// The rendered object of `kind` named `name`.
pub fn find<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("{kind} {name} is not rendered"))
}

/// The `args` of the first container of a workload's pod template (a
/// Deployment's or a DaemonSet's), as strings.
pub fn container_args(workload: &Value) -> Vec<String> {
    workload["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .unwrap_or_else(|| panic!("no container args: {workload}"))
        .iter()
        .map(|a| {
            a.as_str()
                .unwrap_or_else(|| panic!("an arg is not a string: {a}"))
                .to_owned()
        })
        .collect()
}

/// Every rendered object of `kind`.
pub fn find_all<'a>(docs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    docs.iter().filter(|d| d["kind"] == kind).collect()
}
