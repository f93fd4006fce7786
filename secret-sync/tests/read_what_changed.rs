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

#[path = "support/key_vault.rs"]
mod key_vault;
mod support;

use std::time::Duration;

use azure_wi_control_plane::ControlPlane;
use azure_wi_emulator::{
    Config,
    config::{DEMO_CLIENT_ID, DEMO_OBJECT_ID, Role},
    requests::{RequestKind, RequestRecord},
};
use key_vault::{demo_credential_from, grant, secret_seed, update_in};
use kube::Client;
use serde_json::json;
use support::{
    Cluster, apply, data_of, eventually, ready, secret, secret_store, service_account, token_file,
    trusting,
};

const NS: &str = "changes";
const SA: &str = "reader";
const VAULT: &str = "orders-kv";
/// Every fourth refresh reads everything.
const FULL_READ_EVERY: u32 = 4;
const REFRESH: Duration = Duration::from_secs(3);

fn config(plane: &ControlPlane) -> Config {
    let mut config = trusting(Config::demo_with_keys_and_certificates(), plane, NS, SA);
    grant(&mut config, DEMO_OBJECT_ID, &[Role::SecretsOfficer], VAULT);
    let vault = config.vaults.iter_mut().find(|v| v.name == VAULT).unwrap();
    for (name, values) in [
        ("plain", &["one"][..]),
        ("tagged", &["value"][..]),
        ("pinned", &["first", "second"][..]),
        ("doomed", &["here"][..]),
        ("switch", &["on"][..]),
    ] {
        vault.secrets.push(secret_seed(name, values));
    }
    config
}

fn external_secret(name: &str, remote_ref: &str) -> String {
    format!(
        "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {{name: {name}, namespace: {NS}}}\nspec:\n  refreshInterval: {}s\n  secretStoreRef: {{name: kv}}\n  data:\n  - secretKey: v\n    remoteRef: {{{remote_ref}}}\n",
        REFRESH.as_secs()
    )
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
    // Every FULL_READ_EVERYth refresh a full read.
    let cluster = Cluster::start_tuned(
        config,
        |ctx| ctx.freshness = secret_sync::change::Freshness::new(FULL_READ_EVERY),
        &[NS],
    )
    .await;
    let (client, emulator) = (&cluster.client, &cluster.emulator);
    emulator.request_log().keep_records(true);

    // A writer as the same identity, with a token of its ServiceAccount.
    apply(client, NS, &service_account(NS, SA, DEMO_CLIENT_ID)).await;
    let dir = tempfile::tempdir().unwrap();
    let credential = demo_credential_from(emulator, token_file(client, NS, SA, dir.path()).await);
    let writer =
        azure_wi_auth::SecretClient::builder(&emulator.vault_url(VAULT), credential.clone())
            .build()
            .unwrap();
    // Key Vault's PATCH of an object (tags, attributes) as that identity.
    let update = |path, body| update_in(emulator, &credential, VAULT, path, body);
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

    let objects = [
        secret_store(NS, "kv", "", VAULT, SA),
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
    update("secrets/tagged", json!({"tags": {"team": "a"}})).await;
    apply(client, NS, &objects.join("---\n")).await;
    for name in [
        "plain", "tagged", "pinned", "key", "cert", "doomed", "switch",
    ] {
        eventually(
            Duration::from_secs(30),
            &format!("{name} synced"),
            || async { secret(client, NS, name).await.map(drop) },
        )
        .await;
    }
    assert_eq!(value_of(client, "plain").await.unwrap(), "one");
    assert_eq!(value_of(client, "tagged").await.unwrap(), "a");
    assert_eq!(value_of(client, "pinned").await.unwrap(), "first");

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
    update("secrets/tagged", json!({"tags": {"team": "b"}})).await;
    writer.delete_secret("doomed").await.unwrap();
    update("secrets/switch", json!({"attributes": {"enabled": false}})).await;
    eventually(REFRESH * 3, "the changes in the Secrets", || async {
        let plain = value_of(client, "plain").await?;
        let tagged = value_of(client, "tagged").await?;
        let doomed = ready(client, NS, "doomed").await?;
        let switch = ready(client, NS, "switch").await?;
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
    assert_eq!(value_of(client, "doomed").await.unwrap(), "here");
    assert_eq!(value_of(client, "switch").await.unwrap(), "on");

    cluster.stop().await;
}
