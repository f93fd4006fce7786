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
use azure_wi_core::{TokenLayout, names};
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
/// client config on loopback. Without a `ca_bundle` the webhook is expected
/// to fill it (self-managed certificates).
async fn register(client: &kube::Client, name: &str, url: &str, ca_bundle: Option<&str>) {
    let mut client_config = json!({ "url": url });
    if let Some(bundle) = ca_bundle {
        client_config["caBundle"] = bundle.into();
    }
    create(
        &Api::<MutatingWebhookConfiguration>::all(client.clone()),
        json!({
            "metadata": {"name": name},
            "webhooks": [{
                "name": "mutation.azure-workload-identity.io",
                "admissionReviewVersions": ["v1", "v1beta1"],
                "clientConfig": client_config,
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

/// A control plane and the webhook watching it with certificates it was
/// given (no rotation), ready: what most tests here start from.
struct Started {
    plane: ControlPlane,
    client: kube::Client,
    dir: tempfile::TempDir,
    ca: String,
    webhook: Webhook,
}

async fn start_with_webhook() -> Started {
    start_with_webhook_configured(&[], &[]).await
}

/// [`start_with_webhook`] with more flags and variables for the webhook.
async fn start_with_webhook_configured(flags: &[&str], env: &[(&str, &str)]) -> Started {
    let plane = ControlPlane::start().await.unwrap();
    let client = plane.client().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca = generate_certs(dir.path());
    let mut args = vec!["--disable-cert-rotation"];
    args.extend_from_slice(flags);
    let webhook = Webhook::start_in_cluster_with_env(dir.path(), plane.kubeconfig(), &args, env);
    webhook.wait_ready().await;
    Started {
        plane,
        client,
        dir,
        ca,
        webhook,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_stored_by_the_apiserver_carry_the_injection() {
    let Started {
        plane: _plane,
        client,
        dir: _dir,
        ca,
        webhook,
    } = start_with_webhook().await;
    register(
        &client,
        "azure-wi-webhook",
        &webhook.url(),
        Some(&certs::ca_bundle_base64(&ca)),
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
            names::CLIENT_ID_ENV,
            names::TENANT_ID_ENV,
            names::FEDERATED_TOKEN_FILE_ENV,
            names::AUTHORITY_HOST_ENV
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

    // The IMDS proxy: the API server (1.20 here, so no native sidecar)
    // stores the proxy first among the containers and its init container
    // last, each with the identity, and keeps the app's container whole.
    let proxied = create(
        &pods,
        pod(
            "proxied",
            "app",
            true,
            &json!({"azure.workload.identity/inject-proxy-sidecar": "true",
                    "azure.workload.identity/proxy-sidecar-port": "8001"}),
        ),
    )
    .await;
    let spec = proxied.spec.as_ref().unwrap();
    let names = |list: &[k8s_openapi::api::core::v1::Container]| {
        list.iter().map(|c| c.name.clone()).collect::<Vec<_>>()
    };
    assert_eq!(names(&spec.containers)[0], "azwi-proxy");
    assert_eq!(spec.containers.len(), 2);
    let init = spec.init_containers.as_deref().unwrap_or_default();
    assert_eq!(names(init), ["azwi-proxy-init"]);
    assert_eq!(
        init[0].env.as_ref().unwrap()[0].value.as_deref(),
        Some("8001")
    );
    assert_eq!(
        spec.containers[0].args.as_deref().unwrap(),
        ["--proxy-port=8001", "--log-level=info"]
    );
    assert_eq!(env_of(&proxied, 0)[0].1, CLIENT_ID);
    assert_eq!(env_of(&proxied, 1)[0].1, CLIENT_ID);

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

    // A reserved volume left by an older manifest (another audience and
    // path, next to a ConfigMap) is stored exactly canonical, with a warning
    // naming what was dropped: the API server takes the one `replace`.
    let mut old = pod("old-volume", "app", true, &json!({}));
    old["spec"]["volumes"] = json!([{"name": "azure-identity-token", "projected": {"sources": [
        {"serviceAccountToken": {"path": "token", "audience": "api://Old", "expirationSeconds": 7200}},
        {"configMap": {"name": "ca-bundle"}}
    ]}}]);
    let (status, body, warnings) = create_pod_raw(&client, ns, &old).await;
    assert_eq!(status, 201, "{body}");
    // (The API server adds its own kube-api-access volume after it.)
    assert_eq!(
        body["spec"]["volumes"][0],
        json!({"name": "azure-identity-token", "projected": {"defaultMode": 420, "sources": [
            {"serviceAccountToken": {
                "path": "azure-identity-token",
                "audience": names::DEFAULT_AUDIENCE,
                "expirationSeconds": 3600
            }}
        ]}})
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("its other sources were dropped: serviceAccountToken (path")),
        "{warnings:?}"
    );
}

/// Polls `check` every 100 ms until it returns `Some`, for at most `limit`.
async fn eventually<T, F, Fut>(what: &str, limit: std::time::Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

async fn ca_bundle(client: &kube::Client, name: &str) -> Option<String> {
    let config = Api::<MutatingWebhookConfiguration>::all(client.clone())
        .get(name)
        .await
        .unwrap();
    let bundle = config.webhooks?[0].client_config.ca_bundle.clone()?;
    (!bundle.0.is_empty()).then(|| String::from_utf8(bundle.0).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_managed_certificates_converge_and_the_bundle_is_restored() {
    use base64::Engine as _;
    use k8s_openapi::api::core::v1::Secret;

    let plane = ControlPlane::start().await.unwrap();
    let client = plane.client().await.unwrap();
    let system = "azwi-system";
    namespace(&client, system).await;
    let config_name = "azure-wi-webhook-mutating-webhook-configuration";

    // Two replicas started together race to create the Secret.
    let flags = ["--pod-namespace", system, "--extra-san", "127.0.0.1"];
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = Webhook::start_in_cluster(dir_a.path(), plane.kubeconfig(), &flags);
    let b = Webhook::start_in_cluster(dir_b.path(), plane.kubeconfig(), &flags);
    a.wait_ready().await;
    b.wait_ready().await;

    let secret = Api::<Secret>::namespaced(client.clone(), system)
        .get("azure-wi-webhook-server-cert")
        .await
        .unwrap();
    let data = secret.data.unwrap();
    let ca = String::from_utf8(data["ca.crt"].0.clone()).unwrap();
    namespace(&client, "team-a").await;
    service_account(
        &client,
        "team-a",
        "app",
        json!({ "azure.workload.identity/client-id": CLIENT_ID }),
    )
    .await;
    // Both replicas serve a pair from the one CA in the Secret.
    let trusting = support::client_trusting(&ca);
    for replica in [&a, &b] {
        support::admit(&trusting, &replica.url(), "replica")
            .await
            .unwrap();
    }

    // The configuration is applied without a caBundle; the webhook fills it.
    register(&client, config_name, &a.url(), None).await;
    let expected = base64::engine::general_purpose::STANDARD.encode(&ca);
    let filled = eventually(
        "the caBundle to be filled",
        std::time::Duration::from_secs(30),
        || {
            let client = client.clone();
            async move { ca_bundle(&client, config_name).await }
        },
    )
    .await;
    assert_eq!(
        base64::engine::general_purpose::STANDARD.encode(filled.as_bytes()),
        expected
    );

    // The API server trusts it: a labelled pod is mutated through it.
    let stored = create(
        &Api::<Pod>::namespaced(client.clone(), "team-a"),
        pod("through-self-managed", "app", true, &json!({})),
    )
    .await;
    assert!(has_token_volume(&stored));

    // Reapplied without the bundle: it is restored.
    let blank =
        json!([{ "op": "replace", "path": "/webhooks/0/clientConfig/caBundle", "value": "" }]);
    Api::<MutatingWebhookConfiguration>::all(client.clone())
        .patch(
            config_name,
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Json::<()>(serde_json::from_value(blank).unwrap()),
        )
        .await
        .unwrap();
    let restored = eventually(
        "the caBundle to be restored",
        std::time::Duration::from_secs(30),
        || {
            let client = client.clone();
            async move { ca_bundle(&client, config_name).await }
        },
    )
    .await;
    assert_eq!(restored, filled);
}

/// A second mutating webhook that adds a sidecar container, served over TLS
/// from the pair in `cert_dir`; returns its URL.
async fn serve_sidecar_injector(cert_dir: &std::path::Path) -> String {
    use axum::{Json, Router, routing::post};
    use base64::Engine as _;
    use hyper_util::{rt::TokioIo, service::TowerToHyperService};

    async fn inject(Json(review): Json<Value>) -> Json<Value> {
        let request = &review["request"];
        let has_sidecar = request["object"]["spec"]["containers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "sidecar");
        let mut response = json!({ "uid": request["uid"], "allowed": true });
        if !has_sidecar {
            let mut patch = json!([{ "op": "add", "path": "/spec/containers/-",
                "value": { "name": "sidecar", "image": "registry.example.com/sidecar:1" } }]);
            // A pod known only by its prefix is named here, as injectors
            // that name pods do, after the workload identity webhook saw it.
            let unnamed = request["object"]["metadata"]["name"]
                .as_str()
                .is_none_or(str::is_empty);
            if unnamed {
                let prefix = request["object"]["metadata"]["generateName"]
                    .as_str()
                    .unwrap_or_default();
                patch.as_array_mut().unwrap().push(json!({"op": "add",
                    "path": "/metadata/name", "value": format!("{prefix}named")}));
            }
            response["patchType"] = "JSONPatch".into();
            response["patch"] = base64::engine::general_purpose::STANDARD
                .encode(patch.to_string())
                .into();
        }
        Json(
            json!({ "apiVersion": review["apiVersion"], "kind": "AdmissionReview", "response": response }),
        )
    }

    use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject as _};
    let certs = CertificateDer::pem_file_iter(cert_dir.join("tls.crt"))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(cert_dir.join("tls.key")).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(support::provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let router = Router::new().route("/inject", post(inject));
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let (acceptor, router) = (acceptor.clone(), router.clone());
            tokio::spawn(async move {
                if let Ok(tls) = acceptor.accept(tcp).await {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tls), TowerToHyperService::new(router))
                        .await;
                }
            });
        }
    });
    format!("https://127.0.0.1:{port}/inject")
}

/// Registers the started webhook and, with `sidecar_injector`, a second
/// webhook after it (configurations run in name order: ours first, the
/// injector after it, then ours again because the pod changed); creates
/// namespace `team-a` with ServiceAccount `app` for [`CLIENT_ID`].
async fn register_for_team_a(started: &Started, sidecar_injector: bool) {
    let client = &started.client;
    let bundle = certs::ca_bundle_base64(&started.ca);
    register(
        client,
        "azure-wi-webhook",
        &started.webhook.url(),
        Some(&bundle),
    )
    .await;
    if sidecar_injector {
        let sidecar_url = serve_sidecar_injector(started.dir.path()).await;
        register(client, "zz-sidecar-injector", &sidecar_url, Some(&bundle)).await;
    }
    namespace(client, "team-a").await;
    service_account(
        client,
        "team-a",
        "app",
        json!({ "azure.workload.identity/client-id": CLIENT_ID }),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sidecar_added_by_another_webhook_is_injected_on_reinvocation() {
    let started = start_with_webhook().await;
    register_for_team_a(&started, true).await;
    let stored = create(
        &Api::<Pod>::namespaced(started.client.clone(), "team-a"),
        pod("with-sidecar", "app", true, &json!({})),
    )
    .await;
    let spec = stored.spec.as_ref().unwrap();
    assert_eq!(
        spec.containers
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>(),
        ["app", "sidecar"]
    );
    for (i, container) in spec.containers.iter().enumerate() {
        let env = env_of(&stored, i);
        assert_eq!(env.len(), 4, "{}: {env:?}", container.name);
        assert_eq!(env[0], ("AZURE_CLIENT_ID".to_owned(), CLIENT_ID.to_owned()));
        let token_mounts = container
            .volume_mounts
            .iter()
            .flatten()
            .filter(|m| m.name == "azure-identity-token")
            .count();
        assert_eq!(token_mounts, 1, "{}", container.name);
    }
    let token_volumes = spec
        .volumes
        .iter()
        .flatten()
        .filter(|v| v.name == "azure-identity-token")
        .count();
    assert_eq!(token_volumes, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_v1_6_pod_named_by_another_webhook_keeps_one_token_volume() {
    // The reference v1.6.0 names the volume from the pod's name: a pod seen
    // by its `generateName`, named by a later webhook and seen again gets a
    // second volume at the same mount path, which the API server refuses
    // (its bug #1744). The reserved volume is recognised by its prefix here.
    let started = start_with_webhook_configured(&["--token-layout", "v1.6"], &[]).await;
    register_for_team_a(&started, true).await;
    let client = &started.client;
    let mut unnamed = pod("", "app", true, &json!({}));
    unnamed["metadata"].as_object_mut().unwrap().remove("name");
    unnamed["metadata"]["generateName"] = "app-7d9f8-".into();
    let stored = create(&Api::<Pod>::namespaced(client.clone(), "team-a"), unnamed).await;
    assert_eq!(stored.metadata.name.as_deref(), Some("app-7d9f8-named"));
    let spec = stored.spec.as_ref().unwrap();
    // The name hashed is the one seen first: `app-7d9f8- (prefix)`
    // (SHA-256 computed apart, with Python's hashlib).
    let reserved = "azure-workload-identity-reserved-c3c4ca76030a8d0d97eb9bcbacfe2a";
    let token_volumes: Vec<&str> = spec
        .volumes
        .iter()
        .flatten()
        .map(|v| v.name.as_str())
        .filter(|n| n.starts_with("azure-workload-identity-reserved-"))
        .collect();
    assert_eq!(token_volumes, [reserved]);
    for (index, container) in spec.containers.iter().enumerate() {
        let mounts: Vec<(&str, &str)> = container
            .volume_mounts
            .iter()
            .flatten()
            .filter(|m| m.mount_path.starts_with("/var/run/secrets/azure"))
            .map(|m| (m.name.as_str(), m.mount_path.as_str()))
            .collect();
        assert_eq!(
            mounts,
            [(reserved, "/var/run/secrets/azure/wi")],
            "{}",
            container.name
        );
        let env = env_of(&stored, index);
        assert_eq!(
            env[2],
            (
                names::FEDERATED_TOKEN_FILE_ENV.to_owned(),
                TokenLayout::V1_6.token_file().to_owned()
            )
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_identity_binding_pod_is_stored_as_the_webhook_patched_it() {
    // `webhook serve` with the custom token endpoint, configured as AKS
    // configures it (flags, and the variables a ConfigMap gives), and the
    // CA from a ConfigMap projected into the token volume.
    let started = start_with_webhook_configured(
        &[
            "--custom-token-endpoint-annotation-suffix",
            "identity-binding",
            "--custom-token-endpoint-audience",
            names::IDENTITY_BINDING_AUDIENCE,
        ],
        &[
            (names::KUBERNETES_TOKEN_PROXY_ENV, "https://10.0.0.1:443"),
            (names::KUBERNETES_SNI_NAME_ENV, "ib.aks.example"),
            ("AZURE_KUBERNETES_CA_CONFIGMAP_NAME", "identity-binding-ca"),
        ],
    )
    .await;
    register_for_team_a(&started, false).await;
    let client = &started.client;
    let stored = create(
        &Api::<Pod>::namespaced(client.clone(), "team-a"),
        pod(
            "bound",
            "app",
            true,
            &json!({"azure.workload.identity/use-identity-binding": "TRUE"}),
        ),
    )
    .await;
    let env = env_of(&stored, 0);
    let names: Vec<&str> = env.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            names::CLIENT_ID_ENV,
            names::TENANT_ID_ENV,
            names::FEDERATED_TOKEN_FILE_ENV,
            names::AUTHORITY_HOST_ENV,
            names::KUBERNETES_TOKEN_PROXY_ENV,
            names::KUBERNETES_SNI_NAME_ENV,
            names::KUBERNETES_CA_FILE_ENV,
        ]
    );
    assert_eq!(env[4].1, "https://10.0.0.1:443");
    assert_eq!(env[6].1, names::KUBERNETES_CA_FILE);
    let spec = stored.spec.as_ref().unwrap();
    let volume = spec
        .volumes
        .iter()
        .flatten()
        .find(|v| v.name == "azure-identity-token")
        .unwrap();
    let sources = volume.projected.as_ref().unwrap().sources.as_ref().unwrap();
    assert_eq!(
        sources[0]
            .service_account_token
            .as_ref()
            .unwrap()
            .audience
            .as_deref(),
        Some(names::IDENTITY_BINDING_AUDIENCE)
    );
    let config_map = sources[1].config_map.as_ref().unwrap();
    assert_eq!(config_map.name, "identity-binding-ca");
    assert_eq!(config_map.items.as_ref().unwrap()[0].path, "ca-cert/ca.crt");

    // A pod that did not ask keeps Entra's audience and no proxy variables.
    let plain = create(
        &Api::<Pod>::namespaced(client.clone(), "team-a"),
        pod("plain", "app", true, &json!({})),
    )
    .await;
    assert_eq!(env_of(&plain, 0).len(), 4);
}

/// Registers the warn-only workload check at `url`, as deploy/ does, with a
/// URL client config on loopback.
async fn register_workload_check(client: &kube::Client, url: &str, ca_bundle: &str) {
    create(
        &Api::<k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration>::all(
            client.clone(),
        ),
        json!({
            "metadata": {"name": "azure-wi-webhook-workloads"},
            "webhooks": [{
                "name": "workloads.azure-workload-identity.io",
                "admissionReviewVersions": ["v1", "v1beta1"],
                "clientConfig": {"url": url, "caBundle": ca_bundle},
                "failurePolicy": "Ignore",
                "matchPolicy": "Equivalent",
                "rules": [
                    {"apiGroups": ["apps"], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"],
                     "resources": ["deployments", "statefulsets", "daemonsets", "replicasets"]},
                    {"apiGroups": ["batch"], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"],
                     "resources": ["jobs", "cronjobs"]}
                ],
                "sideEffects": "None",
                "timeoutSeconds": 3
            }]
        }),
    )
    .await;
}

/// `kubectl apply -f` of `manifest`; returns its exit status and stderr.
fn kubectl_apply(
    kubeconfig: &std::path::Path,
    dir: &std::path::Path,
    manifest: &str,
) -> (bool, String) {
    let file = dir.join("manifest.yaml");
    std::fs::write(&file, manifest).unwrap();
    let output = std::process::Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .arg("apply")
        .arg("-f")
        .arg(&file)
        .output()
        .expect("kubectl is installed");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn deployment_yaml(name: &str, label_on_workload: bool, label_on_template: bool) -> String {
    let label = |on: bool| {
        if on {
            "\n    azure.workload.identity/use: \"true\""
        } else {
            ""
        }
    };
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: team-a
  labels:
    app: {name}{workload}
spec:
  selector:
    matchLabels:
      app: {name}
  template:
    metadata:
      labels:
        app: {name}{template}
    spec:
      serviceAccountName: orders
      containers:
        - name: app
          image: registry.example.com/app:1
",
        workload = label(label_on_workload),
        template = label(label_on_template).replace("\n    ", "\n        "),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_apply_of_a_mislabelled_deployment_prints_the_warning() {
    let Started {
        plane,
        client,
        dir,
        ca,
        webhook,
    } = start_with_webhook().await;
    let url = webhook
        .url()
        .replace("/mutate-v1-pod", "/validate-workloads");
    register_workload_check(&client, &url, &certs::ca_bundle_base64(&ca)).await;
    namespace(&client, "team-a").await;
    service_account(&client, "team-a", "orders", json!({})).await;

    // The label on the Deployment only: applied, with the warning.
    let (ok, stderr) = kubectl_apply(
        plane.kubeconfig(),
        dir.path(),
        &deployment_yaml("orders", true, false),
    );
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains(
            "Warning: Deployment team-a/orders has label azure.workload.identity/use on its own \
             metadata, where it does nothing: put it on spec.template.metadata.labels so its pods \
             get the workload identity"
        ),
        "{stderr}"
    );

    // On the template, but the ServiceAccount has no client id.
    let (ok, stderr) = kubectl_apply(
        plane.kubeconfig(),
        dir.path(),
        &deployment_yaml("billing", false, true),
    );
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains(
            "Warning: Deployment team-a/billing: its pod template's ServiceAccount team-a/orders \
             has no azure.workload.identity/client-id annotation"
        ),
        "{stderr}"
    );

    // Labelled correctly, with an annotated ServiceAccount: silence.
    let accounts = Api::<ServiceAccount>::namespaced(client.clone(), "team-a");
    let patch =
        json!({"metadata": {"annotations": {"azure.workload.identity/client-id": CLIENT_ID}}});
    accounts
        .patch(
            "orders",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(&patch),
        )
        .await
        .unwrap();
    // The webhook's cache follows the watch; give it a moment to see the
    // annotation before the apply that must be silent.
    let mut last = String::new();
    for _ in 0..50 {
        let (ok, stderr) = kubectl_apply(
            plane.kubeconfig(),
            dir.path(),
            &deployment_yaml("billing", false, true),
        );
        assert!(ok, "{stderr}");
        if !stderr.contains("Warning: Deployment") {
            return;
        }
        last = stderr;
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("still warned after the ServiceAccount was annotated: {last}");
}
