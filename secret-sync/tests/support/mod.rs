//! What the control-plane tests of secret-sync share.
// Each test crate uses a part of it.
#![allow(dead_code)]

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use k8s_openapi::{
    api::core::v1::{Namespace, Secret},
    apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
};
use kube::{
    Api, Client, ResourceExt,
    api::{ApiResource, DynamicObject, GroupVersionKind, PostParams},
};
use secret_sync::{
    api::{ExternalSecret, crd},
    controller::{self, Context},
    fetch::Reader,
};
use serde_json::{Value, json};

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
) -> (
    std::sync::Arc<Context>,
    tokio_util::sync::CancellationToken,
    tokio::task::JoinHandle<()>,
) {
    let ctx = std::sync::Arc::new(Context::new(
        client.clone(),
        reader,
        Some(azure_wi_emulator::config::DEMO_TENANT.to_owned()),
    ));
    let stop = tokio_util::sync::CancellationToken::new();
    let (synced, _) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(controller::run(
        std::sync::Arc::clone(&ctx),
        4,
        stop.clone(),
        synced,
    ));
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
    let condition = es
        .status?
        .conditions
        .into_iter()
        .find(|c| c.type_ == "Ready")?;
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
