//! `azwi jwks` against the JWKS a real kube-apiserver publishes for the same
//! signing key: the entry must be identical, field for field, or Entra would
//! not find the key for the cluster's tokens.
//!
//! The control plane comes from `azure-wi-control-plane` (see
//! `tests/control-plane/install.sh`); without one this test fails, it is
//! never skipped.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any unexpected error"
)]

use std::process::Command;

use azure_wi_control_plane::ControlPlane;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwks_matches_the_apiservers_own() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let plane = ControlPlane::start().await.unwrap();
    let client = plane.client().await.unwrap();
    let request = http::Request::get("/openid/v1/jwks")
        .body(Vec::new())
        .unwrap();
    let served: Value = serde_json::from_str(&client.request_text(request).await.unwrap()).unwrap();

    let output = Command::new(env!("CARGO_BIN_EXE_azwi"))
        .arg("jwks")
        .arg("--public-keys")
        .arg(plane.service_account_key_file())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let ours: Value = serde_json::from_slice(&output.stdout).unwrap();

    assert_eq!(served["keys"].as_array().unwrap().len(), 1, "{served}");
    assert_eq!(ours, served, "azwi's JWKS differs from the apiserver's");

    // And it is the kid on the tokens the apiserver signs.
    let post = |path: &str, body: Value| {
        http::Request::post(path.to_owned())
            .header("content-type", "application/json")
            .body(serde_json::to_vec(&body).unwrap())
            .unwrap()
    };
    client
        .request_text(post(
            "/api/v1/namespaces/default/serviceaccounts",
            serde_json::json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "azwi"}}),
        ))
        .await
        .unwrap();
    let issued: Value = serde_json::from_str(
        &client
            .request_text(post(
                "/api/v1/namespaces/default/serviceaccounts/azwi/token",
                serde_json::json!({
                    "apiVersion": "authentication.k8s.io/v1",
                    "kind": "TokenRequest",
                    "spec": {"audiences": [azure_wi_control_plane::TOKEN_EXCHANGE_AUDIENCE]}
                }),
            ))
            .await
            .unwrap(),
    )
    .unwrap();
    let token = issued["status"]["token"].as_str().unwrap();
    let header = token.split('.').next().unwrap();
    let header: Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header).unwrap(),
    )
    .unwrap();
    assert_eq!(header["kid"], ours["keys"][0]["kid"]);
    assert_eq!(header["alg"], "RS256");
}
