//! `secret-sync preflight` as a user runs it, on a real kube-apiserver: a
//! user whose RBAC allows only get and list on External Secrets objects,
//! a kubeconfig with its token; first a cluster of objects secret-sync
//! serves (exit 0), then objects written for ESO (another provider, a
//! managed identity, `syncWindows`, a template function secret-sync lacks,
//! a PushSecret, a ClusterExternalSecret; exit 1, text and JSON), then a
//! user without the RBAC and an API server that is not there (exit 2).
#![allow(clippy::unwrap_used)]

mod support;

use std::{
    path::Path,
    process::Command,
    time::{Duration, Instant},
};

use azure_wi_control_plane::ControlPlane;
use base64::Engine as _;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::{
    Api, Client,
    api::{ApiResource, DynamicObject, GroupVersionKind, PostParams},
};
use serde_json::{Value, json};
use support::{install_crds, namespace};

/// Creates each document of a YAML stream at its own apiVersion, in its
/// namespace (or `namespace`), cluster-scoped kinds cluster-wide.
async fn apply(client: &Client, namespace: &str, yaml: &str) {
    use serde::Deserialize as _;
    for doc in yaml_serde::Deserializer::from_str(yaml) {
        let value = Value::deserialize(doc).unwrap();
        let (group, version) = match value["apiVersion"].as_str().unwrap().split_once('/') {
            Some((g, v)) => (g.to_owned(), v.to_owned()),
            None => (
                String::new(),
                value["apiVersion"].as_str().unwrap().to_owned(),
            ),
        };
        let kind = value["kind"].as_str().unwrap();
        let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(&group, &version, kind));
        let object: DynamicObject = serde_json::from_value(value.clone()).unwrap();
        let api: Api<DynamicObject> = match kind {
            "ClusterRole"
            | "ClusterRoleBinding"
            | "ClusterSecretStore"
            | "ClusterExternalSecret" => Api::all_with(client.clone(), &resource),
            _ => Api::namespaced_with(
                client.clone(),
                value["metadata"]["namespace"].as_str().unwrap_or(namespace),
                &resource,
            ),
        };
        api.create(&PostParams::default(), &object)
            .await
            .unwrap_or_else(|e| panic!("applying {kind}: {e}"));
    }
}

/// A user of the control plane: a ServiceAccount's token in a kubeconfig.
fn write_kubeconfig(path: &Path, server: &str, ca_pem: &str, token: &str) {
    let ca = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    std::fs::write(
        path,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: plane\n  cluster:\n    server: {server}\n    certificate-authority-data: {ca}\nusers:\n- name: user\n  user:\n    token: {token}\ncontexts:\n- name: user\n  context:\n    cluster: plane\n    user: user\ncurrent-context: user\n"
        ),
    )
    .unwrap();
}

/// A token for ServiceAccount `default/name`.
async fn token(client: &Client, name: &str) -> String {
    apply(
        client,
        "default",
        &format!("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {name}\n"),
    )
    .await;
    let request: k8s_openapi::api::authentication::v1::TokenRequest =
        serde_json::from_value(json!({"spec": {"audiences": []}})).unwrap();
    Api::<k8s_openapi::api::core::v1::ServiceAccount>::namespaced(client.clone(), "default")
        .create_token_request(name, &PostParams::default(), &request)
        .await
        .unwrap()
        .status
        .unwrap()
        .token
}

/// Runs `secret-sync preflight` with `args`: exit code, stdout, stderr.
fn preflight(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_secret-sync"))
        .arg("preflight")
        .args(args)
        .env_remove("KUBECONFIG")
        .output()
        .unwrap();
    (
        output.status.code().unwrap(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

fn preflight_json(kubeconfig: &str) -> (i32, Value) {
    let (code, stdout, stderr) = preflight(&["--kubeconfig", kubeconfig, "-o", "json"]);
    let report = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}{stderr}"));
    (code, report)
}

/// ESO's ClusterExternalSecret and PushSecret CRDs as a cluster running
/// ESO has them (names, scope, versions; the schema keeps every field),
/// unless secret-sync's own are installed by then.
async fn install_eso_only_crds(client: &Client) {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let open = json!({"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}});
    for (kind, plural, scope, versions) in [
        (
            "ClusterExternalSecret",
            "clusterexternalsecrets",
            "Cluster",
            json!([
                {"name": "v1", "served": true, "storage": true, "schema": open},
                {"name": "v1beta1", "served": true, "storage": false, "schema": open},
            ]),
        ),
        (
            "PushSecret",
            "pushsecrets",
            "Namespaced",
            json!([{"name": "v1alpha1", "served": true, "storage": true, "schema": open}]),
        ),
    ] {
        let name = format!("{plural}.external-secrets.io");
        let crd: CustomResourceDefinition = serde_json::from_value(json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": name},
            "spec": {
                "group": "external-secrets.io",
                "names": {"kind": kind, "plural": plural, "listKind": format!("{kind}List"), "singular": kind.to_lowercase()},
                "scope": scope,
                "versions": versions,
            },
        }))
        .unwrap();
        match crds.create(&PostParams::default(), &crd).await {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.code == 409 => {}
            Err(e) => panic!("creating CRD {name}: {e}"),
        }
        let started = Instant::now();
        while !crds
            .get(&name)
            .await
            .ok()
            .and_then(|c| c.status)
            .and_then(|s| s.conditions)
            .is_some_and(|c| {
                c.iter()
                    .any(|c| c.type_ == "Established" && c.status == "True")
            })
        {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "CRD {name} not established"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    // Discovery follows the new CRDs within a moment.
    let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(
        "external-secrets.io",
        "v1alpha1",
        "PushSecret",
    ));
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
    let started = Instant::now();
    while api.list(&Default::default()).await.is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "pushsecrets not served"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Whether the CRD `name` is installed.
async fn installed(client: &Client, name: &str) -> bool {
    Api::<CustomResourceDefinition>::all(client.clone())
        .get_opt(name)
        .await
        .unwrap()
        .is_some()
}

/// What secret-sync serves: walkthrough 3's store and ExternalSecret,
/// placeholders filled.
const SERVED: &str = r#"
apiVersion: external-secrets.io/v1beta1
kind: SecretStore
metadata:
  name: azure-secret-store
  namespace: app
spec:
  provider:
    azurekv:
      authType: WorkloadIdentity
      vaultUrl: "https://kv1.vault.azure.net"
      serviceAccountRef:
        name: app-sa
---
apiVersion: external-secrets.io/v1beta1
kind: ExternalSecret
metadata:
  name: my-secret
  namespace: app
spec:
  refreshInterval: 1h
  secretStoreRef:
    name: azure-secret-store
    kind: SecretStore
  target:
    name: my-k8s-secret
  data:
  - secretKey: db-password
    remoteRef:
      key: database-password
"#;

/// Objects written for ESO, from ESO's docs (`docs/snippets/
/// azkv-secret-store-mi.yaml`, `gitops/crs/clusterSecretStore.yaml`,
/// `azkv-pushsecret-secret.yaml`, `full-cluster-external-secret.yaml`,
/// `docs/api/externalsecret.md`'s `syncWindows`,
/// `template-v2-from-secret.yaml`), trimmed.
const WRITTEN_FOR_ESO: &str = r#"
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata:
  name: azure-mi
  namespace: eso
spec:
  provider:
    azurekv:
      authType: ManagedIdentity
      identityId: "00000000-0000-0000-0000-000000000000"
      vaultUrl: "https://my-keyvault-name.vault.azure.net"
---
apiVersion: external-secrets.io/v1
kind: ClusterSecretStore
metadata:
  name: vault-backend-global
spec:
  provider:
    vault:
      server: "https://vault.your-domain.com"
      path: secret
      version: v2
      auth:
        tokenSecretRef:
          name: "vault-token-global"
          key: "token"
          namespace: external-secrets
---
apiVersion: external-secrets.io/v1beta1
kind: ExternalSecret
metadata:
  name: on-vault
  namespace: eso
spec:
  secretStoreRef:
    name: vault-backend-global
    kind: ClusterSecretStore
  data:
  - secretKey: password
    remoteRef:
      key: db-password
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: windows
  namespace: eso
spec:
  refreshInterval: 1h
  secretStoreRef:
    name: azure-mi
  syncWindows:
    kind: allow
    windows:
      - schedule: "0 9 * * 1-5"
        duration: 8h
  target:
    template:
      data:
        host: '{{ getHostByName "example.com" }}'
  data:
  - secretKey: password
    remoteRef:
      key: db-password
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: grafana-config-tpl
  namespace: eso
data:
  config.yaml: |
    datasources:
      - name: Graphite
        url: "{{ .uri }}"
        user: "{{ .user }}"
  annotations: |
    home: {{ env "HOME" }}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: grafana
  namespace: eso
spec:
  secretStoreRef:
    name: azure-store
  target:
    template:
      templateFrom:
      - configMap:
          name: grafana-config-tpl
          items:
          - key: config.yaml
      - target: Annotations
        configMap:
          name: grafana-config-tpl
          items:
          - key: annotations
            templateAs: KeysAndValues
  data:
  - secretKey: user
    remoteRef:
      key: grafana-user
---
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata:
  name: pushsecret-example
  namespace: eso
spec:
  refreshInterval: 1h0m0s
  deletionPolicy: Delete
  secretStoreRefs:
    - name: azure-mi
      kind: SecretStore
  selector:
    secret:
      name: source-secret
  data:
    - match:
        secretKey: source-key
        remoteRef:
          remoteKey: my-azkv-secret-name
---
apiVersion: external-secrets.io/v1
kind: ClusterExternalSecret
metadata:
  name: hello-world
spec:
  externalSecretName: hello-world-es
  namespaceSelectors:
  - matchLabels:
      cool: label
  refreshTime: "1m"
  externalSecretSpec:
    secretStoreRef:
      name: secret-store-name
      kind: SecretStore
    refreshInterval: "1h0m0s"
    target:
      name: my-secret
      immutable: true
    data:
    - secretKey: secret-key-to-be-managed
      remoteRef:
        key: provider-key
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preflight_reads_what_eso_was_given_and_says_what_is_not_served() {
    let plane = ControlPlane::start().await.unwrap();
    let admin = plane.client().await.unwrap();
    install_crds(&admin).await;
    namespace(&admin, "app").await;
    namespace(&admin, "eso").await;

    // The preflight's user: get and list on External Secrets objects,
    // nothing else.
    apply(
        &admin,
        "default",
        r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: preflight
rules:
- apiGroups: ["external-secrets.io"]
  resources: ["secretstores", "clustersecretstores", "externalsecrets", "clusterexternalsecrets", "pushsecrets"]
  verbs: ["get", "list"]
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["get"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: preflight
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: preflight
subjects:
- kind: ServiceAccount
  name: preflight
  namespace: default
"#,
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let reader = dir.path().join("preflight.kubeconfig");
    write_kubeconfig(
        &reader,
        plane.url(),
        plane.ca_pem(),
        &token(&admin, "preflight").await,
    );
    let reader = reader.to_str().unwrap();

    // (a) Only what secret-sync serves: exit 0; a kind whose CRD is not
    // installed is a note.
    apply(&admin, "app", SERVED).await;
    let absent: Vec<&str> = {
        let mut absent = Vec::new();
        for (kind, crd) in [
            (
                "ClusterExternalSecret",
                "clusterexternalsecrets.external-secrets.io",
            ),
            ("PushSecret", "pushsecrets.external-secrets.io"),
        ] {
            if !installed(&admin, crd).await {
                absent.push(kind);
            }
        }
        absent
    };
    let (code, text, stderr) = preflight(&["--kubeconfig", reader]);
    println!("---- secret-sync preflight (served)\n{text}{stderr}");
    assert_eq!(code, 0, "{text}{stderr}");
    assert!(text.contains(": everything is served\n"), "{text}");
    assert!(
        text.starts_with(if absent.is_empty() {
            "checked"
        } else {
            "note: "
        }),
        "{text}"
    );
    for kind in &absent {
        assert!(
            text.contains(&format!(
                "note: {kind}: not served by the API server (no external-secrets.io CRD installed); skipped\n"
            )),
            "{text}"
        );
    }
    let (code, report) = preflight_json(reader);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["served"], true);
    assert_eq!(report["findings"], json!([]));
    assert_eq!(report["checked"]["SecretStore"], 1);
    assert_eq!(report["checked"]["ExternalSecret"], 1);
    assert_eq!(report["checked"]["ClusterSecretStore"], 0);
    assert_eq!(report["notes"].as_array().unwrap().len(), absent.len());

    // (b) Objects written for ESO: exit 1, each named with why.
    install_eso_only_crds(&admin).await;
    apply(&admin, "eso", WRITTEN_FOR_ESO).await;
    let (code, text, stderr) = preflight(&["--kubeconfig", reader]);
    println!("---- secret-sync preflight (written for ESO)\n{text}{stderr}");
    assert_eq!(code, 1, "{text}{stderr}");
    for expected in [
        "SecretStore eso/azure-mi\n  not served: spec.provider.azurekv.authType: authType ManagedIdentity: authType ManagedIdentity is not served: this controller authenticates with workload identity only;",
        "  not served: spec.provider.azurekv.identityId: field not served: spec.provider.azurekv.identityId not supported by this controller",
        "ClusterSecretStore vault-backend-global\n  not served: spec.provider.vault: provider vault: the store's provider is vault; this controller serves provider azurekv only\n",
        "ExternalSecret eso/on-vault\n  not served: spec.secretStoreRef: store ClusterSecretStore vault-backend-global: its store ClusterSecretStore vault-backend-global is not served",
        "ExternalSecret eso/windows\n  not served: spec.syncWindows: field not served:",
        "  not served: spec.target.template.data.host: template function getHostByName: template: spec.target.template.data.host:1: function \"getHostByName\" not defined\n",
        "ClusterExternalSecret hello-world\n  not served: spec.externalSecretSpec.target.immutable: field not served: spec.externalSecretSpec.target.immutable not supported by this controller",
        "PushSecret eso/pushsecret-example\n  not served: spec.secretStoreRefs[0]: store SecretStore eso/azure-mi: its store SecretStore eso/azure-mi is not served (see the store's findings)\n",
        "ExternalSecret eso/grafana\n  not served: spec.target.template.templateFrom[1].configMap.items[0]: template function env: template: configmap/grafana-config-tpl/annotations:1: function \"env\" not defined\n",
        "checked 2 SecretStore, 1 ClusterSecretStore, 4 ExternalSecret, 1 ClusterExternalSecret, 1 PushSecret: 7 objects not served, 0 served differently\n",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from:\n{text}"
        );
    }
    assert!(
        !text.contains("app/"),
        "a served object has a finding:\n{text}"
    );
    assert!(!text.contains("note: "), "{text}");

    let (code, report) = preflight_json(reader);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(report["served"], false);
    let findings: Vec<(String, String, String, String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap_or("").to_owned();
            (
                s("kind"),
                format!("{}/{}", s("namespace"), s("name")),
                s("field"),
                s("what"),
                s("level"),
            )
        })
        .collect();
    let expected: Vec<(String, String, String, String, String)> = [
        (
            "SecretStore",
            "eso/azure-mi",
            "spec.provider.azurekv.authType",
            "authType ManagedIdentity",
        ),
        (
            "SecretStore",
            "eso/azure-mi",
            "spec.provider.azurekv.identityId",
            "field not served",
        ),
        (
            "ClusterSecretStore",
            "/vault-backend-global",
            "spec.provider.vault",
            "provider vault",
        ),
        (
            "ExternalSecret",
            "eso/grafana",
            "spec.target.template.templateFrom[1].configMap.items[0]",
            "template function env",
        ),
        (
            "ExternalSecret",
            "eso/on-vault",
            "spec.secretStoreRef",
            "store ClusterSecretStore vault-backend-global",
        ),
        (
            "ExternalSecret",
            "eso/windows",
            "spec.syncWindows",
            "field not served",
        ),
        (
            "ExternalSecret",
            "eso/windows",
            "spec.target.template.data.host",
            "template function getHostByName",
        ),
        (
            "ExternalSecret",
            "eso/windows",
            "spec.secretStoreRef",
            "store SecretStore eso/azure-mi",
        ),
        (
            "ClusterExternalSecret",
            "/hello-world",
            "spec.externalSecretSpec.target.immutable",
            "field not served",
        ),
        (
            "PushSecret",
            "eso/pushsecret-example",
            "spec.secretStoreRefs[0]",
            "store SecretStore eso/azure-mi",
        ),
    ]
    .iter()
    .map(|(k, o, f, w)| {
        (
            (*k).into(),
            (*o).into(),
            (*f).into(),
            (*w).into(),
            "not-served".into(),
        )
    })
    .collect();
    assert_eq!(findings, expected, "{report:#}");
    assert_eq!(
        report["checked"],
        json!({"SecretStore": 2, "ClusterSecretStore": 1, "ExternalSecret": 4, "ClusterExternalSecret": 1, "PushSecret": 1})
    );
    assert_eq!(report["notes"], json!([]));

    // (b') A user who may not get ConfigMaps: their templates are not
    // checked, and a note says so.
    apply(
        &admin,
        "default",
        r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: preflight-objects-only
rules:
- apiGroups: ["external-secrets.io"]
  resources: ["secretstores", "clustersecretstores", "externalsecrets", "clusterexternalsecrets", "pushsecrets"]
  verbs: ["list"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: preflight-objects-only
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: preflight-objects-only
subjects:
- kind: ServiceAccount
  name: objects-only
  namespace: default
"#,
    )
    .await;
    let objects_only = dir.path().join("objects-only.kubeconfig");
    write_kubeconfig(
        &objects_only,
        plane.url(),
        plane.ca_pem(),
        &token(&admin, "objects-only").await,
    );
    let (code, text, stderr) = preflight(&["--kubeconfig", objects_only.to_str().unwrap()]);
    assert_eq!(code, 1, "{text}{stderr}");
    assert!(
        text.contains("note: ConfigMap eso/grafana-config-tpl: getting it is forbidden; the templates it holds are not checked\n"),
        "{text}"
    );
    assert!(!text.contains("eso/grafana\n"), "{text}");
    assert!(
        text.contains(": 6 objects not served, 0 served differently\n"),
        "{text}"
    );

    // (c) A user without the RBAC: nothing can be said, exit 2 naming
    // what it needs.
    let nobody = dir.path().join("nobody.kubeconfig");
    write_kubeconfig(
        &nobody,
        plane.url(),
        plane.ca_pem(),
        &token(&admin, "nobody").await,
    );
    let (code, text, stderr) = preflight(&["--kubeconfig", nobody.to_str().unwrap()]);
    println!("---- secret-sync preflight (no RBAC)\n{stderr}");
    assert_eq!(code, 2, "{text}{stderr}");
    assert_eq!(text, "");
    assert!(
        stderr.starts_with("secret-sync preflight: listing secretstores.external-secrets.io/v1 in all namespaces is forbidden ("),
        "{stderr}"
    );
    assert!(
        stderr.contains("the preflight needs get and list on it"),
        "{stderr}"
    );

    // (d) No API server there, and no kubeconfig: exit 2, saying so.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let gone = dir.path().join("gone.kubeconfig");
    write_kubeconfig(&gone, &format!("https://{closed}"), plane.ca_pem(), "t");
    let (code, _, stderr) = preflight(&["--kubeconfig", gone.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.starts_with(&format!(
            "secret-sync preflight: cannot reach the API server at https://{closed}/"
        )),
        "{stderr}"
    );
    let (code, _, stderr) = preflight(&["--kubeconfig", "/nonexistent/kubeconfig"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.starts_with(
            "secret-sync preflight: cannot use --kubeconfig /nonexistent/kubeconfig: "
        ),
        "{stderr}"
    );
    let (code, _, stderr) = preflight(&["--kubeconfig", reader, "--context", "nosuch"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("cannot use --kubeconfig"), "{stderr}");
}
