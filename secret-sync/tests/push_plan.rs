//! One PushSecret entry pushed as ESO's controller pushes it
//! (`secret_sync::push_plan::push_entry`) against the emulator, under each
//! `updatePolicy`, over an object ESO did not make (the demo's
//! `db-password`) and over nothing: `IfNotExists` leaves the object alone
//! without error, `Replace` is refused with ESO's text, and in no case is
//! the object changed; then stale entries are deleted (`Delete` policy),
//! only ESO's own.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any unexpected error"
)]

use std::{collections::BTreeMap, time::Duration};

use azure_wi_auth::{RetryPolicy, SecretClient};
use azure_wi_emulator::{
    Config, Emulator, TokenSpec,
    config::{DEMO_CLIENT_ID, DEMO_OBJECT_ID, DEMO_TENANT, Role, RoleAssignment},
};
use secret_sync::api::{
    PushSecretData, PushSecretMatch, PushSecretRemoteRef, PushUpdatePolicy as UpdatePolicy,
};
use secret_sync::push_plan::{push_entry, stale_entries, status_ref};
use secret_sync::push_vault;

fn entry(secret_key: &str, remote_key: &str) -> PushSecretData {
    PushSecretData {
        match_: PushSecretMatch {
            secret_key: Some(secret_key.to_owned()),
            remote_ref: PushSecretRemoteRef {
                remote_key: remote_key.to_owned(),
                property: None,
            },
        },
        metadata: None,
        conversion_strategy: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_policies_never_change_an_object_eso_did_not_make() {
    let mut config = Config::demo();
    config.role_assignments.push(RoleAssignment {
        principal_id: DEMO_OBJECT_ID.into(),
        role: Role::SecretsOfficer,
        scope: "orders-kv".into(),
    });
    let emulator = Emulator::start(config).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let token_file = emulator
        .write_token_file(dir.path(), &TokenSpec::new("team-a", "orders-api"))
        .unwrap();
    let credential = emulator
        .credential_builder(DEMO_TENANT, DEMO_CLIENT_ID, token_file)
        .unwrap()
        .build()
        .unwrap();
    let client = SecretClient::builder(&emulator.vault_url("orders-kv"), credential)
        .with_retry_policy(RetryPolicy {
            max_attempts: 2,
            initial_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(100),
            max_total: Duration::from_secs(5),
        })
        .build()
        .unwrap();
    let data: BTreeMap<String, Vec<u8>> =
        BTreeMap::from([("password".to_owned(), b"hunter2".to_vec())]);
    let before = client.get_secret("db-password").await.unwrap();

    let foreign = entry("password", "db-password");
    assert!(
        !push_entry(&client, &data, &foreign, UpdatePolicy::IfNotExists, "kv")
            .await
            .unwrap()
    );
    assert_eq!(
        push_entry(&client, &data, &foreign, UpdatePolicy::Replace, "kv")
            .await
            .unwrap_err()
            .to_string(),
        "could not write remote ref password to target secretstore kv: cannot get secret db-password: not managed by external-secrets"
    );
    let after = client.get_secret("db-password").await.unwrap();
    assert_eq!(
        (after.value.expose(), after.properties.version),
        (before.value.expose(), before.properties.version)
    );

    // Nothing there: both policies write, with ESO's tag.
    for (policy, remote) in [
        (UpdatePolicy::IfNotExists, "fresh-a"),
        (UpdatePolicy::Replace, "fresh-b"),
    ] {
        assert!(
            push_entry(&client, &data, &entry("password", remote), policy, "kv")
                .await
                .unwrap()
        );
        let written = client.get_secret(remote).await.unwrap();
        assert_eq!(written.value.expose(), "hunter2");
        assert_eq!(written.properties.tags["managed-by"], "external-secrets");
    }
    assert_eq!(
        push_entry(
            &client,
            &data,
            &entry("missing", "fresh-c"),
            UpdatePolicy::Replace,
            "kv"
        )
        .await
        .unwrap_err()
        .to_string(),
        "secret key missing does not exist"
    );

    // Delete policy: fresh-b dropped from the spec, db-password listed as
    // synced (as if it had been): the first is deleted, the second refused.
    let synced = |remotes: &[&str]| {
        BTreeMap::from([(
            "SecretStore/kv".to_owned(),
            remotes
                .iter()
                .map(|r| (status_ref(&entry("password", r)), entry("password", r)))
                .collect::<BTreeMap<_, _>>(),
        )])
    };
    let stale = stale_entries(
        &synced(&["fresh-a", "fresh-b", "db-password"]),
        &synced(&["fresh-a"]),
    );
    let mut outcomes = Vec::new();
    for (_, e) in &stale {
        outcomes.push(
            push_vault::delete_secret(&client, &e.match_.remote_ref.remote_key)
                .await
                .map_err(|e| e.to_string()),
        );
    }
    assert_eq!(
        outcomes,
        [
            Err("error getting secret db-password: not managed by external-secrets".to_owned()),
            Ok(true)
        ]
    );
    assert!(client.get_secret("fresh-b").await.is_err());
    client.get_secret("fresh-a").await.unwrap();
    assert_eq!(
        client
            .get_secret("db-password")
            .await
            .unwrap()
            .value
            .expose(),
        before.value.expose()
    );
}
