//! PushSecret's `dataTo`, `template`, source and store selectors and key
//! conversion through the real controller on a real kube-apiserver,
//! against the emulated Entra ID and Key Vault, as ESO's PushSecret
//! controller tests them (external-secrets/external-secrets
//! `pkg/controllers/pushsecret/pushsecret_controller_test.go`; each case
//! is named where it is checked), with the failures ESO's code gives where
//! its tests check only the reason: the Ready condition's text and a
//! Warning event with the same. Each case pushes to a vault of its own,
//! so "what the vault holds" is exactly what that case pushed (ESO's
//! `len(setSecretArgs) == n` checks): every secret with its value and
//! ESO's `managed-by: external-secrets` tag, read back as the store's
//! identity. A remote key with `/` is written with `-` (Key Vault reads
//! `a/b` as object type `a`, name `b`, and refuses the type).
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any unexpected error"
)]

mod support;

use std::{collections::BTreeMap, time::Duration};

use azure_wi_auth::SecretClient;
use azure_wi_control_plane::ControlPlane;
use azure_wi_core::names;
use azure_wi_emulator::{
    Config, Emulator,
    config::{
        DEMO_CLIENT_ID, DEMO_OBJECT_ID, DEMO_TENANT, FederatedCredential, Role, RoleAssignment,
        Vault,
    },
};
use futures::TryStreamExt as _;
use k8s_openapi::api::core::v1::ServiceAccount;
use kube::{
    Api, Client,
    api::{ApiResource, DynamicObject, PostParams},
};
use secret_sync::api::PushSecret;
use serde_json::{Value, json};
use support::{
    apply, data_of, events_about, eventually, install_crds, namespace, reader_of, secret,
    service_account, start_controller,
};

const NS: &str = "push";
const SA: &str = "push-sa";

/// Each case's SecretStore (named as the case, on vault `ps-<case>`) and
/// its labels.
const STORES: &[(&str, &[(&str, &str)])] = &[
    ("regex", &[]),
    ("rewrite", &[]),
    ("transform", &[]),
    ("chained", &[]),
    ("bundle", &[]),
    ("bundle-filter", &[]),
    ("mixed", &[]),
    ("override", &[]),
    ("errors", &[("env", "staging")]),
    ("template", &[]),
    ("template-reuse", &[]),
    ("template-datato", &[]),
    ("template-data", &[]),
    ("selected", &[]),
    ("labelled", &[("foo", "bar")]),
    ("datato-labels", &[("env", "test")]),
    ("unicode", &[]),
    ("unicode-datato", &[]),
    ("unicode-override", &[]),
    ("split", &[]),
    ("second-store", &[]),
];

fn vault_name(store: &str) -> String {
    format!("ps-{store}")
}

fn config(plane: &ControlPlane) -> Config {
    let mut config = Config::demo();
    config.issuer = plane.issuer().to_owned();
    config.trusted_issuer_ca_pems = vec![plane.ca_pem().to_owned()];
    config.identities[0].federated_credentials = vec![FederatedCredential {
        name: "push".to_owned(),
        issuer: plane.issuer().to_owned(),
        subject: names::service_account_subject(NS, SA),
        audiences: vec![names::DEFAULT_AUDIENCE.to_owned()],
    }];
    for (store, _) in STORES {
        config.vaults.push(Vault {
            name: vault_name(store),
            tenant: None,
            secrets: Vec::new(),
            keys: Vec::new(),
            certificates: Vec::new(),
        });
        // A PushSecret writes: the store's identity needs more than the
        // demo's Secrets User.
        config.role_assignments.push(RoleAssignment {
            principal_id: DEMO_OBJECT_ID.to_owned(),
            role: Role::SecretsOfficer,
            scope: vault_name(store),
        });
    }
    config
}

fn stores() -> String {
    STORES
        .iter()
        .map(|(store, labels)| {
            let labels = labels
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect::<Vec<_>>()
                .join(", ");
            format!(
                "apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {{name: {store}, namespace: push, labels: {{{labels}}}}}
spec:
  provider:
    azurekv:
      authType: WorkloadIdentity
      tenantId: {DEMO_TENANT}
      vaultUrl: https://{}.vault.azure.net
      serviceAccountRef: {{name: {SA}}}
---
",
                vault_name(store)
            )
        })
        .collect()
}

/// The source Secrets, named as their cases (ESO's inputs).
const SOURCES: &str = r#"apiVersion: v1
kind: Secret
metadata: {name: regex, namespace: push}
stringData: {db-host: localhost, db-port: "5432", app-name: myapp, app-version: "1.0"}
---
apiVersion: v1
kind: Secret
metadata: {name: rewrite, namespace: push}
stringData: {db-host: localhost, db-port: "5432"}
---
apiVersion: v1
kind: Secret
metadata: {name: transform, namespace: push}
stringData: {username: admin}
---
apiVersion: v1
kind: Secret
metadata: {name: chained, namespace: push}
stringData: {db-username: admin}
---
apiVersion: v1
kind: Secret
metadata: {name: bundle, namespace: push}
stringData: {DB_HOST: localhost, DB_USER: admin}
---
apiVersion: v1
kind: Secret
metadata: {name: bundle-filter, namespace: push}
stringData: {DB_HOST: localhost, DB_USER: admin, APP_NAME: myapp}
---
apiVersion: v1
kind: Secret
metadata: {name: mixed, namespace: push}
stringData: {DB_HOST: localhost, DB_USER: admin, API_KEY: secret-key}
---
apiVersion: v1
kind: Secret
metadata: {name: override, namespace: push}
stringData: {key1: value1, key2: value2}
---
apiVersion: v1
kind: Secret
metadata: {name: dup-entries, namespace: push}
stringData: {db-host: localhost, db-port: "5432"}
---
apiVersion: v1
kind: Secret
metadata: {name: dup-data, namespace: push}
stringData: {db-host: localhost, api-key: secret123}
---
apiVersion: v1
kind: Secret
metadata: {name: ref-missing, namespace: push}
stringData: {key1: value1}
---
apiVersion: v1
kind: Secret
metadata: {name: selector-none, namespace: push}
stringData: {key1: value1}
---
apiVersion: v1
kind: Secret
metadata: {name: template, namespace: push}
stringData: {key: value}
---
apiVersion: v1
kind: Secret
metadata: {name: template-reuse, namespace: push}
stringData: {key: value}
---
apiVersion: v1
kind: Secret
metadata: {name: template-datato, namespace: push}
stringData: {db_host: localhost, db_port: "3306"}
---
apiVersion: v1
kind: Secret
metadata: {name: template-data, namespace: push}
stringData: {token: abc123, config-timeout: 30s, config-retries: "3"}
---
apiVersion: v1
kind: Secret
metadata: {name: sel-a, namespace: push, labels: {foo: bar}}
stringData: {a-one: "1"}
---
apiVersion: v1
kind: Secret
metadata: {name: sel-b, namespace: push, labels: {foo: bar}}
stringData: {b-two: "2"}
---
apiVersion: v1
kind: Secret
metadata: {name: sel-c, namespace: push}
stringData: {c-three: "3"}
---
apiVersion: v1
kind: Secret
metadata: {name: sel-elsewhere, namespace: elsewhere, labels: {foo: bar}}
stringData: {elsewhere: "4"}
---
apiVersion: v1
kind: Secret
metadata: {name: labelled, namespace: push}
stringData: {key: value}
---
apiVersion: v1
kind: Secret
metadata: {name: datato-labels, namespace: push}
stringData: {key1: value1}
---
apiVersion: v1
kind: Secret
metadata: {name: unicode, namespace: push}
stringData: {some-array_U005b_0_U005d_.entity: value}
---
apiVersion: v1
kind: Secret
metadata: {name: unicode-datato, namespace: push}
stringData: {unicode-key: unicode-value-αβγ, normal-key: normal-value}
---
apiVersion: v1
kind: Secret
metadata: {name: unicode-override, namespace: push}
stringData: {some_U002D_key: value, other: other-value}
---
apiVersion: v1
kind: Secret
metadata: {name: split, namespace: push}
stringData: {db-host: localhost, api-key: secret123, app-name: myapp}
"#;

/// The PushSecrets, named as their sources.
const PUSH_SECRETS: &str = r#"apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {name: regex, namespace: push}
spec:
  secretStoreRefs: [{name: regex, kind: SecretStore}]
  selector: {secret: {name: regex}}
  dataTo:
  - storeRef: {name: regex}
    match: {regexp: "^db-.*"}
---
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {name: rewrite, namespace: push}
spec:
  secretStoreRefs: [{name: rewrite, kind: SecretStore}]
  selector: {secret: {name: rewrite}}
  dataTo:
  - storeRef: {name: rewrite}
    match: {regexp: "^db-.*"}
    rewrite:
    - regexp: {source: "^db-", target: app-database-}
---
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {name: transform, namespace: push}
spec:
  secretStoreRefs: [{name: transform, kind: SecretStore}]
  selector: {secret: {name: transform}}
  dataTo:
  - storeRef: {name: transform}
    rewrite:
    - transform: {template: "app-{{ .value | upper }}"}
---
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {name: chained, namespace: push}
spec:
  secretStoreRefs: [{name: chained, kind: SecretStore}]
  selector: {secret: {name: chained}}
  dataTo:
  - storeRef: {name: chained}
    rewrite:
    - regexp: {source: "^db-(.*)", target: "${1}"}
    - regexp: {source: "^", target: app-}
---
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {name: bundle, namespace: push}
spec:
  secretStoreRefs: [{name: bundle, kind: SecretStore}]
  selector: {secret: {name: bundle}}
  dataTo:
  - storeRef: {name: bundle}
    remoteKey: secrets-sync-target
---
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {name: bundle-filter, namespace: push}
spec:
  secretStoreRefs: [{name: bundle-filter, kind: SecretStore}]
  selector: {secret: {name: bundle-filter}}
  dataTo:
  - storeRef: {name: bundle-filter}
    remoteKey: db-bundle
    match: {regexp: "^DB_"}
---
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {name: mixed, namespace: push}
spec:
  secretStoreRefs: [{name: mixed, kind: SecretStore}]
  selector: {secret: {name: mixed}}
  dataTo:
  - storeRef: {name: mixed}
    remoteKey: db-config
    match: {regexp: "^DB_"}
  - storeRef: {name: mixed}
    match: {regexp: "^API_"}
    rewrite:
    - regexp: {source: _, target: "-"}
---
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {name: override, namespace: push}
spec:
  secretStoreRefs: [{name: override, kind: SecretStore}]
  selector: {secret: {name: override}}
  dataTo:
  - storeRef: {name: override}
  data:
  - match:
      secretKey: key1
      remoteRef: {remoteKey: override-key1}
---
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {name: dup-entries, namespace: push}
spec:
  secretStoreRefs: [{name: errors, kind: SecretStore}]
  selector: {secret: {name: dup-entries}}
  dataTo:
  - storeRef: {name: errors}
    match: {regexp: "^db-host$"}
    rewrite:
    - regexp: {source: ".*", target: app-config}
  - storeRef: {name: errors}
    match: {regexp: "^db-port$"}
    rewrite:
    - regexp: {source: ".*", target: app-config}
---
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {name: dup-data, namespace: push}
spec:
  secretStoreRefs: [{name: errors, kind: SecretStore}]
  selector: {secret: {name: dup-data}}
  dataTo:
  - storeRef: {name: errors}
    match: {regexp: "^db-host$"}
    rewrite:
    - regexp: {source: ".*", target: myapp-config}
  data:
  - match:
      secretKey: api-key
      remoteRef: {remoteKey: myapp-config}
---
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {name: ref-missing, namespace: push}
spec:
  secretStoreRefs: [{name: errors, kind: SecretStore}]
  selector: {secret: {name: ref-missing}}
  dataTo:
  - storeRef: {name: non-existent-store}
---
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {name: selector-none, namespace: push}
spec:
  secretStoreRefs:
  - labelSelector: {matchLabels: {env: staging}}
  selector: {secret: {name: selector-none}}
  dataTo:
  - storeRef:
      labelSelector: {matchLabels: {env: production}}
---
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {name: source-selector-bad, namespace: push}
spec:
  secretStoreRefs: [{name: errors, kind: SecretStore}]
  selector:
    secret:
      selector:
        matchExpressions: [{key: foo, operator: In, values: []}]
  dataTo:
  - storeRef: {name: errors}
---
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {name: source-none, namespace: push}
spec:
  secretStoreRefs: [{name: errors, kind: SecretStore}]
  selector: {secret: {}}
  dataTo:
  - storeRef: {name: errors}
---
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {name: template, namespace: push}
spec:
  secretStoreRefs: [{name: template, kind: SecretStore}]
  selector: {secret: {name: template}}
  data:
  - match:
      secretKey: key
      remoteRef: {remoteKey: path-to-key}
  template:
    type: Opaque
    engineVersion: v2
    metadata:
      labels: {foos: ball}
      annotations: {hihi: ga}
      finalizers: [example.com/finalizer]
    data:
      key: "{{ .key | toString | upper }} was templated"
---
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {name: template-reuse, namespace: push}
spec:
  secretStoreRefs: [{name: template-reuse, kind: SecretStore}]
  selector: {secret: {name: template-reuse}}
  data:
  - match:
      secretKey: otherKey
      remoteRef: {remoteKey: path-to-key}
  template:
    type: Opaque
    engineVersion: v2
    metadata:
      labels: {foos: ball}
      annotations: {hihi: ga}
      finalizers: [example.com/finalizer]
    data:
      key: "{{ .key | toString | upper }} was templated"
      otherKey: "{{ .key | toString | upper }} was also templated"
---
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {name: template-datato, namespace: push}
spec:
  secretStoreRefs: [{name: template-datato, kind: SecretStore}]
  selector: {secret: {name: template-datato}}
  template:
    data:
      mysql-connection: "mysql://{{ .db_host }}:{{ .db_port }}/mydb"
  dataTo:
  - storeRef: {name: template-datato}
    match: {regexp: ".*-connection$"}
---
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {name: template-data, namespace: push}
spec:
  secretStoreRefs: [{name: template-data, kind: SecretStore}]
  selector: {secret: {name: template-data}}
  template:
    data:
      api-key: "Bearer {{ .token }}"
  dataTo:
  - storeRef: {name: template-data}
    match: {regexp: "^config-.*"}
  data:
  - match:
      secretKey: api-key
      remoteRef: {remoteKey: credentials-api-key}
---
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {name: selected, namespace: push}
spec:
  secretStoreRefs: [{name: selected, kind: SecretStore}]
  selector:
    secret:
      selector: {matchLabels: {foo: bar}}
  dataTo:
  - storeRef: {name: selected}
---
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {name: labelled, namespace: push}
spec:
  secretStoreRefs:
  - labelSelector: {matchLabels: {foo: bar}}
    kind: SecretStore
    name: labelled
  selector: {secret: {name: labelled}}
  data:
  - match:
      secretKey: key
      remoteRef: {remoteKey: path-to-key}
---
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {name: datato-labels, namespace: push}
spec:
  secretStoreRefs:
  - labelSelector: {matchLabels: {env: test}}
  selector: {secret: {name: datato-labels}}
  dataTo:
  - storeRef:
      labelSelector: {matchLabels: {env: test}}
---
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {name: unicode, namespace: push}
spec:
  secretStoreRefs: [{name: unicode, kind: SecretStore}]
  selector: {secret: {name: unicode}}
  data:
  - conversionStrategy: ReverseUnicode
    match:
      secretKey: "some-array[0].entity"
      remoteRef: {remoteKey: path-to-key}
---
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {name: unicode-datato, namespace: push}
spec:
  secretStoreRefs: [{name: unicode-datato, kind: SecretStore}]
  selector: {secret: {name: unicode-datato}}
  dataTo:
  - storeRef: {name: unicode-datato}
    conversionStrategy: ReverseUnicode
---
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {name: unicode-override, namespace: push}
spec:
  secretStoreRefs: [{name: unicode-override, kind: SecretStore}]
  selector: {secret: {name: unicode-override}}
  dataTo:
  - storeRef: {name: unicode-override}
    conversionStrategy: ReverseUnicode
    rewrite:
    - regexp: {source: "^", target: dataTo-}
  data:
  - conversionStrategy: ReverseUnicode
    match:
      secretKey: some-key
      remoteRef: {remoteKey: explicit-some-key}
---
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {name: split, namespace: push}
spec:
  secretStoreRefs:
  - {name: split, kind: SecretStore}
  - {name: second-store, kind: SecretStore}
  selector: {secret: {name: split}}
  dataTo:
  - storeRef: {name: split, kind: SecretStore}
    match: {regexp: "^db-.*"}
  - storeRef: {name: second-store, kind: SecretStore}
    match: {regexp: "^api-.*"}
  - storeRef: {name: split, kind: SecretStore}
    match: {regexp: "^app-.*"}
  - storeRef: {name: second-store, kind: SecretStore}
    match: {regexp: "^app-.*"}
"#;

/// The PushSecret as the API server holds it.
async fn push_secret(client: &Client, name: &str) -> Value {
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), NS, &ApiResource::erase::<PushSecret>(&()));
    serde_json::to_value(api.get(name).await.unwrap()).unwrap()
}

/// Its `Ready` condition: status, reason, message.
fn ready_of(ps: &Value) -> Option<(String, String, String)> {
    let condition = ps["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == "Ready")?;
    let text = |field: &str| condition[field].as_str().unwrap_or_default().to_owned();
    Some((text("status"), text("reason"), text("message")))
}

/// Waits for `name` to be Ready (a failure on the way fails the test, with
/// its message); the PushSecret then.
async fn synced(client: &Client, name: &str) -> Value {
    let ps = eventually(
        Duration::from_secs(30),
        &format!("PushSecret {name} to sync"),
        || async {
            let ps = push_secret(client, name).await;
            match ready_of(&ps) {
                Some((status, _, _)) if status == "True" => Some(ps),
                Some((status, reason, message)) if status == "False" => {
                    panic!("{name}: {reason}: {message}")
                }
                _ => None,
            }
        },
    )
    .await;
    assert_eq!(
        ready_of(&ps).unwrap(),
        (
            "True".to_owned(),
            "Synced".to_owned(),
            "PushSecret synced successfully".to_owned()
        ),
        "{name}"
    );
    ps
}

/// Waits for `name` to fail; its condition must say `message` with reason
/// `Errored`, and a Warning event `Errored` the same.
async fn errored(client: &Client, name: &str, message: &str) -> Value {
    let ps = eventually(
        Duration::from_secs(30),
        &format!("PushSecret {name} to fail"),
        || async {
            let ps = push_secret(client, name).await;
            ready_of(&ps)
                .filter(|(status, _, _)| status == "False")
                .map(|_| ps)
        },
    )
    .await;
    assert_eq!(
        ready_of(&ps).unwrap(),
        ("False".to_owned(), "Errored".to_owned(), message.to_owned()),
        "{name}"
    );
    let events = eventually(
        Duration::from_secs(10),
        &format!("an Errored event about {name}"),
        || async {
            let found = events_about(client, NS, name, "Errored").await;
            (!found.is_empty()).then_some(found)
        },
    )
    .await;
    for event in events {
        assert_eq!(event.type_.as_deref(), Some("Warning"), "{name}");
        assert_eq!(event.note.as_deref(), Some(message), "{name}");
    }
    ps
}

/// `status.syncedPushSecrets` of `ps`.
fn synced_entries(ps: &Value) -> &Value {
    &ps["status"]["syncedPushSecrets"]
}

/// What a `dataTo` entry records: the source key (none for a bundle),
/// the remote key, conversion `None` (ESO's `expandSingleDataTo`).
fn data_to_entry(secret_key: Option<&str>, remote_key: &str) -> Value {
    let mut matched = json!({"remoteRef": {"remoteKey": remote_key}});
    if let Some(key) = secret_key {
        matched["secretKey"] = json!(key);
    }
    json!({"match": matched, "conversionStrategy": "None"})
}

/// A reader of the vaults as the stores' identity, from a token of this
/// API server for the stores' ServiceAccount.
async fn vault_reader(
    client: &Client,
    emulator: &Emulator,
    dir: &tempfile::TempDir,
) -> impl Fn(&str) -> SecretClient + use<> {
    let request: k8s_openapi::api::authentication::v1::TokenRequest =
        serde_json::from_value(json!({"spec": {"audiences": [names::DEFAULT_AUDIENCE]}})).unwrap();
    let token = Api::<ServiceAccount>::namespaced(client.clone(), NS)
        .create_token_request(SA, &PostParams::default(), &request)
        .await
        .unwrap()
        .status
        .unwrap()
        .token;
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, token).unwrap();
    let credential = emulator
        .credential_builder(DEMO_TENANT, DEMO_CLIENT_ID, &token_file)
        .unwrap()
        .build()
        .unwrap();
    let http = emulator.client().unwrap();
    let url = |store: &str| emulator.vault_url(&vault_name(store));
    let urls: BTreeMap<String, String> = STORES
        .iter()
        .map(|(s, _)| ((*s).to_owned(), url(s)))
        .collect();
    move |store: &str| {
        SecretClient::builder(&urls[store], credential.clone())
            .with_http_client(http.clone())
            .build()
            .unwrap()
    }
}

/// Every secret of a vault: value and tags.
async fn holds(vault: &SecretClient) -> BTreeMap<String, (String, BTreeMap<String, String>)> {
    let listed: Vec<_> = vault.list_secret_properties().try_collect().await.unwrap();
    let mut out = BTreeMap::new();
    for properties in listed {
        let secret = vault.get_secret(&properties.name).await.unwrap();
        out.insert(
            properties.name.clone(),
            (
                secret.value.expose().to_owned(),
                secret.properties.tags.clone(),
            ),
        );
    }
    out
}

/// What a vault holds when ESO pushed exactly `pairs` into it.
fn pushed(pairs: &[(&str, &str)]) -> BTreeMap<String, (String, BTreeMap<String, String>)> {
    let tags: BTreeMap<String, String> = [("managed-by".to_owned(), "external-secrets".to_owned())]
        .into_iter()
        .collect();
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), ((*v).to_owned(), tags.clone())))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(
    clippy::too_many_lines,
    reason = "one control plane for every case: each block is one ESO case"
)]
async fn data_to_template_and_selectors_push_as_esos_controller_pushes() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let plane = ControlPlane::start().await.unwrap();
    let client = plane.client().await.unwrap();
    let emulator = Emulator::start(config(&plane)).await.unwrap();
    install_crds(&client).await;
    let (_, stop, running) = start_controller(&client, reader_of(&emulator));

    namespace(&client, NS).await;
    namespace(&client, "elsewhere").await;
    apply(
        &client,
        NS,
        &format!(
            "{}---\n{}{SOURCES}---\n{PUSH_SECRETS}",
            service_account(NS, SA, DEMO_CLIENT_ID),
            stores()
        ),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let vault = vault_reader(&client, &emulator, &dir).await;

    // syncWithDataToRegex: only the keys `^db-.*` matches, each under its
    // own name.
    let ps = synced(&client, "regex").await;
    assert_eq!(
        holds(&vault("regex")).await,
        pushed(&[("db-host", "localhost"), ("db-port", "5432")])
    );
    assert_eq!(
        synced_entries(&ps),
        &json!({"SecretStore/regex": {
            "db-host": data_to_entry(Some("db-host"), "db-host"),
            "db-port": data_to_entry(Some("db-port"), "db-port"),
        }})
    );

    // syncWithDataToRegexpRewrite (target app/database/ written
    // app-database-): the remote keys rewritten, the status keyed by them
    // and naming the source keys.
    let ps = synced(&client, "rewrite").await;
    assert_eq!(
        holds(&vault("rewrite")).await,
        pushed(&[
            ("app-database-host", "localhost"),
            ("app-database-port", "5432")
        ])
    );
    assert_eq!(
        synced_entries(&ps),
        &json!({"SecretStore/rewrite": {
            "app-database-host": data_to_entry(Some("db-host"), "app-database-host"),
            "app-database-port": data_to_entry(Some("db-port"), "app-database-port"),
        }})
    );

    // syncWithDataToTransformRewrite (app/{{ .value | upper }} written
    // app-{{ .value | upper }}).
    let ps = synced(&client, "transform").await;
    assert_eq!(
        holds(&vault("transform")).await,
        pushed(&[("app-USERNAME", "admin")])
    );
    assert_eq!(
        synced_entries(&ps),
        &json!({"SecretStore/transform": {
            "app-USERNAME": data_to_entry(Some("username"), "app-USERNAME"),
        }})
    );

    // syncWithDataToMultipleRewrites (^ → app/ written app-; ESO's first
    // rewrite, ^db- → "", written ^db-(.*) → ${1}, as this control plane's
    // API server (1.20) refuses an empty string where the schema says
    // string, as it refuses it in an ExternalSecret's rewrite): rewrites
    // apply in order.
    let ps = synced(&client, "chained").await;
    assert_eq!(
        holds(&vault("chained")).await,
        pushed(&[("app-username", "admin")])
    );
    assert_eq!(
        synced_entries(&ps),
        &json!({"SecretStore/chained": {
            "app-username": data_to_entry(Some("db-username"), "app-username"),
        }})
    );

    // syncWithDataToBundleAllKeys: one secret holding every key as Go's
    // json.Marshal writes a map (sorted, compact); the entry names no key.
    let ps = synced(&client, "bundle").await;
    assert_eq!(
        holds(&vault("bundle")).await,
        pushed(&[(
            "secrets-sync-target",
            r#"{"DB_HOST":"localhost","DB_USER":"admin"}"#
        )])
    );
    assert_eq!(
        synced_entries(&ps),
        &json!({"SecretStore/bundle": {
            "secrets-sync-target": data_to_entry(None, "secrets-sync-target"),
        }})
    );

    // syncWithDataToBundleWithRegexFilter: only the matched keys bundled.
    let ps = synced(&client, "bundle-filter").await;
    assert_eq!(
        holds(&vault("bundle-filter")).await,
        pushed(&[("db-bundle", r#"{"DB_HOST":"localhost","DB_USER":"admin"}"#)])
    );
    assert_eq!(
        synced_entries(&ps),
        &json!({"SecretStore/bundle-filter": {
            "db-bundle": data_to_entry(None, "db-bundle"),
        }})
    );

    // syncWithDataToBundleAndPerKeyMixed (API_KEY rewritten API-KEY, a name
    // Key Vault takes): a bundle and a per-key entry side by side.
    let ps = synced(&client, "mixed").await;
    assert_eq!(
        holds(&vault("mixed")).await,
        pushed(&[
            ("db-config", r#"{"DB_HOST":"localhost","DB_USER":"admin"}"#),
            ("API-KEY", "secret-key"),
        ])
    );
    assert_eq!(
        synced_entries(&ps),
        &json!({"SecretStore/mixed": {
            "db-config": data_to_entry(None, "db-config"),
            "API-KEY": data_to_entry(Some("API_KEY"), "API-KEY"),
        }})
    );

    // syncDataToWithDataOverride: key1 only where data[] puts it, key2 as
    // dataTo names it; the explicit entry recorded as the spec holds it.
    let ps = synced(&client, "override").await;
    assert_eq!(
        holds(&vault("override")).await,
        pushed(&[("override-key1", "value1"), ("key2", "value2")])
    );
    assert_eq!(
        synced_entries(&ps),
        &json!({"SecretStore/override": {
            "key2": data_to_entry(Some("key2"), "key2"),
            "override-key1": ps["spec"]["data"][0],
        }})
    );
    assert_eq!(
        ps["spec"]["data"][0]["match"],
        json!({"secretKey": "key1", "remoteRef": {"remoteKey": "override-key1"}})
    );

    // resolveSourceKeyConflicts "should resolve conflicts when explicit
    // data uses ConversionStrategy" (dataTo/ and explicit/ written with
    // -), through the controller: the explicit entry names the key as
    // converted (some-key) and still wins over the dataTo entry made from
    // the same source key (some_U002D_key), which is not pushed.
    let ps = synced(&client, "unicode-override").await;
    assert_eq!(
        holds(&vault("unicode-override")).await,
        pushed(&[
            ("dataTo-other", "other-value"),
            ("explicit-some-key", "value")
        ])
    );
    assert_eq!(
        synced_entries(&ps),
        &json!({"SecretStore/unicode-override": {
            "dataTo-other": data_to_entry(Some("other"), "dataTo-other"),
            "explicit-some-key": ps["spec"]["data"][0],
        }})
    );

    // syncWithDataToStoreRef: each dataTo entry pushed only to the store it
    // names; the status keeps each store's entries apart.
    let ps = synced(&client, "split").await;
    assert_eq!(
        holds(&vault("split")).await,
        pushed(&[("db-host", "localhost"), ("app-name", "myapp")])
    );
    assert_eq!(
        holds(&vault("second-store")).await,
        pushed(&[("api-key", "secret123"), ("app-name", "myapp")])
    );
    assert_eq!(
        synced_entries(&ps),
        &json!({
            "SecretStore/split": {
                "app-name": data_to_entry(Some("app-name"), "app-name"),
                "db-host": data_to_entry(Some("db-host"), "db-host"),
            },
            "SecretStore/second-store": {
                "api-key": data_to_entry(Some("api-key"), "api-key"),
                "app-name": data_to_entry(Some("app-name"), "app-name"),
            },
        })
    );

    // failDataToDuplicateAcrossEntries (app/config written app-config):
    // nothing pushed, the store recorded with no entry.
    let ps = errored(
        &client,
        "dup-entries",
        r#"set secret failed: failed to expand dataTo: dataTo[1]: duplicate remote key "app-config" from source key "db-port" (conflicts with dataTo[0]:db-host)"#,
    )
    .await;
    assert_eq!(synced_entries(&ps), &json!({"SecretStore/errors": {}}));
    // failDataToAndDataDuplicateRemoteKey (myapp/config written
    // myapp-config).
    let ps = errored(
        &client,
        "dup-data",
        r#"set secret failed: failed to merge data entries: duplicate remote key "myapp-config": source keys "db-host" and "api-key" both map to the same destination"#,
    )
    .await;
    assert_eq!(synced_entries(&ps), &json!({"SecretStore/errors": {}}));
    // failDataToStoreRefNotInList: refused before the Secret is read; no
    // sync state.
    let ps = errored(
        &client,
        "ref-missing",
        r#"dataTo[0]: storeRef "non-existent-store" not found in secretStoreRefs"#,
    )
    .await;
    assert_eq!(synced_entries(&ps), &Value::Null);
    // failDataToLabelSelectorMatchesNoStore.
    let ps = errored(
        &client,
        "selector-none",
        "dataTo[0]: labelSelector does not match any store in secretStoreRefs",
    )
    .await;
    assert_eq!(synced_entries(&ps), &Value::Null);
    // A source selector apimachinery does not parse (In with no value),
    // and a selector naming no Secret: ESO's resolveSecrets fails with its
    // text, which our condition follows with the field and the reason.
    for (name, message) in [
        (
            "source-selector-bad",
            "could not get source secret: spec.selector.secret.selector.matchExpressions[0]: values: Invalid value: []string(nil): for 'in', 'notin' operators, values set can't be empty",
        ),
        (
            "source-none",
            "could not get source secret: spec.selector.secret: no secret selector provided (name or selector)",
        ),
    ] {
        let ps = errored(&client, name, message).await;
        assert_eq!(synced_entries(&ps), &Value::Null);
    }
    assert_eq!(
        holds(&vault("errors")).await,
        pushed(&[]),
        "no failed PushSecret wrote anything"
    );

    // syncSuccessfullyWithTemplate: the rendered value pushed; the source
    // Secret itself never written (no label, annotation, finalizer or new
    // value from the template).
    let before = secret(&client, NS, "template").await.unwrap();
    let ps = synced(&client, "template").await;
    assert_eq!(
        holds(&vault("template")).await,
        pushed(&[("path-to-key", "VALUE was templated")])
    );
    assert_eq!(
        synced_entries(&ps),
        &json!({"SecretStore/template": {"path-to-key": ps["spec"]["data"][0]}})
    );
    let after = secret(&client, NS, "template").await.unwrap();
    assert_eq!(
        after.metadata.resource_version, before.metadata.resource_version,
        "the source Secret is not written"
    );
    assert_eq!(
        data_of(&after),
        BTreeMap::from([("key".to_owned(), b"value".to_vec())])
    );
    assert_eq!(after.metadata.labels, None);
    assert_eq!(after.metadata.annotations, None);
    assert_eq!(after.metadata.finalizers, None);
    assert_eq!(after.type_.as_deref(), Some("Opaque"));

    // syncSuccessfullyReusingKeys: a key only the template makes is pushed.
    synced(&client, "template-reuse").await;
    assert_eq!(
        holds(&vault("template-reuse")).await,
        pushed(&[("path-to-key", "VALUE was also templated")])
    );
    assert_eq!(
        data_of(&secret(&client, NS, "template-reuse").await.unwrap()),
        BTreeMap::from([("key".to_owned(), b"value".to_vec())]),
        "the source Secret keeps its own keys and values"
    );

    // templateCreatesKeysThenDataToMatches: dataTo matches the template's
    // keys, not only the source's.
    let ps = synced(&client, "template-datato").await;
    assert_eq!(
        holds(&vault("template-datato")).await,
        pushed(&[("mysql-connection", "mysql://localhost:3306/mydb")])
    );
    assert_eq!(
        synced_entries(&ps),
        &json!({"SecretStore/template-datato": {
            "mysql-connection": data_to_entry(Some("mysql-connection"), "mysql-connection"),
        }})
    );

    // templateWithDataToAndExplicitData (credentials/api-key written
    // credentials-api-key): token, read by the template only, not pushed.
    let ps = synced(&client, "template-data").await;
    assert_eq!(
        holds(&vault("template-data")).await,
        pushed(&[
            ("credentials-api-key", "Bearer abc123"),
            ("config-timeout", "30s"),
            ("config-retries", "3"),
        ])
    );
    assert_eq!(
        synced_entries(&ps),
        &json!({"SecretStore/template-data": {
            "config-retries": data_to_entry(Some("config-retries"), "config-retries"),
            "config-timeout": data_to_entry(Some("config-timeout"), "config-timeout"),
            "credentials-api-key": ps["spec"]["data"][0],
        }})
    );

    // selector.secret.selector: every labelled Secret of the namespace
    // pushed (ESO's resolveSecrets), an unlabelled one not, nor a labelled
    // one of another namespace (secretDifferentNamespace).
    let ps = synced(&client, "selected").await;
    assert_eq!(
        holds(&vault("selected")).await,
        pushed(&[("a-one", "1"), ("b-two", "2")])
    );
    assert_eq!(
        synced_entries(&ps),
        &json!({"SecretStore/selected": {
            "a-one": data_to_entry(Some("a-one"), "a-one"),
            "b-two": data_to_entry(Some("b-two"), "b-two"),
        }})
    );

    // syncMatchingLabels (path/to/key written path-to-key): the store
    // chosen by its labels.
    let ps = synced(&client, "labelled").await;
    assert_eq!(
        holds(&vault("labelled")).await,
        pushed(&[("path-to-key", "value")])
    );
    assert_eq!(
        synced_entries(&ps),
        &json!({"SecretStore/labelled": {"path-to-key": ps["spec"]["data"][0]}})
    );

    // syncWithDataToLabelSelector: secretStoreRefs and dataTo both by
    // labels; one key pushed, to the labelled store.
    let ps = synced(&client, "datato-labels").await;
    assert_eq!(
        holds(&vault("datato-labels")).await,
        pushed(&[("key1", "value1")])
    );
    assert_eq!(
        synced_entries(&ps),
        &json!({"SecretStore/datato-labels": {
            "key1": data_to_entry(Some("key1"), "key1"),
        }})
    );

    // syncSuccessfullyWithConversionStrategy (path/to/key written
    // path-to-key): the entry's key is the source key with _U005b_ and
    // _U005d_ read back as [ and ].
    let ps = synced(&client, "unicode").await;
    assert_eq!(
        holds(&vault("unicode")).await,
        pushed(&[("path-to-key", "value")])
    );
    assert_eq!(
        synced_entries(&ps),
        &json!({"SecretStore/unicode": {"path-to-key": ps["spec"]["data"][0]}})
    );
    assert_eq!(
        ps["spec"]["data"][0]["conversionStrategy"],
        "ReverseUnicode"
    );

    // syncWithDataToConversionStrategy: both keys pushed as they are, the
    // value's non-ASCII text intact.
    let ps = synced(&client, "unicode-datato").await;
    assert_eq!(
        holds(&vault("unicode-datato")).await,
        pushed(&[
            ("unicode-key", "unicode-value-αβγ"),
            ("normal-key", "normal-value")
        ])
    );
    assert_eq!(
        synced_entries(&ps),
        &json!({"SecretStore/unicode-datato": {
            "normal-key": data_to_entry(Some("normal-key"), "normal-key"),
            "unicode-key": data_to_entry(Some("unicode-key"), "unicode-key"),
        }})
    );

    stop.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(10), running).await;
    drop(emulator);
}
