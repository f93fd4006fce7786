//! The harness itself: the control plane starts, issues ServiceAccount
//! tokens for the workload identity audience, and publishes its issuer's
//! discovery documents to anonymous callers, as Entra needs.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any unexpected error"
)]

use azure_wi_control_plane::{ControlPlane, TOKEN_EXCHANGE_AUDIENCE};
use base64::Engine as _;
use k8s_openapi::api::{
    authentication::v1::TokenRequest,
    core::v1::{Namespace, ServiceAccount},
};
use kube::{Api, api::PostParams};
use serde_json::{Value, json};

fn anonymous_client(ca_pem: &str) -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let ca = reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap();
    reqwest::Client::builder()
        .tls_certs_only([ca])
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issues_workload_identity_tokens_and_publishes_its_issuer() {
    let plane = ControlPlane::start().await.unwrap();
    let client = plane.client().await.unwrap();
    let version = client.apiserver_version().await.unwrap();
    assert_eq!(version.major, "1");

    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": "team-a"}})).unwrap();
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
    let sa: ServiceAccount =
        serde_json::from_value(json!({"metadata": {"name": "app", "namespace": "team-a"}}))
            .unwrap();
    let accounts = Api::<ServiceAccount>::namespaced(client.clone(), "team-a");
    accounts.create(&PostParams::default(), &sa).await.unwrap();

    let request: TokenRequest = serde_json::from_value(json!({
        "spec": {"audiences": [TOKEN_EXCHANGE_AUDIENCE], "expirationSeconds": 3600}
    }))
    .unwrap();
    let issued = accounts
        .create_token_request("app", &PostParams::default(), &request)
        .await
        .unwrap();
    let token = issued.status.unwrap().token;
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["iss"], plane.issuer());
    assert_eq!(claims["sub"], "system:serviceaccount:team-a:app");
    assert_eq!(claims["aud"], json!([TOKEN_EXCHANGE_AUDIENCE]));

    // Anyone (Entra) can read the discovery document and the JWKS.
    let http = anonymous_client(plane.ca_pem());
    let discovery: Value = http
        .get(format!(
            "{}/.well-known/openid-configuration",
            plane.issuer()
        ))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(discovery["issuer"], plane.issuer());
    let jwks_uri = discovery["jwks_uri"].as_str().unwrap();
    let jwks: Value = http
        .get(jwks_uri)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks["keys"][0]["kty"], "RSA");
    assert_eq!(jwks["keys"][0]["alg"], "RS256");
}
