//! ESO's azurekv provider cases (`TestAzureKeyVaultSecretManagerGetSecret`,
//! `TestAzureKeyVaultSecretManagerGetSecretMap`,
//! `TestAzureKeyVaultSecretManagerGetAllSecrets` in external-secrets/
//! external-secrets `providers/v1/azure/keyvault/keyvault_test.go`; the
//! table in `support/eso_provider.rs`, which `tests/emulator.rs` also
//! runs through the reader) through the real controller on a real
//! kube-apiserver, against the emulated Entra ID and Key Vault: one
//! SecretStore per vault, read with a ServiceAccount's workload identity,
//! one ExternalSecret per case. What a user sees is ESO's outcome: the
//! Secret holds exactly ESO's bytes, or there is no Secret and the
//! `Ready` condition and a Warning `UpdateFailed` event carry ESO's text;
//! a remote object that is not there keeps the Secret as it is (the
//! default `deletionPolicy: Retain`), here none.
#![allow(clippy::unwrap_used)]

mod support;

#[path = "support/eso_provider.rs"]
mod eso_provider;

use std::{
    collections::{BTreeMap, BTreeSet},
    time::Duration,
};

use azure_wi_control_plane::ControlPlane;
use azure_wi_core::names;
use azure_wi_emulator::{
    Emulator,
    config::{DEMO_CLIENT_ID, DEMO_TENANT, FederatedCredential},
};
use eso_provider::Outcome;
use k8s_openapi::api::{core::v1::Secret, events::v1::Event};
use kube::{Api, Client, ResourceExt};
use secret_sync::api::ExternalSecret;
use support::{
    apply, data_of, install_crds, namespace, reader_of, service_account, start_controller,
};

const NS: &str = "eso-cases";
const SA: &str = "kv-reader";

/// How long all the ExternalSecrets together may take to show ESO's
/// outcome.
const SETTLE: Duration = Duration::from_secs(45);

/// What a user sees of one ExternalSecret.
#[derive(Debug, Default)]
struct Seen {
    /// Its `Ready` condition: status, reason, message.
    ready: Option<(String, String, String)>,
    /// Its Secret's data, if the Secret exists.
    data: Option<BTreeMap<String, Vec<u8>>>,
    /// The notes of its Warning `UpdateFailed` events.
    warnings: BTreeSet<String>,
}

/// What a user should see of a case's ExternalSecret: its `Ready`
/// condition, its Secret's data (none for a failed sync: no Secret
/// existed before) and, for a failed sync, the Warning event's note.
#[derive(Debug)]
struct Expect {
    ready: (String, String, String),
    data: Option<BTreeMap<String, Vec<u8>>>,
    warning: Option<String>,
}

impl Expect {
    fn of(outcome: &Outcome) -> Self {
        let failed = |message: String| Self {
            ready: (
                "False".to_owned(),
                "SecretSyncedError".to_owned(),
                message.clone(),
            ),
            data: None,
            warning: Some(message),
        };
        match outcome {
            Outcome::Synced(data) => Self {
                ready: (
                    "True".to_owned(),
                    "SecretSynced".to_owned(),
                    "secret synced".to_owned(),
                ),
                data: Some(data.clone()),
                warning: None,
            },
            Outcome::Refused(text) => failed(text.clone()),
            Outcome::Unusable(text) => {
                failed(format!("could not get secret data from provider: {text}"))
            }
            Outcome::NotFound(key) => failed(format!(
                "could not get secret data from provider: {key} was not found in the vault; the Secret is kept (deletionPolicy: Retain)"
            )),
            Outcome::ReadFailed(text) => panic!("no case of ESO's expects a failed read: {text}"),
        }
    }

    fn agrees(&self, seen: &Seen) -> bool {
        seen.ready.as_ref() == Some(&self.ready)
            && seen.data == self.data
            && self
                .warning
                .as_ref()
                .is_none_or(|note| seen.warnings.contains(note))
    }
}

/// A Secret's data for a report: each value as text when it is UTF-8,
/// else its length and first bytes.
fn show(data: Option<&BTreeMap<String, Vec<u8>>>) -> String {
    let Some(data) = data else {
        return "no Secret".to_owned();
    };
    let entries: Vec<String> = data
        .iter()
        .map(|(k, v)| match std::str::from_utf8(v) {
            Ok(text) => format!("{k}: {text:?}"),
            Err(_) => format!("{k}: {} bytes {:02x?}…", v.len(), &v[..v.len().min(16)]),
        })
        .collect();
    format!("{{{}}}", entries.join(", "))
}

/// What a user sees of every ExternalSecret of the namespace, by name.
async fn observe(client: &Client) -> BTreeMap<String, Seen> {
    let mut seen: BTreeMap<String, Seen> = BTreeMap::new();
    let external_secrets = Api::<ExternalSecret>::namespaced(client.clone(), NS)
        .list(&Default::default())
        .await
        .unwrap();
    for es in external_secrets {
        let ready = es.status.and_then(|s| {
            s.conditions
                .into_iter()
                .find(|c| c.type_ == "Ready")
                .map(|c| {
                    (
                        c.status,
                        c.reason.unwrap_or_default(),
                        c.message.unwrap_or_default(),
                    )
                })
        });
        seen.entry(es.metadata.name.unwrap_or_default())
            .or_default()
            .ready = ready;
    }
    let secrets = Api::<Secret>::namespaced(client.clone(), NS)
        .list(&Default::default())
        .await
        .unwrap();
    for secret in secrets {
        seen.entry(secret.name_any()).or_default().data = Some(data_of(&secret));
    }
    let events = Api::<Event>::namespaced(client.clone(), NS)
        .list(&Default::default())
        .await
        .unwrap();
    for event in events {
        if event.reason.as_deref() != Some("UpdateFailed")
            || event.type_.as_deref() != Some("Warning")
        {
            continue;
        }
        if let (Some(name), Some(note)) = (event.regarding.and_then(|r| r.name), event.note) {
            seen.entry(name).or_default().warnings.insert(note);
        }
    }
    seen
}

/// Every case of ESO's azurekv provider tests through the controller:
/// all the ExternalSecrets made at once, then each compared with ESO's
/// outcome until all agree or [`SETTLE`] is over; every disagreement is
/// reported.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eso_azurekv_cases_through_the_controller() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let plane = ControlPlane::start().await.unwrap();
    let client = plane.client().await.unwrap();
    let mut config = eso_provider::config();
    config.trusted_issuer_ca_pems = vec![plane.ca_pem().to_owned()];
    config.identities[0]
        .federated_credentials
        .push(FederatedCredential {
            name: "eso-cases".to_owned(),
            issuer: plane.issuer().to_owned(),
            subject: names::service_account_subject(NS, SA),
            audiences: vec![names::DEFAULT_AUDIENCE.to_owned()],
        });
    let emulator = Emulator::start(config).await.unwrap();
    // The tags and attributes set, ESO's outcomes made from Key Vault's
    // answers, with the demo workload's credential (the emulator's own
    // issuer); the controller reads with the ServiceAccount's.
    let (_dir, own) = eso_provider::demo_credential(&emulator);
    let cases = eso_provider::prepare(&emulator, &own).await;
    let expected: Vec<Expect> = cases.iter().map(|c| Expect::of(&c.expected)).collect();

    install_crds(&client).await;
    let (_, stop, running) = start_controller(&client, reader_of(&emulator));
    namespace(&client, NS).await;
    let mut objects = service_account(NS, SA, DEMO_CLIENT_ID);
    let vaults: BTreeSet<&str> = cases.iter().map(|c| c.vault).collect();
    for vault in vaults {
        objects.push_str(&format!(
            r"---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {{name: {vault}, namespace: {NS}}}
spec:
  provider:
    azurekv:
      authType: WorkloadIdentity
      tenantId: {DEMO_TENANT}
      vaultUrl: {}
      serviceAccountRef: {{name: {SA}}}
",
            emulator.vault_url(vault)
        ));
    }
    let name = |i: usize| format!("case-{i:02}");
    for (i, case) in cases.iter().enumerate() {
        objects.push_str(&format!(
            r"---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {{name: {}, namespace: {NS}}}
spec:
  refreshInterval: 1h
  secretStoreRef: {{name: {}}}
{}",
            name(i),
            case.vault,
            case.spec
        ));
    }
    apply(&client, NS, &objects).await;

    let started = tokio::time::Instant::now();
    let seen = loop {
        let seen = observe(&client).await;
        let agreed = expected
            .iter()
            .enumerate()
            .all(|(i, e)| seen.get(&name(i)).is_some_and(|s| e.agrees(s)));
        if agreed || started.elapsed() > SETTLE {
            break seen;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let nothing = Seen::default();
    let failed: Vec<String> = cases
        .iter()
        .zip(&expected)
        .enumerate()
        .filter_map(|(i, (case, expect))| {
            let got = seen.get(&name(i)).unwrap_or(&nothing);
            (!expect.agrees(got)).then(|| {
                format!(
                    "{} ({}, {}): got {:?}, {}, warnings {:?}; expected {:?}, {}, warning {:?}",
                    case.name,
                    name(i),
                    case.vault,
                    got.ready,
                    show(got.data.as_ref()),
                    got.warnings,
                    expect.ready,
                    show(expect.data.as_ref()),
                    expect.warning,
                )
            })
        })
        .collect();
    stop.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(10), running).await;
    drop(emulator);
    assert!(
        failed.is_empty(),
        "{} of {} cases disagree:\n{}",
        failed.len(),
        cases.len(),
        failed.join("\n")
    );
}
