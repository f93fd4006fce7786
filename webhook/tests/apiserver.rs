//! The webhook against a real kube-apiserver (and etcd) on loopback: the API
//! server decides which pods reach the webhook, sends the AdmissionReview,
//! applies the patch and shows warnings and denials to its client.
//!
//! The control plane comes from `azure-wi-control-plane` (see
//! `tests/control-plane/install.sh`); without one these tests fail, they
//! are never skipped.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any unexpected error"
)]

mod support;

use azure_wi_control_plane::ControlPlane;
use k8s_openapi::api::{
    admissionregistration::v1::MutatingWebhookConfiguration,
    core::v1::{Namespace, Pod, ServiceAccount},
};
use kube::{Api, api::PostParams};
use serde_json::{Value, json};
use support::{CLIENT_ID, TENANT, Webhook, generate_certs};

const LABEL: &str = "azure.workload.identity/use";

async fn create<K>(api: &Api<K>, value: Value) -> K
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    let object: K = serde_json::from_value(value).unwrap();
    api.create(&PostParams::default(), &object).await.unwrap()
}

async fn namespace(client: &kube::Client, name: &str) {
    create(
        &Api::<Namespace>::all(client.clone()),
        json!({"metadata": {"name": name}}),
    )
    .await;
}

async fn service_account(client: &kube::Client, ns: &str, name: &str, annotations: Value) {
    create(
        &Api::<ServiceAccount>::namespaced(client.clone(), ns),
        json!({"metadata": {"name": name, "namespace": ns, "annotations": annotations}}),
    )
    .await;
}

fn pod(name: &str, service_account: &str, labelled: bool, annotations: &Value) -> Value {
    let labels = if labelled {
        json!({ LABEL: "true" })
    } else {
        json!({})
    };
    json!({
        "metadata": {"name": name, "labels": labels, "annotations": annotations},
        "spec": {
            "serviceAccountName": service_account,
            "containers": [{"name": "app", "image": "registry.example.com/app:1"}]
        }
    })
}

/// Registers the webhook at `url` the way deploy/ does, but with a URL
/// client config on loopback.
async fn register(client: &kube::Client, name: &str, url: &str, ca_bundle: &str) {
    create(
        &Api::<MutatingWebhookConfiguration>::all(client.clone()),
        json!({
            "metadata": {"name": name},
            "webhooks": [{
                "name": "mutation.azure-workload-identity.io",
                "admissionReviewVersions": ["v1", "v1beta1"],
                "clientConfig": {"url": url, "caBundle": ca_bundle},
                "failurePolicy": "Fail",
                "matchPolicy": "Equivalent",
                "objectSelector": {"matchLabels": { LABEL: "true" }},
                "reinvocationPolicy": "IfNeeded",
                "rules": [{
                    "apiGroups": [""], "apiVersions": ["v1"],
                    "operations": ["CREATE"], "resources": ["pods"]
                }],
                "sideEffects": "None",
                "timeoutSeconds": 10
            }]
        }),
    )
    .await;
}

fn env_of(pod: &Pod, container: usize) -> Vec<(String, String)> {
    pod.spec.as_ref().unwrap().containers[container]
        .env
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|e| (e.name, e.value.unwrap_or_default()))
        .collect()
}

fn has_token_volume(pod: &Pod) -> bool {
    pod.spec
        .as_ref()
        .unwrap()
        .volumes
        .iter()
        .flatten()
        .any(|v| v.name == "azure-identity-token")
}

/// Creates a pod with a raw request so the response's `Warning` headers can
/// be read; returns the status, the body and the warnings.
async fn create_pod_raw(client: &kube::Client, ns: &str, pod: &Value) -> (u16, Value, Vec<String>) {
    let request = axum::http::Request::post(format!("/api/v1/namespaces/{ns}/pods"))
        .header("content-type", "application/json")
        .body(kube::client::Body::from(serde_json::to_vec(pod).unwrap()))
        .unwrap();
    let response = client.send(request).await.unwrap();
    let status = response.status().as_u16();
    let warnings = response
        .headers()
        .get_all("warning")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    (status, serde_json::from_slice(&body).unwrap(), warnings)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_stored_by_the_apiserver_carry_the_injection() {
    let plane = ControlPlane::start().await.unwrap();
    let client = plane.client().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca = generate_certs(dir.path());
    let webhook =
        Webhook::start_in_cluster(dir.path(), plane.kubeconfig(), &["--disable-cert-rotation"]);
    webhook.wait_ready().await;
    register(
        &client,
        "azure-wi-webhook",
        &webhook.url(),
        &certs::ca_bundle_base64(&ca),
    )
    .await;

    let ns = "team-a";
    namespace(&client, ns).await;
    service_account(
        &client,
        ns,
        "app",
        json!({ "azure.workload.identity/client-id": CLIENT_ID }),
    )
    .await;
    let pods = Api::<Pod>::namespaced(client.clone(), ns);

    // A labelled pod is stored with env, volume and mount.
    let stored = create(&pods, pod("labelled", "app", true, &json!({}))).await;
    let env = env_of(&stored, 0);
    assert_eq!(
        env.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        [
            "AZURE_CLIENT_ID",
            "AZURE_TENANT_ID",
            "AZURE_FEDERATED_TOKEN_FILE",
            "AZURE_AUTHORITY_HOST"
        ]
    );
    assert_eq!(env[0].1, CLIENT_ID);
    assert_eq!(env[1].1, TENANT);
    assert!(has_token_volume(&stored));
    let mounts = stored.spec.as_ref().unwrap().containers[0]
        .volume_mounts
        .clone()
        .unwrap_or_default();
    assert!(
        mounts.iter().any(|m| m.name == "azure-identity-token"
            && m.mount_path == "/var/run/secrets/azure/tokens"
            && m.read_only == Some(true)),
        "{mounts:?}"
    );

    // An unlabelled pod never reaches the webhook.
    let plain = create(&pods, pod("unlabelled", "app", false, &json!({}))).await;
    assert!(env_of(&plain, 0).is_empty());
    assert!(!has_token_volume(&plain));

    // A ServiceAccount created a moment before its pod: the watch may not
    // have delivered it yet, and the direct GET on a miss finds it.
    service_account(
        &client,
        ns,
        "fresh",
        json!({ "azure.workload.identity/client-id": CLIENT_ID }),
    )
    .await;
    let fresh = create(&pods, pod("fresh", "fresh", true, &json!({}))).await;
    assert_eq!(env_of(&fresh, 0)[0].1, CLIENT_ID);

    // A bad expiration annotation is refused with the message kubectl shows.
    let (status, body, _) = create_pod_raw(
        &client,
        ns,
        &pod(
            "bad-expiration",
            "app",
            true,
            &json!({"azure.workload.identity/service-account-token-expiration": "3600s"}),
        ),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("admission webhook \"mutation.azure-workload-identity.io\" denied the request: strconv.ParseInt: parsing \"3600s\": invalid syntax"),
        "{message}"
    );

    // Warnings reach the client: this ServiceAccount has no client id.
    service_account(&client, ns, "no-client-id", json!({})).await;
    let (status, body, warnings) = create_pod_raw(
        &client,
        ns,
        &pod("warned", "no-client-id", true, &json!({})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert!(
        warnings.iter().any(|w| w.contains(
            "ServiceAccount team-a/no-client-id has no azure.workload.identity/client-id annotation"
        )),
        "{warnings:?}"
    );
}
