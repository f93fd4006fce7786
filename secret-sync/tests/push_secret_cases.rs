//! ESO's PushSecret controller cases and azurekv provider cases that
//! `tests/push_secret.rs` and `tests/push_secret_data_to.rs` do not hold,
//! through the real controller on a real kube-apiserver, against the
//! emulated Entra ID and Key Vault; what each left in the vault read back
//! through Microsoft's Python SDK (`python/vault_state.py`).
//!
//! Controller cases: external-secrets/external-secrets
//! `pkg/controllers/pushsecret/pushsecret_controller_test.go`, named where
//! checked (ESO writes `path/to/key`; Key Vault reads `a/b` as object type
//! `a`, so each case writes a dash name of its own). Provider cases:
//! `providers/v1/azure/keyvault/keyvault_test.go`
//! (`TestAzureKeyVaultPushSecret`, `TestAzureKeyVaultDeleteSecret`,
//! `TestAzureKeyVaultSecretExists`), where ESO's mock refuses a request
//! and here an identity without the role does: the emulator's Key Vault
//! answers 403 as Key Vault does, so each condition ends with the vault's
//! refusal where ESO's ends with its mock's `#GET: Forbidden:
//! StatusCode=403`.
//!
//! Every case runs at once on one control plane, each with objects of its
//! own; a case that changes something waits for its own reconcile.
//!
//! Needs Microsoft's Python SDK (`azure-identity`,
//! `azure-keyvault-secrets`, `-keys`, `-certificates`), as `.ci/run`
//! installs it.
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any unexpected error"
)]

#[path = "support/key_vault.rs"]
mod key_vault;
#[path = "support/push.rs"]
mod push_support;
mod support;

use std::time::Duration;

use azure_wi_auth::SetSecretOptions;
use azure_wi_control_plane::ControlPlane;
use azure_wi_core::names;
use azure_wi_emulator::{
    Config,
    config::{DEMO_CLIENT_ID, DEMO_OBJECT_ID, DEMO_TENANT, Identity, Role},
};
use key_vault::{OFFICERS, empty_vault, grant};
use push_support::{FINALIZER, World, assert_gone, eso_tag, found, in_stores, push_secret_yaml};
use serde_json::{Value, json};
use support::{
    Cluster, apply, eventually, federated, secret_store, secret_yaml, service_account, trusting,
};

const NS: &str = "push";
/// The demo identity's ServiceAccount: every role on every vault.
const SA: &str = "push-sa";
/// ESO's `test-store`: the demo identity on `orders-kv`.
const VAULT: &str = "orders-kv";
/// C14, C15 and M1's second vault and stores.
const OLD_VAULT: &str = "old-kv";
const NEW_VAULT: &str = "new-kv";

/// An identity with no role on any vault (every read 403).
const NONE_CLIENT_ID: &str = "5d1c0a7e-2b3f-4c8d-9e0a-1b2c3d4e5f60";
const NONE_OBJECT_ID: &str = "6e2d1b8f-3c4a-4d9e-8f1b-2c3d4e5f6a71";
/// An identity that may read secrets, keys and certificates of
/// `orders-kv` and write none (Key Vault Secrets User, Crypto User,
/// Certificate User).
const USER_CLIENT_ID: &str = "7f3e2c9a-4d5b-4eaf-9a2c-3d4e5f6a7b82";
const USER_OBJECT_ID: &str = "8a4f3d0b-5e6c-4fb0-8b3d-4e5f6a7b8c93";
/// An identity with every role on `orders-kv` until the test takes them
/// away.
const REVOKED_CLIENT_ID: &str = "9b5a4e1c-6f7d-4ac1-9c4e-5f6a7b8c9da4";
const REVOKED_OBJECT_ID: &str = "ac6b5f2d-7a8e-4bd2-8d5f-6a7b8c9d0eb5";

/// The ServiceAccounts and the identity each is annotated with.
const ACCOUNTS: &[(&str, &str, &str, &str)] = &[
    (SA, DEMO_CLIENT_ID, DEMO_OBJECT_ID, "push"),
    ("none-sa", NONE_CLIENT_ID, NONE_OBJECT_ID, "none"),
    ("user-sa", USER_CLIENT_ID, USER_OBJECT_ID, "user"),
    (
        "revoked-sa",
        REVOKED_CLIENT_ID,
        REVOKED_OBJECT_ID,
        "revoked",
    ),
];

fn config(plane: &ControlPlane) -> Config {
    let mut config = trusting(Config::demo_with_keys_and_certificates(), plane, NS, SA);
    for vault in [OLD_VAULT, NEW_VAULT] {
        config.vaults.push(empty_vault(vault));
    }
    for &(sa, client_id, object_id, name) in &ACCOUNTS[1..] {
        config.identities.push(Identity {
            name: name.to_owned(),
            tenant: DEMO_TENANT.to_owned(),
            client_id: client_id.to_owned(),
            object_id: object_id.to_owned(),
            federated_credentials: vec![federated(plane, sa, NS, sa)],
        });
    }
    for vault in [VAULT, OLD_VAULT, NEW_VAULT] {
        grant(&mut config, DEMO_OBJECT_ID, &OFFICERS, vault);
    }
    grant(&mut config, REVOKED_OBJECT_ID, &OFFICERS, VAULT);
    let users = [Role::SecretsUser, Role::CryptoUser, Role::CertificateUser];
    grant(&mut config, USER_OBJECT_ID, &users, VAULT);
    config
}

/// A PushSecret `name` with `spec` (YAML lines under `spec:`, indented by
/// two).
fn push_secret(name: &str, spec: &str) -> String {
    push_secret_yaml(NS, name, spec)
}

/// PushSecret `name` pushing `data` (YAML list items, indented by two)
/// from Secret `source` to store `store`, with `extra` spec lines.
fn push_to(name: &str, store: &str, source: &str, extra: &str, data: &str) -> String {
    push_secret(
        name,
        &format!(
            "  secretStoreRefs: [{{name: {store}}}]\n  selector: {{secret: {{name: {source}}}}}\n{extra}  data:\n{data}"
        ),
    )
}

/// ESO's azurekv metadata with tags `{fakeTagKey: <value>}`.
fn tag_metadata(value: &str) -> String {
    format!(
        "{{apiVersion: kubernetes.external-secrets.io/v1alpha1, kind: PushSecretMetadata, spec: {{tags: {{fakeTagKey: {value}}}}}}}"
    )
}

/// Key Vault's refusal of `doing` (`reading secret x`, `importing key
/// x`...) to an identity without a role that grants it, as `azure_wi_auth`
/// words it (the vault's message, first line, and the least role that
/// would do): where ESO's mock says `#<METHOD>: <message>:
/// StatusCode=403`, as autorest prints its error.
fn refused(doing: &str, role: &str) -> String {
    format!(
        "Key Vault https://{VAULT}.vault.azure.net refused {doing} (ForbiddenByRbac): Caller is not authorized to perform action on resource.; the identity needs the {role} role on the vault or the object (Azure RBAC)"
    )
}

/// The roles `azure_wi_auth` names for a refused read.
const READ_SECRET_ROLE: &str = "Key Vault Secrets User";
const READ_KEY_ROLE: &str =
    "Key Vault Crypto User (or Key Vault Reader, or Key Vault Certificate User)";
const READ_CERT_ROLE: &str = "Key Vault Certificate User (or Key Vault Reader)";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_secret_cases_on_key_vault_as_eso_runs_them() {
    let cluster = Cluster::start(config, &[NS, "other"]).await;
    let client = &cluster.client;

    let mut setup = String::new();
    for &(sa, client_id, _, _) in ACCOUNTS {
        setup.push_str(&service_account(NS, sa, client_id));
        setup.push_str("---\n");
    }
    // C25: a ServiceAccount without the client-id annotation.
    setup.push_str(&format!(
        "apiVersion: v1\nkind: ServiceAccount\nmetadata: {{name: bare-sa, namespace: {NS}}}\n---\n"
    ));
    for (name, vault, sa) in [
        ("kv", VAULT, SA),
        ("none", VAULT, "none-sa"),
        ("user", VAULT, "user-sa"),
        ("revoked", VAULT, "revoked-sa"),
        ("no-client-id", VAULT, "bare-sa"),
        ("old-store", OLD_VAULT, SA),
        ("new-store", NEW_VAULT, SA),
    ] {
        setup.push_str(&secret_store(NS, name, "", vault, sa));
    }
    // C17: a ClusterSecretStore naming the ServiceAccount's namespace.
    setup.push_str(&format!(
        "apiVersion: external-secrets.io/v1
kind: ClusterSecretStore
metadata: {{name: cluster-kv}}
spec:
  provider:
    azurekv:
      authType: WorkloadIdentity
      tenantId: {DEMO_TENANT}
      vaultUrl: https://{VAULT}.vault.azure.net
      serviceAccountRef: {{name: {SA}, namespace: {NS}}}
---
"
    ));
    // C26: a store labelled foo=bar, in another namespace.
    setup.push_str(&secret_store(
        "other",
        "other-ns-store",
        "{foo: bar}",
        VAULT,
        SA,
    ));
    let source = "{key: value, other-key: other-value}";
    setup.push_str(&secret_yaml(NS, "source", "", source));
    setup.push_str(&secret_yaml(NS, "c3-source", "", "{key: value}"));
    apply(client, NS, &setup).await;

    let world = World::new(&cluster, NS, SA).await;

    // Key material for key/ and cert/ targets.
    apply(client, NS, &world.material(VAULT).await).await;
    // C26: its only matching store is in another namespace.
    apply(
        client,
        NS,
        &push_secret(
            "c26",
            "  secretStoreRefs: [{kind: SecretStore, labelSelector: {matchLabels: {foo: bar}}}]
  selector: {secret: {name: source}}
  data:
  - match: {secretKey: key, remoteRef: {remoteKey: c26-key}}
",
        ),
    )
    .await;
    // C4: the vault has one of the names already (made by someone else).
    world
        .writer(VAULT)
        .set_secret_with("c4-key", "pre-existing", &SetSecretOptions::default())
        .await
        .unwrap();

    tokio::join!(
        c3_if_not_exists_pushes_keys_added_later(&world),
        c4_if_not_exists_lists_what_it_skipped(&world),
        c5_existence_check_refused(&world),
        c10_entries_differing_in_property(&world),
        c11_delete_then_none(&world),
        c14_c15_store_renamed(&world),
        c17_c24_cluster_stores(&world),
        c25_no_client_id(&world),
        m1_two_stores(&world),
        reads_refused(&world),
        writes_refused(&world),
        deletes_refused(&world),
        secret_exists_for_eso_object(&world),
        tag_only_change_writes_nothing(&world),
        imports_with_tags(&world),
    );
    // C26 was created first, so it has been there the whole run.
    c26_store_in_other_namespace(&world).await;

    drop(world);
    cluster.stop().await;
}

/// C3 `updateIfNotExistsPartialSecrets` ("should only update parts of
/// secret that don't already exist if UpdatePolicy=IfNotExists"): a key
/// missing first fails the push after the first entry is pushed; once the
/// Secret has it (and a new value for the first), the retry pushes it and
/// leaves the first as it was.
async fn c3_if_not_exists_pushes_keys_added_later(w: &World<'_>) {
    w.apply(&push_to(
        "c3",
        "kv",
        "c3-source",
        "  updatePolicy: IfNotExists\n  refreshInterval: 1s\n",
        "  - match: {secretKey: key, remoteRef: {remoteKey: c3-key}}
  - match: {secretKey: other-key, remoteRef: {remoteKey: c3-other-key}}
",
    ))
    .await;
    w.errored(
        "c3",
        "set secret failed: secret key other-key does not exist",
    )
    .await;
    assert_eq!(
        w.synced("c3").await,
        in_stores(&[("SecretStore/kv", &["c3-key"])])
    );
    let changed = json!({"stringData": {"key": "new-value", "other-key": "other-value"}});
    w.patch_secret("c3-source", changed).await;
    w.synced_keeping("c3").await;
    assert_eq!(
        w.synced("c3").await,
        in_stores(&[("SecretStore/kv", &["c3-key", "c3-other-key"])])
    );
    let state = w
        .vault_state(VAULT, &["secret/c3-key", "secret/c3-other-key"])
        .await;
    let kept = found(&state, "secret/c3-key");
    assert_eq!(kept["value"], "value");
    assert_eq!(kept["versions"], 1);
    assert_eq!(found(&state, "secret/c3-other-key")["value"], "other-value");
}

/// C4 `updateIfNotExistsSyncStatus` ("should update the PushSecret status
/// correctly if UpdatePolicy=IfNotExists"): the status lists both
/// entries, the one skipped because the vault had it too.
async fn c4_if_not_exists_lists_what_it_skipped(w: &World<'_>) {
    w.apply(&push_to(
        "c4",
        "kv",
        "source",
        "  updatePolicy: IfNotExists\n",
        "  - match: {secretKey: key, remoteRef: {remoteKey: c4-key}}
  - match: {secretKey: other-key, remoteRef: {remoteKey: c4-other-key}}
",
    ))
    .await;
    w.synced_keeping("c4").await;
    assert_eq!(
        w.synced("c4").await,
        in_stores(&[("SecretStore/kv", &["c4-key", "c4-other-key"])])
    );
    let state = w
        .vault_state(VAULT, &["secret/c4-key", "secret/c4-other-key"])
        .await;
    let skipped = found(&state, "secret/c4-key");
    assert_eq!(skipped["value"], "pre-existing");
    assert_eq!(skipped["versions"], 1);
    assert_eq!(skipped["tags"], Value::Null);
    let pushed = found(&state, "secret/c4-other-key");
    assert_eq!(pushed["value"], "other-value");
    assert_eq!(pushed["tags"], eso_tag());
}

/// C5 `updateIfNotExistsSyncFailed` ("should fail if secret existence
/// cannot be verified if UpdatePolicy=IfNotExists"): an identity with no
/// role on the vault; ESO's `SecretExists` returns the vault's error as
/// is, after the controller's prefix (ESO's mock says `don't know`).
async fn c5_existence_check_refused(w: &World<'_>) {
    w.apply(&push_to(
        "c5",
        "none",
        "source",
        "  updatePolicy: IfNotExists\n",
        "  - match: {secretKey: key, remoteRef: {remoteKey: c5-key}}\n",
    ))
    .await;
    // ESO's text up to the error, then the vault's refusal.
    let eso = "set secret failed: could not verify if secret exists in store: ";
    let message = format!(
        "{eso}{}",
        refused("reading secret c5-key", READ_SECRET_ROLE)
    );
    w.errored("c5", &message).await;
    // ESO's handlePushSecretDataForStore lists the store before it fails.
    assert_eq!(
        w.synced("c5").await,
        in_stores(&[("SecretStore/none", &[])])
    );
    w.assert_absent(VAULT, "secret/c5-key").await;
}

/// C10 `syncAndDeleteWithProperties` ("should delete secrets with
/// properties and update status correctly"): two entries on one remote key
/// differing only in property are two status entries; dropping one
/// deletes its remote key. azurekv ignores `property` when it pushes and
/// deletes (keyvault.go's `PushSecret` and `DeleteSecret` read only the
/// remote key), so both entries write secret `c10` in spec order (ESO's
/// `mergeDataEntries` keeps it; the last write wins) and deleting the `field2` entry deletes `c10`, which the `field1` entry
/// still lists: ESO does the same on Key Vault.
async fn c10_entries_differing_in_property(w: &World<'_>) {
    w.apply(&push_to(
        "c10",
        "kv",
        "source",
        "  deletionPolicy: Delete\n",
        "  - match: {secretKey: key, remoteRef: {remoteKey: c10, property: field1}}
  - match: {secretKey: other-key, remoteRef: {remoteKey: c10, property: field2}}
",
    ))
    .await;
    w.synced_ok("c10").await;
    assert_eq!(
        w.synced("c10").await,
        in_stores(&[("SecretStore/kv", &["c10/field1", "c10/field2"])])
    );
    let state = w.vault_state(VAULT, &["secret/c10"]).await;
    let both = found(&state, "secret/c10");
    assert_eq!(both["value"], "other-value");
    assert_eq!(both["versions"], 2);
    w.json_patch("c10", json!([{"op": "remove", "path": "/spec/data/1"}]))
        .await;
    eventually(Duration::from_secs(20), "c10 without field2", || async {
        let synced = w.synced("c10").await;
        (synced == in_stores(&[("SecretStore/kv", &["c10/field1"])])).then_some(())
    })
    .await;
    w.synced_ok("c10").await;
    w.assert_absent(VAULT, "secret/c10").await;
}

/// C11 `syncChangePolicyAndDeleteSuccessfully` ("should delete after
/// DeletionPolicy changed from Delete to None"): the finalizer goes with
/// the policy, the PushSecret goes at once, the vault keeps the object.
async fn c11_delete_then_none(w: &World<'_>) {
    w.apply(&push_to(
        "c11",
        "kv",
        "source",
        "  deletionPolicy: Delete\n",
        "  - match: {secretKey: key, remoteRef: {remoteKey: c11-key}}\n",
    ))
    .await;
    w.synced_ok("c11").await;
    assert_eq!(w.finalizers("c11").await, Some(vec![FINALIZER.to_owned()]));
    w.patch("c11", json!({"spec": {"deletionPolicy": "None"}}))
        .await;
    eventually(Duration::from_secs(20), "c11's finalizer gone", || async {
        w.finalizers("c11")
            .await
            .is_none_or(|f| f.is_empty())
            .then_some(())
    })
    .await;
    w.delete("c11").await;
    eventually(Duration::from_secs(10), "c11 gone", || async {
        w.is_gone("c11").await.then_some(())
    })
    .await;
    let state = w.vault_state(VAULT, &["secret/c11-key"]).await;
    let kept = found(&state, "secret/c11-key");
    assert_eq!(kept["value"], "value");
    assert_eq!(kept["tags"], eso_tag());
}

/// C15 `deleteWholeStore` ("should delete all secrets if SecretStore
/// changes") and C14 `failDeleteStore` ("should track deleted stores if
/// Delete fails"), with the stores on two vaults: the renamed store ref
/// pushes to the new vault and deletes from the old; a delete the old
/// vault refuses (its object lost ESO's tag, ESO's mock says `boom`) keeps
/// both stores in the status.
async fn c14_c15_store_renamed(w: &World<'_>) {
    let entry =
        |key: &str| format!("  - match: {{secretKey: key, remoteRef: {{remoteKey: {key}}}}}\n");
    w.apply(&format!(
        "{}{}",
        push_to(
            "c14",
            "old-store",
            "source",
            "  deletionPolicy: Delete\n",
            &entry("c14-key")
        ),
        push_to(
            "c15",
            "old-store",
            "source",
            "  deletionPolicy: Delete\n",
            &entry("c15-key")
        )
    ))
    .await;
    tokio::join!(w.synced_ok("c14"), w.synced_ok("c15"));
    for (name, key) in [("c14", "c14-key"), ("c15", "c15-key")] {
        assert_eq!(
            w.synced(name).await,
            in_stores(&[("SecretStore/old-store", &[key])])
        );
    }
    // Another writer takes c14-key over: a version without ESO's tag.
    w.writer(OLD_VAULT)
        .set_secret_with("c14-key", "theirs", &SetSecretOptions::default())
        .await
        .unwrap();
    let renamed =
        json!({"spec": {"secretStoreRefs": [{"name": "new-store", "kind": "SecretStore"}]}});
    w.patch("c14", renamed.clone()).await;
    w.patch("c15", renamed).await;
    // c15's condition reads the same before and after: its status tells.
    let c15_moved = in_stores(&[("SecretStore/new-store", &["c15-key"])]);
    tokio::join!(
        w.errored(
            "c14",
            "Failed to Delete Secrets from Provider: error getting secret c14-key: not managed by external-secrets",
        ),
        eventually(Duration::from_secs(20), "c15 moved", || async {
            (w.synced("c15").await == c15_moved).then_some(())
        }),
    );
    w.synced_ok("c15").await;
    assert_eq!(
        w.synced("c14").await,
        in_stores(&[
            ("SecretStore/new-store", &["c14-key"]),
            ("SecretStore/old-store", &["c14-key"])
        ])
    );
    let old = w
        .vault_state(OLD_VAULT, &["secret/c14-key", "secret/c15-key"])
        .await;
    let theirs = found(&old, "secret/c14-key");
    assert_eq!(theirs["value"], "theirs");
    assert_eq!(theirs["tags"], Value::Null);
    assert_gone(&old, "secret/c15-key");
    let new = w
        .vault_state(NEW_VAULT, &["secret/c14-key", "secret/c15-key"])
        .await;
    for object in ["secret/c14-key", "secret/c15-key"] {
        assert_eq!(found(&new, object)["value"], "value");
        assert_eq!(found(&new, object)["tags"], eso_tag());
    }
}

/// C17 `syncWithClusterStore` ("should sync with ClusterStore"): a
/// ClusterSecretStore whose `serviceAccountRef` names its namespace. C24
/// `failNoClusterStore` ("should fail if no valid ClusterSecretStore").
async fn c17_c24_cluster_stores(w: &World<'_>) {
    let spec = |store: &str, key: &str| {
        format!(
            "  secretStoreRefs: [{{name: {store}, kind: ClusterSecretStore}}]
  selector: {{secret: {{name: source}}}}
  data:
  - match: {{secretKey: key, remoteRef: {{remoteKey: {key}}}}}
"
        )
    };
    w.apply(&format!(
        "{}{}",
        push_secret("c17", &spec("cluster-kv", "c17-key")),
        push_secret("c24", &spec("unexisting", "c24-key"))
    ))
    .await;
    tokio::join!(
        w.synced_ok("c17"),
        w.errored(
            "c24",
            r#"could not get ClusterSecretStore "unexisting", clustersecretstores.external-secrets.io "unexisting" not found"#,
        ),
    );
    assert_eq!(
        w.synced("c17").await,
        in_stores(&[("ClusterSecretStore/cluster-kv", &["c17-key"])])
    );
    let state = w
        .vault_state(VAULT, &["secret/c17-key", "secret/c24-key"])
        .await;
    assert_eq!(found(&state, "secret/c17-key")["value"], "value");
    assert_gone(&state, "secret/c24-key");
}

/// C25 `newClientFail` ("should fail if NewClient fails"): the store's
/// ServiceAccount has no client-id annotation. ESO's mock says `boom`;
/// ESO's azurekv says `missing clientID: either serviceAccountRef or
/// service account annotation 'azure.workload.identity/client-id' is
/// missing`, ours names the ServiceAccount and the fix.
async fn c25_no_client_id(w: &World<'_>) {
    w.apply(&push_to(
        "c25",
        "no-client-id",
        "source",
        "",
        "  - match: {secretKey: key, remoteRef: {remoteKey: c25-key}}\n",
    ))
    .await;
    // ESO's text up to the client's error (`missing clientID: `
    // included), then ours.
    let eso = "set secret failed: could not get secrets client for store no-client-id: missing clientID: ";
    let message = format!(
        "{eso}ServiceAccount {NS}/bare-sa has no annotation {}; annotate it with the managed identity's client id",
        names::CLIENT_ID_ANNOTATION
    );
    w.errored("c25", &message).await;
    assert_eq!(
        w.synced("c25").await,
        in_stores(&[("SecretStore/no-client-id", &[])])
    );
    w.assert_absent(VAULT, "secret/c25-key").await;
}

/// C26 `secretStoreDifferentNamespace` ("should not sync to SecretStore in
/// different namespace"): the only store matching the selector is in
/// another namespace, so no store is used and no condition is written.
async fn c26_store_in_other_namespace(w: &World<'_>) {
    let status = w.status("c26").await;
    assert!(status.conditions.is_empty(), "{status:?}");
    assert!(status.synced_push_secrets.is_empty(), "{status:?}");
    w.assert_absent(VAULT, "secret/c26-key").await;
}

/// M1 `multipleManagedStoresSyncsSuccessfully` ("should sync successfully
/// if there are multiple managed stores"): both stores pushed, each
/// listed.
async fn m1_two_stores(w: &World<'_>) {
    w.apply(&push_secret(
        "m1",
        "  secretStoreRefs: [{name: old-store}, {name: new-store}]
  selector: {secret: {name: source}}
  data:
  - match: {secretKey: key, remoteRef: {remoteKey: m1-key}}
",
    ))
    .await;
    w.synced_ok("m1").await;
    assert_eq!(
        w.synced("m1").await,
        in_stores(&[
            ("SecretStore/new-store", &["m1-key"]),
            ("SecretStore/old-store", &["m1-key"])
        ])
    );
    for vault in [OLD_VAULT, NEW_VAULT] {
        let state = w.vault_state(vault, &["secret/m1-key"]).await;
        assert_eq!(found(&state, "secret/m1-key")["value"], "value", "{vault}");
    }
}

/// What a provider case pushes.
#[derive(Clone, Copy)]
enum Kind {
    Secret,
    Key,
    Certificate,
}

/// One provider case: PushSecret `name` pushing object `object` of
/// `kind`; `role` is the role Key Vault says the identity wants.
struct Refusal {
    name: &'static str,
    kind: Kind,
    object: &'static str,
    role: &'static str,
}

impl Refusal {
    const fn secret(name: &'static str, object: &'static str, role: &'static str) -> Self {
        Self {
            name,
            kind: Kind::Secret,
            object,
            role,
        }
    }

    const fn key(name: &'static str, object: &'static str, role: &'static str) -> Self {
        Self {
            name,
            kind: Kind::Key,
            object,
            role,
        }
    }

    const fn certificate(name: &'static str, object: &'static str, role: &'static str) -> Self {
        Self {
            name,
            kind: Kind::Certificate,
            object,
            role,
        }
    }

    /// The Secret and its key pushed: `source`'s `key`, `material`'s
    /// PEM key or PFX.
    const fn source(&self) -> (&'static str, &'static str) {
        match self.kind {
            Kind::Secret => ("source", "key"),
            Kind::Key => ("material", "key.pem"),
            Kind::Certificate => ("material", "tls.pfx"),
        }
    }

    /// The remote key (`x`, `key/x`, `cert/x`).
    fn remote(&self) -> String {
        match self.kind {
            Kind::Secret => self.object.to_owned(),
            Kind::Key => format!("key/{}", self.object),
            Kind::Certificate => format!("cert/{}", self.object),
        }
    }

    /// The object as ESO's text names it (`secret x`).
    fn what(&self) -> String {
        let noun = match self.kind {
            Kind::Secret => "secret",
            Kind::Key => "key",
            Kind::Certificate => "certificate",
        };
        format!("{noun} {}", self.object)
    }

    /// The PushSecret to `store`, with `extra` spec lines.
    fn push_secret(&self, store: &str, extra: &str) -> String {
        let (source, key) = self.source();
        let data = format!(
            "  - match: {{secretKey: {key}, remoteRef: {{remoteKey: {}}}}}\n",
            self.remote()
        );
        push_to(self.name, store, source, extra, &data)
    }

    /// The object as `vault_state.py` names it.
    fn sdk_name(&self) -> String {
        match self.kind {
            Kind::Secret => format!("secret/{}", self.object),
            Kind::Key | Kind::Certificate => self.remote(),
        }
    }
}

/// Applies the PushSecrets of `cases` to store `store`, with `extra`
/// spec lines.
async fn apply_all(w: &World<'_>, cases: &[Refusal], store: &str, extra: &str) {
    let yaml: String = cases.iter().map(|c| c.push_secret(store, extra)).collect();
    w.apply(&yaml).await;
}

/// What the SDK reads of the objects `cases` push to, and their names.
async fn vault_state_of(w: &World<'_>, cases: &[Refusal]) -> (Value, Vec<String>) {
    let objects: Vec<String> = cases.iter().map(Refusal::sdk_name).collect();
    let names: Vec<&str> = objects.iter().map(String::as_str).collect();
    (w.vault_state(VAULT, &names).await, objects)
}

/// Pushes `cases` to store `store`; each must fail with `message` of it,
/// and the vault have none of their objects.
async fn pushes_refused(
    w: &World<'_>,
    cases: &[Refusal],
    store: &str,
    message: impl Fn(&Refusal) -> String,
) {
    apply_all(w, cases, store, "").await;
    futures::future::join_all(cases.iter().map(|c| {
        let message = message(c);
        async move { w.errored(c.name, &message).await }
    }))
    .await;
    let (state, objects) = vault_state_of(w, cases).await;
    for object in &objects {
        assert_gone(&state, object);
    }
}

/// azurekv PushSecret cases 29 `failedGetSecret`, 18 `errorGetKey` and 12
/// `certNoPermissions`: the read before a write is refused (an identity
/// with no role); ESO words it `cannot get <noun> <name>: unexpected api
/// error: <the vault's error>`, as ours does (the tail is the mock's
/// `#GET: Forbidden: StatusCode=403` and `#GET: Insufficient Permissions:
/// StatusCode=403` there).
async fn reads_refused(w: &World<'_>) {
    let cases = [
        Refusal::secret("p29", "p29-secret", READ_SECRET_ROLE),
        Refusal::key("p18", "p18-key", READ_KEY_ROLE),
        Refusal::certificate("p12", "p12-cert", READ_CERT_ROLE),
    ];
    pushes_refused(w, &cases, "none", |c| {
        let what = c.what();
        format!(
            "set secret failed: could not write remote ref {} to target secretstore none: cannot get {what}: unexpected api error: {}",
            c.source().1,
            refused(&format!("reading {what}"), c.role)
        )
    })
    .await;
}

/// azurekv PushSecret cases 31 `failedSetSecret`, 20 `importKeyFailed` and
/// 7 `certImportCertificateError`: the read finds nothing and the write
/// is refused (an identity that may read secrets, keys and certificates
/// but write none); ESO words it `could not set secret <name>: ...`,
/// `could not import key <name>: ...`, `could not import certificate
/// <name>: ...`, as ours does (the tail is the mock's `#POST: Forbidden:
/// StatusCode=403`, and `error` for the certificate, there).
async fn writes_refused(w: &World<'_>) {
    let cases = [
        Refusal::secret("p31", "p31-secret", "Key Vault Secrets Officer"),
        Refusal::key("p20", "p20-key", "Key Vault Crypto Officer"),
        Refusal::certificate("p7", "p7-cert", "Key Vault Certificates Officer"),
    ];
    pushes_refused(w, &cases, "user", |c| {
        // ESO's words for the write, and Key Vault's.
        let (context, doing) = match c.kind {
            Kind::Secret => ("could not set", "writing"),
            Kind::Key | Kind::Certificate => ("could not import", "importing"),
        };
        let what = c.what();
        format!(
            "set secret failed: could not write remote ref {} to target secretstore user: {context} {what}: {}",
            c.source().1,
            refused(&format!("{doing} {what}"), c.role)
        )
    })
    .await;
}

/// azurekv DeleteSecret cases 7 `secretNoGetPermissions`, 13
/// `certNoGetPermissions` and 19 `keyNoGetPermissions`: objects pushed
/// with deletionPolicy Delete, then the identity loses its roles (taken
/// from the running emulator); the PushSecrets' deletion reads first and
/// is refused (ESO: `error getting <noun> <name>: unexpected api error:
/// ...`, the tail the mock's `#GET: No Permissions: StatusCode=403`), so
/// each stays with its finalizer and the vault keeps the
/// objects.
async fn deletes_refused(w: &World<'_>) {
    let cases = [
        Refusal::secret("d7", "d7-secret", READ_SECRET_ROLE),
        Refusal::certificate("d13", "d13-cert", READ_CERT_ROLE),
        Refusal::key("d19", "d19-key", READ_KEY_ROLE),
    ];
    apply_all(w, &cases, "revoked", "  deletionPolicy: Delete\n").await;
    futures::future::join_all(cases.iter().map(|c| w.synced_ok(c.name))).await;
    w.emulator
        .update_config(|config| {
            config
                .role_assignments
                .retain(|a| a.principal_id != REVOKED_OBJECT_ID);
        })
        .unwrap();
    for c in &cases {
        w.delete(c.name).await;
    }
    futures::future::join_all(cases.iter().map(|c| async move {
        let what = c.what();
        let message = format!(
            "Failed to Delete Secrets from Provider: error getting {what}: unexpected api error: {}",
            refused(&format!("reading {what}"), c.role)
        );
        w.errored(c.name, &message).await;
        assert_eq!(w.finalizers(c.name).await, Some(vec![FINALIZER.to_owned()]));
    }))
    .await;
    let (state, objects) = vault_state_of(w, &cases).await;
    for object in &objects {
        assert_eq!(found(&state, object)["tags"], eso_tag(), "{object}");
    }
}

/// azurekv SecretExists case 2 `secretFound`: an object ESO pushed (with
/// its tag) exists, so IfNotExists leaves it as it is.
async fn secret_exists_for_eso_object(w: &World<'_>) {
    w.apply(&push_to(
        "exists-first",
        "kv",
        "source",
        "",
        "  - match: {secretKey: key, remoteRef: {remoteKey: tagged-obj}}\n",
    ))
    .await;
    w.synced_ok("exists-first").await;
    w.apply(&push_to(
        "exists-then",
        "kv",
        "source",
        "  updatePolicy: IfNotExists\n",
        "  - match: {secretKey: other-key, remoteRef: {remoteKey: tagged-obj}}\n",
    ))
    .await;
    w.synced_keeping("exists-then").await;
    assert_eq!(
        w.synced("exists-then").await,
        in_stores(&[("SecretStore/kv", &["tagged-obj"])])
    );
    let state = w.vault_state(VAULT, &["secret/tagged-obj"]).await;
    let kept = found(&state, "secret/tagged-obj");
    assert_eq!(kept["value"], "value");
    assert_eq!(kept["versions"], 1);
    assert_eq!(kept["tags"], eso_tag());
}

/// azurekv PushSecret case 34 `secretWithTags`: the value unchanged and
/// only the metadata's tags changed writes no new version (ESO's
/// `legacySecretUnchanged` compares value, expiry and content type, not
/// tags), so the vault keeps the first tags.
async fn tag_only_change_writes_nothing(w: &World<'_>) {
    w.apply(&push_to(
            "p34",
            "kv",
            "source",
            "",
            &format!(
                "  - match: {{secretKey: key, remoteRef: {{remoteKey: p34-secret}}}}\n    metadata: {}\n",
                tag_metadata("fakeTagValue")
            ),
        ),
    )
    .await;
    w.synced_ok("p34").await;
    let first = w.status("p34").await.synced_resource_version.unwrap();
    w.json_patch(
        "p34",
        json!([{"op": "replace", "path": "/spec/data/0/metadata/spec/tags/fakeTagKey", "value": "otherValue"}]),
    )
    .await;
    eventually(Duration::from_secs(20), "p34 synced again", || async {
        let status = w.status("p34").await;
        (status.synced_resource_version.as_ref() != Some(&first)).then_some(())
    })
    .await;
    w.synced_ok("p34").await;
    let state = w.vault_state(VAULT, &["secret/p34-secret"]).await;
    let pushed = found(&state, "secret/p34-secret");
    assert_eq!(pushed["value"], "value");
    assert_eq!(pushed["versions"], 1);
    assert_eq!(
        pushed["tags"],
        json!({"managed-by": "external-secrets", "fakeTagKey": "fakeTagValue"})
    );
}

/// azurekv PushSecret cases 41 `certWithTags` and 42 `keyWithTags`: a
/// certificate and a key imported with the metadata's tags beside ESO's.
async fn imports_with_tags(w: &World<'_>) {
    let metadata = tag_metadata("fakeTagValue");
    w.apply(&push_to(
        "p41-p42",
        "kv",
        "material",
        "",
        &format!(
            "  - match: {{secretKey: tls.pfx, remoteRef: {{remoteKey: cert/p41-cert}}}}
    metadata: {metadata}
  - match: {{secretKey: key.pem, remoteRef: {{remoteKey: key/p42-key}}}}
    metadata: {metadata}
"
        ),
    ))
    .await;
    w.synced_ok("p41-p42").await;
    let state = w
        .vault_state(VAULT, &["cert/p41-cert", "key/p42-key", "cert/web-tls"])
        .await;
    let tags = json!({"managed-by": "external-secrets", "fakeTagKey": "fakeTagValue"});
    let cert = found(&state, "cert/p41-cert");
    assert_eq!(cert["tags"], tags);
    assert_eq!(cert["cer"], found(&state, "cert/web-tls")["cer"]);
    let key = found(&state, "key/p42-key");
    assert_eq!(key["tags"], tags);
    assert_eq!(key["kty"], "RSA");
}
