//! The in-memory Key Vault for tests, and driver-shaped requests.
#![allow(
    dead_code,
    unused_imports,
    unreachable_pub,
    missing_docs,
    clippy::unwrap_used
)]

pub mod process;

use azure_wi_core::names::{DEFAULT_AUDIENCE, IDENTITY_BINDING_AUDIENCE};
use azure_wi_csi_provider::proto::{MountRequest, MountResponse};
use base64::Engine;

/// The in-memory vault the mount flow is tested with: `azure-wi-auth`'s,
/// whose failures are classified as the real vault's are.
pub use azure_wi_auth::delivery::memory::{Fault, MemoryVault, Payload};

pub const TENANT: &str = "72f988bf-0000-4000-8000-000000000001";
pub const CLIENT: &str = "11111111-2222-3333-4444-555555555555";
pub const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/pkcs12/");

pub fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{DATA}{name}")).expect("fixture exists")
}

/// An unsigned JWT shaped like kubelet's.
pub fn service_account_jwt(namespace: &str, name: &str) -> String {
    let b64 = |s: String| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    format!(
        "{}.{}.c2lnbmF0dXJl",
        b64(r#"{"alg":"RS256","kid":"k"}"#.to_owned()),
        b64(format!(
            r#"{{"iss":"https://oidc.example.test/","sub":"system:serviceaccount:{namespace}:{name}","aud":["{DEFAULT_AUDIENCE}"]}}"#
        ))
    )
}

/// `objects` YAML from entries whose fields are separated by `;`.
pub fn objects(entries: &[&str]) -> String {
    let mut text = "array:\n".to_owned();
    for entry in entries {
        text.push_str("  - |\n");
        for line in entry.split(';') {
            text.push_str(&format!("    {}\n", line.trim()));
        }
    }
    text
}

/// A MountRequest as the driver builds it: SPC parameters, pod-info keys,
/// the double-encoded tokens attribute, permission "420".
pub fn driver_request(parameters: &[(&str, &str)], token: Option<&str>) -> MountRequest {
    let mut attributes = serde_json::json!({
        "keyvaultName": "kv1",
        "tenantID": TENANT,
        "clientID": CLIENT,
        "secretProviderClass": "azure-kv",
        "csi.storage.k8s.io/pod.name": "web-0",
        "csi.storage.k8s.io/pod.namespace": "shop",
        "csi.storage.k8s.io/pod.uid": "6f1c2a4e-0000-4000-8000-000000000001",
        "csi.storage.k8s.io/serviceAccount.name": "web",
        "csi.storage.k8s.io/ephemeral": "true",
    });
    for (k, v) in parameters {
        attributes[*k] = serde_json::Value::String((*v).to_owned());
    }
    if let Some(token) = token {
        let tokens = serde_json::json!({
            DEFAULT_AUDIENCE: {"token": token, "expirationTimestamp": "2026-07-01T12:00:00Z"},
            IDENTITY_BINDING_AUDIENCE: {"token": "other-audience-token", "expirationTimestamp": "2026-07-01T12:00:00Z"},
        });
        attributes["csi.storage.k8s.io/serviceAccount.tokens"] =
            serde_json::Value::String(tokens.to_string());
    }
    MountRequest {
        attributes: attributes.to_string(),
        secrets: "null".into(),
        target_path: "/var/lib/kubelet/pods/6f1c2a4e-0000-4000-8000-000000000001/volumes/kubernetes.io~csi/secrets-store/mount".into(),
        permission: "420".into(),
        current_object_version: vec![],
    }
}

/// `(path, mode, contents)` of each file of a response.
pub fn files(response: &MountResponse) -> Vec<(&str, i32, String)> {
    response
        .files
        .iter()
        .map(|f| {
            (
                f.path.as_str(),
                f.mode,
                String::from_utf8_lossy(&f.contents).into_owned(),
            )
        })
        .collect()
}

/// `(id, version)` of each object version of a response.
pub fn versions(response: &MountResponse) -> Vec<(&str, &str)> {
    response
        .object_version
        .iter()
        .map(|v| (v.id.as_str(), v.version.as_str()))
        .collect()
}
