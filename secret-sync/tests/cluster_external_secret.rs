//! ClusterExternalSecret through the real controller on a real
//! kube-apiserver, against the emulated Entra ID and Key Vault: ESO's
//! controller cases (external-secrets/external-secrets
//! `pkg/controllers/clusterexternalsecret/clusterexternalsecret_controller_test.go`)
//! that workload identity and Key Vault can express, in one cluster:
//! namespaces selected by labels and by name, one labelled later and one
//! unlabelled, an ExternalSecret already there that it did not write (left
//! alone, the namespace failed with ESO's text; written once it is gone),
//! one it wrote deleted by hand and written again, a field changed, the
//! name changed, `v1beta1`, the force-sync annotation passed on and
//! pruned, and a selector that does not parse. The
//! ExternalSecrets it writes sync their Secrets from the emulator.
#![allow(clippy::unwrap_used)]

mod support;

use std::{collections::BTreeMap, time::Duration};

use azure_wi_control_plane::ControlPlane;
use azure_wi_core::names;
use azure_wi_emulator::{
    Config, Emulator,
    config::{DEMO_CLIENT_ID, DEMO_TENANT, FederatedCredential},
};
use k8s_openapi::api::core::v1::Namespace;
use kube::{
    Api, Client,
    api::{
        ApiResource, DeleteParams, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams,
    },
};
use secret_sync::api::{ClusterExternalSecret, ClusterExternalSecretStatus, ExternalSecret};
use serde_json::json;
use support::{
    apply, data_of, eventually, install_crds, namespace, reader_of, secret, service_account,
    start_controller,
};

const WAIT: Duration = Duration::from_secs(30);

/// The README's example, as written (it applies unchanged under ESO).
const README_CES: &str = r#"apiVersion: external-secrets.io/v1
kind: ClusterExternalSecret
metadata: {name: db}
spec:
  namespaceSelectors:
  - matchLabels: {secrets.example.com/db: "true"}
  refreshTime: 1h
  externalSecretMetadata:
    labels: {app.kubernetes.io/part-of: orders}
  externalSecretSpec:
    refreshInterval: 1h
    secretStoreRef: {name: shared-kv, kind: ClusterSecretStore}
    target: {name: db-credentials}
    data:
    - secretKey: password
      remoteRef: {key: db-password}
"#;

fn config(plane: &ControlPlane) -> Config {
    let mut config = Config::demo();
    config.issuer = plane.issuer().to_owned();
    config.trusted_issuer_ca_pems = vec![plane.ca_pem().to_owned()];
    config.identities[0].federated_credentials = vec![FederatedCredential {
        name: "platform".to_owned(),
        issuer: plane.issuer().to_owned(),
        subject: names::service_account_subject("platform", "kv-reader"),
        audiences: vec![names::DEFAULT_AUDIENCE.to_owned()],
    }];
    config
}

/// Creates a cluster-scoped object from YAML at its own apiVersion.
async fn create_cluster_scoped(client: &Client, yaml: &str) {
    let value: serde_json::Value = yaml_serde::from_str(yaml).unwrap();
    let (group, version) = value["apiVersion"]
        .as_str()
        .unwrap()
        .split_once('/')
        .unwrap();
    let gvk = GroupVersionKind::gvk(group, version, value["kind"].as_str().unwrap());
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &ApiResource::from_gvk(&gvk));
    let object: DynamicObject = serde_json::from_value(value).unwrap();
    api.create(&PostParams::default(), &object).await.unwrap();
}

async fn set_labels(client: &Client, name: &str, labels: serde_json::Value) {
    Api::<Namespace>::all(client.clone())
        .patch(
            name,
            &PatchParams::default(),
            &Patch::Merge(&json!({"metadata": {"labels": labels}})),
        )
        .await
        .unwrap();
}

async fn status_of(client: &Client, name: &str) -> Option<ClusterExternalSecretStatus> {
    Api::<ClusterExternalSecret>::all(client.clone())
        .get_opt(name)
        .await
        .unwrap()?
        .status
}

/// Waits for the status to hold these provisioned and failed namespaces.
async fn provisioned(
    client: &Client,
    name: &str,
    want: &[&str],
    failed: &[(&str, &str)],
) -> ClusterExternalSecretStatus {
    eventually(WAIT, &format!("{name} provisioned in {want:?}"), || async {
        let status = status_of(client, name).await?;
        let got_failed: Vec<(String, String)> = status
            .failed_namespaces
            .iter()
            .map(|f| (f.namespace.clone(), f.reason.clone().unwrap_or_default()))
            .collect();
        let want_failed: Vec<(String, String)> = failed
            .iter()
            .map(|(n, r)| ((*n).to_owned(), (*r).to_owned()))
            .collect();
        (status.provisioned_namespaces == want && got_failed == want_failed).then_some(status)
    })
    .await
}

async fn external_secret(client: &Client, namespace: &str, name: &str) -> Option<ExternalSecret> {
    Api::<ExternalSecret>::namespaced(client.clone(), namespace)
        .get_opt(name)
        .await
        .unwrap()
}

fn ready(status: &ClusterExternalSecretStatus) -> (String, Option<String>) {
    let c = status
        .conditions
        .iter()
        .find(|c| c.type_ == "Ready")
        .unwrap();
    (c.status.clone(), c.message.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_external_secrets_as_esos_controller_writes_them() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let plane = ControlPlane::start().await.unwrap();
    let client = plane.client().await.unwrap();
    let emulator = Emulator::start(config(&plane)).await.unwrap();
    install_crds(&client).await;
    let (_, stop, running) = start_controller(&client, reader_of(&emulator));

    namespace(&client, "platform").await;
    apply(
        &client,
        "platform",
        &service_account("platform", "kv-reader", DEMO_CLIENT_ID),
    )
    .await;
    create_cluster_scoped(
        &client,
        &format!(
            r#"apiVersion: external-secrets.io/v1
kind: ClusterSecretStore
metadata: {{name: shared-kv}}
spec:
  provider:
    azurekv:
      authType: WorkloadIdentity
      vaultUrl: https://orders-kv.vault.azure.net
      tenantId: "{DEMO_TENANT}"
      serviceAccountRef: {{name: kv-reader, namespace: platform}}
"#
        ),
    )
    .await;
    let selected = json!({"secrets.example.com/db": "true"});
    for ns in ["team-a", "team-b", "team-c", "team-d"] {
        namespace(&client, ns).await;
    }
    for ns in ["team-a", "team-b", "team-d"] {
        set_labels(&client, ns, selected.clone()).await;
    }
    // An ExternalSecret of the same name someone else wrote.
    apply(
        &client,
        "team-d",
        "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: db, namespace: team-d}\nspec:\n  secretStoreRef: {name: theirs}\n",
    )
    .await;

    create_cluster_scoped(&client, README_CES).await;
    let status = provisioned(
        &client,
        "db",
        &["team-a", "team-b"],
        &[("team-d", "external secret already exists in namespace")],
    )
    .await;
    assert_eq!(status.external_secret_name.as_deref(), Some("db"));
    assert_eq!(
        ready(&status),
        (
            "False".to_owned(),
            Some("one or more namespaces failed".to_owned())
        )
    );
    let ces = Api::<ClusterExternalSecret>::all(client.clone())
        .get("db")
        .await
        .unwrap();
    let es = external_secret(&client, "team-a", "db").await.unwrap();
    let owner = &es.metadata.owner_references.clone().unwrap()[0];
    assert_eq!(
        (
            owner.api_version.as_str(),
            owner.kind.as_str(),
            owner.name.as_str(),
            owner.controller
        ),
        (
            "external-secrets.io/v1",
            "ClusterExternalSecret",
            "db",
            Some(true)
        )
    );
    assert_eq!(owner.uid, ces.metadata.uid.clone().unwrap());
    assert_eq!(es.spec, ces.spec.external_secret_spec);
    assert_eq!(
        es.metadata.labels.clone().unwrap_or_default(),
        BTreeMap::from([("app.kubernetes.io/part-of".to_owned(), "orders".to_owned())])
    );
    let theirs = external_secret(&client, "team-d", "db").await.unwrap();
    assert_eq!(theirs.spec.secret_store_ref.name, "theirs", "left alone");
    assert!(theirs.metadata.owner_references.is_none());
    assert!(
        external_secret(&client, "team-c", "db").await.is_none(),
        "an unlabelled namespace gets none"
    );

    // The ExternalSecrets written sync their Secrets from Key Vault.
    for ns in ["team-a", "team-b"] {
        let s = eventually(WAIT, &format!("the Secret in {ns}"), || {
            secret(&client, ns, "db-credentials")
        })
        .await;
        assert_eq!(data_of(&s)["password"], b"s3cr3t-from-key-vault");
    }

    // A namespace labelled later gets its ExternalSecret; one unlabelled
    // loses it (both through the namespace watch: refreshTime is 1h).
    set_labels(&client, "team-c", selected.clone()).await;
    provisioned(
        &client,
        "db",
        &["team-a", "team-b", "team-c"],
        &[("team-d", "external secret already exists in namespace")],
    )
    .await;
    set_labels(&client, "team-b", json!({"secrets.example.com/db": null})).await;
    provisioned(
        &client,
        "db",
        &["team-a", "team-c"],
        &[("team-d", "external secret already exists in namespace")],
    )
    .await;
    assert!(external_secret(&client, "team-b", "db").await.is_none());
    assert!(external_secret(&client, "team-c", "db").await.is_some());

    // One it wrote, deleted by hand, is written again (the owned watch).
    Api::<ExternalSecret>::namespaced(client.clone(), "team-a")
        .delete("db", &DeleteParams::default())
        .await
        .unwrap();
    eventually(WAIT, "team-a's ExternalSecret again", || async {
        let es = external_secret(&client, "team-a", "db").await?;
        es.metadata.deletion_timestamp.is_none().then_some(())
    })
    .await;

    // Once theirs is gone, it writes its own there: the next look comes
    // with refreshTime.
    let cess: Api<ClusterExternalSecret> = Api::all(client.clone());
    cess.patch(
        "db",
        &PatchParams::default(),
        &Patch::Merge(&json!({"spec": {"refreshTime": "1s"}})),
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    Api::<ExternalSecret>::namespaced(client.clone(), "team-d")
        .delete("db", &DeleteParams::default())
        .await
        .unwrap();
    let status = provisioned(&client, "db", &["team-a", "team-c", "team-d"], &[]).await;
    assert_eq!(ready(&status), ("True".to_owned(), None));

    // A field changed reaches every ExternalSecret; a new name deletes the
    // old ones.
    cess.patch(
        "db",
        &PatchParams::default(),
        &Patch::Merge(&json!({"spec": {
            "externalSecretName": "db-renamed",
            "externalSecretMetadata": {
                "labels": {"tier": "gold", "app.kubernetes.io/part-of": null},
                "annotations": {"a": "b"},
            },
        }})),
    )
    .await
    .unwrap();
    eventually(WAIT, "the renamed ExternalSecrets", || async {
        for ns in ["team-a", "team-c", "team-d"] {
            if external_secret(&client, ns, "db").await.is_some() {
                return None;
            }
            let es = external_secret(&client, ns, "db-renamed").await?;
            let labels = es.metadata.labels.clone().unwrap_or_default();
            let annotations = es.metadata.annotations.clone().unwrap_or_default();
            if labels.get("tier").map(String::as_str) != Some("gold")
                || labels.contains_key("app.kubernetes.io/part-of")
                || annotations.get("a").map(String::as_str) != Some("b")
            {
                return None;
            }
        }
        Some(())
    })
    .await;
    let status = status_of(&client, "db").await.unwrap();
    assert_eq!(status.external_secret_name.as_deref(), Some("db-renamed"));

    // A selector that does not parse: a condition naming the object, the
    // field and the reason; nothing is deleted.
    cess.patch(
        "db",
        &PatchParams::default(),
        &Patch::Merge(&json!({"spec": {"namespaceSelectors": [
            {"matchLabels": {"secrets.example.com/db": "true"}},
            {"matchExpressions": [{"key": "tier", "operator": "Equals", "values": ["gold"]}]},
        ]}})),
    )
    .await
    .unwrap();
    let message = "one or more namespaces failed: ClusterExternalSecret \"db\": \
                   spec.namespaceSelectors[1].matchExpressions[0]: \
                   \"Equals\" is not a valid label selector operator";
    let status = eventually(WAIT, "the selector's condition", || async {
        let status = status_of(&client, "db").await?;
        (ready(&status).1.as_deref() == Some(message)).then_some(status)
    })
    .await;
    assert_eq!(ready(&status).0, "False");
    assert_eq!(status.failed_namespaces[0].namespace, "unknown");
    assert_eq!(
        status.provisioned_namespaces,
        ["team-a", "team-c", "team-d"],
        "nothing is lost"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    for ns in ["team-a", "team-c", "team-d"] {
        assert!(external_secret(&client, ns, "db-renamed").await.is_some());
    }

    // A name no ExternalSecret can have is refused by the API server, as
    // ESO's CRD refuses it.
    let mut bad: ClusterExternalSecret = yaml_serde::from_str(README_CES).unwrap();
    bad.metadata.name = Some("bad-name".to_owned());
    bad.spec.external_secret_name = Some("Not_A_Name".to_owned());
    let refused = cess.create(&PostParams::default(), &bad).await.unwrap_err();
    assert!(
        refused.to_string().contains("spec.externalSecretName"),
        "{refused}"
    );
    bad.spec.external_secret_name = None;
    bad.spec.namespaces = vec!["Not_A_Namespace".to_owned()];
    let refused = cess.create(&PostParams::default(), &bad).await.unwrap_err();
    assert!(refused.to_string().contains("spec.namespaces"), "{refused}");

    // v1beta1, namespaces by name, one that does not exist skipped.
    create_cluster_scoped(
        &client,
        r#"apiVersion: external-secrets.io/v1beta1
kind: ClusterExternalSecret
metadata: {name: by-name}
spec:
  namespaces: [does-not-exist, team-b]
  externalSecretSpec:
    secretStoreRef: {name: shared-kv, kind: ClusterSecretStore}
    target: {name: api-key}
    data:
    - secretKey: key
      remoteRef: {key: api-key}
"#,
    )
    .await;
    let status = provisioned(&client, "by-name", &["team-b"], &[]).await;
    assert_eq!(ready(&status), ("True".to_owned(), None));
    let s = eventually(WAIT, "the by-name Secret", || {
        secret(&client, "team-b", "api-key")
    })
    .await;
    assert_eq!(data_of(&s)["key"], b"k-123");

    // The force-sync annotation is passed on, and pruned when it goes.
    let annotation = |value: serde_json::Value| json!({"metadata": {"annotations": {"external-secrets.io/force-sync": value}}});
    let force_sync = |client: Client| async move {
        external_secret(&client, "team-b", "by-name")
            .await?
            .metadata
            .annotations
            .unwrap_or_default()
            .get("external-secrets.io/force-sync")
            .cloned()
    };
    cess.patch(
        "by-name",
        &PatchParams::default(),
        &Patch::Merge(&annotation(json!("2026-01-01T00:00:00Z"))),
    )
    .await
    .unwrap();
    let value = eventually(WAIT, "the force-sync annotation passed on", || {
        force_sync(client.clone())
    })
    .await;
    assert_eq!(value, "2026-01-01T00:00:00Z");
    cess.patch(
        "by-name",
        &PatchParams::default(),
        &Patch::Merge(&annotation(serde_json::Value::Null)),
    )
    .await
    .unwrap();
    eventually(WAIT, "the force-sync annotation pruned", || async {
        force_sync(client.clone()).await.is_none().then_some(())
    })
    .await;

    stop.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(10), running).await;
    drop(emulator);
}
