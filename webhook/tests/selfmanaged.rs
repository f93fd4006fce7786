//! Self-managed certificates against an API server double that enforces
//! what the real one does for the calls made: `AlreadyExists` on a second
//! create, `Conflict` on an update with a stale `resourceVersion`.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any unexpected error"
)]

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Router,
    body::Bytes,
    extract::{Path, State},
    http::{StatusCode, Uri},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use base64::Engine as _;
use serde_json::{Value, json};
use webhook::tls::{SelfManaged, WebhookResources, defaults};

const SECRET: &str = "/api/v1/namespaces/wi-system/secrets/azure-wi-webhook-server-cert";
const CONFIG: &str = "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/azure-wi-webhook-mutating-webhook-configuration";
const VALIDATING: &str = "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/azure-wi-webhook-validating-webhook-configuration";

#[derive(Default)]
struct Store {
    objects: HashMap<String, Value>,
    watch: Option<tokio::sync::mpsc::UnboundedReceiver<Value>>,
    version: u64,
    /// The first reads of the Secret wait here until all of them have
    /// arrived, so racing replicas provably all see "no Secret" (a timed
    /// delay would depend on how busy the machine is).
    first_secret_reads: Option<(usize, Arc<tokio::sync::Barrier>)>,
    creates: usize,
    updates: usize,
}

type Shared = Arc<Mutex<Store>>;

fn status(code: StatusCode, reason: &str, message: &str) -> Response {
    let body = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
        "reason": reason, "message": message, "code": code.as_u16()});
    (code, axum::Json(body)).into_response()
}

async fn read(State(store): State<Shared>, uri: Uri) -> Response {
    let hold = {
        let mut store = store.lock().unwrap();
        match &mut store.first_secret_reads {
            Some((left, barrier)) if *left > 0 && uri.path() == SECRET => {
                *left -= 1;
                Some(Arc::clone(barrier))
            }
            _ => None,
        }
    };
    if let Some(barrier) = hold {
        barrier.wait().await;
    }
    match store.lock().unwrap().objects.get(uri.path()) {
        Some(object) => axum::Json(object.clone()).into_response(),
        None => status(StatusCode::NOT_FOUND, "NotFound", "not found"),
    }
}

async fn update(State(store): State<Shared>, uri: Uri, body: Bytes) -> Response {
    let mut object: Value = serde_json::from_slice(&body).unwrap();
    let mut store = store.lock().unwrap();
    let Some(current) = store.objects.get(uri.path()) else {
        return status(StatusCode::NOT_FOUND, "NotFound", "not found");
    };
    if current["metadata"]["resourceVersion"] != object["metadata"]["resourceVersion"] {
        return status(
            StatusCode::CONFLICT,
            "Conflict",
            "the object has been modified; please apply your changes to the latest version and try again",
        );
    }
    store.version += 1;
    store.updates += 1;
    object["metadata"]["resourceVersion"] = json!(store.version.to_string());
    store.objects.insert(uri.path().to_owned(), object.clone());
    axum::Json(object).into_response()
}

async fn create(State(store): State<Shared>, Path(ns): Path<String>, body: Bytes) -> Response {
    let mut object: Value = serde_json::from_slice(&body).unwrap();
    let name = object["metadata"]["name"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/namespaces/{ns}/secrets/{name}");
    let mut store = store.lock().unwrap();
    store.creates += 1;
    if store.objects.contains_key(&path) {
        return status(
            StatusCode::CONFLICT,
            "AlreadyExists",
            &format!("secrets \"{name}\" already exists"),
        );
    }
    store.version += 1;
    object["metadata"]["resourceVersion"] = json!(store.version.to_string());
    store.objects.insert(path, object.clone());
    (StatusCode::CREATED, axum::Json(object)).into_response()
}

/// List or watch of webhook configurations (the rotation loop watches its
/// own by name).
async fn list_or_watch(State(store): State<Shared>, uri: Uri) -> Response {
    if uri.query().unwrap_or_default().contains("watch=true") {
        let Some(events) = store.lock().unwrap().watch.take() else {
            return axum::body::Body::from_stream(futures::stream::pending::<
                Result<Bytes, std::io::Error>,
            >())
            .into_response();
        };
        let stream = futures::stream::unfold(events, |mut events| async move {
            let event = events.recv().await?;
            let mut line = serde_json::to_vec(&event).unwrap();
            line.push(b'\n');
            Some((Ok::<_, std::io::Error>(Bytes::from(line)), events))
        });
        return axum::body::Body::from_stream(stream).into_response();
    }
    let items: Vec<Value> = store
        .lock()
        .unwrap()
        .objects
        .get(CONFIG)
        .cloned()
        .into_iter()
        .collect();
    axum::Json(json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfigurationList",
        "metadata": {"resourceVersion": "1"}, "items": items}))
    .into_response()
}

async fn start(store: Store) -> (kube::Client, Shared) {
    let shared = Arc::new(Mutex::new(store));
    let router = Router::new()
        .route(SECRET, get(read).put(update))
        .route("/api/v1/namespaces/{ns}/secrets", post(create))
        .route(CONFIG, get(read).put(update))
        .route(VALIDATING, get(read).put(update))
        .route(
            "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations",
            get(list_or_watch),
        )
        .with_state(Arc::clone(&shared));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let config = kube::Config::new(format!("http://{addr}").parse().unwrap());
    (kube::Client::try_from(config).unwrap(), shared)
}

fn webhook_configuration() -> Value {
    json!({
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
        "metadata": {"name": "azure-wi-webhook-mutating-webhook-configuration", "resourceVersion": "1"},
        "webhooks": [{
            "name": "mutation.azure-workload-identity.io",
            "admissionReviewVersions": ["v1", "v1beta1"], "sideEffects": "None",
            "clientConfig": {"service": {"name": "azure-wi-webhook-webhook-service", "namespace": "wi-system", "path": "/mutate-v1-pod"}}
        }]
    })
}

/// The reference deployment's objects, in namespace `wi-system`.
fn resources() -> WebhookResources {
    WebhookResources {
        namespace: "wi-system".to_owned(),
        secret: defaults::SECRET_NAME.to_owned(),
        service: defaults::SERVICE_NAME.to_owned(),
        webhook_configuration: defaults::WEBHOOK_CONFIGURATION_NAME.to_owned(),
        // The fake API server watches MutatingWebhookConfigurations only;
        // `ensure` filling the validating one is tested on its own below.
        validating_webhook_configuration: String::new(),
        extra_sans: Vec::new(),
    }
}

fn secret_field(store: &Shared, key: &str) -> String {
    let store = store.lock().unwrap();
    let encoded = store.objects[SECRET]["data"][key].as_str().unwrap();
    String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .unwrap(),
    )
    .unwrap()
}

fn ca_bundle(store: &Shared) -> Option<String> {
    let store = store.lock().unwrap();
    store.objects[CONFIG]["webhooks"][0]["clientConfig"]["caBundle"]
        .as_str()
        .map(|b| {
            String::from_utf8(base64::engine::general_purpose::STANDARD.decode(b).unwrap()).unwrap()
        })
}

#[tokio::test]
async fn two_replicas_racing_converge_on_one_ca() {
    let mut store = Store {
        first_secret_reads: Some((2, Arc::new(tokio::sync::Barrier::new(2)))),
        ..Store::default()
    };
    store
        .objects
        .insert(CONFIG.to_owned(), webhook_configuration());
    let (client, store) = start(store).await;
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = SelfManaged::new(client.clone(), resources(), dir_a.path());
    let b = SelfManaged::new(client, resources(), dir_b.path());

    // Both read "no Secret" before either creates it.
    let (ca_a, ca_b) = tokio::join!(a.ensure(), b.ensure());
    let (ca_a, ca_b) = (ca_a.unwrap(), ca_b.unwrap());
    assert_eq!(ca_a, ca_b, "the replicas ended with different CAs");
    assert_eq!(store.lock().unwrap().creates, 2, "both tried to create");
    assert_eq!(secret_field(&store, "ca.crt"), ca_a);
    assert_eq!(ca_bundle(&store).as_deref(), Some(ca_a.as_str()));

    // Both serve the pair in the Secret, from their own directory.
    for dir in [&dir_a, &dir_b] {
        let cert = std::fs::read_to_string(dir.path().join("tls.crt")).unwrap();
        let key = std::fs::read_to_string(dir.path().join("tls.key")).unwrap();
        assert_eq!(cert, secret_field(&store, "tls.crt"));
        certs::check_pair(&cert, &key).unwrap();
        certs::ReloadingCertResolver::load(dir.path()).unwrap();
    }
}

#[tokio::test]
async fn a_blanked_ca_bundle_is_restored_without_touching_the_secret() {
    let mut store = Store::default();
    store
        .objects
        .insert(CONFIG.to_owned(), webhook_configuration());
    let (client, store) = start(store).await;
    let dir = tempfile::tempdir().unwrap();
    let manager = SelfManaged::new(client, resources(), dir.path());
    let ca = manager.ensure().await.unwrap();

    // Someone reapplies the configuration without a caBundle.
    {
        let mut s = store.lock().unwrap();
        let mut config = webhook_configuration();
        config["metadata"]["resourceVersion"] = json!("99");
        s.objects.insert(CONFIG.to_owned(), config);
    }
    assert_eq!(ca_bundle(&store), None);
    let updates_before = store.lock().unwrap().updates;
    assert_eq!(manager.ensure().await.unwrap(), ca);
    assert_eq!(ca_bundle(&store).as_deref(), Some(ca.as_str()));
    assert_eq!(
        store.lock().unwrap().updates,
        updates_before + 1,
        "only the configuration was written"
    );
    // A third round with nothing to do writes nothing.
    manager.ensure().await.unwrap();
    assert_eq!(store.lock().unwrap().updates, updates_before + 1);
}

#[tokio::test]
async fn an_expiring_serving_certificate_is_renewed_from_the_same_ca() {
    let ca = certs::CertificateAuthority::generate(
        "azure-workload-identity-ca",
        Duration::from_secs(3650 * 86_400),
    )
    .unwrap();
    let soon =
        certs::ServingCertificate::for_service("azure-wi-webhook-webhook-service", "wi-system")
            .unwrap()
            .with_validity(Duration::from_secs(30 * 86_400))
            .issue(&ca)
            .unwrap();
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let mut store = Store::default();
    store
        .objects
        .insert(CONFIG.to_owned(), webhook_configuration());
    store.objects.insert(SECRET.to_owned(), json!({
        "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
        "metadata": {"name": "azure-wi-webhook-server-cert", "namespace": "wi-system", "resourceVersion": "7"},
        "data": {"ca.crt": b64(ca.cert_pem()), "ca.key": b64(ca.key_pem().as_str()),
                 "tls.crt": b64(soon.cert_pem()), "tls.key": b64(soon.key_pem().as_str())}
    }));
    let (client, store) = start(store).await;
    let dir = tempfile::tempdir().unwrap();
    let returned = SelfManaged::new(client, resources(), dir.path())
        .ensure()
        .await
        .unwrap();

    assert_eq!(returned, ca.cert_pem(), "the CA was kept");
    let renewed = secret_field(&store, "tls.crt");
    assert_ne!(renewed, soon.cert_pem());
    let remaining = certs::not_after(&renewed)
        .unwrap()
        .duration_since(std::time::SystemTime::now())
        .unwrap();
    assert!(
        remaining > Duration::from_secs(300 * 86_400),
        "renewed for {remaining:?}"
    );
}

#[tokio::test]
async fn the_rotation_loop_restores_a_blanked_bundle_as_soon_as_the_configuration_changes() {
    let (events, rx) = tokio::sync::mpsc::unbounded_channel();
    let mut store = Store {
        watch: Some(rx),
        ..Store::default()
    };
    store
        .objects
        .insert(CONFIG.to_owned(), webhook_configuration());
    let (client, store) = start(store).await;
    let dir = tempfile::tempdir().unwrap();
    let stop = tokio_util::sync::CancellationToken::new();
    tokio::spawn(SelfManaged::new(client, resources(), dir.path()).run(stop.clone()));

    let wait_for_bundle = || async {
        for _ in 0..250 {
            if let Some(bundle) = ca_bundle(&store) {
                return bundle;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the caBundle was not written within 5 s");
    };
    let ca = wait_for_bundle().await;

    // The configuration is reapplied without caBundle; the watch reports it.
    let mut reapplied = webhook_configuration();
    reapplied["metadata"]["resourceVersion"] = json!("500");
    store
        .lock()
        .unwrap()
        .objects
        .insert(CONFIG.to_owned(), reapplied.clone());
    events
        .send(json!({"type": "MODIFIED", "object": reapplied}))
        .unwrap();
    // The periodic recheck is minutes away: only the watch can restore it this fast.
    assert_eq!(wait_for_bundle().await, ca);
    stop.cancel();
}

#[tokio::test]
async fn the_validating_configuration_gets_the_same_ca_bundle() {
    let mut store = Store::default();
    store
        .objects
        .insert(CONFIG.to_owned(), webhook_configuration());
    store.objects.insert(
        VALIDATING.to_owned(),
        json!({
            "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
            "metadata": {"name": defaults::VALIDATING_WEBHOOK_CONFIGURATION_NAME, "resourceVersion": "1"},
            "webhooks": [{
                "name": "workloads.azure-workload-identity.io",
                "admissionReviewVersions": ["v1", "v1beta1"], "sideEffects": "None",
                "clientConfig": {"service": {"name": defaults::SERVICE_NAME, "namespace": "wi-system", "path": "/validate-workloads"}}
            }]
        }),
    );
    let (client, store) = start(store).await;
    let dir = tempfile::tempdir().unwrap();
    let resources = WebhookResources {
        validating_webhook_configuration: defaults::VALIDATING_WEBHOOK_CONFIGURATION_NAME
            .to_owned(),
        ..resources()
    };
    let ca = SelfManaged::new(client, resources, dir.path())
        .ensure()
        .await
        .unwrap();

    let store = store.lock().unwrap();
    let bundle = |path: &str| {
        let encoded = store.objects[path]["webhooks"][0]["clientConfig"]["caBundle"]
            .as_str()
            .unwrap_or_else(|| panic!("{path} has no caBundle"));
        String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .unwrap(),
        )
        .unwrap()
    };
    assert_eq!(bundle(CONFIG), ca);
    assert_eq!(
        bundle(VALIDATING),
        ca,
        "the validating configuration trusts the same CA"
    );
}
