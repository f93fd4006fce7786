//! `useAzureTokenProxy: "true"` through the driver's gRPC socket, against
//! the emulator's identity-binding token proxy: a bound ServiceAccount's
//! token for `api://AKSIdentityBinding` mounts, an unbound one is refused,
//! and the Go provider's own identity-binding tests
//! (Azure/secrets-store-csi-driver-provider-azure `pkg/provider/provider_test.go`,
//! `TestGetSecretsStoreObjectContent_IdentityBinding_*` and
//! `TestGetSecretsStoreObjectContent_MutualExclusivity`) agree. The token
//! proxy's TLS name is computed from a certificate as the Go provider
//! computes it (`internal/identitybinding`).

#![allow(clippy::unwrap_used)]

mod common;

use std::{sync::Arc, time::Duration};

use azure_wi_auth::{TokenProxy, TokenProxyCa};
use azure_wi_core::names;
use azure_wi_csi_provider::{
    identity_binding,
    keyvault::AzureKeyVault,
    metrics::Metrics,
    mount::{MountOptions, Mounter},
    proto::{CSIDriverProviderClient, MountRequest},
    server::{bind, connect, serve},
};
use azure_wi_emulator::{
    Config, Emulator, TokenSpec,
    config::{DEMO_CLIENT_ID, DEMO_TENANT},
    hosts,
};
use serde_json::{Value, json};

const OBJECTS: &str = "array:\n  - |\n    objectName: db-password\n    objectType: secret\n";

/// The provider on a socket, with `proxy` as its token proxy.
async fn provider(
    emulator: &Emulator,
    proxy: Result<TokenProxy, String>,
    dir: &std::path::Path,
) -> (
    CSIDriverProviderClient<tonic::transport::Channel>,
    tokio::sync::oneshot::Sender<()>,
) {
    let path = dir.join("azure.sock");
    let vault = AzureKeyVault::with_http_client(emulator.client().unwrap())
        .unwrap()
        .with_token_proxy(proxy)
        .unwrap();
    let mounter = Arc::new(Mounter::new(vault, MountOptions::default()));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve(
        bind(&path).unwrap(),
        mounter,
        Arc::new(Metrics::new()),
        async {
            let _ = stopped.await;
        },
    ));
    (
        CSIDriverProviderClient::new(connect(&path).await.unwrap()),
        stop,
    )
}

/// A mount request of the demo vault for ServiceAccount `team-b/<sa>`,
/// with `tokens` (audience, token) and `parameters` over the usual ones.
fn request(sa: &str, tokens: &[(&str, &str)], parameters: &[(&str, Option<&str>)]) -> MountRequest {
    let mut attributes = json!({
        "keyvaultName": "orders-kv",
        "tenantID": DEMO_TENANT,
        "clientID": DEMO_CLIENT_ID,
        "objects": OBJECTS,
        "useAzureTokenProxy": "true",
        "csi.storage.k8s.io/pod.name": "reports-0",
        "csi.storage.k8s.io/pod.namespace": "team-b",
        "csi.storage.k8s.io/serviceAccount.name": sa,
    });
    for (key, value) in parameters {
        match value {
            Some(value) => attributes[*key] = (*value).into(),
            None => {
                attributes.as_object_mut().unwrap().remove(*key);
            }
        }
    }
    if !tokens.is_empty() {
        let map: serde_json::Map<String, Value> = tokens
            .iter()
            .map(|(audience, token)| {
                (
                    (*audience).to_owned(),
                    json!({"token": token, "expirationTimestamp": "2099-01-01T00:00:00Z"}),
                )
            })
            .collect();
        attributes["csi.storage.k8s.io/serviceAccount.tokens"] =
            Value::Object(map).to_string().into();
    }
    MountRequest {
        attributes: attributes.to_string(),
        secrets: "null".into(),
        target_path: "/var/lib/kubelet/pods/x/volumes/kubernetes.io~csi/secrets-store/mount".into(),
        permission: "420".into(),
        current_object_version: vec![],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mounts_through_the_token_proxy_as_the_go_provider_does() {
    let mut config = Config::demo();
    config.bind(DEMO_CLIENT_ID, "team-b", "reports");
    let emulator = Emulator::start(config).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let proxy = TokenProxy::new(&emulator.identity_binding_url())
        .unwrap()
        .with_sni(hosts::identity_binding())
        .with_ca(TokenProxyCa::Data(emulator.ca_pem().to_owned()));
    let (mut client, _stop) = provider(&emulator, Ok(proxy), dir.path()).await;
    let binding_token = |sa: &str| {
        emulator
            .mint(&TokenSpec::new("team-b", sa).audience(names::IDENTITY_BINDING_AUDIENCE))
            .unwrap()
    };
    let entra_token = emulator.mint(&TokenSpec::new("team-b", "reports")).unwrap();

    // A bound ServiceAccount: the binding's token is used, not Entra's
    // (which no federated credential trusts).
    let tokens = [
        (names::IDENTITY_BINDING_AUDIENCE, binding_token("reports")),
        (names::DEFAULT_AUDIENCE, entra_token.clone()),
    ];
    let tokens: Vec<(&str, &str)> = tokens.iter().map(|(a, t)| (*a, t.as_str())).collect();
    let response = client
        .mount(request("reports", &tokens, &[]))
        .await
        .unwrap()
        .into_inner();
    let files = common::files(&response);
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(files[0].0, "db-password");
    assert_eq!(files[0].2, "s3cr3t-from-key-vault");

    // Without the switch the same request is workload identity, which
    // Entra refuses for this ServiceAccount.
    let status = client
        .mount(request("reports", &tokens, &[("useAzureTokenProxy", None)]))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::PermissionDenied, "{status:?}");

    // An unbound ServiceAccount is refused by the proxy, which names why.
    let unbound = binding_token("other");
    let status = client
        .mount(request(
            "other",
            &[(names::IDENTITY_BINDING_AUDIENCE, &unbound)],
            &[],
        ))
        .await
        .unwrap_err();
    assert!(
        status
            .message()
            .contains("ServiceAccount team-b/other may not use managed identity"),
        "{status:?}"
    );

    // The Go provider's identity-binding tests.
    let only_entra = [(names::DEFAULT_AUDIENCE, entra_token.as_str())];
    for (name, request, expected) in [
        (
            "IdentityBinding_MissingClientID",
            request("reports", &tokens, &[("clientID", None)]),
            "clientID is required",
        ),
        (
            "IdentityBinding_InvalidParameter",
            request(
                "reports",
                &tokens,
                &[("useAzureTokenProxy", Some("invalid-value"))],
            ),
            "failed to parse useAzureTokenProxy",
        ),
        (
            "IdentityBinding_MissingServiceAccountToken",
            request("reports", &[], &[]),
            "service account tokens are required for identity binding",
        ),
        (
            "MutualExclusivity",
            request("reports", &tokens, &[("usePodIdentity", Some("true"))]),
            "only one identity mode",
        ),
        (
            "a token for the binding's audience is needed",
            request("reports", &only_entra, &[]),
            "no token for audience api://AKSIdentityBinding",
        ),
    ] {
        let status = client.mount(request).await.unwrap_err();
        assert_eq!(
            status.code(),
            tonic::Code::InvalidArgument,
            "{name}: {status:?}"
        );
        assert!(status.message().contains(expected), "{name}: {status:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_proxy_that_could_not_be_set_up_fails_only_its_mounts() {
    let emulator = Emulator::start(Config::demo()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (mut client, _stop) = provider(
        &emulator,
        Err("compute SNI name: cluster ID SAN not found".to_owned()),
        dir.path(),
    )
    .await;
    let token = emulator
        .mint(&TokenSpec::new("team-b", "reports").audience(names::IDENTITY_BINDING_AUDIENCE))
        .unwrap();
    let status = client
        .mount(request(
            "reports",
            &[(names::IDENTITY_BINDING_AUDIENCE, &token)],
            &[],
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    assert!(
        status
            .message()
            .contains("proxy transport not available: compute SNI name: cluster ID SAN not found"),
        "{status:?}"
    );
    // Workload identity mounts are served as ever.
    let entra = emulator
        .mint(&TokenSpec::new("team-a", "orders-api"))
        .unwrap();
    let mut ok = request(
        "orders-api",
        &[(names::DEFAULT_AUDIENCE, &entra)],
        &[("useAzureTokenProxy", None)],
    );
    let mut attributes: Value = serde_json::from_str(&ok.attributes).unwrap();
    attributes["csi.storage.k8s.io/pod.namespace"] = "team-a".into();
    ok.attributes = attributes.to_string();
    let response = client.mount(ok).await.unwrap().into_inner();
    assert_eq!(common::files(&response)[0].2, "s3cr3t-from-key-vault");
}

/// The TLS name is computed from the cluster id the API server's
/// certificate carries, trusting the ServiceAccount CA.
#[tokio::test]
async fn the_tls_name_comes_from_the_api_servers_certificate() {
    let ca = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec![
        "localhost".to_owned(),
        "hcp-kubernetes.abc123def456.svc.cluster.local".to_owned(),
    ])
    .unwrap()
    .signed_by(&key, &rcgen::Issuer::new(ca_params, ca))
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.crt");
    std::fs::write(&ca_file, ca_cert.pem()).unwrap();

    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![leaf.der().clone()],
        rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).unwrap(),
    )
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            if let Ok(mut tls) = acceptor.accept(tcp).await {
                tokio::time::sleep(Duration::from_millis(100)).await;
                let _ = tokio::io::AsyncWriteExt::shutdown(&mut tls).await;
            }
        }
    });

    let proxy =
        identity_binding::token_proxy("https://10.0.0.1", "", &ca_file, ("localhost", port))
            .await
            .unwrap();
    // Computed apart, with Python's hashlib and base64.b32hexencode.
    assert_eq!(
        proxy.sni(),
        Some("avimke6u6l2eeq8qc1cneuaq4sl2e1av9t4clqgun97le32hub670.ests.aks")
    );
    assert_eq!(proxy.ca(), &TokenProxyCa::File(ca_file.clone()));

    // An explicit name is used as given; a missing CA makes detection fail
    // with the Go provider's hint.
    let named = identity_binding::token_proxy(
        "https://10.0.0.1",
        "ib.example",
        &ca_file,
        ("localhost", port),
    )
    .await
    .unwrap();
    assert_eq!(named.sni(), Some("ib.example"));
    let error = identity_binding::token_proxy(
        "https://10.0.0.1",
        "",
        &dir.path().join("missing.crt"),
        ("localhost", port),
    )
    .await
    .unwrap_err();
    assert!(error.contains("use --sni-name flag"), "{error}");
}
