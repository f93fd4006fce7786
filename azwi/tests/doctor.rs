//! `azwi doctor` against a real kube-apiserver: a deliberately broken
//! setup produces each finding, a correct one none (exit 0), `--check-entra`
//! exchanges a token issued now at the emulator trusting the control plane's
//! issuer, and a user whose RBAC denies most reads gets notes, not a crash.
//!
//! One control plane serves every case: cluster-wide objects (the webhook
//! registration, the CSIDriver, the CSI provider DaemonSet) are broken
//! first, then mended. No controller runs: the statuses the provider's
//! DaemonSet and the ExternalSecrets report are written through their
//! status subresources, as the controllers would. Without a
//! control plane (see `tests/control-plane/install.sh`) this test fails; it
//! is never skipped.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any unexpected error"
)]

use std::{path::Path, process::Command, time::Duration};

use azure_wi_control_plane::ControlPlane;
use azure_wi_core::names::{
    CLIENT_ID_ANNOTATION, CLIENT_ID_ENV, FEDERATED_TOKEN_FILE_ENV, TENANT_ID_ANNOTATION,
    TOKEN_FILE_PATH, USE_LABEL, service_account_subject,
};
use azure_wi_emulator::{
    Config, Emulator,
    config::{DEMO_CLIENT_ID, DEMO_TENANT},
};
use base64::Engine as _;
use kube::{
    Api, Client,
    api::{ApiResource, DeleteParams, DynamicObject, Patch, PatchParams, PostParams},
};
use serde_json::{Value, json};

const OTHER_CLIENT_ID: &str = "99999999-8d4a-4b6f-9e2d-7a1c5b8e0f34";

/// Runs `azwi doctor` with `args`; returns exit code, stdout, stderr.
fn doctor(args: &[&str], envs: &[(&str, &str)]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_azwi"))
        .arg("doctor")
        .args(args)
        .envs(envs.iter().copied())
        .output()
        .unwrap();
    (
        output.status.code().unwrap(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

/// `doctor -o json` parsed; the rules found, sorted.
fn doctor_json(args: &[&str], envs: &[(&str, &str)]) -> (i32, Value, Vec<String>) {
    let mut all = args.to_vec();
    all.extend(["-o", "json"]);
    let (code, stdout, stderr) = doctor(&all, envs);
    let report: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{e}: stdout {stdout:?}, stderr {stderr:?}"));
    assert_eq!(report["exit_code"], code, "{report:#}");
    let mut rules: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] != "info")
        .map(|f| f["rule"].as_str().unwrap().to_owned())
        .collect();
    rules.sort();
    (code, report, rules)
}

/// Creates any object from its JSON (kind and apiVersion in it), retrying
/// while its CRD is not served yet.
async fn create(client: &Client, plural: &str, object: Value) {
    let (group, version) = match object["apiVersion"].as_str().unwrap().split_once('/') {
        Some((g, v)) => (g.to_owned(), v.to_owned()),
        None => (
            String::new(),
            object["apiVersion"].as_str().unwrap().to_owned(),
        ),
    };
    let resource = ApiResource {
        group,
        version,
        api_version: object["apiVersion"].as_str().unwrap().to_owned(),
        kind: object["kind"].as_str().unwrap().to_owned(),
        plural: plural.to_owned(),
    };
    let api: Api<DynamicObject> = match object["metadata"]["namespace"].as_str() {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &resource),
        None => Api::all_with(client.clone(), &resource),
    };
    let typed: DynamicObject = serde_json::from_value(object.clone()).unwrap();
    for _ in 0..100 {
        match api.create(&PostParams::default(), &typed).await {
            Ok(_) => return,
            Err(kube::Error::Api(s)) if s.code == 404 => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("creating {object}: {e}"),
        }
    }
    panic!("{plural} never served");
}

/// Creates a namespaced object once: false when its API is not served.
async fn create_once(client: &Client, plural: &str, object: Value) -> bool {
    let version = object["apiVersion"].as_str().unwrap();
    let (group, short) = version.split_once('/').unwrap();
    let resource = ApiResource {
        group: group.to_owned(),
        version: short.to_owned(),
        api_version: version.to_owned(),
        kind: object["kind"].as_str().unwrap().to_owned(),
        plural: plural.to_owned(),
    };
    let ns = object["metadata"]["namespace"].as_str().unwrap();
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &resource);
    let typed: DynamicObject = serde_json::from_value(object.clone()).unwrap();
    match api.create(&PostParams::default(), &typed).await {
        Ok(_) => true,
        Err(kube::Error::Api(s)) if s.code == 404 => false,
        Err(e) => panic!("creating {object}: {e}"),
    }
}

fn crd(group: &str, kind: &str, plural: &str) -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("{plural}.{group}")},
        "spec": {
            "group": group, "scope": "Namespaced",
            "names": {"plural": plural, "kind": kind},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]
        }
    })
}

fn namespace(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
}

fn service_account(ns: &str, name: &str, client_id: Option<&str>) -> Value {
    let mut annotations = serde_json::Map::new();
    if let Some(id) = client_id {
        annotations.insert(CLIENT_ID_ANNOTATION.to_owned(), id.into());
        annotations.insert(TENANT_ID_ANNOTATION.to_owned(), DEMO_TENANT.into());
    }
    json!({"apiVersion": "v1", "kind": "ServiceAccount",
        "metadata": {"name": name, "namespace": ns, "annotations": annotations}})
}

/// A labelled pod; `env` as the webhook would have left it.
fn pod(ns: &str, name: &str, sa: &str, env: &Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "labels": {USE_LABEL: "true"}},
        "spec": {"serviceAccountName": sa, "containers": [{"name": "app", "image": "app:1", "env": env}]}})
}

fn mutated_env(client_id: &str) -> Value {
    json!([{"name": CLIENT_ID_ENV, "value": client_id},
           {"name": FEDERATED_TOKEN_FILE_ENV, "value": TOKEN_FILE_PATH}])
}

fn deployment(ns: &str, name: &str, sa: &str, on_template: bool) -> Value {
    let (own, template) = if on_template {
        (json!({}), json!({"app": name, USE_LABEL: "true"}))
    } else {
        (json!({USE_LABEL: "true"}), json!({"app": name}))
    };
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns, "labels": own},
        "spec": {"selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": template},
                "spec": {"serviceAccountName": sa, "containers": [{"name": "app", "image": "app:1"}]}}}})
}

fn webhook_config(ca_bundle: Option<&str>) -> Value {
    let mut client_config = json!({"service": {"namespace": "azwi-system", "name": "webhook", "path": "/mutate-v1-pod"}});
    if let Some(ca) = ca_bundle {
        client_config["caBundle"] = ca.into();
    }
    json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
        "metadata": {"name": "azure-wi-webhook"},
        "webhooks": [{"name": "mutation.azure-workload-identity.io",
            "objectSelector": {"matchLabels": {USE_LABEL: "true"}},
            "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}],
            "clientConfig": client_config, "failurePolicy": "Ignore", "timeoutSeconds": 1,
            "sideEffects": "None", "admissionReviewVersions": ["v1"]}]})
}

fn csi_driver(token_audience: Option<&str>) -> Value {
    let mut spec = json!({"podInfoOnMount": true, "attachRequired": false, "volumeLifecycleModes": ["Ephemeral"]});
    if let Some(audience) = token_audience {
        spec["tokenRequests"] = json!([{"audience": audience}]);
    }
    json!({"apiVersion": "storage.k8s.io/v1", "kind": "CSIDriver",
        "metadata": {"name": "secrets-store.csi.k8s.io"}, "spec": spec})
}

fn provider_class(ns: &str) -> Value {
    json!({"apiVersion": "secrets-store.csi.x-k8s.io/v1", "kind": "SecretProviderClass",
        "metadata": {"name": "azure-keyvault-provider", "namespace": ns},
        "spec": {"provider": "azure", "parameters": {"clientID": DEMO_CLIENT_ID, "keyvaultName": "orders-kv", "tenantId": DEMO_TENANT}}})
}

fn secret_store(ns: &str, account_namespace: Option<&str>) -> Value {
    let mut account = json!({"name": "orders-api"});
    if let Some(other) = account_namespace {
        account["namespace"] = other.into();
    }
    json!({"apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
        "metadata": {"name": "azure-kv", "namespace": ns},
        "spec": {"provider": {"azurekv": {"authType": "WorkloadIdentity",
            "vaultUrl": "https://orders-kv.vault.azure.net", "serviceAccountRef": account}}}})
}

fn external_secret(ns: &str) -> Value {
    json!({"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
        "metadata": {"name": "orders-db", "namespace": ns},
        "spec": {"secretStoreRef": {"kind": "SecretStore", "name": "azure-kv"},
            "target": {"name": "orders-db"},
            "data": [{"secretKey": "password", "remoteRef": {"key": "db-password"}}]}})
}

const SYNC_ERROR: &str =
    "could not get secret data from provider: key \"db-password\" not found in vault orders-kv";

/// Writes an ExternalSecret's Ready condition through its status
/// subresource, as secret-sync (or ESO) would.
async fn set_ready(c: &Client, ns: &str, name: &str, ready: bool) {
    let resource = ApiResource {
        group: "external-secrets.io".to_owned(),
        version: "v1".to_owned(),
        api_version: "external-secrets.io/v1".to_owned(),
        kind: "ExternalSecret".to_owned(),
        plural: "externalsecrets".to_owned(),
    };
    let (status, reason, message) = if ready {
        ("True", "SecretSynced", "secret synced")
    } else {
        ("False", "SecretSyncedError", SYNC_ERROR)
    };
    let condition = json!({"type": "Ready", "status": status, "reason": reason,
        "message": message, "lastTransitionTime": "2026-11-30T17:00:00Z"});
    Api::<DynamicObject>::namespaced_with(c.clone(), ns, &resource)
        .patch_status(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"conditions": [condition]}})),
        )
        .await
        .unwrap();
}

/// The project's CSI provider DaemonSet as `deploy/components/csi-provider`
/// installs it (reduced), in kube-system.
fn provider_daemon_set() -> Value {
    let labels = json!({"app.kubernetes.io/name": "azure-wi-csi-provider"});
    json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": "azure-wi-csi-provider", "namespace": "kube-system", "labels": labels},
        "spec": {"selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels},
                "spec": {"containers": [{"name": "provider", "image": "azure-wi-csi-provider:latest"}]}}}})
}

/// Sets the provider DaemonSet's rollout status, as the DaemonSet
/// controller would: one node, `ready` of its pods ready.
async fn set_provider_ready(c: &Client, ready: i32) {
    Api::<k8s_openapi::api::apps::v1::DaemonSet>::namespaced(c.clone(), "kube-system")
        .patch_status(
            "azure-wi-csi-provider",
            &PatchParams::default(),
            &Patch::Merge(
                json!({"status": {"desiredNumberScheduled": 1, "currentNumberScheduled": 1,
                "numberMisscheduled": 0, "numberReady": ready}}),
            ),
        )
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_finds_each_break_and_passes_a_correct_setup() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let plane = ControlPlane::start().await.unwrap();
    let client = plane.client().await.unwrap();
    let kubeconfig = plane.kubeconfig().to_str().unwrap();
    let c = &client;

    create(
        c,
        "customresourcedefinitions",
        crd(
            "secrets-store.csi.x-k8s.io",
            "SecretProviderClass",
            "secretproviderclasses",
        ),
    )
    .await;
    create(
        c,
        "customresourcedefinitions",
        crd("external-secrets.io", "SecretStore", "secretstores"),
    )
    .await;
    create(
        c,
        "customresourcedefinitions",
        crd("external-secrets.io", "ExternalSecret", "externalsecrets"),
    )
    .await;
    for ns in ["broken", "good", "azwi-system"] {
        create(c, "namespaces", namespace(ns)).await;
    }
    // Pods first: the webhook registered below has no server to call.
    create(
        c,
        "serviceaccounts",
        service_account("broken", "no-id", None),
    )
    .await;
    create(
        c,
        "serviceaccounts",
        service_account("broken", "bad-id", Some("orders-api")),
    )
    .await;
    create(
        c,
        "serviceaccounts",
        service_account("broken", "shadowed", Some(DEMO_CLIENT_ID)),
    )
    .await;
    create(c, "pods", pod("broken", "unmutated", "no-id", &json!([]))).await;
    create(
        c,
        "pods",
        pod("broken", "bad-id", "bad-id", &mutated_env("orders-api")),
    )
    .await;
    create(
        c,
        "pods",
        pod(
            "broken",
            "shadowing",
            "shadowed",
            &mutated_env(OTHER_CLIENT_ID),
        ),
    )
    .await;
    create(
        c,
        "deployments",
        deployment("broken", "mislabelled", "shadowed", false),
    )
    .await;
    create(
        c,
        "deployments",
        deployment("broken", "ghost", "never-created", true),
    )
    .await;
    create(c, "secretproviderclasses", provider_class("broken")).await;
    create(
        c,
        "secretstores",
        secret_store("broken", Some("external-secrets")),
    )
    .await;
    create(c, "externalsecrets", external_secret("broken")).await;
    set_ready(c, "broken", "orders-db", false).await;

    create(
        c,
        "serviceaccounts",
        service_account("good", "orders-api", Some(DEMO_CLIENT_ID)),
    )
    .await;
    let mut good_pod = pod(
        "good",
        "orders-api-1",
        "orders-api",
        &mutated_env(DEMO_CLIENT_ID),
    );
    // Harmless, and said so (info).
    good_pod["spec"]["automountServiceAccountToken"] = false.into();
    create(c, "pods", good_pod).await;
    create(
        c,
        "deployments",
        deployment("good", "orders-api", "orders-api", true),
    )
    .await;
    create(c, "secretproviderclasses", provider_class("good")).await;
    create(c, "secretstores", secret_store("good", None)).await;
    create(c, "externalsecrets", external_secret("good")).await;
    set_ready(c, "good", "orders-db", true).await;
    // Not reconciled yet: no status, nothing to say.
    let mut pending = external_secret("good");
    pending["metadata"]["name"] = "pending".into();
    create(c, "externalsecrets", pending).await;

    // -- no webhook registered at all, no Azure CSI provider for the class
    let (code, report, rules) = doctor_json(&["--kubeconfig", kubeconfig, "-n", "good"], &[]);
    assert_eq!(code, 1, "{report:#}");
    assert!(rules.contains(&"no-webhook".to_owned()), "{rules:?}");
    assert!(
        rules.contains(&"csi-provider-missing".to_owned()),
        "{rules:?}"
    );

    // Broken cluster-wide wiring: no caBundle, a Service without endpoints,
    // a CSI driver without tokenRequests.
    create(c, "mutatingwebhookconfigurations", webhook_config(None)).await;
    create(
        c,
        "services",
        json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "webhook", "namespace": "azwi-system"},
        "spec": {"ports": [{"port": 443, "targetPort": 9443}]}}),
    )
    .await;
    create(c, "csidrivers", csi_driver(None)).await;
    create(c, "daemonsets", provider_daemon_set()).await;
    set_provider_ready(c, 0).await;

    // -- the broken namespace: every finding, text and JSON
    let (code, report, rules) = doctor_json(&["--kubeconfig", kubeconfig, "-n", "broken"], &[]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(
        rules,
        [
            "client-id-not-guid",
            "client-id-shadowed",
            "csi-no-token-requests",
            "csi-provider-not-ready",
            "external-secret-not-ready",
            "label-on-workload-only",
            "no-client-id",
            "pod-not-mutated",
            "secret-store-namespace-ignored",
            "service-account-missing",
            "webhook-no-ca-bundle",
            "webhook-no-endpoints",
        ],
        "{report:#}"
    );
    let finding = |rule: &str| {
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["rule"] == rule)
            .unwrap()
            .clone()
    };
    let provider = finding("csi-provider-not-ready");
    assert_eq!(
        provider["subject"], "DaemonSet kube-system/azure-wi-csi-provider",
        "{provider:#}"
    );
    assert!(
        provider["evidence"][0]
            .as_str()
            .unwrap()
            .starts_with("0 of 1 desired pods ready"),
        "{provider:#}"
    );
    assert!(
        provider["fix"]
            .as_str()
            .unwrap()
            .contains("kubectl -n kube-system logs ds/azure-wi-csi-provider"),
        "{provider:#}"
    );
    let unsynced = finding("external-secret-not-ready");
    assert_eq!(
        unsynced["evidence"],
        json!([
            "status.conditions[Ready]: False, reason SecretSyncedError since 2026-11-30T17:00:00Z",
            format!("message: {SYNC_ERROR}")
        ]),
        "{unsynced:#}"
    );
    assert!(
        unsynced["fix"]
            .as_str()
            .unwrap()
            .contains("kubectl -n broken describe externalsecret orders-db"),
        "{unsynced:#}"
    );
    let (code, text, stderr) = doctor(&["-n", "broken"], &[("KUBECONFIG", kubeconfig)]);
    assert_eq!(code, 1, "{stderr}");
    println!("---- azwi doctor -n broken\n{text}");
    assert!(
        text.starts_with("azwi doctor (namespace broken): "),
        "{text}"
    );
    assert!(
        text.find("\nERROR").unwrap() < text.find("\nWARNING").unwrap(),
        "worst first: {text}"
    );
    assert!(!text.contains("eyJ"), "a token was printed: {text}");

    // -- one target: only its findings
    let (code, report, rules) = doctor_json(
        &[
            "--kubeconfig",
            kubeconfig,
            "-n",
            "broken",
            "deploy/mislabelled",
        ],
        &[],
    );
    assert_eq!(code, 1);
    assert!(
        rules.contains(&"label-on-workload-only".to_owned())
            && !rules
                .iter()
                .any(|r| r == "pod-not-mutated" || r == "service-account-missing"),
        "{report:#}"
    );
    let (code, _, rules) = doctor_json(
        &["--kubeconfig", kubeconfig, "-n", "broken", "pod/shadowing"],
        &[],
    );
    assert_eq!(code, 1);
    assert!(
        rules.contains(&"client-id-shadowed".to_owned()),
        "{rules:?}"
    );
    assert!(
        !rules
            .iter()
            .any(|r| r == "pod-not-mutated" || r == "label-on-workload-only"),
        "{rules:?}"
    );

    // Mend the cluster-wide wiring.
    let ca = base64::engine::general_purpose::STANDARD.encode(plane.ca_pem());
    Api::<k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration>::all(
        c.clone(),
    )
    .delete("azure-wi-webhook", &DeleteParams::default())
    .await
    .unwrap();
    create(
        c,
        "mutatingwebhookconfigurations",
        webhook_config(Some(&ca)),
    )
    .await;
    // discovery.k8s.io/v1 from Kubernetes 1.21; the harness's may be older.
    let mut created = false;
    for version in ["discovery.k8s.io/v1", "discovery.k8s.io/v1beta1"] {
        let slice = json!({"apiVersion": version, "kind": "EndpointSlice",
            "metadata": {"name": "webhook-1", "namespace": "azwi-system",
                "labels": {"kubernetes.io/service-name": "webhook"}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": ["10.0.0.50"], "conditions": {"ready": true}}],
            "ports": [{"port": 9443, "protocol": "TCP"}]});
        if create_once(c, "endpointslices", slice).await {
            created = true;
            break;
        }
    }
    assert!(created, "the API server serves no EndpointSlices");
    Api::<k8s_openapi::api::storage::v1::CSIDriver>::all(c.clone())
        .delete("secrets-store.csi.k8s.io", &DeleteParams::default())
        .await
        .unwrap();
    create(
        c,
        "csidrivers",
        csi_driver(Some(azure_wi_control_plane::TOKEN_EXCHANGE_AUDIENCE)),
    )
    .await;
    set_provider_ready(c, 1).await;

    // -- the correct namespace: nothing wrong, the credential to create
    let (code, report, rules) = doctor_json(&["--kubeconfig", kubeconfig, "-n", "good"], &[]);
    assert_eq!((code, rules.as_slice()), (0, &[][..]), "{report:#}");
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule"] == "automount-disabled-harmless" && f["severity"] == "info"),
        "{report:#}"
    );
    let fic = &report["federated_credentials"][0];
    assert_eq!(fic["issuer"], plane.issuer());
    assert_eq!(
        fic["subject"],
        service_account_subject("good", "orders-api")
    );
    assert_eq!(
        fic["audience"],
        azure_wi_control_plane::TOKEN_EXCHANGE_AUDIENCE
    );
    let (code, text, _) = doctor(&["--kubeconfig", kubeconfig, "-n", "good"], &[]);
    assert_eq!(code, 0);
    println!("---- azwi doctor -n good\n{text}");
    assert!(text.contains("(has no trailing slash)"), "{text}");
    assert!(
        text.contains("az identity federated-credential create --name good-orders-api"),
        "{text}"
    );

    // -- every namespace: the broken ones' findings, and the CRD that is
    // not installed said in JSON
    let (code, report, rules) = doctor_json(&["--kubeconfig", kubeconfig, "-A"], &[]);
    assert_eq!(code, 1, "{report:#}");
    assert!(rules.contains(&"pod-not-mutated".to_owned()), "{rules:?}");
    assert!(
        !rules.iter().any(|r| r.starts_with("webhook-")),
        "{rules:?}"
    );
    assert!(
        report["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["message"]
                .as_str()
                .unwrap()
                .contains("ClusterSecretStore CRD not installed")),
        "{report:#}"
    );

    check_entra(&plane, kubeconfig).await;
    rbac_limited(&plane, c).await;

    // -- an issuer Entra cannot read: the harness's anonymous binding gone
    Api::<k8s_openapi::api::rbac::v1::ClusterRoleBinding>::all(c.clone())
        .delete("azwi-test-issuer-discovery", &DeleteParams::default())
        .await
        .unwrap();
    let (code, report, rules) = doctor_json(&["--kubeconfig", kubeconfig, "-n", "good"], &[]);
    assert_eq!(
        (code, rules.as_slice()),
        (1, &["issuer-not-public".to_owned()][..]),
        "{report:#}"
    );

    // -- no cluster: exit 2
    let (code, _, stderr) = doctor(&["--kubeconfig", "/nonexistent/kubeconfig"], &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("--kubeconfig /nonexistent/kubeconfig"),
        "{stderr}"
    );
}

/// `--check-entra` at the emulator, which trusts the control plane's issuer.
async fn check_entra(plane: &ControlPlane, kubeconfig: &str) {
    let mut config = Config::demo();
    config.issuer = plane.issuer().to_owned();
    let credential = &mut config.identities[0].federated_credentials[0];
    credential.issuer = plane.issuer().to_owned();
    credential.subject = service_account_subject("good", "orders-api");
    config.trusted_issuer_ca_pems = vec![plane.ca_pem().to_owned()];
    let emulator = Emulator::start(config).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("emulator-ca.pem");
    std::fs::write(&ca_file, emulator.ca_pem()).unwrap();
    let authority = emulator.authority_host();
    let proxy = emulator.proxy_url();
    let envs = [
        ("AZURE_AUTHORITY_HOST", authority.as_str()),
        ("HTTPS_PROXY", proxy.as_str()),
        ("NO_PROXY", "127.0.0.1"),
        ("AZURE_WI_EXTRA_CA_FILE", ca_file.to_str().unwrap()),
    ];
    let args = ["--kubeconfig", kubeconfig, "-n", "good", "--check-entra"];

    let (code, report, rules) = doctor_json(&args, &envs);
    assert_eq!((code, rules.as_slice()), (0, &[][..]), "{report:#}");
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule"] == "entra-exchange-ok"),
        "{report:#}"
    );

    // A typo in the federated credential's subject: found in one command.
    emulator
        .update_config(|c| {
            c.identities[0].federated_credentials[0].subject =
                "system:serviceaccount:good:orders-apl".into();
        })
        .unwrap();
    let (code, text, stderr) = doctor(&args, &envs);
    assert_eq!(code, 1, "{text}{stderr}");
    println!("---- azwi doctor -n good --check-entra (subject typo)\n{text}");
    let (_, report, rules) = doctor_json(&args, &envs);
    assert_eq!(rules, ["entra-exchange-refused"], "{report:#}");
    let refused = &report["findings"][0];
    assert!(
        refused["evidence"][0].as_str().unwrap().contains("AADSTS"),
        "{refused:#}"
    );
    assert!(
        refused["fix"].as_str().unwrap().contains("subject"),
        "{refused:#}"
    );
}

/// A user allowed to list pods and ServiceAccounts in one namespace only: the
/// other checks become "could not check" notes and the exit code is 2.
async fn rbac_limited(plane: &ControlPlane, c: &Client) {
    create(
        c,
        "serviceaccounts",
        service_account("good", "viewer", None),
    )
    .await;
    create(c, "roles", json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": "viewer", "namespace": "good"},
        "rules": [{"apiGroups": [""], "resources": ["pods", "serviceaccounts"], "verbs": ["list", "get"]}]})).await;
    create(
        c,
        "rolebindings",
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "viewer", "namespace": "good"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "viewer"},
        "subjects": [{"kind": "ServiceAccount", "name": "viewer", "namespace": "good"}]}),
    )
    .await;
    let request: k8s_openapi::api::authentication::v1::TokenRequest =
        serde_json::from_value(json!({"spec": {"audiences": []}})).unwrap();
    let token = Api::<k8s_openapi::api::core::v1::ServiceAccount>::namespaced(c.clone(), "good")
        .create_token_request("viewer", &PostParams::default(), &request)
        .await
        .unwrap()
        .status
        .unwrap()
        .token;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("viewer.kubeconfig");
    write_token_kubeconfig(&path, plane, &token);

    let (code, text, stderr) = doctor(&["--kubeconfig", path.to_str().unwrap(), "-n", "good"], &[]);
    println!("---- azwi doctor -n good (RBAC-limited user)\n{text}");
    assert_eq!(code, 2, "{text}{stderr}");
    for denied in [
        "could not check deployments: forbidden (need list on deployments)",
        "could not check mutatingwebhookconfigurations: forbidden (need list on mutatingwebhookconfigurations)",
        "could not check secretproviderclasses: forbidden (need list on secretproviderclasses)",
        "could not check the Azure CSI provider: forbidden (need list on daemonsets in all namespaces)",
        "could not check externalsecrets: forbidden (need list on externalsecrets)",
        "forbidden (need create on serviceaccounts/token)",
    ] {
        assert!(text.contains(denied), "{denied:?} missing from:\n{text}");
    }
}

fn write_token_kubeconfig(path: &Path, plane: &ControlPlane, token: &str) {
    let ca = base64::engine::general_purpose::STANDARD.encode(plane.ca_pem());
    let yaml = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: plane\n  cluster:\n    server: {}\n    certificate-authority-data: {ca}\nusers:\n- name: viewer\n  user:\n    token: {token}\ncontexts:\n- name: viewer\n  context:\n    cluster: plane\n    user: viewer\n    namespace: good\ncurrent-context: viewer\n",
        plane.url()
    );
    std::fs::write(path, yaml).unwrap();
}
