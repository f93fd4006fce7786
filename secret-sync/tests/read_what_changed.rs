//! secret-sync reads what changed, through the real controller on a real
//! kube-apiserver against the emulator, counting what the emulator
//! answers (`Emulator::request_log`): refreshes that change nothing make
//! one listing per store identity and no GET of an unchanged secret, but
//! for every Nth refresh, which reads everything; keys, certificates and
//! pinned versions are read at every refresh; and every change reaches the
//! Secret at the next refresh: a new value written in the same second as
//! the last read, a tag read by `metadataPolicy: Fetch`, a deleted secret
//! and a disabled one (each then as the full read reports it).
#![allow(clippy::unwrap_used)]

mod support;

use std::{sync::Arc, time::Duration};

use azure_wi_control_plane::ControlPlane;
use azure_wi_core::names;
use azure_wi_emulator::{
    Config, Emulator,
    config::{
        DEMO_CLIENT_ID, DEMO_OBJECT_ID, DEMO_TENANT, FederatedCredential, Role, RoleAssignment,
        SecretSeed, VersionSeed,
    },
    requests::{RequestKind, RequestRecord},
};
use kube::Client;
use secret_sync::controller::{self, Context};
use serde_json::json;
use support::{
    apply, data_of, eventually, install_crds, namespace, reader_of, ready, secret, service_account,
};

const NS: &str = "changes";
const SA: &str = "reader";
const VAULT: &str = "orders-kv";
/// Every fourth refresh reads everything.
const FULL_READ_EVERY: u32 = 4;
const REFRESH: Duration = Duration::from_secs(3);

fn seed(name: &str, values: &[&str]) -> SecretSeed {
    SecretSeed {
        name: name.to_owned(),
        versions: values
            .iter()
            .map(|value| VersionSeed {
                value: (*value).to_owned(),
                content_type: None,
                enabled: true,
            })
            .collect(),
    }
}

fn config(plane: &ControlPlane) -> Config {
    let mut config = Config::demo_with_keys_and_certificates();
    config.issuer = plane.issuer().to_owned();
    config.trusted_issuer_ca_pems = vec![plane.ca_pem().to_owned()];
    config.identities[0].federated_credentials = vec![FederatedCredential {
        name: "changes".to_owned(),
        issuer: plane.issuer().to_owned(),
        subject: names::service_account_subject(NS, SA),
        audiences: vec![names::DEFAULT_AUDIENCE.to_owned()],
    }];
    config.role_assignments.push(RoleAssignment {
        principal_id: DEMO_OBJECT_ID.into(),
        role: Role::SecretsOfficer,
        scope: VAULT.into(),
    });
    let vault = config.vaults.iter_mut().find(|v| v.name == VAULT).unwrap();
    for (name, values) in [
        ("plain", &["one"][..]),
        ("tagged", &["value"][..]),
        ("pinned", &["first", "second"][..]),
        ("doomed", &["here"][..]),
        ("switch", &["on"][..]),
    ] {
        vault.secrets.push(seed(name, values));
    }
    config
}

fn external_secret(name: &str, remote_ref: &str) -> String {
    format!(
        "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {{name: {name}, namespace: {NS}}}\nspec:\n  refreshInterval: {}s\n  secretStoreRef: {{name: kv}}\n  data:\n  - secretKey: v\n    remoteRef: {{{remote_ref}}}\n",
        REFRESH.as_secs()
    )
}

/// Runs the controllers with every [`FULL_READ_EVERY`]th refresh a full
/// read.
fn start(
    client: &Client,
    emulator: &Emulator,
) -> (
    tokio_util::sync::CancellationToken,
    tokio::task::JoinHandle<()>,
) {
    let mut ctx = Context::new(
        client.clone(),
        reader_of(emulator),
        Some(DEMO_TENANT.to_owned()),
    );
    ctx.freshness = secret_sync::change::Freshness::new(FULL_READ_EVERY);
    let stop = tokio_util::sync::CancellationToken::new();
    let (synced, _) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(controller::run(Arc::new(ctx), 4, stop.clone(), synced));
    (stop, running)
}

/// A token of the test's ServiceAccount for Entra, from the API server.
async fn token_file(client: &Client, dir: &std::path::Path) -> std::path::PathBuf {
    use k8s_openapi::api::{authentication::v1::TokenRequest, core::v1::ServiceAccount};
    let request: TokenRequest = serde_json::from_value(json!({
        "spec": {"audiences": [names::DEFAULT_AUDIENCE], "expirationSeconds": 3600}
    }))
    .unwrap();
    let issued = kube::Api::<ServiceAccount>::namespaced(client.clone(), NS)
        .create_token_request(SA, &kube::api::PostParams::default(), &request)
        .await
        .unwrap();
    let path = dir.join("token");
    std::fs::write(&path, issued.status.unwrap().token).unwrap();
    path
}

/// Key Vault's `PATCH` of `path` (tags, attributes) in the test's vault.
async fn patch(
    emulator: &Emulator,
    credential: &azure_wi_auth::WorkloadIdentityCredential,
    path: &str,
    body: serde_json::Value,
) {
    let token = credential
        .get_token(&["https://vault.azure.net/.default".parse().unwrap()])
        .await
        .unwrap();
    let response = emulator
        .client()
        .unwrap()
        .patch(format!(
            "{}/{path}?api-version=7.4",
            emulator.vault_url(VAULT)
        ))
        .bearer_auth(token.secret())
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{path}");
}

fn count(records: &[RequestRecord], kind: RequestKind, name: Option<&str>) -> usize {
    records
        .iter()
        .filter(|r| r.kind == kind && (name.is_none() || r.name.as_deref() == name))
        .count()
}

async fn value_of(client: &Client, name: &str) -> Option<String> {
    let secret = secret(client, NS, name).await?;
    Some(String::from_utf8(data_of(&secret).remove("v")?).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refreshes_read_only_what_changed_and_every_change_arrives() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let plane = ControlPlane::start().await.unwrap();
    let client = plane.client().await.unwrap();
    let emulator = Emulator::start(config(&plane)).await.unwrap();
    emulator.request_log().keep_records(true);
    install_crds(&client).await;
    let (stop, running) = start(&client, &emulator);
    namespace(&client, NS).await;

    // A writer as the same identity, with a token of its ServiceAccount.
    apply(&client, NS, &service_account(NS, SA, DEMO_CLIENT_ID)).await;
    let dir = tempfile::tempdir().unwrap();
    let token = token_file(&client, dir.path()).await;
    let credential = emulator
        .credential_builder(DEMO_TENANT, DEMO_CLIENT_ID, token)
        .unwrap()
        .build()
        .unwrap();
    let writer =
        azure_wi_auth::SecretClient::builder(&emulator.vault_url(VAULT), credential.clone())
            .build()
            .unwrap();
    // The version of `pinned` holding "first".
    let versions: Vec<String> = {
        use futures::TryStreamExt as _;
        writer
            .list_secret_versions("pinned")
            .try_collect::<Vec<_>>()
            .await
            .unwrap()
            .into_iter()
            .filter_map(|v| v.version)
            .collect()
    };
    let mut pinned_version = None;
    for version in &versions {
        if writer
            .get_secret_version("pinned", version)
            .await
            .unwrap()
            .value
            .expose()
            == "first"
        {
            pinned_version = Some(version.clone());
        }
    }
    let pinned_version = pinned_version.unwrap();

    let store = format!(
        "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {{name: kv, namespace: {NS}}}\nspec:\n  provider:\n    azurekv:\n      authType: WorkloadIdentity\n      tenantId: {DEMO_TENANT}\n      vaultUrl: https://{VAULT}.vault.azure.net\n      serviceAccountRef: {{name: {SA}}}\n"
    );
    let objects = [
        store,
        external_secret("plain", "key: plain"),
        external_secret(
            "tagged",
            "key: tagged, metadataPolicy: Fetch, property: team",
        ),
        external_secret("pinned", &format!("key: pinned, version: {pinned_version}")),
        external_secret("key", "key: key/signing-ec"),
        external_secret("cert", "key: cert/web-tls"),
        external_secret("doomed", "key: doomed"),
        external_secret("switch", "key: switch"),
    ];
    // `tagged` reads a tag the secret does not have yet.
    patch(
        &emulator,
        &credential,
        "secrets/tagged",
        json!({"tags": {"team": "a"}}),
    )
    .await;
    apply(&client, NS, &objects.join("---\n")).await;
    for name in [
        "plain", "tagged", "pinned", "key", "cert", "doomed", "switch",
    ] {
        eventually(
            Duration::from_secs(30),
            &format!("{name} synced"),
            || async { secret(&client, NS, name).await.map(drop) },
        )
        .await;
    }
    assert_eq!(value_of(&client, "plain").await.unwrap(), "one");
    assert_eq!(value_of(&client, "tagged").await.unwrap(), "a");
    assert_eq!(value_of(&client, "pinned").await.unwrap(), "first");

    // Past the clock margin of the seeds' writes, eight refreshes with
    // nothing changed.
    tokio::time::sleep(REFRESH * 2).await;
    emulator.request_log().take_records();
    tokio::time::sleep(REFRESH * 8).await;
    let quiet = emulator.request_log().take_records();
    let gets = |name| count(&quiet, RequestKind::SecretGet, Some(name));
    let listings = count(&quiet, RequestKind::SecretList, None);
    // One listing per refresh of the identity (its ExternalSecrets fall
    // due together), and each unchanged secret read only at the full
    // reads: at most one in four refreshes (and the first, already due).
    let summary: Vec<String> = quiet
        .iter()
        .map(|r| {
            format!(
                "{} {:?} {:?} {}",
                r.unix_ms % 100_000,
                r.kind,
                r.name,
                r.status
            )
        })
        .collect();
    assert!(
        (6..=10).contains(&listings),
        "listings {listings}: {summary:#?}"
    );
    for name in ["plain", "tagged", "doomed", "switch"] {
        let n = gets(name);
        assert!(
            (1..=3).contains(&n),
            "{name} read {n} times in 8 refreshes: {summary:#?}"
        );
    }
    // Keys, certificates and pinned versions are read every refresh.
    assert!(count(&quiet, RequestKind::KeyGet, Some("signing-ec")) >= 7);
    assert!(count(&quiet, RequestKind::CertificateGet, Some("web-tls")) >= 7);
    assert!(gets("pinned") >= 7);

    // A new value written right after a read, in the same second: it
    // arrives at the next refresh all the same.
    let read_at = eventually(Duration::from_secs(20), "a read of plain", || async {
        emulator
            .request_log()
            .take_records()
            .into_iter()
            .find(|r| r.kind == RequestKind::SecretGet && r.name.as_deref() == Some("plain"))
    })
    .await;
    writer
        .set_secret_with("plain", "two", &azure_wi_auth::SetSecretOptions::default())
        .await
        .unwrap();
    let written = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    assert!(
        written / 1000 <= u128::from(read_at.unix_ms / 1000) + 1,
        "written within a second of the read"
    );
    // A tag change, a deletion and a disabled secret, at once.
    patch(
        &emulator,
        &credential,
        "secrets/tagged",
        json!({"tags": {"team": "b"}}),
    )
    .await;
    writer.delete_secret("doomed").await.unwrap();
    patch(
        &emulator,
        &credential,
        "secrets/switch",
        json!({"attributes": {"enabled": false}}),
    )
    .await;
    eventually(REFRESH * 3, "the changes in the Secrets", || async {
        let plain = value_of(&client, "plain").await?;
        let tagged = value_of(&client, "tagged").await?;
        let doomed = ready(&client, NS, "doomed").await?;
        let switch = ready(&client, NS, "switch").await?;
        (plain == "two"
            && tagged == "b"
            && doomed.0 == "False"
            && doomed.2.contains("doomed was not found in the vault")
            && switch.0 == "False")
            .then_some(())
    })
    .await;
    // The deleted and disabled secrets' Secrets are kept (deletionPolicy
    // Retain), as a full read leaves them.
    assert_eq!(value_of(&client, "doomed").await.unwrap(), "here");
    assert_eq!(value_of(&client, "switch").await.unwrap(), "on");

    stop.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(10), running).await;
    drop(emulator);
}
