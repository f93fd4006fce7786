//! On a real kube-apiserver, against the emulated Entra ID and Key Vault
//! (which trusts the apiserver's issuer): the CRDs install; walkthroughs
//! 1–3's manifests, `v1beta1` as written, give their Secrets; a new secret
//! version arrives within one refresh; a hand edit is reverted; a subject
//! with the wrong case and a missing role become conditions that name the
//! fix; `deletionPolicy: Delete` removes the Secret with the
//! ExternalSecret.
//!
//! The control plane comes from `azure-wi-control-plane`; without one this
//! test fails, it is never skipped.
#![allow(clippy::unwrap_used)]

mod support;

use support::{
    apply, eventually, install_crds, namespace, reader_of, ready, service_account, start_controller,
};

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use azure_wi_auth::{SecretClient, WorkloadVaults};
use azure_wi_control_plane::ControlPlane;
use azure_wi_core::names;
use azure_wi_emulator::{
    Config, Emulator,
    config::{
        DEMO_CLIENT_ID, DEMO_OBJECT_ID, DEMO_TENANT, FederatedCredential, Identity, Role,
        RoleAssignment, SecretSeed, Vault, VersionSeed,
    },
};
use k8s_openapi::api::core::v1::{Secret, ServiceAccount};
use kube::{
    Api, Client, ResourceExt,
    api::{DeleteParams, Patch, PatchParams, PostParams},
};
use secret_sync::{api::ExternalSecret, fetch::Reader};
use serde_json::{Value, json};

const OTHER_CLIENT_ID: &str = "5b6f0e2c-1d3a-4c8e-9f7b-2a4d6c8e0b1f";
const OTHER_OBJECT_ID: &str = "9a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d";

fn seed(name: &str, value: &str) -> SecretSeed {
    SecretSeed {
        name: name.to_owned(),
        versions: vec![VersionSeed {
            value: value.to_owned(),
            content_type: None,
            enabled: true,
        }],
    }
}

fn credential(plane: &ControlPlane, namespace: &str, account: &str) -> FederatedCredential {
    FederatedCredential {
        name: format!("{namespace}-{account}"),
        issuer: plane.issuer().to_owned(),
        subject: names::service_account_subject(namespace, account),
        audiences: vec![names::DEFAULT_AUDIENCE.to_owned()],
    }
}

/// The emulator: one identity trusted for the walkthroughs' ServiceAccounts
/// (and a case-changed subject), one with no role; the vaults they read.
fn config(plane: &ControlPlane) -> Config {
    let mut config = Config::demo();
    config.issuer = plane.issuer().to_owned();
    config.trusted_issuer_ca_pems = vec![plane.ca_pem().to_owned()];
    let mut typo = credential(plane, "casey", "app-sa");
    typo.subject = "system:serviceaccount:casey:App-SA".to_owned();
    config.identities[0].federated_credentials = vec![
        credential(plane, "rancher-app", "app-sa"),
        credential(plane, "app", "external-secrets"),
        credential(plane, "default", "workload-identity-sa"),
        credential(plane, "sync", "sync-sa"),
        credential(plane, "sync", "bare-sa"),
        typo,
    ];
    config.identities.push(Identity {
        name: "no-role".to_owned(),
        tenant: DEMO_TENANT.to_owned(),
        client_id: OTHER_CLIENT_ID.to_owned(),
        object_id: OTHER_OBJECT_ID.to_owned(),
        federated_credentials: vec![credential(plane, "norole", "app-sa")],
    });
    config.vaults = vec![
        Vault {
            name: "kv1".to_owned(),
            tenant: None,
            secrets: vec![
                seed("db-password", "pw-1"),
                seed("api-key", "key-1"),
                seed("client-secret", "cs-1"),
                seed("username", "not-matched"),
            ],
            keys: Vec::new(),
            certificates: Vec::new(),
        },
        Vault {
            name: "kv-prod".to_owned(),
            tenant: None,
            secrets: vec![
                seed("app-prod-db-password", "prod-pw"),
                seed("app-prod-db-username", "prod-user"),
                seed("rotating", "v1"),
            ],
            keys: Vec::new(),
            certificates: Vec::new(),
        },
        Vault {
            name: "mykeyvault".to_owned(),
            tenant: None,
            secrets: vec![seed("database-password", "minimal-pw")],
            keys: Vec::new(),
            certificates: Vec::new(),
        },
    ];
    config.role_assignments = ["kv1", "kv-prod", "mykeyvault"]
        .iter()
        .map(|vault| RoleAssignment {
            principal_id: DEMO_OBJECT_ID.to_owned(),
            role: Role::SecretsOfficer,
            scope: (*vault).to_owned(),
        })
        .collect();
    config
}

async fn secret_data(
    client: &Client,
    namespace: &str,
    name: &str,
) -> Option<BTreeMap<String, String>> {
    let secret = Api::<Secret>::namespaced(client.clone(), namespace)
        .get_opt(name)
        .await
        .unwrap()?;
    Some(
        secret
            .data
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, String::from_utf8(v.0).unwrap()))
            .collect(),
    )
}

async fn failed_with(client: &Client, namespace: &str, name: &str) -> String {
    eventually(
        Duration::from_secs(30),
        &format!("{namespace}/{name} to fail"),
        || async {
            ready(client, namespace, name)
                .await
                .filter(|(status, _, _)| status == "False")
                .map(|(_, reason, message)| {
                    assert_eq!(reason, "SecretSyncedError");
                    message
                })
        },
    )
    .await
}

/// Waits up to `within` for the `sync/rotating` Secret's `value` to be
/// `expected`.
async fn rotating_holds(client: &Client, expected: &str, within: Duration, what: &str) {
    eventually(within, what, || async {
        secret_data(client, "sync", "rotating")
            .await
            .filter(|d| d.get("value").map(String::as_str) == Some(expected))
    })
    .await;
}

/// The first event of `namespace` with `reason`, waited for.
async fn event(
    client: &Client,
    namespace: &str,
    reason: &str,
) -> k8s_openapi::api::events::v1::Event {
    let events: Api<k8s_openapi::api::events::v1::Event> =
        Api::namespaced(client.clone(), namespace);
    eventually(
        Duration::from_secs(10),
        &format!("a {reason} event in {namespace}"),
        || async {
            events
                .list(&Default::default())
                .await
                .unwrap()
                .items
                .into_iter()
                .find(|e| e.reason.as_deref() == Some(reason))
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn walkthrough_manifests_sync_and_failures_name_the_fix() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let plane = ControlPlane::start().await.unwrap();
    let client = plane.client().await.unwrap();
    let emulator = Emulator::start(config(&plane)).await.unwrap();

    // The CRDs install and are established.
    install_crds(&client).await;

    // The controller, reaching the emulator; AZURE_TENANT_ID as the webhook
    // would inject it (walkthroughs 2 and 3 name no tenant).
    let reader = reader_of(&emulator);
    let (ctx, stop, running) = start_controller(&client, reader);

    // Walkthrough 1, option A (pattern) and B (every secret).
    namespace(&client, "rancher-app").await;
    apply(
        &client,
        "rancher-app",
        &include_str!("walkthroughs/1.yaml")
            .replace("<UAMI_CLIENT_ID>", DEMO_CLIENT_ID)
            .replace("<tenantID>", DEMO_TENANT),
    )
    .await;
    let pattern = eventually(Duration::from_secs(30), "walkthrough 1 option A", || {
        secret_data(&client, "rancher-app", "pattern-secrets")
    })
    .await;
    assert_eq!(
        pattern,
        BTreeMap::from([
            ("api-key".to_owned(), "key-1".to_owned()),
            ("client-secret".to_owned(), "cs-1".to_owned()),
            ("db-password".to_owned(), "pw-1".to_owned()),
        ])
    );
    let every = eventually(Duration::from_secs(30), "walkthrough 1 option B", || {
        secret_data(&client, "rancher-app", "all-secrets")
    })
    .await;
    assert_eq!(every.len(), 4);
    assert_eq!(every["username"], "not-matched");
    // The Secret is written before the status: wait for the condition too.
    let (status, reason, _) = eventually(Duration::from_secs(30), "pattern's Ready", || {
        ready(&client, "rancher-app", "pattern")
    })
    .await;
    assert_eq!((status.as_str(), reason.as_str()), ("True", "SecretSynced"));
    // The managed Secret carries ESO's marks and the owner reference.
    let managed = Api::<Secret>::namespaced(client.clone(), "rancher-app")
        .get("pattern-secrets")
        .await
        .unwrap();
    assert_eq!(
        managed.labels()["reconcile.external-secrets.io/managed"],
        "true"
    );
    assert!(
        managed
            .annotations()
            .contains_key("reconcile.external-secrets.io/data-hash")
    );
    assert_eq!(managed.owner_references()[0].kind, "ExternalSecret");

    // Walkthrough 2: the store names a namespace a SecretStore ignores; the
    // ServiceAccount is looked up in the ExternalSecret's namespace.
    namespace(&client, "app").await;
    apply(
        &client,
        "app",
        &format!(
            "{}---\n{}",
            service_account("app", "external-secrets", DEMO_CLIENT_ID),
            include_str!("walkthroughs/2.yaml")
        ),
    )
    .await;
    let credentials = eventually(Duration::from_secs(30), "walkthrough 2", || {
        secret_data(&client, "app", "app-db-credentials")
    })
    .await;
    assert_eq!(credentials["DB_PASSWORD"], "prod-pw");
    assert_eq!(credentials["DB_USERNAME"], "prod-user");
    let (_, _, message) = eventually(Duration::from_secs(30), "walkthrough 2's Ready", || {
        ready(&client, "app", "app-db-credentials")
    })
    .await;
    assert!(message.contains("is ignored in a SecretStore"), "{message}");
    let ignored = event(&client, "app", "IgnoredField").await;
    assert_eq!(ignored.type_.as_deref(), Some("Warning"));
    assert!(
        ignored
            .note
            .unwrap_or_default()
            .contains("serviceAccountRef.namespace")
    );

    // Without a template, the ExternalSecret's own labels and annotations
    // are the Secret's (ESO's setMetadata); a label removed from it leaves
    // the Secret too.
    let externals = Api::<ExternalSecret>::namespaced(client.clone(), "app");
    let app_secrets = Api::<Secret>::namespaced(client.clone(), "app");
    externals
        .patch(
            "app-db-credentials",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"team": "payments"},
                                              "annotations": {"owner": "db-team"}}})),
        )
        .await
        .unwrap();
    eventually(
        Duration::from_secs(30),
        "the ExternalSecret's label on its Secret",
        || async {
            let secret = app_secrets.get("app-db-credentials").await.unwrap();
            (secret.labels().get("team").map(String::as_str) == Some("payments")
                && secret.annotations().get("owner").map(String::as_str) == Some("db-team"))
            .then_some(())
        },
    )
    .await;
    externals
        .patch(
            "app-db-credentials",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"team": null}}})),
        )
        .await
        .unwrap();
    eventually(
        Duration::from_secs(30),
        "the removed label gone from the Secret",
        || async {
            let secret = app_secrets.get("app-db-credentials").await.unwrap();
            (!secret.labels().contains_key("team")).then_some(())
        },
    )
    .await;

    // Walkthrough 3: no namespace, no tenant, the default creationPolicy.
    apply(
        &client,
        "default",
        &include_str!("walkthroughs/3.yaml")
            .replace("<managed-identity-client-id>", DEMO_CLIENT_ID),
    )
    .await;
    let minimal = eventually(Duration::from_secs(30), "walkthrough 3", || {
        secret_data(&client, "default", "my-k8s-secret")
    })
    .await;
    assert_eq!(minimal["db-password"], "minimal-pw");

    // Three ServiceAccounts so far, each one TokenRequest and one exchange.
    assert_eq!(ctx.tokens.requests(), 3);
    assert_eq!(emulator.counters().tokens_issued(), 3);

    // A new version reaches the Secret within one refresh; a hand edit is
    // reverted; deletionPolicy: Delete removes the Secret with its owner.
    namespace(&client, "sync").await;
    apply(
        &client,
        "sync",
        &format!(
            "{}---\n{}",
            service_account("sync", "sync-sa", DEMO_CLIENT_ID),
            r#"apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: prod, namespace: sync}
spec:
  provider:
    azurekv:
      authType: WorkloadIdentity
      vaultUrl: https://kv-prod.vault.azure.net
      tenantId: "72f988bf-0000-4000-8000-000000000001"
      serviceAccountRef: {name: sync-sa}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: rotating, namespace: sync}
spec:
  refreshInterval: 2s
  secretStoreRef: {name: prod}
  target: {name: rotating, deletionPolicy: Delete}
  data:
  - secretKey: value
    remoteRef: {key: secret/rotating}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: bare-sa, namespace: sync}
---
apiVersion: v1
kind: Secret
metadata: {name: ids, namespace: sync}
stringData: {clientId: "CLIENT_ID_HERE"}
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: by-secret, namespace: sync}
spec:
  provider:
    azurekv:
      authType: WorkloadIdentity
      vaultUrl: https://kv-prod.vault.azure.net
      tenantId: "72f988bf-0000-4000-8000-000000000001"
      serviceAccountRef: {name: bare-sa}
      authSecretRef:
        clientId: {name: ids, key: clientId}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: by-secret, namespace: sync}
spec:
  refreshInterval: 1h
  secretStoreRef: {name: by-secret}
  target: {name: by-secret}
  data:
  - secretKey: value
    remoteRef: {key: secret/rotating}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: once, namespace: sync}
spec:
  refreshPolicy: CreatedOnce
  refreshInterval: 1s
  secretStoreRef: {name: prod}
  target: {name: once}
  data:
  - secretKey: value
    remoteRef: {key: secret/rotating}
"#
            .replace("72f988bf-0000-4000-8000-000000000001", DEMO_TENANT)
            .replace("CLIENT_ID_HERE", DEMO_CLIENT_ID)
        ),
    )
    .await;
    rotating_holds(&client, "v1", Duration::from_secs(30), "the first version").await;
    let first = eventually(Duration::from_secs(30), "the CreatedOnce Secret", || {
        secret_data(&client, "sync", "once")
    })
    .await;
    assert_eq!(first["value"], "v1");
    // authSecretRef: the client id from a Secret, the ServiceAccount bare.
    let by_secret = eventually(
        Duration::from_secs(30),
        "the authSecretRef store's Secret",
        || secret_data(&client, "sync", "by-secret"),
    )
    .await;
    assert_eq!(by_secret["value"], "v1");
    // A writer with the same identity, from a TokenRequest of its own.
    let request: k8s_openapi::api::authentication::v1::TokenRequest =
        serde_json::from_value(json!({"spec": {"audiences": [names::DEFAULT_AUDIENCE]}})).unwrap();
    let token = Api::<ServiceAccount>::namespaced(client.clone(), "sync")
        .create_token_request("sync-sa", &PostParams::default(), &request)
        .await
        .unwrap()
        .status
        .unwrap()
        .token;
    let dir = tempfile::tempdir().unwrap();
    let token_file =
        azure_wi_emulator::issuer::write_token_file(&dir.path().join("tokens"), &token).unwrap();
    let writer = SecretClient::builder(
        &emulator.vault_url("kv-prod"),
        emulator
            .credential_builder(DEMO_TENANT, DEMO_CLIENT_ID, &token_file)
            .unwrap()
            .build()
            .unwrap(),
    )
    .with_http_client(emulator.client().unwrap())
    .build()
    .unwrap();
    writer.set_secret("rotating", "v2").await.unwrap();
    rotating_holds(
        &client,
        "v2",
        Duration::from_secs(10),
        "the new version within one refresh",
    )
    .await;
    // refreshPolicy: CreatedOnce: the first version stays, refreshes
    // notwithstanding; the Secret deleted, it is made again from the
    // current value (ESO's shouldRefresh with isSecretValid).
    let kept = secret_data(&client, "sync", "once").await.unwrap();
    assert_eq!(kept["value"], "v1", "CreatedOnce reads once");
    let secrets = Api::<Secret>::namespaced(client.clone(), "sync");
    secrets
        .delete("once", &DeleteParams::default())
        .await
        .unwrap();
    eventually(
        Duration::from_secs(15),
        "the CreatedOnce Secret made again",
        || async {
            secret_data(&client, "sync", "once")
                .await
                .filter(|data| data["value"] == "v2")
                .map(|_| ())
        },
    )
    .await;
    secrets
        .patch(
            "rotating",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"value": "aGFuZC1lZGl0"}})),
        )
        .await
        .unwrap();
    rotating_holds(
        &client,
        "v2",
        Duration::from_secs(10),
        "the hand edit reverted",
    )
    .await;
    Api::<ExternalSecret>::namespaced(client.clone(), "sync")
        .delete("rotating", &DeleteParams::default())
        .await
        .unwrap();
    eventually(
        Duration::from_secs(10),
        "the Secret deleted with its ExternalSecret",
        || async {
            let gone = secrets.get_opt("rotating").await.unwrap().is_none();
            let es_gone = Api::<ExternalSecret>::namespaced(client.clone(), "sync")
                .get_opt("rotating")
                .await
                .unwrap()
                .is_none();
            (gone && es_gone).then_some(())
        },
    )
    .await;

    // A ClusterSecretStore names the ServiceAccount's namespace and serves
    // only the namespaces its conditions list.
    for ns in ["consumer", "outsider"] {
        namespace(&client, ns).await;
    }
    apply(
        &client,
        "default",
        &format!(
            r#"apiVersion: external-secrets.io/v1
kind: ClusterSecretStore
metadata: {{name: shared}}
spec:
  conditions:
  - namespaces: [consumer]
  provider:
    azurekv:
      authType: WorkloadIdentity
      vaultUrl: https://kv-prod.vault.azure.net
      tenantId: "{DEMO_TENANT}"
      serviceAccountRef: {{name: sync-sa, namespace: sync}}
"#
        ),
    )
    .await;
    for ns in ["consumer", "outsider"] {
        apply(
            &client,
            ns,
            &format!(
                r#"apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {{name: shared, namespace: {ns}}}
spec:
  secretStoreRef: {{name: shared, kind: ClusterSecretStore}}
  target: {{name: shared}}
  data:
  - secretKey: password
    remoteRef: {{key: app-prod-db-password}}
"#
            ),
        )
        .await;
    }
    let shared = eventually(
        Duration::from_secs(30),
        "the ClusterSecretStore's Secret",
        || secret_data(&client, "consumer", "shared"),
    )
    .await;
    assert_eq!(shared["password"], "prod-pw");
    let outsider = failed_with(&client, "outsider", "shared").await;
    assert!(
        outsider.contains("does not serve namespace outsider"),
        "{outsider}"
    );

    // A store this controller cannot serve says so in its own condition.
    apply(
        &client,
        "outsider",
        r#"apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: aws, namespace: outsider}
spec:
  provider:
    aws: {service: SecretsManager, region: eu-west-1}
"#,
    )
    .await;
    let stores = Api::<secret_sync::api::SecretStore>::namespaced(client.clone(), "outsider");
    let refused = eventually(
        Duration::from_secs(30),
        "the aws store's condition",
        || async {
            let store = stores.get("aws").await.ok()?;
            let ready = store
                .status?
                .conditions
                .into_iter()
                .find(|c| c.type_ == "Ready")?;
            (ready.status == "False").then(|| ready.message.unwrap_or_default())
        },
    )
    .await;
    assert!(refused.contains("provider is aws"), "{refused}");

    // A federated credential whose subject differs only in case.
    namespace(&client, "casey").await;
    apply(
        &client,
        "casey",
        &format!(
            "{}---\n{}",
            service_account("casey", "app-sa", DEMO_CLIENT_ID),
            store_and_secret("casey", "kv1", "db-password")
        ),
    )
    .await;
    let typo = failed_with(&client, "casey", "read").await;
    assert!(
        typo.contains("system:serviceaccount:casey:app-sa"),
        "{typo}"
    );
    assert!(typo.contains("AADSTS700213"), "{typo}");
    // azure-wi-auth's diagnosis: what the token presented, what must match.
    assert!(typo.contains("diagnosis:"), "{typo}");
    assert!(
        typo.contains(&format!("issuer is '{}'", plane.issuer())),
        "{typo}"
    );
    assert!(typo.contains(DEMO_CLIENT_ID), "{typo}");

    // An identity without a role on the vault.
    namespace(&client, "norole").await;
    apply(
        &client,
        "norole",
        &format!(
            "{}---\n{}",
            service_account("norole", "app-sa", OTHER_CLIENT_ID),
            store_and_secret("norole", "kv1", "db-password")
        ),
    )
    .await;
    let forbidden = failed_with(&client, "norole", "read").await;
    assert!(forbidden.contains("Key Vault Secrets User"), "{forbidden}");
    assert!(
        forbidden.contains("https://kv1.vault.azure.net"),
        "{forbidden}"
    );

    // The failures are Warning events too.
    let warned = event(&client, "norole", "UpdateFailed").await;
    assert!(
        warned
            .note
            .unwrap_or_default()
            .contains("Key Vault Secrets User")
    );

    stop.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(10), running).await;
    // No token ever reached a condition.
    for (ns, name) in [("casey", "read"), ("norole", "read")] {
        let (_, _, message) = ready(&client, ns, name).await.unwrap();
        assert!(!message.contains("eyJ"), "{message}");
    }
}

fn store_and_secret(namespace: &str, vault: &str, key: &str) -> String {
    format!(
        r#"apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {{name: store, namespace: {namespace}}}
spec:
  provider:
    azurekv:
      authType: WorkloadIdentity
      vaultUrl: https://{vault}.vault.azure.net
      serviceAccountRef: {{name: app-sa}}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {{name: read, namespace: {namespace}}}
spec:
  refreshInterval: 1h
  secretStoreRef: {{name: store}}
  target: {{name: read}}
  data:
  - secretKey: value
    remoteRef: {{key: {key}}}
"#
    )
}

/// Key Vault for the controller, with one secret that disappears between
/// a listing and its read: once armed, the next read of `victim` answers
/// Key Vault's 404 (`SecretNotFound`) and from then on the secret is
/// deleted (reads 404, listings leave it out), as when someone deletes it
/// in the portal after the controller listed the vault. Everything else
/// goes to the emulator.
#[derive(Debug)]
struct DeletedBetweenListAndRead {
    emulator: azure_wi_auth::transport::ReqwestTransport,
    victim: &'static str,
    armed: std::sync::atomic::AtomicBool,
    deleted: std::sync::atomic::AtomicBool,
    not_found_served: std::sync::atomic::AtomicUsize,
    listings_after: std::sync::atomic::AtomicUsize,
}

/// The controller's handle on [`DeletedBetweenListAndRead`].
#[derive(Debug, Clone)]
struct Deleting(Arc<DeletedBetweenListAndRead>);

impl azure_wi_auth::transport::Transport for Deleting {
    fn send(
        &self,
        request: azure_wi_auth::transport::HttpRequest,
    ) -> futures::future::BoxFuture<'_, Result<azure_wi_auth::transport::HttpResponse, String>>
    {
        use std::sync::atomic::Ordering::SeqCst;
        let state = &self.0;
        Box::pin(async move {
            let path = request.url.path().trim_end_matches('/').to_owned();
            let reads_victim = path == format!("/secrets/{}", state.victim)
                || path.starts_with(&format!("/secrets/{}/", state.victim));
            if reads_victim && (state.deleted.load(SeqCst) || state.armed.swap(false, SeqCst)) {
                state.deleted.store(true, SeqCst);
                state.not_found_served.fetch_add(1, SeqCst);
                let body = json!({"error": {"code": "SecretNotFound", "message": format!(
                    "A secret with (name/id) {} was not found in this key vault.", state.victim)}});
                return Ok(azure_wi_auth::transport::HttpResponse {
                    status: 404,
                    headers: vec![("content-type".into(), "application/json".into())],
                    body: body.to_string().into_bytes(),
                });
            }
            let mut response = state.emulator.send(request).await?;
            if path == "/secrets" && response.status == 200 && state.deleted.load(SeqCst) {
                state.listings_after.fetch_add(1, SeqCst);
                let mut page: Value = serde_json::from_slice(&response.body).unwrap();
                let suffix = format!("/secrets/{}", state.victim);
                page["value"]
                    .as_array_mut()
                    .unwrap()
                    .retain(|item| !item["id"].as_str().unwrap().ends_with(&suffix));
                response.body = page.to_string().into_bytes();
            }
            Ok(response)
        })
    }
}

/// A control plane and the emulator, the CRDs installed, and the
/// controller reading Key Vault through [`Deleting`] for `victim`.
struct DeletingFixture {
    client: Client,
    vault: Deleting,
    stop: tokio_util::sync::CancellationToken,
    running: tokio::task::JoinHandle<()>,
    // Kept for their lifetime: dropping them stops them.
    _emulator: Emulator,
    _plane: ControlPlane,
}

/// The SecretStore `sync/kv1`: vault kv1 read as `sync/sync-sa`.
fn kv1_store() -> String {
    format!(
        r#"apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {{name: kv1, namespace: sync}}
spec:
  provider:
    azurekv:
      authType: WorkloadIdentity
      tenantId: {DEMO_TENANT}
      vaultUrl: https://kv1.vault.azure.net
      serviceAccountRef: {{name: sync-sa}}
"#
    )
}

impl DeletingFixture {
    async fn start(victim: &'static str) -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let plane = ControlPlane::start().await.unwrap();
        let client = plane.client().await.unwrap();
        let emulator = Emulator::start(config(&plane)).await.unwrap();
        install_crds(&client).await;
        let vault = Deleting(Arc::new(DeletedBetweenListAndRead {
            emulator: azure_wi_auth::transport::ReqwestTransport::new(emulator.client().unwrap()),
            victim,
            armed: false.into(),
            deleted: false.into(),
            not_found_served: 0.into(),
            listings_after: 0.into(),
        }));
        let reader = Reader::new(
            WorkloadVaults::with_http_client(emulator.client().unwrap())
                .unwrap()
                .with_key_vault_transport(vault.clone()),
            None,
            Some(emulator.client().unwrap()),
            3000,
        );
        let (_, stop, running) = start_controller(&client, reader);
        Self {
            client,
            vault,
            stop,
            running,
            _emulator: emulator,
            _plane: plane,
        }
    }

    /// Applies, in namespace `sync` (whose ServiceAccount `sync-sa` the
    /// emulator's identity trusts), that ServiceAccount, a SecretStore
    /// `kv1` reading vault kv1 as it, and `external_secret`.
    async fn apply_with_store(&self, external_secret: &str) {
        namespace(&self.client, "sync").await;
        apply(
            &self.client,
            "sync",
            &format!(
                "{}---\n{}---\n{external_secret}",
                service_account("sync", "sync-sa", DEMO_CLIENT_ID),
                kv1_store()
            ),
        )
        .await;
    }

    async fn stop(self) {
        self.stop.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(10), self.running).await;
    }
}

/// A `dataFrom.find` whose listing names a secret deleted before its read:
/// under `deletionPolicy: Delete` the user's Secret must not be deleted
/// (the listing was stale, the remote is not gone); the sync lists afresh
/// and writes what exists now.
#[tokio::test]
async fn a_secret_deleted_between_the_listing_and_its_read_never_deletes_the_users_secret() {
    use std::sync::atomic::Ordering::SeqCst;
    let fixture = DeletingFixture::start("client-secret").await;
    let (client, vault) = (&fixture.client, &fixture.vault);

    fixture
        .apply_with_store(
            r#"apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: found, namespace: sync}
spec:
  refreshInterval: 1h
  secretStoreRef: {name: kv1, kind: SecretStore}
  target: {name: found, creationPolicy: Owner, deletionPolicy: Delete}
  dataFrom:
  - find: {name: {regexp: "^(api-key|client-secret)$"}}
"#,
        )
        .await;
    let both = BTreeMap::from([
        ("api-key".to_owned(), "key-1".to_owned()),
        ("client-secret".to_owned(), "cs-1".to_owned()),
    ]);
    eventually(Duration::from_secs(30), "the first sync", || async {
        secret_data(client, "sync", "found")
            .await
            .filter(|data| *data == both)
    })
    .await;
    let secrets = Api::<Secret>::namespaced(client.clone(), "sync");
    let uid = secrets.get("found").await.unwrap().uid();

    // client-secret goes between the next listing (or the one the first
    // sync made, still shared) and its read; the sync is forced at once.
    vault.0.armed.store(true, SeqCst);
    Api::<ExternalSecret>::namespaced(client.clone(), "sync")
        .patch(
            "found",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {
                "external-secrets.io/force-sync": "after-the-deletion"}}})),
        )
        .await
        .unwrap();

    let remaining = BTreeMap::from([("api-key".to_owned(), "key-1".to_owned())]);
    eventually(
        Duration::from_secs(30),
        "the Secret to hold what exists now",
        || async {
            let Some(data) = secret_data(client, "sync", "found").await else {
                panic!(
                    "the user's Secret was deleted: a stale listing's 404 was taken as the remote being gone"
                );
            };
            (data == remaining).then_some(())
        },
    )
    .await;
    assert_eq!(vault.0.not_found_served.load(SeqCst), 1, "one read 404'd");
    assert!(
        vault.0.listings_after.load(SeqCst) >= 1,
        "the vault was listed afresh after the 404"
    );
    assert_eq!(
        secrets.get("found").await.unwrap().uid(),
        uid,
        "the same Secret, never deleted and recreated"
    );
    let (status, _, message) = eventually(
        Duration::from_secs(10),
        "Ready=True SecretSynced",
        || async {
            ready(client, "sync", "found")
                .await
                .filter(|(_, reason, _)| reason == "SecretSynced")
        },
    )
    .await;
    assert_eq!(status, "True", "{message}");
    let deleted_events =
        Api::<k8s_openapi::api::events::v1::Event>::namespaced(client.clone(), "sync")
            .list(&Default::default())
            .await
            .unwrap()
            .items
            .into_iter()
            .filter(|e| e.reason.as_deref() == Some("Deleted"))
            .count();
    assert_eq!(deleted_events, 0);

    fixture.stop().await;
}

/// A remote object that is really gone, under `deletionPolicy: Delete`:
/// the Secret is deleted once, the condition says why, and the vault is
/// not asked again until the next refresh. (Each status write used to
/// trigger a reconcile that found the Secret missing and read the vault
/// at once: about one 404 a second, forever.)
#[tokio::test]
async fn a_gone_remote_is_read_again_at_the_next_refresh_not_in_a_loop() {
    use std::sync::atomic::Ordering::SeqCst;
    let fixture = DeletingFixture::start("api-key").await;
    let (client, vault) = (&fixture.client, &fixture.vault);

    fixture
        .apply_with_store(
            r#"apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: app, namespace: sync}
spec:
  refreshInterval: 1h
  secretStoreRef: {name: kv1, kind: SecretStore}
  target: {name: app, creationPolicy: Owner, deletionPolicy: Delete}
  data:
  - secretKey: key
    remoteRef: {key: api-key}
"#,
        )
        .await;
    eventually(Duration::from_secs(30), "the first sync", || async {
        secret_data(client, "sync", "app").await
    })
    .await;

    // The secret is deleted in the vault; a forced sync finds it gone.
    vault.0.deleted.store(true, SeqCst);
    Api::<ExternalSecret>::namespaced(client.clone(), "sync")
        .patch(
            "app",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {
                "external-secrets.io/force-sync": "after-the-deletion"}}})),
        )
        .await
        .unwrap();
    let (status, reason, message) =
        eventually(Duration::from_secs(30), "Ready SecretDeleted", || async {
            ready(client, "sync", "app")
                .await
                .filter(|(_, reason, _)| reason == "SecretDeleted")
        })
        .await;
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("True", "SecretDeleted"),
        "{message}"
    );
    assert!(message.contains("api-key"), "{message}");
    assert!(
        Api::<Secret>::namespaced(client.clone(), "sync")
            .get_opt("app")
            .await
            .unwrap()
            .is_none(),
        "deletionPolicy: Delete removed the Secret"
    );

    // Then quiet: over ten seconds (the controller's debounce is one), the
    // vault is not asked again before the hour's refresh.
    let seen = vault.0.not_found_served.load(SeqCst);
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(
        vault.0.not_found_served.load(SeqCst),
        seen,
        "the gone secret was read again before its next refresh"
    );

    fixture.stop().await;
}

/// `metadataPolicy: Fetch` through the controller: an ExternalSecret
/// reading a tag of a secret (ESO's azurekv provider's
/// `ref.MetadataPolicy == Fetch`) gets the tag's value in its Secret,
/// beside a value read as before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_policy_fetch_puts_the_tag_value_in_the_secret() {
    use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
    let _ = rustls::crypto::ring::default_provider().install_default();
    let plane = ControlPlane::start().await.unwrap();
    let client = plane.client().await.unwrap();
    let emulator = Emulator::start(config(&plane)).await.unwrap();
    install_crds(&client).await;
    namespace(&client, "sync").await;
    apply(
        &client,
        "sync",
        &service_account("sync", "sync-sa", DEMO_CLIENT_ID),
    )
    .await;

    // The vault's owner tags the secret, as sync-sa (Secrets Officer on
    // kv1) with a token from this API server.
    let request = TokenRequest {
        spec: TokenRequestSpec {
            audiences: vec![names::DEFAULT_AUDIENCE.to_owned()],
            ..TokenRequestSpec::default()
        },
        ..TokenRequest::default()
    };
    let token = Api::<ServiceAccount>::namespaced(client.clone(), "sync")
        .create_token_request("sync-sa", &PostParams::default(), &request)
        .await
        .unwrap()
        .status
        .unwrap()
        .token;
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, token).unwrap();
    let owner = emulator
        .credential_builder(DEMO_TENANT, DEMO_CLIENT_ID, &token_file)
        .unwrap()
        .build()
        .unwrap();
    let access = owner
        .get_token(&["https://vault.azure.net/.default".parse().unwrap()])
        .await
        .unwrap();
    let response = emulator
        .client()
        .unwrap()
        .patch(format!(
            "{}/secrets/db-password/?api-version=7.4",
            emulator.vault_url("kv1")
        ))
        .bearer_auth(access.secret())
        .json(&json!({"tags": {"owner": "team-payments"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let reader = reader_of(&emulator);
    let (_, stop, running) = start_controller(&client, reader);
    apply(
        &client,
        "sync",
        &format!(
            "{}{}",
            kv1_store(),
            r#"---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: tagged, namespace: sync}
spec:
  refreshInterval: 1h
  secretStoreRef: {name: kv1, kind: SecretStore}
  target: {name: tagged}
  data:
  - secretKey: owner
    remoteRef: {key: db-password, metadataPolicy: Fetch, property: owner}
  - secretKey: password
    remoteRef: {key: db-password}
"#
        ),
    )
    .await;
    let data = eventually(Duration::from_secs(30), "the tagged Secret", || {
        secret_data(&client, "sync", "tagged")
    })
    .await;
    assert_eq!(
        data,
        BTreeMap::from([
            ("owner".to_owned(), "team-payments".to_owned()),
            ("password".to_owned(), "pw-1".to_owned()),
        ])
    );
    let (status, reason, message) = eventually(Duration::from_secs(30), "tagged's Ready", || {
        ready(&client, "sync", "tagged")
    })
    .await;
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("True", "SecretSynced"),
        "{message}"
    );

    stop.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(10), running).await;
}
