//! ESO's template engine v2 cases (`TestExecute` of external-secrets/
//! external-secrets `runtime/template/v2/template_test.go`, written once
//! as data in `template/tests/data/eso/execute_cases.json`, which the
//! template crate's `tests/eso_execute.rs` runs through the engine)
//! through the real controller on a real kube-apiserver, against the
//! emulated Entra ID and Key Vault, on workload identity.
//!
//! Each case is one ExternalSecret: each of its data values a Key Vault
//! secret of its own, read by a `data` entry under the case's key, and
//! its templates `target.template.data` (ESO's `stringData` target
//! too: the API server folds `stringData` into `data`) or
//! `target.template.metadata.labels`/`annotations`. A value that is not
//! UTF-8 (Key Vault holds text) is kept in Key Vault as base64 and read
//! with `decodingStrategy: Base64`, as ESO users keep bytes there; the
//! template sees the bytes. A case with other delimiters runs afterwards,
//! under a controller started with them (`--template-left-delimiter`,
//! `--template-right-delimiter`).
//!
//! What the managed Secret holds is compared byte for byte with the
//! case's expectation; a Secret holds exactly the case's data keys, as
//! ESO's test compares the whole `Data`. A case that fails leaves no
//! Secret, and its `Ready=False` condition (`SecretSyncedError`) and
//! Warning `UpdateFailed` event say, as secret-sync says it, which key
//! failed and Go's error, and contain the text ESO's table expects its
//! error to contain.
#![allow(clippy::unwrap_used)]

mod support;

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::Arc,
    time::Duration,
};

use azure_wi_control_plane::ControlPlane;
use azure_wi_core::names;
use azure_wi_emulator::{
    Config, Emulator,
    config::{DEMO_CLIENT_ID, DEMO_TENANT, FederatedCredential, SecretSeed, VersionSeed},
};
use base64::Engine as _;
use k8s_openapi::api::{core::v1::Secret, events::v1::Event};
use kube::{
    Api, Client, ResourceExt as _,
    api::{ApiResource, DynamicObject, ListParams, PostParams},
};
use secret_sync::{
    api::ExternalSecret,
    controller::{self, Context},
    fetch::Reader,
};
use serde::Deserialize;
use serde_json::{Value, json};
use support::{apply, install_crds, namespace, reader_of, service_account};

/// The cases with the default delimiters.
const NS: &str = "tcases";
/// The cases with other delimiters, under a second controller.
const NS_DELIMS: &str = "tcases-delims";
const SA: &str = "tcases-sa";

// -- the table (`execute_cases.json`; its `format` says how it is written)

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    #[serde(rename = "source")]
    _source: String,
    #[serde(rename = "format")]
    _format: String,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    data: BTreeMap<String, Bytes>,
    #[serde(default)]
    delimiters: Option<Delimiters>,
    templates: Vec<KeyTemplate>,
    #[serde(default, rename = "note")]
    _note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Delimiters {
    left: String,
    right: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Bytes {
    Text(String),
    From(From),
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum From {
    File(String),
    Files(Vec<String>),
    Base64(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyTemplate {
    key: String,
    #[serde(default)]
    target: Target,
    template: String,
    expect: Expect,
}

/// Where ESO puts a template's value.
#[derive(Deserialize, Default, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "camelCase")]
enum Target {
    #[default]
    Data,
    Labels,
    Annotations,
    StringData,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum Expect {
    Text(String),
    File(String),
    Error(ExpectedError),
}

#[derive(Deserialize)]
struct ExpectedError {
    /// `parse` or `execute`: secret-sync words both alike.
    #[serde(rename = "stage")]
    _stage: String,
    #[serde(flatten)]
    go: GoText,
    /// What ESO's table expects its error to contain.
    eso: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum GoText {
    Equals(String),
    StartsWith(String),
    Contains(String),
}

fn data_file(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../template/tests/data/eso/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn bytes_of(value: &Bytes) -> Vec<u8> {
    match value {
        Bytes::Text(text) => text.as_bytes().to_vec(),
        Bytes::From(From::File(name)) => data_file(name),
        Bytes::From(From::Files(names)) => names.iter().flat_map(|n| data_file(n)).collect(),
        Bytes::From(From::Base64(b64)) => base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap(),
    }
}

// -- the cases as ExternalSecrets

/// A case as the controller is given it.
struct Planned {
    case: String,
    namespace: &'static str,
    /// The ExternalSecret's name, and its Secret's.
    name: String,
    templates: Vec<(String, Target, Expected)>,
}

enum Expected {
    Bytes(Vec<u8>),
    Error {
        key: String,
        go: GoText,
        eso: String,
    },
}

impl Planned {
    fn error(&self) -> Option<&Expected> {
        self.templates
            .iter()
            .map(|(_, _, e)| e)
            .find(|e| matches!(e, Expected::Error { .. }))
    }
}

/// `name` as a Kubernetes object name: lowercase letters, digits, dashes.
fn object_name(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_owned()
}

/// `key` as part of a Key Vault secret name (`^[0-9a-zA-Z-]{1,127}$`).
fn vault_part(key: &str) -> String {
    key.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

/// What the table asks of the controller.
struct Plan {
    /// The cases it can express.
    planned: Vec<Planned>,
    /// The vault secrets they read.
    seeds: Vec<SecretSeed>,
    /// Their ExternalSecrets.
    objects: Vec<Value>,
    /// The cases it cannot express, each with the reason.
    not_expressed: Vec<(String, &'static str)>,
}

fn plan(table: &Table) -> Plan {
    let mut planned = Vec::new();
    let mut seeds = Vec::new();
    let mut objects = Vec::new();
    let mut not_expressed = Vec::new();
    let mut names = BTreeSet::new();
    for (i, case) in table.cases.iter().enumerate() {
        if case.templates.is_empty() {
            not_expressed.push((
                case.name.clone(),
                "no template: nothing for the controller to render (ESO's table asserts only that executing no template succeeds; ESO's admission refuses an ExternalSecret with neither data nor dataFrom)",
            ));
            continue;
        }
        let name = object_name(&case.name);
        assert!(
            name.len() <= 63 && names.insert(name.clone()),
            "{name}: a unique object name"
        );
        let namespace = match &case.delimiters {
            None => NS,
            Some(d) => {
                assert_eq!(
                    (d.left.as_str(), d.right.as_str()),
                    ("<<", ">>"),
                    "{}: the second controller's delimiters",
                    case.name
                );
                NS_DELIMS
            }
        };
        let mut entries = Vec::new();
        for (key, value) in &case.data {
            let vault_name = format!("c{i:02}-{}", vault_part(key));
            let bytes = bytes_of(value);
            let (value, decoding) = match String::from_utf8(bytes) {
                Ok(text) => (text, "None"),
                Err(e) => (
                    base64::engine::general_purpose::STANDARD.encode(e.into_bytes()),
                    "Base64",
                ),
            };
            seeds.push(SecretSeed {
                name: vault_name.clone(),
                versions: vec![VersionSeed {
                    value,
                    content_type: None,
                    enabled: true,
                }],
            });
            entries.push(json!({
                "secretKey": key,
                "remoteRef": {"key": vault_name, "decodingStrategy": decoding},
            }));
        }
        let mut data = serde_json::Map::new();
        let mut labels = serde_json::Map::new();
        let mut annotations = serde_json::Map::new();
        let mut templates = Vec::new();
        for t in &case.templates {
            let place = match t.target {
                Target::Data | Target::StringData => &mut data,
                Target::Labels => &mut labels,
                Target::Annotations => &mut annotations,
            };
            place.insert(t.key.clone(), Value::String(t.template.clone()));
            let expected = match &t.expect {
                Expect::Text(text) => Expected::Bytes(text.as_bytes().to_vec()),
                Expect::File(file) => Expected::Bytes(data_file(file)),
                Expect::Error(e) => Expected::Error {
                    key: t.key.clone(),
                    go: match &e.go {
                        GoText::Equals(s) => GoText::Equals(s.clone()),
                        GoText::StartsWith(s) => GoText::StartsWith(s.clone()),
                        GoText::Contains(s) => GoText::Contains(s.clone()),
                    },
                    eso: e.eso.clone(),
                },
            };
            templates.push((t.key.clone(), t.target, expected));
        }
        let mut template = json!({"engineVersion": "v2", "data": data});
        if !labels.is_empty() || !annotations.is_empty() {
            template["metadata"] = json!({"labels": labels, "annotations": annotations});
        }
        let mut spec = json!({
            "refreshInterval": "1h",
            "secretStoreRef": {"name": "kv"},
            "target": {"template": template},
        });
        if !entries.is_empty() {
            spec["data"] = Value::Array(entries);
        }
        objects.push(json!({
            "apiVersion": "external-secrets.io/v1",
            "kind": "ExternalSecret",
            "metadata": {"name": name, "namespace": namespace},
            "spec": spec,
        }));
        planned.push(Planned {
            case: case.name.clone(),
            namespace,
            name,
            templates,
        });
    }
    Plan {
        planned,
        seeds,
        objects,
        not_expressed,
    }
}

// -- the world

fn config(plane: &ControlPlane, seeds: Vec<SecretSeed>) -> Config {
    let mut config = Config::demo();
    config.issuer = plane.issuer().to_owned();
    config.trusted_issuer_ca_pems = vec![plane.ca_pem().to_owned()];
    config.identities[0].federated_credentials = [NS, NS_DELIMS]
        .into_iter()
        .map(|ns| FederatedCredential {
            name: ns.to_owned(),
            issuer: plane.issuer().to_owned(),
            subject: names::service_account_subject(ns, SA),
            audiences: vec![names::DEFAULT_AUDIENCE.to_owned()],
        })
        .collect();
    config.vaults[0].secrets.extend(seeds);
    config
}

fn store(ns: &str) -> String {
    format!(
        "apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {{name: kv, namespace: {ns}}}
spec:
  provider:
    azurekv:
      authType: WorkloadIdentity
      tenantId: {DEMO_TENANT}
      vaultUrl: https://orders-kv.vault.azure.net
      serviceAccountRef: {{name: {SA}}}
"
    )
}

/// Runs the controllers with `delims`, as `--template-left-delimiter` and
/// `--template-right-delimiter` set them.
fn start(
    client: &Client,
    reader: Reader,
    delims: azure_wi_template::Delims,
) -> (
    tokio_util::sync::CancellationToken,
    tokio::task::JoinHandle<()>,
) {
    let mut ctx = Context::new(client.clone(), reader, Some(DEMO_TENANT.to_owned()));
    ctx.template_delims = delims;
    let stop = tokio_util::sync::CancellationToken::new();
    let (synced, _) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(controller::run(Arc::new(ctx), 4, stop.clone(), synced));
    (stop, running)
}

async fn create_all(client: &Client, objects: &[Value], ns: &str) {
    let resource = ApiResource::erase::<ExternalSecret>(&());
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &resource);
    let creating = objects
        .iter()
        .filter(|o| o["metadata"]["namespace"] == ns)
        .map(|o| {
            let object: DynamicObject = serde_json::from_value(o.clone()).unwrap();
            let api = api.clone();
            async move {
                api.create(&PostParams::default(), &object)
                    .await
                    .unwrap_or_else(|e| panic!("creating {}: {e}", object.name_any()));
            }
        });
    futures::future::join_all(creating).await;
}

// -- what the controller made of them

/// What the API server shows of one case.
struct Seen {
    ready: Option<(String, String, String)>,
    secret: Option<Secret>,
    /// Warning `UpdateFailed` events' notes.
    failed_events: Vec<String>,
}

async fn observe(client: &Client, ns: &str) -> BTreeMap<String, Seen> {
    let list = ListParams::default();
    let externals = Api::<ExternalSecret>::namespaced(client.clone(), ns)
        .list(&list)
        .await
        .unwrap();
    let secrets = Api::<Secret>::namespaced(client.clone(), ns)
        .list(&list)
        .await
        .unwrap();
    let events = Api::<Event>::namespaced(client.clone(), ns)
        .list(&list)
        .await
        .unwrap();
    externals
        .items
        .into_iter()
        .map(|es| {
            let name = es.name_any();
            let ready = es
                .status
                .clone()
                .unwrap_or_default()
                .conditions
                .into_iter()
                .find(|c| c.type_ == "Ready")
                .map(|c| {
                    (
                        c.status,
                        c.reason.unwrap_or_default(),
                        c.message.unwrap_or_default(),
                    )
                });
            let secret = secrets.items.iter().find(|s| s.name_any() == name).cloned();
            let failed_events = events
                .items
                .iter()
                .filter(|e| {
                    e.reason.as_deref() == Some("UpdateFailed")
                        && e.type_.as_deref() == Some("Warning")
                        && e.regarding.as_ref().and_then(|r| r.name.as_deref())
                            == Some(name.as_str())
                })
                .filter_map(|e| e.note.clone())
                .collect();
            (
                name,
                Seen {
                    ready,
                    secret,
                    failed_events,
                },
            )
        })
        .collect()
}

/// Whether `seen` is where the case should end: synced with its Secret,
/// or failed with its event.
fn settled(case: &Planned, seen: Option<&Seen>) -> bool {
    let Some(seen) = seen else { return false };
    let status = seen.ready.as_ref().map(|(s, _, _)| s.as_str());
    if case.error().is_some() {
        status == Some("False") && !seen.failed_events.is_empty()
    } else {
        status == Some("True") && seen.secret.is_some()
    }
}

fn lossy(b: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(b))
}

/// How `seen` differs from what `case` expects, one line each.
fn mismatches(case: &Planned, seen: Option<&Seen>) -> Vec<String> {
    let at = format!("{} ({}/{})", case.case, case.namespace, case.name);
    let Some(seen) = seen else {
        return vec![format!("{at}: no ExternalSecret")];
    };
    let mut out = Vec::new();
    if let Some(Expected::Error { key, go, eso }) = case.error() {
        let Some((status, reason, message)) = &seen.ready else {
            return vec![format!("{at}: no Ready condition, expected a failure")];
        };
        if status != "False" || reason != "SecretSyncedError" {
            out.push(format!(
                "{at}: Ready={status} ({reason}: {message:?}), expected False (SecretSyncedError)"
            ));
            return out;
        }
        let mut wants = vec![
            format!("unable to execute template at key {key}"),
            eso.clone(),
        ];
        let go_ok = match go {
            GoText::Equals(go) => {
                wants.push(format!("ending with \": {go}\""));
                message.ends_with(&format!(": {go}"))
            }
            GoText::StartsWith(go) => {
                wants.push(format!("\": {go}...\""));
                message.contains(&format!(": {go}"))
            }
            GoText::Contains(go) => {
                wants.push(go.clone());
                message.contains(go.as_str())
            }
        };
        if !(go_ok && message.contains(&wants[0]) && message.contains(&wants[1])) {
            out.push(format!(
                "{at}: Ready message {message:?}, expected it to contain {:?}, {:?} and Go's error {}",
                wants[0], wants[1], wants[2]
            ));
        }
        if !seen.failed_events.iter().any(|n| n == message) {
            out.push(format!(
                "{at}: no Warning UpdateFailed event with the Ready message (notes: {:?})",
                seen.failed_events
            ));
        }
        if seen.secret.is_some() {
            out.push(format!(
                "{at}: a Secret was written though its template failed"
            ));
        }
        return out;
    }
    match &seen.ready {
        Some((status, _, _)) if status == "True" => {}
        other => out.push(format!("{at}: Ready {other:?}, expected True")),
    }
    let Some(secret) = &seen.secret else {
        out.push(format!("{at}: no Secret"));
        return out;
    };
    let data = support::data_of(secret);
    let labels = secret.metadata.labels.clone().unwrap_or_default();
    let annotations = secret.metadata.annotations.clone().unwrap_or_default();
    let mut data_keys = BTreeSet::new();
    for (key, target, expected) in &case.templates {
        let Expected::Bytes(want) = expected else {
            continue;
        };
        let got = match target {
            Target::Data | Target::StringData => {
                data_keys.insert(key.clone());
                data.get(key).cloned()
            }
            Target::Labels => labels.get(key).map(|v| v.clone().into_bytes()),
            Target::Annotations => annotations.get(key).map(|v| v.clone().into_bytes()),
        };
        match got {
            Some(got) if got == *want => {}
            Some(got) => out.push(format!(
                "{at}: {target:?} {key}: got {}, expected {}",
                lossy(&got),
                lossy(want)
            )),
            None => out.push(format!(
                "{at}: {target:?} {key}: absent, expected {}",
                lossy(want)
            )),
        }
    }
    let keys: BTreeSet<String> = data.keys().cloned().collect();
    if keys != data_keys {
        out.push(format!(
            "{at}: the Secret's keys are {keys:?}, expected {data_keys:?}"
        ));
    }
    out
}

/// Waits up to `within` for every case of `ns` to settle, then lists how
/// each differs from what it expects.
async fn check(client: &Client, ns: &str, cases: &[&Planned], within: Duration) -> Vec<String> {
    let started = tokio::time::Instant::now();
    let seen = loop {
        let seen = observe(client, ns).await;
        let all = cases.iter().all(|c| settled(c, seen.get(&c.name)));
        if all || started.elapsed() > within {
            break seen;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    cases
        .iter()
        .flat_map(|c| mismatches(c, seen.get(&c.name)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn esos_test_execute_cases_through_the_controller() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let table: Table = serde_json::from_slice(&data_file("execute_cases.json")).unwrap();
    let Plan {
        planned,
        seeds,
        objects,
        not_expressed,
    } = plan(&table);
    // ESO's 38 cases: all but "test empty" reach the controller.
    assert_eq!(table.cases.len(), 38);
    assert_eq!(
        not_expressed
            .iter()
            .map(|(c, _)| c.as_str())
            .collect::<Vec<_>>(),
        ["test empty"]
    );
    assert_eq!(planned.len(), 37);

    let plane = ControlPlane::start().await.unwrap();
    let client = plane.client().await.unwrap();
    let emulator = Emulator::start(config(&plane, seeds)).await.unwrap();
    install_crds(&client).await;
    for ns in [NS, NS_DELIMS] {
        namespace(&client, ns).await;
        apply(
            &client,
            ns,
            &format!(
                "{}---\n{}",
                service_account(ns, SA, DEMO_CLIENT_ID),
                store(ns)
            ),
        )
        .await;
    }

    // The default delimiters: every case but the one with others, at once.
    let (stop, running) = start(
        &client,
        reader_of(&emulator),
        azure_wi_template::Delims::default(),
    );
    create_all(&client, &objects, NS).await;
    let cases: Vec<&Planned> = planned.iter().filter(|p| p.namespace == NS).collect();
    let mut failures = check(&client, NS, &cases, Duration::from_secs(25)).await;
    stop.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(10), running).await;

    // `<<` and `>>`: a controller started with them (it renders the
    // first namespace's templates too, as text; they were checked).
    let (stop, running) = start(
        &client,
        reader_of(&emulator),
        azure_wi_template::Delims {
            left: "<<".to_owned(),
            right: ">>".to_owned(),
        },
    );
    create_all(&client, &objects, NS_DELIMS).await;
    let cases: Vec<&Planned> = planned
        .iter()
        .filter(|p| p.namespace == NS_DELIMS)
        .collect();
    assert_eq!(cases.len(), 1);
    failures.extend(check(&client, NS_DELIMS, &cases, Duration::from_secs(15)).await);
    stop.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(10), running).await;
    drop(emulator);

    assert!(
        failures.is_empty(),
        "{} differences from ESO's TestExecute through the controller:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
