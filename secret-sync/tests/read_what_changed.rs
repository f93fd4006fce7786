//! secret-sync reads what changed, through the real controller on a real
//! kube-apiserver against the emulator, counting what the emulator
//! answers (`Emulator::request_log`): refreshes that change nothing make
//! one listing per store identity and no GET of an unchanged secret, but
//! for every Nth refresh, which reads everything; keys, certificates and
//! pinned versions are read at every refresh; and every change reaches the
//! Secret at the next refresh: a new value written in the same second as
//! the last read, a tag read by `metadataPolicy: Fetch`, a deleted secret
//! and a disabled one (each then as the full read reports it). Identities
//! of one vault compare with one listing, each showing its own list
//! permission still stands: one whose role is revoked fails at its next
//! refresh, never kept current by another identity's listing.
#![allow(clippy::unwrap_used)]

#[path = "support/key_vault.rs"]
mod key_vault;
mod support;

use std::time::Duration;

use azure_wi_control_plane::ControlPlane;
use azure_wi_emulator::{
    Config,
    config::{DEMO_CLIENT_ID, DEMO_OBJECT_ID, DEMO_TENANT, Identity, Role},
    requests::{RequestKind, RequestRecord},
};
use key_vault::{demo_credential_from, grant, secret_seed, update_in};
use kube::Client;
use serde_json::json;
use support::{
    Cluster, apply, data_of, eventually, federated, ready, secret, secret_store, service_account,
    token_file, trusting,
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

/// A second identity reading the same vault (Key Vault Secrets User).
const OTHER_CLIENT_ID: &str = "3c1f7a2e-8b4d-4e6f-9a0b-1c2d3e4f5a61";
const OTHER_OBJECT_ID: &str = "4d2a8b3f-9c5e-4f70-8b1c-2d3e4f5a6b72";
/// The shared test's refresh: its two identities' slots fall within a
/// tenth of it, inside the quarter a listing serves.
const SHARED_REFRESH: Duration = Duration::from_secs(4);
/// Secrets in the shared test's vault: more than a page (25), so a
/// listing takes two requests and a permission check one.
const SHARED_SECRETS: usize = 30;

/// A ServiceAccount for the second identity whose refresh slot falls
/// between a fortieth and a tenth of the refresh after `SA`'s: the first
/// identity lists, and the second's refreshes fall within that listing's
/// reuse (found by name, as slots are a hash).
fn neighbour_account(vault_url: &str) -> String {
    use secret_sync::{change::identity_key, schedule::slot};
    let first = slot(&identity_key(vault_url, Some((NS, SA))), SHARED_REFRESH);
    (0..)
        .map(|i| format!("other-{i}"))
        .find(|sa| {
            let other = slot(&identity_key(vault_url, Some((NS, sa))), SHARED_REFRESH);
            // How long after the first identity's slot, round the interval.
            let after = Duration::from_nanos(
                u64::try_from(
                    (other.as_nanos() + SHARED_REFRESH.as_nanos() - first.as_nanos())
                        % SHARED_REFRESH.as_nanos(),
                )
                .unwrap(),
            );
            (SHARED_REFRESH / 40..SHARED_REFRESH / 10).contains(&after)
        })
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identities_share_one_listing_and_a_revoked_one_fails_at_its_next_refresh() {
    let vault_url = format!("https://{VAULT}.vault.azure.net");
    let other_sa = neighbour_account(&vault_url);
    let other = other_sa.clone();
    // No full read within the test: only the listing decides.
    let cluster = Cluster::start_tuned(
        move |plane| {
            let mut config = trusting(Config::demo_with_keys_and_certificates(), plane, NS, SA);
            config.identities.push(Identity {
                name: "other".to_owned(),
                tenant: DEMO_TENANT.to_owned(),
                client_id: OTHER_CLIENT_ID.to_owned(),
                object_id: OTHER_OBJECT_ID.to_owned(),
                federated_credentials: vec![federated(plane, &other, NS, &other)],
            });
            grant(&mut config, DEMO_OBJECT_ID, &[Role::SecretsUser], VAULT);
            grant(&mut config, OTHER_OBJECT_ID, &[Role::SecretsUser], VAULT);
            let vault = config.vaults.iter_mut().find(|v| v.name == VAULT).unwrap();
            for i in 0..SHARED_SECRETS {
                vault
                    .secrets
                    .push(secret_seed(&format!("filler-{i:02}"), &["x"]));
            }
            vault.secrets.push(secret_seed("plain", &["one"]));
            config
        },
        |ctx| ctx.freshness = secret_sync::change::Freshness::new(1_000),
        &[NS],
    )
    .await;
    let (client, emulator) = (&cluster.client, &cluster.emulator);
    emulator.request_log().keep_records(true);
    let external_secret = |name: &str, store: &str| {
        format!(
            "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {{name: {name}, namespace: {NS}}}\nspec:\n  refreshInterval: {}s\n  secretStoreRef: {{name: {store}}}\n  data:\n  - secretKey: v\n    remoteRef: {{key: plain}}\n",
            SHARED_REFRESH.as_secs()
        )
    };
    let objects = [
        service_account(NS, SA, DEMO_CLIENT_ID),
        service_account(NS, &other_sa, OTHER_CLIENT_ID),
        secret_store(NS, "kv-a", "", VAULT, SA),
        secret_store(NS, "kv-b", "", VAULT, &other_sa),
        external_secret("by-a", "kv-a"),
        external_secret("by-b", "kv-b"),
    ];
    apply(client, NS, &objects.join("---\n")).await;
    for name in ["by-a", "by-b"] {
        eventually(
            Duration::from_secs(30),
            &format!("{name} synced"),
            || async { secret(client, NS, name).await.map(drop) },
        )
        .await;
        assert_eq!(value_of(client, name).await.unwrap(), "one");
    }

    // Past the clock margin, four quiet refreshes of both identities.
    tokio::time::sleep(SHARED_REFRESH * 3).await;
    emulator.request_log().take_records();
    tokio::time::sleep(SHARED_REFRESH * 4).await;
    let quiet = emulator.request_log().take_records();
    let lists: Vec<&RequestRecord> = quiet
        .iter()
        .filter(|r| r.kind == RequestKind::SecretList)
        .collect();
    let second_pages = lists.iter().filter(|r| r.next_page).count();
    let summary: Vec<String> = lists
        .iter()
        .map(|r| {
            format!(
                "{} next_page={} {}",
                r.unix_ms % 100_000,
                r.next_page,
                r.status
            )
        })
        .collect();
    // Each refresh: one two-page listing and the other identity's
    // one-page check; two listings of their own would be two second pages.
    assert!(
        (3..=5).contains(&second_pages) && (9..=15).contains(&lists.len()),
        "{second_pages} second pages of {} list requests in 4 refreshes: {summary:#?}",
        lists.len()
    );
    assert_eq!(count(&quiet, RequestKind::SecretGet, Some("plain")), 0);

    // The second identity loses its role: its next refresh fails as a read
    // of its own would, while the first identity's listing still says
    // nothing changed.
    emulator
        .update_config(|config| {
            config
                .role_assignments
                .retain(|a| a.principal_id != OTHER_OBJECT_ID);
        })
        .unwrap();
    let failed = eventually(SHARED_REFRESH * 3, "by-b failing", || async {
        let (status, _, message) = ready(client, NS, "by-b").await?;
        (status == "False").then_some(message)
    })
    .await;
    assert!(
        failed.contains("refused reading secret plain (ForbiddenByRbac)"),
        "{failed}"
    );
    let (status, reason, _) = ready(client, NS, "by-a").await.unwrap();
    assert_eq!((status.as_str(), reason.as_str()), ("True", "SecretSynced"));
    // Its Secret is kept, as ESO keeps it when a refresh fails.
    assert_eq!(value_of(client, "by-b").await.unwrap(), "one");

    cluster.stop().await;
}
