//! On a real kube-apiserver: what kubelet does for a CSI volume, from the
//! `CSIDriver` object's `tokenRequests` to the tokens attribute, then the
//! mount through the provider socket, the token exchanged at the emulated
//! Entra ID, which validates it through the apiserver's own discovery
//! document and JWKS.
//!
//! The control plane comes from `azure-wi-control-plane`; without one this
//! test fails, it is never skipped.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use azure_wi_control_plane::{ControlPlane, TOKEN_EXCHANGE_AUDIENCE};
use azure_wi_csi_provider::{
    CSI_DRIVER_NAME,
    keyvault::AzureKeyVault,
    metrics::Metrics,
    mount::{MountOptions, Mounter},
    proto::{CSIDriverProviderClient, MountRequest},
    server,
};
use azure_wi_emulator::{
    Config, Emulator,
    config::{DEMO_CLIENT_ID, DEMO_TENANT},
};
use k8s_openapi::api::{
    authentication::v1::TokenRequest,
    core::v1::{Namespace, Pod, ServiceAccount},
    storage::v1::CSIDriver,
};
use kube::{Api, Client, api::PostParams};
use serde_json::{Value, json};

async fn create<K>(api: &Api<K>, object: Value) -> K
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    api.create(
        &PostParams::default(),
        &serde_json::from_value(object).unwrap(),
    )
    .await
    .unwrap()
}

/// What kubelet puts in the mount's attributes for `pod`: the pod's
/// identity, and one token per `tokenRequests` entry of the CSIDriver,
/// bound to the pod, as `csi.storage.k8s.io/serviceAccount.tokens`.
async fn kubelet_attributes(client: &Client, pod: &Pod, parameters: &Value) -> String {
    let driver = Api::<CSIDriver>::all(client.clone())
        .get(CSI_DRIVER_NAME)
        .await
        .unwrap();
    let namespace = pod.metadata.namespace.clone().unwrap();
    let name = pod.metadata.name.clone().unwrap();
    let account = pod
        .spec
        .as_ref()
        .unwrap()
        .service_account_name
        .clone()
        .unwrap();
    let accounts = Api::<ServiceAccount>::namespaced(client.clone(), &namespace);
    let mut tokens = serde_json::Map::new();
    for request in driver.spec.token_requests.unwrap_or_default() {
        let token: TokenRequest = serde_json::from_value(json!({
            "spec": {
                "audiences": [request.audience],
                "expirationSeconds": request.expiration_seconds.unwrap_or(3600),
                "boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": name,
                    "uid": pod.metadata.uid},
            }
        }))
        .unwrap();
        let status = accounts
            .create_token_request(&account, &PostParams::default(), &token)
            .await
            .unwrap()
            .status
            .unwrap();
        tokens.insert(
            request.audience,
            json!({"token": status.token, "expirationTimestamp": status.expiration_timestamp}),
        );
    }
    let mut attributes = parameters.clone();
    for (key, value) in [
        ("csi.storage.k8s.io/pod.name", name.as_str()),
        ("csi.storage.k8s.io/pod.namespace", namespace.as_str()),
        (
            "csi.storage.k8s.io/pod.uid",
            pod.metadata.uid.as_deref().unwrap(),
        ),
        ("csi.storage.k8s.io/serviceAccount.name", account.as_str()),
        ("csi.storage.k8s.io/ephemeral", "false"),
    ] {
        attributes[key] = value.into();
    }
    if !tokens.is_empty() {
        attributes["csi.storage.k8s.io/serviceAccount.tokens"] =
            Value::Object(tokens).to_string().into();
    }
    attributes.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pods_token_from_the_csidriver_token_requests_mounts_through_the_real_issuer() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let plane = ControlPlane::start().await.unwrap();
    let client = plane.client().await.unwrap();

    // The identity trusts the apiserver's issuer for walkthrough 4's
    // ServiceAccount.
    let mut config = Config::demo();
    config.issuer = plane.issuer().to_owned();
    let credential = &mut config.identities[0].federated_credentials[0];
    credential.issuer = plane.issuer().to_owned();
    credential.subject =
        azure_wi_core::names::service_account_subject("robot-shop", "workload-identity-sa");
    config.trusted_issuer_ca_pems = vec![plane.ca_pem().to_owned()];
    let emulator = Emulator::start(config).await.unwrap();

    create(
        &Api::<Namespace>::all(client.clone()),
        json!({"metadata": {"name": "robot-shop"}}),
    )
    .await;
    create(
        &Api::<ServiceAccount>::namespaced(client.clone(), "robot-shop"),
        json!({"metadata": {"name": "workload-identity-sa"}}),
    )
    .await;
    let pod = create(
        &Api::<Pod>::namespaced(client.clone(), "robot-shop"),
        json!({"metadata": {"name": "app-0"}, "spec": {
            "serviceAccountName": "workload-identity-sa",
            "containers": [{"name": "app", "image": "my-app:latest",
                "volumeMounts": [{"name": "secrets-store", "mountPath": "/mnt/secrets-store", "readOnly": true}]}],
            "volumes": [{"name": "secrets-store", "csi": {"driver": CSI_DRIVER_NAME, "readOnly": true,
                "volumeAttributes": {"secretProviderClass": "azure-keyvault-provider"}}}]}}),
    )
    .await;
    // Walkthrough 4's parameters.
    let parameters = json!({
        "usePodIdentity": "false",
        "clientID": DEMO_CLIENT_ID,
        "keyvaultName": "orders-kv",
        "objects": "array:\n  - |\n    objectName: db-password\n    objectType: secret\n",
        "tenantId": DEMO_TENANT,
        "secretProviderClass": "azure-keyvault-provider",
    });

    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("azure.sock");
    let listener = server::bind(&socket).unwrap();
    let mounter = Arc::new(Mounter::new(
        AzureKeyVault::with_http_client(emulator.client().unwrap()).unwrap(),
        MountOptions::default(),
    ));
    tokio::spawn(server::serve(
        listener,
        mounter,
        Arc::new(Metrics::new()),
        std::future::pending(),
    ));
    let mut provider = CSIDriverProviderClient::new(server::connect(&socket).await.unwrap());
    let mount = |attributes: String| MountRequest {
        attributes,
        secrets: "null".into(),
        target_path: "/var/lib/kubelet/pods/x/volumes/kubernetes.io~csi/secrets-store/mount".into(),
        permission: "420".into(),
        current_object_version: vec![],
    };

    // A CSIDriver without tokenRequests: kubelet sends no token, and the
    // pod's event says which object to fix and how to look at it.
    let drivers = Api::<CSIDriver>::all(client.clone());
    create(
        &drivers,
        json!({"metadata": {"name": CSI_DRIVER_NAME}, "spec": {
            "podInfoOnMount": true, "attachRequired": false, "volumeLifecycleModes": ["Ephemeral"]}}),
    )
    .await;
    let status = provider
        .mount(mount(kubelet_attributes(&client, &pod, &parameters).await))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(
        status
            .message()
            .contains("kubectl get csidriver secrets-store.csi.k8s.io -o yaml"),
        "{}",
        status.message()
    );

    // With tokenRequests for the exchange audience (the driver's chart
    // value), the pod's own token is the client assertion.
    drivers
        .delete(CSI_DRIVER_NAME, &Default::default())
        .await
        .unwrap();
    create(
        &drivers,
        json!({"metadata": {"name": CSI_DRIVER_NAME}, "spec": {
            "podInfoOnMount": true, "attachRequired": false, "volumeLifecycleModes": ["Ephemeral"],
            "requiresRepublish": true,
            "tokenRequests": [{"audience": TOKEN_EXCHANGE_AUDIENCE}]}}),
    )
    .await;
    let response = provider
        .mount(mount(kubelet_attributes(&client, &pod, &parameters).await))
        .await
        .unwrap_or_else(|s| panic!("{}", s.message()))
        .into_inner();
    assert_eq!(response.files.len(), 1);
    assert_eq!(response.files[0].path, "db-password");
    assert_eq!(response.files[0].contents, b"s3cr3t-from-key-vault");
    assert_eq!(emulator.counters().tokens_issued(), 1);

    // A second pod of the ServiceAccount, its own token: the same exchange.
    let second = create(
        &Api::<Pod>::namespaced(client.clone(), "robot-shop"),
        json!({"metadata": {"name": "app-1"}, "spec": pod.spec}),
    )
    .await;
    provider
        .mount(mount(
            kubelet_attributes(&client, &second, &parameters).await,
        ))
        .await
        .unwrap();
    assert_eq!(emulator.counters().token_requests(), 1);
}
