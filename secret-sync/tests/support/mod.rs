//! What the control-plane tests of secret-sync share.
// Each test crate uses a part of it.
#![allow(dead_code)]

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant},
};

use azure_wi_control_plane::ControlPlane;
use azure_wi_core::names;
use azure_wi_emulator::{
    Config, Emulator,
    config::{DEMO_TENANT, FederatedCredential},
};
use k8s_openapi::{
    api::{
        authentication::v1::TokenRequest,
        core::v1::{Namespace, Secret, ServiceAccount},
    },
    apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
};
use kube::{
    Api, Client, ResourceExt,
    api::{ApiResource, DynamicObject, GroupVersionKind, PostParams},
};
use secret_sync::{
    api::{Condition, ExternalSecret, crd},
    controller::{self, Context},
    fetch::Reader,
};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

/// A control plane with secret-sync's CRDs, the emulator, and the
/// controllers running against both.
pub(crate) struct Cluster {
    pub(crate) client: Client,
    pub(crate) emulator: Emulator,
    stop: CancellationToken,
    running: tokio::task::JoinHandle<()>,
    plane: ControlPlane,
}

impl Cluster {
    /// Starts a control plane, the emulator as `config` makes it for that
    /// plane, and the controllers ([`start_controller`]), once the CRDs
    /// are established; then creates `namespaces`.
    ///
    /// # Panics
    ///
    /// When the control plane or the emulator does not start.
    pub(crate) async fn start(
        config: impl FnOnce(&ControlPlane) -> Config,
        namespaces: &[&str],
    ) -> Self {
        Self::start_tuned(config, |_| {}, namespaces).await
    }

    /// As [`Cluster::start`], the controllers' context changed by `tune`
    /// before they run.
    ///
    /// # Panics
    ///
    /// As [`Cluster::start`].
    pub(crate) async fn start_tuned(
        config: impl FnOnce(&ControlPlane) -> Config,
        tune: impl FnOnce(&mut Context),
        namespaces: &[&str],
    ) -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let plane = ControlPlane::start()
            .await
            .expect("the control plane starts");
        let client = plane.client().await.expect("a client of the API server");
        let emulator = Emulator::start(config(&plane))
            .await
            .expect("the emulator starts");
        install_crds(&client).await;
        let (_, stop, running) = start_controller_tuned(&client, reader_of(&emulator), tune);
        for name in namespaces {
            namespace(&client, name).await;
        }
        Self {
            client,
            emulator,
            stop,
            running,
            plane,
        }
    }

    /// Stops the controllers (waiting up to 10 s for them), then the
    /// emulator, then the control plane.
    pub(crate) async fn stop(self) {
        let Self {
            client,
            emulator,
            stop,
            running,
            plane,
        } = self;
        stop.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(10), running).await;
        drop(emulator);
        drop(client);
        drop(plane);
    }
}

/// `config` trusting `plane`'s ServiceAccount tokens, the demo identity's
/// one federated credential (named as the namespace) ServiceAccount
/// `namespace/sa`'s.
pub(crate) fn trusting(
    mut config: Config,
    plane: &ControlPlane,
    namespace: &str,
    sa: &str,
) -> Config {
    config.issuer = plane.issuer().to_owned();
    config.trusted_issuer_ca_pems = vec![plane.ca_pem().to_owned()];
    config.identities[0].federated_credentials = vec![federated(plane, namespace, namespace, sa)];
    config
}

/// A federated credential `name` for ServiceAccount `namespace/sa` of
/// `plane`, with the default audience.
pub(crate) fn federated(
    plane: &ControlPlane,
    name: &str,
    namespace: &str,
    sa: &str,
) -> FederatedCredential {
    FederatedCredential {
        name: name.to_owned(),
        issuer: plane.issuer().to_owned(),
        subject: names::service_account_subject(namespace, sa),
        audiences: vec![names::DEFAULT_AUDIENCE.to_owned()],
    }
}

/// A token of ServiceAccount `namespace/sa` for Entra (valid an hour),
/// from the API server, written to `dir/token`; that path.
///
/// # Panics
///
/// When the API server issues none.
pub(crate) async fn token_file(client: &Client, namespace: &str, sa: &str, dir: &Path) -> PathBuf {
    let request: TokenRequest = serde_json::from_value(json!({
        "spec": {"audiences": [names::DEFAULT_AUDIENCE], "expirationSeconds": 3600}
    }))
    .expect("a TokenRequest");
    let issued = Api::<ServiceAccount>::namespaced(client.clone(), namespace)
        .create_token_request(sa, &PostParams::default(), &request)
        .await
        .expect("the API server issues a token");
    let path = dir.join("token");
    std::fs::write(&path, issued.status.expect("a token").token).expect("the token written");
    path
}

/// A Secret `namespace/name` with `labels` (a YAML flow map, or empty for
/// none) and `string_data` (a YAML flow map); YAML ending with a document
/// separator.
pub(crate) fn secret_yaml(namespace: &str, name: &str, labels: &str, string_data: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: {name}, namespace: {namespace}{}}}\nstringData: {string_data}\n---\n",
        labels_field(labels)
    )
}

/// `, labels: <labels>` inside a flow map of metadata, or nothing.
fn labels_field(labels: &str) -> String {
    if labels.is_empty() {
        String::new()
    } else {
        format!(", labels: {labels}")
    }
}

/// A SecretStore `namespace/name` with `labels` (a YAML flow map, or
/// empty for none) on vault `vault` in the demo tenant, as the workload
/// identity of ServiceAccount `sa` of its namespace; YAML ending with a
/// document separator.
pub(crate) fn secret_store(
    namespace: &str,
    name: &str,
    labels: &str,
    vault: &str,
    sa: &str,
) -> String {
    let labels = labels_field(labels);
    format!(
        "apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {{name: {name}, namespace: {namespace}{labels}}}
spec:
  provider:
    azurekv:
      authType: WorkloadIdentity
      tenantId: {DEMO_TENANT}
      vaultUrl: https://{vault}.vault.azure.net
      serviceAccountRef: {{name: {sa}}}
---
"
    )
}

/// A reader of the emulator's Key Vault for the controller, with the
/// vault budget the controller's default.
pub(crate) fn reader_of(emulator: &azure_wi_emulator::Emulator) -> Reader {
    let http = emulator.client().expect("the emulator's client");
    Reader::new(
        azure_wi_auth::WorkloadVaults::with_http_client(http.clone()).expect("vaults"),
        None,
        Some(http),
        3000,
    )
}

/// Runs the controllers with `reader`, `AZURE_TENANT_ID` as the webhook
/// would inject it (the demo tenant), until the token returned is
/// cancelled; their context, to look into.
pub(crate) fn start_controller(
    client: &Client,
    reader: Reader,
) -> (Arc<Context>, CancellationToken, tokio::task::JoinHandle<()>) {
    start_controller_tuned(client, reader, |_| {})
}

/// As [`start_controller`], the context changed by `tune` first.
pub(crate) fn start_controller_tuned(
    client: &Client,
    reader: Reader,
    tune: impl FnOnce(&mut Context),
) -> (Arc<Context>, CancellationToken, tokio::task::JoinHandle<()>) {
    let mut ctx = Context::new(client.clone(), reader, Some(DEMO_TENANT.to_owned()));
    tune(&mut ctx);
    let ctx = Arc::new(ctx);
    let stop = CancellationToken::new();
    let (synced, _) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(controller::run(Arc::clone(&ctx), 4, stop.clone(), synced));
    (ctx, stop, running)
}

/// A ServiceAccount annotated with `client_id`, as YAML.
pub(crate) fn service_account(namespace: &str, name: &str, client_id: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {name}\n  namespace: {namespace}\n  annotations:\n    {}: \"{client_id}\"\n",
        azure_wi_core::names::CLIENT_ID_ANNOTATION
    )
}

/// Applies a YAML stream as written, each document at its own apiVersion.
///
/// # Panics
///
/// When a document does not parse or the API server refuses it.
pub(crate) async fn apply(client: &Client, namespace: &str, yaml: &str) {
    use serde::Deserialize as _;
    for doc in yaml_serde::Deserializer::from_str(yaml) {
        let value = Value::deserialize(doc).expect("a YAML document");
        if value.is_null() {
            continue;
        }
        let api_version = value["apiVersion"].as_str().expect("apiVersion").to_owned();
        let (group, version) = match api_version.split_once('/') {
            Some((g, v)) => (g.to_owned(), v.to_owned()),
            None => (String::new(), api_version.clone()),
        };
        let kind = value["kind"].as_str().expect("kind").to_owned();
        let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(&group, &version, &kind));
        let object: DynamicObject = serde_json::from_value(value.clone()).expect("an object");
        let ns = object.namespace().unwrap_or_else(|| namespace.to_owned());
        let api: Api<DynamicObject> = if matches!(kind.as_str(), "Namespace" | "ClusterSecretStore")
        {
            Api::all_with(client.clone(), &resource)
        } else {
            Api::namespaced_with(client.clone(), &ns, &resource)
        };
        api.create(&PostParams::default(), &object)
            .await
            .unwrap_or_else(|e| panic!("applying {kind} {}: {e}", object.name_any()));
    }
}

/// Creates namespace `name` (once).
pub(crate) async fn namespace(client: &Client, name: &str) {
    let ns: Namespace =
        serde_json::from_value(json!({"metadata": {"name": name}})).expect("a namespace");
    let _ = Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await;
}

/// Waits up to `within` for `check` to return `Some`.
///
/// # Panics
///
/// When it does not.
pub(crate) async fn eventually<T, F, Fut>(within: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let started = tokio::time::Instant::now();
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(started.elapsed() < within, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The Secret `namespace/name`, if it exists.
pub(crate) async fn secret(client: &Client, namespace: &str, name: &str) -> Option<Secret> {
    Api::<Secret>::namespaced(client.clone(), namespace)
        .get_opt(name)
        .await
        .expect("the API server answers")
}

/// A Secret's data as bytes.
pub(crate) fn data_of(secret: &Secret) -> BTreeMap<String, Vec<u8>> {
    secret
        .data
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, v.0))
        .collect()
}

/// The ExternalSecret's `Ready` condition: status, reason, message.
pub(crate) async fn ready(
    client: &Client,
    namespace: &str,
    name: &str,
) -> Option<(String, String, String)> {
    let es = Api::<ExternalSecret>::namespaced(client.clone(), namespace)
        .get_opt(name)
        .await
        .expect("the API server answers")?;
    ready_in(es.status?.conditions)
}

/// The `Ready` condition among `conditions`: status, reason, message.
pub(crate) fn ready_in(conditions: Vec<Condition>) -> Option<(String, String, String)> {
    let condition = conditions.into_iter().find(|c| c.type_ == "Ready")?;
    Some((
        condition.status,
        condition.reason.unwrap_or_default(),
        condition.message.unwrap_or_default(),
    ))
}

/// Events of `namespace` about object `name` with `reason`.
pub(crate) async fn events_about(
    client: &Client,
    namespace: &str,
    name: &str,
    reason: &str,
) -> Vec<k8s_openapi::api::events::v1::Event> {
    Api::<k8s_openapi::api::events::v1::Event>::namespaced(client.clone(), namespace)
        .list(&Default::default())
        .await
        .expect("the API server answers")
        .items
        .into_iter()
        .filter(|e| {
            e.reason.as_deref() == Some(reason)
                && e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name)
        })
        .collect()
}

/// Installs secret-sync's CRDs and waits until each is established.
///
/// # Panics
///
/// When one cannot be created, or is not established within 20 s.
pub(crate) async fn install_crds(client: &Client) {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for definition in crd::all() {
        crds.create(&PostParams::default(), &definition)
            .await
            .expect("the CRD is created");
    }
    for definition in crd::all() {
        let name = definition.name_any();
        let started = Instant::now();
        loop {
            let established = crds
                .get(&name)
                .await
                .ok()
                .and_then(|c| c.status)
                .and_then(|s| s.conditions)
                .is_some_and(|c| {
                    c.iter()
                        .any(|c| c.type_ == "Established" && c.status == "True")
                });
            if established {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "CRD {name} not established within 20 s"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}
