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
//! identity through Microsoft's Python SDK. A remote key with `/` is written with `-` (Key Vault reads
//! `a/b` as object type `a`, name `b`, and refuses the type).
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any unexpected error"
)]

#[path = "support/key_vault.rs"]
mod key_vault;
#[path = "support/push.rs"]
mod push_support;
mod support;

use std::{collections::BTreeMap, time::Duration};

use azure_wi_control_plane::ControlPlane;
use azure_wi_emulator::{
    Config,
    config::{DEMO_CLIENT_ID, DEMO_OBJECT_ID, Role},
};
use key_vault::{empty_vault, grant};
use kube::{
    Api, Client,
    api::{ApiResource, DynamicObject},
};
use push_support::{World, found, push_secret_yaml};
use secret_sync::api::PushSecret;
use serde_json::{Value, json};
use support::{
    Cluster, apply, data_of, events_about, eventually, secret, secret_store, secret_yaml,
    service_account, trusting,
};

const NS: &str = "push";
const SA: &str = "push-sa";

/// Each case's SecretStore (named as the case, on vault `ps-<case>`) and
/// its labels (a YAML flow map, or none).
const STORES: &[(&str, &str)] = &[
    ("regex", ""),
    ("rewrite", ""),
    ("transform", ""),
    ("chained", ""),
    ("bundle", ""),
    ("bundle-filter", ""),
    ("mixed", ""),
    ("override", ""),
    ("errors", "{env: staging}"),
    ("template", ""),
    ("template-reuse", ""),
    ("template-datato", ""),
    ("template-data", ""),
    ("selected", ""),
    ("labelled", "{foo: bar}"),
    ("datato-labels", "{env: test}"),
    ("unicode", ""),
    ("unicode-datato", ""),
    ("unicode-override", ""),
    ("split", ""),
    ("second-store", ""),
];

fn vault_name(store: &str) -> String {
    format!("ps-{store}")
}

fn config(plane: &ControlPlane) -> Config {
    let mut config = trusting(Config::demo(), plane, NS, SA);
    for (store, _) in STORES {
        config.vaults.push(empty_vault(&vault_name(store)));
        // A PushSecret writes: the store's identity needs more than the
        // demo's Secrets User.
        grant(
            &mut config,
            DEMO_OBJECT_ID,
            &[Role::SecretsOfficer],
            &vault_name(store),
        );
    }
    config
}

/// The source Secrets, named as their cases (ESO's inputs): name,
/// `stringData`.
const SOURCES: &[(&str, &str)] = &[
    (
        "regex",
        r#"{db-host: localhost, db-port: "5432", app-name: myapp, app-version: "1.0"}"#,
    ),
    ("rewrite", r#"{db-host: localhost, db-port: "5432"}"#),
    ("transform", "{username: admin}"),
    ("chained", "{db-username: admin}"),
    ("bundle", "{DB_HOST: localhost, DB_USER: admin}"),
    (
        "bundle-filter",
        "{DB_HOST: localhost, DB_USER: admin, APP_NAME: myapp}",
    ),
    (
        "mixed",
        "{DB_HOST: localhost, DB_USER: admin, API_KEY: secret-key}",
    ),
    ("override", "{key1: value1, key2: value2}"),
    ("dup-entries", r#"{db-host: localhost, db-port: "5432"}"#),
    ("dup-data", "{db-host: localhost, api-key: secret123}"),
    ("ref-missing", "{key1: value1}"),
    ("selector-none", "{key1: value1}"),
    ("template", "{key: value}"),
    ("template-reuse", "{key: value}"),
    (
        "template-datato",
        r#"{db_host: localhost, db_port: "3306"}"#,
    ),
    (
        "template-data",
        r#"{token: abc123, config-timeout: 30s, config-retries: "3"}"#,
    ),
    ("labelled", "{key: value}"),
    ("datato-labels", "{key1: value1}"),
    ("unicode", "{some-array_U005b_0_U005d_.entity: value}"),
    (
        "unicode-datato",
        "{unicode-key: unicode-value-αβγ, normal-key: normal-value}",
    ),
    (
        "unicode-override",
        "{some_U002D_key: value, other: other-value}",
    ),
    (
        "split",
        "{db-host: localhost, api-key: secret123, app-name: myapp}",
    ),
];

/// The Secrets `selected` chooses by label, and those it must not (no
/// label; another namespace): namespace, name, labels, `stringData`.
const SELECTABLE: &[(&str, &str, &str, &str)] = &[
    (NS, "sel-a", "{foo: bar}", r#"{a-one: "1"}"#),
    (NS, "sel-b", "{foo: bar}", r#"{b-two: "2"}"#),
    (NS, "sel-c", "", r#"{c-three: "3"}"#),
    (
        "elsewhere",
        "sel-elsewhere",
        "{foo: bar}",
        r#"{elsewhere: "4"}"#,
    ),
];

/// The PushSecrets that push the Secret named as them to the store named
/// as them: name, the spec after `secretStoreRefs` and `selector`.
const OWN: &[(&str, &str)] = &[
    (
        "regex",
        r#"  dataTo:
  - storeRef: {name: regex}
    match: {regexp: "^db-.*"}
"#,
    ),
    (
        "rewrite",
        r#"  dataTo:
  - storeRef: {name: rewrite}
    match: {regexp: "^db-.*"}
    rewrite:
    - regexp: {source: "^db-", target: app-database-}
"#,
    ),
    (
        "transform",
        r#"  dataTo:
  - storeRef: {name: transform}
    rewrite:
    - transform: {template: "app-{{ .value | upper }}"}
"#,
    ),
    (
        "chained",
        r#"  dataTo:
  - storeRef: {name: chained}
    rewrite:
    - regexp: {source: "^db-(.*)", target: "${1}"}
    - regexp: {source: "^", target: app-}
"#,
    ),
    (
        "bundle",
        r#"  dataTo:
  - storeRef: {name: bundle}
    remoteKey: secrets-sync-target
"#,
    ),
    (
        "bundle-filter",
        r#"  dataTo:
  - storeRef: {name: bundle-filter}
    remoteKey: db-bundle
    match: {regexp: "^DB_"}
"#,
    ),
    (
        "mixed",
        r#"  dataTo:
  - storeRef: {name: mixed}
    remoteKey: db-config
    match: {regexp: "^DB_"}
  - storeRef: {name: mixed}
    match: {regexp: "^API_"}
    rewrite:
    - regexp: {source: _, target: "-"}
"#,
    ),
    (
        "override",
        r#"  dataTo:
  - storeRef: {name: override}
  data:
  - match:
      secretKey: key1
      remoteRef: {remoteKey: override-key1}
"#,
    ),
    (
        "template",
        r#"  data:
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
"#,
    ),
    (
        "template-reuse",
        r#"  data:
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
"#,
    ),
    (
        "template-datato",
        r#"  template:
    data:
      mysql-connection: "mysql://{{ .db_host }}:{{ .db_port }}/mydb"
  dataTo:
  - storeRef: {name: template-datato}
    match: {regexp: ".*-connection$"}
"#,
    ),
    (
        "template-data",
        r#"  template:
    data:
      api-key: "Bearer {{ .token }}"
  dataTo:
  - storeRef: {name: template-data}
    match: {regexp: "^config-.*"}
  data:
  - match:
      secretKey: api-key
      remoteRef: {remoteKey: credentials-api-key}
"#,
    ),
    (
        "unicode",
        r#"  data:
  - conversionStrategy: ReverseUnicode
    match:
      secretKey: "some-array[0].entity"
      remoteRef: {remoteKey: path-to-key}
"#,
    ),
    (
        "unicode-datato",
        r#"  dataTo:
  - storeRef: {name: unicode-datato}
    conversionStrategy: ReverseUnicode
"#,
    ),
    (
        "unicode-override",
        r#"  dataTo:
  - storeRef: {name: unicode-override}
    conversionStrategy: ReverseUnicode
    rewrite:
    - regexp: {source: "^", target: dataTo-}
  data:
  - conversionStrategy: ReverseUnicode
    match:
      secretKey: some-key
      remoteRef: {remoteKey: explicit-some-key}
"#,
    ),
];

/// The other PushSecrets, named as their sources where they have one:
/// name, spec.
const OTHERS: &[(&str, &str)] = &[
    (
        "dup-entries",
        r#"  secretStoreRefs: [{name: errors, kind: SecretStore}]
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
"#,
    ),
    (
        "dup-data",
        r#"  secretStoreRefs: [{name: errors, kind: SecretStore}]
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
"#,
    ),
    (
        "ref-missing",
        r#"  secretStoreRefs: [{name: errors, kind: SecretStore}]
  selector: {secret: {name: ref-missing}}
  dataTo:
  - storeRef: {name: non-existent-store}
"#,
    ),
    (
        "selector-none",
        r#"  secretStoreRefs:
  - labelSelector: {matchLabels: {env: staging}}
  selector: {secret: {name: selector-none}}
  dataTo:
  - storeRef:
      labelSelector: {matchLabels: {env: production}}
"#,
    ),
    (
        "source-selector-bad",
        r#"  secretStoreRefs: [{name: errors, kind: SecretStore}]
  selector:
    secret:
      selector:
        matchExpressions: [{key: foo, operator: In, values: []}]
  dataTo:
  - storeRef: {name: errors}
"#,
    ),
    (
        "source-none",
        r#"  secretStoreRefs: [{name: errors, kind: SecretStore}]
  selector: {secret: {}}
  dataTo:
  - storeRef: {name: errors}
"#,
    ),
    (
        "selected",
        r#"  secretStoreRefs: [{name: selected, kind: SecretStore}]
  selector:
    secret:
      selector: {matchLabels: {foo: bar}}
  dataTo:
  - storeRef: {name: selected}
"#,
    ),
    (
        "labelled",
        r#"  secretStoreRefs:
  - labelSelector: {matchLabels: {foo: bar}}
    kind: SecretStore
    name: labelled
  selector: {secret: {name: labelled}}
  data:
  - match:
      secretKey: key
      remoteRef: {remoteKey: path-to-key}
"#,
    ),
    (
        "datato-labels",
        r#"  secretStoreRefs:
  - labelSelector: {matchLabels: {env: test}}
  selector: {secret: {name: datato-labels}}
  dataTo:
  - storeRef:
      labelSelector: {matchLabels: {env: test}}
"#,
    ),
    (
        "split",
        r#"  secretStoreRefs:
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
"#,
    ),
];

/// Every object the cases need: the stores' ServiceAccount, the stores,
/// the sources, then the PushSecrets.
fn objects() -> String {
    let mut yaml = format!("{}---\n", service_account(NS, SA, DEMO_CLIENT_ID));
    for (store, labels) in STORES {
        yaml.push_str(&secret_store(NS, store, labels, &vault_name(store), SA));
    }
    for (name, string_data) in SOURCES {
        yaml.push_str(&secret_yaml(NS, name, "", string_data));
    }
    for (namespace, name, labels, string_data) in SELECTABLE {
        yaml.push_str(&secret_yaml(namespace, name, labels, string_data));
    }
    for (name, rest) in OWN {
        let spec = format!(
            "  secretStoreRefs: [{{name: {name}, kind: SecretStore}}]\n  selector: {{secret: {{name: {name}}}}}\n{rest}"
        );
        yaml.push_str(&push_secret_yaml(NS, name, &spec));
    }
    for (name, spec) in OTHERS {
        yaml.push_str(&push_secret_yaml(NS, name, spec));
    }
    yaml
}

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

/// Every secret of the vault of `store`: value and tags, as Microsoft's
/// Python SDK reads them.
async fn holds(
    world: &World<'_>,
    store: &str,
) -> BTreeMap<String, (String, BTreeMap<String, String>)> {
    let state = world.vault_state(&vault_name(store), &["secret/*"]).await;
    let listed = found(&state, "secret/*");
    listed
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, secret)| {
            let tags = secret["tags"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
                .collect();
            (
                name.clone(),
                (secret["value"].as_str().unwrap().to_owned(), tags),
            )
        })
        .collect()
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

/// What made a status entry.
#[derive(Clone, Copy)]
enum By {
    /// A `dataTo` entry from this source key.
    DataTo(&'static str),
    /// A `dataTo` bundle: no source key.
    Bundle,
    /// `spec.data[0]`, recorded as the spec holds it.
    Data,
}

/// The status entries of one store: remote key, what made it.
fn store_entries(ps: &Value, entries: &[(&str, By)]) -> Value {
    let entries: serde_json::Map<String, Value> = entries
        .iter()
        .map(|&(remote, by)| {
            let entry = match by {
                By::DataTo(key) => data_to_entry(Some(key), remote),
                By::Bundle => data_to_entry(None, remote),
                By::Data => ps["spec"]["data"][0].clone(),
            };
            (remote.to_owned(), entry)
        })
        .collect();
    Value::Object(entries)
}

/// A case of PushSecret `name` on its own store (and vault): once Ready,
/// the vault holds exactly `pushed` (remote key, value) and the status
/// lists `entries` for the store.
struct Case {
    name: &'static str,
    pushed: &'static [(&'static str, &'static str)],
    entries: &'static [(&'static str, By)],
}

impl Case {
    /// Checks the case; the PushSecret then.
    async fn check(&self, client: &Client, world: &World<'_>) -> Value {
        let name = self.name;
        let ps = synced(client, name).await;
        assert_eq!(holds(world, name).await, pushed(self.pushed), "{name}");
        let store = format!("SecretStore/{name}");
        assert_eq!(
            synced_entries(&ps),
            &json!({store: store_entries(&ps, self.entries)}),
            "{name}"
        );
        ps
    }
}

/// Checks `cases` in order; each PushSecret then, by name.
async fn check_all(
    client: &Client,
    world: &World<'_>,
    cases: &[Case],
) -> BTreeMap<&'static str, Value> {
    let mut checked = BTreeMap::new();
    for case in cases {
        checked.insert(case.name, case.check(client, world).await);
    }
    checked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(
    clippy::too_many_lines,
    reason = "one control plane for every case: each block is one ESO case"
)]
async fn data_to_template_and_selectors_push_as_esos_controller_pushes() {
    use By::{Bundle, Data, DataTo};

    let cluster = Cluster::start(config, &[NS, "elsewhere"]).await;
    let client = &cluster.client;
    apply(client, NS, &objects()).await;
    let world = World::new(&cluster, NS, SA).await;

    let checked = check_all(
        client,
        &world,
        &[
            // syncWithDataToRegex: only the keys `^db-.*` matches, each
            // under its own name.
            Case {
                name: "regex",
                pushed: &[("db-host", "localhost"), ("db-port", "5432")],
                entries: &[
                    ("db-host", DataTo("db-host")),
                    ("db-port", DataTo("db-port")),
                ],
            },
            // syncWithDataToRegexpRewrite (target app/database/ written
            // app-database-): the remote keys rewritten, the status keyed
            // by them and naming the source keys.
            Case {
                name: "rewrite",
                pushed: &[
                    ("app-database-host", "localhost"),
                    ("app-database-port", "5432"),
                ],
                entries: &[
                    ("app-database-host", DataTo("db-host")),
                    ("app-database-port", DataTo("db-port")),
                ],
            },
            // syncWithDataToTransformRewrite (app/{{ .value | upper }}
            // written app-{{ .value | upper }}).
            Case {
                name: "transform",
                pushed: &[("app-USERNAME", "admin")],
                entries: &[("app-USERNAME", DataTo("username"))],
            },
            // syncWithDataToMultipleRewrites (^ → app/ written app-; ESO's
            // first rewrite, ^db- → "", written ^db-(.*) → ${1}, as this
            // control plane's API server (1.20) refuses an empty string
            // where the schema says string, as it refuses it in an
            // ExternalSecret's rewrite): rewrites apply in order.
            Case {
                name: "chained",
                pushed: &[("app-username", "admin")],
                entries: &[("app-username", DataTo("db-username"))],
            },
            // syncWithDataToBundleAllKeys: one secret holding every key as
            // Go's json.Marshal writes a map (sorted, compact); the entry
            // names no key.
            Case {
                name: "bundle",
                pushed: &[(
                    "secrets-sync-target",
                    r#"{"DB_HOST":"localhost","DB_USER":"admin"}"#,
                )],
                entries: &[("secrets-sync-target", Bundle)],
            },
            // syncWithDataToBundleWithRegexFilter: only the matched keys
            // bundled.
            Case {
                name: "bundle-filter",
                pushed: &[("db-bundle", r#"{"DB_HOST":"localhost","DB_USER":"admin"}"#)],
                entries: &[("db-bundle", Bundle)],
            },
            // syncWithDataToBundleAndPerKeyMixed (API_KEY rewritten
            // API-KEY, a name Key Vault takes): a bundle and a per-key
            // entry side by side.
            Case {
                name: "mixed",
                pushed: &[
                    ("db-config", r#"{"DB_HOST":"localhost","DB_USER":"admin"}"#),
                    ("API-KEY", "secret-key"),
                ],
                entries: &[("db-config", Bundle), ("API-KEY", DataTo("API_KEY"))],
            },
            // syncDataToWithDataOverride: key1 only where data[] puts it,
            // key2 as dataTo names it; the explicit entry recorded as the
            // spec holds it.
            Case {
                name: "override",
                pushed: &[("override-key1", "value1"), ("key2", "value2")],
                entries: &[("key2", DataTo("key2")), ("override-key1", Data)],
            },
            // resolveSourceKeyConflicts "should resolve conflicts when
            // explicit data uses ConversionStrategy" (dataTo/ and explicit/
            // written with -), through the controller: the explicit entry
            // names the key as converted (some-key) and still wins over the
            // dataTo entry made from the same source key (some_U002D_key),
            // which is not pushed.
            Case {
                name: "unicode-override",
                pushed: &[
                    ("dataTo-other", "other-value"),
                    ("explicit-some-key", "value"),
                ],
                entries: &[
                    ("dataTo-other", DataTo("other")),
                    ("explicit-some-key", Data),
                ],
            },
        ],
    )
    .await;
    assert_eq!(
        checked["override"]["spec"]["data"][0]["match"],
        json!({"secretKey": "key1", "remoteRef": {"remoteKey": "override-key1"}})
    );

    // syncWithDataToStoreRef: each dataTo entry pushed only to the store it
    // names; the status keeps each store's entries apart.
    let ps = synced(client, "split").await;
    assert_eq!(
        holds(&world, "split").await,
        pushed(&[("db-host", "localhost"), ("app-name", "myapp")])
    );
    assert_eq!(
        holds(&world, "second-store").await,
        pushed(&[("api-key", "secret123"), ("app-name", "myapp")])
    );
    assert_eq!(
        synced_entries(&ps),
        &json!({
            "SecretStore/split": store_entries(
                &ps,
                &[("app-name", DataTo("app-name")), ("db-host", DataTo("db-host"))]
            ),
            "SecretStore/second-store": store_entries(
                &ps,
                &[("api-key", DataTo("api-key")), ("app-name", DataTo("app-name"))]
            ),
        })
    );

    // Failures: each PushSecret's condition and event, and its sync state.
    for (name, message, entries) in [
        // failDataToDuplicateAcrossEntries (app/config written
        // app-config): nothing pushed, the store recorded with no entry.
        (
            "dup-entries",
            r#"set secret failed: failed to expand dataTo: dataTo[1]: duplicate remote key "app-config" from source key "db-port" (conflicts with dataTo[0]:db-host)"#,
            json!({"SecretStore/errors": {}}),
        ),
        // failDataToAndDataDuplicateRemoteKey (myapp/config written
        // myapp-config).
        (
            "dup-data",
            r#"set secret failed: failed to merge data entries: duplicate remote key "myapp-config": source keys "db-host" and "api-key" both map to the same destination"#,
            json!({"SecretStore/errors": {}}),
        ),
        // failDataToStoreRefNotInList: refused before the Secret is read;
        // no sync state.
        (
            "ref-missing",
            r#"dataTo[0]: storeRef "non-existent-store" not found in secretStoreRefs"#,
            Value::Null,
        ),
        // failDataToLabelSelectorMatchesNoStore.
        (
            "selector-none",
            "dataTo[0]: labelSelector does not match any store in secretStoreRefs",
            Value::Null,
        ),
        // A source selector apimachinery does not parse (In with no
        // value), and a selector naming no Secret: ESO's resolveSecrets
        // fails with its text, which our condition follows with the field
        // and the reason.
        (
            "source-selector-bad",
            "could not get source secret: spec.selector.secret.selector.matchExpressions[0]: values: Invalid value: []string(nil): for 'in', 'notin' operators, values set can't be empty",
            Value::Null,
        ),
        (
            "source-none",
            "could not get source secret: spec.selector.secret: no secret selector provided (name or selector)",
            Value::Null,
        ),
    ] {
        let ps = errored(client, name, message).await;
        assert_eq!(synced_entries(&ps), &entries, "{name}");
    }
    assert_eq!(
        holds(&world, "errors").await,
        pushed(&[]),
        "no failed PushSecret wrote anything"
    );

    // syncSuccessfullyWithTemplate: the rendered value pushed; the source
    // Secret itself never written (no label, annotation, finalizer or new
    // value from the template).
    let before = secret(client, NS, "template").await.unwrap();
    Case {
        name: "template",
        pushed: &[("path-to-key", "VALUE was templated")],
        entries: &[("path-to-key", Data)],
    }
    .check(client, &world)
    .await;
    let after = secret(client, NS, "template").await.unwrap();
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
    synced(client, "template-reuse").await;
    assert_eq!(
        holds(&world, "template-reuse").await,
        pushed(&[("path-to-key", "VALUE was also templated")])
    );
    assert_eq!(
        data_of(&secret(client, NS, "template-reuse").await.unwrap()),
        BTreeMap::from([("key".to_owned(), b"value".to_vec())]),
        "the source Secret keeps its own keys and values"
    );

    let checked = check_all(
        client,
        &world,
        &[
            // templateCreatesKeysThenDataToMatches: dataTo matches the
            // template's keys, not only the source's.
            Case {
                name: "template-datato",
                pushed: &[("mysql-connection", "mysql://localhost:3306/mydb")],
                entries: &[("mysql-connection", DataTo("mysql-connection"))],
            },
            // templateWithDataToAndExplicitData (credentials/api-key
            // written credentials-api-key): token, read by the template
            // only, not pushed.
            Case {
                name: "template-data",
                pushed: &[
                    ("credentials-api-key", "Bearer abc123"),
                    ("config-timeout", "30s"),
                    ("config-retries", "3"),
                ],
                entries: &[
                    ("config-retries", DataTo("config-retries")),
                    ("config-timeout", DataTo("config-timeout")),
                    ("credentials-api-key", Data),
                ],
            },
            // selector.secret.selector: every labelled Secret of the
            // namespace pushed (ESO's resolveSecrets), an unlabelled one
            // not, nor a labelled one of another namespace
            // (secretDifferentNamespace).
            Case {
                name: "selected",
                pushed: &[("a-one", "1"), ("b-two", "2")],
                entries: &[("a-one", DataTo("a-one")), ("b-two", DataTo("b-two"))],
            },
            // syncMatchingLabels (path/to/key written path-to-key): the
            // store chosen by its labels.
            Case {
                name: "labelled",
                pushed: &[("path-to-key", "value")],
                entries: &[("path-to-key", Data)],
            },
            // syncWithDataToLabelSelector: secretStoreRefs and dataTo both
            // by labels; one key pushed, to the labelled store.
            Case {
                name: "datato-labels",
                pushed: &[("key1", "value1")],
                entries: &[("key1", DataTo("key1"))],
            },
            // syncSuccessfullyWithConversionStrategy (path/to/key written
            // path-to-key): the entry's key is the source key with _U005b_
            // and _U005d_ read back as [ and ].
            Case {
                name: "unicode",
                pushed: &[("path-to-key", "value")],
                entries: &[("path-to-key", Data)],
            },
            // syncWithDataToConversionStrategy: both keys pushed as they
            // are, the value's non-ASCII text intact.
            Case {
                name: "unicode-datato",
                pushed: &[
                    ("unicode-key", "unicode-value-αβγ"),
                    ("normal-key", "normal-value"),
                ],
                entries: &[
                    ("normal-key", DataTo("normal-key")),
                    ("unicode-key", DataTo("unicode-key")),
                ],
            },
        ],
    )
    .await;
    assert_eq!(
        checked["unicode"]["spec"]["data"][0]["conversionStrategy"],
        "ReverseUnicode"
    );

    cluster.stop().await;
}
