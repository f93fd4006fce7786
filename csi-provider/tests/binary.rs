//! The `azure-wi-csi-provider` process as a DaemonSet runs it: its socket,
//! `/healthz`, `/metrics` and SIGTERM, reaching the emulated Entra ID and
//! Key Vault only through `HTTPS_PROXY` and `AZURE_WI_EXTRA_CA_FILE`, and
//! mounting walkthrough 4's `SecretProviderClass` unchanged.
#![allow(clippy::unwrap_used)]

mod common;

use common::process::{http_get, start};

use std::{
    process::Command,
    time::{Duration, Instant},
};

use azure_wi_core::names;
use azure_wi_csi_provider::{
    proto::{CSIDriverProviderClient, MountRequest},
    server,
};
use azure_wi_emulator::{
    Config, Emulator, TokenSpec,
    config::{DEMO_CLIENT_ID, DEMO_ISSUER, DEMO_TENANT, FederatedCredential},
};

/// Walkthrough 4's `SecretProviderClass`: the class a public AKS tutorial
/// for the Secrets Store CSI Driver has its readers apply, in the shape the
/// Azure provider documents for workload identity
/// (<https://azure.github.io/secrets-store-csi-driver-provider-azure/docs/configurations/identity-access-modes/workload-identity-mode/>),
/// as published, its placeholders filled in: the older `tenantId`
/// spelling and `usePodIdentity: "false"` included.
fn walkthrough_4_parameters() -> serde_json::Map<String, serde_json::Value> {
    let manifest = format!(
        r#"apiVersion: secrets-store.csi.x-k8s.io/v1
kind: SecretProviderClass
metadata:
  name: azure-keyvault-provider
  namespace: robot-shop
spec:
  provider: azure
  parameters:
    usePodIdentity: "false"
    clientID: "{DEMO_CLIENT_ID}"
    keyvaultName: "orders-kv"
    objects: |
      array:
        - |
          objectName: db-password
          objectType: secret
    tenantId: "{DEMO_TENANT}"          # the older spelling of tenantID
"#
    );
    let spc: serde_json::Value = yaml_serde::from_str(&manifest).unwrap();
    spc["spec"]["parameters"].as_object().unwrap().clone()
}

/// What the driver sends for a pod of `robot-shop/workload-identity-sa`
/// mounting that class: its parameters plus the pod's attributes and the
/// token kubelet requested for the CSIDriver's `tokenRequests`.
fn walkthrough_4_request(token: &str) -> MountRequest {
    let mut attributes = walkthrough_4_parameters();
    for (key, value) in [
        ("secretProviderClass", "azure-keyvault-provider"),
        ("csi.storage.k8s.io/pod.name", "app-0"),
        ("csi.storage.k8s.io/pod.namespace", "robot-shop"),
        (
            "csi.storage.k8s.io/pod.uid",
            "0b5cf4a2-0000-4000-8000-000000000004",
        ),
        (
            "csi.storage.k8s.io/serviceAccount.name",
            "workload-identity-sa",
        ),
        ("csi.storage.k8s.io/ephemeral", "false"),
    ] {
        attributes.insert(key.into(), value.into());
    }
    let tokens = serde_json::json!({
        names::DEFAULT_AUDIENCE: {"token": token, "expirationTimestamp": "2026-12-01T12:00:00Z"},
    });
    attributes.insert(
        "csi.storage.k8s.io/serviceAccount.tokens".into(),
        tokens.to_string().into(),
    );
    MountRequest {
        attributes: serde_json::Value::Object(attributes).to_string(),
        secrets: "null".into(),
        target_path: "/var/lib/kubelet/pods/0b5cf4a2-0000-4000-8000-000000000004/volumes/kubernetes.io~csi/secrets-store/mount".into(),
        permission: "420".into(),
        current_object_version: vec![],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_provider_process_mounts_walkthrough_4_and_stops_on_sigterm() {
    let mut config = Config::demo();
    config.identities[0]
        .federated_credentials
        .push(FederatedCredential {
            name: "robot-shop".into(),
            issuer: DEMO_ISSUER.into(),
            subject: azure_wi_core::names::service_account_subject(
                "robot-shop",
                "workload-identity-sa",
            ),
            audiences: vec![names::DEFAULT_AUDIENCE.into()],
        });
    let emulator = Emulator::start(config).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut provider = start(&emulator, dir.path());
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&provider.socket).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o600, "the socket is the owner's only");

    let token = emulator
        .mint(&TokenSpec::new("robot-shop", "workload-identity-sa"))
        .unwrap();
    let channel = server::connect(&provider.socket).await.unwrap();
    let mut client = CSIDriverProviderClient::new(channel);
    let response = client
        .mount(walkthrough_4_request(&token))
        .await
        .unwrap_or_else(|s| panic!("{}\n{}", s.message(), provider.log()))
        .into_inner();
    assert_eq!(response.files.len(), 1);
    assert_eq!(response.files[0].path, "db-password");
    assert_eq!(response.files[0].mode, 0o644);
    assert_eq!(response.files[0].contents, b"s3cr3t-from-key-vault");
    assert_eq!(response.object_version[0].id, "secret/db-password");

    // A pod whose ServiceAccount has no federated credential: the message
    // names the subject it presented.
    let stranger = emulator
        .mint(&TokenSpec::new("robot-shop", "default"))
        .unwrap();
    let status = client
        .mount(walkthrough_4_request(&stranger))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::PermissionDenied);
    assert!(
        status
            .message()
            .contains("system:serviceaccount:robot-shop:default"),
        "{}",
        status.message()
    );

    let (code, body) = http_get(provider.healthz, "/healthz");
    assert_eq!((code, body.as_str()), (200, "ok\n"));
    let (code, metrics) = http_get(provider.metrics, "/metrics");
    assert_eq!(code, 200);
    assert!(
        metrics.contains("azure_wi_csi_mounts_total{outcome=\"ok\"} 1\n"),
        "{metrics}"
    );
    assert!(
        metrics
            .contains("azure_wi_csi_mounts_total{outcome=\"federated_credential_mismatch\"} 1\n"),
        "{metrics}"
    );
    assert_eq!(emulator.counters().tokens_issued(), 1);

    let killed = Command::new("kill")
        .args(["-TERM", &provider.child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = provider.child.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "still running");
        std::thread::sleep(Duration::from_millis(20));
    };
    let log = provider.log();
    assert!(status.success(), "{status}: {log}");
    assert!(!provider.socket.exists(), "the socket is removed on exit");
    assert!(log.contains("SIGTERM received"), "{log}");
    // Neither pod's token reached the log.
    for secret in [&token, &stranger] {
        let signature = secret.rsplit('.').next().unwrap();
        assert!(!log.contains(signature), "a token is in the log");
    }
    assert!(!log.contains("s3cr3t-from-key-vault"));
}

#[test]
fn unusable_flags_are_refused_with_the_reason() {
    for (flags, expected) in [
        (
            vec!["--endpoint", "tcp://0.0.0.0:80"],
            "unix:///provider/azure.sock",
        ),
        (vec!["--construct-pem-chain=false"], "only true is valid"),
        (
            vec!["--write-cert-and-key-in-separate-files=true"],
            "only false is valid",
        ),
        (vec!["--metrics-backend", "OpenCensus"], "Prometheus"),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_azure-wi-csi-provider"))
            .args(&flags)
            .args(["--healthz-port", "0", "--prometheus-port", "0"])
            .args(["--http-address", "127.0.0.1"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{flags:?}: {stderr}");
        assert!(stderr.contains(expected), "{flags:?}: {stderr}");
    }
}
